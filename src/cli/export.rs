//! `nextstep export`: the whole ledger as JSON lines or CSV (formats in [`crate::export`]).

use std::fmt;

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::common::CommandContext;
use crate::ledger::LedgerRow;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

/// Prints the whole ledger, one customer meeting per line (jsonl) or row (csv).
#[derive(Debug, Args)]
pub struct ExportCmd {
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub format: ExportFormat,
}

/// Every customer meeting the ledger holds, in the chosen format.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Export {
    #[serde(skip)]
    format: ExportFormat,
    rows: Vec<LedgerRow>,
}

impl fmt::Display for Export {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&match self.format {
            ExportFormat::Jsonl => crate::export::to_jsonl(&self.rows),
            ExportFormat::Csv => crate::export::to_csv(&self.rows),
        })
    }
}

pub fn run(ctx: &CommandContext, cmd: ExportCmd) -> anyhow::Result<Export> {
    let ledger = ctx.ledger()?;
    Ok(Export {
        format: cmd.format,
        rows: ledger.customer_meetings(None)?,
    })
}
