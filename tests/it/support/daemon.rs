//! The real `nextstep` binary as a child process, for end-to-end tests: its stderr (the log) is
//! collected so tests can wait for a log line, and it is killed when the test ends, however it ends.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use nextstep::ledger::Ledger;
use nextstep::model::{MeetingId, Via};

use super::calendar::{Event, ics};
use super::dbus::PrivateBus;
use super::notifications::{FakeNotificationServer, Recorded};
use super::output::assert_success;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_nextstep");

/// The `[prompts]` table of every end-to-end test: lead times of seconds, so a meeting a few
/// seconds away goes through both prompts; no dialog, so `open` never waits for a person.
pub const QUICK_PROMPTS: &str = r#"[prompts]
before = "3s"
after = "1s"
snooze = "2s"
reask = "1h"
timeout = "20s"
dialog = "none"
"#;

/// A daemon's files in one temporary folder: `config.toml` (the user's identity,
/// [`QUICK_PROMPTS`], the test's `[[calendars]]` table, the ledger's path), the ledger and the data
/// directory. Every command it builds gets this config, this data directory and `env`.
pub struct Home {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub ledger: PathBuf,
    env: Vec<(String, String)>,
}

impl Home {
    /// `me`: the user's address (its domain is the internal one); `calendar`: the whole
    /// `[[calendars]]` table, given the folder so it can name files in it.
    pub fn new(me: &str, calendar: impl FnOnce(&Path) -> String) -> Home {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.sqlite3");
        let config = dir.path().join("config.toml");
        let (_, domain) = me.split_once('@').expect("an email address");
        let calendar = calendar(dir.path());
        std::fs::write(
            &config,
            format!(
                r#"[identity]
emails = ["{me}"]
internal_domains = ["{domain}"]

{QUICK_PROMPTS}
{calendar}
[ledger]
path = {ledger:?}
"#,
                ledger = ledger.display().to_string()
            ),
        )
        .unwrap();
        Home {
            dir,
            config,
            ledger,
            env: Vec::new(),
        }
    }

    /// A home whose one calendar, `work`, is the ICS file [`Home::calendar`] polled every second;
    /// `more` follows that table in the config (more of its keys, then other tables).
    pub fn with_ics_calendar(more: &str) -> Home {
        Home::new("me@mycorp.example", |dir| {
            format!(
                "[[calendars]]\nname = \"work\"\nkind = \"ics\"\npath = {:?}\npoll = \"1s\"\n{more}",
                dir.join("calendar.ics").display().to_string()
            )
        })
    }

    /// The calendar file of [`Home::with_ics_calendar`].
    pub fn calendar(&self) -> PathBuf {
        self.dir.path().join("calendar.ics")
    }

    /// Replaces [`Home::calendar`] with `events`.
    pub fn write_calendar(&self, events: &[Event]) {
        self.write_calendar_text(&ics(events));
    }

    /// Replaces [`Home::calendar`] with `text` through a temporary file and a rename, so a poll
    /// never reads a half-written calendar.
    pub fn write_calendar_text(&self, text: &str) {
        let calendar = self.calendar();
        let tmp = calendar.with_extension("tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, calendar).unwrap();
    }

    /// Rewrites the config file as `edit` returns it.
    pub fn edit_config(&self, edit: impl FnOnce(String) -> String) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        std::fs::write(&self.config, edit(text)).unwrap();
    }

    /// Sets `key` to `value` for every command of this home (a secret's variable, say).
    pub fn with_env(mut self, key: &str, value: &str) -> Home {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `nextstep --config CONFIG <args>` with this home's data directory and environment, stdin
    /// closed, and no systemd or journal around it.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("--config")
            .arg(&self.config)
            .args(args)
            .env("NEXTSTEP_DATA_DIR", self.data_dir())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env_remove("JOURNAL_STREAM")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null());
        cmd
    }

    /// `nextstep <args>` run to its end with no D-Bus (as from a terminal without a desktop).
    pub fn cli(&self, args: &[&str]) -> Output {
        self.command(args)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .output()
            .unwrap()
    }

    /// [`Home::cli`], which must succeed.
    pub fn cli_ok(&self, args: &[&str]) -> Output {
        let out = self.cli(args);
        assert_success(&out);
        out
    }

    /// `nextstep run` on `bus`.
    pub fn start(&self, bus: &PrivateBus) -> Daemon {
        let mut cmd = self.command(&["run"]);
        cmd.env("DBUS_SESSION_BUS_ADDRESS", bus.address());
        Daemon::spawn(cmd)
    }

    pub fn ledger(&self) -> Ledger {
        Ledger::open(&self.ledger).unwrap()
    }

    /// Waits (up to 10 s) until the ledger holds the objective `text` for `id`, answered `via`.
    pub async fn wait_for_objective(&self, id: &MeetingId, text: &str, via: Via) {
        wait_for_ledger(
            &self.ledger,
            &format!("{id}'s objective {text:?} via {via:?}"),
            |l| {
                l.find(id)
                    .unwrap()
                    .and_then(|r| r.objective)
                    .is_some_and(|o| o.text == text && o.via == via)
            },
        )
        .await;
    }

    /// SIGHUP to the daemon that holds this home's ledger (found by its lock file), the way
    /// systemd's `ExecReload` and `nextstep reload` send it.
    pub fn sighup(&self) {
        let pid = nextstep::lock::holder(&self.ledger)
            .unwrap()
            .expect("the daemon holds the lock");
        let sent = Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -HUP {pid} failed");
    }
}

pub struct Daemon {
    child: Child,
    log: Arc<Mutex<String>>,
    /// The thread that copies stderr into `log`; it ends when the child's stderr closes.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Daemon {
    /// Spawns `cmd` (already given its arguments and environment) with debug logs on a pipe,
    /// stdin closed (so never the terminal notifier), and no systemd or journal around it.
    pub fn spawn(cmd: Command) -> Daemon {
        Daemon::spawn_reading(cmd, Stdio::null())
    }

    /// [`Daemon::spawn`] with stdin a pipe, for a daemon told to use the terminal notifier: what
    /// is written to the returned end is what a person types (the prompts go to the log).
    pub fn spawn_with_stdin(cmd: Command) -> (Daemon, ChildStdin) {
        let mut daemon = Daemon::spawn_reading(cmd, Stdio::piped());
        let stdin = daemon.child.stdin.take().expect("stdin is piped");
        (daemon, stdin)
    }

    fn spawn_reading(mut cmd: Command, stdin: Stdio) -> Daemon {
        let mut child = cmd
            .env("NEXTSTEP_LOG", "nextstep=debug")
            .env_remove("JOURNAL_STREAM")
            .env_remove("NOTIFY_SOCKET")
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        let stderr = child.stderr.take().expect("stderr is piped");
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        Daemon {
            child,
            log,
            reader: Some(reader),
        }
    }

    /// Everything logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log holds `needle` `count` times, or fails showing the log.
    pub async fn wait_for_log(&self, needle: &str, count: usize, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.log().matches(needle).count() < count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the daemon did not log {needle:?} {count} times within {timeout:?}; its log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// SIGTERM, and a clean exit; returns the log.
    pub fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = self.child.wait().unwrap();
        assert!(
            status.success(),
            "daemon exited with {status}; log:\n{}",
            self.log()
        );
        self.log()
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        let _ = self.child.wait();
    }

    /// SIGKILL, then everything it logged before it died (the whole pipe, read to its end).
    pub fn kill9_and_log(mut self) -> String {
        self.child.kill().unwrap();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        self.log()
    }

    /// For a command that ends by itself: waits for it; returns its status and stdout.
    pub fn wait_exit(&mut self) -> (ExitStatus, String) {
        let mut text = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            std::io::Read::read_to_string(&mut out, &mut text).unwrap();
        }
        (self.child.wait().unwrap(), text)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The next notification the server was asked to show, or a failure showing the daemon's log.
pub async fn expect_notification(
    server: &FakeNotificationServer,
    daemon: &Daemon,
    within: Duration,
) -> Recorded {
    match server.next_notification(within).await {
        Some(n) => n,
        None => panic!(
            "no notification within {within:?}; daemon log:\n{}",
            daemon.log()
        ),
    }
}

/// The objective prompt of "Pilot scoping with Acme", a customer meeting at `now` + 6 s: it asks
/// what to commit to, offers the quick objectives and the other buttons, and is not shown before
/// it is due (start − 3 s, less the poll interval and startup).
pub async fn expect_the_acme_objective_prompt(
    server: &FakeNotificationServer,
    daemon: &Daemon,
    within: Duration,
    now: DateTime<Utc>,
) -> Recorded {
    let secs = chrono::Duration::seconds;
    let n = expect_notification(server, daemon, within).await;
    let shown_at = Utc::now();
    assert!(n.summary.contains("Pilot scoping with Acme"), "{n:?}");
    assert!(n.body.contains("commit"), "{n:?}");
    let keys = n.action_keys();
    for k in ["objective:0", "objective:1", "open", "snooze", "not_sales"] {
        assert!(keys.contains(&k), "missing {k} in {keys:?}");
    }
    assert_eq!(n.label_of("objective:0"), Some("Agree to a next meeting"));
    assert!(
        shown_at >= now + secs(2),
        "shown too early: {shown_at} vs meeting at {}",
        now + secs(6)
    );
    n
}

/// The meeting of the "moved and deleted" scenario that moves (see
/// [`expect_only_the_moved_prompt`]): "Demo for Initech", with id `uid`, at `start`.
pub fn the_moved_meeting(uid: &str, start: DateTime<Utc>) -> Event<'_> {
    Event {
        uid,
        title: "Demo for Initech",
        start,
        length: chrono::Duration::seconds(60),
        attendees: &["PARTSTAT=NEEDS-ACTION:mailto:peter@initech.example"],
    }
}

/// The meeting of the "moved and deleted" scenario that is deleted: "Call with Umbrella", with id
/// `uid`, at `start`.
pub fn the_deleted_meeting(uid: &str, start: DateTime<Utc>) -> Event<'_> {
    Event {
        uid,
        title: "Call with Umbrella",
        start,
        length: chrono::Duration::seconds(60),
        attendees: &["PARTSTAT=NEEDS-ACTION:mailto:alice@umbrella.example"],
    }
}

/// The end of the "moved and deleted" scenario, whatever the calendar: "Demo for Initech" was
/// moved from `now` + 12 s to `now` + 24 s and "Call with Umbrella" deleted, before either prompt
/// was due. After the poll that saw it, the one prompt is the moved meeting's, at its new time; the
/// deleted meeting is never shown, and the daemon logs its removal.
pub async fn expect_only_the_moved_prompt(
    server: &FakeNotificationServer,
    daemon: Daemon,
    now: DateTime<Utc>,
) {
    let secs = chrono::Duration::seconds;
    daemon
        .wait_for_log("polled meetings=1 changed=true", 1, Duration::from_secs(10))
        .await;

    let n = expect_notification(server, &daemon, Duration::from_secs(30)).await;
    let shown_at = Utc::now();
    assert!(n.summary.contains("Demo for Initech"), "{n:?}");
    assert!(
        shown_at >= now + secs(20),
        "the prompt kept the old time: shown at {shown_at}, moved meeting at {}",
        now + secs(24)
    );
    server.assert_none_about("Umbrella");
    server.close(n.id, 2).await;
    let log = daemon.stop();
    assert!(log.contains("meeting removed from its calendar"), "{log}");
}

/// Waits until `check` holds (polled every 50 ms), or fails naming `what`.
pub async fn wait_until<F: FnMut() -> bool>(what: &str, within: Duration, mut check: F) {
    let deadline = tokio::time::Instant::now() + within;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {within:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (up to 10 s) until `check` holds for the ledger at `path`, read afresh each time.
pub async fn wait_for_ledger<F: Fn(&Ledger) -> bool>(path: &Path, what: &str, check: F) {
    wait_until(what, Duration::from_secs(10), || {
        check(&Ledger::open(path).unwrap())
    })
    .await
}
