//! nextstep: before every customer meeting, ask what you want the customer to commit to; after it,
//! ask whether they did; keep every answer.
//!
//! Architecture (see DESIGN.md):
//!
//! ```text
//! calendars ──poll──► source ──Meeting──► classify ──► plan ──► timer ──due──► notify ──answer──► ledger
//! ```
//!
//! - [`source`]: one [`source::CalendarSource`] per configured calendar (ICS, CalDAV, Google); I/O
//!   in the source files, pure conversions in `ical` and `google_json`.
//! - [`classify`]: pure; meeting + rules -> customer or not, and why.
//! - [`plan`]: pure; meetings + ledger state + now -> the prompts that should exist and when.
//! - [`notify`]: shows a prompt and brings back an answer (desktop notification, dialog, terminal).
//! - [`ledger`]: SQLite; every prompt shown and every answer given, idempotently.
//! - [`daemon`]: the wiring: poll tasks, the deadline queue, signals, readiness.
//! - [`web`]: the answer page on 127.0.0.1 (served by the daemon, or `nextstep serve`): every
//!   answer and the reports in a browser, behind a Host, token, Origin and CSRF gate; answers
//!   are the same ledger writes as the CLI's.
//!
//! What we do not do: write to calendars, send anything anywhere but calendar requests, or keep
//! secrets in the config.

pub mod auth;
pub mod classify;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod export;
pub mod fsutil;
pub mod http;
pub mod ledger;
pub mod lock;
pub mod memory;
pub mod model;
pub mod notify;
pub mod paths;
pub mod plan;
pub mod report;
pub mod secret;
pub mod signals;
pub mod source;
pub mod web;
