//! The command line (docs/design.md, "The command line"). One file per command: a clap struct whose
//! doc comment is its `--help`, and a function that returns what the command has to say as a value
//! that is both `Serialize` and `Display`. [`output::emit`] is the one place that turns that value
//! into JSON (`--json`) or text, and the one place that writes the command's result to stdout, so a
//! closed stdout ends every command the same quiet way.
//!
//! Exit codes (decided in `main`): 0 success, 1 runtime failure, 2 bad usage ([`UsageError`]) or a
//! bad config.

mod auth;
mod check;
mod common;
mod demo;
mod export;
mod init;
mod objective;
mod outcome;
mod output;
mod pending;
mod report;
mod run;
mod upcoming;

use std::path::PathBuf;

use clap::{FromArgMatches as _, Parser, Subcommand};

use crate::config::Config;
use crate::paths;

pub use auth::{AuthCmd, AuthGoogleCmd, AuthService};
pub use check::CheckCmd;
pub use common::CommandContext;
pub use demo::DemoCmd;
pub use export::{ExportCmd, ExportFormat};
pub use init::InitCmd;
pub use objective::ObjectiveCmd;
pub use outcome::OutcomeCmd;
pub use pending::PendingCmd;
pub use report::ReportCmd;
pub use run::RunCmd;
pub use upcoming::UpcomingCmd;

/// Kept at its old path for callers of `cli::shutdown_on_signals`.
pub use crate::signals::shutdown_on_signals;

/// Before every customer meeting, asks what you want the customer to commit to; after it, whether
/// they did. Keeps every answer in a local ledger.
#[derive(Debug, Parser)]
#[command(name = "nextstep", version, about, long_about = None)]
pub struct Cli {
    /// The config file (default: $XDG_CONFIG_HOME/nextstep/config.toml).
    #[arg(long, global = true, env = "NEXTSTEP_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Whether `--config` was typed on this command line (not taken from NEXTSTEP_CONFIG); set by
    /// [`Cli::parse_args`].
    #[arg(skip)]
    pub config_on_command_line: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Run(RunCmd),
    Demo(DemoCmd),
    Init(InitCmd),
    Check(CheckCmd),
    Upcoming(UpcomingCmd),
    Objective(ObjectiveCmd),
    Outcome(OutcomeCmd),
    Pending(PendingCmd),
    Report(ReportCmd),
    Export(ExportCmd),
    Auth(AuthCmd),
}

impl Cli {
    /// Parses the process's arguments (exiting with clap's message and code 2 on bad ones), and
    /// notes where `--config` came from.
    pub fn parse_args() -> Cli {
        let matches = <Cli as clap::CommandFactory>::command().get_matches();
        let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        cli.config_on_command_line =
            matches.value_source("config") == Some(clap::parser::ValueSource::CommandLine);
        cli
    }
}

/// A failure whose exit code is not 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Runs a parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config_path = paths::config_file(cli.config.as_deref());
    match cli.command {
        Command::Init(cmd) => output::emit(&init::run(&config_path, cmd)?, false),
        Command::Demo(cmd) => {
            let summary = demo::run(cmd).await?;
            output::emit(&summary, false)
        }
        Command::Run(_) => {
            let config = Config::load(&config_path)?;
            output::emit(&run::run(config).await?, false)
        }
        other => {
            let config = Config::load(&config_path)?;
            let ctx = CommandContext::new(config);
            match other {
                Command::Check(cmd) => {
                    let json = cmd.json;
                    let report = check::run(&ctx, cmd).await?;
                    output::emit(&report, json)?;
                    report.into_result()
                }
                Command::Upcoming(cmd) => {
                    let json = cmd.json;
                    output::emit(&upcoming::run(&ctx, cmd).await?, json)
                }
                Command::Objective(cmd) => output::emit(&objective::run(&ctx, cmd).await?, false),
                Command::Outcome(cmd) => output::emit(&outcome::run(&ctx, cmd).await?, false),
                Command::Pending(cmd) => {
                    let json = cmd.json;
                    output::emit(&pending::run(&ctx, cmd)?, json)
                }
                Command::Report(cmd) => {
                    let json = cmd.json;
                    output::emit(&report::run(&ctx, cmd)?, json)
                }
                Command::Export(cmd) => output::emit(&export::run(&ctx, cmd)?, false),
                Command::Auth(AuthCmd {
                    service: AuthService::Google(cmd),
                }) => output::emit(&auth::google(&ctx, cmd).await?, false),
                Command::Init(_) | Command::Demo(_) | Command::Run(_) => {
                    unreachable!("handled above")
                }
            }
        }
    }
}
