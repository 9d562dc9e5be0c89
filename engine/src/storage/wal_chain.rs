//! The WAL in the lake (`--wal-storage object`): a chain of objects
//! `wal/{n:020}.wal`, numbered without gaps, each created with a
//! conditional put (layout of one object: `wal::object`).
//!
//! Protocol:
//!
//! - **Append.** The writer's group commit uploads everything appended
//!   since the last upload as object `n`, then `n + 1`, ...; a write is
//!   acknowledged once the object holding it is stored (`appendfsync
//!   always`). A failed upload is retried with the same number and bytes;
//!   finding the number taken by different bytes means a newer writer
//!   fenced the chain: nothing more is acknowledged ([`LakeWalSink`]).
//! - **Replay.** A version's manifest names the first object that may
//!   hold a record after its WAL position (`wal.object`). A starting
//!   server (writer or replica) reads objects from there until one is
//!   missing, applying records after the position; object numbers, epochs
//!   (never decreasing) and sequence numbers (consecutive) are checked,
//!   and a damaged object, or a missing one with later ones present, stops
//!   the start with an error naming it.
//! - **Fence.** A new writer, after replaying, creates the next object as
//!   an empty *fence* with its epoch. If the old writer stored that number
//!   first, its object is replayed too and the fence tried one number
//!   later. Once the fence is in, the old writer's next upload fails.
//! - **Truncation.** Objects wholly covered by an older committed version
//!   are deleted by GC.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::layout::wal_object;
use super::{Storage, StorageError, Store};
use crate::wal::object;
use crate::wal::{ObjectSink, SinkError};

/// How long one WAL upload may take before it counts as failed (and is
/// retried): writes wait for it.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Applies one WAL record (sequence, payload) during a replay.
pub type ApplyRecord<'a> = dyn FnMut(u64, &[u8]) -> Result<(), String> + 'a;

/// Where a replay of the chain stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChainEnd {
    /// The first object number not found (the next to create).
    pub next_object: u64,
    /// The last record sequence seen (or the replay's start position).
    pub last_seq: u64,
    /// Highest epoch seen in the chain.
    pub epoch: u64,
    /// Objects read.
    pub objects: u64,
    /// Records applied.
    pub records: u64,
}

impl Storage {
    /// Replays WAL objects from number `from`, applying every record after
    /// sequence `after` with `apply`, until the chain ends. With
    /// `check_gap`, a missing object followed by a present one is an error.
    pub async fn replay_chain(
        &self,
        from: u64,
        after: u64,
        check_gap: bool,
        apply: &mut ApplyRecord<'_>,
    ) -> Result<ChainEnd, StorageError> {
        let mut end = ChainEnd {
            next_object: from.max(1),
            last_seq: after,
            ..ChainEnd::default()
        };
        loop {
            let path = wal_object(end.next_object);
            let Some(data) = self.store.read_if_exists(&path).await? else {
                if check_gap && self.store.exists(&wal_object(end.next_object + 1)).await? {
                    return Err(StorageError::Format(format!(
                        "WAL object {path} is missing but later ones exist: acknowledged writes would be lost; restore the object, or delete it and every later one to accept losing them"
                    )));
                }
                return Ok(end);
            };
            self.apply_object(&path, &data, &mut end, apply)?;
        }
    }

    /// Checks and applies one object at `end.next_object`, moving `end`.
    pub(crate) fn apply_object(
        &self,
        path: &str,
        data: &[u8],
        end: &mut ChainEnd,
        apply: &mut ApplyRecord<'_>,
    ) -> Result<(), StorageError> {
        let damaged = |what: &str| {
            StorageError::Format(format!(
                "WAL object {path} is damaged ({what}); acknowledged writes may be in it: restore it, or delete it and every later one to accept losing them"
            ))
        };
        let obj = object::decode(data).map_err(damaged)?;
        if obj.object != end.next_object {
            return Err(damaged("its number is wrong"));
        }
        if obj.epoch < end.epoch {
            return Err(damaged("its epoch is older than the objects before it"));
        }
        if obj.first_seq > end.last_seq + 1 {
            return Err(damaged("records are missing before it"));
        }
        if end.objects > 0 && obj.first_seq != end.last_seq + 1 {
            return Err(damaged("its records do not follow the previous object's"));
        }
        for (seq, payload) in &obj.records {
            if *seq > end.last_seq {
                apply(*seq, payload).map_err(|e| {
                    StorageError::Format(format!(
                        "WAL record {seq} in {path} cannot be applied: {e}"
                    ))
                })?;
                end.last_seq = *seq;
                end.records += 1;
            }
        }
        end.epoch = obj.epoch;
        end.objects += 1;
        end.next_object += 1;
        Ok(())
    }

    /// Ends the chain for this writer: creates the fence object at
    /// `end.next_object` (replaying any object the old writer stored there
    /// first); returns the chain end after the fence.
    pub async fn fence_chain(
        &self,
        mut end: ChainEnd,
        apply: &mut ApplyRecord<'_>,
    ) -> Result<ChainEnd, StorageError> {
        for _ in 0..10_000 {
            let path = wal_object(end.next_object);
            let fence = object::encode(self.epoch(), end.next_object, end.last_seq + 1, 0, &[]);
            if self.store.put_if_absent(&path, Bytes::from(fence)).await? {
                end.next_object += 1;
                end.epoch = self.epoch();
                self.chain_next
                    .store(end.next_object, std::sync::atomic::Ordering::Relaxed);
                return Ok(end);
            }
            let data = self.store.read(&path).await?;
            self.apply_object(&path, &data, &mut end, apply)?;
        }
        Err(StorageError::Format(
            "could not fence the WAL chain: the old writer keeps appending".into(),
        ))
    }

    /// The sink the object WAL uploads through.
    pub fn wal_sink(&self) -> Arc<dyn ObjectSink> {
        Arc::new(LakeWalSink {
            store: self.store.clone(),
            handle: tokio::runtime::Handle::current(),
        })
    }
}

/// Uploads WAL objects to the lake (called from the WAL's sync thread).
pub struct LakeWalSink {
    store: Arc<Store>,
    handle: tokio::runtime::Handle,
}

impl LakeWalSink {
    async fn put_async(&self, number: u64, data: Vec<u8>) -> Result<(), SinkError> {
        let path = wal_object(number);
        let failed = |e: super::StoreError| SinkError::Failed(format!("WAL upload of {path}: {e}"));
        match self
            .store
            .put_if_absent_within(&path, Bytes::from(data.clone()), UPLOAD_TIMEOUT)
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => {
                let existing = self.store.read(&path).await.map_err(failed)?;
                if existing[..] == data[..] {
                    Ok(()) // an earlier attempt was stored; its answer was lost
                } else {
                    let epoch = object::decode(&existing).map(|o| o.epoch).unwrap_or(0);
                    Err(SinkError::Taken(format!(
                        "this server is no longer the lake's writer: {path} was created by a writer of epoch {epoch}"
                    )))
                }
            }
            Err(e) => Err(failed(e)),
        }
    }
}

impl ObjectSink for LakeWalSink {
    fn put(&self, number: u64, data: Vec<u8>) -> Result<(), SinkError> {
        let run = || self.handle.block_on(self.put_async(number, data));
        match tokio::runtime::Handle::try_current() {
            // On a runtime thread (a final sync at shutdown): leave it first.
            Ok(_) => tokio::task::block_in_place(run),
            Err(_) => run(),
        }
    }
}
