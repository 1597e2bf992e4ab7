//! End-to-end tests of the `petty` binary: the real executable, its flags, configuration and
//! signals, on SQLite and (when `PETTY_TEST_POSTGRES_URL` is set) PostgreSQL.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

#[path = "../common/pg_database.rs"]
mod pg_database;

use pg_database::PgDatabase;

/// A running `petty serve`, killed on drop if a test fails.
struct Server {
    child: Child,
    address: String,
    logs: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("petty-bin-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `petty` with a clean environment: no PETTY_* from the developer's shell leaks in.
fn petty(dir: &PathBuf) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_petty"));
    clean_env(&mut cmd);
    cmd.current_dir(dir);
    cmd
}

/// No PETTY_* variable (nor RUST_LOG) from the developer's shell reaches `cmd`.
fn clean_env(cmd: &mut Command) {
    for (key, _) in std::env::vars() {
        if key.starts_with("PETTY_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
}

fn start(mut cmd: Command) -> Server {
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn petty");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    loop {
        // Generous: `--demo` replays a fortnight first, on a debug build beside other tests.
        let Ok(line) = rx.recv_timeout(Duration::from_secs(300)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("petty did not start: {seen:#?}");
        };
        seen.push(line.clone());
        if let Some(rest) = line.split("listening on http://").nth(1) {
            let address = rest.split_whitespace().next().unwrap().to_owned();
            return Server { child, address, logs: rx, seen };
        }
    }
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    fn terminate(&mut self) {
        let status = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit and returns everything it logged.
    fn wait_exit(&mut self) -> (bool, Vec<String>) {
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.seen.extend(self.logs.try_iter());
                std::thread::sleep(Duration::from_millis(50));
                self.seen.extend(self.logs.try_iter());
                return (status.success(), self.seen.clone());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("petty did not exit within 10 s after SIGTERM");
    }
}

mod backup;
mod cluster;
mod crash;
mod crash_judging;
mod demo;
mod failover;
mod import;
mod mcp_stdio;
mod mqtt;
mod nodes;
mod query;
mod readme;
mod sources;
mod support;
mod topology;
mod train;
mod transfer;

/// Sends `request` and reads its answer as JSON.
async fn answer(request: reqwest::RequestBuilder) -> serde_json::Value {
    request.send().await.unwrap().json().await.unwrap()
}

fn http_client() -> reqwest::Client {
    petty_http::notify::install_tls_provider();
    reqwest::Client::new()
}

/// Registers `body` (`email`, `password`, `display_name`) on `server` and signs in: registration
/// answers 202 and no tokens, whether or not the address was new. Answers the session.
async fn sign_up(http: &reqwest::Client, server: &Server, body: &serde_json::Value) -> serde_json::Value {
    let res = http.post(server.url("/api/v1/auth/register")).json(body).send().await.unwrap();
    assert_eq!(res.status(), 202, "register");
    let credentials = serde_json::json!({"email": body["email"], "password": body["password"]});
    let res = http.post(server.url("/api/v1/auth/login")).json(&credentials).send().await.unwrap();
    assert_eq!(res.status(), 200, "sign in");
    res.json().await.unwrap()
}

#[tokio::test]
async fn serve_answers_then_stops_cleanly_on_sigterm() {
    let dir = temp_dir("serve");
    let mut cmd = petty(&dir);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--demo"]).env("PETTY_NOT_A_SETTING", "1");
    let mut server = start(cmd);
    assert!(server.seen.iter().any(|l| l.contains("PETTY_NOT_A_SETTING")), "unknown variables are warned about");
    let client = http_client();
    let health = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(client.get(server.url("/docs/")).send().await.unwrap().status(), 200);

    // The demo household is there.
    let login: serde_json::Value = client
        .post(server.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "demo@petty.local", "password": "petty-demo-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().expect("demo login works");
    let pets: serde_json::Value =
        client.get(server.url("/api/v1/pets")).bearer_auth(token).send().await.unwrap().json().await.unwrap();
    assert_eq!(pets["total"], 3);

    // Embedded mode: the database and a generated secret live in ./petty-data.
    assert!(dir.join("petty-data/petty.db").exists());
    assert!(dir.join("petty-data/secret.key").exists());

    server.terminate();
    let (ok, logs) = server.wait_exit();
    assert!(ok, "exit status after SIGTERM: {logs:#?}");
    assert!(logs.iter().any(|l| l.contains("stopped")), "{logs:#?}");
    // A clean close checkpoints the write-ahead log into the database file.
    let wal = dir.join("petty-data/petty.db-wal");
    assert!(!wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0, "WAL left behind");

    // Same data folder, same secret: the old token still works after a restart.
    let mut cmd = petty(&dir);
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    let server = start(cmd);
    let res = client.get(server.url("/api/v1/pets")).bearer_auth(token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_request_in_flight_finishes_during_shutdown() {
    let dir = temp_dir("inflight");
    let mut cmd = petty(&dir);
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    let mut server = start(cmd);
    let mut stream = TcpStream::connect(&server.address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let body = br#"{"email":"late@example.org","password":"a fine long password","display_name":"Late"}"#;
    // `Expect: 100-continue`: the server says "100 Continue" once the handler starts reading
    // the body, so the request is known to be in flight before the SIGTERM. (Without it, on a
    // loaded machine the SIGTERM could come before the server had even accepted the
    // connection, and a connection never accepted is reset.)
    let head = format!(
        "POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Expect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut interim = Vec::new();
    let mut byte = [0u8; 1];
    while !interim.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "closed before 100 Continue: {interim:?}");
        interim.push(byte[0]);
    }
    assert!(interim.starts_with(b"HTTP/1.1 100"), "{:?}", String::from_utf8_lossy(&interim));
    // Half the body, then SIGTERM, then the rest: the server must still answer it.
    stream.write_all(&body[..20]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.terminate();
    std::thread::sleep(Duration::from_millis(300));
    stream.write_all(&body[20..]).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 202"), "in-flight request was cut off: {answer:?}");
    let (ok, logs) = server.wait_exit();
    assert!(ok, "{logs:#?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn json_logs_are_one_object_per_line() {
    let dir = temp_dir("json");
    let mut cmd = petty(&dir);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"]);
    let mut server = start(cmd);
    server.terminate();
    let (ok, logs) = server.wait_exit();
    assert!(ok);
    assert!(logs.len() >= 3, "{logs:#?}");
    for line in &logs {
        let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(value.get("level").is_some() && value.get("timestamp").is_some(), "{line}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn production_mode_without_a_secret_refuses_to_start_and_says_how() {
    let dir = temp_dir("prod");
    let out = petty(&dir).args(["serve"]).env("PETTY_MODE", "production").output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("PETTY_AUTH__JWT_SECRET") && stderr.contains("petty config secret"), "{stderr}");
    assert!(!dir.join("petty-data").exists(), "nothing is created when start-up is refused");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn config_commands_and_migrate() {
    let dir = temp_dir("config");
    let out = petty(&dir).args(["config", "default"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("listen = \"127.0.0.1:8080\"") && text.contains("[rate_limit]"));

    let out = petty(&dir).args(["config", "secret"]).output().unwrap();
    assert!(String::from_utf8(out.stdout).unwrap().trim().len() >= 32);

    let out = petty(&dir)
        .args(["config", "show", "--database-url", "postgres://petty:hunter2@db.example/petty"])
        .env("PETTY_AUTH__JWT_SECRET", "a-very-secret-value-that-is-long-enough-0123")
        .output()
        .unwrap();
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!shown.contains("hunter2") && !shown.contains("a-very-secret-value"), "secrets are hidden: {shown}");

    let out = petty(&dir).args(["migrate", "--data-dir", "data"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.join("data/petty.db").exists());

    let out = petty(&dir).args(["serve", "--listen", "not-an-address"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ADDR:PORT"));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn serve_runs_on_postgresql() {
    let Some(db) = PgDatabase::create() else { return };
    let dir = temp_dir("pg");
    let mut cmd = petty(&dir);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--demo"]).env("PETTY_DATABASE_URL", db.url());
    let mut server = start(cmd);
    let client = http_client();
    let ready: serde_json::Value = client.get(server.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["database"], "postgres");
    let res = client
        .post(server.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"email": "demo@petty.local", "password": "petty-demo-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(!dir.join("petty-data/petty.db").exists(), "no SQLite file when running on PostgreSQL");
    server.terminate();
    let (ok, logs) = server.wait_exit();
    assert!(ok, "{logs:#?}");
    let _ = std::fs::remove_dir_all(dir);
}
