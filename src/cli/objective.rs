//! `nextstep objective`: sets a meeting's commitment objective from the command line, or with
//! `--suggest` says which objective the ladder offers first for it, and why (`suggest.rs`).

use std::fmt;

use chrono::{DateTime, Utc};
use clap::Args;
use serde::Serialize;

use super::UsageError;
use super::common::{CommandContext, Read, local, record_cli_answer, states_of};
use super::suggest::{Suggested, suggest};
use crate::ledger::Ledger;
use crate::model::{Answer, Meeting, MeetingId, Verdict};

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
    #[arg(required_unless_present_any = ["pick", "suggest"])]
    pub text: Option<String>,
    /// Replace the objective already recorded (kept as a correction; the first one stays on
    /// record). Without it, a meeting that has an objective is left as it is.
    #[arg(long)]
    pub correct: bool,
    /// Record nothing: say which objective the ladder (`prompts.objectives`) offers first for
    /// the meeting, from what its account agreed to last time, and why.
    #[arg(long, conflicts_with_all = ["text", "pick", "correct"])]
    pub suggest: bool,
}

/// What `nextstep objective` has to say: the objective it recorded, or with `--suggest` the
/// suggestion.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ObjectiveOutput {
    Set(ObjectiveSet),
    Suggested(Suggested),
}

impl fmt::Display for ObjectiveOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectiveOutput::Set(s) => s.fmt(f),
            ObjectiveOutput::Suggested(s) => s.fmt(f),
        }
    }
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

pub async fn run(ctx: &CommandContext, cmd: ObjectiveCmd) -> anyhow::Result<ObjectiveOutput> {
    let mut ledger = ctx.ledger()?;
    let now = ctx.now();
    if cmd.suggest {
        let (m, v) = target(ctx, &ledger, cmd.meeting.as_deref()).await?;
        return Ok(ObjectiveOutput::Suggested(suggest(ctx, &ledger, &m, &v)?));
    }
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
    let (m, v) = target(ctx, &ledger, cmd.meeting.as_deref()).await?;
    ledger.introduce(&[(m.clone(), v)], now)?;
    record_cli_answer(
        &mut ledger,
        &m.id,
        &Answer::Objective { text: text.clone() },
        cmd.correct,
        now,
    )?;
    Ok(ObjectiveOutput::Set(ObjectiveSet {
        meeting: m.id,
        title: m.title,
        start: m.start,
        objective: text,
    }))
}

/// The meeting `--meeting ID` names, else the next customer meeting without an objective (the
/// one `nextstep objective TEXT` would set, so `--suggest` and then `--pick N` meet the same
/// meeting).
async fn target(
    ctx: &CommandContext,
    ledger: &Ledger,
    meeting: Option<&str>,
) -> anyhow::Result<(Meeting, Verdict)> {
    let now = ctx.now();
    let found = match meeting {
        Some(id) => ctx.find_meeting(ledger, id).await?,
        None => {
            let meetings = ctx.meetings(ledger, Read::Cached).await?;
            let states = states_of(ctx, ledger, &meetings)?;
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
    found.ok_or_else(|| {
        UsageError(match meeting {
            Some(id) => format!("no meeting with id `{id}`; see `nextstep upcoming --all`"),
            None => "no coming customer meeting without an objective; pass --meeting ID (see `nextstep upcoming`)".into(),
        })
        .into()
    })
}
