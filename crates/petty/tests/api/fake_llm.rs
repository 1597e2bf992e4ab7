//! A wire-level fake of an OpenAI-compatible chat-completions API (`POST /v1/chat/completions`),
//! answering OpenAI's `chat.completion` object and its error shape (`{"error": {"message",
//! "type"}}`), checking the bearer key. It keeps every request (method, path, `Authorization`,
//! the JSON body) so tests assert what Petty sent; it can be told to fail (500), answer a body
//! that is no chat completion, or never answer, on its next request.
//!
//! A request with `"stream": true` is answered as OpenAI streams: server-sent events of
//! `chat.completion.chunk` objects, ending with `data: [DONE]`. Told to ([`FakeLlm::chat_calls`]),
//! it first asks for a tool call, its name and arguments streamed in fragments; once the
//! conversation holds the tool's answer, it streams a text in several pieces that repeats the
//! question and what the tools answered (so a test sees that the answer reached the model).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use petty_http::LlmSettings;
use serde_json::{Value, json};

pub(crate) const API_KEY: &str = "sk-test-petty-llm-0123456789";
pub(crate) const MODEL: &str = "petty-test-model";
/// What the fake's model says, every time.
pub(crate) const SUMMARY: &str =
    "You slept about 5.5 hours a night and worked long days. Your days held little time with people.";

/// One request the fake took.
#[derive(Debug, Clone)]
pub(crate) struct LlmRequest {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
}

impl LlmRequest {
    /// The text of the message with `role`.
    pub(crate) fn message(&self, role: &str) -> String {
        let messages = self.body["messages"].as_array().cloned().unwrap_or_default();
        let found = messages.iter().find(|m| m["role"] == role);
        found.and_then(|m| m["content"].as_str()).unwrap_or_default().to_owned()
    }
}

/// What to do instead of answering, on the next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trouble {
    /// 500 with OpenAI's `server_error`.
    Fail,
    /// 200 with a JSON object that is no chat completion.
    Malformed,
    /// Never answer.
    Hang,
    /// Answer text, not the tool call asked for.
    NoToolCall,
    /// Call the tool with arguments that are not JSON.
    BrokenArguments,
    /// Stream a first piece of text, then end the stream without finishing the answer.
    CutOff,
}

#[derive(Default)]
struct Inner {
    requests: Vec<LlmRequest>,
    troubles: Vec<Trouble>,
    /// The arguments of the tool calls it makes (a JSON text).
    tool_arguments: Option<String>,
    /// In a streamed conversation: the tool to call, and its arguments, before answering.
    chat_call: Option<(String, String)>,
}

#[derive(Clone)]
pub(crate) struct FakeLlm {
    inner: Arc<Mutex<Inner>>,
    /// `http://127.0.0.1:{port}/v1`.
    pub base_url: String,
}

impl FakeLlm {
    pub(crate) fn requests(&self) -> Vec<LlmRequest> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// The next request gets `trouble` instead of an answer.
    pub(crate) fn trouble_next(&self, trouble: Trouble) {
        self.inner.lock().unwrap().troubles.push(trouble);
    }

    /// A request that offers tools is answered with a call of the first, with these arguments.
    pub(crate) fn call_tools_with(&self, arguments: Value) {
        self.inner.lock().unwrap().tool_arguments = Some(arguments.to_string());
    }

    /// A streamed conversation without a tool's answer yet is answered with a call of `tool`,
    /// with `arguments`.
    pub(crate) fn chat_calls(&self, tool: &str, arguments: Value) {
        self.inner.lock().unwrap().chat_call = Some((tool.to_owned(), arguments.to_string()));
    }

    /// A streamed conversation is answered with text at once, without calling a tool.
    pub(crate) fn chat_answers_directly(&self) {
        self.inner.lock().unwrap().chat_call = None;
    }

    /// Settings for a Petty that asks this fake, with `daily_calls_per_user` and `timeout`.
    pub(crate) fn settings(&self, daily_calls_per_user: u32, timeout: Duration) -> LlmSettings {
        LlmSettings {
            api: petty_http::notify::LlmConfig {
                base_url: self.base_url.clone(),
                model: MODEL.into(),
                api_key: Some(API_KEY.into()),
                timeout,
            },
            daily_calls_per_user,
        }
    }
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    (status, axum::Json(json!({"error": {"message": message, "type": kind, "param": null, "code": null}})))
        .into_response()
}

/// Every request: recorded, then answered as an OpenAI-compatible server would.
async fn handle(State(fake): State<FakeLlm>, method: Method, uri: Uri, headers: HeaderMap, body: String) -> Response {
    let request = LlmRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        authorization: headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned),
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
    };
    let (trouble, tool_arguments, chat_call) = {
        let mut inner = fake.inner.lock().unwrap();
        inner.requests.push(request.clone());
        (
            (!inner.troubles.is_empty()).then(|| inner.troubles.remove(0)),
            inner.tool_arguments.clone(),
            inner.chat_call.clone(),
        )
    };
    let tool = request.body["tools"][0]["function"]["name"].as_str().map(str::to_owned);
    if (request.method.as_str(), request.path.as_str()) != ("POST", "/v1/chat/completions") {
        return error(StatusCode::NOT_FOUND, "invalid_request_error", "Unknown request URL");
    }
    if request.authorization.as_deref() != Some(&format!("Bearer {API_KEY}")) {
        return error(StatusCode::UNAUTHORIZED, "invalid_request_error", "Incorrect API key provided");
    }
    match trouble {
        Some(Trouble::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "too late")
        }
        Some(Trouble::Fail) => error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "The server had an error"),
        Some(Trouble::Malformed) => axum::Json(json!({"object": "chat.completion", "choices": []})).into_response(),
        _ if request.body["stream"] == json!(true) => streamed(&request, trouble, chat_call),
        Some(Trouble::CutOff) => error(StatusCode::BAD_REQUEST, "invalid_request_error", "CutOff is for streams"),
        None | Some(Trouble::BrokenArguments) if tool.is_some() => {
            let arguments = match trouble {
                Some(Trouble::BrokenArguments) => "{\"type_filter\": ".to_owned(),
                _ => tool_arguments.unwrap_or_else(|| "{}".to_owned()),
            };
            axum::Json(json!({
                "id": "chatcmpl-fake-tool",
                "object": "chat.completion",
                "created": time::OffsetDateTime::now_utc().unix_timestamp(),
                "model": request.body["model"],
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": null, "tool_calls": [{
                        "id": "call_fake_1",
                        "type": "function",
                        "function": {"name": tool, "arguments": arguments},
                    }]},
                    "finish_reason": "tool_calls",
                }],
            }))
            .into_response()
        }
        None | Some(Trouble::NoToolCall) | Some(Trouble::BrokenArguments) => axum::Json(json!({
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": time::OffsetDateTime::now_utc().unix_timestamp(),
            "model": request.body["model"],
            "choices": [{
                "index": 0,
                // Around the text, the blank lines some models add.
                "message": {"role": "assistant", "content": format!("\n\n{SUMMARY}\n")},
                "finish_reason": "stop",
            }],
            "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150},
        }))
        .into_response(),
    }
}

/// One `chat.completion.chunk` event with `delta`, and `finish_reason`.
fn chunk(delta: Value, finish_reason: Option<&str>) -> String {
    let chunk = json!({
        "id": "chatcmpl-fake-stream",
        "object": "chat.completion.chunk",
        "created": time::OffsetDateTime::now_utc().unix_timestamp(),
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    });
    format!("data: {chunk}\n\n")
}

/// A streamed answer: a tool call, or a text made of the question and the tools' answers.
fn streamed(request: &LlmRequest, trouble: Option<Trouble>, chat_call: Option<(String, String)>) -> Response {
    let messages = request.body["messages"].as_array().cloned().unwrap_or_default();
    let answered: Vec<String> = messages
        .iter()
        .filter(|m| m["role"] == "tool")
        .filter_map(|m| m["content"].as_str().map(str::to_owned))
        .collect();
    let mut events = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
    match (chat_call, answered.is_empty()) {
        (Some((tool, arguments)), true) => {
            let (first, rest) = arguments.split_at(arguments.len() / 2);
            events.push(chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_fake_chat", "type": "function",
                    "function": {"name": tool, "arguments": first}}]}),
                None,
            ));
            events.push(chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": rest}}]}), None));
            events.push(chunk(json!({}), Some("tool_calls")));
        }
        _ => {
            let pieces = [
                "You asked: ".to_owned(),
                request.message("user"),
                ". ".to_owned(),
                format!("The tools answered: {}", answered.join(" | ")),
            ];
            for piece in pieces {
                events.push(chunk(json!({"content": piece}), None));
            }
            events.push(chunk(json!({}), Some("stop")));
        }
    }
    events.push("data: [DONE]\n\n".to_owned());
    if trouble == Some(Trouble::CutOff) {
        events.truncate(2);
    }
    let body = futures_util::stream::iter(events.into_iter().map(Ok::<_, std::convert::Infallible>));
    ([("content-type", "text/event-stream")], axum::body::Body::from_stream(body)).into_response()
}

/// A fake chat-completions API on 127.0.0.1:0.
pub(crate) async fn llm() -> FakeLlm {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake = FakeLlm {
        inner: Arc::new(Mutex::new(Inner::default())),
        base_url: format!("http://{}/v1", listener.local_addr().unwrap()),
    };
    let app = Router::new().fallback(handle).with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    fake
}
