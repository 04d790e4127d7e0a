//! Microsoft 365 and Outlook.com calendars through Microsoft Graph (issue 11).
//!
//! What is here: the settings and endpoints ([`config`]), the sign-in and access tokens
//! ([`auth`]: device code by default, the browser with PKCE on request, refresh tokens rotated and
//! stored on every use), the pure projection of Graph's event JSON to meetings ([`json`]) and the
//! pure state of a `calendarView/delta` round ([`delta`]).
//!
//! TODO(#11): the `CalendarSource` that drives the rounds over HTTP (401 refresh-once, 410 and
//! `syncStateNotFound`/`resyncRequired` resync, 429/503 `Retry-After`), its registration as
//! `kind = "microsoft"` in the config and `nextstep auth microsoft` in the CLI, and the fake of
//! the identity platform and Graph for the integration tests.

pub mod auth;
pub mod config;
pub mod delta;
pub mod json;
