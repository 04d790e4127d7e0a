//! What keeps the answer page to its owner. A page on localhost is reachable by every web page the
//! user opens, so every request passes [`guard`] before it reaches a route:
//!
//! - the `Host` header must be `127.0.0.1:PORT`, `localhost:PORT` or `[::1]:PORT` (a rebound DNS
//!   name pointing at 127.0.0.1 carries its own name, and is refused before routing);
//! - the per-install access token must come with the request: once in the URL (`?token=…`, as
//!   `nextstep open` and notifications send it), which answers with a redirect to the same page
//!   without it and a `SameSite=Strict`, `HttpOnly` cookie, then in that cookie;
//! - a state change is a `POST` whose `Origin` is the page's own and whose form carries the CSRF
//!   token; every other method but `GET` and `HEAD` is refused;
//! - every answer carries a strict Content-Security-Policy (no script at all, styles and images
//!   from the page itself), forbids framing and sniffing, sends no referrer to other sites, and
//!   is not cached; no CORS header is ever sent.
//!
//! The token lives in [`ACCESS_FILE`] in the data folder (mode 0600) with the page's address, for
//! `nextstep open`. It is never logged. Comparisons of secrets take the same time whatever they
//! hold.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use url::form_urlencoded;

use super::WebState;

/// The file in the data folder that holds the page's address and access token.
pub const ACCESS_FILE: &str = "web.json";

/// The cookie that carries the access token after the first request.
pub const COOKIE: &str = "nextstep_token";

/// The form field that carries the CSRF token in every POST.
pub const CSRF_FIELD: &str = "csrf";

/// The largest form body accepted (a note is a few lines; this leaves room and stops a flood).
pub const MAX_FORM: usize = 64 * 1024;

/// The Content-Security-Policy of every page: nothing runs, nothing loads from elsewhere, forms
/// post only to the page itself, and no other site may frame it.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A secret: 32 random bytes from the operating system, as 64 hex digits. Its `Debug` hides it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Secret {
    /// A new random secret.
    pub fn random() -> std::io::Result<Secret> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Secret(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `other` is this secret, in time that depends only on the lengths.
    pub fn matches(&self, other: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), other.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    fn is_well_formed(&self) -> bool {
        self.0.len() == 64 && self.0.bytes().all(|b| b.is_ascii_hexdigit())
    }
}

/// What [`ACCESS_FILE`] holds: where the page is, and the token that opens it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Access {
    /// `http://127.0.0.1:PORT/`.
    pub url: String,
    pub token: Secret,
}

impl Access {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(ACCESS_FILE)
    }

    /// The access file of `data_dir`, `None` when there is none (no page was ever served).
    pub fn load(data_dir: &Path) -> std::io::Result<Option<Access>> {
        match std::fs::read(Access::path(data_dir)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The install's token: the one in the access file when there is a well-formed one (so a
    /// restart keeps the browser's cookie valid), else a new one.
    pub fn token_for(data_dir: &Path) -> std::io::Result<Secret> {
        match Access::load(data_dir) {
            Ok(Some(a)) if a.token.is_well_formed() => Ok(a.token),
            _ => Secret::random(),
        }
    }

    /// Writes the access file (0600, atomically) in `data_dir` (created 0700 when missing).
    pub fn save(&self, data_dir: &Path) -> std::io::Result<()> {
        crate::fsutil::create_private_dir(data_dir)?;
        let body = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::fsutil::write_atomic_private(&Access::path(data_dir), &body)
    }

    /// The URL of `path` (`/`, `/meeting?id=…`) that opens the page: with the token once.
    pub fn open_url(&self, path_and_query: &str) -> String {
        let base = self.url.trim_end_matches('/');
        let sep = if path_and_query.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{base}{path_and_query}{sep}token={}", self.token.expose())
    }
}

/// The `Host` values the page answers to on `port`.
pub fn allowed_hosts(port: u16) -> [String; 3] {
    [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ]
}

/// Whether the request's `Host` is one of [`allowed_hosts`] (exactly one `Host` header, and no
/// other name: DNS rebinding gives an attacker's page the name of the attacker's domain).
pub fn host_allowed(headers: &HeaderMap, port: u16) -> Option<String> {
    let mut hosts = headers.get_all(header::HOST).iter();
    let host = hosts.next()?.to_str().ok()?.to_ascii_lowercase();
    if hosts.next().is_some() {
        return None;
    }
    allowed_hosts(port).contains(&host).then_some(host)
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// The `Set-Cookie` value that hands the token to the browser: never sent to another site,
/// never readable by a script.
pub fn set_cookie(token: &Secret) -> String {
    format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
        token.expose()
    )
}

/// `query` without its `token` parameter (the address the browser is sent on to).
fn without_token(query: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k != "token"))
        .finish()
}

fn refuse(status: StatusCode, why: &str) -> Response {
    (status, format!("{why}\n")).into_response()
}

/// The gate in front of every route; see the module note.
pub async fn guard(State(state): State<Arc<WebState>>, req: Request, next: Next) -> Response {
    let mut response = check(&state, req, next).await;
    secure_headers(response.headers_mut());
    response
}

async fn check(state: &WebState, req: Request, next: Next) -> Response {
    let Some(host) = host_allowed(req.headers(), state.port) else {
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            "refused: this page answers only to 127.0.0.1, localhost or [::1] with its port",
        );
    };
    let method = req.method().clone();
    if method != Method::GET && method != Method::HEAD && method != Method::POST {
        return refuse(StatusCode::METHOD_NOT_ALLOWED, "refused: only GET and POST");
    }

    // The token in the URL: the first request from `nextstep open` or a notification.
    let query = req.uri().query().unwrap_or_default().to_owned();
    let in_url = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned());
    if let Some(given) = in_url {
        if method != Method::GET || !state.token.matches(&given) {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "refused: wrong access token; run `nextstep open` to open the page",
            );
        }
        let rest = without_token(&query);
        let to = if rest.is_empty() {
            req.uri().path().to_owned()
        } else {
            format!("{}?{rest}", req.uri().path())
        };
        let mut r = Redirect::to(&to).into_response();
        if let Ok(v) = HeaderValue::from_str(&set_cookie(&state.token)) {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
        return r;
    }
    if !cookie(req.headers(), COOKIE).is_some_and(|c| state.token.matches(c)) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "refused: no access token; run `nextstep open` to open the page",
        );
    }

    if method != Method::POST {
        return next.run(req).await;
    }
    let origin_ok = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .is_some_and(|o| o.eq_ignore_ascii_case(&format!("http://{host}")));
    if !origin_ok {
        return refuse(
            StatusCode::FORBIDDEN,
            "refused: a change must come from this page (Origin)",
        );
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_FORM).await else {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "refused: the form is too large",
        );
    };
    let csrf_ok = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == CSRF_FIELD)
        .is_some_and(|(_, v)| state.csrf.matches(&v));
    if !csrf_ok {
        return refuse(
            StatusCode::FORBIDDEN,
            "refused: the form's CSRF token is missing or stale; reload the page and try again",
        );
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The headers every answer carries (see the module note).
fn secure_headers(h: &mut HeaderMap) {
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // `same-origin`, not `no-referrer`: under `no-referrer` Chromium sends `Origin: null`
        // with the page's own form posts, which the Origin check must refuse (found by the
        // browser tests). Other sites still get no referrer.
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    h.remove(header::ACCESS_CONTROL_ALLOW_ORIGIN);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn only_loopback_names_with_the_right_port_are_allowed_hosts() {
        for (host, allowed) in [
            ("127.0.0.1:7717", true),
            ("localhost:7717", true),
            ("[::1]:7717", true),
            ("LOCALHOST:7717", true),
            ("evil.example:7717", false),
            ("127.0.0.1", false),
            ("127.0.0.1:80", false),
            ("localhost.evil.example:7717", false),
            ("127.0.0.2:7717", false),
        ] {
            let got = host_allowed(&headers(&[("host", host)]), 7717);
            assert_eq!(got.is_some(), allowed, "{host}");
        }
        assert!(host_allowed(&HeaderMap::new(), 7717).is_none());
        let two = headers(&[("host", "127.0.0.1:7717"), ("host", "evil.example:7717")]);
        assert!(host_allowed(&two, 7717).is_none());
    }

    #[test]
    fn a_secret_is_64_hex_digits_matches_only_itself_and_hides_in_debug() {
        let s = Secret::random().unwrap();
        assert!(s.is_well_formed());
        assert!(s.matches(s.expose()));
        assert!(!s.matches(&s.expose()[..63]));
        assert!(!s.matches(""));
        assert_ne!(Secret::random().unwrap(), s);
        assert_eq!(format!("{s:?}"), "[redacted]");
    }

    #[test]
    fn the_cookie_is_found_among_others_and_set_strict_and_http_only() {
        let h = headers(&[("cookie", "a=1; nextstep_token=abc ; b=2")]);
        assert_eq!(cookie(&h, COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
        let s = Secret("f".repeat(64));
        let set = set_cookie(&s);
        assert!(set.contains("HttpOnly"), "{set}");
        assert!(set.contains("SameSite=Strict"), "{set}");
    }

    #[test]
    fn the_token_is_dropped_from_the_query_and_the_rest_kept() {
        assert_eq!(without_token("token=x&id=a%2Fb"), "id=a%2Fb");
        assert_eq!(without_token("token=x"), "");
    }

    #[test]
    fn the_access_file_is_private_and_keeps_the_token_across_restarts() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let token = Access::token_for(&data).unwrap();
        let a = Access {
            url: "http://127.0.0.1:7717/".into(),
            token: token.clone(),
        };
        a.save(&data).unwrap();
        let mode = std::fs::metadata(Access::path(&data))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(Access::token_for(&data).unwrap(), token);
        let back = Access::load(&data).unwrap().unwrap();
        assert_eq!(back.url, a.url);
        assert_eq!(
            a.open_url("/meeting?id=w%2Fa"),
            format!(
                "http://127.0.0.1:7717/meeting?id=w%2Fa&token={}",
                token.expose()
            )
        );
        assert_eq!(
            a.open_url("/"),
            format!("http://127.0.0.1:7717/?token={}", token.expose())
        );
    }
}
