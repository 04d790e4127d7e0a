//! What the commands that read the config share: [`CommandContext`] (the loaded config and where
//! its data lives), live polls and snapshots of the calendars, and the small helpers the answering
//! commands (`objective`, `outcome`) have in common.

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::classify::Classifier;
use crate::clock::{Clock, SystemClock};
use crate::config::{CalendarConfig, Config};
use crate::ledger::{Ledger, LedgerRow, Recorded};
use crate::model::{Meeting, MeetingId, PromptKind, Verdict, Via};
use crate::source::{self, SourceContext, snapshot};
use crate::{daemon, paths};

/// The context every configured command runs in: the config, the data directory, the ledger path
/// and the clock.
pub struct CommandContext {
    pub(super) config: Config,
    pub(super) data_dir: PathBuf,
    pub(super) ledger_path: PathBuf,
    pub(super) clock: SystemClock,
}

impl CommandContext {
    pub fn new(config: Config) -> CommandContext {
        let data_dir = paths::data_dir();
        let ledger_path = paths::ledger_file(&config, &data_dir);
        CommandContext {
            config,
            data_dir,
            ledger_path,
            clock: SystemClock,
        }
    }

    pub(super) fn ledger(&self) -> anyhow::Result<Ledger> {
        Ok(Ledger::open(&self.ledger_path)?)
    }

    pub(super) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn context(&self, cal: &CalendarConfig) -> anyhow::Result<SourceContext> {
        SourceContext::for_calendar(&self.data_dir, cal)
    }

    /// A classifier for the configured identity, rules and accounts.
    pub(super) fn classifier(&self) -> Classifier<'_> {
        let c = &self.config;
        Classifier::new(&c.identity, &c.classify, &c.accounts)
    }

    /// Polls one calendar now (bounded by twice its request timeout) and keeps the result as its
    /// snapshot; returns what came back and the source's description of itself.
    pub(super) async fn poll_once(
        &self,
        cal: &CalendarConfig,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(crate::source::Fetched, String)> {
        let mut src = source::build(self.context(cal)?, cal, &self.data_dir)?;
        let window = daemon::window(now, self.config.prompts.lookback);
        let fetched = tokio::time::timeout(cal.timeout * 2, src.poll(window))
            .await
            .map_err(|_| {
                anyhow::anyhow!("{}: no answer within {:?}", cal.name, cal.timeout * 2)
            })??;
        let snap = snapshot::path(&self.data_dir, &cal.name);
        let config = snapshot::fingerprint(cal, self.config.prompts.lookback);
        if let Err(e) = snapshot::save(&snap, &cal.name, now, config, &fetched.meetings) {
            eprintln!("warning: cannot save {}: {e}", snap.display());
        }
        Ok((fetched, src.describe()))
    }

    /// Every known meeting with its verdict. `Live` reads each calendar now (as `check` does) and
    /// falls back to its last snapshot only when it cannot be read, saying so on stderr with the
    /// snapshot's age; `Cached` reads the snapshots and polls only a calendar that has none.
    pub(super) async fn meetings(
        &self,
        ledger: &Ledger,
        from: Read,
    ) -> anyhow::Result<Vec<(Meeting, Verdict)>> {
        let now = self.now();
        let mut all: Vec<Meeting> = Vec::new();
        for cal in &self.config.calendars {
            let snap = snapshot::path(&self.data_dir, &cal.name);
            let cached = || snapshot::load(&snap).ok().flatten();
            match from {
                Read::Cached => match cached() {
                    Some(s) => all.extend(s.meetings),
                    None => match self.poll_once(cal, now).await {
                        Ok((f, _)) => all.extend(f.meetings),
                        Err(e) => eprintln!("warning: {e:#}"),
                    },
                },
                Read::Live => match self.poll_once(cal, now).await {
                    Ok((f, _)) => all.extend(f.meetings),
                    Err(e) => match cached() {
                        Some(s) => {
                            eprintln!(
                                "warning: {e:#}; showing `{}` as it was {} ago (its last snapshot)",
                                cal.name,
                                age(now - s.taken_at)
                            );
                            all.extend(s.meetings);
                        }
                        None => eprintln!("warning: {e:#}; no snapshot of `{}` either", cal.name),
                    },
                },
            }
        }
        let ids: Vec<MeetingId> = all.iter().map(|m| m.id.clone()).collect();
        let states = ledger.states(&ids, self.config.prompts.snooze)?;
        let mut out: Vec<(Meeting, Verdict)> = self
            .classifier()
            .classify_all(&all, &states)
            .map(|(m, v)| (m.clone(), v))
            .collect();
        out.sort_by(|a, b| a.0.start.cmp(&b.0.start).then(a.0.id.cmp(&b.0.id)));
        Ok(out)
    }

    /// The meeting `id`: among the snapshots, else in the ledger (a meeting that has left the
    /// calendar window), else in the calendars read now (a meeting the daemon has not seen).
    pub(super) async fn find_meeting(
        &self,
        ledger: &Ledger,
        id: &str,
    ) -> anyhow::Result<Option<(Meeting, Verdict)>> {
        let cached = self.meetings(ledger, Read::Cached).await?;
        if let Some(found) = find_meeting(&cached, ledger, id) {
            return Ok(Some(found));
        }
        let live = self.meetings(ledger, Read::Live).await?;
        Ok(live.into_iter().find(|(m, _)| m.id.as_str() == id))
    }
}

/// Where [`CommandContext::meetings`] reads the calendars from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Read {
    /// The calendars now; a snapshot only for a calendar that cannot be read.
    Live,
    /// The snapshots the daemon keeps; a calendar without one is read now.
    Cached,
}

/// An age in words: "40 s", "12 min", "3 h", "2 days".
pub(super) fn age(d: chrono::TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..120 => format!("{s} s"),
        120..7200 => format!("{} min", s / 60),
        7200..172_800 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}

/// A time as the commands show it: local, to the minute, with the weekday.
pub(super) fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono::Local)
        .format("%a %Y-%m-%d %H:%M")
        .to_string()
}

/// The user's today: the local date of `now`. Coaching counts days in it (the digest, a won or
/// lost day's check, the day a reopen is stamped), not in UTC.
pub(super) fn local_today(now: DateTime<Utc>) -> chrono::NaiveDate {
    crate::coach::local_day(now, &chrono::Local)
}

/// A calendar day given on the command line (every date flag: `--since`, `--due`, `--won`,
/// `--lost`), written `YYYY-MM-DD`: one parser, so one message for a bad date.
/// As a clap value parser: clap names the flag in its error and exits 2.
pub(super) fn parse_day(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| "not a date: write it as YYYY-MM-DD, e.g. 2026-12-12".to_owned())
}

/// The meeting `id` among the known meetings, else in the ledger (a meeting that has left the
/// calendar window).
pub(super) fn find_meeting(
    meetings: &[(Meeting, Verdict)],
    ledger: &Ledger,
    id: &str,
) -> Option<(Meeting, Verdict)> {
    meetings
        .iter()
        .find(|(m, _)| m.id.as_str() == id)
        .cloned()
        .or_else(|| {
            ledger
                .find(&MeetingId(id.to_owned()))
                .ok()
                .flatten()
                .map(|row| row_meeting(&row))
        })
}

/// A meeting known only to the ledger (it has left the calendar window), as a meeting again.
pub fn row_meeting(r: &LedgerRow) -> (Meeting, Verdict) {
    let m = Meeting {
        id: r.id.clone(),
        source: r.source.clone(),
        title: r.title.clone(),
        start: r.start,
        end: r.end,
        tz: r.tz.clone(),
        all_day: false,
        status: r.status,
        organizer: None,
        attendees: Default::default(),
        location: None,
        description: None,
        recurring: r.recurring,
    };
    let v = Verdict {
        customer: r.customer,
        reason: r.reason.clone(),
        account: r.account.clone(),
        customer_domains: r.customer_domains.clone(),
    };
    (m, v)
}

/// The answer key of an answer given on the command line: unique per answer, so each is its own
/// row.
pub(super) fn cli_key(meeting: &MeetingId, what: &str, now: DateTime<Utc>) -> String {
    format!(
        "{meeting}#{what}#cli#{}",
        now.timestamp_nanos_opt().unwrap_or_default()
    )
}

/// Records an objective or outcome given on the command line under the answer rule: the first
/// answer stands, so a question already answered (from a prompt or an earlier command) is refused
/// before anything is written, naming who answered and when; `correct` records the change as a
/// correction row instead. With `correct` and no answer yet, the answer is simply the first.
pub(super) fn record_cli_answer(
    ledger: &mut Ledger,
    meeting: &MeetingId,
    answer: &crate::model::Answer,
    correct: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<Recorded> {
    let (question, what) = match answer {
        crate::model::Answer::Outcome { .. } => (PromptKind::Outcome, "outcome"),
        _ => (PromptKind::Objective, "objective"),
    };
    let key = cli_key(meeting, what, now);
    match ledger.answered(meeting, question)? {
        Some(first) if !correct => Err(AlreadyAnswered {
            what,
            by: first.by,
            at: first.at,
        }
        .into()),
        Some(_) => Ok(ledger.correct(&key, meeting, answer, Via::Cli, now)?),
        // Answered in the moment between the look and the write (a click on a prompt): the
        // ledger kept ours as a refused row; say so rather than report success.
        None => match ledger.record(&key, meeting, answer, Via::Cli, now)? {
            Recorded::AlreadyAnswered { by, at } => Err(AlreadyAnswered { what, by, at }.into()),
            recorded => Ok(recorded),
        },
    }
}

/// A CLI answer to a question that has one: the first answer stands (exit 1, nothing written).
#[derive(Debug, thiserror::Error)]
#[error(
    "this meeting's {what} was already answered ({} at {}); the first answer stands: to change it, run the same command again with --correct",
    by.as_str(),
    local(*at)
)]
pub struct AlreadyAnswered {
    what: &'static str,
    by: Via,
    at: DateTime<Utc>,
}

/// The ledger states of `meetings`, by id.
pub(super) fn states_of(
    ctx: &CommandContext,
    ledger: &Ledger,
    meetings: &[(Meeting, Verdict)],
) -> anyhow::Result<HashMap<MeetingId, crate::model::MeetingState>> {
    let ids: Vec<MeetingId> = meetings.iter().map(|(m, _)| m.id.clone()).collect();
    Ok(ledger.states(&ids, ctx.config.prompts.snooze)?)
}
