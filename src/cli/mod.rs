//! The command line (docs/design.md, "Commands"). One file per command: a clap struct whose
//! doc comment is its `--help`, and a function that returns what the command has to say as a value
//! that is both `Serialize` and `Display`. `output::emit` is the one place that turns that value
//! into JSON (`--json`) or text, and the one place that writes the command's result to stdout, so a
//! closed stdout ends every command the same quiet way.
//!
//! Exit codes (decided in `main`): 0 success, 1 runtime failure, 2 bad usage ([`UsageError`]) or a
//! bad config.

mod account;
mod auth;
mod check;
mod common;
mod completions;
mod demo;
mod digest;
mod export;
mod init;
mod man;
mod meetings;
mod objective;
mod open;
mod outcome;
mod output;
mod pending;
mod reload;
mod report;
mod run;
mod serve;
mod service;
mod suggest;
mod upcoming;

use std::path::PathBuf;

use clap::{FromArgMatches as _, Parser, Subcommand};

use crate::config::Config;
use crate::paths;

pub use account::AccountCmd;
pub use auth::{AuthCmd, AuthGoogleCmd, AuthService};
pub use check::CheckCmd;
pub use common::{CommandContext, row_meeting};
pub use completions::{CompletionShell, CompletionsCmd};
pub use demo::DemoCmd;
pub use digest::DigestCmd;
pub use export::{ExportCmd, ExportFormat};
pub use init::InitCmd;
pub use man::ManCmd;
pub use meetings::MeetingsCmd;
pub use objective::ObjectiveCmd;
pub use open::OpenCmd;
pub use outcome::OutcomeCmd;
pub use pending::PendingCmd;
pub use reload::ReloadCmd;
pub use report::ReportCmd;
pub use run::RunCmd;
pub use serve::ServeCmd;
pub use service::{ServiceAction, ServiceCmd};
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
    Reload(ReloadCmd),
    Demo(DemoCmd),
    Init(InitCmd),
    Check(CheckCmd),
    Upcoming(UpcomingCmd),
    Meetings(MeetingsCmd),
    Objective(ObjectiveCmd),
    Outcome(OutcomeCmd),
    Pending(PendingCmd),
    Report(ReportCmd),
    Account(AccountCmd),
    Digest(DigestCmd),
    Export(ExportCmd),
    Serve(ServeCmd),
    Open(OpenCmd),
    Auth(AuthCmd),
    Completions(CompletionsCmd),
    Man(ManCmd),
    Service(ServiceCmd),
}

impl Cli {
    /// Parses the process's arguments (exiting with clap's message and code 2 on bad ones), and
    /// notes where `--config` came from.
    pub fn parse_args() -> Cli {
        Cli::try_parse_args_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    /// [`Cli::parse_args`] for any argument list (the first is the program's name).
    pub fn try_parse_args_from<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = <Cli as clap::CommandFactory>::command().try_get_matches_from(args)?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        cli.config_on_command_line =
            matches.value_source("config") == Some(clap::parser::ValueSource::CommandLine);
        Ok(cli)
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
            if cli.config_on_command_line {
                return Err(UsageError(demo::CONFIG_REFUSED.into()).into());
            }
            let summary = demo::run(cmd).await?;
            output::emit(&summary, false)
        }
        Command::Completions(cmd) => output::emit(&completions::run(cmd)?, false),
        Command::Man(cmd) => output::emit(&man::run(cmd)?, false),
        Command::Service(cmd) => {
            let json = cmd.json();
            output::emit(&service::run(cmd, cli.config.as_deref())?, json)
        }
        Command::Run(_) => {
            let config = Config::load(&config_path)?;
            output::emit(&run::run(config).await?, false)
        }
        Command::Serve(cmd) => {
            let config = Config::load(&config_path)?;
            serve::run(CommandContext::new(config), cmd).await
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
                Command::Meetings(cmd) => {
                    let json = cmd.json;
                    output::emit(&meetings::run(&ctx, cmd).await?, json)
                }
                Command::Reload(cmd) => output::emit(&reload::run(&ctx, cmd)?, false),
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
                Command::Account(cmd) => {
                    let json = cmd.json;
                    output::emit(&account::run(&ctx, cmd)?, json)
                }
                Command::Digest(cmd) => {
                    let json = cmd.json;
                    output::emit(&digest::run(&ctx, cmd)?, json)
                }
                Command::Export(cmd) => output::emit(&export::run(&ctx, cmd)?, false),
                Command::Open(cmd) => output::emit(&open::run(&ctx, cmd)?, false),
                Command::Auth(AuthCmd {
                    service: AuthService::Google(cmd),
                }) => output::emit(&auth::google(&ctx, cmd).await?, false),
                Command::Auth(AuthCmd {
                    service: AuthService::Microsoft(cmd),
                }) => output::emit(&auth::microsoft(&ctx, cmd).await?, false),
                Command::Init(_)
                | Command::Demo(_)
                | Command::Run(_)
                | Command::Serve(_)
                | Command::Completions(_)
                | Command::Man(_)
                | Command::Service(_) => {
                    unreachable!("handled above")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_typed_on_the_command_line_is_told_apart_from_none() {
        let typed =
            Cli::try_parse_args_from(["nextstep", "--config", "/tmp/x.toml", "demo"]).unwrap();
        assert!(typed.config_on_command_line);
        let after = Cli::try_parse_args_from(["nextstep", "demo", "--config", "/x.toml"]).unwrap();
        assert!(after.config_on_command_line);
        let plain = Cli::try_parse_args_from(["nextstep", "demo"]).unwrap();
        assert!(!plain.config_on_command_line);
    }

    #[test]
    fn every_date_flag_refuses_a_bad_date_with_the_same_message() {
        for args in [
            &["report", "--since"][..],
            &["meetings", "--since"],
            &["outcome", "committed", "--due"],
            &["account", "Acme", "--won"],
            &["account", "Acme", "--lost"],
        ] {
            for bad in ["2026-13-01", "12/01/2026"] {
                let argv = std::iter::once("nextstep").chain(args.iter().copied());
                let err = Cli::try_parse_args_from(argv.chain([bad])).unwrap_err();
                assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
                let msg = err.to_string();
                assert!(
                    msg.contains("not a date: write it as YYYY-MM-DD"),
                    "{args:?} {bad}: {msg}"
                );
            }
            let argv = std::iter::once("nextstep").chain(args.iter().copied());
            Cli::try_parse_args_from(argv.chain(["2026-12-01"])).unwrap();
        }
    }

    #[test]
    fn demo_refuses_a_config_it_would_ignore_as_bad_usage() {
        let cli =
            Cli::try_parse_args_from(["nextstep", "--config", "/tmp/x.toml", "demo"]).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = rt.block_on(run(cli)).unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some(), "{err:#}");
        let msg = err.to_string();
        assert!(msg.contains("--config"), "{msg}");
        assert!(msg.contains("nextstep demo"), "{msg}");
    }
}
