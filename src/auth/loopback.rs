//! Sign-in in a browser: the OAuth 2.0 authorization-code flow with PKCE (S256) and a loopback
//! redirect (RFC 8252), for any provider.
//!
//! A listener on `127.0.0.1:<random port>` waits for the browser to come back; only an answer that
//! carries the `state` we sent is exchanged, so another page or program calling the port cannot
//! sign us in to someone else's account. The code is parsed from the request and never logged.

use std::io::Write;
use std::time::Duration;

use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    RedirectUrl, Scope, TokenUrl,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::oauth_http::{OAuthHttp, token_error};
use super::session::client_secret;
use super::sign_in::{SignInOptions, SignInReport, keep_tokens, output_error};
use super::store::TokenStore;
use super::{AuthError, Provider};
use crate::secret::{Secret, SecretSource};

/// What differs between providers in a browser sign-in.
#[derive(Debug, Clone)]
pub struct BrowserSignIn<'a> {
    pub provider: &'static Provider,
    pub source_name: &'a str,
    pub client_id: &'a str,
    pub client_secret: Option<&'a SecretSource>,
    pub auth_url: &'a url::Url,
    pub token_url: &'a url::Url,
    pub scopes: &'a [&'a str],
    /// Extra parameters of the authorization request (e.g. Google's `access_type=offline`).
    pub extra_params: &'a [(&'a str, &'a str)],
    /// The host named in the redirect URI: `127.0.0.1` (Google), `localhost` (Microsoft, whose
    /// app registrations list `http://localhost` and ignore the port). The listener binds
    /// 127.0.0.1 either way.
    pub redirect_host: &'a str,
}

/// Runs the browser sign-in for `req` and stores the tokens.
///
/// Writes the sign-in URL and progress to `out`; waits at most `opts.timeout` for the browser.
pub async fn sign_in(
    req: BrowserSignIn<'_>,
    opts: SignInOptions,
    out: &mut (dyn Write + Send),
) -> Result<SignInReport, AuthError> {
    let provider = req.provider;
    let listen = |e: std::io::Error| AuthError::Listen {
        provider,
        detail: e.to_string(),
    };
    let http = opts.http()?;
    let secret = client_secret(req.source_name, &req.client_secret.cloned()).await?;

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(listen)?;
    let port = listener.local_addr().map_err(listen)?.port();
    let redirect = format!("http://{}:{port}/", req.redirect_host);

    let mut client = BasicClient::new(ClientId::new(req.client_id.to_string()))
        .set_auth_uri(AuthUrl::from_url(req.auth_url.clone()))
        .set_token_uri(TokenUrl::from_url(req.token_url.clone()))
        .set_auth_type(AuthType::RequestBody)
        // INVARIANT: a `http://<host>:<port>/` string with a fixed host is a valid URL.
        .set_redirect_uri(
            RedirectUrl::new(redirect.clone()).map_err(|e| AuthError::Listen {
                provider,
                detail: e.to_string(),
            })?,
        );
    if let Some(s) = &secret {
        client = client.set_client_secret(ClientSecret::new(s.expose().to_string()));
    }
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut auth = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(req.scopes.iter().map(|s| Scope::new(s.to_string())))
        .set_pkce_challenge(challenge);
    for (k, v) in req.extra_params {
        auth = auth.add_extra_param(*k, *v);
    }
    let (auth_url, state) = auth.url();

    tracing::info!(source = %req.source_name, provider = provider.name, port, "waiting for the sign-in on the loopback redirect");
    let io = output_error;
    writeln!(
        out,
        "To let nextstep read the {} calendar `{}`, open this address and allow access:\n\n  {auth_url}\n",
        provider.name, req.source_name
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

    let code = tokio::time::timeout(
        opts.timeout,
        wait_for_code(&listener, provider, state.secret()),
    )
    .await
    .map_err(|_| AuthError::TimedOut(opts.timeout))??;
    drop(listener);

    let oauth_http = OAuthHttp(http);
    let token = client
        .exchange_code(AuthorizationCode::new(code.expose().to_string()))
        .set_pkce_verifier(verifier)
        .request_async(&oauth_http)
        .await
        .map_err(|e| token_error(provider, req.source_name, req.token_url, e))?;
    let store = TokenStore::new(provider, &opts.data_dir, req.source_name, opts.token_store);
    let report = keep_tokens(&store, &token, req.scopes.join(" ")).await?;
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
    provider: &'static Provider,
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
            // OAuth error codes (`access_denied`, …) are fixed words, safe to show.
            let error: String = error
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect();
            return Err(AuthError::Denied { provider, error });
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
