//! The Google source and sign-in against a local fake of Google (`support::google`).

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::google::{CLIENT_ID, CLIENT_SECRET, FakeGoogle, Fault, event};
use crate::support::provider::{
    self, Lines, get_signed_in, poll_counting, poll_refused, rate_limited, refused_without_sign_in,
    t, window,
};
use nextstep::auth::{self, AuthError, GoogleAuth, SignInOptions, StoredIn, TokenStoreChoice};
use nextstep::config::{CalendarConfig, CalendarKind, GoogleConfig};
use nextstep::model::{PartStat, ParticipantKind, Role};
use nextstep::secret::{Secret, SecretSource};
use nextstep::source::google::GoogleSource;
use nextstep::source::{CalendarSource, SourceError};
use serde_json::json;

/// The fix every refusal names.
const FIX: &str = "nextstep auth google --source work";

/// The shared client, with this binary's logs captured first (see [`captured_logs`]).
fn http() -> reqwest::Client {
    captured_logs();
    provider::http()
}

fn config(fake: &FakeGoogle, calendars: &[&str]) -> CalendarConfig {
    CalendarConfig {
        name: "work".into(),
        poll: Duration::from_secs(300),
        timeout: Duration::from_secs(10),
        kind: CalendarKind::Google(GoogleConfig {
            calendars: calendars.iter().map(|c| c.to_string()).collect(),
            client_id: CLIENT_ID.into(),
            client_secret: Some(SecretSource::Literal(Secret::new(CLIENT_SECRET))),
            auth_url: fake.auth_url().parse().unwrap(),
            token_url: fake.token_url().parse().unwrap(),
            api_url: fake.api_url().parse().unwrap(),
        }),
    }
}

/// The browser: waits for the printed URL, visits it, follows Google's redirect to the loopback
/// address (optionally with a tampered `state`), and returns the loopback page.
async fn play_browser(mut printed: Lines, tamper_state: bool) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    printed.line(|l| l.contains("Waiting")).await;
    let url = printed
        .line(|l| l.trim().starts_with("http") && l.contains("/o/oauth2/v2/auth"))
        .await
        .trim()
        .to_string();
    let resp = client.get(&url).send().await.unwrap();
    assert_eq!(
        resp.status(),
        302,
        "the fake authorization endpoint accepted the request"
    );
    let mut loc = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    if tamper_state {
        let pairs: Vec<(String, String)> = loc
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "state" {
                    "forged".into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        loc.query_pairs_mut().clear().extend_pairs(pairs);
    }
    client.get(loc).send().await.unwrap().text().await.unwrap()
}

struct SignedIn {
    dir: tempfile::TempDir,
    output: String,
    page: String,
    report: Result<auth::SignInReport, AuthError>,
}

async fn sign_in(fake: &FakeGoogle, tamper_state: bool) -> SignedIn {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(fake, &["primary"]);
    let mut opts = SignInOptions::new(dir.path().join("data"));
    opts.no_browser = true;
    opts.token_store = TokenStoreChoice::File;
    opts.timeout = Duration::from_secs(20);
    opts.http = Some(http());
    let (mut out, printed) = provider::output();
    let all = out.all();
    let (report, page) = tokio::join!(
        auth::google_sign_in(&cfg, opts, &mut out),
        play_browser(printed, tamper_state)
    );
    let output = all.lock().unwrap().clone();
    SignedIn {
        dir,
        output,
        page,
        report,
    }
}

fn source(fake: &FakeGoogle, dir: &std::path::Path, calendars: &[&str]) -> GoogleSource {
    let cfg = config(fake, calendars);
    let CalendarKind::Google(g) = &cfg.kind else {
        unreachable!()
    };
    let ctx = provider::source_context(dir, "work", http());
    let auth = GoogleAuth::new("work", g, http(), &dir.join("data"), TokenStoreChoice::File);
    GoogleSource::with_auth(&cfg, ctx, auth)
        .unwrap()
        .with_page_size(2)
}

/// A successful sign-in to `fake`, and a source on `calendars` that uses it.
async fn signed_in_source(fake: &FakeGoogle, calendars: &[&str]) -> (SignedIn, GoogleSource) {
    let s = sign_in(fake, false).await;
    s.report.as_ref().unwrap();
    let src = source(fake, s.dir.path(), calendars);
    (s, src)
}

/// A calendar with: a customer meeting (room resource, optional guest), two instances of a series,
/// focus time, an all-day event, and a meeting outside the window.
fn seed(fake: &FakeGoogle) {
    let mut review = event(
        "rev1",
        "Acme review",
        "2026-12-02T10:00:00+01:00",
        "2026-12-02T11:00:00+01:00",
        &[
            ("alex@mycorp.com", "accepted"),
            ("jo@acme.com", "needsAction"),
            ("pat@acme.com", "tentative"),
        ],
    );
    review["attendees"][2]["optional"] = json!(true);
    review["attendees"].as_array_mut().unwrap().push(json!({
        "email": "c_1888@resource.calendar.google.com", "displayName": "Room 4",
        "resource": true, "responseStatus": "accepted"}));
    fake.put_event("primary", review);
    for (day, id) in [("03", "wk_20261203T080000Z"), ("10", "wk_20261210T080000Z")] {
        let mut inst = event(
            id,
            "Weekly Globex sync",
            &format!("2026-12-{day}T09:00:00+01:00"),
            &format!("2026-12-{day}T09:30:00+01:00"),
            &[
                ("alex@mycorp.com", "accepted"),
                ("sam@globex.com", "accepted"),
            ],
        );
        inst["recurringEventId"] = json!("wk");
        inst["originalStartTime"] = json!({"dateTime": format!("2026-12-{day}T09:00:00+01:00"), "timeZone": "Europe/Berlin"});
        fake.put_event("primary", inst);
    }
    let mut focus = event(
        "foc",
        "Focus",
        "2026-12-04T08:00:00Z",
        "2026-12-04T10:00:00Z",
        &[],
    );
    focus["eventType"] = json!("focusTime");
    fake.put_event("primary", focus);
    fake.put_event(
        "primary",
        json!({"kind": "calendar#event", "id": "hol", "status": "confirmed", "summary": "Offsite",
            "start": {"date": "2026-12-07"}, "end": {"date": "2026-12-08"}, "eventType": "default"}),
    );
    fake.put_event(
        "primary",
        event(
            "far",
            "Next year",
            "2027-03-01T10:00:00Z",
            "2027-03-01T11:00:00Z",
            &[],
        ),
    );
}

#[tokio::test]
async fn signing_in_stores_the_refresh_token_in_a_0600_file_and_prints_no_secret() {
    let fake = FakeGoogle::start().await;
    let s = sign_in(&fake, false).await;
    let report = s.report.expect("sign-in succeeds");
    let path = s.dir.path().join("data").join("google-work.json");
    assert_eq!(report.stored_in, StoredIn::File(path.clone()));
    assert!(s.page.contains("You can close this tab"), "{}", s.page);
    assert!(
        s.output.contains("mode 0600"),
        "the command says where: {}",
        s.output
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let q: std::collections::HashMap<_, _> = fake.lock().last_auth_query.iter().cloned().collect();
    assert_eq!(q["access_type"], "offline");
    assert_eq!(q["prompt"], "consent");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(
        q["scope"],
        "https://www.googleapis.com/auth/calendar.readonly"
    );
    assert!(q["redirect_uri"].starts_with("http://127.0.0.1:"));
    let stored = std::fs::read_to_string(&path).unwrap();
    let secrets = fake.lock().tokens.secrets.clone();
    assert!(
        secrets.len() >= 4,
        "code, verifier, access and refresh token"
    );
    assert!(
        secrets.iter().any(|x| stored.contains(x.as_str())),
        "the refresh token is in the file"
    );
    for secret in secrets.iter().chain([&CLIENT_SECRET.to_string()]) {
        assert!(!s.output.contains(secret.as_str()), "output leaks a secret");
    }
    assert_eq!(fake.lock().token_grants, ["authorization_code"]);
}

#[tokio::test]
async fn a_redirect_with_a_forged_state_fails_without_exchanging_the_code() {
    let fake = FakeGoogle::start().await;
    let s = sign_in(&fake, true).await;
    assert!(
        matches!(s.report, Err(AuthError::StateMismatch)),
        "{:?}",
        s.report.err()
    );
    assert!(fake.lock().token_grants.is_empty(), "no code exchange");
    assert!(!s.dir.path().join("data").join("google-work.json").exists());
}

#[tokio::test]
async fn the_source_lists_meetings_and_picks_up_an_edit_by_incremental_sync() {
    let fake = FakeGoogle::start().await;
    seed(&fake);
    let (s, mut src) = signed_in_source(&fake, &["primary"]).await;

    let first = src.poll(window()).await.unwrap();
    let ids: Vec<&str> = first.meetings.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "work/rev1/single",
            "work/wk/20261203T080000Z",
            "work/hol/single",
            "work/wk/20261210T080000Z"
        ],
        "focus time and the far meeting are left out"
    );
    let review = &first.meetings[0];
    assert_eq!(review.start, t("2026-12-02T09:00:00Z"));
    let room = review
        .attendees
        .iter()
        .find(|a| a.email.starts_with("c_1888"))
        .unwrap();
    assert_eq!(room.kind, ParticipantKind::Resource);
    let pat = review
        .attendees
        .iter()
        .find(|a| a.email == "pat@acme.com")
        .unwrap();
    assert_eq!(
        (pat.role, pat.partstat),
        (Role::Optional, PartStat::Tentative)
    );
    assert!(review.attendees.iter().any(|a| a.is_self));
    assert!(first.meetings[2].all_day);
    assert!(first.changed);
    assert!(
        src.describe().contains("reachable, authorised, 4 meetings"),
        "{}",
        src.describe()
    );

    let full = fake.events_requests();
    assert!(
        full.len() >= 3,
        "six events in pages of two: {}",
        full.len()
    );
    assert!(full[0].param("timeMin").is_some() && full[0].param("syncToken").is_none());
    assert!(full[1].param("pageToken").is_some());

    // Edit in Google: the review moves, one instance of the series is cancelled.
    let mut moved = event(
        "rev1",
        "Acme review (moved)",
        "2026-12-02T15:00:00+01:00",
        "2026-12-02T16:00:00+01:00",
        &[("alex@mycorp.com", "accepted"), ("jo@acme.com", "accepted")],
    );
    moved["sequence"] = json!(1);
    fake.put_event("primary", moved);
    fake.cancel_event("primary", "wk_20261210T080000Z");
    let (second, inc) = poll_counting(&fake, &mut src).await;
    assert_eq!(inc.len(), 1);
    assert!(inc[0].param("syncToken").is_some());
    assert!(inc[0].param("timeMin").is_none() && inc[0].param("timeMax").is_none());
    assert_eq!(inc[0].status, 200);
    assert!(second.changed);
    let ids: Vec<&str> = second.meetings.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "work/rev1/single",
            "work/wk/20261203T080000Z",
            "work/hol/single"
        ]
    );
    assert_eq!(second.meetings[0].start, t("2026-12-02T14:00:00Z"));
    assert_eq!(second.meetings[0].title, "Acme review (moved)");

    // Nothing changed: one small request per calendar.
    let (third, quiet) = poll_counting(&fake, &mut src).await;
    assert!(!third.changed);
    assert_eq!(third.meetings, second.meetings);
    assert_eq!(quiet.len(), 1, "one request per calendar");
    eprintln!(
        "MEASURE unchanged poll: {} request(s), {} response body bytes",
        quiet.len(),
        quiet.iter().map(|l| l.bytes).sum::<usize>()
    );
    assert!(quiet[0].bytes < 300, "{} bytes", quiet[0].bytes);

    // A restart keeps the sync token and the meetings.
    let mut again = source(&fake, s.dir.path(), &["primary"]);
    let (after_restart, req) = poll_counting(&fake, &mut again).await;
    assert_eq!(req.len(), 1);
    assert!(
        req[0].param("syncToken").is_some(),
        "still incremental after a restart"
    );
    assert_eq!(after_restart.meetings, second.meetings);
}

#[tokio::test]
async fn an_expired_sync_token_leads_to_a_full_resync() {
    let fake = FakeGoogle::start().await;
    seed(&fake);
    let (_signed_in, mut src) = signed_in_source(&fake, &["primary"]).await;
    let first = src.poll(window()).await.unwrap();
    fake.expire_sync_tokens();
    let (second, reqs) = poll_counting(&fake, &mut src).await;
    assert_eq!(reqs[0].status, 410);
    assert!(reqs[1].param("timeMin").is_some() && reqs[1].param("syncToken").is_none());
    assert_eq!(second.meetings, first.meetings);
    // And the new token works.
    let (_, reqs) = poll_counting(&fake, &mut src).await;
    assert_eq!(reqs.len(), 1);
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_once_and_the_poll_succeeds() {
    let fake = FakeGoogle::start().await;
    seed(&fake);
    let (_signed_in, mut src) = signed_in_source(&fake, &["primary"]).await;
    src.poll(window()).await.unwrap();
    fake.expire_access_tokens();
    let (_, reqs) = poll_counting(&fake, &mut src).await;
    assert_eq!(
        reqs.iter().map(|r| r.status).collect::<Vec<_>>(),
        [401, 200]
    );
    assert_eq!(
        fake.lock().token_grants,
        ["authorization_code", "refresh_token"]
    );
}

#[tokio::test]
async fn a_second_401_after_a_refresh_is_unauthorized_and_names_the_auth_command() {
    let fake = FakeGoogle::start().await;
    let (_signed_in, mut src) = signed_in_source(&fake, &["primary"]).await;
    fake.lock().refuse_all_access_tokens = true;
    poll_refused(&mut src, FIX).await;
    assert_eq!(
        fake.lock().token_grants,
        ["authorization_code", "refresh_token"],
        "exactly one refresh"
    );
}

#[tokio::test]
async fn a_revoked_refresh_token_is_unauthorized_and_mentions_testing_consent_screens() {
    let fake = FakeGoogle::start().await;
    let (_signed_in, mut src) = signed_in_source(&fake, &["primary"]).await;
    fake.expire_access_tokens();
    fake.lock().refresh_revoked = true;
    let msg = poll_refused(&mut src, FIX).await;
    assert!(
        msg.contains("invalid_grant") && msg.contains("7 days"),
        "{msg}"
    );
}

#[tokio::test]
async fn without_a_sign_in_the_source_is_unauthorized() {
    let fake = FakeGoogle::start().await;
    let dir = tempfile::tempdir().unwrap();
    refused_without_sign_in(&fake, source(&fake, dir.path(), &["primary"]), FIX).await;
}

#[tokio::test]
async fn rate_limits_are_reported_with_retry_after() {
    let fake = FakeGoogle::start().await;
    seed(&fake);
    let (_signed_in, mut src) = signed_in_source(&fake, &["primary"]).await;
    fake.lock().faults.extend([
        Fault::TooManyRequests {
            retry_after_secs: 42,
        },
        Fault::UserRateLimit403,
        Fault::ServerError503,
    ]);
    rate_limited(&src.poll(window()).await.unwrap_err(), Some(42));
    rate_limited(&src.poll(window()).await.unwrap_err(), None);
    let e = src.poll(window()).await.unwrap_err();
    assert!(matches!(e, SourceError::RateLimited { .. }), "{e:?}");
    // Then it recovers.
    assert_eq!(src.poll(window()).await.unwrap().meetings.len(), 4);
}

/// A second calendar, shared by a team, with one meeting.
const TEAM: &str = "team@group.calendar.google.com";

/// A fake with [`seed`] in the primary calendar and one meeting in [`TEAM`].
async fn two_calendars() -> FakeGoogle {
    let fake = FakeGoogle::start().await;
    seed(&fake);
    fake.put_event(
        TEAM,
        event(
            "t1",
            "Initech demo",
            "2026-12-05T10:00:00Z",
            "2026-12-05T11:00:00Z",
            &[],
        ),
    );
    fake
}

#[tokio::test]
async fn several_calendars_are_synced_each_with_its_own_token() {
    let fake = two_calendars().await;
    let (_signed_in, mut src) = signed_in_source(&fake, &["primary", TEAM]).await;
    let first = src.poll(window()).await.unwrap();
    assert_eq!(first.meetings.len(), 5);
    let (_, reqs) = poll_counting(&fake, &mut src).await;
    assert_eq!(
        reqs.len(),
        2,
        "one request per calendar when nothing changed"
    );
    assert!(
        reqs.iter()
            .all(|r| r.param("syncToken").is_some() && r.status == 200)
    );
}

/// A calendar's sync token moves on as soon as its changes are read; when a later calendar of the
/// same poll fails, the removals read before must come with the next good poll, or the meeting is
/// never known to be gone.
#[tokio::test]
async fn a_cancellation_read_before_another_calendar_failed_is_reported_by_the_next_good_poll() {
    let fake = two_calendars().await;
    let (_signed_in, mut src) = signed_in_source(&fake, &["primary", TEAM]).await;
    assert_eq!(src.poll(window()).await.unwrap().meetings.len(), 5);
    fake.cancel_event("primary", "rev1");
    fake.lock().failing_calendars.push(TEAM.into());
    assert!(src.poll(window()).await.is_err(), "the team calendar fails");
    fake.lock().failing_calendars.clear();
    let f = src.poll(window()).await.unwrap();
    assert_eq!(
        f.removed.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        ["work/rev1/single"],
        "the cancellation the failed poll read is not lost"
    );
    assert_eq!(f.meetings.len(), 4);
}

#[tokio::test]
async fn the_fake_refuses_a_sync_token_combined_with_time_min() {
    // Keeps the fake honest: the source would be wrong if the fake accepted this.
    let fake = FakeGoogle::start().await;
    let (_signed_in, mut src) = signed_in_source(&fake, &["primary"]).await;
    src.poll(window()).await.unwrap();
    let (status, body) = get_signed_in(
        &fake,
        "ya29",
        &format!("{}calendars/primary/events", fake.api_url()),
        &[
            ("syncToken", "anything"),
            ("timeMin", "2026-12-01T00:00:00Z"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], 400);
}

/// Every test of this file logs at TRACE into one buffer. A process-wide subscriber, because
/// tracing caches per-callsite interest across threads: a thread-local one misses events whose
/// callsites other tests registered first.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: std::sync::OnceLock<Arc<Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = Captured(buf.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        buf
    })
    .clone()
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_token_code_verifier_or_client_secret_reaches_the_logs_or_errors() {
    let fake = FakeGoogle::start().await;
    seed(&fake);
    let (s, mut src) = signed_in_source(&fake, &["primary"]).await;
    let mut errors = Vec::new();
    src.poll(window()).await.unwrap();
    fake.expire_access_tokens();
    src.poll(window()).await.unwrap();
    fake.expire_sync_tokens();
    src.poll(window()).await.unwrap();
    fake.lock().refuse_all_access_tokens = true;
    errors.push(src.poll(window()).await.unwrap_err().to_string());
    fake.lock().refuse_all_access_tokens = false;
    fake.expire_access_tokens();
    fake.lock().refresh_revoked = true;
    errors.push(src.poll(window()).await.unwrap_err().to_string());

    let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned();
    assert!(logs.contains("full sync"), "the capture works: {logs}");
    assert!(
        logs.contains("refreshing"),
        "the refresh was logged: {logs}"
    );
    let secrets = fake.lock().tokens.secrets.clone();
    assert!(secrets.len() >= 6);
    let everything = format!("{logs}\n{}\n{}", errors.join("\n"), s.output);
    for secret in secrets.iter().map(String::as_str).chain([CLIENT_SECRET]) {
        assert!(
            !everything.contains(secret),
            "a secret ({}…) leaked",
            &secret[..6]
        );
    }
}
