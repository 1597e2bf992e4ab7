//! Telling people about alarms: escalation into the outbox, webhooks for every change, and
//! delivering one claimed notification through `petty-notify`'s channels.
//!
//! Nothing is sent straight away: every notification is first an outbox row whose key names
//! its alarm and escalation step, so a step is queued once however often the escalation pass
//! runs and on however many nodes. The outbox job (`petty-jobs`) claims due rows with a lease
//! and hands each to [`deliver`], which records the provider's id, or a retry with exponential
//! backoff; a row whose sender died is claimed again when its lease runs out. Acknowledging or
//! clearing an alarm cancels what has not gone yet (the store does that in the same
//! transaction).

use petty_core::alarm::{Channel, Delivery, Severity, escalation_steps};
use petty_core::ids::HouseholdId;
use petty_notify::{SendError, backoff_ms};
use petty_store::{Alarm, NewNotification, Notification, StoreError};

use crate::App;

/// Queues the escalation steps of an active alarm that are due by `now`; wakes the sender when
/// something new was queued.
pub async fn escalate(app: &App, alarm: &Alarm, now: i64) {
    if let Err(e) = escalate_inner(app, alarm, now).await {
        tracing::warn!(error = %e, alarm_id = %alarm.id, "queueing an alarm's notifications failed");
    }
}

async fn escalate_inner(app: &App, alarm: &Alarm, now: i64) -> Result<(), StoreError> {
    if alarm.state != petty_core::alarm::AlarmState::Active {
        return Ok(());
    }
    let policy = app.store.escalation(alarm.household_id).await?;
    let contacts = app.store.contacts(alarm.household_id).await?;
    let steps =
        escalation_steps(&policy, alarm.severity, petty_store::to_ms(alarm.first_at).min(now), now, contacts.len());
    if steps.is_empty() {
        return Ok(());
    }
    // The pass runs every second: write only the steps not queued before.
    let known = app.store.notification_keys(alarm.id).await?;
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
        let notifier = &app.notifier;
        let (subject, body, payload) = match step.channel {
            Channel::Email => {
                let first_seen = crate::rfc3339::format(alarm.first_at)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                let (subject, body) = notifier.email(alarm, contact, &first_seen);
                (subject, body, String::new())
            }
            Channel::Sms => (String::new(), notifier.text_message(alarm, contact), String::new()),
            Channel::Voice => {
                let gather = notifier.voice_gather_url(alarm.id, contact.id);
                let words = petty_notify::spoken(alarm);
                (String::new(), words.clone(), petty_notify::voice_twiml(&words, Some(&gather)))
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
        if app.store.enqueue_notification(&n, now).await? {
            queued += 1;
        }
    }
    if queued > 0 {
        app.wake.outbox.notify_one();
    }
    Ok(())
}

/// Queues a webhook delivery per household webhook for an alarm's change (raised,
/// acknowledged, cleared).
pub async fn alarm_changed(app: &App, alarm: &Alarm, event: &str) {
    let hooks = match app.store.webhooks(alarm.household_id).await {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(error = %e, "reading webhooks failed");
            return;
        }
    };
    let now = app.now_ms();
    let mut queued = false;
    // A webhook made through the Pet Management profile is told only of the events it names.
    for hook in hooks.into_iter().filter(|h| h.events.is_none()) {
        let least: Severity = hook.min_severity.parse().unwrap_or(Severity::Info);
        if !alarm.severity.at_least(least) {
            continue;
        }
        let body = serde_json::json!({
            "event": format!("alarm.{event}"),
            "alarm": crate::alarms::AlarmOut::from(alarm),
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
        match app.store.enqueue_notification(&n, now).await {
            Ok(true) => queued = true,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "queueing a webhook failed"),
        }
    }
    if queued {
        app.wake.outbox.notify_one();
    }
}

/// Queues a delivery of `event` (`pet.created`, `reminder.due`, ...: the Pet Management
/// profile's events) to each of the household's webhooks that asked for it, through the outbox
/// like every webhook: at least once, signed in the `Petty-Signature` header over the whole
/// body. The body is `{id, event, timestamp, data, signature}`, where `signature` is the hex
/// HMAC-SHA256 of `<id>.<timestamp>` under the hook's secret (the seed's own field; the header
/// is the one to verify). Receivers dedupe by `id`. Failing to queue is logged, never fatal to
/// the change that caused it.
pub async fn household_event(app: &App, household_id: HouseholdId, event: &str, data: serde_json::Value) {
    let hooks = match app.store.event_webhooks(household_id, event).await {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(error = %e, "reading webhooks failed");
            return;
        }
    };
    if hooks.is_empty() {
        return;
    }
    let id = uuid::Uuid::now_v7();
    let now = app.now_ms();
    let timestamp = crate::rfc3339::from_ms((now / 1000) * 1000).unwrap_or_default().replace(".000Z", "Z");
    let mut queued = false;
    for hook in hooks {
        let signature = petty_notify::hmac_sha256_hex(&hook.secret, &format!("{id}.{timestamp}"));
        let body = serde_json::json!({
            "id": id, "event": event, "timestamp": timestamp, "data": data, "signature": signature,
        })
        .to_string();
        let n = NewNotification {
            household_id,
            idem_key: format!("webhook:{}:event:{id}", hook.id),
            alarm_id: None,
            contact_id: None,
            channel: Channel::Webhook,
            recipient: hook.url.clone(),
            subject: event.to_owned(),
            body: hook.id.to_string(),
            payload: body,
            not_before_ms: now,
        };
        match app.store.enqueue_notification(&n, now).await {
            Ok(true) => queued = true,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "queueing a webhook failed"),
        }
    }
    if queued {
        app.wake.outbox.notify_one();
    }
}

/// Sends one claimed notification and records how it went; answers the provider's id.
pub async fn deliver(app: &App, n: Notification) -> Result<String, SendError> {
    // Escalation stops the moment someone acknowledges: a step queued just before that goes no
    // further. (Webhooks tell of every change, acknowledgements included.)
    if let Some(alarm_id) = n.alarm_id
        && n.channel != Channel::Webhook
    {
        match app.store.get_alarm(n.household_id, alarm_id).await {
            Ok(alarm) if alarm.state != petty_core::alarm::AlarmState::Active => {
                let note = format!("not sent: the alarm was {} first", alarm.state.as_str());
                if let Err(e) = app.store.notification_deferred(&n, None, &note).await {
                    tracing::warn!(error = %e, "cancelling a notification failed");
                }
                return Err(SendError::permanent(note));
            }
            Ok(_) => {}
            Err(e) => return Err(SendError::retry(e.to_string())),
        }
    }
    let result = match n.channel {
        Channel::Webhook => send_webhook(app, &n).await,
        _ => app.notifier.send(&n).await,
    };
    let now = app.now_ms();
    let recorded = match &result {
        Ok(provider_ref) => {
            metrics::counter!("petty_notifications_sent_total", "channel" => n.channel.as_str()).increment(1);
            app.store.notification_sent(&n, provider_ref, now).await
        }
        Err(e) => {
            metrics::counter!("petty_notifications_failed_total", "channel" => n.channel.as_str()).increment(1);
            let give_up = e.permanent || n.attempts >= i64::from(app.settings.notify.max_attempts);
            let retry_at = (!give_up).then(|| now + backoff_ms(&app.settings.notify, n.attempts));
            tracing::warn!(
                channel = n.channel.as_str(), attempt = n.attempts, give_up, error = %e.message,
                "a notification was not delivered"
            );
            app.store.notification_failed(&n, &e.message, retry_at, now).await
        }
    };
    if let Err(e) = recorded {
        // The lease runs out and the row is claimed again: sent at least once, never lost.
        tracing::warn!(error = %e, "recording a delivery failed");
    }
    result
}

/// Posts a webhook row to its hook, signed with the hook's secret (looked up now: a deleted
/// hook is not called).
async fn send_webhook(app: &App, n: &Notification) -> Result<String, SendError> {
    let hook_id: petty_core::ids::WebhookId =
        n.body.parse().map_err(|_| SendError::permanent("the webhook row names no webhook"))?;
    let hooks = app.store.webhooks(n.household_id).await.map_err(|e| SendError::retry(e.to_string()))?;
    let Some(hook) = hooks.into_iter().find(|h| h.id == hook_id) else {
        return Err(SendError::permanent("the webhook was deleted"));
    };
    app.notifier.send_webhook(&hook.url, &hook.secret, app.now_ms() / 1000, n).await
}
