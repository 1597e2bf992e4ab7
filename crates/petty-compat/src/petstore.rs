//! The PetStore chat seed's contract (`shared/compat/petstore.md`) under `/compat/petstore`:
//! the Lambda's pets routes (list, get, add, change, remove), its natural-language query and
//! Petty's parse-only route, over the caller's household catalog; its MCP gateway
//! (`petstore/mcp.rs`); and its chat page (`GET /compat/petstore/`, from `assets/`), which signs
//! in with a Petty account and calls the gateway as the seed's page called its own.
//!
//! **Same data.** A PetStore pet is a listing of Petty's catalog (`petty_app::catalog`), its
//! `id` the listing's number in the household's catalog as a string of digits ("7"). What the
//! profile writes is in `/api/v1/catalog` and on the dashboard's Catalog page, and the other
//! way round; a sentence is understood and searched by the same use case as
//! `POST /api/v1/catalog/query`.
//!
//! **Auth.** A Bearer access token or Petty API key; the household's catalog is the caller's.
//! Without one: 401 `{"error": "Authentication required"}`, unless the server names a public
//! store (`compat.petstore.public_store`, a household id), whose catalog anonymous callers then
//! read (`GET /pets`, `GET /pets/{id}`, `POST /pets/query`, `POST /pets/query/parse`). Writes
//! need a member or owner, or an API key of write scope: 403 `{"error": "Forbidden"}`.
//!
//! **Shapes.** Bare JSON bodies, errors `{"error": "<message>"}` (an edge answer too: the
//! rate limit's 429, the body limit's 413: [`own_shape`] rewrites it), `Access-Control-Allow-
//! Origin: *` on every answer and `OPTIONS` on any path answered with the contract's preflight
//! headers. `*` is safe: only headers authenticate here, never a cookie.
//!
//! `POST /pets/query` allows 60 requests a minute per caller (the signed-in user or key, else
//! the client's address), counted on each node (`rate_limit.petstore_query_per_minute`).

mod mcp;

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use petty_app::catalog::{self as uses, CatalogError, Source, filters_json, number_json};
use petty_core::accounts::{Actor, ActorKind, Permission};
use petty_core::catalog::{
    AGE_MONTHS_MAX, Listing, ListingDraft, Search, Status, canonical_species, parse, price_cents,
};
use petty_core::ids::HouseholdId;
use petty_http::AppState;
use petty_http::auth::{Authentication, Caller};
use petty_http::extract::ClientIp;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Everything the profile serves is under this.
const ROOT: &str = "/compat/petstore";
/// The longest query, in characters.
const QUERY_MAX: usize = 500;
/// The window of the query limit.
const WINDOW: Duration = Duration::from_secs(60);

/// Marks an answer already in the contract's shape, for [`own_shape`] to leave alone.
#[derive(Clone, Copy)]
struct Shaped;

/// An error answer: `{"error": message}`.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let mut response = (status, axum::Json(json!({"error": message.into()}))).into_response();
    response.extensions_mut().insert(Shaped);
    response
}

/// A refused request, answered as [`error`] (with `Retry-After` when it says when to retry).
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    message: String,
    retry_after: Option<u64>,
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Refusal {
    Refusal { status, message: message.into(), retry_after: None }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = error(self.status, self.message);
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// What a handler answers.
type Answer = Result<Response, Refusal>;

fn ok(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// The contract's routes; unknown routes and wrong methods in its shape. Put [`own_shape`]
/// outside the edge layer ([`mounted`] does).
pub fn router() -> Router<AppState> {
    let on = |path: &str| format!("{ROOT}{path}");
    Router::new()
        .route(&on("/pets"), get(list).post(create))
        .route(&on("/pets/query"), post(query))
        .route(&on("/pets/query/parse"), post(parse_only))
        .route(&on("/pets/{id}"), get(read).put(update).delete(remove))
        .route(&on("/mcp"), post(mcp::serve).get(mcp::not_here))
        .route(ROOT, get(page))
        .route(&on("/"), get(page))
        .route(&on("/chat.js"), get(script))
        .route(&on("/chat.css"), get(stylesheet))
        .route(&on("/{*rest}"), axum::routing::any(unknown_route))
        .method_not_allowed_fallback(wrong_method)
        .layer(axum::Extension(Arc::new(QueryWindows::default())))
        .layer(axum::Extension(Arc::new(mcp::Sessions::default())))
}

/// The profile's outermost layers: the preflight answer for `OPTIONS` on any path (before the
/// edge: a browser's preflight carries no credentials), and every answer in the contract's
/// shape with `Access-Control-Allow-Origin: *`.
pub fn own_shape(profile: Router<AppState>) -> Router<AppState> {
    profile.layer(axum::middleware::map_response(contract_shape)).layer(axum::middleware::from_fn(preflight))
}

/// The routes with their own copy of the edge stack and the contract's shape outside it.
pub fn mounted(state: &AppState) -> Router<AppState> {
    own_shape(petty_http::with_edge(router(), state))
}

async fn preflight(request: Request, next: Next) -> Response {
    if request.method() != Method::OPTIONS {
        return next.run(request).await;
    }
    let mut response = StatusCode::OK.into_response();
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET,POST,PUT,DELETE,OPTIONS"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("Content-Type,Authorization"));
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    response
}

async fn contract_shape(response: Response) -> Response {
    let mut response = crate::answers::reshaped::<Shaped>(response, |status, _| {
        let message = match status {
            StatusCode::BAD_REQUEST => "Invalid JSON",
            StatusCode::UNAUTHORIZED => "Authentication required",
            StatusCode::FORBIDDEN => "Forbidden",
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::METHOD_NOT_ALLOWED => "Method not allowed",
            StatusCode::PAYLOAD_TOO_LARGE => "Request body too large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "Invalid JSON",
            StatusCode::TOO_MANY_REQUESTS => "Too many requests",
            StatusCode::SERVICE_UNAVAILABLE => "Service temporarily unavailable",
            s if s.is_server_error() => "Internal server error",
            _ => "Request failed",
        };
        json!({ "error": message })
    });
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response.headers_mut().insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("X-Total-Count, Retry-After, Mcp-Session-Id"),
    );
    response
}

/// The seed's chat page, its script and its style, served from the binary.
const PAGE: &str = include_str!("../assets/petstore.html");
const SCRIPT: &str = include_str!("../assets/chat.js");
const STYLE: &str = include_str!("../assets/chat.css");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

async fn page() -> Response {
    asset("text/html; charset=utf-8", PAGE)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

async fn unknown_route() -> Response {
    error(StatusCode::NOT_FOUND, "Not found")
}

async fn wrong_method() -> Response {
    error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
}

fn failed(e: CatalogError) -> Refusal {
    match e {
        CatalogError::NotFound => refuse(StatusCode::NOT_FOUND, "Pet not found"),
        CatalogError::Invalid(invalid) => {
            let first = invalid.0.first().map(|f| f.message.clone()).unwrap_or_else(|| "Invalid request".to_owned());
            refuse(StatusCode::BAD_REQUEST, first)
        }
        CatalogError::Store(e) => {
            tracing::error!(error = %e, "compat/petstore: store error");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
        }
    }
}

/// Whose catalog a request reads, and who asks (`None`: anonymous, reading the public store).
fn reader(state: &AppState, caller: &Authentication) -> Result<(HouseholdId, Option<Actor>), Refusal> {
    match caller {
        Authentication::Authenticated(actor) => {
            if !actor.can(Permission::Read) {
                return Err(refuse(StatusCode::FORBIDDEN, "Forbidden"));
            }
            Ok((actor.household_id, Some(*actor)))
        }
        Authentication::Anonymous => match state.config.petstore_public_store {
            Some(household) => Ok((household, None)),
            None => Err(refuse(StatusCode::UNAUTHORIZED, "Authentication required")),
        },
        _ => Err(refuse(StatusCode::UNAUTHORIZED, "Authentication required")),
    }
}

/// The actor of a write: a member or owner, or a key of write scope.
fn writer(caller: &Authentication) -> Result<Actor, Refusal> {
    match caller {
        Authentication::Authenticated(actor) if actor.can(Permission::ManagePets) => Ok(*actor),
        Authentication::Authenticated(_) => Err(refuse(StatusCode::FORBIDDEN, "Forbidden")),
        _ => Err(refuse(StatusCode::UNAUTHORIZED, "Authentication required")),
    }
}

/// A listing in the contract's shape.
fn pet_json(listing: &Listing) -> Value {
    let c = &listing.content;
    let mut out = Map::new();
    out.insert("id".into(), json!(listing.number.to_string()));
    out.insert("name".into(), json!(c.name));
    out.insert("type".into(), json!(c.species));
    out.insert("breed".into(), json!(c.breed));
    out.insert("age".into(), c.age_months.map_or(Value::Null, |m| json!(m / 12)));
    out.insert("price".into(), c.price().map_or(Value::Null, number_json));
    if let Some(months) = c.age_months {
        out.insert("age_months".into(), json!(months));
    }
    if let Some(w) = c.weight_kg {
        out.insert("weight_kg".into(), number_json(w));
    }
    let optional = [
        ("color", c.color.clone()),
        ("sex", c.sex.map(|s| s.as_str().to_owned())),
        ("size", c.size.map(|s| s.as_str().to_owned())),
        ("status", Some(c.status.as_str().to_owned())),
        ("description", c.description.clone()),
        // An outside address only: an uploaded photo's signed links are the canonical API's.
        ("photo_url", c.photos.iter().find(|p| petty_core::files::parse_stable_url(p).is_none()).cloned()),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            out.insert(key.into(), json!(v));
        }
    }
    Value::Object(out)
}

/// `GET /pets`'s narrowing.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ListParams {
    #[serde(rename = "type")]
    kind: Option<String>,
    status: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

async fn list(State(state): State<AppState>, Caller(caller): Caller, Query(params): Query<ListParams>) -> Answer {
    let (page, total) = list_pets(&state, &caller, &params).await?;
    let mut response = ok(StatusCode::OK, page);
    response.headers_mut().insert("x-total-count", HeaderValue::from(total));
    Ok(response)
}

/// `GET /pets`: the page of listings by id, and how many there are in all.
async fn list_pets(state: &AppState, caller: &Authentication, params: &ListParams) -> Result<(Value, usize), Refusal> {
    let (household, _) = reader(state, caller)?;
    let mut search = Search::default();
    search.filters.status = None;
    // Newest first is by number, highest first: reversed below into the contract's order by id.
    search.filters.sort_by = Some(petty_core::catalog::SortBy::Newest);
    if let Some(kind) = params.kind.as_deref().filter(|k| !k.trim().is_empty()) {
        match canonical_species(kind) {
            Some(species) => search.filters.species = vec![species.to_owned()],
            None => return Err(refuse(StatusCode::BAD_REQUEST, format!("Invalid pet type: {kind}"))),
        }
    }
    if let Some(status) = params.status.as_deref().filter(|s| !s.trim().is_empty()) {
        let status = Status::parse("status", status)
            .map_err(|_| refuse(StatusCode::BAD_REQUEST, "status must be one of available, pending, sold, adopted"))?;
        search.filters.status = Some(status);
    }
    let limit = match params.limit.as_deref().map(str::parse::<usize>) {
        None => 1000,
        Some(Ok(l)) if (1..=1000).contains(&l) => l,
        Some(_) => return Err(refuse(StatusCode::BAD_REQUEST, "limit must be a whole number from 1 to 1000")),
    };
    let offset = match params.offset.as_deref().map(str::parse::<usize>) {
        None => 0,
        Some(Ok(o)) => o,
        Some(_) => return Err(refuse(StatusCode::BAD_REQUEST, "offset must be a whole number of at least 0")),
    };
    let results = uses::search(&state.app, household, search, None, 0, usize::MAX).await.map_err(failed)?;
    let mut all: Vec<&Listing> = results.items().collect();
    all.reverse();
    let page: Vec<Value> = all.iter().skip(offset).take(limit).map(|l| pet_json(l)).collect();
    Ok((Value::Array(page), results.total))
}

/// A listing by the id the contract uses (its number, digits only).
async fn listing_by_id(state: &AppState, household: HouseholdId, id: &str) -> Result<Listing, Refusal> {
    let number = id
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0 && id.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| refuse(StatusCode::NOT_FOUND, "Pet not found"))?;
    uses::by_number(&state.app, household, number).await.map_err(failed)
}

async fn read(State(state): State<AppState>, Caller(caller): Caller, Path(id): Path<String>) -> Answer {
    Ok(ok(StatusCode::OK, read_pet(&state, &caller, &id).await?))
}

/// `GET /pets/{id}`.
async fn read_pet(state: &AppState, caller: &Authentication, id: &str) -> Result<Value, Refusal> {
    let (household, _) = reader(state, caller)?;
    Ok(pet_json(&listing_by_id(state, household, id).await?))
}

/// The JSON object of a body, or the contract's 400.
fn object_of(body: &Bytes) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(refuse(StatusCode::BAD_REQUEST, "Invalid JSON")),
    }
}

/// A text field: absent or null is `None`; anything but a string is refused.
fn text_field(body: &Map<String, Value>, key: &str) -> Result<Option<String>, Refusal> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(refuse(StatusCode::BAD_REQUEST, format!("{key} must be a string"))),
    }
}

/// The contract's fields of a body as a draft (`new`: a POST, with its required fields and
/// upstream's defaults).
fn draft_of(body: &Map<String, Value>, new: bool) -> Result<ListingDraft, Refusal> {
    let name = text_field(body, "name")?;
    let kind = text_field(body, "type")?;
    if new && name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(refuse(StatusCode::BAD_REQUEST, "Missing required field: name"));
    }
    if new && kind.as_deref().is_none_or(|k| k.trim().is_empty()) {
        return Err(refuse(StatusCode::BAD_REQUEST, "Missing required field: type"));
    }
    if let Some(n) = &name
        && (n.trim().is_empty() || n.trim().chars().count() > 100)
    {
        return Err(refuse(StatusCode::BAD_REQUEST, "name must be 1 to 100 characters"));
    }
    let species = match &kind {
        Some(k) => match canonical_species(k) {
            Some(s) => Some(s.to_owned()),
            None => return Err(refuse(StatusCode::BAD_REQUEST, format!("Invalid pet type: {k}"))),
        },
        None => None,
    };
    let age_error = || refuse(StatusCode::BAD_REQUEST, "age must be a whole number of years (0-50)");
    let age_years: Option<i64> = match body.get("age") {
        None | Some(Value::Null) => new.then_some(1),
        Some(Value::Number(n)) => Some(
            n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)).ok_or_else(age_error)?,
        ),
        Some(Value::String(s)) => Some(s.trim().parse::<i64>().map_err(|_| age_error())?),
        Some(_) => return Err(age_error()),
    };
    if age_years.is_some_and(|a| !(0..=i64::from(AGE_MONTHS_MAX / 12)).contains(&a)) {
        return Err(age_error());
    }
    let price_error = || refuse(StatusCode::BAD_REQUEST, "price must be a number from 0 to 1000000");
    let price: Option<f64> = match body.get("price") {
        None | Some(Value::Null) => new.then_some(100.0),
        Some(Value::Number(n)) => Some(n.as_f64().ok_or_else(price_error)?),
        Some(Value::String(s)) => Some(s.trim().parse::<f64>().map_err(|_| price_error())?),
        Some(_) => return Err(price_error()),
    };
    if let Some(p) = price {
        price_cents("price", p).map_err(|_| price_error())?;
    }
    let breed = text_field(body, "breed")?.filter(|b| !b.trim().is_empty());
    Ok(ListingDraft {
        name,
        species,
        breed: breed.or_else(|| new.then(|| "Mixed".to_owned())),
        // Whole years as the contract keeps them: 4 means 48 months. A change of age replaces
        // the months, a change of anything else keeps them.
        age_months: age_years.map(|a| Some(a * 12)),
        price: price.map(Some),
        color: text_field(body, "color")?.map(Some),
        sex: text_field(body, "sex")?.map(Some),
        size: text_field(body, "size")?.map(Some),
        status: text_field(body, "status")?,
        description: text_field(body, "description")?.map(Some),
        ..ListingDraft::default()
    })
}

async fn create(State(state): State<AppState>, Caller(caller): Caller, body: Bytes) -> Answer {
    Ok(ok(StatusCode::CREATED, add_pet(&state, &caller, &object_of(&body)?).await?))
}

/// `POST /pets`.
async fn add_pet(state: &AppState, caller: &Authentication, body: &Map<String, Value>) -> Result<Value, Refusal> {
    let actor = writer(caller)?;
    let draft = draft_of(body, true)?;
    let listing = uses::create(&state.app, &actor, draft).await.map_err(failed)?;
    Ok(pet_json(&listing))
}

async fn update(State(state): State<AppState>, Caller(caller): Caller, Path(id): Path<String>, body: Bytes) -> Answer {
    let actor = writer(&caller)?;
    let listing = listing_by_id(&state, actor.household_id, &id).await?;
    let draft = draft_of(&object_of(&body)?, false)?;
    let listing = uses::update(&state.app, &actor, listing.id, draft).await.map_err(failed)?;
    Ok(ok(StatusCode::OK, pet_json(&listing)))
}

async fn remove(State(state): State<AppState>, Caller(caller): Caller, Path(id): Path<String>) -> Answer {
    let actor = writer(&caller)?;
    let listing = listing_by_id(&state, actor.household_id, &id).await?;
    uses::delete(&state.app, &actor, listing.id).await.map_err(failed)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The query of a body: a missing body or query is "" (no filters).
fn query_of(body: &Bytes) -> Result<String, Refusal> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(String::new());
    }
    let map = object_of(body)?;
    match map.get("query") {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(q)) if q.chars().count() <= QUERY_MAX => Ok(q.clone()),
        Some(_) => Err(refuse(StatusCode::BAD_REQUEST, "query must be a string of at most 500 characters")),
    }
}

/// `filters_applied`: the filters object plus upstream's keys the chat page reads.
fn filters_applied(filters: &petty_core::catalog::Filters, source: Source) -> Value {
    let mut out = filters_json(filters);
    if let Value::Object(map) = &mut out {
        if let Some(species) = filters.type_filter() {
            map.insert("type_filter".into(), json!(species));
        }
        if let Some(min) = filters.min_price() {
            map.insert("min_price".into(), number_json(min));
        }
        if let Some(max) = filters.max_price() {
            map.insert("max_price".into(), number_json(max));
        }
        map.insert("source".into(), json!(source.as_str()));
        if source != Source::Llm {
            map.insert("fallback".into(), json!(true));
        }
    }
    out
}

async fn query(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ClientIp(ip): ClientIp,
    axum::Extension(windows): axum::Extension<Arc<QueryWindows>>,
    body: Bytes,
) -> Answer {
    let text = query_of(&body);
    Ok(ok(StatusCode::OK, query_pets(&state, &caller, ip, &windows, text).await?))
}

/// `POST /pets/query`: counted against the caller's allowance first, then the body read.
async fn query_pets(
    state: &AppState,
    caller: &Authentication,
    ip: IpAddr,
    windows: &QueryWindows,
    text: Result<String, Refusal>,
) -> Result<Value, Refusal> {
    let (household, actor) = reader(state, caller)?;
    let limit = state.config.petstore_query_per_minute;
    if state.config.rate_limit.enabled
        && let Err(retry) = windows.admit(key_of(actor.as_ref(), ip), limit, Instant::now())
    {
        return Err(Refusal {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: "Too many requests".into(),
            retry_after: Some(retry),
        });
    }
    let text = text?;
    let answer = uses::query(&state.app, household, &text).await.map_err(failed)?;
    let pets: Vec<Value> = answer.results.items().map(pet_json).collect();
    Ok(json!({
        "pets": pets,
        "count": answer.results.total,
        "filters_applied": filters_applied(&answer.understood.filters, answer.understood.source),
    }))
}

/// Petty's `SearchPets` tool: the filters object itself, no sentence.
async fn search_pets(state: &AppState, caller: &Authentication, filters: &Value) -> Result<Value, Refusal> {
    let (household, _) = reader(state, caller)?;
    let filters = uses::filters_from_json(filters).map_err(|why| refuse(StatusCode::BAD_REQUEST, why))?;
    let limit = filters.limit as usize;
    let search = Search { filters: filters.clone(), ..Search::default() };
    let results = uses::search(&state.app, household, search, None, 0, limit).await.map_err(failed)?;
    let pets: Vec<Value> = results.items().map(pet_json).collect();
    Ok(json!({"pets": pets, "count": results.total, "filters_applied": filters_json(&filters)}))
}

async fn parse_only(State(state): State<AppState>, Caller(caller): Caller, body: Bytes) -> Answer {
    reader(&state, &caller)?;
    let text = query_of(&body)?;
    Ok(ok(StatusCode::OK, json!({"filters": filters_json(&parse(&text)), "source": "parser"})))
}

/// Whom a query is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Principal(uuid::Uuid),
    Address(IpAddr),
}

fn key_of(actor: Option<&Actor>, ip: IpAddr) -> Key {
    match actor.map(|a| a.kind) {
        Some(ActorKind::User { user_id, .. }) => Key::Principal(user_id.0),
        Some(ActorKind::ApiKey { key_id, .. }) => Key::Principal(key_id.0),
        _ => Key::Address(ip),
    }
}

/// The query limit's sliding windows on this node.
#[derive(Default)]
struct QueryWindows {
    seen: Mutex<HashMap<Key, VecDeque<Instant>>>,
}

impl QueryWindows {
    /// Counts a query at `now` if the caller is under `limit` in the last minute; else the
    /// whole seconds until one leaves the window.
    fn admit(&self, key: Key, limit: u32, now: Instant) -> Result<(), u64> {
        let Ok(mut seen) = self.seen.lock() else { return Ok(()) };
        if seen.len() > 100_000 {
            seen.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
        }
        let times = seen.entry(key).or_default();
        while times.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            times.pop_front();
        }
        if times.len() >= limit as usize {
            let oldest = times.front().copied().unwrap_or(now);
            let wait = WINDOW.saturating_sub(now.duration_since(oldest));
            return Err((wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).clamp(1, 60));
        }
        times.push_back(now);
        Ok(())
    }
}
