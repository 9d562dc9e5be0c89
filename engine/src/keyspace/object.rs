//! Whole-value operations on a [`Db`]: what OBJECT reports about a key,
//! COPY, and putting a restored value (RESTORE) with its access data.
//! Collections are copied and restored as the edits that rebuild them; a
//! restored vector set is logged whole.

use bytes::Bytes;

use super::access::Access;
use super::db::Db;
use super::edit::{Edit, rebuild};
use super::strings::{SetCond, SetOptions, SetTtl};
use super::value::Value;
use crate::error::EngineError;

/// What OBJECT reports about a key (read without touching it).
#[derive(Debug, Clone)]
pub struct ObjectInfo {
    /// The value (strings are cheap to clone; sets are shared).
    pub value: Value,
    /// Last access and access counter.
    pub access: Access,
    /// Absolute expiry in Unix ms.
    pub expire_at: Option<u64>,
}

/// Why COPY did not copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyRefused {
    /// The source is a vector set (Redis cannot copy module types either).
    NotCopyable,
}

impl Db {
    /// The value, access data and expiry of `key`, without counting an access.
    pub fn object(&self, key: &[u8], now: u64) -> Option<ObjectInfo> {
        super::access::no_touch(|| {
            let (h, mut s) = self.lock(key);
            let idx = s.lookup(h, key, now)?;
            let e = s.entry(idx);
            Some(ObjectInfo {
                value: e.value.clone(),
                access: e.access,
                expire_at: e.expire_at,
            })
        })
    }

    /// COPY `src` (in this database) to `dst` in `to`, with its TTL; with
    /// `replace` an existing `dst` is overwritten. Returns whether copied
    /// (`Ok(Err(..))` for a value that cannot be copied).
    pub fn copy_to(
        &self,
        src: &[u8],
        to: &Db,
        dst: &[u8],
        replace: bool,
        now: u64,
    ) -> Result<Result<bool, CopyRefused>, EngineError> {
        let Some(info) = self.object(src, now) else {
            return Ok(Ok(false));
        };
        let v = match info.value {
            Value::Str(v) => v,
            Value::VectorSet(_) => return Ok(Err(CopyRefused::NotCopyable)),
            collection => {
                let put = put_edits(&collection, info.expire_at);
                return Ok(Ok(to.edit(dst, now, |cur| {
                    if cur.is_some() && !replace {
                        return Ok((false, Vec::new()));
                    }
                    Ok((true, put))
                })?));
            }
        };
        let opts = SetOptions {
            cond: if replace {
                SetCond::Always
            } else {
                SetCond::IfMissing
            },
            ttl: info.expire_at.map_or(SetTtl::Clear, SetTtl::At),
            get: false,
            value: None,
        };
        Ok(Ok(to.set(dst, &v, opts, now)?.written))
    }

    /// Puts `value` (a string, a collection, or a vector set decoded from
    /// a payload and not shared yet) at `key` (RESTORE): only
    /// when `key` is absent unless `replace`; `expire_at` in the past
    /// stores nothing. Access data is set from `idle_secs` / `freq` when
    /// given. Returns false when the key exists and `replace` is off.
    pub fn restore_value(
        &self,
        key: &[u8],
        value: &Value,
        expire_at: Option<u64>,
        replace: bool,
        access: (Option<u32>, Option<u8>),
        now: u64,
    ) -> Result<bool, EngineError> {
        if !replace && self.object(key, now).is_some() {
            return Ok(false);
        }
        match value {
            Value::Str(v) => {
                let opts = SetOptions {
                    cond: SetCond::Always,
                    ttl: expire_at.map_or(SetTtl::Clear, SetTtl::At),
                    get: false,
                    value: None,
                };
                self.set(key, v, opts, now)?;
            }
            Value::VectorSet(_) if expire_at.is_some_and(|t| t <= now) => {
                // Already expired: the key goes and nothing is stored.
                self.edit(key, now, |_| Ok(((), vec![Edit::Delete])))?;
            }
            Value::VectorSet(set) => self.vset_restore(key, set, expire_at, now)?,
            collection => {
                let mut put = put_edits(collection, expire_at);
                if expire_at.is_some_and(|t| t <= now) {
                    put.truncate(1);
                }
                self.edit(key, now, |_| Ok(((), put)))?;
            }
        }
        if access.0.is_some() || access.1.is_some() {
            let (h, mut s) = self.lock(key);
            if let Some(idx) = super::access::no_touch(|| s.lookup(h, key, now)) {
                let a = s.entry_access(idx);
                if let Some(idle) = access.0 {
                    a.last = super::access::clock().saturating_sub(idle);
                }
                if let Some(f) = access.1 {
                    a.freq = f;
                }
            }
        }
        Ok(true)
    }
}

/// The edits that put `value` (a collection) at a key with `expire_at`.
fn put_edits(value: &Value, expire_at: Option<u64>) -> Vec<Edit<Bytes>> {
    let mut edits = rebuild(value);
    if let Some(at) = expire_at {
        edits.push(Edit::Expire { at: Some(at) });
    }
    edits
}
