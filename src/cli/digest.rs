//! `nextstep digest`: the weekly look back (`coach::digest`) now: slipped commitments, accounts
//! with no commitment twice in a row, and the past week's customer meetings without an outcome,
//! each with the command that answers it.

use clap::Args;

use super::common::{CommandContext, local_today};
use crate::coach::{self, Digest};

/// Slipped commitments, accounts stuck on "no commitment", and last week's meetings without an
/// outcome, each with the command that answers it.
#[derive(Debug, Args)]
pub struct DigestCmd {
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &CommandContext, _cmd: DigestCmd) -> anyhow::Result<Digest> {
    let ledger = ctx.ledger()?;
    let now = ctx.now();
    let rows = ledger.customer_meetings(None)?;
    let marks = ledger.account_marks(None)?;
    let today = local_today(now);
    Ok(coach::digest(
        &ctx.config.prompts.objectives,
        &rows,
        &marks,
        now,
        today,
        &chrono::Local,
    ))
}
