//! Finding the calendars of a CalDAV account (RFC 4791 §7.1, RFC 6764 §6) and picking the ones
//! `calendars = [...]` names.
//!
//! From a calendar URL, one PROPFIND Depth 0 shows `resourcetype` calendar. Otherwise: the URL's
//! own `calendar-home-set` or `current-user-principal`, else `/.well-known/caldav`; then the
//! principal's `calendar-home-set`; then a PROPFIND Depth 1 on the home lists the calendars that
//! hold VEVENTs (a calendar without `supported-calendar-component-set` counts). What it
//! promises: each failure says which step found nothing and what URL to give instead.

use url::Url;

use super::client::{Client, redact};
use super::strategy::{SyncSupport, advertised};
use super::xml::{self, Props};
use crate::config::CaldavConfig;
use crate::source::SourceError;

/// One discovered calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundCalendar {
    pub url: Url,
    pub display_name: Option<String>,
}

impl FoundCalendar {
    /// The percent-decoded path, as users write it in `calendars = [...]`.
    pub fn path(&self) -> String {
        xml::percent_decode(self.url.path())
    }
}

/// Where discovery led: the configured URL is a calendar, or the account's calendar home.
enum Home {
    Calendar(FoundCalendar),
    Set(Url),
}

/// PROPFIND Depth 0 with the discovery properties; `None` when the URL is not WebDAV there.
async fn props_of(client: &Client, url: &Url) -> Result<Option<(Props, Url)>, SourceError> {
    let reply = client
        .request("PROPFIND", url, Some("0"), xml::propfind_discovery())
        .await?;
    if reply.status != 207 {
        tracing::debug!(status = reply.status, url = %redact(&reply.url), "no WebDAV properties here");
        return Ok(None);
    }
    let ms = client.parse(&reply)?;
    Ok(ms
        .own_response(&reply.url)
        .map(|r| (r.props.clone(), reply.url.clone())))
}

fn first_home(client: &Client, props: &Props, at: &Url) -> Result<Option<Url>, SourceError> {
    match props.calendar_home_set.as_ref().and_then(|h| h.first()) {
        Some(home) => client.join(at, home).map(Some),
        None => Ok(None),
    }
}

async fn find_home(client: &Client, start: &Url) -> Result<Home, SourceError> {
    let mut principal: Option<Url> = None;
    if let Some((props, at)) = props_of(client, start).await? {
        if props.is_calendar() {
            if !props.holds_events() {
                return Err(client.setup(format!(
                    "{} is a calendar without events (it holds {})",
                    redact(&at),
                    props.supported_components.unwrap_or_default().join(", ")
                )));
            }
            return Ok(Home::Calendar(FoundCalendar {
                url: at,
                display_name: props.displayname.filter(|d| !d.is_empty()),
            }));
        }
        if let Some(home) = first_home(client, &props, &at)? {
            return Ok(Home::Set(home));
        }
        if let Some(p) = &props.current_user_principal {
            principal = Some(client.join(&at, p)?);
        }
    }
    if principal.is_none() {
        let wk = client.join(start, "/.well-known/caldav")?;
        if let Some((props, at)) = props_of(client, &wk).await? {
            if let Some(home) = first_home(client, &props, &at)? {
                return Ok(Home::Set(home));
            }
            if let Some(p) = &props.current_user_principal {
                principal = Some(client.join(&at, p)?);
            }
        }
    }
    let Some(principal) = principal else {
        return Err(client.setup(format!(
            "found no CalDAV account at {} (no calendar, no current-user-principal, no /.well-known/caldav); give the URL of a calendar or of your principal",
            redact(start)
        )));
    };
    match props_of(client, &principal).await? {
        Some((props, at)) => match first_home(client, &props, &at)? {
            Some(home) => Ok(Home::Set(home)),
            None => Err(client.setup(format!(
                "the principal {} names no calendar-home-set; give the URL of a calendar instead",
                redact(&at)
            ))),
        },
        None => Err(client.setup(format!(
            "the principal {} has no WebDAV properties; give the URL of a calendar instead",
            redact(&principal)
        ))),
    }
}

/// Finds the calendars and applies `calendars = [...]`, with what each advertised about
/// sync-collection.
pub(super) async fn discover(
    client: &Client,
    cfg: &CaldavConfig,
) -> Result<Vec<(FoundCalendar, SyncSupport)>, SourceError> {
    let all: Vec<(FoundCalendar, SyncSupport)> = match find_home(client, &cfg.url).await? {
        Home::Calendar(single) => vec![(single, SyncSupport::Unknown)],
        Home::Set(home) => {
            let (ms, at) = client
                .multistatus("PROPFIND", &home, "1", xml::propfind_discovery())
                .await?;
            let mut out = Vec::new();
            for r in ms.responses {
                if !(r.props.is_calendar() && r.props.holds_events()) {
                    continue;
                }
                let url = client.join(&at, &r.href)?;
                let sync = advertised(
                    r.props.supports_sync_collection(),
                    r.props.sync_token.is_some(),
                );
                out.push((
                    FoundCalendar {
                        url,
                        display_name: r.props.displayname.filter(|d| !d.is_empty()),
                    },
                    sync,
                ));
            }
            out
        }
    };
    select_calendars(&client.source, all, &cfg.calendars)
}

/// `"Work" (/alice/work/), /alice/bare/`: for `nextstep check` and errors.
pub(super) fn describe_found<'a>(cals: impl IntoIterator<Item = &'a FoundCalendar>) -> String {
    cals.into_iter()
        .map(|c| match &c.display_name {
            Some(n) => format!("\"{n}\" ({})", c.path()),
            None => c.path(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Applies `calendars = [...]`: each entry matches a display name (exactly, else ignoring case),
/// a path (with or without the trailing slash) or the last path segment. Empty keeps all.
fn select_calendars<T>(
    source: &str,
    all: Vec<(FoundCalendar, T)>,
    wanted: &[String],
) -> Result<Vec<(FoundCalendar, T)>, SourceError> {
    if all.is_empty() {
        return Err(SourceError::Setup {
            source_name: source.to_string(),
            detail: "the account has no calendar that holds events".to_string(),
        });
    }
    if wanted.is_empty() {
        return Ok(all);
    }
    let matches = |c: &FoundCalendar, w: &str| {
        let path = c.path();
        let path = path.trim_end_matches('/');
        let w_path = w.trim_end_matches('/');
        c.display_name.as_deref() == Some(w)
            || c.display_name
                .as_deref()
                .is_some_and(|n| n.to_lowercase() == w.to_lowercase())
            || path == w_path
            || path.rsplit('/').next() == Some(w_path)
    };
    for w in wanted {
        if !all.iter().any(|(c, _)| matches(c, w)) {
            return Err(SourceError::Setup {
                source_name: source.to_string(),
                detail: format!(
                    "no calendar matches `{w}` in `calendars`; available: {}",
                    describe_found(all.iter().map(|(c, _)| c))
                ),
            });
        }
    }
    Ok(all
        .into_iter()
        .filter(|(c, _)| wanted.iter().any(|w| matches(c, w)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(path: &str, name: Option<&str>) -> (FoundCalendar, ()) {
        (
            FoundCalendar {
                url: Url::parse(&format!("https://dav.example.com{path}")).unwrap(),
                display_name: name.map(str::to_string),
            },
            (),
        )
    }

    #[test]
    fn calendars_are_picked_by_display_name_or_path() {
        let all = || {
            vec![
                found("/alice/work%20cal/", Some("Work & Sales")),
                found("/alice/home/", Some("Home")),
                found("/alice/bare/", None),
            ]
        };
        let pick = |w: &[&str]| {
            select_calendars(
                "s",
                all(),
                &w.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
            .unwrap()
            .into_iter()
            .map(|(c, _)| c.path())
            .collect::<Vec<_>>()
        };
        assert_eq!(pick(&["work & sales"]), ["/alice/work cal/"]);
        assert_eq!(pick(&["/alice/home"]), ["/alice/home/"]);
        assert_eq!(pick(&["bare", "Home"]), ["/alice/home/", "/alice/bare/"]);
        assert_eq!(pick(&[]).len(), 3);
    }

    #[test]
    fn a_calendar_name_that_matches_nothing_names_the_available_ones() {
        let err = select_calendars(
            "s",
            vec![found("/alice/work%20cal/", Some("Work & Sales"))],
            &["Private".to_string()],
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "s: no calendar matches `Private` in `calendars`; available: \"Work & Sales\" (/alice/work cal/)"
        );
    }

    #[test]
    fn an_account_without_event_calendars_is_a_setup_error() {
        let err = select_calendars::<()>("s", Vec::new(), &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "s: the account has no calendar that holds events"
        );
    }
}
