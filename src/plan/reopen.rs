//! Prompts an earlier process left open (shown, then the daemon stopped or died, or no
//! notification server took them): which are still worth asking again after a restart. Pure; the
//! daemon reads the open prompts from the ledger and shows what [`reopen`] returns.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::config::Prompts;
use crate::model::{
    Meeting, MeetingId, MeetingState, MeetingStatus, PlannedPrompt, PromptKind, Verdict,
};

/// Which prompts an earlier process left open (`left`: shown, neither answered nor dismissed by
/// the person, because the daemon stopped or died, or no notification server took them) are still
/// worth asking, to be shown again now under their own key: an objective before its meeting
/// starts, an outcome as long as its re-asks are within `reask_limit`. Only customer meetings
/// that are not cancelled, and only questions still without an answer.
pub fn reopen(
    left: &[PlannedPrompt],
    meetings: &[(Meeting, Verdict)],
    states: &HashMap<MeetingId, MeetingState>,
    now: DateTime<Utc>,
    rules: &Prompts,
) -> Vec<PlannedPrompt> {
    let empty = MeetingState::default();
    let mut out: Vec<PlannedPrompt> = left
        .iter()
        .filter(|p| {
            let Some((m, v)) = meetings.iter().find(|(m, _)| m.id == p.meeting) else {
                return false;
            };
            if !v.customer || m.status == MeetingStatus::Cancelled {
                return false;
            }
            let s = states.get(&m.id).unwrap_or(&empty);
            match p.kind {
                PromptKind::Objective => {
                    s.objective.is_none() && !s.objective_missed && now < m.start
                }
                PromptKind::Outcome => s.outcome.is_none() && p.attempt <= rules.reask_limit,
            }
        })
        .map(|p| PlannedPrompt {
            due: now,
            ..p.clone()
        })
        .collect();
    out.sort();
    out.dedup_by(|a, b| a.meeting == b.meeting && a.kind == b.kind);
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::{DateTime, TimeDelta, Utc};

    use super::reopen;
    use crate::config::Prompts;
    use crate::model::testing::{customer, internal, meeting, t};
    use crate::model::{Meeting, MeetingState, PlannedPrompt, PromptKind, Verdict};
    use crate::plan::tests::objective;

    fn left_open(m: &Meeting, kind: PromptKind, attempt: u32) -> PlannedPrompt {
        PlannedPrompt {
            due: t(9, 45),
            meeting: m.id.clone(),
            kind,
            attempt,
        }
    }

    fn reopen_one(
        m: &Meeting,
        v: Verdict,
        s: MeetingState,
        left: PlannedPrompt,
        now: DateTime<Utc>,
    ) -> Vec<PlannedPrompt> {
        let mut states = HashMap::new();
        states.insert(m.id.clone(), s);
        reopen(
            &[left],
            &[(m.clone(), v)],
            &states,
            now,
            &Prompts::default(),
        )
    }

    /// [`reopen_one`] for a customer meeting with nothing recorded about it.
    fn reopen_fresh(m: &Meeting, left: PlannedPrompt, now: DateTime<Utc>) -> Vec<PlannedPrompt> {
        reopen_one(m, customer(), MeetingState::default(), left, now)
    }

    #[test]
    fn an_objective_left_open_is_asked_again_now_under_its_own_key_before_the_start() {
        let m = meeting("a", t(10, 0));
        let left = left_open(&m, PromptKind::Objective, 0);
        let again = reopen_fresh(&m, left.clone(), t(9, 50));
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].key(), left.key());
        assert_eq!(again[0].due, t(9, 50));
    }

    #[test]
    fn an_objective_left_open_is_not_asked_once_the_meeting_started_or_it_was_answered() {
        let m = meeting("a", t(10, 0));
        let left = left_open(&m, PromptKind::Objective, 0);
        let started = reopen_fresh(&m, left.clone(), t(10, 0));
        assert!(started.is_empty());
        let answered = MeetingState {
            objective: objective(),
            ..Default::default()
        };
        assert!(reopen_one(&m, customer(), answered, left.clone(), t(9, 50)).is_empty());
        assert!(reopen_one(&m, internal(), MeetingState::default(), left, t(9, 50)).is_empty());
    }

    #[test]
    fn an_outcome_left_open_is_asked_again_any_time_within_the_reask_limit() {
        let m = meeting("a", t(10, 0));
        let limit = Prompts::default().reask_limit;
        let within = left_open(&m, PromptKind::Outcome, limit);
        let days_later = t(10, 0) + TimeDelta::days(3);
        assert_eq!(reopen_fresh(&m, within, days_later).len(), 1);
        let beyond = left_open(&m, PromptKind::Outcome, limit + 1);
        assert!(reopen_fresh(&m, beyond, days_later).is_empty());
    }

    #[test]
    fn a_prompt_left_open_for_a_meeting_no_longer_in_the_calendars_is_not_asked() {
        let m = meeting("a", t(10, 0));
        let left = left_open(&meeting("b", t(10, 0)), PromptKind::Outcome, 0);
        assert!(reopen_fresh(&m, left, t(11, 0)).is_empty());
    }
}
