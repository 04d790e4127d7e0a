//! What one poll of an account of calendars returns, for the sources that sync each calendar
//! incrementally and keep its meetings by the provider's event id (Google, Microsoft): pure, the
//! same for both.
//!
//! What it promises: the meetings are those in the window, the same invitation in two calendars
//! once; the series are every one the account holds, in the window or not (so that a meeting that
//! left the window is dropped rather than kept at its old time, see [`Fetched::series`]); and the
//! removals are the ones no calendar still holds (see [`Fetched::incremental`]).

use std::collections::BTreeMap;

use super::{Fetched, Window};
use crate::model::{Meeting, MeetingId};

/// The poll's result from the meetings of each calendar (by event id; `None` for a calendar not
/// read yet), and how many of each calendar's meetings are in the window. `removed` is taken:
/// what a poll reports, it reports once.
pub fn fetched(
    calendars: &[Option<&BTreeMap<String, Meeting>>],
    window: Window,
    warnings: Vec<String>,
    changed: bool,
    removed: &mut Vec<MeetingId>,
) -> (Fetched, Vec<usize>) {
    let mut by_id: BTreeMap<&MeetingId, &Meeting> = BTreeMap::new();
    let in_window = calendars
        .iter()
        .map(|events| {
            let mut n = 0;
            for m in events.iter().flat_map(|e| e.values()) {
                if window.overlaps(m.start, m.end) {
                    n += 1;
                    // The same invitation in two calendars is one meeting.
                    by_id.entry(&m.id).or_insert(m);
                }
            }
            n
        })
        .collect();
    let meetings = by_id.into_values().cloned().collect();
    let series = calendars
        .iter()
        .flat_map(|events| events.iter().flat_map(|e| e.values()))
        .map(|m| m.id.series().to_string())
        .collect();
    let fetched =
        Fetched::incremental(meetings, warnings, changed, series, std::mem::take(removed));
    (fetched, in_window)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{meeting, t};

    #[test]
    fn an_invitation_in_two_calendars_is_one_meeting_and_a_held_series_outside_the_window_is_listed()
     {
        let window = Window {
            start: t(0, 0),
            end: t(12, 0),
        };
        let shared = meeting("work/inv/single", t(9, 0));
        let later = meeting("work/far/single", t(20, 0));
        let a = BTreeMap::from([("inv".to_string(), shared.clone())]);
        let b = BTreeMap::from([
            ("inv".to_string(), shared.clone()),
            ("far".to_string(), later),
        ]);
        let mut removed = vec![MeetingId::new("work", "gone", None), shared.id.clone()];
        let (f, in_window) = fetched(
            &[Some(&a), Some(&b), None],
            window,
            vec!["one skipped".into()],
            true,
            &mut removed,
        );
        assert_eq!(f.meetings, [shared]);
        assert_eq!(in_window, [1, 1, 0]);
        assert!(f.series.contains("work/far"), "{:?}", f.series);
        assert_eq!(
            f.removed.iter().map(MeetingId::as_str).collect::<Vec<_>>(),
            ["work/gone/single"],
            "a removal another calendar still holds is not one"
        );
        assert!(removed.is_empty(), "reported once");
        assert!(f.changed && !f.complete);
        assert_eq!(f.warnings, ["one skipped"]);
    }
}
