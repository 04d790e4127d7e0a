//! The binary: parse the command line, set up logging, run, map errors to exit codes
//! (0 success, 1 runtime failure, 2 bad usage or bad config).

use std::io::IsTerminal as _;
use std::process::ExitCode;

use nextstep::cli::{Cli, Command, UsageError};
use nextstep::config::ConfigError;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

fn init_logging(command: &Command) {
    // The daemon reports at info; interactive commands only warn, so their output stays readable.
    let default = match command {
        Command::Run(_) => "info",
        _ => "warn",
    };
    let filter = EnvFilter::try_from_env("NEXTSTEP_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new(default));
    // Under systemd, stderr is connected to the journal (JOURNAL_STREAM); log there natively so
    // levels and fields survive. Anywhere else, plain text on stderr.
    if std::env::var_os("JOURNAL_STREAM").is_some()
        && let Ok(journald) = tracing_journald::layer()
    {
        tracing_subscriber::registry()
            .with(filter)
            .with(journald)
            .init();
        return;
    }
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                // Colour only for a person at a terminal; logs in files and pipes stay plain.
                .with_ansi(std::io::stderr().is_terminal())
                .with_target(false),
        )
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse_args();
    init_logging(&cli.command);
    // One thread is plenty for a few pollers and prompts, and keeps the idle daemon small.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(nextstep::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(c) = e.downcast_ref::<ConfigError>() {
                eprintln!("error: {c}");
                return ExitCode::from(2);
            }
            eprintln!("error: {e:#}");
            if e.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
