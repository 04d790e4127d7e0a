//! `nextstep auth`: signing in to a calendar service (the work is in [`crate::auth`]).

use std::fmt;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::UsageError;
use super::common::CommandContext;
use crate::auth::SignInReport;
use crate::config::CalendarConfig;

/// Signs in to a calendar service.
#[derive(Debug, Args)]
pub struct AuthCmd {
    #[command(subcommand)]
    pub service: AuthService,
}

#[derive(Debug, Subcommand)]
pub enum AuthService {
    /// OAuth sign-in for a Google calendar (opens the browser).
    Google(AuthGoogleCmd),
    /// Sign-in for a Microsoft 365 or Outlook.com calendar (a code to enter on any device).
    Microsoft(crate::source::microsoft::auth::AuthMicrosoftCmd),
}

#[derive(Debug, Args)]
pub struct AuthGoogleCmd {
    /// The [[calendars]] name (default: the only Google calendar).
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// Print the sign-in URL instead of opening a browser.
    #[arg(long)]
    pub no_browser: bool,
}

/// A finished sign-in, as one line.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct SignedIn(SignInReport);

impl fmt::Display for SignedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.0)
    }
}

pub async fn google(ctx: &CommandContext, cmd: AuthGoogleCmd) -> anyhow::Result<SignedIn> {
    let googles: Vec<&CalendarConfig> = ctx
        .config
        .calendars
        .iter()
        .filter(|c| matches!(c.kind, crate::config::CalendarKind::Google(_)))
        .collect();
    let cal = match (&cmd.source, googles.as_slice()) {
        (Some(name), _) => googles
            .iter()
            .find(|c| &c.name == name)
            .copied()
            .ok_or_else(|| {
                UsageError(format!(
                    "no [[calendars]] entry named `{name}` with kind = \"google\""
                ))
            })?,
        (None, [one]) => *one,
        (None, []) => {
            return Err(UsageError(
                "no [[calendars]] entry with kind = \"google\" in the config".into(),
            )
            .into());
        }
        (None, _) => {
            return Err(UsageError(format!(
                "several Google calendars are configured; pass --source with one of: {}",
                googles
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into());
        }
    };
    crate::fsutil::create_private_dir(&ctx.data_dir)?;
    // The sign-in's own instructions (the URL to open) go to stdout as it runs.
    let mut out = super::output::QuietStdout;
    let mut opts = crate::auth::SignInOptions::new(ctx.data_dir.clone());
    opts.no_browser = cmd.no_browser;
    let report = crate::auth::google_sign_in(cal, opts, &mut out).await?;
    Ok(SignedIn(report))
}

pub async fn microsoft(
    ctx: &CommandContext,
    cmd: crate::source::microsoft::auth::AuthMicrosoftCmd,
) -> anyhow::Result<SignedIn> {
    crate::fsutil::create_private_dir(&ctx.data_dir)?;
    let opts = crate::auth::SignInOptions::new(ctx.data_dir.clone());
    let out = &mut std::io::stdout();
    let report = cmd.run(&ctx.config.calendars, opts, out).await?;
    Ok(SignedIn(report))
}
