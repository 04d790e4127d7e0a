//! A closed stdout ends a command quietly: every printing command, run as the real binary with its
//! stdout a pipe whose reading end is already closed (what `nextstep upcoming --all | head -1`
//! becomes once `head` has its line), exits 0 without a panic or an error message.

use std::path::Path;
use std::process::{Command, Stdio};

use chrono::{Duration, Utc};

const BIN: &str = env!("CARGO_BIN_EXE_nextstep");

/// A config with one ICS calendar holding a customer meeting tomorrow, in `dir`.
fn configured(dir: &Path) -> std::path::PathBuf {
    let f = |t: chrono::DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let start = Utc::now() + Duration::days(1);
    let cal = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:next\r\nDTSTAMP:{s}\r\nDTSTART:{s}\r\nDTEND:{e}\r\nSUMMARY:Proposal review, Acme\r\nATTENDEE:mailto:me@mycorp.example\r\nATTENDEE:mailto:kim@acme.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        s = f(start),
        e = f(start + Duration::minutes(30)),
    );
    std::fs::write(dir.join("cal.ics"), cal).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[identity]\nemails = [\"me@mycorp.example\"]\ninternal_domains = [\"mycorp.example\"]\n\n[[calendars]]\nname = \"work\"\nkind = \"ics\"\npath = {:?}\n\n[ledger]\npath = {:?}\n",
            dir.join("cal.ics").display().to_string(),
            dir.join("ledger.sqlite3").display().to_string()
        ),
    )
    .unwrap();
    config
}

#[test]
fn every_printing_command_ends_quietly_when_its_reader_has_gone() {
    let dir = tempfile::tempdir().unwrap();
    let config = configured(dir.path());
    let commands: &[&[&str]] = &[
        &["upcoming", "--all"],
        &["upcoming", "--json"],
        &["check"],
        &["check", "--json"],
        &["objective", "--pick", "1"],
        &["pending"],
        &["pending", "--json"],
        &["report"],
        &["report", "--json"],
        &["export"],
        &["export", "--format", "csv"],
        &["init", "--print"],
        &["completions", "bash"],
        &["man"],
    ];
    for args in commands {
        let (reader, writer) = std::io::pipe().unwrap();
        // Closed before the command starts, so its first write meets a broken pipe every time.
        drop(reader);
        let out = Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .args(*args)
            .env("NEXTSTEP_DATA_DIR", dir.path().join("data"))
            .env_remove("NEXTSTEP_CONFIG")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("Broken pipe"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
}
