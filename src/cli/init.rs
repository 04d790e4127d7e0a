//! `nextstep init`: the commented starter config, written once or printed.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;

use super::UsageError;

/// Writes a commented starter config (refuses to overwrite an existing one).
#[derive(Debug, Args)]
pub struct InitCmd {
    /// Print the starter config instead of writing it.
    #[arg(long)]
    pub print: bool,
}

/// What `init` did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Initialised {
    /// `--print`: the starter config itself.
    Printed {
        config: &'static str,
    },
    Wrote {
        path: PathBuf,
    },
}

impl fmt::Display for Initialised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Initialised::Printed { config } => f.write_str(config),
            Initialised::Wrote { path } => {
                writeln!(f, "wrote {}", path.display())?;
                writeln!(
                    f,
                    "next: set [identity] and one [[calendars]] entry, then run `nextstep check`"
                )
            }
        }
    }
}

pub fn run(path: &Path, cmd: InitCmd) -> anyhow::Result<Initialised> {
    if cmd.print {
        return Ok(Initialised::Printed {
            config: crate::config::EXAMPLE,
        });
    }
    if path.exists() {
        // Bad usage (exit 2), not a failure: nothing went wrong, the user asked for what init
        // never does.
        return Err(UsageError(format!(
            "{} already exists; nextstep init never overwrites a config. Edit it, or move it aside and run init again",
            path.display()
        ))
        .into());
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
    Ok(Initialised::Wrote {
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_over_an_existing_file_is_bad_usage_and_leaves_it_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "# mine\n").unwrap();
        let err = run(&path, InitCmd { print: false }).unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some(), "{err:#}");
        assert!(err.to_string().contains("already exists"), "{err:#}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\n");
    }
}
