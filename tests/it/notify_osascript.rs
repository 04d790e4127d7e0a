//! The daemon on a Mac, as far as Linux can tell: `prompts.notifier = "osascript"` with a fake
//! `osascript` first in PATH. The fake keeps every script it is given and answers as AppleScript
//! does; the answer must reach the ledger, and the meeting's hostile title must reach the scripts
//! only inside string literals.

use std::os::unix::fs::PermissionsExt as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;

const BIN: &str = env!("CARGO_BIN_EXE_nextstep");

const TITLE: &str = "Acme \"Q3\" \\ review\" & do shell script \"touch pwned\" & \"ü";

/// Saves each script as script.N; `choose from list` gets the first objective back, anything
/// else (the banner) prints nothing.
const FAKE: &str = r#"#!/bin/sh
[ "$1" = -e ] || { echo "expected -e SCRIPT" >&2; exit 64; }
n=$(( $(cat "$FAKE_DIR/n" 2>/dev/null || echo 0) + 1 ))
echo $n > "$FAKE_DIR/n"
printf '%s' "$2" > "$FAKE_DIR/script.$n"
case "$2" in
  "choose from list"*) echo "Agree to a next meeting" ;;
esac
exit 0
"#;

#[test]
fn an_objective_picked_in_the_osascript_list_reaches_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bin = d.join("fakebin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::write(bin.join("osascript"), FAKE).unwrap();
    std::fs::set_permissions(
        bin.join("osascript"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let f = |t: chrono::DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let start = Utc::now() + chrono::Duration::minutes(10);
    let ics = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:soon\r\nDTSTAMP:{}\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:{}\r\nATTENDEE:mailto:me@mycorp.example\r\nATTENDEE:mailto:kim@acme.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        f(Utc::now()),
        f(start),
        f(start + chrono::Duration::minutes(30)),
        TITLE.replace('\\', "\\\\")
    );
    std::fs::write(d.join("cal.ics"), ics).unwrap();
    let config = d.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[identity]\nemails = [\"me@mycorp.example\"]\ninternal_domains = [\"mycorp.example\"]\n\n[prompts]\nnotifier = \"osascript\"\n\n[[calendars]]\nname = \"work\"\nkind = \"ics\"\npath = {:?}\n",
            d.join("cal.ics").display().to_string()
        ),
    )
    .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let mut daemon = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env("PATH", &path)
        .env("FAKE_DIR", d)
        .env("NEXTSTEP_DATA_DIR", d.join("data"))
        .env_remove("NEXTSTEP_CONFIG")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut objective = serde_json::Value::Null;
    while Instant::now() < deadline && objective.is_null() {
        std::thread::sleep(Duration::from_millis(200));
        let out = Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .args(["upcoming", "--json"])
            .env("NEXTSTEP_DATA_DIR", d.join("data"))
            .env_remove("NEXTSTEP_CONFIG")
            .output()
            .unwrap();
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&out.stdout) {
            objective = v[0]["objective"].clone();
        }
    }
    let _ = daemon.kill();
    let _ = daemon.wait();
    assert_eq!(objective, "Agree to a next meeting");
    let banner = std::fs::read_to_string(d.join("script.1")).unwrap();
    assert!(banner.starts_with("display notification "), "{banner}");
    let list = std::fs::read_to_string(d.join("script.2")).unwrap();
    assert!(list.starts_with("choose from list "), "{list}");
    for s in [&banner, &list] {
        assert!(
            s.contains(r#"Acme \"Q3\" \\ review\" & do shell script \"touch pwned\" & \"ü"#),
            "the title is not quoted as one literal: {s}"
        );
    }
    assert!(!d.join("pwned").exists());
}
