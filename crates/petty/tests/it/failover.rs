//! A cluster that survives losing a node, built from the README's recipe (`topology.rs`): two
//! `petty serve` nodes behind HAProxy, one PostgreSQL database, NATS as three servers.
//!
//! - **Losing a Petty node**: collars send readings through the load balancer (each from its
//!   own loopback address, so the per-address rate limit sees them apart through
//!   `X-Forwarded-For`), WebSocket clients follow them through the load balancer, and a
//!   backlog of collars' readings that break an alarm rule is being judged when one node is
//!   killed with SIGKILL. Afterwards: every reading a collar had acknowledged (a collar sends
//!   a reading again on a connection error or a 5xx, as a real one does) is stored; the
//!   collars kept going; each WebSocket client, reconnecting and resuming with its cursor
//!   when cut off or told of a gap, has every acknowledged reading of its collar; the killed
//!   node held alarm judging claims, and every incident still has exactly one alarm, raised
//!   by the other node once those claims ran out (15 s).
//! - **Losing a NATS server**: a WebSocket client on node A follows a collar whose readings
//!   arrive on node B; the NATS server node A is connected to is killed; readings sent to B
//!   afterwards still reach the client live, and it has every acknowledged one.
//!
//! Needs `PETTY_TEST_POSTGRES_URL`, `nats-server` and `haproxy` (Debian's packages; CI installs
//! them): skipped, and says so, otherwise.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::support::{Account, now_ms};
use super::topology::{Balancer, NatsCluster, logged, node, program};
use super::{PgDatabase, temp_dir};

/// The alarm job's claim on a device (`petty-jobs`' `LEASE_MS`).
const ALARM_LEASE: Duration = Duration::from_secs(15);

/// What a collar got back for its readings.
#[derive(Default)]
struct Sent {
    /// Sequence numbers acknowledged (201, or 200 "duplicate" for one sent again), and when.
    acknowledged: BTreeMap<i64, Instant>,
    /// Sends that failed (no answer, or a 5xx) and were tried again.
    retries: u32,
}

/// A collar sending a reading every `every` until told to stop; a reading that gets no answer
/// or a 5xx is sent again until it is acknowledged.
fn collar(
    http: reqwest::Client,
    url: String,
    token: String,
    every: Duration,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Sent> {
    tokio::spawn(async move {
        let mut sent = Sent::default();
        for seq in 1.. {
            if *stop.borrow() {
                break;
            }
            let reading = json!({"ts": now_ms(), "seq": seq, "heart_rate": 90, "battery_pct": 80});
            loop {
                let answer = http.post(&url).bearer_auth(&token).json(&reading).send().await;
                match answer.map(|r| r.status().as_u16()) {
                    Ok(201 | 200) => {
                        sent.acknowledged.insert(seq, Instant::now());
                        break;
                    }
                    Ok(status) if status < 500 => panic!("reading {seq} refused with {status}"),
                    _ => {
                        sent.retries += 1;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
            tokio::time::sleep(every).await;
        }
        sent
    })
}

/// What a WebSocket client following one device saw.
#[derive(Default, Debug)]
struct Followed {
    /// Sequence numbers received live, and replayed after a resume.
    live: BTreeMap<i64, Instant>,
    replayed: BTreeSet<i64>,
    /// Times the connection was lost and made again.
    reconnects: u32,
    /// Gap and drop notices, after each of which it resumed.
    gaps: u32,
    /// Gaps Petty said it would not fill (the client would reload over REST).
    unfilled: Vec<String>,
}

impl Followed {
    fn seen(&self) -> BTreeSet<i64> {
        self.live.keys().copied().chain(self.replayed.iter().copied()).collect()
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket client following `topic` at `base` (ws://...): it subscribes, and after losing
/// its connection or being told of a gap, subscribes again from the last reading it saw.
fn follow(
    base: String,
    access: String,
    topic: String,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Followed> {
    async fn subscribe(socket: &mut Ws, topic: &str, cursor: &Option<String>) -> bool {
        let mut command = json!({"type": "subscribe", "topic": topic});
        if let Some(cursor) = cursor {
            command["resume_after"] = json!(cursor);
        }
        socket.send(Message::Text(command.to_string().into())).await.is_ok()
    }
    tokio::spawn(async move {
        let mut followed = Followed::default();
        let mut cursor: Option<String> = None;
        'connect: loop {
            if *stop.borrow() {
                break;
            }
            let mut request = format!("{base}/api/v1/ws").into_client_request().unwrap();
            request.headers_mut().insert("authorization", format!("Bearer {access}").parse().unwrap());
            let mut socket = match tokio_tungstenite::connect_async(request).await {
                Ok((socket, _)) => socket,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            if !subscribe(&mut socket, &topic, &cursor).await {
                continue;
            }
            loop {
                let frame = tokio::select! {
                    frame = socket.next() => frame,
                    _ = stop.changed() => break 'connect,
                };
                let message: Value = match frame {
                    Some(Ok(Message::Text(text))) => serde_json::from_str(&text).unwrap(),
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                        followed.reconnects += 1;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue 'connect;
                    }
                    Some(Ok(_)) => continue,
                };
                match message["type"].as_str() {
                    Some("event") => {
                        let data = &message["data"];
                        let seq = data["seq"].as_i64().unwrap();
                        if message["replay"] == true {
                            followed.replayed.insert(seq);
                        } else {
                            followed.live.entry(seq).or_insert_with(Instant::now);
                        }
                        // RFC 3339 in UTC with milliseconds: the text orders as the time.
                        let received = data["received_at"].as_str().unwrap().to_owned();
                        if cursor.as_ref().is_none_or(|c| *c < received) {
                            cursor = Some(received);
                        }
                    }
                    Some("gap") if message["topic"].is_string() => {
                        followed.unfilled.push(message["message"].as_str().unwrap_or_default().to_owned());
                    }
                    Some("gap" | "dropped") => {
                        followed.gaps += 1;
                        if !subscribe(&mut socket, &topic, &cursor).await {
                            continue 'connect;
                        }
                    }
                    Some("subscribed") => {}
                    _ => panic!("unexpected on {topic}: {message}"),
                }
            }
        }
        followed
    })
}

/// One value per line from the test's database.
fn sql(database_url: &str, query: &str) -> Vec<String> {
    let out = std::process::Command::new("psql").args([database_url, "-qAtc", query]).output().expect("psql");
    assert!(out.status.success(), "{query}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect()
}

/// Devices whose alarm judging is claimed right now, with the claim's token.
fn claims(database_url: &str) -> BTreeSet<String> {
    let query = format!(
        "SELECT id::text || ' ' || alarms_lease_token FROM devices \
         WHERE alarms_lease_token IS NOT NULL AND alarms_from IS NOT NULL AND alarms_lease_until > {}",
        now_ms()
    );
    sql(database_url, &query).into_iter().collect()
}

/// Every stored sequence number of a device, read back through `account`'s base.
async fn stored(account: &Account, device: &str, since_ms: i64) -> BTreeSet<i64> {
    let mut seqs = BTreeSet::new();
    let base = format!("/api/v1/devices/{device}/readings?limit=5000&from={}&to={}", since_ms, now_ms() + 600_000);
    let mut path = base.clone();
    loop {
        let page = account.get(&path).await;
        seqs.extend(page["items"].as_array().unwrap().iter().map(|r| r["seq"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{base}&cursor={cursor}"),
            None => return seqs,
        }
    }
}

/// A client of its own from loopback address 127.0.0.`n`.
fn client_from(n: u8) -> reqwest::Client {
    super::http_client();
    let ip: IpAddr = [127, 0, 0, n].into();
    reqwest::Client::builder().local_address(ip).timeout(Duration::from_secs(20)).build().unwrap()
}

/// Collars in steady ingest, each followed by one WebSocket client.
const COLLARS: usize = 4;
/// Collars in the backlog; every fifth stays calm.
const BACKLOG: usize = 200;
/// Readings per backlog collar, 3 s apart, the newest at the time of the backlog.
const READINGS: i64 = 20;

fn breaks(i: usize) -> bool {
    i % 5 != 0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_haproxy_nothing_acknowledged_is_lost_when_a_petty_node_is_killed() {
    let what = "a cluster behind HAProxy losing a Petty node";
    let (Some(nats_server), Some(haproxy)) =
        (program("nats-server", "nats-server", what), program("haproxy", "haproxy", what))
    else {
        return;
    };
    let Some(db) = PgDatabase::create() else { return };
    let started_ms = now_ms();
    let dir = temp_dir("failover-node");
    let nats = NatsCluster::start(&nats_server, &dir).await;
    let lb_port = super::topology::free_port();
    let public = format!("http://127.0.0.1:{lb_port}");
    // Judging passes let readings gather for a moment, so the backlog is judged in passes
    // that take a while: long enough to kill a node in the middle of one.
    let extra = [("PETTY_NOTIFY__ALARM_DELAY_MS", "300")];
    let mut a = node("a", &dir, &db.url(), &nats.urls(), &public, &extra);
    let b = node("b", &dir, &db.url(), &nats.urls(), &public, &extra);
    let lb = Balancer::start_on(&haproxy, &dir, [&a.address, &b.address], lb_port).await;

    let owner = Account::sign_up(&a, "failover@example.org").await;
    let owner = Account { base: lb.url(""), http: client_from(2), ..owner };
    owner.tune_rule("heart_high", json!({"for_secs": 0})).await;
    let steady: Vec<(String, String)> = futures_util::stream::iter(0..COLLARS)
        .map(|i| owner.create_device(json!({"name": format!("steady {i}"), "kind": "collar"})))
        .buffered(4)
        .collect()
        .await;
    let backlog: Vec<(String, String)> = futures_util::stream::iter(0..BACKLOG)
        .map(|i| owner.create_device(json!({"name": format!("backlog {i:03}"), "kind": "collar"})))
        .buffered(8)
        .collect()
        .await;

    // WebSocket clients through the load balancer, one per steady collar; then the collars.
    let (stop_following, following) = watch::channel(false);
    let followers: Vec<_> = steady
        .iter()
        .map(|(id, _)| {
            let base = lb.url("").replace("http://", "ws://");
            follow(base, owner.access.clone(), format!("device:{id}"), following.clone())
        })
        .collect();
    let (stop_sending, sending) = watch::channel(false);
    let collars: Vec<_> = steady
        .iter()
        .enumerate()
        .map(|(i, (_, token))| {
            let http = client_from(10 + i as u8);
            collar(http, lb.url("/api/v1/ingest"), token.clone(), Duration::from_millis(150), sending.clone())
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;

    // The backlog, through the load balancer: a minute of each collar, most ending in a
    // racing heart.
    let t = now_ms();
    let statuses: Vec<u16> = futures_util::stream::iter(backlog.iter().enumerate())
        .map(|(i, (_, token))| {
            let readings: Vec<Value> = (0..READINGS)
                .map(|k| {
                    let bpm = if k == READINGS - 1 && breaks(i) { 200 } else { 90 + k };
                    json!({"ts": t - (READINGS - 1 - k) * 3000, "heart_rate": bpm})
                })
                .collect();
            let request = owner.http.post(lb.url("/api/v1/ingest")).bearer_auth(token);
            let request = request.json(&json!({"readings": readings}));
            async move { request.send().await.unwrap().status().as_u16() }
        })
        .buffered(8)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let incidents = (0..BACKLOG).filter(|i| breaks(*i)).count();

    // Kill node A while the backlog is being judged: some alarms raised, fewer than half, and
    // both nodes holding claims. Each node judges one pass at a time under one lease token, so
    // two tokens held at once means node A holds some of them.
    let deadline = Instant::now() + Duration::from_secs(30);
    let raised_at_kill = loop {
        let raised: usize = sql(&db.url(), "SELECT count(*) FROM alarms")[0].parse().unwrap();
        let tokens: BTreeSet<String> =
            claims(&db.url()).iter().filter_map(|c| c.split(' ').nth(1).map(str::to_owned)).collect();
        if raised >= 10 && raised < incidents / 2 && tokens.len() >= 2 {
            a.child.kill().unwrap();
            a.child.wait().unwrap();
            break raised;
        }
        assert!(raised < incidents / 2, "judging went too fast to kill a node in the middle of it");
        assert!(Instant::now() < deadline, "judging did not start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let killed = Instant::now();
    let held = claims(&db.url());
    // Claims that make no progress for a few seconds are the dead node's (the live one
    // finishes each of its claims in well under that).
    tokio::time::sleep(Duration::from_secs(4)).await;
    let orphaned: Vec<String> = held.intersection(&claims(&db.url())).cloned().collect();
    assert!(!orphaned.is_empty(), "the killed node held judging claims at the kill (held then: {held:?})");

    // HAProxy stops sending to the dead node; the collars keep going meanwhile.
    lb.wait_for_nodes([false, true], Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let _ = stop_sending.send(true);
    let mut sent = Vec::new();
    for c in collars {
        sent.push(c.await.unwrap());
    }
    let sent_done = Instant::now();

    // Every incident has its alarm, those of the dead node's claims once they ran out.
    let within = ALARM_LEASE + Duration::from_secs(30);
    loop {
        let raised: usize = sql(&db.url(), "SELECT count(*) FROM alarms")[0].parse().unwrap();
        if raised >= incidents {
            break;
        }
        assert!(killed.elapsed() < within, "{raised} alarms of {incidents} {within:?} after the kill");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let alarms_after = killed.elapsed();
    let by_name: BTreeMap<&str, usize> = backlog.iter().enumerate().map(|(i, (id, _))| (id.as_str(), i)).collect();
    let alarms = owner.alarms("").await;
    let mut per_collar: BTreeMap<usize, Vec<&Value>> = BTreeMap::new();
    for alarm in &alarms {
        let i = by_name.get(alarm["device_id"].as_str().unwrap_or_default());
        per_collar
            .entry(*i.unwrap_or_else(|| panic!("an alarm for a steady collar: {alarm}")))
            .or_default()
            .push(alarm);
    }
    for i in 0..BACKLOG {
        let found = per_collar.remove(&i).unwrap_or_default();
        if breaks(i) {
            assert_eq!(found.len(), 1, "backlog {i:03}: one alarm for its incident: {found:#?}");
            assert_eq!((found[0]["type"].as_str(), found[0]["occurrences"].as_i64()), (Some("heart_high"), Some(1)));
        } else {
            assert!(found.is_empty(), "backlog {i:03} was fine: {found:#?}");
        }
    }

    // Every acknowledged reading is stored, and the collars kept going after the kill.
    for ((id, _), sent) in steady.iter().zip(&sent) {
        let stored = stored(&owner, id, started_ms - 60_000).await;
        let acknowledged: BTreeSet<i64> = sent.acknowledged.keys().copied().collect();
        let lost: Vec<_> = acknowledged.difference(&stored).collect();
        assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
        let after_kill = sent.acknowledged.values().filter(|at| **at > killed).count();
        assert!(after_kill >= 10, "a collar kept sending after the kill ({after_kill} acknowledged since)");
    }

    // The WebSocket clients have every acknowledged reading, or were told what they missed.
    // Silence from the dead node is noticed within 3 s: wait that long after the last send.
    tokio::time::sleep(Duration::from_secs(4).saturating_sub(sent_done.elapsed())).await;
    let _ = stop_following.send(true);
    let mut reconnected = 0;
    for ((follower, sent), (id, _)) in followers.into_iter().zip(&sent).zip(&steady) {
        let followed = follower.await.unwrap();
        let missing: Vec<_> = sent.acknowledged.keys().filter(|s| !followed.seen().contains(s)).collect();
        assert!(
            missing.is_empty() || !followed.unfilled.is_empty(),
            "device:{id}: acknowledged, never received and never told of: {missing:?} ({followed:?})"
        );
        reconnected += u32::from(followed.reconnects > 0);
        eprintln!(
            "device:{id}: {} acknowledged ({} retried sends); received {} live, {} replayed; {} reconnects, {} gaps",
            sent.acknowledged.len(),
            sent.retries,
            followed.live.len(),
            followed.replayed.len(),
            followed.reconnects,
            followed.gaps
        );
    }
    assert!(reconnected > 0, "some WebSocket clients were on the killed node and reconnected");
    eprintln!(
        "killed node A with {raised_at_kill} of {incidents} alarms raised and {} claims of its own; \
         every alarm raised {alarms_after:?} after the kill",
        orphaned.len()
    );
    drop((b, lb, nats));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_events_go_on_when_a_nats_server_is_killed() {
    let what = "live events across nodes losing a NATS server";
    let Some(nats_server) = program("nats-server", "nats-server", what) else { return };
    let Some(db) = PgDatabase::create() else { return };
    let dir = temp_dir("failover-nats");
    let mut nats = NatsCluster::start(&nats_server, &dir).await;
    let mut a = node("a", &dir, &db.url(), &nats.urls(), "http://127.0.0.1", &[]);
    let b = node("b", &dir, &db.url(), &nats.urls(), "http://127.0.0.1", &[]);
    let owner = Account::sign_up(&a, "nats-failover@example.org").await;
    let (device, token) = owner.create_device(json!({"name": "collar", "kind": "collar"})).await;

    // A WebSocket client on node A; the collar sends to node B.
    let (stop_following, following) = watch::channel(false);
    let follower =
        follow(a.url("").replace("http://", "ws://"), owner.access.clone(), format!("device:{device}"), following);
    let (stop_sending, sending) = watch::channel(false);
    let sender = collar(client_from(20), b.url("/api/v1/ingest"), token, Duration::from_millis(100), sending);
    tokio::time::sleep(Duration::from_secs(2)).await;

    // The NATS server node A is connected to (its log says which).
    let connected = |server: &mut super::Server| {
        logged(server)
            .iter()
            .filter(|l| l["message"] == "connected to NATS")
            .filter_map(|l| l["server"].as_str()?.rsplit_once(':')?.1.parse::<u16>().ok())
            .next_back()
    };
    let port = connected(&mut a).expect("node A says which NATS server it is on");
    let index = nats.kill_port(port);
    let killed = Instant::now();
    assert!(nats.others_still_routed(index).await, "the other two NATS servers carry on");
    tokio::time::sleep(Duration::from_secs(4)).await;
    let _ = stop_sending.send(true);
    let sent = sender.await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let _ = stop_following.send(true);
    let followed = follower.await.unwrap();

    let reconnected = logged(&mut a).iter().any(|l| l["message"] == "reconnected to NATS");
    assert!(reconnected, "node A moved to another NATS server");
    // Readings sent to B well after the kill reached A's client live.
    let later: Vec<i64> =
        sent.acknowledged.iter().filter(|(_, at)| **at > killed + Duration::from_secs(1)).map(|(s, _)| *s).collect();
    assert!(later.len() >= 10, "readings were sent after the kill: {later:?}");
    let live_later = later.iter().filter(|s| followed.live.contains_key(s)).count();
    assert_eq!(live_later, later.len(), "every reading sent a second after the kill arrived live: {followed:?}");
    let missing: Vec<_> = sent.acknowledged.keys().filter(|s| !followed.seen().contains(s)).collect();
    assert!(
        missing.is_empty() || !followed.unfilled.is_empty(),
        "acknowledged, never received and never told of: {missing:?} ({followed:?})"
    );
    eprintln!(
        "killed NATS server {}: {} readings acknowledged; {} live, {} replayed after {} gap notices",
        index + 1,
        sent.acknowledged.len(),
        followed.live.len(),
        followed.replayed.len(),
        followed.gaps
    );
    drop((a, b, nats));
    let _ = std::fs::remove_dir_all(dir);
}
