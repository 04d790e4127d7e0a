//! Reconciling one poll with the previous one (pure): which meetings missing from a poll were
//! removed from their calendar (a ledger-worthy fact), which are merely not seen (kept, so their
//! prompts keep coming), and which are no longer the daemon's business (dropped, nothing
//! written). The rule is in [`reconcile`]; the daemon applies it to every successful poll.

use chrono::{DateTime, Utc};

use crate::model::{Meeting, MeetingId};

/// What a poll means for the meetings the previous poll of the same source gave, as
/// [`reconcile`] decides it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Removed from the calendar before they started, on the source's word: mark them gone in
    /// the ledger (and record `cancelled` for one that had an objective).
    pub removed: Vec<MeetingId>,
    /// Not in this poll, but nothing says they are gone (an incomplete read, a skipped event):
    /// keep them, so their prompts keep coming. The daemon appends them to the poll's meetings.
    pub kept: Vec<Meeting>,
    /// Out of the window now, moved out of it, removed after they started: dropped from the
    /// schedule, with nothing written to the ledger.
    pub dropped: Vec<MeetingId>,
}

/// Decides, for each meeting of the `previous` poll that is not among `fetched`, whether it was
/// removed, is merely not seen, or is no longer the daemon's business (docs/design.md, "Prompt
/// rules"). Pure: the only facts used are the ones passed in.
///
/// - Outside `window` (it ended before the window or starts after it): dropped.
/// - Named in `stated_removed`: removed when it has not started yet; dropped when it has (a
///   meeting deleted afterwards still happened; it is not a cancellation).
/// - Its series still in `series` (the source holds it: a one-off moved beyond the window, one
///   occurrence taken out of a series): dropped, not removed.
/// - Absent from a `complete` read that no longer holds its series: removed (or dropped, as
///   above, once started).
/// - Anything else (an incomplete read, a skipped event): kept.
pub fn reconcile(
    previous: &[Meeting],
    fetched: &[Meeting],
    complete: bool,
    series: &std::collections::BTreeSet<String>,
    stated_removed: &[MeetingId],
    window: crate::source::Window,
    now: DateTime<Utc>,
) -> Reconciled {
    let seen: std::collections::HashSet<&MeetingId> = fetched.iter().map(|m| &m.id).collect();
    let stated: std::collections::HashSet<&MeetingId> = stated_removed.iter().collect();
    let mut out = Reconciled::default();
    for m in previous.iter().filter(|m| !seen.contains(&m.id)) {
        let held = series.contains(m.id.series());
        let gone = stated.contains(&m.id) || (complete && !held);
        // Inclusive at the start, so a zero-length meeting at the window's start counts inside.
        let inside = m.start < window.end && m.end >= window.start;
        if inside && gone && m.start > now {
            out.removed.push(m.id.clone());
        } else if !inside || gone || held {
            out.dropped.push(m.id.clone());
        } else {
            out.kept.push(m.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{meeting, t};
    use chrono::TimeDelta;

    /// One row of the [`reconcile`] table: the previous poll held `a` (at 10:00) and `b` (at
    /// 11:00); this poll brought `fetched`, and the test says what becomes of `a`.
    struct Case {
        case: &'static str,
        fetched: &'static [&'static str],
        complete: bool,
        held: &'static [&'static str],
        stated: &'static [&'static str],
        then: Then,
    }

    #[derive(Clone, Copy)]
    enum Then {
        Removed,
        Kept,
        Dropped,
    }

    /// The poll window at `now`: a day back, 30 days ahead.
    fn window_at(now: DateTime<Utc>) -> crate::source::Window {
        crate::source::Window {
            start: now - TimeDelta::days(1),
            end: now + TimeDelta::days(30),
        }
    }

    #[test]
    fn a_missing_meeting_is_removed_only_on_the_sources_word_or_a_complete_read() {
        use std::collections::BTreeSet;
        let now = t(8, 0);
        let window = window_at(now);
        let m = |s: &str| {
            meeting(
                &format!("w/{s}/single"),
                t(if s == "a" { 10 } else { 11 }, 0),
            )
        };
        let series =
            |ids: &[&str]| -> BTreeSet<String> { ids.iter().map(|s| format!("w/{s}")).collect() };
        let cases = [
            Case {
                case: "a cut-off body (incomplete read)",
                fetched: &["b"],
                complete: false,
                held: &[],
                stated: &[],
                then: Then::Kept,
            },
            Case {
                case: "a file read mid-write (no END:VCALENDAR)",
                fetched: &[],
                complete: false,
                held: &[],
                stated: &[],
                then: Then::Kept,
            },
            Case {
                case: "one event failing to parse",
                fetched: &["b"],
                complete: false,
                held: &["b"],
                stated: &[],
                then: Then::Kept,
            },
            Case {
                case: "an event moved beyond the 30-day window",
                fetched: &["b"],
                complete: true,
                held: &["a", "b"],
                stated: &[],
                then: Then::Dropped,
            },
            Case {
                case: "an event moved out of the window of an incremental source",
                fetched: &["b"],
                complete: false,
                held: &["a", "b"],
                stated: &[],
                then: Then::Dropped,
            },
            Case {
                case: "an explicit removal in an incomplete poll",
                fetched: &["b"],
                complete: false,
                held: &[],
                stated: &["a"],
                then: Then::Removed,
            },
            Case {
                case: "a complete read without the UID",
                fetched: &["b"],
                complete: true,
                held: &["b"],
                stated: &[],
                then: Then::Removed,
            },
        ];
        let (a, b) = (m("a"), m("b"));
        for c in cases {
            let fetched: Vec<Meeting> = c.fetched.iter().map(|s| m(s)).collect();
            let stated: Vec<MeetingId> = c.stated.iter().map(|s| m(s).id).collect();
            let r = reconcile(
                &[a.clone(), b.clone()],
                &fetched,
                c.complete,
                &series(c.held),
                &stated,
                window,
                now,
            );
            let (removed, mut kept, dropped) = match c.then {
                Then::Removed => (vec![a.id.clone()], vec![], vec![]),
                Then::Kept => (vec![], vec![a.clone()], vec![]),
                Then::Dropped => (vec![], vec![], vec![a.id.clone()]),
            };
            // Where `b` is missing too (an empty read), nothing says it is gone either.
            if c.fetched.is_empty() {
                kept.push(b.clone());
            }
            assert_eq!(r.removed, removed, "{}: removed", c.case);
            assert_eq!(r.kept, kept, "{}: kept", c.case);
            assert_eq!(r.dropped, dropped, "{}: dropped", c.case);
        }
    }

    #[test]
    fn a_meeting_that_started_or_left_the_window_is_never_recorded_removed() {
        use std::collections::BTreeSet;
        let now = t(8, 0);
        let window = window_at(now);
        let none = BTreeSet::new();
        let past = meeting("w/p/single", t(6, 0));
        let old = meeting("w/o/single", now - TimeDelta::days(2));
        // Already started: dropped, even on the server's word (it happened; it is not cancelled).
        let r = reconcile(
            std::slice::from_ref(&past),
            &[],
            true,
            &none,
            std::slice::from_ref(&past.id),
            window,
            now,
        );
        assert_eq!((r.removed, r.dropped), (vec![], vec![past.id.clone()]));
        // Out of the window behind us: dropped, whatever the read.
        let r = reconcile(
            std::slice::from_ref(&old),
            &[],
            false,
            &none,
            &[],
            window,
            now,
        );
        assert_eq!((r.kept, r.dropped), (vec![], vec![old.id.clone()]));
        // Present: nothing to decide.
        let a = meeting("w/a/single", t(10, 0));
        let held = std::iter::once("w/a".to_string()).collect();
        let one = std::slice::from_ref(&a);
        assert_eq!(
            reconcile(one, one, true, &held, &[], window, now),
            Reconciled::default()
        );
    }

    #[test]
    fn a_deleted_meeting_is_found_by_comparing_polls() {
        let a = meeting("w/a/single", t(10, 0));
        let b = meeting("w/b/single", t(11, 0));
        let window = crate::source::Window {
            start: t(0, 0),
            end: t(23, 0),
        };
        let held = std::iter::once("w/b".to_string()).collect();
        let r = reconcile(
            &[a.clone(), b.clone()],
            &[b],
            true,
            &held,
            &[],
            window,
            t(8, 0),
        );
        assert_eq!(r.removed, vec![a.id]);
    }
}
