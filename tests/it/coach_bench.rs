//! How long the coaching reads take on a ledger of 5,000 customer meetings over two years: 250
//! accounts met in turn, 20 meetings each about five weeks apart, climbing the default ladder
//! (commitments, continuations, some twice in a row, advances with a due date a week on); four
//! in five accounts won at the last rung and one in five lost; one in ten has its last meeting
//! cancelled, so its dated next step slips; one in seventeen has no outcome for the past week;
//! some lost and reopen marks. The meetings are built with the web bench's builder, over the same
//! span; its answers are not reused, since they have no ladder objectives, due dates or marks and
//! would leave the cycle, slipped and digest paths idle.
//!
//! Times the in-process report (with the coaching section) and digest, median of 5, with a loose
//! bound (the test build is not optimised and the machine is shared). With
//! `NEXTSTEP_BENCH_LEDGER=PATH` the seeded ledger is also copied to PATH, for timing the release
//! build's `nextstep report` and `digest` on it (`scripts/bench-coach.sh`).

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use nextstep::ledger::Ledger;
use nextstep::model::{Answer, MarkKind, MeetingStatus, Outcome, Via};

use super::web_harness::meeting;

const MEETINGS: i64 = 5_000;
/// Accounts, met in turn.
const ACCOUNTS: i64 = 250;

/// Whether meeting `i` is its account's last.
fn last(i: i64) -> bool {
    i + ACCOUNTS >= MEETINGS
}

#[test]
fn report_and_digest_are_quick_on_5000_meetings_over_two_years() {
    let ladder = nextstep::config::Prompts::default().objectives;
    let now = Utc::now();
    let span = TimeDelta::days(730);
    let history: Vec<_> = (0..MEETINGS)
        .map(|i| {
            let start =
                now - span + span * i32::try_from(i).unwrap() / i32::try_from(MEETINGS).unwrap();
            let account = format!("Account {}", i % ACCOUNTS);
            let mut m = meeting(&format!("work/m{i}/single"), "Call", start, Some(&account));
            if last(i) && i % 10 == 3 {
                m.0.status = MeetingStatus::Cancelled;
            }
            m
        })
        .collect();
    // In memory when the system has a tmpfs: the ledger syncs every write.
    let dir = tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .unwrap();
    let path = dir.path().join("ledger.sqlite3");
    let mut ledger = Ledger::open(&path).unwrap();
    let seeding = Instant::now();
    ledger.remember(&history, now - span).unwrap();
    for (i, (m, v)) in history.iter().enumerate() {
        if m.end > now {
            continue;
        }
        let i = i as i64;
        let (a, j) = (i % ACCOUNTS, i / ACCOUNTS);
        if m.status == MeetingStatus::Cancelled || (a % 17 == 0 && m.end > now - TimeDelta::days(7))
        {
            continue;
        }
        let rung = usize::try_from(j * 6 / (MEETINGS / ACCOUNTS))
            .unwrap()
            .min(ladder.len() - 1);
        let objective = Answer::Objective {
            text: ladder[rung].clone(),
        };
        ledger
            .record(&format!("o{i}"), &m.id, &objective, Via::Cli, m.start)
            .unwrap();
        let advanced_due = a % 10 == 3 && last(i + ACCOUNTS);
        let (result, due) = match (last(i), (a * 7 + j * 3) % 5) {
            (true, _) if a % 5 == 0 => (Outcome::NoSale, None),
            (true, _) => (Outcome::Committed, None),
            (_, 0 | 1) if !advanced_due => (Outcome::Committed, None),
            (_, 2 | 4) if !advanced_due => (Outcome::Continuation, None),
            _ => (
                Outcome::Advanced,
                Some((m.start + TimeDelta::days(7)).date_naive()),
            ),
        };
        let outcome = Answer::Outcome {
            result,
            next_step: due.map(|_| "Send the revised proposal".to_owned()),
            note: None,
            due,
        };
        ledger
            .record(&format!("r{i}"), &m.id, &outcome, Via::Cli, m.end)
            .unwrap();
        if last(i) && a % 25 == 0 {
            let account = v.account.as_deref().unwrap();
            let day = m.start.date_naive();
            ledger
                .mark_account(
                    &format!("k{a}"),
                    account,
                    MarkKind::Lost,
                    day,
                    Via::Cli,
                    m.end,
                )
                .unwrap();
            if a % 50 == 0 {
                ledger
                    .mark_account(
                        &format!("r{a}"),
                        account,
                        MarkKind::Reopen,
                        day,
                        Via::Cli,
                        m.end,
                    )
                    .unwrap();
            }
        }
    }
    eprintln!("seeded {MEETINGS} meetings in {:?}", seeding.elapsed());
    if let Ok(keep) = std::env::var("NEXTSTEP_BENCH_LEDGER") {
        let _ = std::fs::remove_file(&keep);
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute("VACUUM INTO ?1", [&keep])
            .unwrap();
    }

    let today = now.date_naive();
    let time = |name: &str, f: &dyn Fn() -> usize| {
        let mut times: Vec<Duration> = (0..5)
            .map(|_| {
                let t = Instant::now();
                assert!(f() > 0, "{name} is empty");
                t.elapsed()
            })
            .collect();
        times.sort();
        eprintln!(
            "{name}: median {:?} (min {:?}, max {:?})",
            times[2], times[0], times[4]
        );
        assert!(times[2] < Duration::from_secs(10), "{name}: {:?}", times[2]);
    };
    time("report", &|| {
        let rows = ledger.customer_meetings(None).unwrap();
        let marks = ledger.account_marks(None).unwrap();
        let r = nextstep::report::build(&rows, None, now, &Utc)
            .with_coaching(&ladder, &rows, &marks, today, &Utc);
        let c = r.coaching.unwrap();
        assert!(c.sell_cycle.total.median_days.is_some());
        c.sell_cycle.accounts.len()
    });
    time("digest", &|| {
        let rows = ledger.customer_meetings(None).unwrap();
        let marks = ledger.account_marks(None).unwrap();
        let d = nextstep::coach::digest(&ladder, &rows, &marks, now, today, &Utc);
        d.slipped.len() + d.stalled.len() + d.awaiting.len() + 1
    });
    time("one account's suggestion", &|| {
        let rows = ledger.customer_meetings_of_account("Account 1").unwrap();
        let s = nextstep::coach::explain(&ladder, &rows, now);
        rows.len() + usize::from(s.is_ok())
    });
}
