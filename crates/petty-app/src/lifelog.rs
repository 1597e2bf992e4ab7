//! Life log use cases: a person logging their own events (and a household's members logging a
//! pet's meals, walks, medication and grooming), reading them back, their stats, and the energy
//! and mood predictions made from them.
//!
//! Every edge (the canonical API, the dashboard, the AURORA profile) comes through here, so an
//! event written by one is the same everywhere. A person's events are theirs alone: nobody else
//! in the household reads them. A pet's are the household's, read as its care records are (a
//! vet only for the pets shared with them).

use petty_core::Invalid;
use petty_core::accounts::{Actor, Permission};
use petty_core::ids::{LifeEventId, PetId, UserId};
use petty_core::lifelog::{EventContent, LifeEvent, RawLifeEvent, Subject, Summary, TimeOfDay, parse_batch, summarize};
use petty_core::paging::{Page, PageRequest};
use petty_store::{LifeEventFilter, NewLifeEvent, StoreError, StoredLifeEvent};
use time::{Duration, OffsetDateTime};

use crate::App;

mod correlations;
mod insights;
mod learning;
pub(crate) use learning::ANY_HOUSEHOLD;
mod live;
mod out;
mod summary;

pub use correlations::{CorrelationsOut, EffectOut, LinkOut, StreamOut, correlations};
pub use insights::{InsightMark, MAX_RANGE_DAYS, generate_insights, get_insight, list_insights, mark_insight};
pub use learning::{
    DAILY_TRAINING_HOUR, MAX_TRAINING_EVENTS, RETRAIN_AFTER_REPORTS, RETRAIN_GAP, daily_cutoff, train_due, train_person,
};
pub use live::{ENERGY_STEP, LifeState, LiveMessage};
pub use out::{
    ActivityPatternOut, ContributionOut, DayCountOut, EnergyMetricsOut, EnergyOut, ExplanationOut, InsightOut,
    LifeEventOut, ModelMetricsOut, MoodMetricsOut, MoodOut, PatternsOut, SleepCycleOut,
};

/// Why a life-log use case did not happen.
#[derive(Debug)]
pub enum LifeError {
    /// Bad input: each field and rule.
    Invalid(Invalid),
    /// No such event or pet for this caller.
    NotFound(&'static str),
    /// The caller may not do this (the text says why).
    Forbidden(&'static str),
    Store(StoreError),
}

impl From<Invalid> for LifeError {
    fn from(e: Invalid) -> Self {
        LifeError::Invalid(e)
    }
}

impl From<StoreError> for LifeError {
    fn from(e: StoreError) -> Self {
        LifeError::Store(e)
    }
}

/// An event as an edge received it: the fields, and the JSON text of `event_data` and `context`
/// (kept and echoed as sent).
#[derive(Debug, Clone, Default)]
pub struct EventInput {
    pub raw: RawLifeEvent,
    pub event_data_json: String,
    pub context_json: String,
}

impl EventInput {
    /// `raw` with `event_data` read from its JSON text (as the store reads what it kept) and
    /// both texts' sizes, for the checks.
    pub fn new(mut raw: RawLifeEvent, event_data_json: String, context_json: String) -> EventInput {
        raw.event_data = petty_store::event_data_of(&event_data_json);
        raw.event_data_bytes = event_data_json.len();
        raw.context_bytes = context_json.len();
        EventInput { raw, event_data_json, context_json }
    }
}

/// How far back predictions look (the contract's window).
pub const PREDICTION_WINDOW_DAYS: i64 = 30;

const API_KEY_HAS_NO_PERSON: &str =
    "an API key acts for a household, not a person: sign in as the person to use their life log";

/// `v` to `places` decimals, for answers.
pub(crate) fn rounded(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// The person calling (an API key acts for no person).
pub(crate) fn person(actor: &Actor) -> Result<UserId, LifeError> {
    actor.user_id().ok_or(LifeError::Forbidden(API_KEY_HAS_NO_PERSON))
}

/// Whose events a call is about: the caller themself (`pet` `None`), or a pet of their household.
/// `write` asks for the right to log a pet's care; reading a pet's events is reading its care.
pub async fn subject_for(app: &App, actor: &Actor, pet: Option<PetId>, write: bool) -> Result<Subject, LifeError> {
    match pet {
        None => person(actor).map(Subject::Person),
        Some(pet) => {
            let needed = if write { Permission::WriteCare } else { Permission::ReadCare };
            if !actor.can(needed) {
                return Err(LifeError::Forbidden(if write {
                    "your role or key scope does not allow you to record care in this household"
                } else {
                    "your role or key scope does not allow you to read care records"
                }));
            }
            app.store.get_pet(actor.household_id, pet).await.map_err(|e| match e {
                StoreError::NotFound => LifeError::NotFound("pet"),
                other => LifeError::Store(other),
            })?;
            if !crate::care::sees_pet(app, actor, pet).await? {
                return Err(LifeError::NotFound("pet"));
            }
            Ok(Subject::Pet(pet))
        }
    }
}

/// Keeps one event (`batch` false) or a batch of 1–100, all or none; a batch's errors name
/// `events.{i}.{field}`.
pub async fn log_events(
    app: &App,
    actor: &Actor,
    subject: Subject,
    inputs: Vec<EventInput>,
    batch: bool,
) -> Result<Vec<StoredLifeEvent>, LifeError> {
    let now = app.now();
    let raws: Vec<RawLifeEvent> = inputs.iter().map(|i| i.raw.clone()).collect();
    let contents = if batch {
        parse_batch(&raws, &subject, now)?
    } else {
        let Some(raw) = raws.first() else {
            return Err(Invalid::one("event", "required", "an event is required").into());
        };
        vec![EventContent::parse(raw, &subject, now)?]
    };
    let new: Vec<NewLifeEvent> = contents
        .into_iter()
        .zip(inputs)
        .map(|(content, input)| NewLifeEvent {
            subject,
            household_id: actor.household_id,
            content,
            event_data_json: input.event_data_json,
            context_json: input.context_json,
            created_by: actor.user_id(),
        })
        .collect();
    let added = app.store.add_life_events(&new, now, RETRAIN_AFTER_REPORTS).await.map_err(|e| match e {
        StoreError::NotFound => LifeError::NotFound("pet"),
        other => LifeError::Store(other),
    })?;
    if added.training_due {
        app.wake.life_models.notify_one();
    }
    live::written(app, subject, "event_created", &added.events).await;
    Ok(added.events)
}

/// What follows a change: the reports it added noted for training (a retrain woken once 50
/// gathered), the event published, the predictions looked at again.
async fn after_change(app: &App, subject: Subject, before: &StoredLifeEvent, after: &StoredLifeEvent) {
    if let Subject::Person(user) = subject
        && after.event.content.is_report()
        && !before.event.content.is_report()
    {
        match app.store.note_life_reports(user, 1, RETRAIN_AFTER_REPORTS, app.now()).await {
            Ok(true) => app.wake.life_models.notify_one(),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "noting a life-log report for training failed"),
        }
    }
    live::written(app, subject, "event_updated", std::slice::from_ref(after)).await;
}

/// One event of the subject.
pub async fn get_event(
    app: &App,
    actor: &Actor,
    subject: Subject,
    id: LifeEventId,
) -> Result<StoredLifeEvent, LifeError> {
    app.store.get_life_event(subject, actor.household_id, id).await.map_err(not_found)
}

fn not_found(e: StoreError) -> LifeError {
    match e {
        StoreError::NotFound => LifeError::NotFound("life event"),
        other => LifeError::Store(other),
    }
}

/// The event as the fields it was written with, for an edge to change some of them and check the
/// whole again.
pub fn raw_of(stored: &StoredLifeEvent) -> EventInput {
    let c = &stored.event.content;
    let at = c.event_time.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    EventInput {
        raw: RawLifeEvent {
            event_type: Some(c.event_type.as_str().to_owned()),
            title: Some(c.title.clone()),
            event_time: Some(at),
            event_category: c.event_category.clone(),
            description: c.description.clone(),
            event_data: c.event_data.clone(),
            event_data_bytes: stored.event_data_json.len(),
            context_bytes: stored.context_json.len(),
            duration_minutes: c.duration_minutes.map(i64::from),
            tags: c.tags.clone(),
            source: Some(c.source.clone()),
        },
        event_data_json: stored.event_data_json.clone(),
        context_json: stored.context_json.clone(),
    }
}

/// Changes an event: `change` edits the fields it was written with; the whole is checked again
/// and the derived scores recomputed.
pub async fn update_event(
    app: &App,
    actor: &Actor,
    subject: Subject,
    id: LifeEventId,
    change: impl FnOnce(&mut EventInput),
) -> Result<StoredLifeEvent, LifeError> {
    let stored = get_event(app, actor, subject, id).await?;
    let mut input = raw_of(&stored);
    change(&mut input);
    let content = EventContent::parse(&input.raw, &subject, app.now())?;
    let updated = app
        .store
        .update_life_event(&stored, &content, &input.event_data_json, &input.context_json, app.now())
        .await
        .map_err(not_found)?;
    after_change(app, subject, &stored, &updated).await;
    Ok(updated)
}

pub async fn delete_event(app: &App, actor: &Actor, subject: Subject, id: LifeEventId) -> Result<(), LifeError> {
    app.store.delete_life_event(subject, actor.household_id, id).await.map_err(not_found)?;
    live::deleted(app, subject, id).await;
    Ok(())
}

/// A page of the subject's events, newest first.
pub async fn list_events(
    app: &App,
    actor: &Actor,
    subject: Subject,
    filter: &LifeEventFilter,
    page: PageRequest,
) -> Result<Page<StoredLifeEvent>, LifeError> {
    Ok(app.store.list_life_events(subject, actor.household_id, filter, page).await?)
}

/// The subject's stats over the last `days` days up to now.
pub async fn stats(app: &App, actor: &Actor, subject: Subject, days: i64) -> Result<Summary, LifeError> {
    let end = app.now();
    let start = end - Duration::days(days);
    let events = app.store.life_events_between(subject, actor.household_id, start, end).await?;
    Ok(summarize(&events, start, end))
}

/// What a prediction at `at` reads: the person's zone and their events in the window before `at`
/// (the window's end is exclusive in the core).
struct Window {
    zone: petty_core::recurrence::Zone,
    events: Vec<LifeEvent>,
}

async fn window(app: &App, user: UserId, at: OffsetDateTime) -> Result<Window, LifeError> {
    let start = at - Duration::days(PREDICTION_WINDOW_DAYS);
    Ok(Window {
        zone: app.store.user_zone(user).await?,
        events: app.store.life_events_between(Subject::Person(user), learning::ANY_HOUSEHOLD, start, at).await?,
    })
}

/// The predicted energy at `at` (default now) for the time of day asked or, without one, the
/// caller's local time of day at `at`: the learned model's when the caller has one that beat the
/// baseline and was trained by `at` (a backtest never sees a model trained on its future), else
/// the baseline's.
pub async fn predict_energy(
    app: &App,
    actor: &Actor,
    at: Option<OffsetDateTime>,
    time_of_day: Option<TimeOfDay>,
) -> Result<EnergyOut, LifeError> {
    let user = person(actor)?;
    let now = app.now();
    let at = at.unwrap_or(now);
    energy_for(app, user, &window(app, user, at).await?, at, time_of_day, now).await
}

async fn energy_for(
    app: &App,
    user: UserId,
    w: &Window,
    at: OffsetDateTime,
    time_of_day: Option<TimeOfDay>,
    now: OffsetDateTime,
) -> Result<EnergyOut, LifeError> {
    let tod = time_of_day.unwrap_or_else(|| TimeOfDay::from_hour(w.zone.local_at(at).hour()));
    // A model trained after `at` has seen what came after it: a backtest uses the baseline.
    let model = learning::energy_model(app, user).await?.filter(|m| m.trained_at() <= at);
    let p = petty_core::lifelog::energy_prediction(&w.events, at, tod, &w.zone, model.as_deref());
    Ok(EnergyOut::new(user.0, &p, at, now))
}

/// The predicted mood at `at` (default now), learned or baseline as for energy.
pub async fn predict_mood(app: &App, actor: &Actor, at: Option<OffsetDateTime>) -> Result<MoodOut, LifeError> {
    let user = person(actor)?;
    let now = app.now();
    let at = at.unwrap_or(now);
    mood_for(app, user, &window(app, user, at).await?, at, now).await
}

async fn mood_for(
    app: &App,
    user: UserId,
    w: &Window,
    at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<MoodOut, LifeError> {
    let model = learning::mood_model(app, user).await?.filter(|m| m.trained_at() <= at);
    let p = petty_core::lifelog::mood_prediction(&w.events, at, &w.zone, model.as_deref());
    Ok(MoodOut::new(user.0, &p, at, now))
}

/// A person's energy (for their local time of day) and mood now, from one read of the window.
pub(crate) async fn current_predictions(
    app: &App,
    user: UserId,
    now: OffsetDateTime,
) -> Result<(EnergyOut, MoodOut), LifeError> {
    let w = window(app, user, now).await?;
    Ok((energy_for(app, user, &w, now, None, now).await?, mood_for(app, user, &w, now, now).await?))
}

/// The caller's learned models' held-out metrics.
pub async fn model_metrics(app: &App, actor: &Actor) -> Result<ModelMetricsOut, LifeError> {
    let user = person(actor)?;
    Ok(learning::metrics(app, user).await?)
}

/// A person's model metrics (for their data export).
pub(crate) async fn person_metrics(app: &App, user: UserId) -> Result<ModelMetricsOut, StoreError> {
    learning::metrics(app, user).await
}

/// Asks for the caller's models to be trained now (the job is woken; it runs in the
/// background).
pub async fn retrain(app: &App, actor: &Actor) -> Result<(), LifeError> {
    let user = person(actor)?;
    app.store.request_life_training(user, app.now()).await?;
    app.wake.life_models.notify_one();
    Ok(())
}

/// The caller's sleep cycle and activity pattern over the last `days` days.
pub async fn patterns(app: &App, actor: &Actor, days: i64) -> Result<petty_core::lifelog::Patterns, LifeError> {
    let user = person(actor)?;
    let now = app.now();
    let zone = app.store.user_zone(user).await?;
    let events = app
        .store
        .life_events_between(Subject::Person(user), learning::ANY_HOUSEHOLD, now - Duration::days(days), now)
        .await?;
    let days = u32::try_from(days).unwrap_or(u32::MAX);
    Ok(petty_core::lifelog::detect_patterns(&events, now, days, &zone))
}
