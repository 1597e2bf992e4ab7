//! From samples to episodes: label every epoch, smooth the labels a little, and merge runs of
//! the same label into [`Episode`]s.

use super::calibrate::Calibration;
use super::columns::Columns;
use super::features::{
    EPOCH_MS, Epoch, FEATURE_COUNT, FEATURE_NAMES, MISSING, epoch_features, epochs_of, mean_features,
};
use super::forest::{Forest, Rate};
use super::{BEHAVIOUR_COUNT, Behaviour, Episode, Sample};

/// A gap between epochs longer than this ends an episode (the collar was silent).
pub const MAX_GAP_MS: i64 = 5 * 60_000;
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
/// start to its last epoch's end; its confidence is the mean probability of its label, read
/// through the model's confidence curves for the collar's reporting rate ([`reporting_rate`]:
/// how often such a share was right on dogs the model never saw, at that rate); its features
/// are the episode means of the model's most important features (where measured).
pub fn analyse(samples: &[Sample], model: &Forest, calibration: Option<&Calibration>) -> Vec<Episode> {
    if samples.is_sorted_by_key(|s| s.ts_ms) {
        label(epoch_features(samples), model, calibration)
    } else {
        analyse_columns(&Columns::from_samples(samples), model, calibration)
    }
}

/// [`analyse`] of samples kept as [`Columns`] (what the server reads a pet's day into).
pub fn analyse_columns(samples: &Columns, model: &Forest, calibration: Option<&Calibration>) -> Vec<Episode> {
    label(epochs_of(&samples.in_time_order()), model, calibration)
}

/// The episodes of epochs in time order.
fn label(epochs: Vec<Epoch>, model: &Forest, calibration: Option<&Calibration>) -> Vec<Episode> {
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
    // Confidence is read off the curves of the collar's rate: a share means more in fuller
    // epochs.
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
        // The label's mean share, as the measured probability of being right.
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

/// How often the collar reported over these epochs (in time order): the median, over the
/// epochs, of their readings per minute since the epoch before (so a gap counts once, and a
/// collar that reports every five minutes reads 0.2).
pub fn reporting_rate(epochs: &[Epoch]) -> Rate {
    let mut per_minute: Vec<f64> =
        epochs.windows(2).map(|w| w[1].n as f64 / ((w[1].start_ms - w[0].start_ms) / EPOCH_MS).max(1) as f64).collect();
    if per_minute.is_empty() {
        // One epoch (or none): its own readings.
        return Rate::of(epochs.first().map_or(1.0, |e| e.n as f64));
    }
    let mid = per_minute.len() / 2;
    let (_, median, _) = per_minute.select_nth_unstable_by(mid, f64::total_cmp);
    Rate::of(*median)
}

/// The episodes Petty is least sure of (confidence below `below`): the ones to ask the owner
/// about.
pub fn questions(episodes: &[Episode], below: f64) -> Vec<&Episode> {
    episodes.iter().filter(|e| e.confidence < below).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::features::f;
    use crate::behaviour::forest::TrainParams;

    const T0: i64 = 1_795_305_600_000;

    fn sample(ts_ms: i64, steps: f64) -> Sample {
        Sample {
            ts_ms,
            heart_rate: Some(if steps > 50.0 { 120.0 } else { 70.0 }),
            steps: Some(steps),
            activity_level: Some(if steps > 50.0 { 2.0 } else { 0.0 }),
            ..Sample::default()
        }
    }

    /// A model that says walking when steps are many, resting when not.
    fn model() -> Forest {
        let mut rows = Vec::new();
        for i in 0..400 {
            let steps = (i % 200) as f64;
            let mut x = [MISSING; FEATURE_COUNT];
            x[f::STEPS_PM] = steps;
            x[f::STEPS_CTX] = steps;
            x[f::HR_MEAN] = if steps > 50.0 { 120.0 } else { 70.0 };
            rows.push((x, if steps > 100.0 { Behaviour::Walking } else { Behaviour::Resting }));
        }
        Forest::train(&rows, &TrainParams { trees: 3, max_depth: 4, ..TrainParams::default() }, 1).unwrap()
    }

    #[test]
    fn runs_of_one_label_become_episodes_and_gaps_split_them() {
        let model = model();
        assert!(analyse(&[], &model, None).is_empty());
        let mut samples = Vec::new();
        for m in 0..30 {
            samples.push(sample(T0 + m * 60_000, 0.0));
        }
        for m in 30..50 {
            samples.push(sample(T0 + m * 60_000, 150.0));
        }
        // Silent for ten minutes, then resting again.
        for m in 60..70 {
            samples.push(sample(T0 + m * 60_000, 150.0));
        }
        samples.reverse();
        let episodes = analyse(&samples, &model, None);
        let got: Vec<(i64, i64, Behaviour)> =
            episodes.iter().map(|e| ((e.start_ms - T0) / 60_000, (e.end_ms - T0) / 60_000, e.label)).collect();
        assert_eq!(got, [(0, 30, Behaviour::Resting), (30, 50, Behaviour::Walking), (60, 70, Behaviour::Walking)]);
        for e in &episodes {
            assert!(e.confidence > 0.5 && e.confidence <= 1.0);
            assert_eq!(e.model_version, model.version());
            assert!(!e.features.is_empty() && e.features.len() <= 5);
            assert!(e.features.iter().all(|(_, v)| *v != MISSING));
        }
        let steps = episodes[1].features.iter().find(|(n, _)| n == "steps_per_min").map(|(_, v)| *v);
        assert_eq!(steps, Some(150.0));
        assert!(questions(&episodes, 0.0).is_empty());
        assert_eq!(questions(&episodes, 1.01).len(), 3);
    }

    #[test]
    fn a_day_at_one_hertz_is_analysed_quickly() {
        let model = Forest::builtin();
        let samples: Vec<Sample> = (0..86_400)
            .map(|i| {
                let mut s = sample(T0 + i * 1000, if (i / 3600) % 5 == 0 { 2.0 } else { 0.0 });
                s.lat = Some(52.0 + (i % 7) as f64 * 1e-6);
                s.lon = Some(4.0);
                s
            })
            .collect();
        let began = std::time::Instant::now();
        let episodes = analyse(&samples, model, None);
        let took = began.elapsed();
        println!("analysed 86,400 samples into {} episodes in {took:?}", episodes.len());
        assert!(!episodes.is_empty());
        assert_eq!(episodes[0].start_ms, T0);
        assert_eq!(episodes.last().map(|e| e.end_ms), Some(T0 + 86_400_000));
    }
}
