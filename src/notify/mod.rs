//! Showing a prompt and bringing back an answer. The daemon knows only [`Notifier`]; the desktop
//! (notify-rust over D-Bus), osascript (macOS banners and dialogs), dialog (zenity / kdialog /
//! osascript or a configured program) and terminal implementations live in the submodules.

pub mod desktop;
pub mod dialog;
pub mod osascript;
pub mod terminal;
pub mod text;

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};

use crate::model::{Answer, MeetingId, PromptKind, Via};

/// Everything a notifier needs to show one prompt; built by the daemon from the meeting, the
/// config and the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptView {
    /// The prompt's unique key (see `PlannedPrompt::key`).
    pub key: String,
    pub kind: PromptKind,
    pub meeting: MeetingId,
    pub title: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The meeting's own zone for display, when known.
    pub tz: Option<String>,
    pub account: Option<String>,
    /// `prompts.objectives`; the first `quick` of them get buttons (`objective:N`).
    pub objectives: Vec<String>,
    pub quick: usize,
    /// Objective prompt: what the account committed to last time, carried forward.
    pub last_commitment: Option<String>,
    /// Outcome prompt: the objective that was set, if any.
    pub objective: Option<String>,
    /// The meeting belongs to a recurring series (so `not_sales` applies to the series).
    pub recurring: bool,
}

/// What came back from one showing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub answer: Answer,
    pub via: Via,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// No notification server (or no session bus): the daemon falls back to another notifier.
    #[error("no notification server answers: {0}")]
    Unavailable(String),
    #[error("notification failed: {0}")]
    Failed(String),
}

pub type AskFuture<'a> = Pin<Box<dyn Future<Output = Result<Reply, NotifyError>> + Send + 'a>>;

/// Shows prompts. `ask` returns when the user answered, snoozed, or the prompt timed out
/// (`Answer::Dismissed`); it never waits longer than the configured prompt timeout plus the time a
/// dialog is open.
pub trait Notifier: Send + Sync {
    fn ask<'a>(&'a self, prompt: &'a PromptView) -> AskFuture<'a>;

    /// A one-off message without buttons (a source that needs the user, e.g. a refused password).
    fn tell<'a>(
        &'a self,
        summary: &'a str,
        body: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), NotifyError>> + Send + 'a>>;
}

/// Chooses how to show prompts, as `prompts.notifier` says. `auto`: on macOS `osascript`; elsewhere
/// desktop notifications when a notification server answers, else the terminal when stdin is one
/// (`nextstep demo` over SSH), else desktop notifications anyway, which report
/// [`NotifyError::Unavailable`] per prompt until a server appears (e.g. after login).
/// The flag says whether prompts must be shown one at a time (the terminal has one stdin; dialogs
/// would stack).
pub async fn pick(prompts: &crate::config::Prompts) -> (std::sync::Arc<dyn Notifier>, bool) {
    use crate::config::NotifierSetting;
    use std::sync::Arc;
    let osascript = || -> (Arc<dyn Notifier>, bool) {
        tracing::info!("prompts go to osascript (banners and dialogs)");
        (
            Arc::new(osascript::OsascriptNotifier::new(prompts.timeout)),
            true,
        )
    };
    let terminal = || -> (Arc<dyn Notifier>, bool) {
        (
            Arc::new(terminal::TerminalNotifier::new(prompts.timeout)),
            true,
        )
    };
    match prompts.notifier {
        NotifierSetting::Desktop => {
            return (Arc::new(desktop::DesktopNotifier::new(prompts)), false);
        }
        NotifierSetting::Osascript => return osascript(),
        NotifierSetting::Terminal => return terminal(),
        NotifierSetting::Auto if cfg!(target_os = "macos") => {
            if dialog::find_on_path("osascript").is_none() && terminal::stdin_is_terminal() {
                tracing::info!("no osascript; prompts go to this terminal");
                return terminal();
            }
            return osascript();
        }
        NotifierSetting::Auto => {}
    }
    let desktop = desktop::DesktopNotifier::new(prompts);
    match desktop.probe().await {
        Ok(caps) => {
            tracing::info!(
                actions = caps.actions,
                "prompts go to desktop notifications"
            );
            (Arc::new(desktop), false)
        }
        Err(e) if terminal::stdin_is_terminal() => {
            tracing::info!(reason = %e, "no notification server; prompts go to this terminal");
            terminal()
        }
        Err(e) => {
            tracing::warn!(reason = %e, "no notification server yet; prompts wait for one");
            (Arc::new(desktop), false)
        }
    }
}
