//! The daemon's side of systemd supervision: once per turn of the scheduler's loop (at least every
//! `daemon::MAX_SLEEP`) it tells systemd it is alive (`WATCHDOG=1`, only when the unit asked for a
//! watchdog, so a loop stuck for `WatchdogSec=` is restarted), and keeps the one-line `STATUS=`
//! that `systemctl --user status nextstep` shows: the next prompt and the calendars' state.
//!
//! Outside systemd (no `NOTIFY_SOCKET`) every call is a no-op. The status line is sent only when
//! it changed.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::model::{Meeting, PromptKind, Verdict};
use crate::plan::Plan;

/// The next prompt, as the status line names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextPrompt<'a> {
    pub due: DateTime<Utc>,
    pub kind: PromptKind,
    pub title: &'a str,
}

/// The prompt of `plan` due first after `now` (one due now is on screen already), with its title.
pub fn next_prompt<'a>(
    plan: &Plan,
    classified: &'a [(Meeting, Verdict)],
    now: DateTime<Utc>,
) -> Option<NextPrompt<'a>> {
    let p = plan
        .prompts
        .iter()
        .filter(|p| p.due > now)
        .min_by_key(|p| p.due)?;
    let title = classified
        .iter()
        .find(|(m, _)| m.id == p.meeting)
        .map_or("", |(m, _)| m.title.as_str());
    Some(NextPrompt {
        due: p.due,
        kind: p.kind,
        title,
    })
}

/// `next: objective for "Acme review" at Wed 09:50 · calendars: home 3, work 12 meetings`.
/// Times are local, as the person reading `systemctl status` thinks of them.
pub fn status_line(next: Option<&NextPrompt<'_>>, calendars: &[(&str, usize)]) -> String {
    let next = match next {
        Some(p) => format!(
            "next: {} for \"{}\" at {}",
            p.kind,
            p.title,
            p.due.with_timezone(&chrono::Local).format("%a %H:%M")
        ),
        None => "no prompt planned".to_owned(),
    };
    let mut cals: Vec<String> = calendars
        .iter()
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    cals.sort();
    if cals.is_empty() {
        format!("{next} · no calendar polled yet")
    } else {
        format!("{next} · calendars: {} meetings", cals.join(", "))
    }
}

static LAST_STATUS: Mutex<String> = Mutex::new(String::new());

/// One turn of the loop: the liveness ping, and the status line when it changed.
pub fn tick(
    plan: &Plan,
    classified: &[(Meeting, Verdict)],
    by_source: &HashMap<String, Vec<Meeting>>,
    now: DateTime<Utc>,
) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    if sd_notify::watchdog_enabled().is_some() {
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
    }
    let calendars: Vec<(&str, usize)> = by_source
        .iter()
        .map(|(name, ms)| (name.as_str(), ms.len()))
        .collect();
    let line = status_line(next_prompt(plan, classified, now).as_ref(), &calendars);
    let mut last = LAST_STATUS.lock().unwrap_or_else(|p| p.into_inner());
    if *last != line {
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Status(&line)]);
        *last = line;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_line_names_the_next_prompt_and_each_calendar() {
        let due = DateTime::parse_from_rfc3339("2026-03-02T09:50:00Z")
            .unwrap()
            .to_utc();
        let p = NextPrompt {
            due,
            kind: PromptKind::Objective,
            title: "Acme review",
        };
        let line = status_line(Some(&p), &[("work", 12), ("home", 3)]);
        let at = due.with_timezone(&chrono::Local).format("%a %H:%M");
        assert_eq!(
            line,
            format!(
                "next: objective for \"Acme review\" at {at} · calendars: home 3, work 12 meetings"
            )
        );
        assert_eq!(
            status_line(None, &[]),
            "no prompt planned · no calendar polled yet"
        );
    }
}
