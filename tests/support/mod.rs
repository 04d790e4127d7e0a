//! Shared helpers for the integration tests: a private D-Bus and a fake notification server.
//! Each test binary includes this with `mod support;` and uses only part of it.
#![allow(dead_code)] // each test binary uses a different subset of the helpers

pub mod dbus;
pub mod notifications;
