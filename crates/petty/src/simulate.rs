//! `petty simulate`: a fleet of simulated collars and air monitors sending to a running Petty
//! (see the `petty-sim` crate), or written to JSON-lines files for `POST /api/v1/import`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use petty_sim::fleet::FleetOptions;
use petty_sim::send::{self, Pace, RunOptions, Transport};

#[derive(Args)]
pub(crate) struct SimulateArgs {
    /// Petty's address.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080", env = "PETTY_SIM_URL")]
    url: String,
    /// Sign in as this member (the devices are created in their household).
    #[arg(long, env = "PETTY_SIM_EMAIL")]
    email: Option<String>,
    #[arg(long, env = "PETTY_SIM_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// How many collars (a reading every 60 s).
    #[arg(long, default_value_t = 100)]
    collars: usize,
    /// How many air monitors (a reading every 30 s).
    #[arg(long, default_value_t = 20)]
    monitors: usize,
    /// The same seed gives the same devices and readings.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Readings per second overall, replaying a span that ends now; 0 sends it as fast as
    /// possible (backfill) [default: real time, each device at its interval]
    #[arg(long, value_name = "N")]
    rate: Option<f64>,
    /// Seconds of simulated time [default: 24 hours, or until Ctrl-C in real time]
    #[arg(long, value_name = "SECS", conflicts_with = "hours")]
    duration: Option<u64>,
    /// Hours of simulated time.
    #[arg(long, value_name = "H")]
    hours: Option<f64>,
    /// How readings travel: Petty's API, MQTT, or (air monitors, in real time) the Car-Bon
    /// ESP32's `/compat/carbon` route.
    #[arg(long, value_name = "http|mqtt|carbon", default_value = "http", value_parser = ["http", "mqtt", "carbon"])]
    transport: String,
    /// The MQTT broker, with --transport mqtt.
    #[arg(long, value_name = "URL", default_value = "mqtt://127.0.0.1:1883")]
    mqtt_url: String,
    /// Write one JSON-lines file per device to DIR instead of sending (for /api/v1/import).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The households' local time, hours east of UTC (the dogs sleep at local night).
    #[arg(long, value_name = "H", default_value_t = 0.0, allow_hyphen_values = true)]
    utc_offset: f64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// The most readings in one request or message.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Collars also send a raw accelerometer window of this many samples per second (2 s
    /// long) with every reading, which the behaviour analysis reads (eating, drinking,
    /// scratching, shaking); 0 sends none.
    #[arg(long, value_name = "HZ", default_value_t = 25)]
    accel_hz: u32,
    /// Collars lose their link for up to two spells a day (5 to 40 minutes) and send what they
    /// kept in one burst when it returns: late readings, judged by when they were taken.
    #[arg(long)]
    coverage_gaps: bool,
}

pub(crate) fn run(args: SimulateArgs) -> anyhow::Result<()> {
    if !(-14.0..=14.0).contains(&args.utc_offset) {
        bail!("--utc-offset must be between -14 and 14 hours");
    }
    if args.accel_hz > 400 {
        bail!("--accel-hz must be 0 to 400");
    }
    let fleet = FleetOptions {
        utc_offset_secs: (args.utc_offset * 3600.0) as i32,
        accel_hz: (args.accel_hz > 0).then_some(args.accel_hz),
        coverage_gaps: args.coverage_gaps,
        ..FleetOptions::default()
    };
    let span_ms = match (args.duration, args.hours) {
        (Some(secs), _) => Some(i64::try_from(secs).unwrap_or(i64::MAX / 1000).saturating_mul(1000)),
        (None, Some(h)) if h.is_finite() && h > 0.0 => Some((h * 3_600_000.0) as i64),
        (None, Some(_)) => bail!("--hours must be more than 0"),
        (None, None) => None,
    };

    if let Some(dir) = args.out {
        let end = send::now_ms();
        let start = end - span_ms.unwrap_or(24 * 3_600_000);
        let mut fleet = petty_sim::Fleet::with_options(args.seed, args.collars, args.monitors, start, &fleet);
        let n = send::write_files(&mut fleet, end, &dir)?;
        println!("wrote {n} readings of {} devices to {}", fleet.devices().len(), dir.display());
        return Ok(());
    }

    let pace = match args.rate {
        None => Pace::RealTime,
        Some(0.0) => Pace::Backfill,
        Some(r) if r.is_finite() && r > 0.0 => Pace::Rate(r),
        Some(_) => bail!("--rate must be 0 (as fast as possible) or more"),
    };
    let transport = match args.transport.as_str() {
        "mqtt" => Transport::Mqtt(args.mqtt_url),
        "carbon" if pace != Pace::RealTime => {
            bail!(
                "--transport carbon sends in real time only (the Car-Bon route dates each reading on arrival): leave out --rate"
            )
        }
        "carbon" => Transport::Carbon,
        _ => Transport::Http,
    };
    let options = RunOptions {
        url: args.url,
        email: args.email.context("--email is needed to create the devices (or use --out)")?,
        password: args.password.context("--password is needed to create the devices (or use --out)")?,
        seed: args.seed,
        collars: args.collars,
        monitors: args.monitors,
        fleet,
        pace,
        span_ms,
        transport,
        concurrency: args.concurrency,
        batch: args.batch,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let stats = runtime.block_on(send::run(options))?;
    if let Some(why) = stats.last_error() {
        eprintln!("last error: {why}");
    }
    Ok(())
}
