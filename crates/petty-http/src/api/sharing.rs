//! `/api/v1/pets/{id}/passport`, `/api/v1/passports/{token}`, `/.well-known/petty-passport-key`,
//! `/api/v1/pets/{id}/lost`, `/api/v1/lost/{token}`: what an owner publishes about a pet.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use petty_app::sharing::{self, FoundError};
use petty_core::accounts::Permission;
use petty_core::ids::PetId;
use petty_store::ShareKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::CurrentActor;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(publish_passport, end_passport))
        .routes(routes!(get_passport))
        .routes(routes!(passport_key))
        .routes(routes!(publish_lost, end_lost))
        .routes(routes!(get_lost))
        .routes(routes!(report_found))
}

/// A published link.
#[derive(Serialize, ToSchema)]
pub(crate) struct ShareOut {
    /// The page people open (it holds the token: share it with whom you mean to).
    pub url: String,
    /// The same as JSON.
    pub json_url: String,
    pub token: String,
}

fn base(state: &AppState) -> String {
    state.app.notifier.public_url().trim_end_matches('/').to_owned()
}

/// Publish the pet's vaccination passport: a public page and signed JSON. A new call makes a
/// new link and ends the old one.
#[utoipa::path(post, path = "/api/v1/pets/{id}/passport", tag = "care", params(("id" = Uuid, Path, description = "The pet's id")),
    responses((status = 201, body = ShareOut)),
    security(("bearer" = [])))]
async fn publish_passport(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    let (token, _) = sharing::publish(&state.app, &actor, PetId(id), ShareKind::Passport, false, None)
        .await
        .map_err(|e| not_found(e, "pet"))?;
    let base = base(&state);
    Ok((
        StatusCode::CREATED,
        Json(ShareOut {
            url: format!("{base}/passport/{token}"),
            json_url: format!("{base}/api/v1/passports/{token}"),
            token,
        }),
    ))
}

/// Stop publishing the passport: its link answers 404 from now on (204 also when it was not
/// published).
#[utoipa::path(delete, path = "/api/v1/pets/{id}/passport", tag = "care", params(("id" = Uuid, Path, description = "The pet's id")),
    responses((status = 204)),
    security(("bearer" = [])))]
async fn end_passport(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let actor = actor.require(Permission::ManagePets)?;
    if !state.store.end_share(actor.household_id, PetId(id), ShareKind::Passport).await? {
        // Nothing was published: ending it again is done already, for a pet of the household.
        state.store.get_pet(actor.household_id, PetId(id)).await.map_err(|_| ApiError::not_found("pet"))?;
    }
    Ok(StatusCode::NO_CONTENT)
}

fn not_found(e: petty_store::StoreError, what: &str) -> ApiError {
    match e {
        petty_store::StoreError::NotFound => ApiError::not_found(what),
        other => other.into(),
    }
}

/// A signed passport.
#[derive(Serialize, ToSchema)]
pub(crate) struct PassportOut {
    /// What is vouched for: the pet, each vaccine's latest dose and due date, the issuer and
    /// when it was issued.
    #[schema(value_type = Object)]
    pub document: serde_json::Value,
    /// Ed25519 over the document's canonical JSON (keys sorted, no spaces), base64url.
    pub signature: String,
    /// Always Ed25519.
    pub algorithm: &'static str,
    /// Which of the server's keys signed it (see `/.well-known/petty-passport-key`).
    pub key_id: String,
}

/// A pet's passport, signed now. Needs no account: the link is the permission.
#[utoipa::path(get, path = "/api/v1/passports/{token}", tag = "care", params(("token" = String, Path, description = "The passport link's token")),
    responses((status = 200, body = PassportOut)))]
async fn get_passport(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> Result<Json<PassportOut>, ApiError> {
    let Some((share, pet)) = sharing::open(&state.app, &token, ShareKind::Passport).await? else {
        return Err(ApiError::not_found("passport"));
    };
    Ok(Json(signed_passport(&state, &share, &pet).await?))
}

pub(crate) async fn signed_passport(
    state: &AppState,
    share: &petty_store::PetShare,
    pet: &petty_core::pets::Pet,
) -> Result<PassportOut, ApiError> {
    let document = sharing::passport_document(&state.app, share, pet).await?;
    let key = state.app.passport_key();
    Ok(PassportOut { signature: key.sign(&document), document, algorithm: "Ed25519", key_id: key.key_id() })
}

/// The server's passport keys.
#[derive(Serialize, ToSchema)]
pub(crate) struct KeySetOut {
    /// JSON Web Keys (RFC 8037: kty OKP, crv Ed25519, x the public key in base64url, kid).
    #[schema(value_type = Vec<Object>)]
    pub keys: Vec<serde_json::Value>,
}

/// The public key that checks passports, as a JSON Web Key Set (also at
/// `/.well-known/petty-passport-key`).
#[utoipa::path(get, path = "/api/v1/passport-keys", tag = "care",
    responses((status = 200, body = KeySetOut)))]
pub(crate) async fn passport_key(State(state): State<AppState>) -> Json<KeySetOut> {
    Json(KeySetOut { keys: vec![state.app.passport_key().jwk()] })
}

/// Turning lost-pet mode on.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LostIn {
    /// Show the pet's last known location (from its collar) on the page (default false).
    #[serde(default)]
    pub show_location: bool,
    /// A word for whoever finds the pet (at most 1000 characters).
    pub message: Option<String>,
}

/// Turn on lost-pet mode: a public page (for a QR code on the collar or a poster) where a
/// finder can tell the household, through its alarm contacts.
#[utoipa::path(post, path = "/api/v1/pets/{id}/lost", tag = "care", params(("id" = Uuid, Path, description = "The pet's id")),
    request_body = LostIn,
    responses((status = 201, body = ShareOut)),
    security(("bearer" = [])))]
async fn publish_lost(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<LostIn>,
) -> Result<impl IntoResponse, ApiError> {
    let actor = actor.require(Permission::WriteCare)?;
    let message =
        petty_core::validation::optional_text("message", body.message.as_deref(), sharing::FOUND_MESSAGE_MAX)?;
    let (token, _) =
        sharing::publish(&state.app, &actor, PetId(id), ShareKind::Lost, body.show_location, message.as_deref())
            .await
            .map_err(|e| not_found(e, "pet"))?;
    let base = base(&state);
    Ok((
        StatusCode::CREATED,
        Json(ShareOut { url: format!("{base}/found/{token}"), json_url: format!("{base}/api/v1/lost/{token}"), token }),
    ))
}

/// The pet is home: the lost-pet page answers 404 from now on (204 also when there was none).
#[utoipa::path(delete, path = "/api/v1/pets/{id}/lost", tag = "care", params(("id" = Uuid, Path, description = "The pet's id")),
    responses((status = 204)),
    security(("bearer" = [])))]
async fn end_lost(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let actor = actor.require(Permission::WriteCare)?;
    if !state.store.end_share(actor.household_id, PetId(id), ShareKind::Lost).await? {
        // Nothing was published: ending it again is done already, for a pet of the household.
        state.store.get_pet(actor.household_id, PetId(id)).await.map_err(|_| ApiError::not_found("pet"))?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// What a lost-pet page shows.
#[derive(Serialize, ToSchema)]
pub(crate) struct LostOut {
    pub name: String,
    pub species: &'static str,
    pub breed: Option<String>,
    pub sex: &'static str,
    pub photo_url: Option<String>,
    pub message: Option<String>,
    /// Only when the owner allows it.
    pub last_location: Option<LastLocationOut>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct LastLocationOut {
    pub lat: f64,
    pub lon: f64,
    /// When the collar was there (RFC 3339).
    pub at: String,
}

/// A lost pet's public page, as JSON. Nothing of the household is shown.
#[utoipa::path(get, path = "/api/v1/lost/{token}", tag = "care", params(("token" = String, Path, description = "The lost-pet page's token")),
    responses((status = 200, body = LostOut)))]
async fn get_lost(State(state): State<AppState>, ApiPath(token): ApiPath<String>) -> Result<Json<LostOut>, ApiError> {
    let Some((share, pet)) = sharing::open(&state.app, &token, ShareKind::Lost).await? else {
        return Err(ApiError::not_found("lost-pet page"));
    };
    Ok(Json(lost_out(&state, &share, &pet).await?))
}

pub(crate) async fn lost_out(
    state: &AppState,
    share: &petty_store::PetShare,
    pet: &petty_core::pets::Pet,
) -> Result<LostOut, ApiError> {
    let last_location = if share.show_location {
        sharing::last_location(&state.app, share.household_id, pet.id).await?.map(|(lat, lon, at)| LastLocationOut {
            lat,
            lon,
            at: petty_app::rfc3339::from_ms(petty_store::to_ms(at)).unwrap_or_default(),
        })
    } else {
        None
    };
    let p = &pet.profile;
    Ok(LostOut {
        name: p.name.clone(),
        species: p.species.as_str(),
        breed: p.breed.clone(),
        sex: p.sex.as_str(),
        photo_url: p.photo_url.clone(),
        message: share.message.clone(),
        last_location,
    })
}

/// A finder's report.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FoundIn {
    /// Where and how the pet is (1–1000 characters).
    pub message: String,
    /// How the household can reach the finder (optional, at most 200 characters).
    pub contact: Option<String>,
}

/// Tell the household their pet was found: they are alerted through their alarm contacts at
/// once. A page takes at most 5 reports an hour.
#[utoipa::path(post, path = "/api/v1/lost/{token}/found", tag = "care", params(("token" = String, Path, description = "The lost-pet page's token")),
    request_body = FoundIn,
    responses((status = 202)))]
async fn report_found(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    ApiJson(body): ApiJson<FoundIn>,
) -> Result<StatusCode, ApiError> {
    let Some((share, pet)) = sharing::open(&state.app, &token, ShareKind::Lost).await? else {
        return Err(ApiError::not_found("lost-pet page"));
    };
    sharing::report_found(&state.app, &share, &pet, &body.message, body.contact.as_deref())
        .await
        .map_err(found_error)?;
    Ok(StatusCode::ACCEPTED)
}

pub(crate) fn found_error(e: FoundError) -> ApiError {
    match e {
        FoundError::Invalid(invalid) => invalid.into(),
        FoundError::TooMany => ApiError {
            retry_after: Some(3600),
            ..ApiError::new(
                ErrorCode::RateLimited,
                "this page has passed on several reports in the last hour; the household has been told",
            )
        },
        FoundError::Store(e) => e.into(),
    }
}
