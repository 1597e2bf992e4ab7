//! `GET /api/v1/me/export` and `POST /api/v1/me/delete`: a person's data, all of it, and deleting
//! the account for good (`petty_app::privacy`).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use petty_app::privacy::PrivacyError;
use petty_core::accounts::Permission;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{CurrentActor, verify_password_async};
use crate::error::{ApiError, ErrorCode};
use crate::extract::ApiJson;
use crate::state::AppState;
use crate::stepup::StepUp;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export)).routes(routes!(delete_account))
}

/// Everything Petty holds of yours and your households', as a zip: JSON and CSV, the readings,
/// the calendar, the original files and a manifest with each entry's SHA-256. Needs a fresh
/// second-factor code (`X-MFA-Code`) when MFA is on.
#[utoipa::path(get, path = "/api/v1/me/export", tag = "auth",
    responses((status = 200, content_type = "application/zip", body = Vec<u8>,
        headers(("Content-Disposition" = String, description = "attachment; filename=\"petty-export-<userId>-<YYYYMMDD>.zip\"")))),
    security(("bearer" = [])))]
async fn export(State(state): State<AppState>, StepUp(actor): StepUp) -> Result<Response, ApiError> {
    // Every role holds `ReadCare`: this is the person's own account.
    let actor = actor.require(Permission::ReadCare)?;
    let Some(user_id) = actor.user_id() else {
        return Err(ApiError::forbidden("an API key has no account to export; sign in as the person"));
    };
    let export = petty_app::privacy::export(&state.app, user_id).await?;
    let disposition = format!("attachment; filename=\"{}\"", export.filename);
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        export.zip,
    )
        .into_response())
}

/// Deleting an account: the password, and a code when MFA is on.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeleteAccountIn {
    pub password: String,
    /// A code from the authenticator app or a backup code (when MFA is on).
    pub mfa_code: Option<String>,
}

/// Delete your account for good: the households only you belonged to go with everything in
/// them (pets, records, reminders, files, devices, readings; their Stripe subscription is
/// cancelled and the customer deleted); your sign-ins, keys and calendar feeds end at once;
/// audit entries stay with you replaced by an anonymous id. Refused (409) while you alone own a
/// household others belong to.
#[utoipa::path(post, path = "/api/v1/me/delete", tag = "auth", request_body = DeleteAccountIn,
    responses((status = 204)),
    security(("bearer" = [])))]
async fn delete_account(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiJson(body): ApiJson<DeleteAccountIn>,
) -> Result<StatusCode, ApiError> {
    // Every role holds `ReadCare`: this is the person's own account.
    let actor = actor.require(Permission::ReadCare)?;
    let Some(user_id) = actor.user_id() else {
        return Err(ApiError::forbidden("an API key cannot delete an account; sign in as the person"));
    };
    let credentials = state.store.user_credentials(user_id).await?;
    if !verify_password_async(body.password, credentials.password_hash).await? {
        return Err(ApiError::new(ErrorCode::InvalidCredentials, "the password is wrong"));
    }
    crate::stepup::require_fresh_mfa(&state, user_id, body.mfa_code.as_deref()).await?;
    petty_app::privacy::delete_account(&state.app, user_id).await.map_err(|e| match e {
        PrivacyError::SoleOwner => ApiError::new(
            ErrorCode::Conflict,
            "you alone own a household others belong to: hand ownership over or remove the other members first",
        ),
        PrivacyError::Store(e) => e.into(),
        PrivacyError::Cleanup(why) => {
            tracing::warn!(%why, "an account could not be deleted yet");
            ApiError::new(
                ErrorCode::Unavailable,
                "files or the payment provider could not be reached; nothing was deleted, try again",
            )
        }
    })?;
    Ok(StatusCode::NO_CONTENT)
}
