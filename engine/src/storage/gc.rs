//! Garbage collection after a commit: keep the newest `retain_versions`
//! manifests, delete older ones, and delete data and index files that no
//! kept manifest references (files of old versions, and orphans of commits
//! that failed half way) once they are older than the grace period — a
//! younger unreferenced file may belong to a commit still in progress.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use super::commit::{CommitState, list_versions, load};
use super::manifest::Manifest;
use super::{Storage, StorageError, file_time, unix_ms};

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
        for &v in &versions[cut..] {
            let m = if v == state.base.version {
                state.base.clone()
            } else {
                match load(&self.store, v).await {
                    Ok(m) => m,
                    // Deleted by another writer's GC meanwhile: not kept.
                    Err(_) => continue,
                }
            };
            referenced.extend(m.files().map(str::to_string));
        }
        referenced.extend(state.base.files().map(str::to_string));
        let horizon = unix_ms().saturating_sub(self.config.gc_grace_ms);
        for dir in ["kv", "vsets"] {
            for path in self.store.list(dir).await? {
                if referenced.contains(&path) {
                    continue;
                }
                // Files without a time in their name were not written by
                // VexLake: left alone.
                if file_time(&path).is_some_and(|t| t < horizon) {
                    self.store.delete(&path).await?;
                    deleted += 1;
                }
            }
        }
        self.stats
            .gc_deleted
            .fetch_add(deleted as u64, Ordering::Relaxed);
        Ok(deleted)
    }
}
