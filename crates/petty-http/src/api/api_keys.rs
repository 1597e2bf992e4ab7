//! `/api/v1/api-keys`: keys for integrations (`pk_...`), shown once, stored hashed, scoped
//! read / write / admin, revocable, with their last use.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use petty_core::accounts::{ApiKeyScope, Permission, parse_api_key_name};
use petty_core::ids::ApiKeyId;
use petty_store::ApiKey;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::Paged;
use crate::auth::CurrentActor;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ClientIp};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_api_keys, create_api_key)).routes(routes!(revoke_api_key))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApiKeyIn {
    /// What the key is for (1–80 characters).
    pub name: String,
    /// read, write or admin.
    pub scope: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ApiKeyOut {
    pub id: Uuid,
    pub name: String,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
    pub scope: String,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub created_at: OffsetDateTime,
    #[serde(with = "crate::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "crate::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// The key itself: in the answer to its creation and never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl ApiKeyOut {
    fn new(k: ApiKey, key: Option<String>) -> Self {
        Self {
            id: k.id.0,
            name: k.name,
            prefix: k.prefix,
            scope: k.scope.as_str().to_owned(),
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
            key,
        }
    }
}

/// The household's API keys, newest first (revoked ones included).
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api keys",
    responses((status = 200, body = Paged<ApiKeyOut>)),
    security(("bearer" = [])))]
async fn list_api_keys(State(state): State<AppState>, actor: CurrentActor) -> Result<Json<Paged<ApiKeyOut>>, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    let keys = state.store.list_api_keys(actor.household_id).await?;
    Ok(Json(Paged::all(keys.into_iter().map(|k| ApiKeyOut::new(k, None)).collect())))
}

/// Make a key. Send it as `Authorization: Bearer pk_...` or `X-API-Key: pk_...`. Any member
/// may make one, with no more than their role allows (a sitter or a vet: `read`; a member:
/// `read` or `write`; an owner: any). A key works only while its maker is a member (a sitter's
/// until their time ends), and never does more than its maker's role at the time. Making a key
/// is a sensitive action: with MFA on, send a fresh code in `X-MFA-Code`.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api keys", request_body = ApiKeyIn,
    params(("X-MFA-Code" = Option<String>, Header, description = "With MFA on: a fresh code of the authenticator app or a backup code (a sensitive action)")),
    responses((status = 201, body = ApiKeyOut)),
    security(("bearer" = [])))]
async fn create_api_key(
    State(state): State<AppState>,
    actor: crate::stepup::StepUp,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<ApiKeyIn>,
) -> Result<(StatusCode, Json<ApiKeyOut>), ApiError> {
    let checked = actor.require(Permission::Read)?;
    let (_, role) = actor.user()?;
    let name = parse_api_key_name("name", &body.name)?;
    let scope: ApiKeyScope = body.scope.parse()?;
    if !scope.within(role) {
        return Err(ApiError::forbidden(format!(
            "a key cannot do more than its maker: a {} may make keys of scope {}",
            role.as_str(),
            ApiKeyScope::ALL.iter().filter(|s| s.within(role)).map(|s| s.as_str()).collect::<Vec<_>>().join(" or ")
        )));
    }
    let (created, key) =
        petty_app::access::make_api_key(&state.app, checked.household_id, checked.user_id(), name, scope).await?;
    crate::api::audit(
        &state,
        &checked,
        ip,
        "create",
        "api_key",
        created.id,
        petty_app::audit::fields(&["name", "scope"]),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(ApiKeyOut::new(created, Some(key)))))
}

/// Revoke a key; it stops working at once (keys are looked up on every request).
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api keys",
    params(("id" = Uuid, Path, description = "The key's id")),
    responses((status = 204)),
    security(("bearer" = [])))]
async fn revoke_api_key(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    state.store.revoke_api_key(actor.household_id, ApiKeyId(id), OffsetDateTime::now_utc()).await.map_err(
        |e| match e {
            petty_store::StoreError::NotFound => ApiError::not_found("live API key"),
            other => other.into(),
        },
    )?;
    crate::api::audit(&state, &actor, ip, "revoke", "api_key", id, petty_app::audit::no_detail()).await?;
    Ok(StatusCode::NO_CONTENT)
}
