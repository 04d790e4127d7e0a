//! Microsoft 365, end to end through the real binary: `nextstep auth microsoft` signs in against
//! the local fake of the identity platform (`support::microsoft`) while the test plays the person
//! with the code, then `nextstep run` follows Graph's delta links, prompts over a private D-Bus
//! notification server, and keeps answers in the ledger.
//!
//! Meetings are seconds away (`before = "3s"`, `poll = "1s"`); every test has its own fake, bus,
//! notification server, files and processes, so the tests run in parallel.

use std::time::Duration;

use crate::support::daemon::{Home, expect_notification, expect_only_the_moved_prompt, wait_until};
use crate::support::dbus::PrivateBus;
use crate::support::microsoft::{
    FakeMicrosoft, ME, Person, calendar_table, event, sign_in_through_the_cli,
};
use crate::support::notifications::FakeNotificationServer;
use chrono::{DateTime, Utc};
use nextstep::model::{MeetingId, Outcome, Via};
use serde_json::{Value, json};

/// A fake Microsoft, a desktop (a private bus with a notification server) and a home whose user
/// signed in through the CLI with the device code; the token in a file, never a keyring.
async fn signed_in_desktop() -> (FakeMicrosoft, PrivateBus, FakeNotificationServer, Home) {
    let fake = FakeMicrosoft::start().await;
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let home =
        Home::new(ME, |_| calendar_table(&fake, &["primary"])).with_env("NEXTSTEP_KEYRING", "off");
    let s = sign_in_through_the_cli(&home, &fake, Person::Approves, &[]).await;
    assert!(s.status.success(), "{}\n{}", s.stdout, s.stderr);
    (fake, bus, server, home)
}

/// Now, in whole seconds: Graph's times have no fractions here, so the test's idea of a
/// meeting's start and end is exactly the daemon's.
fn whole_second_now() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap()
}

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

fn graph_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S.0000000").to_string()
}

/// A meeting as Graph sends it, in UTC, with `attendees` as `(address, type, response)`.
fn meeting(
    id: &str,
    subject: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    attendees: &[(&str, &str, &str)],
) -> Value {
    event(
        id,
        subject,
        &graph_time(start),
        &graph_time(end),
        "UTC",
        attendees,
    )
}

/// A customer meeting with a booked room.
fn customer(id: &str, subject: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> Value {
    meeting(
        id,
        subject,
        start,
        end,
        &[
            ("jane@acme.example", "required", "none"),
            ("room-4@contoso.com", "resource", "accepted"),
        ],
    )
}

fn meeting_id(graph_id: &str) -> MeetingId {
    MeetingId::new(
        "m365",
        &format!("040000008200E00074C5B7101A82E008000000{graph_id}"),
        None,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_then_running_the_daemon_prompts_for_microsoft_meetings_and_keeps_the_answers() {
    let (fake, bus, server, home) = signed_in_desktop().await;
    let now = whole_second_now();
    let title = "Pilot scoping with Acme";
    let mut cust = customer("cust1", title, now + secs(6), now + secs(11));
    fake.put_event("primary", cust.clone());
    fake.put_event(
        "primary",
        meeting(
            "int1",
            "Team sync",
            now + secs(5),
            now + secs(8),
            &[("sam@contoso.com", "required", "accepted")],
        ),
    );
    let mut declined = customer("dec1", "Initech intro", now + secs(5), now + secs(9));
    declined["isOrganizer"] = json!(false);
    declined["responseStatus"] = json!({"response": "declined", "time": "2026-11-28T09:00:00Z"});
    fake.put_event("primary", declined);
    let daemon = home.start(&bus);

    let n = expect_notification(&server, &daemon, Duration::from_secs(15)).await;
    assert!(n.summary.contains(title), "{n:?}");
    let objective = n
        .label_of("objective:0")
        .unwrap_or_else(|| panic!("an objective button: {n:?}"))
        .to_string();
    server.click(n.id, "objective:0").await;
    let id = meeting_id("cust1");
    wait_until(
        "the objective in the ledger",
        Duration::from_secs(10),
        || {
            home.ledger()
                .find(&id)
                .unwrap()
                .and_then(|r| r.objective)
                .is_some_and(|o| o.via == Via::Notification && o.text == objective)
        },
    )
    .await;

    // The meeting moves ten seconds later in Outlook; the next poll GETs the delta link.
    let seen_before_edit = fake.requests().len();
    let (new_start, new_end) = (now + secs(16), now + secs(21));
    cust["start"]["dateTime"] = json!(graph_time(new_start));
    cust["end"]["dateTime"] = json!(graph_time(new_end));
    fake.put_event("primary", cust);
    wait_until(
        "a delta poll after the edit",
        Duration::from_secs(10),
        || {
            fake.requests()[seen_before_edit..].iter().any(|r| {
                r.status == 200
                    && r.param("$deltatoken").is_some()
                    && r.param("startDateTime").is_none()
            })
        },
    )
    .await;

    let n = expect_notification(&server, &daemon, Duration::from_secs(25)).await;
    let outcome_shown_at = Utc::now();
    assert!(n.summary.contains(title), "{n:?}");
    assert!(n.action_keys().contains(&"outcome:committed"), "{n:?}");
    assert!(
        outcome_shown_at >= new_end,
        "the outcome was asked at {outcome_shown_at}, before the moved meeting ended at {new_end}"
    );
    server.click(n.id, "outcome:committed").await;
    wait_until("the outcome in the ledger", Duration::from_secs(10), || {
        home.ledger()
            .find(&id)
            .unwrap()
            .and_then(|r| r.outcome)
            .is_some_and(|o| o.result == Outcome::Committed)
    })
    .await;

    let shown = server.recorded();
    assert!(
        shown
            .iter()
            .all(|r| !r.summary.contains("Team sync") && !r.summary.contains("Initech")),
        "the internal and the declined meeting stay silent: {shown:?}"
    );
    assert_eq!(shown.len(), 2, "{shown:?}");
    // The daemon used the token the CLI stored: no second sign-in, no refresh needed.
    let grants = fake.lock().token_grants.clone();
    assert!(
        grants
            .iter()
            .all(|g| g == "urn:ietf:params:oauth:grant-type:device_code"),
        "{grants:?}"
    );
    // After the first round, every poll was one GET of a delta link.
    let delta: Vec<_> = fake.delta_requests();
    assert!(delta.len() >= 3, "{delta:?}");
    assert!(delta[1..].iter().all(|r| r.param("$deltatoken").is_some()));
    let log = daemon.stop();
    for s in fake.lock().secrets.iter() {
        assert!(!log.contains(s.as_str()), "a secret reached the daemon log");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_and_a_deletion_in_outlook_are_picked_up_by_the_next_delta_poll() {
    let (fake, bus, server, home) = signed_in_desktop().await;
    let now = whole_second_now();
    let moving = |start: DateTime<Utc>| {
        meeting(
            "mov1",
            "Demo for Initech",
            start,
            start + secs(60),
            &[("peter@initech.example", "required", "none")],
        )
    };
    fake.put_event("primary", moving(now + secs(12)));
    fake.put_event(
        "primary",
        meeting(
            "del1",
            "Call with Umbrella",
            now + secs(12),
            now + secs(72),
            &[("alice@umbrella.example", "required", "none")],
        ),
    );
    let daemon = home.start(&bus);
    daemon
        .wait_for_log("polled meetings=2", 1, Duration::from_secs(10))
        .await;
    let rounds_before = fake
        .delta_requests()
        .iter()
        .filter(|r| r.param("startDateTime").is_some())
        .count();

    // In Outlook, one meeting moves 12 s later and the other is deleted, before either is due.
    fake.put_event("primary", moving(now + secs(24)));
    fake.delete_event("primary", "del1");
    expect_only_the_moved_prompt(&server, daemon, now).await;

    let rounds_after = fake
        .delta_requests()
        .iter()
        .filter(|r| r.param("startDateTime").is_some())
        .count();
    assert_eq!(
        rounds_before, rounds_after,
        "the changes came through the delta link, not a new round"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_sign_in_stops_the_source_with_one_notification_naming_the_fix() {
    let (fake, bus, server, home) = signed_in_desktop().await;
    let now = whole_second_now();
    fake.put_event(
        "primary",
        customer(
            "cust1",
            "Pilot scoping with Acme",
            now + secs(30),
            now + secs(40),
        ),
    );
    // The user removed nextstep's access: the stored access token and the refresh token are
    // both refused.
    fake.expire_access_tokens();
    fake.revoke_refresh_tokens();

    let daemon = home.start(&bus);
    let n = expect_notification(&server, &daemon, Duration::from_secs(15)).await;
    assert!(
        n.body.contains("nextstep auth microsoft --source m365"),
        "the notification names the fix: {n:?}"
    );
    assert!(
        server
            .next_notification(Duration::from_secs(3))
            .await
            .is_none(),
        "only one notification: {:?}",
        server.recorded()
    );
    let grants = fake.lock().token_grants.clone();
    assert_eq!(
        grants.iter().filter(|g| *g == "refresh_token").count(),
        1,
        "one refresh attempt, then the source stopped: {grants:?}"
    );
    assert!(
        fake.delta_requests().len() <= 1,
        "polling stopped: {:?}",
        fake.delta_requests()
    );
    daemon.stop();

    let out = home.command(&["check"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("FAIL")
            && l.contains("m365")
            && l.contains("nextstep auth microsoft --source m365")),
        "{text}"
    );
}
