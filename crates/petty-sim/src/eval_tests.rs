//! The behaviour model on simulated labelled days: the floor under `petty eval`, and the
//! trainer of the built-in model.

use petty_core::behaviour::{Behaviour, Forest, TrainParams};

use crate::labelled::{evaluate, training_rows};

/// 2026-11-02T00:00:00Z, as `petty train` and `petty eval` use.
const START_MS: i64 = 1_793_577_600_000;

/// Writes the built-in model: `PETTY_TRAIN_OUT=crates/petty-core/models/behaviour-forest.txt
/// cargo test -p petty-sim -- --ignored train_the_builtin_model` (what `petty train` does).
#[test]
#[ignore = "writes the model file; run on demand"]
fn train_the_builtin_model() {
    let Ok(out) = std::env::var("PETTY_TRAIN_OUT") else { return };
    let days = std::env::var("PETTY_TRAIN_DAYS").ok().and_then(|d| d.parse().ok()).unwrap_or(14);
    let rows = training_rows(1, 6, START_MS, days);
    let forest = Forest::train(&rows, &TrainParams::default(), 1).unwrap();
    std::fs::write(&out, forest.to_text()).unwrap();
    println!("{} rows, {}", rows.len(), forest.version());
}

#[test]
fn the_builtin_model_labels_a_fresh_week_of_dogs_it_never_saw() {
    let result = evaluate(Forest::builtin(), 4242, 1, START_MS, 7, 60_000);
    for l in &result.labels {
        println!("{:<11} precision {:.3} recall {:.3} support {}", l.label, l.precision, l.recall, l.support);
    }
    println!("accuracy {:.3} over {} epochs", result.accuracy, result.epochs);
    assert!(result.accuracy >= 0.9, "{}", result.accuracy);
    for l in &result.labels {
        let floor = match l.label {
            Behaviour::Sleeping | Behaviour::Resting | Behaviour::Walking => 0.8,
            _ => 0.5,
        };
        assert!(l.support > 0, "{} never happened", l.label);
        assert!(l.precision >= floor && l.recall >= floor, "{}: {l:?}", l.label);
    }
}
