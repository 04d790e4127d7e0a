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
        coach::explain(ladder, &rows, m.start).map_err(|no| why_none(no, account))
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

/// The sentence for `no`, for a meeting whose account is `account`. An account the ledger has
/// no meeting of yet gives `explain` no rows to take its name from, and the meeting has an
/// account all the same: say so, rather than "the meeting has no account".
fn why_none(no: coach::NoSuggestion, account: &str) -> String {
    match no {
        coach::NoSuggestion::NoHistory { account: None } => coach::NoSuggestion::NoHistory {
            account: Some(account.to_owned()),
        }
        .to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_account_without_history_is_named_not_called_no_account() {
        let no = coach::NoSuggestion::NoHistory { account: None };
        let why = why_none(no, "hooli.com");
        assert_eq!(
            why,
            "no suggestion: no earlier meeting of hooli.com has an outcome that says where it stands"
        );
        assert!(!why.contains("no account"), "{why}");
        let known = coach::NoSuggestion::NoHistory {
            account: Some("Acme".into()),
        };
        assert!(why_none(known, "acme").contains("meeting of Acme"));
    }
}
