//! A hash value: fields and values in insertion order (with O(1) random
//! access for HRANDFIELD), plus the expiry of the fields that have one
//! (HEXPIRE and friends, Redis 7.4).
//!
//! Expired fields are removed when the key is looked up (`Shard::lookup`
//! calls [`HashValue::purge`] once the earliest deadline has passed), so
//! commands only ever see live fields. Field expiry is not logged: the
//! deadlines are (`HExpire` edits), and a replay or restore removes the
//! same fields.

use bytes::Bytes;
use hashbrown::HashMap;
use indexmap::IndexMap;

/// The fields of a hash.
#[derive(Debug, Clone, Default)]
pub struct HashValue {
    fields: IndexMap<Bytes, Bytes, foldhash::fast::RandomState>,
    /// Deadline (Unix ms) of each field that has one.
    ttl: HashMap<Bytes, u64>,
    /// The earliest deadline in `ttl` (`u64::MAX` when none).
    next_expiry: u64,
}

impl HashValue {
    /// An empty hash.
    pub fn new() -> Self {
        HashValue {
            next_expiry: u64::MAX,
            ..HashValue::default()
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when there is no field.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&Bytes> {
        self.fields.get(field)
    }

    /// The field and value at position `i` (`i < len`).
    pub fn get_index(&self, i: usize) -> Option<(&Bytes, &Bytes)> {
        self.fields.get_index(i)
    }

    /// Fields and values in insertion order (changed by removals).
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &Bytes)> {
        self.fields.iter()
    }

    /// The deadline of `field`, if it has one.
    pub fn expire_at(&self, field: &[u8]) -> Option<u64> {
        self.ttl.get(field).copied()
    }

    /// Number of fields with a deadline.
    pub fn volatile_len(&self) -> usize {
        self.ttl.len()
    }

    /// The earliest field deadline (`u64::MAX` when none).
    pub fn next_expiry(&self) -> u64 {
        self.next_expiry
    }

    /// Sets `field` to `value`, removing its deadline (as HSET does);
    /// true when the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        self.forget_ttl(field);
        self.fields
            .insert(Bytes::copy_from_slice(field), Bytes::copy_from_slice(value))
            .is_none()
    }

    /// Removes `field`; true when it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        self.forget_ttl(field);
        self.fields.swap_remove(field).is_some()
    }

    /// Sets (Some) or removes (None) the deadline of an existing field.
    pub fn set_expire(&mut self, field: &[u8], at: Option<u64>) {
        let Some((k, _)) = self.fields.get_key_value(field) else {
            return;
        };
        match at {
            Some(t) => {
                let k = k.clone();
                self.ttl.insert(k, t);
                self.next_expiry = self.next_expiry.min(t);
            }
            None => self.forget_ttl(field),
        }
    }

    fn forget_ttl(&mut self, field: &[u8]) {
        if self.ttl.remove(field).is_some() && self.ttl.is_empty() {
            self.next_expiry = u64::MAX;
        }
    }

    /// Removes the fields whose deadline is at or before `now`; returns
    /// how many.
    pub fn purge(&mut self, now: u64) -> usize {
        if self.next_expiry > now {
            return 0;
        }
        let gone: Vec<Bytes> = self
            .ttl
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &gone {
            self.ttl.remove(k);
            self.fields.swap_remove(k);
        }
        self.next_expiry = self.ttl.values().copied().min().unwrap_or(u64::MAX);
        gone.len()
    }

    /// Bytes of field and value data, plus a per-field overhead estimate.
    pub fn memory_bytes(&self) -> usize {
        const PER_FIELD: usize = 96;
        self.fields
            .iter()
            .map(|(k, v)| k.len() + v.len() + PER_FIELD)
            .sum::<usize>()
            + self.ttl.len() * 48
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_expire_and_set_clears_the_deadline() {
        let mut h = HashValue::new();
        assert!(h.set(b"a", b"1"));
        assert!(!h.set(b"a", b"2"));
        h.set(b"b", b"3");
        h.set_expire(b"a", Some(100));
        h.set_expire(b"b", Some(200));
        h.set_expire(b"missing", Some(50));
        assert_eq!(h.volatile_len(), 2);
        assert_eq!(h.next_expiry(), 100);
        assert_eq!(h.purge(99), 0);
        assert_eq!(h.purge(100), 1);
        assert_eq!(h.get(b"a"), None);
        assert_eq!(h.next_expiry(), 200);
        h.set(b"b", b"4");
        assert_eq!(h.expire_at(b"b"), None);
        assert_eq!(h.next_expiry(), u64::MAX);
        assert_eq!(h.purge(1_000), 0);
        assert!(h.remove(b"b"));
        assert!(h.is_empty());
    }
}
