//! The daemon: one poll task per source, one loop that classifies, plans and fires prompts, and one
//! task per prompt on screen. Everything it decides comes from `classify` and `plan` (pure); this
//! file only moves data between the sources, the ledger and the notifier.
//!
//! Time: deadlines are wall-clock instants read from [`Clock`], and every sleep is at most
//! [`MAX_SLEEP`], because tokio's timers run on the monotonic clock, which stops while a laptop
//! sleeps. After a suspend or a clock change the loop notices within `MAX_SLEEP`.
//!
//! Durability: a prompt is recorded as shown before it is shown, and an answer is recorded by the
//! prompt's own task the moment it arrives, under a unique key, so a restart neither repeats a
//! prompt nor loses or duplicates an answer.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, debug, error, info, info_span, warn};

use crate::classify::Classifier;
use crate::clock::Clock;
use crate::config::Config;
use crate::ledger::Ledger;
use crate::lock::InstanceLock;
use crate::model::{
    Answer, Meeting, MeetingId, MeetingState, Outcome, PlannedPrompt, PromptKind, Verdict, Via,
};
use crate::notify::{Notifier, PromptView};
use crate::plan::{self, Plan};
use crate::source::{self, CalendarSource, Fetched, SourceContext, SourceError, Window, snapshot};

/// The longest the daemon sleeps before looking at the wall clock again.
pub const MAX_SLEEP: Duration = Duration::from_secs(30);

/// How far ahead sources are asked for meetings.
pub const HORIZON_DAYS: i64 = 30;

pub struct Options {
    pub config: Config,
    pub data_dir: PathBuf,
    pub ledger_path: PathBuf,
    pub clock: Arc<dyn Clock>,
    pub notifier: Arc<dyn Notifier>,
    /// Show one prompt at a time (the terminal notifier reads one stdin).
    pub one_prompt_at_a_time: bool,
    pub shutdown: CancellationToken,
}

/// The window every poll covers: back far enough for outcome prompts, forward `HORIZON_DAYS`.
pub fn window(now: DateTime<Utc>, lookback: Duration) -> Window {
    let back = chrono::Duration::from_std(lookback)
        .unwrap_or(chrono::Duration::days(1))
        .max(chrono::Duration::days(1));
    Window {
        start: now - back,
        end: now + chrono::Duration::days(HORIZON_DAYS),
    }
}

enum Event {
    Polled { source: String, fetched: Fetched },
    Stopped { source: String, message: String },
    Answered { key: String, meeting: MeetingId },
}

/// Runs until `opts.shutdown` is cancelled (SIGTERM/SIGINT are wired by the caller).
pub async fn run(opts: Options) -> anyhow::Result<()> {
    let _lock = InstanceLock::acquire(&opts.ledger_path)?;
    let ledger = Ledger::open(&opts.ledger_path)?;
    let ledger = Arc::new(Mutex::new(ledger));
    crate::fsutil::create_private_dir(&opts.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            opts.data_dir.display()
        )
    })?;

    let (tx, rx) = mpsc::channel::<Event>(64);
    let tracker = TaskTracker::new();
    let mut by_source: HashMap<String, Vec<Meeting>> = HashMap::new();

    for cal in &opts.config.calendars {
        let snap_path = snapshot::path(&opts.data_dir, &cal.name);
        match snapshot::load(&snap_path) {
            Ok(Some(s)) => {
                info!(source = %cal.name, meetings = s.meetings.len(), taken_at = %s.taken_at, "loaded the last snapshot");
                by_source.insert(cal.name.clone(), s.meetings);
            }
            Ok(None) => {}
            Err(e) => {
                warn!(source = %cal.name, path = %snap_path.display(), "ignoring an unreadable snapshot: {e}")
            }
        }
        let ctx = SourceContext::for_calendar(&opts.data_dir, cal)?;
        match source::build(ctx, cal, &opts.data_dir) {
            Ok(src) => {
                let task = PollTask {
                    source: src,
                    every: cal.poll,
                    lookback: opts.config.prompts.lookback,
                    clock: opts.clock.clone(),
                    tx: tx.clone(),
                    shutdown: opts.shutdown.clone(),
                    snapshot: snap_path,
                };
                tracker.spawn(task.run());
            }
            Err(e) => {
                error!(source = %cal.name, "cannot start this source: {e}");
                let _ = opts
                    .notifier
                    .tell("nextstep: a calendar cannot be read", &e.to_string())
                    .await;
            }
        }
    }

    let mut core = Core {
        opts: &opts,
        ledger,
        by_source,
        classified: Vec::new(),
        states: HashMap::new(),
        in_flight: HashSet::new(),
        tx: tx.clone(),
        tracker: tracker.clone(),
        gate: Arc::new(Semaphore::new(if opts.one_prompt_at_a_time {
            1
        } else {
            64
        })),
        data_version: 0,
    };
    core.reclassify()?;
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    info!(
        calendars = opts.config.calendars.len(),
        "nextstep is running"
    );
    drop(tx);

    let result = core.main_loop(rx).await;
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    info!("stopping");
    opts.shutdown.cancel();
    tracker.close();
    // Prompt tasks are waiting on the user; give pollers a moment to finish a write, then go.
    let _ = tokio::time::timeout(Duration::from_secs(5), tracker.wait()).await;
    result
}

struct Core<'a> {
    opts: &'a Options,
    ledger: Arc<Mutex<Ledger>>,
    by_source: HashMap<String, Vec<Meeting>>,
    classified: Vec<(Meeting, Verdict)>,
    states: HashMap<MeetingId, MeetingState>,
    in_flight: HashSet<String>,
    tx: mpsc::Sender<Event>,
    tracker: TaskTracker,
    gate: Arc<Semaphore>,
    data_version: i64,
}

fn lock(ledger: &Mutex<Ledger>) -> std::sync::MutexGuard<'_, Ledger> {
    // A panic while holding the lock cannot leave SQLite half-written (each call is one
    // transaction), so a poisoned lock is still safe to use.
    ledger.lock().unwrap_or_else(|p| p.into_inner())
}

impl Core<'_> {
    async fn main_loop(&mut self, mut rx: mpsc::Receiver<Event>) -> anyhow::Result<()> {
        loop {
            let now = self.opts.clock.now();
            self.refresh_if_ledger_changed()?;
            let plan = plan::plan(
                &self.classified,
                &self.states,
                now,
                &self.opts.config.prompts,
            );
            self.act(&plan, now)?;
            let next = plan
                .prompts
                .iter()
                .filter(|p| p.due > now && !self.in_flight.contains(&p.key()))
                .map(|p| p.due)
                .min();
            let wait = next
                .and_then(|due| (due - now).to_std().ok())
                .unwrap_or(MAX_SLEEP)
                .min(MAX_SLEEP);
            tokio::select! {
                _ = self.opts.shutdown.cancelled() => return Ok(()),
                ev = rx.recv() => match ev {
                    Some(ev) => self.handle(ev).await?,
                    None => tokio::time::sleep(wait).await,
                },
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Answers given through the CLI (another connection) must reach the plan without waiting
    /// for a poll; SQLite's data_version changes exactly when another connection committed.
    fn refresh_if_ledger_changed(&mut self) -> anyhow::Result<()> {
        let v = lock(&self.ledger).data_version()?;
        if v != self.data_version {
            self.data_version = v;
            self.reclassify()?;
        }
        Ok(())
    }

    async fn handle(&mut self, ev: Event) -> anyhow::Result<()> {
        match ev {
            Event::Polled { source, fetched } => {
                let now = self.opts.clock.now();
                let old = self.by_source.remove(&source).unwrap_or_default();
                let gone: Vec<MeetingId> = plan::gone(&old, &fetched.meetings)
                    .into_iter()
                    .filter(|id| old.iter().any(|m| &m.id == *id && m.start > now))
                    .cloned()
                    .collect();
                self.by_source.insert(source.clone(), fetched.meetings);
                if !gone.is_empty() {
                    self.record_gone(&gone, now)?;
                }
                if fetched.changed || !gone.is_empty() {
                    self.reclassify()?;
                }
                // The poll's parse buffers are free now; hand them back before going idle.
                crate::memory::release_free_pages();
            }
            Event::Stopped { source, message } => {
                error!(source = %source, "polling stopped: {message}");
                let _ = self
                    .opts
                    .notifier
                    .tell("nextstep: a calendar needs you", &message)
                    .await;
            }
            Event::Answered { key, meeting } => {
                self.in_flight.remove(&key);
                debug!(meeting = %meeting, "answer in; re-planning");
                // Not just this meeting: "not a sales meeting" on a recurring meeting covers
                // every occurrence of its series.
                self.reclassify()?;
            }
        }
        Ok(())
    }

    /// Meetings deleted from their calendar before they started: forget their prompts; one that
    /// had an objective gets the outcome `cancelled`.
    fn record_gone(&mut self, gone: &[MeetingId], now: DateTime<Utc>) -> anyhow::Result<()> {
        let mut ledger = lock(&self.ledger);
        for id in gone {
            let _span = info_span!("ledger_write", meeting = %id, what = "gone").entered();
            let had_objective = self
                .states
                .get(id)
                .is_some_and(|s| s.objective.is_some() && s.outcome.is_none());
            if had_objective {
                ledger.record_answer(
                    &format!("{id}#outcome#cancelled"),
                    id,
                    &Answer::Outcome {
                        result: Outcome::Cancelled,
                        next_step: None,
                        note: Some("removed from the calendar".into()),
                    },
                    Via::Daemon,
                    now,
                )?;
            }
            ledger.mark_gone(id, now)?;
            info!(meeting = %id, "meeting removed from its calendar");
        }
        Ok(())
    }

    /// Re-reads the ledger state of every known meeting, classifies, and remembers the customer
    /// meetings in the ledger (for export, reports and the CLI).
    fn reclassify(&mut self) -> anyhow::Result<()> {
        let ids: Vec<MeetingId> = self
            .by_source
            .values()
            .flatten()
            .map(|m| m.id.clone())
            .collect();
        self.states = lock(&self.ledger).states(&ids, self.opts.config.prompts.snooze)?;
        // A meeting the ledger knows nothing about needs no entry: `plan` reads a missing state
        // as the default one.
        let blank = MeetingState::default();
        self.states.retain(|_, s| *s != blank);
        self.reclassify_only();
        let now = self.opts.clock.now();
        let customers: Vec<(Meeting, Verdict)> = self
            .classified
            .iter()
            .filter(|(_, v)| v.customer)
            .cloned()
            .collect();
        let mut ledger = lock(&self.ledger);
        ledger.remember(&customers, now)?;
        self.data_version = ledger.data_version()?;
        drop(ledger);
        // first_seen comes from `remember`; read it back for the meetings just remembered.
        let ids: Vec<MeetingId> = customers.iter().map(|(m, _)| m.id.clone()).collect();
        self.refresh_states(&ids)
    }

    fn reclassify_only(&mut self) {
        let cfg = &self.opts.config;
        let mut classifier = Classifier::new(&cfg.identity, &cfg.classify, &cfg.accounts);
        let mut out: Vec<(Meeting, Verdict)> = Vec::with_capacity(self.classified.len());
        let all = classifier.classify_all(self.by_source.values().flatten(), &self.states);
        for (m, v) in all {
            // Only what `plan` can act on is kept (customer meetings, and cancelled ones that
            // had an objective): most of a big calendar is neither, and this copy is the
            // daemon's largest resident structure.
            let cancelled_with_objective = m.status == crate::model::MeetingStatus::Cancelled
                && self
                    .states
                    .get(&m.id)
                    .is_some_and(|s| s.objective.is_some());
            if v.customer || cancelled_with_objective {
                out.push((m.clone(), v));
            }
        }
        self.classified = out;
    }

    fn refresh_states(&mut self, ids: &[MeetingId]) -> anyhow::Result<()> {
        let fresh = lock(&self.ledger).states(ids, self.opts.config.prompts.snooze)?;
        self.states.extend(fresh);
        Ok(())
    }

    /// Records what the plan says happened, and shows every prompt that is due.
    fn act(&mut self, plan: &Plan, now: DateTime<Utc>) -> anyhow::Result<()> {
        let mut touched: Vec<MeetingId> = Vec::new();
        {
            let mut ledger = lock(&self.ledger);
            for id in &plan.missed {
                let _span =
                    info_span!("ledger_write", meeting = %id, what = "objective_missed").entered();
                ledger.record_answer(
                    &format!("{id}#objective#missed"),
                    id,
                    &Answer::ObjectiveMissed,
                    Via::Daemon,
                    now,
                )?;
                touched.push(id.clone());
            }
            for id in &plan.cancelled {
                let _span = info_span!("ledger_write", meeting = %id, what = "cancelled").entered();
                ledger.record_answer(
                    &format!("{id}#outcome#cancelled"),
                    id,
                    &Answer::Outcome {
                        result: Outcome::Cancelled,
                        next_step: None,
                        note: Some("cancelled in the calendar".into()),
                    },
                    Via::Daemon,
                    now,
                )?;
                touched.push(id.clone());
            }
        }
        for p in plan.prompts.iter().filter(|p| p.due <= now) {
            let key = p.key();
            if self.in_flight.contains(&key) {
                continue;
            }
            let fresh = {
                let _span = info_span!("ledger_write", prompt = %key, what = "shown").entered();
                lock(&self.ledger).record_shown(p, now)?
            };
            touched.push(p.meeting.clone());
            if !fresh {
                debug!(prompt = %key, "already shown before a restart; not showing again");
                continue;
            }
            let Some(view) = self.view(p) else { continue };
            // How late after its due time the prompt goes out (the target is under a second);
            // scripts/bench-latency.sh reads this.
            info!(prompt = %key, late_ms = (now - p.due).num_milliseconds(), "prompt due");
            self.in_flight.insert(key.clone());
            let task = PromptTask {
                prompt: p.clone(),
                view,
                notifier: self.opts.notifier.clone(),
                ledger: self.ledger.clone(),
                clock: self.opts.clock.clone(),
                tx: self.tx.clone(),
                gate: self.gate.clone(),
                retry_for: self.opts.config.prompts.timeout,
                shutdown: self.opts.shutdown.clone(),
            };
            let span = info_span!("prompt", key = %key, kind = %p.kind);
            self.tracker.spawn(task.run().instrument(span));
        }
        if !touched.is_empty() {
            self.refresh_states(&touched)?;
        }
        Ok(())
    }

    fn view(&self, p: &PlannedPrompt) -> Option<PromptView> {
        let (m, v) = self.classified.iter().find(|(m, _)| m.id == p.meeting)?;
        let state = self.states.get(&m.id);
        let prompts = &self.opts.config.prompts;
        let last_commitment = match (&p.kind, &v.account) {
            (PromptKind::Objective, Some(account)) => lock(&self.ledger)
                .last_commitment(account, m.start)
                .unwrap_or_else(|e| {
                    warn!("cannot read the last commitment: {e}");
                    None
                }),
            _ => None,
        };
        Some(PromptView {
            key: p.key(),
            kind: p.kind,
            meeting: m.id.clone(),
            title: m.title.clone(),
            start: m.start,
            end: m.end,
            tz: m.tz.clone(),
            account: v.account.clone(),
            objectives: prompts.objectives.clone(),
            quick: prompts.quick_objectives,
            last_commitment,
            objective: state
                .and_then(|s| s.objective.as_ref())
                .map(|o| o.text.clone()),
            recurring: m.recurring,
        })
    }
}

struct PromptTask {
    prompt: PlannedPrompt,
    view: PromptView,
    notifier: Arc<dyn Notifier>,
    ledger: Arc<Mutex<Ledger>>,
    clock: Arc<dyn Clock>,
    tx: mpsc::Sender<Event>,
    gate: Arc<Semaphore>,
    retry_for: Duration,
    shutdown: CancellationToken,
}

impl PromptTask {
    async fn run(self) {
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
            .send(Event::Answered {
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

struct PollTask {
    source: Box<dyn CalendarSource>,
    every: Duration,
    lookback: Duration,
    clock: Arc<dyn Clock>,
    tx: mpsc::Sender<Event>,
    shutdown: CancellationToken,
    snapshot: PathBuf,
}

impl PollTask {
    async fn run(mut self) {
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
                        .send(Event::Polled {
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
                        .send(Event::Stopped {
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

    #[test]
    fn the_window_reaches_back_at_least_a_day_and_forward_thirty() {
        let now = Utc::now();
        let w = window(now, Duration::from_secs(3600));
        assert_eq!(w.start, now - chrono::Duration::days(1));
        assert_eq!(w.end, now + chrono::Duration::days(30));
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
