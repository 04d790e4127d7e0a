//! The settings of a `kind = "microsoft"` calendar, their defaults, and the endpoints they lead
//! to: `{authority_url}/{tenant}/oauth2/v2.0/{devicecode,token,authorize}` for the sign-in and
//! `{api_url}/me/...` for Graph.
//!
//! `authority_url` and `api_url` exist so that tests, and companies behind a proxy, can point
//! elsewhere. There is no client secret: the user's own app registration is a public client.

/// Microsoft's identity platform.
pub const DEFAULT_AUTHORITY_URL: &str = "https://login.microsoftonline.com";
/// Microsoft Graph, version 1.0.
pub const DEFAULT_API_URL: &str = "https://graph.microsoft.com/v1.0";
/// Any work, school or personal account.
pub const DEFAULT_TENANT: &str = "common";
/// The user's default calendar.
pub const PRIMARY: &str = "primary";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MicrosoftConfig {
    /// The application (client) id of the user's app registration.
    pub client_id: String,
    /// `common`, `organizations`, `consumers`, a tenant id or a domain.
    pub tenant: String,
    /// `primary`, or calendars by display name or id.
    pub calendars: Vec<String>,
    pub authority_url: url::Url,
    pub api_url: url::Url,
}

/// A setting of a Microsoft calendar that cannot be used; `key` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub key: &'static str,
    pub message: String,
    pub hint: &'static str,
}

impl MicrosoftConfig {
    /// Applies the defaults and checks what the endpoints are built from.
    pub fn new(
        client_id: String,
        tenant: Option<String>,
        calendars: Option<Vec<String>>,
        authority_url: Option<url::Url>,
        api_url: Option<url::Url>,
    ) -> Result<Self, Invalid> {
        if client_id.trim().is_empty() {
            return Err(Invalid {
                key: "client_id",
                message: "`client_id` is empty".into(),
                hint: "register an app in Entra ID and paste its Application (client) ID; see the README",
            });
        }
        let tenant = tenant.unwrap_or_else(|| DEFAULT_TENANT.to_string());
        // The tenant becomes a path segment: only what tenant ids and domains are made of.
        if tenant.is_empty()
            || !tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(Invalid {
                key: "tenant",
                message: format!("`{tenant}` is not a tenant"),
                hint: "use \"common\", \"organizations\", \"consumers\", a tenant id or a domain",
            });
        }
        let calendars = match calendars {
            Some(c) if !c.is_empty() => c,
            _ => vec![PRIMARY.to_string()],
        };
        // INVARIANT: the defaults are valid URLs (checked by `the_defaults_are_microsofts`).
        let parse = |s: &str| url::Url::parse(s).expect("built-in Microsoft URL parses");
        Ok(MicrosoftConfig {
            client_id,
            tenant,
            calendars,
            authority_url: authority_url.unwrap_or_else(|| parse(DEFAULT_AUTHORITY_URL)),
            api_url: api_url.unwrap_or_else(|| parse(DEFAULT_API_URL)),
        })
    }

    fn oauth(&self, endpoint: &str) -> url::Url {
        let base = self.authority_url.as_str().trim_end_matches('/');
        // INVARIANT: a valid base URL plus checked path segments is a valid URL.
        url::Url::parse(&format!("{base}/{}/oauth2/v2.0/{endpoint}", self.tenant))
            .expect("authority URL with a checked tenant parses")
    }

    pub fn device_code_url(&self) -> url::Url {
        self.oauth("devicecode")
    }

    pub fn token_url(&self) -> url::Url {
        self.oauth("token")
    }

    pub fn authorize_url(&self) -> url::Url {
        self.oauth("authorize")
    }

    /// `{api_url}/{path}`, e.g. `me/calendarView/delta`.
    pub fn api(&self, path: &str) -> String {
        format!("{}/{path}", self.api_url.as_str().trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_microsofts() {
        let c = MicrosoftConfig::new("id".into(), None, None, None, None).unwrap();
        assert_eq!(c.tenant, "common");
        assert_eq!(c.calendars, ["primary"]);
        assert_eq!(
            c.token_url().as_str(),
            "https://login.microsoftonline.com/common/oauth2/v2.0/token"
        );
        assert_eq!(
            c.device_code_url().as_str(),
            "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode"
        );
        assert_eq!(
            c.api("me/calendarView/delta"),
            "https://graph.microsoft.com/v1.0/me/calendarView/delta"
        );
    }

    #[test]
    fn a_test_authority_and_tenant_shape_every_endpoint() {
        let c = MicrosoftConfig::new(
            "id".into(),
            Some("contoso.onmicrosoft.com".into()),
            Some(vec!["Sales".into()]),
            Some("http://127.0.0.1:8080/".parse().unwrap()),
            Some("http://127.0.0.1:8081/v1.0/".parse().unwrap()),
        )
        .unwrap();
        assert_eq!(
            c.authorize_url().as_str(),
            "http://127.0.0.1:8080/contoso.onmicrosoft.com/oauth2/v2.0/authorize"
        );
        assert_eq!(
            c.api("me/calendars"),
            "http://127.0.0.1:8081/v1.0/me/calendars"
        );
        assert_eq!(c.calendars, ["Sales"]);
    }

    #[test]
    fn a_tenant_that_would_change_the_path_is_refused() {
        for bad in ["", "common/../x", "a b", "x?y"] {
            let e = MicrosoftConfig::new("id".into(), Some(bad.into()), None, None, None);
            assert_eq!(e.unwrap_err().key, "tenant", "{bad}");
        }
        let e = MicrosoftConfig::new(" ".into(), None, None, None, None);
        assert_eq!(e.unwrap_err().key, "client_id");
    }

    fn parse(extra: &str) -> Result<crate::config::Config, crate::config::ConfigError> {
        crate::config::Config::from_toml(
            "t",
            &format!("[[calendars]]\nname = \"m\"\nkind = \"microsoft\"\n{extra}"),
        )
    }

    #[test]
    fn a_microsoft_entry_in_the_config_gets_the_defaults() {
        let c = parse("client_id = \"00000000-0000-0000-0000-000000000000\"\n").unwrap();
        let crate::config::CalendarKind::Microsoft(m) = &c.calendars[0].kind else {
            panic!()
        };
        assert_eq!(m.tenant, "common");
        assert_eq!(m.calendars, ["primary"]);
        assert_eq!(c.calendars[0].kind.as_str(), "microsoft");
    }

    #[test]
    fn keys_of_other_kinds_and_unknown_keys_are_refused_by_name() {
        let e = parse("client_id = \"x\"\nclient_secret = \"s\"\n").unwrap_err();
        assert!(e.to_string().contains("client_secret"), "{e}");
        let e = parse("client_id = \"x\"\ncolour = \"blue\"\n").unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
        let e = parse("").unwrap_err();
        assert!(e.to_string().contains("client_id"), "{e}");
        let g = crate::config::Config::from_toml(
            "t",
            "[[calendars]]\nname = \"g\"\nkind = \"google\"\nclient_id = \"id\"\ntenant = \"common\"\n",
        )
        .unwrap_err();
        assert!(g.to_string().contains("tenant"), "{g}");
    }

    #[test]
    fn a_bad_tenant_in_the_config_is_refused_with_a_hint() {
        let e = parse("client_id = \"x\"\ntenant = \"a/b\"\n").unwrap_err();
        assert!(e.to_string().contains("calendars.tenant"), "{e}");
    }
}
