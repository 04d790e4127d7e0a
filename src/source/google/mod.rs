//! Google Calendar source: `events.list` with a full sync of the window, then incremental syncs
//! with the stored `syncToken`.
//!
//! What Google documents and this file relies on
//! (<https://developers.google.com/calendar/api/guides/sync>, `…/v3/reference/events/list`,
//! `…/guides/errors>):
//! - `syncToken` cannot be combined with `timeMin`/`timeMax` (400); the full sync carries them, the
//!   incremental syncs never do.
//! - `nextSyncToken` comes on the last page only; every page is followed via `nextPageToken`.
//! - 410 Gone (`fullSyncRequired`): the token expired; drop it and sync fully again.
//! - 401: the access token expired; refresh once and retry.
//! - 403 `rateLimitExceeded`/`userRateLimitExceeded`, 429 and 5xx: back off (`Retry-After`).
//! - Deleted events and instances come back in incremental results as `status: cancelled`, often
//!   with nothing but their id.
//!
//! The meetings of each calendar (keyed by Google event id) and its sync token are kept under the
//! source's state directory, so a restart stays incremental. A full sync covers the window plus a
//! week, and is repeated when the window moves past that horizon.
//!
//! Beside this file: `json` turns Google's JSON into meetings (pure), `auth` is Google's sign-in on
//! top of the shared [`crate::auth`].

pub mod auth;
pub mod json;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{CalendarSource, Fetched, PollFuture, SourceContext, SourceError, Window, state_file};
use crate::auth::TokenStoreChoice;
use crate::config::{CalendarConfig, CalendarKind};
use crate::model::Meeting;
pub use auth::GoogleAuth;
use json::{EventsPage, Projection};

/// Google's maximum page size.
pub const DEFAULT_PAGE_SIZE: u32 = 2500;

/// How far past the window a full sync reaches, so that the window can slide for a while before
/// another full sync is needed.
const HORIZON_SLACK: chrono::Duration = chrono::Duration::days(7);

/// A guard against a server that hands out page tokens forever.
const MAX_PAGES: usize = 1000;

/// Only these top-level fields are asked for; an unchanged calendar then answers in a few dozen
/// bytes instead of a few hundred.
const FIELDS: &str = "nextPageToken,nextSyncToken,timeZone,items";

/// The per-calendar state kept on disk.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct CalendarState {
    sync_token: Option<String>,
    /// The `timeMin`..`timeMax` of the full sync the token continues.
    horizon_start: Option<DateTime<Utc>>,
    horizon_end: Option<DateTime<Utc>>,
    time_zone: Option<String>,
    /// Meetings by Google event id.
    events: BTreeMap<String, Meeting>,
}

impl CalendarState {
    fn needs_full_sync(&self, window: Window) -> bool {
        match (&self.sync_token, self.horizon_start, self.horizon_end) {
            (Some(_), Some(start), Some(end)) => window.start < start || window.end > end,
            _ => true,
        }
    }
}

struct Calendar {
    id: String,
    state_path: PathBuf,
    state: Option<CalendarState>,
}

/// The HTTP side: one calendar API, one signed-in account.
struct Api {
    name: String,
    http: reqwest::Client,
    api_url: url::Url,
    auth: GoogleAuth,
    timeout: Duration,
    page_size: u32,
}

/// Why one page could not be fetched.
enum PageError {
    /// 410: the sync token is no longer valid.
    Gone,
    Source(SourceError),
}

impl From<SourceError> for PageError {
    fn from(e: SourceError) -> Self {
        PageError::Source(e)
    }
}

/// A Google calendar account (one or more calendar ids) as a [`CalendarSource`].
pub struct GoogleSource {
    api: Api,
    calendars: Vec<Calendar>,
    last: Option<(usize, usize)>,
    /// Meetings a calendar's sync named removed that no successful poll has reported yet: a
    /// calendar's sync token moves on as soon as its changes are read, so when a later calendar
    /// of the same poll fails, its removals are only here (and would be lost with the poll).
    unreported: Vec<crate::model::MeetingId>,
}

impl std::fmt::Debug for GoogleSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleSource")
            .field("name", &self.api.name)
            .finish_non_exhaustive()
    }
}

impl GoogleSource {
    /// Builds the source of `cfg` (kind Google); tokens are read from `data_dir` (see
    /// [`crate::auth`]).
    pub fn new(
        cfg: &CalendarConfig,
        ctx: SourceContext,
        data_dir: &Path,
    ) -> Result<Self, SourceError> {
        let CalendarKind::Google(g) = &cfg.kind else {
            return Err(SourceError::Setup {
                source_name: cfg.name.clone(),
                detail: "not a Google calendar".into(),
            });
        };
        let auth = GoogleAuth::new(
            &cfg.name,
            g,
            ctx.require_http()?,
            data_dir,
            TokenStoreChoice::Auto,
        );
        Self::with_auth(cfg, ctx, auth)
    }

    /// Builds the source with a prepared [`GoogleAuth`] (tests choose the token store and clock).
    pub fn with_auth(
        cfg: &CalendarConfig,
        ctx: SourceContext,
        auth: GoogleAuth,
    ) -> Result<Self, SourceError> {
        let CalendarKind::Google(g) = &cfg.kind else {
            return Err(SourceError::Setup {
                source_name: cfg.name.clone(),
                detail: "not a Google calendar".into(),
            });
        };
        let calendars = g
            .calendars
            .iter()
            .map(|id| Calendar {
                id: id.clone(),
                state_path: ctx.state_dir.join(state_file::file_name("google", id)),
                state: None,
            })
            .collect();
        Ok(GoogleSource {
            api: Api {
                name: cfg.name.clone(),
                http: ctx.require_http()?,
                api_url: g.api_url.clone(),
                auth,
                timeout: cfg.timeout,
                page_size: DEFAULT_PAGE_SIZE,
            },
            calendars,
            last: None,
            unreported: Vec::new(),
        })
    }

    /// Sets `maxResults` (Google allows 1..=2500).
    pub fn with_page_size(mut self, n: u32) -> Self {
        self.api.page_size = n.clamp(1, DEFAULT_PAGE_SIZE);
        self
    }

    async fn poll_all(&mut self, window: Window) -> Result<Fetched, SourceError> {
        let mut warnings = Vec::new();
        let mut changed = false;
        for (i, cal) in self.calendars.iter_mut().enumerate() {
            let state = cal.state.get_or_insert_with(|| {
                state_file::load(&self.api.name, &cal.state_path, "syncing fully")
            });
            let before_token = state.sync_token.clone();
            let c = sync_calendar(
                &mut self.api,
                i,
                &cal.id,
                state,
                window,
                &mut warnings,
                &mut self.unreported,
            )
            .await?;
            changed |= c;
            prune(state, window);
            if c || state.sync_token != before_token {
                state_file::save(&self.api.name, &cal.state_path, state)?;
            }
        }
        let events: Vec<_> = self
            .calendars
            .iter()
            .map(|c| c.state.as_ref().map(|s| &s.events))
            .collect();
        let first_poll = self.last.is_none();
        let (fetched, _) = super::account::fetched(
            &events,
            window,
            warnings,
            changed || first_poll,
            &mut self.unreported,
        );
        self.last = Some((fetched.meetings.len(), self.calendars.len()));
        Ok(fetched)
    }
}

impl CalendarSource for GoogleSource {
    fn name(&self) -> &str {
        &self.api.name
    }

    fn poll(&mut self, window: Window) -> PollFuture<'_> {
        let span = tracing::info_span!("google_poll", source = %self.api.name);
        Box::pin(tracing::Instrument::instrument(self.poll_all(window), span))
    }

    fn describe(&self) -> String {
        match self.last {
            Some((n, k)) => format!(
                "reachable, authorised, {n} meeting{} in the window from {k} calendar{}",
                if n == 1 { "" } else { "s" },
                if k == 1 { "" } else { "s" }
            ),
            None => String::new(),
        }
    }
}

/// Syncs one calendar; returns whether its meeting set changed. Adds to `removed` the meetings an
/// incremental sync named `cancelled` or no longer a meeting for us (not the unreadable ones).
async fn sync_calendar(
    api: &mut Api,
    index: usize,
    cal_id: &str,
    state: &mut CalendarState,
    window: Window,
    warnings: &mut Vec<String>,
    removed: &mut Vec<crate::model::MeetingId>,
) -> Result<bool, SourceError> {
    if !state.needs_full_sync(window) {
        match incremental_sync(api, index, cal_id, state, warnings, removed).await {
            Ok(changed) => return Ok(changed),
            Err(PageError::Gone) => {
                tracing::info!(
                    calendar = index,
                    "sync token expired (410); syncing fully again"
                );
                state.sync_token = None;
            }
            Err(PageError::Source(e)) => return Err(e),
        }
    }
    full_sync(api, index, cal_id, state, window, warnings).await
}

async fn full_sync(
    api: &mut Api,
    index: usize,
    cal_id: &str,
    state: &mut CalendarState,
    window: Window,
    warnings: &mut Vec<String>,
) -> Result<bool, SourceError> {
    let time_min = window.start;
    let time_max = window.end + HORIZON_SLACK;
    tracing::debug!(calendar = index, %time_min, %time_max, "full sync");
    let base = vec![
        ("singleEvents", "true".to_string()),
        ("maxResults", api.page_size.to_string()),
        (
            "timeMin",
            time_min.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        (
            "timeMax",
            time_max.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
    ];
    let (items, token, tz) = match list_all(api, cal_id, base).await {
        Ok(r) => r,
        // A 410 on a request without a sync token is not Google's documented behaviour.
        Err(PageError::Gone) => {
            return Err(SourceError::HttpStatus {
                source_name: api.name.clone(),
                url: events_url(&api.api_url, cal_id).to_string(),
                status: 410,
            });
        }
        Err(PageError::Source(e)) => return Err(e),
    };
    let mut next = CalendarState {
        sync_token: token,
        horizon_start: Some(time_min),
        horizon_end: Some(time_max),
        time_zone: tz.or_else(|| state.time_zone.clone()),
        events: BTreeMap::new(),
    };
    for ev in &items {
        // A full listing starts from nothing, so it cannot name anything gone.
        apply(&api.name, &mut next, ev, warnings);
    }
    if next.sync_token.is_none() {
        warnings.push(format!(
            "calendar {index} gave no nextSyncToken; the next poll syncs fully again"
        ));
    }
    tracing::debug!(
        calendar = index,
        events = next.events.len(),
        "full sync done"
    );
    let changed = next.events != state.events;
    *state = next;
    Ok(changed)
}

async fn incremental_sync(
    api: &mut Api,
    index: usize,
    cal_id: &str,
    state: &mut CalendarState,
    warnings: &mut Vec<String>,
    removed: &mut Vec<crate::model::MeetingId>,
) -> Result<bool, PageError> {
    let Some(token) = state.sync_token.clone() else {
        return Err(PageError::Gone);
    };
    let base = vec![
        ("singleEvents", "true".to_string()),
        ("maxResults", api.page_size.to_string()),
        ("syncToken", token),
    ];
    let (items, next_token, tz) = list_all(api, cal_id, base).await?;
    tracing::debug!(calendar = index, changes = items.len(), "incremental sync");
    if tz.is_some() {
        state.time_zone = tz;
    }
    let before = state.events.clone();
    for ev in &items {
        removed.extend(apply(&api.name, state, ev, warnings));
    }
    match next_token {
        Some(t) => state.sync_token = Some(t),
        None => {
            // Without a new token the next poll must start over; the changes are still applied.
            state.sync_token = None;
        }
    }
    Ok(before != state.events)
}

/// Applies one event (full or incremental) to the calendar's meeting set; returns the meetings
/// Google said are gone (cancelled, or no longer a meeting for us). An unreadable event is
/// dropped too, but is not named: nothing says it is gone.
fn apply(
    source: &str,
    state: &mut CalendarState,
    ev: &json::GoogleEvent,
    warnings: &mut Vec<String>,
) -> Vec<crate::model::MeetingId> {
    let mut gone = Vec::new();
    match json::project(source, ev, state.time_zone.as_deref()) {
        Projection::Meeting(m) => {
            state.events.insert(ev.id.clone(), *m);
        }
        Projection::Cancelled => {
            gone.extend(state.events.remove(&ev.id).map(|m| m.id));
            // A cancelled series takes its instances along (their ids are `source/series/…`).
            let series = format!("{source}/{}", ev.id);
            state.events.retain(|_, m| {
                let keep = m.id.series() != series;
                if !keep {
                    gone.push(m.id.clone());
                }
                keep
            });
        }
        Projection::NotAMeeting(why) => {
            gone.extend(state.events.remove(&ev.id).map(|m| m.id));
            tracing::trace!(%why, "skipped");
        }
        Projection::Invalid(why) => {
            state.events.remove(&ev.id);
            warnings.push(why);
        }
    }
    gone
}

/// Drops meetings that ended more than a day before the window: they can no longer matter.
fn prune(state: &mut CalendarState, window: Window) {
    let cutoff = window.start - chrono::Duration::days(1);
    state.events.retain(|_, m| m.end >= cutoff);
}

/// Follows every page; returns the items, the last page's `nextSyncToken` and the calendar zone.
async fn list_all(
    api: &mut Api,
    cal_id: &str,
    base: Vec<(&'static str, String)>,
) -> Result<(Vec<json::GoogleEvent>, Option<String>, Option<String>), PageError> {
    let mut items = Vec::new();
    let mut page_token: Option<String> = None;
    let mut tz = None;
    for _ in 0..MAX_PAGES {
        let mut q = base.clone();
        q.push(("fields", FIELDS.to_string()));
        if let Some(p) = &page_token {
            q.push(("pageToken", p.clone()));
        }
        let page = list_page(api, cal_id, &q).await?;
        if page.time_zone.is_some() {
            tz = page.time_zone;
        }
        items.extend(page.items);
        match page.next_page_token {
            Some(p) => page_token = Some(p),
            None => return Ok((items, page.next_sync_token, tz)),
        }
    }
    Err(PageError::Source(SourceError::Data {
        source_name: api.name.clone(),
        location: events_url(&api.api_url, cal_id).to_string(),
        detail: format!("more than {MAX_PAGES} pages of events; giving up"),
    }))
}

fn events_url(api_url: &url::Url, cal_id: &str) -> url::Url {
    let mut url = api_url.clone();
    if let Ok(mut segs) = url.path_segments_mut() {
        segs.pop_if_empty().extend(["calendars", cal_id, "events"]);
    }
    url
}

/// One `events.list` request, with one access-token refresh on 401.
async fn list_page(
    api: &mut Api,
    cal_id: &str,
    query: &[(&str, String)],
) -> Result<EventsPage, PageError> {
    let url = events_url(&api.api_url, cal_id);
    let name = api.name.clone();
    let unauthorized = |fix: String| SourceError::Unauthorized {
        source_name: name.clone(),
        fix,
    };
    let (http, timeout) = (&api.http, api.timeout);
    let answered = super::account::get(
        &api.name,
        "events.list",
        url.as_str(),
        &mut api.auth,
        |token| {
            http.get(url.clone())
                .query(query)
                .header(reqwest::header::ACCEPT, "application/json")
                // `bearer_auth` marks the header sensitive, so h2/hyper never print it.
                .bearer_auth(token.expose())
                .timeout(timeout)
        },
        || {
            format!(
                "Google refused a freshly refreshed access token: run `nextstep auth google --source {name}`"
            )
        },
    )
    .await?;
    let (status, retry_after, body) = (answered.status, answered.retry_after, answered.body);
    match status {
        200 => serde_json::from_slice(&body).map_err(|e| {
            PageError::Source(SourceError::Data {
                source_name: api.name.clone(),
                location: url.to_string(),
                detail: format!("not an events list: {e}"),
            })
        }),
        410 => Err(PageError::Gone),
        429 | 500..=599 => Err(SourceError::RateLimited {
            source_name: api.name.clone(),
            retry_after,
        }
        .into()),
        403 => {
            let detail = json::parse_error(&body);
            if detail.as_ref().is_some_and(json::is_rate_limit) {
                return Err(SourceError::RateLimited {
                    source_name: api.name.clone(),
                    retry_after,
                }
                .into());
            }
            Err(unauthorized(format!(
                "Google refused access to calendar `{cal_id}` ({}): check the calendar id, or run `nextstep auth google --source {}`",
                detail.map(|d| d.message).unwrap_or_else(|| "403".into()),
                api.name
            ))
            .into())
        }
        404 => Err(SourceError::Setup {
            source_name: api.name.clone(),
            detail: format!(
                "Google has no calendar `{cal_id}` for this account: check `calendars` (\"primary\" or an id from Google Calendar's settings)"
            ),
        }
        .into()),
        _ => {
            if let Some(d) = json::parse_error(&body) {
                tracing::debug!(status, message = %d.message, "events.list refused");
            }
            Err(SourceError::HttpStatus {
                source_name: api.name.clone(),
                url: url.to_string(),
                status,
            }
            .into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_entry_names_its_meeting_removed_and_an_unreadable_one_does_not() {
        let event = |json: &str| -> json::GoogleEvent { serde_json::from_str(json).unwrap() };
        let confirmed = |id: &str| {
            event(&format!(
                r#"{{"id": "{id}", "status": "confirmed", "summary": "Review",
                   "start": {{"dateTime": "2026-12-01T10:00:00Z"}},
                   "end": {{"dateTime": "2026-12-01T11:00:00Z"}}}}"#
            ))
        };
        let mut state = CalendarState::default();
        let mut warnings = Vec::new();
        for id in ["a", "b"] {
            assert!(apply("work", &mut state, &confirmed(id), &mut warnings).is_empty());
        }
        assert_eq!(state.events.len(), 2);
        let gone = apply(
            "work",
            &mut state,
            &event(r#"{"id": "a", "status": "cancelled"}"#),
            &mut warnings,
        );
        assert_eq!(
            gone.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
            [state_id("a")]
        );
        // No start: unreadable. Dropped from the set with a warning, but not named removed.
        let gone = apply(
            "work",
            &mut state,
            &event(r#"{"id": "b", "status": "confirmed", "summary": "Broken"}"#),
            &mut warnings,
        );
        assert!(gone.is_empty(), "{gone:?}");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    fn state_id(id: &str) -> String {
        format!("work/{id}/single")
    }

    #[test]
    fn calendar_ids_become_distinct_safe_file_names() {
        let name = |id| state_file::file_name("google", id);
        let a = name("alex@mycorp.com");
        let b = name("alex.mycorp.com");
        assert_ne!(a, b);
        assert!(a.starts_with("google-alex_mycorp_com-") && a.ends_with(".json"));
        assert!(!name("../../etc").contains('/'));
    }

    #[test]
    fn the_events_url_encodes_the_calendar_id() {
        let base = url::Url::parse("https://www.googleapis.com/calendar/v3/").unwrap();
        assert_eq!(
            events_url(&base, "a b@group.calendar.google.com").as_str(),
            "https://www.googleapis.com/calendar/v3/calendars/a%20b@group.calendar.google.com/events"
        );
    }

    #[test]
    fn a_window_past_the_horizon_needs_a_full_sync() {
        let t = |h: i64| DateTime::<Utc>::from_timestamp(h * 3600, 0).unwrap();
        let s = CalendarState {
            sync_token: Some("x".into()),
            horizon_start: Some(t(0)),
            horizon_end: Some(t(100)),
            ..Default::default()
        };
        assert!(!s.needs_full_sync(Window {
            start: t(10),
            end: t(90)
        }));
        assert!(s.needs_full_sync(Window {
            start: t(10),
            end: t(101)
        }));
        assert!(CalendarState::default().needs_full_sync(Window {
            start: t(10),
            end: t(90)
        }));
    }
}
