//! The whole daemon, end to end: the real `nextstep run` binary reads a real calendar file (or URL),
//! talks to a notification server over a private D-Bus session bus, and writes a real SQLite ledger.
//! The test plays the user: it reads what the server was asked to show and presses buttons.
//!
//! Times are short (meetings seconds away, `before = "3s"`), so each test takes seconds to a few
//! tens of seconds; tests run in parallel, each with its own bus, server, files and daemon.

use std::process::Command;
use std::time::Duration;

use crate::support::calendar::{Event, ics};
use crate::support::daemon::{
    BIN, Daemon, Home, expect_notification, expect_only_the_moved_prompt,
    expect_the_acme_objective_prompt, the_deleted_meeting, the_moved_meeting, wait_for_ledger,
};
use crate::support::dbus::PrivateBus;
use crate::support::notifications::FakeNotificationServer;
use chrono::{DateTime, Utc};
use nextstep::model::{MeetingId, Outcome, Via};

/// A daemon's home whose one calendar is `calendar.ics` in it.
fn home() -> Home {
    Home::with_ics_calendar("timeout = \"2s\"\n")
}

/// `t` without its fraction of a second, as iCalendar times (and so meeting ids) have it.
fn now_secs(t: DateTime<Utc>) -> DateTime<Utc> {
    chrono::DateTime::from_timestamp(t.timestamp(), 0).unwrap()
}

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_meeting_is_asked_about_before_and_after_and_the_answers_reach_the_export() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let home = home();
    let now = Utc::now();
    home.write_calendar(&[
        Event {
            uid: "cust-1",
            title: "Pilot scoping with Acme",
            start: now + secs(6),
            length: secs(4),
            attendees: &[
                "PARTSTAT=NEEDS-ACTION:mailto:jane@acme.example",
                "PARTSTAT=NEEDS-ACTION:mailto:room-1@mycorp.example",
            ],
        },
        Event {
            uid: "internal-1",
            title: "Team sync",
            start: now + secs(5),
            length: secs(3),
            attendees: &["PARTSTAT=NEEDS-ACTION:mailto:sam@mycorp.example"],
        },
    ]);
    let daemon = home.start(&bus);

    let n = expect_the_acme_objective_prompt(&server, &daemon, Duration::from_secs(15), now).await;
    let keys = n.action_keys();
    assert!(
        !keys.contains(&"objective:2"),
        "only quick_objectives (2) get buttons: {keys:?}"
    );

    server.click(n.id, "objective:0").await;
    let id = MeetingId::new("work", "cust-1", None);
    home.wait_for_objective(&id, "Agree to a next meeting", Via::Notification)
        .await;

    let n = expect_notification(&server, &daemon, Duration::from_secs(15)).await;
    let outcome_shown_at = Utc::now();
    assert!(n.summary.contains("Pilot scoping with Acme"), "{n:?}");
    assert!(n.action_keys().contains(&"outcome:committed"), "{n:?}");
    assert!(n.action_keys().contains(&"outcome:continuation"), "{n:?}");
    assert!(
        n.body.contains("Agree to a next meeting"),
        "the outcome prompt recalls the objective: {n:?}"
    );
    assert!(
        outcome_shown_at >= now + secs(10),
        "outcome asked before the meeting ended"
    );
    server.click(n.id, "outcome:committed").await;
    wait_for_ledger(&home.ledger, "the outcome", |l| {
        l.find(&id)
            .unwrap()
            .and_then(|r| r.outcome)
            .is_some_and(|o| o.result == Outcome::Committed)
    })
    .await;

    // Only the customer meeting was ever prompted: the internal one stays silent.
    server.assert_none_about("Team sync");
    assert_eq!(server.recorded().len(), 2);
    daemon.stop();

    let out = home.cli_ok(&["export", "--format", "jsonl"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "one customer meeting: {text}");
    let row = &lines[0];
    assert_eq!(row["id"], "work/cust-1/single");
    assert_eq!(row["account"], "acme.example");
    assert_eq!(row["objective"]["text"], "Agree to a next meeting");
    assert_eq!(row["objective"]["via"], "notification");
    assert_eq!(row["outcome"]["result"], "committed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_does_not_show_the_same_prompt_again_and_keeps_the_answer() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let home = home();
    let now = Utc::now();
    home.write_calendar(&[Event {
        uid: "cust-2",
        title: "Renewal with Globex",
        start: now + secs(6),
        length: secs(5),
        attendees: &["PARTSTAT=NEEDS-ACTION:mailto:bob@globex.example"],
    }]);
    let daemon = home.start(&bus);
    let n = expect_notification(&server, &daemon, Duration::from_secs(15)).await;
    server.click(n.id, "objective:1").await;
    let id = MeetingId::new("work", "cust-2", None);
    wait_for_ledger(&home.ledger, "the objective", |l| {
        l.find(&id).unwrap().and_then(|r| r.objective).is_some()
    })
    .await;
    // The harshest restart: no chance to flush anything.
    daemon.kill9();

    let daemon = home.start(&bus);
    // The next thing shown must be the outcome prompt, not the objective prompt again.
    let n = expect_notification(&server, &daemon, Duration::from_secs(20)).await;
    assert!(
        n.action_keys().contains(&"outcome:committed"),
        "re-prompted after restart: {n:?}"
    );
    let row = home.ledger().find(&id).unwrap().unwrap();
    assert_eq!(row.objective.unwrap().text, "Schedule a needs analysis");
    server.close(n.id, 2).await;
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_meeting_moves_its_prompt_and_a_deleted_one_is_never_prompted() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let home = home();
    let now = Utc::now();
    let moving = |start| the_moved_meeting("cust-move", start);
    home.write_calendar(&[
        moving(now + secs(12)),
        the_deleted_meeting("cust-del", now + secs(12)),
    ]);
    let daemon = home.start(&bus);
    daemon
        .wait_for_log("polled", 1, Duration::from_secs(10))
        .await;

    // Move one meeting 12 s later and delete the other, before either prompt is due.
    home.write_calendar(&[moving(now + secs(24))]);
    expect_only_the_moved_prompt(&server, daemon, now).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_calendar_url_keeps_prompts_coming_from_the_snapshot() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let home = Home::new("me@mycorp.example", |_| {
        format!(
            "[[calendars]]\nname = \"work\"\nkind = \"ics\"\nurl = \"http://{addr}/calendar.ics\"\npoll = \"1s\"\ntimeout = \"2s\"\n"
        )
    });
    let now = Utc::now();
    let body = ics(&[Event {
        uid: "cust-offline",
        title: "Offline review with Hooli",
        start: now + secs(14),
        length: secs(60),
        attendees: &["PARTSTAT=NEEDS-ACTION:mailto:gavin@hooli.example"],
    }]);
    let http = tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                body.len(),
                body
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        }
    });

    let daemon = home.start(&bus);
    daemon
        .wait_for_log("polled", 1, Duration::from_secs(10))
        .await;
    daemon.stop();
    // The calendar server goes away; its port now refuses connections.
    http.abort();
    let _ = http.await;

    let daemon = home.start(&bus);
    let n = expect_notification(&server, &daemon, Duration::from_secs(20)).await;
    assert!(n.summary.contains("Offline review with Hooli"), "{n:?}");
    assert!(daemon.log().contains("poll failed"), "{}", daemon.log());
    server.close(n.id, 2).await;
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_asks_before_and_after_its_meeting_and_prints_the_ledger() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let data = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["demo", "--starts-in", "4", "--lasts", "3"])
        .env("DBUS_SESSION_BUS_ADDRESS", bus.address())
        .env("NEXTSTEP_DATA_DIR", data.path())
        .env_remove("NEXTSTEP_CONFIG");
    let daemon = Daemon::spawn(cmd);
    let n = expect_notification(&server, &daemon, Duration::from_secs(15)).await;
    assert!(n.summary.contains("Discovery call with Acme"), "{n:?}");
    server.click(n.id, "objective:0").await;
    let n = expect_notification(&server, &daemon, Duration::from_secs(20)).await;
    assert!(n.action_keys().contains(&"outcome:committed"), "{n:?}");
    server.click(n.id, "outcome:committed").await;
    let mut daemon = daemon;
    let out = tokio::task::spawn_blocking(move || daemon.wait_exit())
        .await
        .unwrap();
    assert!(out.0.success(), "{}", out.1);
    assert!(
        out.1
            .contains("objective: Agree to a next meeting (via notification)"),
        "{}",
        out.1
    );
    assert!(
        out.1.contains("outcome:   committed (via notification)"),
        "{}",
        out.1
    );
    // Only the customer meeting was prompted; the internal "Team sync" never.
    assert_eq!(server.recorded().len(), 2, "{:?}", server.recorded());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_a_sales_meeting_silences_the_whole_series() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let home = home();
    let now = Utc::now();
    let f = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    // One series, two occurrences 8 s apart (DTSTART and an RDATE).
    let cal = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:series-1\r\nDTSTAMP:{s}\r\nDTSTART:{a}\r\nDTEND:{a_end}\r\nRDATE:{b}\r\nSUMMARY:Weekly partner sync\r\nATTENDEE:mailto:me@mycorp.example\r\nATTENDEE:mailto:lee@partner.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        s = f(now),
        a = f(now + secs(6)),
        a_end = f(now + secs(8)),
        b = f(now + secs(14)),
    );
    home.write_calendar_text(&cal);
    let daemon = home.start(&bus);
    let n = expect_notification(&server, &daemon, Duration::from_secs(15)).await;
    assert!(
        n.label_of("not_sales")
            .is_some_and(|l| l.contains("series")),
        "{n:?}"
    );
    server.click(n.id, "not_sales").await;
    // The second occurrence's prompt would be due at +11 s; give it until +18 s.
    server
        .expect_none_within(Duration::from_secs(
            ((now + secs(18)) - Utc::now()).num_seconds().max(1) as u64,
        ))
        .await;
    let first = MeetingId::new("work", "series-1", Some(now_secs(now + secs(6))));
    let row = home
        .ledger()
        .find(&first)
        .unwrap()
        .expect("the first occurrence is in the ledger");
    assert!(!row.customer, "the override shows in the ledger: {row:?}");
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_refuses_a_bad_config_and_keeps_running_then_takes_a_good_one() {
    let bus = PrivateBus::start();
    let _server = FakeNotificationServer::start(bus.address()).await;
    let home = home();
    home.write_calendar(&[]);
    let mut daemon = home.start(&bus);
    daemon
        .wait_for_log("nextstep is running", 1, Duration::from_secs(20))
        .await;
    let good = std::fs::read_to_string(&home.config).unwrap();

    // A typo. `nextstep reload` reads the config first, so it shows the error and signals nothing.
    std::fs::write(
        &home.config,
        good.replace("[prompts]", "[prompts]\nbefor = \"5m\""),
    )
    .unwrap();
    let asked = home.cli(&["reload"]);
    assert_eq!(asked.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&asked.stderr).contains("befor"));
    // A SIGHUP from elsewhere (systemd's ExecReload): refused with check's words (file, line,
    // key), and the daemon carries on.
    home.sighup();
    daemon
        .wait_for_log("the config was not reloaded", 1, Duration::from_secs(10))
        .await;
    let log = daemon.log();
    assert!(
        log.contains("config.toml:") && log.contains("befor"),
        "{log}"
    );
    assert!(
        daemon.is_running(),
        "a bad config stopped the daemon:\n{log}"
    );

    // A good one with a second calendar: the daemon restarts its tasks on it, in the same process.
    // (`[ledger]` is the config's last table, so the calendar goes before it.)
    let extra = home.dir.path().join("extra.ics");
    std::fs::write(&extra, ics(&[])).unwrap();
    let (head, ledger) = good.split_at(good.find("[ledger]").unwrap());
    let with_extra = format!(
        "{head}[[calendars]]\nname = \"extra\"\nkind = \"ics\"\npath = {:?}\npoll = \"1s\"\n\n{ledger}",
        extra.display().to_string()
    );
    std::fs::write(&home.config, with_extra).unwrap();
    // SIGHUP the way systemd's ExecReload does.
    home.sighup();
    daemon
        .wait_for_log("reloading the config", 1, Duration::from_secs(10))
        .await;
    daemon
        .wait_for_log("source=extra", 1, Duration::from_secs(20))
        .await;
    assert!(daemon.is_running());
    daemon.stop();
}
