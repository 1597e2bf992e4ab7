//! Per-person learned models: training them (the `life_models` job calls [`train_due`]), keeping
//! them, serving them parsed, and their metrics.
//!
//! A person's models are trained daily at 02:00 UTC when they logged reports since the last
//! run, as soon as 50 new reports have gathered, and when they ask (`retrain`). Training reads
//! the reports of the 90 days before now (and the 30 days before those, which the baseline and
//! the features look back on), holds out the newest 20 % of days, and keeps the model with its
//! held-out scores; predictions use it only if it beat the baseline there (see
//! `petty_core::lifelog::learned`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use petty_core::ids::{HouseholdId, UserId};
use petty_core::lifelog::{
    EnergyModel, MoodModel, Subject, TrainError, TrainParams, baseline::WINDOW_DAYS, learned::model_version,
    train_energy, train_mood,
};
use petty_store::{ModelKind, StoreError};
use time::{Duration, OffsetDateTime, Time};

use super::out::{EnergyMetricsOut, ModelMetricsOut, MoodMetricsOut};
use crate::App;

/// New reports that make a retrain due.
pub const RETRAIN_AFTER_REPORTS: i64 = 50;
/// The daily training's hour (UTC).
pub const DAILY_TRAINING_HOUR: u8 = 2;
/// People trained per pass of the job.
const PER_PASS: i64 = 20;
/// A person is trained at most once in this time on request or after reports (a flood of
/// reports must not keep a core training).
pub const RETRAIN_GAP: Duration = Duration::minutes(10);
/// Training reads at most this many events (90 days of a very busy log); a person with more is
/// told so rather than keep the job busy for minutes.
pub const MAX_TRAINING_EVENTS: usize = 30_000;

/// A person's events are theirs whichever household they act in: the store ignores the
/// household for a person's events.
pub(crate) const ANY_HOUSEHOLD: HouseholdId = HouseholdId(uuid::Uuid::nil());

/// Parsed models by person, each with the version it was parsed from.
#[derive(Default)]
pub(crate) struct ModelCache {
    energy: Mutex<HashMap<UserId, Arc<EnergyModel>>>,
    mood: Mutex<HashMap<UserId, Arc<MoodModel>>>,
}

macro_rules! cached_model {
    ($name:ident, $field:ident, $model:ty, $kind:expr) => {
        /// The person's newest model of this kind (whether or not it beat the baseline), parsed
        /// once per version.
        pub(crate) async fn $name(app: &App, user: UserId) -> Result<Option<Arc<$model>>, StoreError> {
            let known = app.life.models.$field.lock().ok().and_then(|m| m.get(&user).cloned());
            let Some((version, text)) =
                app.store.life_model(user, $kind, known.as_ref().map(|m| m.version())).await?
            else {
                if let Ok(mut m) = app.life.models.$field.lock() {
                    m.remove(&user);
                }
                return Ok(None);
            };
            match (text, known) {
                (None, Some(known)) if known.version() == version => Ok(Some(known)),
                (Some(text), _) => match <$model>::from_bytes(&text) {
                    Ok(model) => {
                        let model = Arc::new(model);
                        if let Ok(mut m) = app.life.models.$field.lock() {
                            m.insert(user, model.clone());
                        }
                        Ok(Some(model))
                    }
                    Err(e) => {
                        tracing::warn!(user = %user, error = %e, "a kept life-log model does not read back; using the baseline");
                        Ok(None)
                    }
                },
                (None, _) => Ok(None),
            }
        }
    };
}

cached_model!(energy_model, energy, EnergyModel, ModelKind::Energy);
cached_model!(mood_model, mood, MoodModel, ModelKind::Mood);

/// The last daily training time at or before `now`.
pub fn daily_cutoff(now: OffsetDateTime) -> OffsetDateTime {
    let today = now.replace_time(Time::from_hms(DAILY_TRAINING_HOUR, 0, 0).unwrap_or(Time::MIDNIGHT));
    if today <= now { today } else { today - Duration::days(1) }
}

/// Trains everyone whose training is due at `now`; answers how many were trained.
pub async fn train_due(app: &App, now: OffsetDateTime) -> Result<usize, StoreError> {
    let claims = app.store.claim_life_training(now, daily_cutoff(now), now - RETRAIN_GAP, PER_PASS).await?;
    for claim in &claims {
        let run = u32::try_from(claim.run_on_day).unwrap_or(u32::MAX);
        if let Err(e) = train_person(app, claim.user_id, now, run).await {
            tracing::warn!(user = %claim.user_id, error = %e, "training a person's life-log models failed");
        }
    }
    Ok(claims.len())
}

/// Trains a person's energy and mood models at `now` (this UTC day's `run`th training) and
/// keeps those that could be trained; notes why not for the others.
pub async fn train_person(app: &App, user: UserId, now: OffsetDateTime, run: u32) -> Result<(), StoreError> {
    let zone = app.store.user_zone(user).await?;
    let params = TrainParams::default();
    let from = now - Duration::days(params.lookback_days + WINDOW_DAYS);
    let events = app.store.life_events_between(Subject::Person(user), ANY_HOUSEHOLD, from, now).await?;
    if events.len() > MAX_TRAINING_EVENTS {
        let note = format!(
            "too many events to train on: {} in the last {} days, at most {MAX_TRAINING_EVENTS}",
            events.len(),
            params.lookback_days + WINDOW_DAYS
        );
        app.store.note_life_training(user, Some(&note), Some(&note)).await?;
        tracing::warn!(user = %user, events = events.len(), "a person's log is too big to train on");
        return Ok(());
    }
    let version = model_version(now.date(), run);
    let started = std::time::Instant::now();
    // Training is CPU work: off the threads that serve requests.
    let trained = tokio::task::spawn_blocking(move || {
        let energy = train_energy(&events, now, &zone, &version, &params);
        let mood = train_mood(&events, now, &zone, &version, &params);
        (energy, mood)
    })
    .await;
    let (energy, mood) = trained.map_err(|e| StoreError::Corrupt(format!("training stopped: {e}")))?;
    metrics::histogram!("petty_life_training_seconds").record(started.elapsed().as_secs_f64());
    let note = |r: &Result<(), TrainError>| r.as_ref().err().map(ToString::to_string);
    let energy = match energy {
        Ok(m) => {
            app.store.save_life_model(user, ModelKind::Energy, m.version(), m.trained_at(), &m.to_bytes()).await?;
            Ok(())
        }
        Err(e) => Err(e),
    };
    let mood = match mood {
        Ok(m) => {
            app.store.save_life_model(user, ModelKind::Mood, m.version(), m.trained_at(), &m.to_bytes()).await?;
            Ok(())
        }
        Err(e) => Err(e),
    };
    app.store.note_life_training(user, note(&energy).as_deref(), note(&mood).as_deref()).await?;
    tracing::info!(user = %user, energy = ?note(&energy), mood = ?note(&mood), "trained life-log models");
    super::live::touched(app, user);
    Ok(())
}

/// A person's model metrics (the baseline's name and nulls before any model).
pub(crate) async fn metrics(app: &App, user: UserId) -> Result<ModelMetricsOut, StoreError> {
    let state = app.store.life_training_state(user).await?;
    let baseline = petty_core::lifelog::baseline::BASELINE_VERSION.to_owned();
    let energy = match energy_model(app, user).await? {
        Some(m) => {
            let h = m.holdout();
            EnergyMetricsOut {
                model_version: m.version().to_owned(),
                in_use: m.use_learned(),
                trained_at: Some(m.trained_at()),
                n_train: Some(h.n_train),
                n_test: Some(h.n_test),
                mae: h.learned.mae.map(round3),
                r2: h.learned.r2.map(round3),
                baseline_mae: h.baseline.mae.map(round3),
                status: state.energy_note.clone(),
            }
        }
        None => EnergyMetricsOut {
            model_version: baseline.clone(),
            status: state.energy_note.clone(),
            ..Default::default()
        },
    };
    let mood = match mood_model(app, user).await? {
        Some(m) => {
            let h = m.holdout();
            MoodMetricsOut {
                model_version: m.version().to_owned(),
                in_use: m.use_learned(),
                trained_at: Some(m.trained_at()),
                n_train: Some(h.n_train),
                n_test: Some(h.n_test),
                accuracy: h.learned.accuracy.map(round3),
                macro_f1: h.learned.macro_f1.map(round3),
                baseline_accuracy: h.baseline.accuracy.map(round3),
                status: state.mood_note.clone(),
            }
        }
        None => MoodMetricsOut { model_version: baseline, status: state.mood_note, ..Default::default() },
    };
    Ok(ModelMetricsOut { energy, mood, new_reports: state.new_reports, retrain_requested_at: state.requested_at })
}

fn round3(v: f64) -> f64 {
    super::rounded(v, 3)
}
