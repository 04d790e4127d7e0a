//! Microsoft Graph event JSON → [`Meeting`]: a pure projection, no I/O.
//!
//! Field names follow Microsoft's public reference for the event resource
//! (<https://learn.microsoft.com/graph/api/resources/event>) and for `calendarView: delta`
//! (<https://learn.microsoft.com/graph/api/event-delta>). Every field is optional here: a delta
//! page reports a deleted event as `{"id", "@removed": {"reason": "deleted"}}` and nothing else.
//!
//! Times: the source sends `Prefer: outlook.timezone="UTC"`, so `dateTime` normally comes as a
//! zone-less local time with `timeZone: "UTC"`; an IANA name or one of the common Windows zone
//! names is read too, so an answer that ignored the header still lands at the right instant.
//!
//! Ids: an occurrence or exception of a series is `source/<seriesMasterId>/<originalStart>`, so
//! "not a sales meeting" applies to the series and a moved occurrence keeps its answers; a single
//! event is `source/<iCalUId>/single` (the iCalUId stays the same across calendars and renames),
//! falling back to the Graph id.

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;

use crate::model::{Attendee, Meeting, MeetingId, MeetingStatus, PartStat, ParticipantKind, Role};
use crate::source::account;

/// One page of a delta round: events, then either a next link (more pages) or a delta link (the
/// round is complete; poll it next time).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DeltaPage {
    #[serde(default)]
    pub value: Vec<GraphEvent>,
    #[serde(rename = "@odata.nextLink")]
    pub next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    pub delta_link: Option<String>,
}

/// An event resource, reduced to what a meeting needs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphEvent {
    #[serde(default)]
    pub id: String,
    /// Present on entries a delta round removed: `{"reason": "deleted" | "changed"}`.
    #[serde(rename = "@removed")]
    pub removed: Option<serde_json::Value>,
    #[serde(rename = "iCalUId")]
    pub ical_uid: Option<String>,
    /// `singleInstance`, `occurrence`, `exception`, `seriesMaster`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub series_master_id: Option<String>,
    /// Where the recurrence put an occurrence or exception (UTC, RFC 3339).
    pub original_start: Option<String>,
    pub subject: Option<String>,
    pub location: Option<Location>,
    pub start: Option<DateTimeTimeZone>,
    pub end: Option<DateTimeTimeZone>,
    #[serde(default)]
    pub is_all_day: bool,
    #[serde(default)]
    pub is_cancelled: bool,
    #[serde(default)]
    pub is_organizer: bool,
    /// `free`, `tentative`, `busy`, `oof`, `workingElsewhere`, `unknown`.
    pub show_as: Option<String>,
    /// The signed-in user's own answer.
    pub response_status: Option<ResponseStatus>,
    #[serde(default)]
    pub attendees: Vec<GraphAttendee>,
    pub organizer: Option<Recipient>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DateTimeTimeZone {
    /// A local time without offset, e.g. `2026-12-03T15:00:00.0000000`.
    pub date_time: String,
    pub time_zone: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ResponseStatus {
    /// `none`, `organizer`, `tentativelyAccepted`, `accepted`, `declined`, `notResponded`.
    pub response: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphAttendee {
    /// `required`, `optional` or `resource` (a room or equipment).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub status: Option<ResponseStatus>,
    pub email_address: Option<EmailAddress>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    pub email_address: Option<EmailAddress>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct EmailAddress {
    pub name: Option<String>,
    pub address: Option<String>,
}

/// Graph's error body: `{"error": {"code": "syncStateNotFound", "message": "…"}}`.
pub type ErrorBody = account::ErrorBody<ErrorDetail>;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorDetail {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// Parses an error body; `None` when it is not Graph's shape.
pub fn parse_error(body: &[u8]) -> Option<ErrorDetail> {
    account::parse_error(body)
}

/// Whether an error says the delta link is no longer usable and the round must start again.
pub fn needs_resync(status: u16, detail: Option<&ErrorDetail>) -> bool {
    // Graph's own pages spell these codes in more than one case (`syncStateNotFound`,
    // `SyncStateNotFound`); the meaning is the same.
    status == 410
        || detail.is_some_and(|d| {
            ["syncStateNotFound", "resyncRequired", "syncStateInvalid"]
                .iter()
                .any(|c| d.code.eq_ignore_ascii_case(c))
        })
}

/// What one delta entry means for the meeting set (keyed by Graph event id).
#[derive(Debug, Clone, PartialEq)]
pub enum Projection {
    Meeting(Box<Meeting>),
    /// Removed from the view or cancelled: drop the entry.
    Removed,
    /// Not a meeting for us (declined, out of office, a series master); the reason says which.
    Skipped(String),
    /// Unusable data; the text names what is missing, without titles or addresses.
    Invalid(String),
}

/// Projects one delta entry for source `source`.
pub fn project(source: &str, ev: &GraphEvent) -> Projection {
    if ev.removed.is_some() || ev.is_cancelled {
        return Projection::Removed;
    }
    if ev.id.is_empty() {
        return Projection::Invalid("an event without an id".into());
    }
    if ev.kind.as_deref() == Some("seriesMaster") {
        // A calendar view lists the occurrences themselves; the master has no time of its own.
        return Projection::Skipped(format!("event {} is a series master", ev.id));
    }
    let own = ev
        .response_status
        .as_ref()
        .and_then(|r| r.response.as_deref());
    if own == Some("declined") {
        return Projection::Skipped(format!("event {} was declined", ev.id));
    }
    if let Some(s @ ("oof" | "workingElsewhere")) = ev.show_as.as_deref() {
        return Projection::Skipped(format!("event {} shows as {s}, not a meeting", ev.id));
    }
    let (start, start_at, end_at) = match account::times(&ev.id, &ev.start, &ev.end, instant) {
        Ok(times) => times,
        Err(why) => return Projection::Invalid(why),
    };
    let id = match (&ev.series_master_id, &ev.original_start) {
        (Some(series), Some(orig)) => match DateTime::parse_from_rfc3339(orig) {
            Ok(o) => MeetingId::new(source, series, Some(o.to_utc())),
            Err(_) => {
                return Projection::Invalid(format!(
                    "event {} has an unreadable originalStart",
                    ev.id
                ));
            }
        },
        _ => MeetingId::new(
            source,
            ev.ical_uid
                .as_deref()
                .filter(|u| !u.is_empty())
                .unwrap_or(&ev.id),
            None,
        ),
    };
    let status = match (ev.show_as.as_deref(), own) {
        (Some("tentative"), _) | (_, Some("tentativelyAccepted")) => MeetingStatus::Tentative,
        _ => MeetingStatus::Confirmed,
    };
    let attendees: Vec<Attendee> = ev.attendees.iter().filter_map(attendee).collect();
    let organizer = ev
        .organizer
        .as_ref()
        .and_then(|o| o.email_address.as_ref())
        .and_then(|e| {
            let email = e.address.as_deref()?.trim().to_lowercase();
            if email.is_empty() {
                return None;
            }
            Some(account::organizer(
                email,
                e.name.clone(),
                ev.is_organizer,
                &attendees,
            ))
        });
    Projection::Meeting(Box::new(Meeting {
        id,
        source: source.to_string(),
        title: ev.subject.clone().unwrap_or_default(),
        start: start_at,
        end: end_at.max(start_at),
        tz: start
            .time_zone
            .as_deref()
            .filter(|z| z.parse::<chrono_tz::Tz>().is_ok() && *z != "UTC")
            .map(str::to_string),
        all_day: ev.is_all_day,
        status,
        organizer: organizer.map(Arc::new),
        attendees: attendees.into(),
        location: ev
            .location
            .as_ref()
            .and_then(|l| l.display_name.as_deref())
            .filter(|s| !s.is_empty())
            .map(Arc::from),
        // `Calendars.ReadBasic` withholds the body, so there is no description to keep.
        description: None,
        recurring: ev.series_master_id.is_some(),
    }))
}

fn attendee(a: &GraphAttendee) -> Option<Attendee> {
    let e = a.email_address.as_ref()?;
    let email = e.address.as_deref()?.trim().to_lowercase();
    if email.is_empty() {
        return None;
    }
    let partstat = match a.status.as_ref().and_then(|s| s.response.as_deref()) {
        Some("accepted" | "organizer") => PartStat::Accepted,
        Some("declined") => PartStat::Declined,
        Some("tentativelyAccepted") => PartStat::Tentative,
        _ => PartStat::NeedsAction,
    };
    let (role, kind) = match a.kind.as_deref() {
        // Graph does not tell a room from other equipment; rooms are by far the common case.
        Some("resource") => (Role::NonParticipant, ParticipantKind::Room),
        Some("optional") => (Role::Optional, ParticipantKind::Individual),
        _ => (Role::Required, ParticipantKind::Individual),
    };
    Some(Attendee {
        email,
        name: e.name.clone(),
        role,
        partstat,
        kind,
        is_self: false,
    })
}

/// Windows zone names Outlook uses most, with their IANA equivalent (CLDR's windowsZones table,
/// territory "001"). Only needed when a server ignores `Prefer: outlook.timezone="UTC"`.
const WINDOWS_ZONES: [(&str, &str); 16] = [
    ("UTC", "UTC"),
    ("GMT Standard Time", "Europe/London"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("E. Europe Standard Time", "Europe/Chisinau"),
    ("FLE Standard Time", "Europe/Kiev"),
    ("Eastern Standard Time", "America/New_York"),
    ("Central Standard Time", "America/Chicago"),
    ("Mountain Standard Time", "America/Denver"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("India Standard Time", "Asia/Calcutta"),
    ("China Standard Time", "Asia/Shanghai"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
];

/// The zone a `timeZone` names: IANA, or a Windows name from [`WINDOWS_ZONES`].
fn zone(name: &str) -> Option<chrono_tz::Tz> {
    name.parse().ok().or_else(|| {
        WINDOWS_ZONES
            .iter()
            .find(|(w, _)| *w == name)
            .and_then(|(_, iana)| iana.parse().ok())
    })
}

/// The UTC instant of a `dateTimeTimeZone`; `None` when the time or the zone is unreadable. A
/// missing zone is UTC (what the source asked for).
pub fn instant(t: &DateTimeTimeZone) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(&t.date_time, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    let tz = zone(t.time_zone.as_deref().unwrap_or("UTC"))?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(v: serde_json::Value) -> GraphEvent {
        serde_json::from_value(v).unwrap()
    }

    fn meeting(p: Projection) -> Meeting {
        match p {
            Projection::Meeting(m) => *m,
            other => panic!("not a meeting: {other:?}"),
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn base() -> serde_json::Value {
        json!({
            "id": "AAMk-1",
            "iCalUId": "040000008200E001",
            "type": "singleInstance",
            "subject": "Pricing review",
            "start": {"dateTime": "2026-12-03T15:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2026-12-03T16:00:00.0000000", "timeZone": "UTC"},
            "isAllDay": false,
            "isCancelled": false,
            "showAs": "busy",
            "responseStatus": {"response": "accepted", "time": "2026-11-30T10:00:00Z"},
            "location": {"displayName": "Room 4"},
            "organizer": {"emailAddress": {"name": "Ana", "address": "Ana@Example.com"}},
            "attendees": [
                {"type": "required", "status": {"response": "accepted"},
                 "emailAddress": {"name": "Ana", "address": "ana@example.com"}},
                {"type": "optional", "status": {"response": "tentativelyAccepted"},
                 "emailAddress": {"name": "Bo", "address": "bo@customer.com"}},
                {"type": "resource", "status": {"response": "accepted"},
                 "emailAddress": {"name": "Room 4", "address": "room4@example.com"}}
            ]
        })
    }

    #[test]
    fn a_single_event_becomes_a_meeting_with_its_attendees_and_organizer() {
        let m = meeting(project("m365", &event(base())));
        assert_eq!(m.id.as_str(), "m365/040000008200E001/single");
        assert_eq!(m.title, "Pricing review");
        assert_eq!(m.start, t("2026-12-03T15:00:00Z"));
        assert_eq!(m.end, t("2026-12-03T16:00:00Z"));
        assert_eq!(m.location.as_deref(), Some("Room 4"));
        assert_eq!(m.status, MeetingStatus::Confirmed);
        assert!(!m.all_day && !m.recurring);
        assert_eq!(m.attendees.len(), 3);
        assert_eq!(m.attendees[1].email, "bo@customer.com");
        assert_eq!(m.attendees[1].role, Role::Optional);
        assert_eq!(m.attendees[1].partstat, PartStat::Tentative);
        let org = m.organizer.as_deref().unwrap();
        assert_eq!(org.email, "ana@example.com");
        assert_eq!(org.role, Role::Chair);
        assert!(!org.is_self);
    }

    #[test]
    fn a_resource_attendee_is_a_room_that_does_not_participate() {
        let m = meeting(project("m365", &event(base())));
        let room = &m.attendees[2];
        assert_eq!(room.kind, ParticipantKind::Room);
        assert_eq!(room.role, Role::NonParticipant);
    }

    #[test]
    fn a_meeting_the_user_declined_is_skipped() {
        let mut v = base();
        v["responseStatus"] = json!({"response": "declined"});
        assert!(
            matches!(project("m365", &event(v)), Projection::Skipped(r) if r.contains("declined"))
        );
    }

    #[test]
    fn a_cancelled_meeting_and_a_removed_entry_are_removed() {
        let mut v = base();
        v["isCancelled"] = json!(true);
        assert_eq!(project("m365", &event(v)), Projection::Removed);
        let gone = event(json!({"id": "AAMk-1", "@removed": {"reason": "deleted"}}));
        assert_eq!(project("m365", &gone), Projection::Removed);
    }

    #[test]
    fn out_of_office_and_working_elsewhere_are_not_meetings() {
        for s in ["oof", "workingElsewhere"] {
            let mut v = base();
            v["showAs"] = json!(s);
            assert!(
                matches!(project("m365", &event(v)), Projection::Skipped(_)),
                "{s}"
            );
        }
    }

    #[test]
    fn show_as_tentative_makes_a_tentative_meeting() {
        let mut v = base();
        v["showAs"] = json!("tentative");
        assert_eq!(
            meeting(project("m365", &event(v))).status,
            MeetingStatus::Tentative
        );
    }

    #[test]
    fn an_all_day_event_is_marked_all_day() {
        let mut v = base();
        v["isAllDay"] = json!(true);
        v["start"] = json!({"dateTime": "2026-12-03T00:00:00.0000000", "timeZone": "UTC"});
        v["end"] = json!({"dateTime": "2026-12-04T00:00:00.0000000", "timeZone": "UTC"});
        let m = meeting(project("m365", &event(v)));
        assert!(m.all_day);
        assert_eq!(m.end - m.start, chrono::Duration::days(1));
    }

    #[test]
    fn occurrences_are_tied_to_their_series_and_keep_their_id_when_moved() {
        let mut v = base();
        v["id"] = json!("AAMk-occ-7");
        v["type"] = json!("exception");
        v["seriesMasterId"] = json!("AAMk-master");
        v["originalStart"] = json!("2026-12-10T15:00:00Z");
        // Moved by an hour: the id still names the original slot.
        v["start"] = json!({"dateTime": "2026-12-10T16:00:00.0000000", "timeZone": "UTC"});
        v["end"] = json!({"dateTime": "2026-12-10T17:00:00.0000000", "timeZone": "UTC"});
        let m = meeting(project("m365", &event(v)));
        assert_eq!(m.id.as_str(), "m365/AAMk-master/20261210T150000Z");
        assert_eq!(m.id.series(), "m365/AAMk-master");
        assert!(m.recurring);
        assert_eq!(m.start, t("2026-12-10T16:00:00Z"));
    }

    #[test]
    fn a_series_master_is_not_a_meeting_of_its_own() {
        let mut v = base();
        v["type"] = json!("seriesMaster");
        assert!(matches!(project("m365", &event(v)), Projection::Skipped(_)));
    }

    #[test]
    fn a_time_in_a_windows_zone_lands_at_the_right_instant() {
        // 09:00 in New York on 3 December is 14:00 UTC (EST, UTC-5).
        let at = DateTimeTimeZone {
            date_time: "2026-12-03T09:00:00.0000000".into(),
            time_zone: Some("Eastern Standard Time".into()),
        };
        assert_eq!(instant(&at), Some(t("2026-12-03T14:00:00Z")));
        let iana = DateTimeTimeZone {
            date_time: "2026-07-03T09:00:00".into(),
            time_zone: Some("Europe/Berlin".into()),
        };
        assert_eq!(instant(&iana), Some(t("2026-07-03T07:00:00Z")));
        let unknown = DateTimeTimeZone {
            date_time: "2026-07-03T09:00:00".into(),
            time_zone: Some("Mars Standard Time".into()),
        };
        assert_eq!(instant(&unknown), None);
    }

    #[test]
    fn the_organizer_flag_marks_the_user_as_the_organizer() {
        let mut v = base();
        v["isOrganizer"] = json!(true);
        v["responseStatus"] = json!({"response": "organizer"});
        let m = meeting(project("m365", &event(v)));
        assert!(m.organizer.unwrap().is_self);
    }

    #[test]
    fn an_entry_without_times_is_invalid_and_names_only_its_id() {
        let v = json!({"id": "AAMk-9", "subject": "Secret title"});
        match project("m365", &event(v)) {
            Projection::Invalid(why) => {
                assert!(why.contains("AAMk-9") && !why.contains("Secret"), "{why}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_delta_page_carries_either_a_next_link_or_a_delta_link() {
        let p: DeltaPage = serde_json::from_value(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)",
            "@odata.nextLink": "https://graph.microsoft.com/v1.0/me/calendarView/delta?$skiptoken=abc",
            "value": []
        }))
        .unwrap();
        assert!(p.next_link.is_some() && p.delta_link.is_none() && p.value.is_empty());
    }

    #[test]
    fn gone_and_sync_state_errors_mean_resync() {
        let d = parse_error(br#"{"error":{"code":"syncStateNotFound","message":"x"}}"#).unwrap();
        assert!(needs_resync(400, Some(&d)));
        assert!(needs_resync(410, None));
        let upper = parse_error(br#"{"error":{"code":"SyncStateNotFound","message":"x"}}"#);
        assert!(needs_resync(400, upper.as_ref()));
        let other = parse_error(br#"{"error":{"code":"ErrorAccessDenied","message":"x"}}"#);
        assert!(!needs_resync(403, other.as_ref()));
    }
}
