//! A fake of Microsoft's identity platform (v2.0 endpoints) and of Microsoft Graph's calendar
//! endpoints, on wiremock, the way `support::google` fakes Google.
//!
//! Behaviour and body shapes follow Microsoft's public documentation:
//! - device authorization grant
//!   (<https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code>): `/devicecode`
//!   answers `user_code`, `device_code`, `verification_uri`, `expires_in`, `interval`, `message`;
//!   the token endpoint answers 400 with `authorization_pending` until the person approves,
//!   `authorization_declined`, `expired_token`, `bad_verification_code`, and `slow_down` (RFC 8628)
//!   to a client that polls faster than `interval`;
//! - authorization code with PKCE
//!   (<https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow>): S256 only
//!   here, the verifier checked, the redirect URI compared; a public client that sends a secret is
//!   refused (AADSTS700025);
//! - refresh tokens (<https://learn.microsoft.com/entra/identity-platform/refresh-tokens>): every
//!   use hands out a new refresh token and this fake invalidates the old one at once, the
//!   strictest reading, so a client that keeps the old one fails;
//! - calendarView delta (<https://learn.microsoft.com/graph/delta-query-events>,
//!   <https://learn.microsoft.com/graph/api/event-delta>): a round starts with
//!   `startDateTime`/`endDateTime`, pages carry `@odata.nextLink` with a `$skiptoken` and only the
//!   last page carries `@odata.deltaLink` with a `$deltatoken`; `Prefer: odata.maxpagesize` is
//!   honoured and acknowledged in `Preference-Applied`; deleted events come as
//!   `{"id", "@removed": {"reason": "deleted"}}`; an unknown delta token is 410 Gone with the code
//!   `syncStateNotFound`; the window parameters are refused next to a state token;
//! - `Prefer: outlook.timezone` (<https://learn.microsoft.com/graph/api/user-list-calendarview>):
//!   times come in the zone asked for, else in the zone the event was created in (a Windows zone
//!   name such as "Eastern Standard Time");
//! - errors (<https://learn.microsoft.com/graph/errors>,
//!   <https://learn.microsoft.com/graph/throttling>): 401 `InvalidAuthenticationToken` for an
//!   expired access token, 429 `TooManyRequests` and 503 with `Retry-After`.
//!
//! Every Graph request is logged with its query, its `Prefer` header and the size of the body
//! answered, so tests can count requests and bytes per poll. Every secret the fake hands out or
//! receives (tokens, device and user codes, authorization codes, verifiers) is kept in
//! `State::secrets`, so tests can grep logs for them.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The application (client) id of the test's app registration.
pub const CLIENT_ID: &str = "4a1aa1d5-c567-49d0-ad0b-cd957a47f842";
/// The signed-in user.
pub const ME: &str = "alex@contoso.com";
/// Graph's ids of the two calendars of the account (real ids end in `=`, which must be escaped
/// in a path).
pub const DEFAULT_CALENDAR_ID: &str = "AAMkADA5ZDE2Njg1LWNhbGVuZGFyLTE=";
pub const SALES_CALENDAR_ID: &str = "AAMkADA5ZDE2Njg1LWNhbGVuZGFyLTI=";

/// The page size when a request names none.
const DEFAULT_PAGE_SIZE: usize = 10;

#[derive(Debug, Clone)]
pub struct Logged {
    pub path: String,
    pub query: Vec<(String, String)>,
    pub prefer: Option<String>,
    pub status: u16,
    pub bytes: usize,
}

impl Logged {
    pub fn param(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }

    pub fn is_delta(&self) -> bool {
        self.path.ends_with("/calendarView/delta")
    }
}

/// A failure injected into the next Graph delta request(s).
#[derive(Debug, Clone)]
pub enum Fault {
    TooManyRequests { retry_after_secs: u64 },
    ServiceUnavailable { retry_after_secs: u64 },
}

/// Where a device code stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Approval {
    Pending,
    Approved,
    Declined,
}

struct DeviceCode {
    user_code: String,
    scope: String,
    approval: Approval,
    issued: Instant,
    last_poll: Option<Instant>,
}

struct Stored {
    json: Value,
    seq: u64,
    deleted: bool,
}

struct Calendar {
    id: String,
    name: String,
    is_default: bool,
    events: BTreeMap<String, Stored>,
}

/// What a `$deltatoken` stands for: a calendar view as of a change number.
#[derive(Clone)]
struct DeltaState {
    calendar: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    since: u64,
}

/// The rest of a round after one page.
struct Cursor {
    calendar: String,
    remaining: Vec<Value>,
    delta_token: String,
}

pub struct State {
    base: String,
    seq: u64,
    calendars: Vec<Calendar>,
    delta_tokens: HashMap<String, DeltaState>,
    cursors: HashMap<String, Cursor>,
    devices: HashMap<String, DeviceCode>,
    /// code -> (challenge, redirect_uri, scope)
    codes: HashMap<String, (String, String, String)>,
    access_tokens: Vec<String>,
    refresh_tokens: Vec<String>,
    /// Every secret the fake handed out or received.
    pub secrets: Vec<String>,
    /// The form of the last device authorization request and the query of the last
    /// authorization request.
    pub last_device_request: Vec<(String, String)>,
    pub last_auth_query: Vec<(String, String)>,
    /// The tenants named in the identity platform's paths, in order.
    pub tenants: Vec<String>,
    pub faults: VecDeque<Fault>,
    /// Every access token, even a fresh one, is refused.
    pub refuse_all_access_tokens: bool,
    /// The next poll of a device code is told to slow down, however late it comes.
    pub slow_down_next_poll: bool,
    /// Lifetime (as advertised) and polling interval of new device codes.
    pub device_expires_in: Duration,
    /// The code stops working this long after it was issued, whatever `expires_in` said (seen in
    /// the wild: <https://learn.microsoft.com/en-us/answers/questions/981553>).
    pub device_code_dies_after: Option<Duration>,
    pub device_interval_secs: u64,
    /// Every round starts with an empty page that has a next link (Graph does this).
    pub empty_first_page: bool,
    /// Answer in the event's own zone whatever `Prefer: outlook.timezone` says.
    pub ignore_timezone_preference: bool,
    pub log: Vec<Logged>,
    /// The grant type of every token request, in order.
    pub token_grants: Vec<String>,
    /// Refresh tokens presented after they had been rotated away.
    pub stale_refresh_attempts: usize,
}

fn rand_token(prefix: &str, len: usize) -> String {
    let mut s = prefix.to_string();
    s.extend((0..len).map(|_| fastrand::alphanumeric()));
    s
}

fn user_code() -> String {
    // Microsoft's user codes are 8 or 9 upper-case letters and digits.
    (0..9)
        .map(|_| {
            let c = fastrand::alphanumeric().to_ascii_uppercase();
            if c == 'O' || c == '0' { 'K' } else { c }
        })
        .collect()
}

pub struct FakeMicrosoft {
    pub server: MockServer,
    pub state: Arc<Mutex<State>>,
}

impl FakeMicrosoft {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let cal = |id: &str, name: &str, is_default| Calendar {
            id: id.into(),
            name: name.into(),
            is_default,
            events: BTreeMap::new(),
        };
        let state = Arc::new(Mutex::new(State {
            base: server.uri(),
            seq: 0,
            calendars: vec![
                cal(DEFAULT_CALENDAR_ID, "Calendar", true),
                cal(SALES_CALENDAR_ID, "Sales", false),
                cal("AAMkADA5ZDE2Njg1LWJpcnRoZGF5cw==", "Birthdays", false),
            ],
            delta_tokens: HashMap::new(),
            cursors: HashMap::new(),
            devices: HashMap::new(),
            codes: HashMap::new(),
            access_tokens: Vec::new(),
            refresh_tokens: Vec::new(),
            secrets: Vec::new(),
            last_device_request: Vec::new(),
            last_auth_query: Vec::new(),
            tenants: Vec::new(),
            faults: VecDeque::new(),
            refuse_all_access_tokens: false,
            slow_down_next_poll: false,
            device_expires_in: Duration::from_secs(900),
            device_interval_secs: 1,
            device_code_dies_after: None,
            empty_first_page: false,
            ignore_timezone_preference: false,
            log: Vec::new(),
            token_grants: Vec::new(),
            stale_refresh_attempts: 0,
        }));
        let oauth = r"^/[A-Za-z0-9.-]+/oauth2/v2\.0/";
        Mock::given(method("POST"))
            .and(path_regex(format!("{oauth}devicecode$")))
            .respond_with(DeviceAuthorization(state.clone()))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path_regex(format!("{oauth}token$")))
            .respond_with(TokenEndpoint(state.clone()))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(format!("{oauth}authorize$")))
            .respond_with(Authorize(state.clone()))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/devicelogin"))
            .respond_with(DeviceLogin(state.clone()))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/v1\.0/me/"))
            .respond_with(Graph(state.clone()))
            .mount(&server)
            .await;
        FakeMicrosoft { server, state }
    }

    /// What the config's `authority_url` names.
    pub fn authority_url(&self) -> String {
        self.server.uri()
    }

    /// What the config's `api_url` names.
    pub fn api_url(&self) -> String {
        format!("{}/v1.0", self.server.uri())
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// The person at the verification page: enters `user_code` and approves (or declines).
    /// Returns the page's status.
    pub async fn enter_code(&self, verification_uri: &str, user_code: &str, approve: bool) -> u16 {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::new();
        client
            .post(verification_uri)
            .form(&[
                ("otc", user_code),
                ("decision", if approve { "approve" } else { "decline" }),
            ])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Adds or replaces an event (its `id`) in `calendar` ("primary", a name or an id), as an
    /// edit in Outlook would.
    pub fn put_event(&self, calendar: &str, mut event: Value) {
        let mut s = self.lock();
        s.seq += 1;
        let seq = s.seq;
        let id = event["id"].as_str().unwrap().to_string();
        event["lastModifiedDateTime"] = json!(format!("2026-11-26T10:{:02}:00Z", seq % 60));
        event["changeKey"] = json!(format!("DwAAABYAAAB{seq:08}"));
        event["@odata.etag"] = json!(format!("W/\"DwAAABYAAAB{seq:08}\""));
        let cal = s.calendar_mut(calendar);
        cal.events.insert(
            id,
            Stored {
                json: event,
                seq,
                deleted: false,
            },
        );
    }

    /// Deletes an event, as Outlook would.
    pub fn delete_event(&self, calendar: &str, id: &str) {
        let mut s = self.lock();
        s.seq += 1;
        let seq = s.seq;
        let ev = s.calendar_mut(calendar).events.get_mut(id).unwrap();
        ev.deleted = true;
        ev.seq = seq;
    }

    /// Graph forgets every delta token (its cache is bounded): the next delta GET is 410.
    pub fn expire_delta_tokens(&self) {
        self.lock().delta_tokens.clear();
    }

    /// The user removed the app's access: every refresh token stops working.
    pub fn revoke_refresh_tokens(&self) {
        self.lock().refresh_tokens.clear();
    }

    /// Every access token issued so far expires.
    pub fn expire_access_tokens(&self) {
        self.lock().access_tokens.clear();
    }

    /// The refresh tokens that still work (at most one after a rotation).
    pub fn valid_refresh_tokens(&self) -> Vec<String> {
        self.lock().refresh_tokens.clone()
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.lock().log.clone()
    }

    /// The calendarView delta requests so far.
    pub fn delta_requests(&self) -> Vec<Logged> {
        self.requests()
            .into_iter()
            .filter(Logged::is_delta)
            .collect()
    }
}

impl State {
    fn calendar_mut(&mut self, name: &str) -> &mut Calendar {
        self.calendars
            .iter_mut()
            .find(|c| (name == "primary" && c.is_default) || c.name == name || c.id == name)
            .unwrap_or_else(|| panic!("no calendar {name} in the fake"))
    }
}

/// An event as Graph returns it from a calendar view (with `Calendars.ReadBasic`, so no body),
/// created by the user in `zone` (a Windows zone name, or "UTC"). `attendees` are
/// `(address, type, response)`; the user is the organizer.
pub fn event(
    id: &str,
    subject: &str,
    start: &str,
    end: &str,
    zone: &str,
    attendees: &[(&str, &str, &str)],
) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.event",
        "id": id,
        "createdDateTime": "2026-11-20T09:00:00.0000000Z",
        "categories": [],
        "originalStartTimeZone": zone,
        "originalEndTimeZone": zone,
        "iCalUId": format!("040000008200E00074C5B7101A82E008000000{id}"),
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": true,
        "hasAttachments": false,
        "subject": subject,
        "importance": "normal",
        "sensitivity": "normal",
        "isAllDay": false,
        "isCancelled": false,
        "isOrganizer": true,
        "responseRequested": true,
        "seriesMasterId": null,
        "showAs": "busy",
        "type": "singleInstance",
        "webLink": format!("https://outlook.office365.com/owa/?itemid={id}&exvsurl=1&path=/calendar/item"),
        "isOnlineMeeting": false,
        "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
        "start": {"dateTime": start, "timeZone": zone},
        "end": {"dateTime": end, "timeZone": zone},
        "location": {"displayName": "", "locationType": "default"},
        "locations": [],
        "recurrence": null,
        "attendees": attendees.iter().map(|(address, kind, response)| json!({
            "type": kind,
            "status": {"response": response, "time": "2026-11-21T08:00:00Z"},
            "emailAddress": {"name": address.split('@').next().unwrap(), "address": address}
        })).collect::<Vec<_>>(),
        "organizer": {"emailAddress": {"name": "Alex Wilber", "address": ME}}
    })
}

/// One instance of the series `master`: an `occurrence`, or an `exception` when it was moved.
/// `original_start` is where the recurrence put it (UTC, RFC 3339).
pub fn instance(mut ev: Value, master: &str, original_start: &str, exception: bool) -> Value {
    ev["type"] = json!(if exception { "exception" } else { "occurrence" });
    ev["seriesMasterId"] = json!(master);
    ev["originalStart"] = json!(original_start);
    ev["iCalUId"] = json!(format!("040000008200E00074C5B7101A82E008000000{master}"));
    ev
}

/// The Windows zone names this fake knows, with their IANA zone (CLDR's windowsZones, "001").
fn zone(name: &str) -> chrono_tz::Tz {
    match name {
        "UTC" => chrono_tz::UTC,
        "Eastern Standard Time" => chrono_tz::America::New_York,
        "Pacific Standard Time" => chrono_tz::America::Los_Angeles,
        "W. Europe Standard Time" => chrono_tz::Europe::Berlin,
        "GMT Standard Time" => chrono_tz::Europe::London,
        "Tokyo Standard Time" => chrono_tz::Asia::Tokyo,
        other => panic!("the fake does not know the zone {other}"),
    }
}

fn instant(t: &Value) -> DateTime<Utc> {
    let naive =
        NaiveDateTime::parse_from_str(t["dateTime"].as_str().unwrap(), "%Y-%m-%dT%H:%M:%S%.f")
            .unwrap();
    zone(t["timeZone"].as_str().unwrap())
        .from_local_datetime(&naive)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

fn bounds(ev: &Value) -> (DateTime<Utc>, DateTime<Utc>) {
    (instant(&ev["start"]), instant(&ev["end"]))
}

/// The event as answered: in UTC when the request asked for it.
fn rendered(ev: &Value, utc: bool) -> Value {
    let mut ev = ev.clone();
    if utc {
        for k in ["start", "end"] {
            let at = instant(&ev[k]);
            // Graph writes seven digits of fractions.
            let t = format!("{}.0000000", at.format("%Y-%m-%dT%H:%M:%S"));
            ev[k] = json!({"dateTime": t, "timeZone": "UTC"});
        }
    }
    ev
}

fn graph_error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "innerError": {
        "date": "2026-12-01T10:00:00", "request-id": "5ed9d6ec-6a46-4e55-a0a5-6b4b7b8d7f1c",
        "client-request-id": "5ed9d6ec-6a46-4e55-a0a5-6b4b7b8d7f1c"}}})
}

fn oauth_error(status: u16, error: &str, aadsts: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": error,
        "error_description": format!("{aadsts}\r\nTrace ID: 0d6f1a4e-7f3e-4a43-9d1c-1f8d0d2d7a00\r\nCorrelation ID: 9b3c1f0e-2f35-4c40-8f37-6b3a2c1d0e11\r\nTimestamp: 2026-12-01 10:00:00Z"),
        "error_codes": [aadsts.trim_start_matches("AADSTS").split(':').next().unwrap_or("0").parse::<u64>().unwrap_or(0)],
        "timestamp": "2026-12-01 10:00:00Z",
        "trace_id": "0d6f1a4e-7f3e-4a43-9d1c-1f8d0d2d7a00",
        "correlation_id": "9b3c1f0e-2f35-4c40-8f37-6b3a2c1d0e11"
    }))
}

fn form_of(req: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&req.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn query_of(req: &Request) -> Vec<(String, String)> {
    req.url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn tenant_of(req: &Request) -> String {
    req.url
        .path_segments()
        .and_then(|mut p| p.next())
        .unwrap_or_default()
        .to_string()
}

/// Scopes the identity platform would refuse to this app: anything that writes.
fn asks_to_write(scope: &str) -> bool {
    scope.split(' ').any(|s| s.contains("Write"))
}

// ---------------------------------------------------------------------------------------------
// The identity platform

struct DeviceAuthorization(Arc<Mutex<State>>);

impl Respond for DeviceAuthorization {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let form = form_of(req);
        let mut s = self.0.lock().unwrap();
        s.tenants.push(tenant_of(req));
        s.last_device_request = form.clone().into_iter().collect();
        if form.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
            return oauth_error(
                400,
                "unauthorized_client",
                "AADSTS700016: Application with identifier was not found in the directory.",
            );
        }
        let scope = form.get("scope").cloned().unwrap_or_default();
        if scope.is_empty() || asks_to_write(&scope) {
            return oauth_error(
                400,
                "invalid_scope",
                "AADSTS70011: The provided value for the input parameter 'scope' is not valid.",
            );
        }
        let device_code = rand_token("DAQABIQEAAADW6jl31mB3T7ugrWTT8pFe", 120);
        let user = user_code();
        s.secrets.push(device_code.clone());
        s.secrets.push(user.clone());
        s.devices.insert(
            device_code.clone(),
            DeviceCode {
                user_code: user.clone(),
                scope,
                approval: Approval::Pending,
                issued: Instant::now(),
                last_poll: None,
            },
        );
        let uri = format!("{}/devicelogin", s.base);
        ResponseTemplate::new(200).set_body_json(json!({
            "user_code": user,
            "device_code": device_code,
            "verification_uri": uri,
            "expires_in": s.device_expires_in.as_secs(),
            "interval": s.device_interval_secs,
            "message": format!("To sign in, use a web browser to open the page {uri} and enter the code {user} to authenticate."),
        }))
    }
}

/// The page at `verification_uri`: the person types the code and approves or declines.
struct DeviceLogin(Arc<Mutex<State>>);

impl Respond for DeviceLogin {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let form = form_of(req);
        let mut s = self.0.lock().unwrap();
        let code = form.get("otc").cloned().unwrap_or_default();
        let approve = form.get("decision").map(String::as_str) == Some("approve");
        let Some(d) = s
            .devices
            .values_mut()
            .find(|d| d.user_code == code && d.approval == Approval::Pending)
        else {
            return ResponseTemplate::new(400).set_body_string(
                "<html><body>That code didn't work. Check the code and try again.</body></html>",
            );
        };
        d.approval = if approve {
            Approval::Approved
        } else {
            Approval::Declined
        };
        ResponseTemplate::new(200).set_body_string(
            "<html><body>You have signed in to nextstep on your device. You may now close this window.</body></html>",
        )
    }
}

struct Authorize(Arc<Mutex<State>>);

impl Respond for Authorize {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let q: HashMap<_, _> = query_of(req).into_iter().collect();
        let mut s = self.0.lock().unwrap();
        s.tenants.push(tenant_of(req));
        s.last_auth_query = query_of(req);
        let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
        // Entra ignores the port of a loopback redirect, so `http://localhost` in the app
        // registration covers `http://localhost:<any port>/`.
        let ok = get("client_id") == CLIENT_ID
            && get("response_type") == "code"
            && get("code_challenge_method") == "S256"
            && !get("code_challenge").is_empty()
            && !get("state").is_empty()
            && get("scope").contains("Calendars.ReadBasic")
            && !asks_to_write(get("scope"))
            && get("redirect_uri").starts_with("http://localhost:");
        if !ok {
            return ResponseTemplate::new(400).set_body_string(
                "<html><body>AADSTS900144: The request is not valid for this application.</body></html>",
            );
        }
        let code = rand_token("0.AXkAwB3nR_", 80);
        let redirect = get("redirect_uri").to_string();
        s.codes.insert(
            code.clone(),
            (
                get("code_challenge").to_string(),
                redirect.clone(),
                get("scope").to_string(),
            ),
        );
        s.secrets.push(code.clone());
        let mut loc = url::Url::parse(&redirect).unwrap();
        loc.query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", get("state"))
            .append_pair("session_state", "6a1c8a4e-1d3b-4e53-9b0f-3f0e1c2d4b5a");
        ResponseTemplate::new(302).insert_header("Location", loc.as_str())
    }
}

struct TokenEndpoint(Arc<Mutex<State>>);

impl TokenEndpoint {
    /// New tokens for `scope`; a refresh token only when `offline_access` was granted.
    fn issue(s: &mut State, scope: &str) -> ResponseTemplate {
        let access = rand_token("eyJ0eXAiOiJKV1QiLCJub25jZSI6", 200);
        s.access_tokens.push(access.clone());
        s.secrets.push(access.clone());
        let mut body = json!({
            "token_type": "Bearer",
            "scope": scope.split(' ').filter(|x| *x != "offline_access")
                .map(|x| format!("https://graph.microsoft.com/{x}")).collect::<Vec<_>>().join(" "),
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": access,
        });
        if scope.split(' ').any(|x| x == "offline_access") {
            let refresh = rand_token("1.AXkAwB3nR_refresh.", 300);
            s.refresh_tokens.push(refresh.clone());
            s.secrets.push(refresh.clone());
            body["refresh_token"] = json!(refresh);
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

impl Respond for TokenEndpoint {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let form = form_of(req);
        let mut s = self.0.lock().unwrap();
        s.tenants.push(tenant_of(req));
        let grant = form.get("grant_type").cloned().unwrap_or_default();
        s.token_grants.push(grant.clone());
        if form.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
            return oauth_error(
                400,
                "unauthorized_client",
                "AADSTS700016: Application with identifier was not found in the directory.",
            );
        }
        if form.contains_key("client_secret") || form.contains_key("client_assertion") {
            return oauth_error(
                401,
                "invalid_client",
                "AADSTS700025: Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
            );
        }
        match grant.as_str() {
            "urn:ietf:params:oauth:grant-type:device_code" => {
                let code = form.get("device_code").cloned().unwrap_or_default();
                let slow = std::mem::take(&mut s.slow_down_next_poll);
                let expires = s.device_code_dies_after.unwrap_or(s.device_expires_in);
                let interval = s.device_interval_secs;
                let Some(d) = s.devices.get_mut(&code) else {
                    return oauth_error(
                        400,
                        "bad_verification_code",
                        "AADSTS70019: Verification code expired or was not recognized.",
                    );
                };
                let now = Instant::now();
                if now.duration_since(d.issued) > expires {
                    return oauth_error(
                        400,
                        "expired_token",
                        "AADSTS70019: Verification code expired.",
                    );
                }
                // A poll earlier than the interval allows (with some slack for scheduling).
                let early = d.last_poll.is_some_and(|last| {
                    now.duration_since(last) < Duration::from_millis(interval * 800)
                });
                d.last_poll = Some(now);
                if slow || early {
                    return oauth_error(400, "slow_down", "AADSTS70016: Polling too fast.");
                }
                match d.approval {
                    Approval::Pending => oauth_error(
                        400,
                        "authorization_pending",
                        "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                    ),
                    Approval::Declined => oauth_error(
                        400,
                        "authorization_declined",
                        "AADSTS70000: The user declined the sign-in request.",
                    ),
                    Approval::Approved => {
                        let scope = d.scope.clone();
                        s.devices.remove(&code);
                        Self::issue(&mut s, &scope)
                    }
                }
            }
            "authorization_code" => {
                let code = form.get("code").cloned().unwrap_or_default();
                let Some((challenge, redirect, scope)) = s.codes.remove(&code) else {
                    return oauth_error(
                        400,
                        "invalid_grant",
                        "AADSTS70000: The provided authorization code is invalid or has expired.",
                    );
                };
                let verifier = form.get("code_verifier").cloned().unwrap_or_default();
                s.secrets.push(verifier.clone());
                let computed = oauth2::PkceCodeChallenge::from_code_verifier_sha256(
                    &oauth2::PkceCodeVerifier::new(verifier),
                );
                if computed.as_str() != challenge {
                    return oauth_error(
                        400,
                        "invalid_grant",
                        "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.",
                    );
                }
                if form.get("redirect_uri") != Some(&redirect) {
                    return oauth_error(
                        400,
                        "invalid_grant",
                        "AADSTS70008: The redirect URI does not match the one of the authorization request.",
                    );
                }
                Self::issue(&mut s, &scope)
            }
            "refresh_token" => {
                let rt = form.get("refresh_token").cloned().unwrap_or_default();
                let Some(i) = s.refresh_tokens.iter().position(|t| *t == rt) else {
                    if s.secrets.contains(&rt) {
                        s.stale_refresh_attempts += 1;
                    }
                    return oauth_error(
                        400,
                        "invalid_grant",
                        "AADSTS70000: The provided grant has expired due to it being revoked.",
                    );
                };
                let scope = form.get("scope").cloned().unwrap_or_default();
                if asks_to_write(&scope) {
                    return oauth_error(
                        400,
                        "invalid_scope",
                        "AADSTS70011: The provided value for the input parameter 'scope' is not valid.",
                    );
                }
                // Rotation: the presented refresh token is spent.
                s.refresh_tokens.remove(i);
                let scope = if scope.is_empty() {
                    "offline_access Calendars.ReadBasic".to_string()
                } else {
                    scope
                };
                Self::issue(&mut s, &scope)
            }
            _ => oauth_error(
                400,
                "unsupported_grant_type",
                "AADSTS70003: The app requested an unsupported grant type.",
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Graph

struct Graph(Arc<Mutex<State>>);

impl Respond for Graph {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        let query = query_of(req);
        let prefer = req
            .headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ");
        let prefer = (!prefer.is_empty()).then_some(prefer);
        let (resp, status, bytes) = graph(&mut s, req, &query, prefer.as_deref());
        s.log.push(Logged {
            path: req.url.path().to_string(),
            query,
            prefer,
            status,
            bytes,
        });
        resp
    }
}

fn reply(status: u16, body: &Value) -> (ResponseTemplate, u16, usize) {
    let bytes = serde_json::to_vec(body).unwrap();
    let n = bytes.len();
    (
        ResponseTemplate::new(status).set_body_raw(bytes, "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"),
        status,
        n,
    )
}

fn graph(
    s: &mut State,
    req: &Request,
    query: &[(String, String)],
    prefer: Option<&str>,
) -> (ResponseTemplate, u16, usize) {
    let bearer = req
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if s.refuse_all_access_tokens || !s.access_tokens.iter().any(|t| t == bearer) {
        let (r, st, n) = reply(
            401,
            &graph_error(
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
            ),
        );
        let r = r.insert_header(
            "WWW-Authenticate",
            "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
        );
        return (r, st, n);
    }
    let path = req.url.path().to_string();
    if path == "/v1.0/me/calendars" {
        return calendars(s, query);
    }
    let calendar = if path == "/v1.0/me/calendarView/delta" {
        s.calendars
            .iter()
            .find(|c| c.is_default)
            .unwrap()
            .id
            .clone()
    } else if let Some(id) = path
        .strip_prefix("/v1.0/me/calendars/")
        .and_then(|p| p.strip_suffix("/calendarView/delta"))
    {
        let id = percent_decode(id);
        if !s.calendars.iter().any(|c| c.id == id) {
            return reply(
                404,
                &graph_error(
                    "ErrorItemNotFound",
                    "The specified object was not found in the store.",
                ),
            );
        }
        id
    } else {
        return reply(
            400,
            &graph_error("BadRequest", "Resource not found for the segment."),
        );
    };
    if let Some(f) = s.faults.pop_front() {
        let (status, code, secs) = match f {
            Fault::TooManyRequests { retry_after_secs } => {
                (429, "TooManyRequests", retry_after_secs)
            }
            Fault::ServiceUnavailable { retry_after_secs } => {
                (503, "serviceNotAvailable", retry_after_secs)
            }
        };
        let (r, st, n) = reply(
            status,
            &graph_error(code, "Please retry after the time in Retry-After."),
        );
        return (
            r.insert_header("Retry-After", secs.to_string().as_str()),
            st,
            n,
        );
    }
    delta(s, &calendar, &path, query, prefer)
}

fn calendars(s: &State, query: &[(String, String)]) -> (ResponseTemplate, u16, usize) {
    let select: Option<Vec<&str>> = query
        .iter()
        .find(|(k, _)| k == "$select")
        .map(|(_, v)| v.split(',').collect());
    let value: Vec<Value> = s
        .calendars
        .iter()
        .map(|c| {
            let mut v = json!({
                "id": c.id, "name": c.name, "color": "auto", "hexColor": "",
                "isDefaultCalendar": c.is_default, "changeKey": "fJKVL07sbkmIfHqjbDnRgQAAAAACOA==",
                "canShare": true, "canViewPrivateItems": true, "canEdit": true,
                "allowedOnlineMeetingProviders": ["teamsForBusiness"],
                "defaultOnlineMeetingProvider": "teamsForBusiness",
                "isTallyingResponses": true, "isRemovable": !c.is_default,
                "owner": {"name": "Alex Wilber", "address": ME}
            });
            if let (Some(sel), Some(obj)) = (&select, v.as_object_mut()) {
                obj.retain(|k, _| sel.contains(&k.as_str()));
            }
            v
        })
        .collect();
    reply(
        200,
        &json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('alex%40contoso.com')/calendars", "value": value}),
    )
}

/// `maxpagesize` and whether times are wanted in UTC, from the `Prefer` header(s).
fn preferences(prefer: Option<&str>) -> (Option<usize>, bool) {
    let mut size = None;
    let mut utc = false;
    for p in prefer.unwrap_or("").split(',').map(str::trim) {
        if let Some(n) = p.strip_prefix("odata.maxpagesize=") {
            size = n.parse().ok();
        }
        if let Some(z) = p.strip_prefix("outlook.timezone=") {
            utc = z.trim_matches('"') == "UTC";
        }
    }
    (size, utc)
}

fn delta(
    s: &mut State,
    calendar: &str,
    path: &str,
    query: &[(String, String)],
    prefer: Option<&str>,
) -> (ResponseTemplate, u16, usize) {
    let q: HashMap<&str, &str> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (size, wants_utc) = preferences(prefer);
    let utc = wants_utc && !s.ignore_timezone_preference;
    let page_size = size.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, 1000);
    let window_given = q.contains_key("startDateTime") || q.contains_key("endDateTime");
    let cal_index = s.calendars.iter().position(|c| c.id == calendar).unwrap();

    let (items, delta_token, empty_lead) = if let Some(t) = q.get("$skiptoken") {
        if window_given {
            return reply(
                400,
                &graph_error(
                    "ErrorInvalidParameter",
                    "A state token cannot be combined with other parameters.",
                ),
            );
        }
        let Some(c) = s.cursors.remove(*t).filter(|c| c.calendar == calendar) else {
            return reply(
                400,
                &graph_error("ErrorInvalidUrlQuery", "The skip token is not valid."),
            );
        };
        (c.remaining, c.delta_token, false)
    } else if let Some(t) = q.get("$deltatoken") {
        if window_given {
            return reply(
                400,
                &graph_error(
                    "ErrorInvalidParameter",
                    "A state token cannot be combined with other parameters.",
                ),
            );
        }
        let Some(st) = s
            .delta_tokens
            .get(*t)
            .filter(|d| d.calendar == calendar)
            .cloned()
        else {
            return reply(
                410,
                &graph_error(
                    "syncStateNotFound",
                    "The sync state for this delta token was not found; start a new round.",
                ),
            );
        };
        let items: Vec<Value> = s.calendars[cal_index]
            .events
            .values()
            .filter(|e| e.seq > st.since)
            .map(|e| {
                let (a, b) = bounds(&e.json);
                let inside = a < st.end && b > st.start;
                if e.deleted || !inside {
                    // Deleted, or moved out of the view: the client only learns the id.
                    json!({"@odata.type": "#microsoft.graph.event", "id": e.json["id"],
                        "@removed": {"reason": "deleted"}})
                } else {
                    rendered(&e.json, utc)
                }
            })
            .collect();
        let token = new_delta_token(s, calendar, st.start, st.end);
        (items, token, false)
    } else {
        let parse = |k: &str| {
            q.get(k)
                .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
                .map(|d| d.to_utc())
        };
        let (Some(start), Some(end)) = (parse("startDateTime"), parse("endDateTime")) else {
            return reply(
                400,
                &graph_error(
                    "ErrorInvalidParameter",
                    "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
                ),
            );
        };
        let items: Vec<Value> = s.calendars[cal_index]
            .events
            .values()
            .filter(|e| !e.deleted)
            .filter(|e| {
                let (a, b) = bounds(&e.json);
                a < end && b > start
            })
            .map(|e| rendered(&e.json, utc))
            .collect();
        let token = new_delta_token(s, calendar, start, end);
        (items, token, s.empty_first_page)
    };

    let mut items = items;
    let rest = if empty_lead {
        std::mem::take(&mut items)
    } else if items.len() > page_size {
        items.split_off(page_size)
    } else {
        Vec::new()
    };
    let link = format!("{}{}", s.base, path);
    let mut body = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)",
    });
    if rest.is_empty() && !empty_lead {
        body["@odata.deltaLink"] = json!(format!("{link}?$deltatoken={delta_token}"));
    } else {
        let skip = rand_token("R0usmcCM996atia_s", 60);
        s.cursors.insert(
            skip.clone(),
            Cursor {
                calendar: calendar.to_string(),
                remaining: rest,
                delta_token,
            },
        );
        body["@odata.nextLink"] = json!(format!("{link}?$skiptoken={skip}"));
    }
    body["value"] = json!(items);
    let (r, st, n) = reply(200, &body);
    let r = match size {
        Some(_) => r.insert_header(
            "Preference-Applied",
            format!("odata.maxpagesize={page_size}").as_str(),
        ),
        None => r,
    };
    (r, st, n)
}

fn new_delta_token(
    s: &mut State,
    calendar: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> String {
    // Real delta tokens are long opaque strings; their length is part of a quiet poll's bytes.
    let t = rand_token("R0usmci39OQxqJrxK4", 100);
    s.delta_tokens.insert(
        t.clone(),
        DeltaState {
            calendar: calendar.to_string(),
            start,
            end,
            since: s.seq,
        },
    );
    t
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Driving the real binary

/// The `[[calendars]]` table of a Microsoft calendar `m365` on `fake`, polled every second.
pub fn calendar_table(fake: &FakeMicrosoft, calendars: &[&str]) -> String {
    format!(
        r#"[[calendars]]
name = "m365"
kind = "microsoft"
client_id = {CLIENT_ID:?}
tenant = "contoso.onmicrosoft.com"
calendars = {calendars:?}
authority_url = {authority:?}
api_url = {api:?}
poll = "1s"
timeout = "5s"
"#,
        authority = fake.authority_url(),
        api = fake.api_url(),
    )
}

/// What the person at the verification page does with the printed code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Person {
    Approves,
    Declines,
    /// Reads the code and walks away.
    Ignores,
}

/// What `nextstep auth microsoft` did.
pub struct CliSignIn {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// The address and the code of the printed line.
    pub verification_uri: String,
    pub user_code: String,
}

/// Runs `nextstep auth microsoft --source m365` (with `env`) as a child process, as a person
/// would: reads the printed line, goes to the address, enters the code and approves (or not),
/// and waits for the command to end.
pub async fn sign_in_through_the_cli(
    home: &super::daemon::Home,
    fake: &FakeMicrosoft,
    person: Person,
    env: &[(&str, &str)],
) -> CliSignIn {
    use tokio::io::AsyncBufReadExt;
    let mut cmd =
        tokio::process::Command::from(home.command(&["auth", "microsoft", "--source", "m365"]));
    let mut child = cmd
        .envs(env.iter().copied())
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stderr_task = tokio::spawn(async move {
        let mut s = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stderr_pipe, &mut s)
            .await
            .unwrap();
        s
    });
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stdout = String::new();
    let line = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            stdout.push_str(&line);
            stdout.push('\n');
            if line.contains("enter the code") {
                return line;
            }
        }
        panic!("`auth microsoft` ended without printing a code; stdout:\n{stdout}");
    })
    .await
    .expect("a code within 20 s");
    let (before, code) = line.split_once(" and enter the code ").unwrap();
    let uri = before.rsplit_once(" open ").unwrap().1.to_string();
    let code = code.trim().to_string();
    match person {
        Person::Approves => assert_eq!(fake.enter_code(&uri, &code, true).await, 200),
        Person::Declines => assert_eq!(fake.enter_code(&uri, &code, false).await, 200),
        Person::Ignores => {}
    }
    let (status, rest) = tokio::time::timeout(Duration::from_secs(30), async {
        let mut rest = String::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            rest.push_str(&line);
            rest.push('\n');
        }
        (child.wait().await.unwrap(), rest)
    })
    .await
    .expect("`auth microsoft` ends within 30 s of the answer");
    stdout.push_str(&rest);
    CliSignIn {
        status,
        stdout,
        stderr: stderr_task.await.unwrap(),
        verification_uri: uri,
        user_code: code,
    }
}
