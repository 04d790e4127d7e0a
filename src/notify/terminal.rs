//! Prompts in the terminal: for `nextstep demo` over SSH, or a daemon started by hand where no
//! notification server answers. The prompt goes to stderr (stdout stays for command output) with
//! numbered choices; the answer is one line from stdin.
//!
//! The reading logic ([`ask_with`]) works on any `AsyncBufRead` + `AsyncWrite`, so it is tested
//! with in-memory buffers.
//!
//! Stdin is read by a thread of its own, never by tokio's `stdin()`: that one reads on tokio's
//! blocking pool, and a runtime waits for a blocking read to finish before it shuts down, so a
//! prompt waiting for a line kept Ctrl-C and SIGTERM from stopping the process. The thread's
//! lines reach the prompt through an in-memory pipe; the process exits without waiting for it.

use std::io::IsTerminal;
use std::time::Duration;

use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream,
};
use tokio::sync::Mutex;

use crate::model::{Answer, Outcome, PromptKind, Via};

use super::text;
use super::{AskFuture, Notifier, NotifyError, PromptView, Reply, Showing};

/// Whether stdin is a terminal, i.e. someone can type an answer.
pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// Asks on the process's own terminal.
pub struct TerminalNotifier {
    // One reader for the life of the notifier, started at the first prompt: a read cut short by
    // the timeout leaves its line in this buffer for the next prompt instead of losing it.
    stdin: Mutex<Option<BufReader<DuplexStream>>>,
    timeout: Duration,
    /// The last prompt was withdrawn: what was typed since was meant for it, not for the next.
    withdrawn: std::sync::atomic::AtomicBool,
}

impl TerminalNotifier {
    /// `timeout`: how long to wait for a line before the prompt counts as unanswered.
    pub fn new(timeout: Duration) -> Self {
        TerminalNotifier {
            stdin: Mutex::new(None),
            timeout,
            withdrawn: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

/// Starts the thread that reads stdin, and returns the end its lines come out of. Must be called
/// inside a tokio runtime (the pipe is fed by a task).
fn spawn_stdin_reader() -> BufReader<DuplexStream> {
    let (mut write, read) = tokio::io::duplex(4096);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
    let started = std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            use std::io::BufRead as _;
            let mut stdin = std::io::stdin().lock();
            loop {
                let mut line = Vec::new();
                match stdin.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if tx.blocking_send(line).is_err() {
                            break;
                        }
                    }
                }
            }
        });
    if let Err(e) = started {
        tracing::warn!("cannot start reading the terminal: {e}");
    }
    // Ends (closing the pipe: end of input) when stdin ends or the thread could not start.
    tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            if write.write_all(&line).await.is_err() {
                break;
            }
        }
    });
    BufReader::new(read)
}

impl Notifier for TerminalNotifier {
    fn ask_showing<'a>(&'a self, prompt: &'a PromptView, showing: &'a Showing) -> AskFuture<'a> {
        Box::pin(async move {
            let mut input = self.stdin.lock().await;
            let input = input.get_or_insert_with(spawn_stdin_reader);
            let mut out = tokio::io::stderr();
            if showing.is_withdrawn() {
                return Err(NotifyError::Withdrawn(showing.withdrawn().await));
            }
            if self
                .withdrawn
                .swap(false, std::sync::atomic::Ordering::Relaxed)
            {
                discard_typed(input).await;
            }
            let asked = tokio::select! {
                a = ask_with(prompt, input, &mut out, self.timeout) => a,
                why = showing.withdrawn() => {
                    let line = format!("\n(answered elsewhere: {why}; nothing more to type here)\n");
                    let _ = out.write_all(line.as_bytes()).await;
                    let _ = out.flush().await;
                    self.withdrawn.store(true, std::sync::atomic::Ordering::Relaxed);
                    return Err(NotifyError::Withdrawn(why));
                }
            };
            let answer =
                asked.map_err(|e| NotifyError::Failed(format!("cannot use the terminal: {e}")))?;
            Ok(Reply {
                answer,
                via: Via::Terminal,
            })
        })
    }

    fn tell<'a>(
        &'a self,
        summary: &'a str,
        body: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), NotifyError>> + Send + 'a>>
    {
        Box::pin(async move {
            let mut out = tokio::io::stderr();
            let msg = format!("\nnextstep: {summary}\n{body}\n");
            out.write_all(msg.as_bytes())
                .await
                .map_err(|e| NotifyError::Failed(format!("cannot write to the terminal: {e}")))
        })
    }
}

/// Shows `prompt` on `output` and reads the answer from `input`, for at most `timeout` in all.
/// End of input, an empty line or the timeout give [`Answer::Dismissed`].
pub async fn ask_with<R, W>(
    prompt: &PromptView,
    input: &mut R,
    output: &mut W,
    timeout: Duration,
) -> std::io::Result<Answer>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    // A timeout beyond what the clock can hold means no timeout: a year is as good as forever.
    let now = tokio::time::Instant::now();
    let deadline = now
        .checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600));
    let shown = text::notification(prompt, false);
    let mut menu = format!("\n{}\n{}\n", shown.summary, shown.body);
    match prompt.kind {
        PromptKind::Objective => {
            // Numbered as shown: the suggested rung (if any) is 1.
            for (n, (_, o)) in text::ordered_objectives(prompt).iter().enumerate() {
                menu.push_str(&format!("  {}) {o}\n", n + 1));
            }
            let not_sales = if prompt.recurring {
                "not a sales meeting (the whole series)"
            } else {
                "not a sales meeting"
            };
            menu.push_str(&format!("  s) later   n) {not_sales}\n"));
            menu.push_str("Number, or type your own objective (empty: skip): ");
        }
        PromptKind::Outcome => {
            for (i, o) in Outcome::ALL.iter().enumerate() {
                menu.push_str(&format!("  {}) {} ({})\n", i + 1, o.label(), o.as_str()));
            }
            menu.push_str("  s) later\n");
            menu.push_str("Number or value (empty: skip): ");
        }
    }
    output.write_all(menu.as_bytes()).await?;
    output.flush().await?;

    loop {
        let Some(line) = read_line(input, deadline).await? else {
            output.write_all(b"\n(no answer)\n").await?;
            output.flush().await?;
            return Ok(Answer::Dismissed);
        };
        let line = line.trim();
        if line.is_empty() {
            return Ok(Answer::Dismissed);
        }
        if matches!(line.to_ascii_lowercase().as_str(), "s" | "later" | "snooze") {
            return Ok(Answer::Snooze);
        }
        match prompt.kind {
            PromptKind::Objective => {
                if matches!(line.to_ascii_lowercase().as_str(), "n" | "not_sales") {
                    return Ok(Answer::NotSales);
                }
                if let Ok(n) = line.parse::<usize>() {
                    let listed = text::ordered_objectives(prompt);
                    if let Some((_, text)) = n.checked_sub(1).and_then(|i| listed.get(i)) {
                        return Ok(Answer::Objective {
                            text: text.to_string(),
                        });
                    }
                    output
                        .write_all(
                            format!("No objective {n}; pick 1-{}: ", prompt.objectives.len())
                                .as_bytes(),
                        )
                        .await?;
                    output.flush().await?;
                    continue;
                }
                return Ok(Answer::Objective {
                    text: line.to_string(),
                });
            }
            PromptKind::Outcome => {
                let result = match line.parse::<usize>() {
                    Ok(n) => n.checked_sub(1).and_then(|i| Outcome::ALL.get(i).copied()),
                    Err(_) => line.parse::<Outcome>().ok(),
                };
                let Some(result) = result else {
                    output
                        .write_all(b"Not an outcome; type a number from the list: ")
                        .await?;
                    output.flush().await?;
                    continue;
                };
                output
                    .write_all(b"What is the next step? (optional, empty: none): ")
                    .await?;
                output.flush().await?;
                // The outcome stands even when the next step never comes.
                let next_step = read_line(input, deadline)
                    .await?
                    .map(|l| l.trim().to_string())
                    .filter(|l| !l.is_empty());
                let due = match next_step {
                    Some(_) if text::takes_due(result) => {
                        read_due(input, output, deadline, prompt.start).await?
                    }
                    _ => None,
                };
                return Ok(Answer::Outcome {
                    result,
                    next_step,
                    note: None,
                    due,
                });
            }
        }
    }
}

/// The next step's due date: asked until it is a `YYYY-MM-DD` date on or after the meeting's day
/// (`start`), or left empty; the end of input or the deadline leave it out (the outcome and next
/// step stand).
async fn read_due<R, W>(
    input: &mut R,
    output: &mut W,
    deadline: tokio::time::Instant,
    start: chrono::DateTime<chrono::Utc>,
) -> std::io::Result<Option<chrono::NaiveDate>>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    output
        .write_all(format!("{} ", text::DUE_QUESTION).as_bytes())
        .await?;
    output.flush().await?;
    loop {
        let Some(line) = read_line(input, deadline).await? else {
            return Ok(None);
        };
        match text::parse_due_for(&line, start) {
            Ok(due) => return Ok(due),
            Err(why) => {
                output.write_all(format!("{why}: ").as_bytes()).await?;
                output.flush().await?;
            }
        }
    }
}

/// Drops whatever was typed and is waiting to be read, without waiting for more.
async fn discard_typed<R: AsyncBufRead + Unpin>(input: &mut R) {
    // `fill_buf` is cancel-safe: cut short by the timeout, it loses nothing.
    while let Ok(Ok(buf)) = tokio::time::timeout(Duration::from_millis(5), input.fill_buf()).await {
        let n = buf.len();
        if n == 0 {
            break;
        }
        input.consume(n);
    }
}

/// One line, or `None` at end of input or at the deadline.
async fn read_line<R: AsyncBufRead + Unpin>(
    input: &mut R,
    deadline: tokio::time::Instant,
) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    match tokio::time::timeout_at(deadline, input.read_line(&mut line)).await {
        Err(_) => Ok(None),
        Ok(Ok(0)) => Ok(None),
        Ok(Ok(_)) => Ok(Some(line)),
        Ok(Err(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{objective, outcome};
    use crate::notify::text::tests::{objective_prompt, outcome_prompt};

    /// The answer to `prompt` read from `input` within `timeout`, and what was written to the
    /// terminal.
    async fn ask_from<R: AsyncBufRead + Unpin>(
        prompt: &PromptView,
        input: &mut R,
        timeout: Duration,
    ) -> (Answer, String) {
        let mut out = Vec::new();
        let a = ask_with(prompt, input, &mut out, timeout).await.unwrap();
        (a, String::from_utf8(out).unwrap())
    }

    async fn run(prompt: &PromptView, typed: &str) -> (Answer, String) {
        ask_from(prompt, &mut typed.as_bytes(), Duration::from_secs(5)).await
    }

    #[tokio::test]
    async fn a_number_picks_a_listed_objective() {
        let (a, out) = run(&objective_prompt(), "3\n").await;
        assert_eq!(a, objective("Agree to a proposal meeting"));
        assert!(out.contains("Before \"Acme & Co <pilot> review\""), "{out}");
        assert!(out.contains("  6) Agree to the sale\n"), "{out}");
    }

    #[tokio::test]
    async fn the_suggested_rung_is_number_one_and_the_others_follow_once() {
        let p = crate::notify::text::tests::suggested_prompt(2);
        let (a, out) = run(&p, "1\n").await;
        assert_eq!(a, objective("Agree to a proposal meeting"));
        assert!(out.contains("Last time Acme agreed to"), "{out}");
        assert!(
            out.contains("  1) Agree to a proposal meeting\n  2) Agree to a next meeting\n"),
            "{out}"
        );
        assert_eq!(
            out.matches("Agree to a proposal meeting").count(),
            1,
            "{out}"
        );
        assert_eq!(
            run(&p, "4\n").await.0,
            objective("Meet the decision makers")
        );
    }

    #[tokio::test]
    async fn a_next_step_may_get_a_due_date_and_a_bad_one_is_asked_again() {
        let (a, out) = run(
            &outcome_prompt(),
            "1\nSend the PO\n24.12.\n2026-11-20\n2026-12-24\n",
        )
        .await;
        assert_eq!(
            a,
            Answer::Outcome {
                result: Outcome::Committed,
                next_step: Some("Send the PO".into()),
                note: None,
                due: chrono::NaiveDate::from_ymd_opt(2026, 12, 24),
            }
        );
        assert!(out.contains("By when? (YYYY-MM-DD, optional)"), "{out}");
        assert!(out.contains("“24.12.” is not a date"), "{out}");
        assert!(
            out.contains("2026-11-20 is before the meeting itself"),
            "{out}"
        );
        // No commitment, no date: a continuation's next step is not asked when it is due.
        let (a, out) = run(&outcome_prompt(), "3\nCall back\n").await;
        assert!(matches!(a, Answer::Outcome { due: None, .. }), "{a:?}");
        assert!(!out.contains("By when?"), "{out}");
        // Left empty, or never answered: no date, and the next step stands.
        for typed in ["1\nSend the PO\n\n", "1\nSend the PO\n"] {
            assert_eq!(
                run(&outcome_prompt(), typed).await.0,
                outcome(Outcome::Committed, Some("Send the PO"))
            );
        }
    }

    #[tokio::test]
    async fn free_text_is_the_objective() {
        let (a, _) = run(&objective_prompt(), "  Pilot signed by Friday \n").await;
        assert_eq!(a, objective("Pilot signed by Friday"));
    }

    #[tokio::test]
    async fn a_number_out_of_range_asks_again() {
        let (a, out) = run(&objective_prompt(), "9\n1\n").await;
        assert_eq!(a, objective("Agree to a next meeting"));
        assert!(out.contains("No objective 9"), "{out}");
    }

    #[tokio::test]
    async fn s_snoozes_and_n_is_not_sales() {
        assert_eq!(run(&objective_prompt(), "s\n").await.0, Answer::Snooze);
        assert_eq!(run(&objective_prompt(), "n\n").await.0, Answer::NotSales);
        assert_eq!(run(&outcome_prompt(), "later\n").await.0, Answer::Snooze);
    }

    #[tokio::test]
    async fn an_empty_line_or_end_of_input_is_no_answer() {
        assert_eq!(run(&objective_prompt(), "\n").await.0, Answer::Dismissed);
        assert_eq!(run(&outcome_prompt(), "").await.0, Answer::Dismissed);
    }

    #[tokio::test]
    async fn an_outcome_by_number_or_value_then_an_optional_next_step() {
        assert_eq!(
            run(&outcome_prompt(), "2\nTech workshop on 3 Dec\n")
                .await
                .0,
            outcome(Outcome::Advanced, Some("Tech workshop on 3 Dec"))
        );
        assert_eq!(
            run(&outcome_prompt(), "no-show\n\n").await.0,
            outcome(Outcome::NoShow, None)
        );
        // The next step never comes: the outcome still counts.
        assert_eq!(
            run(&outcome_prompt(), "committed\n").await.0,
            outcome(Outcome::Committed, None)
        );
    }

    #[tokio::test]
    async fn an_unknown_outcome_asks_again() {
        let (a, out) = run(&outcome_prompt(), "maybe\n1\n\n").await;
        assert_eq!(a, outcome(Outcome::Committed, None));
        assert!(out.contains("Not an outcome"), "{out}");
    }

    #[tokio::test]
    async fn what_was_typed_for_a_withdrawn_prompt_is_discarded_and_later_lines_are_kept() {
        let (mut typing, reader) = tokio::io::duplex(64);
        let mut input = BufReader::new(reader);
        typing
            .write_all(b"1\nmeant for the old prompt\n")
            .await
            .unwrap();
        discard_typed(&mut input).await;
        typing.write_all(b"2\n").await.unwrap();
        let (a, _) = ask_from(&objective_prompt(), &mut input, Duration::from_secs(5)).await;
        assert_eq!(a, objective("Schedule a needs analysis"));
    }

    #[tokio::test]
    async fn silence_until_the_timeout_is_no_answer() {
        // A reader that never yields a line: the far end of a duplex pipe nobody writes to.
        let (_keep, reader) = tokio::io::duplex(64);
        let mut input = BufReader::new(reader);
        let (a, out) = ask_from(&objective_prompt(), &mut input, Duration::from_millis(100)).await;
        assert_eq!(a, Answer::Dismissed);
        assert!(out.ends_with("(no answer)\n"));
    }
}
