//! Coaching on the answer page, over plain HTTP: the objective form (on the meeting page and in
//! the home page's pending list) offers the account's next rung first with its why (as a button that sends the same objective text as any other), the
//! outcome form stores the next step's due date as the CLI does (and refuses a bad one), and the
//! report draws the sell cycle (one bar per group with a median, every group with its n) and
//! lists the slipped commitments.

use chrono::{DateTime, NaiveDate, Utc};
use nextstep::ledger::Ledger;
use nextstep::model::{Answer, MeetingId, Outcome, Via};
use reqwest::StatusCode;

use super::web_harness::{Page, meeting, meeting_path, soon};

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Records `objective` (set an hour before the start, when given) and `result` for meeting `id`.
pub(crate) fn answer(
    ledger: &mut Ledger,
    id: &str,
    start: DateTime<Utc>,
    objective: Option<&str>,
    result: Outcome,
) {
    let id = MeetingId(id.into());
    if let Some(text) = objective {
        let a = Answer::Objective { text: text.into() };
        let at = start - chrono::Duration::hours(1);
        ledger
            .record(&format!("{id}#o"), &id, &a, Via::Cli, at)
            .unwrap();
    }
    let a = Answer::Outcome {
        result,
        next_step: None,
        note: None,
        due: None,
    };
    let at = start + chrono::Duration::hours(1);
    ledger
        .record(&format!("{id}#r"), &id, &a, Via::Cli, at)
        .unwrap();
}

/// The values of the objective buttons of the page, in order.
fn objective_buttons(body: &str) -> Vec<&str> {
    body.split("<button ")
        .skip(1)
        .filter_map(|b| {
            let b = b.split('>').next()?;
            b.contains("name=\"objective\"").then_some(())?;
            let at = b.find("value=\"")? + 7;
            b[at..].split('"').next()
        })
        .collect()
}

#[tokio::test]
async fn the_objective_form_offers_the_next_rung_first_with_its_why() {
    let past = utc("2026-11-20T10:00:00Z");
    let page = Page::start(&[
        meeting("work/acme-0/single", "Intro with Acme", past, Some("Acme")),
        meeting(
            "work/acme-1/single",
            "Pilot with Acme",
            soon(),
            Some("Acme"),
        ),
        meeting("work/beta-1/single", "Call with Beta", soon(), Some("Beta")),
    ])
    .await;
    answer(
        &mut page.open_ledger(),
        "work/acme-0/single",
        past,
        Some("Schedule a needs analysis"),
        Outcome::Committed,
    );
    let body = page.body(&meeting_path("work/acme-1/single")).await;
    assert!(
        body.contains("Suggested next rung: <b>Agree to a proposal meeting</b>"),
        "{body}"
    );
    assert!(
        body.contains("Last time Acme agreed to “Schedule a needs analysis”"),
        "{body}"
    );
    let buttons = objective_buttons(&body);
    assert_eq!(
        buttons[..3],
        [
            "Agree to a proposal meeting",
            "Agree to a next meeting",
            "Schedule a needs analysis"
        ]
    );
    assert_eq!(buttons.len(), 6, "each objective once: {buttons:?}");
    // The home page's pending form for the meeting offers it too (and none for Beta's).
    let home = page.body("/").await;
    assert_eq!(
        home.matches("Suggested next rung: <b>Agree to a proposal meeting</b>")
            .count(),
        1,
        "{home}"
    );
    assert_eq!(home.matches("Suggested next rung").count(), 1, "{home}");
    // The suggested button records the objective text, as any button does.
    let r = page
        .post(
            "/meeting/objective",
            &[
                ("id", "work/acme-1/single"),
                ("nonce", "s1"),
                ("objective", buttons[0]),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let row = page.row("work/acme-1/single");
    assert_eq!(row.objective.unwrap().text, "Agree to a proposal meeting");

    // An account without history gets the ladder as it is.
    let body = page.body(&meeting_path("work/beta-1/single")).await;
    assert!(!body.contains("Suggested next rung"), "{body}");
    assert_eq!(objective_buttons(&body)[0], "Agree to a next meeting");
}

/// Posts the outcome form of meeting `id`: committed, next step "Send the PO", due `due`,
/// confirmed for a meeting that has not started.
async fn send_the_po_by(page: &Page, id: &str, nonce: &str, due: &str) -> reqwest::Response {
    let form = [
        ("id", id),
        ("nonce", nonce),
        ("result", "committed"),
        ("next_step", "Send the PO"),
        ("due", due),
        ("early", "1"),
    ];
    page.post("/meeting/outcome", &form).await
}

#[tokio::test]
async fn the_outcome_form_stores_the_due_date_and_refuses_a_bad_one() {
    // Three weeks after the meeting (which is two hours from now).
    let later = (Utc::now() + chrono::Duration::days(21))
        .date_naive()
        .to_string();
    let id = "work/acme-1/single";
    let page = Page::start(&[meeting(id, "Pilot with Acme", soon(), Some("Acme"))]).await;
    let body = page.body(&meeting_path(id)).await;
    assert!(body.contains("type=\"date\" name=\"due\""), "{body}");

    let bad = send_the_po_by(&page, id, "d0", "24.12.2026").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.unwrap().contains("YYYY-MM-DD"));
    // As `outcome --due` has it: not before the meeting's day, and only with a commitment.
    let early = send_the_po_by(&page, id, "d2", "2020-01-01").await;
    assert_eq!(early.status(), StatusCode::BAD_REQUEST);
    assert!(
        early
            .text()
            .await
            .unwrap()
            .contains("before the meeting itself")
    );
    let form = [
        ("id", id),
        ("nonce", "d3"),
        ("result", "continuation"),
        ("due", &later),
    ];
    let none = page.post("/meeting/outcome", &form).await;
    assert_eq!(none.status(), StatusCode::BAD_REQUEST);
    assert!(none.text().await.unwrap().contains("records none"));
    let meeting = MeetingId(id.into());
    assert!(
        page.open_ledger()
            .find(&meeting)
            .unwrap()
            .is_none_or(|r| r.outcome.is_none())
    );

    let r = send_the_po_by(&page, id, "d1", &later).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let outcome = page.row(id).outcome.unwrap();
    assert_eq!(outcome.next_step.as_deref(), Some("Send the PO"));
    assert_eq!(outcome.due.map(|d| d.to_string()), Some(later.clone()));
    let body = page.body(&meeting_path(id)).await;
    assert!(body.contains(&format!("due {later}")), "{body}");
}

#[tokio::test]
async fn the_report_draws_the_sell_cycle_with_n_and_lists_slipped_commitments() {
    // Three accounts first met in 2026-Q1, each with an objective, lost twenty days later; one
    // first met in Q2 without objectives, lost too; one with a next step due long ago.
    let mut seeded = Vec::new();
    let mut plan = Vec::new();
    for (name, first, objective) in [
        ("A1", "2026-01-10T10:00:00Z", true),
        ("A2", "2026-01-12T10:00:00Z", true),
        ("A3", "2026-02-02T10:00:00Z", true),
        ("B1", "2026-04-10T10:00:00Z", false),
    ] {
        let first = utc(first);
        let close = first + chrono::Duration::days(20);
        let objective = objective.then_some("Agree to a next meeting");
        for (n, start, result) in [
            (0, first, Outcome::Continuation),
            (1, close, Outcome::NoSale),
        ] {
            let id = format!("work/{}-{n}/single", name.to_lowercase());
            seeded.push(meeting(
                &id,
                &format!("Call with {name}"),
                start,
                Some(name),
            ));
            plan.push((id, start, objective, result));
        }
    }
    let slipped_at = utc("2026-03-02T10:00:00Z");
    seeded.push(meeting(
        "work/c1-0/single",
        "Call with C1",
        slipped_at,
        Some("C1"),
    ));
    let page = Page::start(&seeded).await;
    let mut ledger = page.open_ledger();
    for (id, start, objective, result) in plan {
        answer(&mut ledger, &id, start, objective, result);
    }
    let due = Answer::Outcome {
        result: Outcome::Committed,
        next_step: Some("Send the security review".into()),
        note: None,
        due: NaiveDate::from_ymd_opt(2026, 3, 9),
    };
    let c1 = MeetingId("work/c1-0/single".into());
    ledger
        .record("c1#r", &c1, &due, Via::Cli, slipped_at)
        .unwrap();

    let body = page.body("/report").await;
    assert!(body.contains("<h2>Sell cycle</h2>"), "{body}");
    // Q1 (n = 3) and the covered group (n = 3) have medians; Q2 and the uncovered group (n = 1)
    // are too small for one and get no bar.
    assert_eq!(
        body.matches("<rect class=\"bar cycle\"").count(),
        2,
        "{body}"
    );
    assert!(body.contains("2026-Q1: median 20 days, n = 3"), "{body}");
    assert!(body.contains("Only 1 account won or lost here"), "{body}");
    assert!(body.contains("<b>first met in 2026-Q2</b>"), "{body}");
    assert!(body.contains("<h2>Slipped commitments</h2>"), "{body}");
    assert!(
        body.contains("Send the security review was due 2026-03-09"),
        "{body}"
    );
}
