//! The desktop notifier in this process against the fake notification server on a private D-Bus
//! (`notify_desktop`, `notify_page`, `prompts`): the prompt it shows, its settings, a dialog
//! program, and a prompt asked in the background while the test plays the user.
//!
//! ```ignore
//! let desk = FakeDesktop::start().await;
//! let asking = desk.ask(prompt(PromptKind::Objective), MINUTE, DialogSetting::None).await;
//! desk.server.click(asking.shown.id, "objective:0").await;
//! assert_eq!(asking.reply().await.via, Via::Notification);
//! ```

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use nextstep::config::{DEFAULT_OBJECTIVES, DialogSetting, Prompts};
use nextstep::model::{Answer, MeetingId, PromptKind, Via};
use nextstep::notify::desktop::DesktopNotifier;
use nextstep::notify::{Notifier, NotifyError, PromptView, Reply, Showing};

use super::dbus::PrivateBus;
use super::notifications::{DEFAULT_CAPABILITIES, FakeNotificationServer, Recorded};

/// How long a test waits for a notification to show, or for `ask` to return after the click.
pub const WAIT: Duration = Duration::from_secs(5);

/// The prompt timeout of a test that clicks: long enough never to run out first.
pub const MINUTE: Duration = Duration::from_secs(60);

/// A `kind` prompt for "Acme pilot review" (`work/u1/single`) at 13:30 UTC on 1 December 2026,
/// with the default objectives, two of them quick.
pub fn prompt(kind: PromptKind) -> PromptView {
    let start = Utc.with_ymd_and_hms(2026, 12, 1, 13, 30, 0).unwrap();
    PromptView {
        key: format!("work/u1/single#{kind}#0"),
        kind,
        meeting: MeetingId("work/u1/single".into()),
        title: "Acme pilot review".into(),
        start,
        end: start + chrono::Duration::minutes(30),
        tz: None,
        account: Some("Acme".into()),
        objectives: DEFAULT_OBJECTIVES.iter().map(|s| s.to_string()).collect(),
        quick: 2,
        last_commitment: None,
        suggestion: None,
        objective: None,
        recurring: false,
    }
}

/// The `[prompts]` settings with `timeout` and `dialog`, the rest as by default.
pub fn prompts(timeout: Duration, dialog: DialogSetting) -> Prompts {
    Prompts {
        timeout,
        dialog,
        ..Prompts::default()
    }
}

/// A dialog program: a shell script in `dir` with `body`.
pub fn dialog_script(dir: &Path, body: &str) -> DialogSetting {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("answer.sh");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    DialogSetting::Program(vec![path.to_string_lossy().into_owned()])
}

/// The reply that sets the objective `text`, given `via`.
pub fn objective_reply(text: &str, via: Via) -> Reply {
    Reply {
        answer: Answer::Objective { text: text.into() },
        via,
    }
}

/// A private bus with a fake notification server on it: a desktop, as the notifier sees one.
pub struct FakeDesktop {
    pub bus: PrivateBus,
    pub server: FakeNotificationServer,
}

impl FakeDesktop {
    /// A server with [`DEFAULT_CAPABILITIES`].
    pub async fn start() -> FakeDesktop {
        FakeDesktop::with_capabilities(DEFAULT_CAPABILITIES).await
    }

    pub async fn with_capabilities(capabilities: &[&str]) -> FakeDesktop {
        let bus = PrivateBus::start();
        let server =
            FakeNotificationServer::start_with_capabilities(bus.address(), capabilities).await;
        FakeDesktop { bus, server }
    }

    /// A desktop notifier on this bus with [`prompts`]`(timeout, dialog)`.
    pub fn notifier(&self, timeout: Duration, dialog: DialogSetting) -> DesktopNotifier {
        DesktopNotifier::with_address(self.bus.address(), &prompts(timeout, dialog))
    }

    /// `p` asked in the background by [`FakeDesktop::notifier`]`(timeout, dialog)`, once shown.
    pub async fn ask(&self, p: PromptView, timeout: Duration, dialog: DialogSetting) -> Asking {
        ask_in_background(self.notifier(timeout, dialog), p, &self.server).await
    }

    /// The reply to `p` (asked with a minute's timeout and `dialog`) when the user clicks `key`.
    pub async fn answer(&self, p: PromptView, dialog: DialogSetting, key: &str) -> Reply {
        let asking = self.ask(p, MINUTE, dialog).await;
        self.server.click(asking.shown.id, key).await;
        asking.reply().await
    }
}

/// A prompt asked in the background: the notification the server was asked to show, and the
/// showing to withdraw (as the daemon does when the question is answered elsewhere).
pub struct Asking {
    task: tokio::task::JoinHandle<Result<Reply, NotifyError>>,
    pub shown: Recorded,
    pub showing: Showing,
}

/// Starts `notifier.ask_showing(p)` in the background and returns once `server` shows it.
pub async fn ask_in_background(
    notifier: DesktopNotifier,
    p: PromptView,
    server: &FakeNotificationServer,
) -> Asking {
    let notifier = Arc::new(notifier);
    let showing = Showing::new();
    let s = showing.clone();
    let task = tokio::spawn(async move { notifier.ask_showing(&p, &s).await });
    let shown = server
        .next_notification(WAIT)
        .await
        .expect("the prompt was shown");
    Asking {
        task,
        shown,
        showing,
    }
}

impl Asking {
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// What `ask` returned, failing when it took longer than [`WAIT`] or panicked.
    pub async fn result(self) -> Result<Reply, NotifyError> {
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("ask returned in time")
            .expect("ask did not panic")
    }

    /// [`Asking::result`], which must be a reply.
    pub async fn reply(self) -> Reply {
        self.result().await.expect("ask succeeded")
    }
}
