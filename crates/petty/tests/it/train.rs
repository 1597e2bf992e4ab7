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
