//! The contract's baseline predictions (`model_version` "baseline-1"): energy 0–10 and mood in
//! five classes, from the events of the 30 days before `at` (strictly before: a client can
//! backtest), with upstream's two empty-data faults fixed as the contract says.
//!
//! Every prediction carries an [`Explanation`]: a starting point (a neutral 5.0) and one
//! contribution per term that together sum to the prediction. The baseline's terms multiply
//! (energy) or add and are clamped (mood), so a term's contribution is its Shapley value: the
//! mean, over every order of switching the terms on from neutral, of how much switching it on
//! moved the number. That is exact, order-free and sums to the total by construction.

use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;

use super::events::EventContent;
use super::round;
use super::signals::Signals;
use crate::validation::Invalid;

/// The baseline's model version.
pub const BASELINE_VERSION: &str = "baseline-1";
/// The window predictions read, days before `at`.
pub const WINDOW_DAYS: i64 = 30;
/// Where an explanation of a baseline starts: a neutral person at a neutral time.
pub const NEUTRAL: f64 = 5.0;

/// Part of the day a prediction is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeOfDay {
    Morning,
    Afternoon,
    Evening,
    Night,
}

impl TimeOfDay {
    pub const ALL: [TimeOfDay; 4] = [TimeOfDay::Morning, TimeOfDay::Afternoon, TimeOfDay::Evening, TimeOfDay::Night];

    pub fn as_str(self) -> &'static str {
        match self {
            TimeOfDay::Morning => "morning",
            TimeOfDay::Afternoon => "afternoon",
            TimeOfDay::Evening => "evening",
            TimeOfDay::Night => "night",
        }
    }

    /// 05–12 morning, 12–17 afternoon, 17–22 evening, else night (local hours).
    pub fn from_hour(hour: u8) -> TimeOfDay {
        match hour {
            5..=11 => TimeOfDay::Morning,
            12..=16 => TimeOfDay::Afternoon,
            17..=21 => TimeOfDay::Evening,
            _ => TimeOfDay::Night,
        }
    }

    /// The contract's multiplier of energy.
    pub fn modifier(self) -> f64 {
        match self {
            TimeOfDay::Morning => 1.1,
            TimeOfDay::Afternoon => 0.9,
            TimeOfDay::Evening => 0.7,
            TimeOfDay::Night => 0.5,
        }
    }

    /// A local hour typical of the part of the day (what a learned model is asked about when
    /// the caller names a part of the day other than the one `at` falls in).
    pub fn typical_hour(self) -> u8 {
        match self {
            TimeOfDay::Morning => 9,
            TimeOfDay::Afternoon => 14,
            TimeOfDay::Evening => 19,
            TimeOfDay::Night => 23,
        }
    }
}

impl FromStr for TimeOfDay {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        TimeOfDay::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            Invalid::one("time_of_day", "one_of", "time_of_day must be one of: morning, afternoon, evening, night")
        })
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The contract's five mood classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MoodClass {
    VeryNegative,
    Negative,
    Neutral,
    Positive,
    VeryPositive,
}

impl MoodClass {
    pub const ALL: [MoodClass; 5] = [
        MoodClass::VeryNegative,
        MoodClass::Negative,
        MoodClass::Neutral,
        MoodClass::Positive,
        MoodClass::VeryPositive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MoodClass::VeryNegative => "very_negative",
            MoodClass::Negative => "negative",
            MoodClass::Neutral => "neutral",
            MoodClass::Positive => "positive",
            MoodClass::VeryPositive => "very_positive",
        }
    }

    /// The position in [`MoodClass::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// [0, 2) very_negative, [2, 4) negative, [4, 6) neutral, [6, 8) positive, [8, 10] very_positive.
    pub fn from_score(score: f64) -> MoodClass {
        match score {
            s if s < 2.0 => MoodClass::VeryNegative,
            s if s < 4.0 => MoodClass::Negative,
            s if s < 6.0 => MoodClass::Neutral,
            s if s < 8.0 => MoodClass::Positive,
            _ => MoodClass::VeryPositive,
        }
    }

    /// The class with the highest probability in `p` (indexed like [`MoodClass::ALL`]; ties go
    /// to the lower class, an empty `p` to neutral).
    pub fn most_likely(p: &[f64]) -> MoodClass {
        let best = (0..p.len().min(5)).max_by(|a, b| p[*a].total_cmp(&p[*b]).then(b.cmp(a)));
        best.map_or(MoodClass::Neutral, |i| MoodClass::ALL[i])
    }

    /// The class's centre on the 0–10 scale (1, 3, 5, 7, 9).
    pub fn centre(self) -> f64 {
        1.0 + 2.0 * self.index() as f64
    }

    pub fn sentiment(self) -> Sentiment {
        match self {
            MoodClass::VeryNegative | MoodClass::Negative => Sentiment::Negative,
            MoodClass::Neutral => Sentiment::Neutral,
            MoodClass::Positive | MoodClass::VeryPositive => Sentiment::Positive,
        }
    }
}

impl fmt::Display for MoodClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mood class's direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sentiment {
    Negative,
    Neutral,
    Positive,
}

impl Sentiment {
    pub fn as_str(self) -> &'static str {
        match self {
            Sentiment::Negative => "negative",
            Sentiment::Neutral => "neutral",
            Sentiment::Positive => "positive",
        }
    }
}

/// What an explanation's numbers measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Energy points, 0–10.
    Energy,
    /// Mood points, 0–10.
    Mood,
}

/// How much one factor moved a prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    /// A stable key (`sleep_factor`, a feature name).
    pub factor: &'static str,
    /// For people.
    pub label: &'static str,
    /// The factor's own value (a mean, a multiplier, a feature), when it has one.
    pub value: Option<f64>,
    /// How much it moved the prediction, in the explanation's unit.
    pub effect: f64,
}

/// Why a prediction is what it is: `start` plus every contribution's `effect` is the prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub unit: Unit,
    /// The starting point: a neutral 5.0 for the baseline, the model's base value for a learned
    /// model.
    pub start: f64,
    /// Largest effect first.
    pub contributions: Vec<Contribution>,
}

impl Explanation {
    /// `start` + Σ effects.
    pub fn total(&self) -> f64 {
        self.start + self.contributions.iter().map(|c| c.effect).sum::<f64>()
    }

    /// Rounds start and effects to 2 decimals, puts what rounding lost into the largest effect
    /// so the total is exactly `prediction`, and orders the contributions largest first.
    pub(crate) fn settle(mut self, prediction: f64) -> Explanation {
        self.start = round(self.start, 2);
        for c in &mut self.contributions {
            c.effect = round(c.effect, 2);
        }
        self.contributions.sort_by(|a, b| b.effect.abs().total_cmp(&a.effect.abs()));
        let residual = round(prediction - self.total(), 2);
        if residual != 0.0 {
            match self.contributions.first_mut() {
                Some(top) => top.effect = round(top.effect + residual, 2),
                None => self.start = round(self.start + residual, 2),
            }
        }
        self
    }
}

/// The baseline energy's terms, as the contract's `explanation` object names them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnergyTerms {
    pub base_energy: f64,
    pub time_of_day_modifier: f64,
    pub sleep_factor: f64,
    pub activity_factor: f64,
}

/// An energy prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct EnergyPrediction {
    /// 0–10, 2 decimals.
    pub energy: f64,
    /// 0–0.95, 2 decimals.
    pub confidence: f64,
    pub time_of_day: TimeOfDay,
    /// Sentences, in the contract's order for the baseline.
    pub factors: Vec<String>,
    pub recommendations: Vec<String>,
    /// "baseline-1" or the learned model's version.
    pub model_version: String,
    /// The baseline's terms (`None` for a learned prediction).
    pub terms: Option<EnergyTerms>,
    pub explanation: Explanation,
}

/// The baseline mood's terms, as the contract's `explanation` object names them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MoodTerms {
    pub base_mood: f64,
    pub trend_adjustment: f64,
    pub balance_adjustment: f64,
    pub stress_adjustment: f64,
}

/// A mood prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct MoodPrediction {
    pub class: MoodClass,
    /// 0–10, 2 decimals.
    pub score: f64,
    pub sentiment: Sentiment,
    pub confidence: f64,
    /// Per class of [`MoodClass::ALL`], 3 decimals.
    pub probabilities: [f64; 5],
    pub factors: Vec<String>,
    pub model_version: String,
    pub terms: Option<MoodTerms>,
    pub explanation: Explanation,
}

/// Recommendations when predicted energy is below 5.
pub const LOW_ENERGY_RECOMMENDATIONS: [&str; 3] =
    ["Consider a short nap (20–30 min)", "Drink water and have a healthy snack", "Take a short walk outside"];

/// The recommendations for a predicted energy.
pub fn energy_recommendations(energy: f64) -> Vec<String> {
    if energy < 5.0 { LOW_ENERGY_RECOMMENDATIONS.iter().map(|s| (*s).to_owned()).collect() } else { Vec::new() }
}

/// The window a prediction at `at` reads: `[at − 30 days, at)`.
pub fn window(at: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    (at - time::Duration::days(WINDOW_DAYS), at)
}

/// The baseline energy at `at` for `time_of_day`, from the events of the 30 days before.
pub fn predict_energy<E: AsRef<EventContent>>(
    events: &[E],
    at: OffsetDateTime,
    time_of_day: TimeOfDay,
) -> EnergyPrediction {
    let (from, to) = window(at);
    energy_from_signals(&Signals::gather(events, from, to), time_of_day)
}

/// The baseline mood at `at`, from the events of the 30 days before.
pub fn predict_mood<E: AsRef<EventContent>>(events: &[E], at: OffsetDateTime) -> MoodPrediction {
    let (from, to) = window(at);
    mood_from_signals(&Signals::gather(events, from, to))
}

/// The baseline energy from a window's signals.
pub fn energy_from_signals(s: &Signals, time_of_day: TimeOfDay) -> EnergyPrediction {
    let base = s.mean_energy();
    let sleep = s.mean_sleep_hours();
    let terms = EnergyTerms {
        base_energy: base.unwrap_or(NEUTRAL),
        time_of_day_modifier: time_of_day.modifier(),
        sleep_factor: sleep.map_or(1.0, |h| (h / 8.0).min(1.2)),
        activity_factor: 1.0 + s.workouts_per_week() / 10.0,
    };
    let values = [terms.base_energy, terms.time_of_day_modifier, terms.sleep_factor, terms.activity_factor];
    // The terms as answered: 4 decimals (0.9375 is a sleep factor the contract shows whole).
    let terms = EnergyTerms {
        base_energy: round(terms.base_energy, 4),
        time_of_day_modifier: terms.time_of_day_modifier,
        sleep_factor: round(terms.sleep_factor, 4),
        activity_factor: round(terms.activity_factor, 4),
    };
    let neutral = [NEUTRAL, 1.0, 1.0, 1.0];
    let f = |on: [bool; 4]| {
        let v: f64 = (0..4).map(|i| if on[i] { values[i] } else { neutral[i] }).product();
        v.clamp(0.0, 10.0)
    };
    let energy = round(f([true; 4]), 2);
    let phi = shapley(f);
    let explanation = Explanation {
        unit: Unit::Energy,
        start: NEUTRAL,
        contributions: vec![
            Contribution { factor: "base_energy", label: "Your energy reports", value: base, effect: phi[0] },
            Contribution {
                factor: "time_of_day_modifier",
                label: "Time of day",
                value: Some(terms.time_of_day_modifier),
                effect: phi[1],
            },
            Contribution { factor: "sleep_factor", label: "Sleep", value: sleep, effect: phi[2] },
            Contribution {
                factor: "activity_factor",
                label: "Workouts",
                value: Some(s.workouts_per_week()),
                effect: phi[3],
            },
        ],
    }
    .settle(energy);
    let mut factors = Vec::new();
    if base.is_none() {
        factors.push("Not enough energy reports yet; using a neutral base".to_owned());
    }
    if sleep.is_some_and(|h| h < 7.0) {
        factors.push("Average sleep below 7 hours may lower energy".to_owned());
    }
    if s.workouts_per_week() < 2.0 {
        factors.push("Fewer than 2 workouts a week may limit energy".to_owned());
    }
    if time_of_day == TimeOfDay::Evening {
        factors.push("Energy naturally dips in the evening".to_owned());
    }
    EnergyPrediction {
        energy,
        confidence: round((s.events as f64 / 100.0).min(0.95), 2),
        time_of_day,
        factors,
        recommendations: energy_recommendations(energy),
        model_version: BASELINE_VERSION.to_owned(),
        terms: Some(terms),
        explanation,
    }
}

/// The baseline mood from a window's signals.
pub fn mood_from_signals(s: &Signals) -> MoodPrediction {
    let positive_share = s.positive_share();
    let base = s.mean_mood().or(positive_share.map(|p| 10.0 * p)).unwrap_or(NEUTRAL);
    let trend = match s.mood_slope() {
        Some(slope) if slope > 0.05 => 1.0,
        Some(slope) if slope < -0.05 => -1.0,
        _ => 0.0,
    };
    let balance = s.balance();
    let balance_adjustment = if balance < 0.3 { -1.5 } else { 0.0 };
    let stress = s.mean_stress();
    let stress_adjustment = if stress.is_some_and(|x| x > 7.0) { -2.0 } else { 0.0 };
    let terms = MoodTerms { base_mood: base, trend_adjustment: trend, balance_adjustment, stress_adjustment };
    let parts = [base - NEUTRAL, trend, balance_adjustment, stress_adjustment];
    let f = |on: [bool; 4]| (NEUTRAL + (0..4).filter(|i| on[*i]).map(|i| parts[i]).sum::<f64>()).clamp(0.0, 10.0);
    let score = round(f([true; 4]), 2);
    let phi = shapley(f);
    let explanation = Explanation {
        unit: Unit::Mood,
        start: NEUTRAL,
        contributions: vec![
            Contribution {
                factor: "base_mood",
                label: "Your mood reports and emotions",
                value: Some(base),
                effect: phi[0],
            },
            Contribution { factor: "trend_adjustment", label: "Mood trend", value: s.mood_slope(), effect: phi[1] },
            Contribution {
                factor: "balance_adjustment",
                label: "Work-life balance",
                value: Some(balance),
                effect: phi[2],
            },
            Contribution { factor: "stress_adjustment", label: "Stress", value: stress, effect: phi[3] },
        ],
    }
    .settle(score);
    let mut factors = Vec::new();
    if positive_share.is_some_and(|p| p < 0.4) {
        factors.push("Few positive emotions recently".to_owned());
    }
    if balance < 0.3 {
        factors.push("Work-life balance is low".to_owned());
    }
    if s.social_per_week() < 2.0 {
        factors.push("Few social interactions (under 2 a week)".to_owned());
    }
    if stress.is_some_and(|x| x > 7.0) {
        factors.push("High stress levels".to_owned());
    }
    let class = MoodClass::from_score(score);
    MoodPrediction {
        class,
        score,
        sentiment: class.sentiment(),
        confidence: round((s.events as f64 / 100.0).min(0.90), 2),
        probabilities: class_probabilities(score),
        factors,
        model_version: BASELINE_VERSION.to_owned(),
        terms: Some(terms),
        explanation,
    }
}

/// p ∝ exp(−(score − c)² / 2) over the class centres 1, 3, 5, 7, 9; 3 decimals.
pub fn class_probabilities(score: f64) -> [f64; 5] {
    let w = MoodClass::ALL.map(|c| (-(score - c.centre()).powi(2) / 2.0).exp());
    let sum: f64 = w.iter().sum();
    w.map(|v| round(v / sum, 3))
}

/// Each player's Shapley value of `f` (`f(on)` with the players in `on` switched on).
pub(crate) fn shapley<const N: usize>(f: impl Fn([bool; N]) -> f64) -> [f64; N] {
    let mut values = [0.0; N];
    let fact = |k: usize| (1..=k).map(|x| x as f64).product::<f64>();
    let n_fact = fact(N);
    for mask in 0u32..(1 << N) {
        let on: [bool; N] = std::array::from_fn(|i| mask & (1 << i) != 0);
        let size = on.iter().filter(|b| **b).count();
        let without = f(on);
        for (i, value) in values.iter_mut().enumerate() {
            if on[i] {
                continue;
            }
            let mut with = on;
            with[i] = true;
            let weight = fact(size) * fact(N - size - 1) / n_fact;
            *value += weight * (f(with) - without);
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;
    use crate::lifelog::events::{EventData, EventType};

    const AT: OffsetDateTime = datetime!(2026-11-22 14:00 UTC);

    fn ago(hours: i64) -> OffsetDateTime {
        AT - Duration::hours(hours)
    }

    fn assert_sums(e: &Explanation, prediction: f64) {
        assert!((e.total() - prediction).abs() < 1e-9, "{e:?} does not sum to {prediction}");
    }

    #[test]
    fn worked_example_one_energy_with_reports_sleep_and_workouts() {
        let mut events = Vec::new();
        for (i, level) in [6.0, 7.0, 8.0].into_iter().enumerate() {
            events.push(
                EventContent::new(EventType::Health, "check-in", ago(10 + i as i64))
                    .with_data(EventData::new().with_number("energy_level", level)),
            );
        }
        for (i, minutes) in [480, 420, 450, 450].into_iter().enumerate() {
            events.push(EventContent::new(EventType::Sleep, "slept", ago(24 * (i as i64 + 1))).with_duration(minutes));
        }
        for i in 0..6 {
            events.push(EventContent::new(EventType::Exercise, "run", ago(30 + 48 * i)));
        }
        let p = predict_energy(&events, AT, TimeOfDay::Afternoon);
        assert_eq!(
            p.terms,
            Some(EnergyTerms {
                base_energy: 7.0,
                time_of_day_modifier: 0.9,
                sleep_factor: 0.9375,
                activity_factor: 1.14
            })
        );
        assert_eq!(p.energy, 6.73);
        assert_eq!(p.confidence, 0.13);
        assert_eq!(p.factors, ["Fewer than 2 workouts a week may limit energy"]);
        assert!(p.recommendations.is_empty());
        assert_eq!(p.model_version, "baseline-1");
        assert_eq!(p.explanation.start, 5.0);
        assert_sums(&p.explanation, 6.73);
        let effect = |k: &str| p.explanation.contributions.iter().find(|c| c.factor == k).unwrap().effect;
        assert!(effect("base_energy") > 0.0 && effect("time_of_day_modifier") < 0.0 && effect("sleep_factor") < 0.0);
        assert!(effect("activity_factor") > 0.0);
    }

    #[test]
    fn worked_example_two_energy_with_no_events() {
        let p = predict_energy::<EventContent>(&[], AT, TimeOfDay::Morning);
        assert_eq!(p.energy, 5.5);
        assert_eq!(p.confidence, 0.0);
        assert_eq!(
            p.factors,
            ["Not enough energy reports yet; using a neutral base", "Fewer than 2 workouts a week may limit energy"]
        );
        assert_sums(&p.explanation, 5.5);
        assert_eq!(p.explanation.contributions[0].factor, "time_of_day_modifier");
        assert_eq!(p.explanation.contributions[0].effect, 0.5);
    }

    #[test]
    fn worked_example_three_mood_from_emotions() {
        let events: Vec<EventContent> = ["happy", "happy", "sad", "excited"]
            .iter()
            .enumerate()
            .map(|(i, kind)| {
                EventContent::new(EventType::Emotion, "felt", ago(40 - i as i64))
                    .with_data(EventData::new().with_text("type", kind))
            })
            .collect();
        let p = predict_mood(&events, AT);
        let terms = p.terms.unwrap();
        assert_eq!(terms.base_mood, 7.5);
        assert_eq!(terms.trend_adjustment, -1.0);
        assert_eq!(p.score, 6.5);
        assert_eq!(p.class, MoodClass::Positive);
        assert_eq!(p.sentiment, Sentiment::Positive);
        assert_eq!(p.probabilities, [0.0, 0.002, 0.259, 0.704, 0.035]);
        assert_eq!(p.confidence, 0.04);
        assert_eq!(p.factors, ["Few social interactions (under 2 a week)"]);
        assert_sums(&p.explanation, 6.5);
    }

    #[test]
    fn only_events_strictly_before_at_in_the_window_count() {
        let report = |t: OffsetDateTime, level: f64| {
            EventContent::new(EventType::Health, "h", t).with_data(EventData::new().with_number("energy_level", level))
        };
        let events = vec![report(AT, 1.0), report(AT - Duration::days(31), 1.0), report(ago(1), 8.0)];
        let p = predict_energy(&events, AT, TimeOfDay::Morning);
        assert_eq!(p.terms.unwrap().base_energy, 8.0);
        // Backtesting: an hour earlier, nothing is known yet.
        assert_eq!(predict_energy(&events, ago(1), TimeOfDay::Morning).terms.unwrap().base_energy, 5.0);
    }

    #[test]
    fn low_energy_recommends_and_clamped_predictions_still_explain_themselves() {
        let tired: Vec<EventContent> = (0..5)
            .map(|i| {
                EventContent::new(EventType::Health, "h", ago(i + 1))
                    .with_data(EventData::new().with_number("energy_level", 3.0))
            })
            .collect();
        let p = predict_energy(&tired, AT, TimeOfDay::Evening);
        assert_eq!(p.energy, 2.1);
        assert_eq!(p.recommendations.len(), 3);
        assert!(p.factors.contains(&"Energy naturally dips in the evening".to_owned()));
        assert_sums(&p.explanation, 2.1);

        let stressed: Vec<EventContent> = (0..5)
            .map(|i| {
                EventContent::new(EventType::Work, "w", ago(i * 5 + 1))
                    .with_duration(600)
                    .with_data(EventData::new().with_number("stress_level", 9.0).with_number("mood_score", 1.0))
            })
            .collect();
        let p = predict_mood(&stressed, AT);
        assert_eq!(p.score, 0.0);
        assert_eq!(p.class, MoodClass::VeryNegative);
        assert_eq!(
            p.factors,
            ["Work-life balance is low", "Few social interactions (under 2 a week)", "High stress levels"]
        );
        assert_sums(&p.explanation, 0.0);
    }

    #[test]
    fn shapley_values_of_a_product_sum_to_the_change() {
        let phi = shapley(|on: [bool; 3]| {
            [2.0, 3.0, 0.5].iter().zip(on).map(|(v, o)| if o { *v } else { 1.0 }).product::<f64>()
        });
        assert!((phi.iter().sum::<f64>() - 2.0).abs() < 1e-12);
    }

    #[test]
    fn classes_and_parts_of_the_day() {
        assert_eq!(MoodClass::from_score(1.99), MoodClass::VeryNegative);
        assert_eq!(MoodClass::from_score(4.0), MoodClass::Neutral);
        assert_eq!(MoodClass::from_score(10.0), MoodClass::VeryPositive);
        assert_eq!(TimeOfDay::from_hour(4), TimeOfDay::Night);
        assert_eq!(TimeOfDay::from_hour(5), TimeOfDay::Morning);
        assert_eq!(TimeOfDay::from_hour(12), TimeOfDay::Afternoon);
        assert_eq!(TimeOfDay::from_hour(21), TimeOfDay::Evening);
        assert_eq!(TimeOfDay::from_hour(22), TimeOfDay::Night);
        assert_eq!(" Evening".parse::<TimeOfDay>().unwrap(), TimeOfDay::Evening);
        assert_eq!("noon".parse::<TimeOfDay>().unwrap_err().0[0].field, "time_of_day");
    }
}
