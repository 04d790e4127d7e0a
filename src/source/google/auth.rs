//! Google's sign-in: what Google asks of a desktop app, on top of the shared [`crate::auth`].
//!
//! `nextstep auth google` runs the browser sign-in with a loopback redirect on `127.0.0.1`, asking
//! for `calendar.readonly` only, with `access_type=offline` and `prompt=consent` so Google issues a
//! refresh token. Tokens go to `<data_dir>/google-<source>.json` or the keyring (account
//! `google-<source>`). [`GoogleAuth`] hands the source its access tokens.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::auth::loopback::{self, BrowserSignIn};
use crate::auth::session::{self, Session};
use crate::auth::store::{self, TokenStore};
use crate::auth::{AuthError, Provider, SignInOptions, SignInReport, TokenStoreChoice};
use crate::config::{CalendarConfig, CalendarKind, GoogleConfig};

/// The only scope nextstep asks for.
pub const GOOGLE_SCOPE: &str = "https://www.googleapis.com/auth/calendar.readonly";

/// Google as the shared sign-in code speaks of it.
pub const GOOGLE: Provider = Provider {
    name: "Google",
    command: "google",
    refusal_hint: google_refusal_hint,
    no_refresh_token_hint: "remove nextstep at https://myaccount.google.com/permissions",
};

fn google_refusal_hint(error: &str) -> Option<&'static str> {
    match error {
        "invalid_grant" => Some(
            "the refresh token was revoked or has expired (apps whose OAuth consent screen is still in \"Testing\" get refresh tokens that expire after 7 days: publish the app to keep them)",
        ),
        "invalid_client" => Some("check `client_id` and `client_secret` in the config"),
        _ => None,
    }
}

/// The path of the token file of Google source `source_name`.
pub fn token_path(data_dir: &Path, source_name: &str) -> PathBuf {
    store::token_path(data_dir, GOOGLE.command, source_name)
}

fn google_cfg(cfg: &CalendarConfig) -> Result<&GoogleConfig, AuthError> {
    match &cfg.kind {
        CalendarKind::Google(g) => Ok(g),
        _ => Err(AuthError::WrongKind {
            provider: &GOOGLE,
            source_name: cfg.name.clone(),
        }),
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
    let req = BrowserSignIn {
        provider: &GOOGLE,
        source_name: &cfg.name,
        client_id: &g.client_id,
        client_secret: g.client_secret.as_ref(),
        auth_url: &g.auth_url,
        token_url: &g.token_url,
        scopes: &[GOOGLE_SCOPE],
        extra_params: &[("access_type", "offline"), ("prompt", "consent")],
        redirect_host: "127.0.0.1",
    };
    loopback::sign_in(req, opts, out).await
}

/// The signed-in state of one Google calendar source: hands out access tokens and refreshes them.
#[derive(Debug)]
pub struct GoogleAuth(Session);

impl GoogleAuth {
    pub fn new(
        source_name: &str,
        g: &GoogleConfig,
        http: reqwest::Client,
        data_dir: &Path,
        choice: TokenStoreChoice,
    ) -> Self {
        let client = session::Client {
            client_id: g.client_id.clone(),
            client_secret: g.client_secret.clone(),
            token_url: g.token_url.clone(),
            refresh_scopes: Vec::new(),
        };
        let store = TokenStore::new(&GOOGLE, data_dir, source_name, choice);
        GoogleAuth(Session::new(client, http, store))
    }
}

session::wraps_session!(GoogleAuth);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_grant_mentions_testing_consent_screens_and_the_command() {
        let e = AuthError::Refused {
            provider: &GOOGLE,
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
    fn google_token_files_keep_their_old_name() {
        let dir = Path::new("/d");
        assert!(token_path(dir, "my work").ends_with("google-my_work.json"));
    }
}
