//! A hash value: fields and values in insertion order, plus the expiry of
//! the fields that have one (HEXPIRE and friends, Redis 7.4). A small hash
//! is packed in one buffer ([`super::packed`]); a big one is an index map
//! (O(1) lookups and random access for HRANDFIELD).
//!
//! Expired fields are removed when the key is looked up (`Shard::lookup`
//! calls [`HashValue::purge`] once the earliest deadline has passed), so
//! commands only ever see live fields. Field expiry is not logged: the
//! deadlines are (`HExpire` edits), and a replay or restore removes the
//! same fields.

use bytes::Bytes;
use hashbrown::HashMap;
use indexmap::IndexMap;

use super::packed::{Either, Packed, limits};

/// The fields of a hash.
#[derive(Debug, Clone, Default)]
pub struct HashValue {
    fields: Fields,
    /// The deadlines of fields, when any field has one.
    ttl: Option<Box<FieldTtl>>,
}

/// Fields and values: packed in one buffer (field, value, field, ...)
/// while the hash is small, then a hash table.
#[derive(Debug, Clone)]
enum Fields {
    Packed(Packed),
    Table(Box<IndexMap<Bytes, Bytes, foldhash::fast::RandomState>>),
}

impl Default for Fields {
    fn default() -> Self {
        Fields::Packed(Packed::new())
    }
}

#[derive(Debug, Clone)]
struct FieldTtl {
    /// Deadline (Unix ms) of each field that has one.
    at: HashMap<Bytes, u64>,
    /// The earliest deadline in `at`.
    next: u64,
}

impl HashValue {
    /// An empty hash.
    pub fn new() -> Self {
        HashValue::default()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match &self.fields {
            Fields::Packed(p) => p.len() / 2,
            Fields::Table(t) => t.len(),
        }
    }

    /// True when there is no field.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True while the hash is in its packed form (Redis's listpack).
    pub fn is_packed(&self) -> bool {
        matches!(self.fields, Fields::Packed(_))
    }

    /// The byte offset of `field` in the packed form and its value.
    fn find<'a>(p: &'a Packed, field: &[u8]) -> Option<(usize, &'a [u8])> {
        let (at, i) = p.position(|i, item| i % 2 == 0 && item == field)?;
        Some((at, p.get(i + 1)?))
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.fields {
            Fields::Packed(p) => Self::find(p, field).map(|(_, v)| v),
            Fields::Table(t) => t.get(field).map(|v| &v[..]),
        }
    }

    /// The field and value at position `i` (`i < len`).
    pub fn get_index(&self, i: usize) -> Option<(&[u8], &[u8])> {
        match &self.fields {
            Fields::Packed(p) => {
                let mut it = p.iter().skip(2 * i);
                Some((it.next()?, it.next()?))
            }
            Fields::Table(t) => t.get_index(i).map(|(f, v)| (&f[..], &v[..])),
        }
    }

    /// Fields and values in insertion order (changed by removals).
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        match &self.fields {
            Fields::Packed(p) => {
                let mut it = p.iter();
                Either::Packed(std::iter::from_fn(move || Some((it.next()?, it.next()?))))
            }
            Fields::Table(t) => Either::Table(t.iter().map(|(f, v)| (&f[..], &v[..]))),
        }
    }

    /// The deadline of `field`, if it has one.
    pub fn expire_at(&self, field: &[u8]) -> Option<u64> {
        self.ttl.as_ref()?.at.get(field).copied()
    }

    /// Number of fields with a deadline.
    pub fn volatile_len(&self) -> usize {
        self.ttl.as_ref().map_or(0, |t| t.at.len())
    }

    /// The earliest field deadline (`u64::MAX` when none).
    pub fn next_expiry(&self) -> u64 {
        self.ttl.as_ref().map_or(u64::MAX, |t| t.next)
    }

    /// Sets `field` to `value`, removing its deadline (as HSET does);
    /// true when the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        self.forget_ttl(field);
        let new = match &mut self.fields {
            Fields::Packed(p) => match Self::find(p, field) {
                Some((at, _)) => {
                    let value_at = at + len_of(field);
                    p.replace(value_at, value);
                    false
                }
                None => {
                    p.push(&[field, value]);
                    true
                }
            },
            Fields::Table(t) => t
                .insert(Bytes::copy_from_slice(field), Bytes::copy_from_slice(value))
                .is_none(),
        };
        let l = limits();
        if self.is_packed()
            && (self.len() > l.hash_entries
                || field.len() > l.hash_value
                || value.len() > l.hash_value)
        {
            self.move_to_table();
        }
        new
    }

    /// Moves the fields to the hash-table form.
    fn move_to_table(&mut self) {
        if self.is_packed() {
            let t = self
                .iter()
                .map(|(f, v)| (Bytes::copy_from_slice(f), Bytes::copy_from_slice(v)))
                .collect();
            self.fields = Fields::Table(Box::new(t));
        }
    }

    /// Removes `field`; true when it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        self.forget_ttl(field);
        match &mut self.fields {
            Fields::Packed(p) => match Self::find(p, field) {
                Some((at, _)) => {
                    p.remove(at, 2);
                    true
                }
                None => false,
            },
            Fields::Table(t) => t.swap_remove(field).is_some(),
        }
    }

    /// Sets (Some) or removes (None) the deadline of an existing field.
    pub fn set_expire(&mut self, field: &[u8], at: Option<u64>) {
        if self.get(field).is_none() {
            return;
        }
        match at {
            Some(t) => {
                let ttl = self.ttl.get_or_insert_with(|| {
                    Box::new(FieldTtl {
                        at: HashMap::new(),
                        next: u64::MAX,
                    })
                });
                ttl.at.insert(Bytes::copy_from_slice(field), t);
                ttl.next = ttl.next.min(t);
            }
            None => self.forget_ttl(field),
        }
    }

    fn forget_ttl(&mut self, field: &[u8]) {
        if let Some(ttl) = &mut self.ttl
            && ttl.at.remove(field).is_some()
            && ttl.at.is_empty()
        {
            self.ttl = None;
        }
    }

    /// Removes the fields whose deadline is at or before `now`; returns
    /// how many.
    pub fn purge(&mut self, now: u64) -> usize {
        if self.next_expiry() > now {
            return 0;
        }
        let gone: Vec<Bytes> = self
            .ttl
            .iter()
            .flat_map(|t| t.at.iter())
            .filter(|(_, t)| **t <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &gone {
            self.remove(k);
        }
        if let Some(ttl) = &mut self.ttl {
            ttl.next = ttl.at.values().copied().min().unwrap_or(u64::MAX);
        }
        gone.len()
    }

    /// Bytes of field and value data, plus a per-field overhead estimate.
    pub fn memory_bytes(&self) -> usize {
        const PER_FIELD: usize = 96;
        let fields = match &self.fields {
            Fields::Packed(p) => p.allocated() + 48,
            Fields::Table(t) => t.iter().map(|(k, v)| k.len() + v.len() + PER_FIELD).sum(),
        };
        fields + self.volatile_len() * 48
    }
}

/// Bytes an item of `item`'s length takes packed.
fn len_of(item: &[u8]) -> usize {
    let mut n = item.len();
    let mut bytes = 1;
    while n >= 0x80 {
        n >>= 7;
        bytes += 1;
    }
    bytes + item.len()
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

    #[test]
    fn a_hash_moves_to_a_table_when_it_outgrows_the_packed_limits() {
        let mut h = HashValue::new();
        for i in 0..128 {
            h.set(format!("f{i}").as_bytes(), b"v");
        }
        assert!(h.is_packed());
        h.set(b"f3", b"changed");
        h.set_expire(b"f5", Some(10));
        assert!(h.remove(b"f0"));
        let before: Vec<(Vec<u8>, Vec<u8>)> =
            h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        h.set(b"one more", b"v");
        assert!(h.is_packed());
        h.set(b"two more", b"v");
        assert!(!h.is_packed());
        let after: Vec<(Vec<u8>, Vec<u8>)> =
            h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        assert_eq!(after[..127], before[..], "the order is kept");
        assert_eq!(h.get(b"f3"), Some(&b"changed"[..]));
        assert_eq!(h.expire_at(b"f5"), Some(10));
        assert_eq!(h.purge(10), 1);
        let mut long = HashValue::new();
        long.set(b"f", &[b'x'; 65]);
        assert!(!long.is_packed() && long.len() == 1);
    }
}
