//! Durable storage of the engine's state in open formats on an object store
//! (docs/storage-format.md):
//!
//! ```text
//! <root>/_metadata/v{N:020}.json          one manifest per committed version
//! <root>/kv/<name>.parquet                string keys with expiry
//! <root>/vsets/<key>/data/<name>.parquet  vector-set elements
//! <root>/vsets/<key>/index/<name>.hnsw    vector-set graph (loaded, not rebuilt)
//! ```
//!
//! A *flush* captures the keyspace, writes the files of what changed, and
//! commits a new manifest with a conditional put; after a commit, WAL
//! segments wholly covered are deleted. *Restore* loads the latest manifest
//! and its files; the WAL tail is replayed after it. *GC* keeps the last
//! `retain_versions` manifests and deletes files none of them references
//! once they are older than a grace period.
//!
//! # Layout
//! - [`store`]: object store access (OpenDAL; conditional puts).
//! - [`manifest`]: the manifest JSON.
//! - [`parquet_io`]: Parquet encoding of keys and vector-set elements.
//! - [`commit`]: loading the latest manifest; committing with rebase/retry.
//! - [`snapshot`]: flush = capture + write files + commit + WAL truncation.
//! - [`restore`]: loading the state of a manifest into an engine.
//! - [`gc`]: retention of manifests and deletion of unreferenced files.

pub mod commit;
pub mod gc;
pub mod manifest;
pub mod parquet_io;
pub mod restore;
pub mod snapshot;
pub mod store;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;

pub use manifest::Manifest;
pub use store::{S3Options, Store, StoreError};

/// Storage settings (from the server's configuration).
#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// `file:///path`, a path, or `s3://bucket/prefix`.
    pub url: String,
    /// S3 endpoint, region, credentials.
    pub s3: S3Options,
    /// This server's writer id (stable across restarts of one data dir).
    pub writer_id: String,
    /// Run on a backend without conditional puts (one writer only).
    pub single_writer: bool,
    /// Manifests kept (older ones and the files only they use are deleted).
    pub retain_versions: usize,
    /// Unreferenced files younger than this are kept (they may belong to a
    /// commit in progress), in ms.
    pub gc_grace_ms: u64,
}

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The object store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file or manifest is damaged or not understood.
    #[error("{0}")]
    Format(String),
    /// The backend cannot do conditional puts and single-writer mode is off.
    #[error(
        "the object store does not support conditional puts (create-if-absent), which safe commits need; start with --single-writer yes if only this server writes to it"
    )]
    NoConditionalPut,
    /// Gave up after too many lost commit races.
    #[error("commit failed: lost {0} races with other writers in a row")]
    TooManyConflicts(u32),
}

/// Counters and state for INFO persistence.
#[derive(Debug, Default)]
pub struct StorageStats {
    /// Successful flush commits by this server.
    pub flushes: AtomicU64,
    /// Commit races lost (each followed by a rebase and retry).
    pub conflicts: AtomicU64,
    /// Failed flushes.
    pub failures: AtomicU64,
    /// Files deleted by GC.
    pub gc_deleted: AtomicU64,
    /// Latest manifest version known.
    pub version: AtomicU64,
    /// Time of the last successful commit by this server, Unix ms.
    pub last_commit_ms: AtomicU64,
    /// Duration of the last successful flush, ms.
    pub last_flush_ms: AtomicU64,
    /// Total duration of successful flushes, ms.
    pub flush_ms_total: AtomicU64,
    /// WAL position of the last commit by this server.
    pub committed_seq: AtomicU64,
    /// A flush is running.
    pub in_progress: AtomicBool,
    /// The last flush's error (empty after a success).
    pub last_error: Mutex<Option<String>>,
    /// Ingests running and done.
    pub ingest: crate::ingest::IngestProgress,
}

impl StorageStats {
    /// Reads a counter.
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// The storage of one server.
pub struct Storage {
    store: Store,
    config: StorageConfig,
    /// One commit at a time; holds the latest manifest this server knows.
    pub(crate) state: tokio::sync::Mutex<commit::CommitState>,
    /// Counters for INFO.
    pub stats: StorageStats,
    /// Committed manifests read so far, by version.
    manifests: Mutex<std::collections::BTreeMap<u64, std::sync::Arc<Manifest>>>,
}

impl Storage {
    /// Opens the store, checks it can do conditional puts (unless
    /// single-writer), and loads the latest manifest.
    pub async fn open(config: StorageConfig) -> Result<(Storage, Manifest), StorageError> {
        let store = Store::open(&config.url, &config.s3)?;
        if !config.single_writer && !store.supports_conditional_put().await? {
            return Err(StorageError::NoConditionalPut);
        }
        let latest = commit::load_latest(&store).await?;
        let stats = StorageStats::default();
        stats.version.store(latest.version, Ordering::Relaxed);
        let mine = latest
            .writers
            .get(&config.writer_id)
            .cloned()
            .unwrap_or_default();
        stats
            .committed_seq
            .store(mine.wal_position, Ordering::Relaxed);
        let storage = Storage {
            store,
            state: tokio::sync::Mutex::new(commit::CommitState {
                base: latest.clone(),
                mine,
            }),
            config,
            stats,
            manifests: Mutex::new(Default::default()),
        };
        if latest.version > 0 {
            storage.remember(std::sync::Arc::new(latest.clone()));
        }
        Ok((storage, latest))
    }

    /// The object store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The settings.
    pub fn config(&self) -> &StorageConfig {
        &self.config
    }
}

/// A file name that sorts by creation time and says when it was made
/// (GC's grace period reads it back): `<ms:013>-<random:016x>`.
pub fn new_file_name(now_ms: u64) -> String {
    format!("{now_ms:013}-{:016x}", fastrand::u64(..))
}

/// The creation time encoded by [`new_file_name`] in a path's file name.
pub fn file_time(path: &str) -> Option<u64> {
    let name = path.rsplit('/').next()?;
    name.split('-').next()?.parse().ok()
}

/// Current Unix time in ms (commit timestamps and file names; the engine's
/// clock is for key expiry).
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
