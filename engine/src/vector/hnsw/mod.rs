//! The HNSW graph (Malkov & Yashunin) behind a vector set, with real
//! deletion.
//!
//! Why not `hnsw_rs`: it cannot delete or update a point, and VREM must
//! remove an element for good and reclaim its memory (see
//! docs/architecture.md). This module keeps:
//!
//! ```text
//! arena:  Vec<u32>  slot i = encoded vector (quant::encode), fixed size
//! meta:   Vec<SlotMeta>  slot i = Q8 range, stored norm, live flag
//! layer0: Vec<u32>  slot i = [count, up to 2·M neighbour slots], fixed size
//! nodes:  Vec<Option<Node>>  slot i = id, norm, level, links of levels ≥ 1
//! free:   slots of deleted nodes, reused by later inserts
//! entry:  entry point (a node of the highest level)
//! changed: slots changed since the last commit (bitsets; see SlotChanges)
//! ```
//!
//! Layer 0 keeps up to `2·M` links, upper layers `M`; a new node links to
//! `M` neighbours per layer chosen with the paper's heuristic (keeping pruned
//! candidates to fill up). Deleting a node unlinks it from its neighbours and
//! reconnects each of them using the union of both neighbourhoods. Links
//! from nodes that the deleted node did not link back to are skipped by
//! searches until a later prune drops them.
//!
//! All methods that read take `&self`, so many searches run in parallel
//! under the set's read lock; visited marks live in a thread-local buffer.

use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use super::quant::{self, Metric, Quant};

mod insert;
pub use insert::{BackLink, InsertPlan, LinkRecord, Misfit};

/// Highest level a node may get.
pub(super) const MAX_LEVEL: usize = 16;
const FILL_PRUNED: bool = true;
const BACK_LINKS_L0: usize = 2;

/// A distance with a total order (distances are never NaN).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dist(pub f32);

impl Eq for Dist {}

impl PartialOrd for Dist {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Dist {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Graph metadata of one element.
#[derive(Debug, Clone)]
pub struct Node {
    /// Unique id, increasing (VINFO hnsw-max-node-uid).
    pub id: u64,
    /// Norm of the vector before normalization.
    pub l2: f32,
    /// Q8 range of the encoded vector.
    pub range: f32,
    /// Highest level of this node.
    pub level: u8,
    /// Neighbour slots of levels 1..=level (layer 0 is in `Hnsw::layer0`).
    pub upper: Vec<Vec<u32>>,
}

impl Node {
    /// Highest level of this node.
    pub fn level(&self) -> usize {
        usize::from(self.level)
    }
}

/// What every distance computation reads besides the vector, kept apart
/// from [`Node`] so a search touches 12 bytes per neighbour, not a whole node.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct SlotMeta {
    /// Q8 range of the stored vector.
    pub range: f32,
    /// Norm of the stored vector (1 when stored normalized).
    pub norm: f32,
    /// Whether the slot holds a node.
    pub live: bool,
}

/// Slots changed since the changes were last taken, for incremental
/// commits: `nodes` = added, replaced or freed (the whole slot is written),
/// `links` = only neighbour lists changed. `reset` = the graph was emptied
/// and its arrays released (the next commit writes the whole set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotChanges {
    pub(super) nodes: Vec<u64>,
    pub(super) links: Vec<u64>,
    pub(super) reset: bool,
}

fn set_bit(bits: &mut Vec<u64>, slot: u32) {
    let (w, b) = (slot as usize / 64, slot % 64);
    if bits.len() <= w {
        bits.resize(w + 1, 0);
    }
    bits[w] |= 1 << b;
}

fn bit(bits: &[u64], slot: usize) -> bool {
    bits.get(slot / 64)
        .is_some_and(|w| w & (1 << (slot % 64)) != 0)
}

fn or_into(into: &mut Vec<u64>, from: &[u64]) {
    if into.len() < from.len() {
        into.resize(from.len(), 0);
    }
    for (a, b) in into.iter_mut().zip(from) {
        *a |= b;
    }
}

impl SlotChanges {
    /// Nothing changed.
    pub fn is_empty(&self) -> bool {
        !self.reset && self.nodes.iter().all(|&w| w == 0) && self.links.iter().all(|&w| w == 0)
    }

    /// The graph was emptied (write the whole set).
    pub fn is_reset(&self) -> bool {
        self.reset
    }

    /// Slots to write whole, ascending.
    pub fn node_slots(&self) -> impl Iterator<Item = u32> + '_ {
        bits_iter(&self.nodes)
    }

    /// Slots whose links alone changed (and not the whole node), ascending.
    pub fn link_slots(&self) -> impl Iterator<Item = u32> + '_ {
        bits_iter(&self.links).filter(|&s| !bit(&self.nodes, s as usize))
    }

    /// Adds `other`'s changes (a failed commit hands its changes back).
    pub fn merge(&mut self, other: &SlotChanges) {
        or_into(&mut self.nodes, &other.nodes);
        or_into(&mut self.links, &other.links);
        self.reset |= other.reset;
    }
}

fn bits_iter(bits: &[u64]) -> impl Iterator<Item = u32> + '_ {
    bits.iter().enumerate().flat_map(|(w, &word)| {
        let mut word = word;
        std::iter::from_fn(move || {
            if word == 0 {
                return None;
            }
            let b = word.trailing_zeros();
            word &= word - 1;
            Some((w * 64) as u32 + b)
        })
    })
}

/// A query vector encoded like the set's vectors.
#[derive(Debug, Clone)]
pub struct Query {
    words: Vec<u32>,
    len: usize,
    range: f32,
    norm: f32,
}

impl Query {
    fn bytes(&self) -> &[u8] {
        &words_as_bytes(&self.words)[..self.len]
    }
}

/// The graph.
#[derive(Debug, Clone)]
pub struct Hnsw {
    pub(super) dim: usize,
    pub(super) quant: Quant,
    pub(super) metric: Metric,
    pub(super) m: usize,
    pub(super) bytes: usize,
    pub(super) slot_words: usize,
    pub(super) arena: Vec<u32>,
    pub(super) nodes: Vec<Option<Node>>,
    pub(super) meta: Vec<SlotMeta>,
    /// Layer-0 links of every slot, flat: `1 + 2·M` u32 per slot (count,
    /// then the neighbour slots), so no allocation per node.
    pub(super) layer0: Vec<u32>,
    pub(super) free: Vec<u32>,
    pub(super) entry: Option<u32>,
    pub(super) max_level: usize,
    pub(super) len: usize,
    pub(super) last_id: u64,
    level_mult: f64,
    levels: LevelRng,
    /// Nodes removed since creation: an insert planned before a removal is
    /// planned again (see `insert`).
    removals: u64,
    /// Nodes inserted since creation, and the slots of the latest ones.
    inserts: u64,
    recent: VecDeque<u32>,
    pub(super) changed: SlotChanges,
}

/// Draws node levels; shared by concurrent planners (a counter through
/// splitmix64), so a plan needs no write access.
#[derive(Debug, Default)]
struct LevelRng(AtomicU64);

impl Clone for LevelRng {
    fn clone(&self) -> Self {
        LevelRng(AtomicU64::new(self.0.load(AtomicOrdering::Relaxed)))
    }
}

impl LevelRng {
    /// A uniform number in (0, 1].
    fn next(&self) -> f64 {
        let mut z = self
            .0
            .fetch_add(0x9e37_79b9_7f4a_7c15, AtomicOrdering::Relaxed)
            .wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        ((z >> 11) + 1) as f64 / (1u64 << 53) as f64
    }
}

/// Asks the CPU to load the cache lines of `data` (a hint; no effect on
/// other CPUs).
#[inline]
fn prefetch_range<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let range = data.as_ptr_range();
        let (start, end) = (range.start.cast::<i8>(), range.end.cast::<i8>());
        let mut line = start;
        while line < end {
            // SAFETY: a prefetch never faults and changes nothing a program
            // can observe; the address is within `data`.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(line) };
            line = line.wrapping_add(64);
        }
        // The last line when `data` does not start on a line boundary.
        // SAFETY: as above.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(end.wrapping_sub(1)) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

fn words_as_bytes(w: &[u32]) -> &[u8] {
    // SAFETY: a u32 slice viewed as its bytes; u8 has no alignment needs.
    unsafe { std::slice::from_raw_parts(w.as_ptr().cast::<u8>(), w.len() * 4) }
}

pub(super) fn words_as_bytes_mut(w: &mut [u32]) -> &mut [u8] {
    // SAFETY: as above, and the borrow is unique.
    unsafe { std::slice::from_raw_parts_mut(w.as_mut_ptr().cast::<u8>(), w.len() * 4) }
}

thread_local! {
    static VISITED: RefCell<(Vec<u32>, u32)> = const { RefCell::new((Vec::new(), 0)) };
}

/// Runs `f` with a fresh visited-set for `n` slots.
fn with_visited<R>(n: usize, f: impl FnOnce(&mut Visited<'_>) -> R) -> R {
    VISITED.with(|cell| {
        let mut guard = cell.borrow_mut();
        let (marks, epoch) = &mut *guard;
        if marks.len() < n {
            marks.resize(n, 0);
        }
        *epoch = epoch.wrapping_add(1);
        if *epoch == 0 {
            marks.fill(0);
            *epoch = 1;
        }
        let mut v = Visited {
            marks,
            epoch: *epoch,
        };
        f(&mut v)
    })
}

struct Visited<'a> {
    marks: &'a mut Vec<u32>,
    epoch: u32,
}

impl Visited<'_> {
    /// Whether `slot` is marked.
    #[inline]
    fn contains(&self, slot: u32) -> bool {
        self.marks.get(slot as usize) == Some(&self.epoch)
    }

    /// Marks `slot`; true if it was not marked before.
    fn insert(&mut self, slot: u32) -> bool {
        let s = slot as usize;
        if s >= self.marks.len() {
            self.marks.resize(s + 1, 0);
        }
        let fresh = self.marks[s] != self.epoch;
        self.marks[s] = self.epoch;
        fresh
    }
}

impl Hnsw {
    /// An empty graph for `dim`-dimensional vectors.
    pub fn new(dim: usize, quant: Quant, m: usize) -> Self {
        Hnsw::with_metric(dim, quant, Metric::Cosine, m)
    }

    /// An empty graph comparing vectors with `metric`.
    pub fn with_metric(dim: usize, quant: Quant, metric: Metric, m: usize) -> Self {
        let bytes = quant.bytes(dim);
        Hnsw {
            dim,
            quant,
            metric,
            m,
            bytes,
            slot_words: bytes.div_ceil(4),
            arena: Vec::new(),
            nodes: Vec::new(),
            meta: Vec::new(),
            layer0: Vec::new(),
            free: Vec::new(),
            entry: None,
            max_level: 0,
            len: 0,
            last_id: 0,
            level_mult: 1.0 / (m.max(2) as f64).ln(),
            levels: LevelRng(AtomicU64::new(0x5eed ^ dim as u64)),
            removals: 0,
            inserts: 0,
            recent: VecDeque::new(),
            changed: SlotChanges::default(),
        }
    }

    /// Takes the slots changed since the last call.
    pub fn take_changes(&mut self) -> SlotChanges {
        std::mem::take(&mut self.changed)
    }

    /// Whether anything changed since the changes were last taken.
    pub fn has_changes(&self) -> bool {
        !self.changed.is_empty()
    }

    /// Marks `slot` changed as a whole (node added, replaced or freed).
    pub(super) fn mark_node(&mut self, slot: u32) {
        set_bit(&mut self.changed.nodes, slot);
    }

    fn mark_links(&mut self, slot: u32) {
        set_bit(&mut self.changed.links, slot);
    }

    /// Dimension of the stored vectors.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Quantization of the stored vectors.
    pub fn quant(&self) -> Quant {
        self.quant
    }

    /// How vectors are compared.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// M.
    pub fn m(&self) -> usize {
        self.m
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Highest level in the graph.
    pub fn max_level(&self) -> usize {
        self.max_level
    }

    /// Id of the most recently inserted node (ids start at 1).
    pub fn last_id(&self) -> u64 {
        self.last_id
    }

    /// The node in `slot`.
    pub fn node(&self, slot: u32) -> Option<&Node> {
        self.nodes.get(slot as usize).and_then(Option::as_ref)
    }

    /// Length of one slot's record in `layer0`.
    #[inline]
    pub(super) fn layer0_stride(&self) -> usize {
        1 + 2 * self.m
    }

    /// The neighbours of `slot` at `level` (empty past the node's level).
    #[inline]
    pub fn links(&self, slot: u32, level: usize) -> &[u32] {
        if level == 0 {
            let start = slot as usize * self.layer0_stride();
            match self.layer0.get(start) {
                Some(&count) => &self.layer0[start + 1..start + 1 + count as usize],
                None => &[],
            }
        } else {
            self.node(slot)
                .and_then(|n| n.upper.get(level - 1))
                .map_or(&[], Vec::as_slice)
        }
    }

    /// Replaces the neighbours of `slot` at `level` (at most the level's maximum).
    pub(super) fn set_links(&mut self, slot: u32, level: usize, list: &[u32]) {
        debug_assert!(list.len() <= self.max_links(level));
        self.mark_links(slot);
        if level == 0 {
            let start = slot as usize * self.layer0_stride();
            let n = list.len().min(2 * self.m);
            self.layer0[start] = n as u32;
            self.layer0[start + 1..start + 1 + n].copy_from_slice(&list[..n]);
        } else if let Some(node) = self.nodes[slot as usize].as_mut()
            && let Some(l) = node.upper.get_mut(level - 1)
        {
            l.clear();
            l.extend_from_slice(list);
        }
    }

    pub(super) fn encoded(&self, slot: u32) -> &[u8] {
        let start = slot as usize * self.slot_words;
        &words_as_bytes(&self.arena[start..start + self.slot_words])[..self.bytes]
    }

    /// The encoded bytes, norm and Q8 range of `slot` (VEMB RAW).
    pub fn raw(&self, slot: u32) -> Option<(&[u8], f32, f32)> {
        let n = self.node(slot)?;
        Some((self.encoded(slot), n.l2, n.range))
    }

    /// Encodes a query vector (normalized for the cosine metric).
    pub fn query(&self, v: &[f32]) -> Query {
        let mut words = vec![0u32; self.slot_words];
        let range = quant::encode(
            self.quant,
            v,
            &mut words_as_bytes_mut(&mut words)[..self.bytes],
        );
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        Query {
            words,
            len: self.bytes,
            range,
            norm,
        }
    }

    /// Norm of the vector stored for a node (1 when stored normalized).
    fn stored_norm(&self, n: &Node) -> f32 {
        if self.metric.normalizes() { 1.0 } else { n.l2 }
    }

    /// The query for the vector stored in `slot` (VSIM ELE).
    pub fn query_of(&self, slot: u32) -> Option<Query> {
        let n = self.node(slot)?;
        let mut words = vec![0u32; self.slot_words];
        words_as_bytes_mut(&mut words)[..self.bytes].copy_from_slice(self.encoded(slot));
        Some(Query {
            words,
            len: self.bytes,
            range: n.range,
            norm: self.stored_norm(n),
        })
    }

    /// Whether `slot` holds a node of `level` or higher (at layer 0 only
    /// the 12-byte metadata is read, not the node).
    #[inline]
    pub(super) fn holds(&self, slot: u32, level: usize) -> bool {
        if level == 0 {
            self.live(slot)
        } else {
            self.node(slot).is_some_and(|n| n.level() >= level)
        }
    }

    /// Whether `slot` holds a node.
    #[inline]
    fn live(&self, slot: u32) -> bool {
        self.meta.get(slot as usize).is_some_and(|m| m.live)
    }

    /// Asks the CPU to load `slot`'s vector and metadata into the cache.
    #[inline]
    pub(super) fn prefetch(&self, slot: u32) {
        let start = slot as usize * self.slot_words;
        if let Some(row) = self.arena.get(start..start + self.slot_words) {
            prefetch_range(row);
        }
        if let Some(meta) = self.meta.get(slot as usize) {
            prefetch_range(std::slice::from_ref(meta));
        }
    }

    /// Asks the CPU to load `slot`'s layer-0 list into the cache.
    #[inline]
    fn prefetch_links(&self, slot: u32, level: usize) {
        if level == 0 {
            let stride = self.layer0_stride();
            if let Some(row) = self
                .layer0
                .get(slot as usize * stride..(slot as usize + 1) * stride)
            {
                prefetch_range(row);
            }
        }
    }

    #[inline(always)]
    fn dist_q(&self, q: &Query, slot: u32) -> f32 {
        let m = self.meta[slot as usize];
        quant::distance(
            self.quant,
            self.metric,
            self.dim,
            q.bytes(),
            q.range,
            q.norm,
            self.encoded(slot),
            m.range,
            m.norm,
        )
    }

    /// Distance between two stored nodes.
    #[inline(always)]
    pub fn distance(&self, a: u32, b: u32) -> f32 {
        let (ma, mb) = (self.meta[a as usize], self.meta[b as usize]);
        quant::distance(
            self.quant,
            self.metric,
            self.dim,
            self.encoded(a),
            ma.range,
            ma.norm,
            self.encoded(b),
            mb.range,
            mb.norm,
        )
    }

    /// Rebuilds the per-slot metadata from the nodes (after loading).
    pub(super) fn rebuild_meta(&mut self) {
        let normalizes = self.metric.normalizes();
        self.meta = self
            .nodes
            .iter()
            .map(|n| match n {
                Some(n) => SlotMeta {
                    range: n.range,
                    norm: if normalizes { 1.0 } else { n.l2 },
                    live: true,
                },
                None => SlotMeta::default(),
            })
            .collect();
    }

    /// A random level for a new node (thread-safe).
    pub fn draw_level(&self) -> usize {
        let u = self.levels.next(); // (0, 1]
        ((-u.ln() * self.level_mult) as usize).min(MAX_LEVEL)
    }

    fn max_links(&self, level: usize) -> usize {
        if level == 0 { self.m * 2 } else { self.m }
    }

    /// Inserts a vector (normalized for the cosine metric) with its
    /// original norm; returns its slot. The same three steps as a
    /// concurrent insert (see `insert.rs`), run under one borrow.
    pub fn insert(&mut self, normalized: &[f32], l2: f32, ef_construction: usize) -> u32 {
        let level = self.draw_level();
        let plan = self.plan(normalized, l2, level, ef_construction);
        let record = self.resolve(&plan, ef_construction);
        self.apply(normalized, l2, &record)
            .expect("a record resolved under the same borrow applies")
    }

    /// The heuristic of the HNSW paper: keep a candidate only if it is
    /// closer to the base than to every kept one; then fill up to `m` with
    /// the pruned ones. `cands` is sorted by distance to the base.
    fn select(&self, cands: &[(Dist, u32)], m: usize) -> Vec<(Dist, u32)> {
        self.select_by(cands, m, &|a, b| self.distance(a, b)).0
    }

    /// [`Hnsw::select`] with a given distance between candidates; also
    /// returns its horizon: a candidate farther than it (sorted after
    /// every candidate looked at) cannot change the choice; `None` when
    /// every candidate was looked at, so any other could.
    fn select_by(
        &self,
        cands: &[(Dist, u32)],
        m: usize,
        distance: &dyn Fn(u32, u32) -> f32,
    ) -> (Vec<(Dist, u32)>, Option<Dist>) {
        let mut kept: Vec<(Dist, u32)> = Vec::with_capacity(m);
        let mut pruned = Vec::new();
        let mut horizon = None;
        for &(d, c) in cands {
            if kept.len() >= m {
                break;
            }
            horizon = Some(d);
            if kept.iter().all(|&(_, k)| distance(c, k) > d.0) {
                kept.push((d, c));
            } else {
                pruned.push((d, c));
            }
        }
        if kept.len() < m {
            // Ran out of candidates: any further one would be looked at.
            horizon = None;
        }
        if FILL_PRUNED {
            for p in pruned {
                if kept.len() >= m {
                    break;
                }
                kept.push(p);
            }
        }
        (kept, horizon)
    }

    fn greedy(&self, q: &Query, mut best: (Dist, u32), level: usize) -> (Dist, u32) {
        loop {
            let mut next = best;
            for &n in self.links(best.1, level) {
                if !self.live(n) {
                    continue;
                }
                let d = Dist(self.dist_q(q, n));
                if d < next.0 {
                    next = (d, n);
                }
            }
            if next.1 == best.1 {
                return best;
            }
            best = next;
        }
    }

    /// Beam search of one layer; returns up to `ef` nodes sorted by distance.
    fn search_layer(
        &self,
        q: &Query,
        eps: &[(Dist, u32)],
        ef: usize,
        level: usize,
        skip: Option<u32>,
    ) -> Vec<(Dist, u32)> {
        self.beam(q, eps, ef, level, skip, usize::MAX, false, |_| true)
    }

    /// The beam search behind every graph search. Only nodes passing
    /// `accept` enter the results, but every node can lead on through the
    /// graph; at most `max_checks` nodes are offered to `accept`. With
    /// `complete`, a search that runs out of reachable nodes before it has
    /// `ef` results goes on over the unvisited nodes in slot order (still
    /// within `max_checks`): the graph is directed, so a node whose
    /// incoming links were all pruned is unreachable, and a selective
    /// FILTER or a COUNT near the set's size must still find it.
    #[allow(clippy::too_many_arguments)]
    fn beam<F: FnMut(u32) -> bool>(
        &self,
        q: &Query,
        eps: &[(Dist, u32)],
        ef: usize,
        level: usize,
        skip: Option<u32>,
        max_checks: usize,
        complete: bool,
        mut accept: F,
    ) -> Vec<(Dist, u32)> {
        with_visited(self.nodes.len(), |visited| {
            let mut candidates: BinaryHeap<Reverse<(Dist, u32)>> = BinaryHeap::new();
            let mut results: BinaryHeap<(Dist, u32)> = BinaryHeap::new();
            let mut checks = 0usize;
            if let Some(s) = skip {
                visited.insert(s);
            }
            for &(d, e) in eps {
                if visited.insert(e) && self.live(e) {
                    candidates.push(Reverse((d, e)));
                    checks += 1;
                    if accept(e) {
                        results.push((d, e));
                    }
                }
            }
            while results.len() > ef {
                results.pop();
            }
            let mut exhausted = true;
            'outer: while let Some(Reverse((d, c))) = candidates.pop() {
                if results.len() >= ef && results.peek().is_some_and(|w| d > w.0) {
                    exhausted = false;
                    break;
                }
                // The next candidate's list is loaded while this one's
                // neighbours are measured.
                if let Some(Reverse((_, next))) = candidates.peek() {
                    self.prefetch_links(*next, level);
                }
                // The vectors of the unvisited neighbours are fetched into
                // the cache first, so the distances below overlap their
                // memory loads instead of waiting on each in turn.
                let links = self.links(c, level);
                for &n in links {
                    if !visited.contains(n) {
                        self.prefetch(n);
                    }
                }
                for &n in links {
                    if checks >= max_checks {
                        exhausted = false;
                        break 'outer;
                    }
                    if !visited.insert(n) || !self.live(n) {
                        continue;
                    }
                    let dn = Dist(self.dist_q(q, n));
                    if results.len() < ef || results.peek().is_some_and(|w| dn < w.0) {
                        candidates.push(Reverse((dn, n)));
                        checks += 1;
                        if accept(n) {
                            results.push((dn, n));
                            if results.len() > ef {
                                results.pop();
                            }
                        }
                    }
                }
            }
            if complete && exhausted && level == 0 && results.len() < ef {
                for slot in 0..self.nodes.len() as u32 {
                    if checks >= max_checks {
                        break;
                    }
                    if !self.live(slot) || !visited.insert(slot) {
                        continue;
                    }
                    checks += 1;
                    if accept(slot) {
                        results.push((Dist(self.dist_q(q, slot)), slot));
                        if results.len() > ef {
                            results.pop();
                        }
                    }
                }
            }
            let mut out = results.into_vec();
            out.sort();
            out
        })
    }

    /// The entry point at layer 0 for a query.
    fn descend(&self, q: &Query) -> Option<(Dist, u32)> {
        let entry = self.entry?;
        let mut ep = (Dist(self.dist_q(q, entry)), entry);
        for l in (1..=self.max_level).rev() {
            ep = self.greedy(q, ep, l);
        }
        Some(ep)
    }

    /// Approximate nearest neighbours: up to `ef` results, closest first.
    pub fn search(&self, q: &Query, ef: usize) -> Vec<(f32, u32)> {
        let Some(ep) = self.descend(q) else {
            return Vec::new();
        };
        self.beam(q, &[ep], ef.max(1), 0, None, usize::MAX, true, |_| true)
            .into_iter()
            .map(|(d, s)| (d.0, s))
            .collect()
    }

    /// Filtered search: only nodes passing `filter` are returned, all nodes
    /// are used to move through the graph, and at most `max_checks` filter
    /// evaluations are made.
    pub fn search_filtered(
        &self,
        q: &Query,
        ef: usize,
        max_checks: usize,
        filter: &mut dyn FnMut(u32) -> bool,
    ) -> Vec<(f32, u32)> {
        let Some(ep) = self.descend(q) else {
            return Vec::new();
        };
        self.beam(q, &[ep], ef.max(1), 0, None, max_checks, true, filter)
            .into_iter()
            .map(|(d, s)| (d.0, s))
            .collect()
    }

    /// Exact nearest neighbours by linear scan (TRUTH), optionally filtered.
    pub fn exact(
        &self,
        q: &Query,
        k: usize,
        filter: &mut dyn FnMut(u32) -> bool,
    ) -> Vec<(f32, u32)> {
        let mut heap: BinaryHeap<(Dist, u32)> = BinaryHeap::new();
        for (slot, n) in self.nodes.iter().enumerate() {
            if n.is_none() {
                continue;
            }
            let slot = slot as u32;
            let d = Dist(self.dist_q(q, slot));
            if heap.len() < k || heap.peek().is_some_and(|w| d < w.0) {
                if !filter(slot) {
                    continue;
                }
                heap.push((d, slot));
                if heap.len() > k {
                    heap.pop();
                }
            }
        }
        let mut out = heap.into_vec();
        out.sort();
        out.into_iter().map(|(d, s)| (d.0, s)).collect()
    }

    /// Removes the node in `slot`, reconnecting its neighbours.
    pub fn remove(&mut self, slot: u32) -> bool {
        let Some(level) = self.node(slot).map(Node::level) else {
            return false;
        };
        self.removals += 1;
        let removed: Vec<Vec<u32>> = (0..=level).map(|l| self.links(slot, l).to_vec()).collect();
        self.mark_node(slot);
        self.nodes[slot as usize] = None;
        self.meta[slot as usize].live = false;
        let stride = self.layer0_stride();
        self.layer0[slot as usize * stride] = 0;
        self.len -= 1;
        for (level, links) in removed.iter().enumerate() {
            for &n in links {
                if self.node(n).is_none_or(|x| x.level() < level) {
                    continue;
                }
                // Reconnect n using its remaining links and the removed node's.
                let mut pool: Vec<u32> = self
                    .links(n, level)
                    .iter()
                    .copied()
                    .filter(|&x| x != slot)
                    .collect();
                for &c in links {
                    if c != n && !pool.contains(&c) {
                        pool.push(c);
                    }
                }
                let mut cands: Vec<(Dist, u32)> = pool
                    .into_iter()
                    .filter(|&c| self.node(c).is_some_and(|x| x.level() >= level))
                    .map(|c| (Dist(self.distance(n, c)), c))
                    .collect();
                cands.sort();
                let kept: Vec<u32> = self
                    .select(&cands, self.max_links(level))
                    .into_iter()
                    .map(|(_, c)| c)
                    .collect();
                self.set_links(n, level, &kept);
            }
        }
        self.free.push(slot);
        if self.entry == Some(slot) {
            self.entry = None;
            self.max_level = 0;
            for (i, n) in self.nodes.iter().enumerate() {
                if let Some(n) = n
                    && (self.entry.is_none() || n.level() > self.max_level)
                {
                    self.entry = Some(i as u32);
                    self.max_level = n.level();
                }
            }
        }
        if self.len == 0 {
            self.arena = Vec::new();
            self.nodes = Vec::new();
            self.meta = Vec::new();
            self.layer0 = Vec::new();
            self.free = Vec::new();
            self.changed = SlotChanges {
                reset: true,
                ..SlotChanges::default()
            };
        }
        true
    }

    /// A random live slot.
    pub fn random_slot(&self) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        loop {
            let s = fastrand::usize(..self.nodes.len());
            if self.nodes[s].is_some() {
                return Some(s as u32);
            }
        }
    }

    /// All live slots, in slot order.
    pub fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.is_some())
            .map(|(i, _)| i as u32)
    }

    /// Bytes used by vectors and links (approximate, for INFO/MEMORY).
    pub fn memory_bytes(&self) -> usize {
        let upper: usize = self
            .nodes
            .iter()
            .flatten()
            .map(|n| {
                n.upper.iter().map(|l| 24 + l.capacity() * 4).sum::<usize>()
                    + n.upper.capacity() * 24
            })
            .sum();
        self.arena.capacity() * 4
            + self.layer0.capacity() * 4
            + self.meta.capacity() * std::mem::size_of::<SlotMeta>()
            + self.nodes.capacity() * std::mem::size_of::<Option<Node>>()
            + upper
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::quant::normalize;

    fn random_unit(rng: &mut fastrand::Rng, dim: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..dim).map(|_| rng.f32() * 2.0 - 1.0).collect();
        normalize(&mut v);
        v
    }

    fn recall(g: &Hnsw, queries: &[Vec<f32>], ef: usize) -> f64 {
        let mut hit = 0;
        for q in queries {
            let q = g.query(q);
            let truth: Vec<u32> = g
                .exact(&q, 10, &mut |_| true)
                .into_iter()
                .map(|(_, s)| s)
                .collect();
            let got: Vec<u32> = g
                .search(&q, ef)
                .into_iter()
                .take(10)
                .map(|(_, s)| s)
                .collect();
            hit += truth.iter().filter(|t| got.contains(t)).count();
        }
        hit as f64 / (queries.len() * 10) as f64
    }

    #[test]
    fn recall_insert_delete_reinsert() {
        let mut rng = fastrand::Rng::with_seed(7);
        let dim = 32;
        let mut g = Hnsw::new(dim, Quant::NoQuant, 16);
        let vecs: Vec<Vec<f32>> = (0..3000).map(|_| random_unit(&mut rng, dim)).collect();
        let slots: Vec<u32> = vecs.iter().map(|v| g.insert(v, 1.0, 200)).collect();
        let queries: Vec<Vec<f32>> = (0..50).map(|_| random_unit(&mut rng, dim)).collect();
        let r = recall(&g, &queries, 200);
        assert!(r >= 0.95, "recall {r}");
        for &s in slots.iter().step_by(5) {
            assert!(g.remove(s));
        }
        assert_eq!(g.len(), 2400);
        for s in slots.iter().step_by(5) {
            for q in &queries {
                let hits = g.search(&g.query(q), 50);
                assert!(!hits.iter().any(|&(_, h)| h == *s && g.node(h).is_none()));
            }
        }
        for v in vecs.iter().step_by(10) {
            g.insert(v, 1.0, 200);
        }
        let r = recall(&g, &queries, 200);
        assert!(r >= 0.93, "recall after churn {r}");
        assert_eq!(g.last_id(), 3300);
    }

    #[test]
    fn filtered_search_and_removal_of_everything() {
        let mut rng = fastrand::Rng::with_seed(9);
        let mut g = Hnsw::new(8, Quant::Q8, 8);
        let slots: Vec<u32> = (0..500)
            .map(|_| g.insert(&random_unit(&mut rng, 8), 1.0, 100))
            .collect();
        let q = g.query(&random_unit(&mut rng, 8));
        let got = g.search_filtered(&q, 10, 100_000, &mut |s| s % 7 == 0);
        assert_eq!(got.len(), 10);
        assert!(got.iter().all(|&(_, s)| s % 7 == 0));
        let few = g.search_filtered(&q, 10, 1, &mut |s| s % 7 == 0);
        assert!(few.len() <= 1);
        for s in slots {
            g.remove(s);
        }
        assert!(g.is_empty());
        assert!(g.search(&q, 10).is_empty());
    }

    /// Every node of a small, low-M graph of near-identical vectors (where
    /// pruning can leave a node without incoming links) is found by a
    /// filter that accepts only it, and by a search whose ef covers the set.
    #[test]
    fn selective_filter_finds_every_node() {
        for seed in 0..20 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let dim = 200;
            let mut g = Hnsw::new(dim, Quant::Q8, 4);
            let mut slots = Vec::new();
            for i in 0..51 {
                let sign = if i == 50 { -1.0 } else { 1.0 };
                let mut v: Vec<f32> = (0..dim).map(|_| sign * (10.0 + 10.0 * rng.f32())).collect();
                let l2 = normalize(&mut v);
                slots.push(g.insert(&v, l2, 200));
            }
            let q = g.query_of(slots[1]).unwrap();
            for &target in &slots {
                let got = g.search_filtered(&q, 10, 1000, &mut |s| s == target);
                assert_eq!(got.len(), 1, "seed {seed}: slot {target} not found");
            }
            assert_eq!(g.search(&q, 100).len(), 51, "seed {seed}");
        }
    }
}
