//! Slipped commitments: an outcome's next step whose due date has passed with no later customer
//! meeting of that account (docs/design.md, "Coaching rules").
//!
//! "Later" means starting after the outcome's meeting started, in the past or still to come (a
//! booked meeting is the next step in motion). Meetings that do not happen (see
//! [`super::happens`]: cancelled, gone before the start, answered `cancelled`, `rescheduled` or
//! `no_show`) do not count. A meeting without an account is its own series' only history.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::{happens, shell_quote};
use crate::model::{LedgerRow, MeetingId, Outcome};

/// A commitment whose date passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Slipped {
    pub meeting: MeetingId,
    pub account: Option<String>,
    pub title: String,
    pub start: DateTime<Utc>,
    /// The outcome it belongs to (kept by a correction that moves the date).
    pub result: Outcome,
    pub next_step: Option<String>,
    pub due: NaiveDate,
    /// Days from the due date to `today`, at least 1.
    pub days_late: i64,
    /// The command that moves the date (a correction that keeps the result and the next step).
    pub command: String,
}

/// The slipped commitments among `rows` (any order; any accounts) as of the user's `today`,
/// oldest due date first.
pub fn slipped(rows: &[LedgerRow], today: NaiveDate) -> Vec<Slipped> {
    // The latest start of a meeting that happens, per account (or series when none).
    let group = |r: &LedgerRow| r.account.clone().unwrap_or_else(|| r.series.clone());
    let mut latest: HashMap<String, DateTime<Utc>> = HashMap::new();
    for r in rows.iter().filter(|r| happens(r)) {
        let e = latest.entry(group(r)).or_insert(r.start);
        *e = (*e).max(r.start);
    }
    let mut out: Vec<Slipped> = rows
        .iter()
        .filter(|r| r.customer)
        .filter_map(|r| {
            let o = r.outcome.as_ref()?;
            let due = o.due.filter(|d| *d < today)?;
            if latest.get(&group(r)).is_some_and(|l| *l > r.start) {
                return None;
            }
            Some(Slipped {
                meeting: r.id.clone(),
                account: r.account.clone(),
                title: r.title.clone(),
                start: r.start,
                result: o.result,
                next_step: o.next_step.clone(),
                due,
                days_late: (today - due).num_days(),
                command: move_date_command(&r.id, o.result, o.next_step.as_deref()),
            })
        })
        .collect();
    out.sort_by(|a, b| (a.due, &a.meeting).cmp(&(b.due, &b.meeting)));
    out
}

/// `nextstep outcome RESULT --meeting ID --correct [--next-step TEXT] --due YYYY-MM-DD`.
fn move_date_command(id: &MeetingId, result: Outcome, next_step: Option<&str>) -> String {
    let step = next_step
        .map(|s| format!(" --next-step {}", shell_quote(s)))
        .unwrap_or_default();
    format!(
        "nextstep outcome {result} --meeting {} --correct{step} --due YYYY-MM-DD",
        shell_quote(id.as_str())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coach::testing::{dated, day, meeting};
    use crate::model::{MeetingStatus, Outcome::*};

    #[test]
    fn a_passed_due_date_without_a_later_meeting_has_slipped() {
        let rows = [dated(
            "Acme",
            (11, 2),
            Advanced,
            "Review the proposal",
            day(11, 12),
        )];
        let s = slipped(&rows, day(11, 15));
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].due, day(11, 12));
        assert_eq!(s[0].days_late, 3);
        assert_eq!(s[0].next_step.as_deref(), Some("Review the proposal"));
        assert_eq!(
            s[0].command,
            "nextstep outcome advanced --meeting work/Acme-1102/single --correct \
             --next-step 'Review the proposal' --due YYYY-MM-DD"
        );
        // On the due day itself and before, nothing has slipped yet.
        assert!(slipped(&rows, day(11, 12)).is_empty());
    }

    #[test]
    fn a_later_meeting_of_the_account_past_or_booked_keeps_it_from_slipping() {
        let first = dated("Acme", (11, 2), Advanced, "Review", day(11, 12));
        let past = meeting("Acme", (11, 10), None, None);
        let booked = meeting("Acme", (11, 30), None, None);
        assert!(slipped(&[first.clone(), past], day(11, 15)).is_empty());
        assert!(slipped(&[first.clone(), booked], day(11, 15)).is_empty());
        // Another account's meeting does not count.
        let globex = meeting("Globex", (11, 10), None, None);
        assert_eq!(slipped(&[first, globex], day(11, 15)).len(), 1);
    }

    #[test]
    fn later_meetings_that_did_not_happen_do_not_count() {
        let first = dated("Acme", (11, 2), Committed, "Sign", day(11, 12));
        let mut cancelled = meeting("Acme", (11, 10), None, None);
        cancelled.status = MeetingStatus::Cancelled;
        let mut gone = meeting("Acme", (11, 11), None, None);
        gone.gone_at = Some(gone.start - chrono::TimeDelta::days(1));
        let answered_cancelled = meeting("Acme", (11, 12), None, Some(Cancelled));
        let no_show = meeting("Acme", (11, 13), None, Some(NoShow));
        let rows = [first, cancelled, gone, answered_cancelled, no_show];
        assert_eq!(slipped(&rows, day(11, 15)).len(), 1);
    }

    #[test]
    fn slipped_commitments_come_oldest_due_date_first() {
        let rows = [
            dated("Acme", (11, 2), Advanced, "a", day(11, 12)),
            dated("Globex", (11, 3), Advanced, "b", day(11, 5)),
        ];
        let s = slipped(&rows, day(11, 20));
        assert_eq!(
            s.iter().map(|s| s.due).collect::<Vec<_>>(),
            [day(11, 5), day(11, 12)]
        );
    }
}
