//! `nextstep meetings`: past customer meetings with their ids and where each question stands, so
//! an answer can be given (`objective`/`outcome --meeting ID`) for any of them.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use serde::Serialize;

use super::UsageError;
use super::common::{CommandContext, Read, local, parse_day, row_meeting, states_of};
use crate::model::{Meeting, MeetingId, Outcome, Verdict};

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
    let from = since
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(chrono::Local).earliest())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| UsageError(format!("--since {since}: not a day in the local time zone")))?;
    let ledger = ctx.ledger()?;
    // The ledger keeps meetings that left the calendar window; the calendars add ones the daemon
    // has not seen. The ledger's row wins for a meeting both know (it has the answers).
    let mut by_id: HashMap<MeetingId, (Meeting, Verdict)> = HashMap::new();
    for (m, v) in ctx.meetings(&ledger, Read::Cached).await? {
        if v.customer && m.start >= from && m.start <= now {
            by_id.insert(m.id.clone(), (m, v));
        }
    }
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
            PastMeeting {
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
