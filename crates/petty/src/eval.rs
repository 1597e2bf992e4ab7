//! `petty train` and `petty eval`: the behaviour classifier, trained and measured on simulated
//! labelled days (`petty_sim::labelled`).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use petty_core::behaviour::features::FEATURE_COUNT;
use petty_core::behaviour::{Behaviour, Forest, TrainParams};
use petty_store::FeedbackVerdict;

use crate::cli::CommonArgs;
use crate::config::Loaded;
use crate::server;
use petty_core::behaviour::{Confidence, Sample};
use petty_sim::labelled::{
    CountsBaseline, Evaluation, Judged, dog_days_to_train, epoch_rows, evaluate, evaluate_baseline, leave_one_dog_out,
    train_model_reporting, training_rows,
};

/// 2026-11-02T00:00:00Z: the simulated days start at a local midnight.
const START_MS: i64 = 1_793_577_600_000;

#[derive(Args)]
pub(crate) struct TrainArgs {
    /// Days of each simulated dog.
    #[arg(long, default_value_t = 7)]
    days: u32,
    /// How many simulated dogs (each reporting every 15 s to 5 minutes, by its seed).
    #[arg(long, default_value_t = 18)]
    dogs: u32,
    /// The same seed gives the same dogs and the same model.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of trees.
    #[arg(long, default_value_t = TrainParams::default().trees)]
    trees: usize,
    /// Where to write the model.
    #[arg(long, value_name = "FILE", default_value = "crates/petty-core/models/behaviour-forest.txt")]
    out: PathBuf,
    /// Also learn from owners' confirmed and relabelled episodes in the database (up to the
    /// newest 10,000).
    #[arg(long)]
    with_feedback: bool,
    /// Store the model in the database and make it the one the analysis uses (every node
    /// picks it up at its next start).
    #[arg(long)]
    store: bool,
    #[command(flatten)]
    dataset: DatasetArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args)]
pub(crate) struct EvalArgs {
    /// What to measure instead of the behaviour classifier.
    #[command(subcommand)]
    what: Option<EvalWhat>,
    /// Days of each simulated dog.
    #[arg(long, default_value_t = 7)]
    days: u32,
    /// How many simulated dogs.
    #[arg(long, default_value_t = 3)]
    dogs: u32,
    /// Seed of the dogs (use one not used for training).
    #[arg(long, default_value_t = 99)]
    seed: u64,
    /// Seconds between readings.
    #[arg(long, default_value_t = 60)]
    interval: u32,
    /// A model file [default: the built-in model]
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    dataset: DatasetArgs,
}

/// Real labelled data instead of simulated dogs.
#[derive(Args)]
pub(crate) struct DatasetArgs {
    /// Learn from (train) or measure on (eval, one dog left out at a time) the public "Movement
    /// Sensor Dataset for Dog Behavior Classification" (Vehkaoja et al. 2022): its
    /// DogMoveData.csv, of which the collar's accelerometer is read.
    #[arg(long, value_name = "DogMoveData.csv")]
    dataset: Option<PathBuf>,
    /// Seconds between the readings cut from the dataset's 100 Hz stream.
    #[arg(long, default_value_t = 10.0, requires = "dataset")]
    every: f64,
    /// Seconds of accelerometer each reading carries.
    #[arg(long, default_value_t = 2.0, requires = "dataset")]
    window: f64,
}

impl DatasetArgs {
    /// The dataset's dogs, if one was given, read with a line of what was read on stderr.
    fn read(&self) -> anyhow::Result<Option<Vec<crate::dataset::Dog>>> {
        let Some(path) = &self.dataset else { return Ok(None) };
        let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let cut = crate::dataset::Cut { every_s: self.every, window_s: self.window };
        let data = crate::dataset::read(std::io::BufReader::new(file), cut)
            .with_context(|| format!("reading {}", path.display()))?;
        let readings: usize = data.dogs.iter().map(|(_, r)| r.len()).sum();
        eprintln!(
            "{}: {} rows, {} dogs, {readings} labelled readings ({} windows unlabelled, {} rows unreadable)",
            path.display(),
            data.rows,
            data.dogs.len(),
            data.unlabelled_windows,
            data.bad_rows
        );
        anyhow::ensure!(data.dogs.len() >= 2, "{} holds fewer than two dogs with labelled readings", path.display());
        Ok(Some(data.dogs))
    }
}

/// One dog left out at a time over the dataset's dogs.
fn dataset_evaluation(
    dogs: &[crate::dataset::Dog],
    params: &TrainParams,
    seed: u64,
) -> anyhow::Result<(Evaluation, Vec<Judged>)> {
    let readings: Vec<&[(Sample, Behaviour)]> = dogs.iter().map(|(_, r)| r.as_slice()).collect();
    Ok(leave_one_dog_out(&readings, params, seed)?)
}

#[derive(Subcommand)]
pub(crate) enum EvalWhat {
    /// Measure the life log's energy and mood predictions on simulated people: the learned
    /// models against the contract's baseline, on people the population model never saw and per
    /// person on their newest days. Fails if the seed's targets (energy MAE < 1.0, mood accuracy
    /// > 0.70 on unseen people) are not met.
    Lifelog(LifelogEvalArgs),
    /// Measure the anomaly detector: each kind (fever-like heart rate at rest, lethargy, a
    /// restless night, excessive scratching) injected into simulated weeks and looked for on its
    /// day, with the built-in model, and the false alarms on weeks with nothing injected.
    Anomalies(AnomalyEvalArgs),
}

#[derive(Args)]
pub(crate) struct AnomalyEvalArgs {
    /// How many simulated dogs (each gives one injected day per kind and two normal weeks).
    #[arg(long, default_value_t = 12)]
    dogs: u32,
    /// Seed of the dogs.
    #[arg(long, default_value_t = 19)]
    seed: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn eval_anomalies(args: &AnomalyEvalArgs) -> anyhow::Result<()> {
    let report = petty_sim::anomaly_eval(Forest::builtin(), args.dogs, args.seed);
    if args.json {
        let kinds: Vec<serde_json::Value> = report
            .kinds
            .iter()
            .map(|k| {
                serde_json::json!({"injected": k.injected, "strength": k.severity, "kinds": k.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>(), "days": k.days,
                "found": k.found, "recall": k.recall()})
            })
            .collect();
        let false_alarms: serde_json::Map<String, serde_json::Value> =
            report.false_alarms.iter().map(|(k, n)| (k.as_str().to_owned(), serde_json::json!(n))).collect();
        println!(
            "{}",
            serde_json::json!({"dogs": report.dogs, "kinds": kinds, "normal_dog_weeks": report.normal_dog_weeks,
                "false_alarms": false_alarms, "false_alarms_per_dog_week": report.false_alarms_per_dog_week()})
        );
    } else {
        print!("{report}");
    }
    Ok(())
}

#[derive(Args)]
pub(crate) struct LifelogEvalArgs {
    /// How many simulated people (70% train the population model, 30% are held out).
    #[arg(long, default_value_t = 40)]
    people: u32,
    /// Days of each person's life.
    #[arg(long, default_value_t = 120)]
    days: u32,
    /// Seed of the people.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

fn eval_lifelog(args: &LifelogEvalArgs) -> anyhow::Result<()> {
    let report = petty_sim::lifelog_eval(args.people, args.days, args.seed);
    println!("{report}");
    anyhow::ensure!(report.meets_targets(), "the seed's targets are not met on people the model never saw");
    Ok(())
}

/// Owners' confirmed or relabelled episodes as training rows (an episode's mean features,
/// counted once per minute it lasted, up to 10); "wrong" without a label teaches nothing.
fn feedback_rows(items: &[petty_store::EpisodeFeedback]) -> Vec<([f64; FEATURE_COUNT], Behaviour)> {
    let mut rows = Vec::new();
    for f in items {
        let truth = match (f.verdict, f.label) {
            (FeedbackVerdict::Confirmed, _) => f.said,
            (FeedbackVerdict::Relabelled, Some(label)) => label,
            _ => continue,
        };
        let Some(features) = f.features.as_deref().and_then(|v| <[f64; FEATURE_COUNT]>::try_from(v).ok()) else {
            continue;
        };
        let minutes = ((f.end_ms - f.start_ms) / 60_000).clamp(1, 10);
        rows.extend(std::iter::repeat_n((features, truth), minutes as usize));
    }
    rows
}

pub(crate) async fn train(loaded: Loaded, args: TrainArgs) -> anyhow::Result<()> {
    let began = std::time::Instant::now();
    let store = if args.store || args.with_feedback { Some(server::open_store(&loaded).await?) } else { None };
    let mut trained_on = format!("{} simulated dogs × {} days (seed {})", args.dogs, args.days, args.seed);
    let mut extra = Vec::new();
    if let (Some(store), true) = (&store, args.with_feedback) {
        let items = store.feedback_for_training(10_000).await?;
        extra = feedback_rows(&items);
        eprintln!("{} rows from {} owners' judgements", extra.len(), items.len());
        trained_on.push_str(&format!(" and {} owners' judgements", items.len()));
    }
    let params = TrainParams { trees: args.trees, ..TrainParams::default() };
    let forest = match args.dataset.read()? {
        // Real dogs: measured one left out at a time, then trained on all of them, with
        // confidence curves fitted to how the left-out dogs' labels fared.
        Some(dogs) => {
            let (evaluation, judged) = dataset_evaluation(&dogs, &params, args.seed)?;
            eprint!("{}", table("each dog labelled by a model of the others", &evaluation));
            let mut rows: Vec<([f64; FEATURE_COUNT], Behaviour)> =
                dogs.iter().flat_map(|(_, r)| epoch_rows(r)).collect();
            rows.extend(extra);
            let name = args.dataset.dataset.as_deref().map(|p| p.display().to_string()).unwrap_or_default();
            trained_on = format!("{} dogs of {name}", dogs.len());
            Forest::train(&rows, &params, args.seed)?.with_confidence(Confidence::fit(&judged))
        }
        // Trained, then its vote shares measured on other simulated dogs (what "likely" means).
        None => {
            let total = dog_days_to_train(args.dogs, args.days);
            let bar = crate::progress::count(total, "simulating and training", "dog-days");
            let done = |days: u64| bar.inc(days);
            let forest = train_model_reporting(args.seed, (args.dogs, args.days), START_MS, &params, extra, &done)?;
            bar.finish_and_clear();
            forest
        }
    };
    let text = forest.to_text();
    if let Some(store) = &store {
        if args.store {
            store
                .save_behaviour_model(forest.version(), &text, &trained_on, true, time::OffsetDateTime::now_utc())
                .await?;
            println!("stored {} as the active model (restart Petty to use it)", forest.version());
        }
        store.close().await;
    }
    std::fs::write(&args.out, &text).with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "wrote {} ({} KB, {}) in {:.1} s",
        args.out.display(),
        text.len() / 1024,
        forest.version(),
        began.elapsed().as_secs_f64()
    );
    Ok(())
}

pub(crate) fn eval(args: EvalArgs) -> anyhow::Result<()> {
    match &args.what {
        Some(EvalWhat::Lifelog(lifelog)) => return eval_lifelog(lifelog),
        Some(EvalWhat::Anomalies(anomalies)) => return eval_anomalies(anomalies),
        None => {}
    }
    if let Some(dogs) = args.dataset.read()? {
        let (result, _) = dataset_evaluation(&dogs, &TrainParams::default(), args.seed)?;
        if args.json {
            println!("{}", to_json("each dog labelled by a model of the others", &result));
        } else {
            print!("{}", table("each dog labelled by a model of the others", &result));
        }
        return Ok(());
    }
    let loaded;
    let model = match &args.model {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            loaded = Forest::from_text(&text).with_context(|| format!("reading the model in {}", path.display()))?;
            &loaded
        }
        None => Forest::builtin(),
    };
    let interval_ms = i64::from(args.interval.max(1)) * 1000;
    let result = evaluate(model, args.seed, args.dogs, START_MS, args.days, interval_ms);
    // What activity counts alone say about the same dogs, fitted on dogs of the built-in
    // model's training seed.
    let baseline = CountsBaseline::fit(&training_rows(1, 4, START_MS, 7));
    let base = evaluate_baseline(&baseline, args.seed, args.dogs, START_MS, args.days, interval_ms);
    if args.json {
        let mut out = to_json(model.version(), &result);
        out["baseline"] = serde_json::json!({
            "name": "activity counts (nearest typical counts per minute)",
            "accuracy": base.accuracy,
            "macro_f1": base.macro_f1(),
            "labels": base.labels.iter().map(|l| serde_json::json!({"label": l.label.as_str(), "f1": l.f1(),
                "precision": l.precision, "recall": l.recall})).collect::<Vec<_>>(),
        });
        println!("{out}");
    } else {
        print!("{}", table(model.version(), &result));
        println!("\nagainst the baseline (activity counts alone) on the same dogs");
        println!("{:<12} {:>8} {:>11} {:>7}", "label", "model F1", "baseline F1", "margin");
        for (m, b) in result.labels.iter().zip(&base.labels) {
            println!("{:<12} {:>8.3} {:>11.3} {:>+7.3}", m.label.as_str(), m.f1(), b.f1(), m.f1() - b.f1());
        }
        println!(
            "{:<12} {:>8.3} {:>11.3} {:>+7.3}\n{:<12} {:>8.3} {:>11.3} {:>+7.3}",
            "macro F1",
            result.macro_f1(),
            base.macro_f1(),
            result.macro_f1() - base.macro_f1(),
            "accuracy",
            result.accuracy,
            base.accuracy,
            result.accuracy - base.accuracy
        );
    }
    Ok(())
}

fn to_json(version: &str, e: &Evaluation) -> serde_json::Value {
    let labels: Vec<serde_json::Value> = e
        .labels
        .iter()
        .map(|l| {
            serde_json::json!({
                "label": l.label.as_str(),
                "f1": l.f1(),
                "precision": l.precision,
                "recall": l.recall,
                "support": l.support,
                "predicted": l.predicted,
            })
        })
        .collect();
    let reliability: Vec<serde_json::Value> = e
        .reliability
        .iter()
        .map(|b| {
            serde_json::json!({"from": b.lo, "to": b.hi, "epochs": b.epochs,
                "mean_confidence": b.mean_confidence, "accuracy": b.accuracy})
        })
        .collect();
    let confusions: Vec<serde_json::Value> = commonest_confusions(e)
        .iter()
        .map(|(truth, said, epochs, share)| {
            serde_json::json!({"truth": truth.as_str(), "said": said.as_str(), "epochs": epochs, "share_of_truth": share})
        })
        .collect();
    serde_json::json!({"model": version, "epochs": e.epochs, "accuracy": e.accuracy, "macro_f1": e.macro_f1(), "labels": labels,
        "confusions": confusions, "reliability": reliability, "expected_calibration_error": e.ece,
        "raw_expected_calibration_error": e.raw_ece})
}

/// How many of the commonest mistakes a report lists.
const CONFUSIONS_SHOWN: usize = 8;

/// The commonest mistakes, most epochs first: `(truth, said, epochs, share of the truth's
/// epochs)`, so a reader sees where the model errs (real collars confuse lying with sitting,
/// sniffing with walking, eating with drinking).
fn commonest_confusions(e: &Evaluation) -> Vec<(Behaviour, Behaviour, u32, f64)> {
    let mut cells = Vec::new();
    for truth in Behaviour::ALL {
        let row = &e.confusion[truth.index()];
        let support: u32 = row.iter().sum();
        for said in Behaviour::ALL.into_iter().filter(|b| *b != truth) {
            let n = row[said.index()];
            if n > 0 {
                cells.push((truth, said, n, f64::from(n) / f64::from(support)));
            }
        }
    }
    cells.sort_by_key(|c| std::cmp::Reverse(c.2));
    cells.truncate(CONFUSIONS_SHOWN);
    cells
}

fn table(version: &str, e: &Evaluation) -> String {
    let mut s = format!("model {version}, {} epochs\n", e.epochs);
    s.push_str(&format!("{:<12} {:>9} {:>7} {:>8}\n", "label", "precision", "recall", "support"));
    for l in &e.labels {
        s.push_str(&format!("{:<12} {:>9.3} {:>7.3} {:>8}\n", l.label.as_str(), l.precision, l.recall, l.support));
    }
    s.push_str(&format!("accuracy {:.3}\n", e.accuracy));
    s.push_str("\ncommonest mistakes (truth, said instead, epochs, share of the truth's epochs)\n");
    for (truth, said, n, share) in commonest_confusions(e) {
        s.push_str(&format!("{:<12} {:<12} {:>7} {:>6.1}%\n", truth.as_str(), said.as_str(), n, 100.0 * share));
    }
    // Whether the confidence shown means what it says: the dashboard words it ("likely" from
    // 0.8) and shows no number it has not measured.
    s.push_str(
        "\nreliability (an episode's confidence, through the model's curve, against how often its label was right)\n",
    );
    s.push_str(&format!("{:<12} {:>8} {:>10} {:>9}\n", "confidence", "epochs", "mean", "accuracy"));
    for b in &e.reliability {
        let range = format!("{:.2}-{:.2}", b.lo, b.hi);
        s.push_str(&format!("{range:<12} {:>8} {:>10.3} {:>9.3}\n", b.epochs, b.mean_confidence, b.accuracy));
    }
    s.push_str(&format!(
        "expected calibration error {:.3} (of the raw vote shares, before the model's confidence curve: {:.3})\n",
        e.ece, e.raw_ece
    ));
    s
}

#[cfg(test)]
mod feedback_tests {
    use petty_core::ids::PetId;
    use petty_store::EpisodeFeedback;

    use super::*;

    fn judged(said: Behaviour, verdict: FeedbackVerdict, label: Option<Behaviour>, minutes: i64) -> EpisodeFeedback {
        EpisodeFeedback {
            id: uuid::Uuid::nil(),
            pet_id: PetId(uuid::Uuid::nil()),
            episode_id: uuid::Uuid::nil(),
            start_ms: 0,
            end_ms: minutes * 60_000,
            said,
            verdict,
            label,
            note: None,
            features: Some(vec![1.0; FEATURE_COUNT]),
            user_id: None,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn owners_judgements_become_rows_of_the_true_label() {
        let rows = feedback_rows(&[
            judged(Behaviour::Walking, FeedbackVerdict::Confirmed, None, 3),
            judged(Behaviour::Walking, FeedbackVerdict::Relabelled, Some(Behaviour::Running), 30),
            judged(Behaviour::Eating, FeedbackVerdict::Wrong, None, 5),
        ]);
        let count = |b| rows.iter().filter(|(_, l)| *l == b).count();
        assert_eq!((count(Behaviour::Walking), count(Behaviour::Running), count(Behaviour::Eating)), (3, 10, 0));
    }
}
