//! Labelled collar days as the analysis sees them: petty-core [`Sample`]s (accelerometer
//! windows already reduced by [`accel_features`]) with the true [`Behaviour`], for training,
//! evaluation and tests, with no JSON in between.

use petty_core::behaviour::features::f::COUNTS_PM;
use petty_core::behaviour::{
    BEHAVIOUR_COUNT, Behaviour, Confidence, EPOCH_MS, FEATURE_COUNT, Forest, MISSING, ModelError, Rate, Sample,
    TrainParams, accel_features, analyse, epoch_features,
};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::collar::{AccelWindow, Collar, Scenario};
use crate::util::{DAY_MS, MINUTE_MS, mix, offset};

/// The accelerometer window labelled days use: 25 Hz for 2 s (50 samples per axis).
pub const LABELLED_ACCEL: (u32, f64) = (25, 2.0);

/// `days` days of one simulated dog from `start_ms` (local time is UTC), a reading every
/// `interval_ms` (at least 1 s), with the `scenario`'s abnormal days. The dog and its days
/// follow from `seed`; readings the collar does not send (flat battery) are absent, and so are
/// the ones lost on the way: each collar loses up to 6 % of its readings, in gaps of a few
/// readings to half an hour (out of range, a dead zone).
pub fn labelled_days(
    seed: u64,
    start_ms: i64,
    days: u32,
    interval_ms: i64,
    scenario: &Scenario,
) -> Vec<(Sample, Behaviour)> {
    let interval_ms = interval_ms.max(1000);
    let dog = mix(seed, 0xD06);
    let home = offset(52.37, 4.89, (dog % 6000) as f64 - 3000.0, ((dog >> 16) % 6000) as f64 - 3000.0);
    let window = AccelWindow::new(LABELLED_ACCEL.0, LABELLED_ACCEL.1);
    let mut collar = Collar::new(dog, home, 0).with_accel(Some(window)).with_scenario(scenario.clone());
    let end = start_ms + i64::from(days) * DAY_MS;
    let mut out = Vec::with_capacity(((end - start_ms) / interval_ms).max(0) as usize);
    let mut lost = StdRng::seed_from_u64(mix(dog, 0x6A9));
    let loss: f64 = lost.random_range(0.0..0.06);
    let mean_gap = (10 * MINUTE_MS / interval_ms).max(1) as f64;
    let mut gap_left = 0u64;
    let mut ts = start_ms;
    while ts < end {
        let in_gap = gap_left > 0;
        gap_left = gap_left.saturating_sub(1);
        if !in_gap && lost.random_bool((loss / mean_gap).min(1.0)) {
            gap_left = lost.random_range(1.0..2.0 * mean_gap).round() as u64;
        }
        // The collar still lives through a gap (its state moves on); the reading is lost.
        if !collar.is_silent(ts) {
            let (m, label) = collar.measure_raw(ts, interval_ms);
            let accel = m.accel.as_ref().and_then(|(hz, x, y, z)| accel_features(f64::from(*hz), x, y, z).ok());
            let sample = Sample {
                ts_ms: ts,
                heart_rate: Some(m.heart_rate),
                respiration_rate: Some(m.respiration_rate),
                activity_level: Some(m.activity_level),
                activity_counts: Some(m.activity_counts),
                steps: Some(m.steps),
                lat: Some(m.lat),
                lon: Some(m.lon),
                accuracy_m: Some(m.accuracy_m),
                battery_pct: Some(m.battery_pct),
                accel,
            };
            if !in_gap {
                out.push((sample, label));
            }
        }
        ts += interval_ms;
    }
    out
}

/// Each epoch's features and its true label (the commonest label among its samples).
pub fn epoch_rows(labelled: &[(Sample, Behaviour)]) -> Vec<([f64; FEATURE_COUNT], Behaviour)> {
    let samples: Vec<Sample> = labelled.iter().map(|(s, _)| *s).collect();
    let truth = epoch_truth(labelled);
    epoch_features(&samples)
        .into_iter()
        .filter_map(|e| truth.iter().find(|(start, _)| *start == e.start_ms).map(|(_, b)| (e.x, *b)))
        .collect()
}

/// The commonest true label of each epoch, in time order (`labelled` sorted by time).
fn epoch_truth(labelled: &[(Sample, Behaviour)]) -> Vec<(i64, Behaviour)> {
    let mut out: Vec<(i64, [u32; BEHAVIOUR_COUNT])> = Vec::new();
    for (s, b) in labelled {
        let start = s.ts_ms.div_euclid(EPOCH_MS) * EPOCH_MS;
        if out.last().is_none_or(|(t, _)| *t != start) {
            out.push((start, [0; BEHAVIOUR_COUNT]));
        }
        if let Some((_, counts)) = out.last_mut() {
            counts[b.index()] += 1;
        }
    }
    out.into_iter()
        .map(|(t, c)| {
            let best = (0..BEHAVIOUR_COUNT).max_by_key(|i| (c[*i], std::cmp::Reverse(*i))).unwrap_or(0);
            (t, Behaviour::ALL[best])
        })
        .collect()
}

/// The seconds between readings of the dogs `petty train` learns from: collars report at
/// different rates, and the model must label them all.
pub const TRAINING_INTERVALS_S: [i64; 6] = [15, 30, 60, 60, 120, 300];

/// The behaviour an owner who gets it wrong says instead: the one it is easiest to take it for.
pub fn mistaken_for(b: Behaviour) -> Behaviour {
    match b {
        Behaviour::Sleeping => Behaviour::Resting,
        Behaviour::Resting => Behaviour::Sleeping,
        Behaviour::Walking => Behaviour::Pacing,
        Behaviour::Pacing => Behaviour::Walking,
        Behaviour::Running => Behaviour::Playing,
        Behaviour::Playing => Behaviour::Running,
        Behaviour::Eating => Behaviour::Drinking,
        Behaviour::Drinking => Behaviour::Eating,
        Behaviour::Scratching => Behaviour::Shaking,
        Behaviour::Shaking => Behaviour::Scratching,
    }
}

/// The share of episodes whose label, as an owner gives it, is wrong.
pub const OWNER_LABEL_ERROR: f64 = 0.08;

/// Training rows from `dogs` simulated dogs (seeds derived from `seed`), `days` each, normal
/// days only, each dog reporting at one of [`TRAINING_INTERVALS_S`]. The labels are as owners
/// give them: [`OWNER_LABEL_ERROR`] of the episodes (runs of one true label) carry the label
/// the behaviour is [`mistaken_for`].
pub fn training_rows(seed: u64, dogs: u32, start_ms: i64, days: u32) -> Vec<([f64; FEATURE_COUNT], Behaviour)> {
    rows_labelled(seed, dogs, start_ms, days, OWNER_LABEL_ERROR, &|_| {})
}

/// [`training_rows`] with the true labels.
pub fn true_rows(seed: u64, dogs: u32, start_ms: i64, days: u32) -> Vec<([f64; FEATURE_COUNT], Behaviour)> {
    rows_labelled(seed, dogs, start_ms, days, 0.0, &|_| {})
}

/// `done(days)` after each dog's days are simulated: a long command's progress.
type Done<'a> = &'a dyn Fn(u64);

fn rows_labelled(
    seed: u64,
    dogs: u32,
    start_ms: i64,
    days: u32,
    owner_error: f64,
    done: Done<'_>,
) -> Vec<([f64; FEATURE_COUNT], Behaviour)> {
    let mut rows = Vec::new();
    let mut owner = StdRng::seed_from_u64(mix(seed, 0x0A4E));
    for dog in 0..dogs {
        let dog_seed = mix(seed, 0x7AA1 + u64::from(dog));
        let interval = TRAINING_INTERVALS_S[(dog_seed % TRAINING_INTERVALS_S.len() as u64) as usize] * 1000;
        let labelled = labelled_days(dog_seed, start_ms, days, interval, &Scenario::default());
        let mut truth = epoch_rows(&labelled);
        let mut i = 0;
        while i < truth.len() {
            let label = truth[i].1;
            let run = truth[i..].iter().take_while(|(_, b)| *b == label).count();
            if owner.random_bool(owner_error) {
                truth[i..i + run].iter_mut().for_each(|row| row.1 = mistaken_for(label));
            }
            i += run;
        }
        rows.extend(truth);
        done(u64::from(days));
    }
    rows
}

/// The baseline the model is measured against: activity counts alone. Each label's typical
/// counts per minute is its median in the training rows; an epoch gets the label whose typical
/// counts are nearest its own on a log scale (a threshold halfway between each neighbouring
/// pair). This is what an activity tracker without a model can say.
#[derive(Debug, Clone, PartialEq)]
pub struct CountsBaseline {
    /// `(ln(1 + median counts per minute), label)`, for the labels seen in training.
    typical: Vec<(f64, Behaviour)>,
}

impl CountsBaseline {
    pub fn fit(rows: &[([f64; FEATURE_COUNT], Behaviour)]) -> CountsBaseline {
        let mut typical = Vec::new();
        for b in Behaviour::ALL {
            let mut counts: Vec<f64> =
                rows.iter().filter(|(x, l)| *l == b && x[COUNTS_PM] != MISSING).map(|(x, _)| x[COUNTS_PM]).collect();
            if counts.is_empty() {
                continue;
            }
            counts.sort_by(f64::total_cmp);
            typical.push(((1.0 + counts[counts.len() / 2].max(0.0)).ln(), b));
        }
        CountsBaseline { typical }
    }

    /// The label for an epoch's features (resting when its counts are missing).
    pub fn label(&self, x: &[f64; FEATURE_COUNT]) -> Behaviour {
        if x[COUNTS_PM] == MISSING {
            return Behaviour::Resting;
        }
        let v = (1.0 + x[COUNTS_PM].max(0.0)).ln();
        self.typical
            .iter()
            .min_by(|a, b| (a.0 - v).abs().total_cmp(&(b.0 - v).abs()))
            .map_or(Behaviour::Resting, |(_, b)| *b)
    }
}

/// How many dogs, and days of each, the confidence curve is measured on.
pub const CONFIDENCE_DOGS: (u32, u32) = (40, 2);

/// The rate the confidence curves are measured at: a reading a minute, most collars' rate and
/// `petty eval`'s default. A share means more in fuller epochs, so collars that report every
/// few seconds, or every few minutes, have curves of their own ([`CONFIDENCE_RATES`]).
pub const CONFIDENCE_INTERVAL_MS: i64 = 60_000;

/// The other rates' curves: the rate, how many dogs and days each, and the intervals (seconds)
/// the dogs report at in turn (the rates that read their confidence off these curves, by
/// [`Rate::of`]).
pub const CONFIDENCE_RATES: [(Rate, u32, u32, &[i64]); 2] =
    [(Rate::Dense, 40, 1, &[1, 2, 5, 10]), (Rate::Sparse, 40, 4, &[180, 300, 600])];

/// `model` with what its vote shares mean, measured on [`CONFIDENCE_DOGS`] dogs neither its
/// training nor `petty eval` uses (seeds derived from `seed` on a stream of their own), at
/// [`CONFIDENCE_INTERVAL_MS`]: for every epoch, its episode's vote share and whether the label
/// was right (against the truth), per label. The other rates' curves are measured the same way
/// on more dogs ([`CONFIDENCE_RATES`]).
pub fn fit_confidence(model: Forest, seed: u64, start_ms: i64) -> Forest {
    fit_confidence_reporting(model, seed, start_ms, &|_| {})
}

/// The simulated dog-days [`train_model`] goes through: its training dogs' and the confidence
/// curves' ([`CONFIDENCE_DOGS`], [`CONFIDENCE_RATES`]).
pub fn dog_days_to_train(dogs: u32, days: u32) -> u64 {
    let (c_dogs, c_days) = CONFIDENCE_DOGS;
    let rates: u64 = CONFIDENCE_RATES.iter().map(|(_, dogs, days, _)| u64::from(*dogs) * u64::from(*days)).sum();
    u64::from(dogs) * u64::from(days) + u64::from(c_dogs) * u64::from(c_days) + rates
}

fn fit_confidence_reporting(model: Forest, seed: u64, start_ms: i64, done: Done<'_>) -> Forest {
    let raw = model.with_confidence(None);
    let judge = |stream: u64, dogs: u32, days: u32, interval_ms: &dyn Fn(u32) -> i64| {
        let mut pairs = Vec::new();
        for dog in 0..dogs {
            let dog_seed = mix(seed, stream + u64::from(dog));
            let labelled = labelled_days(dog_seed, start_ms, days, interval_ms(dog), &Scenario::default());
            pairs
                .extend(judged_epochs(&raw, &labelled).into_iter().map(|(c, truth, label)| (label, c, truth == label)));
            done(u64::from(days));
        }
        Confidence::fit(&pairs)
    };
    let (dogs, days) = CONFIDENCE_DOGS;
    let mut model = raw.clone().with_confidence(judge(0xCA1B, dogs, days, &|_| CONFIDENCE_INTERVAL_MS));
    for (i, (rate, dogs, days, intervals)) in CONFIDENCE_RATES.into_iter().enumerate() {
        let stream = 0xDE45E + 0x1000 * i as u64;
        let curves = judge(stream, dogs, days, &|dog| intervals[dog as usize % intervals.len()] * 1000);
        model = model.with_confidence_at(rate, curves);
    }
    model
}

/// Trains a model on [`training_rows`] of `dogs` × `days` (and any `extra` rows, such as
/// owners' judgements) and measures what its vote shares mean ([`fit_confidence`]): what
/// `petty train` does.
pub fn train_model(
    seed: u64,
    dogs: u32,
    start_ms: i64,
    days: u32,
    params: &TrainParams,
    extra: Vec<([f64; FEATURE_COUNT], Behaviour)>,
) -> Result<Forest, ModelError> {
    train_model_reporting(seed, (dogs, days), start_ms, params, extra, &|_| {})
}

/// [`train_model`], calling `done(days)` after each simulated dog (of
/// [`dog_days_to_train`] in all): `petty train`'s progress.
pub fn train_model_reporting(
    seed: u64,
    (dogs, days): (u32, u32),
    start_ms: i64,
    params: &TrainParams,
    extra: Vec<([f64; FEATURE_COUNT], Behaviour)>,
    done: Done<'_>,
) -> Result<Forest, ModelError> {
    let mut rows = rows_labelled(seed, dogs, start_ms, days, OWNER_LABEL_ERROR, done);
    rows.extend(extra);
    let forest = Forest::train(&rows, params, seed)?;
    Ok(fit_confidence_reporting(forest, seed, start_ms, done))
}

/// Each epoch of a labelled stretch with the confidence of the episode covering it and
/// whether its label was right, and the confusion's `(truth, label)`.
fn judged_epochs(model: &Forest, labelled: &[(Sample, Behaviour)]) -> Vec<(f64, Behaviour, Behaviour)> {
    let samples: Vec<Sample> = labelled.iter().map(|(s, _)| *s).collect();
    let episodes = analyse(&samples, model, None);
    let mut out = Vec::new();
    let mut at = 0;
    for (start, truth) in epoch_truth(labelled) {
        while at < episodes.len() && episodes[at].end_ms <= start {
            at += 1;
        }
        if let Some(e) = episodes.get(at).filter(|e| e.start_ms <= start) {
            out.push((e.confidence, truth, e.label));
        }
    }
    out
}

/// One judged epoch: the label given, its vote share, and whether it was right.
pub type Judged = (Behaviour, f64, bool);

/// Leave one dog out, for labelled days from anywhere (a public dataset, owners' own): for each
/// dog, a model trained on every other dog's epochs labels it, and its epochs are scored
/// against its labels. The confidence shown is the raw vote share (no dogs are left to measure
/// a curve on), and the reliability table says how far it is from the truth. Also answers each
/// judged epoch's `(label, vote share, right)`: what a model trained on all the dogs fits its
/// confidence curves to ([`Confidence::fit`]).
pub fn leave_one_dog_out(
    dogs: &[&[(Sample, Behaviour)]],
    params: &TrainParams,
    seed: u64,
) -> Result<(Evaluation, Vec<Judged>), ModelError> {
    let rows: Vec<Vec<([f64; FEATURE_COUNT], Behaviour)>> = dogs.iter().map(|d| epoch_rows(d)).collect();
    let mut confusion = [[0u32; BEHAVIOUR_COUNT]; BEHAVIOUR_COUNT];
    let mut judged = Vec::new();
    for (out, labelled) in dogs.iter().enumerate() {
        let training: Vec<([f64; FEATURE_COUNT], Behaviour)> =
            rows.iter().enumerate().filter(|(i, _)| *i != out).flat_map(|(_, r)| r.iter().copied()).collect();
        if training.is_empty() {
            continue;
        }
        let model = Forest::train(&training, params, seed)?;
        for (confidence, truth, label) in judged_epochs(&model, labelled) {
            confusion[truth.index()][label.index()] += 1;
            judged.push((label, confidence, truth == label));
        }
    }
    let pairs: Vec<(f64, bool)> = judged.iter().map(|(_, c, r)| (*c, *r)).collect();
    Ok((score(confusion, &pairs), judged))
}

/// The held-out dogs of an evaluation: `dogs` dogs (seeds derived from `seed`), `days` each.
fn held_out(seed: u64, dogs: u32, start_ms: i64, days: u32, interval_ms: i64) -> Vec<Vec<(Sample, Behaviour)>> {
    (0..dogs)
        .map(|dog| labelled_days(mix(seed, 0xE7A1 + u64::from(dog)), start_ms, days, interval_ms, &Scenario::default()))
        .collect()
}

/// The held-out dogs' epochs with their true labels.
pub fn held_out_rows(
    seed: u64,
    dogs: u32,
    start_ms: i64,
    days: u32,
    interval_ms: i64,
) -> Vec<([f64; FEATURE_COUNT], Behaviour)> {
    held_out(seed, dogs, start_ms, days, interval_ms).iter().flat_map(|l| epoch_rows(l)).collect()
}

/// The baseline over the same held-out dogs as [`evaluate`], epoch by epoch.
pub fn evaluate_baseline(
    baseline: &CountsBaseline,
    seed: u64,
    dogs: u32,
    start_ms: i64,
    days: u32,
    interval_ms: i64,
) -> Evaluation {
    let mut confusion = [[0u32; BEHAVIOUR_COUNT]; BEHAVIOUR_COUNT];
    for labelled in held_out(seed, dogs, start_ms, days, interval_ms) {
        for (x, truth) in epoch_rows(&labelled) {
            confusion[truth.index()][baseline.label(&x).index()] += 1;
        }
    }
    score(confusion, &[])
}

/// How one label fared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelScore {
    pub label: Behaviour,
    /// Of the epochs labelled so, the share that truly were (0 when none were labelled so).
    pub precision: f64,
    /// Of the epochs that truly were, the share labelled so (0 without support).
    pub recall: f64,
    /// Epochs that truly were.
    pub support: u32,
    /// Epochs labelled so.
    pub predicted: u32,
}

impl LabelScore {
    /// The harmonic mean of precision and recall (0 when both are).
    pub fn f1(&self) -> f64 {
        let sum = self.precision + self.recall;
        if sum > 0.0 { 2.0 * self.precision * self.recall / sum } else { 0.0 }
    }
}

/// Epoch-level scores of a model over simulated labelled days.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub labels: Vec<LabelScore>,
    pub accuracy: f64,
    pub epochs: u32,
    /// `confusion[truth][predicted]` in epochs.
    pub confusion: [[u32; BEHAVIOUR_COUNT]; BEHAVIOUR_COUNT],
    /// How often an episode's label was right against the confidence shown for it (the
    /// model's curves over its vote share), in bins.
    pub reliability: Vec<ReliabilityBin>,
    /// Expected calibration error: the epoch-weighted mean gap between the confidence shown
    /// and accuracy.
    pub ece: f64,
    /// The same for the raw vote shares, before the model's confidence curve.
    pub raw_reliability: Vec<ReliabilityBin>,
    pub raw_ece: f64,
}

impl Evaluation {
    /// The mean F1 over the labels that happened.
    pub fn macro_f1(&self) -> f64 {
        let happened: Vec<f64> = self.labels.iter().filter(|l| l.support > 0).map(LabelScore::f1).collect();
        happened.iter().sum::<f64>() / happened.len().max(1) as f64
    }

    /// The label's score.
    pub fn label(&self, b: Behaviour) -> &LabelScore {
        &self.labels[b.index()]
    }
}

/// Epochs whose episode's vote share fell in `[lo, hi)` (the last bin includes 1).
#[derive(Debug, Clone, PartialEq)]
pub struct ReliabilityBin {
    pub lo: f64,
    pub hi: f64,
    pub epochs: u32,
    /// The mean vote share of these epochs' episodes.
    pub mean_confidence: f64,
    /// The share of these epochs whose label was right.
    pub accuracy: f64,
}

/// The bins' lower edges: below one half, then tenths, the last two finer.
const RELIABILITY_EDGES: [f64; 8] = [0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99];

/// Bins `(vote share, right)` pairs and measures the calibration error.
fn reliability(judged: &[(f64, bool)]) -> (Vec<ReliabilityBin>, f64) {
    let mut bins: Vec<(u32, f64, u32)> = vec![(0, 0.0, 0); RELIABILITY_EDGES.len()];
    for (confidence, right) in judged {
        let i = RELIABILITY_EDGES.iter().rposition(|lo| confidence >= lo).unwrap_or(0);
        bins[i].0 += 1;
        bins[i].1 += confidence;
        bins[i].2 += u32::from(*right);
    }
    let total = judged.len().max(1) as f64;
    let mut ece = 0.0;
    let out = bins
        .iter()
        .enumerate()
        .filter(|(_, (n, _, _))| *n > 0)
        .map(|(i, (n, sum, right))| {
            let (mean_confidence, accuracy) = (sum / f64::from(*n), f64::from(*right) / f64::from(*n));
            ece += f64::from(*n) / total * (accuracy - mean_confidence).abs();
            ReliabilityBin {
                lo: RELIABILITY_EDGES[i],
                hi: RELIABILITY_EDGES.get(i + 1).copied().unwrap_or(1.0),
                epochs: *n,
                mean_confidence,
                accuracy,
            }
        })
        .collect();
    (out, ece)
}

/// Runs [`analyse`] over `days` of `dogs` simulated dogs (seeds derived from `seed`; use a
/// seed not used for training) and compares each epoch's true label with the label of the
/// episode covering it.
pub fn evaluate(model: &Forest, seed: u64, dogs: u32, start_ms: i64, days: u32, interval_ms: i64) -> Evaluation {
    let mut confusion = [[0u32; BEHAVIOUR_COUNT]; BEHAVIOUR_COUNT];
    let mut judged = Vec::new();
    let mut raw_judged = Vec::new();
    // Labelled once, without the curves (they change no label): the confidence shown is the
    // curve's reading of the raw share, as the analysis computes it.
    let raw = model.clone().with_confidence(None);
    // The curves of the collars' rate: their interval, which is what the analysis measures
    // from the epochs (`segment::reporting_rate`) but where readings were lost.
    let rate = Rate::of(EPOCH_MS as f64 / interval_ms.max(1) as f64);
    for labelled in held_out(seed, dogs, start_ms, days, interval_ms) {
        for (share, truth, label) in judged_epochs(&raw, &labelled) {
            confusion[truth.index()][label.index()] += 1;
            judged.push((model.confidence_at(label, share, rate), truth == label));
            raw_judged.push((share, truth == label));
        }
    }
    let mut e = score(confusion, &judged);
    (e.raw_reliability, e.raw_ece) = reliability(&raw_judged);
    e
}

fn score(confusion: [[u32; BEHAVIOUR_COUNT]; BEHAVIOUR_COUNT], judged: &[(f64, bool)]) -> Evaluation {
    let epochs: u32 = confusion.iter().flatten().sum();
    let correct: u32 = (0..BEHAVIOUR_COUNT).map(|i| confusion[i][i]).sum();
    let labels = Behaviour::ALL
        .iter()
        .map(|b| {
            let i = b.index();
            let support: u32 = confusion[i].iter().sum();
            let predicted: u32 = confusion.iter().map(|row| row[i]).sum();
            let ratio = |a: u32, b: u32| if b == 0 { 0.0 } else { f64::from(a) / f64::from(b) };
            LabelScore {
                label: *b,
                precision: ratio(confusion[i][i], predicted),
                recall: ratio(confusion[i][i], support),
                support,
                predicted,
            }
        })
        .collect();
    let (reliability, ece) = reliability(judged);
    Evaluation {
        labels,
        accuracy: if epochs == 0 { 0.0 } else { f64::from(correct) / f64::from(epochs) },
        epochs,
        confusion,
        raw_reliability: reliability.clone(),
        raw_ece: ece,
        reliability,
        ece,
    }
}

#[cfg(test)]
mod reliability_tests {
    #[test]
    fn vote_shares_are_binned_against_how_often_they_were_right() {
        let (bins, ece) = super::reliability(&[(0.95, true), (0.97, false), (0.55, true), (1.0, true)]);
        let shown: Vec<(f64, u32)> = bins.iter().map(|b| (b.lo, b.epochs)).collect();
        assert_eq!(shown, [(0.5, 1), (0.95, 2), (0.99, 1)]);
        assert!((bins[1].mean_confidence - 0.96).abs() < 1e-9 && (bins[1].accuracy - 0.5).abs() < 1e-9);
        // A quarter each at |1 - 0.55| and |1 - 1|, half at |0.5 - 0.96|.
        assert!((ece - (0.25 * 0.45 + 0.5 * 0.46)).abs() < 1e-9, "{ece}");
        assert_eq!(super::reliability(&[]), (vec![], 0.0));
    }
}
