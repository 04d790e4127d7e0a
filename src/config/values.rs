//! Parsers for single config values: durations, URLs, secrets, domain lists and regex lists.
//!
//! Each takes the raw value with its span and returns the typed value or a located
//! [`ConfigError`] with a hint; [`parse_duration`] and [`expand_home`] are public because the
//! command line reads durations and paths the same way.

use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;
use toml::Spanned;

use super::error::{ConfigError, Ctx};
use crate::secret::{Secret, SecretSource};

/// Parses `"90s"`, `"15m"`, `"2h"`, `"1d"`, `"1h30m"`. Never panics: every step of the sum is
/// checked, and a duration beyond `u64` seconds is an error (the config's ranges then refuse
/// anything beyond days; see `range`).
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
            if num.is_empty() {
                return Err(format!("a number must come before `{ch}`"));
            }
            // Only ASCII digits are collected, so the one way to fail is a number beyond u64.
            let n: u64 = num.parse().map_err(|_| "duration too large".to_string())?;
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

/// The duration at `key`, or `default` when the key is absent.
pub(super) fn duration(
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

/// An http(s) URL; `webcal://` and `webcals://` (what calendar apps use for "subscribe") are read
/// as `https://`.
pub(super) fn parse_url(
    ctx: &Ctx,
    key: &str,
    v: &Spanned<String>,
) -> Result<url::Url, ConfigError> {
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

/// How to read the secret `what` (`password`, `client_secret`): at most one of a command, an
/// environment variable or (for client secrets, which Google does not treat as secret) a literal.
pub(super) fn secret(
    ctx: &Ctx,
    what: &str,
    command: Option<Spanned<Vec<String>>>,
    env: Option<Spanned<String>>,
    literal: Option<Spanned<String>>,
) -> Result<Option<SecretSource>, ConfigError> {
    let mut found: Vec<(Range<usize>, SecretSource)> = Vec::new();
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

/// Checks every item of a list, with the item's span at hand to locate the first failure.
pub(super) fn each<T>(
    items: Vec<Spanned<String>>,
    mut check: impl FnMut(Range<usize>, String) -> Result<T, ConfigError>,
) -> Result<Vec<T>, ConfigError> {
    items
        .into_iter()
        .map(|item| {
            let span = item.span();
            check(span, item.into_inner())
        })
        .collect()
}

/// Bare domains, lower-cased, without a leading `@` or `.`.
pub(super) fn domain_list(
    ctx: &Ctx,
    key: &str,
    items: Vec<Spanned<String>>,
) -> Result<Vec<String>, ConfigError> {
    each(items, |span, d| {
        let v = d
            .trim()
            .trim_start_matches('@')
            .trim_start_matches('.')
            .to_ascii_lowercase();
        if v.is_empty() || v.contains('@') || v.contains(char::is_whitespace) || !v.contains('.') {
            Err(ctx
                .at(span, key, format!("`{v}` is not a domain"))
                .hint("write bare domains such as \"example.com\""))
        } else {
            Ok(v)
        }
    })
}

/// Compiled regexes; the error keeps only the last line of the regex crate's message (the one
/// that says what is wrong; the lines above repeat the pattern).
pub(super) fn regex_list(
    ctx: &Ctx,
    key: &str,
    items: Vec<Spanned<String>>,
) -> Result<Vec<Regex>, ConfigError> {
    each(items, |span, r| {
        Regex::new(&r).map_err(|e| {
            let detail = e.to_string();
            let last = detail.lines().last().unwrap_or("").trim().to_string();
            ctx.at(span, key, format!("not a valid regular expression: {last}"))
                .hint("use Rust regex syntax; `(?i)` makes it case-insensitive; escape literal brackets with \\")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_refused, err};
    use super::*;

    #[test]
    fn durations_accept_compound_units_and_refuse_bare_numbers() {
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("15").is_err());
        assert!(parse_duration("5w").is_err());
    }

    /// What `parse_duration` should give for `n` of `unit`, worked out in u128 so it cannot
    /// overflow: the seconds, or `None` when they do not fit a u64.
    fn expected(parts: &[(u128, char)]) -> Option<u64> {
        let secs: u128 = parts
            .iter()
            .map(|&(n, unit)| {
                n * match unit {
                    's' => 1,
                    'm' => 60,
                    'h' => 3600,
                    _ => 86400,
                }
            })
            .sum();
        u64::try_from(secs).ok()
    }

    #[test]
    fn parse_duration_never_panics_on_any_string() {
        let mut rng = fastrand::Rng::with_seed(0x6e65_7874);
        let alphabet: Vec<char> = "0123456789smhdw .-+_\u{e9}\u{1f600}\t9".chars().collect();
        for _ in 0..20_000 {
            let len = rng.usize(0..40);
            let text: String = (0..len)
                .map(|_| {
                    if rng.u8(0..10) == 0 {
                        rng.char(..)
                    } else {
                        alphabet[rng.usize(0..alphabet.len())]
                    }
                })
                .collect();
            // The property is only that it returns; an Ok must also be a whole number of seconds.
            if let Ok(d) = parse_duration(&text) {
                assert_eq!(d.subsec_nanos(), 0, "{text:?}");
            }
        }
    }

    #[test]
    fn parse_duration_sums_any_numbers_exactly_or_says_too_large() {
        let mut rng = fastrand::Rng::with_seed(0x6475_7261);
        for _ in 0..20_000 {
            let parts: Vec<(u128, char)> = (0..rng.usize(1..4))
                .map(|_| {
                    // Small, large and extreme numbers alike.
                    let n = match rng.u8(0..3) {
                        0 => rng.u64(0..1000),
                        1 => rng.u64(0..u64::MAX / 1000),
                        _ => rng.u64(..),
                    };
                    (u128::from(n), ['s', 'm', 'h', 'd'][rng.usize(0..4)])
                })
                .collect();
            let text: String = parts.iter().map(|(n, u)| format!("{n}{u}")).collect();
            match (parse_duration(&text), expected(&parts)) {
                (Ok(d), Some(secs)) => assert_eq!(d.as_secs(), secs, "{text}"),
                (Err(e), None) => assert_eq!(e, "duration too large", "{text}"),
                (got, want) => panic!("{text}: got {got:?}, expected {want:?} seconds"),
            }
        }
        let beyond = format!("{}0s", u64::MAX);
        assert_eq!(parse_duration(&beyond).unwrap_err(), "duration too large");
    }

    #[test]
    fn a_bad_duration_is_located_and_explained() {
        assert_refused(
            "[prompts]\n\nsnooze = \"10 minutes\"\n",
            3,
            "prompts.snooze",
            "\"15m\"",
        );
    }

    #[test]
    fn a_bad_regex_is_located() {
        assert_refused(
            "[classify]\nexclude_titles = [\"(?i)interview\", \"[unclosed\"]\n",
            2,
            "classify.exclude_titles",
            "regular expression",
        );
    }

    #[test]
    fn two_ways_to_read_one_secret_are_refused() {
        let e = err(
            "[[calendars]]\nname = \"d\"\nkind = \"caldav\"\nurl = \"https://x.example/\"\npassword_env = \"A\"\npassword_command = [\"pass\"]\n",
        );
        assert!(e.to_string().contains("more than one"), "{e}");
    }

    #[test]
    fn domains_are_lower_cased_and_must_look_like_domains() {
        let c = super::super::Config::from_toml(
            "t",
            "[identity]\ninternal_domains = [\"MyCorp.COM\"]\n",
        )
        .unwrap();
        assert_eq!(c.identity.internal_domains, vec!["mycorp.com"]);
        let e = err("[identity]\ninternal_domains = [\"alex@mycorp.com\"]\n");
        assert!(e.to_string().contains("not a domain"), "{e}");
    }
}
