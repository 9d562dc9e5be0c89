//! One writer per lake: epochs, heartbeats and fencing.
//!
//! Protocol:
//!
//! 1. **Acquire.** A server starting as writer reads the newest manifest.
//!    If it names another writer whose heartbeat (`_lake/writer.json`,
//!    rewritten every second) carries the same epoch and is younger than
//!    the lease (`writer-lease-seconds`), that writer is alive and the start
//!    is refused, unless `--takeover yes`. Otherwise the server commits the
//!    next version as a copy of the newest one with `writer = {its id,
//!    epoch + 1}` and operation `acquire`, with a conditional put. Losing
//!    that race to a commit of the same epoch (the old writer's flush)
//!    means: read again and retry; losing it to a new epoch means another
//!    server acquired the lake at the same moment: the start is refused.
//! 2. **Fencing.** From then on every commit of the old writer finds its
//!    version number taken by a manifest of another epoch and fails (see
//!    `commit`); the old writer also checks once a second whether a version
//!    after the last one it knows exists, and stops accepting writes
//!    (`-READONLY ...`) when it does. With the WAL in the lake, the new
//!    writer also puts a fence object at the end of the WAL chain before
//!    serving (see `wal_chain`): every later upload of the old writer fails,
//!    so nothing it acknowledges after the takeover can be lost.
//! 3. **Resume.** A server that was the last writer (same id: same data
//!    directory) replays its local WAL after the acquired version; one that
//!    was not sets the local WAL aside (its records were never committed to
//!    the lake, which has moved on).
//!
//! Liveness relies on clocks agreeing to within the lease (the heartbeat
//! holds the writer's wall-clock time).

use std::sync::atomic::Ordering;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::commit::{Latest, fenced_text, load, load_latest_any};
use super::layout::HEARTBEAT;
use super::manifest::{Manifest, Writer};
use super::{Role, Storage, StorageConfig, StorageError, Store, unix_ms};

/// The writer's heartbeat object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Writer id.
    pub id: String,
    /// Its epoch.
    pub epoch: u64,
    /// Where it serves clients.
    pub addr: String,
    /// Process id.
    pub pid: u32,
    /// When it was written, Unix ms.
    pub at_ms: u64,
}

/// What [`Storage::open_writer`] found and did.
#[derive(Debug, Clone)]
pub struct Acquired {
    /// The version this writer committed to acquire the lake (its state
    /// is the state to restore).
    pub manifest: Manifest,
    /// The writer before this one.
    pub previous: Writer,
    /// This server was that writer (same id): its local WAL continues the
    /// lake.
    pub resumed: bool,
}

/// Attempts to acquire before giving up.
const ACQUIRE_ATTEMPTS: u32 = 16;

impl Storage {
    /// Opens the lake at `config.url` as its writer: checks the store can
    /// arbitrate commits, refuses when a live writer holds the lake (unless
    /// `takeover`), upgrades a format-1 lake, and commits a new epoch.
    pub async fn open_writer(config: StorageConfig) -> Result<(Storage, Acquired), StorageError> {
        let store = Store::open(&config.url, &config.s3)?;
        if !config.single_writer && !store.supports_conditional_put().await? {
            return Err(StorageError::NoConditionalPut);
        }
        let mut last_epoch = None;
        for attempt in 0..ACQUIRE_ATTEMPTS {
            let (base, upgraded) = match load_latest_any(&store).await? {
                Latest::Empty => (Manifest::empty(), false),
                Latest::Current(m) => (m, false),
                Latest::Legacy(legacy) => (upgrade(&legacy, &config)?, true),
            };
            if let Some(e) = last_epoch
                && base.writer.epoch != e
                && base.writer.id != config.writer_id
            {
                return Err(StorageError::LiveWriter(format!(
                    "writer {} became the writer of {} at the same time (epoch {}); start this server again to take over, with --takeover yes",
                    base.writer.id, config.url, base.writer.epoch
                )));
            }
            last_epoch = Some(base.writer.epoch);
            let resumed = base.writer.id == config.writer_id;
            if base.writer.epoch > 0 && base.writer.id != config.writer_id && !config.takeover {
                check_not_live(&store, &config, &base).await?;
            }
            let mut next = base.clone();
            next.version = base.version + 1;
            next.parent = base.version;
            next.timestamp_ms = unix_ms();
            next.operation = if upgraded { "upgrade" } else { "acquire" }.into();
            next.writer = Writer {
                id: config.writer_id.clone(),
                epoch: base.writer.epoch + 1,
            };
            if store
                .put_if_absent(&Manifest::path(next.version), Bytes::from(next.to_json()))
                .await?
            {
                tracing::info!(
                    version = next.version,
                    epoch = next.writer.epoch,
                    previous = %base.writer.id,
                    "became the lake's writer"
                );
                let acquired = Acquired {
                    previous: base.writer.clone(),
                    manifest: next.clone(),
                    resumed,
                };
                let storage = Storage::new(store, config, next);
                storage.write_heartbeat().await?;
                return Ok((storage, acquired));
            }
            tracing::debug!(attempt, "lost the race to acquire the lake; reading again");
        }
        Err(StorageError::TooManyConflicts(ACQUIRE_ATTEMPTS))
    }

    /// Opens the lake as a read replica: reads the newest version (nothing
    /// is written to the lake).
    pub async fn open_replica(config: StorageConfig) -> Result<(Storage, Manifest), StorageError> {
        debug_assert_eq!(config.role, Role::Replica);
        let store = Store::open(&config.url, &config.s3)?;
        let base = match load_latest_any(&store).await? {
            Latest::Empty => Manifest::empty(),
            Latest::Current(m) => m,
            Latest::Legacy(_) => {
                return Err(StorageError::Format(format!(
                    "the lake {} is in format 1; start a writer on it first (it upgrades the lake), then the replica",
                    config.url
                )));
            }
        };
        Ok((Storage::new(store, config, base.clone()), base))
    }

    /// Rewrites the heartbeat (the writer, once a second).
    pub async fn write_heartbeat(&self) -> Result<(), StorageError> {
        if self.fenced().is_some() {
            return Ok(());
        }
        let hb = Heartbeat {
            id: self.config.writer_id.clone(),
            epoch: self.epoch(),
            addr: self.config.advertise.clone(),
            pid: std::process::id(),
            at_ms: unix_ms(),
        };
        let json = serde_json::to_vec(&hb).expect("heartbeat serializes");
        self.store.write(HEARTBEAT, Bytes::from(json)).await?;
        Ok(())
    }

    /// Releases the lease at a clean shutdown: a heartbeat with time 0, so
    /// the next server starts as writer at once instead of waiting for the
    /// lease to run out.
    pub async fn release_heartbeat(&self) -> Result<(), StorageError> {
        if self.fenced().is_some() || self.config.role == Role::Replica {
            return Ok(());
        }
        let hb = Heartbeat {
            id: self.config.writer_id.clone(),
            epoch: self.epoch(),
            addr: String::new(),
            pid: std::process::id(),
            at_ms: 0,
        };
        let json = serde_json::to_vec(&hb).expect("heartbeat serializes");
        self.store.write(HEARTBEAT, Bytes::from(json)).await?;
        Ok(())
    }

    /// Checks whether another writer took over: a version after the
    /// newest this writer knows means exactly that (only the writer
    /// commits). Marks this writer fenced then; returns whether it is.
    pub async fn check_fenced(&self) -> Result<bool, StorageError> {
        if self.fenced().is_some() {
            return Ok(true);
        }
        let known = self.stats.version.load(Ordering::Relaxed);
        let next = Manifest::path(known + 1);
        if !self.store.exists(&next).await? {
            return Ok(false);
        }
        let m = load(&self.store, known + 1).await?;
        if m.writer.id != self.config.writer_id || m.writer.epoch != self.epoch() {
            self.set_fenced(fenced_text(&m));
            return Ok(true);
        }
        Ok(false)
    }
}

/// The heartbeat in the lake, if any.
pub async fn read_heartbeat(store: &Store) -> Result<Option<Heartbeat>, StorageError> {
    Ok(store
        .read_if_exists(HEARTBEAT)
        .await?
        .and_then(|b| serde_json::from_slice(&b).ok()))
}

/// Refuses when the writer named by `base` has a fresh heartbeat.
async fn check_not_live(
    store: &Store,
    config: &StorageConfig,
    base: &Manifest,
) -> Result<(), StorageError> {
    let Some(hb) = read_heartbeat(store).await? else {
        return Ok(());
    };
    let age = unix_ms().saturating_sub(hb.at_ms);
    if hb.epoch == base.writer.epoch && hb.id == base.writer.id && age < config.lease_ms {
        return Err(StorageError::LiveWriter(format!(
            "the lake {} has a live writer: {} (epoch {}, pid {}, serving {}, heartbeat {} ms ago). Stop it, or start this server with --takeover yes to fence it and take over, or with --replica-of-lake yes to serve reads",
            config.url,
            hb.id,
            hb.epoch,
            hb.pid,
            if hb.addr.is_empty() { "?" } else { &hb.addr },
            age
        )));
    }
    Ok(())
}

/// The format-2 state of a format-1 lake: the entry of the writer named by
/// `--lake-upgrade-writer`, else of this server, else the only one.
fn upgrade(
    legacy: &super::manifest::Legacy,
    config: &StorageConfig,
) -> Result<Manifest, StorageError> {
    let ids: Vec<&String> = legacy.writers.keys().collect();
    let chosen = match &config.upgrade_writer {
        Some(id) => id.clone(),
        None if legacy.writers.contains_key(&config.writer_id) && ids.len() == 1 => {
            config.writer_id.clone()
        }
        None if ids.len() == 1 => ids[0].clone(),
        None if ids.is_empty() => String::new(),
        None => {
            return Err(StorageError::Format(format!(
                "the lake {} is in format 1 with {} writer entries ({}); format 2 has one writer. Start with --lake-upgrade-writer <id> to make that writer's keys and vector sets the lake's (the other entries are dropped; tables are kept)",
                config.url,
                ids.len(),
                ids.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    };
    let mut m = if chosen.is_empty() {
        let mut m = Manifest::empty();
        m.version = legacy.version;
        m.tables = legacy.tables.clone();
        m
    } else {
        legacy.upgrade(&chosen).ok_or_else(|| {
            StorageError::Format(format!(
                "--lake-upgrade-writer {chosen}: the lake has no such writer entry"
            ))
        })?
    };
    // The upgraded state is this writer's when it was this data directory's.
    m.writer.id = if chosen == config.writer_id {
        chosen
    } else {
        String::new()
    };
    tracing::info!(
        version = legacy.version,
        writer = %m.writer.id,
        "upgrading the lake from format 1 to format 2"
    );
    Ok(m)
}
