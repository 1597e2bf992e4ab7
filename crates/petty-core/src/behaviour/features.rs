//! From readings to numbers a classifier can use: the features of one raw accelerometer window
//! ([`accel_features`]), a reading as the analysis sees it ([`sample_from_reading`]) and the
//! features of fixed one-minute epochs ([`epoch_features`]).
//!
//! Epoch features are rates and means, so a collar that reports every second and one that
//! reports every minute give comparable numbers. A measurement that is absent is [`MISSING`],
//! never NaN, so a tree can split on absence.

use std::collections::BTreeMap;

use std::ops::Range;

use super::columns::{Columns, col};
use super::{AccelFeatures, Sample};
use crate::readings::{Metric, Reading};
use crate::validation::{FieldError, Invalid};

/// The length of an epoch, the unit the classifier labels.
pub const EPOCH_MS: i64 = 60_000;

/// The value of a feature whose measurement is absent (below every real value, pitch included).
pub const MISSING: f64 = -999.0;

/// The number of epoch features.
pub const FEATURE_COUNT: usize = 22;

/// The epoch features' names, in the order of [`Epoch::x`].
pub const FEATURE_NAMES: [&str; FEATURE_COUNT] = [
    "heart_rate_mean",
    "heart_rate_max",
    "respiration_mean",
    "activity_level_mean",
    "counts_per_min",
    "steps_per_min",
    "speed_mps",
    "gyration_m",
    "steps_per_min_ctx",
    "counts_per_min_ctx",
    "accel_mag_mean",
    "accel_mag_std",
    "accel_mag_max",
    "accel_dominant_hz",
    "accel_dominant_power",
    "accel_odba",
    "accel_pitch_deg",
    "accel_odba_max",
    "accel_peak_hz",
    "heart_rate_ctx",
    "accel_pitch_min",
    "accel_odba_ctx",
];

/// Index of each feature in [`Epoch::x`].
pub mod f {
    pub const HR_MEAN: usize = 0;
    pub const HR_MAX: usize = 1;
    pub const RESP_MEAN: usize = 2;
    pub const LEVEL_MEAN: usize = 3;
    pub const COUNTS_PM: usize = 4;
    pub const STEPS_PM: usize = 5;
    pub const SPEED: usize = 6;
    pub const GYRATION: usize = 7;
    pub const STEPS_CTX: usize = 8;
    pub const COUNTS_CTX: usize = 9;
    pub const MAG_MEAN: usize = 10;
    pub const MAG_STD: usize = 11;
    pub const MAG_MAX: usize = 12;
    pub const DOM_HZ: usize = 13;
    pub const DOM_POWER: usize = 14;
    pub const ODBA: usize = 15;
    pub const PITCH: usize = 16;
    pub const ODBA_MAX: usize = 17;
    pub const PEAK_HZ: usize = 18;
    pub const HR_CTX: usize = 19;
    pub const PITCH_MIN: usize = 20;
    pub const ODBA_CTX: usize = 21;
}

/// One epoch: [`EPOCH_MS`] of samples, reduced to features.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Epoch {
    /// Epoch milliseconds, a multiple of [`EPOCH_MS`].
    pub start_ms: i64,
    /// How many samples fell into it (at least one).
    pub n: usize,
    /// The features, named by [`FEATURE_NAMES`].
    pub x: [f64; FEATURE_COUNT],
}

/// The names under which a reading keeps its accelerometer features as extra numbers.
pub const ACCEL_EXTRA: [&str; 8] = [
    "accel_mag_mean",
    "accel_mag_std",
    "accel_mag_max",
    "accel_dominant_hz",
    "accel_dominant_power",
    "accel_odba",
    "accel_pitch_deg",
    "accel_half_rhythm",
];
/// How many of [`ACCEL_EXTRA`] a reading needs for its window to count (the last,
/// `accel_half_rhythm`, came later: older readings lack it).
pub const ACCEL_EXTRA_REQUIRED: usize = 7;

/// The largest magnitude an axis may report, in g.
pub const ACCEL_MAX_G: f64 = 16.0;
/// The fewest and most samples per axis in one window.
pub const ACCEL_MIN_LEN: usize = 8;
pub const ACCEL_MAX_LEN: usize = 1024;

impl AccelFeatures {
    /// The features as named extra numbers (names in [`ACCEL_EXTRA`], values finite; one not
    /// measured, such as the half rhythm of a window read back from an older reading, is left
    /// out rather than written as a number).
    pub fn to_extra(&self) -> Vec<(&'static str, f64)> {
        let v = [
            self.mag_mean,
            self.mag_std,
            self.mag_max,
            self.dominant_hz,
            self.dominant_power,
            self.odba,
            self.pitch_deg,
            self.half_rhythm,
        ];
        ACCEL_EXTRA
            .iter()
            .zip(v)
            .enumerate()
            .filter(|(i, (_, value))| *i < ACCEL_EXTRA_REQUIRED || value.is_finite())
            .map(|(_, (name, value))| (*name, if value.is_finite() { value } else { 0.0 }))
            .collect()
    }

    /// The features back from a reading's extra numbers; `None` unless the first seven are
    /// there (the half rhythm is NaN when it is not).
    pub fn from_extra(map: &BTreeMap<String, f64>) -> Option<AccelFeatures> {
        let get = |i: usize| map.get(ACCEL_EXTRA[i]).copied().filter(|v| v.is_finite());
        Some(AccelFeatures {
            mag_mean: get(0)?,
            mag_std: get(1)?,
            mag_max: get(2)?,
            dominant_hz: get(3)?,
            dominant_power: get(4)?,
            odba: get(5)?,
            pitch_deg: get(6)?,
            half_rhythm: get(7).unwrap_or(f64::NAN),
        })
    }
}

/// Reduces one raw accelerometer window (`hz` samples per second, each axis in g) to its
/// features. Checks the window first: `hz` 1 to 400, the three axes the same length of 8 to
/// 1024 samples, every value finite and within ±16 g; the errors name `accel.hz`, `accel.x`, ...
pub fn accel_features(hz: f64, x: &[f64], y: &[f64], z: &[f64]) -> Result<AccelFeatures, Invalid> {
    let mut errors = Vec::new();
    if !(hz.is_finite() && (1.0..=400.0).contains(&hz)) {
        errors.push(FieldError::new(
            "accel.hz",
            "out_of_range",
            "accel.hz must be between 1 and 400 (samples per second)",
        ));
    }
    for (name, axis) in [("accel.x", x), ("accel.y", y), ("accel.z", z)] {
        if !(ACCEL_MIN_LEN..=ACCEL_MAX_LEN).contains(&axis.len()) {
            errors.push(FieldError::new(
                name,
                "length",
                format!("{name} must have {ACCEL_MIN_LEN} to {ACCEL_MAX_LEN} samples (got {})", axis.len()),
            ));
        } else if axis.iter().any(|v| !(v.is_finite() && v.abs() <= ACCEL_MAX_G)) {
            errors.push(FieldError::new(
                name,
                "out_of_range",
                format!("{name} values must be finite and between -{ACCEL_MAX_G} and {ACCEL_MAX_G} (g)"),
            ));
        }
    }
    if errors.is_empty() && (x.len() != y.len() || x.len() != z.len()) {
        errors.push(FieldError::new(
            "accel.x",
            "length",
            format!(
                "accel.x, accel.y and accel.z must have the same length (got {}, {}, {})",
                x.len(),
                y.len(),
                z.len()
            ),
        ));
    }
    if !errors.is_empty() {
        return Err(Invalid(errors));
    }
    Ok(window_features(hz, x, y, z))
}

/// The features of a checked window.
fn window_features(hz: f64, x: &[f64], y: &[f64], z: &[f64]) -> AccelFeatures {
    let n = x.len();
    let nf = n as f64;
    let mean = |a: &[f64]| a.iter().sum::<f64>() / nf;
    let (mx, my, mz) = (mean(x), mean(y), mean(z));
    let mags: Vec<f64> = (0..n).map(|i| (x[i] * x[i] + y[i] * y[i] + z[i] * z[i]).sqrt()).collect();
    let mut sum = 0.0;
    let mut max = 0f64;
    let mut odba = 0.0;
    for (i, m) in mags.iter().enumerate() {
        sum += m;
        max = max.max(*m);
        odba += (x[i] - mx).abs() + (y[i] - my).abs() + (z[i] - mz).abs();
    }
    let mag_mean = sum / nf;
    let var = mags.iter().map(|m| (m - mag_mean).powi(2)).sum::<f64>() / nf;

    // A plain DFT of the mean-removed magnitude; the window is at most 1024 samples.
    let mut best = (0usize, 0.0);
    let mut total = 0.0;
    let mut powers = Vec::with_capacity(n / 2 + 1);
    powers.push(0.0);
    for k in 1..=n / 2 {
        let w = 2.0 * std::f64::consts::PI * k as f64 / nf;
        let (mut re, mut im) = (0.0, 0.0);
        // Rotate a phasor rather than calling sin/cos per sample.
        let (step_c, step_s) = (w.cos(), w.sin());
        let (mut c, mut s) = (1.0f64, 0.0f64);
        for m in &mags {
            let v = m - mag_mean;
            re += v * c;
            im -= v * s;
            let nc = c * step_c - s * step_s;
            s = s * step_c + c * step_s;
            c = nc;
        }
        let p = re * re + im * im;
        powers.push(p);
        total += p;
        if p > best.1 {
            best = (k, p);
        }
    }
    let (dominant_hz, dominant_power) =
        if total > 1e-12 { (best.0 as f64 * hz / nf, best.1 / total) } else { (0.0, 0.0) };
    // Half the dominant rhythm falls on a bin, or between two (then the larger counts).
    let half_rhythm = if best.0 >= 2 && best.1 > 1e-12 {
        let half = powers[best.0 / 2].max(powers[best.0.div_ceil(2)]);
        half / best.1
    } else {
        0.0
    };
    let pitch_deg = mx.atan2((my * my + mz * mz).sqrt()).to_degrees();
    AccelFeatures {
        mag_mean,
        mag_std: var.sqrt(),
        mag_max: max,
        dominant_hz,
        dominant_power,
        odba: odba / nf,
        pitch_deg: if pitch_deg.is_finite() { pitch_deg } else { 0.0 },
        half_rhythm,
    }
}

/// A stored reading as the analysis sees it; its accelerometer features come from the
/// `accel_*` extra numbers.
pub fn sample_from_reading(r: &Reading) -> Sample {
    Sample {
        ts_ms: r.ts_ms(),
        heart_rate: r.value(Metric::HeartRate),
        respiration_rate: r.value(Metric::RespirationRate),
        activity_level: r.value(Metric::ActivityLevel),
        activity_counts: r.value(Metric::ActivityCounts),
        steps: r.value(Metric::Steps),
        lat: r.location.map(|l| l.lat),
        lon: r.location.map(|l| l.lon),
        accuracy_m: r.location.and_then(|l| l.accuracy_m),
        battery_pct: r.value(Metric::BatteryPct),
        accel: AccelFeatures::from_extra(&r.extra),
    }
}

/// Sums of one epoch's samples, before they become features.
#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    start_ms: i64,
    n: usize,
    hr: (f64, usize),
    hr_max: f64,
    resp: (f64, usize),
    level: (f64, usize),
    /// Counts and the milliseconds they cover.
    counts: (f64, f64),
    steps: (f64, f64),
    lat: f64,
    lon: f64,
    fixes: usize,
    accel: usize,
    mag_mean: f64,
    mag_std: f64,
    mag_max: f64,
    dom_hz: f64,
    dom_power: f64,
    odba: f64,
    pitch: f64,
    pitch_min: f64,
    odba_max: f64,
    peak_hz: f64,
}

/// The longest gap between readings still counted as the period a reading's counts cover.
const MAX_COVER_MS: i64 = 10 * 60_000;

/// Features of every epoch that has samples, in time order. `samples` must be sorted by time
/// (as [`super::segment::analyse`] ensures); epochs are aligned to multiples of [`EPOCH_MS`].
pub fn epoch_features(samples: &[Sample]) -> Vec<Epoch> {
    finish(&accumulate_rows(samples))
}

/// [`epoch_features`] of columns, in the order they are in.
pub(crate) fn epochs_of(samples: &Columns) -> Vec<Epoch> {
    finish(&accumulate(samples))
}

/// The typical gap between consecutive readings (used for the first reading and after gaps).
fn typical_gap(mut ts: impl Iterator<Item = i64>) -> i64 {
    let mut sum = 0i64;
    let mut n = 0i64;
    let Some(mut prev) = ts.next() else { return EPOCH_MS };
    for t in ts {
        let gap = t - prev;
        prev = t;
        if gap > 0 && gap <= MAX_COVER_MS {
            sum += gap;
            n += 1;
        }
    }
    if n == 0 { EPOCH_MS } else { (sum / n).max(1) }
}

/// Each epoch's sums of samples in rows, in the order they are in, a sample at a time (read
/// where they are: making columns of them first costs more than it saves).
fn accumulate_rows(samples: &[Sample]) -> Vec<Acc> {
    let gap = typical_gap(samples.iter().map(|s| s.ts_ms));
    let mut out = Vec::with_capacity(samples.len().min(samples.len() / 8 + 16));
    let Some(first) = samples.first() else { return out };
    let fresh = |start_ms: i64| Acc { start_ms, hr_max: MISSING, pitch_min: f64::INFINITY, ..Acc::default() };
    // The epoch being summed, kept in a local (in registers) until the next one starts.
    let mut a = fresh(first.ts_ms.div_euclid(EPOCH_MS) * EPOCH_MS);
    let mut end = a.start_ms.saturating_add(EPOCH_MS);
    let mut prev_ts: Option<i64> = None;
    for s in samples {
        if !(a.start_ms..end).contains(&s.ts_ms) {
            out.push(a);
            a = fresh(s.ts_ms.div_euclid(EPOCH_MS) * EPOCH_MS);
            end = a.start_ms.saturating_add(EPOCH_MS);
        }
        let covered = match prev_ts {
            Some(p) if s.ts_ms > p && s.ts_ms - p <= MAX_COVER_MS => s.ts_ms - p,
            _ => gap,
        } as f64;
        prev_ts = Some(s.ts_ms);
        a.n += 1;
        let ok = |v: Option<f64>| v.filter(|v| v.is_finite());
        if let Some(hr) = ok(s.heart_rate) {
            a.hr.0 += hr;
            a.hr.1 += 1;
            a.hr_max = a.hr_max.max(hr);
        }
        if let Some(v) = ok(s.respiration_rate) {
            a.resp.0 += v;
            a.resp.1 += 1;
        }
        if let Some(v) = ok(s.activity_level) {
            a.level.0 += v;
            a.level.1 += 1;
        }
        if let Some(v) = ok(s.activity_counts) {
            a.counts.0 += v;
            a.counts.1 += covered;
        }
        if let Some(v) = ok(s.steps) {
            a.steps.0 += v;
            a.steps.1 += covered;
        }
        if let (Some(lat), Some(lon)) = (ok(s.lat), ok(s.lon)) {
            a.lat += lat;
            a.lon += lon;
            a.fixes += 1;
        }
        if let Some(acc) = s.accel.filter(|acc| acc.odba.is_finite() && acc.mag_max.is_finite()) {
            a.accel += 1;
            a.mag_mean += acc.mag_mean;
            a.mag_std += acc.mag_std;
            a.mag_max = a.mag_max.max(acc.mag_max);
            a.dom_hz += acc.dominant_hz;
            a.dom_power += acc.dominant_power;
            a.odba += acc.odba;
            a.pitch += acc.pitch_deg;
            a.pitch_min = a.pitch_min.min(acc.pitch_deg);
            if acc.odba >= a.odba_max {
                a.odba_max = acc.odba;
                a.peak_hz = acc.dominant_hz;
            }
        }
    }
    out.push(a);
    out
}

/// Each epoch's sums of `samples`, an epoch at a time. An epoch is a run of samples that fall
/// into one [`EPOCH_MS`] (samples out of time order start a new one whenever theirs is not the
/// one of the sample before).
fn accumulate(samples: &Columns) -> Vec<Acc> {
    let ts = samples.ts_ms();
    let gap = typical_gap(ts.iter().copied());
    let len = ts.len();
    let mut out = Vec::new();
    let mut covered = Vec::new();
    let mut lo = 0;
    while lo < len {
        let start = ts[lo].div_euclid(EPOCH_MS) * EPOCH_MS;
        let end = start.saturating_add(EPOCH_MS);
        let mut hi = lo + 1;
        while hi < len && (start..end).contains(&ts[hi]) {
            hi += 1;
        }
        // The milliseconds each reading's counts and steps cover: since the reading before,
        // unless that is not before it or too long ago.
        covered.clear();
        covered.extend((lo..hi).map(|i| {
            let since = if i == 0 { 0 } else { ts[i] - ts[i - 1] };
            (if since > 0 && since <= MAX_COVER_MS { since } else { gap }) as f64
        }));
        let mut a = Acc { start_ms: start, n: hi - lo, hr_max: MISSING, pitch_min: f64::INFINITY, ..Acc::default() };
        epoch_sums(&mut a, samples, lo..hi, &covered);
        if !samples.column(col::ODBA).is_empty() {
            accel_sums(&mut a, samples, lo..hi);
        }
        out.push(a);
        lo = hi;
    }
    out
}

/// The sums of one epoch's samples (`range`) of the vitals, movement and position columns, in
/// one loop. Every sum adds the same values in the same order as a loop over the epoch's
/// samples would. Not inlined: its sums then stay in registers, and the sums of different
/// measurements, independent of each other, overlap.
#[inline(never)]
fn epoch_sums(sums: &mut Acc, c: &Columns, range: Range<usize>, covered: &[f64]) {
    // A local copy, whose fields live in registers through the loop (not stored to `sums` at
    // every sample).
    let mut a = *sums;
    let hr = &c.column(col::HEART_RATE)[range.clone()];
    let n = hr.len();
    let column = |k: usize| &c.column(k)[range.clone()][..n];
    let (resp, level, counts, steps) =
        (column(col::RESPIRATION_RATE), column(col::ACTIVITY_LEVEL), column(col::ACTIVITY_COUNTS), column(col::STEPS));
    let (lat, lon, covered) = (column(col::LAT), column(col::LON), &covered[..n]);
    for i in 0..n {
        if hr[i].is_finite() {
            a.hr.0 += hr[i];
            a.hr.1 += 1;
            a.hr_max = a.hr_max.max(hr[i]);
        }
        if resp[i].is_finite() {
            a.resp.0 += resp[i];
            a.resp.1 += 1;
        }
        if level[i].is_finite() {
            a.level.0 += level[i];
            a.level.1 += 1;
        }
        if counts[i].is_finite() {
            a.counts.0 += counts[i];
            a.counts.1 += covered[i];
        }
        if steps[i].is_finite() {
            a.steps.0 += steps[i];
            a.steps.1 += covered[i];
        }
        if lat[i].is_finite() && lon[i].is_finite() {
            a.lat += lat[i];
            a.lon += lon[i];
            a.fixes += 1;
        }
    }
    *sums = a;
}

/// The same for the accelerometer features: a sample's count when the magnitude's maximum and
/// the ODBA are finite.
#[inline(never)]
fn accel_sums(sums: &mut Acc, c: &Columns, range: Range<usize>) {
    let mut a = *sums;
    let odba = &c.column(col::ODBA)[range.clone()];
    let n = odba.len();
    let column = |k: usize| &c.column(k)[range.clone()][..n];
    let (mag_mean, mag_std, mag_max) = (column(col::MAG_MEAN), column(col::MAG_STD), column(col::MAG_MAX));
    let (dom_hz, dom_power, pitch) = (column(col::DOMINANT_HZ), column(col::DOMINANT_POWER), column(col::PITCH_DEG));
    for i in 0..n {
        if odba[i].is_finite() && mag_max[i].is_finite() {
            a.accel += 1;
            a.mag_mean += mag_mean[i];
            a.mag_std += mag_std[i];
            a.mag_max = a.mag_max.max(mag_max[i]);
            a.dom_hz += dom_hz[i];
            a.dom_power += dom_power[i];
            a.odba += odba[i];
            a.pitch += pitch[i];
            a.pitch_min = a.pitch_min.min(pitch[i]);
            if odba[i] >= a.odba_max {
                a.odba_max = odba[i];
                a.peak_hz = dom_hz[i];
            }
        }
    }
    *sums = a;
}

fn mean_or_missing(sum: f64, n: usize) -> f64 {
    if n == 0 { MISSING } else { sum / n as f64 }
}

fn per_minute(sum: f64, covered_ms: f64) -> f64 {
    if covered_ms <= 0.0 { MISSING } else { sum / (covered_ms / 60_000.0) }
}

/// Metres between two points (haversine).
pub fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, la2) = (a.0.to_radians(), b.0.to_radians());
    let dla = la2 - la1;
    let dlo = (b.1 - a.1).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * 6_371_000.0 * h.sqrt().min(1.0).asin()
}

/// How many epochs either side make an epoch's context.
const CONTEXT: usize = 2;

fn finish(accs: &[Acc]) -> Vec<Epoch> {
    let centre = |a: &Acc| (a.fixes > 0).then(|| (a.lat / a.fixes as f64, a.lon / a.fixes as f64));
    let mut out = Vec::with_capacity(accs.len());
    for (i, a) in accs.iter().enumerate() {
        let mut x = [MISSING; FEATURE_COUNT];
        x[f::HR_MEAN] = mean_or_missing(a.hr.0, a.hr.1);
        x[f::HR_MAX] = a.hr_max;
        x[f::RESP_MEAN] = mean_or_missing(a.resp.0, a.resp.1);
        x[f::LEVEL_MEAN] = mean_or_missing(a.level.0, a.level.1);
        x[f::COUNTS_PM] = per_minute(a.counts.0, a.counts.1);
        x[f::STEPS_PM] = per_minute(a.steps.0, a.steps.1);
        if a.accel > 0 {
            let k = a.accel;
            x[f::MAG_MEAN] = a.mag_mean / k as f64;
            x[f::MAG_STD] = a.mag_std / k as f64;
            x[f::MAG_MAX] = a.mag_max;
            x[f::DOM_HZ] = a.dom_hz / k as f64;
            x[f::DOM_POWER] = a.dom_power / k as f64;
            x[f::ODBA] = a.odba / k as f64;
            x[f::PITCH] = a.pitch / k as f64;
            x[f::ODBA_MAX] = a.odba_max;
            x[f::PEAK_HZ] = a.peak_hz;
            x[f::PITCH_MIN] = a.pitch_min;
        }

        // Context: the epochs within CONTEXT epochs of this one (by time, not by position).
        let lo = i.saturating_sub(CONTEXT);
        let hi = (i + CONTEXT + 1).min(accs.len());
        let near = accs[lo..hi].iter().filter(|b| (b.start_ms - a.start_ms).abs() <= CONTEXT as i64 * EPOCH_MS);
        let (mut steps, mut counts, mut hr, mut odba) = ((0.0, 0.0), (0.0, 0.0), (0.0, 0usize), (0.0, 0usize));
        let (mut clat, mut clon, mut cn) = (0.0, 0.0, 0usize);
        for b in near.clone() {
            steps.0 += b.steps.0;
            steps.1 += b.steps.1;
            counts.0 += b.counts.0;
            counts.1 += b.counts.1;
            hr.0 += b.hr.0;
            hr.1 += b.hr.1;
            odba.0 += b.odba;
            odba.1 += b.accel;
            if let Some((la, lo)) = centre(b) {
                clat += la;
                clon += lo;
                cn += 1;
            }
        }
        x[f::STEPS_CTX] = per_minute(steps.0, steps.1);
        x[f::COUNTS_CTX] = per_minute(counts.0, counts.1);
        x[f::HR_CTX] = mean_or_missing(hr.0, hr.1);
        x[f::ODBA_CTX] = mean_or_missing(odba.0, odba.1);
        if cn >= 2 {
            let mid = (clat / cn as f64, clon / cn as f64);
            let ss: f64 = near.filter_map(centre).map(|p| haversine_m(mid, p).powi(2)).sum();
            x[f::GYRATION] = (ss / cn as f64).sqrt();
        }

        // Speed: displacement of the epoch's mean position from the neighbouring epochs'.
        if let Some(here) = centre(a) {
            let mut sum = 0.0;
            let mut k = 0;
            let mut neighbour = |j: usize| {
                let b = &accs[j];
                let dt = (b.start_ms - a.start_ms).abs();
                if dt > 0
                    && dt <= 2 * EPOCH_MS
                    && let Some(p) = centre(b)
                {
                    sum += haversine_m(here, p) / (dt as f64 / 1000.0);
                    k += 1;
                }
            };
            if i > 0 {
                neighbour(i - 1);
            }
            if i + 1 < accs.len() {
                neighbour(i + 1);
            }
            if k > 0 {
                x[f::SPEED] = sum / k as f64;
            }
        }
        out.push(Epoch { start_ms: a.start_ms, n: a.n, x });
    }
    out
}

/// The mean epoch features of the samples in `[start_ms, end_ms)` (sorted by time): what a
/// [`super::calibrate::Feedback`] carries for a stored episode. Each feature is averaged over
/// the epochs where it is present ([`MISSING`] where it never is); `None` without samples.
pub fn episode_mean_features(samples: &[Sample], start_ms: i64, end_ms: i64) -> Option<[f64; FEATURE_COUNT]> {
    // Take the context epochs around the span too, so the features match the ones analysed.
    let margin = CONTEXT as i64 * EPOCH_MS;
    let lo = samples.partition_point(|s| s.ts_ms < start_ms - margin);
    let hi = samples.partition_point(|s| s.ts_ms < end_ms + margin);
    let epochs = epoch_features(samples.get(lo..hi)?);
    let inside: Vec<&Epoch> =
        epochs.iter().filter(|e| e.start_ms + EPOCH_MS > start_ms && e.start_ms < end_ms).collect();
    mean_features(inside.iter().map(|e| &e.x))
}

/// Feature-wise means over present values; `None` for no rows.
pub(crate) fn mean_features<'a>(rows: impl Iterator<Item = &'a [f64; FEATURE_COUNT]>) -> Option<[f64; FEATURE_COUNT]> {
    let mut sum = [0.0; FEATURE_COUNT];
    let mut n = [0usize; FEATURE_COUNT];
    let mut any = false;
    for x in rows {
        any = true;
        for j in 0..FEATURE_COUNT {
            if x[j] != MISSING {
                sum[j] += x[j];
                n[j] += 1;
            }
        }
    }
    any.then(|| std::array::from_fn(|j| mean_or_missing(sum[j], n[j])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(hz: f64, f0: f64, n: usize, amp: f64) -> Vec<f64> {
        (0..n).map(|i| amp * (2.0 * std::f64::consts::PI * f0 * i as f64 / hz).sin()).collect()
    }

    #[test]
    fn a_shake_shows_its_frequency_and_a_head_down_its_pitch() {
        let n = 100;
        let x = vec![-0.5; n];
        let y = sine(50.0, 5.0, n, 0.8);
        let z: Vec<f64> = sine(50.0, 5.0, n, 1.2).iter().map(|v| v + 0.85).collect();
        let a = accel_features(50.0, &x, &y, &z).unwrap();
        assert!((a.dominant_hz - 5.0).abs() < 0.6, "{a:?}");
        assert!(a.dominant_power > 0.3, "{a:?}");
        assert!(a.pitch_deg < -20.0, "{a:?}");
        assert!(a.mag_max > 1.5 && a.odba > 0.5);

        let still = accel_features(25.0, &[0.0; 50], &[0.0; 50], &[1.0; 50]).unwrap();
        assert_eq!((still.dominant_hz, still.dominant_power, still.odba), (0.0, 0.0, 0.0));
        assert!((still.mag_mean - 1.0).abs() < 1e-12 && still.pitch_deg.abs() < 1e-9);
    }

    #[test]
    fn bad_windows_name_the_field_and_the_rule() {
        let e = accel_features(0.0, &[0.0; 4], &[0.0; 8], &[f64::NAN; 8]).unwrap_err();
        let got: Vec<(&str, &str)> = e.0.iter().map(|e| (e.field.as_str(), e.rule)).collect();
        assert_eq!(got, [("accel.hz", "out_of_range"), ("accel.x", "length"), ("accel.z", "out_of_range")]);
        let e = accel_features(25.0, &[0.0; 8], &[0.0; 9], &[0.0; 8]).unwrap_err();
        assert_eq!(e.0[0].rule, "length");
        assert!(accel_features(25.0, &[17.0; 8], &[0.0; 8], &[0.0; 8]).is_err());
        assert!(accel_features(25.0, &[0.0; 2000], &[0.0; 2000], &[0.0; 2000]).is_err());
    }

    #[test]
    fn accel_features_round_trip_through_extra_numbers() {
        let a = accel_features(25.0, &sine(25.0, 2.0, 50, 0.3), &[0.1; 50], &[0.9; 50]).unwrap();
        let map: BTreeMap<String, f64> = a.to_extra().iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
        assert!(map.keys().all(|k| crate::readings::is_key_name(k)));
        assert_eq!(AccelFeatures::from_extra(&map), Some(a));
        let mut partial = map.clone();
        partial.remove("accel_odba");
        assert_eq!(AccelFeatures::from_extra(&partial), None);
        // A reading kept before the half rhythm was measured still has its window; the half
        // rhythm is unknown, and is not written back as a number.
        let mut older = map.clone();
        older.remove("accel_half_rhythm");
        let back = AccelFeatures::from_extra(&older).unwrap();
        assert!(back.half_rhythm.is_nan() && back.odba == a.odba);
        assert!(back.to_extra().iter().all(|(k, _)| *k != "accel_half_rhythm"));
    }

    #[test]
    fn a_head_that_nods_on_every_other_step_shows_in_the_half_rhythm() {
        // Steps at 2 Hz, 4 s at 25 Hz; a limp adds a nod at 1 Hz half as strong as the step.
        let even: Vec<f64> = sine(25.0, 2.0, 100, 0.3).iter().map(|v| v + 1.0).collect();
        let nod = sine(25.0, 1.0, 100, 0.15);
        let limp: Vec<f64> = even.iter().zip(&nod).map(|(a, b)| a + b).collect();
        let flat = [0.0; 100];
        let even = accel_features(25.0, &flat, &flat, &even).unwrap();
        let limp = accel_features(25.0, &flat, &flat, &limp).unwrap();
        assert!((even.dominant_hz - 2.0).abs() < 1e-9 && (limp.dominant_hz - 2.0).abs() < 1e-9, "{limp:?}");
        assert!(even.half_rhythm < 1e-6, "{even:?}");
        // Power goes with the square of the amplitude: a quarter of the step's.
        assert!((limp.half_rhythm - 0.25).abs() < 0.01, "{limp:?}");
    }

    #[test]
    fn samples_in_rows_and_in_columns_give_the_same_epochs() {
        // Uneven gaps (some longer than counts may cover, some not forward), holes, and
        // accelerometer features from some sample on.
        let mut ts = 1_795_305_600_000i64;
        let mut state = 7u64;
        let samples: Vec<Sample> = (0..12_345)
            .map(|i| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                ts += [1000, 1000, 250, 61_000, 700_000, 0, -3000][(state >> 60) as usize % 7];
                Sample {
                    ts_ms: ts,
                    heart_rate: Some(60.0 + (i % 13) as f64),
                    steps: Some((i % 7) as f64),
                    activity_counts: (i % 5 != 0).then_some(3.0),
                    accel: (i > 4105)
                        .then(|| AccelFeatures { odba: (i % 11) as f64 * 0.1, ..AccelFeatures::default() }),
                    ..Sample::default()
                }
            })
            .collect();
        // In the order given (out of time order, a sample starts a new epoch when its epoch is
        // not the one before), and in time order.
        let by_rows = epoch_features(&samples);
        let by_columns = epochs_of(&Columns::of_rows(&samples, col::ALL));
        assert!(by_rows.len() > 1000);
        assert_eq!(format!("{by_rows:?}"), format!("{by_columns:?}"));
        let mut sorted = samples.clone();
        sorted.sort_by_key(|s| s.ts_ms);
        let by_rows = epoch_features(&sorted);
        let by_columns = epochs_of(&Columns::from_samples(&samples));
        assert!(by_rows.len() > 100);
        assert_eq!(format!("{by_rows:?}"), format!("{by_columns:?}"));
    }

    #[test]
    fn epochs_are_rates_whatever_the_reporting_interval() {
        let t0 = 1_795_305_600_000;
        let at = |ts: i64, steps: f64| Sample {
            ts_ms: ts,
            heart_rate: Some(100.0),
            steps: Some(steps),
            lat: Some(52.0),
            lon: Some(4.0 + (ts - t0) as f64 * 1e-8),
            ..Sample::default()
        };
        let per_second: Vec<Sample> = (0..300).map(|i| at(t0 + i * 1000, 2.0)).collect();
        let per_minute: Vec<Sample> = (0..5).map(|i| at(t0 + i * 60_000, 120.0)).collect();
        let a = epoch_features(&per_second);
        let b = epoch_features(&per_minute);
        assert_eq!(a.len(), 5);
        assert_eq!(b.len(), 5);
        assert_eq!(a[0].n, 60);
        for (ea, eb) in a.iter().zip(&b) {
            assert_eq!(ea.start_ms, eb.start_ms);
            assert!((ea.x[f::STEPS_PM] - 120.0).abs() < 1e-6, "{}", ea.x[f::STEPS_PM]);
            assert!((eb.x[f::STEPS_PM] - 120.0).abs() < 1e-6);
            assert_eq!(ea.x[f::MAG_MEAN], MISSING);
        }
        // 1e-8 degrees of longitude per ms at 52° N is about 0.68 m/s.
        assert!((a[2].x[f::SPEED] - 0.685).abs() < 0.02, "{}", a[2].x[f::SPEED]);
        assert!((b[2].x[f::SPEED] - 0.685).abs() < 0.02);
        assert!(epoch_features(&[]).is_empty());

        let mean = episode_mean_features(&per_minute, t0 + 60_000, t0 + 180_000).unwrap();
        assert!((mean[f::HR_MEAN] - 100.0).abs() < 1e-9);
        assert_eq!(episode_mean_features(&per_minute, t0 + 3_600_000, t0 + 3_660_000), None);
    }
}
