//! Devices: their profiles, their secret tokens (stored hashed) and what the store knows of
//! their liveness (last arrival, newest event time, battery).

use std::collections::BTreeMap;

use petty_core::devices::DeviceProfile;
use petty_core::ids::{DeviceId, HouseholdId, PetId};
use sqlx::FromRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Backend, BeginWrite, Result, Store, StoreError, from_ms, from_ms_opt, on_pool, to_ms};

/// A device as the household sees it. The token itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub id: DeviceId,
    pub household_id: HouseholdId,
    pub profile: DeviceProfile,
    /// Whether a token is current (false after revocation).
    pub has_token: bool,
    pub token_created_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// When a reading last arrived.
    pub last_seen_at: Option<OffsetDateTime>,
    /// The newest event time among its readings.
    pub latest_ts: Option<OffsetDateTime>,
    /// The battery level of the newest reading that reported one.
    pub battery_pct: Option<f64>,
}

/// Who a device token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceCredential {
    pub device_id: DeviceId,
    pub household_id: HouseholdId,
}

#[derive(FromRow)]
pub(crate) struct DeviceRow {
    id: Uuid,
    household_id: Uuid,
    pet_id: Option<Uuid>,
    kind: String,
    name: String,
    model: Option<String>,
    firmware: Option<String>,
    expected_interval_secs: i64,
    calibration: String,
    has_token: bool,
    token_created_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    last_seen_at: Option<i64>,
    latest_ts: Option<i64>,
    battery_pct: Option<f64>,
    serial: Option<String>,
}

macro_rules! device_columns {
    () => {
        "id, household_id, pet_id, kind, name, model, firmware, expected_interval_secs, calibration, \
         token_hash IS NOT NULL AS has_token, token_created_at, created_at, updated_at, last_seen_at, latest_ts, \
         battery_pct, serial"
    };
}

/// One device of a household.
const ONE_DEVICE: &str = concat!("SELECT ", device_columns!(), " FROM devices WHERE household_id = $1 AND id = $2");

/// Devices by id, of any household (the caller checks each row's household).
const DEVICES_BY_ID: &str = concat!("SELECT ", device_columns!(), " FROM devices WHERE id = ANY($1)");

impl DeviceRow {
    /// The devices among `ids` that exist, in no particular order, read in one statement on
    /// PostgreSQL. Each row's household is the caller's to check ([`DeviceRow::owner`]).
    pub(crate) async fn many_pg(pool: &sqlx::PgPool, ids: &[Uuid]) -> Result<Vec<DeviceRow>> {
        Ok(sqlx::query_as(DEVICES_BY_ID).bind(ids).fetch_all(pool).await?)
    }

    /// The row's household and id.
    pub(crate) fn owner(&self) -> (HouseholdId, DeviceId) {
        (HouseholdId(self.household_id), DeviceId(self.id))
    }

    /// The household's device `id`, read on an SQLite connection of the caller's
    /// (`QueryReturnedNoRows` if there is none).
    pub(crate) fn one_sqlite(
        conn: &rusqlite::Connection,
        household_id: HouseholdId,
        id: DeviceId,
    ) -> rusqlite::Result<DeviceRow> {
        let (household, device) = (&household_id.0.as_bytes()[..], &id.0.as_bytes()[..]);
        conn.prepare_cached(ONE_DEVICE)?.query_row(rusqlite::params![household, device], DeviceRow::from_sqlite)
    }

    /// A row of `device_columns!()` read through `fastread`.
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRow> {
        Ok(DeviceRow {
            id: crate::fastread::uuid(row, 0)?,
            household_id: crate::fastread::uuid(row, 1)?,
            pet_id: crate::fastread::uuid_opt(row, 2)?,
            kind: row.get(3)?,
            name: row.get(4)?,
            model: row.get(5)?,
            firmware: row.get(6)?,
            expected_interval_secs: row.get(7)?,
            calibration: row.get(8)?,
            has_token: row.get(9)?,
            token_created_at: row.get(10)?,
            created_at: row.get(11)?,
            updated_at: row.get(12)?,
            last_seen_at: row.get(13)?,
            latest_ts: row.get(14)?,
            battery_pct: row.get(15)?,
            serial: row.get(16)?,
        })
    }

    pub(crate) fn into_device(self) -> Result<Device> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("device {}: {what}", self.id));
        let calibration: BTreeMap<String, f64> =
            serde_json::from_str(&self.calibration).map_err(|_| corrupt("calibration"))?;
        Ok(Device {
            id: DeviceId(self.id),
            household_id: HouseholdId(self.household_id),
            profile: DeviceProfile {
                name: self.name,
                kind: self.kind.parse().map_err(|_| corrupt("kind"))?,
                pet_id: self.pet_id.map(PetId),
                model: self.model,
                firmware: self.firmware,
                expected_interval_secs: u32::try_from(self.expected_interval_secs)
                    .map_err(|_| corrupt("expected_interval_secs"))?,
                calibration,
                serial: self.serial,
            },
            has_token: self.has_token,
            token_created_at: from_ms_opt(self.token_created_at)?,
            created_at: from_ms(self.created_at)?,
            updated_at: from_ms(self.updated_at)?,
            last_seen_at: from_ms_opt(self.last_seen_at)?,
            latest_ts: from_ms_opt(self.latest_ts)?,
            battery_pct: self.battery_pct,
        })
    }
}

/// Binds the profile's fields in `device_columns!` order after the two keys (insert and update
/// share it).
macro_rules! bind_device_profile {
    ($query:expr, $profile:expr, $calibration:expr) => {
        $query
            .bind($profile.pet_id.map(|p| p.0))
            .bind($profile.kind.as_str())
            .bind(&$profile.name)
            .bind(&$profile.model)
            .bind(&$profile.firmware)
            .bind(i64::from($profile.expected_interval_secs))
            .bind($calibration)
            .bind(&$profile.serial)
    };
}

fn calibration_json(profile: &DeviceProfile) -> Result<String> {
    serde_json::to_string(&profile.calibration).map_err(|e| StoreError::Corrupt(format!("calibration: {e}")))
}

impl Store {
    /// A new device with its first token (already hashed by the caller).
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id))]
    pub async fn create_device(
        &self,
        household_id: HouseholdId,
        profile: &DeviceProfile,
        token_hash: &[u8],
        now: OffsetDateTime,
    ) -> Result<Device> {
        let calibration = calibration_json(profile)?;
        let row: DeviceRow = on_pool!(write, self, |pool| {
            let query = sqlx::query_as(concat!(
                "INSERT INTO devices (id, household_id, pet_id, kind, name, model, firmware, expected_interval_secs, \
                 calibration, serial, token_hash, token_created_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $12) RETURNING ",
                device_columns!()
            ))
            .bind(DeviceId::new().0)
            .bind(household_id.0);
            bind_device_profile!(query, profile, &calibration).bind(token_hash).bind(to_ms(now)).fetch_one(pool).await?
        });
        row.into_device()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, device_id = %id))]
    pub async fn get_device(&self, household_id: HouseholdId, id: DeviceId) -> Result<Device> {
        let row: DeviceRow = match &self.fast {
            Some(fast) => fast.with(|conn| DeviceRow::one_sqlite(conn, household_id, id))?,
            None => on_pool!(read, self, |pool| {
                sqlx::query_as(ONE_DEVICE).bind(household_id.0).bind(id.0).fetch_one(pool).await?
            }),
        };
        row.into_device()
    }

    /// Every device of every household (the alarm pass's silence sweep), oldest first.
    pub async fn devices_everywhere(&self) -> Result<Vec<Device>> {
        let rows: Vec<DeviceRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!("SELECT ", device_columns!(), " FROM devices ORDER BY created_at, id LIMIT 100000"))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(DeviceRow::into_device).collect()
    }

    /// Every device of the household, by name.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id))]
    pub async fn list_devices(&self, household_id: HouseholdId) -> Result<Vec<Device>> {
        let rows: Vec<DeviceRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                device_columns!(),
                " FROM devices WHERE household_id = $1 ORDER BY name, id"
            ))
            .bind(household_id.0)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(DeviceRow::into_device).collect()
    }

    /// Replaces the device's profile; `NotFound` if it is not this household's.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, device_id = %id))]
    pub async fn update_device(
        &self,
        household_id: HouseholdId,
        id: DeviceId,
        profile: &DeviceProfile,
        now: OffsetDateTime,
    ) -> Result<Device> {
        let calibration = calibration_json(profile)?;
        let row: DeviceRow = on_pool!(write, self, |pool| {
            let query = sqlx::query_as(concat!(
                "UPDATE devices SET pet_id = $3, kind = $4, name = $5, model = $6, firmware = $7, \
                 expected_interval_secs = $8, calibration = $9, serial = $10, updated_at = $11 \
                 WHERE household_id = $1 AND id = $2 RETURNING ",
                device_columns!()
            ))
            .bind(household_id.0)
            .bind(id.0);
            bind_device_profile!(query, profile, &calibration).bind(to_ms(now)).fetch_one(pool).await?
        });
        self.forget_device_tokens().await;
        row.into_device()
    }

    /// Deletes the device and its readings; `NotFound` if it is not this household's.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, device_id = %id))]
    pub async fn delete_device(&self, household_id: HouseholdId, id: DeviceId) -> Result<()> {
        let done = on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let done = sqlx::query("DELETE FROM devices WHERE household_id = $1 AND id = $2")
                .bind(household_id.0)
                .bind(id.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if done == 1 {
                for sql in [
                    "DELETE FROM readings WHERE household_id = $1 AND device_id = $2",
                    "DELETE FROM rollups WHERE household_id = $1 AND device_id = $2",
                ] {
                    sqlx::query(sql).bind(household_id.0).bind(id.0).execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            done
        });
        self.forget_device_tokens().await;
        self.rollup_memo.forget_device(id.0);
        if let Some(pending) = &self.ingest.pending {
            pending.forget_device(id.0);
        }
        if done == 1 { Ok(()) } else { Err(StoreError::NotFound) }
    }

    /// Replaces the device's token (`Some`) or revokes it (`None`); the old one stops working
    /// at once.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, device_id = %id))]
    pub async fn set_device_token(
        &self,
        household_id: HouseholdId,
        id: DeviceId,
        token_hash: Option<&[u8]>,
        now: OffsetDateTime,
    ) -> Result<Device> {
        let row: DeviceRow = on_pool!(write, self, |pool| {
            sqlx::query_as(concat!(
                "UPDATE devices SET token_hash = $3, token_created_at = $4, updated_at = $5 \
                 WHERE household_id = $1 AND id = $2 RETURNING ",
                device_columns!()
            ))
            .bind(household_id.0)
            .bind(id.0)
            .bind(token_hash)
            .bind(token_hash.map(|_| to_ms(now)))
            .bind(to_ms(now))
            .fetch_one(pool)
            .await?
        });
        self.forget_device_tokens().await;
        row.into_device()
    }

    /// The device a token belongs to, if the token is current.
    pub async fn find_device_token(&self, token_hash: &[u8]) -> Result<Option<DeviceCredential>> {
        if let Some(hit) = self.device_tokens.get(token_hash) {
            return Ok(Some(hit));
        }
        let generation = self.device_tokens.generation();
        let row: Option<(Uuid, Uuid)> = on_pool!(read, self, |pool| {
            sqlx::query_as("SELECT id, household_id FROM devices WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(pool)
                .await?
        });
        let found = row.map(|(id, hid)| DeviceCredential { device_id: DeviceId(id), household_id: HouseholdId(hid) });
        if let (Some(generation), Some(found)) = (generation, found) {
            self.device_tokens.put(token_hash.to_vec(), found, generation);
        }
        Ok(found)
    }

    /// The device with this serial. Serials are unique across the installation, like the
    /// serial printed on the collar; this is the device edge of the compatibility routes (the
    /// caller then checks the household of whoever asks).
    pub async fn device_by_serial(&self, serial: &str) -> Result<Option<Device>> {
        let row: Option<DeviceRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!("SELECT ", device_columns!(), " FROM devices WHERE serial = $1"))
                .bind(serial)
                .fetch_optional(pool)
                .await?
        });
        row.map(DeviceRow::into_device).transpose()
    }

    /// The devices worn by (or watching) a pet, by name.
    pub async fn pet_devices(&self, household_id: HouseholdId, pet_id: PetId) -> Result<Vec<Device>> {
        let rows: Vec<DeviceRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                device_columns!(),
                " FROM devices WHERE household_id = $1 AND pet_id = $2 ORDER BY name, id"
            ))
            .bind(household_id.0)
            .bind(pet_id.0)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(DeviceRow::into_device).collect()
    }

    /// Whether the device exists in this household (for API keys that name a device).
    pub async fn device_in_household(&self, household_id: HouseholdId, id: DeviceId) -> Result<bool> {
        let found: Option<(Uuid,)> = on_pool!(read, self, |pool| {
            sqlx::query_as("SELECT id FROM devices WHERE household_id = $1 AND id = $2")
                .bind(household_id.0)
                .bind(id.0)
                .fetch_optional(pool)
                .await?
        });
        Ok(found.is_some())
    }

    /// After a committed change to a device: forget cached tokens here and, on PostgreSQL,
    /// tell the other nodes to do the same.
    pub(crate) async fn forget_device_tokens(&self) {
        crate::cache::Invalidate::forget(&*self.device_tokens);
        if let Backend::Postgres(pool) = &self.backend
            && let Err(e) =
                sqlx::query("SELECT pg_notify($1, '')").bind(crate::cache::DEVICE_CHANNEL).execute(pool).await
        {
            // The change is committed; a node that misses this has lost its listening
            // connection too, and does not use its cache until it listens again.
            tracing::error!(error = %e, "could not announce a device change to the other nodes");
        }
    }
}
