//! `nextstep reload`: asks the running daemon to re-read its config (SIGHUP), finding it by the
//! lock it holds on its ledger.

use std::fmt;

use clap::Args;
use serde::Serialize;

use super::common::CommandContext;

/// Tells the running daemon to re-read its config (the same as `systemctl --user reload
/// nextstep`). A config with an error is refused by the daemon, which keeps the old one; run
/// `nextstep check` first to see the error here.
#[derive(Debug, Args)]
pub struct ReloadCmd {}

/// Which daemon was asked.
#[derive(Debug, Serialize)]
pub struct Reloaded {
    pid: u32,
}

impl fmt::Display for Reloaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "asked nextstep (pid {}) to re-read its config; its log says whether it took it",
            self.pid
        )
    }
}

pub fn run(ctx: &CommandContext, _cmd: ReloadCmd) -> anyhow::Result<Reloaded> {
    let Some(pid) = crate::lock::holder(&ctx.ledger_path)? else {
        anyhow::bail!(
            "no nextstep daemon is running with the ledger {} (start it with `nextstep run` or `nextstep service install`)",
            ctx.ledger_path.display()
        );
    };
    // `kill` the program rather than the system call: no unsafe code for one signal.
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .map_err(|e| anyhow::anyhow!("cannot run `kill`: {e}"))?;
    if !status.success() {
        anyhow::bail!("could not signal nextstep (pid {pid}): `kill -HUP {pid}` failed");
    }
    Ok(Reloaded { pid })
}
