//! An ICS calendar: a local file or a published URL (`kind = "ics"`).
//!
//! The I/O around [`super::ical::parse_calendar`]:
//! - A file is read again only when its modification time or size changed.
//! - A URL is fetched with a conditional GET (`If-None-Match` / `If-Modified-Since` from the last
//!   200); a 304 reuses the last body, which is kept in the source's state directory (0600).
//! - When nothing new arrived, the text is expanded again over the (moved) window, and the poll
//!   says `changed = false` unless that changed the meetings (a new occurrence entering the window
//!   must still reach the planner).
//! - The text is not held in memory between polls (it is read again from the file or the kept
//!   body): a 2,000-event export is 1.5 MB, more than everything else the idle daemon holds.
//! - Parsing runs on the blocking pool, so a 10 MB export does not stall the runtime.
//!
//! Private calendar URLs carry a secret (Google's "secret address in iCal format" has it in the
//! path, others in the query or as `user:password@`). Errors and logs therefore show only
//! [`crate::http::redact`]'s `FirstSegment` form: scheme, host, port and the first path segment, then `…`.
//!
//! The kept body only serves the 304 case: the daemon's snapshot keeps the last good meetings, and
//! a restart costs one unconditional GET.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};

use super::ical::{Parsed, parse_calendar};
use super::{CalendarSource, Fetched, PollFuture, SourceContext, SourceError, Window};
use crate::config::{CalendarConfig, CalendarKind, IcsConfig};
use crate::http::{self, PathShown};

/// The largest calendar body accepted. Real exports of many years stay below 20 MB; this guards
/// memory against a misconfigured URL that streams without end.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug)]
enum Location {
    Path(PathBuf),
    /// The HTTP client lives here: a file never needs one.
    Url {
        url: url::Url,
        shown: String,
        http: reqwest::Client,
    },
}

/// What identifies the version of the text we hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Validator {
    etag: Option<String>,
    last_modified: Option<String>,
    /// For files: modification time and size.
    file: Option<(Option<SystemTime>, u64)>,
}

/// The kept body of a URL source, beside its other state.
const BODY_FILE: &str = "feed.ics";

#[derive(Debug)]
struct Held {
    /// The text, only when a URL's body could not be kept on disk; otherwise it is read again.
    text: Option<Arc<str>>,
    validator: Validator,
    /// What the last parse gave, as a hash: enough to tell whether the next one changed
    /// anything, without a second copy of every meeting (the daemon holds the first).
    fingerprint: u64,
    meetings: usize,
    skipped: usize,
}

fn fingerprint(parsed: &Parsed) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parsed.meetings.hash(&mut h);
    h.finish()
}

/// One `[[calendars]] kind = "ics"` entry.
#[derive(Debug)]
pub struct IcsSource {
    name: String,
    location: Location,
    timeout: Duration,
    /// Where a URL's last body is kept for the next 304.
    body_path: PathBuf,
    held: Option<Held>,
}

impl IcsSource {
    /// Builds the source for an ICS calendar entry; refuses any other kind (a wiring mistake).
    pub fn new(ctx: SourceContext, cfg: &CalendarConfig) -> Result<IcsSource, SourceError> {
        let CalendarKind::Ics(ics) = &cfg.kind else {
            return Err(SourceError::Setup {
                source_name: ctx.name,
                detail: format!(
                    "an ICS source was built for a `{}` calendar; this is a bug in nextstep",
                    cfg.kind.as_str()
                ),
            });
        };
        let location = match ics {
            IcsConfig::Path(p) => Location::Path(p.clone()),
            IcsConfig::Url(url) => {
                let shown = http::redact(url, PathShown::FirstSegment);
                if url.scheme() == "http" && !http::is_loopback(url) {
                    // Published feeds are often public and some hosts only speak http, so this is
                    // allowed; but a private feed's secret then travels in clear text.
                    tracing::warn!(
                        source = %ctx.name,
                        url = %shown,
                        "the ICS URL uses plain http: anyone on the network path can read the calendar and any secret in its URL; use https if the host offers it"
                    );
                }
                Location::Url {
                    url: url.clone(),
                    shown,
                    http: ctx.require_http()?,
                }
            }
        };
        Ok(IcsSource {
            name: ctx.name,
            location,
            timeout: cfg.timeout,
            body_path: ctx.state_dir.join(BODY_FILE),
            held: None,
        })
    }

    /// What a new poll brought: fresh text and its validator, or "the held text is current".
    async fn fetch(&self) -> Result<Option<(String, Validator)>, SourceError> {
        match &self.location {
            Location::Path(path) => self.fetch_file(path).await,
            Location::Url { url, shown, http } => self.fetch_url(http, url, shown).await,
        }
    }

    async fn fetch_file(
        &self,
        path: &std::path::Path,
    ) -> Result<Option<(String, Validator)>, SourceError> {
        let io_err = |e: std::io::Error| SourceError::Io {
            source_name: self.name.clone(),
            path: path.to_path_buf(),
            detail: match e.kind() {
                std::io::ErrorKind::NotFound => {
                    "no such file; check `path` in the config".to_string()
                }
                _ => e.to_string(),
            },
        };
        let p = path.to_path_buf();
        let meta = bounded(self.timeout, move || regular_file(&p))
            .await
            .map_err(io_err)?;
        let validator = Validator {
            file: Some((meta.modified().ok(), meta.len())),
            ..Validator::default()
        };
        if self.held.as_ref().is_some_and(|h| {
            h.validator == validator && validator.file.is_some_and(|f| f.0.is_some())
        }) {
            return Ok(None);
        }
        let p = path.to_path_buf();
        let bytes = bounded(self.timeout, move || std::fs::read(p))
            .await
            .map_err(io_err)?;
        Ok(Some((decode(bytes), validator)))
    }

    async fn fetch_url(
        &self,
        http: &reqwest::Client,
        url: &url::Url,
        shown: &str,
    ) -> Result<Option<(String, Validator)>, SourceError> {
        let mut req = http.get(url.clone()).timeout(self.timeout);
        if let Some(held) = &self.held {
            if let Some(etag) = &held.validator.etag {
                req = req.header(IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &held.validator.last_modified {
                req = req.header(IF_MODIFIED_SINCE, lm);
            }
        }
        let network = |e: reqwest::Error| SourceError::Network {
            source_name: self.name.clone(),
            url: shown.to_string(),
            detail: describe_reqwest_error(e, self.timeout),
        };
        let mut resp = req.send().await.map_err(network)?;
        let status = resp.status();
        tracing::debug!(source = %self.name, url = %shown, status = status.as_u16(), "ICS fetched");

        if status == StatusCode::NOT_MODIFIED && self.held.is_some() {
            return Ok(None);
        }
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(SourceError::Unauthorized {
                    source_name: self.name.clone(),
                    fix: format!(
                        "{shown} answered HTTP {}: the calendar address may have been reset or \
                         made private; copy the current iCal address into `url`",
                        status.as_u16()
                    ),
                });
            }
            StatusCode::TOO_MANY_REQUESTS => {
                // The header is relative to the server's clock; reading the system clock here
                // only turns a date into a wait, it schedules nothing.
                let retry_after = http::retry_after(resp.headers(), chrono::Utc::now());
                return Err(SourceError::RateLimited {
                    source_name: self.name.clone(),
                    retry_after,
                });
            }
            s if !s.is_success() => {
                return Err(SourceError::HttpStatus {
                    source_name: self.name.clone(),
                    url: shown.to_string(),
                    status: s.as_u16(),
                });
            }
            _ => {}
        }

        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let validator = Validator {
            etag: header(ETAG),
            last_modified: header(LAST_MODIFIED),
            file: None,
        };

        let too_big = || SourceError::Data {
            source_name: self.name.clone(),
            location: shown.to_string(),
            detail: format!(
                "the body is larger than {} MiB; is this really one calendar?",
                MAX_BODY_BYTES / (1024 * 1024)
            ),
        };
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(too_big());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(network)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Some((decode(body), validator)))
    }

    /// Parses on the blocking pool; also gives every series the text holds (see
    /// [`listed_series`]).
    async fn parse(
        &self,
        text: Arc<str>,
        window: Window,
    ) -> Result<(Parsed, BTreeSet<String>), SourceError> {
        let name = self.name.clone();
        let location = self.shown_location();
        let result = tokio::task::spawn_blocking(move || {
            parse_calendar(&name, &text, window).map(|p| (p, listed_series(&name, &text)))
        })
        .await;
        let data = |detail: String| SourceError::Data {
            source_name: self.name.clone(),
            location: location.clone(),
            detail,
        };
        match result {
            Ok(Ok(read)) => Ok(read),
            Ok(Err(not_ical)) => Err(data(not_ical.to_string())),
            // The parser promises not to panic; if it does anyway, this source fails this poll
            // instead of taking the daemon down.
            Err(join) => Err(data(format!("the calendar parser failed: {join}"))),
        }
    }

    fn shown_location(&self) -> String {
        match &self.location {
            Location::Path(p) => p.display().to_string(),
            Location::Url { shown, .. } => shown.clone(),
        }
    }

    /// Keeps a fresh URL body for the next 304; the text to hold in memory when that fails.
    async fn keep_body(&self, text: &Arc<str>) -> Option<Arc<str>> {
        let Location::Url { shown, .. } = &self.location else {
            return None;
        };
        let path = self.body_path.clone();
        let body = text.clone();
        let written = tokio::task::spawn_blocking(move || {
            crate::fsutil::write_atomic_private(&path, body.as_bytes())
        })
        .await;
        match written {
            Ok(Ok(())) => None,
            Ok(Err(e)) => {
                tracing::warn!(
                    source = %self.name,
                    url = %shown,
                    path = %self.body_path.display(),
                    "cannot keep the calendar body on disk ({e}); holding it in memory instead"
                );
                Some(text.clone())
            }
            Err(_) => Some(text.clone()),
        }
    }

    /// The text behind `held`, read again: the file itself, or the kept body of a URL. `None`
    /// when it is gone (a deleted kept body), and a full fetch must replace it.
    async fn reload(&self, held: &Held) -> Option<Arc<str>> {
        if let Some(text) = &held.text {
            return Some(text.clone());
        }
        let path = match &self.location {
            Location::Path(p) => p,
            Location::Url { .. } => &self.body_path,
        };
        let p = path.clone();
        match bounded(self.timeout, move || std::fs::read(p)).await {
            Ok(bytes) => Some(Arc::from(decode(bytes))),
            Err(e) => {
                tracing::warn!(source = %self.name, path = %path.display(), "cannot read the calendar text again ({e}); fetching it anew");
                None
            }
        }
    }

    async fn poll_inner(&mut self, window: Window) -> Result<Fetched, SourceError> {
        let mut fresh = self.fetch().await?;
        let mut reloaded = None;
        if fresh.is_none()
            && let Some(held) = &self.held
        {
            reloaded = self.reload(held).await;
            if reloaded.is_none() {
                // Forget the validator so the server sends the whole calendar again.
                self.held = None;
                fresh = self.fetch().await?;
            }
        }
        let (text, validator, is_new) = match (fresh, reloaded, &self.held) {
            (Some((text, validator)), _, _) => (Arc::<str>::from(text), validator, true),
            (None, Some(text), Some(held)) => (text, held.validator.clone(), false),
            (None, _, _) => {
                // Only reachable if a server answers 304 to an unconditional GET; treat it as
                // the broken answer it is.
                return Err(SourceError::Data {
                    source_name: self.name.clone(),
                    location: self.shown_location(),
                    detail: "answered 304 Not Modified to a first request".into(),
                });
            }
        };
        // Parsed first, so that a text that is no calendar at all says so.
        let (parsed, series) = self.parse(text.clone(), window).await?;
        if !ends_calendar(&text) {
            // Cut off (a body without Content-Length ending early) or read while being written:
            // a failed poll, not a smaller calendar.
            return Err(SourceError::Data {
                source_name: self.name.clone(),
                location: self.shown_location(),
                detail: "the calendar text ends before END:VCALENDAR (cut off, or read while \
                         being written); keeping what was read before"
                    .into(),
            });
        }
        let print = fingerprint(&parsed);
        let changed = is_new || self.held.as_ref().is_none_or(|h| h.fingerprint != print);
        tracing::info!(
            source = %self.name,
            meetings = parsed.meetings.len(),
            skipped = parsed.skipped,
            complete = parsed.complete,
            changed,
            "ICS calendar read"
        );
        let text = if is_new {
            self.keep_body(&text).await
        } else {
            self.held.as_ref().and_then(|h| h.text.clone())
        };
        self.held = Some(Held {
            text,
            validator,
            fingerprint: print,
            meetings: parsed.meetings.len(),
            skipped: parsed.skipped,
        });
        Ok(Fetched {
            meetings: parsed.meetings,
            warnings: parsed.warnings,
            changed,
            complete: parsed.complete,
            series: if parsed.complete {
                series
            } else {
                BTreeSet::new()
            },
            removed: Vec::new(),
        })
    }
}

impl CalendarSource for IcsSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll(&mut self, window: Window) -> PollFuture<'_> {
        Box::pin(self.poll_inner(window))
    }

    fn describe(&self) -> String {
        let what = match &self.location {
            Location::Path(p) => format!("ICS file {}", p.display()),
            Location::Url { shown, .. } => format!("ICS feed {shown}"),
        };
        match &self.held {
            Some(h) => format!(
                "{what}: {} meetings in the window, {} events skipped",
                h.meetings, h.skipped
            ),
            None => what,
        }
    }
}

/// Calendar bytes as text, line by line: each line is UTF-8 when it is valid UTF-8, and Latin-1
/// when it is not (every byte maps to a character, so nothing fails). A stray bad byte costs the
/// accents of its own line, not the whole file ("Müller" elsewhere stays "Müller"); a file that is
/// wholly Latin-1, as some old exports are, reads as Latin-1.
pub fn decode(bytes: Vec<u8>) -> String {
    let bytes = match String::from_utf8(bytes) {
        Ok(s) => return s,
        Err(e) => e.into_bytes(),
    };
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 16);
    // Split after `\n` and after a lone `\r`, so CR-only files are decoded line by line too.
    let mut from = 0;
    let ends = bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .map(|(i, _)| i + 1)
        .chain(std::iter::once(bytes.len()));
    for end in ends {
        let line = bytes.get(from..end).unwrap_or_default();
        from = end;
        match std::str::from_utf8(line) {
            Ok(s) => out.push_str(s),
            Err(_) => out.extend(line.iter().map(|&b| char::from(b))),
        }
    }
    out
}

/// The metadata of `path`, refusing anything but a regular file: a FIFO or a device would block
/// the read (or never end), and a calendar is never one.
fn regular_file(path: &std::path::Path) -> std::io::Result<std::fs::Metadata> {
    let meta = std::fs::metadata(path)?;
    if meta.is_file() {
        Ok(meta)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, a device or a directory); `path` must name an .ics file",
        ))
    }
}

/// Runs a file operation on the blocking pool and gives up after `timeout`: a path on a hung
/// network mount must not hang `check`, `upcoming` or the daemon. The abandoned thread stays
/// blocked until the system call returns; the poll does not wait for it.
async fn bounded<T: Send + 'static>(
    timeout: Duration,
    op: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    match tokio::time::timeout(timeout, tokio::task::spawn_blocking(op)).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(std::io::Error::other(format!("the read failed: {join}"))),
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!(
                "no answer within {} s (the calendar's `timeout`); is the file on a hung network \
                 mount?",
                timeout.as_secs_f64()
            ),
        )),
    }
}

/// Whether the text's last line is `END:VCALENDAR`: a whole calendar, not a cut-off one.
fn ends_calendar(text: &str) -> bool {
    text.trim_end()
        .rsplit(['\n', '\r'])
        .next()
        .is_some_and(|last| last.trim().eq_ignore_ascii_case("END:VCALENDAR"))
}

/// Every series (`source/uid`, as [`crate::model::MeetingId::series`] writes it) the text holds,
/// inside the window or not: the UID of every component, folded lines unfolded. A cheap scan
/// beside the parse, so that a complete read can tell an event moved out of the window (its UID
/// still here) from one deleted (its UID gone). A UID of a VTODO counts too, which can only keep
/// a meeting, never remove one.
fn listed_series(source: &str, text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut lines = text
        .split(['\n', '\r'])
        .filter(|l| !l.is_empty())
        .peekable();
    while let Some(line) = lines.next() {
        let Some(name_end) = line.find([':', ';']) else {
            continue;
        };
        if !line[..name_end].eq_ignore_ascii_case("UID") {
            continue;
        }
        let Some(colon) = line.find(':') else {
            continue;
        };
        let mut uid = line[colon + 1..].to_string();
        while let Some(next) = lines.next_if(|l| l.starts_with([' ', '\t'])) {
            uid.push_str(&next[1..]);
        }
        let uid = uid.trim();
        if !uid.is_empty() {
            // Both as written and with TEXT escapes undone: whichever the parser used, it is here.
            let unescaped = uid
                .replace("\\\\", "\u{0}")
                .replace("\\,", ",")
                .replace("\\;", ";")
                .replace('\u{0}', "\\");
            out.insert(format!("{source}/{unescaped}"));
            out.insert(format!("{source}/{uid}"));
        }
    }
    out
}

/// A network failure in words; a timeout names the setting that bounds it.
fn describe_reqwest_error(e: reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!(
            "no answer within {} s (the calendar's `timeout`)",
            timeout.as_secs_f64()
        );
    }
    http::describe(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(u: &str) -> String {
        http::redact(&url::Url::parse(u).unwrap(), PathShown::FirstSegment)
    }

    #[test]
    fn a_google_secret_address_shows_only_host_and_first_segment() {
        let s = shown(
            "https://calendar.google.com/calendar/ical/alex%40mycorp.com/private-0123abcd/basic.ics",
        );
        assert_eq!(s, "https://calendar.google.com/calendar/…");
    }

    #[test]
    fn user_info_query_and_a_lone_segment_are_never_shown() {
        assert_eq!(
            shown("https://user:pw@cal.example.com:8443/feed.ics?token=s3cret#x"),
            "https://cal.example.com:8443/…"
        );
        assert_eq!(shown("http://example.com/"), "http://example.com/");
        assert_eq!(shown("http://example.com/?k=v"), "http://example.com/…");
    }

    #[tokio::test]
    async fn a_file_operation_that_hangs_gives_up_after_the_timeout() {
        let started = std::time::Instant::now();
        let err = bounded(Duration::from_millis(100), || {
            std::thread::sleep(Duration::from_secs(1));
            Ok(())
        })
        .await
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(800));
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert!(err.to_string().contains("`timeout`"), "{err}");
        assert_eq!(bounded(Duration::from_secs(5), || Ok(7)).await.unwrap(), 7);
    }

    #[test]
    fn only_a_text_whose_last_line_is_end_vcalendar_is_whole() {
        assert!(ends_calendar("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n\r\n"));
        assert!(ends_calendar("BEGIN:VCALENDAR\rend:vcalendar"));
        assert!(!ends_calendar(
            "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\n"
        ));
        assert!(!ends_calendar("BEGIN:VCALENDAR\r\nEND:VCALEN"));
        assert!(!ends_calendar(""));
    }

    #[test]
    fn every_uid_is_listed_folded_escaped_or_outside_any_window() {
        let text = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:040000008200E00074C5B7101A82E0080000\r\n \
                    0000ABCDEF\r\nEND:VEVENT\r\nBEGIN:VEVENT\nuid;X-A=1:b\\,c\nEND:VEVENT\n\
                    BEGIN:VTODO\rUID:  t \rEND:VTODO\rEND:VCALENDAR";
        let got = listed_series("w", text);
        let want: BTreeSet<String> = [
            "w/040000008200E00074C5B7101A82E00800000000ABCDEF",
            "w/b,c",
            "w/b\\,c",
            "w/t",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn latin1_bodies_are_read_without_loss() {
        assert_eq!(decode(b"caf\xe9".to_vec()), "café");
        assert_eq!(decode("café".as_bytes().to_vec()), "café");
    }

    #[test]
    fn one_bad_byte_costs_its_own_line_and_not_the_rest_of_the_file() {
        let mut bytes = "SUMMARY:Müller\r\n".as_bytes().to_vec();
        bytes.extend_from_slice(b"LOCATION:Caf\xe9\r\n");
        bytes.extend_from_slice("DESCRIPTION:Größe\n".as_bytes());
        assert_eq!(
            decode(bytes),
            "SUMMARY:Müller\r\nLOCATION:Café\r\nDESCRIPTION:Größe\n"
        );
    }

    #[test]
    fn cr_only_lines_are_decoded_one_by_one() {
        let mut bytes = "A:Müller\r".as_bytes().to_vec();
        bytes.extend_from_slice(b"B:\xff\rC:");
        bytes.extend_from_slice("ö".as_bytes());
        assert_eq!(decode(bytes), "A:Müller\rB:ÿ\rC:ö");
    }
}
