//! `nextstep meetings` over a snapshot written under another config: it says so (on stderr with
//! the snapshot's age and `nextstep check`, in `--json` in each meeting's `snapshot` field), and a
//! snapshot from before snapshots recorded their config is "unknown", said once, never a failure.

use chrono::Utc;

use super::support::daemon::Home;
use super::support::one_calendar::{KIM, meeting};
use super::support::output::stderr;

const ANOTHER_CONFIG: &str = "written under another config";
const UNKNOWN_CONFIG: &str = "written before snapshots recorded their config";

/// A home whose calendar holds a customer meeting that ended two hours ago, read once by `check`
/// (which writes the snapshot under the config as it is now).
fn checked_home() -> Home {
    let home = Home::with_ics_calendar("");
    let start = Utc::now() - chrono::Duration::hours(3);
    home.write_calendar(&[meeting("pilot", "Pilot with Acme", start, &[KIM])]);
    home.cli_ok(&["check"]);
    home
}

/// `meetings`' stderr (the run must succeed).
fn meetings_stderr(home: &Home) -> String {
    stderr(&home.cli_ok(&["meetings"]))
}

/// The `snapshot` field of the one meeting `meetings --json` lists.
fn snapshot_field(home: &Home) -> serde_json::Value {
    let out = home.cli_ok(&["meetings", "--json"]);
    let items: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["id"], "work/pilot/single");
    items[0]["snapshot"].clone()
}

/// Sets `prompts.lookback` (part of what a snapshot records of the config).
fn change_lookback(home: &Home) {
    home.edit_config(|c| c.replacen("[prompts]\n", "[prompts]\nlookback = \"2d\"\n", 1));
}

#[test]
fn meetings_read_from_a_snapshot_of_this_config_warn_of_nothing() {
    let home = checked_home();
    let warnings = meetings_stderr(&home);
    assert!(!warnings.contains("warning"), "{warnings}");
    let snapshot = snapshot_field(&home);
    assert_eq!(snapshot["config"], "same");
    assert!(snapshot["taken_at"].is_string(), "{snapshot}");
}

#[test]
fn meetings_say_when_the_snapshot_was_written_under_another_config_until_check_reads_again() {
    let home = checked_home();
    change_lookback(&home);
    let warnings = meetings_stderr(&home);
    assert_eq!(warnings.matches(ANOTHER_CONFIG).count(), 1, "{warnings}");
    // The whole line: the calendar, the snapshot's age (seconds: `check` just wrote it), why, and
    // what to run.
    let line = warnings
        .lines()
        .find(|l| l.contains(ANOTHER_CONFIG))
        .unwrap();
    let (head, tail) = line.split_once(" s ago, ").expect("the snapshot's age");
    assert!(
        head.starts_with("warning: `work` is shown from its snapshot of "),
        "{line}"
    );
    assert_eq!(
        tail,
        "written under another config (the calendar's settings or prompts.lookback differ); \
         run `nextstep check` to read the calendars again"
    );
    assert_eq!(snapshot_field(&home)["config"], "other");

    home.cli_ok(&["check"]);
    let warnings = meetings_stderr(&home);
    assert!(!warnings.contains(ANOTHER_CONFIG), "{warnings}");
    assert_eq!(snapshot_field(&home)["config"], "same");
}

#[test]
fn a_snapshot_from_before_config_fingerprints_is_unknown_said_once_and_never_a_failure() {
    let home = checked_home();
    let path = home.data_dir().join("sources").join("work.snapshot.json");
    let mut snap: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(snap.as_object_mut().unwrap().remove("config").is_some());
    std::fs::write(&path, serde_json::to_vec(&snap).unwrap()).unwrap();

    let warnings = meetings_stderr(&home);
    assert_eq!(warnings.matches(UNKNOWN_CONFIG).count(), 1, "{warnings}");
    assert_eq!(warnings.matches("warning").count(), 1, "{warnings}");
    assert!(warnings.contains("run `nextstep check`"), "{warnings}");
    assert_eq!(snapshot_field(&home)["config"], "unknown");
}
