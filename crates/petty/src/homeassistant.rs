//! Home Assistant, through MQTT discovery: with `--mqtt-url`, Petty announces every device to
//! Home Assistant (retained `config` messages under `homeassistant/`, its documented discovery
//! schema) and keeps each device's state topics current, so collars and air monitors appear in
//! Home Assistant without any setup there.
//!
//! - A collar: heart rate, activity, battery and status sensors, and a `device_tracker` whose
//!   attributes are the newest fix (latitude, longitude, accuracy).
//! - An air monitor: carbon monoxide (ppm), temperature, humidity and battery sensors.
//! - Every device: an `alarm` binary sensor (`problem`), on while one of its alarms is open.
//!
//! Every [`MqttSection::discovery_interval_secs`](crate::config::MqttSection) (10 s by default)
//! the devices, their newest readings and the open alarms are read, and only what changed is
//! published: nothing is added to the ingest path. A device deleted in Petty is removed from
//! Home Assistant with an empty retained `config` for each of its entities, including devices
//! deleted while Petty was down (it reads back the retained configs it announced before).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use petty_core::devices::{DeviceKind, device_status};
use petty_core::ids::DeviceId;
use petty_core::readings::Metric;
use petty_store::{Device, Store, StoredReading};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};

/// What a sensor shows: (object id, name, field of the state JSON, unit, device class).
type SensorSpec = (&'static str, &'static str, &'static str, Option<&'static str>, Option<&'static str>);

const COLLAR: &[SensorSpec] = &[
    ("heart_rate", "Heart rate", "heart_rate", Some("bpm"), None),
    ("activity", "Activity", "activity_level", None, None),
    ("battery", "Battery", "battery_pct", Some("%"), Some("battery")),
    ("status", "Status", "status", None, None),
];

const AIR_MONITOR: &[SensorSpec] = &[
    ("co", "Carbon monoxide", "co_ppm", Some("ppm"), Some("carbon_monoxide")),
    ("temperature", "Temperature", "ambient_temp_c", Some("°C"), Some("temperature")),
    ("humidity", "Humidity", "humidity_pct", Some("%"), Some("humidity")),
    ("battery", "Battery", "battery_pct", Some("%"), Some("battery")),
    ("status", "Status", "status", None, None),
];

const OTHER: &[SensorSpec] =
    &[("battery", "Battery", "battery_pct", Some("%"), Some("battery")), ("status", "Status", "status", None, None)];

/// This installation's mark in node ids: two Petty installations on one broker each remove
/// only their own devices. Derived from the signing secret, which every node of a cluster shares.
pub(crate) fn installation(secret: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new().chain_update(b"petty home assistant installation").chain_update(secret).finalize();
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// The device a node id names (the inverse of [`node`]).
fn device_of_node(node: &str) -> Option<DeviceId> {
    let hex = node.rsplit('_').next()?;
    uuid::Uuid::parse_str(hex).ok().map(DeviceId)
}

/// The node id of a device in discovery topics (letters, digits and `_` only).
fn node(installation: &str, id: DeviceId) -> String {
    format!("petty_{installation}_{}", id.to_string().replace('-', ""))
}

pub(crate) fn state_topic(id: DeviceId) -> String {
    format!("petty/v1/devices/{id}/state")
}

fn location_topic(id: DeviceId) -> String {
    format!("petty/v1/devices/{id}/location")
}

fn alarm_topic(id: DeviceId) -> String {
    format!("petty/v1/devices/{id}/alarm")
}

/// The retained discovery messages of `device`: `(topic, config)`, under `prefix`.
pub(crate) fn entities(prefix: &str, installation: &str, device: &Device) -> Vec<(String, Value)> {
    let node = node(installation, device.id);
    let profile = &device.profile;
    let block = json!({
        "identifiers": [node],
        "name": profile.name,
        "manufacturer": "Petty",
        "model": profile.model.clone().unwrap_or_else(|| profile.kind.as_str().replace('_', " ")),
        "sw_version": profile.firmware,
    });
    let topic = |component: &str, object: &str| format!("{prefix}/{component}/{node}/{object}/config");
    let specs = match profile.kind {
        DeviceKind::Collar => COLLAR,
        DeviceKind::AirMonitor => AIR_MONITOR,
        DeviceKind::Other => OTHER,
    };
    let mut out = Vec::with_capacity(specs.len() + 2);
    for (object, name, field, unit, class) in specs {
        let mut config = json!({
            "name": name,
            "unique_id": format!("{node}_{object}"),
            "state_topic": state_topic(device.id),
            "value_template": format!("{{{{ value_json.{field} }}}}"),
            "device": block,
        });
        if let Some(unit) = unit {
            config["unit_of_measurement"] = json!(unit);
            config["state_class"] = json!("measurement");
        }
        if let Some(class) = class {
            config["device_class"] = json!(class);
        }
        out.push((topic("sensor", object), config));
    }
    if profile.kind == DeviceKind::Collar {
        let config = json!({
            "name": "Location",
            "unique_id": format!("{node}_location"),
            "json_attributes_topic": location_topic(device.id),
            "source_type": "gps",
            "device": block,
        });
        out.push((topic("device_tracker", "location"), config));
    }
    let alarm = json!({
        "name": "Alarm",
        "unique_id": format!("{node}_alarm"),
        "state_topic": alarm_topic(device.id),
        "payload_on": "ON",
        "payload_off": "OFF",
        "device_class": "problem",
        "device": block,
    });
    out.push((topic("binary_sensor", "alarm"), alarm));
    out
}

/// The state JSON of `device`: its status and the newest reading's measurements.
pub(crate) fn state(device: &Device, latest: Option<&StoredReading>, now: OffsetDateTime) -> Value {
    let status = device_status(device.last_seen_at, device.profile.expected_interval_secs, now);
    let mut state = json!({"status": status.as_str()});
    if let Some(latest) = latest {
        for metric in Metric::ALL {
            if let Some(value) = latest.reading.value(metric) {
                state[metric.name()] = json!(value);
            }
        }
        if let Ok(ts) = latest.reading.ts.format(&time::format_description::well_known::Rfc3339) {
            state["ts"] = json!(ts);
        }
    }
    if state.get("battery_pct").is_none()
        && let Some(battery) = device.battery_pct
    {
        state["battery_pct"] = json!(battery);
    }
    state
}

/// The tracker's attributes from the newest reading's fix.
fn location(latest: Option<&StoredReading>) -> Option<Value> {
    let fix = latest?.reading.location?;
    let mut out = json!({"latitude": fix.lat, "longitude": fix.lon});
    if let Some(accuracy) = fix.accuracy_m {
        out["gps_accuracy"] = json!(accuracy);
    }
    Some(out)
}

/// What has been published, so only changes go out again.
#[derive(Default)]
struct Published {
    /// Each announced device's config topics.
    announced: HashMap<DeviceId, Vec<String>>,
    /// The last payload of every topic.
    last: HashMap<String, Vec<u8>>,
    /// Config topics of Petty devices found retained at the broker (from before a restart).
    found: HashSet<String>,
}

/// Where and how often to announce.
pub(crate) struct Discovery {
    pub prefix: String,
    pub installation: String,
    pub every: Duration,
}

/// Publishes until the server stops.
pub(crate) async fn run(store: Store, options: MqttOptions, discovery: Discovery, mut stop: watch::Receiver<bool>) {
    let Discovery { prefix, installation, every } = discovery;
    let (client, mut events) = AsyncClient::new(options, 256);
    let (seen, mut retained) = mpsc::unbounded_channel::<String>();
    let subscription = format!("{prefix}/+/+/+/config");
    // The connection: this installation's configs retained at the broker are noted (a device
    // deleted while Petty was down is removed by the next pass).
    let mark = format!("petty_{installation}_");
    tokio::spawn(async move {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    // `{prefix}/{component}/{node}/{object}/config`: the node is third from the end.
                    let ours = p.topic.rsplit('/').nth(2).is_some_and(|n| n.starts_with(&mark));
                    if ours && !p.payload.is_empty() && seen.send(p.topic.clone()).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!("Home Assistant's MQTT connection: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    if let Err(e) = client.subscribe(&subscription, QoS::AtLeastOnce).await {
        tracing::warn!("could not ask for the retained discovery messages: {e}");
    }
    let mut published = Published::default();
    loop {
        while let Ok(topic) = retained.try_recv() {
            published.found.insert(topic);
        }
        if let Err(e) = pass(&store, &client, (&prefix, &installation), &mut published).await {
            tracing::warn!("Home Assistant discovery: {e:#}");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn publish(
    client: &AsyncClient,
    published: &mut Published,
    topic: String,
    payload: Vec<u8>,
) -> anyhow::Result<()> {
    if published.last.get(&topic) == Some(&payload) {
        return Ok(());
    }
    client.publish(topic.clone(), QoS::AtLeastOnce, true, payload.clone()).await?;
    published.last.insert(topic, payload);
    Ok(())
}

/// One look at the devices: announce new ones, update states, remove deleted ones.
async fn pass(
    store: &Store,
    client: &AsyncClient,
    (prefix, installation): (&str, &str),
    published: &mut Published,
) -> anyhow::Result<()> {
    let devices = store.devices_everywhere().await?;
    let alarmed: HashSet<DeviceId> =
        store.active_alarms_everywhere(10_000).await?.iter().filter_map(|a| a.device_id).collect();
    let now = OffsetDateTime::now_utc();
    let mut present = HashSet::new();
    for device in &devices {
        let configs = entities(prefix, installation, device);
        present.extend(configs.iter().map(|(topic, _)| topic.clone()));
        published.announced.insert(device.id, configs.iter().map(|(topic, _)| topic.clone()).collect());
        for (topic, config) in configs {
            publish(client, published, topic, serde_json::to_vec(&config)?).await?;
        }
        let latest = store.latest_reading(device.household_id, device.id).await?;
        let state = state(device, latest.as_ref(), now);
        publish(client, published, state_topic(device.id), serde_json::to_vec(&state)?).await?;
        if let Some(fix) = location(latest.as_ref()) {
            publish(client, published, location_topic(device.id), serde_json::to_vec(&fix)?).await?;
        }
        let on = if alarmed.contains(&device.id) { "ON" } else { "OFF" };
        publish(client, published, alarm_topic(device.id), on.as_bytes().to_vec()).await?;
    }
    // Deleted in Petty (now, or while it was down): an empty retained config removes each
    // entity from Home Assistant, and the state topics are cleared.
    let gone: Vec<DeviceId> =
        published.announced.keys().filter(|id| !devices.iter().any(|d| d.id == **id)).copied().collect();
    let mut removed: Vec<String> = Vec::new();
    for id in gone {
        removed.extend(published.announced.remove(&id).unwrap_or_default());
        removed.extend([state_topic(id), location_topic(id), alarm_topic(id)]);
    }
    // Deleted while Petty was down: its retained configs were read back at start; its state
    // topics go with them.
    let stale: Vec<String> = published.found.drain().filter(|topic| !present.contains(topic)).collect();
    let mut orphans = HashSet::new();
    for topic in &stale {
        if let Some(id) = topic.rsplit('/').nth(2).and_then(device_of_node) {
            orphans.insert(id);
        }
    }
    removed.extend(stale);
    for id in orphans {
        removed.extend([state_topic(id), location_topic(id), alarm_topic(id)]);
    }
    for topic in removed {
        client.publish(topic.clone(), QoS::AtLeastOnce, true, Vec::<u8>::new()).await?;
        published.last.remove(&topic);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_collar_is_announced_as_home_assistant_documents_discovery() {
        let id = DeviceId(uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef));
        let profile = petty_core::devices::DeviceProfile {
            name: "Bella's collar".into(),
            kind: DeviceKind::Collar,
            pet_id: None,
            model: None,
            firmware: Some("2.1".into()),
            expected_interval_secs: 60,
            calibration: Default::default(),
            serial: None,
        };
        let now = OffsetDateTime::now_utc();
        let device = Device {
            id,
            household_id: petty_core::ids::HouseholdId(uuid::Uuid::nil()),
            profile,
            has_token: true,
            token_created_at: None,
            created_at: now,
            updated_at: now,
            last_seen_at: Some(now),
            latest_ts: None,
            battery_pct: Some(80.0),
        };
        let configs = entities("homeassistant", "0a1b2c3d", &device);
        let topics: Vec<&str> = configs.iter().map(|(t, _)| t.as_str()).collect();
        let node = "petty_0a1b2c3d_0123456789abcdef0123456789abcdef";
        assert_eq!(topics.len(), 6, "{topics:?}");
        assert!(topics.contains(&format!("homeassistant/sensor/{node}/heart_rate/config").as_str()));
        assert!(topics.contains(&format!("homeassistant/device_tracker/{node}/location/config").as_str()));
        assert!(topics.contains(&format!("homeassistant/binary_sensor/{node}/alarm/config").as_str()));
        let (_, heart) = &configs[0];
        assert_eq!(heart["value_template"], "{{ value_json.heart_rate }}");
        assert_eq!(heart["unit_of_measurement"], "bpm");
        assert_eq!(heart["device"]["identifiers"][0], node);
        assert_eq!(heart["device"]["name"], "Bella's collar");
        let state = state(&device, None, now);
        assert_eq!(state, json!({"status": "online", "battery_pct": 80.0}));
        assert_eq!(device_of_node(node), Some(id), "a node names its device");
        assert_eq!(installation(b"one secret"), installation(b"one secret"));
        assert_ne!(installation(b"one secret"), installation(b"another"));
    }
}
