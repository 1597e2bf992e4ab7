//! The `petty` binary: parse the command line, then hand over to [`cli::run`].

mod cli;
mod config;
mod demo;
mod logging;
mod server;

fn main() -> std::process::ExitCode {
    cli::run()
}
