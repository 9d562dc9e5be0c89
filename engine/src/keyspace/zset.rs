//! A sorted-set value (ZADD and friends): each member's score, and the
//! members ordered by (score, member) for ranges by score, rank and
//! lexicographic order.
//!
//! A small sorted set is packed in one buffer in (score, member) order
//! ([`super::packed`], Redis's listpack). A big one keeps a map of scores
//! and an ordered set of (score, member); members are `Bytes`, so the two
//! share one copy of each. Rank queries walk the ordered set from the
//! nearer end (O(rank)), unlike Redis's skip list (O(log n)); ranges from
//! either end cost what they return.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::ops::Bound;

use bytes::Bytes;
use indexmap::IndexMap;

use super::packed::{Either, Packed, limits};

/// A score with a total order (NaN is never stored; -0 equals 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score(pub f64);

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.partial_cmp(&other.0).unwrap_or(Ordering::Equal)
    }
}

/// Members with their scores, in order, from either end.
pub type ScoreRange<'a> = Either<
    std::vec::IntoIter<(&'a [u8], f64)>,
    std::iter::Map<
        std::collections::btree_set::Range<'a, (Score, Bytes)>,
        fn(&'a (Score, Bytes)) -> (&'a [u8], f64),
    >,
>;

fn pair(e: &(Score, Bytes)) -> (&[u8], f64) {
    (&e.1, e.0.0)
}

/// The members of a sorted set.
#[derive(Debug, Clone, Default)]
pub struct ZSetValue {
    members: Members,
}

/// A small sorted set packs one item per member, in (score, member)
/// order: the score's 8 bytes (little-endian f64), then the member.
#[derive(Debug, Clone)]
enum Members {
    Packed(Packed),
    Table(Box<Table>),
}

impl Default for Members {
    fn default() -> Self {
        Members::Packed(Packed::new())
    }
}

#[derive(Debug, Clone, Default)]
struct Table {
    scores: IndexMap<Bytes, f64, foldhash::fast::RandomState>,
    order: BTreeSet<(Score, Bytes)>,
}

/// A packed item's member and score.
fn unpack(item: &[u8]) -> (&[u8], f64) {
    let (s, m) = item.split_at(8);
    (m, f64::from_le_bytes(s.try_into().expect("8 bytes")))
}

impl ZSetValue {
    /// An empty sorted set.
    pub fn new() -> Self {
        ZSetValue::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.members {
            Members::Packed(p) => p.len(),
            Members::Table(t) => t.scores.len(),
        }
    }

    /// True when there is no member.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True while the sorted set is in its packed form.
    pub fn is_packed(&self) -> bool {
        matches!(self.members, Members::Packed(_))
    }

    /// The byte offset, rank and score of `m` in the packed form.
    fn find(p: &Packed, m: &[u8]) -> Option<(usize, usize, f64)> {
        let mut score = 0.0;
        let (at, rank) = p.position(|_, it| {
            let (member, s) = unpack(it);
            score = s;
            member == m
        })?;
        Some((at, rank, score))
    }

    /// The score of `m`.
    pub fn score(&self, m: &[u8]) -> Option<f64> {
        match &self.members {
            Members::Packed(p) => Self::find(p, m).map(|(_, _, s)| s),
            Members::Table(t) => t.scores.get(m).copied(),
        }
    }

    /// The member and score at storage position `i` (random picks).
    pub fn get_index(&self, i: usize) -> Option<(&[u8], f64)> {
        match &self.members {
            Members::Packed(p) => p.get(i).map(unpack),
            Members::Table(t) => t.scores.get_index(i).map(|(m, s)| (&m[..], *s)),
        }
    }

    /// Members with scores in storage order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], f64)> {
        match &self.members {
            Members::Packed(p) => Either::Packed(p.iter().map(unpack)),
            Members::Table(t) => Either::Table(t.scores.iter().map(|(m, s)| (&m[..], *s))),
        }
    }

    /// Members in (score, member) order.
    pub fn ordered(&self) -> ScoreRange<'_> {
        self.by_score(Bound::Unbounded, Bound::Unbounded)
    }

    /// Members with a score within `lo`..`hi`, ascending (reversible).
    pub fn by_score(&self, lo: Bound<f64>, hi: Bound<f64>) -> ScoreRange<'_> {
        let t = match &self.members {
            Members::Packed(p) => {
                let above = |s: f64| match lo {
                    Bound::Included(l) => s >= l,
                    Bound::Excluded(l) => s > l,
                    Bound::Unbounded => true,
                };
                let below = |s: f64| match hi {
                    Bound::Included(h) => s <= h,
                    Bound::Excluded(h) => s < h,
                    Bound::Unbounded => true,
                };
                let v: Vec<(&[u8], f64)> = p
                    .iter()
                    .map(unpack)
                    .skip_while(|(_, s)| !above(*s))
                    .take_while(|(_, s)| below(*s))
                    .collect();
                return Either::Packed(v.into_iter());
            }
            Members::Table(t) => t,
        };
        // (score, member) keys: the empty member sorts first, so
        // (s, "") is the first key of score s.
        let first = |s: f64| (Score(s), Bytes::new());
        let start = match lo {
            Bound::Included(s) => Bound::Included(first(s)),
            Bound::Excluded(s) if s == f64::INFINITY => {
                return Either::Packed(Vec::new().into_iter());
            }
            Bound::Excluded(s) => Bound::Included(first(s.next_up())),
            Bound::Unbounded => Bound::Unbounded,
        };
        let end = match hi {
            Bound::Included(s) if s == f64::INFINITY => Bound::Unbounded,
            Bound::Included(s) => Bound::Excluded(first(s.next_up())),
            Bound::Excluded(s) => Bound::Excluded(first(s)),
            Bound::Unbounded => Bound::Unbounded,
        };
        let empty = match (&start, &end) {
            (Bound::Included(a), Bound::Included(b)) => a > b,
            (Bound::Included(a), Bound::Excluded(b)) => a >= b,
            _ => false,
        };
        if empty {
            return Either::Packed(Vec::new().into_iter());
        }
        Either::Table(t.order.range((start, end)).map(pair as _))
    }

    /// The 0-based rank of `m` in ascending order.
    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        match &self.members {
            Members::Packed(p) => Self::find(p, m).map(|(_, r, _)| r),
            Members::Table(t) => {
                let s = t.scores.get(m)?;
                let key = (Score(*s), Bytes::copy_from_slice(m));
                Some(t.order.range(..&key).count())
            }
        }
    }

    /// Sets the score of `m`; true when the member is new.
    pub fn insert(&mut self, m: &[u8], score: f64) -> bool {
        let t = match &mut self.members {
            Members::Packed(p) => {
                let old = Self::find(p, m);
                if let Some((at, _, s)) = old {
                    if s == score && s.is_sign_negative() == score.is_sign_negative() {
                        return false;
                    }
                    p.remove(at, 1);
                }
                let key = (Score(score), m);
                let at = p
                    .position(|_, it| {
                        let (member, s) = unpack(it);
                        (Score(s), member) > key
                    })
                    .map(|(at, _)| at);
                let mut item = Vec::with_capacity(8 + m.len());
                item.extend_from_slice(&score.to_le_bytes());
                item.extend_from_slice(m);
                match at {
                    Some(at) => p.insert(at, &[&item]),
                    None => p.push(&[&item]),
                }
                let l = limits();
                if p.len() > l.zset_entries || m.len() > l.zset_value {
                    let mut t = Table::default();
                    for (m, s) in p.iter().map(unpack) {
                        let k = Bytes::copy_from_slice(m);
                        t.scores.insert(k.clone(), s);
                        t.order.insert((Score(s), k));
                    }
                    self.members = Members::Table(Box::new(t));
                }
                return old.is_none();
            }
            Members::Table(t) => t,
        };
        match t.scores.get_mut(m) {
            Some(old) => {
                if *old != score || old.is_sign_negative() != score.is_sign_negative() {
                    let (_, k) = t
                        .order
                        .take(&(Score(*old), Bytes::copy_from_slice(m)))
                        .expect("indexed");
                    *old = score;
                    t.order.insert((Score(score), k));
                }
                false
            }
            None => {
                let k = Bytes::copy_from_slice(m);
                t.scores.insert(k.clone(), score);
                t.order.insert((Score(score), k));
                true
            }
        }
    }

    /// Removes `m`; true when it was a member.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match &mut self.members {
            Members::Packed(p) => match Self::find(p, m) {
                Some((at, _, _)) => {
                    p.remove(at, 1);
                    true
                }
                None => false,
            },
            Members::Table(t) => match t.scores.swap_remove(m) {
                Some(s) => {
                    t.order.remove(&(Score(s), Bytes::copy_from_slice(m)));
                    true
                }
                None => false,
            },
        }
    }

    /// Bytes of member data, plus a per-member overhead estimate.
    pub fn memory_bytes(&self) -> usize {
        const PER_MEMBER: usize = 96;
        match &self.members {
            Members::Packed(p) => p.allocated() + 40,
            Members::Table(t) => t.scores.keys().map(|m| m.len() + PER_MEMBER).sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ranks_and_score_ranges() {
        let mut z = ZSetValue::new();
        for (m, s) in [("c", 2.0), ("a", 1.0), ("b", 2.0), ("d", f64::INFINITY)] {
            assert!(z.insert(m.as_bytes(), s));
        }
        assert!(!z.insert(b"a", 3.0));
        let names = |it: Vec<(&[u8], f64)>| -> Vec<String> {
            it.into_iter()
                .map(|(m, _)| String::from_utf8_lossy(m).into_owned())
                .collect()
        };
        assert_eq!(names(z.ordered().collect()), ["b", "c", "a", "d"]);
        assert_eq!(z.rank(b"a"), Some(2));
        assert_eq!(z.rank(b"zz"), None);
        assert_eq!(
            names(
                z.by_score(Bound::Included(2.0), Bound::Included(3.0))
                    .collect()
            ),
            ["b", "c", "a"]
        );
        assert_eq!(
            names(z.by_score(Bound::Excluded(2.0), Bound::Unbounded).collect()),
            ["a", "d"]
        );
        assert_eq!(
            names(
                z.by_score(Bound::Unbounded, Bound::Excluded(3.0))
                    .rev()
                    .collect()
            ),
            ["c", "b"]
        );
        assert!(z.remove(b"b") && !z.remove(b"b"));
        assert_eq!(z.len(), 3);
        assert!(z.is_packed());
    }

    #[test]
    fn packed_and_table_forms_answer_alike() {
        let mut packed = ZSetValue::new();
        let mut table = ZSetValue::new();
        table.insert(&[b'x'; 65], 0.0);
        assert!(!table.is_packed());
        table.remove(&[b'x'; 65]);
        let mut seed = 7u64;
        for _ in 0..2_000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let m = format!("m{}", (seed >> 33) % 60);
            let s = ((seed >> 20) % 7) as f64 - 3.0;
            if seed.is_multiple_of(5) {
                assert_eq!(packed.remove(m.as_bytes()), table.remove(m.as_bytes()));
            } else {
                assert_eq!(
                    packed.insert(m.as_bytes(), s),
                    table.insert(m.as_bytes(), s)
                );
            }
        }
        assert!(packed.is_packed());
        assert_eq!(packed.len(), table.len());
        let all = |z: &ZSetValue| {
            z.ordered()
                .map(|(m, s)| (m.to_vec(), s))
                .collect::<Vec<_>>()
        };
        assert_eq!(all(&packed), all(&table));
        for (lo, hi) in [
            (Bound::Included(-1.0), Bound::Excluded(2.0)),
            (Bound::Excluded(-3.0), Bound::Unbounded),
            (Bound::Unbounded, Bound::Included(0.0)),
            (Bound::Excluded(1.0), Bound::Excluded(1.0)),
        ] {
            let r = |z: &ZSetValue| {
                z.by_score(lo, hi)
                    .rev()
                    .map(|(m, s)| (m.to_vec(), s))
                    .collect::<Vec<_>>()
            };
            assert_eq!(r(&packed), r(&table));
        }
        for (m, _) in all(&table) {
            assert_eq!(packed.rank(&m), table.rank(&m));
            assert_eq!(packed.score(&m), table.score(&m));
        }
        for i in 0..200 {
            packed.insert(format!("n{i}").as_bytes(), 1.0);
        }
        assert!(!packed.is_packed() && packed.len() == table.len() + 200);
    }
}
