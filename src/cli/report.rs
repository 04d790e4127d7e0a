//! `nextstep report`: the rates the ledger adds up to (built by [`crate::report`]).

use chrono::NaiveDate;
use clap::Args;

use super::common::CommandContext;
use crate::report::Report;

/// Objective-set rate, commitment rate and advance rate, by week and by account.
#[derive(Debug, Args)]
pub struct ReportCmd {
    /// Only meetings from this date on (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub since: Option<NaiveDate>,
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &CommandContext, cmd: ReportCmd) -> anyhow::Result<Report> {
    let ledger = ctx.ledger()?;
    let since = cmd
        .since
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc());
    let rows = ledger.customer_meetings(since)?;
    Ok(crate::report::build(&rows, since, ctx.now()))
}
