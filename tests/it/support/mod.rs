//! The harnesses the integration tests share: a private D-Bus and a fake notification server
//! (`dbus`, `notifications`), the meetings' iCalendar text (`calendar`), the real binary as a
//! child process (`daemon`), an ICS source as the daemon builds one (`ics`), a fake of Google's
//! OAuth and Calendar API (`google`), a fake of Microsoft's identity platform and Graph
//! (`microsoft`) and what those two share (`provider`, `oauth`), a misbehaving HTTP server
//! (`faulty`), a real Radicale CalDAV server (`radicale`), a headless Chromium over WebDriver for
//! the answer page (`webdriver`) and a browser opener that records what it opens (`opener`); the
//! desktop notifier in the test's own process against the fake server (`desktop`); for single
//! commands, the one-calendar config most of them start from (`one_calendar`) and the reading of
//! a finished run's output with its success check (`output`).
//!
//! Driving the whole daemon end to end:
//!
//! ```ignore
//! let bus = support::dbus::PrivateBus::start();            // dies with the test, even on kill -9
//! let server = support::notifications::FakeNotificationServer::start(bus.address()).await;
//! let daemon = tokio::process::Command::new(env!("CARGO_BIN_EXE_nextstep"))
//!     .args(["--config", cfg, "run"])
//!     .env("DBUS_SESSION_BUS_ADDRESS", bus.address())
//!     .kill_on_drop(true)
//!     .spawn()?;
//! let n = server.next_notification(Duration::from_secs(10)).await.expect("objective prompt");
//! assert!(n.summary.starts_with("Before \"Acme"));
//! server.click(n.id, "objective:0").await;                 // waits until the daemon listens
//! ```
//!
//! `prompts.dialog = ["/path/to/script"]` in the config makes `open` answer without a display (see
//! the protocol in `src/notify/dialog.rs`).

pub mod calendar;
pub mod daemon;
pub mod dbus;
pub mod desktop;
pub mod faulty;
pub mod fuzz;
pub mod google;
pub mod ics;
pub mod microsoft;
pub mod notifications;
pub mod oauth;
pub mod one_calendar;
pub mod opener;
pub mod output;
pub mod provider;
pub mod radicale;
pub mod webdriver;
