//! `/predictions/energy` and `/predictions/mood` (with `at` for backtests), upstream's
//! `/api/ai/predict/...` routes that answer the same, `/predictions/metrics` and
//! `/predictions/retrain`: `petty_app::lifelog`'s predictions over the person's 30 days before
//! `at` (a learned model's when it beat the baseline) and its learned models, in the contract's
//! shapes.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use petty_app::lifelog::{self as uses, EnergyOut, ExplanationOut, MoodOut};
use petty_core::lifelog::TimeOfDay;
use petty_http::AppState;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::wire::{Fields, Item, Params, body_object};
use super::{Answer, Fail, Person, contract_shape, ok};

/// A learned model's explanation: where it starts and how much each feature moved it.
fn explained(e: &ExplanationOut) -> Value {
    let mut out = Map::new();
    out.insert("start".into(), json!(e.start));
    for c in &e.contributions {
        out.insert(c.factor.into(), json!(c.effect));
    }
    Value::Object(out)
}

/// The times of a prediction, and what only Petty's live message needs left out.
const TIMES: [&str; 2] = ["at", "generated_at"];

fn energy_json(p: &EnergyOut) -> Value {
    let explanation = match &p.terms {
        Some(t) => json!({
            "base_energy": t.base_energy,
            "time_of_day_modifier": t.time_of_day_modifier,
            "sleep_factor": t.sleep_factor,
            "activity_factor": t.activity_factor,
        }),
        None => explained(&p.explanation),
    };
    let mut out = contract_shape(p, &TIMES, &["kind"]);
    out["prediction"] = json!(p.predicted_energy);
    out["explanation"] = explanation;
    out
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn mood_json(p: &MoodOut) -> Value {
    let explanation = match &p.terms {
        Some(t) => json!({
            "base_mood": round2(t.base_mood),
            "trend_adjustment": t.trend_adjustment,
            "balance_adjustment": t.balance_adjustment,
            "stress_adjustment": t.stress_adjustment,
        }),
        None => explained(&p.explanation),
    };
    let mut out = contract_shape(p, &TIMES, &["kind"]);
    out["explanation"] = explanation;
    out
}

/// A `time_of_day` the client named, or the refusal located at `loc`.
fn time_of_day(text: Option<&str>, loc: [&str; 2]) -> Result<Option<TimeOfDay>, Item> {
    match text {
        None => Ok(None),
        Some(t) => t.parse::<TimeOfDay>().map(Some).map_err(|_| {
            Item::new(
                "value_error",
                vec![loc[0].into(), loc[1].into()],
                "Value error, time_of_day must be one of: morning, afternoon, evening, night",
                json!(t),
            )
        }),
    }
}

async fn predict_energy(
    state: &AppState,
    person: &Person,
    at: Option<OffsetDateTime>,
    tod: Option<TimeOfDay>,
) -> Answer {
    let p = uses::predict_energy(&state.app, &person.actor, at, tod).await.map_err(Fail::life("Not Found"))?;
    Ok(ok(StatusCode::OK, energy_json(&p)))
}

async fn predict_mood(state: &AppState, person: &Person, at: Option<OffsetDateTime>) -> Answer {
    let p = uses::predict_mood(&state.app, &person.actor, at).await.map_err(Fail::life("Not Found"))?;
    Ok(ok(StatusCode::OK, mood_json(&p)))
}

/// `time_of_day` and `at` from the query string.
fn energy_query(q: &mut Params) -> Result<(Option<TimeOfDay>, Option<OffsetDateTime>), Fail> {
    let tod = time_of_day(q.text("time_of_day"), ["query", "time_of_day"]);
    let at = q.time("at");
    let tod = tod.unwrap_or_else(|item| {
        q.push(item);
        None
    });
    q.finish()?;
    Ok((tod, at))
}

/// An energy prediction asked for in the query string (`time_of_day`, `at`, `user_id`), for
/// the person named in the path when the route has one.
async fn energy_asked(state: &AppState, person: &Person, uri: &Uri, named: Option<&str>) -> Answer {
    let mut q = Params::of(uri);
    let (tod, at) = energy_query(&mut q)?;
    person.owns(named.or(q.text("user_id")))?;
    predict_energy(state, person, at, tod).await
}

/// A mood prediction asked for in the query string (`at`, `user_id`), as for energy.
async fn mood_asked(state: &AppState, person: &Person, uri: &Uri, named: Option<&str>) -> Answer {
    let mut q = Params::of(uri);
    let at = q.time("at");
    q.finish()?;
    person.owns(named.or(q.text("user_id")))?;
    predict_mood(state, person, at).await
}

/// `GET /predictions/energy?time_of_day=&at=`.
pub(super) async fn energy(State(state): State<AppState>, person: Person, uri: Uri) -> Answer {
    energy_asked(&state, &person, &uri, None).await
}

/// `GET /predictions/mood?at=`.
pub(super) async fn mood(State(state): State<AppState>, person: Person, uri: Uri) -> Answer {
    mood_asked(&state, &person, &uri, None).await
}

/// `GET /compat/aurora/api/ai/predict/energy/{user_id}?time_of_day=`.
pub(super) async fn ai_energy_of(
    State(state): State<AppState>,
    person: Person,
    Path(user_id): Path<String>,
    uri: Uri,
) -> Answer {
    energy_asked(&state, &person, &uri, Some(&user_id)).await
}

/// `GET /compat/aurora/api/ai/predict/mood/{user_id}`.
pub(super) async fn ai_mood_of(
    State(state): State<AppState>,
    person: Person,
    Path(user_id): Path<String>,
    uri: Uri,
) -> Answer {
    mood_asked(&state, &person, &uri, Some(&user_id)).await
}

/// An optional JSON body (an empty one is no fields).
fn optional_body(bytes: &[u8]) -> Result<Map<String, Value>, Fail> {
    if bytes.iter().all(u8::is_ascii_whitespace) { Ok(Map::new()) } else { body_object(bytes) }
}

/// `POST /compat/aurora/api/ai/predict/energy` `{time_of_day?}`.
pub(super) async fn ai_energy(State(state): State<AppState>, person: Person, uri: Uri, bytes: Bytes) -> Answer {
    let body = optional_body(&bytes)?;
    let mut f = Fields::new(&body, vec!["body".into()]);
    let text = f.text("time_of_day", true);
    let mut items = f.items;
    let tod = time_of_day(text.as_deref(), ["body", "time_of_day"]).unwrap_or_else(|item| {
        items.push(item);
        None
    });
    if !items.is_empty() {
        return Err(Fail::invalid(items));
    }
    person.owns(Params::of(&uri).text("user_id"))?;
    predict_energy(&state, &person, None, tod).await
}

/// `POST /compat/aurora/api/ai/predict/mood` `{context?}` (the context, of any shape, is not
/// read).
pub(super) async fn ai_mood(State(state): State<AppState>, person: Person, uri: Uri, bytes: Bytes) -> Answer {
    optional_body(&bytes)?;
    person.owns(Params::of(&uri).text("user_id"))?;
    predict_mood(&state, &person, None).await
}

/// `GET /predictions/metrics`: the person's learned models' held-out scores (nulls before any
/// training).
pub(super) async fn metrics(State(state): State<AppState>, person: Person, uri: Uri) -> Answer {
    person.owns(Params::of(&uri).text("user_id"))?;
    let m = uses::model_metrics(&state.app, &person.actor).await.map_err(Fail::life("Not Found"))?;
    let mut out = contract_shape(&m, &["retrain_requested_at"], &[]);
    out["energy"] = contract_shape(&m.energy, &["trained_at"], &[]);
    out["mood"] = contract_shape(&m.mood, &["trained_at"], &[]);
    Ok(ok(StatusCode::OK, out))
}

/// `POST /predictions/retrain` → 202: training starts now, in the background.
pub(super) async fn retrain(State(state): State<AppState>, person: Person, uri: Uri) -> Answer {
    person.owns(Params::of(&uri).text("user_id"))?;
    uses::retrain(&state.app, &person.actor).await.map_err(Fail::life("Not Found"))?;
    Ok(ok(StatusCode::ACCEPTED, json!({"status": "accepted", "message": "Model training started"})))
}
