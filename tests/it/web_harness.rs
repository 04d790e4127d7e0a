//! The answer page's test harness, shared by the HTTP tests (`web`), the render-time benchmark
//! (`web_bench`) and the browser tests (`web_browser`): the page on a free loopback port over a
//! seeded ledger, the meetings and answers it is seeded with, and a calendar with a weekly
//! customer meeting for the override tests.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use nextstep::clock::SystemClock;
use nextstep::config::Config;
use nextstep::ledger::{Ledger, LedgerRow};
use nextstep::model::{Answer, Meeting, MeetingId, Outcome, Verdict, Via};
use nextstep::web::WebServer;
use tokio_util::sync::CancellationToken;

use super::support::daemon::BIN;

pub fn meeting(
    id: &str,
    title: &str,
    start: DateTime<Utc>,
    account: Option<&str>,
) -> (Meeting, Verdict) {
    let uid = id.split('/').nth(1).unwrap_or("x");
    let m = Meeting {
        id: MeetingId(id.into()),
        source: "work".into(),
        title: title.into(),
        start,
        end: start + chrono::Duration::hours(1),
        tz: None,
        all_day: false,
        status: Default::default(),
        organizer: None,
        attendees: Default::default(),
        location: None,
        description: None,
        recurring: uid.starts_with("series"),
    };
    let v = Verdict {
        customer: true,
        reason: "customer domain acme.example".into(),
        account: account.map(str::to_owned),
        customer_domains: vec!["acme.example".into()],
    };
    (m, v)
}

/// The page on a free loopback port, over a temporary ledger and data folder.
pub struct Page {
    /// Holds the ledger and the data folder for as long as the page runs (`None`: a daemon's).
    _dir: Option<tempfile::TempDir>,
    pub ledger: PathBuf,
    pub port: u16,
    pub token: String,
    pub client: reqwest::Client,
    stop: CancellationToken,
}

impl Drop for Page {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Page {
    /// Seeds the ledger with `meetings`, then starts the page.
    pub async fn start(meetings: &[(Meeting, Verdict)]) -> Page {
        // In memory when the system has a tmpfs: the ledger syncs every write, and the
        // benchmark seeds thousands.
        let dir = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .unwrap();
        let ledger = dir.path().join("ledger.sqlite3");
        Ledger::open(&ledger)
            .unwrap()
            .remember(meetings, Utc::now())
            .unwrap();
        let config = Config::from_toml("test.toml", "[web]\nport = 0\n").unwrap();
        let data = dir.path().join("data");
        Page::serve(dir, config, data, ledger).await
    }

    /// Starts the page on `config` (its `[web] port` should be 0), `data` and `ledger`; `dir`
    /// lives as long as the page.
    pub async fn serve(
        dir: tempfile::TempDir,
        config: Config,
        data: PathBuf,
        ledger: PathBuf,
    ) -> Page {
        let server = WebServer::bind(config, data, ledger.clone(), Arc::new(SystemClock))
            .await
            .unwrap();
        let access = server.access().clone();
        let port = port_of(&access);
        let stop = CancellationToken::new();
        tokio::spawn(server.serve(stop.clone()));
        Page {
            _dir: Some(dir),
            ledger,
            port,
            token: access.token.expose().to_owned(),
            client: client(),
            stop,
        }
    }

    /// The page a running daemon serves, as its access file in `data` tells it (the daemon's own
    /// `ledger`); dropping it leaves the daemon's page running.
    pub fn of_daemon(data: &std::path::Path, ledger: PathBuf) -> Page {
        let access = nextstep::web::Access::load(data)
            .unwrap()
            .expect("the daemon wrote its access file");
        let port = port_of(&access);
        Page {
            _dir: None,
            ledger,
            port,
            token: access.token.expose().to_owned(),
            client: client(),
            stop: CancellationToken::new(),
        }
    }

    /// The address of `path` with the token, as `nextstep open` and notifications give it.
    pub fn open_url(&self, path: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{}{sep}token={}", self.url(path), self.token)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn cookie(&self) -> String {
        format!("nextstep_token={}", self.token)
    }
}

/// The port of the page at `access`.
fn port_of(access: &nextstep::web::Access) -> u16 {
    access
        .url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// A client that shows redirects instead of following them (the provider install is what
/// `nextstep::http` does; plain HTTP needs none, but reqwest asks for one).
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl Page {
    /// GET `path` with the cookie.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.get_with(path, &[("cookie", &self.cookie())]).await
    }

    /// GET `path` with just `headers` (no cookie unless one of them is).
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut req = self.client.get(self.url(path));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.send().await.unwrap()
    }

    /// The body of `path`, fetched with the cookie.
    pub async fn body(&self, path: &str) -> String {
        self.get(path).await.text().await.unwrap()
    }

    /// The CSRF token the forms of meeting `id`'s page carry.
    pub async fn csrf(&self, id: &str) -> String {
        let body = self.body(&meeting_path(id)).await;
        let at = body
            .find("name=\"csrf\" value=\"")
            .expect("a form with a csrf field")
            + 19;
        body[at..at + 64].to_owned()
    }

    /// POSTs `form` as the page itself would (cookie, Origin, CSRF).
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let id = form
            .iter()
            .find(|(k, _)| *k == "id")
            .expect("an id field")
            .1;
        let csrf = self.csrf(id).await;
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        fields.push(("csrf", &csrf));
        let origin = format!("http://127.0.0.1:{}", self.port);
        self.post_as_is(path, Some(&origin), &fields).await
    }

    /// POSTs `fields` as they are, with the cookie and `origin` (when given) but no CSRF token
    /// of its own: for the gate's refusals.
    pub async fn post_as_is(
        &self,
        path: &str,
        origin: Option<&str>,
        fields: &(impl serde::Serialize + ?Sized),
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url(path))
            .header("cookie", self.cookie())
            .form(fields);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send().await.unwrap()
    }

    /// Sets `text` as meeting `id`'s objective through the page's form, as a person would, and
    /// waits (up to 10 s) until the ledger holds it as answered on the page.
    pub async fn answer_objective(&self, id: &str, text: &str) {
        let r = self
            .post(
                "/meeting/objective",
                &[("id", id), ("nonce", "n1"), ("objective", text)],
            )
            .await;
        assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
        let meeting = MeetingId(id.into());
        super::support::daemon::wait_for_ledger(&self.ledger, "the page's objective", |l| {
            l.find(&meeting)
                .unwrap()
                .and_then(|r| r.objective)
                .is_some_and(|o| o.text == text && o.via == Via::Web)
        })
        .await;
    }

    pub fn open_ledger(&self) -> Ledger {
        Ledger::open(&self.ledger).unwrap()
    }

    /// Meeting `id`'s row as the ledger has it now (the ledger must know the meeting).
    pub fn row(&self, id: &str) -> LedgerRow {
        self.open_ledger()
            .find(&MeetingId(id.into()))
            .unwrap()
            .unwrap_or_else(|| panic!("the ledger knows {id}"))
    }
}

/// Two hours from now.
pub fn soon() -> DateTime<Utc> {
    Utc::now() + chrono::Duration::hours(2)
}

pub fn meeting_path(id: &str) -> String {
    format!("/meeting?id={}", id.replace('/', "%2F"))
}

/// Four past weeks of meetings for two accounts, with outcomes: the report's seed.
pub fn seeded_history() -> Vec<(Meeting, Verdict)> {
    let monday = nextstep::web::view::week_start(Utc::now(), &chrono::Local);
    (1..=4)
        .flat_map(|w| {
            let start = monday - chrono::Duration::days(7 * w) + chrono::Duration::hours(10);
            [
                meeting(
                    &format!("work/acme-w{w}/single"),
                    "Acme call",
                    start,
                    Some("Acme"),
                ),
                meeting(
                    &format!("work/beta-w{w}/single"),
                    "Beta call",
                    start + chrono::Duration::hours(2),
                    Some("Beta"),
                ),
            ]
        })
        .collect()
}

pub fn answer_history(ledger: &mut Ledger, meetings: &[(Meeting, Verdict)]) {
    for (i, (m, _)) in meetings.iter().enumerate() {
        let result = if m.title.starts_with("Beta") {
            Outcome::Continuation
        } else if i % 4 == 0 {
            Outcome::Committed
        } else {
            Outcome::Advanced
        };
        ledger
            .record(
                &format!("objective-{i}"),
                &m.id,
                &Answer::Objective {
                    text: "Agree to a pilot".into(),
                },
                Via::Cli,
                m.start - chrono::Duration::hours(1),
            )
            .unwrap();
        ledger
            .record(
                &format!("outcome-{i}"),
                &m.id,
                &Answer::Outcome {
                    result,
                    next_step: None,
                    note: None,
                    due: None,
                },
                Via::Cli,
                m.end,
            )
            .unwrap();
    }
}

/// A config with one ICS calendar holding a weekly customer meeting (three occurrences from
/// tomorrow), the page on any free port; and `upcoming --all --json` on it.
pub struct Weekly {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub data: PathBuf,
    pub ledger: PathBuf,
}

impl Weekly {
    pub fn new() -> Weekly {
        let dir = tempfile::tempdir().unwrap();
        let (ics, ledger, data) = (
            dir.path().join("work.ics"),
            dir.path().join("ledger.sqlite3"),
            dir.path().join("data"),
        );
        let start = (Utc::now() + chrono::Duration::days(1)).format("%Y%m%dT100000Z");
        std::fs::write(
            &ics,
            format!(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//nextstep tests//EN\r\nBEGIN:VEVENT\r\n\
                 UID:weekly-acme\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\nDURATION:PT1H\r\n\
                 RRULE:FREQ=WEEKLY;COUNT=3\r\nSUMMARY:Weekly with Acme\r\n\
                 ORGANIZER:mailto:me@mycorp.example\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:me@mycorp.example\r\n\
                 ATTENDEE;PARTSTAT=ACCEPTED:mailto:jane@acme.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
            ),
        )
        .unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[identity]\nemails = [\"me@mycorp.example\"]\ninternal_domains = [\"mycorp.example\"]\n\n\
                 [[calendars]]\nname = \"work\"\nkind = \"ics\"\npath = {:?}\n\n\
                 [ledger]\npath = {:?}\n\n[web]\nport = 0\n",
                ics.display().to_string(),
                ledger.display().to_string()
            ),
        )
        .unwrap();
        Weekly {
            dir,
            config,
            data,
            ledger,
        }
    }

    pub fn upcoming(&self) -> Vec<serde_json::Value> {
        upcoming(&self.config, &self.data)
    }

    /// The page on this config (after [`Weekly::upcoming`] saved the calendar's snapshot).
    pub async fn page(self) -> Page {
        let config = Config::load(&self.config).unwrap();
        Page::serve(self.dir, config, self.data, self.ledger).await
    }
}

/// `nextstep upcoming --all --days 30 --json` on `config` and `data`.
pub fn upcoming(config: &std::path::Path, data: &std::path::Path) -> Vec<serde_json::Value> {
    let out = std::process::Command::new(BIN)
        .args(["--config", config.to_str().unwrap()])
        .args(["upcoming", "--all", "--days", "30", "--json"])
        .env("NEXTSTEP_DATA_DIR", data)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    crate::support::output::assert_success(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every occurrence `upcoming` lists is not a customer meeting, by the user's word.
pub fn none_is_a_sales_meeting(upcoming: &[serde_json::Value]) {
    assert_eq!(upcoming.len(), 3, "{upcoming:?}");
    for m in upcoming {
        assert_eq!(m["customer"], false, "{m}");
        let reason = m["reason"].as_str().unwrap();
        assert!(reason.contains("not a sales meeting"), "{reason}");
    }
}
