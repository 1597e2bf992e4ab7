//! `ws-latency` and `soak`: readings at a fixed offered rate over a pool of keep-alive HTTP/1.1
//! connections, with WebSocket subscribers on the device topics.
//!
//! **Open loop.** Reading `i` (0-based) is due at `t0 + i / rate`, goes to device `i % devices`
//! with `seq = i` and `ts` = now, and is sent on connection `i % connections`. A connection
//! sends its next reading at its due time, or as soon as the previous answer on *that*
//! connection is in (then it is late, and counted); other connections never wait for it.
//!
//! **Latencies.** Ingest: from the moment the request was written to the moment its answer
//! was read (and, corrected for coordinated omission, from its due time). Delivery: from the
//! moment the request was written to the moment the subscriber read the `event` frame carrying
//! that device's `seq`. One process on one thread does both, so both ends use the same clock,
//! and the write time is recorded before any event for it can be read.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::StreamExt;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::http::{self, Conn};
use crate::report::{self, Percentiles, now_ns};
use crate::ws::{self, Frame, Socket};

macro_rules! stream_args {
    ($(#[$meta:meta])* $name:ident, devices = $devices:expr, rate = $rate:expr, duration = $duration:expr) => {
        $(#[$meta])*
        #[derive(clap::Args, Clone)]
        pub(crate) struct $name {
            /// Devices; readings go round-robin over them.
            #[arg(long, default_value_t = $devices)]
            pub(crate) devices: usize,
            /// WebSocket subscribers per device topic `device:{id}` (0: none).
            #[arg(long, default_value_t = 1)]
            pub(crate) subscribers_per_device: usize,
            /// Offered readings per second, in total.
            #[arg(long, default_value_t = $rate)]
            pub(crate) rate: f64,
            /// Seconds of sending.
            #[arg(long, default_value_t = $duration)]
            pub(crate) duration: f64,
            /// Keep-alive HTTP/1.1 connections the readings are spread over.
            #[arg(long, default_value_t = 100)]
            pub(crate) connections: usize,
            /// The server's pid: its RSS and CPU time are sampled every second.
            #[arg(long)]
            pub(crate) pid: Option<u32>,
            /// RSS growth is measured from the first sample at least this many seconds in.
            #[arg(long, default_value_t = 5.0)]
            pub(crate) rss_warmup: f64,
            /// After the last send, how long to wait for outstanding events.
            #[arg(long, default_value_t = 3.0)]
            pub(crate) grace: f64,
            /// A send more than this many milliseconds behind its due time counts as late.
            #[arg(long, default_value_t = 5.0)]
            pub(crate) late_ms: f64,
            /// WebSocket handshakes in progress at once while subscribing.
            #[arg(long, default_value_t = 64)]
            pub(crate) connect_concurrency: usize,
            /// With --pid: seconds to wait at least, after setup, for the server's RSS to settle.
            #[arg(long, default_value_t = 12.0)]
            pub(crate) settle: f64,
        }
    };
}

stream_args!(Args, devices = 1000, rate = 1000.0, duration = 30.0);
stream_args!(SoakArgs, devices = 100, rate = 2315.0, duration = 60.0);

impl From<SoakArgs> for Args {
    fn from(s: SoakArgs) -> Self {
        Self {
            devices: s.devices,
            subscribers_per_device: s.subscribers_per_device,
            rate: s.rate,
            duration: s.duration,
            connections: s.connections,
            pid: s.pid,
            rss_warmup: s.rss_warmup,
            grace: s.grace,
            late_ms: s.late_ms,
            connect_concurrency: s.connect_concurrency,
            settle: s.settle,
        }
    }
}

/// What every task writes into; one slot per reading.
struct Shared {
    devices: usize,
    sent_at: Vec<AtomicU64>,
    answered_at: Vec<AtomicU64>,
    /// 0: no answer (connection error or timeout).
    status: Vec<AtomicU16>,
    /// Events received per reading.
    delivered: Vec<AtomicU16>,
    /// Write → event latencies, ns.
    deliveries: Mutex<Vec<u64>>,
    dropped_notices: AtomicU64,
    dropped_events: AtomicU64,
    error_frames: AtomicU64,
    /// Events that match no reading of this run (wrong topic or seq).
    unmatched: AtomicU64,
    /// Subscriber sockets that ended during the run.
    closed: AtomicU64,
    /// Client-side failures (connect, write, read, timeout), by description.
    failures: Mutex<BTreeMap<String, u64>>,
    /// First body of each non-2xx status.
    bad_bodies: Mutex<BTreeMap<u16, String>>,
}

impl Shared {
    fn fail(&self, what: String) {
        if let Ok(mut f) = self.failures.lock() {
            *f.entry(what).or_default() += 1;
        }
    }
}

/// Opens `count` subscribers (socket `j` on device `j % devices`), each reading frames into
/// `on_frame` from the moment its subscription is confirmed; returns their tasks once all are
/// confirmed. Fails if any could not subscribe.
pub(crate) async fn open_subscribers<F>(
    addr: SocketAddr,
    token: &str,
    topics: &[String],
    count: usize,
    concurrency: usize,
    on_frame: F,
) -> anyhow::Result<Vec<JoinHandle<()>>>
where
    F: Fn(usize, Option<&Frame<'_>>) + Clone + Send + 'static,
{
    let gate = Arc::new(Semaphore::new(concurrency.max(1)));
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<Result<(), String>>();
    let mut tasks = Vec::with_capacity(count);
    let started = Instant::now();
    for j in 0..count {
        let permit = Arc::clone(&gate).acquire_owned().await?;
        let topic_index = j % topics.len().max(1);
        let topic = topics.get(topic_index).cloned().context("no topics")?;
        let token = token.to_owned();
        let ready = ready_tx.clone();
        let on_frame = on_frame.clone();
        tasks.push(tokio::spawn(async move {
            let socket = ws::subscribe(addr, &token, &topic).await;
            drop(permit);
            match socket {
                Ok(socket) => {
                    let _ = ready.send(Ok(()));
                    listen(socket, topic_index, on_frame).await;
                }
                Err(e) => {
                    let _ = ready.send(Err(format!("{e:#}")));
                }
            }
        }));
    }
    drop(ready_tx);
    let mut failed = Vec::new();
    for _ in 0..count {
        match ready_rx.recv().await {
            Some(Ok(())) => {}
            Some(Err(e)) => failed.push(e),
            None => break,
        }
    }
    if !failed.is_empty() {
        for t in &tasks {
            t.abort();
        }
        bail!("{} of {count} subscribers failed; first: {}", failed.len(), failed[0]);
    }
    eprintln!("petty-load: {count} subscribers ready in {:.1} s", started.elapsed().as_secs_f64());
    Ok(tasks)
}

/// Reads frames until the socket ends; `on_frame(topic index, None)` marks the end.
async fn listen<F>(mut socket: Socket, topic_index: usize, on_frame: F)
where
    F: Fn(usize, Option<&Frame<'_>>),
{
    while let Some(message) = socket.next().await {
        match message {
            Ok(Message::Text(text)) => match serde_json::from_str::<Frame<'_>>(text.as_str()) {
                Ok(frame) => on_frame(topic_index, Some(&frame)),
                Err(_) => on_frame(topic_index, Some(&Frame::unparsable())),
            },
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    on_frame(topic_index, None);
}

impl Frame<'_> {
    fn unparsable() -> Frame<'static> {
        Frame { kind: "unparsable".into(), count: 0, data: None, message: None }
    }
}

pub(crate) async fn run(addr: SocketAddr, o: Args, scenario: &str) -> anyhow::Result<()> {
    if o.devices == 0 || o.rate <= 0.0 || o.duration <= 0.0 || o.connections == 0 {
        bail!("--devices, --rate, --duration and --connections must be positive");
    }
    let total = (o.rate * o.duration).round() as usize;
    let sockets = o.devices * o.subscribers_per_device;
    report::check_open_files((sockets + o.connections + 64) as u64)?;
    let started = Instant::now();
    let household = http::household(addr, o.devices).await?;
    eprintln!(
        "petty-load: household {} with {} devices in {:.1} s",
        household.household_id,
        o.devices,
        started.elapsed().as_secs_f64()
    );

    let shared = Arc::new(Shared {
        devices: o.devices,
        sent_at: (0..total).map(|_| AtomicU64::new(0)).collect(),
        answered_at: (0..total).map(|_| AtomicU64::new(0)).collect(),
        status: (0..total).map(|_| AtomicU16::new(0)).collect(),
        delivered: (0..total).map(|_| AtomicU16::new(0)).collect(),
        deliveries: Mutex::new(Vec::with_capacity(total * o.subscribers_per_device)),
        dropped_notices: AtomicU64::new(0),
        dropped_events: AtomicU64::new(0),
        error_frames: AtomicU64::new(0),
        unmatched: AtomicU64::new(0),
        closed: AtomicU64::new(0),
        failures: Mutex::new(BTreeMap::new()),
        bad_bodies: Mutex::new(BTreeMap::new()),
    });

    let topics: Vec<String> = household.devices.iter().map(|d| format!("device:{}", d.id)).collect();
    let subscribers = if sockets > 0 {
        let shared = Arc::clone(&shared);
        let on_frame = move |device: usize, frame: Option<&Frame<'_>>| on_event(&shared, device, frame);
        open_subscribers(addr, &household.access_token, &topics, sockets, o.connect_concurrency, on_frame).await?
    } else {
        Vec::new()
    };
    match o.pid {
        Some(pid) => {
            report::settle_rss(pid, o.settle).await?;
        }
        None => tokio::time::sleep(Duration::from_millis(500)).await,
    }

    // The schedule starts a little ahead, so that every sender is waiting for its first slot.
    let t0 = Instant::now() + Duration::from_millis(200);
    let t0_ns = now_ns() + 200_000_000;
    let samples = Arc::new(Mutex::new(Vec::new()));
    let sampler = o.pid.map(|pid| tokio::spawn(sample(pid, t0, Arc::clone(&samples))));
    let cpu_before = o.pid.map(report::cpu_ticks).transpose()?;
    let machine_before = report::Snapshot::take(o.pid);
    let tokens: Arc<Vec<String>> = Arc::new(household.devices.iter().map(|d| d.token.clone()).collect());
    let mut senders = Vec::with_capacity(o.connections);
    for c in 0..o.connections.min(total) {
        let shared = Arc::clone(&shared);
        let tokens = Arc::clone(&tokens);
        let plan = Plan { first: c, step: o.connections, total, rate: o.rate, t0 };
        senders.push(tokio::spawn(send_readings(addr, plan, shared, tokens)));
    }
    for s in senders {
        s.await?;
    }
    let send_end = Instant::now();
    let cpu_after = o.pid.map(report::cpu_ticks).transpose()?;
    let machine = report::Snapshot::take(o.pid).since(&machine_before, o.pid);
    let wall = send_end.duration_since(t0).as_secs_f64();

    // Wait for the events still on their way.
    let expected_events: usize =
        shared.status.iter().filter(|s| (200..300).contains(&s.load(Relaxed))).count() * o.subscribers_per_device;
    let grace_end = Instant::now() + Duration::from_secs_f64(o.grace);
    while Instant::now() < grace_end {
        let got = shared.deliveries.lock().map(|d| d.len()).unwrap_or(0);
        if got >= expected_events {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if let Some(task) = sampler {
        task.abort();
    }
    let rss_samples = samples.lock().map(|s| s.clone()).unwrap_or_default();
    for s in &subscribers {
        s.abort();
    }

    let measured = Measured { t0_ns, wall, cpu: cpu_before.zip(cpu_after), rss: &rss_samples, machine: &machine };
    print_report(scenario, &o, &shared, &measured);
    Ok(())
}

fn on_event(shared: &Shared, device: usize, frame: Option<&Frame<'_>>) {
    let Some(frame) = frame else {
        shared.closed.fetch_add(1, Relaxed);
        return;
    };
    match frame.kind.as_ref() {
        "event" => {
            let at = now_ns();
            let seq = frame.data.as_ref().and_then(|d| d.seq).and_then(|s| usize::try_from(s).ok());
            let Some(i) = seq.filter(|i| *i < shared.sent_at.len() && i % shared.devices == device) else {
                shared.unmatched.fetch_add(1, Relaxed);
                return;
            };
            let sent = shared.sent_at[i].load(Relaxed);
            if sent == 0 {
                shared.unmatched.fetch_add(1, Relaxed);
                return;
            }
            shared.delivered[i].fetch_add(1, Relaxed);
            if let Ok(mut d) = shared.deliveries.lock() {
                d.push(at.saturating_sub(sent));
            }
        }
        "dropped" => {
            shared.dropped_notices.fetch_add(1, Relaxed);
            shared.dropped_events.fetch_add(frame.count, Relaxed);
        }
        "error" | "unparsable" => {
            shared.error_frames.fetch_add(1, Relaxed);
        }
        _ => {}
    }
}

/// Which readings one connection sends: `first`, `first + step`, ... below `total`.
struct Plan {
    first: usize,
    step: usize,
    total: usize,
    rate: f64,
    t0: Instant,
}

async fn send_readings(addr: SocketAddr, plan: Plan, shared: Arc<Shared>, tokens: Arc<Vec<String>>) {
    let mut conn: Option<Conn> = None;
    let mut i = plan.first;
    while i < plan.total {
        let due = plan.t0 + Duration::from_secs_f64(i as f64 / plan.rate);
        tokio::time::sleep_until(due.into()).await;
        let index = i;
        i += plan.step;
        if conn.is_none() {
            match Conn::connect(addr).await {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    shared.fail(format!("connect: {}", e.root_cause()));
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        let device = index % shared.devices;
        let body = format!(r#"{{"ts":{},"seq":{index},"heart_rate":{}}}"#, http::epoch_ms(), 60 + index % 100);
        let token = tokens.get(device).map(String::as_str);
        let request = c.format("POST", "/api/v1/ingest", token, Some(body.as_bytes()));
        if let Err(e) = c.send(&request).await {
            shared.fail(format!("write: {}", e.root_cause()));
            conn = None;
            continue;
        }
        shared.sent_at[index].store(now_ns(), Relaxed);
        match tokio::time::timeout(Duration::from_secs(30), c.read_response()).await {
            Ok(Ok(answer)) => {
                shared.answered_at[index].store(now_ns(), Relaxed);
                shared.status[index].store(answer.status, Relaxed);
                if !(200..300).contains(&answer.status)
                    && let Ok(mut bodies) = shared.bad_bodies.lock()
                {
                    bodies.entry(answer.status).or_insert_with(|| answer.text());
                }
            }
            Ok(Err(e)) => {
                shared.fail(format!("read: {}", e.root_cause()));
                conn = None;
            }
            Err(_) => {
                shared.fail("no answer within 30 s".to_owned());
                conn = None;
            }
        }
    }
}

/// One server reading: seconds since t0, VmRSS KiB, CPU ticks.
pub(crate) type Sample = (f64, u64, u64);

/// Reads the server's RSS and CPU time each second from `t0` into `out`.
pub(crate) async fn sample(pid: u32, t0: Instant, out: Arc<Mutex<Vec<Sample>>>) {
    let mut tick = tokio::time::interval_at(t0.into(), Duration::from_secs(1));
    loop {
        tick.tick().await;
        let (Ok(rss), Ok(cpu)) = (report::rss_kib(pid), report::cpu_ticks(pid)) else { return };
        if let Ok(mut s) = out.lock() {
            s.push((t0.elapsed().as_secs_f64(), rss, cpu));
        }
    }
}

/// The p99 and the maximum of write → answer for the readings due in each second of the run,
/// as two space-separated lists.
fn per_second(shared: &Shared, rate: f64) -> (String, String) {
    let per = rate.max(1.0) as usize;
    let mut p99s = Vec::new();
    let mut maxes = Vec::new();
    for chunk in (0..shared.sent_at.len()).collect::<Vec<_>>().chunks(per) {
        let mut lat: Vec<u64> = chunk
            .iter()
            .filter_map(|&i| {
                let (s, a) = (shared.sent_at[i].load(Relaxed), shared.answered_at[i].load(Relaxed));
                (s != 0 && a != 0).then(|| a.saturating_sub(s))
            })
            .collect();
        let p = Percentiles::of(&mut lat);
        let short = |ms: f64| if ms < 10.0 { format!("{ms:.1}") } else { format!("{ms:.0}") };
        p99s.push(short(p.p99));
        maxes.push(short(p.max));
    }
    (p99s.join(" "), maxes.join(" "))
}

/// What was measured besides the per-reading slots.
struct Measured<'a> {
    t0_ns: u64,
    /// Seconds from t0 to the last answer.
    wall: f64,
    /// Server CPU ticks before and after.
    cpu: Option<(u64, u64)>,
    rss: &'a [Sample],
    machine: &'a str,
}

fn print_report(scenario: &str, o: &Args, shared: &Shared, m: &Measured<'_>) {
    let Measured { t0_ns, wall, cpu, rss, machine } = *m;
    let total = shared.sent_at.len();
    let due = |i: usize| t0_ns + (i as f64 * 1e9 / o.rate) as u64;
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    let (mut sent, mut late, mut max_late) = (0u64, 0u64, 0u64);
    let mut ingest = Vec::with_capacity(total);
    let mut corrected = Vec::with_capacity(total);
    let (mut missing, mut duplicate, mut delivered_unacked) = (0u64, 0u64, 0u64);
    let late_ns = (o.late_ms * 1e6) as u64;
    let subs = o.subscribers_per_device as u64;
    for i in 0..total {
        let s = shared.sent_at[i].load(Relaxed);
        if s == 0 {
            continue;
        }
        sent += 1;
        let lateness = s.saturating_sub(due(i));
        max_late = max_late.max(lateness);
        if lateness > late_ns {
            late += 1;
        }
        let status = shared.status[i].load(Relaxed);
        *statuses.entry(status).or_default() += 1;
        let a = shared.answered_at[i].load(Relaxed);
        if a != 0 {
            ingest.push(a.saturating_sub(s));
            corrected.push(a.saturating_sub(due(i)));
        }
        let got = u64::from(shared.delivered[i].load(Relaxed));
        if (200..300).contains(&status) {
            missing += subs.saturating_sub(got);
            duplicate += got.saturating_sub(subs);
        } else {
            delivered_unacked += got;
        }
    }
    let timeline = per_second(shared, o.rate);
    let acked: u64 = statuses.iter().filter(|(s, _)| (200..300).contains(*s)).map(|(_, n)| n).sum();
    let errors = sent - acked;
    let over_100 = ingest.iter().filter(|&&l| l > 100_000_000).count();
    let over_100_corrected = corrected.iter().filter(|&&l| l > 100_000_000).count();
    let ingest = Percentiles::of(&mut ingest);
    let corrected = Percentiles::of(&mut corrected);
    let mut deliveries = shared.deliveries.lock().map(|d| d.clone()).unwrap_or_default();
    let delivery = Percentiles::of(&mut deliveries);
    let expected = acked * subs;
    let status_text: Vec<String> =
        statuses.iter().map(|(s, n)| if *s == 0 { format!("no-answer:{n}") } else { format!("{s}:{n}") }).collect();
    let failures = shared.failures.lock().map(|f| f.clone()).unwrap_or_default();

    println!("== {scenario}");
    println!(
        "offered {:.0} readings/s for {:.1} s to {} devices over {} keep-alive connections; {} subscribers ({} per device topic)",
        o.rate,
        o.duration,
        o.devices,
        o.connections,
        o.devices * o.subscribers_per_device,
        o.subscribers_per_device
    );
    println!(
        "scheduled {total}, sent {sent} ({:.0}/s achieved over {wall:.1} s), late (> {} ms behind schedule) {late}, max lateness {:.2} ms",
        sent as f64 / wall,
        o.late_ms,
        max_late as f64 / 1e6
    );
    println!("answers by status: {}; acknowledged (2xx) {acked}, errors {errors}", status_text.join(" "));
    for (what, n) in &failures {
        println!("  client-side failure x{n}: {what}");
    }
    if let Ok(bodies) = shared.bad_bodies.lock() {
        for (status, body) in bodies.iter() {
            println!("  first {status} body: {}", body.chars().take(300).collect::<String>());
        }
    }
    println!("ingest latency, write → answer:        {}", ingest.line());
    println!("ingest latency, due time → answer:     {}", corrected.line());
    println!("requests over 100 ms: {over_100} (from write), {over_100_corrected} (from due time)");
    println!("write → answer by second of due time, p99 (ms): {}", timeline.0);
    println!("write → answer by second of due time, max (ms): {}", timeline.1);
    println!(
        "delivery, write → WebSocket event:     {} (delivered {} of {expected} expected; missing {missing}; duplicates {duplicate}; events for non-2xx readings {delivered_unacked})",
        delivery.line(),
        delivery.count
    );
    println!(
        "WebSocket: dropped notices {} (events dropped by the server: {}), error frames {}, unmatched events {}, sockets closed early {}",
        shared.dropped_notices.load(Relaxed),
        shared.dropped_events.load(Relaxed),
        shared.error_frames.load(Relaxed),
        shared.unmatched.load(Relaxed),
        shared.closed.load(Relaxed)
    );
    let mut result = format!(
        "RESULT scenario={scenario} devices={} subscribers={} rate={} duration={} connections={} scheduled={total} sent={sent} acked={acked} errors={errors} late={late} max_late_ms={:.2} statuses={} ingest_p50_ms={:.3} ingest_p90_ms={:.3} ingest_p99_ms={:.3} ingest_max_ms={:.3} ingest_corrected_p99_ms={:.3} over_100ms={over_100} over_100ms_corrected={over_100_corrected} delivered={} expected={expected} missing={missing} duplicates={duplicate} dropped_notices={} dropped_events={} delivery_p50_ms={:.3} delivery_p90_ms={:.3} delivery_p99_ms={:.3} delivery_max_ms={:.3}",
        o.devices,
        o.devices * o.subscribers_per_device,
        o.rate,
        o.duration,
        o.connections,
        max_late as f64 / 1e6,
        status_text.join(","),
        ingest.p50,
        ingest.p90,
        ingest.p99,
        ingest.max,
        corrected.p99,
        delivery.count,
        shared.dropped_notices.load(Relaxed),
        shared.dropped_events.load(Relaxed),
        delivery.p50,
        delivery.p90,
        delivery.p99,
        delivery.max,
    );
    if let Some((before, after)) = cpu {
        let cpu_s = (after - before) as f64 / 100.0;
        println!(
            "server CPU: {cpu_s:.2} s over {wall:.1} s ({:.0}% of a core), {:.1} µs per reading sent",
            cpu_s / wall * 100.0,
            cpu_s * 1e6 / sent.max(1) as f64
        );
        result.push_str(&format!(
            " server_cpu_pct={:.1} cpu_us_per_reading={:.1}",
            cpu_s / wall * 100.0,
            cpu_s * 1e6 / sent.max(1) as f64
        ));
    }
    if !rss.is_empty() {
        let first = rss.iter().find(|(t, _, _)| *t >= o.rss_warmup - 0.05).or(rss.first());
        let last = rss.last();
        let line: Vec<String> = rss.iter().map(|(_, k, _)| format!("{}", k / 1024)).collect();
        println!("server VmRSS each second (MiB): {}", line.join(" "));
        if let (Some(&(t1, r1, _)), Some(&(t2, r2, _))) = (first, last) {
            let growth = (r2 as f64 - r1 as f64) / r1 as f64 * 100.0;
            println!(
                "server VmRSS: {r1} KiB at {t1:.0} s → {r2} KiB at {t2:.0} s: growth {growth:+.1}% (max {} KiB)",
                rss.iter().map(|s| s.1).max().unwrap_or(0)
            );
            result.push_str(&format!(" rss_first_kib={r1} rss_last_kib={r2} rss_growth_pct={growth:.1}"));
        }
    }
    println!("machine while sending: {machine}");
    println!("{result}");
}
