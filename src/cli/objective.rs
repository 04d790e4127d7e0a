//! `nextstep objective`: sets a meeting's commitment objective from the command line.

use std::fmt;

use chrono::{DateTime, Utc};
use clap::Args;
use serde::Serialize;

use super::UsageError;
use super::common::{CommandContext, Read, local, record_cli_answer, states_of};
use crate::model::{Answer, MeetingId};

/// Sets the commitment objective of a meeting (default: the next customer meeting without one).
#[derive(Debug, Args)]
pub struct ObjectiveCmd {
    /// The meeting's id (see `nextstep upcoming`).
    #[arg(long, value_name = "ID")]
    pub meeting: Option<String>,
    /// Pick objective N (1-based) from `prompts.objectives` instead of writing TEXT.
    #[arg(long, value_name = "N", conflicts_with = "text")]
    pub pick: Option<usize>,
    /// What you want the customer to commit to.
    #[arg(required_unless_present = "pick")]
    pub text: Option<String>,
    /// Replace the objective already recorded (kept as a correction; the first one stays on
    /// record). Without it, a meeting that has an objective is left as it is.
    #[arg(long)]
    pub correct: bool,
}

/// The objective recorded, and for which meeting.
#[derive(Debug, Serialize)]
pub struct ObjectiveSet {
    meeting: MeetingId,
    title: String,
    start: DateTime<Utc>,
    objective: String,
}

impl fmt::Display for ObjectiveSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "objective for \"{}\" ({}): {}",
            self.title,
            local(self.start),
            self.objective
        )
    }
}

pub async fn run(ctx: &CommandContext, cmd: ObjectiveCmd) -> anyhow::Result<ObjectiveSet> {
    let mut ledger = ctx.ledger()?;
    let now = ctx.now();
    let text = match (cmd.pick, cmd.text) {
        (Some(n), _) => {
            let list = &ctx.config.prompts.objectives;
            match n.checked_sub(1).and_then(|i| list.get(i)) {
                Some(t) => t.clone(),
                None => {
                    return Err(UsageError(format!(
                        "--pick {n}: choose 1 to {} from prompts.objectives:\n{}",
                        list.len(),
                        list.iter()
                            .enumerate()
                            .map(|(i, o)| format!("  {}. {o}", i + 1))
                            .collect::<Vec<_>>()
                            .join("\n")
                    ))
                    .into());
                }
            }
        }
        (None, Some(t)) if !t.trim().is_empty() => t.trim().to_string(),
        _ => return Err(UsageError("write the objective, or pass --pick N".into()).into()),
    };
    let target = match &cmd.meeting {
        Some(id) => ctx.find_meeting(&ledger, id).await?,
        None => {
            let meetings = ctx.meetings(&ledger, Read::Cached).await?;
            let states = states_of(ctx, &ledger, &meetings)?;
            meetings
                .iter()
                .find(|(m, v)| {
                    v.customer
                        && m.start > now
                        && states.get(&m.id).is_none_or(|s| s.objective.is_none())
                })
                .cloned()
        }
    };
    let Some((m, v)) = target else {
        return Err(UsageError(match cmd.meeting {
            Some(id) => format!("no meeting with id `{id}`; see `nextstep upcoming --all`"),
            None => "no coming customer meeting without an objective; pass --meeting ID (see `nextstep upcoming`)".into(),
        })
        .into());
    };
    ledger.introduce(&[(m.clone(), v)], now)?;
    record_cli_answer(
        &mut ledger,
        &m.id,
        &Answer::Objective { text: text.clone() },
        cmd.correct,
        now,
    )?;
    Ok(ObjectiveSet {
        meeting: m.id,
        title: m.title,
        start: m.start,
        objective: text,
    })
}
