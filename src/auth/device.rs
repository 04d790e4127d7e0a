//! Sign-in on a device without a browser: the OAuth 2.0 device authorization grant (RFC 8628), as
//! Microsoft's identity platform documents it
//! (<https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code>).
//!
//! One line tells the person where to go and which code to type (the line works over SSH too);
//! the token endpoint is then polled at the `interval` the server gave, until it answers with
//! tokens or with a final error. What each answer means is the pure [`next_step`], so it is
//! tested without a server.
//!
//! The device code and the user code are secrets for as long as the code is valid: neither is
//! logged, and no error carries them. The user code is only written to the terminal that asked.

use std::io::Write;
use std::time::Duration;

use oauth2::basic::BasicTokenResponse;
use serde::Deserialize;

use super::sign_in::{SignInOptions, SignInReport, keep_tokens, output_error};
use super::store::TokenStore;
use super::{AuthError, Provider};
use crate::secret::Secret;

/// The grant type of the polling requests (RFC 8628 §3.4).
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// What RFC 8628 §3.5 says to add to the interval after `slow_down`.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// The interval when the server names none (RFC 8628 §3.2).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// What differs between providers in a device sign-in.
#[derive(Debug, Clone)]
pub struct DeviceSignIn<'a> {
    pub provider: &'static Provider,
    pub source_name: &'a str,
    pub client_id: &'a str,
    /// The device authorization endpoint (Microsoft: `…/oauth2/v2.0/devicecode`).
    pub device_url: &'a url::Url,
    pub token_url: &'a url::Url,
    pub scopes: &'a [&'a str],
}

/// The device authorization answer. No Debug: it holds the codes.
#[derive(Deserialize)]
struct DeviceAuthorization {
    device_code: String,
    user_code: String,
    /// RFC 8628 and Microsoft's v2.0 endpoint both spell it `verification_uri`.
    verification_uri: String,
    expires_in: u64,
    interval: Option<u64>,
}

/// An OAuth error answer of the token endpoint.
#[derive(Debug, Deserialize)]
struct ErrorAnswer {
    error: String,
    error_description: Option<String>,
}

/// What to do after one polling answer.
#[derive(Debug)]
pub enum Step {
    /// Signed in.
    Done(Box<BasicTokenResponse>),
    /// Ask again after this long.
    Wait(Duration),
    Fail(AuthError),
}

/// Reads one answer of the token endpoint during polling. `interval` is the current wait.
pub fn next_step(
    provider: &'static Provider,
    source_name: &str,
    token_url: &url::Url,
    status: u16,
    body: &[u8],
    interval: Duration,
    lifetime: Duration,
) -> Step {
    if (200..300).contains(&status) {
        return match serde_json::from_slice::<BasicTokenResponse>(body) {
            Ok(t) => Step::Done(Box::new(t)),
            // serde_json's message names a position, never the content.
            Err(e) => Step::Fail(AuthError::Protocol {
                provider,
                url: token_url.to_string(),
                detail: format!("not a token response ({e})"),
            }),
        };
    }
    let Ok(answer) = serde_json::from_slice::<ErrorAnswer>(body) else {
        return Step::Fail(AuthError::Protocol {
            provider,
            url: token_url.to_string(),
            detail: format!("HTTP {status} without an OAuth error"),
        });
    };
    match answer.error.as_str() {
        "authorization_pending" => Step::Wait(interval),
        "slow_down" => Step::Wait(interval + SLOW_DOWN_STEP),
        "authorization_declined" | "access_denied" => Step::Fail(AuthError::Denied {
            provider,
            error: answer.error,
        }),
        "expired_token" => Step::Fail(AuthError::DeviceCodeExpired(lifetime)),
        _ => Step::Fail(AuthError::Refused {
            provider,
            source_name: source_name.to_string(),
            error: answer.error,
            description: answer.error_description,
        }),
    }
}

/// POSTs `form` to `url` (within the token request timeout); returns the status and the body. A
/// failed send or read is a network error naming the URL, never the form (it carries codes).
async fn post_form(
    http: &reqwest::Client,
    provider: &'static Provider,
    url: &url::Url,
    form: &[(&str, &str)],
) -> Result<(u16, Vec<u8>), AuthError> {
    let network = |e: reqwest::Error| AuthError::Network {
        provider,
        url: url.to_string(),
        detail: crate::http::describe(e),
    };
    let resp = http
        .post(url.clone())
        .form(form)
        .timeout(super::oauth_http::TOKEN_REQUEST_TIMEOUT)
        .send()
        .await
        .map_err(network)?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await.map_err(network)?;
    Ok((status, body.to_vec()))
}

/// Runs the device sign-in for `req` and stores the tokens.
///
/// Writes one line with the address and the code to `out`, then polls until the person approves,
/// declines, or the code expires (or `opts.timeout` passes, whichever is first).
pub async fn sign_in(
    req: DeviceSignIn<'_>,
    opts: SignInOptions,
    out: &mut (dyn Write + Send),
) -> Result<SignInReport, AuthError> {
    let provider = req.provider;
    let http = opts.http()?;
    let scope = req.scopes.join(" ");
    let (status, body) = post_form(
        &http,
        provider,
        req.device_url,
        &[("client_id", req.client_id), ("scope", scope.as_str())],
    )
    .await?;
    if !(200..300).contains(&status) {
        let answer = serde_json::from_slice::<ErrorAnswer>(&body).ok();
        return Err(match answer {
            Some(a) => AuthError::Refused {
                provider,
                source_name: req.source_name.to_string(),
                error: a.error,
                description: a.error_description,
            },
            None => AuthError::Protocol {
                provider,
                url: req.device_url.to_string(),
                detail: format!("HTTP {status}"),
            },
        });
    }
    let auth: DeviceAuthorization =
        serde_json::from_slice(&body).map_err(|e| AuthError::Protocol {
            provider,
            url: req.device_url.to_string(),
            detail: format!("not a device authorization ({e})"),
        })?;
    let device_code = Secret::new(auth.device_code);
    let lifetime = Duration::from_secs(auth.expires_in).min(opts.timeout);
    let mut interval = auth
        .interval
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_INTERVAL)
        .max(Duration::from_secs(1));
    writeln!(
        out,
        "To let nextstep read the {} calendar `{}`, open {} and enter the code {}",
        provider.name, req.source_name, auth.verification_uri, auth.user_code
    )
    .map_err(output_error)?;
    out.flush().map_err(output_error)?;
    tracing::info!(source = %req.source_name, provider = provider.name, "waiting for the device sign-in");

    let deadline = tokio::time::Instant::now() + lifetime;
    let token = loop {
        if tokio::time::Instant::now() + interval > deadline {
            return Err(AuthError::DeviceCodeExpired(lifetime));
        }
        tokio::time::sleep(interval).await;
        let (status, body) = post_form(
            &http,
            provider,
            req.token_url,
            &[
                ("grant_type", DEVICE_GRANT),
                ("client_id", req.client_id),
                ("device_code", device_code.expose()),
            ],
        )
        .await?;
        match next_step(
            provider,
            req.source_name,
            req.token_url,
            status,
            &body,
            interval,
            lifetime,
        ) {
            Step::Done(t) => break t,
            Step::Wait(next) => interval = next,
            Step::Fail(e) => return Err(e),
        }
    };
    let store = TokenStore::new(provider, &opts.data_dir, req.source_name, opts.token_store);
    let report = keep_tokens(&store, &*token, scope).await?;
    writeln!(out, "Done: {report}.").map_err(output_error)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::tests::TEST_PROVIDER;
    use oauth2::TokenResponse;

    fn step(status: u16, body: &str) -> Step {
        let url: url::Url = "https://login.example/t/oauth2/v2.0/token".parse().unwrap();
        next_step(
            &TEST_PROVIDER,
            "m365",
            &url,
            status,
            body.as_bytes(),
            Duration::from_secs(5),
            Duration::from_secs(900),
        )
    }

    /// The token endpoint's 400 `body` makes the sign-in wait `secs` before it polls again.
    fn assert_waits(body: &str, secs: u64) {
        let s = step(400, body);
        assert!(
            matches!(s, Step::Wait(d) if d == Duration::from_secs(secs)),
            "{s:?}"
        );
    }

    /// The token endpoint's answer ends the sign-in with an error.
    fn fails(status: u16, body: &str) -> AuthError {
        let s = step(status, body);
        let Step::Fail(e) = s else { panic!("{s:?}") };
        e
    }

    #[test]
    fn authorization_pending_waits_the_same_interval() {
        assert_waits(r#"{"error":"authorization_pending"}"#, 5);
    }

    #[test]
    fn slow_down_waits_five_seconds_longer() {
        assert_waits(r#"{"error":"slow_down"}"#, 10);
    }

    #[test]
    fn a_declined_sign_in_fails_and_says_so() {
        let e = fails(400, r#"{"error":"authorization_declined"}"#);
        assert!(matches!(e, AuthError::Denied { .. }));
        assert!(e.to_string().contains("authorization_declined"), "{e}");
    }

    #[test]
    fn an_expired_code_fails_and_asks_to_run_the_command_again() {
        let e = fails(400, r#"{"error":"expired_token"}"#);
        assert!(matches!(e, AuthError::DeviceCodeExpired(_)));
        assert!(e.to_string().contains("run the command again"), "{e}");
    }

    #[test]
    fn another_oauth_error_is_a_refusal_that_names_the_command() {
        let e = fails(
            400,
            r#"{"error":"invalid_client","error_description":"AADSTS7000218: public client flows are off"}"#,
        );
        assert!(
            e.to_string()
                .contains("nextstep auth example --source m365"),
            "{e}"
        );
    }

    #[test]
    fn a_token_answer_with_a_refresh_token_ends_the_wait() {
        let s = step(
            200,
            r#"{"token_type":"Bearer","scope":"Calendars.ReadBasic","expires_in":3599,"ext_expires_in":3599,"access_token":"at","refresh_token":"rt"}"#,
        );
        let Step::Done(t) = s else { panic!("{s:?}") };
        assert_eq!(t.refresh_token().unwrap().secret(), "rt");
    }

    #[test]
    fn an_unreadable_answer_is_a_protocol_error_without_the_body() {
        let e = fails(200, r#"{"access_token":"secret-at"}"#);
        assert!(!e.to_string().contains("secret-at"), "{e}");
        let e = fails(500, "<html>secret</html>");
        assert!(!e.to_string().contains("secret"), "{e}");
    }
}
