//! The config file: serde shapes that mirror the TOML (`deny_unknown_fields`, so a typo is an error
//! rather than a silently ignored setting), then [`Config::from_toml`] which validates them into the
//! typed [`Config`] the rest of the program uses.
//!
//! Every error names the file, the line and column, and the key, and says how to fix it. The text is
//! parsed once with `toml::from_str` so spans survive; values checked after parsing (durations,
//! regexes) are held as `toml::Spanned` for the same reason.

use crate::http::is_loopback;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;
use toml::Spanned;

use crate::secret::{Secret, SecretSource};

/// The commented starter config `nextstep init` writes (also `config/nextstep.toml`).
pub const EXAMPLE: &str = include_str!("../config/nextstep.toml");

/// The default objectives of DESIGN §6, from the Action Selling list of commitments.
pub const DEFAULT_OBJECTIVES: [&str; 6] = [
    "Agree to a next meeting",
    "Schedule a needs analysis",
    "Agree to a proposal meeting",
    "Meet the decision makers",
    "Review the proposal by a date",
    "Agree to the sale",
];

/// Personal-mail domains: an address there says nothing about a company.
pub const PERSONAL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.co.uk",
    "live.com",
    "msn.com",
    "yahoo.com",
    "yahoo.co.uk",
    "ymail.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "pm.me",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.com",
    "fastmail.com",
    "zoho.com",
    "yandex.com",
    "yandex.ru",
    "qq.com",
    "163.com",
    "hey.com",
    "tutanota.com",
    "orange.fr",
    "free.fr",
    "t-online.de",
];

/// Addresses that are calendars or groups rather than people, whatever CUTYPE says.
pub const NON_PERSON_DOMAINS: &[&str] = &[
    "resource.calendar.google.com",
    "group.calendar.google.com",
    "group.v.calendar.google.com",
    "import.calendar.google.com",
];

// ---------------------------------------------------------------------------------------------
// Typed config
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this came from (for messages); `None` for the demo's built-in config.
    pub path: Option<PathBuf>,
    pub identity: Identity,
    pub classify: ClassifyRules,
    pub accounts: Vec<Account>,
    pub prompts: Prompts,
    pub calendars: Vec<CalendarConfig>,
    pub ledger: LedgerConfig,
}

#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// Lower-cased.
    pub emails: Vec<String>,
    /// Lower-cased, no leading dot.
    pub internal_domains: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonalDomains {
    Ignore,
    Customer,
}

#[derive(Debug, Clone)]
pub struct ClassifyRules {
    pub ignore_domains: Vec<String>,
    pub personal_domains: PersonalDomains,
    pub customer_domains: Vec<String>,
    pub only_listed: bool,
    pub exclude_titles: Vec<Regex>,
    pub include_titles: Vec<Regex>,
    pub skip_all_day: bool,
    pub skip_declined: bool,
}

impl Default for ClassifyRules {
    fn default() -> Self {
        ClassifyRules {
            ignore_domains: Vec::new(),
            personal_domains: PersonalDomains::Ignore,
            customer_domains: Vec::new(),
            only_listed: false,
            exclude_titles: Vec::new(),
            include_titles: Vec::new(),
            skip_all_day: true,
            skip_declined: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    /// Lower-cased.
    pub domains: Vec<String>,
}

/// How free-text answers are asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogSetting {
    /// zenity, kdialog or osascript, whichever is found.
    Auto,
    /// No dialog: free text only through the CLI.
    None,
    /// A program (argv). It gets the question as its last argument and prints the answer on stdout.
    Program(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct Prompts {
    pub before: Duration,
    pub after: Duration,
    pub snooze: Duration,
    pub reask: Duration,
    pub reask_limit: u32,
    pub lookback: Duration,
    pub quick_objectives: usize,
    pub objectives: Vec<String>,
    pub dialog: DialogSetting,
    /// How long a notification waits for a click before it counts as dismissed.
    pub timeout: Duration,
}

impl Default for Prompts {
    fn default() -> Self {
        Prompts {
            before: Duration::from_secs(15 * 60),
            after: Duration::from_secs(5 * 60),
            snooze: Duration::from_secs(10 * 60),
            reask: Duration::from_secs(2 * 3600),
            reask_limit: 3,
            lookback: Duration::from_secs(12 * 3600),
            quick_objectives: 2,
            objectives: DEFAULT_OBJECTIVES.iter().map(|s| s.to_string()).collect(),
            dialog: DialogSetting::Auto,
            timeout: Duration::from_secs(10 * 60),
        }
    }
}

#[derive(Debug, Clone)]
pub struct CalendarConfig {
    pub name: String,
    pub poll: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    pub kind: CalendarKind,
}

#[derive(Debug, Clone)]
pub enum CalendarKind {
    Ics(IcsConfig),
    Caldav(CaldavConfig),
    Google(GoogleConfig),
    Microsoft(crate::source::microsoft::config::MicrosoftConfig),
}

impl CalendarKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            CalendarKind::Ics(_) => "ics",
            CalendarKind::Caldav(_) => "caldav",
            CalendarKind::Google(_) => "google",
            CalendarKind::Microsoft(_) => "microsoft",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IcsConfig {
    Path(PathBuf),
    Url(url::Url),
}

#[derive(Debug, Clone)]
pub struct CaldavConfig {
    pub url: url::Url,
    pub username: Option<String>,
    pub password: Option<SecretSource>,
    /// Display names or paths; empty = every event calendar.
    pub calendars: Vec<String>,
    pub allow_insecure: bool,
}

#[derive(Debug, Clone)]
pub struct GoogleConfig {
    /// Calendar ids; default `["primary"]`.
    pub calendars: Vec<String>,
    pub client_id: String,
    pub client_secret: Option<SecretSource>,
    pub auth_url: url::Url,
    pub token_url: url::Url,
    pub api_url: url::Url,
}

#[derive(Debug, Clone, Default)]
pub struct LedgerConfig {
    /// `None` = the default under the data directory.
    pub path: Option<PathBuf>,
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// A config problem, located. Displayed as `file:line:column: key: problem` followed by a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub key: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        f.write_str(": ")?;
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

struct Ctx<'a> {
    file: String,
    text: &'a str,
}

impl Ctx<'_> {
    fn at(
        &self,
        span: std::ops::Range<usize>,
        key: &str,
        message: impl Into<String>,
    ) -> ConfigError {
        let (line, column) = line_col(self.text, span.start);
        ConfigError {
            file: self.file.clone(),
            line: Some(line),
            column: Some(column),
            key: Some(key.to_string()),
            message: message.into(),
            hint: None,
        }
    }

    fn nowhere(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.clone(),
            line: None,
            column: None,
            key: Some(key.to_string()),
            message: message.into(),
            hint: None,
        }
    }
}

trait Hint {
    fn hint(self, hint: impl Into<String>) -> Self;
}

impl Hint for ConfigError {
    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line as u32, col as u32)
}

// ---------------------------------------------------------------------------------------------
// Raw shapes
// ---------------------------------------------------------------------------------------------

// deny_unknown_fields everywhere: a misspelt key (`befor = "5m"`) would otherwise be ignored and
// the user would never learn why their setting has no effect.

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    identity: RawIdentity,
    #[serde(default)]
    classify: RawClassify,
    #[serde(default)]
    accounts: Vec<RawAccount>,
    #[serde(default)]
    prompts: RawPrompts,
    #[serde(default)]
    calendars: Vec<RawCalendar>,
    #[serde(default)]
    ledger: RawLedger,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawIdentity {
    #[serde(default)]
    emails: Vec<Spanned<String>>,
    #[serde(default)]
    internal_domains: Vec<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawClassify {
    #[serde(default)]
    ignore_domains: Vec<Spanned<String>>,
    personal_domains: Option<Spanned<String>>,
    #[serde(default)]
    customer_domains: Vec<Spanned<String>>,
    only_listed: Option<bool>,
    #[serde(default)]
    exclude_titles: Vec<Spanned<String>>,
    #[serde(default)]
    include_titles: Vec<Spanned<String>>,
    skip_all_day: Option<bool>,
    skip_declined: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    name: Spanned<String>,
    domains: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawDialog {
    Name(String),
    Program(Vec<String>),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPrompts {
    before: Option<Spanned<String>>,
    after: Option<Spanned<String>>,
    snooze: Option<Spanned<String>>,
    reask: Option<Spanned<String>>,
    reask_limit: Option<u32>,
    lookback: Option<Spanned<String>>,
    quick_objectives: Option<Spanned<i64>>,
    objectives: Option<Spanned<Vec<String>>>,
    dialog: Option<Spanned<RawDialog>>,
    timeout: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    name: Spanned<String>,
    kind: Spanned<String>,
    poll: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    // ics
    path: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    // caldav
    username: Option<Spanned<String>>,
    password_command: Option<Spanned<Vec<String>>>,
    password_env: Option<Spanned<String>>,
    calendars: Option<Spanned<Vec<String>>>,
    allow_insecure: Option<Spanned<bool>>,
    // google
    client_id: Option<Spanned<String>>,
    client_secret_command: Option<Spanned<Vec<String>>>,
    client_secret_env: Option<Spanned<String>>,
    client_secret: Option<Spanned<String>>,
    auth_url: Option<Spanned<String>>,
    token_url: Option<Spanned<String>>,
    api_url: Option<Spanned<String>>,
    // microsoft (also `client_id`, `calendars`, `api_url`)
    tenant: Option<Spanned<String>>,
    authority_url: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLedger {
    path: Option<Spanned<String>>,
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

impl Config {
    /// Reads and validates the config at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            line: None,
            column: None,
            key: None,
            message: format!("cannot read the config: {e}"),
            hint: Some(if e.kind() == std::io::ErrorKind::NotFound {
                "run `nextstep init` to write a starter config, or pass --config PATH".into()
            } else {
                "check the file's permissions".into()
            }),
        })?;
        let mut cfg = Config::from_toml(&path.display().to_string(), &text)?;
        cfg.path = Some(path.to_path_buf());
        Ok(cfg)
    }

    /// Parses and validates config text; `file` is only used in messages.
    pub fn from_toml(file: &str, text: &str) -> Result<Config, ConfigError> {
        let ctx = Ctx {
            file: file.to_string(),
            text,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| toml_error(&ctx, &e))?;
        validate(&ctx, raw)
    }
}

fn toml_error(ctx: &Ctx, e: &toml::de::Error) -> ConfigError {
    let (line, column) = match e.span() {
        Some(span) => {
            let (l, c) = line_col(ctx.text, span.start);
            (Some(l), Some(c))
        }
        None => (None, None),
    };
    let message = e.message().trim().to_string();
    let key = e
        .span()
        .and_then(|s| key_at(ctx.text, s.start))
        .filter(|k| !k.is_empty());
    let hint = if message.contains("unknown field") {
        Some(
            "remove the key or fix its spelling; `nextstep init --print` shows every key with a comment"
                .to_string(),
        )
    } else if message.contains("missing field") {
        Some("add the key; see the config reference in the README".to_string())
    } else if message.contains("invalid type") {
        Some("check the value's type: strings in quotes, lists in [ ], true/false unquoted".into())
    } else {
        Some("see the config reference in the README".to_string())
    };
    ConfigError {
        file: ctx.file.clone(),
        line,
        column,
        key,
        message,
        hint,
    }
}

/// The key written at the start of the line holding `offset`, for messages on type errors.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?;
    let (k, _) = line.split_once('=')?;
    Some(k.trim().trim_matches('"').to_string())
}

fn domain_list(
    ctx: &Ctx,
    key: &str,
    items: Vec<Spanned<String>>,
) -> Result<Vec<String>, ConfigError> {
    items
        .into_iter()
        .map(|d| {
            let span = d.span();
            let v = d
                .into_inner()
                .trim()
                .trim_start_matches('@')
                .trim_start_matches('.')
                .to_ascii_lowercase();
            if v.is_empty()
                || v.contains('@')
                || v.contains(char::is_whitespace)
                || !v.contains('.')
            {
                Err(ctx
                    .at(span, key, format!("`{v}` is not a domain"))
                    .hint("write bare domains such as \"example.com\""))
            } else {
                Ok(v)
            }
        })
        .collect()
}

fn regex_list(
    ctx: &Ctx,
    key: &str,
    items: Vec<Spanned<String>>,
) -> Result<Vec<Regex>, ConfigError> {
    items
        .into_iter()
        .map(|r| {
            let span = r.span();
            Regex::new(r.get_ref()).map_err(|e| {
                let detail = e.to_string();
                let last = detail.lines().last().unwrap_or("").trim().to_string();
                ctx.at(span, key, format!("not a valid regular expression: {last}"))
                    .hint("use Rust regex syntax; `(?i)` makes it case-insensitive; escape literal brackets with \\")
            })
        })
        .collect()
}

/// Parses `"90s"`, `"15m"`, `"2h"`, `"1d"`, `"1h30m"`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    let mut total: u64 = 0;
    let mut num = String::new();
    let mut saw_unit = false;
    for ch in s.chars() {
        if ch.is_ascii_digit() {
            num.push(ch);
        } else if ch.is_whitespace() {
            continue;
        } else {
            let mult = match ch {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86400,
                _ => return Err(format!("unknown unit `{ch}`")),
            };
            let n: u64 = num
                .parse()
                .map_err(|_| format!("a number must come before `{ch}`"))?;
            total = total
                .checked_add(n.checked_mul(mult).ok_or("duration too large")?)
                .ok_or("duration too large")?;
            num.clear();
            saw_unit = true;
        }
    }
    if !num.is_empty() {
        return Err(format!("`{num}` has no unit"));
    }
    if !saw_unit {
        return Err("no unit".into());
    }
    Ok(Duration::from_secs(total))
}

fn duration(
    ctx: &Ctx,
    key: &str,
    value: Option<Spanned<String>>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => parse_duration(v.get_ref()).map_err(|e| {
            ctx.at(
                v.span(),
                key,
                format!("`{}` is not a duration: {e}", v.get_ref()),
            )
            .hint("write a number and a unit: \"90s\", \"15m\", \"2h\", \"1d\" or \"1h30m\"")
        }),
    }
}

fn parse_url(ctx: &Ctx, key: &str, v: &Spanned<String>) -> Result<url::Url, ConfigError> {
    let u = url::Url::parse(v.get_ref().trim()).map_err(|e| {
        ctx.at(
            v.span(),
            key,
            format!("`{}` is not a URL: {e}", v.get_ref()),
        )
        .hint("write a full URL such as \"https://example.com/calendar.ics\"")
    })?;
    match u.scheme() {
        "http" | "https" => Ok(u),
        "webcal" | "webcals" => {
            // webcal:// is a URL scheme calendar apps use for "subscribe"; it is plain HTTP(S).
            let fixed = format!("https{}", &u.as_str()[u.scheme().len()..]);
            url::Url::parse(&fixed).map_err(|e| ctx.at(v.span(), key, e.to_string()))
        }
        other => Err(ctx
            .at(v.span(), key, format!("unsupported URL scheme `{other}`"))
            .hint("use an http:// or https:// URL; for a local file use `path`")),
    }
}

/// Expands a leading `~/` to the home directory.
pub fn expand_home(p: &str) -> PathBuf {
    if let Some(rest) = p.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    PathBuf::from(p)
}

fn secret(
    ctx: &Ctx,
    what: &str,
    command: Option<Spanned<Vec<String>>>,
    env: Option<Spanned<String>>,
    literal: Option<Spanned<String>>,
) -> Result<Option<SecretSource>, ConfigError> {
    let mut found: Vec<(std::ops::Range<usize>, SecretSource)> = Vec::new();
    if let Some(c) = command {
        let span = c.span();
        let argv = c.into_inner();
        if argv.is_empty() || argv[0].trim().is_empty() {
            return Err(ctx
                .at(span, &format!("{what}_command"), "the command is empty")
                .hint(format!("write the program and its arguments: {what}_command = [\"pass\", \"show\", \"calendar\"]")));
        }
        found.push((span, SecretSource::Command(argv)));
    }
    if let Some(e) = env {
        found.push((e.span(), SecretSource::Env(e.into_inner())));
    }
    if let Some(l) = literal {
        found.push((l.span(), SecretSource::Literal(Secret::new(l.into_inner()))));
    }
    if found.len() > 1 {
        let span = found[1].0.clone();
        return Err(ctx
            .at(
                span,
                what,
                format!("more than one of {what}_command, {what}_env given"),
            )
            .hint("keep exactly one way to read the secret"));
    }
    Ok(found.pop().map(|(_, s)| s))
}

fn validate(ctx: &Ctx, raw: RawConfig) -> Result<Config, ConfigError> {
    let identity = Identity {
        emails: raw
            .identity
            .emails
            .into_iter()
            .map(|e| {
                let span = e.span();
                let v = e
                    .into_inner()
                    .trim()
                    .trim_start_matches("mailto:")
                    .to_ascii_lowercase();
                if v.contains('@') {
                    Ok(v)
                } else {
                    Err(ctx
                        .at(
                            span,
                            "identity.emails",
                            format!("`{v}` is not an email address"),
                        )
                        .hint("list your own addresses, e.g. emails = [\"alex@mycorp.com\"]"))
                }
            })
            .collect::<Result<_, _>>()?,
        internal_domains: domain_list(
            ctx,
            "identity.internal_domains",
            raw.identity.internal_domains,
        )?,
    };

    let c = raw.classify;
    let personal_domains = match c.personal_domains {
        None => PersonalDomains::Ignore,
        Some(v) => match v.get_ref().as_str() {
            "ignore" => PersonalDomains::Ignore,
            "customer" => PersonalDomains::Customer,
            other => {
                return Err(ctx
                    .at(
                        v.span(),
                        "classify.personal_domains",
                        format!("`{other}` is not allowed"),
                    )
                    .hint("use \"ignore\" (the default) or \"customer\""));
            }
        },
    };
    let classify = ClassifyRules {
        ignore_domains: domain_list(ctx, "classify.ignore_domains", c.ignore_domains)?,
        personal_domains,
        customer_domains: domain_list(ctx, "classify.customer_domains", c.customer_domains)?,
        only_listed: c.only_listed.unwrap_or(false),
        exclude_titles: regex_list(ctx, "classify.exclude_titles", c.exclude_titles)?,
        include_titles: regex_list(ctx, "classify.include_titles", c.include_titles)?,
        skip_all_day: c.skip_all_day.unwrap_or(true),
        skip_declined: c.skip_declined.unwrap_or(true),
    };

    let mut accounts = Vec::new();
    for a in raw.accounts {
        let name = a.name.get_ref().trim().to_string();
        if name.is_empty() {
            return Err(ctx
                .at(a.name.span(), "accounts.name", "an account needs a name")
                .hint("name = \"Acme\""));
        }
        let domains = domain_list(ctx, "accounts.domains", a.domains)?;
        accounts.push(Account { name, domains });
    }

    let d = Prompts::default();
    let p = raw.prompts;
    let objectives = match p.objectives {
        None => d.objectives.clone(),
        Some(o) => {
            let span = o.span();
            let list: Vec<String> = o
                .into_inner()
                .into_iter()
                .map(|s| s.trim().to_string())
                .collect();
            if list.is_empty() || list.iter().any(|s| s.is_empty()) {
                return Err(ctx
                    .at(
                        span,
                        "prompts.objectives",
                        "the list is empty or holds an empty entry",
                    )
                    .hint("list the commitments you aim for, e.g. [\"Agree to a next meeting\"]"));
            }
            list
        }
    };
    let quick_objectives = match p.quick_objectives {
        None => d.quick_objectives.min(objectives.len()),
        Some(q) => {
            let n = *q.get_ref();
            // Notification servers show at most a handful of buttons; 3 leaves room for "Answer…".
            if !(0..=3).contains(&n) {
                return Err(ctx
                    .at(
                        q.span(),
                        "prompts.quick_objectives",
                        format!("{n} is out of range"),
                    )
                    .hint("use 0 to 3: notification servers show only a few buttons"));
            }
            (n as usize).min(objectives.len())
        }
    };
    let dialog = match p.dialog {
        None => DialogSetting::Auto,
        Some(v) => {
            let span = v.span();
            match v.into_inner() {
                RawDialog::Name(n) if n == "auto" => DialogSetting::Auto,
                RawDialog::Name(n) if n == "none" => DialogSetting::None,
                RawDialog::Name(n) if !n.trim().is_empty() => DialogSetting::Program(vec![n]),
                RawDialog::Program(argv) if !argv.is_empty() && !argv[0].trim().is_empty() => {
                    DialogSetting::Program(argv)
                }
                _ => {
                    return Err(ctx
                        .at(span, "prompts.dialog", "empty dialog program")
                        .hint("use \"auto\", \"none\", \"zenity\", \"kdialog\" or a program list such as [\"my-dialog\", \"--ask\"]"));
                }
            }
        }
    };
    let prompts = Prompts {
        before: duration(ctx, "prompts.before", p.before, d.before)?,
        after: duration(ctx, "prompts.after", p.after, d.after)?,
        snooze: duration(ctx, "prompts.snooze", p.snooze, d.snooze)?,
        reask: duration(ctx, "prompts.reask", p.reask, d.reask)?,
        reask_limit: p.reask_limit.unwrap_or(d.reask_limit),
        lookback: duration(ctx, "prompts.lookback", p.lookback, d.lookback)?,
        quick_objectives,
        objectives,
        dialog,
        timeout: duration(ctx, "prompts.timeout", p.timeout, d.timeout)?,
    };
    if prompts.snooze.is_zero() {
        return Err(ctx
            .nowhere("prompts.snooze", "must be longer than 0s")
            .hint("e.g. snooze = \"10m\""));
    }
    if prompts.reask.is_zero() {
        return Err(ctx
            .nowhere("prompts.reask", "must be longer than 0s")
            .hint("e.g. reask = \"2h\"; use reask_limit = 0 to never ask again"));
    }

    let mut calendars: Vec<CalendarConfig> = Vec::new();
    for c in raw.calendars {
        let cal = calendar(ctx, c)?;
        if calendars.iter().any(|o| o.name == cal.name) {
            return Err(ctx
                .nowhere(
                    "calendars.name",
                    format!("two calendars are named `{}`", cal.name),
                )
                .hint(
                    "give every [[calendars]] entry its own name: it is part of each meeting's id",
                ));
        }
        calendars.push(cal);
    }

    let ledger = LedgerConfig {
        path: raw.ledger.path.map(|p| expand_home(p.get_ref())),
    };

    Ok(Config {
        path: None,
        identity,
        classify,
        accounts,
        prompts,
        calendars,
        ledger,
    })
}

fn calendar(ctx: &Ctx, c: RawCalendar) -> Result<CalendarConfig, ConfigError> {
    let name = c.name.get_ref().trim().to_string();
    if name.is_empty() || name.contains('/') || name.contains(char::is_whitespace) {
        return Err(ctx
            .at(
                c.name.span(),
                "calendars.name",
                format!("`{name}` cannot be a calendar name"),
            )
            .hint("use a short name without spaces or slashes, e.g. \"work\""));
    }
    let kind_span = c.kind.span();
    let kind_str = c.kind.into_inner();

    // Keys that belong to another kind are refused by name, so a copied block does not silently
    // lose its settings.
    let mut foreign: Vec<(&str, Option<std::ops::Range<usize>>)> = Vec::new();
    let ics_keys = [("path", c.path.as_ref().map(|v| v.span()))];
    let caldav_keys = [
        ("username", c.username.as_ref().map(|v| v.span())),
        (
            "password_command",
            c.password_command.as_ref().map(|v| v.span()),
        ),
        ("password_env", c.password_env.as_ref().map(|v| v.span())),
        (
            "allow_insecure",
            c.allow_insecure.as_ref().map(|v| v.span()),
        ),
    ];
    let google_keys = [
        ("client_id", c.client_id.as_ref().map(|v| v.span())),
        (
            "client_secret_command",
            c.client_secret_command.as_ref().map(|v| v.span()),
        ),
        (
            "client_secret_env",
            c.client_secret_env.as_ref().map(|v| v.span()),
        ),
        ("client_secret", c.client_secret.as_ref().map(|v| v.span())),
        ("auth_url", c.auth_url.as_ref().map(|v| v.span())),
        ("token_url", c.token_url.as_ref().map(|v| v.span())),
        ("api_url", c.api_url.as_ref().map(|v| v.span())),
    ];
    let calendars_key = [("calendars", c.calendars.as_ref().map(|v| v.span()))];
    if kind_str != "microsoft" {
        foreign.push(("tenant", c.tenant.as_ref().map(|v| v.span())));
        foreign.push(("authority_url", c.authority_url.as_ref().map(|v| v.span())));
    }
    match kind_str.as_str() {
        "ics" => {
            foreign.extend(caldav_keys);
            foreign.extend(google_keys);
            foreign.extend(calendars_key);
        }
        "caldav" => {
            foreign.extend(ics_keys);
            foreign.extend(google_keys);
        }
        "google" => {
            foreign.extend(ics_keys);
            foreign.extend(caldav_keys);
            foreign.push(("url", c.url.as_ref().map(|v| v.span())));
        }
        "microsoft" => {
            foreign.extend(ics_keys);
            foreign.extend(caldav_keys);
            foreign.extend(
                google_keys
                    .into_iter()
                    .filter(|(k, _)| !matches!(*k, "client_id" | "api_url")),
            );
            foreign.push(("url", c.url.as_ref().map(|v| v.span())));
        }
        other => {
            return Err(ctx
                .at(
                    kind_span,
                    "calendars.kind",
                    format!("unknown kind `{other}`"),
                )
                .hint("use \"google\", \"microsoft\", \"caldav\" or \"ics\""));
        }
    }
    if let Some((key, Some(span))) = foreign.into_iter().find(|(_, s)| s.is_some()) {
        return Err(ctx
            .at(
                span,
                &format!("calendars.{key}"),
                format!("`{key}` does not apply to kind = \"{kind_str}\""),
            )
            .hint("remove it, or change `kind`"));
    }

    let default_poll = match kind_str.as_str() {
        "ics" => Duration::from_secs(15 * 60),
        _ => Duration::from_secs(5 * 60),
    };
    let poll = duration(ctx, "calendars.poll", c.poll, default_poll)?;
    if poll < Duration::from_secs(1) {
        return Err(ctx
            .nowhere("calendars.poll", "must be at least 1s")
            .hint("e.g. poll = \"5m\""));
    }
    let timeout = duration(ctx, "calendars.timeout", c.timeout, Duration::from_secs(30))?;

    let kind = match kind_str.as_str() {
        "ics" => match (c.path, c.url) {
            (Some(p), None) => CalendarKind::Ics(IcsConfig::Path(expand_home(p.get_ref()))),
            (None, Some(u)) => {
                let url = parse_url(ctx, "calendars.url", &u)?;
                CalendarKind::Ics(IcsConfig::Url(url))
            }
            (Some(_), Some(u)) => {
                return Err(ctx
                    .at(
                        u.span(),
                        "calendars.url",
                        "give either `path` or `url`, not both",
                    )
                    .hint("keep one of them"));
            }
            (None, None) => {
                return Err(ctx
                    .at(
                        kind_span,
                        "calendars.path",
                        format!("calendar `{name}` has neither `path` nor `url`"),
                    )
                    .hint("add path = \"~/calendar.ics\" or url = \"https://…/calendar.ics\""));
            }
        },
        "caldav" => {
            let Some(u) = c.url else {
                return Err(ctx
                    .at(
                        kind_span,
                        "calendars.url",
                        format!("calendar `{name}` has no `url`"),
                    )
                    .hint(
                        "add the server's address, e.g. url = \"https://caldav.fastmail.com/\"",
                    ));
            };
            let url = parse_url(ctx, "calendars.url", &u)?;
            let allow_insecure = c.allow_insecure.map(|v| v.into_inner()).unwrap_or(false);
            if url.scheme() == "http" && !is_loopback(&url) && !allow_insecure {
                return Err(ctx
                    .at(
                        u.span(),
                        "calendars.url",
                        "plain http would send your password unencrypted",
                    )
                    .hint("use https://, or set allow_insecure = true if you really mean it"));
            }
            let password = secret(ctx, "password", c.password_command, c.password_env, None)?;
            CalendarKind::Caldav(CaldavConfig {
                url,
                username: c.username.map(|v| v.into_inner()),
                password,
                calendars: c.calendars.map(|v| v.into_inner()).unwrap_or_default(),
                allow_insecure,
            })
        }
        "microsoft" => {
            let url = |v: Option<Spanned<String>>, key: &str| {
                v.map(|v| parse_url(ctx, key, &v)).transpose()
            };
            let authority_url = url(c.authority_url, "calendars.authority_url")?;
            let api_url = url(c.api_url, "calendars.api_url")?;
            let m = crate::source::microsoft::config::MicrosoftConfig::new(
                c.client_id.map(|v| v.into_inner()).unwrap_or_default(),
                c.tenant.map(|v| v.into_inner()),
                c.calendars.map(|v| v.into_inner()),
                authority_url,
                api_url,
            )
            .map_err(|e| {
                ctx.at(
                    kind_span.clone(),
                    &format!("calendars.{}", e.key),
                    e.message,
                )
                .hint(e.hint)
            })?;
            CalendarKind::Microsoft(m)
        }
        _ => {
            let Some(client_id) = c.client_id else {
                return Err(ctx
                    .at(kind_span, "calendars.client_id", format!("calendar `{name}` has no `client_id`"))
                    .hint("create a Desktop OAuth client in Google Cloud Console and paste its id; see the README"));
            };
            let client_secret = secret(
                ctx,
                "client_secret",
                c.client_secret_command,
                c.client_secret_env,
                c.client_secret,
            )?;
            let url_or = |v: Option<Spanned<String>>,
                          key: &str,
                          default: &str|
             -> Result<url::Url, ConfigError> {
                match v {
                    Some(v) => parse_url(ctx, key, &v),
                    None => Ok(url::Url::parse(default).expect("built-in Google URL parses")),
                }
            };
            let calendars = c.calendars.map(|v| v.into_inner()).unwrap_or_default();
            CalendarKind::Google(GoogleConfig {
                calendars: if calendars.is_empty() {
                    vec!["primary".to_string()]
                } else {
                    calendars
                },
                client_id: client_id.into_inner(),
                client_secret,
                auth_url: url_or(
                    c.auth_url,
                    "calendars.auth_url",
                    "https://accounts.google.com/o/oauth2/v2/auth",
                )?,
                token_url: url_or(
                    c.token_url,
                    "calendars.token_url",
                    "https://oauth2.googleapis.com/token",
                )?,
                api_url: url_or(
                    c.api_url,
                    "calendars.api_url",
                    "https://www.googleapis.com/calendar/v3/",
                )?,
            })
        }
    };
    Ok(CalendarConfig {
        name,
        poll,
        timeout,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> ConfigError {
        Config::from_toml("test.toml", text).unwrap_err()
    }

    #[test]
    fn the_example_config_is_valid() {
        Config::from_toml("config/nextstep.toml", EXAMPLE).unwrap();
    }

    #[test]
    fn an_empty_config_takes_every_default() {
        let c = Config::from_toml("t", "").unwrap();
        assert_eq!(c.prompts.before, Duration::from_secs(900));
        assert_eq!(c.prompts.objectives.len(), 6);
        assert!(c.classify.skip_all_day);
    }

    #[test]
    fn an_unknown_key_names_file_line_column_and_key() {
        let e = err("[prompts]\nbefore = \"5m\"\nbefor = \"5m\"\n");
        assert_eq!(e.file, "test.toml");
        assert_eq!(e.line, Some(3));
        assert_eq!(e.column, Some(1));
        let shown = e.to_string();
        assert!(shown.contains("befor"), "{shown}");
        assert!(shown.starts_with("test.toml:3:1: "), "{shown}");
        assert!(shown.contains("hint:"), "{shown}");
    }

    #[test]
    fn a_bad_duration_is_located_and_explained() {
        let e = err("[prompts]\n\nsnooze = \"10 minutes\"\n");
        assert_eq!(e.line, Some(3));
        assert_eq!(e.key.as_deref(), Some("prompts.snooze"));
        assert!(e.to_string().contains("\"15m\""), "{e}");
    }

    #[test]
    fn a_bad_regex_is_located() {
        let e = err("[classify]\nexclude_titles = [\"(?i)interview\", \"[unclosed\"]\n");
        assert_eq!(e.line, Some(2));
        assert_eq!(e.key.as_deref(), Some("classify.exclude_titles"));
        assert!(e.to_string().contains("regular expression"), "{e}");
    }

    #[test]
    fn a_wrong_type_is_located() {
        let e = err("[prompts]\nreask_limit = \"three\"\n");
        assert_eq!(e.line, Some(2));
        assert!(e.to_string().contains("reask_limit"), "{e}");
    }

    #[test]
    fn durations_accept_compound_units_and_refuse_bare_numbers() {
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("15").is_err());
        assert!(parse_duration("5w").is_err());
    }

    #[test]
    fn a_calendar_key_of_another_kind_is_refused_by_name() {
        let e = err(
            "[[calendars]]\nname = \"a\"\nkind = \"ics\"\npath = \"x.ics\"\nclient_id = \"x\"\n",
        );
        assert_eq!(e.line, Some(5));
        assert!(e.to_string().contains("client_id"), "{e}");
    }

    #[test]
    fn plain_http_caldav_is_refused_unless_loopback_or_allowed() {
        let base = "[[calendars]]\nname = \"d\"\nkind = \"caldav\"\n";
        assert!(
            err(&format!("{base}url = \"http://dav.example.com/\"\n"))
                .to_string()
                .contains("allow_insecure")
        );
        Config::from_toml("t", &format!("{base}url = \"http://127.0.0.1:5232/\"\n")).unwrap();
        Config::from_toml(
            "t",
            &format!("{base}url = \"http://dav.example.com/\"\nallow_insecure = true\n"),
        )
        .unwrap();
    }

    #[test]
    fn two_ways_to_read_one_secret_are_refused() {
        let e = err(
            "[[calendars]]\nname = \"d\"\nkind = \"caldav\"\nurl = \"https://x.example/\"\npassword_env = \"A\"\npassword_command = [\"pass\"]\n",
        );
        assert!(e.to_string().contains("more than one"), "{e}");
    }

    #[test]
    fn google_defaults_to_the_primary_calendar_and_googles_endpoints() {
        let c = Config::from_toml(
            "t",
            "[[calendars]]\nname = \"g\"\nkind = \"google\"\nclient_id = \"id\"\n",
        )
        .unwrap();
        let CalendarKind::Google(g) = &c.calendars[0].kind else {
            panic!()
        };
        assert_eq!(g.calendars, vec!["primary"]);
        assert_eq!(g.token_url.as_str(), "https://oauth2.googleapis.com/token");
    }

    #[test]
    fn duplicate_calendar_names_are_refused() {
        let one = "[[calendars]]\nname = \"a\"\nkind = \"ics\"\npath = \"x.ics\"\n";
        let e = err(&format!("{one}{one}"));
        assert!(e.to_string().contains("two calendars are named `a`"), "{e}");
    }

    #[test]
    fn domains_are_lower_cased_and_must_look_like_domains() {
        let c =
            Config::from_toml("t", "[identity]\ninternal_domains = [\"MyCorp.COM\"]\n").unwrap();
        assert_eq!(c.identity.internal_domains, vec!["mycorp.com"]);
        let e = err("[identity]\ninternal_domains = [\"alex@mycorp.com\"]\n");
        assert!(e.to_string().contains("not a domain"), "{e}");
    }
}
