//! What the sources of an account of calendars behind OAuth (Google, Microsoft) do the same way:
//! one GET of their API with a bearer token ([`get`]), the result of one poll ([`fetched`],
//! pure) from the meetings each calendar keeps by the provider's event id, and the parts of an
//! event's projection their JSON shapes share ([`times`], [`organizer`], [`parse_error`], pure).
//!
//! What it promises: a refused access token is refreshed once, and a fresh one refused is
//! `Unauthorized` with the provider's fix; a body is read up to [`MAX_RESPONSE_BYTES`]; errors name
//! the URL as the caller shows it (without its query, which may carry tokens). The meetings of a
//! poll are those in the window, the same invitation in two calendars once; the series are every
//! one the account holds, in the window or not (so that a meeting that left the window is dropped
//! rather than kept at its old time, see [`Fetched::series`]); and the removals are the ones no
//! calendar still holds (see [`Fetched::incremental`]).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{CappedReadError, Fetched, MAX_RESPONSE_BYTES, SourceError, Window, read_capped};
use crate::auth::session::Session;
use crate::http;
use crate::model::{Attendee, Meeting, MeetingId, PartStat, Role};
use crate::secret::Secret;

/// What the API answered to one [`get`], after any refresh.
#[derive(Debug)]
pub struct Answered {
    /// Never a first 401 (that one is refreshed and retried).
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
    /// Responses read (2 when a refresh came between) and their body bytes, for measurements.
    pub responses: u64,
    pub bytes: u64,
}

/// GETs with `request` (built afresh for each try, given the access token) as source
/// `source_name`, from `api` (its name in the trace log), the URL shown as `shown`; on 401 the access token is refreshed once and the GET
/// tried again; a second 401 is `Unauthorized` with `fix` (the auth command to run).
pub async fn get(
    source_name: &str,
    api: &str,
    shown: &str,
    auth: &mut Session,
    request: impl Fn(&Secret) -> reqwest::RequestBuilder,
    fix: impl FnOnce() -> String,
) -> Result<Answered, SourceError> {
    let network = |e| SourceError::Network {
        source_name: source_name.to_string(),
        url: shown.to_string(),
        detail: http::describe(e),
    };
    let mut refreshed = false;
    let (mut responses, mut bytes) = (0, 0);
    loop {
        let token = auth
            .access_token()
            .await
            .map_err(|e| e.into_source_error(source_name))?;
        let resp = request(&token).send().await.map_err(network)?;
        let status = resp.status().as_u16();
        // The header is relative to the server's clock; reading the system clock here only turns
        // a date into a wait, it schedules nothing.
        let retry_after = http::retry_after(resp.headers(), Utc::now());
        let body = read_capped(resp, MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| match e {
                CappedReadError::Network(e) => network(e),
                too_big => SourceError::Data {
                    source_name: source_name.to_string(),
                    location: shown.to_string(),
                    detail: too_big.to_string(),
                },
            })?;
        responses += 1;
        bytes += body.len() as u64;
        tracing::trace!(status, bytes = body.len(), "{api} answered");
        match status {
            401 if !refreshed => {
                tracing::debug!("access token refused (401); refreshing once");
                refreshed = true;
                auth.invalidate_access();
                auth.refresh()
                    .await
                    .map_err(|e| e.into_source_error(source_name))?;
            }
            401 => {
                return Err(SourceError::Unauthorized {
                    source_name: source_name.to_string(),
                    fix: fix(),
                });
            }
            _ => {
                return Ok(Answered {
                    status,
                    retry_after,
                    body,
                    responses,
                    bytes,
                });
            }
        }
    }
}

/// The poll's result from the meetings of each calendar (by event id; `None` for a calendar not
/// read yet), and how many of each calendar's meetings are in the window. `removed` is taken:
/// what a poll reports, it reports once.
pub fn fetched(
    calendars: &[Option<&BTreeMap<String, Meeting>>],
    window: Window,
    warnings: Vec<String>,
    changed: bool,
    removed: &mut Vec<MeetingId>,
) -> (Fetched, Vec<usize>) {
    let mut by_id: BTreeMap<&MeetingId, &Meeting> = BTreeMap::new();
    let in_window = calendars
        .iter()
        .map(|events| {
            let mut n = 0;
            for m in events.iter().flat_map(|e| e.values()) {
                if window.overlaps(m.start, m.end) {
                    n += 1;
                    // The same invitation in two calendars is one meeting.
                    by_id.entry(&m.id).or_insert(m);
                }
            }
            n
        })
        .collect();
    let meetings = by_id.into_values().cloned().collect();
    let series = calendars
        .iter()
        .flat_map(|events| events.iter().flat_map(|e| e.values()))
        .map(|m| m.id.series().to_string())
        .collect();
    let fetched =
        Fetched::incremental(meetings, warnings, changed, series, std::mem::take(removed));
    (fetched, in_window)
}

/// The `start` of event `id` with the UTC instants of its start and end, read with `instant`;
/// `Err` is the warning when either is missing or unreadable (it names the id, nothing personal).
pub fn times<'a, T>(
    id: &str,
    start: &'a Option<T>,
    end: &Option<T>,
    instant: impl Fn(&T) -> Option<DateTime<Utc>>,
) -> Result<(&'a T, DateTime<Utc>, DateTime<Utc>), String> {
    let (Some(start), Some(end)) = (start, end) else {
        return Err(format!("event {id} has no start or end"));
    };
    let (Some(start_at), Some(end_at)) = (instant(start), instant(end)) else {
        return Err(format!("event {id} has an unreadable start or end"));
    };
    Ok((start, start_at, end_at))
}

/// The organizer (`email` already lower-cased) as the meeting's chair. Its own answer and kind
/// are on its attendee entry, when it has one; without one it accepted, as an individual.
pub fn organizer(
    email: String,
    name: Option<String>,
    is_self: bool,
    attendees: &[Attendee],
) -> Attendee {
    let listed = attendees.iter().find(|a| a.email == email);
    Attendee {
        partstat: listed.map(|a| a.partstat).unwrap_or(PartStat::Accepted),
        kind: listed.map(|a| a.kind).unwrap_or_default(),
        email,
        name,
        role: Role::Chair,
        is_self,
    }
}

/// An error body as both providers wrap it: `{"error": …}`, with the provider's own shape inside.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorBody<D> {
    pub error: D,
}

/// The `error` object of an error body; `None` when the body is not `{"error": D}`.
pub fn parse_error<D: DeserializeOwned>(body: &[u8]) -> Option<D> {
    serde_json::from_slice::<ErrorBody<D>>(body)
        .ok()
        .map(|b| b.error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{meeting, t};

    #[test]
    fn an_invitation_in_two_calendars_is_one_meeting_and_a_held_series_outside_the_window_is_listed()
     {
        let window = Window {
            start: t(0, 0),
            end: t(12, 0),
        };
        let shared = meeting("work/inv/single", t(9, 0));
        let later = meeting("work/far/single", t(20, 0));
        let a = BTreeMap::from([("inv".to_string(), shared.clone())]);
        let b = BTreeMap::from([
            ("inv".to_string(), shared.clone()),
            ("far".to_string(), later),
        ]);
        let mut removed = vec![MeetingId::new("work", "gone", None), shared.id.clone()];
        let (f, in_window) = fetched(
            &[Some(&a), Some(&b), None],
            window,
            vec!["one skipped".into()],
            true,
            &mut removed,
        );
        assert_eq!(f.meetings, [shared]);
        assert_eq!(in_window, [1, 1, 0]);
        assert!(f.series.contains("work/far"), "{:?}", f.series);
        assert_eq!(
            f.removed.iter().map(MeetingId::as_str).collect::<Vec<_>>(),
            ["work/gone/single"],
            "a removal another calendar still holds is not one"
        );
        assert!(removed.is_empty(), "reported once");
        assert!(f.changed && !f.complete);
        assert_eq!(f.warnings, ["one skipped"]);
    }
}
