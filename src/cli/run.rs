//! `nextstep run`: the daemon in the foreground, stopped by SIGTERM or Ctrl-C.

use std::fmt;
use std::sync::Arc;

use clap::Args;
use serde::Serialize;

use crate::clock::SystemClock;
use crate::config::Config;
use crate::{daemon, paths};

/// Runs the daemon in the foreground (what systemd and launchd start).
#[derive(Debug, Args)]
pub struct RunCmd {}

/// The daemon stopped as asked; it logs, and prints nothing.
#[derive(Debug, Serialize)]
pub struct Stopped;

impl fmt::Display for Stopped {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ok(())
    }
}

pub async fn run(config: Config) -> anyhow::Result<Stopped> {
    let data_dir = paths::data_dir();
    let ledger_path = paths::ledger_file(&config, &data_dir);
    let (notifier, one_at_a_time) = crate::notify::pick(&config.prompts).await;
    daemon::run(daemon::Options {
        config,
        data_dir,
        ledger_path,
        clock: Arc::new(SystemClock),
        notifier,
        one_prompt_at_a_time: one_at_a_time,
        shutdown: crate::signals::shutdown_on_signals(),
    })
    .await?;
    Ok(Stopped)
}
