//! iCalendar text -> meeting occurrences inside a window (pure: no I/O, no clock).
//!
//! Parsing, Windows/Outlook zone names and RRULE arithmetic come from calcard (DESIGN §8), except
//! for ORGANIZER and ATTENDEE lines, which `read_person_line` reads itself (they are half of a
//! big export's bytes; see `split_people`). This module owns everything around them, because
//! calcard's `expand_dates` has two gaps that real feeds hit:
//!
//! - it pairs an override with its series only when SEQUENCE matches, and Google bumps SEQUENCE on
//!   overrides, so a moved occurrence would show twice. Here an override (a VEVENT with
//!   RECURRENCE-ID) replaces the series slot with the same UID and original start, whatever its
//!   SEQUENCE.
//! - it stops after a number of occurrences, not at a time. Here each series is expanded on its own
//!   with an UNTIL at the window's end, after moving DTSTART forward by whole recurrence periods to
//!   just before the window (when the rule has no COUNT), so a weekly series that began in 2015
//!   costs a handful of occurrences, not five hundred. Every expansion is capped at
//!   [`MAX_OCCURRENCES_PER_SERIES`], so FREQ=SECONDLY cannot loop for long.
//!
//! What the caller can rely on:
//! - The whole text fails only when it holds no VCALENDAR at all ([`NotICalendar`]). A broken event
//!   (no DTSTART, an unparseable date, a zone that cannot be mapped, an RRULE calcard refuses) is
//!   skipped with one warning that names it by UID (or SUMMARY when it has no UID); the rest counts.
//! - Never panics, on any input (tested on garbage and on every prefix of a real-looking export).
//! - Only VEVENTs count; VTODO, VJOURNAL, VFREEBUSY are ignored.
//! - Ids: `MeetingId::new(source, uid, None)` for a one-off event; for an occurrence of a series the
//!   original start (RECURRENCE-ID for an override), so a moved occurrence keeps its id.
//!
//! Time decisions:
//! - Floating times (no `Z`, no TZID) are read in the zone of the machine (`chrono::Local`): a
//!   floating "09:00" is meant as 09:00 wherever the user is, and the user runs this daemon.
//! - All-day events (`VALUE=DATE`) span whole days in the event's TZID when it has one, else in UTC
//!   (DATE values carry no zone; `classify` skips all-day events by default anyway).
//! - A local time that does not exist (inside a DST gap) moves forward by the gap, as RFC 5545
//!   §3.3.5 says; an ambiguous one takes the earlier instant.
//! - A DATE-TIME event without DTEND or DURATION lasts zero seconds (RFC 5545 §3.6.1); a DATE one
//!   lasts one day.
//! - Custom VTIMEZONEs that calcard cannot map (Outlook's "Customized Time Zone") are matched to an
//!   IANA zone with the same standard/daylight offsets and switch months; a custom zone without
//!   daylight time becomes its fixed offset.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;

use calcard::common::PartialDateTime;
use calcard::common::timezone::Tz as CalTz;
use calcard::icalendar::utils::strip_mailto_scheme;
use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarEntry, ICalendarFrequency,
    ICalendarPeriod, ICalendarProperty, ICalendarRecurrenceRule, ICalendarValue,
};
use calcard::{Entry, Parser};
use chrono::{
    DateTime, Datelike, FixedOffset, LocalResult, Months, NaiveDate, NaiveDateTime, NaiveTime,
    Offset, TimeDelta, TimeZone, Utc,
};

use super::Window;
use crate::model::{Attendee, Meeting, MeetingId, MeetingStatus, PartStat, ParticipantKind, Role};

/// The most occurrences one series may produce in one parse (a bound on work, not a feature: a
/// 30-day window of a minutely meeting is 43,200). A series that hits it is cut off with a warning.
pub const MAX_OCCURRENCES_PER_SERIES: usize = 20_000;

/// What one calendar text yielded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    pub meetings: Vec<Meeting>,
    /// One line per skipped event, naming it (UID or summary) and saying why.
    pub warnings: Vec<String>,
}

/// The text is not iCalendar at all (an HTML login page, an empty body).
#[derive(Debug, thiserror::Error)]
#[error("not an iCalendar file: {0}")]
pub struct NotICalendar(pub String);

/// Parses iCalendar text into meeting occurrences overlapping `window`, expanding recurrences.
/// `source` is the calendar name that prefixes each meeting id. Meetings come sorted by start,
/// then UID and original start.
pub fn parse_calendar(source: &str, text: &str, window: Window) -> Result<Parsed, NotICalendar> {
    parse_with(source, text, window, true)
}

/// `quick_skip: false` parses every VEVENT; tests use it to show the skip changes nothing.
fn parse_with(
    source: &str,
    text: &str,
    window: Window,
    quick_skip: bool,
) -> Result<Parsed, NotICalendar> {
    let window = clamp_window(window);
    let calendars = split_calendars(text);
    if calendars.is_empty() {
        return Err(NotICalendar(describe_non_calendar(text)));
    }

    let mut out = Parsed::default();
    let mut batches = Vec::new();
    for cal in &calendars {
        let zones = ZoneTable::from_blocks(&cal.timezones, window);
        batches.extend(read_events(&cal.events, &zones, window, quick_skip));
    }
    // The events stay where the reading threads put them; expansion works through references.
    // An Event is ~700 bytes, and moving thousands into one list would hold them twice, since
    // memory a reading thread frees is not reused by this one.
    let mut events: Vec<&Event> =
        Vec::with_capacity(batches.iter().flatten().filter(|r| r.is_ok()).count());
    for result in batches.iter_mut().flatten() {
        match result {
            Ok(event) => events.push(event),
            Err(warning) => out.warnings.push(std::mem::take(warning)),
        }
    }

    expand(source, events, window, &mut out);
    Ok(out)
}

/// Below this many VEVENTs one thread reads them; above, the blocks are shared out over the
/// machine's cores (they are independent, and reading them is most of the work).
const PARALLEL_FROM: usize = 512;

/// Reads the VEVENT blocks (skipping the ones that cannot matter), in file order, in batches.
fn read_events(
    blocks: &[&str],
    zones: &ZoneTable,
    window: Window,
    quick_skip: bool,
) -> Vec<Vec<Result<Event, String>>> {
    let read_chunk = |offset: usize, chunk: &[&str]| -> Vec<Result<Event, String>> {
        let mut out = Vec::new();
        for (i, block) in chunk.iter().enumerate() {
            if quick_skip && cannot_matter(block, window) {
                continue;
            }
            // Each VEVENT is parsed on its own and its calcard tree dropped at once, so memory
            // holds the text plus what is kept, not a tree of the whole file.
            let (lean, people) = split_people(block);
            let mut parser = Parser::new(&lean);
            let Entry::ICalendar(ical) = parser.entry() else {
                continue;
            };
            if let Some(comp) = ical
                .components
                .first()
                .filter(|c| c.component_type == ICalendarComponentType::VEvent)
            {
                out.push(Event::read(comp, &people, zones, offset + i));
            }
        }
        out
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    if threads < 2 || blocks.len() < PARALLEL_FROM {
        return vec![read_chunk(0, blocks)];
    }
    // Threads take batches from a shared counter rather than a fixed half each: the work is
    // uneven along a file (an export lists its long-running series first, and most of the past
    // one-off events after them are skipped unparsed), so fixed halves left one core idle for
    // most of the read.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let batches = blocks.len().div_ceil(BATCH);
    let mut results: Vec<(usize, Vec<Result<Event, String>>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let batch = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if batch >= batches {
                            break done;
                        }
                        let from = batch * BATCH;
                        let to = (from + BATCH).min(blocks.len());
                        let chunk = blocks.get(from..to).unwrap_or_default();
                        // Reading must not panic; if it does, that batch is lost with a warning
                        // instead of the whole poll, as it would be with one thread's share.
                        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            read_chunk(from, chunk)
                        }))
                        .unwrap_or_else(|_| {
                            vec![Err(format!(
                                "events {from} to {}: the iCalendar reader failed; skipped",
                                to.saturating_sub(1)
                            ))]
                        });
                        done.push((batch, read));
                    }
                })
            })
            .collect();
        let mut all = Vec::with_capacity(batches);
        for worker in workers {
            match worker.join() {
                Ok(done) => all.extend(done),
                // Unreachable (each batch catches its panic), but a lost thread must not take
                // the poll with it.
                Err(_) => all.push((
                    usize::MAX,
                    vec![Err(
                        "some events: the iCalendar reader failed; skipped".to_string()
                    )],
                )),
            }
        }
        all
    });
    // Back into file order: a repeated UID keeps the later event on equal SEQUENCE.
    results.sort_unstable_by_key(|(batch, _)| *batch);
    results.into_iter().map(|(_, events)| events).collect()
}

/// VEVENT blocks a reading thread takes at a time: small enough to even out the threads' work,
/// large enough that the shared counter costs nothing.
const BATCH: usize = 64;

/// Keeps the window inside the years iCalendar can write (0001–9999), so zone arithmetic on its
/// bounds cannot leave chrono's range.
fn clamp_window(window: Window) -> Window {
    let min = Utc.with_ymd_and_hms(1, 1, 2, 0, 0, 0).single();
    let max = Utc.with_ymd_and_hms(9999, 12, 30, 0, 0, 0).single();
    let clamp = |t: DateTime<Utc>| match (min, max) {
        (Some(min), Some(max)) => t.clamp(min, max),
        _ => t,
    };
    Window {
        start: clamp(window.start),
        end: clamp(window.end),
    }
}

/// The parts of one VCALENDAR that matter, as slices of the text.
#[derive(Debug, Default)]
struct CalendarText<'a> {
    timezones: Vec<&'a str>,
    events: Vec<&'a str>,
}

/// `BEGIN:X` / `END:X` on a line of its own (case-insensitive), else `None`. Folded continuation
/// lines start with a space or tab, so they never match.
fn marker(line: &str) -> Option<(bool, &str)> {
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
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
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

/// Splits the text into VCALENDARs and their top-level components with a line scan, leaving
/// the parsing of each component to calcard. Tolerates what calcard tolerates: garbage lines,
/// lower case, a BOM, CRLF or LF, a component or calendar cut off at the end of the text.
fn split_calendars(text: &str) -> Vec<CalendarText<'_>> {
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
fn cannot_matter(block: &str, window: Window) -> bool {
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
fn logical_lines<'a>(
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
fn split_property(line: &str) -> Option<(&str, &str)> {
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
fn leading_date(value: &str) -> Option<NaiveDate> {
    let digits = value.trim().get(..8)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = digits.parse().ok()?;
    NaiveDate::from_ymd_opt((n / 10_000) as i32, n / 100 % 100, n % 100)
}

/// A short description of a body that is not iCalendar, without quoting it (it may be a login
/// page with personal data).
fn describe_non_calendar(text: &str) -> String {
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

// ---------------------------------------------------------------------------------------------
// Zones

/// Where a local (wall-clock) time is anchored.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Zone {
    Utc,
    Fixed(FixedOffset),
    Iana(chrono_tz::Tz),
    /// Floating time: the machine's zone.
    Local,
}

impl Zone {
    fn from_calcard(tz: CalTz) -> Zone {
        match tz {
            CalTz::Floating => Zone::Local,
            CalTz::Fixed(o) if o.local_minus_utc() == 0 => Zone::Utc,
            CalTz::Fixed(o) => Zone::Fixed(o),
            CalTz::Tz(t) => Zone::Iana(t),
        }
    }

    fn from_offset(offset: FixedOffset) -> Zone {
        if offset.local_minus_utc() == 0 {
            Zone::Utc
        } else {
            Zone::Fixed(offset)
        }
    }

    /// The instant of a wall-clock time in this zone. `None` only on arithmetic overflow.
    fn to_utc(self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self {
            Zone::Utc => Some(local.and_utc()),
            Zone::Fixed(o) => resolve_local(&o, local),
            Zone::Iana(tz) => resolve_local(&tz, local),
            Zone::Local => resolve_local(&chrono::Local, local),
        }
    }

    /// The wall-clock time of an instant in this zone.
    fn to_local(self, t: DateTime<Utc>) -> NaiveDateTime {
        match self {
            Zone::Utc => t.naive_utc(),
            Zone::Fixed(o) => t.with_timezone(&o).naive_local(),
            Zone::Iana(tz) => t.with_timezone(&tz).naive_local(),
            Zone::Local => t.with_timezone(&chrono::Local).naive_local(),
        }
    }

    /// The IANA name, for display.
    fn name(self) -> Option<String> {
        match self {
            Zone::Iana(tz) => Some(tz.name().to_string()),
            _ => None,
        }
    }
}

fn resolve_local<Z: TimeZone>(zone: &Z, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, _) => Some(earlier.with_timezone(&Utc)),
        LocalResult::None => {
            // In a DST gap: RFC 5545 §3.3.5 reads the time with the offset from before the gap,
            // which for the usual one-hour gap is the wall time one hour later. Longer historic
            // gaps take the first valid wall time after (bounded: no gap is longer than a day).
            let mut probe = local.checked_add_signed(TimeDelta::hours(1))?;
            for _ in 0..48 {
                if let Some(t) = zone.from_local_datetime(&probe).earliest() {
                    return Some(t.with_timezone(&Utc));
                }
                probe = probe.checked_add_signed(TimeDelta::minutes(30))?;
            }
            None
        }
    }
}

/// TZID -> zone for one VCALENDAR.
struct ZoneTable {
    by_tzid: HashMap<String, Zone>,
}

impl ZoneTable {
    /// The zones of a calendar's VTIMEZONE blocks (parsed together as one small calendar).
    fn from_blocks(blocks: &[&str], window: Window) -> ZoneTable {
        if blocks.is_empty() {
            return ZoneTable {
                by_tzid: HashMap::new(),
            };
        }
        let mut text = String::from("BEGIN:VCALENDAR\r\n");
        for b in blocks {
            text.push_str(b);
            if !b.ends_with('\n') {
                text.push_str("\r\n");
            }
        }
        text.push_str("END:VCALENDAR\r\n");
        match Parser::new(&text).entry() {
            Entry::ICalendar(cal) => ZoneTable::build(&cal, window),
            _ => ZoneTable {
                by_tzid: HashMap::new(),
            },
        }
    }

    fn build(cal: &ICalendar, window: Window) -> ZoneTable {
        let mut by_tzid = HashMap::new();
        for comp in cal.timezones() {
            let Some(name) = comp
                .property(&ICalendarProperty::Tzid)
                .and_then(|e| e.values.first())
                .and_then(|v| v.as_text())
            else {
                continue;
            };
            let zone = match comp.timezone() {
                Some((_, tz)) => Some(Zone::from_calcard(tz)),
                None => guess_custom_zone(cal, comp, window.start.year()),
            };
            if let Some(zone) = zone {
                by_tzid.insert(name.to_string(), zone);
            }
        }
        ZoneTable { by_tzid }
    }

    /// The zone of a TZID: the calendar's own VTIMEZONE, or a name calcard knows (IANA, Windows,
    /// "(UTC+01:00) Amsterdam, Berlin…", "/mozilla.org/…/Europe/Berlin").
    fn resolve(&self, tzid: &str) -> Option<Zone> {
        if let Some(z) = self.by_tzid.get(tzid) {
            return Some(*z);
        }
        let tz = CalTz::from_str(tzid.trim_matches('"')).ok()?;
        match tz {
            CalTz::Floating => None,
            other => Some(Zone::from_calcard(other)),
        }
    }
}

/// Zones tried first when matching a custom VTIMEZONE by its rules, so the display name is the
/// familiar one rather than the alphabetically first zone with the same rules (Africa/Ceuta).
const PREFERRED_ZONES: &[chrono_tz::Tz] = &[
    chrono_tz::Europe::Berlin,
    chrono_tz::Europe::London,
    chrono_tz::Europe::Helsinki,
    chrono_tz::Europe::Moscow,
    chrono_tz::America::New_York,
    chrono_tz::America::Chicago,
    chrono_tz::America::Denver,
    chrono_tz::America::Phoenix,
    chrono_tz::America::Los_Angeles,
    chrono_tz::America::Anchorage,
    chrono_tz::America::Halifax,
    chrono_tz::America::Sao_Paulo,
    chrono_tz::Australia::Sydney,
    chrono_tz::Australia::Adelaide,
    chrono_tz::Australia::Brisbane,
    chrono_tz::Australia::Perth,
    chrono_tz::Pacific::Auckland,
    chrono_tz::Asia::Tokyo,
    chrono_tz::Asia::Shanghai,
    chrono_tz::Asia::Kolkata,
    chrono_tz::Asia::Dubai,
    chrono_tz::Asia::Singapore,
];

/// Matches a VTIMEZONE calcard could not name (no IANA TZID, no X-LIC-LOCATION, no Outlook CDO id)
/// to a zone by its rules: the STANDARD and DAYLIGHT offsets and the months they start in.
fn guess_custom_zone(cal: &ICalendar, tz: &ICalendarComponent, year: i32) -> Option<Zone> {
    let mut standard: Option<(i32, Option<u32>)> = None;
    let mut daylight: Option<(i32, Option<u32>)> = None;
    for id in &tz.component_ids {
        let Some(obs) = cal.components.get(*id as usize) else {
            continue;
        };
        let Some(offset) = observance_offset(obs) else {
            continue;
        };
        let month = observance_month(obs);
        match obs.component_type {
            ICalendarComponentType::Standard => standard = Some((offset, month)),
            ICalendarComponentType::Daylight => daylight = Some((offset, month)),
            _ => {}
        }
    }
    let (std_offset, std_month) = standard.or(daylight)?;
    let Some((dst_offset, dst_month)) = daylight.filter(|(o, _)| *o != std_offset) else {
        return FixedOffset::east_opt(std_offset).map(Zone::from_offset);
    };
    let (std_month, dst_month) = (std_month?, dst_month?);
    if std_month == dst_month || !(1..=12).contains(&std_month) || !(1..=12).contains(&dst_month) {
        return None;
    }
    // Months strictly after the switch to daylight time and before the switch back are daylight;
    // the switch months themselves are not checked (the day within them varies).
    let expected = |m: u32| -> Option<i32> {
        let after = |from: u32, m: u32| (m + 12 - from) % 12;
        let (to_dst, to_std) = (after(dst_month, m), after(std_month, m));
        if to_dst == 0 || to_std == 0 {
            None
        } else if to_dst < after(dst_month, std_month) {
            Some(dst_offset)
        } else {
            Some(std_offset)
        }
    };
    let matches = |candidate: &chrono_tz::Tz| {
        (1..=12u32).all(|m| match expected(m) {
            None => true,
            Some(want) => NaiveDate::from_ymd_opt(year, m, 15)
                .and_then(|d| d.and_hms_opt(12, 0, 0))
                .map(|t| {
                    candidate
                        .offset_from_utc_datetime(&t)
                        .fix()
                        .local_minus_utc()
                        == want
                })
                .unwrap_or(false),
        })
    };
    PREFERRED_ZONES
        .iter()
        .chain(chrono_tz::TZ_VARIANTS.iter())
        .find(|c| matches(c))
        .map(|tz| Zone::Iana(*tz))
}

fn observance_offset(obs: &ICalendarComponent) -> Option<i32> {
    let value = obs
        .property(&ICalendarProperty::Tzoffsetto)?
        .values
        .first()?;
    let p = value.as_partial_date_time()?;
    let secs = i32::from(p.tz_hour?) * 3600 + i32::from(p.tz_minute.unwrap_or(0)) * 60;
    Some(if p.tz_minus { -secs } else { secs })
}

fn observance_month(obs: &ICalendarComponent) -> Option<u32> {
    let from_rule = obs
        .property(&ICalendarProperty::Rrule)
        .and_then(|e| e.values.first())
        .and_then(|v| match v {
            ICalendarValue::RecurrenceRule(r) => r.bymonth.first().map(|m| u32::from(m.month())),
            _ => None,
        });
    from_rule.or_else(|| {
        obs.property(&ICalendarProperty::Dtstart)
            .and_then(|e| e.values.first())
            .and_then(|v| v.as_partial_date_time())
            .and_then(|p| p.month)
            .map(u32::from)
    })
}

// ---------------------------------------------------------------------------------------------
// One VEVENT

/// A point in time as written: wall-clock time plus the zone it is in.
#[derive(Debug, Clone, Copy)]
struct When {
    local: NaiveDateTime,
    zone: Zone,
    all_day: bool,
}

impl When {
    fn utc(&self) -> Option<DateTime<Utc>> {
        self.zone.to_utc(self.local)
    }
}

/// How long an occurrence lasts.
#[derive(Debug, Clone, Copy)]
enum Span {
    Exact(TimeDelta),
    /// Whole days, for all-day events: ends at local midnight, whatever DST does in between.
    Days(i64),
}

impl Span {
    fn end(self, start: DateTime<Utc>, zone: Zone) -> Option<DateTime<Utc>> {
        match self {
            Span::Exact(d) => start.checked_add_signed(d),
            Span::Days(n) => {
                let day = zone.to_local(start).date();
                let end = day.checked_add_signed(TimeDelta::try_days(n)?)?;
                zone.to_utc(end.and_time(NaiveTime::MIN))
            }
        }
    }

    /// An upper bound of the length, to widen the window when looking for occurrences.
    fn upper_bound(self) -> TimeDelta {
        match self {
            Span::Exact(d) => d,
            Span::Days(n) => TimeDelta::try_days(n.saturating_add(1)).unwrap_or(TimeDelta::MAX),
        }
    }
}

#[derive(Debug, Clone)]
struct Event {
    uid: String,
    /// UID, or the summary when there is no UID: what warnings call this event.
    label: String,
    /// SUMMARY, or "(no title)".
    title: String,
    start: When,
    span: Span,
    rrule: Option<ICalendarRecurrenceRule>,
    /// Extra occurrences, with an explicit end for PERIOD values.
    rdates: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    exdates: HashSet<DateTime<Utc>>,
    /// EXDATEs given as dates (some producers do that for timed series): every occurrence on that
    /// local date goes.
    exdate_days: HashSet<NaiveDate>,
    /// The original start this override replaces.
    recurrence_id: Option<DateTime<Utc>>,
    sequence: i64,
    status: MeetingStatus,
    /// Shared with every meeting built from the event (a series has several in a window), as
    /// are the attendees, location and description: not copied into each.
    organizer: Option<Arc<Attendee>>,
    attendees: Arc<Vec<Attendee>>,
    location: Option<Arc<str>>,
    description: Option<Arc<str>>,
}

impl Event {
    /// Reads one VEVENT, or says (naming it) why it is skipped. `people` are its ORGANIZER and
    /// ATTENDEE lines, taken out of the text calcard saw (see [`split_people`]).
    fn read(
        comp: &ICalendarComponent,
        people: &People<'_>,
        zones: &ZoneTable,
        index: usize,
    ) -> Result<Event, String> {
        let uid = comp
            .uid()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_string);
        let summary = first_text(comp, &ICalendarProperty::Summary);
        let label = match (&uid, &summary) {
            (Some(u), _) => format!("event UID {u}"),
            (None, Some(s)) => format!("event \"{s}\" (no UID)"),
            (None, None) => format!("event #{index} (no UID, no SUMMARY)"),
        };
        let fail = |why: String| format!("{label}: {why}; skipped");

        let dtstart = comp
            .property(&ICalendarProperty::Dtstart)
            .ok_or_else(|| fail("no DTSTART".into()))?;
        let start = read_when(dtstart, zones, None).map_err(|e| fail(format!("DTSTART {e}")))?;
        start
            .utc()
            .ok_or_else(|| fail("DTSTART is out of range".into()))?;

        let span = read_span(comp, &start, zones).map_err(fail)?;

        let rrule = comp
            .property(&ICalendarProperty::Rrule)
            .map(|e| match e.values.first() {
                Some(ICalendarValue::RecurrenceRule(r)) => Ok((**r).clone()),
                _ => Err(fail("unreadable RRULE".into())),
            })
            .transpose()?;

        let mut rdates = Vec::new();
        for entry in comp.properties(&ICalendarProperty::Rdate) {
            let zone = entry_zone(entry, zones, start.zone).map_err(&fail)?;
            for value in &entry.values {
                match value {
                    ICalendarValue::PartialDateTime(p) => {
                        if let Some(t) = partial_to_when(p, zone).and_then(|w| w.utc()) {
                            rdates.push((t, None));
                        }
                    }
                    ICalendarValue::Period(ICalendarPeriod::Range { start: s, end: e }) => {
                        let s = partial_to_when(s, zone).and_then(|w| w.utc());
                        let e = partial_to_when(e, zone).and_then(|w| w.utc());
                        if let (Some(s), Some(e)) = (s, e) {
                            rdates.push((s, Some(e.max(s))));
                        }
                    }
                    ICalendarValue::Period(ICalendarPeriod::Duration { start: s, duration }) => {
                        let s = partial_to_when(s, zone).and_then(|w| w.utc());
                        if let Some(s) = s {
                            let end = duration
                                .to_time_delta()
                                .filter(|d| *d >= TimeDelta::zero())
                                .and_then(|d| s.checked_add_signed(d));
                            rdates.push((s, end));
                        }
                    }
                    _ => {}
                }
            }
        }

        let mut exdates = HashSet::new();
        let mut exdate_days = HashSet::new();
        for entry in comp.properties(&ICalendarProperty::Exdate) {
            // An EXDATE in a zone we cannot map cannot match anything; ignore it rather than
            // dropping the whole series.
            let Ok(zone) = entry_zone(entry, zones, start.zone) else {
                continue;
            };
            for value in &entry.values {
                if let ICalendarValue::PartialDateTime(p) = value
                    && let Some(w) = partial_to_when(p, zone)
                {
                    if w.all_day && !start.all_day {
                        exdate_days.insert(w.local.date());
                    } else if let Some(t) = w.utc() {
                        exdates.insert(t);
                    }
                }
            }
        }

        let recurrence_id = match comp.property(&ICalendarProperty::RecurrenceId) {
            None => None,
            Some(entry) => {
                let w = read_when(entry, zones, Some(start.zone))
                    .map_err(|e| fail(format!("RECURRENCE-ID {e}")))?;
                Some(
                    w.utc()
                        .ok_or_else(|| fail("RECURRENCE-ID is out of range".into()))?,
                )
            }
        };

        let sequence = comp
            .property(&ICalendarProperty::Sequence)
            .and_then(|e| e.values.first())
            .and_then(|v| v.as_integer())
            .unwrap_or(0);

        let status = match first_text(comp, &ICalendarProperty::Status) {
            Some(s) if s.eq_ignore_ascii_case("CANCELLED") => MeetingStatus::Cancelled,
            Some(s) if s.eq_ignore_ascii_case("TENTATIVE") => MeetingStatus::Tentative,
            _ => MeetingStatus::Confirmed,
        };

        let organizer = people
            .organizer
            .as_deref()
            .and_then(read_person_line)
            .map(|mut o| {
                // The organizer rarely carries ROLE or PARTSTAT; they run the meeting.
                o.role = Role::Chair;
                o.partstat = PartStat::Accepted;
                o
            });
        let attendees: Vec<Attendee> = people
            .attendees
            .iter()
            .filter_map(|line| read_person_line(line))
            .collect();

        Ok(Event {
            uid: uid.unwrap_or_else(|| synthetic_uid(summary.as_deref(), dtstart)),
            label,
            title: summary.as_deref().unwrap_or("(no title)").to_string(),
            start,
            span,
            rrule,
            rdates,
            exdates,
            exdate_days,
            recurrence_id,
            sequence,
            status,
            organizer: organizer.map(Arc::new),
            attendees: Arc::new(attendees),
            location: first_text(comp, &ICalendarProperty::Location).map(Arc::from),
            description: first_text(comp, &ICalendarProperty::Description).map(Arc::from),
        })
    }

    fn is_series(&self) -> bool {
        self.rrule.is_some() || !self.rdates.is_empty()
    }

    fn meeting(
        &self,
        source: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        original_start: Option<DateTime<Utc>>,
        recurring: bool,
    ) -> Meeting {
        Meeting {
            id: meeting_id(source, &self.uid, original_start),
            source: source.to_string(),
            title: self.title.clone(),
            start,
            end,
            tz: self.start.zone.name(),
            all_day: self.start.all_day,
            status: self.status,
            organizer: self.organizer.clone(),
            attendees: self.attendees.clone(),
            location: self.location.clone(),
            description: self.description.clone(),
            recurring,
        }
    }
}

/// Exactly [`MeetingId::new`], without its `format!` and strftime parsing: building the ids of
/// 20,000 occurrences that way cost a quarter of the expansion. Times it does not write as plain
/// `YYYYMMDDTHHMMSSZ` (years outside 1–9999, a leap second) go to `MeetingId::new` itself.
fn meeting_id(source: &str, uid: &str, original_start: Option<DateTime<Utc>>) -> MeetingId {
    use chrono::Timelike;
    let Some(t) =
        original_start.filter(|t| (1..=9999).contains(&t.year()) && t.nanosecond() < 1_000_000_000)
    else {
        return MeetingId::new(source, uid, original_start);
    };
    let mut id = String::with_capacity(source.len() + uid.len() + 18);
    id.push_str(source);
    id.push('/');
    id.push_str(uid);
    id.push('/');
    // The year is 1–9999 here, so `as u32` cannot wrap.
    let fields = [
        (t.year() as u32, 4),
        (t.month(), 2),
        (t.day(), 2),
        (t.hour(), 2),
        (t.minute(), 2),
        (t.second(), 2),
    ];
    for (n, (value, width)) in fields.into_iter().enumerate() {
        if n == 3 {
            id.push('T');
        }
        let mut divisor = 10u32.pow(width - 1);
        while divisor > 0 {
            // `value / divisor % 10` is a single decimal digit.
            id.push(char::from(b'0' + (value / divisor % 10) as u8));
            divisor /= 10;
        }
    }
    id.push('Z');
    MeetingId(id)
}

fn first_text(comp: &ICalendarComponent, prop: &ICalendarProperty) -> Option<String> {
    comp.property(prop)
        .and_then(|e| e.values.first())
        .and_then(|v| v.as_text())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A stable stand-in for a missing UID, so the event still gets the same id on every poll.
fn synthetic_uid(summary: Option<&str>, dtstart: &ICalendarEntry) -> String {
    let dt = format!("{:?}", dtstart.values.first());
    let hash =
        crate::model::stable_hash(summary.unwrap_or("").bytes().chain([0]).chain(dt.bytes()));
    format!("no-uid-{hash:016x}")
}

/// The zone an entry's TZID names; `default` when it has none (also for `Z` or DATE values, which
/// [`partial_to_when`] handles).
fn entry_zone(entry: &ICalendarEntry, zones: &ZoneTable, default: Zone) -> Result<Zone, String> {
    match entry.tz_id() {
        None => Ok(default),
        Some(tzid) => zones
            .resolve(tzid)
            .ok_or_else(|| format!("unknown time zone `{tzid}`")),
    }
}

/// Reads a DTSTART/DTEND/RECURRENCE-ID. Without TZID a time is floating (the machine's zone),
/// unless `floating_default` says otherwise (a RECURRENCE-ID follows its event's DTSTART).
fn read_when(
    entry: &ICalendarEntry,
    zones: &ZoneTable,
    floating_default: Option<Zone>,
) -> Result<When, String> {
    let Some(ICalendarValue::PartialDateTime(p)) = entry.values.first() else {
        return Err("is not a date or date-time".into());
    };
    let is_date = !p.has_time();
    let zone = match entry.tz_id() {
        Some(tzid) => match zones.resolve(tzid) {
            Some(z) => z,
            // A DATE value does not need its zone much; fall back like one without TZID.
            None if is_date => Zone::Utc,
            None => return Err(format!("has an unknown time zone `{tzid}`")),
        },
        None if is_date => Zone::Utc,
        None => floating_default.unwrap_or(Zone::Local),
    };
    partial_to_when(p, zone).ok_or_else(|| "is not a valid date".into())
}

/// A parsed value in `zone`; a `Z` or explicit offset wins over the zone; a DATE is midnight.
fn partial_to_when(p: &PartialDateTime, zone: Zone) -> Option<When> {
    let dt = p.to_date_time()?;
    let all_day = !p.has_time();
    let zone = match dt.offset {
        Some(o) => Zone::from_offset(o),
        None => zone,
    };
    Some(When {
        local: dt.date_time,
        zone,
        all_day,
    })
}

fn read_span(comp: &ICalendarComponent, start: &When, zones: &ZoneTable) -> Result<Span, String> {
    if let Some(entry) = comp.property(&ICalendarProperty::Dtend) {
        let end = read_when(entry, zones, Some(start.zone)).map_err(|e| format!("DTEND {e}"))?;
        if start.all_day {
            let days = (end.local.date() - start.local.date()).num_days();
            return Ok(Span::Days(days.max(1)));
        }
        let (Some(s), Some(e)) = (start.utc(), end.utc()) else {
            return Err("DTEND is out of range".into());
        };
        // An end before the start is a producer bug; keep the event as a zero-length one.
        return Ok(Span::Exact((e - s).max(TimeDelta::zero())));
    }
    if let Some(entry) = comp.property(&ICalendarProperty::Duration) {
        let delta = match entry.values.first() {
            Some(ICalendarValue::Duration(d)) => d.to_time_delta(),
            _ => None,
        }
        .ok_or_else(|| "unreadable DURATION".to_string())?
        .max(TimeDelta::zero());
        if start.all_day {
            return Ok(Span::Days(delta.num_days().max(1)));
        }
        return Ok(Span::Exact(delta));
    }
    Ok(if start.all_day {
        Span::Days(1)
    } else {
        Span::Exact(TimeDelta::zero())
    })
}

/// The ORGANIZER (the first) and ATTENDEE lines of one VEVENT, unfolded.
#[derive(Debug, Default)]
struct People<'a> {
    organizer: Option<Cow<'a, str>>,
    attendees: Vec<Cow<'a, str>>,
}

/// Takes the VEVENT's own ORGANIZER and ATTENDEE lines out of `block`; the rest goes to calcard.
/// They are about half the bytes of a typical invitation, and calcard turns every parameter of
/// them into owned values we then throw away; reading the few we need from the line directly
/// makes the whole read about a third faster. Lines of nested components (a VALARM's ATTENDEE
/// is an e-mail alarm's recipient, not a participant) stay in the text.
fn split_people(block: &str) -> (String, People<'_>) {
    let mut lean = String::with_capacity(block.len());
    let mut people = People::default();
    let mut depth = 0u32;
    let mut lines = block.split_inclusive('\n').peekable();
    let continues = |line: &&str| line.starts_with([' ', '\t']);
    while let Some(first) = lines.next() {
        let role = if depth == 1 { person_line(first) } else { None };
        if let Some((begin, _)) = marker(first) {
            depth = if begin {
                depth + 1
            } else {
                depth.saturating_sub(1)
            };
        }
        let Some(is_organizer) = role else {
            lean.push_str(first);
            while let Some(next) = lines.next_if(continues) {
                lean.push_str(next);
            }
            continue;
        };
        let head = first.trim_end_matches(['\r', '\n']);
        let mut joined: Option<String> = None;
        while let Some(next) = lines.next_if(continues) {
            let rest = next.get(1..).unwrap_or("").trim_end_matches(['\r', '\n']);
            joined
                .get_or_insert_with(|| head.to_string())
                .push_str(rest);
        }
        let line = joined.map_or(Cow::Borrowed(head), Cow::Owned);
        if !is_organizer {
            people.attendees.push(line);
        } else if people.organizer.is_none() {
            people.organizer = Some(line);
        }
    }
    (lean, people)
}

/// `Some(true)` for an ORGANIZER line, `Some(false)` for an ATTENDEE line.
fn person_line(line: &str) -> Option<bool> {
    if !matches!(line.as_bytes().first(), Some(b'A' | b'a' | b'O' | b'o')) {
        return None;
    }
    let name = line.split([';', ':']).next().unwrap_or("");
    if name.eq_ignore_ascii_case("ATTENDEE") {
        Some(false)
    } else if name.eq_ignore_ascii_case("ORGANIZER") {
        Some(true)
    } else {
        None
    }
}

/// One unfolded ORGANIZER or ATTENDEE line -> a participant (RFC 5545 §3.8.4.1 and §3.2:
/// `NAME *(";" param) ":" cal-address`, a parameter value is quoted when it holds `;:,`, and
/// RFC 6868's `^n ^' ^^` stand for a newline, a quote and a caret). `None` without an address
/// and without a name.
fn read_person_line(line: &str) -> Option<Attendee> {
    let mut cn = None;
    let mut email_param = None;
    let mut role = None;
    let mut partstat = None;
    let mut cutype = None;
    let mut rest = &line[line.find([';', ':'])?..];
    let address = loop {
        let (sep, after) = rest.split_at_checked(1)?;
        if sep == ":" {
            break after;
        }
        // `;KEY=VALUE[,VALUE…]`: the first value is the one that counts.
        let key_end = after.find(['=', ';', ':'])?;
        let key = &after[..key_end];
        let mut value_part = &after[key_end..];
        let mut first_value: Option<Cow<'_, str>> = None;
        if let Some(v) = value_part.strip_prefix('=') {
            value_part = v;
            loop {
                let (value, next) = if let Some(q) = value_part.strip_prefix('"') {
                    let close = q.find('"').unwrap_or(q.len());
                    (&q[..close], q.get(close + 1..).unwrap_or(""))
                } else {
                    let end = value_part.find([',', ';', ':']).unwrap_or(value_part.len());
                    (&value_part[..end], &value_part[end..])
                };
                if first_value.is_none() {
                    first_value = Some(decode_param(value));
                }
                value_part = next;
                match value_part.strip_prefix(',') {
                    Some(more) => value_part = more,
                    None => break,
                }
            }
        }
        rest = value_part;
        let slot = if key.eq_ignore_ascii_case("CN") {
            &mut cn
        } else if key.eq_ignore_ascii_case("EMAIL") {
            &mut email_param
        } else if key.eq_ignore_ascii_case("ROLE") {
            &mut role
        } else if key.eq_ignore_ascii_case("PARTSTAT") {
            &mut partstat
        } else if key.eq_ignore_ascii_case("CUTYPE") {
            &mut cutype
        } else {
            continue;
        };
        if slot.is_none() {
            *slot = first_value
                .map(|v| match v {
                    Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
                    Cow::Owned(o) => Cow::Owned(o.trim().to_string()),
                })
                .filter(|v| !v.is_empty());
        }
    };
    let address = strip_mailto_scheme(address.trim()).trim();
    // Some producers put `urn:uuid:…` or a bare name in the value and the address in EMAIL=.
    let email = if address.contains('@') {
        address
    } else {
        email_param
            .as_deref()
            .map(strip_mailto_scheme)
            .unwrap_or(address)
    };
    let email = email.to_ascii_lowercase();
    let name = cn
        .map(|n| n.trim_matches('"').to_string())
        .filter(|n| !n.is_empty());
    if email.is_empty() && name.is_none() {
        return None;
    }
    let upper = |v: &Option<Cow<'_, str>>| v.as_deref().map(str::to_ascii_uppercase);
    let role = match upper(&role).as_deref() {
        Some("CHAIR") => Role::Chair,
        Some("OPT-PARTICIPANT") => Role::Optional,
        Some("NON-PARTICIPANT") => Role::NonParticipant,
        _ => Role::Required,
    };
    let partstat = match upper(&partstat).as_deref() {
        Some("ACCEPTED") => PartStat::Accepted,
        Some("DECLINED") => PartStat::Declined,
        Some("TENTATIVE") => PartStat::Tentative,
        Some("DELEGATED") => PartStat::Delegated,
        _ => PartStat::NeedsAction,
    };
    let kind = match upper(&cutype).as_deref() {
        None | Some("INDIVIDUAL") => ParticipantKind::Individual,
        Some("GROUP") => ParticipantKind::Group,
        Some("RESOURCE") => ParticipantKind::Resource,
        Some("ROOM") => ParticipantKind::Room,
        Some(_) => ParticipantKind::Unknown,
    };
    Some(Attendee {
        email,
        name,
        role,
        partstat,
        kind,
        is_self: false,
    })
}

/// RFC 6868 parameter value escapes.
fn decode_param(value: &str) -> Cow<'_, str> {
    if !value.contains('^') {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '^' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some('\'') => out.push('"'),
            Some('^') => out.push('^'),
            Some(other) => {
                out.push('^');
                out.push(other);
            }
            None => out.push('^'),
        }
    }
    Cow::Owned(out)
}

// ---------------------------------------------------------------------------------------------
// Expansion

fn expand(source: &str, events: Vec<&Event>, window: Window, out: &mut Parsed) {
    // Masters by UID (a repeated UID keeps the highest SEQUENCE, then the later one), overrides by
    // (UID, original start): pairing ignores SEQUENCE on purpose (Google bumps it on overrides).
    // The maps hold indices, not events: an Event is a few hundred bytes and a hash table keeps
    // spare capacity, which in a 10,000-event export is megabytes.
    let mut masters: HashMap<&str, usize> = HashMap::new();
    let mut overrides: HashMap<(&str, DateTime<Utc>), usize> = HashMap::new();
    for (i, event) in events.iter().enumerate() {
        let slot = match event.recurrence_id {
            Some(rid) => overrides.entry((event.uid.as_str(), rid)),
            None => {
                let keep_old = masters
                    .get(event.uid.as_str())
                    .is_some_and(|&old| events[old].sequence > event.sequence);
                if !keep_old {
                    masters.insert(event.uid.as_str(), i);
                }
                continue;
            }
        };
        match slot {
            std::collections::hash_map::Entry::Occupied(mut o) => {
                if events[*o.get()].sequence <= event.sequence {
                    o.insert(i);
                }
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(i);
            }
        }
    }
    let overridden = &overrides;
    let mut planned: Vec<Planned<'_>> = Vec::new();

    for master in masters.values().map(|&i| events[i]) {
        if !master.is_series() {
            // One-off meeting: the id does not depend on its start, so moving it keeps answers.
            // (An override of a one-off, which some servers write, replaces it.)
            let replaced = master
                .start
                .utc()
                .is_some_and(|s| overridden.contains_key(&(master.uid.as_str(), s)));
            if let Some((start, end)) = one_span(master, master.start.utc())
                && !replaced
                && overlaps(window, start, end)
            {
                planned.push(Planned {
                    start,
                    end,
                    event: master,
                    original: None,
                });
            }
            continue;
        }
        for (original, explicit_end) in occurrences(master, window, &mut out.warnings) {
            if overridden.contains_key(&(master.uid.as_str(), original)) {
                continue;
            }
            let end = match explicit_end {
                Some(e) => Some(e),
                None => master.span.end(original, master.start.zone),
            };
            let Some(end) = end else { continue };
            if overlaps(window, original, end) {
                planned.push(Planned {
                    start: original,
                    end,
                    event: master,
                    original: Some(original),
                });
            }
        }
    }

    for (&(_, rid), &i) in &overrides {
        let event = &events[i];
        if let Some((start, end)) = one_span(event, event.start.utc())
            && overlaps(window, start, end)
        {
            planned.push(Planned {
                start,
                end,
                event,
                original: Some(rid),
            });
        }
    }

    // Sorting the small plan and building each Meeting once, into a vector of the exact size,
    // keeps the peak memory of a big export down (a Meeting is ~300 bytes plus its strings).
    planned.sort_unstable_by(|a, b| {
        a.start
            .cmp(&b.start)
            .then_with(|| a.event.uid.cmp(&b.event.uid))
            .then_with(|| a.original.cmp(&b.original))
    });
    out.meetings.reserve_exact(planned.len());
    for p in &planned {
        let recurring = p.original.is_some();
        out.meetings.push(
            p.event
                .meeting(source, p.start, p.end, p.original, recurring),
        );
    }
}

/// One occurrence to build.
struct Planned<'a> {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    event: &'a Event,
    original: Option<DateTime<Utc>>,
}

/// Like [`Window::overlaps`], but a zero-length meeting counts when it starts inside the window.
fn overlaps(window: Window, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    window.overlaps(start, end) || (start == end && start >= window.start && start < window.end)
}

fn one_span(event: &Event, start: Option<DateTime<Utc>>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let start = start?;
    Some((start, event.span.end(start, event.start.zone)?))
}

/// The original starts of a series that may overlap the window (DTSTART, RRULE, RDATE, minus
/// EXDATE), each with an explicit end when an RDATE PERIOD gave one.
fn occurrences(
    master: &Event,
    window: Window,
    warnings: &mut Vec<String>,
) -> Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> {
    // Capped so the arithmetic stays far from chrono's limits on absurd durations.
    let longest = master.span.upper_bound().min(TimeDelta::days(3660));
    let lo = window
        .start
        .checked_sub_signed(longest)
        .unwrap_or(window.start);
    let hi = window.end;
    let zone = master.start.zone;

    let mut starts: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = Vec::new();
    // RFC 5545: DTSTART is always the first occurrence, whether or not the rule matches it.
    if let Some(s) = master.start.utc() {
        starts.push((s, None));
    }
    if let Some(rule) = &master.rrule {
        match rule_starts(master, rule, lo, hi) {
            Ok((locals, truncated)) => {
                if truncated {
                    warnings.push(format!(
                        "{}: the recurrence has more than {MAX_OCCURRENCES_PER_SERIES} occurrences near the window; later ones are left out",
                        master.label
                    ));
                }
                starts.extend(
                    locals
                        .into_iter()
                        .filter_map(|l| zone.to_utc(l))
                        .map(|t| (t, None)),
                );
            }
            Err(why) => warnings.push(format!(
                "{}: cannot expand its RRULE ({why}); only its first occurrence counts",
                master.label
            )),
        }
    }
    starts.extend(master.rdates.iter().copied());

    starts.retain(|(s, _)| *s >= lo && *s < hi);
    starts.sort();
    starts.dedup_by_key(|(s, _)| *s);
    starts.retain(|(s, _)| {
        !master.exdates.contains(s)
            && (master.exdate_days.is_empty()
                || !master.exdate_days.contains(&zone.to_local(*s).date()))
    });
    starts
}

/// The wall-clock starts the RRULE yields in `[lo, hi)` (with a day's slack either side for zone
/// offsets), and whether the cap cut them off.
fn rule_starts(
    master: &Event,
    rule: &ICalendarRecurrenceRule,
    lo: DateTime<Utc>,
    hi: DateTime<Utc>,
) -> Result<(Vec<NaiveDateTime>, bool), String> {
    let zone = master.start.zone;
    // The conversions are exact; the slack only absorbs DST folds at the edges.
    let slack = TimeDelta::hours(3);
    let lo_local = zone
        .to_local(lo)
        .checked_sub_signed(slack)
        .unwrap_or(NaiveDateTime::MIN);
    let hi_local = zone
        .to_local(hi)
        .checked_add_signed(slack)
        .unwrap_or(NaiveDateTime::MAX);

    // UNTIL as wall-clock time in the event's zone (calcard compares floating times).
    let until_local = match &rule.until {
        None => None,
        Some(p) => {
            let dt = p.to_date_time().ok_or("UNTIL is not a valid date")?;
            Some(match (p.has_time(), dt.offset) {
                (true, Some(o)) => dt
                    .date_time
                    .and_utc()
                    .checked_sub_signed(TimeDelta::seconds(i64::from(o.local_minus_utc())))
                    .map(|u| zone.to_local(u))
                    .ok_or("UNTIL is out of range")?,
                (true, None) => dt.date_time,
                // A DATE UNTIL includes that whole day.
                (false, _) => dt
                    .date_time
                    .date()
                    .and_hms_opt(23, 59, 59)
                    .unwrap_or(dt.date_time),
            })
        }
    };
    if until_local.is_some_and(|u| u < lo_local) {
        // The series ended before the window: nothing to expand (the common case for old
        // series in big exports, so this check is worth having).
        return Ok((Vec::new(), false));
    }
    let until = until_local.map_or(hi_local, |u| u.min(hi_local));

    if let Some((locals, truncated)) = simple_rule_starts(master.start.local, rule, lo_local, until)
    {
        let locals = locals
            .into_iter()
            .filter(|l| *l >= lo_local && *l < hi_local)
            .collect();
        return Ok((locals, truncated));
    }

    let start = if rule.count.is_none() {
        skip_ahead(master.start.local, rule, lo_local)
    } else {
        master.start.local
    };
    if until < start {
        return Ok((Vec::new(), false));
    }

    if rule.count == Some(0) {
        return Ok((Vec::new(), false));
    }
    let mut floating_rule = rule.clone();
    floating_rule.until = Some(naive_to_partial(until));
    // INTERVAL=0 is invalid (RFC 5545 wants a positive integer) and sends calcard's iterator
    // into long empty searches; read it as 1, like the direct path does.
    floating_rule.interval = rule.interval.map(|i| i.max(1));
    let cal = ICalendar {
        components: vec![ICalendarComponent {
            component_type: ICalendarComponentType::VEvent,
            entries: vec![
                ICalendarEntry {
                    name: ICalendarProperty::Dtstart,
                    params: Vec::new(),
                    values: vec![ICalendarValue::PartialDateTime(Box::new(naive_to_partial(
                        start,
                    )))],
                },
                ICalendarEntry {
                    name: ICalendarProperty::Rrule,
                    params: Vec::new(),
                    values: vec![ICalendarValue::RecurrenceRule(Box::new(floating_rule))],
                },
            ],
            component_ids: Vec::new(),
        }],
    };
    let expanded = cal.expand_dates(CalTz::Floating, MAX_OCCURRENCES_PER_SERIES);
    if let Some(err) = expanded.errors.first() {
        return Err(err.error.to_string());
    }
    let truncated = expanded.events.len() >= MAX_OCCURRENCES_PER_SERIES;
    let locals = expanded
        .events
        .iter()
        .map(|e| e.start.naive_local())
        .filter(|l| *l >= lo_local && *l < hi_local)
        .collect();
    Ok((locals, truncated))
}

/// The starts of the most common rules, computed directly: DAILY or WEEKLY with INTERVAL, UNTIL,
/// WKST and plain weekdays in BYDAY, and nothing else. Calcard's general iterator builds a year
/// table per series, which for thousands of weekly series is most of the parse time. `None` for
/// any other rule (calcard then expands it). Yields wall-clock starts from `lo` to `until`,
/// never before `start`, at most [`MAX_OCCURRENCES_PER_SERIES`] (then `true`: cut off); tested
/// against calcard on random rules.
fn simple_rule_starts(
    start: NaiveDateTime,
    rule: &ICalendarRecurrenceRule,
    lo: NaiveDateTime,
    until: NaiveDateTime,
) -> Option<(Vec<NaiveDateTime>, bool)> {
    use chrono::Weekday;
    let plain = rule.count.is_none()
        && rule.bysecond.is_empty()
        && rule.byminute.is_empty()
        && rule.byhour.is_empty()
        && rule.bymonthday.is_empty()
        && rule.byyearday.is_empty()
        && rule.byweekno.is_empty()
        && rule.bymonth.is_empty()
        && rule.bysetpos.is_empty()
        && rule.rscale.is_none()
        && rule.skip.is_none()
        && rule.byday.iter().all(|d| d.ordwk.is_none());
    if !plain {
        return None;
    }
    let interval = i64::from(rule.interval.unwrap_or(1).max(1));
    let mut days: Vec<Weekday> = rule.byday.iter().map(|d| d.weekday.into()).collect();
    let time = start.time();
    let first = start.date();
    let from = lo.date().max(first);
    let mut out = Vec::new();
    let mut truncated = false;
    let mut push = |date: NaiveDate| -> bool {
        let t = date.and_time(time);
        if t > until {
            return false;
        }
        if out.len() >= MAX_OCCURRENCES_PER_SERIES {
            truncated = true;
            return false;
        }
        if t >= start && t >= lo {
            out.push(t);
        }
        true
    };
    match rule.freq {
        ICalendarFrequency::Daily => {
            let k0 = (from - first).num_days() / interval;
            // A BYDAY that never meets the interval's phase matches nothing: bound the search.
            for k in (k0..).take(8 * MAX_OCCURRENCES_PER_SERIES) {
                let date =
                    first.checked_add_signed(TimeDelta::try_days(k.checked_mul(interval)?)?)?;
                if !days.is_empty() && !days.contains(&date.weekday()) {
                    if date.and_time(time) > until {
                        break;
                    }
                } else if !push(date) {
                    break;
                }
            }
        }
        ICalendarFrequency::Weekly => {
            if days.is_empty() {
                days.push(first.weekday());
            }
            let wkst = rule.wkst.map_or(Weekday::Mon, Into::into);
            let offset = |d: Weekday| {
                i64::from((d.num_days_from_monday() + 7 - wkst.num_days_from_monday()) % 7)
            };
            days.sort_by_key(|d| offset(*d));
            days.dedup();
            let week0 = first.checked_sub_signed(TimeDelta::try_days(offset(first.weekday()))?)?;
            let period = 7 * interval;
            let mut k = (from - week0).num_days() / period;
            'weeks: loop {
                let week =
                    week0.checked_add_signed(TimeDelta::try_days(k.checked_mul(period)?)?)?;
                for d in &days {
                    let date = week.checked_add_signed(TimeDelta::try_days(offset(*d))?)?;
                    if !push(date) {
                        break 'weeks;
                    }
                }
                k += 1;
            }
        }
        _ => return None,
    }
    Some((out, truncated))
}

/// Moves a series' DTSTART forward by whole recurrence periods to shortly before `lo`, so the
/// expansion does not walk through years of past occurrences. Only for rules without COUNT (a
/// COUNT needs every occurrence from the real start) and only where whole periods keep the rule's
/// phase: any sub-monthly frequency, and monthly/yearly when the day exists in every month.
fn skip_ahead(
    start: NaiveDateTime,
    rule: &ICalendarRecurrenceRule,
    lo: NaiveDateTime,
) -> NaiveDateTime {
    if lo <= start {
        return start;
    }
    let interval = i64::from(rule.interval.unwrap_or(1).max(1));
    let unit = match rule.freq {
        ICalendarFrequency::Secondly => Some(1),
        ICalendarFrequency::Minutely => Some(60),
        ICalendarFrequency::Hourly => Some(3600),
        ICalendarFrequency::Daily => Some(86_400),
        ICalendarFrequency::Weekly => Some(7 * 86_400),
        ICalendarFrequency::Monthly | ICalendarFrequency::Yearly => None,
    };
    match unit {
        Some(unit) => {
            let period = unit * interval;
            let periods = (lo - start).num_seconds() / period - 1;
            if periods <= 0 {
                return start;
            }
            periods
                .checked_mul(period)
                .and_then(TimeDelta::try_seconds)
                .and_then(|d| start.checked_add_signed(d))
                .unwrap_or(start)
        }
        None => {
            if start.day() > 28 {
                return start;
            }
            let months_per = if rule.freq == ICalendarFrequency::Yearly {
                12 * interval
            } else {
                interval
            };
            let months = i64::from(lo.year() - start.year()) * 12 + i64::from(lo.month())
                - i64::from(start.month());
            let periods = months / months_per - 1;
            if periods <= 0 {
                return start;
            }
            u32::try_from(periods * months_per)
                .ok()
                .and_then(|m| start.checked_add_months(Months::new(m)))
                .unwrap_or(start)
        }
    }
}

fn naive_to_partial(t: NaiveDateTime) -> PartialDateTime {
    use chrono::Timelike;
    // Years outside 0..=9999 cannot be written in iCalendar; clamp (callers only pass window
    // bounds and real DTSTARTs, which are in range).
    let year = u16::try_from(t.year().clamp(0, 9999)).unwrap_or(9999);
    PartialDateTime {
        year: Some(year),
        month: Some(t.month() as u8),
        day: Some(t.day() as u8),
        hour: Some(t.hour() as u8),
        minute: Some(t.minute() as u8),
        second: Some(t.second().min(59) as u8),
        tz_hour: None,
        tz_minute: None,
        tz_minus: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    /// December 2026, the month the fixtures are written around.
    fn december() -> Window {
        Window {
            start: utc(2026, 12, 1, 0, 0),
            end: utc(2027, 1, 1, 0, 0),
        }
    }

    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn lines_keep_their_endings_and_offsets_and_the_last_may_lack_one() {
        let got: Vec<(usize, &str)> = lines("A\r\nB\n\nC").collect();
        assert_eq!(got, [(0, "A\r\n"), (3, "B\n"), (5, "\n"), (6, "C")]);
        assert_eq!(lines("").count(), 0);
        assert_eq!(lines("x\n").collect::<Vec<_>>(), [(0, "x\n")]);
    }

    /// Every real-world export in tests/fixtures.
    fn all_fixtures() -> Vec<String> {
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

    /// The participant reading this module had before [`read_person_line`]: through calcard's
    /// full parse of the property. Kept as the oracle the fast reader must agree with.
    fn calcard_person(entry: &ICalendarEntry) -> Option<Attendee> {
        use calcard::icalendar::ICalendarParameterName as P;
        let param = |name: P| {
            entry
                .parameter(&name)
                .and_then(|v| v.as_text())
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let address = entry.calendar_address().map(str::trim).unwrap_or("");
        let email = if address.contains('@') {
            address
        } else {
            param(P::Email).map(strip_mailto_scheme).unwrap_or(address)
        };
        // calcard leaves RFC 6868's caret escapes in place; the fast reader decodes them.
        let name = param(P::Cn)
            .map(|n| decode_param(n.trim_matches('"')).into_owned())
            .filter(|n| !n.is_empty());
        if email.is_empty() && name.is_none() {
            return None;
        }
        let line = format!(
            "ATTENDEE;ROLE={};PARTSTAT={};CUTYPE={}:x",
            param(P::Role).unwrap_or(""),
            param(P::Partstat).unwrap_or(""),
            param(P::Cutype).unwrap_or("INDIVIDUAL"),
        );
        let mut parsed = read_person_line(&line)?;
        parsed.email = email.to_ascii_lowercase();
        parsed.name = name;
        Some(parsed)
    }

    /// Odd but legal participant lines in one calendar.
    const ODD_PEOPLE: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:odd-1\r\n\
DTSTART:20261201T100000Z\r\n\
organizer;cn=\"Smith; Jane: CEO\":MAILTO:Jane@Acme.COM\r\n\
ORGANIZER;CN=Second:mailto:second@acme.com\r\n\
ATTENDEE;CN=\"Bob ^'The Builder^' ^^ ^nNext\";PARTSTAT=accepted;ROLE=opt-participant:mailto:bob@b.example\r\n\
ATTENDEE;DELEGATED-TO=\"mailto:x@y.example\",\"mailto:z@y.example\";CN=Delegator;PARTSTAT=DELEGATED:mailto:d@b.example\r\n\
ATTENDEE;CUTYPE=ROOM;CN=Room 4.01:mailto:room401@resource.calendar.google.com\r\n\
ATTENDEE;CUTYPE=X-ROBOT;CN=Bot:mailto:bot@b.example\r\n\
ATTENDEE;EMAIL=carol@c.example;CN=Carol:urn:uuid:00000000-1111-2222-3333-444444444444\r\n\
ATTENDEE;CN=Fo\r\n lded Name;PARTSTAT=TENT\r\n\tATIVE:mailto:fol\r\n ded@f.example\r\n\
ATTENDEE;CN=Name Only:\r\n\
ATTENDEE:mailto:bare@e.example\r\n\
ATTENDEE;RSVP=TRUE;X-NUM-GUESTS=0:mailto:rsvp@e.example\r\n\
BEGIN:VALARM\r\nACTION:EMAIL\r\nATTENDEE:mailto:alarm@e.example\r\nEND:VALARM\r\n\
END:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn the_fast_participant_reader_agrees_with_calcard_on_every_fixture_and_odd_line() {
        let mut texts = all_fixtures();
        texts.push(ODD_PEOPLE.to_string());
        let mut compared = 0;
        for text in &texts {
            for cal in split_calendars(text) {
                for block in cal.events {
                    let Entry::ICalendar(ical) = Parser::new(block).entry() else {
                        continue;
                    };
                    let Some(comp) = ical.components.first() else {
                        continue;
                    };
                    let (lean, people) = split_people(block);
                    let want_org = comp
                        .property(&ICalendarProperty::Organizer)
                        .and_then(calcard_person);
                    let got_org = people.organizer.as_deref().and_then(read_person_line);
                    assert_eq!(got_org, want_org, "ORGANIZER in {block}");
                    let want: Vec<_> = comp
                        .properties(&ICalendarProperty::Attendee)
                        .filter_map(calcard_person)
                        .collect();
                    let got: Vec<_> = people
                        .attendees
                        .iter()
                        .filter_map(|l| read_person_line(l))
                        .collect();
                    assert_eq!(got, want, "ATTENDEEs in {block}");
                    compared += want.len() + usize::from(want_org.is_some());
                    // Nothing else of the event is lost on the way to calcard.
                    let Entry::ICalendar(lean_ical) = Parser::new(&lean).entry() else {
                        panic!("the lean text no longer parses: {lean}");
                    };
                    let lean_comp = &lean_ical.components[0];
                    assert!(lean_comp.property(&ICalendarProperty::Attendee).is_none());
                    assert_eq!(
                        lean_comp.entries.len()
                            + people.attendees.len()
                            + usize::from(people.organizer.is_some()),
                        comp.entries.len()
                            - comp
                                .properties(&ICalendarProperty::Organizer)
                                .count()
                                .saturating_sub(1),
                        "{block}"
                    );
                }
            }
        }
        assert!(compared > 40, "only {compared} participants compared");
    }

    #[test]
    fn a_broken_participant_line_is_dropped_and_the_event_kept() {
        let text = ODD_PEOPLE.replace(
            "ATTENDEE:mailto:bare@e.example\r\n",
            "ATTENDEE;CN=\"Unclosed:mailto:broken@e.example\r\nATTENDEE\r\n",
        );
        let (_, people) = split_people(split_calendars(&text)[0].events[0]);
        let all: Vec<Attendee> = people
            .attendees
            .iter()
            .filter_map(|l| read_person_line(l))
            .collect();
        assert_eq!(all.len(), 8, "{all:?}");
        assert!(all.iter().all(|a| !a.email.contains("broken")), "{all:?}");
        let parsed = parse_calendar("t", &text, december()).unwrap();
        assert_eq!(parsed.meetings.len(), 1, "{:?}", parsed.warnings);
    }

    #[test]
    fn odd_participant_lines_read_as_a_person_would() {
        let (_, people) = split_people(split_calendars(ODD_PEOPLE)[0].events[0]);
        let org = read_person_line(people.organizer.as_deref().unwrap()).unwrap();
        assert_eq!(
            (org.email.as_str(), org.name.as_deref()),
            ("jane@acme.com", Some("Smith; Jane: CEO"))
        );
        let all: Vec<Attendee> = people
            .attendees
            .iter()
            .filter_map(|l| read_person_line(l))
            .collect();
        let by = |email: &str| {
            all.iter()
                .find(|a| a.email == email)
                .unwrap_or_else(|| panic!("{email} in {all:?}"))
        };
        assert_eq!(
            by("bob@b.example").name.as_deref(),
            Some("Bob \"The Builder\" ^ \nNext")
        );
        assert_eq!(by("bob@b.example").partstat, PartStat::Accepted);
        assert_eq!(by("bob@b.example").role, Role::Optional);
        assert_eq!(by("d@b.example").partstat, PartStat::Delegated);
        assert_eq!(
            by("room401@resource.calendar.google.com").kind,
            ParticipantKind::Room
        );
        assert_eq!(by("bot@b.example").kind, ParticipantKind::Unknown);
        assert_eq!(by("carol@c.example").name.as_deref(), Some("Carol"));
        assert_eq!(by("folded@f.example").partstat, PartStat::Tentative);
        assert_eq!(by("folded@f.example").name.as_deref(), Some("Folded Name"));
        assert!(
            all.iter()
                .any(|a| a.email.is_empty() && a.name.as_deref() == Some("Name Only"))
        );
        assert_eq!(by("rsvp@e.example").partstat, PartStat::NeedsAction);
        assert!(
            all.iter().all(|a| a.email != "alarm@e.example"),
            "a VALARM's recipient is no participant"
        );
        assert_eq!(all.len(), 9, "{all:?}");
    }

    fn parse(name: &str) -> Parsed {
        parse_calendar("cal", &fixture(name), december()).unwrap()
    }

    fn by_title<'a>(p: &'a Parsed, title: &str) -> Vec<&'a Meeting> {
        p.meetings.iter().filter(|m| m.title == title).collect()
    }

    fn ids(ms: &[&Meeting]) -> Vec<String> {
        ms.iter().map(|m| m.id.to_string()).collect()
    }

    /// A minimal calendar around some VEVENT lines, LF endings.
    fn calendar(body: &str) -> String {
        format!("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{body}\nEND:VCALENDAR\n")
    }

    const GOOGLE_SERIES: &str = "cal/7kukuqrfedlm2f9t2a4b5k3u0e@google.com";

    #[test]
    fn the_fast_meeting_id_is_exactly_the_models_id() {
        let leap = NaiveDate::from_ymd_opt(2026, 6, 30)
            .and_then(|d| d.and_hms_milli_opt(23, 59, 59, 1_500))
            .map(|t| t.and_utc());
        let times = [
            None,
            Some(utc(2026, 12, 7, 9, 30)),
            Some(utc(2026, 1, 1, 0, 0)),
            Utc.with_ymd_and_hms(5, 3, 4, 5, 6, 7).single(),
            Utc.with_ymd_and_hms(999, 12, 31, 23, 59, 58).single(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).single(),
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).single(),
            Utc.with_ymd_and_hms(-44, 3, 15, 12, 0, 0).single(),
            Utc.with_ymd_and_hms(12345, 1, 1, 0, 0, 0).single(),
            leap,
        ];
        for t in times {
            assert_eq!(
                meeting_id("work", "uid-1@example.com", t),
                MeetingId::new("work", "uid-1@example.com", t),
                "{t:?}"
            );
        }
    }

    #[test]
    fn a_weekly_series_started_last_year_yields_this_months_occurrences_without_its_exdate() {
        let p = parse("google.ics");
        let series: Vec<_> = p
            .meetings
            .iter()
            .filter(|m| m.id.series() == GOOGLE_SERIES)
            .collect();
        // Mondays in December 2026: 7 (EXDATE), 14 (moved), 21 (cancelled), 28.
        assert_eq!(
            ids(&series),
            [
                format!("{GOOGLE_SERIES}/20261214T090000Z"),
                format!("{GOOGLE_SERIES}/20261221T090000Z"),
                format!("{GOOGLE_SERIES}/20261228T090000Z"),
            ]
        );
        let last = series[2];
        assert_eq!(
            last.start,
            utc(2026, 12, 28, 9, 0),
            "10:00 Berlin is 09:00 UTC in winter"
        );
        assert_eq!(last.end, utc(2026, 12, 28, 10, 0));
        assert!(last.recurring);
        assert_eq!(last.tz.as_deref(), Some("Europe/Berlin"));
        assert_eq!(last.organizer.as_ref().unwrap().email, "alex@mycorp.com");
    }

    #[test]
    fn a_google_override_with_a_newer_sequence_replaces_its_slot_and_keeps_its_id() {
        let p = parse("google.ics");
        let moved: Vec<_> = p
            .meetings
            .iter()
            .filter(|m| m.id.as_str() == format!("{GOOGLE_SERIES}/20261214T090000Z"))
            .collect();
        assert_eq!(
            moved.len(),
            1,
            "the override must not duplicate the series slot"
        );
        assert_eq!(moved[0].title, "Acme weekly sync (moved to Tuesday)");
        assert_eq!(moved[0].start, utc(2026, 12, 15, 13, 0));
        assert!(
            !p.meetings
                .iter()
                .any(|m| m.start == utc(2026, 12, 14, 9, 0)),
            "the original Monday slot is gone"
        );
    }

    #[test]
    fn a_cancelled_override_is_kept_as_a_cancelled_occurrence() {
        let p = parse("google.ics");
        let m = p
            .meetings
            .iter()
            .find(|m| m.id.as_str() == format!("{GOOGLE_SERIES}/20261221T090000Z"))
            .unwrap();
        assert_eq!(m.status, MeetingStatus::Cancelled);
        assert_eq!(
            p.meetings.iter().filter(|x| x.start == m.start).count(),
            1,
            "no confirmed copy from the series"
        );
    }

    #[test]
    fn attendees_keep_their_kind_role_and_answer_with_lower_cased_addresses() {
        let p = parse("google.ics");
        let m = &by_title(&p, "Acme renewal pricing")[0];
        assert_eq!(
            m.id.as_str(),
            "cal/040000008200E00074C5B7101A82E00800000000B0B4@google.com/single"
        );
        assert!(!m.recurring);
        let got: Vec<_> = m
            .attendees
            .iter()
            .map(|a| (a.email.as_str(), a.kind, a.role, a.partstat))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "alex@mycorp.com",
                    ParticipantKind::Individual,
                    Role::Required,
                    PartStat::NeedsAction
                ),
                (
                    "bob@acme.com",
                    ParticipantKind::Individual,
                    Role::Optional,
                    PartStat::Tentative
                ),
                (
                    "c_1888abcdef@resource.calendar.google.com",
                    ParticipantKind::Room,
                    Role::NonParticipant,
                    PartStat::Accepted
                ),
                (
                    "c_projector@resource.calendar.google.com",
                    ParticipantKind::Resource,
                    Role::NonParticipant,
                    PartStat::Accepted
                ),
                (
                    "sales-team@mycorp.com",
                    ParticipantKind::Group,
                    Role::Required,
                    PartStat::Declined
                ),
            ]
        );
        assert_eq!(m.attendees[1].name.as_deref(), Some("Bob Buyer"));
        assert_eq!(m.organizer.as_ref().unwrap().email, "jane.doe@acme.com");
        assert_eq!(
            m.location.as_deref(),
            Some("Berlin-3-Alexanderplatz (8) [Beamer]")
        );
        // The description was folded over two lines in the file.
        assert!(
            m.description
                .as_deref()
                .unwrap()
                .ends_with("usage numbers from Q3 and Q4.")
        );

        let series = p
            .meetings
            .iter()
            .find(|m| m.id.as_str() == format!("{GOOGLE_SERIES}/20261228T090000Z"))
            .unwrap();
        assert_eq!(
            series.attendees[0].email, "jane.doe@acme.com",
            "mailto: stripped, lower-cased"
        );
    }

    #[test]
    fn an_all_day_event_covers_its_whole_utc_days() {
        let p = parse("google.ics");
        let m = &by_title(&p, "Office closed")[0];
        assert!(m.all_day);
        assert_eq!(
            (m.start, m.end),
            (utc(2026, 12, 24, 0, 0), utc(2026, 12, 25, 0, 0))
        );

        let p = parse("icloud.ics");
        let m = &by_title(&p, "Offsite")[0];
        assert!(m.all_day);
        assert_eq!(
            (m.start, m.end),
            (utc(2026, 12, 28, 0, 0), utc(2026, 12, 31, 0, 0))
        );
    }

    #[test]
    fn an_event_that_began_before_the_window_and_overlaps_it_counts_and_an_older_one_does_not() {
        let p = parse("google.ics");
        let m = &by_title(&p, "Late-night call with Sydney")[0];
        assert_eq!(m.start, utc(2026, 11, 30, 23, 0));
        assert_eq!(m.status, MeetingStatus::Tentative);
        assert!(by_title(&p, "Last month's call").is_empty());
    }

    #[test]
    fn todos_and_journals_are_not_meetings() {
        assert!(by_title(&parse("google.ics"), "Not a meeting").is_empty());
        assert!(by_title(&parse("fastmail.ics"), "A journal entry, not a meeting").is_empty());
    }

    #[test]
    fn outlook_windows_zone_names_and_a_customized_vtimezone_are_mapped() {
        let p = parse("outlook.ics");
        let globex = by_title(&p, "Globex standing call");
        // Tuesdays 09:00 Pacific (17:00 UTC in winter); the 15th moved to Wednesday 13:00.
        let starts: Vec<_> = globex.iter().map(|m| m.start).collect();
        assert_eq!(
            starts,
            [
                utc(2026, 12, 1, 17, 0),
                utc(2026, 12, 8, 17, 0),
                utc(2026, 12, 16, 21, 0),
                utc(2026, 12, 22, 17, 0),
                utc(2026, 12, 29, 17, 0),
            ]
        );
        assert!(globex[2].id.as_str().ends_with("/20261215T170000Z"));
        assert_eq!(globex[0].tz.as_deref(), Some("America/Los_Angeles"));
        assert_eq!(globex[0].attendees[0].email, "pat@globex.example");

        let custom = &by_title(&p, "Initech Workshop (Berlin)")[0];
        assert_eq!(
            custom.start,
            utc(2026, 12, 8, 14, 0),
            "15:00 with Berlin rules"
        );
        assert_eq!(custom.end, utc(2026, 12, 8, 15, 30));

        let bare = &by_title(&p, "Hooli follow-up (zone without VTIMEZONE)")[0];
        assert_eq!(bare.start, utc(2026, 12, 9, 9, 0));
    }

    #[test]
    fn an_event_in_an_unknown_zone_is_skipped_with_a_warning_naming_its_uid() {
        let p = parse("outlook.ics");
        assert!(by_title(&p, "Call in an unknown zone").is_empty());
        assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
        assert!(p.warnings[0].contains("DEADBEEF"), "{}", p.warnings[0]);
        assert!(
            p.warnings[0].contains("Olympus Mons Standard Time"),
            "{}",
            p.warnings[0]
        );
    }

    #[test]
    fn an_rdate_adds_an_occurrence_to_a_monthly_series_from_2023() {
        let p = parse("icloud.ics");
        let review = by_title(&p, "Umbrella Corp account review");
        let starts: Vec<_> = review.iter().map(|m| m.start).collect();
        // Second Tuesday of December (the 8th) and the extra date, both 10:00 New York.
        assert_eq!(starts, [utc(2026, 12, 8, 15, 0), utc(2026, 12, 17, 15, 0)]);
        assert!(review[1].id.as_str().ends_with("/20261217T150000Z"));
        assert_eq!(review[0].attendees[0].email, "ada@umbrella.example");
        assert_eq!(review[0].attendees[1].role, Role::Chair);
    }

    #[test]
    fn duration_stands_in_for_dtend_and_no_dtend_means_zero_length() {
        let p = parse("icloud.ics");
        let m = &by_title(&p, "Quick sync with Vandelay")[0];
        assert_eq!(
            (m.start, m.end),
            (utc(2026, 12, 2, 18, 30), utc(2026, 12, 2, 19, 15))
        );

        let p = parse("fastmail.ics");
        let m = &by_title(&p, "Reminder-style entry without DTEND")[0];
        assert_eq!(
            (m.start, m.end),
            (utc(2026, 12, 14, 16, 0), utc(2026, 12, 14, 16, 0))
        );
    }

    #[test]
    fn a_daily_series_with_count_stops_after_its_count_and_an_override_with_equal_sequence_replaces_its_slot()
     {
        let p = parse("fastmail.ics");
        let standups: Vec<_> = p
            .meetings
            .iter()
            .filter(|m| m.title.starts_with("Stand-up"))
            .collect();
        // COUNT=10 weekdays from Monday 30 November: 9 of them in December, the last on the 11th.
        assert_eq!(standups.len(), 9);
        assert_eq!(standups.last().unwrap().start, utc(2026, 12, 11, 8, 30));
        let moved = standups
            .iter()
            .find(|m| m.title.ends_with("(long one)"))
            .unwrap();
        assert!(moved.id.as_str().ends_with("/20261203T083000Z"));
        assert_eq!(
            (moved.start, moved.end),
            (utc(2026, 12, 3, 9, 30), utc(2026, 12, 3, 10, 0))
        );
    }

    #[test]
    fn floating_times_are_read_in_the_machines_zone() {
        let p = parse("icloud.ics");
        let m = &by_title(&p, "Floating-time breakfast")[0];
        let naive = NaiveDate::from_ymd_opt(2026, 12, 11)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap();
        let expected = chrono::Local
            .from_local_datetime(&naive)
            .earliest()
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(m.start, expected);
        assert_eq!(m.tz, None);
    }

    #[test]
    fn a_byte_order_mark_and_either_line_ending_parse_the_same() {
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
        ] {
            assert_eq!(
                parse_calendar("cal", &variant, december()).unwrap(),
                expected
            );
        }
    }

    #[test]
    fn a_damaged_file_keeps_its_good_event_and_names_each_broken_one() {
        let p = parse("messy.ics");
        assert_eq!(p.meetings.len(), 1);
        let good = &p.meetings[0];
        assert_eq!(good.title, "Still counts: Soylent Corp kickoff");
        assert_eq!(good.start, utc(2026, 12, 6, 9, 0));
        assert_eq!(good.attendees[0].email, "sol@soylent.example");
        assert_eq!(good.attendees[0].partstat, PartStat::Accepted);
        assert_eq!(p.warnings.len(), 3, "{:?}", p.warnings);
        for (w, uid) in p
            .warnings
            .iter()
            .zip(["no-start@", "bad-date@", "bad-zone@"])
        {
            assert!(w.contains(uid) && w.ends_with("skipped"), "{w}");
        }
    }

    #[test]
    fn an_event_without_uid_is_named_by_its_summary_and_gets_a_stable_id() {
        let text = calendar(
            "BEGIN:VEVENT\nSUMMARY:Anonymous\nDTSTART:20261202T100000Z\nDTEND:20261202T110000Z\nEND:VEVENT\n\
             BEGIN:VEVENT\nSUMMARY:Broken anonymous\nEND:VEVENT",
        );
        let a = parse_calendar("cal", &text, december()).unwrap();
        let b = parse_calendar("cal", &text, december()).unwrap();
        assert_eq!(a.meetings.len(), 1);
        assert!(a.meetings[0].id.as_str().starts_with("cal/no-uid-"));
        assert_eq!(a.meetings[0].id, b.meetings[0].id);
        assert_eq!(
            a.warnings,
            ["event \"Broken anonymous\" (no UID): no DTSTART; skipped"]
        );
    }

    #[test]
    fn text_without_a_vcalendar_is_not_icalendar() {
        for text in [
            "",
            "   \n",
            "<!DOCTYPE html><html><body>Sign in</body></html>",
            "{\"error\": \"not found\"}",
            "BEGIN:VEVENT\nUID:x\nDTSTART:20261202T100000Z\nEND:VEVENT\n",
        ] {
            let err = parse_calendar("cal", text, december()).unwrap_err();
            assert!(
                err.to_string().starts_with("not an iCalendar file"),
                "{err}"
            );
        }
        let err = parse_calendar("cal", "<html>secret-token-123</html>", december()).unwrap_err();
        assert!(err.to_string().contains("HTML"), "{err}");
        assert!(
            !err.to_string().contains("secret-token"),
            "the body is not quoted: {err}"
        );
    }

    #[test]
    fn an_empty_calendar_has_no_meetings_and_no_warnings() {
        let p = parse_calendar("cal", &calendar(""), december()).unwrap();
        assert_eq!(p, Parsed::default());
    }

    #[test]
    fn a_daily_series_from_2010_with_an_interval_keeps_its_phase_in_the_window() {
        let text = calendar(
            "BEGIN:VEVENT\nUID:every-third-day\nDTSTART;TZID=Europe/Berlin:20100101T080000\n\
             DTEND;TZID=Europe/Berlin:20100101T081500\nRRULE:FREQ=DAILY;INTERVAL=3\nEND:VEVENT",
        );
        let p = parse_calendar("cal", &text, december()).unwrap();
        let first = NaiveDate::from_ymd_opt(2010, 1, 1).unwrap();
        let expected: Vec<_> = (1..=31)
            .map(|d| NaiveDate::from_ymd_opt(2026, 12, d).unwrap())
            .filter(|d| (*d - first).num_days() % 3 == 0)
            .map(|d| Utc.from_utc_datetime(&d.and_hms_opt(7, 0, 0).unwrap()))
            .collect();
        let got: Vec<_> = p.meetings.iter().map(|m| m.start).collect();
        assert_eq!(got, expected);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    #[test]
    fn a_summer_started_weekly_series_keeps_its_wall_clock_time_in_winter() {
        let text = calendar(
            "BEGIN:VEVENT\nUID:summer\nDTSTART;TZID=Europe/Berlin:20180702T100000\n\
             DURATION:PT1H\nRRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH\nEND:VEVENT",
        );
        let p = parse_calendar("cal", &text, december()).unwrap();
        assert!(!p.meetings.is_empty());
        for m in &p.meetings {
            assert_eq!(m.tz.as_deref(), Some("Europe/Berlin"));
            assert_eq!(m.start.format("%H:%M").to_string(), "09:00", "{}", m.start);
            assert_eq!(m.end - m.start, TimeDelta::hours(1));
        }
        // Every other week from 2 July 2018: the weeks of 7 and 21 December 2026 are "on".
        let days: Vec<_> = p.meetings.iter().map(|m| m.start.day()).collect();
        assert_eq!(days, [7, 10, 21, 24]);
    }

    #[test]
    fn a_monthly_series_on_the_last_day_and_a_yearly_one_still_reach_the_window() {
        let text = calendar(
            "BEGIN:VEVENT\nUID:month-end\nDTSTART:20150131T160000Z\nDTEND:20150131T170000Z\n\
             RRULE:FREQ=MONTHLY;BYMONTHDAY=-1\nEND:VEVENT\n\
             BEGIN:VEVENT\nUID:yearly\nDTSTART:19990315T100000Z\nDTEND:19990315T110000Z\n\
             RRULE:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=15\nEND:VEVENT",
        );
        let p = parse_calendar("cal", &text, december()).unwrap();
        let got: Vec<_> = p
            .meetings
            .iter()
            .map(|m| (m.id.to_string(), m.start))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "cal/yearly/20261215T100000Z".to_string(),
                    utc(2026, 12, 15, 10, 0)
                ),
                (
                    "cal/month-end/20261231T160000Z".to_string(),
                    utc(2026, 12, 31, 16, 0)
                ),
            ]
        );
    }

    #[test]
    fn a_series_that_ended_before_the_window_yields_nothing() {
        let text = calendar(
            "BEGIN:VEVENT\nUID:old\nDTSTART;TZID=Europe/Berlin:20200106T100000\nDURATION:PT1H\n\
             RRULE:FREQ=WEEKLY;UNTIL=20211231T235959Z\nEND:VEVENT",
        );
        let p = parse_calendar("cal", &text, december()).unwrap();
        assert_eq!(p, Parsed::default());
    }

    #[test]
    fn dense_rules_from_years_ago_are_bounded_and_say_so() {
        let day = Window {
            start: utc(2026, 12, 2, 0, 0),
            end: utc(2026, 12, 3, 0, 0),
        };
        let text = calendar(
            "BEGIN:VEVENT\nUID:minutely\nDTSTART:20150101T000000Z\nDURATION:PT1M\n\
             RRULE:FREQ=MINUTELY\nEND:VEVENT",
        );
        let p = parse_calendar("cal", &text, day).unwrap();
        assert_eq!(
            p.meetings.len(),
            24 * 60,
            "skipping ahead reaches the window exactly"
        );
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);

        let text = calendar(
            "BEGIN:VEVENT\nUID:secondly\nDTSTART:20200101T000000Z\nRRULE:FREQ=SECONDLY\nEND:VEVENT\n\
             BEGIN:VEVENT\nUID:counted\nDTSTART:20200101T000000Z\nRRULE:FREQ=SECONDLY;COUNT=999999999\nEND:VEVENT",
        );
        let p = parse_calendar("cal", &text, december()).unwrap();
        let secondly = p
            .meetings
            .iter()
            .filter(|m| m.id.series() == "cal/secondly")
            .count();
        assert!(
            secondly > 0 && secondly <= MAX_OCCURRENCES_PER_SERIES,
            "{secondly}"
        );
        assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
        assert!(
            p.warnings.iter().all(|w| w.contains("more than")),
            "{:?}",
            p.warnings
        );
    }

    #[test]
    fn an_invalid_rrule_keeps_the_first_occurrence_and_warns() {
        let text = calendar(
            "BEGIN:VEVENT\nUID:odd-rule\nDTSTART:20261202T100000Z\nDURATION:PT1H\n\
             RRULE:FREQ=MONTHLY;BYMONTHDAY=40\nEND:VEVENT",
        );
        let p = parse_calendar("cal", &text, december()).unwrap();
        assert_eq!(p.meetings.len(), 1);
        assert!(p.warnings[0].contains("odd-rule"), "{:?}", p.warnings);
    }

    #[test]
    fn assorted_garbage_never_panics() {
        let cases = [
            "BEGIN:VCALENDAR",
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\n",
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:99999999T999999Z\nEND:VEVENT\nEND:VCALENDAR",
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:00010101T000000Z\nDTEND:99991231T235959Z\nRRULE:FREQ=YEARLY\nEND:VEVENT\nEND:VCALENDAR",
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:99991231T235959Z\nRRULE:FREQ=SECONDLY\nDURATION:P99999999W\nEND:VEVENT\nEND:VCALENDAR",
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20261202\nDURATION:-P5D\nRRULE:FREQ=DAILY;INTERVAL=0;COUNT=0\nEND:VEVENT\nEND:VCALENDAR",
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20261202T100000Z\nRRULE:FREQ=WEEKLY;UNTIL=1900\nEXDATE:garbage\nRDATE;VALUE=PERIOD:20261203T100000Z/20261202T100000Z\nEND:VEVENT\nEND:VCALENDAR",
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;TZID=:20261202T100000\nRECURRENCE-ID:x\nEND:VEVENT\nEND:VCALENDAR",
            "BEGIN:VCALENDAR\nBEGIN:VTIMEZONE\nTZID:X\nBEGIN:DAYLIGHT\nTZOFFSETTO:+9999\nEND:DAYLIGHT\nEND:VTIMEZONE\nBEGIN:VEVENT\nDTSTART;TZID=X:20261202T100000\nEND:VEVENT\nEND:VCALENDAR",
            "BEGIN:VCALENDAR\nEND:VEVENT\nEND:VEVENT\nEND:VCALENDAR\nEND:VCALENDAR",
            "BEGIN:VCALENDAR\n:\n;\n;;;:::\nATTENDEE;CN=\"unterminated:mailto:\nEND:VCALENDAR",
            "\u{feff}\u{feff}BEGIN:VCALENDAR\r\r\n\t\n BEGIN:VEVENT\0\nEND:VCALENDAR",
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20261202T100000Z\nRRULE:FREQ=YEARLY;BYWEEKNO=53;BYDAY=MO;BYSETPOS=-1\nEND:VEVENT\nEND:VCALENDAR",
        ];
        for text in cases {
            let _ = parse_calendar("cal", text, december());
        }
        let huge = Window {
            start: DateTime::<Utc>::MIN_UTC,
            end: DateTime::<Utc>::MAX_UTC,
        };
        for text in cases {
            let _ = parse_calendar("cal", text, huge);
        }
        let _ = parse_calendar("cal", &fixture("google.ics"), huge);
    }

    #[test]
    fn every_prefix_of_a_real_export_parses_without_panicking() {
        for name in ["outlook.ics", "google.ics"] {
            let text = fixture(name);
            let mut cut = 0;
            while cut < text.len() {
                if text.is_char_boundary(cut) {
                    let _ = parse_calendar("cal", &text[..cut], december());
                }
                cut += 13;
            }
        }
    }

    /// Random events around December 2026 of every shape the quick skip looks at.
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
    fn the_direct_daily_and_weekly_expansion_agrees_with_calcard() {
        let mut rng = fastrand::Rng::with_seed(7);
        let days = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
        for case in 0..300 {
            let start = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
                + TimeDelta::days(rng.i64(0..1100))
                + TimeDelta::zero();
            let start = start
                .and_hms_opt(rng.u32(0..24), [0, 30][rng.usize(0..2)], 0)
                .unwrap();
            let mut rule = format!(
                "FREQ={};INTERVAL={}",
                ["DAILY", "WEEKLY"][rng.usize(0..2)],
                rng.u16(1..4)
            );
            if rng.bool() {
                let n = rng.usize(1..4);
                let picked: Vec<_> = (0..n).map(|_| days[rng.usize(0..7)]).collect();
                rule.push_str(&format!(";BYDAY={}", picked.join(",")));
            }
            if rng.bool() {
                rule.push_str(&format!(";WKST={}", days[rng.usize(0..7)]));
            }
            if rng.bool() {
                let until = start + TimeDelta::days(rng.i64(0..1200));
                rule.push_str(&format!(";UNTIL={}", until.format("%Y%m%dT%H%M%S")));
            }
            let text = calendar(&format!(
                "BEGIN:VEVENT\nUID:r\nDTSTART:{}\nRRULE:{rule}\nEND:VEVENT",
                start.format("%Y%m%dT%H%M%S")
            ));
            let cal = read_test_calendar(&text);
            let comp = &cal.components[1];
            let Some(ICalendarValue::RecurrenceRule(r)) = comp
                .property(&ICalendarProperty::Rrule)
                .and_then(|e| e.values.first())
            else {
                panic!("case {case}: {rule}");
            };
            let lo = NaiveDate::from_ymd_opt(2026, 11, 20)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap();
            let hi = lo + TimeDelta::days(45);
            let until_local = r
                .until
                .as_ref()
                .and_then(|u| u.to_date_time())
                .map_or(hi, |u| u.date_time.min(hi));
            let (direct, _) = simple_rule_starts(start, r, lo, until_local).unwrap();
            // calcard, from the real DTSTART (no skipping ahead), same UNTIL, same range.
            let mut floating = (**r).clone();
            floating.until = Some(naive_to_partial(until_local));
            let synthetic = ICalendar {
                components: vec![ICalendarComponent {
                    component_type: ICalendarComponentType::VEvent,
                    entries: vec![
                        ICalendarEntry {
                            name: ICalendarProperty::Dtstart,
                            params: Vec::new(),
                            values: vec![ICalendarValue::PartialDateTime(Box::new(
                                naive_to_partial(start),
                            ))],
                        },
                        ICalendarEntry {
                            name: ICalendarProperty::Rrule,
                            params: Vec::new(),
                            values: vec![ICalendarValue::RecurrenceRule(Box::new(floating))],
                        },
                    ],
                    component_ids: Vec::new(),
                }],
            };
            let via_calcard: Vec<_> = if until_local < start {
                Vec::new()
            } else {
                synthetic
                    .expand_dates(CalTz::Floating, 100_000)
                    .events
                    .iter()
                    .map(|e| e.start.naive_local())
                    .filter(|t| *t >= lo && *t <= until_local)
                    .collect()
            };
            assert_eq!(
                direct, via_calcard,
                "case {case}: DTSTART {start} RRULE {rule}"
            );
        }
    }

    fn read_test_calendar(text: &str) -> ICalendar {
        match Parser::new(text).entry() {
            Entry::ICalendar(c) => c,
            other => panic!("{other:?}"),
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
    fn meetings_come_sorted_by_start() {
        let p = parse("fastmail.ics");
        assert!(p.meetings.windows(2).all(|w| w[0].start <= w[1].start));
    }
}
