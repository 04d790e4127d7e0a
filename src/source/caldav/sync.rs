//! Bringing one calendar's stored objects up to date: the requests behind each [`Step`] that
//! [`decide`] chooses, run until it says done.
//!
//! - *Full query*: PROPFIND Depth 0 for the sync token and ctag (taken *before* the query, so a
//!   change in between shows up in the next sync), then a calendar-query REPORT over
//!   `[window.start, window.end + 1 day)`. Objects the query does not return are dropped, which
//!   keeps the stored set bounded. With objects already stored, the query asks for ETags only
//!   and a calendar-multiget fetches the new and changed ones.
//! - *sync-collection* (RFC 6578) with the stored token, asking for `getetag` and
//!   `calendar-data`; members reported 404 are removed. A poll with no change is one request with
//!   a body of a few hundred bytes.
//! - *ctag check*, for servers without sync-collection: a PROPFIND Depth 0 of `getctag`; only when
//!   it changed, a Depth 1 `getetag` listing and a multiget of what differs.
//!
//! What it promises: the calendar's state changes only from what the server answered, `dirty`
//! is set whenever the state differs from what is on disk, and [`Synced::removed`] lists only
//! the objects the server itself said are gone (a 404 in a sync-collection or multiget answer,
//! or absence from the collection's own listing), never those a time-range query left out.

use std::collections::{BTreeMap, HashSet};

use chrono::TimeDelta;

use super::Calendar;
use super::client::{Client, redact};
use super::state::StoredObject;
use super::strategy::{Last, Situation, Step, SyncReply, SyncSupport, classify_sync_reply, decide};
use super::xml::{self, Props, href_key, same_path};
use crate::source::{SourceError, Window};

/// What one calendar's sync brought.
#[derive(Debug, Default)]
pub(super) struct Synced {
    /// The stored objects changed.
    pub changed: bool,
    /// Keys (decoded paths) of stored objects the server said are removed.
    pub removed: Vec<String>,
}

enum SyncOutcome {
    Applied,
    TokenRejected,
    Unsupported,
}

/// Brings one calendar up to date. What it learnt goes into `out` as it goes, so a removal the
/// server reported before a later request failed is not lost with the error.
pub(super) async fn sync_calendar(
    client: &Client,
    cal: &mut Calendar,
    window: Window,
    out: &mut Synced,
) -> Result<(), SourceError> {
    let mut last = Last::Nothing;
    loop {
        let d = decide(&Situation {
            support: cal.sync,
            rejected_tokens: cal.rejected_tokens,
            has_token: cal.state.sync_token.is_some(),
            queried: cal.state.queried,
            window,
            last,
        });
        if d.support == SyncSupport::No && cal.sync != SyncSupport::No {
            let why = match last {
                Last::TokenRejected => "fresh sync tokens rejected too",
                Last::SyncUnsupported => "sync-collection unsupported",
                _ => "no sync token offered",
            };
            tracing::debug!(calendar = %redact(&cal.found.url), "{why}; using ctag checks");
        } else if d.forget_token {
            tracing::debug!(calendar = %redact(&cal.found.url), "sync token rejected; full resync");
        }
        cal.sync = d.support;
        cal.rejected_tokens = d.rejected_tokens;
        if d.forget_token {
            cal.state.sync_token = None;
        }
        last = match d.step {
            Step::Done => return Ok(()),
            Step::FullQuery => {
                out.changed |= full_query(client, cal, window).await?;
                Last::FullQueried {
                    got_token: cal.state.sync_token.is_some(),
                }
            }
            Step::SyncCollection => match sync_collection(client, cal, out).await? {
                SyncOutcome::Applied => Last::SyncApplied,
                SyncOutcome::TokenRejected => Last::TokenRejected,
                SyncOutcome::Unsupported => Last::SyncUnsupported,
            },
            Step::CtagCheck => {
                ctag_check(client, cal, out).await?;
                Last::CtagChecked
            }
        };
    }
}

/// Whether a response is about the calendar collection itself rather than a member.
fn is_collection(cal: &Calendar, key: &str) -> bool {
    same_path(key, &xml::percent_decode(cal.found.url.path()))
}

async fn change_marks(client: &Client, cal: &Calendar) -> Result<Props, SourceError> {
    let (ms, at) = client
        .multistatus(
            "PROPFIND",
            &cal.found.url,
            "0",
            xml::propfind_change_marks(),
        )
        .await?;
    Ok(ms
        .own_response(&at)
        .map(|r| r.props.clone())
        .unwrap_or_default())
}

async fn full_query(
    client: &Client,
    cal: &mut Calendar,
    window: Window,
) -> Result<bool, SourceError> {
    let marks = change_marks(client, cal).await?;
    let range = (window.start, window.end + TimeDelta::days(1));
    let with_data = cal.state.objects.is_empty();
    let (ms, at) = client
        .multistatus(
            "REPORT",
            &cal.found.url,
            "1",
            xml::calendar_query(range.0, range.1, with_data),
        )
        .await?;
    let mut fresh: BTreeMap<String, StoredObject> = BTreeMap::new();
    let mut to_fetch: Vec<String> = Vec::new();
    let mut changed = false;
    for r in ms.responses {
        let Some(key) = href_key(&at, &r.href) else {
            continue;
        };
        if is_collection(cal, &key) || r.status.is_some_and(|s| s == 404) {
            continue;
        }
        let etag = r.props.getetag.clone();
        match (r.props.calendar_data, cal.state.objects.remove(&key)) {
            (Some(data), old) => {
                changed |= old.is_none_or(|o| o.etag != etag || o.data != data);
                fresh.insert(
                    key,
                    StoredObject {
                        href: r.href,
                        etag,
                        data,
                    },
                );
            }
            (None, Some(old)) if old.etag.is_some() && old.etag == etag => {
                fresh.insert(key, old);
            }
            (None, _) => to_fetch.push(r.href),
        }
    }
    // What the query did not return no longer overlaps the window, or is gone: the answer does
    // not say which, so these are not reported as removed.
    changed |= !cal.state.objects.is_empty();
    if !to_fetch.is_empty() {
        changed = true;
        let got = multiget(client, cal, &to_fetch).await?;
        fresh.extend(got.found);
    }
    cal.state.objects = fresh;
    cal.state.queried = Some(range);
    cal.state.ctag = marks.getctag;
    cal.state.sync_token = marks.sync_token;
    // Even an unchanged set is worth saving: the queried range and the token moved.
    cal.dirty = true;
    Ok(changed)
}

/// What a calendar-multiget brought back.
struct Multiget {
    found: Vec<(String, StoredObject)>,
    /// Keys the server answered 404 for.
    missing: Vec<String>,
}

async fn multiget(
    client: &Client,
    cal: &Calendar,
    hrefs: &[String],
) -> Result<Multiget, SourceError> {
    let (ms, at) = client
        .multistatus(
            "REPORT",
            &cal.found.url,
            "1",
            xml::calendar_multiget(hrefs.iter().map(String::as_str)),
        )
        .await?;
    let mut got = Multiget {
        found: Vec::new(),
        missing: Vec::new(),
    };
    for r in ms.responses {
        let Some(key) = href_key(&at, &r.href) else {
            continue;
        };
        match r.props.calendar_data {
            Some(data) => got.found.push((
                key,
                StoredObject {
                    href: r.href,
                    etag: r.props.getetag,
                    data,
                },
            )),
            None if r.status == Some(404) => got.missing.push(key),
            None => {}
        }
    }
    Ok(got)
}

/// Stores what a multiget found, and drops (reporting them) the stored objects it said are gone.
fn apply_multiget(cal: &mut Calendar, got: Multiget, out: &mut Synced) -> bool {
    let mut changed = !got.found.is_empty();
    for key in got.missing {
        if cal.state.objects.remove(&key).is_some() {
            changed = true;
            out.removed.push(key);
        }
    }
    cal.state.objects.extend(got.found);
    changed
}

async fn sync_collection(
    client: &Client,
    cal: &mut Calendar,
    out: &mut Synced,
) -> Result<SyncOutcome, SourceError> {
    let token = cal.state.sync_token.clone();
    // RFC 6578 §3.2: the report is defined for Depth 0 only (sync-level says "members").
    let reply = client
        .request(
            "REPORT",
            &cal.found.url,
            Some("0"),
            xml::sync_collection(token.as_deref(), true),
        )
        .await?;
    let names_invalid_token = reply.status != 207 && xml::is_invalid_sync_token(&reply.body);
    match classify_sync_reply(reply.status, names_invalid_token) {
        SyncReply::Multistatus => {}
        SyncReply::TokenRejected => return Ok(SyncOutcome::TokenRejected),
        SyncReply::Unsupported => return Ok(SyncOutcome::Unsupported),
        SyncReply::Failed => return Err(client.status_error(&reply.url, reply.status)),
    }
    let ms = client.parse(&reply)?;
    let Some(new_token) = ms.sync_token.clone() else {
        return Ok(SyncOutcome::Unsupported);
    };
    let mut changed = false;
    let mut to_fetch = Vec::new();
    for r in ms.responses {
        let Some(key) = href_key(&reply.url, &r.href) else {
            continue;
        };
        if is_collection(cal, &key) {
            continue;
        }
        if r.status == Some(404) {
            if cal.state.objects.remove(&key).is_some() {
                changed = true;
                out.removed.push(key);
            }
            continue;
        }
        match r.props.calendar_data {
            Some(data) => {
                changed = true;
                cal.state.objects.insert(
                    key,
                    StoredObject {
                        href: r.href,
                        etag: r.props.getetag,
                        data,
                    },
                );
            }
            // A server that lists the change without the data: fetch it.
            None => to_fetch.push(r.href),
        }
    }
    if !to_fetch.is_empty() {
        let got = multiget(client, cal, &to_fetch).await?;
        changed |= apply_multiget(cal, got, out);
    }
    if changed || token.as_deref() != Some(new_token.as_str()) {
        cal.dirty = true;
    }
    cal.state.sync_token = Some(new_token);
    out.changed |= changed;
    Ok(SyncOutcome::Applied)
}

async fn ctag_check(
    client: &Client,
    cal: &mut Calendar,
    out: &mut Synced,
) -> Result<(), SourceError> {
    let marks = change_marks(client, cal).await?;
    if marks.getctag.is_some() && marks.getctag == cal.state.ctag {
        return Ok(());
    }
    let (ms, at) = client
        .multistatus("PROPFIND", &cal.found.url, "1", xml::propfind_etags())
        .await?;
    let mut listed = HashSet::new();
    let mut to_fetch = Vec::new();
    for r in ms.responses {
        let Some(key) = href_key(&at, &r.href) else {
            continue;
        };
        if is_collection(cal, &key) {
            continue;
        }
        let same = cal
            .state
            .objects
            .get(&key)
            .is_some_and(|o| o.etag.is_some() && o.etag == r.props.getetag);
        if !same {
            to_fetch.push(r.href);
        }
        listed.insert(key);
    }
    // The collection's own listing is the server's word on what it holds.
    let gone: Vec<String> = cal
        .state
        .objects
        .keys()
        .filter(|k| !listed.contains(*k))
        .cloned()
        .collect();
    let mut changed = !gone.is_empty();
    for key in gone {
        cal.state.objects.remove(&key);
        out.removed.push(key);
    }
    if !to_fetch.is_empty() {
        let got = multiget(client, cal, &to_fetch).await?;
        changed |= apply_multiget(cal, got, out);
    }
    cal.dirty |= changed || cal.state.ctag != marks.getctag;
    cal.state.ctag = marks.getctag;
    out.changed |= changed;
    Ok(())
}
