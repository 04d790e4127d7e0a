//! `nextstep check`: the config is valid, and every calendar and the ledger can be reached now.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::Args;
use serde::Serialize;

use super::common::CommandContext;
use crate::config::CalendarConfig;

/// Validates the config and reaches every calendar; one line per calendar; exit 1 if any fails.
#[derive(Debug, Args)]
pub struct CheckCmd {
    #[arg(long)]
    pub json: bool,
}

/// One calendar's (or the ledger's) check.
#[derive(Debug, Serialize)]
pub struct CheckLine {
    name: String,
    kind: &'static str,
    ok: bool,
    detail: String,
}

/// Every check, in config order, the ledger last. As JSON, just the lines.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct CheckReport {
    #[serde(skip)]
    config: Option<PathBuf>,
    #[serde(skip)]
    no_calendars: bool,
    /// Starter placeholders still in place: valid TOML, but not yet the user's config.
    #[serde(skip)]
    warnings: Vec<crate::config::ConfigWarning>,
    lines: Vec<CheckLine>,
}

impl CheckReport {
    /// An error (exit 1) when any check failed, once the report has been shown.
    pub fn into_result(self) -> anyhow::Result<()> {
        let failed = self.lines.iter().filter(|l| !l.ok).count();
        if failed > 0 {
            anyhow::bail!("{failed} check(s) failed");
        }
        Ok(())
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.config {
            writeln!(f, "config  {}: valid", p.display())?;
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        if self.no_calendars {
            writeln!(
                f,
                "warning: no [[calendars]] configured; add one (see `nextstep init --print`)"
            )?;
        }
        for l in &self.lines {
            writeln!(
                f,
                "{} {} ({}): {}",
                if l.ok { "ok  " } else { "FAIL" },
                l.name,
                l.kind,
                l.detail
            )?;
        }
        Ok(())
    }
}

pub async fn run(ctx: &CommandContext, _cmd: CheckCmd) -> anyhow::Result<CheckReport> {
    let now = ctx.now();
    let mut lines = Vec::new();
    for cal in &ctx.config.calendars {
        let line = match check_one(ctx, cal, now).await {
            Ok(detail) => CheckLine {
                name: cal.name.clone(),
                kind: cal.kind.as_str(),
                ok: true,
                detail,
            },
            Err(e) => CheckLine {
                name: cal.name.clone(),
                kind: cal.kind.as_str(),
                ok: false,
                detail: format!("{e:#}"),
            },
        };
        lines.push(line);
    }
    let ledger_line = match ctx.ledger() {
        Ok(_) => CheckLine {
            name: "ledger".into(),
            kind: "sqlite",
            ok: true,
            detail: ctx.ledger_path.display().to_string(),
        },
        Err(e) => CheckLine {
            name: "ledger".into(),
            kind: "sqlite",
            ok: false,
            detail: format!("{e:#}"),
        },
    };
    lines.push(ledger_line);
    Ok(CheckReport {
        config: ctx.config.path.clone(),
        no_calendars: ctx.config.calendars.is_empty(),
        warnings: ctx.config.warnings(),
        lines,
    })
}

async fn check_one(
    ctx: &CommandContext,
    cal: &CalendarConfig,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let (fetched, described) = ctx.poll_once(cal, now).await?;
    // Without the ledger's overrides: `check` says what the rules make of the calendar.
    let customers = ctx
        .classifier()
        .classify_all(
            fetched.meetings.iter().filter(|m| m.start >= now),
            &HashMap::new(),
        )
        .filter(|(_, v)| v.customer)
        .count();
    let mut detail = format!(
        "{} meetings in the window, {} coming customer meetings",
        fetched.meetings.len(),
        customers
    );
    if !fetched.warnings.is_empty() {
        detail.push_str(&format!(
            ", {} skipped (see warnings below)",
            fetched.warnings.len()
        ));
    }
    if !described.is_empty() {
        detail.push_str("; ");
        detail.push_str(&described);
    }
    for w in &fetched.warnings {
        eprintln!("warning: {}: {w}", cal.name);
    }
    Ok(detail)
}
