//! Starting on the lake, and the lake's background tasks.
//!
//! Writer start (`Storage::open_writer` acquires a new epoch first, so an
//! old writer can commit nothing after this point):
//!
//! ```text
//! lock <dir> ─► acquire the lake (epoch + 1; refused if a live writer holds it)
//!   ─► restore the acquired version (bases + deltas)
//!   ─► replay the lake's WAL objects after it ─► fence the object chain
//!   ─► replay <dir>/wal if this server was the last writer (else set it aside)
//!   ─► open the WAL (local segments, or objects with --wal-storage object)
//!   ─► commit what was replayed ─► serve
//! ```
//!
//! Replica start: lock `<dir>`, restore the newest version, replay the WAL
//! objects after it, serve reads; a follower thread keeps applying the
//! lake's new WAL objects and versions (see `storage::follower`).
//!
//! Tasks: the writer's heartbeat (every second: rewrite `_lake/writer.json`
//! and check for a newer epoch, which fences this writer); the replica's
//! follower.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vexlake_engine::journal::Replayer;
use vexlake_engine::storage::follower::Follower;
use vexlake_engine::storage::{Role, S3Options, Storage, StorageConfig};
use vexlake_engine::wal::{FsyncPolicy, ObjectTarget, Wal, WalConfig};

use crate::config::AppendFsync;
use crate::server::ServerState;

/// A new WAL segment starts at this size.
const WAL_SEGMENT_BYTES: u64 = 64 * 1024 * 1024;
/// How often a replica looks for new WAL objects.
const FOLLOW_EVERY: Duration = Duration::from_millis(100);

/// Storage settings from the server's configuration.
fn storage_config(state: &ServerState, advertise: &str) -> Result<StorageConfig, String> {
    let c = state.config();
    let url = c
        .storage
        .clone()
        .unwrap_or_else(|| format!("file://{}", c.dir.join("store").display()));
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut sc = StorageConfig::new(&url, &writer_id(&c.dir)?, c.dir.join("tmp"));
    sc.s3 = S3Options {
        endpoint: c.s3_endpoint.clone(),
        region: c.s3_region.clone(),
        access_key_id: env("AWS_ACCESS_KEY_ID"),
        secret_access_key: env("AWS_SECRET_ACCESS_KEY"),
    };
    sc.single_writer = c.single_writer;
    sc.retain_versions = c.retain_versions;
    sc.gc_grace_ms = c.gc_grace_seconds.saturating_mul(1000);
    sc.role = if c.replica_of_lake {
        Role::Replica
    } else {
        Role::Writer
    };
    sc.takeover = c.takeover;
    sc.lease_ms = c.writer_lease_seconds.saturating_mul(1000);
    sc.wal_objects = c.wal_objects;
    sc.compact_deltas = c.compact_deltas;
    sc.upgrade_writer = c.lake_upgrade_writer.clone();
    sc.advertise = advertise.to_string();
    if let Some(codec) = c.table_compression {
        sc.table_codec = codec;
    }
    Ok(sc)
}

pub(crate) fn fsync_policy(a: AppendFsync) -> FsyncPolicy {
    match a {
        AppendFsync::Always => FsyncPolicy::Always,
        AppendFsync::Everysec => FsyncPolicy::Everysec,
        AppendFsync::No => FsyncPolicy::No,
    }
}

/// Opens the lake as writer or replica (see the module doc), loads its
/// state and starts logging; `advertise` is where clients reach this server.
pub async fn open(state: &Arc<ServerState>, advertise: &str) -> Result<(), String> {
    lock_dir(state)?;
    let sc = storage_config(state, advertise)?;
    let url = sc.url.clone();
    match sc.role {
        Role::Writer => open_writer(state, sc).await,
        Role::Replica => open_replica(state, sc).await,
    }
    .map_err(|e| format!("cannot open the lake {url}: {e}"))
}

async fn open_writer(state: &Arc<ServerState>, sc: StorageConfig) -> Result<(), String> {
    let start = Instant::now();
    let url = sc.url.clone();
    let (storage, acquired) = Storage::open_writer(sc).await.map_err(|e| e.to_string())?;
    let storage = Arc::new(storage);
    let m = &acquired.manifest;
    let engine = state.engine.clone();
    let mut replayer = Replayer::new(engine.clone());
    let restored = storage
        .restore(&engine, m, &mut replayer)
        .await
        .map_err(|e| format!("cannot load version {}: {e}", m.version))?;
    let loaded_ms = start.elapsed().as_millis() as u64;
    let mut apply = |seq: u64, rec: &[u8]| replayer.apply(seq, rec);
    let end = storage
        .replay_chain(m.wal.object, m.wal.position, true, &mut apply)
        .await
        .map_err(|e| e.to_string())?;
    let end = storage
        .fence_chain(end, &mut apply)
        .await
        .map_err(|e| e.to_string())?;
    let dir = state.config().dir.join("wal");
    if !acquired.resumed {
        set_aside(&dir, &acquired.previous.id)?;
    }
    let fsync = fsync_policy(state.config().appendfsync);
    // The object WAL replays local segments left by a run with a local WAL.
    let local = if !state.config().wal_objects || has_segments(&dir) {
        Some(
            Wal::open(
                WalConfig {
                    dir: dir.clone(),
                    fsync,
                    segment_bytes: WAL_SEGMENT_BYTES,
                    start_after: end.last_seq,
                },
                |seq, rec| replayer.apply(seq, rec),
            )
            .map_err(|e| format!("cannot recover the WAL in {}: {e}", dir.display()))?,
        )
    } else {
        None
    };
    let replayed_to = local.as_ref().map_or(end.last_seq, |w| w.next_seq() - 1);
    let wal = match local {
        Some(local) if !state.config().wal_objects => local,
        _ => Wal::open_objects(
            ObjectTarget {
                sink: storage.wal_sink(),
                epoch: storage.epoch(),
                next_object: end.next_object,
            },
            fsync,
            replayed_to,
        )
        .map_err(|e| format!("cannot start the WAL: {e}"))?,
    };
    replayer.drop_empty_sets();
    let (applied, relinked, reinserted) =
        (replayer.applied, replayer.relinked, replayer.reinserted);
    drop(replayer);
    engine.attach_wal(wal.clone());
    let tx = state.durable.clone();
    tx.send_replace((wal.durable_seq(), false));
    wal.set_listener(Box::new(move |seq, failed| {
        tx.send_replace((seq, failed));
    }));
    let _ = state.storage.set(storage.clone());
    // What was replayed goes into the lake now: the next start needs no
    // replay, and the local WAL a switch to the object WAL left behind
    // can go.
    if replayed_to > m.wal.position {
        match storage.flush(&engine, "recover", false).await {
            Ok(_) if state.config().wal_objects => {
                let _ = std::fs::remove_dir_all(&dir);
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "commit after recovery failed; the WAL keeps the data")
            }
        }
    }
    tracing::info!(
        version = m.version,
        epoch = storage.epoch(),
        keys = restored.keys,
        vsets = restored.vsets,
        elements = restored.elements,
        load_ms = loaded_ms,
        wal_objects = end.objects,
        wal_records = applied,
        vadd_relinked = relinked,
        vadd_reinserted = reinserted,
        total_ms = start.elapsed().as_millis() as u64,
        "writer of {url}: loaded and replayed the WAL"
    );
    tokio::spawn(heartbeat(state.clone(), storage));
    Ok(())
}

async fn open_replica(state: &Arc<ServerState>, sc: StorageConfig) -> Result<(), String> {
    let start = Instant::now();
    let url = sc.url.clone();
    let (storage, m) = Storage::open_replica(sc).await.map_err(|e| e.to_string())?;
    let storage = Arc::new(storage);
    let engine = state.engine.clone();
    let mut replayer = Replayer::new(engine.clone());
    let restored = storage
        .restore(&engine, &m, &mut replayer)
        .await
        .map_err(|e| format!("cannot load version {}: {e}", m.version))?;
    let end = storage
        .replay_chain(m.wal.object, m.wal.position, false, &mut |seq, rec| {
            replayer.apply(seq, rec)
        })
        .await
        .map_err(|e| e.to_string())?;
    let _ = state.storage.set(storage.clone());
    tracing::info!(
        version = m.version,
        keys = restored.keys,
        vsets = restored.vsets,
        wal_objects = end.objects,
        total_ms = start.elapsed().as_millis() as u64,
        "read replica of {url}: loaded"
    );
    let follower = Follower::new(storage, engine, replayer, &m, end);
    let state = state.clone();
    let handle = tokio::runtime::Handle::current();
    std::thread::Builder::new()
        .name("lake-follower".into())
        .spawn(move || follow(state, follower, handle))
        .map_err(|e| format!("cannot start the follower: {e}"))?;
    Ok(())
}

/// The replica's follower loop, on its own thread (loading a version and
/// replaying vector inserts is CPU work that must not stall connections).
fn follow(state: Arc<ServerState>, mut follower: Follower, handle: tokio::runtime::Handle) {
    let shutdown = state.shutdown_signal();
    let mut failing = false;
    while !*shutdown.borrow() {
        let result = handle.block_on(async {
            if failing {
                follower.recover().await.map(|_| true)
            } else {
                follower.step().await
            }
        });
        match result {
            Ok(changed) => {
                if failing {
                    tracing::warn!("the replica follows the lake again");
                }
                failing = false;
                if !changed {
                    std::thread::sleep(FOLLOW_EVERY);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "following the lake failed; reloading the newest version in 1 s");
                failing = true;
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
}

/// The writer's heartbeat: every second, rewrite the heartbeat object and
/// check whether a newer writer took over (then this one is fenced).
async fn heartbeat(state: Arc<ServerState>, storage: Arc<Storage>) {
    let mut shutdown = state.shutdown_signal();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait_for(|v| *v) => return,
        }
        if let Some(wal) = state.engine.wal()
            && wal.is_fenced()
        {
            storage.set_fenced(wal.failure().unwrap_or_default());
        }
        match storage.check_fenced().await {
            Ok(true) => return,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "could not check the lake for a newer writer"),
        }
        if let Err(e) = storage.write_heartbeat().await {
            tracing::warn!(error = %e, "could not write the heartbeat");
        }
    }
}

/// Holds an exclusive lock on `<dir>/lock` for the life of the process:
/// two servers on one data directory would share one WAL.
fn lock_dir(state: &ServerState) -> Result<(), String> {
    let path = state.config().dir.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {
            let _ = state.dir_lock.set(file);
            Ok(())
        }
        Err(std::fs::TryLockError::WouldBlock) => Err(format!(
            "another vexlake process uses the data directory {}",
            state.config().dir.display()
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", path.display())),
    }
}

/// Moves a local WAL that does not continue the lake out of the way
/// (another writer committed since this directory's writer last did: its
/// uncommitted records were superseded). Kept, not deleted, for forensics.
fn set_aside(dir: &Path, previous: &str) -> Result<(), String> {
    if !has_segments(dir) {
        return Ok(());
    }
    let target = dir.with_file_name(format!(
        "wal-superseded-{}",
        vexlake_engine::storage::unix_ms()
    ));
    std::fs::rename(dir, &target)
        .map_err(|e| format!("cannot move {} aside: {e}", dir.display()))?;
    tracing::warn!(
        previous_writer = %previous,
        moved_to = %target.display(),
        "the local WAL does not continue the lake (another writer committed since this directory's last commit); moved aside"
    );
    Ok(())
}

/// Whether `dir` holds WAL segment files.
fn has_segments(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(".wal"))
        })
        .unwrap_or(false)
}

/// Reads the writer id of this data directory (`<dir>/writer-id`),
/// creating it on first start; it names this server in the lake.
fn writer_id(dir: &Path) -> Result<String, String> {
    let path = dir.join("writer-id");
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        _ => {
            let id = format!("w-{:016x}", fastrand::u64(..));
            std::fs::write(&path, format!("{id}\n"))
                .and_then(|_| std::fs::File::open(&path)?.sync_all())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok(id)
        }
    }
}
