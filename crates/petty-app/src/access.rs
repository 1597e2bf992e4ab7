//! Who may act in a household besides its members' sessions: invitations and API keys, each a
//! secret shown once to the person who made it and stored only as its hash. The API and the
//! dashboard make both here, after checking the request with `petty-core`'s rules
//! (`Role`, `check_membership_end`, `Email`, `parse_api_key_name`, `ApiKeyScope::within`).

use petty_core::accounts::{ApiKeyScope, Email, Role};
use petty_core::ids::{HouseholdId, UserId};
use petty_store::{ApiKey, Invitation, NewApiKey, NewInvitation, StoreError};
use time::OffsetDateTime;

use crate::App;
use crate::secrets::new_secret;

/// A new API key of `household_id` made by `created_by`; answers it and the key itself (`pk_…`),
/// which nobody sees again.
#[tracing::instrument(skip_all, fields(household_id = %household_id))]
pub async fn make_api_key(
    app: &App,
    household_id: HouseholdId,
    created_by: Option<UserId>,
    name: String,
    scope: ApiKeyScope,
) -> Result<(ApiKey, String), StoreError> {
    let (key, key_hash) = new_secret("pk_");
    let prefix = key.chars().take(10).collect();
    let created = app
        .store
        .create_api_key(&NewApiKey { household_id, created_by, name, prefix, key_hash, scope }, app.now())
        .await?;
    Ok((created, key))
}

/// What an invitation grants, and to whom.
pub struct Invite {
    pub household_id: HouseholdId,
    pub role: Role,
    /// A sitter's end (checked by `check_membership_end`).
    pub ends_at: Option<OffsetDateTime>,
    pub email: Option<Email>,
    pub created_by: UserId,
    /// How long the code works.
    pub valid_for: std::time::Duration,
}

/// A new invitation; answers it and its single-use code (`inv_…`), which nobody sees again.
#[tracing::instrument(skip_all, fields(household_id = %invite.household_id))]
pub async fn invite(app: &App, invite: Invite) -> Result<(Invitation, String), StoreError> {
    let now = app.now();
    let (token, token_hash) = new_secret("inv_");
    let invitation = app
        .store
        .create_invitation(
            &NewInvitation {
                household_id: invite.household_id,
                token_hash,
                role: invite.role,
                ends_at: invite.ends_at,
                email: invite.email,
                created_by: invite.created_by,
                expires_at: now + invite.valid_for,
            },
            now,
        )
        .await?;
    Ok((invitation, token))
}
