//! A set's element data copied out for encoding with the set's lock
//! released (commits, DEBUG, `vset()`): names and attributes share their
//! bytes with the set, the vectors stay encoded in one buffer and are
//! decoded one row at a time. A commit of a 100,000-element set so
//! allocates a few large buffers instead of 100,000 short-lived vectors,
//! which the allocator would keep as resident memory afterwards.

use bytes::Bytes;

use super::quant::{self, Metric, Quant};
use super::set::VectorSet;

/// Whether a stored vector is multiplied by its norm to give it back at
/// its original scale (normalized for cosine; BIN gives ±1 per component).
pub(super) fn scales(quant: Quant, metric: Metric) -> bool {
    quant != Quant::Bin && metric.normalizes()
}

/// An element's vector as VEMB returns it, from its encoded bytes, Q8
/// range and norm (`scale`: see [`scales`]).
pub(super) fn embedding(
    quant: Quant,
    scale: bool,
    bytes: &[u8],
    range: f32,
    l2: f32,
    dim: usize,
) -> Vec<f32> {
    let mut v = quant::decode(quant, bytes, range, dim);
    if scale {
        v.iter_mut().for_each(|x| *x *= l2);
    }
    v
}

/// Element rows `(name, vector as VEMB returns it, attributes)`, in the
/// order they were taken.
pub struct ElementRows {
    quant: Quant,
    dim: usize,
    width: usize,
    /// Multiply the decoded vector by the element's norm (stored normalized).
    scale: bool,
    names: Vec<Bytes>,
    attrs: Vec<Option<Bytes>>,
    /// Per element: Q8 range and norm.
    ranges: Vec<(f32, f32)>,
    encoded: Vec<u8>,
    next: usize,
}

impl ElementRows {
    /// Copies the rows of `names` (names not in the set are skipped).
    pub(super) fn take<'a>(set: &VectorSet, names: impl Iterator<Item = &'a Bytes>) -> Self {
        let g = &set.graph;
        let mut rows = ElementRows {
            quant: g.quant(),
            dim: g.dim(),
            width: g.bytes,
            scale: scales(g.quant(), g.metric()),
            names: Vec::new(),
            attrs: Vec::new(),
            ranges: Vec::new(),
            encoded: Vec::new(),
            next: 0,
        };
        let (low, _) = names.size_hint();
        rows.names.reserve(low);
        rows.attrs.reserve(low);
        rows.ranges.reserve(low);
        rows.encoded.reserve(low * rows.width);
        for name in names {
            let Some(&slot) = set.by_name.get(name) else {
                continue;
            };
            let Some((bytes, l2, range)) = g.raw(slot) else {
                continue;
            };
            rows.names.push(name.clone());
            rows.attrs.push(set.attrs[slot as usize].clone());
            rows.ranges.push((range, l2));
            rows.encoded.extend_from_slice(bytes);
        }
        rows
    }

    /// Rows left.
    pub fn remaining(&self) -> usize {
        self.names.len() - self.next
    }
}

impl Iterator for ElementRows {
    type Item = (Bytes, Vec<f32>, Option<Bytes>);

    fn next(&mut self) -> Option<Self::Item> {
        let i = self.next;
        let name = std::mem::take(self.names.get_mut(i)?);
        self.next += 1;
        let (range, l2) = self.ranges[i];
        let bytes = &self.encoded[i * self.width..(i + 1) * self.width];
        let v = embedding(self.quant, self.scale, bytes, range, l2, self.dim);
        Some((name, v, self.attrs[i].take()))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining(), Some(self.remaining()))
    }
}

impl ExactSizeIterator for ElementRows {}
