//! `nextstep run`: the daemon in the foreground, stopped by SIGTERM or Ctrl-C, its config re-read
//! on SIGHUP.
//!
//! Reload: the new config is validated first. A bad one is refused with the same error text as
//! `check`, logged and shown once as a notification, and the running daemon carries on with the
//! old one. A good one is swapped in by stopping the daemon's tasks and starting them again on the
//! new config in the same process: everything a daemon keeps between runs is on disk (each
//! calendar's sync state and snapshot, the ledger), so calendars that did not change resume where
//! they were, added ones start, removed ones stop, and the prompts are planned anew from the
//! ledger, which already records every prompt shown (a prompt on screen is taken off and shown
//! again once, under the same key).

use std::fmt;

use clap::Args;
use serde::Serialize;

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
    let mut hangups = crate::signals::hangups()?;
    let shutdown = crate::signals::shutdown_on_signals();
    let mut config = config;
    loop {
        let data_dir = paths::data_dir();
        let ledger_path = paths::ledger_file(&config, &data_dir);
        let (notifier, one_at_a_time) = crate::notify::pick(&config.prompts).await;
        let generation = shutdown.child_token();
        let daemon = daemon::run(daemon::Options {
            config: config.clone(),
            data_dir,
            ledger_path,
            clock: crate::clock::from_env().map_err(anyhow::Error::msg)?,
            notifier: notifier.clone(),
            one_prompt_at_a_time: one_at_a_time,
            shutdown: generation.clone(),
        });
        tokio::pin!(daemon);
        let next = loop {
            tokio::select! {
                ended = &mut daemon => {
                    ended?;
                    return Ok(Stopped);
                }
                _ = hangups.recv() => match reread(&config) {
                    Ok(new) => break new,
                    Err(message) => {
                        tracing::error!("the config was not reloaded: {message}; still running with the one loaded before");
                        let _ = notifier
                            .tell("nextstep: the new config was refused", &message)
                            .await;
                    }
                },
            }
        };
        tracing::info!("reloading the config");
        generation.cancel();
        daemon.await?;
        if shutdown.is_cancelled() {
            return Ok(Stopped);
        }
        config = next;
    }
}

/// The config file again, validated; the error as `check` would print it.
fn reread(current: &Config) -> Result<Config, String> {
    let Some(path) = &current.path else {
        return Err("the config did not come from a file, so there is nothing to re-read".into());
    };
    Config::load(path).map_err(|e| e.to_string())
}
