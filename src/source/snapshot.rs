//! The last good poll of each source, kept on disk so the daemon starts and prompts while offline,
//! and so `nextstep upcoming` answers without touching the network.
//!
//! Written atomically (temporary file, fsync, rename), so a crash mid-write leaves the previous
//! snapshot intact. A snapshot that cannot be read is treated as absent (with a warning by the
//! caller): it is a cache, the calendar is the truth.
//!
//! Each snapshot carries the [`fingerprint`] of the config that wrote it, so a reader under
//! another config (another address for the calendar, another look-back) can say that what it
//! shows may not match (`nextstep meetings` does). A snapshot from before fingerprints has none:
//! its match is unknown, never an error.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::CalendarConfig;
use crate::model::{Meeting, stable_hash};

/// Bumped when `Meeting`'s serialized shape changes incompatibly; older snapshots are ignored.
const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub format: u32,
    pub source: String,
    pub taken_at: DateTime<Utc>,
    /// The [`fingerprint`] of the config it was written under; `None` in a snapshot written
    /// before snapshots carried one.
    #[serde(default)]
    pub config: Option<u64>,
    pub meetings: Vec<Meeting>,
}

/// Whether a snapshot was written under the config a reader has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigMatch {
    /// Written under the same calendar settings and look-back.
    Same,
    /// Written under other settings: its meetings may not be the ones this config would read.
    Other,
    /// Written before snapshots carried a fingerprint.
    Unknown,
}

impl Snapshot {
    /// Whether it was written under a config whose [`fingerprint`] is `now`.
    pub fn config_match(&self, now: u64) -> ConfigMatch {
        match self.config {
            Some(f) if f == now => ConfigMatch::Same,
            Some(_) => ConfigMatch::Other,
            None => ConfigMatch::Unknown,
        }
    }
}

/// What a calendar's snapshot depends on in the config: the calendar entry (its name, kind,
/// address, calendars and credential references, as `Debug` writes them) and the look-back that
/// sets the window read. That text can hold a secret (an ICS feed whose address is its key), so
/// it is only hashed, never stored or shown; the snapshot, 0600, keeps the 64-bit hash. Not the identity or classify rules: every reader
/// classifies the snapshot's meetings anew under the config it has. Stable across runs
/// ([`stable_hash`]); a new nextstep that shows a setting differently reads as "another config"
/// once, until the next poll rewrites the snapshot.
pub fn fingerprint(cal: &CalendarConfig, lookback: std::time::Duration) -> u64 {
    let settings = format!("{}\n{:?}\n{:?}", cal.name, cal.kind, lookback);
    stable_hash(settings.bytes())
}

/// Where the snapshot of `source` lives under the data directory.
pub fn path(data_dir: &Path, source: &str) -> PathBuf {
    data_dir
        .join("sources")
        .join(format!("{source}.snapshot.json"))
}

/// Writes the snapshot atomically with mode 0600 (meeting titles and addresses are personal data),
/// stamped with the [`fingerprint`] `config` of the config it was read under.
pub fn save(
    path: &Path,
    source: &str,
    taken_at: DateTime<Utc>,
    config: u64,
    meetings: &[Meeting],
) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::fsutil::create_private_dir(dir)?;
    let snap = SnapshotRef {
        format: FORMAT,
        source,
        taken_at,
        config,
        meetings,
    };
    let body = serde_json::to_vec(&snap).map_err(std::io::Error::other)?;
    crate::fsutil::write_atomic_private(path, &body)
}

#[derive(Serialize)]
struct SnapshotRef<'a> {
    format: u32,
    source: &'a str,
    taken_at: DateTime<Utc>,
    config: u64,
    meetings: &'a [Meeting],
}

/// Reads a snapshot; `Ok(None)` when there is none or it was written by an incompatible version.
pub fn load(path: &Path) -> std::io::Result<Option<Snapshot>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    match serde_json::from_slice::<Snapshot>(&bytes) {
        Ok(s) if s.format == FORMAT => Ok(Some(s)),
        Ok(_) => Ok(None),
        Err(e) => Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::meeting;

    fn m(id: &str) -> Meeting {
        Meeting {
            source: "s".into(),
            title: "Ünïcode call".into(),
            recurring: true,
            ..meeting(id, Utc::now())
        }
    }

    #[test]
    fn a_saved_snapshot_loads_back_identically_and_privately() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(dir.path(), "work");
        let at = Utc::now();
        let meetings = vec![m("a"), m("b")];
        save(&p, "work", at, 7, &meetings).unwrap();
        let s = load(&p).unwrap().unwrap();
        assert_eq!(s.meetings, meetings);
        assert_eq!(s.taken_at, at);
        assert_eq!(s.config_match(7), ConfigMatch::Same);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn a_missing_snapshot_is_none_and_a_corrupt_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(dir.path(), "work");
        assert!(load(&p).unwrap().is_none());
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"{ truncated").unwrap();
        assert!(load(&p).is_err());
    }

    #[test]
    fn a_snapshot_written_before_fingerprints_loads_and_its_match_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(dir.path(), "work");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let old = r#"{"format":1,"source":"work","taken_at":"2026-11-30T09:00:00Z","meetings":[]}"#;
        std::fs::write(&p, old).unwrap();
        let s = load(&p).unwrap().unwrap();
        assert_eq!(s.config, None);
        assert_eq!(s.config_match(7), ConfigMatch::Unknown);
        assert_eq!(
            Snapshot {
                config: Some(8),
                ..s
            }
            .config_match(7),
            ConfigMatch::Other
        );
    }

    #[test]
    fn the_fingerprint_follows_the_calendar_and_the_look_back_only() {
        let config = |ics: &str, lookback: &str| {
            let text = format!(
                "[prompts]\nlookback = \"{lookback}\"\n\
                 [[calendars]]\nname = \"work\"\nkind = \"ics\"\npath = \"{ics}\"\n"
            );
            let c = crate::config::Config::from_toml("test.toml", &text).unwrap();
            fingerprint(&c.calendars[0], c.prompts.lookback)
        };
        let base = config("/tmp/a.ics", "12h");
        assert_eq!(base, config("/tmp/a.ics", "12h"), "stable");
        assert_ne!(base, config("/tmp/b.ics", "12h"), "another address");
        assert_ne!(base, config("/tmp/a.ics", "2d"), "another look-back");
    }
}
