//! Flush: capture the keyspace, write Parquet and index files for what
//! changed since this writer's last commit, commit a manifest, delete the WAL
//! segments it covers, then collect garbage.
//!
//! Consistency: [`Engine::capture`] holds every shard lock while it copies
//! the keys and reads the WAL position P, so the keys are exactly the state
//! after record P. A vector set is then serialized under its read lock and
//! records its own position (`applied_seq`, which may be past P); on
//! restore, WAL records of that set up to its position are skipped.

use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;

use super::commit::CommitState;
use super::manifest::{FileRef, VsetEntry, WriterState, hex};
use super::parquet_io::{KvRow, write_kv, write_vset};
use super::{Storage, StorageError, new_file_name, unix_ms};
use crate::Engine;
use crate::keyspace::{SharedSet, Value};

/// Path-safe form of a key: bytes outside `[A-Za-z0-9._-]` as `%XX`.
pub fn key_dir(db: u32, key: &[u8]) -> String {
    let mut s = String::new();
    for &b in key {
        if b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-' {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    if s.is_empty() || s.starts_with('.') {
        s.insert(0, '%');
    }
    if db == 0 { s } else { format!("{s}@db{db}") }
}

async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> R + Send + 'static,
) -> Result<R, StorageError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StorageError::Format(format!("background task failed: {e}")))
}

impl Storage {
    /// Writes and commits the engine's state (`force`: even when nothing
    /// changed since the last commit). Returns the committed version, or
    /// `None` when there was nothing to do.
    pub async fn flush(
        &self,
        engine: &Engine,
        operation: &str,
        force: bool,
    ) -> Result<Option<u64>, StorageError> {
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
                    ms = start.elapsed().as_millis() as u64,
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
        let unchanged = |seq: u64| !force && seq == state.mine.wal_position;
        if engine.wal().is_some_and(|w| unchanged(w.written_seq())) {
            return Ok(None);
        }
        let cap = engine.capture();
        if unchanged(cap.seq) {
            return Ok(None);
        }
        let now = unix_ms();
        let mut rows = Vec::new();
        let mut sets: Vec<(u32, Bytes, SharedSet, Option<u64>)> = Vec::new();
        for (db, key, value, expire_at) in cap.entries {
            match value {
                Value::Str(v) => rows.push(KvRow {
                    db,
                    key,
                    value: v,
                    expire_at,
                }),
                Value::VectorSet(s) => sets.push((db, key, s, expire_at)),
            }
        }
        let mut kv = Vec::new();
        if !rows.is_empty() {
            let n = rows.len() as u64;
            let file = blocking(move || write_kv(&rows))
                .await?
                .map_err(StorageError::Format)?;
            let path = format!("kv/{}.parquet", new_file_name(now));
            let size = file.len() as u64;
            self.store.write(&path, Bytes::from(file)).await?;
            kv.push(FileRef {
                path,
                size,
                rows: n,
            });
        }
        let mut vsets = Vec::new();
        for (db, key, set, expire_at) in sets {
            let entry = self.write_set(state, db, &key, set, expire_at, now).await?;
            vsets.push(entry);
        }
        let mine = WriterState {
            wal_position: cap.seq,
            kv,
            vsets,
        };
        let version = self.commit(state, mine, operation).await?;
        self.stats.committed_seq.store(cap.seq, Ordering::Relaxed);
        if let Some(wal) = engine.wal()
            && let Err(e) = wal.truncate_below(cap.seq + 1)
        {
            tracing::warn!(error = %e, "could not delete covered WAL segments");
        }
        if let Err(e) = self.gc(state).await {
            tracing::warn!(error = %e, "garbage collection failed; will retry after the next commit");
        }
        Ok(Some(version))
    }

    /// The manifest entry of one vector set: the files of the last commit
    /// when the set has not changed since, else new files.
    async fn write_set(
        &self,
        state: &CommitState,
        db: u32,
        key: &Bytes,
        set: SharedSet,
        expire_at: Option<u64>,
        now: u64,
    ) -> Result<VsetEntry, StorageError> {
        let (uid, applied_seq) = {
            let g = set.read();
            (g.uid(), g.applied_seq)
        };
        let key_text = String::from_utf8_lossy(key).into_owned();
        if let Some(prev) = state
            .mine
            .vsets
            .iter()
            .find(|v| v.uid == uid && v.applied_seq == applied_seq && applied_seq > 0)
        {
            let mut e = prev.clone();
            e.db = db;
            e.key_hex = hex(key);
            e.key = key_text;
            e.expire_at = expire_at;
            return Ok(e);
        }
        let encoded = blocking(move || {
            let g = set.read();
            let info = g.info();
            let index = g.to_index_file();
            let mut rows = Vec::with_capacity(g.len());
            g.for_each_element(|name, v, attrs| rows.push((name.clone(), v, attrs.cloned())));
            let applied_seq = g.applied_seq;
            drop(g);
            let data = write_vset(info.dim, rows.into_iter());
            (info, applied_seq, index, data)
        })
        .await?;
        let (info, applied_seq, index, data) = encoded;
        let (data, elements) = data.map_err(StorageError::Format)?;
        let dir = format!("vsets/{}", key_dir(db, key));
        let name = new_file_name(now);
        let data_ref = FileRef {
            path: format!("{dir}/data/{name}.parquet"),
            size: data.len() as u64,
            rows: elements,
        };
        let index_ref = FileRef {
            path: format!("{dir}/index/{name}.hnsw"),
            size: index.len() as u64,
            rows: info.size as u64,
        };
        self.store.write(&data_ref.path, Bytes::from(data)).await?;
        self.store
            .write(&index_ref.path, Bytes::from(index))
            .await?;
        Ok(VsetEntry {
            db,
            key_hex: hex(key),
            key: key_text,
            expire_at,
            uid,
            applied_seq,
            dim: info.dim as u32,
            reduce_from: (info.projection_input_dim > 0)
                .then_some(info.projection_input_dim as u32),
            quant: info.quant.to_string(),
            metric: info.metric.to_string(),
            m: info.m as u32,
            elements: info.size as u64,
            data: data_ref,
            index: index_ref,
        })
    }
}
