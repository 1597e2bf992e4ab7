//! `/events` (one, a batch of 1–100 all or nothing, a page, one by id, a change, a deletion),
//! `/events/stats/summary`, `/timeline` and `/timeline/patterns/detect`: the person's own life
//! log through `petty_app::lifelog`, the patterns by `petty_core::lifelog::detect_patterns`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use petty_app::lifelog::{self as uses, LifeEventOut, PatternsOut};
use petty_core::ids::LifeEventId;
use petty_core::lifelog::{EventContent, Patterns};
use petty_core::paging::PageRequest;
use petty_http::AppState;
use petty_store::{LifeEventFilter, StoredLifeEvent};
use serde_json::{Value, json};
use time::Duration;

use super::wire::{Fields, Item, Params, body_object, checked_event, event_change, item_of, merge};
use super::{Answer, Fail, Person, contract_shape, ok, paged, ts};

const NOT_FOUND: &str = "Event not found";
/// The most entries a timeline lists.
const TIMELINE_MAX: u32 = 1000;

/// An event as the contract answers it: the canonical event without what only a pet's has.
pub(super) fn event_json(s: &StoredLifeEvent) -> Value {
    contract_shape(
        LifeEventOut::from(s),
        &["event_time", "end_time", "created_at", "updated_at"],
        &["subject", "pet_id"],
    )
}

/// `POST /events` → 201 the event.
pub(super) async fn create(State(state): State<AppState>, person: Person, uri: Uri, bytes: Bytes) -> Answer {
    let body = body_object(&bytes)?;
    let input = checked_event(&body, vec!["body".into()], &person.subject(), state.app.now()).map_err(Fail::invalid)?;
    person.owns(Params::of(&uri).text("user_id"))?;
    let kept = uses::log_events(&state.app, &person.actor, person.subject(), vec![input], false)
        .await
        .map_err(Fail::life(NOT_FOUND))?;
    let event = kept.first().ok_or_else(|| Fail::internal("no event was kept"))?;
    Ok(ok(StatusCode::CREATED, event_json(event)))
}

/// `POST /events/batch` `{"events": [...]}` → 201 the list in input order; one bad event and
/// none is kept.
pub(super) async fn create_batch(State(state): State<AppState>, person: Person, uri: Uri, bytes: Bytes) -> Answer {
    let body = body_object(&bytes)?;
    let whole = Value::Object(body.clone());
    let mut f = Fields::new(&body, vec!["body".into()]);
    let list = f.list("events");
    if list.is_none() && !f.has("events") {
        f.missing("events");
    }
    let mut items = std::mem::take(&mut f.items);
    let mut inputs = Vec::new();
    match list {
        Some(list) if list.is_empty() || list.len() > petty_core::lifelog::events::BATCH_MAX => {
            let rule = if list.is_empty() { "too_short" } else { "too_long" };
            items.push(item_of(&petty_core::FieldError::new("events", rule, "-"), &["body".into()], &whole));
        }
        Some(list) => {
            for (i, event) in list.iter().enumerate() {
                let at: Vec<Value> = vec!["body".into(), "events".into(), i.into()];
                match event {
                    Value::Object(obj) => match checked_event(obj, at, &person.subject(), state.app.now()) {
                        Ok(input) => inputs.push(input),
                        Err(problems) => items.extend(problems),
                    },
                    other => {
                        items.push(Item::new("dict_type", at, "Input should be a valid dictionary", other.clone()))
                    }
                }
            }
        }
        None => {}
    }
    if !items.is_empty() {
        return Err(Fail::invalid(items));
    }
    person.owns(Params::of(&uri).text("user_id"))?;
    let kept = uses::log_events(&state.app, &person.actor, person.subject(), inputs, true)
        .await
        .map_err(Fail::life(NOT_FOUND))?;
    Ok(ok(StatusCode::CREATED, Value::Array(kept.iter().map(event_json).collect())))
}

/// `GET /events`: a page, newest first, with the contract's filters.
pub(super) async fn list(State(state): State<AppState>, person: Person, uri: Uri) -> Answer {
    let mut q = Params::of(&uri);
    let request = q.page();
    let start = q.time("start_time");
    let end = q.time("end_time");
    let days = q.int("days", 1, 3650);
    q.finish()?;
    person.owns(q.text("user_id"))?;
    let since = days.map(|d| state.app.now() - Duration::days(d));
    let filter = LifeEventFilter {
        event_type: q.text("event_type").map(str::trim).filter(|t| !t.is_empty()).map(str::to_lowercase),
        start: match (start, since) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        },
        end,
    };
    let found = uses::list_events(&state.app, &person.actor, person.subject(), &filter, request)
        .await
        .map_err(Fail::life(NOT_FOUND))?;
    let items = found.items.iter().map(event_json).collect();
    Ok(ok(StatusCode::OK, paged(items, found.total, request.page, request.page_size)))
}

/// An event id from the path; a malformed one is an unknown event.
fn event_id(text: &str) -> Result<LifeEventId, Fail> {
    uuid::Uuid::parse_str(text.trim()).map(LifeEventId).map_err(|_| Fail::not_found(NOT_FOUND))
}

/// `GET /events/{id}`.
pub(super) async fn read(State(state): State<AppState>, person: Person, Path(id): Path<String>, uri: Uri) -> Answer {
    person.owns(Params::of(&uri).text("user_id"))?;
    let id = event_id(&id)?;
    let event =
        uses::get_event(&state.app, &person.actor, person.subject(), id).await.map_err(Fail::life(NOT_FOUND))?;
    Ok(ok(StatusCode::OK, event_json(&event)))
}

/// Any other method on `/events/batch`: no event has that id.
pub(super) async fn no_such_event(_person: Person) -> Fail {
    Fail::not_found(NOT_FOUND)
}

/// `PUT` or `PATCH /events/{id}`: the fields named replace the old ones whole; the whole event
/// is checked again and its derived scores recomputed.
pub(super) async fn update(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<String>,
    uri: Uri,
    bytes: Bytes,
) -> Answer {
    let id = event_id(&id)?;
    let body = body_object(&bytes)?;
    let mut f = Fields::new(&body, vec!["body".into()]);
    let change = event_change(&mut f);
    // Checked in full before anything is written, so every problem is told at once.
    let stored =
        uses::get_event(&state.app, &person.actor, person.subject(), id).await.map_err(Fail::life(NOT_FOUND))?;
    let mut input = uses::raw_of(&stored);
    change.clone().apply(&mut input);
    let petty = EventContent::parse(&input.raw, &person.subject(), state.app.now()).err();
    let items = merge(f, petty.as_ref(), &["body".into()], &Value::Object(body.clone()));
    if !items.is_empty() {
        return Err(Fail::invalid(items));
    }
    person.owns(Params::of(&uri).text("user_id"))?;
    let event = uses::update_event(&state.app, &person.actor, person.subject(), id, |input| change.apply(input))
        .await
        .map_err(Fail::life(NOT_FOUND))?;
    Ok(ok(StatusCode::OK, event_json(&event)))
}

/// `DELETE /events/{id}` → 204.
pub(super) async fn delete(State(state): State<AppState>, person: Person, Path(id): Path<String>, uri: Uri) -> Answer {
    person.owns(Params::of(&uri).text("user_id"))?;
    let id = event_id(&id)?;
    uses::delete_event(&state.app, &person.actor, person.subject(), id).await.map_err(Fail::life(NOT_FOUND))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `days` (1–3650, default 30) from the query string.
fn days_of(q: &mut Params) -> Result<u32, Fail> {
    let days = q.int("days", 1, 3650);
    q.finish()?;
    Ok(u32::try_from(days.unwrap_or(30)).unwrap_or(30))
}

/// `GET /events/stats/summary?days=30`.
pub(super) async fn summary(State(state): State<AppState>, person: Person, uri: Uri) -> Answer {
    let mut q = Params::of(&uri);
    let days = days_of(&mut q)?;
    person.owns(q.text("user_id"))?;
    let s = uses::stats(&state.app, &person.actor, person.subject(), i64::from(days))
        .await
        .map_err(Fail::life(NOT_FOUND))?;
    Ok(ok(
        StatusCode::OK,
        json!({
            "total_events": s.total_events,
            "event_types": s.event_types,
            "avg_impact": s.avg_impact,
            "total_energy_change": s.total_energy_change,
            "total_mood_change": s.total_mood_change,
            "period": {"start": ts(s.period_start), "end": ts(s.period_end)},
        }),
    ))
}

/// The contract's pattern objects: Petty's own (`PatternsOut`), each tagged with its `type`.
fn patterns_json(p: &Patterns) -> Vec<Value> {
    let out = PatternsOut::new(0, p);
    let tagged = |kind: &str, v: Result<Value, serde_json::Error>| match v {
        Ok(Value::Object(mut m)) => {
            m.insert("type".to_owned(), json!(kind));
            Some(Value::Object(m))
        }
        _ => None,
    };
    let sleep = out.sleep_cycle.map(|s| tagged("sleep_cycle", serde_json::to_value(s)));
    let activity = out.activity.map(|a| tagged("activity_pattern", serde_json::to_value(a)));
    [sleep, activity].into_iter().flatten().flatten().collect()
}

/// The person's patterns over the last `days` days, in their own time zone.
async fn patterns_of(state: &AppState, person: &Person, days: u32) -> Result<Patterns, Fail> {
    uses::patterns(&state.app, &person.actor, i64::from(days)).await.map_err(Fail::life(NOT_FOUND))
}

async fn timeline_of(state: &AppState, person: &Person, days: u32) -> Answer {
    let since = state.app.now() - Duration::days(days.into());
    let filter = LifeEventFilter { start: Some(since), ..LifeEventFilter::default() };
    let request = PageRequest { page: 1, page_size: TIMELINE_MAX };
    let found = uses::list_events(&state.app, &person.actor, person.subject(), &filter, request)
        .await
        .map_err(Fail::life(NOT_FOUND))?;
    let entries: Vec<Value> = found
        .items
        .iter()
        .map(|s| {
            let c = &s.event.content;
            let impact = c.impact();
            json!({
                "id": s.event.id.0,
                "event_time": ts(c.event_time),
                "title": c.title,
                "event_type": c.event_type.as_str(),
                "event_category": c.event_category,
                "impact_score": impact.impact_score,
                "energy_impact": impact.energy_impact,
                "mood_impact": impact.mood_impact,
            })
        })
        .collect();
    let patterns = patterns_of(state, person, days).await?;
    Ok(ok(
        StatusCode::OK,
        json!({
            "user_id": person.user_id.0,
            "period_days": days,
            "total_events": found.total,
            "entries": entries,
            "patterns": patterns_json(&patterns),
        }),
    ))
}

/// `GET /timeline?days=30`.
pub(super) async fn timeline(State(state): State<AppState>, person: Person, uri: Uri) -> Answer {
    let mut q = Params::of(&uri);
    let days = days_of(&mut q)?;
    person.owns(q.text("user_id"))?;
    timeline_of(&state, &person, days).await
}

/// `GET /compat/aurora/api/timeline/{days}d`: anything but a number and `d` is no route.
pub(super) async fn timeline_in_path(
    State(state): State<AppState>,
    person: Person,
    Path(days): Path<String>,
    uri: Uri,
) -> Answer {
    let Some(n) = days.strip_suffix('d').and_then(|n| n.parse::<i64>().ok()) else {
        return Err(Fail::not_found("Not Found"));
    };
    if !(1..=3650).contains(&n) {
        let (kind, msg) = if n < 1 {
            ("greater_than_equal", "Input should be greater than or equal to 1")
        } else {
            ("less_than_equal", "Input should be less than or equal to 3650")
        };
        return Err(Fail::invalid(vec![Item::new(kind, vec!["path".into(), "days".into()], msg, json!(days))]));
    }
    person.owns(Params::of(&uri).text("user_id"))?;
    timeline_of(&state, &person, u32::try_from(n).unwrap_or(30)).await
}

/// `GET /timeline/patterns/detect?days=30`.
pub(super) async fn patterns(State(state): State<AppState>, person: Person, uri: Uri) -> Answer {
    let mut q = Params::of(&uri);
    let days = days_of(&mut q)?;
    person.owns(q.text("user_id"))?;
    let found = patterns_of(&state, &person, days).await?;
    let list = patterns_json(&found);
    Ok(ok(
        StatusCode::OK,
        json!({
            "user_id": person.user_id.0,
            "analysis_period_days": days,
            "events_analyzed": found.events_analyzed,
            "patterns_found": list.len(),
            "patterns": list,
        }),
    ))
}
