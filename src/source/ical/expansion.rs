//! Events -> the meeting occurrences that overlap the window: masters and their overrides paired
//! by UID and original start (whatever their SEQUENCE: Google bumps it on overrides), one-off
//! events kept once, series expanded through [`super::recurrence`].
//!
//! Promises: an override replaces its series slot and keeps that slot's id; a cancelled override
//! stays as a cancelled occurrence; meetings come sorted by start, then UID and original start.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::{
    MAX_OCCURRENCES_PER_CALENDAR, MAX_OCCURRENCES_PER_SERIES, Parsed, events::*, recurrence::*,
};
use crate::source::Window;

/// Builds the meetings of `events` that overlap `window` into `out` (and marks its dense
/// series). Returns whether a bound cut occurrences off.
pub(super) fn expand(source: &str, events: Vec<&VEvent>, window: Window, out: &mut Parsed) -> bool {
    // Masters by UID (a repeated UID keeps the highest SEQUENCE, then the later one), overrides by
    // (UID, original start): pairing ignores SEQUENCE on purpose (Google bumps it on overrides).
    // The maps hold indices, not events: a VEvent is a few hundred bytes and a hash table keeps
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

    // An override of a one-off event (some servers write one when a single meeting is edited)
    // for its own DTSTART replaces it and keeps its `single` id, so answers stay with the
    // meeting. (One for another RECURRENCE-ID names no slot of the event: it stays an occurrence
    // of its own, as before, so that the quick skip of far-away events cannot change the result.)
    let mut one_off_overrides: HashMap<&str, usize> = HashMap::new();
    for (&(uid, rid), &i) in &overrides {
        if masters
            .get(uid)
            .map(|&m| events[m])
            .is_some_and(|m| !m.is_series() && m.start.utc() == Some(rid))
        {
            one_off_overrides.insert(uid, i);
        }
    }

    let mut planned: Vec<Planned<'_>> = Vec::new();
    let mut budget = MAX_OCCURRENCES_PER_CALENDAR;
    let mut cut = false;

    // Overrides first: each is one written event, so they cannot blow the budget up.
    for (&(uid, rid), &i) in &overrides {
        let event = events[i];
        let original = if one_off_overrides.get(uid) == Some(&i) {
            None
        } else {
            Some(rid)
        };
        if let Some((start, end)) = one_span(event, event.start.utc())
            && overlaps(window, start, end)
        {
            planned.push(Planned {
                start,
                end,
                event,
                original,
            });
        }
    }
    budget = budget.saturating_sub(planned.len());

    // One-offs and ordinary series in file order, then the series that recur more often than
    // daily: when the budget runs out, those are the ones cut.
    let mut order: Vec<usize> = masters.values().copied().collect();
    order.sort_unstable_by_key(|&i| (events[i].is_dense(), i));
    let mut left_out = 0usize;
    for master in order.into_iter().map(|i| events[i]) {
        if master.is_dense() {
            out.dense_series.insert(
                crate::model::MeetingId::new(source, &master.uid, None)
                    .series()
                    .to_string(),
            );
        }
        if budget == 0 {
            left_out += 1;
            continue;
        }
        if !master.is_series() {
            // One-off meeting: the id does not depend on its start, so moving it keeps answers.
            if one_off_overrides.contains_key(master.uid.as_str()) {
                continue;
            }
            if let Some((start, end)) = one_span(master, master.start.utc())
                && overlaps(window, start, end)
            {
                planned.push(Planned {
                    start,
                    end,
                    event: master,
                    original: None,
                });
                budget -= 1;
            }
            continue;
        }
        let limit = budget.min(MAX_OCCURRENCES_PER_SERIES);
        let (starts, truncated) = occurrences(master, window, limit, &mut out.warnings);
        cut |= truncated;
        // The budget counts the work done: a rule cut off at its limit computed that many starts,
        // even when most fell just before the window and were dropped.
        budget = budget.saturating_sub(if truncated { limit } else { starts.len() });
        for (original, explicit_end) in starts {
            if overrides.contains_key(&(master.uid.as_str(), original)) {
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
    if left_out > 0 {
        cut = true;
        tracing::warn!(
            source,
            limit = MAX_OCCURRENCES_PER_CALENDAR,
            events_left_out = left_out,
            "the calendar has more occurrences in the window than nextstep expands; the rest are left out (series that recur more often than daily first)"
        );
        out.warnings.push(format!(
            "the calendar has more than {MAX_OCCURRENCES_PER_CALENDAR} occurrences in the window; {left_out} events or series are left out (series that recur more often than daily first)"
        ));
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
    cut
}

/// One occurrence to build.
pub(super) struct Planned<'a> {
    pub(super) start: DateTime<Utc>,
    pub(super) end: DateTime<Utc>,
    pub(super) event: &'a VEvent,
    pub(super) original: Option<DateTime<Utc>>,
}

/// Like [`Window::overlaps`], but a zero-length meeting counts when it starts inside the window.
pub(super) fn overlaps(window: Window, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    window.overlaps(start, end) || (start == end && start >= window.start && start < window.end)
}

pub(super) fn one_span(
    event: &VEvent,
    start: Option<DateTime<Utc>>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let start = start?;
    Some((start, event.span.end(start, event.start.zone)?))
}

/// An original start, with an explicit end when an RDATE PERIOD gave one.
pub(super) type Occurrence = (DateTime<Utc>, Option<DateTime<Utc>>);

/// The original starts of a series that may overlap the window (DTSTART, RRULE, RDATE, minus
/// EXDATE), each with an explicit end when an RDATE PERIOD gave one.
pub(super) fn occurrences(
    master: &VEvent,
    window: Window,
    limit: usize,
    warnings: &mut Vec<String>,
) -> (Vec<Occurrence>, bool) {
    // Capped so the arithmetic stays far from chrono's limits on absurd durations.
    let longest = master.span.upper_bound().min(TimeDelta::days(3660));
    let lo = window
        .start
        .checked_sub_signed(longest)
        .unwrap_or(window.start);
    let hi = window.end;
    let zone = master.start.zone;

    let mut cut = false;
    let mut starts: Vec<Occurrence> = Vec::new();
    // RFC 5545: DTSTART is always the first occurrence, whether or not the rule matches it.
    if let Some(s) = master.start.utc() {
        starts.push((s, None));
    }
    if let Some(rule) = &master.rrule {
        match rule_starts(master, rule, lo, hi, limit) {
            Ok((locals, truncated)) => {
                if truncated {
                    cut = true;
                    tracing::warn!(
                        event = %master.label,
                        limit,
                        "a recurrence has more occurrences near the window than nextstep expands; later ones are left out"
                    );
                    let bound = if limit < MAX_OCCURRENCES_PER_SERIES {
                        format!(
                            "the calendar's bound of {MAX_OCCURRENCES_PER_CALENDAR} occurrences is reached"
                        )
                    } else {
                        format!("the recurrence has more than {limit} occurrences near the window")
                    };
                    warnings.push(format!(
                        "{}: {bound}; later ones are left out",
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
    if starts.len() > limit {
        // DTSTART and RDATEs on top of a rule that filled the limit.
        starts.truncate(limit);
        cut = true;
    }
    (starts, cut)
}

#[cfg(test)]
mod tests {
    use crate::model::{MeetingStatus, Role};
    use crate::source::ical::MAX_OCCURRENCES_PER_CALENDAR;
    use crate::source::ical::test_support::*;

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
    fn meetings_come_sorted_by_start() {
        let p = parse("fastmail.ics");
        assert!(p.meetings.windows(2).all(|w| w[0].start <= w[1].start));
    }

    #[test]
    fn a_one_off_event_keeps_its_single_id_when_it_gets_an_override() {
        let master = "BEGIN:VEVENT\nUID:once\nSUMMARY:Kickoff\nDTSTART:20261202T100000Z\n\
                      DTEND:20261202T110000Z\nEND:VEVENT\n";
        let before = parse_calendar("cal", &calendar(master), december()).unwrap();
        assert_eq!(
            ids(&before.meetings.iter().collect::<Vec<_>>()),
            ["cal/once/single"]
        );
        let text = calendar(&format!(
            "{master}BEGIN:VEVENT\nUID:once\nSUMMARY:Kickoff (moved)\nRECURRENCE-ID:20261202T100000Z\n\
             SEQUENCE:1\nDTSTART:20261203T150000Z\nDTEND:20261203T160000Z\nEND:VEVENT"
        ));
        let after = parse_calendar("cal", &text, december()).unwrap();
        assert_eq!(after.meetings.len(), 1, "{:?}", after.meetings);
        let m = &after.meetings[0];
        assert_eq!(m.id.as_str(), "cal/once/single");
        assert_eq!(m.title, "Kickoff (moved)");
        assert_eq!(m.start, utc(2026, 12, 3, 15, 0));
        assert!(!m.recurring);

        // A RECURRENCE-ID that is not the event's start names no slot of it: both stay.
        let text = calendar(&format!(
            "{master}BEGIN:VEVENT\nUID:once\nSUMMARY:Stray\nRECURRENCE-ID:20261201T090000Z\n\
             DTSTART:20261204T150000Z\nDTEND:20261204T160000Z\nEND:VEVENT"
        ));
        let odd = parse_calendar("cal", &text, december()).unwrap();
        assert_eq!(
            ids(&odd.meetings.iter().collect::<Vec<_>>()),
            ["cal/once/single", "cal/once/20261201T090000Z"]
        );
    }

    #[test]
    fn a_lone_override_without_its_series_keeps_its_occurrence_id() {
        let text = calendar(
            "BEGIN:VEVENT\nUID:invited-once\nRECURRENCE-ID:20261207T090000Z\n\
             DTSTART:20261207T090000Z\nDTEND:20261207T100000Z\nEND:VEVENT",
        );
        let p = parse_calendar("cal", &text, december()).unwrap();
        assert_eq!(
            ids(&p.meetings.iter().collect::<Vec<_>>()),
            ["cal/invited-once/20261207T090000Z"]
        );
    }

    #[test]
    fn dense_series_are_cut_at_the_calendar_bound_after_the_ordinary_meetings() {
        let mut body = String::from(
            "BEGIN:VEVENT\nUID:weekly\nSUMMARY:Weekly\nDTSTART:20261201T100000Z\n\
             DURATION:PT1H\nRRULE:FREQ=WEEKLY\nEND:VEVENT\n",
        );
        for i in 0..8 {
            body.push_str(&format!(
                "BEGIN:VEVENT\nUID:s{i}\nDTSTART:20261130T000000Z\nDURATION:PT1S\n\
                 RRULE:FREQ=SECONDLY\nEND:VEVENT\n"
            ));
        }
        let p = parse_calendar("cal", &calendar(&body), december()).unwrap();
        assert!(
            p.meetings.len() <= MAX_OCCURRENCES_PER_CALENDAR,
            "{}",
            p.meetings.len()
        );
        assert_eq!(
            by_title(&p, "Weekly").len(),
            5,
            "the ordinary series is whole"
        );
        assert!(!p.complete);
        assert_eq!(p.skipped, 0);
        assert!(
            p.warnings
                .iter()
                .any(|w| w.contains("occurrences in the window")),
            "{:?}",
            p.warnings
        );
        assert_eq!(p.dense_series.len(), 8);
        assert!(p.dense_series.contains("cal/s0"));
        assert!(!p.dense_series.contains("cal/weekly"));
    }

    #[test]
    fn a_series_that_recurs_more_often_than_daily_is_marked_dense() {
        let text = calendar(
            "BEGIN:VEVENT\nUID:hourly\nDTSTART:20261201T090000Z\nRRULE:FREQ=HOURLY;COUNT=3\nEND:VEVENT\n\
             BEGIN:VEVENT\nUID:twice-a-day\nDTSTART:20261201T090000Z\n\
             RRULE:FREQ=DAILY;BYHOUR=9,15;COUNT=4\nEND:VEVENT\n\
             BEGIN:VEVENT\nUID:daily\nDTSTART:20261201T090000Z\nRRULE:FREQ=DAILY;COUNT=3\nEND:VEVENT\n\
             BEGIN:VEVENT\nUID:once\nDTSTART:20261201T090000Z\nEND:VEVENT",
        );
        let p = parse_calendar("cal", &text, december()).unwrap();
        let dense: Vec<_> = p.dense_series.iter().map(String::as_str).collect();
        assert_eq!(dense, ["cal/hourly", "cal/twice-a-day"]);
        assert!(p.complete);
    }
}
