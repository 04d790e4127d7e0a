//! The first pass over calendar text, by lines and without parsing: where each VCALENDAR and its
//! VEVENT and VTIMEZONE blocks start and end, the unfolding of content lines, and a quick look at
//! a VEVENT's dates that tells whether it can matter for the window at all.
//!
//! Promises: slices of the input, never copies of whole blocks; tolerant of what calcard tolerates
//! (garbage lines, lower case, a BOM, CRLF or LF, a block or calendar cut off at the end); the
//! quick look only ever answers "cannot matter" when parsing the event would give nothing in the
//! window (tested against parsing everything on the fixtures and on random calendars).

use std::borrow::Cow;

use chrono::{NaiveDate, TimeDelta};

use crate::source::Window;

/// The parts of one VCALENDAR that matter, as slices of the text.
#[derive(Debug, Default)]
pub(super) struct CalendarText<'a> {
    pub(super) timezones: Vec<&'a str>,
    pub(super) events: Vec<&'a str>,
    /// It ended with `END:VCALENDAR` (a text cut off mid-write does not).
    pub(super) closed: bool,
}

/// `BEGIN:X` / `END:X` on a line of its own (case-insensitive), else `None`. Folded continuation
/// lines start with a space or tab, so they never match.
pub(super) fn marker(line: &str) -> Option<(bool, &str)> {
    // Nearly every line is a property: one byte test passes over it before any trimming (0xEF
    // starts a byte order mark).
    if !matches!(
        line.as_bytes().first(),
        Some(b'B' | b'b' | b'E' | b'e' | 0xEF)
    ) {
        return None;
    }
    let line = line
        .trim_end_matches(['\r', '\n'])
        .trim_start_matches('\u{feff}');
    let split = |prefix: &str| {
        line.get(..prefix.len())
            .filter(|p| p.eq_ignore_ascii_case(prefix))
            .and_then(|_| line.get(prefix.len()..))
            .map(str::trim)
    };
    split("BEGIN:")
        .map(|name| (true, name))
        .or_else(|| split("END:").map(|name| (false, name)))
}

/// The lines of `text` (each with its `\n`, the last perhaps without) and where each starts.
/// A 10 MB export has 250,000 lines; memchr's vectorised search finds their ends several times
/// faster than `split_inclusive`, which matters on this single-threaded first pass.
pub(super) fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut start = 0;
    memchr::memchr_iter(b'\n', text.as_bytes())
        .map(|newline| newline + 1)
        .chain(std::iter::once(text.len()))
        .filter_map(move |end| {
            let from = start;
            start = end;
            text.get(from..end)
                .filter(|line| !line.is_empty())
                .map(|line| (from, line))
        })
}

/// The text with every line ending a `\n`: CR-only endings (old Mac exports) become CRLF, so
/// the line scan and calcard see lines. Borrowed, without a copy, when there is no lone CR.
pub(super) fn with_line_feeds(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let lone = |i: &usize| bytes.get(i + 1) != Some(&b'\n');
    if !memchr::memchr_iter(b'\r', bytes).any(|i| lone(&i)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + text.len() / 32);
    let mut from = 0;
    for i in memchr::memchr_iter(b'\r', bytes).filter(lone) {
        // `\r` is ASCII, so `i` and `i + 1` are character boundaries.
        out.push_str(text.get(from..=i).unwrap_or(""));
        out.push('\n');
        from = i + 1;
    }
    out.push_str(text.get(from..).unwrap_or(""));
    Cow::Owned(out)
}

/// Splits the text into VCALENDARs and their top-level components with a line scan, leaving
/// the parsing of each component to calcard. Tolerates what calcard tolerates: garbage lines,
/// lower case, a BOM, CRLF or LF, a component or calendar cut off at the end of the text.
pub(super) fn split_calendars(text: &str) -> Vec<CalendarText<'_>> {
    enum Kind {
        Timezone,
        Event,
        Other,
    }
    let mut calendars = Vec::new();
    let mut calendar: Option<CalendarText<'_>> = None;
    // (byte offset of the BEGIN line, kind, nesting depth)
    let mut block: Option<(usize, Kind, u32)> = None;
    for (line_start, line) in lines(text) {
        let offset = line_start + line.len();
        let Some((begin, name)) = marker(line) else {
            continue;
        };
        let Some(cal) = calendar.as_mut() else {
            if begin && name.eq_ignore_ascii_case("VCALENDAR") {
                calendar = Some(CalendarText::default());
            }
            continue;
        };
        let closes_calendar = !begin && name.eq_ignore_ascii_case("VCALENDAR");
        match block.as_mut() {
            None if begin => {
                let kind = if name.eq_ignore_ascii_case("VEVENT") {
                    Kind::Event
                } else if name.eq_ignore_ascii_case("VTIMEZONE") {
                    Kind::Timezone
                } else {
                    Kind::Other
                };
                block = Some((line_start, kind, 1));
            }
            None => {
                if closes_calendar {
                    cal.closed = true;
                    calendars.extend(calendar.take());
                }
            }
            Some((start, kind, depth)) => {
                let end = if closes_calendar {
                    // A component cut off by END:VCALENDAR ends before it.
                    Some(line_start)
                } else if begin {
                    *depth += 1;
                    None
                } else {
                    *depth -= 1;
                    (*depth == 0).then_some(offset)
                };
                if let Some(end) = end {
                    let part = text.get(*start..end).unwrap_or("");
                    match kind {
                        Kind::Event => cal.events.push(part),
                        Kind::Timezone => cal.timezones.push(part),
                        Kind::Other => {}
                    }
                    block = None;
                    if closes_calendar {
                        cal.closed = true;
                        calendars.extend(calendar.take());
                    }
                }
            }
        }
    }
    if let (Some(cal), Some((start, kind, _))) = (calendar.as_mut(), block) {
        let part = text.get(start..).unwrap_or("");
        match kind {
            Kind::Event => cal.events.push(part),
            Kind::Timezone => cal.timezones.push(part),
            Kind::Other => {}
        }
    }
    calendars.extend(calendar);
    calendars
}

/// Whether a VEVENT certainly has no occurrence near the window, judged from a quick look at
/// its DTSTART, DTEND, RECURRENCE-ID and RRULE dates without parsing it. Big exports are mostly
/// past one-off events and ended series; skipping them is what keeps a 12,000-event file fast and
/// small. Anything unclear (a DURATION, RDATE, COUNT, an unreadable date) is kept and parsed.
/// A skipped broken event gets no warning, which is fine: it could not have been a meeting now.
pub(super) fn cannot_matter(block: &str, window: Window) -> bool {
    // Two days of slack cover any zone offset (at most ±14 h) between the written dates and UTC.
    let slack = TimeDelta::days(2);
    let (Some(lo), Some(hi)) = (
        window.start.checked_sub_signed(slack),
        window.end.checked_add_signed(slack),
    ) else {
        return false;
    };
    let (lo, hi) = (lo.date_naive(), hi.date_naive());

    let mut dtstart = None;
    let mut dtend = None;
    let mut rid = None;
    let mut until = None;
    let mut rrule = false;
    let mut unclear = false;
    let mut depth = 0u32;
    let wanted = |line: &str| {
        const NAMES: [&str; 9] = [
            "BEGIN",
            "END",
            "DTSTART",
            "DTEND",
            "RECURRENCE-ID",
            "RRULE",
            "DURATION",
            "RDATE",
            "EXRULE",
        ];
        // Every wanted name starts with B, D, E or R: most lines (ATTENDEE, DESCRIPTION…) stop here.
        if !matches!(
            line.as_bytes().first().map(u8::to_ascii_uppercase),
            Some(b'B' | b'D' | b'E' | b'R')
        ) {
            return false;
        }
        let name = line.split([';', ':']).next().unwrap_or("");
        NAMES.iter().any(|n| name.eq_ignore_ascii_case(n))
    };
    for line in logical_lines(block, wanted) {
        if let Some((begin, _)) = marker(&line) {
            depth = if begin {
                depth + 1
            } else {
                depth.saturating_sub(1)
            };
            continue;
        }
        if depth != 1 {
            continue; // inside a VALARM
        }
        let Some((name, value)) = split_property(&line) else {
            continue;
        };
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        if is("DTSTART") {
            dtstart = leading_date(value);
        } else if is("DTEND") {
            dtend = leading_date(value);
        } else if is("RECURRENCE-ID") {
            rid = leading_date(value);
            unclear |= rid.is_none();
        } else if is("RRULE") {
            rrule = true;
            let upper = value.to_ascii_uppercase();
            if upper.contains("COUNT=") {
                unclear = true;
            }
            until = upper
                .split(';')
                .find_map(|part| part.strip_prefix("UNTIL="))
                .and_then(leading_date);
            unclear |= until.is_none();
        } else if is("DURATION") || is("RDATE") || is("EXRULE") {
            unclear = true;
        }
    }
    let Some(start) = dtstart else {
        return false; // let the parser name the problem
    };
    if unclear {
        return false;
    }
    // How many days an occurrence may reach past its start date.
    let reach = match dtend {
        Some(end) => (end - start).num_days().max(1),
        None => 1,
    };
    if let Some(rid) = rid
        && rid >= lo
        && rid <= hi
    {
        return false; // an override of a slot in the window: needed to replace that slot
    }
    let last_start = if rrule {
        match until {
            Some(u) => u,
            None => return false,
        }
    } else {
        start
    };
    let ends_before = last_start
        .checked_add_signed(TimeDelta::days(reach))
        .is_some_and(|end| end < lo);
    ends_before || start > hi
}

/// The lines of a block that `wanted` accepts (judged on their first physical line), with
/// folding undone: a line starting with a space or tab continues the previous one. Lines not
/// wanted are passed over without copying.
pub(super) fn logical_lines<'a>(
    block: &'a str,
    wanted: impl Fn(&str) -> bool,
) -> impl Iterator<Item = std::borrow::Cow<'a, str>> {
    let mut lines = block
        .split('\n')
        .map(|l| l.trim_end_matches('\r'))
        .peekable();
    std::iter::from_fn(move || {
        loop {
            let first = lines.next()?;
            let keep = wanted(first);
            let mut joined: Option<String> = None;
            while let Some(next) = lines.peek() {
                let Some(rest) = next.strip_prefix([' ', '\t']) else {
                    break;
                };
                if keep {
                    joined
                        .get_or_insert_with(|| first.to_string())
                        .push_str(rest);
                }
                lines.next();
            }
            if keep {
                return Some(match joined {
                    Some(j) => std::borrow::Cow::Owned(j),
                    None => std::borrow::Cow::Borrowed(first),
                });
            }
        }
    })
}

/// A content line's name and value: the name ends at the first `;` or `:`, the value starts
/// after the first `:` outside double quotes (`TZID="(UTC+01:00) Amsterdam…"` has colons).
pub(super) fn split_property(line: &str) -> Option<(&str, &str)> {
    let name_end = line.find([';', ':'])?;
    let mut quoted = false;
    for (i, b) in line.bytes().enumerate().skip(name_end) {
        match b {
            b'"' => quoted = !quoted,
            b':' if !quoted => return Some((&line[..name_end], line.get(i + 1..)?)),
            _ => {}
        }
    }
    None
}

/// The `YYYYMMDD` a date or date-time value starts with.
pub(super) fn leading_date(value: &str) -> Option<NaiveDate> {
    let digits = value.trim().get(..8)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = digits.parse().ok()?;
    NaiveDate::from_ymd_opt((n / 10_000) as i32, n / 100 % 100, n % 100)
}

/// A short description of a body that is not iCalendar, without quoting it (it may be a login
/// page with personal data).
pub(super) fn describe_non_calendar(text: &str) -> String {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.is_empty() {
        return "the body is empty".into();
    }
    let head: String = trimmed
        .chars()
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    let kind = if head.starts_with("<!doctype html") || head.starts_with("<html") {
        "an HTML page (a login or error page?)"
    } else if head.starts_with('<') {
        "XML or HTML"
    } else if head.starts_with('{') || head.starts_with('[') {
        "JSON"
    } else {
        "text"
    };
    format!(
        "no BEGIN:VCALENDAR in {} bytes of {kind}; check that the URL or file is the calendar's iCal export",
        text.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Window;
    use crate::source::ical::test_support::*;

    #[test]
    fn lines_keep_their_endings_and_offsets_and_the_last_may_lack_one() {
        let got: Vec<(usize, &str)> = lines("A\r\nB\n\nC").collect();
        assert_eq!(got, [(0, "A\r\n"), (3, "B\n"), (5, "\n"), (6, "C")]);
        assert_eq!(lines("").count(), 0);
        assert_eq!(lines("x\n").collect::<Vec<_>>(), [(0, "x\n")]);
    }

    #[test]
    fn a_byte_order_mark_and_any_line_ending_crlf_lf_or_cr_only_parse_the_same() {
        let original = fixture("icloud.ics");
        let body: String = original
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        let expected = parse_calendar("cal", &original, december()).unwrap();
        assert_eq!(expected.meetings.len(), 5);
        for variant in [
            format!("\u{feff}{body}"),
            body.replace('\n', "\r\n"),
            format!("\u{feff}{}", body.replace('\n', "\r\n")),
            body.replace('\n', "\r"),
        ] {
            assert_eq!(
                parse_calendar("cal", &variant, december()).unwrap(),
                expected
            );
        }
    }

    fn random_calendar(seed: u64) -> String {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut body = String::from(
            "BEGIN:VTIMEZONE\nTZID:Europe/Berlin\nX-LIC-LOCATION:Europe/Berlin\nEND:VTIMEZONE\n",
        );
        let base = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        for i in 0..400u32 {
            let day = base + TimeDelta::days(rng.i64(-60..90));
            let d = day.format("%Y%m%d");
            let zone = [
                "",
                ";TZID=Europe/Berlin",
                ";TZID=\"(UTC+01:00) Amsterdam, Berlin\"",
            ][rng.usize(0..3)];
            let z = if zone.is_empty() { "Z" } else { "" };
            let hour = rng.u32(0..24);
            let start = if rng.u8(0..8) == 0 {
                format!("DTSTART;VALUE=DATE:{d}")
            } else {
                format!("DTSTART{zone}:{d}T{hour:02}0000{z}")
            };
            let end_day = (day + TimeDelta::days(rng.i64(0..4))).format("%Y%m%d");
            let end = match rng.u8(0..4) {
                0 => String::new(),
                1 => format!("DURATION:PT{}H", rng.u32(1..80)),
                _ if start.contains("VALUE=DATE") => format!("DTEND;VALUE=DATE:{end_day}"),
                _ => format!("DTEND{zone}:{end_day}T{:02}3000{z}", rng.u32(0..24)),
            };
            // Unique UIDs for series and one-offs; overrides point at an earlier one. (Two masters
            // with one UID are invalid data where "the later one wins" depends on what is read.)
            let mut uid = i;
            let extra = match rng.u8(0..6) {
                0 => format!(
                    "RRULE:FREQ=WEEKLY;UNTIL={}T000000Z",
                    (day + TimeDelta::days(rng.i64(0..60))).format("%Y%m%d")
                ),
                1 => "RRULE:FREQ=DAILY;COUNT=5".into(),
                2 => {
                    uid = rng.u32(0..i.max(1));
                    format!(
                        "RECURRENCE-ID{zone}:{}T{hour:02}0000{z}",
                        (day + TimeDelta::days(rng.i64(-10..10))).format("%Y%m%d")
                    )
                }
                3 => format!("RDATE:{}T100000Z", end_day),
                _ => String::new(),
            };
            body.push_str(&format!(
                "BEGIN:VEVENT\nUID:u{uid}\nSUMMARY:e{i}\n{start}\n{end}\n{extra}\n\
                 BEGIN:VALARM\nTRIGGER:-PT5M\nEND:VALARM\nEND:VEVENT\n"
            ));
        }
        calendar(&body)
    }

    #[test]
    fn the_quick_skip_of_far_away_events_never_changes_the_result() {
        let mut texts = all_fixtures();
        texts.extend((0..20).map(random_calendar));
        let windows = [
            december(),
            Window {
                start: utc(2026, 12, 14, 23, 0),
                end: utc(2026, 12, 15, 1, 0),
            },
        ];
        for text in &texts {
            for window in windows {
                let slow = parse_with("cal", text, window, false).unwrap();
                let quick = parse_with("cal", text, window, true).unwrap();
                let only_slow: Vec<_> = slow
                    .meetings
                    .iter()
                    .filter(|m| !quick.meetings.contains(m))
                    .collect();
                let only_quick: Vec<_> = quick
                    .meetings
                    .iter()
                    .filter(|m| !slow.meetings.contains(m))
                    .collect();
                assert!(
                    only_slow.is_empty() && only_quick.is_empty(),
                    "lost by the skip: {only_slow:#?}\ngained: {only_quick:#?}"
                );
                assert_eq!(quick.meetings, slow.meetings);
            }
        }
    }

    #[test]
    fn folded_dates_and_quoted_colons_are_read_by_the_quick_look() {
        let block = "BEGIN:VEVENT\nDTSTART;TZID=\"(UTC+01:00) Amsterdam, Berlin\":2026\n 0101T100000\nEND:VEVENT\n";
        let line = logical_lines(block, |_| true).nth(1).unwrap();
        let (name, value) = split_property(&line).unwrap();
        assert_eq!((name, value), ("DTSTART", "20260101T100000"));
        assert!(cannot_matter(block, december()));
    }

    #[test]
    fn lone_carriage_returns_become_line_ends_and_other_text_is_not_copied() {
        assert_eq!(with_line_feeds("A\rB\r\nC\rD"), "A\r\nB\r\nC\r\nD");
        assert_eq!(with_line_feeds("A\r"), "A\r\n");
        assert!(matches!(
            with_line_feeds("A\r\nB\n"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
