//! Vector-set access on a [`Db`]: find or create the set stored at a key.
//! The shard lock is held only to find the set; callers then lock the set
//! itself (never the other way round while holding a shard lock).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use parking_lot::RwLock;

use super::db::Db;
use super::value::Value;
use crate::error::EngineError;
use crate::journal::{Op, SetParams};
use crate::vector::{Metric, Quant, VectorSet};

/// A vector set shared between the keyspace and running commands.
pub type SharedSet = Arc<RwLock<VectorSet>>;

static NEXT_UID: AtomicU64 = AtomicU64::new(1);

/// A new unique vector-set id (VINFO vset-uid).
pub fn next_set_uid() -> u64 {
    NEXT_UID.fetch_add(1, Ordering::Relaxed)
}

/// Makes later ids larger than `uid` (a set loaded or replayed from disk).
pub fn note_set_uid(uid: u64) {
    NEXT_UID.fetch_max(uid.saturating_add(1), Ordering::Relaxed);
}

/// Builds an empty set from logged parameters.
pub fn set_from_params(uid: u64, p: &SetParams) -> Option<VectorSet> {
    let quant = Quant::from_code(p.quant)?;
    let metric = Metric::from_code(p.metric)?;
    let reduce = (p.reduce > 0).then_some(p.reduce as usize);
    Some(VectorSet::new(
        p.dim as usize,
        reduce,
        quant,
        metric,
        p.m as usize,
        uid,
    ))
}

impl Db {
    /// The vector set at `key`, if any (WRONGTYPE for other values).
    pub fn vset(&self, key: &[u8], now: u64) -> Result<Option<SharedSet>, EngineError> {
        let (h, mut s) = self.lock(key);
        let Some(idx) = s.lookup(h, key, now) else {
            return Ok(None);
        };
        match &s.entry(idx).value {
            Value::VectorSet(set) => Ok(Some(set.clone())),
            _ => Err(EngineError::WrongType),
        }
    }

    /// The vector set at `key`, created empty with `params` when the key
    /// is missing (and the creation logged); also says whether it was
    /// created.
    pub fn vset_or_create(
        &self,
        key: &[u8],
        now: u64,
        params: SetParams,
    ) -> Result<(SharedSet, bool), EngineError> {
        let (h, mut s) = self.lock(key);
        if let Some(idx) = s.lookup(h, key, now) {
            return match &s.entry(idx).value {
                Value::VectorSet(set) => Ok((set.clone(), false)),
                _ => Err(EngineError::WrongType),
            };
        }
        let uid = next_set_uid();
        let created = set_from_params(uid, &params).expect("codes come from Quant and Metric");
        self.log_op(&Op::VCreate { key, uid, params })?;
        let set = Arc::new(RwLock::new(created));
        s.insert(
            Bytes::copy_from_slice(key),
            h,
            Value::VectorSet(set.clone()),
            None,
        );
        Ok((set, true))
    }

    /// Puts `set` (decoded from a DUMP payload, not yet shared) at `key`
    /// as a new set with a new uid, replacing what is there (RESTORE):
    /// logged as one record, the whole set (VLoad) and its expiry.
    pub fn vset_restore(
        &self,
        key: &[u8],
        set: &SharedSet,
        expire_at: Option<u64>,
        now: u64,
    ) -> Result<(), EngineError> {
        // The set's lock is not held while a shard lock is taken.
        let blob = {
            let mut g = set.write();
            g.set_uid(next_set_uid());
            g.to_index_file()
        };
        let seq = {
            let (h, mut s) = self.lock(key);
            let seq = self.log(|r| {
                r.push(&Op::VLoad { key, set: &blob });
                if expire_at.is_some() {
                    r.push(&Op::Expire { key, expire_at });
                }
            })?;
            if let Some(idx) = s.lookup(h, key, now) {
                s.remove(idx);
            }
            s.insert(
                Bytes::copy_from_slice(key),
                h,
                Value::VectorSet(set.clone()),
                expire_at,
            );
            seq
        };
        let mut g = set.write();
        g.applied_seq = g.applied_seq.max(seq);
        Ok(())
    }

    /// Deletes `key` if it still holds exactly `set` (after VREM emptied it).
    pub fn vset_delete_if_same(&self, key: &[u8], set: &SharedSet, now: u64) {
        let (h, mut s) = self.lock(key);
        if let Some(idx) = s.lookup(h, key, now)
            && matches!(&s.entry(idx).value, Value::VectorSet(x) if Arc::ptr_eq(x, set))
        {
            s.remove(idx);
        }
    }
}
