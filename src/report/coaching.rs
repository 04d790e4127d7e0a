//! The coaching part of `nextstep report` (issue 14): the sell cycle (`coach::sell_cycle`) and
//! how many commitments slipped, as numbers the page can draw and as a text section.

use std::fmt;

use chrono::{NaiveDate, TimeZone};
use serde::Serialize;

use crate::coach::{self, COVERED, CycleGroup, SellCycle, UNCOVERED};
use crate::model::{AccountMark, LedgerRow};

/// Added to [`super::Report`] by [`super::Report::with_coaching`]; in `--json` its fields sit at
/// the report's top level (`sell_cycle`, `slipped`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coaching {
    /// Accounts closed (won or lost) on or after the report's `since`, each measured from its
    /// first meeting.
    pub sell_cycle: SellCycle,
    /// Slipped commitments of open accounts as of the user's today (what `nextstep digest`
    /// lists) whose due date is on or after the report's `since`: like the sell cycle, the
    /// period picks what happened in it (the close; the due day that passed).
    pub slipped: u32,
    /// The report's first day, named in the text's headings (the JSON has the report's `since`).
    #[serde(skip)]
    pub since: Option<NaiveDate>,
}

impl Coaching {
    /// `rows` must be the whole ledger's customer meetings (a cycle starts at the first meeting,
    /// which may be before `since`).
    pub fn build<Z: TimeZone>(
        ladder: &[String],
        rows: &[LedgerRow],
        marks: &[AccountMark],
        since: Option<NaiveDate>,
        today: NaiveDate,
        zone: &Z,
    ) -> Coaching {
        Coaching {
            sell_cycle: coach::sell_cycle_since(ladder, rows, marks, since, zone),
            slipped: coach::open_slipped(ladder, rows, marks, today, zone)
                .iter()
                .filter(|s| since.is_none_or(|since| s.due >= since))
                .count() as u32,
            since,
        }
    }
}

/// How a group is named in the text report.
fn label(group: &str) -> String {
    match group {
        "all" => "all accounts".to_owned(),
        COVERED => format!(
            "objective at {:.0}%+ of meetings",
            coach::OBJECTIVE_COVERAGE * 100.0
        ),
        UNCOVERED => format!(
            "objective at under {:.0}%",
            coach::OBJECTIVE_COVERAGE * 100.0
        ),
        quarter => format!("first met {quarter}"),
    }
}

fn line(f: &mut fmt::Formatter<'_>, g: &CycleGroup, width: usize) -> fmt::Result {
    let median = g
        .median_days
        .map_or_else(|| "–".to_owned(), |m| format!("{m:.0} days"));
    write!(f, "  {:<width$}  {median:>9}  n={}", label(&g.group), g.n)?;
    // Every note the JSON carries is printed, an empty group's included.
    match &g.note {
        Some(note) => writeln!(f, "  {note}"),
        None => writeln!(f),
    }
}

impl fmt::Display for Coaching {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.sell_cycle;
        match self.since {
            None => writeln!(
                f,
                "Sell cycle: days from an account's first customer meeting to won or lost (median)"
            )?,
            Some(since) => writeln!(
                f,
                "Sell cycle of the accounts won or lost on or after {since}: days from an \
                 account's first customer meeting (earlier ones too) to won or lost (median)"
            )?,
        }
        if c.total.n == 0 {
            if let Some(note) = &c.total.note {
                writeln!(f, "  {note}")?;
            }
        } else {
            let groups: Vec<&CycleGroup> = std::iter::once(&c.total)
                .chain(&c.by_quarter)
                .chain(&c.by_coverage)
                .collect();
            let width = groups.iter().map(|g| label(&g.group).chars().count()).max();
            for g in groups {
                line(f, g, width.unwrap_or(0))?;
            }
        }
        match self.since {
            None => writeln!(
                f,
                "Slipped commitments: {} (`nextstep digest` lists them)",
                self.slipped
            ),
            Some(since) => writeln!(
                f,
                "Slipped commitments due on or after {since}: {} (`nextstep digest` lists every \
                 slipped one)",
                self.slipped
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coach::testing::{dated, day, ladder, meeting};
    use crate::model::Outcome::*;
    use chrono::Utc;

    /// Accounts A, B and C, each first met on 1 January and lost 10, 20 and 30 days later.
    fn three_lost_accounts() -> Vec<LedgerRow> {
        let mut rows = Vec::new();
        for (i, a) in ["A", "B", "C"].into_iter().enumerate() {
            let d = 11 + 10 * i as u32;
            rows.push(meeting(a, (1, 1), Some("x"), Some(Continuation)));
            rows.push(meeting(a, (1, d), Some("x"), Some(NoSale)));
        }
        rows
    }

    #[test]
    fn the_section_gives_medians_with_counts_and_the_small_sample_sentence() {
        let mut rows = three_lost_accounts();
        rows.push(meeting("D", (4, 1), None, Some(Continuation)));
        rows.push(meeting("D", (4, 21), None, Some(NoSale)));
        rows.push(dated("E", (11, 2), Advanced, "Review", day(11, 12)));
        let c = Coaching::build(&ladder(), &rows, &[], None, day(12, 1), &Utc);
        assert_eq!(c.slipped, 1);
        let text = c.to_string();
        assert!(
            text.contains("all accounts") && text.contains("20 days  n=4"),
            "{text}"
        );
        assert!(
            text.contains("first met 2026-Q1") && text.contains("n=3"),
            "{text}"
        );
        assert!(
            text.contains("first met 2026-Q2") && text.contains("–  n=1  Only 1 account"),
            "{text}"
        );
        assert!(text.contains("Slipped commitments: 1"), "{text}");
    }

    #[test]
    fn with_since_the_headings_name_the_period_and_slipped_counts_only_steps_due_in_it() {
        let rows = vec![
            meeting("A", (1, 1), Some("x"), Some(Continuation)),
            meeting("A", (1, 11), Some("x"), Some(NoSale)),
            meeting("B", (1, 1), Some("x"), Some(Continuation)),
            meeting("B", (11, 11), Some("x"), Some(NoSale)),
            dated("E", (10, 2), Advanced, "Review", day(10, 12)),
            dated("F", (11, 2), Advanced, "Pilot", day(11, 12)),
        ];
        let all = Coaching::build(&ladder(), &rows, &[], None, day(12, 1), &Utc);
        assert_eq!((all.sell_cycle.total.n, all.slipped), (2, 2));

        let c = Coaching::build(&ladder(), &rows, &[], Some(day(11, 1)), day(12, 1), &Utc);
        assert_eq!((c.sell_cycle.total.n, c.slipped), (1, 1));
        let text = c.to_string();
        assert!(
            text.starts_with("Sell cycle of the accounts won or lost on or after 2026-11-01:"),
            "{text}"
        );
        assert!(
            text.contains("Slipped commitments due on or after 2026-11-01: 1"),
            "{text}"
        );
    }

    #[test]
    fn an_empty_group_prints_the_sentence_the_json_carries() {
        let rows = three_lost_accounts();
        let c = Coaching::build(&ladder(), &rows, &[], None, day(12, 1), &Utc);
        let uncovered = &c.sell_cycle.by_coverage[1];
        assert_eq!(uncovered.n, 0);
        let note = uncovered.note.as_deref().unwrap();
        let text = c.to_string();
        let line = text
            .lines()
            .find(|l| l.contains("objective at under"))
            .unwrap();
        assert!(line.contains("n=0") && line.ends_with(note), "{text}");
    }

    #[test]
    fn an_empty_ledger_says_no_account_closed_yet() {
        let c = Coaching::build(&ladder(), &[], &[], None, day(12, 1), &Utc);
        assert!(
            c.to_string()
                .contains("No account has been won or lost here yet."),
            "{c}"
        );
    }
}
