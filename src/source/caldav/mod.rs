//! CalDAV source: the meetings of a CalDAV account (or of some of its calendars), kept up to date
//! incrementally, with what it learnt kept across restarts.
//!
//! One job per file: `client` is the transport (same-origin redirects, body cap, error
//! mapping, URLs redacted), `discovery` finds the calendars, `strategy` decides without I/O
//! which request brings a calendar up to date (full time-range query, sync-collection, ctag
//! check, and when to resync fully), `sync` runs those requests, `state` persists what they
//! learnt, [`xml`] reads and writes the WebDAV bodies. This file ties them into
//! [`CalendarSource`].
//!
//! # What a poll does
//! The first poll resolves the password once and discovers the calendars (again after a
//! calendar answered 404, as when it was deleted or renamed); each poll then syncs every
//! calendar, saves the state if it changed, and expands each stored object for a day-aligned
//! window. sync-collection reports every changed object whatever its dates, so the source keeps
//! every object it has seen (raw iCalendar text) and re-expands each poll; an object's expansion
//! is cached per window and ETag, so re-parsing happens once a day or when the object changes.
//!
//! # Removed or not seen
//! [`CaldavSource::removed_in_last_poll`] names the meetings of objects the server said are gone
//! (see `sync`); a meeting that is merely absent from [`Fetched::meetings`] may have moved out
//! of the window or failed to parse.
//!
//! # Server quirks
//! Each is documented as `QUIRK(server)` beside the code it affects, with a link. In short:
//! Radicale and sabre/dav reject an expired sync token with 403 (others 412), fruux answered 415
//! to a token it issued (both in `strategy`); Radicale's `/.well-known/caldav` redirects to a
//! relative `/` (`client`); XML turns CRLF in `calendar-data` into LF ([`xml`]). Radicale 3.9
//! refuses `hosts = 127.0.0.1:0`, which only the test harness meets (it picks a free port).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use chrono::{DateTime, TimeDelta, Utc};

use super::{CalendarSource, Fetched, PollFuture, SourceContext, SourceError, Window, ical};
use crate::config::{CaldavConfig, CalendarConfig, CalendarKind};
use crate::http;
use crate::model::{Meeting, MeetingId};

mod client;
mod discovery;
mod state;
mod strategy;
mod sync;
pub mod xml;

pub use client::{MAX_BODY, RequestStats};
pub use discovery::FoundCalendar;

use client::{Client, redact};
use state::{CalState, STATE_FILE, StateFile};
use strategy::SyncSupport;

/// One object's expansion for a parse window.
struct Expanded {
    etag: Option<String>,
    window: Window,
    meetings: Vec<Meeting>,
    warnings: Vec<String>,
}

/// One discovered calendar and what we know of it.
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
    cfg: CaldavConfig,
    client: Client,
    state_dir: PathBuf,
    /// `None` until discovery succeeded (and again after a calendar vanished).
    calendars: Option<Vec<Calendar>>,
    last_parse_window: Option<Window>,
    /// Meetings of objects the server said were removed during the last successful poll.
    removed: Vec<MeetingId>,
    /// Removals learnt by a poll that then failed (the state on disk no longer holds those
    /// objects, so no later answer will name them again): reported by the next successful poll.
    unreported: Vec<MeetingId>,
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
            client: Client::new(ctx.name, c.username.clone(), http, cfg.timeout),
            cfg: c.clone(),
            state_dir: ctx.state_dir,
            calendars: None,
            last_parse_window: None,
            removed: Vec::new(),
            unreported: Vec::new(),
        })
    }

    /// Requests and bytes so far.
    pub fn stats(&self) -> RequestStats {
        self.client.stats()
    }

    /// The calendars found by discovery (empty before the first successful poll).
    pub fn calendars(&self) -> Vec<FoundCalendar> {
        self.calendars
            .iter()
            .flatten()
            .map(|c| c.found.clone())
            .collect()
    }

    /// The meetings whose objects the server said were removed (a 404 in a sync-collection or
    /// multiget answer, or absence from the calendar's own listing) during the last successful
    /// poll. A meeting missing from [`Fetched::meetings`] but not named here was not seen this
    /// time (outside the window, unreadable), which says nothing about its removal.
    pub fn removed_in_last_poll(&self) -> &[MeetingId] {
        &self.removed
    }

    fn state_path(&self) -> PathBuf {
        self.state_dir.join(STATE_FILE)
    }

    fn save_state(&self) -> Result<(), SourceError> {
        let Some(cals) = &self.calendars else {
            return Ok(());
        };
        StateFile::update(
            &self.state_path(),
            &self.client.source,
            cals.iter().map(|c| (c.found.url.to_string(), &c.state)),
        )
    }

    async fn poll_inner(&mut self, window: Window) -> Result<Fetched, SourceError> {
        if !self.client.has_password()
            && self.cfg.username.is_some()
            && let Some(src) = &self.cfg.password
        {
            let secret = src.resolve().await.map_err(|e| {
                self.client.setup(format!(
                    "cannot read the password for calendar `{}`: {e}",
                    self.client.source
                ))
            })?;
            self.client.set_password(secret);
        }
        if self.calendars.is_none() {
            let found = discovery::discover(&self.client, &self.cfg).await?;
            let mut stored = StateFile::load(&self.state_path(), &self.client.source);
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
            tracing::info!(source = %self.client.source, calendars = %discovery::describe_found(cals.iter().map(|c| &c.found)), "caldav calendars discovered");
            self.calendars = Some(cals);
        }
        let mut cals = self.calendars.take().unwrap_or_default();
        let mut changed = false;
        let mut removed = std::mem::take(&mut self.unreported);
        let mut result = Ok(());
        for cal in cals.iter_mut() {
            let mut s = sync::Synced::default();
            let synced = sync::sync_calendar(&self.client, cal, window, &mut s).await;
            changed |= s.changed;
            // The meetings the removed objects held, from their last expansion.
            for key in &s.removed {
                let meetings = cal.expanded.get(key).map(|e| &e.meetings);
                removed.extend(meetings.into_iter().flatten().map(|m| m.id.clone()));
            }
            if let Err(e) = synced {
                result = Err(e);
                break;
            }
        }
        let vanished = matches!(result, Err(SourceError::HttpStatus { status: 404, .. }));
        let dirty = cals.iter().any(|c| c.dirty);
        self.calendars = Some(cals);
        if dirty {
            if let Err(e) = self.save_state() {
                self.unreported = removed;
                return Err(e);
            }
            for c in self.calendars.iter_mut().flatten() {
                c.dirty = false;
            }
        }
        if let Err(e) = result {
            self.unreported = removed;
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
            expand(&self.client.source, cal, pw);
            for ex in cal.expanded.values() {
                fetched.warnings.extend(ex.warnings.iter().cloned());
                // Held over the whole parse window, so a meeting moved out of the poll window
                // is dropped from the schedule rather than kept at its old time.
                fetched
                    .series
                    .extend(ex.meetings.iter().map(|m| m.id.series().to_string()));
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
        // A meeting still held by another object (a shared calendar, a moved href) is not gone.
        removed.retain(|id| !seen.contains(id));
        removed.sort();
        removed.dedup();
        // Only the server's word removes a meeting here: a time-range listing is never
        // `complete` (an object may have been skipped, or moved out of the range).
        fetched.removed = removed.clone();
        self.removed = removed;
        Ok(fetched)
    }
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

impl CalendarSource for CaldavSource {
    fn name(&self) -> &str {
        &self.client.source
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
                discovery::describe_found(c.iter().map(|c| &c.found))
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    mod removals {
        use super::*;
        use crate::config::{CaldavConfig, CalendarConfig, CalendarKind};
        use std::time::Duration;
        use wiremock::matchers::{body_string_contains, method};
        use wiremock::{Mock, MockServer, ResponseTemplate};

        /// Midnight UTC of March `from` to midnight of March `to`, 2026.
        fn march(from: u32, to: u32) -> Window {
            let day = |d: u32| {
                chrono::NaiveDate::from_ymd_opt(2026, 3, d)
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .unwrap()
                    .and_utc()
            };
            Window {
                start: day(from),
                end: day(to),
            }
        }

        fn event(uid: &str) -> String {
            format!(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
                 DTSTAMP:20260101T000000Z\r\nDTSTART:20260310T100000Z\r\nDTEND:20260310T110000Z\r\n\
                 SUMMARY:{uid}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
            )
        }

        /// A multistatus of `(href, etag, data)` members, and a sync token if given.
        fn multistatus(members: &[(&str, Option<&str>)], token: Option<&str>) -> ResponseTemplate {
            let mut body = String::from(
                r#"<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">"#,
            );
            if let Some(tok) = token {
                body.push_str(&format!("<d:sync-token>{tok}</d:sync-token>"));
            }
            for (uid, data) in members {
                match data {
                    Some(d) => body.push_str(&format!(
                        "<d:response><d:href>/cal/{uid}.ics</d:href><d:propstat><d:prop>\
                         <d:getetag>\"{uid}\"</d:getetag><c:calendar-data>{d}</c:calendar-data>\
                         </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
                    )),
                    None => body.push_str(&format!(
                        "<d:response><d:href>/cal/{uid}.ics</d:href>\
                         <d:status>HTTP/1.1 404 Not Found</d:status></d:response>"
                    )),
                }
            }
            body.push_str("</d:multistatus>");
            ResponseTemplate::new(207).set_body_string(body)
        }

        fn source(server: &MockServer, state_dir: &std::path::Path) -> CaldavSource {
            let cfg = CalendarConfig {
                name: "dav".into(),
                poll: Duration::from_secs(300),
                timeout: Duration::from_secs(10),
                kind: CalendarKind::Caldav(CaldavConfig {
                    url: url::Url::parse(&format!("{}/cal/", server.uri())).unwrap(),
                    username: None,
                    password: None,
                    calendars: Vec::new(),
                    allow_insecure: false,
                }),
            };
            let ctx = SourceContext {
                name: "dav".into(),
                state_dir: state_dir.to_path_buf(),
                http: Some(http::client(http::Redirects::Refuse).unwrap()),
            };
            CaldavSource::new(ctx, &cfg).unwrap()
        }

        /// A server whose `/cal/` is a calendar offering sync token `t1`.
        async fn calendar_server() -> MockServer {
            let server = MockServer::start().await;
            let props = r#"<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:response><d:href>/cal/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/><c:calendar/></d:resourcetype><d:sync-token>t1</d:sync-token></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>"#;
            Mock::given(method("PROPFIND"))
                .respond_with(ResponseTemplate::new(207).set_body_string(props))
                .mount(&server)
                .await;
            server
        }

        fn removed(src: &CaldavSource) -> Vec<&str> {
            src.removed_in_last_poll()
                .iter()
                .map(MeetingId::as_str)
                .collect()
        }

        fn titles(f: &Fetched) -> Vec<&str> {
            f.meetings.iter().map(|m| m.title.as_str()).collect()
        }

        /// Three events; the window moves (a full query that no longer returns `a`: not seen),
        /// then sync-collection reports `c` removed (the server's word).
        #[tokio::test]
        async fn only_what_the_server_reports_removed_is_named_removed() {
            let server = calendar_server().await;
            let (a, b, c) = (event("a"), event("b"), event("c"));
            Mock::given(method("REPORT"))
                .and(body_string_contains("calendar-query"))
                .respond_with(multistatus(
                    &[("a", Some(&a)), ("b", Some(&b)), ("c", Some(&c))],
                    None,
                ))
                .up_to_n_times(1)
                .mount(&server)
                .await;
            Mock::given(method("REPORT"))
                .and(body_string_contains("calendar-query"))
                .respond_with(multistatus(&[("b", Some(&b)), ("c", Some(&c))], None))
                .mount(&server)
                .await;
            Mock::given(method("REPORT"))
                .and(body_string_contains("sync-collection"))
                .respond_with(multistatus(&[("c", None)], Some("t2")))
                .mount(&server)
                .await;
            let dir = tempfile::tempdir().unwrap();
            let mut src = source(&server, dir.path());

            let first = march(1, 15);
            let f = src.poll(first).await.unwrap();
            assert_eq!(titles(&f), ["a", "b", "c"]);
            assert!(src.removed_in_last_poll().is_empty());

            let moved = march(3, 17);
            let f = src.poll(moved).await.unwrap();
            assert_eq!(titles(&f), ["b", "c"]);
            assert!(
                src.removed_in_last_poll().is_empty(),
                "left out of a time-range query is not seen, not removed"
            );

            let f = src.poll(moved).await.unwrap();
            assert_eq!(titles(&f), ["b"]);
            assert_eq!(removed(&src), ["dav/c/single"]);
        }

        /// The server names `c` removed and then the poll fails (fetching `b` answers 500): the
        /// state no longer holds `c`, so the next successful poll must still report it.
        #[tokio::test]
        async fn a_removal_learnt_by_a_failed_poll_is_reported_by_the_next_one() {
            let server = calendar_server().await;
            let (b, c) = (event("b"), event("c"));
            Mock::given(method("REPORT"))
                .and(body_string_contains("calendar-query"))
                .respond_with(multistatus(&[("b", Some(&b)), ("c", Some(&c))], None))
                .mount(&server)
                .await;
            // `b` changed (listed without data, so fetched by multiget) and `c` is gone.
            let delta = r#"<d:multistatus xmlns:d="DAV:"><d:sync-token>t2</d:sync-token><d:response><d:href>/cal/b.ics</d:href><d:propstat><d:prop><d:getetag>"b2"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response><d:response><d:href>/cal/c.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response></d:multistatus>"#;
            Mock::given(method("REPORT"))
                .and(body_string_contains("sync-collection"))
                .respond_with(ResponseTemplate::new(207).set_body_string(delta))
                .mount(&server)
                .await;
            Mock::given(method("REPORT"))
                .and(body_string_contains("calendar-multiget"))
                .respond_with(ResponseTemplate::new(500))
                .up_to_n_times(1)
                .mount(&server)
                .await;
            Mock::given(method("REPORT"))
                .and(body_string_contains("calendar-multiget"))
                .respond_with(multistatus(&[("b", Some(&b))], None))
                .mount(&server)
                .await;
            let dir = tempfile::tempdir().unwrap();
            let mut src = source(&server, dir.path());
            let w = march(1, 15);
            assert_eq!(titles(&src.poll(w).await.unwrap()), ["b", "c"]);
            let err = src.poll(w).await.unwrap_err();
            assert!(err.to_string().contains("HTTP 500"), "{err}");
            let f = src.poll(w).await.unwrap();
            assert_eq!(titles(&f), ["b"]);
            assert_eq!(removed(&src), ["dav/c/single"]);
        }
    }
}
