//! The sync state a network source keeps between polls and restarts (sync tokens, delta links,
//! ETags, object texts): one JSON file per calendar in the source's private state directory.
//!
//! What it promises: files are written 0600 and atomically (titles and addresses are personal
//! data, and a delta link is a credential of sorts; a crash leaves the old file or the new one), a
//! calendar id becomes a file name that can neither collide nor escape the directory, and a file
//! that cannot be read means a full sync, never an error.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::SourceError;

/// `<prefix>-<id made safe>-<hash>.json` for a calendar id (often an e-mail address): the safe
/// part keeps it readable, the hash keeps ids that differ only in punctuation apart.
pub fn file_name(prefix: &str, id: &str) -> String {
    let safe: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(64)
        .collect();
    let hash = crate::model::stable_hash(id.bytes());
    format!("{prefix}-{safe}-{hash:016x}.json")
}

/// The state at `path`, or `T::default()` (a full sync) when there is none or it cannot be read;
/// an unreadable file is logged, with what the source does about it (`then`).
pub fn load<T: DeserializeOwned + Default>(source: &str, path: &Path, then: &str) -> T {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(source, path = %path.display(), error = %e, "unreadable sync state; {then}");
            T::default()
        }),
        Err(_) => T::default(),
    }
}

/// Writes `state` to `path`, 0600 and atomically.
pub fn save<T: Serialize>(source: &str, path: &Path, state: &T) -> Result<(), SourceError> {
    let io = |e: std::io::Error| SourceError::Io {
        source_name: source.to_string(),
        path: path.to_path_buf(),
        detail: e.to_string(),
    };
    let body = serde_json::to_vec(state).map_err(|e| io(std::io::Error::other(e)))?;
    crate::fsutil::write_atomic_private(path, &body).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_ids_become_distinct_safe_file_names() {
        let a = file_name("google", "alex@mycorp.com");
        let b = file_name("google", "alex.mycorp.com");
        assert_ne!(a, b);
        assert!(a.starts_with("google-alex_mycorp_com-"), "{a}");
        assert!(!file_name("x", "../../etc").contains('/'));
    }

    #[test]
    fn state_round_trips_privately_and_an_unreadable_file_means_a_full_sync() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name("t", "cal"));
        assert_eq!(
            load::<Vec<String>>("s", &path, "syncing fully"),
            Vec::<String>::new()
        );
        save("s", &path, &vec!["token".to_string()]).unwrap();
        assert_eq!(load::<Vec<String>>("s", &path, "syncing fully"), ["token"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, b"{not json").unwrap();
        assert_eq!(
            load::<Vec<String>>("s", &path, "syncing fully"),
            Vec::<String>::new()
        );
    }
}
