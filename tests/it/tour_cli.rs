//! What a new user's tour of the command line found, as the real binary: a reopened account is
//! stamped with the user's local day, an account known only from the config has an empty history,
//! and `nextstep demo` says where its page is and how to answer when nothing can show a prompt.

use std::process::Output;

use chrono::{Duration, FixedOffset, Timelike, Utc};

use super::support::daemon::Home;
use super::web_harness::meeting;

/// A home with Acme and Globex as configured accounts and no calendar events.
fn home() -> Home {
    Home::new("me@mycorp.example", |dir| {
        let cal = dir.join("cal.ics");
        std::fs::write(&cal, super::support::calendar::ics(&[])).unwrap();
        format!(
            "[[accounts]]\nname = \"Acme\"\ndomains = [\"acme.example\"]\n\n\
             [[accounts]]\nname = \"Globex\"\ndomains = [\"globex.example\"]\n\n\
             [[calendars]]\nname = \"work\"\nkind = \"ics\"\npath = {:?}\n",
            cal.display().to_string()
        )
    })
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_reopened_account_is_stamped_with_the_local_day_not_the_utc_one() {
    // A zone where today's local date is not today's UTC date, whatever the hour: twelve hours
    // behind in the UTC morning, fourteen ahead in the UTC afternoon.
    let (tz, hours) = if Utc::now().hour() < 12 {
        ("Etc/GMT+12", -12)
    } else {
        ("Etc/GMT-14", 14)
    };
    let home = home().with_env("TZ", tz);
    let mut l = home.ledger();
    let start = Utc::now() - Duration::days(3);
    l.remember(
        &[meeting("work/a/single", "Acme call", start, Some("Acme"))],
        start,
    )
    .unwrap();
    let out = home
        .command(&["account", "Acme", "--reopen", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let local = Utc::now()
        .with_timezone(&FixedOffset::east_opt(hours * 3600).unwrap())
        .date_naive();
    assert_ne!(local, Utc::now().date_naive());
    assert_eq!(v["marks"][0]["kind"], "reopen", "{}", stdout(&out));
    assert_eq!(v["marks"][0]["on"], local.to_string(), "{}", stdout(&out));
}

#[test]
fn a_configured_account_without_meetings_has_an_empty_history_and_a_typo_is_still_refused() {
    let home = home();
    let shown = home.command(&["account", "globex"]).output().unwrap();
    assert!(shown.status.success(), "{}", stderr(&shown));
    let text = stdout(&shown);
    assert!(
        text.contains(
            "Globex is known from the config ([[accounts]]) but has no recorded meetings yet"
        ),
        "{text}"
    );
    assert!(text.contains("meetings (0):"), "{text}");

    let json = home
        .command(&["account", "Globex", "--json"])
        .output()
        .unwrap();
    assert!(json.status.success(), "{}", stderr(&json));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["account"], "Globex");
    assert_eq!(v["meetings"], serde_json::json!([]));
    assert!(
        v["note"]
            .as_str()
            .unwrap()
            .contains("no recorded meetings yet")
    );

    let typo = home.command(&["account", "Glbex"]).output().unwrap();
    assert_eq!(typo.status.code(), Some(2));
    assert!(
        stderr(&typo).contains("did you mean: Globex?"),
        "{}",
        stderr(&typo)
    );
}
