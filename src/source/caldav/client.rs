//! The CalDAV transport: one WebDAV request at a time, with the rules that keep a password safe.
//!
//! What it promises: Basic auth is sent only to the configured origin (redirects are followed by
//! hand, at most [`MAX_REDIRECTS`] hops, and only within the same scheme, host and port); bodies
//! are capped at [`MAX_BODY`]; every request has the configured timeout and a `tracing` span with
//! method, URL (through [`redact`]: no user info, no query), status and bytes; 401 and 429 become
//! their [`SourceError`] variants and every other status is the caller's to judge. No URL leaves
//! this module (in a log or an error) without going through [`redact`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tracing::Instrument;
use url::Url;

use super::xml::{self, Multistatus};
use crate::http;
use crate::secret::Secret;
use crate::source::SourceError;

/// Larger answers are refused: a 5,000-event calendar is about 5 MiB.
pub const MAX_BODY: usize = 64 * 1024 * 1024;
const MAX_REDIRECTS: usize = 5;

/// Requests and bytes this source has exchanged, for tests and `nextstep check`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestStats {
    pub requests: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
}

/// What a request brought back (any status but 401/429/redirects).
pub(super) struct DavResponse {
    pub status: u16,
    pub body: Vec<u8>,
    /// After redirects.
    pub url: Url,
}

/// One hop's answer, before redirects are judged.
struct RawResponse {
    status: u16,
    body: Vec<u8>,
    location: Option<String>,
    retry_after: Option<Duration>,
}

/// The HTTP side of one CalDAV source.
pub(super) struct Client {
    /// The `[[calendars]] name`, for errors and logs.
    pub source: String,
    username: Option<String>,
    /// Resolved on the first poll (see [`Client::set_password`]).
    password: Option<Secret>,
    http: reqwest::Client,
    timeout: Duration,
    counters: Counters,
}

/// What of a CalDAV URL may appear in logs and errors: the whole path (credentials travel in a
/// header, and the path is what a user needs to fix `url`), never user info or a query (a query
/// can carry a token).
pub(super) fn redact(url: &Url) -> String {
    http::redact(url, http::PathShown::Whole)
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

impl Client {
    pub fn new(
        source: String,
        username: Option<String>,
        http: reqwest::Client,
        timeout: Duration,
    ) -> Self {
        Client {
            source,
            username,
            password: None,
            http,
            timeout,
            counters: Counters::default(),
        }
    }

    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    pub fn set_password(&mut self, secret: Secret) {
        self.password = Some(secret);
    }

    /// Requests and bytes so far.
    pub fn stats(&self) -> RequestStats {
        RequestStats {
            requests: self.counters.requests.load(Ordering::Relaxed),
            bytes_sent: self.counters.bytes_sent.load(Ordering::Relaxed),
            bytes_received: self.counters.bytes_received.load(Ordering::Relaxed),
        }
    }

    pub fn network(&self, url: &Url, detail: String) -> SourceError {
        SourceError::Network {
            source_name: self.source.clone(),
            url: redact(url),
            detail,
        }
    }

    pub fn data_error(&self, url: &Url, detail: String) -> SourceError {
        SourceError::Data {
            source_name: self.source.clone(),
            location: redact(url),
            detail,
        }
    }

    pub fn status_error(&self, url: &Url, status: u16) -> SourceError {
        SourceError::HttpStatus {
            source_name: self.source.clone(),
            url: redact(url),
            status,
        }
    }

    pub fn setup(&self, detail: String) -> SourceError {
        SourceError::Setup {
            source_name: self.source.clone(),
            detail,
        }
    }

    /// `href` resolved against `base`; an unusable href is the server's data error.
    pub fn join(&self, base: &Url, href: &str) -> Result<Url, SourceError> {
        base.join(href)
            .map_err(|e| self.data_error(base, format!("bad href `{href}`: {e}")))
    }

    /// One WebDAV request, following same-origin redirects. 401 and 429 become their
    /// `SourceError` variants; every other status is the caller's to judge.
    pub async fn request(
        &self,
        method: &'static str,
        url: &Url,
        depth: Option<&'static str>,
        body: String,
    ) -> Result<DavResponse, SourceError> {
        let mut url = url.clone();
        for _hop in 0..=MAX_REDIRECTS {
            let span = tracing::debug_span!(
                "caldav_request",
                source = %self.source,
                method,
                url = %redact(&url),
                status = tracing::field::Empty,
                bytes = tracing::field::Empty,
            );
            let reply = self
                .send_once(method, &url, depth, &body)
                .instrument(span.clone())
                .await?;
            span.record("status", reply.status);
            span.record("bytes", reply.body.len());
            tracing::debug!(parent: &span, "caldav response");
            match reply.status {
                301 | 302 | 303 | 307 | 308 => {
                    let Some(location) = reply.location else {
                        return Err(self.status_error(&url, reply.status));
                    };
                    // QUIRK(Radicale): `/.well-known/caldav` answers `301 Location: /`, a relative
                    // target, which is resolved against the request URL here.
                    // https://github.com/Kozea/Radicale/blob/master/DOCUMENTATION.md
                    let next = url
                        .join(&location)
                        .map_err(|e| self.data_error(&url, format!("bad redirect target: {e}")))?;
                    if !same_origin(&url, &next) {
                        return Err(self.setup(format!(
                            "{} redirects to another server ({}); credentials are not sent there: put that URL in the config if you trust it",
                            redact(&url),
                            redact(&next)
                        )));
                    }
                    url = next;
                }
                401 => {
                    return Err(SourceError::Unauthorized {
                        source_name: self.source.clone(),
                        fix: format!(
                            "check the username and the password (password_command or password_env) of calendar `{}`",
                            self.source
                        ),
                    });
                }
                429 => {
                    return Err(SourceError::RateLimited {
                        source_name: self.source.clone(),
                        retry_after: reply.retry_after,
                    });
                }
                status => {
                    return Ok(DavResponse {
                        status,
                        body: reply.body,
                        url,
                    });
                }
            }
        }
        Err(self.data_error(&url, format!("more than {MAX_REDIRECTS} redirects")))
    }

    async fn send_once(
        &self,
        method: &'static str,
        url: &Url,
        depth: Option<&'static str>,
        body: &str,
    ) -> Result<RawResponse, SourceError> {
        let m = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|e| self.setup(format!("bad HTTP method {method}: {e}")))?;
        let mut req = self
            .http
            .request(m, url.clone())
            .timeout(self.timeout)
            .header("Content-Type", "application/xml; charset=utf-8")
            .body(body.to_string());
        if let Some(d) = depth {
            req = req.header("Depth", d);
        }
        if let Some(user) = &self.username {
            req = req.basic_auth(user, self.password.as_ref().map(|p| p.expose()));
        }
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        self.counters
            .bytes_sent
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        let mut resp = req
            .send()
            .await
            .map_err(|e| self.network(url, http::describe(e)))?;
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        // The header is relative to the server's clock; reading the system clock here only turns
        // a date into a wait, it schedules nothing.
        let retry_after = http::retry_after(resp.headers(), chrono::Utc::now());
        if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Err(self.data_error(url, format!("answer larger than {MAX_BODY} bytes")));
        }
        let mut buf = Vec::new();
        loop {
            let chunk = resp
                .chunk()
                .await
                .map_err(|e| self.network(url, http::describe(e)))?;
            let Some(chunk) = chunk else { break };
            self.counters
                .bytes_received
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            if buf.len() + chunk.len() > MAX_BODY {
                return Err(self.data_error(url, format!("answer larger than {MAX_BODY} bytes")));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(RawResponse {
            status,
            body: buf,
            location,
            retry_after,
        })
    }

    /// A request that must answer 207 with a multistatus; also returns the URL it was read from
    /// (after redirects), against which its hrefs resolve.
    pub async fn multistatus(
        &self,
        method: &'static str,
        url: &Url,
        depth: &'static str,
        body: String,
    ) -> Result<(Multistatus, Url), SourceError> {
        let reply = self.request(method, url, Some(depth), body).await?;
        if reply.status != 207 {
            return Err(self.status_error(&reply.url, reply.status));
        }
        let ms = self.parse(&reply)?;
        Ok((ms, reply.url))
    }

    /// Reads a reply's body as a multistatus.
    pub fn parse(&self, reply: &DavResponse) -> Result<Multistatus, SourceError> {
        xml::parse_multistatus(&reply.body).map_err(|e| self.data_error(&reply.url, e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_count_as_same_origin_only_with_scheme_host_and_port_equal() {
        let a = Url::parse("https://dav.example.com/x").unwrap();
        assert!(same_origin(
            &a,
            &Url::parse("https://dav.example.com:443/y").unwrap()
        ));
        assert!(!same_origin(
            &a,
            &Url::parse("http://dav.example.com/y").unwrap()
        ));
        assert!(!same_origin(
            &a,
            &Url::parse("https://dav.example.com:8443/").unwrap()
        ));
        assert!(!same_origin(
            &a,
            &Url::parse("https://evil.example.com/").unwrap()
        ));
    }

    #[test]
    fn urls_in_messages_carry_no_credentials_or_query() {
        let u = Url::parse("https://alex:hunter2@dav.example.com/cal/?token=abc#x").unwrap();
        assert_eq!(redact(&u), "https://dav.example.com/cal/");
    }

    fn client() -> Client {
        Client::new(
            "work".into(),
            None,
            http::client(http::Redirects::Refuse).unwrap(),
            Duration::from_secs(5),
        )
    }

    #[test]
    fn every_error_that_names_a_url_leaves_its_query_out() {
        let c = client();
        let u = Url::parse("https://dav.example.com/cal/?token=s3cret").unwrap();
        for e in [
            c.network(&u, "cannot connect".into()),
            c.data_error(&u, "not xml".into()),
            c.status_error(&u, 500),
            c.join(&u, "http://[bad").unwrap_err(),
        ] {
            let text = e.to_string();
            assert!(!text.contains("s3cret"), "{text}");
            assert!(text.contains("https://dav.example.com/cal/"), "{text}");
        }
    }

    /// A server that is not there: the request fails, and neither the error nor the log lines
    /// written meanwhile show the query.
    #[tokio::test]
    async fn a_failed_request_neither_logs_nor_reports_the_query() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        // Port 1 on loopback: refused at once, no network needed.
        let u = Url::parse("http://127.0.0.1:1/cal/?token=s3cret").unwrap();
        let err = client()
            .request("PROPFIND", &u, Some("0"), String::new())
            .await
            .err()
            .expect("nothing listens on port 1");
        drop(_guard);
        let logged = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert!(err.to_string().contains("http://127.0.0.1:1/cal/"), "{err}");
        assert!(
            logged.contains("http://127.0.0.1:1/cal/"),
            "the span names the URL: {logged}"
        );
        assert!(!logged.contains("s3cret"), "{logged}");
        assert!(!logged.contains("token="), "{logged}");
    }
}
