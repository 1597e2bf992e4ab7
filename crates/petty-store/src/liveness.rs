//! The liveness pass: compares every device's liveness and battery now with what was last noted,
//! records an event for each change (stale, offline, back online, battery low or fine again),
//! and notes the new state, in one transaction per device.

use petty_core::devices::{DeviceEventKind, DeviceStatus, battery_low, device_status, liveness_changes};
use petty_core::ids::{DeviceId, HouseholdId};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{BeginWrite, Result, Store, StoreError, from_ms, from_ms_opt, on_pool, to_ms};

/// A recorded change in a device's liveness or battery.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceEvent {
    pub household_id: HouseholdId,
    pub device_id: DeviceId,
    pub kind: DeviceEventKind,
    pub at: OffsetDateTime,
    pub detail: String,
}

type LivenessRow = (Uuid, Uuid, String, i64, Option<i64>, Option<f64>, String, bool);

impl Store {
    /// Notes every device's liveness and battery as of `now`; returns the events it recorded.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn liveness_pass(&self, now: OffsetDateTime) -> Result<Vec<DeviceEvent>> {
        let rows: Vec<LivenessRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(
                "SELECT id, household_id, name, expected_interval_secs, last_seen_at, battery_pct, liveness, \
                 battery_low_noted FROM devices",
            )
            .fetch_all(pool)
            .await?
        });
        let mut events = Vec::new();
        for (id, household_id, name, interval, last_seen, battery, noted, battery_noted) in rows {
            let last_seen = from_ms_opt(last_seen)?;
            let status = device_status(last_seen, u32::try_from(interval).unwrap_or(u32::MAX), now);
            let noted: DeviceStatus = noted.parse().unwrap_or(DeviceStatus::NeverSeen);
            let low = battery_low(battery);
            let changes = liveness_changes(noted, status, battery_noted, low);
            if changes.is_empty() && noted == status {
                continue;
            }
            let device_events: Vec<DeviceEvent> = changes
                .into_iter()
                .map(|kind| DeviceEvent {
                    household_id: HouseholdId(household_id),
                    device_id: DeviceId(id),
                    kind,
                    at: now,
                    detail: describe(&name, kind, last_seen, battery),
                })
                .collect();
            on_pool!(write, self, |pool| {
                let mut tx = pool.begin_write().await?;
                sqlx::query(
                    "UPDATE devices SET liveness = $3, battery_low_noted = $4 WHERE household_id = $1 AND id = $2",
                )
                .bind(household_id)
                .bind(id)
                .bind(status.as_str())
                .bind(low)
                .execute(&mut *tx)
                .await?;
                for event in &device_events {
                    sqlx::query(
                        "INSERT INTO device_events (id, household_id, device_id, kind, at, detail) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(Uuid::now_v7())
                    .bind(household_id)
                    .bind(id)
                    .bind(event.kind.as_str())
                    .bind(to_ms(event.at))
                    .bind(&event.detail)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
            });
            events.extend(device_events);
        }
        Ok(events)
    }

    /// The device's events, newest first.
    pub async fn device_events(
        &self,
        household_id: HouseholdId,
        device_id: DeviceId,
        limit: u32,
    ) -> Result<Vec<DeviceEvent>> {
        let rows: Vec<(String, i64, String)> = on_pool!(read, self, |pool| {
            sqlx::query_as(
                "SELECT kind, at, detail FROM device_events WHERE household_id = $1 AND device_id = $2 \
                 ORDER BY at DESC, id DESC LIMIT $3",
            )
            .bind(household_id.0)
            .bind(device_id.0)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(kind, at, detail)| {
                Ok(DeviceEvent {
                    household_id,
                    device_id,
                    kind: kind.parse().map_err(|_| StoreError::Corrupt(format!("device event kind {kind:?}")))?,
                    at: from_ms(at)?,
                    detail,
                })
            })
            .collect()
    }
}

fn describe(name: &str, kind: DeviceEventKind, last_seen: Option<OffsetDateTime>, battery: Option<f64>) -> String {
    let since = last_seen
        .map(|t| {
            format!(
                "; last heard from {}",
                t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
            )
        })
        .unwrap_or_default();
    match kind {
        DeviceEventKind::Stale => format!("{name} has missed several reports{since}"),
        DeviceEventKind::Offline => format!("{name} is offline{since}"),
        DeviceEventKind::BackOnline => format!("{name} is reporting again"),
        DeviceEventKind::BatteryLow => format!("{name}'s battery is low ({:.0}%)", battery.unwrap_or_default()),
        DeviceEventKind::BatteryOk => format!("{name}'s battery is fine again ({:.0}%)", battery.unwrap_or_default()),
    }
}
