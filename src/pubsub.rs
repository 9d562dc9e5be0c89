//! Pub/Sub: which connections subscribe to which channels and patterns,
//! and delivering PUBLISH to them.
//!
//! Each connection has an unbounded queue of [`Push`] messages that its
//! task drains into its socket (`connection.rs`); PUBLISH puts a message
//! on the queue of every subscriber of the channel and of every matching
//! pattern, and returns how many it reached. Shard channels (SSUBSCRIBE,
//! SPUBLISH) are a separate namespace of plain channels on this one node.
//! A closed connection's subscriptions are removed when its task ends.

use std::collections::HashMap;

use bytes::Bytes;
use parking_lot::RwLock;
use tokio::sync::mpsc::UnboundedSender;
use vexlake_engine::glob::glob_match;

/// A message for a subscriber.
#[derive(Debug, Clone)]
pub enum Push {
    /// `message channel payload`
    Message(Bytes, Bytes),
    /// `pmessage pattern channel payload`
    PMessage(Bytes, Bytes, Bytes),
    /// `smessage channel payload`
    SMessage(Bytes, Bytes),
}

/// The three subscription namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SUBSCRIBE
    Channel,
    /// PSUBSCRIBE
    Pattern,
    /// SSUBSCRIBE
    Shard,
}

type Subscribers = HashMap<Bytes, HashMap<u64, UnboundedSender<Push>>>;

/// Every subscription of every connection.
#[derive(Debug, Default)]
pub struct PubSub {
    channels: RwLock<Subscribers>,
    patterns: RwLock<Subscribers>,
    shard: RwLock<Subscribers>,
}

impl PubSub {
    fn map(&self, kind: Kind) -> &RwLock<Subscribers> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard,
        }
    }

    /// Subscribes connection `id` to `name`.
    pub fn subscribe(&self, kind: Kind, name: &Bytes, id: u64, tx: &UnboundedSender<Push>) {
        self.map(kind)
            .write()
            .entry(name.clone())
            .or_default()
            .insert(id, tx.clone());
    }

    /// Unsubscribes connection `id` from `name`.
    pub fn unsubscribe(&self, kind: Kind, name: &[u8], id: u64) {
        let mut map = self.map(kind).write();
        if let Some(subs) = map.get_mut(name) {
            subs.remove(&id);
            if subs.is_empty() {
                map.remove(name);
            }
        }
    }

    /// Delivers `payload` on `channel` (PUBLISH); returns how many
    /// subscriptions received it.
    pub fn publish(&self, channel: &Bytes, payload: &Bytes) -> usize {
        let mut n = 0;
        if let Some(subs) = self.channels.read().get(channel) {
            for tx in subs.values() {
                if tx
                    .send(Push::Message(channel.clone(), payload.clone()))
                    .is_ok()
                {
                    n += 1;
                }
            }
        }
        for (pattern, subs) in self.patterns.read().iter() {
            if glob_match(pattern, channel) {
                for tx in subs.values() {
                    let m = Push::PMessage(pattern.clone(), channel.clone(), payload.clone());
                    if tx.send(m).is_ok() {
                        n += 1;
                    }
                }
            }
        }
        n
    }

    /// Delivers `payload` on shard channel `channel` (SPUBLISH).
    pub fn publish_shard(&self, channel: &Bytes, payload: &Bytes) -> usize {
        let map = self.shard.read();
        let Some(subs) = map.get(channel) else {
            return 0;
        };
        subs.values()
            .filter(|tx| {
                tx.send(Push::SMessage(channel.clone(), payload.clone()))
                    .is_ok()
            })
            .count()
    }

    /// Channels (or shard channels) with a subscriber, matching `pattern`.
    pub fn active(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.map(kind)
            .read()
            .keys()
            .filter(|c| pattern.is_none_or(|p| glob_match(p, c)))
            .cloned()
            .collect()
    }

    /// Subscribers of `channel`.
    pub fn count(&self, kind: Kind, channel: &[u8]) -> usize {
        self.map(kind).read().get(channel).map_or(0, HashMap::len)
    }

    /// Number of patterns subscribed to (by anyone).
    pub fn patterns(&self) -> usize {
        self.patterns.read().len()
    }

    /// Removes every subscription of connection `id` (it closed).
    pub fn remove_client(&self, id: u64, subs: &Subscriptions) {
        for (kind, names) in [
            (Kind::Channel, &subs.channels),
            (Kind::Pattern, &subs.patterns),
            (Kind::Shard, &subs.shard),
        ] {
            for name in names {
                self.unsubscribe(kind, name, id);
            }
        }
    }
}

/// What one connection subscribes to.
#[derive(Debug, Default)]
pub struct Subscriptions {
    /// SUBSCRIBE channels, in subscription order.
    pub channels: Vec<Bytes>,
    /// PSUBSCRIBE patterns.
    pub patterns: Vec<Bytes>,
    /// SSUBSCRIBE channels.
    pub shard: Vec<Bytes>,
}

impl Subscriptions {
    /// The list for `kind`.
    pub fn list(&mut self, kind: Kind) -> &mut Vec<Bytes> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    /// Channels plus patterns (the count SUBSCRIBE replies carry; shard
    /// channels are counted on their own).
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// True when subscribed to anything: a RESP2 connection is then in
    /// subscribed mode.
    pub fn any(&self) -> bool {
        self.count() + self.shard.len() > 0
    }
}
