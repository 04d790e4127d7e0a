//! `nextstep service install | uninstall | status`, run as the real binary with HOME in a temporary
//! folder and fake `systemctl`, `journalctl` and `launchctl` first in PATH, which record their
//! arguments: the exact calls are asserted, on Linux, for both systemd and launchd.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{Duration, Utc};

use super::support::output::{stderr, stdout, succeeded};

const BIN: &str = env!("CARGO_BIN_EXE_nextstep");

struct Machine {
    dir: tempfile::TempDir,
}

/// Records `name arg arg…` in calls.log; `systemctl show` and `journalctl` answer from the files
/// show.txt and journal.txt when present; `FAKE_FAIL=<subcommand>` makes that call exit 1.
const FAKE: &str = r#"#!/bin/sh
echo "$(basename "$0") $*" >> "$FAKE_DIR/calls.log"
name=$(basename "$0")
for a in "$@"; do
  if [ "$a" = "$FAKE_FAIL" ]; then echo "Failed to $a: Access denied" >&2; exit 1; fi
done
case "$name $1 $2" in
  "systemctl --user show") [ -f "$FAKE_DIR/show.txt" ] && cat "$FAKE_DIR/show.txt" ;;
  "journalctl "*) [ -f "$FAKE_DIR/journal.txt" ] && cat "$FAKE_DIR/journal.txt" ;;
  "launchctl print "*) if [ -f "$FAKE_DIR/print.txt" ]; then cat "$FAKE_DIR/print.txt"; else echo "Could not find service" >&2; exit 113; fi ;;
esac
exit 0
"#;

impl Machine {
    fn new() -> Machine {
        let m = Machine {
            dir: tempfile::tempdir().unwrap(),
        };
        let bin = m.path("fakebin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(m.home()).unwrap();
        for name in ["systemctl", "journalctl", "launchctl"] {
            let p = bin.join(name);
            std::fs::write(&p, FAKE).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        m
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn home(&self) -> PathBuf {
        self.path("home")
    }

    fn config(&self) -> PathBuf {
        self.path("config.toml")
    }

    fn run(&self, args: &[&str], fail: &str) -> Output {
        let path = format!(
            "{}:{}",
            self.path("fakebin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new(BIN)
            .arg("--config")
            .arg(self.config())
            .args(args)
            .env("HOME", self.home())
            .env("PATH", path)
            .env("FAKE_DIR", self.dir.path())
            .env("FAKE_FAIL", fail)
            .env("NEXTSTEP_DATA_DIR", self.path("data"))
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("NEXTSTEP_CONFIG")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .output()
            .unwrap()
    }

    /// The calls recorded since the last look, and forgets them.
    fn calls(&self) -> Vec<String> {
        let log = self.path("calls.log");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        text.lines().map(str::to_owned).collect()
    }

    /// A config with one ICS calendar holding a customer meeting tomorrow.
    fn configure(&self) {
        let f = |t: chrono::DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
        let now = Utc::now();
        let start = now + Duration::days(1);
        let cal = format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:next\r\nDTSTAMP:{}\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:Proposal review, Acme\r\nATTENDEE:mailto:me@mycorp.example\r\nATTENDEE:mailto:kim@acme.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            f(now),
            f(start),
            f(start + Duration::minutes(30))
        );
        std::fs::write(self.path("cal.ics"), cal).unwrap();
        std::fs::write(
            self.config(),
            format!(
                "[identity]\nemails = [\"me@mycorp.example\"]\ninternal_domains = [\"mycorp.example\"]\n\n[[accounts]]\nname = \"Acme\"\ndomains = [\"acme.example\"]\n\n[[calendars]]\nname = \"work\"\nkind = \"ics\"\npath = {:?}\n",
                self.path("cal.ics").display().to_string()
            ),
        )
        .unwrap();
    }

    fn unit(&self) -> PathBuf {
        self.home().join(".config/systemd/user/nextstep.service")
    }

    fn plist(&self) -> PathBuf {
        self.home()
            .join("Library/LaunchAgents/com.nextstep.agent.plist")
    }
}

fn exe() -> String {
    Path::new(BIN).canonicalize().unwrap().display().to_string()
}

#[test]
fn install_writes_the_unit_for_this_binary_then_reloads_enables_and_starts_it() {
    let m = Machine::new();
    m.configure();
    let out = succeeded(m.run(&["service", "install"], ""));
    if exe().contains("/target/debug/") {
        assert!(
            stderr(&out).contains("inside a build folder"),
            "the test binary is in target/: {}",
            stderr(&out)
        );
    }
    let unit = std::fs::read_to_string(m.unit()).unwrap();
    let exec = format!("ExecStart={} --config {} run", exe(), m.config().display());
    assert!(unit.lines().any(|l| l == exec), "{exec} not in\n{unit}");
    assert!(unit.lines().any(|l| l == "Type=notify"));
    assert!(unit.lines().any(|l| l == "WatchdogSec=120s"));
    assert_eq!(
        m.calls(),
        [
            "systemctl --user daemon-reload",
            "systemctl --user enable --now nextstep.service"
        ]
    );
    assert!(stdout(&out).contains(&format!("wrote {}", m.unit().display())));

    succeeded(m.run(&["service", "install"], ""));
    assert_eq!(
        m.calls(),
        [
            "systemctl --user daemon-reload",
            "systemctl --user enable nextstep.service",
            "systemctl --user restart nextstep.service"
        ],
        "a re-install restarts the daemon so the new unit takes effect"
    );

    succeeded(m.run(&["service", "uninstall"], ""));
    assert_eq!(
        m.calls(),
        [
            "systemctl --user disable --now nextstep.service",
            "systemctl --user daemon-reload"
        ]
    );
    assert!(!m.unit().exists());
    let twice = m.run(&["service", "uninstall"], "");
    assert!(twice.status.success());
    assert!(
        stdout(&twice).contains("not installed"),
        "{}",
        stdout(&twice)
    );
    assert_eq!(m.calls(), Vec::<String>::new());
}

#[test]
fn a_dry_run_prints_the_unit_and_the_calls_and_does_nothing() {
    let m = Machine::new();
    m.configure();
    let out = succeeded(m.run(&["service", "install", "--dry-run"], ""));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("would write {}:", m.unit().display())),
        "{text}"
    );
    assert!(text.contains("    Type=notify"), "{text}");
    assert!(
        text.contains("would run systemctl --user daemon-reload"),
        "{text}"
    );
    assert!(text.contains("would run systemctl --user enable --now nextstep.service"));
    assert!(!m.unit().exists());
    assert_eq!(m.calls(), Vec::<String>::new());
}

#[test]
fn a_refused_systemctl_call_fails_the_install_with_its_message() {
    let m = Machine::new();
    m.configure();
    let out = m.run(&["service", "install"], "enable");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("`systemctl --user enable --now nextstep.service` failed"),
        "{err}"
    );
    assert!(err.contains("Access denied"), "{err}");
}

#[test]
fn status_tells_installed_running_last_error_last_poll_and_next_prompt() {
    let m = Machine::new();
    m.configure();
    // A poll through the CLI leaves the snapshot and the ledger the daemon would.
    succeeded(m.run(&["upcoming"], ""));
    assert!(m.run(&["service", "install"], "").status.success());
    m.calls();
    std::fs::write(
        m.path("show.txt"),
        "LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=4242\nStatusText=next: objective\n",
    )
    .unwrap();
    std::fs::write(
        m.path("journal.txt"),
        "2026-12-01T10:00:00+0000 host nextstep[4242]: polling stopped: 401\n",
    )
    .unwrap();
    let out = succeeded(m.run(&["service", "status", "--json"], ""));
    assert_eq!(
        m.calls(),
        [
            "systemctl --user show nextstep.service --property=LoadState,ActiveState,SubState,MainPID,StatusText",
            "journalctl --user --unit=nextstep.service --priority=err --lines=1 --output=short-iso --no-pager --quiet"
        ]
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["platform"], "systemd");
    assert_eq!(v["installed"], true);
    assert_eq!(v["service"]["running"], true);
    assert_eq!(v["service"]["pid"], 4242);
    assert_eq!(v["service"]["detail"], "next: objective");
    assert_eq!(
        v["last_error"],
        "2026-12-01T10:00:00+0000 host nextstep[4242]: polling stopped: 401"
    );
    assert_eq!(v["config"], m.config().display().to_string());
    assert_eq!(v["config_error"], serde_json::Value::Null);
    assert_eq!(v["calendars"][0]["name"], "work");
    assert_eq!(v["calendars"][0]["meetings"], 1);
    assert!(v["calendars"][0]["last_poll"].is_string(), "{v}");
    assert_eq!(v["prompts_waiting"], 0);
    assert_eq!(v["next_prompt"]["kind"], "objective");
    assert_eq!(v["next_prompt"]["title"], "Proposal review, Acme");

    let text = stdout(&m.run(&["service", "status"], ""));
    assert!(
        text.contains("running:   yes, active (running), pid 4242"),
        "{text}"
    );
    assert!(text.contains("calendar work: last read"), "{text}");
    assert!(
        text.contains("next prompt: objective for \"Proposal review, Acme\""),
        "{text}"
    );
}

#[test]
fn status_without_an_install_or_a_config_says_so() {
    let m = Machine::new();
    let out = succeeded(m.run(&["service", "status"], ""));
    let text = stdout(&out);
    assert!(text.contains("installed: no"), "{text}");
    assert!(text.contains("running:   no"), "{text}");
    assert!(text.contains("does not load"), "{text}");
}

#[test]
fn on_macos_install_writes_a_launch_agent_and_bootstraps_it_into_the_login_session() {
    let m = Machine::new();
    m.configure();
    let uid = std::fs::metadata(m.home()).unwrap().uid();
    succeeded(m.run(&["service", "--platform", "launchd", "install"], ""));
    assert_eq!(
        m.calls(),
        [format!(
            "launchctl bootstrap gui/{uid} {}",
            m.plist().display()
        )]
    );
    let agent = plist::Value::from_file(m.plist()).unwrap();
    let d = agent.as_dictionary().unwrap();
    assert_eq!(d["Label"].as_string(), Some("com.nextstep.agent"));
    let args: Vec<&str> = d["ProgramArguments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_string().unwrap())
        .collect();
    let config = m.config().display().to_string();
    assert_eq!(args, [exe().as_str(), "--config", &config, "run"]);
    assert_eq!(d["RunAtLoad"].as_boolean(), Some(true));
    assert_eq!(
        d["KeepAlive"].as_dictionary().unwrap()["SuccessfulExit"].as_boolean(),
        Some(false)
    );
    let log = m.home().join("Library/Logs/nextstep/nextstep.log");
    assert_eq!(d["StandardOutPath"].as_string(), log.to_str());
    assert_eq!(d["StandardErrorPath"].as_string(), log.to_str());
    assert!(m.home().join("Library/Logs/nextstep").is_dir());

    std::fs::write(
        m.path("print.txt"),
        "gui/0/com.nextstep.agent = {\n\tstate = running\n\tpid = 77\n\tlast exit code = (never exited)\n}\n",
    )
    .unwrap();
    std::fs::write(
        &log,
        "2026-12-01T10:00:00Z ERROR nextstep::daemon: polling stopped: 401\n2026-12-01T10:01:00Z  INFO ok\n",
    )
    .unwrap();
    let st = succeeded(m.run(
        &["service", "--platform", "launchd", "status", "--json"],
        "",
    ));
    assert_eq!(
        m.calls(),
        [format!("launchctl print gui/{uid}/com.nextstep.agent")]
    );
    let v: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
    assert_eq!(v["platform"], "launchd");
    assert_eq!(v["installed"], true);
    assert_eq!(v["service"]["running"], true);
    assert_eq!(v["service"]["pid"], 77);
    assert_eq!(
        v["last_error"],
        "2026-12-01T10:00:00Z ERROR nextstep::daemon: polling stopped: 401"
    );

    succeeded(m.run(&["service", "--platform", "launchd", "uninstall"], ""));
    assert_eq!(
        m.calls(),
        [format!("launchctl bootout gui/{uid}/com.nextstep.agent")]
    );
    assert!(!m.plist().exists());
}

/// The daemon under a fake systemd: a datagram socket as NOTIFY_SOCKET and a watchdog asked for.
/// It must say READY=1, then WATCHDOG=1 and a STATUS= naming the next prompt and the calendar.
#[test]
fn under_systemd_the_daemon_pings_the_watchdog_and_reports_the_next_prompt() {
    use std::os::unix::net::UnixDatagram;
    let m = Machine::new();
    m.configure();
    let sock_path = m.path("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(m.config())
        .arg("run")
        .env("HOME", m.home())
        .env("NEXTSTEP_DATA_DIR", m.path("data"))
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "60000000")
        .env_remove("WATCHDOG_PID")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("NEXTSTEP_CONFIG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut seen: Vec<String> = Vec::new();
    let mut buf = [0u8; 4096];
    let wanted = |seen: &[String]| {
        seen.iter().any(|s| s == "READY=1")
            && seen.iter().any(|s| s == "WATCHDOG=1")
            && seen.iter().any(|s| {
                s.starts_with("STATUS=next: objective for \"Proposal review, Acme\"")
                    && s.ends_with("calendars: work 1 meetings")
            })
    };
    while !wanted(&seen) {
        match sock.recv(&mut buf) {
            Ok(n) => seen.extend(
                String::from_utf8_lossy(&buf[..n])
                    .lines()
                    .map(str::to_owned),
            ),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(wanted(&seen), "{seen:#?}");
}
