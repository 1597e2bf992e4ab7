//! Running the alarm rules: which devices have new readings, judging each rule over the
//! device's recent readings, raising and clearing alarms, and telling people.
//!
//! Every ingest path marks the device with [`Alarms::touch`] (one short lock). [`run`] judges
//! marked devices within [`HttpConfig::alarm_delay`](crate::HttpConfig) and sweeps every few
//! seconds for silent sensors. Event rules (geofence exits, anomalies, low battery, offline) are
//! raised by the passes that find those events, through [`raise_event`] and [`clear_event`].
//! The decisions are `petty_core::alarm`'s; uniqueness under concurrency is the store's (one
//! open alarm per source and type); telling people is [`crate::notify`]'s.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use petty_core::air::{Mq7, WARM_UP_SECS, WarmUp};
use petty_core::alarm::{ConditionKind, Judgement, Severity, judge_silence, judge_since};
use petty_core::devices::DeviceKind;
use petty_core::ids::{DeviceId, HouseholdId, PetId};
use petty_core::readings::Metric;
use petty_store::{Alarm, Device, NewAlarm, StoreError, StoredRule};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::state::AppState;

/// How often silent sensors are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(10);
/// The most readings one judgement reads.
const WINDOW_LIMIT: u32 = 20_000;

/// Devices with readings the alarm rules have not judged yet.
#[derive(Default)]
pub struct Alarms {
    dirty: Mutex<HashSet<(HouseholdId, DeviceId)>>,
    /// Per device, the newest reading time its last judgement saw (see `judge_since`).
    judged: Mutex<HashMap<DeviceId, i64>>,
    wake: tokio::sync::Notify,
}

impl Alarms {
    /// Marks a device as having new readings.
    pub fn touch(&self, household_id: HouseholdId, device_id: DeviceId) {
        if let Ok(mut dirty) = self.dirty.lock() {
            dirty.insert((household_id, device_id));
        }
        self.wake.notify_one();
    }

    fn take(&self) -> Vec<(HouseholdId, DeviceId)> {
        self.dirty.lock().map(|mut d| d.drain().collect()).unwrap_or_default()
    }

    /// The newest reading time judged for `device` before (the oldest possible after a start).
    fn judged_until(&self, device_id: DeviceId) -> i64 {
        self.judged.lock().ok().and_then(|j| j.get(&device_id).copied()).unwrap_or(i64::MIN)
    }

    fn judged(&self, device_id: DeviceId, latest_ms: i64) {
        if let Ok(mut judged) = self.judged.lock() {
            let at = judged.entry(device_id).or_insert(latest_ms);
            *at = (*at).max(latest_ms);
        }
    }
}

fn now_ms() -> i64 {
    petty_store::to_ms(OffsetDateTime::now_utc())
}

/// Judges touched devices as they come, and sweeps for silence; runs until aborted.
pub async fn run(state: AppState) {
    let mut silence = tokio::time::interval(SWEEP_EVERY);
    loop {
        tokio::select! {
            _ = state.alarms.wake.notified() => {
                if !state.config.alarm_delay.is_zero() {
                    tokio::time::sleep(state.config.alarm_delay).await;
                }
                run_once(&state).await;
            }
            _ = silence.tick() => {
                if let Err(e) = sweep(&state, now_ms()).await {
                    tracing::warn!(error = %e, "alarm silence sweep failed; trying again shortly");
                }
            }
        }
    }
}

/// Judges every touched device once (tests call this instead of waiting for [`run`]).
pub async fn run_once(state: &AppState) {
    for (household_id, device_id) in state.alarms.take() {
        if let Err(e) = judge_device(state, household_id, device_id).await {
            tracing::warn!(error = %e, device_id = %device_id, "judging alarm rules failed");
        }
    }
}

fn applies(rule: &StoredRule, kind: DeviceKind) -> bool {
    rule.rule.enabled && (rule.rule.device_kind == "any" || rule.rule.device_kind == kind.as_str())
}

/// The value of `metric` in each reading, in time order. CO is the device's ppm, or its raw
/// MQ-7 value through the device's calibration; readings of a sensor still warming up are left
/// out.
fn series(device: &Device, metric: Metric, readings: &[petty_store::StoredReading]) -> Vec<(i64, f64)> {
    if metric != Metric::CoPpm {
        return readings.iter().filter_map(|r| Some((r.reading.ts_ms(), r.reading.value(metric)?))).collect();
    }
    let mq7 = Mq7::from_calibration(&device.profile.calibration);
    let warm_up = device.profile.calibration.get("warm_up_secs").map_or(WARM_UP_SECS, |v| v.max(0.0) as i64);
    let mut warm = WarmUp::default();
    readings
        .iter()
        .filter_map(|r| {
            let ts = r.reading.ts_ms();
            let ppm = co_ppm(&mq7, &r.reading)?;
            warm.reading(ts, warm_up).then_some((ts, ppm))
        })
        .collect()
}

/// CO in ppm: the device's own figure, or its raw MQ-7 value through the curve.
pub fn co_ppm(mq7: &Mq7, reading: &petty_core::readings::Reading) -> Option<f64> {
    reading.value(Metric::CoPpm).or_else(|| reading.value(Metric::CoRaw).and_then(|raw| mq7.ppm(raw)))
}

async fn judge_device(state: &AppState, household_id: HouseholdId, device_id: DeviceId) -> Result<(), StoreError> {
    let device = match state.store.get_device(household_id, device_id).await {
        Ok(d) => d,
        Err(StoreError::NotFound) => return Ok(()),
        Err(e) => return Err(e),
    };
    let now = now_ms();
    let rules: Vec<StoredRule> = state
        .store
        .alarm_rules(household_id, now)
        .await?
        .into_iter()
        .filter(|r| applies(r, device.profile.kind) && r.rule.kind.reads_metric())
        .collect();
    let Some(window) = rules.iter().map(|r| r.rule.window_secs()).max() else { return Ok(()) };
    // The window ends at the newest reading, so a backfill is judged by its own times.
    let Some(latest) = device.latest_ts.map(petty_store::to_ms) else { return Ok(()) };
    let from = petty_store::from_ms(latest - window * 1000 - WARM_UP_SECS * 1000)?;
    let to = petty_store::from_ms(latest + 1)?;
    let readings = state.store.newest_readings(household_id, device_id, from, to, WINDOW_LIMIT).await?;
    let since = state.alarms.judged_until(device_id);
    let mut by_metric: HashMap<Metric, Vec<(i64, f64)>> = HashMap::new();
    for stored in &rules {
        let Some(metric) = stored.rule.metric.or((stored.rule.kind == ConditionKind::CoDose).then_some(Metric::CoPpm))
        else {
            continue;
        };
        let values = by_metric.entry(metric).or_insert_with(|| series(&device, metric, &readings));
        let start = latest - stored.rule.window_secs() * 1000;
        let from_idx = values.partition_point(|(t, _)| *t < start);
        for judgement in judge_since(&stored.rule, &values[from_idx..], since) {
            apply(state, &device, stored, judgement, latest).await?;
        }
    }
    state.alarms.judged(device_id, latest);
    Ok(())
}

/// Raises or clears the rule's alarm on `device` as the judgement says.
async fn apply(
    state: &AppState,
    device: &Device,
    stored: &StoredRule,
    judgement: Judgement,
    at_ms: i64,
) -> Result<(), StoreError> {
    let source = format!("device:{}", device.id);
    let alarm_type = alarm_type(stored);
    match judgement {
        Judgement::Raise { value, readings, message } => {
            let new = NewAlarm {
                rule_id: Some(stored.id),
                source,
                alarm_type,
                device_id: Some(device.id),
                pet_id: device.profile.pet_id,
                severity: stored.rule.severity,
                title: format!("{}: {}", stored.rule.name, device.profile.name),
                message: format!("{} on {} ({})", message, device.profile.name, stored.rule.describe()),
                value: Some(value),
                evidence: readings,
                at_ms,
            };
            raise(state, device.household_id, &new).await?;
        }
        Judgement::Clear { .. } => {
            let reason = format!("back to normal: {}", stored.rule.describe());
            clear(state, device.household_id, &source, &alarm_type, &reason).await?;
        }
        Judgement::Hold => {}
    }
    Ok(())
}

fn alarm_type(stored: &StoredRule) -> String {
    stored.rule.key.clone().unwrap_or_else(|| format!("rule:{}", stored.id))
}

/// Raises (or counts another occurrence of) an alarm, tells the household live, and starts
/// telling people when it is new.
pub async fn raise(state: &AppState, household_id: HouseholdId, new: &NewAlarm) -> Result<Alarm, StoreError> {
    let (alarm, fresh) = state.store.raise_alarm(household_id, new).await?;
    if fresh {
        tracing::info!(alarm_id = %alarm.id, severity = %alarm.severity, "{}", alarm.message);
        metrics::counter!("petty_alarms_raised_total", "severity" => alarm.severity.as_str()).increment(1);
        publish(state, &alarm, "raised").await;
        crate::notify::alarm_changed(state, &alarm, "raised").await;
        crate::notify::escalate(state, &alarm, now_ms()).await;
    }
    Ok(alarm)
}

async fn clear(
    state: &AppState,
    household_id: HouseholdId,
    source: &str,
    alarm_type: &str,
    reason: &str,
) -> Result<(), StoreError> {
    if let Some(alarm) = state.store.clear_open_alarm(household_id, source, alarm_type, reason, now_ms()).await? {
        publish(state, &alarm, "cleared").await;
        crate::notify::alarm_changed(state, &alarm, "cleared").await;
    }
    Ok(())
}

/// Tells `household:{id}:alarms` what happened to an alarm.
pub async fn publish(state: &AppState, alarm: &Alarm, event: &str) {
    let message = json!({"type": "alarm", "event": event, "alarm": alarm_json(alarm)}).to_string();
    state.bus.publish(&format!("household:{}:alarms", alarm.household_id), message.into()).await;
}

fn rfc3339(ms: i64) -> Value {
    crate::rfc3339::from_ms(ms).map_or(Value::Null, Value::String)
}

/// An alarm as the API and live events show it.
pub fn alarm_json(a: &Alarm) -> Value {
    let evidence: Vec<Value> = a.evidence.iter().map(|(ts, v)| json!({"ts": rfc3339(*ts), "value": v})).collect();
    json!({
        "id": a.id,
        "severity": a.severity.as_str(),
        "state": a.state.as_str(),
        "title": a.title,
        "message": a.message,
        "source": a.source,
        "type": a.alarm_type,
        "rule_id": a.rule_id,
        "device_id": a.device_id.map(|d| d.0),
        "pet_id": a.pet_id.map(|p| p.0),
        "value": a.value,
        "readings": evidence,
        "occurrences": a.occurrences,
        "first_at": rfc3339(a.first_at_ms),
        "last_at": rfc3339(a.last_at_ms),
        "assignee": a.assignee.map(|u| u.0),
        "acknowledged_at": a.acknowledged_at_ms.map(rfc3339),
        "acknowledged_by": a.acknowledged_by,
        "cleared_at": a.cleared_at_ms.map(rfc3339),
        "cleared_by": a.cleared_by,
    })
}

/// Silence rules as of `now`: raises for every device whose rule says "no data for N" and that
/// has been quiet that long, clears for those heard from again (`run` calls it every 10 s).
pub async fn sweep(state: &AppState, now: i64) -> Result<(), StoreError> {
    let devices = state.store.devices_everywhere().await?;
    let mut rules_of: HashMap<HouseholdId, Vec<StoredRule>> = HashMap::new();
    for device in devices {
        if let std::collections::hash_map::Entry::Vacant(slot) = rules_of.entry(device.household_id) {
            slot.insert(state.store.alarm_rules(device.household_id, now).await?);
        }
        let Some(rules) = rules_of.get(&device.household_id) else { continue };
        for stored in rules.iter().filter(|r| applies(r, device.profile.kind) && r.rule.kind == ConditionKind::Absence)
        {
            let last = device.last_seen_at.map(petty_store::to_ms);
            let judgement = judge_silence(&stored.rule, last, now);
            apply(state, &device, stored, judgement, now).await?;
        }
    }
    Ok(())
}

/// The rule of `kind` (an event rule) the household has for this device kind, if enabled.
async fn event_rule(
    state: &AppState,
    household_id: HouseholdId,
    kind: ConditionKind,
    device_kind: Option<DeviceKind>,
) -> Result<Option<StoredRule>, StoreError> {
    let rules = state.store.alarm_rules(household_id, now_ms()).await?;
    Ok(rules.into_iter().find(|r| {
        r.rule.kind == kind
            && r.rule.enabled
            && device_kind.is_none_or(|k| r.rule.device_kind == "any" || r.rule.device_kind == k.as_str())
    }))
}

/// What an event rule raises an alarm about.
pub struct EventAlarm<'a> {
    pub kind: ConditionKind,
    pub device: Option<(DeviceId, DeviceKind)>,
    pub pet_id: Option<PetId>,
    /// Distinguishes alarms of the same kind at one source (a fence's id, an anomaly's kind).
    pub subtype: Option<&'a str>,
    pub title: String,
    pub message: String,
    pub value: Option<f64>,
    /// When the rule says nothing else, the severity the event itself carries.
    pub severity: Option<Severity>,
    pub at_ms: i64,
}

fn event_source(e: &EventAlarm<'_>) -> String {
    match (e.device, e.pet_id) {
        (_, Some(pet)) if e.kind == ConditionKind::Anomaly => format!("pet:{pet}"),
        (Some((device, _)), _) => format!("device:{device}"),
        (None, Some(pet)) => format!("pet:{pet}"),
        (None, None) => "household".to_owned(),
    }
}

fn event_type(rule: &StoredRule, e: &EventAlarm<'_>) -> String {
    let base = alarm_type(rule);
    match e.subtype {
        Some(sub) => format!("{base}:{sub}"),
        None => base,
    }
}

/// Raises the household's event rule of this kind, when it has one enabled.
pub async fn raise_event(state: &AppState, household_id: HouseholdId, e: EventAlarm<'_>) -> Result<(), StoreError> {
    let Some(rule) = event_rule(state, household_id, e.kind, e.device.map(|d| d.1)).await? else {
        return Ok(());
    };
    let severity = match (rule.rule.key.as_deref(), e.severity) {
        // The built-in anomaly rule follows the anomaly's own severity.
        (Some("anomaly"), Some(s)) => s,
        _ => rule.rule.severity,
    };
    let new = NewAlarm {
        rule_id: Some(rule.id),
        source: event_source(&e),
        alarm_type: event_type(&rule, &e),
        device_id: e.device.map(|d| d.0),
        pet_id: e.pet_id,
        severity,
        title: e.title.clone(),
        message: e.message.clone(),
        value: e.value,
        evidence: e.value.map(|v| vec![(e.at_ms, v)]).unwrap_or_default(),
        at_ms: e.at_ms,
    };
    raise(state, household_id, &new).await.map(|_| ())
}

/// Clears the open alarm an event rule raised, when the opposite event comes (back online,
/// battery charged, back inside the fence).
pub async fn clear_event(
    state: &AppState,
    household_id: HouseholdId,
    e: EventAlarm<'_>,
    reason: &str,
) -> Result<(), StoreError> {
    let Some(rule) = event_rule(state, household_id, e.kind, e.device.map(|d| d.1)).await? else {
        return Ok(());
    };
    clear(state, household_id, &event_source(&e), &event_type(&rule, &e), reason).await
}

/// Turns a liveness event (offline, back online, battery low or charged) into alarms.
pub async fn device_event(state: &AppState, event: &petty_store::DeviceEvent) -> Result<(), StoreError> {
    use petty_core::devices::DeviceEventKind as K;
    let device = match state.store.get_device(event.household_id, event.device_id).await {
        Ok(d) => d,
        Err(StoreError::NotFound) => return Ok(()),
        Err(e) => return Err(e),
    };
    let (kind, raising) = match event.kind {
        K::Offline => (ConditionKind::Offline, true),
        K::BackOnline => (ConditionKind::Offline, false),
        K::BatteryLow => (ConditionKind::Battery, true),
        K::BatteryOk => (ConditionKind::Battery, false),
        K::Stale => return Ok(()),
    };
    let e = EventAlarm {
        kind,
        device: Some((device.id, device.profile.kind)),
        pet_id: device.profile.pet_id,
        subtype: None,
        title: format!(
            "{}: {}",
            if kind == ConditionKind::Offline { "Device offline" } else { "Battery low" },
            device.profile.name
        ),
        message: event.detail.clone(),
        value: if kind == ConditionKind::Battery { device.battery_pct } else { None },
        severity: None,
        at_ms: petty_store::to_ms(event.at),
    };
    if raising {
        raise_event(state, event.household_id, e).await
    } else {
        let detail = event.detail.clone();
        clear_event(state, event.household_id, e, &detail).await
    }
}
