//! The worst-case calendars of issue 10, for measuring the reader's bounds with
//! `/usr/bin/time -v`:
//!
//! ```text
//! cargo run --release --example ical_worst -- secondly 200     # 200 FREQ=SECONDLY series
//! cargo run --release --example ical_worst -- attendees 20000  # one event, 20,000 attendees
//! ```
//!
//! The window is the 30 days from 2026-12-01T00:00Z; the series start a day before it.

use std::fmt::Write as _;
use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use nextstep::source::Window;
use nextstep::source::ical::parse_calendar;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (kind, n) = match args.as_slice() {
        [kind, n] => (kind.as_str(), n.parse::<usize>()?),
        _ => anyhow::bail!("usage: ical_worst secondly|attendees COUNT"),
    };
    let mut text = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//worst//EN\r\n");
    match kind {
        "secondly" => {
            for i in 0..n {
                write!(
                    text,
                    "BEGIN:VEVENT\r\nUID:secondly-{i}@worst.example\r\nSUMMARY:Every second {i}\r\n\
                     DTSTART:20261130T000000Z\r\nDURATION:PT1S\r\nRRULE:FREQ=SECONDLY\r\n\
                     ORGANIZER:mailto:boss@worst.example\r\nEND:VEVENT\r\n"
                )?;
            }
        }
        "attendees" => {
            text.push_str(
                "BEGIN:VEVENT\r\nUID:crowd@worst.example\r\nSUMMARY:Town hall\r\n\
                 DTSTART:20261202T100000Z\r\nDTEND:20261202T110000Z\r\n\
                 ORGANIZER:mailto:boss@worst.example\r\n",
            );
            for i in 0..n {
                write!(
                    text,
                    "ATTENDEE;CN=Person {i};PARTSTAT=NEEDS-ACTION:mailto:p{i}@worst.example\r\n"
                )?;
            }
            text.push_str("END:VEVENT\r\n");
        }
        other => anyhow::bail!("unknown case {other}"),
    }
    text.push_str("END:VCALENDAR\r\n");
    let start = Utc
        .with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
        .single()
        .ok_or_else(|| anyhow::anyhow!("bad start"))?;
    let window = Window {
        start,
        end: start + Duration::days(30),
    };
    let began = Instant::now();
    let parsed = parse_calendar("worst", &text, window)?;
    let attendees: usize = parsed
        .meetings
        .iter()
        .map(|m| m.attendees.len())
        .max()
        .unwrap_or(0);
    eprintln!(
        "{kind} {n}: {} bytes, {} meetings, most attendees {attendees}, {} warnings, {:.2} s",
        text.len(),
        parsed.meetings.len(),
        parsed.warnings.len(),
        began.elapsed().as_secs_f64()
    );
    Ok(())
}
