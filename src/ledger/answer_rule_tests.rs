//! The answer rule and the append-only schema, tried on a real SQLite file: the first answer
//! stands, a later one is refused with who answered, a change is a correction row, the schema
//! refuses UPDATE and DELETE of answer rows, a CLI answer leaves the meeting's columns alone, and
//! shown prompts can be found again after a restart.

use std::path::PathBuf;

use rusqlite::Connection;

use super::testing::ledger_file_with_one;
use super::*;
use crate::model::testing::{customer_meeting, id, objective, outcome, t};
use crate::model::{Answer, Meeting, Outcome, PlannedPrompt, PromptKind, Verdict, Via};

/// A ledger file in a fresh temporary folder, with one customer meeting at 10:00.
fn ledger() -> (tempfile::TempDir, PathBuf, Ledger) {
    ledger_file_with_one("ledger.sqlite3")
}

#[test]
fn the_first_answer_stands_and_a_later_one_is_refused_with_who_answered_first() {
    let (_dir, path, mut l) = ledger();
    let m = id("w/a/single");
    let step = outcome(Outcome::Advanced, Some("Security review on the 12th"));
    assert_eq!(
        l.record("cli-1", &m, &step, Via::Cli, t(10, 40)).unwrap(),
        Recorded::New
    );
    // The terminal prompt still on screen is answered afterwards: refused, and says by whom.
    let late = outcome(Outcome::Continuation, None);
    assert_eq!(
        l.record(
            "w/a/single#outcome#0#answer",
            &m,
            &late,
            Via::Terminal,
            t(10, 41)
        )
        .unwrap(),
        Recorded::AlreadyAnswered {
            by: Via::Cli,
            at: t(10, 40)
        }
    );
    // A retry of either key changes nothing and says so.
    assert_eq!(
        l.record("cli-1", &m, &step, Via::Cli, t(10, 42)).unwrap(),
        Recorded::Retry
    );
    drop(l);

    // Read back from the file: the next step is not lost, and the late answer is kept as a row.
    let l = Ledger::open(&path).unwrap();
    let row = l.find(&m).unwrap().unwrap();
    let o = row.outcome.unwrap();
    assert_eq!(o.result, Outcome::Advanced);
    assert_eq!(o.next_step.as_deref(), Some("Security review on the 12th"));
    assert_eq!(o.via, Via::Cli);
    let n: i64 = l
        .conn
        .query_row(
            "SELECT count(*) FROM answers WHERE meeting = 'w/a/single'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 2);
}

#[test]
fn the_same_rule_holds_for_objectives() {
    let (_dir, _path, mut l) = ledger();
    let m = id("w/a/single");
    l.record("n", &m, &objective("Pilot"), Via::Notification, t(9, 45))
        .unwrap();
    assert_eq!(
        l.record("c", &m, &objective("Demo"), Via::Cli, t(9, 46))
            .unwrap(),
        Recorded::AlreadyAnswered {
            by: Via::Notification,
            at: t(9, 45)
        }
    );
    assert_eq!(
        l.find(&m).unwrap().unwrap().objective.unwrap().text,
        "Pilot"
    );
}

#[test]
fn snoozes_and_dismissals_are_always_recorded_and_answer_no_question() {
    let (_dir, _path, mut l) = ledger();
    let m = id("w/a/single");
    l.record("o", &m, &objective("Pilot"), Via::Cli, t(9, 0))
        .unwrap();
    for (key, a) in [("s", Answer::Snooze), ("d", Answer::Dismissed)] {
        assert_eq!(
            l.record(key, &m, &a, Via::Notification, t(9, 1)).unwrap(),
            Recorded::New
        );
    }
}

#[test]
fn who_answered_a_question_can_be_asked_at_any_time() {
    let (_dir, _path, mut l) = ledger();
    let m = id("w/a/single");
    assert_eq!(l.answered(&m, PromptKind::Outcome).unwrap(), None);
    assert_eq!(
        l.answered(&id("w/nope/single"), PromptKind::Outcome)
            .unwrap(),
        None
    );
    l.record(
        "k",
        &m,
        &outcome(Outcome::NoShow, None),
        Via::Dialog,
        t(10, 40),
    )
    .unwrap();
    let a = l.answered(&m, PromptKind::Outcome).unwrap().unwrap();
    assert_eq!((a.key.as_str(), a.by, a.at), ("k", Via::Dialog, t(10, 40)));
    assert_eq!(l.answered(&m, PromptKind::Objective).unwrap(), None);
}

#[test]
fn a_correction_is_a_new_row_that_names_the_row_it_supersedes() {
    let (_dir, _path, mut l) = ledger();
    let m = id("w/a/single");
    l.record(
        "first",
        &m,
        &outcome(Outcome::Continuation, None),
        Via::Terminal,
        t(10, 40),
    )
    .unwrap();
    let fixed = outcome(Outcome::Advanced, Some("Security review on the 12th"));
    assert_eq!(
        l.correct("fix-1", &m, &fixed, Via::Cli, t(11, 0)).unwrap(),
        Recorded::New
    );
    assert_eq!(
        l.correct("fix-1", &m, &fixed, Via::Cli, t(11, 1)).unwrap(),
        Recorded::Retry
    );
    let o = l.find(&m).unwrap().unwrap().outcome.unwrap();
    assert_eq!(o.result, Outcome::Advanced);
    assert_eq!((o.via, o.recorded_at), (Via::Cli, t(11, 0)));
    let a = l.answered(&m, PromptKind::Outcome).unwrap().unwrap();
    assert_eq!((a.key.as_str(), a.by), ("fix-1", Via::Cli));

    let (kind, supersedes, first_seq): (String, i64, i64) = l
        .conn
        .query_row(
            "SELECT c.kind, c.supersedes, f.seq FROM answers c, answers f
             WHERE c.key = 'fix-1' AND f.key = 'first'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((kind.as_str(), supersedes), ("correction", first_seq));
    // The original row is still there, untouched.
    let first: String = l
        .conn
        .query_row("SELECT result FROM answers WHERE key = 'first'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(first, "continuation");
}

#[test]
fn a_correction_without_an_answer_to_correct_is_refused_by_name() {
    let (_dir, _path, mut l) = ledger();
    let m = id("w/a/single");
    let err = refused_correction(&mut l, &m, &objective("Pilot"));
    assert!(err.to_string().contains("no objective to correct"), "{err}");
    refused_correction(&mut l, &m, &Answer::Snooze);
}

/// Corrects `m` to `answer`, asserting that it is refused as having nothing to correct; the
/// error, for its message.
fn refused_correction(l: &mut Ledger, m: &MeetingId, answer: &Answer) -> LedgerError {
    let err = l.correct("c", m, answer, Via::Cli, t(9, 0)).unwrap_err();
    assert!(
        matches!(err, LedgerError::NothingToCorrect { .. }),
        "{err:?}"
    );
    err
}

#[test]
fn the_schema_refuses_to_update_or_delete_answer_rows() {
    let (_dir, path, mut l) = ledger();
    let m = id("w/a/single");
    l.record("k", &m, &objective("Pilot"), Via::Cli, t(9, 0))
        .unwrap();
    l.record("n", &m, &Answer::NotSales, Via::Cli, t(9, 1))
        .unwrap();
    drop(l);
    let c = Connection::open(&path).unwrap();
    for sql in [
        "UPDATE answers SET text = 'Demo' WHERE key = 'k'",
        "DELETE FROM answers WHERE key = 'k'",
        "UPDATE overrides SET customer = 1",
        "DELETE FROM overrides",
    ] {
        let err = c.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    let text: String = c
        .query_row("SELECT text FROM answers WHERE key = 'k'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(text, "Pilot");
}

#[test]
fn a_version_1_ledger_is_migrated_keeping_its_answers_and_then_refuses_updates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite3");
    {
        let mut c = Connection::open(&path).unwrap();
        let tx = c.transaction().unwrap();
        MIGRATIONS[0](&tx).unwrap();
        tx.pragma_update(None, "user_version", 1).unwrap();
        tx.execute_batch(
            "INSERT INTO meetings VALUES ('w/a/single', 'work', 'w/a', 'Call', 
                 '2026-12-01T10:00:00.000000Z', '2026-12-01T10:30:00.000000Z', NULL,
                 'confirmed', 1, 'r', 'Acme', '[]', 0,
                 '2026-12-01T08:00:00.000000Z', '2026-12-01T08:00:00.000000Z', NULL);
             INSERT INTO answers (key, meeting, kind, prompt, text, via, at)
                 VALUES ('old', 'w/a/single', 'objective', 'objective', 'Pilot', 'cli',
                 '2026-12-01T09:00:00.000000Z');",
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let l = Ledger::open(&path).unwrap();
    let version: i64 = l
        .conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(SCHEMA_VERSION, 3);
    let row = l.find(&id("w/a/single")).unwrap().unwrap();
    assert_eq!(row.objective.unwrap().text, "Pilot");
    assert!(l.conn.execute("DELETE FROM answers", []).is_err());
}

#[test]
fn a_cli_answer_leaves_the_meetings_other_columns_alone() {
    let (_dir, path, mut l) = ledger();
    let m = id("w/a/single");
    // The daemon saw it last at 8:00, then it left the calendar; the user says it is no sales
    // meeting, so its stored verdict (customer) and the effective one (not) differ.
    l.mark_gone(&m, t(8, 30)).unwrap();
    l.set_override(m.as_str(), false, t(8, 40)).unwrap();
    let before = l.find(&m).unwrap().unwrap();
    // What the CLI does: rebuild the meeting from the ledger row, introduce it, answer.
    let rebuilt = (
        Meeting {
            title: before.title.clone(),
            ..crate::model::testing::meeting(m.as_str(), before.start)
        },
        Verdict {
            customer: before.customer,
            reason: "rebuilt".into(),
            account: before.account.clone(),
            customer_domains: vec![],
        },
    );
    l.introduce(&[rebuilt], t(12, 0)).unwrap();
    l.record(
        "cli",
        &m,
        &outcome(Outcome::NoSale, None),
        Via::Cli,
        t(12, 0),
    )
    .unwrap();
    drop(l);
    let c = Connection::open(&path).unwrap();
    let (gone, last_seen, customer, reason): (Option<String>, String, bool, String) = c
        .query_row(
            "SELECT gone_at, last_seen, customer, reason FROM meetings WHERE id = 'w/a/single'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(gone.as_deref(), Some("2026-12-01T08:30:00.000000Z"));
    assert_eq!(last_seen, "2026-12-01T08:00:00.000000Z");
    assert!(customer, "the base verdict stays as classified");
    assert_eq!(reason, "customer domain acme.com");
}

#[test]
fn introduce_records_a_meeting_the_ledger_does_not_know() {
    let (_dir, _path, mut l) = ledger();
    l.introduce(
        &[customer_meeting("w/new/single", t(14, 0), false)],
        t(12, 0),
    )
    .unwrap();
    let row = l.find(&id("w/new/single")).unwrap().unwrap();
    assert_eq!((row.first_seen, row.last_seen), (t(12, 0), t(12, 0)));
}

fn shown(
    l: &mut Ledger,
    meeting: &str,
    kind: PromptKind,
    attempt: u32,
    at: DateTime<Utc>,
) -> String {
    let p = PlannedPrompt {
        due: at,
        meeting: id(meeting),
        kind,
        attempt,
    };
    assert!(l.record_shown(&p, at).unwrap());
    p.key()
}

/// Records `answer` as given at the prompt shown under `prompt_key` (the answer's key is the
/// prompt's with `#answer`).
fn answer_at_prompt(
    l: &mut Ledger,
    prompt_key: &str,
    meeting: &str,
    answer: &Answer,
    via: Via,
    at: DateTime<Utc>,
) {
    l.record(
        &format!("{prompt_key}#answer"),
        &id(meeting),
        answer,
        via,
        at,
    )
    .unwrap();
}

#[test]
fn a_notification_id_leads_back_to_its_prompt_after_a_restart() {
    let (_dir, path, mut l) = ledger();
    let key = shown(&mut l, "w/a/single", PromptKind::Objective, 0, t(9, 45));
    l.record_notification(&key, "17", t(9, 45)).unwrap();
    drop(l);
    let l = Ledger::open(&path).unwrap();
    assert_eq!(l.prompt_of_notification("17").unwrap(), Some(key));
    assert_eq!(l.prompt_of_notification("18").unwrap(), None);
}

#[test]
fn a_notification_for_an_unrecorded_prompt_is_refused() {
    let (_dir, _path, mut l) = ledger();
    assert!(
        l.record_notification("w/a/single#objective#9", "3", t(9, 0))
            .is_err()
    );
}

#[test]
fn open_prompts_are_the_latest_showings_neither_answered_nor_dismissed() {
    let (_dir, path, mut l) = ledger();
    l.remember(
        &[
            customer_meeting("w/b/single", t(11, 0), false),
            customer_meeting("w/c/single", t(12, 0), false),
            customer_meeting("w/d/single", t(13, 0), false),
        ],
        t(8, 0),
    )
    .unwrap();
    // a: the objective prompt was on screen when the daemon was killed.
    let a = shown(&mut l, "w/a/single", PromptKind::Objective, 0, t(9, 45));
    l.record_notification(&a, "41", t(9, 45)).unwrap();
    // b: answered at the prompt; c: answered elsewhere (the CLI); d: snoozed at the prompt.
    let b = shown(&mut l, "w/b/single", PromptKind::Objective, 0, t(10, 45));
    answer_at_prompt(
        &mut l,
        &b,
        "w/b/single",
        &objective("x"),
        Via::Notification,
        t(10, 46),
    );
    shown(&mut l, "w/c/single", PromptKind::Objective, 0, t(11, 45));
    l.record(
        "cli",
        &id("w/c/single"),
        &objective("y"),
        Via::Cli,
        t(11, 46),
    )
    .unwrap();
    let d = shown(&mut l, "w/d/single", PromptKind::Objective, 0, t(12, 45));
    answer_at_prompt(
        &mut l,
        &d,
        "w/d/single",
        &Answer::Snooze,
        Via::Terminal,
        t(12, 46),
    );
    // a's outcome prompt: shown twice, the first dismissed by the person, the second could not
    // be shown (the daemon's own dismissal leaves it open).
    let a0 = shown(&mut l, "w/a/single", PromptKind::Outcome, 0, t(10, 35));
    answer_at_prompt(
        &mut l,
        &a0,
        "w/a/single",
        &Answer::Dismissed,
        Via::Notification,
        t(10, 36),
    );
    let a1 = shown(&mut l, "w/a/single", PromptKind::Outcome, 1, t(12, 35));
    answer_at_prompt(
        &mut l,
        &a1,
        "w/a/single",
        &Answer::Dismissed,
        Via::Daemon,
        t(12, 35),
    );
    drop(l);

    let l = Ledger::open(&path).unwrap();
    let open: Vec<_> = l
        .open_prompts()
        .unwrap()
        .into_iter()
        .map(|p| (p.key, p.notification_id))
        .collect();
    assert_eq!(open, vec![(a, Some("41".to_string())), (a1, None)]);
}
