//! Benchmark for the ICS path: read a large export, parse it and expand it over 30 days.
//!
//! ```text
//! cargo run --release --example bench_ics -- generate /tmp/big.ics   # write the test file
//! cargo run --release --example bench_ics -- run /tmp/big.ics        # read + parse + expand
//! ```
//!
//! The generated file imitates a Google export of a busy sales calendar: 10,000 events (7,000
//! weekly series started between 2018 and 2026, some ended, some with EXDATEs; 3,000 one-off
//! meetings) plus 2,000 overrides (moved or cancelled occurrences, with a newer SEQUENCE as
//! Google writes them), all in Europe/Berlin with its VTIMEZONE, 2–6 attendees each, lines folded
//! at 75 octets. `scripts/bench-ics.sh` runs it several times and reports the median and peak RSS.
//!
//! "Now" is fixed at 2026-12-01T00:00Z so runs are comparable; the window is the 30 days after.
//! This is a deliberately heavy calendar: ~4,600 weekly series are still running, so the window
//! holds ~20,000 occurrences (a real sales calendar has a few hundred).

use std::fmt::Write as _;
use std::time::Instant;

use chrono::{Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use nextstep::source::Window;
use nextstep::source::ical::parse_calendar;

const SERIES: usize = 7_000;
const SINGLES: usize = 3_000;
const OVERRIDES: usize = 2_000;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["generate", path] => {
            let text = generate();
            std::fs::write(path, &text)?;
            let vevents = text.matches("BEGIN:VEVENT").count();
            println!("wrote {path}: {} bytes, {vevents} VEVENTs", text.len());
        }
        ["run", path] => run(path)?,
        _ => anyhow::bail!("usage: bench_ics generate FILE | bench_ics run FILE"),
    }
    Ok(())
}

fn run(path: &str) -> anyhow::Result<()> {
    let window = Window {
        start: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
        end: Utc.with_ymd_and_hms(2026, 12, 31, 0, 0, 0).unwrap(),
    };
    let began = Instant::now();
    let bytes = std::fs::read(path)?;
    let text = String::from_utf8(bytes)?;
    let read = began.elapsed();
    let parsed = parse_calendar("bench", &text, window)?;
    let parsed_at = began.elapsed();
    // Classify as the daemon does, with a config of the usual size.
    let config = nextstep::config::Config::from_toml(
        "bench",
        "[identity]\nemails = [\"me@mycorp.com\"]\ninternal_domains = [\"mycorp.com\"]\n\
         [classify]\nignore_domains = [\"zoom.us\"]\nexclude_titles = [\"(?i)interview\"]\n\
         [[accounts]]\nname = \"Acme\"\ndomains = [\"acme.com\"]\n",
    )?;
    let mut classifier =
        nextstep::classify::Classifier::new(&config.identity, &config.classify, &config.accounts);
    let customers = parsed
        .meetings
        .iter()
        .filter(|m| classifier.classify(m, None).customer)
        .count();
    let total = began.elapsed();
    let cancelled = parsed
        .meetings
        .iter()
        .filter(|m| m.status == nextstep::model::MeetingStatus::Cancelled)
        .count();
    println!(
        "{} meetings in the next 30 days ({} customer, {} cancelled, {} warnings) from {} bytes: read {:.1} ms, parsed {:.1} ms, classified: total {:.1} ms",
        parsed.meetings.len(),
        customers,
        cancelled,
        parsed.warnings.len(),
        text.len(),
        read.as_secs_f64() * 1e3,
        parsed_at.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3,
    );
    // Exit without freeing the 20,000 meetings (~20 ms): the daemon keeps them until the next
    // poll, so their deallocation is not part of reading a calendar. Peak RSS is unaffected.
    std::process::exit(0);
}

const BERLIN: &str = "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nX-LIC-LOCATION:Europe/Berlin\r\n\
BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\n\
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\n\
TZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n\
END:STANDARD\r\nEND:VTIMEZONE\r\n";

const DOMAINS: &[&str] = &[
    "acme.com",
    "globex.example",
    "initech.example",
    "umbrella.example",
    "mycorp.com",
    "mycorp.com",
    "gmail.com",
];

fn generate() -> String {
    let mut rng = fastrand::Rng::with_seed(20261201);
    let mut out = String::with_capacity(40 << 20);
    out.push_str(
        "BEGIN:VCALENDAR\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\nVERSION:2.0\r\n\
         CALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\nX-WR-CALNAME:alex@mycorp.com\r\n\
         X-WR-TIMEZONE:Europe/Berlin\r\n",
    );
    out.push_str(BERLIN);

    let base = NaiveDate::from_ymd_opt(2018, 1, 1).unwrap();
    let mut series_starts = Vec::with_capacity(SERIES);
    for i in 0..SERIES {
        // A Monday-to-Friday slot between 2018 and late 2026, on the hour or half hour.
        let day = base + Duration::days(rng.i64(0..(8 * 365 + 300)));
        let start = day
            .and_hms_opt(rng.u32(8..18), [0, 30][rng.usize(0..2)], 0)
            .unwrap();
        let mut rule = format!("FREQ=WEEKLY;BYDAY={}", weekday(start));
        if rng.u8(0..4) == 0 {
            rule = format!("FREQ=WEEKLY;INTERVAL=2;BYDAY={}", weekday(start));
        }
        if rng.u8(0..3) == 0 {
            // A third of the series ended at some point (many long before the window).
            let until = start + Duration::weeks(rng.i64(4..300));
            let _ = write!(rule, ";UNTIL={}", until.format("%Y%m%dT%H%M%SZ"));
        }
        let mut extra = String::new();
        for _ in 0..rng.usize(0..3) {
            let ex = start + Duration::weeks(rng.i64(1..200));
            let _ = write!(
                extra,
                "EXDATE;TZID=Europe/Berlin:{}\r\n",
                ex.format("%Y%m%dT%H%M%S")
            );
        }
        event(
            &mut out,
            &mut rng,
            &format!("series-{i:05}@google.com"),
            start,
            Some(&rule),
            None,
            0,
            &extra,
        );
        series_starts.push(start);
    }
    for i in 0..SINGLES {
        let day = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + Duration::days(rng.i64(0..2600));
        let start = day.and_hms_opt(rng.u32(7..19), 0, 0).unwrap();
        event(
            &mut out,
            &mut rng,
            &format!("single-{i:05}@google.com"),
            start,
            None,
            None,
            0,
            "",
        );
    }
    for i in 0..OVERRIDES {
        // Overrides of series occurrences, many of them near the window so they count.
        let s = rng.usize(0..SERIES);
        let start = series_starts[s];
        let weeks_to_window = (NaiveDate::from_ymd_opt(2026, 12, 1).unwrap() - start.date())
            .num_weeks()
            .max(1);
        let rid = start + Duration::weeks(rng.i64(0..weeks_to_window + 5));
        let moved = rid + Duration::hours(rng.i64(-3..27));
        let status = if i % 4 == 0 {
            "STATUS:CANCELLED\r\n"
        } else {
            ""
        };
        let sequence = 1 + rng.i64(0..3);
        event(
            &mut out,
            &mut rng,
            &format!("series-{s:05}@google.com"),
            moved,
            None,
            Some(rid),
            sequence,
            status,
        );
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

fn weekday(t: NaiveDateTime) -> &'static str {
    use chrono::Datelike;
    ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][t.weekday().num_days_from_monday() as usize]
}

#[allow(clippy::too_many_arguments)]
fn event(
    out: &mut String,
    rng: &mut fastrand::Rng,
    uid: &str,
    start: NaiveDateTime,
    rrule: Option<&str>,
    rid: Option<NaiveDateTime>,
    sequence: i64,
    extra: &str,
) {
    let end = start + Duration::minutes([30, 45, 60, 90][rng.usize(0..4)]);
    let mut ev = String::new();
    ev.push_str("BEGIN:VEVENT\r\n");
    let fmt = "%Y%m%dT%H%M%S";
    let _ = write!(
        ev,
        "DTSTART;TZID=Europe/Berlin:{}\r\nDTEND;TZID=Europe/Berlin:{}\r\n",
        start.format(fmt),
        end.format(fmt)
    );
    if let Some(r) = rrule {
        let _ = write!(ev, "RRULE:{r}\r\n");
    }
    if let Some(rid) = rid {
        let _ = write!(
            ev,
            "RECURRENCE-ID;TZID=Europe/Berlin:{}\r\n",
            rid.format(fmt)
        );
    }
    ev.push_str(extra);
    let _ = write!(
        ev,
        "DTSTAMP:20261126T120000Z\r\nUID:{uid}\r\nSEQUENCE:{sequence}\r\n\
         ORGANIZER;CN=Alex Example:mailto:alex@mycorp.com\r\n"
    );
    for a in 0..rng.usize(2..7) {
        let domain = DOMAINS[rng.usize(0..DOMAINS.len())];
        let _ = write!(
            ev,
            "ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT={};CN=Person {a} of {domain};X-NUM-GUESTS=0:mailto:person{a}.{}@{domain}\r\n",
            ["ACCEPTED", "NEEDS-ACTION", "TENTATIVE", "DECLINED"][rng.usize(0..4)],
            rng.u32(0..100_000),
        );
    }
    let _ = write!(
        ev,
        "DESCRIPTION:Agenda: pricing\\, rollout plan and next steps. Join: https://meet.google.com/{}-{}-{}\r\n\
         SUMMARY:Customer call {uid}\r\nLOCATION:\r\nSTATUS:CONFIRMED\r\nTRANSP:OPAQUE\r\nEND:VEVENT\r\n",
        rng.u32(100..999),
        rng.u32(1000..9999),
        rng.u32(100..999)
    );
    for line in ev.split_inclusive("\r\n") {
        fold_into(out, line.trim_end_matches("\r\n"));
    }
}

/// RFC 5545 folding at 75 octets (the generated text is ASCII).
fn fold_into(out: &mut String, line: &str) {
    let mut rest = line;
    let mut first = true;
    while !rest.is_empty() {
        let take = if first { 75 } else { 74 }.min(rest.len());
        if !first {
            out.push(' ');
        }
        out.push_str(&rest[..take]);
        out.push_str("\r\n");
        rest = &rest[take..];
        first = false;
    }
}
