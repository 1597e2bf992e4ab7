//! Per-pet calibration from the owner's feedback, on top of the shared model.
//!
//! Two parts. A confusion matrix P(true | said) with a strong diagonal prior: a little feedback
//! nudges a label, a lot of consistent feedback flips it. And exemplars: each judged episode's
//! mean features with the true label, which pull epochs that look like them (by standardised
//! distance) towards that label, so a correction applies to similar epochs, not to every epoch
//! of a label.

use super::features::{FEATURE_COUNT, MISSING};
use super::{BEHAVIOUR_COUNT, Behaviour};

/// What the owner said about an episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Petty was right.
    Confirmed,
    /// Petty was wrong, the owner did not say what it was.
    Wrong,
    /// It was this instead.
    Relabelled(Behaviour),
}

/// One judged episode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Feedback {
    /// What Petty said.
    pub label: Behaviour,
    pub verdict: Verdict,
    /// The episode's mean epoch features ([`super::features::episode_mean_features`]).
    pub features: [f64; FEATURE_COUNT],
    /// How many epochs the episode spans.
    pub epochs: usize,
}

impl Feedback {
    /// The label the owner says is true, when the owner said.
    pub fn truth(&self) -> Option<Behaviour> {
        match self.verdict {
            Verdict::Confirmed => Some(self.label),
            Verdict::Wrong => None,
            Verdict::Relabelled(b) => Some(b),
        }
    }
}

/// How strongly the model is believed before any feedback, in feedback items per label.
const PRIOR: f64 = 6.0;
/// Standardised distance at which an exemplar's pull has fallen to 1/e.
const RADIUS: f64 = 0.3;
/// The strongest pull an exemplar has (at distance 0).
const MAX_PULL: f64 = 0.9;
/// The standardised difference counted for a feature measured on one side only.
const ONE_SIDED: f64 = 1.5;

/// A typical spread of each feature, to make differences comparable.
const SCALES: [f64; FEATURE_COUNT] = [
    20.0, 25.0, 10.0, 0.7, 1500.0, 40.0, 1.0, 20.0, 40.0, 1500.0, 0.3, 0.3, 1.0, 2.0, 0.2, 0.3, 20.0, 0.4, 2.0, 20.0,
    20.0, 0.3,
];

/// One pet's calibration.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    items: usize,
    /// `said[p][t]`: feedback items where Petty said `p` and the truth was `t`.
    said: [[f64; BEHAVIOUR_COUNT]; BEHAVIOUR_COUNT],
    /// Items where Petty said `p` and was wrong, truth unknown.
    wrong: [f64; BEHAVIOUR_COUNT],
    exemplars: Vec<([f64; FEATURE_COUNT], Behaviour)>,
}

impl Calibration {
    pub fn from_feedback(feedback: &[Feedback]) -> Calibration {
        let mut c = Calibration {
            items: feedback.len(),
            said: [[0.0; BEHAVIOUR_COUNT]; BEHAVIOUR_COUNT],
            wrong: [0.0; BEHAVIOUR_COUNT],
            exemplars: Vec::new(),
        };
        for fb in feedback {
            let p = fb.label.index();
            match fb.truth() {
                Some(t) => {
                    c.said[p][t.index()] += 1.0;
                    if fb.features.iter().all(|v| v.is_finite()) {
                        c.exemplars.push((fb.features, t));
                    }
                }
                None => c.wrong[p] += 1.0,
            }
        }
        c
    }

    /// How many feedback items it was built from.
    pub fn len(&self) -> usize {
        self.items
    }

    pub fn is_empty(&self) -> bool {
        self.items == 0
    }

    /// The model's probabilities for an epoch with features `x`, adjusted for this pet.
    pub fn apply(&self, probs: [f64; BEHAVIOUR_COUNT], x: &[f64; FEATURE_COUNT]) -> [f64; BEHAVIOUR_COUNT] {
        if self.items == 0 {
            return probs;
        }
        // Confusion: what Petty says `p` is truly `t` this often.
        let mut q = [0.0; BEHAVIOUR_COUNT];
        for (p, &pp) in probs.iter().enumerate() {
            if pp <= 0.0 {
                continue;
            }
            let row = &self.said[p];
            let total = PRIOR + row.iter().sum::<f64>() + self.wrong[p];
            for (t, qt) in q.iter_mut().enumerate() {
                let prior = if t == p { PRIOR } else { 0.0 };
                *qt += pp * (prior + row[t]) / total;
            }
            // "Wrong" moves mass to the model's other answers, in their proportions.
            let rest = 1.0 - pp;
            if self.wrong[p] > 0.0 && rest > 1e-12 {
                let moved = pp * self.wrong[p] / total;
                for (t, qt) in q.iter_mut().enumerate() {
                    if t != p {
                        *qt += moved * probs[t] / rest;
                    }
                }
            }
        }

        // Exemplars: the nearest judged episodes pull towards their true labels.
        let mut votes = [0.0; BEHAVIOUR_COUNT];
        let mut strongest = 0f64;
        for (e, label) in &self.exemplars {
            let w = (-(distance(x, e) / RADIUS).powi(2)).exp();
            votes[label.index()] += w;
            strongest = strongest.max(w);
        }
        let total: f64 = votes.iter().sum();
        if total > 1e-9 {
            let pull = MAX_PULL * strongest;
            for (qt, v) in q.iter_mut().zip(votes) {
                *qt = (1.0 - pull) * *qt + pull * v / total;
            }
        }
        let sum: f64 = q.iter().sum();
        if sum > 0.0 && sum.is_finite() { q.map(|v| v / sum) } else { probs }
    }
}

/// Root-mean-square standardised difference between two feature vectors.
fn distance(a: &[f64; FEATURE_COUNT], b: &[f64; FEATURE_COUNT]) -> f64 {
    let mut sum = 0.0;
    for j in 0..FEATURE_COUNT {
        let d = match (a[j] == MISSING, b[j] == MISSING) {
            (true, true) => 0.0,
            (true, false) | (false, true) => ONE_SIDED,
            (false, false) => (a[j] - b[j]) / SCALES[j],
        };
        sum += d * d;
    }
    (sum / FEATURE_COUNT as f64).sqrt()
}

/// How often one label was right, by the owner's judgement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelPrecision {
    pub label: Behaviour,
    pub confirmed: u32,
    pub judged: u32,
    /// `confirmed / judged`.
    pub precision: f64,
}

/// Judged episodes of a label before their count is shown as how often the label was right.
pub const MEASURED_MIN_JUDGED: u32 = 10;
/// The measured probability of being right (the episode's confidence, through the model's
/// confidence curves) from which an episode reads "likely" rather than "unsure".
pub const LIKELY_MIN_CONFIDENCE: f64 = 0.8;

/// How sure Petty may say it is of an episode's label. An episode's confidence is measured on
/// dogs the model never saw, which describes this dog only so well (dogs differ), so it is said
/// in words and never as a percentage: only the owner's own judgements of the label, once there
/// are enough of them, are shown as a number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Certainty {
    /// Right `confirmed` of the `judged` times the owner checked this label.
    Measured {
        confirmed: u32,
        judged: u32,
    },
    Likely,
    Unsure,
}

impl Certainty {
    /// From an episode's confidence and the owner's judgements of its label, if any.
    pub fn of(confidence: f64, judged: Option<&LabelPrecision>) -> Certainty {
        match judged {
            Some(p) if p.judged >= MEASURED_MIN_JUDGED => {
                Certainty::Measured { confirmed: p.confirmed, judged: p.judged }
            }
            _ if confidence >= LIKELY_MIN_CONFIDENCE => Certainty::Likely,
            _ => Certainty::Unsure,
        }
    }

    /// For a page: "likely", "unsure", or "right 9 of 10 times you checked".
    pub fn words(self) -> String {
        match self {
            Certainty::Measured { confirmed, judged } => format!("right {confirmed} of {judged} times you checked"),
            Certainty::Likely => "likely".to_owned(),
            Certainty::Unsure => "unsure".to_owned(),
        }
    }
}

/// Precision per label Petty gave, for the labels with at least one judgement, in
/// [`Behaviour::ALL`] order. Relabelling to the same label counts as confirming it.
pub fn precision_by_label(feedback: &[Feedback]) -> Vec<LabelPrecision> {
    let mut counts = [(0u32, 0u32); BEHAVIOUR_COUNT];
    for fb in feedback {
        let c = &mut counts[fb.label.index()];
        c.1 += 1;
        if fb.truth() == Some(fb.label) {
            c.0 += 1;
        }
    }
    Behaviour::ALL
        .iter()
        .zip(counts)
        .filter(|(_, (_, judged))| *judged > 0)
        .map(|(label, (confirmed, judged))| LabelPrecision {
            label: *label,
            confirmed,
            judged,
            precision: f64::from(confirmed) / f64::from(judged),
        })
        .collect()
}

#[cfg(test)]
mod certainty_tests {
    use super::*;

    fn judged(confirmed: u32, judged: u32) -> LabelPrecision {
        LabelPrecision {
            label: Behaviour::Sleeping,
            confirmed,
            judged,
            precision: f64::from(confirmed) / f64::from(judged),
        }
    }

    #[test]
    fn a_vote_share_is_words_and_only_enough_judgements_are_a_number() {
        assert_eq!(Certainty::of(1.0, None).words(), "likely");
        assert_eq!(Certainty::of(0.55, None).words(), "unsure");
        // Three checks are too few to be a measure; ten are one, whatever the model said.
        assert_eq!(Certainty::of(1.0, Some(&judged(3, 3))).words(), "likely");
        assert_eq!(Certainty::of(1.0, Some(&judged(7, 10))).words(), "right 7 of 10 times you checked");
        assert!(!Certainty::of(1.0, None).words().contains('%'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::features::f;
    use crate::behaviour::forest::{Forest, TrainParams};

    fn argmax(p: &[f64; BEHAVIOUR_COUNT]) -> Behaviour {
        let i = (0..BEHAVIOUR_COUNT).max_by(|a, b| p[*a].total_cmp(&p[*b])).unwrap_or(0);
        Behaviour::ALL[i]
    }

    /// Features of a typical epoch of each kind, with a little deterministic jitter.
    fn epoch(kind: &str, k: usize) -> [f64; FEATURE_COUNT] {
        let j = ((k * 7919) % 100) as f64 / 100.0 - 0.5;
        let mut x = [MISSING; FEATURE_COUNT];
        let (hr, steps, speed, odba, hz, pitch) = match kind {
            "resting" => (75.0, 2.0, 0.05, 0.02, 0.5, 0.0),
            "playing" => (150.0, 110.0, 0.4, 0.6, 2.5, 5.0),
            "running" => (165.0, 190.0, 3.2, 0.9, 3.2, 0.0),
            // This pet eats from a puzzle feeder: it moves about like play, but head down.
            "pet_eating" => (150.0, 100.0, 0.4, 0.6, 2.5, -35.0),
            _ => (70.0, 0.0, 0.0, 0.01, 0.0, 0.0),
        };
        x[f::HR_MEAN] = hr + 5.0 * j;
        x[f::HR_MAX] = hr + 10.0 + 5.0 * j;
        x[f::STEPS_PM] = steps + 10.0 * j;
        x[f::STEPS_CTX] = steps + 8.0 * j;
        x[f::SPEED] = speed + 0.1 * j;
        x[f::ODBA] = odba + 0.05 * j;
        x[f::DOM_HZ] = hz + 0.2 * j;
        x[f::PITCH] = pitch + 3.0 * j;
        x
    }

    fn shared_model() -> Forest {
        let mut rows = Vec::new();
        for k in 0..300 {
            rows.push((epoch("resting", k), Behaviour::Resting));
            rows.push((epoch("playing", k), Behaviour::Playing));
            rows.push((epoch("running", k), Behaviour::Running));
        }
        // Speed separates playing from running in the shared training data.
        let params = TrainParams { trees: 9, max_depth: 6, feature_fraction: 0.5, ..TrainParams::default() };
        Forest::train(&rows, &params, 7).unwrap()
    }

    #[test]
    fn feedback_on_episodes_measurably_changes_that_pets_later_labels() {
        let model = shared_model();
        let label = |x: &[f64; FEATURE_COUNT], c: Option<&Calibration>| {
            let p = model.predict(x);
            argmax(&c.map_or(p, |c| c.apply(p, x)))
        };
        // Before: the pet's meals are called play.
        let later: Vec<[f64; FEATURE_COUNT]> = (1000..1100).map(|k| epoch("pet_eating", k)).collect();
        let before = later.iter().filter(|x| label(x, None) == Behaviour::Eating).count();

        // The owner relabels four episodes Petty called playing as eating and confirms two real
        // play sessions.
        let mut feedback: Vec<Feedback> = (0..4)
            .map(|k| Feedback {
                label: label(&epoch("pet_eating", k), None),
                verdict: Verdict::Relabelled(Behaviour::Eating),
                features: epoch("pet_eating", k),
                epochs: 12,
            })
            .collect();
        for k in 0..2 {
            feedback.push(Feedback {
                label: Behaviour::Playing,
                verdict: Verdict::Confirmed,
                features: epoch("playing", k),
                epochs: 8,
            });
        }
        let cal = Calibration::from_feedback(&feedback);
        assert_eq!(cal.len(), 6);
        let after = later.iter().filter(|x| label(x, Some(&cal)) == Behaviour::Eating).count();
        assert!(before == 0 && after >= 95, "before {before}, after {after}");

        // Unrelated and genuinely different epochs keep their labels.
        for k in 2000..2100 {
            assert_eq!(label(&epoch("playing", k), Some(&cal)), Behaviour::Playing);
            assert_eq!(label(&epoch("resting", k), Some(&cal)), Behaviour::Resting);
            assert_eq!(label(&epoch("running", k), Some(&cal)), Behaviour::Running);
        }
        let p = cal.apply(model.predict(&later[0]), &later[0]);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        // No feedback, no change.
        let x = epoch("playing", 5);
        assert_eq!(Calibration::from_feedback(&[]).apply(model.predict(&x), &x), model.predict(&x));
    }

    #[test]
    fn a_lot_of_consistent_feedback_flips_a_label_a_little_only_nudges() {
        let mut probs = [0.0; BEHAVIOUR_COUNT];
        probs[Behaviour::Eating.index()] = 0.9;
        probs[Behaviour::Drinking.index()] = 0.1;
        // An epoch unlike the judged ones: only the confusion matrix applies.
        let far = [100.0; FEATURE_COUNT];
        let fb = |n: usize| {
            let mut x = [0.0; FEATURE_COUNT];
            x[f::HR_MEAN] = 80.0;
            vec![
                Feedback {
                    label: Behaviour::Eating,
                    verdict: Verdict::Relabelled(Behaviour::Drinking),
                    features: x,
                    epochs: 2
                };
                n
            ]
        };
        let nudged = Calibration::from_feedback(&fb(1)).apply(probs, &far);
        assert_eq!(argmax(&nudged), Behaviour::Eating);
        assert!(nudged[Behaviour::Drinking.index()] > 0.1);
        let flipped = Calibration::from_feedback(&fb(20)).apply(probs, &far);
        assert_eq!(argmax(&flipped), Behaviour::Drinking);
        let wrong = Feedback { label: Behaviour::Eating, verdict: Verdict::Wrong, features: far, epochs: 1 };
        let moved = Calibration::from_feedback(&[wrong; 30]).apply(probs, &far);
        assert_eq!(argmax(&moved), Behaviour::Drinking);
    }

    #[test]
    fn precision_counts_confirmations_per_label() {
        let x = [MISSING; FEATURE_COUNT];
        let fb = |label, verdict| Feedback { label, verdict, features: x, epochs: 1 };
        let got = precision_by_label(&[
            fb(Behaviour::Walking, Verdict::Confirmed),
            fb(Behaviour::Walking, Verdict::Relabelled(Behaviour::Running)),
            fb(Behaviour::Walking, Verdict::Relabelled(Behaviour::Walking)),
            fb(Behaviour::Sleeping, Verdict::Wrong),
        ]);
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].label, got[0].confirmed, got[0].judged), (Behaviour::Sleeping, 0, 1));
        assert_eq!((got[1].label, got[1].confirmed, got[1].judged), (Behaviour::Walking, 2, 3));
        assert!((got[1].precision - 2.0 / 3.0).abs() < 1e-12);
    }
}
