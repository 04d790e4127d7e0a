//! `nextstep objective --suggest`: the objective the ladder offers first for a meeting, from
//! what its account agreed to last time (`coach::explain`), and why; or a line saying why there
//! is none. Reads only that account's meetings.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::common::{CommandContext, local};
use crate::coach::{self, Suggestion};
use crate::ledger::Ledger;
use crate::model::{Meeting, MeetingId, Verdict};

/// The suggestion for one meeting, or why there is none.
#[derive(Debug, Serialize)]
pub struct Suggested {
    meeting: MeetingId,
    title: String,
    start: DateTime<Utc>,
    suggestion: Option<Suggestion>,
    /// Why there is no suggestion (a sentence); null when there is one.
    none: Option<String>,
    /// The command that sets the suggested objective.
    command: Option<String>,
}

impl fmt::Display for Suggested {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "for \"{}\" ({}): ", self.title, local(self.start))?;
        match (&self.suggestion, &self.none) {
            (Some(s), _) => {
                writeln!(f, "{}", s.objective)?;
                writeln!(f, "  why: {}", s.why)?;
                if let Some(c) = &self.command {
                    writeln!(f, "  set it: {c}")?;
                }
                Ok(())
            }
            (None, Some(why)) => writeln!(f, "{why}"),
            (None, None) => writeln!(f, "no suggestion"),
        }
    }
}

pub(super) fn suggest(
    ctx: &CommandContext,
    ledger: &Ledger,
    m: &Meeting,
    v: &Verdict,
) -> anyhow::Result<Suggested> {
    let ladder = &ctx.config.prompts.objectives;
    let result = if !ctx.config.prompts.ladder {
        Err("no suggestion: prompts.ladder is false in the config".to_owned())
    } else if let Some(account) = v.account.as_deref() {
        let rows = ledger.customer_meetings_of_account(account)?;
        coach::explain(ladder, &rows, m.start).map_err(|no| no.to_string())
    } else {
        Err(coach::NoSuggestion::NoHistory { account: None }.to_string())
    };
    let (suggestion, none) = match result {
        Ok(s) => (Some(s), None),
        Err(why) => (None, Some(why)),
    };
    let command = suggestion.as_ref().map(|s| {
        format!(
            "nextstep objective --meeting {} --pick {}",
            coach::shell_quote(m.id.as_str()),
            s.rung + 1
        )
    });
    Ok(Suggested {
        meeting: m.id.clone(),
        title: m.title.clone(),
        start: m.start,
        suggestion,
        none,
        command,
    })
}
