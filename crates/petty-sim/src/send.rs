//! Taking a fleet to a running Petty: sign in, create the devices, then send their readings
//! over HTTP or MQTT at real time, at a chosen rate, or as a backfill as fast as possible;
//! or writing them to one JSON-lines file per device instead.
//!
//! Nothing here trusts the server: every answer is read defensively, and failures are counted
//! and reported rather than ending the run. No reading is ever dated after the moment it is sent.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use futures_util::StreamExt;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};

use crate::fleet::{Fleet, FleetOptions, Sample};

/// How fast simulated time runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// Simulated time is now: each device sends at its own interval.
    RealTime,
    /// About this many readings per second overall, replaying a span that ends now.
    Rate(f64),
    /// A span that ends now, sent as fast as the server takes it.
    Backfill,
}

/// Where readings go.
#[derive(Debug, Clone, PartialEq)]
pub enum Transport {
    Http,
    /// `mqtt://HOST:PORT`.
    Mqtt(String),
    /// Air monitors as a Car-Bon ESP32 sends (`/compat/carbon/Dynamo/item` with the raw MQ-7
    /// reading; the server dates each reading, so in real time only); collars over HTTP.
    Carbon,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Petty's base URL, like `http://127.0.0.1:8080`.
    pub url: String,
    pub email: String,
    pub password: String,
    pub seed: u64,
    pub collars: usize,
    pub monitors: usize,
    pub fleet: FleetOptions,
    pub pace: Pace,
    /// How much simulated time; `None` runs real time until interrupted.
    pub span_ms: Option<i64>,
    pub transport: Transport,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// The most readings in one request or message.
    pub batch: usize,
}

/// Counters, shared by the senders and the progress line.
#[derive(Debug, Default)]
pub struct Stats {
    pub sent: AtomicU64,
    pub accepted: AtomicU64,
    pub duplicates: AtomicU64,
    pub rejected: AtomicU64,
    pub errors: AtomicU64,
    /// MQTT messages published, and those the broker acknowledged.
    pub messages: AtomicU64,
    pub acked: AtomicU64,
    /// The simulated clock, epoch milliseconds.
    pub sim_ms: AtomicI64,
    last_error: std::sync::Mutex<Option<String>>,
}

impl Stats {
    fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    fn error(&self, n: usize, why: String) {
        Stats::add(&self.errors, n.max(1));
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(why);
        }
    }

    /// The latest error's description, if any.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|l| l.clone())
    }

    fn line(&self, elapsed: Duration, rate: f64, mqtt: bool) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let sim = format_ms(self.sim_ms.load(Ordering::Relaxed));
        let answers = if mqtt {
            format!("messages {} acked {}", get(&self.messages), get(&self.acked))
        } else {
            format!(
                "accepted {} duplicates {} rejected {}",
                get(&self.accepted),
                get(&self.duplicates),
                get(&self.rejected)
            )
        };
        format!(
            "[{:>6.1}s] sim {sim}  sent {}  {answers}  errors {}  {rate:.1} readings/s",
            elapsed.as_secs_f64(),
            get(&self.sent),
            get(&self.errors)
        )
    }
}

/// The milliseconds since 1970 now.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// `ms` as `YYYY-MM-DDTHH:MM:SSZ`.
fn format_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// Writes `fleet`'s samples up to `end_ms` to `DIR/<device name>.jsonl`, one reading a line
/// (the format `POST /api/v1/import` takes), and returns how many readings were written.
pub fn write_files(fleet: &mut Fleet, end_ms: i64, dir: &std::path::Path) -> anyhow::Result<u64> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut total = 0;
    for device in fleet.devices_mut() {
        let path: PathBuf = dir.join(format!("{}.jsonl", device.name()));
        let file = std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let mut out = std::io::BufWriter::new(file);
        loop {
            let mut samples = device.samples_until(end_ms, 10_000);
            if samples.is_empty() {
                // The span's end: what a collar out of coverage kept is written too.
                samples = device.flush_held();
                if samples.is_empty() {
                    break;
                }
            }
            for s in &samples {
                serde_json::to_writer(&mut out, &s.reading)?;
                out.write_all(b"\n")?;
            }
            total += samples.len() as u64;
        }
        out.flush().with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(total)
}

/// A device created on the server.
#[derive(Debug, Clone)]
struct Remote {
    id: String,
    token: String,
    /// Set for air monitors: their Car-Bon `item_id`.
    serial: Option<String>,
}

/// Runs the simulation against a server until the span is sent (or Ctrl-C), printing progress
/// to stderr every second; returns the final counters.
pub async fn run(opts: RunOptions) -> anyhow::Result<Arc<Stats>> {
    let base = opts.url.trim_end_matches('/').to_owned();
    // reqwest's rustls has no provider of its own: ring, as the server uses (once per process).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
    let access = login(&http, &base, &opts.email, &opts.password).await?;

    let now = now_ms();
    let (start, end) = match (opts.pace, opts.span_ms) {
        (Pace::RealTime, span) => (now, span.map_or(i64::MAX, |s| now + s)),
        (_, span) => (now - span.unwrap_or(24 * 3_600_000), now),
    };
    let mut fleet = Fleet::with_options(opts.seed, opts.collars, opts.monitors, start, &opts.fleet);
    let remotes = create_devices(&http, &base, &access, &fleet, opts.seed).await?;
    eprintln!(
        "simulating {} devices from {} to {}",
        remotes.len(),
        format_ms(start),
        if end == i64::MAX { "interrupted".into() } else { format_ms(end) }
    );

    let stats = Arc::new(Stats::default());
    stats.sim_ms.store(start, Ordering::Relaxed);
    let mqtt = match &opts.transport {
        Transport::Http | Transport::Carbon => None,
        Transport::Mqtt(url) => Some(connect_mqtt(url, opts.seed, &stats)?),
    };
    let carbon = opts.transport == Transport::Carbon;
    let speed = match opts.pace {
        Pace::RealTime => 1.0,
        Pace::Rate(r) => r / fleet.readings_per_sec().max(1e-9),
        Pace::Backfill => f64::INFINITY,
    };
    let began = Instant::now();
    let printer = tokio::spawn(progress(stats.clone(), began, mqtt.is_some()));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let tick = if opts.pace == Pace::RealTime { Duration::from_millis(500) } else { Duration::from_millis(100) };
    let mut cursor = start;

    loop {
        // The backfill moves in chunks of simulated time; the others follow the wall clock.
        let target = if speed.is_infinite() {
            cursor.saturating_add(4 * 3_600_000)
        } else {
            start.saturating_add((began.elapsed().as_secs_f64() * speed * 1000.0) as i64)
        };
        let target = target.min(end).min(now_ms());
        let mut batches = Vec::new();
        for (i, device) in fleet.devices_mut().iter_mut().enumerate() {
            loop {
                let mut samples = device.samples_until(target, opts.batch.max(1));
                if samples.is_empty() && target >= end {
                    // The span's end: the collars come back into coverage with what they kept.
                    samples = device.flush_held();
                }
                if samples.is_empty() {
                    break;
                }
                batches.push((i, samples));
            }
        }
        cursor = target;
        stats.sim_ms.store(target, Ordering::Relaxed);
        let sending = futures_util::stream::iter(batches)
            .map(|(i, samples)| {
                let remote = &remotes[i];
                let stats = &stats;
                let http = &http;
                let base = &base;
                let mqtt = mqtt.as_ref();
                async move {
                    match (mqtt, &remote.serial) {
                        (Some(client), _) => publish(client, remote, &samples, stats).await,
                        (None, Some(serial)) if carbon => {
                            carbon_items(http, base, remote, serial, &samples, stats).await
                        }
                        (None, _) => ingest(http, base, remote, &samples, stats).await,
                    }
                }
            })
            .buffer_unordered(opts.concurrency.max(1))
            .collect::<Vec<()>>();
        tokio::select! {
            _ = sending => {}
            _ = &mut ctrl_c => { eprintln!("interrupted"); break; }
        }
        if cursor >= end && fleet.devices().iter().all(|d| d.next_ts() > end) {
            break;
        }
        if !speed.is_infinite() {
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = &mut ctrl_c => { eprintln!("interrupted"); break; }
            }
        }
    }

    if let Some(client) = mqtt {
        // Give the broker a moment to acknowledge what is in flight.
        let deadline = Instant::now() + Duration::from_secs(10);
        while stats.acked.load(Ordering::Relaxed) < stats.messages.load(Ordering::Relaxed) && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = client.disconnect().await;
    }
    printer.abort();
    let elapsed = began.elapsed();
    let sent = stats.sent.load(Ordering::Relaxed) as f64;
    eprintln!(
        "{}",
        stats.line(elapsed, sent / elapsed.as_secs_f64().max(1e-3), matches!(opts.transport, Transport::Mqtt(_)))
    );
    Ok(stats)
}

/// A line a second on a terminal (sent, rate, simulated time); nothing in a log or a pipe,
/// where only the final line is written.
async fn progress(stats: Arc<Stats>, began: Instant, mqtt: bool) {
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return;
    }
    let mut last = (Instant::now(), 0u64);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let sent = stats.sent.load(Ordering::Relaxed);
        let rate = (sent - last.1) as f64 / last.0.elapsed().as_secs_f64().max(1e-3);
        last = (Instant::now(), sent);
        eprintln!("{}", stats.line(began.elapsed(), rate, mqtt));
    }
}

/// Sends `request`, retrying a few times on 429 (after `Retry-After`), 5xx or no answer.
async fn send(request: reqwest::RequestBuilder) -> Result<(reqwest::StatusCode, Value), String> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let Some(req) = request.try_clone() else { return Err("request cannot be retried".into()) };
        let (wait, why) = match req.send().await {
            Ok(resp) => {
                let status = resp.status();
                let retry_after =
                    resp.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse::<u64>().ok()).unwrap_or(1);
                let body: Value = resp.json().await.unwrap_or(Value::Null);
                if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                    (Duration::from_secs(retry_after.clamp(1, 10)), format!("{status}: {body}"))
                } else {
                    return Ok((status, body));
                }
            }
            Err(e) => (Duration::from_millis(500), e.to_string()),
        };
        if attempt >= 4 {
            return Err(why);
        }
        tokio::time::sleep(wait).await;
    }
}

async fn login(http: &reqwest::Client, base: &str, email: &str, password: &str) -> anyhow::Result<String> {
    let req = http.post(format!("{base}/api/v1/auth/login")).json(&json!({"email": email, "password": password}));
    let (status, body) = send(req).await.map_err(|e| anyhow::anyhow!("signing in at {base}: {e}"))?;
    match body["access_token"].as_str() {
        Some(token) if status.is_success() => Ok(token.to_owned()),
        _ => bail!("signing in as {email} failed: {status} {body}"),
    }
}

async fn create_devices(
    http: &reqwest::Client,
    base: &str,
    access: &str,
    fleet: &Fleet,
    seed: u64,
) -> anyhow::Result<Vec<Remote>> {
    let existing = household_devices(http, base, access).await?;
    // The household's own pets wear the collars first, those without one before the rest.
    let mut free_pets = household_pets(http, base, access).await?;
    let worn: Vec<&str> =
        existing.iter().filter(|d| d["kind"] == "collar").filter_map(|d| d["pet_id"].as_str()).collect();
    free_pets.retain(|(id, _)| !worn.contains(&id.as_str()));
    free_pets.reverse();
    let (mut reused, mut made_pets) = (0, 0);
    let mut remotes = Vec::with_capacity(fleet.devices().len());
    for (i, device) in fleet.devices().iter().enumerate() {
        let collar = device.kind() == crate::DeviceKind::Collar;
        // The same seed names the same devices: a second run finds and reuses them.
        let serial = if collar { format!("SIM-{seed:x}-{i}") } else { format!("ESP32-{seed:x}-{i}") };
        if let Some(found) = existing.iter().find(|d| d["serial"].as_str() == Some(serial.as_str())) {
            let id = found["id"].as_str().context("a device without an id")?;
            // Its token was shown once, when it was made: a new one (the old stops working).
            let req = http.post(format!("{base}/api/v1/devices/{id}/token")).bearer_auth(access);
            let (status, body) = send(req).await.map_err(|e| anyhow::anyhow!("a new token for {serial}: {e}"))?;
            let Some(token) = body["token"].as_str().filter(|_| status.is_success()) else {
                bail!("a new token for {serial} failed: {status} {body}")
            };
            let item_id = (!collar).then_some(serial);
            remotes.push(Remote { id: id.to_owned(), token: token.to_owned(), serial: item_id });
            reused += 1;
            continue;
        }
        let pet_id = match (collar, free_pets.pop()) {
            (false, _) => None,
            (true, Some((id, _))) => Some(id),
            (true, None) => {
                // More collars than pets: a dog for each of the others.
                const NAMES: [&str; 8] = ["Max", "Luna", "Charlie", "Daisy", "Rocky", "Milo", "Nala", "Bella"];
                let req = http.post(format!("{base}/api/v1/pets")).bearer_auth(access).json(&json!({
                    "name": NAMES[i % NAMES.len()],
                    "species": "dog",
                    "weight_kg": 8.0 + (i % 7) as f64 * 4.0,
                }));
                let (status, body) =
                    send(req).await.map_err(|e| anyhow::anyhow!("creating a dog for {}: {e}", device.name()))?;
                made_pets += 1;
                match body["id"].as_str() {
                    Some(id) if status.is_success() => Some(id.to_owned()),
                    _ => bail!("creating a dog for {} failed: {status} {body}", device.name()),
                }
            }
        };
        let req = http.post(format!("{base}/api/v1/devices")).bearer_auth(access).json(&json!({
            "name": device.name(),
            "kind": device.kind().api_name(),
            "expected_interval_secs": device.interval_secs(),
            "pet_id": pet_id,
            "serial": serial,
        }));
        let (status, body) = send(req).await.map_err(|e| anyhow::anyhow!("creating {}: {e}", device.name()))?;
        match (body["device"]["id"].as_str(), body["token"].as_str()) {
            (Some(id), Some(token)) if status.is_success() => {
                let item_id = (!collar).then_some(serial);
                remotes.push(Remote { id: id.to_owned(), token: token.to_owned(), serial: item_id })
            }
            _ => bail!("creating {} failed: {status} {body}", device.name()),
        }
    }
    eprintln!("devices: {reused} found by serial, {} new; pets: {made_pets} new", remotes.len() - reused);
    Ok(remotes)
}

/// The household's devices, as the API lists them.
async fn household_devices(http: &reqwest::Client, base: &str, access: &str) -> anyhow::Result<Vec<Value>> {
    let req = http.get(format!("{base}/api/v1/devices")).bearer_auth(access);
    let (status, body) = send(req).await.map_err(|e| anyhow::anyhow!("listing the devices: {e}"))?;
    match body["items"].as_array() {
        Some(items) if status.is_success() => Ok(items.clone()),
        _ => bail!("listing the devices failed: {status} {body}"),
    }
}

/// The household's pets that can wear a collar (dogs and cats), `(id, name)` in the API's order.
async fn household_pets(http: &reqwest::Client, base: &str, access: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut pets = Vec::new();
    for page in 1.. {
        let req = http.get(format!("{base}/api/v1/pets?page={page}&page_size=500")).bearer_auth(access);
        let (status, body) = send(req).await.map_err(|e| anyhow::anyhow!("listing the pets: {e}"))?;
        let Some(items) = body["items"].as_array().filter(|_| status.is_success()) else {
            bail!("listing the pets failed: {status} {body}")
        };
        pets.extend(
            items.iter().filter(|p| matches!(p["species"].as_str(), Some("dog" | "cat"))).filter_map(|p| {
                Some((p["id"].as_str()?.to_owned(), p["name"].as_str().unwrap_or_default().to_owned()))
            }),
        );
        if body["has_next"] != Value::Bool(true) {
            break;
        }
    }
    Ok(pets)
}

/// Sends an air monitor's samples one by one as the Car-Bon ESP32 does: query parameters, the
/// raw MQ-7 value on Petty's default circuit, the device token in the URL.
async fn carbon_items(
    http: &reqwest::Client,
    base: &str,
    remote: &Remote,
    serial: &str,
    samples: &[Sample],
    stats: &Stats,
) {
    let mq7 = petty_core::air::Mq7::default();
    for s in samples {
        Stats::add(&stats.sent, 1);
        let value = |k: &str| s.reading[k].as_f64();
        let (Some(temp), Some(hum), Some(ppm)) = (value("ambient_temp_c"), value("humidity_pct"), value("co_ppm"))
        else {
            Stats::add(&stats.rejected, 1);
            continue;
        };
        let raw = mq7.raw(ppm).unwrap_or(mq7.adc_max - 1.0);
        let req = http.post(format!("{base}/compat/carbon/Dynamo/item")).query(&[
            ("item_id", serial.to_owned()),
            ("Temp", temp.to_string()),
            ("Hum", hum.to_string()),
            ("CO", raw.to_string()),
            ("token", remote.token.clone()),
        ]);
        match send(req).await {
            Ok((status, _)) if status.is_success() => Stats::add(&stats.accepted, 1),
            Ok((status, body)) if status.is_client_error() => {
                Stats::add(&stats.rejected, 1);
                if let Ok(mut last) = stats.last_error.lock() {
                    *last = Some(format!("{status}: {body}"));
                }
            }
            Ok((status, body)) => stats.error(1, format!("{status}: {body}")),
            Err(why) => stats.error(1, why),
        }
    }
}

async fn ingest(http: &reqwest::Client, base: &str, remote: &Remote, samples: &[Sample], stats: &Stats) {
    let n = samples.len();
    let readings: Vec<&Value> = samples.iter().map(|s| &s.reading).collect();
    let req =
        http.post(format!("{base}/api/v1/ingest")).bearer_auth(&remote.token).json(&json!({"readings": readings}));
    Stats::add(&stats.sent, n);
    match send(req).await {
        Ok((status, body)) if status.is_success() => {
            let count = |k: &str| body[k].as_u64().unwrap_or(0) as usize;
            let (a, d, r) = (count("accepted"), count("duplicates"), count("rejected"));
            Stats::add(&stats.accepted, a);
            Stats::add(&stats.duplicates, d);
            Stats::add(&stats.rejected, r);
            if a + d + r != n {
                stats.error(n.saturating_sub(a + d + r), format!("unexpected answer: {status} {body}"));
            }
        }
        Ok((status, body)) if status.is_client_error() => {
            Stats::add(&stats.rejected, n);
            if let Ok(mut last) = stats.last_error.lock() {
                *last = Some(format!("{status}: {body}"));
            }
        }
        Ok((status, body)) => stats.error(n, format!("{status}: {body}")),
        Err(why) => stats.error(n, why),
    }
}

fn connect_mqtt(url: &str, seed: u64, stats: &Arc<Stats>) -> anyhow::Result<AsyncClient> {
    let rest = url.strip_prefix("mqtt://").or_else(|| url.strip_prefix("tcp://")).unwrap_or(url);
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().with_context(|| format!("the port in {url}"))?),
        None => (rest, 1883),
    };
    let mut options = MqttOptions::new(format!("petty-sim-{seed}-{}", std::process::id()), host, port);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_max_packet_size(16 * 1024 * 1024, 16 * 1024 * 1024);
    options.set_inflight(100);
    let (client, mut events) = AsyncClient::new(options, 256);
    let stats = stats.clone();
    tokio::spawn(async move {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => Stats::add(&stats.acked, 1),
                Ok(_) => {}
                Err(e) => {
                    stats.error(1, format!("MQTT: {e}"));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    Ok(client)
}

async fn publish(client: &AsyncClient, remote: &Remote, samples: &[Sample], stats: &Stats) {
    let readings: Vec<&Value> = samples.iter().map(|s| &s.reading).collect();
    let payload = json!({"token": remote.token, "readings": readings}).to_string();
    let topic = format!("petty/v1/devices/{}/readings", remote.id);
    Stats::add(&stats.sent, samples.len());
    match client.publish(topic, QoS::AtLeastOnce, false, payload).await {
        Ok(()) => Stats::add(&stats.messages, 1),
        Err(e) => stats.error(samples.len(), format!("MQTT publish: {e}")),
    }
}
