//! A list value (LPUSH and friends): a double-ended queue of elements, so
//! pushes and pops at both ends and LINDEX are O(1).

use std::collections::VecDeque;

use bytes::Bytes;

/// The elements of a list, head first.
#[derive(Debug, Clone, Default)]
pub struct ListValue {
    items: VecDeque<Bytes>,
}

impl ListValue {
    /// An empty list.
    pub fn new() -> Self {
        ListValue::default()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there is no element.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The element at `i` (from the head).
    pub fn get(&self, i: usize) -> Option<&Bytes> {
        self.items.get(i)
    }

    /// Elements head to tail.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Bytes> + ExactSizeIterator {
        self.items.iter()
    }

    /// Elements `start..end` (clamped).
    pub fn range(&self, start: usize, end: usize) -> impl Iterator<Item = &Bytes> {
        let end = end.min(self.items.len());
        self.items.range(start.min(end)..end)
    }

    /// Adds `v` at the head.
    pub fn push_front(&mut self, v: &[u8]) {
        self.items.push_front(Bytes::copy_from_slice(v));
    }

    /// Adds `v` at the tail.
    pub fn push_back(&mut self, v: &[u8]) {
        self.items.push_back(Bytes::copy_from_slice(v));
    }

    /// Removes up to `n` elements from the head.
    pub fn pop_front(&mut self, n: usize) {
        let n = n.min(self.items.len());
        self.items.drain(..n);
    }

    /// Removes up to `n` elements from the tail.
    pub fn pop_back(&mut self, n: usize) {
        let keep = self.items.len().saturating_sub(n);
        self.items.truncate(keep);
    }

    /// Replaces the element at `i` (ignored when out of range).
    pub fn set(&mut self, i: usize, v: &[u8]) {
        if let Some(slot) = self.items.get_mut(i) {
            *slot = Bytes::copy_from_slice(v);
        }
    }

    /// Inserts `v` before position `i` (`i == len` appends).
    pub fn insert(&mut self, i: usize, v: &[u8]) {
        if i <= self.items.len() {
            self.items.insert(i, Bytes::copy_from_slice(v));
        }
    }

    /// Removes the element at `i` (ignored when out of range).
    pub fn remove(&mut self, i: usize) {
        self.items.remove(i);
    }

    /// Keeps only elements `start..end`.
    pub fn retain_range(&mut self, start: usize, end: usize) {
        let end = end.min(self.items.len());
        let start = start.min(end);
        self.items.truncate(end);
        self.items.drain(..start);
    }

    /// Bytes of element data, plus a per-element overhead estimate.
    pub fn memory_bytes(&self) -> usize {
        const PER_ELEMENT: usize = 40;
        self.items.iter().map(|m| m.len() + PER_ELEMENT).sum()
    }
}
