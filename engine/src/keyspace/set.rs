//! A set value (SADD and friends): members in insertion order with O(1)
//! membership, removal and random access (SPOP, SRANDMEMBER).

use bytes::Bytes;
use indexmap::IndexSet;

/// The members of a set.
#[derive(Debug, Clone, Default)]
pub struct SetValue {
    members: IndexSet<Bytes, foldhash::fast::RandomState>,
}

impl SetValue {
    /// An empty set.
    pub fn new() -> Self {
        SetValue::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True when there is no member.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Whether `m` is a member.
    pub fn contains(&self, m: &[u8]) -> bool {
        self.members.contains(m)
    }

    /// The member at position `i`.
    pub fn get_index(&self, i: usize) -> Option<&Bytes> {
        self.members.get_index(i)
    }

    /// Members in storage order.
    pub fn iter(&self) -> impl Iterator<Item = &Bytes> {
        self.members.iter()
    }

    /// Adds `m`; true when it is new.
    pub fn insert(&mut self, m: &[u8]) -> bool {
        if self.members.contains(m) {
            return false;
        }
        self.members.insert(Bytes::copy_from_slice(m))
    }

    /// Removes `m`; true when it was a member.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        self.members.swap_remove(m)
    }

    /// Whether every member is an integer that fits in 64 bits (Redis's
    /// `intset` encoding).
    pub fn all_integers(&self) -> bool {
        self.members.iter().all(|m| canonical_int(m).is_some())
    }

    /// Bytes of member data, plus a per-member overhead estimate.
    pub fn memory_bytes(&self) -> usize {
        const PER_MEMBER: usize = 56;
        self.members.iter().map(|m| m.len() + PER_MEMBER).sum()
    }
}

/// `m` as an integer when it is one in canonical form (no sign on zero,
/// no leading zeros or spaces), as Redis's intset accepts.
fn canonical_int(m: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(m).ok()?;
    let n: i64 = s.parse().ok()?;
    (n.to_string() == s).then_some(n)
}
