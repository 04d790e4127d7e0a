//! `nextstep account NAME`: an account's state (open, won or lost, and what decided it), the
//! objective its next meeting should aim for, and its history; `--won DATE`, `--lost DATE` and
//! `--reopen` correct the state with an append-only mark (docs/design.md, "Coaching rules").

use std::fmt;

use chrono::NaiveDate;
use clap::Args;
use serde::Serialize;

use super::UsageError;
use super::common::{CommandContext, local, local_today, parse_day};
use crate::coach::{self, AccountStatus, State, StatusSource, Suggestion};
use crate::ledger::Ledger;
use crate::model::{AccountMark, LedgerRow, MarkKind, MeetingId, Outcome, Via};

/// An account's state (open, won, lost), its next objective and its meetings; --won, --lost or
/// --reopen corrects the state (a correction row; nothing is rewritten).
#[derive(Debug, Args)]
pub struct AccountCmd {
    /// The account's name, as the ledger has it (case does not matter).
    pub name: String,
    /// Mark the account won on this day.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day,
          conflicts_with_all = ["lost", "reopen"])]
    pub won: Option<NaiveDate>,
    /// Mark the account lost on this day.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day, conflicts_with = "reopen")]
    pub lost: Option<NaiveDate>,
    /// Open the account again, whatever its outcomes or earlier marks say.
    #[arg(long)]
    pub reopen: bool,
    #[arg(long)]
    pub json: bool,
}

/// One meeting of the account's history.
#[derive(Debug, Serialize)]
pub struct HistoryItem {
    meeting: MeetingId,
    title: String,
    start: chrono::DateTime<chrono::Utc>,
    objective: Option<String>,
    outcome: Option<Outcome>,
    next_step: Option<String>,
    due: Option<NaiveDate>,
}

/// What `nextstep account` shows.
#[derive(Debug, Serialize)]
pub struct AccountView {
    account: String,
    status: AccountStatus,
    /// The correction this command recorded, if any.
    recorded: Option<MarkKind>,
    /// The objective the account's next meeting should aim for (see docs/design.md, "Prompt
    /// rules"), or why there is none.
    suggestion: Option<Suggestion>,
    no_suggestion: Option<String>,
    /// Said of an account known from the config that has no meetings in the ledger yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    meetings: Vec<HistoryItem>,
    marks: Vec<AccountMark>,
}

impl fmt::Display for AccountView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(k) = self.recorded {
            writeln!(f, "recorded: {} {}", self.account, k.as_str())?;
        }
        let s = &self.status;
        write!(f, "{}: {}", self.account, s.state.as_str())?;
        if let Some(on) = s.on {
            write!(f, " on {}", on.format("%Y-%m-%d"))?;
        }
        match &s.source {
            StatusSource::Nothing => writeln!(f)?,
            StatusSource::Outcome { meeting } => {
                let title = self
                    .meetings
                    .iter()
                    .find(|m| &m.meeting == meeting)
                    .map_or(meeting.as_str(), |m| m.title.as_str());
                writeln!(f, " (the outcome of \"{title}\")")?;
            }
            StatusSource::Mark { .. } => writeln!(f, " (your correction)")?,
        }
        match (&self.suggestion, &self.no_suggestion) {
            (Some(sg), _) => writeln!(f, "next objective: {} ({})", sg.objective, sg.why)?,
            (None, Some(why)) => writeln!(f, "next objective: {why}")?,
            (None, None) => {}
        }
        if let Some(note) = &self.note {
            writeln!(f, "{note}")?;
        }
        writeln!(f, "meetings ({}):", self.meetings.len())?;
        for m in &self.meetings {
            writeln!(f, "  {}  {}", local(m.start), m.title)?;
            let mut parts = Vec::new();
            if let Some(o) = &m.objective {
                parts.push(format!("objective: {o}"));
            }
            if let Some(r) = m.outcome {
                parts.push(format!("outcome: {r}"));
            }
            if let Some(n) = &m.next_step {
                parts.push(format!("next step: {n}"));
            }
            if let Some(d) = m.due {
                parts.push(format!("due {}", d.format("%Y-%m-%d")));
            }
            if !parts.is_empty() {
                writeln!(f, "      {}", parts.join("; "))?;
            }
        }
        if !self.marks.is_empty() {
            writeln!(f, "corrections:")?;
            for m in &self.marks {
                write!(f, "  {}  {}", local(m.at), m.kind.as_str())?;
                match m.kind {
                    MarkKind::Reopen => writeln!(f)?,
                    _ => writeln!(f, " on {}", m.on.format("%Y-%m-%d"))?,
                }
            }
        }
        Ok(())
    }
}

pub fn run(ctx: &CommandContext, cmd: AccountCmd) -> anyhow::Result<AccountView> {
    let mut ledger = ctx.ledger()?;
    let now = ctx.now();
    let configured: Vec<String> = ctx.config.accounts.iter().map(|a| a.name.clone()).collect();
    let (account, in_ledger) = resolve(&ledger, &configured, &cmd.name)?;
    let today = local_today(now);
    for (flag, day) in [("--won", cmd.won), ("--lost", cmd.lost)] {
        if let Some(day) = day {
            not_after_today(flag, day, today)?;
        }
    }
    let mark = match (cmd.won, cmd.lost, cmd.reopen) {
        (Some(d), _, _) => Some((MarkKind::Won, d)),
        (_, Some(d), _) => Some((MarkKind::Lost, d)),
        (_, _, true) => Some((MarkKind::Reopen, today)),
        _ => None,
    };
    if let Some((kind, on)) = mark {
        let key = format!(
            "account#{account}#mark#cli#{}",
            now.timestamp_nanos_opt().unwrap_or_default()
        );
        ledger.mark_account(&key, &account, kind, on, Via::Cli, now)?;
    }
    let rows = ledger.customer_meetings_of_account(&account)?;
    let marks = ledger.account_marks(Some(&account))?;
    let ladder = &ctx.config.prompts.objectives;
    let status = coach::status(ladder, &account, &rows, &marks, &chrono::Local);
    let (suggestion, no_suggestion) = if status.state != State::Open {
        (
            None,
            Some(format!(
                "no suggestion: the account is {}",
                status.state.as_str()
            )),
        )
    } else if !ctx.config.prompts.ladder {
        (
            None,
            Some("no suggestion: prompts.ladder is false in the config".to_owned()),
        )
    } else {
        match coach::explain(ladder, &rows, now) {
            Ok(s) => (Some(s), None),
            Err(no) => (None, Some(no.to_string())),
        }
    };
    let note = (!in_ledger && rows.is_empty()).then(|| no_meetings_yet(&account));
    Ok(AccountView {
        account,
        status,
        recorded: mark.map(|(k, _)| k),
        suggestion,
        no_suggestion,
        note,
        meetings: rows.iter().map(history_item).collect(),
        marks,
    })
}

fn history_item(r: &LedgerRow) -> HistoryItem {
    HistoryItem {
        meeting: r.id.clone(),
        title: r.title.clone(),
        start: r.start,
        objective: r.objective.as_ref().map(|o| o.text.clone()),
        outcome: r.outcome.as_ref().map(|o| o.result),
        next_step: r.outcome.as_ref().and_then(|o| o.next_step.clone()),
        due: r.outcome.as_ref().and_then(|o| o.due),
    }
}

/// The ledger's spelling of `name` and `true`: exact, else the one account equal to it ignoring
/// case and surrounding spaces. Failing that, an `[[accounts]]` name of the config (`configured`)
/// matched the same way, and `false`: a known account the daemon has not met yet. Unknown: a
/// usage error naming near accounts of both.
fn resolve(ledger: &Ledger, configured: &[String], name: &str) -> anyhow::Result<(String, bool)> {
    let in_ledger = ledger.accounts()?;
    if let Some(found) = matching(&in_ledger, name) {
        return Ok((found, true));
    }
    if let Some(found) = matching(configured, name) {
        return Ok((found, false));
    }
    let mut known = in_ledger;
    known.extend(configured.iter().cloned());
    known.sort();
    known.dedup();
    Err(UsageError(unknown_account(name, &known)).into())
}

/// `name` among `known`: exact, else the one equal to it ignoring case and surrounding spaces.
fn matching(known: &[String], name: &str) -> Option<String> {
    if known.iter().any(|a| a == name) {
        return Some(name.to_owned());
    }
    let wanted = name.trim().to_lowercase();
    let same: Vec<&String> = known
        .iter()
        .filter(|a| a.trim().to_lowercase() == wanted)
        .collect();
    match same[..] {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// What `account` says of a configured account without meetings: not an error, just early.
fn no_meetings_yet(account: &str) -> String {
    format!(
        "{account} is known from the config ([[accounts]]) but has no recorded meetings yet: the \
         daemon (`nextstep run`) records its meetings as it polls the calendars"
    )
}

/// A won or lost day says when the deal closed, so it cannot be later than today: a future day
/// would count as the close in `report`'s sell cycle (thousands of days for a typo in the year).
fn not_after_today(flag: &str, day: NaiveDate, today: NaiveDate) -> Result<(), UsageError> {
    if day > today {
        return Err(UsageError(format!(
            "{flag} {day}: that day is after today ({today}); give the day the account was \
             actually {}, today or earlier",
            if flag == "--won" { "won" } else { "lost" }
        )));
    }
    Ok(())
}

/// How far apart two names may be (in edits) and still be offered as "did you mean".
const NEAR_EDITS: usize = 2;

/// The error for an unknown account: the near names, else every name (at most a screenful).
fn unknown_account(name: &str, known: &[String]) -> String {
    let wanted = name.trim().to_lowercase();
    let near: Vec<&str> = known
        .iter()
        .filter(|a| {
            let a = a.to_lowercase();
            (!wanted.is_empty() && (a.contains(&wanted) || wanted.contains(&a)))
                || edits(&a, &wanted) <= NEAR_EDITS
        })
        .map(String::as_str)
        .collect();
    if known.is_empty() {
        return format!(
            "no account `{name}`: the ledger has no meetings with an account yet (accounts come \
             from `[[accounts]]` and customer domains)"
        );
    }
    if !near.is_empty() {
        return format!(
            "no account `{name}` in the ledger; did you mean: {}?",
            near.join(", ")
        );
    }
    const SHOWN: usize = 20;
    let more = known.len().saturating_sub(SHOWN);
    let mut list = known
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if more > 0 {
        list.push_str(&format!(" and {more} more"));
    }
    format!("no account `{name}` in the ledger; its accounts are: {list}")
}

/// The Levenshtein distance between `a` and `b`, by characters.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_account_names_the_near_ones_or_else_all() {
        let known = ["Acme".to_owned(), "Acme Europe".into(), "Globex".into()];
        let e = unknown_account("acm", &known);
        assert_eq!(
            e,
            "no account `acm` in the ledger; did you mean: Acme, Acme Europe?"
        );
        let e = unknown_account("Glbex", &known);
        assert!(e.ends_with("did you mean: Globex?"), "{e}");
        let e = unknown_account("Initech", &known);
        assert!(
            e.ends_with("its accounts are: Acme, Acme Europe, Globex"),
            "{e}"
        );
        assert!(unknown_account("x", &[]).contains("no meetings with an account yet"));
    }

    #[test]
    fn a_won_or_lost_day_after_today_is_refused_naming_the_flag_and_today() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        assert!(not_after_today("--won", today, today).is_ok());
        let past = NaiveDate::from_ymd_opt(2026, 11, 12).unwrap();
        assert!(not_after_today("--lost", past, today).is_ok());
        let e = not_after_today("--won", NaiveDate::from_ymd_opt(2099, 1, 1).unwrap(), today)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("--won 2099-01-01: that day is after today (2026-12-02)"),
            "{e}"
        );
        assert!(e.contains("actually won"), "{e}");
        let e = not_after_today("--lost", today.succ_opt().unwrap(), today)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--lost 2026-12-03") && e.contains("actually lost"),
            "{e}"
        );
    }

    #[test]
    fn edits_count_insertions_deletions_and_substitutions() {
        assert_eq!(edits("globex", "glbex"), 1);
        assert_eq!(edits("acme", "acne"), 1);
        assert_eq!(edits("", "abc"), 3);
        assert_eq!(edits("kitten", "sitting"), 3);
    }
}
