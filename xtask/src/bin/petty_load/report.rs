//! What the scenarios share for measuring and reporting: one clock, percentiles, and what
//! `/proc` says about the server (RSS, CPU time) and about this process (open-file limit).

use std::sync::OnceLock;
use std::time::Instant;

use anyhow::{Context, bail};

static START: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds since the first call; never 0, so 0 can mean "not yet".
pub(crate) fn now_ns() -> u64 {
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64 + 1
}

/// Nearest-rank percentiles of a set of nanosecond samples, in milliseconds.
pub(crate) struct Percentiles {
    pub count: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Percentiles {
    pub(crate) fn of(samples: &mut [u64]) -> Self {
        samples.sort_unstable();
        let at = |q: f64| -> f64 {
            if samples.is_empty() {
                return f64::NAN;
            }
            let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            samples[rank - 1] as f64 / 1e6
        };
        Self { count: samples.len(), p50: at(0.50), p90: at(0.90), p99: at(0.99), p999: at(0.999), max: at(1.0) }
    }

    pub(crate) fn line(&self) -> String {
        format!(
            "n={} p50={:.2} p90={:.2} p99={:.2} p99.9={:.2} max={:.2} ms",
            self.count, self.p50, self.p90, self.p99, self.p999, self.max
        )
    }
}

/// `VmRSS` (or another `Vm*` line) of a process in KiB.
pub(crate) fn status_kib(pid: u32, key: &str) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).with_context(|| format!("read /proc/{pid}"))?;
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':')?.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("/proc/{pid}/status has no {key}"))
}

pub(crate) fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    status_kib(pid, "VmRSS")
}

/// utime + stime of a process (all threads) in clock ticks (100 per second on Linux).
pub(crate) fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let text =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).with_context(|| format!("read /proc/{pid}/stat"))?;
    // The command name may hold spaces; the fields after its closing parenthesis are fixed.
    let after = text.rsplit_once(')').map(|(_, rest)| rest).context("odd /proc/PID/stat")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `after` starts at field 3.
    let utime: u64 = fields.get(11).and_then(|v| v.parse().ok()).context("utime")?;
    let stime: u64 = fields.get(12).and_then(|v| v.parse().ok()).context("stime")?;
    Ok(utime + stime)
}

/// Fails early, with the fix, when this process may not open `needed` files.
pub(crate) fn check_open_files(needed: u64) -> anyhow::Result<()> {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(soft) = soft
        && soft < needed
    {
        bail!("this needs about {needed} open files but the limit is {soft}: run under `ulimit -n {needed}` or more");
    }
    Ok(())
}

/// How busy each core and the two processes were between two moments: the server's and the
/// load generator's share, and everything else that ran on the machine (other builds).
pub(crate) struct Snapshot {
    at: std::time::Instant,
    /// (busy, total) ticks per core from /proc/stat.
    cores: Vec<(u64, u64)>,
    server: Option<u64>,
    own: u64,
}

impl Snapshot {
    pub(crate) fn take(server: Option<u32>) -> Self {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let cores = stat
            .lines()
            .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
            .map(|l| {
                let v: Vec<u64> = l.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
                let total: u64 = v.iter().take(8).sum();
                let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
                (total - idle, total)
            })
            .collect();
        Self {
            at: std::time::Instant::now(),
            cores,
            server: server.and_then(|p| cpu_ticks(p).ok()),
            own: cpu_ticks(std::process::id()).unwrap_or(0),
        }
    }

    /// "busy core0 97% core1 55% over 10.0 s; server 60%, petty-load 40% of one core; other
    /// processes on core0 37%, core1 15%" (a process counts against a core when it is pinned
    /// to that core alone).
    pub(crate) fn since(&self, earlier: &Snapshot, server_pid: Option<u32>) -> String {
        let secs = self.at.duration_since(earlier.at).as_secs_f64().max(1e-9);
        let share = |a: u64, b: u64| a.saturating_sub(b) as f64 / 100.0 / secs * 100.0;
        let server_share = match (self.server, earlier.server) {
            (Some(a), Some(b)) => Some(share(a, b)),
            _ => None,
        };
        let own_share = share(self.own, earlier.own);
        let server_core = server_pid.and_then(pinned_core);
        let own_core = pinned_core(std::process::id());
        let mut busy = Vec::new();
        let mut other = Vec::new();
        for (i, ((b1, t1), (b0, t0))) in self.cores.iter().zip(&earlier.cores).enumerate() {
            let pct = (b1 - b0) as f64 / (t1 - t0).max(1) as f64 * 100.0;
            busy.push(format!("core{i} {pct:.0}%"));
            let mut rest = pct;
            if server_core == Some(i) {
                rest -= server_share.unwrap_or(0.0);
            }
            if own_core == Some(i) {
                rest -= own_share;
            }
            other.push(format!("core{i} {:.0}%", rest.max(0.0)));
        }
        let server = server_share.map(|s| format!("server {s:.0}%, ")).unwrap_or_default();
        format!(
            "busy {} over {secs:.1} s; {server}petty-load {own_share:.0}% of one core; other processes: {}",
            busy.join(" "),
            other.join(" ")
        )
    }
}

/// The one core a process may run on, if it is pinned to exactly one.
fn pinned_core(pid: u32) -> Option<usize> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let list = status.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?.trim();
    list.parse().ok()
}

/// Waits until the server's RSS has settled and returns it: at least `min_secs` (Petty hashes
/// the setup account's password with argon2 on a blocking thread, whose ~19 MiB the allocator
/// gives back only when that thread exits, 10 s after its last task), then until four readings
/// half a second apart agree within 1%, at most 30 s more.
pub(crate) async fn settle_rss(pid: u32, min_secs: f64) -> anyhow::Result<u64> {
    let started = std::time::Instant::now();
    tokio::time::sleep(std::time::Duration::from_secs_f64(min_secs)).await;
    let mut trail = Vec::new();
    loop {
        trail.push(rss_kib(pid)?);
        let recent = &trail[trail.len().saturating_sub(4)..];
        let (lo, hi) = (recent.iter().min().copied().unwrap_or(0), recent.iter().max().copied().unwrap_or(0));
        if recent.len() == 4 && (hi - lo) as f64 <= lo as f64 * 0.01 {
            break;
        }
        if started.elapsed().as_secs_f64() > min_secs + 30.0 {
            eprintln!("petty-load: the server's RSS did not settle within 30 s: {trail:?} KiB");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let rss = trail.last().copied().unwrap_or(0);
    eprintln!("petty-load: server RSS settled at {rss} KiB after {:.1} s", started.elapsed().as_secs_f64());
    Ok(rss)
}
