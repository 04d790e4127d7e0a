//! The config file's TOML, as written: one serde shape per table, nothing checked but types.
//!
//! Every table is `deny_unknown_fields`: a misspelt key (`befor = "5m"`) would otherwise be
//! ignored, and the user would never learn why their setting has no effect. Values that are
//! checked after parsing (durations, counts, URLs, domains, regexes) are held as `toml::Spanned`,
//! so that an error found in `validate` still names the line and column of the value at fault.
//! Counts are read as `i64`, TOML's integer, so that `-1` or `1000` reach the range check and are
//! refused with the range rather than with serde's "invalid value".

use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub identity: RawIdentity,
    #[serde(default)]
    pub classify: RawClassify,
    #[serde(default)]
    pub accounts: Vec<RawAccount>,
    #[serde(default)]
    pub prompts: RawPrompts,
    #[serde(default)]
    pub calendars: Vec<RawCalendar>,
    #[serde(default)]
    pub ledger: RawLedger,
    #[serde(default)]
    pub web: RawWeb,
    #[serde(default)]
    pub digest: RawDigest,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIdentity {
    #[serde(default)]
    pub emails: Vec<Spanned<String>>,
    #[serde(default)]
    pub internal_domains: Vec<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClassify {
    #[serde(default)]
    pub ignore_domains: Vec<Spanned<String>>,
    pub personal_domains: Option<Spanned<String>>,
    #[serde(default)]
    pub customer_domains: Vec<Spanned<String>>,
    pub only_listed: Option<bool>,
    #[serde(default)]
    pub exclude_titles: Vec<Spanned<String>>,
    #[serde(default)]
    pub include_titles: Vec<Spanned<String>>,
    pub skip_all_day: Option<bool>,
    pub skip_declined: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccount {
    pub name: Spanned<String>,
    pub domains: Vec<Spanned<String>>,
}

/// `dialog = "auto"` or `dialog = ["my-dialog", "--ask"]`.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawDialog {
    Name(String),
    Program(Vec<String>),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrompts {
    pub before: Option<Spanned<String>>,
    pub after: Option<Spanned<String>>,
    pub snooze: Option<Spanned<String>>,
    pub reask: Option<Spanned<String>>,
    pub reask_limit: Option<Spanned<i64>>,
    pub lookback: Option<Spanned<String>>,
    pub quick_objectives: Option<Spanned<i64>>,
    pub objectives: Option<Spanned<Vec<String>>>,
    pub ladder: Option<bool>,
    pub dialog: Option<Spanned<RawDialog>>,
    pub notifier: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    pub on_screen: Option<Spanned<i64>>,
}

/// One `[[calendars]]` entry. The keys of every kind live in one shape so that a key of another
/// kind can be refused by name (see `validate::calendar`) rather than as "unknown".
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCalendar {
    pub name: Spanned<String>,
    pub kind: Spanned<String>,
    pub poll: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    // ics
    pub path: Option<Spanned<String>>,
    pub url: Option<Spanned<String>>,
    // caldav
    pub username: Option<Spanned<String>>,
    pub password_command: Option<Spanned<Vec<String>>>,
    pub password_env: Option<Spanned<String>>,
    pub calendars: Option<Spanned<Vec<String>>>,
    pub allow_insecure: Option<Spanned<bool>>,
    // google
    pub client_id: Option<Spanned<String>>,
    pub client_secret_command: Option<Spanned<Vec<String>>>,
    pub client_secret_env: Option<Spanned<String>>,
    pub client_secret: Option<Spanned<String>>,
    pub auth_url: Option<Spanned<String>>,
    pub token_url: Option<Spanned<String>>,
    pub api_url: Option<Spanned<String>>,
    // microsoft (also `client_id`, `calendars`, `api_url`)
    pub tenant: Option<Spanned<String>>,
    pub authority_url: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLedger {
    pub path: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWeb {
    pub enabled: Option<bool>,
    pub port: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDigest {
    pub enabled: Option<bool>,
    pub when: Option<Spanned<String>>,
}
