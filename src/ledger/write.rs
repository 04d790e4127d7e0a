//! Every write to the ledger: meetings as the sources see them, prompts as they are shown,
//! answers, and overrides. Each call is one short `BEGIN IMMEDIATE` transaction.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};

use super::codec::{Day, Ts};
use super::fold::answers_of;
use super::{Inner, Ledger, LedgerError, Recorded};
use crate::model::{Answer, MarkKind, Meeting, MeetingId, PlannedPrompt, PromptKind, Verdict, Via};

impl Ledger {
    /// Stores what the sources and `classify` say about these meetings. Keeps `first_seen`;
    /// a meeting seen again after [`Ledger::mark_gone`] is no longer gone.
    pub fn remember(
        &mut self,
        items: &[(Meeting, Verdict)],
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        self.store_meetings(
            "remember",
            "remember meetings",
            "ON CONFLICT(id) DO UPDATE SET
                 source = excluded.source, series = excluded.series, title = excluded.title,
                 start = excluded.start, end = excluded.end, tz = excluded.tz,
                 status = excluded.status, customer = excluded.customer,
                 reason = excluded.reason, account = excluded.account,
                 customer_domains = excluded.customer_domains,
                 recurring = excluded.recurring, last_seen = excluded.last_seen,
                 gone_at = NULL",
            items,
            now,
        )
    }

    /// Records that a meeting was deleted or cancelled in its calendar. Returns true when it was
    /// not already marked gone.
    pub fn mark_gone(&mut self, id: &MeetingId, now: DateTime<Utc>) -> Result<bool, LedgerError> {
        let _span = tracing::info_span!("ledger.write", op = "mark_gone", meeting = %id).entered();
        self.write("mark a meeting gone", |tx| {
            let n = tx.execute(
                "UPDATE meetings SET gone_at = ?2 WHERE id = ?1 AND gone_at IS NULL",
                params![id.as_str(), Ts(now)],
            )?;
            Ok(n == 1)
        })
    }

    /// Records that a prompt is being shown. Returns false when this showing (its
    /// [`PlannedPrompt::key`]) was already recorded: the caller must not show it again.
    pub fn record_shown(
        &mut self,
        p: &PlannedPrompt,
        now: DateTime<Utc>,
    ) -> Result<bool, LedgerError> {
        let key = p.key();
        let _span = tracing::info_span!("ledger.write", op = "record_shown", key = %key, meeting = %p.meeting)
            .entered();
        let new = self.write("record a shown prompt", |tx| {
            ensure_meeting(tx, &p.meeting)?;
            let n = tx.execute(
                "INSERT INTO prompts_shown (key, meeting, kind, attempt, shown_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(key) DO NOTHING",
                params![key, p.meeting.as_str(), p.kind, p.attempt, Ts(now)],
            )?;
            Ok(n == 1)
        })?;
        tracing::debug!(new, "prompt shown");
        Ok(new)
    }

    /// Appends an answer; see [`Recorded`] for what came of it. Under the answer rule (see the
    /// module note) a second objective or outcome is kept as a row but does not count:
    /// [`Recorded::AlreadyAnswered`] says who answered first, so the caller can say so (and the
    /// daemon withdraw a prompt on screen). Use [`Ledger::correct`] to change an answer.
    ///
    /// `key` must be unique per answer. For an answer to a shown prompt, use the prompt's
    /// [`PlannedPrompt::key`] (optionally with a `#…` suffix): that is also how a snooze, a
    /// dismissal or a not-sales answer is attributed to the objective or the outcome prompt.
    /// Other keys fall back to the time: before the meeting's start means the objective prompt.
    ///
    /// [`Answer::NotSales`] also writes an override: for the series when the meeting is
    /// recurring, else for the meeting.
    pub fn record(
        &mut self,
        key: &str,
        meeting: &MeetingId,
        answer: &Answer,
        via: Via,
        now: DateTime<Utc>,
    ) -> Result<Recorded, LedgerError> {
        let kind = answer.kind();
        let _span = tracing::info_span!("ledger.write", op = "record_answer", key = %key, meeting = %meeting, kind)
            .entered();
        let recorded = self.write("record an answer", |tx| {
            let (start, recurring) = ensure_meeting(tx, meeting)?;
            let prompt = match answer {
                Answer::Objective { .. } | Answer::ObjectiveMissed => PromptKind::Objective,
                Answer::Outcome { .. } => PromptKind::Outcome,
                Answer::Snooze | Answer::NotSales | Answer::Dismissed => {
                    crate::plan::prompt_answered(key, meeting, start, now)
                }
            };
            // Only objectives and outcomes answer a question; the rest are always on record.
            let before = match answer.question() {
                Some(question) => answers_of(tx, meeting)?.answered(question).cloned(),
                None => None,
            };
            if !insert_answer(tx, key, meeting, kind, prompt, answer, None, via, now)? {
                return Ok(Recorded::Retry);
            }
            if matches!(answer, Answer::NotSales) {
                let scope = if recurring {
                    meeting.series()
                } else {
                    meeting.as_str()
                };
                insert_override(tx, scope, false, now)?;
            }
            Ok(match before {
                Some(first) => Recorded::AlreadyAnswered {
                    by: first.by,
                    at: first.at,
                },
                None => Recorded::New,
            })
        })?;
        tracing::debug!(?recorded, "answer recorded");
        Ok(recorded)
    }

    /// [`Ledger::record`] for callers that only need to know whether a row was appended: true
    /// for [`Recorded::New`] and [`Recorded::AlreadyAnswered`] (kept, but not counted), false
    /// for a retry of a recorded key.
    pub fn record_answer(
        &mut self,
        key: &str,
        meeting: &MeetingId,
        answer: &Answer,
        via: Via,
        now: DateTime<Utc>,
    ) -> Result<bool, LedgerError> {
        let recorded = self.record(key, meeting, answer, via, now)?;
        Ok(recorded != Recorded::Retry)
    }

    /// Changes the objective or the outcome of `meeting` to `answer`: a new `correction` row that
    /// names the row it supersedes, never an update. [`Recorded::New`] when appended,
    /// [`Recorded::Retry`] when `key` was recorded before. Refused with
    /// [`LedgerError::NothingToCorrect`] when the question has no answer yet (record one with
    /// [`Ledger::record`]) or `answer` is not an objective or an outcome.
    pub fn correct(
        &mut self,
        key: &str,
        meeting: &MeetingId,
        answer: &Answer,
        via: Via,
        now: DateTime<Utc>,
    ) -> Result<Recorded, LedgerError> {
        let _span = tracing::info_span!("ledger.write", op = "correct", key = %key, meeting = %meeting, kind = answer.kind())
            .entered();
        let Some(question) = answer.question() else {
            return Err(self.nothing_to_correct(meeting, answer.kind()));
        };
        let recorded = self.write("record a correction", |tx| {
            ensure_meeting(tx, meeting)?;
            let Some(current) = answers_of(tx, meeting)?.answered(question).cloned() else {
                return Err(Inner::NothingToCorrect(meeting.clone(), question.as_str()));
            };
            let new = insert_answer(
                tx,
                key,
                meeting,
                "correction",
                question,
                answer,
                Some(current.seq),
                via,
                now,
            )?;
            Ok(if new { Recorded::New } else { Recorded::Retry })
        })?;
        tracing::debug!(?recorded, "correction recorded");
        Ok(recorded)
    }

    /// Records the meetings the ledger does not know yet, and leaves known ones exactly as they
    /// are: for an answer given from the CLI, which must not rewrite what the daemon saw
    /// (`last_seen`, `gone_at`, the verdict as classified).
    pub fn introduce(
        &mut self,
        items: &[(Meeting, Verdict)],
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        self.store_meetings(
            "introduce",
            "record new meetings",
            "ON CONFLICT(id) DO NOTHING",
            items,
            now,
        )
    }

    /// Inserts `items` into `meetings`, with `on_conflict` saying what happens to known ones;
    /// `op` names the call in the trace, `what` in an error.
    fn store_meetings(
        &mut self,
        op: &'static str,
        what: &'static str,
        on_conflict: &str,
        items: &[(Meeting, Verdict)],
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let _span = tracing::info_span!("ledger.write", op, meetings = items.len()).entered();
        self.write(what, |tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "INSERT INTO meetings (id, source, series, title, start, end, tz, status, customer,
                     reason, account, customer_domains, recurring, first_seen, last_seen, gone_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14, NULL)
                 {on_conflict}"
            ))?;
            for (m, v) in items {
                // Serializing a Vec<String> to JSON cannot fail.
                let domains = serde_json::to_string(&v.customer_domains).unwrap_or_default();
                stmt.execute(params![
                    m.id.as_str(),
                    m.source,
                    m.id.series(),
                    m.title,
                    Ts(m.start),
                    Ts(m.end),
                    m.tz,
                    m.status,
                    v.customer,
                    v.reason,
                    v.account,
                    domains,
                    m.recurring,
                    Ts(now),
                ])?;
            }
            Ok(())
        })
    }

    /// Records which notification shows the prompt `prompt_key` (a showing recorded with
    /// [`Ledger::record_shown`]), so a click that reaches a restarted daemon can be matched with
    /// [`Ledger::prompt_of_notification`].
    pub fn record_notification(
        &mut self,
        prompt_key: &str,
        notification_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let _span = tracing::info_span!("ledger.write", op = "record_notification", prompt = %prompt_key, notification_id)
            .entered();
        self.write("record a notification", |tx| {
            tx.prepare_cached(
                "INSERT INTO notifications (prompt_key, notification_id, at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![prompt_key, notification_id, Ts(now)])?;
            Ok(())
        })
    }

    /// Appends a correction of `account`'s won/lost state (a row of `account_marks`, never an
    /// edit): won or lost on `on`, or open again. Returns false when `key` was recorded before
    /// (a retried write; nothing changed). The latest mark of an account wins
    /// (docs/design.md, "Answers and their keys").
    pub fn mark_account(
        &mut self,
        key: &str,
        account: &str,
        kind: MarkKind,
        on: chrono::NaiveDate,
        via: Via,
        now: DateTime<Utc>,
    ) -> Result<bool, LedgerError> {
        let _span = tracing::info_span!(
            "ledger.write",
            op = "mark_account",
            key,
            kind = kind.as_str()
        )
        .entered();
        self.write("record an account mark", |tx| {
            let n = tx
                .prepare_cached(
                    "INSERT INTO account_marks (key, account, kind, on_day, via, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(key) DO NOTHING",
                )?
                .execute(params![key, account, kind, Day(on), via, Ts(now)])?;
            Ok(n == 1)
        })
    }

    /// Records a user override for a meeting id or a series id (`source/uid`): `customer =
    /// false` is "not a sales meeting", `true` "is a sales meeting". The latest one per scope
    /// wins; a meeting's own override beats its series'.
    pub fn set_override(
        &mut self,
        scope: &str,
        customer: bool,
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let _span =
            tracing::info_span!("ledger.write", op = "set_override", scope, customer).entered();
        self.write("record an override", |tx| {
            insert_override(tx, scope, customer, now)?;
            Ok(())
        })
    }
}

/// Appends one answer row; false when `key` was recorded before (nothing written).
#[allow(clippy::too_many_arguments)]
fn insert_answer(
    tx: &Transaction<'_>,
    key: &str,
    meeting: &MeetingId,
    kind: &str,
    prompt: PromptKind,
    answer: &Answer,
    supersedes: Option<i64>,
    via: Via,
    now: DateTime<Utc>,
) -> rusqlite::Result<bool> {
    let (text, result, next_step, note, due) = match answer {
        Answer::Objective { text } => (Some(text.as_str()), None, None, None, None),
        Answer::Outcome {
            result,
            next_step,
            note,
            due,
        } => (
            None,
            Some(*result),
            next_step.as_deref(),
            note.as_deref(),
            due.map(Day),
        ),
        _ => (None, None, None, None, None),
    };
    let n = tx
        .prepare_cached(
            "INSERT INTO answers (key, meeting, kind, prompt, text, result, next_step, note,
                 via, at, supersedes, due)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT(key) DO NOTHING",
        )?
        .execute(params![
            key,
            meeting.as_str(),
            kind,
            prompt,
            text,
            result,
            next_step,
            note,
            via,
            Ts(now),
            supersedes,
            due
        ])?;
    Ok(n == 1)
}

fn insert_override(
    tx: &Transaction<'_>,
    scope: &str,
    customer: bool,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT INTO overrides (scope, customer, at) VALUES (?1, ?2, ?3)")?
        .execute(params![scope, customer, Ts(now)])?;
    Ok(())
}

/// The meeting's start and whether it recurs, or `UnknownMeeting`.
fn ensure_meeting(tx: &Transaction<'_>, id: &MeetingId) -> Result<(DateTime<Utc>, bool), Inner> {
    tx.prepare_cached("SELECT start, recurring FROM meetings WHERE id = ?1")?
        .query_row([id.as_str()], |r| Ok((r.get::<_, Ts>(0)?.0, r.get(1)?)))
        .optional()?
        .ok_or_else(|| Inner::UnknownMeeting(id.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::testing::{SNOOZE, ledger_with_one, state_of};
    use crate::model::MeetingState;
    use crate::model::testing::{customer_meeting, id, objective, t};

    #[test]
    fn the_same_answer_key_twice_is_recorded_once() {
        let mut l = ledger_with_one("w/a/single");
        let a = objective("Agree to a next meeting");
        assert!(
            l.record_answer("k1", &id("w/a/single"), &a, Via::Cli, t(9, 0))
                .unwrap()
        );
        assert!(
            !l.record_answer("k1", &id("w/a/single"), &a, Via::Cli, t(9, 1))
                .unwrap()
        );
        let n: i64 = l
            .conn
            .query_row("SELECT count(*) FROM answers WHERE key = 'k1'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(n, 1);
        // The retry did not move the time either.
        let row = l.find(&id("w/a/single")).unwrap().unwrap();
        assert_eq!(row.objective.unwrap().set_at, t(9, 0));
    }

    #[test]
    fn a_shown_prompt_is_recorded_once_and_counted() {
        let m = id("w/a/single");
        let mut l = ledger_with_one(m.as_str());
        let p = |kind, attempt| PlannedPrompt {
            due: t(9, 45),
            meeting: m.clone(),
            kind,
            attempt,
        };
        assert!(
            l.record_shown(&p(PromptKind::Objective, 0), t(9, 45))
                .unwrap()
        );
        assert!(
            !l.record_shown(&p(PromptKind::Objective, 0), t(9, 46))
                .unwrap()
        );
        assert!(
            l.record_shown(&p(PromptKind::Outcome, 0), t(10, 35))
                .unwrap()
        );
        assert!(
            l.record_shown(&p(PromptKind::Outcome, 1), t(12, 35))
                .unwrap()
        );
        let st = state_of(&l, &m);
        assert_eq!((st.objective_shown, st.outcome_shown), (1, 2));
        assert_eq!(st.last_objective_shown, Some(t(9, 45)));
        assert_eq!(st.last_outcome_shown, Some(t(12, 35)));
    }

    #[test]
    fn an_unknown_id_gets_a_default_state_and_an_answer_to_it_is_refused_by_name() {
        let mut l = Ledger::open_in_memory().unwrap();
        let m = id("w/nope/single");
        assert_eq!(state_of(&l, &m), MeetingState::default());
        let err = l
            .record_answer("k", &m, &objective("x"), Via::Cli, t(9, 0))
            .unwrap_err();
        assert!(matches!(err, LedgerError::UnknownMeeting { .. }), "{err:?}");
        assert!(err.to_string().contains("w/nope/single"), "{err}");
    }

    #[test]
    fn not_sales_on_a_recurring_meeting_overrides_the_whole_series() {
        let mut l = Ledger::open_in_memory().unwrap();
        let a = id("w/weekly/20261201T100000Z");
        let b = id("w/weekly/20261208T100000Z");
        let single = id("w/once/single");
        l.remember(
            &[
                customer_meeting(a.as_str(), t(10, 0), true),
                customer_meeting(b.as_str(), t(10, 0) + chrono::TimeDelta::days(7), true),
                customer_meeting(single.as_str(), t(12, 0), false),
            ],
            t(8, 0),
        )
        .unwrap();
        l.record_answer("n1", &a, &Answer::NotSales, Via::Notification, t(9, 45))
            .unwrap();
        // A retry must not append a second override.
        l.record_answer("n1", &a, &Answer::NotSales, Via::Notification, t(9, 46))
            .unwrap();
        let n: i64 = l
            .conn
            .query_row("SELECT count(*) FROM overrides", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        let st = l
            .states(&[a.clone(), b.clone(), single.clone()], SNOOZE)
            .unwrap();
        assert_eq!(st[&a].override_customer, Some(false));
        assert_eq!(st[&b].override_customer, Some(false));
        assert_eq!(st[&single].override_customer, None);
        let customers: Vec<_> = l
            .customer_meetings(None)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(customers, vec![single]);

        // The meeting's own override beats the series'.
        l.set_override(b.as_str(), true, t(9, 50)).unwrap();
        let st = l.states(&[a.clone(), b.clone()], SNOOZE).unwrap();
        assert_eq!(st[&a].override_customer, Some(false));
        assert_eq!(st[&b].override_customer, Some(true));
    }

    #[test]
    fn not_sales_on_a_single_meeting_overrides_only_it() {
        let a = id("w/x/single");
        let mut l = ledger_with_one(a.as_str());
        l.record_answer("n1", &a, &Answer::NotSales, Via::Cli, t(9, 0))
            .unwrap();
        let scope: String = l
            .conn
            .query_row("SELECT scope FROM overrides", [], |r| r.get(0))
            .unwrap();
        assert_eq!(scope, "w/x/single");
    }

    #[test]
    fn remembering_again_keeps_first_seen_updates_metadata_and_clears_gone() {
        let a = id("w/x/single");
        let mut l = ledger_with_one(a.as_str());
        assert!(l.mark_gone(&a, t(8, 30)).unwrap());
        assert!(!l.mark_gone(&a, t(8, 31)).unwrap());
        assert_eq!(l.find(&a).unwrap().unwrap().gone_at, Some(t(8, 30)));
        let (mut m, v) = customer_meeting(a.as_str(), t(11, 0), false);
        m.title = "Moved".into();
        l.remember(&[(m, v)], t(9, 0)).unwrap();
        let row = l.find(&a).unwrap().unwrap();
        assert_eq!(row.first_seen, t(8, 0));
        assert_eq!(row.last_seen, t(9, 0));
        assert_eq!(row.start, t(11, 0));
        assert_eq!(row.title, "Moved");
        assert_eq!(row.gone_at, None);
        assert_eq!(row.customer_domains, vec!["acme.com".to_string()]);
        assert_eq!(row.tz.as_deref(), Some("Europe/Berlin"));
    }
}
