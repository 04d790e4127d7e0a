//! The weekly look back (docs/design.md, "Coaching rules"): slipped commitments, open accounts
//! whose last two outcomes were `continuation`, and last week's customer meetings still without
//! an outcome, each with the command that answers it. `Display` is the plain text that
//! `nextstep digest` prints and the weekly notification shows.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use serde::Serialize;

use super::slipped::{Slipped, slipped};
use super::status::{AccountStatus, State, status_of_all};
use super::{day_of, decisive, happens, shell_quote};
use crate::model::{AccountMark, LedgerRow, MeetingId, Outcome};

/// How far back "last week's meetings without an outcome" reaches.
pub const DIGEST_LOOKBACK: TimeDelta = TimeDelta::days(7);

/// An open account whose last two decisive outcomes were `continuation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stalled {
    pub account: String,
    /// The two meetings, older first.
    pub meetings: [MeetingId; 2],
    /// Their days.
    pub days: [NaiveDate; 2],
    /// The command that shows the account's history and its next objective.
    pub command: String,
}

/// A customer meeting of the past week that ended without an outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Awaiting {
    pub meeting: MeetingId,
    pub account: Option<String>,
    pub title: String,
    pub start: DateTime<Utc>,
    /// The command that records its outcome (`RESULT` to be filled in).
    pub command: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Digest {
    pub generated_at: DateTime<Utc>,
    /// The user's day the digest is for (slipped means due before it).
    pub today: NaiveDate,
    pub slipped: Vec<Slipped>,
    pub stalled: Vec<Stalled>,
    pub awaiting: Vec<Awaiting>,
}

impl Digest {
    /// Nothing to look back on.
    pub fn is_empty(&self) -> bool {
        self.slipped.is_empty() && self.stalled.is_empty() && self.awaiting.is_empty()
    }
}

/// The slipped commitments of accounts that are neither won nor lost: the digest's list, and
/// the count `report` shows.
pub fn open_slipped<Z: TimeZone>(
    ladder: &[String],
    rows: &[LedgerRow],
    marks: &[AccountMark],
    today: NaiveDate,
    zone: &Z,
) -> Vec<Slipped> {
    let statuses = status_of_all(ladder, rows, marks, zone);
    slipped(rows, today)
        .into_iter()
        .filter(|s| is_open(&statuses, s.account.as_deref()))
        .collect()
}

/// Whether `account` is neither won nor lost (a meeting without an account is open).
fn is_open(statuses: &BTreeMap<String, AccountStatus>, account: Option<&str>) -> bool {
    account
        .and_then(|a| statuses.get(a))
        .is_none_or(|s| s.state == State::Open)
}

/// The digest of `rows` (the ledger's customer meetings) and `marks`, as of `now` and the
/// user's `today`. Slipped commitments and stalled accounts of accounts that are won or lost are
/// left out: there is nothing left to chase.
pub fn digest<Z: TimeZone>(
    ladder: &[String],
    rows: &[LedgerRow],
    marks: &[AccountMark],
    now: DateTime<Utc>,
    today: NaiveDate,
    zone: &Z,
) -> Digest {
    let statuses = status_of_all(ladder, rows, marks, zone);
    let open = |account: Option<&str>| is_open(&statuses, account);
    let slipped = slipped(rows, today)
        .into_iter()
        .filter(|s| open(s.account.as_deref()))
        .collect();

    let mut decisive_by_account: BTreeMap<&str, Vec<&LedgerRow>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.customer) {
        if let (Some(a), Some(o)) = (r.account.as_deref(), r.outcome.as_ref())
            && decisive(o.result)
        {
            decisive_by_account.entry(a).or_default().push(r);
        }
    }
    let mut stalled = Vec::new();
    for (account, mut list) in decisive_by_account {
        if !open(Some(account)) {
            continue;
        }
        list.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
        let [.., a, b] = list[..] else { continue };
        let continuation = |r: &LedgerRow| {
            r.outcome
                .as_ref()
                .is_some_and(|o| o.result == Outcome::Continuation)
        };
        if continuation(a) && continuation(b) {
            stalled.push(Stalled {
                account: account.to_owned(),
                meetings: [a.id.clone(), b.id.clone()],
                days: [day_of(a, zone), day_of(b, zone)],
                command: format!("nextstep account {}", shell_quote(account)),
            });
        }
    }

    let awaiting = rows
        .iter()
        .filter(|r| {
            happens(r) && r.outcome.is_none() && r.end <= now && r.end > now - DIGEST_LOOKBACK
        })
        .map(|r| Awaiting {
            meeting: r.id.clone(),
            account: r.account.clone(),
            title: r.title.clone(),
            start: r.start,
            command: format!(
                "nextstep outcome RESULT --meeting {}",
                shell_quote(r.id.as_str())
            ),
        })
        .collect();

    Digest {
        generated_at: now,
        today,
        slipped,
        stalled,
        awaiting,
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Weekly look back, {}", self.today.format("%Y-%m-%d"))?;
        if self.is_empty() {
            return writeln!(
                f,
                "Nothing to chase: no commitment slipped, no account is stuck, and every \
                 customer meeting of the past week has an outcome."
            );
        }
        section(f, "Slipped commitments", &self.slipped, |s| {
            let who = s.account.as_deref().unwrap_or(&s.title);
            let what = s
                .next_step
                .as_deref()
                .map(|n| format!("“{n}”"))
                .unwrap_or_else(|| "the next step".to_owned());
            let days = if s.days_late == 1 { "day" } else { "days" };
            let line = format!(
                "{who}: {what} was due {} ({} {days} ago), and no meeting since",
                s.due.format("%Y-%m-%d"),
                s.days_late
            );
            (line, &s.command)
        })?;
        section(f, "No commitment twice in a row", &self.stalled, |s| {
            let line = format!(
                "{}: no commitment on {} and {}",
                s.account,
                s.days[0].format("%Y-%m-%d"),
                s.days[1].format("%Y-%m-%d")
            );
            (line, &s.command)
        })?;
        section(
            f,
            "Meetings of the past week without an outcome",
            &self.awaiting,
            |a| {
                let account = a
                    .account
                    .as_deref()
                    .map(|a| format!(" ({a})"))
                    .unwrap_or_default();
                let line = format!(
                    "{} {}{account}",
                    a.start.format("%Y-%m-%d %H:%M UTC"),
                    a.title
                );
                (line, &a.command)
            },
        )?;
        Ok(())
    }
}

/// One list of the digest, left out when empty: its title with the count, then each item's
/// line and, below it, the command that answers it.
fn section<T>(
    f: &mut fmt::Formatter<'_>,
    title: &str,
    items: &[T],
    line: impl Fn(&T) -> (String, &String),
) -> fmt::Result {
    if items.is_empty() {
        return Ok(());
    }
    writeln!(f, "\n{title} ({}):", items.len())?;
    for item in items {
        let (text, command) = line(item);
        writeln!(f, "  {text}")?;
        writeln!(f, "    {command}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coach::testing::{at, dated, day, ladder, mark, meeting, meeting_at};
    use crate::model::{MarkKind, Outcome::*};
    use chrono_tz::{America, Australia};

    fn seeded() -> Vec<LedgerRow> {
        vec![
            // Slipped: due 11-25, nothing since.
            dated(
                "Acme",
                (11, 18),
                Advanced,
                "Review the proposal",
                day(11, 25),
            ),
            // Stalled: two continuations in a row (a no-show between does not break it).
            meeting("Globex", (11, 10), Some("x"), Some(Continuation)),
            meeting("Globex", (11, 17), None, Some(NoShow)),
            meeting("Globex", (11, 24), Some("x"), Some(Continuation)),
            // Last week, no outcome.
            meeting("Initech", (11, 27), None, None),
            // Older than a week, no outcome: not in the digest.
            meeting("Initech", (11, 10), None, None),
        ]
    }

    #[test]
    fn the_digest_lists_slipped_stalled_and_awaiting_each_with_its_command() {
        let d = digest(&ladder(), &seeded(), &[], at(12, 1), day(12, 1), &Utc);
        assert_eq!(d.slipped.len(), 1);
        assert_eq!(d.slipped[0].account.as_deref(), Some("Acme"));
        assert_eq!(d.stalled.len(), 1);
        assert_eq!(d.stalled[0].account, "Globex");
        assert_eq!(d.stalled[0].days, [day(11, 10), day(11, 24)]);
        assert_eq!(d.stalled[0].command, "nextstep account Globex");
        assert_eq!(d.awaiting.len(), 1);
        assert_eq!(
            d.awaiting[0].command,
            "nextstep outcome RESULT --meeting work/Initech-1127/single"
        );
        let text = d.to_string();
        assert!(text.starts_with("Weekly look back, 2026-12-01\n"), "{text}");
        assert!(
            text.contains("Acme: “Review the proposal” was due 2026-11-25 (6 days ago)"),
            "{text}"
        );
        assert!(
            text.contains("Globex: no commitment on 2026-11-10 and 2026-11-24"),
            "{text}"
        );
        assert!(text.contains("    nextstep outcome RESULT --meeting work/Initech-1127/single"));
    }

    /// The days of the stalled account whose two continuations start at `starts` (RFC 3339), in
    /// `zone`.
    fn stalled_days<Z: TimeZone>(starts: [&str; 2], zone: &Z) -> [NaiveDate; 2] {
        let rows =
            starts.map(|s| meeting_at("Globex", s.parse().unwrap(), None, Some(Continuation)));
        digest(&ladder(), &rows, &[], at(12, 1), day(12, 1), zone).stalled[0].days
    }

    #[test]
    fn stalled_meetings_are_named_by_their_day_in_the_users_zone() {
        // Monday 08:00 in Sydney (UTC+11) is Sunday 21:00 UTC; Sunday 19:00 in Los Angeles
        // (UTC−8) is Monday 03:00 UTC.
        let starts = ["2026-11-22T21:00:00Z", "2026-11-30T03:00:00Z"];
        let sydney = stalled_days(starts, &Australia::Sydney);
        assert_eq!(sydney, [day(11, 23), day(11, 30)]);
        let los_angeles = stalled_days(starts, &America::Los_Angeles);
        assert_eq!(los_angeles, [day(11, 22), day(11, 29)]);
        assert_eq!(stalled_days(starts, &Utc), [day(11, 22), day(11, 30)]);
    }

    #[test]
    fn closed_accounts_have_nothing_to_chase() {
        let marks = [
            mark("Acme", MarkKind::Lost, day(11, 28), 1, (11, 28)),
            mark("Globex", MarkKind::Won, day(11, 28), 2, (11, 28)),
        ];
        let d = digest(&ladder(), &seeded(), &marks, at(12, 1), day(12, 1), &Utc);
        assert!(d.slipped.is_empty() && d.stalled.is_empty(), "{d:?}");
        assert_eq!(d.awaiting.len(), 1);
    }

    #[test]
    fn an_empty_digest_says_there_is_nothing_to_chase() {
        let d = digest(&ladder(), &[], &[], at(12, 1), day(12, 1), &Utc);
        assert!(d.is_empty());
        assert!(d.to_string().contains("Nothing to chase"), "{d}");
    }
}
