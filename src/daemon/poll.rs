//! One poll task per calendar: polls on its interval, saves the snapshot of what it read, hands
//! the meetings to the scheduler, and backs off with jitter after a failure (never sooner than a
//! server's `Retry-After`). Sleeps follow the wall clock (see [`sleep_until_wall`]) and end early
//! when [`PollNow::now`] is called.
//!
//! What it promises:
//! - Only a broken setup stops a source. Refused credentials (401/403) are told to the user once
//!   per streak, and then tried again at a slow pace ([`UNAUTHORIZED_RETRY`] or the poll interval,
//!   whichever is longer), so fixing the server or the password needs no restart.
//! - One line per failure streak: the first failure at WARN, repeats at DEBUG, the recovery at
//!   INFO (with how many polls failed).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span, warn};

use super::{LoopEvent, MAX_SLEEP, window};
use crate::clock::Clock;
use crate::source::{CalendarSource, SourceError, snapshot};

/// How often a source whose credentials were refused is tried again (at least; never more often
/// than its poll interval): slow enough not to hammer a server or lock an account, quick enough
/// that a fixed password is noticed without a restart.
pub const UNAUTHORIZED_RETRY: Duration = Duration::from_secs(15 * 60);

/// "Poll every calendar now": ends the wait of every poll task at once (a retry after refused
/// credentials included). Cheap to clone; a call while a poll is running makes the next wait end
/// at once, so the request is never lost.
#[derive(Debug, Clone)]
pub struct PollNow(Arc<watch::Sender<u64>>);

impl Default for PollNow {
    fn default() -> Self {
        PollNow(Arc::new(watch::Sender::new(0)))
    }
}

impl PollNow {
    /// Asks every poll task to poll at once.
    pub fn now(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub(super) fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

pub(super) struct PollTask {
    pub(super) source: Box<dyn CalendarSource>,
    pub(super) every: Duration,
    pub(super) lookback: Duration,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) tx: mpsc::Sender<LoopEvent>,
    pub(super) shutdown: CancellationToken,
    pub(super) snapshot: PathBuf,
    /// The config's fingerprint for this calendar, stamped on each snapshot (`snapshot::fingerprint`).
    pub(super) config: u64,
    pub(super) poll_now: watch::Receiver<u64>,
}

impl PollTask {
    pub(super) async fn run(mut self) {
        let name = self.source.name().to_string();
        let mut failures: u32 = 0;
        // A request made before the first poll is served by that poll.
        self.poll_now.mark_unchanged();
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
                    if failures > 0 {
                        info!(failures, "polling works again");
                    }
                    failures = 0;
                    for w in &fetched.warnings {
                        warn!("skipped: {w}");
                    }
                    info!(
                        meetings = fetched.meetings.len(),
                        changed = fetched.changed,
                        complete = fetched.complete,
                        removed = fetched.removed.len(),
                        "polled"
                    );
                    if fetched.changed
                        && let Err(e) = snapshot::save(
                            &self.snapshot,
                            &name,
                            now,
                            self.config,
                            &fetched.meetings,
                        )
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
                // A setting that is wrong will not fix itself: stop, and say why.
                Err(e @ SourceError::Setup { .. }) => {
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
                    failures = failures.saturating_add(1);
                    let wait = wait_after(&e, failures, self.every);
                    if failures == 1 && matches!(e, SourceError::Unauthorized { .. }) {
                        // The scheduler logs it and tells the user: one line, one notification.
                        let told = self
                            .tx
                            .send(LoopEvent::Unauthorized {
                                source: name.clone(),
                                message: e.to_string(),
                            })
                            .await;
                        if told.is_err() {
                            return;
                        }
                    } else if failures == 1 {
                        warn!(
                            "poll failed: {e}; prompts continue from what was read before; \
                             retrying in {}s (repeats are logged at DEBUG)",
                            wait.as_secs()
                        );
                    } else {
                        debug!(
                            failures,
                            "poll failed again: {e}; retrying in {}s",
                            wait.as_secs()
                        );
                    }
                    wait
                }
            };
            drop(_entered);
            let deadline = now
                .checked_add_signed(
                    chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::minutes(5)),
                )
                .unwrap_or(now);
            let woken = tokio::select! {
                woke = sleep_until_wall(self.clock.as_ref(), deadline, &self.shutdown) => woke,
                Ok(()) = self.poll_now.changed() => {
                    debug!(source = %name, "asked to poll now");
                    true
                }
            };
            if !woken {
                return;
            }
            self.poll_now.mark_unchanged();
        }
    }
}

/// How long to wait after a failed poll: refused credentials at a slow pace (see
/// [`UNAUTHORIZED_RETRY`]), everything else with [`backoff`].
pub fn wait_after(e: &SourceError, failures: u32, every: Duration) -> Duration {
    match e {
        SourceError::Unauthorized { .. } => every.max(UNAUTHORIZED_RETRY),
        SourceError::RateLimited { retry_after, .. } => backoff(failures, every, *retry_after),
        _ => backoff(failures, every, None),
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

    /// A source that answers from a script, one result per poll, and counts its polls.
    struct Scripted {
        script: std::collections::VecDeque<Result<crate::source::Fetched, SourceError>>,
        polls: Arc<std::sync::atomic::AtomicUsize>,
    }

    impl CalendarSource for Scripted {
        fn name(&self) -> &str {
            "work"
        }

        fn poll(&mut self, _window: crate::source::Window) -> crate::source::PollFuture<'_> {
            self.polls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let next = self
                .script
                .pop_front()
                .unwrap_or_else(|| Ok(Default::default()));
            Box::pin(async move { next })
        }
    }

    fn refused() -> SourceError {
        SourceError::Unauthorized {
            source_name: "work".into(),
            fix: "copy the current address".into(),
        }
    }

    #[test]
    fn refused_credentials_are_retried_slowly_and_other_failures_back_off() {
        let every = Duration::from_secs(300);
        assert_eq!(wait_after(&refused(), 1, every), UNAUTHORIZED_RETRY);
        assert_eq!(wait_after(&refused(), 9, every), UNAUTHORIZED_RETRY);
        let hourly = Duration::from_secs(3600);
        assert_eq!(wait_after(&refused(), 1, hourly), hourly);
        let io = SourceError::Io {
            source_name: "work".into(),
            path: "/x".into(),
            detail: "gone".into(),
        };
        assert!(wait_after(&io, 1, every) <= Duration::from_secs(6));
    }

    /// 401, 401, then fine: the task does not stop, tells the scheduler once, polls again when
    /// asked to (without waiting its slow 15 minutes), and recovers by itself.
    #[tokio::test]
    async fn refused_credentials_are_told_once_and_a_poll_now_recovers_without_a_restart() {
        let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (tx, mut rx) = mpsc::channel(8);
        let shutdown = CancellationToken::new();
        let poll_now = PollNow::default();
        let dir = tempfile::tempdir().unwrap();
        let task = PollTask {
            source: Box::new(Scripted {
                script: [Err(refused()), Err(refused()), Ok(Default::default())].into(),
                polls: polls.clone(),
            }),
            every: Duration::from_secs(300),
            lookback: Duration::from_secs(3600),
            clock: Arc::new(crate::clock::SystemClock),
            tx,
            shutdown: shutdown.clone(),
            snapshot: dir.path().join("snap.json"),
            config: 0,
            poll_now: poll_now.subscribe(),
        };
        let handle = tokio::spawn(task.run());
        let five = Duration::from_secs(5);
        let first = tokio::time::timeout(five, rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(
            matches!(&first, LoopEvent::Unauthorized { source, .. } if source == "work"),
            "the first refusal is told"
        );
        let count = || polls.load(std::sync::atomic::Ordering::SeqCst);
        // Wait for the task to be asleep after the first poll, then wake it twice.
        while count() < 1 {
            tokio::task::yield_now().await;
        }
        poll_now.now();
        while count() < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        poll_now.now();
        let next = tokio::time::timeout(five, rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(
            matches!(next, LoopEvent::Polled { .. }),
            "the second refusal is not told again; the third poll succeeds"
        );
        assert_eq!(count(), 3);
        assert!(!handle.is_finished(), "the task keeps polling");
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(5), handle)
            .await
            .unwrap()
            .unwrap();
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
