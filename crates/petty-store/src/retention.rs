//! Retention: each household keeps raw readings and rollups for as long as it chose; a
//! background job calls [`Store::enforce_retention`] and reports what went.

use petty_core::ids::HouseholdId;
use petty_core::readings::RetentionPolicy;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Result, Store, StoreError, on_pool, to_ms};

/// What one pass of retention removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub readings_removed: u64,
    pub rollups_removed: u64,
}

const DAY_MS: i64 = 86_400_000;

/// How long the housekeeping rows of accounts are kept (see [`Store::prune_history`]).
pub const LOGIN_HISTORY_DAYS: i64 = 365;
/// A trusted device's token lasts 180 days from its sign-in; a row is kept 30 days beyond that
/// (and 30 days after it is revoked), so the sessions list can still say what ended.
pub const TRUSTED_DEVICE_KEEP_DAYS: i64 = 210;
/// A lost-pet page counts its finders' reports per hour; a week of them is plenty.
pub const FOUND_REPORT_DAYS: i64 = 7;

impl Store {
    /// Removes account housekeeping that has served its purpose: sign-in history older than a
    /// year, trusted devices long expired or revoked, and finders' reports older than a week.
    /// Answers how many rows went.
    pub async fn prune_history(&self, now: OffsetDateTime) -> Result<u64> {
        let now = to_ms(now);
        let removed = on_pool!(write, self, |pool| {
            let mut removed = sqlx::query("DELETE FROM logins WHERE at < $1")
                .bind(now - LOGIN_HISTORY_DAYS * DAY_MS)
                .execute(pool)
                .await?
                .rows_affected();
            removed += sqlx::query("DELETE FROM trusted_devices WHERE created_at < $1 OR revoked_at < $2")
                .bind(now - TRUSTED_DEVICE_KEEP_DAYS * DAY_MS)
                .bind(now - 30 * DAY_MS)
                .execute(pool)
                .await?
                .rows_affected();
            removed += sqlx::query("DELETE FROM found_reports WHERE created_at < $1")
                .bind(now - FOUND_REPORT_DAYS * DAY_MS)
                .execute(pool)
                .await?
                .rows_affected();
            removed
        });
        Ok(removed)
    }

    pub async fn retention_policy(&self, household_id: HouseholdId) -> Result<RetentionPolicy> {
        let (readings, rollups): (i64, i64) = on_pool!(read, self, |pool| {
            sqlx::query_as("SELECT readings_retention_days, rollups_retention_days FROM households WHERE id = $1")
                .bind(household_id.0)
                .fetch_one(pool)
                .await?
        });
        RetentionPolicy::parse(readings, rollups)
            .map_err(|_| StoreError::Corrupt(format!("household {household_id}: retention periods")))
    }

    pub async fn set_retention_policy(&self, household_id: HouseholdId, policy: RetentionPolicy) -> Result<()> {
        let done = on_pool!(write, self, |pool| {
            sqlx::query("UPDATE households SET readings_retention_days = $2, rollups_retention_days = $3 WHERE id = $1")
                .bind(household_id.0)
                .bind(i64::from(policy.readings_days))
                .bind(i64::from(policy.rollups_days))
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 1 { Ok(()) } else { Err(StoreError::NotFound) }
    }

    /// Removes, device by device (each delete walks the device's own key range), the readings
    /// and rollups older than their household keeps them.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn enforce_retention(&self, now: OffsetDateTime) -> Result<RetentionReport> {
        let devices: Vec<(Uuid, Uuid, i64, i64)> = on_pool!(read, self, |pool| {
            sqlx::query_as(
                "SELECT d.id, d.household_id, h.readings_retention_days, h.rollups_retention_days \
                 FROM devices d JOIN households h ON h.id = d.household_id",
            )
            .fetch_all(pool)
            .await?
        });
        let now_ms = to_ms(now);
        let mut report = RetentionReport::default();
        for (device_id, household_id, readings_days, rollups_days) in devices {
            let (readings, rollups) = on_pool!(write, self, |pool| {
                let readings =
                    sqlx::query("DELETE FROM readings WHERE device_id = $1 AND household_id = $2 AND ts < $3")
                        .bind(device_id)
                        .bind(household_id)
                        .bind(now_ms - readings_days * DAY_MS)
                        .execute(pool)
                        .await?
                        .rows_affected();
                // A period goes once it has wholly passed out of the window.
                let rollups = sqlx::query(
                    "DELETE FROM rollups WHERE device_id = $1 AND household_id = $2 AND bucket + resolution * 1000 <= $3",
                )
                .bind(device_id)
                .bind(household_id)
                .bind(now_ms - rollups_days * DAY_MS)
                .execute(pool)
                .await?
                .rows_affected();
                (readings, rollups)
            });
            if rollups > 0 {
                self.rollup_memo.forget_device(device_id);
            }
            report.readings_removed += readings;
            report.rollups_removed += rollups;
        }
        Ok(report)
    }
}
