//! Google Calendar v3 JSON → [`Meeting`]: a pure projection, no I/O.
//!
//! Field names follow Google's public reference for the Events resource
//! (<https://developers.google.com/calendar/api/v3/reference/events>) and the error format of
//! <https://developers.google.com/calendar/api/guides/errors>. Every field is optional here: an
//! incremental sync reports a deleted event as little more than `{"id", "status": "cancelled"}`.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use std::sync::Arc;

use crate::model::{Attendee, Meeting, MeetingId, MeetingStatus, PartStat, ParticipantKind, Role};
use crate::source::account;

/// One page of `events.list` (`"kind": "calendar#events"`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventsPage {
    #[serde(default)]
    pub items: Vec<GoogleEvent>,
    pub next_page_token: Option<String>,
    /// Present on the last page only.
    pub next_sync_token: Option<String>,
    /// The calendar's zone; all-day events are placed in it.
    pub time_zone: Option<String>,
}

/// An Events resource (`"kind": "calendar#event"`), reduced to what a meeting needs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GoogleEvent {
    #[serde(default)]
    pub id: String,
    /// `confirmed`, `tentative` or `cancelled`.
    pub status: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub location: Option<String>,
    pub start: Option<EventDateTime>,
    pub end: Option<EventDateTime>,
    #[serde(default)]
    pub attendees: Vec<EventAttendee>,
    pub organizer: Option<Person>,
    /// For an instance of a recurring event: the id of the series.
    pub recurring_event_id: Option<String>,
    /// For an instance of a recurring event: where the recurrence rule put it.
    pub original_start_time: Option<EventDateTime>,
    /// RRULE/EXDATE lines on a series master (absent on instances with `singleEvents=true`).
    #[serde(default)]
    pub recurrence: Vec<String>,
    /// `default`, `outOfOffice`, `focusTime`, `workingLocation`, `birthday`, `fromGmail`.
    pub event_type: Option<String>,
}

/// `start`, `end` and `originalStartTime`: either `date` (all-day) or `dateTime`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EventDateTime {
    pub date: Option<NaiveDate>,
    /// RFC 3339; an offset is required unless `timeZone` is given.
    pub date_time: Option<String>,
    pub time_zone: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventAttendee {
    pub email: Option<String>,
    pub display_name: Option<String>,
    #[serde(default)]
    pub organizer: bool,
    #[serde(default, rename = "self")]
    pub is_self: bool,
    #[serde(default)]
    pub resource: bool,
    #[serde(default)]
    pub optional: bool,
    /// `needsAction`, `declined`, `tentative`, `accepted`.
    pub response_status: Option<String>,
}

/// `organizer` and `creator`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    pub email: Option<String>,
    pub display_name: Option<String>,
    #[serde(default, rename = "self")]
    pub is_self: bool,
}

/// Google's error body: `{"error": {"errors": [{"domain", "reason", "message"}], "code", "message"}}`.
pub type ErrorBody = account::ErrorBody<ErrorDetail>;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorDetail {
    #[serde(default)]
    pub errors: Vec<ErrorItem>,
    #[serde(default)]
    pub code: u16,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorItem {
    #[serde(default)]
    pub domain: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub message: String,
}

/// Parses an error body; `None` when it is not Google's shape.
pub fn parse_error(body: &[u8]) -> Option<ErrorDetail> {
    account::parse_error(body)
}

/// Whether an error body (of a 403) says a rate limit was hit rather than access was refused.
pub fn is_rate_limit(detail: &ErrorDetail) -> bool {
    detail.errors.iter().any(|e| {
        matches!(
            e.reason.as_str(),
            "rateLimitExceeded" | "userRateLimitExceeded" | "quotaExceeded"
        ) || e.domain == "usageLimits"
    })
}

/// What one event means for the meeting set.
#[derive(Debug, Clone, PartialEq)]
pub enum Projection {
    Meeting(Box<Meeting>),
    /// Deleted or cancelled: remove it (and, for a series id, its instances) from the set.
    Cancelled,
    /// A Google event that is not a meeting (focus time, out of office, …); the reason says which.
    NotAMeeting(String),
    /// Unusable data; the text names what is missing, without titles or addresses.
    Invalid(String),
}

const NOT_MEETINGS: [&str; 4] = ["workingLocation", "outOfOffice", "focusTime", "birthday"];

/// Projects one event of calendar page `calendar_tz` (the page's `timeZone`) for source `source`.
pub fn project(source: &str, ev: &GoogleEvent, calendar_tz: Option<&str>) -> Projection {
    if ev.status.as_deref() == Some("cancelled") {
        return Projection::Cancelled;
    }
    if ev.id.is_empty() {
        return Projection::Invalid("an event without an id".into());
    }
    if let Some(t) = ev.event_type.as_deref()
        && NOT_MEETINGS.contains(&t)
    {
        return Projection::NotAMeeting(format!("event {} is {t}, not a meeting", ev.id));
    }
    let (start, start_at, end_at) =
        match account::times(&ev.id, &ev.start, &ev.end, |t| instant(t, calendar_tz)) {
            Ok(times) => times,
            Err(why) => return Projection::Invalid(why),
        };
    let all_day = start.date.is_some();
    let id = match (&ev.recurring_event_id, &ev.original_start_time) {
        (Some(series), Some(orig)) => match instant(orig, calendar_tz) {
            Some(o) => MeetingId::new(source, series, Some(o)),
            None => {
                return Projection::Invalid(format!(
                    "event {} has an unreadable originalStartTime",
                    ev.id
                ));
            }
        },
        _ => MeetingId::new(source, &ev.id, None),
    };
    let status = match ev.status.as_deref() {
        Some("tentative") => MeetingStatus::Tentative,
        _ => MeetingStatus::Confirmed,
    };
    let attendees: Vec<Attendee> = ev.attendees.iter().filter_map(attendee).collect();
    let organizer = ev.organizer.as_ref().and_then(|o| {
        let email = o.email.as_deref()?.trim().to_lowercase();
        Some(account::organizer(
            email,
            o.display_name.clone(),
            o.is_self,
            &attendees,
        ))
    });
    let tz = start
        .time_zone
        .clone()
        .or_else(|| calendar_tz.map(str::to_string));
    Projection::Meeting(Box::new(Meeting {
        id,
        source: source.to_string(),
        title: ev.summary.clone().unwrap_or_default(),
        start: start_at,
        end: end_at.max(start_at),
        tz,
        all_day,
        status,
        organizer: organizer.map(Arc::new),
        attendees: attendees.into(),
        location: ev
            .location
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(Arc::from),
        description: ev
            .description
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(Arc::from),
        recurring: ev.recurring_event_id.is_some() || !ev.recurrence.is_empty(),
    }))
}

fn attendee(a: &EventAttendee) -> Option<Attendee> {
    let email = a.email.as_deref()?.trim().to_lowercase();
    if email.is_empty() {
        return None;
    }
    let partstat = match a.response_status.as_deref() {
        Some("accepted") => PartStat::Accepted,
        Some("declined") => PartStat::Declined,
        Some("tentative") => PartStat::Tentative,
        _ => PartStat::NeedsAction,
    };
    let role = if a.organizer {
        Role::Chair
    } else if a.optional {
        Role::Optional
    } else {
        Role::Required
    };
    Some(Attendee {
        email,
        name: a.display_name.clone(),
        role,
        partstat,
        kind: if a.resource {
            ParticipantKind::Resource
        } else {
            ParticipantKind::Individual
        },
        is_self: a.is_self,
    })
}

/// The UTC instant of a `start`/`end`: `dateTime` as written (its offset wins), or midnight of
/// `date` in the event's or the calendar's zone (UTC when neither is known).
pub fn instant(t: &EventDateTime, calendar_tz: Option<&str>) -> Option<DateTime<Utc>> {
    if let Some(dt) = &t.date_time {
        if let Ok(d) = DateTime::<FixedOffset>::parse_from_rfc3339(dt) {
            return Some(d.with_timezone(&Utc));
        }
        // Google allows a dateTime without offset when timeZone is given.
        let naive = chrono::NaiveDateTime::parse_from_str(dt, "%Y-%m-%dT%H:%M:%S").ok()?;
        let tz: chrono_tz::Tz = t.time_zone.as_deref().or(calendar_tz)?.parse().ok()?;
        return tz
            .from_local_datetime(&naive)
            .earliest()
            .map(|d| d.with_timezone(&Utc));
    }
    let date = t.date?;
    let midnight = date.and_hms_opt(0, 0, 0)?;
    match t
        .time_zone
        .as_deref()
        .or(calendar_tz)
        .and_then(|z| z.parse::<chrono_tz::Tz>().ok())
    {
        Some(tz) => tz
            .from_local_datetime(&midnight)
            .earliest()
            .map(|d| d.with_timezone(&Utc)),
        None => Some(Utc.from_utc_datetime(&midnight)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(json: &str) -> GoogleEvent {
        serde_json::from_str(json).unwrap()
    }

    fn meeting(json: &str) -> Meeting {
        match project("work", &ev(json), Some("Europe/Berlin")) {
            Projection::Meeting(m) => *m,
            other => panic!("not a meeting: {other:?}"),
        }
    }

    const BASIC: &str = r#"{
      "kind": "calendar#event", "etag": "\"3412345678901234\"", "id": "abc123",
      "status": "confirmed", "summary": "Acme review", "location": "Room 4",
      "created": "2026-11-20T10:00:00.000Z", "updated": "2026-11-21T10:00:00.000Z",
      "organizer": {"email": "alex@mycorp.com", "self": true},
      "start": {"dateTime": "2026-12-01T10:00:00+01:00", "timeZone": "Europe/Berlin"},
      "end": {"dateTime": "2026-12-01T11:00:00+01:00", "timeZone": "Europe/Berlin"},
      "iCalUID": "abc123@google.com", "sequence": 0, "eventType": "default",
      "attendees": [
        {"email": "alex@mycorp.com", "organizer": true, "self": true, "responseStatus": "accepted"},
        {"email": "Jo@Acme.com", "displayName": "Jo", "responseStatus": "needsAction"},
        {"email": "pat@acme.com", "optional": true, "responseStatus": "tentative"},
        {"email": "c_188@resource.calendar.google.com", "displayName": "Room 4", "resource": true, "responseStatus": "accepted"},
        {"email": "kim@acme.com", "responseStatus": "declined"}
      ]
    }"#;

    #[test]
    fn a_single_event_gets_a_single_id_and_utc_times() {
        let m = meeting(BASIC);
        assert_eq!(m.id.as_str(), "work/abc123/single");
        assert_eq!(m.start.to_rfc3339(), "2026-12-01T09:00:00+00:00");
        assert_eq!(m.end.to_rfc3339(), "2026-12-01T10:00:00+00:00");
        assert_eq!(m.tz.as_deref(), Some("Europe/Berlin"));
        assert_eq!(m.title, "Acme review");
        assert!(!m.all_day && !m.recurring);
        assert_eq!(m.status, MeetingStatus::Confirmed);
    }

    #[test]
    fn attendees_keep_self_optional_resource_and_their_answers() {
        let m = meeting(BASIC);
        let a = &m.attendees;
        assert_eq!(a.len(), 5);
        assert!(a[0].is_self && a[0].role == Role::Chair && a[0].partstat == PartStat::Accepted);
        assert_eq!(a[1].email, "jo@acme.com", "addresses are lower-cased");
        assert_eq!(a[1].partstat, PartStat::NeedsAction);
        assert_eq!(a[2].role, Role::Optional);
        assert_eq!(a[2].partstat, PartStat::Tentative);
        assert_eq!(a[3].kind, ParticipantKind::Resource);
        assert_eq!(a[4].partstat, PartStat::Declined);
        let org = m.organizer.unwrap();
        assert!(org.is_self);
        assert_eq!(org.email, "alex@mycorp.com");
    }

    #[test]
    fn an_instance_of_a_series_is_named_by_series_and_original_start() {
        let m = meeting(
            r#"{"id": "ser_20261201T090000Z", "status": "confirmed",
                "recurringEventId": "ser",
                "originalStartTime": {"dateTime": "2026-12-01T10:00:00+01:00"},
                "start": {"dateTime": "2026-12-01T15:00:00+01:00"},
                "end": {"dateTime": "2026-12-01T16:00:00+01:00"}}"#,
        );
        assert_eq!(m.id.as_str(), "work/ser/20261201T090000Z");
        assert!(m.recurring);
        assert_eq!(m.start.to_rfc3339(), "2026-12-01T14:00:00+00:00");
    }

    #[test]
    fn a_moved_instance_keeps_the_id_of_its_original_slot() {
        let at = |start: &str| {
            meeting(&format!(
                r#"{{"id": "s_1", "recurringEventId": "s",
                    "originalStartTime": {{"dateTime": "2026-12-01T09:00:00Z"}},
                    "start": {{"dateTime": "{start}"}}, "end": {{"dateTime": "2026-12-03T18:00:00Z"}}}}"#
            ))
            .id
        };
        assert_eq!(at("2026-12-01T09:00:00Z"), at("2026-12-02T13:00:00Z"));
    }

    #[test]
    fn an_all_day_event_starts_at_midnight_in_the_calendar_zone() {
        let m = meeting(
            r#"{"id": "d", "start": {"date": "2026-12-24"}, "end": {"date": "2026-12-25"}}"#,
        );
        assert!(m.all_day);
        assert_eq!(m.start.to_rfc3339(), "2026-12-23T23:00:00+00:00");
        assert_eq!(m.end.to_rfc3339(), "2026-12-24T23:00:00+00:00");
    }

    #[test]
    fn a_date_time_without_offset_uses_its_time_zone() {
        let m = meeting(
            r#"{"id": "z", "start": {"dateTime": "2026-07-01T09:00:00", "timeZone": "America/New_York"},
                "end": {"dateTime": "2026-07-01T10:00:00", "timeZone": "America/New_York"}}"#,
        );
        assert_eq!(m.start.to_rfc3339(), "2026-07-01T13:00:00+00:00");
    }

    #[test]
    fn a_tentative_event_is_tentative() {
        let m = meeting(
            r#"{"id": "t", "status": "tentative", "start": {"date": "2026-12-24"}, "end": {"date": "2026-12-25"}}"#,
        );
        assert_eq!(m.status, MeetingStatus::Tentative);
    }

    #[test]
    fn a_cancelled_event_with_only_id_and_status_means_remove() {
        let p = project(
            "work",
            &ev(r#"{"kind": "calendar#event", "etag": "\"1\"", "id": "x", "status": "cancelled"}"#),
            None,
        );
        assert_eq!(p, Projection::Cancelled);
    }

    #[test]
    fn focus_time_out_of_office_working_location_and_birthdays_are_not_meetings() {
        for t in ["focusTime", "outOfOffice", "workingLocation", "birthday"] {
            let json = format!(
                r#"{{"id": "f", "eventType": "{t}", "start": {{"date": "2026-12-24"}}, "end": {{"date": "2026-12-25"}}}}"#
            );
            assert!(
                matches!(project("w", &ev(&json), None), Projection::NotAMeeting(ref r) if r.contains(t)),
                "{t}"
            );
        }
    }

    #[test]
    fn an_event_without_start_is_invalid_and_named_by_id_only() {
        let p = project("w", &ev(r#"{"id": "n", "summary": "Secret plans"}"#), None);
        match p {
            Projection::Invalid(why) => {
                assert!(why.contains("n") && !why.contains("Secret"), "{why}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_events_page_keeps_its_tokens_and_zone() {
        let p: EventsPage = serde_json::from_str(
            r#"{"kind": "calendar#events", "etag": "\"p\"", "summary": "alex@mycorp.com",
                "updated": "2026-11-21T10:00:00.000Z", "timeZone": "Europe/Berlin",
                "accessRole": "owner", "defaultReminders": [],
                "nextSyncToken": "CPDAlvWDx70CEPDAlvWDx70CGAU=", "items": []}"#,
        )
        .unwrap();
        assert_eq!(
            p.next_sync_token.as_deref(),
            Some("CPDAlvWDx70CEPDAlvWDx70CGAU=")
        );
        assert!(p.next_page_token.is_none() && p.items.is_empty());
        assert_eq!(p.time_zone.as_deref(), Some("Europe/Berlin"));
    }

    #[test]
    fn rate_limit_errors_are_told_from_permission_errors() {
        let rate = parse_error(
            br#"{"error": {"errors": [{"domain": "usageLimits", "reason": "userRateLimitExceeded",
                "message": "User Rate Limit Exceeded"}], "code": 403, "message": "User Rate Limit Exceeded"}}"#,
        )
        .unwrap();
        assert!(is_rate_limit(&rate));
        let denied = parse_error(
            br#"{"error": {"errors": [{"domain": "global", "reason": "forbidden",
                "message": "Forbidden"}], "code": 403, "message": "Forbidden"}}"#,
        )
        .unwrap();
        assert!(!is_rate_limit(&denied));
        assert!(parse_error(b"<html>").is_none());
    }
}
