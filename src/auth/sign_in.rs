//! What every interactive sign-in shares, whichever grant it uses: its options, its report, and
//! the last step, which keeps the tokens the provider issued.

use std::path::PathBuf;
use std::time::Duration;

use oauth2::TokenResponse;
use serde::Serialize;

use super::store::{StoredIn, TokenStore};
use super::{AuthError, TokenStoreChoice};
use crate::clock::{Clock, SystemClock};
use crate::secret::Secret;

/// How long `nextstep auth …` waits for the person by default.
pub const DEFAULT_SIGN_IN_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Options of `nextstep auth <provider>`.
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

    /// The given HTTP client, or a new one that follows no redirect (token requests carry secrets).
    pub fn http(&self) -> Result<reqwest::Client, AuthError> {
        match self.http.clone() {
            Some(http) => Ok(http),
            None => crate::http::client(crate::http::Redirects::Refuse)
                .map_err(|e| AuthError::Http(crate::http::describe(e))),
        }
    }
}

/// What `auth <provider>` did.
#[derive(Debug, Clone, Serialize)]
pub struct SignInReport {
    pub source: String,
    pub stored_in: StoredIn,
    /// The scopes asked for, space-separated.
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

/// Keeps the tokens of a completed sign-in; refuses an answer without a refresh token, which would
/// leave the daemon signed out within the hour.
pub async fn keep_tokens<T: TokenResponse>(
    store: &TokenStore,
    token: &T,
    scope: String,
) -> Result<SignInReport, AuthError> {
    let Some(refresh) = token.refresh_token() else {
        return Err(AuthError::NoRefreshToken {
            provider: store.provider(),
            source_name: store.source_name().to_string(),
        });
    };
    let refresh = Secret::new(refresh.secret().clone());
    let access = Secret::new(token.access_token().secret().clone());
    let expires = token
        .expires_in()
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .map(|d| SystemClock.now() + d);
    let stored_in = store.save(&refresh, Some((&access, expires))).await?;
    tracing::info!(source = %store.source_name(), provider = store.provider().name, stored_in = %stored_in, "sign-in complete");
    Ok(SignInReport {
        source: store.source_name().to_string(),
        stored_in,
        scope,
    })
}

/// The error for a failed write to the terminal.
pub(crate) fn output_error(e: std::io::Error) -> AuthError {
    AuthError::Store {
        action: "write to",
        path: PathBuf::from("<output>"),
        detail: e.to_string(),
    }
}
