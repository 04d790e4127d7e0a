//! The daemon reconciles instead of guessing: a meeting with an objective that is missing from one
//! poll (its event skipped as unreadable, the file caught mid-write) keeps its objective and gets
//! no `cancelled`; only a complete read without its UID records `cancelled`.

use std::time::Duration;

use crate::support::calendar::{Event, ics};
use crate::support::daemon::{Home, wait_for_ledger};
use crate::support::dbus::PrivateBus;
use crate::support::notifications::FakeNotificationServer;
use chrono::Utc;
use nextstep::ledger::Ledger;
use nextstep::model::{Answer, MeetingId, Outcome, Via};

fn outcome(ledger: &Ledger, id: &MeetingId) -> Option<Outcome> {
    ledger
        .states(std::slice::from_ref(id), Duration::from_secs(600))
        .unwrap()
        .get(id)
        .and_then(|s| s.outcome.as_ref().map(|o| o.result))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meeting_missing_from_an_incomplete_read_is_not_recorded_cancelled() {
    let bus = PrivateBus::start();
    let _server = FakeNotificationServer::start(bus.address()).await;
    let home = Home::with_ics_calendar("timeout = \"2s\"\n");
    let start = Utc::now() + chrono::Duration::hours(3);
    let a = Event {
        uid: "cust-a",
        title: "Renewal with Acme",
        start,
        length: chrono::Duration::minutes(30),
        attendees: &["PARTSTAT=ACCEPTED:mailto:pat@acme.example"],
    };
    let b = || Event {
        uid: "cust-b",
        title: "Call with Globex",
        start: start + chrono::Duration::hours(1),
        length: chrono::Duration::minutes(30),
        attendees: &["PARTSTAT=ACCEPTED:mailto:sam@globex.example"],
    };
    let whole = ics(&[a, b()]);
    home.write_calendar_text(&whole);
    let daemon = home.start(&bus);
    daemon
        .wait_for_log("polled", 1, Duration::from_secs(10))
        .await;
    let id = MeetingId::new("work", "cust-a", None);
    wait_for_ledger(&home.ledger, "the meeting is remembered", |l| {
        l.states(std::slice::from_ref(&id), Duration::from_secs(600))
            .unwrap()
            .get(&id)
            .is_some_and(|s| s.first_seen.is_some())
    })
    .await;
    home.ledger()
        .record_answer(
            "test-objective",
            &id,
            &Answer::Objective {
                text: "Agree to a pilot".into(),
            },
            Via::Cli,
            Utc::now(),
        )
        .unwrap();

    // A's event loses its DTSTART: it is skipped, the read is incomplete.
    let a_block = whole.find("UID:cust-a").unwrap();
    let dtstart = a_block + whole[a_block..].find("DTSTART:").unwrap();
    let line_end = dtstart + whole[dtstart..].find("\r\n").unwrap() + 2;
    let broken = format!("{}{}", &whole[..dtstart], &whole[line_end..]);
    home.write_calendar_text(&broken);
    daemon
        .wait_for_log("skipped: event UID cust-a", 1, Duration::from_secs(10))
        .await;
    // The file caught mid-write: no END:VCALENDAR.
    let cut = &whole[..whole.find("END:VCALENDAR").unwrap()];
    home.write_calendar_text(cut);
    daemon
        .wait_for_log("END:VCALENDAR", 1, Duration::from_secs(10))
        .await;
    // A few more (failed) polls of the cut-off file.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(outcome(&home.ledger(), &id), None, "{}", daemon.log());

    // A complete read without A's UID: removed, and recorded cancelled.
    home.write_calendar(&[b()]);
    wait_for_ledger(&home.ledger, "the removed meeting is cancelled", |l| {
        outcome(l, &id) == Some(Outcome::Cancelled)
    })
    .await;
    daemon.stop();
}
