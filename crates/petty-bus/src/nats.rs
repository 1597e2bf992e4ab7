//! The bus across nodes: one NATS connection per node (to any server of a cluster, moving to
//! another when its server goes away), and the bookkeeping that notices lost messages.
//!
//! Core NATS delivers at most once: a message in flight when a server or a node dies, or
//! published while a node is between servers, is gone. Nothing here brings it back (the
//! readings are in the database, and a WebSocket client catches up from there); what this
//! module guarantees is that **a loss is never silent**. Every node numbers what it publishes
//! (`Petty-Node`, `Petty-Seq` headers) and says every second how far it has got (a heartbeat on
//! `petty.nodes`, on the same subscription as the events, so in order with them). A node's
//! subscribers are told of a gap ([`crate::Delivery::Gap`]) when:
//!
//! - another node's numbers jump, or its heartbeat names a number this node never received;
//! - another node falls silent for [`SILENCE`] without saying goodbye (it died: its last
//!   messages may not have left it);
//! - this node's own connection broke and came back (it heard nothing meanwhile), or the
//!   client or server found this node reading too slowly.
//!
//! A message this node cannot hand to NATS (disconnected, or the client's queue full for more
//! than [`PUBLISH_WAIT`]) still reaches this node's own subscribers; its number is skipped, so
//! every other node sees the jump.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_nats::connection::State;
use async_nats::{Event, HeaderMap, ServerAddr};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::{Mutex, Notify};

use crate::{Bus, SUBJECT_PREFIX, Topic};

/// Where nodes say how far their numbering has got, every [`HEARTBEAT`].
const NODES_SUBJECT: &str = "petty.nodes";
const HEARTBEAT: Duration = Duration::from_secs(1);
/// A node not heard from for this long is taken for dead.
pub(crate) const SILENCE: Duration = Duration::from_secs(3);
/// The longest a publisher waits for the NATS client to take a message.
pub(crate) const PUBLISH_WAIT: Duration = Duration::from_millis(250);
const NODE_HEADER: &str = "Petty-Node";
const SEQ_HEADER: &str = "Petty-Seq";
const BYE_HEADER: &str = "Petty-Bye";

/// This node's connection, its name among the nodes and its numbering.
pub(crate) struct Link {
    client: async_nats::Client,
    node: String,
    /// The last number given out (sent or skipped).
    seq: AtomicU64,
    /// Numbers are given out and handed to the client under this lock, so they leave in order.
    sending: Mutex<()>,
    /// Set by the connection's events; read by the relay.
    signals: Arc<Signals>,
}

/// What the NATS client's event callback tells the relay.
#[derive(Default)]
pub(crate) struct Signals {
    /// Messages to this node may have been lost (a reconnect, a slow consumer).
    lost: AtomicBool,
    /// The connection is down (between a disconnect and the next connect).
    down: AtomicBool,
    wake: Notify,
}

/// Splits `nats://a:4222, nats://b:4222` into server addresses.
fn servers(urls: &str) -> Result<Vec<ServerAddr>, String> {
    let mut out = Vec::new();
    for url in urls.split(',').map(str::trim).filter(|u| !u.is_empty()) {
        let addr = ServerAddr::from_str(url)
            .map_err(|e| format!("nats.url: {:?} is not a NATS server address: {e}", redact(url)))?;
        out.push(addr);
    }
    if out.is_empty() {
        return Err("nats.url names no server (nats://host:4222, several separated by commas)".to_owned());
    }
    Ok(out)
}

/// The user and password the first URL that has them carries (`nats://petty:secret@host`):
/// the client sends them to whichever server it connects to, discovered ones included.
fn credentials(addrs: &[ServerAddr]) -> Option<(String, String)> {
    addrs.iter().find_map(|a| Some((a.username()?.to_owned(), a.password()?.to_owned())))
}

/// `nats://petty:secret@a:4222,nats://b:4222` with each password replaced, for messages.
pub fn redact(urls: &str) -> String {
    urls.split(',')
        .map(|url| match url.split_once("://").and_then(|(scheme, rest)| Some((scheme, rest.split_once('@')?))) {
            Some((scheme, (userinfo, host))) => {
                let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
                format!("{scheme}://{user}:***@{host}")
            }
            None => url.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Reconnect at once, then back off to at most two seconds between rounds of attempts.
fn reconnect_delay(attempts: usize) -> Duration {
    match attempts {
        0 | 1 => Duration::ZERO,
        n => Duration::from_millis(50u64.saturating_mul(1 << (n - 1).min(6))).min(Duration::from_secs(2)),
    }
}

impl Link {
    /// Connects to one of `urls` and subscribes to every Petty subject; the subscription is in
    /// place at the server before this returns.
    pub(crate) async fn connect(urls: &str) -> Result<(Link, async_nats::Subscriber), String> {
        let addrs = servers(urls)?;
        let node = format!("{:016x}", rand::random::<u64>());
        let signals = Arc::new(Signals::default());
        let events = Arc::clone(&signals);
        let mut options = async_nats::ConnectOptions::new();
        if let Some((user, password)) = credentials(&addrs) {
            options = options.user_and_password(user, password);
        }
        let client = options
            .name(format!("petty-{node}"))
            .connection_timeout(Duration::from_secs(2))
            // A server that stops answering without closing the connection is noticed too.
            .ping_interval(Duration::from_secs(5))
            .reconnect_delay_callback(reconnect_delay)
            .event_callback(move |event| {
                let signals = Arc::clone(&events);
                async move { signals.note(event) }
            })
            .connect(addrs.as_slice())
            .await
            .map_err(|e| format!("could not connect to NATS at {}: {e}", redact(urls)))?;
        let incoming = client.subscribe("petty.>").await.map_err(|e| format!("could not subscribe on NATS: {e}"))?;
        // The subscription is in place at the server before the bus is handed out: the server
        // takes one connection's commands in order, so once a message published to an inbox
        // subscribed after it comes back, the events subscription is live. (A flush only sends
        // our commands; without this, a node starting up could miss what another publishes
        // meanwhile.)
        let inbox = client.new_inbox();
        let mut ready =
            client.subscribe(inbox.clone()).await.map_err(|e| format!("could not subscribe on NATS: {e}"))?;
        client.publish(inbox, Bytes::new()).await.map_err(|e| format!("could not publish to NATS: {e}"))?;
        match tokio::time::timeout(Duration::from_secs(10), ready.next()).await {
            Ok(Some(_)) => {}
            _ => return Err(format!("NATS at {} did not confirm the subscription within 10 s", redact(urls))),
        }
        drop(ready);
        let server = client.server_info();
        tracing::info!(node = %node, server = %format!("{}:{}", server.host, server.port), "connected to NATS");
        Ok((Link { client, node, seq: AtomicU64::new(0), sending: Mutex::new(()), signals }, incoming))
    }

    fn headers(&self, seq: u64) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(NODE_HEADER, self.node.as_str());
        headers.insert(SEQ_HEADER, seq.to_string().as_str());
        headers
    }

    /// Hands a message to NATS; gives the payload back when it could not (its number is then
    /// skipped, so the other nodes notice).
    pub(crate) async fn publish(&self, topic: Topic, payload: Bytes) -> Result<(), Bytes> {
        if self.client.connection_state() != State::Connected {
            self.seq.fetch_add(1, Ordering::Relaxed);
            return Err(payload);
        }
        let subject = format!("{SUBJECT_PREFIX}{topic}");
        let send = async {
            let _order = self.sending.lock().await;
            let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
            self.client.publish_with_headers(subject, self.headers(seq), payload.clone()).await
        };
        match tokio::time::timeout(PUBLISH_WAIT, send).await {
            Ok(Ok(())) => Ok(()),
            failed => {
                // Cancelled before its number was sent or taken: skip one either way.
                self.seq.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("petty_bus_unpublished_total").increment(1);
                match failed {
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, %topic, "could not publish to NATS; other nodes miss this event")
                    }
                    _ => tracing::warn!(%topic, "NATS did not take an event in time; other nodes miss it"),
                }
                Err(payload)
            }
        }
    }

    /// Tells the other nodes how far the numbering has got (`bye`: and that this node leaves).
    async fn heartbeat(&self, bye: bool) {
        if self.client.connection_state() != State::Connected {
            return;
        }
        let send = async {
            let _order = self.sending.lock().await;
            let mut headers = self.headers(self.seq.load(Ordering::Relaxed));
            if bye {
                headers.insert(BYE_HEADER, "1");
            }
            self.client.publish_with_headers(NODES_SUBJECT, headers, Bytes::new()).await
        };
        if let Ok(Err(e)) = tokio::time::timeout(PUBLISH_WAIT, send).await {
            tracing::debug!(error = %e, "could not send the NATS heartbeat");
        }
    }

    pub(crate) async fn flush(&self) {
        if let Err(e) = self.client.flush().await {
            tracing::warn!(error = %e, "could not flush events to NATS; some are lost");
        }
    }

    pub(crate) async fn leave(&self) {
        self.heartbeat(true).await;
        self.flush().await;
    }
}

impl Signals {
    fn note(&self, event: Event) {
        match event {
            Event::Disconnected => {
                self.down.store(true, Ordering::Relaxed);
                tracing::warn!("lost the connection to NATS; reconnecting (live events from other nodes wait)");
            }
            Event::Connected => {
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("reconnected to NATS");
                    self.lost.store(true, Ordering::Relaxed);
                    self.wake.notify_one();
                }
            }
            Event::SlowConsumer(_) | Event::ServerError(async_nats::ServerError::SlowConsumer(_)) => {
                tracing::warn!("this node read NATS too slowly; some live events were dropped");
                self.lost.store(true, Ordering::Relaxed);
                self.wake.notify_one();
            }
            Event::LameDuckMode => tracing::info!("the NATS server is going away (lame duck); moving on soon"),
            other => tracing::debug!(event = %other, "NATS event"),
        }
    }
}

/// What this node knows of another node's numbering.
struct Peer {
    last: u64,
    heard: Instant,
}

/// The numbering of the other nodes as heard, and whether a message went missing.
#[derive(Default)]
pub(crate) struct Peers {
    peers: HashMap<String, Peer>,
}

impl Peers {
    /// Notes number `seq` from `node` (an event, or a heartbeat naming the last number sent);
    /// answers whether something from it went missing. A node heard of for the first time
    /// starts its count there. With `bye`, the node is forgotten.
    pub(crate) fn heard(&mut self, node: &str, seq: u64, heartbeat: bool, bye: bool, now: Instant) -> bool {
        let missing = match self.peers.get_mut(node) {
            None => {
                self.peers.insert(node.to_owned(), Peer { last: seq, heard: now });
                false
            }
            Some(peer) => {
                // An event must be the next number; a heartbeat, the last one received.
                let expected = if heartbeat { peer.last } else { peer.last + 1 };
                let missing = seq > expected;
                peer.last = peer.last.max(seq);
                peer.heard = now;
                missing
            }
        };
        if bye {
            self.peers.remove(node);
        }
        missing
    }

    /// Forgets the nodes silent since `now - SILENCE`; answers how many.
    pub(crate) fn sweep(&mut self, now: Instant) -> usize {
        let before = self.peers.len();
        self.peers.retain(|node, peer| {
            let alive = now.duration_since(peer.heard) < SILENCE;
            if !alive {
                tracing::warn!(node = %node, "a node fell silent on NATS; its last events may be lost");
            }
            alive
        });
        before - self.peers.len()
    }
}

fn header<'a>(headers: Option<&'a HeaderMap>, name: &str) -> Option<&'a str> {
    headers.and_then(|h| h.get(name)).map(|v| v.as_str())
}

/// Starts the relay (NATS → this node's subscribers, noticing gaps) and the heartbeat. Both
/// hold only a weak handle, so dropping every clone of the bus ends them.
pub(crate) fn spawn_tasks(bus: &Bus, mut incoming: async_nats::Subscriber) {
    let Some(link) = &bus.inner.nats else { return };
    let own = link.node.clone();
    let signals = Arc::clone(&link.signals);
    let relay = Arc::downgrade(&bus.inner);
    tokio::spawn(async move {
        let mut peers = Peers::default();
        let mut sweep = tokio::time::interval(HEARTBEAT);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let gap = tokio::select! {
                message = incoming.next() => {
                    let Some(message) = message else { break };
                    let Some(inner) = relay.upgrade() else { break };
                    let bus = Bus { inner };
                    let headers = message.headers.as_ref();
                    let node = header(headers, NODE_HEADER);
                    let seq = header(headers, SEQ_HEADER).and_then(|s| s.parse::<u64>().ok());
                    let heartbeat = message.subject.as_str() == NODES_SUBJECT;
                    // Our own messages are not counted: what this node could not send, its
                    // subscribers got directly, and what it missed, its reconnect reports.
                    let missing = match (node, seq) {
                        (Some(node), Some(seq)) if node != own => {
                            let bye = header(headers, BYE_HEADER).is_some();
                            peers.heard(node, seq, heartbeat, bye, Instant::now())
                        }
                        _ => false,
                    };
                    if missing {
                        tracing::info!(node = node.unwrap_or("?"), "events from another node went missing on NATS");
                        bus.gap();
                    }
                    if !heartbeat {
                        match message.subject.as_str().strip_prefix(SUBJECT_PREFIX).map(Topic::from_str) {
                            Some(Ok(topic)) => bus.deliver(topic, message.payload),
                            _ => tracing::debug!(subject = %message.subject, "ignored a NATS message with no Petty topic"),
                        }
                    }
                    continue;
                }
                _ = signals.wake.notified() => signals.lost.swap(false, Ordering::Relaxed),
                _ = sweep.tick() => peers.sweep(Instant::now()) > 0,
            };
            if gap {
                let Some(inner) = relay.upgrade() else { break };
                Bus { inner }.gap();
            }
        }
    });
    let beat = Arc::downgrade(&bus.inner);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(HEARTBEAT);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let Some(inner) = beat.upgrade() else { break };
            if let Some(link) = &inner.nats {
                link.heartbeat(false).await;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_servers_are_separated_by_commas() {
        let addrs = servers("nats://127.0.0.1:4222, nats://127.0.0.1:4223,,127.0.0.1:4224").unwrap();
        assert_eq!(addrs.len(), 3);
        assert!(servers(" , ").unwrap_err().contains("names no server"));
        assert!(servers("nats://a:4222,nats://b:notaport").unwrap_err().contains("nats://b:notaport"));
    }

    #[test]
    fn credentials_come_from_the_urls_and_stay_out_of_messages() {
        let addrs = servers("nats://a:4222,nats://petty:s3cret@b:4222").unwrap();
        assert_eq!(credentials(&addrs), Some(("petty".to_owned(), "s3cret".to_owned())));
        assert_eq!(credentials(&servers("nats://a:4222").unwrap()), None);
        assert_eq!(redact("nats://petty:s3cret@b:4222,nats://c:4222"), "nats://petty:***@b:4222,nats://c:4222");
        let err = servers("nats://petty:s3cret@b:x").unwrap_err();
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn a_missing_number_or_a_silent_node_is_a_gap() {
        let t0 = Instant::now();
        let mut peers = Peers::default();
        assert!(!peers.heard("a", 7, false, false, t0), "a node heard first counts from there");
        assert!(!peers.heard("a", 8, false, false, t0));
        assert!(!peers.heard("a", 8, true, false, t0), "a heartbeat naming the last number received");
        assert!(peers.heard("a", 10, false, false, t0), "9 went missing");
        assert!(peers.heard("a", 11, true, false, t0), "11 was sent and never arrived");
        assert!(!peers.heard("a", 11, true, false, t0));
        assert!(!peers.heard("b", 1, false, false, t0));
        assert_eq!(peers.sweep(t0 + SILENCE / 2), 0);
        assert!(!peers.heard("b", 2, false, false, t0 + SILENCE));
        assert_eq!(peers.sweep(t0 + SILENCE + Duration::from_millis(1)), 1, "a fell silent, b did not");
        assert!(!peers.heard("b", 2, true, true, t0 + SILENCE), "b says goodbye having sent everything");
        assert_eq!(peers.sweep(t0 + SILENCE * 10), 0, "and is not missed");
        assert!(!peers.heard("c", 3, false, false, t0));
        assert!(peers.heard("c", 5, true, true, t0), "c left with a number it never delivered");
    }

    #[test]
    fn reconnects_start_at_once_and_back_off_to_two_seconds() {
        assert_eq!(reconnect_delay(1), Duration::ZERO);
        assert_eq!(reconnect_delay(2), Duration::from_millis(100));
        assert_eq!(reconnect_delay(100), Duration::from_secs(2));
    }
}
