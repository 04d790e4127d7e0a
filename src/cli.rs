//! The command line (DESIGN §4). One struct per command; its doc comment is its `--help`. Listing
//! commands print a table, or JSON with `--json`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::classify::Classifier;
use crate::clock::{Clock, SystemClock};
use crate::config::{CalendarConfig, Config};
use crate::ledger::{Ledger, LedgerRow};
use crate::model::{Answer, Meeting, MeetingId, Outcome, Verdict, Via};
use crate::source::{self, SourceContext, snapshot};
use crate::{daemon, paths};

/// Before every customer meeting, asks what you want the customer to commit to; after it, whether
/// they did. Keeps every answer in a local ledger.
#[derive(Debug, Parser)]
#[command(name = "nextstep", version, about, long_about = None)]
pub struct Cli {
    /// The config file (default: $XDG_CONFIG_HOME/nextstep/config.toml).
    #[arg(long, global = true, env = "NEXTSTEP_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Run(RunCmd),
    Demo(DemoCmd),
    Init(InitCmd),
    Check(CheckCmd),
    Upcoming(UpcomingCmd),
    Objective(ObjectiveCmd),
    Outcome(OutcomeCmd),
    Pending(PendingCmd),
    Report(ReportCmd),
    Export(ExportCmd),
    Auth(AuthCmd),
}

/// Runs the daemon in the foreground (what systemd and launchd start).
#[derive(Debug, Args)]
pub struct RunCmd {}

/// Runs the real daemon on a built-in local calendar holding a customer meeting a minute away; no
/// config or account needed. Uses a temporary ledger unless --ledger is given.
#[derive(Debug, Args)]
pub struct DemoCmd {
    /// Keep the demo's ledger here instead of in a temporary directory.
    #[arg(long, value_name = "PATH")]
    pub ledger: Option<PathBuf>,
    /// Seconds until the demo customer meeting starts.
    #[arg(long, default_value_t = 45, hide = true)]
    pub starts_in: u64,
    /// Length of the demo customer meeting in seconds.
    #[arg(long, default_value_t = 75, hide = true)]
    pub lasts: u64,
}

/// Writes a commented starter config (refuses to overwrite an existing one).
#[derive(Debug, Args)]
pub struct InitCmd {
    /// Print the starter config instead of writing it.
    #[arg(long)]
    pub print: bool,
}

/// Validates the config and reaches every calendar; one line per calendar; exit 1 if any fails.
#[derive(Debug, Args)]
pub struct CheckCmd {
    #[arg(long)]
    pub json: bool,
}

/// Lists coming meetings with their verdict and reason.
#[derive(Debug, Args)]
pub struct UpcomingCmd {
    /// How many days ahead.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Also list meetings that are not customer meetings.
    #[arg(long)]
    pub all: bool,
    #[arg(long)]
    pub json: bool,
}

/// Sets the commitment objective of a meeting (default: the next customer meeting without one).
#[derive(Debug, Args)]
pub struct ObjectiveCmd {
    /// The meeting's id (see `nextstep upcoming`).
    #[arg(long, value_name = "ID")]
    pub meeting: Option<String>,
    /// Pick objective N (1-based) from `prompts.objectives` instead of writing TEXT.
    #[arg(long, value_name = "N", conflicts_with = "text")]
    pub pick: Option<usize>,
    /// What you want the customer to commit to.
    #[arg(required_unless_present = "pick")]
    pub text: Option<String>,
}

/// Records the outcome of a meeting (default: the latest ended customer meeting without one).
/// RESULT is one of: committed, advanced, continuation, no_sale, no_show, rescheduled, cancelled.
#[derive(Debug, Args)]
pub struct OutcomeCmd {
    #[arg(long, value_name = "ID")]
    pub meeting: Option<String>,
    pub result: String,
    /// The next step they agreed to.
    #[arg(long, value_name = "TEXT")]
    pub next_step: Option<String>,
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
}

/// Lists prompts waiting for an answer.
#[derive(Debug, Args)]
pub struct PendingCmd {
    #[arg(long)]
    pub json: bool,
}

/// Objective-set rate, commitment rate and advance rate, by week and by account.
#[derive(Debug, Args)]
pub struct ReportCmd {
    /// Only meetings from this date on (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub since: Option<NaiveDate>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

/// Prints the whole ledger, one customer meeting per line (jsonl) or row (csv).
#[derive(Debug, Args)]
pub struct ExportCmd {
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub format: ExportFormat,
}

/// Signs in to a calendar service.
#[derive(Debug, Args)]
pub struct AuthCmd {
    #[command(subcommand)]
    pub service: AuthService,
}

#[derive(Debug, Subcommand)]
pub enum AuthService {
    /// OAuth sign-in for a Google calendar (opens the browser).
    Google(AuthGoogleCmd),
    /// Sign-in for a Microsoft 365 or Outlook.com calendar (a code to enter on any device).
    Microsoft(crate::source::microsoft::auth::AuthMicrosoftCmd),
}

#[derive(Debug, Args)]
pub struct AuthGoogleCmd {
    /// The [[calendars]] name (default: the only Google calendar).
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// Print the sign-in URL instead of opening a browser.
    #[arg(long)]
    pub no_browser: bool,
}

/// A failure whose exit code is not 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Runs a parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config_path = paths::config_file(cli.config.as_deref());
    match cli.command {
        Command::Init(cmd) => init(&config_path, cmd),
        Command::Demo(cmd) => crate::demo::run(cmd).await,
        Command::Run(_) => {
            let config = Config::load(&config_path)?;
            run_daemon(config).await
        }
        other => {
            let config = Config::load(&config_path)?;
            let env = Env::new(config);
            match other {
                Command::Check(cmd) => check(&env, cmd).await,
                Command::Upcoming(cmd) => upcoming(&env, cmd).await,
                Command::Objective(cmd) => objective(&env, cmd).await,
                Command::Outcome(cmd) => outcome(&env, cmd).await,
                Command::Pending(cmd) => pending(&env, cmd),
                Command::Report(cmd) => report(&env, cmd),
                Command::Export(cmd) => export(&env, cmd),
                Command::Auth(AuthCmd {
                    service: AuthService::Google(cmd),
                }) => auth_google(&env, cmd).await,
                Command::Auth(AuthCmd {
                    service: AuthService::Microsoft(cmd),
                }) => {
                    crate::fsutil::create_private_dir(&env.data_dir)?;
                    let opts = crate::auth::SignInOptions::new(env.data_dir.clone());
                    let out = &mut std::io::stdout();
                    let report = cmd.run(&env.config.calendars, opts, out).await?;
                    println!("{report}");
                    Ok(())
                }
                Command::Init(_) | Command::Demo(_) | Command::Run(_) => {
                    unreachable!("handled above")
                }
            }
        }
    }
}

/// Signals: SIGTERM (systemd, launchd) and SIGINT (Ctrl-C) both stop gracefully.
pub fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("cannot listen for SIGTERM: {e}");
                    let _ = tokio::signal::ctrl_c().await;
                    t.cancel();
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM"),
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT"),
        }
        t.cancel();
    });
    token
}

async fn run_daemon(config: Config) -> anyhow::Result<()> {
    let data_dir = paths::data_dir();
    let ledger_path = paths::ledger_file(&config, &data_dir);
    let (notifier, one_at_a_time) = crate::notify::pick(&config.prompts).await;
    daemon::run(daemon::Options {
        config,
        data_dir,
        ledger_path,
        clock: Arc::new(SystemClock),
        notifier,
        one_prompt_at_a_time: one_at_a_time,
        shutdown: shutdown_on_signals(),
    })
    .await
}

fn init(path: &Path, cmd: InitCmd) -> anyhow::Result<()> {
    if cmd.print {
        print!("{}", crate::config::EXAMPLE);
        return Ok(());
    }
    if path.exists() {
        bail!(
            "{} already exists; nextstep init never overwrites a config. Edit it, or move it aside and run init again",
            path.display()
        );
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(crate::config::EXAMPLE.as_bytes())?;
    println!("wrote {}", path.display());
    println!("next: set [identity] and one [[calendars]] entry, then run `nextstep check`");
    Ok(())
}

/// What the read-only commands share: the config, the data directory, the ledger path.
struct Env {
    config: Config,
    data_dir: PathBuf,
    ledger_path: PathBuf,
    clock: SystemClock,
}

impl Env {
    fn new(config: Config) -> Env {
        let data_dir = paths::data_dir();
        let ledger_path = paths::ledger_file(&config, &data_dir);
        Env {
            config,
            data_dir,
            ledger_path,
            clock: SystemClock,
        }
    }

    fn ledger(&self) -> anyhow::Result<Ledger> {
        Ok(Ledger::open(&self.ledger_path)?)
    }

    fn context(&self, cal: &CalendarConfig) -> anyhow::Result<SourceContext> {
        SourceContext::for_calendar(&self.data_dir, cal)
    }

    /// Polls one calendar now (bounded by twice its request timeout) and keeps the result as its
    /// snapshot; returns what came back and the source's description of itself.
    async fn poll_once(
        &self,
        cal: &CalendarConfig,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(crate::source::Fetched, String)> {
        let mut src = source::build(self.context(cal)?, cal, &self.data_dir)?;
        let window = daemon::window(now, self.config.prompts.lookback);
        let fetched = tokio::time::timeout(cal.timeout * 2, src.poll(window))
            .await
            .map_err(|_| {
                anyhow::anyhow!("{}: no answer within {:?}", cal.name, cal.timeout * 2)
            })??;
        let snap = snapshot::path(&self.data_dir, &cal.name);
        if let Err(e) = snapshot::save(&snap, &cal.name, now, &fetched.meetings) {
            eprintln!("warning: cannot save {}: {e}", snap.display());
        }
        Ok((fetched, src.describe()))
    }

    /// Every known meeting with its verdict: from each source's last snapshot, or, for a source
    /// the daemon has not polled yet, from one live poll.
    async fn meetings(&self, ledger: &Ledger) -> anyhow::Result<Vec<(Meeting, Verdict)>> {
        let now = self.clock.now();
        let mut all: Vec<Meeting> = Vec::new();
        for cal in &self.config.calendars {
            let snap = snapshot::path(&self.data_dir, &cal.name);
            match snapshot::load(&snap) {
                Ok(Some(s)) => all.extend(s.meetings),
                _ => match self.poll_once(cal, now).await {
                    Ok((f, _)) => all.extend(f.meetings),
                    Err(e) => eprintln!("warning: {e:#}"),
                },
            }
        }
        let ids: Vec<MeetingId> = all.iter().map(|m| m.id.clone()).collect();
        let states = ledger.states(&ids, self.config.prompts.snooze)?;
        let c = &self.config;
        let mut classifier = Classifier::new(&c.identity, &c.classify, &c.accounts);
        let mut out: Vec<(Meeting, Verdict)> = all
            .into_iter()
            .map(|m| {
                let ov = states.get(&m.id).and_then(|s| s.override_customer);
                let v = classifier.classify(&m, ov);
                (m, v)
            })
            .collect();
        out.sort_by(|a, b| a.0.start.cmp(&b.0.start).then(a.0.id.cmp(&b.0.id)));
        Ok(out)
    }
}

fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono::Local)
        .format("%a %Y-%m-%d %H:%M")
        .to_string()
}

#[derive(Debug, Serialize)]
struct CheckLine {
    name: String,
    kind: &'static str,
    ok: bool,
    detail: String,
}

async fn check(env: &Env, cmd: CheckCmd) -> anyhow::Result<()> {
    let now = env.clock.now();
    let mut lines = Vec::new();
    for cal in &env.config.calendars {
        let line = match check_one(env, cal, now).await {
            Ok(detail) => CheckLine {
                name: cal.name.clone(),
                kind: cal.kind.as_str(),
                ok: true,
                detail,
            },
            Err(e) => CheckLine {
                name: cal.name.clone(),
                kind: cal.kind.as_str(),
                ok: false,
                detail: format!("{e:#}"),
            },
        };
        lines.push(line);
    }
    let ledger_line = match env.ledger() {
        Ok(_) => CheckLine {
            name: "ledger".into(),
            kind: "sqlite",
            ok: true,
            detail: env.ledger_path.display().to_string(),
        },
        Err(e) => CheckLine {
            name: "ledger".into(),
            kind: "sqlite",
            ok: false,
            detail: format!("{e:#}"),
        },
    };
    lines.push(ledger_line);
    if cmd.json {
        print_json(&lines)?;
    } else {
        if let Some(p) = &env.config.path {
            println!("config  {}: valid", p.display());
        }
        if env.config.calendars.is_empty() {
            println!("warning: no [[calendars]] configured; add one (see `nextstep init --print`)");
        }
        for l in &lines {
            println!(
                "{} {} ({}): {}",
                if l.ok { "ok  " } else { "FAIL" },
                l.name,
                l.kind,
                l.detail
            );
        }
    }
    let failed = lines.iter().filter(|l| !l.ok).count();
    if failed > 0 {
        bail!("{failed} check(s) failed");
    }
    Ok(())
}

async fn check_one(env: &Env, cal: &CalendarConfig, now: DateTime<Utc>) -> anyhow::Result<String> {
    let (fetched, described) = env.poll_once(cal, now).await?;
    let c = &env.config;
    let mut classifier = Classifier::new(&c.identity, &c.classify, &c.accounts);
    let customers = fetched
        .meetings
        .iter()
        .filter(|m| m.start >= now && classifier.classify(m, None).customer)
        .count();
    let mut detail = format!(
        "{} meetings in the window, {} coming customer meetings",
        fetched.meetings.len(),
        customers
    );
    if !fetched.warnings.is_empty() {
        detail.push_str(&format!(
            ", {} skipped (see warnings below)",
            fetched.warnings.len()
        ));
    }
    if !described.is_empty() {
        detail.push_str("; ");
        detail.push_str(&described);
    }
    for w in &fetched.warnings {
        eprintln!("warning: {}: {w}", cal.name);
    }
    Ok(detail)
}

#[derive(Debug, Serialize)]
struct UpcomingItem {
    id: MeetingId,
    source: String,
    title: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    customer: bool,
    reason: String,
    account: Option<String>,
    customer_domains: Vec<String>,
    objective: Option<String>,
}

async fn upcoming(env: &Env, cmd: UpcomingCmd) -> anyhow::Result<()> {
    let ledger = env.ledger()?;
    let now = env.clock.now();
    let until = now + chrono::Duration::days(i64::from(cmd.days));
    let meetings = env.meetings(&ledger).await?;
    let ids: Vec<MeetingId> = meetings.iter().map(|(m, _)| m.id.clone()).collect();
    let states = ledger.states(&ids, env.config.prompts.snooze)?;
    let items: Vec<UpcomingItem> = meetings
        .into_iter()
        .filter(|(m, v)| m.end > now && m.start < until && (cmd.all || v.customer))
        .map(|(m, v)| UpcomingItem {
            objective: states
                .get(&m.id)
                .and_then(|s| s.objective.as_ref())
                .map(|o| o.text.clone()),
            id: m.id,
            source: m.source,
            title: m.title,
            start: m.start,
            end: m.end,
            customer: v.customer,
            reason: v.reason,
            account: v.account,
            customer_domains: v.customer_domains,
        })
        .collect();
    if cmd.json {
        return print_json(&items);
    }
    if items.is_empty() {
        println!(
            "no {}meetings in the next {} days",
            if cmd.all { "" } else { "customer " },
            cmd.days
        );
    }
    for i in &items {
        println!(
            "{}  {}  {}",
            local(i.start),
            if i.customer { "customer" } else { "-       " },
            i.title
        );
        println!("    id: {}", i.id);
        println!(
            "    why: {}{}",
            i.reason,
            i.account
                .as_ref()
                .map(|a| format!(" (account {a})"))
                .unwrap_or_default()
        );
        if let Some(o) = &i.objective {
            println!("    objective: {o}");
        }
    }
    Ok(())
}

/// Finds a meeting by id among the known meetings, then in the ledger.
fn find<'a>(meetings: &'a [(Meeting, Verdict)], id: &str) -> Option<&'a (Meeting, Verdict)> {
    meetings.iter().find(|(m, _)| m.id.as_str() == id)
}

/// A meeting known only to the ledger (it has left the calendar window), as a meeting again.
fn row_meeting(r: &LedgerRow) -> (Meeting, Verdict) {
    let m = Meeting {
        id: r.id.clone(),
        source: r.source.clone(),
        title: r.title.clone(),
        start: r.start,
        end: r.end,
        tz: r.tz.clone(),
        all_day: false,
        status: r.status,
        organizer: None,
        attendees: Default::default(),
        location: None,
        description: None,
        recurring: r.recurring,
    };
    let v = Verdict {
        customer: r.customer,
        reason: r.reason.clone(),
        account: r.account.clone(),
        customer_domains: r.customer_domains.clone(),
    };
    (m, v)
}

fn cli_key(meeting: &MeetingId, what: &str, now: DateTime<Utc>) -> String {
    format!(
        "{meeting}#{what}#cli#{}",
        now.timestamp_nanos_opt().unwrap_or_default()
    )
}

async fn objective(env: &Env, cmd: ObjectiveCmd) -> anyhow::Result<()> {
    let mut ledger = env.ledger()?;
    let now = env.clock.now();
    let text = match (cmd.pick, cmd.text) {
        (Some(n), _) => {
            let list = &env.config.prompts.objectives;
            match n.checked_sub(1).and_then(|i| list.get(i)) {
                Some(t) => t.clone(),
                None => {
                    return Err(UsageError(format!(
                        "--pick {n}: choose 1 to {} from prompts.objectives:\n{}",
                        list.len(),
                        list.iter()
                            .enumerate()
                            .map(|(i, o)| format!("  {}. {o}", i + 1))
                            .collect::<Vec<_>>()
                            .join("\n")
                    ))
                    .into());
                }
            }
        }
        (None, Some(t)) if !t.trim().is_empty() => t.trim().to_string(),
        _ => return Err(UsageError("write the objective, or pass --pick N".into()).into()),
    };
    let meetings = env.meetings(&ledger).await?;
    let ids: Vec<MeetingId> = meetings.iter().map(|(m, _)| m.id.clone()).collect();
    let states = ledger.states(&ids, env.config.prompts.snooze)?;
    let target = match &cmd.meeting {
        Some(id) => find(&meetings, id).cloned().or_else(|| {
            ledger
                .find(&MeetingId(id.clone()))
                .ok()
                .flatten()
                .map(|row| row_meeting(&row))
        }),
        None => meetings
            .iter()
            .find(|(m, v)| {
                v.customer
                    && m.start > now
                    && states.get(&m.id).is_none_or(|s| s.objective.is_none())
            })
            .cloned(),
    };
    let Some((m, v)) = target else {
        return Err(UsageError(match cmd.meeting {
            Some(id) => format!("no meeting with id `{id}`; see `nextstep upcoming --all`"),
            None => "no coming customer meeting without an objective; pass --meeting ID (see `nextstep upcoming`)".into(),
        })
        .into());
    };
    ledger.remember(&[(m.clone(), v)], now)?;
    ledger.record_answer(
        &cli_key(&m.id, "objective", now),
        &m.id,
        &Answer::Objective { text: text.clone() },
        Via::Cli,
        now,
    )?;
    println!("objective for \"{}\" ({}): {text}", m.title, local(m.start));
    Ok(())
}

async fn outcome(env: &Env, cmd: OutcomeCmd) -> anyhow::Result<()> {
    let result: Outcome = cmd.result.parse().map_err(UsageError)?;
    let mut ledger = env.ledger()?;
    let now = env.clock.now();
    let meetings = env.meetings(&ledger).await?;
    let target: Option<(Meeting, Verdict)> = match &cmd.meeting {
        Some(id) => find(&meetings, id).cloned().or_else(|| {
            ledger
                .find(&MeetingId(id.clone()))
                .ok()
                .flatten()
                .map(|row| row_meeting(&row))
        }),
        None => {
            // The latest ended customer meeting without an outcome, from the ledger (which keeps
            // meetings that have left the calendar window) and the calendars.
            let rows = ledger.customer_meetings(Some(now - chrono::Duration::days(30)))?;
            let mut candidates: Vec<(Meeting, Verdict)> = rows
                .into_iter()
                .filter(|r| r.outcome.is_none() && r.end <= now && r.gone_at.is_none())
                .map(|r| row_meeting(&r))
                .collect();
            for (m, v) in &meetings {
                if v.customer && m.end <= now && !candidates.iter().any(|(c, _)| c.id == m.id) {
                    let has = ledger.find(&m.id)?.is_some_and(|r| r.outcome.is_some());
                    if !has {
                        candidates.push((m.clone(), v.clone()));
                    }
                }
            }
            candidates.into_iter().max_by_key(|(m, _)| m.end)
        }
    };
    let Some((m, v)) = target else {
        return Err(UsageError(match cmd.meeting {
            Some(id) => {
                format!("no meeting with id `{id}`; see `nextstep export` or `nextstep pending`")
            }
            None => "no ended customer meeting without an outcome; pass --meeting ID".into(),
        })
        .into());
    };
    ledger.remember(&[(m.clone(), v)], now)?;
    let answer = Answer::Outcome {
        result,
        next_step: cmd.next_step.filter(|s| !s.trim().is_empty()),
        note: cmd.note.filter(|s| !s.trim().is_empty()),
    };
    ledger.record_answer(
        &cli_key(&m.id, "outcome", now),
        &m.id,
        &answer,
        Via::Cli,
        now,
    )?;
    println!("outcome for \"{}\" ({}): {result}", m.title, local(m.start));
    Ok(())
}

fn pending(env: &Env, cmd: PendingCmd) -> anyhow::Result<()> {
    let ledger = env.ledger()?;
    let items = ledger.pending(env.clock.now())?;
    if cmd.json {
        return print_json(&items);
    }
    if items.is_empty() {
        println!("nothing pending");
    }
    for i in &items {
        let what = match i.kind {
            crate::model::PromptKind::Objective => "objective not set",
            crate::model::PromptKind::Outcome => "outcome not recorded",
        };
        println!("{}  {what:<20}  {}", local(i.start), i.title);
        println!(
            "    id: {}{}",
            i.meeting,
            i.account
                .as_ref()
                .map(|a| format!("  account: {a}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

fn report(env: &Env, cmd: ReportCmd) -> anyhow::Result<()> {
    let ledger = env.ledger()?;
    let since = cmd
        .since
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc());
    let rows = ledger.customer_meetings(since)?;
    let report = crate::report::build(&rows, since, env.clock.now());
    if cmd.json {
        return print_json(&report);
    }
    print!("{report}");
    Ok(())
}

fn export(env: &Env, cmd: ExportCmd) -> anyhow::Result<()> {
    let ledger = env.ledger()?;
    let rows: Vec<LedgerRow> = ledger.customer_meetings(None)?;
    let text = match cmd.format {
        ExportFormat::Jsonl => crate::export::to_jsonl(&rows),
        ExportFormat::Csv => crate::export::to_csv(&rows),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

async fn auth_google(env: &Env, cmd: AuthGoogleCmd) -> anyhow::Result<()> {
    let googles: Vec<&CalendarConfig> = env
        .config
        .calendars
        .iter()
        .filter(|c| matches!(c.kind, crate::config::CalendarKind::Google(_)))
        .collect();
    let cal = match (&cmd.source, googles.as_slice()) {
        (Some(name), _) => googles
            .iter()
            .find(|c| &c.name == name)
            .copied()
            .ok_or_else(|| {
                UsageError(format!(
                    "no [[calendars]] entry named `{name}` with kind = \"google\""
                ))
            })?,
        (None, [one]) => *one,
        (None, []) => {
            return Err(UsageError(
                "no [[calendars]] entry with kind = \"google\" in the config".into(),
            )
            .into());
        }
        (None, _) => {
            return Err(UsageError(format!(
                "several Google calendars are configured; pass --source with one of: {}",
                googles
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into());
        }
    };
    crate::fsutil::create_private_dir(&env.data_dir)?;
    let mut out = std::io::stdout();
    let mut opts = crate::auth::SignInOptions::new(env.data_dir.clone());
    opts.no_browser = cmd.no_browser;
    let report = crate::auth::google_sign_in(cal, opts, &mut out).await?;
    println!("{report}");
    Ok(())
}
