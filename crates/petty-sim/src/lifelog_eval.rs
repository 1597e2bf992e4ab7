//! The life log's evaluation: learned energy and mood models against the contract's baseline,
//! on simulated people (what `petty eval lifelog` reports).
//!
//! Two questions, each answered on reports the models never trained on:
//!
//! - **population**: one model trained on the first 70 % of the people, scored on the rest —
//!   people it never saw;
//! - **per user**: for each of those unseen people, a model of their own trained on their older
//!   days and scored on their newest 20 % of days (what Petty does for every user).
//!
//! Every report after a person's first week is an example (the first week only builds the
//! history the features and the baseline read). The baseline is scored on the same reports, as
//! it would have answered at that instant (a backtest through `at`).

use std::fmt;
use std::time::Instant;

use petty_core::lifelog::boost::Anchored;
use petty_core::lifelog::examples;
use petty_core::lifelog::learned::{Example, Metrics, TrainParams, holdout_energy, holdout_mood, split_by_days};
use petty_core::lifelog::ordinal::OrdinalModel;
use petty_core::recurrence::Zone;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::person::simulate_person;
use crate::util::mix;

/// The first simulated midnight.
const START: OffsetDateTime = datetime!(2026-03-02 00:00 UTC);
/// Days of history before a person's reports count.
const WARM_UP_DAYS: i64 = 7;

/// Energy and mood scores of one predictor.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Scores {
    /// `mae` and `r2`.
    pub energy: Metrics,
    /// `accuracy` and `macro_f1`.
    pub mood: Metrics,
}

/// A learned model beside the baseline on the same held-out reports.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Comparison {
    /// People the model(s) trained on (per user: the people, each on their own older days).
    pub people_train: usize,
    /// People scored.
    pub people_test: usize,
    /// Energy reports trained on.
    pub n_train: usize,
    pub learned: Scores,
    pub baseline: Scores,
}

/// What `petty eval lifelog` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct LifelogReport {
    pub people: u32,
    pub days: u32,
    pub seed: u64,
    pub population: Comparison,
    pub per_user: Comparison,
    /// Mean wall time to train one person's energy and mood models, milliseconds.
    pub per_user_train_ms: f64,
}

impl LifelogReport {
    /// The seed's targets on people the population model never saw: energy MAE < 1.0 and mood
    /// accuracy > 0.70.
    pub fn meets_targets(&self) -> bool {
        let s = &self.population.learned;
        s.energy.mae.is_some_and(|m| m < 1.0) && s.mood.accuracy.is_some_and(|a| a > 0.70)
    }
}

/// Simulates `people` people for `days` days each from `seed` and scores the learned models
/// against the baseline (see the module docs). At least 2 people and 14 days are simulated.
pub fn lifelog_eval(people: u32, days: u32, seed: u64) -> LifelogReport {
    let people = people.max(2);
    let days = days.max(14);
    let zone = Zone::utc();
    let from = START + Duration::days(WARM_UP_DAYS);
    let to = START + Duration::days(i64::from(days));
    let per_person: Vec<Vec<Example>> = (0..people)
        .map(|i| {
            let person = simulate_person(mix(seed, 0x11FE + u64::from(i)), START, days);
            examples(&person.events, &zone, from, to)
        })
        .collect();
    let n_train_people = ((people as f64 * 0.7).round() as usize).clamp(1, people as usize - 1);
    let (train_people, test_people) = per_person.split_at(n_train_people);
    let params = TrainParams::default();

    let train: Vec<Example> = train_people.iter().flatten().cloned().collect();
    let test: Vec<Example> = test_people.iter().flatten().cloned().collect();
    let population = compare(&train, &test, &params, train_people.len(), test_people.len());

    let started = Instant::now();
    let mut pooled = Pool::default();
    let mut n_train = 0;
    for person in test_people {
        let (older, newer) = split_by_days(person.clone(), params.holdout_share);
        n_train += older.iter().filter(|e| e.energy.is_some()).count();
        if let (Ok((energy, _)), Ok((mood, _))) =
            (holdout_energy(&older, &newer, &params.energy), holdout_mood(&older, &newer, &params.mood))
        {
            pooled.add(&energy, &mood, &newer);
        }
    }
    let per_user_train_ms = started.elapsed().as_secs_f64() * 1000.0 / test_people.len().max(1) as f64;
    let (learned, baseline) = pooled.scores();
    let per_user =
        Comparison { people_train: test_people.len(), people_test: test_people.len(), n_train, learned, baseline };
    LifelogReport { people, days, seed, population, per_user, per_user_train_ms }
}

/// Trains one model on `train` and scores it (and the baseline) on `test`.
fn compare(
    train: &[Example],
    test: &[Example],
    params: &TrainParams,
    people_train: usize,
    people_test: usize,
) -> Comparison {
    let mut pooled = Pool::default();
    let fitted = (holdout_energy(train, &[], &params.energy), holdout_mood(train, &[], &params.mood));
    if let (Ok((energy, _)), Ok((mood, _))) = fitted {
        pooled.add(&energy, &mood, test);
    }
    let (learned, baseline) = pooled.scores();
    Comparison {
        people_train,
        people_test,
        n_train: train.iter().filter(|e| e.energy.is_some()).count(),
        learned,
        baseline,
    }
}

/// Predictions and truths pooled over people, so every report weighs the same.
#[derive(Debug, Default)]
struct Pool {
    energy_truth: Vec<f64>,
    energy_learned: Vec<f64>,
    energy_baseline: Vec<f64>,
    mood_truth: Vec<usize>,
    mood_learned: Vec<usize>,
    mood_baseline: Vec<usize>,
}

impl Pool {
    fn add(&mut self, energy: &Anchored, mood: &OrdinalModel, test: &[Example]) {
        for e in test {
            if let Some(truth) = e.energy {
                self.energy_truth.push(truth);
                self.energy_learned.push(energy.predict(&e.x).clamp(0.0, 10.0));
                self.energy_baseline.push(e.baseline_energy);
            }
            if let Some(truth) = e.mood {
                self.mood_truth.push(truth.index());
                self.mood_learned.push(mood.class(&e.x).index());
                self.mood_baseline.push(e.baseline_mood.index());
            }
        }
    }

    fn scores(&self) -> (Scores, Scores) {
        (
            Scores {
                energy: Metrics::regression(&self.energy_learned, &self.energy_truth),
                mood: Metrics::classification(&self.mood_learned, &self.mood_truth),
            },
            Scores {
                energy: Metrics::regression(&self.energy_baseline, &self.energy_truth),
                mood: Metrics::classification(&self.mood_baseline, &self.mood_truth),
            },
        )
    }
}

fn cell(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

impl fmt::Display for LifelogReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "life log: {} simulated people, {} days each, seed {}", self.people, self.days, self.seed)?;
        for (name, c) in
            [("population (unseen people)", &self.population), ("per user (newest 20% of days)", &self.per_user)]
        {
            writeln!(
                f,
                "{name}: trained on {} people ({} energy reports), scored on {} people ({} energy, {} mood reports)",
                c.people_train, c.n_train, c.people_test, c.learned.energy.n, c.learned.mood.n
            )?;
            writeln!(f, "  {:<10} {:>8} {:>8} {:>9} {:>9}", "", "MAE", "R²", "accuracy", "macro-F1")?;
            for (who, s) in [("baseline", &c.baseline), ("learned", &c.learned)] {
                writeln!(
                    f,
                    "  {:<10} {:>8} {:>8} {:>9} {:>9}",
                    who,
                    cell(s.energy.mae),
                    cell(s.energy.r2),
                    cell(s.mood.accuracy),
                    cell(s.mood.macro_f1)
                )?;
            }
        }
        writeln!(f, "per-user training: {:.1} ms a person (energy and mood)", self.per_user_train_ms)?;
        write!(
            f,
            "targets on unseen people (energy MAE < 1.0, mood accuracy > 0.70): {}",
            if self.meets_targets() { "met" } else { "NOT met" }
        )
    }
}
