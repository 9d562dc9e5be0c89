//! String commands on a [`Db`]: GET/SET and their variants, counters,
//! APPEND and ranges. Values are copied out of the request buffer on write,
//! so a stored value never pins a connection's read buffer.

use bytes::{Bytes, BytesMut};

use super::db::Db;
use super::value::Value;
use crate::error::EngineError;
use crate::journal::Op;

/// When SET writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetCond {
    /// Always.
    #[default]
    Always,
    /// `NX`: only when the key does not exist.
    IfMissing,
    /// `XX`: only when the key exists.
    IfExists,
}

/// What SET does to the TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetTtl {
    /// Remove any TTL (plain SET).
    #[default]
    Clear,
    /// `KEEPTTL`.
    Keep,
    /// Expire at this Unix time in ms.
    At(u64),
}

/// IFEQ / IFNE / IFDEQ / IFDNE (Redis 8.4): a condition on the key's
/// current string value, or on its [`digest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueCond<'a> {
    /// The value equals this.
    Eq(&'a [u8]),
    /// The value differs from this (a missing key passes).
    Ne(&'a [u8]),
    /// The value's digest equals this hex (any case).
    DigestEq(&'a [u8]),
    /// The value's digest differs (a missing key passes).
    DigestNe(&'a [u8]),
}

impl ValueCond<'_> {
    /// Whether a key holding `current` (None: missing) passes.
    pub fn holds(&self, current: Option<&[u8]>) -> bool {
        match (*self, current) {
            (ValueCond::Eq(_) | ValueCond::DigestEq(_), None) => false,
            (ValueCond::Ne(_) | ValueCond::DigestNe(_), None) => true,
            (ValueCond::Eq(m), Some(c)) => c == m,
            (ValueCond::Ne(m), Some(c)) => c != m,
            (ValueCond::DigestEq(m), Some(c)) => digest(c).as_bytes().eq_ignore_ascii_case(m),
            (ValueCond::DigestNe(m), Some(c)) => !digest(c).as_bytes().eq_ignore_ascii_case(m),
        }
    }
}

/// A string's digest (DIGEST): its XXH3-64 hash as 16 lowercase hex
/// digits, as Redis 8.4.
pub fn digest(v: &[u8]) -> String {
    format!("{:016x}", twox_hash::XxHash3_64::oneshot(v))
}

/// Options of SET.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetOptions<'a> {
    /// NX / XX.
    pub cond: SetCond,
    /// IFEQ / IFNE / IFDEQ / IFDNE.
    pub value: Option<ValueCond<'a>>,
    /// EX/PX/EXAT/PXAT/KEEPTTL.
    pub ttl: SetTtl,
    /// `GET`: return the old value.
    pub get: bool,
}

/// Result of SET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetOutcome {
    /// Whether the value was written (false when NX/XX prevented it).
    pub written: bool,
    /// The previous value, when `GET` was asked for.
    pub old: Option<Bytes>,
}

/// How GETEX changes the TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtlChange {
    /// `PERSIST`.
    Persist,
    /// Expire at this Unix time in ms.
    At(u64),
}

fn as_str(v: &Value) -> Result<&Bytes, EngineError> {
    match v {
        Value::Str(b) => Ok(b),
        _ => Err(EngineError::WrongType),
    }
}

impl Db {
    /// GET.
    pub fn get(&self, key: &[u8], now: u64) -> Result<Option<Bytes>, EngineError> {
        let (h, mut s) = self.lock(key);
        match s.lookup_read(h, key, now) {
            None => Ok(None),
            Some(idx) => as_str(&s.entry(idx).value).map(|b| Some(b.clone())),
        }
    }

    /// SET with its options.
    pub fn set(
        &self,
        key: &[u8],
        value: &[u8],
        opts: SetOptions<'_>,
        now: u64,
    ) -> Result<SetOutcome, EngineError> {
        let (h, mut s) = self.lock(key);
        let found = s.lookup(h, key, now);
        let old = match (opts.get, found) {
            (true, Some(idx)) => Some(as_str(&s.entry(idx).value)?.clone()),
            _ => None,
        };
        let mut allowed = match opts.cond {
            SetCond::Always => true,
            SetCond::IfMissing => found.is_none(),
            SetCond::IfExists => found.is_some(),
        };
        if let Some(cond) = opts.value {
            let current = match found {
                Some(idx) => Some(as_str(&s.entry(idx).value)?),
                None => None,
            };
            allowed &= cond.holds(current.map(|v| &v[..]));
        }
        if !allowed {
            return Ok(SetOutcome {
                written: false,
                old,
            });
        }
        let expire_at = match (found, opts.ttl) {
            (Some(idx), SetTtl::Keep) => s.entry(idx).expire_at,
            (_, SetTtl::At(t)) => Some(t),
            _ => None,
        };
        if expire_at.is_some_and(|t| t <= now) {
            self.log_op(&Op::Del { key })?;
        } else {
            self.log_op(&Op::Set {
                key,
                value,
                expire_at,
            })?;
        }
        let value = Value::Str(Bytes::copy_from_slice(value));
        match found {
            Some(idx) => {
                let expire_at = match opts.ttl {
                    SetTtl::Clear => None,
                    SetTtl::Keep => s.entry(idx).expire_at,
                    SetTtl::At(t) => Some(t),
                };
                s.entry_mut(idx).value = value;
                s.set_expire(idx, expire_at);
                if expire_at.is_some_and(|t| t <= now) {
                    s.remove(idx);
                }
            }
            None => {
                let expire_at = match opts.ttl {
                    SetTtl::At(t) => Some(t),
                    _ => None,
                };
                if expire_at.is_none_or(|t| t > now) {
                    s.insert(Bytes::copy_from_slice(key), h, value, expire_at);
                }
            }
        }
        Ok(SetOutcome { written: true, old })
    }

    /// GETEX: GET that may also change the TTL.
    pub fn getex(
        &self,
        key: &[u8],
        change: Option<TtlChange>,
        now: u64,
    ) -> Result<Option<Bytes>, EngineError> {
        let (h, mut s) = self.lock(key);
        let Some(idx) = s.lookup_read(h, key, now) else {
            return Ok(None);
        };
        let value = as_str(&s.entry(idx).value)?.clone();
        match change {
            None => 0,
            Some(TtlChange::At(t)) if t <= now => self.log_op(&Op::Del { key })?,
            Some(TtlChange::At(t)) => self.log_op(&Op::Expire {
                key,
                expire_at: Some(t),
            })?,
            Some(TtlChange::Persist) => self.log_op(&Op::Expire {
                key,
                expire_at: None,
            })?,
        };
        match change {
            None => {}
            Some(TtlChange::Persist) => s.set_expire(idx, None),
            Some(TtlChange::At(t)) if t <= now => {
                s.remove(idx);
            }
            Some(TtlChange::At(t)) => s.set_expire(idx, Some(t)),
        }
        Ok(Some(value))
    }

    /// GETDEL.
    pub fn getdel(&self, key: &[u8], now: u64) -> Result<Option<Bytes>, EngineError> {
        let (h, mut s) = self.lock(key);
        let Some(idx) = s.lookup_read(h, key, now) else {
            return Ok(None);
        };
        let value = as_str(&s.entry(idx).value)?.clone();
        self.log_op(&Op::Del { key })?;
        s.remove(idx);
        Ok(Some(value))
    }

    /// DELEX key IFEQ/IFNE/IFDEQ/IFDNE value: deletes a string key when
    /// `cond` holds; true when deleted. `WrongType` for another type.
    pub fn del_if(&self, key: &[u8], cond: ValueCond<'_>, now: u64) -> Result<bool, EngineError> {
        let (h, mut s) = self.lock(key);
        let Some(idx) = s.lookup(h, key, now) else {
            return Ok(false);
        };
        if !cond.holds(Some(as_str(&s.entry(idx).value)?)) {
            return Ok(false);
        }
        self.log_op(&Op::Del { key })?;
        s.remove(idx);
        Ok(true)
    }

    /// MGET: values of string keys, `None` for missing keys and other types.
    pub fn mget(&self, keys: &[Bytes], now: u64) -> Vec<Option<Bytes>> {
        let (hashes, mut locked) = self.lock_many(keys.iter().map(|k| &k[..]));
        keys.iter()
            .zip(&hashes)
            .map(|(k, &h)| {
                let s = locked.shard(h);
                let idx = s.lookup_read(h, k, now)?;
                as_str(&s.entry(idx).value).ok().cloned()
            })
            .collect()
    }

    /// MSET (with `only_if_none_exist`, MSETNX). Atomic: all pairs or none.
    /// Returns whether the values were written.
    pub fn mset(
        &self,
        pairs: &[(Bytes, Bytes)],
        cond: SetCond,
        ttl: SetTtl,
        now: u64,
    ) -> Result<bool, EngineError> {
        let (hashes, mut locked) = self.lock_many(pairs.iter().map(|(k, _)| &k[..]));
        let exists = |locked: &mut super::db::Locked<'_>, (k, h): (&Bytes, u64)| {
            locked.shard(h).lookup(h, k, now).is_some()
        };
        let keys = || pairs.iter().map(|(k, _)| k).zip(hashes.iter().copied());
        let allowed = match cond {
            SetCond::Always => true,
            SetCond::IfMissing => !keys().any(|kh| exists(&mut locked, kh)),
            SetCond::IfExists => keys().all(|kh| exists(&mut locked, kh)),
        };
        if !allowed {
            return Ok(false);
        }
        // Each key's deadline after the write (KEEPTTL: its own).
        let deadlines: Vec<Option<u64>> = pairs
            .iter()
            .zip(&hashes)
            .map(|((k, _), &h)| match ttl {
                SetTtl::Clear => None,
                SetTtl::At(t) => Some(t),
                SetTtl::Keep => {
                    let s = locked.shard(h);
                    s.lookup(h, k, now).and_then(|idx| s.entry(idx).expire_at)
                }
            })
            .collect();
        self.log(|r| {
            for ((key, value), &expire_at) in pairs.iter().zip(&deadlines) {
                if expire_at.is_some_and(|t| t <= now) {
                    r.push(&Op::Del { key });
                } else {
                    r.push(&Op::Set {
                        key,
                        value,
                        expire_at,
                    });
                }
            }
        })?;
        for (((k, v), &h), &expire_at) in pairs.iter().zip(&hashes).zip(&deadlines) {
            let s = locked.shard(h);
            let value = Value::Str(Bytes::copy_from_slice(v));
            let past = expire_at.is_some_and(|t| t <= now);
            match s.lookup(h, k, now) {
                Some(idx) if past => {
                    s.remove(idx);
                }
                Some(idx) => {
                    s.entry_mut(idx).value = value;
                    s.set_expire(idx, expire_at);
                }
                None if past => {}
                None => {
                    s.insert(Bytes::copy_from_slice(k), h, value, expire_at);
                }
            }
        }
        Ok(true)
    }

    /// Applies `f` to the string value of `key` (or `None` when missing) and
    /// stores what it returns, keeping the TTL. Returns `f`'s second result.
    /// The change is logged as `delta` when the key existed (APPEND and
    /// SETRANGE log only the bytes they add), else as the new value.
    fn update_str<T>(
        &self,
        key: &[u8],
        now: u64,
        delta: Option<Op<'_>>,
        f: impl FnOnce(Option<Bytes>) -> Result<(Option<Bytes>, T), EngineError>,
    ) -> Result<T, EngineError> {
        let (h, mut s) = self.lock(key);
        let found = s.lookup(h, key, now);
        let current = match found {
            Some(idx) => Some(as_str(&s.entry(idx).value)?.clone()),
            None => None,
        };
        let (new, out) = f(current)?;
        if let Some(new) = &new {
            match (found, delta) {
                (Some(_), Some(op)) => self.log_op(&op)?,
                (Some(_), None) => self.log_op(&Op::SetKeepTtl { key, value: new })?,
                (None, _) => self.log_op(&Op::Set {
                    key,
                    value: new,
                    expire_at: None,
                })?,
            };
        }
        if let Some(new) = new {
            match found {
                Some(idx) => s.entry_mut(idx).value = Value::Str(new),
                None => {
                    s.insert(Bytes::copy_from_slice(key), h, Value::Str(new), None);
                }
            }
        }
        Ok(out)
    }

    /// Changes part of the string at `key` (SETBIT, BITFIELD): `f` sees
    /// the current value (None: missing) and returns a patch, `(offset,
    /// bytes)` written there (the string zero-padded as needed), or None
    /// to change nothing. The patch is logged as SETRANGE (the key's TTL
    /// stays), a new key as SET; the string is changed in place when no
    /// one else holds it, so a patch costs its size, not the string's.
    pub fn patch_string<T>(
        &self,
        key: &[u8],
        max_len: usize,
        now: u64,
        f: impl FnOnce(Option<&[u8]>) -> Result<(Option<(usize, Vec<u8>)>, T), EngineError>,
    ) -> Result<T, EngineError> {
        let (h, mut s) = self.lock(key);
        let found = s.lookup(h, key, now);
        let current = match found {
            Some(idx) => Some(as_str(&s.entry(idx).value)?),
            None => None,
        };
        let (patch, out) = f(current.map(|b| &b[..]))?;
        let Some((offset, data)) = patch else {
            return Ok(out);
        };
        let end = offset
            .checked_add(data.len())
            .ok_or(EngineError::StringTooLong)?;
        if end > max_len {
            return Err(EngineError::StringTooLong);
        }
        match found {
            Some(idx) => {
                self.log_op(&Op::SetRange {
                    key,
                    offset: offset as u64,
                    data: &data,
                })?;
                let e = s.entry_mut(idx);
                let Value::Str(b) = &mut e.value else {
                    unreachable!("checked above")
                };
                let mut m = std::mem::take(b)
                    .try_into_mut()
                    .unwrap_or_else(|b| BytesMut::from(&b[..]));
                if m.len() < end {
                    m.resize(end, 0);
                }
                m[offset..end].copy_from_slice(&data);
                *b = m.freeze();
            }
            None => {
                let mut v = vec![0u8; end];
                v[offset..].copy_from_slice(&data);
                self.log_op(&Op::Set {
                    key,
                    value: &v,
                    expire_at: None,
                })?;
                s.insert(
                    Bytes::copy_from_slice(key),
                    h,
                    Value::Str(Bytes::from(v)),
                    None,
                );
            }
        }
        Ok(out)
    }

    /// INCRBY (INCR, DECR, DECRBY are this with ±1 or a negated delta).
    pub fn incr_by(&self, key: &[u8], delta: i64, now: u64) -> Result<i64, EngineError> {
        self.update_str(key, now, None, |cur| {
            let base = match cur {
                None => 0,
                Some(b) => vexlake_int(&b).ok_or(EngineError::NotInteger)?,
            };
            let v = base.checked_add(delta).ok_or(EngineError::Overflow)?;
            let mut buf = itoa_buf(v);
            Ok((Some(buf.split().freeze()), v))
        })
    }

    /// INCRBYFLOAT; returns the new value as text.
    pub fn incr_by_float(&self, key: &[u8], delta: f64, now: u64) -> Result<Bytes, EngineError> {
        self.update_str(key, now, None, |cur| {
            let base = match cur {
                None => 0.0,
                Some(b) => parse_float(&b).ok_or(EngineError::NotFloat)?,
            };
            let v = base + delta;
            if !v.is_finite() {
                return Err(EngineError::NanOrInfinity);
            }
            let text = Bytes::from(format!("{v}"));
            Ok((Some(text.clone()), text))
        })
    }

    /// APPEND; returns the new length.
    pub fn append(
        &self,
        key: &[u8],
        data: &[u8],
        max_len: usize,
        now: u64,
    ) -> Result<usize, EngineError> {
        self.update_str(key, now, Some(Op::Append { key, data }), |cur| {
            let cur = cur.unwrap_or_default();
            if cur.len() + data.len() > max_len {
                return Err(EngineError::StringTooLong);
            }
            let mut m = cur
                .try_into_mut()
                .unwrap_or_else(|b| BytesMut::from(&b[..]));
            m.extend_from_slice(data);
            let len = m.len();
            Ok((Some(m.freeze()), len))
        })
    }

    /// STRLEN.
    pub fn strlen(&self, key: &[u8], now: u64) -> Result<usize, EngineError> {
        Ok(self.get(key, now)?.map_or(0, |b| b.len()))
    }

    /// GETRANGE with Redis's index rules (negative = from the end, clamped).
    pub fn getrange(
        &self,
        key: &[u8],
        start: i64,
        end: i64,
        now: u64,
    ) -> Result<Bytes, EngineError> {
        let Some(v) = self.get(key, now)? else {
            return Ok(Bytes::new());
        };
        let len = v.len() as i64;
        if len == 0 || (start < 0 && end < 0 && start > end) {
            return Ok(Bytes::new());
        }
        let mut s = if start < 0 { len + start } else { start };
        let mut e = if end < 0 { len + end } else { end };
        s = s.max(0);
        e = e.max(0);
        if e >= len {
            e = len - 1;
        }
        if s > e {
            return Ok(Bytes::new());
        }
        Ok(v.slice(s as usize..=e as usize))
    }

    /// SETRANGE; returns the new length. A missing key with empty `data`
    /// is not created (Redis behaviour).
    pub fn setrange(
        &self,
        key: &[u8],
        offset: usize,
        data: &[u8],
        max_len: usize,
        now: u64,
    ) -> Result<usize, EngineError> {
        let delta = Op::SetRange {
            key,
            offset: offset as u64,
            data,
        };
        self.update_str(key, now, Some(delta), |cur| {
            let cur_len = cur.as_ref().map_or(0, |b| b.len());
            if data.is_empty() {
                return Ok((None, cur_len));
            }
            let end = offset
                .checked_add(data.len())
                .ok_or(EngineError::StringTooLong)?;
            if end > max_len {
                return Err(EngineError::StringTooLong);
            }
            let mut m = match cur {
                Some(b) => b.try_into_mut().unwrap_or_else(|b| BytesMut::from(&b[..])),
                None => BytesMut::new(),
            };
            if m.len() < end {
                m.resize(end, 0);
            }
            m[offset..end].copy_from_slice(data);
            let len = m.len();
            Ok((Some(m.freeze()), len))
        })
    }
}

fn vexlake_int(b: &[u8]) -> Option<i64> {
    // Same strict syntax as command arguments.
    let s = std::str::from_utf8(b).ok()?;
    if s.is_empty() || s.len() > 20 || s.starts_with('+') || s.trim() != s {
        return None;
    }
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || (digits.starts_with('0') && (digits.len() > 1 || s.starts_with('-'))) {
        return None;
    }
    s.parse().ok()
}

fn parse_float(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    if s.is_empty() || s.trim() != s {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    (!v.is_nan()).then_some(v)
}

fn itoa_buf(v: i64) -> BytesMut {
    let mut b = itoa::Buffer::new();
    BytesMut::from(b.format(v).as_bytes())
}
