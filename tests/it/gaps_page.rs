//! The answer page holds an outcome for a meeting that has not started to the CLI's rule (`outcome`
//! refuses it without `--force`): the form is not the page's normal action there, a post without
//! the page's confirmation ("It has not started yet: record anyway") is refused and records
//! nothing, and with it the outcome is recorded.

use chrono::{DateTime, Utc};
use nextstep::model::{MeetingId, Outcome, Via};
use reqwest::StatusCode;

use super::web_harness::{Page, meeting, meeting_path, soon};

const ID: &str = "work/acme-1/single";
const RECORD_EARLY: &str = "It has not started yet: record anyway";

/// The page over one meeting of Acme's, "Pilot with Acme", starting at `start`.
async fn page_with_a_meeting_at(start: DateTime<Utc>) -> Page {
    Page::start(&[meeting(ID, "Pilot with Acme", start, Some("Acme"))]).await
}

/// Posts the outcome form (committed, next step "Send the PO") with `more` fields.
async fn post_outcome(page: &Page, nonce: &str, more: &[(&str, &str)]) -> reqwest::Response {
    let mut form = vec![
        ("id", ID),
        ("nonce", nonce),
        ("result", "committed"),
        ("next_step", "Send the PO"),
    ];
    form.extend_from_slice(more);
    page.post("/meeting/outcome", &form).await
}

/// The outcome the ledger holds for the meeting, if any.
fn recorded(page: &Page) -> Option<Outcome> {
    page.open_ledger()
        .find(&MeetingId(ID.into()))
        .unwrap()
        .and_then(|r| r.outcome)
        .map(|o| o.result)
}

#[tokio::test]
async fn a_meeting_that_has_not_started_offers_its_outcome_only_behind_the_confirmation() {
    let page = page_with_a_meeting_at(soon()).await;
    let body = page.body(&meeting_path(ID)).await;
    assert!(body.contains("The meeting has not started yet"), "{body}");
    assert!(
        body.contains(
            "<details><summary>Record an outcome anyway</summary><form class=\"outcome\""
        ),
        "the form is folded away, not the normal action: {body}"
    );
    assert_eq!(body.matches("<form class=\"outcome\"").count(), 1, "{body}");
    assert!(
        body.contains("type=\"checkbox\" name=\"early\" value=\"1\" required"),
        "{body}"
    );
    assert!(body.contains(RECORD_EARLY), "{body}");
}

#[tokio::test]
async fn a_meeting_that_has_started_offers_its_outcome_without_the_confirmation() {
    let page = page_with_a_meeting_at(Utc::now() - chrono::Duration::minutes(10)).await;
    let body = page.body(&meeting_path(ID)).await;
    assert!(body.contains("The meeting has not ended yet"), "{body}");
    assert!(!body.contains("name=\"early\""), "{body}");
    assert!(!body.contains("Record an outcome anyway"), "{body}");
    let r = post_outcome(&page, "s1", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(recorded(&page), Some(Outcome::Committed));
}

#[tokio::test]
async fn an_outcome_for_a_meeting_that_has_not_started_is_refused_without_the_confirmation() {
    let page = page_with_a_meeting_at(soon()).await;
    let r = post_outcome(&page, "e1", &[]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body = r.text().await.unwrap();
    assert!(body.contains("Not recorded"), "{body}");
    assert!(
        body.contains("“Pilot with Acme” has not started yet"),
        "{body}"
    );
    assert!(body.contains(RECORD_EARLY), "what to do: {body}");
    assert_eq!(recorded(&page), None, "nothing is recorded");
}

#[tokio::test]
async fn an_outcome_for_a_meeting_that_has_not_started_is_recorded_with_the_confirmation() {
    let page = page_with_a_meeting_at(soon()).await;
    let r = post_outcome(&page, "e2", &[("early", "1")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let outcome = page.row(ID).outcome.expect("an outcome");
    assert_eq!(outcome.result, Outcome::Committed);
    assert_eq!(outcome.next_step.as_deref(), Some("Send the PO"));
    assert_eq!(outcome.via, Via::Web);
    let body = page.body(&meeting_path(ID)).await;
    assert!(
        body.contains("<details><summary>Correct the outcome</summary><form class=\"outcome\""),
        "{body}"
    );
    assert!(
        body.contains(RECORD_EARLY),
        "its correction asks again: {body}"
    );
}
