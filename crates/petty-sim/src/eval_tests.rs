//! The behaviour model on simulated labelled days: the floor under `petty eval`, and the
//! trainer of the built-in model. The floor is relative (the model against the counts
//! baseline, on dogs neither saw) and bounded above (the simulator must not hand the model its
//! labels), so a change to the simulator cannot make the evaluation meaningless again.

use petty_core::behaviour::calibrate::LIKELY_MIN_CONFIDENCE;
use petty_core::behaviour::{BEHAVIOUR_COUNT, Behaviour, Forest, TrainParams};

use crate::labelled::{
    CountsBaseline, Evaluation, evaluate, evaluate_baseline, held_out_rows, train_model, training_rows, true_rows,
};

/// 2026-11-02T00:00:00Z, as `petty train` and `petty eval` use.
const START_MS: i64 = 1_793_577_600_000;
/// The built-in model's dogs (as `petty train`'s defaults): seed, dogs, days.
const TRAINING: (u64, u32, u32) = (1, 18, 7);

/// Writes the built-in model: `PETTY_TRAIN_OUT=crates/petty-core/models/behaviour-forest.txt
/// cargo test -p petty-sim -- --ignored train_the_builtin_model` (what `petty train` does).
#[test]
#[ignore = "writes the model file; run on demand"]
fn train_the_builtin_model() {
    let Ok(out) = std::env::var("PETTY_TRAIN_OUT") else { return };
    let (seed, dogs, days) = TRAINING;
    let forest = train_model(seed, dogs, START_MS, days, &TrainParams::default(), Vec::new()).unwrap();
    std::fs::write(&out, forest.to_text()).unwrap();
    println!("{}", forest.version());
}

fn show(name: &str, e: &Evaluation) {
    println!("{name}: accuracy {:.3}, macro F1 {:.3}, {} epochs", e.accuracy, e.macro_f1(), e.epochs);
    for l in &e.labels {
        println!(
            "  {:<11} precision {:.3} recall {:.3} F1 {:.3} support {}",
            l.label,
            l.precision,
            l.recall,
            l.f1(),
            l.support
        );
    }
}

#[test]
fn the_builtin_model_beats_the_counts_baseline_on_dogs_neither_saw() {
    let (seed, _, days) = TRAINING;
    let baseline = CountsBaseline::fit(&training_rows(seed, 4, START_MS, days));
    let model = evaluate(Forest::builtin(), 4242, 4, START_MS, 7, 60_000);
    let base = evaluate_baseline(&baseline, 4242, 4, START_MS, 7, 60_000);
    show("model", &model);
    show("baseline", &base);
    assert!(model.accuracy >= base.accuracy + 0.15, "{} against {}", model.accuracy, base.accuracy);
    assert!(model.macro_f1() >= base.macro_f1() + 0.25, "{} against {}", model.macro_f1(), base.macro_f1());
    for b in Behaviour::ALL {
        let (m, k) = (model.label(b), base.label(b));
        assert!(m.support > 0, "{b} never happened");
        if m.support >= 30 {
            assert!(m.f1() > k.f1(), "{b}: model {:.3} against baseline {:.3}", m.f1(), k.f1());
        }
    }
    // As hard as real collars: published collar studies with dogs held out report 0.70-0.92.
    assert!((0.70..=0.95).contains(&model.accuracy), "{}", model.accuracy);
}

#[test]
fn the_simulated_features_are_not_separable_by_a_shallow_tree() {
    let rows = true_rows(7, 4, START_MS, 7);
    let params = TrainParams { trees: 1, max_depth: 4, feature_fraction: 1.0, ..TrainParams::default() };
    let tree = Forest::train(&rows, &params, 7).unwrap();
    let held = held_out_rows(4242, 4, START_MS, 7, 60_000);
    let right = held.iter().filter(|(x, truth)| argmax(&tree.predict(x)) == *truth).count();
    let accuracy = right as f64 / held.len().max(1) as f64;
    println!("a tree of depth 4: {accuracy:.3} over {} epochs", held.len());
    assert!(accuracy < 0.99, "{accuracy}: the simulator hands the model its labels");
}

fn argmax(votes: &[f64; BEHAVIOUR_COUNT]) -> Behaviour {
    let i = (0..votes.len()).max_by(|a, b| votes[*a].total_cmp(&votes[*b])).unwrap_or(0);
    Behaviour::ALL[i]
}

/// What the dashboard says is earned: the built-in model's confidence is its measured
/// probability of being right (on dogs other than these), so on held-out dogs the episodes it
/// calls "likely" are right at least that often, and the confidence curve leaves less
/// calibration error than the raw vote shares.
#[test]
fn the_confidence_shown_is_measured_not_the_vote_share() {
    let model = Forest::builtin();
    assert!(model.confidence_curves().is_some(), "the built-in model carries its confidence curves");
    // Calibration differs from dog to dog as much as accuracy does: measured on 12.
    let e = evaluate(model, 4242, 12, START_MS, 7, 60_000);
    println!("ECE {:.3} (raw vote shares {:.3})", e.ece, e.raw_ece);
    for b in &e.reliability {
        println!(
            "  {:.2}-{:.2}: {} epochs, mean {:.3}, right {:.3}",
            b.lo, b.hi, b.epochs, b.mean_confidence, b.accuracy
        );
    }
    // Dogs differ (a curve measured on some describes others only so well): the curves must
    // still take a clear part of the raw shares' error away.
    assert!(e.ece <= e.raw_ece - 0.02 && e.ece <= 0.10, "{} against {}", e.ece, e.raw_ece);
    let likely: Vec<_> = e.reliability.iter().filter(|b| b.lo >= LIKELY_MIN_CONFIDENCE).collect();
    let (n, right) = likely.iter().fold((0, 0.0), |(n, r), b| (n + b.epochs, r + b.accuracy * f64::from(b.epochs)));
    assert!(n > 0 && right / f64::from(n) >= LIKELY_MIN_CONFIDENCE - 0.02, "{} of {n}", right / f64::from(n));
}
