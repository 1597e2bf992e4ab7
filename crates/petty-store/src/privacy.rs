//! Deleting an account for good: the households only it belonged to (with everything in
//! them: pets, records, reminders, devices, readings, alarms, files' rows), its credentials,
//! sign-ins, keys and calendar feeds, and what Petty kept about its address (queued mail,
//! failed sign-ins). Files in storage, Stripe and the audit log's tombstones are the
//! application's, done before this.

use petty_core::ids::{HouseholdId, UserId};
use uuid::Uuid;

use crate::{BeginWrite, Result, Store, StoreError, on_pool};

/// Where an account stands before it is deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletionPlan {
    /// Households where the account is the only member: deleted with it.
    pub alone_in: Vec<HouseholdId>,
    /// Households the account is the only owner of while others are members: the deletion
    /// waits until ownership is handed over or the others are removed.
    pub sole_owner_with_others: Vec<HouseholdId>,
}

impl Store {
    /// What deleting the account would take with it, and what stands in its way.
    pub async fn deletion_plan(&self, user_id: UserId) -> Result<DeletionPlan> {
        let rows: Vec<(Uuid, String, i64, i64)> = on_pool!(read, self, |pool| {
            sqlx::query_as(
                "SELECT m.household_id, m.role, \
                 (SELECT COUNT(*) FROM memberships o WHERE o.household_id = m.household_id AND o.user_id <> $1), \
                 (SELECT COUNT(*) FROM memberships o WHERE o.household_id = m.household_id AND o.user_id <> $1 \
                  AND o.role = 'owner') \
                 FROM memberships m WHERE m.user_id = $1",
            )
            .bind(user_id.0)
            .fetch_all(pool)
            .await?
        });
        let mut plan = DeletionPlan { alone_in: Vec::new(), sole_owner_with_others: Vec::new() };
        for (household, role, others, other_owners) in rows {
            if others == 0 {
                plan.alone_in.push(HouseholdId(household));
            } else if role == "owner" && other_owners == 0 {
                plan.sole_owner_with_others.push(HouseholdId(household));
            }
        }
        Ok(plan)
    }

    /// Deletes the account and the households only it belonged to, in one transaction;
    /// `Conflict` if it is meanwhile the only owner of a household with other members.
    pub async fn delete_account(&self, user_id: UserId, email: &str) -> Result<Vec<HouseholdId>> {
        let plan = self.deletion_plan(user_id).await?;
        if !plan.sole_owner_with_others.is_empty() {
            return Err(StoreError::Conflict("another member in a household this account alone owns"));
        }
        on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            for household in &plan.alone_in {
                // Everything of the household goes with it (ON DELETE CASCADE).
                sqlx::query(
                    "DELETE FROM households WHERE id = $1 AND NOT EXISTS \
                             (SELECT 1 FROM memberships WHERE household_id = $1 AND user_id <> $2)",
                )
                .bind(household.0)
                .bind(user_id.0)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("DELETE FROM api_keys WHERE created_by = $1").bind(user_id.0).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM calendar_feeds WHERE created_by = $1").bind(user_id.0).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM pet_shares WHERE created_by = $1").bind(user_id.0).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM signin_failures WHERE scope = 'account' AND key = $1")
                .bind(email)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM account_mail WHERE recipient = $1").bind(email).execute(&mut *tx).await?;
            // Memberships, refresh tokens, sessions, MFA, trusted devices, sign-ins and the
            // person's alarm contacts go with the user (ON DELETE CASCADE).
            let done = sqlx::query("DELETE FROM users WHERE id = $1").bind(user_id.0).execute(&mut *tx).await?;
            if done.rows_affected() != 1 {
                return Err(StoreError::NotFound);
            }
            tx.commit().await?;
        });
        if let Some(cache) = &self.cache {
            for household in &plan.alone_in {
                cache.forget_household(*household);
            }
        }
        self.forget_device_tokens().await;
        self.forget_standing().await;
        Ok(plan.alone_in)
    }
}
