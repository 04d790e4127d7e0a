//! `nextstep serve`: the answer page without the daemon, for people who run no daemon or only
//! want to look at the reports.

use std::fmt;
use std::sync::Arc;

use clap::Args;
use serde::Serialize;

use super::common::CommandContext;
use super::output;
use crate::clock::SystemClock;
use crate::web::WebServer;

/// Serves the answer page on 127.0.0.1 (port from `[web] port`) until Ctrl-C; `nextstep open`
/// opens it. Refused when the port is taken (by the daemon, say: its page is the same).
#[derive(Debug, Args)]
pub struct ServeCmd {}

/// Where the page is being served.
#[derive(Debug, Serialize)]
pub struct Serving {
    url: String,
}

impl fmt::Display for Serving {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "the answer page is at {}; `nextstep open` opens it; Ctrl-C stops it",
            self.url
        )
    }
}

pub async fn run(ctx: CommandContext, _cmd: ServeCmd) -> anyhow::Result<()> {
    let server = WebServer::bind(
        ctx.config,
        ctx.data_dir,
        ctx.ledger_path,
        Arc::new(SystemClock),
    )
    .await?;
    output::emit(
        &Serving {
            url: server.access().url.clone(),
        },
        false,
    )?;
    server.serve(crate::signals::shutdown_on_signals()).await?;
    Ok(())
}
