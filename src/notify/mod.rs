//! Showing a prompt and bringing back an answer. The daemon knows only [`Notifier`]; the desktop
//! (org.freedesktop.Notifications over zbus), osascript (macOS banners and dialogs), dialog
//! (zenity / kdialog / osascript or a configured program) and terminal implementations live in the submodules.
//!
//! A prompt on screen can be withdrawn: when its question is answered elsewhere (the CLI, another
//! notifier), the daemon calls [`Showing::withdraw`] and the notifier takes the prompt off the
//! screen (closes the notification, kills the dialog, ends the terminal prompt with a line saying
//! where it was answered) and returns [`NotifyError::Withdrawn`], so nothing is recorded for it.

pub mod desktop;
pub mod dialog;
pub mod osascript;
pub mod terminal;
pub mod text;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

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
    /// Objective prompt: the account's next rung (`prompts.ladder`; docs/design.md, "Prompt
    /// rules"), offered first under its own key `objective:{rung}` with its one-line why.
    pub suggestion: Option<crate::coach::Suggestion>,
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
    /// The question was answered elsewhere while the prompt was on screen; the prompt was taken
    /// off the screen and its answer, if any came, is void. The text says where it was answered.
    #[error("answered elsewhere ({0})")]
    Withdrawn(String),
}

/// One showing of a prompt, shared by the daemon and the notifier that shows it: the notifier
/// reports the id it showed the prompt under ([`Showing::shown_as`]), so the daemon can persist it,
/// and learns when the daemon withdraws the prompt ([`Showing::withdrawn`]). Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Showing {
    inner: Arc<ShowingInner>,
}

#[derive(Debug, Default)]
struct ShowingInner {
    withdrawn: CancellationToken,
    why: Mutex<Option<String>>,
    id: Mutex<Option<String>>,
    shown: tokio::sync::Notify,
}

impl Showing {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the prompt off the screen; `why` says where the question was answered (shown in the
    /// terminal, logged). The first reason stands.
    pub fn withdraw(&self, why: impl Into<String>) {
        {
            let mut w = self.inner.why.lock().unwrap_or_else(|p| p.into_inner());
            if w.is_none() {
                *w = Some(why.into());
            }
        }
        self.inner.withdrawn.cancel();
    }

    pub fn is_withdrawn(&self) -> bool {
        self.inner.withdrawn.is_cancelled()
    }

    /// Resolves once the prompt is withdrawn, with where its question was answered.
    pub async fn withdrawn(&self) -> String {
        self.inner.withdrawn.cancelled().await;
        self.inner
            .why
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_default()
    }

    /// Called by a notifier once the prompt is on screen under `id` (a notification id).
    pub fn shown_as(&self, id: impl ToString) {
        *self.inner.id.lock().unwrap_or_else(|p| p.into_inner()) = Some(id.to_string());
        self.inner.shown.notify_one();
    }

    /// Resolves when a notifier reports an id with [`Showing::shown_as`] (at once when one was
    /// reported since the last call), with that id.
    pub async fn next_id(&self) -> String {
        self.inner.shown.notified().await;
        self.notification_id().unwrap_or_default()
    }

    /// The id the prompt is shown under, once the notifier reported one.
    pub fn notification_id(&self) -> Option<String> {
        self.inner
            .id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

pub type AskFuture<'a> = Pin<Box<dyn Future<Output = Result<Reply, NotifyError>> + Send + 'a>>;

/// Shows prompts. `ask` returns when the user answered, snoozed, or the prompt timed out
/// (`Answer::Dismissed`); it never waits longer than the configured prompt timeout plus the time a
/// dialog is open.
///
/// A notifier takes the prompt off the screen and returns [`NotifyError::Withdrawn`] as soon as
/// `showing` is withdrawn, and reports the id it showed the prompt under with
/// [`Showing::shown_as`] when it has one.
pub trait Notifier: Send + Sync {
    fn ask_showing<'a>(&'a self, prompt: &'a PromptView, showing: &'a Showing) -> AskFuture<'a>;

    /// [`Notifier::ask_showing`] for a showing nobody withdraws.
    fn ask<'a>(&'a self, prompt: &'a PromptView) -> AskFuture<'a> {
        Box::pin(async move {
            let showing = Showing::new();
            self.ask_showing(prompt, &showing).await
        })
    }

    /// Takes off the screen a prompt shown by an earlier process under `notification_id` (see
    /// [`Showing::shown_as`]), so it can be shown anew. Best effort; nothing to do for notifiers
    /// whose prompts die with the process.
    fn close_stale<'a>(
        &'a self,
        notification_id: &'a str,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        let _ = notification_id;
        Box::pin(async {})
    }

    /// The answer page as this notifier offers it (a body click, "Answer…" with
    /// `prompts.dialog = "web"`, the address in the text of a notification without buttons), or
    /// `None` when it offers no page. The daemon sets the link while it serves the page.
    fn page(&self) -> Option<&crate::web::PageLink> {
        None
    }

    /// A one-off message without buttons (a source that needs the user, e.g. a refused password).
    fn tell<'a>(
        &'a self,
        summary: &'a str,
        body: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), NotifyError>> + Send + 'a>>;
}

/// Opens `prompt`'s meeting page and waits for the answer given there: the page writes it to the
/// ledger and the daemon withdraws the prompt (see [`Showing`]), which ends the caller's wait
/// before this returns. `Some(Dismissed)` when nothing came within `timeout`; `None` when the page
/// could not be opened (none served, or the opener failed), so the caller can ask another way.
pub(crate) async fn answer_on_page(
    page: &crate::web::PageLink,
    prompt: &PromptView,
    timeout: std::time::Duration,
) -> Option<Answer> {
    if !page.open_meeting(&prompt.meeting).await {
        return None;
    }
    tokio::time::sleep(timeout).await;
    tracing::info!(prompt = %prompt.key, timeout = ?timeout, "no answer on the page in time");
    Some(Answer::Dismissed)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_withdrawal_keeps_its_first_reason() {
        let showing = Showing::new();
        assert!(!showing.is_withdrawn());
        showing.withdraw("via cli at 10:32");
        showing.withdraw("via terminal at 10:33");
        assert!(showing.is_withdrawn());
        assert_eq!(showing.withdrawn().await, "via cli at 10:32");
        // A clone is the same showing.
        assert_eq!(showing.clone().withdrawn().await, "via cli at 10:32");
    }

    #[tokio::test]
    async fn the_id_a_notifier_reports_reaches_the_daemon_even_when_reported_first() {
        let showing = Showing::new();
        assert_eq!(showing.notification_id(), None);
        showing.shown_as(17u32);
        assert_eq!(showing.next_id().await, "17");
        assert_eq!(showing.notification_id().as_deref(), Some("17"));
    }
}
