//! The Microsoft calendar source: Graph `calendarView/delta` rounds over HTTP, one per configured
//! calendar, as a [`CalendarSource`].
//!
//! A poll is one GET of the stored delta link when nothing changed. A new round (first poll, a
//! window moved on by a day, a resync) follows `@odata.nextLink` until `@odata.deltaLink`. Graph's
//! answers and what they mean here:
//! - 401: the access token expired; refresh once and retry, then `Unauthorized` naming
//!   `nextstep auth microsoft --source NAME` (the daemon tells the user once and retries slowly);
//! - 410, or the error codes `syncStateNotFound` / `resyncRequired`: drop the link, start a round;
//! - 429 and 503: `RateLimited` with `Retry-After` (the daemon's backoff with jitter otherwise).
//!
//! Every request says `Prefer: outlook.timezone="UTC"` (times come in UTC) and
//! `odata.maxpagesize`. The state of each calendar (link, round window, meetings) is kept 0600 in
//! the source's state directory, so a restart stays incremental.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::auth::MicrosoftAuth;
use super::config::{MicrosoftConfig, PRIMARY};
use super::delta::{self, CalendarState, Next};
use super::json;
use crate::auth::TokenStoreChoice;
use crate::model::Meeting;
use crate::source::state_file;
use crate::source::{CalendarSource, Fetched, PollFuture, SourceContext, SourceError, Window};

/// Graph allows up to 1,000 events a page on calendarView delta.
pub const DEFAULT_PAGE_SIZE: u32 = 200;

/// A guard against a server that hands out next links forever.
const MAX_PAGES: usize = 1000;

/// The HTTP side: one Graph API, one signed-in account.
struct Api {
    name: String,
    http: reqwest::Client,
    cfg: MicrosoftConfig,
    auth: MicrosoftAuth,
    timeout: Duration,
    page_size: u32,
    /// Requests and body bytes since the source was built (for `check` and measurements).
    requests: u64,
    bytes: u64,
}

struct Calendar {
    /// As configured: `primary`, a display name or an id.
    wanted: String,
    /// Meetings of this calendar in the window at the last poll (for `check`).
    in_window: usize,
    /// Graph's id once resolved; `None` for the default calendar.
    id: Option<String>,
    state_path: PathBuf,
    state: Option<CalendarState>,
}

/// Why one GET failed.
enum GetError {
    /// The delta link is no longer usable.
    Resync,
    Source(SourceError),
}

impl From<SourceError> for GetError {
    fn from(e: SourceError) -> Self {
        GetError::Source(e)
    }
}

/// A Microsoft account (one or more calendars) as a [`CalendarSource`].
pub struct MicrosoftSource {
    api: Api,
    calendars: Vec<Calendar>,
    /// The account's calendars (display names, the default one marked), listed once per source so
    /// that `check` can show users what they may put in `calendars`.
    found: Vec<String>,
    resolved: bool,
    last: Option<usize>,
    /// Meetings a calendar's delta named removed that no successful poll has reported yet: a
    /// calendar's delta link moves on as soon as its changes are read, so when a later calendar
    /// of the same poll fails, its removals are only here (and would be lost with the poll).
    unreported: Vec<crate::model::MeetingId>,
}

impl std::fmt::Debug for MicrosoftSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MicrosoftSource")
            .field("name", &self.api.name)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct CalendarList {
    #[serde(default)]
    value: Vec<CalendarEntry>,
}

#[derive(Deserialize)]
struct CalendarEntry {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default, rename = "isDefaultCalendar")]
    is_default: bool,
}

impl MicrosoftSource {
    /// Builds the source `name`; tokens are read from `data_dir` (see [`crate::auth`]).
    pub fn new(
        name: &str,
        cfg: &MicrosoftConfig,
        timeout: Duration,
        ctx: SourceContext,
        data_dir: &Path,
    ) -> Result<Self, SourceError> {
        let auth = MicrosoftAuth::new(
            name,
            cfg,
            ctx.require_http()?,
            data_dir,
            TokenStoreChoice::Auto,
        );
        Self::with_auth(name, cfg, timeout, ctx, auth)
    }

    /// Builds the source with a prepared [`MicrosoftAuth`] (tests choose the token store).
    pub fn with_auth(
        name: &str,
        cfg: &MicrosoftConfig,
        timeout: Duration,
        ctx: SourceContext,
        auth: MicrosoftAuth,
    ) -> Result<Self, SourceError> {
        let calendars = cfg
            .calendars
            .iter()
            .map(|c| Calendar {
                wanted: c.clone(),
                in_window: 0,
                id: None,
                state_path: ctx.state_dir.join(state_file::file_name("microsoft", c)),
                state: None,
            })
            .collect();
        Ok(MicrosoftSource {
            api: Api {
                name: name.to_string(),
                http: ctx.require_http()?,
                cfg: cfg.clone(),
                auth,
                timeout,
                page_size: DEFAULT_PAGE_SIZE,
                requests: 0,
                bytes: 0,
            },
            calendars,
            found: Vec::new(),
            resolved: false,
            last: None,
            unreported: Vec::new(),
        })
    }

    /// Sets `odata.maxpagesize`.
    pub fn with_page_size(mut self, n: u32) -> Self {
        self.api.page_size = n.clamp(1, 1000);
        self
    }

    /// Requests made and body bytes received so far.
    pub fn traffic(&self) -> (u64, u64) {
        (self.api.requests, self.api.bytes)
    }

    /// Lists the account's calendars and finds the Graph id of every calendar named by display
    /// name or id (once per source: one request when the daemon starts).
    async fn resolve(&mut self) -> Result<(), SourceError> {
        if self.resolved {
            return Ok(());
        }
        let url = self
            .api
            .cfg
            .api("me/calendars?$select=id,name,isDefaultCalendar");
        let body = get(&mut self.api, &url).await.map_err(|e| match e {
            GetError::Source(e) => e,
            GetError::Resync => SourceError::HttpStatus {
                source_name: self.api.name.clone(),
                url: self.api.cfg.api("me/calendars"),
                status: 410,
            },
        })?;
        let list: CalendarList = serde_json::from_slice(&body).map_err(|e| SourceError::Data {
            source_name: self.api.name.clone(),
            location: self.api.cfg.api("me/calendars"),
            detail: format!("not a calendar list: {e}"),
        })?;
        self.found = list
            .value
            .iter()
            .map(|e| {
                if e.is_default {
                    format!("{} (default, \"{PRIMARY}\")", e.name)
                } else {
                    e.name.clone()
                }
            })
            .collect();
        for cal in self.calendars.iter_mut().filter(|c| c.wanted != PRIMARY) {
            let found = list
                .value
                .iter()
                .find(|e| e.id == cal.wanted || e.name == cal.wanted);
            let Some(found) = found else {
                let names: Vec<&str> = list.value.iter().map(|e| e.name.as_str()).collect();
                return Err(SourceError::Setup {
                    source_name: self.api.name.clone(),
                    detail: format!(
                        "no calendar named `{}`; this account has: {}",
                        cal.wanted,
                        names.join(", ")
                    ),
                });
            };
            cal.id = Some(found.id.clone());
        }
        self.resolved = true;
        Ok(())
    }

    async fn poll_all(&mut self, window: Window) -> Result<Fetched, SourceError> {
        self.resolve().await?;
        let mut warnings = Vec::new();
        let mut changed = false;
        for cal in self.calendars.iter_mut() {
            let state = cal.state.get_or_insert_with(|| {
                state_file::load(&self.api.name, &cal.state_path, "starting a new round")
            });
            let before = state.delta_link.clone();
            let c = sync_calendar(
                &mut self.api,
                cal.id.as_deref(),
                state,
                window,
                &mut warnings,
                &mut self.unreported,
            )
            .await?;
            changed |= c;
            if c || state.delta_link != before {
                state_file::save(&self.api.name, &cal.state_path, state)?;
            }
        }
        let events: Vec<_> = self
            .calendars
            .iter()
            .map(|c| c.state.as_ref().map(|s| &s.events))
            .collect();
        let first_poll = self.last.is_none();
        let (fetched, in_window) = crate::source::account::fetched(
            &events,
            window,
            warnings,
            changed || first_poll,
            &mut self.unreported,
        );
        for (cal, n) in self.calendars.iter_mut().zip(in_window) {
            cal.in_window = n;
        }
        self.last = Some(fetched.meetings.len());
        Ok(fetched)
    }
}

impl CalendarSource for MicrosoftSource {
    fn name(&self) -> &str {
        &self.api.name
    }

    fn poll(&mut self, window: Window) -> PollFuture<'_> {
        let span = tracing::info_span!("microsoft_poll", source = %self.api.name);
        Box::pin(tracing::Instrument::instrument(self.poll_all(window), span))
    }

    fn describe(&self) -> String {
        if self.last.is_none() {
            return String::new();
        }
        let per_calendar: Vec<String> = self
            .calendars
            .iter()
            .map(|c| {
                format!(
                    "{} {} meeting{}",
                    c.wanted,
                    c.in_window,
                    if c.in_window == 1 { "" } else { "s" }
                )
            })
            .collect();
        format!(
            "reachable and authorised; in the window: {}; calendars found: {}",
            per_calendar.join(", "),
            self.found.join(", ")
        )
    }
}

/// Syncs one calendar; returns whether its meeting set changed. Adds to `removed` the meetings a
/// delta named `@removed`, cancelled, or no longer a meeting for us (not the unreadable ones).
async fn sync_calendar(
    api: &mut Api,
    calendar_id: Option<&str>,
    state: &mut CalendarState,
    window: Window,
    warnings: &mut Vec<String>,
    removed: &mut Vec<crate::model::MeetingId>,
) -> Result<bool, SourceError> {
    if !state.needs_new_round(window)
        && let Some(link) = state.delta_link.clone()
    {
        let mut events = state.events.clone();
        let mut gone = Vec::new();
        match follow(api, link, &mut events, warnings, &mut gone).await {
            Ok((link, changed)) => {
                removed.append(&mut gone);
                state.delta_link = Some(link);
                state.events = events;
                return Ok(changed);
            }
            Err(GetError::Resync) => {
                tracing::info!("delta link no longer valid; starting a new round");
                state.drop_link();
            }
            Err(GetError::Source(e)) => return Err(e),
        }
    }
    let base = api.cfg.api_url.as_str().trim_end_matches('/').to_string();
    let first = delta::first_url(&base, calendar_id, window);
    let mut events = BTreeMap::new();
    // A new round starts from nothing, so it cannot name anything gone.
    let (link, _) = follow(api, first, &mut events, warnings, &mut Vec::new())
        .await
        .map_err(|e| match e {
            GetError::Source(e) => e,
            // A fresh round that is told to resync cannot make progress.
            GetError::Resync => SourceError::HttpStatus {
                source_name: api.name.clone(),
                url: api.cfg.api("me/calendarView/delta"),
                status: 410,
            },
        })?;
    let changed = events != state.events;
    state.finish_round(window, events, link);
    Ok(changed)
}

/// Follows next links from `url` until a delta link; applies every page to `events`.
async fn follow(
    api: &mut Api,
    mut url: String,
    events: &mut BTreeMap<String, Meeting>,
    warnings: &mut Vec<String>,
    removed: &mut Vec<crate::model::MeetingId>,
) -> Result<(String, bool), GetError> {
    let mut changed = false;
    for _ in 0..MAX_PAGES {
        let body = get(api, &url).await?;
        let page: json::DeltaPage =
            serde_json::from_slice(&body).map_err(|e| SourceError::Data {
                source_name: api.name.clone(),
                location: redact(&url),
                detail: format!("not a delta page: {e}"),
            })?;
        let (next, c) = delta::apply_page(&api.name, events, page, warnings, removed);
        changed |= c;
        match next {
            Next::Page(n) => url = n,
            Next::Done(link) => return Ok((link, changed)),
            Next::Broken => {
                return Err(SourceError::Data {
                    source_name: api.name.clone(),
                    location: redact(&url),
                    detail: "a delta page with neither @odata.nextLink nor @odata.deltaLink".into(),
                }
                .into());
            }
        }
    }
    Err(SourceError::Data {
        source_name: api.name.clone(),
        location: redact(&url),
        detail: format!("more than {MAX_PAGES} pages in one round"),
    }
    .into())
}

/// A Graph URL for logs and errors: the path, without the query (skip and delta tokens).
fn redact(url: &str) -> String {
    url.split('?').next().unwrap_or_default().to_string()
}

/// One GET with one access-token refresh on 401.
async fn get(api: &mut Api, url: &str) -> Result<Vec<u8>, GetError> {
    let name = api.name.clone();
    let shown = redact(url);
    let (http, timeout, page_size) = (&api.http, api.timeout, api.page_size);
    let answered = crate::source::account::get(
        &name,
        "Graph",
        &shown,
        &mut api.auth,
        |token| {
            http.get(url)
                .header(reqwest::header::ACCEPT, "application/json")
                .header(
                    "Prefer",
                    format!("outlook.timezone=\"UTC\", odata.maxpagesize={page_size}"),
                )
                // `bearer_auth` marks the header sensitive, so h2/hyper never print it.
                .bearer_auth(token.expose())
                .timeout(timeout)
        },
        || {
            format!(
                "Microsoft refused a freshly refreshed access token: run `nextstep auth microsoft --source {name}`"
            )
        },
    )
    .await?;
    api.requests += answered.responses;
    api.bytes += answered.bytes;
    let (status, body) = (answered.status, answered.body);
    let detail = json::parse_error(&body);
    match status {
        200..=299 => Ok(body),
        s if json::needs_resync(s, detail.as_ref()) => Err(GetError::Resync),
        429 | 503 => Err(SourceError::RateLimited {
            source_name: name,
            retry_after: answered.retry_after,
        }
        .into()),
        403 => Err(SourceError::Unauthorized {
            fix: format!(
                "Microsoft refused access to {shown} ({}): check `calendars`, or run `nextstep auth microsoft --source {name}`",
                detail.map(|d| d.code).unwrap_or_else(|| "403".into())
            ),
            source_name: name,
        }
        .into()),
        _ => {
            if let Some(d) = detail {
                tracing::debug!(status, code = %d.code, "Graph refused the request");
            }
            Err(SourceError::HttpStatus {
                source_name: name,
                url: shown,
                status,
            }
            .into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Canned answers in order; the requests seen (request line and `Prefer`).
    #[derive(Default)]
    struct Canned {
        answers: Vec<(u16, String, String)>,
        seen: Vec<String>,
    }

    async fn serve(listener: tokio::net::TcpListener, canned: Arc<Mutex<Canned>>) {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = conn.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let head = String::from_utf8_lossy(&buf).to_string();
            let line = head.lines().next().unwrap_or_default().to_string();
            let prefer = head
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("prefer:"))
                .unwrap_or_default()
                .to_string();
            let (status, extra, body) = {
                let mut c = canned.lock().unwrap();
                c.seen.push(format!("{line} | {prefer}"));
                if c.answers.is_empty() {
                    (500, String::new(), String::new())
                } else {
                    c.answers.remove(0)
                }
            };
            let msg = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = conn.write_all(msg.as_bytes()).await;
            let _ = conn.shutdown().await;
        }
    }

    fn t(s: &str) -> chrono::DateTime<Utc> {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn ev(id: &str) -> String {
        format!(
            r#"{{"id":"{id}","iCalUId":"u-{id}","subject":"S","start":{{"dateTime":"2026-12-03T15:00:00.0000000","timeZone":"UTC"}},"end":{{"dateTime":"2026-12-03T16:00:00.0000000","timeZone":"UTC"}},"attendees":[{{"type":"required","emailAddress":{{"address":"bo@customer.com"}}}}]}}"#
        )
    }

    /// A 200 answer with `body` and no extra header.
    fn ok(body: String) -> (u16, String, String) {
        (200, String::new(), body)
    }

    /// The answer to the calendar listing every source makes once.
    fn calendars() -> (u16, String, String) {
        ok(
            r#"{"value":[{"id":"AAMkCal1","name":"Calendar","isDefaultCalendar":true},{"id":"AAMkCal2","name":"Sales","isDefaultCalendar":false}]}"#.into(),
        )
    }

    struct Rig {
        _dir: tempfile::TempDir,
        src: MicrosoftSource,
        canned: Arc<Mutex<Canned>>,
        base: String,
    }

    impl Rig {
        /// The server answers the calendar listing, then `rest` in order (500 after that).
        fn answers<const N: usize>(&self, rest: [(u16, String, String); N]) {
            let mut answers = vec![calendars()];
            answers.extend(rest);
            self.canned.lock().unwrap().answers = answers;
        }
    }

    async fn rig() -> Rig {
        rig_with(None).await
    }

    /// A rig whose source syncs `calendars` (`None`: the default calendar).
    async fn rig_with(calendars: Option<Vec<String>>) -> Rig {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let canned = Arc::new(Mutex::new(Canned::default()));
        tokio::spawn(serve(listener, canned.clone()));
        let dir = tempfile::tempdir().unwrap();
        let cfg = MicrosoftConfig::new(
            "id".into(),
            None,
            calendars,
            Some(base.parse().unwrap()),
            Some(format!("{base}/v1.0").parse().unwrap()),
        )
        .unwrap();
        let http = crate::http::client(crate::http::Redirects::Refuse).unwrap();
        // A stored access token without expiry: no token request is needed.
        let store = crate::auth::store::TokenStore::new(
            &super::super::auth::MICROSOFT,
            dir.path(),
            "m365",
            TokenStoreChoice::File,
        );
        store
            .save(
                &crate::secret::Secret::new("rt"),
                Some((&crate::secret::Secret::new("at"), None)),
            )
            .await
            .unwrap();
        let auth = MicrosoftAuth::new(
            "m365",
            &cfg,
            http.clone(),
            dir.path(),
            TokenStoreChoice::File,
        );
        let state_dir = dir.path().join("state");
        std::fs::create_dir_all(&state_dir).unwrap();
        let ctx = SourceContext {
            name: "m365".into(),
            state_dir,
            http: Some(http),
        };
        let src =
            MicrosoftSource::with_auth("m365", &cfg, Duration::from_secs(5), ctx, auth).unwrap();
        Rig {
            _dir: dir,
            src,
            canned,
            base,
        }
    }

    fn window() -> Window {
        Window {
            start: t("2026-12-01T00:00:00Z"),
            end: t("2026-12-15T00:00:00Z"),
        }
    }

    #[tokio::test]
    async fn a_round_pages_to_the_delta_link_and_a_quiet_poll_is_one_request() {
        let mut r = rig().await;
        let b = &r.base;
        r.answers([
            ok(format!(
                r#"{{"@odata.nextLink":"{b}/v1.0/me/calendarView/delta?$skiptoken=1","value":[]}}"#
            )),
            ok(format!(
                r#"{{"@odata.deltaLink":"{b}/v1.0/me/calendarView/delta?$deltatoken=2","value":[{}]}}"#,
                ev("a")
            )),
            ok(format!(
                r#"{{"@odata.deltaLink":"{b}/v1.0/me/calendarView/delta?$deltatoken=3","value":[]}}"#
            )),
        ]);
        let f = r.src.poll(window()).await.unwrap();
        assert_eq!(f.meetings.len(), 1);
        assert_eq!(f.meetings[0].id.as_str(), "m365/u-a/single");
        let before = r.src.traffic().0;
        let f = r.src.poll(window()).await.unwrap();
        assert_eq!(f.meetings.len(), 1);
        assert!(!f.changed);
        assert_eq!(r.src.traffic().0 - before, 1, "a quiet poll is one request");
        let mut seen = r.canned.lock().unwrap().seen.clone();
        assert!(
            seen.remove(0).starts_with("GET /v1.0/me/calendars?"),
            "the calendars are listed once, first"
        );
        assert!(seen[0].starts_with("GET /v1.0/me/calendarView/delta?startDateTime=2026-12-01T00:00:00Z&endDateTime=2026-12-16T00:00:00Z "), "{seen:?}");
        assert!(seen[0].contains("outlook.timezone=\"UTC\""), "{seen:?}");
        assert!(
            seen[1].contains("$skiptoken=1") && seen[2].contains("$deltatoken=2"),
            "{seen:?}"
        );
        let d = r.src.describe();
        assert!(
            d.contains("reachable and authorised; in the window: primary 1 meeting"),
            "{d}"
        );
        assert!(
            d.contains("calendars found: Calendar (default, \"primary\"), Sales"),
            "{d}"
        );
    }

    #[tokio::test]
    async fn a_removed_entry_drops_the_meeting_and_gone_starts_a_new_round() {
        let mut r = rig().await;
        let b = &r.base;
        r.answers([
            ok(format!(
                r#"{{"@odata.deltaLink":"{b}/v1.0/d?$deltatoken=1","value":[{},{}]}}"#,
                ev("a"),
                ev("b")
            )),
            ok(format!(
                r#"{{"@odata.deltaLink":"{b}/v1.0/d?$deltatoken=2","value":[{{"id":"b","@removed":{{"reason":"deleted"}}}}]}}"#
            )),
            (
                410,
                String::new(),
                r#"{"error":{"code":"syncStateNotFound","message":"gone"}}"#.into(),
            ),
            ok(format!(
                r#"{{"@odata.deltaLink":"{b}/v1.0/d?$deltatoken=3","value":[{}]}}"#,
                ev("c")
            )),
        ]);
        assert_eq!(r.src.poll(window()).await.unwrap().meetings.len(), 2);
        let f = r.src.poll(window()).await.unwrap();
        assert!(f.changed);
        assert_eq!(f.meetings.len(), 1);
        let f = r.src.poll(window()).await.unwrap();
        assert_eq!(f.meetings.len(), 1);
        assert_eq!(f.meetings[0].id.as_str(), "m365/u-c/single");
        let seen = r.canned.lock().unwrap().seen.clone();
        assert!(
            seen[4].contains("startDateTime="),
            "a resync starts a new round: {seen:?}"
        );
    }

    #[tokio::test]
    async fn a_removal_read_before_another_calendar_failed_is_reported_by_the_next_good_poll() {
        let mut r = rig_with(Some(vec!["primary".into(), "Sales".into()])).await;
        let b = &r.base;
        let page = |link: &str, value: String| {
            ok(format!(
                r#"{{"@odata.deltaLink":"{b}/v1.0/{link}","value":[{value}]}}"#
            ))
        };
        r.answers([
            page("p?$deltatoken=1", ev("a")),
            page("s?$deltatoken=1", ev("b")),
            // The default calendar's delta names `a` removed, then Sales fails: the poll fails.
            page(
                "p?$deltatoken=2",
                r#"{"id":"a","@removed":{"reason":"deleted"}}"#.into(),
            ),
            (
                503,
                "Retry-After: 1\r\n".into(),
                r#"{"error":{"code":"serviceNotAvailable"}}"#.into(),
            ),
            page("p?$deltatoken=3", String::new()),
            page("s?$deltatoken=2", String::new()),
        ]);
        assert_eq!(r.src.poll(window()).await.unwrap().meetings.len(), 2);
        assert!(r.src.poll(window()).await.is_err());
        let f = r.src.poll(window()).await.unwrap();
        assert_eq!(
            f.removed.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
            ["m365/u-a/single"],
            "the removal the failed poll read is not lost"
        );
        assert_eq!(f.meetings.len(), 1);
    }

    #[tokio::test]
    async fn throttling_is_rate_limited_with_retry_after() {
        let mut r = rig().await;
        r.answers([(
            429,
            "Retry-After: 7\r\n".into(),
            r#"{"error":{"code":"TooManyRequests"}}"#.into(),
        )]);
        match r.src.poll(window()).await.unwrap_err() {
            SourceError::RateLimited { retry_after, .. } => {
                assert_eq!(retry_after, Some(Duration::from_secs(7)))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn configured_calendars_become_distinct_safe_file_names() {
        let name = |c| state_file::file_name("microsoft", c);
        assert_ne!(name("Sales/EU"), name("Sales_EU"));
        assert!(!name("../x").contains('/'));
    }
}
