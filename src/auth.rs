//! Google sign-in for a desktop app, and the store that keeps its tokens.
//!
//! `nextstep auth google` runs the OAuth 2.0 authorization-code flow with PKCE (S256) and a loopback
//! redirect on `127.0.0.1:<random port>`, asking for `calendar.readonly` only, with
//! `access_type=offline` and `prompt=consent` so Google issues a refresh token. The refresh token goes
//! to the OS keyring when one answers (`secret-tool` on Linux, `security` on macOS; the token is
//! written to the tool's stdin, never on a command line), otherwise into
//! `<data_dir>/google-<source>.json`, created with mode 0600 and replaced atomically. The same file
//! caches the current access token and its expiry so a restart does not need a refresh.
//!
//! The OAuth requests go through the process's one reqwest client ([`OAuthHttp`]). Nothing here logs a
//! token, a code, a verifier or the client secret, and no error message carries one: errors from the
//! token endpoint are reduced to Google's `error` code and description.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AsyncHttpClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    HttpRequest, HttpResponse, PkceCodeChallenge, RedirectUrl, RefreshToken, RequestTokenError,
    Scope, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::clock::{Clock, SystemClock};
use crate::config::{CalendarConfig, CalendarKind, GoogleConfig};
use crate::secret::{Secret, SecretError, SecretSource};

/// The only scope nextstep asks for.
pub const GOOGLE_SCOPE: &str = "https://www.googleapis.com/auth/calendar.readonly";

/// How long `auth google` waits for the browser to come back.
pub const DEFAULT_SIGN_IN_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Every token request gets this long.
const TOKEN_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// An access token this close to its expiry is refreshed before use.
const EXPIRY_MARGIN: chrono::Duration = chrono::Duration::seconds(60);

/// The keyring service name under which refresh tokens are kept.
const KEYRING_SERVICE: &str = "nextstep";

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("calendar `{0}` is not a Google calendar")]
    NotGoogle(String),
    #[error(
        "`{source_name}` is not signed in to Google (no token in {} or the keyring): run `nextstep auth google --source {source_name}`",
        path.display()
    )]
    NotSignedIn { source_name: String, path: PathBuf },
    /// The token endpoint answered with an OAuth error (`invalid_grant`, `invalid_client`, …).
    #[error("{}", refused_message(source_name, error, description.as_deref()))]
    Refused {
        source_name: String,
        error: String,
        description: Option<String>,
    },
    #[error("cannot reach Google's token endpoint {url}: {detail}")]
    Network { url: String, detail: String },
    #[error("unusable answer from Google's token endpoint {url}: {detail}")]
    Protocol { url: String, detail: String },
    #[error("cannot read the client secret of `{source_name}`: {error}")]
    ClientSecret {
        source_name: String,
        error: SecretError,
    },
    #[error("cannot {action} {}: {detail}", path.display())]
    Store {
        action: &'static str,
        path: PathBuf,
        detail: String,
    },
    #[error("cannot set up HTTPS for the sign-in: {0}")]
    Http(String),
    #[error("cannot listen on 127.0.0.1 for Google's redirect: {0}")]
    Listen(String),
    #[error("no answer from the browser within {0:?}; run the command again")]
    TimedOut(Duration),
    #[error(
        "the answer that reached the redirect did not carry our `state`; nothing was exchanged (another page or program may have called it): run the command again"
    )]
    StateMismatch,
    #[error("Google refused the sign-in: {0}")]
    Denied(String),
    #[error(
        "Google issued no refresh token; remove nextstep at https://myaccount.google.com/permissions and run `nextstep auth google --source {0}` again"
    )]
    NoRefreshToken(String),
}

fn refused_message(source: &str, error: &str, description: Option<&str>) -> String {
    let mut m = format!("Google refused the credentials of `{source}` ({error}");
    if let Some(d) = description {
        m.push_str(": ");
        m.push_str(d);
    }
    m.push(')');
    if error == "invalid_grant" {
        m.push_str(
            "; the refresh token was revoked or has expired (apps whose OAuth consent screen is still in \"Testing\" get refresh tokens that expire after 7 days: publish the app to keep them)",
        );
    } else if error == "invalid_client" {
        m.push_str("; check `client_id` and `client_secret` in the config");
    }
    m.push_str(&format!(": run `nextstep auth google --source {source}`"));
    m
}

impl AuthError {
    /// Whether the user must sign in again (as opposed to a passing fault).
    pub fn needs_sign_in(&self) -> bool {
        matches!(
            self,
            AuthError::NotSignedIn { .. }
                | AuthError::Refused { .. }
                | AuthError::NoRefreshToken(_)
        )
    }
}

// ---------------------------------------------------------------------------------------------
// oauth2 over our reqwest client
// ---------------------------------------------------------------------------------------------

/// oauth2's HTTP hook, served by the process's reqwest client so the build keeps one HTTP stack.
#[derive(Debug, Clone)]
pub struct OAuthHttp(pub reqwest::Client);

/// A transport failure, described without the URL (a token request carries no secret in its URL,
/// but redirects could) and without the body.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OAuthHttpError(String);

impl<'c> AsyncHttpClient<'c> for OAuthHttp {
    type Error = OAuthHttpError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<HttpResponse, Self::Error>> + Send + 'c>,
    >;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let mut req: reqwest::Request = request
                .try_into()
                .map_err(|e: reqwest::Error| OAuthHttpError(e.without_url().to_string()))?;
            *req.timeout_mut() = Some(TOKEN_REQUEST_TIMEOUT);
            let resp = self
                .0
                .execute(req)
                .await
                .map_err(|e| OAuthHttpError(crate::http::describe(e)))?;
            let mut builder = oauth2::http::Response::builder().status(resp.status());
            for (name, value) in resp.headers() {
                builder = builder.header(name, value);
            }
            let body = resp
                .bytes()
                .await
                .map_err(|e| OAuthHttpError(crate::http::describe(e)))?;
            builder
                .body(body.to_vec())
                .map_err(|e| OAuthHttpError(e.to_string()))
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Token store
// ---------------------------------------------------------------------------------------------

/// Where refresh tokens may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenStoreChoice {
    /// The OS keyring when one answers, else the 0600 file. `NEXTSTEP_KEYRING=off` forces the file.
    #[default]
    Auto,
    /// Only the 0600 file in the data directory.
    File,
}

/// Where a refresh token ended up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "where")]
pub enum StoredIn {
    /// The keyring, via this tool (`secret-tool`, `security`).
    Keyring(String),
    File(PathBuf),
}

impl std::fmt::Display for StoredIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoredIn::Keyring(tool) => write!(f, "the OS keyring (via {tool})"),
            StoredIn::File(p) => write!(f, "{} (mode 0600)", p.display()),
        }
    }
}

/// The token file (`google-<source>.json`). Never printed: no Debug.
#[derive(Clone, Default, Serialize, Deserialize)]
struct TokenFile {
    /// `file`, `secret-tool` or `security`: where the refresh token is.
    refresh_token_in: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_expires_at: Option<DateTime<Utc>>,
}

/// The path of the token file of source `name`.
pub fn token_path(data_dir: &Path, source_name: &str) -> PathBuf {
    let safe: String = source_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    data_dir.join(format!("google-{safe}.json"))
}

fn read_token_file(path: &Path) -> Result<Option<TokenFile>, AuthError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| AuthError::Store {
                action: "read",
                path: path.to_path_buf(),
                // serde_json's message names a line and column, never the content.
                detail: format!(
                    "not a nextstep token file ({e}); run `nextstep auth google` again"
                ),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(AuthError::Store {
            action: "read",
            path: path.to_path_buf(),
            detail: e.to_string(),
        }),
    }
}

/// Writes the file atomically (temp file + rename in the same directory), 0600 from creation.
fn write_token_file(path: &Path, file: &TokenFile) -> Result<(), AuthError> {
    let err = |detail: String| AuthError::Store {
        action: "write",
        path: path.to_path_buf(),
        detail,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::fsutil::create_private_dir(dir).map_err(|e| err(e.to_string()))?;
    let body = serde_json::to_vec_pretty(file).map_err(|e| err(e.to_string()))?;
    crate::fsutil::write_atomic_private(path, &body).map_err(|e| err(e.to_string()))
}

/// The keyring tool of this OS, if present.
fn keyring_tool(choice: TokenStoreChoice) -> Option<&'static str> {
    if choice == TokenStoreChoice::File
        || std::env::var("NEXTSTEP_KEYRING").is_ok_and(|v| v == "off" || v == "0")
    {
        return None;
    }
    let tool = if cfg!(target_os = "macos") {
        "security"
    } else {
        "secret-tool"
    };
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()));
    on_path.then_some(tool)
}

async fn run_tool(argv: &[&str], stdin: Option<String>) -> Result<String, String> {
    let mut cmd = tokio::process::Command::new(argv[0]);
    cmd.args(&argv[1..])
        .stdin(if stdin.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", argv[0]))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.as_bytes())
            .await
            .map_err(|e| format!("cannot write to {}: {e}", argv[0]))?;
        drop(pipe);
    }
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .map_err(|_| format!("{} did not answer within 30 s", argv[0]))?
        .map_err(|e| format!("{} failed: {e}", argv[0]))?;
    if !out.status.success() {
        return Err(format!("{} exited with {}", argv[0], out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
}

/// Characters a Google refresh token is made of; anything else is not sent through `security -i`,
/// whose command line needs quoting.
fn shell_safe(token: &str) -> bool {
    !token.is_empty()
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~+/=".contains(c))
}

async fn keyring_store(tool: &str, account: &str, token: &Secret) -> Result<(), String> {
    match tool {
        "secret-tool" => {
            let label = format!("nextstep Google refresh token ({account})");
            run_tool(
                &[
                    "secret-tool",
                    "store",
                    "--label",
                    &label,
                    "service",
                    KEYRING_SERVICE,
                    "account",
                    account,
                ],
                Some(token.expose().to_string()),
            )
            .await
            .map(|_| ())
        }
        "security" => {
            if !shell_safe(token.expose()) || !shell_safe(account) {
                return Err("the token has characters `security -i` cannot take".into());
            }
            // `security -i` reads commands from stdin, so the token never shows in `ps`.
            let script = format!(
                "add-generic-password -U -a \"{account}\" -s \"{KEYRING_SERVICE}\" -w \"{}\"\n",
                token.expose()
            );
            run_tool(&["security", "-i"], Some(script))
                .await
                .map(|_| ())
        }
        other => Err(format!("unknown keyring tool {other}")),
    }
}

async fn keyring_load(tool: &str, account: &str) -> Result<Secret, String> {
    let out = match tool {
        "secret-tool" => {
            run_tool(
                &[
                    "secret-tool",
                    "lookup",
                    "service",
                    KEYRING_SERVICE,
                    "account",
                    account,
                ],
                None,
            )
            .await?
        }
        "security" => {
            run_tool(
                &[
                    "security",
                    "find-generic-password",
                    "-a",
                    account,
                    "-s",
                    KEYRING_SERVICE,
                    "-w",
                ],
                None,
            )
            .await?
        }
        other => return Err(format!("unknown keyring tool {other}")),
    };
    if out.is_empty() {
        return Err(format!("{tool} has no token for {account}"));
    }
    Ok(Secret::new(out))
}

/// Saves a refresh token (keyring first when allowed) and the access token cache.
async fn save_tokens(
    path: &Path,
    source_name: &str,
    choice: TokenStoreChoice,
    refresh: &Secret,
    access: Option<(&Secret, Option<DateTime<Utc>>)>,
) -> Result<StoredIn, AuthError> {
    let account = format!("google-{source_name}");
    let mut file = TokenFile {
        access_token: access.map(|(a, _)| a.expose().to_string()),
        access_expires_at: access.and_then(|(_, e)| e),
        ..TokenFile::default()
    };
    let mut stored = None;
    if let Some(tool) = keyring_tool(choice) {
        match keyring_store(tool, &account, refresh).await {
            Ok(()) => {
                file.refresh_token_in = tool.to_string();
                stored = Some(StoredIn::Keyring(tool.to_string()));
            }
            Err(why) => {
                tracing::warn!(tool, %why, "the keyring did not take the refresh token; using the token file");
            }
        }
    }
    let stored = match stored {
        Some(s) => s,
        None => {
            file.refresh_token_in = "file".into();
            file.refresh_token = Some(refresh.expose().to_string());
            StoredIn::File(path.to_path_buf())
        }
    };
    write_token_file(path, &file)?;
    Ok(stored)
}

// ---------------------------------------------------------------------------------------------
// Sign-in
// ---------------------------------------------------------------------------------------------

/// Options of `nextstep auth google`.
#[derive(Debug, Clone)]
pub struct SignInOptions {
    /// Print the URL instead of opening a browser.
    pub no_browser: bool,
    /// The program that opens the URL (the URL is appended); default `xdg-open` / `open`.
    pub open_browser: Option<Vec<String>>,
    /// Where the token file goes (nextstep's data directory).
    pub data_dir: PathBuf,
    pub token_store: TokenStoreChoice,
    /// How long to wait for the browser.
    pub timeout: Duration,
    /// The process's HTTP client; `None` builds one.
    pub http: Option<reqwest::Client>,
}

impl SignInOptions {
    pub fn new(data_dir: PathBuf) -> Self {
        SignInOptions {
            no_browser: false,
            open_browser: None,
            data_dir,
            token_store: TokenStoreChoice::Auto,
            timeout: DEFAULT_SIGN_IN_TIMEOUT,
            http: None,
        }
    }
}

/// What `auth google` did.
#[derive(Debug, Clone, Serialize)]
pub struct SignInReport {
    pub source: String,
    pub stored_in: StoredIn,
    pub scope: String,
}

impl std::fmt::Display for SignInReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "signed in `{}` with read-only calendar access; refresh token stored in {}",
            self.source, self.stored_in
        )
    }
}

fn google_cfg(cfg: &CalendarConfig) -> Result<&GoogleConfig, AuthError> {
    match &cfg.kind {
        CalendarKind::Google(g) => Ok(g),
        _ => Err(AuthError::NotGoogle(cfg.name.clone())),
    }
}

async fn client_secret(
    source_name: &str,
    src: &Option<SecretSource>,
) -> Result<Option<Secret>, AuthError> {
    match src {
        None => Ok(None),
        Some(s) => s
            .resolve()
            .await
            .map(Some)
            .map_err(|error| AuthError::ClientSecret {
                source_name: source_name.to_string(),
                error,
            }),
    }
}

/// Maps an oauth2 token-request failure to an [`AuthError`] without any body or token.
fn token_error(
    source_name: &str,
    url: &url::Url,
    e: RequestTokenError<OAuthHttpError, oauth2::StandardErrorResponse<BasicErrorResponseType>>,
) -> AuthError {
    match e {
        RequestTokenError::ServerResponse(r) => AuthError::Refused {
            source_name: source_name.to_string(),
            error: r.error().as_ref().to_string(),
            description: r.error_description().cloned(),
        },
        RequestTokenError::Request(e) => AuthError::Network {
            url: url.to_string(),
            detail: e.0,
        },
        // The raw body in `Parse` may hold tokens: only the parser's position goes out.
        RequestTokenError::Parse(e, _) => AuthError::Protocol {
            url: url.to_string(),
            detail: format!("not a token response at {}", e.path()),
        },
        RequestTokenError::Other(s) => AuthError::Protocol {
            url: url.to_string(),
            detail: s,
        },
    }
}

/// `nextstep auth google`: signs the calendar `cfg` in and stores its refresh token.
///
/// Writes the sign-in URL and the result to `out`; waits at most `opts.timeout` for the browser.
pub async fn google_sign_in(
    cfg: &CalendarConfig,
    opts: SignInOptions,
    out: &mut (dyn Write + Send),
) -> Result<SignInReport, AuthError> {
    let g = google_cfg(cfg)?;
    let http = match opts.http.clone() {
        Some(http) => http,
        None => crate::http::client(crate::http::Redirects::Refuse)
            .map_err(|e| AuthError::Http(crate::http::describe(e)))?,
    };
    let secret = client_secret(&cfg.name, &g.client_secret).await?;

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| AuthError::Listen(e.to_string()))?;
    let port = listener
        .local_addr()
        .map_err(|e| AuthError::Listen(e.to_string()))?
        .port();
    let redirect = format!("http://127.0.0.1:{port}/");

    let mut client = BasicClient::new(ClientId::new(g.client_id.clone()))
        .set_auth_uri(AuthUrl::from_url(g.auth_url.clone()))
        .set_token_uri(TokenUrl::from_url(g.token_url.clone()))
        .set_auth_type(AuthType::RequestBody)
        // INVARIANT: a `http://127.0.0.1:<port>/` string is a valid URL.
        .set_redirect_uri(
            RedirectUrl::new(redirect.clone()).map_err(|e| AuthError::Listen(e.to_string()))?,
        );
    if let Some(s) = &secret {
        client = client.set_client_secret(ClientSecret::new(s.expose().to_string()));
    }
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new(GOOGLE_SCOPE.to_string()))
        .set_pkce_challenge(challenge)
        .add_extra_param("access_type", "offline")
        .add_extra_param("prompt", "consent")
        .url();

    tracing::info!(source = %cfg.name, port, "waiting for Google sign-in on the loopback redirect");
    let io = |e: std::io::Error| AuthError::Store {
        action: "write to",
        path: PathBuf::from("<output>"),
        detail: e.to_string(),
    };
    writeln!(
        out,
        "To let nextstep read the Google calendar `{}`, open this address and allow access:\n\n  {auth_url}\n",
        cfg.name
    )
    .map_err(io)?;
    if !opts.no_browser {
        let argv = opts.open_browser.clone().unwrap_or_else(|| {
            vec![
                if cfg!(target_os = "macos") {
                    "open"
                } else {
                    "xdg-open"
                }
                .to_string(),
            ]
        });
        match open_browser(&argv, auth_url.as_str()) {
            Ok(()) => writeln!(out, "(opened with {})", argv[0]).map_err(io)?,
            Err(why) => writeln!(
                out,
                "(could not open a browser: {why}; open the address by hand)"
            )
            .map_err(io)?,
        }
    }
    writeln!(
        out,
        "Waiting up to {} minutes…",
        opts.timeout.as_secs().div_ceil(60)
    )
    .map_err(io)?;
    out.flush().map_err(io)?;

    let code = tokio::time::timeout(opts.timeout, wait_for_code(&listener, state.secret()))
        .await
        .map_err(|_| AuthError::TimedOut(opts.timeout))??;
    drop(listener);

    let oauth_http = OAuthHttp(http);
    let token = client
        .exchange_code(AuthorizationCode::new(code.expose().to_string()))
        .set_pkce_verifier(verifier)
        .request_async(&oauth_http)
        .await
        .map_err(|e| token_error(&cfg.name, &g.token_url, e))?;
    let Some(refresh) = token.refresh_token() else {
        return Err(AuthError::NoRefreshToken(cfg.name.clone()));
    };
    let refresh = Secret::new(refresh.secret().clone());
    let access = Secret::new(token.access_token().secret().clone());
    let expires = token
        .expires_in()
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .map(|d| SystemClock.now() + d);
    let path = token_path(&opts.data_dir, &cfg.name);
    let stored_in = save_tokens(
        &path,
        &cfg.name,
        opts.token_store,
        &refresh,
        Some((&access, expires)),
    )
    .await?;
    tracing::info!(source = %cfg.name, stored_in = %stored_in, "Google sign-in complete");
    let report = SignInReport {
        source: cfg.name.clone(),
        stored_in,
        scope: GOOGLE_SCOPE.to_string(),
    };
    writeln!(out, "Done: {report}.").map_err(io)?;
    Ok(report)
}

fn open_browser(argv: &[String], url: &str) -> Result<(), String> {
    let Some(program) = argv.first() else {
        return Err("empty browser command".into());
    };
    std::process::Command::new(program)
        .args(&argv[1..])
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(|_| ())
        .map_err(|e| format!("cannot run {program}: {e}"))
}

const PAGE_DONE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>nextstep</title></head><body><h1>nextstep is signed in</h1><p>You can close this tab.</p></body></html>";
const PAGE_FAILED: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>nextstep</title></head><body><h1>Sign-in failed</h1><p>Go back to the terminal for details.</p></body></html>";

/// Serves the loopback redirect until one request carries `code` (or `error`) for our `state`.
async fn wait_for_code(
    listener: &tokio::net::TcpListener,
    expected_state: &str,
) -> Result<Secret, AuthError> {
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            // E.g. out of file descriptors: do not spin; the caller's timeout bounds the wait.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let target =
            match tokio::time::timeout(Duration::from_secs(10), read_target(&mut conn)).await {
                Ok(Some(t)) => t,
                _ => continue,
            };
        // The target holds the code: it is parsed, never logged.
        let Ok(url) = url::Url::parse(&format!("http://127.0.0.1{target}")) else {
            respond(&mut conn, "400 Bad Request", PAGE_FAILED).await;
            continue;
        };
        if url.path() != "/" {
            respond(&mut conn, "404 Not Found", "not found").await;
            continue;
        }
        let get = |k: &str| {
            url.query_pairs()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.into_owned())
        };
        let (code, state, error) = (get("code"), get("state"), get("error"));
        if code.is_none() && error.is_none() {
            respond(&mut conn, "400 Bad Request", PAGE_FAILED).await;
            continue;
        }
        if state.as_deref() != Some(expected_state) {
            respond(&mut conn, "400 Bad Request", PAGE_FAILED).await;
            return Err(AuthError::StateMismatch);
        }
        if let Some(error) = error {
            respond(&mut conn, "200 OK", PAGE_FAILED).await;
            // Google's error codes (`access_denied`, …) are fixed words, safe to show.
            let error: String = error
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect();
            return Err(AuthError::Denied(error));
        }
        respond(&mut conn, "200 OK", PAGE_DONE).await;
        // `code` is Some: checked above together with `error`.
        return Ok(Secret::new(code.unwrap_or_default()));
    }
}

/// Reads the request head and returns the request target of a GET.
async fn read_target(conn: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 16 * 1024 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let line = head.lines().next()?;
    let mut parts = line.split(' ');
    (parts.next()? == "GET").then_some(())?;
    let target = parts.next()?;
    target.starts_with('/').then(|| target.to_string())
}

async fn respond(conn: &mut tokio::net::TcpStream, status: &str, body: &str) {
    let msg = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    // The browser going away early changes nothing for the sign-in.
    let _ = conn.write_all(msg.as_bytes()).await;
    let _ = conn.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Access tokens for the source
// ---------------------------------------------------------------------------------------------

/// The signed-in state of one Google calendar source: hands out access tokens and refreshes them.
pub struct GoogleAuth {
    source_name: String,
    client_id: String,
    client_secret_src: Option<SecretSource>,
    client_secret: Option<Secret>,
    token_url: url::Url,
    http: OAuthHttp,
    path: PathBuf,
    choice: TokenStoreChoice,
    clock: Arc<dyn Clock>,
    refresh: Option<Secret>,
    access: Option<(Secret, Option<DateTime<Utc>>)>,
    loaded: bool,
}

impl std::fmt::Debug for GoogleAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleAuth")
            .field("source_name", &self.source_name)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl GoogleAuth {
    pub fn new(
        source_name: &str,
        g: &GoogleConfig,
        http: reqwest::Client,
        data_dir: &Path,
        choice: TokenStoreChoice,
    ) -> Self {
        GoogleAuth {
            source_name: source_name.to_string(),
            client_id: g.client_id.clone(),
            client_secret_src: g.client_secret.clone(),
            client_secret: None,
            token_url: g.token_url.clone(),
            http: OAuthHttp(http),
            path: token_path(data_dir, source_name),
            choice,
            clock: Arc::new(SystemClock),
            refresh: None,
            access: None,
            loaded: false,
        }
    }

    /// Uses `clock` for token expiry (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The token file of this source.
    pub fn token_path(&self) -> &Path {
        &self.path
    }

    async fn load(&mut self) -> Result<(), AuthError> {
        if self.loaded {
            return Ok(());
        }
        let not_signed_in = || AuthError::NotSignedIn {
            source_name: self.source_name.clone(),
            path: self.path.clone(),
        };
        let file = read_token_file(&self.path)?.ok_or_else(not_signed_in)?;
        self.refresh = match file.refresh_token_in.as_str() {
            "file" => file.refresh_token.clone().map(Secret::new),
            tool => {
                let account = format!("google-{}", self.source_name);
                match keyring_load(tool, &account).await {
                    Ok(s) => Some(s),
                    Err(why) => {
                        tracing::warn!(source = %self.source_name, tool, %why, "no refresh token in the keyring");
                        None
                    }
                }
            }
        };
        if self.refresh.is_none() {
            return Err(not_signed_in());
        }
        self.access = file
            .access_token
            .map(|a| (Secret::new(a), file.access_expires_at));
        self.loaded = true;
        Ok(())
    }

    /// A usable access token: the cached one unless it expires within a minute, else a fresh one.
    pub async fn access_token(&mut self) -> Result<Secret, AuthError> {
        self.load().await?;
        if let Some((token, expires)) = &self.access {
            let fresh = expires.is_none_or(|e| e - EXPIRY_MARGIN > self.clock.now());
            if fresh {
                return Ok(token.clone());
            }
        }
        self.refresh().await
    }

    /// Trades the refresh token for a new access token (after a 401, or at expiry).
    pub async fn refresh(&mut self) -> Result<Secret, AuthError> {
        self.load().await?;
        if self.client_secret.is_none() {
            self.client_secret = client_secret(&self.source_name, &self.client_secret_src).await?;
        }
        let Some(refresh) = self.refresh.clone() else {
            return Err(AuthError::NotSignedIn {
                source_name: self.source_name.clone(),
                path: self.path.clone(),
            });
        };
        let mut client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_token_uri(TokenUrl::from_url(self.token_url.clone()))
            .set_auth_type(AuthType::RequestBody);
        if let Some(s) = &self.client_secret {
            client = client.set_client_secret(ClientSecret::new(s.expose().to_string()));
        }
        tracing::debug!(source = %self.source_name, "refreshing the Google access token");
        let rt = RefreshToken::new(refresh.expose().to_string());
        let token = client
            .exchange_refresh_token(&rt)
            .request_async(&self.http)
            .await
            .map_err(|e| token_error(&self.source_name, &self.token_url, e))?;
        let access = Secret::new(token.access_token().secret().clone());
        let expires = token
            .expires_in()
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| self.clock.now() + d);
        // Google may rotate the refresh token; keep the newest.
        let refresh = token
            .refresh_token()
            .map(|r| Secret::new(r.secret().clone()))
            .unwrap_or(refresh);
        let rotated = Some(&refresh) != self.refresh.as_ref();
        self.refresh = Some(refresh.clone());
        self.access = Some((access.clone(), expires));
        // Cache the access token beside the refresh token. A failure to write only costs a refresh
        // after a restart, so it is a warning.
        let result = if rotated {
            save_tokens(
                &self.path,
                &self.source_name,
                self.choice,
                &refresh,
                Some((&access, expires)),
            )
            .await
            .map(|_| ())
        } else {
            self.save_access_cache(&access, expires)
        };
        if let Err(e) = result {
            tracing::warn!(source = %self.source_name, error = %e, "cannot cache the access token");
        }
        Ok(access)
    }

    fn save_access_cache(
        &self,
        access: &Secret,
        expires: Option<DateTime<Utc>>,
    ) -> Result<(), AuthError> {
        let mut file = read_token_file(&self.path)?.unwrap_or_default();
        file.access_token = Some(access.expose().to_string());
        file.access_expires_at = expires;
        write_token_file(&self.path, &file)
    }

    /// Forgets the access token in memory (after the server refused it).
    pub fn invalidate_access(&mut self) {
        self.access = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_grant_mentions_testing_consent_screens_and_the_command() {
        let e = AuthError::Refused {
            source_name: "work".into(),
            error: "invalid_grant".into(),
            description: Some("Token has been expired or revoked.".into()),
        };
        let m = e.to_string();
        assert!(m.contains("7 days") && m.contains("\"Testing\""), "{m}");
        assert!(m.contains("nextstep auth google --source work"), "{m}");
        assert!(e.needs_sign_in());
    }

    #[test]
    fn the_token_file_is_written_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = token_path(dir.path(), "my work");
        assert!(path.ends_with("google-my_work.json"));
        let f = TokenFile {
            refresh_token_in: "file".into(),
            refresh_token: Some("r".into()),
            ..TokenFile::default()
        };
        write_token_file(&path, &f).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let back = read_token_file(&path).unwrap().unwrap();
        assert_eq!(back.refresh_token.as_deref(), Some("r"));
        // Only the file itself is left: no temp files.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn only_plain_token_characters_go_through_security_dash_i() {
        assert!(shell_safe("1//0gAbC-d_e.f"));
        assert!(!shell_safe("a\" ; rm"));
        assert!(!shell_safe(""));
    }

    #[test]
    fn the_file_store_choice_skips_the_keyring() {
        assert_eq!(keyring_tool(TokenStoreChoice::File), None);
    }
}
