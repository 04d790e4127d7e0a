//! Seeded ledger rows for the coaching tests: each test says only the account, the day, the
//! objective and the outcome that matter.

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};

use crate::model::testing::ledger_row;
use crate::model::{
    AccountMark, LedgerRow, MarkKind, ObjectiveRecord, Outcome, OutcomeRecord, Via,
};

/// The default ladder (`prompts.objectives`).
pub(crate) fn ladder() -> Vec<String> {
    crate::config::Prompts::default().objectives
}

/// The day `d` of month `m` of 2026.
pub(crate) fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

/// 10:00 UTC on [`day`]`(m, d)`.
pub(crate) fn at(m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, m, d, 10, 0, 0).unwrap()
}

/// A one-hour customer meeting of `account` at [`at`]`(m, d)`, its objective set a day before,
/// its outcome (if any) recorded an hour after it ended.
pub(crate) fn meeting(
    account: &str,
    (m, d): (u32, u32),
    objective: Option<&str>,
    outcome: Option<Outcome>,
) -> LedgerRow {
    meeting_at(account, at(m, d), objective, outcome)
}

/// [`meeting`] starting at the instant `start`, for the tests of the user's local days.
pub(crate) fn meeting_at(
    account: &str,
    start: DateTime<Utc>,
    objective: Option<&str>,
    outcome: Option<Outcome>,
) -> LedgerRow {
    LedgerRow {
        title: format!("{account} call"),
        first_seen: start - TimeDelta::days(7),
        objective: objective.map(|text| ObjectiveRecord {
            text: text.into(),
            set_at: start - TimeDelta::days(1),
            via: Via::Cli,
        }),
        outcome: outcome.map(|result| OutcomeRecord {
            result,
            next_step: None,
            note: None,
            recorded_at: start + TimeDelta::hours(2),
            via: Via::Cli,
            due: None,
        }),
        ..ledger_row(
            "work",
            &format!("{account}-{}", start.format("%m%d")),
            account,
            start,
            start + TimeDelta::hours(1),
        )
    }
}

/// [`meeting`] whose outcome carries `next_step`, due on `due`.
pub(crate) fn dated(
    account: &str,
    when: (u32, u32),
    result: Outcome,
    next_step: &str,
    due: NaiveDate,
) -> LedgerRow {
    let mut r = meeting(account, when, None, Some(result));
    if let Some(o) = r.outcome.as_mut() {
        o.next_step = Some(next_step.into());
        o.due = Some(due);
    }
    r
}

/// A mark of `account`, appended as number `seq`, recorded at [`at`]`(at_md)`.
pub(crate) fn mark(
    account: &str,
    kind: MarkKind,
    on: NaiveDate,
    seq: i64,
    (m, d): (u32, u32),
) -> AccountMark {
    AccountMark {
        account: account.into(),
        kind,
        on,
        via: Via::Cli,
        at: at(m, d),
        seq,
    }
}
