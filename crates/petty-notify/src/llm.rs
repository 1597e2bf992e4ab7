//! A client of an OpenAI-compatible chat-completions API (OpenAI's own, or a server such as
//! Ollama, llama.cpp or vLLM that speaks it): `POST {base_url}/chat/completions` with JSON, a
//! bearer key when one is set, a timeout (20 s by default) and no redirects. Like Stripe's, the
//! endpoint is a fixed, configured URL, not one a user gives, so the outbound policy of
//! webhooks (`outbound.rs`) does not apply.
//!
//! Whatever comes back is outside data: a status other than success, no answer in time, an
//! answer over 1 MiB or one that is not a chat completion with text is an [`LlmError`], never a
//! panic. [`Llm::chat`] sends any request body and answers the completion object (for what
//! needs more than text); [`Llm::complete`] asks one question and answers the text.

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
        let mut body = Vec::new();
        loop {
            let chunk = response.chunk().await.map_err(|e| {
                LlmError::Unreachable(if e.is_timeout() {
                    format!("the LLM endpoint did not finish its answer within {timeout} s")
                } else {
                    "the LLM endpoint's answer could not be read".to_owned()
                })
            })?;
            let Some(chunk) = chunk else { break };
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(LlmError::Malformed(format!("the LLM endpoint's answer is over {MAX_ANSWER_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        completion_of(status, &body)
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
