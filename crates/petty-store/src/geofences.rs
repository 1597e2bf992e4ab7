//! Geofences: a household's fences, where each collar stands with respect to each of them
//! ("outside since" is a state), and the exits and entries that were confirmed.

use petty_core::geofence::{Fence, FenceEvent, FenceRules, FenceState, Shape};
use petty_core::ids::{DeviceId, HouseholdId, PetId};
use serde_json::{Value, json};
use sqlx::FromRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{BeginWrite, Result, Store, StoreError, from_ms, on_pool, to_ms};

/// A fence as stored, with the rules its exits are judged by.
#[derive(Debug, Clone, PartialEq)]
pub struct Geofence {
    pub id: Uuid,
    pub household_id: HouseholdId,
    pub fence: Fence,
    pub rules: FenceRules,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A confirmed exit or entry.
#[derive(Debug, Clone, PartialEq)]
pub struct GeofenceEvent {
    pub id: Uuid,
    pub geofence_id: Uuid,
    pub device_id: DeviceId,
    pub pet_id: Option<PetId>,
    /// exited or entered.
    pub kind: String,
    pub at_ms: i64,
    pub explanation: String,
}

/// One fence's state for one device.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeofenceState {
    pub geofence_id: Uuid,
    pub device_id: DeviceId,
    pub state: FenceState,
}

fn shape_json(shape: &Shape) -> String {
    match shape {
        Shape::Circle { lat, lon, radius_m } => {
            json!({"kind": "circle", "lat": lat, "lon": lon, "radius_m": radius_m}).to_string()
        }
        Shape::Polygon(points) => {
            let points: Vec<[f64; 2]> = points.iter().map(|(lat, lon)| [*lat, *lon]).collect();
            json!({"kind": "polygon", "points": points}).to_string()
        }
    }
}

fn shape_from_json(text: &str) -> Option<Shape> {
    let v: Value = serde_json::from_str(text).ok()?;
    match v.get("kind")?.as_str()? {
        "circle" => Some(Shape::Circle {
            lat: v.get("lat")?.as_f64()?,
            lon: v.get("lon")?.as_f64()?,
            radius_m: v.get("radius_m")?.as_f64()?,
        }),
        "polygon" => {
            let points = v.get("points")?.as_array()?;
            let points: Option<Vec<(f64, f64)>> =
                points.iter().map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?))).collect();
            Some(Shape::Polygon(points?))
        }
        _ => None,
    }
}

#[derive(FromRow)]
struct GeofenceRow {
    id: Uuid,
    household_id: Uuid,
    name: String,
    shape: String,
    dwell_secs: i64,
    max_accuracy_m: f64,
    created_at: i64,
    updated_at: i64,
}

impl GeofenceRow {
    fn into_geofence(self) -> Result<Geofence> {
        let shape =
            shape_from_json(&self.shape).ok_or_else(|| StoreError::Corrupt(format!("geofence {}: shape", self.id)))?;
        Ok(Geofence {
            id: self.id,
            household_id: HouseholdId(self.household_id),
            fence: Fence { name: self.name, shape },
            rules: FenceRules { dwell_ms: self.dwell_secs * 1000, max_accuracy_m: self.max_accuracy_m },
            created_at: from_ms(self.created_at)?,
            updated_at: from_ms(self.updated_at)?,
        })
    }
}

const GEOFENCE_COLUMNS: &str = "id, household_id, name, shape, dwell_secs, max_accuracy_m, created_at, updated_at";

#[derive(FromRow)]
struct EventRow {
    id: Uuid,
    geofence_id: Uuid,
    device_id: Uuid,
    pet_id: Option<Uuid>,
    kind: String,
    at: i64,
    explanation: String,
}

impl From<EventRow> for GeofenceEvent {
    fn from(r: EventRow) -> Self {
        GeofenceEvent {
            id: r.id,
            geofence_id: r.geofence_id,
            device_id: DeviceId(r.device_id),
            pet_id: r.pet_id.map(PetId),
            kind: r.kind,
            at_ms: r.at,
            explanation: r.explanation,
        }
    }
}

#[derive(FromRow)]
struct StateRow {
    geofence_id: Uuid,
    device_id: Uuid,
    known: bool,
    inside: bool,
    outside_since: Option<i64>,
    candidate_since: Option<i64>,
    last_fix: Option<i64>,
}

impl From<StateRow> for GeofenceState {
    fn from(r: StateRow) -> Self {
        GeofenceState {
            geofence_id: r.geofence_id,
            device_id: DeviceId(r.device_id),
            state: FenceState {
                known: r.known,
                inside: r.inside,
                outside_since_ms: r.outside_since,
                candidate_since_ms: r.candidate_since,
                last_fix_ms: r.last_fix,
            },
        }
    }
}

impl Store {
    /// A new fence of the household.
    pub async fn create_geofence(
        &self,
        household_id: HouseholdId,
        fence: &Fence,
        rules: FenceRules,
        now: OffsetDateTime,
    ) -> Result<Geofence> {
        let sql = format!(
            "INSERT INTO geofences (id, household_id, name, shape, dwell_secs, max_accuracy_m, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {GEOFENCE_COLUMNS}"
        );
        let row: GeofenceRow = on_pool!(write, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(Uuid::now_v7())
                .bind(household_id.0)
                .bind(&fence.name)
                .bind(shape_json(&fence.shape))
                .bind(rules.dwell_ms / 1000)
                .bind(rules.max_accuracy_m)
                .bind(to_ms(now))
                .fetch_one(pool)
                .await?
        });
        row.into_geofence()
    }

    /// Replaces a fence's name, shape and rules; its devices' states start over (the old
    /// shape's inside is not the new one's).
    pub async fn update_geofence(
        &self,
        household_id: HouseholdId,
        id: Uuid,
        fence: &Fence,
        rules: FenceRules,
        now: OffsetDateTime,
    ) -> Result<Geofence> {
        let sql = format!(
            "UPDATE geofences SET name = $3, shape = $4, dwell_secs = $5, max_accuracy_m = $6, updated_at = $7 \
             WHERE household_id = $1 AND id = $2 RETURNING {GEOFENCE_COLUMNS}"
        );
        let row: GeofenceRow = on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let row = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(household_id.0)
                .bind(id)
                .bind(&fence.name)
                .bind(shape_json(&fence.shape))
                .bind(rules.dwell_ms / 1000)
                .bind(rules.max_accuracy_m)
                .bind(to_ms(now))
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM geofence_states WHERE household_id = $1 AND geofence_id = $2")
                .bind(household_id.0)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            row
        });
        row.into_geofence()
    }

    pub async fn get_geofence(&self, household_id: HouseholdId, id: Uuid) -> Result<Geofence> {
        let sql = format!("SELECT {GEOFENCE_COLUMNS} FROM geofences WHERE household_id = $1 AND id = $2");
        let row: GeofenceRow = on_pool!(read, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(household_id.0).bind(id).fetch_one(pool).await?
        });
        row.into_geofence()
    }

    /// The household's fences by name.
    pub async fn list_geofences(&self, household_id: HouseholdId) -> Result<Vec<Geofence>> {
        let sql = format!("SELECT {GEOFENCE_COLUMNS} FROM geofences WHERE household_id = $1 ORDER BY name, id");
        let rows: Vec<GeofenceRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(household_id.0).fetch_all(pool).await?
        });
        rows.into_iter().map(GeofenceRow::into_geofence).collect()
    }

    /// Deletes a fence with its states and events; `NotFound` if it is not this household's.
    pub async fn delete_geofence(&self, household_id: HouseholdId, id: Uuid) -> Result<()> {
        let done = on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            for sql in [
                "DELETE FROM geofence_states WHERE household_id = $1 AND geofence_id = $2",
                "DELETE FROM geofence_events WHERE household_id = $1 AND geofence_id = $2",
            ] {
                sqlx::query(sql).bind(household_id.0).bind(id).execute(&mut *tx).await?;
            }
            let done = sqlx::query("DELETE FROM geofences WHERE household_id = $1 AND id = $2")
                .bind(household_id.0)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            done
        });
        if done == 1 { Ok(()) } else { Err(StoreError::NotFound) }
    }

    /// The device's state for each of the household's fences it has been judged against.
    pub async fn geofence_states(&self, household_id: HouseholdId, device_id: DeviceId) -> Result<Vec<GeofenceState>> {
        let rows: Vec<StateRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(
                "SELECT geofence_id, device_id, known, inside, outside_since, candidate_since, last_fix \
                 FROM geofence_states WHERE household_id = $1 AND device_id = $2",
            )
            .bind(household_id.0)
            .bind(device_id.0)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(GeofenceState::from).collect())
    }

    /// Every device's state for one fence.
    pub async fn geofence_status(&self, household_id: HouseholdId, geofence_id: Uuid) -> Result<Vec<GeofenceState>> {
        let rows: Vec<StateRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(
                "SELECT geofence_id, device_id, known, inside, outside_since, candidate_since, last_fix \
                 FROM geofence_states WHERE household_id = $1 AND geofence_id = $2 ORDER BY device_id",
            )
            .bind(household_id.0)
            .bind(geofence_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(GeofenceState::from).collect())
    }

    /// Writes a device's new states for its fences and the events they confirmed, in one
    /// transaction, and answers the stored events.
    pub async fn apply_geofence_steps(
        &self,
        household_id: HouseholdId,
        device_id: DeviceId,
        pet_id: Option<PetId>,
        steps: &[(Uuid, FenceState, Vec<FenceEvent>)],
    ) -> Result<Vec<GeofenceEvent>> {
        let mut stored = Vec::new();
        on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            for (geofence_id, state, events) in steps {
                sqlx::query(
                    "INSERT INTO geofence_states (geofence_id, device_id, household_id, known, inside, outside_since, \
                     candidate_since, last_fix) SELECT $1, $2, $3, $4, $5, $6, $7, $8 \
                     WHERE EXISTS (SELECT 1 FROM geofences WHERE id = $1 AND household_id = $3) \
                     ON CONFLICT (geofence_id, device_id) DO UPDATE SET known = excluded.known, \
                     inside = excluded.inside, outside_since = excluded.outside_since, \
                     candidate_since = excluded.candidate_since, last_fix = excluded.last_fix",
                )
                .bind(geofence_id)
                .bind(device_id.0)
                .bind(household_id.0)
                .bind(state.known)
                .bind(state.inside)
                .bind(state.outside_since_ms)
                .bind(state.candidate_since_ms)
                .bind(state.last_fix_ms)
                .execute(&mut *tx)
                .await?;
                for e in events {
                    let id = Uuid::now_v7();
                    sqlx::query(
                        "INSERT INTO geofence_events (id, household_id, geofence_id, device_id, pet_id, kind, at, \
                         explanation) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(id)
                    .bind(household_id.0)
                    .bind(geofence_id)
                    .bind(device_id.0)
                    .bind(pet_id.map(|p| p.0))
                    .bind(e.kind.as_str())
                    .bind(e.at_ms)
                    .bind(&e.explanation)
                    .execute(&mut *tx)
                    .await?;
                    stored.push(GeofenceEvent {
                        id,
                        geofence_id: *geofence_id,
                        device_id,
                        pet_id,
                        kind: e.kind.as_str().to_owned(),
                        at_ms: e.at_ms,
                        explanation: e.explanation.clone(),
                    });
                }
            }
            tx.commit().await?;
        });
        Ok(stored)
    }

    /// A pet's confirmed exits and entries with `from_ms <= at < to_ms`, oldest first.
    pub async fn geofence_events(
        &self,
        household_id: HouseholdId,
        pet_id: PetId,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<GeofenceEvent>> {
        let rows: Vec<EventRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(
                "SELECT id, geofence_id, device_id, pet_id, kind, at, explanation FROM geofence_events \
                 WHERE household_id = $1 AND pet_id = $2 AND at >= $3 AND at < $4 ORDER BY at, id",
            )
            .bind(household_id.0)
            .bind(pet_id.0)
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(GeofenceEvent::from).collect())
    }
}
