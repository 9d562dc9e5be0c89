//! Committing: a new manifest is `latest + 1`, created with a conditional
//! put. Losing the race (another writer created that version first) means:
//! reload the latest manifest, put this writer's entry on top of it
//! (rebase), and try the next version. A manifest is never overwritten.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::manifest::{METADATA_DIR, Manifest, WriterState};
use super::store::Store;
use super::{Storage, StorageError, unix_ms};

/// Attempts before a commit gives up.
const MAX_ATTEMPTS: u32 = 64;

/// What a server knows between commits.
pub struct CommitState {
    /// The latest manifest seen.
    pub base: Manifest,
    /// This writer's committed state.
    pub mine: WriterState,
}

/// All manifest versions in the store, ascending.
pub async fn list_versions(store: &Store) -> Result<Vec<u64>, StorageError> {
    let mut v: Vec<u64> = store
        .list(METADATA_DIR)
        .await?
        .iter()
        .filter_map(|p| Manifest::version_of(p))
        .collect();
    v.sort_unstable();
    Ok(v)
}

/// Manifests kept in memory by [`Storage::manifest`].
pub const MANIFEST_CACHE: usize = 64;

/// Reads manifest `version`.
pub async fn load(store: &Store, version: u64) -> Result<Manifest, StorageError> {
    let data = store.read(&Manifest::path(version)).await?;
    let m = Manifest::from_json(&data)
        .map_err(|e| StorageError::Format(format!("{}: {e}", Manifest::path(version))))?;
    if m.version != version {
        return Err(StorageError::Format(format!(
            "{} says it is version {}",
            Manifest::path(version),
            m.version
        )));
    }
    Ok(m)
}

/// The latest manifest, or the empty state when there is none.
pub async fn load_latest(store: &Store) -> Result<Manifest, StorageError> {
    match list_versions(store).await?.last() {
        Some(&v) => load(store, v).await,
        None => Ok(Manifest::empty()),
    }
}

impl Storage {
    /// Commits `mine` as this writer's new state; returns the version.
    pub(crate) async fn commit(
        &self,
        state: &mut CommitState,
        mine: WriterState,
        operation: &str,
    ) -> Result<u64, StorageError> {
        let id = self.config.writer_id.clone();
        let v = self
            .commit_with(state, operation, |next| {
                next.writers.insert(id.clone(), mine.clone());
                Ok(())
            })
            .await?;
        state.mine = mine;
        Ok(v)
    }

    /// Commits the latest manifest changed by `change` (called again on the
    /// newest base after a lost race; an error from it aborts the commit).
    pub(crate) async fn commit_with(
        &self,
        state: &mut CommitState,
        operation: &str,
        mut change: impl FnMut(&mut Manifest) -> Result<(), StorageError>,
    ) -> Result<u64, StorageError> {
        let mut base = state.base.clone();
        for attempt in 0..MAX_ATTEMPTS {
            let mut next = base.clone();
            next.version = base.version + 1;
            next.parent = base.version;
            next.timestamp_ms = unix_ms();
            next.operation = operation.to_string();
            next.committed_by = self.config.writer_id.clone();
            change(&mut next)?;
            let path = Manifest::path(next.version);
            if self
                .store
                .put_if_absent(&path, Bytes::from(next.to_json()))
                .await?
            {
                self.stats.version.store(next.version, Ordering::Relaxed);
                self.remember(Arc::new(next.clone()));
                state.base = next;
                return Ok(state.base.version);
            }
            self.stats.conflicts.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                version = next.version,
                attempt,
                "lost a commit race; rebasing"
            );
            base = load_latest(&self.store).await?;
            if base.version < next.version {
                // The winner's manifest is not listed yet: read it directly.
                base = super::commit::load(&self.store, next.version).await?;
            }
            if attempt > 4 {
                tokio::time::sleep(std::time::Duration::from_millis(fastrand::u64(1..20))).await;
            }
        }
        Err(StorageError::TooManyConflicts(MAX_ATTEMPTS))
    }

    /// The latest manifest in the store (another writer may have committed).
    pub async fn latest(&self) -> Result<Manifest, StorageError> {
        Ok(self.latest_shared().await?.as_ref().clone())
    }

    /// The latest manifest, shared: one listing of `_metadata/` to find the
    /// newest version, whose manifest comes from the cache after its first
    /// read (a committed manifest never changes).
    pub async fn latest_shared(&self) -> Result<Arc<Manifest>, StorageError> {
        match list_versions(&self.store).await?.last() {
            Some(&v) => self.manifest(v).await,
            None => Ok(Arc::new(Manifest::empty())),
        }
    }

    /// Manifest `version` if it is still retained (listed), else `None`.
    pub async fn retained(&self, version: u64) -> Result<Option<Arc<Manifest>>, StorageError> {
        if !list_versions(&self.store).await?.contains(&version) {
            return Ok(None);
        }
        self.manifest(version).await.map(Some)
    }

    /// Manifest `version`, read once and then kept (at most
    /// [`MANIFEST_CACHE`] versions, the oldest dropped first).
    pub async fn manifest(&self, version: u64) -> Result<Arc<Manifest>, StorageError> {
        if let Some(m) = self.manifests.lock().get(&version) {
            return Ok(m.clone());
        }
        let m = Arc::new(load(&self.store, version).await?);
        self.remember(m.clone());
        Ok(m)
    }

    pub(crate) fn remember(&self, m: Arc<Manifest>) {
        let mut cache = self.manifests.lock();
        while cache.len() >= MANIFEST_CACHE {
            cache.pop_first();
        }
        cache.insert(m.version, m);
    }

    /// The newest manifest this server has read or committed, without I/O
    /// (INFO storage); another writer may have committed a newer one.
    pub fn newest_known(&self) -> Option<Arc<Manifest>> {
        self.manifests
            .lock()
            .last_key_value()
            .map(|(_, m)| m.clone())
    }

    /// Up to `count` most recent manifests, newest first.
    pub async fn recent_versions(&self, count: usize) -> Result<Vec<Manifest>, StorageError> {
        let versions = list_versions(&self.store).await?;
        let mut out = Vec::new();
        for &v in versions.iter().rev().take(count) {
            out.push(load(&self.store, v).await?);
        }
        Ok(out)
    }
}
