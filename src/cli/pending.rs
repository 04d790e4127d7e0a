//! `nextstep pending`: the prompts still waiting for an answer.

use std::fmt;

use clap::Args;
use serde::Serialize;

use super::common::{CommandContext, local};
use crate::ledger::PendingItem;
use crate::model::PromptKind;

/// Lists prompts waiting for an answer.
#[derive(Debug, Args)]
pub struct PendingCmd {
    #[arg(long)]
    pub json: bool,
}

/// The waiting prompts. As JSON, just the list.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Pending(Vec<PendingItem>);

impl fmt::Display for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            writeln!(f, "nothing pending")?;
        }
        for i in &self.0 {
            let what = match i.kind {
                PromptKind::Objective => "objective not set",
                PromptKind::Outcome => "outcome not recorded",
            };
            writeln!(f, "{}  {what:<20}  {}", local(i.start), i.title)?;
            writeln!(
                f,
                "    id: {}{}",
                i.meeting,
                i.account
                    .as_ref()
                    .map(|a| format!("  account: {a}"))
                    .unwrap_or_default()
            )?;
        }
        Ok(())
    }
}

pub fn run(ctx: &CommandContext, _cmd: PendingCmd) -> anyhow::Result<Pending> {
    let ledger = ctx.ledger()?;
    Ok(Pending(ledger.pending(ctx.now())?))
}
