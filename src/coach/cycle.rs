//! The sell cycle, measured on the user's own ledger (docs/design.md, "Coaching rules"): per
//! account that is won or lost, the days from its first customer meeting to the won/lost day;
//! the median by quarter of the first meeting, and split by how often the account's meetings had
//! an objective. Every figure carries its count, and a median is given only from
//! [`MIN_SAMPLE`] accounts up; below that, a plain sentence says so.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, TimeZone};
use serde::Serialize;

use super::status::{State, status_of_all};
use super::{day_of, happens};
use crate::model::{AccountMark, LedgerRow};

/// The fewest closed accounts a median is given for. With one or two, the "median" is one or
/// two deals' own story, and a user comparing quarters would read noise as a trend; three is
/// the least where the middle value is not just one of the ends.
pub const MIN_SAMPLE: u32 = 3;

/// The share of an account's meetings (up to the close) that must have had an objective set
/// before they started for the account to count as coached with objectives (issue 14: "at least
/// 80% vs less").
pub const OBJECTIVE_COVERAGE: f64 = 0.8;

/// The group of accounts whose meetings had an objective at least [`OBJECTIVE_COVERAGE`] of
/// the time, and the group of the rest.
pub const COVERED: &str = "objective_80_plus";
pub const UNCOVERED: &str = "objective_under_80";

/// One closed account's cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CycleAccount {
    pub account: String,
    /// `won` or `lost`.
    pub state: State,
    pub first_meeting: NaiveDate,
    pub closed_on: NaiveDate,
    /// Days from the first meeting to the close (0 when a mark dates the close earlier).
    pub days: i64,
    /// The quarter of the first meeting, e.g. `2026-Q1`.
    pub quarter: String,
    /// Customer meetings that took place up to the close, and how many had an objective set at
    /// or before their start.
    pub meetings: u32,
    pub with_objective: u32,
    /// `with_objective / meetings >= OBJECTIVE_COVERAGE`.
    pub covered: bool,
}

/// The median cycle of a group of closed accounts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CycleGroup {
    /// `all`, a quarter (`2026-Q1`), [`COVERED`] or [`UNCOVERED`].
    pub group: String,
    /// How many closed accounts the group holds.
    pub n: u32,
    /// The median days; `None` when `n < MIN_SAMPLE`.
    pub median_days: Option<f64>,
    /// Said instead of a median when `n < MIN_SAMPLE`.
    pub note: Option<String>,
}

/// The whole measure: the accounts, and the medians over all, by quarter (oldest first) and by
/// objective coverage (covered first).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SellCycle {
    pub accounts: Vec<CycleAccount>,
    pub total: CycleGroup,
    pub by_quarter: Vec<CycleGroup>,
    pub by_coverage: Vec<CycleGroup>,
}

fn group(name: &str, mut days: Vec<i64>) -> CycleGroup {
    let n = days.len() as u32;
    days.sort_unstable();
    let (median_days, note) = if n >= MIN_SAMPLE {
        let mid = days.len() / 2;
        let m = if days.len() % 2 == 1 {
            days[mid] as f64
        } else {
            (days[mid - 1] + days[mid]) as f64 / 2.0
        };
        (Some(m), None)
    } else if n == 0 {
        (
            None,
            Some("No account has been won or lost here yet.".to_owned()),
        )
    } else {
        let s = if n == 1 { "" } else { "s" };
        (
            None,
            Some(format!(
                "Only {n} account{s} won or lost here: too few to say anything (a median needs \
                 at least {MIN_SAMPLE})."
            )),
        )
    };
    CycleGroup {
        group: name.to_owned(),
        n,
        median_days,
        note,
    }
}

/// Measures the sell cycle over `rows` (the ledger's customer meetings, any order) and `marks`;
/// `ladder` is `prompts.objectives` (its last rung is the sale).
pub fn sell_cycle<Z: TimeZone>(
    ladder: &[String],
    rows: &[LedgerRow],
    marks: &[AccountMark],
    zone: &Z,
) -> SellCycle {
    sell_cycle_since(ladder, rows, marks, None, zone)
}

/// [`sell_cycle`] of the accounts closed on or after `since` (all when `None`), each still
/// measured from its first meeting: `rows` must hold the whole ledger, not only meetings since.
pub fn sell_cycle_since<Z: TimeZone>(
    ladder: &[String],
    rows: &[LedgerRow],
    marks: &[AccountMark],
    since: Option<NaiveDate>,
    zone: &Z,
) -> SellCycle {
    let statuses = status_of_all(ladder, rows, marks, zone);
    let mut by_account: BTreeMap<&str, Vec<&LedgerRow>> = BTreeMap::new();
    for r in rows.iter().filter(|r| happens(r)) {
        if let Some(a) = r.account.as_deref() {
            by_account.entry(a).or_default().push(r);
        }
    }
    let mut accounts = Vec::new();
    for (account, meetings) in by_account {
        let Some(st) = statuses.get(account) else {
            continue;
        };
        let Some(closed_on) = st.on.filter(|_| st.state != State::Open) else {
            continue;
        };
        if since.is_some_and(|s| closed_on < s) {
            continue;
        }
        let Some(first) = meetings.iter().map(|r| day_of(r, zone)).min() else {
            continue;
        };
        let held: Vec<_> = meetings
            .iter()
            .filter(|r| day_of(r, zone) <= closed_on)
            .collect();
        let with_objective = held
            .iter()
            .filter(|r| r.objective.as_ref().is_some_and(|o| o.set_at <= r.start))
            .count() as u32;
        let n = held.len() as u32;
        accounts.push(CycleAccount {
            account: account.to_owned(),
            state: st.state,
            first_meeting: first,
            closed_on,
            days: (closed_on - first).num_days().max(0),
            quarter: format!("{}-Q{}", first.year(), first.month0() / 3 + 1),
            meetings: n,
            with_objective,
            covered: n > 0 && f64::from(with_objective) >= OBJECTIVE_COVERAGE * f64::from(n),
        });
    }
    let mut quarters: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for a in &accounts {
        quarters.entry(&a.quarter).or_default().push(a.days);
    }
    let days_where = |covered: bool| {
        accounts
            .iter()
            .filter(|a| a.covered == covered)
            .map(|a| a.days)
            .collect::<Vec<_>>()
    };
    SellCycle {
        total: group("all", accounts.iter().map(|a| a.days).collect()),
        by_quarter: quarters
            .into_iter()
            .map(|(q, days)| group(q, days))
            .collect(),
        by_coverage: vec![
            group(COVERED, days_where(true)),
            group(UNCOVERED, days_where(false)),
        ],
        accounts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coach::testing::{day, ladder, mark, meeting, meeting_at};
    use crate::model::{MarkKind, Outcome::*};
    use chrono::Utc;

    /// An account with a first meeting on `first` (objective or not) and a no-sale on `last`.
    fn lost(account: &str, first: (u32, u32), last: (u32, u32), objective: bool) -> Vec<LedgerRow> {
        let obj = objective.then_some("Agree to a next meeting");
        vec![
            meeting(account, first, obj, Some(Continuation)),
            meeting(account, last, obj, Some(NoSale)),
        ]
    }

    #[test]
    fn a_cycle_runs_between_the_users_local_days() {
        // A first meeting on Monday 5 January 08:00 in Sydney (Sunday 4 January 21:00 UTC) and
        // a no-sale on Sunday 25 January 19:00 in Los Angeles (Monday 26 January 03:00 UTC).
        let rows = [
            meeting_at(
                "Acme",
                "2026-01-04T21:00:00Z".parse().unwrap(),
                None,
                Some(Continuation),
            ),
            meeting_at(
                "Acme",
                "2026-01-26T03:00:00Z".parse().unwrap(),
                None,
                Some(NoSale),
            ),
        ];
        let in_sydney =
            &sell_cycle(&ladder(), &rows, &[], &chrono_tz::Australia::Sydney).accounts[0];
        assert_eq!(
            (in_sydney.first_meeting, in_sydney.closed_on),
            (day(1, 5), day(1, 26))
        );
        let in_la =
            &sell_cycle(&ladder(), &rows, &[], &chrono_tz::America::Los_Angeles).accounts[0];
        assert_eq!(
            (in_la.first_meeting, in_la.closed_on),
            (day(1, 4), day(1, 25))
        );
        let in_utc = &sell_cycle(&ladder(), &rows, &[], &Utc).accounts[0];
        assert_eq!((in_utc.first_meeting, in_utc.days), (day(1, 4), 22));
    }

    #[test]
    fn days_run_from_the_first_meeting_to_the_close_and_open_accounts_are_left_out() {
        let l = ladder();
        let mut rows = lost("Acme", (1, 5), (1, 25), true);
        rows.push(meeting("Globex", (2, 1), Some(&l[0]), Some(Committed)));
        let c = sell_cycle(&l, &rows, &[], &Utc);
        assert_eq!(c.accounts.len(), 1);
        let a = &c.accounts[0];
        assert_eq!(
            (a.account.as_str(), a.state, a.days),
            ("Acme", State::Lost, 20)
        );
        assert_eq!(
            (a.quarter.as_str(), a.meetings, a.with_objective),
            ("2026-Q1", 2, 2)
        );
        assert!(a.covered);
    }

    #[test]
    fn since_keeps_accounts_closed_from_then_on_measured_from_their_first_meeting() {
        let mut rows = lost("Acme", (1, 5), (1, 25), true);
        rows.extend(lost("Globex", (1, 5), (3, 5), true));
        let c = sell_cycle_since(&ladder(), &rows, &[], Some(day(2, 1)), &Utc);
        assert_eq!(c.accounts.len(), 1);
        assert_eq!(
            (c.accounts[0].account.as_str(), c.accounts[0].days),
            ("Globex", 59)
        );
    }

    #[test]
    fn a_won_mark_dates_the_close() {
        let rows = [meeting("Acme", (4, 1), None, Some(Continuation))];
        let marks = [mark("Acme", MarkKind::Won, day(4, 11), 1, (4, 11))];
        let c = sell_cycle(&ladder(), &rows, &marks, &Utc);
        assert_eq!(c.accounts[0].days, 10);
        assert_eq!(c.accounts[0].quarter, "2026-Q2");
        assert_eq!(c.accounts[0].state, State::Won);
    }

    #[test]
    fn medians_need_three_accounts_and_say_so_below_that() {
        let mut rows = Vec::new();
        rows.extend(lost("A", (1, 1), (1, 11), true)); // 10 days, Q1, covered
        rows.extend(lost("B", (1, 1), (1, 21), true)); // 20 days, Q1, covered
        rows.extend(lost("C", (2, 1), (3, 3), true)); // 30 days, Q1, covered
        rows.extend(lost("D", (2, 1), (3, 13), true)); // 40 days, Q1, covered
        rows.extend(lost("E", (4, 1), (5, 1), false)); // 30 days, Q2, not covered
        let c = sell_cycle(&ladder(), &rows, &[], &Utc);
        assert_eq!((c.total.n, c.total.median_days), (5, Some(30.0)));
        let q1 = &c.by_quarter[0];
        assert_eq!(
            (q1.group.as_str(), q1.n, q1.median_days),
            ("2026-Q1", 4, Some(25.0))
        );
        assert_eq!(q1.note, None);
        let q2 = &c.by_quarter[1];
        assert_eq!(
            (q2.group.as_str(), q2.n, q2.median_days),
            ("2026-Q2", 1, None)
        );
        assert_eq!(
            q2.note.as_deref(),
            Some(
                "Only 1 account won or lost here: too few to say anything (a median needs at \
                 least 3)."
            )
        );
        let [covered, uncovered] = &c.by_coverage[..] else {
            panic!("two coverage groups: {:?}", c.by_coverage)
        };
        assert_eq!((covered.group.as_str(), covered.n), (COVERED, 4));
        assert_eq!(covered.median_days, Some(25.0));
        assert_eq!((uncovered.group.as_str(), uncovered.n), (UNCOVERED, 1));
        assert_eq!(uncovered.median_days, None);
    }

    #[test]
    fn coverage_counts_objectives_set_before_the_start_up_to_the_close() {
        let mut rows = lost("Acme", (1, 5), (1, 25), true);
        let mut late = meeting("Acme", (1, 10), Some("x"), Some(Continuation));
        late.objective.as_mut().unwrap().set_at = late.start + chrono::TimeDelta::hours(1);
        rows.push(late);
        // After the close: not counted.
        rows.push(meeting("Acme", (2, 5), None, None));
        let a = &sell_cycle(&ladder(), &rows, &[], &Utc).accounts[0];
        assert_eq!((a.meetings, a.with_objective, a.covered), (3, 2, false));
    }

    #[test]
    fn an_empty_ledger_says_nothing_closed_yet() {
        let c = sell_cycle(&ladder(), &[], &[], &Utc);
        assert_eq!(c.total.n, 0);
        assert_eq!(
            c.total.note.as_deref(),
            Some("No account has been won or lost here yet.")
        );
        assert!(c.by_quarter.is_empty());
    }
}
