//! Whole-value operations on a [`Db`]: what OBJECT reports about a key,
//! COPY, and putting a restored value (RESTORE) with its access data.

use bytes::Bytes;

use super::access::Access;
use super::db::Db;
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
        let Value::Str(v) = info.value else {
            return Ok(Err(CopyRefused::NotCopyable));
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

    /// Puts string `value` at `key` (RESTORE): only when `key` is absent
    /// unless `replace`; `expire_at` in the past stores nothing. Access
    /// data is set from `idle_secs` / `freq` when given. Returns false when
    /// the key exists and `replace` is off.
    pub fn restore_string(
        &self,
        key: &[u8],
        value: &Bytes,
        expire_at: Option<u64>,
        replace: bool,
        access: (Option<u32>, Option<u8>),
        now: u64,
    ) -> Result<bool, EngineError> {
        let opts = SetOptions {
            cond: if replace {
                SetCond::Always
            } else {
                SetCond::IfMissing
            },
            ttl: expire_at.map_or(SetTtl::Clear, SetTtl::At),
            get: false,
            value: None,
        };
        if !replace && self.object(key, now).is_some() {
            return Ok(false);
        }
        self.set(key, value, opts, now)?;
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
