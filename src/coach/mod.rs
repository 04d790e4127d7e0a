//! Coaching (issue 14): what the ledger says an account should be asked next, whether it is won
//! or lost, which dated commitments slipped, how long the sell cycle is, and the weekly look
//! back. Pure: ledger rows (and account marks) in, plain values out; no I/O, no clock.
//!
//! Every function reads [`LedgerRow`]s the way `report::build` does. For one account, the rows
//! come from [`crate::ledger::Ledger::customer_meetings_of_account`] (which folds only that account's
//! meetings); for the whole ledger, from [`crate::ledger::Ledger::customer_meetings`]. Marks come
//! from [`crate::ledger::Ledger::account_marks`].
//!
//! Days are the user's calendar days: a meeting's day is the date of its start in the zone the
//! caller passes (`chrono::Local` at the edges, an explicit zone in tests), as `report` groups
//! weeks; "today" is passed as the user's local date. The rules are written down in
//! docs/design.md, "Prompt rules" (the ladder) and "Coaching rules".
//!
//! One job per file: `ladder` (the suggestion), `status` (won, lost, open), `slipped` (dated
//! commitments that passed), `cycle` (the sell cycle), `digest` (the weekly look back).

mod cycle;
mod digest;
mod ladder;
mod slipped;
mod status;

pub use cycle::{
    COVERED, CycleAccount, CycleGroup, MIN_SAMPLE, OBJECTIVE_COVERAGE, SellCycle, UNCOVERED,
    sell_cycle, sell_cycle_since,
};
pub use digest::{Awaiting, DIGEST_LOOKBACK, Digest, Stalled, digest, open_slipped};
pub use ladder::{NoSuggestion, Suggestion, explain, rung_of, suggest};
pub use slipped::{Slipped, slipped};
pub use status::{AccountStatus, State, StatusSource, status, status_of_all};

use chrono::{DateTime, Duration, Local, NaiveDate, NaiveTime, TimeZone, Utc};

use crate::model::{LedgerRow, MeetingStatus, Outcome};

/// The outcomes that say where the account stands: the customer could have committed and
/// answered. `no_show`, `rescheduled` and `cancelled` say nothing about the sale.
pub(crate) fn decisive(result: Outcome) -> bool {
    matches!(
        result,
        Outcome::Committed | Outcome::Advanced | Outcome::Continuation | Outcome::NoSale
    )
}

/// Whether an outcome can carry a due date: only a step the customer agreed to, `committed` (the
/// objective) or `advanced` (another step); on any other result the date would list a slipped
/// commitment nobody made. The CLI, the prompts and the page all ask this.
pub fn takes_due(result: Outcome) -> bool {
    matches!(result, Outcome::Committed | Outcome::Advanced)
}

/// The first day a next step agreed at a meeting starting at `start` may fall due: the meeting's
/// own day, in the user's zone. An earlier date is a typo, and would show the commitment as
/// slipped at once.
pub fn earliest_due(start: DateTime<Utc>) -> NaiveDate {
    local_day(start, &Local)
}

/// A customer meeting that took place (or is still to take place): not cancelled in its calendar,
/// not gone before its start, and not answered `cancelled`, `rescheduled` or `no_show`.
pub(crate) fn happens(r: &LedgerRow) -> bool {
    r.customer
        && r.status != MeetingStatus::Cancelled
        && r.gone_at.is_none_or(|g| g > r.start)
        && !matches!(
            r.outcome.as_ref().map(|o| o.result),
            Some(Outcome::Cancelled | Outcome::Rescheduled | Outcome::NoShow)
        )
}

/// The day a meeting starts on, in `zone`.
pub(crate) fn day_of<Z: TimeZone>(r: &LedgerRow, zone: &Z) -> NaiveDate {
    local_day(r.start, zone)
}

/// The calendar day the instant `t` falls on in `zone`.
pub fn local_day<Z: TimeZone>(t: DateTime<Utc>, zone: &Z) -> NaiveDate {
    t.with_timezone(zone).date_naive()
}

/// The first instant of `day` in `zone`: its midnight, or, where a clock change skips midnight,
/// the first minute after the gap. A period that starts on `day` starts here.
pub fn day_start<Z: TimeZone>(day: NaiveDate, zone: &Z) -> DateTime<Utc> {
    let midnight = day.and_time(NaiveTime::MIN);
    (0..=24 * 60)
        .find_map(|m| {
            zone.from_local_datetime(&(midnight + Duration::minutes(m)))
                .earliest()
        })
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}

/// `s` quoted for a POSIX shell when it needs quoting, so a printed command can be pasted.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America, Australia};

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_meetings_day_is_its_local_day_in_the_users_zone() {
        // Monday 08:00 in Sydney is Sunday 21:00 UTC; Sunday 19:00 in Los Angeles is Monday
        // 03:00 UTC.
        let sydney_monday = utc("2026-11-29T21:00:00Z");
        assert_eq!(
            local_day(sydney_monday, &Australia::Sydney),
            date(2026, 11, 30)
        );
        assert_eq!(local_day(sydney_monday, &Utc), date(2026, 11, 29));
        let la_sunday = utc("2026-11-30T03:00:00Z");
        assert_eq!(
            local_day(la_sunday, &America::Los_Angeles),
            date(2026, 11, 29)
        );
        assert_eq!(local_day(la_sunday, &Utc), date(2026, 11, 30));
    }

    #[test]
    fn a_day_starts_at_local_midnight_or_just_after_a_clock_change_that_skips_it() {
        let monday = date(2026, 11, 30);
        assert_eq!(day_start(monday, &Utc), utc("2026-11-30T00:00:00Z"));
        assert_eq!(
            day_start(monday, &Australia::Sydney),
            utc("2026-11-29T13:00:00Z")
        );
        assert_eq!(
            day_start(monday, &America::Los_Angeles),
            utc("2026-11-30T08:00:00Z")
        );
        // Santiago moves its clocks from 00:00 to 01:00 on 6 September 2026.
        let skipped = day_start(date(2026, 9, 6), &America::Santiago);
        assert_eq!(skipped, utc("2026-09-06T04:00:00Z"));
    }

    #[test]
    fn shell_quoting_leaves_plain_words_and_quotes_the_rest() {
        assert_eq!(shell_quote("Acme"), "Acme");
        assert_eq!(shell_quote("work/abc@x/single"), "work/abc@x/single");
        assert_eq!(shell_quote("Acme Inc"), "'Acme Inc'");
        assert_eq!(shell_quote("O'Neil"), r"'O'\''Neil'");
        assert_eq!(shell_quote(""), "''");
    }
}
