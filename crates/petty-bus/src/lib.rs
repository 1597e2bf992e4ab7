//! Petty's event bus: messages published to a [`Topic`] (a device's readings, a pet's
//! episodes, a household's alarms, a person's events) reach every live subscriber of that topic.
//!
//! Architecture invariant: **a slow subscriber never grows memory without bound and never slows
//! a publisher.** Each subscriber has a bounded queue; when it is full, the message is dropped
//! for that subscriber only, and counted so the subscriber can be told. Publishing never waits.
//!
//! **Across nodes**: [`Bus::nats`] publishes every message to NATS as `petty.events.<topic>` and
//! delivers to local subscribers what it hears back, so a reading ingested on one node reaches a
//! WebSocket on another. It connects to one server of a NATS cluster and moves to another when
//! that one goes away. Live events are ephemeral (core NATS, no JetStream): a node that is down
//! misses them, as a disconnected browser would; but a subscriber is never left unaware of a
//! loss between nodes: it receives [`Delivery::Gap`] (see `nats.rs`), and catches up from the
//! database.
//!
//! API boundary: [`Bus`] (cheap to clone), [`Subscriber`], [`Message`], [`Delivery`], [`Topic`]. Who may
//! subscribe to what is decided by the caller (the WebSocket endpoint), not here.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use petty_core::ids::{DeviceId, HouseholdId, PetId, UserId};
use tokio::sync::mpsc;

mod nats;

pub use nats::redact as redact_nats_urls;

/// What a message is about. Written `device:{id}`, `pet:{id}`, `household:{id}:alarms` and
/// `user:{id}:events|predictions|insights` on the WebSocket and in NATS subjects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// A device's accepted readings.
    Device(DeviceId),
    /// A pet's episodes, anomalies and geofence crossings.
    Pet(PetId),
    /// A household's alarms and device events.
    HouseholdAlarms(HouseholdId),
    /// A person's life events.
    UserEvents(UserId),
    /// A person's energy and mood predictions.
    UserPredictions(UserId),
    /// A person's insights.
    UserInsights(UserId),
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Device(id) => write!(f, "device:{id}"),
            Self::Pet(id) => write!(f, "pet:{id}"),
            Self::HouseholdAlarms(id) => write!(f, "household:{id}:alarms"),
            Self::UserEvents(id) => write!(f, "user:{id}:events"),
            Self::UserPredictions(id) => write!(f, "user:{id}:predictions"),
            Self::UserInsights(id) => write!(f, "user:{id}:insights"),
        }
    }
}

/// A topic that is not one of [`Topic`]'s forms, or whose id is not a UUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownTopic;

impl fmt::Display for UnknownTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "unknown topic: use device:{id}, pet:{id}, household:{id}:alarms or user:{id}:events|predictions|insights",
        )
    }
}

impl std::error::Error for UnknownTopic {}

impl FromStr for Topic {
    type Err = UnknownTopic;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.split(':');
        let (kind, id, rest) = (parts.next(), parts.next(), parts.next());
        if parts.next().is_some() {
            return Err(UnknownTopic);
        }
        let id = id.ok_or(UnknownTopic)?;
        fn parse<T: FromStr>(id: &str) -> Result<T, UnknownTopic> {
            id.parse().map_err(|_| UnknownTopic)
        }
        Ok(match (kind, rest) {
            (Some("device"), None) => Self::Device(parse(id)?),
            (Some("pet"), None) => Self::Pet(parse(id)?),
            (Some("household"), Some("alarms")) => Self::HouseholdAlarms(parse(id)?),
            (Some("user"), Some("events")) => Self::UserEvents(parse(id)?),
            (Some("user"), Some("predictions")) => Self::UserPredictions(parse(id)?),
            (Some("user"), Some("insights")) => Self::UserInsights(parse(id)?),
            _ => return Err(UnknownTopic),
        })
    }
}

/// One published message: its topic and its JSON payload, shared by every subscriber.
#[derive(Debug)]
pub struct Message {
    pub topic: Topic,
    pub payload: Bytes,
}

/// What a subscriber receives next.
#[derive(Debug)]
pub enum Delivery {
    /// A message on one of its topics.
    Event(Arc<Message>),
    /// Messages on its topics may have been lost between nodes (a node or a NATS server went
    /// away, or this node's link to NATS broke for a moment): what it has heard since its last
    /// delivery may be incomplete. Said once per loss, whatever the number of messages.
    Gap,
}

/// The bus. Clones share the same topics.
#[derive(Clone, Default)]
pub struct Bus {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    topics: RwLock<HashMap<Topic, Vec<Registration>>>,
    next_id: AtomicU64,
    /// Set when the bus spans nodes.
    nats: Option<nats::Link>,
}

/// The NATS subject prefix of Petty's events.
pub const SUBJECT_PREFIX: &str = "petty.events.";

/// One subscriber's place under a topic; clones of its queue and flags.
struct Registration {
    id: u64,
    queue: mpsc::Sender<Item>,
    dropped: Arc<AtomicU64>,
    gap: Arc<AtomicBool>,
}

/// What a subscriber's queue carries: a message, or a nudge to look at its gap flag.
enum Item {
    Message(Arc<Message>),
    Gap,
}

impl Bus {
    /// A bus within this process.
    pub fn local() -> Self {
        Self::default()
    }

    /// A bus that spans every node connected to the same NATS cluster. `urls` is one server
    /// (`nats://host:4222`) or several separated by commas (`nats://a:4222,nats://b:4222`):
    /// Petty connects to one of them, and when that one goes away it reconnects to another (or
    /// to a server the cluster announced), for as long as it runs. It fails only if none of
    /// them answers at start.
    pub async fn nats(urls: &str) -> Result<Self, String> {
        let (link, incoming) = nats::Link::connect(urls).await?;
        let bus = Self { inner: Arc::new(Inner { nats: Some(link), ..Inner::default() }) };
        nats::spawn_tasks(&bus, incoming);
        Ok(bus)
    }

    /// Whether the bus spans nodes (through NATS) rather than this process alone.
    pub fn spans_nodes(&self) -> bool {
        self.inner.nats.is_some()
    }

    /// Whether publishing to `topic` can reach anyone (always, when other nodes may listen).
    pub fn has_listeners(&self, topic: Topic) -> bool {
        self.inner.nats.is_some() || self.subscribers(topic) > 0
    }

    /// Sends a message to every subscriber of `topic`, on every node. Never waits for a
    /// subscriber, nor for long for NATS: one whose queue is full misses this message (and its
    /// drop count grows); while NATS cannot take it, this node's subscribers still get it and
    /// the other nodes' subscribers are told of a gap.
    pub async fn publish(&self, topic: Topic, payload: Bytes) {
        metrics::counter!("petty_bus_published_total").increment(1);
        match &self.inner.nats {
            // Our own subscription brings it back to local subscribers.
            Some(link) => {
                if let Err(payload) = link.publish(topic, payload).await {
                    self.deliver(topic, payload);
                }
            }
            None => self.deliver(topic, payload),
        }
    }

    /// Waits until what was published has left for NATS (a no-op within one process). A
    /// short-lived process (`petty import`) calls it before it exits, or its last events are lost.
    pub async fn flush(&self) {
        if let Some(link) = &self.inner.nats {
            link.flush().await;
        }
    }

    /// Says goodbye to the other nodes and waits until everything published has left: they
    /// forget this node without telling their subscribers of a gap. Call it once, as the
    /// process stops (a node that stops without it is noticed after a few seconds of silence,
    /// and its last messages are treated as possibly lost).
    pub async fn leave(&self) {
        if let Some(link) = &self.inner.nats {
            link.leave().await;
        }
    }

    /// Hands the message to this node's subscribers of `topic`.
    fn deliver(&self, topic: Topic, payload: Bytes) {
        let Ok(topics) = self.inner.topics.read() else { return };
        let Some(subscribers) = topics.get(&topic) else { return };
        let message = Arc::new(Message { topic, payload });
        for subscriber in subscribers {
            if let Err(mpsc::error::TrySendError::Full(_)) =
                subscriber.queue.try_send(Item::Message(Arc::clone(&message)))
            {
                subscriber.dropped.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("petty_bus_dropped_total").increment(1);
            }
        }
    }

    /// Tells every subscriber on this node that messages may have been lost.
    fn gap(&self) {
        metrics::counter!("petty_bus_gaps_total").increment(1);
        let Ok(topics) = self.inner.topics.read() else { return };
        for subscriber in topics.values().flatten() {
            // The flag is what counts; the nudge only wakes a subscriber waiting for its queue
            // (a full queue will be read, and the flag seen, soon anyway).
            if !subscriber.gap.swap(true, Ordering::Relaxed) {
                let _ = subscriber.queue.try_send(Item::Gap);
            }
        }
    }

    /// A new subscriber with room for `capacity` undelivered messages; it hears nothing until
    /// it subscribes to a topic.
    pub fn subscriber(&self, capacity: usize) -> Subscriber {
        let (queue, messages) = mpsc::channel(capacity.max(1));
        Subscriber {
            id: self.inner.next_id.fetch_add(1, Ordering::Relaxed),
            bus: self.clone(),
            queue,
            messages,
            dropped: Arc::default(),
            gap: Arc::default(),
            topics: HashSet::new(),
        }
    }

    /// How many subscribers `topic` has (for tests and metrics).
    pub fn subscribers(&self, topic: Topic) -> usize {
        self.inner.topics.read().map(|t| t.get(&topic).map_or(0, Vec::len)).unwrap_or(0)
    }
}

/// One listener (a WebSocket connection, say) with its own bounded queue and topic set.
/// Dropping it unsubscribes it from everything.
pub struct Subscriber {
    id: u64,
    bus: Bus,
    queue: mpsc::Sender<Item>,
    messages: mpsc::Receiver<Item>,
    dropped: Arc<AtomicU64>,
    gap: Arc<AtomicBool>,
    topics: HashSet<Topic>,
}

impl Subscriber {
    /// Starts hearing `topic`; subscribing twice is the same as once.
    pub fn subscribe(&mut self, topic: Topic) {
        if self.topics.contains(&topic) {
            return;
        }
        let Ok(mut topics) = self.bus.inner.topics.write() else { return };
        topics.entry(topic).or_default().push(Registration {
            id: self.id,
            queue: self.queue.clone(),
            dropped: Arc::clone(&self.dropped),
            gap: Arc::clone(&self.gap),
        });
        self.topics.insert(topic);
    }

    /// Stops hearing `topic`; messages of it already queued are still delivered.
    pub fn unsubscribe(&mut self, topic: Topic) {
        if self.topics.remove(&topic) {
            self.bus.forget(self.id, topic);
        }
    }

    pub fn is_subscribed(&self, topic: Topic) -> bool {
        self.topics.contains(&topic)
    }

    pub fn topic_count(&self) -> usize {
        self.topics.len()
    }

    /// The topics it hears.
    pub fn topics(&self) -> impl Iterator<Item = Topic> + '_ {
        self.topics.iter().copied()
    }

    /// The next message, waiting for one (gaps are not reported here; see [`Subscriber::next`]).
    pub async fn recv(&mut self) -> Option<Arc<Message>> {
        loop {
            match self.next().await? {
                Delivery::Event(message) => return Some(message),
                Delivery::Gap => continue,
            }
        }
    }

    /// The next message or gap, waiting for one. A gap comes before the messages that
    /// arrived after it was noticed, when the queue had room for its nudge.
    pub async fn next(&mut self) -> Option<Delivery> {
        loop {
            if self.gap.swap(false, Ordering::Relaxed) {
                return Some(Delivery::Gap);
            }
            match self.messages.recv().await? {
                Item::Message(message) => return Some(Delivery::Event(message)),
                // Seen through the flag above (or already reported).
                Item::Gap => continue,
            }
        }
    }

    /// How many messages were dropped for this subscriber since the last call.
    pub fn take_dropped(&self) -> u64 {
        self.dropped.swap(0, Ordering::Relaxed)
    }
}

impl Bus {
    fn forget(&self, id: u64, topic: Topic) {
        let Ok(mut topics) = self.inner.topics.write() else { return };
        if let Some(subscribers) = topics.get_mut(&topic) {
            subscribers.retain(|s| s.id != id);
            if subscribers.is_empty() {
                topics.remove(&topic);
            }
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        for topic in std::mem::take(&mut self.topics) {
            self.bus.forget(self.id, topic);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(n: u64) -> Topic {
        Topic::Device(format!("00000000-0000-0000-0000-{n:012}").parse().unwrap())
    }

    #[test]
    fn topics_are_written_and_read_in_one_form() {
        let id = "0190a6f2-8b3c-7def-8123-456789abcdef";
        for text in [
            format!("device:{id}"),
            format!("pet:{id}"),
            format!("household:{id}:alarms"),
            format!("user:{id}:events"),
            format!("user:{id}:predictions"),
            format!("user:{id}:insights"),
        ] {
            let topic: Topic = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(topic.to_string(), text);
        }
        for bad in [
            "",
            "device",
            "device:",
            "device:1",
            &format!("device:{id}:x"),
            &format!("household:{id}"),
            &format!("user:{id}:secrets"),
            &format!("cat:{id}"),
        ] {
            assert_eq!(bad.parse::<Topic>(), Err(UnknownTopic), "{bad}");
        }
    }

    #[tokio::test]
    async fn subscribers_hear_their_topics_only() {
        let bus = Bus::local();
        let mut a = bus.subscriber(8);
        let mut b = bus.subscriber(8);
        a.subscribe(device(1));
        b.subscribe(device(2));
        b.subscribe(device(1));
        bus.publish(device(1), Bytes::from_static(b"one")).await;
        bus.publish(device(2), Bytes::from_static(b"two")).await;
        bus.publish(device(3), Bytes::from_static(b"nobody")).await;
        assert_eq!(&a.recv().await.unwrap().payload[..], b"one");
        let got: Vec<String> = [b.recv().await.unwrap(), b.recv().await.unwrap()]
            .iter()
            .map(|m| format!("{}={}", m.topic, String::from_utf8_lossy(&m.payload)))
            .collect();
        assert_eq!(
            got,
            ["device:00000000-0000-0000-0000-000000000001=one", "device:00000000-0000-0000-0000-000000000002=two"]
        );
        b.unsubscribe(device(1));
        bus.publish(device(1), Bytes::from_static(b"again")).await;
        assert_eq!(&a.recv().await.unwrap().payload[..], b"again");
        assert!(b.messages.try_recv().is_err(), "b left device:1");
    }

    #[tokio::test]
    async fn a_slow_subscriber_loses_messages_not_memory_and_is_told() {
        let bus = Bus::local();
        let mut slow = bus.subscriber(4);
        let mut fast = bus.subscriber(1000);
        slow.subscribe(device(7));
        fast.subscribe(device(7));
        for i in 0..100u8 {
            bus.publish(device(7), Bytes::from(vec![i])).await;
        }
        assert_eq!(slow.take_dropped(), 96);
        assert_eq!(slow.take_dropped(), 0, "the count restarts once read");
        for i in 0..4u8 {
            assert_eq!(slow.recv().await.unwrap().payload[0], i, "it keeps the oldest it had room for");
        }
        for i in 0..100u8 {
            assert_eq!(fast.recv().await.unwrap().payload[0], i, "others lose nothing");
        }
    }

    #[test]
    fn dropping_a_subscriber_unsubscribes_it() {
        let bus = Bus::local();
        let mut s = bus.subscriber(1);
        s.subscribe(device(9));
        s.subscribe(device(9));
        assert_eq!(bus.subscribers(device(9)), 1);
        drop(s);
        assert_eq!(bus.subscribers(device(9)), 0);
    }
}

/// Across nodes through the local NATS server (skipped, and says so, when there is none
/// outside CI; CI makes sure there is one).
#[cfg(test)]
mod nats_tests {
    use std::time::Duration;

    use super::*;

    fn nats_url() -> Option<String> {
        if std::net::TcpStream::connect("127.0.0.1:4222").is_ok() {
            return Some("nats://127.0.0.1:4222".to_owned());
        }
        assert!(std::env::var("CI").map_or(true, |v| v.is_empty()), "CI needs NATS on 127.0.0.1:4222");
        eprintln!("skipped: the bus across nodes (no NATS on 127.0.0.1:4222)");
        None
    }

    #[tokio::test]
    async fn a_message_published_on_one_node_reaches_subscribers_on_both() {
        let Some(url) = nats_url() else { return };
        let (a, b) = (Bus::nats(&url).await.unwrap(), Bus::nats(&url).await.unwrap());
        let topic = Topic::Device(DeviceId::new());
        let mut on_a = a.subscriber(8);
        let mut on_b = b.subscriber(8);
        on_a.subscribe(topic);
        on_b.subscribe(topic);
        assert!(a.has_listeners(Topic::Device(DeviceId::new())), "other nodes may listen");
        a.publish(topic, Bytes::from_static(b"{\"heart_rate\":90}")).await;
        for subscriber in [&mut on_a, &mut on_b] {
            let message = tokio::time::timeout(Duration::from_secs(5), subscriber.recv()).await.unwrap().unwrap();
            assert_eq!((message.topic, &message.payload[..]), (topic, &b"{\"heart_rate\":90}"[..]));
        }
    }
}
