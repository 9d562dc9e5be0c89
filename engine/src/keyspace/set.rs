//! A set value (SADD and friends). A small set is packed in one buffer
//! ([`super::packed`]): integers in ascending order while every member is
//! one (Redis's intset), else in insertion order (Redis's listpack). A big
//! set is an index set: O(1) membership, removal and random access (SPOP,
//! SRANDMEMBER).

use bytes::Bytes;
use indexmap::IndexSet;

use super::packed::{Either, Packed, limits};

/// The members of a set.
#[derive(Debug, Clone)]
pub struct SetValue {
    members: Members,
}

#[derive(Debug, Clone)]
enum Members {
    /// `ints`: every member is an integer, and they are in order.
    Packed {
        items: Packed,
        ints: bool,
    },
    Table(Box<IndexSet<Bytes, foldhash::fast::RandomState>>),
}

impl Default for SetValue {
    fn default() -> Self {
        SetValue {
            members: Members::Packed {
                items: Packed::new(),
                ints: true,
            },
        }
    }
}

impl SetValue {
    /// An empty set.
    pub fn new() -> Self {
        SetValue::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.members {
            Members::Packed { items, .. } => items.len(),
            Members::Table(t) => t.len(),
        }
    }

    /// True when there is no member.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True while the set is in its packed form.
    pub fn is_packed(&self) -> bool {
        matches!(self.members, Members::Packed { .. })
    }

    /// Whether `m` is a member.
    pub fn contains(&self, m: &[u8]) -> bool {
        match &self.members {
            Members::Packed { items, .. } => items.position(|_, it| it == m).is_some(),
            Members::Table(t) => t.contains(m),
        }
    }

    /// The member at position `i`.
    pub fn get_index(&self, i: usize) -> Option<&[u8]> {
        match &self.members {
            Members::Packed { items, .. } => items.get(i),
            Members::Table(t) => t.get_index(i).map(|m| &m[..]),
        }
    }

    /// Members in storage order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        match &self.members {
            Members::Packed { items, .. } => Either::Packed(items.iter()),
            Members::Table(t) => Either::Table(t.iter().map(|m| &m[..])),
        }
    }

    /// Adds `m`; true when it is new.
    pub fn insert(&mut self, m: &[u8]) -> bool {
        let l = limits();
        match &mut self.members {
            Members::Packed { items, ints } => {
                if items.position(|_, it| it == m).is_some() {
                    return false;
                }
                let n = if *ints { canonical_int(m) } else { None };
                match n {
                    Some(n) if *ints => {
                        let at = items
                            .position(|_, it| canonical_int(it).is_some_and(|x| x > n))
                            .map_or(usize::MAX, |(at, _)| at);
                        if at == usize::MAX {
                            items.push(&[m]);
                        } else {
                            items.insert(at, &[m]);
                        }
                    }
                    _ => {
                        *ints = false;
                        items.push(&[m]);
                    }
                }
                let fits = if *ints {
                    items.len() <= l.set_intset_entries
                } else {
                    items.len() <= l.set_entries && m.len() <= l.set_value
                };
                if !fits {
                    let t = items.iter().map(Bytes::copy_from_slice).collect();
                    self.members = Members::Table(Box::new(t));
                }
                true
            }
            Members::Table(t) => {
                if t.contains(m) {
                    return false;
                }
                t.insert(Bytes::copy_from_slice(m))
            }
        }
    }

    /// Removes `m`; true when it was a member.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match &mut self.members {
            Members::Packed { items, .. } => match items.position(|_, it| it == m) {
                Some((at, _)) => {
                    items.remove(at, 1);
                    true
                }
                None => false,
            },
            Members::Table(t) => t.swap_remove(m),
        }
    }

    /// Whether every member is an integer that fits in 64 bits (Redis's
    /// `intset` encoding).
    pub fn all_integers(&self) -> bool {
        match &self.members {
            Members::Packed { ints, .. } => *ints,
            Members::Table(t) => t.iter().all(|m| canonical_int(m).is_some()),
        }
    }

    /// Bytes of member data, plus a per-member overhead estimate.
    pub fn memory_bytes(&self) -> usize {
        const PER_MEMBER: usize = 56;
        match &self.members {
            Members::Packed { items, .. } => items.allocated() + 40,
            Members::Table(t) => t.iter().map(|m| m.len() + PER_MEMBER).sum(),
        }
    }
}

/// `m` as an integer when it is one in canonical form (no sign on zero,
/// no leading zeros or spaces), as Redis's intset accepts.
fn canonical_int(m: &[u8]) -> Option<i64> {
    let digits = m.strip_prefix(b"-").unwrap_or(m);
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits[0] == b'0' && m.len() > 1 {
        return None;
    }
    std::str::from_utf8(m).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_sets_keep_integers_in_order_then_move_to_a_table() {
        let mut s = SetValue::new();
        for m in ["10", "-3", "7", "10"] {
            s.insert(m.as_bytes());
        }
        assert!(s.is_packed() && s.all_integers());
        assert_eq!(s.iter().collect::<Vec<_>>(), [&b"-3"[..], b"7", b"10"]);
        assert!(s.insert(b"x") && !s.all_integers());
        assert_eq!(s.iter().last(), Some(&b"x"[..]));
        assert!(s.remove(b"7") && !s.remove(b"7") && s.contains(b"x"));
        for i in 0..200 {
            s.insert(format!("m{i}").as_bytes());
        }
        assert!(!s.is_packed() && s.len() == 203 && s.contains(b"-3") && s.contains(b"m199"));
        let mut big = SetValue::new();
        big.insert(&[b'a'; 65]);
        assert!(!big.is_packed());
    }
}
