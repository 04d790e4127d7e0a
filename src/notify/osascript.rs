//! Prompts on macOS without D-Bus, through `osascript`: a banner (`display notification`) when the
//! prompt is due, then the question as a dialog. An objective is picked from a list (`choose from
//! list`) or typed (`display dialog … default answer`, with *Later* and *Not a sales meeting*
//! buttons); an outcome is picked from a list, and a next step typed when they committed.
//!
//! While the daemon serves the answer page, both lists also offer "Open the page…" (the dialogs
//! hold at most three buttons, all taken), which opens the meeting's page in the browser and
//! waits for the answer given there.
//!
//! Meeting titles, objectives and the last commitment are text strangers write (a calendar
//! invitation's title). They enter the script only as AppleScript string literals made by
//! [`quote`], which escapes everything that could end the literal, so no title can run a command.
//!
//! Runs and is tested on Linux too, with a fake `osascript` that answers as the real one prints
//! its results: `button returned:Save, text returned:…, gave up:false`, the chosen list item or
//! `false`, and the error `User canceled. (-128)` with exit status 1.

use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use chrono::NaiveDate;
use tokio::process::Command;

use crate::model::{Answer, Outcome, PromptKind, Via};
use crate::web::PageLink;

use super::text;
use super::{AskFuture, Notifier, NotifyError, PromptView, Reply, Showing};

/// The list item that leads to typing an objective.
const TYPE_OWN: &str = "Type my own…";
/// The list item that opens the meeting's page, offered while the daemon serves it.
pub const OPEN_PAGE: &str = "Open the page…";

/// Shows prompts through `osascript`.
pub struct OsascriptNotifier {
    program: PathBuf,
    timeout: Duration,
    page: PageLink,
}

impl OsascriptNotifier {
    /// `osascript` from PATH. `timeout`: how long a prompt waits for an answer.
    pub fn new(timeout: Duration) -> OsascriptNotifier {
        OsascriptNotifier::with_program(PathBuf::from("osascript"), timeout)
    }

    pub fn with_program(program: PathBuf, timeout: Duration) -> OsascriptNotifier {
        OsascriptNotifier {
            program,
            timeout,
            page: PageLink::default(),
        }
    }

    /// Offers the answer page through `page` (tests give a link with an opener of their own).
    pub fn with_page(mut self, page: PageLink) -> Self {
        self.page = page;
        self
    }

    /// "Open the page…": the meeting's page, waiting for the answer given there; when it cannot
    /// be opened, no answer (the prompt comes back).
    async fn answer_on_page(&self, prompt: &PromptView) -> Answer {
        super::answer_on_page(&self.page, prompt, self.timeout)
            .await
            .unwrap_or(Answer::Dismissed)
    }

    /// Runs one script.
    async fn run(&self, script: &str) -> Result<Ran, NotifyError> {
        let child = Command::new(&self.program)
            .arg("-e")
            .arg(script)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                NotifyError::Unavailable(format!("cannot run {}: {e}", self.program.display()))
            })?;
        let out = match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Ok(out) => out.map_err(|e| NotifyError::Failed(format!("osascript: {e}")))?,
            Err(_) => return Ok(Ran::TimedOut),
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        if out.status.success() {
            return Ok(Ran::Said(stdout.trim_end_matches(['\n', '\r']).to_owned()));
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("User canceled") || stderr.contains("(-128)") {
            Ok(Ran::Canceled)
        } else {
            Err(NotifyError::Failed(format!(
                "osascript failed ({}): {}",
                out.status,
                stderr.trim()
            )))
        }
    }

    async fn objective(&self, prompt: &PromptView) -> Result<Answer, NotifyError> {
        let question = text::question(prompt);
        let not_sales = not_sales_label(prompt);
        if !prompt.objectives.is_empty() {
            // The suggested rung first (its why is in the question).
            let mut items: Vec<&str> = text::ordered_objectives(prompt)
                .into_iter()
                .map(|(_, o)| o)
                .collect();
            items.push(TYPE_OWN);
            if self.page.is_serving() {
                items.push(OPEN_PAGE);
            }
            items.push(not_sales);
            match self
                .run(&choose_script(&question, &items, "Choose", "Later"))
                .await?
            {
                Ran::Canceled => return Ok(Answer::Snooze),
                Ran::TimedOut => return Ok(Answer::Dismissed),
                Ran::Said(s) if s == "false" => return Ok(Answer::Snooze),
                Ran::Said(s) if s == not_sales => return Ok(Answer::NotSales),
                Ran::Said(s) if s == OPEN_PAGE => return Ok(self.answer_on_page(prompt).await),
                Ran::Said(s) if s == TYPE_OWN => {}
                Ran::Said(s) => {
                    return Ok(match prompt.objectives.iter().find(|o| **o == s) {
                        Some(o) => Answer::Objective { text: o.clone() },
                        None => Answer::Dismissed,
                    });
                }
            }
        }
        let default = prompt.last_commitment.as_deref().unwrap_or("");
        let buttons = ["Later", not_sales, "Save"];
        let script = text_script(&question, default, &buttons, "Later", self.give_up());
        Ok(match self.run(&script).await? {
            Ran::Canceled => Answer::Snooze,
            Ran::TimedOut => Answer::Dismissed,
            Ran::Said(s) => match parse_dialog(&s, &buttons) {
                Some(d) if d.gave_up => Answer::Dismissed,
                Some(d) if d.button == not_sales => Answer::NotSales,
                Some(d) if d.button == "Save" && !d.text.trim().is_empty() => Answer::Objective {
                    text: d.text.trim().to_owned(),
                },
                _ => Answer::Dismissed,
            },
        })
    }

    async fn outcome(&self, prompt: &PromptView) -> Result<Answer, NotifyError> {
        let question = text::question(prompt);
        let mut labels: Vec<&str> = Outcome::ALL.iter().map(|o| o.label()).collect();
        if self.page.is_serving() {
            labels.push(OPEN_PAGE);
        }
        let result = match self
            .run(&choose_script(&question, &labels, "Next", "Later"))
            .await?
        {
            Ran::Canceled => return Ok(Answer::Snooze),
            Ran::TimedOut => return Ok(Answer::Dismissed),
            Ran::Said(s) => match Outcome::ALL.into_iter().find(|o| o.label() == s) {
                Some(o) => o,
                None if s == "false" => return Ok(Answer::Snooze),
                None if s == OPEN_PAGE => return Ok(self.answer_on_page(prompt).await),
                None => return Ok(Answer::Dismissed),
            },
        };
        let mut next_step = None;
        if text::takes_due(result) {
            let buttons = ["Skip", "Save"];
            let script = text_script(
                "What is the next step they agreed to?",
                "",
                &buttons,
                "Skip",
                self.give_up(),
            );
            if let Ran::Said(s) = self.run(&script).await?
                && let Some(d) = parse_dialog(&s, &buttons)
                && d.button == "Save"
                && !d.text.trim().is_empty()
            {
                next_step = Some(d.text.trim().to_owned());
            }
        }
        let due = match next_step {
            Some(_) => self.due(prompt).await?,
            None => None,
        };
        Ok(Answer::Outcome {
            result,
            next_step,
            note: None,
            due,
        })
    }

    /// The next step's due date, optional: a bad date is asked once more with what was wrong,
    /// then left out with a warning; Skip leaves it out.
    async fn due(&self, prompt: &PromptView) -> Result<Option<NaiveDate>, NotifyError> {
        let buttons = ["Skip", "Save"];
        let mut question = text::DUE_QUESTION.to_string();
        for _ in 0..2 {
            let script = text_script(&question, "", &buttons, "Skip", self.give_up());
            let Ran::Said(s) = self.run(&script).await? else {
                return Ok(None);
            };
            let Some(d) = parse_dialog(&s, &buttons).filter(|d| d.button == "Save" && !d.gave_up)
            else {
                return Ok(None);
            };
            match text::parse_due_for(&d.text, prompt.start) {
                Ok(due) => return Ok(due),
                Err(why) => question = format!("{why}\n{}", text::DUE_QUESTION),
            }
        }
        tracing::warn!("no valid due date given; the next step is recorded without one");
        Ok(None)
    }

    /// A dialog gives up a little before the prompt's own timeout, so it answers "gave up"
    /// rather than being killed.
    fn give_up(&self) -> u64 {
        self.timeout.as_secs().saturating_sub(1).max(1)
    }
}

impl OsascriptNotifier {
    /// The banner, then the question as a dialog, until it is answered or times out.
    async fn ask_until_answered(&self, prompt: &PromptView) -> Result<Reply, NotifyError> {
        let shown = text::notification(prompt, false);
        match self.run(&banner_script(&shown.summary, &shown.body)).await {
            Err(NotifyError::Unavailable(e)) => return Err(NotifyError::Unavailable(e)),
            Err(e) => tracing::warn!("the banner failed; asking anyway: {e}"),
            Ok(_) => {}
        }
        let answer = match prompt.kind {
            PromptKind::Objective => self.objective(prompt).await?,
            PromptKind::Outcome => self.outcome(prompt).await?,
        };
        Ok(Reply {
            answer,
            via: Via::Dialog,
        })
    }
}

impl Notifier for OsascriptNotifier {
    fn page(&self) -> Option<&PageLink> {
        Some(&self.page)
    }

    /// A withdrawn prompt drops the running `osascript` (killed on drop), which closes its dialog.
    fn ask_showing<'a>(&'a self, prompt: &'a PromptView, showing: &'a Showing) -> AskFuture<'a> {
        Box::pin(async move {
            if showing.is_withdrawn() {
                return Err(NotifyError::Withdrawn(showing.withdrawn().await));
            }
            tokio::select! {
                r = self.ask_until_answered(prompt) => r,
                why = showing.withdrawn() => Err(NotifyError::Withdrawn(why)),
            }
        })
    }

    fn tell<'a>(
        &'a self,
        summary: &'a str,
        body: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), NotifyError>> + Send + 'a>> {
        Box::pin(async move {
            self.run(&banner_script(summary, body)).await?;
            Ok(())
        })
    }
}

/// What one `osascript` run came back with.
#[derive(Debug, PartialEq, Eq)]
enum Ran {
    /// Its result, as osascript prints it.
    Said(String),
    /// The user pressed the cancel button (`User canceled.`, error -128).
    Canceled,
    TimedOut,
}

fn not_sales_label(prompt: &PromptView) -> &'static str {
    if prompt.recurring {
        "Not sales (the whole series)"
    } else {
        "Not a sales meeting"
    }
}

/// `s` as an AppleScript string literal. Backslash and double quote are escaped, line breaks and
/// tabs written as AppleScript's `\n`, `\r`, `\t`, and other control characters dropped, so the
/// literal ends at its closing quote and nowhere else, whatever `s` holds.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| quote(i)).collect();
    format!("{{{}}}", quoted.join(", "))
}

/// The banner: nextstep as its title, the prompt's summary and body.
pub fn banner_script(summary: &str, body: &str) -> String {
    format!(
        "display notification {} with title \"nextstep\" subtitle {}",
        quote(body),
        quote(summary)
    )
}

/// A list to pick one item from; osascript prints the item, or `false` for the cancel button.
pub fn choose_script(question: &str, items: &[&str], ok: &str, cancel: &str) -> String {
    format!(
        "choose from list {} with title \"nextstep\" with prompt {} OK button name {} cancel button name {}",
        list(items),
        quote(question),
        quote(ok),
        quote(cancel)
    )
}

/// A question with a text field; the last button is the default, `cancel` ends it with -128.
pub fn text_script(
    question: &str,
    default: &str,
    buttons: &[&str],
    cancel: &str,
    give_up_secs: u64,
) -> String {
    format!(
        "display dialog {} default answer {} with title \"nextstep\" buttons {} default button {} cancel button {} giving up after {give_up_secs}",
        quote(question),
        quote(default),
        list(buttons),
        quote(buttons.last().copied().unwrap_or("OK")),
        quote(cancel),
    )
}

/// What `display dialog` returned.
#[derive(Debug, PartialEq, Eq)]
pub struct DialogReply {
    pub button: String,
    pub text: String,
    pub gave_up: bool,
}

/// Reads osascript's print of a dialog record: `button returned:B, text returned:T, gave up:G`.
/// The typed text may hold `, ` itself, so the button is matched against the ones offered and
/// the `gave up` field taken from the end.
pub fn parse_dialog(out: &str, buttons: &[&str]) -> Option<DialogReply> {
    let rest = out.strip_prefix("button returned:")?;
    let (gave_up, rest) = if let Some(r) = rest.strip_suffix(", gave up:true") {
        (true, r)
    } else if let Some(r) = rest.strip_suffix(", gave up:false") {
        (false, r)
    } else {
        (false, rest)
    };
    let button = buttons
        .iter()
        .copied()
        .chain([""])
        .filter(|b| {
            rest.strip_prefix(b)
                .is_some_and(|after| after.is_empty() || after.starts_with(", "))
        })
        .max_by_key(|b| b.len())?;
    let text = rest[button.len()..]
        .strip_prefix(", text returned:")
        .unwrap_or("");
    Some(DialogReply {
        button: button.to_owned(),
        text: text.to_owned(),
        gave_up,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{objective, outcome};
    use crate::notify::text::tests::{objective_prompt, outcome_prompt};
    use std::path::Path;

    const HOSTILE: &str = "Q3 \"deal\" \\ review\" & do shell script \"touch /tmp/x\" & \"ü日🚀";

    /// Reads one AppleScript string literal at the start of `s` as AppleScript does; returns its
    /// value and what follows the closing quote.
    fn unquote(s: &str) -> (String, &str) {
        let mut chars = s.char_indices();
        assert_eq!(chars.next(), Some((0, '"')));
        let mut value = String::new();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return (value, &s[i + 1..]),
                '\\' => match chars.next().unwrap().1 {
                    'n' => value.push('\n'),
                    'r' => value.push('\r'),
                    't' => value.push('\t'),
                    c => value.push(c),
                },
                c => value.push(c),
            }
        }
        panic!("unterminated literal: {s}");
    }

    /// The script with every string literal replaced by `""`: what AppleScript would run.
    fn code(script: &str) -> (String, Vec<String>) {
        let (mut out, mut literals, mut rest) = (String::new(), Vec::new(), script);
        while let Some(i) = rest.find('"') {
            out.push_str(&rest[..i]);
            let (value, after) = unquote(&rest[i..]);
            out.push_str("\"\"");
            literals.push(value);
            rest = after;
        }
        out.push_str(rest);
        (out, literals)
    }

    #[test]
    fn a_quoted_title_is_one_literal_whatever_it_holds() {
        for s in [
            HOSTILE,
            "plain",
            "ends in a backslash \\",
            "\\\"",
            "two\nlines\tand\r",
            "",
            "Überprüfung – 日本語 🚀",
        ] {
            let q = quote(s);
            let (value, rest) = unquote(&q);
            assert_eq!(value, s);
            assert_eq!(rest, "", "{s:?} ended its literal early: {q}");
        }
        assert_eq!(quote("bell\u{7}"), "\"bell\"");
    }

    #[test]
    fn a_hostile_title_reaches_every_script_only_inside_literals() {
        let mut p = objective_prompt();
        p.title = HOSTILE.into();
        p.objectives = vec![HOSTILE.into()];
        let shown = text::notification(&p, false);
        let q = text::question(&p);
        for script in [
            banner_script(&shown.summary, &shown.body),
            choose_script(&q, &[HOSTILE, TYPE_OWN], "Choose", "Later"),
            text_script(&q, HOSTILE, &["Later", "Save"], "Later", 60),
        ] {
            let (code, literals) = code(&script);
            assert!(!code.contains("do shell script"), "{script}");
            assert!(literals.iter().any(|l| l.contains(HOSTILE)), "{script}");
        }
    }

    #[test]
    fn dialog_results_are_read_even_when_the_text_holds_commas() {
        let b = ["Later", "Not a sales meeting", "Save"];
        assert_eq!(
            parse_dialog(
                "button returned:Save, text returned:Pilot, 3 seats, gave up:false",
                &b
            ),
            Some(DialogReply {
                button: "Save".into(),
                text: "Pilot, 3 seats".into(),
                gave_up: false
            })
        );
        assert_eq!(
            parse_dialog("button returned:Not a sales meeting, text returned:", &b)
                .unwrap()
                .button,
            "Not a sales meeting"
        );
        assert!(
            parse_dialog("button returned:, text returned:, gave up:true", &b)
                .unwrap()
                .gave_up
        );
        assert_eq!(parse_dialog("false", &b), None);
    }

    /// A fake `osascript`: run N saves its script as `script.N`, prints `out.N`, and when `err.N`
    /// exists prints it to stderr and exits 1, as osascript does for an AppleScript error.
    fn fake(dir: &Path) -> OsascriptNotifier {
        use std::os::unix::fs::PermissionsExt;
        let d = dir.display();
        let body = format!(
            "#!/bin/sh\n[ \"$1\" = -e ] || exit 64\nn=$(( $(cat {d}/n 2>/dev/null || echo 0) + 1 ))\necho $n > {d}/n\nprintf '%s' \"$2\" > {d}/script.$n\nif [ -f {d}/err.$n ]; then cat {d}/err.$n >&2; exit 1; fi\n[ -f {d}/out.$n ] && cat {d}/out.$n\nexit 0\n"
        );
        let prog = dir.join("osascript");
        std::fs::write(&prog, body).unwrap();
        std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
        OsascriptNotifier::with_program(prog, Duration::from_secs(20))
    }

    fn script(dir: &Path, n: u32) -> String {
        std::fs::read_to_string(dir.join(format!("script.{n}"))).unwrap()
    }

    fn answer(dir: &Path, n: u32, out: &str) {
        std::fs::write(dir.join(format!("out.{n}")), format!("{out}\n")).unwrap();
    }

    #[tokio::test]
    async fn an_objective_typed_after_the_banner_and_the_list_is_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let n = fake(dir.path());
        let mut p = objective_prompt();
        p.title = HOSTILE.into();
        answer(dir.path(), 2, TYPE_OWN);
        answer(
            dir.path(),
            3,
            "button returned:Save, text returned:Sign the pilot, by Friday, gave up:false",
        );
        let reply = n.ask(&p).await.unwrap();
        assert_eq!(
            reply,
            Reply {
                answer: objective("Sign the pilot, by Friday"),
                via: Via::Dialog
            }
        );
        let banner = script(dir.path(), 1);
        assert!(banner.starts_with("display notification "), "{banner}");
        assert!(banner.contains(&quote(&text::notification(&p, false).summary)));
        let list = script(dir.path(), 2);
        assert!(list.starts_with("choose from list {"), "{list}");
        assert!(list.contains(&quote(&p.objectives[0])), "{list}");
        assert!(list.contains(&quote(&text::question(&p))), "{list}");
        let dialog = script(dir.path(), 3);
        assert!(dialog.starts_with("display dialog "), "{dialog}");
        assert!(dialog.contains("default answer \"\""), "{dialog}");
        assert!(dialog.contains("giving up after 19"), "{dialog}");
        for s in [banner, list, dialog] {
            assert!(!code(&s).0.contains("do shell script"), "{s}");
        }
    }

    #[tokio::test]
    async fn a_listed_objective_not_sales_and_cancel_are_answers_too() {
        let dir = tempfile::tempdir().unwrap();
        let n = fake(dir.path());
        let p = objective_prompt();
        answer(dir.path(), 2, &p.objectives[1]);
        assert_eq!(n.ask(&p).await.unwrap().answer, objective(&p.objectives[1]));
        answer(dir.path(), 4, "Not a sales meeting");
        assert_eq!(n.ask(&p).await.unwrap().answer, Answer::NotSales);
        std::fs::write(
            dir.path().join("err.6"),
            "0:120: execution error: User canceled. (-128)\n",
        )
        .unwrap();
        assert_eq!(n.ask(&p).await.unwrap().answer, Answer::Snooze);
        let mut bare = objective_prompt();
        bare.objectives.clear();
        answer(
            dir.path(),
            8,
            "button returned:, text returned:, gave up:true",
        );
        assert_eq!(n.ask(&bare).await.unwrap().answer, Answer::Dismissed);
        assert!(script(dir.path(), 8).starts_with("display dialog "));
    }

    /// What a text dialog prints when `text` was typed and Save pressed.
    fn saved(text: &str) -> String {
        format!("button returned:Save, text returned:{text}, gave up:false")
    }

    /// `committed` with the next step "Send the contract", due `due`.
    fn contract(due: Option<chrono::NaiveDate>) -> Answer {
        Answer::Outcome {
            result: Outcome::Committed,
            next_step: Some("Send the contract".into()),
            note: None,
            due,
        }
    }

    #[tokio::test]
    async fn an_outcome_is_picked_from_the_list_with_its_next_step() {
        let dir = tempfile::tempdir().unwrap();
        let n = fake(dir.path());
        let p = outcome_prompt();
        answer(dir.path(), 2, Outcome::Committed.label());
        answer(dir.path(), 3, &saved("Send the contract"));
        answer(
            dir.path(),
            4,
            "button returned:Skip, text returned:, gave up:false",
        );
        assert_eq!(n.ask(&p).await.unwrap().answer, contract(None));
        assert!(script(dir.path(), 2).contains(&quote(Outcome::NoShow.label())));
        assert!(script(dir.path(), 4).contains(&quote(text::DUE_QUESTION)));
        answer(dir.path(), 6, Outcome::NoShow.label());
        assert_eq!(
            n.ask(&p).await.unwrap().answer,
            outcome(Outcome::NoShow, None)
        );
        answer(dir.path(), 8, "false");
        assert_eq!(n.ask(&p).await.unwrap().answer, Answer::Snooze);
        // A bad due date is asked once more, saying the form; a good one is kept.
        answer(dir.path(), 10, Outcome::Committed.label());
        answer(dir.path(), 11, &saved("Send the contract"));
        answer(dir.path(), 12, &saved("Friday"));
        answer(dir.path(), 13, &saved("2026-12-24"));
        assert_eq!(
            n.ask(&p).await.unwrap().answer,
            contract(chrono::NaiveDate::from_ymd_opt(2026, 12, 24))
        );
        assert!(script(dir.path(), 13).contains("YYYY-MM-DD"));
        assert!(script(dir.path(), 13).contains("Friday"));
    }

    #[tokio::test]
    async fn no_osascript_is_unavailable_and_another_error_is_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let missing =
            OsascriptNotifier::with_program(dir.path().join("nope"), Duration::from_secs(5));
        assert!(matches!(
            missing.ask(&objective_prompt()).await,
            Err(NotifyError::Unavailable(_))
        ));
        let n = fake(dir.path());
        std::fs::write(
            dir.path().join("err.1"),
            "0:10: syntax error: Expected end of line. (-2741)\n",
        )
        .unwrap();
        assert!(matches!(
            n.tell("nextstep: a calendar needs you", "401").await,
            Err(NotifyError::Failed(_))
        ));
    }

    #[tokio::test]
    async fn while_the_page_is_served_the_lists_offer_it_and_picking_it_opens_the_meeting_page() {
        let dir = tempfile::tempdir().unwrap();
        let p = objective_prompt();
        // Not served: no such item.
        let n = fake(dir.path());
        answer(dir.path(), 2, "false");
        assert_eq!(n.ask(&p).await.unwrap().answer, Answer::Snooze);
        assert!(!script(dir.path(), 2).contains(OPEN_PAGE));

        let (link, opened) = crate::web::link::testing::served_link(dir.path());
        let mut n = fake(dir.path()).with_page(link.clone());
        n.timeout = Duration::from_secs(1);
        answer(dir.path(), 4, OPEN_PAGE);
        // Nothing answered on the page within the timeout: no answer.
        assert_eq!(n.ask(&p).await.unwrap().answer, Answer::Dismissed);
        let list = script(dir.path(), 4);
        assert!(list.contains(&quote(OPEN_PAGE)), "{list}");
        assert_eq!(
            std::fs::read_to_string(&opened).unwrap(),
            link.meeting_url(&p.meeting).unwrap()
        );
        std::fs::remove_file(&opened).unwrap();

        // An outcome answered on the page: the daemon withdraws the prompt, which ends the wait.
        n.timeout = Duration::from_secs(30);
        let q = outcome_prompt();
        answer(dir.path(), 6, OPEN_PAGE);
        let showing = Showing::new();
        let asking = n.ask_showing(&q, &showing);
        let answered_on_page = async {
            while !opened.exists() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            showing.withdraw("via web at 10:32");
        };
        let (reply, ()) = tokio::join!(asking, answered_on_page);
        assert!(matches!(reply, Err(NotifyError::Withdrawn(w)) if w == "via web at 10:32"));
        assert!(script(dir.path(), 6).contains(&quote(OPEN_PAGE)));
        assert_eq!(
            std::fs::read_to_string(&opened).unwrap(),
            link.meeting_url(&q.meeting).unwrap()
        );
    }
}
