//! OAuth 2.0 sign-in for desktop apps, shared by every provider (Google, Microsoft): where tokens
//! are kept, how a person signs in, and how access tokens are refreshed.
//!
//! - [`store`]: the refresh token goes to the OS keyring when one answers (`secret-tool` on Linux,
//!   `security` on macOS; written to the tool's stdin, never on a command line), otherwise into
//!   `<data_dir>/<provider>-<source>.json`, created with mode 0600 and replaced atomically. The same
//!   file caches the current access token and its expiry so a restart does not need a refresh.
//! - [`loopback`]: the authorization-code flow with PKCE (S256) and a redirect to
//!   `127.0.0.1:<random port>`, with the `state` check and the browser opening.
//! - [`device`]: the device authorization grant (RFC 8628), for a terminal without a browser.
//! - [`sign_in`]: what both sign-ins share: options, report, keeping the issued tokens.
//! - [`session`]: hands out access tokens and trades the refresh token for new ones, storing a
//!   rotated refresh token every time.
//! - [`oauth_http`]: the `oauth2` crate's HTTP hook, served by the process's one reqwest client, and
//!   the mapping of a token endpoint's answer to [`AuthError`].
//!
//! What belongs to one provider (scopes, endpoints, the advice for its error codes) lives with its
//! source, e.g. `source::google::auth`; a provider describes itself here with a [`Provider`].
//!
//! Nothing here logs a token, a code, a verifier or a client secret, and no error message carries
//! one: errors from a token endpoint are reduced to the OAuth `error` code and description.

use std::path::PathBuf;
use std::time::Duration;

use crate::secret::SecretError;

pub mod device;
pub mod loopback;
pub mod oauth_http;
pub mod session;
pub mod sign_in;
pub mod store;

pub use oauth_http::{OAuthHttp, OAuthHttpError};
pub use sign_in::{DEFAULT_SIGN_IN_TIMEOUT, SignInOptions, SignInReport};
pub use store::{StoredIn, TokenStoreChoice};

// Google's sign-in kept its old paths (`nextstep::auth::GoogleAuth`, …) for the CLI and the tests.
pub use crate::source::google::auth::{GOOGLE_SCOPE, GoogleAuth, google_sign_in, token_path};

/// What the shared code needs to know of an identity provider to speak about it.
#[derive(Debug, Clone, Copy)]
pub struct Provider {
    /// The name shown in messages: "Google", "Microsoft".
    pub name: &'static str,
    /// The word after `nextstep auth`; also the prefix of token files and keyring accounts.
    pub command: &'static str,
    /// Advice for an OAuth `error` code of this provider's token endpoint, if any.
    pub refusal_hint: fn(&str) -> Option<&'static str>,
    /// What to do when the provider issued no refresh token (said before "and run …").
    pub no_refresh_token_hint: &'static str,
}

impl Provider {
    /// The command that signs source `source_name` in again.
    pub fn sign_in_command(&self, source_name: &str) -> String {
        format!("nextstep auth {} --source {source_name}", self.command)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("calendar `{source_name}` is not a {} calendar", provider.name)]
    WrongKind {
        provider: &'static Provider,
        source_name: String,
    },
    #[error(
        "`{source_name}` is not signed in to {} (no token in {} or the keyring): run `{}`",
        provider.name, path.display(), provider.sign_in_command(source_name)
    )]
    NotSignedIn {
        provider: &'static Provider,
        source_name: String,
        path: PathBuf,
    },
    /// The token endpoint answered with an OAuth error (`invalid_grant`, `invalid_client`, …).
    #[error("{}", refused_message(provider, source_name, error, description.as_deref()))]
    Refused {
        provider: &'static Provider,
        source_name: String,
        error: String,
        description: Option<String>,
    },
    #[error("cannot reach {}'s token endpoint {url}: {detail}", provider.name)]
    Network {
        provider: &'static Provider,
        url: String,
        detail: String,
    },
    #[error("unusable answer from {}'s token endpoint {url}: {detail}", provider.name)]
    Protocol {
        provider: &'static Provider,
        url: String,
        detail: String,
    },
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
    #[error("cannot listen on 127.0.0.1 for {}'s redirect: {detail}", provider.name)]
    Listen {
        provider: &'static Provider,
        detail: String,
    },
    #[error("no answer from the browser within {0:?}; run the command again")]
    TimedOut(Duration),
    #[error(
        "the answer that reached the redirect did not carry our `state`; nothing was exchanged (another page or program may have called it): run the command again"
    )]
    StateMismatch,
    #[error("{} refused the sign-in: {error}", provider.name)]
    Denied {
        provider: &'static Provider,
        error: String,
    },
    #[error(
        "{} issued no refresh token; {} and run `{}` again",
        provider.name, provider.no_refresh_token_hint, provider.sign_in_command(source_name)
    )]
    NoRefreshToken {
        provider: &'static Provider,
        source_name: String,
    },
    /// The device code expired before the person approved it (`expired_token`).
    #[error("the code was not entered within {0:?}; run the command again for a new one")]
    DeviceCodeExpired(Duration),
}

fn refused_message(
    provider: &Provider,
    source: &str,
    error: &str,
    description: Option<&str>,
) -> String {
    let mut m = format!(
        "{} refused the credentials of `{source}` ({error}",
        provider.name
    );
    // Microsoft's descriptions go on with "\r\nTrace ID: …\r\nCorrelation ID: …" lines; only
    // the first line says what happened, and the message must stay one line (`check`, logs).
    if let Some(d) = description.and_then(|d| d.lines().next()).map(str::trim)
        && !d.is_empty()
    {
        m.push_str(": ");
        m.push_str(d);
    }
    m.push(')');
    if let Some(hint) = (provider.refusal_hint)(error) {
        m.push_str("; ");
        m.push_str(hint);
    }
    m.push_str(&format!(": run `{}`", provider.sign_in_command(source)));
    m
}

impl AuthError {
    /// Whether the user must sign in again (as opposed to a passing fault).
    pub fn needs_sign_in(&self) -> bool {
        matches!(
            self,
            AuthError::NotSignedIn { .. }
                | AuthError::Refused { .. }
                | AuthError::NoRefreshToken { .. }
        )
    }

    /// The poll error this becomes in source `source_name`: `Unauthorized` when the user must sign
    /// in again (the message names the command), else what the fault is.
    pub fn into_source_error(self, source_name: &str) -> crate::source::SourceError {
        use crate::source::SourceError;
        let source_name = source_name.to_string();
        if self.needs_sign_in() {
            return SourceError::Unauthorized {
                source_name,
                fix: self.to_string(),
            };
        }
        match self {
            AuthError::Network { url, detail, .. } => SourceError::Network {
                source_name,
                url,
                detail,
            },
            AuthError::Protocol { url, detail, .. } => SourceError::Data {
                source_name,
                location: url,
                detail,
            },
            AuthError::Store { path, detail, .. } => SourceError::Io {
                source_name,
                path,
                detail,
            },
            other => SourceError::Setup {
                source_name,
                detail: other.to_string(),
            },
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A provider for the shared code's tests: no advice of its own.
    pub(crate) const TEST_PROVIDER: Provider = Provider {
        name: "Example",
        command: "example",
        refusal_hint: |_| None,
        no_refresh_token_hint: "ask for offline access",
    };

    #[test]
    fn a_refusal_names_the_provider_the_error_and_the_command_that_fixes_it() {
        let e = AuthError::Refused {
            provider: &TEST_PROVIDER,
            source_name: "work".into(),
            error: "invalid_grant".into(),
            description: Some("gone".into()),
        };
        assert_eq!(
            e.to_string(),
            "Example refused the credentials of `work` (invalid_grant: gone): run `nextstep auth example --source work`"
        );
        assert!(e.needs_sign_in());
    }

    #[test]
    fn a_refusal_keeps_only_the_first_line_of_a_multi_line_description() {
        let e = AuthError::Refused {
            provider: &TEST_PROVIDER,
            source_name: "m365".into(),
            error: "invalid_grant".into(),
            description: Some(
                "AADSTS70000: The grant was revoked.\r\nTrace ID: 0d6f\r\nCorrelation ID: 9b3c"
                    .into(),
            ),
        };
        assert_eq!(
            e.to_string(),
            "Example refused the credentials of `m365` (invalid_grant: AADSTS70000: The grant was revoked.): run `nextstep auth example --source m365`"
        );
    }

    #[test]
    fn not_signed_in_names_the_provider_from_its_field() {
        let e = AuthError::NotSignedIn {
            provider: &TEST_PROVIDER,
            source_name: "w".into(),
            path: PathBuf::from("/d/example-w.json"),
        };
        let m = e.to_string();
        assert!(m.contains("not signed in to Example"), "{m}");
        assert!(m.contains("nextstep auth example --source w"), "{m}");
        assert!(e.needs_sign_in());
    }
}
