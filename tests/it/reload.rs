//! Reload and the notifier: a SIGHUP that leaves `prompts.notifier`, `dialog` and `timeout` as
//! they were keeps the running notifier (the terminal's one stdin reader gets the next line typed),
//! and one that changes the notifier sends the next prompt to the new one.

use std::io::Write as _;
use std::process::{ChildStdin, Command};
use std::time::Duration;

use chrono::{DateTime, Utc};
use nextstep::model::{MeetingId, Via};

use crate::support::calendar::Event;
use crate::support::daemon::{Daemon, Home, expect_notification};
use crate::support::dbus::PrivateBus;
use crate::support::notifications::FakeNotificationServer;

/// The terminal's question for an objective ends with this.
const ASKED: &str = "Number, or type your own objective";

/// A home whose `work` calendar holds two customer meetings, Acme's at `now` + 8 s and Globex's
/// at `now` + 24 s, with prompts going to `notifier`.
fn home_with_two_meetings(now: DateTime<Utc>, notifier: &str) -> Home {
    let secs = chrono::Duration::seconds;
    let home = Home::with_ics_calendar("");
    let meeting = |uid, title, start, guest| Event {
        uid,
        title,
        start,
        length: secs(4),
        attendees: guest,
    };
    home.write_calendar(&[
        meeting(
            "acme-1",
            "Pilot scoping with Acme",
            now + secs(8),
            &["PARTSTAT=NEEDS-ACTION:mailto:jane@acme.example"],
        ),
        meeting(
            "globex-1",
            "Review with Globex",
            now + secs(24),
            &["PARTSTAT=NEEDS-ACTION:mailto:bob@globex.example"],
        ),
    ]);
    set_notifier(&home, notifier);
    home
}

/// Rewrites the config with `prompts.notifier = notifier` (and nothing else changed).
fn set_notifier(home: &Home, notifier: &str) {
    home.edit_config(|text| {
        let without: String = text
            .lines()
            .filter(|l| !l.starts_with("notifier = "))
            .map(|l| format!("{l}\n"))
            .collect();
        without.replace(
            "[prompts]\n",
            &format!("[prompts]\nnotifier = {notifier:?}\n"),
        )
    });
}

/// `nextstep run` for `home` on `bus`, with stdin a pipe the test types into.
fn start(home: &Home, bus: &PrivateBus) -> (Daemon, ChildStdin) {
    let mut cmd: Command = home.command(&["run"]);
    cmd.env("DBUS_SESSION_BUS_ADDRESS", bus.address());
    Daemon::spawn_with_stdin(cmd)
}

/// SIGHUP to the daemon holding `home`'s ledger, and the wait until it runs on the new config
/// (its `generation`th start).
async fn reload(home: &Home, daemon: &Daemon, generation: usize) {
    home.sighup();
    daemon
        .wait_for_log("nextstep is running", generation, Duration::from_secs(20))
        .await;
}

fn type_line(stdin: &mut ChildStdin, line: &str) {
    stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
    stdin.flush().unwrap();
}

/// Waits until the ledger holds `objective` for `uid`, answered through `via`.
async fn expect_objective(home: &Home, uid: &str, objective: &str, via: Via) {
    home.wait_for_objective(&MeetingId::new("work", uid, None), objective, via)
        .await;
}

/// Waits for the terminal's `nth` question, which must be Globex's, answers it with the second
/// objective, and waits until the ledger holds that answer.
async fn answer_globex_at_the_terminal(
    home: &Home,
    daemon: &Daemon,
    stdin: &mut ChildStdin,
    nth: usize,
) {
    daemon
        .wait_for_log(ASKED, nth, Duration::from_secs(30))
        .await;
    assert!(daemon.log().contains("Review with Globex"));
    type_line(stdin, "2");
    expect_objective(home, "globex-1", "Schedule a needs analysis", Via::Terminal).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_keeps_the_terminal_notifier_gives_it_the_next_line_typed() {
    let bus = PrivateBus::start();
    let now = Utc::now();
    let home = home_with_two_meetings(now, "terminal");
    let (mut daemon, mut stdin) = start(&home, &bus);

    // The first prompt starts the terminal's stdin reader.
    daemon.wait_for_log(ASKED, 1, Duration::from_secs(20)).await;
    assert!(daemon.log().contains("Pilot scoping with Acme"));
    type_line(&mut stdin, "1");
    expect_objective(&home, "acme-1", "Agree to a next meeting", Via::Terminal).await;

    // The same config again: the daemon restarts its tasks, the notifier stays.
    reload(&home, &daemon, 2).await;
    assert!(
        daemon.log().contains("the notifier stays"),
        "{}",
        daemon.log()
    );

    // The next prompt's answer reaches it: with a second reader, the first reader (still
    // waiting in its read) would take this line and drop it.
    answer_globex_at_the_terminal(&home, &daemon, &mut stdin, 2).await;
    assert!(daemon.is_running());
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_changes_the_notifier_sends_the_next_prompt_to_the_new_one() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let now = Utc::now();
    let home = home_with_two_meetings(now, "desktop");
    let (mut daemon, mut stdin) = start(&home, &bus);

    let n = expect_notification(&server, &daemon, Duration::from_secs(20)).await;
    assert!(n.summary.contains("Pilot scoping with Acme"), "{n:?}");
    server.click(n.id, "objective:0").await;
    expect_objective(
        &home,
        "acme-1",
        "Agree to a next meeting",
        Via::Notification,
    )
    .await;

    // From desktop notifications to the terminal.
    set_notifier(&home, "terminal");
    reload(&home, &daemon, 2).await;
    answer_globex_at_the_terminal(&home, &daemon, &mut stdin, 1).await;
    // The old notifier did not show the new prompt.
    server.assert_none_about("Globex");
    assert!(daemon.is_running());
    daemon.stop();
}
