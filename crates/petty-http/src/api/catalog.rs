//! `/api/v1/catalog`: a household's pet listings (a shelter, a breeder, a store, a family
//! rehoming a pet), searched by Petfinder-like filters, by words (full text over name, breed and
//! description), or by a sentence ("3 cheapest cats that are not black") that Petty's parser
//! or a configured LLM turns into filters; and its settings. A public catalog is read by
//! anyone at `/api/v1/public/catalogs/{household_id}`. The use cases are
//! `petty_app::catalog`; the sentence parser is `petty_core::catalog`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use petty_app::catalog::{CatalogError, Results, filters_json};
use petty_core::accounts::Permission;
use petty_core::catalog::{
    Filters, Listing, ListingDraft, Search, Size, SortBy, Status, Traits, canonical_breeds, canonical_colors,
    canonical_species, parse,
};
use petty_core::ids::{HouseholdId, ListingId};
use petty_core::paging::PageRequest;
use petty_core::validation::{Collector, FieldError, Invalid};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::{Paged, patch_field};
use crate::auth::CurrentActor;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

/// The longest query taken, in characters (the contract's).
const QUERY_MAX: usize = 500;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_listings, create_listing))
        .routes(routes!(get_listing, update_listing, delete_listing))
        .routes(routes!(query_catalog))
        .routes(routes!(parse_query))
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(list_public))
        .routes(routes!(get_public))
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::Invalid(invalid) => invalid.into(),
            CatalogError::NotFound => ApiError::not_found("listing"),
            CatalogError::Store(e) => e.into(),
        }
    }
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

/// How Petty understands a sentence about pets: the catalog's filters, in words too. Nothing is
/// searched, and no language model is asked.
#[utoipa::path(post, path = "/api/v1/catalog/query/parse", tag = "catalog", request_body = QueryIn,
    responses((status = 200, body = ParsedQueryOut), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn parse_query(_actor: CurrentActor, ApiJson(body): ApiJson<QueryIn>) -> Result<Json<ParsedQueryOut>, ApiError> {
    check_query(&body.query)?;
    let filters = parse(&body.query);
    Ok(Json(ParsedQueryOut { filters: filters_json(&filters), description: filters.to_string(), source: "parser" }))
}

/// A query of at most 500 characters.
pub(crate) fn check_query(query: &str) -> Result<(), Invalid> {
    if query.chars().count() > QUERY_MAX {
        return Err(Invalid::one("query", "too_long", "query must be at most 500 characters"));
    }
    Ok(())
}

/// A listing as the API shows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct ListingOut {
    pub id: Uuid,
    /// Its number in the household's catalog, from 1, never reused.
    pub number: i64,
    pub name: String,
    /// dog, cat, bird, fish, rabbit, hamster, guinea pig, turtle, lizard, frog, snake, ferret,
    /// horse, mouse, rat, chinchilla or other.
    pub species: String,
    /// As written ("Labrador mix").
    pub breed: String,
    /// The breeds Petty recognises in it (`labrador retriever`, `mixed`); what breed filters match.
    pub breeds: Vec<String>,
    pub age_months: Option<u32>,
    /// small, medium, large or xlarge.
    pub size: Option<&'static str>,
    /// male or female.
    pub sex: Option<&'static str>,
    /// As written ("black and tan").
    pub color: Option<String>,
    /// The colours Petty recognises in it; what colour filters match.
    pub colors: Vec<String>,
    /// hairless, short, medium, long, wire or curly.
    pub coat: Option<String>,
    pub good_with_children: Option<bool>,
    pub good_with_dogs: Option<bool>,
    pub good_with_cats: Option<bool>,
    pub house_trained: Option<bool>,
    pub special_needs: Option<bool>,
    pub weight_kg: Option<f64>,
    /// In `currency`, up to two decimals.
    pub price: Option<f64>,
    pub currency: String,
    /// available, pending, sold or adopted.
    pub status: &'static str,
    pub location: Option<String>,
    /// The main photo's address (the first of `photos`).
    pub photo_url: Option<String>,
    /// Up to six photos, in order.
    pub photos: Vec<PhotoOut>,
    pub description: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: time::OffsetDateTime,
}

/// A listing's photo.
#[derive(Serialize, ToSchema)]
pub(crate) struct PhotoOut {
    /// As stored: an http(s) address, or an uploaded photo's stable address (`/files/{id}`).
    pub url: String,
    /// Where to fetch it: the address itself, or for an uploaded photo a signed link good for an
    /// hour (anyone may follow it, so a public catalog shows its photos).
    pub link: String,
    /// An uploaded photo's thumbnail (a signed link); none for an outside address.
    pub thumbnail_link: Option<String>,
}

impl PhotoOut {
    fn of(app: &petty_app::App, url: &str) -> PhotoOut {
        let uploaded = petty_core::files::parse_stable_url(url).is_some();
        PhotoOut {
            url: url.to_owned(),
            link: petty_app::files::photo_link(app, url, petty_core::files::Variant::File),
            thumbnail_link: uploaded
                .then(|| petty_app::files::photo_link(app, url, petty_core::files::Variant::Thumbnail)),
        }
    }
}

impl ListingOut {
    /// The listing as the API shows it, uploaded photos' links signed by `app`.
    pub(crate) fn of(app: &petty_app::App, l: &Listing) -> Self {
        let c = &l.content;
        ListingOut {
            id: l.id.0,
            number: l.number,
            name: c.name.clone(),
            species: c.species.clone(),
            breed: c.breed.clone(),
            breeds: l.facts.breeds.clone(),
            age_months: c.age_months,
            size: c.size.map(Size::as_str),
            sex: c.sex.map(|s| s.as_str()),
            color: c.color.clone(),
            colors: l.facts.colors.clone(),
            coat: c.coat.clone(),
            good_with_children: c.good_with_children,
            good_with_dogs: c.good_with_dogs,
            good_with_cats: c.good_with_cats,
            house_trained: c.house_trained,
            special_needs: c.special_needs,
            weight_kg: c.weight_kg,
            price: c.price(),
            currency: c.currency.clone(),
            status: c.status.as_str(),
            location: c.location.clone(),
            photo_url: c.photos.first().cloned(),
            photos: c.photos.iter().map(|p| PhotoOut::of(app, p)).collect(),
            description: c.description.clone(),
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

/// A new listing. `name` and `species` are required; the breed is "Mixed", the currency USD
/// and the status available unless given.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListingIn {
    /// 1–100 characters.
    pub name: String,
    /// A species name (synonyms such as "puppy" or "kitten" are understood).
    pub species: String,
    pub breed: Option<String>,
    /// 0–600.
    pub age_months: Option<i64>,
    pub size: Option<String>,
    pub sex: Option<String>,
    pub color: Option<String>,
    pub coat: Option<String>,
    pub good_with_children: Option<bool>,
    pub good_with_dogs: Option<bool>,
    pub good_with_cats: Option<bool>,
    pub house_trained: Option<bool>,
    pub special_needs: Option<bool>,
    pub weight_kg: Option<f64>,
    /// 0–1,000,000 with at most two decimals.
    pub price: Option<f64>,
    /// A three-letter ISO 4217 code (default USD).
    pub currency: Option<String>,
    pub status: Option<String>,
    pub location: Option<String>,
    /// One photo: an http(s) address, or an uploaded photo's stable address (`/files/{id}`,
    /// uploaded with purpose `listing_photo`). Or give `photos`, not both.
    pub photo_url: Option<String>,
    /// Up to six photos, the first the main one, each as `photo_url`.
    pub photos: Option<Vec<String>>,
    /// Up to 5,000 characters.
    pub description: Option<String>,
}

impl From<ListingIn> for ListingDraft {
    fn from(l: ListingIn) -> Self {
        ListingDraft {
            name: Some(l.name),
            species: Some(l.species),
            breed: l.breed,
            age_months: Some(l.age_months),
            size: Some(l.size),
            sex: Some(l.sex),
            color: Some(l.color),
            coat: Some(l.coat),
            good_with_children: Some(l.good_with_children),
            good_with_dogs: Some(l.good_with_dogs),
            good_with_cats: Some(l.good_with_cats),
            house_trained: Some(l.house_trained),
            special_needs: Some(l.special_needs),
            weight_kg: Some(l.weight_kg),
            price: Some(l.price),
            currency: l.currency,
            status: l.status,
            location: Some(l.location),
            photo_url: l.photo_url.map(Some),
            photos: l.photos,
            description: Some(l.description),
        }
    }
}

/// Changes to a listing: a field left out stays as it is; `null` clears it.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListingPatch {
    pub name: Option<String>,
    pub species: Option<String>,
    pub breed: Option<String>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<i64>)]
    pub age_months: Option<Option<i64>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub size: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub sex: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub color: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub coat: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<bool>)]
    pub good_with_children: Option<Option<bool>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<bool>)]
    pub good_with_dogs: Option<Option<bool>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<bool>)]
    pub good_with_cats: Option<Option<bool>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<bool>)]
    pub house_trained: Option<Option<bool>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<bool>)]
    pub special_needs: Option<Option<bool>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<f64>)]
    pub weight_kg: Option<Option<f64>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<f64>)]
    pub price: Option<Option<f64>>,
    pub currency: Option<String>,
    pub status: Option<String>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Option<String>>,
    /// One photo in place of all of them; `null`: no photo.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub photo_url: Option<Option<String>>,
    /// All the photos, in order; `null` or `[]`: none.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<Vec<String>>)]
    pub photos: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
}

impl From<ListingPatch> for ListingDraft {
    fn from(p: ListingPatch) -> Self {
        ListingDraft {
            name: p.name,
            species: p.species,
            breed: p.breed,
            age_months: p.age_months,
            size: p.size,
            sex: p.sex,
            color: p.color,
            coat: p.coat,
            good_with_children: p.good_with_children,
            good_with_dogs: p.good_with_dogs,
            good_with_cats: p.good_with_cats,
            house_trained: p.house_trained,
            special_needs: p.special_needs,
            weight_kg: p.weight_kg,
            price: p.price,
            currency: p.currency,
            status: p.status,
            location: p.location,
            photo_url: p.photo_url,
            photos: p.photos.map(Option::unwrap_or_default),
            description: p.description,
        }
    }
}

/// The catalog's filters, Petfinder-style.
#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct CatalogQuery {
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// Items per page, 1–500 (default 50).
    pub page_size: Option<u32>,
    /// Words that must each start a word of the name, breed or description; ranks the results
    /// when no `sort` is given.
    pub q: Option<String>,
    /// A species, or several separated by commas.
    pub species: Option<String>,
    /// A breed (any of several, comma-separated); "Labrador" finds Labrador mixes too.
    pub breed: Option<String>,
    /// Colours the listing's colour must all hold ("black,white").
    pub color: Option<String>,
    /// Colours it must hold none of.
    pub exclude_color: Option<String>,
    /// male or female.
    pub sex: Option<String>,
    /// small, medium, large, xlarge (comma-separated for several).
    pub size: Option<String>,
    /// available (default), pending, sold, adopted, or any.
    pub status: Option<String>,
    /// Youngest age in years (inclusive).
    pub min_age: Option<f64>,
    /// Oldest age in years (inclusive).
    pub max_age: Option<f64>,
    pub min_price: Option<f64>,
    pub max_price: Option<f64>,
    pub good_with_children: Option<bool>,
    pub good_with_dogs: Option<bool>,
    pub good_with_cats: Option<bool>,
    pub house_trained: Option<bool>,
    pub special_needs: Option<bool>,
    /// price_asc, price_desc, age_asc, age_desc, name or newest (default: by relevance with
    /// `q`, else by name).
    pub sort: Option<String>,
}

fn list_of(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// Canonical names from a comma-separated list, each through `canon`; a word it does not know
/// is an error naming `field`.
fn canonical_list(
    errors: &mut Collector,
    field: &str,
    text: Option<&str>,
    what: &str,
    canon: impl Fn(&str) -> Vec<String>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in text.into_iter().flat_map(list_of) {
        let found = canon(item);
        if found.is_empty() {
            errors.push(FieldError::new(field, "unknown", format!("{field}: {item:?} is not a {what} Petty knows")));
        }
        for f in found {
            if !out.contains(&f) {
                out.push(f);
            }
        }
    }
    out
}

fn bound(errors: &mut Collector, field: &str, value: Option<f64>, max: f64) -> Option<f64> {
    let v = value?;
    if v.is_finite() && (0.0..=max).contains(&v) {
        Some(v)
    } else {
        errors.push(FieldError::new(field, "out_of_range", format!("{field} must be from 0 to {max}")));
        None
    }
}

impl CatalogQuery {
    /// The search these parameters ask for, every bad one named.
    fn search(&self) -> Result<Search, Invalid> {
        let mut errors = Collector::new();
        let species = canonical_list(&mut errors, "species", self.species.as_deref(), "species", |s| {
            canonical_species(s).map(|c| vec![c.to_owned()]).unwrap_or_default()
        });
        let breeds = canonical_list(&mut errors, "breed", self.breed.as_deref(), "breed", canonical_breeds);
        let colors = canonical_list(&mut errors, "color", self.color.as_deref(), "colour", canonical_colors);
        let exclude_colors =
            canonical_list(&mut errors, "exclude_color", self.exclude_color.as_deref(), "colour", canonical_colors);
        let mut filters = Filters { species, breeds, colors, exclude_colors, ..Filters::default() };
        if let Some(sex) = self.sex.as_deref().filter(|s| !s.trim().is_empty()) {
            match petty_core::catalog::Sex::parse("sex", sex) {
                Ok(s) => filters.sex = Some(s.as_str().to_owned()),
                Err(e) => errors.push(e),
            }
        }
        for size in self.size.as_deref().into_iter().flat_map(list_of) {
            match Size::parse("size", size) {
                Ok(s) if !filters.sizes.contains(&s) => filters.sizes.push(s),
                Ok(_) => {}
                Err(e) => errors.push(e),
            }
        }
        match self.status.as_deref().map(str::trim) {
            None | Some("") => {}
            Some("any") => filters.status = None,
            Some(s) => match Status::parse("status", s) {
                Ok(s) => filters.status = Some(s),
                Err(_) => errors.push(FieldError::new(
                    "status",
                    "one_of",
                    "status must be one of available, pending, sold, adopted, any",
                )),
            },
        }
        if let Some(v) = bound(&mut errors, "min_age", self.min_age, 50.0) {
            filters.age_years.lower(v, true);
        }
        if let Some(v) = bound(&mut errors, "max_age", self.max_age, 50.0) {
            filters.age_years.upper(v, true);
        }
        if let Some(v) = bound(&mut errors, "min_price", self.min_price, 1_000_000.0) {
            filters.price.lower(v, true);
        }
        if let Some(v) = bound(&mut errors, "max_price", self.max_price, 1_000_000.0) {
            filters.price.upper(v, true);
        }
        if let Some(sort) = self.sort.as_deref().filter(|s| !s.trim().is_empty()) {
            match SortBy::parse("sort", sort) {
                Ok(s) => filters.sort_by = Some(s),
                Err(e) => errors.push(e),
            }
        }
        if self.q.as_deref().is_some_and(|q| q.chars().count() > 200) {
            errors.push(FieldError::new("q", "too_long", "q must be at most 200 characters"));
        }
        let traits = Traits {
            good_with_children: self.good_with_children,
            good_with_dogs: self.good_with_dogs,
            good_with_cats: self.good_with_cats,
            house_trained: self.house_trained,
            special_needs: self.special_needs,
        };
        errors.finish()?;
        Ok(Search { filters, traits, text: None })
    }
}

fn paged(app: &petty_app::App, results: &Results, page: PageRequest) -> Paged<ListingOut> {
    let items: Vec<ListingOut> = results.items().map(|l| ListingOut::of(app, l)).collect();
    let total = results.total as u64;
    let has_next = u64::from(page.page) * u64::from(page.page_size) < total;
    Paged { items, total, page: page.page, page_size: page.page_size, has_next }
}

async fn search_page(
    state: &AppState,
    household: HouseholdId,
    query: &CatalogQuery,
) -> Result<(Results, PageRequest), ApiError> {
    let page = PageRequest::parse(query.page, query.page_size)?;
    let search = query.search()?;
    let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let results =
        petty_app::catalog::search(&state.app, household, search, query.q.as_deref(), offset, page.page_size as usize)
            .await?;
    Ok((results, page))
}

/// The household's listings, filtered, searched and sorted; available ones unless `status`
/// says otherwise.
#[utoipa::path(get, path = "/api/v1/catalog", tag = "catalog", params(CatalogQuery),
    responses((status = 200, body = Paged<ListingOut>), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list_listings(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiQuery(query): ApiQuery<CatalogQuery>,
) -> Result<Json<Paged<ListingOut>>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let (results, page) = search_page(&state, actor.household_id, &query).await?;
    Ok(Json(paged(&state.app, &results, page)))
}

/// Add a listing to the household's catalog.
#[utoipa::path(post, path = "/api/v1/catalog", tag = "catalog", request_body = ListingIn,
    responses((status = 201, body = ListingOut), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn create_listing(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiJson(body): ApiJson<ListingIn>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    let listing = petty_app::catalog::create(&state.app, &actor, body.into()).await?;
    let location = format!("/api/v1/catalog/{}", listing.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(ListingOut::of(&state.app, &listing))))
}

/// One listing.
#[utoipa::path(get, path = "/api/v1/catalog/{id}", tag = "catalog",
    params(("id" = Uuid, Path, description = "The listing's id")),
    responses((status = 200, body = ListingOut), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_listing(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ListingOut>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let listing = petty_app::catalog::get(&state.app, actor.household_id, ListingId(id)).await?;
    Ok(Json(ListingOut::of(&state.app, &listing)))
}

/// Change some of a listing's fields.
#[utoipa::path(patch, path = "/api/v1/catalog/{id}", tag = "catalog",
    params(("id" = Uuid, Path, description = "The listing's id")), request_body = ListingPatch,
    responses((status = 200, body = ListingOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_listing(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<ListingPatch>,
) -> Result<Json<ListingOut>, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    let listing = petty_app::catalog::update(&state.app, &actor, ListingId(id), patch.into()).await?;
    Ok(Json(ListingOut::of(&state.app, &listing)))
}

/// Remove a listing (its number is not given again).
#[utoipa::path(delete, path = "/api/v1/catalog/{id}", tag = "catalog",
    params(("id" = Uuid, Path, description = "The listing's id")),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_listing(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    petty_app::catalog::delete(&state.app, &actor, ListingId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A sentence answered from the catalog.
#[derive(Serialize, ToSchema)]
pub(crate) struct QueryAnswerOut {
    /// The first `filters.limit` matches, sorted.
    pub items: Vec<ListingOut>,
    /// Matches before the limit.
    pub total: u64,
    /// The filters applied (the contract's filters object); chips show them one by one.
    #[schema(value_type = Object)]
    pub filters: Value,
    /// The filters in words.
    pub description: String,
    /// `llm` when the configured model understood the sentence, `parser` when Petty's parser did.
    pub source: &'static str,
    /// True when the parser answered because the model failed or is resting after failures.
    pub fallback: bool,
}

/// How a sentence was understood and what it found, for every edge that answers one.
pub(crate) fn answer_json(app: &petty_app::App, answer: &petty_app::catalog::Answer) -> QueryAnswerOut {
    let filters = &answer.understood.filters;
    QueryAnswerOut {
        items: answer.results.items().map(|l| ListingOut::of(app, l)).collect(),
        total: answer.results.total as u64,
        filters: filters_json(filters),
        description: filters.to_string(),
        source: answer.understood.source.as_str(),
        fallback: answer.understood.source == petty_app::catalog::Source::Fallback,
    }
}

/// Ask the catalog in plain words ("golden retrievers under $500", "3 cheapest cats that are
/// not black"): the answer shows the filters it applied. A configured LLM understands the
/// sentence through the `filter_pets` tool; otherwise, or when it fails, Petty's parser does.
#[utoipa::path(post, path = "/api/v1/catalog/query", tag = "catalog", request_body = QueryIn,
    responses((status = 200, body = QueryAnswerOut), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn query_catalog(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiJson(body): ApiJson<QueryIn>,
) -> Result<Json<QueryAnswerOut>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    check_query(&body.query)?;
    let answer = petty_app::catalog::query(&state.app, actor.household_id, &body.query).await?;
    Ok(Json(answer_json(&state.app, &answer)))
}

/// A catalog's settings.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CatalogSettingsIo {
    /// Anyone may read the catalog without signing in, at `/api/v1/public/catalogs/{household_id}`
    /// and `/catalog/public/{household_id}`.
    pub public: bool,
    /// The name a public catalog shows, up to 100 characters.
    pub title: Option<String>,
}

/// The catalog's settings.
#[utoipa::path(get, path = "/api/v1/catalog/settings", tag = "catalog",
    responses((status = 200, body = CatalogSettingsIo)),
    security(("bearer" = [])))]
async fn get_settings(State(state): State<AppState>, actor: CurrentActor) -> Result<Json<CatalogSettingsIo>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let settings = petty_app::catalog::settings(&state.app, actor.household_id).await?;
    Ok(Json(CatalogSettingsIo { public: settings.public, title: settings.title }))
}

/// Make the catalog public (read-only, no sign-in) or private, and name it.
#[utoipa::path(put, path = "/api/v1/catalog/settings", tag = "catalog", request_body = CatalogSettingsIo,
    responses((status = 200, body = CatalogSettingsIo), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn put_settings(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiJson(body): ApiJson<CatalogSettingsIo>,
) -> Result<Json<CatalogSettingsIo>, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    let settings = petty_store::CatalogSettings { public: body.public, title: body.title };
    petty_app::catalog::set_settings(&state.app, &actor, settings).await?;
    let settings = petty_app::catalog::settings(&state.app, actor.household_id).await?;
    Ok(Json(CatalogSettingsIo { public: settings.public, title: settings.title }))
}

/// The household of a public catalog, or 404 (a private catalog is not told apart from none).
pub(crate) async fn public_household(state: &AppState, id: Uuid) -> Result<HouseholdId, ApiError> {
    let household = HouseholdId(id);
    let settings = petty_app::catalog::settings(&state.app, household).await?;
    if settings.public { Ok(household) } else { Err(ApiError::not_found("catalog")) }
}

/// A public catalog's listings: the same filters, no sign-in.
#[utoipa::path(get, path = "/api/v1/public/catalogs/{household_id}", tag = "catalog",
    params(("household_id" = Uuid, Path, description = "The household whose catalog is public"), CatalogQuery),
    responses((status = 200, body = Paged<ListingOut>), (status = 404, body = ErrorBody)))]
async fn list_public(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<CatalogQuery>,
) -> Result<Json<Paged<ListingOut>>, ApiError> {
    let household = public_household(&state, id).await?;
    let (results, page) = search_page(&state, household, &query).await?;
    Ok(Json(paged(&state.app, &results, page)))
}

/// One listing of a public catalog.
#[utoipa::path(get, path = "/api/v1/public/catalogs/{household_id}/{id}", tag = "catalog",
    params(("household_id" = Uuid, Path, description = "The household whose catalog is public"),
        ("id" = Uuid, Path, description = "The listing's id")),
    responses((status = 200, body = ListingOut), (status = 404, body = ErrorBody)))]
async fn get_public(
    State(state): State<AppState>,
    ApiPath((household, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<ListingOut>, ApiError> {
    let household = public_household(&state, household).await?;
    let listing = petty_app::catalog::get(&state.app, household, ListingId(id)).await?;
    Ok(Json(ListingOut::of(&state.app, &listing)))
}
