//! The page's routes: a request becomes a view (`view`) rendered as HTML (`pages`), or a ledger
//! write. Every request has passed `security::guard` before it gets here.
//!
//! An answer is [`Ledger::record`], the write the CLI and the notifications use: keyed to the
//! prompt on screen when there is one (its key, with a `#web#NONCE` suffix), so the first answer
//! stands wherever it came from; the form's nonce makes a resubmitted form a retry, not a second
//! answer. When the question was answered already, the page says by whom and when, and offers
//! the explicit correction ([`Ledger::correct`]). An outcome for a meeting that has not started
//! needs the form's confirmation (`early`), as `nextstep outcome` needs `--force`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::WebState;
use super::pages::{self, Css, FormCtx};
use super::view::{self, Filter};
use crate::ledger::{Ledger, Recorded};
use crate::model::{Answer, MeetingId, Outcome, PromptKind, Via};
use crate::notify::text as due_text;

pub fn router(state: Arc<WebState>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/meeting", get(meeting))
        .route("/meeting/objective", post(objective))
        .route("/meeting/outcome", post(outcome))
        .route("/meeting/sales", post(sales))
        .route("/report", get(report))
        .route("/export.csv", get(export::<CSV>))
        .route("/export.jsonl", get(export::<JSONL>))
        .route("/style.css", get(style))
        .fallback(not_found)
        .with_state(state)
}

/// A failure inside a handler: shown as a page that says what went wrong.
struct Failure(anyhow::Error);

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.into())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        tracing::error!("answer page: {:#}", self.0);
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Html(pages::message("Something went wrong", &format!("{:#}", self.0)).into_string()),
        )
            .into_response()
    }
}

type Result<T> = std::result::Result<T, Failure>;

/// Runs `f` with a ledger connection of its own, off the async threads (SQLite blocks).
async fn with_ledger<T: Send + 'static>(
    state: &Arc<WebState>,
    f: impl FnOnce(&WebState, &mut Ledger, DateTime<Utc>) -> anyhow::Result<T> + Send + 'static,
) -> Result<T> {
    let state = state.clone();
    let out = tokio::task::spawn_blocking(move || {
        let mut ledger = Ledger::open(&state.ledger_path)?;
        let now = state.clock.now();
        f(&state, &mut ledger, now)
    })
    .await??;
    Ok(out)
}

fn forms(state: &WebState) -> FormCtx<'_> {
    FormCtx {
        csrf: state.csrf.expose(),
    }
}

async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        pages::STYLE,
    )
}

async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        Html(pages::message("Not found", "There is no such page.").into_string()),
    )
}

async fn home(State(state): State<Arc<WebState>>) -> Result<Html<String>> {
    with_ledger(&state, |s, ledger, now| {
        let home = view::home(&s.config, &s.data_dir, ledger, now)?;
        Ok(Html(pages::home(&home, &forms(s)).into_string()))
    })
    .await
}

#[derive(Deserialize)]
struct MeetingQuery {
    id: String,
    /// What was just recorded, for the notice.
    done: Option<String>,
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "objective" => Some("Objective recorded."),
        "outcome" => Some("Outcome recorded."),
        "sales" => Some("Recorded: nextstep will go by your word for this meeting."),
        _ => None,
    }
}

async fn meeting(
    State(state): State<Arc<WebState>>,
    Query(q): Query<MeetingQuery>,
) -> Result<Response> {
    with_ledger(&state, move |s, ledger, now| {
        Ok(
            match view::meeting(&s.config, &s.data_dir, ledger, &q.id, now)? {
                Some(p) => {
                    Html(pages::meeting(&p, &forms(s), notice(q.done.as_deref())).into_string())
                        .into_response()
                }
                None => unknown_meeting(),
            },
        )
    })
    .await
}

fn unknown_meeting() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(
            pages::message(
                "No such meeting",
                "nextstep knows no meeting with this id: it may have left the calendar before the ledger saw it.",
            )
            .into_string(),
        ),
    )
        .into_response()
}

#[derive(Deserialize)]
struct ObjectiveForm {
    id: String,
    nonce: String,
    objective: String,
    correct: Option<String>,
}

#[derive(Deserialize)]
struct OutcomeForm {
    id: String,
    nonce: String,
    result: String,
    next_step: Option<String>,
    /// The next step's due date, `YYYY-MM-DD` (a date input's value); empty is none.
    due: Option<String>,
    note: Option<String>,
    correct: Option<String>,
    /// Present when the person ticked [`pages::RECORD_EARLY`]: the page's `outcome --force`.
    early: Option<String>,
}

#[derive(Deserialize)]
struct SalesForm {
    id: String,
    /// `meeting` or `series`.
    scope: String,
    /// `true`: is a sales meeting; `false`: is not.
    customer: bool,
}

/// The ledger key of an answer from the page to `question` of `meeting`: the key of the prompt
/// on screen for it when there is one (so the daemon sees that prompt answered), else the
/// question's own, with the form's nonce.
fn answer_key(
    ledger: &Ledger,
    meeting: &MeetingId,
    question: PromptKind,
    nonce: &str,
) -> anyhow::Result<String> {
    let nonce: String = nonce
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(32)
        .collect();
    let base = ledger
        .open_prompts()?
        .into_iter()
        .rfind(|p| &p.meeting == meeting && p.kind == question)
        .map(|p| p.key)
        .unwrap_or_else(|| format!("{meeting}#{}", question.as_str()));
    Ok(format!("{base}#web#{nonce}"))
}

/// An answer as a form gave it.
struct Given {
    id: String,
    nonce: String,
    question: PromptKind,
    answer: Answer,
    /// The form was the explicit correction of an earlier answer.
    correct: bool,
}

/// Records the answer to its question (or corrects it), and answers with the meeting page, or
/// with "already answered" and the correction.
fn answer(
    s: &WebState,
    ledger: &mut Ledger,
    now: DateTime<Utc>,
    given: Given,
) -> anyhow::Result<Response> {
    let Given {
        id,
        nonce,
        question,
        answer,
        correct,
    } = given;
    let id = id.as_str();
    let Some(known) = view::find(&s.config, &s.data_dir, ledger, id)? else {
        return Ok(unknown_meeting());
    };
    let meeting = known.0.id.clone();
    ledger.introduce(&[known], now)?;
    let key = answer_key(ledger, &meeting, question, &nonce)?;
    let recorded = if correct && ledger.answered(&meeting, question)?.is_some() {
        ledger.correct(&key, &meeting, &answer, Via::Web, now)?
    } else {
        ledger.record(&key, &meeting, &answer, Via::Web, now)?
    };
    match recorded {
        Recorded::New | Recorded::Retry => {
            let to = format!(
                "{}&done={}",
                pages::meeting_href(meeting.as_str()),
                question.as_str()
            );
            Ok(Redirect::to(&to).into_response())
        }
        Recorded::AlreadyAnswered { by, at } => {
            let Some(p) = view::meeting(&s.config, &s.data_dir, ledger, id, now)? else {
                return Ok(unknown_meeting());
            };
            let page = pages::already_answered(&p, &forms(s), question, by, at);
            Ok((StatusCode::CONFLICT, Html(page.into_string())).into_response())
        }
    }
}

fn bad_form(why: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(pages::message("Not recorded", why).into_string()),
    )
        .into_response()
}

fn text(s: Option<String>) -> Option<String> {
    s.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

async fn objective(
    State(state): State<Arc<WebState>>,
    Form(f): Form<ObjectiveForm>,
) -> Result<Response> {
    let Some(objective) = text(Some(f.objective)) else {
        return Ok(bad_form("Write the objective, or pick one."));
    };
    with_ledger(&state, move |s, ledger, now| {
        let given = Given {
            correct: f.correct.is_some(),
            id: f.id,
            nonce: f.nonce,
            question: PromptKind::Objective,
            answer: Answer::Objective { text: objective },
        };
        answer(s, ledger, now, given)
    })
    .await
}

async fn outcome(
    State(state): State<Arc<WebState>>,
    Form(f): Form<OutcomeForm>,
) -> Result<Response> {
    let Ok(result) = f.result.parse::<Outcome>() else {
        return Ok(bad_form("Pick one of the outcome values."));
    };
    let typed_due = f.due.clone().unwrap_or_default();
    if !typed_due.trim().is_empty() && !due_text::takes_due(result) {
        return Ok(bad_form(&format!(
            "A due date dates a commitment, and “{result}” records none: give one only with \
             committed or advanced, or leave it empty."
        )));
    }
    with_ledger(&state, move |s, ledger, now| {
        let known = view::find(&s.config, &s.data_dir, ledger, &f.id)?;
        // As `nextstep outcome` has it: a meeting that has not started needs the confirmation.
        if let Some((m, _)) = known.as_ref().filter(|(m, _)| m.start > now)
            && f.early.is_none()
        {
            return Ok(bad_form(&format!(
                "“{}” has not started yet ({}): an outcome is for a meeting that took place. To \
                 record one anyway, tick “{}” on the meeting's page.",
                m.title,
                pages::local(m.start),
                pages::RECORD_EARLY
            )));
        }
        // The rules of `nextstep outcome --due`: YYYY-MM-DD, on or after the meeting's day.
        let start = known.map(|(m, _)| m.start);
        let due = match start.map(|start| due_text::parse_due_for(&typed_due, start)) {
            Some(Err(why)) => return Ok(bad_form(&format!("{why}."))),
            Some(Ok(due)) => due,
            None => None,
        };
        let given = Given {
            correct: f.correct.is_some(),
            id: f.id,
            nonce: f.nonce,
            question: PromptKind::Outcome,
            answer: Answer::Outcome {
                result,
                next_step: text(f.next_step),
                note: text(f.note),
                due,
            },
        };
        answer(s, ledger, now, given)
    })
    .await
}

/// "Not a sales meeting" / "this is a sales meeting", for the meeting or its series: an override
/// in the ledger, which the classifier obeys (and `upcoming` shows as its reason).
async fn sales(State(state): State<Arc<WebState>>, Form(f): Form<SalesForm>) -> Result<Response> {
    with_ledger(&state, move |s, ledger, now| {
        let Some(known) = view::find(&s.config, &s.data_dir, ledger, &f.id)? else {
            return Ok(unknown_meeting());
        };
        let id = known.0.id.clone();
        ledger.introduce(&[known], now)?;
        let scope = match f.scope.as_str() {
            "series" => id.series(),
            _ => id.as_str(),
        };
        ledger.set_override(scope, f.customer, now)?;
        let to = format!("{}&done=sales", pages::meeting_href(id.as_str()));
        Ok(Redirect::to(&to).into_response())
    })
    .await
}

async fn report(
    State(state): State<Arc<WebState>>,
    Query(filter): Query<Filter>,
) -> Result<Html<String>> {
    with_ledger(&state, move |s, ledger, now| {
        let page = view::report(ledger, filter, now)?;
        let today = crate::coach::local_day(now, &chrono::Local);
        let page = view::with_coaching(page, ledger, &s.config.prompts.objectives, today)?;
        Ok(Html(pages::report(&page, Css::Linked).into_string()))
    })
    .await
}

/// A format `nextstep export` writes, as a download: how rows are written, the media type, and
/// the file name offered.
struct Download {
    render: fn(&[crate::model::LedgerRow]) -> String,
    mime: &'static str,
    name: &'static str,
}

/// The downloads, one per route; [`CSV`] and [`JSONL`] index them.
const DOWNLOADS: [Download; 2] = [
    Download {
        render: crate::export::to_csv,
        mime: "text/csv; charset=utf-8",
        name: "nextstep.csv",
    },
    Download {
        render: crate::export::to_jsonl,
        mime: "application/jsonl; charset=utf-8",
        name: "nextstep.jsonl",
    },
];
const CSV: usize = 0;
const JSONL: usize = 1;

/// A download of what `filter` keeps, in the format `DOWNLOADS[FORMAT]` of `nextstep export`.
async fn export<const FORMAT: usize>(
    State(state): State<Arc<WebState>>,
    Query(filter): Query<Filter>,
) -> Result<Response> {
    let Download { render, mime, name } = DOWNLOADS[FORMAT];
    let body = with_ledger(&state, move |_, ledger, _| {
        Ok(render(&view::filtered_rows(ledger, &filter)?))
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}
