//! Restore: load one version of the lake into an empty engine. String keys
//! from the kv base and then each delta in order (a tombstone removes the
//! key); vector sets from their base graph file, then each index delta
//! applied on top (the graph is loaded, never rebuilt). The WAL tail is
//! replayed afterwards by the caller. What was loaded is committed, so the
//! engine's change tracking starts empty.

use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;

use super::manifest::{Manifest, VsetEntry, unhex};
use super::parquet_io::for_each_kv;
use super::{Storage, StorageError, blocking};
use crate::Engine;
use crate::journal::Replayer;
use crate::keyspace::Value;
use crate::vector::VectorSet;

/// What a restore loaded.
#[derive(Debug, Clone, Copy, Default)]
pub struct Restored {
    /// WAL position the files cover (replay starts after it).
    pub wal_position: u64,
    /// String keys loaded (rows of the base and deltas).
    pub keys: u64,
    /// Vector sets loaded.
    pub vsets: u64,
    /// Elements in them.
    pub elements: u64,
    /// Files read.
    pub files: u64,
    /// Bytes read.
    pub bytes: u64,
}

/// Files larger than this are downloaded to the scratch directory and
/// decoded from there instead of from memory.
const IN_MEMORY: u64 = 64 << 20;

impl Storage {
    /// Loads `manifest` into `engine` (empty), registering vector sets with
    /// `replayer`.
    pub async fn restore(
        &self,
        engine: &Engine,
        manifest: &Manifest,
        replayer: &mut Replayer,
    ) -> Result<Restored, StorageError> {
        let mut out = Restored {
            wal_position: manifest.wal.position,
            ..Restored::default()
        };
        let databases = engine.databases() as u32;
        for f in &manifest.kv {
            let path = f.file.path.clone();
            let bad = |e: String| StorageError::Format(format!("{path}: {e}"));
            let mut apply = |r: super::parquet_io::KvRow| {
                if r.db >= databases {
                    return;
                }
                let db = engine.db(r.db as usize);
                match r.value {
                    Some(v) => db.put(&r.key, v, r.expire_at, 0),
                    None => {
                        let _ = db.del(&[r.key], 0);
                    }
                }
            };
            out.keys += if f.file.size > IN_MEMORY {
                std::fs::create_dir_all(&self.config.scratch)
                    .map_err(|e| StorageError::Format(e.to_string()))?;
                let local = self
                    .config
                    .scratch
                    .join(format!("restore-{}.parquet", fastrand::u64(..)));
                self.store.download(&path, &local).await?;
                let file = std::fs::File::open(&local);
                let _ = std::fs::remove_file(&local);
                let file = file.map_err(|e| bad(e.to_string()))?;
                for_each_kv(file, &mut apply).map_err(bad)?
            } else {
                let data = self.store.read(&path).await?;
                for_each_kv(data, &mut apply).map_err(bad)?
            };
            out.files += 1;
            out.bytes += f.file.size;
        }
        // Graphs are decoded on blocking threads, several at a time.
        let mut pending = Vec::new();
        for v in &manifest.vsets {
            let mut blobs = vec![self.store.read(&v.base.index.path).await?];
            for d in &v.deltas {
                blobs.push(self.store.read(&d.index.path).await?);
            }
            out.files += blobs.len() as u64;
            out.bytes += blobs.iter().map(|b| b.len() as u64).sum::<u64>();
            let entry = v.clone();
            pending.push((v, blocking(move || load_set(&entry, blobs))));
        }
        for (v, handle) in pending {
            let set = handle.await??;
            let key = unhex(&v.key_hex).ok_or_else(|| {
                StorageError::Format(format!("bad key_hex in manifest: {}", v.key_hex))
            })?;
            if v.db >= databases {
                continue;
            }
            out.elements += set.len() as u64;
            let shared = Arc::new(RwLock::new(set));
            replayer.register(v.db as usize, &key, &shared);
            engine
                .db(v.db as usize)
                .put(&key, Value::VectorSet(shared), v.expire_at, 0);
            out.vsets += 1;
        }
        let libs = manifest
            .functions
            .iter()
            .map(|e| {
                e.library().ok_or_else(|| {
                    StorageError::Format(format!("function library {} has no code", e.name))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        engine.functions().replace(libs);
        engine.forget_changes();
        Ok(out)
    }
}

/// Builds a set from its base graph file and its index deltas.
fn load_set(v: &VsetEntry, blobs: Vec<Bytes>) -> Result<VectorSet, StorageError> {
    let bad = |path: &str, e: String| StorageError::Format(format!("{path}: {e}"));
    let mut set = VectorSet::from_index_file(&blobs[0])
        .map_err(|e| bad(&v.base.index.path, e.to_string()))?;
    if set.uid() != v.uid {
        return Err(bad(
            &v.base.index.path,
            format!("set uid {} but the manifest says {}", set.uid(), v.uid),
        ));
    }
    for (d, blob) in v.deltas.iter().zip(&blobs[1..]) {
        set.apply_index_delta(blob)
            .map_err(|e| bad(&d.index.path, e.to_string()))?;
    }
    set.applied_seq = v.applied_seq;
    set.forget_changes();
    Ok(set)
}
