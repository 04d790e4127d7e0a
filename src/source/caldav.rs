//! CalDAV source: discovery, incremental sync and per-object parsing against a CalDAV server.
//!
//! The wire format lives in [`super::webdav`] (pure); this file does the HTTP and keeps state.
//!
//! # What a poll does
//! 1. First poll: resolve the password once, then discover. From a calendar URL, one PROPFIND
//!    Depth 0 shows `resourcetype` calendar. Otherwise: the URL's own `calendar-home-set` or
//!    `current-user-principal`, else `/.well-known/caldav`; then the principal's
//!    `calendar-home-set`; then a PROPFIND Depth 1 on the home lists the calendars that hold
//!    VEVENTs (a calendar without `supported-calendar-component-set` counts).
//! 2. Per calendar, a *full query* when there is no state or the window left the range queried
//!    last time: PROPFIND Depth 0 for the sync token and ctag (taken *before* the query, so a change
//!    in between shows up in the next sync), then a calendar-query REPORT with a time-range of
//!    `[window.start, window.end + 1 day)`. Objects the query does not return are dropped, which
//!    keeps the stored set bounded. With objects already stored, the query asks for ETags only
//!    and a calendar-multiget fetches the new and changed ones.
//! 3. Otherwise an *incremental* poll: a sync-collection REPORT (RFC 6578) with the stored token,
//!    asking for `getetag` and `calendar-data`; members reported 404 are removed. A poll with no
//!    change is one request with a body of a few hundred bytes. A rejected token (403, 412, or a
//!    `DAV:valid-sync-token` body) means a full query, silently. Servers without sync-collection
//!    get a PROPFIND Depth 0 of `getctag`; only when it changed, a Depth 1 `getetag` listing and a
//!    multiget of what differs.
//!
//! # Window policy
//! sync-collection reports every changed object whatever its dates, so the source keeps every
//! object it has seen (raw iCalendar text) and re-expands each poll; the expansion of each object
//! is cached for a day-aligned window, so re-parsing happens once a day or when an object changes.
//! The full query runs again when the window end passes the range queried (about once a day), which
//! both picks up far-future events the window reaches and drops objects the window left.
//!
//! # State
//! Per calendar: sync token, ctag, queried range, and href → (etag, iCalendar text), written as
//! JSON to `<state_dir>/caldav-state.json` after a poll that changed something, so a restart stays
//! incremental (discovery runs again: three or four small PROPFINDs).
//!
//! # Safety
//! Basic auth is sent only to the configured origin: redirects are followed by hand (the shared
//! client must not follow them) for at most 5 hops and only within the same scheme, host and
//! port. Bodies are capped at 64 MiB. Every request has the configured timeout and a `tracing`
//! span with method, path, status and bytes; no credentials are logged.
//!
//! # Server quirks
//! | server | quirk | what we do |
//! | --- | --- | --- |
//! | Radicale 3.9 | an unknown or expired sync token gets `403` with `DAV:valid-sync-token` (others use 412) | both mean "full query" |
//! | Radicale 3.9 | `/.well-known/caldav` answers `301 Location: /` (relative), and `/` names the principal | relative redirects resolve against the request URL |
//! | Radicale 3.9 | refuses `hosts = 127.0.0.1:0` | the test harness picks a free port and retries |
//! | any (XML) | CRLF in `calendar-data` arrives as LF (XML end-of-line handling) | the iCalendar parser takes both |

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use tracing::Instrument;
use url::Url;

use super::webdav::{self, Multistatus, Props};
use super::{CalendarSource, Fetched, PollFuture, SourceContext, SourceError, Window, ical};
use crate::config::{CaldavConfig, CalendarConfig, CalendarKind};
use crate::http;
use crate::model::Meeting;
use crate::secret::Secret;

/// Larger answers are refused: a 5,000-event calendar is about 5 MiB.
pub const MAX_BODY: usize = 64 * 1024 * 1024;
const MAX_REDIRECTS: usize = 5;
const STATE_FILE: &str = "caldav-state.json";
const STATE_VERSION: u32 = 1;

/// Requests and bytes this source has exchanged, for tests and `nextstep check`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestStats {
    pub requests: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
}

/// One discovered calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundCalendar {
    pub url: Url,
    pub display_name: Option<String>,
}

impl FoundCalendar {
    /// The percent-decoded path, as users write it in `calendars = [...]`.
    pub fn path(&self) -> String {
        percent_decode(self.url.path())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SyncSupport {
    Unknown,
    Yes,
    No,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StoredObject {
    /// As the server wrote it, for multiget.
    href: String,
    etag: Option<String>,
    data: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CalState {
    sync_token: Option<String>,
    ctag: Option<String>,
    /// The time range of the last full query.
    queried: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Keyed by percent-decoded path.
    objects: BTreeMap<String, StoredObject>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StateFile {
    version: u32,
    /// Keyed by calendar URL.
    calendars: BTreeMap<String, CalState>,
}

/// One object's expansion for a parse window.
struct Expanded {
    etag: Option<String>,
    window: Window,
    meetings: Vec<Meeting>,
    warnings: Vec<String>,
}

struct Calendar {
    found: FoundCalendar,
    sync: SyncSupport,
    /// Consecutive rejected sync tokens; a second one in a row turns sync-collection off.
    rejected_tokens: u32,
    state: CalState,
    /// `state` differs from what is on disk.
    dirty: bool,
    expanded: HashMap<String, Expanded>,
}

/// A CalDAV account (or one calendar of it), configured by `kind = "caldav"`.
pub struct CaldavSource {
    name: String,
    cfg: CaldavConfig,
    timeout: Duration,
    http: reqwest::Client,
    state_dir: PathBuf,
    password: Option<Secret>,
    /// `None` until discovery succeeded (and again after a calendar vanished).
    calendars: Option<Vec<Calendar>>,
    last_parse_window: Option<Window>,
    counters: Counters,
}

/// What a request brought back (any status but 401/429/redirects).
struct Reply {
    status: u16,
    body: Vec<u8>,
    /// After redirects.
    url: Url,
}

enum SyncOutcome {
    Changed(bool),
    TokenRejected,
    Unsupported,
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// The day-aligned window each object is expanded for, so expansions are reused all day.
fn parse_window(w: Window) -> Window {
    let floor = |t: DateTime<Utc>| {
        t.date_naive()
            .and_hms_opt(0, 0, 0)
            .map(|d| d.and_utc())
            .unwrap_or(t)
    };
    Window {
        start: floor(w.start),
        end: floor(w.end) + TimeDelta::days(2),
    }
}

fn key_of(base: &Url, href: &str) -> Option<String> {
    base.join(href).ok().map(|u| percent_decode(u.path()))
}

impl CaldavSource {
    /// Builds the source; no I/O happens until the first poll.
    pub fn new(ctx: SourceContext, cfg: &CalendarConfig) -> Result<Self, SourceError> {
        let setup = |detail: String| SourceError::Setup {
            source_name: ctx.name.clone(),
            detail,
        };
        let CalendarKind::Caldav(c) = &cfg.kind else {
            return Err(setup(format!(
                "calendar `{}` is of kind {}, not caldav",
                cfg.name,
                cfg.kind.as_str()
            )));
        };
        match c.url.scheme() {
            "https" => {}
            // The config checks this too; checked again because a password is at stake.
            "http" if http::is_loopback(&c.url) || c.allow_insecure => {}
            "http" => {
                return Err(setup(format!(
                    "plain http to {} would send the password unencrypted; use https:// or set allow_insecure = true",
                    redact(&c.url)
                )));
            }
            other => {
                return Err(setup(format!(
                    "url scheme `{other}` is not supported; use https://"
                )));
            }
        }
        let http = ctx.require_http()?;
        Ok(CaldavSource {
            name: ctx.name,
            cfg: c.clone(),
            timeout: cfg.timeout,
            http,
            state_dir: ctx.state_dir,
            password: None,
            calendars: None,
            last_parse_window: None,
            counters: Counters::default(),
        })
    }

    /// Requests and bytes so far.
    pub fn stats(&self) -> RequestStats {
        RequestStats {
            requests: self.counters.requests.load(Ordering::Relaxed),
            bytes_sent: self.counters.bytes_sent.load(Ordering::Relaxed),
            bytes_received: self.counters.bytes_received.load(Ordering::Relaxed),
        }
    }

    /// The calendars found by discovery (empty before the first successful poll).
    pub fn calendars(&self) -> Vec<FoundCalendar> {
        self.calendars
            .iter()
            .flatten()
            .map(|c| c.found.clone())
            .collect()
    }

    fn network(&self, url: &Url, detail: String) -> SourceError {
        SourceError::Network {
            source_name: self.name.clone(),
            url: redact(url),
            detail,
        }
    }

    fn data_error(&self, url: &Url, detail: String) -> SourceError {
        SourceError::Data {
            source_name: self.name.clone(),
            location: redact(url),
            detail,
        }
    }

    fn status_error(&self, url: &Url, status: u16) -> SourceError {
        SourceError::HttpStatus {
            source_name: self.name.clone(),
            url: redact(url),
            status,
        }
    }

    fn setup(&self, detail: String) -> SourceError {
        SourceError::Setup {
            source_name: self.name.clone(),
            detail,
        }
    }

    /// One WebDAV request, following same-origin redirects. 401 and 429 become their
    /// `SourceError` variants; every other status is the caller's to judge.
    async fn request(
        &self,
        method: &'static str,
        url: &Url,
        depth: Option<&'static str>,
        body: String,
    ) -> Result<Reply, SourceError> {
        let mut url = url.clone();
        for _hop in 0..=MAX_REDIRECTS {
            let span = tracing::debug_span!(
                "caldav_request",
                source = %self.name,
                method,
                path = %url.path(),
                status = tracing::field::Empty,
                bytes = tracing::field::Empty,
            );
            let reply = self
                .send_once(method, &url, depth, &body)
                .instrument(span.clone())
                .await?;
            span.record("status", reply.status);
            span.record("bytes", reply.body.len());
            tracing::debug!(parent: &span, "caldav response");
            match reply.status {
                301 | 302 | 303 | 307 | 308 => {
                    let Some(location) = reply.location else {
                        return Err(self.status_error(&url, reply.status));
                    };
                    let next = url
                        .join(&location)
                        .map_err(|e| self.data_error(&url, format!("bad redirect target: {e}")))?;
                    if !same_origin(&url, &next) {
                        return Err(self.setup(format!(
                            "{} redirects to another server ({}); credentials are not sent there: put that URL in the config if you trust it",
                            redact(&url),
                            redact(&next)
                        )));
                    }
                    url = next;
                }
                401 => {
                    return Err(SourceError::Unauthorized {
                        source_name: self.name.clone(),
                        fix: format!(
                            "check the username and the password (password_command or password_env) of calendar `{}`",
                            self.name
                        ),
                    });
                }
                429 => {
                    return Err(SourceError::RateLimited {
                        source_name: self.name.clone(),
                        retry_after: reply.retry_after,
                    });
                }
                status => {
                    return Ok(Reply {
                        status,
                        body: reply.body,
                        url,
                    });
                }
            }
        }
        Err(self.data_error(&url, format!("more than {MAX_REDIRECTS} redirects")))
    }

    async fn send_once(
        &self,
        method: &'static str,
        url: &Url,
        depth: Option<&'static str>,
        body: &str,
    ) -> Result<RawReply, SourceError> {
        let m = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|e| self.setup(format!("bad HTTP method {method}: {e}")))?;
        let mut req = self
            .http
            .request(m, url.clone())
            .timeout(self.timeout)
            .header("Content-Type", "application/xml; charset=utf-8")
            .body(body.to_string());
        if let Some(d) = depth {
            req = req.header("Depth", d);
        }
        if let Some(user) = &self.cfg.username {
            req = req.basic_auth(user, self.password.as_ref().map(|p| p.expose()));
        }
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        self.counters
            .bytes_sent
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        let mut resp = req
            .send()
            .await
            .map_err(|e| self.network(url, http::describe(e)))?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let location = header("location");
        // The header is relative to the server's clock; reading the system clock here only turns
        // a date into a wait, it schedules nothing.
        let retry_after = http::retry_after(resp.headers(), chrono::Utc::now());
        if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Err(self.data_error(url, format!("answer larger than {MAX_BODY} bytes")));
        }
        let mut buf = Vec::new();
        loop {
            let chunk = resp
                .chunk()
                .await
                .map_err(|e| self.network(url, http::describe(e)))?;
            let Some(chunk) = chunk else { break };
            self.counters
                .bytes_received
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            if buf.len() + chunk.len() > MAX_BODY {
                return Err(self.data_error(url, format!("answer larger than {MAX_BODY} bytes")));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(RawReply {
            status,
            body: buf,
            location,
            retry_after,
        })
    }

    /// A request that must answer 207 with a multistatus.
    async fn multistatus(
        &self,
        method: &'static str,
        url: &Url,
        depth: &'static str,
        body: String,
    ) -> Result<(Multistatus, Url), SourceError> {
        let reply = self.request(method, url, Some(depth), body).await?;
        if reply.status != 207 {
            return Err(self.status_error(&reply.url, reply.status));
        }
        let ms = webdav::parse_multistatus(&reply.body)
            .map_err(|e| self.data_error(&reply.url, e.to_string()))?;
        Ok((ms, reply.url))
    }

    /// PROPFIND Depth 0 with the discovery properties; `None` when the URL is not WebDAV there.
    async fn props_of(&self, url: &Url) -> Result<Option<(Props, Url)>, SourceError> {
        let reply = self
            .request("PROPFIND", url, Some("0"), webdav::propfind_discovery())
            .await?;
        if reply.status != 207 {
            tracing::debug!(status = reply.status, path = %reply.url.path(), "no WebDAV properties here");
            return Ok(None);
        }
        let ms = webdav::parse_multistatus(&reply.body)
            .map_err(|e| self.data_error(&reply.url, e.to_string()))?;
        let target = percent_decode(reply.url.path());
        // The response for the URL itself; servers may spell the href differently (slash, case).
        let own = ms
            .responses
            .iter()
            .find(|r| {
                key_of(&reply.url, &r.href)
                    .is_some_and(|k| k.trim_end_matches('/') == target.trim_end_matches('/'))
            })
            .or(ms.responses.first());
        Ok(own.map(|r| (r.props.clone(), reply.url.clone())))
    }

    async fn find_home(&self) -> Result<Result<Vec<FoundCalendar>, Url>, SourceError> {
        let start = self.cfg.url.clone();
        let mut principal: Option<Url> = None;
        if let Some((props, at)) = self.props_of(&start).await? {
            if props.is_calendar() {
                if !props.holds_events() {
                    return Err(self.setup(format!(
                        "{} is a calendar without events (it holds {})",
                        redact(&at),
                        props.supported_components.unwrap_or_default().join(", ")
                    )));
                }
                return Ok(Ok(vec![FoundCalendar {
                    url: at,
                    display_name: props.displayname.filter(|d| !d.is_empty()),
                }]));
            }
            if let Some(home) = props.calendar_home_set.and_then(|h| h.into_iter().next()) {
                return Ok(Err(self.join(&at, &home)?));
            }
            if let Some(p) = props.current_user_principal {
                principal = Some(self.join(&at, &p)?);
            }
        }
        if principal.is_none() {
            let wk = self.join(&start, "/.well-known/caldav")?;
            if let Some((props, at)) = self.props_of(&wk).await? {
                if let Some(home) = props.calendar_home_set.and_then(|h| h.into_iter().next()) {
                    return Ok(Err(self.join(&at, &home)?));
                }
                if let Some(p) = props.current_user_principal {
                    principal = Some(self.join(&at, &p)?);
                }
            }
        }
        let Some(principal) = principal else {
            return Err(self.setup(format!(
                "found no CalDAV account at {} (no calendar, no current-user-principal, no /.well-known/caldav); give the URL of a calendar or of your principal",
                redact(&start)
            )));
        };
        match self.props_of(&principal).await? {
            Some((props, at)) => match props.calendar_home_set.and_then(|h| h.into_iter().next()) {
                Some(home) => Ok(Err(self.join(&at, &home)?)),
                None => Err(self.setup(format!(
                    "the principal {} names no calendar-home-set; give the URL of a calendar instead",
                    redact(&at)
                ))),
            },
            None => Err(self.setup(format!(
                "the principal {} has no WebDAV properties; give the URL of a calendar instead",
                redact(&principal)
            ))),
        }
    }

    fn join(&self, base: &Url, href: &str) -> Result<Url, SourceError> {
        base.join(href)
            .map_err(|e| self.data_error(base, format!("bad href `{href}`: {e}")))
    }

    /// Finds the calendars and applies `calendars = [...]`.
    async fn discover(&self) -> Result<Vec<(FoundCalendar, SyncSupport)>, SourceError> {
        let all: Vec<(FoundCalendar, SyncSupport)> = match self.find_home().await? {
            Ok(single) => single
                .into_iter()
                .map(|c| (c, SyncSupport::Unknown))
                .collect(),
            Err(home) => {
                let (ms, at) = self
                    .multistatus("PROPFIND", &home, "1", webdav::propfind_discovery())
                    .await?;
                let mut out = Vec::new();
                for r in ms.responses {
                    if !(r.props.is_calendar() && r.props.holds_events()) {
                        continue;
                    }
                    let url = self.join(&at, &r.href)?;
                    let sync = match (r.props.supports_sync_collection(), &r.props.sync_token) {
                        (Some(false), _) => SyncSupport::No,
                        (Some(true), _) => SyncSupport::Yes,
                        (None, Some(_)) => SyncSupport::Unknown,
                        (None, None) => SyncSupport::No,
                    };
                    out.push((
                        FoundCalendar {
                            url,
                            display_name: r.props.displayname.filter(|d| !d.is_empty()),
                        },
                        sync,
                    ));
                }
                out
            }
        };
        select_calendars(&self.name, all, &self.cfg.calendars)
    }

    fn state_path(&self) -> PathBuf {
        self.state_dir.join(STATE_FILE)
    }

    fn load_state(&self) -> StateFile {
        let path = self.state_path();
        match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<StateFile>(&bytes) {
                Ok(s) if s.version == STATE_VERSION => s,
                Ok(_) | Err(_) => {
                    tracing::warn!(source = %self.name, path = %path.display(), "sync state unreadable; starting a full sync");
                    StateFile::default()
                }
            },
            Err(_) => StateFile::default(),
        }
    }

    fn save_state(&self) -> Result<(), SourceError> {
        let Some(cals) = &self.calendars else {
            return Ok(());
        };
        let mut file = self.load_state();
        file.version = STATE_VERSION;
        for c in cals {
            file.calendars
                .insert(c.found.url.to_string(), c.state.clone());
        }
        let io = |e: std::io::Error| SourceError::Io {
            source_name: self.name.clone(),
            path: self.state_path(),
            detail: e.to_string(),
        };
        let json = serde_json::to_vec(&file).map_err(|e| io(std::io::Error::other(e)))?;
        // Titles and addresses are personal data: 0600, written atomically.
        crate::fsutil::write_atomic_private(&self.state_path(), &json).map_err(io)
    }

    async fn poll_inner(&mut self, window: Window) -> Result<Fetched, SourceError> {
        if self.password.is_none()
            && self.cfg.username.is_some()
            && let Some(src) = &self.cfg.password
        {
            let secret = src.resolve().await.map_err(|e| {
                self.setup(format!(
                    "cannot read the password for calendar `{}`: {e}",
                    self.name
                ))
            })?;
            self.password = Some(secret);
        }
        if self.calendars.is_none() {
            let found = self.discover().await?;
            let mut stored = self.load_state();
            let cals: Vec<Calendar> = found
                .into_iter()
                .map(|(found, sync)| Calendar {
                    state: stored
                        .calendars
                        .remove(found.url.as_str())
                        .unwrap_or_default(),
                    found,
                    sync,
                    rejected_tokens: 0,
                    dirty: false,
                    expanded: HashMap::new(),
                })
                .collect();
            tracing::info!(source = %self.name, calendars = %describe_list(&cals), "caldav calendars discovered");
            self.calendars = Some(cals);
        }
        let mut cals = self.calendars.take().unwrap_or_default();
        let mut changed = false;
        let mut result = Ok(());
        for cal in cals.iter_mut() {
            match self.sync_calendar(cal, window).await {
                Ok(c) => changed |= c,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let vanished = matches!(result, Err(SourceError::HttpStatus { status: 404, .. }));
        let dirty = cals.iter().any(|c| c.dirty);
        self.calendars = Some(cals);
        if dirty {
            self.save_state()?;
            for c in self.calendars.iter_mut().flatten() {
                c.dirty = false;
            }
        }
        if let Err(e) = result {
            if vanished {
                // A calendar was deleted or renamed: discover again next time.
                self.calendars = None;
            }
            return Err(e);
        }
        let pw = parse_window(window);
        // A new day brings occurrences of unchanged series into the window.
        changed |= self.last_parse_window != Some(pw);
        self.last_parse_window = Some(pw);
        let mut fetched = Fetched {
            changed,
            ..Fetched::default()
        };
        let mut seen = HashSet::new();
        for cal in self.calendars.iter_mut().flatten() {
            expand(&self.name, cal, pw);
            for ex in cal.expanded.values() {
                fetched.warnings.extend(ex.warnings.iter().cloned());
                for m in &ex.meetings {
                    // The same event may sit in two calendars of one account (a shared one).
                    if window.overlaps(m.start, m.end) && seen.insert(m.id.clone()) {
                        fetched.meetings.push(m.clone());
                    }
                }
            }
        }
        fetched
            .meetings
            .sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.id.cmp(&b.id)));
        fetched.warnings.sort();
        Ok(fetched)
    }

    /// Brings one calendar up to date; `true` when its objects changed.
    async fn sync_calendar(&self, cal: &mut Calendar, window: Window) -> Result<bool, SourceError> {
        let needs_full = match cal.state.queried {
            None => true,
            Some((s, e)) => window.start < s || window.end > e,
        };
        if needs_full {
            return self.full_query(cal, window).await;
        }
        if cal.sync != SyncSupport::No && cal.state.sync_token.is_some() {
            match self.sync_collection(cal).await? {
                SyncOutcome::Changed(c) => {
                    cal.rejected_tokens = 0;
                    if cal.sync == SyncSupport::Unknown {
                        cal.sync = SyncSupport::Yes;
                    }
                    return Ok(c);
                }
                SyncOutcome::TokenRejected => {
                    cal.rejected_tokens += 1;
                    if cal.rejected_tokens >= 2 {
                        tracing::debug!(calendar = %cal.found.url.path(), "fresh sync tokens rejected too; using ctag checks");
                        cal.sync = SyncSupport::No;
                    } else {
                        tracing::debug!(calendar = %cal.found.url.path(), "sync token rejected; full resync");
                    }
                    cal.state.sync_token = None;
                    return self.full_query(cal, window).await;
                }
                SyncOutcome::Unsupported => {
                    tracing::debug!(calendar = %cal.found.url.path(), "sync-collection unsupported; using ctag checks");
                    cal.sync = SyncSupport::No;
                }
            }
        }
        self.ctag_check(cal).await
    }

    async fn change_marks(&self, cal: &Calendar) -> Result<Props, SourceError> {
        let (ms, at) = self
            .multistatus(
                "PROPFIND",
                &cal.found.url,
                "0",
                webdav::propfind_change_marks(),
            )
            .await?;
        let target = percent_decode(at.path());
        Ok(ms
            .responses
            .iter()
            .find(|r| {
                key_of(&at, &r.href)
                    .is_some_and(|k| k.trim_end_matches('/') == target.trim_end_matches('/'))
            })
            .or(ms.responses.first())
            .map(|r| r.props.clone())
            .unwrap_or_default())
    }

    async fn full_query(&self, cal: &mut Calendar, window: Window) -> Result<bool, SourceError> {
        let marks = self.change_marks(cal).await?;
        let range = (window.start, window.end + TimeDelta::days(1));
        let with_data = cal.state.objects.is_empty();
        let (ms, at) = self
            .multistatus(
                "REPORT",
                &cal.found.url,
                "1",
                webdav::calendar_query(range.0, range.1, with_data),
            )
            .await?;
        let cal_key = percent_decode(cal.found.url.path());
        let mut fresh: BTreeMap<String, StoredObject> = BTreeMap::new();
        let mut to_fetch: Vec<String> = Vec::new();
        let mut changed = false;
        for r in ms.responses {
            let Some(key) = key_of(&at, &r.href) else {
                continue;
            };
            if key.trim_end_matches('/') == cal_key.trim_end_matches('/')
                || r.status.is_some_and(|s| s == 404)
            {
                continue;
            }
            let etag = r.props.getetag.clone();
            match (r.props.calendar_data, cal.state.objects.remove(&key)) {
                (Some(data), old) => {
                    changed |= old.is_none_or(|o| o.etag != etag || o.data != data);
                    fresh.insert(
                        key,
                        StoredObject {
                            href: r.href,
                            etag,
                            data,
                        },
                    );
                }
                (None, Some(old)) if old.etag.is_some() && old.etag == etag => {
                    fresh.insert(key, old);
                }
                (None, _) => to_fetch.push(r.href),
            }
        }
        // What the query did not return no longer overlaps the window (or is gone).
        changed |= !cal.state.objects.is_empty();
        if !to_fetch.is_empty() {
            changed = true;
            let got = self.multiget(cal, &to_fetch).await?;
            for (key, obj) in got {
                fresh.insert(key, obj);
            }
        }
        cal.state.objects = fresh;
        cal.state.queried = Some(range);
        cal.state.ctag = marks.getctag;
        cal.state.sync_token = marks.sync_token;
        if cal.state.sync_token.is_none() && cal.sync == SyncSupport::Unknown {
            cal.sync = SyncSupport::No;
        }
        // Even an unchanged set is worth saving: the queried range and the token moved.
        cal.dirty = true;
        Ok(changed)
    }

    async fn multiget(
        &self,
        cal: &Calendar,
        hrefs: &[String],
    ) -> Result<Vec<(String, StoredObject)>, SourceError> {
        let (ms, at) = self
            .multistatus(
                "REPORT",
                &cal.found.url,
                "1",
                webdav::calendar_multiget(hrefs.iter().map(String::as_str)),
            )
            .await?;
        Ok(ms
            .responses
            .into_iter()
            .filter_map(|r| {
                let key = key_of(&at, &r.href)?;
                let data = r.props.calendar_data?;
                Some((
                    key,
                    StoredObject {
                        href: r.href,
                        etag: r.props.getetag,
                        data,
                    },
                ))
            })
            .collect())
    }

    async fn sync_collection(&self, cal: &mut Calendar) -> Result<SyncOutcome, SourceError> {
        let token = cal.state.sync_token.clone();
        // RFC 6578 §3.2: the report is defined for Depth 0 only (sync-level says "members").
        let reply = self
            .request(
                "REPORT",
                &cal.found.url,
                Some("0"),
                webdav::sync_collection(token.as_deref(), true),
            )
            .await?;
        match reply.status {
            207 => {}
            403 | 409 | 412 => return Ok(SyncOutcome::TokenRejected),
            400 | 405 | 415 | 422 | 501 if !webdav::is_invalid_sync_token(&reply.body) => {
                return Ok(SyncOutcome::Unsupported);
            }
            _ if webdav::is_invalid_sync_token(&reply.body) => {
                return Ok(SyncOutcome::TokenRejected);
            }
            s => return Err(self.status_error(&reply.url, s)),
        }
        let ms = webdav::parse_multistatus(&reply.body)
            .map_err(|e| self.data_error(&reply.url, e.to_string()))?;
        let Some(new_token) = ms.sync_token.clone() else {
            return Ok(SyncOutcome::Unsupported);
        };
        let cal_key = percent_decode(cal.found.url.path());
        let mut changed = false;
        let mut to_fetch = Vec::new();
        for r in ms.responses {
            let Some(key) = key_of(&reply.url, &r.href) else {
                continue;
            };
            if key.trim_end_matches('/') == cal_key.trim_end_matches('/') {
                continue;
            }
            if r.status == Some(404) {
                changed |= cal.state.objects.remove(&key).is_some();
                continue;
            }
            match r.props.calendar_data {
                Some(data) => {
                    changed = true;
                    cal.state.objects.insert(
                        key,
                        StoredObject {
                            href: r.href,
                            etag: r.props.getetag,
                            data,
                        },
                    );
                }
                // A server that lists the change without the data: fetch it.
                None => to_fetch.push(r.href),
            }
        }
        if !to_fetch.is_empty() {
            let got = self.multiget(cal, &to_fetch).await?;
            changed |= !got.is_empty();
            cal.state.objects.extend(got);
        }
        if changed || token.as_deref() != Some(new_token.as_str()) {
            cal.dirty = true;
        }
        cal.state.sync_token = Some(new_token);
        Ok(SyncOutcome::Changed(changed))
    }

    async fn ctag_check(&self, cal: &mut Calendar) -> Result<bool, SourceError> {
        let marks = self.change_marks(cal).await?;
        if marks.getctag.is_some() && marks.getctag == cal.state.ctag {
            return Ok(false);
        }
        let (ms, at) = self
            .multistatus("PROPFIND", &cal.found.url, "1", webdav::propfind_etags())
            .await?;
        let cal_key = percent_decode(cal.found.url.path());
        let mut listed = HashSet::new();
        let mut to_fetch = Vec::new();
        for r in ms.responses {
            let Some(key) = key_of(&at, &r.href) else {
                continue;
            };
            if key.trim_end_matches('/') == cal_key.trim_end_matches('/') {
                continue;
            }
            let same = cal
                .state
                .objects
                .get(&key)
                .is_some_and(|o| o.etag.is_some() && o.etag == r.props.getetag);
            if !same {
                to_fetch.push(r.href);
            }
            listed.insert(key);
        }
        let before = cal.state.objects.len();
        cal.state.objects.retain(|k, _| listed.contains(k));
        let mut changed = before != cal.state.objects.len();
        if !to_fetch.is_empty() {
            let got = self.multiget(cal, &to_fetch).await?;
            changed |= !got.is_empty();
            cal.state.objects.extend(got);
        }
        cal.dirty |= changed || cal.state.ctag != marks.getctag;
        cal.state.ctag = marks.getctag;
        Ok(changed)
    }
}

struct RawReply {
    status: u16,
    body: Vec<u8>,
    location: Option<String>,
    retry_after: Option<Duration>,
}

/// (Re-)expands the objects whose data or parse window changed.
fn expand(source: &str, cal: &mut Calendar, pw: Window) {
    cal.expanded
        .retain(|k, _| cal.state.objects.contains_key(k));
    for (key, obj) in &cal.state.objects {
        if cal
            .expanded
            .get(key)
            .is_some_and(|e| e.window == pw && e.etag == obj.etag && obj.etag.is_some())
        {
            continue;
        }
        let ex = match ical::parse_calendar(source, &obj.data, pw) {
            Ok(parsed) => Expanded {
                etag: obj.etag.clone(),
                window: pw,
                meetings: parsed.meetings,
                warnings: parsed
                    .warnings
                    .into_iter()
                    .map(|w| format!("{}: {w}", obj.href))
                    .collect(),
            },
            Err(e) => Expanded {
                etag: obj.etag.clone(),
                window: pw,
                meetings: Vec::new(),
                warnings: vec![format!("skipped {}: {e}", obj.href)],
            },
        };
        cal.expanded.insert(key.clone(), ex);
    }
}

fn describe_list(cals: &[Calendar]) -> String {
    let found: Vec<FoundCalendar> = cals.iter().map(|c| c.found.clone()).collect();
    describe_found(&found)
}

fn describe_found(cals: &[FoundCalendar]) -> String {
    cals.iter()
        .map(|c| match &c.display_name {
            Some(n) => format!("\"{n}\" ({})", c.path()),
            None => c.path(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Applies `calendars = [...]`: each entry matches a display name (exactly, else ignoring case),
/// a path (with or without the trailing slash) or the last path segment. Empty keeps all.
fn select_calendars<T>(
    source: &str,
    all: Vec<(FoundCalendar, T)>,
    wanted: &[String],
) -> Result<Vec<(FoundCalendar, T)>, SourceError> {
    let available = || describe_found(&all.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>());
    if all.is_empty() {
        return Err(SourceError::Setup {
            source_name: source.to_string(),
            detail: "the account has no calendar that holds events".to_string(),
        });
    }
    if wanted.is_empty() {
        return Ok(all);
    }
    let matches = |c: &FoundCalendar, w: &str| {
        let path = c.path();
        let path = path.trim_end_matches('/');
        let w_path = w.trim_end_matches('/');
        c.display_name.as_deref() == Some(w)
            || c.display_name
                .as_deref()
                .is_some_and(|n| n.to_lowercase() == w.to_lowercase())
            || path == w_path
            || path.rsplit('/').next() == Some(w_path)
    };
    for w in wanted {
        if !all.iter().any(|(c, _)| matches(c, w)) {
            return Err(SourceError::Setup {
                source_name: source.to_string(),
                detail: format!(
                    "no calendar matches `{w}` in `calendars`; available: {}",
                    available()
                ),
            });
        }
    }
    Ok(all
        .into_iter()
        .filter(|(c, _)| wanted.iter().any(|w| matches(c, w)))
        .collect())
}

impl CalendarSource for CaldavSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll(&mut self, window: Window) -> PollFuture<'_> {
        Box::pin(self.poll_inner(window))
    }

    fn describe(&self) -> String {
        match &self.calendars {
            None => String::new(),
            Some(c) => format!(
                "{} calendar{}: {}",
                c.len(),
                if c.len() == 1 { "" } else { "s" },
                describe_list(c)
            ),
        }
    }
}

/// What of a CalDAV URL may appear in logs and errors: the whole path (credentials travel in a
/// header, and the path is what a user needs to fix `url`), never user info or a query.
fn redact(url: &Url) -> String {
    http::redact(url, http::PathShown::Whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(path: &str, name: Option<&str>) -> (FoundCalendar, ()) {
        (
            FoundCalendar {
                url: Url::parse(&format!("https://dav.example.com{path}")).unwrap(),
                display_name: name.map(str::to_string),
            },
            (),
        )
    }

    #[test]
    fn calendars_are_picked_by_display_name_or_path() {
        let all = || {
            vec![
                found("/alice/work%20cal/", Some("Work & Sales")),
                found("/alice/home/", Some("Home")),
                found("/alice/bare/", None),
            ]
        };
        let pick = |w: &[&str]| {
            select_calendars(
                "s",
                all(),
                &w.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
            .unwrap()
            .into_iter()
            .map(|(c, _)| c.path())
            .collect::<Vec<_>>()
        };
        assert_eq!(pick(&["work & sales"]), ["/alice/work cal/"]);
        assert_eq!(pick(&["/alice/home"]), ["/alice/home/"]);
        assert_eq!(pick(&["bare", "Home"]), ["/alice/home/", "/alice/bare/"]);
        assert_eq!(pick(&[]).len(), 3);
    }

    #[test]
    fn a_calendar_name_that_matches_nothing_names_the_available_ones() {
        let err = select_calendars(
            "s",
            vec![found("/alice/work%20cal/", Some("Work & Sales"))],
            &["Private".to_string()],
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "s: no calendar matches `Private` in `calendars`; available: \"Work & Sales\" (/alice/work cal/)"
        );
    }

    #[test]
    fn redirects_count_as_same_origin_only_with_scheme_host_and_port_equal() {
        let a = Url::parse("https://dav.example.com/x").unwrap();
        assert!(same_origin(
            &a,
            &Url::parse("https://dav.example.com:443/y").unwrap()
        ));
        assert!(!same_origin(
            &a,
            &Url::parse("http://dav.example.com/y").unwrap()
        ));
        assert!(!same_origin(
            &a,
            &Url::parse("https://dav.example.com:8443/").unwrap()
        ));
        assert!(!same_origin(
            &a,
            &Url::parse("https://evil.example.com/").unwrap()
        ));
    }

    #[test]
    fn urls_in_messages_carry_no_credentials_or_query() {
        let u = Url::parse("https://alex:hunter2@dav.example.com/cal/?token=abc#x").unwrap();
        assert_eq!(redact(&u), "https://dav.example.com/cal/");
    }

    #[test]
    fn hrefs_are_compared_decoded_and_resolved() {
        let base = Url::parse("https://dav.example.com/alice/work%20cal/").unwrap();
        assert_eq!(
            key_of(&base, "e%401.ics").unwrap(),
            "/alice/work cal/e@1.ics"
        );
        assert_eq!(
            key_of(&base, "https://dav.example.com/alice/work%20cal/e@1.ics").unwrap(),
            "/alice/work cal/e@1.ics"
        );
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%C3%A9%"), "é%");
    }

    #[test]
    fn the_parse_window_is_day_aligned_and_covers_the_window() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let w = Window {
            start: t("2026-03-01T13:45:00Z"),
            end: t("2026-03-15T13:45:00Z"),
        };
        let p = parse_window(w);
        assert_eq!(p.start, t("2026-03-01T00:00:00Z"));
        assert_eq!(p.end, t("2026-03-17T00:00:00Z"));
        let later = Window {
            start: t("2026-03-01T20:00:00Z"),
            end: t("2026-03-15T20:00:00Z"),
        };
        assert_eq!(parse_window(later), p, "the same day reuses expansions");
    }
}
