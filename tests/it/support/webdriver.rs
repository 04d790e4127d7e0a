//! A headless Chromium driven over W3C WebDriver, for the answer page's browser tests: just the
//! commands they use (new session, navigate, find, click, type, text, attribute, size,
//! screenshot, delete session), over the reqwest already in the tree, so the tests need no second
//! HTTP stack. `chromedriver` runs on a free loopback port for the life of a [`Browser`].
//!
//! A missing `chromedriver` or `chromium` is a failure, never a skip (`scripts/test.sh` installs
//! Debian's `chromium` and `chromium-driver`).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// The key under which WebDriver returns an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The flags of a quiet, headless browser that talks to nothing but the page under test.
const ARGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1200,1600",
];

/// The first of `names` found on the PATH or as an absolute path.
fn find(names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| {
        if n.starts_with('/') {
            return std::path::Path::new(n).exists().then(|| n.to_string());
        }
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join(n))
                .find(|p| p.exists())
                .map(|p| p.display().to_string())
        })
    })
}

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

/// An element on the page.
#[derive(Clone, Debug)]
pub struct Element(String);

impl Browser {
    /// Starts `chromedriver` and a headless Chromium session.
    pub async fn start() -> Browser {
        let driver_bin = find(&["chromedriver", "/usr/lib/chromium/chromedriver"]).expect(
            "chromedriver is missing: run scripts/test.sh, or apt-get install chromium chromium-driver",
        );
        let chromium = find(&["chromium", "chromium-browser", "google-chrome"])
            .expect("chromium is missing: run scripts/test.sh, or apt-get install chromium");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let mut b = Browser {
            driver,
            base,
            session: String::new(),
            http,
        };
        super::daemon::wait_until("chromedriver is ready", Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        })
        .await;
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": ARGS},
        }}});
        let v = b.call(reqwest::Method::POST, "/session", Some(caps)).await;
        b.session = v["sessionId"].as_str().expect("a session id").to_owned();
        b
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("chromedriver answers");
        let status = r.status();
        let v: Value = r.json().await.expect("a WebDriver JSON answer");
        if !status.is_success() {
            let source = self.source().await;
            panic!("WebDriver {path}: {status} {v}\nthe page:\n{source}");
        }
        v["value"].clone()
    }

    fn at(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    /// The page's HTML as the browser has it (for failure messages).
    pub async fn source(&self) -> String {
        let r = self
            .http
            .get(format!("{}{}", self.base, self.at("/source")))
            .send()
            .await;
        match r {
            Ok(r) => r
                .json::<Value>()
                .await
                .map(|v| v["value"].to_string())
                .unwrap_or_default(),
            Err(e) => e.to_string(),
        }
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub async fn url(&self) -> String {
        self.get_text("/url").await
    }

    pub async fn find(&self, css: &str) -> Element {
        let v = self.post("/element", by_css(css)).await;
        match v[ELEMENT].as_str() {
            Some(e) => Element(e.to_owned()),
            None => panic!("no element `{css}`: {v}"),
        }
    }

    /// The first element matching `css` once one is there (up to 10 s): after a click that
    /// submits a form, the click returns before the answer's page has loaded.
    pub async fn wait_for(&self, css: &str) -> Element {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(e) = self.find_all(css).await.into_iter().next() {
                return e;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no element `{css}` within 10 s; the page:\n{}",
                self.source().await
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let v = self.post("/elements", by_css(css)).await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT].as_str().map(|s| Element(s.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn click(&self, e: &Element) {
        self.post(&e.at("click"), json!({})).await;
    }

    pub async fn type_into(&self, e: &Element, text: &str) {
        self.post(&e.at("value"), json!({ "text": text })).await;
    }

    pub async fn text(&self, e: &Element) -> String {
        self.get_text(&e.at("text")).await
    }

    /// The element's width and height as drawn.
    pub async fn size(&self, e: &Element) -> (f64, f64) {
        let v = self.get(&e.at("rect")).await;
        (
            v["width"].as_f64().unwrap_or_default(),
            v["height"].as_f64().unwrap_or_default(),
        )
    }

    /// A PNG of the window, as base64.
    pub async fn screenshot_base64(&self) -> String {
        self.get_text("/screenshot").await
    }

    /// POSTs `body` to the session's `rest`.
    async fn post(&self, rest: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, &self.at(rest), Some(body))
            .await
    }

    /// GETs the session's `rest`.
    async fn get(&self, rest: &str) -> Value {
        self.call(reqwest::Method::GET, &self.at(rest), None).await
    }

    /// GETs the session's `rest`, a string (empty when it is none).
    async fn get_text(&self, rest: &str) -> String {
        let v = self.get(rest).await;
        v.as_str().unwrap_or_default().to_owned()
    }
}

/// A locator for the elements matching `css`.
fn by_css(css: &str) -> Value {
    json!({"using": "css selector", "value": css})
}

impl Element {
    /// The session path of this element's `command`.
    fn at(&self, command: &str) -> String {
        format!("/element/{}/{command}", self.0)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the driver ends the browser it started; the session dies with it.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
