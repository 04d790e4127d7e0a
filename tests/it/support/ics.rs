//! An ICS source built the way the daemon builds one (its own state folder, the rustls provider
//! installed), and the December window the source tests read through.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use nextstep::config::{CalendarConfig, CalendarKind, IcsConfig};
use nextstep::source::ics::IcsSource;
use nextstep::source::{SourceContext, Window};

/// December 2026, the month the fixtures' meetings fall in.
pub fn december() -> Window {
    Window {
        start: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
        end: Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
    }
}

/// A source called `name` reading `kind`, with its own state folder, removed when the returned
/// guard drops.
pub fn ics_source(
    name: &str,
    kind: IcsConfig,
    timeout: Duration,
) -> (IcsSource, tempfile::TempDir) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let ctx = SourceContext {
        name: name.into(),
        state_dir: dir.path().to_path_buf(),
        http: Some(reqwest::Client::builder().build().unwrap()),
    };
    let cfg = CalendarConfig {
        name: name.into(),
        poll: Duration::from_secs(300),
        timeout,
        kind: CalendarKind::Ics(kind),
    };
    (IcsSource::new(ctx, &cfg).unwrap(), dir)
}
