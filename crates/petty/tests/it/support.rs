//! What the tests of ingest, alarms and jobs share: an account, its pets, devices, rules,
//! contacts and escalation through the API; a WebSocket subscription; polling with a deadline;
//! and a fake Twilio at the wire that counts what it was asked to send.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::Server;

pub(crate) fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Polls `probe` every 100 ms until it answers `Some`, for at most `timeout`; panics saying
/// what did not happen, with the last thing `describe` saw.
pub(crate) async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let last = match probe().await {
            Ok(found) => return found,
            Err(last) => last,
        };
        assert!(Instant::now() < deadline, "{what} did not happen within {timeout:?}; last seen: {last}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A signed-up person's session, and the server's address to use it on.
#[derive(Clone)]
pub(crate) struct Account {
    pub http: reqwest::Client,
    pub base: String,
    pub access: String,
    pub household: String,
}

impl Account {
    /// Signs up a new person (and so a new household) on `server`.
    pub(crate) async fn sign_up(server: &Server, email: &str) -> Account {
        let http = super::http_client();
        let body = json!({"email": email, "password": "correct horse battery staple", "display_name": "Ana"});
        let session = super::sign_up(&http, server, &body).await;
        Account {
            http,
            base: server.url(""),
            access: session["access_token"].as_str().unwrap().to_owned(),
            household: session["membership"]["household_id"].as_str().unwrap().to_owned(),
        }
    }

    /// The same session, used on another node (they share the signing secret).
    pub(crate) fn on(&self, server: &Server) -> Account {
        Account { base: server.url(""), ..self.clone() }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) async fn get(&self, path: &str) -> Value {
        let res = self.http.get(self.url(path)).bearer_auth(&self.access).send().await.unwrap();
        let status = res.status();
        let body = res.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Sends `body` with `method` and expects `expected`; answers the body.
    pub(crate) async fn send(&self, method: reqwest::Method, path: &str, body: &Value, expected: u16) -> Value {
        let res = self.http.request(method, self.url(path)).bearer_auth(&self.access).json(body).send().await.unwrap();
        let status = res.status();
        let answer = res.json().await.unwrap_or(Value::Null);
        assert_eq!(status, expected, "{path}: {answer}");
        answer
    }

    pub(crate) async fn create_pet(&self, name: &str) -> String {
        let pet = self
            .send(
                reqwest::Method::POST,
                "/api/v1/pets",
                &json!({"name": name, "species": "dog", "weight_kg": 12.0}),
                201,
            )
            .await;
        pet["id"].as_str().unwrap().to_owned()
    }

    /// Adds a device; answers its id and token.
    pub(crate) async fn create_device(&self, body: Value) -> (String, String) {
        let answer = self.send(reqwest::Method::POST, "/api/v1/devices", &body, 201).await;
        (answer["device"]["id"].as_str().unwrap().to_owned(), answer["token"].as_str().unwrap().to_owned())
    }

    /// Changes the household's built-in rule `key` (for example, `heart_high` without its 5 minutes).
    pub(crate) async fn tune_rule(&self, key: &str, changes: Value) {
        let rules = self.get("/api/v1/alarm-rules").await;
        let list = rules["items"].as_array().expect("a list of rules");
        let rule = list.iter().find(|r| r["key"] == key).unwrap_or_else(|| panic!("no rule {key}"));
        let fields = ["name", "device_kind", "kind", "metric", "value", "clear_value", "for_secs", "clear_secs"];
        let mut body = json!({"severity": rule["severity"], "enabled": rule["enabled"]});
        for field in fields {
            body[field] = rule[field].clone();
        }
        for (field, value) in changes.as_object().unwrap() {
            body[field] = value.clone();
        }
        let id = rule["id"].as_str().unwrap();
        self.send(reqwest::Method::PUT, &format!("/api/v1/alarm-rules/{id}"), &body, 200).await;
    }

    /// Every alarm of the household, newest first; `filter` as `GET /api/v1/alarms` takes it
    /// (`state=active&device_id=...`), or empty.
    pub(crate) async fn alarms(&self, filter: &str) -> Vec<Value> {
        self.all(&format!("/api/v1/alarms?{filter}")).await
    }

    /// The outbox rows of the household, newest first.
    pub(crate) async fn notifications(&self) -> Vec<Value> {
        self.all("/api/v1/notifications?").await
    }

    /// Every item of a list, page by page (`path` ends in `?` or a query).
    async fn all(&self, path: &str) -> Vec<Value> {
        let mut all = Vec::new();
        for page in 1.. {
            let answer = self.get(&format!("{path}&page={page}&page_size=500")).await;
            all.extend(answer["items"].as_array().cloned().expect("a list"));
            if answer["has_next"] != true {
                break;
            }
        }
        all
    }

    /// A WebSocket signed in as this person, subscribed to `topics`.
    pub(crate) async fn websocket(&self, topics: &[String]) -> Socket {
        let mut request = self.url("/api/v1/ws").replace("http://", "ws://").into_client_request().unwrap();
        request.headers_mut().insert("authorization", format!("Bearer {}", self.access).parse().unwrap());
        let (stream, _) = tokio_tungstenite::connect_async(request).await.expect("a WebSocket");
        let mut socket = Socket { stream, seen: Vec::new() };
        for topic in topics {
            socket
                .stream
                .send(Message::Text(json!({"type": "subscribe", "topic": topic}).to_string().into()))
                .await
                .unwrap();
            let answer = socket.next_message(Duration::from_secs(10)).await.expect("an answer to subscribe");
            assert_eq!((answer["type"].as_str(), answer["topic"].as_str()), (Some("subscribed"), Some(topic.as_str())));
        }
        socket
    }
}

type WsStream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) struct Socket {
    stream: WsStream,
    /// Events received so far, in order.
    pub seen: Vec<Value>,
}

impl Socket {
    /// The next message, skipping gap notices: nodes of other tests on the shared NATS server
    /// that stop without a goodbye make every node report a possible gap.
    async fn next_message(&mut self, timeout: Duration) -> Option<Value> {
        loop {
            let frame = tokio::time::timeout(timeout, self.stream.next()).await.ok()??.ok()?;
            if let Message::Text(text) = frame {
                let message: Value = serde_json::from_str(&text).ok()?;
                if message["type"] != "gap" {
                    return Some(message);
                }
            }
        }
    }

    /// Keeps what arrives for `period`.
    pub(crate) async fn drain(&mut self, period: Duration) {
        let deadline = Instant::now() + period;
        while let Some(message) = self.next_message(deadline.saturating_duration_since(Instant::now())).await {
            self.seen.push(message);
        }
    }

    /// Waits (at most `timeout`) for an event on `topic` whose data `matches`; answers its data.
    pub(crate) async fn event(&mut self, topic: &str, timeout: Duration, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + timeout;
        let found = |seen: &[Value]| {
            seen.iter().find(|e| e["type"] == "event" && e["topic"] == topic && matches(&e["data"])).cloned()
        };
        loop {
            if let Some(event) = found(&self.seen) {
                return event["data"].clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_message(left).await {
                Some(message) => self.seen.push(message),
                None => panic!("no event on {topic} within {timeout:?}; received: {:#?}", self.seen),
            }
        }
    }
}

pub(crate) const TWILIO_SID: &str = "AC00000000000000000000000000000000";
const TWILIO_TOKEN: &str = "fake-twilio-auth-token";

/// One request the fake Twilio took: Messages.json or Calls.json, to whom, and what it said.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub resource: String,
    pub to: String,
    pub text: String,
}

/// Twilio's REST API as Petty uses it, on 127.0.0.1:0: Basic auth with the account's SID and
/// token, form bodies, `201` with a `sid`. Counts every request it answered.
#[derive(Clone)]
pub(crate) struct FakeTwilio {
    pub base_url: String,
    sent: Arc<Mutex<Vec<Sent>>>,
}

impl FakeTwilio {
    pub(crate) async fn start() -> FakeTwilio {
        use axum::extract::{Path, State};
        use axum::http::{HeaderMap, StatusCode};

        async fn resource(
            State(sent): State<Arc<Mutex<Vec<Sent>>>>,
            Path((sid, resource)): Path<(String, String)>,
            headers: HeaderMap,
            axum::Form(form): axum::Form<std::collections::HashMap<String, String>>,
        ) -> (StatusCode, axum::Json<Value>) {
            use base64::Engine as _;
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("{TWILIO_SID}:{TWILIO_TOKEN}"));
            let authorised =
                headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Basic {basic}"));
            if !authorised || sid != TWILIO_SID {
                return (StatusCode::UNAUTHORIZED, axum::Json(json!({"code": 20003, "message": "Authenticate"})));
            }
            let (Some(to), Some(_from)) = (form.get("To"), form.get("From")) else {
                return (StatusCode::BAD_REQUEST, axum::Json(json!({"code": 21604, "message": "'To' is required"})));
            };
            let text = form.get("Body").or_else(|| form.get("Twiml")).cloned().unwrap_or_default();
            let n = {
                let mut sent = sent.lock().unwrap();
                sent.push(Sent { resource: resource.clone(), to: to.clone(), text });
                sent.len()
            };
            let prefix = if resource == "Calls.json" { "CA" } else { "SM" };
            (StatusCode::CREATED, axum::Json(json!({"sid": format!("{prefix}{n:032}"), "status": "queued", "to": to})))
        }

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let sent = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new()
            .route("/2010-04-01/Accounts/{sid}/{resource}", axum::routing::post(resource))
            .with_state(sent.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeTwilio { base_url, sent }
    }

    /// Everything sent so far, in order.
    pub(crate) fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap().clone()
    }

    /// The settings that point a `petty serve` at this fake.
    pub(crate) fn env(&self) -> [(&'static str, String); 4] {
        [
            ("PETTY_NOTIFY__TWILIO_BASE_URL", self.base_url.clone()),
            ("PETTY_NOTIFY__TWILIO_ACCOUNT_SID", TWILIO_SID.to_owned()),
            ("PETTY_NOTIFY__TWILIO_AUTH_TOKEN", TWILIO_TOKEN.to_owned()),
            ("PETTY_NOTIFY__TWILIO_FROM", "+15005550006".to_owned()),
        ]
    }
}

/// Whether a service answers on `address`; when it does not, says which test part is skipped
/// (outside CI) or fails (in CI, which must provide it).
pub(crate) fn service_up(address: &str, service: &str, skipped: &str) -> bool {
    let addr: std::net::SocketAddr = address.parse().unwrap();
    if std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| !v.is_empty()) {
        panic!("CI needs {service} on {address}");
    }
    eprintln!("skipped: {skipped} (no {service} on {address})");
    false
}
