//! Coaching from the command line (issue 14), as the real binary on a seeded ledger file: the
//! ladder's suggestion (`objective --suggest`), dated next steps (`outcome --due`), won, lost and
//! reopened accounts (`account`), the weekly look back (`digest`) and the sell cycle in `report`.

use std::process::Output;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use nextstep::ledger::Ledger;
use nextstep::model::Outcome::{self, *};
use nextstep::model::{Answer, MeetingId, Via};

use super::support::calendar::{Event, ics};
use super::support::daemon::Home;
use super::support::output::{stderr, stdout, succeeded};
use super::web_harness::meeting;

/// The default ladder, as `prompts.objectives` has it.
const LADDER: [&str; 6] = nextstep::config::DEFAULT_OBJECTIVES;

/// The coming Acme meeting in the calendar.
const NEXT: &str = "work/next/single";

/// A home whose calendar holds one Acme meeting tomorrow ([`NEXT`]), with Acme as an account.
fn home() -> Home {
    Home::new("me@mycorp.example", |dir| {
        let cal = dir.join("cal.ics");
        let next = Event {
            uid: "next",
            title: "Acme follow-up",
            start: Utc::now() + Duration::days(1),
            length: Duration::minutes(30),
            attendees: &["PARTSTAT=ACCEPTED:mailto:kim@acme.example"],
        };
        std::fs::write(&cal, ics(&[next])).unwrap();
        format!(
            "[[accounts]]\nname = \"Acme\"\ndomains = [\"acme.example\"]\n\n\
             [[calendars]]\nname = \"work\"\nkind = \"ics\"\npath = {:?}\n",
            cal.display().to_string()
        )
    })
}

/// A past meeting to seed: its uid, its account, how many days ago it started, its objective
/// (set the day before) and its outcome (recorded two hours after the start) with a next step due
/// on the date, when one is given.
type Past<'a> = (
    &'a str,
    &'a str,
    i64,
    Option<&'a str>,
    Option<Outcome>,
    Option<NaiveDate>,
);

/// Records `meetings` in the ledger; returns their ids.
fn seed(ledger: &mut Ledger, meetings: &[Past]) -> Vec<MeetingId> {
    let mut ids = Vec::new();
    for &(uid, account, days_ago, objective, result, due) in meetings {
        let start: DateTime<Utc> = Utc::now() - Duration::days(days_ago);
        let id = MeetingId(format!("work/{uid}/single"));
        let seen = start - Duration::days(1);
        let title = format!("{account} call");
        let m = meeting(id.as_str(), &title, start, Some(account));
        ledger.remember(&[m], seen).unwrap();
        if let Some(text) = objective {
            let answer = Answer::Objective { text: text.into() };
            let key = format!("{uid}-o");
            ledger.record(&key, &id, &answer, Via::Cli, seen).unwrap();
        }
        if let Some(result) = result {
            let answer = Answer::Outcome {
                result,
                next_step: due.map(|_| "Review the proposal".to_owned()),
                note: None,
                due,
            };
            let key = format!("{uid}-r");
            let at = start + Duration::hours(2);
            ledger.record(&key, &id, &answer, Via::Cli, at).unwrap();
        }
        ids.push(id);
    }
    ids
}

/// A [`home`] whose ledger holds `meetings`; the ledger stays open for more.
fn seeded(meetings: &[Past]) -> (Home, Ledger) {
    let home = home();
    let mut l = home.ledger();
    seed(&mut l, meetings);
    (home, l)
}

fn run(home: &Home, args: &[&str]) -> Output {
    home.command(args).output().unwrap()
}

/// `objective --suggest` for the next customer meeting; asserts success.
fn suggestion(home: &Home) -> String {
    let out = succeeded(run(home, &["objective", "--suggest"]));
    stdout(&out)
}

#[test]
fn after_a_commitment_the_next_rung_is_suggested_with_why_and_the_command_that_sets_it() {
    let (home, l) = seeded(&[
        ("a", "Acme", 20, Some(LADDER[0]), Some(Committed), None),
        ("b", "Acme", 10, Some(LADDER[1]), Some(Committed), None),
    ]);
    let text = suggestion(&home);
    assert!(text.contains("\"Acme follow-up\""), "{text}");
    assert!(text.contains(": Agree to a proposal meeting\n"), "{text}");
    assert!(
        text.contains("why: Last time Acme agreed to “Schedule a needs analysis”"),
        "{text}"
    );
    assert!(
        text.contains(&format!("nextstep objective --meeting {NEXT} --pick 3")),
        "{text}"
    );
    // The same for the meeting named by id; nothing was recorded.
    let by_id = run(&home, &["objective", "--suggest", "--meeting", NEXT]);
    assert_eq!(stdout(&by_id), text);
    assert_eq!(l.find(&MeetingId(NEXT.into())).unwrap(), None);
}

#[test]
fn after_a_continuation_the_same_rung_is_suggested_again() {
    let (home, _ledger) = seeded(&[("a", "Acme", 10, Some(LADDER[2]), Some(Continuation), None)]);
    let text = suggestion(&home);
    assert!(text.contains(": Agree to a proposal meeting\n"), "{text}");
    assert!(
        text.contains("did not commit to “Agree to a proposal meeting”; ask again"),
        "{text}"
    );
}

#[test]
fn after_no_sale_or_a_custom_objective_there_is_no_suggestion_and_a_line_says_why() {
    let (home, mut l) = seeded(&[(
        "a",
        "Acme",
        10,
        Some("Lunch with the CFO"),
        Some(Committed),
        None,
    )]);
    let text = suggestion(&home);
    assert!(
        text.contains("no suggestion: the last objective with Acme (“Lunch with the CFO”) is not on the ladder"),
        "{text}"
    );
    seed(
        &mut l,
        &[("b", "Acme", 5, Some(LADDER[3]), Some(NoSale), None)],
    );
    let text = suggestion(&home);
    assert!(
        text.contains("no suggestion: last time Acme said no"),
        "{text}"
    );
}

#[test]
fn an_outcome_takes_a_due_date_and_a_bad_date_is_bad_usage_naming_the_flag_and_format() {
    let home = home();
    let mut l = home.ledger();
    let id = seed(&mut l, &[("a", "Acme", 2, Some(LADDER[0]), None, None)]).remove(0);
    let bad = run(
        &home,
        &[
            "outcome",
            "advanced",
            "--meeting",
            id.as_str(),
            "--due",
            "12/12/2026",
        ],
    );
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("--due"), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("YYYY-MM-DD"), "{}", stderr(&bad));
    assert_eq!(l.find(&id).unwrap().unwrap().outcome, None);

    let ok = succeeded(run(
        &home,
        &[
            "outcome",
            "advanced",
            "--meeting",
            id.as_str(),
            "--next-step",
            "Review the proposal",
            "--due",
            "2026-12-12",
        ],
    ));
    assert!(
        stdout(&ok).contains("next step due 2026-12-12"),
        "{}",
        stdout(&ok)
    );
    let o = l.find(&id).unwrap().unwrap().outcome.unwrap();
    assert_eq!(o.due, NaiveDate::from_ymd_opt(2026, 12, 12));
}

#[test]
fn an_account_is_won_lost_and_reopened_by_correction_rows() {
    let (home, l) = seeded(&[("a", "Acme", 30, Some(LADDER[5]), Some(Committed), None)]);
    let won_day = (Utc::now() - Duration::days(30)).date_naive().to_string();

    let shown = succeeded(run(&home, &["account", "acme"]));
    let text = stdout(&shown);
    assert!(
        text.contains(&format!(
            "Acme: won on {won_day} (the outcome of \"Acme call\")"
        )),
        "{text}"
    );

    let lost = succeeded(run(&home, &["account", "Acme", "--lost", "2026-11-02"]));
    assert!(
        stdout(&lost).contains("Acme: lost on 2026-11-02 (your correction)"),
        "{}",
        stdout(&lost)
    );
    let reopened = succeeded(run(&home, &["account", "Acme", "--reopen", "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&reopened.stdout).unwrap();
    assert_eq!(v["status"]["state"], "open");
    assert_eq!(v["marks"].as_array().unwrap().len(), 2);
    assert_eq!(l.account_marks(Some("Acme")).unwrap().len(), 2);

    let both = run(
        &home,
        &["account", "Acme", "--won", "2026-11-02", "--reopen"],
    );
    assert_eq!(both.status.code(), Some(2), "{}", stderr(&both));
    let unknown = run(&home, &["account", "Acmx"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", stderr(&unknown));
    assert!(
        stderr(&unknown).contains("no account `Acmx` in the ledger; did you mean: Acme?"),
        "{}",
        stderr(&unknown)
    );
    assert_eq!(
        l.account_marks(None).unwrap().len(),
        2,
        "a refused command wrote a mark"
    );
}

#[test]
fn the_digest_lists_a_slipped_commitment_with_the_command_that_moves_it() {
    let home = home();
    let mut l = home.ledger();
    let due = (Utc::now() - Duration::days(3)).date_naive();
    let ids = seed(
        &mut l,
        &[
            ("a", "Globex", 10, None, Some(Advanced), Some(due)),
            ("b", "Initech", 2, None, None, None),
        ],
    );
    let id = &ids[0];

    let out = succeeded(run(&home, &["digest"]));
    let text = stdout(&out);
    assert!(text.contains("Slipped commitments (1):"), "{text}");
    assert!(
        text.contains(&format!("Globex: “Review the proposal” was due {due}")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "nextstep outcome advanced --meeting {id} --correct --next-step 'Review the proposal' --due YYYY-MM-DD"
        )),
        "{text}"
    );
    assert!(
        text.contains("Meetings of the past week without an outcome (1):"),
        "{text}"
    );
    assert!(
        text.contains("nextstep outcome RESULT --meeting work/b/single"),
        "{text}"
    );

    let json = run(&home, &["digest", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["slipped"][0]["due"], due.to_string());
    assert_eq!(v["awaiting"][0]["meeting"], "work/b/single");
}

#[test]
fn the_report_shows_the_sell_cycle_with_counts_and_says_when_the_sample_is_too_small() {
    let (home, mut l) = seeded(&[
        ("a", "Acme", 40, Some(LADDER[0]), Some(Continuation), None),
        ("b", "Acme", 10, Some(LADDER[1]), Some(NoSale), None),
    ]);
    let due = (Utc::now() - Duration::days(1)).date_naive();
    seed(
        &mut l,
        &[("c", "Globex", 5, None, Some(Advanced), Some(due))],
    );

    let out = succeeded(run(&home, &["report"]));
    let text = stdout(&out);
    assert!(text.contains("Sell cycle:"), "{text}");
    assert!(
        text.contains("n=1  Only 1 account won or lost here: too few to say anything"),
        "{text}"
    );
    assert!(text.contains("Slipped commitments: 1"), "{text}");

    let json = run(&home, &["report", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let total = &v["sell_cycle"]["total"];
    assert_eq!(
        (total["n"].as_u64(), total["median_days"].is_null()),
        (Some(1), true)
    );
    assert_eq!(v["sell_cycle"]["accounts"][0]["days"], 30);
    assert_eq!(v["slipped"], 1);
}
