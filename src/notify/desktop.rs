//! Desktop notifications over D-Bus (`org.freedesktop.Notifications`), with the quick answers as
//! buttons and the full answer in a dialog or, while the daemon serves it, on the meeting's answer
//! page (a click on the body opens it; so does "Answer…" with `prompts.dialog = "web"`; a server
//! that draws no buttons gets the page's address in the body).
//!
//! This speaks the notification protocol with zbus directly rather than through notify-rust's
//! `show_async` / `wait_for_action_async`, for reasons found while testing:
//! - notify-rust subscribes to `ActionInvoked` only after `Notify` returns, so a click in between
//!   is lost; here both match rules are in place before `Notify` is sent.
//! - its wait `unwrap`s bus errors (a bus that goes away panics the prompt task).
//! - it always connects to the bus named by the environment; taking an address lets tests run
//!   side by side, each with its own private bus and fake server.
//!
//! One showing: `GetCapabilities` (no server, no bus → [`NotifyError::Unavailable`], within
//! milliseconds), subscribe, `Notify`, then wait, bounded by the prompt timeout, for a button
//! (`ActionInvoked`) or a close (`NotificationClosed`). Every D-Bus call is bounded too, since
//! zbus sets no method timeout and a hung server would otherwise hang the prompt.

use std::collections::HashMap;
use std::future::poll_fn;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::time::Duration;

use zbus::export::futures_core::Stream;
use zbus::{Connection, MatchRule, MessageStream, Variant};

use crate::config::Prompts;
use crate::model::{Answer, Via};
use crate::web::PageLink;

use super::dialog::Dialog;
use super::text::{self, Action};
use super::{AskFuture, Notifier, NotifyError, PromptView, Reply, Showing};

const NAME: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";
const INTERFACE: &str = "org.freedesktop.Notifications";
const APP: &str = "nextstep";
/// Bound on connecting and on each method call: a healthy bus answers in milliseconds.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a close may precede the click that caused it (see the QUIRK below).
const CLOSE_GRACE: Duration = Duration::from_millis(250);

/// What the notification server can do, from `GetCapabilities`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub actions: bool,
    pub body_markup: bool,
    pub persistence: bool,
    /// Everything the server listed.
    pub all: Vec<String>,
}

impl Capabilities {
    fn from_list(all: Vec<String>) -> Self {
        let has = |c: &str| all.iter().any(|x| x == c);
        Capabilities {
            actions: has("actions"),
            body_markup: has("body-markup"),
            persistence: has("persistence"),
            all,
        }
    }
}

/// Prompts as desktop notifications.
pub struct DesktopNotifier {
    /// `None`: the session bus from the environment.
    address: Option<String>,
    timeout: Duration,
    dialog: Dialog,
    /// The daemon's answer page, while it serves one: a body click opens it, and so does
    /// "Answer…" with `prompts.dialog = "web"`; a server without buttons shows its address.
    page: PageLink,
}

impl DesktopNotifier {
    /// On the session bus, with the prompt timeout and dialog of `prompts`.
    pub fn new(prompts: &Prompts) -> Self {
        Self::with_parts(
            None,
            prompts.timeout,
            Dialog::new(prompts.dialog.clone(), prompts.timeout),
        )
    }

    /// On the bus at `address` (tests; a bus other than the session's).
    pub fn with_address(address: impl Into<String>, prompts: &Prompts) -> Self {
        Self::with_parts(
            Some(address.into()),
            prompts.timeout,
            Dialog::new(prompts.dialog.clone(), prompts.timeout),
        )
    }

    /// `timeout`: how long a notification waits for a click.
    pub fn with_parts(address: Option<String>, timeout: Duration, dialog: Dialog) -> Self {
        DesktopNotifier {
            address,
            timeout,
            dialog,
            page: PageLink::default(),
        }
    }

    /// Offers the answer page through `page` (tests give a link with an opener of their own).
    pub fn with_page(mut self, page: PageLink) -> Self {
        self.page = page;
        self
    }

    /// Asks the server what it can do. [`NotifyError::Unavailable`] when there is no bus or no
    /// server on it.
    pub async fn probe(&self) -> Result<Capabilities, NotifyError> {
        let conn = self.connect().await?;
        capabilities(&conn).await
    }

    async fn connect(&self) -> Result<Connection, NotifyError> {
        let builder = match &self.address {
            Some(a) => zbus::connection::Builder::address(a.as_str()),
            None => zbus::connection::Builder::session(),
        };
        match tokio::time::timeout(CALL_TIMEOUT, builder.build()).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(NotifyError::Unavailable(format!(
                "cannot connect to the D-Bus session bus ({e}); is DBUS_SESSION_BUS_ADDRESS set?"
            ))),
            Err(_) => Err(NotifyError::Unavailable(format!(
                "the D-Bus session bus did not accept a connection within {}s",
                CALL_TIMEOUT.as_secs()
            ))),
        }
    }

    async fn show(&self, prompt: &PromptView, showing: &Showing) -> Result<Reply, NotifyError> {
        let conn = self.connect().await?;
        let caps = capabilities(&conn).await?;
        let mut shown = text::notification(prompt, caps.body_markup);
        let can_ask = self.dialog.is_available();
        if !caps.actions {
            tracing::debug!(prompt = %prompt.key, "the notification server shows no buttons; asking in a dialog");
            shown.actions.clear();
            // Without buttons the page is the richer way to answer, so its address is written
            // where the person looks (docs/design.md, "Prompts and action keys").
            if let Some(url) = self.page.meeting_url(&prompt.meeting) {
                let line = text::page_line(&url);
                shown.body.push('\n');
                shown.body.push_str(&if caps.body_markup {
                    text::escape_markup(&line)
                } else {
                    line
                });
            } else if !can_ask {
                let hint = match prompt.kind {
                    crate::model::PromptKind::Objective => "Answer with: nextstep objective TEXT",
                    crate::model::PromptKind::Outcome => "Answer with: nextstep outcome VALUE",
                };
                shown.body.push('\n');
                shown.body.push_str(hint);
            }
        }

        // Subscribe before Notify, so a click that comes at once is not lost. Two rules (not one
        // for the whole interface): the test server counts them to know we listen.
        let mut actions = subscribe(&conn, "ActionInvoked").await?;
        let mut closes = subscribe(&conn, "NotificationClosed").await?;

        if showing.is_withdrawn() {
            return Err(NotifyError::Withdrawn(showing.withdrawn().await));
        }
        let on_screen = notify(&conn, &shown, self.timeout).await?;
        let id = on_screen.id;
        tracing::info!(prompt = %prompt.key, id, kind = %prompt.kind, "prompt shown");
        showing.shown_as(on_screen.persistent_id());

        // Withdrawn while waiting: dropping the wait kills a dialog it opened (`kill_on_drop`),
        // and the notification is closed here.
        tokio::select! {
            r = self.wait_for_answer(prompt, &conn, id, caps.actions, &mut actions, &mut closes) => r,
            why = showing.withdrawn() => {
                tracing::info!(prompt = %prompt.key, id, answered = %why, "answered elsewhere; closing the notification");
                close(&conn, id).await;
                Err(NotifyError::Withdrawn(why))
            }
        }
    }

    /// After `Notify`: a click, a close, or the timeout.
    async fn wait_for_answer(
        &self,
        prompt: &PromptView,
        conn: &Connection,
        id: u32,
        has_actions: bool,
        actions: &mut MessageStream,
        closes: &mut MessageStream,
    ) -> Result<Reply, NotifyError> {
        if !has_actions {
            let reply = if self.dialog.is_web() {
                self.answer_on_page(prompt).await
            } else {
                Reply {
                    answer: self.dialog.ask(prompt).await,
                    via: Via::Dialog,
                }
            };
            close(conn, id).await;
            return Ok(reply);
        }

        let event = tokio::time::timeout(self.timeout, async {
            loop {
                tokio::select! {
                    // A click sends ActionInvoked then NotificationClosed; both may be queued by
                    // the time we look, so the action must be seen first.
                    biased;
                    m = next(actions) => match m {
                        Some(msg) => {
                            if let Some(key) = action_for(&msg, id) {
                                return Ok(BusSignal::Action(key));
                            }
                        }
                        None => return Err(()),
                    },
                    m = next(closes) => match m {
                        Some(msg) => {
                            if let Ok((nid, reason)) = msg.body().deserialize::<(u32, u32)>()
                                && nid == id
                            {
                                return Ok(BusSignal::Closed(reason));
                            }
                        }
                        None => return Err(()),
                    },
                }
            }
        })
        .await;

        let reply = |answer| Reply {
            answer,
            via: Via::Notification,
        };
        match event {
            Err(_) => {
                tracing::info!(prompt = %prompt.key, id, timeout = ?self.timeout, "no answer in time; closing the notification");
                close(conn, id).await;
                Ok(reply(Answer::Dismissed))
            }
            Ok(Err(())) => Err(NotifyError::Failed(
                "lost the D-Bus connection while waiting for an answer".into(),
            )),
            Ok(Ok(BusSignal::Closed(reason))) => {
                // QUIRK: a server may report the close of a clicked notification before the
                // click itself; give the action a moment to arrive.
                let late = tokio::time::timeout(CLOSE_GRACE, async {
                    while let Some(msg) = next(actions).await {
                        if let Some(key) = action_for(&msg, id) {
                            return Some(key);
                        }
                    }
                    None
                })
                .await;
                if let Ok(Some(key)) = late {
                    return self.answer_action(prompt, conn, id, key).await;
                }
                tracing::info!(prompt = %prompt.key, id, reason, "notification closed without an answer");
                Ok(reply(Answer::Dismissed))
            }
            Ok(Ok(BusSignal::Action(key))) => self.answer_action(prompt, conn, id, key).await,
        }
    }

    async fn answer_action(
        &self,
        prompt: &PromptView,
        conn: &Connection,
        id: u32,
        key: String,
    ) -> Result<Reply, NotifyError> {
        tracing::info!(prompt = %prompt.key, id, key = %key, "notification answered");
        // Servers remove a notification after a click, but not all (resident ones stay): make
        // sure no stale prompt is left on screen.
        close(conn, id).await;
        match text::action(prompt, &key) {
            Action::Answer(answer) => Ok(Reply {
                answer,
                via: Via::Notification,
            }),
            Action::Body if self.page.is_serving() => Ok(self.answer_on_page(prompt).await),
            Action::Open if self.dialog.is_web() => Ok(self.answer_on_page(prompt).await),
            Action::Open | Action::Body => Ok(Reply {
                answer: self.dialog.ask(prompt).await,
                via: Via::Dialog,
            }),
        }
    }

    /// The meeting's page, waiting for the answer given there ([`super::answer_on_page`]). When
    /// the page cannot be opened, the dialog asks instead (or nothing, with
    /// `prompts.dialog = "web"`: the prompt then comes back).
    async fn answer_on_page(&self, prompt: &PromptView) -> Reply {
        match super::answer_on_page(&self.page, prompt, self.timeout).await {
            Some(answer) => Reply {
                answer,
                via: Via::Notification,
            },
            None => Reply {
                answer: self.dialog.ask(prompt).await,
                via: Via::Dialog,
            },
        }
    }
}

/// The action key of an `ActionInvoked` signal for notification `id`.
fn action_for(msg: &zbus::Message, id: u32) -> Option<String> {
    match msg.body().deserialize::<(u32, String)>() {
        Ok((nid, key)) if nid == id => Some(key),
        _ => None,
    }
}

enum BusSignal {
    Action(String),
    Closed(u32),
}

impl Notifier for DesktopNotifier {
    fn ask_showing<'a>(&'a self, prompt: &'a PromptView, showing: &'a Showing) -> AskFuture<'a> {
        Box::pin(self.show(prompt, showing))
    }

    fn page(&self) -> Option<&PageLink> {
        Some(&self.page)
    }

    fn close_stale<'a>(
        &'a self,
        notification_id: &'a str,
    ) -> Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            let Ok(conn) = self.connect().await else {
                return;
            };
            let owner = server_owner(&conn).await;
            // Servers let any client close a notification by id; one already gone is fine. A
            // server that restarted since numbers afresh: its id may be another program's.
            match id_if_same_server(notification_id, owner.as_deref()) {
                Some(id) => {
                    close(&conn, id).await;
                    tracing::debug!(id, "closed a notification left by an earlier process");
                }
                None => tracing::debug!(
                    notification_id,
                    "not closing a notification of another server process"
                ),
            }
        })
    }

    fn tell<'a>(
        &'a self,
        summary: &'a str,
        body: &'a str,
    ) -> Pin<Box<dyn std::future::Future<Output = Result<(), NotifyError>> + Send + 'a>> {
        Box::pin(async move {
            let conn = self.connect().await?;
            let caps = capabilities(&conn).await?;
            let body = if caps.body_markup {
                text::escape_markup(body)
            } else {
                body.to_string()
            };
            let shown = text::NotificationText {
                summary: summary.to_string(),
                body,
                actions: Vec::new(),
            };
            // The server's default display time: a message, not a question.
            notify(&conn, &shown, Duration::ZERO).await.map(|_| ())
        })
    }
}

/// Calls `method` of the notification server with `body`, bounded by [`CALL_TIMEOUT`]; `Err` when
/// no answer came in time, with the sentence that says so.
async fn call<B>(
    conn: &Connection,
    method: &str,
    body: &B,
) -> Result<zbus::Result<zbus::Message>, String>
where
    B: serde::Serialize + zbus::zvariant::DynamicType,
{
    let call = conn.call_method(Some(NAME), PATH, Some(INTERFACE), method, body);
    tokio::time::timeout(CALL_TIMEOUT, call).await.map_err(|_| {
        format!(
            "the notification server did not answer {method} within {}s",
            CALL_TIMEOUT.as_secs()
        )
    })
}

async fn capabilities(conn: &Connection) -> Result<Capabilities, NotifyError> {
    let reply = match call(conn, "GetCapabilities", &()).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            return Err(NotifyError::Unavailable(format!(
                "no notification server on the session bus ({e}); start one (e.g. dunst, xfce4-notifyd) or use the terminal"
            )));
        }
        Err(late) => return Err(NotifyError::Unavailable(late)),
    };
    let list: Vec<String> = reply.body().deserialize().map_err(|e| {
        NotifyError::Unavailable(format!(
            "the notification server answered GetCapabilities with something else than a list: {e}"
        ))
    })?;
    Ok(Capabilities::from_list(list))
}

async fn subscribe(conn: &Connection, member: &'static str) -> Result<MessageStream, NotifyError> {
    let failed = |e: zbus::Error| {
        NotifyError::Failed(format!(
            "cannot listen for {member} on the session bus: {e}"
        ))
    };
    let rule = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(INTERFACE)
        .path(PATH)
        .member(member)
        .build()
        .map_err(failed)?;
    // A handful of signals per prompt at most; the bound only guards against a flooding server.
    let queue = NonZeroUsize::new(64);
    match tokio::time::timeout(
        CALL_TIMEOUT,
        MessageStream::for_match_rule(rule, conn, queue),
    )
    .await
    {
        Ok(r) => r.map_err(failed),
        Err(_) => Err(NotifyError::Failed(format!(
            "the session bus did not accept a subscription to {member} within {}s",
            CALL_TIMEOUT.as_secs()
        ))),
    }
}

async fn notify(
    conn: &Connection,
    shown: &text::NotificationText,
    timeout: Duration,
) -> Result<Shown, NotifyError> {
    let actions: Vec<&str> = shown
        .actions
        .iter()
        .flat_map(|(k, l)| [k.as_str(), l.as_str()])
        .collect();
    let mut hints: HashMap<&str, Variant<'_>> = HashMap::new();
    // 1 = normal: a prompt is not an emergency, but "low" gets hidden by some servers.
    hints.insert("urgency", Variant::from(1u8));
    hints.insert("desktop-entry", Variant::from(APP));
    hints.insert("category", Variant::from("x-nextstep.prompt"));
    // -1 = the server's own default (`Duration::ZERO` here); otherwise milliseconds, capped to
    // what the protocol holds. Never 0, which would mean "never expires".
    let expire: i32 = if timeout.is_zero() {
        -1
    } else {
        i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX)
    };
    let args = (
        APP,
        0u32,
        "appointment-soon",
        shown.summary.as_str(),
        shown.body.as_str(),
        actions,
        hints,
        expire,
    );
    let reply = match call(conn, "Notify", &args).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) if is_no_server(&e) => {
            return Err(NotifyError::Unavailable(format!(
                "the notification server went away ({e})"
            )));
        }
        Ok(Err(e)) => {
            return Err(NotifyError::Failed(format!(
                "the notification server refused the notification: {e}"
            )));
        }
        Err(late) => return Err(NotifyError::Failed(late)),
    };
    let id = reply.body().deserialize::<u32>().map_err(|e| {
        NotifyError::Failed(format!(
            "the notification server answered Notify without an id: {e}"
        ))
    })?;
    Ok(Shown {
        id,
        server: reply
            .header()
            .sender()
            .map(|s| server_name(conn, s.as_str())),
    })
}

/// A notification server process, as [`Shown`] names it: its unique bus name and the bus's
/// GUID (unique names restart with each bus, at each login).
fn server_name(conn: &Connection, unique: &str) -> String {
    format!("{unique}@{}", conn.server_guid())
}

/// A notification on screen: its id, and the server process that gave it ([`server_name`]).
struct Shown {
    id: u32,
    server: Option<String>,
}

impl Shown {
    /// What the ledger keeps (`ID@SERVER`): ids are numbered afresh by each server process, so an
    /// id alone could name another program's notification after the server restarted; a unique
    /// bus name is never reused while its bus lives.
    fn persistent_id(&self) -> String {
        match &self.server {
            Some(server) => format!("{}@{server}", self.id),
            None => self.id.to_string(),
        }
    }
}

/// The notification id of a [`Shown::persistent_id`], when the server named in it (if any) is
/// `current`, the server that owns the notification name now.
fn id_if_same_server(persistent: &str, current: Option<&str>) -> Option<u32> {
    match persistent.split_once('@') {
        Some((id, server)) if Some(server) == current => id.parse().ok(),
        Some(_) => None,
        None => persistent.parse().ok(),
    }
}

/// The unique bus name that owns the notification name now.
async fn server_owner(conn: &Connection) -> Option<String> {
    let call = conn.call_method(
        Some("org.freedesktop.DBus"),
        "/org/freedesktop/DBus",
        Some("org.freedesktop.DBus"),
        "GetNameOwner",
        &NAME,
    );
    let reply = tokio::time::timeout(CALL_TIMEOUT, call).await.ok()?.ok()?;
    let unique = reply.body().deserialize::<String>().ok()?;
    Some(server_name(conn, &unique))
}

/// Best effort: a notification that is already gone is fine.
async fn close(conn: &Connection, id: u32) {
    match call(conn, "CloseNotification", &id).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::debug!(id, error = %e, "CloseNotification failed"),
        Err(_) => tracing::debug!(id, "CloseNotification got no answer"),
    }
}

fn is_no_server(e: &zbus::Error) -> bool {
    let msg = e.to_string();
    msg.contains("ServiceUnknown") || msg.contains("NameHasNoOwner")
}

async fn next(stream: &mut MessageStream) -> Option<zbus::Message> {
    loop {
        match poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await {
            None => return None,
            Some(Ok(m)) => return Some(m),
            // A malformed message on the bus is not ours to act on.
            Some(Err(e)) => tracing::debug!(error = %e, "skipping a bad D-Bus message"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_id_is_closed_only_on_the_server_that_gave_it() {
        let shown = Shown {
            id: 7,
            server: Some(":1.42@4b1d".into()),
        };
        let kept = shown.persistent_id();
        assert_eq!(kept, "7@:1.42@4b1d");
        assert_eq!(id_if_same_server(&kept, Some(":1.42@4b1d")), Some(7));
        assert_eq!(id_if_same_server(&kept, Some(":1.43@4b1d")), None);
        // The same unique name on another bus (after a new login) is another process.
        assert_eq!(id_if_same_server(&kept, Some(":1.42@77aa")), None);
        assert_eq!(id_if_same_server(&kept, None), None);
        // Without a server name (a reply without a sender), the id alone.
        assert_eq!(id_if_same_server("7", Some(":1.43")), Some(7));
        assert_eq!(id_if_same_server("seven", None), None);
    }
}
