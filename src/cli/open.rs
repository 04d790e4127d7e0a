//! `nextstep open`: opens the answer page (the running daemon's, or `nextstep serve`'s) in the
//! browser, from the address and access token in the data folder.

use std::fmt;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use super::common::CommandContext;
use crate::web::pages::meeting_href;
use crate::web::{Access, Opener};

/// Opens the answer page in the browser: the home page, or MEETING's page (an id from
/// `nextstep upcoming`).
#[derive(Debug, Args)]
pub struct OpenCmd {
    /// The meeting's id (see `nextstep upcoming`).
    pub meeting: Option<String>,
    /// Print the address (with its access token) instead of starting a browser.
    #[arg(long)]
    pub print: bool,
}

/// What was opened (the address without its token).
#[derive(Debug, Serialize)]
pub struct Opened {
    url: String,
    #[serde(skip)]
    printed: Option<String>,
}

impl fmt::Display for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.printed {
            Some(full) => writeln!(f, "{full}"),
            None => writeln!(f, "opened {} in the browser", self.url),
        }
    }
}

const NOT_RUNNING: &str = "the answer page is not running: start `nextstep run` (with `[web] enabled = true`, the default) or `nextstep serve`";

pub fn run(ctx: &CommandContext, cmd: OpenCmd) -> anyhow::Result<Opened> {
    let access = Access::load(&ctx.data_dir)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", Access::path(&ctx.data_dir).display()))?
        .ok_or_else(|| anyhow::anyhow!(NOT_RUNNING))?;
    let addr: SocketAddr = access
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .map_err(|_| {
            anyhow::anyhow!(
                "{} holds no address; {NOT_RUNNING}",
                Access::path(&ctx.data_dir).display()
            )
        })?;
    if TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
        anyhow::bail!("{NOT_RUNNING} (nothing answers at {})", access.url);
    }
    let path = cmd.meeting.as_deref().map_or("/".to_owned(), meeting_href);
    let full = access.open_url(&path);
    let url = format!("{}{}", access.url.trim_end_matches('/'), path);
    if cmd.print {
        return Ok(Opened {
            url,
            printed: Some(full),
        });
    }
    // The daemon's notifiers open the page with the same opener; here the command waits for it
    // as long as it takes, as a command run from a terminal does.
    let opener = Opener::system();
    let status = opener
        .command(&full)
        .status()
        .map_err(|e| anyhow::anyhow!("cannot run `{}` to open the page: {e}; use `nextstep open --print` and open the address yourself", opener.name()))?;
    if !status.success() {
        anyhow::bail!(
            "`{}` could not open the page ({status}); use `nextstep open --print` and open the address yourself",
            opener.name()
        );
    }
    Ok(Opened { url, printed: None })
}
