//! The life of a prompt in the real daemon: the first answer stands (a prompt on screen whose
//! question is answered from the CLI is withdrawn, and a late click on it changes nothing), a
//! prompt left on screen by a daemon that stopped or died is shown again after a restart (its old
//! notification closed), and Ctrl-C or SIGTERM stop `run` and `demo` at once even while a terminal
//! prompt waits for a line (the prompt stays open in the ledger).
//!
//! The terminal tests give the binary a pseudo-terminal as stdin (so it picks the terminal
//! notifier) and no D-Bus.

use std::io::{BufRead, BufReader};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use nextstep::config::{DialogSetting, Prompts};
use nextstep::model::{MeetingId, Outcome, PromptKind, Via};
use nextstep::notify::desktop::DesktopNotifier;
use nextstep::notify::{Notifier, NotifyError};

use crate::support::calendar::Event;
use crate::support::daemon::{Home, expect_notification, wait_for_ledger, wait_until};
use crate::support::dbus::PrivateBus;
use crate::support::desktop::{FakeDesktop, prompt};
use crate::support::notifications::{CLOSED_BY_USER, FakeNotificationServer};

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

/// A home whose one calendar is `calendar.ics` holding one customer meeting with Acme at
/// `now + start`, `length` long, and whose objective prompt goes out a minute before the start (so
/// at once: the tests have time to restart or stop the daemon before the meeting).
pub(crate) fn home_with_meeting(
    uid: &str,
    start: chrono::Duration,
    length: chrono::Duration,
) -> Home {
    let home = Home::with_ics_calendar("timeout = \"2s\"\n");
    home.edit_config(|config| config.replace(r#"before = "3s""#, r#"before = "1m""#));
    home.write_calendar(&[Event {
        uid,
        title: "Pilot scoping with Acme",
        start: Utc::now() + start,
        length,
        attendees: &["PARTSTAT=NEEDS-ACTION:mailto:jane@acme.example"],
    }]);
    home
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outcome_given_from_the_cli_withdraws_the_prompt_on_screen_and_a_late_click_changes_nothing()
 {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let home = home_with_meeting("cust-w", secs(3), secs(2));
    let daemon = home.start(&bus);
    let id = MeetingId::new("work", "cust-w", None);

    let objective = expect_notification(&server, &daemon, Duration::from_secs(15)).await;
    server.click_wait_until_listening(objective.id).await;
    server.close(objective.id, CLOSED_BY_USER).await;
    let n = expect_notification(&server, &daemon, Duration::from_secs(20)).await;
    assert!(n.action_keys().contains(&"outcome:committed"), "{n:?}");

    home.cli_ok(&[
        "outcome",
        "--meeting",
        id.as_str(),
        "advanced",
        "--next-step",
        "Security review on the 12th",
    ]);

    wait_until(
        "the daemon closes the outcome notification answered from the CLI",
        Duration::from_secs(10),
        || server.close_calls().contains(&n.id),
    )
    .await;
    // The person clicks the stale notification anyway (a server that was slow to remove it).
    server.click(n.id, "outcome:continuation").await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let row = home.ledger().find(&id).unwrap().unwrap();
    let outcome = row.outcome.expect("the CLI's outcome");
    assert_eq!(outcome.result, Outcome::Advanced);
    assert_eq!(
        outcome.next_step.as_deref(),
        Some("Security review on the 12th")
    );
    assert_eq!(outcome.via, Via::Cli);
    let log = daemon.stop();
    assert!(
        log.contains("withdrawing a prompt answered elsewhere"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_on_screen_when_the_daemon_is_killed_is_shown_again_after_a_restart() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let home = home_with_meeting("cust-k", secs(40), secs(30));
    let id = MeetingId::new("work", "cust-k", None);

    let daemon = home.start(&bus);
    let first = expect_notification(&server, &daemon, Duration::from_secs(15)).await;
    assert!(
        first.summary.contains("Pilot scoping with Acme"),
        "{first:?}"
    );
    // Kept as ID@SERVER: the id, and the server process that gave it.
    let shown_as = format!("{}@", first.id);
    wait_for_ledger(&home.ledger, "the notification id of the prompt", |l| {
        l.open_prompts().unwrap().iter().any(|p| {
            p.notification_id
                .as_deref()
                .is_some_and(|n| n.starts_with(&shown_as))
        })
    })
    .await;
    daemon.kill9();

    let daemon = home.start(&bus);
    let again = expect_notification(&server, &daemon, Duration::from_secs(15)).await;
    assert!(
        again.summary.contains("Pilot scoping with Acme"),
        "{again:?}"
    );
    assert!(again.action_keys().contains(&"objective:0"), "{again:?}");
    assert!(
        server.close_calls().contains(&first.id),
        "the dead daemon's notification was not closed: {:?}",
        server.close_calls()
    );

    server.click(again.id, "objective:0").await;
    home.wait_for_objective(&id, "Agree to a next meeting", Via::Notification)
        .await;
    assert!(home.ledger().open_prompts().unwrap().is_empty());
    // Shown twice in all: once per run, never a third time.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(server.recorded().len(), 2, "{:?}", server.recorded());
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_the_ledger_cannot_take_is_kept_and_written_once_the_ledger_works_again() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let home = home_with_meeting("cust-f", secs(40), secs(30));
    let id = MeetingId::new("work", "cust-f", None);
    let daemon = home.start(&bus);
    let n = expect_notification(&server, &daemon, Duration::from_secs(15)).await;

    // The ledger refuses every new answer and every meeting write, as a full disk would.
    let sql = rusqlite::Connection::open(&home.ledger).unwrap();
    sql.execute_batch(
        "CREATE TRIGGER test_full_answers BEFORE INSERT ON answers
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;
         CREATE TRIGGER test_full_meetings BEFORE UPDATE ON meetings
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
    )
    .unwrap();
    server.click(n.id, "objective:0").await;
    daemon
        .wait_for_log("cannot record the answer", 2, Duration::from_secs(10))
        .await;
    assert!(
        home.ledger()
            .find(&id)
            .unwrap()
            .unwrap()
            .objective
            .is_none()
    );

    sql.execute_batch("DROP TRIGGER test_full_answers; DROP TRIGGER test_full_meetings;")
        .unwrap();
    // The objective kept in memory.
    home.wait_for_objective(&id, "Agree to a next meeting", Via::Notification)
        .await;
    let log = daemon.stop();
    assert!(log.contains("answer recorded"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_than_on_screen_prompts_are_shown_at_once_and_the_rest_wait_their_turn() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let home = Home::with_ics_calendar("");
    home.edit_config(|config| {
        config
            .replace(r#"before = "3s""#, r#"before = "1m""#)
            .replace("[prompts]\n", "[prompts]\non_screen = 2\n")
    });
    let now = Utc::now();
    let uids = ["q-1", "q-2", "q-3", "q-4"];
    let events: Vec<Event> = uids
        .iter()
        .enumerate()
        .map(|(i, uid)| Event {
            uid,
            title: "Pilot scoping with Acme",
            start: now + secs(40 + i as i64),
            length: secs(30),
            attendees: &["PARTSTAT=NEEDS-ACTION:mailto:jane@acme.example"],
        })
        .collect();
    home.write_calendar(&events);
    let daemon = home.start(&bus);

    let first = expect_notification(&server, &daemon, Duration::from_secs(15)).await;
    let _second = expect_notification(&server, &daemon, Duration::from_secs(5)).await;
    // No third prompt while two are on screen.
    server.expect_none_within(Duration::from_secs(2)).await;
    server.click_wait_until_listening(first.id).await;
    server.close(first.id, CLOSED_BY_USER).await;
    let third = expect_notification(&server, &daemon, Duration::from_secs(5)).await;
    assert!(
        third.summary.contains("Pilot scoping with Acme"),
        "{third:?}"
    );
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_notification_is_closed_reports_where_it_was_answered_and_gives_no_answer() {
    let desk = FakeDesktop::start().await;
    let asking = desk
        .ask(
            prompt(PromptKind::Objective),
            Prompts::default().timeout,
            DialogSetting::None,
        )
        .await;
    let id = asking.shown.id;
    let kept = asking.showing.next_id().await;
    assert!(kept.starts_with(&format!("{id}@:")), "{kept}");
    asking.showing.withdraw("via cli at 10:32");
    match asking.result().await {
        Err(NotifyError::Withdrawn(why)) => assert_eq!(why, "via cli at 10:32"),
        other => panic!("expected a withdrawal, got {other:?}"),
    }
    assert_eq!(desk.server.close_calls(), vec![id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_left_by_an_earlier_process_is_closed_by_its_id_on_the_same_server_only() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let notifier = DesktopNotifier::with_address(bus.address(), &Prompts::default());
    let conn = zbus::connection::Builder::address(bus.address())
        .build()
        .await
        .unwrap();
    let owner = zbus::fdo::DBusProxy::new(&conn)
        .await
        .unwrap()
        .get_name_owner("org.freedesktop.Notifications".try_into().unwrap())
        .await
        .unwrap();
    let guid = conn.server_guid().to_string();
    notifier.close_stale(&format!("41@{owner}@{guid}")).await;
    notifier
        .close_stale(&format!("44@{owner}@0123456789abcdef"))
        .await;
    notifier.close_stale("43").await;
    // Given by a server process that is gone: its id may be another program's now.
    notifier.close_stale(&format!("42@:1.99999@{guid}")).await;
    notifier.close_stale("not a number").await;
    assert_eq!(server.close_calls(), vec![41, 43]);
}

/// A pseudo-terminal: the child gets the follower end as stdin; the test keeps the leader open
/// (closing it would be end of input) and never types.
struct Pty {
    _leader: OwnedFd,
    follower: Option<OwnedFd>,
}

impl Pty {
    // The crate denies unsafe code; a test needs a real terminal, which only libc's openpty gives.
    #[allow(unsafe_code)]
    fn open() -> Pty {
        let (mut leader, mut follower) = (0, 0);
        // SAFETY: openpty writes two fresh descriptors into the two ints; the null name, termios
        // and window size are allowed.
        let rc = unsafe {
            libc::openpty(
                &mut leader,
                &mut follower,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both descriptors were just opened by openpty and are owned by nobody else.
        unsafe {
            Pty {
                _leader: OwnedFd::from_raw_fd(leader),
                follower: Some(OwnedFd::from_raw_fd(follower)),
            }
        }
    }
}

/// `cmd` with a terminal as stdin and no D-Bus (so prompts go to the terminal), its stderr
/// collected.
struct AtTerminal {
    child: Child,
    log: Arc<Mutex<String>>,
    _pty: Pty,
}

impl AtTerminal {
    fn spawn(mut cmd: Command) -> AtTerminal {
        let mut pty = Pty::open();
        let mut child = cmd
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/nextstep-test-bus",
            )
            .env("NEXTSTEP_LOG", "nextstep=debug")
            .env_remove("JOURNAL_STREAM")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::from(pty.follower.take().unwrap()))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).split(b'\n').map_while(Result::ok) {
                let mut l = sink.lock().unwrap();
                l.push_str(&String::from_utf8_lossy(&line));
                l.push('\n');
            }
        });
        AtTerminal {
            child,
            log,
            _pty: pty,
        }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    async fn wait_for(&self, needle: &str, within: Duration) {
        wait_until(&format!("{needle:?} on the terminal"), within, || {
            self.log().contains(needle)
        })
        .await;
        // The prompt is written before the read starts; let the read begin.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    /// Sends `signal` and returns how long the process took to exit, failing after `limit`.
    fn signal_and_time_exit(&mut self, signal: &str, limit: Duration) -> Duration {
        let pid = self.child.id().to_string();
        let sent = Instant::now();
        Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "exited with {status} after {signal}; output:\n{}",
                    self.log()
                );
                return sent.elapsed();
            }
            assert!(
                sent.elapsed() < limit,
                "still running {limit:?} after {signal}; output:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for AtTerminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn run_stops_at_once_with_a_terminal_prompt_waiting(signal: &str) {
    let home = home_with_meeting("cust-t", secs(60), secs(30));
    let mut run = AtTerminal::spawn(home.command(&["run"]));
    run.wait_for("type your own objective", Duration::from_secs(20))
        .await;
    let took = run.signal_and_time_exit(signal, Duration::from_secs(3));
    assert!(took < Duration::from_secs(2), "took {took:?} to stop");

    let open = home.ledger().open_prompts().unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].kind, PromptKind::Objective);
    let id = MeetingId::new("work", "cust-t", None);
    assert!(
        home.ledger()
            .find(&id)
            .unwrap()
            .unwrap()
            .objective
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_run_at_once_while_a_terminal_prompt_waits_and_the_prompt_stays_open() {
    run_stops_at_once_with_a_terminal_prompt_waiting("TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_run_at_once_while_a_terminal_prompt_waits_and_the_prompt_stays_open() {
    run_stops_at_once_with_a_terminal_prompt_waiting("INT").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_prompt_answered_from_the_cli_ends_with_a_line_saying_where() {
    let home = home_with_meeting("cust-tw", secs(60), secs(30));
    let id = MeetingId::new("work", "cust-tw", None);
    let mut run = AtTerminal::spawn(home.command(&["run"]));
    run.wait_for("type your own objective", Duration::from_secs(20))
        .await;
    home.cli_ok(&[
        "objective",
        "--meeting",
        id.as_str(),
        "Pilot signed by Friday",
    ]);
    run.wait_for("(answered elsewhere: via cli at ", Duration::from_secs(10))
        .await;
    let objective = home.ledger().find(&id).unwrap().unwrap().objective.unwrap();
    assert_eq!(objective.text, "Pilot signed by Friday");
    assert_eq!(objective.via, Via::Cli);
    run.signal_and_time_exit("TERM", Duration::from_secs(3));
    assert!(home.ledger().open_prompts().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_the_demo_at_once_and_removes_its_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(crate::support::daemon::BIN);
    cmd.args(["demo", "--starts-in", "120"])
        .env("TMPDIR", tmp.path())
        .env("NEXTSTEP_DATA_DIR", tmp.path().join("data"));
    let mut demo = AtTerminal::spawn(cmd);
    demo.wait_for("type your own objective", Duration::from_secs(20))
        .await;
    let took = demo.signal_and_time_exit("INT", Duration::from_secs(3));
    assert!(took < Duration::from_secs(2), "took {took:?} to stop");
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with("nextstep-demo"))
        .collect();
    assert!(left.is_empty(), "the demo left {left:?} behind");
}
