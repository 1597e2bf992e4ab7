//! The `petty` binary: parse the command line, then hand over to [`cli::run`]. The application it
//! serves is composed by the library (`petty::router`).

mod backup;
mod cli;
mod config;
mod dataset;
mod demo;
mod eval;
mod homeassistant;
mod import;
mod logging;
mod mqtt;
mod progress;
mod query;
mod server;
mod simulate;
mod transfer;

/// mimalloc instead of glibc's malloc: a request makes dozens of short-lived allocations, and
/// glibc's free/malloc pair cost a quarter of a cached read's CPU (BENCHMARKS.md, run D).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::run()
}
