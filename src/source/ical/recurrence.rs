//! The starts an RRULE yields near a window, in the event's wall-clock time. Plain DAILY and
//! WEEKLY rules (most series) are computed directly; any other rule goes to calcard's iterator,
//! after the start is moved forward by whole periods to just before the window when the rule has
//! no COUNT, so a series that began years ago costs a handful of steps.
//!
//! Promises: at most the caller's limit of starts per series (see
//! [`super::MAX_OCCURRENCES_PER_SERIES`]), and the caller is told when the rule was cut off; the
//! direct path agrees with calcard (tested on random rules).

use calcard::common::PartialDateTime;
use calcard::common::timezone::Tz as CalTz;
use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarEntry, ICalendarFrequency,
    ICalendarProperty, ICalendarRecurrenceRule, ICalendarValue,
};
use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveDateTime, TimeDelta, Utc};

use super::events::*;

/// The wall-clock starts the RRULE yields in `[lo, hi)` (with a day's slack either side for zone
/// offsets), and whether the cap cut them off.
pub(super) fn rule_starts(
    master: &VEvent,
    rule: &ICalendarRecurrenceRule,
    lo: DateTime<Utc>,
    hi: DateTime<Utc>,
    limit: usize,
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

    if let Some((locals, truncated)) =
        simple_rule_starts(master.start.local, rule, lo_local, until, limit)
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
    let cal = floating_series(start, floating_rule);
    let expanded = cal.expand_dates(CalTz::Floating, limit);
    if let Some(err) = expanded.errors.first() {
        return Err(err.error.to_string());
    }
    let truncated = expanded.events.len() >= limit;
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
/// never before `start`, at most `limit` (then `true`: cut off); tested
/// against calcard on random rules.
pub(super) fn simple_rule_starts(
    start: NaiveDateTime,
    rule: &ICalendarRecurrenceRule,
    lo: NaiveDateTime,
    until: NaiveDateTime,
    limit: usize,
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
        if out.len() >= limit {
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
            for k in (k0..).take(8 * limit.max(1)) {
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
pub(super) fn skip_ahead(
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

/// A calendar of one floating VEVENT with this start and rule, for calcard's `expand_dates`.
pub(super) fn floating_series(start: NaiveDateTime, rule: ICalendarRecurrenceRule) -> ICalendar {
    ICalendar {
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
                    values: vec![ICalendarValue::RecurrenceRule(Box::new(rule))],
                },
            ],
            component_ids: Vec::new(),
        }],
    }
}

pub(super) fn naive_to_partial(t: NaiveDateTime) -> PartialDateTime {
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
    use crate::source::Window;
    use crate::source::ical::MAX_OCCURRENCES_PER_SERIES;
    use crate::source::ical::test_support::*;
    use calcard::{Entry, Parser};
    use chrono::TimeZone;

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
        assert_eq!(
            p,
            Parsed {
                complete: true,
                ..Parsed::default()
            }
        );
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
            let (direct, _) =
                simple_rule_starts(start, r, lo, until_local, MAX_OCCURRENCES_PER_SERIES).unwrap();
            // calcard, from the real DTSTART (no skipping ahead), same UNTIL, same range.
            let mut floating = (**r).clone();
            floating.until = Some(naive_to_partial(until_local));
            let synthetic = floating_series(start, floating);
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
}
