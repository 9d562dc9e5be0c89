//! A read replica following the lake (`--replica-of-lake yes`).
//!
//! Protocol:
//!
//! 1. Start: load the newest version (restore), replay the WAL objects
//!    after it (see `wal_chain`), serve reads.
//! 2. Follow, in a loop: read the next WAL object (`wal/{n}`); while one
//!    exists, apply its records and go on with `n + 1`. With the writer's
//!    WAL in the lake, a write is visible here within one poll interval
//!    (100 ms) of its acknowledgement. Fence objects of a new writer are
//!    passed like any other (epochs never decrease).
//! 3. About once a second, look for a newer version (one listing of
//!    `_metadata/`). When it covers WAL records this
//!    replica has not applied (the writer keeps its WAL on local disk, or
//!    the objects this replica needed were already deleted because it fell
//!    behind), load that version into a fresh engine, replay the objects
//!    after it, and swap the contents in with every shard locked: readers
//!    see the old state or the new one, never a mix.
//!
//! Nothing is ever written to the lake by a replica. Its own keyspace is
//! never logged; keys expire on it by their absolute deadlines.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::layout::wal_object;
use super::manifest::Manifest;
use super::wal_chain::ChainEnd;
use super::{Storage, StorageError, unix_ms};
use crate::Engine;
use crate::journal::Replayer;

/// How often to look for a newer version.
const MANIFEST_EVERY: Duration = Duration::from_secs(1);

/// The replica's position in the lake.
pub struct Follower {
    storage: Arc<Storage>,
    engine: Arc<Engine>,
    replayer: Replayer,
    /// The version the state was loaded from (or found covered).
    version: u64,
    /// The chain position reached.
    end: ChainEnd,
    /// The next object must continue the previous one exactly (false right
    /// after a load: the first object may start before the position).
    strict: bool,
    last_check: Instant,
}

impl Follower {
    /// A follower of `storage` feeding `engine`, which holds `manifest`
    /// plus the WAL objects up to `end` (applied through `replayer`).
    pub fn new(
        storage: Arc<Storage>,
        engine: Arc<Engine>,
        replayer: Replayer,
        manifest: &Manifest,
        end: ChainEnd,
    ) -> Follower {
        let f = Follower {
            storage,
            engine,
            replayer,
            version: manifest.version,
            strict: end.objects > 0,
            end,
            last_check: Instant::now(),
        };
        f.publish();
        f
    }

    /// The version followed.
    pub fn version(&self) -> u64 {
        self.version
    }

    fn publish(&self) {
        let stats = &self.storage.stats;
        stats.version.store(self.version, Ordering::Relaxed);
        stats
            .committed_seq
            .store(self.end.last_seq, Ordering::Relaxed);
        stats.epoch.store(self.end.epoch, Ordering::Relaxed);
    }

    /// One round: applies the WAL objects stored since the last round and,
    /// about once a second, takes up a newer version. Returns whether the
    /// state changed.
    pub async fn step(&mut self) -> Result<bool, StorageError> {
        let mut changed = self.drain_chain().await?;
        if self.last_check.elapsed() >= MANIFEST_EVERY {
            self.last_check = Instant::now();
            changed |= self.check_manifest().await?;
        }
        self.storage
            .stats
            .synced_at_ms
            .store(unix_ms(), Ordering::Relaxed);
        self.publish();
        Ok(changed)
    }

    /// Applies every WAL object stored after the last one applied.
    async fn drain_chain(&mut self) -> Result<bool, StorageError> {
        let mut changed = false;
        loop {
            let path = wal_object(self.end.next_object);
            let Some(data) = self.storage.store.read_if_exists(&path).await? else {
                return Ok(changed);
            };
            if !self.strict {
                self.end.objects = 0;
            }
            let replayer = &mut self.replayer;
            self.storage
                .apply_object(&path, &data, &mut self.end, &mut |seq, rec| {
                    replayer.apply(seq, rec)
                })?;
            self.strict = true;
            self.storage
                .stats
                .objects_applied
                .fetch_add(1, Ordering::Relaxed);
            changed = true;
        }
    }

    /// Takes up a newer version if there is one: when the WAL chain holds
    /// everything it covers, only the version number moves; else (the
    /// writer keeps its WAL locally, or the objects were deleted because
    /// this replica fell behind) the version is loaded.
    async fn check_manifest(&mut self) -> Result<bool, StorageError> {
        // A listing, not a look for version + 1: GC may have deleted that
        // one already when this replica fell behind.
        let newest = self.storage.latest_shared().await?;
        if newest.version <= self.version {
            return Ok(false);
        }
        // Objects stored since the drain may cover it.
        let drained = self.drain_chain().await?;
        if newest.wal.position <= self.end.last_seq && newest.wal.object <= self.end.next_object {
            self.version = newest.version;
            return Ok(drained);
        }
        self.reload(&newest).await?;
        Ok(true)
    }

    /// Loads `manifest` and the objects after it into a fresh engine, then
    /// swaps it in.
    pub async fn reload(&mut self, manifest: &Manifest) -> Result<(), StorageError> {
        let start = Instant::now();
        let fresh = Arc::new(self.engine.new_like());
        let mut replayer = Replayer::new(fresh.clone());
        self.storage
            .restore(&fresh, manifest, &mut replayer)
            .await?;
        let end = self
            .storage
            .replay_chain(
                manifest.wal.object,
                manifest.wal.position,
                false,
                &mut |seq, rec| replayer.apply(seq, rec),
            )
            .await?;
        self.engine.replace_contents(&fresh);
        replayer.set_engine(self.engine.clone());
        self.replayer = replayer;
        self.version = manifest.version;
        self.strict = end.objects > 0;
        self.end = end;
        self.storage.stats.reloads.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            version = manifest.version,
            position = self.end.last_seq,
            ms = start.elapsed().as_millis() as u64,
            "replica reloaded a newer version"
        );
        Ok(())
    }

    /// After an error in [`Follower::step`]: reload the newest version.
    pub async fn recover(&mut self) -> Result<(), StorageError> {
        let newest = self.storage.latest_shared().await?;
        self.reload(&newest).await
    }
}
