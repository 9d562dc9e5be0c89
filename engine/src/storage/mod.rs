//! The lake: durable storage of the engine's state in open formats on an
//! object store (docs/storage-format.md). A storage URL names one lake,
//! one logical database; any server started on it sees everything
//! committed, whatever its local directory holds.
//!
//! ```text
//! <root>/_metadata/v{N:020}.json          one manifest per committed version
//! <root>/_lake/writer.json                the writer's heartbeat
//! <root>/wal/{n:020}.wal                  WAL objects (--wal-storage object)
//! <root>/kv/<name>.parquet                string keys: a base, then deltas
//! <root>/vsets/<key>/data/<name>.parquet  vector-set elements (base, deltas)
//! <root>/vsets/<key>/index/<name>.hnsw[d] vector-set graph (base, deltas)
//! <root>/tables/<t>/data/<name>.parquet   tables
//! ```
//!
//! One server at a time is the lake's *writer*: it holds an epoch recorded
//! in the manifest chain ([`fencing`]); any number of *replicas* follow the
//! chain and answer reads ([`follower`]). A *flush* commits what changed
//! since the last commit (a delta) ([`flush`]); *compaction* merges deltas
//! into a new base ([`compaction`]); *restore* loads a version: base,
//! deltas, then the WAL tail is replayed; *GC* deletes what no retained
//! version references ([`gc`]).
//!
//! # Layout
//! - [`store`]: object store access (OpenDAL; conditional puts).
//! - [`layout`]: every name written in the lake.
//! - [`manifest`]: the manifest JSON (format 2; format 1 is upgraded).
//! - [`commit`]: reading manifests; committing with a conditional put.
//! - [`fencing`]: becoming the writer (epochs), heartbeats, fencing.
//! - [`wal_chain`]: the WAL objects in the lake: replay, fence, upload.
//! - [`parquet_io`]: Parquet encoding of keys and vector-set elements.
//! - [`flush`]: changes since the last commit → files → a commit.
//! - [`compaction`]: kv deltas merged into a new base, in the background.
//! - [`restore`]: loading a version into an engine.
//! - [`follower`]: a read replica following the lake.
//! - [`gc`]: retention of manifests, WAL objects and files.

pub mod commit;
pub mod compaction;
pub mod fencing;
pub mod flush;
pub mod follower;
pub mod gc;
pub mod layout;
pub mod manifest;
pub mod parquet_io;
pub mod restore;
pub mod store;
pub mod table_stats;
pub mod tables;
pub mod wal_chain;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::ingest::parts::Codec;

pub use layout::{file_time, new_file_name};
pub use manifest::Manifest;
pub use store::{S3Options, Store, StoreError};

/// What a server is to its lake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// The one server that commits (holds the current epoch).
    #[default]
    Writer,
    /// Follows the lake and answers reads (`--replica-of-lake yes`).
    Replica,
}

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
    /// Writer or replica.
    pub role: Role,
    /// Become the writer even when another writer's heartbeat is fresh
    /// (`--takeover yes`): the old writer is fenced.
    pub takeover: bool,
    /// A writer whose heartbeat is older than this is considered gone, ms.
    pub lease_ms: u64,
    /// The WAL goes to the lake (`--wal-storage object`).
    pub wal_objects: bool,
    /// Deltas after a base before it is rewritten (kv compaction; a vector
    /// set's next commit writes a whole graph).
    pub compact_deltas: usize,
    /// For a format-1 lake with several writer entries: whose data becomes
    /// the lake's (`--lake-upgrade-writer`).
    pub upgrade_writer: Option<String>,
    /// Local scratch directory (compaction output before upload).
    pub scratch: PathBuf,
    /// This server's address, shown in the heartbeat.
    pub advertise: String,
    /// How table files written from now on are compressed.
    pub table_codec: Codec,
}

impl StorageConfig {
    /// Settings for `url` with the defaults the server uses.
    pub fn new(url: &str, writer_id: &str, scratch: PathBuf) -> StorageConfig {
        StorageConfig {
            url: url.to_string(),
            s3: S3Options::default(),
            writer_id: writer_id.to_string(),
            single_writer: false,
            retain_versions: 20,
            gc_grace_ms: 600_000,
            role: Role::Writer,
            takeover: false,
            lease_ms: 10_000,
            wal_objects: false,
            compact_deltas: 8,
            upgrade_writer: None,
            scratch,
            advertise: String::new(),
            table_codec: Codec::default_for(url),
        }
    }
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
    #[error("commit failed: lost {0} races in a row")]
    TooManyConflicts(u32),
    /// Another server became the lake's writer: this one may not commit.
    #[error("{0}")]
    Fenced(String),
    /// The lake has a live writer (start refused).
    #[error("{0}")]
    LiveWriter(String),
    /// A replica does not commit.
    #[error("this server is a read replica of the lake; it does not commit")]
    ReadOnly,
}

/// Counters and state for INFO persistence, storage and replication.
#[derive(Debug, Default)]
pub struct StorageStats {
    /// Successful flush commits by this server.
    pub flushes: AtomicU64,
    /// Commit races lost.
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
    /// WAL position of the last commit (writer) or applied (replica).
    pub committed_seq: AtomicU64,
    /// Bytes of data and index files written by this server.
    pub bytes_written: AtomicU64,
    /// Bytes of data and index files of the last flush commit.
    pub last_commit_bytes: AtomicU64,
    /// Compaction commits.
    pub compactions: AtomicU64,
    /// This writer's epoch (writer), or the epoch followed (replica).
    pub epoch: AtomicU64,
    /// Replica: full reloads from a manifest.
    pub reloads: AtomicU64,
    /// Replica: WAL objects applied.
    pub objects_applied: AtomicU64,
    /// Replica: when the follower last reached the end of the lake, Unix ms.
    pub synced_at_ms: AtomicU64,
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
    store: Arc<Store>,
    config: StorageConfig,
    /// One commit at a time; holds the latest manifest this writer knows.
    pub(crate) state: tokio::sync::Mutex<commit::CommitState>,
    /// Counters for INFO.
    pub stats: StorageStats,
    /// Committed manifests read so far, by version.
    manifests: Mutex<std::collections::BTreeMap<u64, Arc<Manifest>>>,
    /// Set when another writer took over: why this one may not commit.
    fenced: Mutex<Option<String>>,
    /// `fenced` is set (checked on every write command).
    is_fenced: AtomicBool,
    /// The next number of the lake's WAL object chain when this writer
    /// keeps its WAL locally (the object WAL knows its own).
    chain_next: AtomicU64,
    /// A compaction runs.
    compacting: AtomicBool,
    /// The first WAL object GC has not deleted yet (0 = not known).
    wal_gc_from: AtomicU64,
}

impl Storage {
    fn new(store: Store, config: StorageConfig, base: Manifest) -> Storage {
        let stats = StorageStats::default();
        stats.version.store(base.version, Ordering::Relaxed);
        stats
            .committed_seq
            .store(base.wal.position, Ordering::Relaxed);
        stats.epoch.store(base.writer.epoch, Ordering::Relaxed);
        let storage = Storage {
            store: Arc::new(store),
            chain_next: AtomicU64::new(base.wal.object.max(1)),
            state: tokio::sync::Mutex::new(commit::CommitState { base: base.clone() }),
            config,
            stats,
            manifests: Mutex::new(Default::default()),
            fenced: Mutex::new(None),
            is_fenced: AtomicBool::new(false),
            compacting: AtomicBool::new(false),
            wal_gc_from: AtomicU64::new(0),
        };
        if base.version > 0 {
            storage.remember(Arc::new(base));
        }
        storage
    }

    /// The object store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The settings.
    pub fn config(&self) -> &StorageConfig {
        &self.config
    }

    /// Writer or replica.
    pub fn role(&self) -> Role {
        self.config.role
    }

    /// Why this writer may no longer commit, once another took over.
    pub fn fenced(&self) -> Option<String> {
        if !self.is_fenced.load(Ordering::Acquire) {
            return None;
        }
        self.fenced.lock().clone()
    }

    /// Marks this writer fenced (another writer took over): it commits
    /// nothing more and refuses writes.
    pub fn set_fenced(&self, why: String) {
        let mut f = self.fenced.lock();
        if f.is_none() {
            tracing::error!("{why}");
            *f = Some(why);
            self.is_fenced.store(true, Ordering::Release);
        }
    }

    /// Checks that this server may commit now.
    pub fn may_commit(&self) -> Result<(), StorageError> {
        if self.config.role == Role::Replica {
            return Err(StorageError::ReadOnly);
        }
        match self.fenced() {
            Some(why) => Err(StorageError::Fenced(why)),
            None => Ok(()),
        }
    }

    /// This writer's epoch.
    pub fn epoch(&self) -> u64 {
        StorageStats::get(&self.stats.epoch)
    }
}

/// Current Unix time in ms (commit timestamps and file names; the engine's
/// clock is for key expiry).
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Runs CPU work on a blocking thread.
pub(crate) async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> R + Send + 'static,
) -> Result<R, StorageError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StorageError::Format(format!("background task failed: {e}")))
}
