//! Google, end to end through the real binary: `nextstep auth google` signs in against the local
//! fake of Google (`support::google`) while the test plays the browser, then `nextstep run`
//! polls the fake, prompts over a private D-Bus notification server, and keeps answers in the
//! ledger.
//!
//! Meetings are seconds away (`before = "3s"`, `poll = "1s"`); every test has its own fake, bus,
//! notification server, files and processes, so the tests run in parallel.

use std::path::PathBuf;

use crate::support::daemon::Home;
use crate::support::dbus::PrivateBus;
use crate::support::google::{self, CLIENT_SECRET, FakeGoogle, event};
use crate::support::notifications::FakeNotificationServer;
use crate::support::provider::{
    a_refused_sign_in_is_told_once, browser_sign_in, check_fails_naming,
    prompts_and_follows_a_move, secs, whole_second_now,
};
use chrono::{DateTime, SecondsFormat, Utc};
use nextstep::model::MeetingId;
use serde_json::json;

/// The daemon's home: the fake as its Google (API, sign-in and token endpoints all the fake's).
fn home(fake: &FakeGoogle) -> Home {
    google::home(fake, &fake.api_url(), "5s")
}

fn token_file(home: &Home) -> PathBuf {
    home.data_dir().join("google-work.json")
}

/// Runs `nextstep auth google --source work --no-browser` as a child process and plays the
/// browser: reads the printed URL, visits the fake authorisation endpoint, follows its 302 to the
/// loopback redirect. Returns everything the command wrote to stdout.
async fn sign_in_through_the_cli(setup: &Home) -> String {
    let cmd = setup.command(&["auth", "google", "--source", "work", "--no-browser"]);
    browser_sign_in(cmd, "/o/oauth2/v2/auth", "http://127.0.0.1:")
        .await
        .stdout
}

/// The checks every sign-in must pass: a private token file, and no secret in what was printed.
fn assert_signed_in_safely(setup: &Home, fake: &FakeGoogle, stdout: &str) {
    assert!(stdout.contains("Done"), "{stdout}");
    let meta = std::fs::metadata(token_file(setup)).expect("the token file exists");
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o600,
            "the token file is private"
        );
    }
    let secrets = fake.lock().tokens.secrets.clone();
    assert!(
        secrets.len() >= 4,
        "code, verifier, access and refresh token: {}",
        secrets.len()
    );
    for s in &secrets {
        assert!(!stdout.contains(s.as_str()), "a secret was printed");
    }
    assert!(
        !stdout.contains(CLIENT_SECRET),
        "the client secret was printed"
    );
    assert_eq!(fake.lock().token_grants, ["authorization_code"]);
}

/// A fake Google, a desktop (a private bus with a notification server) and a home whose user
/// signed in through the CLI, safely.
async fn signed_in_desktop() -> (FakeGoogle, PrivateBus, FakeNotificationServer, Home) {
    let fake = FakeGoogle::start().await;
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let setup = home(&fake);
    let stdout = sign_in_through_the_cli(&setup).await;
    assert_signed_in_safely(&setup, &fake, &stdout);
    (fake, bus, server, setup)
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A customer meeting as Google sends it: the user (`self`), a guest at a customer's domain and
/// a booked room (`resource`).
fn customer_event(
    id: &str,
    title: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> serde_json::Value {
    let mut ev = event(
        id,
        title,
        &rfc3339(start),
        &rfc3339(end),
        &[
            ("alex@mycorp.com", "accepted"),
            ("jane@acme.example", "needsAction"),
        ],
    );
    ev["attendees"].as_array_mut().unwrap().push(json!({
        "email": "c_1888@resource.calendar.google.com", "displayName": "Room 4",
        "resource": true, "responseStatus": "accepted"}));
    ev
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_through_the_cli_then_running_the_daemon_prompts_for_google_meetings() {
    let (fake, bus, server, setup) = signed_in_desktop().await;

    let now = whole_second_now();
    let title = "Pilot scoping with Acme";
    let customer = customer_event("cust1", title, now + secs(6), now + secs(11));
    fake.put_event("primary", customer.clone());
    fake.put_event(
        "primary",
        event(
            "int1",
            "Team sync",
            &rfc3339(now + secs(5)),
            &rfc3339(now + secs(8)),
            &[
                ("alex@mycorp.com", "accepted"),
                ("sam@mycorp.com", "accepted"),
            ],
        ),
    );
    let id = MeetingId::new("work", "cust1", None);
    prompts_and_follows_a_move(
        &fake,
        &setup,
        &bus,
        &server,
        (&id, title, customer),
        now,
        &["Team sync"],
    )
    .await;
    // The daemon used the token the CLI stored: no second sign-in, no refresh needed.
    assert_eq!(fake.lock().token_grants, ["authorization_code"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_refresh_token_stops_the_source_with_one_notification_naming_the_fix() {
    let (fake, bus, server, setup) = signed_in_desktop().await;
    let now = whole_second_now();
    fake.put_event(
        "primary",
        customer_event(
            "cust1",
            "Pilot scoping with Acme",
            now + secs(30),
            now + secs(40),
        ),
    );
    {
        // The user removed nextstep's access: the stored access token and the refresh token are
        // both refused.
        let mut s = fake.lock();
        s.refresh_revoked = true;
        s.refuse_all_access_tokens = true;
    }

    let fix = "nextstep auth google --source work";
    // Polling stopped: no second notification, no further requests.
    let daemon = a_refused_sign_in_is_told_once(&setup, &bus, &server, fix).await;
    assert_eq!(server.recorded().len(), 1);
    assert_eq!(
        fake.lock().token_grants,
        ["authorization_code", "refresh_token"],
        "one refresh attempt, then the source stopped"
    );
    assert_eq!(
        fake.events_requests().len(),
        1,
        "{:?}",
        fake.events_requests()
    );
    daemon.stop();
    check_fails_naming(&setup, "work", fix);
}
