//! Live life-log updates: every write publishes the event on `user:{id}:events` (a pet's on
//! `pet:{id}`), and the person's current predictions are computed again shortly after; when the
//! energy moved by 0.5 or more from the last value computed for them, or the mood changed
//! class, `prediction_updated` goes out on `user:{id}:predictions`.
//!
//! Writes in quick succession are taken together (one computation per person in flight), and
//! nothing is computed while nobody can be listening.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use petty_bus::Topic;
use petty_core::ids::UserId;
use petty_core::lifelog::{MoodClass, Subject};
use serde::Serialize;

use super::learning::ModelCache;
use super::out::LifeEventOut;
use crate::App;

/// How long writes gather before the predictions are computed again.
const SETTLE: Duration = Duration::from_millis(150);
/// How far the energy must move to be pushed.
pub const ENERGY_STEP: f64 = 0.5;

/// The life log's per-node state: parsed models, the last predictions computed per person, and
/// the people whose predictions are being computed again.
#[derive(Default)]
pub struct LifeState {
    pub(crate) models: ModelCache,
    last: Mutex<HashMap<UserId, Last>>,
    pending: Mutex<HashSet<UserId>>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Last {
    energy: Option<f64>,
    mood: Option<MoodClass>,
}

/// A live life-log message: `{"type": "event_created", "data": {...}}`.
#[derive(Serialize)]
pub struct LiveMessage<'a, T: Serialize> {
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub data: T,
}

pub(crate) async fn publish<T: Serialize>(app: &App, topic: Topic, kind: &str, data: T) {
    if !app.bus.has_listeners(topic) {
        return;
    }
    if let Ok(json) = serde_json::to_vec(&LiveMessage { kind, data }) {
        app.bus.publish(topic, json.into()).await;
    }
}

fn topic_of(subject: Subject) -> Topic {
    match subject {
        Subject::Person(user) => Topic::UserEvents(user),
        Subject::Pet(pet) => Topic::Pet(pet),
    }
}

/// Tells the subject's topic about written events (`event_created` or `event_updated`), and
/// has the person's predictions looked at again.
pub(crate) async fn written(app: &App, subject: Subject, kind: &str, events: &[petty_store::StoredLifeEvent]) {
    let topic = topic_of(subject);
    for e in events {
        publish(app, topic, kind, LifeEventOut::from(e)).await;
    }
    if let Subject::Person(user) = subject {
        touched(app, user);
    }
}

/// Tells the subject's topic that an event is gone.
pub(crate) async fn deleted(app: &App, subject: Subject, id: petty_core::ids::LifeEventId) {
    #[derive(Serialize)]
    struct Gone {
        id: uuid::Uuid,
    }
    publish(app, topic_of(subject), "event_deleted", Gone { id: id.0 }).await;
    if let Subject::Person(user) = subject {
        touched(app, user);
    }
}

/// Computes the person's current predictions again soon, and pushes them if they moved.
pub(crate) fn touched(app: &App, user: UserId) {
    if !app.bus.has_listeners(Topic::UserPredictions(user)) {
        // Nobody can hear a push; the next read computes afresh anyway.
        if let Ok(mut last) = app.life.last.lock() {
            last.remove(&user);
        }
        return;
    }
    let first = app.life.pending.lock().map(|mut p| p.insert(user)).unwrap_or(false);
    if !first {
        return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
    let app = app.clone();
    runtime.spawn(async move {
        tokio::time::sleep(SETTLE).await;
        if let Ok(mut p) = app.life.pending.lock() {
            p.remove(&user);
        }
        if let Err(e) = push_if_moved(&app, user).await {
            tracing::warn!(user = %user, error = ?e, "computing live predictions failed");
        }
    });
}

async fn push_if_moved(app: &App, user: UserId) -> Result<(), super::LifeError> {
    let now = app.now();
    let (energy, mood) = super::current_predictions(app, user, now).await?;
    let (energy_moved, mood_moved) = remember(app, user, Some(energy.predicted_energy), Some(mood.prediction_class));
    let topic = Topic::UserPredictions(user);
    if energy_moved {
        publish(app, topic, "prediction_updated", energy).await;
    }
    if mood_moved {
        publish(app, topic, "prediction_updated", mood).await;
    }
    Ok(())
}

/// Notes the person's current energy and mood class; answers whether each moved enough from
/// the last noted to be pushed (always, the first time).
pub(crate) fn remember(app: &App, user: UserId, energy: Option<f64>, mood: Option<&str>) -> (bool, bool) {
    let Ok(mut last) = app.life.last.lock() else { return (false, false) };
    let entry = last.entry(user).or_default();
    let mood = mood.and_then(|m| MoodClass::ALL.iter().copied().find(|c| c.as_str() == m));
    let energy_moved = match (energy, entry.energy) {
        (Some(now), Some(before)) => (now - before).abs() >= ENERGY_STEP - 1e-9,
        (Some(_), None) => true,
        (None, _) => false,
    };
    let mood_moved = match (mood, entry.mood) {
        (Some(now), Some(before)) => now != before,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if energy_moved {
        entry.energy = energy;
    }
    if mood_moved {
        entry.mood = mood;
    }
    (energy_moved, mood_moved)
}
