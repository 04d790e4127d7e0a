//! The ledger's tables and how a file gets from any older schema to the current one.
//!
//! Migration `i` takes the schema from version `i` to `i + 1`; the version lives in the file
//! (`PRAGMA user_version`). To change the schema, append a function; never edit one that has
//! shipped.

use rusqlite::Transaction;

/// Identifies a nextstep ledger in the SQLite header (`PRAGMA application_id`): ASCII "nxst".
pub(super) const APPLICATION_ID: i32 = 0x6e78_7374;

type Migration = fn(&Transaction<'_>) -> rusqlite::Result<()>;

/// Migration `i` takes the schema from version `i` to `i + 1`.
pub(super) const MIGRATIONS: &[Migration] = &[migrate_v1, migrate_v2, migrate_v3];

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

/// Version 2: the answer rule (the first answer stands; a change is a correction row that names
/// the row it supersedes), append-only enforced by the schema, and the notification shown for
/// each prompt, so a click that reaches a restarted daemon can still be matched to its prompt.
fn migrate_v2(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "
        -- Set on rows of kind 'correction': the answer row it replaces in the fold.
        ALTER TABLE answers ADD COLUMN supersedes INTEGER REFERENCES answers(seq);

        -- Which notification showed a prompt; the latest row per id wins.
        CREATE TABLE notifications (
            seq             INTEGER PRIMARY KEY,
            prompt_key      TEXT NOT NULL REFERENCES prompts_shown(key),
            notification_id TEXT NOT NULL,
            at              TEXT NOT NULL
        ) STRICT;
        CREATE INDEX notifications_by_id ON notifications(notification_id, seq);
        CREATE INDEX notifications_by_prompt ON notifications(prompt_key, seq);
        ",
    )?;
    // What the user said is never rewritten or removed: a change is a new row.
    for (table, instead) in [
        ("answers", "record a correction instead"),
        ("overrides", "record a new override instead"),
        ("notifications", "record a new row instead"),
    ] {
        for op in ["UPDATE", "DELETE"] {
            tx.execute_batch(&format!(
                "CREATE TRIGGER {table}_no_{op} BEFORE {op} ON {table} BEGIN
                     SELECT RAISE(ABORT, '{table} are append-only: {instead}');
                 END;"
            ))?;
        }
    }
    Ok(())
}

/// Version 3, coaching (issue 14): an outcome's next step may carry a due date (`YYYY-MM-DD`,
/// the user's calendar day), and the user may correct an account's won/lost state with
/// append-only marks; the latest mark of an account wins.
fn migrate_v3(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "
        ALTER TABLE answers ADD COLUMN due TEXT;

        CREATE TABLE account_marks (
            seq     INTEGER PRIMARY KEY,
            key     TEXT NOT NULL UNIQUE,
            account TEXT NOT NULL,
            kind    TEXT NOT NULL CHECK (kind IN ('won', 'lost', 'reopen')),
            on_day  TEXT NOT NULL,
            via     TEXT NOT NULL,
            at      TEXT NOT NULL
        ) STRICT;
        CREATE INDEX account_marks_by_account ON account_marks(account, seq);

        CREATE TRIGGER account_marks_no_UPDATE BEFORE UPDATE ON account_marks BEGIN
            SELECT RAISE(ABORT, 'account_marks are append-only: record a new mark instead');
        END;
        CREATE TRIGGER account_marks_no_DELETE BEFORE DELETE ON account_marks BEGIN
            SELECT RAISE(ABORT, 'account_marks are append-only: record a new mark instead');
        END;
        ",
    )
}
