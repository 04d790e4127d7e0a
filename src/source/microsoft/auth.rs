//! Microsoft's sign-in: what the identity platform asks of a public client, on top of the shared
//! [`crate::auth`].
//!
//! `nextstep auth microsoft` uses the device authorization grant by default (one line to open on
//! any device, works over SSH); `--browser` uses the authorization code with PKCE and a loopback
//! redirect to `http://localhost:<port>/` (app registrations list `http://localhost`, and Entra
//! ignores the port of a loopback redirect). Microsoft rotates the refresh token on every use; the
//! shared session stores each new one. Tokens go to `<data_dir>/microsoft-<source>.json` or the
//! keyring (account `microsoft-<source>`).

use std::io::Write;
use std::path::Path;

use super::config::MicrosoftConfig;
use crate::auth::device::{self, DeviceSignIn};
use crate::auth::loopback::{self, BrowserSignIn};
use crate::auth::session::{self, Session};
use crate::auth::store::TokenStore;
use crate::auth::{AuthError, Provider, SignInOptions, SignInReport, TokenStoreChoice};

/// The scopes nextstep asks for; never a write scope.
///
/// `Calendars.ReadBasic` is the least-privileged delegated calendar permission. Microsoft's
/// permissions reference says it "allows the app to read events in user calendars, except for
/// properties such as body, attachments, and extensions": attendees, organizer, the user's own
/// response, `showAs`, `isCancelled` and the series ids all stay readable, and those are all a
/// meeting needs here (we never read the body). `Calendars.Read` would add the bodies of every
/// meeting, which nextstep has no use for. The `event: delta` reference names `Calendars.Read`
/// as its least-privileged entry while the calendar listing accepts `Calendars.ReadBasic`; should
/// a tenant answer the delta request with 403 under `ReadBasic`, `Calendars.Read` is the
/// documented fallback and the only change needed is this list.
/// `offline_access` is what makes the platform issue a refresh token.
pub const SCOPES: [&str; 2] = ["offline_access", "Calendars.ReadBasic"];

/// Microsoft as the shared sign-in code speaks of it.
pub const MICROSOFT: Provider = Provider {
    name: "Microsoft",
    command: "microsoft",
    refusal_hint: microsoft_refusal_hint,
    no_refresh_token_hint: "make sure the app registration allows the `offline_access` permission",
};

fn microsoft_refusal_hint(error: &str) -> Option<&'static str> {
    match error {
        "invalid_grant" => Some(
            "the refresh token was revoked or has expired (after 90 days unused, a password change, or a policy of your organisation)",
        ),
        "invalid_client" | "unauthorized_client" => Some(
            "check `client_id`, and that \"Allow public client flows\" is on in the app registration (Entra ID > App registrations > Authentication)",
        ),
        "consent_required" | "interaction_required" => Some(
            "your organisation requires an administrator to approve nextstep first; the README has the message to send them",
        ),
        _ => None,
    }
}

/// `nextstep auth microsoft`: signs source `source_name` in (device code, or the browser with
/// `browser`) and stores its refresh token.
pub async fn microsoft_sign_in(
    source_name: &str,
    m: &MicrosoftConfig,
    browser: bool,
    opts: SignInOptions,
    out: &mut (dyn Write + Send),
) -> Result<SignInReport, AuthError> {
    let token_url = m.token_url();
    if browser {
        let auth_url = m.authorize_url();
        let req = BrowserSignIn {
            provider: &MICROSOFT,
            source_name,
            client_id: &m.client_id,
            client_secret: None,
            auth_url: &auth_url,
            token_url: &token_url,
            scopes: &SCOPES,
            extra_params: &[],
            redirect_host: "localhost",
        };
        loopback::sign_in(req, opts, out).await
    } else {
        let device_url = m.device_code_url();
        let req = DeviceSignIn {
            provider: &MICROSOFT,
            source_name,
            client_id: &m.client_id,
            device_url: &device_url,
            token_url: &token_url,
            scopes: &SCOPES,
        };
        device::sign_in(req, opts, out).await
    }
}

/// `nextstep auth microsoft`: signs a Microsoft calendar in. By default it prints an address and a
/// code to enter there (on any device, also over SSH); `--browser` opens the browser instead.
#[derive(Debug, clap::Args)]
pub struct AuthMicrosoftCmd {
    /// The [[calendars]] name (default: the only Microsoft calendar).
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// Sign in in the browser on this machine (authorization code with PKCE).
    #[arg(long)]
    pub browser: bool,
}

impl AuthMicrosoftCmd {
    /// Picks the calendar and signs it in; writes the instructions to `out`.
    pub async fn run(
        &self,
        calendars: &[crate::config::CalendarConfig],
        opts: SignInOptions,
        out: &mut (dyn Write + Send),
    ) -> anyhow::Result<SignInReport> {
        let (name, m) = pick(calendars, self.source.as_deref()).map_err(anyhow::Error::msg)?;
        Ok(microsoft_sign_in(name, m, self.browser, opts, out).await?)
    }
}

/// The Microsoft calendar `source` names, or the only one.
fn pick<'a>(
    calendars: &'a [crate::config::CalendarConfig],
    source: Option<&str>,
) -> Result<(&'a str, &'a MicrosoftConfig), String> {
    let ms: Vec<(&str, &MicrosoftConfig)> = calendars
        .iter()
        .filter_map(|c| match &c.kind {
            crate::config::CalendarKind::Microsoft(m) => Some((c.name.as_str(), m)),
            _ => None,
        })
        .collect();
    match (source, ms.as_slice()) {
        (Some(name), _) => ms.iter().find(|(n, _)| *n == name).copied().ok_or_else(|| {
            format!("no [[calendars]] entry named `{name}` with kind = \"microsoft\"")
        }),
        (None, [one]) => Ok(*one),
        (None, []) => Err("no [[calendars]] entry with kind = \"microsoft\" in the config".into()),
        (None, _) => Err(format!(
            "several Microsoft calendars are configured; pass --source with one of: {}",
            ms.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// The signed-in state of one Microsoft calendar source: hands out access tokens and refreshes
/// them, storing the rotated refresh token each time.
#[derive(Debug)]
pub struct MicrosoftAuth(Session);

impl MicrosoftAuth {
    pub fn new(
        source_name: &str,
        m: &MicrosoftConfig,
        http: reqwest::Client,
        data_dir: &Path,
        choice: TokenStoreChoice,
    ) -> Self {
        let client = session::Client {
            client_id: m.client_id.clone(),
            client_secret: None,
            token_url: m.token_url(),
            // The v2.0 endpoint wants the scopes again on a refresh.
            refresh_scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
        };
        let store = TokenStore::new(&MICROSOFT, data_dir, source_name, choice);
        MicrosoftAuth(Session::new(client, http, store))
    }
}

session::wraps_session!(MicrosoftAuth);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scopes_read_calendars_and_never_write() {
        assert!(SCOPES.contains(&"offline_access"));
        assert!(SCOPES.iter().all(|s| !s.contains("Write")));
    }

    #[test]
    fn an_invalid_client_points_at_public_client_flows_and_the_command() {
        let e = AuthError::Refused {
            provider: &MICROSOFT,
            source_name: "m365".into(),
            error: "invalid_client".into(),
            description: None,
        };
        let m = e.to_string();
        assert!(
            m.starts_with("Microsoft refused the credentials of `m365`"),
            "{m}"
        );
        assert!(m.contains("public client flows"), "{m}");
        assert!(m.contains("nextstep auth microsoft --source m365"), "{m}");
    }

    #[tokio::test]
    async fn a_source_that_never_signed_in_is_told_to_run_auth_microsoft() {
        let dir = tempfile::tempdir().unwrap();
        let m = MicrosoftConfig::new("id".into(), None, None, None, None).unwrap();
        let mut auth = MicrosoftAuth::new(
            "m365",
            &m,
            crate::http::client(crate::http::Redirects::Refuse).unwrap(),
            dir.path(),
            TokenStoreChoice::File,
        );
        assert!(auth.token_path().ends_with("microsoft-m365.json"));
        let e = auth.access_token().await.unwrap_err();
        assert!(e.needs_sign_in());
        assert!(
            e.to_string()
                .contains("nextstep auth microsoft --source m365"),
            "{e}"
        );
    }
}
