//! The token side that the fakes of Google (`support::google`) and Microsoft
//! (`support::microsoft`) share: the access and refresh tokens a fake sign-in server hands out,
//! the check of a bearer token on its API, every secret it saw (so tests can look for them in
//! logs), and the request parsing both fakes need.

use std::collections::HashMap;

use wiremock::Request;

/// The tokens a fake handed out, and every secret it handed out or received.
#[derive(Default)]
pub struct Tokens {
    access: Vec<String>,
    refresh: Vec<String>,
    /// Tokens, codes, verifiers: everything that must never reach a log.
    pub secrets: Vec<String>,
}

impl Tokens {
    /// Remembers a secret the fake handed out or received.
    pub fn keep(&mut self, secret: &str) {
        self.secrets.push(secret.to_string());
    }

    /// A new access token: `prefix` and `len` random characters.
    pub fn issue_access(&mut self, prefix: &str, len: usize) -> String {
        let t = rand_token(prefix, len);
        self.access.push(t.clone());
        self.keep(&t);
        t
    }

    /// A new refresh token: `prefix` and `len` random characters.
    pub fn issue_refresh(&mut self, prefix: &str, len: usize) -> String {
        let t = rand_token(prefix, len);
        self.refresh.push(t.clone());
        self.keep(&t);
        t
    }

    /// Whether `token` is a refresh token that still works.
    pub fn is_refresh(&self, token: &str) -> bool {
        self.refresh.iter().any(|t| t == token)
    }

    /// Spends a refresh token (rotation): whether it still worked.
    pub fn spend_refresh(&mut self, token: &str) -> bool {
        let before = self.refresh.len();
        self.refresh.retain(|t| t != token);
        self.refresh.len() < before
    }

    /// The refresh tokens that still work.
    pub fn refresh_tokens(&self) -> Vec<String> {
        self.refresh.clone()
    }

    /// Every access token issued so far expires.
    pub fn expire_access(&mut self) {
        self.access.clear();
    }

    /// Every refresh token stops working.
    pub fn revoke_refresh(&mut self) {
        self.refresh.clear();
    }

    /// Whether `req` carries `Authorization: Bearer` with an access token that still works.
    pub fn authorizes(&self, req: &Request) -> bool {
        let bearer = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        self.access.iter().any(|t| t == bearer)
    }
}

/// Whether `verifier` is the one whose S256 challenge is `challenge` (PKCE).
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    oauth2::PkceCodeChallenge::from_code_verifier_sha256(&oauth2::PkceCodeVerifier::new(
        verifier.to_string(),
    ))
    .as_str()
        == challenge
}

/// `prefix` and `len` random letters and digits: a token, a code.
pub fn rand_token(prefix: &str, len: usize) -> String {
    let mut s = prefix.to_string();
    s.extend((0..len).map(|_| fastrand::alphanumeric()));
    s
}

pub fn query_of(req: &Request) -> Vec<(String, String)> {
    req.url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A form-encoded request body.
pub fn form_of(req: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&req.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A percent-encoded path segment, decoded.
pub fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
