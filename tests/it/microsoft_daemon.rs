//! Microsoft 365, end to end through the real binary: `nextstep auth microsoft` signs in against
//! the local fake of the identity platform (`support::microsoft`) while the test plays the person
//! with the code, then `nextstep run` follows Graph's delta links, prompts over a private D-Bus
//! notification server, and keeps answers in the ledger.
//!
//! Meetings are seconds away (`before = "3s"`, `poll = "1s"`); every test has its own fake, bus,
//! notification server, files and processes, so the tests run in parallel.

use std::time::Duration;

use crate::support::daemon::{Home, expect_only_the_moved_prompt};
use crate::support::dbus::PrivateBus;
use crate::support::microsoft::{
    FakeMicrosoft, Person, event, graph_time, home, sign_in_through_the_cli,
};
use crate::support::notifications::FakeNotificationServer;
use crate::support::provider::{
    a_refused_sign_in_is_told_once, check_fails_naming, prompts_and_follows_a_move, secs,
    whole_second_now,
};
use chrono::{DateTime, Utc};
use nextstep::model::MeetingId;
use serde_json::{Value, json};

/// A fake Microsoft, a desktop (a private bus with a notification server) and a home whose user
/// signed in through the CLI with the device code; the token in a file, never a keyring.
async fn signed_in_desktop() -> (FakeMicrosoft, PrivateBus, FakeNotificationServer, Home) {
    let fake = FakeMicrosoft::start().await;
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let home = home(&fake, &["primary"]);
    let s = sign_in_through_the_cli(&home, &fake, Person::Approves, &[]).await;
    s.assert_succeeded();
    (fake, bus, server, home)
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
    let cust = customer("cust1", title, now + secs(6), now + secs(11));
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
    let id = meeting_id("cust1");
    prompts_and_follows_a_move(
        &fake,
        &home,
        &bus,
        &server,
        (&id, title, cust),
        now,
        &["Team sync", "Initech"],
    )
    .await;
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

    let fix = "nextstep auth microsoft --source m365";
    let daemon = a_refused_sign_in_is_told_once(&home, &bus, &server, fix).await;
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
    check_fails_naming(&home, "m365", fix);
}
