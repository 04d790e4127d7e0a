//! Notifications that open the answer page: a click on the body opens the meeting's page,
//! "Answer…" opens it with `prompts.dialog = "web"`, a server without buttons shows its address,
//! and none of it appears while no page is served. First the desktop notifier in process against
//! the fake notification server on a private D-Bus (the page's address set by hand, the opener a
//! fake), then the whole daemon with a fake `xdg-open` first in its PATH.

use std::time::Duration;

use chrono::Utc;
use nextstep::config::DialogSetting::{self, None as NoDialog, Web};
use nextstep::model::PromptKind::{self, Objective, Outcome};
use nextstep::model::{Answer, MeetingId, Via};
use nextstep::notify::desktop::DesktopNotifier;
use nextstep::notify::{NotifyError, Reply};
use nextstep::web::{Access, Opener, PageLink, Secret};

use crate::support::calendar::Event;
use crate::support::daemon::{Home, expect_notification};
use crate::support::dbus::PrivateBus;
use crate::support::desktop::{
    Asking, WAIT, ask_in_background, dialog_script, objective_reply, prompt, prompts,
};
use crate::support::notifications::{DEFAULT_CAPABILITIES, FakeNotificationServer};
use crate::support::opener::FakeOpener;
use crate::web_harness::Page;

/// A private bus, a temporary folder and a fake opener that records into it.
struct Desk {
    /// The prompt timeout of every notifier it makes.
    timeout: Duration,
    bus: PrivateBus,
    dir: tempfile::TempDir,
    opener: FakeOpener,
}

impl Desk {
    fn new(timeout_secs: u64) -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let opener = FakeOpener::new(dir.path());
        Desk {
            timeout: Duration::from_secs(timeout_secs),
            bus: PrivateBus::start(),
            dir,
            opener,
        }
    }

    /// A link opened with the fake opener, not served.
    fn link(&self) -> PageLink {
        PageLink::new(Opener::program(vec![self.opener.program()]))
    }

    /// A link served at 127.0.0.1:7717 (nothing listens there; only the address matters).
    fn served(&self) -> (PageLink, Access) {
        let link = self.link();
        let access = Access {
            url: "http://127.0.0.1:7717/".into(),
            token: Secret::random().unwrap(),
        };
        link.serving(access.clone());
        (link, access)
    }

    async fn server(&self, capabilities: &[&str]) -> FakeNotificationServer {
        FakeNotificationServer::start_with_capabilities(self.bus.address(), capabilities).await
    }

    /// Asks a `kind` prompt in the background through a desktop notifier with `dialog` and
    /// `link`, until `server` shows it.
    async fn show(
        &self,
        server: &FakeNotificationServer,
        dialog: DialogSetting,
        link: &PageLink,
        kind: PromptKind,
    ) -> Asking {
        let notifier =
            DesktopNotifier::with_address(self.bus.address(), &prompts(self.timeout, dialog))
                .with_page(link.clone());
        ask_in_background(notifier, prompt(kind), server).await
    }

    /// Shows a `kind` prompt with `dialog` on a server with buttons while the page is served,
    /// clicks `key`, and checks that the meeting's page opened; returns the server and the prompt,
    /// still being asked.
    async fn click_to_the_page(
        &self,
        dialog: DialogSetting,
        kind: PromptKind,
        key: &str,
    ) -> (FakeNotificationServer, Asking) {
        let server = self.server(DEFAULT_CAPABILITIES).await;
        let (link, access) = self.served();
        let asking = self.show(&server, dialog, &link, kind).await;
        server.click(asking.shown.id, key).await;
        assert_opens_the_meeting(&self.opener.first_opened(WAIT).await, &access);
        (server, asking)
    }
}

/// `url` opens the page of the meeting of [`prompt`] (`work/u1/single`) with `access`'s token.
fn assert_opens_the_meeting(url: &str, access: &Access) {
    assert!(
        url.starts_with("http://127.0.0.1:7717/meeting?id=work%2Fu1%2Fsingle&"),
        "{url}"
    );
    assert!(
        url.ends_with(&format!("&token={}", access.token.expose())),
        "{url}"
    );
}

#[tokio::test]
async fn clicking_the_body_opens_the_meeting_page_and_waits_for_the_answer_given_there() {
    let desk = Desk::new(60);
    let (server, asking) = desk.click_to_the_page(NoDialog, Outcome, "default").await;
    let shown = asking.shown.clone();
    assert!(shown.action_keys().contains(&"default"));
    // The page writes the answer to the ledger, and the daemon withdraws the prompt.
    assert!(
        !asking.is_finished(),
        "the prompt waits for the page's answer"
    );
    asking.showing.withdraw("via web at 10:32");
    let result = asking.result().await;
    assert!(
        matches!(&result, Err(NotifyError::Withdrawn(w)) if w == "via web at 10:32"),
        "{result:?}"
    );
    assert!(server.close_calls().contains(&shown.id));
    assert_eq!(desk.opener.opened().len(), 1);
}

#[tokio::test]
async fn with_the_web_dialog_answer_opens_the_page_and_no_answer_there_is_no_answer() {
    let desk = Desk::new(2);
    let (_server, asking) = desk.click_to_the_page(Web, Objective, "open").await;
    assert_eq!(
        asking.reply().await,
        Reply {
            answer: Answer::Dismissed,
            via: Via::Notification
        },
        "nothing was answered on the page within the prompt timeout"
    );
    assert_eq!(desk.opener.opened().len(), 1);
}

#[tokio::test]
async fn a_server_without_buttons_shows_the_page_address_in_the_body() {
    let desk = Desk::new(60);
    let (link, access) = desk.served();
    let url = link
        .meeting_url(&MeetingId("work/u1/single".into()))
        .unwrap();
    assert_opens_the_meeting(&url, &access);
    for (caps, expected) in [
        (&["body"][..], url.clone()),
        (&["body", "body-markup"][..], url.replace('&', "&amp;")),
    ] {
        let server = desk.server(caps).await;
        let asking = desk.show(&server, NoDialog, &link, Objective).await;
        let shown = &asking.shown;
        assert!(shown.actions.is_empty(), "{:?}", shown.actions);
        assert!(
            shown
                .body
                .ends_with(&format!("\nAnswer on the page: {expected}")),
            "{caps:?}: {}",
            shown.body
        );
        assert!(!shown.body.contains("nextstep objective"), "{}", shown.body);
        // No dialog: nothing to wait for; the address was the way to answer.
        assert_eq!(asking.reply().await.answer, Answer::Dismissed);
        server.stop().await;
    }
    assert!(desk.opener.opened().is_empty(), "only shown, not opened");

    // With the web dialog, the page opens at once, as a dialog would.
    let server = desk.server(&["body"]).await;
    let asking = desk.show(&server, Web, &link, Objective).await;
    assert_eq!(desk.opener.first_opened(WAIT).await, url);
    asking.showing.withdraw("via web at 10:33");
    assert!(matches!(
        asking.result().await,
        Err(NotifyError::Withdrawn(_))
    ));
}

#[tokio::test]
async fn while_no_page_is_served_nothing_of_it_appears() {
    let desk = Desk::new(60);
    // The daemon sets the link only while it serves the page: `[web] enabled = false`, or a page
    // that could not start, leaves it unset.
    let link = desk.link();

    // The body click asks in the dialog, as before.
    let server = desk.server(DEFAULT_CAPABILITIES).await;
    let dialog = dialog_script(desk.dir.path(), "echo 'Meet the CFO'");
    let asking = desk.show(&server, dialog, &link, Objective).await;
    server.click(asking.shown.id, "default").await;
    assert_eq!(
        asking.reply().await,
        objective_reply("Meet the CFO", Via::Dialog)
    );

    // "Answer…" with the web dialog has nothing to open: no answer, and the prompt comes back.
    let asking = desk.show(&server, Web, &link, Objective).await;
    server.click(asking.shown.id, "open").await;
    assert_eq!(asking.reply().await.answer, Answer::Dismissed);
    server.stop().await;

    // A server without buttons gets the command line's hint, no address.
    let server = desk.server(&["body"]).await;
    let asking = desk.show(&server, Web, &link, Objective).await;
    let shown = &asking.shown;
    assert!(
        shown
            .body
            .ends_with("\nAnswer with: nextstep objective TEXT"),
        "{}",
        shown.body
    );
    assert!(!shown.body.contains("http"), "{}", shown.body);
    assert_eq!(asking.reply().await.answer, Answer::Dismissed);
    assert!(
        desk.opener.opened().is_empty(),
        "{:?}",
        desk.opener.opened()
    );
}

#[tokio::test]
async fn the_daemon_opens_the_meeting_page_on_a_body_click_and_takes_the_answer_given_there() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let now = Utc::now();
    let home = Home::with_ics_calendar("\n[web]\nport = 0\n");
    home.write_calendar(&[Event {
        uid: "pilot",
        title: "Pilot scoping with Acme",
        start: now + chrono::Duration::seconds(6),
        length: chrono::Duration::minutes(30),
        attendees: &["PARTSTAT=ACCEPTED:mailto:jane@acme.example"],
    }]);
    let opener = FakeOpener::new(home.dir.path());
    let home = home.with_env("PATH", &opener.path());
    let daemon = home.start(&bus);
    let shown = expect_notification(&server, &daemon, Duration::from_secs(20)).await;
    assert!(
        shown.summary.contains("Pilot scoping with Acme"),
        "{shown:?}"
    );
    server.click(shown.id, "default").await;

    let url = opener.first_opened(Duration::from_secs(10)).await;
    let page = Page::of_daemon(&home.data_dir(), home.ledger.clone());
    assert_eq!(
        url,
        page.open_url("/meeting?id=work%2Fpilot%2Fsingle"),
        "the meeting's page, with the token of the daemon's access file"
    );
    page.answer_objective("work/pilot/single", "Agree to a pilot by Friday")
        .await;
    daemon
        .wait_for_log("answered elsewhere", 1, Duration::from_secs(10))
        .await;
    let log = daemon.stop();
    assert!(
        !log.contains(page.token.as_str()),
        "the token is never logged"
    );
    assert_eq!(opener.opened().len(), 1);
}
