//! Microsoft 365 and Outlook.com calendars through Microsoft Graph (issue 11).
//!
//! What is here: the settings and endpoints ([`config`]), the sign-in and access tokens
//! ([`auth`]: device code by default, the browser with PKCE on request, refresh tokens rotated and
//! stored on every use), the pure projection of Graph's event JSON to meetings ([`json`]) and the
//! pure state of a `calendarView/delta` round ([`delta`]), and the [`MicrosoftSource`] that drives
//! the rounds over HTTP ([`source`]). `check` shows what [`MicrosoftSource`] describes: per
//! configured calendar, the meetings in the window, and the calendars the account has.
//!
//! The integration tests run all of it against a fake of the identity platform and of Graph
//! (`tests/it/support/microsoft.rs`).

pub mod auth;
pub mod config;
pub mod delta;
pub mod json;
pub mod source;

pub use source::MicrosoftSource;
