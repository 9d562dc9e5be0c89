//! Pub/Sub: which connections subscribe to which channels and patterns,
//! and delivering PUBLISH to them.
//!
//! Each connection has an unbounded queue of [`Push`] messages that its
//! task drains into its socket (`connection.rs`); PUBLISH puts a message
//! on the queue of every subscriber of the channel and of every matching
//! pattern, and returns how many it reached. Shard channels (SSUBSCRIBE,
//! SPUBLISH) are a separate namespace of plain channels on this one node.
//! A closed connection's subscriptions are removed when its task ends.
//!
//! The queue is a [`Mailbox`] that counts the bytes waiting in it:
//! `client-output-buffer-limit pubsub <hard> <soft> <seconds>` closes a
//! subscriber whose waiting messages pass `hard`, or stay over `soft` for
//! `seconds` (a subscriber that does not read), as Redis does.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use vexlake_engine::glob::glob_match;

use crate::config::OutputLimit;

/// A message for a subscriber.
#[derive(Debug, Clone)]
pub enum Push {
    /// `message channel payload`
    Message(Bytes, Bytes),
    /// `pmessage pattern channel payload`
    PMessage(Bytes, Bytes, Bytes),
    /// `smessage channel payload`
    SMessage(Bytes, Bytes),
    /// A CLIENT TRACKING invalidation: the keys, or `None` for all.
    Invalidate(Option<Vec<Bytes>>),
    /// A MONITOR line (without the leading `+`).
    Monitor(Bytes),
    /// CLIENT TRACKING's REDIRECT client is gone (its id): an
    /// invalidation could not be delivered.
    RedirBroken(u64),
}

impl Push {
    /// Bytes the message takes in the output buffer (about).
    pub fn size(&self) -> u64 {
        let b = match self {
            Push::Message(c, p) | Push::SMessage(c, p) => c.len() + p.len(),
            Push::PMessage(pat, c, p) => pat.len() + c.len() + p.len(),
            Push::Invalidate(keys) => keys.iter().flatten().map(|k| k.len() + 16).sum(),
            Push::Monitor(line) => line.len(),
            Push::RedirBroken(_) => 8,
        };
        (b + 40) as u64
    }
}

/// A connection's queue of pushed messages, with the bytes waiting in it.
#[derive(Debug)]
pub struct Mailbox {
    tx: UnboundedSender<Push>,
    /// Bytes of the messages queued and not yet taken.
    queued: AtomicU64,
    /// When `queued` went over the soft limit (None: under it).
    over_soft_since: Mutex<Option<Instant>>,
    /// Closed for exceeding the limit: nothing more is queued.
    closed: AtomicBool,
    /// Woken when the mailbox is closed: the connection closes.
    pub kill: tokio::sync::Notify,
}

impl Mailbox {
    /// A new mailbox and the receiver its connection drains.
    pub fn new() -> (Arc<Mailbox>, UnboundedReceiver<Push>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let m = Mailbox {
            tx,
            queued: AtomicU64::new(0),
            over_soft_since: Mutex::new(None),
            closed: AtomicBool::new(false),
            kill: tokio::sync::Notify::new(),
        };
        (Arc::new(m), rx)
    }

    /// Queues `m` unless the mailbox is closed or this passes `limit`
    /// (which closes it); true when queued.
    pub fn deliver(&self, m: Push, limit: &OutputLimit) -> bool {
        if self.closed.load(Ordering::Relaxed) {
            return false;
        }
        let queued = self.queued.fetch_add(m.size(), Ordering::Relaxed) + m.size();
        let mut over = limit.hard > 0 && queued > limit.hard;
        if limit.soft > 0 && queued > limit.soft {
            let mut since = self.over_soft_since.lock();
            let start = *since.get_or_insert_with(Instant::now);
            over |= start.elapsed().as_secs() >= limit.soft_seconds;
        }
        if over {
            self.close();
            return false;
        }
        self.tx.send(m).is_ok()
    }

    /// Queues `m` without a limit (tracking invalidations count toward
    /// the normal output buffer limit once written, as replies do).
    pub fn send(&self, m: Push) {
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        self.queued.fetch_add(m.size(), Ordering::Relaxed);
        let _ = self.tx.send(m);
    }

    /// Whether the connection reading this mailbox is gone.
    pub fn is_gone(&self) -> bool {
        self.tx.is_closed()
    }

    /// The connection took `m` from the queue.
    pub fn taken(&self, m: &Push) {
        let left = self.queued.fetch_sub(m.size(), Ordering::Relaxed) - m.size();
        if left == 0 {
            *self.over_soft_since.lock() = None;
        }
    }

    /// Whether the mailbox was closed for exceeding the limit.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    fn close(&self) {
        if !self.closed.swap(true, Ordering::Relaxed) {
            self.kill.notify_one();
        }
    }
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

type Subscribers = HashMap<Bytes, HashMap<u64, Arc<Mailbox>>>;

/// Every subscription of every connection.
#[derive(Debug, Default)]
pub struct PubSub {
    channels: RwLock<Subscribers>,
    patterns: RwLock<Subscribers>,
    shard: RwLock<Subscribers>,
    /// `client-output-buffer-limit pubsub`.
    limit: RwLock<OutputLimit>,
}

impl PubSub {
    fn map(&self, kind: Kind) -> &RwLock<Subscribers> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard,
        }
    }

    /// Sets `client-output-buffer-limit pubsub`.
    pub fn set_limit(&self, limit: OutputLimit) {
        *self.limit.write() = limit;
    }

    /// Subscribes connection `id` to `name`.
    pub fn subscribe(&self, kind: Kind, name: &Bytes, id: u64, mailbox: &Arc<Mailbox>) {
        self.map(kind)
            .write()
            .entry(name.clone())
            .or_default()
            .insert(id, mailbox.clone());
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
        let limit = *self.limit.read();
        let mut n = 0;
        if let Some(subs) = self.channels.read().get(channel) {
            for mb in subs.values() {
                mb.deliver(Push::Message(channel.clone(), payload.clone()), &limit);
                n += 1;
            }
        }
        let patterns = self.patterns.read();
        if !patterns.is_empty() {
            for (pattern, subs) in patterns.iter() {
                if glob_match(pattern, channel) {
                    for mb in subs.values() {
                        let m = Push::PMessage(pattern.clone(), channel.clone(), payload.clone());
                        mb.deliver(m, &limit);
                        n += 1;
                    }
                }
            }
        }
        n
    }

    /// Whether anyone subscribes to anything (keyspace notifications are
    /// not built when nobody listens).
    pub fn any_subscriber(&self) -> bool {
        !self.channels.read().is_empty() || !self.patterns.read().is_empty()
    }

    /// Delivers `payload` on shard channel `channel` (SPUBLISH).
    pub fn publish_shard(&self, channel: &Bytes, payload: &Bytes) -> usize {
        let map = self.shard.read();
        let Some(subs) = map.get(channel) else {
            return 0;
        };
        let limit = *self.limit.read();
        for mb in subs.values() {
            mb.deliver(Push::SMessage(channel.clone(), payload.clone()), &limit);
        }
        subs.len()
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
