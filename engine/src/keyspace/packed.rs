//! A run of byte strings in one allocation: VexLake's listpack.
//!
//! Small hashes, sets, sorted sets and lists keep their elements in a [`Packed`]
//! instead of a hash table of separately allocated strings, as Redis keeps
//! small collections in a listpack. Each item is its length (LEB128) and
//! its bytes, one after another; the buffer grows and shrinks by exactly
//! what an edit needs. Lookups scan (the collection is small by
//! definition) and edits move the bytes after the edited item.
//!
//! A collection moves to its hash-table form once it outgrows the
//! [`limits`] (Redis's `*-max-listpack-*` settings) and never moves back
//! while it lives, as in Redis; a restart or RESTORE rebuilds it by the
//! limits then in force.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

/// Byte strings packed one after another.
#[derive(Debug, Clone, Default)]
pub struct Packed {
    buf: Vec<u8>,
    len: u32,
}

impl Packed {
    /// No items.
    pub fn new() -> Self {
        Packed::default()
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True when there is no item.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes allocated.
    pub fn allocated(&self) -> usize {
        self.buf.capacity()
    }

    /// Bytes the items take (the end offset).
    pub fn used(&self) -> usize {
        self.buf.len()
    }

    /// The items in order.
    pub fn iter(&self) -> Items<'_> {
        Items {
            buf: &self.buf,
            pos: 0,
        }
    }

    /// The item at index `i`.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        self.iter().nth(i)
    }

    /// The byte offset of the first item for which `f(index, item)` holds,
    /// with its index.
    pub fn position(&self, mut f: impl FnMut(usize, &[u8]) -> bool) -> Option<(usize, usize)> {
        let mut it = self.iter();
        let mut i = 0;
        loop {
            let at = it.pos;
            let item = it.next()?;
            if f(i, item) {
                return Some((at, i));
            }
            i += 1;
        }
    }

    /// Appends `items` at the end.
    pub fn push(&mut self, items: &[&[u8]]) {
        self.insert(self.buf.len(), items);
    }

    /// Inserts `items` at byte offset `at` (an item boundary).
    pub fn insert(&mut self, at: usize, items: &[&[u8]]) {
        let mut enc = Vec::with_capacity(items.iter().map(|i| i.len() + 3).sum());
        for item in items {
            write_len(&mut enc, item.len());
            enc.extend_from_slice(item);
        }
        let old = self.buf.len();
        self.buf.reserve_exact(enc.len());
        self.buf.resize(old + enc.len(), 0);
        self.buf.copy_within(at..old, at + enc.len());
        self.buf[at..at + enc.len()].copy_from_slice(&enc);
        self.len += items.len() as u32;
    }

    /// Removes `n` items starting at byte offset `at` (an item boundary).
    pub fn remove(&mut self, at: usize, n: usize) {
        let mut it = Items {
            buf: &self.buf,
            pos: at,
        };
        for _ in 0..n {
            it.next().expect("item in range");
        }
        let end = it.pos;
        self.buf.drain(at..end);
        self.len -= n as u32;
        if self.buf.capacity() > self.buf.len() * 2 + 64 {
            self.buf.shrink_to_fit();
        }
    }

    /// Replaces the item at byte offset `at` with `item` (one move of the
    /// bytes after it).
    pub fn replace(&mut self, at: usize, item: &[u8]) {
        let mut it = Items {
            buf: &self.buf,
            pos: at,
        };
        it.next().expect("item in range");
        let end = it.pos;
        let mut enc = Vec::with_capacity(item.len() + 3);
        write_len(&mut enc, item.len());
        enc.extend_from_slice(item);
        if enc.len() > end - at {
            self.buf.reserve_exact(enc.len() - (end - at));
        }
        self.buf.splice(at..end, enc);
    }
}

/// The items of a [`Packed`], front to back.
#[derive(Debug, Clone)]
pub struct Items<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Items<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let mut n = 0usize;
        let mut shift = 0;
        loop {
            let b = self.buf[self.pos];
            self.pos += 1;
            n |= ((b & 0x7f) as usize) << shift;
            if b < 0x80 {
                break;
            }
            shift += 7;
        }
        let item = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Some(item)
    }
}

fn write_len(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// One of two iterators (a packed and a hash-table form of a collection).
#[derive(Debug, Clone)]
pub enum Either<A, B> {
    /// The packed form's.
    Packed(A),
    /// The table form's.
    Table(B),
}

impl<T, A: Iterator<Item = T>, B: Iterator<Item = T>> Iterator for Either<A, B> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        match self {
            Either::Packed(a) => a.next(),
            Either::Table(b) => b.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Either::Packed(a) => a.size_hint(),
            Either::Table(b) => b.size_hint(),
        }
    }
}

impl<T, A: ExactSizeIterator<Item = T>, B: ExactSizeIterator<Item = T>> ExactSizeIterator
    for Either<A, B>
{
}

impl<T, A: DoubleEndedIterator<Item = T>, B: DoubleEndedIterator<Item = T>> DoubleEndedIterator
    for Either<A, B>
{
    fn next_back(&mut self) -> Option<T> {
        match self {
            Either::Packed(a) => a.next_back(),
            Either::Table(b) => b.next_back(),
        }
    }
}

/// The largest small collections, as Redis's settings of the same names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `hash-max-listpack-entries`.
    pub hash_entries: usize,
    /// `hash-max-listpack-value` (bytes of a field or value).
    pub hash_value: usize,
    /// `set-max-intset-entries` (a set of integers only).
    pub set_intset_entries: usize,
    /// `set-max-listpack-entries`.
    pub set_entries: usize,
    /// `set-max-listpack-value`.
    pub set_value: usize,
    /// `zset-max-listpack-entries`.
    pub zset_entries: usize,
    /// `zset-max-listpack-value`.
    pub zset_value: usize,
    /// `list-max-listpack-size`: entries when positive, else a size class
    /// (-1 = 4 KB, -2 = 8 KB, ... -5 = 64 KB).
    pub list_size: i64,
}

impl Limits {
    /// Redis's defaults.
    pub const DEFAULT: Limits = Limits {
        hash_entries: 128,
        hash_value: 64,
        set_intset_entries: 512,
        set_entries: 128,
        set_value: 64,
        zset_entries: 128,
        zset_value: 64,
        list_size: -2,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

const D: Limits = Limits::DEFAULT;

static LIST_SIZE: AtomicI64 = AtomicI64::new(D.list_size);

static LIMITS: [AtomicUsize; 7] = [
    AtomicUsize::new(D.hash_entries),
    AtomicUsize::new(D.hash_value),
    AtomicUsize::new(D.set_intset_entries),
    AtomicUsize::new(D.set_entries),
    AtomicUsize::new(D.set_value),
    AtomicUsize::new(D.zset_entries),
    AtomicUsize::new(D.zset_value),
];

/// The limits in force (one set per process: the server's settings).
pub fn limits() -> Limits {
    let l = |i: usize| LIMITS[i].load(Ordering::Relaxed);
    Limits {
        hash_entries: l(0),
        hash_value: l(1),
        set_intset_entries: l(2),
        set_entries: l(3),
        set_value: l(4),
        zset_entries: l(5),
        zset_value: l(6),
        list_size: LIST_SIZE.load(Ordering::Relaxed),
    }
}

/// Sets the limits for collections written from now on.
pub fn set_limits(l: Limits) {
    let v = [
        l.hash_entries,
        l.hash_value,
        l.set_intset_entries,
        l.set_entries,
        l.set_value,
        l.zset_entries,
        l.zset_value,
    ];
    for (slot, v) in LIMITS.iter().zip(v) {
        slot.store(v, Ordering::Relaxed);
    }
    LIST_SIZE.store(l.list_size, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_insert_remove_and_replace_in_place() {
        let mut p = Packed::new();
        let long = vec![7u8; 300];
        p.push(&[b"a", b"", &long]);
        p.insert(0, &[b"first"]);
        assert_eq!(p.len(), 4);
        let items: Vec<&[u8]> = p.iter().collect();
        assert_eq!(items, [&b"first"[..], b"a", b"", &long[..]]);
        let (at, i) = p.position(|_, it| it.is_empty()).unwrap();
        assert_eq!(i, 2);
        p.replace(at, b"xyz");
        assert_eq!(p.get(2), Some(&b"xyz"[..]));
        let (at, _) = p.position(|_, it| it == b"a").unwrap();
        p.remove(at, 2);
        let items: Vec<&[u8]> = p.iter().collect();
        assert_eq!(items, [&b"first"[..], &long[..]]);
        // Grown by exactly what each edit needed, not doubled.
        assert!((308..320).contains(&p.allocated()));
        let (at, _) = p.position(|_, _| true).unwrap();
        p.remove(at, 2);
        assert!(p.is_empty() && p.iter().next().is_none());
    }
}
