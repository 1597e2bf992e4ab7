//! `/chat`: ask about the household in plain words: a pet ("how did Bella sleep?"), the air
//! ("is the car's CO OK?"), open alarms, or the catalog ("golden retrievers under $500"). The
//! answer comes from `petty_app::chat`, with links to the records it used. With the page's
//! script, answers stream in over server-sent events (`/chat/answer`); without it, the form
//! posts and the page shows the answer.

use std::convert::Infallible;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use maud::{Markup, html};
use petty_app::chat::{self, QUESTION_MAX, Reply};
use petty_core::accounts::Permission;
use petty_http::AppState;
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

pub(crate) async fn chat_page(signed_in: SignedIn) -> Result<Response, PageError> {
    signed_in.require(Permission::Read)?;
    Ok(layout::html(StatusCode::OK, view(&signed_in, "", None)))
}

/// The form without the script: the question posted, the page with its answer.
pub(crate) async fn ask(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<Ask>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::Read)?;
    let q = checked(&form.q)?;
    let reply = chat::reply(&state.app, &signed_in.actor(), q).await?;
    Ok(layout::html(StatusCode::OK, view(&signed_in, q, Some(&reply))))
}

/// The answer as server-sent events: `line` (a line of text), `link` (`{"label", "href"}`) and
/// `done` (the intent that answered), in that order.
pub(crate) async fn answer(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(form): Query<Ask>,
) -> Result<Response, PageError> {
    signed_in.require(Permission::Read)?;
    let q = checked(&form.q)?.to_owned();
    let actor = signed_in.actor();
    let stream = async_events(state, actor, q);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

fn async_events(
    state: AppState,
    actor: petty_core::accounts::Actor,
    q: String,
) -> impl futures_util::Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::once(async move {
        let events: Vec<Event> = match chat::reply(&state.app, &actor, &q).await {
            Ok(reply) => {
                let mut events: Vec<Event> =
                    reply.lines.iter().map(|l| Event::default().event("line").data(l)).collect();
                for link in &reply.links {
                    let data = serde_json::json!({"label": link.label, "href": link.href}).to_string();
                    events.push(Event::default().event("link").data(data));
                }
                events.push(Event::default().event("done").data(reply.intent));
                events
            }
            Err(e) => {
                tracing::warn!(error = %e, "the chat could not answer");
                vec![Event::default().event("failed").data("Petty could not answer just now. Try again in a moment.")]
            }
        };
        futures_util::stream::iter(events.into_iter().map(Ok))
    })
    .flatten()
}

fn view(signed_in: &SignedIn, q: &str, reply: Option<&Reply>) -> Markup {
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
