//! Calendar sources: each turns one configured `[[calendars]]` entry into the meetings inside a
//! time window. The daemon knows only the [`CalendarSource`] trait; HTTP, WebDAV and OAuth stay in
//! the submodules. Pure conversions (iCalendar text, Google JSON) live in their own files so they
//! are tested without servers; what Google and Microsoft do alike (the authorised GET, an account's
//! poll result) is in [`account`].

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::Meeting;

pub mod account;
pub mod caldav;
pub mod google;
pub mod ical;
pub mod ics;
pub mod microsoft;
pub mod snapshot;
pub mod state_file;

/// The WebDAV wire format, at its old path (the integration tests build request bodies with it).
pub use caldav::xml as webdav;

/// The span of time a poll should cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    /// Whether a meeting `[start, end)` overlaps the window.
    pub fn overlaps(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        start < self.end && end > self.start
    }
}

/// What one successful poll produced: every meeting of the source that overlaps the window (not a
/// delta; incremental sources merge their deltas themselves), a warning for each piece of data
/// that was skipped, and how far the poll can be trusted to say that a meeting is gone.
///
/// A meeting missing from `meetings` is only "not seen" unless the poll says more: it is removed
/// when named in `removed` (the server said so), or when the poll is `complete` and its series is
/// not in `series` (see [`crate::plan::reconcile`]). The default (`complete: false`, nothing
/// removed) is the safe one: it never makes the daemon record a removal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fetched {
    pub meetings: Vec<Meeting>,
    /// One line per skipped event or object, naming it (uid, href or summary) and saying why.
    pub warnings: Vec<String>,
    /// False when the source knows nothing changed since the previous poll (304, same ctag, empty
    /// sync delta); the daemon may then skip re-planning.
    pub changed: bool,
    /// Whether this poll listed the whole calendar faultlessly: for an ICS calendar, the text
    /// parsed completely, ended with `END:VCALENDAR` and skipped no event. Only then does an
    /// absent meeting whose series is not in `series` count as removed.
    pub complete: bool,
    /// Series (`source/uid`, as [`crate::model::MeetingId::series`] gives it) the source read and
    /// still holds, inside the window or not. A meeting missing from `meetings` whose series is
    /// here moved out of the window (or lost one occurrence): it is dropped, not removed, and not
    /// kept. Never list the series of an event that could not be read (that one must be kept).
    pub series: std::collections::BTreeSet<String>,
    /// Meetings the server said were removed (CalDAV 404 or sync-collection removal, Google
    /// `cancelled`, Graph `@removed`), whatever `complete` says.
    pub removed: Vec<crate::model::MeetingId>,
}

/// Why a poll failed. The daemon acts on the variant: `Setup` stops the source; `Unauthorized`
/// tells the user once and retries slowly (see `daemon::UNAUTHORIZED_RETRY`); `RateLimited` waits
/// at least `retry_after`; everything else retries with backoff.
impl Fetched {
    /// The result of a source that syncs incrementally (Google sync tokens, Graph delta links):
    /// never a complete listing, so only `removed` can remove a meeting. Sorts the meetings by
    /// start, and keeps in `removed` only ids no calendar of the source still holds, once each.
    pub fn incremental(
        mut meetings: Vec<Meeting>,
        warnings: Vec<String>,
        changed: bool,
        series: std::collections::BTreeSet<String>,
        mut removed: Vec<crate::model::MeetingId>,
    ) -> Fetched {
        meetings.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
        let held: std::collections::HashSet<&crate::model::MeetingId> =
            meetings.iter().map(|m| &m.id).collect();
        removed.retain(|id| !held.contains(id));
        removed.sort();
        removed.dedup();
        Fetched {
            meetings,
            warnings,
            changed,
            complete: false,
            series,
            removed,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Credentials were refused. `fix` says what the user should do (a command to run, a setting to
    /// check); it never contains the secret.
    #[error("{source_name}: not authorised: {fix}")]
    Unauthorized { source_name: String, fix: String },
    #[error("{source_name}: rate limited by the server")]
    RateLimited {
        source_name: String,
        retry_after: Option<Duration>,
    },
    #[error("{source_name}: {url} answered HTTP {status}")]
    HttpStatus {
        source_name: String,
        /// Without query string or credentials.
        url: String,
        status: u16,
    },
    /// Connection refused, DNS, TLS, timeout: worth retrying.
    #[error("{source_name}: cannot reach {url}: {detail}")]
    Network {
        source_name: String,
        url: String,
        detail: String,
    },
    /// The whole response was unusable (not a calendar, not XML, not JSON).
    #[error("{source_name}: unusable data from {location}: {detail}")]
    Data {
        source_name: String,
        location: String,
        detail: String,
    },
    #[error("{source_name}: cannot read {path}: {detail}")]
    Io {
        source_name: String,
        path: PathBuf,
        detail: String,
    },
    /// A setting that only shows as wrong at run time (e.g. no calendar matched `calendars`).
    #[error("{source_name}: {detail}")]
    Setup { source_name: String, detail: String },
}

impl SourceError {
    /// Whether retrying later may help (network faults, server errors, rate limits).
    pub fn is_transient(&self) -> bool {
        match self {
            SourceError::Unauthorized { .. } | SourceError::Setup { .. } => false,
            SourceError::HttpStatus { status, .. } => {
                *status >= 500 || *status == 429 || *status == 408
            }
            _ => true,
        }
    }
}

/// The most bytes one HTTP response may hold, for every network source (CalDAV has its own
/// `MAX_BODY`, ICS its `MAX_BODY_BYTES`, both this size): a misconfigured URL that streams
/// without end costs this much memory and no more.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Why [`read_capped`] gave up.
#[derive(Debug, thiserror::Error)]
pub enum CappedReadError {
    #[error("the answer is larger than {} MiB", .0 / (1024 * 1024))]
    TooBig(usize),
    #[error(transparent)]
    Network(#[from] reqwest::Error),
}

/// Reads a response body chunk by chunk, giving up as soon as it passes `max` bytes (at once
/// when its Content-Length says it will).
pub async fn read_capped(
    mut resp: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, CappedReadError> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(CappedReadError::TooBig(max));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if body.len().saturating_add(chunk.len()) > max {
            return Err(CappedReadError::TooBig(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub type PollFuture<'a> = Pin<Box<dyn Future<Output = Result<Fetched, SourceError>> + Send + 'a>>;

/// One configured calendar. Implementations keep whatever sync state they need (ETag, ctag, sync
/// tokens, per-object data) in memory and under [`SourceContext::state_dir`], so a restart stays
/// incremental.
pub trait CalendarSource: Send {
    /// The `[[calendars]] name`.
    fn name(&self) -> &str;

    /// Fetches the meetings overlapping `window`. Must not panic on any input; bounded in time
    /// (every request has a timeout).
    fn poll(&mut self, window: Window) -> PollFuture<'_>;

    /// One line for `nextstep check` after a successful poll, e.g. the discovered calendars.
    fn describe(&self) -> String {
        String::new()
    }
}

/// What every source is given when it is built.
#[derive(Debug, Clone)]
pub struct SourceContext {
    /// The `[[calendars]] name`.
    pub name: String,
    /// A directory private to this source for sync state (created 0700 by the caller).
    pub state_dir: PathBuf,
    /// The HTTP client (rustls, timeouts set); `None` for a calendar that is a local file, which
    /// then never loads the TLS stack and the system's root certificates (a few hundred KB the
    /// idle daemon would carry for nothing).
    pub http: Option<reqwest::Client>,
}

impl SourceContext {
    /// The HTTP client, for a source that needs one; its absence is a wiring bug.
    pub fn require_http(&self) -> Result<reqwest::Client, SourceError> {
        self.http.clone().ok_or_else(|| SourceError::Setup {
            source_name: self.name.clone(),
            detail: "no HTTP client was given to a network calendar; this is a bug in nextstep"
                .into(),
        })
    }
}

impl SourceContext {
    /// The context of one `[[calendars]]` entry: its private state directory under `data_dir`
    /// (created 0700), and an HTTP client that follows redirects only for plain ICS feeds (WebDAV
    /// and Google requests carry credentials, which must not follow a redirect elsewhere).
    pub fn for_calendar(
        data_dir: &std::path::Path,
        cal: &crate::config::CalendarConfig,
    ) -> anyhow::Result<SourceContext> {
        use anyhow::Context as _;
        let state_dir = crate::paths::source_state_dir(data_dir, &cal.name);
        crate::fsutil::create_private_dir(&state_dir)
            .with_context(|| format!("cannot create {}", state_dir.display()))?;
        use crate::config::{CalendarKind, IcsConfig};
        let http = match &cal.kind {
            CalendarKind::Ics(IcsConfig::Path(_)) => None,
            kind => {
                let redirects = if matches!(kind, CalendarKind::Ics(_)) {
                    crate::http::Redirects::Follow
                } else {
                    crate::http::Redirects::Refuse
                };
                Some(crate::http::client(redirects).context("cannot build the HTTP client")?)
            }
        };
        Ok(SourceContext {
            name: cal.name.clone(),
            state_dir,
            http,
        })
    }
}

/// Builds the source for one `[[calendars]]` entry. `data_dir` holds what outlives one source's
/// state (the Google sign-in's tokens).
pub fn build(
    ctx: SourceContext,
    cfg: &crate::config::CalendarConfig,
    data_dir: &std::path::Path,
) -> Result<Box<dyn CalendarSource>, SourceError> {
    use crate::config::CalendarKind;
    match &cfg.kind {
        CalendarKind::Google(_) => Ok(Box::new(google::GoogleSource::new(cfg, ctx, data_dir)?)),
        CalendarKind::Ics(_) => Ok(Box::new(ics::IcsSource::new(ctx, cfg)?)),
        CalendarKind::Caldav(_) => Ok(Box::new(caldav::CaldavSource::new(ctx, cfg)?)),
        CalendarKind::Microsoft(m) => Ok(Box::new(microsoft::MicrosoftSource::new(
            &cfg.name,
            m,
            cfg.timeout,
            ctx,
            data_dir,
        )?)),
    }
}
