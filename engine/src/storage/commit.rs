//! Committing a version.
//!
//! Protocol (the writer's side; readers only ever read whole manifests):
//!
//! 1. Write every new data and index file (plain puts, unique names).
//! 2. Build the next manifest from the latest one this writer knows
//!    (`version + 1`, `parent = version`), stamped with this writer's id
//!    and epoch, and create `_metadata/v{version+1:020}.json` with a
//!    conditional put (create if absent). A manifest is never overwritten.
//! 3. If that version already exists, read it:
//!    - committed under another epoch: a newer writer took the lake over.
//!      This writer is fenced: it stops committing (and accepting writes).
//!    - committed under this epoch: an earlier attempt of this writer that
//!      succeeded without an answer (a timeout). Rebase onto the newest
//!      version and try the next number.
//!
//! Only the writer commits, so a race is either that or a takeover; a
//! chain built this way has no gap and no fork.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::manifest::{Legacy, METADATA_DIR, Manifest, ManifestError, Writer};
use super::store::Store;
use super::{Storage, StorageError, unix_ms};

/// Attempts before a commit gives up.
const MAX_ATTEMPTS: u32 = 16;

/// What the writer knows between commits.
pub struct CommitState {
    /// The latest manifest (committed by this writer, or the one it
    /// acquired the lake with).
    pub base: Manifest,
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

/// The newest committed state, as found at startup.
pub enum Latest {
    /// No version yet.
    Empty,
    /// A format-2 manifest.
    Current(Manifest),
    /// A format-1 manifest (to upgrade).
    Legacy(Legacy),
}

/// Reads manifest `version`.
pub async fn load(store: &Store, version: u64) -> Result<Manifest, StorageError> {
    let data = store.read(&Manifest::path(version)).await?;
    let m = Manifest::from_json(&data).map_err(|e| match e {
        ManifestError::Legacy => StorageError::Format(format!(
            "{} is in format 1; a writer upgrades the lake when it starts",
            Manifest::path(version)
        )),
        ManifestError::Bad(e) => StorageError::Format(format!("{}: {e}", Manifest::path(version))),
    })?;
    if m.version != version {
        return Err(StorageError::Format(format!(
            "{} says it is version {}",
            Manifest::path(version),
            m.version
        )));
    }
    Ok(m)
}

/// The newest version, whatever its format.
pub async fn load_latest_any(store: &Store) -> Result<Latest, StorageError> {
    let Some(&v) = list_versions(store).await?.last() else {
        return Ok(Latest::Empty);
    };
    let data = store.read(&Manifest::path(v)).await?;
    match Manifest::from_json(&data) {
        Ok(m) => Ok(Latest::Current(m)),
        Err(ManifestError::Legacy) => Legacy::from_json(&data)
            .map(Latest::Legacy)
            .map_err(|e| StorageError::Format(format!("{}: {e}", Manifest::path(v)))),
        Err(ManifestError::Bad(e)) => {
            Err(StorageError::Format(format!("{}: {e}", Manifest::path(v))))
        }
    }
}

/// The latest manifest, or the empty state when there is none.
pub async fn load_latest(store: &Store) -> Result<Manifest, StorageError> {
    match list_versions(store).await?.last() {
        Some(&v) => load(store, v).await,
        None => Ok(Manifest::empty()),
    }
}

impl Storage {
    /// Commits the latest manifest changed by `change` (called again on the
    /// newest base after a rebase; an error from it aborts the commit).
    /// Returns the new version.
    pub(crate) async fn commit_with(
        &self,
        state: &mut CommitState,
        operation: &str,
        mut change: impl FnMut(&mut Manifest) -> Result<(), StorageError>,
    ) -> Result<u64, StorageError> {
        self.may_commit()?;
        let me = Writer {
            id: self.config.writer_id.clone(),
            epoch: self.epoch(),
        };
        let mut base = state.base.clone();
        for attempt in 0..MAX_ATTEMPTS {
            let mut next = base.clone();
            next.version = base.version + 1;
            next.parent = base.version;
            next.timestamp_ms = unix_ms();
            next.operation = operation.to_string();
            next.writer = me.clone();
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
            let theirs = load(&self.store, next.version).await?;
            if theirs.writer != me {
                let why = fenced_text(&theirs);
                self.set_fenced(why.clone());
                return Err(StorageError::Fenced(why));
            }
            tracing::warn!(
                version = next.version,
                attempt,
                "version already committed by this writer (an answer was lost); rebasing"
            );
            base = load_latest(&self.store).await?;
        }
        Err(StorageError::TooManyConflicts(MAX_ATTEMPTS))
    }

    /// The latest manifest in the store.
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
    /// (INFO storage).
    pub fn newest_known(&self) -> Option<Arc<Manifest>> {
        self.manifests
            .lock()
            .last_key_value()
            .map(|(_, m)| m.clone())
    }

    /// Up to `count` most recent manifests, newest first. A format-1
    /// manifest (before an upgrade) is listed by its version and writer
    /// only, with operation `format 1`.
    pub async fn recent_versions(&self, count: usize) -> Result<Vec<Arc<Manifest>>, StorageError> {
        let versions = list_versions(&self.store).await?;
        let mut out = Vec::new();
        for &v in versions.iter().rev().take(count) {
            match self.manifest(v).await {
                Ok(m) => out.push(m),
                Err(e) => {
                    let data = self.store.read(&Manifest::path(v)).await?;
                    let Ok(legacy) = Legacy::from_json(&data) else {
                        return Err(e);
                    };
                    let mut m = Manifest::empty();
                    m.version = legacy.version;
                    m.parent = legacy.version.saturating_sub(1);
                    m.operation = "format 1".into();
                    m.writer.id = legacy.writers.keys().next().cloned().unwrap_or_default();
                    out.push(Arc::new(m));
                }
            }
        }
        Ok(out)
    }
}

/// Why a writer is fenced, naming the writer that took over.
pub(crate) fn fenced_text(newer: &Manifest) -> String {
    format!(
        "this server is no longer the lake's writer: writer {} (epoch {}) took over at version {}",
        newer.writer.id, newer.writer.epoch, newer.version
    )
}
