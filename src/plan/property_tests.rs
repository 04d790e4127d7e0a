//! A property test of the planner on a fixed seed (so a failure reproduces): random durations
//! (zero to `Duration::MAX`), times anywhere chrono can hold and states with any field set feed
//! [`plan`], [`reopen`], [`snoozed_until`] and [`pending_kind`], none of which may panic.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::tests::row;
use super::{pending_kind, plan, reopen, snoozed_until};
use crate::config::Prompts;
use crate::model::testing::{customer, meeting, t};
use crate::model::{LedgerRow, MeetingState, PlannedPrompt};

#[test]
fn random_durations_and_times_never_make_plan_panic() {
    // A property test on a fixed seed (so a failure reproduces): durations from zero to
    // `Duration::MAX`, times anywhere chrono can hold, states with every field set or not.
    let mut rng = fastrand::Rng::with_seed(0x6e78_7374);
    let duration = |rng: &mut fastrand::Rng| match rng.u8(0..4) {
        0 => std::time::Duration::ZERO,
        1 => std::time::Duration::MAX,
        2 => std::time::Duration::from_secs(rng.u64(0..=u64::MAX)),
        _ => std::time::Duration::from_secs(rng.u64(0..400 * 86_400)),
    };
    let (min, max) = (
        DateTime::<Utc>::MIN_UTC.timestamp(),
        DateTime::<Utc>::MAX_UTC.timestamp(),
    );
    let time = |rng: &mut fastrand::Rng| match rng.u8(0..4) {
        0 => DateTime::<Utc>::MIN_UTC,
        1 => DateTime::<Utc>::MAX_UTC,
        2 => DateTime::from_timestamp(rng.i64(min..=max), 0).unwrap(),
        _ => t(10, 0) + TimeDelta::seconds(rng.i64(-86_400 * 60..86_400 * 60)),
    };
    let maybe = |rng: &mut fastrand::Rng| {
        let v = time(rng);
        rng.bool().then_some(v)
    };
    for _ in 0..20_000 {
        let rules = Prompts {
            before: duration(&mut rng),
            after: duration(&mut rng),
            snooze: duration(&mut rng),
            reask: duration(&mut rng),
            reask_limit: rng.u32(..),
            lookback: duration(&mut rng),
            timeout: duration(&mut rng),
            ..Prompts::default()
        };
        let start = time(&mut rng);
        let mut m = meeting("a", t(10, 0));
        m.start = start;
        m.end = time(&mut rng).max(start);
        m.recurring = rng.bool();
        let s = MeetingState {
            objective_shown: rng.u32(0..3),
            outcome_shown: rng.u32(..),
            last_objective_shown: maybe(&mut rng),
            last_outcome_shown: maybe(&mut rng),
            objective_snoozed_until: snoozed_until(maybe(&mut rng), rules.snooze),
            outcome_snoozed_until: maybe(&mut rng),
            first_seen: maybe(&mut rng),
            ..Default::default()
        };
        let now = time(&mut rng);
        let mut states = HashMap::new();
        states.insert(m.id.clone(), s);
        let meetings = [(m.clone(), customer())];
        let p = plan(&meetings, &states, now, &rules);
        let left: Vec<PlannedPrompt> = p.prompts.clone();
        let _ = reopen(&left, &meetings, &states, now, &rules);
        let row = LedgerRow {
            start: m.start,
            end: m.end,
            first_seen: time(&mut rng),
            ..row(t(10, 0), t(8, 0))
        };
        let _ = pending_kind(&row, rng.bool(), now);
    }
}
