//! A closed stdout ends a command quietly: every printing command, run as the real binary with its
//! stdout a pipe whose reading end is already closed (what `nextstep upcoming --all | head -1`
//! becomes once `head` has its line), exits 0 without a panic or an error message.

use std::process::{Command, Stdio};

use chrono::{Duration, Utc};

use super::support::one_calendar::{self, KIM, meeting};

const BIN: &str = env!("CARGO_BIN_EXE_nextstep");

#[test]
fn every_printing_command_ends_quietly_when_its_reader_has_gone() {
    let dir = tempfile::tempdir().unwrap();
    let tomorrow = Utc::now() + Duration::days(1);
    let next = meeting("next", "Proposal review, Acme", tomorrow, &[KIM]);
    let config = one_calendar::write(dir.path(), &[next], "");
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
