//! `/api/v1/pets`: a household's pets.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use petty_core::accounts::Permission;
use petty_core::billing::Limited;
use petty_core::ids::PetId;
use petty_core::paging::PageRequest;
use petty_core::pets::{Pet, PetProfile, RawPetProfile, format_date};
use petty_store::PetFilter;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::{Paged, patch_field};
use crate::auth::CurrentActor;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientIp};
use crate::render::JsonBody;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_pets, create_pet)).routes(routes!(get_pet, update_pet, delete_pet))
}

/// A pet as the API shows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct PetOut {
    pub id: Uuid,
    pub household_id: Uuid,
    pub name: String,
    /// dog, cat, bird, rabbit, rodent, fish, reptile, horse or other.
    pub species: &'static str,
    pub breed: Option<String>,
    /// `YYYY-MM-DD` (the 1st of the month, or 1 January, when only the month or year is known).
    pub date_of_birth: Option<String>,
    /// How much of the date of birth is known: day, month or year.
    pub birth_precision: &'static str,
    /// male, female or unknown.
    pub sex: &'static str,
    /// Whether the pet is neutered or spayed; null when nobody said.
    pub neutered: Option<bool>,
    pub weight_kg: Option<f64>,
    pub microchip_id: Option<String>,
    pub photo_url: Option<String>,
    pub notes: Option<String>,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub created_at: OffsetDateTime,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub updated_at: OffsetDateTime,
}

impl From<&Pet> for PetOut {
    fn from(p: &Pet) -> Self {
        let profile = &p.profile;
        Self {
            id: p.id.0,
            household_id: p.household_id.0,
            name: profile.name.clone(),
            species: profile.species.as_str(),
            breed: profile.breed.clone(),
            date_of_birth: profile.date_of_birth.map(format_date),
            birth_precision: profile.birth_precision.as_str(),
            sex: profile.sex.as_str(),
            neutered: profile.neutered,
            weight_kg: profile.weight_kg,
            microchip_id: profile.microchip_id.clone(),
            photo_url: profile.photo_url.clone(),
            notes: profile.notes.clone(),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A new pet. Only `name` and `species` are required.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PetIn {
    /// 1–100 characters.
    pub name: String,
    /// dog, cat, bird, rabbit, rodent, fish, reptile, horse or other.
    pub species: String,
    /// Up to 100 characters.
    pub breed: Option<String>,
    /// `YYYY-MM-DD`, not in the future.
    pub date_of_birth: Option<String>,
    /// How much of the date of birth is known: day (the default), month or year.
    pub birth_precision: Option<String>,
    /// male, female or unknown (the default).
    pub sex: Option<String>,
    /// Whether the pet is neutered or spayed.
    pub neutered: Option<bool>,
    /// More than 0, at most 1500.
    pub weight_kg: Option<f64>,
    /// 9 to 15 letters and digits (an ISO 11784 chip is 15 digits); spaces, dashes and dots are dropped.
    pub microchip_id: Option<String>,
    /// An http(s) URL or a path starting with `/`.
    pub photo_url: Option<String>,
    /// Up to 4000 characters.
    pub notes: Option<String>,
}

impl From<PetIn> for RawPetProfile {
    fn from(p: PetIn) -> Self {
        RawPetProfile {
            name: p.name,
            species: p.species,
            breed: p.breed,
            date_of_birth: p.date_of_birth,
            birth_precision: p.birth_precision,
            sex: p.sex,
            neutered: p.neutered,
            weight_kg: p.weight_kg,
            microchip_id: p.microchip_id,
            photo_url: p.photo_url,
            notes: p.notes,
        }
    }
}

/// Changes to a pet: a field left out stays as it is; `null` clears it.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct PetPatch {
    pub name: Option<String>,
    pub species: Option<String>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub breed: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub date_of_birth: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub birth_precision: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub sex: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<bool>)]
    pub neutered: Option<Option<bool>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<f64>)]
    pub weight_kg: Option<Option<f64>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub microchip_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub photo_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

impl PetPatch {
    fn apply(self, mut raw: RawPetProfile) -> RawPetProfile {
        if let Some(v) = self.name {
            raw.name = v;
        }
        if let Some(v) = self.species {
            raw.species = v;
        }
        macro_rules! nullable {
            ($($f:ident),*) => { $(if let Some(v) = self.$f { raw.$f = v; })* };
        }
        nullable!(breed, date_of_birth, birth_precision, sex, neutered, weight_kg, microchip_id, photo_url, notes);
        raw
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListPetsQuery {
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// Items per page, 1–500 (default 50).
    pub page_size: Option<u32>,
    /// Only pets of this species.
    pub species: Option<String>,
    /// Only pets whose name contains this text (any case).
    pub q: Option<String>,
}

fn today() -> time::Date {
    OffsetDateTime::now_utc().date()
}

/// List the household's pets, by name.
#[utoipa::path(get, path = "/api/v1/pets", tag = "pets", params(ListPetsQuery),
    responses((status = 200, body = Paged<PetOut>)),
    security(("bearer" = [])))]
pub(crate) async fn list_pets(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiQuery(query): ApiQuery<ListPetsQuery>,
) -> Result<Json<Paged<PetOut>>, ApiError> {
    let actor = actor.require(Permission::ReadCare)?;
    let page = PageRequest::parse(query.page, query.page_size)?;
    let species = query.species.as_deref().filter(|s| !s.is_empty()).map(str::parse).transpose()?;
    let name_contains = query.q.filter(|q| !q.trim().is_empty()).map(|q| q.trim().chars().take(80).collect());
    // A vet sees the pets shared with them.
    let filter =
        PetFilter { species, name_contains, shared_with: actor.sees_only_shared_pets(), ..PetFilter::default() };
    let pets = state.store.list_pets(actor.household_id, &filter, page).await?;
    Ok(Json(Paged::from_page(pets, |p| PetOut::from(&p))))
}

/// Add a pet to the household.
#[utoipa::path(post, path = "/api/v1/pets", tag = "pets", request_body = PetIn,
    responses((status = 201, body = PetOut)),
    security(("bearer" = [])))]
async fn create_pet(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<PetIn>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    let profile = PetProfile::parse(&body.into(), today())?;
    petty_app::billing::check_limit(&state.app, actor.household_id, Limited::Pets).await?;
    let pet = state.store.create_pet(actor.household_id, &profile, OffsetDateTime::now_utc()).await?;
    let location = format!("/api/v1/pets/{}", pet.id);
    crate::api::audit(&state, &actor, ip, "create", "pet", pet.id, petty_app::audit::no_detail()).await?;
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(PetOut::from(&pet))))
}

/// One pet.
#[utoipa::path(get, path = "/api/v1/pets/{id}", tag = "pets", params(("id" = Uuid, Path, description = "The pet's id")),
    responses((status = 200, body = PetOut)),
    security(("bearer" = [])))]
pub(crate) async fn get_pet(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<JsonBody, ApiError> {
    let actor = actor.require_pet(&state, PetId(id)).await?;
    let key = (actor.household_id, PetId(id));
    let pet = state.store.get_pet(key.0, key.1).await.map_err(not_found)?;
    let body = state.pet_bodies.json(key, &pet, state.store.shares_snapshots(), |p: &Pet| PetOut::from(p))?;
    Ok(JsonBody(body))
}

/// Change some of a pet's fields.
#[utoipa::path(patch, path = "/api/v1/pets/{id}", tag = "pets", params(("id" = Uuid, Path, description = "The pet's id")),
    request_body = PetPatch,
    responses((status = 200, body = PetOut)),
    security(("bearer" = [])))]
async fn update_pet(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<PetPatch>,
) -> Result<Json<PetOut>, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    let current = state.store.get_pet(actor.household_id, PetId(id)).await.map_err(not_found)?;
    let profile = PetProfile::parse(&patch.apply(current.profile.to_raw()), today())?;
    let new_weight = profile.weight_kg.filter(|w| Some(*w) != current.profile.weight_kg);
    let pet = state
        .store
        .update_pet(actor.household_id, PetId(id), &profile, OffsetDateTime::now_utc())
        .await
        .map_err(not_found)?;
    if let Some(weight) = new_weight {
        // The weight log keeps every weight the pet was given.
        petty_app::care::weight_changed(&state.app, &actor, &pet, weight).await?;
    }
    crate::api::audit(
        &state,
        &actor,
        ip,
        "update",
        "pet",
        pet.id,
        petty_app::audit::fields(&current.profile.changed_fields(&pet.profile)),
    )
    .await?;
    Ok(Json(PetOut::from(&pet)))
}

/// Remove a pet, with its uploaded photos and attachments.
#[utoipa::path(delete, path = "/api/v1/pets/{id}", tag = "pets", params(("id" = Uuid, Path, description = "The pet's id")),
    responses((status = 204)),
    security(("bearer" = [])))]
async fn delete_pet(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    state.store.get_pet(actor.household_id, PetId(id)).await.map_err(not_found)?;
    // Its photos and attachments first: their bytes are in the object store, not the database.
    petty_app::files::delete_files_of_pet(&state.app, actor.household_id, PetId(id)).await?;
    state.store.delete_pet(actor.household_id, PetId(id)).await.map_err(not_found)?;
    crate::api::audit(&state, &actor, ip, "delete", "pet", id, petty_app::audit::no_detail()).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn not_found(e: petty_store::StoreError) -> ApiError {
    match e {
        petty_store::StoreError::NotFound => ApiError::not_found("pet"),
        other => other.into(),
    }
}
