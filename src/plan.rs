//! Prompt rules (DESIGN §3), pure: meetings with their verdicts, what the ledger knows, and "now"
//! in; the prompts that should exist and when they are due out, plus the facts the daemon should
//! record (an objective missed, a meeting with an objective that was cancelled).
//!
//! The daemon calls [`plan`] after every poll, every answer and every timer tick; nothing here is
//! stateful, so a restart plans exactly what the previous process would have planned. Each showing
//! has a key (`meeting#kind#attempt`) and the ledger records it before it is shown, which is what
//! keeps a restart from showing it twice.

use std::collections::HashMap;

use chrono::{DateTime, Duration as Span, Utc};

use crate::config::Prompts;
use crate::model::{
    Meeting, MeetingId, MeetingState, MeetingStatus, PlannedPrompt, PromptKind, Verdict,
};

/// What the daemon should do now or later.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Every prompt that should be shown, due now or later, sorted by due time.
    pub prompts: Vec<PlannedPrompt>,
    /// Customer meetings that started without an objective: record `objective_missed`.
    pub missed: Vec<MeetingId>,
    /// Meetings with an objective that were cancelled before they started: record the outcome
    /// `cancelled`.
    pub cancelled: Vec<MeetingId>,
}

fn span(d: std::time::Duration) -> Span {
    Span::from_std(d).unwrap_or(Span::MAX)
}

/// Plans the prompts for `meetings` (each with its verdict) given the ledger's `states`.
pub fn plan(
    meetings: &[(Meeting, Verdict)],
    states: &HashMap<MeetingId, MeetingState>,
    now: DateTime<Utc>,
    rules: &Prompts,
) -> Plan {
    let empty = MeetingState::default();
    let mut out = Plan::default();
    for (m, v) in meetings {
        let s = states.get(&m.id).unwrap_or(&empty);
        if m.status == MeetingStatus::Cancelled {
            if s.objective.is_some() && s.outcome.is_none() && m.start > now {
                out.cancelled.push(m.id.clone());
            }
            continue;
        }
        if !v.customer {
            continue;
        }
        if let Some(p) = objective_prompt(m, s, now, rules) {
            out.prompts.push(p);
        } else if s.objective.is_none()
            && !s.objective_missed
            && now >= m.start
            && m.end > now - span(rules.lookback)
        {
            out.missed.push(m.id.clone());
        }
        if let Some(p) = outcome_prompt(m, s, now, rules) {
            out.prompts.push(p);
        }
    }
    out.prompts.sort();
    out
}

/// The objective prompt: once at `start - before` (at once when first seen later), again after a
/// snooze, never at or after the start.
fn objective_prompt(
    m: &Meeting,
    s: &MeetingState,
    now: DateTime<Utc>,
    rules: &Prompts,
) -> Option<PlannedPrompt> {
    if s.objective.is_some() || s.objective_missed || now >= m.start {
        return None;
    }
    let due = if s.objective_shown == 0 {
        m.start - span(rules.before)
    } else {
        let until = s.objective_snoozed_until?;
        // A snooze answers the showing before it; an older snooze does not re-open a later one.
        if s.last_objective_shown.is_some_and(|shown| shown >= until) {
            return None;
        }
        if until >= m.start {
            return None;
        }
        until
    };
    Some(PlannedPrompt {
        due: due.max(now),
        meeting: m.id.clone(),
        kind: PromptKind::Objective,
        attempt: s.objective_shown,
    })
}

/// The outcome prompt: at `end + after`, then after a snooze or every `reask` until `reask_limit`
/// re-asks were used. Meetings that ended before the daemon first saw them only within `lookback`.
fn outcome_prompt(
    m: &Meeting,
    s: &MeetingState,
    now: DateTime<Utc>,
    rules: &Prompts,
) -> Option<PlannedPrompt> {
    if s.outcome.is_some() {
        return None;
    }
    let due = if s.outcome_shown == 0 {
        let seen_late = s.first_seen.is_none_or(|seen| seen > m.end);
        if seen_late && m.end < now - span(rules.lookback) {
            return None;
        }
        m.end + span(rules.after)
    } else {
        let last = s.last_outcome_shown?;
        match s.outcome_snoozed_until {
            Some(until) if until > last => until,
            _ if s.outcome_shown <= rules.reask_limit => last + span(rules.reask),
            _ => return None,
        }
    };
    Some(PlannedPrompt {
        due,
        meeting: m.id.clone(),
        kind: PromptKind::Outcome,
        attempt: s.outcome_shown,
    })
}

/// Ids that were in `before` but are not in `after`: meetings deleted from their calendar.
pub fn gone<'a>(before: &'a [Meeting], after: &[Meeting]) -> Vec<&'a MeetingId> {
    let now_ids: std::collections::HashSet<&MeetingId> = after.iter().map(|m| &m.id).collect();
    before
        .iter()
        .map(|m| &m.id)
        .filter(|id| !now_ids.contains(id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ObjectiveRecord, Outcome, OutcomeRecord, Via};
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, h, m, 0).unwrap()
    }

    fn meeting(id: &str, start: DateTime<Utc>, minutes: i64) -> Meeting {
        Meeting {
            id: MeetingId(id.into()),
            source: "s".into(),
            title: "Call".into(),
            start,
            end: start + Span::minutes(minutes),
            tz: None,
            all_day: false,
            status: MeetingStatus::Confirmed,
            organizer: None,
            attendees: Default::default(),
            location: None,
            description: None,
            recurring: false,
        }
    }

    fn customer() -> Verdict {
        Verdict {
            customer: true,
            reason: "customer domain acme.com".into(),
            account: Some("acme.com".into()),
            customer_domains: vec!["acme.com".into()],
        }
    }

    fn internal() -> Verdict {
        Verdict {
            customer: false,
            reason: "internal only".into(),
            account: None,
            customer_domains: vec![],
        }
    }

    fn objective() -> Option<ObjectiveRecord> {
        Some(ObjectiveRecord {
            text: "Agree to a next meeting".into(),
            set_at: t(9, 0),
            via: Via::Cli,
        })
    }

    fn plan_one(m: &Meeting, v: Verdict, s: MeetingState, now: DateTime<Utc>) -> Plan {
        let mut states = HashMap::new();
        states.insert(m.id.clone(), s);
        plan(&[(m.clone(), v)], &states, now, &Prompts::default())
    }

    fn kinds(p: &Plan) -> Vec<(PromptKind, DateTime<Utc>, u32)> {
        p.prompts
            .iter()
            .map(|p| (p.kind, p.due, p.attempt))
            .collect()
    }

    #[test]
    fn a_customer_meeting_gets_an_objective_prompt_before_and_an_outcome_prompt_after() {
        let m = meeting("a", t(10, 0), 30);
        let p = plan_one(&m, customer(), MeetingState::default(), t(8, 0));
        assert_eq!(
            kinds(&p),
            vec![
                (PromptKind::Objective, t(9, 45), 0),
                (PromptKind::Outcome, t(10, 35), 0)
            ]
        );
    }

    #[test]
    fn an_internal_meeting_gets_no_prompt() {
        let m = meeting("a", t(10, 0), 30);
        assert!(
            plan_one(&m, internal(), MeetingState::default(), t(8, 0))
                .prompts
                .is_empty()
        );
    }

    #[test]
    fn a_meeting_first_seen_inside_the_lead_time_is_asked_at_once() {
        let m = meeting("a", t(10, 0), 30);
        let p = plan_one(&m, customer(), MeetingState::default(), t(9, 55));
        assert_eq!(p.prompts[0].kind, PromptKind::Objective);
        assert_eq!(p.prompts[0].due, t(9, 55));
    }

    #[test]
    fn an_objective_prompt_is_never_planned_after_the_start_and_the_objective_is_recorded_missed() {
        let m = meeting("a", t(10, 0), 30);
        let p = plan_one(&m, customer(), MeetingState::default(), t(10, 5));
        assert!(p.prompts.iter().all(|p| p.kind != PromptKind::Objective));
        assert_eq!(p.missed, vec![m.id.clone()]);
    }

    #[test]
    fn a_missed_objective_is_recorded_once() {
        let m = meeting("a", t(10, 0), 30);
        let s = MeetingState {
            objective_missed: true,
            ..Default::default()
        };
        assert!(plan_one(&m, customer(), s, t(10, 5)).missed.is_empty());
    }

    #[test]
    fn a_shown_objective_prompt_is_not_shown_again_without_a_snooze() {
        let m = meeting("a", t(10, 0), 30);
        let s = MeetingState {
            objective_shown: 1,
            last_objective_shown: Some(t(9, 45)),
            ..Default::default()
        };
        let p = plan_one(&m, customer(), s, t(9, 46));
        assert!(p.prompts.iter().all(|p| p.kind != PromptKind::Objective));
    }

    #[test]
    fn a_snoozed_objective_prompt_comes_back_after_the_snooze_as_a_new_attempt() {
        let m = meeting("a", t(10, 0), 30);
        let s = MeetingState {
            objective_shown: 1,
            last_objective_shown: Some(t(9, 30)),
            objective_snoozed_until: Some(t(9, 40)),
            ..Default::default()
        };
        let p = plan_one(&m, customer(), s, t(9, 31));
        assert_eq!(kinds(&p)[0], (PromptKind::Objective, t(9, 40), 1));
    }

    #[test]
    fn a_snooze_reopens_only_the_showing_before_it() {
        let m = meeting("a", t(10, 0), 30);
        let s = MeetingState {
            objective_shown: 2,
            last_objective_shown: Some(t(9, 40)),
            objective_snoozed_until: Some(t(9, 40)),
            ..Default::default()
        };
        let p = plan_one(&m, customer(), s, t(9, 41));
        assert!(p.prompts.iter().all(|p| p.kind != PromptKind::Objective));
        let s = MeetingState {
            outcome_shown: 2,
            last_outcome_shown: Some(t(10, 45)),
            outcome_snoozed_until: Some(t(10, 45)),
            objective_missed: true,
            ..Default::default()
        };
        assert_eq!(
            kinds(&plan_one(&m, customer(), s, t(10, 46))),
            vec![(PromptKind::Outcome, t(12, 45), 2)],
            "after the snoozed showing, the normal re-ask applies"
        );
    }

    #[test]
    fn a_snooze_past_the_start_drops_the_objective_prompt() {
        let m = meeting("a", t(10, 0), 30);
        let s = MeetingState {
            objective_shown: 1,
            last_objective_shown: Some(t(9, 55)),
            objective_snoozed_until: Some(t(10, 5)),
            ..Default::default()
        };
        let p = plan_one(&m, customer(), s, t(9, 56));
        assert!(p.prompts.iter().all(|p| p.kind != PromptKind::Objective));
    }

    #[test]
    fn a_set_objective_means_no_objective_prompt() {
        let m = meeting("a", t(10, 0), 30);
        let s = MeetingState {
            objective: objective(),
            ..Default::default()
        };
        let p = plan_one(&m, customer(), s, t(9, 0));
        assert_eq!(kinds(&p), vec![(PromptKind::Outcome, t(10, 35), 0)]);
    }

    #[test]
    fn an_unanswered_outcome_is_asked_again_after_reask_until_the_limit() {
        let m = meeting("a", t(10, 0), 30);
        let shown = |n: u32| MeetingState {
            outcome_shown: n,
            last_outcome_shown: Some(t(10, 35)),
            objective_missed: true,
            ..Default::default()
        };
        let p = plan_one(&m, customer(), shown(1), t(11, 0));
        assert_eq!(kinds(&p), vec![(PromptKind::Outcome, t(12, 35), 1)]);
        let p = plan_one(&m, customer(), shown(3), t(11, 0));
        assert_eq!(kinds(&p), vec![(PromptKind::Outcome, t(12, 35), 3)]);
        let p = plan_one(&m, customer(), shown(4), t(11, 0));
        assert!(p.prompts.is_empty(), "after 1 + reask_limit showings: none");
    }

    #[test]
    fn a_snoozed_outcome_comes_back_after_the_snooze() {
        let m = meeting("a", t(10, 0), 30);
        let s = MeetingState {
            outcome_shown: 1,
            last_outcome_shown: Some(t(10, 35)),
            outcome_snoozed_until: Some(t(10, 45)),
            objective_missed: true,
            ..Default::default()
        };
        assert_eq!(
            kinds(&plan_one(&m, customer(), s, t(10, 36))),
            vec![(PromptKind::Outcome, t(10, 45), 1)]
        );
    }

    #[test]
    fn a_recorded_outcome_ends_the_prompts() {
        let m = meeting("a", t(10, 0), 30);
        let s = MeetingState {
            objective: objective(),
            outcome: Some(OutcomeRecord {
                result: Outcome::Committed,
                next_step: None,
                note: None,
                recorded_at: t(10, 40),
                via: Via::Notification,
            }),
            ..Default::default()
        };
        assert!(plan_one(&m, customer(), s, t(10, 41)).prompts.is_empty());
    }

    #[test]
    fn a_meeting_that_ended_long_before_it_was_first_seen_is_not_asked_about() {
        let m = meeting("a", t(10, 0), 30);
        let s = MeetingState {
            first_seen: Some(t(23, 50)),
            objective_missed: true,
            ..Default::default()
        };
        let p = plan_one(&m, customer(), s, t(23, 50));
        assert!(p.prompts.is_empty());
    }

    #[test]
    fn a_meeting_that_ended_within_the_lookback_is_asked_about_at_once() {
        let m = meeting("a", t(10, 0), 30);
        let s = MeetingState {
            first_seen: Some(t(12, 0)),
            objective_missed: true,
            ..Default::default()
        };
        let p = plan_one(&m, customer(), s, t(12, 0));
        assert_eq!(kinds(&p), vec![(PromptKind::Outcome, t(10, 35), 0)]);
        assert!(p.prompts[0].due <= t(12, 0), "overdue means show now");
    }

    #[test]
    fn a_moved_meeting_moves_its_prompts_and_keeps_its_id() {
        let m = meeting("a", t(10, 0), 30);
        let moved = meeting("a", t(15, 0), 30);
        let before = plan_one(&m, customer(), MeetingState::default(), t(8, 0));
        let after = plan_one(&moved, customer(), MeetingState::default(), t(8, 0));
        assert_eq!(before.prompts[0].key(), after.prompts[0].key());
        assert_eq!(after.prompts[0].due, t(14, 45));
    }

    #[test]
    fn a_cancelled_meeting_with_an_objective_is_recorded_cancelled_and_not_prompted() {
        let mut m = meeting("a", t(10, 0), 30);
        m.status = MeetingStatus::Cancelled;
        let s = MeetingState {
            objective: objective(),
            ..Default::default()
        };
        let p = plan_one(&m, internal(), s, t(9, 0));
        assert!(p.prompts.is_empty());
        assert_eq!(p.cancelled, vec![m.id.clone()]);
    }

    #[test]
    fn a_cancelled_meeting_without_an_objective_leaves_no_trace() {
        let mut m = meeting("a", t(10, 0), 30);
        m.status = MeetingStatus::Cancelled;
        let p = plan_one(&m, internal(), MeetingState::default(), t(9, 0));
        assert_eq!(p, Plan::default());
    }

    #[test]
    fn a_deleted_meeting_is_found_by_comparing_polls() {
        let a = meeting("a", t(10, 0), 30);
        let b = meeting("b", t(11, 0), 30);
        assert_eq!(gone(&[a.clone(), b.clone()], &[b]), vec![&a.id]);
    }

    #[test]
    fn prompts_come_sorted_by_due_time() {
        let a = meeting("a", t(12, 0), 30);
        let b = meeting("b", t(10, 0), 30);
        let p = plan(
            &[(a, customer()), (b, customer())],
            &HashMap::new(),
            t(8, 0),
            &Prompts::default(),
        );
        let dues: Vec<_> = p.prompts.iter().map(|p| p.due).collect();
        let mut sorted = dues.clone();
        sorted.sort();
        assert_eq!(dues, sorted);
        assert_eq!(p.prompts[0].meeting.as_str(), "b");
    }
}
