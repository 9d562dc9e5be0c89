//! Flush: commit what changed since the last commit.
//!
//! 1. Take the keyspace's changes ([`Engine::take_changes`]) with every
//!    shard locked: the changed string keys and removed keys exactly as
//!    after WAL record `P`, and every live vector set.
//! 2. String keys: one *delta* Parquet file (changed keys, and removed
//!    keys as tombstones), or, after a FLUSHDB/FLUSHALL, a new *base* with
//!    every key. Nothing when no key changed.
//! 3. Vector sets: for each set, under its lock, take the graph slots that
//!    changed and the set's own position (`applied_seq`, possibly after
//!    `P`; WAL records of the set up to it are skipped at replay). Unchanged
//!    sets keep their files. A changed set gets an *index delta* (the
//!    changed slots) and a data delta (changed and removed elements); when
//!    it already has `compact-deltas` deltas, when its deltas would pass
//!    half the size of its base, or when the set is new, it gets a new base
//!    instead (the whole graph): the graph file is rewritten only past that
//!    threshold, so a commit's cost follows the size of the change.
//! 4. Commit the next manifest (base files replaced or deltas appended;
//!    `wal = {position P, object}`), then delete the local WAL segments it
//!    covers and collect garbage.
//!
//! If anything fails, the changes taken are handed back (to the keyspace
//! and to each set), so the next flush writes them again; the WAL still
//! holds every write.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::RwLockWriteGuard;

use super::commit::CommitState;
use super::layout::{kv_file, vset_files};
use super::manifest::{FileKind, FileRef, KvFile, VsetEntry, VsetFiles, hex, unhex};
use super::parquet_io::{KvRow, write_kv, write_vset};
use super::{Storage, StorageError, blocking, unix_ms};
use crate::Engine;
use crate::changes::Changes;
use crate::keyspace::SharedSet;
use crate::vector::index_delta::changed_elements;
use crate::vector::set::SetChanges;

/// Changes taken from sets by a flush, handed back if it fails.
type Taken = Vec<(SharedSet, SetChanges)>;

impl Storage {
    /// Commits what changed since the last commit (`force`: a new version
    /// even when nothing changed). Returns the committed version, or
    /// `None` when there was nothing to do.
    pub async fn flush(
        &self,
        engine: &Engine,
        operation: &str,
        force: bool,
    ) -> Result<Option<u64>, StorageError> {
        self.may_commit()?;
        let mut state = self.state.lock().await;
        self.stats.in_progress.store(true, Ordering::Relaxed);
        let start = Instant::now();
        let result = self
            .flush_locked(&mut state, engine, operation, force)
            .await;
        self.stats.in_progress.store(false, Ordering::Relaxed);
        match &result {
            Ok(Some(v)) => {
                self.stats.flushes.fetch_add(1, Ordering::Relaxed);
                self.stats
                    .last_commit_ms
                    .store(unix_ms(), Ordering::Relaxed);
                let ms = start.elapsed().as_millis() as u64;
                self.stats.last_flush_ms.store(ms, Ordering::Relaxed);
                self.stats.flush_ms_total.fetch_add(ms, Ordering::Relaxed);
                *self.stats.last_error.lock() = None;
                tracing::info!(
                    version = v,
                    operation,
                    ms,
                    bytes = self.stats.last_commit_bytes.load(Ordering::Relaxed),
                    "committed"
                );
            }
            Ok(None) => {}
            Err(e) => {
                self.stats.failures.fetch_add(1, Ordering::Relaxed);
                *self.stats.last_error.lock() = Some(e.to_string());
            }
        }
        result
    }

    async fn flush_locked(
        &self,
        state: &mut CommitState,
        engine: &Engine,
        operation: &str,
        force: bool,
    ) -> Result<Option<u64>, StorageError> {
        let committed = state.base.wal.position;
        if !force && engine.wal().is_some_and(|w| w.written_seq() == committed) {
            return Ok(None);
        }
        // Read before the changes: every record after them goes into this
        // object or a later one (see `wal_chain`).
        let wal_object = engine
            .wal()
            .and_then(|w| w.next_object())
            .unwrap_or_else(|| self.chain_next.load(Ordering::Relaxed));
        let known: Vec<(u32, Bytes)> = state
            .base
            .vsets
            .iter()
            .filter_map(|v| Some((v.db, Bytes::from(unhex(&v.key_hex)?))))
            .collect();
        // Waits while a transaction or script runs: off the async worker.
        let changes = match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| engine.take_changes(&known))
            }
            _ => engine.take_changes(&known),
        };
        if !force
            && changes.seq == committed
            && changes.is_empty()
            && !changes
                .sets
                .iter()
                .any(|(_, _, s, _)| s.read().has_changes())
        {
            return Ok(None);
        }
        let mut taken = Taken::new();
        let result = self
            .write_and_commit(state, &changes, wal_object, operation, &mut taken)
            .await;
        match result {
            Ok(v) => {
                if let Some(wal) = engine.wal()
                    && let Err(e) = wal.truncate_below(changes.seq + 1)
                {
                    tracing::warn!(error = %e, "could not delete covered WAL segments");
                }
                if let Err(e) = self.gc(state).await {
                    tracing::warn!(error = %e, "garbage collection failed; will retry after the next commit");
                }
                Ok(Some(v))
            }
            Err(e) => {
                engine.give_back(&changes);
                for (set, changes) in taken {
                    set.write().give_back_changes(&changes);
                }
                Err(e)
            }
        }
    }

    async fn write_and_commit(
        &self,
        state: &mut CommitState,
        changes: &Changes,
        wal_object: u64,
        operation: &str,
        taken: &mut Taken,
    ) -> Result<u64, StorageError> {
        let now = unix_ms();
        let committed = state.base.wal.position;
        let mut bytes = 0u64;
        // Changes on top of nothing are a base (tombstones dropped).
        let as_base = changes.full || state.base.kv.is_empty();
        let kv = if changes.full || !changes.upserts.is_empty() || !changes.removed.is_empty() {
            let tombstones = if as_base {
                &[][..]
            } else {
                &changes.removed[..]
            };
            let rows: Vec<KvRow> = changes
                .upserts
                .iter()
                .map(|(db, key, value, exp)| KvRow {
                    db: *db,
                    key: key.clone(),
                    value: Some(value.clone()),
                    expire_at: *exp,
                })
                .chain(tombstones.iter().map(|(db, key)| KvRow {
                    db: *db,
                    key: key.clone(),
                    value: None,
                    expire_at: None,
                }))
                .collect();
            let (file, rows) = blocking(move || write_kv(rows))
                .await?
                .map_err(StorageError::Format)?;
            let path = kv_file(now);
            let size = file.len() as u64;
            self.store.write(&path, Bytes::from(file)).await?;
            bytes += size;
            Some(KvFile {
                file: FileRef { path, size, rows },
                kind: if as_base {
                    FileKind::Base
                } else {
                    FileKind::Delta
                },
                from: if as_base { 0 } else { committed },
                to: changes.seq,
            })
        } else {
            None
        };
        let previous: HashMap<u64, &VsetEntry> =
            state.base.vsets.iter().map(|v| (v.uid, v)).collect();
        let mut vsets = Vec::with_capacity(changes.sets.len());
        for (db, key, set, expire_at) in &changes.sets {
            let uid = set.read().uid();
            let prev = previous.get(&uid).copied().cloned();
            let (entry, written) = self
                .write_set(*db, key, set.clone(), *expire_at, prev, now, taken)
                .await?;
            bytes += written;
            vsets.push(entry);
        }
        let seq = changes.seq;
        let version = self
            .commit_with(state, operation, |next| {
                next.wal.position = seq;
                next.wal.object = wal_object;
                match &kv {
                    Some(f) if f.kind == FileKind::Base => next.kv = vec![f.clone()],
                    Some(f) => next.kv.push(f.clone()),
                    None => {}
                }
                next.vsets = vsets.clone();
                next.functions = changes
                    .functions
                    .iter()
                    .map(crate::functions::LibraryEntry::of)
                    .collect();
                Ok(())
            })
            .await?;
        self.stats.committed_seq.store(seq, Ordering::Relaxed);
        self.stats.bytes_written.fetch_add(bytes, Ordering::Relaxed);
        self.stats.last_commit_bytes.store(bytes, Ordering::Relaxed);
        Ok(version)
    }

    /// Writes one set's files for this commit: none when it did not
    /// change, an index delta and a data delta, or a new base. Returns its
    /// manifest entry and the bytes written; the changes taken from the
    /// set are added to `taken`.
    #[allow(clippy::too_many_arguments)]
    async fn write_set(
        &self,
        db: u32,
        key: &Bytes,
        set: SharedSet,
        expire_at: Option<u64>,
        prev: Option<VsetEntry>,
        now: u64,
        taken: &mut Taken,
    ) -> Result<(VsetEntry, u64), StorageError> {
        let compact_deltas = self.config.compact_deltas;
        // (deltas so far, their bytes, the base's bytes)
        let prev_summary = prev.as_ref().map(|p| {
            let delta_bytes = p.deltas.iter().map(|d| d.data.size + d.index.size).sum();
            (
                p.deltas.len(),
                delta_bytes,
                p.base.data.size + p.base.index.size,
            )
        });
        let s = set.clone();
        let encoded = blocking(move || encode_set(&s, prev_summary, compact_deltas)).await?;
        let Some(Encoded {
            delta,
            info,
            applied,
            index,
            data,
            changes,
        }) = encoded
        else {
            let mut e = prev.expect("only sets with files are unchanged");
            e.db = db;
            e.key_hex = hex(key);
            e.key = String::from_utf8_lossy(key).into_owned();
            e.expire_at = expire_at;
            return Ok((e, 0));
        };
        taken.push((set, changes));
        let (data, rows) = data.map_err(StorageError::Format)?;
        let (data_path, index_path) = vset_files(db, key, now, delta);
        let files = VsetFiles {
            data: FileRef {
                path: data_path,
                size: data.len() as u64,
                rows,
            },
            index: FileRef {
                path: index_path,
                size: index.len() as u64,
                rows: info.size as u64,
            },
            from: match &prev {
                Some(p) if delta => p.applied_seq,
                _ => 0,
            },
            to: applied,
        };
        let bytes = files.data.size + files.index.size;
        self.store
            .write(&files.data.path, Bytes::from(data))
            .await?;
        self.store
            .write(&files.index.path, Bytes::from(index))
            .await?;
        let (base, deltas) = match prev {
            Some(p) if delta => {
                let mut deltas = p.deltas;
                deltas.push(files);
                (p.base, deltas)
            }
            _ => (files, Vec::new()),
        };
        let entry = VsetEntry {
            db,
            key_hex: hex(key),
            key: String::from_utf8_lossy(key).into_owned(),
            expire_at,
            uid: info.uid,
            applied_seq: applied,
            dim: info.dim as u32,
            reduce_from: (info.projection_input_dim > 0)
                .then_some(info.projection_input_dim as u32),
            quant: info.quant.to_string(),
            metric: info.metric.to_string(),
            m: info.m as u32,
            elements: info.size as u64,
            base,
            deltas,
        };
        Ok((entry, bytes))
    }
}

/// Takes a set's changes under its write lock and copies what its files
/// hold under the read lock (nothing changes it meanwhile), then encodes
/// the element data with no lock held: a delta when the set has
/// committed files, fewer than `compact_deltas` deltas, was not emptied,
/// and its deltas stay under half its base; else a whole new base. `None`
/// when nothing changed since its last commit.
fn encode_set(
    set: &SharedSet,
    prev: Option<(usize, u64, u64)>,
    compact_deltas: usize,
) -> Option<Encoded> {
    let mut g = set.write();
    if prev.is_some() && !g.has_changes() {
        return None;
    }
    let changes = g.take_changes();
    let g = RwLockWriteGuard::downgrade(g);
    let info = g.info();
    let applied = g.applied_seq;
    if let Some((deltas, delta_bytes, base_bytes)) = prev
        && deltas < compact_deltas
        && !changes.slots.is_reset()
    {
        let index = g.to_index_delta(&changes);
        if delta_bytes + index.len() as u64 <= base_bytes / 2 {
            let rows = g.rows_of(changed_elements(&g, &changes).iter());
            // Encoded with the lock released: a VADD waiting for the write
            // lock would hold every VSIM behind it meanwhile.
            drop(g);
            let data = write_vset(info.dim, rows, Some(&changes.removed));
            return Some(Encoded {
                delta: true,
                info,
                applied,
                index,
                data,
                changes,
            });
        }
    }
    let index = g.to_index_file();
    let rows = g.rows();
    drop(g);
    let data = write_vset(info.dim, rows, None);
    Some(Encoded {
        delta: false,
        info,
        applied,
        index,
        data,
        changes,
    })
}

/// A set's files as encoded under its lock.
struct Encoded {
    delta: bool,
    info: crate::vector::set::SetInfo,
    applied: u64,
    index: Vec<u8>,
    data: Result<(Vec<u8>, u64), String>,
    changes: SetChanges,
}
