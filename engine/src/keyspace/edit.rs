//! Changes to collections (hashes, sets, lists, sorted sets) as *edits*, and the one
//! way they are made: [`Db::edit`] and [`Db::edit_keys`].
//!
//! A collection command looks at the current values under the shards'
//! locks and returns its reply plus the edits it makes (HINCRBY: set the
//! field to the new number; SPOP: remove these members; LREM: remove the
//! element at these positions). The edits are logged as one WAL record
//! and then applied by [`apply`], the same function that replays the WAL,
//! so replay reproduces exactly what the command did, without time or
//! randomness. A collection left empty by an edit is removed, as in Redis.

use bytes::Bytes;

use super::db::Db;
use super::shard::Shard;
use super::stream::{StreamOp, StreamValue};
use super::value::{Kind, Value};
use crate::error::EngineError;

/// One change to the value at a key. `B` is `Bytes` when a command builds
/// it, `&[u8]` when the WAL is read back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Edit<B> {
    /// Remove the key.
    Delete,
    /// Set (Some) or remove (None) the key's expiry.
    Expire { at: Option<u64> },
    /// Set a hash field (removing its deadline).
    HSet { field: B, value: B },
    /// Remove a hash field.
    HDel { field: B },
    /// Set (Some) or remove (None) the deadline of a hash field.
    HExpire { field: B, at: Option<u64> },
    /// Add a set member.
    SAdd { member: B },
    /// Remove a set member.
    SRem { member: B },
    /// Push at the head of a list.
    LPush { elem: B },
    /// Push at the tail of a list.
    RPush { elem: B },
    /// Remove `count` elements from the head.
    LPop { count: u64 },
    /// Remove `count` elements from the tail.
    RPop { count: u64 },
    /// Replace the element at `index`.
    LSet { index: u64, elem: B },
    /// Insert before position `index` (`index == len` appends).
    LInsert { index: u64, elem: B },
    /// Remove the element at `index`.
    LRemAt { index: u64 },
    /// Keep only elements `start..end`.
    LTrim { start: u64, end: u64 },
    /// Set the score of a sorted-set member (adding it).
    ZAdd { member: B, score: f64 },
    /// Remove a sorted-set member.
    ZRem { member: B },
    /// A change to a stream: a [`StreamOp`] in its encoded form.
    Stream { op: B },
}

impl<B: AsRef<[u8]>> Edit<B> {
    /// The same edit borrowing its bytes.
    pub fn as_ref(&self) -> Edit<&[u8]> {
        match self {
            Edit::Delete => Edit::Delete,
            Edit::Expire { at } => Edit::Expire { at: *at },
            Edit::HSet { field, value } => Edit::HSet {
                field: field.as_ref(),
                value: value.as_ref(),
            },
            Edit::HDel { field } => Edit::HDel {
                field: field.as_ref(),
            },
            Edit::HExpire { field, at } => Edit::HExpire {
                field: field.as_ref(),
                at: *at,
            },
            Edit::SAdd { member } => Edit::SAdd {
                member: member.as_ref(),
            },
            Edit::SRem { member } => Edit::SRem {
                member: member.as_ref(),
            },
            Edit::LPush { elem } => Edit::LPush {
                elem: elem.as_ref(),
            },
            Edit::RPush { elem } => Edit::RPush {
                elem: elem.as_ref(),
            },
            Edit::LPop { count } => Edit::LPop { count: *count },
            Edit::RPop { count } => Edit::RPop { count: *count },
            Edit::LSet { index, elem } => Edit::LSet {
                index: *index,
                elem: elem.as_ref(),
            },
            Edit::LInsert { index, elem } => Edit::LInsert {
                index: *index,
                elem: elem.as_ref(),
            },
            Edit::LRemAt { index } => Edit::LRemAt { index: *index },
            Edit::LTrim { start, end } => Edit::LTrim {
                start: *start,
                end: *end,
            },
            Edit::ZAdd { member, score } => Edit::ZAdd {
                member: member.as_ref(),
                score: *score,
            },
            Edit::ZRem { member } => Edit::ZRem {
                member: member.as_ref(),
            },
            Edit::Stream { op } => Edit::Stream { op: op.as_ref() },
        }
    }

    /// The kind of value the edit applies to (None: any).
    fn kind(&self) -> Option<Kind> {
        match self {
            Edit::Delete | Edit::Expire { .. } => None,
            Edit::HSet { .. } | Edit::HDel { .. } | Edit::HExpire { .. } => Some(Kind::Hash),
            Edit::SAdd { .. } | Edit::SRem { .. } => Some(Kind::Set),
            Edit::ZAdd { .. } | Edit::ZRem { .. } => Some(Kind::ZSet),
            Edit::Stream { .. } => Some(Kind::Stream),
            _ => Some(Kind::List),
        }
    }

    /// Whether the edit creates its key when missing.
    fn creates(&self) -> bool {
        matches!(
            self,
            Edit::HSet { .. }
                | Edit::SAdd { .. }
                | Edit::LPush { .. }
                | Edit::RPush { .. }
                | Edit::ZAdd { .. }
                | Edit::Stream { .. }
        )
    }
}

/// The edits that rebuild `value` (a collection) at a key from nothing:
/// what COPY and the *STORE commands log.
pub fn rebuild(value: &Value) -> Vec<Edit<Bytes>> {
    let mut out = vec![Edit::Delete];
    match value {
        Value::Hash(h) => {
            for (f, v) in h.iter() {
                out.push(Edit::HSet {
                    field: Bytes::copy_from_slice(f),
                    value: Bytes::copy_from_slice(v),
                });
                if let Some(at) = h.expire_at(f) {
                    out.push(Edit::HExpire {
                        field: Bytes::copy_from_slice(f),
                        at: Some(at),
                    });
                }
            }
        }
        Value::Set(s) => out.extend(s.iter().map(|m| Edit::SAdd {
            member: Bytes::copy_from_slice(m),
        })),
        Value::List(l) => out.extend(l.iter().map(|e| Edit::RPush {
            elem: Bytes::copy_from_slice(e),
        })),
        Value::ZSet(z) => out.extend(z.iter().map(|(m, score)| Edit::ZAdd {
            member: Bytes::copy_from_slice(m),
            score,
        })),
        Value::Stream(s) => out.extend(stream_rebuild(s)),
        Value::Str(_) | Value::VectorSet(_) => {}
    }
    out
}

/// The stream ops that rebuild `s` from nothing.
fn stream_rebuild(s: &StreamValue) -> Vec<Edit<Bytes>> {
    let mut ops = vec![StreamOp::Create];
    ops.extend(s.entries.iter().map(|(id, f)| StreamOp::Add {
        id: *id,
        fields: f.clone(),
    }));
    ops.push(StreamOp::SetMeta {
        last_id: s.last_id,
        entries_added: s.entries_added,
        max_deleted: s.max_deleted,
    });
    for (name, g) in &s.groups {
        ops.push(StreamOp::GroupSet {
            group: name.clone(),
            last_id: g.last_id,
            entries_read: g.entries_read,
        });
        for (cname, c) in &g.consumers {
            ops.push(StreamOp::ConsumerSet {
                group: name.clone(),
                consumer: cname.clone(),
                seen: c.seen_time,
                active: c.active_time,
            });
        }
        for (id, p) in &g.pel {
            ops.push(StreamOp::Pend {
                group: name.clone(),
                consumer: p.consumer.clone(),
                id: *id,
                time: p.delivery_time,
                count: p.delivery_count,
            });
        }
    }
    ops.into_iter()
        .map(|op| Edit::Stream { op: op.encode() })
        .collect()
}

/// Applies one edit of `key` to `shard` (locked). Live commands apply only
/// edits they checked; on replay an edit meeting another type is an error.
pub(crate) fn apply(
    shard: &mut Shard,
    hash: u64,
    key: &[u8],
    edit: &Edit<&[u8]>,
    now: u64,
) -> Result<(), EngineError> {
    let found = shard.lookup(hash, key, now);
    match *edit {
        Edit::Delete => {
            if let Some(idx) = found {
                shard.remove(idx);
            }
            return Ok(());
        }
        Edit::Expire { at } => {
            if let Some(idx) = found {
                shard.set_expire(idx, at);
                if at.is_some_and(|t| t <= now) {
                    shard.remove(idx);
                }
            }
            return Ok(());
        }
        _ => {}
    }
    let kind = edit.kind().expect("collection edit");
    let idx = match found {
        Some(idx) if shard.entry(idx).value.kind() == kind => idx,
        Some(_) => return Err(EngineError::WrongType),
        None if edit.creates() => {
            let empty = kind.empty().expect("collection kind");
            shard.insert(Bytes::copy_from_slice(key), hash, empty, None)
        }
        None => return Ok(()),
    };
    let mut earlier_deadline = false;
    let entry = shard.entry_mut(idx);
    match (&mut entry.value, *edit) {
        (Value::Hash(h), Edit::HSet { field, value }) => {
            std::sync::Arc::make_mut(h).set(field, value);
        }
        (Value::Hash(h), Edit::HDel { field }) => {
            std::sync::Arc::make_mut(h).remove(field);
        }
        (Value::Hash(h), Edit::HExpire { field, at }) => {
            let h = std::sync::Arc::make_mut(h);
            if at.is_some_and(|t| t <= now) {
                h.remove(field);
            } else {
                let before = h.next_expiry();
                h.set_expire(field, at);
                earlier_deadline = h.next_expiry() < before;
            }
        }
        (Value::Set(s), Edit::SAdd { member }) => {
            std::sync::Arc::make_mut(s).insert(member);
        }
        (Value::Set(s), Edit::SRem { member }) => {
            std::sync::Arc::make_mut(s).remove(member);
        }
        (Value::ZSet(z), Edit::ZAdd { member, score }) => {
            std::sync::Arc::make_mut(z).insert(member, score);
        }
        (Value::ZSet(z), Edit::ZRem { member }) => {
            std::sync::Arc::make_mut(z).remove(member);
        }
        (Value::Stream(st), Edit::Stream { op }) => {
            let op = StreamOp::decode(op).ok_or(EngineError::Refused("corrupt stream record"))?;
            std::sync::Arc::make_mut(st).apply(&op);
        }
        (Value::List(l), e) => {
            let l = std::sync::Arc::make_mut(l);
            match e {
                Edit::LPush { elem } => l.push_front(elem),
                Edit::RPush { elem } => l.push_back(elem),
                Edit::LPop { count } => l.pop_front(count as usize),
                Edit::RPop { count } => l.pop_back(count as usize),
                Edit::LSet { index, elem } => l.set(index as usize, elem),
                Edit::LInsert { index, elem } => l.insert(index as usize, elem),
                Edit::LRemAt { index } => l.remove(index as usize),
                Edit::LTrim { start, end } => l.retain_range(start as usize, end as usize),
                _ => unreachable!("list edits only"),
            }
        }
        _ => unreachable!("kind checked above"),
    }
    if entry.value.is_empty_collection() {
        shard.remove(idx);
    } else if earlier_deadline {
        shard.note_field_deadline(idx);
    }
    Ok(())
}

/// What a command's closure returns: its result and the edits to make, as
/// (index into the keys given, edit).
pub type Edits = Vec<(usize, Edit<Bytes>)>;

impl Db {
    /// Runs `f` on the value at `key` (None: missing) under the shard's
    /// lock, counting a keyspace hit or miss; for read-only commands.
    pub fn view<R>(&self, key: &[u8], now: u64, f: impl FnOnce(Option<&Value>) -> R) -> R {
        let (h, mut s) = self.lock(key);
        match s.lookup_read(h, key, now) {
            Some(idx) => f(Some(&s.entry(idx).value)),
            None => f(None),
        }
    }

    /// Runs `f` on the value at `key` under the shard's lock; logs the
    /// edits it returns as one WAL record, then applies them. Returns
    /// `f`'s result (nothing is logged or changed when `f` fails).
    pub fn edit<R>(
        &self,
        key: &[u8],
        now: u64,
        f: impl FnOnce(Option<&Value>) -> Result<(R, Vec<Edit<Bytes>>), EngineError>,
    ) -> Result<R, EngineError> {
        let (h, mut s) = self.lock(key);
        let found = s.lookup(h, key, now);
        let (r, edits) = f(found.map(|i| &s.entry(i).value))?;
        if edits.is_empty() {
            return Ok(r);
        }
        self.log(|rec| {
            for e in &edits {
                rec.push_edit(key, &e.as_ref());
            }
        })?;
        for e in &edits {
            apply(&mut s, h, key, &e.as_ref(), now)?;
        }
        Ok(r)
    }

    /// Like [`Db::edit`] over several keys (locked together, in shard
    /// order): `f` gets their values in the order of `keys` (a key named
    /// twice appears twice) and returns edits naming keys by position.
    pub fn edit_keys<R>(
        &self,
        keys: &[&[u8]],
        now: u64,
        f: impl FnOnce(&[Option<Value>]) -> Result<(R, Edits), EngineError>,
    ) -> Result<R, EngineError> {
        let (hashes, mut locked) = self.lock_many(keys.iter().copied());
        let values: Vec<Option<Value>> = keys
            .iter()
            .zip(&hashes)
            .map(|(k, &h)| {
                let s = locked.shard(h);
                s.lookup(h, k, now).map(|i| s.entry(i).value.clone())
            })
            .collect();
        let result = f(&values);
        // The clones must be gone before edits copy-on-write the values.
        drop(values);
        let (r, edits) = result?;
        if edits.is_empty() {
            return Ok(r);
        }
        self.log(|rec| {
            for (i, e) in &edits {
                rec.push_edit(keys[*i], &e.as_ref());
            }
        })?;
        for (i, e) in &edits {
            let h = hashes[*i];
            apply(locked.shard(h), h, keys[*i], &e.as_ref(), now)?;
        }
        Ok(r)
    }

    /// Applies an edit read back from the WAL.
    pub(crate) fn replay_edit(
        &self,
        key: &[u8],
        edit: &Edit<&[u8]>,
        now: u64,
    ) -> Result<(), EngineError> {
        let (h, mut s) = self.lock(key);
        apply(&mut s, h, key, edit, now)
    }
}
