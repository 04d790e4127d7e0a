//! A fake `org.freedesktop.Notifications` server (zbus 6) for tests: it records every `Notify`,
//! answers `GetCapabilities` with a configurable list, and lets the test "click" a button or close
//! a notification, emitting the same signals a real server does.
//!
//! ```ignore
//! let bus = PrivateBus::start();
//! let server = FakeNotificationServer::start(bus.address()).await;
//! // … start the code under test with DBUS_SESSION_BUS_ADDRESS = bus.address() …
//! let n = server.next_notification(Duration::from_secs(5)).await.expect("a notification");
//! server.click(n.id, "objective:0").await;
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use zbus::object_server::SignalEmitter;
use zbus::{Connection, OwnedVariant, interface};

pub const PATH: &str = "/org/freedesktop/Notifications";
pub const NAME: &str = "org.freedesktop.Notifications";

/// What a server like xfce4-notifyd or GNOME Shell advertises.
pub const DEFAULT_CAPABILITIES: &[&str] = &["actions", "body", "body-markup", "persistence"];

/// Close reasons of the notification spec (1 is "expired", which no test sends).
pub const CLOSED_BY_USER: u32 = 2;
pub const CLOSED_BY_CALL: u32 = 3;

/// One `Notify` call as the server saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The id the server gave back.
    pub id: u32,
    pub app: String,
    pub replaces_id: u32,
    pub icon: String,
    pub summary: String,
    pub body: String,
    /// `(key, label)` pairs, in order.
    pub actions: Vec<(String, String)>,
    /// Hint values rendered as text: booleans `true`/`false`, numbers in decimal, strings bare.
    pub hints: BTreeMap<String, String>,
    /// `expire_timeout` in milliseconds (-1 = server default, 0 = never).
    pub timeout: i32,
    /// The unique bus name of the caller.
    pub sender: String,
}

impl Recorded {
    pub fn action_keys(&self) -> Vec<&str> {
        self.actions.iter().map(|(k, _)| k.as_str()).collect()
    }

    pub fn label_of(&self, key: &str) -> Option<&str> {
        self.actions
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, l)| l.as_str())
    }
}

#[derive(Default)]
struct State {
    records: Vec<Recorded>,
    /// Index of the next record `next_notification` hands out.
    cursor: usize,
    /// `CloseNotification` calls received, in order.
    close_calls: Vec<u32>,
    next_id: u32,
}

struct Shared {
    state: Mutex<State>,
    capabilities: Vec<String>,
    /// Bumped on every change so waiters can re-check.
    changed: tokio::sync::watch::Sender<u64>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n += 1);
    }
}

struct Server {
    shared: Arc<Shared>,
}

#[interface(name = "org.freedesktop.Notifications")]
impl Server {
    #[allow(clippy::too_many_arguments)] // the D-Bus method has eight arguments
    async fn notify(
        &self,
        app_name: String,
        replaces_id: u32,
        app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        hints: HashMap<String, OwnedVariant>,
        expire_timeout: i32,
        #[zbus(header)] header: zbus::message::Header<'_>,
    ) -> u32 {
        let sender = header.sender().map(|s| s.to_string()).unwrap_or_default();
        let id = {
            let mut st = self.shared.lock();
            let id = if replaces_id != 0 {
                replaces_id
            } else {
                st.next_id += 1;
                st.next_id
            };
            st.records.push(Recorded {
                id,
                app: app_name,
                replaces_id,
                icon: app_icon,
                summary,
                body,
                actions: actions
                    .chunks(2)
                    .map(|c| (c[0].clone(), c.get(1).cloned().unwrap_or_default()))
                    .collect(),
                hints: hints.iter().map(|(k, v)| (k.clone(), render(v))).collect(),
                timeout: expire_timeout,
                sender,
            });
            id
        };
        self.shared.bump();
        id
    }

    async fn close_notification(
        &self,
        id: u32,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> zbus::fdo::Result<()> {
        {
            let mut st = self.shared.lock();
            st.close_calls.push(id);
        }
        self.shared.bump();
        Server::notification_closed(&emitter, id, CLOSED_BY_CALL).await?;
        Ok(())
    }

    async fn get_capabilities(&self) -> Vec<String> {
        self.shared.capabilities.clone()
    }

    #[zbus(out_args("name", "vendor", "version", "spec_version"))]
    async fn get_server_information(&self) -> (String, String, String, String) {
        (
            "fake-notifications".into(),
            "nextstep tests".into(),
            "1.0".into(),
            "1.2".into(),
        )
    }

    #[zbus(signal)]
    async fn action_invoked(
        emitter: &SignalEmitter<'_>,
        id: u32,
        action_key: &str,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn notification_closed(
        emitter: &SignalEmitter<'_>,
        id: u32,
        reason: u32,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn notification_replied(
        emitter: &SignalEmitter<'_>,
        id: u32,
        text: &str,
    ) -> zbus::Result<()>;
}

fn render(v: &OwnedVariant) -> String {
    if let Ok(b) = bool::try_from(v) {
        return b.to_string();
    }
    if let Ok(n) = u8::try_from(v) {
        return n.to_string();
    }
    if let Ok(n) = i32::try_from(v) {
        return n.to_string();
    }
    if let Ok(n) = u32::try_from(v) {
        return n.to_string();
    }
    if let Ok(s) = <&str>::try_from(v) {
        return s.to_string();
    }
    format!("{v:?}")
}

/// The fake server, owning `org.freedesktop.Notifications` on the given bus until dropped.
pub struct FakeNotificationServer {
    conn: Connection,
    shared: Arc<Shared>,
}

impl FakeNotificationServer {
    /// Starts a server with [`DEFAULT_CAPABILITIES`].
    pub async fn start(bus_address: &str) -> Self {
        Self::start_with_capabilities(bus_address, DEFAULT_CAPABILITIES).await
    }

    /// Starts a server advertising exactly `capabilities` (e.g. without `actions`, like some minimal
    /// servers).
    pub async fn start_with_capabilities(bus_address: &str, capabilities: &[&str]) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            capabilities: capabilities.iter().map(|s| s.to_string()).collect(),
            changed: tokio::sync::watch::Sender::new(0),
        });
        let conn = zbus::connection::Builder::address(bus_address)
            .name(NAME)
            .serve_at(
                PATH,
                Server {
                    shared: shared.clone(),
                },
            )
            .build()
            .await
            .unwrap_or_else(|e| {
                panic!("the fake notification server cannot start on {bus_address}: {e}")
            });
        FakeNotificationServer { conn, shared }
    }

    /// Every notification shown so far, in order.
    pub fn recorded(&self) -> Vec<Recorded> {
        self.shared.lock().records.clone()
    }

    /// Ids passed to `CloseNotification` by clients, in order.
    pub fn close_calls(&self) -> Vec<u32> {
        self.shared.lock().close_calls.clone()
    }

    /// The next notification not yet returned by this method, waiting up to `timeout` for it.
    pub async fn next_notification(&self, timeout: Duration) -> Option<Recorded> {
        let mut rx = self.shared.changed.subscribe();
        let wait = async {
            loop {
                {
                    let mut st = self.shared.lock();
                    if st.cursor < st.records.len() {
                        let r = st.records[st.cursor].clone();
                        st.cursor += 1;
                        return Some(r);
                    }
                }
                if rx.changed().await.is_err() {
                    return None;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.ok().flatten()
    }

    /// Fails, listing every notification shown, if the summary of one so far contains `text`.
    #[track_caller]
    pub fn assert_none_about(&self, text: &str) {
        let recorded = self.recorded();
        assert!(
            recorded.iter().all(|r| !r.summary.contains(text)),
            "a notification about {text:?} was shown: {recorded:?}"
        );
    }

    /// Fails, listing every notification shown, when one more is shown within `within`.
    pub async fn expect_none_within(&self, within: Duration) {
        if let Some(more) = self.next_notification(within).await {
            panic!(
                "one notification too many: {more:?}; all shown: {:?}",
                self.recorded()
            );
        }
    }

    /// Clicks the button `action_key` (or the body, with `"default"`) of notification `id`: emits
    /// `ActionInvoked` then `NotificationClosed` (reason 2), as a real server does.
    ///
    /// It first waits (at most 5 s) until the client that showed the notification listens for
    /// signals, since a client that subscribes only after `Notify` returns would miss a click that
    /// came earlier (a person is never that fast; a test is).
    pub async fn click(&self, id: u32, action_key: &str) {
        self.wait_until_listening(id).await;
        let emitter = self.emitter();
        Server::action_invoked(&emitter, id, action_key)
            .await
            .expect("emit ActionInvoked");
        self.close(id, CLOSED_BY_USER).await;
    }

    /// Closes notification `id` with `reason` (1 expired, 2 dismissed by the user, 3 closed by a
    /// call, 4 undefined) and emits `NotificationClosed`.
    pub async fn close(&self, id: u32, reason: u32) {
        Server::notification_closed(&self.emitter(), id, reason)
            .await
            .expect("emit NotificationClosed");
    }

    /// Gives up the bus name and the connection.
    pub async fn stop(self) {
        let _ = self.conn.release_name(NAME).await;
    }

    fn emitter(&self) -> SignalEmitter<'static> {
        SignalEmitter::new(&self.conn, PATH)
            .expect("a valid object path")
            .into_owned()
    }

    /// Waits (at most 5 s) until the client that showed notification `id` listens for signals;
    /// for tests that send their own signals (e.g. [`Self::close`] as a user's dismissal).
    pub async fn click_wait_until_listening(&self, id: u32) {
        self.wait_until_listening(id).await;
    }

    /// Waits until the sender of notification `id` has at least two match rules (`ActionInvoked`
    /// and `NotificationClosed`), asking the bus through `org.freedesktop.DBus.Debug.Stats`.
    async fn wait_until_listening(&self, id: u32) {
        let sender = self
            .shared
            .lock()
            .records
            .iter()
            .rev()
            .find(|r| r.id == id)
            .map(|r| r.sender.clone());
        let Some(sender) = sender else {
            return;
        };
        let Ok(stats) = zbus::fdo::StatsProxy::new(&self.conn).await else {
            return;
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let name = match zbus::names::BusName::try_from(sender.as_str()) {
                Ok(n) => n,
                Err(_) => return,
            };
            match stats.get_connection_stats(name).await {
                Ok(s) if s.match_rules().unwrap_or(0) >= 2 => return,
                Ok(_) => {}
                // The client is gone, or the bus has no stats interface: a short grace period
                // is then the best we can do.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    return;
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}
