//! The desktop notifier against a fake notification server on a private D-Bus: what is shown,
//! and what each click brings back.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::dbus::PrivateBus;
use crate::support::notifications::{CLOSED_BY_USER, FakeNotificationServer, Recorded};
use chrono::{TimeZone, Utc};
use nextstep::config::{DEFAULT_OBJECTIVES, DialogSetting, Prompts};
use nextstep::model::{Answer, MeetingId, Outcome, PromptKind, Via};
use nextstep::notify::desktop::DesktopNotifier;
use nextstep::notify::{Notifier, NotifyError, PromptView, Reply};

const WAIT: Duration = Duration::from_secs(5);

pub(crate) fn prompt(kind: PromptKind) -> PromptView {
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

pub(crate) fn prompts(timeout: Duration, dialog: DialogSetting) -> Prompts {
    Prompts {
        timeout,
        dialog,
        ..Prompts::default()
    }
}

/// A dialog program: a shell script in `dir` with `body`.
fn dialog_script(dir: &Path, body: &str) -> DialogSetting {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("answer.sh");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    DialogSetting::Program(vec![path.to_string_lossy().into_owned()])
}

/// Starts `ask` in the background and returns the notification it showed.
async fn ask_in_background(
    notifier: DesktopNotifier,
    p: PromptView,
    server: &FakeNotificationServer,
) -> (
    tokio::task::JoinHandle<Result<Reply, NotifyError>>,
    Recorded,
) {
    let notifier = Arc::new(notifier);
    let task = tokio::spawn(async move { notifier.ask(&p).await });
    let shown = server
        .next_notification(WAIT)
        .await
        .expect("the prompt was shown");
    (task, shown)
}

async fn reply_of(task: tokio::task::JoinHandle<Result<Reply, NotifyError>>) -> Reply {
    tokio::time::timeout(WAIT, task)
        .await
        .expect("ask returned in time")
        .expect("ask did not panic")
        .expect("ask succeeded")
}

#[tokio::test]
async fn the_objective_prompt_shows_the_meeting_the_question_and_the_quick_answers() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let p = PromptView {
        last_commitment: Some("a pilot with 5 users".into()),
        ..prompt(PromptKind::Objective)
    };
    let notifier = DesktopNotifier::with_address(
        bus.address(),
        &prompts(Duration::from_secs(90), DialogSetting::None),
    );
    let (task, shown) = ask_in_background(notifier, p, &server).await;

    assert_eq!(shown.app, "nextstep");
    assert!(
        shown
            .summary
            .starts_with("Before \"Acme pilot review\" at "),
        "{}",
        shown.summary
    );
    assert_eq!(
        shown.body,
        "What do you want them to commit to?\nLast time (Acme) they committed to: a pilot with 5 users"
    );
    assert_eq!(
        shown.action_keys(),
        [
            "objective:0",
            "objective:1",
            "open",
            "snooze",
            "not_sales",
            "default"
        ]
    );
    assert_eq!(
        shown.label_of("objective:0"),
        Some("Agree to a next meeting")
    );
    assert_eq!(shown.label_of("not_sales"), Some("Not a sales meeting"));
    assert_eq!(shown.hints.get("urgency").map(String::as_str), Some("1"));
    assert_eq!(shown.timeout, 90_000, "the prompt timeout, in ms");

    server.click(shown.id, "snooze").await;
    reply_of(task).await;
}

#[tokio::test]
async fn clicking_a_quick_objective_returns_that_objective_via_the_notification() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let notifier = DesktopNotifier::with_address(
        bus.address(),
        &prompts(Duration::from_secs(60), DialogSetting::None),
    );
    let t0 = Instant::now();
    let (task, shown) = ask_in_background(notifier, prompt(PromptKind::Objective), &server).await;
    server.click(shown.id, "objective:1").await;
    let reply = reply_of(task).await;
    eprintln!("show + click + answer: {:?}", t0.elapsed());
    assert_eq!(
        reply,
        Reply {
            answer: Answer::Objective {
                text: "Schedule a needs analysis".into()
            },
            via: Via::Notification
        }
    );
}

#[tokio::test]
async fn later_snoozes_and_not_sales_comes_back_as_such() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let settings = prompts(Duration::from_secs(60), DialogSetting::None);
    for (key, expected) in [("snooze", Answer::Snooze), ("not_sales", Answer::NotSales)] {
        let notifier = DesktopNotifier::with_address(bus.address(), &settings);
        let (task, shown) =
            ask_in_background(notifier, prompt(PromptKind::Objective), &server).await;
        server.click(shown.id, key).await;
        let reply = reply_of(task).await;
        assert_eq!(reply.answer, expected, "{key}");
        assert_eq!(reply.via, Via::Notification);
    }
}

#[tokio::test]
async fn an_outcome_button_records_the_outcome() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let notifier = DesktopNotifier::with_address(
        bus.address(),
        &prompts(Duration::from_secs(60), DialogSetting::None),
    );
    let p = PromptView {
        objective: Some("Agree to the sale".into()),
        ..prompt(PromptKind::Outcome)
    };
    let (task, shown) = ask_in_background(notifier, p, &server).await;
    assert_eq!(shown.summary, "After \"Acme pilot review\"");
    assert_eq!(
        shown.body,
        "Did they commit?\nYour objective: Agree to the sale"
    );
    server.click(shown.id, "outcome:committed").await;
    assert_eq!(
        reply_of(task).await.answer,
        Answer::Outcome {
            result: Outcome::Committed,
            next_step: None,
            note: None,
            due: None,
        }
    );
}

#[tokio::test]
async fn answer_opens_the_dialog_and_returns_its_text_via_the_dialog() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let dir = tempfile::tempdir().unwrap();
    let dialog = dialog_script(
        dir.path(),
        r#"[ "$NEXTSTEP_PROMPT_KIND" = objective ] || exit 1
echo "Pilot with 20 seats signed by Friday""#,
    );
    let notifier =
        DesktopNotifier::with_address(bus.address(), &prompts(Duration::from_secs(60), dialog));
    let (task, shown) = ask_in_background(notifier, prompt(PromptKind::Objective), &server).await;
    server.click(shown.id, "open").await;
    assert_eq!(
        reply_of(task).await,
        Reply {
            answer: Answer::Objective {
                text: "Pilot with 20 seats signed by Friday".into()
            },
            via: Via::Dialog
        }
    );
}

#[tokio::test]
async fn clicking_the_body_of_an_outcome_prompt_asks_for_any_outcome_and_a_next_step() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let dir = tempfile::tempdir().unwrap();
    let dialog = dialog_script(dir.path(), "echo 'advanced: technical workshop on 3 Dec'");
    let notifier =
        DesktopNotifier::with_address(bus.address(), &prompts(Duration::from_secs(60), dialog));
    let (task, shown) = ask_in_background(notifier, prompt(PromptKind::Outcome), &server).await;
    server.click(shown.id, "default").await;
    assert_eq!(
        reply_of(task).await,
        Reply {
            answer: Answer::Outcome {
                result: Outcome::Advanced,
                next_step: Some("technical workshop on 3 Dec".into()),
                note: None,
                due: None,
            },
            via: Via::Dialog
        }
    );
}

#[tokio::test]
async fn no_click_before_the_timeout_is_dismissed_and_the_notification_is_closed() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let notifier = DesktopNotifier::with_address(
        bus.address(),
        &prompts(Duration::from_millis(300), DialogSetting::None),
    );
    let (task, shown) = ask_in_background(notifier, prompt(PromptKind::Objective), &server).await;
    let reply = reply_of(task).await;
    assert_eq!(reply.answer, Answer::Dismissed);
    assert_eq!(server.close_calls(), [shown.id]);
}

#[tokio::test]
async fn closing_the_notification_is_dismissed() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let notifier = DesktopNotifier::with_address(
        bus.address(),
        &prompts(Duration::from_secs(60), DialogSetting::None),
    );
    let (task, shown) = ask_in_background(notifier, prompt(PromptKind::Outcome), &server).await;
    // Same wait as a click, so the close is not sent before the notifier listens.
    server.click_wait_until_listening(shown.id).await;
    server.close(shown.id, CLOSED_BY_USER).await;
    assert_eq!(reply_of(task).await.answer, Answer::Dismissed);
}

#[tokio::test]
async fn no_server_on_the_bus_is_unavailable_at_once() {
    let bus = PrivateBus::start();
    let notifier = DesktopNotifier::with_address(
        bus.address(),
        &prompts(Duration::from_secs(60), DialogSetting::None),
    );
    let t0 = Instant::now();
    let err = notifier
        .ask(&prompt(PromptKind::Objective))
        .await
        .unwrap_err();
    let took = t0.elapsed();
    eprintln!("no server detected in {took:?}");
    assert!(matches!(err, NotifyError::Unavailable(_)), "{err:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert!(matches!(
        notifier.probe().await,
        Err(NotifyError::Unavailable(_))
    ));
}

#[tokio::test]
async fn no_bus_at_all_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let address = format!("unix:path={}", dir.path().join("no-bus").display());
    let notifier = DesktopNotifier::with_address(
        address,
        &prompts(Duration::from_secs(60), DialogSetting::None),
    );
    let err = notifier
        .ask(&prompt(PromptKind::Objective))
        .await
        .unwrap_err();
    assert!(matches!(err, NotifyError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn a_server_without_buttons_shows_the_text_and_asks_in_the_dialog() {
    let bus = PrivateBus::start();
    let server =
        FakeNotificationServer::start_with_capabilities(bus.address(), &["body", "persistence"])
            .await;
    let dir = tempfile::tempdir().unwrap();
    let dialog = dialog_script(dir.path(), "echo 'Meet the CFO'");
    let notifier =
        DesktopNotifier::with_address(bus.address(), &prompts(Duration::from_secs(60), dialog));
    let (task, shown) = ask_in_background(notifier, prompt(PromptKind::Objective), &server).await;
    assert!(shown.actions.is_empty(), "{:?}", shown.actions);
    assert!(shown.summary.starts_with("Before \"Acme pilot review\""));
    assert_eq!(
        reply_of(task).await,
        Reply {
            answer: Answer::Objective {
                text: "Meet the CFO".into()
            },
            via: Via::Dialog
        }
    );
    assert_eq!(
        server.close_calls(),
        [shown.id],
        "the stale text is removed"
    );
}

#[tokio::test]
async fn body_text_is_escaped_only_for_servers_that_render_markup() {
    let bus = PrivateBus::start();
    let p = PromptView {
        last_commitment: Some("R&D <review>".into()),
        ..prompt(PromptKind::Objective)
    };
    for (caps, expected) in [
        (
            &["actions", "body", "body-markup"][..],
            "R&amp;D &lt;review&gt;",
        ),
        (&["actions", "body"][..], "R&D <review>"),
    ] {
        let server = FakeNotificationServer::start_with_capabilities(bus.address(), caps).await;
        let notifier = DesktopNotifier::with_address(
            bus.address(),
            &prompts(Duration::from_secs(60), DialogSetting::None),
        );
        let (task, shown) = ask_in_background(notifier, p.clone(), &server).await;
        assert!(shown.body.ends_with(expected), "{caps:?}: {}", shown.body);
        server.click(shown.id, "snooze").await;
        reply_of(task).await;
        server.stop().await;
    }
}

#[tokio::test]
async fn tell_shows_a_plain_message() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let notifier = DesktopNotifier::with_address(
        bus.address(),
        &prompts(Duration::from_secs(60), DialogSetting::None),
    );
    notifier
        .tell(
            "Calendar \"work\" refused the password",
            "Run nextstep check",
        )
        .await
        .unwrap();
    let shown = server.next_notification(WAIT).await.unwrap();
    assert_eq!(shown.summary, "Calendar \"work\" refused the password");
    assert_eq!(shown.body, "Run nextstep check");
    assert!(shown.actions.is_empty());
}

#[tokio::test]
async fn the_fake_server_sees_a_fresh_client_listening_to_nothing() {
    let bus = PrivateBus::start();
    let _server = FakeNotificationServer::start(bus.address()).await;
    let conn = zbus::connection::Builder::address(bus.address())
        .build()
        .await
        .unwrap();
    let stats = zbus::fdo::StatsProxy::new(&conn).await.unwrap();
    let me = conn.unique_name().unwrap().to_owned();
    let s = stats.get_connection_stats(me.into()).await.unwrap();
    // `click` relies on this: a client's match rules are its own subscriptions only.
    assert_eq!(s.match_rules(), Some(0));
}

#[tokio::test]
async fn a_click_reported_just_after_the_close_still_counts() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let notifier = DesktopNotifier::with_address(
        bus.address(),
        &prompts(Duration::from_secs(60), DialogSetting::None),
    );
    let (task, shown) = ask_in_background(notifier, prompt(PromptKind::Objective), &server).await;
    server.click_wait_until_listening(shown.id).await;
    server.close(shown.id, CLOSED_BY_USER).await;
    server.click(shown.id, "objective:0").await;
    assert_eq!(
        reply_of(task).await.answer,
        Answer::Objective {
            text: "Agree to a next meeting".into()
        }
    );
}
