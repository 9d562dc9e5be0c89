//! Compaction of string keys: the kv base and the deltas after it merged
//! into one new base, committed as a version of its own (operation
//! `compact`), in the background.
//!
//! Protocol:
//!
//! 1. Under the commit lock, note the kv files of the latest version: the
//!    base and the deltas to merge (all of them). Release the lock.
//! 2. Read the deltas into a map (a later row replaces an earlier one of the
//!    same key; tombstones included), then stream the base: each key is
//!    written from the map when it has a newer row there (or dropped for a
//!    tombstone), else as is; then the map's remaining keys. Keys whose TTL
//!    has passed are dropped. The new base goes to a local scratch file and
//!    is uploaded, so memory holds the deltas, never the base.
//! 3. Commit: in the newest version, the files merged must still be the
//!    first kv files (flushes meanwhile only appended deltas, which stay
//!    after the new base); they are replaced by the new base. Readers see
//!    the old files or the new one, never a mix. Flushes and reads go on
//!    during 1-2; only the commit takes the lock.
//!
//! Vector sets need no separate pass: a set's next commit writes a whole
//! new graph once it has `compact-deltas` deltas (see `flush`).

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::layout::kv_file;
use super::manifest::{FileKind, FileRef, KvFile};
use super::parquet_io::{KvRow, KvWriter, for_each_kv};
use super::{Storage, StorageError, blocking, unix_ms};

impl Storage {
    /// Whether the kv files have reached the compaction threshold.
    pub async fn kv_needs_compaction(&self) -> bool {
        let state = self.state.lock().await;
        state.base.kv.len() > self.config.compact_deltas
    }

    /// Merges the kv base and its deltas into a new base and commits it.
    /// Returns the version, or `None` when there was nothing to merge or a
    /// compaction was already running.
    pub async fn compact_kv(&self) -> Result<Option<u64>, StorageError> {
        self.may_commit()?;
        if self.compacting.swap(true, Ordering::AcqRel) {
            return Ok(None);
        }
        let result = self.compact_kv_inner().await;
        self.compacting.store(false, Ordering::Release);
        result
    }

    async fn compact_kv_inner(&self) -> Result<Option<u64>, StorageError> {
        let plan: Vec<KvFile> = self.state.lock().await.base.kv.clone();
        if plan.len() < 2 {
            return Ok(None);
        }
        let start = std::time::Instant::now();
        let mut deltas: HashMap<(u32, Bytes), KvRow> = HashMap::new();
        let (base, rest) = match plan[0].kind {
            FileKind::Base => (Some(&plan[0]), &plan[1..]),
            FileKind::Delta => (None, &plan[..]),
        };
        for f in rest {
            let data = self.store.read(&f.file.path).await?;
            let path = f.file.path.clone();
            let rows = blocking(move || {
                let mut rows = Vec::new();
                for_each_kv(data, |r| rows.push(r)).map(|_| rows)
            })
            .await?
            .map_err(|e| StorageError::Format(format!("{path}: {e}")))?;
            for r in rows {
                deltas.insert((r.db, r.key.clone()), r);
            }
        }
        std::fs::create_dir_all(&self.config.scratch)
            .map_err(|e| StorageError::Format(format!("scratch directory: {e}")))?;
        let tag = fastrand::u64(..);
        let merged = self
            .config
            .scratch
            .join(format!("compact-{tag:016x}.parquet"));
        let base_local = self
            .config
            .scratch
            .join(format!("compact-{tag:016x}-base.parquet"));
        if let Some(b) = base {
            self.store.download(&b.file.path, &base_local).await?;
        }
        let (out, base_path) = (merged.clone(), base_local.clone());
        let has_base = base.is_some();
        let now = unix_ms();
        let rows = blocking(move || -> Result<u64, String> {
            let live = |r: &KvRow| r.value.is_some() && r.expire_at.is_none_or(|t| t > now);
            let file = std::fs::File::create(&out).map_err(|e| e.to_string())?;
            let mut w = KvWriter::new(file)?;
            if has_base {
                let base = std::fs::File::open(&base_path).map_err(|e| e.to_string())?;
                let mut failed = None;
                for_each_kv(base, |r| {
                    let row = deltas.remove(&(r.db, r.key.clone())).unwrap_or(r);
                    if live(&row)
                        && let Err(e) = w.push(row)
                    {
                        failed.get_or_insert(e);
                    }
                })?;
                if let Some(e) = failed {
                    return Err(e);
                }
            }
            for (_, row) in deltas {
                if live(&row) {
                    w.push(row)?;
                }
            }
            w.finish()
        })
        .await?;
        let _ = std::fs::remove_file(&base_local);
        let rows = match rows {
            Ok(n) => n,
            Err(e) => {
                let _ = std::fs::remove_file(&merged);
                return Err(StorageError::Format(format!("compaction: {e}")));
            }
        };
        let path = kv_file(unix_ms());
        let uploaded = self.store.upload(&path, &merged).await;
        let _ = std::fs::remove_file(&merged);
        let size = uploaded?;
        let new_base = KvFile {
            file: FileRef {
                path: path.clone(),
                size,
                rows,
            },
            kind: FileKind::Base,
            from: 0,
            to: plan.last().map_or(0, |f| f.to),
        };
        let mut state = self.state.lock().await;
        let result = self
            .commit_with(&mut state, "compact", |next| {
                if !next.kv.starts_with(&plan) {
                    return Err(StorageError::Format(
                        "the kv files changed during compaction".into(),
                    ));
                }
                next.kv.splice(..plan.len(), [new_base.clone()]);
                Ok(())
            })
            .await;
        drop(state);
        match result {
            Ok(v) => {
                self.stats.compactions.fetch_add(1, Ordering::Relaxed);
                self.stats.bytes_written.fetch_add(size, Ordering::Relaxed);
                tracing::info!(
                    version = v,
                    files = plan.len(),
                    rows,
                    bytes = size,
                    ms = start.elapsed().as_millis() as u64,
                    "compacted string keys"
                );
                Ok(Some(v))
            }
            Err(e) => {
                let _ = self.store.delete(&path).await;
                Err(e)
            }
        }
    }
}
