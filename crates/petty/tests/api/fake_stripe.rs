//! A wire-level fake of the part of Stripe's REST API that billing uses: customers, attaching a
//! payment method, and creating, changing and deleting subscriptions, with Stripe's JSON
//! objects and error shapes (`{"error": {"type", "code", "message"}}`), its bearer-key
//! authentication, and its idempotency (a repeated `Idempotency-Key` answers what the first
//! call did). It keeps every request (method, path, form fields, `Authorization`,
//! `Idempotency-Key`) so tests assert what Petty sent; it can be told to fail or hang on a
//! path. And the signature Stripe puts on a webhook.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use petty_app::billing::{BillingSettings, Prices, StripeSettings};
use serde_json::{Value, json};
use sha2::Sha256;

pub(crate) const SECRET_KEY: &str = "sk_test_petty_fake_0123456789";
pub(crate) const WEBHOOK_SECRET: &str = "whsec_test_secret";
/// A payment method whose charges Stripe declines (Stripe's own test id).
pub(crate) const DECLINED_CARD: &str = "pm_card_chargeDeclined";
pub(crate) const GOOD_CARD: &str = "pm_card_visa";

/// `(price id, unit amount in cents, interval)`.
const PRICES: [(&str, i64, &str); 4] = [
    ("price_premium_monthly", 999, "month"),
    ("price_premium_yearly", 9_999, "year"),
    ("price_enterprise_monthly", 4_999, "month"),
    ("price_enterprise_yearly", 49_999, "year"),
];

/// One request Stripe took.
#[derive(Debug, Clone)]
pub(crate) struct StripeRequest {
    pub method: String,
    pub path: String,
    pub form: BTreeMap<String, String>,
    pub content_type: Option<String>,
    pub authorization: Option<String>,
    pub idempotency_key: Option<String>,
}

/// What to do instead of answering, on the next request to a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trouble {
    /// 500 with Stripe's `api_error`.
    Fail,
    /// Never answer.
    Hang,
}

#[derive(Default)]
struct Inner {
    requests: Vec<StripeRequest>,
    customers: Vec<String>,
    subscriptions: HashMap<String, Value>,
    /// Answers by idempotency key.
    replies: HashMap<String, (u16, Value)>,
    troubles: Vec<(String, Trouble)>,
    counter: u64,
}

#[derive(Clone)]
pub(crate) struct FakeStripe {
    inner: Arc<Mutex<Inner>>,
    pub base_url: String,
}

impl FakeStripe {
    pub(crate) fn requests(&self) -> Vec<StripeRequest> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// The next request whose path starts with `path` answers 500.
    pub(crate) fn fail_next(&self, path: &str) {
        self.inner.lock().unwrap().troubles.push((path.to_owned(), Trouble::Fail));
    }

    /// The next request whose path starts with `path` is never answered.
    pub(crate) fn hang_next(&self, path: &str) {
        self.inner.lock().unwrap().troubles.push((path.to_owned(), Trouble::Hang));
    }

    /// A subscription as Stripe holds it now.
    pub(crate) fn subscription(&self, id: &str) -> Value {
        self.inner.lock().unwrap().subscriptions.get(id).cloned().unwrap_or(Value::Null)
    }

    /// Billing settings for a Petty that talks to this fake, with a short timeout.
    pub(crate) fn settings(&self, timeout: Duration) -> BillingSettings {
        BillingSettings {
            stripe: Some(StripeSettings {
                api: petty_http::notify::StripeConfig {
                    api_base_url: self.base_url.clone(),
                    secret_key: SECRET_KEY.into(),
                    timeout,
                },
                webhook_secret: WEBHOOK_SECRET.into(),
                prices: Prices {
                    premium_monthly: Some(PRICES[0].0.into()),
                    premium_yearly: Some(PRICES[1].0.into()),
                    enterprise_monthly: Some(PRICES[2].0.into()),
                    enterprise_yearly: Some(PRICES[3].0.into()),
                },
            }),
        }
    }
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

fn form_fields(body: &str) -> BTreeMap<String, String> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((decode(k), decode(v)))
        })
        .collect()
}

fn error(status: u16, kind: &str, code: Option<&str>, message: &str) -> (u16, Value) {
    let mut error = json!({"type": kind, "message": message});
    if let Some(code) = code {
        error["code"] = json!(code);
    }
    (status, json!({ "error": error }))
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Every request: recorded, authenticated, then answered as Stripe would.
async fn handle(
    State(fake): State<FakeStripe>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let path = uri.path().to_owned();
    let request = StripeRequest {
        method: method.to_string(),
        path: path.clone(),
        form: form_fields(&body),
        content_type: header("content-type"),
        authorization: header("authorization"),
        idempotency_key: header("idempotency-key"),
    };
    let trouble = {
        let mut inner = fake.inner.lock().unwrap();
        inner.requests.push(request.clone());
        let at = inner.troubles.iter().position(|(prefix, _)| path.starts_with(prefix.as_str()));
        at.map(|i| inner.troubles.remove(i).1)
    };
    let (status, body) = match trouble {
        Some(Trouble::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            error(500, "api_error", None, "too late")
        }
        Some(Trouble::Fail) => error(500, "api_error", None, "An unknown error occurred"),
        None => answer(&fake, &method, &path, &request),
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [("request-id", "req_fake")], axum::Json(body)).into_response()
}

fn answer(fake: &FakeStripe, method: &Method, path: &str, request: &StripeRequest) -> (u16, Value) {
    if request.authorization.as_deref() != Some(&format!("Bearer {SECRET_KEY}")) {
        return error(401, "invalid_request_error", None, "Invalid API Key provided: sk_test_****");
    }
    let mut inner = fake.inner.lock().unwrap();
    let key = request.idempotency_key.clone().filter(|_| method == Method::POST);
    if let Some(previous) = key.as_ref().and_then(|k| inner.replies.get(k)) {
        return previous.clone();
    }
    let reply = route(&mut inner, method, path, &request.form);
    if let Some(key) = key {
        inner.replies.insert(key, reply.clone());
    }
    reply
}

fn route(inner: &mut Inner, method: &Method, path: &str, form: &BTreeMap<String, String>) -> (u16, Value) {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    inner.counter += 1;
    let n = inner.counter;
    let metadata = |form: &BTreeMap<String, String>| {
        let mut m = serde_json::Map::new();
        for (k, v) in form {
            if let Some(name) = k.strip_prefix("metadata[").and_then(|k| k.strip_suffix(']')) {
                m.insert(name.to_owned(), json!(v));
            }
        }
        Value::Object(m)
    };
    match (method.as_str(), parts.as_slice()) {
        ("POST", ["v1", "customers"]) => {
            let id = format!("cus_fake{n:04}");
            inner.customers.push(id.clone());
            (
                200,
                json!({"id": id, "object": "customer", "email": form.get("email"), "metadata": metadata(form),
                "created": unix_now(), "livemode": false}),
            )
        }
        ("POST", ["v1", "payment_methods", pm, "attach"]) => {
            let Some(customer) = form.get("customer").filter(|c| inner.customers.contains(c)) else {
                return error(400, "invalid_request_error", Some("resource_missing"), "No such customer");
            };
            if !pm.starts_with("pm_") {
                return error(
                    400,
                    "invalid_request_error",
                    Some("resource_missing"),
                    &format!("No such PaymentMethod: '{pm}'"),
                );
            }
            (
                200,
                json!({"id": pm, "object": "payment_method", "type": "card", "customer": customer,
                "card": {"brand": "visa", "last4": "4242"}}),
            )
        }
        ("POST", ["v1", "subscriptions"]) => {
            let Some(customer) = form.get("customer").filter(|c| inner.customers.contains(c)).cloned() else {
                return error(400, "invalid_request_error", Some("resource_missing"), "No such customer");
            };
            let price = form.get("items[0][price]").map(String::as_str).unwrap_or_default();
            let Some((price, amount, interval)) = PRICES.iter().find(|(id, _, _)| *id == price) else {
                return error(
                    400,
                    "invalid_request_error",
                    Some("resource_missing"),
                    &format!("No such price: '{price}'"),
                );
            };
            if form.get("default_payment_method").map(String::as_str) == Some(DECLINED_CARD) {
                return (
                    402,
                    json!({"error": {"type": "card_error", "code": "card_declined",
                    "decline_code": "generic_decline", "message": "Your card was declined."}}),
                );
            }
            let now = unix_now();
            let end = now + if *interval == "year" { 365 } else { 30 } * 86_400;
            let id = format!("sub_fake{n:04}");
            let subscription = json!({
                "id": id, "object": "subscription", "status": "active", "customer": customer,
                "created": now, "start_date": now, "current_period_start": now, "current_period_end": end,
                "cancel_at_period_end": false, "canceled_at": null, "ended_at": null,
                "default_payment_method": form.get("default_payment_method"),
                "metadata": metadata(form), "latest_invoice": format!("in_fake{n:04}"),
                "items": {"object": "list", "data": [{
                    "id": format!("si_fake{n:04}"), "object": "subscription_item", "quantity": 1,
                    "current_period_start": now, "current_period_end": end,
                    "price": {"id": price, "object": "price", "unit_amount": amount, "currency": "usd",
                        "recurring": {"interval": interval, "interval_count": 1}},
                }]},
            });
            inner.subscriptions.insert(id, subscription.clone());
            (200, subscription)
        }
        ("POST", ["v1", "subscriptions", id]) => {
            let Some(subscription) = inner.subscriptions.get_mut(*id) else {
                return error(
                    404,
                    "invalid_request_error",
                    Some("resource_missing"),
                    &format!("No such subscription: '{id}'"),
                );
            };
            if let Some(flag) = form.get("cancel_at_period_end") {
                subscription["cancel_at_period_end"] = json!(flag == "true");
            }
            (200, subscription.clone())
        }
        ("DELETE", ["v1", "subscriptions", id]) => {
            let Some(subscription) = inner.subscriptions.get_mut(*id) else {
                return error(
                    404,
                    "invalid_request_error",
                    Some("resource_missing"),
                    &format!("No such subscription: '{id}'"),
                );
            };
            let now = unix_now();
            subscription["status"] = json!("canceled");
            subscription["canceled_at"] = json!(now);
            subscription["ended_at"] = json!(now);
            (200, subscription.clone())
        }
        _ => error(404, "invalid_request_error", None, &format!("Unrecognized request URL ({method} {path})")),
    }
}

/// A fake Stripe on 127.0.0.1:0.
pub(crate) async fn stripe() -> FakeStripe {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake = FakeStripe {
        inner: Arc::new(Mutex::new(Inner::default())),
        base_url: format!("http://{}", listener.local_addr().unwrap()),
    };
    let app = Router::new().fallback(handle).with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    fake
}

/// The `Stripe-Signature` Stripe sends with `body` at unix time `t`, under `secret`.
pub(crate) fn signature(secret: &str, t: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}
