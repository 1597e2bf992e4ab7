//! `cargo xtask`: project chores in Rust instead of shell scripts.
//!
//! - `cargo xtask bench ...`: the benchmarks recorded in BENCHMARKS.md (see `bench.rs`).
//! - `cargo xtask fuzz [--secs N] [TARGET...]`: the fuzz targets in `fuzz/` (see `fuzz.rs`).
//!
//! The tidy checks (codemap, dependency rules) run as this crate's tests under `cargo test`.

mod bench;
mod fuzz;
#[cfg(test)]
mod tidy;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") => bench::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask bench [--help] | cargo xtask fuzz [--secs N] [TARGET...]");
            std::process::exit(2);
        }
    }
}
