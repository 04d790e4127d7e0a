//! `nextstep upcoming`: the coming meetings with their verdict, its reason, and any objective.

use std::fmt;

use chrono::{DateTime, Utc};
use clap::Args;
use serde::Serialize;

use super::common::{CommandContext, Read, local, states_of};
use crate::model::MeetingId;

/// Lists coming meetings with their verdict and reason.
#[derive(Debug, Args)]
pub struct UpcomingCmd {
    /// How many days ahead.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Also list meetings that are not customer meetings.
    #[arg(long)]
    pub all: bool,
    /// Show the calendars as the daemon last read them (its snapshots) instead of reading them
    /// now.
    #[arg(long)]
    pub cached: bool,
    #[arg(long)]
    pub json: bool,
}

/// One coming meeting.
#[derive(Debug, Serialize)]
pub struct UpcomingItem {
    id: MeetingId,
    source: String,
    title: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    customer: bool,
    reason: String,
    account: Option<String>,
    customer_domains: Vec<String>,
    objective: Option<String>,
}

/// The coming meetings, by start. As JSON, just the list.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Upcoming {
    #[serde(skip)]
    days: u32,
    #[serde(skip)]
    all: bool,
    items: Vec<UpcomingItem>,
}

impl fmt::Display for Upcoming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.items.is_empty() {
            writeln!(
                f,
                "no {}meetings in the next {} days",
                if self.all { "" } else { "customer " },
                self.days
            )?;
        }
        for i in &self.items {
            writeln!(
                f,
                "{}  {}  {}",
                local(i.start),
                if i.customer { "customer" } else { "-       " },
                i.title
            )?;
            writeln!(f, "    id: {}", i.id)?;
            writeln!(
                f,
                "    why: {}{}",
                i.reason,
                i.account
                    .as_ref()
                    .map(|a| format!(" (account {a})"))
                    .unwrap_or_default()
            )?;
            if let Some(o) = &i.objective {
                writeln!(f, "    objective: {o}")?;
            }
        }
        Ok(())
    }
}

pub async fn run(ctx: &CommandContext, cmd: UpcomingCmd) -> anyhow::Result<Upcoming> {
    let ledger = ctx.ledger()?;
    let now = ctx.now();
    let until = horizon(now, cmd.days);
    let from = if cmd.cached { Read::Cached } else { Read::Live };
    let meetings = ctx.meetings(&ledger, from).await?;
    let states = states_of(ctx, &ledger, &meetings)?;
    let items: Vec<UpcomingItem> = meetings
        .into_iter()
        .filter(|(m, v)| m.end > now && m.start < until && (cmd.all || v.customer))
        .map(|(m, v)| UpcomingItem {
            objective: states
                .get(&m.id)
                .and_then(|s| s.objective.as_ref())
                .map(|o| o.text.clone()),
            id: m.id,
            source: m.source,
            title: m.title,
            start: m.start,
            end: m.end,
            customer: v.customer,
            reason: v.reason,
            account: v.account,
            customer_domains: v.customer_domains,
        })
        .collect();
    Ok(Upcoming {
        days: cmd.days,
        all: cmd.all,
        items,
    })
}

/// The end of `upcoming --days N`: `now` plus N days, or the end of time when that is past it
/// (`--days` takes any u32, and a plain `+` panics beyond chrono's range).
fn horizon(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    now.checked_add_signed(chrono::Duration::days(i64::from(days)))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_horizon_past_the_end_of_time_is_the_end_of_time_not_a_panic() {
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 3, 0, 0).unwrap();
        assert_eq!(horizon(now, 7), now + chrono::Duration::days(7));
        assert_eq!(horizon(now, u32::MAX), DateTime::<Utc>::MAX_UTC);
    }
}
