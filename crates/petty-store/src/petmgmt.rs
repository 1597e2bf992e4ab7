//! What the Pet Management profile (`petty-compat`'s `petmgmt`) keeps beyond Petty's own
//! records: a person's first and last name, phone and profile photo as its contract names them,
//! and webhooks told of the profile's events (the same `webhooks` table and outbox as the alarm
//! webhooks; `events` tells them apart).

use petty_core::ids::{HouseholdId, UserId, WebhookId};
use sqlx::FromRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{BeginWrite, Result, Store, StoreError, Webhook, from_ms, on_pool, to_ms};

/// A person as the Pet Management contract describes them, beside Petty's account.
#[derive(Debug, Clone, PartialEq)]
pub struct PetmgmtProfile {
    pub user_id: UserId,
    pub first_name: String,
    pub last_name: String,
    /// E.164.
    pub phone: Option<String>,
    pub photo_url: Option<String>,
    pub updated_at: OffsetDateTime,
}

#[derive(FromRow)]
struct ProfileRow {
    user_id: Uuid,
    first_name: String,
    last_name: String,
    phone: Option<String>,
    photo_url: Option<String>,
    updated_at: i64,
}

impl ProfileRow {
    fn into_profile(self) -> Result<PetmgmtProfile> {
        Ok(PetmgmtProfile {
            user_id: UserId(self.user_id),
            first_name: self.first_name,
            last_name: self.last_name,
            phone: self.phone,
            photo_url: self.photo_url,
            updated_at: from_ms(self.updated_at)?,
        })
    }
}

impl Store {
    /// The profile's fields of a person, if they have any.
    pub async fn petmgmt_profile(&self, user_id: UserId) -> Result<Option<PetmgmtProfile>> {
        let row: Option<ProfileRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(
                "SELECT user_id, first_name, last_name, phone, photo_url, updated_at FROM petmgmt_profiles \
                 WHERE user_id = $1",
            )
            .bind(user_id.0)
            .fetch_optional(pool)
            .await?
        });
        row.map(ProfileRow::into_profile).transpose()
    }

    /// Writes a person's profile fields (all of them), and their display name with them, so
    /// that the rest of Petty shows the name the profile was given.
    pub async fn put_petmgmt_profile(&self, profile: &PetmgmtProfile, display_name: &str) -> Result<()> {
        let at = to_ms(profile.updated_at);
        on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO petmgmt_profiles (user_id, first_name, last_name, phone, photo_url, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id) DO UPDATE SET first_name = $2, \
                 last_name = $3, phone = $4, photo_url = $5, updated_at = $6",
            )
            .bind(profile.user_id.0)
            .bind(&profile.first_name)
            .bind(&profile.last_name)
            .bind(&profile.phone)
            .bind(&profile.photo_url)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            let done = sqlx::query("UPDATE users SET display_name = $2 WHERE id = $1")
                .bind(profile.user_id.0)
                .bind(display_name)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if done == 0 {
                return Err(StoreError::NotFound);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// A webhook told of the named profile events (`pet.created`, `reminder.due`, ...).
    pub async fn create_event_webhook(
        &self,
        household_id: HouseholdId,
        url: &str,
        secret: &str,
        events: &[&str],
        now: OffsetDateTime,
    ) -> Result<Webhook> {
        let events = events.join(",");
        Ok(on_pool!(write, self, |pool| {
            sqlx::query_as(
                "INSERT INTO webhooks (id, household_id, url, secret, min_severity, created_at, events) \
                 VALUES ($1, $2, $3, $4, 'info', $5, $6) \
                 RETURNING id, household_id, url, secret, min_severity, created_at, events",
            )
            .bind(Uuid::now_v7())
            .bind(household_id.0)
            .bind(url)
            .bind(secret)
            .bind(to_ms(now))
            .bind(&events)
            .fetch_one(pool)
            .await?
        }))
    }

    /// The household's webhooks told of `event`.
    pub async fn event_webhooks(&self, household_id: HouseholdId, event: &str) -> Result<Vec<Webhook>> {
        let hooks = self.webhooks(household_id).await?;
        Ok(hooks
            .into_iter()
            .filter(|h| h.events.as_deref().is_some_and(|events| events.split(',').any(|e| e == event)))
            .collect())
    }

    /// Deletes one of the household's profile webhooks; `NotFound` for any other id.
    pub async fn delete_event_webhook(&self, household_id: HouseholdId, id: WebhookId) -> Result<()> {
        let done = on_pool!(write, self, |pool| {
            sqlx::query("DELETE FROM webhooks WHERE id = $1 AND household_id = $2 AND events IS NOT NULL")
                .bind(id.0)
                .bind(household_id.0)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}
