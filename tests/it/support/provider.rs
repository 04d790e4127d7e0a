//! What the tests of Google (`support::google`) and Microsoft (`support::microsoft`) share, so
//! that each provider's tests say only what differs:
//! - the sign-in's output in this process ([`output`]: written whole, read line by line) and
//!   `nextstep auth …` as a child process ([`AuthCommand`]);
//! - a signed-in home without the sign-in ([`signed_in`]: a refresh token the fake granted, kept
//!   where `nextstep auth` would), for tests about polling rather than signing in;
//! - the daemon's story with a provider ([`prompts_and_follows_a_move`]) and with a refused
//!   sign-in ([`a_refused_sign_in_is_told_once`]), against a fake seen through [`ProviderFake`];
//! - the fakes' common frame ([`Fake`] over a [`ProviderState`]): the lock, tokens, request log
//!   ([`Logged`]) and page limit, alike for both;
//! - times: a fixed window for the sources in this process, whole seconds for the daemon's.

use std::io::Write;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use nextstep::auth::Provider;
use nextstep::auth::TokenStoreChoice;
use nextstep::auth::store::TokenStore;
use nextstep::model::{MeetingId, Outcome, Via};
use nextstep::secret::Secret;
use nextstep::source::{CalendarSource, Fetched, SourceContext, SourceError, Window};
use serde_json::Value;
use tokio::io::AsyncBufReadExt;
use wiremock::{MockServer, Request};

use super::daemon::{Daemon, Home, expect_notification, wait_until};
use super::dbus::PrivateBus;
use super::notifications::FakeNotificationServer;
use super::oauth::Tokens;

/// The HTTP client of a source or sign-in in this process.
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// The window the sources in this process poll: the first two weeks of December 2026.
pub fn window() -> Window {
    Window {
        start: t("2026-12-01T00:00:00Z"),
        end: t("2026-12-15T00:00:00Z"),
    }
}

/// Now, in whole seconds: event times go to the fakes without fractions, so the test's idea of a
/// meeting's start and end is exactly the daemon's.
pub fn whole_second_now() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap()
}

pub fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

/// Where a sign-in in this process writes: everything is kept ([`Output::all`]) and handed to
/// the test playing the person as it comes ([`Lines`]).
pub struct Output {
    tx: tokio::sync::mpsc::UnboundedSender<String>,
    all: Arc<Mutex<String>>,
}

impl Output {
    /// Everything written so far, shared (the sign-in holds the writer while it runs).
    pub fn all(&self) -> Arc<Mutex<String>> {
        self.all.clone()
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let s = String::from_utf8_lossy(buf).into_owned();
        self.all.lock().unwrap().push_str(&s);
        let _ = self.tx.send(s);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the sign-in printed, as the person reads it.
pub struct Lines {
    rx: tokio::sync::mpsc::UnboundedReceiver<String>,
    text: String,
}

impl Lines {
    /// Waits (up to 10 s a write) for a complete printed line that satisfies `pick`, among all
    /// printed so far, and returns it.
    pub async fn line(&mut self, pick: impl Fn(&str) -> bool) -> String {
        loop {
            // A line may arrive in several writes: only lines that ended count.
            let complete = &self.text[..self.text.rfind('\n').map_or(0, |i| i + 1)];
            if let Some(l) = complete.lines().find(|l| pick(l)) {
                return l.to_string();
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.rx.recv())
                .await
                .expect("the sign-in printed in time")
                .expect("output still open");
            self.text.push_str(&chunk);
        }
    }
}

/// A writer for a sign-in in this process, and what it printed.
pub fn output() -> (Output, Lines) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let out = Output {
        tx,
        all: Arc::default(),
    };
    (
        out,
        Lines {
            rx,
            text: String::new(),
        },
    )
}

/// The context of source `name` with its state under `dir/state` (made here) and `http`.
pub fn source_context(dir: &std::path::Path, name: &str, http: reqwest::Client) -> SourceContext {
    let state_dir = dir.join("state");
    std::fs::create_dir_all(&state_dir).unwrap();
    SourceContext {
        name: name.into(),
        state_dir,
        http: Some(http),
    }
}

/// One poll of `src` (which must succeed), and the calendar API requests it made to `fake`.
pub async fn poll_counting<S: ProviderState>(
    fake: &Fake<S>,
    src: &mut impl CalendarSource,
) -> (Fetched, Vec<Logged>) {
    let before = fake.calendar_api_requests().len();
    let fetched = src.poll(window()).await.unwrap();
    (fetched, fake.calendar_api_requests()[before..].to_vec())
}

/// `err` is refused credentials (not worth a quick retry) whose message names `fix`, the auth
/// command; returns the message.
pub fn refused_naming(err: &SourceError, fix: &str) -> String {
    assert!(matches!(err, SourceError::Unauthorized { .. }), "{err:?}");
    assert!(!err.is_transient());
    let msg = err.to_string();
    assert!(msg.contains(fix), "{msg}");
    msg
}

/// One poll of `src` fails as refused credentials naming `fix` (see [`refused_naming`]); returns
/// the message.
pub async fn poll_refused(src: &mut impl CalendarSource, fix: &str) -> String {
    let err = src.poll(window()).await.unwrap_err();
    refused_naming(&err, fix)
}

/// `src` never signed in to `fake`: its poll is refused naming `fix`, without a request to the
/// calendar API.
pub async fn refused_without_sign_in<S: ProviderState>(
    fake: &Fake<S>,
    mut src: impl CalendarSource,
    fix: &str,
) {
    poll_refused(&mut src, fix).await;
    assert!(fake.calendar_api_requests().is_empty());
}

/// `err` is a rate limit, worth a retry, after the server's `Retry-After` of `secs` (`None`: it
/// gave none).
pub fn rate_limited(err: &SourceError, secs: Option<u64>) {
    assert!(
        matches!(err, SourceError::RateLimited { retry_after, .. }
            if *retry_after == secs.map(Duration::from_secs)),
        "{err:?}"
    );
    assert!(err.is_transient());
}

/// GETs `url` with `query` and the access token the fake handed out (its secret that starts
/// with `token_prefix`), as the signed-in source would; returns the status and the JSON body.
pub async fn get_signed_in(
    fake: &dyn ProviderFake,
    token_prefix: &str,
    url: &str,
    query: &[(&str, &str)],
) -> (u16, Value) {
    let token = fake
        .secrets()
        .into_iter()
        .find(|x| x.starts_with(token_prefix))
        .expect("an access token");
    let resp = http()
        .get(url)
        .query(query)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// `nextstep auth …` as a child process, its stdout read line by line as a person would, its
/// stderr collected.
pub struct AuthCommand {
    child: tokio::process::Child,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    stderr: tokio::task::JoinHandle<String>,
    /// Everything printed so far.
    pub stdout: String,
}

/// What `nextstep auth …` did.
pub struct Ended {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Ended {
    /// Fails, showing the exit status and all the command printed, unless it succeeded (the
    /// check of [`super::output::assert_success`]).
    #[track_caller]
    pub fn assert_succeeded(&self) {
        super::output::assert_success(&std::process::Output {
            status: self.status,
            stdout: self.stdout.clone().into_bytes(),
            stderr: self.stderr.clone().into_bytes(),
        });
    }
}

impl AuthCommand {
    /// Starts `cmd` (no session bus: it must not need one).
    pub fn spawn(cmd: std::process::Command) -> AuthCommand {
        let mut child = tokio::process::Command::from(cmd)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut stderr_pipe = child.stderr.take().unwrap();
        let stderr = tokio::spawn(async move {
            let mut s = String::new();
            tokio::io::AsyncReadExt::read_to_string(&mut stderr_pipe, &mut s)
                .await
                .unwrap();
            s
        });
        let lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        AuthCommand {
            child,
            lines,
            stderr,
            stdout: String::new(),
        }
    }

    /// Reads printed lines (for at most 20 s) until one satisfies `pick`, and returns it; fails
    /// naming `what` when the command ends first.
    pub async fn until(&mut self, what: &str, pick: impl Fn(&str) -> bool) -> String {
        let read = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(line) = self.lines.next_line().await.unwrap() {
                self.stdout.push_str(&line);
                self.stdout.push('\n');
                if pick(&line) {
                    return Some(line);
                }
            }
            None
        })
        .await;
        match read {
            Ok(Some(line)) => line,
            Ok(None) => panic!("the command ended without {what}; stdout:\n{}", self.stdout),
            Err(_) => panic!("no {what} within 20 s; stdout:\n{}", self.stdout),
        }
    }

    /// Reads the rest and waits (at most `within`) for the command to end.
    pub async fn finish(mut self, within: Duration) -> Ended {
        let status = tokio::time::timeout(within, async {
            while let Some(line) = self.lines.next_line().await.unwrap() {
                self.stdout.push_str(&line);
                self.stdout.push('\n');
            }
            self.child.wait().await.unwrap()
        })
        .await
        .unwrap_or_else(|_| panic!("the command did not end within {within:?}"));
        Ended {
            status,
            stdout: self.stdout,
            stderr: self.stderr.await.unwrap(),
        }
    }
}

/// Runs `cmd` (`nextstep auth … ` with a browser sign-in that prints its address) and plays the
/// browser: waits for the address (the printed line that contains `address`) and "Waiting…",
/// visits it, follows the sign-in server's 302 to the loopback redirect (which starts with
/// `loopback`: Google's `http://127.0.0.1:`, Microsoft's `http://localhost:`) and checks the page
/// says signed in. Returns what the command did, once it ended (within 20 s) with success.
pub async fn browser_sign_in(cmd: std::process::Command, address: &str, loopback: &str) -> Ended {
    let mut cmd = AuthCommand::spawn(cmd);
    // The address comes first, then "Waiting…": only then is the loopback listener accepting.
    cmd.until("an address and \"Waiting\"", |l| l.starts_with("Waiting"))
        .await;
    let url = cmd
        .stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("http") && l.contains(address))
        .unwrap_or_else(|| panic!("no sign-in address; stdout:\n{}", cmd.stdout))
        .to_string();

    let _ = rustls::crypto::ring::default_provider().install_default();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let resp = browser.get(&url).send().await.unwrap();
    assert_eq!(
        resp.status(),
        302,
        "the fake authorisation endpoint accepted the printed address: {url}"
    );
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with(loopback),
        "the sign-in server redirects to the loopback: {location}"
    );
    let page = browser.get(&location).send().await.unwrap();
    assert!(page.status().is_success(), "{}", page.status());
    assert!(page.text().await.unwrap().contains("signed in"));

    // The command exits once the browser came back.
    let ended = cmd.finish(Duration::from_secs(20)).await;
    ended.assert_succeeded();
    ended
}

/// Keeps `refresh` as the refresh token of source `source_name` of `provider` in `home`'s token
/// file (never a keyring), as a finished `nextstep auth` would; the first poll refreshes the access
/// token with it.
pub async fn signed_in(home: &Home, provider: &'static Provider, source_name: &str, refresh: &str) {
    let store = TokenStore::new(
        provider,
        &home.data_dir(),
        source_name,
        TokenStoreChoice::File,
    );
    store
        .save(&Secret::new(refresh), None)
        .await
        .expect("the token file is written");
}

/// A fake provider as the daemon's stories need it: its default calendar, the requests its
/// calendar API answered, and the secrets it handed out.
pub trait ProviderFake {
    /// Adds or replaces an event of the default calendar, as an edit in the provider's app would.
    fn put(&self, event: Value);
    /// `event` moved to `start`..`end`, in the provider's format.
    fn moved(&self, event: &Value, start: DateTime<Utc>, end: DateTime<Utc>) -> Value;
    /// How many calendar requests the fake answered so far.
    fn calendar_requests(&self) -> usize;
    /// Whether a calendar request from the `from`th on asked only for changes (a sync token, a
    /// delta link) and was answered 200.
    fn incremental_since(&self, from: usize) -> bool;
    /// Every secret the fake handed out or received.
    fn secrets(&self) -> Vec<String>;
    /// Pages hold at most `n` events from now on, whatever the client asks for.
    fn limit_pages(&self, n: usize);
    /// Where the fake listens (`127.0.0.1:port`).
    fn address(&self) -> String;
}

/// A fake provider on wiremock: its server, and its state behind a lock. `FakeGoogle` and
/// `FakeMicrosoft` are this with their own state; what they do alike is written once here.
pub struct Fake<S> {
    pub server: MockServer,
    pub state: Arc<Mutex<S>>,
}

/// What a provider fake's state says about itself, so that [`Fake`] can serve as a
/// [`ProviderFake`]: the parts every fake keeps (tokens, request log, page limit) and the few
/// that follow the provider's API.
pub trait ProviderState: Sized {
    /// How the provider's refresh tokens begin, and how many random characters follow.
    const REFRESH_PREFIX: &'static str;
    const REFRESH_LEN: usize;
    fn tokens(&mut self) -> &mut Tokens;
    fn log(&self) -> &[Logged];
    fn max_page_size(&mut self) -> &mut Option<usize>;
    /// Adds or replaces an event of the default calendar.
    fn put(fake: &Fake<Self>, event: Value);
    /// `event` moved to `start`..`end`, in the provider's format.
    fn moved(event: &Value, start: DateTime<Utc>, end: DateTime<Utc>) -> Value;
    /// Whether `r` was a request of the calendar API (not of sign-in).
    fn is_calendar_request(r: &Logged) -> bool;
    /// Whether `r` asked only for changes (a sync token, a delta link).
    fn is_incremental(r: &Logged) -> bool;
}

/// The [`ProviderState`] methods that read the same fields of every fake's state (`tokens`,
/// `log`, `max_page_size`) and put into the calendar `"primary"` with its `put_event`; used inside
/// each `impl ProviderState`.
macro_rules! provider_state_fields {
    () => {
        fn tokens(&mut self) -> &mut crate::support::oauth::Tokens {
            &mut self.tokens
        }

        fn log(&self) -> &[crate::support::provider::Logged] {
            &self.log
        }

        fn max_page_size(&mut self) -> &mut Option<usize> {
            &mut self.max_page_size
        }

        fn put(fake: &crate::support::provider::Fake<Self>, event: serde_json::Value) {
            fake.put_event("primary", event);
        }
    };
}
pub(crate) use provider_state_fields;

impl<S: ProviderState> Fake<S> {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, S> {
        self.state.lock().unwrap()
    }

    /// Every access token issued so far expires.
    pub fn expire_access_tokens(&self) {
        self.lock().tokens().expire_access();
    }

    /// A refresh token, as if someone had signed in: for tests about polling, which need a
    /// signed-in source but not the sign-in.
    pub fn grant_refresh_token(&self) -> String {
        self.lock()
            .tokens()
            .issue_refresh(S::REFRESH_PREFIX, S::REFRESH_LEN)
    }

    /// Every request the fake logged, in order.
    pub fn requests(&self) -> Vec<Logged> {
        self.lock().log().to_vec()
    }

    /// The requests of the calendar API so far.
    pub fn calendar_api_requests(&self) -> Vec<Logged> {
        self.requests()
            .into_iter()
            .filter(S::is_calendar_request)
            .collect()
    }
}

impl<S: ProviderState> ProviderFake for Fake<S> {
    fn put(&self, event: Value) {
        S::put(self, event);
    }

    fn moved(&self, event: &Value, start: DateTime<Utc>, end: DateTime<Utc>) -> Value {
        S::moved(event, start, end)
    }

    fn calendar_requests(&self) -> usize {
        self.calendar_api_requests().len()
    }

    fn incremental_since(&self, from: usize) -> bool {
        self.calendar_api_requests()[from..]
            .iter()
            .any(|r| r.status == 200 && S::is_incremental(r))
    }

    fn secrets(&self) -> Vec<String> {
        self.lock().tokens().secrets.clone()
    }

    fn limit_pages(&self, n: usize) {
        *self.lock().max_page_size() = Some(n);
    }

    fn address(&self) -> String {
        self.server.address().to_string()
    }
}

/// The `Prefer` headers of `req`, joined as one.
pub fn prefer_of(req: &Request) -> Option<String> {
    let prefer = req
        .headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ");
    (!prefer.is_empty()).then_some(prefer)
}

/// One request a fake answered: its path and query, its `Prefer` header, and the status and
/// body size of the answer (so tests can count requests and bytes per poll).
#[derive(Debug, Clone)]
pub struct Logged {
    pub path: String,
    pub query: Vec<(String, String)>,
    pub prefer: Option<String>,
    pub status: u16,
    pub bytes: usize,
}

impl Logged {
    /// `req` (whose query is `query`), answered with `status` and `bytes` of body.
    pub fn of(req: &Request, query: Vec<(String, String)>, status: u16, bytes: usize) -> Self {
        Logged {
            path: req.url.path().to_string(),
            query,
            prefer: prefer_of(req),
            status,
            bytes,
        }
    }

    pub fn param(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }
}

/// A customer meeting through the daemon: `customer` (meeting `id`, titled `title`, ending at
/// `now` + 11 s) is already in `fake` with meetings that must stay silent (`silent` titles). The
/// objective prompt is clicked and lands in the ledger; the meeting then moves ten seconds later,
/// the next poll asks only for changes, the outcome prompt comes after the moved end and is
/// clicked; two prompts in all. Returns the daemon's log, which holds no secret of the fake.
#[allow(clippy::too_many_arguments)]
pub async fn prompts_and_follows_a_move(
    fake: &dyn ProviderFake,
    home: &Home,
    bus: &PrivateBus,
    server: &FakeNotificationServer,
    (id, title, customer): (&MeetingId, &str, Value),
    now: DateTime<Utc>,
    silent: &[&str],
) -> String {
    let daemon = home.start(bus);
    let n = expect_notification(server, &daemon, Duration::from_secs(15)).await;
    assert!(n.summary.contains(title), "{n:?}");
    let objective = n
        .label_of("objective:0")
        .unwrap_or_else(|| panic!("an objective button: {n:?}"))
        .to_string();
    server.click(n.id, "objective:0").await;
    wait_until(
        "the objective in the ledger",
        Duration::from_secs(10),
        || {
            home.ledger()
                .find(id)
                .unwrap()
                .and_then(|r| r.objective)
                .is_some_and(|o| o.via == Via::Notification && o.text == objective)
        },
    )
    .await;

    // The meeting moves ten seconds later; the next poll must ask only for what changed.
    let seen_before_edit = fake.calendar_requests();
    let (new_start, new_end) = (now + secs(16), now + secs(21));
    fake.put(fake.moved(&customer, new_start, new_end));
    wait_until(
        "an incremental poll after the edit",
        Duration::from_secs(10),
        || fake.incremental_since(seen_before_edit),
    )
    .await;

    let n = expect_notification(server, &daemon, Duration::from_secs(25)).await;
    let outcome_shown_at = Utc::now();
    assert!(n.summary.contains(title), "{n:?}");
    assert!(n.action_keys().contains(&"outcome:committed"), "{n:?}");
    assert!(
        outcome_shown_at >= new_end,
        "the outcome was asked at {outcome_shown_at}, before the moved meeting ended at {new_end}"
    );
    server.click(n.id, "outcome:committed").await;
    wait_until("the outcome in the ledger", Duration::from_secs(10), || {
        home.ledger()
            .find(id)
            .unwrap()
            .and_then(|r| r.outcome)
            .is_some_and(|o| o.result == Outcome::Committed)
    })
    .await;

    let shown = server.recorded();
    assert!(
        shown
            .iter()
            .all(|r| silent.iter().all(|s| !r.summary.contains(s))),
        "the meetings that are not for prompting stay silent: {shown:?}"
    );
    assert_eq!(shown.len(), 2, "{shown:?}");
    let log = daemon.stop();
    for s in fake.secrets() {
        assert!(!log.contains(s.as_str()), "a secret reached the daemon log");
    }
    log
}

/// The daemon of `home`, whose sign-in the fake now refuses, tells the user once, with a
/// notification naming `fix` (the auth command), and nothing more for 3 s. Returns the daemon for
/// the provider's own checks; then [`check_fails_naming`].
pub async fn a_refused_sign_in_is_told_once(
    home: &Home,
    bus: &PrivateBus,
    server: &FakeNotificationServer,
    fix: &str,
) -> Daemon {
    let daemon = home.start(bus);
    let n = expect_notification(server, &daemon, Duration::from_secs(15)).await;
    assert!(
        n.body.contains(fix),
        "the notification names the fix: {n:?}"
    );
    assert!(
        server
            .next_notification(Duration::from_secs(3))
            .await
            .is_none(),
        "only one notification: {:?}",
        server.recorded()
    );
    daemon
}

/// `nextstep check` exits 1 with a FAIL line for source `source` naming `fix`.
pub fn check_fails_naming(home: &Home, source: &str, fix: &str) {
    let out = home.command(&["check"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout:\n{text}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("FAIL") && l.contains(source) && l.contains(fix)),
        "{text}"
    );
}
