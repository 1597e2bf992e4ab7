//! `petty import`: backfill a device's readings from CSV or JSON-lines files straight into the
//! configured database, with the rules and the counting of `POST /api/v1/import`
//! (`petty_http::import`) and `App::ingest`, the one way readings enter Petty: the work they
//! leave for the alarm rules and the analysis is noted in the database with them, so a
//! `petty serve` running on the same database judges and analyses them within seconds.
//!
//! Each file is read on a thread of its own, one line at a time, and handed over in chunks of
//! [`CHUNK`] readings, so memory stays flat however large the file. Importing is idempotent: a
//! reading already stored (same device, time and sequence number) is a duplicate, so a file can
//! be imported again after an interruption. On SQLite it may run while `petty serve` uses the
//! same file: both write through SQLite's locking (WAL), the server's readers see the new
//! readings at once. With `nats.url` set (as for the servers), the readings are also published
//! live through NATS, so WebSockets on every `petty serve` receive them as they are stored.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use indicatif::ProgressBar;
use petty_app::App;
use petty_core::ids::{DeviceId, HouseholdId};
use petty_core::readings::Reading;
use petty_http::import::{CHUNK, Format, ImportError, ImportOut, ImportReader};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::cli::CommonArgs;
use crate::config::Loaded;
use crate::server;

/// Rejected lines printed per file (all are counted).
const SHOWN_REJECTIONS: usize = 20;

#[derive(Args)]
pub(crate) struct ImportArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// CSV or JSON-lines files of readings, as `GET /api/v1/devices/{id}/export` writes them
    /// (or `petty simulate --out`).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The device the readings belong to (its id, as in the address of its dashboard page).
    #[arg(long, value_name = "UUID")]
    device: Uuid,
    /// The household the device belongs to (`membership.household_id` when signing in to the
    /// API).
    #[arg(long, value_name = "UUID")]
    household: Uuid,
    /// csv or jsonl [default: from each file's extension: .csv, .jsonl or .ndjson]
    #[arg(long, value_name = "csv|jsonl", value_parser = ["csv", "jsonl"])]
    format: Option<String>,
}

/// What the reading thread hands over: readings to store and lines rejected, in file order.
enum Piece {
    Chunk {
        readings: Vec<Reading>,
        rejected: Vec<ImportError>,
    },
    /// The file stopped being readable; nothing after this comes.
    Failed(String),
}

/// `petty import`.
pub(crate) async fn run(loaded: Loaded, args: ImportArgs) -> anyhow::Result<()> {
    let forced = args.format.as_deref().and_then(Format::from_name);
    // Every file's format is known before anything is stored.
    let mut files = Vec::with_capacity(args.files.len());
    for path in &args.files {
        let format = forced.or_else(|| Format::from_path(path)).with_context(|| {
            format!(
                "cannot tell the format of {} from its name: use .csv, .jsonl or --format csv|jsonl",
                path.display()
            )
        })?;
        files.push((path.clone(), format));
    }
    let config = &loaded.config;
    if config.database_url.is_none() {
        let file = config.data_dir.join("petty.db");
        if !file.exists() {
            bail!("there is no Petty database at {} (check --data-dir or --database-url)", file.display());
        }
    }
    let store = server::open_store(&loaded).await?;
    // With NATS, the readings reach the WebSockets of every `petty serve` live, as from any other
    // source; without it, no other process can hear them (they are still judged and analysed).
    let bus = match &config.nats.url {
        Some(url) => petty_bus::Bus::nats(url).await.unwrap_or_else(|e| {
            tracing::warn!("{e}; the readings are stored but not shown live");
            petty_bus::Bus::local()
        }),
        None => petty_bus::Bus::local(),
    };
    // Nothing here signs acknowledgement links or sends a notification.
    let app = petty_app::App::new(store.clone(), bus, petty_app::Settings::default(), b"");
    let result = import_files(&app, &args, &files).await;
    app.bus.leave().await;
    store.close().await;
    result
}

async fn import_files(app: &App, args: &ImportArgs, files: &[(PathBuf, Format)]) -> anyhow::Result<()> {
    let (household_id, device_id) = (HouseholdId(args.household), DeviceId(args.device));
    let store = &app.store;
    if !store.device_in_household(household_id, device_id).await.context("could not look the device up")? {
        bail!("there is no device {} in household {}", args.device, args.household);
    }
    let now = OffsetDateTime::now_utc();
    let mut total = ImportOut::default();
    let mut failed = Vec::new();
    for (path, format) in files {
        let (out, failure) = import_file(app, household_id, device_id, path, *format, now).await?;
        print_report(&path.display().to_string(), &out);
        if let Some(why) = failure {
            println!("  stopped: {why}");
            failed.push(format!("{}: {why}", path.display()));
        }
        total.add(&out);
    }
    if files.len() > 1 {
        println!("total: {} accepted, {} duplicates, {} rejected", total.accepted, total.duplicates, total.rejected);
    }
    if !failed.is_empty() {
        bail!(
            "{} could not be read to the end (what was read is stored; importing again stores nothing twice):\n  {}",
            if failed.len() == 1 { "a file" } else { "some files" },
            failed.join("\n  ")
        );
    }
    Ok(())
}

/// Imports one file: its counts, and why it stopped early if it did. An error is a failure of
/// the database, which ends the whole import.
async fn import_file(
    app: &App,
    household_id: HouseholdId,
    device_id: DeviceId,
    path: &Path,
    format: Format,
    now: OffsetDateTime,
) -> anyhow::Result<(ImportOut, Option<String>)> {
    // Two chunks in flight: one being stored while the next is read.
    let (tx, mut rx) = mpsc::channel(2);
    let reader_path = path.to_owned();
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    let bar = crate::progress::bytes(size, &path.display().to_string(), false);
    let shown = bar.clone();
    let reading = tokio::task::spawn_blocking(move || read_file(&reader_path, format, now, &tx, &shown));
    let mut out = ImportOut::default();
    let mut failure = None;
    while let Some(piece) = rx.recv().await {
        match piece {
            Piece::Chunk { readings, rejected } => {
                for error in rejected {
                    out.reject(error);
                }
                let outcomes = app
                    .ingest(petty_app::Sender { household_id, device_id }, readings)
                    .await
                    .with_context(|| format!("could not store the readings of {}", path.display()))?;
                out.count(&outcomes);
            }
            Piece::Failed(why) => failure = Some(why),
        }
    }
    reading.await.context("the file reader stopped unexpectedly")?;
    bar.finish_and_clear();
    Ok((out, failure))
}

/// Reads `path` line by line and sends it on in chunks; runs on a blocking thread.
fn read_file(path: &Path, format: Format, now: OffsetDateTime, tx: &mpsc::Sender<Piece>, bar: &ProgressBar) {
    let send = |piece: Piece| tx.blocking_send(piece).is_ok();
    let file = match File::open(path) {
        Ok(file) => bar.wrap_read(file),
        Err(e) => {
            send(Piece::Failed(format!("could not open it: {e}")));
            return;
        }
    };
    let mut lines = match ImportReader::new(file, format, now) {
        Ok(lines) => lines,
        Err(e) => {
            send(Piece::Failed(e.message));
            return;
        }
    };
    let mut readings = Vec::with_capacity(CHUNK);
    let mut rejected = Vec::new();
    loop {
        match lines.next_item() {
            Ok(Some((_, Ok(reading)))) => readings.push(reading),
            Ok(Some((_, Err(error)))) => rejected.push(error),
            Ok(None) => break,
            Err(e) => {
                let chunk =
                    Piece::Chunk { readings: std::mem::take(&mut readings), rejected: std::mem::take(&mut rejected) };
                if send(chunk) {
                    send(Piece::Failed(e.message));
                }
                return;
            }
        }
        if readings.len() == CHUNK {
            let chunk =
                Piece::Chunk { readings: std::mem::take(&mut readings), rejected: std::mem::take(&mut rejected) };
            if !send(chunk) {
                return;
            }
            readings.reserve(CHUNK);
        }
    }
    send(Piece::Chunk { readings, rejected });
}

fn print_report(name: &str, out: &ImportOut) {
    println!("{name}: {} accepted, {} duplicates, {} rejected", out.accepted, out.duplicates, out.rejected);
    for error in out.errors.iter().take(SHOWN_REJECTIONS) {
        println!("  {} (field {}, rule {})", error.message, error.field, error.rule);
    }
    let unshown = out.rejected.saturating_sub(SHOWN_REJECTIONS.min(out.errors.len()));
    if unshown > 0 {
        println!("  … and {unshown} more rejected lines");
    }
}
