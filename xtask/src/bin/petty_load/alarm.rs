//! `alarm-latency`: reading in → alarm on the household's WebSocket topic, under a background
//! load of ordinary readings.
//!
//! The household gets one rule of its own (`heart_rate` above 200, no hold time), so a single
//! reading breaks it. Background readings (heart rate 90) go round-robin over the devices at
//! `--rate` on `--connections` keep-alive connections. Every `1 / --alarms-per-sec` seconds one
//! device that has not alarmed yet sends a reading of 220 on a connection of its own; the time
//! from writing that request to reading the `alarm` frame that names the device on
//! `household:{id}:alarms` is one sample. Each device alarms once (its alarm stays open), so
//! there are at most `--devices` samples. One process on one thread, one clock.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;

use crate::http::{self, Conn};
use crate::report::{Percentiles, now_ns};

#[derive(clap::Args, Clone)]
pub(crate) struct Args {
    /// Devices (collars); each alarms at most once.
    #[arg(long, default_value_t = 200)]
    pub devices: usize,
    /// Background readings per second (values that break no rule).
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// Readings that break the rule, per second.
    #[arg(long, default_value_t = 10.0)]
    pub alarms_per_sec: f64,
    /// Seconds of sending.
    #[arg(long, default_value_t = 20.0)]
    pub duration: f64,
    /// Keep-alive connections for the background readings.
    #[arg(long, default_value_t = 50)]
    pub connections: usize,
    /// After the last send, how long to wait for outstanding alarms.
    #[arg(long, default_value_t = 3.0)]
    pub grace: f64,
    /// Print every sample as it ends: seconds into the run, the breaking reading's `201` and
    /// its alarm frame, in ms (which of the two a slow sample waited for).
    #[arg(long)]
    pub timeline: bool,
}

/// When a device's breaking reading was written and when its `201` came (ns).
type Sent = (u64, Option<u64>);

pub(crate) async fn run(addr: SocketAddr, args: Args) -> anyhow::Result<()> {
    if args.devices == 0 || args.rate < 0.0 || args.alarms_per_sec <= 0.0 || args.connections == 0 {
        bail!("--devices, --alarms-per-sec and --connections must be positive, --rate not negative");
    }
    let household = http::household(addr, args.devices).await?;
    let mut conn = Conn::connect(addr).await?;
    let rule = json!({"name": "bench: heart above 200", "device_kind": "any", "kind": "above",
        "metric": "heart_rate", "value": 200.0, "for_secs": 0, "clear_secs": 0, "severity": "minor"});
    let answer = conn.request("POST", "/api/v1/alarm-rules", Some(&household.access_token), Some(&rule)).await?;
    if answer.status != 201 {
        bail!("creating the rule answered {}: {}", answer.status, answer.text());
    }
    let topic = format!("household:{}:alarms", household.household_id);
    let mut socket = crate::ws::subscribe(addr, &household.access_token, &topic).await?;

    let written: Arc<Mutex<HashMap<String, Sent>>> = Arc::default();
    let samples: Arc<Mutex<Vec<u64>>> = Arc::default();
    let unmatched = Arc::new(AtomicU64::new(0));
    let start = now_ns();
    let listener = {
        let (written, samples, unmatched) = (written.clone(), samples.clone(), unmatched.clone());
        let timeline = args.timeline;
        tokio::spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                let Message::Text(text) = message else { continue };
                let at = now_ns();
                let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                let alarm = &frame["data"]["alarm"];
                if frame["data"]["event"] != "raised" {
                    continue;
                }
                let device = alarm["device_id"].as_str().unwrap_or_default();
                match written.lock().await.remove(device) {
                    Some((t, acked)) => {
                        if timeline {
                            let ms = |ns: u64| ns as f64 / 1e6;
                            let ack = match acked {
                                None => "not yet".to_owned(),
                                Some(acked) => format!("after {:.2} ms", ms(acked.saturating_sub(t))),
                            };
                            println!(
                                "sample at {:.3} s: 201 {ack}, alarm after {:.2} ms",
                                t.saturating_sub(start) as f64 / 1e9,
                                ms(at.saturating_sub(t))
                            );
                        }
                        samples.lock().await.push(at.saturating_sub(t))
                    }
                    None => {
                        unmatched.fetch_add(1, Relaxed);
                    }
                }
            }
        })
    };

    let end = start + (args.duration * 1e9) as u64;
    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut background = Vec::new();
    if args.rate > 0.0 {
        let per_conn = Duration::from_secs_f64(args.connections as f64 / args.rate);
        for c in 0..args.connections {
            let devices = household.devices.clone();
            let (sent, failed) = (sent.clone(), failed.clone());
            background.push(tokio::spawn(async move {
                let mut conn = Conn::connect(addr).await?;
                let mut tick = tokio::time::interval(per_conn);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut i = c;
                while now_ns() < end {
                    tick.tick().await;
                    let device = &devices[i % devices.len()];
                    let body = json!({"ts": http::epoch_ms(), "seq": i, "heart_rate": 90});
                    match conn.request("POST", "/api/v1/ingest", Some(&device.token), Some(&body)).await {
                        Ok(r) if r.status == 201 => sent.fetch_add(1, Relaxed),
                        _ => failed.fetch_add(1, Relaxed),
                    };
                    i += args.connections;
                }
                anyhow::Ok(())
            }));
        }
    }

    let mut trigger = Conn::connect(addr).await?;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.alarms_per_sec));
    let mut triggered = 0usize;
    for device in &household.devices {
        tick.tick().await;
        if now_ns() >= end {
            break;
        }
        let body = serde_json::to_vec(&json!({"ts": http::epoch_ms(), "seq": 1_000_000_000u64, "heart_rate": 220}))?;
        let request = trigger.format("POST", "/api/v1/ingest", Some(&device.token), Some(&body));
        let at = now_ns();
        written.lock().await.insert(device.id.clone(), (at, None));
        trigger.send(&request).await?;
        let answer = trigger.read_response().await?;
        if let Some(entry) = written.lock().await.get_mut(&device.id) {
            entry.1 = Some(now_ns());
        }
        if answer.status != 201 {
            bail!("the breaking reading answered {}: {}", answer.status, answer.text());
        }
        triggered += 1;
    }
    for task in background {
        task.await.context("background sender")??;
    }
    tokio::time::sleep(Duration::from_secs_f64(args.grace)).await;
    listener.abort();

    let missing = written.lock().await.len();
    let mut samples = samples.lock().await;
    let p = Percentiles::of(&mut samples);
    let secs = (now_ns() - start) as f64 / 1e9 - args.grace;
    println!(
        "alarm-latency: {} devices, background {:.0} readings/s offered, {:.0} stored/s, {} failed",
        args.devices,
        args.rate,
        sent.load(Relaxed) as f64 / secs.max(1e-9),
        failed.load(Relaxed)
    );
    println!("reading → alarm on {topic}: {} (triggered {triggered}, no alarm {missing}, unmatched {})", p.line(), {
        unmatched.load(Relaxed)
    });
    println!(
        "RESULT scenario=alarm-latency n={} p50_ms={:.3} p99_ms={:.3} max_ms={:.3} missing={missing}",
        p.count, p.p50, p.p99, p.max
    );
    Ok(())
}
