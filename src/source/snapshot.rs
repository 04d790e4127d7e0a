//! The last good poll of each source, kept on disk so the daemon starts and prompts while offline,
//! and so `nextstep upcoming` answers without touching the network.
//!
//! Written atomically (temporary file, fsync, rename), so a crash mid-write leaves the previous
//! snapshot intact. A snapshot that cannot be read is treated as absent (with a warning by the
//! caller): it is a cache, the calendar is the truth.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::Meeting;

/// Bumped when `Meeting`'s serialized shape changes incompatibly; older snapshots are ignored.
const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub format: u32,
    pub source: String,
    pub taken_at: DateTime<Utc>,
    pub meetings: Vec<Meeting>,
}

/// Where the snapshot of `source` lives under the data directory.
pub fn path(data_dir: &Path, source: &str) -> PathBuf {
    data_dir
        .join("sources")
        .join(format!("{source}.snapshot.json"))
}

/// Writes the snapshot atomically with mode 0600 (meeting titles and addresses are personal data).
pub fn save(
    path: &Path,
    source: &str,
    taken_at: DateTime<Utc>,
    meetings: &[Meeting],
) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::fsutil::create_private_dir(dir)?;
    let snap = SnapshotRef {
        format: FORMAT,
        source,
        taken_at,
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
        save(&p, "work", at, &meetings).unwrap();
        let s = load(&p).unwrap().unwrap();
        assert_eq!(s.meetings, meetings);
        assert_eq!(s.taken_at, at);
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
}
