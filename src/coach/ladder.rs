//! The next rung: which objective an account's next meeting should aim for, and why
//! (docs/design.md, "Prompt rules").
//!
//! `prompts.objectives`, in order, is the ladder. The account's last decisive outcome (see
//! [`super::decisive`]) before the meeting, on the objective that meeting had, decides:
//! - `committed` on rung k: rung k + 1 (none after the last rung: the sale is made);
//! - `continuation` or `advanced` on rung k: rung k again. `advanced` means the customer agreed
//!   to some other step, not to the objective, so the rung was not reached;
//! - `no_sale`: nothing;
//! - an objective not on the ladder (matched trimmed and case-insensitive), or none: nothing.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::decisive;
use crate::model::{LedgerRow, MeetingId, Outcome};

/// The objective to offer first for an account's next meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// The account, as the ledger stores it.
    pub account: String,
    /// The ladder's text for the suggested rung, as configured.
    pub objective: String,
    /// The rung's place on the ladder, 0-based (the index in `prompts.objectives`).
    pub rung: usize,
    /// One line saying why, in the account's name: "Last time Acme agreed to …".
    pub why: String,
    /// The outcome that led here: `committed`, `advanced` or `continuation`.
    pub after: Outcome,
    /// The meeting that outcome belongs to.
    pub from: MeetingId,
}

/// Why there is no suggestion; its `Display` is a sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NoSuggestion {
    /// No earlier meeting of the account has a decisive outcome.
    NoHistory { account: Option<String> },
    /// The last decisive outcome's meeting had no objective, so there is no rung to start from.
    NoObjective { account: String, from: MeetingId },
    /// The last decisive outcome was on an objective that is not on the ladder.
    OffLadder {
        account: String,
        objective: String,
        from: MeetingId,
    },
    /// The customer said no.
    NoSale { account: String, from: MeetingId },
    /// The customer committed to the last rung: the sale is made.
    Won { account: String, from: MeetingId },
}

impl fmt::Display for NoSuggestion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoSuggestion::NoHistory { account: Some(a) } => write!(
                f,
                "no suggestion: no earlier meeting of {a} has an outcome that says where it stands"
            ),
            NoSuggestion::NoHistory { account: None } => write!(
                f,
                "no suggestion: the meeting has no account, so there is no history to go on"
            ),
            NoSuggestion::NoObjective { account, .. } => write!(
                f,
                "no suggestion: the last meeting with {account} that has an outcome had no \
                 objective, so there is no rung to start from"
            ),
            NoSuggestion::OffLadder {
                account, objective, ..
            } => write!(
                f,
                "no suggestion: the last objective with {account} (“{objective}”) is not on the \
                 ladder (prompts.objectives)"
            ),
            NoSuggestion::NoSale { account, .. } => {
                write!(f, "no suggestion: last time {account} said no")
            }
            NoSuggestion::Won { account, .. } => write!(
                f,
                "no suggestion: {account} agreed to the last rung of the ladder (the sale)"
            ),
        }
    }
}

/// The place of `objective` on `ladder`, matched trimmed and case-insensitive.
pub fn rung_of(ladder: &[String], objective: &str) -> Option<usize> {
    let wanted = objective.trim().to_lowercase();
    ladder
        .iter()
        .position(|r| r.trim().to_lowercase() == wanted)
}

/// The suggestion for the account's meeting starting at `before`, from the account's rows
/// (any order; other accounts' rows must not be among them). `None` when there is none; see
/// [`explain`] for why.
pub fn suggest(
    ladder: &[String],
    rows_of_account: &[LedgerRow],
    before: DateTime<Utc>,
) -> Option<Suggestion> {
    explain(ladder, rows_of_account, before).ok()
}

/// [`suggest`], saying why when there is no suggestion.
pub fn explain(
    ladder: &[String],
    rows_of_account: &[LedgerRow],
    before: DateTime<Utc>,
) -> Result<Suggestion, NoSuggestion> {
    let last = rows_of_account
        .iter()
        .filter(|r| r.customer && r.start < before)
        .filter_map(|r| Some((r, r.outcome.as_ref()?.result)))
        .filter(|(_, result)| decisive(*result))
        .max_by(|(a, _), (b, _)| (a.start, &a.id).cmp(&(b.start, &b.id)));
    let Some((row, result)) = last else {
        return Err(NoSuggestion::NoHistory {
            account: rows_of_account.iter().find_map(|r| r.account.clone()),
        });
    };
    let account = row.account.clone().unwrap_or_else(|| row.title.clone());
    let from = row.id.clone();
    if result == Outcome::NoSale {
        return Err(NoSuggestion::NoSale { account, from });
    }
    let Some(objective) = row.objective.as_ref().map(|o| o.text.clone()) else {
        return Err(NoSuggestion::NoObjective { account, from });
    };
    let Some(k) = rung_of(ladder, &objective) else {
        return Err(NoSuggestion::OffLadder {
            account,
            objective,
            from,
        });
    };
    let (rung, why) = match result {
        Outcome::Committed if k + 1 >= ladder.len() => {
            return Err(NoSuggestion::Won { account, from });
        }
        Outcome::Committed => (
            k + 1,
            format!("Last time {account} agreed to “{objective}”"),
        ),
        Outcome::Advanced => {
            let step = row
                .outcome
                .as_ref()
                .and_then(|o| o.next_step.as_deref())
                .map(|s| format!(" (“{s}”)"))
                .unwrap_or_default();
            (
                k,
                format!(
                    "Last time {account} agreed to another step{step}, not to “{objective}”; \
                     aim for it again"
                ),
            )
        }
        _ => (
            k,
            format!("Last time {account} did not commit to “{objective}”; ask again"),
        ),
    };
    Ok(Suggestion {
        account,
        objective: ladder[rung].clone(),
        rung,
        why,
        after: result,
        from,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coach::testing::{at, ladder, meeting};
    use crate::model::Outcome::*;

    fn suggest_at(rows: &[LedgerRow], m: u32, d: u32) -> Result<Suggestion, NoSuggestion> {
        explain(&ladder(), rows, at(m, d))
    }

    /// The suggestion on 9 November after one meeting with Acme on 2 November that had
    /// `objective` and ended in `result`.
    fn suggest_after_one(
        objective: Option<&str>,
        result: Outcome,
    ) -> Result<Suggestion, NoSuggestion> {
        suggest_at(&[meeting("Acme", (11, 2), objective, Some(result))], 11, 9)
    }

    #[test]
    fn a_commitment_on_a_rung_suggests_the_next_rung_and_says_why() {
        let l = ladder();
        let rows = [
            meeting("Acme", (11, 2), Some(&l[0]), Some(Committed)),
            meeting("Acme", (11, 9), Some(&l[1]), Some(Committed)),
        ];
        let s = suggest_at(&rows, 11, 16).unwrap();
        assert_eq!((s.rung, s.objective.as_str()), (2, l[2].as_str()));
        assert_eq!(
            s.why,
            "Last time Acme agreed to “Schedule a needs analysis”"
        );
        assert_eq!(s.after, Committed);
        assert_eq!(s.from, rows[1].id);
        // Before the second meeting, only the first counts.
        assert_eq!(suggest_at(&rows, 11, 9).unwrap().rung, 1);
    }

    #[test]
    fn a_continuation_suggests_the_same_rung_again_and_says_so() {
        let l = ladder();
        let s = suggest_after_one(Some(&l[2]), Continuation).unwrap();
        assert_eq!((s.rung, s.objective.as_str()), (2, l[2].as_str()));
        assert_eq!(
            s.why,
            "Last time Acme did not commit to “Agree to a proposal meeting”; ask again"
        );
    }

    #[test]
    fn an_advance_is_not_the_rung_so_the_same_rung_is_suggested_again() {
        let l = ladder();
        let mut row = meeting("Acme", (11, 2), Some(&l[1]), Some(Advanced));
        row.outcome.as_mut().unwrap().next_step = Some("Send the case study".into());
        let s = suggest_at(&[row], 11, 9).unwrap();
        assert_eq!(s.rung, 1);
        assert!(
            s.why.contains("another step (“Send the case study”)"),
            "{}",
            s.why
        );
    }

    #[test]
    fn no_sale_suggests_nothing() {
        let l = ladder();
        let rows = [
            meeting("Acme", (11, 2), Some(&l[0]), Some(Committed)),
            meeting("Acme", (11, 9), Some(&l[1]), Some(NoSale)),
        ];
        let no = suggest_at(&rows, 11, 16).unwrap_err();
        assert!(matches!(no, NoSuggestion::NoSale { .. }), "{no:?}");
        assert_eq!(no.to_string(), "no suggestion: last time Acme said no");
        assert_eq!(suggest(&ladder(), &rows, at(11, 16)), None);
    }

    #[test]
    fn a_custom_objective_off_the_ladder_suggests_nothing() {
        let no = suggest_after_one(Some("Lunch"), Committed).unwrap_err();
        assert!(matches!(no, NoSuggestion::OffLadder { .. }), "{no:?}");
        assert!(no.to_string().contains("“Lunch”"), "{no}");
    }

    #[test]
    fn the_ladder_is_matched_trimmed_and_case_insensitive() {
        let s = suggest_after_one(Some("  schedule A NEEDS analysis "), Committed);
        assert_eq!(s.unwrap().rung, 2);
    }

    #[test]
    fn a_commitment_on_the_last_rung_is_the_sale_and_suggests_nothing() {
        let l = ladder();
        let no = suggest_after_one(Some(&l[5]), Committed).unwrap_err();
        assert!(matches!(no, NoSuggestion::Won { .. }), "{no:?}");
    }

    #[test]
    fn outcomes_that_say_nothing_about_the_sale_are_skipped() {
        let l = ladder();
        let rows = [
            meeting("Acme", (11, 2), Some(&l[0]), Some(Committed)),
            meeting("Acme", (11, 5), Some(&l[1]), Some(NoShow)),
            meeting("Acme", (11, 6), Some(&l[1]), Some(Rescheduled)),
            meeting("Acme", (11, 7), Some(&l[1]), Some(Cancelled)),
            meeting("Acme", (11, 8), Some(&l[1]), None),
        ];
        let s = suggest_at(&rows, 11, 9).unwrap();
        assert_eq!((s.rung, s.from.clone()), (1, rows[0].id.clone()));
    }

    #[test]
    fn no_history_or_no_objective_suggests_nothing_and_says_why() {
        let no = suggest_at(&[], 11, 9).unwrap_err();
        assert_eq!(no, NoSuggestion::NoHistory { account: None });
        let no = suggest_after_one(None, Committed).unwrap_err();
        assert!(matches!(no, NoSuggestion::NoObjective { .. }), "{no:?}");
        let future = [meeting(
            "Acme",
            (11, 20),
            Some("Agree to a next meeting"),
            Some(Committed),
        )];
        assert!(matches!(
            suggest_at(&future, 11, 9).unwrap_err(),
            NoSuggestion::NoHistory { account: Some(_) }
        ));
    }
}
