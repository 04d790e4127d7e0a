//! The answer page: a small web server on the loopback interface, run by the daemon when
//! `[web] enabled` (and by `nextstep serve`), where every answer can be given and the reports are
//! drawn.
//!
//! What it promises: it listens on 127.0.0.1 only; nothing reaches a route without passing
//! [`security::guard`] (Host, access token, Origin and CSRF; see there); pages are rendered on the
//! server with compile-time templates that escape all text, need no script and load nothing from
//! elsewhere; an answer given here is the same ledger write as from the CLI or a notification
//! ([`crate::ledger::Ledger::record`], keyed to the prompt on screen when there is one), so the
//! first answer stands wherever it came from.
//!
//! The module is split by job: `server` (binding, the access file, serving until shut down),
//! `security` (the gate), `view` (what a page shows, read from the ledger and the snapshots),
//! `pages` (the HTML), `charts` (the SVG), `routes` (requests to views and ledger writes) and
//! `link` (the page as notifications open it: a meeting's address while the page is served, and
//! the browser opener).

pub mod charts;
pub(crate) mod link;
pub mod pages;
mod routes;
pub mod security;
mod server;
pub mod view;

use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;

pub use link::{Opener, PageLink};
pub use security::{Access, Secret};
pub use server::{WebError, WebServer, spawn_for_daemon};

/// What every request handler shares.
pub struct WebState {
    pub config: Config,
    pub data_dir: PathBuf,
    pub ledger_path: PathBuf,
    pub clock: Arc<dyn Clock>,
    /// The per-install access token (see [`security`]).
    pub token: Secret,
    /// The token every form carries; new at each start, so a form from an older page is refused.
    pub csrf: Secret,
    /// The port actually bound (differs from `[web] port` when that is 0).
    pub port: u16,
}
