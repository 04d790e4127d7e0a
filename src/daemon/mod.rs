//! The daemon: one poll task per source (`poll`), one loop (the scheduler, here) that classifies,
//! plans and fires prompts, and one task per prompt on screen (`prompt`).
//! Everything it decides comes from `classify` and `plan` (pure); these files only move data
//! between the sources, the ledger and the notifier.
//!
//! Time: deadlines are wall-clock instants read from [`Clock`], and every sleep is at most
//! [`MAX_SLEEP`], because tokio's timers run on the monotonic clock, which stops while a laptop
//! sleeps. After a suspend or a clock change the loop notices within `MAX_SLEEP`.
//!
//! Durability: a prompt is recorded as shown before it is shown, and an answer is recorded by the
//! prompt's own task the moment it arrives, under a unique key, so a restart neither loses nor
//! duplicates an answer. A prompt that was on screen when the daemon stopped or died (shown,
//! neither answered nor dismissed by the person) is shown again at the next start while it is
//! still worth asking (`plan::reopen`); its old notification is closed first.
//!
//! First answer stands (docs/design.md, "Answers and their keys"): when the ledger says a
//! question whose prompt is on screen was answered elsewhere (the CLI, another notifier; seen
//! through SQLite's `data_version`, checked every second while a prompt is out), the prompt is
//! withdrawn ([`Showing::withdraw`]) and its task ends without writing.
//!
//! The ledger is SQLite with fsync: all its work, reads and writes (a meeting marked gone
//! included), runs on tokio's blocking threads (`blocking`), never on the runtime's one thread,
//! and a failed ledger call is logged and retried with backoff by the loop instead of stopping
//! the daemon.

use std::collections::HashMap;
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
use crate::notify::{Notifier, PromptView, Showing};
use crate::plan::{self, Plan};
use crate::source::{self, Fetched, SourceContext, Window, snapshot};

mod digest;
mod poll;
mod prompt;

use poll::PollTask;
pub use poll::{PollNow, UNAUTHORIZED_RETRY, backoff, sleep_until_wall, wait_after};
use prompt::PromptTask;

/// The longest the daemon sleeps before looking at the wall clock again.
pub const MAX_SLEEP: Duration = Duration::from_secs(30);

/// How often the loop looks for answers given elsewhere while a prompt is on screen.
const ANSWERED_ELSEWHERE_CHECK: Duration = Duration::from_secs(1);

/// How long the loop waits after a failed ledger call before it tries again; doubled after each
/// failure in a row, up to [`LEDGER_RETRY_MAX`].
const LEDGER_RETRY: Duration = Duration::from_secs(2);
const LEDGER_RETRY_MAX: Duration = Duration::from_secs(60);

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
    // Checked: the ends of time are the window's limits, not a panic.
    Window {
        start: now
            .checked_sub_signed(back)
            .unwrap_or(DateTime::<Utc>::MIN_UTC),
        end: now
            .checked_add_signed(chrono::Duration::days(HORIZON_DAYS))
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
    }
}

/// Records the outcome `cancelled` for a meeting that had an objective and will not take place,
/// with `why` as its note. Under one key per meeting, so a second call (a restart) is a retry.
fn record_cancelled(
    ledger: &mut Ledger,
    id: &MeetingId,
    why: &str,
    now: DateTime<Utc>,
) -> Result<bool, crate::ledger::LedgerError> {
    ledger.record_answer(
        &format!("{id}#outcome#cancelled"),
        id,
        &Answer::Outcome {
            result: Outcome::Cancelled,
            next_step: None,
            note: Some(why.into()),
            due: None,
        },
        Via::Daemon,
        now,
    )
}

/// What the poll and prompt tasks tell the scheduler. `Unauthorized` comes once per streak of
/// refused credentials; the source keeps trying slowly.
enum LoopEvent {
    Polled { source: String, fetched: Fetched },
    Stopped { source: String, message: String },
    Unauthorized { source: String, message: String },
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

    let (tx, rx) = mpsc::channel::<LoopEvent>(64);
    let tracker = TaskTracker::new();
    // SIGHUP (or `check`) calls `poll_now.now()` to end every poll task's wait.
    let poll_now = PollNow::default();
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
                    config: snapshot::fingerprint(cal, opts.config.prompts.lookback),
                    poll_now: poll_now.subscribe(),
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

    crate::web::spawn_for_daemon(
        &opts.config,
        &opts.data_dir,
        &opts.ledger_path,
        opts.clock.clone(),
        opts.shutdown.clone(),
        &tracker,
        opts.notifier.page().cloned(),
    );

    if opts.config.digest.enabled {
        let task = digest::DigestTask {
            when: opts.config.digest.when,
            ladder: opts.config.prompts.objectives.clone(),
            ledger: ledger.clone(),
            notifier: opts.notifier.clone(),
            clock: opts.clock.clone(),
            data_dir: opts.data_dir.clone(),
            shutdown: opts.shutdown.clone(),
        };
        tracker.spawn(task.run().instrument(info_span!("digest")));
    }

    let mut scheduler = Scheduler {
        opts: &opts,
        ledger,
        by_source,
        classified: Vec::new(),
        states: HashMap::new(),
        in_flight: HashMap::new(),
        left_open: Vec::new(),
        tx: tx.clone(),
        tracker: tracker.clone(),
        // Prompts beyond the limit wait for a permit; tokio's semaphore is fair, so they go out
        // in the order they were due.
        gate: Arc::new(Semaphore::new(if opts.one_prompt_at_a_time {
            1
        } else {
            opts.config.prompts.on_screen.max(1)
        })),
        data_version: 0,
    };
    // A ledger that fails now (locked by a long CLI transaction, say) is retried by the loop.
    if let Err(e) = scheduler.reclassify().await {
        error!("{e:#}; trying again shortly");
    }
    scheduler.reopen_left_open().await;
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    info!(
        calendars = opts.config.calendars.len(),
        "nextstep is running"
    );
    drop(tx);

    let result = scheduler.main_loop(rx).await;
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    info!("stopping");
    opts.shutdown.cancel();
    tracker.close();
    // Prompt tasks are waiting on the user; give pollers a moment to finish a write, then go.
    let _ = tokio::time::timeout(Duration::from_secs(5), tracker.wait()).await;
    result
}

struct Scheduler<'a> {
    opts: &'a Options,
    ledger: Arc<Mutex<Ledger>>,
    by_source: HashMap<String, Vec<Meeting>>,
    classified: Vec<(Meeting, Verdict)>,
    states: HashMap<MeetingId, MeetingState>,
    /// Prompts on screen (or waiting for their turn), by key.
    in_flight: HashMap<String, InFlight>,
    /// Prompts an earlier process left on screen unanswered, to show again once their meeting is
    /// known (from the snapshot or the first poll) and while still worth asking (`plan::reopen`).
    left_open: Vec<PlannedPrompt>,
    tx: mpsc::Sender<LoopEvent>,
    tracker: TaskTracker,
    gate: Arc<Semaphore>,
    data_version: i64,
}

/// A prompt task's handle in the scheduler: what it asks, and how to withdraw it.
struct InFlight {
    meeting: MeetingId,
    kind: PromptKind,
    showing: Showing,
}

fn lock(ledger: &Mutex<Ledger>) -> std::sync::MutexGuard<'_, Ledger> {
    // A panic while holding the lock cannot leave SQLite half-written (each call is one
    // transaction), so a poisoned lock is still safe to use.
    ledger.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `f` on the ledger on one of tokio's blocking threads: SQLite with `synchronous=FULL`
/// waits for the disk, and for up to its busy timeout when the CLI holds the write lock, which
/// must never stall the runtime's one thread (timers, D-Bus, signals).
async fn blocking<T: Send + 'static>(
    ledger: &Arc<Mutex<Ledger>>,
    f: impl FnOnce(&mut Ledger) -> Result<T, crate::ledger::LedgerError> + Send + 'static,
) -> anyhow::Result<T> {
    let ledger = ledger.clone();
    match tokio::task::spawn_blocking(move || f(&mut lock(&ledger))).await {
        Ok(r) => Ok(r?),
        Err(e) => Err(anyhow::anyhow!("the ledger call did not finish: {e}")),
    }
}

impl Scheduler<'_> {
    async fn main_loop(&mut self, mut rx: mpsc::Receiver<LoopEvent>) -> anyhow::Result<()> {
        // Ledger failures in a row, for the backoff.
        let mut failures: u32 = 0;
        loop {
            let now = self.opts.clock.now();
            // A ledger that fails (disk full, locked, gone) does not stop the daemon: prompts on
            // screen keep their answers in memory and retry, and the loop tries again shortly.
            let mut wait = match self.turn(now).await {
                Ok(wait) => {
                    if failures > 0 {
                        info!(failures, "the ledger works again");
                    }
                    failures = 0;
                    wait
                }
                Err(e) => {
                    let retry = LEDGER_RETRY
                        .saturating_mul(1 << failures.min(5))
                        .min(LEDGER_RETRY_MAX);
                    failures += 1;
                    error!(failures, "{e:#}; trying again in {}s", retry.as_secs());
                    retry
                }
            };
            if !self.in_flight.is_empty() {
                wait = wait.min(ANSWERED_ELSEWHERE_CHECK);
            }
            tokio::select! {
                _ = self.opts.shutdown.cancelled() => return Ok(()),
                ev = rx.recv() => match ev {
                    Some(ev) => {
                        if let Err(e) = self.handle(ev).await {
                            error!("{e:#}; carrying on");
                        }
                    }
                    None => tokio::time::sleep(wait).await,
                },
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// One turn of the loop: picks up answers given elsewhere, plans, acts; returns how long to
    /// sleep before the next turn.
    async fn turn(&mut self, now: DateTime<Utc>) -> anyhow::Result<Duration> {
        self.refresh_if_ledger_changed().await?;
        let plan = plan::plan(
            &self.classified,
            &self.states,
            now,
            &self.opts.config.prompts,
        );
        self.act(&plan, now).await?;
        crate::service::watchdog::tick(&plan, &self.classified, &self.by_source, now);
        let next = plan
            .prompts
            .iter()
            .filter(|p| p.due > now && !self.in_flight.contains_key(&p.key()))
            .map(|p| p.due)
            .min();
        Ok(next
            .and_then(|due| (due - now).to_std().ok())
            .unwrap_or(MAX_SLEEP)
            .min(MAX_SLEEP))
    }

    /// Prompts left on screen by an earlier process: their notifications are closed, and the
    /// ones still worth asking are shown again (see `plan::reopen`). A failure here costs only
    /// the re-showing, never the start.
    async fn reopen_left_open(&mut self) {
        let open = match blocking(&self.ledger, |l| l.open_prompts()).await {
            Ok(open) => open,
            Err(e) => {
                warn!("cannot list the prompts left open: {e:#}");
                return;
            }
        };
        for p in &open {
            if let Some(id) = &p.notification_id {
                self.opts.notifier.close_stale(id).await;
            }
        }
        self.left_open = open
            .iter()
            .map(|p| PlannedPrompt {
                due: p.shown_at,
                meeting: p.meeting.clone(),
                kind: p.kind,
                attempt: p.attempt,
            })
            .collect();
        if !open.is_empty() {
            info!(
                left_open = open.len(),
                "prompts left unanswered by the last run; asking again those still relevant"
            );
        }
    }

    /// Withdraws every prompt on screen whose question the ledger now has an answer to (or whose
    /// meeting is still in its calendar but no longer a customer meeting), saying who answered
    /// and when.
    fn withdraw_answered(&mut self) {
        for (key, f) in &self.in_flight {
            if f.showing.is_withdrawn() {
                continue;
            }
            let state = self.states.get(&f.meeting);
            let answered = match f.kind {
                PromptKind::Objective => state
                    .and_then(|s| s.objective.as_ref())
                    .map(|o| (o.via, o.set_at)),
                PromptKind::Outcome => state
                    .and_then(|s| s.outcome.as_ref())
                    .map(|o| (o.via, o.recorded_at)),
            };
            let why = match answered {
                Some((via, at)) => format!(
                    "via {} at {}",
                    via.as_str(),
                    at.with_timezone(&chrono::Local).format("%H:%M")
                ),
                // Still in its calendar but no longer a customer meeting ("not a sales meeting"
                // answered elsewhere, for it or its series). A meeting missing from a poll is
                // left alone: the poll may have been partial.
                None if self.by_source.values().flatten().any(|m| m.id == f.meeting)
                    && !self
                        .classified
                        .iter()
                        .any(|(m, v)| m.id == f.meeting && v.customer) =>
                {
                    "it is no longer a customer meeting".to_string()
                }
                None => continue,
            };
            info!(prompt = %key, answered = %why, "withdrawing a prompt answered elsewhere");
            f.showing.withdraw(why);
        }
    }

    /// Answers given through the CLI (another connection) must reach the plan without waiting
    /// for a poll; SQLite's data_version changes exactly when another connection committed.
    async fn refresh_if_ledger_changed(&mut self) -> anyhow::Result<()> {
        let v = blocking(&self.ledger, |l| l.data_version()).await?;
        if v != self.data_version {
            self.data_version = v;
            self.reclassify().await?;
        }
        Ok(())
    }

    async fn handle(&mut self, ev: LoopEvent) -> anyhow::Result<()> {
        match ev {
            LoopEvent::Polled { source, fetched } => {
                let now = self.opts.clock.now();
                let old = self.by_source.remove(&source).unwrap_or_default();
                let window = window(now, self.opts.config.prompts.lookback);
                let r = plan::reconcile(
                    &old,
                    &fetched.meetings,
                    fetched.complete,
                    &fetched.series,
                    &fetched.removed,
                    window,
                    now,
                );
                if !r.kept.is_empty() {
                    debug!(
                        source = %source,
                        kept = r.kept.len(),
                        "not in this poll, but not known to be gone; keeping them"
                    );
                }
                let mut meetings = fetched.meetings;
                // Kept meetings were held before: only a drop or a removal changes the set.
                let touched = !r.dropped.is_empty();
                meetings.extend(r.kept);
                self.by_source.insert(source.clone(), meetings);
                if !r.removed.is_empty() {
                    self.record_gone(&r.removed, now).await?;
                }
                if fetched.changed || touched || !r.removed.is_empty() {
                    self.reclassify().await?;
                }
                // The poll's parse buffers are free now; hand them back before going idle.
                crate::memory::release_free_pages();
            }
            LoopEvent::Stopped { source, message } => {
                error!(source = %source, "polling stopped: {message}");
                self.calendar_needs_you(&message).await;
            }
            LoopEvent::Unauthorized { source, message } => {
                warn!(
                    source = %source,
                    "{message}; trying again every {} min or more (repeats are logged at DEBUG)",
                    UNAUTHORIZED_RETRY.as_secs() / 60
                );
                self.calendar_needs_you(&message).await;
            }
            LoopEvent::Answered { key, meeting } => {
                self.in_flight.remove(&key);
                debug!(meeting = %meeting, "answer in; re-planning");
                // Not just this meeting: "not a sales meeting" on a recurring meeting covers
                // every occurrence of its series.
                self.reclassify().await?;
            }
        }
        Ok(())
    }

    /// Meetings their source removed before they started (as [`plan::reconcile`] decides): forget
    /// their prompts; one that had an objective gets the outcome `cancelled`. The writes run on a
    /// blocking thread like every other ledger call; which meetings had an objective is read from
    /// the states in memory first.
    async fn record_gone(&self, gone: &[MeetingId], now: DateTime<Utc>) -> anyhow::Result<()> {
        let gone: Vec<(MeetingId, bool)> = gone
            .iter()
            .map(|id| {
                let had_objective = self
                    .states
                    .get(id)
                    .is_some_and(|s| s.objective.is_some() && s.outcome.is_none());
                (id.clone(), had_objective)
            })
            .collect();
        blocking(&self.ledger, move |ledger| {
            for (id, had_objective) in &gone {
                let _span = info_span!("ledger_write", meeting = %id, what = "gone").entered();
                if *had_objective {
                    record_cancelled(ledger, id, "removed from the calendar", now)?;
                }
                ledger.mark_gone(id, now)?;
                info!(meeting = %id, "meeting removed from its calendar");
            }
            Ok(())
        })
        .await
    }

    /// Re-reads the ledger state of every known meeting, classifies, and remembers the customer
    /// meetings in the ledger (for export, reports and the CLI).
    async fn reclassify(&mut self) -> anyhow::Result<()> {
        let ids: Vec<MeetingId> = self
            .by_source
            .values()
            .flatten()
            .map(|m| m.id.clone())
            .collect();
        let snooze = self.opts.config.prompts.snooze;
        self.states = blocking(&self.ledger, move |l| l.states(&ids, snooze)).await?;
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
        // first_seen comes from `remember`; read it back for the meetings just remembered.
        let ids: Vec<MeetingId> = customers.iter().map(|(m, _)| m.id.clone()).collect();
        self.data_version = blocking(&self.ledger, move |l| {
            l.remember(&customers, now)?;
            l.data_version()
        })
        .await?;
        self.refresh_states(ids).await?;
        self.withdraw_answered();
        Ok(())
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

    /// Tells the person a calendar stopped or refused its credentials; the log already says
    /// which, and a notifier that cannot show it changes nothing.
    async fn calendar_needs_you(&self, message: &str) {
        let _ = self
            .opts
            .notifier
            .tell("nextstep: a calendar needs you", message)
            .await;
    }

    async fn refresh_states(&mut self, ids: Vec<MeetingId>) -> anyhow::Result<()> {
        let snooze = self.opts.config.prompts.snooze;
        let fresh = blocking(&self.ledger, move |l| l.states(&ids, snooze)).await?;
        self.states.extend(fresh);
        Ok(())
    }

    /// Records what the plan says happened, and shows every prompt that is due.
    async fn act(&mut self, plan: &Plan, now: DateTime<Utc>) -> anyhow::Result<()> {
        let mut touched: Vec<MeetingId> = Vec::new();
        if !plan.missed.is_empty() || !plan.cancelled.is_empty() {
            let (missed, cancelled) = (plan.missed.clone(), plan.cancelled.clone());
            blocking(&self.ledger, move |ledger| {
                for id in &missed {
                    let _span =
                        info_span!("ledger_write", meeting = %id, what = "objective_missed")
                            .entered();
                    ledger.record_answer(
                        &format!("{id}#objective#missed"),
                        id,
                        &Answer::ObjectiveMissed,
                        Via::Daemon,
                        now,
                    )?;
                }
                for id in &cancelled {
                    let _span =
                        info_span!("ledger_write", meeting = %id, what = "cancelled").entered();
                    record_cancelled(ledger, id, "cancelled in the calendar", now)?;
                }
                Ok(())
            })
            .await?;
            touched.extend(plan.missed.iter().cloned());
            touched.extend(plan.cancelled.iter().cloned());
        }
        // Prompts left open by the last run go first (they were due before anything planned
        // now); a planned prompt for the same question supersedes one.
        let reopen = if self.left_open.is_empty() {
            Vec::new()
        } else {
            let reopen = plan::reopen(
                &self.left_open,
                &self.classified,
                &self.states,
                now,
                &self.opts.config.prompts,
            );
            // Asked again (or no longer worth asking) once its meeting is known; a meeting not
            // known yet may come with the first poll.
            let known = |p: &PlannedPrompt| self.classified.iter().any(|(m, _)| m.id == p.meeting);
            self.left_open.retain(|p| !known(p));
            reopen
        };
        let due_now: Vec<(PlannedPrompt, bool)> = plan
            .prompts
            .iter()
            .filter(|p| p.due <= now)
            .map(|p| (p.clone(), false))
            .collect();
        let mut firing: Vec<(PlannedPrompt, bool)> = reopen
            .into_iter()
            .filter(|r| {
                !due_now
                    .iter()
                    .any(|(p, _)| p.meeting == r.meeting && p.kind == r.kind)
            })
            .map(|p| (p, true))
            .collect();
        firing.extend(due_now);
        for (p, reopened) in firing {
            let key = p.key();
            if self.in_flight.contains_key(&key) {
                continue;
            }
            if !reopened {
                let shown = p.clone();
                let fresh = blocking(&self.ledger, move |l| {
                    let _span =
                        info_span!("ledger_write", prompt = %shown.key(), what = "shown").entered();
                    l.record_shown(&shown, now)
                })
                .await?;
                touched.push(p.meeting.clone());
                if !fresh {
                    debug!(prompt = %key, "already shown before a restart; not showing again");
                    continue;
                }
            }
            let Some(view) = self.view(&p).await else {
                continue;
            };
            // How late after its due time the prompt goes out (the target is under a second);
            // scripts/bench-latency.sh reads this.
            info!(prompt = %key, late_ms = (now - p.due).num_milliseconds(), reopened, "prompt due");
            let showing = Showing::new();
            self.in_flight.insert(
                key.clone(),
                InFlight {
                    meeting: p.meeting.clone(),
                    kind: p.kind,
                    showing: showing.clone(),
                },
            );
            let span = info_span!("prompt", key = %key, kind = %p.kind);
            let task = PromptTask {
                prompt: p,
                view,
                notifier: self.opts.notifier.clone(),
                ledger: self.ledger.clone(),
                clock: self.opts.clock.clone(),
                tx: self.tx.clone(),
                gate: self.gate.clone(),
                retry_for: self.opts.config.prompts.timeout,
                shutdown: self.opts.shutdown.clone(),
                showing,
            };
            self.tracker.spawn(task.run().instrument(span));
        }
        if !touched.is_empty() {
            self.refresh_states(touched).await?;
        }
        Ok(())
    }

    async fn view(&self, p: &PlannedPrompt) -> Option<PromptView> {
        let (m, v) = self.classified.iter().find(|(m, _)| m.id == p.meeting)?;
        let state = self.states.get(&m.id);
        let prompts = &self.opts.config.prompts;
        let last_commitment = match (&p.kind, &v.account) {
            (PromptKind::Objective, Some(account)) => {
                let (account, start) = (account.clone(), m.start);
                blocking(&self.ledger, move |l| l.last_commitment(&account, start))
                    .await
                    .unwrap_or_else(|e| {
                        warn!("cannot read the last commitment: {e:#}");
                        None
                    })
            }
            _ => None,
        };
        let suggestion = match (&p.kind, &v.account) {
            (PromptKind::Objective, Some(account)) if prompts.ladder => {
                let (account, start) = (account.clone(), m.start);
                let ladder = prompts.objectives.clone();
                blocking(&self.ledger, move |l| {
                    Ok(crate::coach::suggest(
                        &ladder,
                        &l.customer_meetings_of_account(&account)?,
                        start,
                    ))
                })
                .await
                .unwrap_or_else(|e| {
                    warn!("cannot read the account's history for a suggestion: {e:#}");
                    None
                })
            }
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
            suggestion,
            objective: state
                .and_then(|s| s.objective.as_ref())
                .map(|o| o.text.clone()),
            recurring: m.recurring,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_reaches_back_at_least_a_day_and_forward_thirty() {
        let now = Utc::now();
        let w = window(now, Duration::from_secs(3600));
        assert_eq!(w.start, now - chrono::Duration::days(1));
        assert_eq!(w.end, now + chrono::Duration::days(30));
    }
}
