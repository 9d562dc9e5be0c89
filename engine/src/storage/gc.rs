//! Garbage collection after a commit: keep the newest `retain_versions`
//! manifests, delete older ones, delete data and index files that no kept
//! manifest references (files of old versions, and orphans of commits that
//! failed half way) once they are older than the grace period — a younger
//! unreferenced file may belong to a commit still in progress — and delete
//! the WAL objects that the previous committed version already covers
//! (a replica still reading older ones reloads from a newer version).

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use super::commit::{CommitState, list_versions, load};
use super::layout::{
    KV_DIR, TABLES_DIR, VSETS_DIR, WAL_DIR, file_time, wal_object, wal_object_number,
};
use super::manifest::Manifest;
use super::{Storage, StorageError, unix_ms};

impl Storage {
    /// Runs one GC pass; returns how many objects it deleted.
    pub(crate) async fn gc(&self, state: &CommitState) -> Result<usize, StorageError> {
        let versions = list_versions(&self.store).await?;
        let keep = self.config.retain_versions.max(1);
        let cut = versions.len().saturating_sub(keep);
        let mut deleted = 0;
        for &v in &versions[..cut] {
            self.store.delete(&Manifest::path(v)).await?;
            deleted += 1;
        }
        let mut referenced: HashSet<String> = HashSet::new();
        let mut wal_bound = None;
        for &v in &versions[cut..] {
            let m = if v == state.base.version {
                state.base.clone()
            } else {
                match load(&self.store, v).await {
                    Ok(m) => m,
                    // Deleted meanwhile: not kept.
                    Err(_) => continue,
                }
            };
            if v == state.base.parent {
                wal_bound = Some(m.wal.object);
            }
            referenced.extend(m.files().map(str::to_string));
        }
        referenced.extend(state.base.files().map(str::to_string));
        let horizon = unix_ms().saturating_sub(self.config.gc_grace_ms);
        for dir in [KV_DIR, VSETS_DIR, TABLES_DIR] {
            let mut doomed = Vec::new();
            for path in self.store.list(dir).await? {
                // Files without a time in their name were not written by
                // VexLake: left alone.
                if !referenced.contains(&path) && file_time(&path).is_some_and(|t| t < horizon) {
                    doomed.push(path);
                }
            }
            deleted += doomed.len();
            self.store.delete_many(doomed).await?;
        }
        if let Some(bound) = wal_bound {
            deleted += self.gc_wal_objects(bound).await?;
        }
        self.stats
            .gc_deleted
            .fetch_add(deleted as u64, Ordering::Relaxed);
        Ok(deleted)
    }

    /// Deletes WAL objects numbered below `bound`.
    async fn gc_wal_objects(&self, bound: u64) -> Result<usize, StorageError> {
        let mut from = self.wal_gc_from.load(Ordering::Relaxed);
        if from == 0 {
            // First pass since start: find the oldest object left.
            from = self
                .store
                .list(WAL_DIR)
                .await?
                .iter()
                .filter_map(|p| wal_object_number(p))
                .min()
                .unwrap_or(bound);
        }
        if from >= bound {
            self.wal_gc_from.store(from.max(1), Ordering::Relaxed);
            return Ok(0);
        }
        let doomed: Vec<String> = (from..bound).map(wal_object).collect();
        let n = doomed.len();
        self.store.delete_many(doomed).await?;
        self.wal_gc_from.store(bound, Ordering::Relaxed);
        Ok(n)
    }
}
