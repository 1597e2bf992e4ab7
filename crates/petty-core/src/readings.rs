//! Readings: what a device measured at one moment.
//!
//! A reading carries a timestamp, an optional sequence number, any of the typed [`Metric`]s, an
//! optional location and a few named extra numbers. [`Reading::parse`] checks all of it against
//! the ranges below, so everything stored is plausible for a pet or a room.

use std::collections::BTreeMap;
use std::fmt;

use time::format_description::well_known::Rfc3339;
use time::macros::datetime;
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::validation::{Collector, FieldError, Invalid};

/// The typed metrics a reading may carry, in a fixed order (storage columns follow it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    HeartRate,
    RespirationRate,
    ActivityLevel,
    ActivityCounts,
    Steps,
    TemperatureC,
    BatteryPct,
    Rssi,
    CoPpm,
    CoRaw,
    HumidityPct,
    AmbientTempC,
}

pub const METRIC_COUNT: usize = 12;

impl Metric {
    pub const ALL: [Metric; METRIC_COUNT] = [
        Metric::HeartRate,
        Metric::RespirationRate,
        Metric::ActivityLevel,
        Metric::ActivityCounts,
        Metric::Steps,
        Metric::TemperatureC,
        Metric::BatteryPct,
        Metric::Rssi,
        Metric::CoPpm,
        Metric::CoRaw,
        Metric::HumidityPct,
        Metric::AmbientTempC,
    ];

    /// The metric's position in [`Metric::ALL`] (and in [`Reading::values`]).
    pub fn index(self) -> usize {
        match self {
            Metric::HeartRate => 0,
            Metric::RespirationRate => 1,
            Metric::ActivityLevel => 2,
            Metric::ActivityCounts => 3,
            Metric::Steps => 4,
            Metric::TemperatureC => 5,
            Metric::BatteryPct => 6,
            Metric::Rssi => 7,
            Metric::CoPpm => 8,
            Metric::CoRaw => 9,
            Metric::HumidityPct => 10,
            Metric::AmbientTempC => 11,
        }
    }

    /// The field name clients send and see.
    pub fn name(self) -> &'static str {
        match self {
            Metric::HeartRate => "heart_rate",
            Metric::RespirationRate => "respiration_rate",
            Metric::ActivityLevel => "activity_level",
            Metric::ActivityCounts => "activity_counts",
            Metric::Steps => "steps",
            Metric::TemperatureC => "temperature_c",
            Metric::BatteryPct => "battery_pct",
            Metric::Rssi => "rssi",
            Metric::CoPpm => "co_ppm",
            Metric::CoRaw => "co_raw",
            Metric::HumidityPct => "humidity_pct",
            Metric::AmbientTempC => "ambient_temp_c",
        }
    }

    /// The metric with exactly this field name.
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The lowest and highest plausible values, both allowed.
    pub fn range(self) -> (f64, f64) {
        match self {
            Metric::HeartRate => (20.0, 400.0),
            Metric::RespirationRate => (2.0, 200.0),
            Metric::ActivityLevel => (0.0, 2.0),
            Metric::ActivityCounts => (0.0, 1_000_000.0),
            Metric::Steps => (0.0, 1_000_000.0),
            Metric::TemperatureC => (25.0, 45.0),
            Metric::BatteryPct => (0.0, 100.0),
            Metric::Rssi => (-150.0, 0.0),
            Metric::CoPpm => (0.0, 10_000.0),
            Metric::CoRaw => (0.0, 65_535.0),
            Metric::HumidityPct => (0.0, 100.0),
            Metric::AmbientTempC => (-50.0, 90.0),
        }
    }

    /// Whether only whole numbers make sense (levels, counts, dBm, ADC values).
    pub fn is_integer(self) -> bool {
        matches!(self, Metric::ActivityLevel | Metric::ActivityCounts | Metric::Steps | Metric::Rssi | Metric::CoRaw)
    }

    /// The unit in words, for messages and documentation.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::HeartRate => "beats per minute",
            Metric::RespirationRate => "breaths per minute",
            Metric::ActivityLevel => "0 rest, 1 light, 2 active",
            Metric::ActivityCounts => "activity counts",
            Metric::Steps => "steps",
            Metric::TemperatureC => "°C body temperature",
            Metric::BatteryPct => "percent",
            Metric::Rssi => "dBm",
            Metric::CoPpm => "ppm carbon monoxide",
            Metric::CoRaw => "raw ADC value, e.g. from an MQ-7",
            Metric::HumidityPct => "percent relative humidity",
            Metric::AmbientTempC => "°C air temperature",
        }
    }

    /// Checks one value of this metric; the error names the metric.
    pub fn check(self, value: f64) -> Result<f64, FieldError> {
        let name = self.name();
        let (lo, hi) = self.range();
        if !value.is_finite() {
            return Err(FieldError::new(name, "out_of_range", format!("{name} must be a finite number")));
        }
        if value < lo || value > hi {
            return Err(FieldError::new(
                name,
                "out_of_range",
                format!("{name} must be between {lo} and {hi} ({})", self.unit()),
            ));
        }
        if self.is_integer() && value.fract() != 0.0 {
            return Err(FieldError::new(name, "not_integer", format!("{name} must be a whole number")));
        }
        Ok(value)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A timestamp as a device sent it.
#[derive(Debug, Clone, PartialEq)]
pub enum RawTime {
    /// RFC 3339 text, any offset.
    Text(String),
    /// Milliseconds since 1970-01-01T00:00Z.
    EpochMs(i64),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawLocation {
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
}

/// A reading as it arrives from a device, not yet checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawReading {
    pub ts: Option<RawTime>,
    pub seq: Option<i64>,
    /// Indexed by [`Metric::index`].
    pub values: [Option<f64>; METRIC_COUNT],
    pub location: Option<RawLocation>,
    /// Named numbers the typed metrics do not cover, in the order sent.
    pub extra: Vec<(String, f64)>,
    /// A raw 3-axis accelerometer window; it is reduced to its features (kept as the extra
    /// numbers named `accel_*`) and not stored itself.
    pub accel: Option<RawAccel>,
}

/// A raw accelerometer window as a collar sends it: `{hz, x[], y[], z[]}` in g.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawAccel {
    pub hz: Option<f64>,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub z: Vec<f64>,
}

/// Where a reading was taken, in WGS 84 degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
    /// Radius of the fix's uncertainty, in metres.
    pub accuracy_m: Option<f64>,
}

/// A checked reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// UTC, truncated to whole milliseconds.
    pub ts: OffsetDateTime,
    pub seq: Option<i64>,
    /// Indexed by [`Metric::index`].
    pub values: [Option<f64>; METRIC_COUNT],
    pub location: Option<Location>,
    pub extra: BTreeMap<String, f64>,
}

/// How far ahead of the server's clock a reading's time may be (device clocks drift).
pub const MAX_FUTURE: time::Duration = time::Duration::minutes(5);
/// The most extra numbers one reading may carry.
pub const MAX_EXTRA: usize = 32;
/// The longest name an extra number (or a calibration constant) may have.
pub const KEY_MAX: usize = 64;
/// Nothing Petty stores predates this; an earlier time is a device that lost its clock.
pub const EARLIEST: OffsetDateTime = datetime!(2000-01-01 00:00 UTC);
/// The widest uncertainty radius accepted for a location, in metres.
pub const ACCURACY_MAX_M: f64 = 100_000.0;

const TS_FORMAT_HINT: &str = "an RFC 3339 time like 2026-11-22T06:15:35Z or epoch milliseconds";

impl Reading {
    /// Checks every field against its documented rule and collects all errors.
    pub fn parse(raw: &RawReading, now: time::OffsetDateTime) -> Result<Reading, Invalid> {
        let mut c = Collector::new();
        let ts = c.take(parse_ts(raw.ts.as_ref(), now));
        let seq = c.take(parse_seq(raw.seq));

        let mut values = [None; METRIC_COUNT];
        for metric in Metric::ALL {
            if let Some(value) = raw.values[metric.index()] {
                match metric.check(value) {
                    Ok(v) => values[metric.index()] = Some(v),
                    Err(e) => c.push(e),
                }
            }
        }

        let location = c.take(raw.location.as_ref().map(parse_location).transpose());
        let mut extra = c.take(parse_extra(&raw.extra));
        if let Some(accel) = &raw.accel {
            match parse_accel(accel) {
                Ok(features) => {
                    if let Some(extra) = extra.as_mut() {
                        for (name, value) in features.to_extra() {
                            extra.insert(name.to_owned(), value);
                        }
                    }
                }
                Err(invalid) => {
                    for e in invalid.0 {
                        c.push(e);
                    }
                }
            }
        }

        if raw.values.iter().all(Option::is_none)
            && raw.location.is_none()
            && raw.extra.is_empty()
            && raw.accel.is_none()
        {
            c.push(FieldError::new("readings", "required", "a reading needs at least one measurement"));
        }

        c.finish()?;
        match (ts, seq, location, extra) {
            (Some(ts), Some(seq), Some(location), Some(extra)) => Ok(Reading { ts, seq, values, location, extra }),
            _ => Err(Invalid::one("readings", "invalid", "the reading could not be read")),
        }
    }

    pub fn value(&self, metric: Metric) -> Option<f64> {
        self.values[metric.index()]
    }

    /// The time as unix epoch milliseconds.
    pub fn ts_ms(&self) -> i64 {
        self.ts.unix_timestamp() * 1000 + i64::from(self.ts.millisecond())
    }
}

/// The UTC time `ms` milliseconds after 1970-01-01T00:00Z, if it is one `time` can represent.
pub fn from_epoch_ms(ms: i64) -> Option<time::OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// Whether `key` can name an extra number or a calibration constant: 1 to [`KEY_MAX`] characters
/// of lowercase ASCII letters, digits and underscores, starting with a letter.
pub fn is_key_name(key: &str) -> bool {
    let mut chars = key.chars();
    key.len() <= KEY_MAX
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn parse_ts(raw: Option<&RawTime>, now: OffsetDateTime) -> Result<OffsetDateTime, Invalid> {
    let at = match raw {
        None => return Err(Invalid::one("ts", "required", format!("ts is required: {TS_FORMAT_HINT}"))),
        Some(RawTime::Text(text)) => {
            let text = text.trim();
            if text.is_empty() {
                return Err(Invalid::one("ts", "required", format!("ts is required: {TS_FORMAT_HINT}")));
            }
            OffsetDateTime::parse(text, &Rfc3339)
                .map_err(|_| Invalid::one("ts", "format", format!("ts must be {TS_FORMAT_HINT}")))?
        }
        Some(RawTime::EpochMs(ms)) => from_epoch_ms(*ms).ok_or_else(|| {
            Invalid::one("ts", "out_of_range", format!("ts of {ms} epoch milliseconds is not a valid time"))
        })?,
    };
    let at = truncate_to_ms(at.to_offset(UtcOffset::UTC));
    if at < EARLIEST {
        return Err(Invalid::one("ts", "out_of_range", "ts must not be before 2000-01-01T00:00:00Z"));
    }
    if at > now + MAX_FUTURE {
        return Err(Invalid::one(
            "ts",
            "in_future",
            format!(
                "ts must not be more than {} minutes ahead of the server's clock (check the device's clock)",
                MAX_FUTURE.whole_minutes()
            ),
        ));
    }
    Ok(at)
}

/// Drops everything below the millisecond; never crosses a second boundary, so never overflows.
fn truncate_to_ms(at: OffsetDateTime) -> OffsetDateTime {
    at - Duration::nanoseconds(i64::from(at.nanosecond() % 1_000_000))
}

fn parse_seq(raw: Option<i64>) -> Result<Option<i64>, Invalid> {
    match raw {
        Some(seq) if seq < 0 => Err(Invalid::one("seq", "out_of_range", "seq must be 0 or more")),
        other => Ok(other),
    }
}

fn parse_location(raw: &RawLocation) -> Result<Location, Invalid> {
    let mut c = Collector::new();
    let lat = c.take(coordinate("location.lat", raw.lat, 90.0));
    let lon = c.take(coordinate("location.lon", raw.lon, 180.0));
    let accuracy_m = match raw.accuracy_m {
        Some(a) if !(a.is_finite() && (0.0..=ACCURACY_MAX_M).contains(&a)) => {
            c.push(FieldError::new(
                "location.accuracy_m",
                "out_of_range",
                format!("location.accuracy_m must be between 0 and {ACCURACY_MAX_M} (metres)"),
            ));
            None
        }
        other => other,
    };
    c.finish()?;
    match (lat, lon) {
        (Some(lat), Some(lon)) => Ok(Location { lat, lon, accuracy_m }),
        _ => Err(Invalid::one("location", "invalid", "the location could not be read")),
    }
}

fn coordinate(field: &str, raw: Option<f64>, limit: f64) -> Result<f64, Invalid> {
    match raw {
        None => Err(Invalid::one(field, "required", format!("{field} is required when a location is given"))),
        Some(v) if v.is_finite() && (-limit..=limit).contains(&v) => Ok(v),
        Some(_) => {
            Err(Invalid::one(field, "out_of_range", format!("{field} must be between -{limit} and {limit} (degrees)")))
        }
    }
}

fn parse_extra(raw: &[(String, f64)]) -> Result<BTreeMap<String, f64>, Invalid> {
    parse_named_numbers("extra", raw, MAX_EXTRA, |key| {
        Metric::from_name(key).map(|_| format!("is a known metric: send it as the top-level field {key}"))
    })
}

fn parse_accel(raw: &RawAccel) -> Result<crate::behaviour::AccelFeatures, Invalid> {
    let Some(hz) = raw.hz else {
        return Err(Invalid::one("accel.hz", "required", "accel.hz is required: the window's sample rate in Hz"));
    };
    crate::behaviour::features::accel_features(hz, &raw.x, &raw.y, &raw.z)
}

/// A map of named numbers (a reading's `extra`, a device's `calibration`): at most `max`
/// entries (when there are more, that alone is reported), each named like a metric, given
/// once, finite, and not refused by `reserved` (which says why).
pub fn parse_named_numbers(
    field: &str,
    raw: &[(String, f64)],
    max: usize,
    reserved: impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, f64>, Invalid> {
    if raw.len() > max {
        return Err(Invalid::one(
            field,
            "too_many",
            format!("{field} must have at most {max} entries (got {})", raw.len()),
        ));
    }
    let mut errors = Vec::new();
    let mut seen = BTreeMap::new();
    for (key, value) in raw {
        let name = format!("{field}.{key}");
        if !is_key_name(key) {
            errors.push(FieldError::new(
                &name,
                "format",
                format!(
                    "{name} must be named with 1 to {KEY_MAX} lowercase letters, digits and underscores, \
                     starting with a letter"
                ),
            ));
        } else if let Some(why) = reserved(key) {
            errors.push(FieldError::new(&name, "format", format!("{name} {why}")));
        } else if seen.contains_key(key) {
            errors.push(FieldError::new(&name, "format", format!("{name} is given more than once")));
        } else if !value.is_finite() {
            errors.push(FieldError::new(&name, "out_of_range", format!("{name} must be a finite number")));
        } else {
            seen.insert(key.clone(), *value);
        }
    }
    if errors.is_empty() { Ok(seen) } else { Err(Invalid(errors)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-22 06:15:35 UTC);

    fn text(ts: &str) -> Option<RawTime> {
        Some(RawTime::Text(ts.to_owned()))
    }

    /// A reading at `NOW` with one metric set.
    fn with(metric: Metric, value: f64) -> RawReading {
        let mut raw = RawReading { ts: text("2026-11-22T06:15:35Z"), ..Default::default() };
        raw.values[metric.index()] = Some(value);
        raw
    }

    fn heart(ts: Option<RawTime>) -> RawReading {
        RawReading { ts, ..with(Metric::HeartRate, 80.0) }
    }

    fn fields(err: &Invalid) -> Vec<(&str, &str)> {
        err.0.iter().map(|e| (e.field.as_str(), e.rule)).collect()
    }

    #[test]
    fn metrics_are_listed_in_index_order_with_unique_names() {
        assert_eq!(Metric::ALL.len(), METRIC_COUNT);
        for (i, metric) in Metric::ALL.into_iter().enumerate() {
            assert_eq!(metric.index(), i);
            assert_eq!(Metric::from_name(metric.name()), Some(metric));
            assert_eq!(metric.to_string(), metric.name());
            assert!(!metric.unit().is_empty());
        }
        let names: Vec<_> = Metric::ALL.into_iter().map(Metric::name).collect();
        assert_eq!(
            names,
            [
                "heart_rate",
                "respiration_rate",
                "activity_level",
                "activity_counts",
                "steps",
                "temperature_c",
                "battery_pct",
                "rssi",
                "co_ppm",
                "co_raw",
                "humidity_pct",
                "ambient_temp_c",
            ]
        );
        assert_eq!(Metric::from_name("Heart_Rate"), None);
        assert_eq!(Metric::from_name("pressure"), None);
        assert!(Metric::HeartRate < Metric::AmbientTempC);
    }

    #[test]
    fn every_metric_accepts_its_bounds_and_rejects_beyond() {
        for metric in Metric::ALL {
            let (lo, hi) = metric.range();
            let step = if metric.is_integer() { 1.0 } else { 0.01 };
            for ok in [lo, hi] {
                let r = Reading::parse(&with(metric, ok), NOW).unwrap_or_else(|e| panic!("{metric} {ok}: {e}"));
                assert_eq!(r.value(metric), Some(ok));
            }
            for bad in [lo - step, hi + step, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                let err = Reading::parse(&with(metric, bad), NOW).unwrap_err();
                assert_eq!(fields(&err), [(metric.name(), "out_of_range")], "{metric} {bad}");
            }
        }
    }

    #[test]
    fn range_messages_give_bounds_and_unit() {
        let err = Reading::parse(&with(Metric::HeartRate, 500.0), NOW).unwrap_err();
        assert_eq!(err.0[0].message, "heart_rate must be between 20 and 400 (beats per minute)");
        let err = Reading::parse(&with(Metric::Rssi, -151.0), NOW).unwrap_err();
        assert_eq!(err.0[0].message, "rssi must be between -150 and 0 (dBm)");
    }

    #[test]
    fn integer_metrics_take_whole_numbers_only() {
        let integers: Vec<_> = Metric::ALL.into_iter().filter(|m| m.is_integer()).map(Metric::name).collect();
        assert_eq!(integers, ["activity_level", "activity_counts", "steps", "rssi", "co_raw"]);
        for metric in Metric::ALL.into_iter().filter(|m| m.is_integer()) {
            let (lo, _) = metric.range();
            let err = Reading::parse(&with(metric, lo + 0.5), NOW).unwrap_err();
            assert_eq!(fields(&err), [(metric.name(), "not_integer")]);
            assert!(Reading::parse(&with(metric, lo + 1.0), NOW).is_ok());
        }
        assert_eq!(
            Reading::parse(&with(Metric::TemperatureC, 38.65), NOW).unwrap().value(Metric::TemperatureC),
            Some(38.65)
        );
    }

    #[test]
    fn rfc3339_with_offset_becomes_utc_whole_milliseconds() {
        let r = Reading::parse(&heart(text("2026-11-22T08:10:01.123456789+02:00")), NOW).unwrap();
        assert_eq!(r.ts, datetime!(2026-11-22 06:10:01.123 UTC));
        assert_eq!(r.ts.offset(), UtcOffset::UTC);
        assert_eq!(r.ts_ms(), 1_795_327_801_123);
        let r = Reading::parse(&heart(text(" 2026-11-21T21:00:00-05:30 ")), NOW).unwrap();
        assert_eq!(r.ts, datetime!(2026-11-22 02:30 UTC));
    }

    #[test]
    fn epoch_milliseconds_are_taken_as_is() {
        let r = Reading::parse(&heart(Some(RawTime::EpochMs(1_795_327_801_123))), NOW).unwrap();
        assert_eq!(r.ts, datetime!(2026-11-22 06:10:01.123 UTC));
        assert_eq!(r.ts_ms(), 1_795_327_801_123);
        let err = Reading::parse(&heart(Some(RawTime::EpochMs(i64::MAX))), NOW).unwrap_err();
        assert_eq!(fields(&err), [("ts", "out_of_range")]);
    }

    #[test]
    fn from_epoch_ms_round_trips() {
        assert_eq!(from_epoch_ms(0), Some(OffsetDateTime::UNIX_EPOCH));
        assert_eq!(from_epoch_ms(-1), Some(datetime!(1969-12-31 23:59:59.999 UTC)));
        assert_eq!(from_epoch_ms(i64::MIN), None);
        let r = Reading {
            ts: datetime!(1969-12-31 23:59:59.5 UTC),
            ..Reading::parse(&heart(text("2026-01-01T00:00:00Z")), NOW).unwrap()
        };
        assert_eq!(r.ts_ms(), -500);
        assert_eq!(from_epoch_ms(r.ts_ms()), Some(r.ts));
    }

    #[test]
    fn ts_is_required_and_must_be_a_time() {
        assert_eq!(fields(&Reading::parse(&heart(None), NOW).unwrap_err()), [("ts", "required")]);
        assert_eq!(fields(&Reading::parse(&heart(text("  ")), NOW).unwrap_err()), [("ts", "required")]);
        for bad in ["yesterday", "2026-11-22 06:15:35", "2026-11-22T06:15:35", "2026-02-30T00:00:00Z", "1795327801123"]
        {
            let err = Reading::parse(&heart(text(bad)), NOW).unwrap_err();
            assert_eq!(fields(&err), [("ts", "format")], "{bad}");
            assert!(err.0[0].message.contains("RFC 3339 time like 2026-11-22T06:15:35Z or epoch milliseconds"));
        }
    }

    #[test]
    fn ts_before_2000_is_out_of_range() {
        let err = Reading::parse(&heart(text("1999-12-31T23:59:59.999Z")), NOW).unwrap_err();
        assert_eq!(fields(&err), [("ts", "out_of_range")]);
        let err = Reading::parse(&heart(Some(RawTime::EpochMs(0))), NOW).unwrap_err();
        assert_eq!(fields(&err), [("ts", "out_of_range")]);
        assert!(Reading::parse(&heart(text("2000-01-01T00:00:00Z")), NOW).is_ok());
        assert!(Reading::parse(&heart(text("2000-01-01T01:00:00+01:00")), NOW).is_ok());
    }

    #[test]
    fn ts_may_be_at_most_five_minutes_ahead() {
        let at = |ms: i64| heart(Some(RawTime::EpochMs(ms)));
        let now_ms = NOW.unix_timestamp() * 1000;
        assert!(Reading::parse(&at(now_ms + 5 * 60 * 1000), NOW).is_ok());
        assert!(Reading::parse(&heart(text("2026-11-22T06:20:35Z")), NOW).is_ok());
        let err = Reading::parse(&at(now_ms + 5 * 60 * 1000 + 1), NOW).unwrap_err();
        assert_eq!(fields(&err), [("ts", "in_future")]);
        assert!(err.0[0].message.contains("5 minutes"));
        let err = Reading::parse(&heart(text("2026-11-23T06:15:35Z")), NOW).unwrap_err();
        assert_eq!(fields(&err), [("ts", "in_future")]);
        // The past is fine, however far back (after 2000).
        assert!(Reading::parse(&heart(text("2011-03-04T05:06:07Z")), NOW).is_ok());
    }

    #[test]
    fn seq_is_not_negative() {
        let r = Reading::parse(&RawReading { seq: Some(0), ..heart(text("2026-11-22T06:00:00Z")) }, NOW).unwrap();
        assert_eq!(r.seq, Some(0));
        let r =
            Reading::parse(&RawReading { seq: Some(i64::MAX), ..heart(text("2026-11-22T06:00:00Z")) }, NOW).unwrap();
        assert_eq!(r.seq, Some(i64::MAX));
        let err =
            Reading::parse(&RawReading { seq: Some(-1), ..heart(text("2026-11-22T06:00:00Z")) }, NOW).unwrap_err();
        assert_eq!(fields(&err), [("seq", "out_of_range")]);
    }

    #[test]
    fn location_bounds() {
        let at = |lat, lon, accuracy_m| {
            Reading::parse(
                &RawReading {
                    ts: text("2026-11-22T06:00:00Z"),
                    location: Some(RawLocation { lat, lon, accuracy_m }),
                    ..Default::default()
                },
                NOW,
            )
        };
        let r = at(Some(-90.0), Some(180.0), Some(0.0)).unwrap();
        assert_eq!(r.location, Some(Location { lat: -90.0, lon: 180.0, accuracy_m: Some(0.0) }));
        assert!(at(Some(90.0), Some(-180.0), Some(100_000.0)).is_ok());
        assert_eq!(at(Some(51.5), Some(-0.12), None).unwrap().location.and_then(|l| l.accuracy_m), None);
        let err = at(Some(90.01), Some(-180.01), Some(100_000.1)).unwrap_err();
        assert_eq!(
            fields(&err),
            [
                ("location.lat", "out_of_range"),
                ("location.lon", "out_of_range"),
                ("location.accuracy_m", "out_of_range")
            ]
        );
        let err = at(Some(f64::NAN), None, Some(-1.0)).unwrap_err();
        assert_eq!(
            fields(&err),
            [("location.lat", "out_of_range"), ("location.lon", "required"), ("location.accuracy_m", "out_of_range")]
        );
        let err = at(None, None, None).unwrap_err();
        assert_eq!(fields(&err), [("location.lat", "required"), ("location.lon", "required")]);
    }

    #[test]
    fn extra_numbers_are_kept_by_name() {
        let raw = RawReading {
            ts: text("2026-11-22T06:00:00Z"),
            extra: vec![("pm2_5".into(), 12.0), ("voc_index".into(), 101.5)],
            ..Default::default()
        };
        let r = Reading::parse(&raw, NOW).unwrap();
        assert_eq!(r.extra.len(), 2);
        assert_eq!(r.extra.get("pm2_5"), Some(&12.0));
        assert_eq!(r.extra.get("voc_index"), Some(&101.5));
        assert!(r.values.iter().all(Option::is_none));
    }

    #[test]
    fn extra_rules() {
        let longest = "k".repeat(KEY_MAX);
        let too_long = "k".repeat(KEY_MAX + 1);
        let raw = RawReading {
            ts: text("2026-11-22T06:00:00Z"),
            extra: vec![
                (longest.clone(), 1.0),
                ("Pm25".into(), 1.0),
                ("9lives".into(), 1.0),
                (String::new(), 1.0),
                ("voc-index".into(), 1.0),
                (too_long.clone(), 1.0),
                ("heart_rate".into(), 80.0),
                ("pm10".into(), f64::NAN),
                ("noise_db".into(), 40.0),
                ("noise_db".into(), 41.0),
            ],
            ..Default::default()
        };
        let err = Reading::parse(&raw, NOW).unwrap_err();
        let long_field = format!("extra.{too_long}");
        assert_eq!(
            fields(&err),
            [
                ("extra.Pm25", "format"),
                ("extra.9lives", "format"),
                ("extra.", "format"),
                ("extra.voc-index", "format"),
                (long_field.as_str(), "format"),
                ("extra.heart_rate", "format"),
                ("extra.pm10", "out_of_range"),
                ("extra.noise_db", "format"),
            ]
        );
        let metric_msg = &err.0[5].message;
        assert!(metric_msg.contains("top-level field heart_rate"), "{metric_msg}");
    }

    #[test]
    fn extra_holds_at_most_32_numbers() {
        let raw = |n: usize| RawReading {
            ts: text("2026-11-22T06:00:00Z"),
            extra: (0..n).map(|i| (format!("x{i}"), 1.0)).collect(),
            ..Default::default()
        };
        assert_eq!(Reading::parse(&raw(MAX_EXTRA), NOW).unwrap().extra.len(), 32);
        assert_eq!(fields(&Reading::parse(&raw(MAX_EXTRA + 1), NOW).unwrap_err()), [("extra", "too_many")]);
    }

    #[test]
    fn a_reading_must_measure_something() {
        let err =
            Reading::parse(&RawReading { ts: text("2026-11-22T06:00:00Z"), ..Default::default() }, NOW).unwrap_err();
        assert_eq!(fields(&err), [("readings", "required")]);
        assert_eq!(err.0[0].message, "a reading needs at least one measurement");
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let mut raw = RawReading {
            ts: text("2031-01-01T00:00:00Z"),
            seq: Some(-3),
            location: Some(RawLocation { lat: None, lon: Some(200.0), accuracy_m: None }),
            extra: vec![("co_ppm".into(), 3.0)],
            ..Default::default()
        };
        raw.values[Metric::HeartRate.index()] = Some(5.0);
        raw.values[Metric::Steps.index()] = Some(1.5);
        raw.values[Metric::HumidityPct.index()] = Some(f64::NAN);
        raw.values[Metric::BatteryPct.index()] = Some(55.0);
        let err = Reading::parse(&raw, NOW).unwrap_err();
        assert_eq!(
            fields(&err),
            [
                ("ts", "in_future"),
                ("seq", "out_of_range"),
                ("heart_rate", "out_of_range"),
                ("steps", "not_integer"),
                ("humidity_pct", "out_of_range"),
                ("location.lat", "required"),
                ("location.lon", "out_of_range"),
                ("extra.co_ppm", "format"),
            ]
        );
        // The empty-reading rule joins the others rather than replacing them.
        let err = Reading::parse(&RawReading { seq: Some(-1), ..Default::default() }, NOW).unwrap_err();
        assert_eq!(fields(&err), [("ts", "required"), ("seq", "out_of_range"), ("readings", "required")]);
    }

    #[test]
    fn a_full_reading_parses() {
        let mut raw = RawReading {
            ts: text("2026-11-22T06:14:00.5Z"),
            seq: Some(42),
            location: Some(RawLocation { lat: Some(48.2), lon: Some(16.37), accuracy_m: Some(8.0) }),
            extra: vec![("pm2_5".into(), 4.0)],
            ..Default::default()
        };
        for metric in Metric::ALL {
            raw.values[metric.index()] = Some(metric.range().1);
        }
        let r = Reading::parse(&raw, NOW).unwrap();
        assert_eq!(r.seq, Some(42));
        assert_eq!(r.ts, datetime!(2026-11-22 06:14:00.5 UTC));
        assert_eq!(r.value(Metric::CoRaw), Some(65_535.0));
        assert_eq!(r.value(Metric::AmbientTempC), Some(90.0));
        assert_eq!(r.location, Some(Location { lat: 48.2, lon: 16.37, accuracy_m: Some(8.0) }));
    }
}

/// How long a household keeps its raw readings and its rollups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub readings_days: u32,
    pub rollups_days: u32,
}

impl Default for RetentionPolicy {
    /// Three months of raw readings, five years of summaries.
    fn default() -> Self {
        Self { readings_days: 90, rollups_days: 1_825 }
    }
}

impl RetentionPolicy {
    pub const MAX_READINGS_DAYS: u32 = 3_650;
    pub const MAX_ROLLUPS_DAYS: u32 = 36_500;

    /// Both periods in whole days: raw readings 1–3,650, rollups 1–36,500 and no shorter than
    /// the raw readings (a summary outliving its readings is the point of keeping it).
    pub fn parse(readings_days: i64, rollups_days: i64) -> Result<RetentionPolicy, Invalid> {
        let mut errors = Vec::new();
        let readings = u32::try_from(readings_days).ok().filter(|d| (1..=Self::MAX_READINGS_DAYS).contains(d));
        if readings.is_none() {
            errors.push(FieldError::new(
                "readings_days",
                "out_of_range",
                format!("readings_days must be between 1 and {} days", Self::MAX_READINGS_DAYS),
            ));
        }
        let rollups = u32::try_from(rollups_days).ok().filter(|d| (1..=Self::MAX_ROLLUPS_DAYS).contains(d));
        if rollups.is_none() {
            errors.push(FieldError::new(
                "rollups_days",
                "out_of_range",
                format!("rollups_days must be between 1 and {} days", Self::MAX_ROLLUPS_DAYS),
            ));
        }
        match (readings, rollups) {
            (Some(readings_days), Some(rollups_days)) if rollups_days >= readings_days => {
                Ok(RetentionPolicy { readings_days, rollups_days })
            }
            (Some(_), Some(_)) => Err(Invalid::one(
                "rollups_days",
                "out_of_range",
                "rollups_days must be at least readings_days: summaries outlive the readings they summarise",
            )),
            _ => Err(Invalid(errors)),
        }
    }
}

#[cfg(test)]
mod retention_tests {
    use super::*;

    #[test]
    fn retention_periods_are_bounded_and_summaries_outlive_readings() {
        assert_eq!(RetentionPolicy::parse(30, 365), Ok(RetentionPolicy { readings_days: 30, rollups_days: 365 }));
        assert!(RetentionPolicy::parse(30, 30).is_ok());
        let fields = |r: Result<RetentionPolicy, Invalid>| -> Vec<String> {
            r.unwrap_err().0.into_iter().map(|e| e.field).collect()
        };
        assert_eq!(fields(RetentionPolicy::parse(0, 36_501)), ["readings_days", "rollups_days"]);
        assert_eq!(fields(RetentionPolicy::parse(90, 30)), ["rollups_days"]);
        assert_eq!(fields(RetentionPolicy::parse(-1, 30)), ["readings_days"]);
    }
}
