//! The domain types every module speaks: meetings as sources see them, the verdict of `classify`,
//! the prompts of `plan`, and the answers the ledger keeps.
//!
//! Nothing here does I/O. Times are UTC instants; a meeting keeps its original zone name only for
//! display. The read models of the ledger ([`LedgerRow`], [`PendingItem`]) live here too, so that
//! `export`, `report` and `plan` read them without depending on SQLite.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A meeting occurrence's stable id: `source/uid/original-start`.
///
/// The original start (RECURRENCE-ID, or DTSTART for a single event, or Google's
/// `originalStartTime`) is part of the id, so an occurrence that is moved keeps its id and its
/// answers. For single (non-recurring) events the original start is the literal `single`, so moving
/// a one-off meeting also keeps its id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MeetingId(pub String);

impl MeetingId {
    /// Builds an id from its parts. `original_start` is `None` for a non-recurring event.
    ///
    /// This is the one place the id's text is written. It is on the hot path of expanding a big
    /// calendar (20,000 occurrences of one series), where `format!` with strftime parsing cost a
    /// quarter of the expansion, so the usual times are written digit by digit; times that
    /// `ORIGINAL_START_FORMAT` does not write as plain `YYYYMMDDTHHMMSSZ` (years outside
    /// 1–9999, a leap second) go through the format itself. A test holds both paths equal.
    pub fn new(source: &str, uid: &str, original_start: Option<DateTime<Utc>>) -> Self {
        let mut id = String::with_capacity(source.len() + uid.len() + 18);
        id.push_str(source);
        id.push('/');
        id.push_str(uid);
        id.push('/');
        match original_start {
            None => id.push_str(SINGLE),
            Some(t) => push_original_start(&mut id, t),
        }
        MeetingId(id)
    }

    /// The id of the series this occurrence belongs to (`source/uid`), used for per-series
    /// overrides such as "not a sales meeting".
    pub fn series(&self) -> &str {
        match self.0.rfind('/') {
            Some(i) => &self.0[..i],
            None => &self.0,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The last part of a non-recurring meeting's id: moving a one-off meeting keeps its id.
const SINGLE: &str = "single";

/// How an original start is written in an id (UTC, basic ISO 8601, as iCalendar writes it).
const ORIGINAL_START_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// Appends `t` as [`ORIGINAL_START_FORMAT`] writes it.
fn push_original_start(id: &mut String, t: DateTime<Utc>) {
    use chrono::{Datelike, Timelike};
    if !(1..=9999).contains(&t.year()) || t.nanosecond() >= 1_000_000_000 {
        use fmt::Write as _;
        // Writing to a String cannot fail.
        let _ = write!(id, "{}", t.format(ORIGINAL_START_FORMAT));
        return;
    }
    // The year is 1–9999 here, so `as u32` cannot wrap.
    let fields = [
        (t.year() as u32, 4),
        (t.month(), 2),
        (t.day(), 2),
        (t.hour(), 2),
        (t.minute(), 2),
        (t.second(), 2),
    ];
    for (n, (value, width)) in fields.into_iter().enumerate() {
        if n == 3 {
            id.push('T');
        }
        let mut divisor = 10u32.pow(width - 1);
        while divisor > 0 {
            // `value / divisor % 10` is a single decimal digit.
            id.push(char::from(b'0' + (value / divisor % 10) as u8));
            divisor /= 10;
        }
    }
    id.push('Z');
}

impl fmt::Display for MeetingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingStatus {
    #[default]
    Confirmed,
    Tentative,
    Cancelled,
}

/// iCalendar PARTSTAT / Google `responseStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartStat {
    #[default]
    NeedsAction,
    Accepted,
    Declined,
    Tentative,
    Delegated,
}

/// iCalendar CUTYPE / Google `resource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantKind {
    #[default]
    Individual,
    Group,
    Resource,
    Room,
    Unknown,
}

/// iCalendar ROLE / Google `optional` and `organizer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Chair,
    #[default]
    Required,
    Optional,
    NonParticipant,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Attendee {
    /// Lower-cased address without `mailto:`.
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    pub partstat: PartStat,
    pub kind: ParticipantKind,
    /// The source says this attendee is the calendar's owner (Google `self`). Sources that cannot
    /// tell leave it false; `classify` also matches `identity.emails`.
    pub is_self: bool,
}

impl Attendee {
    /// The domain part of the address, lower-cased; `None` when the address has no `@`.
    pub fn domain(&self) -> Option<&str> {
        self.email
            .rsplit_once('@')
            .map(|(_, d)| d)
            .filter(|d| !d.is_empty())
    }
}

/// One occurrence of a meeting, as a source sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Meeting {
    pub id: MeetingId,
    /// The configured `[[calendars]]` name this came from.
    pub source: String,
    pub title: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The event's own zone (IANA name) when it had one, for display.
    pub tz: Option<String>,
    pub all_day: bool,
    pub status: MeetingStatus,
    pub organizer: Option<Arc<Attendee>>,
    /// Shared between the occurrences of a series (a weekly meeting in a 30-day window is four
    /// or five meetings with one list), so expanding a big calendar does not copy it each time.
    pub attendees: Arc<Vec<Attendee>>,
    pub location: Option<Arc<str>>,
    pub description: Option<Arc<str>>,
    /// Part of a recurring series (so "not a sales meeting" may apply to the series).
    pub recurring: bool,
}

impl Meeting {
    /// Every participant, the organizer first (when not also listed as an attendee).
    pub fn participants(&self) -> impl Iterator<Item = &Attendee> {
        let org = self
            .organizer
            .iter()
            .filter(|o| !self.attendees.iter().any(|a| a.email == o.email))
            .map(|o| &**o);
        org.chain(self.attendees.iter())
    }
}

/// The result of `classify`: whether a meeting is a customer meeting, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub customer: bool,
    /// The rule that decided, e.g. `customer domain acme.com`, `internal only`, `declined`.
    pub reason: String,
    pub account: Option<String>,
    pub customer_domains: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptKind {
    Objective,
    Outcome,
}

impl PromptKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PromptKind::Objective => "objective",
            PromptKind::Outcome => "outcome",
        }
    }
}

impl fmt::Display for PromptKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome values (docs/design.md, "Outcome values").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Committed,
    Advanced,
    Continuation,
    NoSale,
    NoShow,
    Rescheduled,
    Cancelled,
}

impl Outcome {
    pub const ALL: [Outcome; 7] = [
        Outcome::Committed,
        Outcome::Advanced,
        Outcome::Continuation,
        Outcome::NoSale,
        Outcome::NoShow,
        Outcome::Rescheduled,
        Outcome::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Committed => "committed",
            Outcome::Advanced => "advanced",
            Outcome::Continuation => "continuation",
            Outcome::NoSale => "no_sale",
            Outcome::NoShow => "no_show",
            Outcome::Rescheduled => "rescheduled",
            Outcome::Cancelled => "cancelled",
        }
    }

    /// A short human label for buttons and dialogs.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Committed => "They committed",
            Outcome::Advanced => "Agreed to another next step",
            Outcome::Continuation => "No commitment",
            Outcome::NoSale => "They said no",
            Outcome::NoShow => "No-show",
            Outcome::Rescheduled => "Rescheduled",
            Outcome::Cancelled => "Did not happen",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Outcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        Outcome::ALL
            .into_iter()
            .find(|o| o.as_str() == norm)
            .ok_or_else(|| {
                let all: Vec<_> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
                format!("unknown outcome `{s}`: use one of {}", all.join(", "))
            })
    }
}

/// How an answer reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    Notification,
    Dialog,
    Terminal,
    Cli,
    /// The answer page the daemon (or `nextstep serve`) shows in a browser.
    Web,
    /// Recorded by the daemon itself (a missed objective, a cancelled meeting).
    Daemon,
}

impl Via {
    pub const ALL: [Via; 6] = [
        Via::Notification,
        Via::Dialog,
        Via::Terminal,
        Via::Cli,
        Via::Web,
        Via::Daemon,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Via::Notification => "notification",
            Via::Dialog => "dialog",
            Via::Terminal => "terminal",
            Via::Cli => "cli",
            Via::Web => "web",
            Via::Daemon => "daemon",
        }
    }
}

impl std::str::FromStr for Via {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Via::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown via `{s}`"))
    }
}

/// What the user (or the daemon) answered to a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The objective the user set for the meeting (a meeting that started without one is
    /// [`Answer::ObjectiveMissed`]).
    Objective {
        text: String,
    },
    ObjectiveMissed,
    Outcome {
        result: Outcome,
        next_step: Option<String>,
        note: Option<String>,
        /// The date of the next step, when the customer gave one: a commitment that can slip
        /// (docs/design.md, "Answers and their keys").
        due: Option<NaiveDate>,
    },
    /// Show the prompt again later.
    Snooze,
    /// The user says this is not a sales meeting (for this occurrence or, when recurring, the series).
    NotSales,
    /// The prompt went away without an answer (closed, timed out).
    Dismissed,
}

impl Answer {
    /// The answer's kind as the ledger stores it and logs show it.
    pub fn kind(&self) -> &'static str {
        match self {
            Answer::Objective { .. } => "objective",
            Answer::ObjectiveMissed => "objective_missed",
            Answer::Outcome { .. } => "outcome",
            Answer::Snooze => "snooze",
            Answer::NotSales => "not_sales",
            Answer::Dismissed => "dismissed",
        }
    }

    /// The question this answer answers: the objective or the outcome. `None` for the answers
    /// that answer none (a missed objective, a snooze, not-sales, a dismissal), which the answer
    /// rule always keeps (docs/design.md, "Answers and their keys").
    pub fn question(&self) -> Option<PromptKind> {
        match self {
            Answer::Objective { .. } => Some(PromptKind::Objective),
            Answer::Outcome { .. } => Some(PromptKind::Outcome),
            _ => None,
        }
    }
}

/// A recorded objective, as the ledger and export show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectiveRecord {
    pub text: String,
    pub set_at: DateTime<Utc>,
    pub via: Via,
}

/// A recorded outcome, as the ledger and export show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeRecord {
    pub result: Outcome,
    pub next_step: Option<String>,
    pub note: Option<String>,
    pub recorded_at: DateTime<Utc>,
    pub via: Via,
    /// The date of the next step (schema v3); `None` when none was given.
    #[serde(default)]
    pub due: Option<NaiveDate>,
}

/// What a user's correction says about an account's won/lost state
/// (docs/design.md, "Answers and their keys").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkKind {
    Won,
    Lost,
    /// The account is open again, whatever its outcomes say.
    Reopen,
}

impl MarkKind {
    pub const ALL: [MarkKind; 3] = [MarkKind::Won, MarkKind::Lost, MarkKind::Reopen];

    pub fn as_str(self) -> &'static str {
        match self {
            MarkKind::Won => "won",
            MarkKind::Lost => "lost",
            MarkKind::Reopen => "reopen",
        }
    }
}

impl std::str::FromStr for MarkKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MarkKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown account mark `{s}`: use won, lost or reopen"))
    }
}

/// One row of the append-only `account_marks` table: the user's correction of an account's
/// won/lost state. The latest mark of an account (by `seq`) overrides what its outcomes say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountMark {
    /// The account name as the ledger stores it on meetings.
    pub account: String,
    pub kind: MarkKind,
    /// The day the account was won or lost (for `reopen`, the day it was reopened).
    pub on: NaiveDate,
    pub via: Via,
    pub at: DateTime<Utc>,
    /// Append order: the latest mark wins.
    pub seq: i64,
}

/// What the ledger knows about one meeting; `plan` reads it, never the database.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MeetingState {
    pub objective: Option<ObjectiveRecord>,
    /// The daemon recorded that the meeting started without an objective.
    pub objective_missed: bool,
    pub outcome: Option<OutcomeRecord>,
    /// How many times each prompt was shown (the objective prompt normally once).
    pub objective_shown: u32,
    pub outcome_shown: u32,
    pub last_objective_shown: Option<DateTime<Utc>>,
    pub last_outcome_shown: Option<DateTime<Utc>>,
    /// The user asked to be reminded later.
    pub objective_snoozed_until: Option<DateTime<Utc>>,
    pub outcome_snoozed_until: Option<DateTime<Utc>>,
    /// A user override: `Some(false)` = not a sales meeting, `Some(true)` = is one.
    pub override_customer: Option<bool>,
    /// When the daemon first saw this meeting.
    pub first_seen: Option<DateTime<Utc>>,
}

/// A prompt `plan` says should be shown, and when.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlannedPrompt {
    pub due: DateTime<Utc>,
    pub meeting: MeetingId,
    pub kind: PromptKind,
    /// 0 for the first showing, then 1, 2, … for re-asks; part of the prompt's unique key so a
    /// restart never shows the same showing twice.
    pub attempt: u32,
}

impl PlannedPrompt {
    /// The unique key of this showing in the ledger.
    pub fn key(&self) -> String {
        format!("{}#{}#{}", self.meeting, self.kind, self.attempt)
    }
}

/// A meeting as the ledger stores it, with its current objective and outcome. What export,
/// report, pending and the CLI read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedgerRow {
    pub id: MeetingId,
    pub source: String,
    /// `source/uid`: the scope of per-series overrides.
    pub series: String,
    pub title: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub tz: Option<String>,
    pub status: MeetingStatus,
    /// The verdict as last classified, with any user override applied (meeting, then series).
    pub customer: bool,
    pub reason: String,
    pub account: Option<String>,
    pub customer_domains: Vec<String>,
    pub recurring: bool,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// When the meeting disappeared from (or was cancelled in) its calendar.
    pub gone_at: Option<DateTime<Utc>>,
    pub objective: Option<ObjectiveRecord>,
    /// The daemon recorded that the meeting started without an objective.
    pub objective_missed: bool,
    pub outcome: Option<OutcomeRecord>,
}

/// A prompt waiting for an answer, as `nextstep pending` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingItem {
    /// `objective` (the meeting starts within 24 h and has none) or `outcome` (it ended, none
    /// recorded).
    pub kind: PromptKind,
    pub meeting: MeetingId,
    pub source: String,
    pub title: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub account: Option<String>,
}

/// FNV-1a over `bytes`: a hash that stays the same across runs, machines and Rust versions
/// (unlike `DefaultHasher`), for ids and file names that must be stable. Not for security.
pub fn stable_hash(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_fast_meeting_id_is_exactly_the_formatted_id() {
        let utc = |y, mo, d, h, mi| Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single();
        let leap = chrono::NaiveDate::from_ymd_opt(2026, 6, 30)
            .and_then(|d| d.and_hms_milli_opt(23, 59, 59, 1_500))
            .map(|t| t.and_utc());
        let times = [
            None,
            utc(2026, 12, 7, 9, 30),
            utc(2026, 1, 1, 0, 0),
            Utc.with_ymd_and_hms(5, 3, 4, 5, 6, 7).single(),
            Utc.with_ymd_and_hms(999, 12, 31, 23, 59, 58).single(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).single(),
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).single(),
            Utc.with_ymd_and_hms(-44, 3, 15, 12, 0, 0).single(),
            Utc.with_ymd_and_hms(12345, 1, 1, 0, 0, 0).single(),
            leap,
        ];
        // The form ids had before the fast path: every id in a ledger was written this way.
        let formatted = |t: Option<DateTime<Utc>>| match t {
            Some(t) => format!("work/uid-1@example.com/{}", t.format("%Y%m%dT%H%M%SZ")),
            None => "work/uid-1@example.com/single".to_string(),
        };
        for t in times {
            assert_eq!(
                MeetingId::new("work", "uid-1@example.com", t).as_str(),
                formatted(t),
                "{t:?}"
            );
        }
    }

    #[test]
    fn an_occurrence_id_keeps_source_uid_and_original_start() {
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 9, 30, 0).unwrap();
        let id = MeetingId::new("work", "abc@x", Some(t));
        assert_eq!(id.as_str(), "work/abc@x/20261201T093000Z");
        assert_eq!(id.series(), "work/abc@x");
    }

    #[test]
    fn a_single_event_id_does_not_depend_on_its_start() {
        assert_eq!(MeetingId::new("w", "u", None).as_str(), "w/u/single");
    }

    #[test]
    fn outcome_values_parse_with_dashes_or_underscores_and_refuse_others() {
        assert_eq!("no-show".parse::<Outcome>().unwrap(), Outcome::NoShow);
        assert_eq!("COMMITTED".parse::<Outcome>().unwrap(), Outcome::Committed);
        let err = "maybe".parse::<Outcome>().unwrap_err();
        assert!(err.contains("committed, advanced"), "{err}");
    }

    #[test]
    fn every_via_parses_from_its_own_name_and_others_are_refused() {
        for v in Via::ALL {
            assert_eq!(v.as_str().parse::<Via>(), Ok(v));
        }
        assert_eq!("fax".parse::<Via>(), Err("unknown via `fax`".to_owned()));
    }

    #[test]
    fn the_organizer_is_a_participant_once() {
        let a = Attendee {
            email: "x@acme.com".into(),
            ..Default::default()
        };
        let m = Meeting {
            id: MeetingId("s/u/single".into()),
            source: "s".into(),
            title: "t".into(),
            start: Utc::now(),
            end: Utc::now(),
            tz: None,
            all_day: false,
            status: MeetingStatus::Confirmed,
            organizer: Some(Arc::new(a.clone())),
            attendees: vec![a].into(),
            location: None,
            description: None,
            recurring: false,
        };
        assert_eq!(m.participants().count(), 1);
    }
}
