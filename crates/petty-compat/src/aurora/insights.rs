//! `/insights`: generating the insights that hold over the person's recent events, a page of
//! them, one, and marking one read or dismissed, through `petty_app::lifelog`'s insight use
//! cases (which keep them, update a rule's insight in place on the same UTC day and push each
//! as `insight_generated`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use petty_app::lifelog::{self as uses, InsightMark, InsightOut, MAX_RANGE_DAYS};
use petty_core::ids::InsightId;
use petty_http::AppState;
use petty_store::{InsightFilter, StoredInsight};
use serde_json::{Map, Value, json};

use super::wire::{Fields, Item, Params, body_object};
use super::{Answer, Fail, Person, contract_shape, ok, paged};

const NOT_FOUND: &str = "Insight not found";
/// The longest `context` a generation names.
const CONTEXT_MAX: usize = 50;

fn insight_json(s: &StoredInsight) -> Value {
    contract_shape(InsightOut::from(s), &["created_at", "updated_at"], &[])
}

/// `POST /insights/generate` `{context?, time_range_days?}` → 201 the insights that hold now.
pub(super) async fn generate(State(state): State<AppState>, person: Person, uri: Uri, bytes: Bytes) -> Answer {
    let body = if bytes.iter().all(u8::is_ascii_whitespace) { Map::new() } else { body_object(&bytes)? };
    let mut f = Fields::new(&body, vec!["body".into()]);
    let context = f.text("context", true);
    let days = f.integer("time_range_days");
    let mut items = f.items;
    if let Some(c) = context.filter(|c| c.chars().count() > CONTEXT_MAX) {
        let msg = format!("String should have at most {CONTEXT_MAX} characters");
        items.push(Item::new("string_too_long", vec!["body".into(), "context".into()], msg, json!(c)));
    }
    let loc = || vec![Value::from("body"), Value::from("time_range_days")];
    match days {
        Some(d) if d < 1 => {
            items.push(Item::new("greater_than_equal", loc(), "Input should be greater than or equal to 1", json!(d)));
        }
        Some(d) if d > i64::from(MAX_RANGE_DAYS) => {
            let msg = format!("Input should be less than or equal to {MAX_RANGE_DAYS}");
            items.push(Item::new("less_than_equal", loc(), msg, json!(d)));
        }
        _ => {}
    }
    if !items.is_empty() {
        return Err(Fail::invalid(items));
    }
    person.owns(Params::of(&uri).text("user_id"))?;
    let days = days.and_then(|d| u32::try_from(d).ok()).unwrap_or(7);
    let budget = state.llm_budget(&person.actor);
    let kept =
        uses::generate_insights(&state.app, &person.actor, days, &budget).await.map_err(Fail::life(NOT_FOUND))?;
    Ok(ok(StatusCode::CREATED, Value::Array(kept.iter().map(insight_json).collect())))
}

/// `GET /insights?page&page_size&unread_only&insight_type&include_dismissed`, newest first.
pub(super) async fn list(State(state): State<AppState>, person: Person, uri: Uri) -> Answer {
    let mut q = Params::of(&uri);
    let request = q.page();
    let unread_only = q.boolean("unread_only").unwrap_or(false);
    let include_dismissed = q.boolean("include_dismissed").unwrap_or(false);
    q.finish()?;
    person.owns(q.text("user_id"))?;
    let filter = InsightFilter {
        unread_only,
        insight_type: q.text("insight_type").map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned),
        include_dismissed,
    };
    let found =
        uses::list_insights(&state.app, &person.actor, &filter, request).await.map_err(Fail::life(NOT_FOUND))?;
    let items = found.items.iter().map(insight_json).collect();
    Ok(ok(StatusCode::OK, paged(items, found.total, request.page, request.page_size)))
}

/// An insight id from the path; a malformed one is an unknown insight.
fn insight_id(text: &str) -> Result<InsightId, Fail> {
    uuid::Uuid::parse_str(text.trim()).map(InsightId).map_err(|_| Fail::not_found(NOT_FOUND))
}

/// `GET /insights/{id}`.
pub(super) async fn read(State(state): State<AppState>, person: Person, Path(id): Path<String>, uri: Uri) -> Answer {
    person.owns(Params::of(&uri).text("user_id"))?;
    let found = uses::get_insight(&state.app, &person.actor, insight_id(&id)?).await.map_err(Fail::life(NOT_FOUND))?;
    Ok(ok(StatusCode::OK, insight_json(&found)))
}

async fn mark(state: &AppState, person: &Person, id: &str, uri: &Uri, how: InsightMark) -> Answer {
    person.owns(Params::of(uri).text("user_id"))?;
    let marked =
        uses::mark_insight(&state.app, &person.actor, insight_id(id)?, how).await.map_err(Fail::life(NOT_FOUND))?;
    Ok(ok(StatusCode::OK, insight_json(&marked)))
}

/// `PATCH` or `POST /insights/{id}/read`.
pub(super) async fn mark_read(
    State(state): State<AppState>,
    person: Person,
    Path(id): Path<String>,
    uri: Uri,
) -> Answer {
    mark(&state, &person, &id, &uri, InsightMark::Read).await
}

/// `PATCH` or `POST /insights/{id}/dismiss`.
pub(super) async fn dismiss(State(state): State<AppState>, person: Person, Path(id): Path<String>, uri: Uri) -> Answer {
    mark(&state, &person, &id, &uri, InsightMark::Dismissed).await
}

/// Any other method on `/insights/generate`: no insight has that id.
pub(super) async fn no_such_insight(_person: Person) -> Fail {
    Fail::not_found(NOT_FOUND)
}
