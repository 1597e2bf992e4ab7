//! `petty train` and `petty eval`: the behaviour classifier, trained and measured on simulated
//! labelled days (`petty_sim::labelled`).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use petty_core::behaviour::{Forest, TrainParams};
use petty_sim::labelled::{Evaluation, evaluate, training_rows};

/// 2026-11-02T00:00:00Z: the simulated days start at a local midnight.
const START_MS: i64 = 1_793_577_600_000;

#[derive(Args)]
pub struct TrainArgs {
    /// Days of each simulated dog.
    #[arg(long, default_value_t = 14)]
    days: u32,
    /// How many simulated dogs.
    #[arg(long, default_value_t = 6)]
    dogs: u32,
    /// The same seed gives the same dogs and the same model.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of trees.
    #[arg(long, default_value_t = 20)]
    trees: usize,
    /// Where to write the model.
    #[arg(long, value_name = "FILE", default_value = "crates/petty-core/models/behaviour-forest.txt")]
    out: PathBuf,
}

#[derive(Args)]
pub struct EvalArgs {
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
}

pub fn train(args: TrainArgs) -> anyhow::Result<()> {
    let began = std::time::Instant::now();
    let rows = training_rows(args.seed, args.dogs, START_MS, args.days);
    eprintln!("{} epochs from {} dogs in {:.1} s", rows.len(), args.dogs, began.elapsed().as_secs_f64());
    let params = TrainParams { trees: args.trees, ..TrainParams::default() };
    let forest = Forest::train(&rows, &params, args.seed)?;
    let text = forest.to_text();
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

pub fn eval(args: EvalArgs) -> anyhow::Result<()> {
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
    if args.json {
        println!("{}", to_json(model.version(), &result));
    } else {
        print!("{}", table(model.version(), &result));
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
                "precision": l.precision,
                "recall": l.recall,
                "support": l.support,
                "predicted": l.predicted,
            })
        })
        .collect();
    serde_json::json!({"model": version, "epochs": e.epochs, "accuracy": e.accuracy, "labels": labels})
}

fn table(version: &str, e: &Evaluation) -> String {
    let mut s = format!("model {version}, {} epochs\n", e.epochs);
    s.push_str(&format!("{:<12} {:>9} {:>7} {:>8}\n", "label", "precision", "recall", "support"));
    for l in &e.labels {
        s.push_str(&format!("{:<12} {:>9.3} {:>7.3} {:>8}\n", l.label.as_str(), l.precision, l.recall, l.support));
    }
    s.push_str(&format!("accuracy {:.3}\n", e.accuracy));
    s
}
