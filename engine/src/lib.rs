//! `vexlake-engine`: the state behind the VexLake server.
//!
//! The server (`src/`) parses a command and calls one method here; the
//! engine owns the data and its rules (types, expiry, atomicity) and returns
//! typed results or an [`EngineError`]. The engine does no network I/O and
//! never reads the environment: everything comes in through [`EngineConfig`].
//!
//! # Layout
//! - [`keyspace`]: numbered databases of keys with TTLs, sharded for
//!   concurrency; string commands.
//! - [`changes`]: what changed since the last commit (incremental flushes).
//! - [`functions`]: the code of the server's function libraries (FUNCTION
//!   LOAD), journaled and committed with the keyspace.
//! - [`vector`]: vector sets (HNSW graph, quantization, SIMD distances,
//!   FILTER expressions).
//! - [`wal`]: write-ahead log on local disk (records, segments, group
//!   commit, recovery).
//! - [`journal`]: what the engine writes to the WAL for each change, and
//!   replaying it at startup.
//! - [`storage`]: the object store (local directory or S3), Parquet and
//!   index files, versioned manifests, restore, GC.
//! - [`glob`]: Redis glob patterns (KEYS, SCAN MATCH, CONFIG GET).
//! - [`clock`]: the time source for expiry (manual in tests).
//! - [`error`]: the engine's error type, [`EngineError`].
//!
//! # Request path
//! ```text
//! src/cmd/<family>.rs ─► Engine::db(n) ─► Db (lock one shard) ─► Shard ─► reply
//!                         Engine::active_expire_cycle (background sweep)
//! ```

pub mod changes;
pub mod clock;
pub mod error;
pub mod functions;
pub mod glob;
pub mod ingest;
pub mod journal;
pub mod keyspace;
pub mod sql;
pub mod storage;
pub mod vector;
pub mod wal;

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use clock::Clock;
pub use error::EngineError;
pub use keyspace::Db;

use journal::{JournalSlot, Op, batch};
use parking_lot::{RwLock, RwLockReadGuard};
use wal::Wal;

/// Engine settings; the server fills them from its configuration.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Number of databases (`databases`, 16 like Redis).
    pub databases: usize,
    /// Largest string a command may create (`proto-max-bulk-len`).
    pub max_string_len: usize,
    /// Time source for expiry.
    pub clock: Clock,
    /// Record which keys change (for incremental commits); off on a read
    /// replica, which never commits.
    pub track_changes: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            databases: 16,
            max_string_len: 512 * 1024 * 1024,
            clock: Clock::System,
            track_changes: true,
        }
    }
}

/// Keyspace counters for INFO.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyspaceStats {
    /// Reads that found their key.
    pub hits: u64,
    /// Reads that did not.
    pub misses: u64,
    /// Keys removed because their TTL passed.
    pub expired: u64,
    /// Hash fields removed because their deadline passed.
    pub expired_fields: u64,
}

/// Hears `(database, key, what)` for each key removed because its TTL
/// passed and each hash whose fields expired.
pub type ExpiredFn = dyn Fn(usize, &[u8], keyspace::Expired) + Send + Sync;

/// The engine: all databases and their settings.
pub struct Engine {
    dbs: Vec<Db>,
    config: EngineConfig,
    journal: JournalSlot,
    /// Commands hold it shared; a transaction or script exclusively (see
    /// [`Engine::atomically`]); taking the changes for a commit shared.
    gate: RwLock<()>,
    /// The server's function libraries.
    functions: functions::Functions,
}

impl Engine {
    /// An empty engine (no WAL until [`Engine::attach_wal`]).
    pub fn new(config: EngineConfig) -> Self {
        let journal = JournalSlot::default();
        let dbs = (0..config.databases.clamp(1, 256))
            .map(|i| Db::with_journal(i as u8, journal.clone(), config.track_changes))
            .collect();
        Engine {
            dbs,
            config,
            journal,
            gate: RwLock::new(()),
            functions: functions::Functions::default(),
        }
    }

    /// The server's function libraries (see [`functions`]).
    pub fn functions(&self) -> &functions::Functions {
        &self.functions
    }

    /// From now on every change is logged to `wal` before it is applied
    /// (called once, after recovery replayed the log).
    pub fn attach_wal(&self, wal: Arc<Wal>) {
        let _ = self.journal.set(wal);
    }

    /// The WAL, when attached.
    pub fn wal(&self) -> Option<&Arc<Wal>> {
        self.journal.get()
    }

    /// The settings the engine runs with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Number of databases.
    pub fn databases(&self) -> usize {
        self.dbs.len()
    }

    /// Database `index` (callers validate the index with [`Engine::databases`]).
    pub fn db(&self, index: usize) -> &Db {
        &self.dbs[index]
    }

    /// Current time in Unix milliseconds by the engine's clock.
    pub fn now_ms(&self) -> u64 {
        self.config.clock.now_ms()
    }

    /// Held shared while one command runs: a transaction or script
    /// ([`Engine::atomically`]) waits for running commands and keeps new
    /// ones out.
    pub fn shared(&self) -> RwLockReadGuard<'_, ()> {
        self.gate.read()
    }

    /// [`Engine::shared`] without waiting: None while a transaction or
    /// script runs.
    pub fn try_shared(&self) -> Option<RwLockReadGuard<'_, ()>> {
        self.gate.try_read()
    }

    /// [`Engine::shared`], waiting at most `timeout`.
    pub fn shared_for(&self, timeout: Duration) -> Option<RwLockReadGuard<'_, ()>> {
        self.gate.try_read_for(timeout)
    }

    /// Held while a WAL record is applied by replay or a replica's
    /// follower: readers see it whole or not at all.
    pub(crate) fn exclusive(&self) -> parking_lot::RwLockWriteGuard<'_, ()> {
        self.gate.write()
    }

    /// Runs `f` (the commands of a transaction or script) alone: no other
    /// command and no commit runs meanwhile, and everything `f` changes is
    /// written to the WAL as one record when it returns (see
    /// [`journal::batch`]). Returns `f`'s result and the record's
    /// sequence (0 when nothing changed), or the error writing it.
    pub fn atomically<R>(&self, f: impl FnOnce() -> R) -> (R, Result<u64, EngineError>) {
        let _gate = self.gate.write();
        let wal = self.wal();
        batch::open(wal.map_or(0, |w| w.next_seq()));
        let closer = batch::Closer;
        let r = f();
        let rec = batch::close();
        drop(closer);
        let written = match (rec, wal) {
            (Some(rec), Some(wal)) if !rec.is_empty() => wal
                .append_weighted(rec.as_bytes(), rec.inserts())
                .map_err(|e| {
                    // Memory holds changes the log does not: accept no
                    // more writes until a restart reloads the durable state.
                    wal.fail(format!("transaction record not written: {e}"));
                    EngineError::Persistence(e.to_string())
                }),
            _ => Ok(0),
        };
        (r, written)
    }

    /// Empties every database (FLUSHALL), atomically.
    pub fn flush_all(&self) -> Result<(), EngineError> {
        let mut all: Vec<_> = self.dbs.iter().flat_map(|db| db.lock_all()).collect();
        self.dbs[0].log_op(&Op::FlushAll)?;
        for s in all.iter_mut() {
            s.clear();
        }
        Ok(())
    }

    /// An empty engine with this one's settings and key placement, and no
    /// WAL: a read replica loads a newer version into it, then
    /// [`Engine::replace_contents`] swaps it in.
    pub fn new_like(&self) -> Engine {
        Engine {
            dbs: self
                .dbs
                .iter()
                .map(|db| db.empty_like(self.config.track_changes))
                .collect(),
            config: self.config.clone(),
            journal: JournalSlot::default(),
            gate: RwLock::new(()),
            functions: functions::Functions::default(),
        }
    }

    /// Replaces every database's contents with `other`'s (built by
    /// [`Engine::new_like`]) with all shards of both locked: commands see
    /// the old state or the new one, never a mix.
    pub fn replace_contents(&self, other: &Engine) {
        let _gate = self.gate.write();
        let mut mine: Vec<_> = self.dbs.iter().flat_map(|db| db.lock_all()).collect();
        let mut theirs: Vec<_> = other.dbs.iter().flat_map(|db| db.lock_all()).collect();
        for (a, b) in mine.iter_mut().zip(theirs.iter_mut()) {
            let (hits, misses, expired) = (a.hits, a.misses, a.expired);
            let hook = a.on_expired.take();
            std::mem::swap(&mut **a, &mut **b);
            (a.hits, a.misses, a.expired) = (hits, misses, expired);
            a.on_expired = hook;
        }
        let (_, libs) = other.functions.get();
        self.functions.replace(libs.to_vec());
    }

    /// Calls `hook(db, key)` for every key removed because its TTL passed,
    /// lazily or by active expiry (keyspace notifications). It runs under
    /// a shard lock and must not use the keyspace.
    pub fn on_expired(&self, hook: Arc<ExpiredFn>) {
        for (i, db) in self.dbs.iter().enumerate() {
            let h = hook.clone();
            let per_db = keyspace::ExpiredHook(Arc::new(move |k: &[u8], what| h(i, k, what)));
            for mut s in db.lock_all() {
                s.on_expired = Some(per_db.clone());
            }
        }
    }

    /// Zeroes the keyspace hit/miss/expired counters (CONFIG RESETSTAT).
    pub fn reset_stats(&self) {
        for db in &self.dbs {
            for mut s in db.lock_all() {
                (s.hits, s.misses, s.expired, s.expired_fields) = (0, 0, 0, 0);
            }
        }
    }

    /// Summed keyspace counters.
    pub fn stats(&self) -> KeyspaceStats {
        self.dbs.iter().fold(KeyspaceStats::default(), |acc, db| {
            let (h, m, e, f) = db.counters();
            KeyspaceStats {
                hits: acc.hits + h,
                misses: acc.misses + m,
                expired: acc.expired + e,
                expired_fields: acc.expired_fields + f,
            }
        })
    }

    /// One active-expiry cycle: sweeps expired keys from all databases, in
    /// rounds of a bounded size, until none are left or `max_time` passes.
    /// Returns how many keys were removed.
    pub fn active_expire_cycle(&self, max_time: Duration) -> usize {
        const BUDGET_PER_SHARD: usize = 32;
        // Not while a transaction or script runs: they see time stand still.
        let Some(_gate) = self.gate.try_read() else {
            return 0;
        };
        let start = Instant::now();
        let mut total = 0;
        loop {
            let now = self.now_ms();
            let removed: usize = self
                .dbs
                .iter()
                .map(|db| db.sweep(now, BUDGET_PER_SHARD))
                .sum();
            total += removed;
            if removed == 0 || start.elapsed() >= max_time {
                return total;
            }
        }
    }
}

#[cfg(test)]
mod tests;
