//! Google, end to end through the real binary: `nextstep auth google` signs in against the local
//! fake of Google (`support::google`) while the test plays the browser, then `nextstep run`
//! polls the fake, prompts over a private D-Bus notification server, and keeps answers in the
//! ledger.
//!
//! Meetings are seconds away (`before = "3s"`, `poll = "1s"`); every test has its own fake, bus,
//! notification server, files and processes, so the tests run in parallel.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use crate::support::daemon::{Home, expect_notification, wait_until};
use crate::support::dbus::PrivateBus;
use crate::support::google::{CLIENT_ID, CLIENT_SECRET, FakeGoogle, event};
use crate::support::notifications::FakeNotificationServer;
use chrono::{DateTime, SecondsFormat, Utc};
use nextstep::model::{MeetingId, Outcome, Via};
use serde_json::json;
use tokio::io::AsyncBufReadExt;

/// The variable the config names in `client_secret_env`; set only on the child processes.
const SECRET_ENV: &str = "NEXTSTEP_TEST_GOOGLE_CLIENT_SECRET";

/// The daemon's home: the fake as its Google, the client secret in `SECRET_ENV`, and the token
/// kept in a file (never the keyring of whoever runs the tests).
fn home(fake: &FakeGoogle) -> Home {
    Home::new("alex@mycorp.com", |_| {
        format!(
            r#"[[calendars]]
name = "work"
kind = "google"
client_id = {CLIENT_ID:?}
client_secret_env = {SECRET_ENV:?}
auth_url = {auth:?}
token_url = {token:?}
api_url = {api:?}
poll = "1s"
timeout = "5s"
"#,
            auth = fake.auth_url(),
            token = fake.token_url(),
            api = fake.api_url(),
        )
    })
    .with_env("NEXTSTEP_KEYRING", "off")
    .with_env(SECRET_ENV, CLIENT_SECRET)
}

fn token_file(home: &Home) -> PathBuf {
    home.data_dir().join("google-work.json")
}

/// Runs `nextstep auth google --source work --no-browser` as a child process and plays the
/// browser: reads the printed URL, visits the fake authorisation endpoint, follows its 302 to the
/// loopback redirect. Returns everything the command wrote to stdout.
async fn sign_in_through_the_cli(setup: &Home) -> String {
    let mut cmd = tokio::process::Command::from(setup.command(&[
        "auth",
        "google",
        "--source",
        "work",
        "--no-browser",
    ]));
    let mut child = cmd
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stdout = String::new();
    let mut url = None;
    // The URL comes first, then "Waiting…": only then is the loopback listener accepting.
    let printed = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            stdout.push_str(&line);
            stdout.push('\n');
            let l = line.trim();
            if l.starts_with("http") && l.contains("/o/oauth2/v2/auth") {
                url = Some(l.to_string());
            }
            if url.is_some() && l.starts_with("Waiting") {
                return;
            }
        }
        panic!("`auth google` ended without printing a URL and waiting; stdout:\n{stdout}");
    })
    .await;
    assert!(printed.is_ok(), "no sign-in URL within 20 s");
    let url = url.unwrap();

    let _ = rustls::crypto::ring::default_provider().install_default();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let resp = browser.get(&url).send().await.unwrap();
    assert_eq!(
        resp.status(),
        302,
        "the fake authorisation endpoint accepted the printed URL: {url}"
    );
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with("http://127.0.0.1:"),
        "Google redirects to the loopback: {location}"
    );
    let page = browser.get(&location).send().await.unwrap();
    assert!(page.status().is_success(), "{}", page.status());
    assert!(page.text().await.unwrap().contains("signed in"));

    let (status, rest) = tokio::time::timeout(Duration::from_secs(20), async {
        let mut rest = String::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            rest.push_str(&line);
            rest.push('\n');
        }
        (child.wait().await.unwrap(), rest)
    })
    .await
    .expect("`auth google` exits once the browser came back");
    stdout.push_str(&rest);
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        tokio::io::AsyncReadExt::read_to_string(&mut e, &mut stderr)
            .await
            .unwrap();
    }
    assert!(
        status.success(),
        "`auth google` failed ({status}); stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stdout
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
    let secrets = fake.lock().secrets.clone();
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

/// Now, in whole seconds: event times go to the fake without fractions, so the test's idea of a
/// meeting's start and end is exactly the daemon's.
fn whole_second_now() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap()
}

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
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
    let mut customer = customer_event("cust1", title, now + secs(6), now + secs(11));
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
    let daemon = setup.start(&bus);

    let n = expect_notification(&server, &daemon, Duration::from_secs(15)).await;
    assert!(n.summary.contains(title), "{n:?}");
    let objective = n
        .label_of("objective:0")
        .unwrap_or_else(|| panic!("an objective button: {n:?}"))
        .to_string();
    // The daemon used the token the CLI stored: no second sign-in, no refresh needed.
    assert_eq!(fake.lock().token_grants, ["authorization_code"]);
    server.click(n.id, "objective:0").await;
    let id = MeetingId::new("work", "cust1", None);
    wait_until(
        "the objective in the ledger",
        Duration::from_secs(10),
        || {
            setup
                .ledger()
                .find(&id)
                .unwrap()
                .and_then(|r| r.objective)
                .is_some_and(|o| o.via == Via::Notification && o.text == objective)
        },
    )
    .await;

    // The meeting moves ten seconds later; the next poll must ask only for what changed.
    let seen_before_edit = fake.events_requests().len();
    let (new_start, new_end) = (now + secs(16), now + secs(21));
    customer["start"]["dateTime"] = json!(rfc3339(new_start));
    customer["end"]["dateTime"] = json!(rfc3339(new_end));
    fake.put_event("primary", customer);
    wait_until(
        "an incremental poll after the edit",
        Duration::from_secs(10),
        || {
            fake.events_requests()[seen_before_edit..].iter().any(|r| {
                r.status == 200 && r.param("syncToken").is_some() && r.param("timeMin").is_none()
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
        setup
            .ledger()
            .find(&id)
            .unwrap()
            .and_then(|r| r.outcome)
            .is_some_and(|o| o.result == Outcome::Committed)
    })
    .await;

    let shown = server.recorded();
    assert!(
        shown.iter().all(|r| !r.summary.contains("Team sync")),
        "the internal meeting stays silent: {shown:?}"
    );
    assert_eq!(shown.len(), 2, "{shown:?}");
    let log = daemon.stop();
    for s in fake.lock().secrets.iter() {
        assert!(!log.contains(s.as_str()), "a secret reached the daemon log");
    }
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

    let daemon = setup.start(&bus);
    let n = expect_notification(&server, &daemon, Duration::from_secs(15)).await;
    assert!(
        n.body.contains("nextstep auth google --source work"),
        "the notification names the fix: {n:?}"
    );
    // Polling stopped: no second notification, no further requests.
    assert!(
        server
            .next_notification(Duration::from_secs(3))
            .await
            .is_none(),
        "only one notification: {:?}",
        server.recorded()
    );
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

    let out = setup.command(&["check"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout:\n{text}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.lines().any(|l| l.starts_with("FAIL")
            && l.contains("work")
            && l.contains("nextstep auth google --source work")),
        "{text}"
    );
}
