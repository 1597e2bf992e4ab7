//! A pet's samples as the analysis reads them: one column per measurement ([`Columns`]), instead
//! of one 216-byte [`Sample`] row per reading. A day of a 1 Hz collar is 86,400 readings; the
//! epoch features read each column from start to end, and the day's summary reads only the
//! few columns it needs.

use std::borrow::Cow;
use std::ops::Range;

use super::{AccelFeatures, Sample};

/// Index of each measurement's column in [`Columns`].
pub(crate) mod col {
    pub(crate) const HEART_RATE: usize = 0;
    pub(crate) const RESPIRATION_RATE: usize = 1;
    pub(crate) const ACTIVITY_LEVEL: usize = 2;
    pub(crate) const STEPS: usize = 3;
    pub(crate) const ACTIVITY_COUNTS: usize = 4;
    pub(crate) const LAT: usize = 5;
    pub(crate) const LON: usize = 6;
    /// The accelerometer features, [`crate::behaviour::AccelFeatures`]' fields in order.
    pub(crate) const MAG_MEAN: usize = 7;
    pub(crate) const MAG_STD: usize = 8;
    pub(crate) const MAG_MAX: usize = 9;
    pub(crate) const DOMINANT_HZ: usize = 10;
    pub(crate) const DOMINANT_POWER: usize = 11;
    pub(crate) const ODBA: usize = 12;
    pub(crate) const PITCH_DEG: usize = 13;
    pub(crate) const HALF_RHYTHM: usize = 14;
    /// Columns without and with the accelerometer's.
    pub(crate) const PLAIN: usize = 7;
    pub(crate) const ALL: usize = 15;
}

/// A pet's samples, a column per measurement. An absent measurement is NaN, which the analysis
/// treats exactly as it treats a present one that is not finite (it skips both), so the columns
/// hold everything of a [`Sample`] the analysis uses (not the battery or the position's
/// accuracy, which it does not read).
///
/// Samples may be pushed in any order; the analysis reads them in time order (samples with the
/// same time in the order they were pushed), as it reads a slice of [`Sample`]s.
///
/// Not `PartialEq`: absent values are NaN, which equals nothing.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    ts_ms: Vec<i64>,
    /// Indexed by [`col`]; the accelerometer's are empty while no sample has accelerometer
    /// features, else as long as the others (NaN where a sample has none).
    values: [Vec<f64>; col::ALL],
    /// Whether a sample was pushed before one with an earlier time.
    unsorted: bool,
}

/// A sample's values in the order of [`col`].
fn values_of(s: &Sample) -> [f64; col::ALL] {
    let num = |v: Option<f64>| v.unwrap_or(f64::NAN);
    let a = s.accel;
    let acc = |f: fn(&AccelFeatures) -> f64| a.as_ref().map_or(f64::NAN, f);
    [
        num(s.heart_rate),
        num(s.respiration_rate),
        num(s.activity_level),
        num(s.steps),
        num(s.activity_counts),
        num(s.lat),
        num(s.lon),
        acc(|a| a.mag_mean),
        acc(|a| a.mag_std),
        acc(|a| a.mag_max),
        acc(|a| a.dominant_hz),
        acc(|a| a.dominant_power),
        acc(|a| a.odba),
        acc(|a| a.pitch_deg),
        acc(|a| a.half_rhythm),
    ]
}

impl Columns {
    pub fn new() -> Columns {
        Columns::default()
    }

    /// Room for `n` samples without accelerometer features (their columns grow when the first
    /// sample with them comes).
    pub fn with_capacity(n: usize) -> Columns {
        Columns {
            ts_ms: Vec::with_capacity(n),
            values: std::array::from_fn(|k| Vec::with_capacity(if k < col::PLAIN { n } else { 0 })),
            unsorted: false,
        }
    }

    /// The samples of a slice, in time order.
    pub fn from_samples(samples: &[Sample]) -> Columns {
        let c = Columns::of_rows(samples, col::ALL);
        if c.unsorted { c.in_time_order().into_owned() } else { c }
    }

    /// The samples of a slice, in the order they are in, with only the first `width` columns
    /// (the others empty).
    pub(crate) fn of_rows(samples: &[Sample], width: usize) -> Columns {
        /// Rows read a block at a time, a column at a time: a block's rows stay in the cache
        /// while each column is written in a tight loop.
        const BLOCK: usize = 1024;
        fn put(column: &mut Vec<f64>, rows: &[Sample], f: impl Fn(&Sample) -> Option<f64>) {
            column.extend(rows.iter().map(|s| f(s).unwrap_or(f64::NAN)));
        }
        fn put_accel(column: &mut Vec<f64>, rows: &[Sample], f: impl Fn(&AccelFeatures) -> f64) {
            column.extend(rows.iter().map(|s| s.accel.as_ref().map_or(f64::NAN, &f)));
        }
        let mut c = Columns::with_capacity(samples.len());
        let plain = width.min(col::PLAIN);
        for k in plain..col::PLAIN {
            c.values[k] = Vec::new();
        }
        let mut accel = false;
        for rows in samples.chunks(BLOCK) {
            c.ts_ms.extend(rows.iter().map(|s| s.ts_ms));
            let [
                hr,
                resp,
                level,
                steps,
                counts,
                lat,
                lon,
                mag_mean,
                mag_std,
                mag_max,
                dom_hz,
                dom_power,
                odba,
                pitch,
                half_rhythm,
            ] = &mut c.values;
            put(hr, rows, |s| s.heart_rate);
            put(resp, rows, |s| s.respiration_rate);
            put(level, rows, |s| s.activity_level);
            put(steps, rows, |s| s.steps);
            if plain == col::PLAIN {
                put(counts, rows, |s| s.activity_counts);
                put(lat, rows, |s| s.lat);
                put(lon, rows, |s| s.lon);
            }
            if !accel && width > col::PLAIN && rows.iter().any(|s| s.accel.is_some()) {
                // The first accelerometer features: none for the samples before.
                accel = true;
                let before = c.ts_ms.len() - rows.len();
                for column in [
                    &mut *mag_mean,
                    &mut *mag_std,
                    &mut *mag_max,
                    &mut *dom_hz,
                    &mut *dom_power,
                    &mut *odba,
                    &mut *pitch,
                    &mut *half_rhythm,
                ] {
                    column.reserve(samples.len());
                    column.resize(before, f64::NAN);
                }
            }
            if accel {
                put_accel(mag_mean, rows, |a| a.mag_mean);
                put_accel(mag_std, rows, |a| a.mag_std);
                put_accel(mag_max, rows, |a| a.mag_max);
                put_accel(dom_hz, rows, |a| a.dominant_hz);
                put_accel(dom_power, rows, |a| a.dominant_power);
                put_accel(odba, rows, |a| a.odba);
                put_accel(pitch, rows, |a| a.pitch_deg);
                put_accel(half_rhythm, rows, |a| a.half_rhythm);
            }
        }
        c.unsorted = !c.ts_ms.is_sorted();
        c
    }

    /// Adds a sample.
    pub fn push(&mut self, s: &Sample) {
        if self.ts_ms.last().is_some_and(|last| *last > s.ts_ms) {
            self.unsorted = true;
        }
        let before = self.ts_ms.len();
        self.ts_ms.push(s.ts_ms);
        let v = values_of(s);
        let accel = s.accel.is_some() || !self.values[col::ODBA].is_empty();
        for (k, column) in self.values.iter_mut().enumerate() {
            if k < col::PLAIN || accel {
                // The first accelerometer features: none for the samples before.
                column.resize(before, f64::NAN);
                column.push(v[k]);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.ts_ms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts_ms.is_empty()
    }

    /// The samples' times, epoch milliseconds, in the order they were pushed.
    pub fn ts_ms(&self) -> &[i64] {
        &self.ts_ms
    }

    /// The column of a measurement ([`col`]); empty for the accelerometer's when no sample has
    /// accelerometer features.
    pub(crate) fn column(&self, k: usize) -> &[f64] {
        &self.values[k]
    }

    /// These samples in time order: themselves when they were pushed so, else a sorted copy
    /// (stable: samples with the same time keep their order).
    pub(crate) fn in_time_order(&self) -> Cow<'_, Columns> {
        if !self.unsorted {
            return Cow::Borrowed(self);
        }
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by_key(|i| self.ts_ms[*i]);
        Cow::Owned(Columns {
            ts_ms: order.iter().map(|i| self.ts_ms[*i]).collect(),
            values: std::array::from_fn(|k| {
                let v = &self.values[k];
                if v.is_empty() { Vec::new() } else { order.iter().map(|i| v[*i]).collect() }
            }),
            unsorted: false,
        })
    }

    /// The samples (in time order) with `lo <= ts < hi`, as a range of indices.
    pub(crate) fn range(&self, (lo, hi): (i64, i64)) -> Range<usize> {
        let a = self.ts_ms.partition_point(|t| *t < lo);
        let b = a + self.ts_ms[a..].partition_point(|t| *t < hi);
        a..b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::AccelFeatures;

    #[test]
    fn columns_keep_every_measurement_and_sort_stably() {
        let a = AccelFeatures { odba: 0.5, mag_max: 1.2, pitch_deg: -3.0, ..AccelFeatures::default() };
        let samples = [
            Sample { ts_ms: 3000, heart_rate: Some(80.0), ..Sample::default() },
            Sample { ts_ms: 1000, steps: Some(4.0), accel: Some(a), ..Sample::default() },
            Sample { ts_ms: 3000, heart_rate: Some(81.0), lat: Some(52.0), lon: Some(4.0), ..Sample::default() },
            Sample { ts_ms: 2000, ..Sample::default() },
        ];
        let mut c = Columns::new();
        samples.iter().for_each(|s| c.push(s));
        assert_eq!(c.len(), 4);
        // Accelerometer features arriving late fill their columns before them with NaN.
        assert_eq!(c.column(col::ODBA).len(), 4);
        assert!(c.column(col::ODBA)[0].is_nan() && c.column(col::ODBA)[1] == 0.5);
        let sorted = c.in_time_order();
        assert_eq!(sorted.ts_ms(), [1000, 2000, 3000, 3000]);
        assert_eq!(sorted.column(col::STEPS)[0], 4.0);
        assert_eq!((sorted.column(col::PITCH_DEG)[0], sorted.column(col::MAG_MAX)[0]), (-3.0, 1.2));
        assert_eq!(&sorted.column(col::HEART_RATE)[2..], [80.0, 81.0]);
        assert!(sorted.column(col::LAT)[2].is_nan() && sorted.column(col::LAT)[3] == 52.0);
        assert_eq!(format!("{:?}", &*sorted), format!("{:?}", Columns::from_samples(&samples)));
        assert_eq!(sorted.range((2000, 3000)), 1..2);
        assert!(Columns::from_samples(&samples[2..]).column(col::ODBA).is_empty());
        assert!(Columns::from_samples(&[]).is_empty());
    }
}
