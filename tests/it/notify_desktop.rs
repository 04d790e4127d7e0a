//! The desktop notifier against a fake notification server on a private D-Bus: what is shown,
//! and what each click brings back.

use std::time::{Duration, Instant};

use crate::support::dbus::PrivateBus;
use crate::support::desktop::{
    FakeDesktop, MINUTE, WAIT, dialog_script, objective_reply, prompt, prompts,
};
use crate::support::notifications::CLOSED_BY_USER;
use nextstep::config::DialogSetting;
use nextstep::model::{Answer, Outcome, PromptKind, Via};
use nextstep::notify::desktop::DesktopNotifier;
use nextstep::notify::{Notifier, NotifyError, PromptView, Reply};

#[tokio::test]
async fn the_objective_prompt_shows_the_meeting_the_question_and_the_quick_answers() {
    let desk = FakeDesktop::start().await;
    let p = PromptView {
        last_commitment: Some("a pilot with 5 users".into()),
        ..prompt(PromptKind::Objective)
    };
    let asking = desk
        .ask(p, Duration::from_secs(90), DialogSetting::None)
        .await;
    let shown = &asking.shown;

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

    desk.server.click(shown.id, "snooze").await;
    asking.reply().await;
}

#[tokio::test]
async fn clicking_a_quick_objective_returns_that_objective_via_the_notification() {
    let desk = FakeDesktop::start().await;
    let t0 = Instant::now();
    let reply = desk
        .answer(
            prompt(PromptKind::Objective),
            DialogSetting::None,
            "objective:1",
        )
        .await;
    eprintln!("show + click + answer: {:?}", t0.elapsed());
    assert_eq!(
        reply,
        objective_reply("Schedule a needs analysis", Via::Notification)
    );
}

#[tokio::test]
async fn later_snoozes_and_not_sales_comes_back_as_such() {
    let desk = FakeDesktop::start().await;
    for (key, expected) in [("snooze", Answer::Snooze), ("not_sales", Answer::NotSales)] {
        let reply = desk
            .answer(prompt(PromptKind::Objective), DialogSetting::None, key)
            .await;
        assert_eq!(reply.answer, expected, "{key}");
        assert_eq!(reply.via, Via::Notification);
    }
}

#[tokio::test]
async fn an_outcome_button_records_the_outcome() {
    let desk = FakeDesktop::start().await;
    let p = PromptView {
        objective: Some("Agree to the sale".into()),
        ..prompt(PromptKind::Outcome)
    };
    let asking = desk.ask(p, MINUTE, DialogSetting::None).await;
    assert_eq!(asking.shown.summary, "After \"Acme pilot review\"");
    assert_eq!(
        asking.shown.body,
        "Did they commit?\nYour objective: Agree to the sale"
    );
    desk.server
        .click(asking.shown.id, "outcome:committed")
        .await;
    assert_eq!(
        asking.reply().await.answer,
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
    let desk = FakeDesktop::start().await;
    let dir = tempfile::tempdir().unwrap();
    let dialog = dialog_script(
        dir.path(),
        r#"[ "$NEXTSTEP_PROMPT_KIND" = objective ] || exit 1
echo "Pilot with 20 seats signed by Friday""#,
    );
    assert_eq!(
        desk.answer(prompt(PromptKind::Objective), dialog, "open")
            .await,
        objective_reply("Pilot with 20 seats signed by Friday", Via::Dialog)
    );
}

#[tokio::test]
async fn clicking_the_body_of_an_outcome_prompt_asks_for_any_outcome_and_a_next_step() {
    let desk = FakeDesktop::start().await;
    let dir = tempfile::tempdir().unwrap();
    let dialog = dialog_script(dir.path(), "echo 'advanced: technical workshop on 3 Dec'");
    assert_eq!(
        desk.answer(prompt(PromptKind::Outcome), dialog, "default")
            .await,
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
    let desk = FakeDesktop::start().await;
    let asking = desk
        .ask(
            prompt(PromptKind::Objective),
            Duration::from_millis(300),
            DialogSetting::None,
        )
        .await;
    let id = asking.shown.id;
    assert_eq!(asking.reply().await.answer, Answer::Dismissed);
    assert_eq!(desk.server.close_calls(), [id]);
}

#[tokio::test]
async fn closing_the_notification_is_dismissed() {
    let desk = FakeDesktop::start().await;
    let asking = desk
        .ask(prompt(PromptKind::Outcome), MINUTE, DialogSetting::None)
        .await;
    // Same wait as a click, so the close is not sent before the notifier listens.
    desk.server
        .click_wait_until_listening(asking.shown.id)
        .await;
    desk.server.close(asking.shown.id, CLOSED_BY_USER).await;
    assert_eq!(asking.reply().await.answer, Answer::Dismissed);
}

#[tokio::test]
async fn no_server_on_the_bus_is_unavailable_at_once() {
    let bus = PrivateBus::start();
    let notifier =
        DesktopNotifier::with_address(bus.address(), &prompts(MINUTE, DialogSetting::None));
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
    let notifier = DesktopNotifier::with_address(address, &prompts(MINUTE, DialogSetting::None));
    let err = notifier
        .ask(&prompt(PromptKind::Objective))
        .await
        .unwrap_err();
    assert!(matches!(err, NotifyError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn a_server_without_buttons_shows_the_text_and_asks_in_the_dialog() {
    let desk = FakeDesktop::with_capabilities(&["body", "persistence"]).await;
    let dir = tempfile::tempdir().unwrap();
    let dialog = dialog_script(dir.path(), "echo 'Meet the CFO'");
    let asking = desk
        .ask(prompt(PromptKind::Objective), MINUTE, dialog)
        .await;
    let shown = asking.shown.clone();
    assert!(shown.actions.is_empty(), "{:?}", shown.actions);
    assert!(shown.summary.starts_with("Before \"Acme pilot review\""));
    assert_eq!(
        asking.reply().await,
        objective_reply("Meet the CFO", Via::Dialog)
    );
    assert_eq!(
        desk.server.close_calls(),
        [shown.id],
        "the stale text is removed"
    );
}

#[tokio::test]
async fn body_text_is_escaped_only_for_servers_that_render_markup() {
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
        let desk = FakeDesktop::with_capabilities(caps).await;
        let asking = desk.ask(p.clone(), MINUTE, DialogSetting::None).await;
        let shown = &asking.shown;
        assert!(shown.body.ends_with(expected), "{caps:?}: {}", shown.body);
        desk.server.click(shown.id, "snooze").await;
        asking.reply().await;
    }
}

#[tokio::test]
async fn tell_shows_a_plain_message() {
    let desk = FakeDesktop::start().await;
    desk.notifier(MINUTE, DialogSetting::None)
        .tell(
            "Calendar \"work\" refused the password",
            "Run nextstep check",
        )
        .await
        .unwrap();
    let shown = desk.server.next_notification(WAIT).await.unwrap();
    assert_eq!(shown.summary, "Calendar \"work\" refused the password");
    assert_eq!(shown.body, "Run nextstep check");
    assert!(shown.actions.is_empty());
}

#[tokio::test]
async fn the_fake_server_sees_a_fresh_client_listening_to_nothing() {
    let desk = FakeDesktop::start().await;
    let conn = zbus::connection::Builder::address(desk.bus.address())
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
    let desk = FakeDesktop::start().await;
    let asking = desk
        .ask(prompt(PromptKind::Objective), MINUTE, DialogSetting::None)
        .await;
    let id = asking.shown.id;
    desk.server.click_wait_until_listening(id).await;
    desk.server.close(id, CLOSED_BY_USER).await;
    desk.server.click(id, "objective:0").await;
    assert_eq!(
        asking.reply().await.answer,
        Answer::Objective {
            text: "Agree to a next meeting".into()
        }
    );
}
