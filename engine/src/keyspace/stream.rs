//! Streams: entries in ID order, the counters Redis keeps (last ID, entries
//! added, largest deleted ID) and consumer groups with their pending
//! entries lists (PEL) and consumers. Every change is a [`StreamOp`],
//! journaled as one edit and applied by [`StreamValue::apply`] both live and
//! on replay; commands decide (with the clock) and ops only record.
//!
//! One binary codec ([`StreamValue::encode`]) serves DUMP payloads and the
//! `value` column of the lake's kv files; its layout is in
//! docs/storage-format.md.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use bytes::Bytes;

/// A stream entry ID `ms-seq`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    /// The next ID (None after the last possible one).
    pub fn next(self) -> Option<StreamId> {
        match (self.seq.checked_add(1), self.ms.checked_add(1)) {
            (Some(seq), _) => Some(StreamId::new(self.ms, seq)),
            (None, Some(ms)) => Some(StreamId::new(ms, 0)),
            (None, None) => None,
        }
    }

    /// The previous ID (None before 0-0).
    pub fn prev(self) -> Option<StreamId> {
        match (self.seq.checked_sub(1), self.ms.checked_sub(1)) {
            (Some(seq), _) => Some(StreamId::new(self.ms, seq)),
            (None, Some(ms)) => Some(StreamId::new(ms, u64::MAX)),
            (None, None) => None,
        }
    }

    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// An entry of a group's PEL: delivered, not acknowledged yet.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    pub consumer: Bytes,
    /// Unix ms of the last delivery.
    pub delivery_time: u64,
    pub delivery_count: u64,
}

/// A consumer of a group.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Consumer {
    /// Unix ms of its last attempted interaction.
    pub seen_time: u64,
    /// Unix ms of its last successful interaction (None: never).
    pub active_time: Option<u64>,
    /// IDs pending for it.
    pub pel: BTreeSet<StreamId>,
}

/// A consumer group.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Group {
    pub last_id: StreamId,
    /// Entries the group has read (None: unknown, Redis's -1).
    pub entries_read: Option<u64>,
    pub pel: BTreeMap<StreamId, Pending>,
    pub consumers: BTreeMap<Bytes, Consumer>,
}

/// A stream.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StreamValue {
    /// Entry fields and values, flat (`f1 v1 f2 v2 ...`), by ID.
    pub entries: BTreeMap<StreamId, Vec<Bytes>>,
    pub last_id: StreamId,
    pub max_deleted: StreamId,
    pub entries_added: u64,
    pub groups: BTreeMap<Bytes, Group>,
}

/// One change to a stream.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamOp {
    /// Create the stream (empty) if missing; nothing else.
    Create,
    /// Append an entry with this ID (the new last ID).
    Add { id: StreamId, fields: Vec<Bytes> },
    /// Delete entries (tracking the largest deleted ID).
    Del { ids: Vec<StreamId> },
    /// Delete every entry below `id`.
    TrimBelow { id: StreamId },
    /// Set the counters (XSETID).
    SetMeta {
        last_id: StreamId,
        entries_added: u64,
        max_deleted: StreamId,
    },
    /// Create or update a group's last ID and read counter.
    GroupSet {
        group: Bytes,
        last_id: StreamId,
        entries_read: Option<u64>,
    },
    /// Delete a group.
    GroupDel { group: Bytes },
    /// Create a consumer or set its times.
    ConsumerSet {
        group: Bytes,
        consumer: Bytes,
        seen: u64,
        active: Option<u64>,
    },
    /// Delete a consumer and its pending entries.
    ConsumerDel { group: Bytes, consumer: Bytes },
    /// Record a delivery: the entry is pending for `consumer` (taken from
    /// its previous owner) since `time`, delivered `count` times.
    Pend {
        group: Bytes,
        consumer: Bytes,
        id: StreamId,
        time: u64,
        count: u64,
    },
    /// Acknowledge: remove from the group's PEL.
    Ack { group: Bytes, ids: Vec<StreamId> },
    /// Remove the IDs from every group's PEL (DELREF).
    AckAll { ids: Vec<StreamId> },
}

impl StreamValue {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first entry's ID (0-0 when empty).
    pub fn first_id(&self) -> StreamId {
        self.entries.keys().next().copied().unwrap_or_default()
    }

    /// The last entry's ID (0-0 when empty).
    pub fn last_entry_id(&self) -> StreamId {
        self.entries.keys().next_back().copied().unwrap_or_default()
    }

    /// Whether a group still needs the entry: one has not read it yet, or
    /// has it pending.
    pub fn is_referenced(&self, id: StreamId) -> bool {
        self.is_referenced_except(id, None)
    }

    /// [`StreamValue::is_referenced`], as if `acked` (a group) had
    /// acknowledged the entry.
    pub fn is_referenced_except(&self, id: StreamId, acked: Option<&Bytes>) -> bool {
        self.groups
            .iter()
            .any(|(name, g)| g.last_id < id || (Some(name) != acked && g.pel.contains_key(&id)))
    }

    /// Whether an entry between `from` (None: the start) and the end was
    /// deleted.
    pub fn has_tombstones_after(&self, from: StreamId) -> bool {
        !self.entries.is_empty() && !self.max_deleted.is_zero() && from <= self.max_deleted
    }

    /// Redis's estimate of how many entries come up to and including `id`
    /// (None when it cannot know).
    pub fn entries_up_to(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.entries.is_empty() && id <= self.last_id {
            return Some(self.entries_added);
        }
        if !id.is_zero() && id < self.max_deleted {
            return None;
        }
        if id == self.last_id {
            return Some(self.entries_added);
        }
        if id > self.last_id {
            return None;
        }
        let first = self.first_id();
        if self.max_deleted.is_zero() || self.max_deleted < first {
            let before = self.entries_added - self.len() as u64;
            if id < first {
                return Some(before);
            }
            if id == first {
                return Some(before + 1);
            }
        }
        None
    }

    /// A group's lag (None: unknown), as XINFO reports it.
    pub fn lag(&self, g: &Group) -> Option<u64> {
        if self.entries_added == 0 || self.entries.is_empty() {
            return Some(0);
        }
        let first = self.first_id();
        if g.last_id < first && self.max_deleted < first {
            return Some(self.len() as u64);
        }
        if let Some(read) = g.entries_read
            && !self.has_tombstones_after(g.last_id)
        {
            return Some(self.entries_added.saturating_sub(read));
        }
        self.entries_up_to(g.last_id)
            .map(|r| self.entries_added.saturating_sub(r))
    }

    fn delete(&mut self, id: StreamId) {
        if self.entries.remove(&id).is_some() && id > self.max_deleted {
            self.max_deleted = id;
        }
    }

    /// Applies one change.
    pub fn apply(&mut self, op: &StreamOp) {
        match op {
            StreamOp::Create => {}
            StreamOp::Add { id, fields } => {
                self.entries.insert(*id, fields.clone());
                self.last_id = *id;
                self.entries_added += 1;
            }
            StreamOp::Del { ids } => ids.iter().for_each(|id| self.delete(*id)),
            StreamOp::TrimBelow { id } => {
                let keep = self.entries.split_off(id);
                if let Some(&last) = self.entries.keys().next_back()
                    && last > self.max_deleted
                {
                    self.max_deleted = last;
                }
                self.entries = keep;
            }
            StreamOp::SetMeta {
                last_id,
                entries_added,
                max_deleted,
            } => {
                self.last_id = *last_id;
                self.entries_added = *entries_added;
                self.max_deleted = *max_deleted;
            }
            StreamOp::GroupSet {
                group,
                last_id,
                entries_read,
            } => {
                let g = self.groups.entry(group.clone()).or_default();
                g.last_id = *last_id;
                g.entries_read = *entries_read;
            }
            StreamOp::GroupDel { group } => {
                self.groups.remove(group);
            }
            StreamOp::ConsumerSet {
                group,
                consumer,
                seen,
                active,
            } => {
                if let Some(g) = self.groups.get_mut(group) {
                    let c = g.consumers.entry(consumer.clone()).or_default();
                    c.seen_time = *seen;
                    if active.is_some() {
                        c.active_time = *active;
                    }
                }
            }
            StreamOp::ConsumerDel { group, consumer } => {
                if let Some(g) = self.groups.get_mut(group)
                    && let Some(c) = g.consumers.remove(consumer)
                {
                    for id in c.pel {
                        g.pel.remove(&id);
                    }
                }
            }
            StreamOp::Pend {
                group,
                consumer,
                id,
                time,
                count,
            } => {
                let Some(g) = self.groups.get_mut(group) else {
                    return;
                };
                if let Some(old) = g.pel.get(id)
                    && old.consumer != *consumer
                    && let Some(c) = g.consumers.get_mut(&old.consumer)
                {
                    c.pel.remove(id);
                }
                let c = g
                    .consumers
                    .entry(consumer.clone())
                    .or_insert_with(|| Consumer {
                        seen_time: *time,
                        ..Consumer::default()
                    });
                c.pel.insert(*id);
                g.pel.insert(
                    *id,
                    Pending {
                        consumer: consumer.clone(),
                        delivery_time: *time,
                        delivery_count: *count,
                    },
                );
            }
            StreamOp::Ack { group, ids } => {
                if let Some(g) = self.groups.get_mut(group) {
                    for id in ids {
                        if let Some(p) = g.pel.remove(id)
                            && let Some(c) = g.consumers.get_mut(&p.consumer)
                        {
                            c.pel.remove(id);
                        }
                    }
                }
            }
            StreamOp::AckAll { ids } => {
                let names: Vec<Bytes> = self.groups.keys().cloned().collect();
                for group in names {
                    self.apply(&StreamOp::Ack {
                        group,
                        ids: ids.clone(),
                    });
                }
            }
        }
    }

    /// Bytes the stream takes in memory (an estimate).
    pub fn memory_bytes(&self) -> usize {
        let entries: usize = self
            .entries
            .values()
            .map(|f| 64 + f.iter().map(|b| b.len() + 32).sum::<usize>())
            .sum();
        let groups: usize = self
            .groups
            .iter()
            .map(|(n, g)| 128 + n.len() + g.pel.len() * 96 + g.consumers.len() * 96)
            .sum();
        64 + entries + groups
    }

    /// The whole stream in VexLake's binary layout.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.id(self.last_id);
        w.id(self.max_deleted);
        w.u64(self.entries_added);
        w.u64(self.entries.len() as u64);
        for (id, fields) in &self.entries {
            w.id(*id);
            w.list(fields);
        }
        w.u64(self.groups.len() as u64);
        for (name, g) in &self.groups {
            w.bytes(name);
            w.id(g.last_id);
            w.opt(g.entries_read);
            w.u64(g.consumers.len() as u64);
            for (cname, c) in &g.consumers {
                w.bytes(cname);
                w.u64(c.seen_time);
                w.opt(c.active_time);
            }
            w.u64(g.pel.len() as u64);
            for (id, p) in &g.pel {
                w.id(*id);
                w.bytes(&p.consumer);
                w.u64(p.delivery_time);
                w.u64(p.delivery_count);
            }
        }
        w.0
    }

    /// Reads [`StreamValue::encode`]'s layout; None when malformed.
    pub fn decode(data: &[u8]) -> Option<StreamValue> {
        let mut r = Reader(data);
        let mut s = StreamValue {
            last_id: r.id()?,
            max_deleted: r.id()?,
            entries_added: r.u64()?,
            ..Default::default()
        };
        for _ in 0..r.count()? {
            let id = r.id()?;
            let fields = r.list()?;
            if fields.is_empty() || fields.len() % 2 == 1 {
                return None;
            }
            s.entries.insert(id, fields);
        }
        for _ in 0..r.count()? {
            let name = r.bytes()?;
            let mut g = Group {
                last_id: r.id()?,
                entries_read: r.opt()?,
                ..Default::default()
            };
            for _ in 0..r.count()? {
                let cname = r.bytes()?;
                let c = Consumer {
                    seen_time: r.u64()?,
                    active_time: r.opt()?,
                    pel: BTreeSet::new(),
                };
                g.consumers.insert(cname, c);
            }
            for _ in 0..r.count()? {
                let id = r.id()?;
                let p = Pending {
                    consumer: r.bytes()?,
                    delivery_time: r.u64()?,
                    delivery_count: r.u64()?,
                };
                g.consumers.get_mut(&p.consumer)?.pel.insert(id);
                g.pel.insert(id, p);
            }
            s.groups.insert(name, g);
        }
        r.0.is_empty().then_some(s)
    }
}

impl StreamOp {
    /// The op in the journal's binary form.
    pub fn encode(&self) -> Bytes {
        let mut w = Writer::default();
        match self {
            StreamOp::Create => w.tag(0),
            StreamOp::Add { id, fields } => {
                w.tag(1);
                w.id(*id);
                w.list(fields);
            }
            StreamOp::Del { ids } => {
                w.tag(2);
                w.ids(ids);
            }
            StreamOp::TrimBelow { id } => {
                w.tag(3);
                w.id(*id);
            }
            StreamOp::SetMeta {
                last_id,
                entries_added,
                max_deleted,
            } => {
                w.tag(4);
                w.id(*last_id);
                w.u64(*entries_added);
                w.id(*max_deleted);
            }
            StreamOp::GroupSet {
                group,
                last_id,
                entries_read,
            } => {
                w.tag(5);
                w.bytes(group);
                w.id(*last_id);
                w.opt(*entries_read);
            }
            StreamOp::GroupDel { group } => {
                w.tag(6);
                w.bytes(group);
            }
            StreamOp::ConsumerSet {
                group,
                consumer,
                seen,
                active,
            } => {
                w.tag(7);
                w.bytes(group);
                w.bytes(consumer);
                w.u64(*seen);
                w.opt(*active);
            }
            StreamOp::ConsumerDel { group, consumer } => {
                w.tag(8);
                w.bytes(group);
                w.bytes(consumer);
            }
            StreamOp::Pend {
                group,
                consumer,
                id,
                time,
                count,
            } => {
                w.tag(9);
                w.bytes(group);
                w.bytes(consumer);
                w.id(*id);
                w.u64(*time);
                w.u64(*count);
            }
            StreamOp::Ack { group, ids } => {
                w.tag(10);
                w.bytes(group);
                w.ids(ids);
            }
            StreamOp::AckAll { ids } => {
                w.tag(11);
                w.ids(ids);
            }
        }
        Bytes::from(w.0)
    }

    /// Reads [`StreamOp::encode`]'s form.
    pub fn decode(data: &[u8]) -> Option<StreamOp> {
        let mut r = Reader(data);
        let op = match r.take(1)?[0] {
            0 => StreamOp::Create,
            1 => StreamOp::Add {
                id: r.id()?,
                fields: r.list()?,
            },
            2 => StreamOp::Del { ids: r.ids()? },
            3 => StreamOp::TrimBelow { id: r.id()? },
            4 => StreamOp::SetMeta {
                last_id: r.id()?,
                entries_added: r.u64()?,
                max_deleted: r.id()?,
            },
            5 => StreamOp::GroupSet {
                group: r.bytes()?,
                last_id: r.id()?,
                entries_read: r.opt()?,
            },
            6 => StreamOp::GroupDel { group: r.bytes()? },
            7 => StreamOp::ConsumerSet {
                group: r.bytes()?,
                consumer: r.bytes()?,
                seen: r.u64()?,
                active: r.opt()?,
            },
            8 => StreamOp::ConsumerDel {
                group: r.bytes()?,
                consumer: r.bytes()?,
            },
            9 => StreamOp::Pend {
                group: r.bytes()?,
                consumer: r.bytes()?,
                id: r.id()?,
                time: r.u64()?,
                count: r.u64()?,
            },
            10 => StreamOp::Ack {
                group: r.bytes()?,
                ids: r.ids()?,
            },
            11 => StreamOp::AckAll { ids: r.ids()? },
            _ => return None,
        };
        r.0.is_empty().then_some(op)
    }
}

/// Little-endian fixed-width numbers, u32-length-prefixed byte strings.
#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn tag(&mut self, t: u8) {
        self.0.push(t);
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn id(&mut self, id: StreamId) {
        self.u64(id.ms);
        self.u64(id.seq);
    }
    fn ids(&mut self, ids: &[StreamId]) {
        self.u64(ids.len() as u64);
        ids.iter().for_each(|id| self.id(*id));
    }
    fn opt(&mut self, v: Option<u64>) {
        match v {
            Some(v) => {
                self.0.push(1);
                self.u64(v);
            }
            None => self.0.push(0),
        }
    }
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(&(b.len() as u32).to_le_bytes());
        self.0.extend_from_slice(b);
    }
    fn list(&mut self, items: &[Bytes]) {
        self.u64(items.len() as u64);
        items.iter().for_each(|b| self.bytes(b));
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    /// A count, bounded by the bytes left (each item takes at least one).
    fn count(&mut self) -> Option<usize> {
        let n = self.u64()?;
        (n <= self.0.len() as u64).then_some(n as usize)
    }
    fn id(&mut self) -> Option<StreamId> {
        Some(StreamId::new(self.u64()?, self.u64()?))
    }
    fn ids(&mut self) -> Option<Vec<StreamId>> {
        (0..self.count()?).map(|_| self.id()).collect()
    }
    fn opt(&mut self) -> Option<Option<u64>> {
        match self.take(1)?[0] {
            0 => Some(None),
            1 => Some(Some(self.u64()?)),
            _ => None,
        }
    }
    fn bytes(&mut self) -> Option<Bytes> {
        let n = u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize;
        Some(Bytes::copy_from_slice(self.take(n)?))
    }
    fn list(&mut self) -> Option<Vec<Bytes>> {
        (0..self.count()?).map(|_| self.bytes()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn sample() -> StreamValue {
        let mut s = StreamValue::new();
        for i in 1..=5 {
            s.apply(&StreamOp::Add {
                id: StreamId::new(i, 0),
                fields: vec![b("f"), b(&i.to_string())],
            });
        }
        s.apply(&StreamOp::GroupSet {
            group: b("g"),
            last_id: StreamId::new(3, 0),
            entries_read: Some(3),
        });
        s.apply(&StreamOp::ConsumerSet {
            group: b("g"),
            consumer: b("c1"),
            seen: 10,
            active: Some(10),
        });
        for i in 1..=3 {
            s.apply(&StreamOp::Pend {
                group: b("g"),
                consumer: b("c1"),
                id: StreamId::new(i, 0),
                time: 10,
                count: 1,
            });
        }
        s
    }

    #[test]
    fn ops_round_trip_and_apply() {
        let mut s = sample();
        let ops = [
            StreamOp::Pend {
                group: b("g"),
                consumer: b("c2"),
                id: StreamId::new(2, 0),
                time: 20,
                count: 2,
            },
            StreamOp::Ack {
                group: b("g"),
                ids: vec![StreamId::new(1, 0)],
            },
            StreamOp::Del {
                ids: vec![StreamId::new(4, 0)],
            },
            StreamOp::TrimBelow {
                id: StreamId::new(2, 0),
            },
        ];
        for op in &ops {
            assert_eq!(StreamOp::decode(&op.encode()).as_ref(), Some(op));
            s.apply(op);
        }
        let g = &s.groups[&b("g")];
        assert_eq!(g.pel.len(), 2);
        assert_eq!(g.pel[&StreamId::new(2, 0)].consumer, b("c2"));
        assert_eq!(g.consumers[&b("c1")].pel.len(), 1);
        assert_eq!(s.len(), 3);
        assert_eq!(s.max_deleted, StreamId::new(4, 0));
        assert_eq!(s.first_id(), StreamId::new(2, 0));
        assert_eq!(StreamValue::decode(&s.encode()), Some(s.clone()));
        assert!(StreamValue::decode(&s.encode()[..10]).is_none());
        s.apply(&StreamOp::ConsumerDel {
            group: b("g"),
            consumer: b("c2"),
        });
        assert_eq!(s.groups[&b("g")].pel.len(), 1);
    }

    #[test]
    fn lag_and_references() {
        let s = sample();
        let g = &s.groups[&b("g")];
        assert_eq!(s.lag(g), Some(2));
        assert!(s.is_referenced(StreamId::new(1, 0)));
        assert!(s.is_referenced(StreamId::new(5, 0)));
        assert_eq!(StreamId::new(1, u64::MAX).next(), Some(StreamId::new(2, 0)));
        assert_eq!(StreamId::new(2, 0).prev(), Some(StreamId::new(1, u64::MAX)));
        assert_eq!(StreamId::MAX.next(), None);
    }
}
