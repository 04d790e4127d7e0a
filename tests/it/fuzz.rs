//! Fuzz targets for every reader of untrusted input: the iCalendar reader (with the byte decoder
//! in front of it), the WebDAV XML reader, Google's and Microsoft's JSON readers and the config
//! loader. Each starts from the real-world fixtures and the corpus in `tests/fuzz/<target>/`
//! (the cases of issue 10: `FREQ=SECONDLY` storms, truncated files, CR-only, bad UTF-8, huge
//! durations in the config…), plus the cases too big to keep in the repo, generated here (100,000
//! attendees, 100,000 WebDAV responses), and mutates them with structure-aware mutations (lines,
//! JSON trees, XML tags) for `NEXTSTEP_FUZZ_SECS` seconds each (default 5).
//!
//! Each input must not panic, must finish within `support::fuzz::PER_INPUT_LIMIT`, and must stay
//! within the readers' documented caps (occurrences per calendar, attendees per event).
//! `scripts/fuzz.sh` runs them longer and prints executions and time per target.

use chrono::{TimeZone, Utc};
use nextstep::source::Window;
use nextstep::source::ical::{self, MAX_ATTENDEES_PER_EVENT, MAX_OCCURRENCES_PER_CALENDAR};

use crate::support::fuzz::{self, fuzz};

fn fixtures() -> Vec<Vec<u8>> {
    ["fastmail", "google", "icloud", "messy", "outlook"]
        .iter()
        .map(|n| {
            std::fs::read(format!(
                "{}/tests/fixtures/{n}.ics",
                env!("CARGO_MANIFEST_DIR")
            ))
            .expect("fixture")
        })
        .collect()
}

/// The window the meetings of the fixtures and the corpus fall in, and a wide one that makes the
/// expansion work hard; which one an input gets depends on its length, so a run is repeatable.
fn window_for(input: &[u8]) -> Window {
    let start = Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap();
    let days = if input.len().is_multiple_of(3) {
        3650
    } else {
        30
    };
    Window {
        start,
        end: start + chrono::Duration::days(days),
    }
}

fn ics_event(uid: &str, extra: &str) -> String {
    format!(
        "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:20261201T100000Z\r\n\
         DTEND:20261201T110000Z\r\nSUMMARY:Acme {uid}\r\nORGANIZER:mailto:alex@mycorp.com\r\n{extra}END:VEVENT\r\n"
    )
}

/// One event with `n` attendees (issue 10: 100,000 took over 120 s while attendee handling was
/// quadratic).
fn many_attendees_ics(n: usize) -> Vec<u8> {
    let attendees: String = (0..n)
        .map(|i| {
            format!(
                "ATTENDEE;CN=Person {i};PARTSTAT=NEEDS-ACTION:mailto:p{i}@acme{}.com\r\n",
                i % 50
            )
        })
        .collect();
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{}END:VCALENDAR\r\n",
        ics_event("crowd", &attendees)
    )
    .into_bytes()
}

fn check_ics(input: &[u8]) {
    let text = nextstep::source::ics::decode(input.to_vec());
    if let Ok(parsed) = ical::parse_calendar("fuzz", &text, window_for(input)) {
        assert!(
            parsed.meetings.len() <= MAX_OCCURRENCES_PER_CALENDAR,
            "{} occurrences, over the cap of {MAX_OCCURRENCES_PER_CALENDAR}",
            parsed.meetings.len()
        );
        for m in &parsed.meetings {
            assert!(
                m.attendees.len() <= MAX_ATTENDEES_PER_EVENT,
                "{} attendees, over the cap of {MAX_ATTENDEES_PER_EVENT}",
                m.attendees.len()
            );
            assert!(m.start <= m.end, "a meeting ends before it starts");
        }
    }
}

const ICS_VALUES: [&str; 18] = [
    "FREQ=SECONDLY",
    "FREQ=MINUTELY;INTERVAL=1",
    "FREQ=DAILY;COUNT=4294967295",
    "FREQ=WEEKLY;INTERVAL=0",
    "FREQ=YEARLY;UNTIL=99991231T235959Z;BYSECOND=0,1,2,3,4,5,6,7,8,9,10",
    "FREQ=MONTHLY;BYDAY=-53MO;BYMONTHDAY=-31,31",
    "99991231T235959Z",
    "00000000T000000Z",
    "20261201T100000",
    "20261201",
    "P99999999W",
    "-P1D",
    "PT9223372036854775807S",
    "mailto:",
    "",
    "Not/A_Zone",
    "Pacific Standard Time",
    "\u{feff}\u{202e}x",
];

const ICS_LINES: [&str; 14] = [
    "BEGIN:VEVENT",
    "END:VEVENT",
    "BEGIN:VCALENDAR",
    "END:VCALENDAR",
    "RRULE:FREQ=SECONDLY",
    "RRULE:FREQ=MINUTELY;COUNT=100000",
    "RECURRENCE-ID:20261201T100000Z",
    "EXDATE:20261201T100000Z,20261202T100000Z",
    "RDATE;VALUE=PERIOD:20261201T100000Z/PT1H,20261202T100000Z/P99999D",
    "DURATION:P99999999W",
    "ATTENDEE;PARTSTAT=ACCEPTED;CN=\"Bo\":mailto:bo@acme.com",
    "DTSTART;TZID=Europe/Berlin:20261201T100000",
    "BEGIN:VTIMEZONE",
    " folded continuation",
];

fn mutate_ics(rng: &mut fastrand::Rng, input: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    match rng.u8(..10) {
        // CR-only, or LF-only, line ends.
        0 => String::from_utf8_lossy(input)
            .replace("\r\n", if rng.bool() { "\r" } else { "\n" })
            .into_bytes(),
        // An event block repeated many times.
        1 => {
            let text = String::from_utf8_lossy(input);
            match (text.find("BEGIN:VEVENT"), text.find("END:VEVENT")) {
                (Some(a), Some(b)) if a < b => {
                    let block = &text[a..b + "END:VEVENT\r\n".len().min(text.len() - b)];
                    let times = rng.usize(2..300);
                    let mut out = text[..a].to_string();
                    out.push_str(&block.repeat(times));
                    out.push_str(&text[a..]);
                    out.into_bytes()
                }
                _ => fuzz::bytes(rng, input, seeds),
            }
        }
        _ => fuzz::line_based(rng, input, seeds, b':', &ICS_VALUES, &ICS_LINES),
    }
}

#[test]
fn the_calendar_reader_survives_mutated_calendars_within_its_caps() {
    let mut seeds = fixtures();
    seeds.extend(fuzz::corpus("ics"));
    let big = vec![many_attendees_ics(100_000)];
    fuzz("ics", seeds, big, mutate_ics, check_ics);
}

fn check_webdav(input: &[u8]) {
    use nextstep::source::webdav;
    let _ = webdav::is_invalid_sync_token(input);
    let Ok(ms) = webdav::parse_multistatus(input) else {
        return;
    };
    let base = url::Url::parse("https://dav.example.com/dav/alex/cal/").unwrap();
    let _ = ms.own_response(&base);
    for r in &ms.responses {
        let _ = webdav::href_key(&base, &r.href);
        let p = &r.props;
        let _ = (
            p.is_calendar(),
            p.is_collection(),
            p.holds_events(),
            p.supports_sync_collection(),
        );
        // What the CalDAV source does next with a calendar object: read it.
        if let Some(data) = &p.calendar_data {
            let _ = ical::parse_calendar("fuzz", data, window_for(input));
        }
    }
}

fn many_responses_xml(n: usize) -> Vec<u8> {
    let mut s = String::from(r#"<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">"#);
    for i in 0..n {
        s.push_str(&format!(
            r#"<d:response><d:href>/cal/{i}.ics</d:href><d:propstat><d:prop><d:getetag>"{i}"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"#
        ));
    }
    s.push_str("</d:multistatus>");
    s.into_bytes()
}

#[test]
fn the_webdav_reader_survives_mutated_multistatus_bodies() {
    let big = vec![many_responses_xml(100_000)];
    fuzz(
        "webdav",
        fuzz::corpus("webdav"),
        big,
        fuzz::xml,
        check_webdav,
    );
}

fn check_google(input: &[u8]) {
    use nextstep::source::google::json;
    let _ = json::parse_error(input).map(|d| json::is_rate_limit(&d));
    if let Ok(page) = serde_json::from_slice::<json::EventsPage>(input) {
        for ev in &page.items {
            if let json::Projection::Meeting(m) = json::project("g", ev, page.time_zone.as_deref())
            {
                assert!(m.start <= m.end, "a meeting ends before it starts");
            }
        }
    }
}

fn many_attendees_json(n: usize, google: bool) -> Vec<u8> {
    let attendees: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            if google {
                serde_json::json!({"email": format!("p{i}@acme.com"), "responseStatus": "needsAction"})
            } else {
                serde_json::json!({"type": "required", "emailAddress": {"address": format!("p{i}@acme.com")}})
            }
        })
        .collect();
    let v = if google {
        serde_json::json!({"items": [{"id": "crowd", "summary": "Acme",
            "start": {"dateTime": "2026-12-01T10:00:00Z"}, "end": {"dateTime": "2026-12-01T11:00:00Z"},
            "attendees": attendees}]})
    } else {
        serde_json::json!({"value": [{"id": "crowd", "iCalUId": "crowd", "subject": "Acme",
            "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-12-01T11:00:00", "timeZone": "UTC"},
            "attendees": attendees}]})
    };
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn the_google_reader_survives_mutated_event_pages() {
    let big = vec![many_attendees_json(100_000, true)];
    fuzz(
        "google",
        fuzz::corpus("google"),
        big,
        fuzz::json,
        check_google,
    );
}

fn check_microsoft(input: &[u8]) {
    use nextstep::source::microsoft::json;
    let d = json::parse_error(input);
    let _ = json::needs_resync(400, d.as_ref());
    if let Ok(page) = serde_json::from_slice::<json::DeltaPage>(input) {
        for ev in &page.value {
            if let json::Projection::Meeting(m) = json::project("m", ev) {
                assert!(m.start <= m.end, "a meeting ends before it starts");
            }
        }
    }
}

#[test]
fn the_microsoft_reader_survives_mutated_delta_pages() {
    let big = vec![many_attendees_json(100_000, false)];
    fuzz(
        "microsoft",
        fuzz::corpus("microsoft"),
        big,
        fuzz::json,
        check_microsoft,
    );
}

const CONFIG_VALUES: [&str; 20] = [
    "\"9999999999h\"",
    "\"18446744073709551615s\"",
    "\"99999999999999999999999d\"",
    "\"0s\"",
    "\"-5m\"",
    "\"1h1h\"",
    "\"P1D\"",
    "\"\"",
    "18446744073709551615",
    "-1",
    "0",
    "1e308",
    "nan",
    "[]",
    "{}",
    "\"~/../../etc/passwd\"",
    "\"(?i\"",
    "\"a{99999}{99999}\"",
    "[\"x\", 1]",
    "\"webcal://\"",
];

const CONFIG_LINES: [&str; 8] = [
    "[[calendars]]",
    "[prompts]",
    "[identity]",
    "kind = \"microsoft\"",
    "kind = \"caldav\"",
    "url = \"https://dav.example.com/?token=x\"",
    "reask_limit = 100000",
    "[[calendars]]\nname = \"published\"\nkind = \"ics\"\npath = \"/dev/zero\"",
];

fn mutate_config(rng: &mut fastrand::Rng, input: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    fuzz::line_based(rng, input, seeds, b'=', &CONFIG_VALUES, &CONFIG_LINES)
}

fn check_config(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    if let Ok(cfg) = nextstep::config::Config::from_toml("fuzz.toml", &text) {
        let _ = cfg.warnings();
    }
}

#[test]
fn the_config_loader_survives_mutated_configs() {
    fuzz(
        "config",
        fuzz::corpus("config"),
        Vec::new(),
        mutate_config,
        check_config,
    );
}
