//! One poll task per calendar: polls on its interval, saves the snapshot of what it read, hands
//! the meetings to the scheduler, and backs off with jitter after a failure (never sooner than a
//! server's `Retry-After`). Sleeps follow the wall clock (see [`sleep_until_wall`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span, warn};

use super::{LoopEvent, MAX_SLEEP, window};
use crate::clock::Clock;
use crate::source::{CalendarSource, SourceError, snapshot};

pub(super) struct PollTask {
    pub(super) source: Box<dyn CalendarSource>,
    pub(super) every: Duration,
    pub(super) lookback: Duration,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) tx: mpsc::Sender<LoopEvent>,
    pub(super) shutdown: CancellationToken,
    pub(super) snapshot: PathBuf,
}

impl PollTask {
    pub(super) async fn run(mut self) {
        let name = self.source.name().to_string();
        let mut failures: u32 = 0;
        loop {
            let now = self.clock.now();
            let window = window(now, self.lookback);
            let span = info_span!("poll", source = %name);
            let result = tokio::select! {
                _ = self.shutdown.cancelled() => return,
                r = self.source.poll(window).instrument(span.clone()) => r,
            };
            let _entered = span.enter();
            let wait = match result {
                Ok(fetched) => {
                    failures = 0;
                    for w in &fetched.warnings {
                        warn!("skipped: {w}");
                    }
                    info!(
                        meetings = fetched.meetings.len(),
                        changed = fetched.changed,
                        "polled"
                    );
                    if fetched.changed
                        && let Err(e) =
                            snapshot::save(&self.snapshot, &name, now, &fetched.meetings)
                    {
                        warn!(path = %self.snapshot.display(), "cannot save the snapshot: {e}");
                    }
                    if self
                        .tx
                        .send(LoopEvent::Polled {
                            source: name.clone(),
                            fetched,
                        })
                        .await
                        .is_err()
                    {
                        return;
                    }
                    self.every
                }
                // Only refused credentials and broken setup stop a source; every other failure
                // (even an HTTP 404 from a feed being moved) is retried, since it may pass.
                Err(e @ (SourceError::Unauthorized { .. } | SourceError::Setup { .. })) => {
                    let _ = self
                        .tx
                        .send(LoopEvent::Stopped {
                            source: name.clone(),
                            message: e.to_string(),
                        })
                        .await;
                    return;
                }
                Err(e) => {
                    failures += 1;
                    let retry_after = match &e {
                        SourceError::RateLimited { retry_after, .. } => *retry_after,
                        _ => None,
                    };
                    let wait = backoff(failures, self.every, retry_after);
                    warn!(
                        failures,
                        "poll failed: {e}; prompts continue from the last snapshot; retrying in {}s",
                        wait.as_secs()
                    );
                    wait
                }
            };
            drop(_entered);
            let deadline =
                now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::minutes(5));
            if !sleep_until_wall(self.clock.as_ref(), deadline, &self.shutdown).await {
                return;
            }
        }
    }
}

/// Exponential backoff from 5 s, capped at the poll interval, with ±20% jitter so many
/// daemons behind one proxy do not retry in step; never shorter than the server's Retry-After.
pub fn backoff(failures: u32, every: Duration, retry_after: Option<Duration>) -> Duration {
    let base = Duration::from_secs(5).saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    let capped = base.min(every.max(Duration::from_secs(5)));
    let jitter = 0.8 + fastrand::f64() * 0.4;
    let wait = capped.mul_f64(jitter);
    match retry_after {
        Some(r) => wait.max(r),
        None => wait,
    }
}

/// Sleeps until the wall clock reaches `deadline`, in steps of at most [`MAX_SLEEP`]. Returns
/// false when shut down first.
pub async fn sleep_until_wall(
    clock: &dyn Clock,
    deadline: DateTime<Utc>,
    shutdown: &CancellationToken,
) -> bool {
    loop {
        let now = clock.now();
        if now >= deadline {
            return true;
        }
        let step = (deadline - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(MAX_SLEEP);
        tokio::select! {
            _ = shutdown.cancelled() => return false,
            _ = tokio::time::sleep(step) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_stays_under_the_poll_interval_and_honours_retry_after() {
        let every = Duration::from_secs(300);
        let first = backoff(1, every, None);
        assert!(
            first >= Duration::from_secs(4) && first <= Duration::from_secs(6),
            "{first:?}"
        );
        let fifth = backoff(5, every, None);
        assert!(
            fifth >= Duration::from_secs(64) && fifth <= Duration::from_secs(96),
            "{fifth:?}"
        );
        let many = backoff(30, every, None);
        assert!(many <= Duration::from_secs(360), "{many:?}");
        assert!(backoff(1, every, Some(Duration::from_secs(120))) >= Duration::from_secs(120));
    }

    #[tokio::test(start_paused = true)]
    async fn a_wall_clock_sleep_ends_when_the_clock_jumps_past_the_deadline() {
        let clock = crate::clock::ManualClock::new(Utc::now());
        let deadline = clock.now() + chrono::Duration::hours(2);
        let shutdown = CancellationToken::new();
        let c2 = clock.clone();
        // A suspended laptop: the wall clock jumps two hours while tokio's clock moved 30 s.
        let jump = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            c2.advance(chrono::Duration::hours(2));
        });
        let start = tokio::time::Instant::now();
        assert!(sleep_until_wall(&clock, deadline, &shutdown).await);
        assert!(tokio::time::Instant::now() - start <= MAX_SLEEP + Duration::from_secs(1));
        jump.await.unwrap();
    }
}
