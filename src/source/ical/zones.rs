//! Time zones of one calendar: TZID -> zone, from the calendar's VTIMEZONE blocks, from names
//! calcard knows (IANA, Windows, Outlook's "(UTC+01:00) Amsterdam, Berlin…"), and from Outlook's
//! "Customized Time Zone" blocks, matched to an IANA zone by their offsets and switch months.
//!
//! Promises: a wall-clock time always resolves to one instant (a time in a DST gap moves forward
//! by the gap, RFC 5545 §3.3.5; an ambiguous one takes the earlier instant); a TZID that cannot be
//! mapped is `None`, and the caller names the event it belongs to.

use std::collections::HashMap;
use std::str::FromStr;

use calcard::common::timezone::Tz as CalTz;
use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarProperty, ICalendarValue,
};
use calcard::{Entry, Parser};
use chrono::{
    DateTime, Datelike, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeDelta,
    TimeZone, Utc,
};

use crate::source::Window;

/// Where a local (wall-clock) time is anchored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Zone {
    Utc,
    Fixed(FixedOffset),
    Iana(chrono_tz::Tz),
    /// Floating time: the machine's zone.
    Local,
}

impl Zone {
    pub(super) fn from_calcard(tz: CalTz) -> Zone {
        match tz {
            CalTz::Floating => Zone::Local,
            CalTz::Fixed(o) if o.local_minus_utc() == 0 => Zone::Utc,
            CalTz::Fixed(o) => Zone::Fixed(o),
            CalTz::Tz(t) => Zone::Iana(t),
        }
    }

    pub(super) fn from_offset(offset: FixedOffset) -> Zone {
        if offset.local_minus_utc() == 0 {
            Zone::Utc
        } else {
            Zone::Fixed(offset)
        }
    }

    /// The instant of a wall-clock time in this zone. `None` only on arithmetic overflow.
    pub(super) fn to_utc(self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self {
            Zone::Utc => Some(local.and_utc()),
            Zone::Fixed(o) => resolve_local(&o, local),
            Zone::Iana(tz) => resolve_local(&tz, local),
            Zone::Local => resolve_local(&chrono::Local, local),
        }
    }

    /// The wall-clock time of an instant in this zone.
    pub(super) fn to_local(self, t: DateTime<Utc>) -> NaiveDateTime {
        match self {
            Zone::Utc => t.naive_utc(),
            Zone::Fixed(o) => t.with_timezone(&o).naive_local(),
            Zone::Iana(tz) => t.with_timezone(&tz).naive_local(),
            Zone::Local => t.with_timezone(&chrono::Local).naive_local(),
        }
    }

    /// The IANA name, for display.
    pub(super) fn name(self) -> Option<String> {
        match self {
            Zone::Iana(tz) => Some(tz.name().to_string()),
            _ => None,
        }
    }
}

pub(super) fn resolve_local<Z: TimeZone>(zone: &Z, local: NaiveDateTime) -> Option<DateTime<Utc>> {
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
pub(super) struct ZoneTable {
    pub(super) by_tzid: HashMap<String, Zone>,
}

impl ZoneTable {
    /// The zones of a calendar's VTIMEZONE blocks (parsed together as one small calendar).
    pub(super) fn from_blocks(blocks: &[&str], window: Window) -> ZoneTable {
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

    pub(super) fn build(cal: &ICalendar, window: Window) -> ZoneTable {
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
    pub(super) fn resolve(&self, tzid: &str) -> Option<Zone> {
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
pub(super) const PREFERRED_ZONES: &[chrono_tz::Tz] = &[
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
pub(super) fn guess_custom_zone(
    cal: &ICalendar,
    tz: &ICalendarComponent,
    year: i32,
) -> Option<Zone> {
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

pub(super) fn observance_offset(obs: &ICalendarComponent) -> Option<i32> {
    let value = obs
        .property(&ICalendarProperty::Tzoffsetto)?
        .values
        .first()?;
    let p = value.as_partial_date_time()?;
    let secs = i32::from(p.tz_hour?) * 3600 + i32::from(p.tz_minute.unwrap_or(0)) * 60;
    Some(if p.tz_minus { -secs } else { secs })
}

pub(super) fn observance_month(obs: &ICalendarComponent) -> Option<u32> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::ical::test_support::*;
    use chrono::TimeZone;

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
}
