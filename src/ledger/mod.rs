//! The ledger: one SQLite file that keeps every meeting we saw, every prompt we showed and every
//! answer we got.
//!
//! What it promises:
//! - Answers are append-only events with a unique key: recording the same key twice is a no-op, so
//!   a retried write never duplicates (`INSERT … ON CONFLICT(key) DO NOTHING`).
//! - Nothing is updated or deleted in place in the answers, overrides and notifications: triggers
//!   in the schema abort any `UPDATE` or `DELETE` of those rows. The current state is the fold of
//!   a meeting's rows in append order (`seq`, not the `at` timestamp, which a CLI user may set
//!   from another clock); the fold is the one definition of a meeting's state.
//! - A write that returned `Ok` survives a crash or power loss: WAL with `synchronous=FULL`, one
//!   short `BEGIN IMMEDIATE` transaction per call (`tests/ledger_crash.rs` SIGKILLs a writer).
//! - The schema version lives in the file (`PRAGMA user_version`); migrations are code
//!   (`MIGRATIONS`); a file from a newer nextstep is refused rather than damaged.
//!
//! The answer rule. A question (a meeting's objective, or its outcome) may be answered from
//! several places at once: the CLI, a notification, the dialog, the terminal prompt, soon a web
//! page. The FIRST answer recorded stands. A later answer to an answered question is refused:
//! it is kept as a row, so nothing the user typed is lost, but it changes nothing, and
//! [`Ledger::record`] returns [`Recorded::AlreadyAnswered`] with who answered first and when, so
//! the caller can say so and withdraw a prompt still on screen ([`Ledger::answered`] asks the
//! same at any time). Changing an answer is an explicit correction ([`Ledger::correct`]): a new
//! row of kind `correction` that names the row it supersedes; the latest correction stands.
//! Snoozes, dismissals, not-sales answers and missed objectives answer no question and are always
//! recorded.
//!
//! Times are stored as fixed-width RFC 3339 UTC text (`2026-12-01T09:30:00.000000Z`), so they sort
//! and compare as text and stay readable in the `sqlite3` shell.
//!
//! Meeting titles are personal data: they are stored here (the user's own machine, file mode 0600)
//! but never logged above `trace`.
//!
//! The module is split by job: `schema` (tables and migrations), `write` (every append), `query`
//! (every read), `fold` (a meeting's state as a pure function of its answer rows) and `codec`
//! (how times and enums are stored). The rules that decide what a state means for the
//! user (snoozes, what is pending) are `plan`'s.

#[cfg(test)]
mod answer_rule_tests;
#[cfg(test)]
mod coach_tests;
mod codec;
mod fold;
mod query;
mod schema;
#[cfg(test)]
mod testing;
mod write;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};

use chrono::{DateTime, Utc};

use crate::model::{MeetingId, Via};

pub use crate::model::{LedgerRow, PendingItem};
pub use crate::plan::{PENDING_OBJECTIVE_HORIZON, PENDING_OUTCOME_CAP};
pub use fold::Answered;
pub use query::OpenPrompt;
pub use schema::SCHEMA_VERSION;
use schema::{APPLICATION_ID, MIGRATIONS};

/// How long a writer waits for another process (the CLI next to the daemon) to finish its
/// transaction before giving up with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

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
    #[error(
        "ledger {path}: meeting `{id}` has no {what} to correct; only a recorded objective or \
         outcome can be corrected, and the first one is recorded as an ordinary answer",
        path = path.display()
    )]
    NothingToCorrect {
        path: PathBuf,
        id: MeetingId,
        what: &'static str,
    },
}

/// What came of recording an answer (see the module note for the rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Appended: the answer stands (or, for a snooze, a dismissal, a not-sales answer or a
    /// missed objective, is on record).
    New,
    /// The key was recorded before: a retried write, nothing changed.
    Retry,
    /// The question had an answer already, which stands: this one was kept as a row (nothing
    /// the user typed is lost) but changes nothing. `by` and `at` say who answered, and when;
    /// to change the answer, record a correction ([`Ledger::correct`]).
    AlreadyAnswered { by: Via, at: DateTime<Utc> },
}

/// Errors inside one ledger call, before the path and operation are attached.
enum Inner {
    Sql(rusqlite::Error),
    UnknownMeeting(MeetingId),
    NothingToCorrect(MeetingId, &'static str),
}

impl From<rusqlite::Error> for Inner {
    fn from(e: rusqlite::Error) -> Self {
        Inner::Sql(e)
    }
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
            Inner::NothingToCorrect(id, what) => self.nothing_to_correct(&id, what),
        }
    }

    fn nothing_to_correct(&self, id: &MeetingId, what: &'static str) -> LedgerError {
        LedgerError::NothingToCorrect {
            path: self.path.clone(),
            id: id.clone(),
            what,
        }
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

#[cfg(test)]
mod tests {
    use super::testing::ledger_file_with_one;
    use super::*;
    use crate::model::Via;
    use crate::model::testing::{id, objective, t};

    /// Opens `path`, asserting that it is refused as not a ledger; the error, for its message.
    fn refused_as_not_a_ledger(path: &Path) -> LedgerError {
        let err = Ledger::open(path).unwrap_err();
        assert!(matches!(err, LedgerError::NotALedger { .. }), "{err:?}");
        err
    }

    #[test]
    fn opening_twice_keeps_the_data_and_the_schema_version() {
        let (_dir, path, first) = ledger_file_with_one("ledger.sqlite3");
        drop(first);
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
        let msg = refused_as_not_a_ledger(&path).to_string();
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
        refused_as_not_a_ledger(&path);
    }

    #[test]
    fn two_connections_writing_at_once_both_succeed() {
        // The daemon and the CLI each hold a connection to one file; busy_timeout and
        // BEGIN IMMEDIATE make them take turns instead of failing with "database is locked".
        let (_dir, path, l) = ledger_file_with_one("ledger.sqlite3");
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
        refused_as_not_a_ledger(&path);
    }

    #[cfg(unix)]
    #[test]
    fn a_new_ledger_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, path, _l) = ledger_file_with_one("data/nextstep/ledger.sqlite3");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&path.with_extension("sqlite3-wal")), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(&dir.path().join("data")), 0o700);
    }
}
