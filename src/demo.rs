//! `nextstep demo`: the real daemon on a calendar file it writes itself, with a customer meeting
//! that starts in under a minute and an internal one, and a temporary ledger. The user sees the
//! objective prompt, answers, sees the outcome prompt after the meeting, and the demo prints what
//! the ledger holds. Desktop notifications when a notification server answers, terminal prompts
//! otherwise (over SSH); when it can tell neither can show a prompt, it says so at the start and
//! prints the commands that answer instead, and the page's address. It knows nothing of the
//! command line: `cli::demo` turns the flags into [`DemoOptions`] and prints the [`DemoSummary`].

use std::fmt;
use std::io::{IsTerminal as _, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::ledger::{Ledger, LedgerRow};
use crate::model::MeetingId;

const SOURCE: &str = "demo";
const CUSTOMER_UID: &str = "demo-customer@nextstep.example";

/// The demo's calendar: one customer meeting, one internal meeting.
pub fn calendar(now: DateTime<Utc>, starts_in: Duration, lasts: Duration) -> String {
    let fmt = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let start = now + chrono::Duration::from_std(starts_in).unwrap_or_default();
    let end = start + chrono::Duration::from_std(lasts).unwrap_or_default();
    let internal_start = end + chrono::Duration::minutes(30);
    let internal_end = internal_start + chrono::Duration::minutes(30);
    let stamp = fmt(now);
    format!(
        "BEGIN:VCALENDAR\r\n\
         VERSION:2.0\r\n\
         PRODID:-//nextstep//demo//EN\r\n\
         BEGIN:VEVENT\r\n\
         UID:{CUSTOMER_UID}\r\n\
         DTSTAMP:{stamp}\r\n\
         DTSTART:{start}\r\n\
         DTEND:{end}\r\n\
         SUMMARY:Discovery call with Acme\r\n\
         ORGANIZER;CN=You:mailto:you@nextstep.example\r\n\
         ATTENDEE;CN=You;PARTSTAT=ACCEPTED:mailto:you@nextstep.example\r\n\
         ATTENDEE;CN=Jane Doe;PARTSTAT=ACCEPTED:mailto:jane.doe@acme.example\r\n\
         ATTENDEE;CUTYPE=ROOM;CN=Room 4:mailto:room-4@nextstep.example\r\n\
         END:VEVENT\r\n\
         BEGIN:VEVENT\r\n\
         UID:demo-internal@nextstep.example\r\n\
         DTSTAMP:{stamp}\r\n\
         DTSTART:{istart}\r\n\
         DTEND:{iend}\r\n\
         SUMMARY:Team sync\r\n\
         ORGANIZER;CN=You:mailto:you@nextstep.example\r\n\
         ATTENDEE;CN=Sam;PARTSTAT=ACCEPTED:mailto:sam@nextstep.example\r\n\
         END:VEVENT\r\n\
         END:VCALENDAR\r\n",
        start = fmt(start),
        end = fmt(end),
        istart = fmt(internal_start),
        iend = fmt(internal_end),
    )
}

/// The demo's config: short lead times so the whole round trip fits in about three minutes, and
/// the page on any free port (a demo needs no setup, and must not fight a running nextstep for
/// the usual port).
pub fn config(calendar: &std::path::Path, ledger: &std::path::Path) -> anyhow::Result<Config> {
    let text = config_text(calendar, ledger);
    Ok(Config::from_toml("(built-in demo config)", &text)?)
}

/// [`config`] as TOML: also written to the demo's folder, so that the command line can answer
/// the demo's prompts with `--config`.
fn config_text(calendar: &std::path::Path, ledger: &std::path::Path) -> String {
    format!(
        r#"
[identity]
emails = ["you@nextstep.example"]
internal_domains = ["nextstep.example"]

[prompts]
before = "15m"
after = "5s"
snooze = "20s"
reask = "30s"
reask_limit = 2
timeout = "90s"

[[calendars]]
name = "{SOURCE}"
kind = "ics"
path = {cal}
poll = "10s"

[ledger]
path = {ledger}

[web]
port = 0
"#,
        cal = toml_string(&calendar.display().to_string()),
        ledger = toml_string(&ledger.display().to_string()),
    )
}

/// Whether nothing can show the demo's prompts: on Linux, no desktop session bus to carry a
/// notification and no terminal on stdin to ask in. The prompts would then wait unseen, so the
/// demo says at once how to answer instead.
fn prompts_cannot_show(session_bus: bool, stdin_is_terminal: bool) -> bool {
    cfg!(target_os = "linux") && !session_bus && !stdin_is_terminal
}

/// How to answer the demo's customer meeting from another terminal, with the demo's own config
/// (written to `dir`) and data folder.
fn answer_commands(dir: &std::path::Path, meeting: &MeetingId) -> [String; 2] {
    let config = dir.join("config.toml");
    let base = format!(
        "NEXTSTEP_DATA_DIR='{}' nextstep --config '{}'",
        dir.display(),
        config.display()
    );
    [
        format!(
            "{base} objective \"Agree to a next meeting\" --meeting '{}'",
            meeting.as_str()
        ),
        format!(
            "{base} outcome committed --next-step \"Pilot with 5 seats\" --meeting '{}'",
            meeting.as_str()
        ),
    ]
}

/// The page's address once the demo's daemon has bound its port and written its access file;
/// `None` when that does not happen within a few seconds (the page failed or is off: the log says
/// why).
async fn page_address(dir: &std::path::Path) -> Option<String> {
    for _ in 0..50 {
        if let Ok(Some(access)) = crate::web::security::Access::load(dir) {
            return Some(access.open_url("/"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

fn toml_string(s: &str) -> String {
    // A TOML basic string is a JSON string for every path we can meet.
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// What the demo is asked to do.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Keep the ledger here instead of in the temporary directory.
    pub ledger: Option<PathBuf>,
    /// How far away the customer meeting starts, and how long it lasts.
    pub starts_in: Duration,
    pub lasts: Duration,
}

/// How the demo ended and what the ledger holds: printed once the daemon has stopped.
#[derive(Debug, Serialize)]
pub struct DemoSummary {
    pub ledger: PathBuf,
    /// Whether an outcome was recorded before the demo ended.
    pub finished: bool,
    pub rows: Vec<LedgerRow>,
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f)?;
        if !self.finished {
            writeln!(f, "the demo ended before an outcome was recorded.")?;
        }
        writeln!(f, "what the ledger holds ({}):", self.ledger.display())?;
        for r in &self.rows {
            writeln!(f, "  meeting:   {} ({})", r.title, r.id)?;
            match &r.objective {
                Some(o) => writeln!(f, "  objective: {} (via {})", o.text, o.via.as_str())?,
                None => writeln!(f, "  objective: none")?,
            }
            match &r.outcome {
                Some(o) => {
                    writeln!(f, "  outcome:   {} (via {})", o.result, o.via.as_str())?;
                    if let Some(n) = &o.next_step {
                        writeln!(f, "  next step: {n}")?;
                    }
                }
                None => writeln!(f, "  outcome:   none yet")?,
            }
        }
        writeln!(f)?;
        writeln!(f, "as `nextstep export` prints it:")?;
        f.write_str(&crate::export::to_jsonl(&self.rows))
    }
}

/// Runs the demo, writing its introduction to `out`, and returns what the ledger holds at the end.
/// The temporary directory is removed before it returns.
pub async fn run(opts: DemoOptions, out: &mut dyn Write) -> anyhow::Result<DemoSummary> {
    let clock = SystemClock;
    let now = clock.now();
    let dir = std::env::temp_dir().join(format!(
        "nextstep-demo-{}-{}",
        std::process::id(),
        now.timestamp_millis()
    ));
    crate::fsutil::create_private_dir(&dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = RemovedOnDrop(dir);
    run_in(&dir.0, opts, now, out).await
}

/// The demo's temporary folder, removed on every way out of [`run`]: an answer, Ctrl-C or
/// SIGTERM (which end the daemon and return), an error, or a panic (which unwinds through here).
struct RemovedOnDrop(PathBuf);

impl Drop for RemovedOnDrop {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.0.display(), "cannot remove the demo's folder: {e}");
        }
    }
}

async fn run_in(
    dir: &std::path::Path,
    opts: DemoOptions,
    now: DateTime<Utc>,
    out: &mut dyn Write,
) -> anyhow::Result<DemoSummary> {
    let DemoOptions {
        ledger,
        starts_in,
        lasts,
    } = opts;
    let cal_path = dir.join("demo.ics");
    std::fs::write(&cal_path, calendar(now, starts_in, lasts))
        .with_context(|| format!("cannot write {}", cal_path.display()))?;
    let ledger_path: PathBuf = ledger.unwrap_or_else(|| dir.join("ledger.sqlite3"));
    let config = config(&cal_path, &ledger_path)?;
    let config_path = dir.join("config.toml");
    crate::fsutil::write_atomic_private(
        &config_path,
        config_text(&cal_path, &ledger_path).as_bytes(),
    )
    .with_context(|| format!("cannot write {}", config_path.display()))?;
    let meeting = MeetingId::new(SOURCE, CUSTOMER_UID, None);
    let unseen = prompts_cannot_show(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        std::io::stdin().is_terminal(),
    );

    let (notifier, one_at_a_time) = crate::notify::pick(&config.prompts).await;
    writeln!(out, "nextstep demo")?;
    writeln!(
        out,
        "  a customer meeting \"Discovery call with Acme\" starts in {}s and lasts {}s; an internal \"Team sync\" follows.",
        starts_in.as_secs(),
        lasts.as_secs()
    )?;
    if unseen {
        let [objective, outcome] = answer_commands(dir, &meeting);
        writeln!(
            out,
            "  nothing here can show you a prompt: there is no desktop session \
             (DBUS_SESSION_BUS_ADDRESS is not set) and stdin is not a terminal."
        )?;
        writeln!(
            out,
            "  answer from another terminal while the demo runs: the objective now,"
        )?;
        writeln!(out, "    {objective}")?;
        writeln!(out, "  and the outcome once the meeting has ended,")?;
        writeln!(out, "    {outcome}")?;
        writeln!(out, "  or on the answer page below.")?;
    } else {
        writeln!(
            out,
            "  you will be asked for your commitment objective now, and for the outcome after the meeting."
        )?;
    }
    writeln!(out, "  ledger: {}", ledger_path.display())?;
    out.flush()?;

    let shutdown = crate::signals::shutdown_on_signals();
    let daemon = tokio::spawn(crate::daemon::run(crate::daemon::Options {
        config,
        data_dir: dir.to_path_buf(),
        ledger_path: ledger_path.clone(),
        clock: Arc::new(SystemClock),
        notifier,
        one_prompt_at_a_time: one_at_a_time,
        shutdown: shutdown.clone(),
    }));

    match page_address(dir).await {
        Some(url) => writeln!(out, "  answer page: {url}")?,
        None => writeln!(out, "  answer page: not served (the log says why)")?,
    }
    writeln!(out)?;
    out.flush()?;

    // The outcome prompt is due 5 s after the end; allow for one re-ask before giving up.
    let give_up = now
        + chrono::Duration::from_std(starts_in + lasts + Duration::from_secs(150))
            .unwrap_or_default();
    let finished = wait_for_outcome(&ledger_path, &meeting, give_up, &shutdown).await;
    shutdown.cancel();
    match daemon.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        Err(e) => anyhow::bail!("the demo daemon stopped unexpectedly: {e}"),
    }
    let rows = Ledger::open(&ledger_path)?.customer_meetings(None)?;
    Ok(DemoSummary {
        ledger: ledger_path,
        finished,
        rows,
    })
}

/// Waits until the ledger holds an outcome for `meeting`, the deadline passes, or the user stops.
async fn wait_for_outcome(
    ledger_path: &std::path::Path,
    meeting: &MeetingId,
    give_up: DateTime<Utc>,
    shutdown: &CancellationToken,
) -> bool {
    loop {
        if Utc::now() >= give_up {
            return false;
        }
        if let Ok(ledger) = Ledger::open(ledger_path)
            && let Ok(Some(row)) = ledger.find(meeting)
            && row.outcome.is_some()
        {
            return true;
        }
        tokio::select! {
            _ = shutdown.cancelled() => return false,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_folder_is_removed_even_when_the_demo_panics() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("nextstep-demo-test");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("demo.ics"), "x").unwrap();
        let guarded = dir.clone();
        let outcome = std::panic::catch_unwind(move || {
            let _dir = RemovedOnDrop(guarded);
            panic!("the demo failed half-way");
        });
        assert!(outcome.is_err());
        assert!(!dir.exists(), "{} is still there", dir.display());
    }

    #[test]
    fn the_demo_config_is_valid_and_points_at_its_files() {
        let c = config(
            std::path::Path::new("/tmp/a b/demo.ics"),
            std::path::Path::new("/tmp/l.sqlite3"),
        )
        .unwrap();
        assert_eq!(c.calendars.len(), 1);
        assert_eq!(
            c.ledger.path.as_deref(),
            Some(std::path::Path::new("/tmp/l.sqlite3"))
        );
        assert_eq!(c.prompts.after, Duration::from_secs(5));
        assert_eq!(c.web.port, 0, "any free port, not the usual one");
    }

    #[test]
    fn prompts_cannot_show_only_without_a_session_bus_and_a_terminal_on_linux() {
        assert_eq!(prompts_cannot_show(false, false), cfg!(target_os = "linux"));
        assert!(!prompts_cannot_show(true, false));
        assert!(!prompts_cannot_show(false, true));
    }
}
