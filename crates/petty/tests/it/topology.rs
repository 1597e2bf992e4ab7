//! The README's "Running several nodes" recipe, started on loopback from the files it installs:
//! a NATS cluster of three servers from `deploy/nats/nats.conf`, HAProxy from
//! `deploy/haproxy/haproxy.cfg`, and `petty serve` nodes with the settings of
//! `deploy/petty/petty.env`. Only addresses, ports, passwords and the secret are the test's
//! own; everything else is the recipe as written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Server, petty, start};

/// The signing secret every node of a test shares.
const SECRET: &str = "a-failover-test-secret-0123456789-abcdefghijklmnop";
const NATS_PASSWORD: &str = "natspetty0123456789";
const ROUTE_PASSWORD: &str = "natsroute0123456789";

/// A file of the recipe.
pub(crate) fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy").join(path)
}

/// A program from Debian's packages, or `None` with a `skipped:` line (a failure in CI, which
/// must have it).
pub(crate) fn program(name: &str, package: &str, skipped: &str) -> Option<PathBuf> {
    let found = ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.exists());
    if found.is_none() {
        assert!(
            std::env::var("CI").map_or(true, |v| v.is_empty()),
            "CI needs {name} (Debian package {package}) for: {skipped}"
        );
        eprintln!("skipped: {skipped} (no {name}; apt-get install {package})");
    }
    found
}

/// A port nothing listens on at the moment of asking.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process killed (SIGKILL) and reaped on drop.
pub(crate) struct Process {
    child: Option<Child>,
}

impl Process {
    fn spawn(cmd: &mut Command, log: &Path) -> Process {
        let out = std::fs::File::create(log).unwrap();
        let err = out.try_clone().unwrap();
        let child = cmd.stdin(Stdio::null()).stdout(out).stderr(err).spawn().unwrap();
        Process { child: Some(child) }
    }

    /// SIGKILL, and wait for it to be gone.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| c.try_wait().map(|s| s.is_none()).unwrap_or(false))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn get_json(url: &str) -> Option<Value> {
    let res = super::http_client().get(url).timeout(Duration::from_secs(2)).send().await.ok()?;
    res.json().await.ok()
}

/// Waits for `ready` to answer true, at most `within`.
async fn wait_for<F, Fut>(what: &str, within: Duration, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !ready().await {
        assert!(Instant::now() < deadline, "{what} within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One server of the cluster.
pub(crate) struct NatsServer {
    pub process: Process,
    pub port: u16,
    monitor: u16,
}

/// Three NATS servers routed to each other, as `deploy/nats/nats.conf` makes them.
pub(crate) struct NatsCluster {
    pub servers: Vec<NatsServer>,
}

impl NatsCluster {
    pub(crate) async fn start(program: &Path, dir: &Path) -> NatsCluster {
        let ports: Vec<(u16, u16, u16)> = (0..3).map(|_| (free_port(), free_port(), free_port())).collect();
        let route =
            |(_, cluster, _): &(u16, u16, u16)| format!("nats-route://route:{ROUTE_PASSWORD}@127.0.0.1:{cluster}");
        let mut servers = Vec::new();
        for (i, (client, cluster, monitor)) in ports.iter().enumerate() {
            let mut cmd = Command::new(program);
            cmd.args(["-c", deploy("nats/nats.conf").to_str().unwrap()])
                .env("NATS_NAME", format!("petty-nats-{}", i + 1))
                .env("NATS_LISTEN", format!("127.0.0.1:{client}"))
                .env("NATS_MONITOR", format!("127.0.0.1:{monitor}"))
                .env("NATS_CLUSTER_LISTEN", format!("127.0.0.1:{cluster}"))
                .env("NATS_USER_PASSWORD", NATS_PASSWORD)
                .env("NATS_ROUTE_PASSWORD", ROUTE_PASSWORD)
                .env("NATS_ROUTE_1", route(&ports[0]))
                .env("NATS_ROUTE_2", route(&ports[1]))
                .env("NATS_ROUTE_3", route(&ports[2]));
            let process = Process::spawn(&mut cmd, &dir.join(format!("nats-{}.log", i + 1)));
            servers.push(NatsServer { process, port: *client, monitor: *monitor });
        }
        let cluster = NatsCluster { servers };
        for server in &cluster.servers {
            let url = format!("http://127.0.0.1:{}/routez", server.monitor);
            wait_for("the NATS servers route to each other", Duration::from_secs(20), || async {
                get_json(&url).await.is_some_and(|r| r["num_routes"] == 2)
            })
            .await;
        }
        cluster
    }

    /// What `--nats-url` is given: every server, with Petty's user and password.
    pub(crate) fn urls(&self) -> String {
        let urls: Vec<String> =
            self.servers.iter().map(|s| format!("nats://petty:{NATS_PASSWORD}@127.0.0.1:{}", s.port)).collect();
        urls.join(",")
    }

    /// Kills (SIGKILL) the server listening on `port`; answers which it was.
    pub(crate) fn kill_port(&mut self, port: u16) -> usize {
        let index = self.servers.iter().position(|s| s.port == port).unwrap_or_else(|| panic!("no server on {port}"));
        self.servers[index].process.kill();
        index
    }

    /// Whether the servers other than `index` still run and still route to each other.
    pub(crate) async fn others_still_routed(&mut self, index: usize) -> bool {
        for (i, server) in self.servers.iter_mut().enumerate() {
            if i == index {
                continue;
            }
            let routes = get_json(&format!("http://127.0.0.1:{}/routez", server.monitor)).await;
            if !server.process.running() || routes.is_none_or(|r| r["num_routes"] != 1) {
                return false;
            }
        }
        true
    }
}

/// HAProxy in front of the nodes, from `deploy/haproxy/haproxy.cfg`.
pub(crate) struct Balancer {
    _process: Process,
    pub address: String,
    stats: String,
}

impl Balancer {
    /// Starts HAProxy on `port` in front of `nodes`, and waits until it sees both up.
    pub(crate) async fn start_on(program: &Path, dir: &Path, nodes: [&str; 2], port: u16) -> Balancer {
        let stats = free_port();
        let mut cmd = Command::new(program);
        // -db: in the foreground, as under systemd's Type=notify; logs to the file below.
        cmd.args(["-db", "-f", deploy("haproxy/haproxy.cfg").to_str().unwrap()])
            .env("PETTY_LB_BIND", format!("127.0.0.1:{port}"))
            .env("PETTY_LB_STATS", format!("127.0.0.1:{stats}"))
            .env("PETTY_NODE_1", nodes[0])
            .env("PETTY_NODE_2", nodes[1])
            .env("PETTY_LB_USER", id("-un"))
            .env("PETTY_LB_GROUP", id("-gn"));
        let process = Process::spawn(&mut cmd, &dir.join("haproxy.log"));
        let balancer =
            Balancer { _process: process, address: format!("127.0.0.1:{port}"), stats: format!("127.0.0.1:{stats}") };
        balancer.wait_for_nodes([true, true], Duration::from_secs(20)).await;
        balancer
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Which nodes HAProxy sends requests to (its health checks on `/readyz`), from its
    /// status page.
    pub(crate) async fn nodes_up(&self) -> Option<[bool; 2]> {
        let res = super::http_client().get(format!("http://{}/;csv", self.stats)).send().await.ok()?;
        let csv = res.text().await.ok()?;
        let up = |name: &str| {
            csv.lines().any(|line| {
                let fields: Vec<&str> = line.split(',').collect();
                fields.len() > 17 && fields[0] == "petty_nodes" && fields[1] == name && fields[17].starts_with("UP")
            })
        };
        Some([up("node1"), up("node2")])
    }

    pub(crate) async fn wait_for_nodes(&self, expected: [bool; 2], within: Duration) {
        wait_for(&format!("HAProxy sees the nodes up as {expected:?}"), within, || async {
            self.nodes_up().await == Some(expected)
        })
        .await;
    }
}

fn id(flag: &str) -> String {
    let out = Command::new("id").arg(flag).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `deploy/petty/petty.env` as systemd reads it: `KEY=VALUE` lines, `#` comments, and a value
/// in matching quotes stands for what is inside them.
fn recipe_env() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(deploy("petty/petty.env")).unwrap();
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (key, value) = line.split_once('=').unwrap_or_else(|| panic!("not KEY=VALUE: {line}"));
            let value = value.trim();
            let unquoted = ['"', '\'']
                .iter()
                .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
                .unwrap_or(value);
            (key.trim().to_owned(), unquoted.to_owned())
        })
        .collect()
}

/// A `petty serve` node started as `deploy/systemd/petty.service` starts it, with the recipe's
/// settings; the test supplies only where things are and the secrets. `extra`: settings the
/// test adds (logged job passes, say).
pub(crate) fn node(
    name: &str,
    dir: &Path,
    database_url: &str,
    nats_urls: &str,
    public_url: &str,
    extra: &[(&str, &str)],
) -> Server {
    let dir = dir.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let secret = dir.join("jwt-secret");
    std::fs::write(&secret, SECRET).unwrap();
    // The bucket's key: uploads are not what these tests are about, so S3 is never reached.
    let s3_secret = dir.join("s3-secret");
    std::fs::write(&s3_secret, "not-a-real-s3-secret").unwrap();
    let mut env = recipe_env();
    let ours = [
        ("PETTY_LISTEN", "127.0.0.1:0".to_owned()),
        ("PETTY_DATABASE_URL", database_url.to_owned()),
        ("PETTY_AUTH__JWT_SECRET_FILE", secret.to_str().unwrap().to_owned()),
        ("PETTY_STORAGE__S3_SECRET_ACCESS_KEY_FILE", s3_secret.to_str().unwrap().to_owned()),
        ("PETTY_NATS__URL", nats_urls.to_owned()),
        // HAProxy connects from 127.0.0.1.
        ("PETTY_HTTP__TRUSTED_PROXIES", "127.0.0.1".to_owned()),
        ("PETTY_PUBLIC_URL", public_url.to_owned()),
    ];
    for (key, value) in ours {
        assert!(env.contains_key(key), "deploy/petty/petty.env sets {key}");
        env.insert(key.to_owned(), value);
    }
    for (key, value) in extra {
        env.insert((*key).to_owned(), (*value).to_owned());
    }
    let mut cmd = petty(&dir.to_path_buf());
    cmd.arg("serve").envs(env);
    start(cmd)
}

/// What the node logged since it started, as JSON lines (the recipe logs JSON).
pub(crate) fn logged(server: &mut Server) -> Vec<Value> {
    server.seen.extend(server.logs.try_iter());
    server.seen.iter().filter_map(|line| serde_json::from_str(line).ok()).collect()
}
