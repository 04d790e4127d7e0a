//! The fake Graph: `/me/calendars`, and `calendarView/delta` on the default calendar and on a
//! calendar by id, with pages, delta links, removals, 410, 401, 429 and 503, and times in the zone
//! the request prefers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::{Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

use super::{Cursor, DEFAULT_PAGE_SIZE, DeltaState, Fault, Logged, ME, State};
use crate::support::oauth::{percent_decode, query_of, rand_token};
use crate::support::provider::prefer_of;

/// The Windows zone names this fake knows, with their IANA zone (CLDR's windowsZones, "001").
fn zone(name: &str) -> chrono_tz::Tz {
    match name {
        "UTC" => chrono_tz::UTC,
        "Eastern Standard Time" => chrono_tz::America::New_York,
        "Pacific Standard Time" => chrono_tz::America::Los_Angeles,
        "W. Europe Standard Time" => chrono_tz::Europe::Berlin,
        "GMT Standard Time" => chrono_tz::Europe::London,
        "Tokyo Standard Time" => chrono_tz::Asia::Tokyo,
        other => panic!("the fake does not know the zone {other}"),
    }
}

fn instant(t: &Value) -> DateTime<Utc> {
    let naive =
        NaiveDateTime::parse_from_str(t["dateTime"].as_str().unwrap(), "%Y-%m-%dT%H:%M:%S%.f")
            .unwrap();
    zone(t["timeZone"].as_str().unwrap())
        .from_local_datetime(&naive)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

fn bounds(ev: &Value) -> (DateTime<Utc>, DateTime<Utc>) {
    (instant(&ev["start"]), instant(&ev["end"]))
}

/// The event as answered: in UTC when the request asked for it.
fn rendered(ev: &Value, utc: bool) -> Value {
    let mut ev = ev.clone();
    if utc {
        for k in ["start", "end"] {
            let at = instant(&ev[k]);
            // Graph writes seven digits of fractions.
            let t = format!("{}.0000000", at.format("%Y-%m-%dT%H:%M:%S"));
            ev[k] = json!({"dateTime": t, "timeZone": "UTC"});
        }
    }
    ev
}

fn graph_error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "innerError": {
        "date": "2026-12-01T10:00:00", "request-id": "5ed9d6ec-6a46-4e55-a0a5-6b4b7b8d7f1c",
        "client-request-id": "5ed9d6ec-6a46-4e55-a0a5-6b4b7b8d7f1c"}}})
}

pub(super) struct Graph(pub(super) Arc<Mutex<State>>);

impl Respond for Graph {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        let query = query_of(req);
        let prefer = prefer_of(req);
        let (resp, status, bytes) = graph(&mut s, req, &query, prefer.as_deref());
        s.log.push(Logged::of(req, query, status, bytes));
        resp
    }
}

fn reply(status: u16, body: &Value) -> (ResponseTemplate, u16, usize) {
    let bytes = serde_json::to_vec(body).unwrap();
    let n = bytes.len();
    (
        ResponseTemplate::new(status).set_body_raw(bytes, "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"),
        status,
        n,
    )
}

fn graph(
    s: &mut State,
    req: &Request,
    query: &[(String, String)],
    prefer: Option<&str>,
) -> (ResponseTemplate, u16, usize) {
    if s.refuse_all_access_tokens || !s.tokens.authorizes(req) {
        let (r, st, n) = reply(
            401,
            &graph_error(
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
            ),
        );
        let r = r.insert_header(
            "WWW-Authenticate",
            "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
        );
        return (r, st, n);
    }
    let path = req.url.path().to_string();
    if path == "/v1.0/me/calendars" {
        return calendars(s, query);
    }
    let calendar = if path == "/v1.0/me/calendarView/delta" {
        s.calendars
            .iter()
            .find(|c| c.is_default)
            .unwrap()
            .id
            .clone()
    } else if let Some(id) = path
        .strip_prefix("/v1.0/me/calendars/")
        .and_then(|p| p.strip_suffix("/calendarView/delta"))
    {
        let id = percent_decode(id);
        if !s.calendars.iter().any(|c| c.id == id) {
            return reply(
                404,
                &graph_error(
                    "ErrorItemNotFound",
                    "The specified object was not found in the store.",
                ),
            );
        }
        id
    } else {
        return reply(
            400,
            &graph_error("BadRequest", "Resource not found for the segment."),
        );
    };
    if let Some(f) = s.faults.pop_front() {
        let (status, code, secs) = match f {
            Fault::TooManyRequests { retry_after_secs } => {
                (429, "TooManyRequests", retry_after_secs)
            }
            Fault::ServiceUnavailable { retry_after_secs } => {
                (503, "serviceNotAvailable", retry_after_secs)
            }
        };
        let (r, st, n) = reply(
            status,
            &graph_error(code, "Please retry after the time in Retry-After."),
        );
        return (
            r.insert_header("Retry-After", secs.to_string().as_str()),
            st,
            n,
        );
    }
    delta(s, &calendar, &path, query, prefer)
}

fn calendars(s: &State, query: &[(String, String)]) -> (ResponseTemplate, u16, usize) {
    let select: Option<Vec<&str>> = query
        .iter()
        .find(|(k, _)| k == "$select")
        .map(|(_, v)| v.split(',').collect());
    let value: Vec<Value> = s
        .calendars
        .iter()
        .map(|c| {
            let mut v = json!({
                "id": c.id, "name": c.name, "color": "auto", "hexColor": "",
                "isDefaultCalendar": c.is_default, "changeKey": "fJKVL07sbkmIfHqjbDnRgQAAAAACOA==",
                "canShare": true, "canViewPrivateItems": true, "canEdit": true,
                "allowedOnlineMeetingProviders": ["teamsForBusiness"],
                "defaultOnlineMeetingProvider": "teamsForBusiness",
                "isTallyingResponses": true, "isRemovable": !c.is_default,
                "owner": {"name": "Alex Wilber", "address": ME}
            });
            if let (Some(sel), Some(obj)) = (&select, v.as_object_mut()) {
                obj.retain(|k, _| sel.contains(&k.as_str()));
            }
            v
        })
        .collect();
    reply(
        200,
        &json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('alex%40contoso.com')/calendars", "value": value}),
    )
}

/// `maxpagesize` and whether times are wanted in UTC, from the `Prefer` header(s).
fn preferences(prefer: Option<&str>) -> (Option<usize>, bool) {
    let mut size = None;
    let mut utc = false;
    for p in prefer.unwrap_or("").split(',').map(str::trim) {
        if let Some(n) = p.strip_prefix("odata.maxpagesize=") {
            size = n.parse().ok();
        }
        if let Some(z) = p.strip_prefix("outlook.timezone=") {
            utc = z.trim_matches('"') == "UTC";
        }
    }
    (size, utc)
}

fn delta(
    s: &mut State,
    calendar: &str,
    path: &str,
    query: &[(String, String)],
    prefer: Option<&str>,
) -> (ResponseTemplate, u16, usize) {
    let q: HashMap<&str, &str> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (size, wants_utc) = preferences(prefer);
    let utc = wants_utc && !s.ignore_timezone_preference;
    let page_size = size
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .clamp(1, 1000)
        .min(s.max_page_size.unwrap_or(usize::MAX));
    let window_given = q.contains_key("startDateTime") || q.contains_key("endDateTime");
    let cal_index = s.calendars.iter().position(|c| c.id == calendar).unwrap();

    if window_given && (q.contains_key("$skiptoken") || q.contains_key("$deltatoken")) {
        return reply(
            400,
            &graph_error(
                "ErrorInvalidParameter",
                "A state token cannot be combined with other parameters.",
            ),
        );
    }
    let (items, delta_token, empty_lead) = if let Some(t) = q.get("$skiptoken") {
        let Some(c) = s.cursors.remove(*t).filter(|c| c.calendar == calendar) else {
            return reply(
                400,
                &graph_error("ErrorInvalidUrlQuery", "The skip token is not valid."),
            );
        };
        (c.remaining, c.delta_token, false)
    } else if let Some(t) = q.get("$deltatoken") {
        let Some(st) = s
            .delta_tokens
            .get(*t)
            .filter(|d| d.calendar == calendar)
            .cloned()
        else {
            return reply(
                410,
                &graph_error(
                    "syncStateNotFound",
                    "The sync state for this delta token was not found; start a new round.",
                ),
            );
        };
        let items: Vec<Value> = s.calendars[cal_index]
            .events
            .values()
            .filter(|e| e.seq > st.since)
            .map(|e| {
                let (a, b) = bounds(&e.json);
                let inside = a < st.end && b > st.start;
                if e.deleted || !inside {
                    // Deleted, or moved out of the view: the client only learns the id.
                    json!({"@odata.type": "#microsoft.graph.event", "id": e.json["id"],
                        "@removed": {"reason": "deleted"}})
                } else {
                    rendered(&e.json, utc)
                }
            })
            .collect();
        let token = new_delta_token(s, calendar, st.start, st.end);
        (items, token, false)
    } else {
        let parse = |k: &str| {
            q.get(k)
                .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
                .map(|d| d.to_utc())
        };
        let (Some(start), Some(end)) = (parse("startDateTime"), parse("endDateTime")) else {
            return reply(
                400,
                &graph_error(
                    "ErrorInvalidParameter",
                    "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
                ),
            );
        };
        let items: Vec<Value> = s.calendars[cal_index]
            .events
            .values()
            .filter(|e| !e.deleted)
            .filter(|e| {
                let (a, b) = bounds(&e.json);
                a < end && b > start
            })
            .map(|e| rendered(&e.json, utc))
            .collect();
        let token = new_delta_token(s, calendar, start, end);
        (items, token, s.empty_first_page)
    };

    let mut items = items;
    let rest = if empty_lead {
        std::mem::take(&mut items)
    } else if items.len() > page_size {
        items.split_off(page_size)
    } else {
        Vec::new()
    };
    let link = format!("{}{}", s.base, path);
    let mut body = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)",
    });
    if rest.is_empty() && !empty_lead {
        body["@odata.deltaLink"] = json!(format!("{link}?$deltatoken={delta_token}"));
    } else {
        let skip = rand_token("R0usmcCM996atia_s", 60);
        s.cursors.insert(
            skip.clone(),
            Cursor {
                calendar: calendar.to_string(),
                remaining: rest,
                delta_token,
            },
        );
        body["@odata.nextLink"] = json!(format!("{link}?$skiptoken={skip}"));
    }
    body["value"] = json!(items);
    let (r, st, n) = reply(200, &body);
    let r = match size {
        Some(_) => r.insert_header(
            "Preference-Applied",
            format!("odata.maxpagesize={page_size}").as_str(),
        ),
        None => r,
    };
    (r, st, n)
}

fn new_delta_token(
    s: &mut State,
    calendar: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> String {
    // Real delta tokens are long opaque strings; their length is part of a quiet poll's bytes.
    let t = rand_token("R0usmci39OQxqJrxK4", 100);
    s.delta_tokens.insert(
        t.clone(),
        DeltaState {
            calendar: calendar.to_string(),
            start,
            end,
            since: s.seq,
        },
    );
    t
}
