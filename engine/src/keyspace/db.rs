//! One logical database (`SELECT n`): keys spread over [`SHARDS`] shards,
//! each behind its own lock, so both cores work at once. Multi-key commands
//! (MSET, RENAME, ...) lock the shards they touch in index order, which keeps
//! them atomic and deadlock free.
//!
//! Every method takes `now` (Unix ms) from the engine's clock; expired keys
//! are never returned and are removed when met (lazy expiry) or by
//! [`Db::sweep`] (active expiry).

use std::hash::BuildHasher;

use bytes::Bytes;
use parking_lot::{Mutex, MutexGuard};

use super::shard::Shard;
use super::value::Value;
use crate::error::EngineError;
use crate::glob::glob_match;
use crate::journal::{JournalSlot, Op, RecordBuf, batch};

/// Shards per database. A power of two; part of the SCAN cursor encoding.
pub const SHARDS: usize = 64;

/// Remaining time to live of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// No such key.
    Missing,
    /// The key has no expiry.
    Persistent,
    /// Milliseconds left.
    Ms(u64),
}

/// Condition for EXPIRE-family commands (`NX XX GT LT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExpireCond {
    /// Always set.
    #[default]
    Always,
    /// Only when the key has no expiry.
    Nx,
    /// Only when the key has an expiry.
    Xx,
    /// Only when the new expiry is later (no expiry counts as infinite).
    Gt,
    /// Only when the new expiry is earlier (no expiry counts as infinite).
    Lt,
}

/// A database.
pub struct Db {
    shards: Box<[Mutex<Shard>]>,
    hasher: foldhash::fast::FixedState,
    /// Database number (recorded in WAL records).
    index: u8,
    /// The WAL, once attached.
    journal: JournalSlot,
}

impl Default for Db {
    fn default() -> Self {
        Db::new()
    }
}

/// Shards locked for a multi-key operation.
pub(crate) struct Locked<'a> {
    guards: Vec<(usize, MutexGuard<'a, Shard>)>,
}

impl Locked<'_> {
    pub fn shard(&mut self, hash: u64) -> &mut Shard {
        let idx = shard_index(hash);
        let pos = self
            .guards
            .iter()
            .position(|(i, _)| *i == idx)
            .expect("shard locked");
        &mut self.guards[pos].1
    }
}

#[inline]
fn shard_index(hash: u64) -> usize {
    // Middle bits: hashbrown uses the top 7 bits as tags and the low bits as
    // bucket positions, so neither may be constant within a shard.
    ((hash >> 40) as usize) & (SHARDS - 1)
}

impl Db {
    /// An empty database without a journal.
    pub fn new() -> Self {
        Db::with_journal(0, JournalSlot::default(), false)
    }

    /// An empty database number `index` that logs its changes to the WAL
    /// in `journal` once one is attached, and tracks which keys changed
    /// since the last commit when `track` is set.
    pub fn with_journal(index: u8, journal: JournalSlot, track: bool) -> Self {
        Db {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::new(track))).collect(),
            hasher: foldhash::fast::FixedState::with_seed(fastrand::u64(..)),
            index,
            journal,
        }
    }

    /// An empty database like this one (same number and key placement),
    /// without a journal: a replica builds its next state in it.
    pub(crate) fn empty_like(&self, track: bool) -> Db {
        Db {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::new(track))).collect(),
            hasher: self.hasher.clone(),
            index: self.index,
            journal: JournalSlot::default(),
        }
    }

    /// Database number.
    pub fn index(&self) -> u8 {
        self.index
    }

    /// Writes one record built by `build` to the WAL (nothing when no WAL
    /// is attached or nothing was added); returns its sequence (0 if none).
    /// Callers hold the locks that order the change, and apply it only
    /// after this succeeded.
    pub fn log(&self, build: impl FnOnce(&mut RecordBuf)) -> Result<u64, EngineError> {
        let Some(wal) = self.journal.get() else {
            return Ok(0);
        };
        // Inside a transaction or script: one record for all of it.
        let build = match batch::add(self.index, build) {
            Ok(seq) => return Ok(seq),
            Err(build) => build,
        };
        let mut rec = RecordBuf::new(self.index);
        build(&mut rec);
        if rec.is_empty() {
            return Ok(0);
        }
        wal.append_weighted(rec.as_bytes(), rec.inserts())
            .map_err(|e| EngineError::Persistence(e.to_string()))
    }

    /// Logs a single operation.
    pub(crate) fn log_op(&self, op: &Op<'_>) -> Result<u64, EngineError> {
        self.log(|r| {
            r.push(op);
        })
    }

    /// Locks every shard, in index order.
    pub(crate) fn lock_all(&self) -> Vec<MutexGuard<'_, Shard>> {
        self.shards.iter().map(|s| s.lock()).collect()
    }

    /// Locks shard number `i` (`i < SHARDS`).
    pub(crate) fn lock_shard(&self, i: usize) -> MutexGuard<'_, Shard> {
        self.shards[i].lock()
    }

    /// The shard (index into [`Db::lock_all`]'s guards) of `key`, and its hash.
    pub(crate) fn place(&self, key: &[u8]) -> (usize, u64) {
        let h = self.hash(key);
        (shard_index(h), h)
    }

    /// Marks `key` changed since the last commit (a failed commit hands its
    /// changes back this way).
    pub fn mark_changed(&self, key: &[u8]) {
        let (h, mut s) = self.lock(key);
        s.mark_changed(h, key);
    }

    /// Forgets the recorded changes (after a restore).
    pub fn forget_changes(&self) {
        for s in self.shards.iter() {
            s.lock().forget_changes();
        }
    }

    #[inline]
    pub(crate) fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Locks the shard of `key`; returns its hash too.
    #[inline]
    pub(crate) fn lock(&self, key: &[u8]) -> (u64, MutexGuard<'_, Shard>) {
        let h = self.hash(key);
        (h, self.shards[shard_index(h)].lock())
    }

    /// Locks the shards of all `keys` in index order.
    pub(crate) fn lock_many<'k>(
        &self,
        keys: impl Iterator<Item = &'k [u8]>,
    ) -> (Vec<u64>, Locked<'_>) {
        let hashes: Vec<u64> = keys.map(|k| self.hash(k)).collect();
        let mut idx: Vec<usize> = hashes.iter().map(|&h| shard_index(h)).collect();
        idx.sort_unstable();
        idx.dedup();
        let guards = idx
            .into_iter()
            .map(|i| (i, self.shards[i].lock()))
            .collect();
        (hashes, Locked { guards })
    }

    /// Number of keys (including expired keys not yet reclaimed, like Redis).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }

    /// True when the database holds no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of keys with a TTL.
    pub fn volatile_len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().volatile_len()).sum()
    }

    /// (hits, misses, expired) counters summed over shards.
    pub fn counters(&self) -> (u64, u64, u64, u64) {
        self.shards.iter().fold((0, 0, 0, 0), |(h, m, e, f), s| {
            let s = s.lock();
            (
                h + s.hits,
                m + s.misses,
                e + s.expired,
                f + s.expired_fields,
            )
        })
    }

    /// Removes every key (FLUSHDB).
    pub fn flush(&self) -> Result<(), EngineError> {
        let mut all = self.lock_all();
        self.log_op(&Op::FlushDb)?;
        for s in all.iter_mut() {
            s.clear();
        }
        Ok(())
    }

    /// Active expiry: removes up to `budget_per_shard` expired keys from each
    /// shard; returns how many were removed.
    pub fn sweep(&self, now: u64, budget_per_shard: usize) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().sweep(now, budget_per_shard))
            .sum()
    }

    /// Deletes `keys`; returns how many existed.
    pub fn del(&self, keys: &[Bytes], now: u64) -> Result<usize, EngineError> {
        Ok(self.del_each(keys, now)?.len())
    }

    /// Deletes `keys`; returns the positions in `keys` of those that
    /// existed (a key named twice is deleted once).
    pub fn del_each(&self, keys: &[Bytes], now: u64) -> Result<Vec<usize>, EngineError> {
        let (hashes, mut locked) = self.lock_many(keys.iter().map(|k| &k[..]));
        let live: Vec<bool> = keys
            .iter()
            .zip(&hashes)
            .map(|(k, &h)| locked.shard(h).lookup(h, k, now).is_some())
            .collect();
        self.log(|r| {
            for (k, _) in keys.iter().zip(&live).filter(|(_, l)| **l) {
                r.push(&Op::Del { key: k });
            }
        })?;
        let mut deleted = Vec::new();
        for (i, (key, &h)) in keys.iter().zip(&hashes).enumerate() {
            let shard = locked.shard(h);
            if let Some(idx) = shard.lookup(h, key, now) {
                shard.remove(idx);
                deleted.push(i);
            }
        }
        Ok(deleted)
    }

    /// Counts how many of `keys` exist (a key named twice counts twice).
    pub fn exists(&self, keys: &[Bytes], now: u64) -> usize {
        keys.iter()
            .filter(|k| {
                let (h, mut s) = self.lock(k);
                s.lookup(h, k, now).is_some()
            })
            .count()
    }

    /// The type name of `key`, or `None` when it does not exist.
    pub fn key_type(&self, key: &[u8], now: u64) -> Option<&'static str> {
        let (h, mut s) = self.lock(key);
        let idx = s.lookup(h, key, now)?;
        Some(s.entry(idx).value.type_name())
    }

    /// Bytes `key` and its value take in memory (MEMORY USAGE): the table
    /// entry, key and value bytes; for a vector set, its vectors, graph,
    /// names and attributes. `None` when the key does not exist.
    pub fn memory_usage(&self, key: &[u8], now: u64) -> Option<usize> {
        /// Hash table slot, entry and `Bytes` headers.
        const ENTRY: usize = 96;
        let value = {
            let (h, mut s) = self.lock(key);
            let idx = s.lookup(h, key, now)?;
            s.entry(idx).value.clone()
        };
        // A set is read after the shard lock is released.
        let bytes = value.memory_bytes();
        Some(ENTRY + key.len() + bytes)
    }

    /// Sets the expiry of `key` to `at` (Unix ms) under `cond`; a time not in
    /// the future deletes the key. Returns whether anything changed.
    pub fn expire(
        &self,
        key: &[u8],
        at: u64,
        cond: ExpireCond,
        now: u64,
    ) -> Result<bool, EngineError> {
        let (h, mut s) = self.lock(key);
        let Some(idx) = s.lookup(h, key, now) else {
            return Ok(false);
        };
        let current = s.entry(idx).expire_at;
        let allowed = match cond {
            ExpireCond::Always => true,
            ExpireCond::Nx => current.is_none(),
            ExpireCond::Xx => current.is_some(),
            ExpireCond::Gt => current.is_some_and(|c| at > c),
            ExpireCond::Lt => current.is_none_or(|c| at < c),
        };
        if !allowed {
            return Ok(false);
        }
        if at <= now {
            self.log_op(&Op::Del { key })?;
            s.remove(idx);
        } else {
            self.log_op(&Op::Expire {
                key,
                expire_at: Some(at),
            })?;
            s.set_expire(idx, Some(at));
        }
        Ok(true)
    }

    /// Time to live of `key`.
    pub fn ttl(&self, key: &[u8], now: u64) -> Ttl {
        let (h, mut s) = self.lock(key);
        match s.lookup(h, key, now) {
            None => Ttl::Missing,
            Some(idx) => match s.entry(idx).expire_at {
                None => Ttl::Persistent,
                Some(t) => Ttl::Ms(t.saturating_sub(now)),
            },
        }
    }

    /// The absolute expiry of `key` in Unix ms: `Ttl` semantics with the
    /// deadline instead of the time left.
    pub fn expire_time(&self, key: &[u8], now: u64) -> Ttl {
        let (h, mut s) = self.lock(key);
        match s.lookup(h, key, now) {
            None => Ttl::Missing,
            Some(idx) => s.entry(idx).expire_at.map_or(Ttl::Persistent, Ttl::Ms),
        }
    }

    /// Removes the expiry of `key`; true if it had one.
    pub fn persist(&self, key: &[u8], now: u64) -> Result<bool, EngineError> {
        let (h, mut s) = self.lock(key);
        match s.lookup(h, key, now) {
            Some(idx) if s.entry(idx).expire_at.is_some() => {
                self.log_op(&Op::Expire {
                    key,
                    expire_at: None,
                })?;
                s.set_expire(idx, None);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Renames `src` to `dst`, keeping the TTL. With `only_if_absent`
    /// (RENAMENX) nothing happens when `dst` exists; returns whether renamed.
    pub fn rename(
        &self,
        src: &[u8],
        dst: &[u8],
        only_if_absent: bool,
        now: u64,
    ) -> Result<bool, EngineError> {
        let (hashes, mut locked) = self.lock_many([src, dst].into_iter());
        let (hs, hd) = (hashes[0], hashes[1]);
        let Some(si) = locked.shard(hs).lookup(hs, src, now) else {
            return Err(EngineError::NoSuchKey);
        };
        if src == dst {
            return Ok(!only_if_absent);
        }
        let dst_idx = locked.shard(hd).lookup(hd, dst, now);
        if dst_idx.is_some() && only_if_absent {
            return Ok(false);
        }
        self.log_op(&Op::Rename { src, dst })?;
        if let Some(di) = dst_idx {
            locked.shard(hd).remove(di);
        }
        let entry = locked.shard(hs).remove(si);
        locked.shard(hd).insert(
            Bytes::copy_from_slice(dst),
            hd,
            entry.value,
            entry.expire_at,
        );
        Ok(true)
    }

    /// Every live key with its value and expiry (absolute ms), one shard
    /// locked at a time (a consistent view per shard, not across shards).
    pub fn entries(&self, now: u64) -> Vec<(Bytes, Value, Option<u64>)> {
        let mut out = Vec::new();
        for s in self.shards.iter() {
            let s = s.lock();
            out.extend(
                s.iter_live(now)
                    .map(|e| (e.key.clone(), e.value.clone(), e.expire_at)),
            );
        }
        out
    }

    /// Every live vector set, with its key.
    pub fn vector_sets(&self, now: u64) -> Vec<(Bytes, crate::keyspace::SharedSet)> {
        let mut out = Vec::new();
        for s in self.shards.iter() {
            let s = s.lock();
            out.extend(s.iter_live(now).filter_map(|e| match &e.value {
                Value::VectorSet(set) => Some((e.key.clone(), set.clone())),
                _ => None,
            }));
        }
        out
    }

    /// All keys matching `pattern`.
    pub fn keys(&self, pattern: &[u8], now: u64) -> Vec<Bytes> {
        let match_all = pattern == b"*";
        let mut out = Vec::new();
        for s in self.shards.iter() {
            let s = s.lock();
            out.extend(
                s.iter_live(now)
                    .filter(|e| match_all || glob_match(pattern, &e.key))
                    .map(|e| e.key.clone()),
            );
        }
        out
    }

    /// One SCAN step from `cursor`: visits about `count` keys, returns the
    /// next cursor (0 when done) and the visited keys that match.
    pub fn scan(
        &self,
        cursor: u64,
        pattern: Option<&[u8]>,
        count: usize,
        type_name: Option<&[u8]>,
        now: u64,
    ) -> (u64, Vec<Bytes>) {
        let mut shard = (cursor % SHARDS as u64) as usize;
        let mut pos = (cursor / SHARDS as u64) as usize;
        let mut out = Vec::new();
        let mut budget = count.max(1);
        while shard < SHARDS {
            let mut visited = 0;
            let next = self.shards[shard].lock().scan(pos, budget, now, |e| {
                visited += 1;
                let type_ok = type_name
                    .is_none_or(|t| t.eq_ignore_ascii_case(e.value.type_name().as_bytes()));
                if type_ok && pattern.is_none_or(|p| glob_match(p, &e.key)) {
                    out.push(e.key.clone());
                }
            });
            budget = budget.saturating_sub(visited);
            match next {
                Some(p) => pos = p,
                None => {
                    shard += 1;
                    pos = 0;
                }
            }
            if budget == 0 {
                break;
            }
        }
        if shard >= SHARDS {
            return (0, out);
        }
        ((pos as u64) * SHARDS as u64 + shard as u64, out)
    }

    /// A random key, if the database has any.
    pub fn random_key(&self, now: u64) -> Option<Bytes> {
        let start = fastrand::usize(..SHARDS);
        (0..SHARDS).find_map(|i| {
            let s = self.shards[(start + i) % SHARDS].lock();
            s.random(now).map(|e| e.key.clone())
        })
    }

    /// Inserts or replaces `key` with `value` and expiry, for restore paths
    /// and tests (not logged).
    pub fn put(&self, key: &[u8], value: Value, expire_at: Option<u64>, now: u64) {
        let (h, mut s) = self.lock(key);
        if let Some(idx) = s.lookup(h, key, now) {
            s.remove(idx);
        }
        s.insert(Bytes::copy_from_slice(key), h, value, expire_at);
    }

    /// Replaces the value of `key` keeping its expiry, or creates it without
    /// one (replay of a logged `SetKeepTtl`; not logged).
    pub fn put_keep_ttl(&self, key: &[u8], value: Value, now: u64) {
        let (h, mut s) = self.lock(key);
        match s.lookup(h, key, now) {
            Some(idx) => s.entry_mut(idx).value = value,
            None => {
                s.insert(Bytes::copy_from_slice(key), h, value, None);
            }
        }
    }
}
