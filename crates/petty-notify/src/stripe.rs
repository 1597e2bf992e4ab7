//! Stripe's REST API, as billing uses it: customers, attaching a payment method, and creating,
//! changing and deleting subscriptions. Every call is form-encoded with the secret key as a
//! bearer token, an `Idempotency-Key` on each POST, and a timeout (10 s by default). Stripe is
//! a fixed, configured base URL, not one a user gives, so the outbound policy of webhooks
//! (`outbound.rs`) does not apply.
//!
//! Also here: the HMAC-SHA256 that Stripe signs webhooks with (the check itself is
//! `petty_core::billing::verify_signature`), and what the mail about a failed payment says.

use std::fmt;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use uuid::Uuid;

/// Where Stripe is and how Petty signs in to it.
#[derive(Clone)]
pub struct StripeConfig {
    /// `https://api.stripe.com`, or a server that speaks its API.
    pub api_base_url: String,
    /// `sk_live_...` or `sk_test_...`.
    pub secret_key: String,
    /// How long one call may take (connecting, sending and reading the answer).
    pub timeout: Duration,
}

impl fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeConfig")
            .field("api_base_url", &self.api_base_url)
            .field("secret_key", &"(hidden)")
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The default timeout of a call to Stripe.
pub const STRIPE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a call to Stripe did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StripeError {
    /// Stripe answered 402: the card was declined. `message` is Stripe's, for the person.
    Declined { message: String, code: Option<String> },
    /// Stripe could not be reached in time, or answered anything else but success; for the
    /// log (it never names the secret key).
    Provider(String),
}

impl fmt::Display for StripeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StripeError::Declined { message, .. } => write!(f, "the payment was declined: {message}"),
            StripeError::Provider(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for StripeError {}

/// A client of Stripe's API, built once.
pub struct Stripe {
    config: StripeConfig,
    http: reqwest::Client,
}

impl fmt::Debug for Stripe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stripe").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Stripe {
    pub fn new(config: StripeConfig) -> Stripe {
        let http = crate::api_client(config.timeout);
        Stripe { config, http }
    }

    pub fn config(&self) -> &StripeConfig {
        &self.config
    }

    /// `POST /v1/customers`: a customer for a household; answers its id (`cus_...`).
    pub async fn create_customer(
        &self,
        email: &str,
        household_id: Uuid,
        idempotency_key: &str,
    ) -> Result<String, StripeError> {
        let household = household_id.to_string();
        let form = [("email", email), ("metadata[household_id]", household.as_str())];
        let customer = self.post("/v1/customers", &form, idempotency_key).await?;
        id_of(&customer, "customer")
    }

    /// `POST /v1/payment_methods/{id}/attach`: the payment method becomes the customer's.
    pub async fn attach_payment_method(
        &self,
        payment_method_id: &str,
        customer_id: &str,
        idempotency_key: &str,
    ) -> Result<(), StripeError> {
        let path = format!("/v1/payment_methods/{}/attach", segment(payment_method_id)?);
        self.post(&path, &[("customer", customer_id)], idempotency_key).await.map(drop)
    }

    /// `POST /v1/subscriptions`: subscribes the customer to `price`, paid with the payment
    /// method at once (`payment_behavior=error_if_incomplete`: a declined card is a 402, not an
    /// incomplete subscription). Answers the subscription object.
    pub async fn create_subscription(
        &self,
        customer_id: &str,
        price_id: &str,
        payment_method_id: &str,
        household_id: Uuid,
        idempotency_key: &str,
    ) -> Result<Value, StripeError> {
        let household = household_id.to_string();
        let form = [
            ("customer", customer_id),
            ("items[0][price]", price_id),
            ("default_payment_method", payment_method_id),
            ("payment_behavior", "error_if_incomplete"),
            ("metadata[household_id]", household.as_str()),
        ];
        self.post("/v1/subscriptions", &form, idempotency_key).await
    }

    /// `POST /v1/subscriptions/{id}` with `cancel_at_period_end=true`: it ends at its period's
    /// end instead of renewing. Answers the subscription object.
    pub async fn cancel_at_period_end(
        &self,
        subscription_id: &str,
        idempotency_key: &str,
    ) -> Result<Value, StripeError> {
        let path = format!("/v1/subscriptions/{}", segment(subscription_id)?);
        self.post(&path, &[("cancel_at_period_end", "true")], idempotency_key).await
    }

    /// `DELETE /v1/subscriptions/{id}`: it ends now. Answers the subscription object.
    pub async fn cancel_now(&self, subscription_id: &str) -> Result<Value, StripeError> {
        let path = format!("/v1/subscriptions/{}", segment(subscription_id)?);
        let request = self.http.delete(self.url(&path)).bearer_auth(&self.config.secret_key);
        self.send(request, &path).await
    }

    /// `DELETE /v1/customers/{id}`: the customer and what Stripe keeps of them (an account
    /// deleted for good).
    pub async fn delete_customer(&self, customer_id: &str) -> Result<Value, StripeError> {
        let path = format!("/v1/customers/{}", segment(customer_id)?);
        let request = self.http.delete(self.url(&path)).bearer_auth(&self.config.secret_key);
        self.send(request, &path).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.api_base_url.trim_end_matches('/'))
    }

    async fn post(&self, path: &str, form: &[(&str, &str)], idempotency_key: &str) -> Result<Value, StripeError> {
        let request = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.config.secret_key)
            .header("idempotency-key", idempotency_key)
            .form(form);
        self.send(request, path).await
    }

    async fn send(&self, request: reqwest::RequestBuilder, path: &str) -> Result<Value, StripeError> {
        let started = std::time::Instant::now();
        let outcome = self.exchange(request).await;
        let result = match &outcome {
            Ok(_) => "ok",
            Err(StripeError::Declined { .. }) => "declined",
            Err(StripeError::Provider(_)) => "error",
        };
        tracing::debug!(path, result, elapsed_ms = started.elapsed().as_millis() as u64, "called Stripe");
        outcome
    }

    async fn exchange(&self, request: reqwest::RequestBuilder) -> Result<Value, StripeError> {
        let response = request.send().await.map_err(|e| {
            StripeError::Provider(if e.is_timeout() {
                format!("Stripe did not answer within {} s", self.config.timeout.as_secs_f64())
            } else if e.is_connect() {
                "Stripe could not be reached".to_owned()
            } else {
                "the request to Stripe failed".to_owned()
            })
        })?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| {
            StripeError::Provider(if e.is_timeout() {
                format!("Stripe did not finish its answer within {} s", self.config.timeout.as_secs_f64())
            } else {
                "Stripe's answer could not be read".to_owned()
            })
        })?;
        let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if status.is_success() {
            return if json.is_object() {
                Ok(json)
            } else {
                Err(StripeError::Provider(format!("Stripe answered {status} without a JSON object")))
            };
        }
        let error = &json["error"];
        let message = error["message"].as_str().unwrap_or("no message").to_owned();
        let code = error["code"].as_str().map(str::to_owned);
        if status.as_u16() == 402 {
            return Err(StripeError::Declined { message, code });
        }
        let kind = error["type"].as_str().unwrap_or("unknown");
        Err(StripeError::Provider(format!("Stripe answered {status} ({kind}): {message}")))
    }
}

/// An id as one segment of a path: Stripe's ids are letters, digits and `_`.
fn segment(id: &str) -> Result<&str, StripeError> {
    if !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(id)
    } else {
        Err(StripeError::Provider(format!("{id:?} is not a Stripe id")))
    }
}

fn id_of(object: &Value, what: &str) -> Result<String, StripeError> {
    object["id"].as_str().map(str::to_owned).ok_or_else(|| StripeError::Provider(format!("Stripe's {what} has no id")))
}

/// HMAC-SHA256 of `"<t>.<body>"` under the webhook secret (its UTF-8 bytes): what a
/// `Stripe-Signature` header's `v1` must be.
pub fn webhook_mac(secret: &str, t: &str, body: &[u8]) -> [u8; 32] {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else {
        // HMAC takes keys of any length; this is never reached.
        return [0; 32];
    };
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// The mail to a household's owners when a payment failed: subject and body. `grace_ends` is
/// the date the household goes back to the free plan unless the payment is made.
pub fn payment_failed_email(
    household: &str,
    tier: &str,
    grace_ends: Option<&str>,
    public_url: &str,
) -> (String, String) {
    let public_url = public_url.trim_end_matches('/');
    let until = match grace_ends {
        Some(day) => format!(
            "{household} keeps the {tier} plan until {day}. If the payment still fails by then, the household moves \
             to the free plan: nothing is deleted, but no pets, records or files can be added beyond the free plan's \
             limits."
        ),
        None => format!("If the payment keeps failing, {household} moves to the free plan; nothing is deleted."),
    };
    (
        format!("Petty: the payment for {household} failed"),
        format!(
            "The payment for the {tier} plan of {household} failed.\n\n{until}\n\n\
             Update the card with the payment provider, or see the plan at {public_url}/plan\n"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn the_webhook_mac_matches_the_contracts_vector() {
        let mac = webhook_mac("whsec_test_secret", "1700000000", br#"{"id":"evt_1","type":"invoice.paid"}"#);
        assert_eq!(hex(&mac), "46dc069361a7691082640523fa33fe5d6c8c88d5f5e257cdf8cf11539d166595");
    }

    #[test]
    fn ids_are_one_path_segment_and_secrets_stay_out_of_debug() {
        assert!(segment("sub_1NxAbc").is_ok());
        for bad in ["", "../v1/customers", "sub_1?expand=x", "pm 1"] {
            assert!(segment(bad).is_err(), "{bad:?}");
        }
        let config = StripeConfig {
            api_base_url: "https://api.stripe.com".into(),
            secret_key: "sk_live_x".into(),
            timeout: STRIPE_TIMEOUT,
        };
        assert!(!format!("{config:?}").contains("sk_live_x"));
    }
}
