//! Won, lost or open: an account's state from its outcomes and the user's corrections
//! (docs/design.md, "Coaching rules").
//!
//! - `committed` on the last rung of the ladder (the sale) wins the account on that meeting's
//!   day; `no_sale` loses it. The latest such outcome (by meeting start) counts; later outcomes
//!   that close nothing do not reopen it (`nextstep account NAME --reopen` does).
//! - The latest mark of the account (by `seq`) overrides that: won or lost on its date, or open
//!   again for `reopen`; except that an outcome which closes the account and was recorded after
//!   the mark closes it again, so a reopened account that later says no is lost.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Serialize;

use super::{day_of, ladder::rung_of};
use crate::model::{AccountMark, LedgerRow, MarkKind, MeetingId, Outcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Open,
    Won,
    Lost,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Won => "won",
            State::Lost => "lost",
        }
    }
}

/// What decided an account's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum StatusSource {
    /// Nothing closed it.
    Nothing,
    /// A meeting's outcome (`committed` on the last rung, or `no_sale`).
    Outcome { meeting: MeetingId },
    /// The user's mark (`nextstep account NAME --won|--lost|--reopen`).
    Mark { seq: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountStatus {
    pub account: String,
    pub state: State,
    /// The day it was won or lost; `None` while open.
    pub on: Option<NaiveDate>,
    pub source: StatusSource,
}

/// A closing outcome: the state it sets, its day, its meeting and when it was recorded.
fn closing<Z: TimeZone>(
    ladder: &[String],
    r: &LedgerRow,
    zone: &Z,
) -> Option<(State, NaiveDate, DateTime<Utc>)> {
    let o = r.outcome.as_ref()?;
    let last = ladder.len().checked_sub(1)?;
    let state = match o.result {
        Outcome::NoSale => State::Lost,
        Outcome::Committed
            if r.objective
                .as_ref()
                .and_then(|ob| rung_of(ladder, &ob.text))
                == Some(last) =>
        {
            State::Won
        }
        _ => return None,
    };
    Some((state, day_of(r, zone), o.recorded_at))
}

/// The state of `account` from its rows and its marks (any order; only this account's); a
/// closing outcome dates the close on its meeting's day in `zone`.
pub fn status<Z: TimeZone>(
    ladder: &[String],
    account: &str,
    rows_of_account: &[LedgerRow],
    marks_of_account: &[AccountMark],
    zone: &Z,
) -> AccountStatus {
    decide(
        ladder,
        account,
        rows_of_account.iter(),
        marks_of_account.iter(),
        zone,
    )
}

fn decide<'a, Z: TimeZone>(
    ladder: &[String],
    account: &str,
    rows: impl Iterator<Item = &'a LedgerRow>,
    marks: impl Iterator<Item = &'a AccountMark>,
    zone: &Z,
) -> AccountStatus {
    let closed = rows
        .filter(|r| r.customer)
        .filter_map(|r| closing(ladder, r, zone).map(|c| (r, c)))
        .max_by(|(a, _), (b, _)| (a.start, &a.id).cmp(&(b.start, &b.id)));
    let mark = marks.max_by_key(|m| m.seq);
    let by_outcome = closed.as_ref().map(|(r, (state, on, _))| AccountStatus {
        account: account.to_owned(),
        state: *state,
        on: Some(*on),
        source: StatusSource::Outcome {
            meeting: r.id.clone(),
        },
    });
    let outcome_after_mark = match (&closed, mark) {
        (Some((_, (_, _, recorded))), Some(m)) => *recorded > m.at,
        _ => false,
    };
    match mark {
        Some(m) if !outcome_after_mark => {
            let (state, on) = match m.kind {
                MarkKind::Won => (State::Won, Some(m.on)),
                MarkKind::Lost => (State::Lost, Some(m.on)),
                MarkKind::Reopen => (State::Open, None),
            };
            AccountStatus {
                account: account.to_owned(),
                state,
                on,
                source: StatusSource::Mark { seq: m.seq },
            }
        }
        _ => by_outcome.unwrap_or_else(|| AccountStatus {
            account: account.to_owned(),
            state: State::Open,
            on: None,
            source: StatusSource::Nothing,
        }),
    }
}

/// [`status`] of every account that `rows` or `marks` name, by account name.
pub fn status_of_all<Z: TimeZone>(
    ladder: &[String],
    rows: &[LedgerRow],
    marks: &[AccountMark],
    zone: &Z,
) -> BTreeMap<String, AccountStatus> {
    type Grouped<'a> = (Vec<&'a LedgerRow>, Vec<&'a AccountMark>);
    let mut by_account: BTreeMap<&str, Grouped<'_>> = BTreeMap::new();
    for r in rows {
        if let Some(a) = r.account.as_deref() {
            by_account.entry(a).or_default().0.push(r);
        }
    }
    for m in marks {
        by_account.entry(&m.account).or_default().1.push(m);
    }
    by_account
        .into_iter()
        .map(|(a, (rows, marks))| {
            let st = decide(ladder, a, rows.into_iter(), marks.into_iter(), zone);
            (a.to_owned(), st)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coach::testing::{day, ladder, mark, meeting, meeting_at};
    use crate::model::Outcome::*;
    use chrono::Utc;
    use chrono_tz::{America, Australia};

    fn state(rows: &[LedgerRow], marks: &[AccountMark]) -> (State, Option<NaiveDate>) {
        let s = status(&ladder(), "Acme", rows, marks, &Utc);
        (s.state, s.on)
    }

    /// The day `account`'s `no_sale` meeting starting at `start` (RFC 3339) loses it, in `zone`.
    fn lost_on<Z: TimeZone>(start: &str, zone: &Z) -> Option<NaiveDate> {
        let rows = [meeting_at(
            "Acme",
            start.parse().unwrap(),
            None,
            Some(NoSale),
        )];
        status(&ladder(), "Acme", &rows, &[], zone).on
    }

    #[test]
    fn a_monday_morning_meeting_in_sydney_closes_the_account_on_monday() {
        // Monday 30 November 08:00 in Sydney (UTC+11) is Sunday 21:00 UTC.
        let start = "2026-11-29T21:00:00Z";
        assert_eq!(lost_on(start, &Australia::Sydney), Some(day(11, 30)));
        assert_eq!(lost_on(start, &Utc), Some(day(11, 29)));
    }

    #[test]
    fn an_evening_meeting_in_los_angeles_closes_the_account_on_its_local_day() {
        // Sunday 29 November 19:00 in Los Angeles (UTC−8) is Monday 03:00 UTC.
        let start = "2026-11-30T03:00:00Z";
        assert_eq!(lost_on(start, &America::Los_Angeles), Some(day(11, 29)));
        assert_eq!(lost_on(start, &Utc), Some(day(11, 30)));
    }

    #[test]
    fn an_account_without_closing_outcomes_or_marks_is_open() {
        let l = ladder();
        let rows = [meeting("Acme", (11, 2), Some(&l[4]), Some(Committed))];
        assert_eq!(state(&rows, &[]), (State::Open, None));
        assert_eq!(state(&[], &[]), (State::Open, None));
    }

    #[test]
    fn committed_on_the_last_rung_wins_and_no_sale_loses_on_the_meeting_day() {
        let l = ladder();
        let won = [meeting("Acme", (11, 2), Some(&l[5]), Some(Committed))];
        assert_eq!(state(&won, &[]), (State::Won, Some(day(11, 2))));
        let lost = [meeting("Acme", (11, 3), Some("Lunch"), Some(NoSale))];
        assert_eq!(state(&lost, &[]), (State::Lost, Some(day(11, 3))));
        // The latest closing outcome counts; a later continuation does not reopen.
        let both = [
            lost[0].clone(),
            won[0].clone(),
            meeting("Acme", (11, 20), Some(&l[0]), Some(Continuation)),
        ];
        assert_eq!(state(&both, &[]), (State::Lost, Some(day(11, 3))));
    }

    #[test]
    fn the_latest_mark_overrides_the_outcomes_and_reopen_opens_again() {
        let l = ladder();
        let won = [meeting("Acme", (11, 2), Some(&l[5]), Some(Committed))];
        let lost_mark = mark("Acme", MarkKind::Lost, day(11, 10), 1, (11, 12));
        assert_eq!(
            state(&won, std::slice::from_ref(&lost_mark)),
            (State::Lost, Some(day(11, 10)))
        );
        let reopen = mark("Acme", MarkKind::Reopen, day(11, 14), 2, (11, 14));
        let s = status(&l, "Acme", &won, &[reopen.clone(), lost_mark.clone()], &Utc);
        assert_eq!((s.state, s.on), (State::Open, None));
        assert_eq!(s.source, StatusSource::Mark { seq: 2 });
        let won_mark = mark("Acme", MarkKind::Won, day(11, 30), 3, (12, 1));
        assert_eq!(
            state(&[], &[lost_mark, reopen, won_mark]),
            (State::Won, Some(day(11, 30)))
        );
    }

    #[test]
    fn a_closing_outcome_recorded_after_a_reopen_closes_the_account_again() {
        let reopen = mark("Acme", MarkKind::Reopen, day(11, 1), 1, (11, 1));
        let rows = [meeting("Acme", (11, 5), None, Some(NoSale))];
        assert_eq!(state(&rows, &[reopen]), (State::Lost, Some(day(11, 5))));
    }

    #[test]
    fn every_account_named_by_a_row_or_a_mark_gets_a_status() {
        let rows = [meeting("Acme", (11, 5), None, Some(NoSale))];
        let marks = [mark("Globex", MarkKind::Won, day(11, 1), 1, (11, 1))];
        let all = status_of_all(&ladder(), &rows, &marks, &Utc);
        assert_eq!(all["Acme"].state, State::Lost);
        assert_eq!(all["Globex"].state, State::Won);
    }
}
