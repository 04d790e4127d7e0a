//! What the ledger's unit tests start from: a ledger (in memory or in a file) that knows one
//! customer meeting at 10:00 on 1 December 2026, first seen at 08:00. Each test then says only
//! what it records and what it expects.

use std::path::PathBuf;
use std::time::Duration;

use super::Ledger;
use crate::model::testing::{customer_meeting, t};
use crate::model::{MeetingId, MeetingState};

/// The snooze the tests read states with: ten minutes.
pub(super) const SNOOZE: Duration = Duration::from_secs(600);

/// Remembers the customer meeting `id` (Acme, 10:00, not recurring) as seen at 08:00.
fn remember_one(l: &mut Ledger, id: &str) {
    l.remember(&[customer_meeting(id, t(10, 0), false)], t(8, 0))
        .unwrap();
}

/// An in-memory ledger that knows the one customer meeting `id` ([`remember_one`]).
pub(super) fn ledger_with_one(id: &str) -> Ledger {
    let mut l = Ledger::open_in_memory().unwrap();
    remember_one(&mut l, id);
    l
}

/// A ledger file at `rel` in a fresh temporary folder, knowing the one customer meeting
/// `w/a/single` ([`remember_one`]). Keep the folder: the file goes with it.
pub(super) fn ledger_file_with_one(rel: &str) -> (tempfile::TempDir, PathBuf, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(rel);
    let mut l = Ledger::open(&path).unwrap();
    remember_one(&mut l, "w/a/single");
    (dir, path, l)
}

/// What the ledger knows about the meeting `m`.
pub(super) fn state_of(l: &Ledger, m: &MeetingId) -> MeetingState {
    l.states(std::slice::from_ref(m), SNOOZE).unwrap()[m].clone()
}
