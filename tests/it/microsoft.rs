//! The Microsoft sign-in and source, in this process, against a local fake of the identity
//! platform and Graph (`support::microsoft`): the browser sign-in with PKCE, refresh-token
//! rotation, and the delta sync with everything Graph answers (pages, removals, 410, 401, 429,
//! series, rooms, declined and cancelled meetings, Windows zones). Measurements are printed as
//! `MEASURE` lines (`scripts/bench-microsoft.sh`). The real binary's side is in
//! `microsoft_cli` and `microsoft_daemon`.

use std::time::{Duration, Instant};

use crate::support::microsoft::{
    CLIENT_ID, FakeMicrosoft, Fault, Logged, ME, SALES_CALENDAR_ID, event, instance, is_delta,
};
use crate::support::provider::{
    get_signed_in, http, output, poll_counting, poll_refused, rate_limited,
    refused_without_sign_in, source_context, t, window,
};
use nextstep::auth::{SignInOptions, StoredIn, TokenStoreChoice};
use nextstep::model::{MeetingId, ParticipantKind, Role};
use nextstep::source::microsoft::MicrosoftSource;
use nextstep::source::microsoft::auth::{MicrosoftAuth, microsoft_sign_in};
use nextstep::source::microsoft::config::MicrosoftConfig;
use nextstep::source::{CalendarSource, Fetched};
use serde_json::json;

/// The fix every refusal names.
const FIX: &str = "nextstep auth microsoft --source m365";

fn config(fake: &FakeMicrosoft, calendars: &[&str]) -> MicrosoftConfig {
    MicrosoftConfig::new(
        CLIENT_ID.into(),
        Some("contoso.onmicrosoft.com".into()),
        Some(calendars.iter().map(|c| c.to_string()).collect()),
        Some(fake.authority_url().parse().unwrap()),
        Some(fake.api_url().parse().unwrap()),
    )
    .unwrap()
}

/// A device sign-in in this process (the person approves at once); tokens in a file under `dir`.
async fn sign_in(fake: &FakeMicrosoft, dir: &std::path::Path) {
    let cfg = config(fake, &["primary"]);
    let mut opts = SignInOptions::new(dir.join("data"));
    opts.token_store = TokenStoreChoice::File;
    opts.timeout = Duration::from_secs(20);
    opts.http = Some(http());
    let (mut out, mut printed) = output();
    let person = async {
        let line = printed.line(|l| l.contains("enter the code")).await;
        let (before, code) = line.split_once(" and enter the code ").unwrap();
        let uri = before.rsplit_once(" open ").unwrap().1;
        assert_eq!(fake.enter_code(uri, code.trim(), true).await, 200);
    };
    let (report, ()) = tokio::join!(
        microsoft_sign_in("m365", &cfg, false, opts, &mut out),
        person
    );
    report.expect("the device sign-in succeeds");
}

fn source(fake: &FakeMicrosoft, dir: &std::path::Path, calendars: &[&str]) -> MicrosoftSource {
    let cfg = config(fake, calendars);
    let ctx = source_context(dir, "m365", http());
    let auth = MicrosoftAuth::new(
        "m365",
        &cfg,
        http(),
        &dir.join("data"),
        TokenStoreChoice::File,
    );
    MicrosoftSource::with_auth("m365", &cfg, Duration::from_secs(10), ctx, auth).unwrap()
}

/// A signed-in source on `calendars`, pages of two events.
async fn signed_in_source(
    fake: &FakeMicrosoft,
    calendars: &[&str],
) -> (tempfile::TempDir, MicrosoftSource) {
    let dir = tempfile::tempdir().unwrap();
    sign_in(fake, dir.path()).await;
    let src = source(fake, dir.path(), calendars).with_page_size(2);
    (dir, src)
}

fn statuses(reqs: &[Logged]) -> Vec<u16> {
    reqs.iter().map(|r| r.status).collect()
}

const SERIES: &str = "AAMkADSeriesGlobex";

fn review_id() -> MeetingId {
    MeetingId::new("m365", "040000008200E00074C5B7101A82E008000000rev1", None)
}

fn occurrence_id(original: &str) -> MeetingId {
    MeetingId::new("m365", SERIES, Some(t(original)))
}

/// The calendar: a customer meeting in Berlin time with a room; two instances of a series in New
/// York time (the second moved: an exception); a meeting the user declined; a cancelled one; one
/// outside the window.
fn seed(fake: &FakeMicrosoft) {
    fake.put_event(
        "primary",
        event(
            "rev1",
            "Acme pricing review",
            "2026-12-02T10:00:00.0000000",
            "2026-12-02T11:00:00.0000000",
            "W. Europe Standard Time",
            &[
                ("jo@acme.example", "required", "none"),
                ("pat@acme.example", "optional", "tentativelyAccepted"),
                ("room-4@contoso.com", "resource", "accepted"),
            ],
        ),
    );
    let weekly = |id: &str, day: &str, hour: &str, exception: bool| {
        instance(
            event(
                id,
                "Weekly Globex sync",
                &format!("2026-12-{day}T{hour}:00:00.0000000"),
                &format!("2026-12-{day}T{hour}:30:00.0000000"),
                "Eastern Standard Time",
                &[("sam@globex.example", "required", "accepted")],
            ),
            SERIES,
            &format!("2026-12-{day}T14:00:00Z"),
            exception,
        )
    };
    fake.put_event("primary", weekly("occ1", "03", "09", false));
    // Moved from 09:00 to 10:00 New York time.
    fake.put_event("primary", weekly("exc2", "10", "10", true));
    let mut declined = event(
        "dec1",
        "Initech intro",
        "2026-12-04T15:00:00.0000000",
        "2026-12-04T16:00:00.0000000",
        "UTC",
        &[(ME, "required", "declined")],
    );
    declined["isOrganizer"] = json!(false);
    declined["responseStatus"] = json!({"response": "declined", "time": "2026-11-28T09:00:00Z"});
    declined["organizer"] =
        json!({"emailAddress": {"name": "Lee", "address": "lee@initech.example"}});
    fake.put_event("primary", declined);
    let mut cancelled = event(
        "can1",
        "Call with Umbrella",
        "2026-12-05T15:00:00.0000000",
        "2026-12-05T16:00:00.0000000",
        "UTC",
        &[("kim@umbrella.example", "required", "accepted")],
    );
    cancelled["isCancelled"] = json!(true);
    cancelled["subject"] = json!("Canceled: Call with Umbrella");
    fake.put_event("primary", cancelled);
    fake.put_event(
        "primary",
        event(
            "far",
            "Next year",
            "2027-03-01T10:00:00.0000000",
            "2027-03-01T11:00:00.0000000",
            "UTC",
            &[],
        ),
    );
}

fn ids(f: &Fetched) -> Vec<String> {
    f.meetings
        .iter()
        .map(|m| m.id.as_str().to_string())
        .collect()
}

#[tokio::test]
async fn the_browser_sign_in_uses_pkce_s256_and_a_localhost_redirect() {
    let fake = FakeMicrosoft::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&fake, &["primary"]);
    let mut opts = SignInOptions::new(dir.path().join("data"));
    opts.no_browser = true;
    opts.token_store = TokenStoreChoice::File;
    opts.timeout = Duration::from_secs(20);
    opts.http = Some(http());
    let (mut out, mut printed) = output();
    let all = out.all();
    let browser = async {
        let url = printed.line(|l| l.trim().starts_with("http")).await;
        printed.line(|l| l.starts_with("Waiting")).await;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let resp = client.get(url.trim()).send().await.unwrap();
        assert_eq!(
            resp.status(),
            302,
            "the fake accepted the authorization request"
        );
        let loc = resp.headers()["location"].to_str().unwrap().to_string();
        assert!(loc.starts_with("http://localhost:"), "{loc}");
        client.get(&loc).send().await.unwrap().text().await.unwrap()
    };
    let (report, page) = tokio::join!(
        microsoft_sign_in("m365", &cfg, true, opts, &mut out),
        browser
    );
    let report = report.expect("the browser sign-in succeeds");
    assert!(page.contains("close"), "{page}");
    let path = dir.path().join("data").join("microsoft-m365.json");
    assert_eq!(report.stored_in, StoredIn::File(path));
    let q: std::collections::HashMap<_, _> = fake.lock().last_auth_query.iter().cloned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["scope"], "offline_access Calendars.ReadBasic");
    assert!(q["redirect_uri"].starts_with("http://localhost:"));
    assert_eq!(fake.lock().token_grants, ["authorization_code"]);
    let output = all.lock().unwrap().clone();
    for s in fake.lock().tokens.secrets.iter() {
        assert!(!output.contains(s.as_str()), "the output leaks a secret");
    }
}

#[tokio::test]
async fn every_refresh_rotates_the_refresh_token_and_the_new_one_is_stored_each_time() {
    let fake = FakeMicrosoft::start().await;
    seed(&fake);
    let (dir, mut src) = signed_in_source(&fake, &["primary"]).await;
    let path = dir.path().join("data").join("microsoft-m365.json");
    src.poll(window()).await.unwrap();
    let mut seen = vec![fake.valid_refresh_tokens()];
    for _ in 0..2 {
        fake.expire_access_tokens();
        let (_, reqs) = poll_counting(&fake, &mut src).await;
        assert_eq!(statuses(&reqs), [401, 200], "refreshed once, then served");
        let valid = fake.valid_refresh_tokens();
        assert_eq!(valid.len(), 1, "the old refresh token is spent");
        assert!(!seen.contains(&valid), "a new refresh token each time");
        let stored = std::fs::read_to_string(&path).unwrap();
        assert!(stored.contains(&valid[0]), "the rotated token is stored");
        for old in seen.iter().flatten() {
            assert!(!stored.contains(old.as_str()), "the spent token is gone");
        }
        seen.push(valid);
    }
    assert_eq!(fake.lock().stale_refresh_attempts, 0);
    // A restart reads the stored token and can refresh again.
    fake.expire_access_tokens();
    let mut again = source(&fake, dir.path(), &["primary"]);
    again.poll(window()).await.unwrap();
    assert_eq!(fake.lock().stale_refresh_attempts, 0);
    assert_eq!(
        fake.lock()
            .token_grants
            .iter()
            .filter(|g| *g == "refresh_token")
            .count(),
        3
    );
}

#[tokio::test]
async fn the_source_pages_a_round_maps_graph_events_and_follows_the_delta_link() {
    let fake = FakeMicrosoft::start().await;
    seed(&fake);
    fake.lock().empty_first_page = true;
    let (dir, mut src) = signed_in_source(&fake, &["primary"]).await;

    let (first, reqs) = poll_counting(&fake, &mut src).await;
    let round: Vec<&Logged> = reqs.iter().filter(|r| is_delta(r)).collect();
    // Five events in the view (two are not meetings), pages of two, after an empty first page.
    assert_eq!(round.len(), 4, "{reqs:?}");
    assert!(round[0].param("startDateTime").is_some());
    assert!(round[1..].iter().all(|r| r.param("$skiptoken").is_some()));
    assert!(round.iter().all(|r| {
        let p = r.prefer.as_deref().unwrap_or("");
        p.contains("outlook.timezone=\"UTC\"") && p.contains("odata.maxpagesize=2")
    }));
    assert_eq!(
        ids(&first),
        [
            review_id().as_str(),
            occurrence_id("2026-12-03T14:00:00Z").as_str(),
            occurrence_id("2026-12-10T14:00:00Z").as_str(),
        ],
        "the declined, the cancelled and the far meeting are left out"
    );
    let review = &first.meetings[0];
    assert_eq!(review.start, t("2026-12-02T09:00:00Z"), "10:00 in Berlin");
    let room = review
        .attendees
        .iter()
        .find(|a| a.email == "room-4@contoso.com")
        .unwrap();
    assert_eq!(
        (room.kind, room.role),
        (ParticipantKind::Room, Role::NonParticipant)
    );
    let pat = review
        .attendees
        .iter()
        .find(|a| a.email == "pat@acme.example")
        .unwrap();
    assert_eq!(pat.role, Role::Optional);
    assert!(review.organizer.as_ref().unwrap().is_self);
    let (occ, exc) = (&first.meetings[1], &first.meetings[2]);
    assert_eq!(occ.start, t("2026-12-03T14:00:00Z"), "09:00 in New York");
    assert_eq!(
        exc.start,
        t("2026-12-10T15:00:00Z"),
        "the exception keeps its move"
    );
    assert!(occ.recurring && exc.recurring);
    assert_eq!(
        occ.id.series(),
        exc.id.series(),
        "both belong to the series"
    );
    assert!(first.changed);

    // Edits in Outlook: the review moves and is renamed, one occurrence is deleted.
    let mut moved = event(
        "rev1",
        "Acme pricing review (moved)",
        "2026-12-02T15:00:00.0000000",
        "2026-12-02T16:00:00.0000000",
        "W. Europe Standard Time",
        &[("jo@acme.example", "required", "accepted")],
    );
    moved["location"] = json!({"displayName": "Teams"});
    fake.put_event("primary", moved);
    fake.delete_event("primary", "occ1");
    let (second, reqs) = poll_counting(&fake, &mut src).await;
    assert_eq!(reqs.len(), 1, "one GET of the delta link: {reqs:?}");
    assert!(reqs[0].param("$deltatoken").is_some() && reqs[0].param("startDateTime").is_none());
    assert!(second.changed);
    assert_eq!(
        ids(&second),
        [
            review_id().as_str(),
            occurrence_id("2026-12-10T14:00:00Z").as_str()
        ]
    );
    assert_eq!(second.meetings[0].start, t("2026-12-02T14:00:00Z"));
    assert_eq!(second.meetings[0].title, "Acme pricing review (moved)");

    // Nothing changed: one small request.
    let (third, quiet) = poll_counting(&fake, &mut src).await;
    assert!(!third.changed);
    assert_eq!(third.meetings, second.meetings);
    assert_eq!(quiet.len(), 1, "one request per calendar");
    eprintln!(
        "MEASURE microsoft unchanged poll, 1 calendar: {} request(s), {} response body bytes",
        quiet.len(),
        quiet.iter().map(|l| l.bytes).sum::<usize>()
    );
    assert!(quiet[0].bytes < 500, "{} bytes", quiet[0].bytes);

    // A restart keeps the delta link and the meetings: the calendar list, then one delta GET.
    let mut again = source(&fake, dir.path(), &["primary"]);
    let (after_restart, reqs) = poll_counting(&fake, &mut again).await;
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(reqs[0].path, "/v1.0/me/calendars");
    assert!(reqs[1].param("$deltatoken").is_some());
    assert_eq!(after_restart.meetings, second.meetings);
}

#[tokio::test]
async fn a_forgotten_delta_token_is_gone_and_the_source_starts_a_new_round() {
    let fake = FakeMicrosoft::start().await;
    seed(&fake);
    let (_dir, mut src) = signed_in_source(&fake, &["primary"]).await;
    let first = src.poll(window()).await.unwrap();
    fake.expire_delta_tokens();
    let (second, reqs) = poll_counting(&fake, &mut src).await;
    assert_eq!(reqs[0].status, 410);
    assert!(reqs[0].param("$deltatoken").is_some());
    assert!(reqs[1].param("startDateTime").is_some(), "a new round");
    assert_eq!(second.meetings, first.meetings);
    let (_, reqs) = poll_counting(&fake, &mut src).await;
    assert_eq!(statuses(&reqs), [200], "the new delta link works");
}

#[tokio::test]
async fn a_second_401_after_a_refresh_is_unauthorized_and_names_the_auth_command() {
    let fake = FakeMicrosoft::start().await;
    let (_dir, mut src) = signed_in_source(&fake, &["primary"]).await;
    src.poll(window()).await.unwrap();
    fake.lock().refuse_all_access_tokens = true;
    poll_refused(&mut src, FIX).await;
    let grants = fake.lock().token_grants.clone();
    assert_eq!(
        grants.iter().filter(|g| *g == "refresh_token").count(),
        1,
        "exactly one refresh: {grants:?}"
    );
}

#[tokio::test]
async fn a_revoked_refresh_token_is_unauthorized_and_names_the_auth_command() {
    let fake = FakeMicrosoft::start().await;
    let (_dir, mut src) = signed_in_source(&fake, &["primary"]).await;
    fake.expire_access_tokens();
    fake.revoke_refresh_tokens();
    let msg = poll_refused(&mut src, FIX).await;
    assert!(msg.contains("invalid_grant"), "{msg}");
}

#[tokio::test]
async fn throttling_and_unavailability_are_rate_limits_with_retry_after() {
    let fake = FakeMicrosoft::start().await;
    seed(&fake);
    let (_dir, mut src) = signed_in_source(&fake, &["primary"]).await;
    fake.lock().faults.extend([
        Fault::TooManyRequests {
            retry_after_secs: 42,
        },
        Fault::ServiceUnavailable {
            retry_after_secs: 7,
        },
    ]);
    for secs in [42, 7] {
        rate_limited(&src.poll(window()).await.unwrap_err(), Some(secs));
    }
    assert_eq!(
        src.poll(window()).await.unwrap().meetings.len(),
        3,
        "then it recovers"
    );
}

#[tokio::test]
async fn a_meeting_in_a_windows_zone_lands_at_the_right_instant_even_if_the_zone_header_is_ignored()
{
    let fake = FakeMicrosoft::start().await;
    seed(&fake);
    fake.lock().ignore_timezone_preference = true;
    let (_dir, mut src) = signed_in_source(&fake, &["primary"]).await;
    let f = src.poll(window()).await.unwrap();
    assert_eq!(
        f.meetings[0].start,
        t("2026-12-02T09:00:00Z"),
        "W. Europe Standard Time"
    );
    assert_eq!(
        f.meetings[1].start,
        t("2026-12-03T14:00:00Z"),
        "Eastern Standard Time"
    );
    assert_eq!(f.meetings[1].end, t("2026-12-03T14:30:00Z"));
}

#[tokio::test]
async fn a_calendar_named_by_display_name_is_synced_on_its_own_path_with_its_own_link() {
    let fake = FakeMicrosoft::start().await;
    seed(&fake);
    fake.put_event(
        "Sales",
        event(
            "s1",
            "Demo for Initech",
            "2026-12-07T10:00:00.0000000",
            "2026-12-07T11:00:00.0000000",
            "UTC",
            &[("lee@initech.example", "required", "accepted")],
        ),
    );
    let (_dir, mut src) = signed_in_source(&fake, &["primary", "Sales"]).await;
    let (first, reqs) = poll_counting(&fake, &mut src).await;
    assert_eq!(first.meetings.len(), 4);
    let encoded: String =
        url::form_urlencoded::byte_serialize(SALES_CALENDAR_ID.as_bytes()).collect();
    assert!(
        reqs.iter()
            .any(|r| r.path == format!("/v1.0/me/calendars/{encoded}/calendarView/delta")),
        "{reqs:?}"
    );
    let (_, quiet) = poll_counting(&fake, &mut src).await;
    assert_eq!(
        quiet.len(),
        2,
        "one request per calendar when nothing changed"
    );
    eprintln!(
        "MEASURE microsoft unchanged poll, 2 calendars: {} request(s), {} response body bytes",
        quiet.len(),
        quiet.iter().map(|l| l.bytes).sum::<usize>()
    );
    let d = src.describe();
    assert!(
        d.contains("in the window: primary 3 meetings, Sales 1 meeting"),
        "{d}"
    );
    assert!(
        d.contains("calendars found: Calendar (default, \"primary\"), Sales, Birthdays"),
        "{d}"
    );
}

#[tokio::test]
async fn without_a_sign_in_the_source_is_unauthorized_and_graph_is_not_called() {
    let fake = FakeMicrosoft::start().await;
    let dir = tempfile::tempdir().unwrap();
    refused_without_sign_in(&fake, source(&fake, dir.path(), &["primary"]), FIX).await;
}

#[tokio::test]
async fn the_fake_refuses_a_window_next_to_a_delta_token() {
    // Keeps the fake honest: the source would be wrong if the fake accepted this.
    let fake = FakeMicrosoft::start().await;
    let (_dir, mut src) = signed_in_source(&fake, &["primary"]).await;
    src.poll(window()).await.unwrap();
    let (status, _) = get_signed_in(
        &fake,
        "eyJ",
        &format!("{}/me/calendarView/delta", fake.api_url()),
        &[
            ("$deltatoken", "anything"),
            ("startDateTime", "2026-12-01T00:00:00Z"),
        ],
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_first_sync_of_a_thousand_events_takes_five_pages() {
    let fake = FakeMicrosoft::start().await;
    for i in 0..1000 {
        let day = 1 + i % 14;
        let hour = 8 + (i / 14) % 10;
        fake.put_event(
            "primary",
            event(
                &format!("bulk{i:04}"),
                &format!("Meeting {i}"),
                &format!("2026-12-{day:02}T{hour:02}:00:00.0000000"),
                &format!("2026-12-{day:02}T{hour:02}:30:00.0000000"),
                "W. Europe Standard Time",
                &[("jo@acme.example", "required", "accepted")],
            ),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    sign_in(&fake, dir.path()).await;
    // The page size the daemon uses.
    let mut src = source(&fake, dir.path(), &["primary"]);
    let started = Instant::now();
    let (first, reqs) = poll_counting(&fake, &mut src).await;
    let took = started.elapsed();
    let pages = fake.delta_requests();
    assert_eq!(
        reqs.len(),
        pages.len() + 1,
        "the calendar list, then the pages"
    );
    let bytes: usize = pages.iter().map(|r| r.bytes).sum();
    eprintln!(
        "MEASURE microsoft first sync of 1000 events: {} pages (+1 calendar list), {} KB, {:?}",
        pages.len(),
        bytes / 1024,
        took
    );
    assert_eq!(first.meetings.len(), 1000);
    assert_eq!(pages.len(), 5, "1,000 events in pages of 200");
    let (_, quiet) = poll_counting(&fake, &mut src).await;
    assert_eq!(quiet.len(), 1);
    eprintln!(
        "MEASURE microsoft unchanged poll after 1000 events: {} request(s), {} response body bytes",
        quiet.len(),
        quiet[0].bytes
    );
}
