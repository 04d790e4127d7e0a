//! Crash safety with a real process: a child writes answers and shown prompts as fast as it can
//! and prints each key once its write returned; the parent SIGKILLs it mid-stream, reopens the
//! ledger and checks that every reported key is there exactly once, and that writing them all
//! again changes nothing.
//!
//! The child is this test binary itself, re-run with `--exact ledger_crash::crash_writer_child`
//! (the name is built from this module's path, so it follows the file) and the ledger path in an
//! environment variable.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use nextstep::ledger::Ledger;
use nextstep::lock::{InstanceLock, LockError};
use nextstep::model::{Answer, MeetingId, Outcome, PlannedPrompt, PromptKind, Via};

use crate::web_harness::meeting;

const WRITER_ENV: &str = "NEXTSTEP_TEST_CRASH_WRITER_LEDGER";
const MEETINGS: usize = 10;

/// The child test's name as libtest knows it: this module's path without the crate name.
fn child_test_name() -> String {
    let module = module_path!()
        .split_once("::")
        .map_or(module_path!(), |(_crate, rest)| rest);
    format!("{module}::crash_writer_child")
}

fn meeting_id(i: usize) -> MeetingId {
    MeetingId(format!("work/crash-{}/single", i % MEETINGS))
}

fn answer(i: usize) -> Answer {
    Answer::Outcome {
        result: Outcome::ALL[i % Outcome::ALL.len()],
        next_step: Some(format!("step {i}")),
        note: None,
        due: None,
    }
}

fn prompt(i: usize) -> PlannedPrompt {
    PlannedPrompt {
        due: Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap(),
        meeting: meeting_id(i),
        kind: PromptKind::Outcome,
        attempt: i as u32,
    }
}

/// The child: records until killed. Does nothing when run as an ordinary (ignored) test.
#[test]
#[ignore = "the child process of a_writer_killed_mid_stream_loses_no_committed_write"]
fn crash_writer_child() {
    let Some(path) = std::env::var_os(WRITER_ENV) else {
        return;
    };
    let path = Path::new(&path);
    let _lock = InstanceLock::acquire(path).unwrap();
    let mut ledger = Ledger::open(path).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    let items: Vec<_> = (0..MEETINGS)
        .map(|i| {
            meeting(
                meeting_id(i).as_str(),
                &format!("Crash test {i}"),
                now - chrono::TimeDelta::hours(2),
                Some("Acme"),
            )
        })
        .collect();
    ledger.remember(&items, now).unwrap();
    println!("ready");
    for i in 0.. {
        let p = prompt(i);
        assert!(ledger.record_shown(&p, now).unwrap());
        println!("shown {}", p.key());
        let key = format!("answer-{i}");
        assert!(
            ledger
                .record_answer(&key, &meeting_id(i), &answer(i), Via::Daemon, now)
                .unwrap()
        );
        // Printed only after the write returned: a printed key is a committed key.
        println!("committed {key}");
    }
}

#[test]
fn a_writer_killed_mid_stream_loses_no_committed_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite3");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            &child_test_name(),
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(WRITER_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();

    // Read the child's lines on a thread, so every wait below has a deadline.
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let next = || {
        rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the writer child went quiet")
    };

    // libtest prints `test ledger_crash::crash_writer_child ... ` without a newline before the child's output.
    while !next().ends_with("ready") {}
    // While the writer lives, a second instance on its ledger is refused.
    assert!(matches!(
        InstanceLock::acquire(&path),
        Err(LockError::Held { .. })
    ));

    let (mut shown, mut committed) = (Vec::new(), Vec::new());
    let mut take = |line: String| {
        if let Some(k) = line.strip_prefix("shown ") {
            shown.push(k.to_owned());
        } else if let Some(k) = line.strip_prefix("committed ") {
            committed.push(k.to_owned());
        }
    };
    let mut seen = 0;
    while seen < 300 {
        let line = next();
        seen += usize::from(line.starts_with("committed "));
        take(line);
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    // Everything the child printed before it died is still in the pipe.
    reader.join().unwrap();
    while let Ok(line) = rx.try_recv() {
        take(line);
    }
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        Some(9),
        "the writer was killed, not finished"
    );
    assert!(committed.len() >= 300);

    // The lock died with the process.
    let _lock = InstanceLock::acquire(&path).unwrap();

    let conn = rusqlite::Connection::open(&path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let count = |sql: &str, key: &str| -> i64 { conn.query_row(sql, [key], |r| r.get(0)).unwrap() };
    for key in &committed {
        assert_eq!(
            count("SELECT count(*) FROM answers WHERE key = ?1", key),
            1,
            "{key}"
        );
    }
    for key in &shown {
        assert_eq!(
            count("SELECT count(*) FROM prompts_shown WHERE key = ?1", key),
            1,
            "{key}"
        );
    }
    // At most the one write in flight when the kill came went through without being reported.
    let total: usize = conn
        .query_row("SELECT count(*) FROM answers", [], |r| r.get::<_, i64>(0))
        .unwrap() as usize;
    assert!(
        (committed.len()..=committed.len() + 1).contains(&total),
        "{total} rows for {} reported",
        committed.len()
    );
    drop(conn);

    // Recording everything again is a no-op.
    let mut ledger = Ledger::open(&path).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 13, 0, 0).unwrap();
    for (i, key) in committed.iter().enumerate() {
        assert_eq!(key, &format!("answer-{i}"));
        assert!(
            !ledger
                .record_answer(key, &meeting_id(i), &answer(i), Via::Cli, now)
                .unwrap()
        );
    }
    for i in 0..shown.len() {
        assert!(!ledger.record_shown(&prompt(i), now).unwrap());
    }
    let rows = ledger.customer_meetings(None).unwrap();
    assert_eq!(rows.len(), MEETINGS);
    // The latest answer per meeting is still the child's, not the re-recorded one.
    assert!(
        rows.iter()
            .all(|r| r.outcome.as_ref().unwrap().via == Via::Daemon)
    );
}
