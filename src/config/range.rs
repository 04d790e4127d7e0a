//! The ranges that durations and counts in the config must lie in, and the checks that refuse a
//! value outside its range with the key, the place and the range in the message.
//!
//! Every duration and count has an upper bound because the program does time arithmetic with
//! them (`meeting start - before`, `now - lookback`, a timer `now + poll`): an unbounded value
//! would pass `check` and then overflow at run time. The bounds themselves are one table in the
//! parent module, and listed in the README's config reference.

use std::fmt;
use std::time::Duration;

use toml::Spanned;

use super::error::{ConfigError, Ctx};
use super::values::duration;

pub(super) const MINUTE: u64 = 60;
pub(super) const HOUR: u64 = 60 * MINUTE;
pub(super) const DAY: u64 = 24 * HOUR;

/// The inclusive range of durations a key accepts. Displayed as `1s to 7d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationRange {
    pub min: Duration,
    pub max: Duration,
}

impl DurationRange {
    /// From whole seconds.
    pub const fn secs(min: u64, max: u64) -> Self {
        DurationRange {
            min: Duration::from_secs(min),
            max: Duration::from_secs(max),
        }
    }

    pub fn contains(&self, d: Duration) -> bool {
        self.min <= d && d <= self.max
    }
}

impl fmt::Display for DurationRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} to {}",
            format_duration(self.min),
            format_duration(self.max)
        )
    }
}

/// The inclusive range of whole numbers a key accepts. Displayed as `0 to 100`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountRange {
    pub min: i64,
    pub max: i64,
}

impl CountRange {
    pub fn contains(&self, n: i64) -> bool {
        self.min <= n && n <= self.max
    }
}

impl fmt::Display for CountRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} to {}", self.min, self.max)
    }
}

/// A duration the way the config writes one: `0s`, `90s` as `1m30s`, `7d`, `1d2h`.
pub fn format_duration(d: Duration) -> String {
    let mut left = d.as_secs();
    if left == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, secs) in [("d", DAY), ("h", HOUR), ("m", MINUTE), ("s", 1)] {
        let n = left / secs;
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
            left %= secs;
        }
    }
    out
}

/// A bounded key: its dotted name, the range it accepts, and why the range stops there (the
/// reason is shown in the hint when a value is refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit<R> {
    pub key: &'static str,
    pub range: R,
    pub why: &'static str,
}

/// Declares bounded keys as `pub const` [`Limit`]s from a table, one row a key:
/// `NAME: secs("key", min, max), "why";` for a duration in whole seconds, `count` for a number.
/// The parent module holds the table, so every key's range stands beside its neighbours'.
macro_rules! limits {
    ($($(#[$doc:meta])* $name:ident: $kind:ident($key:literal, $min:expr, $max:expr), $why:literal;)*) => {
        $(
            $(#[$doc])*
            pub const $name: $crate::config::Limit<limits!(@range $kind)> = $crate::config::Limit {
                key: $key,
                range: limits!(@new $kind, $min, $max),
                why: $why,
            };
        )*
    };
    (@range secs) => { $crate::config::DurationRange };
    (@range count) => { $crate::config::CountRange };
    (@new secs, $min:expr, $max:expr) => { $crate::config::DurationRange::secs($min, $max) };
    (@new count, $min:expr, $max:expr) => { $crate::config::CountRange { min: $min, max: $max } };
}
pub(super) use limits;

impl<R: fmt::Display> Limit<R> {
    fn refuse(&self, ctx: &Ctx, span: std::ops::Range<usize>, shown: &str) -> ConfigError {
        ctx.at(span, self.key, format!("{shown} is out of range"))
            .hint(format!("{} takes {}: {}", self.key, self.range, self.why))
    }
}

impl Limit<DurationRange> {
    /// The duration at this key (or `default`), refused when outside the range.
    pub(super) fn duration(
        &self,
        ctx: &Ctx,
        value: Option<Spanned<String>>,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        let span = value.as_ref().map(|v| (v.span(), v.get_ref().clone()));
        let d = duration(ctx, self.key, value, default)?;
        match span {
            Some((span, text)) if !self.range.contains(d) => {
                Err(self.refuse(ctx, span, &format!("`{text}`")))
            }
            _ => Ok(d),
        }
    }
}

impl Limit<CountRange> {
    /// The count at this key (or `default`), refused when outside the range.
    pub(super) fn count<T: TryFrom<i64>>(
        &self,
        ctx: &Ctx,
        value: Option<Spanned<i64>>,
        default: T,
    ) -> Result<T, ConfigError> {
        let Some(v) = value else {
            return Ok(default);
        };
        let n = *v.get_ref();
        match T::try_from(n) {
            Ok(count) if self.range.contains(n) => Ok(count),
            _ => Err(self.refuse(ctx, v.span(), &n.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::err;
    use super::super::{
        AFTER_LIMIT, BEFORE_LIMIT, Config, HTTP_TIMEOUT_LIMIT, LOOKBACK_LIMIT, ON_SCREEN_LIMIT,
        POLL_LIMIT, PROMPT_TIMEOUT_LIMIT, Prompts, QUICK_OBJECTIVES_LIMIT, REASK_LIMIT,
        REASK_LIMIT_LIMIT, SNOOZE_LIMIT, WEB_PORT_LIMIT, WebConfig,
    };
    use super::*;

    const CALENDAR: &str = "[[calendars]]\nname = \"a\"\nkind = \"ics\"\npath = \"x.ics\"\n";

    /// `leaf = value` as the last line of `table`, and the line and column the value starts at.
    fn config(table: &str, leaf: &str, value: &str) -> (String, u32, u32) {
        let text = format!("{table}{leaf} = {value}\n");
        let line = u32::try_from(table.lines().count() + 1).unwrap();
        let column = u32::try_from(leaf.len() + " = ".len() + 1).unwrap();
        (text, line, column)
    }

    /// Every `inside` value is accepted and every `outside` value refused at its line and column,
    /// naming the key and showing the range.
    fn bounded<R: fmt::Display>(limit: &Limit<R>, table: &str, inside: &[&str], outside: &[&str]) {
        let leaf = limit.key.rsplit('.').next().unwrap();
        for value in inside {
            let (text, _, _) = config(table, leaf, value);
            if let Err(e) = Config::from_toml("test.toml", &text) {
                panic!("{} = {value} should be accepted: {e}", limit.key);
            }
        }
        for value in outside {
            let (text, line, column) = config(table, leaf, value);
            let e = err(&text);
            let shown = e.to_string();
            let place = format!("test.toml:{line}:{column}: {}: ", limit.key);
            assert!(shown.starts_with(&place), "{value}: {shown}");
            assert!(shown.contains("out of range"), "{value}: {shown}");
            let range = format!("hint: {} takes {}", limit.key, limit.range);
            assert!(shown.contains(&range), "{value}: {shown}");
        }
    }

    #[test]
    fn ranges_read_as_the_config_writes_durations() {
        assert_eq!(BEFORE_LIMIT.range.to_string(), "0s to 7d");
        assert_eq!(POLL_LIMIT.range.to_string(), "1s to 1d");
        assert_eq!(HTTP_TIMEOUT_LIMIT.range.to_string(), "1s to 10m");
        assert_eq!(REASK_LIMIT_LIMIT.range.to_string(), "0 to 100");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_secs(DAY + 2 * HOUR)), "1d2h");
    }

    #[test]
    fn every_default_lies_within_its_range() {
        let d = Prompts::default();
        for (limit, value) in [
            (BEFORE_LIMIT, d.before),
            (AFTER_LIMIT, d.after),
            (SNOOZE_LIMIT, d.snooze),
            (REASK_LIMIT, d.reask),
            (LOOKBACK_LIMIT, d.lookback),
            (PROMPT_TIMEOUT_LIMIT, d.timeout),
        ] {
            assert!(limit.range.contains(value), "{}", limit.key);
        }
        assert!(REASK_LIMIT_LIMIT.range.contains(d.reask_limit.into()));
        let quick = i64::try_from(d.quick_objectives).unwrap();
        assert!(QUICK_OBJECTIVES_LIMIT.range.contains(quick));
        let cal = Config::from_toml("t", CALENDAR).unwrap();
        assert!(POLL_LIMIT.range.contains(cal.calendars[0].poll));
        assert!(HTTP_TIMEOUT_LIMIT.range.contains(cal.calendars[0].timeout));
    }

    #[test]
    fn web_port_is_a_tcp_port_or_zero_for_any_free_one() {
        bounded(
            &WEB_PORT_LIMIT,
            "[web]\n",
            &["0", "7717", "65535"],
            &["-1", "65536"],
        );
        let text = format!("{CALENDAR}[web]\nenabled = false\nport = 0\n");
        let c = Config::from_toml("test.toml", &text).unwrap();
        assert_eq!(
            c.web,
            WebConfig {
                enabled: false,
                port: 0
            }
        );
        let plain = Config::from_toml("test.toml", CALENDAR).unwrap();
        assert_eq!(plain.web, WebConfig::default());
        assert!(plain.web.enabled);
    }

    #[test]
    fn before_is_at_most_a_week() {
        let inside = ["\"0s\"", "\"7d\"", "\"6d23h59m59s\""];
        bounded(
            &BEFORE_LIMIT,
            "[prompts]\n",
            &inside,
            &["\"7d1s\"", "\"9999999999h\""],
        );
    }

    #[test]
    fn after_is_at_most_a_week() {
        let inside = ["\"0s\"", "\"7d\""];
        bounded(
            &AFTER_LIMIT,
            "[prompts]\n",
            &inside,
            &["\"7d1s\"", "\"99999999d\""],
        );
    }

    #[test]
    fn snooze_is_between_a_second_and_a_week() {
        let inside = ["\"1s\"", "\"7d\""];
        bounded(
            &SNOOZE_LIMIT,
            "[prompts]\n",
            &inside,
            &["\"0s\"", "\"7d1s\""],
        );
    }

    #[test]
    fn reask_is_between_a_second_and_a_week() {
        let inside = ["\"1s\"", "\"7d\""];
        bounded(
            &REASK_LIMIT,
            "[prompts]\n",
            &inside,
            &["\"0s\"", "\"7d1s\""],
        );
        let e = err("[prompts]\nreask = \"0s\"\n");
        assert!(e.to_string().contains("reask_limit = 0"), "{e}");
    }

    #[test]
    fn reask_limit_is_at_most_a_hundred() {
        let outside = ["101", "-1", "4294967296"];
        bounded(&REASK_LIMIT_LIMIT, "[prompts]\n", &["0", "100"], &outside);
    }

    #[test]
    fn lookback_is_at_most_366_days() {
        let inside = ["\"0s\"", "\"366d\""];
        bounded(
            &LOOKBACK_LIMIT,
            "[prompts]\n",
            &inside,
            &["\"366d1s\"", "\"9999999999h\""],
        );
    }

    #[test]
    fn a_prompt_waits_between_a_second_and_a_day() {
        let inside = ["\"1s\"", "\"1d\""];
        bounded(
            &PROMPT_TIMEOUT_LIMIT,
            "[prompts]\n",
            &inside,
            &["\"0s\"", "\"1d1s\""],
        );
    }

    #[test]
    fn between_one_and_ten_prompts_are_on_screen_at_once() {
        bounded(
            &ON_SCREEN_LIMIT,
            "[prompts]\n",
            &["1", "10"],
            &["0", "11", "-1"],
        );
        assert_eq!(Prompts::default().on_screen, 3);
    }

    #[test]
    fn quick_objectives_is_at_most_three() {
        let hint = "notification servers show only a few buttons";
        bounded(
            &QUICK_OBJECTIVES_LIMIT,
            "[prompts]\n",
            &["0", "3"],
            &["4", "-1"],
        );
        assert!(
            err("[prompts]\nquick_objectives = 4\n")
                .to_string()
                .contains(hint)
        );
    }

    #[test]
    fn a_calendar_is_polled_between_every_second_and_once_a_day() {
        bounded(
            &POLL_LIMIT,
            CALENDAR,
            &["\"1s\"", "\"1d\""],
            &["\"0s\"", "\"1d1s\""],
        );
    }

    #[test]
    fn a_calendar_request_waits_between_a_second_and_ten_minutes() {
        let inside = ["\"1s\"", "\"10m\""];
        bounded(
            &HTTP_TIMEOUT_LIMIT,
            CALENDAR,
            &inside,
            &["\"0s\"", "\"10m1s\""],
        );
    }
}
