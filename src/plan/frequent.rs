//! Series that recur more often than daily (a stand-up every hour, an invitation with
//! `FREQ=MINUTELY`): asked about once a day, not at every occurrence, so one such invitation
//! cannot flood the screen and the ledger. Pure; `plan` skips what [`too_frequent`] returns.

use std::collections::{HashMap, HashSet};

use chrono::TimeDelta;

use crate::model::{Meeting, MeetingId, Verdict};

/// The occurrences of series that recur more often than daily (two occurrences less than a day
/// apart) which are not prompted: each such series keeps its first occurrence of each UTC day.
/// Detected here from the occurrences themselves, since a source does not say how often a series
/// recurs.
pub fn too_frequent(meetings: &[(Meeting, Verdict)]) -> HashSet<&MeetingId> {
    let mut by_series: HashMap<&str, Vec<&Meeting>> = HashMap::new();
    for (m, _) in meetings.iter().filter(|(m, _)| m.recurring) {
        by_series.entry(m.id.series()).or_default().push(m);
    }
    let mut skip = HashSet::new();
    for occurrences in by_series.values_mut() {
        occurrences.sort_by_key(|m| (m.start, &m.id));
        let frequent = occurrences
            .windows(2)
            .any(|w| w[1].start.signed_duration_since(w[0].start) < TimeDelta::days(1));
        if !frequent {
            continue;
        }
        let mut day = None;
        for m in occurrences.iter() {
            let d = m.start.date_naive();
            if day == Some(d) {
                skip.insert(&m.id);
            }
            day = Some(d);
        }
    }
    skip
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::{DateTime, TimeDelta, Utc};

    use super::too_frequent;
    use crate::config::Prompts;
    use crate::model::testing::{customer, meeting, t};
    use crate::model::{Meeting, MeetingId, PromptKind, Verdict};
    use crate::plan::plan;

    /// An occurrence of the recurring series `work/standup`, starting at `start`.
    fn occurrence(start: DateTime<Utc>) -> (Meeting, Verdict) {
        let mut m = meeting("x", start);
        m.id = MeetingId::new("work", "standup", Some(start));
        m.recurring = true;
        m.end = start + TimeDelta::minutes(1);
        (m, customer())
    }

    #[test]
    fn a_series_recurring_more_often_than_daily_is_asked_about_once_a_day() {
        // Every ten minutes for two days: 288 occurrences.
        let meetings: Vec<_> = (0..288)
            .map(|i| occurrence(t(0, 0) + TimeDelta::minutes(10 * i)))
            .collect();
        let p = plan(
            &meetings,
            &HashMap::new(),
            t(0, 0) - TimeDelta::hours(1),
            &Prompts::default(),
        );
        let objectives: Vec<_> = p
            .prompts
            .iter()
            .filter(|p| p.kind == PromptKind::Objective)
            .collect();
        assert_eq!(objectives.len(), 2, "{objectives:?}");
        assert_eq!(objectives[0].meeting, meetings[0].0.id);
        assert_eq!(objectives[1].meeting, meetings[144].0.id);
        // Occurrences that are not asked about are not recorded as missed either.
        let later = plan(&meetings, &HashMap::new(), t(12, 0), &Prompts::default());
        assert_eq!(later.missed, vec![meetings[0].0.id.clone()]);
    }

    #[test]
    fn a_daily_or_weekly_series_is_asked_about_at_every_occurrence() {
        let daily: Vec<_> = (0..5)
            .map(|i| occurrence(t(9, 0) + TimeDelta::days(i)))
            .collect();
        assert!(too_frequent(&daily).is_empty());
        let p = plan(&daily, &HashMap::new(), t(8, 0), &Prompts::default());
        let objectives = p
            .prompts
            .iter()
            .filter(|p| p.kind == PromptKind::Objective)
            .count();
        assert_eq!(objectives, 5);
    }
}
