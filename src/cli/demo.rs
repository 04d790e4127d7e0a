//! `nextstep demo`: the command-line face of [`crate::demo`], which does the work.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::output::QuietStdout;
use crate::demo::{DemoOptions, DemoSummary};

/// Runs the real daemon on a built-in local calendar holding a customer meeting a minute away; no
/// config or account needed (--config is refused). Uses a temporary ledger unless --ledger is
/// given.
#[derive(Debug, Args)]
pub struct DemoCmd {
    /// Keep the demo's ledger here instead of in a temporary directory.
    #[arg(long, value_name = "PATH")]
    pub ledger: Option<PathBuf>,
    /// Seconds until the demo customer meeting starts.
    #[arg(long, default_value_t = 45, hide = true)]
    pub starts_in: u64,
    /// Length of the demo customer meeting in seconds.
    #[arg(long, default_value_t = 75, hide = true)]
    pub lasts: u64,
}

/// Why `demo --config PATH` stops: the demo brings its own config, and quietly ignoring the
/// user's would make them think the demo ran on it.
pub const CONFIG_REFUSED: &str = "the demo runs on its own built-in config and calendar, so it takes no --config; \
     run `nextstep demo` without it, or `nextstep --config PATH run` to run on your config";

pub async fn run(cmd: DemoCmd) -> anyhow::Result<DemoSummary> {
    let opts = DemoOptions {
        ledger: cmd.ledger,
        starts_in: Duration::from_secs(cmd.starts_in),
        lasts: Duration::from_secs(cmd.lasts),
    };
    crate::demo::run(opts, &mut QuietStdout).await
}
