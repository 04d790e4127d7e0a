//! Sources misbehaving, table-driven: for each fault of `support::faulty` (server down, 500, a
//! response that hangs, a body cut off with and without `Content-Length`, garbage, a 50 MB body, a
//! redirect loop, 401), the real daemon polls a calendar that first answers well, then fails for
//! [`OUTAGE`], then answers well again. Each row checks that the daemon stays alive, keeps
//! prompting from what it knew, writes nothing to the ledger it did not learn from the source,
//! backs off (bounded requests), logs one line per failure streak, and recovers without a
//! restart; the figures of every row make the matrix printed at the end (and kept in the README).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::support::calendar::{Event, ics};
use crate::support::daemon::Home;
use crate::support::dbus::PrivateBus;
use crate::support::faulty::{Fault, FaultyServer, Good};
use crate::support::notifications::FakeNotificationServer;

/// How long each fault lasts.
const OUTAGE: Duration = Duration::from_secs(10);

/// How long the daemon may take to read the calendar again once the server is fixed: its
/// backoff is capped at the poll interval or 5 s (±20%), plus the 2 s request timeout.
const RECOVERY_LIMIT: Duration = Duration::from_secs(20);

/// One row of the matrix.
#[derive(Debug)]
struct Row {
    fault: Fault,
    alive: bool,
    prompt_fired: bool,
    ledger_rows_invented: usize,
    requests: usize,
    failure_lines: usize,
    recovery: Option<Duration>,
}

/// Rows the daemon wrote that only the source could have justified: meetings marked gone, and
/// answers no person gave (a `cancelled` outcome, say).
fn invented_rows(ledger: &std::path::Path) -> usize {
    let db = rusqlite::Connection::open(ledger).unwrap();
    let gone: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM meetings WHERE gone_at IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let answers: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM answers WHERE via != 'notification' AND kind != 'objective_missed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    (gone + answers) as usize
}

/// Lines of `log` that report a failed poll.
fn failure_lines(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("poll{") && (l.contains(" WARN ") || l.contains(" ERROR ")))
        .filter(|l| !l.contains("skipped:"))
        .count()
}

/// One fault against a fresh daemon whose one calendar is the ICS URL `server` serves.
async fn ics_url_row(fault: Fault) -> Row {
    let bus = PrivateBus::start();
    let notifications = FakeNotificationServer::start(bus.address()).await;
    let now = Utc::now();
    // Due (start - 3 s) in the middle of the outage; and one the daemon only knows about.
    let soon = now + chrono::Duration::seconds(12);
    let later = now + chrono::Duration::hours(2);
    let body = ics(&[
        Event {
            uid: "soon",
            title: "Kickoff with Acme",
            start: soon,
            length: chrono::Duration::minutes(30),
            attendees: &["PARTSTAT=NEEDS-ACTION:mailto:jane@acme.example"],
        },
        Event {
            uid: "later",
            title: "Renewal with Globex",
            start: later,
            length: chrono::Duration::minutes(30),
            attendees: &["PARTSTAT=NEEDS-ACTION:mailto:hans@globex.example"],
        },
    ]);
    let server = FaultyServer::start(Good::Body {
        body: body.into_bytes(),
        content_type: "text/calendar".into(),
    })
    .await;
    let url = server.url("/cal.ics");
    let home = Home::new("me@mycorp.example", |_| {
        format!(
            "[[calendars]]\nname = \"work\"\nkind = \"ics\"\nurl = {url:?}\npoll = \"1s\"\ntimeout = \"2s\"\n"
        )
    });
    let mut daemon = home.start(&bus);
    daemon
        .wait_for_log("polled meetings=2", 1, Duration::from_secs(15))
        .await;

    server.set_fault(Some(fault)).await;
    let before = server.requests();
    let log_from = daemon.log().len();
    let polls_before = daemon.log().matches("polled meetings=2").count();
    let outage = Instant::now();
    let prompt = notifications.next_notification(OUTAGE).await;
    tokio::time::sleep(OUTAGE.saturating_sub(outage.elapsed())).await;
    let requests = server.requests() - before;
    let outage_log = daemon.log()[log_from..].to_string();
    let invented = invented_rows(&home.ledger);

    server.set_fault(None).await;
    let fixed = Instant::now();
    let mut recovery = None;
    while fixed.elapsed() < RECOVERY_LIMIT * 2 {
        if daemon.log().matches("polled meetings=2").count() > polls_before {
            recovery = Some(fixed.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let alive = daemon.is_running();
    let _ = daemon.kill9_and_log();
    Row {
        fault,
        alive,
        prompt_fired: prompt.is_some_and(|n| n.summary.contains("Kickoff with Acme")),
        ledger_rows_invented: invented,
        requests,
        failure_lines: failure_lines(&outage_log),
        recovery,
    }
}

fn matrix(source: &str, rows: &[Row]) -> String {
    let mut s = format!(
        "{source}: fault | daemon alive | prompts still fired | ledger rows invented | requests in {} s | failure log lines | recovery\n",
        OUTAGE.as_secs()
    );
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.fault.describe(),
            if r.alive { "yes" } else { "no" },
            if r.prompt_fired { "yes" } else { "no" },
            r.ledger_rows_invented,
            r.requests,
            r.failure_lines,
            r.recovery.map_or_else(
                || "none".to_string(),
                |d| format!("{:.1} s", d.as_secs_f64())
            ),
        );
    }
    s
}

/// At most one poll per backoff step (at least 4 s apart after the first failure) during the
/// outage, each following at most 10 redirects.
fn request_bound(fault: Fault) -> usize {
    let polls = 1 + OUTAGE.as_secs() as usize / 4 + 1;
    if fault == Fault::RedirectLoop {
        polls * 11
    } else {
        polls
    }
}

async fn ics_url_matrix(faults: &[Fault]) -> Vec<Row> {
    let mut rows = Vec::new();
    for &f in faults {
        rows.push(ics_url_row(f).await);
    }
    println!("{}", matrix("ICS URL", &rows));
    rows
}

/// The faults whose rows hold on the current daemon; the others wait for the `poll` branch (see
/// the ignored test below).
const HELD_TODAY: [Fault; 7] = [
    Fault::Down,
    Fault::Status500,
    Fault::Hang,
    Fault::CutWithLength,
    Fault::Garbage,
    Fault::Huge,
    Fault::RedirectLoop,
];

fn assert_row(r: &Row, all: &[Row]) {
    let m = matrix("ICS URL", all);
    assert!(r.alive, "{:?}: the daemon died\n{m}", r.fault);
    assert!(
        r.prompt_fired,
        "{:?}: the prompt due during the outage was not shown\n{m}",
        r.fault
    );
    assert_eq!(
        r.ledger_rows_invented, 0,
        "{:?}: rows the source never justified\n{m}",
        r.fault
    );
    assert!(
        r.requests <= request_bound(r.fault),
        "{:?}: {} requests in {:?}, no backoff\n{m}",
        r.fault,
        r.requests,
        OUTAGE
    );
    assert!(
        r.recovery.is_some_and(|d| d <= RECOVERY_LIMIT),
        "{:?}: no recovery within {RECOVERY_LIMIT:?}\n{m}",
        r.fault
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ics_url_that_misbehaves_keeps_the_daemon_prompting_and_it_recovers_without_a_restart() {
    let rows = ics_url_matrix(&HELD_TODAY).await;
    for r in &rows {
        assert_row(r, &rows);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the poll branch: a cut-off body without Content-Length is a failed poll, 401 then fixed recovers without a restart, one log line per failure streak"]
async fn every_source_fault_logs_one_line_per_streak_and_recovers_without_a_restart() {
    let rows = ics_url_matrix(&Fault::ALL).await;
    for r in &rows {
        assert_row(r, &rows);
        assert_eq!(
            r.failure_lines,
            1,
            "{:?}: one log line per failure streak\n{}",
            r.fault,
            matrix("ICS URL", &rows)
        );
    }
}
