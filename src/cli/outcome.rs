//! `nextstep outcome`: records how a meeting ended from the command line.

use std::fmt;

use chrono::{DateTime, Utc};
use clap::Args;
use serde::Serialize;

use super::UsageError;
use super::common::{CommandContext, cli_key, find_meeting, local, row_meeting};
use crate::model::{Answer, Meeting, MeetingId, Outcome, Verdict, Via};

/// Records the outcome of a meeting (default: the latest ended customer meeting without one).
/// RESULT is one of: committed, advanced, continuation, no_sale, no_show, rescheduled, cancelled.
#[derive(Debug, Args)]
pub struct OutcomeCmd {
    #[arg(long, value_name = "ID")]
    pub meeting: Option<String>,
    pub result: String,
    /// The next step they agreed to.
    #[arg(long, value_name = "TEXT")]
    pub next_step: Option<String>,
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
}

/// The outcome recorded, and for which meeting.
#[derive(Debug, Serialize)]
pub struct OutcomeSet {
    meeting: MeetingId,
    title: String,
    start: DateTime<Utc>,
    result: Outcome,
}

impl fmt::Display for OutcomeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "outcome for \"{}\" ({}): {}",
            self.title,
            local(self.start),
            self.result
        )
    }
}

pub async fn run(ctx: &CommandContext, cmd: OutcomeCmd) -> anyhow::Result<OutcomeSet> {
    let result: Outcome = cmd.result.parse().map_err(UsageError)?;
    let mut ledger = ctx.ledger()?;
    let now = ctx.now();
    let meetings = ctx.meetings(&ledger).await?;
    let target: Option<(Meeting, Verdict)> = match &cmd.meeting {
        Some(id) => find_meeting(&meetings, &ledger, id),
        None => {
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
                format!("no meeting with id `{id}`; see `nextstep export` or `nextstep pending`")
            }
            None => "no ended customer meeting without an outcome; pass --meeting ID".into(),
        })
        .into());
    };
    ledger.introduce(&[(m.clone(), v)], now)?;
    let answer = Answer::Outcome {
        result,
        next_step: cmd.next_step.filter(|s| !s.trim().is_empty()),
        note: cmd.note.filter(|s| !s.trim().is_empty()),
    };
    ledger.record_answer(
        &cli_key(&m.id, "outcome", now),
        &m.id,
        &answer,
        Via::Cli,
        now,
    )?;
    Ok(OutcomeSet {
        meeting: m.id,
        title: m.title,
        start: m.start,
        result,
    })
}
