//! A fake browser opener: `xdg-open` and `open` scripts in a folder of their own that record the
//! address they are given instead of starting a browser. Put [`FakeOpener::path`] first in a
//! daemon's `PATH`, or give [`FakeOpener::program`] to a notifier's `Opener`.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct FakeOpener {
    bin: PathBuf,
    log: PathBuf,
}

impl FakeOpener {
    /// The scripts in `dir/opener-bin`, recording to `dir/opened.log`, one address a line.
    pub fn new(dir: &Path) -> FakeOpener {
        use std::os::unix::fs::PermissionsExt;
        let bin = dir.join("opener-bin");
        let log = dir.join("opened.log");
        std::fs::create_dir_all(&bin).unwrap();
        let script = format!("#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\n", log.display());
        for name in ["xdg-open", "open"] {
            std::fs::write(bin.join(name), &script).unwrap();
            std::fs::set_permissions(bin.join(name), std::fs::Permissions::from_mode(0o755))
                .unwrap();
        }
        FakeOpener { bin, log }
    }

    /// The fake `xdg-open`.
    pub fn program(&self) -> String {
        self.bin.join("xdg-open").display().to_string()
    }

    /// `PATH` with the fakes first.
    pub fn path(&self) -> String {
        format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// Every address opened so far, in order.
    pub fn opened(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The first address opened, waiting up to `within` for it.
    pub async fn first_opened(&self, within: Duration) -> String {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(first) = self.opened().into_iter().next() {
                return first;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "nothing was opened within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
