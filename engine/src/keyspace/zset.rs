//! A sorted-set value (ZADD and friends): each member's score, and the
//! members ordered by (score, member) for ranges by score, rank and
//! lexicographic order.
//!
//! Members are `Bytes`, so the two indexes share one copy of each. Rank
//! queries walk the ordered index from the nearer end (O(rank)), unlike
//! Redis's skip list (O(log n)); ranges from either end cost what they
//! return.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::ops::Bound;

use bytes::Bytes;
use indexmap::IndexMap;

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

/// Members of a score range with their scores, from either end.
pub type ScoreRange<'a> = std::iter::Map<
    std::collections::btree_set::Range<'a, (Score, Bytes)>,
    fn(&'a (Score, Bytes)) -> (&'a Bytes, f64),
>;

fn pair(e: &(Score, Bytes)) -> (&Bytes, f64) {
    (&e.1, e.0.0)
}

/// The members of a sorted set.
#[derive(Debug, Clone, Default)]
pub struct ZSetValue {
    scores: IndexMap<Bytes, f64, foldhash::fast::RandomState>,
    order: BTreeSet<(Score, Bytes)>,
}

impl ZSetValue {
    /// An empty sorted set.
    pub fn new() -> Self {
        ZSetValue::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// True when there is no member.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// The score of `m`.
    pub fn score(&self, m: &[u8]) -> Option<f64> {
        self.scores.get(m).copied()
    }

    /// The member and score at storage position `i` (random picks).
    pub fn get_index(&self, i: usize) -> Option<(&Bytes, f64)> {
        self.scores.get_index(i).map(|(m, s)| (m, *s))
    }

    /// Members with scores in storage order.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, f64)> {
        self.scores.iter().map(|(m, s)| (m, *s))
    }

    /// Members in (score, member) order.
    pub fn ordered(&self) -> impl DoubleEndedIterator<Item = (&Bytes, f64)> {
        self.order.iter().map(|(s, m)| (m, s.0))
    }

    /// Members with a score within `lo`..`hi`, ascending (reversible).
    pub fn by_score(&self, lo: Bound<f64>, hi: Bound<f64>) -> ScoreRange<'_> {
        // (score, member) keys: the empty member sorts first, so
        // (s, "") is the first key of score s.
        let first = |s: f64| (Score(s), Bytes::new());
        let start = match lo {
            Bound::Included(s) => Bound::Included(first(s)),
            Bound::Excluded(s) if s == f64::INFINITY => return self.empty(),
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
            return self.empty();
        }
        self.order.range((start, end)).map(pair as _)
    }

    /// An empty range of the order.
    fn empty(&self) -> ScoreRange<'_> {
        let none = (Score(f64::NEG_INFINITY), Bytes::new());
        self.order.range(..none).map(pair as _)
    }

    /// The 0-based rank of `m` in ascending order.
    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        let s = self.score(m)?;
        let key = (Score(s), Bytes::copy_from_slice(m));
        let below = self.order.range(..&key).count();
        Some(below)
    }

    /// Sets the score of `m`; true when the member is new.
    pub fn insert(&mut self, m: &[u8], score: f64) -> bool {
        match self.scores.get_mut(m) {
            Some(old) => {
                if *old != score || old.is_sign_negative() != score.is_sign_negative() {
                    let (_, k) = self
                        .order
                        .take(&(Score(*old), Bytes::copy_from_slice(m)))
                        .expect("indexed");
                    *old = score;
                    self.order.insert((Score(score), k));
                }
                false
            }
            None => {
                let k = Bytes::copy_from_slice(m);
                self.scores.insert(k.clone(), score);
                self.order.insert((Score(score), k));
                true
            }
        }
    }

    /// Removes `m`; true when it was a member.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self.scores.swap_remove(m) {
            Some(s) => {
                self.order.remove(&(Score(s), Bytes::copy_from_slice(m)));
                true
            }
            None => false,
        }
    }

    /// Bytes of member data, plus a per-member overhead estimate.
    pub fn memory_bytes(&self) -> usize {
        const PER_MEMBER: usize = 96;
        self.scores.keys().map(|m| m.len() + PER_MEMBER).sum()
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
        let names = |it: Vec<(&Bytes, f64)>| -> Vec<String> {
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
        assert_eq!(z.order.len(), 3);
    }
}
