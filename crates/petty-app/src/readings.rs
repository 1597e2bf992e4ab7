//! A stored reading as the API shows it and live subscribers of `device:{id}` receive it, and
//! the replay that lets a live subscriber catch up after a disconnection ([`App::replay_readings`]).

use std::collections::BTreeMap;
use std::time::Duration;

use petty_core::ids::{DeviceId, HouseholdId};
use petty_core::readings::Metric;
use petty_store::{StoreError, StoredReading};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A stored reading as the API shows it: only the measurements it carries.
#[derive(Serialize, ToSchema)]
pub struct ReadingOut {
    /// The device's own time of the measurement.
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub ts: OffsetDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    /// When Petty received it.
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub received_at: OffsetDateTime,
    /// heart_rate, co_ppm, ...: the typed metrics present in the reading.
    #[serde(flatten)]
    pub metrics: BTreeMap<&'static str, f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationOut>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, f64>,
}

#[derive(Serialize, ToSchema)]
pub struct LocationOut {
    pub lat: f64,
    pub lon: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
}

impl From<StoredReading> for ReadingOut {
    fn from(s: StoredReading) -> Self {
        let r = s.reading;
        Self {
            ts: r.ts,
            seq: r.seq,
            received_at: s.received_at,
            metrics: Metric::ALL.into_iter().filter_map(|m| r.value(m).map(|v| (m.name(), v))).collect(),
            location: r.location.map(|l| LocationOut { lat: l.lat, lon: l.lon, accuracy_m: l.accuracy_m }),
            extra: r.extra,
        }
    }
}

/// How far back a replay reaches before the cursor: a reading is stamped `received_at` when it
/// arrives and published after its commit, so one stamped earlier than a reading a client saw
/// may be published after it (a slower request, another node). A request takes at most its
/// timeout (30 s by default); this is twice that.
pub const REPLAY_SLACK: Duration = Duration::from_secs(60);
/// Readings that arrive later than this after their own event time (a backfill, an import) are
/// not replayed: the replay reads by event time from this long before the cursor, which keeps it
/// on the readings' key.
pub const REPLAY_LATE: Duration = Duration::from_secs(3600);
/// A cursor older than this is not replayed: the client reloads instead.
pub const REPLAY_HORIZON: Duration = Duration::from_secs(10 * 60);
/// The most readings one replay sends.
pub const REPLAY_MAX: usize = 2000;

/// What a resumed subscription to `device:{id}` is sent before its live events.
pub enum Replay {
    /// The readings received since (and up to [`REPLAY_SLACK`] before) the cursor, in the
    /// order they arrived; some may have been seen already (a reading is its `ts` and `seq`).
    Readings(Vec<ReadingOut>),
    /// The cursor is older than [`REPLAY_HORIZON`].
    TooOld,
    /// More than [`REPLAY_MAX`] readings arrived since the cursor.
    TooMany,
}

impl crate::App {
    /// The readings of `device_id` a live subscriber that last saw a reading received at
    /// `after` may have missed. The caller has checked that the device is the household's.
    pub async fn replay_readings(
        &self,
        household_id: HouseholdId,
        device_id: DeviceId,
        after: OffsetDateTime,
    ) -> Result<Replay, StoreError> {
        let now = self.now();
        if now - after > REPLAY_HORIZON {
            return Ok(Replay::TooOld);
        }
        let from = after - REPLAY_SLACK;
        let limit = u32::try_from(REPLAY_MAX + 1).unwrap_or(u32::MAX);
        let rows = self.store.readings_received_since(household_id, device_id, from, from - REPLAY_LATE, limit).await?;
        if rows.len() > REPLAY_MAX {
            return Ok(Replay::TooMany);
        }
        Ok(Replay::Readings(rows.into_iter().map(ReadingOut::from).collect()))
    }
}
