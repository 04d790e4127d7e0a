//! The full answer, asked in a native dialog: zenity or kdialog on Linux, `osascript` on macOS, or a
//! program of the user's choice (`prompts.dialog = ["my-program", "--flag"]`), which is also how the
//! tests drive it.
//!
//! # The program protocol
//!
//! The program is started directly (never through a shell) as `argv… QUESTION`, where QUESTION is
//! the question a person would read (it may span lines). Its environment also has:
//!
//! - `NEXTSTEP_PROMPT_KIND`: `objective` or `outcome`;
//! - `NEXTSTEP_MEETING_TITLE`: the meeting's title;
//! - `NEXTSTEP_CHOICES`: the choices, one per line: the configured objectives, or the outcome values
//!   (`committed`, `advanced`, `continuation`, `no_sale`, `no_show`, `rescheduled`, `cancelled`).
//!
//! It prints its answer as the first line of stdout and exits 0:
//!
//! - objective prompt: the objective, as free text (`Agree to a pilot by Friday`);
//! - outcome prompt: `VALUE` or `VALUE: next step` (`advanced: technical workshop on 12/3`),
//!   and, after a next step, optionally the step's due date as the second line (`2026-12-03`;
//!   anything not `YYYY-MM-DD` is left out with a warning).
//!
//! An empty line, a non-zero exit, an unknown outcome value, or no answer within the prompt timeout
//! (the program is then killed) count as "no answer" ([`Answer::Dismissed`]): the prompt comes back
//! later.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chrono::NaiveDate;
use tokio::process::Command;

use crate::config::DialogSetting;
use crate::model::{Answer, Outcome, PromptKind};

use super::PromptView;
use super::text;

const TITLE: &str = "nextstep";

/// A way to ask for a free-text answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    setting: DialogSetting,
    timeout: Duration,
}

/// The dialog program found for [`DialogSetting::Auto`], or the configured one.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Backend {
    Zenity(PathBuf),
    Kdialog(PathBuf),
    Osascript(PathBuf),
    Program(Vec<String>),
}

impl Dialog {
    /// `timeout`: how long a dialog may stay open before it counts as unanswered.
    pub fn new(setting: DialogSetting, timeout: Duration) -> Dialog {
        Dialog { setting, timeout }
    }

    /// Whether asking can work at all (a program is configured or one is on PATH).
    pub fn is_available(&self) -> bool {
        self.backend().is_some()
    }

    /// `prompts.dialog = "web"`: the full answer is given on the meeting's page.
    pub fn is_web(&self) -> bool {
        self.setting == DialogSetting::Web
    }

    fn backend(&self) -> Option<Backend> {
        match &self.setting {
            // The page is opened by the notifier, which knows whether one is served.
            DialogSetting::None | DialogSetting::Web => None,
            DialogSetting::Program(argv) if argv.is_empty() => None,
            DialogSetting::Program(argv) => Some(Backend::Program(argv.clone())),
            DialogSetting::Auto => {
                if let Some(p) = find_on_path("zenity") {
                    Some(Backend::Zenity(p))
                } else if cfg!(target_os = "macos") {
                    find_on_path("osascript").map(Backend::Osascript)
                } else {
                    find_on_path("kdialog").map(Backend::Kdialog)
                }
            }
        }
    }

    /// Asks the full question for `prompt`. Never fails: anything but an answer is
    /// [`Answer::Dismissed`] (logged), so the prompt is asked again later.
    pub async fn ask(&self, prompt: &PromptView) -> Answer {
        let Some(backend) = self.backend() else {
            tracing::info!(
                prompt = %prompt.key,
                "no dialog program (prompts.dialog); answer with `nextstep objective` or `nextstep outcome`"
            );
            return Answer::Dismissed;
        };
        let question = text::question(prompt);
        let choices = text::choices(prompt);
        match (&backend, prompt.kind) {
            (Backend::Program(argv), _) => {
                let mut cmd = program(argv);
                cmd.arg(&question)
                    .env("NEXTSTEP_PROMPT_KIND", prompt.kind.as_str())
                    .env("NEXTSTEP_MEETING_TITLE", &prompt.title)
                    .env("NEXTSTEP_CHOICES", choices.join("\n"));
                let out = self.run_output(cmd).await;
                let line = out.as_deref().and_then(first_line);
                match prompt.kind {
                    PromptKind::Objective => objective_answer(line),
                    PromptKind::Outcome => match line {
                        Some(l) => with_due_line(parse_outcome_line(&l), out.as_deref(), prompt),
                        None => Answer::Dismissed,
                    },
                }
            }
            (_, PromptKind::Objective) => {
                let cmd = objective_command(&backend, &question, &choices);
                objective_answer(self.run(cmd).await)
            }
            (_, PromptKind::Outcome) => {
                let cmd = outcome_command(&backend, &question);
                let Some(line) = self.run(cmd).await else {
                    return Answer::Dismissed;
                };
                let result = match outcome_from_choice(&line) {
                    Some(r) => r,
                    None => {
                        tracing::warn!(prompt = %prompt.key, "the dialog returned an unknown outcome; treating the prompt as dismissed");
                        return Answer::Dismissed;
                    }
                };
                // The outcome is the answer; the next step is optional, so cancelling this second
                // question keeps the outcome.
                let cmd = next_step_command(&backend);
                let next_step = self.run(cmd).await;
                let due = match next_step {
                    Some(_) if text::takes_due(result) => self.ask_due(&backend, prompt).await,
                    _ => None,
                };
                Answer::Outcome {
                    result,
                    next_step,
                    note: None,
                    due,
                }
            }
        }
    }

    /// The next step's due date, optional: a bad date is asked once more with what was wrong,
    /// then left out with a warning; a cancel leaves it out.
    async fn ask_due(&self, backend: &Backend, prompt: &PromptView) -> Option<NaiveDate> {
        let mut question = text::DUE_QUESTION.to_string();
        for _ in 0..2 {
            let typed = self.run(text_command(backend, &question)).await?;
            match text::parse_due_for(&typed, prompt.start) {
                Ok(due) => return due,
                Err(why) => question = format!("{why}\n{}", text::DUE_QUESTION),
            }
        }
        tracing::warn!(prompt = %prompt.key, "no valid due date given; the next step is recorded without one");
        None
    }

    /// Runs `cmd`, bounded by the timeout; the first non-empty-trimmed line of stdout on success.
    async fn run(&self, cmd: Command) -> Option<String> {
        first_line(&self.run_output(cmd).await?)
    }

    /// Runs `cmd`, bounded by the timeout; its whole stdout on success.
    async fn run_output(&self, mut cmd: Command) -> Option<String> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A timed-out dialog must not linger on screen or as a process.
            .kill_on_drop(true);
        let program = cmd.as_std().get_program().to_string_lossy().into_owned();
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(program = %program, error = %e, "cannot start the dialog program; check prompts.dialog");
                return None;
            }
        };
        let out = match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => {
                tracing::warn!(program = %program, error = %e, "the dialog program failed");
                return None;
            }
            Err(_) => {
                tracing::info!(program = %program, timeout = ?self.timeout, "the dialog got no answer in time; closed it");
                return None;
            }
        };
        if !out.status.success() {
            // zenity and kdialog exit 1 on Cancel: an ordinary "no answer".
            tracing::debug!(program = %program, status = %out.status, "the dialog was cancelled");
            return None;
        }
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// `program` with `args`.
fn command<S: AsRef<OsStr>>(
    program: impl AsRef<OsStr>,
    args: impl IntoIterator<Item = S>,
) -> Command {
    let mut c = Command::new(program);
    c.args(args);
    c
}

/// The configured dialog program (`prompts.dialog = [argv…]`), started directly.
fn program(argv: &[String]) -> Command {
    command(&argv[0], &argv[1..])
}

/// `osascript` running `body` as the lines of an `on run argv` handler, with `argv` as its
/// arguments: the question and the choices go in as arguments, never spliced into the script.
fn osascript<'a>(
    program: &std::path::Path,
    body: &[&str],
    argv: impl IntoIterator<Item = &'a str>,
) -> Command {
    let mut c = Command::new(program);
    c.args(["-e", "on run argv"]);
    for line in body {
        c.args(["-e", line]);
    }
    c.args(["-e", "end run"]).args(argv);
    c
}

fn objective_command(backend: &Backend, question: &str, choices: &[String]) -> Command {
    let first = choices.first().map(String::as_str).unwrap_or("");
    match backend {
        // An editable combo box: pick a listed objective or type another.
        Backend::Zenity(p) => command(
            p,
            [
                "--entry",
                "--title",
                TITLE,
                "--text",
                question,
                "--entry-text",
                "",
            ]
            .into_iter()
            .chain(choices.iter().map(String::as_str)),
        ),
        Backend::Kdialog(p) => command(p, ["--title", TITLE, "--inputbox", question, first]),
        Backend::Osascript(p) => osascript(
            p,
            &[
                "return text returned of (display dialog (item 1 of argv) default answer (item 2 of argv) with title \"nextstep\")",
            ],
            [question, first],
        ),
        Backend::Program(argv) => program(argv),
    }
}

/// Each outcome as a row of a list: its value, then its label.
fn outcome_rows<'a>() -> impl Iterator<Item = &'a str> {
    Outcome::ALL
        .iter()
        .flat_map(|o| -> [&'a str; 2] { [o.as_str(), o.label()] })
}

fn outcome_command(backend: &Backend, question: &str) -> Command {
    match backend {
        Backend::Zenity(p) => command(
            p,
            [
                "--list",
                "--title",
                TITLE,
                "--text",
                question,
                "--column",
                "value",
                "--column",
                "Outcome",
                "--hide-column",
                "1",
                "--print-column",
                "1",
            ]
            .into_iter()
            .chain(outcome_rows()),
        ),
        Backend::Kdialog(p) => command(
            p,
            ["--title", TITLE, "--menu", question]
                .into_iter()
                .chain(outcome_rows()),
        ),
        Backend::Osascript(p) => osascript(
            p,
            &[
                "set r to choose from list (items 2 thru -1 of argv) with prompt (item 1 of argv) with title \"nextstep\"",
                "if r is false then return \"\"",
                "return item 1 of r",
            ],
            std::iter::once(question).chain(Outcome::ALL.iter().map(|o| o.label())),
        ),
        Backend::Program(argv) => program(argv),
    }
}

fn next_step_command(backend: &Backend) -> Command {
    text_command(backend, "What is the next step? (optional)")
}

/// A question with an empty text field.
fn text_command(backend: &Backend, q: &str) -> Command {
    match backend {
        Backend::Zenity(p) => command(p, ["--entry", "--title", TITLE, "--text", q]),
        Backend::Kdialog(p) => command(p, ["--title", TITLE, "--inputbox", q]),
        Backend::Osascript(p) => osascript(
            p,
            &[
                "return text returned of (display dialog (item 1 of argv) default answer \"\" with title \"nextstep\")",
            ],
            [q],
        ),
        Backend::Program(argv) => program(argv),
    }
}

fn objective_answer(line: Option<String>) -> Answer {
    match line {
        Some(text) => Answer::Objective { text },
        None => Answer::Dismissed,
    }
}

/// An outcome picked in a native dialog: its value (zenity, kdialog) or its label (osascript).
fn outcome_from_choice(choice: &str) -> Option<Outcome> {
    choice.parse::<Outcome>().ok().or_else(|| {
        Outcome::ALL
            .into_iter()
            .find(|o| o.label().eq_ignore_ascii_case(choice.trim()))
    })
}

/// The program protocol's outcome line: `VALUE` or `VALUE: next step`.
pub fn parse_outcome_line(line: &str) -> Answer {
    let (value, next) = match line.split_once(':') {
        Some((v, n)) => (v, Some(n.trim()).filter(|n| !n.is_empty())),
        None => (line, None),
    };
    match value.parse::<Outcome>() {
        Ok(result) => Answer::Outcome {
            result,
            next_step: next.map(str::to_string),
            note: None,
            due: None,
        },
        Err(e) => {
            tracing::warn!(error = %e, "the dialog program printed an unknown outcome; treating the prompt as dismissed");
            Answer::Dismissed
        }
    }
}

/// `answer` with the due date the program printed as its second line, when it gave a next step
/// of a `committed` or `advanced` outcome and a date in the `YYYY-MM-DD` form, on or after the
/// meeting's day (a line in another form is left out with a warning).
fn with_due_line(answer: Answer, out: Option<&str>, prompt: &PromptView) -> Answer {
    let Answer::Outcome {
        result,
        next_step: Some(next_step),
        note,
        due: None,
    } = answer
    else {
        return answer;
    };
    let typed = out
        .and_then(|o| o.lines().nth(1))
        .filter(|_| text::takes_due(result))
        .unwrap_or("");
    let due = text::parse_due_for(typed, prompt.start).unwrap_or_else(|why| {
        tracing::warn!(prompt = %prompt.key, "{why}; the next step is recorded without a due date");
        None
    });
    Answer::Outcome {
        result,
        next_step: Some(next_step),
        note,
        due,
    }
}

fn first_line(out: &str) -> Option<String> {
    out.lines()
        .next()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
}

pub(crate) fn find_on_path(program: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{objective, outcome};
    use crate::notify::text::tests::{objective_prompt, outcome_prompt};

    fn args(c: &Command) -> Vec<String> {
        c.as_std()
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn the_osascript_dialogs_pass_the_question_and_choices_as_arguments_after_the_script() {
        let mac = Backend::Osascript(PathBuf::from("/usr/bin/osascript"));
        let choices = ["Sign \"it\" & go".to_string(), "Other".to_string()];
        let objective = args(&objective_command(&mac, "What?", &choices));
        assert_eq!(
            objective,
            [
                "-e",
                "on run argv",
                "-e",
                "return text returned of (display dialog (item 1 of argv) default answer (item 2 of argv) with title \"nextstep\")",
                "-e",
                "end run",
                "What?",
                "Sign \"it\" & go",
            ]
        );
        let outcome = args(&outcome_command(&mac, "Did they?"));
        assert_eq!(outcome[..2], ["-e", "on run argv"]);
        assert_eq!(
            outcome[8..11],
            ["-e", "end run", "Did they?"],
            "{outcome:?}"
        );
        let labels: Vec<&str> = Outcome::ALL.iter().map(|o| o.label()).collect();
        assert_eq!(outcome[11..], labels[..]);
        let next = args(&next_step_command(&mac));
        assert_eq!(next.len(), 7, "{next:?}");
        assert_eq!(next[6], "What is the next step? (optional)");
    }

    #[test]
    fn zenity_and_kdialog_get_the_question_then_every_outcome_as_its_value_and_its_label() {
        let zenity = args(&outcome_command(
            &Backend::Zenity(PathBuf::from("zenity")),
            "Did they?",
        ));
        assert_eq!(
            zenity[..5],
            ["--list", "--title", TITLE, "--text", "Did they?"]
        );
        assert_eq!(
            zenity[13..15],
            ["committed", "They committed"],
            "{zenity:?}"
        );
        assert_eq!(zenity.len(), 13 + 2 * Outcome::ALL.len(), "{zenity:?}");
        let kdialog = args(&outcome_command(
            &Backend::Kdialog(PathBuf::from("kdialog")),
            "Did they?",
        ));
        assert_eq!(kdialog[..4], ["--title", TITLE, "--menu", "Did they?"]);
        assert_eq!(
            kdialog[16..],
            ["cancelled", "Did not happen"],
            "{kdialog:?}"
        );
        assert_eq!(kdialog.len(), 4 + 2 * Outcome::ALL.len(), "{kdialog:?}");
        let choices = ["Pilot".to_string(), "Other".to_string()];
        let entry = args(&objective_command(
            &Backend::Zenity(PathBuf::from("zenity")),
            "What?",
            &choices,
        ));
        assert_eq!(entry[7..], ["Pilot", "Other"], "{entry:?}");
        let input = args(&text_command(
            &Backend::Kdialog(PathBuf::from("kdialog")),
            "When?",
        ));
        assert_eq!(input, ["--title", TITLE, "--inputbox", "When?"]);
    }

    fn script(dir: &Path, body: &str) -> Vec<String> {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("dialog.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        vec![path.to_string_lossy().into_owned()]
    }

    fn dialog(argv: Vec<String>) -> Dialog {
        Dialog::new(DialogSetting::Program(argv), Duration::from_secs(10))
    }

    #[test]
    fn an_outcome_line_may_carry_a_next_step() {
        assert_eq!(
            parse_outcome_line("advanced: workshop on 12/3"),
            outcome(Outcome::Advanced, Some("workshop on 12/3"))
        );
        assert_eq!(
            parse_outcome_line("no-show"),
            outcome(Outcome::NoShow, None)
        );
        assert_eq!(parse_outcome_line("maybe: later"), Answer::Dismissed);
    }

    #[test]
    fn a_label_picked_in_a_native_list_maps_to_its_value() {
        assert_eq!(outcome_from_choice("They said no"), Some(Outcome::NoSale));
        assert_eq!(
            outcome_from_choice("rescheduled"),
            Some(Outcome::Rescheduled)
        );
        assert_eq!(outcome_from_choice("whatever"), None);
    }

    #[tokio::test]
    async fn a_program_gets_the_question_and_the_context_and_its_first_line_is_the_objective() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("seen");
        let argv = script(
            dir.path(),
            &format!(
                "printf '%s|%s|%s|%s' \"$1\" \"$NEXTSTEP_PROMPT_KIND\" \"$NEXTSTEP_MEETING_TITLE\" \"$NEXTSTEP_CHOICES\" > '{}'\necho 'Pilot by Friday; $(rm -rf /)'\necho second line",
                log.display()
            ),
        );
        let answer = dialog(argv).ask(&objective_prompt()).await;
        assert_eq!(answer, objective("Pilot by Friday; $(rm -rf /)"));
        let seen = std::fs::read_to_string(log).unwrap();
        let parts: Vec<&str> = seen.split('|').collect();
        assert!(
            parts[0].starts_with("What do you want them to commit to in"),
            "{seen}"
        );
        assert_eq!(parts[1], "objective");
        assert_eq!(parts[2], "Acme & Co <pilot> review");
        assert!(parts[3].starts_with("Agree to a next meeting\nSchedule a needs analysis\n"));
    }

    #[tokio::test]
    async fn a_program_answers_an_outcome_with_value_and_next_step() {
        let dir = tempfile::tempdir().unwrap();
        let argv = script(dir.path(), "echo 'committed: PO by Friday'");
        assert_eq!(
            dialog(argv).ask(&outcome_prompt()).await,
            outcome(Outcome::Committed, Some("PO by Friday"))
        );
    }

    #[tokio::test]
    async fn a_program_may_give_the_next_steps_due_date_on_its_second_line() {
        let dir = tempfile::tempdir().unwrap();
        let answer = |due| Answer::Outcome {
            result: Outcome::Committed,
            next_step: Some("PO by Friday".into()),
            note: None,
            due,
        };
        let argv = script(
            dir.path(),
            "printf 'committed: PO by Friday\\n2026-12-04\\n'",
        );
        assert_eq!(
            dialog(argv).ask(&outcome_prompt()).await,
            answer(chrono::NaiveDate::from_ymd_opt(2026, 12, 4))
        );
        // A date in another form is left out, never guessed; the outcome stands.
        let argv = script(dir.path(), "printf 'committed: PO by Friday\\nFriday\\n'");
        assert_eq!(dialog(argv).ask(&outcome_prompt()).await, answer(None));
    }

    #[tokio::test]
    async fn cancel_empty_output_or_failure_is_no_answer() {
        let dir = tempfile::tempdir().unwrap();
        for body in ["exit 1", "echo", "echo 'text'; exit 3"] {
            let argv = script(dir.path(), body);
            assert_eq!(
                dialog(argv).ask(&objective_prompt()).await,
                Answer::Dismissed,
                "{body}"
            );
        }
        let missing = vec![dir.path().join("nope").to_string_lossy().into_owned()];
        assert_eq!(
            dialog(missing).ask(&objective_prompt()).await,
            Answer::Dismissed
        );
    }

    #[tokio::test]
    async fn a_dialog_left_open_past_the_timeout_is_no_answer() {
        let dir = tempfile::tempdir().unwrap();
        let argv = script(dir.path(), "exec sleep 30");
        let d = Dialog::new(DialogSetting::Program(argv), Duration::from_millis(200));
        let t0 = std::time::Instant::now();
        assert_eq!(d.ask(&objective_prompt()).await, Answer::Dismissed);
        assert!(t0.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn no_dialog_configured_is_no_answer() {
        let d = Dialog::new(DialogSetting::None, Duration::from_secs(1));
        assert!(!d.is_available());
        assert_eq!(d.ask(&objective_prompt()).await, Answer::Dismissed);
    }
}
