//! One VEVENT (as calcard parsed it, plus its participant lines) -> a [`VEvent`]: its start and
//! zone, how long an occurrence lasts, its recurrence (RRULE, RDATE, EXDATE), the slot it
//! overrides (RECURRENCE-ID), and what every meeting built from it shares.
//!
//! Promises: an event that cannot be read (no DTSTART, an unreadable date, an unknown zone) is an
//! `Err` with one line naming it by UID (or SUMMARY) and the reason; never a panic. A DATE-TIME
//! event without DTEND or DURATION lasts zero seconds (RFC 5545 §3.6.1); a DATE one lasts a day.

use std::collections::HashSet;
use std::sync::Arc;

use calcard::common::PartialDateTime;
use calcard::icalendar::{
    ICalendarComponent, ICalendarEntry, ICalendarFrequency, ICalendarPeriod, ICalendarProperty,
    ICalendarRecurrenceRule, ICalendarValue,
};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};

use super::{MAX_ATTENDEES_PER_EVENT, participants::*, zones::*};
use crate::model::{Attendee, Meeting, MeetingId, MeetingStatus, PartStat, Role};

/// A point in time as written: wall-clock time plus the zone it is in.
#[derive(Debug, Clone, Copy)]
pub(super) struct When {
    pub(super) local: NaiveDateTime,
    pub(super) zone: Zone,
    pub(super) all_day: bool,
}

impl When {
    pub(super) fn utc(&self) -> Option<DateTime<Utc>> {
        self.zone.to_utc(self.local)
    }
}

/// How long an occurrence lasts.
#[derive(Debug, Clone, Copy)]
pub(super) enum Length {
    Exact(TimeDelta),
    /// Whole days, for all-day events: ends at local midnight, whatever DST does in between.
    Days(i64),
}

impl Length {
    pub(super) fn end(self, start: DateTime<Utc>, zone: Zone) -> Option<DateTime<Utc>> {
        match self {
            Length::Exact(d) => start.checked_add_signed(d),
            Length::Days(n) => {
                let day = zone.to_local(start).date();
                let end = day.checked_add_signed(TimeDelta::try_days(n)?)?;
                zone.to_utc(end.and_time(NaiveTime::MIN))
            }
        }
    }

    /// An upper bound of the length, to widen the window when looking for occurrences.
    pub(super) fn upper_bound(self) -> TimeDelta {
        match self {
            Length::Exact(d) => d,
            Length::Days(n) => TimeDelta::try_days(n.saturating_add(1)).unwrap_or(TimeDelta::MAX),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct VEvent {
    pub(super) uid: String,
    /// UID, or the summary when there is no UID: what warnings call this event.
    pub(super) label: String,
    /// SUMMARY, or "(no title)".
    pub(super) title: String,
    pub(super) start: When,
    pub(super) span: Length,
    pub(super) rrule: Option<ICalendarRecurrenceRule>,
    /// Extra occurrences, with an explicit end for PERIOD values.
    pub(super) rdates: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    pub(super) exdates: HashSet<DateTime<Utc>>,
    /// EXDATEs given as dates (some producers do that for timed series): every occurrence on that
    /// local date goes.
    pub(super) exdate_days: HashSet<NaiveDate>,
    /// The original start this override replaces.
    pub(super) recurrence_id: Option<DateTime<Utc>>,
    pub(super) sequence: i64,
    pub(super) status: MeetingStatus,
    /// Shared with every meeting built from the event (a series has several in a window), as
    /// are the attendees, location and description: not copied into each.
    pub(super) organizer: Option<Arc<Attendee>>,
    pub(super) attendees: Arc<Vec<Attendee>>,
    pub(super) location: Option<Arc<str>>,
    pub(super) description: Option<Arc<str>>,
    /// Bounds hit while reading it (too many attendees), for [`super::Parsed::warnings`]; the
    /// event itself counts.
    pub(super) notes: Vec<String>,
}

impl VEvent {
    /// Reads one VEVENT, or says (naming it) why it is skipped. `people` are its ORGANIZER and
    /// ATTENDEE lines, taken out of the text calcard saw (see [`split_people`]).
    pub(super) fn read(
        comp: &ICalendarComponent,
        people: &People<'_>,
        zones: &ZoneTable,
        index: usize,
    ) -> Result<VEvent, String> {
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
        let mut notes = Vec::new();
        if people.dropped > 0 {
            tracing::warn!(
                event = %label,
                kept = MAX_ATTENDEES_PER_EVENT,
                dropped = people.dropped,
                "an event has more attendees than nextstep reads; the rest are left out"
            );
            notes.push(format!(
                "{label}: more than {MAX_ATTENDEES_PER_EVENT} attendees; {} left out",
                people.dropped
            ));
        }

        Ok(VEvent {
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
            notes,
        })
    }

    pub(super) fn is_series(&self) -> bool {
        self.rrule.is_some() || !self.rdates.is_empty()
    }

    /// Whether the series recurs more often than daily: a sub-daily FREQ, or a rule that picks
    /// several hours, minutes or seconds of each day.
    pub(super) fn is_dense(&self) -> bool {
        self.rrule.as_ref().is_some_and(|r| {
            matches!(
                r.freq,
                ICalendarFrequency::Secondly
                    | ICalendarFrequency::Minutely
                    | ICalendarFrequency::Hourly
            ) || r.byhour.len() > 1
                || r.byminute.len() > 1
                || r.bysecond.len() > 1
        })
    }

    pub(super) fn meeting(
        &self,
        source: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        original_start: Option<DateTime<Utc>>,
        recurring: bool,
    ) -> Meeting {
        Meeting {
            id: MeetingId::new(source, &self.uid, original_start),
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

pub(super) fn first_text(comp: &ICalendarComponent, prop: &ICalendarProperty) -> Option<String> {
    comp.property(prop)
        .and_then(|e| e.values.first())
        .and_then(|v| v.as_text())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A stable stand-in for a missing UID, so the event still gets the same id on every poll.
pub(super) fn synthetic_uid(summary: Option<&str>, dtstart: &ICalendarEntry) -> String {
    let dt = format!("{:?}", dtstart.values.first());
    let hash =
        crate::model::stable_hash(summary.unwrap_or("").bytes().chain([0]).chain(dt.bytes()));
    format!("no-uid-{hash:016x}")
}

/// The zone an entry's TZID names; `default` when it has none (also for `Z` or DATE values, which
/// [`partial_to_when`] handles).
pub(super) fn entry_zone(
    entry: &ICalendarEntry,
    zones: &ZoneTable,
    default: Zone,
) -> Result<Zone, String> {
    match entry.tz_id() {
        None => Ok(default),
        Some(tzid) => zones
            .resolve(tzid)
            .ok_or_else(|| format!("unknown time zone `{tzid}`")),
    }
}

/// Reads a DTSTART/DTEND/RECURRENCE-ID. Without TZID a time is floating (the machine's zone),
/// unless `floating_default` says otherwise (a RECURRENCE-ID follows its event's DTSTART).
pub(super) fn read_when(
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
pub(super) fn partial_to_when(p: &PartialDateTime, zone: Zone) -> Option<When> {
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

pub(super) fn read_span(
    comp: &ICalendarComponent,
    start: &When,
    zones: &ZoneTable,
) -> Result<Length, String> {
    if let Some(entry) = comp.property(&ICalendarProperty::Dtend) {
        let end = read_when(entry, zones, Some(start.zone)).map_err(|e| format!("DTEND {e}"))?;
        if start.all_day {
            let days = (end.local.date() - start.local.date()).num_days();
            return Ok(Length::Days(days.max(1)));
        }
        let (Some(s), Some(e)) = (start.utc(), end.utc()) else {
            return Err("DTEND is out of range".into());
        };
        // An end before the start is a producer bug; keep the event as a zero-length one.
        return Ok(Length::Exact((e - s).max(TimeDelta::zero())));
    }
    if let Some(entry) = comp.property(&ICalendarProperty::Duration) {
        let delta = match entry.values.first() {
            Some(ICalendarValue::Duration(d)) => d.to_time_delta(),
            _ => None,
        }
        .ok_or_else(|| "unreadable DURATION".to_string())?
        .max(TimeDelta::zero());
        if start.all_day {
            return Ok(Length::Days(delta.num_days().max(1)));
        }
        return Ok(Length::Exact(delta));
    }
    Ok(if start.all_day {
        Length::Days(1)
    } else {
        Length::Exact(TimeDelta::zero())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::ical::test_support::*;

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
    fn an_event_keeps_its_first_thousand_attendees_and_says_how_many_it_left_out() {
        let mut body = String::from(
            "BEGIN:VEVENT\nUID:crowd\nSUMMARY:Town hall\nDTSTART:20261202T100000Z\n\
             ORGANIZER:mailto:boss@acme.example\n",
        );
        for i in 0..MAX_ATTENDEES_PER_EVENT + 5 {
            body.push_str(&format!("ATTENDEE;CN=P {i}:mailto:p{i}@acme.example\n"));
        }
        body.push_str("END:VEVENT");
        let p = parse_calendar("cal", &calendar(&body), december()).unwrap();
        assert_eq!(p.meetings.len(), 1);
        let m = &p.meetings[0];
        assert_eq!(m.attendees.len(), MAX_ATTENDEES_PER_EVENT);
        assert_eq!(m.attendees[0].email, "p0@acme.example");
        assert_eq!(m.organizer.as_ref().unwrap().email, "boss@acme.example");
        assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
        assert!(p.warnings[0].contains("5 left out"), "{}", p.warnings[0]);
        assert!(p.complete, "the meeting itself was read");
    }
}
