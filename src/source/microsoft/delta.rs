//! The state of one calendar's delta round and how a page changes it: pure, no I/O.
//!
//! What Microsoft documents and this relies on (<https://learn.microsoft.com/graph/delta-query-events>):
//! a round starts with `calendarView/delta?startDateTime=..&endDateTime=..` and follows
//! `@odata.nextLink` (a page with a next link may be empty) until a page carries
//! `@odata.deltaLink`; one GET of that link later returns only what changed, with `@removed`
//! entries for what left the view. The window of a round is fixed, so a new round starts when the
//! daemon's window has moved on by a day (or reaches past the round), keeping the horizon rolling.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::json::{self, DeltaPage, Projection};
use crate::model::{Meeting, MeetingId};
use crate::source::Window;

/// How far past the daemon's window a round reaches, so the window can slide for a day before the
/// next round.
pub const ROUND_SLACK: Duration = Duration::days(1);

/// What is kept on disk per calendar (0600, in the source's state directory).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CalendarState {
    /// The link of the next poll; `None` before the first complete round or after a resync.
    pub delta_link: Option<String>,
    pub round_start: Option<DateTime<Utc>>,
    pub round_end: Option<DateTime<Utc>>,
    /// Meetings by Graph event id (what `@removed` entries name).
    pub events: BTreeMap<String, Meeting>,
}

impl CalendarState {
    /// Whether the next poll must start a new round rather than GET the delta link.
    pub fn needs_new_round(&self, window: Window) -> bool {
        match (&self.delta_link, self.round_start, self.round_end) {
            (Some(_), Some(start), Some(end)) => {
                window.start < start || window.start >= start + ROUND_SLACK || window.end > end
            }
            _ => true,
        }
    }

    /// Forgets the link (after 410, `syncStateNotFound` or `resyncRequired`); the meetings stay
    /// until the new round completes and replaces them.
    pub fn drop_link(&mut self) {
        self.delta_link = None;
    }

    /// Ends a round that began at [`first_url`]: its meetings replace the old ones.
    pub fn finish_round(
        &mut self,
        window: Window,
        events: BTreeMap<String, Meeting>,
        link: String,
    ) {
        self.round_start = Some(window.start);
        self.round_end = Some(window.end + ROUND_SLACK);
        self.events = events;
        self.delta_link = Some(link);
    }
}

/// The first request of a round for calendar `calendar_id` (`None`: the default calendar).
/// `api` is the configured `api_url` without a trailing slash.
pub fn first_url(api: &str, calendar_id: Option<&str>, window: Window) -> String {
    let base = match calendar_id {
        None => format!("{api}/me/calendarView/delta"),
        Some(id) => format!(
            "{api}/me/calendars/{}/calendarView/delta",
            url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
        ),
    };
    let end = window.end + ROUND_SLACK;
    format!(
        "{base}?startDateTime={}&endDateTime={}",
        window.start.to_rfc3339_opts(SecondsFormat::Secs, true),
        end.to_rfc3339_opts(SecondsFormat::Secs, true)
    )
}

/// What a page asks for next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// More pages in this round.
    Page(String),
    /// The round is complete; poll this next time.
    Done(String),
    /// Neither link: the server broke the protocol.
    Broken,
}

/// Applies one page to `events`; returns what to fetch next and whether anything changed.
/// Skipped and invalid entries drop any meeting they had and add a warning (ids only). The
/// meetings Graph said are gone (`@removed`, cancelled, skipped) are added to `removed`; an
/// invalid entry's are not, since nothing says it is gone.
pub fn apply_page(
    source: &str,
    events: &mut BTreeMap<String, Meeting>,
    page: DeltaPage,
    warnings: &mut Vec<String>,
    removed: &mut Vec<MeetingId>,
) -> (Next, bool) {
    let mut changed = false;
    for ev in &page.value {
        match json::project(source, ev) {
            Projection::Meeting(m) => {
                let m = *m;
                if events.get(&ev.id) != Some(&m) {
                    events.insert(ev.id.clone(), m);
                    changed = true;
                }
            }
            Projection::Removed | Projection::Skipped(_) => {
                if let Some(m) = events.remove(&ev.id) {
                    removed.push(m.id);
                    changed = true;
                }
            }
            Projection::Invalid(why) => {
                changed |= events.remove(&ev.id).is_some();
                warnings.push(why);
            }
        }
    }
    let next = match (page.next_link, page.delta_link) {
        (Some(next), _) => Next::Page(next),
        (None, Some(delta)) => Next::Done(delta),
        (None, None) => Next::Broken,
    };
    (next, changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn window(start: &str, end: &str) -> Window {
        Window {
            start: t(start),
            end: t(end),
        }
    }

    fn page(v: serde_json::Value) -> DeltaPage {
        serde_json::from_value(v).unwrap()
    }

    /// A round being applied page by page, as the source does: the events so far, and the
    /// warnings and removals the pages brought.
    #[derive(Default)]
    struct Round {
        events: BTreeMap<String, Meeting>,
        warnings: Vec<String>,
        removed: Vec<MeetingId>,
    }

    impl Round {
        fn apply(&mut self, body: serde_json::Value) -> (Next, bool) {
            apply_page(
                "m",
                &mut self.events,
                page(body),
                &mut self.warnings,
                &mut self.removed,
            )
        }
    }

    fn ev(id: &str, subject: &str) -> serde_json::Value {
        json!({
            "id": id, "iCalUId": format!("uid-{id}"), "subject": subject,
            "start": {"dateTime": "2026-12-03T15:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2026-12-03T16:00:00.0000000", "timeZone": "UTC"}
        })
    }

    #[test]
    fn the_first_request_names_the_window_and_the_calendar() {
        let w = window("2026-12-01T00:00:00Z", "2026-12-15T00:00:00Z");
        assert_eq!(
            first_url("https://graph.microsoft.com/v1.0", None, w),
            "https://graph.microsoft.com/v1.0/me/calendarView/delta?startDateTime=2026-12-01T00:00:00Z&endDateTime=2026-12-16T00:00:00Z"
        );
        let other = first_url("http://x/v1.0", Some("AAMk/=="), w);
        assert!(
            other.starts_with("http://x/v1.0/me/calendars/AAMk%2F%3D%3D/calendarView/delta?"),
            "{other}"
        );
    }

    #[test]
    fn a_round_follows_next_links_even_past_an_empty_page_and_ends_at_the_delta_link() {
        let mut r = Round::default();
        let (next, changed) =
            r.apply(json!({"@odata.nextLink": "https://g/delta?$skiptoken=1", "value": []}));
        assert_eq!(next, Next::Page("https://g/delta?$skiptoken=1".into()));
        assert!(!changed);
        let (next, changed) = r.apply(
            json!({"@odata.deltaLink": "https://g/delta?$deltatoken=2", "value": [ev("a", "A")]}),
        );
        assert_eq!(next, Next::Done("https://g/delta?$deltatoken=2".into()));
        assert!(changed && r.events.contains_key("a"));
        let (next, _) = r.apply(json!({"value": []}));
        assert_eq!(next, Next::Broken);
    }

    #[test]
    fn removed_entries_remove_meetings_and_an_unchanged_entry_changes_nothing() {
        let mut r = Round::default();
        r.apply(json!({"@odata.deltaLink": "d", "value": [ev("a", "A"), ev("b", "B")]}));
        let (_, changed) = r.apply(json!({"@odata.deltaLink": "d", "value": [ev("a", "A")]}));
        assert!(!changed);
        let gone = json!({"id": "b", "@removed": {"reason": "deleted"}});
        let (_, changed) = r.apply(json!({"@odata.deltaLink": "d", "value": [gone]}));
        assert!(changed);
        assert_eq!(r.events.keys().collect::<Vec<_>>(), ["a"]);
        assert_eq!(
            r.removed.iter().map(MeetingId::as_str).collect::<Vec<_>>(),
            ["m/uid-b/single"],
            "the entry Graph said is removed is named removed"
        );
        let renamed = ev("a", "A, renamed");
        let (_, changed) = r.apply(json!({"@odata.deltaLink": "d", "value": [renamed]}));
        assert!(changed);
        assert_eq!(r.events["a"].title, "A, renamed");
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn an_invalid_entry_is_a_warning_naming_its_id() {
        let mut r = Round::default();
        r.apply(json!({"@odata.deltaLink": "d", "value": [{"id": "z", "subject": "x"}]}));
        assert!(r.events.is_empty());
        assert_eq!(r.warnings.len(), 1);
        assert!(r.warnings[0].contains('z'));
    }

    #[test]
    fn a_new_round_starts_without_a_link_or_when_the_window_moved_on_by_a_day() {
        let w = window("2026-12-01T00:00:00Z", "2026-12-15T00:00:00Z");
        let mut s = CalendarState::default();
        assert!(s.needs_new_round(w));
        s.finish_round(w, BTreeMap::new(), "d".into());
        assert!(!s.needs_new_round(w));
        assert!(!s.needs_new_round(window("2026-12-01T12:00:00Z", "2026-12-15T12:00:00Z")));
        assert!(s.needs_new_round(window("2026-12-02T00:00:00Z", "2026-12-16T00:00:00Z")));
        s.drop_link();
        assert!(s.needs_new_round(w));
    }
}
