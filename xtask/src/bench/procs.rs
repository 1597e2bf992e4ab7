//! Servers under test (started pinned, always stopped, also on error) and what `/proc` says
//! about them: CPU time, memory, and how busy each core was.

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::http;

/// A server process this benchmark started. Dropping it stops it (SIGTERM, then SIGKILL).
pub(super) struct Server {
    pub name: String,
    pub port: u16,
    child: Option<Child>,
}

impl Server {
    /// Spawns `cmd` (already wrapped in `taskset` by the caller) with output to `log`.
    pub(super) fn spawn(name: &str, mut cmd: Command, port: u16, log: &Path) -> anyhow::Result<Self> {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("open {}", log.display()))?;
        cmd.stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out);
        let child = cmd.spawn().with_context(|| format!("start {name}: {cmd:?}"))?;
        Ok(Self { name: name.to_owned(), port, child: Some(child) })
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Polls `GET path` until it answers 200; fails if the process exits or `timeout` passes.
    pub(super) fn wait_ready(&mut self, path: &str, timeout: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                self.child = None;
                bail!("{} exited before it answered {path}: {status}", self.name);
            }
            if let Some(r) = http::try_request(self.port, "GET", path)?
                && r.status == 200
            {
                return Ok(started.elapsed());
            }
            if started.elapsed() > timeout {
                bail!("{} did not answer 200 on {path} within {timeout:?}", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then SIGKILL after `grace`. Returns the exit status and how long the stop took.
    pub(super) fn stop(&mut self, grace: Duration) -> Option<(ExitStatus, Duration)> {
        let mut child = self.child.take()?;
        let started = Instant::now();
        if let Ok(Some(status)) = child.try_wait() {
            return Some((status, Duration::ZERO));
        }
        // The child has not been waited for, so its pid cannot have been reused.
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        while started.elapsed() < grace {
            if let Ok(Some(status)) = child.try_wait() {
                return Some((status, started.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        eprintln!("bench: {} did not stop within {grace:?} of SIGTERM; killing it", self.name);
        let _ = child.kill();
        child.wait().ok().map(|s| (s, started.elapsed()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(10));
    }
}

/// Clock ticks per second for `/proc/PID/stat`.
pub(super) fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
}

/// utime + stime of the whole process (all threads), in clock ticks.
pub(super) fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).with_context(|| format!("read /proc/{pid}/stat"))?;
    // The command name may contain spaces; fields after it are fixed.
    let after = stat.rsplit_once(')').map(|(_, a)| a).context("odd /proc/PID/stat")?;
    let f: Vec<&str> = after.split_whitespace().collect();
    // after ')': [0]=state (field 3) ... [11]=utime (field 14), [12]=stime (field 15)
    let utime: u64 = f.get(11).and_then(|v| v.parse().ok()).context("utime")?;
    let stime: u64 = f.get(12).and_then(|v| v.parse().ok()).context("stime")?;
    Ok(utime + stime)
}

/// Memory and thread count from `/proc/PID/status`.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Mem {
    pub rss_kib: u64,
    pub hwm_kib: u64,
    pub threads: u64,
}

pub(super) fn mem(pid: u32) -> anyhow::Result<Mem> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).with_context(|| format!("read /proc/{pid}/status"))?;
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok(Mem { rss_kib: field("VmRSS:"), hwm_kib: field("VmHWM:"), threads: field("Threads:") })
}

/// Busy and total jiffies of one core, from `/proc/stat`.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct CoreTimes {
    pub busy: u64,
    pub total: u64,
}

pub(super) fn core_times(cpu: u32) -> CoreTimes {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else { return CoreTimes::default() };
    let label = format!("cpu{cpu} ");
    let Some(line) = stat.lines().find(|l| l.starts_with(&label)) else { return CoreTimes::default() };
    let v: Vec<u64> = line.split_whitespace().skip(1).take(8).filter_map(|x| x.parse().ok()).collect();
    if v.len() < 8 {
        return CoreTimes::default();
    }
    // user nice system idle iowait irq softirq steal
    let total: u64 = v.iter().sum();
    CoreTimes { busy: total - v[3] - v[4], total }
}

impl CoreTimes {
    /// Fraction of the interval this core was busy.
    pub(super) fn busy_since(self, before: CoreTimes) -> f64 {
        let total = self.total.saturating_sub(before.total);
        if total == 0 { 0.0 } else { self.busy.saturating_sub(before.busy) as f64 / total as f64 }
    }
}

/// Runs a command to completion, failing with its output if it fails.
pub(super) fn run_checked(cmd: &mut Command) -> anyhow::Result<()> {
    eprintln!("bench: $ {}", show(cmd));
    let status = cmd.status().with_context(|| format!("run {}", show(cmd)))?;
    if !status.success() {
        bail!("{} failed: {status}", show(cmd));
    }
    Ok(())
}

/// A command as one might type it (environment overrides first).
pub(super) fn show(cmd: &Command) -> String {
    let mut s = String::new();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            s.push_str(&format!("{}={} ", k.to_string_lossy(), v.to_string_lossy()));
        }
    }
    s.push_str(&cmd.get_program().to_string_lossy());
    for a in cmd.get_args() {
        let a = a.to_string_lossy();
        if a.contains([' ', '\'', '"', '*', '[', ']']) {
            s.push_str(&format!(" '{}'", a.replace('\'', "'\\''")));
        } else {
            s.push(' ');
            s.push_str(&a);
        }
    }
    s
}

/// The first line a command prints (version strings), or "?".
pub(super) fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            let text = if o.stdout.is_empty() { o.stderr } else { o.stdout };
            String::from_utf8_lossy(&text).lines().next().unwrap_or("?").trim().to_owned()
        })
        .unwrap_or_else(|| "?".to_owned())
}
