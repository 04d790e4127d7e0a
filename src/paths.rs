//! Where nextstep keeps things: the config file, the data directory (ledger, snapshots, sync
//! state, OAuth tokens) and the ledger itself.
//!
//! `NEXTSTEP_CONFIG` and `NEXTSTEP_DATA_DIR` override the defaults (tests and the demo use them).

use std::path::{Path, PathBuf};

use crate::config::Config;

fn project() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "nextstep")
}

/// `--config`, else `NEXTSTEP_CONFIG`, else `$XDG_CONFIG_HOME/nextstep/config.toml` (on macOS
/// `~/Library/Application Support/nextstep/config.toml`).
pub fn config_file(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("NEXTSTEP_CONFIG").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    match project() {
        Some(d) => d.config_dir().join("config.toml"),
        None => PathBuf::from("nextstep.toml"),
    }
}

/// `NEXTSTEP_DATA_DIR`, else `$XDG_DATA_HOME/nextstep` (on macOS
/// `~/Library/Application Support/nextstep`).
pub fn data_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("NEXTSTEP_DATA_DIR").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    match project() {
        Some(d) => d.data_dir().to_path_buf(),
        None => PathBuf::from(".nextstep"),
    }
}

/// `[ledger] path`, else `ledger.sqlite3` in the data directory.
pub fn ledger_file(config: &Config, data_dir: &Path) -> PathBuf {
    config
        .ledger
        .path
        .clone()
        .unwrap_or_else(|| data_dir.join("ledger.sqlite3"))
}

/// The private sync-state directory of one source.
pub fn source_state_dir(data_dir: &Path, source: &str) -> PathBuf {
    data_dir.join("sources").join(source)
}
