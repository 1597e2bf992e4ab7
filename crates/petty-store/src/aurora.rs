//! What the AURORA_LIFE profile (`petty-compat`'s `aurora`) keeps beyond Petty's own account: a
//! person's username (unique whatever its case, to sign in with), full name and free-form
//! profile (`goals`, `values`, `preferences`, `life_state`: JSON text, kept as sent), and when
//! they last signed in or refreshed through the profile.

use petty_core::ids::UserId;
use sqlx::FromRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{BeginWrite, Result, Store, StoreError, from_ms_opt, on_pool, to_ms};

/// A person as the AURORA contract describes them, beside Petty's account.
#[derive(Debug, Clone, PartialEq)]
pub struct AuroraProfile {
    pub user_id: UserId,
    /// As the person wrote it; unique among profiles ignoring case.
    pub username: String,
    pub full_name: Option<String>,
    /// A JSON object's text.
    pub profile_data: String,
    /// `None` until the profile is changed after registration.
    pub updated_at: Option<OffsetDateTime>,
    pub last_active: Option<OffsetDateTime>,
}

#[derive(FromRow)]
struct ProfileRow {
    user_id: Uuid,
    username: String,
    full_name: Option<String>,
    profile_data: String,
    updated_at: Option<i64>,
    last_active: Option<i64>,
}

impl ProfileRow {
    fn into_profile(self) -> Result<AuroraProfile> {
        Ok(AuroraProfile {
            user_id: UserId(self.user_id),
            username: self.username,
            full_name: self.full_name,
            profile_data: self.profile_data,
            updated_at: from_ms_opt(self.updated_at)?,
            last_active: from_ms_opt(self.last_active)?,
        })
    }
}

/// The key a username is unique under.
fn username_key(username: &str) -> String {
    username.to_lowercase()
}

impl Store {
    /// The profile's fields of a person, if they have any.
    pub async fn aurora_profile(&self, user_id: UserId) -> Result<Option<AuroraProfile>> {
        let row: Option<ProfileRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(
                "SELECT user_id, username, full_name, profile_data, updated_at, last_active FROM aurora_profiles \
                 WHERE user_id = $1",
            )
            .bind(user_id.0)
            .fetch_optional(pool)
            .await?
        });
        row.map(ProfileRow::into_profile).transpose()
    }

    /// Whose username this is, whatever its case.
    pub async fn aurora_user_by_username(&self, username: &str) -> Result<Option<UserId>> {
        let found: Option<(Uuid,)> = on_pool!(read, self, |pool| {
            sqlx::query_as("SELECT user_id FROM aurora_profiles WHERE username_key = $1")
                .bind(username_key(username))
                .fetch_optional(pool)
                .await?
        });
        Ok(found.map(|(id,)| UserId(id)))
    }

    /// Writes a person's profile fields (all of them), and their display name with them when
    /// given, so that the rest of Petty shows the name the profile was given. `Conflict` when
    /// another person has the username (in any case); `NotFound` for an unknown user.
    pub async fn put_aurora_profile(&self, profile: &AuroraProfile, display_name: Option<&str>) -> Result<()> {
        let updated = profile.updated_at.map(to_ms);
        let active = profile.last_active.map(to_ms);
        on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let taken: Option<(Uuid,)> =
                sqlx::query_as("SELECT user_id FROM aurora_profiles WHERE username_key = $1 AND user_id <> $2")
                    .bind(username_key(&profile.username))
                    .bind(profile.user_id.0)
                    .fetch_optional(&mut *tx)
                    .await?;
            if taken.is_some() {
                return Err(StoreError::Conflict("username"));
            }
            if let Some(name) = display_name {
                let done = sqlx::query("UPDATE users SET display_name = $2 WHERE id = $1")
                    .bind(profile.user_id.0)
                    .bind(name)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if done == 0 {
                    return Err(StoreError::NotFound);
                }
            }
            sqlx::query(
                "INSERT INTO aurora_profiles (user_id, username, username_key, full_name, profile_data, updated_at, \
                 last_active) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id) DO UPDATE SET username = $2, \
                 username_key = $3, full_name = $4, profile_data = $5, updated_at = $6, last_active = $7",
            )
            .bind(profile.user_id.0)
            .bind(&profile.username)
            .bind(username_key(&profile.username))
            .bind(&profile.full_name)
            .bind(&profile.profile_data)
            .bind(updated)
            .bind(active)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Notes that the person signed in or refreshed through the profile at `now` (nothing for a
    /// person without a profile row).
    pub async fn touch_aurora_profile(&self, user_id: UserId, now: OffsetDateTime) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query("UPDATE aurora_profiles SET last_active = $2 WHERE user_id = $1")
                .bind(user_id.0)
                .bind(to_ms(now))
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
