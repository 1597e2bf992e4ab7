//! Readings over MQTT: with `--mqtt-url mqtt://host:1883`, Petty subscribes to
//! `petty/v1/devices/+/readings` (QoS 1, persistent session) and feeds the same pipeline as
//! `POST /api/v1/ingest`.
//!
//! **How a device proves who it is.** The payload is the ingest API's JSON body plus the
//! device's token: `{"token": "dk_...", "ts": ..., "heart_rate": ...}` or
//! `{"token": "dk_...", "readings": [...]}`. The device id in the topic must be the token's
//! device. The broker should also keep devices apart (Mosquitto: one username per device and an
//! ACL allowing it to publish only to its own topic), so one device cannot even see another's
//! traffic; Petty does not rely on it.
//!
//! **Acknowledged means durable.** The client acknowledges a message (PUBACK) only after the
//! transaction holding its readings is committed, and in the order messages arrived, as MQTT
//! requires. Until then the broker keeps the message and sends it again after a reconnect;
//! a re-sent reading is a duplicate and stored once.
//!
//! **Bad messages never stop the stream.** A message that is not JSON, names an unknown
//! device, carries a wrong token or holds invalid readings is logged, counted in
//! `petty_mqtt_messages_total{outcome}`, and acknowledged (so it is not sent again forever).
//!
//! Not HTTP, so not in `petty-http`; it shares the ingest API's JSON body
//! (`petty_http::ingest::MqttIn`) and then calls `App::ingest` like every other transport.

use std::collections::VecDeque;
use std::time::Duration;

use petty_core::ids::DeviceId;
use petty_core::readings::Reading;
use petty_http::AppState;
use petty_http::auth::secret_hash;
use petty_http::ingest::MqttIn;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, Publish, QoS};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// The subscription: one level per device id.
pub(crate) const TOPIC: &str = "petty/v1/devices/+/readings";

/// Messages being committed at once; the broker holds back more until some are acknowledged.
const IN_FLIGHT: usize = 256;

/// Where to connect, from `mqtt://host[:port]`.
pub(crate) fn options(url: &str, client_id: &str) -> Result<MqttOptions, String> {
    let rest = url
        .strip_prefix("mqtt://")
        .or_else(|| url.strip_prefix("tcp://"))
        .ok_or_else(|| format!("{url:?}: the MQTT URL must look like mqtt://host:1883"))?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<u16>().map_err(|_| format!("{url:?}: the port is not a number"))?),
        None => (rest, 1883),
    };
    if host.is_empty() {
        return Err(format!("{url:?}: the MQTT URL has no host"));
    }
    let mut options = MqttOptions::new(client_id, host, port);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_manual_acks(true);
    // A persistent session: QoS 1 messages published while Petty is down wait at the broker.
    options.set_clean_session(false);
    options.set_inflight(IN_FLIGHT as u16);
    options.set_max_packet_size(16 * 1024 * 1024, 64 * 1024);
    Ok(options)
}

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Stored,
    Rejected,
    /// The database did not take it: not acknowledged, so the broker sends it again.
    Failed,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Stored => "stored",
            Outcome::Rejected => "rejected",
            Outcome::Failed => "failed",
        }
    }
}

/// Subscribes and ingests until the process stops. Connection errors are logged and retried
/// every second; they never end the loop.
///
/// Three tasks, so that none waits on another in a circle: one polls the broker connection
/// (reading messages, writing queued acknowledgements), this one starts each message's work in
/// arrival order, and one acknowledges in that order as the work finishes. When Petty falls
/// behind, the polling task waits for room and stops reading, so the broker and the devices
/// slow down (TCP's own back-pressure) and nothing is dropped. The acknowledging task never
/// waits for the connection: an acknowledgement that finds the client's request queue full is
/// kept, in order, and handed over as soon as the queue has room. (Waiting there once stalled
/// the subscriber for good: the acknowledgements waited for a poll that waited for them.)
pub(crate) async fn run(state: AppState, options: MqttOptions) {
    let (client, events) = AsyncClient::new(options, IN_FLIGHT);
    let (received, mut incoming) = mpsc::channel::<Publish>(IN_FLIGHT);
    tokio::spawn(poll(client.clone(), events, received));
    let (pending, acks) = mpsc::channel::<(Publish, JoinHandle<Outcome>)>(IN_FLIGHT);
    tokio::spawn(acknowledge_in_order(client, acks));
    while let Some(publish) = incoming.recv().await {
        let state = state.clone();
        let payload = publish.payload.clone();
        let topic = publish.topic.clone();
        let work = tokio::spawn(async move { handle(&state, &topic, &payload).await });
        if pending.send((publish, work)).await.is_err() {
            return;
        }
    }
}

/// Polls the connection and hands each message on, waiting for room when Petty is behind.
async fn poll(client: AsyncClient, mut events: EventLoop, received: mpsc::Sender<Publish>) {
    loop {
        match next_publish(&client, &mut events).await {
            Some(publish) => {
                if received.send(publish).await.is_err() {
                    return;
                }
            }
            None => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}

/// The next message, (re)subscribing on every new connection; `None` after a connection error.
async fn next_publish(client: &AsyncClient, events: &mut EventLoop) -> Option<Publish> {
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::Publish(publish))) => return Some(publish),
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                tracing::info!(topic = TOPIC, "MQTT connected; subscribing");
                // Queued without waiting: the request is written by the very polling that
                // waiting here would stop.
                if let Err(e) = client.try_subscribe(TOPIC, QoS::AtLeastOnce) {
                    tracing::warn!(error = %e, "MQTT subscribe failed");
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "MQTT connection lost; retrying in 1 s");
                return None;
            }
        }
    }
}

/// PUBACKs go out in arrival order, each once its message is committed (or refused for good).
async fn acknowledge_in_order(client: AsyncClient, mut acks: mpsc::Receiver<(Publish, JoinHandle<Outcome>)>) {
    // Acknowledgements the client's request queue had no room for yet, oldest first. Only
    // QoS 1 messages have one, so the broker's in-flight window bounds this.
    let mut unsent: VecDeque<Publish> = VecDeque::new();
    loop {
        while let Some(publish) = unsent.front() {
            match client.try_ack(publish) {
                Ok(()) => _ = unsent.pop_front(),
                Err(rumqttc::ClientError::TryRequest(_)) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "MQTT acknowledgement failed; the broker will send the message again");
                    unsent.pop_front();
                }
            }
        }
        let next = if unsent.is_empty() {
            acks.recv().await
        } else {
            tokio::select! {
                next = acks.recv() => next,
                () = tokio::time::sleep(Duration::from_millis(2)) => continue,
            }
        };
        let Some((publish, work)) = next else { return };
        let outcome = work.await.unwrap_or(Outcome::Failed);
        metrics::counter!("petty_mqtt_messages_total", "outcome" => outcome.label()).increment(1);
        if outcome == Outcome::Failed {
            // Not acknowledged: the broker redelivers after the next reconnect.
            continue;
        }
        unsent.push_back(publish);
    }
}

fn device_in_topic(topic: &str) -> Option<DeviceId> {
    let id = topic.strip_prefix("petty/v1/devices/")?.strip_suffix("/readings")?;
    Uuid::parse_str(id).ok().map(DeviceId)
}

async fn handle(state: &AppState, topic: &str, payload: &[u8]) -> Outcome {
    let reject = |why: &str| {
        tracing::warn!(topic, why, "MQTT message rejected");
        Outcome::Rejected
    };
    let Some(device_id) = device_in_topic(topic) else { return reject("the topic does not name a device id") };
    let body: MqttIn = match petty_http::extract::parse_json(payload) {
        Ok(body) => body,
        Err(e) => return reject(&e.message),
    };
    let device = match state.store.find_device_token(&secret_hash(&body.token)).await {
        Ok(Some(device)) if device.device_id == device_id => device,
        Ok(_) => return reject("the token is not this device's current token"),
        Err(e) => {
            tracing::error!(error = %e, "MQTT token lookup failed");
            return Outcome::Failed;
        }
    };
    let now = OffsetDateTime::now_utc();
    let raws = match &body.readings {
        Some(batch) => batch.iter().map(|r| r.raw()).collect(),
        None => vec![body.raw()],
    };
    let mut readings = Vec::with_capacity(raws.len());
    for (index, raw) in raws.iter().enumerate() {
        match Reading::parse(raw, now) {
            Ok(reading) => readings.push(reading),
            Err(invalid) => {
                tracing::warn!(topic, index, error = %invalid, "MQTT reading rejected");
                metrics::counter!("petty_mqtt_readings_rejected_total").increment(1);
            }
        }
    }
    if readings.is_empty() {
        return Outcome::Rejected;
    }
    let sender = petty_app::Sender { household_id: device.household_id, device_id: device.device_id };
    match state.app.ingest(sender, readings).await {
        Ok(_) => Outcome::Stored,
        Err(e) => {
            tracing::error!(error = %e, "MQTT readings not stored; the broker will send them again");
            Outcome::Failed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_topics() {
        assert!(options("mqtt://127.0.0.1:1883", "petty").is_ok());
        assert!(options("mqtt://broker", "petty").is_ok());
        assert!(options("http://broker", "petty").is_err());
        assert!(options("mqtt://:1883", "petty").is_err());
        let id = Uuid::now_v7();
        assert_eq!(device_in_topic(&format!("petty/v1/devices/{id}/readings")), Some(DeviceId(id)));
        assert_eq!(device_in_topic("petty/v1/devices/not-an-id/readings"), None);
        assert_eq!(device_in_topic(&format!("petty/v1/devices/{id}/other")), None);
    }
}
