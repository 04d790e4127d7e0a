//! One misbehaving HTTP server for the source-fault tests: a raw TCP listener that answers each
//! request either well (a fixed body, or by passing the request on to a real upstream such as
//! Radicale or the fake Google) or with one [`Fault`]: down, 500, a hang, a body cut off with or
//! without `Content-Length`, garbage, a 50 MB body, a redirect loop, 401; and for the JSON APIs of
//! Google and Microsoft also 429 with `Retry-After`, 403, JSON of the wrong shape, 410 Gone, and
//! a failure of every page after the first. It counts the requests it receives, so a test can
//! assert that a failing source backs off.
//!
//! Every connection serves one request and closes (`Connection: close`), which keeps the raw
//! protocol handling to what a test needs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the server misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Nothing listens: connections are refused.
    Down,
    Status500,
    /// The request is read and never answered.
    Hang,
    /// Half the good body, then the connection closes, with the whole body's `Content-Length`.
    CutWithLength,
    /// Half the good body, then the connection closes, without `Content-Length`.
    CutWithoutLength,
    /// `200 OK` with bytes that mean nothing.
    Garbage,
    /// `200 OK` with a 50 MB body.
    Huge,
    /// `302` to the same URL, forever.
    RedirectLoop,
    /// `401 Unauthorized` until the fault is lifted.
    Unauthorized,
    /// `429 Too Many Requests` with `Retry-After: 3`.
    TooManyRequests,
    /// `403 Forbidden` until the fault is lifted.
    Forbidden,
    /// `200 OK` with JSON that is not what the API sends (`items` and `value` are numbers).
    MalformedJson,
    /// `410 Gone` with the bodies by which Google says `fullSyncRequired` and Graph
    /// `syncStateNotFound`: every sync token or delta link is refused, and so is a resync.
    Gone,
    /// Every request for a later page of a listing (Google's `pageToken`, Graph's `$skiptoken`)
    /// gets 500; first pages are answered well.
    LaterPages,
}

impl Fault {
    pub const ALL: [Fault; 9] = [
        Fault::Down,
        Fault::Status500,
        Fault::Hang,
        Fault::CutWithLength,
        Fault::CutWithoutLength,
        Fault::Garbage,
        Fault::Huge,
        Fault::RedirectLoop,
        Fault::Unauthorized,
    ];

    pub fn describe(self) -> &'static str {
        match self {
            Fault::Down => "server down",
            Fault::Status500 => "500",
            Fault::Hang => "response hangs",
            Fault::CutWithLength => "body cut off, with Content-Length",
            Fault::CutWithoutLength => "body cut off, without Content-Length",
            Fault::Garbage => "garbage",
            Fault::Huge => "50 MB body",
            Fault::RedirectLoop => "redirect loop",
            Fault::Unauthorized => "401 then fixed",
            Fault::TooManyRequests => "429 with Retry-After",
            Fault::Forbidden => "403 then fixed",
            Fault::MalformedJson => "malformed JSON",
            Fault::Gone => "410 Gone, resync refused too",
            Fault::LaterPages => "later pages fail",
        }
    }
}

/// Where good answers come from.
#[derive(Debug, Clone)]
pub enum Good {
    /// This body, as `200 OK` with this content type.
    Body { body: Vec<u8>, content_type: String },
    /// The request passed on to this address (`127.0.0.1:port`), its answer passed back (for
    /// CalDAV rows in front of Radicale).
    Upstream(String),
}

struct State {
    good: Good,
    fault: Option<Fault>,
}

pub struct FaultyServer {
    port: u16,
    state: Arc<Mutex<State>>,
    requests: Arc<AtomicUsize>,
    listener_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl FaultyServer {
    pub async fn start(good: Good) -> FaultyServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = FaultyServer {
            port,
            state: Arc::new(Mutex::new(State { good, fault: None })),
            requests: Arc::default(),
            listener_task: Mutex::new(None),
        };
        server.listen(listener);
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Starts misbehaving (`Some`) or behaves again (`None`).
    pub async fn set_fault(&self, fault: Option<Fault>) {
        let was = std::mem::replace(&mut self.state.lock().unwrap().fault, fault);
        if fault == Some(Fault::Down) {
            if let Some(t) = self.listener_task.lock().unwrap().take() {
                t.abort();
            }
        } else if was == Some(Fault::Down) {
            // The port was ours a moment ago; nothing else on loopback takes it that fast.
            let listener = loop {
                match TcpListener::bind(("127.0.0.1", self.port)).await {
                    Ok(l) => break l,
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            };
            self.listen(listener);
        }
    }

    fn listen(&self, listener: TcpListener) {
        let state = Arc::clone(&self.state);
        let requests = Arc::clone(&self.requests);
        let task = tokio::spawn(async move {
            loop {
                let Ok((conn, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&state);
                let requests = Arc::clone(&requests);
                tokio::spawn(async move {
                    let _ = serve(conn, &state, &requests).await;
                });
            }
        });
        *self.listener_task.lock().unwrap() = Some(task);
    }
}

impl Drop for FaultyServer {
    fn drop(&mut self) {
        if let Some(t) = self.listener_task.lock().unwrap().take() {
            t.abort();
        }
    }
}

/// Reads one request: the head (up to the blank line) and a body of its `Content-Length`.
async fn read_request(conn: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok((head, body))
}

fn response(
    status: &str,
    headers: &[(&str, String)],
    body: &[u8],
    length: Option<usize>,
) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(n) = length {
        out.push_str(&format!("Content-Length: {n}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// The good answer to a request: the fixed body, or the upstream's answer.
async fn good_answer(good: &Good, head: &str, body: &[u8]) -> std::io::Result<Vec<u8>> {
    match good {
        Good::Body { body, content_type } => Ok(response(
            "200 OK",
            &[("Content-Type", content_type.clone())],
            body,
            Some(body.len()),
        )),
        Good::Upstream(addr) => {
            let mut up = TcpStream::connect(addr).await?;
            // One request per upstream connection too, so its answer ends where the stream does.
            let head: String = head
                .split("\r\n")
                .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
                .map(|l| format!("{l}\r\n"))
                .collect::<String>();
            let head = head.trim_end_matches("\r\n").to_string() + "\r\nConnection: close\r\n\r\n";
            up.write_all(head.as_bytes()).await?;
            up.write_all(body).await?;
            let mut out = Vec::new();
            up.read_to_end(&mut out).await?;
            Ok(out)
        }
    }
}

/// The body part of a full response (after the blank line).
fn body_of(response: &[u8]) -> &[u8] {
    response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(&[][..], |i| &response[i + 4..])
}

async fn serve(
    mut conn: TcpStream,
    state: &Mutex<State>,
    requests: &AtomicUsize,
) -> std::io::Result<()> {
    let (head, body) = read_request(&mut conn).await?;
    requests.fetch_add(1, Ordering::SeqCst);
    let (good, fault) = {
        let s = state.lock().unwrap();
        (s.good.clone(), s.fault)
    };
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let later_page = path.contains("pageToken=") || path.contains("skiptoken=");
    let out = match fault {
        None | Some(Fault::Down) => good_answer(&good, &head, &body).await?,
        Some(Fault::LaterPages) if !later_page => good_answer(&good, &head, &body).await?,
        Some(Fault::Status500 | Fault::LaterPages) => {
            response("500 Internal Server Error", &[], b"oops", Some(4))
        }
        Some(Fault::Hang) => {
            // Held open until the client gives up (or the test ends).
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return Ok(());
        }
        Some(f @ (Fault::CutWithLength | Fault::CutWithoutLength)) => {
            let full = good_answer(&good, &head, &body).await?;
            let whole = body_of(&full).to_vec();
            let half = &whole[..whole.len() / 2];
            let length = (f == Fault::CutWithLength).then_some(whole.len());
            response(
                "200 OK",
                &[("Content-Type", content_type_of(&full))],
                half,
                length,
            )
        }
        Some(Fault::Garbage) => {
            let junk: Vec<u8> = (0..4096u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect();
            response(
                "200 OK",
                &[("Content-Type", "text/calendar".into())],
                &junk,
                Some(junk.len()),
            )
        }
        Some(Fault::Huge) => {
            let n = 50 * 1024 * 1024;
            let head = response(
                "200 OK",
                &[("Content-Type", "text/calendar".into())],
                b"",
                Some(n),
            );
            conn.write_all(&head).await?;
            let block = vec![b'x'; 64 * 1024];
            let mut sent = 0;
            while sent < n {
                conn.write_all(&block).await?;
                sent += block.len();
            }
            return conn.shutdown().await;
        }
        Some(Fault::RedirectLoop) => response("302 Found", &[("Location", path)], b"", Some(0)),
        Some(Fault::Unauthorized) => response(
            "401 Unauthorized",
            &[("WWW-Authenticate", "Basic realm=\"test\"".into())],
            b"",
            Some(0),
        ),
        Some(Fault::TooManyRequests) => json(
            "429 Too Many Requests",
            &[("Retry-After", "3".into())],
            r#"{"error": {"code": 429, "message": "Rate Limit Exceeded",
                "errors": [{"domain": "usageLimits", "reason": "rateLimitExceeded"}]}}"#,
        ),
        Some(Fault::Forbidden) => json(
            "403 Forbidden",
            &[],
            r#"{"error": {"code": 403, "message": "The caller does not have permission",
                "errors": [{"domain": "global", "reason": "forbidden"}]}}"#,
        ),
        Some(Fault::MalformedJson) => json("200 OK", &[], r#"{"items": 7, "value": 7}"#),
        Some(Fault::Gone) => json(
            "410 Gone",
            &[],
            r#"{"error": {"code": "syncStateNotFound",
                "message": "Sync token is no longer valid, a full sync is required.",
                "errors": [{"domain": "calendar", "reason": "fullSyncRequired"}]}}"#,
        ),
    };
    conn.write_all(&out).await?;
    conn.shutdown().await
}

/// A JSON answer with this status line.
fn json(status: &str, headers: &[(&str, String)], body: &str) -> Vec<u8> {
    let mut headers = headers.to_vec();
    headers.push(("Content-Type", "application/json; charset=UTF-8".into()));
    response(status, &headers, body.as_bytes(), Some(body.len()))
}

fn content_type_of(full: &[u8]) -> String {
    let head = String::from_utf8_lossy(&full[..full.len().min(4096)]).into_owned();
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_else(|| "application/octet-stream".into())
}
