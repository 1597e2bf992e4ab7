//! `mqtt`: readings published to a broker as fast as it takes them, one reading per message
//! (`{"token":"dk_...","ts":...,"seq":...,"heart_rate":...}` on
//! `petty/v1/devices/{id}/readings`, the payload `crates/petty/src/mqtt.rs` reads), and the
//! rate at which Petty stores them: from the first publish to the moment Petty's
//! `petty_mqtt_messages_total{outcome="stored"}` counter (counted once a message's transaction
//! is committed) reached its final value. With `--relay-only` there is no Petty: a plain
//! subscriber in this process counts what the broker relays, with the same publisher.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use tokio::sync::watch;

use crate::http::{self, Conn, Device};
use crate::report;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The broker: mqtt://HOST:PORT.
    #[arg(long)]
    pub mqtt: String,
    /// Messages (one reading each) to publish.
    #[arg(long, default_value_t = 200_000)]
    pub messages: u64,
    /// 0 or 1.
    #[arg(long, default_value_t = 0)]
    pub qos: u8,
    /// Devices the readings are spread over, round-robin.
    #[arg(long, default_value_t = 100)]
    pub devices: usize,
    /// No Petty: measure the broker's relay to a plain subscriber in this process instead.
    #[arg(long)]
    pub relay_only: bool,
    /// Stop waiting when nothing more was stored (or relayed) for this many seconds.
    #[arg(long, default_value_t = 10.0)]
    pub stall: f64,
    /// Publisher's QoS 1 in-flight window.
    #[arg(long, default_value_t = 1000)]
    pub inflight: u16,
    /// Petty's pid, for its CPU time and RSS.
    #[arg(long)]
    pub pid: Option<u32>,
}

const STORED: &str = r#"petty_mqtt_messages_total{outcome="stored"}"#;
const REJECTED: &str = r#"petty_mqtt_messages_total{outcome="rejected"}"#;
const FAILED: &str = r#"petty_mqtt_messages_total{outcome="failed"}"#;

fn broker(url: &str) -> anyhow::Result<(String, u16)> {
    let rest = url.strip_prefix("mqtt://").context("--mqtt must look like mqtt://HOST:PORT")?;
    let (host, port) = rest.trim_end_matches('/').rsplit_once(':').context("--mqtt needs a port")?;
    Ok((host.to_owned(), port.parse().context("--mqtt port")?))
}

fn options(url: &str, id: &str, inflight: u16) -> anyhow::Result<MqttOptions> {
    let (host, port) = broker(url)?;
    let mut o = MqttOptions::new(format!("petty-load-{id}-{}", std::process::id()), host, port);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_inflight(inflight);
    o.set_max_packet_size(1024 * 1024, 1024 * 1024);
    o.set_clean_session(true);
    Ok(o)
}

fn qos(q: u8) -> anyhow::Result<QoS> {
    match q {
        0 => Ok(QoS::AtMostOnce),
        1 => Ok(QoS::AtLeastOnce),
        _ => bail!("--qos is 0 or 1"),
    }
}

/// Drives a client's event loop: counts PUBACKs and incoming PUBLISHes, subscribes to `topic`
/// on every connection if given, and says when it is connected (and subscribed).
struct Counters {
    connected: watch::Sender<bool>,
    pubacks: AtomicU64,
    received: AtomicU64,
    /// now_ns() of the latest received PUBLISH.
    last_received: AtomicU64,
    errors: AtomicU64,
}

async fn drive(mut events: EventLoop, client: AsyncClient, subscribe: Option<(String, QoS)>, c: Arc<Counters>) {
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => match &subscribe {
                Some((topic, q)) => {
                    if client.subscribe(topic.clone(), *q).await.is_err() {
                        c.errors.fetch_add(1, Relaxed);
                    }
                }
                None => {
                    let _ = c.connected.send(true);
                }
            },
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                let _ = c.connected.send(true);
            }
            Ok(Event::Incoming(Packet::PubAck(_))) => {
                c.pubacks.fetch_add(1, Relaxed);
            }
            Ok(Event::Incoming(Packet::Publish(_))) => {
                c.received.fetch_add(1, Relaxed);
                c.last_received.store(report::now_ns(), Relaxed);
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!("petty-load: MQTT connection error: {e}");
                c.errors.fetch_add(1, Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

fn client(url: &str, id: &str, inflight: u16, subscribe: Option<(String, QoS)>) -> anyhow::Result<Client> {
    let (client, events) = AsyncClient::new(options(url, id, inflight)?, 4096);
    let (connected, ready) = watch::channel(false);
    let counters = Arc::new(Counters {
        connected,
        pubacks: AtomicU64::new(0),
        received: AtomicU64::new(0),
        last_received: AtomicU64::new(0),
        errors: AtomicU64::new(0),
    });
    let task = tokio::spawn(drive(events, client.clone(), subscribe, Arc::clone(&counters)));
    Ok(Client { client, counters, ready, task })
}

struct Client {
    client: AsyncClient,
    counters: Arc<Counters>,
    ready: watch::Receiver<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Client {
    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        tokio::time::timeout(Duration::from_secs(10), self.ready.wait_for(|r| *r))
            .await
            .context("the broker did not accept the connection within 10 s")?
            .context("MQTT event loop ended")?;
        Ok(())
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn payload(device: &Device, seq: u64) -> Vec<u8> {
    format!(r#"{{"token":"{}","ts":{},"seq":{seq},"heart_rate":{}}}"#, device.token, http::epoch_ms(), 60 + seq % 100)
        .into_bytes()
}

fn topic(device: &Device) -> String {
    format!("petty/v1/devices/{}/readings", device.id)
}

/// Publishes `messages` readings round-robin over `devices`; returns when the client has taken
/// the last one (QoS 0: written or queued for writing; QoS 1: within the in-flight window).
async fn publish_all(c: &Client, devices: &[Device], messages: u64, q: QoS) -> anyhow::Result<u64> {
    let topics: Vec<String> = devices.iter().map(topic).collect();
    let mut failed = 0;
    for seq in 0..messages {
        let d = (seq % devices.len() as u64) as usize;
        if c.client.publish(topics[d].clone(), q, false, payload(&devices[d], seq)).await.is_err() {
            failed += 1;
        }
    }
    Ok(failed)
}

pub(crate) async fn run(addr: SocketAddr, o: Args) -> anyhow::Result<()> {
    let q = qos(o.qos)?;
    if o.devices == 0 || o.messages == 0 {
        bail!("--devices and --messages must be positive");
    }
    if o.relay_only {
        return relay(o, q).await;
    }
    let household = http::household(addr, o.devices).await?;
    let devices = household.devices;
    let mut metrics = Conn::connect(addr).await?;
    let mut publisher = client(&o.mqtt, "pub", o.inflight, None)?;
    publisher.wait_ready().await?;

    // Petty subscribes after it connects; probe until one reading is stored, so that none of
    // the measured QoS 0 messages is published before anyone listens.
    let probe_start = http::metric(&mut metrics, STORED).await?;
    let mut probes = 0u64;
    let waited = Instant::now();
    loop {
        let d = &devices[0];
        publisher.client.publish(topic(d), QoS::AtLeastOnce, false, payload(d, 1_000_000_000_000 + probes)).await?;
        probes += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
        if http::metric(&mut metrics, STORED).await? > probe_start {
            break;
        }
        if waited.elapsed() > Duration::from_secs(30) {
            bail!("Petty stored none of {probes} probe readings in 30 s: is it started with --mqtt-url {}?", o.mqtt);
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stored0 = http::metric(&mut metrics, STORED).await?;
    let rejected0 = http::metric(&mut metrics, REJECTED).await?;
    let failed0 = http::metric(&mut metrics, FAILED).await?;
    let cpu0 = o.pid.map(report::cpu_ticks).transpose()?;
    let rss0 = o.pid.map(report::rss_kib).transpose()?;

    // The poller: Petty's stored counter every 50 ms until all are stored or nothing moves.
    let target = stored0 + o.messages as f64;
    let done_publishing = Arc::new(AtomicU64::new(0));
    let stall = Duration::from_secs_f64(o.stall);
    let pid = o.pid;
    let poller = {
        let done_publishing = Arc::clone(&done_publishing);
        tokio::spawn(async move {
            let mut last_value = stored0;
            let mut last_change = Instant::now();
            let mut max_rss = 0u64;
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let v = http::metric(&mut metrics, STORED).await?;
                if let Some(pid) = pid {
                    max_rss = max_rss.max(report::rss_kib(pid).unwrap_or(0));
                }
                if v > last_value {
                    last_value = v;
                    last_change = Instant::now();
                }
                if v >= target {
                    break;
                }
                if done_publishing.load(Relaxed) == 1 && last_change.elapsed() > stall {
                    break;
                }
            }
            anyhow::Ok((last_value, last_change, max_rss, metrics))
        })
    };

    let machine_before = report::Snapshot::take(o.pid);
    let t0 = Instant::now();
    let publish_failed = publish_all(&publisher, &devices, o.messages, q).await?;
    let published_at = t0.elapsed().as_secs_f64();
    let mut acked_at = None;
    if q == QoS::AtLeastOnce {
        let base = probes;
        while publisher.counters.pubacks.load(Relaxed) < base + o.messages && t0.elapsed() < Duration::from_secs(120) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        acked_at = Some(t0.elapsed().as_secs_f64());
    }
    done_publishing.store(1, Relaxed);
    let (stored_final, last_change, max_rss, mut metrics) = poller.await??;
    let machine = report::Snapshot::take(o.pid).since(&machine_before, o.pid);
    let secs = last_change.duration_since(t0).as_secs_f64();
    let stored = stored_final - stored0;
    let rate = stored / secs;
    let cpu1 = o.pid.map(report::cpu_ticks).transpose()?;
    let rejected = http::metric(&mut metrics, REJECTED).await? - rejected0;
    let failed = http::metric(&mut metrics, FAILED).await? - failed0;

    // Cross-check in the database: readings per device through the day rollups.
    let mut in_rollups = 0u64;
    for d in &devices {
        let path = format!("/api/v1/devices/{}/rollups?metric=heart_rate&resolution=1d", d.id);
        let answer = metrics.request("GET", &path, Some(&household.access_token), None).await?;
        if answer.status != 200 {
            bail!("{path} answered {}: {}", answer.status, answer.text());
        }
        let v = answer.json()?;
        let items = v.get("items").and_then(|i| i.as_array()).context("rollups without items")?;
        in_rollups += items.iter().filter_map(|i| i.get("count").and_then(|c| c.as_u64())).sum::<u64>();
    }

    println!("== mqtt (Petty, QoS {})", o.qos);
    println!(
        "published {} readings over {} devices at QoS {} in {published_at:.2} s ({:.0} msg/s taken by the broker{}); publish errors {publish_failed}",
        o.messages,
        o.devices,
        o.qos,
        o.messages as f64 / published_at,
        acked_at.map(|a| format!("; all PUBACKed after {a:.2} s")).unwrap_or_default()
    );
    let complete = stored >= o.messages as f64;
    println!(
        "Petty stored {stored:.0} of {} ({:.2}%) by {secs:.2} s after the first publish: {rate:.0} readings/s; rejected {rejected:.0}, failed {failed:.0}{}",
        o.messages,
        stored / o.messages as f64 * 100.0,
        if complete {
            String::new()
        } else {
            format!(
                " — INCOMPLETE: nothing more was stored for {:.0} s, so the rate covers only what was stored",
                o.stall
            )
        }
    );
    println!(
        "day rollups count {in_rollups} heart_rate readings ({} probes before the run + {} measured expected)",
        probes, o.messages
    );
    let mut result = format!(
        "RESULT scenario=mqtt qos={} messages={} devices={} publish_secs={published_at:.3} publish_rate={:.0} complete={} stored={stored:.0} stored_secs={secs:.3} stored_rate={rate:.0} rejected={rejected:.0} failed={failed:.0} rollup_count={in_rollups} probes={probes}",
        o.qos,
        o.messages,
        o.devices,
        o.messages as f64 / published_at,
        u8::from(complete)
    );
    if let (Some(c0), Some(c1), Some(r0)) = (cpu0, cpu1, rss0) {
        let cpu_s = (c1 - c0) as f64 / 100.0;
        println!(
            "Petty CPU {cpu_s:.2} s ({:.1} µs per stored reading, {:.0}% of a core over {secs:.2} s); VmRSS {r0} KiB before, max {max_rss} KiB while polling",
            cpu_s * 1e6 / stored.max(1.0),
            cpu_s / secs * 100.0
        );
        result.push_str(&format!(
            " cpu_us_per_reading={:.1} rss_before_kib={r0} rss_max_kib={max_rss}",
            cpu_s * 1e6 / stored.max(1.0)
        ));
    }
    println!("machine from the first publish to the end of polling: {machine}");
    println!("{result}");
    Ok(())
}

/// The broker's relay with the same publisher: a subscriber in this process counts.
async fn relay(o: Args, q: QoS) -> anyhow::Result<()> {
    let devices: Vec<Device> = (0..o.devices)
        .map(|i| Device { id: format!("00000000-0000-7000-8000-{i:012}"), token: format!("dk_relay{i:024}") })
        .collect();
    let mut subscriber = client(&o.mqtt, "sub", o.inflight, Some(("petty/v1/devices/+/readings".to_owned(), q)))?;
    subscriber.wait_ready().await?;
    let mut publisher = client(&o.mqtt, "pub", o.inflight, None)?;
    publisher.wait_ready().await?;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let machine_before = report::Snapshot::take(None);
    let t0 = Instant::now();
    let t0_ns = report::now_ns();
    let publish_failed = publish_all(&publisher, &devices, o.messages, q).await?;
    let published_at = t0.elapsed().as_secs_f64();
    let stall = Duration::from_secs_f64(o.stall);
    let mut last = 0;
    let mut last_change = Instant::now();
    loop {
        let got = subscriber.counters.received.load(Relaxed);
        if got >= o.messages {
            break;
        }
        if got > last {
            last = got;
            last_change = Instant::now();
        } else if last_change.elapsed() > stall {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let machine = report::Snapshot::take(None).since(&machine_before, None);
    let received = subscriber.counters.received.load(Relaxed);
    let last_ns = subscriber.counters.last_received.load(Relaxed);
    let secs = last_ns.saturating_sub(t0_ns) as f64 / 1e9;
    println!("== mqtt relay (broker only, QoS {})", o.qos);
    println!(
        "published {} at QoS {} in {published_at:.2} s ({:.0} msg/s); subscriber received {received} by {secs:.2} s: {:.0} msg/s; publish errors {publish_failed}",
        o.messages,
        o.qos,
        o.messages as f64 / published_at,
        received as f64 / secs
    );
    println!("machine: {machine}");
    println!(
        "RESULT scenario=mqtt-relay qos={} messages={} publish_rate={:.0} complete={} received={received} secs={secs:.3} relay_rate={:.0}",
        o.qos,
        o.messages,
        o.messages as f64 / published_at,
        u8::from(received >= o.messages),
        received as f64 / secs
    );
    Ok(())
}
