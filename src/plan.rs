//! Prompt rules (docs/design.md, "Prompt rules"), pure: meetings with their verdicts, what the
//! ledger knows, and "now" in; the prompts that should exist and when they are due out, plus the
//! facts the daemon should record (an objective missed, a meeting with an objective that was
//! cancelled). The rules the ledger applies when it reads (which prompt a snooze belongs to, how
//! long it lasts, which meetings `nextstep pending` lists) are here too, so the ledger only stores
//! and folds.
//!
//! The daemon calls [`plan`] after every poll, every answer and every timer tick; nothing here is
//! stateful, so a restart plans exactly what the previous process would have planned. Each showing
//! has a key (`meeting#kind#attempt`) and the ledger records it before it is shown, which is what
//! keeps a restart from showing it twice.
//!
//! Bounded: all time arithmetic is checked (a sum past the end of time means "never", a
//! difference before its start "long ago"), so no duration or time panics here; and a series that
//! recurs more often than daily (an invitation with `FREQ=MINUTELY`, say) is asked about once per
//! day, not once per occurrence ([`too_frequent`]).
//!
//! Which meetings missing from a poll were removed from their calendar (and so may be recorded
//! `cancelled`) is [`reconcile`]'s decision, in `plan/reconcile.rs`.

use std::collections::HashMap;

mod reconcile;
pub use reconcile::{Reconciled, reconcile};

use chrono::{DateTime, TimeDelta, Utc};

mod frequent;
#[cfg(test)]
mod property_tests;
mod reopen;

pub use frequent::too_frequent;
pub use reopen::reopen;

use crate::config::Prompts;
use crate::model::{
    LedgerRow, Meeting, MeetingId, MeetingState, MeetingStatus, PlannedPrompt, PromptKind, Verdict,
};

/// Outcome prompts of meetings that ended longer ago than this are no longer listed as pending:
/// an unanswered meeting from two months ago is history, not a to-do. Their outcome can still be
/// recorded with `nextstep outcome --meeting ID`.
pub const PENDING_OUTCOME_CAP: chrono::TimeDelta = chrono::TimeDelta::days(30);

/// Objective prompts are listed as pending for meetings starting within this horizon.
pub const PENDING_OBJECTIVE_HORIZON: chrono::TimeDelta = chrono::TimeDelta::hours(24);

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

fn span(d: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// `t + d`, or `None` past the end of time.
fn after(t: DateTime<Utc>, d: std::time::Duration) -> Option<DateTime<Utc>> {
    t.checked_add_signed(span(d))
}

/// `t - d`, or the beginning of time.
fn before(t: DateTime<Utc>, d: std::time::Duration) -> DateTime<Utc> {
    t.checked_sub_signed(span(d))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
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
    let skip = too_frequent(meetings);
    for (m, v) in meetings {
        if skip.contains(&m.id) {
            continue;
        }
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
            && m.end > before(now, rules.lookback)
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
        before(m.start, rules.before)
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
        if seen_late && m.end < before(now, rules.lookback) {
            return None;
        }
        after(m.end, rules.after)?
    } else {
        let last = s.last_outcome_shown?;
        match s.outcome_snoozed_until {
            Some(until) if until > last => until,
            _ if s.outcome_shown <= rules.reask_limit => after(last, rules.reask)?,
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

/// Until when a snooze given at `snoozed_at` holds the prompt back: `prompts.snooze` later.
/// `None` without a snooze, or when the sum leaves the calendar.
pub fn snoozed_until(
    snoozed_at: Option<DateTime<Utc>>,
    snooze: std::time::Duration,
) -> Option<DateTime<Utc>> {
    snoozed_at.and_then(|t| after(t, snooze))
}

/// Which prompt a snooze, a dismissal or a not-sales answer was given to. An answer keyed like
/// its prompt's [`PlannedPrompt::key`] (`meeting#kind#attempt…`) names it; any other key (a CLI
/// answer) falls back to the time: before the meeting's start means the objective prompt.
pub fn prompt_answered(
    key: &str,
    meeting: &MeetingId,
    start: DateTime<Utc>,
    at: DateTime<Utc>,
) -> PromptKind {
    prompt_of_key(key, meeting).unwrap_or(if at < start {
        PromptKind::Objective
    } else {
        PromptKind::Outcome
    })
}

/// The prompt kind of a key shaped like [`PlannedPrompt::key`] (`meeting#kind#attempt…`).
fn prompt_of_key(key: &str, meeting: &MeetingId) -> Option<PromptKind> {
    let rest = key.strip_prefix(meeting.as_str())?.strip_prefix('#')?;
    [PromptKind::Objective, PromptKind::Outcome]
        .into_iter()
        .find(|k| {
            rest.strip_prefix(k.as_str())
                .is_some_and(|r| r.starts_with('#'))
        })
}

/// Whether `row` is waiting for an answer, and to which prompt, as `nextstep pending` lists it:
/// - `objective`: a customer meeting starting within [`PENDING_OBJECTIVE_HORIZON`] without an
///   objective;
/// - `outcome`: a customer meeting that ended within [`PENDING_OUTCOME_CAP`] without an outcome.
///   A meeting that had already ended when nextstep first saw it counts only once an outcome
///   prompt was shown for it (`outcome_prompted`; the daemon asks about those only within
///   `prompts.lookback`), so a first run does not list a month of history.
///
/// Meetings gone from their calendar, and running ones, are never pending.
pub fn pending_kind(
    row: &LedgerRow,
    outcome_prompted: bool,
    now: DateTime<Utc>,
) -> Option<PromptKind> {
    if row.gone_at.is_some() || !row.customer {
        return None;
    }
    let horizon = now.checked_add_signed(PENDING_OBJECTIVE_HORIZON)?;
    let cap = now.checked_sub_signed(PENDING_OUTCOME_CAP)?;
    if row.start > now && row.start <= horizon {
        return row.objective.is_none().then_some(PromptKind::Objective);
    }
    let ended = row.end <= now && row.end >= cap;
    let known = row.first_seen <= row.end || outcome_prompted;
    (ended && known && row.outcome.is_none()).then_some(PromptKind::Outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{customer, internal, ledger_row, meeting, t};
    use crate::model::{ObjectiveRecord, Outcome, OutcomeRecord, Via};

    pub(super) fn objective() -> Option<ObjectiveRecord> {
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

    /// The plan at `now` for the customer meeting `a` at 10:00, in state `s`.
    fn plan_a(s: MeetingState, now: DateTime<Utc>) -> Plan {
        plan_one(&meeting("a", t(10, 0)), customer(), s, now)
    }

    fn asks_objective(p: &Plan) -> bool {
        p.prompts.iter().any(|p| p.kind == PromptKind::Objective)
    }

    /// The state after `shown` showings of the objective prompt, the last at `last`, snoozed
    /// until `snoozed`.
    fn objective_shown(
        shown: u32,
        last: DateTime<Utc>,
        snoozed: Option<DateTime<Utc>>,
    ) -> MeetingState {
        MeetingState {
            objective_shown: shown,
            last_objective_shown: Some(last),
            objective_snoozed_until: snoozed,
            ..Default::default()
        }
    }

    /// The state after `shown` showings of the outcome prompt, the last at `last`, snoozed until
    /// `snoozed`; the objective was recorded missed.
    fn outcome_shown(
        shown: u32,
        last: DateTime<Utc>,
        snoozed: Option<DateTime<Utc>>,
    ) -> MeetingState {
        MeetingState {
            outcome_shown: shown,
            last_outcome_shown: Some(last),
            outcome_snoozed_until: snoozed,
            objective_missed: true,
            ..Default::default()
        }
    }

    #[test]
    fn a_customer_meeting_gets_an_objective_prompt_before_and_an_outcome_prompt_after() {
        let p = plan_a(MeetingState::default(), t(8, 0));
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
        let m = meeting("a", t(10, 0));
        assert!(
            plan_one(&m, internal(), MeetingState::default(), t(8, 0))
                .prompts
                .is_empty()
        );
    }

    #[test]
    fn a_meeting_first_seen_inside_the_lead_time_is_asked_at_once() {
        let p = plan_a(MeetingState::default(), t(9, 55));
        assert_eq!(p.prompts[0].kind, PromptKind::Objective);
        assert_eq!(p.prompts[0].due, t(9, 55));
    }

    #[test]
    fn an_objective_prompt_is_never_planned_after_the_start_and_the_objective_is_recorded_missed() {
        let m = meeting("a", t(10, 0));
        let p = plan_one(&m, customer(), MeetingState::default(), t(10, 5));
        assert!(!asks_objective(&p));
        assert_eq!(p.missed, vec![m.id.clone()]);
    }

    #[test]
    fn a_missed_objective_is_recorded_once() {
        let s = MeetingState {
            objective_missed: true,
            ..Default::default()
        };
        assert!(plan_a(s, t(10, 5)).missed.is_empty());
    }

    #[test]
    fn a_shown_objective_prompt_is_not_shown_again_without_a_snooze() {
        let p = plan_a(objective_shown(1, t(9, 45), None), t(9, 46));
        assert!(!asks_objective(&p));
    }

    #[test]
    fn a_snoozed_objective_prompt_comes_back_after_the_snooze_as_a_new_attempt() {
        let p = plan_a(objective_shown(1, t(9, 30), Some(t(9, 40))), t(9, 31));
        assert_eq!(kinds(&p)[0], (PromptKind::Objective, t(9, 40), 1));
    }

    #[test]
    fn a_snooze_reopens_only_the_showing_before_it() {
        let p = plan_a(objective_shown(2, t(9, 40), Some(t(9, 40))), t(9, 41));
        assert!(!asks_objective(&p));
        let s = outcome_shown(2, t(10, 45), Some(t(10, 45)));
        assert_eq!(
            kinds(&plan_a(s, t(10, 46))),
            vec![(PromptKind::Outcome, t(12, 45), 2)],
            "after the snoozed showing, the normal re-ask applies"
        );
    }

    #[test]
    fn a_snooze_past_the_start_drops_the_objective_prompt() {
        let p = plan_a(objective_shown(1, t(9, 55), Some(t(10, 5))), t(9, 56));
        assert!(!asks_objective(&p));
    }

    #[test]
    fn a_set_objective_means_no_objective_prompt() {
        let s = MeetingState {
            objective: objective(),
            ..Default::default()
        };
        let p = plan_a(s, t(9, 0));
        assert_eq!(kinds(&p), vec![(PromptKind::Outcome, t(10, 35), 0)]);
    }

    #[test]
    fn an_unanswered_outcome_is_asked_again_after_reask_until_the_limit() {
        let shown = |n: u32| outcome_shown(n, t(10, 35), None);
        let p = plan_a(shown(1), t(11, 0));
        assert_eq!(kinds(&p), vec![(PromptKind::Outcome, t(12, 35), 1)]);
        let p = plan_a(shown(3), t(11, 0));
        assert_eq!(kinds(&p), vec![(PromptKind::Outcome, t(12, 35), 3)]);
        let p = plan_a(shown(4), t(11, 0));
        assert!(p.prompts.is_empty(), "after 1 + reask_limit showings: none");
    }

    #[test]
    fn a_snoozed_outcome_comes_back_after_the_snooze() {
        let s = outcome_shown(1, t(10, 35), Some(t(10, 45)));
        assert_eq!(
            kinds(&plan_a(s, t(10, 36))),
            vec![(PromptKind::Outcome, t(10, 45), 1)]
        );
    }

    #[test]
    fn a_recorded_outcome_ends_the_prompts() {
        let s = MeetingState {
            objective: objective(),
            outcome: Some(OutcomeRecord {
                result: Outcome::Committed,
                next_step: None,
                note: None,
                recorded_at: t(10, 40),
                via: Via::Notification,
                due: None,
            }),
            ..Default::default()
        };
        assert!(plan_a(s, t(10, 41)).prompts.is_empty());
    }

    /// The plan, at the moment it is first seen at `at` (after its start), for meeting `a`.
    fn plan_first_seen(at: DateTime<Utc>) -> Plan {
        let s = MeetingState {
            first_seen: Some(at),
            objective_missed: true,
            ..Default::default()
        };
        plan_a(s, at)
    }

    #[test]
    fn a_meeting_that_ended_long_before_it_was_first_seen_is_not_asked_about() {
        let p = plan_first_seen(t(23, 50));
        assert!(p.prompts.is_empty());
    }

    #[test]
    fn a_meeting_that_ended_within_the_lookback_is_asked_about_at_once() {
        let p = plan_first_seen(t(12, 0));
        assert_eq!(kinds(&p), vec![(PromptKind::Outcome, t(10, 35), 0)]);
        assert!(p.prompts[0].due <= t(12, 0), "overdue means show now");
    }

    #[test]
    fn a_moved_meeting_moves_its_prompts_and_keeps_its_id() {
        let m = meeting("a", t(10, 0));
        let moved = meeting("a", t(15, 0));
        let before = plan_one(&m, customer(), MeetingState::default(), t(8, 0));
        let after = plan_one(&moved, customer(), MeetingState::default(), t(8, 0));
        assert_eq!(before.prompts[0].key(), after.prompts[0].key());
        assert_eq!(after.prompts[0].due, t(14, 45));
    }

    #[test]
    fn a_cancelled_meeting_with_an_objective_is_recorded_cancelled_and_not_prompted() {
        let mut m = meeting("a", t(10, 0));
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
        let mut m = meeting("a", t(10, 0));
        m.status = MeetingStatus::Cancelled;
        let p = plan_one(&m, internal(), MeetingState::default(), t(9, 0));
        assert_eq!(p, Plan::default());
    }

    #[test]
    fn prompts_come_sorted_by_due_time() {
        let a = meeting("a", t(12, 0));
        let b = meeting("b", t(10, 0));
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

    #[test]
    fn a_snooze_lasts_the_snooze_duration_and_none_means_none() {
        let ten = std::time::Duration::from_secs(600);
        assert_eq!(snoozed_until(Some(t(9, 45)), ten), Some(t(9, 55)));
        assert_eq!(snoozed_until(None, ten), None);
        assert_eq!(
            snoozed_until(Some(t(9, 45)), std::time::Duration::MAX),
            None
        );
    }

    #[test]
    fn an_answer_names_its_prompt_by_key_or_else_by_time() {
        let m = MeetingId("w/a/single".into());
        let start = t(10, 0);
        let by_key = |key| prompt_answered(key, &m, start, t(12, 0));
        assert_eq!(by_key("w/a/single#objective#0"), PromptKind::Objective);
        assert_eq!(
            by_key("w/a/single#objective#0#answer"),
            PromptKind::Objective
        );
        assert_eq!(by_key("w/a/single#outcome#2"), PromptKind::Outcome);
        // Not this meeting's key, or not a prompt key: the time decides.
        assert_eq!(
            prompt_answered("w/b/single#objective#0", &m, start, t(12, 0)),
            PromptKind::Outcome
        );
        assert_eq!(
            prompt_answered("cli-1", &m, start, t(9, 0)),
            PromptKind::Objective
        );
        assert_eq!(
            prompt_answered("w/a/single#objectives#0", &m, start, t(10, 0)),
            PromptKind::Outcome
        );
    }

    /// The 30-minute customer meeting `w/a/single` as the ledger returns it, first seen at
    /// `first_seen`.
    pub(super) fn row(start: DateTime<Utc>, first_seen: DateTime<Utc>) -> LedgerRow {
        LedgerRow {
            first_seen,
            last_seen: first_seen,
            ..ledger_row("w", "a", "Acme", start, start + TimeDelta::minutes(30))
        }
    }

    #[test]
    fn pending_is_an_objective_within_a_day_and_an_outcome_within_a_month() {
        let now = t(12, 0);
        let h = TimeDelta::hours(1);
        let early = now - h * 24 * 50;
        assert_eq!(
            pending_kind(&row(now + h, early), false, now),
            Some(PromptKind::Objective)
        );
        assert_eq!(pending_kind(&row(now + h * 30, early), false, now), None);
        assert_eq!(
            pending_kind(&row(now - h * 3, early), false, now),
            Some(PromptKind::Outcome)
        );
        assert_eq!(
            pending_kind(&row(now - h * 24 * 40, early), false, now),
            None
        );
        // Running: neither.
        assert_eq!(
            pending_kind(&row(now - TimeDelta::minutes(10), early), false, now),
            None
        );
        // Answered, gone, or not a customer meeting: nothing.
        let mut answered = row(now + h, early);
        answered.objective = objective();
        assert_eq!(pending_kind(&answered, false, now), None);
        let mut gone = row(now + h, early);
        gone.gone_at = Some(now);
        assert_eq!(pending_kind(&gone, false, now), None);
        let mut other = row(now + h, early);
        other.customer = false;
        assert_eq!(pending_kind(&other, false, now), None);
        // First seen after it ended: pending only once its outcome prompt was shown.
        let late = row(now - h * 5, now);
        assert_eq!(pending_kind(&late, false, now), None);
        assert_eq!(pending_kind(&late, true, now), Some(PromptKind::Outcome));
    }
}
