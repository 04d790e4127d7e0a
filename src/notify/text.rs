//! What a prompt says: the notification's summary, body and buttons for a [`PromptView`], the
//! question a dialog asks, and the way back from an action key to an [`Answer`]. Pure.
//!
//! Action keys are the contract of docs/design.md, "Prompts and action keys": `objective:N`,
//! `outcome:VALUE`, `open`, `snooze`, `not_sales`, and `default` (a click on the body, which
//! opens the meeting's page while the daemon serves one, and otherwise behaves like `open`).

use std::fmt::Display;

use chrono::{DateTime, Local, NaiveDate, TimeZone, Utc};

use crate::model::{Answer, Outcome, PromptKind};

use super::PromptView;

/// Longest meeting title shown in a summary; servers cut long summaries badly.
const MAX_TITLE: usize = 60;

/// The text and buttons of one notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationText {
    pub summary: String,
    pub body: String,
    /// `(key, label)` in the order the buttons should appear.
    pub actions: Vec<(String, String)>,
}

/// What an action key asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A complete answer (a quick button, snooze, not sales; or `Dismissed` for a key we never sent).
    Answer(Answer),
    /// The full answer (`open`): the dialog, or the meeting's page with `prompts.dialog = "web"`.
    Open,
    /// A click on the body (`default`): the meeting's page while the daemon serves one, else
    /// like [`Action::Open`].
    Body,
}

/// The notification for `prompt`, with times in the local zone. `markup`: the server renders
/// body markup (`body-markup` capability), so `&`, `<`, `>` in the body must be escaped.
pub fn notification(prompt: &PromptView, markup: bool) -> NotificationText {
    notification_in(prompt, &Local, markup)
}

/// [`notification`] with times shown in `zone` (tests use a fixed zone).
pub fn notification_in<Z>(prompt: &PromptView, zone: &Z, markup: bool) -> NotificationText
where
    Z: TimeZone,
    Z::Offset: Display,
{
    let title = shorten(&prompt.title, MAX_TITLE);
    let esc = |s: &str| {
        if markup {
            escape_markup(s)
        } else {
            s.to_string()
        }
    };
    match prompt.kind {
        PromptKind::Objective => {
            let at = prompt.start.with_timezone(zone).format("%H:%M");
            let mut body = String::from("What do you want them to commit to?");
            if let Some(last) = last_commitment(prompt) {
                let who = match &prompt.account {
                    Some(account) => format!("Last time ({account})"),
                    None => "Last time".to_string(),
                };
                body.push_str(&format!("\n{who} they committed to: {last}"));
            }
            if let Some(s) = &prompt.suggestion {
                body.push_str(&format!("\n{}", s.why));
            }
            // The suggested rung first, under the key it has on the ladder; then the other quick
            // objectives, without repeating it.
            let mut actions: Vec<(String, String)> = quick_objectives(prompt)
                .into_iter()
                .map(|(i, text)| (format!("objective:{i}"), shorten(text, 40)))
                .collect();
            actions.push(("open".into(), "Answer…".into()));
            actions.push(("snooze".into(), "Later".into()));
            let not_sales = if prompt.recurring {
                "Not sales (series)"
            } else {
                "Not a sales meeting"
            };
            actions.push(("not_sales".into(), not_sales.into()));
            // The body click. Its label is empty, as the specification's examples have it:
            // servers that draw every action as a button (xfce4-notifyd) would otherwise show
            // "Answer…" twice (seen in scripts/screenshot.sh).
            actions.push(("default".into(), String::new()));
            NotificationText {
                summary: format!("Before \"{title}\" at {at}"),
                body: esc(&body),
                actions,
            }
        }
        PromptKind::Outcome => {
            let mut body = String::from("Did they commit?");
            if let Some(objective) = &prompt.objective {
                body.push_str(&format!("\nYour objective: {objective}"));
            }
            let actions = vec![
                (
                    format!("outcome:{}", Outcome::Committed),
                    Outcome::Committed.label().to_string(),
                ),
                (
                    format!("outcome:{}", Outcome::Continuation),
                    Outcome::Continuation.label().to_string(),
                ),
                ("open".into(), "Other…".into()),
                ("snooze".into(), "Later".into()),
                ("default".into(), String::new()),
            ];
            NotificationText {
                summary: format!("After \"{title}\""),
                body: esc(&body),
                actions,
            }
        }
    }
}

/// The question a dialog or terminal asks (plain text).
pub fn question(prompt: &PromptView) -> String {
    let title = shorten(&prompt.title, MAX_TITLE);
    match prompt.kind {
        PromptKind::Objective => {
            let mut q = format!("What do you want them to commit to in \"{title}\"?");
            if let Some(last) = last_commitment(prompt) {
                q.push_str(&format!("\nLast time they committed to: {last}"));
            }
            if let Some(s) = &prompt.suggestion {
                q.push_str(&format!("\nSuggested: {} ({})", s.objective, s.why));
            }
            q
        }
        PromptKind::Outcome => {
            let mut q = format!("Did they commit in \"{title}\"?");
            if let Some(objective) = &prompt.objective {
                q.push_str(&format!("\nYour objective: {objective}"));
            }
            q
        }
    }
}

/// The choices a dialog offers: the objectives, or the outcome values (docs/design.md, "Outcome
/// values").
pub fn choices(prompt: &PromptView) -> Vec<String> {
    match prompt.kind {
        PromptKind::Objective => ordered_objectives(prompt)
            .into_iter()
            .map(|(_, text)| text.to_string())
            .collect(),
        PromptKind::Outcome => Outcome::ALL.iter().map(|o| o.as_str().into()).collect(),
    }
}

/// The last commitment line's text, unless the suggestion's why already says it (the last
/// decisive outcome was that commitment).
fn last_commitment(prompt: &PromptView) -> Option<&String> {
    let said = prompt
        .suggestion
        .as_ref()
        .is_some_and(|s| s.after == Outcome::Committed);
    prompt.last_commitment.as_ref().filter(|_| !said)
}

/// The suggested rung's place on the ladder, when there is one and it is on this ladder.
fn suggested_rung(prompt: &PromptView) -> Option<usize> {
    prompt
        .suggestion
        .as_ref()
        .map(|s| s.rung)
        .filter(|r| *r < prompt.objectives.len())
}

/// Every objective of `prompt` with its place on the ladder (the `N` of `objective:N`), the
/// suggested rung first when there is one; the rest in ladder order.
pub fn ordered_objectives(prompt: &PromptView) -> Vec<(usize, &str)> {
    let first = suggested_rung(prompt);
    first
        .into_iter()
        .chain((0..prompt.objectives.len()).filter(|i| Some(*i) != first))
        .map(|i| (i, prompt.objectives[i].as_str()))
        .collect()
}

/// The objectives that get a button: the suggested rung (wherever it sits on the ladder), then
/// the first `quick` objectives without it.
pub fn quick_objectives(prompt: &PromptView) -> Vec<(usize, &str)> {
    let first = suggested_rung(prompt);
    ordered_objectives(prompt)
        .into_iter()
        .filter(|(i, _)| Some(*i) == first || *i < prompt.quick)
        .collect()
}

/// What a person typed as a next step's due date: empty is none; otherwise `YYYY-MM-DD` or an
/// error sentence to show them (the form is said in it). Never guesses a date.
pub fn parse_due(typed: &str) -> Result<Option<NaiveDate>, String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(typed, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("“{typed}” is not a date; write it as YYYY-MM-DD, e.g. 2026-12-24"))
}

/// Whether an outcome can carry a due date ([`coach::takes_due`]).
pub use crate::coach::takes_due;

/// [`parse_due`] for the next step of a meeting starting at `start`: a date before the meeting's
/// own (local) day is refused too, as `nextstep outcome --due` refuses it (a typo, and it would
/// show the commitment as slipped at once).
pub fn parse_due_for(typed: &str, start: DateTime<Utc>) -> Result<Option<NaiveDate>, String> {
    let due = parse_due(typed)?;
    let day = crate::coach::earliest_due(start);
    match due {
        Some(d) if d < day => Err(format!(
            "{d} is before the meeting itself ({day}); give the day the next step is due, on or \
             after the meeting, as YYYY-MM-DD"
        )),
        _ => Ok(due),
    }
}

/// The question asking for a next step's due date.
pub const DUE_QUESTION: &str = "By when? (YYYY-MM-DD, optional)";

/// What the action key `key`, sent back by the server for `prompt`, means.
pub fn action(prompt: &PromptView, key: &str) -> Action {
    match key {
        "open" => return Action::Open,
        "default" => return Action::Body,
        "snooze" => return Action::Answer(Answer::Snooze),
        "not_sales" => return Action::Answer(Answer::NotSales),
        _ => {}
    }
    if let Some(n) = key.strip_prefix("objective:")
        && prompt.kind == PromptKind::Objective
        && let Some(text) = n
            .parse::<usize>()
            .ok()
            .and_then(|n| prompt.objectives.get(n))
    {
        return Action::Answer(Answer::Objective { text: text.clone() });
    }
    if let Some(value) = key.strip_prefix("outcome:")
        && prompt.kind == PromptKind::Outcome
        && let Ok(result) = value.parse::<Outcome>()
    {
        return Action::Answer(Answer::Outcome {
            result,
            next_step: None,
            note: None,
            due: None,
        });
    }
    // A key we never offered: a confused server or a stale notification. Counting it as "no
    // answer" makes the prompt come back rather than recording something the user did not say.
    tracing::warn!(
        key = %key,
        kind = %prompt.kind,
        prompt = %prompt.key,
        "unknown notification action; treating the prompt as dismissed"
    );
    Action::Answer(Answer::Dismissed)
}

/// The line a notification without buttons ends with while the daemon serves the answer page:
/// the meeting page's address, so the person has a way to answer beyond the terminal.
pub fn page_line(url: &str) -> String {
    format!("Answer on the page: {url}")
}

/// Escapes the characters the notification body markup gives meaning to.
pub fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// `s` cut to at most `max` characters, ending in `…` when cut.
fn shorten(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::MeetingId;
    use crate::model::testing::{objective, outcome};
    use chrono::{FixedOffset, Utc};

    pub(crate) fn objective_prompt() -> PromptView {
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 13, 30, 0).unwrap();
        PromptView {
            key: "work/u1/single#objective#0".into(),
            kind: PromptKind::Objective,
            meeting: MeetingId("work/u1/single".into()),
            title: "Acme & Co <pilot> review".into(),
            start,
            end: start + chrono::Duration::minutes(30),
            tz: None,
            account: Some("Acme".into()),
            objectives: crate::config::DEFAULT_OBJECTIVES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            quick: 2,
            last_commitment: None,
            suggestion: None,
            objective: None,
            recurring: false,
        }
    }

    pub(crate) fn outcome_prompt() -> PromptView {
        PromptView {
            kind: PromptKind::Outcome,
            key: "work/u1/single#outcome#0".into(),
            ..objective_prompt()
        }
    }

    /// The objective prompt with rung `rung` of the default ladder suggested.
    pub(crate) fn suggested_prompt(rung: usize) -> PromptView {
        let p = objective_prompt();
        PromptView {
            suggestion: Some(crate::coach::Suggestion {
                account: "Acme".into(),
                objective: p.objectives[rung].clone(),
                rung,
                why: "Last time Acme agreed to “Schedule a needs analysis”".into(),
                after: Outcome::Committed,
                from: MeetingId("work/u0/single".into()),
            }),
            ..p
        }
    }

    fn plus_one() -> FixedOffset {
        FixedOffset::east_opt(3600).unwrap()
    }

    fn keys(t: &NotificationText) -> Vec<&str> {
        t.actions.iter().map(|(k, _)| k.as_str()).collect()
    }

    #[test]
    fn an_objective_prompt_names_the_meeting_and_its_local_start_time() {
        let t = notification_in(&objective_prompt(), &plus_one(), true);
        assert_eq!(t.summary, "Before \"Acme & Co <pilot> review\" at 14:30");
        assert_eq!(t.body, "What do you want them to commit to?");
    }

    #[test]
    fn an_objective_prompt_offers_the_quick_objectives_then_open_snooze_and_not_sales() {
        let t = notification_in(&objective_prompt(), &plus_one(), true);
        assert_eq!(
            keys(&t),
            [
                "objective:0",
                "objective:1",
                "open",
                "snooze",
                "not_sales",
                "default"
            ]
        );
        assert_eq!(t.actions[0].1, "Agree to a next meeting");
        assert_eq!(t.actions[1].1, "Schedule a needs analysis");
        assert_eq!(t.actions[2].1, "Answer…");
        assert_eq!(t.actions[3].1, "Later");
        assert_eq!(t.actions[4].1, "Not a sales meeting");
    }

    #[test]
    fn the_suggested_rung_is_the_first_button_under_its_own_key_with_its_why_in_the_body() {
        let t = notification_in(&suggested_prompt(2), &plus_one(), true);
        assert_eq!(
            keys(&t),
            [
                "objective:2",
                "objective:0",
                "objective:1",
                "open",
                "snooze",
                "not_sales",
                "default"
            ]
        );
        assert_eq!(t.actions[0].1, "Agree to a proposal meeting");
        assert_eq!(
            t.body,
            "What do you want them to commit to?\nLast time Acme agreed to “Schedule a needs analysis”"
        );
        assert_eq!(
            action(&suggested_prompt(2), "objective:2"),
            Action::Answer(objective("Agree to a proposal meeting"))
        );
    }

    #[test]
    fn a_suggested_quick_objective_moves_first_and_is_not_repeated() {
        let t = notification_in(&suggested_prompt(1), &plus_one(), true);
        assert_eq!(keys(&t)[..3], ["objective:1", "objective:0", "open"]);
    }

    #[test]
    fn the_question_and_the_choices_put_the_suggestion_first() {
        let p = suggested_prompt(3);
        let q = question(&p);
        assert!(
            q.ends_with("\nSuggested: Meet the decision makers (Last time Acme agreed to “Schedule a needs analysis”)"),
            "{q}"
        );
        let c = choices(&p);
        assert_eq!(c.len(), p.objectives.len());
        assert_eq!(c[0], "Meet the decision makers");
        assert_eq!(c[1], "Agree to a next meeting");
        assert_eq!(
            ordered_objectives(&p)
                .iter()
                .map(|(i, _)| *i)
                .collect::<Vec<_>>(),
            [3, 0, 1, 2, 4, 5]
        );
    }

    #[test]
    fn a_due_date_is_yyyy_mm_dd_or_empty_and_anything_else_says_the_form() {
        assert_eq!(parse_due("  "), Ok(None));
        assert_eq!(
            parse_due(" 2026-12-24 "),
            Ok(NaiveDate::from_ymd_opt(2026, 12, 24))
        );
        for bad in ["24.12.2026", "2026-02-30", "next friday", "2026-12-24x"] {
            let e = parse_due(bad).unwrap_err();
            assert!(e.contains("YYYY-MM-DD") && e.contains(bad), "{e}");
        }
    }

    #[test]
    fn a_due_date_goes_with_a_commitment_on_or_after_the_meetings_day() {
        assert!(takes_due(Outcome::Committed) && takes_due(Outcome::Advanced));
        assert!(!takes_due(Outcome::Continuation) && !takes_due(Outcome::NoSale));
        // The prompt's meeting starts at 13:30 UTC on 1 December 2026.
        let start = objective_prompt().start;
        assert_eq!(
            parse_due_for("2026-12-01", start),
            Ok(NaiveDate::from_ymd_opt(2026, 12, 1))
        );
        assert_eq!(parse_due_for("", start), Ok(None));
        let e = parse_due_for("2026-11-20", start).unwrap_err();
        assert!(e.contains("before the meeting itself (2026-12-01)"), "{e}");
        assert!(
            parse_due_for("tomorrow", start)
                .unwrap_err()
                .contains("YYYY-MM-DD")
        );
    }

    #[test]
    fn a_recurring_meeting_offers_not_sales_for_the_series() {
        let p = PromptView {
            recurring: true,
            ..objective_prompt()
        };
        let t = notification_in(&p, &plus_one(), true);
        assert_eq!(
            t.actions.iter().find(|(k, _)| k == "not_sales").unwrap().1,
            "Not sales (series)"
        );
    }

    #[test]
    fn quick_never_offers_more_objectives_than_there_are() {
        let p = PromptView {
            quick: 9,
            objectives: vec!["Only one".into()],
            ..objective_prompt()
        };
        let t = notification_in(&p, &plus_one(), true);
        assert_eq!(keys(&t)[..2], ["objective:0", "open"]);
    }

    #[test]
    fn the_last_commitment_of_the_account_is_carried_into_the_body_escaped() {
        let p = PromptView {
            last_commitment: Some("Send the R&D <draft>".into()),
            ..objective_prompt()
        };
        let t = notification_in(&p, &plus_one(), true);
        assert_eq!(
            t.body,
            "What do you want them to commit to?\nLast time (Acme) they committed to: Send the R&amp;D &lt;draft&gt;"
        );
        let plain = notification_in(&p, &plus_one(), false);
        assert!(
            plain.body.ends_with("Send the R&D <draft>"),
            "{}",
            plain.body
        );
    }

    #[test]
    fn an_outcome_prompt_asks_whether_they_committed_and_recalls_the_objective() {
        let p = PromptView {
            objective: Some("Agree to the sale".into()),
            ..outcome_prompt()
        };
        let t = notification_in(&p, &plus_one(), true);
        assert_eq!(t.summary, "After \"Acme & Co <pilot> review\"");
        assert_eq!(
            t.body,
            "Did they commit?\nYour objective: Agree to the sale"
        );
        assert_eq!(
            keys(&t),
            [
                "outcome:committed",
                "outcome:continuation",
                "open",
                "snooze",
                "default"
            ]
        );
        assert_eq!(t.actions[0].1, "They committed");
        assert_eq!(t.actions[1].1, "No commitment");
        assert_eq!(t.actions[2].1, "Other…");
    }

    #[test]
    fn a_long_title_is_cut_with_an_ellipsis() {
        let p = PromptView {
            title: "x".repeat(200),
            ..outcome_prompt()
        };
        let t = notification_in(&p, &plus_one(), true);
        assert_eq!(
            t.summary.chars().count(),
            "After \"\"".chars().count() + MAX_TITLE
        );
        assert!(t.summary.ends_with("…\""));
    }

    #[test]
    fn objective_keys_map_back_to_the_objective_text() {
        let p = objective_prompt();
        assert_eq!(
            action(&p, "objective:1"),
            Action::Answer(objective("Schedule a needs analysis"))
        );
        // Any listed objective, not only the quick ones: `open` may offer them all.
        assert_eq!(
            action(&p, "objective:5"),
            Action::Answer(objective("Agree to the sale"))
        );
    }

    #[test]
    fn outcome_keys_map_back_to_the_outcome_value() {
        assert_eq!(
            action(&outcome_prompt(), "outcome:no_show"),
            Action::Answer(outcome(Outcome::NoShow, None))
        );
    }

    #[test]
    fn open_default_snooze_and_not_sales_map_to_their_meaning() {
        let p = objective_prompt();
        assert_eq!(action(&p, "open"), Action::Open);
        assert_eq!(action(&p, "default"), Action::Body);
        assert_eq!(action(&p, "snooze"), Action::Answer(Answer::Snooze));
        assert_eq!(action(&p, "not_sales"), Action::Answer(Answer::NotSales));
    }

    #[test]
    fn unknown_or_mismatched_keys_count_as_dismissed() {
        let dismissed = Action::Answer(Answer::Dismissed);
        assert_eq!(action(&objective_prompt(), "objective:6"), dismissed);
        assert_eq!(action(&objective_prompt(), "objective:x"), dismissed);
        assert_eq!(action(&objective_prompt(), "outcome:committed"), dismissed);
        assert_eq!(action(&outcome_prompt(), "objective:0"), dismissed);
        assert_eq!(action(&outcome_prompt(), "outcome:maybe"), dismissed);
        assert_eq!(action(&outcome_prompt(), "inline-reply"), dismissed);
    }

    #[test]
    fn every_offered_key_maps_to_something_other_than_dismissed() {
        for p in [objective_prompt(), outcome_prompt()] {
            for (key, _) in notification_in(&p, &plus_one(), true).actions {
                assert_ne!(action(&p, &key), Action::Answer(Answer::Dismissed), "{key}");
            }
        }
    }

    #[test]
    fn the_outcome_choices_are_the_design_values() {
        assert_eq!(
            choices(&outcome_prompt()),
            [
                "committed",
                "advanced",
                "continuation",
                "no_sale",
                "no_show",
                "rescheduled",
                "cancelled"
            ]
        );
    }
}
