//! Validation: the raw TOML shapes in, the typed [`Config`] out, or the first problem as a located
//! [`ConfigError`].
//!
//! Defaults are filled in here (from [`Prompts::default`] and the per-kind calendar defaults), so
//! the rest of the program never sees an absent value. Keys that belong to another calendar kind
//! are refused by name, so a copied block does not silently lose its settings.

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::digest::{DigestConfig, DigestWhen};
use super::error::{ConfigError, Ctx};
use super::raw::{RawCalendar, RawConfig, RawDialog};
use super::values::{domain_list, each, expand_home, parse_url, regex_list, secret};
use super::{
    AFTER_LIMIT, BEFORE_LIMIT, HTTP_TIMEOUT_LIMIT, LOOKBACK_LIMIT, ON_SCREEN_LIMIT, POLL_LIMIT,
    PROMPT_TIMEOUT_LIMIT, QUICK_OBJECTIVES_LIMIT, REASK_LIMIT, REASK_LIMIT_LIMIT, SNOOZE_LIMIT,
    WEB_PORT_LIMIT,
};
use super::{
    Account, CaldavConfig, CalendarConfig, CalendarKind, ClassifyRules, Config, DialogSetting,
    GoogleConfig, IcsConfig, Identity, LedgerConfig, NotifierSetting, PersonalDomains, Prompts,
    WebConfig,
};
use crate::http::is_loopback;

pub(super) fn validate(ctx: &Ctx, raw: RawConfig) -> Result<Config, ConfigError> {
    let identity = Identity {
        emails: each(raw.identity.emails, |span, e| {
            let v = e.trim().trim_start_matches("mailto:").to_ascii_lowercase();
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
        })?,
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
    let quick_objectives = QUICK_OBJECTIVES_LIMIT
        .count(ctx, p.quick_objectives, d.quick_objectives)?
        .min(objectives.len());
    let dialog = match p.dialog {
        None => DialogSetting::Auto,
        Some(v) => {
            let span = v.span();
            match v.into_inner() {
                RawDialog::Name(n) if n == "auto" => DialogSetting::Auto,
                RawDialog::Name(n) if n == "none" => DialogSetting::None,
                RawDialog::Name(n) if n == "web" => DialogSetting::Web,
                RawDialog::Name(n) if !n.trim().is_empty() => DialogSetting::Program(vec![n]),
                RawDialog::Program(argv) if !argv.is_empty() && !argv[0].trim().is_empty() => {
                    DialogSetting::Program(argv)
                }
                _ => {
                    return Err(ctx
                        .at(span, "prompts.dialog", "empty dialog program")
                        .hint("use \"auto\", \"none\", \"web\", \"zenity\", \"kdialog\" or a program list such as [\"my-dialog\", \"--ask\"]"));
                }
            }
        }
    };
    let notifier = match p.notifier {
        None => NotifierSetting::Auto,
        Some(v) => {
            match v.get_ref().as_str() {
                "auto" => NotifierSetting::Auto,
                "desktop" => NotifierSetting::Desktop,
                "osascript" => NotifierSetting::Osascript,
                "terminal" => NotifierSetting::Terminal,
                other => {
                    return Err(ctx
                    .at(
                        v.span(),
                        "prompts.notifier",
                        format!("unknown notifier `{other}`"),
                    )
                    .hint("use \"auto\", \"desktop\" (D-Bus), \"osascript\" (macOS) or \"terminal\""));
                }
            }
        }
    };
    let prompts = Prompts {
        before: BEFORE_LIMIT.duration(ctx, p.before, d.before)?,
        after: AFTER_LIMIT.duration(ctx, p.after, d.after)?,
        snooze: SNOOZE_LIMIT.duration(ctx, p.snooze, d.snooze)?,
        reask: REASK_LIMIT.duration(ctx, p.reask, d.reask)?,
        reask_limit: REASK_LIMIT_LIMIT.count(ctx, p.reask_limit, d.reask_limit)?,
        lookback: LOOKBACK_LIMIT.duration(ctx, p.lookback, d.lookback)?,
        quick_objectives,
        objectives,
        ladder: p.ladder.unwrap_or(d.ladder),
        dialog,
        notifier,
        timeout: PROMPT_TIMEOUT_LIMIT.duration(ctx, p.timeout, d.timeout)?,
        on_screen: ON_SCREEN_LIMIT.count(ctx, p.on_screen, d.on_screen)?,
    };

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

    let web = WebConfig {
        enabled: raw.web.enabled.unwrap_or(WebConfig::default().enabled),
        port: WEB_PORT_LIMIT.count(ctx, raw.web.port, WebConfig::default().port)?,
    };

    let digest = {
        let d = DigestConfig::default();
        let when = match raw.digest.when {
            None => d.when,
            Some(v) => {
                let span = v.span();
                v.get_ref().parse::<DigestWhen>().map_err(|e| {
                    ctx.at(span, "digest.when", e.to_string())
                        .hint("a weekday (Mon, Tue, Wed, Thu, Fri, Sat, Sun) and a local 24-hour time, e.g. when = \"Mon 09:00\"")
                })?
            }
        };
        DigestConfig {
            enabled: raw.digest.enabled.unwrap_or(d.enabled),
            when,
        }
    };

    Ok(Config {
        path: None,
        identity,
        classify,
        accounts,
        prompts,
        calendars,
        ledger,
        web,
        digest,
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
    let mut foreign: Vec<(&str, Option<Range<usize>>)> = Vec::new();
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
    let poll = POLL_LIMIT.duration(ctx, c.poll, default_poll)?;
    let timeout = HTTP_TIMEOUT_LIMIT.duration(ctx, c.timeout, Duration::from_secs(30))?;

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
    use super::super::test_support::err;
    use super::*;

    #[test]
    fn the_notifier_is_auto_by_default_and_an_unknown_one_is_refused_at_its_line() {
        assert_eq!(
            Config::from_toml("t", "").unwrap().prompts.notifier,
            NotifierSetting::Auto
        );
        for (name, want) in [
            ("desktop", NotifierSetting::Desktop),
            ("osascript", NotifierSetting::Osascript),
            ("terminal", NotifierSetting::Terminal),
        ] {
            let c = Config::from_toml("t", &format!("[prompts]\nnotifier = \"{name}\"\n")).unwrap();
            assert_eq!(c.prompts.notifier, want);
        }
        let e = err("[prompts]\nnotifier = \"growl\"\n");
        assert_eq!(e.line, Some(2));
        assert!(e.to_string().contains("prompts.notifier"), "{e}");
        assert!(e.to_string().contains("osascript"), "{e}");
    }

    #[test]
    fn the_dialog_names_auto_none_and_web_and_anything_else_is_a_program() {
        for (value, want) in [
            ("\"auto\"", DialogSetting::Auto),
            ("\"none\"", DialogSetting::None),
            ("\"web\"", DialogSetting::Web),
            ("\"zenity\"", DialogSetting::Program(vec!["zenity".into()])),
            (
                "[\"web\", \"--ask\"]",
                DialogSetting::Program(vec!["web".into(), "--ask".into()]),
            ),
        ] {
            let c = Config::from_toml("t", &format!("[prompts]\ndialog = {value}\n")).unwrap();
            assert_eq!(c.prompts.dialog, want, "{value}");
        }
        let e = err("[prompts]\ndialog = \"\"\n");
        assert_eq!(e.line, Some(2));
        assert!(e.to_string().contains("\"web\""), "{e}");
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
}
