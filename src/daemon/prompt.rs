//! One task per prompt on screen: waits for a notification server when none answers yet, shows
//! the prompt, and records the answer the moment it arrives, under the prompt's unique key.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, info_span, warn};

use super::{LoopEvent, lock};
use crate::clock::Clock;
use crate::ledger::Ledger;
use crate::model::{Answer, PlannedPrompt, Via};
use crate::notify::{Notifier, PromptView};

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
}

impl PromptTask {
    pub(super) async fn run(self) {
        let key = self.prompt.key();
        let reply = {
            // The semaphore is never closed, so acquire cannot fail; if it somehow did, showing
            // the prompt anyway is better than losing it.
            let _permit = self.gate.acquire().await.ok();
            info!(meeting = %self.prompt.meeting, "showing prompt");
            tokio::select! {
                r = self.ask_until_shown() => r,
                // Stopping does not wait for a person: the prompt stays recorded as shown and
                // unanswered, and `nextstep pending` lists it.
                _ = self.shutdown.cancelled() => {
                    info!("stopping with the prompt unanswered");
                    return;
                }
            }
        };
        let (answer, via) = match reply {
            Ok(r) => (r.answer, r.via),
            Err(e) => {
                warn!("the prompt could not be shown: {e}; it stays pending (`nextstep pending`)");
                (Answer::Dismissed, Via::Daemon)
            }
        };
        let answer_key = format!("{key}#answer");
        let now = self.clock.now();
        let written = {
            let _span = info_span!("ledger_write", prompt = %key, what = "answer").entered();
            lock(&self.ledger).record_answer(&answer_key, &self.prompt.meeting, &answer, via, now)
        };
        match written {
            Ok(_) => info!(
                answer = answer.kind(),
                via = via.as_str(),
                "answer recorded"
            ),
            Err(e) => error!("cannot record the answer: {e}"),
        }
        let _ = self
            .tx
            .send(LoopEvent::Answered {
                key,
                meeting: self.prompt.meeting.clone(),
            })
            .await;
    }
}

impl PromptTask {
    /// A notification server that is not there yet (the daemon started before the desktop, or
    /// the server restarted) is waited for, up to the prompt timeout, rather than losing the prompt.
    async fn ask_until_shown(&self) -> Result<crate::notify::Reply, crate::notify::NotifyError> {
        let give_up = tokio::time::Instant::now() + self.retry_for;
        loop {
            match self.notifier.ask(&self.view).await {
                Err(crate::notify::NotifyError::Unavailable(why))
                    if tokio::time::Instant::now() + UNAVAILABLE_RETRY < give_up =>
                {
                    debug!(
                        "no notification server ({why}); trying again in {}s",
                        UNAVAILABLE_RETRY.as_secs()
                    );
                    tokio::time::sleep(UNAVAILABLE_RETRY).await;
                }
                other => return other,
            }
        }
    }
}

/// How often a prompt looks for a notification server that did not answer.
const UNAVAILABLE_RETRY: Duration = Duration::from_secs(15);
