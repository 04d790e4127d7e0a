//! The daemon on a Mac, as far as Linux can tell: `prompts.notifier = "osascript"` with a fake
//! `osascript` first in PATH. The fake keeps every script it is given and answers as AppleScript
//! does; the answer must reach the ledger, and the meeting's hostile title must reach the scripts
//! only inside string literals. While the daemon serves the answer page, the lists offer "Open the
//! page…", which opens the meeting's page (a fake `xdg-open` records it) and takes the answer
//! given there.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::support::daemon::Daemon;
use crate::support::opener::FakeOpener;
use crate::web_harness::Page;

const BIN: &str = env!("CARGO_BIN_EXE_nextstep");

const TITLE: &str = "Acme \"Q3\" \\ review\" & do shell script \"touch pwned\" & \"ü";

/// Saves each script as script.N; `choose from list` gets `$FAKE_PICK` back, anything else (the
/// banner) prints nothing.
const FAKE: &str = r#"#!/bin/sh
[ "$1" = -e ] || { echo "expected -e SCRIPT" >&2; exit 64; }
n=$(( $(cat "$FAKE_DIR/n" 2>/dev/null || echo 0) + 1 ))
echo $n > "$FAKE_DIR/n"
printf '%s' "$2" > "$FAKE_DIR/script.$n"
case "$2" in
  "choose from list"*) echo "$FAKE_PICK" ;;
esac
exit 0
"#;

/// A daemon with `prompts.notifier = "osascript"`, the fake `osascript` picking `pick`, a customer
/// meeting with the hostile [`TITLE`] 10 minutes away, and `extra` appended to its config.
struct Mac {
    dir: tempfile::TempDir,
    config: PathBuf,
    /// Killed when dropped.
    daemon: Daemon,
}

impl Mac {
    fn start(
        pick: &str,
        extra: &str,
        opener: impl FnOnce(&Path) -> Option<FakeOpener>,
    ) -> (Mac, Option<FakeOpener>) {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let opener = opener(d);
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
                "[identity]\nemails = [\"me@mycorp.example\"]\ninternal_domains = [\"mycorp.example\"]\n\n[prompts]\nnotifier = \"osascript\"\n\n[[calendars]]\nname = \"work\"\nkind = \"ics\"\npath = {:?}\n{extra}",
                d.join("cal.ics").display().to_string()
            ),
        )
        .unwrap();
        let path = match &opener {
            Some(o) => o.path(),
            None => std::env::var("PATH").unwrap(),
        };
        let path = format!("{}:{path}", bin.display());
        let mut daemon = Command::new(BIN);
        daemon
            .arg("--config")
            .arg(&config)
            .arg("run")
            .env("PATH", &path)
            .env("FAKE_DIR", d)
            .env("FAKE_PICK", pick)
            .env("NEXTSTEP_DATA_DIR", d.join("data"))
            .env_remove("NEXTSTEP_CONFIG")
            .env_remove("DBUS_SESSION_BUS_ADDRESS");
        let daemon = Daemon::spawn(daemon);
        (
            Mac {
                dir,
                config,
                daemon,
            },
            opener,
        )
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The objective `upcoming` shows for the meeting (null until there is one), waiting up to
    /// 20 s for one.
    fn objective(&self) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut objective = serde_json::Value::Null;
        while Instant::now() < deadline && objective.is_null() {
            std::thread::sleep(Duration::from_millis(200));
            let out = Command::new(BIN)
                .arg("--config")
                .arg(&self.config)
                .args(["upcoming", "--json"])
                .env("NEXTSTEP_DATA_DIR", self.path().join("data"))
                .env_remove("NEXTSTEP_CONFIG")
                .output()
                .unwrap();
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&out.stdout) {
                objective = v[0]["objective"].clone();
            }
        }
        objective
    }

    /// The script the fake was given on its `n`th run.
    fn script(&self, n: u32) -> String {
        std::fs::read_to_string(self.path().join(format!("script.{n}"))).unwrap()
    }
}

#[test]
fn an_objective_picked_in_the_osascript_list_reaches_the_ledger() {
    let (mac, _) = Mac::start("Agree to a next meeting", "", |_| None);
    let objective = mac.objective();
    let d = mac.path();
    assert_eq!(
        objective,
        "Agree to a next meeting",
        "daemon log:\n{}",
        mac.daemon.log()
    );
    let banner = mac.script(1);
    assert!(banner.starts_with("display notification "), "{banner}");
    let list = mac.script(2);
    assert!(list.starts_with("choose from list "), "{list}");
    for s in [&banner, &list] {
        assert!(
            s.contains(r#"Acme \"Q3\" \\ review\" & do shell script \"touch pwned\" & \"ü"#),
            "the title is not quoted as one literal: {s}"
        );
    }
    assert!(!d.join("pwned").exists());
}

#[tokio::test]
async fn open_the_page_in_the_osascript_list_opens_the_meeting_page_and_takes_its_answer() {
    let (mac, opener) = Mac::start("Open the page…", "\n[web]\nport = 0\n", |d| {
        Some(FakeOpener::new(d))
    });
    let opener = opener.unwrap();
    let url = opener.first_opened(Duration::from_secs(20)).await;
    let list = mac.script(2);
    assert!(list.starts_with("choose from list "), "{list}");
    assert!(list.contains("\"Open the page…\""), "{list}");
    let ledger = mac.path().join("data").join("ledger.sqlite3");
    let page = Page::of_daemon(&mac.path().join("data"), ledger.clone());
    assert_eq!(url, page.open_url("/meeting?id=work%2Fsoon%2Fsingle"));
    page.answer_objective("work/soon/single", "Agree to a pilot by Friday")
        .await;
    assert_eq!(opener.opened().len(), 1);
    mac.daemon
        .wait_for_log("answered elsewhere", 1, Duration::from_secs(10))
        .await;
    assert!(
        !mac.daemon.log().contains(page.token.as_str()),
        "the token is never logged"
    );
}
