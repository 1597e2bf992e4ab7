//! Behaviour analysis: what a pet did, read from its collar.
//!
//! The types here are shared by the analysis (`features`, `forest`, `segment`, `calibrate`),
//! the baselines and anomalies, the wellness score and the plan. A [`Sample`] is one collar
//! reading as the analysis sees it; an [`Episode`] is a stretch of time with one [`Behaviour`].

use std::fmt;
use std::str::FromStr;

pub mod calibrate;
pub mod columns;
pub mod confidence;
pub mod features;
pub mod forest;
pub mod segment;

pub use calibrate::{Calibration, Feedback, LabelPrecision, Verdict, precision_by_label};
pub use columns::Columns;
pub use confidence::{Confidence, ConfidenceCurve};
pub use features::{
    ACCEL_EXTRA, EPOCH_MS, Epoch, FEATURE_COUNT, FEATURE_NAMES, MISSING, accel_features, episode_mean_features,
    epoch_features, sample_from_reading,
};
pub use forest::{Forest, ModelError, Rate, TrainParams};
pub use segment::{analyse, analyse_columns, questions};

/// What a pet was doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Behaviour {
    Sleeping,
    Resting,
    Walking,
    Running,
    Playing,
    Pacing,
    Eating,
    Drinking,
    Scratching,
    Shaking,
}

pub const BEHAVIOUR_COUNT: usize = 10;

impl Behaviour {
    pub const ALL: [Behaviour; BEHAVIOUR_COUNT] = [
        Behaviour::Sleeping,
        Behaviour::Resting,
        Behaviour::Walking,
        Behaviour::Running,
        Behaviour::Playing,
        Behaviour::Pacing,
        Behaviour::Eating,
        Behaviour::Drinking,
        Behaviour::Scratching,
        Behaviour::Shaking,
    ];

    /// The position in [`Behaviour::ALL`].
    pub fn index(self) -> usize {
        Behaviour::ALL.iter().position(|b| *b == self).unwrap_or(0)
    }

    /// The label clients send and see.
    pub fn as_str(self) -> &'static str {
        match self {
            Behaviour::Sleeping => "sleeping",
            Behaviour::Resting => "resting",
            Behaviour::Walking => "walking",
            Behaviour::Running => "running",
            Behaviour::Playing => "playing",
            Behaviour::Pacing => "pacing",
            Behaviour::Eating => "eating",
            Behaviour::Drinking => "drinking",
            Behaviour::Scratching => "scratching",
            Behaviour::Shaking => "shaking",
        }
    }

    /// Whether the pet was moving about (counts towards active minutes).
    pub fn is_active(self) -> bool {
        matches!(self, Behaviour::Walking | Behaviour::Running | Behaviour::Playing)
    }
}

impl fmt::Display for Behaviour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Behaviour {
    type Err = crate::Invalid;

    fn from_str(s: &str) -> Result<Behaviour, crate::Invalid> {
        let s = s.trim();
        Behaviour::ALL.into_iter().find(|b| b.as_str().eq_ignore_ascii_case(s)).ok_or_else(|| {
            crate::Invalid::one(
                "label",
                "one_of",
                "label must be one of sleeping, resting, walking, running, playing, pacing, eating, drinking, scratching, shaking",
            )
        })
    }
}

/// Features of one raw 3-axis accelerometer window, as the collar sent it
/// (`accel: {hz, x[], y[], z[]}`), reduced at ingest and kept with the reading as extra numbers
/// named `accel_*`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AccelFeatures {
    /// Mean of the vector magnitude, in g.
    pub mag_mean: f64,
    /// Population standard deviation of the magnitude, in g.
    pub mag_std: f64,
    /// Largest magnitude in the window, in g.
    pub mag_max: f64,
    /// The strongest frequency of the magnitude signal (mean removed), in Hz.
    pub dominant_hz: f64,
    /// Share of the signal's power at that frequency, 0 to 1.
    pub dominant_power: f64,
    /// Overall dynamic body acceleration: the mean over the window of |x-x̄|+|y-ȳ|+|z-z̄|, in g.
    pub odba: f64,
    /// Mean pitch of the static (gravity) component, in degrees; head down is negative.
    pub pitch_deg: f64,
    /// The power at half the dominant frequency against the dominant frequency's own (0 when
    /// there is no rhythm): a gait whose head nods on every other step, as a limp's does,
    /// shows here. NaN for readings kept before Petty measured it.
    pub half_rhythm: f64,
}

/// One collar reading as the analysis sees it. Missing measurements are `None`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Sample {
    /// Event time, epoch milliseconds.
    pub ts_ms: i64,
    pub heart_rate: Option<f64>,
    pub respiration_rate: Option<f64>,
    /// 0 rest, 1 light, 2 active.
    pub activity_level: Option<f64>,
    /// Activity counts since the previous reading.
    pub activity_counts: Option<f64>,
    /// Steps since the previous reading.
    pub steps: Option<f64>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// Radius of the position's uncertainty, metres.
    pub accuracy_m: Option<f64>,
    pub battery_pct: Option<f64>,
    pub accel: Option<AccelFeatures>,
}

/// A stretch of time with one behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    /// First sample's time, epoch ms.
    pub start_ms: i64,
    /// End of the last sample's period, epoch ms (exclusive).
    pub end_ms: i64,
    pub label: Behaviour,
    /// 0 to 1.
    pub confidence: f64,
    /// The features that decided it, named (the episode's means), most important first.
    pub features: Vec<(String, f64)>,
    /// The model (and per-pet calibration) that labelled it.
    pub model_version: String,
}

impl Episode {
    pub fn duration_ms(&self) -> i64 {
        self.end_ms - self.start_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_and_unknown_labels_name_the_field() {
        for b in Behaviour::ALL {
            assert_eq!(b.as_str().parse::<Behaviour>().unwrap(), b);
            assert_eq!(Behaviour::ALL[b.index()], b);
        }
        assert_eq!(" Running ".parse::<Behaviour>().unwrap(), Behaviour::Running);
        let err = "flying".parse::<Behaviour>().unwrap_err();
        assert_eq!(err.0[0].field, "label");
    }
}
