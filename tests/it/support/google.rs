//! A fake of Google's OAuth endpoints and of Calendar v3 `events.list`, on wiremock.
//!
//! Behaviour and body shapes follow Google's public documentation:
//! - events.list and sync: <https://developers.google.com/calendar/api/v3/reference/events/list>,
//!   <https://developers.google.com/calendar/api/guides/sync> (pagination with `nextPageToken`,
//!   `nextSyncToken` on the last page only, 410 `fullSyncRequired`, `syncToken` refused together
//!   with `timeMin`/`timeMax`, deleted events as `status: cancelled` with little else);
//! - errors: <https://developers.google.com/calendar/api/guides/errors> (401 `authError`,
//!   403 `userRateLimitExceeded`, 429 `rateLimitExceeded`, 410 `fullSyncRequired`);
//! - OAuth for desktop apps: <https://developers.google.com/identity/protocols/oauth2/native-app>
//!   (PKCE S256, loopback redirect, `access_type=offline`, `invalid_grant` bodies).
//!
//! Every request is logged with its query and the size of the body answered, so tests can count
//! requests and bytes per poll.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::oauth::{Tokens, form_of, percent_decode, pkce_matches, query_of, rand_token};
pub use crate::support::provider::Logged;
use crate::support::provider::{Fake, ProviderState, provider_state_fields};

pub const CLIENT_ID: &str = "123456789012-abcdefghijklmnop.apps.googleusercontent.com";
pub const CLIENT_SECRET: &str = "GOCSPX-fake-client-secret-XYZ";
pub const SCOPE: &str = "https://www.googleapis.com/auth/calendar.readonly";
/// How Google's refresh tokens begin.
const REFRESH_PREFIX: &str = "1//0gLx";
/// The variable the config names in `client_secret_env`; set only on the child processes.
pub const SECRET_ENV: &str = "NEXTSTEP_TEST_GOOGLE_CLIENT_SECRET";

/// A failure injected into the next events.list call(s).
#[derive(Debug, Clone)]
pub enum Fault {
    TooManyRequests { retry_after_secs: u64 },
    UserRateLimit403,
    ServerError503,
}

struct StoredEvent {
    json: Value,
    seq: u64,
    cancelled: bool,
}

#[derive(Default)]
struct Calendar {
    events: BTreeMap<String, StoredEvent>,
}

struct Cursor {
    calendar: String,
    remaining: Vec<Value>,
    sync_token: String,
}

#[derive(Default)]
pub struct State {
    seq: u64,
    calendars: HashMap<String, Calendar>,
    sync_tokens: HashMap<String, (String, u64)>,
    cursors: HashMap<String, Cursor>,
    codes: HashMap<String, (String, String)>, // code -> (challenge, redirect_uri)
    /// The tokens handed out, and every secret the fake handed out or received.
    pub tokens: Tokens,
    /// The query of the last authorization request.
    pub last_auth_query: Vec<(String, String)>,
    pub faults: VecDeque<Fault>,
    /// Every access token, even a freshly refreshed one, is refused.
    pub refuse_all_access_tokens: bool,
    pub refresh_revoked: bool,
    pub log: Vec<Logged>,
    pub token_grants: Vec<String>,
    /// Pages hold at most this many events, whatever `maxResults` says (to make listings page).
    pub max_page_size: Option<usize>,
    /// Calendars whose events.list answers 503 until taken out of this list.
    pub failing_calendars: Vec<String>,
}

pub type FakeGoogle = Fake<State>;

impl FakeGoogle {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State::default()));
        state
            .lock()
            .unwrap()
            .calendars
            .insert("primary".into(), Calendar::default());
        Mock::given(method("GET"))
            .and(path("/o/oauth2/v2/auth"))
            .respond_with(Authorize(state.clone()))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(TokenEndpoint(state.clone()))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/calendar/v3/calendars/[^/]+/events$"))
            .respond_with(EventsList(state.clone()))
            .mount(&server)
            .await;
        Fake { server, state }
    }

    pub fn auth_url(&self) -> String {
        format!("{}/o/oauth2/v2/auth", self.server.uri())
    }
    pub fn token_url(&self) -> String {
        format!("{}/token", self.server.uri())
    }
    pub fn api_url(&self) -> String {
        format!("{}/calendar/v3/", self.server.uri())
    }

    /// Adds or replaces an event (its `id` field), as an edit in Google Calendar would.
    pub fn put_event(&self, calendar: &str, mut event: Value) {
        let mut s = self.lock();
        s.seq += 1;
        let seq = s.seq;
        let id = event["id"].as_str().unwrap().to_string();
        event["updated"] = json!(format!("2026-11-26T10:00:{:02}.000Z", seq % 60));
        event["etag"] = json!(format!("\"{}\"", 3_400_000_000_000_000u64 + seq));
        s.calendars
            .entry(calendar.into())
            .or_default()
            .events
            .insert(
                id,
                StoredEvent {
                    json: event,
                    seq,
                    cancelled: false,
                },
            );
    }

    /// Deletes an event or cancels one instance.
    pub fn cancel_event(&self, calendar: &str, id: &str) {
        let mut s = self.lock();
        s.seq += 1;
        let seq = s.seq;
        let ev = s
            .calendars
            .get_mut(calendar)
            .unwrap()
            .events
            .get_mut(id)
            .unwrap();
        ev.cancelled = true;
        ev.seq = seq;
    }

    /// Google forgets every sync token (they expire after a while): the next incremental call gets 410.
    pub fn expire_sync_tokens(&self) {
        self.lock().sync_tokens.clear();
    }

    pub fn events_requests(&self) -> Vec<Logged> {
        self.calendar_api_requests()
    }
}

impl ProviderState for State {
    const REFRESH_PREFIX: &'static str = REFRESH_PREFIX;
    const REFRESH_LEN: usize = 90;

    provider_state_fields!();

    fn moved(event: &Value, start: DateTime<Utc>, end: DateTime<Utc>) -> Value {
        let t = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut ev = event.clone();
        ev["start"]["dateTime"] = json!(t(start));
        ev["end"]["dateTime"] = json!(t(end));
        ev
    }

    fn is_calendar_request(r: &Logged) -> bool {
        r.path.ends_with("/events")
    }

    fn is_incremental(r: &Logged) -> bool {
        r.param("syncToken").is_some() && r.param("timeMin").is_none()
    }
}

/// A daemon's home whose calendar `work` is `fake`'s, its API at `api_url` (the fake's own, or a
/// proxy in front of it) with this request `timeout`, polled every second; the client secret in
/// [`SECRET_ENV`], the token kept in a file (never the keyring of whoever runs the tests).
pub fn home(fake: &FakeGoogle, api_url: &str, timeout: &str) -> crate::support::daemon::Home {
    crate::support::daemon::Home::new("alex@mycorp.com", |_| {
        format!(
            r#"[[calendars]]
name = "work"
kind = "google"
client_id = {CLIENT_ID:?}
client_secret_env = {SECRET_ENV:?}
auth_url = {auth:?}
token_url = {token:?}
api_url = {api_url:?}
poll = "1s"
timeout = {timeout:?}
"#,
            auth = fake.auth_url(),
            token = fake.token_url(),
        )
    })
    .with_env("NEXTSTEP_KEYRING", "off")
    .with_env(SECRET_ENV, CLIENT_SECRET)
}

/// A typical timed event with attendees `(email, responseStatus)`.
pub fn event(id: &str, summary: &str, start: &str, end: &str, attendees: &[(&str, &str)]) -> Value {
    json!({
        "kind": "calendar#event",
        "id": id,
        "status": "confirmed",
        "htmlLink": format!("https://www.google.com/calendar/event?eid={id}"),
        "created": "2026-11-20T09:00:00.000Z",
        "summary": summary,
        "creator": {"email": "alex@mycorp.com", "self": true},
        "organizer": {"email": "alex@mycorp.com", "self": true},
        "start": {"dateTime": start, "timeZone": "Europe/Berlin"},
        "end": {"dateTime": end, "timeZone": "Europe/Berlin"},
        "iCalUID": format!("{id}@google.com"),
        "sequence": 0,
        "attendees": attendees.iter().map(|(e, r)| {
            let mut a = json!({"email": e, "responseStatus": r});
            if *e == "alex@mycorp.com" { a["self"] = json!(true); a["organizer"] = json!(true); }
            a
        }).collect::<Vec<_>>(),
        "reminders": {"useDefault": true},
        "eventType": "default"
    })
}

fn error_body(code: u16, domain: &str, reason: &str, message: &str) -> Value {
    json!({"error": {"errors": [{"domain": domain, "reason": reason, "message": message}],
        "code": code, "message": message}})
}

fn event_bounds(ev: &Value) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let t = |v: &Value| -> Option<DateTime<Utc>> {
        if let Some(dt) = v["dateTime"].as_str() {
            return DateTime::parse_from_rfc3339(dt).ok().map(|d| d.to_utc());
        }
        let d = NaiveDate::parse_from_str(v["date"].as_str()?, "%Y-%m-%d").ok()?;
        Some(d.and_hms_opt(0, 0, 0)?.and_utc())
    };
    Some((t(&ev["start"])?, t(&ev["end"])?))
}

fn json_response(status: u16, body: &Value) -> (ResponseTemplate, usize) {
    let bytes = serde_json::to_vec(body).unwrap();
    let n = bytes.len();
    (
        ResponseTemplate::new(status).set_body_raw(bytes, "application/json; charset=UTF-8"),
        n,
    )
}

/// Keeps only the top-level keys named in `fields` (Google's partial-response syntax; nested
/// selections in parentheses are kept whole).
fn apply_fields(body: &mut Value, fields: &str) {
    let mut keep = Vec::new();
    let (mut depth, mut cur) = (0, String::new());
    for c in fields.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => keep.push(std::mem::take(&mut cur)),
            _ if depth == 0 => cur.push(c),
            _ => {}
        }
    }
    keep.push(cur);
    if let Some(obj) = body.as_object_mut() {
        obj.retain(|k, _| keep.iter().any(|f| f.trim() == k));
    }
}

// ---------------------------------------------------------------------------------------------

struct Authorize(Arc<Mutex<State>>);

impl Respond for Authorize {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let q: HashMap<_, _> = query_of(req).into_iter().collect();
        let mut s = self.0.lock().unwrap();
        s.last_auth_query = query_of(req);
        let ok = q.get("client_id").map(String::as_str) == Some(CLIENT_ID)
            && q.get("response_type").map(String::as_str) == Some("code")
            && q.get("scope").map(String::as_str) == Some(SCOPE)
            && q.get("code_challenge_method").map(String::as_str) == Some("S256")
            && q.contains_key("code_challenge")
            && q.contains_key("state")
            && q.get("redirect_uri")
                .is_some_and(|r| r.starts_with("http://127.0.0.1:"));
        if !ok {
            // Google shows an HTML error page ("Error 400: invalid_request").
            return ResponseTemplate::new(400)
                .set_body_string("<html><body>Error 400: invalid_request</body></html>");
        }
        let code = rand_token("4/0AfJohX", 40);
        let redirect = q["redirect_uri"].clone();
        s.codes.insert(
            code.clone(),
            (q["code_challenge"].clone(), redirect.clone()),
        );
        s.tokens.keep(&code);
        let mut loc = url::Url::parse(&redirect).unwrap();
        loc.query_pairs_mut()
            .append_pair("state", &q["state"])
            .append_pair("code", &code)
            .append_pair("scope", SCOPE);
        ResponseTemplate::new(302).insert_header("Location", loc.as_str())
    }
}

struct TokenEndpoint(Arc<Mutex<State>>);

impl Respond for TokenEndpoint {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let form = form_of(req);
        let mut s = self.0.lock().unwrap();
        let grant = form.get("grant_type").cloned().unwrap_or_default();
        s.token_grants.push(grant.clone());
        let bad = |status: u16, error: &str, desc: &str| {
            ResponseTemplate::new(status)
                .set_body_json(json!({"error": error, "error_description": desc}))
        };
        if form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
            || form.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
        {
            return bad(401, "invalid_client", "Unauthorized");
        }
        let issue_access = |s: &mut State| s.tokens.issue_access("ya29.a0AfB_byC", 60);
        match grant.as_str() {
            "authorization_code" => {
                let code = form.get("code").cloned().unwrap_or_default();
                let Some((challenge, redirect)) = s.codes.remove(&code) else {
                    return bad(400, "invalid_grant", "Bad Request");
                };
                let verifier = form.get("code_verifier").cloned().unwrap_or_default();
                s.tokens.keep(&verifier);
                if !pkce_matches(&verifier, &challenge) {
                    return bad(400, "invalid_grant", "Missing code verifier.");
                }
                if form.get("redirect_uri") != Some(&redirect) {
                    return bad(400, "redirect_uri_mismatch", "Bad Request");
                }
                let access = issue_access(&mut s);
                let refresh = s.tokens.issue_refresh(REFRESH_PREFIX, 90);
                ResponseTemplate::new(200).set_body_json(json!({
                    "access_token": access, "expires_in": 3599, "refresh_token": refresh,
                    "scope": SCOPE, "token_type": "Bearer"}))
            }
            "refresh_token" => {
                let rt = form.get("refresh_token").cloned().unwrap_or_default();
                if s.refresh_revoked || !s.tokens.is_refresh(&rt) {
                    return bad(400, "invalid_grant", "Token has been expired or revoked.");
                }
                let access = issue_access(&mut s);
                ResponseTemplate::new(200).set_body_json(json!({
                    "access_token": access, "expires_in": 3599, "scope": SCOPE,
                    "token_type": "Bearer"}))
            }
            _ => bad(400, "unsupported_grant_type", "Invalid grant_type: "),
        }
    }
}

struct EventsList(Arc<Mutex<State>>);

impl Respond for EventsList {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        let query = query_of(req);
        let (resp, status, bytes) = events_list(&mut s, req, &query);
        s.log.push(Logged::of(req, query, status, bytes));
        resp
    }
}

fn events_list(
    s: &mut State,
    req: &Request,
    query: &[(String, String)],
) -> (ResponseTemplate, u16, usize) {
    let reply = |status: u16, body: Value| {
        let (r, n) = json_response(status, &body);
        (r, status, n)
    };
    let q: HashMap<&str, &str> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if s.refuse_all_access_tokens || !s.tokens.authorizes(req) {
        let (r, n) = json_response(
            401,
            &error_body(401, "global", "authError", "Invalid Credentials"),
        );
        let r = r.insert_header(
            "WWW-Authenticate",
            "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"",
        );
        return (r, 401, n);
    }
    if let Some(f) = s.faults.pop_front() {
        return match f {
            Fault::TooManyRequests { retry_after_secs } => {
                let (r, n) = json_response(
                    429,
                    &error_body(
                        429,
                        "usageLimits",
                        "rateLimitExceeded",
                        "Rate Limit Exceeded",
                    ),
                );
                (
                    r.insert_header("Retry-After", retry_after_secs.to_string().as_str()),
                    429,
                    n,
                )
            }
            Fault::UserRateLimit403 => reply(
                403,
                error_body(
                    403,
                    "usageLimits",
                    "userRateLimitExceeded",
                    "User Rate Limit Exceeded",
                ),
            ),
            Fault::ServerError503 => reply(
                503,
                error_body(503, "global", "backendError", "Backend Error"),
            ),
        };
    }
    let cal_id = req
        .url
        .path_segments()
        .and_then(|mut p| p.nth(3))
        .map(percent_decode)
        .unwrap_or_default();
    if s.failing_calendars.contains(&cal_id) {
        return reply(
            503,
            error_body(503, "global", "backendError", "Backend Error"),
        );
    }
    if !s.calendars.contains_key(&cal_id) {
        return reply(404, error_body(404, "global", "notFound", "Not Found"));
    }
    let max: usize = q
        .get("maxResults")
        .and_then(|m| m.parse().ok())
        .unwrap_or(250)
        .clamp(1, 2500)
        .min(s.max_page_size.unwrap_or(usize::MAX));

    let (items, sync_token) = if let Some(pt) = q.get("pageToken") {
        let Some(c) = s.cursors.remove(*pt).filter(|c| c.calendar == cal_id) else {
            return reply(
                400,
                error_body(400, "global", "invalid", "Invalid page token value."),
            );
        };
        (c.remaining, c.sync_token)
    } else if let Some(st) = q.get("syncToken") {
        if q.contains_key("timeMin") || q.contains_key("timeMax") || q.contains_key("updatedMin") {
            return reply(
                400,
                error_body(
                    400,
                    "global",
                    "syncTokenWithRequestRestrictions",
                    "Sync token cannot be used with other request restrictions.",
                ),
            );
        }
        // A token this fake never gave out, or gave out for another calendar, has expired.
        let Some((_, since)) = s
            .sync_tokens
            .get(*st)
            .filter(|(tcal, _)| *tcal == cal_id)
            .cloned()
        else {
            return reply(
                410,
                error_body(
                    410,
                    "calendar",
                    "fullSyncRequired",
                    "Sync token is no longer valid, a full sync is required.",
                ),
            );
        };
        let items: Vec<Value> = s.calendars[&cal_id]
            .events
            .values()
            .filter(|e| e.seq > since)
            .map(|e| {
                if e.cancelled {
                    // Deleted events carry only their id and status (and etag, kind).
                    json!({"kind": "calendar#event", "etag": e.json["etag"], "id": e.json["id"],
                        "status": "cancelled"})
                } else {
                    e.json.clone()
                }
            })
            .collect();
        // Nothing changed: Google hands back the same token.
        let token = if items.is_empty() {
            st.to_string()
        } else {
            new_sync_token(s, &cal_id)
        };
        (items, token)
    } else {
        let parse = |k: &str| {
            q.get(k)
                .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
                .map(|d| d.to_utc())
        };
        let (tmin, tmax) = (parse("timeMin"), parse("timeMax"));
        if let (Some(a), Some(b)) = (tmin, tmax)
            && b <= a
        {
            return reply(
                400,
                error_body(
                    400,
                    "calendar",
                    "timeRangeEmpty",
                    "The specified time range is empty.",
                ),
            );
        }
        let items: Vec<Value> = s.calendars[&cal_id]
            .events
            .values()
            .filter(|e| !e.cancelled)
            .filter(|e| {
                let Some((st, en)) = event_bounds(&e.json) else {
                    return false;
                };
                tmin.is_none_or(|m| en > m) && tmax.is_none_or(|m| st < m)
            })
            .map(|e| e.json.clone())
            .collect();
        let token = new_sync_token(s, &cal_id);
        (items, token)
    };

    let mut items = items;
    let rest = if items.len() > max {
        items.split_off(max)
    } else {
        Vec::new()
    };
    let mut body = json!({
        "kind": "calendar#events",
        "etag": format!("\"p3{}\"", s.seq),
        "summary": "alex@mycorp.com",
        "description": "",
        "updated": "2026-11-26T10:00:00.000Z",
        "timeZone": "Europe/Berlin",
        "accessRole": "owner",
        "defaultReminders": [{"method": "popup", "minutes": 10}],
        "items": items,
    });
    if rest.is_empty() {
        body["nextSyncToken"] = json!(sync_token);
    } else {
        let pt = rand_token("CkAKPgo8", 40);
        s.cursors.insert(
            pt.clone(),
            Cursor {
                calendar: cal_id.clone(),
                remaining: rest,
                sync_token,
            },
        );
        body["nextPageToken"] = json!(pt);
    }
    if let Some(f) = q.get("fields") {
        apply_fields(&mut body, f);
    }
    reply(200, body)
}

fn new_sync_token(s: &mut State, cal: &str) -> String {
    let t = rand_token("CPDAlvWDx70CEPDAlvWDx70CGA", 8);
    s.sync_tokens.insert(t.clone(), (cal.to_string(), s.seq));
    t
}
