//! The page's HTML, written with maud: templates compiled with the program, every text node and
//! attribute escaped (a meeting title comes from whoever sent the invitation, and `<script>` in
//! it must show as text). Usable without JavaScript and with nothing loaded from elsewhere: one
//! style sheet, served by the page itself or, in a report written to a file, inlined.

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::charts;
use super::security::CSRF_FIELD;
use super::view::{Home, MeetingPage, ReportPage};
use crate::coach::{CycleGroup, SellCycle, Slipped, Suggestion};
use crate::ledger::PendingItem;
use crate::model::{LedgerRow, Outcome, PromptKind, Via};
use crate::report::Stats;

/// The style sheet (`/style.css`).
pub const STYLE: &str = include_str!("style.css");

/// How the style sheet reaches the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Css {
    /// `<link>` to `/style.css` (served: the CSP allows no inline style).
    Linked,
    /// Inside the page (a report written to one file).
    Inline,
}

/// What a form needs besides its fields: the CSRF token, and a fresh nonce that makes a
/// resubmitted form the same ledger key (a retry) rather than a second answer.
pub struct FormCtx<'a> {
    pub csrf: &'a str,
}

impl FormCtx<'_> {
    fn hidden(&self, id: &str) -> Markup {
        html! {
            input type="hidden" name=(CSRF_FIELD) value=(self.csrf);
            input type="hidden" name="nonce" value=(format!("{:016x}", fastrand::u64(..)));
            input type="hidden" name="id" value=(id);
        }
    }
}

/// A time as the pages show it: local, to the minute, with the weekday.
pub fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono::Local)
        .format("%a %Y-%m-%d %H:%M")
        .to_string()
}

/// The meeting page's address for `id`.
pub fn meeting_href(id: &str) -> String {
    format!(
        "/meeting?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("id", id)
            .finish()
    )
}

/// What each outcome value means, in plain words (as in the README).
pub fn explain(o: Outcome) -> &'static str {
    match o {
        Outcome::Committed => "they agreed to your objective",
        Outcome::Advanced => "they agreed to another specific next step",
        Outcome::Continuation => "friendly, but no specific commitment",
        Outcome::NoSale => "they said no",
        Outcome::NoShow => "they did not turn up",
        Outcome::Rescheduled => "the meeting moved to another time",
        Outcome::Cancelled => "the meeting did not take place",
    }
}

fn via(v: Via) -> &'static str {
    match v {
        Via::Notification => "a notification",
        Via::Dialog => "the dialog",
        Via::Terminal => "the terminal prompt",
        Via::Cli => "the command line",
        Via::Web => "this page",
        Via::Daemon => "nextstep itself",
    }
}

pub fn layout(title: &str, css: Css, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · nextstep" }
                @match css {
                    Css::Linked => link rel="stylesheet" href="/style.css";,
                    Css::Inline => style { (PreEscaped(STYLE)) },
                }
            }
            body {
                @if css == Css::Linked {
                    nav { a href="/" { "Home" } " " a href="/report" { "Report" } }
                }
                main { (body) }
            }
        }
    }
}

fn rate(r: Option<f64>) -> String {
    r.map_or("–".into(), |r| format!("{:.0}%", r * 100.0))
}

fn numbers(label: &str, s: &Stats) -> Markup {
    html! {
        tr {
            th { (label) }
            td { (s.meetings) }
            td { (rate(s.objective_rate)) }
            td { (rate(s.commitment_rate)) }
            td { (rate(s.advance_rate)) }
            td { (s.awaiting_outcome) }
        }
    }
}

fn numbers_head() -> Markup {
    html! {
        tr { th {} th { "meetings" } th { "objective set" } th { "committed" } th { "advanced" } th { "awaiting outcome" } }
    }
}

/// The one-click objective buttons and the free-text form for meeting `id`. A suggested rung
/// comes first, marked and with its why; the other objectives follow without it. Its button
/// sends the objective's text like every other button: the same answer, not a new path.
fn objective_forms(
    f: &FormCtx,
    id: &str,
    objectives: &[String],
    suggestion: Option<&Suggestion>,
    correct: bool,
) -> Markup {
    let first = suggestion.filter(|s| objectives.get(s.rung) == Some(&s.objective));
    html! {
        @if let Some(s) = first { p.suggestion { "Suggested next rung: " b { (s.objective) } " — " (s.why) } }
        form.choices method="post" action="/meeting/objective" {
            (f.hidden(id))
            @if correct { input type="hidden" name="correct" value="1"; }
            @if let Some(s) = first {
                button.suggested type="submit" name="objective" value=(s.objective) { (s.objective) }
            }
            @for (i, o) in objectives.iter().enumerate() {
                @if first.is_none_or(|s| s.rung != i) {
                    button type="submit" name="objective" value=(o) { (o) }
                }
            }
        }
        form method="post" action="/meeting/objective" {
            (f.hidden(id))
            @if correct { input type="hidden" name="correct" value="1"; }
            label { "Or in your words: " input type="text" name="objective" required maxlength="500"; }
            " " button type="submit" { "Set objective" }
        }
    }
}

/// The label of the outcome form's confirmation for a meeting that has not started: the page's
/// `outcome --force`.
pub const RECORD_EARLY: &str = "It has not started yet: record anyway";

/// The outcome form: the seven values explained, the next step, a note. For a meeting that has
/// not started (`early`), it carries the [`RECORD_EARLY`] box, which the page requires.
fn outcome_form(f: &FormCtx, id: &str, correct: bool, early: bool) -> Markup {
    html! {
        form.outcome method="post" action="/meeting/outcome" {
            (f.hidden(id))
            @if correct { input type="hidden" name="correct" value="1"; }
            @if early { label.early { input type="checkbox" name="early" value="1" required; " " (RECORD_EARLY) } }
            fieldset {
                legend { "How did it end?" }
                @for o in Outcome::ALL {
                    label.outcome-value {
                        input type="radio" name="result" value=(o.as_str()) required;
                        " " b { (o.as_str()) } ": " (explain(o))
                    }
                }
            }
            label { "Next step: " input type="text" name="next_step" maxlength="500"; }
            label { "Due by (YYYY-MM-DD, optional): " input type="date" name="due" pattern="[0-9]{4}-[0-9]{2}-[0-9]{2}" placeholder="YYYY-MM-DD"; }
            label { "Note: " textarea name="note" rows="2" maxlength="2000" {} }
            button type="submit" { "Record outcome" }
        }
    }
}

fn pending_item(
    f: &FormCtx,
    p: &PendingItem,
    objectives: &[String],
    suggestion: Option<&Suggestion>,
) -> Markup {
    html! {
        li.pending {
            a href=(meeting_href(p.meeting.as_str())) { (p.title) }
            " · " (local(p.start))
            @if let Some(a) = &p.account { " · " (a) }
            @match p.kind {
                PromptKind::Objective => (objective_forms(f, p.meeting.as_str(), objectives, suggestion, false)),
                // A pending outcome is for a meeting that ended (`Ledger::pending`).
                PromptKind::Outcome => (outcome_form(f, p.meeting.as_str(), false, false)),
            }
        }
    }
}

pub fn home(h: &Home, f: &FormCtx) -> Markup {
    let body = html! {
        h1 { "nextstep" }
        h2 { "Waiting for an answer" }
        @if h.pending.is_empty() { p.none { "Nothing waits for an answer." } }
        ul.pending { @for p in &h.pending { (pending_item(f, p, &h.objectives, h.suggestions.get(&p.meeting))) } }
        h2 { "Customer meetings in the next 7 days" }
        @if h.coming.is_empty() { p.none { "No customer meetings in the next 7 days." } }
        table.coming {
            @for c in &h.coming {
                tr {
                    td { (local(c.start)) }
                    td { a href=(meeting_href(c.id.as_str())) { (c.title) } }
                    td { (c.account.as_deref().unwrap_or("")) }
                    td {
                        @match &c.objective {
                            Some(o) => span.set { "objective: " (o) },
                            None => span.missing { "no objective yet" },
                        }
                    }
                }
            }
        }
        h2 { "This week and last" }
        table.numbers {
            (numbers_head())
            (numbers("this week", &h.this_week))
            (numbers("last week", &h.last_week))
        }
    };
    layout("Home", Css::Linked, body)
}

fn history_row(r: &LedgerRow) -> Markup {
    html! {
        tr {
            td { (local(r.start)) }
            td { a href=(meeting_href(r.id.as_str())) { (r.title) } }
            td { @if let Some(o) = &r.objective { (o.text) } @else if r.objective_missed { span.missing { "none set" } } }
            td {
                @if let Some(o) = &r.outcome {
                    b { (o.result.as_str()) }
                    @if let Some(n) = &o.next_step { " · next: " (n) }
                    @if let Some(d) = o.due { " · due " (d.format("%Y-%m-%d")) }
                    @if let Some(n) = &o.note { " · " (n) }
                }
            }
        }
    }
}

pub fn meeting(p: &MeetingPage, f: &FormCtx, notice: Option<&str>) -> Markup {
    let id = p.meeting.id.as_str();
    let started = p.meeting.start <= p.now;
    let ended = p.meeting.end <= p.now;
    let objective = p.row.as_ref().and_then(|r| r.objective.as_ref());
    let outcome = p.row.as_ref().and_then(|r| r.outcome.as_ref());
    let body = html! {
        h1 { (p.meeting.title) }
        p.when { (local(p.meeting.start)) " to " (local(p.meeting.end))
            @if let Some(a) = &p.verdict.account { " · account " b { (a) } } }
        p.why { @if p.verdict.customer { "A customer meeting: " } @else { "Not a customer meeting: " } (p.verdict.reason) }
        @if let Some(n) = notice { p.notice { (n) } }

        h2 { "Objective" }
        @if let Some(c) = &p.last_commitment { p.last { "Last time this account committed to: " b { (c) } } }
        @match (objective, &p.objective_by) {
            (Some(o), Some(by)) => {
                p.answer { "Objective: " b { (o.text) } " (from " (via(by.by)) ", " (local(by.at)) ")" }
                details { summary { "Correct the objective" } (objective_forms(f, id, &p.objectives, p.suggestion.as_ref(), true)) }
            }
            _ => {
                @if started { p.missing { "The meeting has started; an objective set now does not count as set before it." } }
                (objective_forms(f, id, &p.objectives, p.suggestion.as_ref(), false))
            }
        }

        h2 { "Outcome" }
        @match (outcome, &p.outcome_by) {
            (Some(o), Some(by)) => {
                p.answer { "Outcome: " b { (o.result.as_str()) } " — " (explain(o.result))
                    @if let Some(n) = &o.next_step { "; next step: " (n) }
                    @if let Some(d) = o.due { ", due " (d.format("%Y-%m-%d")) }
                    " (from " (via(by.by)) ", " (local(by.at)) ")" }
                @if let Some(n) = &o.note { p { "Note: " (n) } }
                details { summary { "Correct the outcome" } (outcome_form(f, id, true, !started)) }
            }
            _ if !started => {
                p.missing { "The meeting has not started yet: an outcome is for a meeting that took place." }
                details { summary { "Record an outcome anyway" } (outcome_form(f, id, false, true)) }
            }
            _ => {
                @if !ended { p { "The meeting has not ended yet; you can still record how it went in advance." } }
                (outcome_form(f, id, false, false))
            }
        }

        h2 { "Sales meeting?" }
        div.sales {
            @if p.verdict.customer {
                form method="post" action="/meeting/sales" {
                    (f.hidden(id)) input type="hidden" name="customer" value="false";
                    input type="hidden" name="scope" value="meeting";
                    button type="submit" { "Not a sales meeting" }
                }
                @if p.meeting.recurring {
                    form method="post" action="/meeting/sales" {
                        (f.hidden(id)) input type="hidden" name="customer" value="false";
                        input type="hidden" name="scope" value="series";
                        button type="submit" { "No meeting of this series is a sales meeting" }
                    }
                }
            } @else {
                form method="post" action="/meeting/sales" {
                    (f.hidden(id)) input type="hidden" name="customer" value="true";
                    input type="hidden" name="scope" value=(if p.meeting.recurring { "series" } else { "meeting" });
                    button type="submit" { "This is a sales meeting" }
                }
            }
        }

        h2 { "History" }
        @if p.history.is_empty() { p.none { "No meetings on record yet." } }
        table.history {
            tr { th { "when" } th { "meeting" } th { "objective" } th { "outcome" } }
            @for r in &p.history { (history_row(r)) }
        }
    };
    layout(&p.meeting.title, Css::Linked, body)
}

/// "Already answered": who answered first and when, and the explicit correction.
pub fn already_answered(
    p: &MeetingPage,
    f: &FormCtx,
    question: PromptKind,
    by: Via,
    at: DateTime<Utc>,
) -> Markup {
    let id = p.meeting.id.as_str();
    let body = html! {
        h1 { (p.meeting.title) }
        p.notice {
            "Already answered by " (via(by)) " at " (local(at))
            ". The first answer stands; yours was kept in the ledger but changes nothing."
        }
        p { "To replace the answer, correct it:" }
        @match question {
            PromptKind::Objective => (objective_forms(f, id, &p.objectives, p.suggestion.as_ref(), true)),
            PromptKind::Outcome => (outcome_form(f, id, true, p.meeting.start > p.now)),
        }
        p { a href=(meeting_href(id)) { "Back to the meeting" } }
    };
    layout("Already answered", Css::Linked, body)
}

pub fn message(title: &str, text: &str) -> Markup {
    layout(
        title,
        Css::Linked,
        html! { h1 { (title) } p { (text) } p { a href="/" { "Home" } } },
    )
}

/// The report page: the filters and downloads (when served), the charts, the stalled accounts
/// first, then the tables.
pub fn report(r: &ReportPage, css: Css) -> Markup {
    let rep = &r.report;
    let q = r.filter.query();
    let body = html! {
        h1 { "Report" }
        @if css == Css::Linked {
            form.filters method="get" action="/report" {
                label { "From " input type="date" name="since" value=(r.filter.since.map(|d| d.to_string()).unwrap_or_default()); }
                " " label { "to " input type="date" name="until" value=(r.filter.until.map(|d| d.to_string()).unwrap_or_default()); }
                " " label { "account "
                    select name="account" {
                        option value="" { "all" }
                        @for a in &r.accounts {
                            option value=(a) selected[r.filter.account.as_deref() == Some(a.as_str())] { (a) }
                        }
                    }
                }
                " " button type="submit" { "Show" }
            }
            p.downloads {
                "Download: " a href=(format!("/export.csv?{q}")) download="nextstep.csv" { "CSV" }
                " · " a href=(format!("/export.jsonl?{q}")) download="nextstep.jsonl" { "JSON lines" }
            }
        } @else {
            p { "Generated " (local(rep.generated_at))
                @if let Some(s) = r.filter.since { " · from " (s) }
                @if let Some(u) = r.filter.until { " · to " (u) }
                @if let Some(a) = &r.filter.account { " · account " (a) } }
        }
        @if !r.stalled.is_empty() {
            section.stalled {
                h2 { "Stalled accounts" }
                p { "Their latest outcomes were friendly meetings without a commitment (continuation), two or more in a row." }
                ul { @for s in &r.stalled {
                    li { b { (s.account) } ": " (s.streak) " in a row, last " (local(s.last)) }
                } }
            }
        }
        @if let Some(c) = &rep.coaching { (coaching(&c.sell_cycle, &r.slipped)) }
        h2 { "Totals" }
        table.numbers { (numbers_head()) (numbers("all", &rep.total)) }
        h2 { "By week" }
        @if rep.by_week.is_empty() { p.none { "No meetings in this period." } }
        @else { div.chart-box { (charts::rates_by_week(&rep.by_week)) } }
        h2 { "Outcomes by account" }
        @if rep.by_account.iter().all(|a| a.stats.outcomes == 0) { p.none { "No outcomes in this period." } }
        @else { div.chart-box { (charts::outcome_mix(&rep.by_account)) } }
        table.numbers {
            (numbers_head())
            @for a in &rep.by_account { (numbers(&a.account, &a.stats)) }
        }
    };
    layout("Report", css, body)
}

/// One group of the sell cycle in words: its median and n, or the small-sample sentence.
fn cycle_line(label: &str, g: &CycleGroup) -> Markup {
    html! {
        li { b { (label) } ": "
            @match (g.median_days, &g.note) {
                (Some(d), _) => { "median " (format!("{d:.0}")) " days (n = " (g.n) ")" }
                (None, Some(note)) => { (note) }
                (None, None) => { "n = " (g.n) }
            }
        }
    }
}

/// The report's coaching part: the sell cycle (chart and numbers, with n) and the slipped
/// commitments with the command that answers each.
fn coaching(cycle: &SellCycle, slipped: &[Slipped]) -> Markup {
    html! {
        section.cycle {
            h2 { "Sell cycle" }
            p { "Days from an account's first customer meeting to its won or lost close, by the quarter of the first meeting and by how often its meetings had an objective." }
            @if cycle.total.n == 0 { p.none { "No account is won or lost in this period yet." } }
            @else { div.chart-box { (charts::sell_cycle(cycle)) } }
            ul {
                (cycle_line("all closed accounts", &cycle.total))
                @for g in &cycle.by_quarter { (cycle_line(&format!("first met in {}", g.group), g)) }
                @for g in &cycle.by_coverage { (cycle_line(charts::coverage_label(&g.group), g)) }
            }
        }
        section.slipped {
            h2 { "Slipped commitments" }
            @if slipped.is_empty() { p.none { "No dated next step has slipped." } }
            ul { @for s in slipped {
                li {
                    a href=(meeting_href(s.meeting.as_str())) { (s.account.as_deref().unwrap_or(&s.title)) }
                    ": " (s.next_step.as_deref().unwrap_or("the next step"))
                    " was due " (s.due.format("%Y-%m-%d")) " (" (s.days_late) " days ago)"
                    br; code { (s.command) }
                }
            } }
        }
    }
}
