//! Telling people: escalation into the outbox, and delivery from it over SMTP, Twilio (SMS and
//! voice) and signed webhooks.
//!
//! Nothing is sent straight away: every notification is first an outbox row whose key names
//! its alarm and escalation step, so a step is queued once however often the escalation pass
//! runs and on however many nodes. [`run`] claims due rows with a lease, sends them, and records
//! the provider's id, or a retry with exponential backoff; a row whose sender died (a restart
//! mid-delivery) is claimed again when its lease runs out. Acknowledging or clearing an alarm
//! cancels what has not gone yet (the store does that in the same transaction).
//!
//! Acknowledging works from any channel: every message carries a link with a token signed for
//! that alarm and person (`/ack/{token}`), and a call asks for a keypress that Twilio posts back
//! to `/hooks/twilio/voice/{token}`.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use petty_core::alarm::{Channel, Delivery, Severity, escalation_steps};
use petty_core::chart::xml_escape;
use petty_store::{Alarm, Contact, NewNotification, Notification, StoreError};
use sha2::Sha256;
use uuid::Uuid;

use crate::state::AppState;

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
        }
    }
}

/// The senders, built once.
pub struct Notifier {
    wake: tokio::sync::Notify,
    http: reqwest::Client,
    smtp: Option<lettre::AsyncSmtpTransport<lettre::Tokio1Executor>>,
}

/// Installs ring as rustls's provider (once per process; later calls do nothing).
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Notifier {
    pub fn new(config: &NotifyConfig) -> Notifier {
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
        Notifier { wake: tokio::sync::Notify::new(), http, smtp }
    }

    /// Asks the sender to look at the outbox now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
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

fn now_ms() -> i64 {
    petty_store::to_ms(time::OffsetDateTime::now_utc())
}

// ---- acknowledgement tokens ----

/// The keyed MAC over an acknowledgement's alarm and contact.
fn ack_mac(state: &AppState, alarm: Uuid, contact: Uuid) -> Option<HmacSha256> {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&state.config.jwt_secret).ok()?;
    mac.update(b"petty-alarm-ack\0");
    mac.update(alarm.as_bytes());
    mac.update(contact.as_bytes());
    Some(mac)
}

/// How many bytes of the tag a token carries (128 bits).
const ACK_TAG_LEN: usize = 16;

/// A token that acknowledges `alarm` as `contact` (the nil id for "someone in the household").
pub fn ack_token(state: &AppState, alarm: Uuid, contact: Uuid) -> String {
    let mut bytes = Vec::with_capacity(32 + ACK_TAG_LEN);
    bytes.extend_from_slice(alarm.as_bytes());
    bytes.extend_from_slice(contact.as_bytes());
    match ack_mac(state, alarm, contact) {
        Some(mac) => bytes.extend_from_slice(&mac.finalize().into_bytes()[..ACK_TAG_LEN]),
        None => bytes.extend_from_slice(&[0; ACK_TAG_LEN]),
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The alarm and contact a token names, when its signature holds (compared in constant time).
pub fn verify_ack_token(state: &AppState, token: &str) -> Option<(Uuid, Uuid)> {
    let bytes = URL_SAFE_NO_PAD.decode(token.as_bytes()).ok()?;
    if bytes.len() != 32 + ACK_TAG_LEN {
        return None;
    }
    let alarm = Uuid::from_slice(&bytes[..16]).ok()?;
    let contact = Uuid::from_slice(&bytes[16..32]).ok()?;
    ack_mac(state, alarm, contact)?.verify_truncated_left(&bytes[32..]).ok()?;
    Some((alarm, contact))
}

fn ack_link(state: &AppState, alarm: Uuid, contact: Uuid) -> String {
    format!("{}/ack/{}", state.config.notify.public_url.trim_end_matches('/'), ack_token(state, alarm, contact))
}

// ---- what messages say ----

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

fn text_message(state: &AppState, alarm: &Alarm, contact: &Contact) -> String {
    let advice = if is_co(alarm) { " Check the car or the room and open a window now." } else { "" };
    format!(
        "Petty {}: {}. {}.{advice} Acknowledge: {}",
        alarm.severity.as_str().to_uppercase(),
        alarm.title,
        alarm.message,
        ack_link(state, alarm.id, contact.id)
    )
}

/// Queues the escalation steps of an active alarm that are due by `now`; wakes the sender when
/// something new was queued.
pub async fn escalate(state: &AppState, alarm: &Alarm, now: i64) {
    if let Err(e) = escalate_inner(state, alarm, now).await {
        tracing::warn!(error = %e, alarm_id = %alarm.id, "queueing an alarm's notifications failed");
    }
}

async fn escalate_inner(state: &AppState, alarm: &Alarm, now: i64) -> Result<(), StoreError> {
    if alarm.state != petty_core::alarm::AlarmState::Active {
        return Ok(());
    }
    let policy = state.store.escalation(alarm.household_id).await?;
    let contacts = state.store.contacts(alarm.household_id).await?;
    let steps = escalation_steps(&policy, alarm.severity, alarm.first_at_ms.min(now), now, contacts.len());
    if steps.is_empty() {
        return Ok(());
    }
    // The pass runs every second: write only the steps not queued before.
    let known = state.store.notification_keys(alarm.id).await?;
    let mut queued = 0;
    for step in steps {
        if known.contains(&format!("alarm:{}:{}", alarm.id, step.key)) {
            continue;
        }
        let Some(contact) = contacts.get(step.contact) else { continue };
        let recipient = match step.channel {
            Channel::Email => contact.email.clone(),
            Channel::Sms | Channel::Voice => contact.phone.clone(),
            Channel::Webhook => None,
        };
        let Some(recipient) = recipient else { continue };
        let not_before = match contact.policy.decide(step.channel, alarm.severity, now) {
            Delivery::Skip => continue,
            Delivery::HoldUntil(t) => t,
            Delivery::Now => step.due_ms,
        };
        let (subject, body, payload) = match step.channel {
            Channel::Email => (
                format!("[Petty {}] {}", alarm.severity, alarm.title),
                format!(
                    "{}\n\n{}\n\nFirst seen: {}\nOccurrences: {}\n\nAcknowledge it (this stops the calls and messages):\n{}\n\n\
                     The alarm in Petty: {}/alarms/{}\n",
                    alarm.title,
                    alarm.message,
                    crate::rfc3339::from_ms(alarm.first_at_ms).unwrap_or_default(),
                    alarm.occurrences,
                    ack_link(state, alarm.id, contact.id),
                    state.config.notify.public_url.trim_end_matches('/'),
                    alarm.id
                ),
                String::new(),
            ),
            Channel::Sms => (String::new(), text_message(state, alarm, contact), String::new()),
            Channel::Voice => {
                let gather = format!(
                    "{}/hooks/twilio/voice/{}",
                    state.config.notify.public_url.trim_end_matches('/'),
                    ack_token(state, alarm.id, contact.id)
                );
                (String::new(), spoken(alarm), voice_twiml(&spoken(alarm), Some(&gather)))
            }
            Channel::Webhook => continue,
        };
        let n = NewNotification {
            household_id: alarm.household_id,
            idem_key: format!("alarm:{}:{}", alarm.id, step.key),
            alarm_id: Some(alarm.id),
            contact_id: Some(contact.id),
            channel: step.channel,
            recipient,
            subject,
            body,
            payload,
            not_before_ms: not_before,
        };
        if state.store.enqueue_notification(&n, now).await? {
            queued += 1;
        }
    }
    if queued > 0 {
        state.notify.wake();
    }
    Ok(())
}

/// Queues a webhook delivery per household webhook for an alarm's change (raised,
/// acknowledged, cleared).
pub async fn alarm_changed(state: &AppState, alarm: &Alarm, event: &str) {
    let hooks = match state.store.webhooks(alarm.household_id).await {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(error = %e, "reading webhooks failed");
            return;
        }
    };
    let now = now_ms();
    let mut queued = false;
    for hook in hooks {
        let least: Severity = hook.min_severity.parse().unwrap_or(Severity::Info);
        if !alarm.severity.at_least(least) {
            continue;
        }
        let body = serde_json::json!({
            "event": format!("alarm.{event}"),
            "alarm": crate::alarms::alarm_json(alarm),
        })
        .to_string();
        let n = NewNotification {
            household_id: alarm.household_id,
            idem_key: format!("webhook:{}:alarm:{}:{event}", hook.id, alarm.id),
            alarm_id: Some(alarm.id),
            contact_id: None,
            channel: Channel::Webhook,
            recipient: hook.url.clone(),
            subject: format!("alarm.{event}"),
            body: hook.id.to_string(),
            payload: body,
            not_before_ms: now,
        };
        match state.store.enqueue_notification(&n, now).await {
            Ok(true) => queued = true,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "queueing a webhook failed"),
        }
    }
    if queued {
        state.notify.wake();
    }
}

/// Escalates every active alarm and delivers what is due, until aborted.
pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(state.config.notify.tick);
    let mut last_escalation = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = state.notify.wake.notified() => {}
        }
        let now = now_ms();
        if now - last_escalation >= 1000 {
            last_escalation = now;
            match state.store.active_alarms_everywhere(5000).await {
                Ok(alarms) => {
                    for alarm in &alarms {
                        escalate(&state, alarm, now).await;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "reading active alarms failed"),
            }
        }
        deliver_due(&state).await;
    }
}

/// Sends every notification that is due now (tests call this instead of waiting for [`run`]).
pub async fn deliver_due(state: &AppState) {
    loop {
        let lease = state.config.notify.lease.as_millis() as i64;
        let batch = match state.store.claim_notifications(now_ms(), lease, 16).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "claiming notifications failed");
                return;
            }
        };
        if batch.is_empty() {
            return;
        }
        let sends = batch.into_iter().map(|n| {
            let state = state.clone();
            async move { deliver(&state, n).await }
        });
        futures_util::future::join_all(sends).await;
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
    fn retry(message: impl Into<String>) -> SendError {
        SendError { message: message.into(), permanent: false }
    }
    fn permanent(message: impl Into<String>) -> SendError {
        SendError { message: message.into(), permanent: true }
    }
}

/// Sends one claimed notification and records how it went; answers the provider's id.
pub async fn deliver(state: &AppState, n: Notification) -> Result<String, SendError> {
    // Escalation stops the moment someone acknowledges: a step queued just before that goes no
    // further. (Webhooks tell of every change, acknowledgements included.)
    if let Some(alarm_id) = n.alarm_id
        && n.channel != Channel::Webhook
    {
        match state.store.get_alarm(n.household_id, alarm_id).await {
            Ok(alarm) if alarm.state != petty_core::alarm::AlarmState::Active => {
                let note = format!("not sent: the alarm was {} first", alarm.state.as_str());
                if let Err(e) = state.store.notification_deferred(&n, None, &note).await {
                    tracing::warn!(error = %e, "cancelling a notification failed");
                }
                return Err(SendError::permanent(note));
            }
            Ok(_) => {}
            Err(e) => return Err(SendError::retry(e.to_string())),
        }
    }
    let result = send(state, &n).await;
    let now = now_ms();
    let recorded = match &result {
        Ok(provider_ref) => {
            metrics::counter!("petty_notifications_sent_total", "channel" => n.channel.as_str()).increment(1);
            state.store.notification_sent(&n, provider_ref, now).await
        }
        Err(e) => {
            metrics::counter!("petty_notifications_failed_total", "channel" => n.channel.as_str()).increment(1);
            let give_up = e.permanent || n.attempts >= i64::from(state.config.notify.max_attempts);
            let retry_at = (!give_up).then(|| now + backoff_ms(&state.config.notify, n.attempts));
            tracing::warn!(
                channel = n.channel.as_str(), attempt = n.attempts, give_up, error = %e.message,
                "a notification was not delivered"
            );
            state.store.notification_failed(&n, &e.message, retry_at, now).await
        }
    };
    if let Err(e) = recorded {
        // The lease runs out and the row is claimed again: sent at least once, never lost.
        tracing::warn!(error = %e, "recording a delivery failed");
    }
    result
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

async fn send(state: &AppState, n: &Notification) -> Result<String, SendError> {
    match n.channel {
        Channel::Email => send_email(state, n).await,
        Channel::Sms => {
            twilio_post(state, "Messages.json", &[("To", n.recipient.as_str()), ("Body", n.body.as_str())]).await
        }
        Channel::Voice => {
            twilio_post(state, "Calls.json", &[("To", n.recipient.as_str()), ("Twiml", n.payload.as_str())]).await
        }
        Channel::Webhook => send_webhook(state, n).await,
    }
}

async fn send_email(state: &AppState, n: &Notification) -> Result<String, SendError> {
    use lettre::AsyncTransport;
    let (Some(transport), Some(config)) = (&state.notify.smtp, &state.config.notify.smtp) else {
        return Err(SendError::retry("no SMTP server is configured (notify.smtp)"));
    };
    let from = config.from.parse().map_err(|e| SendError::permanent(format!("notify.smtp.from: {e}")))?;
    let to = n.recipient.parse().map_err(|e| SendError::permanent(format!("recipient {}: {e}", n.recipient)))?;
    let message = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(&n.subject)
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(n.body.clone())
        .map_err(|e| SendError::permanent(format!("building the email: {e}")))?;
    match transport.send(message).await {
        Ok(response) => Ok(format!("smtp {} {}", response.code(), response.message().collect::<Vec<_>>().join(" "))),
        Err(e) if e.is_permanent() => Err(SendError::permanent(format!("the SMTP server refused it: {e}"))),
        Err(e) => Err(SendError::retry(format!("SMTP: {e}"))),
    }
}

/// Posts a form to Twilio's REST API (`/2010-04-01/Accounts/{sid}/{resource}`) and answers the
/// resource's `sid`.
async fn twilio_post(state: &AppState, resource: &str, fields: &[(&str, &str)]) -> Result<String, SendError> {
    let summary = twilio_call(state, resource, fields).await?;
    summary
        .get("sid")
        .and_then(|s| s.as_str())
        .map(str::to_owned)
        .ok_or_else(|| SendError::retry("Twilio answered without a sid"))
}

/// Posts a form to Twilio and answers its JSON reply (the message or call resource).
pub async fn twilio_call(
    state: &AppState,
    resource: &str,
    fields: &[(&str, &str)],
) -> Result<serde_json::Value, SendError> {
    let Some(config) = &state.config.notify.twilio else {
        return Err(SendError::retry("Twilio is not configured (notify.twilio)"));
    };
    let url =
        format!("{}/2010-04-01/Accounts/{}/{resource}", config.base_url.trim_end_matches('/'), config.account_sid);
    let mut form: Vec<(&str, &str)> = vec![("From", config.from.as_str())];
    form.extend_from_slice(fields);
    let response = state
        .notify
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

/// The signature header of a webhook delivery: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
/// "<t>.<body>" under the webhook's secret>`.
pub fn webhook_signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = match <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let tag = mac.finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

async fn send_webhook(state: &AppState, n: &Notification) -> Result<String, SendError> {
    let hook_id: Uuid = n.body.parse().map_err(|_| SendError::permanent("the webhook row names no webhook"))?;
    let hooks = state.store.webhooks(n.household_id).await.map_err(|e| SendError::retry(e.to_string()))?;
    let Some(hook) = hooks.into_iter().find(|h| h.id == hook_id) else {
        return Err(SendError::permanent("the webhook was deleted"));
    };
    let timestamp = now_ms() / 1000;
    let response = state
        .notify
        .http
        .post(&hook.url)
        .header("content-type", "application/json")
        .header("petty-signature", webhook_signature(&hook.secret, timestamp, &n.payload))
        .header("petty-event", &n.subject)
        .header("idempotency-key", &n.idem_key)
        .body(n.payload.clone())
        .send()
        .await
        .map_err(|e| SendError::retry(format!("webhook unreachable: {e}")))?;
    let status = response.status();
    if status.is_success() {
        Ok(format!("http {}", status.as_u16()))
    } else if status.is_client_error() && status.as_u16() != 429 && status.as_u16() != 408 {
        Err(SendError::permanent(format!("the webhook answered {status}")))
    } else {
        Err(SendError::retry(format!("the webhook answered {status}")))
    }
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
