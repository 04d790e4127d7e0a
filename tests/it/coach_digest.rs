//! The weekly look back in the real daemon, on the private bus, with the clock started where the
//! test says (`NEXTSTEP_NOW`) and the local zone UTC: shown once at `digest.when` with its counts,
//! its top items and their commands, and the report page's address; not again after a restart in
//! the same week; and a week missed while the daemon was not running is shown once at the next
//! start.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use nextstep::model::{Answer, Outcome, Via};

use crate::support::daemon::{Daemon, Home, expect_notification};
use crate::support::dbus::PrivateBus;
use crate::support::notifications::FakeNotificationServer;
use crate::web_harness::meeting;

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// A home with an empty calendar, the page on any free port, the digest on Mondays at 09:00,
/// and a ledger where Acme's next step was due on 27 November (a Friday) and nothing happened
/// since, and a meeting on Thursday 3 December has no outcome yet.
fn home() -> Home {
    let home = Home::with_ics_calendar("\n[web]\nport = 0\n\n[digest]\nwhen = \"Mon 09:00\"\n")
        .with_env("TZ", "UTC");
    home.write_calendar(&[]);
    let mut ledger = home.ledger();
    let acme = meeting(
        "work/acme-1/single",
        "Pilot review with Acme",
        utc("2026-11-20T10:00:00Z"),
        Some("Acme"),
    );
    let late = meeting(
        "work/beta-1/single",
        "Kick-off with Beta",
        utc("2026-12-03T10:00:00Z"),
        Some("Beta"),
    );
    ledger
        .remember(&[acme.clone(), late], utc("2026-11-01T00:00:00Z"))
        .unwrap();
    let outcome = Answer::Outcome {
        result: Outcome::Committed,
        next_step: Some("Send the PO".into()),
        note: None,
        due: NaiveDate::from_ymd_opt(2026, 11, 27),
    };
    ledger
        .record(
            "acme-outcome",
            &acme.0.id,
            &outcome,
            Via::Cli,
            utc("2026-11-20T11:00:00Z"),
        )
        .unwrap();
    home
}

fn start_at(home: &Home, bus: &PrivateBus, now: &str) -> Daemon {
    let mut cmd = home.command(&["run"]);
    cmd.env("DBUS_SESSION_BUS_ADDRESS", bus.address())
        .env("NEXTSTEP_NOW", now);
    Daemon::spawn(cmd)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_weekly_look_back_is_shown_once_at_its_time_and_a_missed_week_once_at_the_next_start() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let home = home();

    // Monday 7 December, three seconds before nine.
    let started = std::time::Instant::now();
    let daemon = start_at(&home, &bus, "2026-12-07T08:59:57Z");
    let n = expect_notification(&server, &daemon, Duration::from_secs(15)).await;
    // At nine, not at the start: a first start only notes the week before as seen.
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        n.summary,
        "Weekly look back: 1 slipped, 0 without a commitment twice, 1 without an outcome"
    );
    assert!(n.action_keys().is_empty(), "{n:?}");
    for line in [
        "Acme: “Send the PO” was due 2026-11-27",
        "  $ nextstep outcome committed --meeting work/acme-1/single --correct --next-step 'Send the PO' --due YYYY-MM-DD",
        "“Kick-off with Beta” on Thu 03 Dec: no outcome yet",
        "  $ nextstep outcome RESULT --meeting work/beta-1/single",
    ] {
        assert!(
            n.body.lines().any(|l| l == line),
            "{line:?} not in {}",
            n.body
        );
    }
    assert!(
        n.body.contains("The report: http://127.0.0.1:") && n.body.contains("/report?token="),
        "{}",
        n.body
    );
    let log = daemon.stop();
    assert_eq!(log.matches("weekly look back shown").count(), 1, "{log}");

    // A restart in the same week, across the same nine o'clock: nothing new.
    let daemon = start_at(&home, &bus, "2026-12-07T08:59:57Z");
    daemon
        .wait_for_log("polled meetings=0", 2, Duration::from_secs(15))
        .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(server.next_notification(Duration::ZERO).await.is_none());
    assert!(!daemon.stop().contains("weekly look back shown"));

    // Wednesday 16 December: the daemon slept through Monday the 14th, so it shows that week now,
    // once; a restart the same day shows nothing.
    let daemon = start_at(&home, &bus, "2026-12-16T12:00:00Z");
    let n = expect_notification(&server, &daemon, Duration::from_secs(15)).await;
    assert!(
        n.summary.starts_with("Weekly look back: 1 slipped"),
        "{n:?}"
    );
    daemon.stop();
    let daemon = start_at(&home, &bus, "2026-12-16T12:00:05Z");
    daemon
        .wait_for_log("polled meetings=0", 2, Duration::from_secs(15))
        .await;
    assert!(server.next_notification(Duration::ZERO).await.is_none());
    daemon.stop();
}
