//! What a new user's tour of the command line found, as the real binary: a reopened account is
//! stamped with the user's local day, an account known only from the config has an empty history,
//! and `nextstep demo` says where its page is and how to answer when nothing can show a prompt.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use chrono::{Duration, FixedOffset, Timelike, Utc};

use super::support::daemon::{BIN, Home};
use super::support::output::{stderr, stdout, succeeded};
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
    let out = succeeded(
        home.command(&["account", "Acme", "--reopen", "--json"])
            .output()
            .unwrap(),
    );
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
    let shown = succeeded(home.command(&["account", "globex"]).output().unwrap());
    let text = stdout(&shown);
    assert!(
        text.contains(
            "Globex is known from the config ([[accounts]]) but has no recorded meetings yet"
        ),
        "{text}"
    );
    assert!(text.contains("meetings (0):"), "{text}");

    let json = succeeded(
        home.command(&["account", "Globex", "--json"])
            .output()
            .unwrap(),
    );
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

/// Copies every line `from` yields into `into`, on a thread of its own.
fn collect(from: impl std::io::Read + Send + 'static, into: &Arc<Mutex<String>>) {
    let into = into.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            let mut text = into.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    });
}

/// Waits until `text` holds `needle`, or fails showing it.
fn wait_for(text: &Arc<Mutex<String>>, needle: &str, within: std::time::Duration) -> String {
    let deadline = std::time::Instant::now() + within;
    loop {
        let now = text.lock().unwrap().clone();
        if now.contains(needle) {
            return now;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {needle:?} within {within:?}:\n{now}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The command the demo printed on the line after `intro`, run as a shell would with the binary
/// first on PATH; asserts that it succeeded.
fn run_printed(printed: &str, intro: &str) {
    let line = printed
        .lines()
        .skip_while(|l| !l.contains(intro))
        .nth(1)
        .unwrap_or_else(|| panic!("no command after {intro:?}:\n{printed}"))
        .trim();
    let bin_dir = std::path::Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .args(["-c", line])
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{line}: {}", stderr(&out));
}

#[test]
fn without_a_session_bus_or_a_terminal_the_demo_says_how_to_answer_and_where_its_page_is() {
    let tmp = tempfile::tempdir().unwrap();
    let mut demo = Command::new(BIN)
        .args(["demo", "--starts-in", "6", "--lasts", "2"])
        .env("TMPDIR", tmp.path())
        .env("NEXTSTEP_DATA_DIR", tmp.path().join("data"))
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("NEXTSTEP_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (out, log) = (Arc::default(), Arc::default());
    collect(demo.stdout.take().unwrap(), &out);
    collect(demo.stderr.take().unwrap(), &log);

    let wait = std::time::Duration::from_secs(20);
    let printed = wait_for(&out, "answer page:", wait);
    assert!(
        printed.contains("nothing here can show you a prompt: there is no desktop session"),
        "{printed}"
    );
    assert!(!printed.contains("you will be asked"), "{printed}");
    // Any free port, printed as it was bound: never the usual 7717 another nextstep may hold.
    let url = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("answer page: "))
        .unwrap();
    let port: u16 = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("not an address: {url}"));
    assert_ne!(port, 7717);
    assert!(url.contains("token="), "{url}");

    run_printed(&printed, "the objective now");
    std::thread::sleep(std::time::Duration::from_secs(9));
    run_printed(&printed, "the outcome once the meeting has ended");

    let status = demo.wait().unwrap();
    let log = log.lock().unwrap().clone();
    assert!(status.success(), "{log}");
    let printed = wait_for(&out, "as `nextstep export` prints it:", wait);
    assert!(
        printed.contains("objective: Agree to a next meeting (via cli)"),
        "{printed}"
    );
    assert!(
        printed.contains("outcome:   committed (via cli)"),
        "{printed}"
    );
    assert!(!log.contains("ERROR"), "{log}");
}
