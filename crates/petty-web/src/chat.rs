//! `/chat`: ask about the household in plain words: a pet ("how did Bella sleep?"), the air
//! ("is the car's CO OK?"), open alarms, or the catalog ("golden retrievers under $500"). The
//! answer comes from `petty_http::mcp::assistant`: the language model calling Petty's MCP tools
//! when one is configured, the fixed intents of `petty_app::chat` when not, with links to the
//! records it used either way. With the page's script, answers stream in over server-sent
//! events (`/chat/answer`); without it, the form posts and the page shows the whole answer.

use std::net::IpAddr;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use maud::{Markup, html};
use petty_app::chat::{Link, QUESTION_MAX};
use petty_core::accounts::Permission;
use petty_http::AppState;
use petty_http::extract::ClientIp;
use petty_http::mcp::assistant::{self, Said};
use serde::Deserialize;

use super::PageError;
use super::assets;
use super::layout::{self, Header};
use super::session::SignedIn;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Ask {
    csrf: String,
    q: String,
}

fn checked(q: &str) -> Result<&str, PageError> {
    if q.chars().count() > QUESTION_MAX {
        return Err(PageError::BadRequest(format!("A question may be at most {QUESTION_MAX} characters.")));
    }
    Ok(q.trim())
}

/// A whole answer, as the page without its script shows it.
struct Answered {
    intent: &'static str,
    lines: Vec<String>,
    tools: Vec<String>,
    links: Vec<Link>,
}

impl Answered {
    /// Gathers what was said: the model's pieces of text joined, then split into paragraphs.
    async fn gather(said: impl futures_util::Stream<Item = Said>) -> Answered {
        let mut answered = Answered { intent: "failed", lines: Vec::new(), tools: Vec::new(), links: Vec::new() };
        let mut text = String::new();
        let mut said = std::pin::pin!(said);
        while let Some(piece) = said.next().await {
            match piece {
                Said::Text(piece) => text.push_str(&piece),
                Said::Line(line) => answered.lines.push(line),
                Said::Used(tool) => answered.tools.push(tool),
                Said::Link(link) => answered.links.push(link),
                Said::Done(intent) => answered.intent = intent,
                Said::Failed(why) => answered.lines.push(why),
            }
        }
        let paragraphs = text.split("\n").map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned);
        answered.lines.splice(0..0, paragraphs);
        answered
    }
}

pub(crate) async fn chat_page(signed_in: SignedIn) -> Result<Response, PageError> {
    signed_in.require(Permission::Read)?;
    Ok(layout::html(StatusCode::OK, view(&signed_in, "", None)))
}

/// The form without the script: the question posted, the page with its whole answer.
pub(crate) async fn ask(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Form(form): Form<Ask>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::Read)?;
    let q = checked(&form.q)?;
    let answered = Answered::gather(assistant::answer(state, signed_in.actor(), ip, q.to_owned())).await;
    Ok(layout::html(StatusCode::OK, view(&signed_in, q, Some(&answered))))
}

/// The answer as server-sent events, as it is written: `text` (a piece of the model's text, to
/// be joined to the one before), `line` (a whole line), `tool` (a tool the model called),
/// `link` (`{"label", "href"}`), then `done` (the intent that answered, `llm` for the model) or
/// `failed` (why there is no answer).
pub(crate) async fn answer(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Query(form): Query<Ask>,
) -> Result<Response, PageError> {
    signed_in.require(Permission::Read)?;
    let q = checked(&form.q)?.to_owned();
    let stream = events(state, signed_in.actor(), ip, q);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

fn events(
    state: AppState,
    actor: petty_core::accounts::Actor,
    ip: IpAddr,
    q: String,
) -> impl futures_util::Stream<Item = Result<Event, std::convert::Infallible>> {
    // An event's data may not hold a carriage return; a line feed becomes a new `data:` line,
    // which the browser joins back with a line feed.
    let clean = |text: String| text.replace('\r', "");
    assistant::answer(state, actor, ip, q).map(move |said| {
        Ok(match said {
            Said::Text(piece) => Event::default().event("text").data(clean(piece)),
            Said::Line(line) => Event::default().event("line").data(clean(line)),
            Said::Used(tool) => Event::default().event("tool").data(clean(tool)),
            Said::Link(link) => Event::default()
                .event("link")
                .data(serde_json::json!({"label": link.label, "href": link.href}).to_string()),
            Said::Done(intent) => Event::default().event("done").data(intent),
            Said::Failed(why) => Event::default().event("failed").data(clean(why)),
        })
    })
}

fn view(signed_in: &SignedIn, q: &str, reply: Option<&Answered>) -> Markup {
    let chrome = signed_in.chrome();
    layout::page_with_script(
        "Chat",
        Header::SignedIn(&chrome),
        &assets::chat_script_url(),
        html! {
            div.page-head { div {
                h1 { "Ask Petty" }
                p.lead { "About your pets (“how did Bella sleep?”), the air (“is the car’s CO OK?”), open alarms, or the catalog (“golden retrievers under $500”)." }
            } }
            section.section aria-labelledby="answer-title" {
                h2 #answer-title.visually-hidden { "Conversation" }
                div #chat-log.chat-log role="log" aria-live="polite" {
                    @if let Some(reply) = reply {
                        div.chat-question { (q) }
                        div.chat-answer data-intent=(reply.intent) {
                            @if !reply.tools.is_empty() {
                                p.chat-tools { "Looked at: " (reply.tools.join(", ")) }
                            }
                            @for line in &reply.lines { p { (line) } }
                            @if !reply.links.is_empty() {
                                ul.chat-links { @for link in &reply.links { li { a href=(link.href) { (link.label) } } } }
                            }
                        }
                    }
                }
            }
            form #chat-form.form.search method="post" action="/chat" data-stream="/chat/answer" {
                (layout::csrf_field(&signed_in.csrf))
                label for="chat-q" { "Your question" }
                input #chat-q type="text" name="q" maxlength="500" required autocomplete="off" value=(q);
                button.button type="submit" { "Ask" }
            }
        },
    )
}
