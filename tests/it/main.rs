//! Every integration test of nextstep, in one binary (one link instead of one per area), one
//! module per area, and one `support` module with the harnesses they share: a private D-Bus with a
//! fake notification server, the daemon as a child process, a fake Google, a real Radicale.
//!
//! Run one area with `cargo nextest run --test it -E 'test(/^caldav::/)'` (or
//! `cargo test --test it caldav::`).

mod support;

mod caldav;
mod caldav_daemon;
mod cli;
mod cli_pipe;
mod coach_bench;
mod coach_cli;
mod coach_digest;
mod coach_prompts;
mod coach_web;
mod crash_loop;
mod daemon;
mod fuzz;
mod gaps_meetings;
mod gaps_page;
mod google;
mod google_daemon;
mod ics_source;
mod ledger_crash;
mod microsoft;
mod microsoft_cli;
mod microsoft_daemon;
mod notify_desktop;
mod notify_osascript;
mod notify_page;
mod prompts;
mod reconcile_daemon;
mod reload;
mod service;
mod source_fault_matrix;
mod source_faults;
mod tour_cli;
mod web;
mod web_bench;
mod web_browser;
mod web_harness;
