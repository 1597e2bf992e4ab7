//! Petty's event bus: messages published to a topic (`device:{id}`, `pet:{id}`,
//! `household:{id}:alarms`, `user:{id}:events`, ...) reach every live subscriber of that topic.
//!
//! Architecture invariant: **a slow subscriber never grows memory without bound and never slows
//! a publisher.** Each subscriber has a bounded queue; when it is full, the message is dropped
//! for that subscriber only, and counted so the subscriber can be told. Publishing never waits.
//!
//! API boundary: [`Bus`] (cheap to clone), [`Subscriber`], [`Message`]. Who may subscribe to
//! what is decided by the caller (the WebSocket endpoint), not here.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use tokio::sync::mpsc;

/// One published message: its topic and its JSON payload, shared by every subscriber.
#[derive(Debug)]
pub struct Message {
    pub topic: Arc<str>,
    pub payload: Bytes,
}

/// The bus. Clones share the same topics.
#[derive(Clone, Default)]
pub struct Bus {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    topics: RwLock<HashMap<Arc<str>, Vec<Registration>>>,
    next_id: AtomicU64,
}

struct Registration {
    id: u64,
    queue: mpsc::Sender<Arc<Message>>,
    dropped: Arc<AtomicU64>,
}

impl Bus {
    /// A bus within this process.
    pub fn local() -> Self {
        Self::default()
    }

    /// Delivers to every subscriber of `topic` now, without waiting: a subscriber whose queue is
    /// full misses this message (and its drop count grows).
    pub fn publish(&self, topic: &str, payload: Bytes) {
        let Ok(topics) = self.inner.topics.read() else { return };
        let Some((key, subscribers)) = topics.get_key_value(topic) else { return };
        let message = Arc::new(Message { topic: Arc::clone(key), payload });
        for subscriber in subscribers {
            if let Err(mpsc::error::TrySendError::Full(_)) = subscriber.queue.try_send(Arc::clone(&message)) {
                subscriber.dropped.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("petty_bus_dropped_total").increment(1);
            }
        }
        metrics::counter!("petty_bus_published_total").increment(1);
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
            topics: HashSet::new(),
        }
    }

    /// How many subscribers `topic` has (for tests and metrics).
    pub fn subscribers(&self, topic: &str) -> usize {
        self.inner.topics.read().map(|t| t.get(topic).map_or(0, Vec::len)).unwrap_or(0)
    }
}

/// One listener (a WebSocket connection, say) with its own bounded queue and topic set.
/// Dropping it unsubscribes it from everything.
pub struct Subscriber {
    id: u64,
    bus: Bus,
    queue: mpsc::Sender<Arc<Message>>,
    messages: mpsc::Receiver<Arc<Message>>,
    dropped: Arc<AtomicU64>,
    topics: HashSet<Arc<str>>,
}

impl Subscriber {
    /// Starts hearing `topic`; subscribing twice is the same as once.
    pub fn subscribe(&mut self, topic: &str) {
        if self.topics.contains(topic) {
            return;
        }
        let Ok(mut topics) = self.bus.inner.topics.write() else { return };
        let key: Arc<str> = topics.get_key_value(topic).map(|(k, _)| Arc::clone(k)).unwrap_or_else(|| Arc::from(topic));
        topics.entry(Arc::clone(&key)).or_default().push(Registration {
            id: self.id,
            queue: self.queue.clone(),
            dropped: Arc::clone(&self.dropped),
        });
        self.topics.insert(key);
    }

    /// Stops hearing `topic`; messages of it already queued are still delivered.
    pub fn unsubscribe(&mut self, topic: &str) {
        if self.topics.remove(topic) {
            self.bus.forget(self.id, topic);
        }
    }

    pub fn is_subscribed(&self, topic: &str) -> bool {
        self.topics.contains(topic)
    }

    pub fn topic_count(&self) -> usize {
        self.topics.len()
    }

    /// The next message, waiting for one.
    pub async fn recv(&mut self) -> Option<Arc<Message>> {
        self.messages.recv().await
    }

    /// How many messages were dropped for this subscriber since the last call.
    pub fn take_dropped(&self) -> u64 {
        self.dropped.swap(0, Ordering::Relaxed)
    }
}

impl Bus {
    fn forget(&self, id: u64, topic: &str) {
        let Ok(mut topics) = self.inner.topics.write() else { return };
        if let Some(subscribers) = topics.get_mut(topic) {
            subscribers.retain(|s| s.id != id);
            if subscribers.is_empty() {
                topics.remove(topic);
            }
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        for topic in std::mem::take(&mut self.topics) {
            self.bus.forget(self.id, &topic);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_hear_their_topics_only() {
        let bus = Bus::local();
        let mut a = bus.subscriber(8);
        let mut b = bus.subscriber(8);
        a.subscribe("device:1");
        b.subscribe("device:2");
        b.subscribe("device:1");
        bus.publish("device:1", Bytes::from_static(b"one"));
        bus.publish("device:2", Bytes::from_static(b"two"));
        bus.publish("device:3", Bytes::from_static(b"nobody"));
        assert_eq!(&a.recv().await.unwrap().payload[..], b"one");
        let got: Vec<String> = [b.recv().await.unwrap(), b.recv().await.unwrap()]
            .iter()
            .map(|m| format!("{}={}", m.topic, String::from_utf8_lossy(&m.payload)))
            .collect();
        assert_eq!(got, ["device:1=one", "device:2=two"]);
        b.unsubscribe("device:1");
        bus.publish("device:1", Bytes::from_static(b"again"));
        assert_eq!(&a.recv().await.unwrap().payload[..], b"again");
        assert!(b.messages.try_recv().is_err(), "b left device:1");
    }

    #[tokio::test]
    async fn a_slow_subscriber_loses_messages_not_memory_and_is_told() {
        let bus = Bus::local();
        let mut slow = bus.subscriber(4);
        let mut fast = bus.subscriber(1000);
        slow.subscribe("t");
        fast.subscribe("t");
        for i in 0..100u8 {
            bus.publish("t", Bytes::from(vec![i]));
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
        s.subscribe("x");
        s.subscribe("x");
        assert_eq!(bus.subscribers("x"), 1);
        drop(s);
        assert_eq!(bus.subscribers("x"), 0);
    }
}
