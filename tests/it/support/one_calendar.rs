//! A config for running single commands over one ICS calendar: the user `me@mycorp.example`
//! (`mycorp.example` internal), the calendar `work` read from `cal.ics`, the ledger beside them,
//! and the half-hour meeting with Acme's Kim that most command-line tests start from.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::calendar::{Event, ics};

/// Kim of Acme, a customer, as an accepted guest.
pub const KIM: &str = "PARTSTAT=ACCEPTED:mailto:kim@acme.example";

/// A half-hour meeting `uid` with `guests` ([`Event`] attendees; [`KIM`] makes it a customer
/// meeting).
pub fn meeting<'a>(
    uid: &'a str,
    title: &'a str,
    start: DateTime<Utc>,
    guests: &'a [&'a str],
) -> Event<'a> {
    Event {
        uid,
        title,
        start,
        length: chrono::Duration::minutes(30),
        attendees: guests,
    }
}

/// Writes `dir/cal.ics` holding `events` and `dir/config.toml`: the user, `tables` (whole TOML
/// tables such as `[[accounts]]`, each ending in a blank line), the calendar and the ledger.
/// Returns the config's path.
pub fn write(dir: &Path, events: &[Event], tables: &str) -> PathBuf {
    let cal = dir.join("cal.ics");
    std::fs::write(&cal, ics(events)).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[identity]\nemails = [\"me@mycorp.example\"]\ninternal_domains = [\"mycorp.example\"]\n\n{tables}\
             [[calendars]]\nname = \"work\"\nkind = \"ics\"\npath = {:?}\n\n[ledger]\npath = {:?}\n",
            cal.display().to_string(),
            dir.join("ledger.sqlite3").display().to_string()
        ),
    )
    .unwrap();
    config
}
