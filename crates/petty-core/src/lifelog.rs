//! The life log: what people (and their pets) did, and what Petty makes of it.
//!
//! A [`LifeEvent`] is one thing that happened to a [`Subject`] (a person, or a pet for meals,
//! walks, medication given and grooming), checked by [`EventContent::parse`] against the AURORA
//! contract (`compat/aurora.md`), with the contract's derived impact scores
//! ([`EventContent::impact`]). From a slice of events this module computes:
//!
//! - [`summary`]: the contract's stats and per-user scores;
//! - [`baseline`]: the contract's baseline energy (0–10) and mood (five classes), each with an
//!   [`Explanation`] whose contributions sum to the prediction minus its starting point;
//! - [`features`], [`boost`], [`ordinal`] and [`learned`]: per-user (or population)
//!   gradient-boosted models (energy: a regressor; mood: an ordinal classifier) trained on a
//!   time-ordered split, used only when they beat the baseline on the held-out part;
//! - [`insights`] and [`patterns`]: the contract's rules and patterns, each sentence with its
//!   number;
//! - [`correlations`]: links between a household's daily streams (people, pets, air), with
//!   effect sizes, confidence intervals, lags and a false-discovery-rate correction.
//!
//! Everything is a function of plain values and an instant `at`; nothing reads a clock.
//!
//! Validation rule names (the [`FieldError::rule`](crate::FieldError) of an [`Invalid`]) map to
//! FastAPI's error types one to one, so a compatibility edge can answer in that shape:
//! `required` → `missing`, `too_short` → `string_too_short` (a list: `too_short`), `too_long` →
//! `string_too_long` (a list: `too_long`), `format` → `string_pattern_mismatch`, `datetime` →
//! `datetime_parsing`, `min` → `greater_than_equal`, `max` → `less_than_equal`, `out_of_range`
//! and `one_of` → `value_error`.
//!
//! [`Invalid`]: crate::Invalid

pub mod baseline;
pub mod boost;
pub mod correlations;
pub mod events;
pub mod features;
pub mod insights;
pub mod learned;
pub mod ordinal;
pub mod patterns;
pub mod signals;
pub mod summary;

pub use baseline::{
    Contribution, EnergyPrediction, EnergyTerms, Explanation, MoodClass, MoodPrediction, MoodTerms, Sentiment,
    TimeOfDay, Unit, predict_energy, predict_mood,
};
pub use correlations::{
    CorrelationOptions, DailyMetric, DailySeries, Effect, PairOutcome, PairTest, correlate, daily_values,
};
pub use events::{
    DataValue, EventContent, EventData, EventType, Impact, LifeEvent, RawLifeEvent, Subject, parse_batch,
};
pub use features::{FEATURE_COUNT, FEATURE_NAMES, MISSING};
pub use insights::{Insight, InsightKind, Priority, generate_insights};
pub use learned::{
    EnergyModel, Example, Holdout, Metrics, MoodModel, TrainError, TrainParams, energy_prediction, examples,
    holdout_energy, holdout_mood, mood_prediction, split_by_days, train_energy, train_mood,
};
pub use patterns::{ActivityPattern, Patterns, SleepCycle, detect_patterns};
pub use summary::{Summary, UserScores, scores, summarize};

/// `v` rounded to `places` decimals (half away from zero).
pub(crate) fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    let r = (v * f).round() / f;
    // `-0.0` reads oddly in an answer.
    if r == 0.0 { 0.0 } else { r }
}

/// The arithmetic mean, `None` for no values.
pub(crate) fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() { None } else { Some(values.iter().sum::<f64>() / values.len() as f64) }
}

/// The population standard deviation, `None` for no values.
pub(crate) fn std_dev(values: &[f64]) -> Option<f64> {
    let m = mean(values)?;
    Some((values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / values.len() as f64).sqrt())
}

/// The least-squares slope of `values` against their index (0, 1, 2, ...); `None` with fewer
/// than two values.
pub(crate) fn index_slope(values: &[f64]) -> Option<f64> {
    let n = values.len();
    if n < 2 {
        return None;
    }
    let x_mean = (n - 1) as f64 / 2.0;
    let y_mean = mean(values)?;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, y) in values.iter().enumerate() {
        let dx = i as f64 - x_mean;
        sxy += dx * (y - y_mean);
        sxx += dx * dx;
    }
    Some(sxy / sxx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_agree_with_hand_arithmetic() {
        assert_eq!(round(6.733, 2), 6.73);
        assert_eq!(round(-0.001, 2), 0.0);
        assert_eq!(mean(&[6.0, 7.0, 8.0]), Some(7.0));
        assert_eq!(mean(&[]), None);
        assert_eq!(std_dev(&[2.0, 4.0]), Some(1.0));
        // The contract's worked example: happy, happy, sad, excited.
        assert!((index_slope(&[0.7, 0.7, -0.5, 0.7]).unwrap() + 0.12).abs() < 1e-12);
        assert_eq!(index_slope(&[1.0]), None);
    }
}
