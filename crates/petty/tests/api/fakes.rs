//! Counterparts the notification channels talk to: a wire-level fake of Twilio's REST API, a
//! webhook receiver that verifies Petty's signature, and a real SMTP server process.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;

pub(crate) const TWILIO_SID: &str = "AC00000000000000000000000000000000";
pub(crate) const TWILIO_TOKEN: &str = "test-auth-token";

/// One request Twilio took: which resource (Messages or Calls) and its form fields.
#[derive(Debug, Clone)]
pub(crate) struct TwilioRequest {
    pub resource: String,
    pub to: String,
    pub from: String,
    pub body: Option<String>,
    pub twiml: Option<String>,
    pub at: std::time::Instant,
}

#[derive(Default)]
struct TwilioInner {
    requests: Vec<TwilioRequest>,
    /// Requests to hang on (never answer) before answering normally.
    hang: usize,
    /// Requests to answer with 500 before answering normally.
    fail: usize,
}

#[derive(Clone, Default)]
pub(crate) struct FakeTwilio {
    inner: Arc<Mutex<TwilioInner>>,
    pub base_url: String,
}

impl FakeTwilio {
    pub(crate) fn requests(&self) -> Vec<TwilioRequest> {
        self.inner.lock().unwrap().requests.clone()
    }
    pub(crate) fn hang_next(&self, n: usize) {
        self.inner.lock().unwrap().hang = n;
    }
    pub(crate) fn fail_next(&self, n: usize) {
        self.inner.lock().unwrap().fail = n;
    }
    pub(crate) fn config(&self) -> petty_http::notify::TwilioConfig {
        petty_http::notify::TwilioConfig {
            base_url: self.base_url.clone(),
            account_sid: TWILIO_SID.into(),
            auth_token: TWILIO_TOKEN.into(),
            from: "+15005550006".into(),
        }
    }
    /// Waits until at least `n` requests have arrived (or 15 s).
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<TwilioRequest> {
        for _ in 0..300 {
            let r = self.requests();
            if r.len() >= n {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.requests()
    }
}

fn form_fields(body: &str) -> std::collections::HashMap<String, String> {
    url_decode_pairs(body)
}

fn url_decode_pairs(body: &str) -> std::collections::HashMap<String, String> {
    body.split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((decode(k), decode(v)))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn twilio_resource(
    State(fake): State<FakeTwilio>,
    Path((sid, resource)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> axum::response::Response {
    // Twilio authenticates with HTTP Basic: the account SID and the auth token.
    use base64::Engine;
    let expected =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{TWILIO_SID}:{TWILIO_TOKEN}")));
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) || sid != TWILIO_SID {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"code": 20003, "message": "Authenticate", "status": 401})),
        )
            .into_response();
    }
    let fields = form_fields(&body);
    let (Some(to), Some(from)) = (fields.get("To"), fields.get("From")) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"code": 21604, "message": "A 'To' phone number is required.", "status": 400})),
        )
            .into_response();
    };
    let (hang, fail) = {
        let mut inner = fake.inner.lock().unwrap();
        inner.requests.push(TwilioRequest {
            resource: resource.clone(),
            to: to.clone(),
            from: from.clone(),
            body: fields.get("Body").cloned(),
            twiml: fields.get("Twiml").cloned(),
            at: std::time::Instant::now(),
        });
        let hang = inner.hang > 0;
        if hang {
            inner.hang -= 1;
        }
        let fail = !hang && inner.fail > 0;
        if fail {
            inner.fail -= 1;
        }
        (hang, fail)
    };
    if hang {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    if fail {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"code": 20500, "message": "Internal Server Error", "status": 500})),
        )
            .into_response();
    }
    let n = fake.inner.lock().unwrap().requests.len();
    match resource.as_str() {
        "Messages.json" => (
            StatusCode::CREATED,
            axum::Json(json!({"sid": format!("SM{n:032}"), "status": "queued", "to": to, "from": from,
                "body": fields.get("Body"), "date_created": "Sun, 22 Nov 2026 06:15:35 +0000", "account_sid": TWILIO_SID})),
        )
            .into_response(),
        "Calls.json" => {
            if !fields.contains_key("Twiml") && !fields.contains_key("Url") {
                return (StatusCode::BAD_REQUEST, axum::Json(json!({"code": 21205, "message": "Url or Twiml is required", "status": 400})))
                    .into_response();
            }
            (
                StatusCode::CREATED,
                axum::Json(json!({"sid": format!("CA{n:032}"), "status": "queued", "to": to, "from": from,
                    "account_sid": TWILIO_SID})),
            )
                .into_response()
        }
        _ => (StatusCode::NOT_FOUND, axum::Json(json!({"code": 20404, "message": "not found", "status": 404}))).into_response(),
    }
}

/// A fake Twilio on 127.0.0.1:0 speaking `/2010-04-01/Accounts/{sid}/Messages.json` and
/// `/Calls.json` with Basic auth and form bodies, as the real one does.
pub(crate) async fn twilio() -> FakeTwilio {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake = FakeTwilio { base_url: format!("http://{}", listener.local_addr().unwrap()), ..FakeTwilio::default() };
    let app =
        Router::new().route("/2010-04-01/Accounts/{sid}/{resource}", post(twilio_resource)).with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    fake
}

/// A webhook receiver: keeps every delivery and whether its signature verified with `secret`.
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    pub url: String,
    pub secret: Arc<Mutex<String>>,
    pub got: Arc<Mutex<Vec<(bool, serde_json::Value)>>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let sig = headers.get("petty-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut t = "";
    let mut v1 = "";
    for part in sig.split(',') {
        if let Some(x) = part.strip_prefix("t=") {
            t = x;
        }
        if let Some(x) = part.strip_prefix("v1=") {
            v1 = x;
        }
    }
    let secret = r.secret.lock().unwrap().clone();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let fresh = t.parse::<i64>().is_ok_and(|t| (time::OffsetDateTime::now_utc().unix_timestamp() - t).abs() < 300);
    let ok = fresh && expected == v1;
    r.got.lock().unwrap().push((ok, serde_json::from_str(&body).unwrap_or_default()));
    if ok { StatusCode::NO_CONTENT } else { StatusCode::UNAUTHORIZED }
}

pub(crate) async fn webhook_receiver() -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let r = Receiver { url: format!("http://{}/hook", listener.local_addr().unwrap()), ..Receiver::default() };
    let app = Router::new().route("/hook", post(receive)).with_state(r.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    r
}

/// A port nothing listens on (for now).
pub(crate) fn free_port() -> Option<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
    l.local_addr().ok().map(|a| a.port())
}

/// A real SMTP server (Python's smtpd) on a free port, writing what it takes to a file.
pub(crate) struct SmtpSink {
    pub port: u16,
    pub out: std::path::PathBuf,
    child: std::process::Child,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Skips the email test with a line saying why; in CI a missing SMTP server is a failure.
fn skip(why: &str) -> Option<SmtpSink> {
    if std::env::var("CI").is_ok_and(|v| !v.is_empty()) {
        panic!("the email test's SMTP server cannot run: {why}; CI must provide it");
    }
    eprintln!("skipped: the email test needs a real SMTP server: {why}");
    None
}

impl SmtpSink {
    /// None (and a line saying so) when python3 with `smtpd` is not on this machine.
    pub(crate) fn start() -> Option<SmtpSink> {
        Self::start_on(free_port()?)
    }

    /// The same on a given port (to start it after a server was told to mail there).
    pub(crate) fn start_on(port: u16) -> Option<SmtpSink> {
        let out = std::env::temp_dir().join(format!("petty-smtp-{}.jsonl", uuid::Uuid::now_v7()));
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/smtp_sink.py");
        let mut child = match std::process::Command::new("python3")
            .args([script, &port.to_string(), out.to_str()?])
            .stdout(std::process::Stdio::piped())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => return skip(&format!("python3 could not be started ({e})")),
        };
        use std::io::BufRead;
        let mut line = String::new();
        let stdout = child.stdout.take()?;
        std::io::BufReader::new(stdout).read_line(&mut line).ok()?;
        if line.trim() != "ready" {
            let _ = child.kill();
            let _ = child.wait();
            return skip("python3 has no standard `smtpd` module (Python 3.11 or older has it)");
        }
        Some(SmtpSink { port, out, child })
    }

    pub(crate) fn messages(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}
