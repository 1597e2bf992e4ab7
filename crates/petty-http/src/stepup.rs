//! Step-up: a sensitive action (changing the password or email, turning MFA off, making an API
//! key, deleting the account or a household, exporting data) needs a fresh proof of the second
//! factor from a user who has one. [`StepUp`] is the one guard: an extractor for API routes,
//! which takes the code from the `X-MFA-Code` header, and [`require_fresh_mfa`] for callers
//! that carry the code elsewhere (a form field, a profile's body).
//!
//! A user without MFA, and an API key (which acts for a household, not a person), pass. A
//! missing code answers 401 `mfa_required`, a wrong one 401 `invalid_mfa_code`; wrong codes
//! count as failed sign-ins for the account's throttle, and while it backs off the answer is
//! 429 `account_locked` before any code is checked.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use petty_app::mfa::MfaError;
use petty_core::accounts::{ActorKind, Email};
use petty_core::ids::UserId;
use petty_store::FailureScope;
use time::OffsetDateTime;

use crate::auth::CurrentActor;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// The header a sensitive API request carries its code in.
pub const MFA_HEADER: &str = "x-mfa-code";

/// The authenticated caller of a sensitive action, with a fresh second factor checked (when
/// the caller is a user who has MFA on). Derefs to [`CurrentActor`].
pub struct StepUp(pub CurrentActor);

impl std::ops::Deref for StepUp {
    type Target = CurrentActor;

    fn deref(&self) -> &CurrentActor {
        &self.0
    }
}

impl FromRequestParts<AppState> for StepUp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let actor = CurrentActor::from_request_parts(parts, state).await?;
        if let ActorKind::User { user_id, .. } = actor.0.kind {
            let code = parts.headers.get(MFA_HEADER).and_then(|v| v.to_str().ok());
            require_fresh_mfa(state, user_id, code).await?;
        }
        Ok(StepUp(actor))
    }
}

/// Passes a user without MFA; for one with MFA, checks and spends `code`.
pub async fn require_fresh_mfa(state: &AppState, user_id: UserId, code: Option<&str>) -> Result<(), ApiError> {
    if !petty_app::mfa::is_enabled(&state.app, user_id).await? {
        return Ok(());
    }
    let Some(code) = code.filter(|c| !c.trim().is_empty()) else {
        return Err(ApiError::new(
            ErrorCode::MfaRequired,
            "this action needs a fresh code from your authenticator app (or a backup code) in the X-MFA-Code header",
        ));
    };
    let user = state.store.get_user(user_id).await?;
    let email = Email::parse("email", &user.email)?;
    let policy = state.config.signin;
    let now = OffsetDateTime::now_utc();
    let failures =
        state.store.signin_failures(FailureScope::Account, email.as_str(), now - policy.account.window).await?;
    if let Some(wait) = policy.account.wait(failures.count, failures.latest, now) {
        let secs = u64::try_from(wait.whole_seconds()).unwrap_or(0).max(1);
        return Err(ApiError::new(
            ErrorCode::AccountLocked,
            format!("too many wrong codes or passwords for this account; try again in {secs} s"),
        )
        .with_retry_after(secs));
    }
    match petty_app::mfa::verify(&state.app, user_id, code).await {
        Ok(_) => Ok(()),
        Err(MfaError::InvalidCode) => {
            let failed_at = OffsetDateTime::now_utc();
            state
                .store
                .record_signin_failure(
                    &[(FailureScope::Account, email.as_str())],
                    failed_at,
                    failed_at - policy.longest_window(),
                )
                .await?;
            Err(ApiError::new(ErrorCode::InvalidMfaCode, "the authentication code is wrong, already used or expired"))
        }
        Err(e) => Err(crate::accounts::mfa_error(e)),
    }
}
