//! Alarm use cases: raising and clearing (dated by event time), telling the household live,
//! and starting to tell people; the event rules that other parts raise (geofence exits,
//! anomalies, offline, low battery).
//!
//! The decisions are `petty_core::alarm`'s; uniqueness under concurrency is the store's (one
//! open alarm per source and type); judging readings is the alarm job's (`petty-jobs`).
//!
//! **Who gets paged.** A new alarm is published on the household's live topic at once. It
//! pages people (escalation, webhooks) only when it is live: `quiet` is false. The alarm job
//! raises an alarm quiet when the readings that raised it are older than
//! [`Settings::live_window`](crate::Settings) by event time (a backfill, an import, a device
//! catching up after an outage): a past incident is recorded and shown, and pages nobody. A
//! quiet alarm whose incident turns out to be going on now starts paging then ([`page`]).
//!
//! [`judging`] steps metric rules through a device's readings for the job and for the rule
//! preview alike.

use petty_bus::Topic;
use petty_core::air::{Mq7, WARM_UP_SECS, WarmUp};
use petty_core::alarm::{ConditionKind, Severity};
use petty_core::devices::DeviceKind;
use petty_core::ids::{DeviceId, HouseholdId, PetId};
use petty_core::readings::Metric;
use petty_store::{Alarm, Device, NewAlarm, StoreError, StoredRule};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::App;

pub mod judging;

/// Whether a rule watches this kind of device.
pub fn applies(rule: &StoredRule, kind: DeviceKind) -> bool {
    rule.rule.enabled && rule.rule.watches(kind)
}

/// The value of `metric` in each reading, in time order. CO is the device's ppm, or its raw
/// MQ-7 value through the device's calibration; readings of a sensor still warming up are left
/// out.
pub fn series(device: &Device, metric: Metric, readings: &[petty_store::StoredReading]) -> Vec<(i64, f64)> {
    series_from(device, metric, readings, &mut WarmUp::default())
}

/// [`series`] for readings that follow earlier ones: `warm` is the CO sensor's warm-up after
/// them, and is left after these.
pub fn series_from(
    device: &Device,
    metric: Metric,
    readings: &[petty_store::StoredReading],
    warm: &mut WarmUp,
) -> Vec<(i64, f64)> {
    if metric != Metric::CoPpm {
        return readings.iter().filter_map(|r| Some((r.reading.ts_ms(), r.reading.value(metric)?))).collect();
    }
    let mq7 = Mq7::from_calibration(&device.profile.calibration);
    let warm_up = device.profile.calibration.get("warm_up_secs").map_or(WARM_UP_SECS, |v| v.max(0.0) as i64);
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

/// What kind of alarm a rule raises at its source: the built-in rule's key, or the rule's id.
pub fn alarm_type(stored: &StoredRule) -> String {
    stored.rule.key.clone().unwrap_or_else(|| format!("rule:{}", stored.id))
}

/// Raises (or counts another occurrence of) an alarm and, when it is new, tells the household
/// live and, unless it is quiet, starts telling people. Answers the alarm and whether it is new.
pub async fn raise(app: &App, household_id: HouseholdId, new: &NewAlarm) -> Result<(Alarm, bool), StoreError> {
    let (alarm, fresh) = app.store.raise_alarm(household_id, new).await?;
    if fresh {
        tracing::info!(alarm_id = %alarm.id, severity = %alarm.severity, quiet = alarm.quiet, "{}", alarm.message);
        metrics::counter!("petty_alarms_raised_total", "severity" => alarm.severity.as_str()).increment(1);
        publish(app, &alarm, "raised").await;
        if !alarm.quiet {
            crate::notify::alarm_changed(app, &alarm, "raised").await;
            crate::notify::escalate(app, &alarm, app.now_ms()).await;
        }
    }
    Ok((alarm, fresh))
}

/// Starts paging people about a quiet alarm whose incident is going on now.
pub async fn page(app: &App, alarm: &Alarm) -> Result<(), StoreError> {
    if let Some(alarm) = app.store.page_alarm(alarm.household_id, alarm.id).await? {
        tracing::info!(alarm_id = %alarm.id, "a recorded incident is going on now: paging");
        crate::notify::alarm_changed(app, &alarm, "raised").await;
        crate::notify::escalate(app, &alarm, app.now_ms()).await;
    }
    Ok(())
}

/// Clears the open alarm of this source and type, dated `at_ms` (the event time the condition
/// ended), and tells the household.
pub async fn clear(
    app: &App,
    household_id: HouseholdId,
    source: &str,
    alarm_type: &str,
    reason: &str,
    at_ms: i64,
) -> Result<(), StoreError> {
    if let Some(alarm) = app.store.clear_open_alarm(household_id, source, alarm_type, reason, at_ms).await? {
        publish(app, &alarm, "cleared").await;
        if !alarm.quiet {
            crate::notify::alarm_changed(app, &alarm, "cleared").await;
        }
    }
    Ok(())
}

/// Tells `household:{id}:alarms` what happened to an alarm.
pub async fn publish(app: &App, alarm: &Alarm, event: &str) {
    let message = AlarmEvent { kind: "alarm", event, alarm: AlarmOut::from(alarm) };
    if let Ok(json) = serde_json::to_vec(&message) {
        app.bus.publish(Topic::HouseholdAlarms(alarm.household_id), json.into()).await;
    }
}

/// A live alarm event: `{"type": "alarm", "event": "raised", "alarm": {...}}`.
#[derive(Serialize)]
struct AlarmEvent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    event: &'a str,
    alarm: AlarmOut,
}

/// A reading that raised an alarm.
#[derive(Serialize, ToSchema, Debug, Clone, PartialEq)]
pub struct EvidenceOut {
    /// The reading's event time.
    pub ts: Option<String>,
    pub value: f64,
}

/// An alarm as the API, live events and webhooks show it.
#[derive(Serialize, ToSchema, Debug, Clone, PartialEq)]
pub struct AlarmOut {
    pub id: Uuid,
    /// critical, major, minor, warning or info.
    pub severity: &'static str,
    /// active, acknowledged or cleared.
    pub state: &'static str,
    pub title: String,
    pub message: String,
    /// What it is about: `device:{id}`, `pet:{id}` or `household`.
    pub source: String,
    /// The rule's kind or the event that raised it (co_high, offline, geofence_exit, ...).
    #[serde(rename = "type")]
    pub alarm_type: String,
    pub rule_id: Option<Uuid>,
    pub device_id: Option<Uuid>,
    pub pet_id: Option<Uuid>,
    /// The value that raised it (or the latest while it lasts).
    pub value: Option<f64>,
    /// The readings that raised it.
    pub readings: Vec<EvidenceOut>,
    /// How often the condition came back while it was open.
    pub occurrences: i64,
    /// The event time of the first breaching reading.
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub first_at: OffsetDateTime,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub last_at: OffsetDateTime,
    pub assignee: Option<Uuid>,
    #[serde(serialize_with = "crate::rfc3339::option::serialize")]
    pub acknowledged_at: Option<OffsetDateTime>,
    pub acknowledged_by: Option<String>,
    /// The event time of the recovering reading, or when someone cleared it.
    #[serde(serialize_with = "crate::rfc3339::option::serialize")]
    pub cleared_at: Option<OffsetDateTime>,
    pub cleared_by: Option<String>,
    /// Whether anyone was paged: false for an incident found over by the time its readings
    /// arrived (a backfill), which is recorded and shown but escalates to no one.
    pub paged: bool,
}

impl From<&Alarm> for AlarmOut {
    fn from(a: &Alarm) -> Self {
        let at = crate::rfc3339::from_ms;
        Self {
            id: a.id.0,
            severity: a.severity.as_str(),
            state: a.state.as_str(),
            title: a.title.clone(),
            message: a.message.clone(),
            source: a.source.clone(),
            alarm_type: a.alarm_type.clone(),
            rule_id: a.rule_id.map(|r| r.0),
            device_id: a.device_id.map(|d| d.0),
            pet_id: a.pet_id.map(|p| p.0),
            value: a.value,
            readings: a.evidence.iter().map(|&(ts, value)| EvidenceOut { ts: at(ts), value }).collect(),
            occurrences: a.occurrences,
            first_at: a.first_at,
            last_at: a.last_at,
            assignee: a.assignee.map(|u| u.0),
            acknowledged_at: a.acknowledged_at,
            acknowledged_by: a.acknowledged_by.map(|w| w.to_string()),
            cleared_at: a.cleared_at,
            cleared_by: a.cleared_by.map(|w| w.to_string()),
            paged: !a.quiet,
        }
    }
}

/// The rule of `kind` (an event rule) the household has for this device kind, if enabled.
async fn event_rule(
    app: &App,
    household_id: HouseholdId,
    kind: ConditionKind,
    device_kind: Option<DeviceKind>,
) -> Result<Option<StoredRule>, StoreError> {
    let rules = app.store.alarm_rules(household_id, app.now_ms()).await?;
    Ok(rules
        .into_iter()
        .find(|r| r.rule.kind == kind && r.rule.enabled && device_kind.is_none_or(|k| r.rule.watches(k))))
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
pub async fn raise_event(app: &App, household_id: HouseholdId, e: EventAlarm<'_>) -> Result<(), StoreError> {
    let Some(rule) = event_rule(app, household_id, e.kind, e.device.map(|d| d.1)).await? else {
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
        quiet: e.at_ms < app.now_ms() - app.settings.live_window.as_millis() as i64,
    };
    raise(app, household_id, &new).await.map(|_| ())
}

/// Clears the open alarm an event rule raised, when the opposite event comes (back online,
/// battery charged, back inside the fence).
pub async fn clear_event(
    app: &App,
    household_id: HouseholdId,
    e: EventAlarm<'_>,
    reason: &str,
) -> Result<(), StoreError> {
    let Some(rule) = event_rule(app, household_id, e.kind, e.device.map(|d| d.1)).await? else {
        return Ok(());
    };
    clear(app, household_id, &event_source(&e), &event_type(&rule, &e), reason, e.at_ms).await
}

/// Turns a liveness event (offline, back online, battery low or charged) into alarms.
pub async fn device_event(app: &App, event: &petty_store::DeviceEvent) -> Result<(), StoreError> {
    use petty_core::devices::DeviceEventKind as K;
    let device = match app.store.get_device(event.household_id, event.device_id).await {
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
        raise_event(app, event.household_id, e).await
    } else {
        let detail = event.detail.clone();
        clear_event(app, event.household_id, e, &detail).await
    }
}

/// Acknowledges or clears an alarm as `actor` (a person, a key or a contact), with a note;
/// tells the household and the webhooks. What was still queued for it is cancelled by the
/// store in the same transaction.
pub async fn transition(
    app: &App,
    household_id: HouseholdId,
    id: petty_core::ids::AlarmId,
    to: petty_core::alarm::AlarmState,
    actor: petty_core::alarm::TrailActor,
    note: &str,
) -> Result<Alarm, StoreError> {
    let alarm = app.store.transition_alarm(household_id, id, to, actor, note, app.now_ms()).await?;
    publish(app, &alarm, to.as_str()).await;
    if !alarm.quiet {
        crate::notify::alarm_changed(app, &alarm, to.as_str()).await;
    }
    Ok(alarm)
}

/// Acknowledges the alarm a signed acknowledgement link (or a voice call's keypress) names, as
/// the contact it names, with `how` as the note. `None` when the token is not valid or its
/// alarm is gone; an alarm already acknowledged or cleared is answered as it is (done is done).
pub async fn acknowledge_by_token(app: &App, token: &str, how: &str) -> Result<Option<Alarm>, StoreError> {
    let Some((alarm_id, contact_id)) = app.notifier.verify_ack_token(token) else { return Ok(None) };
    let Ok(household_id) = app.store.alarm_household(alarm_id).await else { return Ok(None) };
    let actor = petty_core::alarm::TrailActor::Contact(contact_id);
    match transition(app, household_id, alarm_id, petty_core::alarm::AlarmState::Acknowledged, actor, how).await {
        Ok(alarm) => Ok(Some(alarm)),
        Err(StoreError::Conflict(_)) => Ok(Some(app.store.get_alarm(household_id, alarm_id).await?)),
        Err(e) => Err(e),
    }
}
