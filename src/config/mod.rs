//! The config file: what a person writes in TOML, turned into the typed [`Config`] the rest of
//! the program uses, or into one located [`ConfigError`] that says what to change.
//!
//! The text is parsed once with `toml::from_str` into the serde shapes of `raw` (which refuse
//! unknown keys, so a typo is an error rather than a silently ignored setting); `validate` then
//! checks every value and fills in the defaults, using the single-value parsers of `values`
//! (durations, URLs, secrets, domain and regex lists) and the range checks of `range`. `error`
//! locates every problem by file, line, column and key, with a hint. This module holds the typed
//! config, the entry points, and the range of every duration and count in one table (the
//! `*_LIMIT` consts), so that no value `check` accepts can overflow the time arithmetic later.

mod digest;
mod error;
mod range;
mod raw;
mod validate;
mod values;

use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;

use crate::secret::SecretSource;

pub use digest::{BadWhen, DigestConfig, DigestWhen};
pub use error::ConfigError;
pub use range::{CountRange, DurationRange, Limit, format_duration};
use range::{DAY, HOUR, MINUTE, limits};
pub use values::{expand_home, parse_duration};

/// The personal-mail and non-person domain lists belong to `classify`, which applies them; they
/// are re-exported here because `classify.personal_domains` is the key that decides how the first
/// list counts.
pub use crate::classify::{NON_PERSON_DOMAINS, PERSONAL_DOMAINS};

/// The commented starter config `nextstep init` writes (also `config/nextstep.toml`).
pub const EXAMPLE: &str = include_str!("../../config/nextstep.toml");

/// The default objectives, from the Action Selling list of commitments (docs/design.md,
/// "Prompts and action keys").
pub const DEFAULT_OBJECTIVES: [&str; 6] = [
    "Agree to a next meeting",
    "Schedule a needs analysis",
    "Agree to a proposal meeting",
    "Meet the decision makers",
    "Review the proposal by a date",
    "Agree to the sale",
];

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
    pub web: WebConfig,
    pub digest: DigestConfig,
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
    /// The answer page: "Answer…" opens the meeting's page in the browser (while the daemon
    /// serves it; otherwise like `None`).
    Web,
    /// A program (argv). It gets the question as its last argument and prints the answer on stdout.
    Program(Vec<String>),
}

/// `prompts.notifier`: how prompts are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifierSetting {
    /// Desktop notifications over D-Bus on Linux, `osascript` on macOS, the terminal when
    /// neither can answer.
    Auto,
    /// Desktop notifications over D-Bus (org.freedesktop.Notifications).
    Desktop,
    /// macOS notifications and dialogs through `osascript`.
    Osascript,
    /// The terminal the daemon runs in.
    Terminal,
}

/// The `[prompts]` table. Every duration and count is bounded (see the `*_LIMIT` consts named
/// on each field): the planner and the notifiers do time arithmetic with them, and an unbounded
/// value would pass `check` and then overflow at run time.
#[derive(Debug, Clone)]
pub struct Prompts {
    /// How long before a meeting starts its objective is asked for; see [`BEFORE_LIMIT`].
    pub before: Duration,
    /// How long after a meeting ends its outcome is asked for; see [`AFTER_LIMIT`].
    pub after: Duration,
    /// How long *Later* puts a prompt off; see [`SNOOZE_LIMIT`].
    pub snooze: Duration,
    /// How long until an unanswered outcome is asked again; see [`REASK_LIMIT`].
    pub reask: Duration,
    /// How many times an unanswered outcome is asked again; see [`REASK_LIMIT_LIMIT`].
    pub reask_limit: u32,
    /// At start-up, meetings that ended this recently are still asked about; see
    /// [`LOOKBACK_LIMIT`].
    pub lookback: Duration,
    /// How many objectives get a button; see [`QUICK_OBJECTIVES_LIMIT`].
    pub quick_objectives: usize,
    pub objectives: Vec<String>,
    /// `objectives` is a ladder: an objective prompt offers the account's next rung first
    /// (docs/design.md, "Prompt rules"). `false` offers the list as it is.
    pub ladder: bool,
    pub dialog: DialogSetting,
    pub notifier: NotifierSetting,
    /// How long a notification waits for a click before it counts as dismissed; see
    /// [`PROMPT_TIMEOUT_LIMIT`].
    pub timeout: Duration,
    /// How many prompts may be on screen at once; the rest wait their turn in due order. See
    /// [`ON_SCREEN_LIMIT`].
    pub on_screen: usize,
}

// Every bounded key, one row each: the const, its kind (`secs`: a duration in whole seconds,
// `count`: a whole number), the dotted key, the inclusive bounds, and why the range stops there
// (shown in the hint when a value is refused).
limits! {
    /// `prompts.before`: a question asked more than a week ahead is answered before anyone has
    /// prepared for the meeting.
    BEFORE_LIMIT: secs("prompts.before", 0, 7 * DAY),
        "the objective is asked for at most a week before the meeting";
    /// `prompts.after`: an outcome asked for more than a week later is no longer remembered.
    AFTER_LIMIT: secs("prompts.after", 0, 7 * DAY),
        "the outcome is asked for at most a week after the meeting";
    /// `prompts.snooze`: zero would show the prompt again at once, forever.
    SNOOZE_LIMIT: secs("prompts.snooze", 1, 7 * DAY),
        "\"Later\" waits at least a second and at most a week, e.g. snooze = \"10m\"";
    /// `prompts.reask`: zero would ask again at once; `reask_limit = 0` is how to never re-ask.
    REASK_LIMIT: secs("prompts.reask", 1, 7 * DAY),
        "e.g. reask = \"2h\"; use reask_limit = 0 to never ask again";
    /// `prompts.reask_limit`: the outcome prompt is re-asked at most this often.
    REASK_LIMIT_LIMIT: count("prompts.reask_limit", 0, 100),
        "an unanswered outcome is asked again at most 100 times";
    /// `prompts.lookback`: a year covers any absence; the calendars are read this far back on
    /// every poll, so more would only cost time.
    LOOKBACK_LIMIT: secs("prompts.lookback", 0, 366 * DAY),
        "meetings are looked back on for at most a year";
    /// `prompts.timeout`: zero would close every notification as it opens.
    PROMPT_TIMEOUT_LIMIT: secs("prompts.timeout", 1, DAY),
        "a notification waits at least a second and at most a day for an answer";
    /// `prompts.quick_objectives`: notification servers show at most a handful of buttons (GNOME
    /// three); 3 leaves room for "Answer…".
    QUICK_OBJECTIVES_LIMIT: count("prompts.quick_objectives", 0, 3),
        "notification servers show only a few buttons";
    /// `prompts.on_screen`: a screen full of questions gets none answered; a backlog (after a
    /// holiday, or a calendar with many meetings at once) is shown a few at a time.
    ON_SCREEN_LIMIT: count("prompts.on_screen", 1, 10),
        "between 1 and 10 prompts are shown at once; the rest wait their turn";
    /// `calendars.poll`: at least a second (the tests and local files poll that fast; a server is
    /// better polled every few minutes, as the defaults do), at most a day so that changes still
    /// arrive before the meetings they concern.
    POLL_LIMIT: secs("calendars.poll", 1, DAY),
        "a calendar is read at least once a day, e.g. poll = \"5m\"";
    /// `calendars.timeout`: zero would fail every request; ten minutes is longer than any server
    /// takes to answer and short enough that a hung server is noticed.
    HTTP_TIMEOUT_LIMIT: secs("calendars.timeout", 1, 10 * MINUTE),
        "one request waits at least a second and at most ten minutes";
    /// `web.port`: a TCP port; 0 asks the system for any free one (`nextstep open` finds it).
    WEB_PORT_LIMIT: count("web.port", 0, 65535),
        "a TCP port, or 0 for any free port";
}

impl Default for Prompts {
    fn default() -> Self {
        Prompts {
            before: Duration::from_secs(15 * MINUTE),
            after: Duration::from_secs(5 * MINUTE),
            snooze: Duration::from_secs(10 * MINUTE),
            reask: Duration::from_secs(2 * HOUR),
            reask_limit: 3,
            lookback: Duration::from_secs(12 * HOUR),
            quick_objectives: 2,
            objectives: DEFAULT_OBJECTIVES.iter().map(|s| s.to_string()).collect(),
            ladder: true,
            dialog: DialogSetting::Auto,
            notifier: NotifierSetting::Auto,
            timeout: Duration::from_secs(10 * MINUTE),
            on_screen: 3,
        }
    }
}

#[derive(Debug, Clone)]
pub struct CalendarConfig {
    pub name: String,
    /// How often the calendar is read; see [`POLL_LIMIT`].
    pub poll: Duration,
    /// Per-request timeout; see [`HTTP_TIMEOUT_LIMIT`].
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

/// The `[web]` table: the answer page on the loopback interface (`crate::web`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebConfig {
    /// Whether `nextstep run` serves the page.
    pub enabled: bool,
    /// The loopback port; 0 = any free port. See [`WEB_PORT_LIMIT`].
    pub port: u16,
}

/// The port the page listens on unless `[web] port` says otherwise: fixed, so a bookmark keeps
/// working, and outside the ranges other local services commonly take.
pub const DEFAULT_WEB_PORT: u16 = 7717;

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            enabled: true,
            port: DEFAULT_WEB_PORT,
        }
    }
}

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
        let ctx = error::Ctx {
            file: file.to_string(),
            text,
        };
        let raw: raw::RawConfig = toml::from_str(text).map_err(|e| ctx.toml_error(&e))?;
        validate::validate(&ctx, raw)
    }
}

/// The address the starter config (`nextstep init`) holds until the person puts their own.
pub const STARTER_EMAIL: &str = "you@example.com";

/// The company domain the starter config holds until the person puts their own.
pub const STARTER_DOMAIN: &str = "example.com";

/// Something in a valid config that is almost certainly not what the person meant: `check` shows
/// it, nothing refuses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The config file, when the config came from one.
    pub file: Option<PathBuf>,
    pub key: &'static str,
    pub message: String,
    pub hint: String,
}

impl std::fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}: ", file.display())?;
        }
        write!(f, "{}: {}\n  hint: {}", self.key, self.message, self.hint)
    }
}

impl Config {
    /// What `check` should warn about: the starter's placeholders still in place. With
    /// `you@example.com` as "you", your own response to an invitation is never found (so declined
    /// meetings are asked about); with `example.com` as your company, your colleagues count as
    /// customers.
    pub fn warnings(&self) -> Vec<ConfigWarning> {
        let mut out = Vec::new();
        if self.identity.emails.iter().any(|e| e == STARTER_EMAIL) {
            out.push(ConfigWarning {
                file: self.path.clone(),
                key: "identity.emails",
                message: format!("still holds the starter placeholder `{STARTER_EMAIL}`"),
                hint: "list your own addresses, e.g. emails = [\"alex@mycorp.com\"]".into(),
            });
        }
        if self
            .identity
            .internal_domains
            .iter()
            .any(|d| d == STARTER_DOMAIN)
        {
            out.push(ConfigWarning {
                file: self.path.clone(),
                key: "identity.internal_domains",
                message: format!("still holds the starter placeholder `{STARTER_DOMAIN}`"),
                hint: "list your company's domains, e.g. internal_domains = [\"mycorp.com\"]"
                    .into(),
            });
        }
        out
    }
}

/// Helpers shared by the tests of this module's files.
#[cfg(test)]
pub(crate) mod test_support {
    use super::{Config, ConfigError};

    /// The error `text` is refused with (as file `test.toml`).
    pub(crate) fn err(text: &str) -> ConfigError {
        Config::from_toml("test.toml", text).unwrap_err()
    }

    /// Asserts that `text` is refused at `line` for `key`, with a message that says `says`.
    pub(crate) fn assert_refused(text: &str, line: u32, key: &str, says: &str) -> ConfigError {
        let e = err(text);
        assert_eq!(e.line, Some(line), "{e}");
        assert_eq!(e.key.as_deref(), Some(key), "{e}");
        assert!(e.to_string().contains(says), "{e}");
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(c.prompts.ladder);
    }

    #[test]
    fn the_ladder_can_be_turned_off_and_a_non_bool_is_refused_with_its_line() {
        let c = Config::from_toml("t", "[prompts]\nladder = false\n").unwrap();
        assert!(!c.prompts.ladder);
        let err = Config::from_toml("t", "[prompts]\nladder = \"no\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("t:2") && err.contains("ladder"), "{err}");
    }

    #[test]
    fn the_starter_placeholders_are_warned_about_by_key() {
        let mut starter = Config::from_toml("config/nextstep.toml", EXAMPLE).unwrap();
        starter.path = Some(PathBuf::from("/home/alex/.config/nextstep/config.toml"));
        let shown: Vec<String> = starter.warnings().iter().map(|w| w.to_string()).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(shown[0].starts_with("/home/alex/.config/nextstep/config.toml: identity.emails: "));
        assert!(shown[0].contains("you@example.com"), "{}", shown[0]);
        assert!(
            shown[1].contains("identity.internal_domains"),
            "{}",
            shown[1]
        );
        assert!(shown.iter().all(|w| w.contains("hint: ")), "{shown:?}");
    }

    #[test]
    fn a_config_with_its_own_identity_has_no_warnings() {
        let own =
            "[identity]\nemails = [\"alex@mycorp.com\"]\ninternal_domains = [\"mycorp.com\"]\n";
        assert!(Config::from_toml("t", own).unwrap().warnings().is_empty());
        assert!(Config::from_toml("t", "").unwrap().warnings().is_empty());
    }
}
