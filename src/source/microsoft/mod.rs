//! Microsoft 365 and Outlook.com calendars through Microsoft Graph (issue 11).
//!
//! What is here: the settings and endpoints ([`config`]), the sign-in and access tokens
//! ([`auth`]: device code by default, the browser with PKCE on request, refresh tokens rotated and
//! stored on every use), the pure projection of Graph's event JSON to meetings ([`json`]) and the
//! pure state of a `calendarView/delta` round ([`delta`]), and the [`MicrosoftSource`] that drives
//! the rounds over HTTP ([`source`]).
//!
//! TODO(#11): the registration as `kind = "microsoft"` in the config, `nextstep auth microsoft`
//! in the CLI, `check` listing the calendars found, and the fake of the identity platform and
//! Graph for the integration tests.

pub mod auth;
pub mod config;
pub mod delta;
pub mod json;
pub mod source;

pub use source::MicrosoftSource;
