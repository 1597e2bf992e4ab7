//! The command line: `petty serve`, `petty migrate`, `petty config ...`, `petty simulate`,
//! `petty import`, `petty query`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, Overrides};
use crate::{backup, eval, import, query, simulate, transfer};
use crate::{logging, server};

#[derive(Parser)]
#[command(name = "petty", version, about = "Petty: a self-hosted home for a household's pets, people and air")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (migrates the database first).
    Serve(ServeArgs),
    /// Serve MCP (Model Context Protocol) on stdin and stdout for an assistant that starts
    /// Petty itself, acting with an API key (logs go to stderr).
    Mcp(McpArgs),
    /// Bring the database schema up to date, then exit.
    Migrate(CommonArgs),
    /// Show or generate configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Simulate collars and air monitors sending readings to a running Petty.
    Simulate(simulate::SimulateArgs),
    /// Import a device's readings from CSV or JSON-lines files into the database (again is
    /// harmless: readings already stored are counted as duplicates).
    Import(import::ImportArgs),
    /// Train the behaviour classifier on simulated labelled days and write the model file.
    Train(eval::TrainArgs),
    /// Measure the behaviour classifier on a simulated week of dogs not used in training, against
    /// what activity counts alone say about the same dogs.
    Eval(eval::EvalArgs),
    /// Write one archive of the embedded database (a consistent snapshot, while Petty runs),
    /// the stored files, the signing secret and the configuration file; or check one
    /// (`--verify`).
    Backup(backup::BackupArgs),
    /// Restore an archive `petty backup` wrote into a new or empty folder, after checking it.
    Restore(backup::RestoreArgs),
    /// Copy the embedded database into an empty PostgreSQL database, table by table, verified;
    /// run it again after an interruption to go on where it stopped. Stop `petty serve` first.
    Move(transfer::MoveArgs),
    /// Ask a household's pet catalog in plain words ("3 cheapest cats that are not black"):
    /// prints how it was understood and what it found.
    Query(query::QueryArgs),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print an annotated petty.toml with every setting at its default.
    Default,
    /// Print the configuration in effect (file, environment and flags merged), secrets hidden.
    Show(CommonArgs),
    /// Print a new random secret, suitable for PETTY_AUTH__JWT_SECRET.
    Secret,
}

/// Settings every command that touches the database shares.
#[derive(Args, Clone, Default)]
pub(crate) struct CommonArgs {
    /// Configuration file [default: ./petty.toml if present; env: PETTY_CONFIG]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Folder for the embedded database, its secret and files [default: ./petty-data]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Use PostgreSQL instead of the embedded SQLite: postgres://USER@HOST/DB
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Log as human-readable text or JSON lines.
    #[arg(long, value_name = "text|json")]
    pub log_format: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<String>,
    /// Make a demo household if it is not there yet (sign in as demo@petty.local with
    /// petty-demo-password): two dogs and a cat with collars and a fortnight of history, an air
    /// monitor, contacts and reminders; its devices keep sending ([demo] live_devices).
    #[arg(long)]
    demo: bool,
    /// Also take readings from this MQTT broker: mqtt://HOST:PORT
    #[arg(long, value_name = "URL")]
    mqtt_url: Option<String>,
    /// Fan live events out to other nodes through NATS: nats://HOST:PORT, or several servers
    /// of a cluster separated by commas
    #[arg(long, value_name = "URL")]
    nats_url: Option<String>,
}

#[derive(Args)]
struct McpArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The API key to act with (pk_...; a read key can only read)
    #[arg(long, value_name = "KEY", env = "PETTY_API_KEY", hide_env_values = true)]
    api_key: String,
}

impl CommonArgs {
    fn overrides(&self, listen: Option<String>, mqtt_url: Option<String>, nats_url: Option<String>) -> Overrides {
        Overrides {
            config_file: self.config.clone(),
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            log_format: self.log_format.clone(),
            listen,
            mqtt_url,
            nats_url,
        }
    }
}

pub(crate) fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Config(ConfigCommand::Default) => {
            print!("{}", config::ANNOTATED_DEFAULT);
            Ok(())
        }
        Command::Config(ConfigCommand::Secret) => {
            println!("{}", config::new_secret());
            Ok(())
        }
        Command::Config(ConfigCommand::Show(args)) => {
            config::load(&args.overrides(None, None, None)).and_then(|loaded| {
                for warning in &loaded.warnings {
                    eprintln!("warning: {warning}");
                }
                println!("{}", loaded.config.redacted_toml()?);
                Ok(())
            })
        }
        Command::Simulate(args) => simulate::run(args),
        Command::Train(args) => {
            let overrides = args.common.overrides(None, None, None);
            with_runtime(overrides, move |loaded| eval::train(loaded, args))
        }
        Command::Eval(args) => eval::eval(args),
        Command::Import(args) => {
            let overrides = args.common.overrides(None, None, None);
            with_runtime(overrides, move |loaded| import::run(loaded, args))
        }
        Command::Backup(args) => {
            let overrides = args.common.overrides(None, None, None);
            with_runtime(overrides, move |loaded| backup::run(loaded, args))
        }
        Command::Restore(args) => backup::restore(args),
        Command::Move(args) => {
            let overrides = args.common.overrides(None, None, None);
            with_runtime(overrides, move |loaded| transfer::run(loaded, args))
        }
        Command::Query(args) => {
            let overrides = args.common.overrides(None, None, None);
            with_runtime(overrides, move |loaded| query::run(loaded, args))
        }
        Command::Migrate(args) => with_runtime(args.overrides(None, None, None), server::migrate),
        Command::Serve(args) => {
            let demo = args.demo;
            with_runtime(args.common.overrides(args.listen, args.mqtt_url, args.nats_url), move |loaded| {
                server::serve(loaded, demo)
            })
        }
        Command::Mcp(args) => {
            let api_key = args.api_key;
            with_runtime(args.common.overrides(None, None, None), move |loaded| server::mcp(loaded, api_key))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Loads configuration, starts logging and a tokio runtime, and runs `f` on it.
fn with_runtime<F, Fut>(overrides: Overrides, f: F) -> anyhow::Result<()>
where
    F: FnOnce(config::Loaded) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let loaded = config::load(&overrides)?;
    logging::init(&loaded.config.log)?;
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(f(loaded))
}
