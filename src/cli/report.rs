//! `nextstep report`: the rates the ledger adds up to (built by [`crate::report`]), as text, JSON,
//! or the answer page's report as one self-contained HTML file.

use std::fmt;
use std::path::PathBuf;

use chrono::NaiveDate;
use clap::Args;
use serde::Serialize;

use super::common::{CommandContext, local_today, parse_day};
use crate::report::Report;
use crate::web::pages::{self, Css};
use crate::web::view::{self, Filter};

/// Objective-set rate, commitment rate and advance rate, by week and by account; the sell cycle
/// and how many commitments slipped.
#[derive(Debug, Args)]
pub struct ReportCmd {
    /// Only meetings from this date on (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", value_parser = parse_day)]
    pub since: Option<NaiveDate>,
    #[arg(long)]
    pub json: bool,
    /// Write the report page (charts and style inline, nothing loaded from elsewhere) to FILE,
    /// to keep or send.
    #[arg(long, value_name = "FILE", conflicts_with = "json")]
    pub html: Option<PathBuf>,
}

/// The report, or where its page was written.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ReportOutput {
    Report(Box<Report>),
    Html { written: PathBuf },
}

impl fmt::Display for ReportOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportOutput::Report(r) => r.fmt(f),
            ReportOutput::Html { written } => {
                writeln!(f, "wrote the report page to {}", written.display())
            }
        }
    }
}

pub fn run(ctx: &CommandContext, cmd: ReportCmd) -> anyhow::Result<ReportOutput> {
    let ledger = ctx.ledger()?;
    if let Some(path) = cmd.html {
        let filter = Filter {
            since: cmd.since,
            ..Filter::default()
        };
        let page = view::report(&ledger, filter, ctx.now())?;
        let today = local_today(ctx.now());
        let page = view::with_coaching(page, &ledger, &ctx.config.prompts.objectives, today)?;
        let html = pages::report(&page, Css::Inline).into_string();
        // The report names customers and what they agreed to: private, like the ledger.
        crate::fsutil::write_atomic_private(&path, html.as_bytes())
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        return Ok(ReportOutput::Html { written: path });
    }
    // The report's days and weeks are the user's local ones, so its first day starts at local
    // midnight.
    let since = cmd
        .since
        .map(|d| crate::coach::day_start(d, &chrono::Local));
    // The whole ledger: `build` keeps the meetings since `since` itself, and a sell cycle is
    // measured from an account's first meeting, which may be earlier.
    let rows = ledger.customer_meetings(None)?;
    let marks = ledger.account_marks(None)?;
    let now = ctx.now();
    let today = local_today(now);
    Ok(ReportOutput::Report(Box::new(
        crate::report::build(&rows, since, now, &chrono::Local).with_coaching(
            &ctx.config.prompts.objectives,
            &rows,
            &marks,
            today,
            &chrono::Local,
        ),
    )))
}
