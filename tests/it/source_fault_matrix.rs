//! Sources misbehaving, table-driven: for each fault of `support::faulty` (server down, 500, a
//! response that hangs, a body cut off with and without `Content-Length`, garbage, a 50 MB body, a
//! redirect loop, 401), the real daemon polls a calendar that first answers well, then fails for
//! [`OUTAGE`], then answers well again. Each row checks that the daemon stays alive, keeps
//! prompting from what it knew, writes nothing to the ledger it did not learn from the source,
//! backs off (bounded requests), logs one line per failure streak, and recovers without a
//! restart; the figures of every row make the matrix printed at the end (and kept in the README).
//!
//! Google and Microsoft have rows of their own ([`PROVIDER_TROUBLES`]): the faulty server stands
//! in front of the fake's calendar API (sign-in goes to the fake directly), pages hold one event
//! so that every full listing pages, and besides the faults of the JSON APIs (429 with
//! `Retry-After`, 403, malformed JSON, 410 on every sync token and resync) two rows are about the
//! sync state: the provider forgets its sync tokens (the next poll resyncs), and forgets them
//! while every page after the first fails (the resync breaks off half-way). A failed or partial
//! read changes nothing in the ledger, and the next good poll restores the picture.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::support::calendar::{Event, ics};
use crate::support::daemon::Home;
use crate::support::dbus::PrivateBus;
use crate::support::faulty::{Fault, FaultyServer, Good};
use crate::support::google::{self, FakeGoogle};
use crate::support::microsoft::{self, FakeMicrosoft};
use crate::support::notifications::FakeNotificationServer;
use crate::support::provider::{self, ProviderFake};
use crate::support::radicale::Radicale;
use nextstep::source::google::auth::GOOGLE;
use nextstep::source::microsoft::auth::MICROSOFT;

/// How long each fault lasts.
const OUTAGE: Duration = Duration::from_secs(10);

/// How long the daemon may take to read the calendar again once the server is fixed: its
/// backoff is capped at the poll interval or 5 s (±20%), plus the 2 s request timeout.
const RECOVERY_LIMIT: Duration = Duration::from_secs(20);

/// What goes wrong during the outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trouble {
    /// The server in front of the calendar misbehaves this way.
    Fault(Fault),
    /// The provider forgets every sync token (410 / Graph's `syncStateNotFound` on the next
    /// incremental poll) and answers well otherwise: not an outage, a resync.
    TokensForgotten,
    /// The provider forgets every sync token, and every page after the first fails: each resync
    /// breaks off half-way.
    ResyncFailsMidway,
}

impl Trouble {
    fn fault(self) -> Option<Fault> {
        match self {
            Trouble::Fault(f) => Some(f),
            Trouble::TokensForgotten => None,
            Trouble::ResyncFailsMidway => Some(Fault::LaterPages),
        }
    }

    fn forgets_tokens(self) -> bool {
        matches!(self, Trouble::TokensForgotten | Trouble::ResyncFailsMidway)
    }

    /// Polls fail while it lasts (every row but a plain resync).
    fn is_outage(self) -> bool {
        self != Trouble::TokensForgotten
    }

    /// Refused credentials: retried slowly, so the test reloads the daemon once they are fixed.
    fn is_refusal(self) -> bool {
        matches!(self, Trouble::Fault(Fault::Unauthorized | Fault::Forbidden))
    }

    fn describe(self) -> &'static str {
        match self {
            Trouble::Fault(f) => f.describe(),
            Trouble::TokensForgotten => "sync token gone, resync works",
            Trouble::ResyncFailsMidway => "sync token gone, resync fails mid-way",
        }
    }
}

/// The rows of Google and Microsoft: the faults of the task list for JSON APIs behind OAuth.
const PROVIDER_TROUBLES: [Trouble; 12] = [
    Trouble::Fault(Fault::Down),
    Trouble::Fault(Fault::Status500),
    Trouble::Fault(Fault::TooManyRequests),
    Trouble::Fault(Fault::Hang),
    Trouble::Fault(Fault::CutWithLength),
    Trouble::Fault(Fault::CutWithoutLength),
    Trouble::Fault(Fault::MalformedJson),
    Trouble::Fault(Fault::Unauthorized),
    Trouble::Fault(Fault::Forbidden),
    Trouble::Fault(Fault::Gone),
    Trouble::ResyncFailsMidway,
    Trouble::TokensForgotten,
];

/// One row of the matrix.
#[derive(Debug)]
struct Row {
    trouble: Trouble,
    alive: bool,
    prompt_fired: bool,
    ledger_rows_invented: usize,
    requests: usize,
    failure_lines: usize,
    recovery: Option<Duration>,
}

/// Rows the daemon wrote that only the source could have justified: meetings marked gone, and
/// answers no person gave (a `cancelled` outcome, say).
fn invented_rows(ledger: &std::path::Path) -> usize {
    let db = rusqlite::Connection::open(ledger).unwrap();
    let gone: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM meetings WHERE gone_at IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let answers: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM answers WHERE via != 'notification' AND kind != 'objective_missed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    (gone + answers) as usize
}

/// Lines of `log` that report a failed poll.
fn failure_lines(log: &str) -> usize {
    log.lines()
        // A poll's own failure is logged in its span; a refused password by the scheduler, which
        // also tells the user, naming the source.
        .filter(|l| l.contains("poll{") || l.contains("source="))
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .filter(|l| !l.contains("skipped:"))
        .count()
}

/// The kinds of source the matrix covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An ICS URL served by the faulty server itself.
    IcsUrl,
    /// CalDAV: the faulty server in front of a real Radicale.
    CalDav,
    /// Google: the faulty server in front of the fake's Calendar API.
    Google,
    /// Microsoft: the faulty server in front of the fake's Graph.
    Microsoft,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::IcsUrl => "ICS URL",
            Kind::CalDav => "CalDAV",
            Kind::Google => "Google",
            Kind::Microsoft => "Microsoft",
        }
    }

    /// Requests one poll may make: a refused sync token, then the two pages of the resync (a
    /// refused access token is one request, the refresh goes to the sign-in server).
    fn requests_per_poll(self) -> usize {
        match self {
            Kind::IcsUrl | Kind::CalDav => 1,
            Kind::Google | Kind::Microsoft => 3,
        }
    }
}

/// What stands behind the faulty server, kept alive for the row.
enum Upstream {
    Nothing,
    // Held, not read: Radicale stops when it is dropped.
    Radicale(#[allow(dead_code)] Radicale),
    Google(FakeGoogle),
    Microsoft(FakeMicrosoft),
}

impl Upstream {
    /// The provider forgets every sync token it handed out.
    fn forget_tokens(&self) {
        match self {
            Upstream::Google(g) => g.expire_sync_tokens(),
            Upstream::Microsoft(m) => m.expire_delta_tokens(),
            Upstream::Nothing | Upstream::Radicale(_) => {
                panic!("only Google and Microsoft keep sync tokens")
            }
        }
    }
}

const ALICE: (&str, &str) = ("alice", "alice-pw");
const PASSWORD_ENV: &str = "NEXTSTEP_TEST_DAV_PASSWORD";

/// Two customer meetings as of now: one whose objective prompt is due (start - 3 s) in the middle
/// of the outage, and one two hours away that the daemon only knows about.
fn events() -> Vec<Event<'static>> {
    let now = Utc::now();
    vec![
        Event {
            uid: "soon",
            title: "Kickoff with Acme",
            start: now + chrono::Duration::seconds(11),
            length: chrono::Duration::minutes(30),
            attendees: &["PARTSTAT=NEEDS-ACTION:mailto:jane@acme.example"],
        },
        Event {
            uid: "later",
            title: "Renewal with Globex",
            start: now + chrono::Duration::hours(2),
            length: chrono::Duration::minutes(30),
            attendees: &["PARTSTAT=NEEDS-ACTION:mailto:hans@globex.example"],
        },
    ]
}

/// [`events`] in a provider's JSON: `to_json(event, its guest's address)`.
fn events_as(to_json: impl Fn(&Event, &str) -> serde_json::Value) -> Vec<serde_json::Value> {
    events()
        .iter()
        .map(|e| to_json(e, e.attendees[0].rsplit(':').next().unwrap()))
        .collect()
}

/// [`events`] as Google's JSON.
fn google_events() -> Vec<serde_json::Value> {
    let t = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    events_as(|e, guest| {
        let attendees = [("alex@mycorp.com", "accepted"), (guest, "needsAction")];
        google::event(
            e.uid,
            e.title,
            &t(e.start),
            &t(e.start + e.length),
            &attendees,
        )
    })
}

/// [`events`] as Graph's JSON.
fn graph_events() -> Vec<serde_json::Value> {
    let t = microsoft::graph_time;
    events_as(|e, guest| {
        let attendees = [(guest, "required", "none")];
        microsoft::event(
            e.uid,
            e.title,
            &t(e.start),
            &t(e.start + e.length),
            "UTC",
            &attendees,
        )
    })
}

/// The faulty server in front of `fake`, which holds `events` in pages of one (so that every
/// full listing pages).
async fn in_front_of(fake: &dyn ProviderFake, events: Vec<serde_json::Value>) -> FaultyServer {
    fake.limit_pages(1);
    for e in events {
        fake.put(e);
    }
    FaultyServer::start(Good::Upstream(fake.address())).await
}

/// The faulty server for `kind`, holding [`events`], and the daemon's home that polls it; what
/// stands behind the server lives as long as the returned [`Upstream`].
async fn serve(kind: Kind) -> (FaultyServer, Home, Upstream) {
    match kind {
        Kind::IcsUrl => {
            let server = FaultyServer::start(Good::Body {
                body: ics(&events()).into_bytes(),
                content_type: "text/calendar".into(),
            })
            .await;
            let url = server.url("/cal.ics");
            let home = Home::new("me@mycorp.example", |_| {
                format!(
                    "[[calendars]]\nname = \"work\"\nkind = \"ics\"\nurl = {url:?}\npoll = \"1s\"\ntimeout = \"2s\"\n"
                )
            });
            (server, home, Upstream::Nothing)
        }
        Kind::CalDav => {
            let radicale = Radicale::start(&[ALICE]);
            let path = radicale
                .mkcalendar(ALICE, "work", "Work", &["VEVENT"])
                .await;
            for e in &events() {
                radicale
                    .put(
                        ALICE,
                        &format!("{path}{}.ics", e.uid),
                        &ics(std::slice::from_ref(e)),
                    )
                    .await;
            }
            let server =
                FaultyServer::start(Good::Upstream(format!("127.0.0.1:{}", radicale.port))).await;
            let url = server.url("/");
            let home = Home::new("me@mycorp.example", |_| {
                format!(
                    "[[calendars]]\nname = \"work\"\nkind = \"caldav\"\nurl = {url:?}\nusername = {user:?}\n\
                     password_env = {PASSWORD_ENV:?}\npoll = \"1s\"\ntimeout = \"2s\"\n",
                    user = ALICE.0
                )
            })
            .with_env(PASSWORD_ENV, ALICE.1);
            (server, home, Upstream::Radicale(radicale))
        }
        Kind::Google => {
            let fake = FakeGoogle::start().await;
            let server = in_front_of(&fake, google_events()).await;
            let home = google::home(&fake, &server.url("/calendar/v3/"), "2s");
            provider::signed_in(&home, &GOOGLE, "work", &fake.grant_refresh_token()).await;
            (server, home, Upstream::Google(fake))
        }
        Kind::Microsoft => {
            let fake = FakeMicrosoft::start().await;
            let server = in_front_of(&fake, graph_events()).await;
            fake.link_through(&server.url(""));
            let table =
                microsoft::calendar_table_at(&fake, &["primary"], &server.url("/v1.0"), "2s");
            let home = Home::new(microsoft::ME, |_| table).with_env("NEXTSTEP_KEYRING", "off");
            provider::signed_in(&home, &MICROSOFT, "m365", &fake.grant_refresh_token()).await;
            (server, home, Upstream::Microsoft(fake))
        }
    }
}

/// One trouble against a fresh daemon whose one calendar is of `kind`.
async fn row(kind: Kind, trouble: Trouble) -> Row {
    let bus = PrivateBus::start();
    let notifications = FakeNotificationServer::start(bus.address()).await;
    let (server, home, upstream) = serve(kind).await;
    let mut daemon = home.start(&bus);
    daemon
        .wait_for_log("polled meetings=2", 1, Duration::from_secs(15))
        .await;

    if trouble.forgets_tokens() {
        upstream.forget_tokens();
    }
    server.set_fault(trouble.fault()).await;
    let before = server.requests();
    let log_from = daemon.log().len();
    let polls_before = daemon.log().matches("polled meetings=2").count();
    let outage = Instant::now();
    // Every notification of the outage: a refused password also tells the user, once.
    let mut prompt_fired = false;
    while let Some(n) = notifications
        .next_notification(OUTAGE.saturating_sub(outage.elapsed()))
        .await
    {
        prompt_fired |= n.summary.contains("Kickoff with Acme");
    }
    tokio::time::sleep(OUTAGE.saturating_sub(outage.elapsed())).await;
    let requests = server.requests() - before;
    let outage_log = daemon.log()[log_from..].to_string();
    let invented = invented_rows(&home.ledger);

    server.set_fault(None).await;
    let fixed = Instant::now();
    if trouble.is_refusal() {
        // A refused password is retried only every 15 minutes; the person who fixed it says so
        // with a reload (`systemctl --user reload nextstep`), which polls at once.
        let pid = nextstep::lock::holder(&home.ledger)
            .unwrap()
            .expect("the daemon holds the lock");
        std::process::Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap();
    }
    let mut recovery = None;
    while fixed.elapsed() < RECOVERY_LIMIT * 2 {
        if daemon.log().matches("polled meetings=2").count() > polls_before {
            recovery = Some(fixed.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The picture restored must not have cost a row either (a resync that named the meetings
    // it did not list gone, say).
    let invented = invented.max(invented_rows(&home.ledger));
    let alive = daemon.is_running();
    let _ = daemon.kill9_and_log();
    drop(upstream);
    Row {
        trouble,
        alive,
        prompt_fired,
        ledger_rows_invented: invented,
        requests,
        failure_lines: failure_lines(&outage_log),
        recovery,
    }
}

fn matrix(source: &str, rows: &[Row]) -> String {
    let mut s = format!(
        "{source}: fault | daemon alive | prompts still fired | ledger rows invented | requests in {} s | failure log lines | recovery\n",
        OUTAGE.as_secs()
    );
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.trouble.describe(),
            if r.alive { "yes" } else { "no" },
            if r.prompt_fired { "yes" } else { "no" },
            r.ledger_rows_invented,
            r.requests,
            r.failure_lines,
            r.recovery.map_or_else(
                || "none".to_string(),
                |d| format!("{:.1} s", d.as_secs_f64())
            ),
        );
    }
    s
}

/// At most one poll per backoff step (at least 4 s apart after the first failure) during the
/// outage, each of at most `kind`'s requests per poll and following at most 10 redirects.
fn request_bound(kind: Kind, trouble: Trouble) -> usize {
    let polls = 1 + OUTAGE.as_secs() as usize / 4 + 1;
    let per_poll = kind.requests_per_poll();
    if trouble == Trouble::Fault(Fault::RedirectLoop) {
        polls * per_poll * 11
    } else {
        polls * per_poll
    }
}

async fn run_matrix(kind: Kind, troubles: &[Trouble]) -> Vec<Row> {
    let mut rows = Vec::new();
    for &t in troubles {
        rows.push(row(kind, t).await);
    }
    println!("{}", matrix(kind.describe(), &rows));
    rows
}

fn assert_row(kind: Kind, r: &Row, all: &[Row]) {
    let m = matrix(kind.describe(), all);
    assert!(r.alive, "{:?}: the daemon died\n{m}", r.trouble);
    assert!(
        r.prompt_fired,
        "{:?}: the prompt due during the outage was not shown\n{m}",
        r.trouble
    );
    assert_eq!(
        r.ledger_rows_invented, 0,
        "{:?}: rows the source never justified\n{m}",
        r.trouble
    );
    if r.trouble.is_outage() {
        assert!(
            r.requests <= request_bound(kind, r.trouble),
            "{:?}: {} requests in {:?}, no backoff\n{m}",
            r.trouble,
            r.requests,
            OUTAGE
        );
    }
    assert!(
        r.recovery.is_some_and(|d| d <= RECOVERY_LIMIT),
        "{:?}: no recovery within {RECOVERY_LIMIT:?}\n{m}",
        r.trouble
    );
}

async fn everything(kind: Kind, troubles: &[Trouble]) {
    let rows = run_matrix(kind, troubles).await;
    for r in &rows {
        assert_row(kind, r, &rows);
        // A resync that works is no failure at all.
        let streaks = usize::from(r.trouble.is_outage());
        assert_eq!(
            r.failure_lines,
            streaks,
            "{:?}: one log line per failure streak\n{}",
            r.trouble,
            matrix(kind.describe(), &rows)
        );
    }
}

/// The rows of ICS URLs and CalDAV: every fault of the faulty server's first list.
fn http_troubles() -> Vec<Trouble> {
    Fault::ALL.into_iter().map(Trouble::Fault).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ics_url_that_misbehaves_keeps_the_daemon_prompting_logs_each_streak_once_and_recovers()
{
    everything(Kind::IcsUrl, &http_troubles()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caldav_server_that_misbehaves_keeps_the_daemon_prompting_logs_each_streak_once_and_recovers()
 {
    everything(Kind::CalDav, &http_troubles()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_google_calendar_that_misbehaves_changes_nothing_in_the_ledger_keeps_prompting_and_recovers()
 {
    everything(Kind::Google, &PROVIDER_TROUBLES).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_microsoft_calendar_that_misbehaves_changes_nothing_in_the_ledger_keeps_prompting_and_recovers()
 {
    everything(Kind::Microsoft, &PROVIDER_TROUBLES).await;
}
