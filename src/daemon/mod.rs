//! The daemon: one poll task per source (`poll`), one loop (the scheduler, here) that classifies,
//! plans and fires prompts, and one task per prompt on screen ([`prompt`]).
//! Everything it decides comes from `classify` and `plan` (pure); these files only move data
//! between the sources, the ledger and the notifier.
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
use crate::source::{self, Fetched, SourceContext, Window, snapshot};

mod poll;
mod prompt;

use poll::PollTask;
pub use poll::{PollNow, UNAUTHORIZED_RETRY, backoff, sleep_until_wall, wait_after};
use prompt::PromptTask;

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

    let mut scheduler = Scheduler {
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
    scheduler.reclassify()?;
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
    in_flight: HashSet<String>,
    tx: mpsc::Sender<LoopEvent>,
    tracker: TaskTracker,
    gate: Arc<Semaphore>,
    data_version: i64,
}

fn lock(ledger: &Mutex<Ledger>) -> std::sync::MutexGuard<'_, Ledger> {
    // A panic while holding the lock cannot leave SQLite half-written (each call is one
    // transaction), so a poisoned lock is still safe to use.
    ledger.lock().unwrap_or_else(|p| p.into_inner())
}

impl Scheduler<'_> {
    async fn main_loop(&mut self, mut rx: mpsc::Receiver<LoopEvent>) -> anyhow::Result<()> {
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
                    self.record_gone(&r.removed, now)?;
                }
                if fetched.changed || touched || !r.removed.is_empty() {
                    self.reclassify()?;
                }
                // The poll's parse buffers are free now; hand them back before going idle.
                crate::memory::release_free_pages();
            }
            LoopEvent::Stopped { source, message } => {
                error!(source = %source, "polling stopped: {message}");
                let _ = self
                    .opts
                    .notifier
                    .tell("nextstep: a calendar needs you", &message)
                    .await;
            }
            LoopEvent::Unauthorized { source, message } => {
                warn!(
                    source = %source,
                    "{message}; trying again every {} min or more (repeats are logged at DEBUG)",
                    UNAUTHORIZED_RETRY.as_secs() / 60
                );
                let _ = self
                    .opts
                    .notifier
                    .tell("nextstep: a calendar needs you", &message)
                    .await;
            }
            LoopEvent::Answered { key, meeting } => {
                self.in_flight.remove(&key);
                debug!(meeting = %meeting, "answer in; re-planning");
                // Not just this meeting: "not a sales meeting" on a recurring meeting covers
                // every occurrence of its series.
                self.reclassify()?;
            }
        }
        Ok(())
    }

    /// Meetings their source removed before they started (as [`plan::reconcile`] decides): forget
    /// their prompts; one that had an objective gets the outcome `cancelled`.
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
