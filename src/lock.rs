//! One daemon per ledger: an exclusive advisory lock on `<ledger>.lock`, held for the life of the
//! process.
//!
//! Two daemons on one ledger would show every prompt twice (each records its showing before the
//! other does, with different clocks), so the second one stops at start-up with a message that
//! says what holds the lock. The OS releases the lock when the process dies, even by SIGKILL, so a
//! stale lock file never blocks a restart. The CLI does not take the lock: its short writes are
//! safe next to the daemon (SQLite transactions).

use std::ffi::OsString;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// What stops us from taking the lock.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another nextstep{pid} is running with the ledger {ledger}: stop it \
         (`systemctl --user stop nextstep`, or end that `nextstep run`), or give this one \
         another ledger: `[ledger] path` in its config, chosen with --config \
         (lock file {path})",
        pid = pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
        ledger = ledger.display(),
        path = path.display()
    )]
    Held {
        path: PathBuf,
        ledger: PathBuf,
        /// The pid the holder wrote into the lock file, when readable.
        pid: Option<u32>,
    },
    #[error("cannot {action} the lock file {path}", path = path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Held while it lives; dropping it (or the process dying) releases the lock.
#[derive(Debug)]
pub struct InstanceLock {
    // The lock belongs to the open file description: keep it open.
    _file: File,
    path: PathBuf,
}

impl InstanceLock {
    /// Takes the lock for `ledger` (the ledger file's path; the lock is `<ledger>.lock` beside it)
    /// without waiting. Creates the directory (0700) and the lock file (0600) when missing, and
    /// writes our pid into it for the message another instance shows.
    ///
    /// The lock is taken beside the ledger's real path (symbolic links resolved), so two names
    /// for one file cannot run two daemons on it.
    pub fn acquire(ledger: &Path) -> Result<InstanceLock, LockError> {
        if let Some(parent) = ledger.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::fsutil::create_private_dir(parent).map_err(|source| LockError::Io {
                action: "create the directory of",
                path: lock_path(ledger),
                source,
            })?;
        }
        let path = lock_path(&real_path(ledger));
        let io = |action| {
            let path = path.clone();
            move |source| LockError::Io {
                action,
                path,
                source,
            }
        };
        let mut opts = OpenOptions::new();
        // Not truncated on open: the holder's pid must survive a failed attempt.
        opts.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut file = opts.open(&path).map_err(io("open"))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut s = String::new();
                // The pid is a courtesy for the message; an unreadable one is left out.
                let pid = file
                    .read_to_string(&mut s)
                    .ok()
                    .and_then(|_| s.trim().parse().ok());
                return Err(LockError::Held {
                    path,
                    ledger: ledger.to_owned(),
                    pid,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io("lock")(e)),
        }
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{}", std::process::id()))
            .map_err(io("write our pid into"))?;
        tracing::debug!(path = %path.display(), "instance lock taken");
        Ok(InstanceLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The pid of the daemon running on `ledger`, or `None` when none holds its lock. Used to signal
/// it (`nextstep reload`); the lock, not the pid file alone, says whether it still runs.
pub fn holder(ledger: &Path) -> Result<Option<u32>, LockError> {
    let path = lock_path(&real_path(ledger));
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(LockError::Io {
                action: "open",
                path,
                source,
            });
        }
    };
    match file.try_lock_shared() {
        // We could lock it: nobody holds it.
        Ok(()) => Ok(None),
        Err(TryLockError::WouldBlock) => {
            let mut s = String::new();
            Ok(file
                .read_to_string(&mut s)
                .ok()
                .and_then(|_| s.trim().parse().ok()))
        }
        Err(TryLockError::Error(source)) => Err(LockError::Io {
            action: "lock",
            path,
            source,
        }),
    }
}

/// The file `ledger` names once symbolic links are resolved: the file's own real path when it
/// exists, else its directory's real path with its name (a ledger not created yet). As given when
/// neither can be resolved (the lock then still works for that name).
fn real_path(ledger: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(ledger) {
        return p;
    }
    let dir = match ledger.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match (std::fs::canonicalize(dir), ledger.file_name()) {
        (Ok(d), Some(name)) => d.join(name),
        _ => ledger.to_owned(),
    }
}

/// `<ledger>.lock`: the ledger's file name with `.lock` appended.
pub fn lock_path(ledger: &Path) -> PathBuf {
    let mut name = OsString::from(ledger.as_os_str());
    name.push(".lock");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_instance_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.sqlite3");
        let first = InstanceLock::acquire(&ledger).unwrap();
        assert_eq!(first.path(), dir.path().join("ledger.sqlite3.lock"));

        let err = InstanceLock::acquire(&ledger).unwrap_err();
        assert!(matches!(err, LockError::Held { pid: Some(p), .. } if p == std::process::id()));
        let msg = err.to_string();
        assert!(msg.contains("systemctl --user stop nextstep"), "{msg}");
        // It offers what `run` takes (`run` has no --ledger flag).
        assert!(msg.contains("[ledger] path"), "{msg}");
        assert!(msg.contains("--config"), "{msg}");
        assert!(!msg.contains("--ledger"), "{msg}");
        assert!(msg.contains(&ledger.display().to_string()), "{msg}");

        drop(first);
        let again = InstanceLock::acquire(&ledger).unwrap();
        drop(again);
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_to_a_ledger_in_use_is_refused_too() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let ledger = real.join("ledger.sqlite3");
        std::fs::write(&ledger, b"").unwrap();
        std::os::unix::fs::symlink(&ledger, dir.path().join("link.sqlite3")).unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("linkdir")).unwrap();
        let _first = InstanceLock::acquire(&ledger).unwrap();
        for other in ["link.sqlite3", "linkdir/ledger.sqlite3"] {
            let err = InstanceLock::acquire(&dir.path().join(other)).unwrap_err();
            assert!(matches!(err, LockError::Held { .. }), "{other}: {err}");
        }
        // A ledger not created yet, through a linked directory, resolves the same way.
        let _fresh = InstanceLock::acquire(&real.join("new.sqlite3")).unwrap();
        let err = InstanceLock::acquire(&dir.path().join("linkdir/new.sqlite3")).unwrap_err();
        assert!(matches!(err, LockError::Held { .. }), "{err}");
    }

    #[test]
    fn the_holder_is_the_running_daemon_and_none_once_it_let_go() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.sqlite3");
        assert_eq!(holder(&ledger).unwrap(), None);
        let lock = InstanceLock::acquire(&ledger).unwrap();
        assert_eq!(holder(&ledger).unwrap(), Some(std::process::id()));
        drop(lock);
        assert_eq!(holder(&ledger).unwrap(), None);
    }

    #[test]
    fn different_ledgers_do_not_block_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let _a = InstanceLock::acquire(&dir.path().join("a.sqlite3")).unwrap();
        let _b = InstanceLock::acquire(&dir.path().join("b.sqlite3")).unwrap();
    }
}
