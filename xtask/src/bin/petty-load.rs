//! `petty-load`: the load generator for Petty's telemetry budgets (issue 3), driven by
//! `xtask/bench/telemetry.sh`. One current-thread tokio runtime, so it fits on the one core it is
//! pinned to (`taskset -c 1`) while the server runs on the other.
//!
//! Scenarios (each prepares its own account and devices through the public API):
//! - `ws-latency`: readings over `POST /api/v1/ingest` at a fixed rate (open loop) with a
//!   WebSocket subscriber on every device topic; ingest and reading → WebSocket latency.
//! - `soak`: the same engine at a fixed rate for longer, with the server's RSS sampled each second.
//! - `idle-ws`: many authenticated, subscribed, idle WebSockets; the server's RSS per connection.
//! - `mqtt`: readings published to a broker as fast as it takes them; the rate at which Petty
//!   stores them (or, with `--relay-only`, the rate at which the broker relays them to a plain
//!   subscriber).
//! - `alarm-latency`: readings that break a rule, among background readings; reading →
//!   alarm on `household:{id}:alarms` (issue 5).
//!
//! Every scenario prints a human report and one `RESULT key=value ...` line for scripts.

#[path = "petty_load/alarm.rs"]
mod alarm;
#[path = "petty_load/http.rs"]
mod http;
#[path = "petty_load/idle.rs"]
mod idle;
#[path = "petty_load/mqtt.rs"]
mod mqtt;
#[path = "petty_load/report.rs"]
mod report;
#[path = "petty_load/stream.rs"]
mod stream;
#[path = "petty_load/ws.rs"]
mod ws;

use std::net::SocketAddr;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "petty-load", about = "Load generator for Petty's ingest, WebSocket and MQTT budgets")]
struct Cli {
    /// Petty's HTTP address.
    #[arg(long, default_value = "127.0.0.1:8080", global = true)]
    addr: SocketAddr,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Reading → WebSocket latency: readings at a fixed rate, one subscriber per device topic.
    WsLatency(stream::Args),
    /// Fixed-rate soak: like ws-latency with soak defaults (2,315 readings/s, 100 devices, 60 s).
    Soak(stream::SoakArgs),
    /// Idle authenticated WebSockets: the server's RSS per connection.
    IdleWs(idle::Args),
    /// MQTT ingest: publish readings as fast as the broker takes them; Petty's storing rate.
    Mqtt(mqtt::Args),
    /// Reading → alarm on `household:{id}:alarms`, under background readings.
    AlarmLatency(alarm::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.scenario {
            Scenario::WsLatency(args) => stream::run(cli.addr, args, "ws-latency").await,
            Scenario::Soak(args) => stream::run(cli.addr, args.into(), "soak").await,
            Scenario::IdleWs(args) => idle::run(cli.addr, args).await,
            Scenario::Mqtt(args) => mqtt::run(cli.addr, args).await,
            Scenario::AlarmLatency(args) => alarm::run(cli.addr, args).await,
        }
    })
}
