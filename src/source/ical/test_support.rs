//! Helpers shared by the reader's tests.

use chrono::{DateTime, TimeZone, Utc};

pub(super) use super::{Parsed, parse_calendar, parse_with};
use crate::model::Meeting;
use crate::source::Window;

pub(super) fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

/// December 2026, the month the fixtures are written around.
pub(super) fn december() -> Window {
    Window {
        start: utc(2026, 12, 1, 0, 0),
        end: utc(2027, 1, 1, 0, 0),
    }
}

pub(super) fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every real-world export in tests/fixtures.
pub(super) fn all_fixtures() -> Vec<String> {
    [
        "google.ics",
        "outlook.ics",
        "icloud.ics",
        "fastmail.ics",
        "messy.ics",
    ]
    .iter()
    .map(|f| fixture(f))
    .collect()
}

pub(super) fn parse(name: &str) -> Parsed {
    parse_calendar("cal", &fixture(name), december()).unwrap()
}

pub(super) fn by_title<'a>(p: &'a Parsed, title: &str) -> Vec<&'a Meeting> {
    p.meetings.iter().filter(|m| m.title == title).collect()
}

pub(super) fn ids(ms: &[&Meeting]) -> Vec<String> {
    ms.iter().map(|m| m.id.to_string()).collect()
}

/// A minimal calendar around some VEVENT lines, LF endings.
pub(super) fn calendar(body: &str) -> String {
    format!("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{body}\nEND:VCALENDAR\n")
}

pub(super) const GOOGLE_SERIES: &str = "cal/7kukuqrfedlm2f9t2a4b5k3u0e@google.com";
