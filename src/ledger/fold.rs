//! A meeting's state as a pure function of its answer rows, folded in append order. This is the
//! one definition of what the ledger says about a meeting; reads only collect the rows.

use chrono::{DateTime, Utc};
use rusqlite::Transaction;

use super::codec::Ts;
use crate::model::{MeetingId, ObjectiveRecord, Outcome, OutcomeRecord, PromptKind, Via};

/// One row of the `answers` table, as the fold reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AnswerRow {
    /// `objective`, `objective_missed`, `outcome`, `snooze`, `not_sales`, `dismissed`, or a kind
    /// from a newer version (which the fold ignores).
    pub kind: String,
    /// The prompt a snooze, dismissal or not-sales answer was given to.
    pub prompt: Option<PromptKind>,
    pub text: Option<String>,
    pub result: Option<Outcome>,
    pub next_step: Option<String>,
    pub note: Option<String>,
    pub via: Via,
    pub at: DateTime<Utc>,
}

/// The state derived from one meeting's answers.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Facts {
    pub objective: Option<ObjectiveRecord>,
    pub objective_missed: bool,
    pub outcome: Option<OutcomeRecord>,
    pub objective_snoozed_at: Option<DateTime<Utc>>,
    pub outcome_snoozed_at: Option<DateTime<Utc>>,
}

/// Folds `rows`, oldest first: the latest objective wins, the latest outcome wins, the latest
/// snooze of each prompt counts.
pub(super) fn fold<'a>(rows: impl IntoIterator<Item = &'a AnswerRow>) -> Facts {
    let mut f = Facts::default();
    for r in rows {
        match r.kind.as_str() {
            "objective" => {
                f.objective = Some(ObjectiveRecord {
                    text: r.text.clone().unwrap_or_default(),
                    set_at: r.at,
                    via: r.via,
                })
            }
            "objective_missed" => f.objective_missed = true,
            "outcome" => {
                let Some(result) = r.result else { continue };
                f.outcome = Some(OutcomeRecord {
                    result,
                    next_step: r.next_step.clone(),
                    note: r.note.clone(),
                    recorded_at: r.at,
                    via: r.via,
                })
            }
            "snooze" => match r.prompt {
                Some(PromptKind::Objective) => f.objective_snoozed_at = Some(r.at),
                Some(PromptKind::Outcome) => f.outcome_snoozed_at = Some(r.at),
                None => {}
            },
            // Dismissals, not-sales answers (which act through `overrides`) and kinds from a
            // newer minor version carry no derived state here.
            _ => {}
        }
    }
    f
}

/// One meeting's answer rows, in append order (`seq`, not `at`, which a CLI user may set from
/// another clock).
pub(super) fn answer_rows(
    tx: &Transaction<'_>,
    id: &MeetingId,
) -> rusqlite::Result<Vec<AnswerRow>> {
    tx.prepare_cached(
        "SELECT kind, prompt, text, result, next_step, note, via, at
         FROM answers WHERE meeting = ?1 ORDER BY seq",
    )?
    .query_map([id.as_str()], |r| {
        Ok(AnswerRow {
            kind: r.get(0)?,
            prompt: r.get(1)?,
            text: r.get(2)?,
            result: r.get(3)?,
            next_step: r.get(4)?,
            note: r.get(5)?,
            via: r.get(6)?,
            at: r.get::<_, Ts>(7)?.0,
        })
    })?
    .collect()
}

/// The folded state of one meeting.
pub(super) fn answers_of(tx: &Transaction<'_>, id: &MeetingId) -> rusqlite::Result<Facts> {
    Ok(fold(&answer_rows(tx, id)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::t;

    fn row(kind: &str, at: DateTime<Utc>) -> AnswerRow {
        AnswerRow {
            kind: kind.into(),
            prompt: None,
            text: None,
            result: None,
            next_step: None,
            note: None,
            via: Via::Cli,
            at,
        }
    }

    #[test]
    fn no_rows_fold_to_no_facts() {
        assert_eq!(fold(&[]), Facts::default());
    }

    #[test]
    fn unknown_kinds_and_outcomes_without_a_result_are_ignored() {
        let rows = [row("from_the_future", t(9, 0)), row("outcome", t(9, 1))];
        assert_eq!(fold(&rows), Facts::default());
    }

    #[test]
    fn a_snooze_without_a_prompt_counts_for_neither_prompt() {
        let f = fold(&[row("snooze", t(9, 0))]);
        assert_eq!((f.objective_snoozed_at, f.outcome_snoozed_at), (None, None));
    }
}
