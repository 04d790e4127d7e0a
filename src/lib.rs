//! nextstep: before every customer meeting, ask what you want the customer to commit to; after it,
//! ask whether they did; keep every answer.
//!
//! The design, the user-facing contract and where the build departed from the original plan are
//! in `docs/design.md`; code cites it by section title.
//!
//! # Data flow
//!
//! ```text
//! calendars ─poll─► source ─Meeting─► classify ─Verdict─► plan ─PlannedPrompt─► daemon
//! (ICS file/URL,    (a poll task per                       ▲                     │    │ PromptView
//!  CalDAV, Google,   calendar; snapshot                    │ states,             │    ▼
//!  Microsoft 365)    on disk)                              │ overrides    shown  │  notify
//!                                                          │                     ▼    │ answer
//!                                                          └─────────────── ledger ◄──┘
//!                                                                            ▲  │
//!                     CLI: objective, outcome ───────────────────────────────┘  │
//!                     CLI: pending, report, export ◄────────────────────────────┘
//! ```
//!
//! `classify` and `plan` are pure and run on every poll, answer and loop turn; `plan` is
//! recomputed from the ledger each time, so there is no timer queue to persist and a restart
//! plans exactly what the previous process would have. The daemon's loop sleeps at most 30 s
//! towards the next wall-clock due time (a suspended laptop stops tokio's monotonic timers),
//! records a prompt as shown before a prompt task shows it, and the task records the answer
//! under a unique key.
//!
//! # Modules
//!
//! Domain (pure):
//! - [`model`]: the types every module speaks: `Meeting` and its id format, `Verdict`,
//!   `PlannedPrompt` and its ledger key, `Answer`, `Outcome`, `Via`, `MeetingState`, the ledger's
//!   read models (`LedgerRow`, `PendingItem`); `stable_hash`.
//! - [`classify`]: meeting + identity + rules + accounts + override → customer or not, and why;
//!   `Classifier` remembers per-domain facts across one poll; `classify_all` for many meetings;
//!   the personal-mail and non-person domain lists.
//! - [`plan`]: classified meetings + ledger states + now → prompts due and when, objectives missed,
//!   cancellations to record; the snooze and pending rules.
//! - [`export`]: ledger rows → JSON lines or CSV (RFC 4180, formula-injection guard).
//! - [`report`]: ledger rows → objective, commitment and advance rates by week and account; with
//!   `coaching`, the sell cycle and the slipped count.
//! - [`coach`]: ledger rows + account marks → the next rung of the ladder and why (`ladder`), won,
//!   lost or open (`status`), slipped commitments (`slipped`), the sell cycle (`cycle`), the weekly
//!   look back (`digest`).
//!
//! Calendars:
//! - [`source`]: the `CalendarSource` trait, `Fetched`, `SourceError`, `SourceContext`, `build`;
//!   `ical/` (iCalendar text → occurrences, pure: `scan`, `zones`, `events`, `participants`,
//!   `expansion`, `recurrence`), `ics` (a file, or a URL with conditional GET), `caldav/`
//!   (`client` transport, `discovery`, the pure sync `strategy`, `sync`, `state`, `xml`),
//!   `google/` (`events.list` with sync tokens, its JSON, its sign-in), `microsoft/` (Graph
//!   calendarView delta, its JSON, its sign-in), `snapshot` (the last good poll, on disk).
//! - [`auth`]: sign-in and tokens shared by providers: `store` (keyring or a 0600 file),
//!   `loopback` (authorization code with PKCE and a loopback redirect), `device` (device-code
//!   grant), `session` (refresh, rotated refresh tokens kept), `oauth_http` (the oauth2 crate over
//!   our reqwest), `sign_in`.
//! - [`http`]: the one HTTP client builder and its rules: loopback test, URL redaction, reqwest
//!   error text, `Retry-After`.
//! - [`secret`]: `Secret` (redacted `Debug`, no `Display`) and where secrets come from (command,
//!   environment, literal).
//!
//! Prompts and answers:
//! - [`notify`]: the `Notifier` trait and `pick`; `text` (summary, body, action keys ↔ answers,
//!   pure), `desktop` (org.freedesktop.Notifications over zbus), `dialog` (zenity, kdialog,
//!   osascript or the user's program), `terminal` (stderr + one line of stdin).
//! - [`ledger`]: SQLite (WAL, `synchronous=FULL`): `schema` and migrations (answer rows are
//!   append-only by trigger), `write` (meetings, showings, answers, corrections, overrides,
//!   idempotent by key; the first answer stands; account marks), `query` (one account's meetings
//!   without the rest, too), `fold` (a meeting's state, pure), `codec` (how times, days and enums
//!   are stored).
//!
//! - [`web`]: the answer page on 127.0.0.1 (served by the daemon, or `nextstep serve`): every
//!   answer and the reports in a browser, behind a Host, token, Origin and CSRF gate; answers are
//!   the same ledger writes as the CLI's; charts are SVG drawn on the server; `link` gives the
//!   notifiers a meeting's address while the page is served (a body click opens it).
//!
//! Running:
//! - [`daemon`]: the scheduler loop (`mod`), a poll task per source with backoff (`poll`), a task
//!   per prompt on screen (`prompt`); readiness and stopping.
//! - [`cli`]: one file per command (a clap struct whose doc is its `--help`, a result that is
//!   `Serialize + Display`); `output` decides text or JSON; `common` is the commands' context.
//! - [`demo`]: `nextstep demo`: writes a calendar and a config, runs the real daemon, prints the
//!   ledger.
//! - [`signals`]: SIGTERM and SIGINT as one cancellation token.
//! - [`config`]: `raw` TOML shapes (`deny_unknown_fields`), `validate` into `Config`, `values`
//!   (durations, URLs, secrets, lists), `range` (every duration and count is bounded), `error`
//!   (file, line, column, key, hint); the starter config.
//! - [`paths`]: where the config, the data directory, the ledger and each source's state live.
//! - [`lock`]: one daemon per ledger (an advisory lock on `<ledger>.lock`).
//! - [`clock`]: the only reader of "now"; `ManualClock` for tests.
//! - [`fsutil`]: private directories (0700) and files (0600), atomic replacement.
//! - [`service`]: `service install | uninstall | status` for systemd (user unit from one
//!   template) and launchd (agent written with the plist crate); the watchdog and status line.
//! - [`memory`]: gives freed memory back to the OS after a poll (`malloc_trim`; the one `unsafe`).
//!
//! The binary (`main.rs`) parses the command line, sets up logging (journald under systemd,
//! stderr otherwise) on a current-thread runtime, and maps errors to exit codes: 0, 1 runtime
//! failure, 2 bad usage or bad config.
//!
//! # What we do not do
//!
//! - Write to calendars, or accept invitations on the user's behalf.
//! - Send anything anywhere but requests to the user's own calendars: no telemetry, no server of
//!   ours, no shared OAuth client.
//! - Keep secrets in the config or write them anywhere but the keyring or a 0600 token file; log a
//!   secret at any level, or a meeting title above `trace`.
//! - Trust a server's recurrence expansion: occurrences are always expanded here.
//! - Persist timers: deadlines are recomputed from the ledger on every turn of the loop.
//! - Rewrite or delete answers: the ledger is append-only; state is a fold of its rows, and a
//!   change of mind is a correction row.

pub mod auth;
pub mod classify;
pub mod cli;
pub mod clock;
pub mod coach;
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
pub mod service;
pub mod signals;
pub mod source;
pub mod web;
