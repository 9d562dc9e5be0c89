//! A list value (LPUSH and friends). A small list is packed in one buffer
//! ([`super::packed`], Redis's listpack); once it outgrows
//! `list-max-listpack-size` it becomes a double-ended queue of elements,
//! so pushes and pops at both ends and LINDEX are O(1).

use std::collections::VecDeque;

use bytes::Bytes;

use super::packed::{Either, Packed, limits};

/// The elements of a list, head first.
#[derive(Debug, Clone, Default)]
pub struct ListValue {
    items: Items,
}

#[derive(Debug, Clone)]
enum Items {
    Packed(Packed),
    Deque(VecDeque<Bytes>),
}

impl Default for Items {
    fn default() -> Self {
        Items::Packed(Packed::new())
    }
}

/// The byte offset of item `i` of `p` (`p.len()` = the end).
fn offset(p: &Packed, i: usize) -> usize {
    if i >= p.len() {
        return p.used();
    }
    p.position(|j, _| j == i).map_or(p.used(), |(at, _)| at)
}

impl ListValue {
    /// An empty list.
    pub fn new() -> Self {
        ListValue::default()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.items {
            Items::Packed(p) => p.len(),
            Items::Deque(d) => d.len(),
        }
    }

    /// True when there is no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True while the list is in its packed form.
    pub fn is_packed(&self) -> bool {
        matches!(self.items, Items::Packed(_))
    }

    /// The element at `i` (from the head).
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        match &self.items {
            Items::Packed(p) => p.get(i),
            Items::Deque(d) => d.get(i).map(|e| &e[..]),
        }
    }

    /// Elements head to tail.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + ExactSizeIterator {
        match &self.items {
            // A packed list is small: its items are listed to walk it from
            // either end.
            Items::Packed(p) => Either::Packed(p.iter().collect::<Vec<_>>().into_iter()),
            Items::Deque(d) => Either::Table(d.iter().map(|e| &e[..])),
        }
    }

    /// Elements `start..end` (clamped).
    pub fn range(&self, start: usize, end: usize) -> impl Iterator<Item = &[u8]> {
        let end = end.min(self.len());
        let start = start.min(end);
        match &self.items {
            Items::Packed(p) => Either::Packed(p.iter().skip(start).take(end - start)),
            Items::Deque(d) => Either::Table(d.range(start..end).map(|e| &e[..])),
        }
    }

    /// Adds `v` at the head.
    pub fn push_front(&mut self, v: &[u8]) {
        match &mut self.items {
            Items::Packed(p) => p.insert(0, &[v]),
            Items::Deque(d) => d.push_front(Bytes::copy_from_slice(v)),
        }
        self.outgrow();
    }

    /// Adds `v` at the tail.
    pub fn push_back(&mut self, v: &[u8]) {
        match &mut self.items {
            Items::Packed(p) => p.push(&[v]),
            Items::Deque(d) => d.push_back(Bytes::copy_from_slice(v)),
        }
        self.outgrow();
    }

    /// Moves a packed list that outgrew `list-max-listpack-size` (entries
    /// when positive, else a size class of 4 KB << (-size - 1) bytes) to a
    /// deque, for good.
    fn outgrow(&mut self) {
        let Items::Packed(p) = &self.items else {
            return;
        };
        let size = limits().list_size;
        let over = if size >= 0 {
            p.len() as i64 > size
        } else {
            p.used() as i64 > 4096i64 << (-size - 1).clamp(0, 4)
        };
        if over {
            self.items = Items::Deque(p.iter().map(Bytes::copy_from_slice).collect());
        }
    }

    /// Removes up to `n` elements from the head.
    pub fn pop_front(&mut self, n: usize) {
        let n = n.min(self.len());
        match &mut self.items {
            Items::Packed(p) => p.remove(0, n),
            Items::Deque(d) => {
                d.drain(..n);
            }
        }
    }

    /// Removes up to `n` elements from the tail.
    pub fn pop_back(&mut self, n: usize) {
        let keep = self.len().saturating_sub(n);
        match &mut self.items {
            Items::Packed(p) => {
                let at = offset(p, keep);
                let n = p.len() - keep;
                p.remove(at, n);
            }
            Items::Deque(d) => d.truncate(keep),
        }
    }

    /// Replaces the element at `i` (ignored when out of range).
    pub fn set(&mut self, i: usize, v: &[u8]) {
        if i >= self.len() {
            return;
        }
        match &mut self.items {
            Items::Packed(p) => {
                let at = offset(p, i);
                p.replace(at, v);
            }
            Items::Deque(d) => d[i] = Bytes::copy_from_slice(v),
        }
        self.outgrow();
    }

    /// Inserts `v` before position `i` (`i == len` appends).
    pub fn insert(&mut self, i: usize, v: &[u8]) {
        if i > self.len() {
            return;
        }
        match &mut self.items {
            Items::Packed(p) => {
                let at = offset(p, i);
                p.insert(at, &[v]);
            }
            Items::Deque(d) => d.insert(i, Bytes::copy_from_slice(v)),
        }
        self.outgrow();
    }

    /// Removes the element at `i` (ignored when out of range).
    pub fn remove(&mut self, i: usize) {
        if i >= self.len() {
            return;
        }
        match &mut self.items {
            Items::Packed(p) => {
                let at = offset(p, i);
                p.remove(at, 1);
            }
            Items::Deque(d) => {
                d.remove(i);
            }
        }
    }

    /// Keeps only elements `start..end`.
    pub fn retain_range(&mut self, start: usize, end: usize) {
        let end = end.min(self.len());
        let start = start.min(end);
        let len = self.len();
        self.pop_back(len - end);
        self.pop_front(start);
    }

    /// Bytes of element data, plus a per-element overhead estimate.
    pub fn memory_bytes(&self) -> usize {
        const PER_ELEMENT: usize = 40;
        match &self.items {
            Items::Packed(p) => p.allocated() + 40,
            Items::Deque(d) => d.iter().map(|m| m.len() + PER_ELEMENT).sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_and_deque_lists_edit_alike() {
        let mut model: VecDeque<Vec<u8>> = VecDeque::new();
        let mut l = ListValue::new();
        let mut seed = 11u64;
        let mut was_packed_big = false;
        for step in 0..3_000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = format!("e{step}-{}", "x".repeat((seed >> 40) as usize % 90)).into_bytes();
            let len = model.len();
            let i = if len == 0 {
                0
            } else {
                (seed >> 20) as usize % len
            };
            match (seed >> 8) % 9 {
                0 | 1 => {
                    l.push_front(&v);
                    model.push_front(v);
                }
                2 | 3 => {
                    l.push_back(&v);
                    model.push_back(v);
                }
                4 => {
                    let n = (seed >> 30) as usize % 3;
                    l.pop_front(n);
                    model.drain(..n.min(len));
                }
                5 => {
                    let n = (seed >> 30) as usize % 3;
                    l.pop_back(n);
                    model.truncate(len.saturating_sub(n));
                }
                6 if len > 0 => {
                    l.set(i, &v);
                    model[i] = v;
                }
                7 => {
                    l.insert(i, &v);
                    model.insert(i, v);
                }
                8 if len > 0 => {
                    l.remove(i);
                    model.remove(i);
                }
                _ => {}
            }
            was_packed_big |= l.is_packed() && l.len() > 20;
            assert_eq!(l.len(), model.len());
            if step % 97 == 0 {
                let got: Vec<&[u8]> = l.iter().collect();
                assert_eq!(got, model.iter().map(|e| &e[..]).collect::<Vec<_>>());
                let back: Vec<&[u8]> = l.iter().rev().collect();
                assert_eq!(back.len(), l.iter().len());
                assert_eq!(l.range(1, 4).count(), model.len().clamp(1, 4) - 1);
            }
        }
        assert!(
            was_packed_big && !l.is_packed(),
            "crossed 8 KB into a deque"
        );
        l.retain_range(2, 5);
        model.truncate(5);
        model.drain(..2);
        assert_eq!(
            l.iter().collect::<Vec<_>>(),
            model.iter().map(|e| &e[..]).collect::<Vec<_>>()
        );
    }
}
