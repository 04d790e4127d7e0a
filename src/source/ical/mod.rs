//! iCalendar text -> meeting occurrences inside a window (pure: no I/O, no clock).
//!
//! Parsing, Windows/Outlook zone names and RRULE arithmetic come from calcard (docs/design.md, "ICS files and URLs"), except
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
//! - Ids: `MeetingId::new(source, uid, None)` for a one-off event, also when an override (a
//!   VEVENT with its RECURRENCE-ID) replaces it; for an occurrence of a series the original start
//!   (RECURRENCE-ID for an override), so a moved occurrence keeps its id.
//! - Bounded work: [`MAX_OCCURRENCES_PER_SERIES`], [`MAX_OCCURRENCES_PER_CALENDAR`] and
//!   [`MAX_ATTENDEES_PER_EVENT`], each with a warning (in [`Parsed::warnings`] and the log) when
//!   hit. Series that recur more often than daily are listed in [`Parsed::dense_series`].
//! - [`Parsed::complete`] says whether the text was read completely (ended with `END:VCALENDAR`,
//!   no event skipped, no occurrence bound hit): only then does a missing event mean it is gone.
//! - CR-only, LF and CRLF line endings all read (a lone CR becomes a line end).
//!
//! Where each part lives: `scan` finds the calendars and their blocks by lines, `zones` maps
//! TZIDs, `events` reads one VEVENT, `participants` its ORGANIZER and ATTENDEE lines, `expansion`
//! pairs overrides with their series and builds the occurrences, `recurrence` computes RRULE
//! starts. This file holds the public API and the (parallel) reading of the VEVENT blocks.
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

mod events;
mod expansion;
mod participants;
mod recurrence;
mod scan;
#[cfg(test)]
mod test_support;
mod zones;

use std::collections::BTreeSet;

use calcard::icalendar::ICalendarComponentType;
use calcard::{Entry, Parser};
use chrono::{DateTime, TimeZone, Utc};

use crate::model::Meeting;
use crate::source::Window;
use events::VEvent;
use expansion::expand;
use participants::split_people;
use scan::{cannot_matter, describe_non_calendar, split_calendars, with_line_feeds};
use zones::ZoneTable;

/// The most occurrences one series may produce in one parse (a bound on work, not a feature: a
/// 30-day window of a minutely meeting is 43,200). A series that hits it is cut off with a warning.
pub const MAX_OCCURRENCES_PER_SERIES: usize = 20_000;

/// The most occurrences one calendar may produce in one window, all series together. Without it
/// 200 `FREQ=SECONDLY` series (a 60 KB file) made 200 × [`MAX_OCCURRENCES_PER_SERIES`]
/// meetings: 3.4 GB and three minutes. A heavy real export has ~20,000 in 30 days. When it is
/// hit, series that recur more often than daily are the ones cut (they are expanded last), with
/// a warning, and the read is not [`Parsed::complete`].
pub const MAX_OCCURRENCES_PER_CALENDAR: usize = 50_000;

/// The most attendees kept for one event; the rest are dropped with a warning. A meeting with
/// more is a broadcast (a town hall), not a customer conversation, and every attendee costs work
/// in classification on every poll.
pub const MAX_ATTENDEES_PER_EVENT: usize = 1_000;

/// What one calendar text yielded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    pub meetings: Vec<Meeting>,
    /// One line per skipped event, naming it (UID or summary) and saying why, and one per bound
    /// that was hit.
    pub warnings: Vec<String>,
    /// Events left out because they could not be read (each named in `warnings`).
    pub skipped: usize,
    /// Whether the text was read completely: every VCALENDAR ended with `END:VCALENDAR`, no
    /// event was skipped and no occurrence bound cut anything off. Only a complete read can show
    /// that an event is gone; a meeting missing from an incomplete one may just not have been
    /// read (a file read mid-write, a body cut off, one broken event).
    pub complete: bool,
    /// The series (`source/uid`, as [`crate::model::MeetingId::series`] gives it) that recur
    /// more often than daily, so that a planner can ask once for the series instead of once per
    /// occurrence.
    pub dense_series: BTreeSet<String>,
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
    let text = with_line_feeds(text);
    let text = text.as_ref();
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
    // A VEvent is ~700 bytes, and moving thousands into one list would hold them twice, since
    // memory a reading thread frees is not reused by this one.
    let mut events: Vec<&VEvent> =
        Vec::with_capacity(batches.iter().flatten().filter(|r| r.is_ok()).count());
    for result in batches.iter_mut().flatten() {
        match result {
            Ok(event) => {
                out.warnings.append(&mut event.notes);
                events.push(event);
            }
            Err(warning) => {
                out.skipped += 1;
                out.warnings.push(std::mem::take(warning));
            }
        }
    }

    let cut = expand(source, events, window, &mut out);
    let closed = calendars.iter().all(|c| c.closed);
    out.complete = closed && out.skipped == 0 && !cut;
    if !closed {
        // DEBUG: the caller decides what a cut-off text means (the ICS source makes it a failed
        // poll, logged once per failure streak), so a warning here would repeat at every retry.
        tracing::debug!(
            source,
            "the calendar text ends before END:VCALENDAR (cut off, or read while being written); its meetings are kept but the read counts as incomplete"
        );
    }
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
) -> Vec<Vec<Result<VEvent, String>>> {
    let read_chunk = |offset: usize, chunk: &[&str]| -> Vec<Result<VEvent, String>> {
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
                out.push(VEvent::read(comp, &people, zones, offset + i));
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
    let mut results: Vec<(usize, Vec<Result<VEvent, String>>)> = std::thread::scope(|scope| {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::ical::test_support::*;

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
        assert_eq!(
            p,
            Parsed {
                complete: true,
                ..Parsed::default()
            }
        );
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

    #[test]
    fn a_calendar_that_ends_with_end_vcalendar_and_skips_nothing_is_complete() {
        let p = parse("icloud.ics");
        assert!(p.complete, "{:?}", p.warnings);
        assert_eq!(p.skipped, 0);
    }

    #[test]
    fn a_calendar_cut_off_before_its_end_keeps_its_meetings_but_is_not_complete() {
        let text = fixture("icloud.ics");
        let cut = &text[..text.rfind("END:VCALENDAR").unwrap()];
        let p = parse_calendar("cal", cut, december()).unwrap();
        assert!(!p.complete);
        assert_eq!(p.skipped, 0);
        assert_eq!(p.meetings, parse("icloud.ics").meetings);
    }

    #[test]
    fn a_skipped_event_is_counted_and_makes_the_read_incomplete() {
        let p = parse("messy.ics");
        assert_eq!(p.skipped, 3, "{:?}", p.warnings);
        assert!(!p.complete);
    }
}
