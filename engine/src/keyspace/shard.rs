//! One shard of a database: a slab of entries, a hash table of slab indices,
//! and an ordered expiry index.
//!
//! Entries never move while they live: the hash table stores slab indices,
//! and a freed slot is reused only by a later insert. That gives SCAN Redis's
//! guarantee (a key present for the whole scan is returned) with a plain
//! `(shard, slot)` cursor, and lets the expiry index refer to entries by slot.
//!
//! ```text
//! table: HashTable<u32> ──► slots: [Some(Entry) | None | Some(Entry) ...]
//! expires: BTreeSet<(expire_at_ms, slot)>   (only keys with a TTL)
//! changes: dirty slots + removed keys since the last commit (when tracked)
//! ```
//!
//! Change tracking (for incremental commits): every insert, removal, value
//! change and TTL change marks the entry dirty (a flag on the entry and its
//! slot in a list, so each key is listed once) or records the removed key;
//! `clear` (FLUSHDB) marks the shard cleared. A flush takes these lists
//! under the shard lock: its cost follows the number of changed keys, not
//! the number of keys.

use std::collections::BTreeSet;

use bytes::Bytes;
use hashbrown::HashTable;

use super::value::Value;

/// One key and its value.
#[derive(Debug)]
pub(crate) struct Entry {
    pub key: Bytes,
    pub hash: u64,
    pub value: Value,
    /// Absolute expiry in Unix milliseconds.
    pub expire_at: Option<u64>,
    /// Changed since the changes were last taken (listed in `Changes::slots`).
    dirty: bool,
    /// Last access and access frequency (eviction, OBJECT).
    pub access: super::access::Access,
}

impl Entry {
    pub fn is_expired(&self, now: u64) -> bool {
        self.expire_at.is_some_and(|t| t <= now)
    }
}

/// What changed in a shard since the changes were last taken.
#[derive(Debug, Default)]
struct Changes {
    /// Slots whose entry was inserted or changed (entries flagged dirty;
    /// a slot may be listed again after it was freed and reused).
    slots: Vec<u32>,
    /// Keys removed (a key may also be live again, listed in `slots`).
    removed: Vec<Bytes>,
    /// Everything was removed (FLUSHDB/FLUSHALL).
    cleared: bool,
}

/// The changes of a shard, taken by [`Shard::take_changes`].
#[derive(Debug, Default)]
pub(crate) struct TakenChanges {
    /// Keys inserted or changed, with their current value and expiry.
    pub upserts: Vec<(Bytes, Value, Option<u64>)>,
    /// Keys removed and not live now.
    pub removed: Vec<Bytes>,
}

/// A shard; always used under its database's lock for that shard.
#[derive(Debug, Default)]
pub(crate) struct Shard {
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    table: HashTable<u32>,
    expires: BTreeSet<(u64, u32)>,
    /// Whether changes are tracked (a writer's keyspace; not a replica's).
    track: bool,
    changes: Changes,
    /// Reads that found their key.
    pub hits: u64,
    /// Reads that did not.
    pub misses: u64,
    /// Keys removed because their TTL passed.
    pub expired: u64,
    /// Called with each key removed because its TTL passed, and each hash
    /// whose fields expired.
    pub on_expired: Option<ExpiredHook>,
    /// Hash fields removed because their deadline passed.
    pub expired_fields: u64,
    /// (deadline, slot) of hashes with fields that expire: a hash's
    /// earliest field deadline when it was set or the hash stored. An
    /// entry may be stale (the deadline moved, the slot was reused);
    /// the sweep checks the slot and re-queues its real deadline.
    field_deadlines: BTreeSet<(u64, u32)>,
}

/// What expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expired {
    /// The key (its TTL passed); it is gone.
    Key,
    /// Fields of the hash at the key; `emptied`: that was all of them and
    /// the key is gone.
    Fields { emptied: bool },
}

/// Hears about keys removed because their TTL passed (keyspace
/// notifications); runs under the shard's lock, so it must not call back
/// into the keyspace.
#[derive(Clone)]
pub struct ExpiredHook(pub std::sync::Arc<KeyFn>);

/// A callback with a key and what expired.
pub type KeyFn = dyn Fn(&[u8], Expired) + Send + Sync;

impl std::fmt::Debug for ExpiredHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExpiredHook")
    }
}

impl Shard {
    /// An empty shard that tracks its changes when `track` is set.
    pub fn new(track: bool) -> Shard {
        Shard {
            track,
            ..Shard::default()
        }
    }

    /// Marks the entry in slot `idx` changed.
    #[inline]
    fn touch(&mut self, idx: u32) {
        if !self.track {
            return;
        }
        let e = self.slots[idx as usize].as_mut().expect("live slot");
        if !e.dirty {
            e.dirty = true;
            self.changes.slots.push(idx);
        }
    }

    /// Marks `key` changed (a failed commit hands its changes back): listed
    /// as changed when live, else as removed.
    pub fn mark_changed(&mut self, hash: u64, key: &[u8]) {
        if !self.track {
            return;
        }
        match self.find(hash, key) {
            Some(idx) => self.touch(idx),
            None => self.changes.removed.push(Bytes::copy_from_slice(key)),
        }
    }

    /// The live entry of `key` (expired or not), without lazy expiry.
    pub fn peek(&self, hash: u64, key: &[u8]) -> Option<&Entry> {
        self.find(hash, key).map(|i| self.entry(i))
    }

    /// Whether the shard was cleared since the changes were last taken.
    pub fn was_cleared(&self) -> bool {
        self.changes.cleared
    }

    /// Marks the shard cleared (the next commit writes every key).
    pub fn mark_cleared(&mut self) {
        if self.track {
            self.changes.cleared = true;
        }
    }

    /// Takes the changes since the last call: changed keys with their
    /// current state, and removed keys that are not live again. Entries
    /// whose TTL has passed are reported with their expiry (a reader drops
    /// them), not as removed.
    pub fn take_changes(&mut self) -> TakenChanges {
        let changes = std::mem::take(&mut self.changes);
        let mut out = TakenChanges::default();
        for idx in changes.slots {
            if let Some(Some(e)) = self.slots.get_mut(idx as usize)
                && e.dirty
            {
                e.dirty = false;
                out.upserts
                    .push((e.key.clone(), e.value.clone(), e.expire_at));
            }
        }
        if !changes.removed.is_empty() {
            let live: hashbrown::HashSet<&[u8]> =
                out.upserts.iter().map(|(k, _, _)| &k[..]).collect();
            let mut seen = hashbrown::HashSet::new();
            out.removed = changes
                .removed
                .into_iter()
                .filter(|k| !live.contains(&k[..]) && seen.insert(k.clone()))
                .collect();
        }
        out
    }

    /// Forgets the changes recorded so far (after a restore: what was
    /// loaded is already committed).
    pub fn forget_changes(&mut self) {
        for idx in std::mem::take(&mut self.changes).slots {
            if let Some(Some(e)) = self.slots.get_mut(idx as usize) {
                e.dirty = false;
            }
        }
    }

    /// Number of live (possibly expired but not yet reclaimed) keys.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Number of keys with a TTL.
    pub fn volatile_len(&self) -> usize {
        self.expires.len()
    }

    fn find(&self, hash: u64, key: &[u8]) -> Option<u32> {
        let slots = &self.slots;
        self.table
            .find(hash, |&i| {
                slots[i as usize].as_ref().is_some_and(|e| e.key == key)
            })
            .copied()
    }

    /// The slot of `key` if it exists and has not expired. An expired key
    /// found here is removed (lazy expiry).
    pub fn lookup(&mut self, hash: u64, key: &[u8], now: u64) -> Option<u32> {
        let idx = self.find(hash, key)?;
        let e = self.slots[idx as usize].as_mut().expect("live slot");
        if !e.is_expired(now) && super::access::touching() {
            e.access.hit();
        }
        if self.entry(idx).is_expired(now) {
            let gone = self.remove(idx);
            self.expired += 1;
            if let Some(h) = &self.on_expired {
                (h.0)(&gone.key, Expired::Key);
            }
            return None;
        }
        if let Value::Hash(h) = &self.entry(idx).value
            && h.next_expiry() <= now
        {
            // Hash fields whose deadline passed (lazy field expiry).
            if self.purge_fields(idx, now) {
                return None;
            }
        }
        Some(idx)
    }

    /// Removes the due fields of the hash in slot `idx` (and the key when
    /// none is left: true), telling the hook.
    fn purge_fields(&mut self, idx: u32, now: u64) -> bool {
        let Value::Hash(h) = &mut self.entry_mut(idx).value else {
            return false;
        };
        let n = std::sync::Arc::make_mut(h).purge(now);
        let emptied = h.is_empty();
        if n == 0 {
            return false;
        }
        self.expired_fields += n as u64;
        let key = if emptied {
            self.remove(idx).key
        } else {
            self.entry(idx).key.clone()
        };
        if let Some(h) = &self.on_expired {
            (h.0)(&key, Expired::Fields { emptied });
        }
        emptied
    }

    /// Queues the earliest field deadline of the hash in slot `idx` (if it
    /// has one) for the active sweep.
    pub fn note_field_deadline(&mut self, idx: u32) {
        if let Some(Value::Hash(h)) = self.slots[idx as usize].as_ref().map(|e| &e.value)
            && h.next_expiry() != u64::MAX
        {
            self.field_deadlines.insert((h.next_expiry(), idx));
        }
    }

    /// Like [`Shard::lookup`], counting a keyspace hit or miss.
    pub fn lookup_read(&mut self, hash: u64, key: &[u8], now: u64) -> Option<u32> {
        let found = self.lookup(hash, key, now);
        if found.is_some() {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        found
    }

    pub fn entry(&self, idx: u32) -> &Entry {
        self.slots[idx as usize].as_ref().expect("live slot")
    }

    /// The access data of the entry in slot `idx` (not a change).
    pub fn entry_access(&mut self, idx: u32) -> &mut super::access::Access {
        &mut self.slots[idx as usize].as_mut().expect("live slot").access
    }

    /// The entry in slot `idx`, to change it (which marks it changed).
    pub fn entry_mut(&mut self, idx: u32) -> &mut Entry {
        self.touch(idx);
        self.slots[idx as usize].as_mut().expect("live slot")
    }

    /// Inserts a key that is known to be absent.
    pub fn insert(&mut self, key: Bytes, hash: u64, value: Value, expire_at: Option<u64>) -> u32 {
        let entry = Entry {
            key,
            hash,
            value,
            expire_at,
            dirty: false,
            access: super::access::Access::new(),
        };
        let idx = loop {
            match self.free.pop() {
                Some(i) if (i as usize) < self.slots.len() && self.slots[i as usize].is_none() => {
                    self.slots[i as usize] = Some(entry);
                    break i;
                }
                Some(_) => continue,
                None => {
                    self.slots.push(Some(entry));
                    break (self.slots.len() - 1) as u32;
                }
            }
        };
        let slots = &self.slots;
        self.table.insert_unique(hash, idx, |&i| {
            slots[i as usize].as_ref().map_or(0, |e| e.hash)
        });
        if let Some(t) = expire_at {
            self.expires.insert((t, idx));
        }
        self.note_field_deadline(idx);
        self.touch(idx);
        idx
    }

    /// Removes the entry in slot `idx` and returns it.
    pub fn remove(&mut self, idx: u32) -> Entry {
        let entry = self.slots[idx as usize].take().expect("live slot");
        if self.track {
            self.changes.removed.push(entry.key.clone());
        }
        if let Ok(found) = self.table.find_entry(entry.hash, |&i| i == idx) {
            found.remove();
        }
        if let Some(t) = entry.expire_at {
            self.expires.remove(&(t, idx));
        }
        self.free.push(idx);
        // Give memory back when the tail of the slab is empty.
        while matches!(self.slots.last(), Some(None)) {
            self.slots.pop();
        }
        if self.slots.len() * 4 < self.slots.capacity() && self.slots.capacity() > 64 {
            self.slots.shrink_to(self.slots.len() * 2);
            self.free.retain(|&i| (i as usize) < self.slots.len());
        }
        entry
    }

    /// Sets or clears the TTL of the entry in slot `idx`.
    pub fn set_expire(&mut self, idx: u32, expire_at: Option<u64>) {
        let old = self.entry(idx).expire_at;
        if old == expire_at {
            return;
        }
        if let Some(t) = old {
            self.expires.remove(&(t, idx));
        }
        if let Some(t) = expire_at {
            self.expires.insert((t, idx));
        }
        self.entry_mut(idx).expire_at = expire_at;
    }

    /// Removes up to `budget` keys whose TTL has passed; returns how many.
    pub fn sweep(&mut self, now: u64, budget: usize) -> usize {
        let mut n = 0;
        while n < budget {
            match self.expires.first() {
                Some(&(t, idx)) if t <= now => {
                    let gone = self.remove(idx);
                    self.expired += 1;
                    if let Some(h) = &self.on_expired {
                        (h.0)(&gone.key, Expired::Key);
                    }
                    n += 1;
                }
                _ => break,
            }
        }
        // Hashes whose fields are due (active field expiry).
        while n < budget {
            match self.field_deadlines.first() {
                Some(&(t, idx)) if t <= now => {
                    self.field_deadlines.pop_first();
                    let due = self
                        .slots
                        .get(idx as usize)
                        .and_then(|e| e.as_ref())
                        .is_some_and(|e| {
                            !e.is_expired(now)
                                && matches!(&e.value, Value::Hash(h) if h.next_expiry() <= now)
                        });
                    if due && self.purge_fields(idx, now) {
                        n += 1;
                        continue;
                    }
                    if (idx as usize) < self.slots.len() && self.slots[idx as usize].is_some() {
                        self.note_field_deadline(idx);
                    }
                    n += usize::from(due);
                }
                _ => break,
            }
        }
        n
    }

    /// Visits live entries from slot `pos`, at most `count` of them and at
    /// most `10 * count` slots; returns the next slot or `None` at the end.
    pub fn scan(
        &self,
        pos: usize,
        count: usize,
        now: u64,
        mut visit: impl FnMut(&Entry),
    ) -> Option<usize> {
        let mut seen = 0;
        let mut i = pos;
        let max_slots = count.saturating_mul(10).max(1);
        while i < self.slots.len() && seen < count && i - pos < max_slots {
            if let Some(e) = &self.slots[i] {
                if !e.is_expired(now) {
                    visit(e);
                }
                seen += 1;
            }
            i += 1;
        }
        (i < self.slots.len()).then_some(i)
    }

    /// All live, unexpired entries.
    pub fn iter_live(&self, now: u64) -> impl Iterator<Item = &Entry> {
        self.slots
            .iter()
            .flatten()
            .filter(move |e| !e.is_expired(now))
    }

    /// Up to `n` live entries picked at random (only ones with a TTL when
    /// `volatile`), for eviction.
    pub fn sample(&self, n: usize, volatile: bool, now: u64) -> Vec<&Entry> {
        let mut out = Vec::with_capacity(n);
        if self.table.is_empty() || (volatile && self.expires.is_empty()) {
            return out;
        }
        if self.table.len() <= n {
            // A small shard: every candidate, each once.
            out.extend(
                self.iter_live(now)
                    .filter(|e| !volatile || e.expire_at.is_some()),
            );
            return out;
        }
        for _ in 0..n * 3 {
            if out.len() == n {
                break;
            }
            let i = fastrand::usize(..self.slots.len());
            if let Some(e) = &self.slots[i]
                && !e.is_expired(now)
                && (!volatile || e.expire_at.is_some())
            {
                out.push(e);
            }
        }
        if out.is_empty() && volatile {
            // Few keys with a TTL: take the soonest to expire.
            out.extend(
                self.expires
                    .iter()
                    .take(n)
                    .map(|&(_, i)| self.entry(i))
                    .filter(|e| !e.is_expired(now)),
            );
        }
        out
    }

    /// A random live entry, if any.
    pub fn random(&self, now: u64) -> Option<&Entry> {
        if self.table.is_empty() {
            return None;
        }
        for _ in 0..16 {
            let i = fastrand::usize(..self.slots.len());
            if let Some(e) = &self.slots[i]
                && !e.is_expired(now)
            {
                return Some(e);
            }
        }
        let live: Vec<&Entry> = self.iter_live(now).collect();
        (!live.is_empty()).then(|| live[fastrand::usize(..live.len())])
    }

    /// Removes everything.
    pub fn clear(&mut self) {
        *self = Shard {
            hits: self.hits,
            misses: self.misses,
            expired: self.expired,
            expired_fields: self.expired_fields,
            on_expired: self.on_expired.take(),
            track: self.track,
            changes: Changes {
                cleared: self.track,
                ..Changes::default()
            },
            ..Shard::default()
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(s: &mut Shard, key: &str, ttl: Option<u64>) -> u32 {
        s.insert(
            Bytes::copy_from_slice(key.as_bytes()),
            key.len() as u64,
            Value::Str(Bytes::new()),
            ttl,
        )
    }

    #[test]
    fn slots_are_stable_and_reused() {
        let mut s = Shard::default();
        let a = put(&mut s, "a", None);
        let b = put(&mut s, "bb", None);
        let c = put(&mut s, "ccc", None);
        s.remove(b);
        assert_eq!(s.lookup(1, b"a", 0), Some(a));
        assert_eq!(s.lookup(3, b"ccc", 0), Some(c));
        assert_eq!(s.lookup(2, b"bb", 0), None);
        let d = put(&mut s, "dd", None);
        assert_eq!(d, b, "freed slot reused");
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn expiry_lazy_and_swept() {
        let mut s = Shard::default();
        put(&mut s, "a", Some(10));
        put(&mut s, "b", Some(20));
        put(&mut s, "c", None);
        assert_eq!(s.volatile_len(), 2);
        assert_eq!(s.lookup(1, b"a", 10), None, "expired at its deadline");
        assert_eq!(s.expired, 1);
        assert_eq!(s.sweep(25, 100), 1);
        assert_eq!(s.len(), 1);
        assert_eq!(s.volatile_len(), 0);
    }

    #[test]
    fn scan_visits_every_live_entry_once() {
        let mut s = Shard::default();
        for i in 0..100 {
            put(&mut s, &format!("k{i}"), None);
        }
        let mut seen = Vec::new();
        let mut pos = Some(0);
        while let Some(p) = pos {
            pos = s.scan(p, 7, 0, |e| seen.push(e.key.clone()));
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 100);
    }
}
