//! `nextstep meetings`: past customer meetings with their ids and where each question stands, so
//! an answer can be given (`objective`/`outcome --meeting ID`) for any of them.
//!
//! The calendars' part comes from their snapshots (as the daemon or `check` last read them). A
//! snapshot written under another config (another calendar address or look-back), or before
//! snapshots recorded their config, may not hold the meetings this config would read: the command
//! says so, on stderr with the snapshot's age and the command that refreshes it, and in `--json`
//! in each meeting's `snapshot` field.

use std::collections::{HashMap, HashSet};
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use serde::Serialize;

use super::common::{CommandContext, Read, age, local, parse_day, row_meeting, states_of};
use crate::model::{Meeting, MeetingId, Outcome, Verdict};
use crate::source::snapshot::{self, ConfigMatch};

/// Lists past customer meetings from DATE (the ledger's and the calendars'), newest first, with
/// their ids, objective and outcome.
#[derive(Debug, Args)]
pub struct MeetingsCmd {
    /// The first day to list (YYYY-MM-DD, local time; default: 14 days ago).
    #[arg(long, value_name = "DATE", value_parser = parse_day)]
    pub since: Option<NaiveDate>,
    #[arg(long)]
    pub json: bool,
}

/// One past customer meeting.
#[derive(Debug, Serialize)]
pub struct PastMeeting {
    id: MeetingId,
    source: String,
    title: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    account: Option<String>,
    objective: Option<String>,
    objective_missed: bool,
    outcome: Option<Outcome>,
    /// The meeting is no longer in its calendar.
    gone: bool,
    /// The snapshot of its calendar it was read from; `None` for a meeting only the ledger knows.
    snapshot: Option<FromSnapshot>,
}

/// The snapshot a calendar's meetings were read from: when it was taken, and whether under this
/// config (`same`, `other`, or `unknown` for a snapshot written before snapshots recorded it).
#[derive(Debug, Clone, Serialize)]
pub struct FromSnapshot {
    taken_at: DateTime<Utc>,
    config: ConfigMatch,
}

/// The snapshot each configured calendar has now, by calendar name. Read after the meetings were,
/// so a calendar that had none and was just polled counts as read under this config.
fn snapshots(ctx: &CommandContext) -> Vec<(String, FromSnapshot)> {
    let lookback = ctx.config.prompts.lookback;
    ctx.config
        .calendars
        .iter()
        .filter_map(|cal| {
            let s = snapshot::load(&snapshot::path(&ctx.data_dir, &cal.name)).ok()??;
            let config = s.config_match(snapshot::fingerprint(cal, lookback));
            let from = FromSnapshot {
                taken_at: s.taken_at,
                config,
            };
            Some((cal.name.clone(), from))
        })
        .collect()
}

/// The warning for `calendar`'s snapshot when it may not match the config; `None` when it does.
fn mismatch(calendar: &str, s: &FromSnapshot, now: DateTime<Utc>) -> Option<String> {
    let why = match s.config {
        ConfigMatch::Same => return None,
        ConfigMatch::Other => {
            "written under another config (the calendar's settings or prompts.lookback differ)"
        }
        ConfigMatch::Unknown => {
            "written before snapshots recorded their config: it may not match this one"
        }
    };
    Some(format!(
        "warning: `{calendar}` is shown from its snapshot of {} ago, {why}; run `nextstep check` \
         to read the calendars again",
        age(now - s.taken_at)
    ))
}

/// The past customer meetings, newest first. As JSON, just the list.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Meetings {
    #[serde(skip)]
    since: NaiveDate,
    items: Vec<PastMeeting>,
}

impl fmt::Display for Meetings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.items.is_empty() {
            writeln!(f, "no customer meetings since {}", self.since)?;
        }
        for i in &self.items {
            writeln!(f, "{}  {}", local(i.start), i.title)?;
            writeln!(f, "    id: {}", i.id)?;
            let objective = match (&i.objective, i.objective_missed) {
                (Some(o), _) => o.clone(),
                (None, true) => "none set before it started".into(),
                (None, false) => "none".into(),
            };
            writeln!(f, "    objective: {objective}")?;
            let outcome = match i.outcome {
                Some(o) => o.to_string(),
                None => format!("none (nextstep outcome RESULT --meeting {})", i.id),
            };
            writeln!(f, "    outcome: {outcome}")?;
            if i.gone {
                writeln!(f, "    (no longer in its calendar)")?;
            }
        }
        Ok(())
    }
}

pub async fn run(ctx: &CommandContext, cmd: MeetingsCmd) -> anyhow::Result<Meetings> {
    let now = ctx.now();
    let since = match cmd.since {
        Some(d) => d,
        None => (now - chrono::Duration::days(14))
            .with_timezone(&chrono::Local)
            .date_naive(),
    };
    // Local midnight, or the first minute after a clock change that skips it, as `report`.
    let from = crate::coach::day_start(since, &chrono::Local);
    let ledger = ctx.ledger()?;
    // The ledger keeps meetings that left the calendar window; the calendars add ones the daemon
    // has not seen. The ledger's row wins for a meeting both know (it has the answers).
    let mut by_id: HashMap<MeetingId, (Meeting, Verdict)> = HashMap::new();
    for (m, v) in ctx.meetings(&ledger, Read::Cached).await? {
        if v.customer && m.start >= from && m.start <= now {
            by_id.insert(m.id.clone(), (m, v));
        }
    }
    let read: HashSet<MeetingId> = by_id.keys().cloned().collect();
    let snapshots = snapshots(ctx);
    if !cmd.json {
        for (calendar, s) in &snapshots {
            if let Some(warning) = mismatch(calendar, s, now) {
                eprintln!("{warning}");
            }
        }
    }
    let snapshots: HashMap<String, FromSnapshot> = snapshots.into_iter().collect();
    let rows = ledger.customer_meetings(Some(from))?;
    let mut gone: HashMap<MeetingId, bool> = HashMap::new();
    for r in rows.iter().filter(|r| r.start <= now) {
        gone.insert(r.id.clone(), r.gone_at.is_some());
        by_id.entry(r.id.clone()).or_insert_with(|| row_meeting(r));
    }
    let mut meetings: Vec<(Meeting, Verdict)> = by_id.into_values().collect();
    meetings.sort_by(|a, b| b.0.start.cmp(&a.0.start).then(a.0.id.cmp(&b.0.id)));
    let states = states_of(ctx, &ledger, &meetings)?;
    let items = meetings
        .into_iter()
        .map(|(m, v)| {
            let s = states.get(&m.id);
            let snapshot = snapshots.get(&m.source).filter(|_| read.contains(&m.id));
            PastMeeting {
                snapshot: snapshot.cloned(),
                objective: s.and_then(|s| s.objective.as_ref()).map(|o| o.text.clone()),
                objective_missed: s.is_some_and(|s| s.objective_missed),
                outcome: s.and_then(|s| s.outcome.as_ref()).map(|o| o.result),
                gone: gone.get(&m.id).copied().unwrap_or(false),
                id: m.id,
                source: m.source,
                title: m.title,
                start: m.start,
                end: m.end,
                account: v.account,
            }
        })
        .collect();
    Ok(Meetings { since, items })
}
