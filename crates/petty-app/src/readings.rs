//! A stored reading as the API shows it and live subscribers of `device:{id}` receive it.

use std::collections::BTreeMap;

use petty_core::readings::Metric;
use petty_store::StoredReading;
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
