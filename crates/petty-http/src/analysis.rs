//! Running the behaviour analysis: which pets need it, reading their day, and keeping what it
//! finds (episodes, the day's summary and wellness score, anomalies), then telling live
//! subscribers on `pet:{id}`.
//!
//! Ingest (HTTP, MQTT, the compatibility route) marks the device's readings as new with
//! [`Analysis::touch`], which costs one short lock. [`run`] waits for marks, lets readings that
//! arrive during [`HttpConfig::analysis_delay`](crate::HttpConfig) join them, then analyses each
//! touched (pet, UTC day) once. All decisions are `petty_core`'s; this module only moves data.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use petty_core::anomalies::{self, DeviceState};
use petty_core::baselines::{self, DaySummary};
use petty_core::behaviour::calibrate::{Calibration, Feedback, Verdict};
use petty_core::behaviour::features::{FEATURE_COUNT, sample_from_reading};
use petty_core::behaviour::forest::Forest;
use petty_core::behaviour::{Episode, Sample, segment};
use petty_core::devices::DeviceKind;
use petty_core::ids::{DeviceId, HouseholdId, PetId};
use petty_core::readings::Reading;
use petty_core::{nutrition, plan, wellness};
use petty_store::{EpisodeFeedback, FeedbackVerdict, Store, StoreError};
use serde_json::json;
use time::{Date, OffsetDateTime, UtcOffset};

use crate::state::AppState;
use crate::summary_json;

const DAY_MS: i64 = 86_400_000;
/// Late readings older than this do not re-open a day's analysis.
const MAX_LOOKBACK_DAYS: i64 = 7;
/// The most feedback items that shape one pet's calibration (the newest).
const FEEDBACK_LIMIT: u32 = 2000;
/// A day read in pages of this many readings.
const PAGE: u32 = 10_000;

/// Devices with new readings, and the span of event times that arrived; and the model in use.
#[derive(Default)]
pub struct Analysis {
    dirty: Mutex<HashMap<(HouseholdId, DeviceId), (i64, i64)>>,
    wake: tokio::sync::Notify,
    /// A trained model from the store; `None` uses the one built into the binary.
    model: RwLock<Option<Arc<Forest>>>,
}

impl Analysis {
    /// The model the analysis labels with.
    pub fn model(&self) -> ModelRef {
        match self.model.read().ok().and_then(|m| m.clone()) {
            Some(m) => ModelRef::Stored(m),
            None => ModelRef::Builtin,
        }
    }

    /// Uses `model` from now on.
    pub fn set_model(&self, model: Forest) {
        if let Ok(mut slot) = self.model.write() {
            *slot = Some(Arc::new(model));
        }
    }

    /// Marks readings of a device at these times as new.
    pub fn touch(&self, household_id: HouseholdId, device_id: DeviceId, times: &[OffsetDateTime]) {
        let Some(lo) = times.iter().min() else { return };
        let Some(hi) = times.iter().max() else { return };
        self.touch_span(household_id, device_id, petty_store::to_ms(*lo), petty_store::to_ms(*hi));
    }

    /// Marks these readings of a device as new (call before handing them to the store).
    pub fn touch_readings(&self, household_id: HouseholdId, device_id: DeviceId, readings: &[Reading]) {
        let mut span: Option<(i64, i64)> = None;
        for r in readings {
            let t = r.ts_ms();
            span = Some(span.map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))));
        }
        if let Some((lo, hi)) = span {
            self.touch_span(household_id, device_id, lo, hi);
        }
    }

    fn touch_span(&self, household_id: HouseholdId, device_id: DeviceId, lo: i64, hi: i64) {
        if let Ok(mut dirty) = self.dirty.lock() {
            let span = dirty.entry((household_id, device_id)).or_insert((lo, hi));
            span.0 = span.0.min(lo);
            span.1 = span.1.max(hi);
        }
        self.wake.notify_one();
    }

    fn take(&self) -> Vec<((HouseholdId, DeviceId), (i64, i64))> {
        self.dirty.lock().map(|mut d| d.drain().collect()).unwrap_or_default()
    }
}

/// The model in use: the built-in one, or a trained one from the store.
pub enum ModelRef {
    Builtin,
    Stored(Arc<Forest>),
}

impl std::ops::Deref for ModelRef {
    type Target = Forest;

    fn deref(&self) -> &Forest {
        match self {
            ModelRef::Builtin => Forest::builtin(),
            ModelRef::Stored(m) => m,
        }
    }
}

/// Uses the store's active trained model, if there is one and it reads; answers its version.
pub async fn load_model(state: &AppState) -> Result<String, StoreError> {
    if let Some((version, text)) = state.store.active_behaviour_model().await? {
        match Forest::from_text(&text) {
            Ok(model) if model.version() == version => {
                state.analysis.set_model(model);
                return Ok(version);
            }
            Ok(model) => tracing::error!(stored = %version, read = %model.version(),
                "the stored behaviour model's text does not match its version; using the built-in model"),
            Err(e) => tracing::error!(error = %e, %version,
                "the stored behaviour model cannot be read; using the built-in model"),
        }
    }
    Ok(Forest::builtin().version().to_owned())
}

/// Analyses touched pets until the task is dropped.
pub async fn run(state: AppState) {
    loop {
        state.analysis.wake.notified().await;
        tokio::time::sleep(state.config.analysis_delay).await;
        if let Err(e) = run_once(&state).await {
            tracing::warn!(error = %e, "behaviour analysis pass failed; the next reading retries it");
        }
    }
}

/// One pass over everything touched so far; answers how many pet-days were analysed.
pub async fn run_once(state: &AppState) -> Result<usize, StoreError> {
    let now = OffsetDateTime::now_utc();
    let today = now.date();
    let mut days: BTreeSet<(HouseholdId, PetId, Date)> = BTreeSet::new();
    for ((household_id, device_id), (lo, hi)) in state.analysis.take() {
        let device = match state.store.get_device(household_id, device_id).await {
            Ok(d) => d,
            Err(StoreError::NotFound) => continue,
            Err(e) => return Err(e),
        };
        if device.profile.kind == DeviceKind::Collar {
            crate::geofencing::evaluate(state, &device, lo, hi).await?;
        }
        let (DeviceKind::Collar, Some(pet_id)) = (device.profile.kind, device.profile.pet_id) else { continue };
        let first = (petty_store::to_ms(now) - MAX_LOOKBACK_DAYS * DAY_MS).max(lo);
        let mut day_ms = first.div_euclid(DAY_MS) * DAY_MS;
        while day_ms <= hi {
            if let Some(day) = petty_store::from_ms(day_ms).ok().map(|t| t.date()).filter(|d| *d <= today) {
                days.insert((household_id, pet_id, day));
            }
            day_ms += DAY_MS;
        }
    }
    let n = days.len();
    for (household_id, pet_id, day) in days {
        match analyse_day(state, household_id, pet_id, day, now).await {
            Ok(_) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The pet's collars' samples with `from_ms <= ts < to_ms`, in time order.
pub async fn samples(
    store: &Store,
    household_id: HouseholdId,
    pet_id: PetId,
    from_ms: i64,
    to_ms: i64,
) -> Result<(Vec<Sample>, Vec<petty_store::Device>), StoreError> {
    let collars: Vec<_> = store
        .pet_devices(household_id, pet_id)
        .await?
        .into_iter()
        .filter(|d| d.profile.kind == DeviceKind::Collar)
        .collect();
    let (from, to) = (petty_store::from_ms(from_ms)?, petty_store::from_ms(to_ms)?);
    let mut samples = Vec::new();
    for collar in &collars {
        let mut after = None;
        loop {
            let (page, next) = store.readings(household_id, collar.id, from, to, after, PAGE).await?;
            samples.extend(page.iter().map(|r| sample_from_reading(&r.reading)));
            match next {
                Some(cursor) => after = Some(cursor),
                None => break,
            }
        }
    }
    if collars.len() > 1 {
        samples.sort_by_key(|s| s.ts_ms);
    }
    Ok((samples, collars))
}

/// Feedback as the calibration reads it (items without features cannot teach and are left out).
pub fn calibration_feedback(items: &[EpisodeFeedback]) -> Vec<Feedback> {
    items
        .iter()
        .filter_map(|f| {
            let values = f.features.as_ref()?;
            let features: [f64; FEATURE_COUNT] = values.as_slice().try_into().ok()?;
            let verdict = match (f.verdict, f.label) {
                (FeedbackVerdict::Confirmed, _) => Verdict::Confirmed,
                (FeedbackVerdict::Relabelled, Some(label)) => Verdict::Relabelled(label),
                _ => Verdict::Wrong,
            };
            let epochs = ((f.end_ms - f.start_ms) / petty_core::behaviour::features::EPOCH_MS).max(1) as usize;
            Some(Feedback { label: f.said, verdict, features, epochs })
        })
        .collect()
}

/// What one day's analysis found.
pub struct DayOutcome {
    pub episodes: Vec<Episode>,
    pub summary: DaySummary,
    pub wellness: Option<wellness::Wellness>,
    pub new_anomalies: usize,
}

/// Analyses one pet's UTC day and keeps the result.
pub async fn analyse_day(
    state: &AppState,
    household_id: HouseholdId,
    pet_id: PetId,
    day: Date,
    now: OffsetDateTime,
) -> Result<DayOutcome, StoreError> {
    let store = &state.store;
    let pet = store.get_pet(household_id, pet_id).await?;
    let d0 = petty_store::to_ms(day.midnight().assume_utc());
    let d1 = d0 + DAY_MS;
    // The day's summary also reads the night before it; episodes are kept for the day only.
    let (w0, _) = baselines::input_window(day, UtcOffset::UTC);
    let (samples, collars) = samples(store, household_id, pet_id, w0.min(d0), d1).await?;
    let Some(collar) = collars.first() else {
        return Err(StoreError::NotFound);
    };
    let feedback = calibration_feedback(&store.episode_feedback(household_id, pet_id, FEEDBACK_LIMIT).await?);
    let calibration = (!feedback.is_empty()).then(|| Calibration::from_feedback(&feedback));
    let model = state.analysis.model();
    let all = segment::analyse(&samples, &model, calibration.as_ref());
    let episodes: Vec<Episode> = all.iter().filter(|e| e.start_ms >= d0 && e.start_ms < d1).cloned().collect();
    store.replace_episodes(household_id, pet_id, collar.id, d0, d1, &episodes).await?;

    let summary = baselines::summarise_day(day, UtcOffset::UTC, &samples, &all);
    let history: Vec<DaySummary> = store
        .pet_days(household_id, pet_id, day - time::Duration::days(31), day - time::Duration::days(1))
        .await?
        .iter()
        .filter_map(|d| summary_json::from_json(d.day, &d.summary))
        .collect();
    let b7 = baselines::baseline(&history, 7, day);
    let b30 = baselines::baseline(&history, 30, day);
    let device_state = DeviceState {
        battery_pct: if day == now.date() { collar.battery_pct } else { None },
        last_seen_ms: if day == now.date() { collar.latest_ts.map(petty_store::to_ms) } else { None },
        expected_interval_ms: i64::from(collar.profile.expected_interval_secs) * 1000,
        now_ms: if day == now.date() { petty_store::to_ms(now) } else { d1 - 1 },
    };
    let found = anomalies::detect(&pet.profile.name, &summary, &b7, &b30, &device_state);
    let wellness = (summary.minutes_covered > 0.0).then(|| wellness::score(&pet.profile, day, &summary, &b7, None));
    store
        .put_pet_day(
            household_id,
            pet_id,
            day,
            &summary_json::to_json(&summary),
            wellness.as_ref().map(|w| i64::from(w.score)),
            now,
        )
        .await?;
    let mut new_anomalies = 0;
    let topic = format!("pet:{pet_id}");
    for a in &found {
        let new = petty_store::NewAnomaly {
            kind: a.kind.as_str().to_owned(),
            severity: a.severity.as_str().to_owned(),
            at_ms: a.at_ms,
            explanation: a.explanation.clone(),
            value: a.value,
            baseline: a.baseline,
        };
        let (stored, fresh) = store.record_anomaly(household_id, pet_id, day, &new, now).await?;
        if fresh {
            new_anomalies += 1;
            let message = json!({"type": "anomaly", "pet_id": pet_id.to_string(),
                "item": crate::api::timeline::TimelineItem::from_anomaly(&stored)});
            state.bus.publish(&topic, message.to_string().into()).await;
            state.bus.publish(&format!("household:{household_id}:alarms"), message.to_string().into()).await;
            let subtype = format!("{}:{}", stored.kind, stored.day);
            let alarm = crate::alarms::EventAlarm {
                kind: petty_core::alarm::ConditionKind::Anomaly,
                device: None,
                pet_id: Some(pet_id),
                subtype: Some(&subtype),
                title: format!("Unusual day: {}", stored.kind.replace('_', " ")),
                message: stored.explanation.clone(),
                value: Some(stored.value),
                severity: stored.severity.parse().ok(),
                at_ms: stored.at_ms,
            };
            if let Err(e) = crate::alarms::raise_event(state, household_id, alarm).await {
                tracing::warn!(error = %e, "raising an anomaly's alarm failed");
            }
        }
    }
    if state.bus.has_listeners(&topic) {
        let stored = store.episodes(household_id, pet_id, d0, d1).await?;
        let items: Vec<_> = stored.iter().map(crate::api::timeline::TimelineItem::from_episode).collect();
        let message = json!({"type": "episodes", "pet_id": pet_id.to_string(), "day": petty_core::pets::format_date(day),
            "items": items, "wellness": wellness.as_ref().map(|w| w.score)});
        state.bus.publish(&topic, message.to_string().into()).await;
    }
    Ok(DayOutcome { episodes, summary, wellness, new_anomalies })
}

/// The pet's plan from its profile, its latest days and its open anomalies.
pub async fn plan_for(
    state: &AppState,
    household_id: HouseholdId,
    pet_id: PetId,
    now: OffsetDateTime,
) -> Result<plan::Plan, StoreError> {
    let store = &state.store;
    let pet = store.get_pet(household_id, pet_id).await?;
    let today = now.date();
    let days = store.pet_days(household_id, pet_id, today - time::Duration::days(31), today).await?;
    let history: Vec<DaySummary> = days.iter().filter_map(|d| summary_json::from_json(d.day, &d.summary)).collect();
    let latest = history.iter().rev().find(|d| d.minutes_covered > 0.0);
    let b7 = baselines::baseline(&history, 7, today + time::Duration::days(1));
    let since = petty_store::to_ms(now) - 7 * DAY_MS;
    let stored = store.anomalies(household_id, pet_id, since, petty_store::to_ms(now) + DAY_MS).await?;
    let found: Vec<anomalies::Anomaly> = stored.iter().filter_map(summary_json::anomaly_from_stored).collect();
    let active: Vec<f64> =
        history.iter().rev().take(7).filter(|d| d.minutes_covered > 0.0).map(|d| d.active_minutes).collect();
    let inputs = nutrition::NutritionInputs {
        active_minutes_7d: (!active.is_empty()).then(|| active.iter().sum::<f64>() / active.len() as f64),
        // Petty keeps one weight per pet until care records (weigh-ins) arrive.
        ..Default::default()
    };
    let nutrition = nutrition::plan(&pet.profile, today, &inputs);
    Ok(plan::plan(&pet.profile, today, latest, &b7, &found, nutrition))
}
