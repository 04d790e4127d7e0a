//! iCalendar text -> meetings (pure). Placeholder: the ICS work replaces this file.

use super::Window;
use crate::model::Meeting;

/// What one calendar text yielded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    pub meetings: Vec<Meeting>,
    /// One line per skipped event, naming it (UID or summary) and saying why.
    pub warnings: Vec<String>,
}

/// The text is not iCalendar at all (an HTML login page, an empty body).
#[derive(Debug, thiserror::Error)]
#[error("not an iCalendar file: {0}")]
pub struct NotICalendar(pub String);

/// Parses iCalendar text into meeting occurrences overlapping `window`, expanding recurrences.
/// `source` is the calendar name that prefixes each meeting id.
pub fn parse_calendar(source: &str, text: &str, window: Window) -> Result<Parsed, NotICalendar> {
    let _ = (source, text, window);
    Err(NotICalendar("not implemented yet".into()))
}
