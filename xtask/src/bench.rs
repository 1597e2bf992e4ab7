//! `cargo xtask bench`: the benchmarks recorded in BENCHMARKS.md, run the way
//! `xtask/anchors/README.md` says: the server under test pinned to one core, the load
//! generator to another, Petty interleaved with the bare-axum anchor and the FastAPI peer in
//! rounds, and every speed quoted as the median of per-round ratios against those baselines.
//!
//! Phases: `cold-start` (exec of `petty serve` → first 200 from `/healthz`), `throughput`
//! (closed loop with `wrk`; also the memory readings), `latency` (open loop with `oha` at fixed
//! rates). Every server this starts is stopped when it ends, also on error.

mod http;
mod load;
mod procs;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};

use load::{OhaResult, Target, WrkResult};
use procs::{Mem, Server};

const USAGE: &str = "\
usage: cargo xtask bench [PHASE...] [OPTIONS]

PHASE (default: all of them)
  cold-start        exec of `petty serve` to the first 200 from /healthz; fresh and existing data dir
  throughput        wrk closed loop, anchor / Petty / FastAPI interleaved; memory readings too
  latency           oha open loop at fixed rates (needs each system's max: runs throughput first)

OPTIONS
  --rounds N              interleaved rounds (3)
  --warmup SECS           warm-up before each measured run (2)
  --duration SECS         measured run (10)
  --connections N         wrk/oha connections (50)
  --latency-duration SECS each fixed-rate run (30)
  --fixed-rate RPS        the fixed offered rate besides 50% of each system's max (1000)
  --cold-runs N           cold starts per variant (10)
  --anchor-route R        hello (GET /hello, default) or json (POST /json)
  --petty-route PATH      extra Petty GET route to measure alongside, with the bearer token (repeatable)
  --petty-route-anon PATH the same without credentials, e.g. /healthz
  --petty-env KEY=VALUE   extra environment for the Petty server (repeatable), e.g. RUST_LOG=warn
  --no-fastapi            leave the FastAPI peer out
  --skip-build            use the binaries already built
  --petty-log PATH        where the Petty server's log goes (/dev/null)
  --server-cpu N          core for servers (0)
  --load-cpu N            core for the load generator (1)
  --out FILE              also write the Markdown report there
  --oha PATH              the oha binary (oha on PATH, else ~/.cargo/bin/oha)

Builds: Petty with `cargo build --release -p petty` into $HOME/.cache/petty-target; the anchors
(xtask/anchors, their own cargo project and Cargo.lock) into $HOME/.cache/petty-anchors-target;
the FastAPI venv (for xtask/anchors/py/fastapi_app.py) in $HOME/.cache/petty-bench-venv.
Raw outputs and the report go to $HOME/.cache/petty-bench/runs/<time>/.";

/// The anchors' folder, relative to the repository root: its own cargo project (not a workspace
/// member), the FastAPI peer in `py/`, the wrk scripts in `wrk/`.
const ANCHORS: &str = "xtask/anchors";
/// High enough that the limiter never rejects the load, low enough that it still runs.
const RATE_LIMIT: &str = "100000000";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    ColdStart,
    Throughput,
    Latency,
}

struct Opts {
    phases: BTreeSet<Phase>,
    rounds: usize,
    warmup: u64,
    duration: u64,
    connections: u32,
    latency_secs: u64,
    fixed_rate: f64,
    cold_runs: usize,
    anchor_json: bool,
    /// Extra Petty routes: (path, send the bearer token).
    petty_routes: Vec<(String, bool)>,
    petty_env: Vec<(String, String)>,
    fastapi: bool,
    skip_build: bool,
    petty_log: PathBuf,
    server_cpu: u32,
    load_cpu: u32,
    out: Option<PathBuf>,
    oha: Option<PathBuf>,
    command_line: String,
}

fn parse(args: &[String]) -> anyhow::Result<Option<Opts>> {
    let mut o = Opts {
        phases: BTreeSet::new(),
        rounds: 3,
        warmup: 2,
        duration: 10,
        connections: 50,
        latency_secs: 30,
        fixed_rate: 1000.0,
        cold_runs: 10,
        anchor_json: false,
        petty_routes: Vec::new(),
        petty_env: Vec::new(),
        fastapi: true,
        skip_build: false,
        petty_log: PathBuf::from("/dev/null"),
        server_cpu: 0,
        load_cpu: 1,
        out: None,
        oha: None,
        command_line: format!("cargo xtask bench {}", args.join(" ")).trim_end().to_owned(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().cloned().with_context(|| format!("{name} needs a value"));
        match a.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            "cold-start" => _ = o.phases.insert(Phase::ColdStart),
            "throughput" => _ = o.phases.insert(Phase::Throughput),
            "latency" => _ = o.phases.insert(Phase::Latency),
            "all" => o.phases.extend([Phase::ColdStart, Phase::Throughput, Phase::Latency]),
            "--rounds" => o.rounds = value(a)?.parse()?,
            "--warmup" => o.warmup = value(a)?.parse()?,
            "--duration" => o.duration = value(a)?.parse()?,
            "--connections" => o.connections = value(a)?.parse()?,
            "--latency-duration" => o.latency_secs = value(a)?.parse()?,
            "--fixed-rate" => o.fixed_rate = value(a)?.parse()?,
            "--cold-runs" => o.cold_runs = value(a)?.parse()?,
            "--anchor-route" => {
                o.anchor_json = match value(a)?.as_str() {
                    "hello" => false,
                    "json" => true,
                    other => bail!("--anchor-route is hello or json, not {other}"),
                }
            }
            "--petty-route" => o.petty_routes.push((value(a)?, true)),
            "--petty-route-anon" => o.petty_routes.push((value(a)?, false)),
            "--petty-env" => {
                let kv = value(a)?;
                let (k, v) = kv.split_once('=').with_context(|| format!("--petty-env wants KEY=VALUE, got {kv:?}"))?;
                o.petty_env.push((k.to_owned(), v.to_owned()));
            }
            "--no-fastapi" => o.fastapi = false,
            "--skip-build" => o.skip_build = true,
            "--petty-log" => o.petty_log = value(a)?.into(),
            "--server-cpu" => o.server_cpu = value(a)?.parse()?,
            "--load-cpu" => o.load_cpu = value(a)?.parse()?,
            "--out" => o.out = Some(value(a)?.into()),
            "--oha" => o.oha = Some(value(a)?.into()),
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    if o.phases.is_empty() {
        o.phases.extend([Phase::ColdStart, Phase::Throughput, Phase::Latency]);
    }
    if o.phases.contains(&Phase::Latency) {
        o.phases.insert(Phase::Throughput);
    }
    if o.rounds == 0 || o.duration == 0 {
        bail!("--rounds and --duration must be at least 1");
    }
    Ok(Some(o))
}

fn home() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"))
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace root").to_path_buf()
}

/// A free loopback port (bound, read, released).
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

/// Where the binaries and the venv are.
struct Tools {
    petty: PathBuf,
    anchor: PathBuf,
    venv: PathBuf,
    oha: Option<PathBuf>,
}

fn build(o: &Opts) -> anyhow::Result<Tools> {
    let petty_target = home().join(".cache/petty-target");
    let anchors_target = home().join(".cache/petty-anchors-target");
    let venv = home().join(".cache/petty-bench-venv");
    if !o.skip_build {
        procs::run_checked(
            Command::new("cargo")
                .args(["build", "--release", "-p", "petty"])
                .env("CARGO_TARGET_DIR", &petty_target)
                .current_dir(repo_root()),
        )?;
        // The anchors are their own cargo project with their own Cargo.lock (pinned versions).
        procs::run_checked(
            Command::new("cargo")
                .args(["build", "--release", "--locked", "--bin", "server", "--manifest-path"])
                .arg(repo_root().join(ANCHORS).join("Cargo.toml"))
                .env("CARGO_TARGET_DIR", &anchors_target)
                .current_dir(repo_root()),
        )?;
    }
    if o.fastapi && !venv.join("bin/uvicorn").exists() {
        procs::run_checked(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        procs::run_checked(Command::new(venv.join("bin/pip")).args(["install", "-q", "fastapi", "uvicorn[standard]"]))?;
    }
    let oha = o.oha.clone().or_else(|| {
        let on_path = Command::new("sh").args(["-c", "command -v oha"]).output().ok().and_then(|out| {
            let p = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            (!p.is_empty()).then(|| PathBuf::from(p))
        });
        on_path.or_else(|| Some(home().join(".cargo/bin/oha")).filter(|p| p.exists()))
    });
    let tools =
        Tools { petty: petty_target.join("release/petty"), anchor: anchors_target.join("release/server"), venv, oha };
    for p in [&tools.petty, &tools.anchor] {
        if !p.exists() {
            bail!("{} is missing; run without --skip-build", p.display());
        }
    }
    Ok(tools)
}

/// The machine and software versions, for the report.
fn machine_facts(tools: &Tools, o: &Opts) -> Vec<(String, String)> {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "?".into());
    let mem_total =
        read("/proc/meminfo").lines().next().unwrap_or("").split_whitespace().nth(1).unwrap_or("?").to_owned();
    let git = |args: &[&str]| procs::first_line("git", &[&["-C", &repo_root().to_string_lossy()], args].concat());
    let dirty = Command::new("git")
        .args(["-C", &repo_root().to_string_lossy(), "status", "--porcelain"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().count())
        .unwrap_or(0);
    let mut facts = vec![
        ("nproc".into(), procs::first_line("nproc", &[])),
        ("CPU".into(), model),
        ("memory".into(), format!("{} GiB", mem_total.parse::<u64>().map(|k| k / 1024 / 1024).unwrap_or(0))),
        ("kernel".into(), read("/proc/sys/kernel/osrelease").trim().to_owned()),
        ("rustc".into(), procs::first_line("rustc", &["--version"])),
        ("wrk".into(), procs::first_line("wrk", &["--version"]).split(" [").next().unwrap_or("?").to_owned()),
        (
            "oha".into(),
            tools
                .oha
                .as_ref()
                .map(|p| procs::first_line(&p.to_string_lossy(), &["--version"]))
                .unwrap_or("not installed".into()),
        ),
        (
            "Petty".into(),
            format!("git {} ({dirty} files changed in the working tree)", git(&["rev-parse", "--short", "HEAD"])),
        ),
        (
            "load average at start".into(),
            read("/proc/loadavg").split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        ),
    ];
    if o.fastapi {
        let py = tools.venv.join("bin/python");
        let versions = Command::new(&py)
            .args([
                "-c",
                "import sys, fastapi, uvicorn, pydantic; print(sys.version.split()[0], 'fastapi', fastapi.__version__, 'uvicorn', uvicorn.__version__, 'pydantic', pydantic.VERSION)",
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        facts.push(("Python / FastAPI".into(), versions));
    }
    facts
}

/// One system in the lab: a started server and the request sent to it.
struct Subject {
    target: Target,
    server: usize,
}

/// The servers started for the throughput and latency phases, and what they are asked.
struct Lab {
    servers: Vec<Server>,
    subjects: Vec<Subject>,
    /// Index in `subjects` of the anchor, Petty's main route, and FastAPI.
    anchor: usize,
    petty: usize,
    fastapi: Option<usize>,
    wire_bytes: Vec<usize>,
    memory: Vec<(String, String, Mem)>,
    token_expiry_note: String,
    /// How each server was started, as one would type it.
    commands: Vec<String>,
}

fn petty_command(tools: &Tools, o: &Opts, data_dir: &Path, port: u16, pin: bool) -> Command {
    let mut cmd = if pin {
        let mut c = Command::new("taskset");
        c.args(["-c", &o.server_cpu.to_string()]).arg(&tools.petty);
        c
    } else {
        Command::new(&tools.petty)
    };
    cmd.arg("serve").arg("--data-dir").arg(data_dir).args(["--listen", &format!("127.0.0.1:{port}")]);
    // Only the settings below: no inherited PETTY_* or RUST_LOG, no ./petty.toml.
    for (k, _) in std::env::vars() {
        if k.starts_with("PETTY_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    if let Some(parent) = data_dir.parent() {
        cmd.current_dir(parent);
    }
    cmd
}

fn start_lab(tools: &Tools, o: &Opts, run_dir: &Path) -> anyhow::Result<Lab> {
    let cpu = o.server_cpu.to_string();
    let mut servers = Vec::new();
    let mut subjects = Vec::new();
    let mut memory = Vec::new();
    let mut commands = Vec::new();

    // The bare axum anchor, one tokio worker.
    let port = free_port()?;
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", &cpu]).arg(&tools.anchor).args([&port.to_string(), "1"]).arg(run_dir.join("anchor.db"));
    eprintln!("bench: $ {}", procs::show(&cmd));
    commands.push(procs::show(&cmd));
    servers.push(Server::spawn("anchor", cmd, port, &run_dir.join("anchor.log"))?);
    servers[0].wait_ready("/hello", Duration::from_secs(20))?;
    let anchor_target = if o.anchor_json {
        Target {
            label: "anchor POST /json".into(),
            url: format!("http://127.0.0.1:{port}/json"),
            headers: vec![],
            post_json: Some(
                r#"{"device_id":"collar-000000042","ts":1731234567890,"metric":"heart_rate","value":92.5,"unit":"bpm"}"#
                    .into(),
            ),
            wrk_script: Some(repo_root().join(ANCHORS).join("wrk/post_one.lua")),
        }
    } else {
        Target {
            label: "anchor GET /hello".into(),
            url: format!("http://127.0.0.1:{port}/hello"),
            headers: vec![],
            post_json: None,
            wrk_script: None,
        }
    };
    subjects.push(Subject { target: anchor_target.clone(), server: 0 });

    // Petty, release build, embedded SQLite in a fresh data dir, limits lifted but running.
    let port = free_port()?;
    let data_dir = run_dir.join("petty-data");
    let mut cmd = petty_command(tools, o, &data_dir, port, true);
    cmd.env("PETTY_RATE_LIMIT__PER_IP_PER_MINUTE", RATE_LIMIT)
        .env("PETTY_RATE_LIMIT__PER_PRINCIPAL_PER_MINUTE", RATE_LIMIT)
        .env("PETTY_AUTH__ACCESS_TOKEN_TTL_SECS", "86400")
        // One tokio worker, as the anchor runs (`server PORT 1`): both are pinned to one core.
        .env("TOKIO_WORKER_THREADS", "1");
    for (k, v) in &o.petty_env {
        cmd.env(k, v);
    }
    eprintln!("bench: $ {}", procs::show(&cmd));
    commands.push(procs::show(&cmd));
    servers.push(Server::spawn("petty", cmd, port, &o.petty_log)?);
    servers[1].wait_ready("/healthz", Duration::from_secs(60))?;
    let petty_server = 1;

    let mut fastapi_server = None;
    if o.fastapi {
        let port = free_port()?;
        let mut cmd = Command::new("taskset");
        cmd.args(["-c", &cpu])
            .arg(tools.venv.join("bin/uvicorn"))
            .args(["fastapi_app:app", "--host", "127.0.0.1", "--port", &port.to_string(), "--workers", "1"])
            .current_dir(repo_root().join(ANCHORS).join("py"))
            // No __pycache__ left in the source tree.
            .env("PYTHONDONTWRITEBYTECODE", "1");
        eprintln!("bench: $ {}", procs::show(&cmd));
        commands.push(format!("(cd {}/py && {})", ANCHORS, procs::show(&cmd)));
        servers.push(Server::spawn("fastapi", cmd, port, &run_dir.join("fastapi.log"))?);
        let i = servers.len() - 1;
        servers[i].wait_ready("/hello", Duration::from_secs(60))?;
        fastapi_server = Some(i);
    }

    std::thread::sleep(Duration::from_secs(2));
    for s in &servers {
        memory.push((
            s.name.clone(),
            "idle, 2 s after start (before any setup request)".to_owned(),
            procs::mem(s.pid())?,
        ));
    }

    // A user and a pet, through the API.
    let p = servers[petty_server].port;
    // Registration answers 202 and no tokens (a taken address answers the same); sign in next.
    let reg = http::request(
        p,
        "POST",
        "/api/v1/auth/register",
        &[],
        Some(
            r#"{"email":"bench@example.org","password":"correct-horse-battery-42","display_name":"Bench","household_name":"Bench household"}"#,
        ),
    )?;
    if reg.status != 202 {
        bail!("register answered {}: {}", reg.status, reg.body);
    }
    let login = http::request(
        p,
        "POST",
        "/api/v1/auth/login",
        &[],
        Some(r#"{"email":"bench@example.org","password":"correct-horse-battery-42"}"#),
    )?;
    if login.status != 200 {
        bail!("sign-in answered {}: {}", login.status, login.body);
    }
    let token = http::json_str(&login.body, "access_token").context("no access_token in the sign-in answer")?;
    let bearer = format!("Bearer {token}");
    let pet = http::request(
        p,
        "POST",
        "/api/v1/pets",
        &[("Authorization", &bearer)],
        Some(
            r#"{"name":"Biscuit","species":"dog","breed":"Beagle","date_of_birth":"2019-04-01","sex":"female","weight_kg":11.5,"microchip_id":"985112345678901","notes":"Likes long walks and cheese."}"#,
        ),
    )?;
    if pet.status != 201 {
        bail!("create pet answered {}: {}", pet.status, pet.body);
    }
    let pet_id = http::json_str(&pet.body, "id").context("no id in the create-pet answer")?;
    let pet_path = format!("/api/v1/pets/{pet_id}");
    let check = http::request(p, "GET", &pet_path, &[("Authorization", &bearer)], None)?;
    if check.status != 200 {
        bail!("GET {pet_path} answered {}: {}", check.status, check.body);
    }
    memory.push((
        "petty".to_owned(),
        "after setup (register and sign in: two argon2 hashes; one pet)".to_owned(),
        procs::mem(servers[petty_server].pid())?,
    ));
    let auth = vec![("Authorization".to_owned(), bearer.clone())];
    subjects.push(Subject {
        target: Target {
            label: "petty GET /api/v1/pets/{id}".into(),
            url: format!("http://127.0.0.1:{p}{pet_path}"),
            headers: auth.clone(),
            post_json: None,
            wrk_script: None,
        },
        server: petty_server,
    });
    let petty = subjects.len() - 1;
    // The same read with an API key, as integrations (MCP, home automation) make it.
    let made = http::request(
        p,
        "POST",
        "/api/v1/api-keys",
        &[("Authorization", &bearer)],
        Some(r#"{"name":"Bench integration","scope":"read"}"#),
    )?;
    if made.status != 201 {
        bail!("making an API key answered {}: {}", made.status, made.body);
    }
    let key = http::json_str(&made.body, "key").context("no key in the API key's answer")?;
    subjects.push(Subject {
        target: Target {
            label: "petty GET /api/v1/pets/{id} (API key)".into(),
            url: format!("http://127.0.0.1:{p}{pet_path}"),
            headers: vec![("Authorization".to_owned(), format!("Bearer {key}"))],
            post_json: None,
            wrk_script: None,
        },
        server: petty_server,
    });
    for (route, with_token) in &o.petty_routes {
        subjects.push(Subject {
            target: Target {
                label: format!("petty GET {route}{}", if *with_token { " (bearer)" } else { " (no credentials)" }),
                url: format!("http://127.0.0.1:{p}{route}"),
                headers: if *with_token { auth.clone() } else { Vec::new() },
                post_json: None,
                wrk_script: None,
            },
            server: petty_server,
        });
    }
    let mut fastapi = None;
    if let Some(i) = fastapi_server {
        let mut t = anchor_target.clone();
        t.label = t.label.replace("anchor", "fastapi");
        t.url = t.url.replace(&format!(":{}/", servers[0].port), &format!(":{}/", servers[i].port));
        subjects.push(Subject { target: t, server: i });
        fastapi = Some(subjects.len() - 1);
    }

    // Response sizes on the wire (one request each, Connection: close adds nothing to the body).
    let mut wire_bytes = Vec::new();
    for s in &subjects {
        let port = servers[s.server].port;
        let path = s.target.url.split_once(&format!(":{port}")).map(|(_, p)| p).unwrap_or("/");
        let headers: Vec<(&str, &str)> = s.target.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let method = if s.target.post_json.is_some() { "POST" } else { "GET" };
        let r = http::request(port, method, path, &headers, s.target.post_json.as_deref())?;
        if !(200..300).contains(&r.status) {
            bail!("{} answered {}: {}", s.target.label, r.status, r.body);
        }
        eprintln!("bench: {} → {} ({} bytes)\n{}\n", s.target.label, r.status, r.wire_bytes, r.head);
        wire_bytes.push(r.wire_bytes);
    }
    Ok(Lab {
        servers,
        subjects,
        anchor: 0,
        petty,
        fastapi,
        wire_bytes,
        memory,
        token_expiry_note: "PETTY_AUTH__ACCESS_TOKEN_TTL_SECS=86400 so the one token outlives the run".into(),
        commands,
    })
}

/// One measured closed-loop run and what the server spent on it.
#[derive(Clone, Debug)]
struct Run {
    round: usize,
    subject: usize,
    wrk: WrkResult,
    cpu_us_per_req: f64,
    /// Server CPU seconds per wall second (1.0 = one core flat out).
    server_core: f64,
    core_busy: f64,
    load_core_busy: f64,
}

impl Run {
    /// Share of the server core used by anything other than the server.
    fn others(&self) -> f64 {
        (self.core_busy - self.server_core).max(0.0)
    }
}

/// CPU of `pid` and the two cores, around `f`.
fn sampled<T>(pid: u32, o: &Opts, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<(T, f64, f64, f64, f64)> {
    let clk = procs::clock_ticks() as f64;
    let c0 = procs::core_times(o.server_cpu);
    let c1 = procs::core_times(o.load_cpu);
    let t0 = procs::cpu_ticks(pid)?;
    let started = Instant::now();
    let value = f()?;
    let wall = started.elapsed().as_secs_f64();
    let t1 = procs::cpu_ticks(pid)?;
    let cpu_s = (t1 - t0) as f64 / clk;
    Ok((
        value,
        cpu_s,
        wall,
        procs::core_times(o.server_cpu).busy_since(c0),
        procs::core_times(o.load_cpu).busy_since(c1),
    ))
}

fn throughput(lab: &Lab, o: &Opts, raw: &Path) -> anyhow::Result<Vec<Run>> {
    let mut runs = Vec::new();
    let n = lab.subjects.len();
    for round in 1..=o.rounds {
        // Rotate the order each round so no system always goes first (or right after another).
        for k in 0..n {
            let i = (k + round - 1) % n;
            let s = &lab.subjects[i];
            let server = &lab.servers[s.server];
            let slug = format!("r{round}-{}", s.target.label.replace([' ', '/', '{', '}'], "_"));
            if o.warmup > 0 {
                load::run_capture(
                    load::wrk_command(o.load_cpu, &s.target, o.connections, o.warmup),
                    &raw.join(format!("{slug}-warmup.txt")),
                )?;
            }
            let (out, cpu_s, wall, core_busy, load_core_busy) = sampled(server.pid(), o, || {
                load::run_capture(
                    load::wrk_command(o.load_cpu, &s.target, o.connections, o.duration),
                    &raw.join(format!("{slug}.txt")),
                )
            })?;
            let wrk = load::parse_wrk(&out)?;
            let run = Run {
                round,
                subject: i,
                cpu_us_per_req: cpu_s * 1e6 / wrk.requests as f64,
                server_core: cpu_s / wall,
                core_busy,
                load_core_busy,
                wrk,
            };
            eprintln!(
                "bench: round {round} {:<34} {:>9.0} req/s  p50 {:>7.0} µs  p99 {:>7.0} µs  {:>6.1} µs CPU/req  server {:>3.0}%  others on its core {:>3.0}%{}",
                s.target.label,
                run.wrk.rps,
                run.wrk.p50_us,
                run.wrk.p99_us,
                run.cpu_us_per_req,
                run.server_core * 100.0,
                run.others() * 100.0,
                if run.wrk.non_2xx + run.wrk.socket_errors > 0 { "  ERRORS" } else { "" },
            );
            runs.push(run);
        }
    }
    Ok(runs)
}

struct LatencyRun {
    subject: usize,
    why: String,
    oha: OhaResult,
    cpu_us_per_req: f64,
    server_core: f64,
    others: f64,
    load_core_busy: f64,
}

fn latency(lab: &Lab, o: &Opts, oha: &Path, runs: &[Run], raw: &Path) -> anyhow::Result<Vec<LatencyRun>> {
    let mut out = Vec::new();
    let mut plan: Vec<(usize, f64, String)> = Vec::new();
    let mut order = vec![lab.anchor, lab.petty];
    order.extend(lab.fastapi);
    for &i in &order {
        plan.push((i, o.fixed_rate, format!("fixed {:.0} req/s", o.fixed_rate)));
    }
    for &i in &order {
        let max = median(&runs.iter().filter(|r| r.subject == i).map(|r| r.wrk.rps).collect::<Vec<_>>());
        plan.push((i, (max / 2.0).round(), format!("50% of its own max ({max:.0} req/s)")));
    }
    for (i, rate, why) in plan {
        let s = &lab.subjects[i];
        let server = &lab.servers[s.server];
        let slug = format!("lat-{rate:.0}-{}", s.target.label.replace([' ', '/', '{', '}'], "_"));
        let (text, cpu_s, wall, core_busy, load_core_busy) = sampled(server.pid(), o, || {
            load::run_capture(
                load::oha_command(oha, o.load_cpu, &s.target, o.connections, o.latency_secs, rate),
                &raw.join(format!("{slug}.json")),
            )
        })?;
        let r = load::parse_oha(&text)?;
        let run = LatencyRun {
            subject: i,
            why,
            cpu_us_per_req: cpu_s * 1e6 / r.requests.max(1) as f64,
            server_core: cpu_s / wall,
            others: (core_busy - cpu_s / wall).max(0.0),
            load_core_busy,
            oha: r,
        };
        eprintln!(
            "bench: latency {:<34} offered {:>7.0} achieved {:>7.0} req/s  p50 {:>7.0} µs  p99 {:>7.0} µs  p99.9 {:>7.0} µs  {:>6.1} µs CPU/req",
            s.target.label,
            rate,
            run.oha.achieved_rps,
            run.oha.p50_us,
            run.oha.p99_us,
            run.oha.p999_us,
            run.cpu_us_per_req
        );
        out.push(run);
    }
    Ok(out)
}

struct ColdRun {
    variant: &'static str,
    to_healthz_ms: f64,
    /// What Petty itself logged: from `serve()` starting to the socket listening.
    logged_startup_ms: Option<f64>,
    stop_ms: f64,
    hwm_kib: u64,
}

fn cold_start(tools: &Tools, o: &Opts, run_dir: &Path) -> anyhow::Result<Vec<ColdRun>> {
    let dir = run_dir.join("cold");
    std::fs::create_dir_all(&dir)?;
    let existing = dir.join("existing-data");
    let mut runs = Vec::new();
    let variants: [(&'static str, bool, bool); 4] = [
        ("fresh data dir, pinned to one core", true, true),
        ("existing database, pinned to one core", false, true),
        ("fresh data dir, unpinned", true, false),
        ("existing database, unpinned", false, false),
    ];
    // The existing database: made by one start and clean stop, not counted.
    prime(tools, o, &existing, &dir.join("prime.log"))?;
    // Interleave the variants so machine noise spreads over all of them.
    for k in 0..o.cold_runs {
        for (variant, fresh, pin) in variants {
            let data = if fresh {
                dir.join(format!("fresh-{k}-{}", if pin { "pinned" } else { "unpinned" }))
            } else {
                existing.clone()
            };
            let log = dir.join(format!("run-{k}-{}.log", variant.replace([' ', ','], "_")));
            let port = free_port()?;
            let cmd = petty_command(tools, o, &data, port, pin);
            let started = Instant::now();
            let mut server = Server::spawn("petty (cold start)", cmd, port, &log)?;
            let mut ready = None;
            while started.elapsed() < Duration::from_secs(30) {
                match http::try_request(port, "GET", "/healthz") {
                    Ok(Some(r)) if r.status == 200 => {
                        ready = Some(started.elapsed());
                        break;
                    }
                    Ok(_) => std::thread::sleep(Duration::from_micros(200)),
                    Err(_) => std::thread::sleep(Duration::from_micros(200)),
                }
            }
            let Some(ready) = ready else { bail!("petty did not answer /healthz within 30 s; see {}", log.display()) };
            let hwm_kib = procs::mem(server.pid()).map(|m| m.hwm_kib).unwrap_or(0);
            let (status, stop) = server.stop(Duration::from_secs(10)).context("petty was not running")?;
            if !status.success() {
                bail!("petty exited with {status} on SIGTERM; see {}", log.display());
            }
            let logged = std::fs::read_to_string(&log).ok().and_then(|t| {
                let t = strip_ansi(&t);
                let at = t.find("startup_ms=")? + "startup_ms=".len();
                let digits: String = t[at..].chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            });
            runs.push(ColdRun {
                variant,
                to_healthz_ms: ready.as_secs_f64() * 1e3,
                logged_startup_ms: logged,
                stop_ms: stop.as_secs_f64() * 1e3,
                hwm_kib,
            });
            eprintln!(
                "bench: cold start {k} {variant}: {:.1} ms to /healthz 200 (logged startup_ms={logged:?})",
                ready.as_secs_f64() * 1e3
            );
        }
    }
    Ok(runs)
}

/// The text without terminal colour codes (the text log format writes them even to files).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ ... final byte in @..~
            for d in chars.by_ref() {
                if ('@'..='~').contains(&d) && d != '[' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn prime(tools: &Tools, o: &Opts, data: &Path, log: &Path) -> anyhow::Result<()> {
    let port = free_port()?;
    let mut s = Server::spawn("petty (priming)", petty_command(tools, o, data, port, false), port, log)?;
    s.wait_ready("/healthz", Duration::from_secs(60))?;
    s.stop(Duration::from_secs(10));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The report.

fn verdict(ok: bool) -> &'static str {
    if ok { "**met**" } else { "**not met**" }
}

fn report(
    o: &Opts,
    facts: &[(String, String)],
    lab: Option<&Lab>,
    runs: &[Run],
    lat: &[LatencyRun],
    cold: &[ColdRun],
    raw: &Path,
) -> String {
    let mut r = String::new();
    let w = &mut r;
    let _ = writeln!(w, "### `{}`\n", o.command_line);
    for (k, v) in facts {
        let _ = writeln!(w, "- {k}: {v}");
    }
    if !runs.is_empty() {
        let _ = writeln!(
            w,
            "- servers pinned with `taskset -c {}`, load generator with `taskset -c {}`; {} connections; rounds: {} × ({} s warm-up + {} s measured)",
            o.server_cpu, o.load_cpu, o.connections, o.rounds, o.warmup, o.duration
        );
    }
    let _ = writeln!(w, "- raw load-generator outputs: `{}`\n", raw.display());

    if let Some(lab) = lab {
        let label = |i: usize| lab.subjects[i].target.label.as_str();
        let _ = writeln!(w, "Servers (ports are picked free each run; the token is elided):\n\n```");
        for c in &lab.commands {
            let _ = writeln!(w, "{c}");
        }
        let t = &lab.subjects[lab.petty].target;
        let mut elided = t.clone();
        elided.headers = vec![("Authorization".into(), "Bearer $TOKEN".into())];
        let _ = writeln!(w, "{}", procs::show(&load::wrk_command(o.load_cpu, &elided, o.connections, o.duration)));
        if !lat.is_empty() {
            let oha = o.oha.clone().unwrap_or_else(|| PathBuf::from("oha"));
            let _ = writeln!(
                w,
                "{}",
                procs::show(&load::oha_command(&oha, o.load_cpu, &elided, o.connections, o.latency_secs, o.fixed_rate))
            );
        }
        let _ = writeln!(w, "```\n");
        if !runs.is_empty() {
            let _ = writeln!(w, "#### Throughput (wrk, closed loop)\n");
            let _ = writeln!(
                w,
                "| round | system | req/s | p50 µs | p99 µs | CPU µs/req | server core use | other load on server core | load-gen core | errors |"
            );
            let _ = writeln!(w, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            for run in runs {
                let _ = writeln!(
                    w,
                    "| {} | {} | {:.0} | {:.0} | {:.0} | {:.2} | {:.0}% | {:.0}% | {:.0}% | {} |",
                    run.round,
                    label(run.subject),
                    run.wrk.rps,
                    run.wrk.p50_us,
                    run.wrk.p99_us,
                    run.cpu_us_per_req,
                    run.server_core * 100.0,
                    run.others() * 100.0,
                    run.load_core_busy * 100.0,
                    run.wrk.non_2xx + run.wrk.socket_errors,
                );
            }
            let _ = writeln!(w);
            // Medians per system.
            let _ = writeln!(
                w,
                "| system | median req/s | median p50 µs | median p99 µs | median CPU µs/req | response bytes on the wire |"
            );
            let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|");
            for (i, s) in lab.subjects.iter().enumerate() {
                let mine: Vec<&Run> = runs.iter().filter(|r| r.subject == i).collect();
                let m = |f: fn(&Run) -> f64| median(&mine.iter().map(|r| f(r)).collect::<Vec<_>>());
                let _ = writeln!(
                    w,
                    "| {} | {:.0} | {:.0} | {:.0} | {:.2} | {} |",
                    s.target.label,
                    m(|r| r.wrk.rps),
                    m(|r| r.wrk.p50_us),
                    m(|r| r.wrk.p99_us),
                    m(|r| r.cpu_us_per_req),
                    lab.wire_bytes[i]
                );
            }
            let _ = writeln!(w);
            // Per-round ratios.
            let per_round = |a: usize, b: usize, f: fn(&Run, &Run) -> f64| -> Vec<f64> {
                (1..=o.rounds)
                    .filter_map(|round| {
                        let x = runs.iter().find(|r| r.round == round && r.subject == a)?;
                        let y = runs.iter().find(|r| r.round == round && r.subject == b)?;
                        Some(f(x, y))
                    })
                    .collect()
            };
            let fmt = |v: &[f64]| v.iter().map(|x| format!("{x:.3}")).collect::<Vec<_>>().join(", ");
            let _ = writeln!(w, "| ratio (per round → median) | per round | median | target | verdict |");
            let _ = writeln!(w, "|---|---|---:|---|---|");
            for (i, s) in lab.subjects.iter().enumerate().filter(|(i, _)| *i != lab.anchor && Some(*i) != lab.fastapi) {
                let rps = per_round(i, lab.anchor, |x, y| x.wrk.rps / y.wrk.rps);
                let cpu = per_round(lab.anchor, i, |x, y| x.cpu_us_per_req / y.cpu_us_per_req);
                let main = i == lab.petty;
                let _ = writeln!(
                    w,
                    "| {} req/s ÷ {} req/s | {} | {:.3} | {} | {} |",
                    s.target.label,
                    label(lab.anchor),
                    fmt(&rps),
                    median(&rps),
                    if main { "≥ 0.50" } else { "—" },
                    if main { verdict(median(&rps) >= 0.5) } else { "" }
                );
                let _ = writeln!(
                    w,
                    "| {} CPU/req ÷ {} CPU/req | {} | {:.3} | {} | {} |",
                    label(lab.anchor),
                    s.target.label,
                    fmt(&cpu),
                    median(&cpu),
                    if main { "≥ 0.50 (same goal, per CPU)" } else { "—" },
                    if main { verdict(median(&cpu) >= 0.5) } else { "" }
                );
            }
            if let Some(f) = lab.fastapi {
                let rps = per_round(lab.petty, f, |x, y| x.wrk.rps / y.wrk.rps);
                let cpu = per_round(f, lab.petty, |x, y| x.cpu_us_per_req / y.cpu_us_per_req);
                let _ = writeln!(
                    w,
                    "| {} req/s ÷ {} req/s | {} | {:.2} | ≥ 5 | {} |",
                    label(lab.petty),
                    label(f),
                    fmt(&rps),
                    median(&rps),
                    verdict(median(&rps) >= 5.0)
                );
                let _ = writeln!(
                    w,
                    "| {} CPU/req ÷ {} CPU/req | {} | {:.2} | ≥ 5 (same goal, per CPU) | {} |",
                    label(f),
                    label(lab.petty),
                    fmt(&cpu),
                    median(&cpu),
                    verdict(median(&cpu) >= 5.0)
                );
            }
            let _ = writeln!(w);
            let noisy: Vec<String> = runs
                .iter()
                .filter(|r| r.others() > 0.10)
                .map(|r| format!("round {} {} ({:.0}%)", r.round, label(r.subject), r.others() * 100.0))
                .collect();
            if !noisy.is_empty() {
                let _ = writeln!(
                    w,
                    "Noise: other processes took more than 10% of the server core during: {}.\n",
                    noisy.join("; ")
                );
            }
            let errors: Vec<String> = runs
                .iter()
                .filter(|r| r.wrk.non_2xx + r.wrk.socket_errors > 0)
                .map(|r| {
                    format!(
                        "round {} {}: {} non-2xx, {} socket errors",
                        r.round,
                        label(r.subject),
                        r.wrk.non_2xx,
                        r.wrk.socket_errors
                    )
                })
                .collect();
            if !errors.is_empty() {
                let _ = writeln!(w, "Errors (these runs do not count as valid): {}.\n", errors.join("; "));
            }
        }
        if !lat.is_empty() {
            let _ =
                writeln!(w, "#### Latency (oha, open loop, `--latency-correction`, {} s per run)\n", o.latency_secs);
            let _ = writeln!(
                w,
                "| system | offered rate | achieved req/s | p50 µs | p99 µs | p99.9 µs | max µs | CPU µs/req | server core use | other load on server core | load-gen core | non-2xx | errors |"
            );
            let _ = writeln!(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            for l in lat {
                let _ = writeln!(
                    w,
                    "| {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} | {:.0}% | {:.0}% | {:.0}% | {} | {} |",
                    label(l.subject),
                    l.why,
                    l.oha.achieved_rps,
                    l.oha.p50_us,
                    l.oha.p99_us,
                    l.oha.p999_us,
                    l.oha.max_us,
                    l.cpu_us_per_req,
                    l.server_core * 100.0,
                    l.others * 100.0,
                    l.load_core_busy * 100.0,
                    l.oha.non_200,
                    l.oha.errors
                );
            }
            let _ = writeln!(
                w,
                "\n(oha's errors are usually requests in flight when the duration ended. A load-gen core near 100% means \
                 oha itself, not the server, limits the latency figures.)\n"
            );
        }
        if !lab.memory.is_empty() {
            let _ = writeln!(w, "#### Memory (`/proc/PID/status`)\n");
            let _ = writeln!(w, "| system | when | VmRSS KiB | VmHWM KiB | threads |");
            let _ = writeln!(w, "|---|---|---:|---:|---:|");
            for (name, when, m) in &lab.memory {
                let _ = writeln!(w, "| {name} | {when} | {} | {} | {} |", m.rss_kib, m.hwm_kib, m.threads);
            }
            let _ = writeln!(
                w,
                "\nPetty ran with {}; rate limits at {RATE_LIMIT}/min per address and per user.\n",
                lab.token_expiry_note
            );
        }
    }
    if !cold.is_empty() {
        let _ =
            writeln!(w, "#### Cold start: exec of `petty serve` → first 200 from `/healthz` (polled every 0.2 ms)\n");
        let _ = writeln!(
            w,
            "| variant | runs | median ms | min ms | max ms | median logged startup_ms | median stop (SIGTERM → exit) ms | median VmHWM KiB at ready |"
        );
        let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|");
        let mut variants: Vec<&str> = Vec::new();
        for c in cold {
            if !variants.contains(&c.variant) {
                variants.push(c.variant);
            }
        }
        for v in variants {
            let mine: Vec<&ColdRun> = cold.iter().filter(|c| c.variant == v).collect();
            let t: Vec<f64> = mine.iter().map(|c| c.to_healthz_ms).collect();
            let logged: Vec<f64> = mine.iter().filter_map(|c| c.logged_startup_ms).collect();
            let _ = writeln!(
                w,
                "| {v} | {} | {:.1} | {:.1} | {:.1} | {:.0} | {:.1} | {:.0} |",
                mine.len(),
                median(&t),
                t.iter().copied().fold(f64::INFINITY, f64::min),
                t.iter().copied().fold(0.0, f64::max),
                median(&logged),
                median(&mine.iter().map(|c| c.stop_ms).collect::<Vec<_>>()),
                median(&mine.iter().map(|c| c.hwm_kib as f64).collect::<Vec<_>>()),
            );
        }
        let _ = writeln!(w, "\nAll runs (ms): {}\n", {
            let mut s = String::new();
            for c in cold {
                let _ = write!(s, "{}: {:.1}; ", c.variant, c.to_healthz_ms);
            }
            s
        });
    }
    r
}

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let Some(o) = parse(args)? else { return Ok(()) };
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let run_dir = home().join(format!(".cache/petty-bench/runs/{stamp}"));
    let raw = run_dir.join("raw");
    std::fs::create_dir_all(&raw)?;
    let tools = build(&o)?;
    if o.phases.contains(&Phase::Latency) && tools.oha.is_none() {
        bail!("the latency phase needs oha: `cargo install oha --locked`, or pass --oha PATH");
    }
    let mut facts = machine_facts(&tools, &o);
    facts.insert(0, ("date".into(), procs::first_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"])));
    eprintln!("bench: results in {}", run_dir.display());

    let cold = if o.phases.contains(&Phase::ColdStart) { cold_start(&tools, &o, &run_dir)? } else { Vec::new() };

    let mut lab = None;
    let mut runs = Vec::new();
    let mut lat = Vec::new();
    if o.phases.contains(&Phase::Throughput) {
        let mut l = start_lab(&tools, &o, &run_dir)?;
        runs = throughput(&l, &o, &raw)?;
        if o.phases.contains(&Phase::Latency)
            && let Some(oha) = &tools.oha
        {
            lat = latency(&l, &o, oha, &runs, &raw)?;
        }
        std::thread::sleep(Duration::from_secs(2));
        let mut after = Vec::new();
        for s in &l.servers {
            after.push((s.name.clone(), "idle, 2 s after the last load run".to_owned(), procs::mem(s.pid())?));
        }
        // Petty keeps every latency sample for its histogram until /metrics is scraped (which
        // runs the exporter's upkeep): show how much of the growth that is.
        let petty = &l.servers[l.subjects[l.petty].server];
        let scrape = http::request(petty.port, "GET", "/metrics", &[], None)?;
        std::thread::sleep(Duration::from_secs(2));
        after.push((
            petty.name.clone(),
            format!("after one GET /metrics ({} bytes), 2 s later", scrape.body.len()),
            procs::mem(petty.pid())?,
        ));
        l.memory.extend(after);
        for s in &mut l.servers {
            if let Some((status, took)) = s.stop(Duration::from_secs(10)) {
                eprintln!("bench: stopped {} ({status}) in {took:?}", s.name);
            }
        }
        lab = Some(l);
    }
    facts.push((
        "load average at end".to_owned(),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    ));
    let text = report(&o, &facts, lab.as_ref(), &runs, &lat, &cold, &raw);
    std::fs::write(run_dir.join("report.md"), &text)?;
    if let Some(out) = &o.out {
        std::fs::write(out, &text).with_context(|| format!("write {}", out.display()))?;
    }
    println!("{text}");
    Ok(())
}
