//! The ledger's side of coaching (schema v3): an outcome's due date round-trips through a
//! record, a correction and the fold; account marks are append-only and read back in order;
//! one account's meetings are read without the rest.

use chrono::NaiveDate;

use super::testing::ledger_with_one;
use super::*;
use crate::model::testing::{customer_meeting, id, internal, meeting, t};
use crate::model::{Answer, MarkKind, Outcome, Via};

fn due(d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(2026, 12, d)
}

#[test]
fn an_outcome_due_date_is_kept_by_the_answer_and_by_its_correction() {
    let m = id("w/a/single");
    let mut l = ledger_with_one(m.as_str());
    let answer = |d| Answer::Outcome {
        result: Outcome::Advanced,
        next_step: Some("Review the proposal".into()),
        note: None,
        due: due(d),
    };
    l.record_answer("r1", &m, &answer(12), Via::Cli, t(11, 0))
        .unwrap();
    assert_eq!(l.find(&m).unwrap().unwrap().outcome.unwrap().due, due(12));
    l.correct("r2", &m, &answer(19), Via::Cli, t(11, 5))
        .unwrap();
    let o = l.find(&m).unwrap().unwrap().outcome.unwrap();
    assert_eq!(
        (o.due, o.next_step.as_deref()),
        (due(19), Some("Review the proposal"))
    );
}

#[test]
fn account_marks_are_read_back_in_append_order_and_refuse_updates() {
    let mut l = Ledger::open_in_memory().unwrap();
    let on = due(1).unwrap();
    assert!(
        l.mark_account("k1", "Acme", MarkKind::Won, on, Via::Cli, t(9, 0))
            .unwrap()
    );
    assert!(
        l.mark_account("k2", "Globex", MarkKind::Lost, on, Via::Cli, t(9, 1))
            .unwrap()
    );
    assert!(
        l.mark_account("k3", "Acme", MarkKind::Reopen, on, Via::Cli, t(9, 2))
            .unwrap()
    );
    // A retried key writes nothing.
    assert!(
        !l.mark_account("k3", "Acme", MarkKind::Lost, on, Via::Cli, t(9, 3))
            .unwrap()
    );
    let acme: Vec<_> = l
        .account_marks(Some("Acme"))
        .unwrap()
        .into_iter()
        .map(|m| (m.kind, m.on, m.at))
        .collect();
    assert_eq!(
        acme,
        [
            (MarkKind::Won, on, t(9, 0)),
            (MarkKind::Reopen, on, t(9, 2))
        ]
    );
    assert_eq!(l.account_marks(None).unwrap().len(), 3);
    for sql in [
        "UPDATE account_marks SET kind = 'lost'",
        "DELETE FROM account_marks",
    ] {
        let err = l.conn.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}

#[test]
fn one_accounts_meetings_are_its_customer_meetings_oldest_first() {
    let mut l = Ledger::open_in_memory().unwrap();
    let mut globex = customer_meeting("w/g/single", t(9, 0), false);
    globex.1.account = Some("Globex".into());
    let mut internal_acme = (meeting("w/i/single", t(9, 30)), internal());
    internal_acme.1.account = Some("Acme".into());
    l.remember(
        &[
            customer_meeting("w/b/single", t(11, 0), false),
            customer_meeting("w/a/single", t(10, 0), false),
            globex,
            internal_acme,
        ],
        t(8, 0),
    )
    .unwrap();
    let ids: Vec<_> = l
        .customer_meetings_of_account("Acme")
        .unwrap()
        .into_iter()
        .map(|r| r.id.0)
        .collect();
    assert_eq!(ids, ["w/a/single", "w/b/single"]);
    assert_eq!(l.accounts().unwrap(), ["Acme", "Globex"]);
    // A "not a sales meeting" override takes a meeting out of its account's list.
    l.set_override("w/a/single", false, t(8, 30)).unwrap();
    assert_eq!(l.customer_meetings_of_account("Acme").unwrap().len(), 1);
}
