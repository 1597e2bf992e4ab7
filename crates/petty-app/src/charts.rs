//! Charts of a device's metric, drawn as SVG from the rollups (minute, hour or day buckets,
//! whichever keeps a chart under a few hundred points), so a year costs what an hour does; the
//! household's alarm thresholds for the metric are drawn on it. The API's chart endpoint, the
//! dashboard's device pages (an air monitor's air, a collar's heart rate, activity and
//! temperature) and the Car-Bon profile's `/graph/generate` all draw through
//! [`render`]. Drawing is `petty_core::chart`'s; this gathers its inputs.

use petty_core::air::Mq7;
use petty_core::alarm::ConditionKind;
use petty_core::chart::{Bucket, Chart, ChartKind, Threshold, bucket_ms_for, render_svg};
use petty_core::ids::HouseholdId;
use petty_core::readings::Metric;
use petty_store::{Device, RollupQuery, StoreError};
use time::OffsetDateTime;

use crate::App;

/// The most buckets one chart draws.
pub const MAX_BUCKETS: i64 = 400;

/// A human name for a metric on a chart.
fn label(metric: Metric) -> &'static str {
    match metric {
        Metric::CoPpm | Metric::CoRaw => "CO",
        Metric::AmbientTempC => "Temperature",
        Metric::HumidityPct => "Humidity",
        Metric::HeartRate => "Heart rate",
        Metric::RespirationRate => "Respiration",
        Metric::TemperatureC => "Body temperature",
        Metric::BatteryPct => "Battery",
        Metric::ActivityLevel => "Activity",
        Metric::ActivityCounts => "Activity counts",
        Metric::Steps => "Steps",
        Metric::Rssi => "Signal",
    }
}

fn short_unit(metric: Metric) -> &'static str {
    match metric {
        Metric::CoPpm => "ppm",
        Metric::AmbientTempC | Metric::TemperatureC => "°C",
        Metric::HumidityPct | Metric::BatteryPct => "%",
        Metric::HeartRate => "bpm",
        Metric::RespirationRate => "breaths/min",
        Metric::Rssi => "dBm",
        _ => "",
    }
}

/// What to draw: a metric over `[from_ms, to_ms)`, as a line or bars, with a title of its own
/// (default: the device's name and the metric).
pub struct ChartRequest {
    pub metric: Metric,
    pub from_ms: i64,
    pub to_ms: i64,
    pub kind: ChartKind,
    pub title: Option<String>,
}

/// A drawn chart, and how many buckets of data it holds: none means nothing was measured in
/// the range, which a page says in words rather than showing an empty axis.
pub struct DrawnChart {
    pub svg: String,
    pub buckets: usize,
}

/// Draws `metric` of `device` over `[from_ms, to_ms)` as SVG. CO comes from the device's ppm
/// rollups, or from its raw MQ-7 rollups through its calibration (the curve is monotonic, so
/// minimum and maximum convert exactly and the mean closely).
pub async fn render(app: &App, device: &Device, request: ChartRequest) -> Result<String, StoreError> {
    Ok(draw(app, device, request).await?.svg)
}

/// [`render`], saying also how many buckets the chart holds.
pub async fn draw(app: &App, device: &Device, request: ChartRequest) -> Result<DrawnChart, StoreError> {
    let ChartRequest { metric, from_ms, to_ms, kind, title } = request;
    let household_id: HouseholdId = device.household_id;
    let bucket_ms = bucket_ms_for(from_ms, to_ms, MAX_BUCKETS);
    let query = |metric| RollupQuery {
        metric,
        resolution_secs: bucket_ms / 1000,
        from: petty_store::from_ms(from_ms).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        to: petty_store::from_ms(to_ms).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        limit: (MAX_BUCKETS * 2) as u32,
    };
    let mut rollups = app.store.rollup_series(household_id, device.id, &query(metric)).await?;
    let mut convert: Option<Mq7> = None;
    if metric == Metric::CoPpm && rollups.is_empty() {
        rollups = app.store.rollup_series(household_id, device.id, &query(Metric::CoRaw)).await?;
        convert = Some(Mq7::from_calibration(&device.profile.calibration));
    }
    let buckets: Vec<Bucket> = rollups
        .iter()
        .filter_map(|r| {
            let start_ms = petty_store::to_ms(r.bucket);
            match &convert {
                None => Some(Bucket { start_ms, min: r.min, mean: r.avg, max: r.max }),
                Some(m) => {
                    let (lo, hi) = (m.ppm(r.min)?, m.ppm(r.max)?);
                    Some(Bucket { start_ms, min: lo.min(hi), mean: m.ppm(r.avg)?, max: lo.max(hi) })
                }
            }
        })
        .collect();
    let rules = app.store.alarm_rules(household_id, petty_store::to_ms(OffsetDateTime::now_utc())).await?;
    let thresholds: Vec<Threshold> = rules
        .iter()
        .filter(|r| {
            r.rule.enabled
                && r.rule.metric == Some(metric)
                && matches!(r.rule.kind, ConditionKind::Above | ConditionKind::Below)
                && r.rule.watches(device.profile.kind)
        })
        .map(|r| Threshold {
            label: format!("{} {} {}", r.rule.name, r.rule.value, short_unit(metric)),
            value: r.rule.value,
        })
        .collect();
    let title = title.unwrap_or_else(|| format!("{}: {}", device.profile.name, label(metric)));
    let buckets_drawn = buckets.len();
    let chart =
        Chart::new(title, label(metric).to_owned(), short_unit(metric).to_owned(), kind, from_ms, to_ms, bucket_ms)
            .with_buckets(buckets)
            .with_thresholds(thresholds);
    Ok(DrawnChart { svg: render_svg(&chart), buckets: buckets_drawn })
}
