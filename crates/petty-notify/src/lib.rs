//! Petty's delivery channels: email over SMTP (lettre), SMS and voice calls through Twilio's
//! REST API, and webhooks signed with HMAC-SHA256; the acknowledgement links every message
//! carries, and what each message says (about alarms, and about an account: a reset link, a
//! verification link, a warning that someone tried to register with an address); and the
//! client of Stripe's REST API that billing calls (`stripe.rs`), with the HMAC its webhooks
//! are signed with and the mail about a failed payment; and the client of an OpenAI-compatible
//! chat-completions API (`llm.rs`) that the life log's optional summary asks.
//!
//! Architecture invariant: this crate sends and says; it decides nothing. Who is told, when,
//! and what is recorded of it is `petty-app`'s (`notify.rs`), and the outbox that makes
//! delivery at-least-once is `petty-store`'s.
//!
//! API boundary: [`NotifyConfig`] and its parts, [`Notifier`] (the senders, the signer of
//! acknowledgement links), [`SendError`], the message texts ([`account_email`] among them), and
//! [`stripe`] ([`stripe::Stripe`], [`stripe::StripeConfig`], [`stripe::webhook_mac`]) and
//! [`llm`] ([`llm::Llm`], [`llm::LlmConfig`], [`llm::LlmError`]).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use petty_core::chart::xml_escape;
use petty_core::ids::{AlarmId, ContactId};
use petty_store::{AccountMailKind, Alarm, Contact, Notification};
use sha2::Sha256;
use uuid::Uuid;

pub mod llm;
pub mod outbound;
pub mod stripe;

pub use outbound::{OutboundPolicy, Refused};

type HmacSha256 = Hmac<Sha256>;

/// How an SMTP connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text (a relay on the same machine).
    None,
    /// Upgraded with STARTTLS (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Clone, Debug)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The From address: `Petty <alarms@example.org>`.
    pub from: String,
}

#[derive(Clone, Debug)]
pub struct TwilioConfig {
    /// `https://api.twilio.com`, or a compatible service.
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: String,
    /// The number messages and calls come from (E.164).
    pub from: String,
}

/// How notifications are sent.
#[derive(Clone, Debug)]
pub struct NotifyConfig {
    /// Where people reach this Petty (for acknowledgement links and Twilio's callbacks).
    pub public_url: String,
    pub smtp: Option<SmtpConfig>,
    pub twilio: Option<TwilioConfig>,
    /// How often the outbox is looked at when nothing wakes it.
    pub tick: Duration,
    /// How long a sender holds a claimed notification before another may take it.
    pub lease: Duration,
    /// Attempts before a notification is given up.
    pub max_attempts: u32,
    /// The first retry's wait; each next one doubles, up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// How long one attempt may take.
    pub send_timeout: Duration,
    /// Which addresses webhooks may reach besides public ones (none by default).
    pub outbound: OutboundPolicy,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            public_url: "http://127.0.0.1:8080".into(),
            smtp: None,
            twilio: None,
            tick: Duration::from_secs(2),
            lease: Duration::from_secs(60),
            max_attempts: 10,
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(15 * 60),
            send_timeout: Duration::from_secs(20),
            outbound: OutboundPolicy::default(),
        }
    }
}

/// The senders, built once, and the key that signs acknowledgement links.
pub struct Notifier {
    config: NotifyConfig,
    secret: Vec<u8>,
    http: reqwest::Client,
    smtp: Option<lettre::AsyncSmtpTransport<lettre::Tokio1Executor>>,
}

/// Installs ring as rustls's provider (once per process; later calls do nothing).
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client of a fixed, configured API (Stripe, the LLM endpoint): `timeout` for each call and
/// its connection, redirects never followed, Petty's user agent.
pub(crate) fn api_client(timeout: Duration) -> reqwest::Client {
    install_tls_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("petty/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

impl Notifier {
    /// `secret` signs acknowledgement links (the server's signing key).
    pub fn new(config: &NotifyConfig, secret: &[u8]) -> Notifier {
        install_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(config.send_timeout)
            .user_agent(concat!("petty/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        let smtp = config.smtp.as_ref().and_then(|c| match smtp_transport(c, config.send_timeout) {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::error!(error = %e, host = %c.host, "the SMTP settings are not usable; email is off");
                None
            }
        });
        Notifier { config: config.clone(), secret: secret.to_vec(), http, smtp }
    }

    pub fn config(&self) -> &NotifyConfig {
        &self.config
    }

    /// Where people reach this Petty, without a trailing slash.
    pub fn public_url(&self) -> &str {
        self.config.public_url.trim_end_matches('/')
    }

    /// The keyed MAC over an acknowledgement's alarm and contact.
    fn ack_mac(&self, alarm: Uuid, contact: Uuid) -> Option<HmacSha256> {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.secret).ok()?;
        mac.update(b"petty-alarm-ack\0");
        mac.update(alarm.as_bytes());
        mac.update(contact.as_bytes());
        Some(mac)
    }

    /// A token that acknowledges `alarm` as `contact` (the nil id for "someone in the household").
    pub fn ack_token(&self, alarm: AlarmId, contact: ContactId) -> String {
        let (alarm, contact) = (alarm.0, contact.0);
        let mut bytes = Vec::with_capacity(32 + ACK_TAG_LEN);
        bytes.extend_from_slice(alarm.as_bytes());
        bytes.extend_from_slice(contact.as_bytes());
        match self.ack_mac(alarm, contact) {
            Some(mac) => bytes.extend_from_slice(&mac.finalize().into_bytes()[..ACK_TAG_LEN]),
            None => bytes.extend_from_slice(&[0; ACK_TAG_LEN]),
        }
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The alarm and contact a token names, when its signature holds (compared in constant time).
    pub fn verify_ack_token(&self, token: &str) -> Option<(AlarmId, ContactId)> {
        let bytes = URL_SAFE_NO_PAD.decode(token.as_bytes()).ok()?;
        if bytes.len() != 32 + ACK_TAG_LEN {
            return None;
        }
        let alarm = Uuid::from_slice(&bytes[..16]).ok()?;
        let contact = Uuid::from_slice(&bytes[16..32]).ok()?;
        self.ack_mac(alarm, contact)?.verify_truncated_left(&bytes[32..]).ok()?;
        Some((AlarmId(alarm), ContactId(contact)))
    }

    /// The page that acknowledges `alarm` as `contact`.
    pub fn ack_link(&self, alarm: AlarmId, contact: ContactId) -> String {
        format!("{}/ack/{}", self.public_url(), self.ack_token(alarm, contact))
    }

    /// Where Twilio posts the keypress of a call about `alarm` to `contact`.
    pub fn voice_gather_url(&self, alarm: AlarmId, contact: ContactId) -> String {
        format!("{}/hooks/twilio/voice/{}", self.public_url(), self.ack_token(alarm, contact))
    }

    /// The text message about an alarm.
    pub fn text_message(&self, alarm: &Alarm, contact: &Contact) -> String {
        let advice = if is_co(alarm) { " Check the car or the room and open a window now." } else { "" };
        format!(
            "Petty {}: {}. {}.{advice} Acknowledge: {}",
            alarm.severity.as_str().to_uppercase(),
            alarm.title,
            alarm.message,
            self.ack_link(alarm.id, contact.id)
        )
    }

    /// The email about an alarm: subject and body. `first_seen` is the alarm's start as text.
    pub fn email(&self, alarm: &Alarm, contact: &Contact, first_seen: &str) -> (String, String) {
        (
            format!("[Petty {}] {}", alarm.severity, alarm.title),
            format!(
                "{}\n\n{}\n\nFirst seen: {first_seen}\nOccurrences: {}\n\nAcknowledge it (this stops the calls and messages):\n{}\n\n\
                 The alarm in Petty: {}/alarms/{}\n",
                alarm.title,
                alarm.message,
                alarm.occurrences,
                self.ack_link(alarm.id, contact.id),
                self.public_url(),
                alarm.id
            ),
        )
    }

    /// Sends one notification of a channel Petty sends by itself (email, SMS, voice); answers
    /// the provider's id. Webhooks go through [`Notifier::send_webhook`], which needs the hook.
    pub async fn send(&self, n: &Notification) -> Result<String, SendError> {
        use petty_core::alarm::Channel;
        match n.channel {
            Channel::Email => self.send_email(n).await,
            Channel::Sms => {
                self.twilio_post("Messages.json", &[("To", n.recipient.as_str()), ("Body", n.body.as_str())]).await
            }
            Channel::Voice => {
                self.twilio_post("Calls.json", &[("To", n.recipient.as_str()), ("Twiml", n.payload.as_str())]).await
            }
            Channel::Webhook => Err(SendError::permanent("a webhook is sent with its hook's secret")),
        }
    }

    async fn send_email(&self, n: &Notification) -> Result<String, SendError> {
        self.send_email_to(&n.recipient, &n.subject, n.body.clone()).await
    }

    /// Whether email can be sent at all (an SMTP server is configured and usable).
    pub fn can_email(&self) -> bool {
        self.smtp.is_some()
    }

    /// Sends one plain-text email; answers the SMTP server's reply. The body is never logged
    /// (account mail carries links that work once).
    pub async fn send_email_to(&self, recipient: &str, subject: &str, body: String) -> Result<String, SendError> {
        use lettre::AsyncTransport;
        let (Some(transport), Some(config)) = (&self.smtp, &self.config.smtp) else {
            return Err(SendError::retry("no SMTP server is configured (notify.smtp)"));
        };
        let from = config.from.parse().map_err(|e| SendError::permanent(format!("notify.smtp.from: {e}")))?;
        let to = recipient.parse().map_err(|e| SendError::permanent(format!("recipient {recipient}: {e}")))?;
        let message = lettre::Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| SendError::permanent(format!("building the email: {e}")))?;
        match transport.send(message).await {
            Ok(response) => {
                Ok(format!("smtp {} {}", response.code(), response.message().collect::<Vec<_>>().join(" ")))
            }
            Err(e) if e.is_permanent() => Err(SendError::permanent(format!("the SMTP server refused it: {e}"))),
            Err(e) => Err(SendError::retry(format!("SMTP: {e}"))),
        }
    }

    /// Posts a form to Twilio's REST API (`/2010-04-01/Accounts/{sid}/{resource}`) and answers
    /// the resource's `sid`.
    async fn twilio_post(&self, resource: &str, fields: &[(&str, &str)]) -> Result<String, SendError> {
        let summary = self.twilio_call(resource, fields).await?;
        summary
            .get("sid")
            .and_then(|s| s.as_str())
            .map(str::to_owned)
            .ok_or_else(|| SendError::retry("Twilio answered without a sid"))
    }

    /// Posts a form to Twilio and answers its JSON reply (the message or call resource).
    pub async fn twilio_call(&self, resource: &str, fields: &[(&str, &str)]) -> Result<serde_json::Value, SendError> {
        let Some(config) = &self.config.twilio else {
            return Err(SendError::retry("Twilio is not configured (notify.twilio)"));
        };
        let url =
            format!("{}/2010-04-01/Accounts/{}/{resource}", config.base_url.trim_end_matches('/'), config.account_sid);
        let mut form: Vec<(&str, &str)> = vec![("From", config.from.as_str())];
        form.extend_from_slice(fields);
        let response = self
            .http
            .post(&url)
            .basic_auth(&config.account_sid, Some(&config.auth_token))
            .form(&form)
            .send()
            .await
            .map_err(|e| SendError::retry(format!("Twilio unreachable: {e}")))?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        let detail = body.get("message").and_then(|m| m.as_str()).unwrap_or("no detail");
        let message = format!("Twilio answered {status}: {detail}");
        if status.is_client_error() && status.as_u16() != 429 {
            Err(SendError::permanent(message))
        } else {
            Err(SendError::retry(message))
        }
    }

    /// Posts a webhook delivery to `url`, signed with the hook's `secret` at `timestamp` (unix
    /// seconds).
    pub async fn send_webhook(
        &self,
        url: &str,
        secret: &str,
        timestamp: i64,
        n: &Notification,
    ) -> Result<String, SendError> {
        // Checked again at every delivery: the policy may have changed, and a name may now
        // resolve elsewhere. The request goes to the addresses checked here.
        let url = self.config.outbound.check_form(url).map_err(|e| SendError::permanent(e.to_string()))?;
        let client = self
            .config
            .outbound
            .client(&url, self.config.send_timeout)
            .await
            .map_err(|e| SendError::permanent(e.to_string()))?;
        let response = client
            .post(url)
            .header("user-agent", concat!("petty/", env!("CARGO_PKG_VERSION")))
            .header("content-type", "application/json")
            .header("petty-signature", webhook_signature(secret, timestamp, &n.payload))
            .header("petty-event", &n.subject)
            .header("idempotency-key", &n.idem_key)
            .body(n.payload.clone())
            .send()
            .await
            .map_err(|e| SendError::retry(format!("webhook unreachable: {}", without_url(&e))))?;
        let status = response.status();
        // The answer's body is never read: a receiver's reply cannot fill Petty's memory.
        drop(response);
        if status.is_success() {
            Ok(format!("http {}", status.as_u16()))
        } else if status.is_redirection() {
            Err(SendError::permanent(format!("the webhook answered {status}; redirects are not followed")))
        } else if status.is_client_error() && status.as_u16() != 429 && status.as_u16() != 408 {
            Err(SendError::permanent(format!("the webhook answered {status}")))
        } else {
            Err(SendError::retry(format!("the webhook answered {status}")))
        }
    }
}

/// A request error's text without the URL it carries.
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "the request failed"
    };
    kind.to_owned()
}

fn smtp_transport(
    c: &SmtpConfig,
    timeout: Duration,
) -> Result<lettre::AsyncSmtpTransport<lettre::Tokio1Executor>, lettre::transport::smtp::Error> {
    use lettre::AsyncSmtpTransport as T;
    let builder = match c.tls {
        SmtpTls::None => T::<lettre::Tokio1Executor>::builder_dangerous(&c.host),
        SmtpTls::StartTls => T::<lettre::Tokio1Executor>::starttls_relay(&c.host)?,
        SmtpTls::Tls => T::<lettre::Tokio1Executor>::relay(&c.host)?,
    };
    let mut builder = builder.port(c.port).timeout(Some(timeout));
    if let (Some(user), Some(password)) = (&c.username, &c.password) {
        builder = builder
            .credentials(lettre::transport::smtp::authentication::Credentials::new(user.clone(), password.clone()));
    }
    Ok(builder.build())
}

/// How many bytes of the tag a token carries (128 bits).
const ACK_TAG_LEN: usize = 16;

fn is_co(alarm: &Alarm) -> bool {
    alarm.alarm_type.starts_with("co_") && alarm.alarm_type != "co_silent"
}

/// What a voice call says about an alarm.
pub fn spoken(alarm: &Alarm) -> String {
    if is_co(alarm) {
        let level = alarm.value.map_or_else(String::new, |v| format!(" The level is {v:.0} parts per million."));
        format!(
            "This is Petty with an urgent carbon monoxide alarm. The gas level exceeded the safe threshold at {}.{level} \
             Check the car or the room and open a window now.",
            alarm.title.split(": ").last().unwrap_or(&alarm.title)
        )
    } else {
        format!("This is Petty with a {} alarm. {}. {}.", alarm.severity, alarm.title, alarm.message)
    }
}

/// The TwiML of a call about an alarm: say it, ask for 1 to acknowledge, say it again once.
pub fn voice_twiml(alarm_words: &str, gather_url: Option<&str>) -> String {
    let said = xml_escape(alarm_words);
    match gather_url {
        Some(url) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Gather numDigits=\"1\" action=\"{}\" method=\"POST\" \
             timeout=\"8\"><Say>{said}</Say><Say>Press 1 to acknowledge this alarm.</Say></Gather><Say>{said}</Say>\
             <Say>No key was pressed. Petty will keep trying your contacts.</Say></Response>",
            xml_escape(url)
        ),
        None => {
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say>{said}</Say><Say>{said}</Say></Response>")
        }
    }
}

/// What a mail about an account says: subject and body. `link` is the page its token opens
/// (`None` for a mail without one); `public_url` is where people reach this Petty.
pub fn account_email(kind: AccountMailKind, link: Option<&str>, public_url: &str, valid_for: &str) -> (String, String) {
    let public_url = public_url.trim_end_matches('/');
    let link = link.unwrap_or(public_url);
    match kind {
        AccountMailKind::PasswordReset => (
            "Reset your Petty password".to_owned(),
            format!(
                "Someone (we hope you) asked to reset the password of the Petty account at this address.\n\n\
                 Choose a new password here (the link works once, for {valid_for}):\n{link}\n\n\
                 Setting it signs the account out everywhere. If you did not ask for this, ignore this \
                 message: your password stays as it is.\n"
            ),
        ),
        AccountMailKind::VerifyEmail => (
            "Confirm your email address for Petty".to_owned(),
            format!(
                "Please confirm that this address belongs to your Petty account.\n\n\
                 Confirm it here (the link works once, for {valid_for}):\n{link}\n\n\
                 If you did not make a Petty account, ignore this message.\n"
            ),
        ),
        AccountMailKind::RegistrationAttempt => (
            "Someone tried to register with your address at Petty".to_owned(),
            format!(
                "Someone tried to make a new Petty account with this address, which already has one. \
                 No account was made and nothing changed.\n\n\
                 If it was you: sign in at {public_url}/login, or if you forgot your password, reset it at \
                 {public_url}/forgot-password. To join a household you were invited to, sign in and accept \
                 the invitation.\n\n\
                 If it was not you, you need do nothing.\n"
            ),
        ),
    }
}

/// What a send came to.
#[derive(Debug)]
pub struct SendError {
    pub message: String,
    /// Trying again cannot help (a refused number, a missing setting).
    pub permanent: bool,
}

impl SendError {
    pub fn retry(message: impl Into<String>) -> SendError {
        SendError { message: message.into(), permanent: false }
    }
    pub fn permanent(message: impl Into<String>) -> SendError {
        SendError { message: message.into(), permanent: true }
    }
}

/// The wait before attempt `attempts + 1`: base × 2^(attempts − 1), capped, with up to a fifth
/// more at random so failed senders do not retry in step.
pub fn backoff_ms(config: &NotifyConfig, attempts: i64) -> i64 {
    let base = config.backoff_base.as_millis() as i64;
    let cap = config.backoff_max.as_millis() as i64;
    let exp = (attempts - 1).clamp(0, 30) as u32;
    let wait = base.saturating_mul(1i64 << exp).min(cap);
    let jitter = if wait >= 5 { rand::random_range(0..wait / 5) } else { 0 };
    wait + jitter
}

/// The signature header of a webhook delivery: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
/// "<t>.<body>" under the webhook's secret>`.
pub fn webhook_signature(secret: &str, timestamp: i64, body: &str) -> String {
    format!("t={timestamp},v1={}", hmac_sha256_hex(secret, &format!("{timestamp}.{body}")))
}

/// Hex of HMAC-SHA256 over `message` under `secret` (as UTF-8): what webhook signatures are
/// made of (the Pet Management profile's body `signature` too).
pub fn hmac_sha256_hex(secret: &str, message: &str) -> String {
    let mut mac = match <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let c = NotifyConfig {
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(60),
            ..NotifyConfig::default()
        };
        let w1 = backoff_ms(&c, 1);
        let w3 = backoff_ms(&c, 3);
        let w9 = backoff_ms(&c, 9);
        assert!((5_000..6_000).contains(&w1), "{w1}");
        assert!((20_000..24_000).contains(&w3), "{w3}");
        assert!((60_000..72_000).contains(&w9), "{w9}");
    }

    #[test]
    fn twiml_escapes_and_gathers_one_key() {
        let t = voice_twiml("CO at Tom's car <now>", Some("http://x/hooks?a=1&b=2"));
        assert!(t.contains("<Gather numDigits=\"1\" action=\"http://x/hooks?a=1&amp;b=2\""));
        assert!(t.contains("Tom&#39;s car &lt;now&gt;"));
        assert!(t.starts_with("<?xml"));
    }

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_and_body() {
        // Known answer worked out independently with Python's hmac module.
        let sig = webhook_signature("whsec_test", 1_700_000_000, "{\"a\":1}");
        assert_eq!(sig, "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789");
    }
}
