//! Microsoft through the real binary, without the daemon: `nextstep auth microsoft` driven as a
//! person would (the test reads the printed code and approves, declines or ignores it at the fake
//! of the identity platform, `support::microsoft`), `--browser`, `nextstep check`, and a
//! trace-level run of all of it grepped for every token and code.

use std::time::{Duration, Instant};

use crate::support::daemon::Home;
use crate::support::microsoft::{
    CLIENT_ID, FakeMicrosoft, Person, event, home, sign_in_through_the_cli,
};
use crate::support::provider::browser_sign_in;
use chrono::{DateTime, Utc};

#[tokio::test]
async fn signing_in_through_the_cli_with_the_printed_code_stores_a_0600_token_file() {
    let fake = FakeMicrosoft::start().await;
    let home = home(&fake, &["primary"]);
    let s = sign_in_through_the_cli(&home, &fake, Person::Approves, &[]).await;
    s.assert_succeeded();
    assert_eq!(
        s.stdout.lines().next().unwrap(),
        format!(
            "To let nextstep read the Microsoft calendar `m365`, open {} and enter the code {}",
            s.verification_uri, s.user_code
        ),
        "one line with the address and the code, usable over SSH"
    );
    assert_eq!(
        s.verification_uri,
        format!("{}/devicelogin", fake.authority_url())
    );
    assert!(s.stdout.contains("Done"), "{}", s.stdout);
    let path = home.data_dir().join("microsoft-m365.json");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the token file is private");
    }
    let stored = std::fs::read_to_string(&path).unwrap();
    let valid = fake.valid_refresh_tokens();
    assert_eq!(valid.len(), 1);
    assert!(stored.contains(&valid[0]), "the refresh token is stored");
    let form: std::collections::HashMap<_, _> =
        fake.lock().last_device_request.iter().cloned().collect();
    assert_eq!(form["scope"], "offline_access Calendars.ReadBasic");
    assert_eq!(form["client_id"], CLIENT_ID);
    assert!(!form.contains_key("client_secret"), "a public client");
    let s_ = fake.lock();
    assert!(s_.tenants.iter().all(|t| t == "contoso.onmicrosoft.com"));
    assert!(
        s_.token_grants
            .iter()
            .all(|g| g == "urn:ietf:params:oauth:grant-type:device_code"),
        "{:?}",
        s_.token_grants
    );
    // No secret but the user code (which the person needs) reached the terminal.
    for secret in s_.tokens.secrets.iter().filter(|x| **x != s.user_code) {
        assert!(!s.stdout.contains(secret.as_str()), "stdout leaks a secret");
        assert!(!s.stderr.contains(secret.as_str()), "stderr leaks a secret");
    }
}

#[tokio::test]
async fn a_declined_sign_in_exits_with_an_error_and_stores_nothing() {
    let fake = FakeMicrosoft::start().await;
    let home = home(&fake, &["primary"]);
    let s = sign_in_through_the_cli(&home, &fake, Person::Declines, &[]).await;
    assert_eq!(s.status.code(), Some(1), "{}", s.stderr);
    assert!(s.stderr.contains("authorization_declined"), "{}", s.stderr);
    assert!(!home.data_dir().join("microsoft-m365.json").exists());
    assert!(fake.valid_refresh_tokens().is_empty());
}

#[tokio::test]
async fn a_code_that_expires_before_approval_ends_the_sign_in_asking_to_run_it_again() {
    let fake = FakeMicrosoft::start().await;
    fake.lock().device_code_dies_after = Some(Duration::from_millis(1500));
    let home = home(&fake, &["primary"]);
    let s = sign_in_through_the_cli(&home, &fake, Person::Ignores, &[]).await;
    assert_eq!(s.status.code(), Some(1), "{}", s.stderr);
    assert!(s.stderr.contains("run the command again"), "{}", s.stderr);
    assert!(!home.data_dir().join("microsoft-m365.json").exists());
}

#[tokio::test]
async fn slow_down_makes_the_sign_in_wait_five_seconds_longer_and_it_still_succeeds() {
    let fake = FakeMicrosoft::start().await;
    fake.lock().slow_down_next_poll = true;
    let home = home(&fake, &["primary"]);
    let started = Instant::now();
    let s = sign_in_through_the_cli(&home, &fake, Person::Approves, &[]).await;
    s.assert_succeeded();
    assert!(
        started.elapsed() >= Duration::from_secs(6),
        "the second poll came after 1 s + 5 s: {:?}",
        started.elapsed()
    );
    assert_eq!(fake.lock().token_grants.len(), 2, "slow_down, then tokens");
}

/// A customer meeting `hours` from now, in UTC, for runs of the real binary (whose window is
/// the real clock's).
fn soon(id: &str, subject: &str, hours: i64) -> serde_json::Value {
    let start = Utc::now() + chrono::Duration::hours(hours);
    let f = |d: DateTime<Utc>| d.format("%Y-%m-%dT%H:00:00.0000000").to_string();
    event(
        id,
        subject,
        &f(start),
        &f(start + chrono::Duration::hours(1)),
        "UTC",
        &[("jo@acme.example", "required", "accepted")],
    )
}

/// `nextstep auth microsoft --browser` as a child process, with `env`; plays the browser (the
/// machine has none to open, so the command prints the address). Returns stdout and stderr.
async fn browser_sign_in_through_the_cli(home: &Home, env: &[(&str, &str)]) -> (String, String) {
    let mut cmd = home.command(&["auth", "microsoft", "--source", "m365", "--browser"]);
    cmd.envs(env.iter().copied()).env("PATH", "/nonexistent");
    let ended = browser_sign_in(cmd, "/oauth2/v2.0/authorize", "http://localhost:").await;
    (ended.stdout, ended.stderr)
}

/// `nextstep check` with `env`; its exit code, stdout and stderr.
fn check(home: &Home, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let out = home
        .command(&["check"])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_lists_per_calendar_meetings_and_the_calendars_found() {
    let fake = FakeMicrosoft::start().await;
    fake.put_event("primary", soon("a1", "Acme pricing review", 24));
    fake.put_event("primary", soon("a2", "Acme follow-up", 48));
    fake.put_event("Sales", soon("s1", "Demo for Initech", 30));
    let home = home(&fake, &["primary", "Sales"]);
    let (code, out, err) = check(&home, &[]);
    assert_eq!(code, Some(1), "not signed in yet: {out}{err}");
    assert!(
        out.lines().any(|l| l.starts_with("FAIL")
            && l.contains("m365 (microsoft)")
            && l.contains("nextstep auth microsoft --source m365")),
        "{out}"
    );
    let s = sign_in_through_the_cli(&home, &fake, Person::Approves, &[]).await;
    s.assert_succeeded();
    let (code, out, err) = check(&home, &[]);
    assert_eq!(code, Some(0), "{out}{err}");
    let line = out
        .lines()
        .find(|l| l.contains("m365 (microsoft)"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.starts_with("ok"), "{line}");
    assert!(line.contains("3 meetings in the window"), "{line}");
    assert!(
        line.contains(
            "reachable and authorised; in the window: primary 2 meetings, Sales 1 meeting"
        ),
        "{line}"
    );
    assert!(
        line.contains("calendars found: Calendar (default, \"primary\"), Sales, Birthdays"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_level_run_logs_no_token_device_code_user_code_or_authorization_code() {
    let fake = FakeMicrosoft::start().await;
    fake.put_event("primary", soon("a1", "Acme pricing review", 24));
    fake.put_event("Sales", soon("s1", "Demo for Initech", 30));
    let home = home(&fake, &["primary", "Sales"]);
    let trace = [("NEXTSTEP_LOG", "trace")];
    let mut logs = String::new();

    // The device code, then the browser with PKCE.
    let s = sign_in_through_the_cli(&home, &fake, Person::Approves, &trace).await;
    s.assert_succeeded();
    logs.push_str(&s.stderr);
    let (out, err) = browser_sign_in_through_the_cli(&home, &trace).await;
    logs.push_str(&out);
    logs.push_str(&err);
    // A first round, a refresh after a 401 and an edit, a 410 and a new round.
    let (code, out, err) = check(&home, &trace);
    assert_eq!(code, Some(0), "{out}{err}");
    logs.push_str(&out);
    logs.push_str(&err);
    fake.expire_access_tokens();
    fake.put_event("primary", soon("a1", "Acme pricing review (moved)", 26));
    fake.delete_event("Sales", "s1");
    let (code, out, err) = check(&home, &trace);
    assert_eq!(code, Some(0), "{out}{err}");
    logs.push_str(&out);
    logs.push_str(&err);
    fake.expire_delta_tokens();
    let (code, out, err) = check(&home, &trace);
    assert_eq!(code, Some(0), "{out}{err}");
    logs.push_str(&out);
    logs.push_str(&err);

    assert!(
        logs.contains("TRACE"),
        "the capture is at trace level: {logs}"
    );
    assert!(
        logs.contains("Graph answered"),
        "Graph requests were traced"
    );
    assert!(logs.contains("refreshing once"), "the refresh was logged");
    assert!(
        logs.contains("starting a new round"),
        "the resync was logged"
    );
    let st = fake.lock();
    let grants = &st.token_grants;
    for g in [
        "urn:ietf:params:oauth:grant-type:device_code",
        "authorization_code",
        "refresh_token",
    ] {
        assert!(grants.iter().any(|x| x == g), "{g} was used: {grants:?}");
    }
    assert!(st.tokens.secrets.len() >= 8, "{}", st.tokens.secrets.len());
    for secret in &st.tokens.secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret ({}…) reached the logs or the output",
            &secret[..6]
        );
    }
}
