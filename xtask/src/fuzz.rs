//! `cargo xtask fuzz [--secs N] [TARGET...]`: runs the `cargo fuzz` targets in `fuzz/` (every
//! decoder of outside input) for N seconds each (default 60), from the corpus kept in the
//! repository, without a sanitizer (so the stable toolchain builds them). Needs `cargo fuzz`
//! (`cargo install cargo-fuzz --locked`). A crash leaves its input in `fuzz/artifacts/`.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

/// The targets, as `fuzz/Cargo.toml` lists them.
const TARGETS: &[&str] = &[
    "ingest_json",
    "import_lines",
    "collar_payload",
    "live_messages",
    "carbon_query",
    "petmgmt_body",
    "aurora_body",
    "care_text",
];

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let mut secs = 60u32;
    let mut chosen = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--secs" => secs = it.next().context("--secs needs a number")?.parse().context("--secs needs a number")?,
            "--help" | "-h" => {
                println!("usage: cargo xtask fuzz [--secs N] [TARGET...]; targets: {}", TARGETS.join(", "));
                return Ok(());
            }
            t if TARGETS.contains(&t) => chosen.push(t.to_owned()),
            other => bail!("unknown target or option {other:?}; targets: {}", TARGETS.join(", ")),
        }
    }
    if chosen.is_empty() {
        chosen = TARGETS.iter().map(|t| (*t).to_owned()).collect();
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("the repository root")?;
    let fuzz = root.join("fuzz");
    let target_dir = std::env::var("PETTY_FUZZ_TARGET_DIR")
        .unwrap_or_else(|_| format!("{}/.cache/petty-fuzz-target", std::env::var("HOME").unwrap_or_default()));
    for target in &chosen {
        println!("fuzzing {target} for {secs} s");
        // New inputs go to a working corpus outside the repository; the seeds are read only.
        let seeds = fuzz.join("corpus").join(target);
        let work = Path::new(&target_dir).join("corpus").join(target);
        std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
        let status = Command::new("cargo")
            .current_dir(&fuzz)
            .args(["fuzz", "run", "--sanitizer", "none", "--target-dir", &target_dir, target])
            .arg(&work)
            .arg(&seeds)
            .args(["--", &format!("-max_total_time={secs}"), "-max_len=65536"])
            .status()
            .context("running `cargo fuzz` (install it with `cargo install cargo-fuzz --locked`)")?;
        if !status.success() {
            bail!("{target} found a crash; its input is in fuzz/artifacts/{target}/");
        }
    }
    Ok(())
}
