//! What a CalDAV source remembers between polls and restarts: per calendar the sync token, the
//! ctag, the range of the last full query, and href → (etag, iCalendar text).
//!
//! What it promises: the file (`<state_dir>/caldav-state.json`) is written 0600 and atomically
//! (titles and addresses are personal data; a crash leaves the old file or the new one), calendars
//! of the same source that this run did not discover keep their entries, and a file that cannot be
//! read or has another version means a full sync, never an error.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::source::SourceError;

pub(super) const STATE_FILE: &str = "caldav-state.json";
const STATE_VERSION: u32 = 1;

/// One calendar object as last fetched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct StoredObject {
    /// As the server wrote it, for multiget.
    pub href: String,
    pub etag: Option<String>,
    pub data: String,
}

/// One calendar's sync state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct CalState {
    pub sync_token: Option<String>,
    pub ctag: Option<String>,
    /// The time range of the last full query.
    pub queried: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Keyed by percent-decoded path.
    pub objects: BTreeMap<String, StoredObject>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct StateFile {
    version: u32,
    /// Keyed by calendar URL.
    pub calendars: BTreeMap<String, CalState>,
}

impl StateFile {
    /// The file at `path`, or an empty state (logged) when it is unreadable or of another version.
    pub fn load(path: &Path, source: &str) -> StateFile {
        match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice::<StateFile>(&bytes) {
                Ok(s) if s.version == STATE_VERSION => s,
                Ok(_) | Err(_) => {
                    tracing::warn!(source = %source, path = %path.display(), "sync state unreadable; starting a full sync");
                    StateFile::default()
                }
            },
            Err(_) => StateFile::default(),
        }
    }

    /// Replaces the entries of `calendars` (keyed by calendar URL) in the file at `path`.
    pub fn update<'a>(
        path: &Path,
        source: &str,
        calendars: impl IntoIterator<Item = (String, &'a CalState)>,
    ) -> Result<(), SourceError> {
        let mut file = StateFile::load(path, source);
        file.version = STATE_VERSION;
        for (url, state) in calendars {
            file.calendars.insert(url, state.clone());
        }
        crate::source::state_file::save(source, path, &file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(token: &str) -> CalState {
        let mut s = CalState {
            sync_token: Some(token.into()),
            ..CalState::default()
        };
        s.objects.insert(
            "/c/e.ics".into(),
            StoredObject {
                href: "/c/e.ics".into(),
                etag: Some("\"1\"".into()),
                data: "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".into(),
            },
        );
        s
    }

    #[test]
    fn state_is_written_private_and_keeps_calendars_not_updated() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_FILE);
        StateFile::update(&path, "s", [("https://x/a/".to_string(), &state("a"))]).unwrap();
        StateFile::update(&path, "s", [("https://x/b/".to_string(), &state("b"))]).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let back = StateFile::load(&path, "s");
        assert_eq!(back.calendars.len(), 2);
        assert_eq!(back.calendars["https://x/a/"], state("a"));
        assert_eq!(back.calendars["https://x/b/"], state("b"));
    }

    #[test]
    fn a_missing_unreadable_or_other_version_file_means_starting_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_FILE);
        assert!(StateFile::load(&path, "s").calendars.is_empty());
        std::fs::write(&path, b"{not json").unwrap();
        assert!(StateFile::load(&path, "s").calendars.is_empty());
        std::fs::write(&path, br#"{"version":99,"calendars":{"u":{}}}"#).unwrap();
        assert!(StateFile::load(&path, "s").calendars.is_empty());
    }
}
