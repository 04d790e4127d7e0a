//! Every read of the ledger: the states `plan` needs, the rows export and report read, the last
//! commitment of an account, one account's meetings and marks (for `coach`), and what is
//! pending. Several queries of one call see one snapshot.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};

use super::codec::{Day, Ts};
use super::fold::{answer_rows_where, answers_of, fold};
use super::{Answered, Inner, Ledger, LedgerError, LedgerRow, PendingItem};
use crate::model::{AccountMark, MeetingId, MeetingState, Outcome, PromptKind};
use crate::plan;

impl Ledger {
    /// What the ledger knows about each of `ids`, for `plan`. Unknown ids get a default state.
    /// `snooze` is `prompts.snooze`: a snoozed prompt is snoozed until the snooze answer's time
    /// plus `snooze`.
    pub fn states(
        &self,
        ids: &[MeetingId],
        snooze: Duration,
    ) -> Result<HashMap<MeetingId, MeetingState>, LedgerError> {
        self.read("read meeting states", |tx| {
            // Most meetings of a big calendar are not customer meetings and the ledger has never
            // heard of them: answer those from two small id sets instead of four queries each.
            let known: HashSet<String> = tx
                .prepare_cached("SELECT id FROM meetings")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let scopes: HashSet<String> = tx
                .prepare_cached("SELECT DISTINCT scope FROM overrides")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut out = HashMap::with_capacity(ids.len());
            for id in ids {
                let mut st = MeetingState::default();
                if !known.contains(id.as_str())
                    && !scopes.contains(id.as_str())
                    && !scopes.contains(id.series())
                {
                    out.insert(id.clone(), st);
                    continue;
                }
                let facts = answers_of(tx, id)?;
                st.objective = facts.objective;
                st.objective_missed = facts.objective_missed;
                st.outcome = facts.outcome;
                st.objective_snoozed_until =
                    plan::snoozed_until(facts.objective_snoozed_at, snooze);
                st.outcome_snoozed_until = plan::snoozed_until(facts.outcome_snoozed_at, snooze);

                let mut stmt = tx.prepare_cached(
                    "SELECT kind, count(*), max(shown_at) FROM prompts_shown
                     WHERE meeting = ?1 GROUP BY kind",
                )?;
                let mut rows = stmt.query([id.as_str()])?;
                while let Some(r) = rows.next()? {
                    let kind: PromptKind = r.get(0)?;
                    let count: u32 = r.get(1)?;
                    let last: Option<Ts> = r.get(2)?;
                    match kind {
                        PromptKind::Objective => {
                            st.objective_shown = count;
                            st.last_objective_shown = last.map(|t| t.0);
                        }
                        PromptKind::Outcome => {
                            st.outcome_shown = count;
                            st.last_outcome_shown = last.map(|t| t.0);
                        }
                    }
                }
                st.override_customer = override_of(tx, id)?;
                st.first_seen = tx
                    .prepare_cached("SELECT first_seen FROM meetings WHERE id = ?1")?
                    .query_row([id.as_str()], |r| r.get::<_, Ts>(0))
                    .optional()?
                    .map(|t| t.0);
                out.insert(id.clone(), st);
            }
            Ok(out)
        })
    }

    /// Customer meetings (the stored verdict with overrides applied), oldest first, including
    /// ones gone from their calendar (see [`LedgerRow::gone_at`]). `since` keeps meetings that
    /// start at or after it.
    pub fn customer_meetings(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<LedgerRow>, LedgerError> {
        self.customer_meetings_in_period(since, None)
    }

    /// One meeting, customer or not.
    pub fn find(&self, id: &MeetingId) -> Result<Option<LedgerRow>, LedgerError> {
        self.read("find a meeting", |tx| {
            let meta = tx
                .prepare_cached(&format!("{ROW_SELECT} WHERE m.id = ?1"))?
                .query_row([id.as_str()], row_meta)
                .optional()?;
            meta.map(|m| complete_row(tx, m)).transpose()
        })
    }

    /// What the customer committed to last time: the latest customer meeting of `account`
    /// starting before `before` with a decisive outcome (`coach::decisive`: committed, advanced,
    /// continuation, no_sale) decides. When it is `committed`, the objective text; when
    /// `advanced`, the next step; otherwise, or when that text is missing, `None`: an older
    /// commitment would mislead (docs/design.md, "Last commitment carried forward").
    pub fn last_commitment(
        &self,
        account: &str,
        before: DateTime<Utc>,
    ) -> Result<Option<String>, LedgerError> {
        let rows = self.customer_meetings_of_account(account)?;
        let latest = rows
            .into_iter()
            .rev()
            .filter(|r| r.start < before)
            .find_map(|r| {
                let o = r.outcome.as_ref()?;
                crate::coach::decisive(o.result).then_some(r)
            });
        Ok(latest.and_then(|r| {
            let o = r.outcome?;
            match o.result {
                Outcome::Committed => r.objective.map(|ob| ob.text),
                Outcome::Advanced => o.next_step,
                _ => None,
            }
        }))
    }

    /// The names of every account the ledger's meetings carry, sorted.
    pub fn accounts(&self) -> Result<Vec<String>, LedgerError> {
        self.read("list accounts", |tx| {
            Ok(tx
                .prepare_cached(
                    "SELECT DISTINCT account FROM meetings WHERE account IS NOT NULL
                     ORDER BY account",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// The won/lost corrections of `account` (every account's when `None`), in append order.
    pub fn account_marks(&self, account: Option<&str>) -> Result<Vec<AccountMark>, LedgerError> {
        self.read("list account marks", |tx| {
            Ok(tx
                .prepare_cached(
                    "SELECT seq, account, kind, on_day, via, at FROM account_marks
                     WHERE ?1 IS NULL OR account = ?1 ORDER BY seq",
                )?
                .query_map([account], |r| {
                    Ok(AccountMark {
                        seq: r.get(0)?,
                        account: r.get(1)?,
                        kind: r.get(2)?,
                        on: r.get::<_, Day>(3)?.0,
                        via: r.get(4)?,
                        at: r.get::<_, Ts>(5)?.0,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Prompts waiting for an answer, by meeting start, as [`plan::pending_kind`] decides.
    pub fn pending(&self, now: DateTime<Utc>) -> Result<Vec<PendingItem>, LedgerError> {
        self.read("list pending prompts", |tx| {
            // Narrows by the indexed times to the candidates; `plan` decides.
            let mut stmt = tx.prepare_cached(&format!(
                "{ROW_SELECT}
                 WHERE m.gone_at IS NULL
                   AND ((m.start > ?1 AND m.start <= ?2) OR (m.end <= ?1 AND m.end >= ?3))
                 ORDER BY m.start, m.id"
            ))?;
            let metas = stmt
                .query_map(
                    params![
                        Ts(now),
                        Ts(now + plan::PENDING_OBJECTIVE_HORIZON),
                        Ts(now - plan::PENDING_OUTCOME_CAP)
                    ],
                    row_meta,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut prompted = tx.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM prompts_shown WHERE meeting = ?1 AND kind = 'outcome')",
            )?;
            let mut out = Vec::new();
            for meta in metas {
                let row = complete_row(tx, meta)?;
                let outcome_prompted: bool = prompted.query_row([row.id.as_str()], |r| r.get(0))?;
                let Some(kind) = plan::pending_kind(&row, outcome_prompted, now) else {
                    continue;
                };
                out.push(PendingItem {
                    kind,
                    meeting: row.id,
                    source: row.source,
                    title: row.title,
                    start: row.start,
                    end: row.end,
                    account: row.account,
                });
            }
            Ok(out)
        })
    }
}

/// A prompt that was shown but neither answered nor dismissed by the person: the daemon stopped
/// or died while it was on screen, or it could not be shown. What [`Ledger::open_prompts`] lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPrompt {
    /// The showing's [`crate::model::PlannedPrompt::key`].
    pub key: String,
    pub meeting: MeetingId,
    pub kind: PromptKind,
    pub attempt: u32,
    pub shown_at: DateTime<Utc>,
    /// The notification that showed it, when one was recorded.
    pub notification_id: Option<String>,
}

impl Ledger {
    /// Who answered `question` of `meeting`, and when: the answer in force (the first one, or
    /// its latest correction). `None` while unanswered, and for a meeting the ledger does not
    /// know.
    pub fn answered(
        &self,
        meeting: &MeetingId,
        question: PromptKind,
    ) -> Result<Option<Answered>, LedgerError> {
        self.read("read who answered", |tx| {
            Ok(answers_of(tx, meeting)?.answered(question).cloned())
        })
    }

    /// The prompt key a notification showed (the latest one recorded with that id), for a
    /// click that reaches a daemon which no longer tracks the notification.
    pub fn prompt_of_notification(
        &self,
        notification_id: &str,
    ) -> Result<Option<String>, LedgerError> {
        self.read("find the prompt of a notification", |tx| {
            Ok(tx
                .prepare_cached(
                    "SELECT prompt_key FROM notifications WHERE notification_id = ?1
                     ORDER BY seq DESC LIMIT 1",
                )?
                .query_row([notification_id], |r| r.get(0))
                .optional()?)
        })
    }

    /// Prompts shown but neither answered nor dismissed, oldest showing first: for each meeting
    /// and kind, its latest showing, when no answer row is keyed to it (its key, or its key and a
    /// `#…` suffix) except ones the daemon wrote itself (a prompt that could not be shown), and
    /// its question has no answer from anywhere. Whether one is still worth asking (an
    /// objective before the start, an outcome within `reask_limit`) is `plan`'s to decide.
    pub fn open_prompts(&self) -> Result<Vec<OpenPrompt>, LedgerError> {
        self.read("list open prompts", |tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT p.key, p.meeting, p.kind, p.attempt, p.shown_at,
                     (SELECT n.notification_id FROM notifications n WHERE n.prompt_key = p.key
                      ORDER BY n.seq DESC LIMIT 1)
                 FROM prompts_shown p
                 WHERE p.seq = (SELECT max(q.seq) FROM prompts_shown q
                                WHERE q.meeting = p.meeting AND q.kind = p.kind)
                   AND NOT EXISTS (
                     SELECT 1 FROM answers a
                     WHERE a.meeting = p.meeting AND a.via != 'daemon'
                       AND (a.key = p.key OR substr(a.key, 1, length(p.key) + 1) = p.key || '#'))
                 ORDER BY p.seq",
            )?;
            let shown = stmt
                .query_map([], |r| {
                    Ok(OpenPrompt {
                        key: r.get(0)?,
                        meeting: MeetingId(r.get(1)?),
                        kind: r.get(2)?,
                        attempt: r.get(3)?,
                        shown_at: r.get::<_, Ts>(4)?.0,
                        notification_id: r.get(5)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut out = Vec::new();
            for p in shown {
                if answers_of(tx, &p.meeting)?.answered(p.kind).is_none() {
                    out.push(p);
                }
            }
            Ok(out)
        })
    }
}

/// Reads narrowed in SQL for the answer page and `coach`: customer meetings (by account, series or period)
/// rather than every row read and filtered, with their answers read in one query for all of them
/// rather than one per meeting. Same rows, same fold, as [`Ledger::customer_meetings`].
impl Ledger {
    /// The customer meetings of `account` (its name exactly as the ledger stores it), oldest
    /// first, gone ones included, through the `meetings_by_account` index: the meeting page's
    /// history of the account, and what `coach` reads for its suggestion and status.
    pub fn customer_meetings_of_account(
        &self,
        account: &str,
    ) -> Result<Vec<LedgerRow>, LedgerError> {
        self.read("list an account's customer meetings", |tx| {
            customer_rows_where(tx, "m.account = ?1", &[&account])
        })
    }

    /// The customer meetings of `series` (a meeting id's series, see [`MeetingId::series`]),
    /// oldest first: the history of a meeting without an account.
    pub fn customer_meetings_of_series(&self, series: &str) -> Result<Vec<LedgerRow>, LedgerError> {
        self.read("list a series' customer meetings", |tx| {
            customer_rows_where(tx, "m.series = ?1", &[&series])
        })
    }

    /// The customer meetings that start at or after `since` and before `until` (either end open),
    /// oldest first, through the `meetings_by_start` index: a report's period.
    pub fn customer_meetings_in_period(
        &self,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Vec<LedgerRow>, LedgerError> {
        self.read("list the customer meetings of a period", |tx| {
            // Only the bounds given, so the planner can use the index on `start` for them.
            let (since, until) = (since.map(Ts), until.map(Ts));
            let mut condition = vec!["1".to_owned()];
            let mut params: Vec<&dyn rusqlite::ToSql> = Vec::new();
            for (bound, op) in [(&since, ">="), (&until, "<")] {
                if let Some(t) = bound {
                    params.push(t);
                    condition.push(format!("m.start {op} ?{}", params.len()));
                }
            }
            customer_rows_where(tx, &condition.join(" AND "), &params)
        })
    }

    /// The accounts of all customer meetings, each once, sorted; `None` stands for meetings
    /// without one. Reads no answers.
    pub fn customer_accounts(&self) -> Result<Vec<Option<String>>, LedgerError> {
        self.read("list the accounts", |tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT DISTINCT account FROM ({ROW_SELECT}) WHERE customer ORDER BY account"
            ))?;
            Ok(stmt
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}

/// The customer meetings whose row `m` meets `condition` (SQL over `meetings m`, with `params`),
/// oldest first, each folded from its answers, which are read in one query.
fn customer_rows_where(
    tx: &Transaction<'_>,
    condition: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Vec<LedgerRow>, Inner> {
    let mut rows: Vec<LedgerRow> = tx
        .prepare_cached(&format!(
            "{ROW_SELECT} WHERE {condition} ORDER BY m.start, m.id"
        ))?
        .query_map(params, row_meta)?
        .filter(|r| r.as_ref().map_or(true, |r| r.customer))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut answers = answer_rows_where(tx, condition, params)?;
    for row in &mut rows {
        let f = fold(
            answers
                .remove(row.id.as_str())
                .as_deref()
                .unwrap_or_default(),
        );
        row.objective = f.objective;
        row.objective_missed = f.objective_missed;
        row.outcome = f.outcome;
    }
    Ok(rows)
}

/// The override for a meeting: its own latest one, else its series' latest one.
fn override_of(tx: &Transaction<'_>, id: &MeetingId) -> rusqlite::Result<Option<bool>> {
    let mut stmt = tx.prepare_cached(
        "SELECT customer FROM overrides WHERE scope = ?1 ORDER BY seq DESC LIMIT 1",
    )?;
    if let Some(c) = stmt.query_row([id.as_str()], |r| r.get(0)).optional()? {
        return Ok(Some(c));
    }
    stmt.query_row([id.series()], |r| r.get(0)).optional()
}

/// its series, else the stored verdict) as column 8.
const ROW_SELECT: &str = "
    SELECT m.id, m.source, m.series, m.title, m.start, m.end, m.tz, m.status,
        COALESCE(
            (SELECT o.customer FROM overrides o WHERE o.scope = m.id ORDER BY o.seq DESC LIMIT 1),
            (SELECT o.customer FROM overrides o WHERE o.scope = m.series ORDER BY o.seq DESC LIMIT 1),
            m.customer) AS customer,
        m.reason, m.account, m.customer_domains, m.recurring, m.first_seen, m.last_seen, m.gone_at
    FROM meetings m";

fn row_meta(r: &rusqlite::Row<'_>) -> rusqlite::Result<LedgerRow> {
    let domains: String = r.get(11)?;
    let customer_domains: Vec<String> = serde_json::from_str(&domains).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(11, rusqlite::types::Type::Text, e.into())
    })?;
    Ok(LedgerRow {
        id: MeetingId(r.get(0)?),
        source: r.get(1)?,
        series: r.get(2)?,
        title: r.get(3)?,
        start: r.get::<_, Ts>(4)?.0,
        end: r.get::<_, Ts>(5)?.0,
        tz: r.get(6)?,
        status: r.get(7)?,
        customer: r.get(8)?,
        reason: r.get(9)?,
        account: r.get(10)?,
        customer_domains,
        recurring: r.get(12)?,
        first_seen: r.get::<_, Ts>(13)?.0,
        last_seen: r.get::<_, Ts>(14)?.0,
        gone_at: r.get::<_, Option<Ts>>(15)?.map(|t| t.0),
        objective: None,
        objective_missed: false,
        outcome: None,
    })
}

fn complete_row(tx: &Transaction<'_>, mut row: LedgerRow) -> Result<LedgerRow, Inner> {
    let f = answers_of(tx, &row.id)?;
    row.objective = f.objective;
    row.objective_missed = f.objective_missed;
    row.outcome = f.outcome;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::testing::{ledger_with_one, state_of};
    use crate::model::testing::{customer_meeting, id, objective, outcome, t};
    use crate::model::{Answer, ObjectiveRecord, PlannedPrompt, Via};

    #[test]
    fn states_reflect_the_first_answers_and_then_their_latest_corrections() {
        // Under the answer rule a second plain answer does not count; the values this test has
        // always asserted are now reached by corrections.
        let m = id("w/a/single");
        let mut l = ledger_with_one(m.as_str());
        l.record_answer("o1", &m, &objective("first"), Via::Notification, t(9, 0))
            .unwrap();
        l.correct("o2", &m, &objective("second"), Via::Dialog, t(9, 5))
            .unwrap();
        l.record_answer(
            "r1",
            &m,
            &outcome(Outcome::Continuation, None),
            Via::Cli,
            t(11, 0),
        )
        .unwrap();
        l.correct(
            "r2",
            &m,
            &outcome(Outcome::Advanced, Some("demo on Friday")),
            Via::Notification,
            t(11, 5),
        )
        .unwrap();
        let st = state_of(&l, &m);
        assert_eq!(
            st.objective,
            Some(ObjectiveRecord {
                text: "second".into(),
                set_at: t(9, 5),
                via: Via::Dialog
            })
        );
        let o = st.outcome.as_ref().unwrap();
        assert_eq!(o.result, Outcome::Advanced);
        assert_eq!(o.next_step.as_deref(), Some("demo on Friday"));
        assert_eq!(o.recorded_at, t(11, 5));
        assert_eq!(st.first_seen, Some(t(8, 0)));
        assert!(!st.objective_missed);
    }

    #[test]
    fn a_snooze_is_attributed_to_its_prompt_and_lasts_the_snooze_duration() {
        let m = id("w/a/single");
        let mut l = ledger_with_one(m.as_str());
        // By prompt key.
        l.record_answer(
            "w/a/single#objective#0",
            &m,
            &Answer::Snooze,
            Via::Notification,
            t(9, 45),
        )
        .unwrap();
        // By time, for a key that is not a prompt key: after the start means the outcome prompt.
        l.record_answer("cli-1", &m, &Answer::Snooze, Via::Cli, t(10, 40))
            .unwrap();
        let st = state_of(&l, &m);
        assert_eq!(st.objective_snoozed_until, Some(t(9, 55)));
        assert_eq!(st.outcome_snoozed_until, Some(t(10, 50)));
    }

    #[test]
    fn a_missed_objective_is_in_the_state() {
        let m = id("w/a/single");
        let mut l = ledger_with_one(m.as_str());
        l.record_answer(
            "missed",
            &m,
            &Answer::ObjectiveMissed,
            Via::Daemon,
            t(10, 0),
        )
        .unwrap();
        let st = state_of(&l, &m);
        assert!(st.objective_missed);
        assert_eq!(st.objective, None);
    }

    #[test]
    fn the_last_commitment_is_the_objective_when_committed_the_next_step_when_advanced_and_none_after_a_continuation()
     {
        let mut l = Ledger::open_in_memory().unwrap();
        let day = chrono::TimeDelta::days(1);
        let (m1, m2, m3) = (id("w/1/single"), id("w/2/single"), id("w/3/single"));
        l.remember(
            &[
                customer_meeting(m1.as_str(), t(10, 0), false),
                customer_meeting(m2.as_str(), t(10, 0) + day, false),
                customer_meeting(m3.as_str(), t(10, 0) + day * 2, false),
            ],
            t(8, 0),
        )
        .unwrap();
        l.record_answer(
            "a",
            &m1,
            &objective("Agree to a proposal meeting"),
            Via::Cli,
            t(9, 0),
        )
        .unwrap();
        l.record_answer(
            "b",
            &m1,
            &outcome(Outcome::Committed, None),
            Via::Cli,
            t(11, 0),
        )
        .unwrap();
        l.record_answer(
            "c",
            &m2,
            &outcome(Outcome::Continuation, None),
            Via::Cli,
            t(11, 0) + day,
        )
        .unwrap();
        // Before meeting 2: meeting 1's commitment.
        assert_eq!(
            l.last_commitment("Acme", t(10, 0) + day)
                .unwrap()
                .as_deref(),
            Some("Agree to a proposal meeting")
        );
        // Before meeting 3: meeting 2 ended in a continuation, which is decisive and carries no
        // commitment, so meeting 1's older one would mislead.
        assert_eq!(l.last_commitment("Acme", t(10, 0) + day * 2).unwrap(), None);
        // Changing an answer is a correction (a second plain outcome would not count).
        l.correct(
            "d",
            &m2,
            &outcome(Outcome::Advanced, Some("Pilot with 5 seats")),
            Via::Cli,
            t(12, 0) + day,
        )
        .unwrap();
        assert_eq!(
            l.last_commitment("Acme", t(10, 0) + day * 2)
                .unwrap()
                .as_deref(),
            Some("Pilot with 5 seats")
        );
        // A no-show says nothing about the sale: the advanced step before it still counts.
        l.record_answer(
            "e",
            &m3,
            &outcome(Outcome::NoShow, None),
            Via::Cli,
            t(11, 0) + day * 2,
        )
        .unwrap();
        assert_eq!(
            l.last_commitment("Acme", t(10, 0) + day * 3)
                .unwrap()
                .as_deref(),
            Some("Pilot with 5 seats")
        );
        assert_eq!(l.last_commitment("Acme", t(10, 0)).unwrap(), None);
        assert_eq!(l.last_commitment("Globex", t(23, 0)).unwrap(), None);
    }

    #[test]
    fn pending_lists_objectives_within_a_day_and_unanswered_outcomes_within_a_month() {
        let mut l = Ledger::open_in_memory().unwrap();
        let now = t(12, 0);
        let h = chrono::TimeDelta::hours(1);
        let items = [
            customer_meeting("w/soon/single", now + h, false), // objective pending
            customer_meeting("w/soon-set/single", now + h * 2, false), // has objective
            customer_meeting("w/far/single", now + h * 30, false), // beyond 24 h
            customer_meeting("w/ended/single", now - h * 3, false), // outcome pending
            customer_meeting("w/answered/single", now - h * 3, false), // has outcome
            customer_meeting("w/ancient/single", now - h * 24 * 40, false), // beyond 30 days
            customer_meeting("w/now/single", now - chrono::TimeDelta::minutes(10), false), // running
            customer_meeting("w/gone/single", now + h, false), // deleted
        ];
        l.remember(&items, now - h * 24 * 50).unwrap();
        let (mut other, mut v) = customer_meeting("w/internal/single", now + h, false);
        v.customer = false;
        other.title = "Internal".into();
        l.remember(&[(other, v)], now - h * 24).unwrap();
        // Seen for the first time after it had ended, never prompted: history, not pending.
        l.remember(
            &[customer_meeting("w/history/single", now - h * 5, false)],
            now,
        )
        .unwrap();
        l.record_answer(
            "s",
            &id("w/soon-set/single"),
            &objective("x"),
            Via::Cli,
            now,
        )
        .unwrap();
        l.record_answer(
            "o",
            &id("w/answered/single"),
            &outcome(Outcome::NoSale, None),
            Via::Cli,
            now,
        )
        .unwrap();
        l.mark_gone(&id("w/gone/single"), now).unwrap();

        let pending: Vec<_> = l
            .pending(now)
            .unwrap()
            .into_iter()
            .map(|p| (p.kind, p.meeting.0))
            .collect();
        assert_eq!(
            pending,
            vec![
                (PromptKind::Outcome, "w/ended/single".to_string()),
                (PromptKind::Objective, "w/soon/single".to_string()),
            ]
        );

        // Once the daemon prompted about the late-seen meeting, it is pending until answered.
        l.record_shown(
            &PlannedPrompt {
                due: now,
                meeting: id("w/history/single"),
                kind: PromptKind::Outcome,
                attempt: 0,
            },
            now,
        )
        .unwrap();
        assert_eq!(l.pending(now).unwrap().len(), 3);
    }

    #[test]
    fn the_page_queries_read_the_same_rows_as_all_customer_meetings_narrowed() {
        let mut l = Ledger::open_in_memory().unwrap();
        let day = chrono::TimeDelta::days(1);
        let other = |id: &str, start| {
            let (m, mut v) = customer_meeting(id, start, false);
            v.account = Some("Initech".into());
            (m, v)
        };
        let mut no_account = customer_meeting("w/n/single", t(10, 0) + day * 4, false);
        no_account.1.account = None;
        l.remember(
            &[
                customer_meeting("w/1/single", t(10, 0), false),
                customer_meeting("w/2/single", t(10, 0) + day, false),
                other("w/3/single", t(10, 0) + day * 2),
                customer_meeting("w/4/single", t(10, 0) + day * 3, false),
                no_account,
                (
                    crate::model::testing::meeting("w/i/single", t(10, 0) + day),
                    crate::model::testing::internal(),
                ),
            ],
            t(8, 0),
        )
        .unwrap();
        let m1 = id("w/1/single");
        l.record_answer("o1", &m1, &objective("first"), Via::Cli, t(9, 0))
            .unwrap();
        l.correct("o2", &m1, &objective("second"), Via::Web, t(9, 5))
            .unwrap();
        l.record_answer(
            "r1",
            &m1,
            &outcome(Outcome::Advanced, Some("a demo")),
            Via::Cli,
            t(11, 0),
        )
        .unwrap();
        l.record_answer(
            "r3",
            &id("w/3/single"),
            &outcome(Outcome::NoSale, None),
            Via::Cli,
            t(11, 0) + day * 2,
        )
        .unwrap();
        // Not a sales meeting after all: gone from every list.
        l.record_answer(
            "n4",
            &id("w/4/single"),
            &Answer::NotSales,
            Via::Cli,
            t(9, 0),
        )
        .unwrap();

        let all = l.customer_meetings(None).unwrap();
        let ids =
            |rows: &[LedgerRow]| -> Vec<String> { rows.iter().map(|r| r.id.0.clone()).collect() };
        assert_eq!(
            ids(&all),
            ["w/1/single", "w/2/single", "w/3/single", "w/n/single"]
        );
        let narrowed = |keep: &dyn Fn(&LedgerRow) -> bool| -> Vec<LedgerRow> {
            all.iter().filter(|r| keep(r)).cloned().collect()
        };
        let acme = l.customer_meetings_of_account("Acme").unwrap();
        assert_eq!(acme, narrowed(&|r| r.account.as_deref() == Some("Acme")));
        assert_eq!(ids(&acme), ["w/1/single", "w/2/single"]);
        // The fold is the same: the correction stands, the outcome is there.
        assert_eq!(acme[0].objective.as_ref().unwrap().text, "second");
        assert_eq!(
            acme[0].outcome.as_ref().unwrap().next_step.as_deref(),
            Some("a demo")
        );
        assert_eq!(
            l.customer_meetings_of_series("w/n").unwrap(),
            narrowed(&|r| r.id.0 == "w/n/single")
        );
        assert_eq!(l.customer_meetings_in_period(None, None).unwrap(), all);
        assert_eq!(
            l.customer_meetings_in_period(Some(t(10, 0) + day), Some(t(10, 0) + day * 4))
                .unwrap(),
            narrowed(&|r| r.start >= t(10, 0) + day && r.start < t(10, 0) + day * 4)
        );
        assert_eq!(
            ids(&l
                .customer_meetings_in_period(None, Some(t(10, 0) + day))
                .unwrap()),
            ["w/1/single"]
        );
        assert_eq!(
            ids(&l
                .customer_meetings_in_period(Some(t(10, 0) + day * 2), None)
                .unwrap()),
            ["w/3/single", "w/n/single"]
        );
        assert_eq!(
            l.customer_accounts().unwrap(),
            [None, Some("Acme".to_owned()), Some("Initech".to_owned())]
        );
    }
}
