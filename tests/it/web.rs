//! The answer page over plain HTTP: its gate (Host, access token, cookie, Origin, CSRF, CSP, no
//! CORS), escaping, answers that are the ledger's (first answer stands, explicit correction),
//! the sales override, the report's charts and downloads, and the commands around it (`serve`,
//! `open --print`, `report --html`). The page runs in the test's process on a free port; the
//! commands run as the real binary.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use nextstep::clock::SystemClock;
use nextstep::config::Config;
use nextstep::ledger::Ledger;
use nextstep::model::{Answer, MeetingId, Outcome, Via};
use nextstep::web::{WebError, WebServer};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};

use super::support::daemon::BIN;
use super::support::output::succeeded;
use super::web_harness::{
    Page, Weekly, answer_history, client, meeting, meeting_path, none_is_a_sales_meeting,
    seeded_history, soon, upcoming,
};

const TITLE: &str = "Pilot review <script>alert(1)</script>";
const ID: &str = "work/acme-1/single";

#[tokio::test]
async fn a_request_for_another_host_is_refused_before_routing() {
    let page = Page::start(&[meeting(ID, TITLE, soon(), Some("Acme"))]).await;
    for path in ["/", "/no/such/page"] {
        let host = format!("rebound.example:{}", page.port);
        let r = page
            .get_with(path, &[("host", &host), ("cookie", &page.cookie())])
            .await;
        assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST, "{path}");
        assert!(r.text().await.unwrap().contains("refused"));
    }
    for host in ["localhost", "[::1]"] {
        let host = format!("{host}:{}", page.port);
        let r = page
            .get_with("/", &[("host", &host), ("cookie", &page.cookie())])
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{host}");
    }
}

#[tokio::test]
async fn without_the_token_nothing_is_served_and_a_wrong_one_is_refused() {
    let page = Page::start(&[]).await;
    let plain = page.get_with("/", &[]).await;
    assert_eq!(plain.status(), StatusCode::UNAUTHORIZED);
    let css = page.get_with("/style.css", &[]).await;
    assert_eq!(css.status(), StatusCode::UNAUTHORIZED);
    let wrong = page
        .get_with(&format!("/?token={}", "0".repeat(64)), &[])
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let bad_cookie = page
        .get_with("/", &[("cookie", "nextstep_token=nope")])
        .await;
    assert_eq!(bad_cookie.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_token_in_the_url_becomes_a_strict_http_only_cookie_and_leaves_the_address() {
    let page = Page::start(&[meeting(ID, TITLE, soon(), Some("Acme"))]).await;
    let path = format!("{}&token={}", meeting_path(ID), page.token);
    let r = page.get_with(&path, &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, meeting_path(ID));
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set.starts_with(&format!("nextstep_token={}", page.token)),
        "{set}"
    );
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    let cookie = set.split(';').next().unwrap();
    let after = page.get_with(&location, &[("cookie", cookie)]).await;
    assert_eq!(after.status(), StatusCode::OK);
}

#[tokio::test]
async fn every_answer_has_a_strict_csp_and_no_cors_header() {
    let page = Page::start(&[meeting(ID, TITLE, soon(), Some("Acme"))]).await;
    let r = page
        .get_with(
            "/",
            &[
                ("cookie", &page.cookie()),
                ("origin", "https://evil.example"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let h: &HeaderMap = r.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(
        !csp.contains("script-src"),
        "no script source at all: {csp}"
    );
    assert_eq!(h["x-frame-options"], HeaderValue::from_static("DENY"));
    assert!(
        h.keys().all(|k| !k.as_str().starts_with("access-control-")),
        "{h:?}"
    );
    let pre = page
        .client
        .request(reqwest::Method::OPTIONS, page.url("/meeting/objective"))
        .header("cookie", page.cookie())
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(pre.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        pre.headers()
            .keys()
            .all(|k| !k.as_str().starts_with("access-control-"))
    );
}

#[tokio::test]
async fn a_title_with_a_script_renders_as_text() {
    let page = Page::start(&[meeting(ID, TITLE, soon(), Some("Acme"))]).await;
    for path in ["/".to_owned(), meeting_path(ID)] {
        let body = page.body(&path).await;
        assert!(!body.contains("<script>"), "{path}: {body}");
        assert!(
            body.contains("Pilot review &lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_change_needs_the_csrf_token_and_the_pages_own_origin() {
    let page = Page::start(&[meeting(ID, TITLE, soon(), Some("Acme"))]).await;
    let csrf = page.csrf(ID).await;
    let origin = format!("http://127.0.0.1:{}", page.port);
    let form = |csrf: &str| {
        vec![
            ("id", ID.to_owned()),
            ("nonce", "n1".to_owned()),
            ("objective", "Agree to a pilot".to_owned()),
            ("csrf", csrf.to_owned()),
        ]
    };
    type Case<'a> = (Option<&'a str>, Vec<(&'a str, String)>, &'a str);
    let cases: [Case; 4] = [
        (Some(origin.as_str()), form("0"), "a wrong csrf token"),
        (
            Some(origin.as_str()),
            form("")[..3].to_vec(),
            "no csrf token",
        ),
        (Some("https://evil.example"), form(&csrf), "another origin"),
        (None, form(&csrf), "no origin"),
    ];
    for (origin, fields, what) in cases {
        let r = page.post_as_is("/meeting/objective", origin, &fields).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{what}");
    }
    let get_write = page
        .get(&format!(
            "/meeting/objective?id={ID}&objective=x&csrf={csrf}"
        ))
        .await;
    assert_eq!(
        get_write.status(),
        StatusCode::METHOD_NOT_ALLOWED,
        "a GET changes nothing"
    );
    assert!(page.row(ID).objective.is_none());

    let ok = page
        .post_as_is("/meeting/objective", Some(&origin), &form(&csrf))
        .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let row = page.row(ID);
    let o = row.objective.unwrap();
    assert_eq!(o.text, "Agree to a pilot");
    assert_eq!(o.via, Via::Web);
}

#[tokio::test]
async fn a_second_answer_is_refused_with_who_answered_first_and_the_correction_replaces_it() {
    let page = Page::start(&[meeting(ID, TITLE, soon(), Some("Acme"))]).await;
    page.open_ledger()
        .record(
            "cli-first",
            &MeetingId(ID.into()),
            &Answer::Objective {
                text: "From the terminal".into(),
            },
            Via::Cli,
            Utc::now(),
        )
        .unwrap();
    let r = page
        .post(
            "/meeting/objective",
            &[("id", ID), ("nonce", "a"), ("objective", "From the page")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("Already answered by the command line at"),
        "{body}"
    );
    assert!(
        body.contains("name=\"correct\""),
        "the correction is offered: {body}"
    );
    let kept = || page.row(ID).objective.unwrap().text;
    assert_eq!(kept(), "From the terminal");

    let fix = page
        .post(
            "/meeting/objective",
            &[
                ("id", ID),
                ("nonce", "b"),
                ("objective", "From the page"),
                ("correct", "1"),
            ],
        )
        .await;
    assert_eq!(fix.status(), StatusCode::SEE_OTHER);
    assert_eq!(kept(), "From the page");
}

#[tokio::test]
async fn a_resubmitted_form_is_one_answer() {
    let page = Page::start(&[meeting(
        ID,
        TITLE,
        Utc::now() - chrono::Duration::hours(3),
        Some("Acme"),
    )])
    .await;
    let form = [
        ("id", ID),
        ("nonce", "same"),
        ("result", "advanced"),
        ("next_step", "Security review on the 12th"),
        ("note", "went well"),
    ];
    for _ in 0..2 {
        let r = page.post("/meeting/outcome", &form).await;
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "a retry is not a conflict"
        );
    }
    let row = page.row(ID);
    let o = row.outcome.unwrap();
    assert_eq!(o.result, Outcome::Advanced);
    assert_eq!(o.next_step.as_deref(), Some("Security review on the 12th"));
    assert_eq!(o.note.as_deref(), Some("went well"));
    let page_after = page.body(&meeting_path(ID)).await;
    assert!(page_after.contains("Security review on the 12th"));
}

#[tokio::test]
async fn not_a_sales_meeting_for_a_series_is_an_override_in_the_ledger() {
    let series = "work/series-7/20261203T100000Z";
    let page = Page::start(&[meeting(series, "Weekly sync", soon(), Some("Acme"))]).await;
    assert!(
        !sales(&page, series, "x", "series", "false").await,
        "the override applies to the series"
    );
    assert!(
        sales(&page, series, "y", "meeting", "true").await,
        "the meeting's own override beats its series'"
    );
}

/// Sends the page's sales-meeting form for meeting `id` (`scope`: "meeting" or "series") and
/// gives whether the ledger counts the meeting as a customer meeting afterwards.
async fn sales(page: &Page, id: &str, nonce: &str, scope: &str, customer: &str) -> bool {
    let form = [
        ("id", id),
        ("nonce", nonce),
        ("scope", scope),
        ("customer", customer),
    ];
    let r = page.post("/meeting/sales", &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    page.row(id).customer
}

#[tokio::test]
async fn the_report_draws_three_bars_a_week_and_one_bar_per_outcome_value_and_lists_stalled_accounts_first()
 {
    let history = seeded_history();
    let page = Page::start(&history).await;
    answer_history(&mut page.open_ledger(), &history);
    let body = page.body("/report").await;
    assert_eq!(body.matches("<svg").count(), 2, "{body}");
    // 4 weeks, each with all three rates known.
    assert_eq!(body.matches("<rect class=\"bar ").count(), 12, "{body}");
    // Acme: committed and advanced; Beta: continuation only.
    assert_eq!(body.matches("<rect class=\"seg ").count(), 3, "{body}");
    let stalled = body.find("Stalled accounts").expect("Beta has stalled");
    assert!(stalled < body.find("By week").unwrap());
    assert!(body[stalled..].contains("Beta"));

    let only_acme = page.body("/report?account=Acme&since=&until=").await;
    assert_eq!(only_acme.matches("<rect class=\"seg ").count(), 2);
    assert!(!only_acme.contains("Stalled accounts"));

    let csv = page.get("/export.csv?account=Beta").await;
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let csv = csv.text().await.unwrap();
    assert_eq!(csv.lines().count(), 1 + 4, "{csv}");
    let jsonl = page.body("/export.jsonl").await;
    assert_eq!(jsonl.lines().count(), 8);
    assert_eq!(
        jsonl,
        nextstep::export::to_jsonl(&page.open_ledger().customer_meetings(None).unwrap()),
        "the download is `export`"
    );
}

#[tokio::test]
async fn a_taken_port_is_an_error_that_names_the_key() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let config = Config::from_toml("test.toml", &format!("[web]\nport = {port}\n")).unwrap();
    let err = WebServer::bind(
        config,
        dir.path().join("data"),
        dir.path().join("ledger.sqlite3"),
        Arc::new(SystemClock),
    )
    .await
    .err()
    .expect("the port is taken");
    assert!(matches!(err, WebError::PortTaken { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("[web] port"), "{msg}");
    assert!(msg.contains(&port.to_string()), "{msg}");
}

/// `nextstep --config … <args>` on a config with the page on any free port and a seeded ledger.
struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn new() -> Cli {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.sqlite3");
        std::fs::write(
            dir.path().join("config.toml"),
            format!(
                "[ledger]\npath = {:?}\n\n[web]\nport = 0\n",
                ledger.display().to_string()
            ),
        )
        .unwrap();
        let history = seeded_history();
        let mut l = Ledger::open(&ledger).unwrap();
        l.remember(&history, Utc::now()).unwrap();
        answer_history(&mut l, &history);
        Cli { dir }
    }

    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut c = std::process::Command::new(BIN);
        c.arg("--config")
            .arg(self.dir.path().join("config.toml"))
            .args(args)
            .env("NEXTSTEP_DATA_DIR", self.dir.path().join("data"))
            .stdin(std::process::Stdio::null());
        c
    }
}

#[test]
fn report_html_writes_one_self_contained_page_with_its_charts() {
    let cli = Cli::new();
    let file = cli.dir.path().join("report.html");
    let out = cli
        .command(&["report", "--html", file.to_str().unwrap()])
        .output()
        .unwrap();
    crate::support::output::assert_success(&out);
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("<style>"), "the style is inline");
    assert!(
        !html.contains("href=\"/style.css\""),
        "nothing loaded from elsewhere"
    );
    assert!(!html.contains("src="), "nothing loaded from elsewhere");
    assert_eq!(html.matches("<rect class=\"bar ").count(), 12);
    assert_eq!(html.matches("<rect class=\"seg ").count(), 3);
    // The coaching part as the served page has it: no account is closed yet, nothing slipped.
    assert!(html.contains("<h2>Sell cycle</h2>"), "{html}");
    assert!(
        html.contains("No account is won or lost in this period yet."),
        "{html}"
    );
    assert!(html.contains("<h2>Slipped commitments</h2>"), "{html}");
}

#[tokio::test]
async fn serve_writes_the_address_and_open_print_gives_the_url_that_lets_the_browser_in() {
    let cli = Cli::new();
    let mut serve = cli
        .command(&["serve"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = serve.stdout.take().unwrap();
    let _serve = Kill(serve);
    // The first line says where it serves: the page is bound by then.
    let line = tokio::task::spawn_blocking(move || {
        let mut l = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut l).unwrap();
        l
    });
    let line = tokio::time::timeout(Duration::from_secs(20), line)
        .await
        .unwrap()
        .unwrap();
    assert!(line.contains("http://127.0.0.1:"), "{line}");
    assert!(!line.contains("token"), "the token is not printed: {line}");

    let out = succeeded(
        cli.command(&["open", "--print", "work/acme-w1/single"])
            .output()
            .unwrap(),
    );
    let url = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(
        url.contains("/meeting?id=work%2Facme-w1%2Fsingle&token="),
        "{url}"
    );
    let client = client();
    let r = client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let base = url.split("/meeting").next().unwrap();
    let page = client
        .get(format!(
            "{base}{}",
            r.headers()["location"].to_str().unwrap()
        ))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Acme call"));
}

#[test]
fn open_without_a_running_page_says_how_to_start_one() {
    let cli = Cli::new();
    let out = cli.command(&["open", "--print"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nextstep serve"), "{err}");
}

#[tokio::test]
async fn a_series_marked_not_a_sales_meeting_on_the_page_is_not_one_in_upcoming() {
    let weekly = Weekly::new();
    let before = weekly.upcoming();
    assert_eq!(before.len(), 3, "{before:?}");
    assert!(before.iter().all(|m| m["customer"] == true), "{before:?}");
    let first = before[0]["id"].as_str().unwrap().to_owned();
    let (config, data) = (weekly.config.clone(), weekly.data.clone());

    let page = weekly.page().await;
    let body = page.body(&meeting_path(&first)).await;
    assert!(
        body.contains("No meeting of this series is a sales meeting"),
        "{body}"
    );
    let r = page
        .post(
            "/meeting/sales",
            &[("id", &first), ("scope", "series"), ("customer", "false")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    none_is_a_sales_meeting(&upcoming(&config, &data));
}
