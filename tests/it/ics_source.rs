//! IcsSource against a real HTTP server on a random loopback port (wiremock) and real files.

use std::time::{Duration, Instant, SystemTime};

use chrono::{TimeZone, Utc};
use nextstep::config::IcsConfig;
use nextstep::source::ics::IcsSource;
use nextstep::source::{CalendarSource, SourceError, Window};

use crate::support::ics::{december, ics_source};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const GOOGLE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/google.ics"
));
const SECRET_PATH: &str = "/calendar/ical/alex%40mycorp.com/private-0123abcdef/basic.ics";

fn source(kind: IcsConfig, timeout: Duration) -> (IcsSource, tempfile::TempDir) {
    ics_source("published", kind, timeout)
}

fn url_source(server: &MockServer, timeout: Duration) -> (IcsSource, tempfile::TempDir) {
    let url = url::Url::parse(&format!("{}{SECRET_PATH}?key=qsecret", server.uri())).unwrap();
    source(IcsConfig::Url(url), timeout)
}

fn assert_no_secret(err: &SourceError) {
    let text = format!("{err} {err:?}");
    assert!(!text.contains("private-0123abcdef"), "{text}");
    assert!(!text.contains("qsecret"), "{text}");
}

/// The error of one poll of a server that answers every GET with `answer`, after checking that it
/// names no secret part of the address.
async fn poll_error(answer: ResponseTemplate, timeout: Duration) -> SourceError {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(answer)
        .mount(&server)
        .await;
    let (mut src, _state) = url_source(&server, timeout);
    let err = src.poll(december()).await.unwrap_err();
    assert_no_secret(&err);
    err
}

#[tokio::test]
async fn a_second_poll_sends_the_validators_and_a_304_keeps_the_meetings_unchanged() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(SECRET_PATH))
        .and(header("if-none-match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(SECRET_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"v1\"")
                .insert_header("last-modified", "Thu, 26 Nov 2026 12:00:00 GMT")
                .insert_header("content-type", "text/calendar; charset=utf-8")
                .set_body_string(GOOGLE),
        )
        .with_priority(2)
        .mount(&server)
        .await;

    let (mut src, _state) = url_source(&server, Duration::from_secs(10));
    let first = src.poll(december()).await.unwrap();
    assert!(first.changed);
    assert_eq!(first.meetings.len(), 6);

    let second = src.poll(december()).await.unwrap();
    assert!(!second.changed);
    assert_eq!(second.meetings, first.meetings);

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert!(requests[0].headers.get("if-none-match").is_none());
    assert_eq!(requests[1].headers.get("if-none-match").unwrap(), "\"v1\"");
    assert_eq!(
        requests[1].headers.get("if-modified-since").unwrap(),
        "Thu, 26 Nov 2026 12:00:00 GMT"
    );
    assert!(src.describe().contains("6 meetings"), "{}", src.describe());
}

/// A server that sends the Google fixture with ETag "v1", and 304 to a request that has it.
async fn etag_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("if-none-match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"v1\"")
                .set_body_string(GOOGLE),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_304_with_a_moved_window_re_expands_the_held_calendar() {
    let server = etag_server().await;
    let (mut src, _state) = url_source(&server, Duration::from_secs(10));
    src.poll(december()).await.unwrap();
    let later = Window {
        start: Utc.with_ymd_and_hms(2026, 12, 20, 0, 0, 0).unwrap(),
        end: Utc.with_ymd_and_hms(2027, 1, 20, 0, 0, 0).unwrap(),
    };
    let moved = src.poll(later).await.unwrap();
    assert!(moved.changed, "new occurrences entered the window");
    assert!(
        moved
            .meetings
            .iter()
            .any(|m| m.start == Utc.with_ymd_and_hms(2027, 1, 4, 9, 0, 0).unwrap())
    );
}

#[tokio::test]
async fn the_body_a_304_needs_is_kept_on_disk_privately_and_refetched_when_lost() {
    use std::os::unix::fs::PermissionsExt as _;
    let server = etag_server().await;
    let (mut src, state) = url_source(&server, Duration::from_secs(10));
    let first = src.poll(december()).await.unwrap();
    let kept = state.path().join("feed.ics");
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), GOOGLE);
    let mode = std::fs::metadata(&kept).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");

    // The window moves and the server says 304: the meetings come from the kept body.
    let mid = Window {
        start: Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap(),
        end: Utc.with_ymd_and_hms(2027, 1, 2, 0, 0, 0).unwrap(),
    };
    let second = src.poll(mid).await.unwrap();
    let in_both: Vec<_> = first
        .meetings
        .iter()
        .filter(|m| m.start >= mid.start)
        .collect();
    assert!(!in_both.is_empty());
    for m in in_both {
        assert!(
            second.meetings.contains(m),
            "{} lost after the 304",
            m.title
        );
    }

    // The kept body vanishes (a cleaned cache): the next moved window fetches it all again.
    std::fs::remove_file(&kept).unwrap();
    let third = src.poll(december()).await.unwrap();
    assert_eq!(third.meetings, first.meetings);
    assert!(kept.exists());
    let requests = server.received_requests().await.unwrap();
    let conditional: Vec<bool> = requests
        .iter()
        .map(|r| r.headers.get("if-none-match").is_some())
        .collect();
    assert_eq!(conditional, [false, true, true, false]);
}

#[tokio::test]
async fn a_server_error_is_an_http_status_without_the_secret() {
    let err = poll_error(ResponseTemplate::new(500), Duration::from_secs(10)).await;
    assert!(
        matches!(err, SourceError::HttpStatus { status: 500, .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert!(err.to_string().contains("/calendar/…"), "{err}");
}

#[tokio::test]
async fn a_refused_calendar_address_is_unauthorized() {
    let err = poll_error(ResponseTemplate::new(403), Duration::from_secs(10)).await;
    assert!(matches!(err, SourceError::Unauthorized { .. }), "{err:?}");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn an_html_page_instead_of_a_calendar_is_a_data_error() {
    let err = poll_error(
        ResponseTemplate::new(200).set_body_string("<!DOCTYPE html><html>Sign in</html>"),
        Duration::from_secs(10),
    )
    .await;
    assert!(matches!(err, SourceError::Data { .. }), "{err:?}");
    assert!(err.to_string().contains("HTML"), "{err}");
}

#[tokio::test]
async fn an_unreachable_port_is_a_network_error_at_once() {
    // A port that was just free: bind, note it, release it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url =
        url::Url::parse(&format!("http://127.0.0.1:{port}{SECRET_PATH}?key=qsecret")).unwrap();
    let (mut src, _state) = source(IcsConfig::Url(url), Duration::from_secs(60));
    let began = Instant::now();
    let err = src.poll(december()).await.unwrap_err();
    assert!(matches!(err, SourceError::Network { .. }), "{err:?}");
    assert!(err.is_transient());
    assert!(
        began.elapsed() < Duration::from_secs(30),
        "a refused connection must not wait for the timeout"
    );
    assert!(err.to_string().contains("cannot connect"), "{err}");
    assert_no_secret(&err);
}

#[tokio::test]
async fn a_server_slower_than_the_timeout_is_a_network_error() {
    let err = poll_error(
        ResponseTemplate::new(200)
            .set_body_string(GOOGLE)
            .set_delay(Duration::from_secs(30)),
        Duration::from_millis(300),
    )
    .await;
    assert!(matches!(err, SourceError::Network { .. }), "{err:?}");
    assert!(err.to_string().contains("no answer within 0.3 s"), "{err}");
}

#[tokio::test]
async fn a_file_is_read_again_only_when_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("calendar.ics");
    std::fs::write(&file, GOOGLE).unwrap();
    let (mut src, _state) = source(IcsConfig::Path(file.clone()), Duration::from_secs(10));

    let first = src.poll(december()).await.unwrap();
    assert!(first.changed);
    assert_eq!(first.meetings.len(), 6);
    let second = src.poll(december()).await.unwrap();
    assert!(!second.changed);
    assert_eq!(second.meetings, first.meetings);

    let fewer = GOOGLE.replace("SUMMARY:Office closed", "SUMMARY:Office open after all");
    std::fs::write(&file, fewer).unwrap();
    // Filesystem timestamps can be coarse; make the change visible whatever the resolution.
    let f = std::fs::File::options().write(true).open(&file).unwrap();
    f.set_modified(SystemTime::now() + Duration::from_secs(5))
        .unwrap();
    drop(f);
    let third = src.poll(december()).await.unwrap();
    assert!(third.changed);
    assert!(
        third
            .meetings
            .iter()
            .any(|m| m.title == "Office open after all")
    );
}

#[tokio::test]
async fn a_missing_file_says_which_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nope.ics");
    let (mut src, _state) = source(IcsConfig::Path(file.clone()), Duration::from_secs(10));
    let err = src.poll(december()).await.unwrap_err();
    match &err {
        SourceError::Io { path, detail, .. } => {
            assert_eq!(path, &file);
            assert!(detail.contains("no such file"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
}
