//! Batch ingest into SQLite: readings per second through `Store::ingest` (the group-commit
//! writer, with every index and rollup the read paths use), from many devices interleaved.
//!
//! ```text
//! cargo bench -p petty-store --bench batch_ingest -- [DEVICES] [READINGS_PER_CALL] [CALLS_IN_FLIGHT] [TOTAL]
//! ```
//! Defaults: 1,000 devices, 100 readings per call (a collar's upload after a short gap),
//! 64 calls in flight, 2,000,000 readings. Each device reports at 1 Hz; call k of a device
//! carries its next 100 seconds, and consecutive calls go to consecutive devices, so every
//! transaction holds many devices' readings. A reading is a collar's: heart rate, respiration,
//! activity level and counts, steps, temperature, battery, signal, position.
//!
//! The database is a fresh file in a temporary folder, migrated like `petty serve` does.
//! Prints one line per 10% and a summary; the figure to quote is `readings_per_s`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use petty_core::accounts::Email;
use petty_core::devices::{DeviceKind, DeviceProfile};
use petty_core::readings::{Location, METRIC_COUNT, Metric, Reading};
use petty_store::{IngestOutcome, NewUser, Store};
use time::OffsetDateTime;
use tokio::sync::Semaphore;

fn arg(n: usize, default: usize) -> usize {
    std::env::args().skip(1).filter(|a| !a.starts_with('-')).nth(n).and_then(|a| a.parse().ok()).unwrap_or(default)
}

fn collar_reading(ts: OffsetDateTime, second: i64, device: usize) -> Reading {
    let mut values = [None; METRIC_COUNT];
    let wave = ((second + device as i64) % 600) as f64 / 600.0;
    values[Metric::HeartRate.index()] = Some(70.0 + 40.0 * wave);
    values[Metric::RespirationRate.index()] = Some(18.0 + 10.0 * wave);
    values[Metric::ActivityLevel.index()] = Some((second % 3) as f64);
    values[Metric::ActivityCounts.index()] = Some(100.0 * wave);
    values[Metric::Steps.index()] = Some((second % 7) as f64);
    values[Metric::TemperatureC.index()] = Some(38.4);
    values[Metric::BatteryPct.index()] = Some(90.0 - wave);
    values[Metric::Rssi.index()] = Some(-61.0);
    Reading {
        ts,
        seq: None,
        values,
        location: Some(Location { lat: 52.37 + wave / 1000.0, lon: 4.89, accuracy_m: Some(8.0) }),
        extra: BTreeMap::new(),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let devices = arg(0, 1000);
    let per_call = arg(1, 100);
    let in_flight = arg(2, 64);
    let total = arg(3, 2_000_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    runtime.block_on(run(devices, per_call, in_flight, total))
}

async fn run(
    devices: usize,
    per_call: usize,
    in_flight: usize,
    total: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("petty-batch-ingest-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = Store::open_sqlite(&dir.join("petty.db")).await?;
    store.migrate().await?;
    let now = OffsetDateTime::now_utc();
    let owner = NewUser {
        email: Email::parse("email", "bench@example.org")?,
        display_name: "bench".into(),
        password_hash: "$argon2id$v=19$bench".into(),
    };
    let household = store.register_owner(&owner, "Bench", now).await?.1.household_id;
    let mut ids = Vec::with_capacity(devices);
    for d in 0..devices {
        let profile = DeviceProfile {
            name: format!("collar {d:04}"),
            kind: DeviceKind::Collar,
            pet_id: None,
            model: None,
            firmware: None,
            expected_interval_secs: 60,
            calibration: BTreeMap::new(),
            serial: None,
        };
        let hash = (d as u64).to_le_bytes().repeat(4);
        ids.push(store.create_device(household, &profile, &hash, now).await?.id);
    }
    // Start far enough back that `total` readings at 1 Hz per device end before now.
    let span = (total / devices + per_call) as i64;
    let start = now - time::Duration::seconds(span + 60);
    let calls = total / per_call;
    let limit = Arc::new(Semaphore::new(in_flight));
    let mut tasks = tokio::task::JoinSet::new();
    let began = Instant::now();
    let mut reported = 0;
    for call in 0..calls {
        let device = call % devices;
        let first_second = ((call / devices) * per_call) as i64;
        let readings: Vec<Reading> = (0..per_call as i64)
            .map(|i| {
                let second = first_second + i;
                collar_reading(start + time::Duration::seconds(second), second, device)
            })
            .collect();
        let permit = limit.clone().acquire_owned().await?;
        let store = store.clone();
        let device_id = ids[device];
        tasks.spawn(async move {
            let outcome = store.ingest(household, device_id, readings, OffsetDateTime::now_utc()).await;
            drop(permit);
            outcome
        });
        while let Some(done) = tasks.try_join_next() {
            let outcomes = done??;
            if outcomes.iter().any(|o| *o != IngestOutcome::Accepted) {
                return Err("a reading of the benchmark was not accepted".into());
            }
        }
        if (call + 1) * 10 / calls > reported {
            reported = (call + 1) * 10 / calls;
            let secs = began.elapsed().as_secs_f64();
            println!(
                "{:>3}%  {:>9} readings  {:>6.1} s  {:>9.0} readings/s",
                reported * 10,
                (call + 1) * per_call,
                secs,
                ((call + 1) * per_call) as f64 / secs
            );
        }
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let secs = began.elapsed().as_secs_f64();
    let stored = calls * per_call;
    let wal = std::fs::metadata(dir.join("petty.db-wal")).map(|m| m.len()).unwrap_or(0);
    let db = std::fs::metadata(dir.join("petty.db")).map(|m| m.len()).unwrap_or(0);
    println!(
        "devices={devices} per_call={per_call} in_flight={in_flight} readings={stored} secs={secs:.2} readings_per_s={:.0} db_mib={:.0} wal_mib={:.0}",
        stored as f64 / secs,
        db as f64 / 1048576.0,
        wal as f64 / 1048576.0
    );
    store.close().await;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
