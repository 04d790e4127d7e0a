//! The CalDAV source against a real Radicale server (see `support::radicale`).

use std::path::Path;
use std::time::Duration;

use crate::support::radicale::{Radicale, client, random_name};
use chrono::{DateTime, TimeDelta, Timelike, Utc};
use nextstep::config::{CaldavConfig, CalendarConfig, CalendarKind};
use nextstep::model::{PartStat, ParticipantKind};
use nextstep::secret::{Secret, SecretSource};
use nextstep::source::caldav::CaldavSource;
use nextstep::source::{CalendarSource, SourceContext, SourceError, Window};

const ALICE: (&str, &str) = ("alice", "alice-pw");

fn source(url: &str, calendars: &[&str], password: &str, state_dir: &Path) -> CaldavSource {
    let cfg = CalendarConfig {
        name: "dav".into(),
        poll: Duration::from_secs(300),
        timeout: Duration::from_secs(120),
        kind: CalendarKind::Caldav(CaldavConfig {
            url: url::Url::parse(url).unwrap(),
            username: Some(ALICE.0.into()),
            password: Some(SecretSource::Literal(Secret::new(password))),
            calendars: calendars.iter().map(|s| s.to_string()).collect(),
            allow_insecure: false,
        }),
    };
    let ctx = SourceContext {
        name: "dav".into(),
        state_dir: state_dir.to_path_buf(),
        http: Some(client()),
    };
    CaldavSource::new(ctx, &cfg).unwrap()
}

/// The top of the next hour, plus `hours`.
fn at(hours: i64) -> DateTime<Utc> {
    let now = Utc::now();
    now.with_minute(0)
        .unwrap()
        .with_second(0)
        .unwrap()
        .with_nanosecond(0)
        .unwrap()
        + TimeDelta::hours(hours + 1)
}

fn window() -> Window {
    Window {
        start: Utc::now() - TimeDelta::days(1),
        end: Utc::now() + TimeDelta::days(14),
    }
}

fn ical_time(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn event(uid: &str, summary: &str, start: DateTime<Utc>, extra: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//nextstep tests//EN\r\nBEGIN:VEVENT\r\n\
         UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:{summary}\r\n\
         {extra}END:VEVENT\r\nEND:VCALENDAR\r\n",
        ical_time(start),
        ical_time(start + TimeDelta::hours(1))
    )
}

/// Stores `event(uid, …)` as `<calendar><uid>.ics`.
async fn put_event(
    server: &Radicale,
    calendar: &str,
    uid: &str,
    summary: &str,
    start: DateTime<Utc>,
    extra: &str,
) {
    let ics = event(uid, summary, start, extra);
    server
        .put(ALICE, &format!("{calendar}{uid}.ics"), &ics)
        .await;
}

async fn calendar(server: &Radicale, display: &str) -> String {
    server
        .mkcalendar(ALICE, &random_name("cal"), display, &["VEVENT"])
        .await
}

fn titles(f: &nextstep::source::Fetched) -> Vec<String> {
    let mut t: Vec<String> = f.meetings.iter().map(|m| m.title.clone()).collect();
    t.sort();
    t
}

#[tokio::test]
async fn discovery_from_the_server_root_finds_every_event_calendar_by_name() {
    let server = Radicale::start(&[ALICE]);
    let work = calendar(&server, "Work & Sales").await;
    let home = calendar(&server, "Home").await;
    let tasks = server
        .mkcalendar(ALICE, &random_name("tasks"), "Tasks", &["VTODO"])
        .await;
    put_event(&server, &work, "a", "Acme call", at(2), "").await;
    put_event(&server, &home, "b", "Dentist", at(3), "").await;
    let dir = tempfile::tempdir().unwrap();
    let mut src = source(&server.url("/"), &[], ALICE.1, dir.path());
    let got = src.poll(window()).await.unwrap();
    assert_eq!(titles(&got), ["Acme call", "Dentist"]);
    let d = src.describe();
    assert!(d.starts_with("2 calendars: "), "{d}");
    assert!(d.contains(&format!("\"Work & Sales\" ({work})")), "{d}");
    assert!(d.contains("\"Home\""), "{d}");
    assert!(
        !d.contains(&tasks),
        "a task list is not an event calendar: {d}"
    );
}

#[tokio::test]
async fn a_calendar_url_is_used_on_its_own() {
    let server = Radicale::start(&[ALICE]);
    let work = calendar(&server, "Work").await;
    let other = calendar(&server, "Other").await;
    put_event(&server, &work, "a", "Acme call", at(2), "").await;
    put_event(&server, &other, "b", "Not me", at(2), "").await;
    let dir = tempfile::tempdir().unwrap();
    let mut src = source(&server.url(&work), &[], ALICE.1, dir.path());
    let got = src.poll(window()).await.unwrap();
    assert_eq!(titles(&got), ["Acme call"]);
    assert_eq!(src.describe(), format!("1 calendar: \"Work\" ({work})"));
}

#[tokio::test]
async fn calendars_are_picked_by_display_name_and_a_wrong_name_lists_the_real_ones() {
    let server = Radicale::start(&[ALICE]);
    let sales = calendar(&server, "Sales Team").await;
    let home = calendar(&server, "Home").await;
    put_event(&server, &sales, "a", "Acme call", at(2), "").await;
    put_event(&server, &home, "b", "Dentist", at(2), "").await;
    let dir = tempfile::tempdir().unwrap();
    let mut src = source(&server.url("/"), &["Sales Team"], ALICE.1, dir.path());
    assert_eq!(titles(&src.poll(window()).await.unwrap()), ["Acme call"]);

    let mut wrong = source(&server.url("/"), &["Sales"], ALICE.1, dir.path());
    let err = wrong.poll(window()).await.unwrap_err();
    assert!(matches!(err, SourceError::Setup { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("no calendar matches `Sales`"), "{msg}");
    assert!(
        msg.contains("\"Sales Team\"") && msg.contains("\"Home\""),
        "{msg}"
    );
}

#[tokio::test]
async fn a_wrong_password_is_unauthorized_after_one_request() {
    let server = Radicale::start(&[ALICE]);
    let dir = tempfile::tempdir().unwrap();
    let mut src = source(&server.url("/"), &[], "not-the-password", dir.path());
    let err = src.poll(window()).await.unwrap_err();
    match &err {
        SourceError::Unauthorized { fix, .. } => {
            assert_eq!(
                fix,
                "check the username and the password (password_command or password_env) of calendar `dav`"
            )
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert!(!err.to_string().contains("not-the-password"));
    assert_eq!(src.stats().requests, 1);
}

#[tokio::test]
async fn changes_between_polls_arrive_through_sync_collection_and_quiet_polls_are_one_small_request()
 {
    let server = Radicale::start(&[ALICE]);
    let a = calendar(&server, "A").await;
    let b = calendar(&server, "B").await;
    put_event(&server, &a, "keep", "Weekly sync", at(2), "").await;
    put_event(&server, &a, "move", "Acme call", at(3), "").await;
    put_event(&server, &b, "gone", "Cancelled", at(4), "").await;
    let dir = tempfile::tempdir().unwrap();
    let mut src = source(&server.url("/"), &[], ALICE.1, dir.path());
    let w = window();
    let first = src.poll(w).await.unwrap();
    assert_eq!(titles(&first), ["Acme call", "Cancelled", "Weekly sync"]);

    // Nothing changed: one sync-collection request per calendar, each answer a few hundred bytes.
    let before = src.stats();
    let quiet = src.poll(w).await.unwrap();
    let after = src.stats();
    assert!(!quiet.changed);
    assert_eq!(quiet.meetings, first.meetings);
    assert_eq!(
        after.requests - before.requests,
        2,
        "one request per calendar"
    );
    let received = after.bytes_received - before.bytes_received;
    assert!(received < 1000, "a quiet poll received {received} bytes");

    // Added, moved, deleted.
    put_event(&server, &a, "new", "Globex demo", at(5), "").await;
    put_event(&server, &a, "move", "Acme call", at(30), "SEQUENCE:1\r\n").await;
    server.delete(ALICE, &format!("{b}gone.ics")).await;
    let before = src.stats();
    let next = src.poll(w).await.unwrap();
    assert_eq!(
        src.stats().requests - before.requests,
        2,
        "still one request per calendar"
    );
    assert!(next.changed);
    assert_eq!(titles(&next), ["Acme call", "Globex demo", "Weekly sync"]);
    let moved = next
        .meetings
        .iter()
        .find(|m| m.title == "Acme call")
        .unwrap();
    assert_eq!(moved.start, at(30));
    let original = first
        .meetings
        .iter()
        .find(|m| m.title == "Acme call")
        .unwrap();
    assert_eq!(moved.id, original.id, "a moved meeting keeps its id");

    // A restart with the same state directory stays incremental: discovery, then one sync each.
    let mut again = source(&server.url(&a), &[], ALICE.1, dir.path());
    let restarted = again.poll(w).await.unwrap();
    assert_eq!(
        titles(&restarted),
        ["Acme call", "Globex demo", "Weekly sync"]
    );
    assert_eq!(
        again.stats().requests,
        2,
        "one discovery PROPFIND and one sync REPORT"
    );
}

#[tokio::test]
async fn a_rejected_sync_token_means_a_silent_full_resync() {
    let server = Radicale::start(&[ALICE]);
    let a = calendar(&server, "A").await;
    put_event(&server, &a, "x", "Acme call", at(2), "").await;
    let dir = tempfile::tempdir().unwrap();
    let mut src = source(&server.url(&a), &[], ALICE.1, dir.path());
    src.poll(window()).await.unwrap();
    // Corrupt the persisted token, as if the server had expired it.
    let path = dir.path().join("caldav-state.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let re = regex::Regex::new(r#""sync_token":"[^"]*""#).unwrap();
    assert!(re.is_match(&text), "{text}");
    std::fs::write(
        &path,
        re.replace(&text, r#""sync_token":"http://radicale.org/ns/sync/bogus""#)
            .as_ref(),
    )
    .unwrap();
    let mut again = source(&server.url(&a), &[], ALICE.1, dir.path());
    let got = again.poll(window()).await.unwrap();
    assert_eq!(titles(&got), ["Acme call"]);
    assert!(got.warnings.is_empty(), "{:?}", got.warnings);
}

#[tokio::test]
async fn a_recurring_series_honours_exdate_and_an_override() {
    let server = Radicale::start(&[ALICE]);
    let a = calendar(&server, "A").await;
    let s = at(24);
    let ics = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n\
         BEGIN:VEVENT\r\nUID:series\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{s0}\r\nDTEND:{s0e}\r\n\
         RRULE:FREQ=DAILY;COUNT=4\r\nEXDATE:{s1}\r\nSUMMARY:Daily standup\r\nEND:VEVENT\r\n\
         BEGIN:VEVENT\r\nUID:series\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID:{s2}\r\n\
         DTSTART:{s2m}\r\nDTEND:{s2me}\r\nSUMMARY:Daily standup (moved)\r\nEND:VEVENT\r\n\
         END:VCALENDAR\r\n",
        s0 = ical_time(s),
        s0e = ical_time(s + TimeDelta::minutes(15)),
        s1 = ical_time(s + TimeDelta::days(1)),
        s2 = ical_time(s + TimeDelta::days(2)),
        s2m = ical_time(s + TimeDelta::days(2) + TimeDelta::hours(3)),
        s2me = ical_time(s + TimeDelta::days(2) + TimeDelta::hours(3) + TimeDelta::minutes(15)),
    );
    server.put(ALICE, &format!("{a}series.ics"), &ics).await;
    let dir = tempfile::tempdir().unwrap();
    let mut src = source(&server.url(&a), &[], ALICE.1, dir.path());
    let got = src.poll(window()).await.unwrap();
    let starts: Vec<_> = got
        .meetings
        .iter()
        .map(|m| (m.start, m.title.as_str()))
        .collect();
    assert_eq!(
        starts,
        [
            (s, "Daily standup"),
            (
                s + TimeDelta::days(2) + TimeDelta::hours(3),
                "Daily standup (moved)"
            ),
            (s + TimeDelta::days(3), "Daily standup"),
        ]
    );
    assert!(got.meetings.iter().all(|m| m.recurring));
}

#[tokio::test]
async fn an_outlook_windows_zone_name_is_understood() {
    let server = Radicale::start(&[ALICE]);
    let a = calendar(&server, "A").await;
    // 10:00 in "W. Europe Standard Time" on a winter date in the window is 09:00 UTC.
    let day = (Utc::now() + TimeDelta::days(3)).date_naive();
    let ics = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:Microsoft Exchange Server 2010\r\n\
         BEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\nBEGIN:STANDARD\r\nDTSTART:16010101T030000\r\n\
         TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\r\n\
         END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\n\
         TZOFFSETTO:+0200\r\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\n\
         END:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:outlook-1\r\nDTSTAMP:20260101T000000Z\r\n\
         DTSTART;TZID=W. Europe Standard Time:{d}T100000\r\nDTEND;TZID=W. Europe Standard Time:{d}T110000\r\n\
         SUMMARY:Quarterly review\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        d = day.format("%Y%m%d")
    );
    server.put(ALICE, &format!("{a}outlook.ics"), &ics).await;
    let dir = tempfile::tempdir().unwrap();
    let mut src = source(&server.url(&a), &[], ALICE.1, dir.path());
    let got = src.poll(window()).await.unwrap();
    assert_eq!(got.meetings.len(), 1, "{:?}", got.warnings);
    let m = &got.meetings[0];
    let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    let expected = day
        .and_hms_opt(10, 0, 0)
        .unwrap()
        .and_local_timezone(berlin)
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(m.start, expected);
}

#[tokio::test]
async fn rooms_declines_and_non_ascii_titles_come_through() {
    let server = Radicale::start(&[ALICE]);
    let a = calendar(&server, "Ventes été").await;
    let extra = "ORGANIZER;CN=Alice:mailto:alice@example.com\r\n\
        ATTENDEE;CUTYPE=ROOM;CN=Salle Zürich:mailto:room-zurich@example.com\r\n\
        ATTENDEE;PARTSTAT=DECLINED;CN=Bob:mailto:Bob@Customer.example\r\n\
        ATTENDEE;PARTSTAT=ACCEPTED:mailto:carol@customer.example\r\n";
    put_event(&server, &a, "r", "Réunion 東京 — Q3 😀", at(2), extra).await;
    let dir = tempfile::tempdir().unwrap();
    let mut src = source(&server.url("/"), &["Ventes été"], ALICE.1, dir.path());
    let got = src.poll(window()).await.unwrap();
    assert_eq!(got.meetings.len(), 1, "{:?}", got.warnings);
    let m = &got.meetings[0];
    assert_eq!(m.title, "Réunion 東京 — Q3 😀");
    let room = m
        .attendees
        .iter()
        .find(|a| a.email == "room-zurich@example.com")
        .unwrap();
    assert_eq!(room.kind, ParticipantKind::Room);
    let bob = m
        .attendees
        .iter()
        .find(|a| a.email == "bob@customer.example")
        .unwrap();
    assert_eq!(bob.partstat, PartStat::Declined);
    assert!(
        src.describe().contains("\"Ventes été\""),
        "{}",
        src.describe()
    );
}

#[tokio::test]
async fn a_broken_object_is_skipped_and_named_while_the_rest_arrive() {
    let server = Radicale::start(&[ALICE]);
    let a = calendar(&server, "A").await;
    put_event(&server, &a, "good", "Acme call", at(2), "").await;
    // Radicale accepts a zone it does not know; nobody can place this event in time.
    let broken = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n\
        UID:broken\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Mars/Olympus_Mons:20261201T100000\r\n\
        SUMMARY:Lost in space\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    server
        .put(ALICE, &format!("{a}broken-one.ics"), broken)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let mut src = source(&server.url(&a), &[], ALICE.1, dir.path());
    let got = src.poll(window()).await.unwrap();
    assert_eq!(titles(&got), ["Acme call"]);
    assert_eq!(got.warnings.len(), 1, "{:?}", got.warnings);
    let w = &got.warnings[0];
    assert!(w.starts_with(&format!("{a}broken-one.ics: ")), "{w}");
    assert!(w.contains("Mars/Olympus_Mons"), "{w}");
}

/// Also the benchmark (scripts/bench-caldav.sh runs it with 5,000 events and prints figures):
/// the first sync of a calendar is discovery plus two requests, whatever its size, and takes
/// little more than the server's own time for the REPORT.
#[tokio::test]
async fn a_large_calendar_arrives_in_a_few_requests() {
    let n: usize = std::env::var("NEXTSTEP_CALDAV_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let server = Radicale::start(&[ALICE]);
    let a = calendar(&server, "Big").await;
    // One PUT of a whole calendar onto the collection: Radicale splits it into one object per UID.
    let mut ics = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n");
    for i in 0..n {
        let start = at((i % (13 * 24)) as i64);
        let one = event(&format!("ev{i}"), &format!("Meeting {i}"), start, "");
        let body = one
            .split("BEGIN:VEVENT\r\n")
            .nth(1)
            .and_then(|s| s.split("END:VCALENDAR").next())
            .unwrap();
        ics.push_str("BEGIN:VEVENT\r\n");
        ics.push_str(body);
    }
    ics.push_str("END:VCALENDAR\r\n");
    server.put(ALICE, &a, &ics).await;

    let w = window();
    let query = nextstep::source::webdav::calendar_query(w.start, w.end + TimeDelta::days(1), true);
    // The server's own time for the three requests a first sync makes (the first sync-token
    // PROPFIND also makes Radicale build its sync history, so it is timed apart).
    let t = std::time::Instant::now();
    let disco = nextstep::source::webdav::propfind_discovery();
    let (status, _) = server.raw(ALICE, "PROPFIND", &a, "0", &disco).await;
    assert_eq!(status, 207);
    let server_first_propfind = t.elapsed();
    let t = std::time::Instant::now();
    let marks = nextstep::source::webdav::propfind_change_marks();
    server.raw(ALICE, "PROPFIND", &a, "0", &disco).await;
    server.raw(ALICE, "PROPFIND", &a, "0", &marks).await;
    let (status, body) = server.raw(ALICE, "REPORT", &a, "1", &query).await;
    let server_time = t.elapsed();
    assert_eq!(status, 207);

    let dir = tempfile::tempdir().unwrap();
    let mut src = source(&server.url(&a), &[], ALICE.1, dir.path());
    let t = std::time::Instant::now();
    let got = src.poll(w).await.unwrap();
    let ours = t.elapsed();
    assert_eq!(got.meetings.len(), n, "{:?}", got.warnings.first());
    let first = src.stats();
    assert_eq!(
        first.requests, 3,
        "PROPFIND (discovery), PROPFIND (token), REPORT"
    );
    let t = std::time::Instant::now();
    src.poll(w).await.unwrap();
    let quiet = t.elapsed();
    let s = src.stats();
    eprintln!(
        "caldav bench: {n} events; server: first sync-token PROPFIND {server_first_propfind:?}, \
         then PROPFIND+PROPFIND+REPORT {server_time:?} ({} bytes); \
         our first sync {ours:?} ({} requests, {} bytes received); \
         quiet poll {quiet:?} ({} request, {} bytes sent, {} bytes received)",
        body.len(),
        first.requests,
        first.bytes_received,
        s.requests - first.requests,
        s.bytes_sent - first.bytes_sent,
        s.bytes_received - first.bytes_received
    );
}
