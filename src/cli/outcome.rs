//! `nextstep outcome`: records how a meeting ended from the command line.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use serde::Serialize;

use super::UsageError;
use super::common::{CommandContext, Read, local, parse_day, record_cli_answer, row_meeting};
use crate::model::{Answer, Meeting, MeetingId, Outcome, Verdict};

/// Records the outcome of a meeting (default: the latest ended customer meeting without one).
/// RESULT is one of: committed, advanced, continuation, no_sale, no_show, rescheduled, cancelled.
#[derive(Debug, Args)]
pub struct OutcomeCmd {
    /// The meeting's id (see `nextstep meetings`, or `nextstep upcoming` with --force).
    #[arg(long, value_name = "ID")]
    pub meeting: Option<String>,
    /// How it ended: committed, advanced, continuation, no_sale, no_show, rescheduled or
    /// cancelled (any case; `-` for `_`).
    pub result: String,
    /// The next step they agreed to.
    #[arg(long, value_name = "TEXT")]
    pub next_step: Option<String>,
    /// A free note, kept with the outcome.
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// The date of the next step (YYYY-MM-DD), on or after the meeting, with committed or
    /// advanced only: a commitment that `nextstep digest` reports as slipped once the date passes
    /// with no later meeting of the account.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    pub due: Option<NaiveDate>,
    /// Replace the outcome already recorded (kept as a correction; the first one stays on
    /// record). Without it, a meeting that has an outcome is left as it is.
    #[arg(long)]
    pub correct: bool,
    /// Record an outcome for a meeting that has not started yet.
    #[arg(long)]
    pub force: bool,
}

/// The outcome recorded, and for which meeting.
#[derive(Debug, Serialize)]
pub struct OutcomeSet {
    meeting: MeetingId,
    title: String,
    start: DateTime<Utc>,
    result: Outcome,
    due: Option<NaiveDate>,
}

impl fmt::Display for OutcomeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "outcome for \"{}\" ({}): {}",
            self.title,
            local(self.start),
            self.result
        )?;
        match self.due {
            Some(d) => writeln!(f, ", next step due {}", d.format("%Y-%m-%d")),
            None => writeln!(f),
        }
    }
}

pub async fn run(ctx: &CommandContext, cmd: OutcomeCmd) -> anyhow::Result<OutcomeSet> {
    let result: Outcome = cmd.result.parse().map_err(UsageError)?;
    if cmd.due.is_some() {
        due_has_a_step(result)?;
    }
    let mut ledger = ctx.ledger()?;
    let now = ctx.now();
    let target: Option<(Meeting, Verdict)> = match &cmd.meeting {
        Some(id) => ctx.find_meeting(&ledger, id).await?,
        None => {
            let meetings = ctx.meetings(&ledger, Read::Cached).await?;
            // The latest ended customer meeting without an outcome, from the ledger (which keeps
            // meetings that have left the calendar window) and the calendars.
            let rows = ledger.customer_meetings(Some(now - chrono::Duration::days(30)))?;
            let mut candidates: Vec<(Meeting, Verdict)> = rows
                .into_iter()
                .filter(|r| r.outcome.is_none() && r.end <= now && r.gone_at.is_none())
                .map(|r| row_meeting(&r))
                .collect();
            for (m, v) in &meetings {
                if v.customer && m.end <= now && !candidates.iter().any(|(c, _)| c.id == m.id) {
                    let has = ledger.find(&m.id)?.is_some_and(|r| r.outcome.is_some());
                    if !has {
                        candidates.push((m.clone(), v.clone()));
                    }
                }
            }
            candidates.into_iter().max_by_key(|(m, _)| m.end)
        }
    };
    let Some((m, v)) = target else {
        return Err(UsageError(match cmd.meeting {
            Some(id) => {
                format!("no meeting with id `{id}`; `nextstep meetings` lists past meetings with their ids, `nextstep upcoming` coming ones")
            }
            None => "no ended customer meeting without an outcome; pass --meeting ID".into(),
        })
        .into());
    };
    if m.start > now && !cmd.force {
        return Err(UsageError(format!(
            "\"{}\" has not started yet ({}); an outcome is for a meeting that took place: pass --force if you mean it",
            m.title,
            local(m.start)
        ))
        .into());
    }
    if let Some(due) = cmd.due {
        due_not_before(due, &m)?;
    }
    ledger.introduce(&[(m.clone(), v)], now)?;
    let answer = Answer::Outcome {
        result,
        next_step: cmd.next_step.filter(|s| !s.trim().is_empty()),
        note: cmd.note.filter(|s| !s.trim().is_empty()),
        due: cmd.due,
    };
    record_cli_answer(&mut ledger, &m.id, &answer, cmd.correct, now)?;
    Ok(OutcomeSet {
        meeting: m.id,
        title: m.title,
        start: m.start,
        result,
        due: cmd.due,
    })
}

/// `--due` dates a step the customer agreed to, so only `committed` (the objective) and
/// `advanced` (the next step) carry one; on any other result the date would be listed as a
/// slipped commitment nobody made.
fn due_has_a_step(result: Outcome) -> Result<(), UsageError> {
    if crate::coach::takes_due(result) {
        return Ok(());
    }
    Err(UsageError(format!(
        "--due dates a commitment, and `{result}` records none: use --due only with committed or \
         advanced (with --next-step), or leave it out"
    )))
}

/// A next step is agreed at the meeting, so it cannot fall due before the meeting's own day: such
/// a date is a typo, and it would show the commitment as slipped at once.
fn due_not_before(due: NaiveDate, m: &Meeting) -> Result<(), UsageError> {
    let day = crate::coach::earliest_due(m.start);
    if due < day {
        return Err(UsageError(format!(
            "--due {due}: that is before \"{}\" itself ({day}); give the day the next step is \
             due, on or after the meeting",
            m.title
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_due_date_is_only_for_committed_or_advanced() {
        assert!(due_has_a_step(Outcome::Committed).is_ok());
        assert!(due_has_a_step(Outcome::Advanced).is_ok());
        for r in [
            Outcome::Continuation,
            Outcome::NoSale,
            Outcome::NoShow,
            Outcome::Rescheduled,
            Outcome::Cancelled,
        ] {
            let e = due_has_a_step(r).unwrap_err().to_string();
            assert!(e.starts_with("--due dates a commitment"), "{e}");
            assert!(e.contains(&format!("`{r}` records none")), "{e}");
        }
    }

    #[test]
    fn a_due_date_before_the_meeting_day_is_refused_naming_the_flag_and_the_meeting() {
        // Noon UTC is the same calendar day in every time zone from UTC-11 to UTC+11.
        let start = Utc.with_ymd_and_hms(2026, 11, 12, 12, 0, 0).unwrap();
        let m = crate::model::testing::meeting("m1", start);
        let day = NaiveDate::from_ymd_opt(2026, 11, 12).unwrap();
        assert!(due_not_before(day, &m).is_ok());
        assert!(due_not_before(day.succ_opt().unwrap(), &m).is_ok());
        let e = due_not_before(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), &m)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--due 2026-01-01: that is before"), "{e}");
        assert!(e.contains("(2026-11-12)"), "{e}");
    }
}
