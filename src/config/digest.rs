//! The `[digest]` table: whether the daemon shows the weekly look back, and when (a weekday and a
//! local wall-clock time, `when = "Mon 09:00"`), plus the pure rule that turns that into instants:
//! the next showing after a moment, and the last one at or before it, in any time zone.
//!
//! Promises: a `when` is a three-letter English weekday and a 24-hour `HH:MM`; anything else is
//! refused at its line by `validate`. The instants are DST-safe: a local time that a spring-forward
//! gap skips is shown at the first minute after the gap, and one a fall-back repeats is shown
//! once, at its first occurrence.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};

/// The typed `[digest]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestConfig {
    /// `digest.enabled`: the daemon shows the weekly look back.
    pub enabled: bool,
    /// `digest.when`: the local weekday and time it is shown at.
    pub when: DigestWhen,
}

impl Default for DigestConfig {
    fn default() -> Self {
        DigestConfig {
            enabled: true,
            when: DigestWhen {
                weekday: Weekday::Mon,
                time: NaiveTime::from_hms_opt(9, 0, 0).expect("09:00 is a time"),
            },
        }
    }
}

/// A weekday and a local time of day, to the minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestWhen {
    pub weekday: Weekday,
    pub time: NaiveTime,
}

/// Why a `when` was refused; the text says the form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("“{0}” is not a weekday and a time; write it as \"Mon 09:00\" (Mon..Sun, 24-hour HH:MM)")]
pub struct BadWhen(pub String);

const WEEKDAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

impl FromStr for DigestWhen {
    type Err = BadWhen;

    fn from_str(s: &str) -> Result<Self, BadWhen> {
        let bad = || BadWhen(s.to_owned());
        let mut parts = s.split_whitespace();
        let (Some(day), Some(time), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let weekday = WEEKDAYS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(day))
            .map(|(_, w)| *w)
            .ok_or_else(bad)?;
        // Exactly HH:MM: chrono alone would take "9:0" too.
        let (h, m) = time.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let time = NaiveTime::parse_from_str(time, "%H:%M").map_err(|_| bad())?;
        Ok(DigestWhen { weekday, time })
    }
}

impl fmt::Display for DigestWhen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.weekday, self.time.format("%H:%M"))
    }
}

/// How far a spring-forward gap can push a time: no zone skips more than a few hours.
const MAX_GAP_MINUTES: u64 = 4 * 60;

impl DigestWhen {
    /// The instant this `when` falls on `day` in `zone`, if `day` is its weekday.
    fn on<Z: TimeZone>(&self, day: NaiveDate, zone: &Z) -> Option<DateTime<Utc>> {
        if day.weekday() != self.weekday {
            return None;
        }
        let local = day.and_time(self.time);
        // A time the gap skips: the first minute that exists after it.
        (0..=MAX_GAP_MINUTES).find_map(|m| {
            let t = local + chrono::Duration::minutes(m as i64);
            match zone.from_local_datetime(&t) {
                LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
                // A time the fall-back repeats: its first occurrence.
                LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
                LocalResult::None => None,
            }
        })
    }

    /// The first showing strictly after `now`, in `zone`.
    pub fn next_after<Z: TimeZone>(&self, now: DateTime<Utc>, zone: &Z) -> DateTime<Utc> {
        let today = now.with_timezone(zone).date_naive();
        // Yesterday too: a gap can push yesterday's local time past today's midnight.
        let yesterday = today.checked_sub_days(Days::new(1));
        self.showings(yesterday, NaiveDate::checked_add_days, zone)
            .find(|t| *t > now)
            .unwrap_or(now + chrono::Duration::weeks(1))
    }

    /// The last showing at or before `now`, in `zone`.
    pub fn last_at_or_before<Z: TimeZone>(&self, now: DateTime<Utc>, zone: &Z) -> DateTime<Utc> {
        let today = now.with_timezone(zone).date_naive();
        let tomorrow = today.checked_add_days(Days::new(1));
        self.showings(tomorrow, NaiveDate::checked_sub_days, zone)
            .find(|t| *t <= now)
            .unwrap_or(now - chrono::Duration::weeks(1))
    }

    /// The showings on the 16 days from `first`, walking a day at a time with `step` (forward
    /// or back); every weekday falls at least twice in 16 days.
    fn showings<'a, Z: TimeZone>(
        &'a self,
        first: Option<NaiveDate>,
        step: fn(NaiveDate, Days) -> Option<NaiveDate>,
        zone: &'a Z,
    ) -> impl Iterator<Item = DateTime<Utc>> + 'a {
        (0..=15u64)
            .filter_map(move |d| step(first?, Days::new(d)))
            .filter_map(|day| self.on(day, zone))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Berlin;

    fn when(s: &str) -> DigestWhen {
        s.parse().unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_weekday_and_a_24_hour_time_are_read_and_anything_else_says_the_form() {
        assert_eq!(when("Mon 09:00"), DigestConfig::default().when);
        assert_eq!(when(" fri  17:30 ").to_string(), "Fri 17:30");
        for bad in [
            "Mo 9",
            "Mon 25:00",
            "Mon 9:00",
            "Monday 09:00",
            "Mon",
            "Mon 09:00 UTC",
            "",
        ] {
            let e = bad.parse::<DigestWhen>().unwrap_err().to_string();
            assert!(
                e.contains("\"Mon 09:00\"") && e.contains(bad.trim()),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn the_table_defaults_to_mondays_at_nine_and_a_bad_when_is_refused_at_its_line() {
        use crate::config::Config;
        let c = Config::from_toml("t", "").unwrap();
        assert_eq!(c.digest, DigestConfig::default());
        assert!(c.digest.enabled);
        let c =
            Config::from_toml("t", "[digest]\nenabled = false\nwhen = \"Fri 17:30\"\n").unwrap();
        assert!(!c.digest.enabled);
        assert_eq!(c.digest.when, when("Fri 17:30"));
        for bad in ["Mo 9", "Mon 25:00"] {
            let e = Config::from_toml("t", &format!("[digest]\n\nwhen = \"{bad}\"\n"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("t:3") && e.contains("digest.when") && e.contains(bad),
                "{e}"
            );
            assert!(e.contains("Mon 09:00"), "{e}");
        }
        let e = Config::from_toml("t", "[digest]\nat = \"Mon 09:00\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t:2"), "{e}");
    }

    /// Checks `(which, now, expected)` rows of `w` in `zone`: `which` is `next` (the first
    /// showing after `now`) or `last` (the last at or before it).
    fn check<Z: TimeZone>(w: DigestWhen, zone: &Z, rows: &[(&str, &str, &str)]) {
        for (which, now, expected) in rows {
            let got = match *which {
                "next" => w.next_after(utc(now), zone),
                _ => w.last_at_or_before(utc(now), zone),
            };
            assert_eq!(got, utc(expected), "{which} of {w} after {now}");
        }
    }

    #[test]
    fn the_next_showing_is_the_coming_weekday_at_the_time_or_next_week_once_passed() {
        check(
            when("Mon 09:00"),
            &Utc,
            &[
                // Wednesday 2 December 2026.
                ("next", "2026-12-02T10:00:00Z", "2026-12-07T09:00:00Z"),
                // Monday itself: before the time, the same day; at or after it, a week on.
                ("next", "2026-12-07T08:59:59Z", "2026-12-07T09:00:00Z"),
                ("next", "2026-12-07T09:00:00Z", "2026-12-14T09:00:00Z"),
                ("last", "2026-12-07T09:00:00Z", "2026-12-07T09:00:00Z"),
                ("last", "2026-12-07T08:59:59Z", "2026-11-30T09:00:00Z"),
            ],
        );
    }

    #[test]
    fn the_local_time_holds_across_a_dst_change_week() {
        check(
            when("Mon 09:00"),
            &Berlin,
            &[
                // Berlin leaves summer time on Sunday 25 October 2026: 09:00 is 07:00 UTC
                // before, 08:00 after.
                ("next", "2026-10-20T12:00:00Z", "2026-10-26T08:00:00Z"),
                ("next", "2026-10-19T06:30:00Z", "2026-10-19T07:00:00Z"),
                ("last", "2026-10-26T07:59:00Z", "2026-10-19T07:00:00Z"),
                // And enters it on Sunday 29 March 2026: 09:00 is 08:00 UTC before, 07:00 after.
                ("next", "2026-03-24T12:00:00Z", "2026-03-30T07:00:00Z"),
            ],
        );
    }

    #[test]
    fn a_time_the_clock_skips_is_shown_after_the_gap_and_a_repeated_one_once() {
        // 02:30 on 29 March 2026 does not exist in Berlin (02:00 becomes 03:00).
        let skipped = when("Sun 02:30");
        assert_eq!(
            skipped.next_after(utc("2026-03-28T12:00:00Z"), &Berlin),
            utc("2026-03-29T01:00:00Z"),
        );
        // 02:30 on 25 October 2026 happens twice; the first is 00:30 UTC.
        let repeated = when("Sun 02:30");
        let first = repeated.next_after(utc("2026-10-24T12:00:00Z"), &Berlin);
        assert_eq!(first, utc("2026-10-25T00:30:00Z"));
        assert_eq!(
            repeated.next_after(first, &Berlin),
            utc("2026-11-01T01:30:00Z")
        );
    }
}
