//! How long the answer page takes to render home, a meeting and the report on a ledger of 5,000
//! customer meetings over two years (12 accounts, every meeting with an objective and an
//! outcome). Prints the median of 7 requests of each page; asserts only a loose bound, since the
//! machine is shared and the test build is not optimised. Run it alone for figures:
//! `cargo nextest run --test it -E 'test(/web_bench/)' --no-capture`. With
//! `NEXTSTEP_BENCH_LEDGER=PATH` the seeded ledger is also copied to PATH, for timing a release
//! build's `nextstep serve` on it (`scripts/bench-web.sh`).

use std::time::{Duration, Instant};

use chrono::Utc;
use nextstep::ledger::Ledger;
use nextstep::model::{Answer, Outcome, Via};

use super::web_harness::{Page, meeting};

const MEETINGS: i64 = 5_000;

#[tokio::test]
async fn home_meeting_and_report_render_quickly_on_5000_meetings_over_two_years() {
    let now = Utc::now();
    let span = chrono::Duration::days(730);
    let history: Vec<_> = (0..MEETINGS)
        .map(|i| {
            let start =
                now - span + span * i32::try_from(i).unwrap() / i32::try_from(MEETINGS).unwrap();
            let account = format!("Account {}", i % 12);
            meeting(
                &format!("work/m{i}/single"),
                "Quarterly review",
                start,
                Some(&account),
            )
        })
        .collect();
    let page = Page::start(&history).await;
    let seeding = Instant::now();
    let mut ledger: Ledger = page.open_ledger();
    for (i, (m, _)) in history.iter().enumerate() {
        if m.end > now {
            continue;
        }
        let objective = Answer::Objective {
            text: "Agree to a pilot".into(),
        };
        ledger
            .record(&format!("o{i}"), &m.id, &objective, Via::Cli, m.start)
            .unwrap();
        let result = Outcome::ALL[i % 5];
        let outcome = Answer::Outcome {
            result,
            next_step: None,
            note: None,
            due: None,
        };
        ledger
            .record(&format!("r{i}"), &m.id, &outcome, Via::Cli, m.end)
            .unwrap();
    }
    eprintln!("seeded {MEETINGS} meetings in {:?}", seeding.elapsed());
    if let Ok(keep) = std::env::var("NEXTSTEP_BENCH_LEDGER") {
        let _ = std::fs::remove_file(&keep);
        rusqlite::Connection::open(&page.ledger)
            .unwrap()
            .execute("VACUUM INTO ?1", [&keep])
            .unwrap();
    }
    let last = history.last().unwrap().0.id.as_str().replace('/', "%2F");
    for (name, path) in [
        ("home", "/".to_owned()),
        ("meeting", format!("/meeting?id={last}")),
        ("report", "/report".to_owned()),
    ] {
        let mut times: Vec<Duration> = Vec::new();
        for _ in 0..7 {
            let t = Instant::now();
            let r = page.get(&path).await;
            assert!(r.status().is_success(), "{name}: {}", r.status());
            let body = r.text().await.unwrap();
            times.push(t.elapsed());
            assert!(body.contains("</html>"), "{name}");
        }
        times.sort();
        eprintln!(
            "{name}: median {:?} (min {:?}, max {:?})",
            times[3], times[0], times[6]
        );
        assert!(times[3] < Duration::from_secs(5), "{name}: {:?}", times[3]);
    }
}
