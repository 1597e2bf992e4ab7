//! `/api/v1/household`: the caller's household, its members and invitations; and
//! `/api/v1/invitations/accept` for an existing user joining another household.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use petty_core::accounts::{Email, Permission, Role, check_membership_end};
use petty_core::ids::{InvitationId, UserId};
use petty_store::{Invitation, Member};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::api::Paged;
use crate::api::auth::{MembershipOut, UserOut};
use crate::auth::{CurrentActor, secret_hash};
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::{ApiJson, ApiPath, ClientIp};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_retention, set_retention))
        .routes(routes!(list_members))
        .routes(routes!(remove_member, change_member))
        .routes(routes!(vet_pets, share_with_vet))
        .routes(routes!(list_invitations, create_invitation))
        .routes(routes!(revoke_invitation))
        .routes(routes!(accept_invitation))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct MemberOut {
    pub user: UserOut,
    pub role: String,
    #[serde(with = "crate::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub joined_at: OffsetDateTime,
    /// False once a sitter's time has ended.
    pub active: bool,
}

impl MemberOut {
    fn new(m: Member, now: OffsetDateTime) -> Self {
        Self {
            active: m.ends_at.is_none_or(|e| e > now),
            user: m.user.into(),
            role: m.role.as_str().to_owned(),
            ends_at: m.ends_at,
            joined_at: m.joined_at,
        }
    }
}

/// Everyone in the household.
#[utoipa::path(get, path = "/api/v1/household/members", tag = "household",
    responses((status = 200, body = Paged<MemberOut>)),
    security(("bearer" = [])))]
async fn list_members(State(state): State<AppState>, actor: CurrentActor) -> Result<Json<Paged<MemberOut>>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let now = OffsetDateTime::now_utc();
    let members = state.store.list_members(actor.household_id).await?;
    Ok(Json(Paged::all(members.into_iter().map(|m| MemberOut::new(m, now)).collect())))
}

/// Remove someone from the household (owners only; the last owner stays).
#[utoipa::path(delete, path = "/api/v1/household/members/{user_id}", tag = "household",
    params(("user_id" = Uuid, Path, description = "The member's user id")),
    responses((status = 204), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn remove_member(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiPath(user_id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    state.store.remove_member(actor.household_id, UserId(user_id), OffsetDateTime::now_utc()).await.map_err(
        |e| match e {
            petty_store::StoreError::NotFound => ApiError::not_found("member"),
            petty_store::StoreError::Conflict(_) => last_owner("removed"),
            other => other.into(),
        },
    )?;
    crate::api::audit(&state, &actor, ip, "remove", "member", user_id, petty_app::audit::no_detail()).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn last_owner(what: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Conflict,
        format!(
            "the household's last owner cannot be {what}: a household keeps at least one owner; \
             make someone else owner first (PATCH /api/v1/household/members/{{user_id}})"
        ),
    )
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemberChangeIn {
    /// owner, member, sitter or vet.
    pub role: String,
    /// Required for a sitter: when their access ends (RFC 3339, within a year).
    #[serde(default, with = "crate::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
}

/// Change a member's role (owners only). Their access tokens stop working at once (they
/// refresh to get one with the new role), and their API keys can do no more than the new role.
#[utoipa::path(patch, path = "/api/v1/household/members/{user_id}", tag = "household", request_body = MemberChangeIn,
    params(("user_id" = Uuid, Path, description = "The member's user id")),
    responses((status = 200, body = MembershipOut),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn change_member(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiPath(user_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<MemberChangeIn>,
) -> Result<Json<MembershipOut>, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    let now = OffsetDateTime::now_utc();
    let role: Role = body.role.parse()?;
    check_membership_end(role, body.ends_at, now)?;
    let membership =
        state.store.set_member_role(actor.household_id, UserId(user_id), role, body.ends_at, now).await.map_err(
            |e| match e {
                petty_store::StoreError::NotFound => ApiError::not_found("member"),
                petty_store::StoreError::Conflict(_) => last_owner("given another role"),
                other => other.into(),
            },
        )?;
    crate::api::audit(&state, &actor, ip, "update", "member", user_id, petty_app::audit::fields(&["role", "ends_at"]))
        .await?;
    Ok(Json(membership.into()))
}

/// The pets a vet of the household sees.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VetPetsIo {
    /// Pets of the household; the vet sees these and their care records, and nothing else.
    pub pet_ids: Vec<Uuid>,
}

/// The pets shared with a vet of the household.
#[utoipa::path(get, path = "/api/v1/household/members/{user_id}/pets", tag = "household",
    params(("user_id" = Uuid, Path, description = "The vet's user id")),
    responses((status = 200, body = VetPetsIo)),
    security(("bearer" = [])))]
async fn vet_pets(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(user_id): ApiPath<Uuid>,
) -> Result<Json<VetPetsIo>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let now = OffsetDateTime::now_utc();
    if state.store.active_membership(UserId(user_id), actor.household_id, now).await?.is_none() {
        return Err(ApiError::not_found("member"));
    }
    let pets = state.store.vet_shared_pets(actor.household_id, UserId(user_id)).await?;
    Ok(Json(VetPetsIo { pet_ids: pets.into_iter().map(|p| p.0).collect() }))
}

/// Share exactly these pets with a vet of the household (owners only): the vet sees them and
/// their care records, from the next request on; a pet left out is taken back at once.
#[utoipa::path(put, path = "/api/v1/household/members/{user_id}/pets", tag = "household", request_body = VetPetsIo,
    params(("user_id" = Uuid, Path, description = "The vet's user id")),
    responses((status = 200, body = VetPetsIo), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn share_with_vet(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiPath(user_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<VetPetsIo>,
) -> Result<Json<VetPetsIo>, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    let pets: Vec<_> = body.pet_ids.into_iter().map(petty_core::ids::PetId).collect();
    let shared = petty_app::care::share_with_vet(&state.app, &actor, UserId(user_id), &pets).await?;
    Ok(Json(VetPetsIo { pet_ids: shared.into_iter().map(|p| p.0).collect() }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InvitationIn {
    /// owner, member, sitter or vet.
    pub role: String,
    /// Required for a sitter: when their access ends (RFC 3339, within a year).
    #[serde(default, with = "crate::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
    /// Who it is for, as a reminder; the token works for whoever holds it.
    pub email: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct InvitationOut {
    pub id: Uuid,
    pub role: String,
    #[serde(with = "crate::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
    pub email: Option<String>,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub created_at: OffsetDateTime,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub expires_at: OffsetDateTime,
    /// Shown once, when the invitation is made. Give it to the person invited: they register
    /// with it, or accept it at `/api/v1/invitations/accept` if they have an account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl InvitationOut {
    fn new(i: Invitation, token: Option<String>) -> Self {
        Self {
            id: i.id.0,
            role: i.role.as_str().to_owned(),
            ends_at: i.ends_at,
            email: i.email,
            created_at: i.created_at,
            expires_at: i.expires_at,
            token,
        }
    }
}

/// Invite someone with a role. The single-use token is in the answer, and only there.
#[utoipa::path(post, path = "/api/v1/household/invitations", tag = "household", request_body = InvitationIn,
    responses((status = 201, body = InvitationOut)),
    security(("bearer" = [])))]
async fn create_invitation(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<InvitationIn>,
) -> Result<(StatusCode, Json<InvitationOut>), ApiError> {
    let actor_checked = actor.require(Permission::ManageHousehold)?;
    let (user_id, _) = actor.user()?;
    let now = OffsetDateTime::now_utc();
    let role: Role = body.role.parse()?;
    check_membership_end(role, body.ends_at, now)?;
    let email = body.email.as_deref().filter(|e| !e.trim().is_empty()).map(|e| Email::parse("email", e)).transpose()?;
    let invite = petty_app::access::Invite {
        household_id: actor_checked.household_id,
        role,
        ends_at: body.ends_at,
        email,
        created_by: user_id,
        valid_for: state.config.invitation_ttl,
    };
    let (invitation, token) = petty_app::access::invite(&state.app, invite).await?;
    crate::api::audit(
        &state,
        &actor_checked,
        ip,
        "create",
        "invitation",
        invitation.id,
        petty_app::audit::fields(&["role", "ends_at", "email"]),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(InvitationOut::new(invitation, Some(token)))))
}

/// Invitations not yet used, revoked or expired.
#[utoipa::path(get, path = "/api/v1/household/invitations", tag = "household",
    responses((status = 200, body = Paged<InvitationOut>)),
    security(("bearer" = [])))]
async fn list_invitations(
    State(state): State<AppState>,
    actor: CurrentActor,
) -> Result<Json<Paged<InvitationOut>>, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    let list = state.store.list_pending_invitations(actor.household_id, OffsetDateTime::now_utc()).await?;
    Ok(Json(Paged::all(list.into_iter().map(|i| InvitationOut::new(i, None)).collect())))
}

/// Withdraw an invitation before it is used.
#[utoipa::path(delete, path = "/api/v1/household/invitations/{id}", tag = "household",
    params(("id" = Uuid, Path, description = "The invitation's id")),
    responses((status = 204)),
    security(("bearer" = [])))]
async fn revoke_invitation(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    state.store.revoke_invitation(actor.household_id, InvitationId(id), OffsetDateTime::now_utc()).await.map_err(
        |e| match e {
            petty_store::StoreError::NotFound => ApiError::not_found("pending invitation"),
            other => other.into(),
        },
    )?;
    crate::api::audit(&state, &actor, ip, "revoke", "invitation", id, petty_app::audit::no_detail()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AcceptIn {
    pub token: String,
}

/// Join another household with an invitation token. Sign in again with its `household_id` to act there.
#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "household", request_body = AcceptIn,
    responses((status = 201, body = MembershipOut), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn accept_invitation(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<AcceptIn>,
) -> Result<(StatusCode, Json<MembershipOut>), ApiError> {
    let (user_id, _) = actor.user()?;
    let membership = state
        .store
        .accept_invitation(user_id, &secret_hash(body.token.trim()), OffsetDateTime::now_utc())
        .await
        .map_err(|e| match e {
            petty_store::StoreError::NotFound => ApiError::field(
                ErrorCode::ValidationFailed,
                "token",
                "invalid",
                "the invitation is unknown, already used, revoked or expired",
            ),
            petty_store::StoreError::Conflict(_) => {
                ApiError::new(ErrorCode::Conflict, "you are already a member of that household")
            }
            other => other.into(),
        })?;
    let joined = petty_core::accounts::Actor {
        household_id: membership.household_id,
        kind: petty_core::accounts::ActorKind::User { user_id, role: membership.role },
    };
    crate::api::audit(&state, &joined, ip, "join", "member", user_id, petty_app::audit::fields(&["role"])).await?;
    Ok((StatusCode::CREATED, Json(membership.into())))
}

/// How long the household keeps its devices' data.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetentionIo {
    /// Raw readings, 1–3,650 days (default 90).
    pub readings_days: i64,
    /// Per-minute, hour and day summaries, 1–36,500 days and at least `readings_days`
    /// (default 1,825).
    pub rollups_days: i64,
}

/// How long raw readings and their summaries are kept; a background job removes older ones.
#[utoipa::path(get, path = "/api/v1/household/retention", tag = "household",
    responses((status = 200, body = RetentionIo)),
    security(("bearer" = [])))]
async fn get_retention(State(state): State<AppState>, actor: CurrentActor) -> Result<Json<RetentionIo>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let policy = state.store.retention_policy(actor.household_id).await?;
    Ok(Json(RetentionIo { readings_days: policy.readings_days.into(), rollups_days: policy.rollups_days.into() }))
}

/// Change how long raw readings and their summaries are kept.
#[utoipa::path(put, path = "/api/v1/household/retention", tag = "household", request_body = RetentionIo,
    responses((status = 200, body = RetentionIo)),
    security(("bearer" = [])))]
async fn set_retention(
    State(state): State<AppState>,
    actor: CurrentActor,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<RetentionIo>,
) -> Result<Json<RetentionIo>, ApiError> {
    let actor = actor.require(Permission::ManageHousehold)?;
    let policy = petty_core::readings::RetentionPolicy::parse(body.readings_days, body.rollups_days)?;
    state.store.set_retention_policy(actor.household_id, policy).await?;
    crate::api::audit(
        &state,
        &actor,
        ip,
        "update",
        "household",
        actor.household_id,
        petty_app::audit::fields(&["readings_days", "rollups_days"]),
    )
    .await?;
    Ok(Json(body))
}
