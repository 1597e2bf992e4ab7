//! The pet catalog's use cases: listings written and removed (audited, counted against the
//! plan), searches by filters, words, or a sentence, and the catalog's settings. Every edge
//! (the API, the dashboard, the PetStore profile, MCP, `petty query`) searches through
//! [`search`] and [`query`]; nothing else reads the listings.
//!
//! A sentence is understood by Petty's deterministic parser, or, when an LLM is configured, by
//! the model calling the contract's `filter_pets` tool ([`tool`]). The model has 5 s; an
//! error, a timeout or a call that does not parse falls back to the parser (marked so), and
//! after three failures in a row the model is left alone for a minute.

pub mod tool;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::time::Duration;

use petty_core::accounts::Actor;
use petty_core::catalog::{
    Bounds, FilterValue, Filters, Listing, ListingContent, ListingDraft, Search, TextMatch, parse, search_terms,
};
use petty_core::files::{self, Purpose};
use petty_core::ids::{FileId, HouseholdId, ListingId};
use petty_core::validation::Invalid;
use petty_store::{CatalogSettings, CatalogSnapshot, FileStatus, StoreError};
use serde_json::{Map, Value, json};

use crate::App;

/// How long the model has to answer (or less, when `[llm] timeout_secs` says so).
pub const LLM_TIMEOUT: Duration = Duration::from_secs(5);
/// Failures in a row after which the model is skipped …
const BREAKER_FAILURES: u32 = 3;
/// … for this long.
const BREAKER_OPEN_MS: i64 = 60_000;

/// Why a catalog use case did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("no such listing")]
    NotFound,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for CatalogError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => CatalogError::NotFound,
            other => CatalogError::Store(other),
        }
    }
}

/// The model's circuit breaker, per node, shared by everything that asks the model (the
/// catalog's understanding of a sentence, the chat): failures anywhere mean the endpoint is down.
#[derive(Debug, Default)]
pub struct Breaker {
    failures: AtomicU32,
    open_until_ms: AtomicI64,
}

impl Breaker {
    /// Whether the model is being left alone at `now_ms`.
    pub fn is_open(&self, now_ms: i64) -> bool {
        now_ms < self.open_until_ms.load(Ordering::Relaxed)
    }

    /// Notes how a call of the model went.
    pub fn record(&self, ok: bool, now_ms: i64) {
        if ok {
            self.failures.store(0, Ordering::Relaxed);
            return;
        }
        let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failures >= BREAKER_FAILURES {
            self.failures.store(0, Ordering::Relaxed);
            self.open_until_ms.store(now_ms + BREAKER_OPEN_MS, Ordering::Relaxed);
            tracing::warn!("the LLM failed {failures} times in a row; Petty answers without it for 60 s");
        }
    }
}

/// Notes who changed the catalog in the household's audit log.
async fn audit(
    app: &App,
    actor: &Actor,
    action: &str,
    entity_type: &str,
    id: impl std::fmt::Display,
) -> Result<(), StoreError> {
    let who = crate::audit::Who::actor(actor, None);
    crate::audit::record(app, &who, action, entity_type, id, &crate::audit::no_detail()).await
}

/// Adds a listing to the actor's household catalog.
pub async fn create(app: &App, actor: &Actor, draft: ListingDraft) -> Result<Listing, CatalogError> {
    let content = draft.check(None)?;
    check_photo(app, actor.household_id, &content).await?;
    let listing = app.store.create_listing(actor.household_id, &content, actor.user_id(), app.now()).await?;
    audit(app, actor, "create", "catalog_listing", listing.id).await?;
    Ok(listing)
}

/// Changes the fields a draft sets.
pub async fn update(app: &App, actor: &Actor, id: ListingId, draft: ListingDraft) -> Result<Listing, CatalogError> {
    let before = app.store.get_listing(actor.household_id, id).await?;
    let content = draft.check(Some(&before.content))?;
    if content.photos != before.content.photos {
        check_photo(app, actor.household_id, &content).await?;
    }
    let listing = app.store.update_listing(actor.household_id, id, &content, app.now()).await?;
    audit(app, actor, "update", "catalog_listing", listing.id).await?;
    let gone: Vec<&String> = before.content.photos.iter().filter(|p| !content.photos.contains(p)).collect();
    for photo in gone {
        drop_photo(app, actor.household_id, photo).await;
    }
    Ok(listing)
}

/// Removes a listing, and its uploaded photos.
pub async fn delete(app: &App, actor: &Actor, id: ListingId) -> Result<(), CatalogError> {
    let before = app.store.get_listing(actor.household_id, id).await?;
    app.store.delete_listing(actor.household_id, id).await?;
    audit(app, actor, "delete", "catalog_listing", id).await?;
    for photo in &before.content.photos {
        drop_photo(app, actor.household_id, photo).await;
    }
    Ok(())
}

/// Each uploaded photo a listing names (`/files/{id}`) must be one of the household's confirmed
/// `listing_photo` files.
async fn check_photo(app: &App, household: HouseholdId, content: &ListingContent) -> Result<(), CatalogError> {
    let refused = |rule, message: &str| CatalogError::Invalid(Invalid::one("photos", rule, message));
    for id in content.photos.iter().filter_map(|p| files::parse_stable_url(p)) {
        match app.store.get_file(household, FileId(id)).await {
            Ok(file) if file.purpose == Purpose::ListingPhoto && file.status == FileStatus::Confirmed => {}
            Ok(_) => {
                return Err(refused("listing_photo", "photos must name confirmed uploads of purpose listing_photo"));
            }
            Err(StoreError::NotFound) => {
                return Err(refused(
                    "exists",
                    &format!("photos names /files/{id}, which is no file of this household"),
                ));
            }
            Err(e) => return Err(CatalogError::Store(e)),
        }
    }
    Ok(())
}

/// Deletes the uploaded listing photo at `photo` once no listing shows it. A failure is logged:
/// the photo stays, counted in the household's storage, until it is deleted by hand.
async fn drop_photo(app: &App, household: HouseholdId, photo: &str) {
    let Some(id) = files::parse_stable_url(photo) else { return };
    let still_shown = match app.store.catalog(household).await {
        Ok(snapshot) => snapshot.listings.iter().any(|l| l.content.photos.iter().any(|p| p == photo)),
        Err(_) => true,
    };
    let is_listing_photo =
        app.store.get_file(household, FileId(id)).await.is_ok_and(|f| f.purpose == Purpose::ListingPhoto);
    if still_shown || !is_listing_photo {
        return;
    }
    if let Err(e) = crate::files::delete_file(app, household, FileId(id)).await {
        tracing::warn!(file_id = %id, error = %e, "a listing's old photo could not be deleted");
    }
}

/// Takes a deleted file out of every listing that showed it.
pub(crate) async fn forget_photo(app: &App, household: HouseholdId, id: FileId) -> Result<(), StoreError> {
    let gone = files::stable_url(id.0);
    let snapshot = app.store.catalog(household).await?;
    for listing in snapshot.listings.iter().filter(|l| l.content.photos.contains(&gone)) {
        let mut content = listing.content.clone();
        content.photos.retain(|p| *p != gone);
        app.store.update_listing(household, listing.id, &content, app.now()).await?;
    }
    Ok(())
}

/// Adds an uploaded photo (a confirmed `listing_photo` file) to the end of a listing's photos.
pub async fn add_photo(app: &App, actor: &Actor, id: ListingId, file: FileId) -> Result<Listing, CatalogError> {
    let before = app.store.get_listing(actor.household_id, id).await?;
    let mut photos = before.content.photos.clone();
    photos.push(files::stable_url(file.0));
    let draft = ListingDraft { photos: Some(photos), ..ListingDraft::default() };
    update(app, actor, id, draft).await
}

/// One listing by id.
pub async fn get(app: &App, household: HouseholdId, id: ListingId) -> Result<Listing, CatalogError> {
    Ok(app.store.get_listing(household, id).await?)
}

/// One listing by its number in the household's catalog.
pub async fn by_number(app: &App, household: HouseholdId, number: i64) -> Result<Listing, CatalogError> {
    let snapshot = app.store.catalog(household).await?;
    let at = snapshot.listings.binary_search_by_key(&number, |l| l.number).map_err(|_| CatalogError::NotFound)?;
    Ok(snapshot.listings[at].clone())
}

/// The catalog's settings.
pub async fn settings(app: &App, household: HouseholdId) -> Result<CatalogSettings, CatalogError> {
    Ok(app.store.catalog_state(household).await?.1)
}

/// Makes the catalog public or private, and names it.
pub async fn set_settings(app: &App, actor: &Actor, settings: CatalogSettings) -> Result<(), CatalogError> {
    let title = petty_core::validation::optional_text("title", settings.title.as_deref(), 100)?;
    app.store.set_catalog_settings(actor.household_id, &CatalogSettings { public: settings.public, title }).await?;
    audit(app, actor, "update", "catalog_settings", actor.household_id).await?;
    Ok(())
}

/// What a search found: the snapshot it read, the total before paging and the page's listings
/// (positions in the snapshot).
pub struct Results {
    snapshot: Arc<CatalogSnapshot>,
    pub total: usize,
    at: Vec<usize>,
}

impl Results {
    pub fn items(&self) -> impl Iterator<Item = &Listing> {
        self.at.iter().map(|i| &self.snapshot.listings[*i])
    }
}

/// Searches the household's catalog; `words` (if any) must each start a word of a listing's
/// name, breed or description, and rank the results when no sort is asked for.
pub async fn search(
    app: &App,
    household: HouseholdId,
    mut search: Search,
    words: Option<&str>,
    offset: usize,
    limit: usize,
) -> Result<Results, CatalogError> {
    let snapshot = app.store.catalog(household).await?;
    if let Some(words) = words.map(str::trim).filter(|w| !w.is_empty()) {
        let terms = search_terms(words);
        let numbers = app.store.catalog_text_matches(household, &terms).await?;
        search.text = Some(TextMatch { numbers, terms });
    }
    let found = search.run_indexed(&snapshot.listings, &snapshot.index, offset, limit);
    let (total, at) = (found.total, found.at);
    Ok(Results { snapshot, total, at })
}

/// Who understood a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The model, through the `filter_pets` tool.
    Llm,
    /// Petty's parser, with no model configured.
    Parser,
    /// Petty's parser, because the model failed, timed out, made no usable call or is resting
    /// after failures.
    Fallback,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Llm => "llm",
            Source::Parser | Source::Fallback => "parser",
        }
    }
}

/// A sentence understood.
pub struct Understood {
    pub filters: Filters,
    pub source: Source,
}

/// Understands a sentence about pets: by the model when one is configured and well, else by the
/// parser. Never fails: the parser always answers.
pub async fn understand(app: &App, text: &str) -> Understood {
    let Some(llm) = &app.llm else { return Understood { filters: parse(text), source: Source::Parser } };
    let now_ms = app.now_ms();
    if app.llm_breaker.is_open(now_ms) {
        return Understood { filters: parse(text), source: Source::Fallback };
    }
    let within = LLM_TIMEOUT.min(llm.config().timeout);
    let outcome = tokio::time::timeout(within, llm.chat(&tool::request(&llm.config().model, text))).await;
    let filters = match outcome {
        Ok(Ok(answer)) => tool::filters_of(&answer),
        Ok(Err(e)) => Err(format!("the LLM failed: {e}")),
        Err(_) => Err(format!("the LLM did not answer within {} s", within.as_secs_f64())),
    };
    if let Err(why) = &filters {
        tracing::info!(%why, "the catalog's parser answers instead of the LLM");
    }
    app.llm_breaker.record(filters.is_ok(), now_ms);
    match filters {
        Ok(filters) => Understood { filters, source: Source::Llm },
        Err(_) => Understood { filters: parse(text), source: Source::Fallback },
    }
}

/// A sentence answered: how it was understood and what it found (the first `limit` of the
/// filters, after sorting).
pub struct Answer {
    pub understood: Understood,
    pub results: Results,
}

/// Understands a sentence and searches the household's catalog with it.
pub async fn query(app: &App, household: HouseholdId, text: &str) -> Result<Answer, CatalogError> {
    let understood = understand(app, text).await;
    let search = Search { filters: understood.filters.clone(), ..Search::default() };
    let limit = understood.filters.limit as usize;
    let results = self::search(app, household, search, None, 0, limit).await?;
    Ok(Answer { understood, results })
}

/// A number as JSON: whole numbers without a fraction (500, not 500.0).
pub fn number_json(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 1e15 { json!(v as i64) } else { json!(v) }
}

fn bounds_json(b: &Bounds) -> Value {
    Value::Object(b.entries().into_iter().map(|(k, v)| (k.to_owned(), number_json(v))).collect())
}

/// The contract's filters object as JSON (`limit` and `status` always
/// there): what the API, the PetStore profile, MCP and `petty query` all show.
pub fn filters_json(filters: &Filters) -> Value {
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

/// The filters object as a client sends it (the MCP search tools' input): the keys of
/// [`filters_json`], each checked; an unknown key or a bad value is named. Names of species,
/// breeds and colours go through the vocabulary ("puppy" is a dog).
pub fn filters_from_json(value: &Value) -> Result<Filters, String> {
    use petty_core::catalog::{SortBy, Status, canonical_breeds, canonical_colors, canonical_species};
    let Value::Object(map) = value else { return Err("the filters must be an object".to_owned()) };
    let mut f = Filters::default();
    let list = |key: &str, v: &Value, canon: &dyn Fn(&str) -> Vec<String>| -> Result<Vec<String>, String> {
        let items: Vec<&str> = match v {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().ok_or_else(|| format!("{key} must be a list of names")))
                .collect::<Result<_, _>>()?,
            _ => return Err(format!("{key} must be a list of names")),
        };
        let mut out: Vec<String> = Vec::new();
        for item in items {
            let found = canon(item);
            if found.is_empty() {
                return Err(format!("{key}: {item:?} is not a name Petty knows"));
            }
            for name in found {
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
        Ok(out)
    };
    let species =
        |s: &str| canonical_species(s).filter(|s| *s != "other").map(|s| vec![s.to_owned()]).unwrap_or_default();
    let bounds = |key: &str, v: &Value, max: f64| -> Result<Bounds, String> {
        let Value::Object(b) = v else { return Err(format!("{key} must be an object of gt, gte, lt, lte")) };
        let mut out = Bounds::default();
        for (k, n) in b {
            let n = n
                .as_f64()
                .filter(|n| n.is_finite() && (0.0..=max).contains(n))
                .ok_or_else(|| format!("{key}.{k} must be a number from 0 to {max}"))?;
            match k.as_str() {
                "gt" => out.lower(n, false),
                "gte" => out.lower(n, true),
                "lt" => out.upper(n, false),
                "lte" => out.upper(n, true),
                other => return Err(format!("{key}.{other} is not a bound (gt, gte, lt, lte)")),
            }
        }
        Ok(out)
    };
    for (key, v) in map {
        match key.as_str() {
            "species" => f.species = list(key, v, &species)?,
            "exclude_species" => f.exclude_species = list(key, v, &species)?,
            "breeds" => f.breeds = list(key, v, &canonical_breeds)?,
            "exclude_breeds" => f.exclude_breeds = list(key, v, &canonical_breeds)?,
            "colors" => f.colors = list(key, v, &canonical_colors)?,
            "exclude_colors" => f.exclude_colors = list(key, v, &canonical_colors)?,
            "age_years" => f.age_years = bounds(key, v, 50.0)?,
            "price" => f.price = bounds(key, v, 1_000_000.0)?,
            "weight_kg" => f.weight_kg = bounds(key, v, 2_000.0)?,
            "currency" => {
                let c = v
                    .as_str()
                    .map(str::to_uppercase)
                    .filter(|c| c.len() == 3 && c.chars().all(|x| x.is_ascii_uppercase()));
                f.currency = Some(c.ok_or("currency must be a three-letter code")?);
            }
            "sex" => {
                let s = v.as_str().and_then(|s| petty_core::catalog::Sex::parse("sex", s).ok());
                f.sex = Some(s.ok_or("sex must be male or female")?.as_str().to_owned());
            }
            "sizes" => {
                let items = v.as_array().ok_or("sizes must be a list")?;
                for item in items {
                    let size = item.as_str().and_then(|s| petty_core::catalog::Size::parse("sizes", s).ok());
                    f.sizes.push(size.ok_or("sizes must be small, medium, large or xlarge")?);
                }
            }
            "name" => {
                let n = v.as_str().map(str::trim).filter(|n| !n.is_empty() && n.chars().count() <= 100);
                f.name = Some(n.ok_or("name must be 1 to 100 characters")?.to_owned());
            }
            "sort_by" => {
                f.sort_by = Some(
                    v.as_str()
                        .and_then(|s| SortBy::parse("sort_by", s).ok())
                        .ok_or("sort_by must be one of price_asc, price_desc, age_asc, age_desc, name, newest")?,
                )
            }
            "limit" => {
                let l = v.as_u64().filter(|l| (1..=u64::from(petty_core::catalog::MAX_LIMIT)).contains(l));
                f.limit = l.ok_or("limit must be a whole number from 1 to 100")? as u32;
            }
            "status" => {
                f.status = match v {
                    Value::Null => None,
                    Value::String(s) if s == "any" => None,
                    Value::String(s) => Some(Status::parse("status", s).map_err(|e| e.message)?),
                    _ => return Err("status must be available, pending, sold, adopted or null".to_owned()),
                }
            }
            other => return Err(format!("{other} is not a filter")),
        }
    }
    Ok(f)
}

/// The filters object's JSON Schema (the MCP search tools' input).
pub fn filters_schema() -> Value {
    let names = json!({"type": "array", "items": {"type": "string"}});
    let bounds = json!({"type": "object", "properties": {
        "gt": {"type": "number"}, "gte": {"type": "number"}, "lt": {"type": "number"}, "lte": {"type": "number"}
    }, "additionalProperties": false});
    json!({
        "type": "object",
        "properties": {
            "species": names, "exclude_species": names, "breeds": names, "exclude_breeds": names,
            "colors": names, "exclude_colors": names,
            "age_years": bounds, "price": bounds, "weight_kg": bounds,
            "currency": {"type": "string", "description": "An ISO code, e.g. USD"},
            "sex": {"type": "string", "enum": ["male", "female"]},
            "sizes": {"type": "array", "items": {"type": "string", "enum": ["small", "medium", "large", "xlarge"]}},
            "name": {"type": "string"},
            "sort_by": {"type": "string", "enum": ["price_asc", "price_desc", "age_asc", "age_desc", "name", "newest"]},
            "limit": {"type": "integer", "minimum": 1, "maximum": 100},
            "status": {"type": ["string", "null"], "enum": ["available", "pending", "sold", "adopted", "any", null]}
        },
        "additionalProperties": false
    })
}
