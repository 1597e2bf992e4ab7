//! The behaviour analysis job: for devices with readings not yet analysed (noted by ingest,
//! claimed with a lease), steps a collar's new positions through its household's fences, then
//! analyses each touched (pet, local day) once, in the household's time zone (a day is 23 or 25
//! hours when the clocks change): episodes, the day's summary and wellness score,
//! anomalies; keeps them and tells live subscribers on `pet:{id}`. All decisions are
//! `petty_core`'s; this module only moves data. Analysing a day again gives the same result,
//! so work done twice (after a crash) is harmless. An episode that runs across midnight is kept
//! whole: the next day's analysis, which sees how it ended, stores it again from its start.

use petty_bus::Topic;
use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use petty_app::analysis::{calibration_feedback, sample_columns};
use petty_app::timeline::TimelineItem;
use petty_app::{App, summary_json};
use petty_core::anomalies::{self, DeviceState};
use petty_core::baselines::{self, DaySummary};
use petty_core::behaviour::calibrate::Calibration;
use petty_core::behaviour::{Episode, segment};
use petty_core::devices::DeviceKind;
use petty_core::ids::{DeviceId, HouseholdId, PetId};
use petty_core::recurrence::Zone;
use petty_core::wellness;
use petty_store::{Geofence, StoreError, WorkClaim, WorkKind};
use serde_json::json;
use time::{Date, OffsetDateTime};

const DAY_MS: i64 = 86_400_000;
/// Late readings older than this do not re-open a day's analysis.
const MAX_LOOKBACK_DAYS: i64 = 7;
/// The most feedback items that shape one pet's calibration (the newest).
const FEEDBACK_LIMIT: u32 = 2000;
/// How long a claim on a device is held before another run may take it.
const LEASE_MS: i64 = 5 * 60_000;
/// Devices claimed at once.
const BATCH: u32 = 64;

/// Analyses the pets whose collars sent readings.
pub struct Analyse;

impl crate::Job for Analyse {
    fn name(&self) -> &'static str {
        "analysis"
    }

    fn every(&self, _app: &App) -> Duration {
        Duration::from_secs(5)
    }

    fn delay(&self, app: &App) -> Duration {
        app.settings.analysis_delay
    }

    fn wake<'a>(&self, app: &'a App) -> Option<&'a tokio::sync::Notify> {
        Some(&app.wake.analysis)
    }

    async fn run_once(&self, app: &App, now: OffsetDateTime) -> Result<usize, StoreError> {
        run_once(app, now).await
    }
}

/// One pass over the work noted so far; answers how many pet-days were analysed.
pub async fn run_once(app: &App, now: OffsetDateTime) -> Result<usize, StoreError> {
    let mut analysed = 0;
    // Each household's time zone and fences, read once a pass.
    let mut zones: HashMap<HouseholdId, Zone> = HashMap::new();
    let mut fences_of: HashMap<HouseholdId, Vec<Geofence>> = HashMap::new();
    // A pass takes the work there is when it starts. Under steady ingest every device it has
    // finished has new work again at once; taking that too, the pass would never end, and the
    // analysis delay (readings gathered for one analysis of a day) would mean nothing.
    let mut seen: HashSet<DeviceId> = HashSet::new();
    loop {
        let claims = app.store.claim_work(WorkKind::Analysis, petty_store::to_ms(now), LEASE_MS, BATCH).await?;
        if claims.is_empty() {
            return Ok(analysed);
        }
        if claims.iter().any(|c| seen.contains(&c.device_id)) {
            app.store.release_work(WorkKind::Analysis, &claims).await?;
            return Ok(analysed);
        }
        seen.extend(claims.iter().map(|c| c.device_id));
        let last = claims.len() < BATCH as usize;
        let worked = analyse_batch(app, &claims, (&mut zones, &mut fences_of), now).await;
        match worked {
            Ok(n) => analysed += n,
            Err(e) => {
                // The batch is given back at once, not left to wait out its leases; analysing
                // a day again is harmless.
                tracing::warn!(error = %e, "analysing a batch failed");
                app.store.release_work(WorkKind::Analysis, &claims).await?;
                return Err(e);
            }
        }
        app.store.finish_work(WorkKind::Analysis, &claims).await?;
        if last {
            return Ok(analysed);
        }
    }
}

/// Steps each claimed collar's new positions through its household's fences, then analyses
/// every (pet, local day) the claims' readings fall on, once; answers how many pet-days were
/// analysed. The two maps hold each household's time zone and fences for the pass.
async fn analyse_batch(
    app: &App,
    claims: &[WorkClaim],
    (zones, fences_of): (&mut HashMap<HouseholdId, Zone>, &mut HashMap<HouseholdId, Vec<Geofence>>),
    now: OffsetDateTime,
) -> Result<usize, StoreError> {
    let mut days: BTreeSet<(HouseholdId, PetId, Date)> = BTreeSet::new();
    for claim in claims {
        let (lo, hi) = (claim.from_ms, claim.to_ms);
        let device = match app.store.get_device(claim.household_id, claim.device_id).await {
            Ok(d) => d,
            Err(StoreError::NotFound) => continue,
            Err(e) => return Err(e),
        };
        if device.profile.kind == DeviceKind::Collar {
            let fences = match fences_of.entry(claim.household_id) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => e.insert(app.store.list_geofences(claim.household_id).await?),
            };
            crate::geofences::evaluate(app, &device, fences, lo, hi).await?;
        }
        let (DeviceKind::Collar, Some(pet_id)) = (device.profile.kind, device.profile.pet_id) else { continue };
        let zone = match zones.entry(claim.household_id) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(app.store.household_zone(claim.household_id).await?),
        };
        // The household's local dates the readings fall on, up to its today.
        let first = (petty_store::to_ms(now) - MAX_LOOKBACK_DAYS * DAY_MS).max(lo);
        let (Ok(first), Ok(last)) = (petty_store::from_ms(first), petty_store::from_ms(hi)) else { continue };
        let (mut day, last) = (zone.date_at(first), zone.date_at(last).min(zone.date_at(now)));
        while day <= last {
            days.insert((claim.household_id, pet_id, day));
            let Some(next) = day.next_day() else { break };
            day = next;
        }
    }
    let mut analysed = 0;
    for (household_id, pet_id, day) in days {
        match analyse_day(app, household_id, pet_id, day, now).await {
            Ok(_) => analysed += 1,
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(analysed)
}

/// Where a day's stored episodes start being replaced: at local midnight `window.1`, or at the
/// start of the episode that runs across it (as this analysis or an earlier one of the day
/// before saw it), so an episode cut short at midnight by the readings of the time is stored
/// whole once the morning's readings show how it ended. Never before the readings analysed
/// (`window.0`), which the replacement could not put back.
async fn keep_from(
    store: &petty_store::Store,
    household_id: HouseholdId,
    pet_id: PetId,
    all: &[Episode],
    (w0, d0): (i64, i64),
) -> Result<i64, StoreError> {
    let now_seen = all.iter().filter(|e| e.start_ms < d0 && e.end_ms > d0).map(|e| e.start_ms);
    // Stored, the same episode may end at midnight (`end == d0`): the readings then ended there.
    let stored = store.episodes(household_id, pet_id, d0 - 1, d0 + 1).await?;
    let before = stored.iter().filter(|e| e.episode.start_ms < d0).map(|e| e.episode.start_ms);
    Ok(now_seen.chain(before).min().map_or(d0, |start| start.max(w0)))
}

/// What one day's analysis found.
pub struct DayOutcome {
    pub episodes: Vec<Episode>,
    pub summary: DaySummary,
    pub wellness: Option<wellness::Wellness>,
    pub new_anomalies: usize,
}

/// Analyses one pet's local day (in its household's time zone) and keeps the result.
pub async fn analyse_day(
    app: &App,
    household_id: HouseholdId,
    pet_id: PetId,
    day: Date,
    now: OffsetDateTime,
) -> Result<DayOutcome, StoreError> {
    let store = &app.store;
    let pet = store.get_pet(household_id, pet_id).await?;
    let zone = store.household_zone(household_id).await?;
    let (d0, d1) = baselines::day_window(day, &zone);
    // The day's summary also reads the night before it; episodes are kept for the day, and the
    // one that runs into it from the evening before is kept again, whole.
    let (w0, _) = baselines::input_window(day, &zone);
    let (samples, collars) = sample_columns(store, household_id, pet_id, w0.min(d0), d1).await?;
    let Some(collar) = collars.first() else {
        return Err(StoreError::NotFound);
    };
    let feedback = calibration_feedback(&store.episode_feedback(household_id, pet_id, FEEDBACK_LIMIT).await?);
    let calibration = (!feedback.is_empty()).then(|| Calibration::from_feedback(&feedback));
    let model = app.model.get();
    let all = segment::analyse_columns(&samples, &model, calibration.as_ref());
    let from = keep_from(store, household_id, pet_id, &all, (w0, d0)).await?;
    let episodes: Vec<Episode> = all.iter().filter(|e| e.start_ms >= from && e.start_ms < d1).cloned().collect();
    store.replace_episodes(household_id, pet_id, collar.id, from, d1, &episodes).await?;

    let summary = baselines::summarise_columns(day, &zone, &samples, &all);
    let history: Vec<DaySummary> = store
        .pet_days(household_id, pet_id, day - time::Duration::days(31), day - time::Duration::days(1))
        .await?
        .iter()
        .filter_map(|d| summary_json::from_json(d.day, &d.summary))
        .collect();
    let b7 = baselines::baseline(&history, 7, day);
    let b30 = baselines::baseline(&history, 30, day);
    let today = day == zone.date_at(now);
    let device_state = DeviceState {
        battery_pct: if today { collar.battery_pct } else { None },
        last_seen_ms: if today { collar.latest_ts.map(petty_store::to_ms) } else { None },
        expected_interval_ms: i64::from(collar.profile.expected_interval_secs) * 1000,
        now_ms: if today { petty_store::to_ms(now) } else { d1 - 1 },
    };
    let found = anomalies::detect(&pet.profile.name, &summary, &b7, &b30, &device_state);
    let wellness = (summary.minutes_covered > 0.0).then(|| wellness::score(&pet.profile, day, &summary, &b7, None));
    store
        .put_pet_day(
            household_id,
            pet_id,
            day,
            &summary_json::to_json(&summary),
            // A day whose score was not earned (too few parts with data) keeps none.
            wellness.as_ref().and_then(|w| w.earned()).map(i64::from),
            now,
        )
        .await?;
    let mut new_anomalies = 0;
    let topic = Topic::Pet(pet_id);
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
                "item": TimelineItem::from_anomaly(&stored)});
            app.bus.publish(topic, message.to_string().into()).await;
            app.bus.publish(Topic::HouseholdAlarms(household_id), message.to_string().into()).await;
            let subtype = format!("{}:{}", stored.kind, stored.day);
            let alarm = petty_app::alarms::EventAlarm {
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
            if let Err(e) = petty_app::alarms::raise_event(app, household_id, alarm).await {
                tracing::warn!(error = %e, "raising an anomaly's alarm failed");
            }
        }
    }
    if app.bus.has_listeners(topic) {
        let stored = store.episodes(household_id, pet_id, d0, d1).await?;
        let items: Vec<_> = stored.iter().map(TimelineItem::from_episode).collect();
        let message = json!({"type": "episodes", "pet_id": pet_id.to_string(), "day": petty_core::pets::format_date(day),
            "items": items, "wellness": wellness.as_ref().map(|w| w.score)});
        app.bus.publish(topic, message.to_string().into()).await;
    }
    Ok(DayOutcome { episodes, summary, wellness, new_anomalies })
}
