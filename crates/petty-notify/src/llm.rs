//! A client of an OpenAI-compatible chat-completions API (OpenAI's own, or a server such as
//! Ollama, llama.cpp or vLLM that speaks it): `POST {base_url}/chat/completions` with JSON, a
//! bearer key when one is set, a timeout (20 s by default) and no redirects. Like Stripe's, the
//! endpoint is a fixed, configured URL, not one a user gives, so the outbound policy of
//! webhooks (`outbound.rs`) does not apply.
//!
//! Whatever comes back is outside data: a status other than success, no answer in time, an
//! answer over 1 MiB or one that is not a chat completion with text is an [`LlmError`], never a
//! panic. [`Llm::chat`] sends any request body and answers the completion object (for what
//! needs more than text); [`Llm::complete`] asks one question and answers the text;
//! [`Llm::chat_streamed`] asks for a streamed answer (`"stream": true`) and hands each piece of
//! text on as it arrives, gathering the tool calls the model makes.

use std::fmt;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Where the model is served and how Petty signs in to it.
#[derive(Clone)]
pub struct LlmConfig {
    /// The API's base, up to and without `/chat/completions`: `https://api.openai.com/v1`,
    /// `http://127.0.0.1:11434/v1` (Ollama).
    pub base_url: String,
    /// The model to ask, as the endpoint names it.
    pub model: String,
    /// Sent as `Authorization: Bearer ...` when set (a local server needs none).
    pub api_key: Option<String>,
    /// How long one call may take (connecting, sending and reading the whole answer).
    pub timeout: Duration,
}

impl fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "(hidden)"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The default timeout of a call.
pub const LLM_TIMEOUT: Duration = Duration::from_secs(20);

/// Why `base_url` cannot be an API's base: it must be an absolute `http(s)` URL with a host,
/// without a user or password (the key goes in `api_key`), a query or a fragment.
pub fn check_base_url(base_url: &str) -> Result<(), String> {
    // The reasons never repeat the URL: it may hold a secret where none belongs.
    let url = reqwest::Url::parse(base_url).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("must start with http:// or https://, not {}://", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("names no host".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("holds a user or password; give the key as api_key instead".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("has a query or fragment; give only the API's base (…/v1)".to_owned());
    }
    Ok(())
}

/// The largest answer read; a longer one is an error.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// How much of an endpoint's error message is kept.
const MAX_MESSAGE_CHARS: usize = 200;

/// Why a call did not answer text; for the log (it never names the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LlmError {
    /// The endpoint could not be reached, or did not answer (or finish answering) in time.
    Unreachable(String),
    /// It answered a status other than success, with its error message when it gave one.
    Status { status: u16, message: String },
    /// It answered success, but not a chat completion with text.
    Malformed(String),
}

impl fmt::Display for LlmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LlmError::Unreachable(why) | LlmError::Malformed(why) => f.write_str(why),
            LlmError::Status { status, message } if message.is_empty() => {
                write!(f, "the LLM endpoint answered {status}")
            }
            LlmError::Status { status, message } => write!(f, "the LLM endpoint answered {status}: {message}"),
        }
    }
}

impl std::error::Error for LlmError {}

/// A client of one chat-completions endpoint and model, built once.
pub struct Llm {
    config: LlmConfig,
    http: reqwest::Client,
}

impl fmt::Debug for Llm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Llm").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Llm {
    pub fn new(config: LlmConfig) -> Llm {
        let http = crate::api_client(config.timeout);
        Llm { config, http }
    }

    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// Asks the model one question: `system` says how to answer, `user` is the question, and
    /// the answer is at most `max_tokens` long. Answers the first choice's text as sent.
    pub async fn complete(&self, system: &str, user: &str, max_tokens: u32) -> Result<String, LlmError> {
        let request = json!({
            "model": self.config.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "max_tokens": max_tokens,
            // Low: a summary of given numbers, not invention.
            "temperature": 0.2,
        });
        text_of(&self.chat(&request).await?)
    }

    /// Posts `request` (a chat-completions body with its `model`) and answers the completion
    /// object of a successful answer.
    pub async fn chat(&self, request: &Value) -> Result<Value, LlmError> {
        let started = Instant::now();
        let outcome = self.exchange(request).await;
        let result = match &outcome {
            Ok(_) => "ok",
            Err(LlmError::Unreachable(_)) => "unreachable",
            Err(LlmError::Status { .. }) => "status",
            Err(LlmError::Malformed(_)) => "malformed",
        };
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::debug!(model = %self.config.model, result, elapsed_ms, "called the LLM endpoint");
        outcome
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    async fn exchange(&self, request: &Value) -> Result<Value, LlmError> {
        let (status, body, _) = self.post(request, None).await?;
        completion_of(status, &body)
    }

    /// Posts `request` and reads the answer. A successful event stream goes to `stream` (the
    /// reader and who is handed the text) as it arrives, until it says it is done; anything
    /// else is read whole. Answers the status, the body read whole, and whether it streamed.
    /// At most [`MAX_ANSWER_BYTES`] are read.
    async fn post(
        &self,
        request: &Value,
        mut stream: Option<(&mut StreamReader, &mut OnText<'_>)>,
    ) -> Result<(u16, Vec<u8>, bool), LlmError> {
        let mut call = self.http.post(self.url("/chat/completions")).json(request);
        if let Some(key) = &self.config.api_key {
            call = call.bearer_auth(key);
        }
        let timeout = self.config.timeout.as_secs_f64();
        let mut response = call.send().await.map_err(|e| {
            LlmError::Unreachable(if e.is_timeout() {
                format!("the LLM endpoint did not answer within {timeout} s")
            } else if e.is_connect() {
                "the LLM endpoint could not be reached".to_owned()
            } else {
                "the request to the LLM endpoint failed".to_owned()
            })
        })?;
        let status = response.status().as_u16();
        let is_stream = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !(is_stream && (200..300).contains(&status)) {
            stream = None;
        }
        let streamed = stream.is_some();
        let mut body = Vec::new();
        let mut read = 0usize;
        loop {
            let chunk = response.chunk().await.map_err(|e| {
                LlmError::Unreachable(if e.is_timeout() {
                    format!("the LLM endpoint did not finish its answer within {timeout} s")
                } else {
                    "the LLM endpoint's answer was cut off".to_owned()
                })
            })?;
            let Some(chunk) = chunk else { break };
            read += chunk.len();
            if read > MAX_ANSWER_BYTES {
                return Err(LlmError::Malformed(format!("the LLM endpoint's answer is over {MAX_ANSWER_BYTES} bytes")));
            }
            match stream.as_mut() {
                Some((reader, on_text)) => {
                    reader.feed(&chunk, *on_text)?;
                    if reader.done {
                        break;
                    }
                }
                None => body.extend_from_slice(&chunk),
            }
        }
        Ok((status, body, streamed))
    }
}

/// What an answer with `status` and `body` comes to: the completion object, or why not.
fn completion_of(status: u16, body: &[u8]) -> Result<Value, LlmError> {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    if !(200..300).contains(&status) {
        // OpenAI's `{"error": {"message": ...}}`; some servers put a string in `error`.
        let error = json.as_ref().and_then(|j| j.get("error"));
        let message = error.and_then(|e| e.get("message").and_then(Value::as_str).or(e.as_str())).unwrap_or_default();
        let message = message.chars().take(MAX_MESSAGE_CHARS).collect();
        return Err(LlmError::Status { status, message });
    }
    match json {
        Some(completion @ Value::Object(_)) => Ok(completion),
        _ => Err(LlmError::Malformed(format!("the LLM endpoint answered {status} without a JSON object"))),
    }
}

/// A tool the model asked to call, gathered from a streamed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// The arguments as the model wrote them: JSON text, not yet checked.
    pub arguments: String,
}

/// What a streamed answer came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Streamed {
    /// The whole text, as handed on piece by piece.
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    /// `stop`, `tool_calls`, `length`, ... as the endpoint said.
    pub finish_reason: Option<String>,
}

impl Llm {
    /// Posts `request` (a chat-completions body) with `"stream": true` and reads the answer's
    /// server-sent events as they come, calling `on_text` with each piece of text at once. The
    /// tool calls, which arrive in fragments, are put together. An endpoint that answers one JSON
    /// completion instead of a stream is understood too. The configured timeout covers the whole
    /// answer.
    pub async fn chat_streamed(
        &self,
        request: &Value,
        mut on_text: impl FnMut(&str) + Send,
    ) -> Result<Streamed, LlmError> {
        let started = Instant::now();
        let mut request = request.clone();
        request["stream"] = Value::Bool(true);
        let outcome = self.exchange_streamed(&request, &mut on_text).await;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::debug!(model = %self.config.model, ok = outcome.is_ok(), elapsed_ms, "streamed from the LLM endpoint");
        outcome
    }

    async fn exchange_streamed(&self, request: &Value, on_text: &mut OnText<'_>) -> Result<Streamed, LlmError> {
        let mut reader = StreamReader::default();
        let (status, body, streamed) = self.post(request, Some((&mut reader, &mut *on_text))).await?;
        if !streamed {
            // One completion (or an error) instead of a stream.
            return whole(&completion_of(status, &body)?, on_text);
        }
        reader.finish()
    }
}

/// Who is handed each piece of a streamed answer's text.
type OnText<'a> = dyn FnMut(&str) + Send + 'a;

/// A completion answered whole, as if it had been streamed.
fn whole(completion: &Value, on_text: &mut OnText<'_>) -> Result<Streamed, LlmError> {
    let choice = completion.get("choices").and_then(|c| c.get(0));
    let message = choice.and_then(|c| c.get("message"));
    let Some(message) = message else {
        return Err(LlmError::Malformed("the LLM endpoint's answer has no choices[0].message".to_owned()));
    };
    let mut streamed = Streamed {
        finish_reason: choice.and_then(|c| c.get("finish_reason")).and_then(Value::as_str).map(str::to_owned),
        ..Streamed::default()
    };
    if let Some(text) = message.get("content").and_then(Value::as_str).filter(|t| !t.is_empty()) {
        on_text(text);
        streamed.text = text.to_owned();
    }
    for call in message.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
        let function = call.get("function");
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
        streamed.tool_calls.push(ToolCall {
            id: text(call.get("id")),
            name: text(function.and_then(|f| f.get("name"))),
            arguments: text(function.and_then(|f| f.get("arguments"))),
        });
    }
    if streamed.text.is_empty() && streamed.tool_calls.is_empty() {
        return Err(LlmError::Malformed("the LLM endpoint answered neither text nor a tool call".to_owned()));
    }
    Ok(streamed)
}

/// Reads a chat-completions stream: server-sent events whose data is a `chat.completion.chunk`
/// (`choices[0].delta` with `content` and `tool_calls` fragments, keyed by `index`), until
/// `data: [DONE]`.
#[derive(Default)]
struct StreamReader {
    pending: Vec<u8>,
    streamed: Streamed,
    done: bool,
}

impl StreamReader {
    fn feed(&mut self, bytes: &[u8], on_text: &mut OnText<'_>) -> Result<(), LlmError> {
        self.pending.extend_from_slice(bytes);
        // Whole lines only; a line's end may be \n or \r\n.
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\r', '\n']);
            let Some(data) = line.strip_prefix("data:") else { continue };
            self.data(data.trim_start(), on_text)?;
            if self.done {
                break;
            }
        }
        Ok(())
    }

    fn data(&mut self, data: &str, on_text: &mut OnText<'_>) -> Result<(), LlmError> {
        if data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let chunk: Value = serde_json::from_str(data)
            .map_err(|_| LlmError::Malformed("the LLM endpoint streamed an event that is not JSON".to_owned()))?;
        if let Some(error) = chunk.get("error") {
            let message = error.get("message").and_then(Value::as_str).or(error.as_str()).unwrap_or_default();
            return Err(LlmError::Malformed(format!(
                "the LLM endpoint stopped with an error: {}",
                message.chars().take(MAX_MESSAGE_CHARS).collect::<String>()
            )));
        }
        let Some(choice) = chunk.get("choices").and_then(|c| c.get(0)) else { return Ok(()) };
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.streamed.finish_reason = Some(reason.to_owned());
        }
        let Some(delta) = choice.get("delta") else { return Ok(()) };
        if let Some(text) = delta.get("content").and_then(Value::as_str).filter(|t| !t.is_empty()) {
            on_text(text);
            self.streamed.text.push_str(text);
        }
        for fragment in delta.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
            let index = fragment.get("index").and_then(Value::as_u64).unwrap_or(0);
            let index = usize::try_from(index).unwrap_or(usize::MAX);
            if index > 64 {
                return Err(LlmError::Malformed("the LLM endpoint streamed a tool call with a wild index".to_owned()));
            }
            let calls = &mut self.streamed.tool_calls;
            while calls.len() <= index {
                calls.push(ToolCall { id: String::new(), name: String::new(), arguments: String::new() });
            }
            let call = &mut calls[index];
            if let Some(id) = fragment.get("id").and_then(Value::as_str) {
                call.id = id.to_owned();
            }
            let function = fragment.get("function");
            if let Some(name) = function.and_then(|f| f.get("name")).and_then(Value::as_str) {
                call.name.push_str(name);
            }
            if let Some(arguments) = function.and_then(|f| f.get("arguments")).and_then(Value::as_str) {
                call.arguments.push_str(arguments);
            }
        }
        Ok(())
    }

    /// The answer once the stream has ended: whole only if it said how it finished.
    fn finish(self) -> Result<Streamed, LlmError> {
        if !self.done && self.streamed.finish_reason.is_none() {
            return Err(LlmError::Unreachable("the LLM endpoint's answer was cut off".to_owned()));
        }
        if self.streamed.tool_calls.iter().any(|c| c.name.is_empty()) {
            return Err(LlmError::Malformed("the LLM endpoint streamed a tool call without a name".to_owned()));
        }
        Ok(self.streamed)
    }
}

/// The text of a completion's first choice (`choices[0].message.content`).
pub fn text_of(completion: &Value) -> Result<String, LlmError> {
    completion
        .get("choices")
        .and_then(|choices| choices.get(0))
        .and_then(|choice| choice.get("message"))
        .and_then(|message| message.get("content"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| LlmError::Malformed("the LLM endpoint's answer has no choices[0].message.content".to_owned()))
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::*;

    fn answered(status: u16, body: &str) -> Result<String, LlmError> {
        completion_of(status, body.as_bytes()).and_then(|c| text_of(&c))
    }

    #[test]
    fn the_first_choice_s_text_is_the_answer() {
        let openai = r#"{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini",
            "choices":[{"index":0,"message":{"role":"assistant","content":"You slept 5.5 hours."},"finish_reason":"stop"},
                       {"index":1,"message":{"role":"assistant","content":"Another."}}],
            "usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}"#;
        assert_eq!(answered(200, openai), Ok("You slept 5.5 hours.".to_owned()));
    }

    #[test]
    fn anything_else_is_an_error_never_a_panic() {
        let status = |s, m: &str| Err(LlmError::Status { status: s, message: m.to_owned() });
        assert_eq!(
            answered(500, r#"{"error":{"message":"model overloaded","type":"server_error"}}"#),
            status(500, "model overloaded")
        );
        assert_eq!(answered(404, r#"{"error":"model \"x\" not found"}"#), status(404, "model \"x\" not found"));
        assert_eq!(answered(502, "<html>Bad Gateway</html>"), status(502, ""));
        assert_eq!(answered(302, ""), status(302, ""));
        let long = format!(r#"{{"error":{{"message":"{}"}}}}"#, "x".repeat(5000));
        let Err(LlmError::Status { message, .. }) = answered(429, &long) else { panic!("a status error") };
        assert_eq!(message.len(), MAX_MESSAGE_CHARS);
        for malformed in [
            "",
            "not json",
            "[1, 2]",
            "{}",
            r#"{"choices":[]}"#,
            r#"{"choices":{"0":{}}}"#,
            r#"{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[]}}]}"#,
            r#"{"choices":[{"message":{"content":42}}]}"#,
            r#"{"choices":[{"text":"a completions-API answer"}]}"#,
        ] {
            assert!(matches!(answered(200, malformed), Err(LlmError::Malformed(_))), "{malformed:?}");
        }
    }

    fn read_stream(pieces: &[&str]) -> (Result<Streamed, LlmError>, Vec<String>) {
        let mut reader = StreamReader::default();
        let mut texts = Vec::new();
        for piece in pieces {
            if let Err(e) = reader.feed(piece.as_bytes(), &mut |t: &str| texts.push(t.to_owned())) {
                return (Err(e), texts);
            }
        }
        (reader.finish(), texts)
    }

    #[test]
    fn a_stream_hands_on_each_piece_of_text_and_gathers_the_tool_calls() {
        // Split anywhere, even inside an event, with \r\n line ends and a keep-alive comment.
        let stream = concat!(
            ": keep-alive\r\n\r\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Bella \"}}]}\r\n\r\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"slept well.\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"list_pets\",\"arguments\":\"\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"species\\\":\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\" \\\"dog\\\"}\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
            "data: [DONE]\n\n",
        );
        for cut in [1, 7, 50, 51, 200, stream.len() - 3] {
            let (first, second) = stream.split_at(cut);
            let (streamed, texts) = read_stream(&[first, second]);
            assert_eq!(texts.concat(), "Bella slept well.", "cut at {cut}");
            let streamed = streamed.unwrap();
            assert_eq!(streamed.text, "Bella slept well.");
            assert_eq!(streamed.finish_reason.as_deref(), Some("tool_calls"));
            assert_eq!(
                streamed.tool_calls,
                vec![ToolCall {
                    id: "call_1".into(),
                    name: "list_pets".into(),
                    arguments: r#"{"species": "dog"}"#.into()
                }]
            );
        }
        let (_, texts) = read_stream(&[stream]);
        assert_eq!(texts, vec!["Bella ", "slept well."], "each piece is handed on as it comes");
    }

    #[test]
    fn a_stream_cut_off_or_broken_is_an_error() {
        let begun = "data: {\"choices\":[{\"delta\":{\"content\":\"Bella\"}}]}\n\n";
        assert!(matches!(read_stream(&[begun]).0, Err(LlmError::Unreachable(_))));
        assert!(matches!(read_stream(&[begun, "data: {not json\n\n"]).0, Err(LlmError::Malformed(_))));
        let error = "data: {\"error\":{\"message\":\"overloaded\"}}\n\n";
        let Err(LlmError::Malformed(why)) = read_stream(&[begun, error]).0 else { panic!("an error") };
        assert!(why.contains("overloaded"), "{why}");
        let nameless = "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n";
        assert!(matches!(read_stream(&[nameless]).0, Err(LlmError::Malformed(_))));
        let wild = "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":100000000,\"function\":{\"name\":\"x\"}}]}}]}\n\n";
        assert!(matches!(read_stream(&[wild]).0, Err(LlmError::Malformed(_))));
    }

    #[test]
    fn a_base_url_is_an_http_url_with_a_host_and_nothing_else() {
        for good in ["http://127.0.0.1:11434/v1", "https://api.openai.com/v1/", "http://llm.internal:8000"] {
            assert_eq!(check_base_url(good), Ok(()), "{good}");
        }
        for bad in [
            "127.0.0.1:11434/v1",
            "ftp://llm.example/v1",
            "http://",
            "https://user:sk-x@api.example/v1",
            "http://127.0.0.1:11434/v1?key=x",
            "not a url",
        ] {
            let Err(why) = check_base_url(bad) else { panic!("{bad:?} is refused") };
            assert!(!why.contains("sk-x") && !why.contains("key=x"), "the refusal repeats no secret: {why}");
        }
    }

    #[test]
    fn the_key_stays_out_of_debug_and_errors() {
        let config = LlmConfig {
            base_url: "http://127.0.0.1:11434/v1".into(),
            model: "llama3.1".into(),
            api_key: Some("sk-secret-key".into()),
            timeout: LLM_TIMEOUT,
        };
        let llm = Llm::new(config.clone());
        assert!(!format!("{config:?}{llm:?}").contains("sk-secret-key"));
        assert!(format!("{llm:?}").contains("llama3.1"));
    }

    /// Serves one connection on a free port with `answer`, and hands back what was sent.
    fn one_answer(answer: String) -> (String, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}/v1/", listener.local_addr().unwrap());
        let served = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut seen = Vec::new();
            let mut buffer = [0u8; 4096];
            // Until the headers and the body they announce are in.
            loop {
                let n = stream.read(&mut buffer).unwrap();
                seen.extend_from_slice(&buffer[..n]);
                let text = String::from_utf8_lossy(&seen).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(str::to_owned))
                        .and_then(|l| l.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if body.len() >= length {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            stream.write_all(answer.as_bytes()).unwrap();
            String::from_utf8_lossy(&seen).to_string()
        });
        (base_url, served)
    }

    fn http(status: &str, extra: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}connection: close\r\n\r\n{body}",
            body.len()
        )
    }

    #[tokio::test]
    async fn a_call_posts_the_question_with_the_key_and_reads_the_answer() {
        let body = r#"{"choices":[{"message":{"role":"assistant","content":"Short nights, long days."}}]}"#;
        let (base_url, served) = one_answer(http("200 OK", "", body));
        let llm = Llm::new(LlmConfig {
            base_url,
            model: "tiny-model".into(),
            api_key: Some("sk-test".into()),
            timeout: LLM_TIMEOUT,
        });
        let answer = llm.complete("Be brief.", "How were my days?", 120).await;
        assert_eq!(answer, Ok("Short nights, long days.".to_owned()));
        let request = served.join().unwrap();
        let lower = request.to_ascii_lowercase();
        assert!(request.starts_with("POST /v1/chat/completions HTTP/1.1"), "{request}");
        assert!(lower.contains("authorization: bearer sk-test"), "{request}");
        let (_, sent) = request.split_once("\r\n\r\n").unwrap();
        let sent: Value = serde_json::from_str(sent).unwrap();
        assert_eq!(sent["model"], "tiny-model");
        assert_eq!(sent["max_tokens"], 120);
        assert_eq!(sent["messages"][0], json!({"role": "system", "content": "Be brief."}));
        assert_eq!(sent["messages"][1], json!({"role": "user", "content": "How were my days?"}));
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed_and_no_key_sends_no_authorization() {
        let (base_url, served) = one_answer(http("307 Temporary Redirect", "location: http://127.0.0.1:9/\r\n", ""));
        let llm = Llm::new(LlmConfig { base_url, model: "m".into(), api_key: None, timeout: LLM_TIMEOUT });
        let answer = llm.complete("s", "u", 10).await;
        assert_eq!(answer, Err(LlmError::Status { status: 307, message: String::new() }));
        assert!(!served.join().unwrap().to_ascii_lowercase().contains("authorization"));
    }
}
