//! The dashboard's chat with a language model: the model answers a question by calling Petty's
//! own MCP tools, and its answer streams to the page as it is written.
//!
//! For each question an MCP session is opened in-process: [`PettyMcp`] on one end of a byte
//! pipe, rmcp's client on the other, speaking the same JSON-RPC as `petty mcp` and `/mcp`. So the
//! model sees exactly the tools, descriptions and JSON Schemas an outside client sees, and every
//! call goes through the REST handler with the asker's own permissions. Only the read-only tools
//! (`readOnlyHint`) are offered: text from a listing's description or a care note must never be
//! able to talk the model into acknowledging an alarm or adding a listing.
//!
//! The loop: the question and the tools go to the model (`stream: true`); each piece of text it
//! writes goes straight to the page; when it asks for tools instead, they are called, their
//! answers are handed back, and it is asked again, at most [`ROUNDS`] times. Every record a tool
//! answered becomes a link under the answer.
//!
//! Without a model configured, with the model's circuit open, or when the model fails before it
//! has written anything, the fixed intents of `petty_app::chat` answer instead, and the answer
//! says why. A model that fails mid-answer leaves what it wrote, with a note that it was cut off.

use std::collections::HashSet;
use std::net::IpAddr;

use futures_util::Stream;
use petty_app::chat::{self, Link};
use petty_core::accounts::Actor;
use petty_notify::llm::{Llm, LlmError, ToolCall};
use rmcp::model::{CallToolRequestParams, CallToolResult, Tool};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use super::{Credential, PettyMcp};
use crate::state::AppState;

/// How many times the model may ask for tools before it must answer.
pub const ROUNDS: usize = 4;
/// The most of one tool's answer handed to the model, in bytes.
const TOOL_ANSWER_MAX: usize = 24 * 1024;
/// The longest answer asked of the model, in tokens.
const ANSWER_TOKENS: u32 = 700;

/// What the chat says, piece by piece, in this order: text (or whole lines), the tools it used,
/// the links to the records behind the answer, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    /// A piece of the model's text, to be joined to the pieces before it.
    Text(String),
    /// A whole line (a fixed intent's answer, or a note).
    Line(String),
    /// A tool the model called, by name.
    Used(String),
    Link(Link),
    /// The answer is complete; which intent answered (`llm` for the model).
    Done(&'static str),
    /// No answer could be given; why, for the asker.
    Failed(String),
}

/// Answers `question` for `actor` (asking from `ip`), as a stream of what is said.
pub fn answer(state: AppState, actor: Actor, ip: IpAddr, question: String) -> impl Stream<Item = Said> {
    let (tx, rx) = unbounded_channel();
    tokio::spawn(async move { run(&state, actor, ip, &question, &tx).await });
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|said| (said, rx)) })
}

async fn run(state: &AppState, actor: Actor, ip: IpAddr, question: &str, tx: &UnboundedSender<Said>) {
    let Some(llm) = state.app.llm.as_ref() else {
        return fixed(state, &actor, question, tx, None).await;
    };
    if state.app.llm_breaker.is_open(state.app.now_ms()) {
        let why = "the language model failed several times in a row, so it is left alone for a minute";
        return fixed(state, &actor, question, tx, Some(why.to_owned())).await;
    }
    let session = match Session::open(state, actor, ip).await {
        Ok(session) => session,
        Err(why) => {
            tracing::warn!(%why, "the chat could not open its MCP session");
            return fixed(state, &actor, question, tx, Some("Petty's tools could not be reached".to_owned())).await;
        }
    };
    let outcome = converse(state, llm, &session, question, tx).await;
    session.close().await;
    if let Err(Failure { spoke, why }) = outcome {
        tracing::info!(%why, "the chat's language model failed");
        if spoke {
            let _ = tx.send(Said::Failed(format!("The answer was cut off: {why}. Ask again.")));
        } else {
            fixed(state, &actor, question, tx, Some(format!("the language model did not answer ({why})"))).await;
        }
    }
}

/// Why the model's answer did not come, and whether it had written anything first.
struct Failure {
    spoke: bool,
    why: LlmError,
}

async fn converse(
    state: &AppState,
    llm: &Llm,
    session: &Session,
    question: &str,
    tx: &UnboundedSender<Said>,
) -> Result<(), Failure> {
    let today = petty_core::pets::format_date(state.app.now().date());
    let mut messages =
        vec![json!({"role": "system", "content": system_prompt(&today)}), json!({"role": "user", "content": question})];
    let mut spoke = false;
    let mut links = Links::default();
    for _ in 0..ROUNDS {
        let request = json!({
            "model": llm.config().model,
            "messages": messages,
            "tools": session.offered,
            "temperature": 0.2,
            "max_tokens": ANSWER_TOKENS,
        });
        let streamed = llm
            .chat_streamed(&request, |text| {
                spoke = true;
                let _ = tx.send(Said::Text(text.to_owned()));
            })
            .await;
        state.app.llm_breaker.record(streamed.is_ok(), state.app.now_ms());
        let streamed = streamed.map_err(|why| Failure { spoke, why })?;
        if streamed.tool_calls.is_empty() {
            links.send(tx);
            let _ = tx.send(Said::Done("llm"));
            return Ok(());
        }
        let calls: Vec<Value> = streamed
            .tool_calls
            .iter()
            .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
            .collect();
        let text = (!streamed.text.is_empty()).then_some(streamed.text.as_str());
        messages.push(json!({"role": "assistant", "content": text, "tool_calls": calls}));
        for call in &streamed.tool_calls {
            let _ = tx.send(Said::Used(call.name.clone()));
            let answer = session.call(call, &mut links).await;
            messages.push(json!({"role": "tool", "tool_call_id": call.id, "content": answer}));
        }
    }
    let _ = tx.send(Said::Line(format!(
        "I stopped after {ROUNDS} rounds of looking things up without an answer. Try a narrower question."
    )));
    links.send(tx);
    let _ = tx.send(Said::Done("llm"));
    Ok(())
}

fn system_prompt(today: &str) -> String {
    format!(
        "You are Petty's assistant for one household: its pets, their collars' readings, behaviour \
         timeline and wellness, the air monitors and their CO alarms, care records and reminders, the \
         life log, and the household's pet catalog. Answer only from what the tools answer, and never \
         guess a number; say so when the tools have no data. Ids are UUIDs: find them first (list_pets, \
         search_catalog). Answer in a few plain sentences, without tables or markdown. Today is {today} (UTC)."
    )
}

/// The fixed intents' answer, with the reason the model did not answer when it was meant to.
async fn fixed(state: &AppState, actor: &Actor, question: &str, tx: &UnboundedSender<Said>, why: Option<String>) {
    match chat::reply(&state.app, actor, question).await {
        Ok(reply) => {
            if let Some(why) = why {
                let _ = tx.send(Said::Line(format!("(Answered without the language model: {why}.)")));
            }
            for line in reply.lines {
                let _ = tx.send(Said::Line(line));
            }
            for link in reply.links {
                let _ = tx.send(Said::Link(link));
            }
            let _ = tx.send(Said::Done(reply.intent));
        }
        Err(e) => {
            tracing::warn!(error = %e, "the chat could not answer");
            let _ = tx.send(Said::Failed("Petty could not answer just now. Try again in a moment.".to_owned()));
        }
    }
}

/// An in-process MCP session for one question, and the tools offered to the model.
struct Session {
    client: RunningService<RoleClient, ()>,
    /// The read-only tools, in the chat-completions `tools` shape.
    offered: Vec<Value>,
    names: HashSet<String>,
}

impl Session {
    async fn open(state: &AppState, actor: Actor, ip: IpAddr) -> Result<Session, String> {
        let (server_end, client_end) = tokio::io::duplex(64 * 1024);
        let server = PettyMcp::new(state.clone(), Credential::Actor { actor, ip });
        tokio::spawn(async move {
            match server.serve(server_end).await {
                Ok(running) => {
                    let _ = running.waiting().await;
                }
                Err(e) => tracing::warn!(error = %e, "the chat's MCP server did not start"),
            }
        });
        let client = ().serve(client_end).await.map_err(|e| format!("initialize failed: {e}"))?;
        let tools = client.list_all_tools().await.map_err(|e| format!("tools/list failed: {e}"))?;
        let read_only: Vec<&Tool> =
            tools.iter().filter(|t| t.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true)).collect();
        let offered = read_only.iter().map(|t| function_of(t)).collect();
        let names = read_only.iter().map(|t| t.name.to_string()).collect();
        Ok(Session { client, offered, names })
    }

    /// Calls the tool the model asked for and answers what the model is told: the tool's JSON,
    /// or its refusal, as text. The records it answered are added to `links`.
    async fn call(&self, call: &ToolCall, links: &mut Links) -> String {
        if !self.names.contains(&call.name) {
            return refusal(&format!("there is no tool {:?} in this chat; use one of the tools offered", call.name));
        }
        let arguments = if call.arguments.trim().is_empty() {
            Map::new()
        } else {
            match serde_json::from_str::<Value>(&call.arguments) {
                Ok(Value::Object(arguments)) => arguments,
                _ => return refusal("the arguments must be a JSON object"),
            }
        };
        let request = CallToolRequestParams::new(call.name.clone()).with_arguments(arguments.clone());
        let result: CallToolResult = match self.client.call_tool(request).await {
            Ok(result) => result,
            Err(e) => return refusal(&e.to_string()),
        };
        let text: String = result.content.iter().filter_map(|c| c.as_text().map(|t| t.text.as_str())).collect();
        if result.is_error != Some(true)
            && let Ok(answered) = serde_json::from_str::<Value>(&text)
        {
            links.add_from(&call.name, &arguments, &answered);
        }
        cut(text)
    }

    async fn close(self) {
        let _ = self.client.cancel().await;
    }
}

fn refusal(why: &str) -> String {
    json!({"error": {"message": why}}).to_string()
}

/// At most [`TOOL_ANSWER_MAX`] bytes of a tool's answer, cut at a character.
fn cut(mut text: String) -> String {
    if text.len() > TOOL_ANSWER_MAX {
        let mut end = TOOL_ANSWER_MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str(" … (cut: ask for fewer items)");
    }
    text
}

/// An MCP tool as a chat-completions function tool.
fn function_of(tool: &Tool) -> Value {
    json!({
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description.as_deref().unwrap_or_default(),
            "parameters": Value::Object((*tool.input_schema).clone()),
        }
    })
}

/// The records behind an answer, each once, in the order the tools answered them.
#[derive(Default)]
struct Links {
    seen: HashSet<String>,
    links: Vec<Link>,
}

impl Links {
    const MAX: usize = 12;

    fn push(&mut self, label: &str, href: String) {
        // A link whose id was missing (`/pets/`, `/pets//records`) is no link.
        let whole = !href.ends_with('/') && !href.contains("//");
        if whole && self.links.len() < Self::MAX && !label.is_empty() && self.seen.insert(href.clone()) {
            self.links.push(Link { label: label.to_owned(), href });
        }
    }

    /// The records `tool`, called with `arguments`, answered with `answered`.
    fn add_from(&mut self, tool: &str, arguments: &Map<String, Value>, answered: &Value) {
        let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let items: Vec<&Value> = match answered.get("items").and_then(Value::as_array) {
            Some(items) => items.iter().collect(),
            None => vec![answered],
        };
        let argument = |key: &str| arguments.get(key).and_then(Value::as_str).map(str::trim).unwrap_or_default();
        match tool {
            "list_pets" => items.iter().for_each(|p| self.push(&text(p, "name"), format!("/pets/{}", text(p, "id")))),
            "get_pet" => {
                let pet = &answered["pet"];
                self.push(&text(pet, "name"), format!("/pets/{}", text(pet, "id")));
                for d in answered["devices"].as_array().into_iter().flatten() {
                    self.push(&text(&d["device"], "name"), format!("/devices/{}", text(&d["device"], "id")));
                }
            }
            "pet_timeline" => self.push("The pet's day", format!("/pets/{}", argument("pet_id"))),
            "pet_wellness" => self.push("The pet's wellness", format!("/pets/{}", argument("pet_id"))),
            "latest_readings" => self.push("The device's readings", format!("/devices/{}", argument("device_id"))),
            "list_alarms" => {
                items.iter().for_each(|a| self.push(&text(a, "title"), format!("/alarms/{}", text(a, "id"))))
            }
            "list_care_records" => {
                items.iter().for_each(|r| self.push(&text(r, "title"), format!("/pets/{}/records", text(r, "pet_id"))))
            }
            "upcoming_reminders" if !items.is_empty() => self.push("Reminders", "/reminders".to_owned()),
            "list_life_events" if !items.is_empty() => self.push("Life log", "/life".to_owned()),
            "search_catalog" | "ask_catalog" | "get_listing" => {
                items.iter().for_each(|l| self.push(&text(l, "name"), format!("/catalog/{}", text(l, "id"))))
            }
            _ => {}
        }
    }

    fn send(&mut self, tx: &UnboundedSender<Said>) {
        for link in self.links.drain(..) {
            let _ = tx.send(Said::Link(link));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_name_the_records_a_tool_answered_and_skip_those_without_an_id() {
        let mut links = Links::default();
        let pets = json!({"items": [{"id": "p1", "name": "Bella"}, {"id": "p2", "name": "Milo"}, {"name": "No id"}]});
        links.add_from("list_pets", &Map::new(), &pets);
        links.add_from("list_pets", &Map::new(), &pets);
        let alarms = json!({"items": [{"id": "a1", "title": "CO high"}]});
        links.add_from("list_alarms", &Map::new(), &alarms);
        let mut arguments = Map::new();
        arguments.insert("pet_id".into(), json!("p1"));
        links.add_from("pet_wellness", &arguments, &json!({"score": 80}));
        links.add_from("get_listing", &Map::new(), &json!({"id": "l1", "name": "Rex"}));
        links.add_from("upcoming_reminders", &Map::new(), &json!({"items": []}));
        let hrefs: Vec<_> = links.links.iter().map(|l| (l.label.as_str(), l.href.as_str())).collect();
        assert_eq!(
            hrefs,
            vec![("Bella", "/pets/p1"), ("Milo", "/pets/p2"), ("CO high", "/alarms/a1"), ("Rex", "/catalog/l1")],
            "each record once (the wellness link is Bella's page, already there)"
        );
    }

    #[test]
    fn a_long_tool_answer_is_cut_at_a_character() {
        let long = "é".repeat(TOOL_ANSWER_MAX);
        let cut = cut(long);
        assert!(cut.len() < TOOL_ANSWER_MAX + 40);
        assert!(cut.ends_with("(cut: ask for fewer items)"));
        assert_eq!(super::cut("short".to_owned()), "short");
    }
}
