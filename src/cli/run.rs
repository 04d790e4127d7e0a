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
//!
//! The notifier outlives a reload unless the keys it is built from (`prompts.notifier`, `dialog`,
//! `timeout`) changed: the terminal notifier owns the one thread that reads stdin, and a second
//! notifier would start a second reader while the first still waits for a line, so the first
//! lines typed after the reload would be lost to the old one.

use std::fmt;

use clap::Args;
use serde::Serialize;

use crate::config::{Config, Prompts};
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
    crate::memory::one_allocator_arena();
    let mut hangups = crate::signals::hangups()?;
    let shutdown = crate::signals::shutdown_on_signals();
    let mut config = config;
    let (mut notifier, mut one_at_a_time) = crate::notify::pick(&config.prompts).await;
    loop {
        let data_dir = paths::data_dir();
        let ledger_path = paths::ledger_file(&config, &data_dir);
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
        if same_notifier(&config.prompts, &next.prompts) {
            tracing::info!("the notifier stays: its keys did not change");
        } else {
            (notifier, one_at_a_time) = crate::notify::pick(&next.prompts).await;
        }
        config = next;
    }
}

/// Whether a notifier built for `old` serves `new` as one built for `new` would: the keys it is
/// built from are the same (see the module note).
fn same_notifier(old: &Prompts, new: &Prompts) -> bool {
    old.notifier == new.notifier && old.dialog == new.dialog && old.timeout == new.timeout
}

/// The config file again, validated; the error as `check` would print it.
fn reread(current: &Config) -> Result<Config, String> {
    let Some(path) = &current.path else {
        return Err("the config did not come from a file, so there is nothing to re-read".into());
    };
    Config::load(path).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::{DialogSetting, NotifierSetting};

    #[test]
    fn the_notifier_stays_when_only_other_prompt_keys_change() {
        let old = Prompts::default();
        let new = Prompts {
            before: Duration::from_secs(60),
            objectives: vec!["Sign the order".into()],
            on_screen: 1,
            ..Prompts::default()
        };
        assert!(same_notifier(&old, &new));
    }

    #[test]
    fn the_notifier_is_picked_again_when_its_own_keys_change() {
        let old = Prompts::default();
        let changed = [
            Prompts {
                notifier: NotifierSetting::Terminal,
                ..Prompts::default()
            },
            Prompts {
                dialog: DialogSetting::None,
                ..Prompts::default()
            },
            Prompts {
                timeout: Duration::from_secs(30),
                ..Prompts::default()
            },
        ];
        for new in changed {
            assert!(!same_notifier(&old, &new), "{new:?}");
        }
    }
}
