//! The signed-in state of one source: hands out access tokens and trades the refresh token for new
//! ones at the provider's token endpoint.
//!
//! Promises: a cached access token is used until a minute before it expires; a refresh token the
//! server rotates (Microsoft does on every use, Google sometimes) is stored before the new access
//! token is handed out, so a crash never leaves only a spent refresh token on disk.

use std::path::Path;
use std::sync::Arc;

use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, RefreshToken, Scope, TokenResponse, TokenUrl};

use super::oauth_http::{OAuthHttp, token_error};
use super::store::{AccessToken, TokenStore};
use super::{AuthError, Provider};
use crate::clock::{Clock, SystemClock};
use crate::secret::{Secret, SecretSource};

/// An access token this close to its expiry is refreshed before use.
const EXPIRY_MARGIN: chrono::Duration = chrono::Duration::seconds(60);

/// Who the client is at the token endpoint.
#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    /// `None`: a public client (Microsoft's, and Google's when configured without one).
    pub client_secret: Option<SecretSource>,
    pub token_url: url::Url,
    /// Scopes sent with a refresh (Microsoft wants them; Google ignores them). Empty: none.
    pub refresh_scopes: Vec<String>,
}

/// Access tokens for one source.
pub struct Session {
    client: Client,
    client_secret: Option<Secret>,
    http: OAuthHttp,
    store: TokenStore,
    clock: Arc<dyn Clock>,
    refresh: Option<Secret>,
    access: Option<AccessToken>,
    loaded: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("source_name", &self.store.source_name())
            .field("path", &self.store.path())
            .finish_non_exhaustive()
    }
}

/// Makes `$name`, a provider's tuple struct around a [`Session`], a session in all but its
/// constructor: `with_clock` for tests, and everything else (access tokens, refreshes, the token
/// file) through `Deref`/`DerefMut` to the shared [`Session`].
macro_rules! wraps_session {
    ($name:ident) => {
        impl $name {
            /// Uses `clock` for token expiry (tests).
            pub fn with_clock(self, clock: std::sync::Arc<dyn $crate::clock::Clock>) -> Self {
                $name(self.0.with_clock(clock))
            }
        }

        impl std::ops::Deref for $name {
            type Target = $crate::auth::session::Session;
            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }

        impl std::ops::DerefMut for $name {
            fn deref_mut(&mut self) -> &mut Self::Target {
                &mut self.0
            }
        }
    };
}
pub(crate) use wraps_session;

/// Resolves a configured client secret, naming the source when it cannot.
pub async fn client_secret(
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

impl Session {
    pub fn new(client: Client, http: reqwest::Client, store: TokenStore) -> Self {
        Session {
            client,
            client_secret: None,
            http: OAuthHttp(http),
            store,
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
        self.store.path()
    }

    pub fn provider(&self) -> &'static Provider {
        self.store.provider()
    }

    async fn load(&mut self) -> Result<(), AuthError> {
        if self.loaded {
            return Ok(());
        }
        let tokens = self
            .store
            .load()
            .await?
            .ok_or_else(|| self.store.not_signed_in())?;
        self.refresh = Some(tokens.refresh);
        self.access = tokens.access;
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
        let source_name = self.store.source_name().to_string();
        if self.client_secret.is_none() {
            self.client_secret = client_secret(&source_name, &self.client.client_secret).await?;
        }
        let Some(refresh) = self.refresh.clone() else {
            return Err(self.store.not_signed_in());
        };
        let mut client = BasicClient::new(ClientId::new(self.client.client_id.clone()))
            .set_token_uri(TokenUrl::from_url(self.client.token_url.clone()))
            .set_auth_type(AuthType::RequestBody);
        if let Some(s) = &self.client_secret {
            client = client.set_client_secret(ClientSecret::new(s.expose().to_string()));
        }
        let provider = self.store.provider();
        tracing::debug!(source = %source_name, provider = provider.name, "refreshing the access token");
        let rt = RefreshToken::new(refresh.expose().to_string());
        let token = client
            .exchange_refresh_token(&rt)
            .add_scopes(self.client.refresh_scopes.iter().cloned().map(Scope::new))
            .request_async(&self.http)
            .await
            .map_err(|e| token_error(provider, &source_name, &self.client.token_url, e))?;
        let access = Secret::new(token.access_token().secret().clone());
        let expires = token
            .expires_in()
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| self.clock.now() + d);
        // The server may rotate the refresh token; keep the newest.
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
            self.store
                .save(&refresh, Some((&access, expires)))
                .await
                .map(|_| ())
        } else {
            self.store.save_access(&access, expires)
        };
        if let Err(e) = result {
            tracing::warn!(source = %source_name, error = %e, "cannot cache the access token");
        }
        Ok(access)
    }

    /// Forgets the access token in memory (after the server refused it).
    pub fn invalidate_access(&mut self) {
        self.access = None;
    }
}
