//! `idle-ws`: many authenticated WebSockets, each subscribed to one device topic, doing nothing.
//! The server's VmRSS before the first socket and after the last (after a settle time, and
//! again after holding them past Petty's 30 s heartbeat) gives its memory per connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crate::http::{self, Conn};
use crate::report;
use crate::stream::open_subscribers;
use crate::ws::Frame;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Sockets to open.
    #[arg(long, default_value_t = 10_000)]
    pub sockets: usize,
    /// Devices whose topics the sockets subscribe to (socket j: device j % devices).
    #[arg(long, default_value_t = 100)]
    pub devices: usize,
    /// The server's pid (its /proc/PID/status is read).
    #[arg(long)]
    pub pid: u32,
    /// Seconds at least between the last subscription and the "after" reading (then until the
    /// RSS is steady).
    #[arg(long, default_value_t = 5.0)]
    pub settle: f64,
    /// Then hold the sockets this much longer (past a heartbeat) and read again; 0: don't.
    #[arg(long, default_value_t = 35.0)]
    pub hold: f64,
    /// WebSocket handshakes in progress at once.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
    /// Seconds to wait at least, after setup, for the server's RSS to settle.
    #[arg(long, default_value_t = 12.0)]
    pub settle_before: f64,
}

pub(crate) async fn run(addr: SocketAddr, o: Args) -> anyhow::Result<()> {
    report::check_open_files(o.sockets as u64 + 64)?;
    let household = http::household(addr, o.devices.max(1)).await?;
    let topics: Vec<String> = household.devices.iter().map(|d| format!("device:{}", d.id)).collect();
    let before = report::settle_rss(o.pid, o.settle_before).await?;

    let closed = Arc::new(AtomicU64::new(0));
    let frames = Arc::new(AtomicU64::new(0));
    let on_frame = {
        let (closed, frames) = (Arc::clone(&closed), Arc::clone(&frames));
        move |_: usize, frame: Option<&Frame<'_>>| match frame {
            None => {
                closed.fetch_add(1, Relaxed);
            }
            Some(_) => {
                frames.fetch_add(1, Relaxed);
            }
        }
    };
    let started = Instant::now();
    let sockets =
        open_subscribers(addr, &household.access_token, &topics, o.sockets, o.connect_concurrency, on_frame).await?;
    let connect_secs = started.elapsed().as_secs_f64();
    let peak_during_connect = report::status_kib(o.pid, "VmHWM")?;
    let after = report::settle_rss(o.pid, o.settle).await?;
    let settled_secs = started.elapsed().as_secs_f64() - connect_secs;
    let per_conn = (after as f64 - before as f64) / o.sockets as f64;
    let mut conn = Conn::connect(addr).await?;
    let gauge = http::metric(&mut conn, "petty_ws_connections").await?;

    println!("== idle-ws");
    println!(
        "{} authenticated sockets (bearer header on the upgrade), each subscribed to one of {} device topics; opened in {connect_secs:.1} s, {} at a time",
        o.sockets, o.devices, o.connect_concurrency
    );
    println!("server petty_ws_connections gauge: {gauge}");
    println!("server VmRSS before the first socket: {before} KiB");
    println!(
        "server VmRSS {settled_secs:.0} s after the last subscription (settled): {after} KiB → {per_conn:.2} KiB per connection"
    );
    let mut result = format!(
        "RESULT scenario=idle-ws sockets={} devices={} connect_secs={connect_secs:.1} rss_before_kib={before} rss_after_kib={after} kib_per_conn={per_conn:.2} gauge={gauge}",
        o.sockets, o.devices
    );
    if o.hold > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(o.hold)).await;
        let held = report::rss_kib(o.pid)?;
        let per_conn_held = (held as f64 - before as f64) / o.sockets as f64;
        let gauge_held = http::metric(&mut conn, "petty_ws_connections").await?;
        println!(
            "server VmRSS {:.0} s after the last subscription (past the 30 s heartbeat): {held} KiB → {per_conn_held:.2} KiB per connection; gauge {gauge_held}",
            settled_secs + o.hold
        );
        result.push_str(&format!(" rss_held_kib={held} kib_per_conn_held={per_conn_held:.2} gauge_held={gauge_held}"));
    }
    let hwm = report::status_kib(o.pid, "VmHWM")?;
    let own = report::rss_kib(std::process::id())?;
    println!(
        "server VmHWM {hwm} KiB (at the end of connecting: {peak_during_connect} KiB); sockets closed by the server: {}; frames received while idle: {}; load generator VmRSS {own} KiB",
        closed.load(Relaxed),
        frames.load(Relaxed)
    );
    result.push_str(&format!(" hwm_kib={hwm} closed={} idle_frames={}", closed.load(Relaxed), frames.load(Relaxed)));
    println!("{result}");
    for s in sockets {
        s.abort();
    }
    Ok(())
}
