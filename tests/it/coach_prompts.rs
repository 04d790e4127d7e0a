//! The next rung in the real daemon's objective prompt (docs/design.md, "Prompt rules"): over a
//! ledger where the account's last meeting had an objective on the ladder and an outcome, the
//! prompt's first button is the suggested rung under the key that rung has on the ladder, and the
//! body says why; no suggestion after `no_sale`, after an objective off the ladder, or with
//! `prompts.ladder = false`.

use std::time::Duration;

use chrono::Utc;
use nextstep::model::Outcome;

use crate::coach_web::answer;
use crate::prompts::home_with_meeting;
use crate::support::daemon::{Home, expect_notification};
use crate::support::dbus::PrivateBus;
use crate::support::notifications::{FakeNotificationServer, Recorded};
use crate::web_harness::meeting;

/// The daemon's account for jane@acme.example when no `[[accounts]]` names one.
const ACCOUNT: &str = "acme.example";

/// Records a meeting with the account a week ago, with `objective` set and `result` as its
/// outcome.
fn seed_last_meeting(home: &Home, objective: &str, result: Outcome) {
    let mut ledger = home.ledger();
    let start = Utc::now() - chrono::Duration::days(7);
    let id = "work/past-1/single";
    let past = meeting(id, "Intro with Acme", start, Some(ACCOUNT));
    ledger.remember(&[past], start).unwrap();
    answer(&mut ledger, id, start, Some(objective), result);
}

/// The objective prompt the daemon shows for a meeting with the account in a few seconds, after
/// a last meeting on `objective` that ended `result`; `ladder` is `prompts.ladder`.
async fn objective_prompt_after(objective: &str, result: Outcome, ladder: bool) -> Recorded {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let uid = format!("cust-{}", result.as_str());
    let home = home_with_meeting(
        &uid,
        chrono::Duration::seconds(30),
        chrono::Duration::minutes(30),
    );
    if !ladder {
        let config = std::fs::read_to_string(&home.config).unwrap();
        let config = config.replace("[prompts]\n", "[prompts]\nladder = false\n");
        std::fs::write(&home.config, config).unwrap();
    }
    seed_last_meeting(&home, objective, result);
    let daemon = home.start(&bus);
    let n = expect_notification(&server, &daemon, Duration::from_secs(20)).await;
    assert!(n.summary.contains("Pilot scoping with Acme"), "{n:?}");
    daemon.stop();
    n
}

/// The ladder's quick objectives as the buttons have them when nothing is suggested.
fn assert_plain(n: &Recorded) {
    assert_eq!(
        n.action_keys()[..3],
        ["objective:0", "objective:1", "open"],
        "{n:?}"
    );
    assert!(!n.body.contains("Last time acme.example"), "{n:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_commitment_on_rung_two_the_first_button_is_rung_three_with_the_why() {
    let n = objective_prompt_after("Schedule a needs analysis", Outcome::Committed, true).await;
    assert_eq!(
        n.action_keys()[..4],
        ["objective:2", "objective:0", "objective:1", "open"],
        "{n:?}"
    );
    assert_eq!(
        n.label_of("objective:2"),
        Some("Agree to a proposal meeting")
    );
    assert!(
        n.body
            .contains("Last time acme.example agreed to “Schedule a needs analysis”"),
        "{n:?}"
    );
    // The why says what the last-commitment line would: it is not said twice.
    assert_eq!(
        n.body.matches("Schedule a needs analysis").count(),
        1,
        "{n:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_continuation_the_same_rung_comes_first_and_is_not_repeated() {
    let n = objective_prompt_after("Schedule a needs analysis", Outcome::Continuation, true).await;
    assert_eq!(
        n.action_keys()[..3],
        ["objective:1", "objective:0", "open"],
        "{n:?}"
    );
    assert_eq!(n.label_of("objective:1"), Some("Schedule a needs analysis"));
    assert!(n.body.contains("acme.example"), "{n:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_no_sale_nothing_is_suggested() {
    assert_plain(&objective_prompt_after("Schedule a needs analysis", Outcome::NoSale, true).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_objective_off_the_ladder_nothing_is_suggested() {
    assert_plain(&objective_prompt_after("Pilot by Friday", Outcome::Committed, true).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_ladder_off_nothing_is_suggested() {
    assert_plain(
        &objective_prompt_after("Schedule a needs analysis", Outcome::Committed, false).await,
    );
}
