//! `/api/v1/catalog/query/parse`: how Petty understands a sentence about pets ("golden
//! retrievers under $500"), as the catalog's filters object, without searching anything. The
//! parser is `petty_core::catalog` (deterministic, no language model); the catalog itself, its
//! search and the PetStore profile are still to come (issue 16).

use axum::Json;
use petty_core::catalog::{Bounds, FilterValue, Filters, parse};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::CurrentActor;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;

/// The longest query taken, in characters (the contract's).
const QUERY_MAX: usize = 500;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(parse_query))
}

/// A sentence about pets.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueryIn {
    /// Up to 500 characters, e.g. "3 cheapest cats that are not black".
    pub query: String,
}

/// How a query was understood.
#[derive(Serialize, ToSchema)]
pub(crate) struct ParsedQueryOut {
    /// The filters object: `species`, `exclude_species`, `breeds`, `exclude_breeds`, `colors`,
    /// `exclude_colors` (lists), `age_years`, `price`, `weight_kg` (bounds `{gt, gte, lt,
    /// lte}`), `currency`, `sex`, `sizes`, `name`, `sort_by`, and always `limit` (1–100) and
    /// `status` (null for any). Keys not set are absent.
    #[schema(value_type = Object)]
    pub filters: Value,
    /// The filters in words, as chips show them ("dog · golden retriever · under 500 USD").
    pub description: String,
    /// `parser`: Petty's deterministic parser (no language model).
    pub source: &'static str,
}

/// A bound as a whole number when it is one (500, not 500.0).
fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 1e15 { json!(v as i64) } else { json!(v) }
}

fn bounds_json(b: &Bounds) -> Value {
    Value::Object(b.entries().into_iter().map(|(k, v)| (k.to_owned(), number(v))).collect())
}

/// The filters object as JSON, keys in the contract's order.
pub(crate) fn filters_json(filters: &Filters) -> Value {
    let mut out = Map::new();
    for (key, value) in filters.entries() {
        let v = match value {
            FilterValue::List(items) => json!(items),
            FilterValue::Bounds(b) => bounds_json(&b),
            FilterValue::Text(t) => json!(t),
            FilterValue::Number(n) => json!(n),
            FilterValue::Null => Value::Null,
        };
        out.insert(key.to_owned(), v);
    }
    Value::Object(out)
}

/// How Petty understands a sentence about pets: the catalog's filters, in words too. Nothing is
/// searched, and no language model is asked.
#[utoipa::path(post, path = "/api/v1/catalog/query/parse", tag = "catalog", request_body = QueryIn,
    responses((status = 200, body = ParsedQueryOut), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn parse_query(_actor: CurrentActor, ApiJson(body): ApiJson<QueryIn>) -> Result<Json<ParsedQueryOut>, ApiError> {
    if body.query.chars().count() > QUERY_MAX {
        return Err(petty_core::Invalid::one("query", "too_long", "query must be at most 500 characters").into());
    }
    let filters = parse(&body.query);
    Ok(Json(ParsedQueryOut { filters: filters_json(&filters), description: filters.to_string(), source: "parser" }))
}
