//! A meeting's state as a pure function of its answer rows, folded in append order. This is the
//! one definition of what the ledger says about a meeting; reads only collect the rows.
//!
//! The answer rule lives here: the first objective and the first outcome stand; a later one is
//! kept as a row but changes nothing; only a `correction` row (which names the row it
//! supersedes) changes an answer, and the latest correction wins.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::Transaction;

use super::codec::{Day, Ts};
use crate::model::{MeetingId, ObjectiveRecord, Outcome, OutcomeRecord, PromptKind, Via};

/// Who answered a question, and when: the answer in force (the first one, or the latest
/// correction of it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Answered {
    /// The key the answer was recorded under (for a prompt's answer, the prompt's key with a
    /// `#…` suffix).
    pub key: String,
    pub by: Via,
    pub at: DateTime<Utc>,
    /// The row's append position, which a correction names in `supersedes`.
    #[serde(skip)]
    pub(super) seq: i64,
}

/// One row of the `answers` table, as the fold reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AnswerRow {
    pub seq: i64,
    pub key: String,
    /// `objective`, `objective_missed`, `outcome`, `correction`, `snooze`, `not_sales`,
    /// `dismissed`, or a kind from a newer version (which the fold ignores).
    pub kind: String,
    /// The prompt a snooze, dismissal or not-sales answer was given to; for a correction, the
    /// question it corrects.
    pub prompt: Option<PromptKind>,
    pub text: Option<String>,
    pub result: Option<Outcome>,
    pub next_step: Option<String>,
    pub note: Option<String>,
    /// An outcome's due date (schema v3).
    pub due: Option<chrono::NaiveDate>,
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
    /// Who gave the objective and the outcome in force.
    pub objective_by: Option<Answered>,
    pub outcome_by: Option<Answered>,
}

impl Facts {
    /// Who answered `question`, if anyone did.
    pub fn answered(&self, question: PromptKind) -> Option<&Answered> {
        match question {
            PromptKind::Objective => self.objective_by.as_ref(),
            PromptKind::Outcome => self.outcome_by.as_ref(),
        }
    }
}

/// Folds `rows`, oldest first: the first objective and the first outcome stand, a correction
/// replaces the answer to its question, the latest snooze of each prompt counts.
pub(super) fn fold<'a>(rows: impl IntoIterator<Item = &'a AnswerRow>) -> Facts {
    let mut f = Facts::default();
    for r in rows {
        let by = || Answered {
            key: r.key.clone(),
            by: r.via,
            at: r.at,
            seq: r.seq,
        };
        let question = match r.kind.as_str() {
            "objective" if f.objective.is_none() => PromptKind::Objective,
            "outcome" if f.outcome.is_none() => PromptKind::Outcome,
            "correction" => match r.prompt {
                Some(q) => q,
                None => continue,
            },
            "objective_missed" => {
                f.objective_missed = true;
                continue;
            }
            "snooze" => {
                match r.prompt {
                    Some(PromptKind::Objective) => f.objective_snoozed_at = Some(r.at),
                    Some(PromptKind::Outcome) => f.outcome_snoozed_at = Some(r.at),
                    None => {}
                }
                continue;
            }
            // Late answers (the question had one already), dismissals, not-sales answers (which
            // act through `overrides`) and kinds from a newer minor version carry no state here.
            _ => continue,
        };
        match question {
            PromptKind::Objective => {
                f.objective = Some(ObjectiveRecord {
                    text: r.text.clone().unwrap_or_default(),
                    set_at: r.at,
                    via: r.via,
                });
                f.objective_by = Some(by());
            }
            PromptKind::Outcome => {
                let Some(result) = r.result else { continue };
                f.outcome = Some(OutcomeRecord {
                    result,
                    next_step: r.next_step.clone(),
                    note: r.note.clone(),
                    recorded_at: r.at,
                    via: r.via,
                    due: r.due,
                });
                f.outcome_by = Some(by());
            }
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
    tx.prepare_cached(&format!(
        "SELECT {ANSWER_COLUMNS} FROM answers a WHERE a.meeting = ?1 ORDER BY a.seq"
    ))?
    .query_map([id.as_str()], |r| answer_row(r, 0))?
    .collect()
}

/// The answer rows of every meeting whose row `m` meets `condition` (SQL over `meetings m`, with
/// `params`), by meeting id, each in append order: one query for many meetings.
pub(super) fn answer_rows_where(
    tx: &Transaction<'_>,
    condition: &str,
    params: &[&dyn rusqlite::ToSql],
) -> rusqlite::Result<HashMap<String, Vec<AnswerRow>>> {
    // No ORDER BY: ordering by `seq` makes SQLite walk the whole answers table in that order
    // instead of finding the meetings by their index first. Each meeting's few rows are sorted
    // here instead.
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT a.meeting, {ANSWER_COLUMNS} FROM answers a JOIN meetings m ON m.id = a.meeting
         WHERE {condition}"
    ))?;
    let mut rows = stmt.query(params)?;
    let mut out: HashMap<String, Vec<AnswerRow>> = HashMap::new();
    while let Some(r) = rows.next()? {
        out.entry(r.get(0)?).or_default().push(answer_row(r, 1)?);
    }
    for answers in out.values_mut() {
        answers.sort_unstable_by_key(|a| a.seq);
    }
    Ok(out)
}

/// The columns [`answer_row`] reads, in its order.
const ANSWER_COLUMNS: &str =
    "a.seq, a.key, a.kind, a.prompt, a.text, a.result, a.next_step, a.note, a.via, a.at, a.due";

/// An [`AnswerRow`] from [`ANSWER_COLUMNS`], starting at column `first`.
fn answer_row(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<AnswerRow> {
    Ok(AnswerRow {
        seq: r.get(first)?,
        key: r.get(first + 1)?,
        kind: r.get(first + 2)?,
        prompt: r.get(first + 3)?,
        text: r.get(first + 4)?,
        result: r.get(first + 5)?,
        next_step: r.get(first + 6)?,
        note: r.get(first + 7)?,
        via: r.get(first + 8)?,
        at: r.get::<_, Ts>(first + 9)?.0,
        due: r.get::<_, Option<Day>>(first + 10)?.map(|d| d.0),
    })
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
            seq: 0,
            key: format!("{kind}@{at}"),
            kind: kind.into(),
            prompt: None,
            text: None,
            result: None,
            next_step: None,
            note: None,
            due: None,
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

    fn objective(text: &str, via: Via, at: DateTime<Utc>) -> AnswerRow {
        AnswerRow {
            text: Some(text.into()),
            via,
            ..row("objective", at)
        }
    }

    fn outcome(result: Outcome, at: DateTime<Utc>) -> AnswerRow {
        AnswerRow {
            result: Some(result),
            ..row("outcome", at)
        }
    }

    #[test]
    fn the_first_answer_stands_and_a_later_one_changes_nothing() {
        let rows = [
            objective("first", Via::Terminal, t(9, 0)),
            objective("second", Via::Cli, t(9, 5)),
            outcome(Outcome::Advanced, t(11, 0)),
            outcome(Outcome::Continuation, t(11, 5)),
        ];
        let f = fold(&rows);
        assert_eq!(f.objective.as_ref().unwrap().text, "first");
        assert_eq!(f.objective.as_ref().unwrap().via, Via::Terminal);
        let by = f.answered(PromptKind::Objective).unwrap();
        assert_eq!((by.by, by.at), (Via::Terminal, t(9, 0)));
        assert_eq!(f.outcome.as_ref().unwrap().result, Outcome::Advanced);
        assert_eq!(f.answered(PromptKind::Outcome).unwrap().at, t(11, 0));
    }

    #[test]
    fn a_correction_replaces_the_answer_and_the_latest_correction_wins() {
        let correct = |prompt, text: &str, result, at| AnswerRow {
            prompt: Some(prompt),
            text: Some(text.into()),
            result,
            ..row("correction", at)
        };
        let rows = [
            objective("first", Via::Terminal, t(9, 0)),
            correct(PromptKind::Objective, "second", None, t(9, 10)),
            correct(PromptKind::Objective, "third", None, t(9, 20)),
            outcome(Outcome::Continuation, t(11, 0)),
            correct(PromptKind::Outcome, "", Some(Outcome::Committed), t(11, 10)),
            // A later plain answer still changes nothing.
            objective("late", Via::Notification, t(9, 30)),
        ];
        let f = fold(&rows);
        assert_eq!(f.objective.as_ref().unwrap().text, "third");
        assert_eq!(f.answered(PromptKind::Objective).unwrap().at, t(9, 20));
        assert_eq!(f.outcome.as_ref().unwrap().result, Outcome::Committed);
        assert_eq!(f.outcome.as_ref().unwrap().recorded_at, t(11, 10));
    }

    #[test]
    fn a_missed_objective_is_not_an_answer_to_the_objective_question() {
        let rows = [
            row("objective_missed", t(10, 0)),
            objective("late", Via::Cli, t(10, 5)),
        ];
        let f = fold(&rows);
        assert!(f.objective_missed);
        assert_eq!(f.objective.unwrap().text, "late");
    }
}
