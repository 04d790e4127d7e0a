//! One task per prompt on screen: waits for a notification server when none answers yet, shows
//! the prompt, persists the notification id it is shown under, and records the answer the moment
//! it arrives, under the prompt's unique key.
//!
//! What it promises:
//! - First answer stands (docs/design.md, "Answers and their keys"): a prompt whose question was
//!   answered elsewhere is withdrawn by the scheduler and ends without writing; an answer that
//!   still arrives late is refused by the ledger ([`Recorded::AlreadyAnswered`]) and logged, never
//!   counted.
//! - Stopping never waits for a person: on shutdown the task ends with the prompt recorded as
//!   shown and unanswered, which the next start shows again.
//! - An answer is never dropped for a ledger error: the write is retried with backoff, on a
//!   blocking thread, until it succeeds or the daemon stops (then it is lost with a log line
//!   naming it, and the prompt stays open so the next start asks again).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, info_span, warn};

use super::{LoopEvent, blocking};
use crate::clock::Clock;
use crate::ledger::{Ledger, Recorded};
use crate::model::{Answer, PlannedPrompt, Via};
use crate::notify::{Notifier, NotifyError, PromptView, Reply, Showing};

pub(super) struct PromptTask {
    pub(super) prompt: PlannedPrompt,
    pub(super) view: PromptView,
    pub(super) notifier: Arc<dyn Notifier>,
    pub(super) ledger: Arc<Mutex<Ledger>>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) tx: mpsc::Sender<LoopEvent>,
    pub(super) gate: Arc<Semaphore>,
    pub(super) retry_for: Duration,
    pub(super) shutdown: CancellationToken,
    /// Shared with the scheduler, which withdraws it when the question is answered elsewhere.
    pub(super) showing: Showing,
}

/// The first wait before a failed answer write is tried again; it doubles up to
/// [`WRITE_RETRY_MAX`].
const WRITE_RETRY_FIRST: Duration = Duration::from_millis(200);
const WRITE_RETRY_MAX: Duration = Duration::from_secs(30);

impl PromptTask {
    pub(super) async fn run(self) {
        let key = self.prompt.key();
        if let Some(reply) = self.ask().await {
            self.record(&key, reply).await;
        }
        let _ = self
            .tx
            .send(LoopEvent::Answered {
                key,
                meeting: self.prompt.meeting.clone(),
            })
            .await;
    }

    /// The reply to record, or `None` when there is nothing to record: stopped, or withdrawn.
    async fn ask(&self) -> Option<(Answer, Via)> {
        let key = self.prompt.key();
        // The semaphore is never closed, so acquire cannot fail; if it somehow did, showing the
        // prompt anyway is better than losing it.
        let _permit = tokio::select! {
            p = self.gate.acquire() => p.ok(),
            _ = self.shutdown.cancelled() => return None,
            why = self.showing.withdrawn() => {
                info!(answered = %why, "answered elsewhere before it was shown");
                return None;
            }
        };
        info!(meeting = %self.prompt.meeting, "showing prompt");
        let asking = self.ask_until_shown();
        tokio::pin!(asking);
        let reply = loop {
            tokio::select! {
                r = &mut asking => break r,
                id = self.showing.next_id() => self.remember_notification(&key, id).await,
                // Stopping does not wait for a person: the prompt stays recorded as shown and
                // unanswered, and the next start shows it again.
                _ = self.shutdown.cancelled() => {
                    info!("stopping with the prompt unanswered; it is asked again at the next start");
                    return None;
                }
            }
        };
        match reply {
            Ok(Reply { answer, via }) => Some((answer, via)),
            Err(NotifyError::Withdrawn(why)) => {
                info!(answered = %why, "prompt withdrawn: its question was answered elsewhere");
                None
            }
            Err(e) => {
                warn!("the prompt could not be shown: {e}; it stays pending (`nextstep pending`)");
                Some((Answer::Dismissed, Via::Daemon))
            }
        }
    }

    /// Persists the notification id a prompt is shown under, so a restarted daemon can close it.
    async fn remember_notification(&self, key: &str, id: String) {
        let now = self.clock.now();
        let k = key.to_string();
        let written = blocking(&self.ledger, move |l| l.record_notification(&k, &id, now)).await;
        if let Err(e) = written {
            // Only a restart needs it, and then the prompt is shown anew anyway.
            warn!("cannot record the notification id: {e}");
        }
    }

    /// Records the answer, retrying a failed write with backoff until it is written or the daemon
    /// stops.
    async fn record(&self, key: &str, (answer, via): (Answer, Via)) {
        let answer_key = format!("{key}#answer");
        let now = self.clock.now();
        let mut wait = WRITE_RETRY_FIRST;
        loop {
            let (k, m, a) = (
                answer_key.clone(),
                self.prompt.meeting.clone(),
                answer.clone(),
            );
            let written = blocking(&self.ledger, move |l| {
                let _span = info_span!("ledger_write", prompt = %k, what = "answer").entered();
                l.record(&k, &m, &a, via, now)
            })
            .await;
            match written {
                Ok(Recorded::New | Recorded::Retry) => {
                    info!(
                        answer = answer.kind(),
                        via = via.as_str(),
                        "answer recorded"
                    );
                    return;
                }
                Ok(Recorded::AlreadyAnswered { by, at }) => {
                    warn!(
                        answer = answer.kind(),
                        via = via.as_str(),
                        first_by = by.as_str(),
                        first_at = %at,
                        "answer refused: the question was answered first elsewhere, and the first \
                         answer stands (kept as a row; `nextstep` correction commands change it)"
                    );
                    return;
                }
                Err(e) => {
                    error!(
                        retry_in_ms = wait.as_millis() as u64,
                        "cannot record the answer: {e}; keeping it and trying again"
                    );
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = self.shutdown.cancelled() => {
                            error!(answer = answer.kind(), "stopping before the answer could be written; the prompt is asked again at the next start");
                            return;
                        }
                    }
                    wait = (wait * 2).min(WRITE_RETRY_MAX);
                }
            }
        }
    }

    /// A notification server that is not there yet (the daemon started before the desktop, or
    /// the server restarted) is waited for, up to the prompt timeout, rather than losing the prompt.
    async fn ask_until_shown(&self) -> Result<Reply, NotifyError> {
        let give_up = tokio::time::Instant::now().checked_add(self.retry_for);
        loop {
            match self.notifier.ask_showing(&self.view, &self.showing).await {
                Err(NotifyError::Unavailable(why))
                    if give_up
                        .is_none_or(|g| tokio::time::Instant::now() + UNAVAILABLE_RETRY < g) =>
                {
                    debug!(
                        "no notification server ({why}); trying again in {}s",
                        UNAVAILABLE_RETRY.as_secs()
                    );
                    tokio::select! {
                        _ = tokio::time::sleep(UNAVAILABLE_RETRY) => {}
                        why = self.showing.withdrawn() => return Err(NotifyError::Withdrawn(why)),
                    }
                }
                other => return other,
            }
        }
    }
}

/// How often a prompt looks for a notification server that did not answer.
const UNAVAILABLE_RETRY: Duration = Duration::from_secs(15);
