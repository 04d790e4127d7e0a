//! Sources facing a server or a file that misbehaves: a body shorter than its Content-Length, a
//! body cut off without one, a file read mid-write, a path that blocks, an answer larger than the
//! cap. Each is a failed poll (an error the daemon backs off from), never a smaller calendar that
//! would make meetings look deleted.

use std::time::{Duration, Instant};

use nextstep::config::IcsConfig;
use nextstep::source::ics::IcsSource;
use nextstep::source::{CalendarSource, SourceError};

use crate::support::ics::{december, ics_source};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CALENDAR: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n\
BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20261210T100000Z\r\nDTEND:20261210T103000Z\r\nSUMMARY:A\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:b\r\nDTSTART:20261211T100000Z\r\nDTEND:20261211T103000Z\r\nSUMMARY:B\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n";

fn source(kind: IcsConfig, timeout: Duration) -> (IcsSource, tempfile::TempDir) {
    ics_source("feed", kind, timeout)
}

/// A server on a loopback port that answers every request with `response` (raw bytes, headers
/// included) and then closes the connection.
async fn raw_server(response: Vec<u8>) -> url::Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let response = response.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = conn.write_all(&response).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    url::Url::parse(&format!("http://{addr}/feed.ics")).unwrap()
}

async fn poll_url(response: Vec<u8>) -> Result<usize, SourceError> {
    let url = raw_server(response).await;
    let (mut src, _dir) = source(IcsConfig::Url(url), Duration::from_secs(5));
    src.poll(december()).await.map(|f| f.meetings.len())
}

#[tokio::test]
async fn a_whole_calendar_over_a_raw_connection_is_read() {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        CALENDAR.len()
    )
    .into_bytes();
    r.extend_from_slice(CALENDAR.as_bytes());
    assert_eq!(poll_url(r).await.unwrap(), 2);
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_is_a_failed_poll() {
    let cut = &CALENDAR[..CALENDAR.len() / 2 + 40];
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        CALENDAR.len()
    )
    .into_bytes();
    r.extend_from_slice(cut.as_bytes());
    let err = poll_url(r).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn a_body_cut_off_without_content_length_is_a_failed_poll() {
    // Only the first event arrives complete; the text stops before END:VCALENDAR.
    let cut = &CALENDAR[..CALENDAR.find("BEGIN:VEVENT\r\nUID:b").unwrap()];
    let mut r =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\nConnection: close\r\n\r\n".to_vec();
    r.extend_from_slice(cut.as_bytes());
    let err = poll_url(r).await.unwrap_err();
    assert!(matches!(err, SourceError::Data { .. }), "{err:?}");
    assert!(err.to_string().contains("END:VCALENDAR"), "{err}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn a_file_read_mid_write_is_a_failed_poll_and_the_whole_file_is_read_next_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cal.ics");
    let cut = &CALENDAR[..CALENDAR.find("END:VCALENDAR").unwrap()];
    std::fs::write(&path, cut).unwrap();
    let (mut src, _state) = source(IcsConfig::Path(path.clone()), Duration::from_secs(5));
    let err = src.poll(december()).await.unwrap_err();
    assert!(err.to_string().contains("END:VCALENDAR"), "{err}");
    std::fs::write(&path, CALENDAR).unwrap();
    let fetched = src.poll(december()).await.unwrap();
    assert_eq!(fetched.meetings.len(), 2);
    assert!(fetched.complete);
    assert!(fetched.series.contains("feed/a") && fetched.series.contains("feed/b"));
}

#[tokio::test]
async fn a_fifo_as_the_calendar_path_fails_at_once_instead_of_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("cal.ics");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let (mut src, _state) = source(IcsConfig::Path(fifo), Duration::from_secs(1));
    let started = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(10), src.poll(december()))
        .await
        .expect("the read of a FIFO must give up by itself")
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, SourceError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("not a regular file"), "{err}");
}

#[tokio::test]
async fn an_answer_over_the_cap_is_refused_with_or_without_content_length() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let big = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        100 * 1024 * 1024
    )
    .into_bytes();
    let url = raw_server(big).await;
    let resp = client.get(url).send().await.unwrap();
    let err = nextstep::source::read_capped(resp, 1024).await.unwrap_err();
    assert!(
        matches!(err, nextstep::source::CappedReadError::TooBig(1024)),
        "{err:?}"
    );

    let mut streamed = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
    streamed.extend(std::iter::repeat_n(b'x', 4096));
    let url = raw_server(streamed.clone()).await;
    let resp = client.get(url).send().await.unwrap();
    let err = nextstep::source::read_capped(resp, 1024).await.unwrap_err();
    assert!(err.to_string().contains("larger than"), "{err}");

    let url = raw_server(streamed).await;
    let resp = client.get(url).send().await.unwrap();
    assert_eq!(
        nextstep::source::read_capped(resp, 8192)
            .await
            .unwrap()
            .len(),
        4096
    );
}
