//! Learned energy and mood models: what they learn from, how they are judged against the
//! baseline, and how they are kept.
//!
//! Every energy or mood report is an [`Example`]: the features just before it (see
//! [`features`](super::features)), the reported value, and what the baseline would have said at
//! that instant (a backtest through `at`). A per-user model trains on the reports of the 90 days
//! before `at` once they span at least 30 distinct days (mood: and at least two classes). The
//! newest 20 % of those days is held out: a model trained on the older days is scored there
//! beside the baseline, and the model is used only if it beats the baseline there (energy: a
//! lower MAE; mood: a higher accuracy, or the same with a higher macro-F1). The model kept is
//! then retrained on every day with the same recipe, so it knows the newest days too; its
//! metrics are those of the recipe on the held-out days.
//!
//! Energy is learned by an [`Anchored`] regressor (boosted trees measured from the person's usual
//! energy), mood by an [`OrdinalModel`] (the same for the mood score, cut into the five classes
//! at learned thresholds). A model is kept as text ([`EnergyModel::to_bytes`]): a header with its
//! version, training time, features and held-out metrics, then the model's own text.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use time::OffsetDateTime;

use super::baseline::{
    Contribution, EnergyPrediction, Explanation, MoodClass, MoodPrediction, TimeOfDay, Unit, energy_from_signals,
    energy_recommendations, mood_from_signals, predict_energy, predict_mood,
};
use super::boost::{Anchored, BoostError, BoostParams};
use super::events::EventContent;
use super::features::{
    FEATURE_COUNT, FEATURE_LABELS, FEATURE_NAMES, Features, HISTORY_DAYS, MISSING, USUAL_ENERGY, USUAL_MOOD,
    features_at, local_hour_and_weekday,
};
use super::ordinal::OrdinalModel;
use super::round;
use super::signals::{DAY, Fact, Signals, facts_between};
use crate::recurrence::Zone;

/// How per-user models are trained.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainParams {
    pub energy: BoostParams,
    pub mood: BoostParams,
    /// Reports must span at least this many distinct days.
    pub min_days: usize,
    /// Reports older than this many days before `at` are not used.
    pub lookback_days: i64,
    /// The newest share of days held out.
    pub holdout_share: f64,
}

impl Default for TrainParams {
    fn default() -> TrainParams {
        TrainParams {
            energy: BoostParams::default(),
            mood: BoostParams::default(),
            min_days: 30,
            lookback_days: 90,
            holdout_share: 0.2,
        }
    }
}

/// Why no model was trained.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainError {
    #[error("not enough data: reports on {days} distinct days, {needed} needed")]
    NotEnoughData { days: usize, needed: usize },
    #[error("every mood report is of one class")]
    OneClass,
    #[error(transparent)]
    Boost(#[from] BoostError),
}

/// One report, the features just before it, and what the baseline said then.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub at: OffsetDateTime,
    /// The local date's day number (days since 1970-01-01), for time-ordered splits.
    pub day: i64,
    pub x: Features,
    /// The reported energy, if the event reported one.
    pub energy: Option<f64>,
    /// The reported mood's class, if the event reported one.
    pub mood: Option<MoodClass>,
    /// The reported mood on the 0–10 scale (a class named is its centre).
    pub mood_score: Option<f64>,
    /// The baseline's energy at `at` for the part of the day `at` falls in.
    pub baseline_energy: f64,
    pub baseline_mood: MoodClass,
}

/// The examples of every report in `[from, to)`, in time order.
pub fn examples<E: AsRef<EventContent>>(
    events: &[E],
    zone: &Zone,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Vec<Example> {
    // The baseline reads 30 days back, the features 29.
    let facts = facts_between(events, from - time::Duration::days(31), to);
    let (from_s, to_s) = (from.unix_timestamp(), to.unix_timestamp());
    let mut out = Vec::new();
    let mut seen_at = None;
    for f in facts.iter().filter(|f| f.t >= from_s && f.t < to_s && (f.energy.is_some() || f.mood.is_some())) {
        let Ok(at) = OffsetDateTime::from_unix_timestamp(f.t) else { continue };
        let (hour, weekday) = local_hour_and_weekday(zone, at);
        let x = if seen_at == Some(f.t) {
            // Reports at one instant share their features.
            out.last().map_or_else(|| features_at(&facts, f.t, hour, weekday), |e: &Example| e.x)
        } else {
            features_at(&facts, f.t, hour, weekday)
        };
        seen_at = Some(f.t);
        let signals = window_signals(&facts, f.t);
        let tod = TimeOfDay::from_hour(hour as u8);
        out.push(Example {
            at,
            day: zone.date_at(at).to_julian_day() as i64 - UNIX_EPOCH_JULIAN,
            x,
            energy: f.energy,
            mood: f.mood.map(MoodClass::from_score),
            mood_score: f.mood,
            baseline_energy: energy_from_signals(&signals, tod).energy,
            baseline_mood: mood_from_signals(&signals).class,
        });
    }
    out
}

const UNIX_EPOCH_JULIAN: i64 = 2_440_588;

/// The baseline's signals at unix second `t` from time-ordered facts.
fn window_signals(facts: &[Fact], t: i64) -> Signals {
    let lo = facts.partition_point(|f| f.t < t - 30 * DAY);
    let hi = facts.partition_point(|f| f.t < t);
    Signals::of_facts(&facts[lo..hi], 30.0)
}

/// Scores on held-out reports. Regression fills `mae` and `r2`, classification `accuracy`
/// and `macro_f1`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Metrics {
    pub mae: Option<f64>,
    /// `None` when the truth does not vary.
    pub r2: Option<f64>,
    pub accuracy: Option<f64>,
    /// The mean F1 over the classes in the truth or the predictions.
    pub macro_f1: Option<f64>,
    pub n: usize,
}

impl Metrics {
    pub fn regression(predicted: &[f64], truth: &[f64]) -> Metrics {
        let n = predicted.len().min(truth.len());
        if n == 0 {
            return Metrics::default();
        }
        let mae = predicted.iter().zip(truth).map(|(p, t)| (p - t).abs()).sum::<f64>() / n as f64;
        let mean = truth[..n].iter().sum::<f64>() / n as f64;
        let ss_tot: f64 = truth[..n].iter().map(|t| (t - mean).powi(2)).sum();
        let ss_res: f64 = predicted.iter().zip(truth).map(|(p, t)| (p - t).powi(2)).sum();
        Metrics { mae: Some(mae), r2: (ss_tot > 0.0).then(|| 1.0 - ss_res / ss_tot), n, ..Metrics::default() }
    }

    pub fn classification(predicted: &[usize], truth: &[usize]) -> Metrics {
        let n = predicted.len().min(truth.len());
        if n == 0 {
            return Metrics::default();
        }
        let correct = predicted.iter().zip(truth).filter(|(p, t)| p == t).count();
        let classes: BTreeSet<usize> = predicted[..n].iter().chain(&truth[..n]).copied().collect();
        let f1s: Vec<f64> = classes
            .iter()
            .map(|c| {
                let tp = predicted.iter().zip(truth).filter(|(p, t)| *p == c && *t == c).count() as f64;
                let fp = predicted.iter().zip(truth).filter(|(p, t)| *p == c && *t != c).count() as f64;
                let fn_ = predicted.iter().zip(truth).filter(|(p, t)| *p != c && *t == c).count() as f64;
                if tp == 0.0 { 0.0 } else { 2.0 * tp / (2.0 * tp + fp + fn_) }
            })
            .collect();
        Metrics {
            accuracy: Some(correct as f64 / n as f64),
            macro_f1: Some(f1s.iter().sum::<f64>() / f1s.len() as f64),
            n,
            ..Metrics::default()
        }
    }
}

/// A model's held-out scores beside the baseline's on the same reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Holdout {
    pub n_train: usize,
    pub n_test: usize,
    pub learned: Metrics,
    pub baseline: Metrics,
    /// The learned model beat the baseline on the held-out reports.
    pub use_learned: bool,
}

/// Trains an energy model on `train` and scores it beside the baseline on `test` (examples
/// without an energy report are skipped).
pub fn holdout_energy(
    train: &[Example],
    test: &[Example],
    params: &BoostParams,
) -> Result<(Anchored, Holdout), TrainError> {
    let train: Vec<&Example> = train.iter().filter(|e| e.energy.is_some()).collect();
    let test: Vec<&Example> = test.iter().filter(|e| e.energy.is_some()).collect();
    let model = fit_energy(&train, params)?;
    let truth: Vec<f64> = test.iter().filter_map(|e| e.energy).collect();
    let learned: Vec<f64> = test.iter().map(|e| model.predict(&e.x).clamp(0.0, 10.0)).collect();
    let baseline: Vec<f64> = test.iter().map(|e| e.baseline_energy).collect();
    let learned = Metrics::regression(&learned, &truth);
    let baseline = Metrics::regression(&baseline, &truth);
    let use_learned = !test.is_empty() && learned.mae < baseline.mae;
    Ok((model, Holdout { n_train: train.len(), n_test: test.len(), learned, baseline, use_learned }))
}

/// Trains a mood model on `train` and scores it beside the baseline on `test` (examples
/// without a mood report are skipped).
pub fn holdout_mood(
    train: &[Example],
    test: &[Example],
    params: &BoostParams,
) -> Result<(OrdinalModel, Holdout), TrainError> {
    let train: Vec<&Example> = train.iter().filter(|e| e.mood.is_some()).collect();
    let test: Vec<&Example> = test.iter().filter(|e| e.mood.is_some()).collect();
    let model = fit_mood(&train, params)?;
    let truth: Vec<usize> = test.iter().filter_map(|e| e.mood.map(MoodClass::index)).collect();
    let learned: Vec<usize> = test.iter().map(|e| model.class(&e.x).index()).collect();
    let baseline: Vec<usize> = test.iter().map(|e| e.baseline_mood.index()).collect();
    let learned = Metrics::classification(&learned, &truth);
    let baseline = Metrics::classification(&baseline, &truth);
    let better = match (learned.accuracy, baseline.accuracy) {
        (Some(l), Some(b)) if l > b => true,
        (Some(l), Some(b)) if l == b => learned.macro_f1 > baseline.macro_f1,
        _ => false,
    };
    Ok((model, Holdout { n_train: train.len(), n_test: test.len(), learned, baseline, use_learned: better }))
}

fn fit_energy(rows: &[&Example], params: &BoostParams) -> Result<Anchored, TrainError> {
    let x: Vec<&[f64]> = rows.iter().map(|e| e.x.as_slice()).collect();
    let y: Vec<f64> = rows.iter().filter_map(|e| e.energy).collect();
    Ok(Anchored::fit(&x, &y, FEATURE_COUNT, Some(USUAL_ENERGY), MISSING, params)?)
}

fn fit_mood(rows: &[&Example], params: &BoostParams) -> Result<OrdinalModel, TrainError> {
    let rows: Vec<&Example> = rows.iter().copied().filter(|e| e.mood_score.is_some()).collect();
    if rows.iter().filter_map(|e| e.mood).collect::<BTreeSet<_>>().len() < 2 {
        return Err(TrainError::OneClass);
    }
    let x: Vec<&[f64]> = rows.iter().map(|e| e.x.as_slice()).collect();
    let scores: Vec<f64> = rows.iter().filter_map(|e| e.mood_score).collect();
    Ok(OrdinalModel::fit(&x, &scores, FEATURE_COUNT, Some(USUAL_MOOD), MISSING, params)?)
}

/// Splits examples by day: those of the older days, and those of the newest `share` of the
/// days (at least one day on each side when there are two or more).
pub fn split_by_days(examples: Vec<Example>, share: f64) -> (Vec<Example>, Vec<Example>) {
    let days: BTreeSet<i64> = examples.iter().map(|e| e.day).collect();
    if days.len() < 2 {
        return (examples, Vec::new());
    }
    let n_test = ((days.len() as f64 * share).ceil() as usize).clamp(1, days.len() - 1);
    let first_test_day = days.iter().nth(days.len() - n_test).copied().unwrap_or(i64::MAX);
    examples.into_iter().partition(|e| e.day < first_test_day)
}

/// The labelled examples split by day for training, or why there are too few.
fn time_split(
    all: Vec<Example>,
    has_label: impl Fn(&Example) -> bool,
    params: &TrainParams,
) -> Result<(Vec<Example>, Vec<Example>), TrainError> {
    let labelled: Vec<Example> = all.into_iter().filter(|e| has_label(e)).collect();
    let days = labelled.iter().map(|e| e.day).collect::<BTreeSet<i64>>().len();
    let needed = params.min_days.max(2);
    if days < needed {
        return Err(TrainError::NotEnoughData { days, needed });
    }
    Ok(split_by_days(labelled, params.holdout_share))
}

/// A model's version: `user-YYYYMMDD-N`, the `n`th trained on `date`.
pub fn model_version(date: time::Date, n: u32) -> String {
    format!("user-{:04}{:02}{:02}-{n}", date.year(), u8::from(date.month()), date.day())
}

/// What both kinds of model keep.
#[derive(Debug, Clone, PartialEq)]
struct Kept<M> {
    version: String,
    trained_at: OffsetDateTime,
    holdout: Holdout,
    model: M,
}

/// A model's own text inside a kept model.
trait Body: Sized {
    /// How its text starts.
    const START: &'static str;
    fn text(&self) -> String;
    fn read(text: &str, first_line: usize) -> Result<Self, BoostError>;
    fn n_features(&self) -> usize;
}

impl Body for Anchored {
    const START: &'static str = "petty-anchored ";
    fn text(&self) -> String {
        self.to_text()
    }
    fn read(text: &str, first_line: usize) -> Result<Self, BoostError> {
        Anchored::from_text(text, first_line)
    }
    fn n_features(&self) -> usize {
        Anchored::n_features(self)
    }
}

impl Body for OrdinalModel {
    const START: &'static str = "petty-ordinal ";
    fn text(&self) -> String {
        self.to_text()
    }
    fn read(text: &str, first_line: usize) -> Result<Self, BoostError> {
        OrdinalModel::from_text(text, first_line)
    }
    fn n_features(&self) -> usize {
        self.regressor().n_features()
    }
}

/// A person's learned energy model: a boosted regressor of the energy reports, measured from
/// the person's usual energy ([`Anchored`]).
#[derive(Debug, Clone, PartialEq)]
pub struct EnergyModel(Kept<Anchored>);

/// A person's learned mood model: an ordinal model of the mood reports ([`OrdinalModel`]).
#[derive(Debug, Clone, PartialEq)]
pub struct MoodModel(Kept<OrdinalModel>);

/// Trains a person's energy model at `at` from their events (see the module docs).
pub fn train_energy<E: AsRef<EventContent>>(
    events: &[E],
    at: OffsetDateTime,
    zone: &Zone,
    version: &str,
    params: &TrainParams,
) -> Result<EnergyModel, TrainError> {
    let all = examples(events, zone, at - time::Duration::days(params.lookback_days), at);
    let (train, test) = time_split(all, |e| e.energy.is_some(), params)?;
    let (_, holdout) = holdout_energy(&train, &test, &params.energy)?;
    let every: Vec<&Example> = train.iter().chain(&test).collect();
    let model = fit_energy(&every, &params.energy)?;
    Ok(EnergyModel(Kept { version: version.to_owned(), trained_at: at, holdout, model }))
}

/// Trains a person's mood model at `at` from their events (see the module docs).
pub fn train_mood<E: AsRef<EventContent>>(
    events: &[E],
    at: OffsetDateTime,
    zone: &Zone,
    version: &str,
    params: &TrainParams,
) -> Result<MoodModel, TrainError> {
    let all = examples(events, zone, at - time::Duration::days(params.lookback_days), at);
    let (train, test) = time_split(all, |e| e.mood.is_some(), params)?;
    let (_, holdout) = holdout_mood(&train, &test, &params.mood)?;
    let every: Vec<&Example> = train.iter().chain(&test).collect();
    let model = fit_mood(&every, &params.mood)?;
    Ok(MoodModel(Kept { version: version.to_owned(), trained_at: at, holdout, model }))
}

/// The features a learned model is asked about at `at` for `time_of_day`: the local hour of
/// `at` if it falls in that part of the day, else the part's typical hour.
fn features_for(
    events: &[impl AsRef<EventContent>],
    at: OffsetDateTime,
    time_of_day: TimeOfDay,
    zone: &Zone,
) -> Features {
    let facts = facts_between(events, at - time::Duration::days(HISTORY_DAYS), at);
    let (hour, weekday) = local_hour_and_weekday(zone, at);
    let hour =
        if TimeOfDay::from_hour(hour as u8) == time_of_day { hour } else { f64::from(time_of_day.typical_hour()) };
    features_at(&facts, at.unix_timestamp(), hour, weekday)
}

/// The contributions of a learned model, one per feature that moved the number.
fn learned_explanation(unit: Unit, base: f64, effects: &[f64], x: &Features) -> Explanation {
    let contributions = effects
        .iter()
        .enumerate()
        .filter(|(_, e)| **e != 0.0)
        .map(|(i, e)| Contribution {
            factor: FEATURE_NAMES[i],
            label: FEATURE_LABELS[i],
            value: (x[i] != MISSING).then_some(x[i]),
            effect: *e,
        })
        .collect();
    Explanation { unit, start: base, contributions }
}

/// Sentences for the three contributions that moved the number most.
fn factor_sentences(e: &Explanation, what: &str) -> Vec<String> {
    e.contributions
        .iter()
        .filter(|c| c.effect != 0.0 && c.factor != RANGE_LIMIT)
        .take(3)
        .map(|c| {
            let way = if c.effect > 0.0 { "raised" } else { "lowered" };
            match c.value {
                Some(v) => format!("{} ({}) {way} {what} by {:.2}", c.label, round(v, 1), c.effect.abs()),
                None => format!("{} (not logged) {way} {what} by {:.2}", c.label, c.effect.abs()),
            }
        })
        .collect()
}

const RANGE_LIMIT: &str = "range_limit";

impl<M: Body> Kept<M> {
    fn to_bytes(&self, target: &str) -> Vec<u8> {
        let mut s = String::new();
        let _ = writeln!(s, "{MODEL_HEADER}");
        let _ = writeln!(s, "target {target}");
        let _ = writeln!(s, "version {}", self.version);
        let _ = writeln!(s, "trained_at {}", self.trained_at.unix_timestamp());
        let _ = writeln!(s, "features {}", FEATURE_NAMES.join(" "));
        let h = &self.holdout;
        let _ = writeln!(s, "split {} {} {}", h.n_train, h.n_test, u8::from(h.use_learned));
        let _ = writeln!(s, "learned {}", metrics_text(&h.learned));
        let _ = writeln!(s, "baseline {}", metrics_text(&h.baseline));
        s.push_str(&self.model.text());
        s.into_bytes()
    }

    fn from_bytes(bytes: &[u8], target: &str) -> Result<Kept<M>, BoostError> {
        let text = std::str::from_utf8(bytes).map_err(|_| bad(1, "the model is not UTF-8 text"))?;
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end()));
        match lines.next() {
            Some((_, MODEL_HEADER)) => {}
            _ => return Err(bad(1, format!("expected `{MODEL_HEADER}`"))),
        }
        let mut field = |key: &str| -> Result<(usize, String), BoostError> {
            let (n, line) = lines.next().ok_or_else(|| bad(0, format!("the text ends before `{key}`")))?;
            let value = line
                .strip_prefix(key)
                .and_then(|r| r.strip_prefix(' '))
                .ok_or_else(|| bad(n, format!("expected `{key} ...`")))?;
            Ok((n, value.to_owned()))
        };
        let (n, t) = field("target")?;
        if t != target {
            return Err(bad(n, format!("this is a {t} model, not {target}")));
        }
        let (n, version) = field("version")?;
        if version.is_empty() || !version.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return Err(bad(n, "bad version"));
        }
        let (n, trained) = field("trained_at")?;
        let trained_at = trained
            .parse::<i64>()
            .ok()
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .ok_or_else(|| bad(n, "bad trained_at"))?;
        let (n, names) = field("features")?;
        if names.split(' ').collect::<Vec<_>>() != FEATURE_NAMES {
            return Err(bad(n, "the model was trained on other features"));
        }
        let (n, split) = field("split")?;
        let parts: Vec<Option<usize>> = split.split(' ').map(|p| p.parse().ok()).collect();
        let [Some(n_train), Some(n_test), Some(use_learned @ 0..=1)] = parts.as_slice() else {
            return Err(bad(n, "expected `split N_TRAIN N_TEST 0|1`"));
        };
        let (n, learned) = field("learned")?;
        let learned = parse_metrics(&learned).ok_or_else(|| bad(n, "bad metrics"))?;
        let (n, baseline) = field("baseline")?;
        let baseline = parse_metrics(&baseline).ok_or_else(|| bad(n, "bad metrics"))?;
        // The model's own text is the rest, from its own header on.
        let start = text.find(&format!("\n{}", M::START)).map(|i| i + 1).ok_or_else(|| bad(0, "no model"))?;
        let first_line = text[..start].lines().count() + 1;
        if first_line != n + 1 {
            return Err(bad(n + 1, format!("expected `{}...`", M::START)));
        }
        let model = M::read(&text[start..], first_line)?;
        if model.n_features() != FEATURE_COUNT {
            return Err(bad(first_line, "the model has the wrong number of features"));
        }
        let holdout = Holdout { n_train: *n_train, n_test: *n_test, learned, baseline, use_learned: *use_learned == 1 };
        Ok(Kept { version, trained_at, holdout, model })
    }
}

/// The model text's first line.
const MODEL_HEADER: &str = "petty-lifelog-model 1";

fn bad(line: usize, message: impl Into<String>) -> BoostError {
    BoostError::Format { line, message: message.into() }
}

fn metrics_text(m: &Metrics) -> String {
    let f = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
    format!("{} {} {} {} {}", f(m.mae), f(m.r2), f(m.accuracy), f(m.macro_f1), m.n)
}

fn parse_metrics(s: &str) -> Option<Metrics> {
    let parts: Vec<&str> = s.split(' ').collect();
    let [mae, r2, accuracy, macro_f1, n] = parts.as_slice() else { return None };
    let f = |v: &str| -> Option<Option<f64>> {
        if v == "-" { Some(None) } else { v.parse::<f64>().ok().filter(|v| v.is_finite()).map(Some) }
    };
    Some(Metrics { mae: f(mae)?, r2: f(r2)?, accuracy: f(accuracy)?, macro_f1: f(macro_f1)?, n: n.parse().ok()? })
}

macro_rules! kept_accessors {
    ($model:ident, $target:literal) => {
        impl $model {
            /// `user-YYYYMMDD-N` (or whatever the trainer named it).
            pub fn version(&self) -> &str {
                &self.0.version
            }

            pub fn trained_at(&self) -> OffsetDateTime {
                self.0.trained_at
            }

            /// Its held-out scores beside the baseline's.
            pub fn holdout(&self) -> &Holdout {
                &self.0.holdout
            }

            /// Whether it beat the baseline where it was held out (only then is it used).
            pub fn use_learned(&self) -> bool {
                self.0.holdout.use_learned
            }

            /// The model as versioned text, to keep in a database.
            pub fn to_bytes(&self) -> Vec<u8> {
                self.0.to_bytes($target)
            }

            /// Reads [`Self::to_bytes`]' bytes back; malformed bytes are an error naming the line.
            pub fn from_bytes(bytes: &[u8]) -> Result<$model, BoostError> {
                Kept::from_bytes(bytes, $target).map($model)
            }
        }
    };
}

kept_accessors!(EnergyModel, "energy");
kept_accessors!(MoodModel, "mood");

impl EnergyModel {
    /// The learned energy at `at` for `time_of_day`, explained by its features.
    pub fn predict<E: AsRef<EventContent>>(
        &self,
        events: &[E],
        at: OffsetDateTime,
        time_of_day: TimeOfDay,
        zone: &Zone,
    ) -> EnergyPrediction {
        let x = features_for(events, at, time_of_day, zone);
        let (energy, explanation) = explain(&self.0.model, &x, Unit::Energy);
        let mae = self.0.holdout.learned.mae.unwrap_or(5.0);
        EnergyPrediction {
            energy,
            confidence: round((1.0 - mae / 5.0).clamp(0.0, 0.95), 2),
            time_of_day,
            factors: factor_sentences(&explanation, "energy"),
            recommendations: energy_recommendations(energy),
            model_version: self.0.version.clone(),
            terms: None,
            explanation,
        }
    }
}

impl MoodModel {
    /// The learned mood at `at`, explained by its features (in mood points).
    pub fn predict<E: AsRef<EventContent>>(&self, events: &[E], at: OffsetDateTime, zone: &Zone) -> MoodPrediction {
        let (hour, _) = local_hour_and_weekday(zone, at);
        let x = features_for(events, at, TimeOfDay::from_hour(hour as u8), zone);
        let model = &self.0.model;
        let p = model.probabilities(&x);
        let class = MoodClass::most_likely(&p);
        let (score, explanation) = explain(model.regressor(), &x, Unit::Mood);
        MoodPrediction {
            class,
            score,
            sentiment: class.sentiment(),
            confidence: round(p[class.index()], 2),
            probabilities: p.map(|v| round(v, 3)),
            factors: factor_sentences(&explanation, "mood"),
            model_version: self.0.version.clone(),
            terms: None,
            explanation,
        }
    }

    /// The learned model itself (for evaluation).
    pub fn model(&self) -> &OrdinalModel {
        &self.0.model
    }
}

/// A regressor's prediction at `x`, clamped to 0–10 and rounded to 2 decimals, and its
/// explanation: the model's base value plus each feature's tree-path contribution (and what
/// the clamp took off) is exactly the prediction.
fn explain(regressor: &Anchored, x: &Features, unit: Unit) -> (f64, Explanation) {
    let (base, effects) = regressor.contributions(x);
    let raw = base + effects.iter().sum::<f64>();
    let value = round(raw.clamp(0.0, 10.0), 2);
    let mut explanation = learned_explanation(unit, base, &effects, x);
    if raw.clamp(0.0, 10.0) != raw {
        explanation.contributions.push(Contribution {
            factor: RANGE_LIMIT,
            label: "Kept within 0–10",
            value: None,
            effect: raw.clamp(0.0, 10.0) - raw,
        });
    }
    let mut explanation = explanation.settle(value);
    explanation.contributions.retain(|c| c.effect != 0.0);
    (value, explanation)
}

/// The energy prediction to serve: the learned model's if there is one that beat the baseline,
/// else the baseline's.
pub fn energy_prediction<E: AsRef<EventContent>>(
    events: &[E],
    at: OffsetDateTime,
    time_of_day: TimeOfDay,
    zone: &Zone,
    model: Option<&EnergyModel>,
) -> EnergyPrediction {
    match model.filter(|m| m.use_learned()) {
        Some(m) => m.predict(events, at, time_of_day, zone),
        None => predict_energy(events, at, time_of_day),
    }
}

/// The mood prediction to serve: the learned model's if there is one that beat the baseline,
/// else the baseline's.
pub fn mood_prediction<E: AsRef<EventContent>>(
    events: &[E],
    at: OffsetDateTime,
    zone: &Zone,
    model: Option<&MoodModel>,
) -> MoodPrediction {
    match model.filter(|m| m.use_learned()) {
        Some(m) => m.predict(events, at, zone),
        None => predict_mood(events, at),
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;
    use crate::lifelog::boost::tests::Rng;
    use crate::lifelog::events::{EventData, EventType};

    const START: OffsetDateTime = datetime!(2026-07-01 00:00 UTC);

    /// `days` days of one person whose energy follows last night's sleep and the hour, and
    /// whose mood follows their sleep and exercise.
    fn person(days: i64, seed: u64) -> Vec<EventContent> {
        let mut rng = Rng(seed);
        let mut events = Vec::new();
        for d in 0..days {
            let night = START + Duration::days(d) - Duration::hours(1);
            let sleep_h = 5.0 + 4.0 * rng.uniform();
            events.push(EventContent::new(EventType::Sleep, "slept", night).with_duration((sleep_h * 60.0) as u32));
            let exercise = rng.uniform() < 0.4;
            if exercise {
                events
                    .push(EventContent::new(EventType::Exercise, "run", night + Duration::hours(9)).with_duration(45));
            }
            for hour in [10, 15, 20] {
                let at = night + Duration::hours(hour);
                let energy = 2.0 + (sleep_h - 5.0) * 1.2 - (f64::from(hour as u8) - 10.0) * 0.2 + 0.5 * rng.normal();
                let mood = 3.0 + (sleep_h - 5.0) + if exercise { 1.5 } else { 0.0 } + 0.4 * rng.normal();
                events.push(
                    EventContent::new(EventType::Mood, "check-in", at).with_data(
                        EventData::new()
                            .with_number("energy_level", energy.round().clamp(0.0, 10.0))
                            .with_number("mood_score", mood.round().clamp(0.0, 10.0)),
                    ),
                );
            }
        }
        events
    }

    #[test]
    fn a_person_with_enough_days_gets_models_that_beat_the_baseline() {
        let events = person(80, 3);
        let at = START + Duration::days(80);
        let zone = Zone::utc();
        let params = TrainParams::default();
        let energy = train_energy(&events, at, &zone, "user-20260919-1", &params).unwrap();
        let h = energy.holdout();
        assert!(h.use_learned, "{h:?}");
        assert!(h.learned.mae < Some(1.0) && h.learned.mae < h.baseline.mae, "{h:?}");
        assert_eq!(h.n_train + h.n_test, 240);
        let mood = train_mood(&events, at, &zone, "user-20260919-1", &params).unwrap();
        assert!(mood.use_learned(), "{:?}", mood.holdout());

        let p = energy_prediction(&events, at, TimeOfDay::Morning, &zone, Some(&energy));
        assert_eq!(p.model_version, "user-20260919-1");
        assert!(p.terms.is_none());
        assert!((p.explanation.total() - p.energy).abs() < 1e-9, "{:?}", p.explanation);
        let top = &p.explanation.contributions[0];
        assert!(["sleep_last_night_h", "hour_of_day", "hours_since_waking"].contains(&top.factor), "{top:?}");
        assert!(!p.factors.is_empty());
        let m = mood_prediction(&events, at, &zone, Some(&mood));
        assert_eq!(m.explanation.unit, Unit::Mood);
        assert!((m.explanation.total() - m.score).abs() < 1e-9, "{:?}", m.explanation);
        assert!(!m.factors.is_empty());
        assert!((m.probabilities.iter().sum::<f64>() - 1.0).abs() < 0.01);
        assert_eq!(m.confidence, round(m.probabilities[m.class.index()], 2));
    }

    #[test]
    fn a_model_round_trips_through_bytes() {
        let events = person(40, 4);
        let at = START + Duration::days(40);
        let params =
            TrainParams { energy: BoostParams { rounds: 10, ..BoostParams::default() }, ..TrainParams::default() };
        let energy = train_energy(&events, at, &Zone::utc(), "user-20260810-2", &params).unwrap();
        let bytes = energy.to_bytes();
        let back = EnergyModel::from_bytes(&bytes).unwrap();
        assert_eq!(back, energy);
        assert_eq!(back.trained_at(), at);
        // A mood model's bytes are not an energy model.
        assert!(MoodModel::from_bytes(&bytes).is_err());
        let text = String::from_utf8(bytes).unwrap();
        for cut in (0..text.len() - 1).step_by(97) {
            assert!(EnergyModel::from_bytes(&text.as_bytes()[..cut]).is_err(), "cut at {cut}");
        }
        assert!(EnergyModel::from_bytes(text.replace("hour_of_day", "hour").as_bytes()).is_err());
        assert!(EnergyModel::from_bytes(&[0xff, 0xfe]).is_err());
        let mood = train_mood(&events, at, &Zone::utc(), "user-20260810-2", &params).unwrap();
        let back = MoodModel::from_bytes(&mood.to_bytes()).unwrap();
        assert_eq!(back, mood);
        assert_eq!(back.predict(&events, at, &Zone::utc()), mood.predict(&events, at, &Zone::utc()));
    }

    #[test]
    fn too_few_days_is_not_enough_data_and_the_baseline_serves() {
        let events = person(20, 5);
        let at = START + Duration::days(20);
        let err = train_energy(&events, at, &Zone::utc(), "v", &TrainParams::default()).unwrap_err();
        assert_eq!(err, TrainError::NotEnoughData { days: 20, needed: 30 });
        let p = energy_prediction(&events, at, TimeOfDay::Morning, &Zone::utc(), None);
        assert_eq!(p.model_version, "baseline-1");
        assert_eq!(model_version(time::macros::date!(2026 - 11 - 02), 3), "user-20261102-3");
    }

    #[test]
    fn metrics_match_hand_arithmetic() {
        let m = Metrics::regression(&[1.0, 2.0, 3.0], &[1.0, 2.0, 4.0]);
        assert_eq!(m.mae, Some(1.0 / 3.0));
        // Σ(truth − 7/3)² = 42/9, Σ residual² = 1.
        assert!((m.r2.unwrap() - (1.0 - 9.0 / 42.0)).abs() < 1e-12);
        let c = Metrics::classification(&[0, 0, 1, 2], &[0, 1, 1, 2]);
        assert_eq!(c.accuracy, Some(0.75));
        // F1: class 0 = 2/3, class 1 = 2/3, class 2 = 1.
        assert!((c.macro_f1.unwrap() - (2.0 / 3.0 + 2.0 / 3.0 + 1.0) / 3.0).abs() < 1e-12);
    }
}
