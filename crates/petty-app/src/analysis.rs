//! The behaviour analysis' use cases that the API, the pages and the analysis job share: the
//! model in use, a pet's collar samples, the calibration from owners' feedback, the pet's plan,
//! and asking for a pet's day to be analysed again.

use std::sync::{Arc, RwLock};

use petty_core::anomalies;
use petty_core::baselines::{self, DaySummary};
use petty_core::behaviour::calibrate::{Feedback, Verdict};
use petty_core::behaviour::features::{FEATURE_COUNT, sample_from_reading};
use petty_core::behaviour::forest::Forest;
use petty_core::behaviour::{Columns, Sample};
use petty_core::devices::DeviceKind;
use petty_core::ids::{DeviceId, HouseholdId, PetId};
use petty_core::{nutrition, plan};
use petty_store::{EpisodeFeedback, FeedbackVerdict, Store, StoreError};
use time::OffsetDateTime;

use crate::{App, summary_json};

const DAY_MS: i64 = 86_400_000;
/// A day read in pages of this many readings.
const PAGE: u32 = 10_000;

/// The model the analysis labels with: a trained one from the store, or the built-in one.
#[derive(Default)]
pub struct Model {
    slot: RwLock<Option<Arc<Forest>>>,
}

impl Model {
    /// The model in use now.
    pub fn get(&self) -> ModelRef {
        match self.slot.read().ok().and_then(|m| m.clone()) {
            Some(m) => ModelRef::Stored(m),
            None => ModelRef::Builtin,
        }
    }

    /// Uses `model` from now on.
    pub fn set(&self, model: Forest) {
        if let Ok(mut slot) = self.slot.write() {
            *slot = Some(Arc::new(model));
        }
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
pub async fn load_model(app: &App) -> Result<String, StoreError> {
    if let Some((version, text)) = app.store.active_behaviour_model().await? {
        match Forest::from_text(&text) {
            Ok(model) if model.version() == version => {
                app.model.set(model);
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

/// The pet's collars' samples with `from_ms <= ts < to_ms`, in time order.
pub async fn samples(
    store: &Store,
    household_id: HouseholdId,
    pet_id: PetId,
    from_ms: i64,
    to_ms: i64,
) -> Result<(Vec<Sample>, Vec<petty_store::Device>), StoreError> {
    let mut samples = Vec::new();
    let collars = each_sample(store, household_id, pet_id, from_ms, to_ms, |s| samples.push(s)).await?;
    if collars.len() > 1 {
        samples.sort_by_key(|s| s.ts_ms);
    }
    Ok((samples, collars))
}

/// The same samples as [`Columns`], what a day's analysis reads (a day of a 1 Hz collar is
/// 86,400 readings: no row per reading). The analysis puts them in time order itself.
pub async fn sample_columns(
    store: &Store,
    household_id: HouseholdId,
    pet_id: PetId,
    from_ms: i64,
    to_ms: i64,
) -> Result<(Columns, Vec<petty_store::Device>), StoreError> {
    let mut columns = Columns::new();
    let collars = each_sample(store, household_id, pet_id, from_ms, to_ms, |s| columns.push(&s)).await?;
    Ok((columns, collars))
}

/// Hands each sample of the pet's collars with `from_ms <= ts < to_ms` to `f`, collar by collar,
/// each collar's in time order; answers the collars.
async fn each_sample(
    store: &Store,
    household_id: HouseholdId,
    pet_id: PetId,
    from_ms: i64,
    to_ms: i64,
    mut f: impl FnMut(Sample),
) -> Result<Vec<petty_store::Device>, StoreError> {
    let collars: Vec<_> = store
        .pet_devices(household_id, pet_id)
        .await?
        .into_iter()
        .filter(|d| d.profile.kind == DeviceKind::Collar)
        .collect();
    let (from, to) = (petty_store::from_ms(from_ms)?, petty_store::from_ms(to_ms)?);
    for collar in &collars {
        let mut after = None;
        loop {
            let (page, next) = store.readings(household_id, collar.id, from, to, after, PAGE).await?;
            page.iter().for_each(|r| f(sample_from_reading(&r.reading)));
            match next {
                Some(cursor) => after = Some(cursor),
                None => break,
            }
        }
    }
    Ok(collars)
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

/// How often each label of the pet's episodes was right, by every judgement its people made.
pub async fn label_precision(
    app: &App,
    household_id: HouseholdId,
    pet_id: PetId,
) -> Result<Vec<petty_core::behaviour::calibrate::LabelPrecision>, StoreError> {
    let items = app.store.episode_feedback(household_id, pet_id, 10_000).await?;
    let judged: Vec<Feedback> = items
        .iter()
        .map(|f| Feedback {
            label: f.said,
            verdict: match (f.verdict, f.label) {
                (FeedbackVerdict::Confirmed, _) => Verdict::Confirmed,
                (FeedbackVerdict::Relabelled, Some(l)) => Verdict::Relabelled(l),
                _ => Verdict::Wrong,
            },
            features: [0.0; FEATURE_COUNT],
            epochs: 1,
        })
        .collect();
    Ok(petty_core::behaviour::calibrate::precision_by_label(&judged))
}

/// The pet's plan from its profile, its latest days and its open anomalies.
pub async fn plan_for(
    app: &App,
    household_id: HouseholdId,
    pet_id: PetId,
    now: OffsetDateTime,
) -> Result<plan::Plan, StoreError> {
    let store = &app.store;
    let pet = store.get_pet(household_id, pet_id).await?;
    let today = store.household_zone(household_id).await?.date_at(now);
    let days = store.pet_days(household_id, pet_id, today - time::Duration::days(31), today).await?;
    let history: Vec<DaySummary> = days.iter().filter_map(|d| summary_json::from_json(d.day, &d.summary)).collect();
    let latest = history.iter().rev().find(|d| d.minutes_covered > 0.0);
    let b7 = baselines::baseline(&history, 7, today + time::Duration::days(1));
    let since = petty_store::to_ms(now) - 7 * DAY_MS;
    let stored = store.anomalies(household_id, pet_id, since, petty_store::to_ms(now) + DAY_MS).await?;
    let found: Vec<anomalies::Anomaly> = stored.iter().filter_map(summary_json::anomaly_from_stored).collect();
    let trend = crate::care::weight_log(app, household_id, pet_id).await?.1;
    let inputs = plan::nutrition_inputs(&pet.profile, &b7, trend);
    let nutrition = nutrition::plan(&pet.profile, today, &inputs);
    Ok(plan::plan(&pet.profile, today, latest, &b7, &found, nutrition))
}

impl App {
    /// Asks for the days a device's readings from `from_ms` to `to_ms` fall on to be analysed
    /// again (after an owner's feedback changed the pet's calibration).
    pub async fn reanalyse(
        &self,
        household_id: HouseholdId,
        device_id: DeviceId,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<(), StoreError> {
        self.store.note_analysis(household_id, device_id, from_ms, to_ms).await?;
        self.wake.analysis.notify_one();
        Ok(())
    }
}
