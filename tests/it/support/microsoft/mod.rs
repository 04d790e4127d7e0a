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
//!
//! The fake is in three parts: the accounts, calendars and recordings here, the identity
//! platform's endpoints in [`identity`], Graph's in [`graph`]; [`cli`] drives the real binary's
//! sign-in against it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer};

use crate::support::oauth::Tokens;
pub use crate::support::provider::Logged;
use crate::support::provider::{Fake, ProviderState, provider_state_fields};

pub mod cli;
mod graph;
mod identity;

pub use cli::{Person, calendar_table_at, home, sign_in_through_the_cli};
use graph::Graph;
use identity::{Authorize, DeviceAuthorization, DeviceLogin, TokenEndpoint};

/// The application (client) id of the test's app registration.
pub const CLIENT_ID: &str = "4a1aa1d5-c567-49d0-ad0b-cd957a47f842";
/// The signed-in user.
pub const ME: &str = "alex@contoso.com";
/// Graph's ids of the two calendars of the account (real ids end in `=`, which must be escaped
/// in a path).
pub const DEFAULT_CALENDAR_ID: &str = "AAMkADA5ZDE2Njg1LWNhbGVuZGFyLTE=";
pub const SALES_CALENDAR_ID: &str = "AAMkADA5ZDE2Njg1LWNhbGVuZGFyLTI=";

/// How Microsoft's refresh tokens begin (here).
pub(crate) const REFRESH_PREFIX: &str = "1.AXkAwB3nR_refresh.";

/// The page size when a request names none.
pub(crate) const DEFAULT_PAGE_SIZE: usize = 10;

/// Whether `r` was a calendarView delta request.
pub fn is_delta(r: &Logged) -> bool {
    r.path.ends_with("/calendarView/delta")
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
    /// The tokens handed out, and every secret the fake handed out or received.
    pub tokens: Tokens,
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
    /// Pages hold at most this many events, whatever `odata.maxpagesize` says (to make rounds
    /// page).
    pub max_page_size: Option<usize>,
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

pub type FakeMicrosoft = Fake<State>;

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
            tokens: Tokens::default(),
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
            max_page_size: None,
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
        Fake { server, state }
    }

    /// What the config's `authority_url` names.
    pub fn authority_url(&self) -> String {
        self.server.uri()
    }

    /// What the config's `api_url` names.
    pub fn api_url(&self) -> String {
        format!("{}/v1.0", self.server.uri())
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
        self.lock().tokens.revoke_refresh();
    }

    /// Next and delta links (and the device login page) start with `base` instead of the fake's
    /// own address: for a proxy in front of Graph, which must see every request of a round.
    pub fn link_through(&self, base: &str) {
        self.lock().base = base.trim_end_matches('/').to_string();
    }

    /// The refresh tokens that still work (at most one after a rotation).
    pub fn valid_refresh_tokens(&self) -> Vec<String> {
        self.lock().tokens.refresh_tokens()
    }

    /// The calendarView delta requests so far.
    pub fn delta_requests(&self) -> Vec<Logged> {
        self.requests().into_iter().filter(is_delta).collect()
    }
}

impl ProviderState for State {
    const REFRESH_PREFIX: &'static str = REFRESH_PREFIX;
    const REFRESH_LEN: usize = 300;

    provider_state_fields!();

    fn moved(event: &Value, start: DateTime<Utc>, end: DateTime<Utc>) -> Value {
        let mut ev = event.clone();
        ev["start"]["dateTime"] = json!(graph_time(start));
        ev["end"]["dateTime"] = json!(graph_time(end));
        ev
    }

    fn is_calendar_request(_: &Logged) -> bool {
        true
    }

    fn is_incremental(r: &Logged) -> bool {
        r.param("$deltatoken").is_some() && r.param("startDateTime").is_none()
    }
}

/// A time as Graph writes it in UTC (seven digits of fractions, no offset).
pub fn graph_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S.0000000").to_string()
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
