//! Installing nextstep as a service of the login session: a systemd user unit on Linux
//! ([`systemd`]), a launchd agent on macOS ([`launchd`]), and what `service status` can tell
//! ([`status`]).
//!
//! What to do is decided as a list of [`Step`]s by pure functions of a [`Host`] (home, binary,
//! user id, config, and the [`Platform`], a parameter, so both systems are built and tested
//! everywhere; the real one is chosen by `cfg` at the call site). [`execute`] carries the steps
//! out, and `--dry-run` only prints them. [`watchdog`] is the daemon's side: the liveness pings
//! and status line systemd shows.

pub mod launchd;
pub mod status;
pub mod systemd;
pub mod watchdog;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

/// Which service manager to speak to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Systemd,
    Launchd,
}

impl Platform {
    /// The service manager of the system this binary was built for.
    pub fn current() -> Platform {
        if cfg!(target_os = "macos") {
            Platform::Launchd
        } else {
            Platform::Systemd
        }
    }
}

/// Everything about the machine the steps depend on.
#[derive(Debug, Clone)]
pub struct Host {
    pub home: PathBuf,
    /// `$XDG_CONFIG_HOME`, else `~/.config`.
    pub config_home: PathBuf,
    /// The absolute path of the binary the service is to run.
    pub exe: PathBuf,
    pub uid: u32,
    /// A config chosen on the command line (or by NEXTSTEP_CONFIG), made absolute; the service
    /// is started with it. `None`: the default place.
    pub config: Option<PathBuf>,
}

impl Host {
    /// This process's host: `$HOME`, the running binary, the real user id.
    pub fn current(config: Option<&Path>) -> Result<Host, ServiceError> {
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .ok_or(ServiceError::NoHome)?;
        let config_home = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .unwrap_or_else(|| home.join(".config"));
        let exe = std::env::current_exe()
            .and_then(|p| p.canonicalize())
            .map_err(|e| ServiceError::NoExe(e.to_string()))?;
        let config = match config {
            Some(c) => Some(std::path::absolute(c).map_err(|e| ServiceError::Io {
                what: "resolve",
                path: c.to_owned(),
                source: e,
            })?),
            None => None,
        };
        let uid = current_uid();
        Ok(Host {
            home,
            config_home,
            exe,
            uid,
            config,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("HOME is not set: the service files go under the home directory")]
    NoHome,
    #[error("cannot find the path of the running nextstep binary: {0}")]
    NoExe(String),
    #[error(
        "{} cannot be written into a service definition (a newline, or not UTF-8); move it to a plainer path",
        .0.display()
    )]
    UnusablePath(PathBuf),
    #[error("cannot write the launchd property list: {0}")]
    Plist(String),
    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot run `{command}`: {source} (is it installed and on PATH?)")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
}

/// One thing `install` or `uninstall` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    MakeDir {
        path: PathBuf,
    },
    /// Creates the parent directories too.
    Write {
        path: PathBuf,
        contents: Vec<u8>,
    },
    /// Absent already is fine.
    Remove {
        path: PathBuf,
    },
    /// `may_fail`: a failure is reported and the next steps still run (unloading what may not
    /// be loaded).
    Run {
        argv: Vec<String>,
        may_fail: bool,
    },
}

/// Whether and how the service runs, as its manager says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceState {
    pub running: bool,
    /// The manager's words: `active (running)`, `running`, `inactive (dead)`.
    pub state: Option<String>,
    pub pid: Option<u32>,
    /// systemd: the daemon's own STATUS= line; launchd: the last exit code.
    pub detail: Option<String>,
}

/// Where the service definition of `platform` lives.
pub fn definition_path(platform: Platform, host: &Host) -> PathBuf {
    match platform {
        Platform::Systemd => systemd::unit_path(host),
        Platform::Launchd => launchd::plist_path(host),
    }
}

/// The steps that install the service; `reinstall` when its definition already exists.
pub fn install_steps(
    platform: Platform,
    host: &Host,
    reinstall: bool,
) -> Result<Vec<Step>, ServiceError> {
    match platform {
        Platform::Systemd => systemd::install(host, reinstall),
        Platform::Launchd => launchd::install(host, reinstall),
    }
}

/// The steps that remove the service.
pub fn uninstall_steps(platform: Platform, host: &Host) -> Vec<Step> {
    match platform {
        Platform::Systemd => systemd::uninstall(host),
        Platform::Launchd => launchd::uninstall(host),
    }
}

/// Why a service should not run `exe`: it sits in a build folder (the next `cargo build` or
/// `cargo clean` replaces or removes it) or a temporary one (cleaned at boot).
pub fn exe_warning(exe: &Path, temp_dir: &Path) -> Option<String> {
    let parts: Vec<&std::ffi::OsStr> = exe.components().map(|c| c.as_os_str()).collect();
    let dirs = &parts[..parts.len().saturating_sub(1)];
    let in_target = dirs.iter().position(|p| *p == "target").is_some_and(|i| {
        dirs[i + 1..]
            .iter()
            .any(|p| *p == "debug" || *p == "release")
    });
    let in_temp = [temp_dir, Path::new("/tmp"), Path::new("/var/tmp")]
        .iter()
        .any(|t| exe.starts_with(t));
    if in_target {
        Some(format!(
            "{} is inside a build folder: the next `cargo build` or `cargo clean` changes what the service runs; `cargo install --path .` and install from ~/.cargo/bin instead",
            exe.display()
        ))
    } else if in_temp {
        Some(format!(
            "{} is inside a temporary folder, which is emptied at boot: the service would stop starting; install nextstep somewhere lasting first",
            exe.display()
        ))
    } else {
        None
    }
}

/// What one carried-out step did, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub step: Step,
    /// A tolerated failure: what it said.
    pub failure: Option<String>,
}

/// Carries the steps out in order; stops at the first failure that is not tolerated.
pub fn execute(steps: &[Step]) -> Result<Vec<Done>, ServiceError> {
    let mut done = Vec::with_capacity(steps.len());
    for step in steps {
        let mut failure = None;
        match step {
            Step::MakeDir { path } => {
                std::fs::create_dir_all(path).map_err(|source| ServiceError::Io {
                    what: "create",
                    path: path.clone(),
                    source,
                })?;
            }
            Step::Write { path, contents } => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|source| ServiceError::Io {
                        what: "create",
                        path: dir.to_owned(),
                        source,
                    })?;
                }
                std::fs::write(path, contents).map_err(|source| ServiceError::Io {
                    what: "write",
                    path: path.clone(),
                    source,
                })?;
            }
            Step::Remove { path } => match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(ServiceError::Io {
                        what: "remove",
                        path: path.clone(),
                        source: e,
                    });
                }
                _ => {}
            },
            Step::Run { argv, may_fail } => match run(argv) {
                Ok(_) => {}
                Err(e) if *may_fail => failure = Some(e.to_string()),
                Err(e) => return Err(e),
            },
        }
        done.push(Done {
            step: step.clone(),
            failure,
        });
    }
    Ok(done)
}

/// Runs `argv` (found on PATH, never through a shell) and returns its stdout; a non-zero exit is
/// an error carrying its stderr.
pub fn run(argv: &[String]) -> Result<String, ServiceError> {
    let command = argv.join(" ");
    let (prog, args) = argv.split_first().expect("a command has a program");
    let out = Command::new(prog)
        .args(args)
        .output()
        .map_err(|source| ServiceError::Spawn {
            command: command.clone(),
            source,
        })?;
    if !out.status.success() {
        return Err(ServiceError::Failed {
            command,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The user id launchd's `gui/<uid>` domain needs.
// The crate denies unsafe code; getuid is the one way to ask, and cannot fail.
#[allow(unsafe_code)]
fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binary_in_a_build_or_temporary_folder_is_warned_about() {
        let tmp = Path::new("/var/folders/xy/T");
        assert!(
            exe_warning(
                Path::new("/home/kim/src/nextstep/target/debug/nextstep"),
                tmp
            )
            .unwrap()
            .contains("build folder")
        );
        assert!(
            exe_warning(
                Path::new(
                    "/home/kim/src/nextstep/target/x86_64-unknown-linux-gnu/release/nextstep"
                ),
                tmp
            )
            .is_some()
        );
        assert!(
            exe_warning(Path::new("/var/folders/xy/T/cargo-install/nextstep"), tmp)
                .unwrap()
                .contains("temporary folder")
        );
        assert!(exe_warning(Path::new("/tmp/nextstep"), tmp).is_some());
        assert_eq!(
            exe_warning(Path::new("/home/kim/.cargo/bin/nextstep"), tmp),
            None
        );
        assert_eq!(exe_warning(Path::new("/usr/bin/nextstep"), tmp), None);
        assert_eq!(exe_warning(Path::new("/opt/target/nextstep"), tmp), None);
    }

    #[test]
    fn a_tolerated_failure_is_reported_and_the_next_steps_still_run() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub/unit");
        let steps = vec![
            Step::Run {
                argv: vec!["false".into()],
                may_fail: true,
            },
            Step::Write {
                path: file.clone(),
                contents: b"x".to_vec(),
            },
        ];
        let done = execute(&steps).unwrap();
        assert!(
            done[0]
                .failure
                .as_deref()
                .unwrap()
                .contains("`false` failed")
        );
        assert_eq!(std::fs::read(&file).unwrap(), b"x");
        let err = execute(&[Step::Run {
            argv: vec!["false".into()],
            may_fail: false,
        }])
        .unwrap_err();
        assert!(matches!(err, ServiceError::Failed { .. }), "{err}");
        execute(&[Step::Remove { path: file.clone() }]).unwrap();
        execute(&[Step::Remove { path: file.clone() }]).unwrap();
        assert!(!file.exists());
    }
}
