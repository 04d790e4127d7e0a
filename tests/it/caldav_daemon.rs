//! The whole daemon against a real CalDAV server: the `nextstep run` binary discovers and polls a
//! Radicale server (`support::radicale`), prompts over a private D-Bus session bus to a fake
//! notification server (`support`) and writes a real SQLite ledger. The test edits the
//! calendar on the server the way another client would and plays the user at the notifications.
//!
//! Meetings are seconds away (`before = "3s"`, `poll = "1s"`); each test has its own Radicale, bus,
//! notification server, files and daemon, so they run in parallel.
//!
//! Needs Radicale: `NEXTSTEP_RADICALE_PYTHON=/path/to/python cargo test --test it caldav_daemon::`.

use std::time::Duration;

use crate::support::calendar::{Event, ics};
use crate::support::daemon::{
    Home, expect_notification, expect_only_the_moved_prompt, expect_the_acme_objective_prompt,
    the_deleted_meeting, the_moved_meeting,
};
use crate::support::dbus::PrivateBus;
use crate::support::notifications::FakeNotificationServer;
use crate::support::radicale::Radicale;
use chrono::Utc;
use nextstep::model::{MeetingId, Via};

const ALICE: (&str, &str) = ("alice", "alice-pw");
const PASSWORD_ENV: &str = "NEXTSTEP_TEST_DAV_PASSWORD";
/// The config's `[[calendars]] name`: the first part of every meeting id.
const SOURCE: &str = "dav";

/// A Radicale server with alice's calendars, and the daemon's home around it.
struct Setup {
    radicale: Radicale,
    home: Home,
}

impl Setup {
    /// `password`: the one the daemon is given (the server knows `ALICE.1`); `calendars`: the
    /// config's `calendars = [...]` selection (none: every calendar).
    fn new(password: &str, calendars: &[&str]) -> Setup {
        let radicale = Radicale::start(&[ALICE]);
        let selection = if calendars.is_empty() {
            String::new()
        } else {
            format!("calendars = {calendars:?}\n")
        };
        let home = Home::new("me@mycorp.example", |_| {
            format!(
                r#"[[calendars]]
name = "{SOURCE}"
kind = "caldav"
url = "http://127.0.0.1:{port}/"
username = "{user}"
password_env = "{PASSWORD_ENV}"
{selection}poll = "1s"
timeout = "5s"
"#,
                port = radicale.port,
                user = ALICE.0,
            )
        })
        .with_env(PASSWORD_ENV, password);
        Setup { radicale, home }
    }

    /// Creates alice's calendar `name` shown as `display`; returns its path.
    async fn calendar(&self, name: &str, display: &str) -> String {
        self.radicale
            .mkcalendar(ALICE, name, display, &["VEVENT"])
            .await
    }

    /// Stores (or replaces) an event in `calendar`; returns the object's path.
    async fn put(&self, calendar: &str, event: &Event<'_>) -> String {
        let path = format!("{calendar}{}.ics", event.uid);
        self.radicale
            .put(ALICE, &path, &ics(std::slice::from_ref(event)))
            .await;
        path
    }
}

impl std::ops::Deref for Setup {
    type Target = Home;
    fn deref(&self) -> &Home {
        &self.home
    }
}

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

const CUSTOMER: &str = "PARTSTAT=NEEDS-ACTION:mailto:jane@acme.example";
const OUR_ROOM: &str = "CUTYPE=ROOM;PARTSTAT=ACCEPTED:mailto:room-1@mycorp.example";
/// A room booked at another company's address: a room, not a customer.
const FOREIGN_ROOM: &str = "CUTYPE=ROOM;PARTSTAT=ACCEPTED:mailto:board-room@rooms.partner.example";
const COLLEAGUE: &str = "PARTSTAT=ACCEPTED:mailto:sam@mycorp.example";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caldav_customer_meeting_is_prompted_and_answered_and_an_internal_one_is_not() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let setup = Setup::new(ALICE.1, &["Sales"]);
    let sales = setup.calendar("sales", "Sales").await;
    // A second calendar the config does not select: its customer meeting must stay silent.
    let private = setup.calendar("private", "Private").await;
    let now = Utc::now();
    setup
        .put(
            &sales,
            &Event {
                uid: "dav-cust-1",
                title: "Pilot scoping with Acme",
                start: now + secs(6),
                length: secs(60),
                attendees: &[CUSTOMER, OUR_ROOM],
            },
        )
        .await;
    setup
        .put(
            &sales,
            &Event {
                uid: "dav-internal-1",
                title: "Team sync",
                start: now + secs(5),
                length: secs(60),
                attendees: &[COLLEAGUE, FOREIGN_ROOM],
            },
        )
        .await;
    setup
        .put(
            &private,
            &Event {
                uid: "dav-unselected-1",
                title: "Dentist with Acme",
                start: now + secs(5),
                length: secs(60),
                attendees: &[CUSTOMER],
            },
        )
        .await;
    let daemon = setup.start(&bus);

    let n = expect_the_acme_objective_prompt(&server, &daemon, Duration::from_secs(20), now).await;

    server.click(n.id, "objective:0").await;
    let id = MeetingId::new(SOURCE, "dav-cust-1", None);
    setup
        .wait_for_objective(&id, "Agree to a next meeting", Via::Notification)
        .await;

    // The internal meeting (and the unselected calendar's) were due before the customer one; by
    // now they would have been shown. Nothing else was.
    assert_eq!(server.recorded().len(), 1, "{:?}", server.recorded());
    let log = daemon.stop();
    assert!(log.contains("caldav calendars discovered"), "{log}");
    assert!(
        setup
            .ledger()
            .find(&MeetingId::new(SOURCE, "dav-internal-1", None))
            .unwrap()
            .and_then(|r| r.objective)
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_moved_on_the_server_moves_its_prompt() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let setup = Setup::new(ALICE.1, &[]);
    let work = setup.calendar("work", "Work").await;
    let now = Utc::now();
    let moving = |start| the_moved_meeting("dav-move", start);
    setup.put(&work, &moving(now + secs(12))).await;
    let deleted = setup
        .put(&work, &the_deleted_meeting("dav-del", now + secs(12)))
        .await;
    let daemon = setup.start(&bus);
    daemon
        .wait_for_log("polled meetings=2", 1, Duration::from_secs(10))
        .await;

    // Another client moves one meeting 12 s later and deletes the other, before either is due.
    setup.put(&work, &moving(now + secs(24))).await;
    setup.radicale.delete(ALICE, &deleted).await;
    expect_only_the_moved_prompt(&server, daemon, now).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_told_once_and_retried_only_at_a_slow_pace() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let setup = Setup::new("not-alices-password", &[]);
    let work = setup.calendar("work", "Work").await;
    setup
        .put(
            &work,
            &Event {
                uid: "dav-locked",
                title: "Review with Acme",
                start: Utc::now() + secs(6),
                length: secs(60),
                attendees: &[CUSTOMER],
            },
        )
        .await;
    let mut daemon = setup.start(&bus);

    let n = expect_notification(&server, &daemon, Duration::from_secs(10)).await;
    assert!(n.summary.contains("calendar"), "{n:?}");
    assert!(n.body.contains(SOURCE), "names the calendar: {n:?}");
    assert!(n.body.contains("password"), "says what to check: {n:?}");
    assert!(
        !n.body.contains("not-alices-password"),
        "the secret leaked: {n:?}"
    );

    // Over the next 3 s (three poll intervals; the meeting's prompt would be due too): no retry
    // (the next is 15 minutes away), no second notification, and the daemon is still up.
    server.expect_none_within(Duration::from_secs(3)).await;
    assert!(daemon.is_running(), "{}", daemon.log());
    let log = daemon.stop();
    assert_eq!(log.matches("not authorised").count(), 1, "{log}");
    assert_eq!(log.matches("trying again every 15 min").count(), 1, "{log}");
    assert_eq!(log.matches("poll failed").count(), 0, "{log}");
    assert_eq!(log.matches("polled").count(), 0, "{log}");
    assert!(
        !log.contains("not-alices-password"),
        "the secret leaked: {log}"
    );
}
