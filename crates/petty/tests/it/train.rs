//! `petty train --store`: a model trained from simulated dogs is written to its file and stored
//! in the database as the active model, which `petty serve` then labels with.

use super::{petty, temp_dir};

#[tokio::test]
async fn a_trained_model_is_stored_as_the_active_one() {
    let dir = temp_dir("train");
    let out = petty(&dir)
        .args([
            "train",
            "--days",
            "1",
            "--dogs",
            "2",
            "--trees",
            "3",
            "--store",
            "--with-feedback",
            "--out",
            "model.txt",
        ])
        .output()
        .expect("run petty train");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(dir.join("model.txt")).expect("the model file");
    let model = petty_core::behaviour::Forest::from_text(&text).expect("a model that reads back");
    assert!(stdout.contains(&format!("stored {}", model.version())), "{stdout}");
    assert_ne!(model.version(), petty_core::behaviour::Forest::builtin().version(), "a model of its own");

    let store = petty_store::Store::open_sqlite(&dir.join("petty-data").join("petty.db")).await.expect("open");
    let (version, stored) = store.active_behaviour_model().await.expect("read").expect("an active model");
    assert_eq!((version.as_str(), stored.as_str()), (model.version(), text.as_str()));
    store.close().await;
}

/// `petty eval --json` on dogs the built-in model never saw: an accuracy in the range published
/// studies of real collars report, the activity-counts baseline clearly lower on the same
/// dogs, and the calibration error of the confidence shown beside the raw vote shares'.
#[test]
fn petty_eval_reports_held_out_dogs_against_the_baseline_with_its_calibration() {
    let dir = temp_dir("eval");
    let out = petty(&dir).args(["eval", "--dogs", "4", "--seed", "4242", "--json"]).output().expect("run petty eval");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let accuracy = report["accuracy"].as_f64().unwrap();
    assert!((0.70..=0.95).contains(&accuracy), "{report}");
    let baseline = report["baseline"]["accuracy"].as_f64().unwrap();
    assert!(accuracy - baseline >= 0.15, "{accuracy} against the baseline's {baseline}");
    let (ece, raw) = (
        report["expected_calibration_error"].as_f64().unwrap(),
        report["raw_expected_calibration_error"].as_f64().unwrap(),
    );
    assert!(ece < raw, "the confidence shown ({ece}) is closer to the truth than the raw shares ({raw})");
    assert_eq!(report["labels"].as_array().unwrap().len(), 10);
    assert!(report["reliability"].as_array().unwrap().iter().all(|b| b["accuracy"].is_number()));
    // Where it errs, commonest first, each mistake a share of its true label's epochs.
    let confusions = report["confusions"].as_array().unwrap();
    assert!(!confusions.is_empty() && confusions.len() <= 8, "{report}");
    let epochs: Vec<u64> = confusions.iter().map(|c| c["epochs"].as_u64().unwrap()).collect();
    assert!(epochs.windows(2).all(|w| w[0] >= w[1]), "{epochs:?}");
    assert!(confusions.iter().all(|c| c["truth"] != c["said"] && c["share_of_truth"].as_f64().unwrap() <= 1.0));
}

/// `petty eval anomalies --json`: recall per injected kind and strength, and false alarms per
/// dog-week on normal weeks.
#[test]
fn petty_eval_anomalies_reports_recall_and_false_alarms() {
    let dir = temp_dir("eval-anomalies");
    let out = petty(&dir).args(["eval", "anomalies", "--dogs", "1", "--json"]).output().expect("run petty eval");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let kinds = report["kinds"].as_array().unwrap();
    assert_eq!(kinds.len(), 13, "five kinds, four of them at three strengths: {report}");
    for k in kinds.iter().filter(|k| k["strength"] == 1.0) {
        assert_eq!(k["recall"], 1.0, "found at full strength: {k}");
    }
    assert_eq!(report["normal_dog_weeks"], 2);
    assert!(report["false_alarms_per_dog_week"].as_f64().unwrap() <= 1.0, "{report}");
}
