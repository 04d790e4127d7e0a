//! `nextstep service install | uninstall | status`: nextstep as a service of the login session
//! (a systemd user unit on Linux, a launchd agent on macOS). The steps and the status come from
//! `crate::service`; this file picks the platform, prints warnings, and says what was done.

use std::fmt;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::clock::{Clock, SystemClock};
use crate::paths;
use crate::service::{self, Done, Host, Platform, Step, status};

/// Installs, removes or inspects nextstep as a service of your login session: a systemd user unit
/// on Linux, a launchd agent on macOS. It runs this very binary, with `--config` when you gave one.
#[derive(Debug, Args)]
pub struct ServiceCmd {
    #[command(subcommand)]
    pub action: ServiceAction,
    /// The service manager to speak to; default: this system's. (For tests of the other one.)
    #[arg(long, global = true, hide = true, value_enum)]
    pub platform: Option<Platform>,
}

#[derive(Debug, Subcommand)]
pub enum ServiceAction {
    /// Writes the service definition for this binary, then enables and starts it.
    Install {
        /// Print what would be written and run, and do nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Stops and disables the service and removes its definition (logs and ledger stay).
    Uninstall {
        /// Print what would be removed and run, and do nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Whether it is installed and running, its last error, the config in use, each calendar's
    /// last poll, the prompts waiting and the next prompt due.
    Status {
        #[arg(long)]
        json: bool,
    },
}

/// What `install` or `uninstall` did (or, with `--dry-run`, would do).
#[derive(Debug, Serialize)]
pub struct Changes {
    pub dry_run: bool,
    pub steps: Vec<StepView>,
    /// Said when there was nothing to do.
    pub note: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct StepView {
    pub what: &'static str,
    pub path: Option<PathBuf>,
    pub argv: Option<Vec<String>>,
    /// The file written, shown by `--dry-run`.
    pub contents: Option<String>,
    /// A failure that was tolerated (unloading what was not loaded).
    pub failure: Option<String>,
}

impl StepView {
    fn of(step: &Step, failure: Option<String>, dry_run: bool) -> StepView {
        let (what, path, argv, contents) = match step {
            Step::MakeDir { path } => ("create", Some(path.clone()), None, None),
            Step::Write { path, contents } => (
                "write",
                Some(path.clone()),
                None,
                dry_run.then(|| String::from_utf8_lossy(contents).into_owned()),
            ),
            Step::Remove { path } => ("remove", Some(path.clone()), None, None),
            Step::Run { argv, .. } => ("run", None, Some(argv.clone()), None),
        };
        StepView {
            what,
            path,
            argv,
            contents,
            failure,
        }
    }
}

impl fmt::Display for Changes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = &self.note {
            writeln!(f, "{n}")?;
        }
        let verb = |done: &str, would: &'static str| {
            if self.dry_run {
                would.to_owned()
            } else {
                done.to_owned()
            }
        };
        for s in &self.steps {
            let target = match (&s.path, &s.argv) {
                (Some(p), _) => p.display().to_string(),
                (None, Some(a)) => a.join(" "),
                (None, None) => String::new(),
            };
            let word = match s.what {
                "create" => verb("created", "would create"),
                "write" => verb("wrote", "would write"),
                "remove" => verb("removed", "would remove"),
                _ => verb("ran", "would run"),
            };
            write!(f, "{word} {target}")?;
            match (&s.failure, &s.contents) {
                (Some(e), _) => writeln!(f, " (failed, which is fine here: {e})")?,
                (None, Some(c)) => {
                    writeln!(f, ":")?;
                    for line in c.lines() {
                        writeln!(f, "    {line}")?;
                    }
                }
                (None, None) => writeln!(f)?,
            }
        }
        Ok(())
    }
}

/// The result of any `service` action: text or JSON through `output::emit`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ServiceOutput {
    Changes(Changes),
    Status(Box<status::Status>),
}

impl fmt::Display for ServiceOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceOutput::Changes(c) => c.fmt(f),
            ServiceOutput::Status(s) => s.fmt(f),
        }
    }
}

impl ServiceCmd {
    /// Whether the output is asked for as JSON.
    pub fn json(&self) -> bool {
        matches!(self.action, ServiceAction::Status { json: true })
    }
}

/// `config`: the config chosen by `--config` or NEXTSTEP_CONFIG, if any.
pub fn run(cmd: ServiceCmd, config: Option<&Path>) -> anyhow::Result<ServiceOutput> {
    let platform = cmd.platform.unwrap_or_else(Platform::current);
    let host = Host::current(config)?;
    let config_path = paths::config_file(config);
    let definition = service::definition_path(platform, &host);
    match cmd.action {
        ServiceAction::Install { dry_run } => {
            if let Some(w) = service::exe_warning(&host.exe, &std::env::temp_dir()) {
                eprintln!("warning: {w}");
            }
            if !config_path.exists() {
                eprintln!(
                    "warning: there is no config at {} yet: the service will fail to start until `nextstep init` writes one",
                    config_path.display()
                );
            }
            let steps = service::install_steps(platform, &host, definition.exists())?;
            Ok(ServiceOutput::Changes(apply(&steps, dry_run, None)?))
        }
        ServiceAction::Uninstall { dry_run } => {
            if !definition.exists() {
                return Ok(ServiceOutput::Changes(Changes {
                    dry_run,
                    steps: Vec::new(),
                    note: Some(format!(
                        "not installed ({} does not exist): nothing to remove",
                        definition.display()
                    )),
                }));
            }
            let steps = service::uninstall_steps(platform, &host);
            Ok(ServiceOutput::Changes(apply(&steps, dry_run, None)?))
        }
        ServiceAction::Status { .. } => Ok(ServiceOutput::Status(Box::new(status::gather(
            platform,
            &host,
            &config_path,
            &paths::data_dir(),
            SystemClock.now(),
        )))),
    }
}

fn apply(steps: &[Step], dry_run: bool, note: Option<String>) -> anyhow::Result<Changes> {
    let done: Vec<Done> = if dry_run {
        steps
            .iter()
            .map(|s| Done {
                step: s.clone(),
                failure: None,
            })
            .collect()
    } else {
        service::execute(steps)?
    };
    Ok(Changes {
        dry_run,
        steps: done
            .into_iter()
            .map(|d| StepView::of(&d.step, d.failure, dry_run))
            .collect(),
        note,
    })
}
