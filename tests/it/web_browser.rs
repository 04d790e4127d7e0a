//! The answer page in a real browser (headless Chromium over WebDriver): the page opened from the
//! address a notification gives, an objective picked with one click (the suggested next rung
//! first), an outcome with a next step, a series marked not a sales meeting (and `upcoming`
//! agreeing), the report's charts drawn.

use chrono::Utc;
use nextstep::model::{Outcome, Via};

use super::support::webdriver::{Browser, Element};
use super::web_harness::{
    Page, Weekly, answer_history, meeting, meeting_path, none_is_a_sales_meeting, seeded_history,
};

const ID: &str = "work/acme-1/single";

/// A browser on the page's `path`, opened from the address with the token (as a notification
/// gives it).
async fn browse(page: &Page, path: &str) -> Browser {
    let browser = Browser::start().await;
    browser.goto(&page.open_url(path)).await;
    browser
}

/// Clicks `button` and gives the notice of the page the answer leads to.
async fn notice_after(browser: &Browser, button: &Element) -> String {
    browser.click(button).await;
    let notice = browser.wait_for("p.notice").await;
    browser.text(&notice).await
}

#[tokio::test]
async fn an_objective_picked_on_the_page_opened_from_a_notifications_address_is_in_the_ledger() {
    let start = Utc::now() + chrono::Duration::hours(2);
    let page = Page::start(&[meeting(ID, "Pilot review", start, Some("Acme"))]).await;
    let browser = browse(&page, &meeting_path(ID)).await;
    assert!(
        !browser.url().await.contains("token="),
        "the token leaves the address"
    );
    let h1 = browser.find("h1").await;
    assert_eq!(browser.text(&h1).await, "Pilot review");
    let first = browser.find("form.choices button").await;
    let picked = browser.text(&first).await;
    assert_eq!(notice_after(&browser, &first).await, "Objective recorded.");
    let row = page.row(ID);
    let o = row.objective.expect("an objective");
    assert_eq!(o.text, picked);
    assert_eq!(o.via, Via::Web);
}

#[tokio::test]
async fn the_suggested_next_rung_is_the_first_button_and_one_click_records_it() {
    let past = Utc::now() - chrono::Duration::days(7);
    let start = Utc::now() + chrono::Duration::hours(2);
    let page = Page::start(&[
        meeting("work/acme-0/single", "Intro", past, Some("Acme")),
        meeting(ID, "Pilot review", start, Some("Acme")),
    ])
    .await;
    super::coach_web::answer(
        &mut page.open_ledger(),
        "work/acme-0/single",
        past,
        Some("Schedule a needs analysis"),
        Outcome::Committed,
    );
    let browser = browse(&page, &meeting_path(ID)).await;
    let why = browser.find("p.suggestion").await;
    assert!(
        browser
            .text(&why)
            .await
            .contains("Last time Acme agreed to")
    );
    let first = browser.find("form.choices button").await;
    assert_eq!(browser.text(&first).await, "Agree to a proposal meeting");
    assert_eq!(notice_after(&browser, &first).await, "Objective recorded.");
    let row = page.row(ID);
    assert_eq!(row.objective.unwrap().text, "Agree to a proposal meeting");
}

#[tokio::test]
async fn an_outcome_with_a_next_step_given_in_the_browser_is_in_the_ledger() {
    let start = Utc::now() - chrono::Duration::hours(3);
    let page = Page::start(&[meeting(ID, "Pilot review", start, Some("Acme"))]).await;
    let browser = browse(&page, &meeting_path(ID)).await;
    let advanced = browser
        .find("form.outcome:not(details form) input[value=advanced]")
        .await;
    browser.click(&advanced).await;
    let next = browser
        .find("form.outcome:not(details form) input[name=next_step]")
        .await;
    browser
        .type_into(&next, "Security review on the 12th")
        .await;
    let submit = browser
        .find("form.outcome:not(details form) button[type=submit]")
        .await;
    assert_eq!(notice_after(&browser, &submit).await, "Outcome recorded.");
    let row = page.row(ID);
    let o = row.outcome.expect("an outcome");
    assert_eq!(o.result, Outcome::Advanced);
    assert_eq!(o.next_step.as_deref(), Some("Security review on the 12th"));
    assert_eq!(o.via, Via::Web);
}

#[tokio::test]
async fn a_series_marked_not_a_sales_meeting_in_the_browser_is_not_one_in_upcoming() {
    let weekly = Weekly::new();
    let first = weekly.upcoming()[0]["id"].as_str().unwrap().to_owned();
    let (config, data) = (weekly.config.clone(), weekly.data.clone());
    let page = weekly.page().await;
    let browser = browse(&page, &meeting_path(&first)).await;
    let mut series = None;
    for b in browser.find_all("div.sales button").await {
        if browser.text(&b).await.contains("series") {
            series = Some(b);
        }
    }
    assert!(
        notice_after(&browser, &series.expect("a series button"))
            .await
            .starts_with("Recorded")
    );
    none_is_a_sales_meeting(&super::web_harness::upcoming(&config, &data));
}

#[tokio::test]
async fn the_reports_charts_are_drawn_with_a_bar_for_each_rate_and_outcome() {
    let history = seeded_history();
    let page = Page::start(&history).await;
    answer_history(&mut page.open_ledger(), &history);
    let browser = browse(&page, "/report").await;
    for svg in browser.find_all("svg.chart").await {
        let (w, h) = browser.size(&svg).await;
        assert!(w > 100.0 && h > 50.0, "a drawn chart: {w}x{h}");
    }
    assert_eq!(browser.find_all("svg.weekly rect.bar").await.len(), 12);
    assert_eq!(browser.find_all("svg.mix rect.seg").await.len(), 3);
    let bar = &browser.find_all("svg.weekly rect.bar").await[0];
    let (w, h) = browser.size(bar).await;
    assert!(w > 0.0 && h > 0.0, "a bar has a size: {w}x{h}");
}

/// Not a test: the README's pictures of home, meeting and report, from a seeded ledger, written
/// to `$NEXTSTEP_SCREENSHOTS` (`scripts/screenshots-web.sh` runs it).
#[tokio::test]
#[ignore = "writes the README's screenshots; run by scripts/screenshots-web.sh"]
async fn screenshots_of_home_meeting_and_report() {
    use base64::Engine as _;
    let out = std::path::PathBuf::from(
        std::env::var("NEXTSTEP_SCREENSHOTS").expect("NEXTSTEP_SCREENSHOTS names the folder"),
    );
    let mut history = seeded_history();
    let soon = Utc::now() + chrono::Duration::hours(3);
    history.push(meeting(
        "work/acme-next/single",
        "Acme: pilot scope",
        soon,
        Some("Acme"),
    ));
    history.push(meeting(
        "work/beta-next/single",
        "Beta quarterly review",
        soon + chrono::Duration::days(1),
        Some("Beta"),
    ));
    let page = Page::start(&history).await;
    answer_history(&mut page.open_ledger(), &history[..history.len() - 2]);
    let browser = Browser::start().await;
    for (name, path) in [
        ("web-home", "/".to_owned()),
        ("web-meeting", meeting_path("work/acme-next/single")),
        ("web-report", "/report".to_owned()),
    ] {
        browser.goto(&page.open_url(&path)).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(browser.screenshot_base64().await)
            .unwrap();
        std::fs::write(out.join(format!("{name}.png")), png).unwrap();
    }
}
