//! The ledger: one SQLite file that keeps every meeting we saw, every prompt we showed and every
//! answer we got.
//!
//! What it promises:
//! - Answers are append-only events with a unique key: recording the same key twice is a no-op, so
//!   a retried write never duplicates (`INSERT … ON CONFLICT(key) DO NOTHING`).
//! - Current state is derived from the events: the latest recorded objective wins, the latest
//!   recorded outcome wins ("latest" = last appended, by the `seq` column, not by the `at`
//!   timestamp, which a CLI user may set from another clock).
//! - A write that returned `Ok` survives a crash or power loss: WAL with `synchronous=FULL`, one
//!   short `BEGIN IMMEDIATE` transaction per call (`tests/ledger_crash.rs` SIGKILLs a writer).
//! - The schema version lives in the file (`PRAGMA user_version`); migrations are code
//!   (`MIGRATIONS`); a file from a newer nextstep is refused rather than damaged.
//!
//! Times are stored as fixed-width RFC 3339 UTC text (`2026-12-01T09:30:00.000000Z`), so they sort
//! and compare as text and stay readable in the `sqlite3` shell.
//!
//! Meeting titles are personal data: they are stored here (the user's own machine, file mode 0600)
//! but never logged above `trace`.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{
    Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior, params,
};
use serde::Serialize;

use crate::model::{
    Answer, Meeting, MeetingId, MeetingState, MeetingStatus, ObjectiveRecord, Outcome,
    OutcomeRecord, PlannedPrompt, PromptKind, Verdict, Via,
};

/// Identifies a nextstep ledger in the SQLite header (`PRAGMA application_id`): ASCII "nxst".
const APPLICATION_ID: i32 = 0x6e78_7374;

/// How long a writer waits for another process (the CLI next to the daemon) to finish its
/// transaction before giving up with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Outcome prompts of meetings that ended longer ago than this are no longer listed by
/// [`Ledger::pending`]: an unanswered meeting from two months ago is history, not a to-do. Their
/// outcome can still be recorded with `nextstep outcome --meeting ID`.
pub const PENDING_OUTCOME_CAP: chrono::TimeDelta = chrono::TimeDelta::days(30);

/// Objective prompts are listed by [`Ledger::pending`] for meetings starting within this horizon.
pub const PENDING_OBJECTIVE_HORIZON: chrono::TimeDelta = chrono::TimeDelta::hours(24);

type Migration = fn(&Transaction<'_>) -> rusqlite::Result<()>;

/// Migration `i` takes the schema from version `i` to `i + 1`. To change the schema, append a
/// function; never edit one that has shipped.
const MIGRATIONS: &[Migration] = &[migrate_v1];

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

fn migrate_v1(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "
        CREATE TABLE meetings (
            id               TEXT PRIMARY KEY NOT NULL,
            source           TEXT NOT NULL,
            series           TEXT NOT NULL,
            title            TEXT NOT NULL,
            start            TEXT NOT NULL,
            end              TEXT NOT NULL,
            tz               TEXT,
            status           TEXT NOT NULL,
            customer         INTEGER NOT NULL,
            reason           TEXT NOT NULL,
            account          TEXT,
            customer_domains TEXT NOT NULL DEFAULT '[]',
            recurring        INTEGER NOT NULL,
            first_seen       TEXT NOT NULL,
            last_seen        TEXT NOT NULL,
            gone_at          TEXT
        ) STRICT;
        CREATE INDEX meetings_by_start ON meetings(start);
        CREATE INDEX meetings_by_account ON meetings(account, start);

        CREATE TABLE prompts_shown (
            seq      INTEGER PRIMARY KEY,
            key      TEXT NOT NULL UNIQUE,
            meeting  TEXT NOT NULL REFERENCES meetings(id),
            kind     TEXT NOT NULL CHECK (kind IN ('objective', 'outcome')),
            attempt  INTEGER NOT NULL,
            shown_at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX prompts_shown_by_meeting ON prompts_shown(meeting);

        -- Append-only. `prompt` says which prompt a snooze, dismissal or not-sales answer was
        -- given to (objective or outcome).
        CREATE TABLE answers (
            seq       INTEGER PRIMARY KEY,
            key       TEXT NOT NULL UNIQUE,
            meeting   TEXT NOT NULL REFERENCES meetings(id),
            kind      TEXT NOT NULL,
            prompt    TEXT,
            text      TEXT,
            result    TEXT,
            next_step TEXT,
            note      TEXT,
            via       TEXT NOT NULL,
            at        TEXT NOT NULL
        ) STRICT;
        CREATE INDEX answers_by_meeting ON answers(meeting, seq);

        -- Append-only too; the latest row per scope wins. `scope` is a meeting id or a series id
        -- (`source/uid`), so no foreign key.
        CREATE TABLE overrides (
            seq      INTEGER PRIMARY KEY,
            scope    TEXT NOT NULL,
            customer INTEGER NOT NULL,
            at       TEXT NOT NULL
        ) STRICT;
        CREATE INDEX overrides_by_scope ON overrides(scope, seq);
        ",
    )?;
    tx.pragma_update(None, "application_id", APPLICATION_ID)
}

/// What can go wrong with the ledger. Messages name the file and say what to do.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error(
        "{path} is not a nextstep ledger (not a SQLite database, or one that belongs to another \
         program); move it aside (`mv {path} {path}.bak`) or choose another file with \
         `[ledger] path` or --ledger",
        path = path.display()
    )]
    NotALedger { path: PathBuf },
    #[error(
        "ledger {path} has schema version {version}, but this nextstep understands only up to \
         {SCHEMA_VERSION}; upgrade nextstep, or use another file with `[ledger] path` or --ledger",
        path = path.display()
    )]
    Newer { path: PathBuf, version: i64 },
    #[error("cannot {action} {path}", path = path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("ledger {path}: {op} failed", path = path.display())]
    Sqlite {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "ledger {path} knows no meeting `{id}`; ids come from `nextstep upcoming --all --json` or \
         `nextstep export`",
        path = path.display()
    )]
    UnknownMeeting { path: PathBuf, id: MeetingId },
}

/// Errors inside one ledger call, before the path and operation are attached.
enum Inner {
    Sql(rusqlite::Error),
    UnknownMeeting(MeetingId),
}

impl From<rusqlite::Error> for Inner {
    fn from(e: rusqlite::Error) -> Self {
        Inner::Sql(e)
    }
}

/// A meeting as the ledger stores it, with its current objective and outcome. What export,
/// report, pending and the CLI read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedgerRow {
    pub id: MeetingId,
    pub source: String,
    /// `source/uid`: the scope of per-series overrides.
    pub series: String,
    pub title: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub tz: Option<String>,
    pub status: MeetingStatus,
    /// The verdict as last classified, with any user override applied (meeting, then series).
    pub customer: bool,
    pub reason: String,
    pub account: Option<String>,
    pub customer_domains: Vec<String>,
    pub recurring: bool,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// When the meeting disappeared from (or was cancelled in) its calendar.
    pub gone_at: Option<DateTime<Utc>>,
    pub objective: Option<ObjectiveRecord>,
    /// The daemon recorded that the meeting started without an objective.
    pub objective_missed: bool,
    pub outcome: Option<OutcomeRecord>,
}

/// A prompt waiting for an answer, as `nextstep pending` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingItem {
    /// `objective` (the meeting starts within 24 h and has none) or `outcome` (it ended, none
    /// recorded).
    pub kind: PromptKind,
    pub meeting: MeetingId,
    pub source: String,
    pub title: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub account: Option<String>,
}

/// The open ledger. One connection; every call is one short transaction.
pub struct Ledger {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("path", &self.path).finish()
    }
}

impl Ledger {
    /// Opens (creating when missing) the ledger at `path`, and migrates it to [`SCHEMA_VERSION`].
    ///
    /// A missing parent directory is created with mode 0700 and a missing file with mode 0600:
    /// the ledger holds meeting titles and what customers agreed to.
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        prepare_file(path)?;
        let conn = Connection::open(path).map_err(|source| LedgerError::Sqlite {
            op: "open",
            path: path.to_owned(),
            source,
        })?;
        Self::setup(conn, path.to_owned())
    }

    /// A private ledger in memory, for tests.
    pub fn open_in_memory() -> Result<Ledger, LedgerError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|source| LedgerError::Sqlite {
            op: "open",
            path: path.clone(),
            source,
        })?;
        Self::setup(conn, path)
    }

    /// The file this ledger lives in (`:memory:` for [`Ledger::open_in_memory`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Changes whenever another connection (the CLI, say) commits to the ledger; the daemon
    /// polls it to pick up answers given elsewhere without re-reading everything.
    pub fn data_version(&self) -> Result<i64, LedgerError> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|source| LedgerError::Sqlite {
                op: "read data_version of",
                path: self.path.clone(),
                source,
            })
    }

    fn setup(mut conn: Connection, path: PathBuf) -> Result<Ledger, LedgerError> {
        let sql = |op| {
            let path = path.clone();
            move |source: rusqlite::Error| {
                if source.sqlite_error_code() == Some(ErrorCode::NotADatabase) {
                    LedgerError::NotALedger { path }
                } else {
                    LedgerError::Sqlite { op, path, source }
                }
            }
        };
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql("configure"))?;
        // The first statement that reads the file: a text file fails here with NotADatabase.
        let _mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(sql("switch to WAL"))?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql("configure"))?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(sql("configure"))?;

        // Another program's SQLite file: refuse rather than add our tables to it.
        let app_id: i32 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(sql("read the header of"))?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sql("read the schema version of"))?;
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .map_err(sql("read the schema of"))?;
        if (app_id != 0 && app_id != APPLICATION_ID) || (app_id == 0 && tables > 0) {
            return Err(LedgerError::NotALedger { path });
        }
        if version > SCHEMA_VERSION {
            return Err(LedgerError::Newer { path, version });
        }

        for (from, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql("migrate"))?;
            // Another process may have migrated while we waited for the write lock.
            let now: i64 = tx
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .map_err(sql("migrate"))?;
            if now > from as i64 {
                continue;
            }
            migration(&tx).map_err(sql("migrate"))?;
            tx.pragma_update(None, "user_version", from as i64 + 1)
                .map_err(sql("migrate"))?;
            tx.commit().map_err(sql("migrate"))?;
            tracing::info!(path = %path.display(), version = from + 1, "ledger migrated");
        }
        Ok(Ledger { conn, path })
    }

    /// Runs `f` in one immediate (write-locking) transaction and commits it.
    fn write<T>(
        &mut self,
        op: &'static str,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, Inner>,
    ) -> Result<T, LedgerError> {
        let result = (|| {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })();
        result.map_err(|e| self.error(op, e))
    }

    /// Runs `f` in one read transaction, so several queries see one snapshot.
    fn read<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, Inner>,
    ) -> Result<T, LedgerError> {
        let result = (|| {
            let tx = self.conn.unchecked_transaction()?;
            let out = f(&tx)?;
            tx.finish()?;
            Ok(out)
        })();
        result.map_err(|e| self.error(op, e))
    }

    fn error(&self, op: &'static str, e: Inner) -> LedgerError {
        match e {
            Inner::Sql(source) => LedgerError::Sqlite {
                op,
                path: self.path.clone(),
                source,
            },
            Inner::UnknownMeeting(id) => LedgerError::UnknownMeeting {
                path: self.path.clone(),
                id,
            },
        }
    }

    /// Stores what the sources and `classify` say about these meetings. Keeps `first_seen`;
    /// a meeting seen again after [`Ledger::mark_gone`] is no longer gone.
    pub fn remember(
        &mut self,
        items: &[(Meeting, Verdict)],
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let _span =
            tracing::info_span!("ledger.write", op = "remember", meetings = items.len()).entered();
        self.write("remember meetings", |tx| {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO meetings (id, source, series, title, start, end, tz, status, customer,
                     reason, account, customer_domains, recurring, first_seen, last_seen, gone_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14, NULL)
                 ON CONFLICT(id) DO UPDATE SET
                     source = excluded.source, series = excluded.series, title = excluded.title,
                     start = excluded.start, end = excluded.end, tz = excluded.tz,
                     status = excluded.status, customer = excluded.customer,
                     reason = excluded.reason, account = excluded.account,
                     customer_domains = excluded.customer_domains,
                     recurring = excluded.recurring, last_seen = excluded.last_seen,
                     gone_at = NULL",
            )?;
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

    /// Appends an answer. Returns true when newly recorded, false when `key` was already there
    /// (a retry: nothing changes).
    ///
    /// `key` must be unique per answer. For an answer to a shown prompt, use the prompt's
    /// [`PlannedPrompt::key`] (optionally with a `#…` suffix): that is also how a snooze, a
    /// dismissal or a not-sales answer is attributed to the objective or the outcome prompt.
    /// Other keys fall back to the time: before the meeting's start means the objective prompt.
    ///
    /// [`Answer::NotSales`] also writes an override: for the series when the meeting is
    /// recurring, else for the meeting.
    pub fn record_answer(
        &mut self,
        key: &str,
        meeting: &MeetingId,
        answer: &Answer,
        via: Via,
        now: DateTime<Utc>,
    ) -> Result<bool, LedgerError> {
        let kind = answer.kind();
        let _span = tracing::info_span!("ledger.write", op = "record_answer", key = %key, meeting = %meeting, kind)
            .entered();
        let new = self.write("record an answer", |tx| {
            let (start, recurring) = ensure_meeting(tx, meeting)?;
            let prompt = match answer {
                Answer::Objective { .. } | Answer::ObjectiveMissed => PromptKind::Objective,
                Answer::Outcome { .. } => PromptKind::Outcome,
                Answer::Snooze | Answer::NotSales | Answer::Dismissed => {
                    prompt_of_key(key, meeting).unwrap_or(if now < start {
                        PromptKind::Objective
                    } else {
                        PromptKind::Outcome
                    })
                }
            };
            let (text, result, next_step, note) = match answer {
                Answer::Objective { text } => (Some(text.as_str()), None, None, None),
                Answer::Outcome {
                    result,
                    next_step,
                    note,
                } => (None, Some(*result), next_step.as_deref(), note.as_deref()),
                _ => (None, None, None, None),
            };
            let n = tx.execute(
                "INSERT INTO answers (key, meeting, kind, prompt, text, result, next_step, note,
                     via, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT(key) DO NOTHING",
                params![
                    key,
                    meeting.as_str(),
                    kind,
                    prompt,
                    text,
                    result,
                    next_step,
                    note,
                    via,
                    Ts(now)
                ],
            )?;
            if n == 1 && matches!(answer, Answer::NotSales) {
                let scope = if recurring {
                    meeting.series()
                } else {
                    meeting.as_str()
                };
                insert_override(tx, scope, false, now)?;
            }
            Ok(n == 1)
        })?;
        tracing::debug!(new, "answer recorded");
        Ok(new)
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

    /// What the ledger knows about each of `ids`, for `plan`. Unknown ids get a default state.
    /// `snooze` is `prompts.snooze`: a snoozed prompt is snoozed until the snooze answer's time
    /// plus `snooze`.
    pub fn states(
        &self,
        ids: &[MeetingId],
        snooze: Duration,
    ) -> Result<HashMap<MeetingId, MeetingState>, LedgerError> {
        let snooze = chrono::TimeDelta::from_std(snooze).unwrap_or(chrono::TimeDelta::MAX);
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
                st.objective_snoozed_until = facts
                    .objective_snoozed_at
                    .and_then(|t| t.checked_add_signed(snooze));
                st.outcome_snoozed_until = facts
                    .outcome_snoozed_at
                    .and_then(|t| t.checked_add_signed(snooze));

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
        self.read("list customer meetings", |tx| {
            let since = since.map(Ts);
            let mut stmt = tx.prepare_cached(&format!(
                "{ROW_SELECT} WHERE (?1 IS NULL OR m.start >= ?1) ORDER BY m.start, m.id"
            ))?;
            let metas = stmt
                .query_map([since], row_meta)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut out = Vec::new();
            for meta in metas {
                let row = complete_row(tx, meta)?;
                if row.customer {
                    out.push(row);
                }
            }
            Ok(out)
        })
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

    /// What the customer committed to last time: for the latest meeting of `account` starting
    /// before `before` whose outcome is `committed` or `advanced`, the objective text
    /// (committed) or the next step (advanced). `None` when there is no such meeting, or when
    /// that meeting's outcome carries no text (an older commitment would be misleading).
    pub fn last_commitment(
        &self,
        account: &str,
        before: DateTime<Utc>,
    ) -> Result<Option<String>, LedgerError> {
        self.read("find the last commitment", |tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT id FROM meetings WHERE account = ?1 AND start < ?2
                 ORDER BY start DESC, id DESC",
            )?;
            let ids = stmt
                .query_map(params![account, Ts(before)], |r| {
                    r.get::<_, String>(0).map(MeetingId)
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for id in ids {
                let facts = answers_of(tx, &id)?;
                match facts.outcome {
                    Some(o) if o.result == Outcome::Committed => {
                        return Ok(facts.objective.map(|ob| ob.text));
                    }
                    Some(o) if o.result == Outcome::Advanced => return Ok(o.next_step),
                    _ => {}
                }
            }
            Ok(None)
        })
    }

    /// Prompts waiting for an answer, by meeting start:
    /// - `objective`: a customer meeting starting within [`PENDING_OBJECTIVE_HORIZON`] without
    ///   an objective;
    /// - `outcome`: a customer meeting that ended within [`PENDING_OUTCOME_CAP`] without an
    ///   outcome. A meeting that had already ended when nextstep first saw it is listed only once
    ///   an outcome prompt was shown for it (the daemon asks about those only within
    ///   `prompts.lookback`), so a first run does not list a month of history.
    ///
    /// Meetings gone from their calendar are never pending.
    pub fn pending(&self, now: DateTime<Utc>) -> Result<Vec<PendingItem>, LedgerError> {
        self.read("list pending prompts", |tx| {
            let mut stmt = tx.prepare_cached(&format!(
                "{ROW_SELECT}
                 WHERE m.gone_at IS NULL
                   AND ((m.start > ?1 AND m.start <= ?2)
                     OR (m.end <= ?1 AND m.end >= ?3
                         AND (m.first_seen <= m.end OR EXISTS (
                             SELECT 1 FROM prompts_shown p
                             WHERE p.meeting = m.id AND p.kind = 'outcome'))))
                 ORDER BY m.start, m.id"
            ))?;
            let metas = stmt
                .query_map(
                    params![
                        Ts(now),
                        Ts(now + PENDING_OBJECTIVE_HORIZON),
                        Ts(now - PENDING_OUTCOME_CAP)
                    ],
                    row_meta,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut out = Vec::new();
            for meta in metas {
                let row = complete_row(tx, meta)?;
                if !row.customer {
                    continue;
                }
                let kind = if row.start > now {
                    if row.objective.is_some() {
                        continue;
                    }
                    PromptKind::Objective
                } else {
                    if row.outcome.is_some() {
                        continue;
                    }
                    PromptKind::Outcome
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

/// Creates the parent directory (0700) and the file (0600) when missing, so SQLite never creates
/// the file with the process umask. SQLite gives the `-wal` and `-shm` files the database file's
/// mode.
fn prepare_file(path: &Path) -> Result<(), LedgerError> {
    let io = |action, p: &Path| {
        let p = p.to_owned();
        move |source| LedgerError::Io {
            action,
            path: p,
            source,
        }
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::fsutil::create_private_dir(parent)
            .map_err(io("create the ledger directory", parent))?;
    }
    let mut opts = fs::OpenOptions::new();
    opts.read(true).write(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
        .map_err(io("create the ledger file", path))?;
    Ok(())
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

/// The prompt kind of a key shaped like [`PlannedPrompt::key`] (`meeting#kind#attempt…`).
fn prompt_of_key(key: &str, meeting: &MeetingId) -> Option<PromptKind> {
    let rest = key.strip_prefix(meeting.as_str())?.strip_prefix('#')?;
    [PromptKind::Objective, PromptKind::Outcome]
        .into_iter()
        .find(|k| {
            rest.strip_prefix(k.as_str())
                .is_some_and(|r| r.starts_with('#'))
        })
}

/// The state derived from one meeting's answers, folded in append order.
#[derive(Default)]
struct Facts {
    objective: Option<ObjectiveRecord>,
    objective_missed: bool,
    outcome: Option<OutcomeRecord>,
    objective_snoozed_at: Option<DateTime<Utc>>,
    outcome_snoozed_at: Option<DateTime<Utc>>,
}

fn answers_of(tx: &Transaction<'_>, id: &MeetingId) -> rusqlite::Result<Facts> {
    let mut stmt = tx.prepare_cached(
        "SELECT kind, prompt, text, result, next_step, note, via, at
         FROM answers WHERE meeting = ?1 ORDER BY seq",
    )?;
    let mut rows = stmt.query([id.as_str()])?;
    let mut f = Facts::default();
    while let Some(r) = rows.next()? {
        let kind: String = r.get(0)?;
        let via: Via = r.get(6)?;
        let at = r.get::<_, Ts>(7)?.0;
        match kind.as_str() {
            "objective" => {
                f.objective = Some(ObjectiveRecord {
                    text: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    set_at: at,
                    via,
                })
            }
            "objective_missed" => f.objective_missed = true,
            "outcome" => {
                let Some(result) = r.get::<_, Option<Outcome>>(3)? else {
                    continue;
                };
                f.outcome = Some(OutcomeRecord {
                    result,
                    next_step: r.get(4)?,
                    note: r.get(5)?,
                    recorded_at: at,
                    via,
                })
            }
            "snooze" => match r.get::<_, Option<PromptKind>>(1)? {
                Some(PromptKind::Objective) => f.objective_snoozed_at = Some(at),
                Some(PromptKind::Outcome) => f.outcome_snoozed_at = Some(at),
                None => {}
            },
            // Dismissals, not-sales answers (which act through `overrides`) and kinds from a
            // newer minor version carry no derived state here.
            _ => {}
        }
    }
    Ok(f)
}

/// Selects what [`row_meta`] reads, with the effective verdict (override of the meeting, else of
/// its series, else the stored verdict) as column 8.
const ROW_SELECT: &str = "
    SELECT m.id, m.source, m.series, m.title, m.start, m.end, m.tz, m.status,
        COALESCE(
            (SELECT o.customer FROM overrides o WHERE o.scope = m.id ORDER BY o.seq DESC LIMIT 1),
            (SELECT o.customer FROM overrides o WHERE o.scope = m.series ORDER BY o.seq DESC LIMIT 1),
            m.customer),
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

/// A UTC instant stored as fixed-width RFC 3339 text (microseconds, `Z`), which sorts as time.
#[derive(Debug, Clone, Copy)]
struct Ts(DateTime<Utc>);

impl ToSql for Ts {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(
            self.0.to_rfc3339_opts(SecondsFormat::Micros, true),
        ))
    }
}

impl FromSql for Ts {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = value.as_str()?;
        DateTime::parse_from_rfc3339(s)
            .map(|t| Ts(t.with_timezone(&Utc)))
            .map_err(FromSqlError::other)
    }
}

/// Text enums: stored as their `as_str` names, read back strictly (an unknown name is a
/// conversion error that names the value).
macro_rules! text_enum {
    ($t:ty, $to:expr, $from:expr) => {
        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from($to(*self)))
            }
        }
        impl FromSql for $t {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let s = value.as_str()?;
                $from(s).ok_or_else(|| {
                    FromSqlError::other(std::io::Error::other(format!(
                        "unknown {} `{s}`",
                        stringify!($t)
                    )))
                })
            }
        }
    };
}

text_enum!(Outcome, Outcome::as_str, |s: &str| s
    .parse::<Outcome>()
    .ok());
text_enum!(Via, Via::as_str, |s: &str| s.parse::<Via>().ok());
text_enum!(PromptKind, PromptKind::as_str, |s: &str| match s {
    "objective" => Some(PromptKind::Objective),
    "outcome" => Some(PromptKind::Outcome),
    _ => None,
});
text_enum!(
    MeetingStatus,
    |s: MeetingStatus| match s {
        MeetingStatus::Confirmed => "confirmed",
        MeetingStatus::Tentative => "tentative",
        MeetingStatus::Cancelled => "cancelled",
    },
    |s: &str| match s {
        "confirmed" => Some(MeetingStatus::Confirmed),
        "tentative" => Some(MeetingStatus::Tentative),
        "cancelled" => Some(MeetingStatus::Cancelled),
        _ => None,
    }
);

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, h, m, 0).unwrap()
    }

    fn meeting(id: &str, start: DateTime<Utc>, recurring: bool) -> (Meeting, Verdict) {
        let m = Meeting {
            id: MeetingId(id.into()),
            source: "work".into(),
            title: format!("Call {id}"),
            start,
            end: start + chrono::TimeDelta::minutes(30),
            tz: Some("Europe/Berlin".into()),
            all_day: false,
            status: MeetingStatus::Confirmed,
            organizer: None,
            attendees: Default::default(),
            location: None,
            description: None,
            recurring,
        };
        let v = Verdict {
            customer: true,
            reason: "customer domain acme.com".into(),
            account: Some("Acme".into()),
            customer_domains: vec!["acme.com".into()],
        };
        (m, v)
    }

    fn objective(text: &str) -> Answer {
        Answer::Objective { text: text.into() }
    }

    fn outcome(result: Outcome, next_step: Option<&str>) -> Answer {
        Answer::Outcome {
            result,
            next_step: next_step.map(str::to_owned),
            note: None,
        }
    }

    fn id(s: &str) -> MeetingId {
        MeetingId(s.into())
    }

    const SNOOZE: Duration = Duration::from_secs(600);

    #[test]
    fn the_same_answer_key_twice_is_recorded_once() {
        let mut l = Ledger::open_in_memory().unwrap();
        l.remember(&[meeting("w/a/single", t(10, 0), false)], t(8, 0))
            .unwrap();
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
    fn states_reflect_the_latest_objective_and_the_latest_outcome() {
        let mut l = Ledger::open_in_memory().unwrap();
        let m = id("w/a/single");
        l.remember(&[meeting(m.as_str(), t(10, 0), false)], t(8, 0))
            .unwrap();
        l.record_answer("o1", &m, &objective("first"), Via::Notification, t(9, 0))
            .unwrap();
        l.record_answer("o2", &m, &objective("second"), Via::Dialog, t(9, 5))
            .unwrap();
        l.record_answer(
            "r1",
            &m,
            &outcome(Outcome::Continuation, None),
            Via::Cli,
            t(11, 0),
        )
        .unwrap();
        l.record_answer(
            "r2",
            &m,
            &outcome(Outcome::Advanced, Some("demo on Friday")),
            Via::Notification,
            t(11, 5),
        )
        .unwrap();
        let st = &l.states(std::slice::from_ref(&m), SNOOZE).unwrap()[&m];
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
    fn a_shown_prompt_is_recorded_once_and_counted() {
        let mut l = Ledger::open_in_memory().unwrap();
        let m = id("w/a/single");
        l.remember(&[meeting(m.as_str(), t(10, 0), false)], t(8, 0))
            .unwrap();
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
        let st = &l.states(std::slice::from_ref(&m), SNOOZE).unwrap()[&m];
        assert_eq!((st.objective_shown, st.outcome_shown), (1, 2));
        assert_eq!(st.last_objective_shown, Some(t(9, 45)));
        assert_eq!(st.last_outcome_shown, Some(t(12, 35)));
    }

    #[test]
    fn a_snooze_is_attributed_to_its_prompt_and_lasts_the_snooze_duration() {
        let mut l = Ledger::open_in_memory().unwrap();
        let m = id("w/a/single");
        l.remember(&[meeting(m.as_str(), t(10, 0), false)], t(8, 0))
            .unwrap();
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
        let st = &l.states(std::slice::from_ref(&m), SNOOZE).unwrap()[&m];
        assert_eq!(st.objective_snoozed_until, Some(t(9, 55)));
        assert_eq!(st.outcome_snoozed_until, Some(t(10, 50)));
    }

    #[test]
    fn a_missed_objective_is_in_the_state() {
        let mut l = Ledger::open_in_memory().unwrap();
        let m = id("w/a/single");
        l.remember(&[meeting(m.as_str(), t(10, 0), false)], t(8, 0))
            .unwrap();
        l.record_answer(
            "missed",
            &m,
            &Answer::ObjectiveMissed,
            Via::Daemon,
            t(10, 0),
        )
        .unwrap();
        let st = &l.states(std::slice::from_ref(&m), SNOOZE).unwrap()[&m];
        assert!(st.objective_missed);
        assert_eq!(st.objective, None);
    }

    #[test]
    fn an_unknown_id_gets_a_default_state_and_an_answer_to_it_is_refused_by_name() {
        let mut l = Ledger::open_in_memory().unwrap();
        let m = id("w/nope/single");
        let st = l.states(std::slice::from_ref(&m), SNOOZE).unwrap();
        assert_eq!(st[&m], MeetingState::default());
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
                meeting(a.as_str(), t(10, 0), true),
                meeting(b.as_str(), t(10, 0) + chrono::TimeDelta::days(7), true),
                meeting(single.as_str(), t(12, 0), false),
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
        let mut l = Ledger::open_in_memory().unwrap();
        let a = id("w/x/single");
        l.remember(&[meeting(a.as_str(), t(10, 0), false)], t(8, 0))
            .unwrap();
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
        let mut l = Ledger::open_in_memory().unwrap();
        let a = id("w/x/single");
        l.remember(&[meeting(a.as_str(), t(10, 0), false)], t(8, 0))
            .unwrap();
        assert!(l.mark_gone(&a, t(8, 30)).unwrap());
        assert!(!l.mark_gone(&a, t(8, 31)).unwrap());
        assert_eq!(l.find(&a).unwrap().unwrap().gone_at, Some(t(8, 30)));
        let (mut m, v) = meeting(a.as_str(), t(11, 0), false);
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

    #[test]
    fn the_last_commitment_is_the_objective_when_committed_and_the_next_step_when_advanced() {
        let mut l = Ledger::open_in_memory().unwrap();
        let day = chrono::TimeDelta::days(1);
        let (m1, m2, m3) = (id("w/1/single"), id("w/2/single"), id("w/3/single"));
        l.remember(
            &[
                meeting(m1.as_str(), t(10, 0), false),
                meeting(m2.as_str(), t(10, 0) + day, false),
                meeting(m3.as_str(), t(10, 0) + day * 2, false),
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
        // Before meeting 3: meeting 2 was only a continuation, so meeting 1's commitment counts.
        assert_eq!(
            l.last_commitment("Acme", t(10, 0) + day * 2)
                .unwrap()
                .as_deref(),
            Some("Agree to a proposal meeting")
        );
        l.record_answer(
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
        assert_eq!(l.last_commitment("Acme", t(10, 0)).unwrap(), None);
        assert_eq!(l.last_commitment("Globex", t(23, 0)).unwrap(), None);
    }

    #[test]
    fn pending_lists_objectives_within_a_day_and_unanswered_outcomes_within_a_month() {
        let mut l = Ledger::open_in_memory().unwrap();
        let now = t(12, 0);
        let h = chrono::TimeDelta::hours(1);
        let items = [
            meeting("w/soon/single", now + h, false), // objective pending
            meeting("w/soon-set/single", now + h * 2, false), // has objective
            meeting("w/far/single", now + h * 30, false), // beyond 24 h
            meeting("w/ended/single", now - h * 3, false), // outcome pending
            meeting("w/answered/single", now - h * 3, false), // has outcome
            meeting("w/ancient/single", now - h * 24 * 40, false), // beyond 30 days
            meeting("w/now/single", now - chrono::TimeDelta::minutes(10), false), // running
            meeting("w/gone/single", now + h, false), // deleted
        ];
        l.remember(&items, now - h * 24 * 50).unwrap();
        let (mut other, mut v) = meeting("w/internal/single", now + h, false);
        v.customer = false;
        other.title = "Internal".into();
        l.remember(&[(other, v)], now - h * 24).unwrap();
        // Seen for the first time after it had ended, never prompted: history, not pending.
        l.remember(&[meeting("w/history/single", now - h * 5, false)], now)
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
    fn opening_twice_keeps_the_data_and_the_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        {
            let mut l = Ledger::open(&path).unwrap();
            l.remember(&[meeting("w/a/single", t(10, 0), false)], t(8, 0))
                .unwrap();
        }
        let l = Ledger::open(&path).unwrap();
        assert!(l.find(&id("w/a/single")).unwrap().is_some());
        let (v, mode): (i64, String) = (
            l.conn
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap(),
            l.conn
                .pragma_query_value(None, "journal_mode", |r| r.get(0))
                .unwrap(),
        );
        assert_eq!(v, SCHEMA_VERSION);
        assert_eq!(mode, "wal");
    }

    #[test]
    fn a_ledger_from_a_newer_nextstep_is_refused_with_its_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        drop(Ledger::open(&path).unwrap());
        {
            let c = Connection::open(&path).unwrap();
            c.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
                .unwrap();
        }
        let err = Ledger::open(&path).unwrap_err();
        assert!(
            matches!(&err, LedgerError::Newer { version, .. } if *version == SCHEMA_VERSION + 1),
            "{err:?}"
        );
        assert!(err.to_string().contains("upgrade nextstep"), "{err}");
    }

    #[test]
    fn a_text_file_is_refused_as_not_a_ledger_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        fs::write(
            &path,
            "these are my meeting notes, not a database\n".repeat(20),
        )
        .unwrap();
        let err = Ledger::open(&path).unwrap_err();
        assert!(matches!(err, LedgerError::NotALedger { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("move it aside"), "{msg}");
        // And the file is untouched.
        assert!(fs::read_to_string(&path).unwrap().starts_with("these are"));
    }

    #[test]
    fn a_short_text_file_is_refused_as_not_a_ledger_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        fs::write(&path, "hello\n").unwrap();
        let err = Ledger::open(&path).unwrap_err();
        assert!(matches!(err, LedgerError::NotALedger { .. }), "{err:?}");
    }

    #[test]
    fn two_connections_writing_at_once_both_succeed() {
        // The daemon and the CLI each hold a connection to one file; busy_timeout and
        // BEGIN IMMEDIATE make them take turns instead of failing with "database is locked".
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        let mut l = Ledger::open(&path).unwrap();
        l.remember(&[meeting("w/a/single", t(10, 0), false)], t(8, 0))
            .unwrap();
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut l = Ledger::open(&path).unwrap();
                    for i in 0..50 {
                        let key = format!("w{w}-{i}");
                        let a = objective(&key);
                        assert!(
                            l.record_answer(&key, &id("w/a/single"), &a, Via::Cli, t(9, 0))
                                .unwrap()
                        );
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let n: i64 = l
            .conn
            .query_row("SELECT count(*) FROM answers", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 100);
    }

    #[test]
    fn another_programs_sqlite_file_is_refused_as_not_a_ledger() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE cookies (name TEXT)")
            .unwrap();
        let err = Ledger::open(&path).unwrap_err();
        assert!(matches!(err, LedgerError::NotALedger { .. }), "{err:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_new_ledger_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/nextstep/ledger.sqlite3");
        let mut l = Ledger::open(&path).unwrap();
        l.remember(&[meeting("w/a/single", t(10, 0), false)], t(8, 0))
            .unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&path.with_extension("sqlite3-wal")), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(&dir.path().join("data")), 0o700);
    }
}
