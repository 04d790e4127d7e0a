//! `service status`: what can be known about the service without talking to the daemon. Whether
//! it is installed (its definition exists) and running (the service manager's word), its last
//! error (the journal on Linux, the log file on macOS), the config in use, and from the data
//! directory: each calendar's last successful poll (its snapshot), the prompts waiting and the
//! next prompt due (planned from the snapshots and the ledger, as the daemon would).
//!
//! Whatever cannot be read is named in [`Status::unknown`] rather than guessed.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Host, Platform, ServiceState, launchd, systemd};
use crate::classify::Classifier;
use crate::config::Config;
use crate::ledger::Ledger;
use crate::model::{Meeting, MeetingId, PromptKind};
use crate::source::snapshot;

#[derive(Debug, Serialize)]
pub struct Status {
    pub platform: Platform,
    pub installed: bool,
    /// Where the service definition is (or would be).
    pub definition: PathBuf,
    pub service: ServiceState,
    /// The newest error the daemon logged.
    pub last_error: Option<String>,
    pub config: PathBuf,
    /// Why the config does not load; the daemon would not start with it.
    pub config_error: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub ledger: Option<PathBuf>,
    pub calendars: Vec<CalendarStatus>,
    pub prompts_waiting: Option<usize>,
    pub next_prompt: Option<NextPrompt>,
    /// What could not be told, and why.
    pub unknown: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct CalendarStatus {
    pub name: String,
    /// When it was last read successfully (failures are in the log).
    pub last_poll: Option<DateTime<Utc>>,
    pub meetings: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct NextPrompt {
    pub due: DateTime<Utc>,
    pub kind: PromptKind,
    pub meeting: MeetingId,
    pub title: String,
}

/// Asks the service manager and reads the config, the snapshots and the ledger.
pub fn gather(
    platform: Platform,
    host: &Host,
    config_path: &Path,
    data_dir: &Path,
    now: DateTime<Utc>,
) -> Status {
    let definition = super::definition_path(platform, host);
    let mut st = Status {
        platform,
        installed: definition.exists(),
        definition,
        service: ServiceState::default(),
        last_error: None,
        config: config_path.to_owned(),
        config_error: None,
        data_dir: None,
        ledger: None,
        calendars: Vec::new(),
        prompts_waiting: None,
        next_prompt: None,
        unknown: Vec::new(),
    };
    manager(&mut st, platform, host);
    match Config::load(config_path) {
        Ok(config) => data(&mut st, &config, data_dir, now),
        Err(e) => st.config_error = Some(e.to_string()),
    }
    st
}

fn manager(st: &mut Status, platform: Platform, host: &Host) {
    match platform {
        Platform::Systemd => {
            match super::run(&systemd::show_argv()) {
                Ok(out) => st.service = systemd::parse_show(&out),
                Err(e) => st.unknown.push(format!("whether it runs: {e}")),
            }
            match super::run(&systemd::journal_argv()) {
                Ok(out) => st.last_error = out.lines().last().map(str::to_owned),
                Err(e) => st.unknown.push(format!("the last error: {e}")),
            }
        }
        Platform::Launchd => {
            // `print` fails for a label that is not loaded: that is the answer, not an error.
            if let Ok(out) = super::run(&launchd::print_argv(host)) {
                st.service = launchd::parse_print(&out);
            } else {
                st.service.state = Some("not loaded".into());
            }
            let log = launchd::log_file(host);
            match std::fs::read_to_string(&log) {
                Ok(text) => st.last_error = last_error_line(&text),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => st.unknown.push(format!(
                    "the last error: cannot read {}: {e}",
                    log.display()
                )),
            }
        }
    }
}

/// The newest line the daemon logged at error level (tracing's text format: `… ERROR …`).
fn last_error_line(log: &str) -> Option<String> {
    log.lines()
        .rev()
        .find(|l| l.contains(" ERROR "))
        .map(str::to_owned)
}

fn data(st: &mut Status, config: &Config, data_dir: &Path, now: DateTime<Utc>) {
    let ledger_path = crate::paths::ledger_file(config, data_dir);
    st.data_dir = Some(data_dir.to_owned());
    st.ledger = Some(ledger_path.clone());
    let mut meetings: Vec<Meeting> = Vec::new();
    for cal in &config.calendars {
        let snap = snapshot::load(&snapshot::path(data_dir, &cal.name));
        let (last_poll, count) = match snap {
            Ok(Some(s)) => {
                let n = s.meetings.len();
                meetings.extend(s.meetings);
                (Some(s.taken_at), Some(n))
            }
            Ok(None) => (None, None),
            Err(e) => {
                st.unknown
                    .push(format!("the last poll of {}: {e}", cal.name));
                (None, None)
            }
        };
        st.calendars.push(CalendarStatus {
            name: cal.name.clone(),
            last_poll,
            meetings: count,
        });
    }
    // Opening would create it; a daemon that never ran has nothing to say yet.
    let ledger = if ledger_path.exists() {
        match Ledger::open(&ledger_path) {
            Ok(l) => Some(l),
            Err(e) => {
                st.unknown.push(format!("prompts: {e}"));
                None
            }
        }
    } else {
        st.unknown.push(format!(
            "prompts waiting: there is no ledger at {} yet (the daemon has not run)",
            ledger_path.display()
        ));
        None
    };
    let mut states = HashMap::new();
    if let Some(l) = &ledger {
        match l.pending(now) {
            Ok(p) => st.prompts_waiting = Some(p.len()),
            Err(e) => st.unknown.push(format!("prompts waiting: {e}")),
        }
        let ids: Vec<MeetingId> = meetings.iter().map(|m| m.id.clone()).collect();
        match l.states(&ids, config.prompts.snooze) {
            Ok(s) => states = s,
            Err(e) => st.unknown.push(format!("the next prompt: {e}")),
        }
    }
    let mut classifier = Classifier::new(&config.identity, &config.classify, &config.accounts);
    let classified: Vec<_> = classifier
        .classify_all(&meetings, &states)
        .map(|(m, v)| (m.clone(), v))
        .collect();
    let plan = crate::plan::plan(&classified, &states, now, &config.prompts);
    st.next_prompt = plan
        .prompts
        .iter()
        .min_by_key(|p| p.due)
        .map(|p| NextPrompt {
            due: p.due,
            kind: p.kind,
            meeting: p.meeting.clone(),
            title: classified
                .iter()
                .find(|(m, _)| m.id == p.meeting)
                .map(|(m, _)| m.title.clone())
                .unwrap_or_default(),
        });
}

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono::Local)
        .format("%a %Y-%m-%d %H:%M")
        .to_string()
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.installed {
            writeln!(f, "installed: yes ({})", self.definition.display())?;
        } else {
            writeln!(
                f,
                "installed: no (`nextstep service install` writes {})",
                self.definition.display()
            )?;
        }
        let s = &self.service;
        write!(f, "running:   {}", if s.running { "yes" } else { "no" })?;
        if let Some(state) = &s.state {
            write!(f, ", {state}")?;
        }
        if let Some(pid) = s.pid {
            write!(f, ", pid {pid}")?;
        }
        writeln!(f)?;
        if let Some(d) = &s.detail {
            writeln!(f, "status:    {d}")?;
        }
        if let Some(e) = &self.last_error {
            writeln!(f, "last error: {e}")?;
        }
        match &self.config_error {
            None => writeln!(f, "config:    {}", self.config.display())?,
            Some(e) => writeln!(
                f,
                "config:    {} does not load:\n  {e}",
                self.config.display()
            )?,
        }
        if let Some(l) = &self.ledger {
            writeln!(f, "ledger:    {}", l.display())?;
        }
        for c in &self.calendars {
            match (c.last_poll, c.meetings) {
                (Some(t), Some(n)) => writeln!(
                    f,
                    "calendar {}: last read {} ({n} meetings)",
                    c.name,
                    local(t)
                )?,
                _ => writeln!(f, "calendar {}: not read yet", c.name)?,
            }
        }
        if let Some(n) = self.prompts_waiting {
            writeln!(f, "prompts waiting: {n}")?;
        }
        if self.config_error.is_none() {
            match &self.next_prompt {
                Some(p) => writeln!(
                    f,
                    "next prompt: {} for \"{}\" at {}",
                    p.kind,
                    p.title,
                    local(p.due)
                )?,
                None => writeln!(f, "next prompt: none planned")?,
            }
        }
        for u in &self.unknown {
            writeln!(f, "cannot tell {u}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_error_is_the_newest_error_line_of_the_log() {
        let log = "2026-01-01T10:00:00Z  INFO nextstep is running\n2026-01-01T10:01:00Z ERROR polling stopped: 401\n2026-01-01T10:02:00Z  WARN slow\n";
        assert_eq!(
            last_error_line(log).as_deref(),
            Some("2026-01-01T10:01:00Z ERROR polling stopped: 401")
        );
        assert_eq!(last_error_line("  INFO fine\n"), None);
    }
}
