//! The load generators: `wrk` (closed loop, for maximum throughput) and `oha` (open loop at a
//! fixed rate, with coordinated-omission correction, for latency), pinned with `taskset`, and
//! parsers for what they print.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use super::procs;

/// What to send: one URL on loopback, its headers, and (for POST) a body.
#[derive(Clone, Debug)]
pub(super) struct Target {
    /// Short name for tables: "anchor /hello", "petty GET /api/v1/pets/{id}".
    pub label: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub post_json: Option<String>,
    /// `wrk -s` script for the POST case.
    pub wrk_script: Option<PathBuf>,
}

/// One closed-loop run.
#[derive(Clone, Debug, Default)]
pub(super) struct WrkResult {
    pub requests: u64,
    pub seconds: f64,
    pub rps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub non_2xx: u64,
    pub socket_errors: u64,
}

/// One fixed-rate run.
#[derive(Clone, Debug, Default)]
pub(super) struct OhaResult {
    pub achieved_rps: f64,
    pub requests: u64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    pub non_200: u64,
    pub errors: u64,
}

pub(super) fn wrk_command(load_cpu: u32, t: &Target, connections: u32, seconds: u64) -> Command {
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", &load_cpu.to_string(), "wrk", "-t1", &format!("-c{connections}"), &format!("-d{seconds}s")]);
    for (k, v) in &t.headers {
        cmd.args(["-H", &format!("{k}: {v}")]);
    }
    if let Some(script) = &t.wrk_script {
        cmd.arg("-s").arg(script);
    }
    cmd.args(["--latency", &t.url]);
    cmd
}

pub(super) fn oha_command(oha: &Path, load_cpu: u32, t: &Target, connections: u32, seconds: u64, rate: f64) -> Command {
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", &load_cpu.to_string()]).arg(oha).args([
        "--no-tui",
        "--output-format",
        "json",
        "--latency-correction",
        "-c",
        &connections.to_string(),
        "-z",
        &format!("{seconds}s"),
        "-q",
        &format!("{rate:.0}"),
    ]);
    for (k, v) in &t.headers {
        cmd.args(["-H", &format!("{k}: {v}")]);
    }
    if let Some(body) = &t.post_json {
        cmd.args(["-m", "POST", "-T", "application/json", "-d", body]);
    }
    cmd.arg(&t.url);
    cmd
}

/// Runs a load generator, keeps its output in `save`, and returns its stdout.
pub(super) fn run_capture(mut cmd: Command, save: &Path) -> anyhow::Result<String> {
    let shown = procs::show(&cmd);
    let out = cmd.output().with_context(|| format!("run {shown}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    std::fs::write(save, format!("$ {shown}\n{stdout}\n--- stderr ---\n{stderr}"))?;
    if !out.status.success() {
        bail!("{shown} failed ({}): {stderr}", out.status);
    }
    Ok(stdout)
}

/// `402.00us`, `1.20ms`, `1.01s`, `2.00m` → microseconds.
fn duration_us(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse().ok()?;
    Some(match unit {
        "us" => n,
        "ms" => n * 1e3,
        "s" => n * 1e6,
        "m" => n * 60e6,
        "h" => n * 3600e6,
        _ => return None,
    })
}

pub(super) fn parse_wrk(out: &str) -> anyhow::Result<WrkResult> {
    let mut r = WrkResult::default();
    for line in out.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => r.p50_us = duration_us(v).context("wrk p50")?,
            ["99%", v] => r.p99_us = duration_us(v).context("wrk p99")?,
            ["Requests/sec:", v] => r.rps = v.parse().context("wrk Requests/sec")?,
            ["Non-2xx", "or", "3xx", "responses:", n] => r.non_2xx = n.parse()?,
            [n, "requests", "in", secs, ..] => {
                r.requests = n.parse()?;
                r.seconds = duration_us(secs.trim_end_matches(',')).context("wrk duration")? / 1e6;
            }
            ["Socket", "errors:", rest @ ..] => {
                // connect 0, read 0, write 0, timeout 0
                r.socket_errors = rest.iter().filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok()).sum();
            }
            _ => {}
        }
    }
    if r.requests == 0 || r.rps == 0.0 {
        bail!("could not read wrk's output:\n{out}");
    }
    Ok(r)
}

/// The number after `"key":` searched from `from`.
fn json_num(json: &str, from: usize, key: &str) -> Option<f64> {
    let needle = format!("\"{key}\"");
    let at = json[from..].find(&needle)? + from + needle.len();
    let rest = json[at..].trim_start().strip_prefix(':')?.trim_start();
    let end = rest.find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c))).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// The `"k": n` pairs of the flat JSON object after `"key":`.
fn json_counts(json: &str, key: &str) -> Vec<(String, u64)> {
    let needle = format!("\"{key}\"");
    let Some(at) = json.find(&needle) else { return Vec::new() };
    let rest = &json[at + needle.len()..];
    let (Some(open), Some(close)) = (rest.find('{'), rest.find('}')) else { return Vec::new() };
    rest[open + 1..close]
        .split(',')
        .filter_map(|pair| {
            let (k, v) = pair.rsplit_once(':')?;
            Some((k.trim().trim_matches('"').to_owned(), v.trim().parse().ok()?))
        })
        .collect()
}

pub(super) fn parse_oha(out: &str) -> anyhow::Result<OhaResult> {
    let lat = out.find("\"latency_ms\"").context("oha JSON has no latency_ms")?;
    let pct = out.find("\"latencyPercentiles\"").context("oha JSON has no latencyPercentiles")?;
    let statuses = json_counts(out, "statusCodeDistribution");
    let errors = json_counts(out, "errorDistribution");
    let requests: u64 = statuses.iter().map(|(_, n)| n).sum();
    Ok(OhaResult {
        achieved_rps: json_num(out, 0, "requestsPerSec").context("oha requestsPerSec")?,
        requests,
        p50_us: json_num(out, lat, "p50").context("oha p50")? * 1e3,
        p99_us: json_num(out, lat, "p99").context("oha p99")? * 1e3,
        p999_us: json_num(out, pct, "p99.9").unwrap_or(f64::NAN) * 1e6,
        max_us: json_num(out, lat, "max").context("oha max")? * 1e3,
        non_200: statuses.iter().filter(|(k, _)| k != "200" && k != "201").map(|(_, n)| n).sum(),
        errors: errors.iter().map(|(_, n)| n).sum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk() {
        let out = "Running 10s test @ http://127.0.0.1:3000/hello
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   512.33us  100.00us   5.00ms   90.00%
    Req/Sec    98.00k     2.00k  100.00k    80.00%
  Latency Distribution
     50%  490.00us
     75%  530.00us
     90%  600.00us
     99%    1.10ms
  980000 requests in 10.00s, 120.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  97999.12
Transfer/sec:     12.00MB
";
        let r = parse_wrk(out).unwrap();
        assert_eq!(r.requests, 980000);
        assert!((r.seconds - 10.0).abs() < 1e-9);
        assert!((r.p50_us - 490.0).abs() < 1e-9 && (r.p99_us - 1100.0).abs() < 1e-6);
        assert_eq!((r.non_2xx, r.socket_errors), (7, 3));
        assert!((r.rps - 97999.12).abs() < 1e-6);
    }

    #[test]
    fn reads_oha() {
        let out = r#"{"summary":{"successRate":1.0,"requestsPerSec":999.5},"metrics":{"success_rate":1.0,"requests_per_sec":999.5,"latency_ms":{"min":0.1,"mean":0.3,"p50":0.25,"p95":0.5,"p99":0.9,"max":3.0}},"latencyPercentiles":{"p10":0.0001,"p50":0.00025,"p99":0.0009,"p99.9":0.002},"statusCodeDistribution":{"200":29980,"429":3},"errorDistribution":{"aborted due to deadline":5}}"#;
        let r = parse_oha(out).unwrap();
        assert!((r.p50_us - 250.0).abs() < 1e-6 && (r.p99_us - 900.0).abs() < 1e-6);
        assert!((r.p999_us - 2000.0).abs() < 1e-6 && (r.max_us - 3000.0).abs() < 1e-6);
        assert_eq!((r.requests, r.non_200, r.errors), (29983, 3, 5));
    }
}
