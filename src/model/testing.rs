//! Meeting builders shared by the unit tests of `ledger`, `plan` and the snapshot store, so each
//! test says only what differs from an ordinary customer call on 1 December 2026.

use chrono::{DateTime, TimeZone, Utc};

use super::{Answer, LedgerRow, Meeting, MeetingId, MeetingStatus, Outcome, Verdict};

/// 1 December 2026 at `h:m` UTC.
pub(crate) fn t(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, h, m, 0).unwrap()
}

pub(crate) fn id(s: &str) -> MeetingId {
    MeetingId(s.into())
}

/// A confirmed, non-recurring 30-minute meeting titled `Call {id}` in source `work`, with a
/// Berlin zone for display.
pub(crate) fn meeting(id: &str, start: DateTime<Utc>) -> Meeting {
    Meeting {
        id: MeetingId(id.into()),
        source: "work".into(),
        title: format!("Call {id}"),
        start,
        end: start + chrono::TimeDelta::minutes(30),
        tz: Some("Europe/Berlin".into()),
        all_day: false,
        status: MeetingStatus::Confirmed,
        organizer: None,
        attendees: Default::default(),
        location: None,
        description: None,
        recurring: false,
    }
}

/// The verdict for a meeting with Acme (`acme.com`).
pub(crate) fn customer() -> Verdict {
    Verdict {
        customer: true,
        reason: "customer domain acme.com".into(),
        account: Some("Acme".into()),
        customer_domains: vec!["acme.com".into()],
    }
}

/// The verdict for a meeting among colleagues.
pub(crate) fn internal() -> Verdict {
    Verdict {
        customer: false,
        reason: "internal only".into(),
        account: None,
        customer_domains: vec![],
    }
}

/// [`meeting`] with Acme, as the ledger's `remember` takes it.
pub(crate) fn customer_meeting(
    id: &str,
    start: DateTime<Utc>,
    recurring: bool,
) -> (Meeting, Verdict) {
    (
        Meeting {
            recurring,
            ..meeting(id, start)
        },
        customer(),
    )
}

pub(crate) fn objective(text: &str) -> Answer {
    Answer::Objective { text: text.into() }
}

pub(crate) fn outcome(result: Outcome, next_step: Option<&str>) -> Answer {
    Answer::Outcome {
        result,
        next_step: next_step.map(str::to_owned),
        note: None,
        due: None,
    }
}

/// A confirmed, non-recurring customer meeting of `account` as the ledger returns it, with the id
/// `{source}/{name}/single`, first and last seen at its start, and no answers: report and coach
/// tests set the fields that matter to them with struct update syntax.
pub(crate) fn ledger_row(
    source: &str,
    name: &str,
    account: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> LedgerRow {
    LedgerRow {
        id: MeetingId(format!("{source}/{name}/single")),
        source: source.into(),
        series: format!("{source}/{name}"),
        title: name.into(),
        start,
        end,
        tz: None,
        status: MeetingStatus::Confirmed,
        customer: true,
        reason: "customer domain".into(),
        account: Some(account.into()),
        customer_domains: vec![],
        recurring: false,
        first_seen: start,
        last_seen: start,
        gone_at: None,
        objective: None,
        objective_missed: false,
        outcome: None,
    }
}
