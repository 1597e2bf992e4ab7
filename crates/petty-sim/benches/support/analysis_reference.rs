//! The behaviour analysis of a day as it was before issue 18's third part (commit dd892fe):
//! `segment::analyse` with its epoch features, and `baselines::summarise_day`, copied verbatim
//! (only made private to this module and self-contained). It walks the 230-byte [`Sample`] rows
//! twice. The analysis bench times it in the same run as the baseline of the columnar
//! analysis, and `petty-sim`'s `analysis_pin_tests` hold today's analysis to it, bit for bit.
//!
//! Shared by the bench (`benches/analysis.rs`) and the tests (`src/analysis_pin_tests.rs`), so
//! the code that is timed is the code that is compared.

#![allow(dead_code)]

use std::borrow::Cow;

use petty_core::baselines::{DaySummary, LocalClock, day_window, daytime_window, night_window};
use petty_core::baselines::{
    FIRST_SAMPLE_SPAN_MS, GAIT_MIN_WINDOWS, INTERRUPTION_MIN_MS, MAX_SAMPLE_SPAN_MS, MIN_VITAL_SAMPLES,
    RESTING_HR_PERCENTILE,
};
use petty_core::behaviour::calibrate::Calibration;
use petty_core::behaviour::forest::{Forest, Rate};
use petty_core::behaviour::{
    BEHAVIOUR_COUNT, Behaviour, EPOCH_MS, Episode, FEATURE_COUNT, FEATURE_NAMES, MISSING, Sample,
};
use time::Date;

const MINUTE_MS: f64 = 60_000.0;

/// Index of each feature in an epoch's features.
mod f {
    pub(super) const HR_MEAN: usize = 0;
    pub(super) const HR_MAX: usize = 1;
    pub(super) const RESP_MEAN: usize = 2;
    pub(super) const LEVEL_MEAN: usize = 3;
    pub(super) const COUNTS_PM: usize = 4;
    pub(super) const STEPS_PM: usize = 5;
    pub(super) const SPEED: usize = 6;
    pub(super) const GYRATION: usize = 7;
    pub(super) const STEPS_CTX: usize = 8;
    pub(super) const COUNTS_CTX: usize = 9;
    pub(super) const MAG_MEAN: usize = 10;
    pub(super) const MAG_STD: usize = 11;
    pub(super) const MAG_MAX: usize = 12;
    pub(super) const DOM_HZ: usize = 13;
    pub(super) const DOM_POWER: usize = 14;
    pub(super) const ODBA: usize = 15;
    pub(super) const PITCH: usize = 16;
    pub(super) const ODBA_MAX: usize = 17;
    pub(super) const PEAK_HZ: usize = 18;
    pub(super) const HR_CTX: usize = 19;
    pub(super) const PITCH_MIN: usize = 20;
    pub(super) const ODBA_CTX: usize = 21;
}

/// One epoch's features (`petty_core::behaviour::Epoch`, kept here so the copy stands alone).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Epoch {
    pub(crate) start_ms: i64,
    pub(crate) n: usize,
    pub(crate) x: [f64; FEATURE_COUNT],
}

/// A gap between epochs longer than this ends an episode (the collar was silent).
pub(crate) const MAX_GAP_MS: i64 = 5 * 60_000;

/// The collar's reporting rate over the epochs: the median of their readings per minute since
/// the epoch before (issue 19's confidence curves per rate).
fn reporting_rate(epochs: &[Epoch]) -> Rate {
    let mut per_minute: Vec<f64> = Vec::new();
    for i in 1..epochs.len() {
        let minutes = ((epochs[i].start_ms - epochs[i - 1].start_ms) / EPOCH_MS).max(1);
        per_minute.push(epochs[i].n as f64 / minutes as f64);
    }
    if per_minute.is_empty() {
        return Rate::of(epochs.first().map_or(1.0, |e| e.n as f64));
    }
    per_minute.sort_by(f64::total_cmp);
    Rate::of(per_minute[per_minute.len() / 2])
}
/// An epoch at least this sure of its own label keeps it whatever its neighbours say (so short
/// bouts such as a shake survive smoothing).
const KEEP_OWN: f64 = 0.6;
/// How many of the most important features an episode names.
const EPISODE_FEATURES: usize = 5;

fn argmax(p: &[f64; BEHAVIOUR_COUNT]) -> usize {
    let mut best = 0;
    for i in 1..BEHAVIOUR_COUNT {
        if p[i] > p[best] {
            best = i;
        }
    }
    best
}

/// Labels a pet's samples as episodes, in time order.
///
/// The samples may come in any order (they are sorted by time when they are not already) and
/// are grouped into [`EPOCH_MS`] epochs; each epoch gets the model's probabilities, adjusted by
/// the pet's `calibration` when there is one. An epoch that is not sure of itself takes the
/// average of itself and its neighbours. Consecutive epochs with one label form an episode,
/// unless more than [`MAX_GAP_MS`] lies between them. An episode runs from its first epoch's
/// start to its last epoch's end; its confidence is the mean probability of its label, through
/// the model's confidence curves; its
/// features are the episode means of the model's most important features (where measured).
pub(crate) fn analyse(samples: &[Sample], model: &Forest, calibration: Option<&Calibration>) -> Vec<Episode> {
    let samples: Cow<'_, [Sample]> = if samples.is_sorted_by_key(|s| s.ts_ms) {
        Cow::Borrowed(samples)
    } else {
        let mut sorted = samples.to_vec();
        sorted.sort_by_key(|s| s.ts_ms);
        Cow::Owned(sorted)
    };
    let epochs = epoch_features(&samples);
    if epochs.is_empty() {
        return Vec::new();
    }
    let calibration = calibration.filter(|c| !c.is_empty());
    let probs: Vec<[f64; BEHAVIOUR_COUNT]> = epochs
        .iter()
        .map(|e| {
            let p = model.predict(&e.x);
            match calibration {
                Some(c) => c.apply(p, &e.x),
                None => p,
            }
        })
        .collect();

    // Light smoothing: an unsure epoch takes a weighted mean with its adjacent neighbours.
    let adjacent = |i: usize, j: usize| (epochs[i].start_ms - epochs[j].start_ms).abs() <= EPOCH_MS;
    let mut labels = Vec::with_capacity(epochs.len());
    let mut label_probs = Vec::with_capacity(epochs.len());
    for (i, p) in probs.iter().enumerate() {
        let own = argmax(p);
        if p[own] >= KEEP_OWN {
            labels.push(own);
            label_probs.push(p[own]);
            continue;
        }
        let mut mixed = p.map(|v| 2.0 * v);
        let mut weight = 2.0;
        for j in [i.wrapping_sub(1), i + 1] {
            if j < probs.len() && adjacent(i, j) {
                for (m, v) in mixed.iter_mut().zip(&probs[j]) {
                    *m += v;
                }
                weight += 1.0;
            }
        }
        let label = argmax(&mixed);
        labels.push(label);
        label_probs.push(mixed[label] / weight);
    }

    let version = match calibration {
        Some(c) => format!("{}+cal{}", model.version(), c.len()),
        None => model.version().to_owned(),
    };
    let ranked = model.ranked_features();
    let rate = reporting_rate(&epochs);
    let mut episodes = Vec::new();
    let mut start = 0;
    for i in 1..=epochs.len() {
        let split =
            i == epochs.len() || labels[i] != labels[start] || epochs[i].start_ms - epochs[i - 1].start_ms > MAX_GAP_MS;
        if !split {
            continue;
        }
        let span = start..i;
        // Through the model's confidence curves for the collar's rate (issue 19), as the
        // analysis does.
        let share = label_probs[span.clone()].iter().sum::<f64>() / span.len() as f64;
        let confidence = model.confidence_at(Behaviour::ALL[labels[start]], share, rate);
        let means = mean_features(epochs[span.clone()].iter().map(|e| &e.x)).unwrap_or([MISSING; FEATURE_COUNT]);
        let features = ranked
            .iter()
            .filter(|f| means[**f] != MISSING)
            .take(EPISODE_FEATURES)
            .map(|f| (FEATURE_NAMES[*f].to_owned(), means[*f]))
            .collect();
        episodes.push(Episode {
            start_ms: epochs[start].start_ms,
            end_ms: epochs[i - 1].start_ms + EPOCH_MS,
            label: Behaviour::ALL[labels[start]],
            confidence: confidence.clamp(0.0, 1.0),
            features,
            model_version: version.clone(),
        });
        start = i;
    }
    episodes
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
/// (as [`analyse`] ensures); epochs are aligned to multiples of [`EPOCH_MS`].
pub(crate) fn epoch_features(samples: &[Sample]) -> Vec<Epoch> {
    let accs = accumulate(samples);
    finish(&accs)
}

/// The typical gap between consecutive readings (used for the first reading and after gaps).
fn typical_gap(samples: &[Sample]) -> i64 {
    let mut sum = 0i64;
    let mut n = 0i64;
    for w in samples.windows(2) {
        let gap = w[1].ts_ms - w[0].ts_ms;
        if gap > 0 && gap <= MAX_COVER_MS {
            sum += gap;
            n += 1;
        }
    }
    if n == 0 { EPOCH_MS } else { (sum / n).max(1) }
}

fn accumulate(samples: &[Sample]) -> Vec<Acc> {
    let gap = typical_gap(samples);
    let mut out: Vec<Acc> = Vec::with_capacity(samples.len().min(samples.len() / 8 + 16));
    let mut prev_ts: Option<i64> = None;
    for s in samples {
        let start = s.ts_ms.div_euclid(EPOCH_MS) * EPOCH_MS;
        if out.last().is_none_or(|a| a.start_ms != start) {
            out.push(Acc { start_ms: start, hr_max: MISSING, pitch_min: f64::INFINITY, ..Acc::default() });
        }
        let covered = match prev_ts {
            Some(p) if s.ts_ms > p && s.ts_ms - p <= MAX_COVER_MS => s.ts_ms - p,
            _ => gap,
        } as f64;
        prev_ts = Some(s.ts_ms);
        let Some(a) = out.last_mut() else { continue };
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
    out
}

fn mean_or_missing(sum: f64, n: usize) -> f64 {
    if n == 0 { MISSING } else { sum / n as f64 }
}

fn per_minute(sum: f64, covered_ms: f64) -> f64 {
    if covered_ms <= 0.0 { MISSING } else { sum / (covered_ms / 60_000.0) }
}

/// Metres between two points (haversine).
pub(crate) fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
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
/// `Feedback` carries for a stored episode. Each feature is averaged over
/// the epochs where it is present ([`MISSING`] where it never is); `None` without samples.
pub(crate) fn episode_mean_features(samples: &[Sample], start_ms: i64, end_ms: i64) -> Option<[f64; FEATURE_COUNT]> {
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

/// Sorted, disjoint, half-open intervals.
type Intervals = Vec<(i64, i64)>;

fn merge(mut v: Intervals) -> Intervals {
    v.retain(|(a, b)| b > a);
    v.sort_unstable();
    let mut out: Intervals = Vec::with_capacity(v.len());
    for (a, b) in v {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

fn clip(v: &[(i64, i64)], (lo, hi): (i64, i64)) -> Intervals {
    v.iter().map(|&(a, b)| (a.max(lo), b.min(hi))).filter(|(a, b)| b > a).collect()
}

fn total_ms(v: &[(i64, i64)]) -> i64 {
    v.iter().map(|(a, b)| b - a).sum()
}

fn contains(v: &[(i64, i64)], t: i64) -> bool {
    let i = v.partition_point(|&(a, _)| a <= t);
    i > 0 && t < v[i - 1].1
}

fn overlap_ms(e: &Episode, (lo, hi): (i64, i64)) -> i64 {
    (e.end_ms.min(hi) - e.start_ms.max(lo)).max(0)
}

fn is_rest(b: Behaviour) -> bool {
    matches!(b, Behaviour::Sleeping | Behaviour::Resting)
}

fn is_restless(b: Behaviour) -> bool {
    b.is_active() || matches!(b, Behaviour::Pacing | Behaviour::Scratching | Behaviour::Shaking)
}

/// What one pass over the samples in time order gathers.
struct Scan {
    /// The samples' periods `[ts - span, ts)`, joined where they touch.
    covered: Intervals,
    /// The periods of samples that show movement, joined.
    moving: Intervals,
    /// Heart rates and respiration rates of the day's samples inside resting episodes.
    resting_hr: Vec<f64>,
    resting_resp: Vec<f64>,
    /// The same for samples at activity level 0 (for days without episodes).
    still_hr: Vec<f64>,
    still_resp: Vec<f64>,
    /// Steps counted within the day.
    steps: f64,
}

/// One pass over the samples in time order (a day at 1 Hz is 86,400 of them, so each extra
/// pass costs milliseconds), with cursors into the resting and awake intervals.
fn scan_samples(samples: &[Sample], day: (i64, i64), rest: &[(i64, i64)], awake: &[(i64, i64)]) -> Scan {
    let mut sorted: Vec<&Sample> = samples.iter().collect();
    if !sorted.is_sorted_by_key(|s| s.ts_ms) {
        sorted.sort_by_key(|s| s.ts_ms);
    }
    let mut scan = Scan {
        covered: Vec::new(),
        moving: Vec::new(),
        resting_hr: Vec::new(),
        resting_resp: Vec::new(),
        still_hr: Vec::new(),
        still_resp: Vec::new(),
        steps: 0.0,
    };
    let join = |list: &mut Intervals, (a, b): (i64, i64)| match list.last_mut() {
        Some(last) if a <= last.1 && a >= last.0 => last.1 = last.1.max(b),
        _ => list.push((a, b)),
    };
    let usable = |v: Option<f64>| v.filter(|x| x.is_finite() && *x > 0.0);
    let (mut ri, mut ai) = (0, 0);
    let mut prev: Option<i64> = None;
    for s in sorted {
        let t = s.ts_ms;
        let span = match prev {
            Some(p) => (t - p).min(MAX_SAMPLE_SPAN_MS),
            None => FIRST_SAMPLE_SPAN_MS,
        };
        prev = Some(t);
        if span > 0 {
            join(&mut scan.covered, (t - span, t));
            if is_moving(s) {
                join(&mut scan.moving, (t - span, t));
            }
        }
        if t < day.0 || t >= day.1 {
            continue;
        }
        scan.steps += s.steps.filter(|x| *x > 0.0).unwrap_or(0.0);
        while rest.get(ri).is_some_and(|iv| iv.1 <= t) {
            ri += 1;
        }
        while awake.get(ai).is_some_and(|iv| iv.1 <= t) {
            ai += 1;
        }
        let at_rest = rest.get(ri).is_some_and(|iv| iv.0 <= t) && awake.get(ai).is_none_or(|iv| iv.0 > t);
        if at_rest {
            scan.resting_hr.extend(usable(s.heart_rate));
            scan.resting_resp.extend(usable(s.respiration_rate));
        }
        if s.activity_level.is_some_and(|a| a < 0.5) {
            scan.still_hr.extend(usable(s.heart_rate));
            scan.still_resp.extend(usable(s.respiration_rate));
        }
    }
    scan
}

fn is_moving(s: &Sample) -> bool {
    s.steps.is_some_and(|x| x > 0.0) || s.activity_level.is_some_and(|x| x >= 1.0)
}

/// The `p`th percentile (0–100) by linear interpolation; `None` when empty.
pub(crate) fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    let rank = (p.clamp(0.0, 100.0) / 100.0) * (v.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    // Selection instead of a sort: a day at 1 Hz has tens of thousands of resting values.
    let (_, &mut low, above) = v.select_nth_unstable_by(lo, f64::total_cmp);
    let high = if hi > lo { above.iter().copied().min_by(f64::total_cmp).unwrap_or(low) } else { low };
    Some(low + (high - low) * (rank - lo as f64))
}

/// Summarises one local day from its samples and episodes (both may be unsorted and may reach
/// outside [`input_window`]; what lies outside is ignored).
pub(crate) fn summarise_day(day: Date, clock: impl LocalClock, samples: &[Sample], episodes: &[Episode]) -> DaySummary {
    let dw = day_window(day, clock);
    let nw = night_window(day, clock);
    let tw = daytime_window(day, clock);

    let rest = merge(episodes.iter().filter(|e| is_rest(e.label)).map(|e| (e.start_ms, e.end_ms)).collect());
    let awake = merge(episodes.iter().filter(|e| !is_rest(e.label)).map(|e| (e.start_ms, e.end_ms)).collect());
    let scan = scan_samples(samples, dw, &rest, &awake);
    let covered = merge(scan.covered.iter().copied().chain(episodes.iter().map(|e| (e.start_ms, e.end_ms))).collect());
    let minutes_covered = total_ms(&clip(&covered, dw)) as f64 / MINUTE_MS;
    let night_minutes_covered = total_ms(&clip(&covered, nw)) as f64 / MINUTE_MS;

    // Vitals while sleeping or resting in the day; without episodes, samples marked at rest.
    let use_fallback = scan.resting_hr.len() < MIN_VITAL_SAMPLES && rest.is_empty();
    let vital = |values: &[f64], fallback: &[f64], p: f64| {
        let v = if use_fallback { fallback } else { values };
        if v.len() >= MIN_VITAL_SAMPLES { percentile(v, p) } else { None }
    };
    let resting_hr = vital(&scan.resting_hr, &scan.still_hr, RESTING_HR_PERCENTILE);
    let respiration = vital(&scan.resting_resp, &scan.still_resp, 50.0);

    let minutes_of = |pred: &dyn Fn(Behaviour) -> bool, w: (i64, i64)| {
        let iv = merge(episodes.iter().filter(|e| pred(e.label)).map(|e| (e.start_ms, e.end_ms)).collect());
        total_ms(&clip(&iv, w)) as f64 / MINUTE_MS
    };
    let active_minutes = minutes_of(&|b| b.is_active(), dw);
    let sleep_minutes = minutes_of(&|b| b == Behaviour::Sleeping, nw);
    let night_restless_minutes = minutes_of(&is_restless, nw);
    let scratching_secs = minutes_of(&|b| b == Behaviour::Scratching, dw) * 60.0;
    let daytime_sleep_minutes = minutes_of(&|b| b == Behaviour::Sleeping, tw);

    let sleep_interruptions = interruptions(episodes, nw);
    let longest_daytime_inactive_min =
        longest_inactive_ms(&covered, &rest, &awake, &scan.moving, tw) as f64 / MINUTE_MS;
    let steps = scan.steps;

    DaySummary {
        day,
        minutes_covered,
        night_minutes_covered,
        resting_hr,
        respiration,
        active_minutes,
        sleep_minutes,
        sleep_interruptions,
        night_restless_minutes,
        scratching_secs,
        longest_daytime_inactive_min,
        daytime_sleep_minutes,
        steps,
        gait_nod: gait_nod(samples, episodes, dw),
    }
}

/// The median half rhythm of the samples in walking episodes of the day.
fn gait_nod(samples: &[Sample], episodes: &[Episode], (lo, hi): (i64, i64)) -> Option<f64> {
    let mut walking: Vec<(i64, i64)> =
        episodes.iter().filter(|e| e.label == Behaviour::Walking).map(|e| (e.start_ms, e.end_ms)).collect();
    walking.sort_unstable();
    let walked = |t: i64| {
        let i = walking.partition_point(|iv| iv.0 <= t);
        i > 0 && t < walking[i - 1].1
    };
    let mut power: Vec<f64> = samples
        .iter()
        .filter(|s| s.ts_ms >= lo && s.ts_ms < hi && walked(s.ts_ms))
        .filter_map(|s| s.accel.map(|a| a.half_rhythm))
        .filter(|p| p.is_finite())
        .collect();
    if power.len() < GAIT_MIN_WINDOWS {
        return None;
    }
    power.sort_by(f64::total_cmp);
    let mid = (power.len() - 1) as f64 / 2.0;
    let (a, b) = (power[mid.floor() as usize], power[mid.ceil() as usize]);
    Some(a + (b - a) * (mid - mid.floor()))
}

/// Waking bouts (runs of episodes other than sleeping or resting) of at least
/// [`INTERRUPTION_MIN_MS`] that lie between two sleeping episodes within the night window.
/// Resting at night counts as neither sleep nor waking: a dozing pet is not interrupted.
fn interruptions(episodes: &[Episode], nw: (i64, i64)) -> u32 {
    let mut night: Vec<&Episode> = episodes.iter().filter(|e| overlap_ms(e, nw) > 0).collect();
    night.sort_by_key(|e| (e.start_ms, e.end_ms));
    let mut count = 0;
    let mut seen_sleep = false;
    let mut bout_ms = 0;
    for e in night {
        match e.label {
            Behaviour::Sleeping => {
                if seen_sleep && bout_ms >= INTERRUPTION_MIN_MS {
                    count += 1;
                }
                seen_sleep = true;
                bout_ms = 0;
            }
            Behaviour::Resting => {}
            _ => bout_ms += overlap_ms(e, nw),
        }
    }
    count
}

/// The longest stretch of `window` that has data and is inactive: inside a sleeping or resting
/// episode, or else neither inside a waking episode nor in the span of a sample showing movement.
fn longest_inactive_ms(
    covered: &[(i64, i64)],
    rest: &[(i64, i64)],
    awake: &[(i64, i64)],
    moving: &[(i64, i64)],
    window: (i64, i64),
) -> i64 {
    let mut bounds: Vec<i64> = vec![window.0, window.1];
    for list in [covered, rest, awake, moving] {
        for &(a, b) in list {
            for t in [a, b] {
                if t > window.0 && t < window.1 {
                    bounds.push(t);
                }
            }
        }
    }
    bounds.sort_unstable();
    bounds.dedup();
    let (mut best, mut run) = (0, 0);
    for w in bounds.windows(2) {
        let (a, b) = (w[0], w[1]);
        let inactive = contains(covered, a) && (contains(rest, a) || (!contains(awake, a) && !contains(moving, a)));
        if inactive {
            run += b - a;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}
