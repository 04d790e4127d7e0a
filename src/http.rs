//! HTTP policy in one place: the client every network calendar and the sign-in use (reqwest on
//! rustls with ring, timeouts, no cookies, a user agent that names us), and the rules that go with
//! it: which URLs are "this machine" (plain HTTP is only allowed there by default, see `config`),
//! how a URL is shown in logs and errors, how a reqwest error is put in words without its URL,
//! and how `Retry-After` is read.
//!
//! Each source asks for the client it needs through [`crate::source::SourceContext`]; nothing else
//! builds one.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Whether a client may follow redirects on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirects {
    /// Up to five hops: for plain ICS feeds, which carry no credentials in headers.
    Follow,
    /// None: WebDAV and OAuth requests carry credentials, which must not follow a redirect to
    /// another origin (the CalDAV source follows same-origin ones itself).
    Refuse,
}

/// Builds a client. Fails only when TLS cannot be initialised; callers report it, never panic.
pub fn client(redirects: Redirects) -> Result<reqwest::Client, reqwest::Error> {
    // Installing the provider twice is harmless (the second call returns Err and changes nothing);
    // it must happen before the first client is built because reqwest is built without a default.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let redirect = match redirects {
        Redirects::Follow => reqwest::redirect::Policy::limited(5),
        Redirects::Refuse => reqwest::redirect::Policy::none(),
    };
    reqwest::Client::builder()
        .user_agent(concat!("nextstep/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .pool_idle_timeout(Duration::from_secs(90))
        .redirect(redirect)
        .build()
}

/// Whether a URL points at this machine (`localhost`, 127.0.0.0/8, `::1`).
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// How much of a URL's path may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathShown {
    /// The whole path: servers whose credentials travel in headers (CalDAV), where the path is
    /// what a user needs to see to fix a setting.
    Whole,
    /// The first segment only, and only when more follows: published feeds whose secret is in
    /// the path (Google's `/calendar/ical/<id>/private-<token>/basic.ics`), where a lone segment
    /// may itself be the token.
    FirstSegment,
}

/// A URL as it may appear in logs and errors: never user info, a query or a fragment (any of
/// which can carry a token), and the path as `path` allows.
pub fn redact(url: &url::Url, path: PathShown) -> String {
    let mut out = format!("{}://", url.scheme());
    if let Some(host) = url.host() {
        out.push_str(&host.to_string());
    }
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    match path {
        PathShown::Whole => out.push_str(url.path()),
        PathShown::FirstSegment => {
            let segments: Vec<&str> = url
                .path_segments()
                .map(|s| s.filter(|p| !p.is_empty()).collect())
                .unwrap_or_default();
            match segments.as_slice() {
                [] if url.query().is_none() => out.push('/'),
                [first, _, ..] => out.push_str(&format!("/{first}/…")),
                _ => out.push_str("/…"),
            }
        }
    }
    out
}

/// A network failure in words: what kind of failure, then the innermost causes ("Connection
/// refused", "dns error"), without the URL reqwest would put in (it may hold a secret).
pub fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "the response broke off"
    } else if e.is_redirect() {
        "too many redirects"
    } else {
        "request failed"
    };
    let e = e.without_url();
    let mut detail = kind.to_string();
    let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    // Bounded: a cause chain is short in practice, and a loop in one must not hang a poll.
    for _ in 0..5 {
        let Some(c) = cause else { break };
        detail.push_str(": ");
        detail.push_str(&c.to_string());
        cause = c.source();
    }
    detail
}

/// The `Retry-After` header (RFC 9110 §10.2.3) as a wait from `now`: delay-seconds or an
/// HTTP-date. A date in the past means no wait; an unreadable value is ignored.
pub fn retry_after(headers: &reqwest::header::HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    fn url(u: &str) -> url::Url {
        url::Url::parse(u).unwrap()
    }

    #[test]
    fn loopback_means_localhost_and_the_loopback_addresses_only() {
        assert!(is_loopback(&url("http://localhost:8080/")));
        assert!(is_loopback(&url("http://LOCALHOST/")));
        assert!(is_loopback(&url("http://127.0.0.2/")));
        assert!(is_loopback(&url("http://[::1]:5232/")));
        assert!(!is_loopback(&url("http://localhost.example.com/")));
        assert!(!is_loopback(&url("http://10.0.0.1/")));
    }

    #[test]
    fn a_redacted_url_never_shows_credentials_query_or_fragment() {
        let u = url("https://me:pw@dav.example.com:8443/cal/work/?token=s3cret#frag");
        assert_eq!(
            redact(&u, PathShown::Whole),
            "https://dav.example.com:8443/cal/work/"
        );
        assert_eq!(
            redact(&u, PathShown::FirstSegment),
            "https://dav.example.com:8443/cal/…"
        );
        assert_eq!(
            redact(&url("http://[::1]:1/x?k=v"), PathShown::Whole),
            "http://[::1]:1/x"
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static(" 17 "));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(17)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Tue, 01 Dec 2026 10:01:30 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(90)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Tue, 01 Dec 2026 09:00:00 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
    }
}
