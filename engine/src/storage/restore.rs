//! Restore: load this writer's files from a manifest into an empty engine
//! (keys from Parquet, vector sets from their index files: the graph is
//! loaded, not rebuilt), then the WAL tail is replayed on top.

use std::sync::Arc;

use parking_lot::RwLock;

use super::manifest::{Manifest, unhex};
use super::parquet_io::read_kv;
use super::{Storage, StorageError};
use crate::Engine;
use crate::journal::Replayer;
use crate::keyspace::Value;
use crate::vector::VectorSet;

/// What a restore loaded.
#[derive(Debug, Clone, Copy, Default)]
pub struct Restored {
    /// WAL position the files cover (replay starts after it).
    pub wal_position: u64,
    /// String keys loaded.
    pub keys: u64,
    /// Vector sets loaded.
    pub vsets: u64,
    /// Elements in them.
    pub elements: u64,
}

impl Storage {
    /// Loads this writer's state of `manifest` into `engine`, registering
    /// vector sets with `replayer`.
    pub async fn restore(
        &self,
        engine: &Engine,
        manifest: &Manifest,
        replayer: &mut Replayer<'_>,
    ) -> Result<Restored, StorageError> {
        let mut out = Restored::default();
        let Some(mine) = manifest.writers.get(&self.config.writer_id) else {
            return Ok(out);
        };
        out.wal_position = mine.wal_position;
        let databases = engine.databases() as u32;
        for f in &mine.kv {
            let data = self.store.read(&f.path).await?;
            let rows = tokio::task::spawn_blocking(move || read_kv(data))
                .await
                .map_err(|e| StorageError::Format(e.to_string()))?
                .map_err(|e| StorageError::Format(format!("{}: {e}", f.path)))?;
            for r in rows {
                if r.db < databases {
                    engine
                        .db(r.db as usize)
                        .put(&r.key, Value::Str(r.value), r.expire_at, 0);
                    out.keys += 1;
                }
            }
        }
        // Index files are decoded on blocking threads, several at a time.
        let mut pending = Vec::new();
        for v in &mine.vsets {
            let data = self.store.read(&v.index.path).await?;
            let path = v.index.path.clone();
            let handle = tokio::task::spawn_blocking(move || {
                VectorSet::from_index_file(&data).map_err(|e| format!("{path}: {e}"))
            });
            pending.push((v, handle));
        }
        for (v, handle) in pending {
            let mut set = handle
                .await
                .map_err(|e| StorageError::Format(e.to_string()))?
                .map_err(StorageError::Format)?;
            if set.uid() != v.uid {
                return Err(StorageError::Format(format!(
                    "{}: set uid {} but the manifest says {}",
                    v.index.path,
                    set.uid(),
                    v.uid
                )));
            }
            let key = unhex(&v.key_hex).ok_or_else(|| {
                StorageError::Format(format!("bad key_hex in manifest: {}", v.key_hex))
            })?;
            if v.db >= databases {
                continue;
            }
            set.applied_seq = v.applied_seq;
            out.elements += set.len() as u64;
            let shared = Arc::new(RwLock::new(set));
            replayer.register(v.db as usize, &key, &shared);
            engine
                .db(v.db as usize)
                .put(&key, Value::VectorSet(shared), v.expire_at, 0);
            out.vsets += 1;
        }
        Ok(out)
    }
}
