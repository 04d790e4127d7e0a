//! The weekly look back as one notification (docs/design.md, "The daemon's tasks and
//! deadlines"): at `digest.when` in the local zone, the daemon reads the ledger, builds
//! [`coach::digest`], and shows its counts and top items, each with the command that answers it,
//! plus the report page's address while the page is served.
//!
//! What it promises:
//! - Once a week: the last showing is kept in `digest.json` in the data directory, so a restart
//!   never shows the same week twice, and a week missed while the machine slept (or the daemon
//!   was stopped) is shown once, when the daemon next runs. A first start shows nothing: it only
//!   notes the week as seen.
//! - An empty look back is not shown (the week still counts as seen).
//! - Waiting never trusts tokio's timer across a suspend: every sleep is at most [`MAX_SLEEP`]
//!   and the wall clock is read again after it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Local, Utc};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::{MAX_SLEEP, blocking};
use crate::clock::Clock;
use crate::coach::{self, Digest};
use crate::config::DigestWhen;
use crate::ledger::Ledger;
use crate::notify::{Notifier, NotifyError};

/// The state file's name in the data directory.
pub(super) const STATE_FILE: &str = "digest.json";

/// How many items the notification lists; the rest are counted, and `nextstep digest` has them.
const TOP_ITEMS: usize = 3;

pub(super) struct DigestTask {
    pub(super) when: DigestWhen,
    pub(super) ladder: Vec<String>,
    pub(super) ledger: Arc<Mutex<Ledger>>,
    pub(super) notifier: Arc<dyn Notifier>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) data_dir: PathBuf,
    pub(super) shutdown: CancellationToken,
}

/// What `digest.json` holds.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    /// The last showing the daemon dealt with (shown, or found empty, or noted at a first start).
    last: DateTime<Utc>,
}

impl DigestTask {
    pub(super) async fn run(self) {
        let path = self.data_dir.join(STATE_FILE);
        let mut last = match load(&path) {
            Ok(last) => last,
            Err(e) => {
                warn!(path = %path.display(), "ignoring an unreadable digest state: {e}");
                None
            }
        };
        loop {
            let now = self.clock.now();
            let due = self.when.last_at_or_before(now, &Local);
            let settled = match last {
                // A first start: nothing is known to be missed.
                None => true,
                Some(l) if l < due => self.show(now).await,
                Some(_) => false,
            };
            if settled {
                last = Some(due);
                if let Err(e) = save(&path, due) {
                    warn!(path = %path.display(), "cannot record the weekly look back as shown: {e}; a restart may show it again");
                }
            }
            let next = self.when.next_after(now, &Local);
            let wait = (next - now)
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(MAX_SLEEP)
                .max(Duration::from_millis(100));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.shutdown.cancelled() => return,
            }
        }
    }

    /// Builds and shows the look back; `false` when it should be tried again (no ledger, no
    /// notification server yet).
    async fn show(&self, now: DateTime<Utc>) -> bool {
        let today = coach::local_day(now, &Local);
        let ladder = self.ladder.clone();
        let read = blocking(&self.ledger, move |l| {
            let rows = l.customer_meetings(None)?;
            let marks = l.account_marks(None)?;
            Ok(coach::digest(&ladder, &rows, &marks, now, today, &Local))
        })
        .await;
        let digest = match read {
            Ok(d) => d,
            Err(e) => {
                warn!(
                    "cannot read the ledger for the weekly look back: {e:#}; trying again shortly"
                );
                return false;
            }
        };
        if digest.is_empty() {
            info!("weekly look back: nothing to chase; not shown");
            return true;
        }
        let page = self.notifier.page().and_then(|p| p.url("/report"));
        let (summary, body) = notification(&digest, page.as_deref());
        match self.notifier.tell(&summary, &body).await {
            Ok(()) => {
                info!(
                    slipped = digest.slipped.len(),
                    stalled = digest.stalled.len(),
                    awaiting = digest.awaiting.len(),
                    "weekly look back shown"
                );
                true
            }
            Err(NotifyError::Unavailable(why)) => {
                debug!(
                    "no notification server for the weekly look back ({why}); trying again shortly"
                );
                false
            }
            Err(e) => {
                warn!("the weekly look back could not be shown: {e}; `nextstep digest` prints it");
                true
            }
        }
    }
}

/// The notification's summary and plain-text body for `digest`: the counts, the first
/// [`TOP_ITEMS`] items (slipped first, then stuck accounts, then meetings without an outcome),
/// each followed by the command that answers it, and the report page's address when served.
pub(super) fn notification(digest: &Digest, page: Option<&str>) -> (String, String) {
    let summary = format!(
        "Weekly look back: {} slipped, {} without a commitment twice, {} without an outcome",
        digest.slipped.len(),
        digest.stalled.len(),
        digest.awaiting.len()
    );
    let mut items: Vec<(String, &str)> = Vec::new();
    for s in &digest.slipped {
        let who = s.account.as_deref().unwrap_or(&s.title);
        let what = s.next_step.as_deref().unwrap_or("the next step");
        items.push((
            format!("{who}: “{what}” was due {}", s.due.format("%Y-%m-%d")),
            &s.command,
        ));
    }
    for s in &digest.stalled {
        items.push((
            format!("{}: no commitment twice in a row", s.account),
            &s.command,
        ));
    }
    for a in &digest.awaiting {
        items.push((
            format!(
                "“{}” on {}: no outcome yet",
                a.title,
                a.start.with_timezone(&Local).format("%a %d %b")
            ),
            &a.command,
        ));
    }
    let mut body = String::new();
    for (line, command) in items.iter().take(TOP_ITEMS) {
        let _ = writeln!(body, "{line}\n  $ {command}");
    }
    if items.len() > TOP_ITEMS {
        let _ = writeln!(
            body,
            "…and {} more: nextstep digest",
            items.len() - TOP_ITEMS
        );
    }
    if let Some(url) = page {
        let _ = writeln!(body, "The report: {url}");
    }
    (summary, body.trim_end().to_owned())
}

fn load(path: &Path) -> Result<Option<DateTime<Utc>>, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice::<State>(&bytes)
            .map(|s| Some(s.last))
            .map_err(|e| e.to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

fn save(path: &Path, last: DateTime<Utc>) -> std::io::Result<()> {
    let body = serde_json::to_vec(&State { last }).map_err(std::io::Error::other)?;
    crate::fsutil::write_atomic_private(path, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coach::{Awaiting, Slipped, Stalled};
    use crate::model::{MeetingId, Outcome};
    use chrono::NaiveDate;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn digest(awaiting: usize) -> Digest {
        let at = "2026-11-30T10:00:00Z".parse().unwrap();
        Digest {
            generated_at: at,
            today: day(30),
            slipped: vec![Slipped {
                meeting: MeetingId("work/a/single".into()),
                account: Some("Acme".into()),
                title: "Acme call".into(),
                start: at,
                result: Outcome::Committed,
                next_step: Some("Send the PO".into()),
                due: day(20),
                days_late: 10,
                command: "nextstep account Acme".into(),
            }],
            stalled: vec![Stalled {
                account: "Beta".into(),
                meetings: [MeetingId("b1".into()), MeetingId("b2".into())],
                days: [day(2), day(9)],
                command: "nextstep account Beta".into(),
            }],
            awaiting: (0..awaiting)
                .map(|i| Awaiting {
                    meeting: MeetingId(format!("work/w{i}/single")),
                    account: None,
                    title: format!("Call {i}"),
                    start: at,
                    command: format!("nextstep outcome RESULT --meeting work/w{i}/single"),
                })
                .collect(),
        }
    }

    #[test]
    fn the_notification_counts_everything_and_lists_the_top_items_with_their_commands() {
        let (summary, body) =
            notification(&digest(3), Some("http://127.0.0.1:7717/report?token=t"));
        assert_eq!(
            summary,
            "Weekly look back: 1 slipped, 1 without a commitment twice, 3 without an outcome"
        );
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines[0], "Acme: “Send the PO” was due 2026-11-20");
        assert_eq!(lines[1], "  $ nextstep account Acme");
        assert_eq!(lines[2], "Beta: no commitment twice in a row");
        assert_eq!(lines[3], "  $ nextstep account Beta");
        assert!(lines[4].starts_with("“Call 0” on "), "{body}");
        assert_eq!(
            lines[5],
            "  $ nextstep outcome RESULT --meeting work/w0/single"
        );
        assert_eq!(lines[6], "…and 2 more: nextstep digest");
        assert_eq!(lines[7], "The report: http://127.0.0.1:7717/report?token=t");
        assert_eq!(lines.len(), 8);
    }

    #[test]
    fn without_a_page_or_more_items_the_body_ends_with_the_last_command() {
        let (_, body) = notification(&digest(0), None);
        assert!(body.ends_with("  $ nextstep account Beta"), "{body}");
    }

    #[test]
    fn the_state_file_keeps_the_last_showing_and_a_missing_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_FILE);
        assert_eq!(load(&path), Ok(None));
        let at: DateTime<Utc> = "2026-11-30T08:00:00Z".parse().unwrap();
        save(&path, at).unwrap();
        assert_eq!(load(&path), Ok(Some(at)));
        std::fs::write(&path, "{").unwrap();
        assert!(load(&path).is_err());
    }
}
