//! `nextstep report`: how often an objective was set, and how often customers committed. Pure:
//! ledger rows + now in, numbers out.
//!
//! Definitions (what each rate divides by):
//! - A meeting **counts** when it is a customer meeting that has started by `now`, was not gone
//!   from its calendar before its start, and whose outcome is not `cancelled` or `rescheduled`
//!   (it did not take place at that time). A `no_show` counts: you were there and prepared.
//! - **objective rate** = meetings with an objective set at or before their start / meetings
//!   that count. An objective typed in after the start does not count as set.
//! - **commitment rate** = `committed` / **held**, and **advance rate** = (`committed` +
//!   `advanced`) / held, where held = outcomes `committed`, `advanced`, `continuation` or
//!   `no_sale`: the meetings where the customer could have committed. `no_show`, `cancelled` and
//!   `rescheduled` are left out of the denominator, so a customer who did not turn up does not
//!   look like one who said no; they are still counted on their own.
//! - **awaiting outcome**: meetings that count, have ended, and have no outcome yet.
//!
//! A rate is `None` (shown as `–`) when its denominator is zero. Weeks are ISO weeks of the
//! meeting's start in the user's zone (the zone the caller passes: `chrono::Local` at the edges),
//! so a Monday 08:00 meeting in Sydney is in Monday's week; meetings without an account are
//! grouped under `(no account)`.

mod coaching;

use std::collections::BTreeMap;
use std::fmt;

pub use coaching::Coaching;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use serde::Serialize;

use crate::coach::local_day;
use crate::model::{AccountMark, LedgerRow, Outcome};

/// The numbers for one group of meetings.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Meetings that count (see the module doc).
    pub meetings: u32,
    /// Of those, with an objective set at or before the start.
    pub objective_set: u32,
    pub objective_rate: Option<f64>,
    /// Outcomes recorded, of any value.
    pub outcomes: u32,
    pub committed: u32,
    pub advanced: u32,
    pub continuation: u32,
    pub no_sale: u32,
    pub no_show: u32,
    pub rescheduled: u32,
    pub cancelled: u32,
    /// committed + advanced + continuation + no_sale: the denominator of the two rates below.
    pub held: u32,
    pub commitment_rate: Option<f64>,
    pub advance_rate: Option<f64>,
    pub awaiting_outcome: u32,
}

impl Stats {
    fn add(&mut self, r: &LedgerRow, now: DateTime<Utc>) {
        let result = r.outcome.as_ref().map(|o| o.result);
        if let Some(result) = result {
            self.outcomes += 1;
            *match result {
                Outcome::Committed => &mut self.committed,
                Outcome::Advanced => &mut self.advanced,
                Outcome::Continuation => &mut self.continuation,
                Outcome::NoSale => &mut self.no_sale,
                Outcome::NoShow => &mut self.no_show,
                Outcome::Rescheduled => &mut self.rescheduled,
                Outcome::Cancelled => &mut self.cancelled,
            } += 1;
        }
        if matches!(result, Some(Outcome::Cancelled | Outcome::Rescheduled)) {
            return;
        }
        self.meetings += 1;
        if r.objective.as_ref().is_some_and(|o| o.set_at <= r.start) {
            self.objective_set += 1;
        }
        if result.is_none() && r.end <= now {
            self.awaiting_outcome += 1;
        }
    }

    fn finish(&mut self) {
        let rate = |n: u32, d: u32| (d > 0).then(|| f64::from(n) / f64::from(d));
        self.held = self.committed + self.advanced + self.continuation + self.no_sale;
        self.objective_rate = rate(self.objective_set, self.meetings);
        self.commitment_rate = rate(self.committed, self.held);
        self.advance_rate = rate(self.committed + self.advanced, self.held);
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekStats {
    /// ISO week, e.g. `2026-W49`.
    pub week: String,
    #[serde(flatten)]
    pub stats: Stats,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountStats {
    pub account: String,
    #[serde(flatten)]
    pub stats: Stats,
}

/// The whole report: totals, then by week (oldest first) and by account (by name).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub since: Option<DateTime<Utc>>,
    pub generated_at: DateTime<Utc>,
    pub total: Stats,
    pub by_week: Vec<WeekStats>,
    pub by_account: Vec<AccountStats>,
    /// The sell cycle and the slipped count (issue 14), when [`Report::with_coaching`] added them;
    /// in JSON, `sell_cycle` and `slipped` at the top level.
    #[serde(flatten)]
    pub coaching: Option<Coaching>,
}

impl Report {
    /// Adds the coaching section, from the whole ledger's customer meetings `all_rows` (not only
    /// those since `since`: a cycle is measured from an account's first meeting) and every account
    /// mark; `ladder` is `prompts.objectives`, `today` the user's local date and `zone` the user's
    /// zone (the report's first day is `since`'s day there).
    pub fn with_coaching<Z: TimeZone>(
        mut self,
        ladder: &[String],
        all_rows: &[LedgerRow],
        marks: &[AccountMark],
        today: chrono::NaiveDate,
        zone: &Z,
    ) -> Report {
        let since = self.since.map(|s| local_day(s, zone));
        self.coaching = Some(Coaching::build(ladder, all_rows, marks, since, today, zone));
        self
    }
}

/// The group name of meetings without an account.
pub const NO_ACCOUNT: &str = "(no account)";

/// Aggregates `rows` (normally [`crate::ledger::Ledger::customer_meetings`] with the same
/// `since`) as of `now`, in weeks of the user's `zone`. Rows that are not customer meetings, have
/// not started, or were gone before their start are skipped; so are rows before `since`, which
/// callers make the start of the user's first day ([`crate::coach::day_start`]).
pub fn build<Z: TimeZone>(
    rows: &[LedgerRow],
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    zone: &Z,
) -> Report {
    let mut total = Stats::default();
    let mut weeks: BTreeMap<(i32, u32), Stats> = BTreeMap::new();
    let mut accounts: BTreeMap<&str, Stats> = BTreeMap::new();
    for r in rows {
        let took_place = r.customer
            && r.start <= now
            && since.is_none_or(|s| r.start >= s)
            && r.gone_at.is_none_or(|g| g > r.start);
        if !took_place {
            continue;
        }
        let w = local_day(r.start, zone).iso_week();
        total.add(r, now);
        weeks.entry((w.year(), w.week())).or_default().add(r, now);
        accounts
            .entry(r.account.as_deref().unwrap_or(NO_ACCOUNT))
            .or_default()
            .add(r, now);
    }
    total.finish();
    Report {
        since,
        generated_at: now,
        total,
        by_week: weeks
            .into_iter()
            .map(|((y, w), mut stats)| {
                stats.finish();
                WeekStats {
                    week: format!("{y}-W{w:02}"),
                    stats,
                }
            })
            .collect(),
        by_account: accounts
            .into_iter()
            .map(|(a, mut stats)| {
                stats.finish();
                AccountStats {
                    account: a.to_owned(),
                    stats,
                }
            })
            .collect(),
        coaching: None,
    }
}

fn pct(r: Option<f64>) -> String {
    match r {
        Some(r) => format!("{:.0}%", r * 100.0),
        None => "–".to_owned(),
    }
}

const COLUMNS: [&str; 8] = [
    "meetings",
    "objective",
    "outcomes",
    "held",
    "committed",
    "advanced",
    "commit",
    "advance",
];

fn cells(name: &str, s: &Stats) -> Vec<String> {
    vec![
        name.to_owned(),
        s.meetings.to_string(),
        format!("{} {}", s.objective_set, pct(s.objective_rate)),
        s.outcomes.to_string(),
        s.held.to_string(),
        s.committed.to_string(),
        s.advanced.to_string(),
        pct(s.commitment_rate),
        pct(s.advance_rate),
    ]
}

/// Writes the stats of each named group as a table: the names left-aligned under `title`, the
/// numbers right-aligned.
fn table<'a>(
    f: &mut fmt::Formatter<'_>,
    title: &str,
    groups: impl IntoIterator<Item = (&'a str, &'a Stats)>,
) -> fmt::Result {
    let mut all = vec![
        std::iter::once(title.to_owned())
            .chain(COLUMNS.iter().map(|c| c.to_string()))
            .collect::<Vec<_>>(),
    ];
    all.extend(groups.into_iter().map(|(name, s)| cells(name, s)));
    let widths: Vec<usize> = (0..all[0].len())
        .map(|i| all.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &all {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i == 0 {
                line.push_str(&format!("{cell:<w$}"));
            } else {
                line.push_str(&format!("  {cell:>w$}"));
            }
        }
        writeln!(f, "{}", line.trim_end())?;
    }
    Ok(())
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.since {
            Some(s) => write!(f, "Customer meetings since {}", s.format("%Y-%m-%d"))?,
            None => write!(f, "All customer meetings")?,
        }
        writeln!(
            f,
            ", as of {}",
            self.generated_at.format("%Y-%m-%d %H:%M UTC")
        )?;
        let t = &self.total;
        writeln!(
            f,
            "objective set before the start: {} of {} ({})",
            t.objective_set,
            t.meetings,
            pct(t.objective_rate)
        )?;
        writeln!(
            f,
            "committed: {} of {} held ({}); committed or advanced: {} ({})",
            t.committed,
            t.held,
            pct(t.commitment_rate),
            t.committed + t.advanced,
            pct(t.advance_rate)
        )?;
        writeln!(
            f,
            "also: {} continuation, {} no sale, {} no-show, {} rescheduled, {} cancelled, {} awaiting an outcome",
            t.continuation, t.no_sale, t.no_show, t.rescheduled, t.cancelled, t.awaiting_outcome
        )?;
        writeln!(f)?;
        let weeks = self.by_week.iter().map(|w| (w.week.as_str(), &w.stats));
        table(f, "week", weeks)?;
        writeln!(f)?;
        let accounts = self
            .by_account
            .iter()
            .map(|a| (a.account.as_str(), &a.stats));
        table(f, "account", accounts)?;
        if let Some(c) = &self.coaching {
            writeln!(f)?;
            c.fmt(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::ledger_row;
    use crate::model::{ObjectiveRecord, OutcomeRecord, Via};
    use chrono::{NaiveDate, TimeDelta};

    fn at(day: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, day, h, 0, 0).unwrap()
    }

    /// A meeting on `day` at 10:00–11:00 with an objective set at `objective_at` (hour of that day)
    /// and the outcome `result`.
    fn row(
        name: &str,
        account: &str,
        day: u32,
        objective_at: Option<u32>,
        result: Option<Outcome>,
    ) -> LedgerRow {
        LedgerRow {
            first_seen: at(1, 0),
            last_seen: at(1, 0),
            objective: objective_at.map(|h| ObjectiveRecord {
                text: "Agree to a next meeting".into(),
                set_at: at(day, h),
                via: Via::Notification,
            }),
            outcome: result.map(|result| OutcomeRecord {
                result,
                next_step: None,
                note: None,
                recorded_at: at(day, 12),
                via: Via::Notification,
                due: None,
            }),
            ..ledger_row("w", name, account, at(day, 10), at(day, 11))
        }
    }

    fn sample() -> Vec<LedgerRow> {
        let mut gone = row("i", "Globex", 8, Some(9), Some(Outcome::Cancelled));
        gone.gone_at = Some(at(8, 8));
        let mut internal = row("j", "Acme", 2, Some(9), Some(Outcome::Committed));
        internal.customer = false;
        vec![
            // Week 49, Acme.
            row("a", "Acme", 1, Some(9), Some(Outcome::Committed)),
            row("b", "Acme", 1, Some(10), Some(Outcome::Advanced)), // set exactly at start
            row("c", "Acme", 2, Some(11), Some(Outcome::Continuation)), // set late
            row("d", "Acme", 2, None, Some(Outcome::NoShow)),
            row("e", "Acme", 3, Some(9), Some(Outcome::Cancelled)),
            internal,
            // Week 50, Globex.
            row("f", "Globex", 8, Some(9), Some(Outcome::NoSale)),
            row("g", "Globex", 9, Some(9), None), // awaiting an outcome
            gone,
            row("h", "Globex", 20, Some(9), None), // in the future
        ]
    }

    #[test]
    fn rates_use_the_documented_denominators() {
        let now = at(10, 12);
        let r = build(&sample(), None, now, &Utc);
        let t = &r.total;
        // Counted: a b c d f g (e cancelled, i gone, j internal, h future).
        assert_eq!(t.meetings, 6);
        // a, b (at the start), f, g; not c (late), not d (none).
        assert_eq!(t.objective_set, 4);
        assert_eq!(t.objective_rate, Some(4.0 / 6.0));
        assert_eq!(t.outcomes, 6); // a b c d e f
        assert_eq!((t.committed, t.advanced, t.continuation), (1, 1, 1));
        assert_eq!(
            (t.no_sale, t.no_show, t.cancelled, t.rescheduled),
            (1, 1, 1, 0)
        );
        assert_eq!(t.held, 4);
        assert_eq!(t.commitment_rate, Some(0.25));
        assert_eq!(t.advance_rate, Some(0.5));
        assert_eq!(t.awaiting_outcome, 1);
    }

    /// The weeks of one-hour Acme meetings starting at `starts` (RFC 3339), in `zone`, from
    /// `since`.
    fn weeks_in<Z: TimeZone>(
        starts: &[&str],
        since: Option<DateTime<Utc>>,
        zone: &Z,
    ) -> Vec<(String, u32)> {
        let rows: Vec<LedgerRow> = starts
            .iter()
            .map(|s| {
                let start: DateTime<Utc> = s.parse().unwrap();
                ledger_row("w", s, "Acme", start, start + TimeDelta::hours(1))
            })
            .collect();
        build(&rows, since, at(31, 0), zone)
            .by_week
            .into_iter()
            .map(|w| (w.week, w.stats.meetings))
            .collect()
    }

    /// A meeting starting at `start` (RFC 3339) is in `local_week` in `zone` and in `utc_week`
    /// in UTC.
    fn assert_week<Z: TimeZone>(start: &str, zone: &Z, local_week: &str, utc_week: &str) {
        assert_eq!(weeks_in(&[start], None, zone), [(local_week.to_owned(), 1)]);
        assert_eq!(weeks_in(&[start], None, &Utc), [(utc_week.to_owned(), 1)]);
    }

    #[test]
    fn a_monday_morning_in_sydney_counts_in_mondays_week_though_it_is_sunday_in_utc() {
        // Monday 30 November 08:00 in Sydney (UTC+11) is Sunday 29 November 21:00 UTC.
        let sydney = chrono_tz::Australia::Sydney;
        assert_week("2026-11-29T21:00:00Z", &sydney, "2026-W49", "2026-W48");
    }

    #[test]
    fn a_sunday_evening_in_los_angeles_stays_in_sundays_week() {
        // Sunday 29 November 19:00 in Los Angeles (UTC−8) is Monday 30 November 03:00 UTC.
        let la = chrono_tz::America::Los_Angeles;
        assert_week("2026-11-30T03:00:00Z", &la, "2026-W48", "2026-W49");
    }

    #[test]
    fn the_since_cut_and_the_coaching_first_day_follow_the_users_zone() {
        // From Monday 30 November in Sydney: its Sunday 23:00 meeting (12:00 UTC) is left out,
        // its Monday 08:00 meeting (Sunday 21:00 UTC) counts.
        let sydney = chrono_tz::Australia::Sydney;
        let monday = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let since = crate::coach::day_start(monday, &sydney);
        let starts = ["2026-11-29T12:00:00Z", "2026-11-29T21:00:00Z"];
        let weeks = weeks_in(&starts, Some(since), &sydney);
        assert_eq!(weeks, [("2026-W49".to_owned(), 1)]);
        let r = build(&[], Some(since), at(31, 0), &sydney).with_coaching(
            &[],
            &[],
            &[],
            monday,
            &sydney,
        );
        assert_eq!(r.coaching.and_then(|c| c.since), Some(monday));
    }

    #[test]
    fn groups_by_iso_week_and_by_account() {
        let r = build(&sample(), None, at(10, 12), &Utc);
        let weeks: Vec<_> = r.by_week.iter().map(|w| w.week.as_str()).collect();
        assert_eq!(weeks, ["2026-W49", "2026-W50"]);
        let acme = &r.by_account[0];
        assert_eq!(acme.account, "Acme");
        assert_eq!(acme.stats.meetings, 4);
        assert_eq!(acme.stats.objective_rate, Some(0.5));
        assert_eq!(acme.stats.held, 3);
        assert_eq!(acme.stats.commitment_rate, Some(1.0 / 3.0));
        assert_eq!(acme.stats.advance_rate, Some(2.0 / 3.0));
        let globex = &r.by_account[1];
        assert_eq!(globex.account, "Globex");
        assert_eq!(
            (
                globex.stats.meetings,
                globex.stats.objective_set,
                globex.stats.held
            ),
            (2, 2, 1)
        );
        assert_eq!(globex.stats.commitment_rate, Some(0.0));
        assert_eq!(r.by_week[1].stats, globex.stats);
    }

    #[test]
    fn since_drops_earlier_meetings_and_an_empty_group_has_no_rates() {
        let r = build(&sample(), Some(at(9, 0)), at(10, 12), &Utc);
        assert_eq!(r.total.meetings, 1); // g
        assert_eq!(r.total.held, 0);
        assert_eq!(r.total.commitment_rate, None);
        let empty = build(&[], None, at(10, 12), &Utc);
        assert_eq!(empty.total, Stats::default());
        assert!(empty.by_week.is_empty());
    }

    #[test]
    fn a_meeting_without_an_account_is_grouped_as_no_account() {
        let mut r = row("x", "", 1, None, None);
        r.account = None;
        let rep = build(&[r], None, at(1, 10) + TimeDelta::minutes(5), &Utc);
        assert_eq!(rep.by_account[0].account, NO_ACCOUNT);
        assert_eq!(rep.total.awaiting_outcome, 0, "not ended yet");
    }

    #[test]
    fn the_text_report_shows_totals_and_aligned_tables() {
        let text = build(&sample(), None, at(10, 12), &Utc).to_string();
        assert!(
            text.starts_with("All customer meetings, as of 2026-12-10 12:00 UTC\n"),
            "{text}"
        );
        assert!(
            text.contains("objective set before the start: 4 of 6 (67%)"),
            "{text}"
        );
        assert!(
            text.contains("committed: 1 of 4 held (25%); committed or advanced: 2 (50%)"),
            "{text}"
        );
        let acme = text.lines().find(|l| l.starts_with("Acme")).unwrap();
        let cols: Vec<_> = acme.split_whitespace().collect();
        assert_eq!(
            cols,
            ["Acme", "4", "2", "50%", "5", "3", "1", "1", "33%", "67%"]
        );
        let header = text.lines().find(|l| l.starts_with("account")).unwrap();
        assert_eq!(header.len(), acme.len(), "columns line up:\n{text}");
    }

    #[test]
    fn the_json_report_has_flat_groups() {
        let v = serde_json::to_value(build(&sample(), None, at(10, 12), &Utc)).unwrap();
        assert_eq!(v["by_week"][0]["week"], "2026-W49");
        assert_eq!(v["by_week"][0]["meetings"], 4);
        assert_eq!(v["total"]["advance_rate"], 0.5);
        assert!(v["since"].is_null());
    }
}
