//! What each page shows, gathered from the ledger and the calendars' last snapshots: plain
//! values that `pages` turns into HTML. The choices that are not mere reading (which accounts
//! have stalled, which weeks a filter keeps) are pure functions with their own tests.
//!
//! The calendars are read from the snapshots the daemon (or a CLI command) last saved, never
//! polled here: a page must answer at once, and a poll may take seconds.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{DateTime, Datelike, Duration, Local, NaiveDate, TimeZone, Utc};
use serde::Deserialize;

use crate::classify::Classifier;
use crate::coach::{self, Slipped, Suggestion};
use crate::config::Config;
use crate::ledger::{Answered, Ledger, LedgerError, PendingItem};
use crate::model::{LedgerRow, Meeting, MeetingId, Outcome, PromptKind, Verdict};
use crate::report::{NO_ACCOUNT, Report, Stats};
use crate::source::snapshot;

/// How far ahead the home page lists meetings.
pub const HOME_DAYS: i64 = 7;

/// A meeting with its verdict, from a snapshot or the ledger.
pub type Known = (Meeting, Verdict);

/// Every meeting in the calendars' last snapshots, classified with the ledger's overrides.
pub fn snapshot_meetings(
    config: &Config,
    data_dir: &Path,
    ledger: &Ledger,
) -> Result<Vec<Known>, LedgerError> {
    let mut all: Vec<Meeting> = Vec::new();
    for cal in &config.calendars {
        match snapshot::load(&snapshot::path(data_dir, &cal.name)) {
            Ok(Some(s)) => all.extend(s.meetings),
            Ok(None) => {}
            Err(e) => tracing::warn!(source = %cal.name, "ignoring an unreadable snapshot: {e}"),
        }
    }
    let ids: Vec<MeetingId> = all.iter().map(|m| m.id.clone()).collect();
    let states = ledger.states(&ids, config.prompts.snooze)?;
    let mut classifier = Classifier::new(&config.identity, &config.classify, &config.accounts);
    let mut out: Vec<Known> = classifier
        .classify_all(&all, &states)
        .map(|(m, v)| (m.clone(), v))
        .collect();
    out.sort_by(|a, b| a.0.start.cmp(&b.0.start).then(a.0.id.cmp(&b.0.id)));
    Ok(out)
}

/// Meeting `id` from the snapshots, else from the ledger (one that left the calendar window).
pub fn find(
    config: &Config,
    data_dir: &Path,
    ledger: &Ledger,
    id: &str,
) -> Result<Option<Known>, LedgerError> {
    let from_snapshot = snapshot_meetings(config, data_dir, ledger)?
        .into_iter()
        .find(|(m, _)| m.id.as_str() == id);
    if from_snapshot.is_some() {
        return Ok(from_snapshot);
    }
    Ok(ledger
        .find(&MeetingId(id.to_owned()))?
        .map(|r| crate::cli::row_meeting(&r)))
}

/// One coming customer meeting on the home page.
#[derive(Debug, Clone)]
pub struct Coming {
    pub id: MeetingId,
    pub title: String,
    pub start: DateTime<Utc>,
    pub account: Option<String>,
    pub objective: Option<String>,
}

/// The home page.
#[derive(Debug, Clone)]
pub struct Home {
    pub coming: Vec<Coming>,
    pub pending: Vec<PendingItem>,
    pub this_week: Stats,
    pub last_week: Stats,
    pub objectives: Vec<String>,
    /// The next rung of each pending objective's account, by meeting (`prompts.ladder`).
    pub suggestions: HashMap<MeetingId, Suggestion>,
}

pub fn home(
    config: &Config,
    data_dir: &Path,
    ledger: &Ledger,
    now: DateTime<Utc>,
) -> Result<Home, LedgerError> {
    let until = now + Duration::days(HOME_DAYS);
    let mut coming: BTreeMap<(DateTime<Utc>, MeetingId), Coming> = BTreeMap::new();
    let known = snapshot_meetings(config, data_dir, ledger)?;
    let ids: Vec<MeetingId> = known.iter().map(|(m, _)| m.id.clone()).collect();
    let states = ledger.states(&ids, config.prompts.snooze)?;
    for (m, v) in known {
        if v.customer && m.end > now && m.start < until {
            let objective = states
                .get(&m.id)
                .and_then(|s| s.objective.as_ref())
                .map(|o| o.text.clone());
            coming.insert(
                (m.start, m.id.clone()),
                Coming {
                    id: m.id,
                    title: m.title,
                    start: m.start,
                    account: v.account,
                    objective,
                },
            );
        }
    }
    // Meetings the ledger knows but no snapshot holds (no calendar polled here yet).
    for r in ledger.customer_meetings_in_period(Some(now - Duration::days(1)), Some(until))? {
        if r.end > now && r.start < until && r.gone_at.is_none() {
            coming
                .entry((r.start, r.id.clone()))
                .or_insert_with(|| Coming {
                    id: r.id.clone(),
                    title: r.title.clone(),
                    start: r.start,
                    account: r.account.clone(),
                    objective: r.objective.as_ref().map(|o| o.text.clone()),
                });
        }
    }
    let monday = week_start(now, &Local);
    let before = week_start(monday - Duration::days(1), &Local);
    let rows = ledger.customer_meetings_in_period(Some(before), None)?;
    let this_week = crate::report::build(&rows, Some(monday), now, &Local).total;
    let last: Vec<LedgerRow> = rows.into_iter().filter(|r| r.start < monday).collect();
    let last_week = crate::report::build(&last, Some(before), now, &Local).total;
    let pending = ledger.pending(now)?;
    let mut suggestions = HashMap::new();
    for p in pending.iter().filter(|p| p.kind == PromptKind::Objective) {
        if let Some(a) = p.account.as_deref().filter(|_| config.prompts.ladder) {
            let rows = ledger.customer_meetings_of_account(a)?;
            if let Some(s) = coach::suggest(&config.prompts.objectives, &rows, p.start) {
                suggestions.insert(p.meeting.clone(), s);
            }
        }
    }
    Ok(Home {
        suggestions,
        coming: coming.into_values().collect(),
        pending,
        this_week,
        last_week,
        objectives: config.prompts.objectives.clone(),
    })
}

/// The start of Monday of `now`'s ISO week in `zone` (the report's weeks are ISO weeks in the
/// user's zone).
pub fn week_start<Z: TimeZone>(now: DateTime<Utc>, zone: &Z) -> DateTime<Utc> {
    let today = coach::local_day(now, zone);
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    coach::day_start(monday, zone)
}

/// The meeting page.
#[derive(Debug, Clone)]
pub struct MeetingPage {
    pub meeting: Meeting,
    pub verdict: Verdict,
    pub row: Option<LedgerRow>,
    pub objective_by: Option<Answered>,
    pub outcome_by: Option<Answered>,
    /// What this account committed to last time, and whether it happened (that meeting's
    /// outcome).
    pub last_commitment: Option<String>,
    /// The account's meetings (or, without an account, the series'), newest first.
    pub history: Vec<LedgerRow>,
    pub objectives: Vec<String>,
    /// The account's next rung, offered first (`prompts.ladder`; docs/design.md, "Prompt rules").
    pub suggestion: Option<Suggestion>,
    pub now: DateTime<Utc>,
}

pub fn meeting(
    config: &Config,
    data_dir: &Path,
    ledger: &Ledger,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<MeetingPage>, LedgerError> {
    let Some((meeting, verdict)) = find(config, data_dir, ledger, id)? else {
        return Ok(None);
    };
    let row = ledger.find(&meeting.id)?;
    let objective_by = ledger.answered(&meeting.id, PromptKind::Objective)?;
    let outcome_by = ledger.answered(&meeting.id, PromptKind::Outcome)?;
    let last_commitment = match &verdict.account {
        Some(a) => ledger.last_commitment(a, meeting.start)?,
        None => None,
    };
    let series = meeting.id.series().to_owned();
    let mut history = match &verdict.account {
        Some(a) => ledger.customer_meetings_of_account(a)?,
        None => ledger.customer_meetings_of_series(&series)?,
    };
    // The account's meetings are what the ladder reads.
    let suggestion = match &verdict.account {
        Some(_) if config.prompts.ladder => {
            coach::suggest(&config.prompts.objectives, &history, meeting.start)
        }
        _ => None,
    };
    history.reverse();
    Ok(Some(MeetingPage {
        suggestion,
        meeting,
        verdict,
        row,
        objective_by,
        outcome_by,
        last_commitment,
        history,
        objectives: config.prompts.objectives.clone(),
        now,
    }))
}

/// The report page's filters, as the query string carries them.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Filter {
    /// First day (UTC) of the period.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub since: Option<NaiveDate>,
    /// Last day (UTC) of the period, included.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub until: Option<NaiveDate>,
    #[serde(default, deserialize_with = "empty_as_none")]
    pub account: Option<String>,
}

/// An empty form field (`since=`) is no filter, not a bad date.
fn empty_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let s: Option<String> = Option::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => t.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

impl Filter {
    /// The start of the period: the start of its first day in `zone`.
    pub fn since_time<Z: TimeZone>(&self, zone: &Z) -> Option<DateTime<Utc>> {
        self.since.map(|d| coach::day_start(d, zone))
    }

    /// The end of the period: midnight (in `zone`) after its last day.
    pub fn until_time<Z: TimeZone>(&self, zone: &Z) -> Option<DateTime<Utc>> {
        self.until
            .and_then(|d| d.succ_opt())
            .map(|d| coach::day_start(d, zone))
    }

    /// The customer meetings of the period (read from the ledger for that period only) that
    /// the filter keeps, oldest first; the period's days are the user's local ones.
    fn rows(&self, ledger: &Ledger) -> Result<Vec<LedgerRow>, LedgerError> {
        Ok(ledger
            .customer_meetings_in_period(self.since_time(&Local), self.until_time(&Local))?
            .into_iter()
            .filter(|r| self.keeps(r, &Local))
            .collect())
    }

    /// Whether `r` lies in the period (days in `zone`) and the account.
    pub fn keeps<Z: TimeZone>(&self, r: &LedgerRow, zone: &Z) -> bool {
        let day = coach::local_day(r.start, zone);
        self.since.is_none_or(|s| day >= s)
            && self.until.is_none_or(|u| day <= u)
            && self
                .account
                .as_deref()
                .is_none_or(|a| r.account.as_deref().unwrap_or(NO_ACCOUNT) == a)
    }

    /// The query string of this filter (for the download links).
    pub fn query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(s) = self.since {
            q.append_pair("since", &s.to_string());
        }
        if let Some(u) = self.until {
            q.append_pair("until", &u.to_string());
        }
        if let Some(a) = &self.account {
            q.append_pair("account", a);
        }
        q.finish()
    }
}

/// An account whose latest outcomes were `continuation`, two or more in a row: friendly
/// meetings that lead nowhere, the warning sign of a stalled deal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stalled {
    pub account: String,
    /// How many of its latest outcomes in a row were `continuation`.
    pub streak: u32,
    pub last: DateTime<Utc>,
}

/// The stalled accounts among `rows`, longest streak first. Only meetings with an outcome count;
/// `rescheduled` and `cancelled` did not take place and neither break nor extend a streak.
pub fn stalled(rows: &[LedgerRow]) -> Vec<Stalled> {
    let mut by_account: HashMap<&str, Vec<(&DateTime<Utc>, Outcome)>> = HashMap::new();
    for r in rows {
        if let Some(o) = &r.outcome
            && !matches!(o.result, Outcome::Rescheduled | Outcome::Cancelled)
        {
            by_account
                .entry(r.account.as_deref().unwrap_or(NO_ACCOUNT))
                .or_default()
                .push((&r.start, o.result));
        }
    }
    let mut out: Vec<Stalled> = by_account
        .into_iter()
        .filter_map(|(account, mut outcomes)| {
            outcomes.sort_by_key(|(t, _)| **t);
            let last = *outcomes.last()?.0;
            let streak = outcomes
                .iter()
                .rev()
                .take_while(|(_, o)| *o == Outcome::Continuation)
                .count();
            (streak >= 2).then(|| Stalled {
                account: account.to_owned(),
                streak: u32::try_from(streak).unwrap_or(u32::MAX),
                last,
            })
        })
        .collect();
    out.sort_by(|a, b| b.streak.cmp(&a.streak).then(a.account.cmp(&b.account)));
    out
}

/// The report page.
#[derive(Debug, Clone)]
pub struct ReportPage {
    pub filter: Filter,
    pub report: Report,
    pub stalled: Vec<Stalled>,
    /// Every account in the ledger, for the filter's choices.
    pub accounts: Vec<String>,
    /// The slipped commitments of open accounts (see [`with_coaching`], which also adds the
    /// sell cycle to `report`); empty until then.
    pub slipped: Vec<Slipped>,
    /// The rows read for a filter without a period: the very rows [`with_coaching`] reads (the
    /// whole ledger, or one account's), kept so that the report page reads them once, not twice.
    whole: Option<Vec<LedgerRow>>,
}

/// `page` with its coaching part (docs/design.md, "Coaching rules"): the report's sell cycle
/// ([`Report::with_coaching`]: accounts closed in the period, each measured from its first
/// meeting) and the list of slipped commitments of open accounts as of the user's `today`, over
/// the whole ledger (or the filter's account), whatever the period.
pub fn with_coaching(
    mut page: ReportPage,
    ledger: &Ledger,
    ladder: &[String],
    today: NaiveDate,
) -> Result<ReportPage, LedgerError> {
    // The whole ledger (a cycle starts at the account's first meeting, before any period), or
    // one account's meetings through its index.
    let rows: Vec<LedgerRow> = match page.filter.account.as_deref() {
        _ if page.whole.is_some() => page.whole.take().unwrap_or_default(),
        Some(a) if a != NO_ACCOUNT => ledger.customer_meetings_of_account(a)?,
        Some(_) => ledger
            .customer_meetings(None)?
            .into_iter()
            .filter(|r| r.account.is_none())
            .collect(),
        None => ledger.customer_meetings(None)?,
    };
    let marks = ledger.account_marks(None)?;
    page.slipped = coach::open_slipped(ladder, &rows, &marks, today, &Local);
    page.report = page
        .report
        .with_coaching(ladder, &rows, &marks, today, &Local);
    Ok(page)
}

/// The customer meetings `filter` keeps, oldest first: what the report adds up and the downloads
/// hold.
pub fn filtered_rows(ledger: &Ledger, filter: &Filter) -> Result<Vec<LedgerRow>, LedgerError> {
    filter.rows(ledger)
}

pub fn report(
    ledger: &Ledger,
    filter: Filter,
    now: DateTime<Utc>,
) -> Result<ReportPage, LedgerError> {
    let mut accounts: Vec<String> = ledger
        .customer_accounts()?
        .into_iter()
        .map(|a| a.unwrap_or_else(|| NO_ACCOUNT.to_owned()))
        .collect();
    accounts.sort();
    accounts.dedup();
    let rows = filter.rows(ledger)?;
    let report = crate::report::build(&rows, filter.since_time(&Local), now, &Local);
    let stalled = stalled(&rows);
    let whole = (filter.since.is_none() && filter.until.is_none()).then_some(rows);
    Ok(ReportPage {
        stalled,
        report,
        filter,
        accounts,
        slipped: Vec::new(),
        whole,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{ledger_row, t};
    use crate::model::{OutcomeRecord, Via};

    fn row(account: &str, day: u32, outcome: Option<Outcome>) -> LedgerRow {
        let start = t(10, 0) + Duration::days(i64::from(day));
        let name = format!("{account}{day}");
        LedgerRow {
            outcome: outcome.map(|result| OutcomeRecord {
                result,
                next_step: None,
                note: None,
                recorded_at: start,
                via: Via::Cli,
                due: None,
            }),
            ..ledger_row("w", &name, account, start, start + Duration::hours(1))
        }
    }

    #[test]
    fn an_account_whose_last_two_outcomes_were_continuation_has_stalled() {
        use Outcome::*;
        let rows = vec![
            row("acme", 1, Some(Committed)),
            row("acme", 2, Some(Continuation)),
            row("acme", 3, Some(Rescheduled)),
            row("acme", 4, Some(Continuation)),
            row("acme", 5, None),
            row("beta", 1, Some(Continuation)),
            row("beta", 2, Some(Advanced)),
            row("gamma", 1, Some(Continuation)),
            row("gamma", 2, Some(Continuation)),
            row("gamma", 3, Some(Continuation)),
        ];
        let s = stalled(&rows);
        let names: Vec<(&str, u32)> = s.iter().map(|s| (s.account.as_str(), s.streak)).collect();
        assert_eq!(names, [("gamma", 3), ("acme", 2)]);
        assert_eq!(s[1].last, rows[3].start);
    }

    #[test]
    fn the_filter_keeps_the_period_both_days_included_and_the_account() {
        let f = Filter {
            since: Some(t(0, 0).date_naive() + Duration::days(2)),
            until: Some(t(0, 0).date_naive() + Duration::days(3)),
            account: Some("acme".into()),
        };
        let kept: Vec<u32> = (1..=4)
            .filter(|d| f.keeps(&row("acme", *d, None), &Utc))
            .collect();
        assert_eq!(kept, [2, 3]);
        assert!(!f.keeps(&row("beta", 2, None), &Utc));
        assert!(f.query().contains("account=acme"));
    }

    #[test]
    fn the_period_read_from_the_ledger_ends_at_midnight_after_its_last_day() {
        let first = t(0, 0).date_naive() + Duration::days(2);
        let f = Filter {
            since: Some(first),
            until: Some(first + Duration::days(1)),
            account: None,
        };
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap().and_utc();
        assert_eq!(f.since_time(&Utc), Some(midnight(first)));
        assert_eq!(
            f.until_time(&Utc),
            Some(midnight(first + Duration::days(2)))
        );
        assert_eq!(Filter::default().until_time(&Utc), None);
    }

    #[test]
    fn empty_filter_fields_mean_no_filter() {
        let f: Filter =
            serde_urlencoded_like("since=&until=&account=").expect("empty fields parse");
        assert_eq!(f, Filter::default());
        assert!(serde_urlencoded_like("since=yesterday").is_err());
    }

    fn serde_urlencoded_like(q: &str) -> Result<Filter, String> {
        axum::extract::Query::<Filter>::try_from_uri(&format!("/r?{q}").parse().unwrap())
            .map(|q| q.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_week_starts_on_monday_at_midnight_utc() {
        let wed = "2026-12-02T15:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            week_start(wed, &Utc).to_rfc3339(),
            "2026-11-30T00:00:00+00:00"
        );
    }

    #[test]
    fn the_week_starts_on_the_users_local_monday() {
        // Monday 08:00 in Sydney is still Sunday in UTC: that week began at Sydney's midnight.
        let mon = "2026-11-29T21:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let sydney = week_start(mon, &chrono_tz::Australia::Sydney);
        assert_eq!(sydney.to_rfc3339(), "2026-11-29T13:00:00+00:00");
        assert_eq!(
            week_start(mon, &Utc).to_rfc3339(),
            "2026-11-23T00:00:00+00:00"
        );
    }
}
