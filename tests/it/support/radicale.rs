//! A real Radicale CalDAV server for tests: a private storage folder, plain htpasswd users,
//! `owner_only` rights, a free loopback port. Radicale refuses port 0, so the harness asks the
//! kernel for a free port, hands it over, waits for Radicale's "Listening on" log line (no
//! sleeps) and starts again on another port if Radicale exits first (someone took the port in
//! between). Killed on drop.
//!
//! Radicale is found through `NEXTSTEP_RADICALE_PYTHON` or `<crate>/.venv/bin/python`; when it is
//! missing the test fails with the command that installs it (never skips).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct Radicale {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub port: u16,
    _dir: tempfile::TempDir,
    http: reqwest::Client,
}

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("NEXTSTEP_RADICALE_PYTHON") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python")
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(300))
        .build()
        .expect("reqwest client")
}

impl Radicale {
    /// Starts Radicale with the given `(user, password)` pairs.
    pub fn start(users: &[(&str, &str)]) -> Radicale {
        let py = python();
        let probe = Command::new(&py)
            .args(["-c", "import radicale"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !matches!(probe, Ok(s) if s.success()) {
            panic!(
                "Radicale is needed for the CalDAV tests and was not found with {}.\n\
                 Install it: python3 -m venv .venv && .venv/bin/pip install radicale\n\
                 (or set NEXTSTEP_RADICALE_PYTHON to a python that can `import radicale`)",
                py.display()
            );
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let htpasswd = dir.path().join("users");
        let lines: String = users.iter().map(|(u, p)| format!("{u}:{p}\n")).collect();
        std::fs::write(&htpasswd, lines).expect("write htpasswd");
        for _attempt in 0..5 {
            if let Some((child, port)) = Self::spawn(&py, dir.path(), &htpasswd) {
                return Radicale {
                    child,
                    base: format!("http://127.0.0.1:{port}"),
                    port,
                    _dir: dir,
                    http: client(),
                };
            }
        }
        panic!("Radicale did not start on any of 5 free ports (run with NEXTSTEP_RADICALE_LOG=1)");
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port()
    }

    /// One attempt: `None` when Radicale exited before listening.
    fn spawn(
        py: &std::path::Path,
        dir: &std::path::Path,
        htpasswd: &std::path::Path,
    ) -> Option<(Child, u16)> {
        let port = Self::free_port();
        let config = dir.join("config");
        std::fs::write(
            &config,
            format!(
                "[server]\nhosts = 127.0.0.1:{port}\n\
                 [auth]\ntype = htpasswd\nhtpasswd_filename = {}\nhtpasswd_encryption = plain\n\
                 delay = 0\n\
                 [rights]\ntype = owner_only\n\
                 [storage]\nfilesystem_folder = {}\n\
                 [logging]\nlevel = info\nmask_passwords = True\n",
                htpasswd.display(),
                dir.join("collections").display()
            ),
        )
        .expect("write config");
        let mut child = Command::new(py)
            .args(["-m", "radicale", "--config"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", py.display()));
        // Radicale logs `Listening on '127.0.0.1:PORT'` once bound. A thread reads stderr (and
        // keeps draining it so the server never blocks on a full pipe); end of stream = exited.
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if std::env::var_os("NEXTSTEP_RADICALE_LOG").is_some() {
                    eprintln!("radicale: {line}");
                }
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains(&format!("Listening on '127.0.0.1:{port}'")) => {
                    return Some((child, port));
                }
                Ok(line) => seen.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = child.wait();
                    eprintln!("Radicale exited on port {port}:\n{}", seen.join("\n"));
                    return None;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    panic!(
                        "Radicale did not start within 30 s; its log:\n{}",
                        seen.join("\n")
                    );
                }
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Creates a calendar `/<user>/<name>/` with a display name and component set; returns its
    /// path.
    pub async fn mkcalendar(
        &self,
        (user, pass): (&str, &str),
        name: &str,
        display: &str,
        comps: &[&str],
    ) -> String {
        let path = format!("/{user}/{name}/");
        let comps: String = comps
            .iter()
            .map(|c| format!("<C:comp name=\"{c}\"/>"))
            .collect();
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
             <C:mkcalendar xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:set><D:prop>\
             <D:displayname>{}</D:displayname>\
             <C:supported-calendar-component-set>{comps}</C:supported-calendar-component-set>\
             </D:prop></D:set></C:mkcalendar>",
            nextstep::source::webdav::escape(display)
        );
        let r = self
            .http
            .request(
                reqwest::Method::from_bytes(b"MKCALENDAR").unwrap(),
                self.url(&path),
            )
            .basic_auth(user, Some(pass))
            .header("Content-Type", "application/xml; charset=utf-8")
            .body(body)
            .send()
            .await
            .expect("MKCALENDAR");
        assert_eq!(
            r.status().as_u16(),
            201,
            "MKCALENDAR {path}: {:?}",
            r.text().await
        );
        path
    }

    /// Stores (creates or replaces) an object; returns its ETag.
    pub async fn put(&self, (user, pass): (&str, &str), path: &str, ics: &str) -> String {
        let r = self
            .http
            .put(self.url(path))
            .basic_auth(user, Some(pass))
            .header("Content-Type", "text/calendar; charset=utf-8")
            .body(ics.to_string())
            .send()
            .await
            .expect("PUT");
        let status = r.status().as_u16();
        let etag = r
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        assert!(
            matches!(status, 201 | 204),
            "PUT {path}: {status} {:?}",
            r.text().await
        );
        etag
    }

    pub async fn delete(&self, (user, pass): (&str, &str), path: &str) {
        let r = self
            .http
            .delete(self.url(path))
            .basic_auth(user, Some(pass))
            .send()
            .await
            .expect("DELETE");
        assert!(r.status().is_success(), "DELETE {path}: {}", r.status());
    }

    /// Sends a raw WebDAV request and returns (status, body); for capturing fixtures.
    pub async fn raw(
        &self,
        (user, pass): (&str, &str),
        method: &str,
        path: &str,
        depth: &str,
        body: &str,
    ) -> (u16, String) {
        let r = self
            .http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                self.url(path),
            )
            .basic_auth(user, Some(pass))
            .header("Depth", depth)
            .header("Content-Type", "application/xml; charset=utf-8")
            .body(body.to_string())
            .send()
            .await
            .expect("request");
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    }
}

impl Drop for Radicale {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A random collection name, so tests sharing a server (or a storage) never collide.
pub fn random_name(prefix: &str) -> String {
    format!("{prefix}-{:016x}", fastrand::u64(..))
}
