//! [`VectorSet`]: what a vector-set key holds — element names mapped to
//! graph slots, optional JSON attributes, an optional random projection
//! (REDUCE), and the HNSW graph.
//!
//! A set lives behind an `Arc<RwLock<_>>` in the keyspace: searches take the
//! read lock (many run in parallel), VADD/VREM/VSETATTR the write lock. When
//! VREM removes the last element the set is marked `dead` and its key
//! deleted; a VADD that reaches a dead set looks the key up again.

use std::collections::BTreeMap;
use std::ops::Bound;

use bytes::Bytes;

use super::filter::Filter;
use super::hnsw::{Hnsw, InsertPlan, LinkRecord, Misfit};
use super::quant::{Metric, Quant, normalize};
use super::rows::ElementRows;

/// Default M (links per node and layer).
pub const DEFAULT_M: usize = 16;
/// Smallest and largest M accepted.
pub const M_RANGE: std::ops::RangeInclusive<usize> = 4..=4096;
/// Default EF at insertion.
pub const DEFAULT_BUILD_EF: usize = 200;
/// Default EF at search.
pub const DEFAULT_SEARCH_EF: usize = 100;
/// Inserts of a VADDBATCH planned side by side, per core.
const BATCH_CHUNK: usize = 32;
/// Threads that plan inserts side by side: the cores, at most 8.
fn planning_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(8)
}

/// Largest vector dimension.
pub const MAX_DIM: usize = 1 << 16;

/// Why a VADD does not fit an existing set. Texts are Redis's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VsetError {
    /// Different quantization than the set's.
    #[error("ERR asked quantization mismatch with existing vector set")]
    QuantMismatch,
    /// Different M than the set's.
    #[error("ERR asked M value mismatch with existing vector set")]
    MMismatch,
    /// The vector has the wrong number of components.
    #[error("ERR Vector dimension mismatch - got {got} but set has {expected}")]
    DimMismatch {
        /// Components given.
        got: usize,
        /// Components of the set.
        expected: usize,
    },
    /// Different METRIC than the set's.
    #[error("ERR asked metric mismatch with existing vector set")]
    MetricMismatch,
    /// REDUCE on a set created without it.
    #[error("ERR cannot add projection to existing set without projection")]
    ProjectionOnPlainSet,
    /// REDUCE to another dimension than the set's.
    #[error("ERR projection dimension mismatch with existing set")]
    ProjectionDimMismatch,
    /// Input of the wrong size for the set's projection.
    #[error(
        "ERR Input dimension mismatch for projection - got {got} but projection expects {expected}"
    )]
    ProjectionInputMismatch {
        /// Components given.
        got: usize,
        /// Input size of the projection.
        expected: usize,
    },
}

/// A random projection to fewer dimensions, fixed per set.
#[derive(Debug, Clone)]
pub(super) struct Projection {
    pub(super) input_dim: usize,
    /// `output_dim` rows of `input_dim` entries of ±1/sqrt(input_dim).
    pub(super) matrix: Vec<f32>,
}

impl Projection {
    fn new(input_dim: usize, output_dim: usize, seed: u64) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        let scale = 1.0 / (input_dim as f32).sqrt();
        let matrix = (0..input_dim * output_dim)
            .map(|_| if rng.bool() { scale } else { -scale })
            .collect();
        Projection { input_dim, matrix }
    }

    fn apply(&self, v: &[f32]) -> Vec<f32> {
        self.matrix
            .chunks_exact(self.input_dim)
            .map(|row| super::distance::dot_f32(row, v))
            .collect()
    }
}

/// One search hit.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Element name.
    pub element: Bytes,
    /// Similarity: 1 − distance/2 for cosine (1 identical, 0 opposite),
    /// 1/(1 + distance) for L2, the inner product for IP.
    pub score: f64,
    /// JSON attributes, if any.
    pub attributes: Option<Bytes>,
}

/// Parameters of a similarity search.
#[derive(Debug, Clone)]
pub struct SearchParams<'a> {
    /// Results wanted.
    pub count: usize,
    /// Search exploration factor (0 = default).
    pub ef: usize,
    /// Only elements whose attributes match.
    pub filter: Option<&'a Filter>,
    /// Most filter evaluations (0 = `count * 100`).
    pub filter_ef: usize,
    /// Exact linear scan instead of the graph.
    pub truth: bool,
    /// Only results with score ≥ 1 − epsilon (for cosine: distance/2 ≤
    /// epsilon); `None` keeps all.
    pub epsilon: Option<f64>,
}

/// The query of a search: a vector, or an element of the set.
#[derive(Debug, Clone)]
pub enum QueryInput {
    /// A vector with the set's input dimension (projected if the set uses REDUCE).
    Vector(Vec<f32>),
    /// The vector of an element already in the set.
    Element(Bytes),
}

/// Summary for VINFO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetInfo {
    /// Quantization name.
    pub quant: &'static str,
    /// Metric name (VexLake extension).
    pub metric: &'static str,
    /// M.
    pub m: usize,
    /// Stored dimension.
    pub dim: usize,
    /// Input dimension of the projection (0 without REDUCE).
    pub projection_input_dim: usize,
    /// Elements.
    pub size: usize,
    /// Highest graph level.
    pub max_level: usize,
    /// Elements with attributes.
    pub attributes_count: usize,
    /// Unique id of the set.
    pub uid: u64,
    /// Highest node id given so far.
    pub max_node_uid: u64,
}

/// A new element's insert planned under the read lock
/// ([`VectorSet::plan_add`]).
#[derive(Debug)]
pub struct AddPlan {
    vector: Vec<f32>,
    norm: f32,
    plan: InsertPlan,
}

/// A vector set.
#[derive(Debug, Clone)]
pub struct VectorSet {
    pub(super) graph: Hnsw,
    pub(super) by_name: BTreeMap<Bytes, u32>,
    pub(super) names: Vec<Option<Bytes>>,
    pub(super) attrs: Vec<Option<Bytes>>,
    pub(super) projection: Option<Projection>,
    pub(super) attr_count: usize,
    pub(super) uid: u64,
    /// Set when the set became empty and its key was deleted.
    pub dead: bool,
    /// Sequence of the last WAL record applied to this set (0 = none); a
    /// snapshot of the set covers the records up to it.
    pub applied_seq: u64,
    /// Elements removed (VREM) since the changes were last taken.
    pub(super) removed: Vec<Bytes>,
}

/// What changed in a set since the changes were last taken
/// ([`VectorSet::take_changes`]): graph slots and removed element names.
#[derive(Debug, Clone, Default)]
pub struct SetChanges {
    /// Changed slots.
    pub slots: super::hnsw::SlotChanges,
    /// Elements removed and not added again.
    pub removed: Vec<Bytes>,
}

impl VectorSet {
    /// A new empty set. `reduce` = Some(output dim) with `dim` the input
    /// dimension creates a projection.
    pub fn new(
        dim: usize,
        reduce: Option<usize>,
        quant: Quant,
        metric: Metric,
        m: usize,
        uid: u64,
    ) -> Self {
        let stored = reduce.unwrap_or(dim);
        VectorSet {
            graph: Hnsw::with_metric(stored, quant, metric, m),
            by_name: BTreeMap::new(),
            names: Vec::new(),
            attrs: Vec::new(),
            projection: reduce.map(|r| Projection::new(dim, r, uid ^ 0x9e37_79b9_7f4a_7c15)),
            attr_count: 0,
            uid,
            dead: false,
            applied_seq: 0,
            removed: Vec::new(),
        }
    }

    /// Takes what changed since the last call (for an incremental commit).
    pub fn take_changes(&mut self) -> SetChanges {
        let mut removed = std::mem::take(&mut self.removed);
        removed.retain(|e| !self.by_name.contains_key(e));
        removed.sort();
        removed.dedup();
        SetChanges {
            slots: self.graph.take_changes(),
            removed,
        }
    }

    /// Hands back changes whose commit failed.
    pub fn give_back_changes(&mut self, changes: &SetChanges) {
        self.graph.changed.merge(&changes.slots);
        self.removed.extend(changes.removed.iter().cloned());
    }

    /// Whether anything changed since the changes were last taken.
    pub fn has_changes(&self) -> bool {
        self.graph.has_changes() || !self.removed.is_empty()
    }

    /// Forgets the recorded changes (after loading committed files).
    pub fn forget_changes(&mut self) {
        self.take_changes();
    }

    /// Checks that a VADD with these parameters fits, in Redis's order.
    pub fn check_add(
        &self,
        quant: Quant,
        metric: Metric,
        m: usize,
        dim: usize,
        reduce: Option<usize>,
    ) -> Result<(), VsetError> {
        if quant != self.graph.quant() {
            return Err(VsetError::QuantMismatch);
        }
        if m != self.graph.m() {
            return Err(VsetError::MMismatch);
        }
        if metric != self.graph.metric() {
            return Err(VsetError::MetricMismatch);
        }
        let stored = self.graph.dim();
        let dim_ok = match (&self.projection, reduce) {
            (None, _) => dim == stored,
            (Some(_), r) => r.unwrap_or(stored) == stored,
        };
        if !dim_ok {
            return Err(VsetError::DimMismatch {
                got: dim,
                expected: stored,
            });
        }
        if let Some(r) = reduce {
            if self.projection.is_none() {
                return Err(VsetError::ProjectionOnPlainSet);
            }
            if r != stored {
                return Err(VsetError::ProjectionDimMismatch);
            }
        }
        self.check_input(dim)
    }

    /// Checks a query or insert vector's dimension against the set.
    pub fn check_input(&self, dim: usize) -> Result<(), VsetError> {
        match &self.projection {
            Some(p) if dim != p.input_dim && dim != self.graph.dim() => {
                Err(VsetError::ProjectionInputMismatch {
                    got: dim,
                    expected: p.input_dim,
                })
            }
            None if dim != self.graph.dim() => Err(VsetError::DimMismatch {
                got: dim,
                expected: self.graph.dim(),
            }),
            _ => Ok(()),
        }
    }

    /// Projects (when needed) and, for the cosine metric, normalizes;
    /// returns the vector and its original norm.
    fn prepare(&self, v: Vec<f32>) -> (Vec<f32>, f32) {
        let mut v = match &self.projection {
            Some(p) if v.len() == p.input_dim => p.apply(&v),
            _ => v,
        };
        let norm = if self.graph.metric().normalizes() {
            normalize(&mut v)
        } else {
            v.iter().map(|x| x * x).sum::<f32>().sqrt()
        };
        (v, norm)
    }

    /// Adds or updates `element`. `attributes`: `None` keeps the current
    /// ones, `Some(empty)` removes them, `Some(json)` sets them. Returns
    /// true when the element is new.
    pub fn add(
        &mut self,
        element: &[u8],
        vector: Vec<f32>,
        attributes: Option<Bytes>,
        ef: usize,
    ) -> bool {
        let (v, norm) = self.prepare(vector);
        let existing = self.by_name.get(element).copied();
        let mut attr = None;
        if let Some(slot) = existing {
            attr = self.attrs.get_mut(slot as usize).and_then(Option::take);
            if let Some(n) = self.names.get_mut(slot as usize) {
                *n = None;
            }
            self.graph.remove(slot);
        }
        let slot = self.graph.insert(&v, norm, ef);
        self.name_slot(element, slot, attr, attributes);
        existing.is_none()
    }

    /// Names the new node in `slot` and sets its attributes (`old`: the
    /// ones of the node it replaces; `attributes` as for [`VectorSet::add`]).
    fn name_slot(
        &mut self,
        element: &[u8],
        slot: u32,
        old: Option<Bytes>,
        attributes: Option<Bytes>,
    ) {
        let slot = slot as usize;
        if slot >= self.names.len() {
            self.names.resize(slot + 1, None);
            self.attrs.resize(slot + 1, None);
        }
        let name = Bytes::copy_from_slice(element);
        self.names[slot] = Some(name.clone());
        self.by_name.insert(name, slot as u32);
        let had = old.is_some();
        let new_attr = match attributes {
            None => old,
            Some(a) if a.is_empty() => None,
            Some(a) => Some(a),
        };
        match (had, new_attr.is_some()) {
            (false, true) => self.attr_count += 1,
            (true, false) => self.attr_count -= 1,
            _ => {}
        }
        self.attrs[slot] = new_attr;
    }

    /// Step 1 of adding a new element without the write lock: the graph
    /// search, under the read lock (see `hnsw/insert.rs`).
    pub fn plan_add(&self, vector: Vec<f32>, ef: usize) -> AddPlan {
        let (v, norm) = self.prepare(vector);
        let plan = self.graph.plan(&v, norm, self.graph.draw_level(), ef);
        AddPlan {
            vector: v,
            norm,
            plan,
        }
    }

    /// [`VectorSet::plan_add`] of each vector, on all cores (the calling
    /// thread takes a share), each plan blind to the others; in order.
    pub fn plan_many<'v>(
        &self,
        vectors: impl Iterator<Item = &'v [f32]>,
        ef: usize,
    ) -> Vec<AddPlan> {
        let vectors: Vec<&[f32]> = vectors.collect();
        let threads = planning_threads();
        if threads < 2 || vectors.len() < 2 {
            return vectors
                .iter()
                .map(|v| self.plan_add(v.to_vec(), ef))
                .collect();
        }
        let share = vectors.len().div_ceil(threads);
        let plan_part = |part: &[&[f32]]| -> Vec<AddPlan> {
            part.iter().map(|v| self.plan_add(v.to_vec(), ef)).collect()
        };
        std::thread::scope(|scope| {
            let mut parts = vectors.chunks(share);
            let mine = parts.next().unwrap_or_default();
            let others: Vec<_> = parts
                .map(|part| scope.spawn(move || plan_part(part)))
                .collect();
            let mut plans = plan_part(mine);
            for h in others {
                plans.extend(h.join().expect("planning thread"));
            }
            plans
        })
    }

    /// Step 2, under the write lock: the links the planned element gets in
    /// the set as it is now (logged with the VADD).
    pub fn resolve_add(&self, plan: &AddPlan, ef: usize) -> LinkRecord {
        self.graph.resolve(&plan.plan, ef)
    }

    /// Step 3: adds `element` (not in the set) as `record` says.
    pub fn apply_add(
        &mut self,
        element: &[u8],
        plan: &AddPlan,
        attributes: Option<Bytes>,
        record: &LinkRecord,
    ) -> Result<(), Misfit> {
        self.place_new(element, &plan.vector, plan.norm, attributes, record)
    }

    /// [`VectorSet::apply_add`] of a record resolved under this same lock.
    /// Its failing cannot happen; if it did, the element is inserted by
    /// search (`vector` as given to the plan), which is what the replay
    /// of the logged record would do.
    pub fn apply_or_insert(
        &mut self,
        element: &[u8],
        plan: &AddPlan,
        vector: &[f32],
        attributes: Option<Bytes>,
        record: &LinkRecord,
        ef: usize,
    ) {
        if self
            .apply_add(element, plan, attributes.clone(), record)
            .is_err()
        {
            tracing::error!(
                "a link record resolved under the lock did not apply; inserted by search"
            );
            self.add(element, vector.to_vec(), attributes, ef);
        }
    }

    /// Places a new `element` (prepared vector and norm) as `record` says;
    /// changes nothing when it exists or the record does not fit.
    fn place_new(
        &mut self,
        element: &[u8],
        vector: &[f32],
        norm: f32,
        attributes: Option<Bytes>,
        record: &LinkRecord,
    ) -> Result<(), Misfit> {
        if self.by_name.contains_key(element) {
            return Err(Misfit);
        }
        let slot = self.graph.apply(vector, norm, record)?;
        self.name_slot(element, slot, None, attributes);
        Ok(())
    }

    /// Adds new elements (none in the set, no name twice) in order and
    /// returns the link record of each (logged with the VADDBATCH). The
    /// graph searches of each chunk run on all cores, each blind to the
    /// others of its chunk; resolving them one by one links them together
    /// (see `hnsw/insert.rs`).
    pub fn add_new(
        &mut self,
        items: &[(Bytes, Vec<f32>, Option<Bytes>)],
        ef: usize,
    ) -> Vec<LinkRecord> {
        let mut records = Vec::with_capacity(items.len());
        for chunk in items.chunks(BATCH_CHUNK * planning_threads()) {
            let plans = self.plan_many(chunk.iter().map(|(_, v, _)| v.as_slice()), ef);
            for ((name, v, attrs), plan) in chunk.iter().zip(&plans) {
                let rec = self.resolve_add(plan, ef);
                self.apply_or_insert(name, plan, v, attrs.clone(), &rec, ef);
                records.push(rec);
            }
        }
        records
    }

    /// Replays a logged VADD with its links: applies `record` when the
    /// element is new and the record fits the graph, else adds it the
    /// usual way (a full search). Returns true when the record was applied.
    pub fn add_linked(
        &mut self,
        element: &[u8],
        vector: Vec<f32>,
        attributes: Option<Bytes>,
        record: &LinkRecord,
        ef: usize,
    ) -> bool {
        let (v, norm) = self.prepare(vector.clone());
        if self
            .place_new(element, &v, norm, attributes.clone(), record)
            .is_ok()
        {
            return true;
        }
        self.add(element, vector, attributes, ef);
        false
    }

    /// Removes `element`; true if it was there.
    pub fn remove(&mut self, element: &[u8]) -> bool {
        let Some(slot) = self.by_name.remove(element) else {
            return false;
        };
        self.removed.push(Bytes::copy_from_slice(element));
        self.graph.remove(slot);
        self.names[slot as usize] = None;
        if self.attrs[slot as usize].take().is_some() {
            self.attr_count -= 1;
        }
        if self.by_name.is_empty() {
            self.names = Vec::new();
            self.attrs = Vec::new();
        }
        true
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// True when the set has no elements.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// The set's unique id (VINFO vset-uid); WAL records name sets by it.
    pub fn uid(&self) -> u64 {
        self.uid
    }

    /// Gives the set a new id (a RESTOREd set is a new set).
    pub fn set_uid(&mut self, uid: u64) {
        self.uid = uid;
    }

    /// Stored (possibly reduced) dimension.
    pub fn dim(&self) -> usize {
        self.graph.dim()
    }

    /// Whether `element` is in the set.
    pub fn contains(&self, element: &[u8]) -> bool {
        self.by_name.contains_key(element)
    }

    /// The element's vector at its original scale (±1 per component for BIN).
    pub fn embedding(&self, element: &[u8]) -> Option<Vec<f32>> {
        let slot = *self.by_name.get(element)?;
        let (bytes, l2, range) = self.graph.raw(slot)?;
        let g = &self.graph;
        let scale = super::rows::scales(g.quant(), g.metric());
        Some(super::rows::embedding(
            g.quant(),
            scale,
            bytes,
            range,
            l2,
            g.dim(),
        ))
    }

    /// Quantization name, raw encoded bytes, norm, and the Q8 range (VEMB RAW).
    pub fn raw(&self, element: &[u8]) -> Option<(&'static str, Vec<u8>, f32, Option<f32>)> {
        let slot = *self.by_name.get(element)?;
        let (bytes, l2, range) = self.graph.raw(slot)?;
        let range = (self.graph.quant() == Quant::Q8).then_some(range);
        Some((self.graph.quant().name(), bytes.to_vec(), l2, range))
    }

    /// Attributes of `element` (None: no element or no attributes).
    pub fn attributes(&self, element: &[u8]) -> Option<Bytes> {
        let slot = *self.by_name.get(element)?;
        self.attrs[slot as usize].clone()
    }

    /// Sets (or with an empty value removes) attributes; false if no element.
    pub fn set_attributes(&mut self, element: &[u8], json: Bytes) -> bool {
        let Some(&slot) = self.by_name.get(element) else {
            return false;
        };
        self.graph.mark_node(slot);
        let cell = &mut self.attrs[slot as usize];
        let had = cell.is_some();
        *cell = (!json.is_empty()).then_some(json);
        match (had, cell.is_some()) {
            (false, true) => self.attr_count += 1,
            (true, false) => self.attr_count -= 1,
            _ => {}
        }
        true
    }

    /// Neighbours of `element` per level, highest level first, with
    /// similarity scores.
    pub fn links(&self, element: &[u8]) -> Option<Vec<Vec<(Bytes, f64)>>> {
        let slot = *self.by_name.get(element)?;
        let level = self.graph.node(slot)?.level();
        Some(
            (0..=level)
                .rev()
                .map(|l| {
                    self.graph
                        .links(slot, l)
                        .iter()
                        .filter_map(|&n| {
                            let name = self.names.get(n as usize)?.clone()?;
                            Some((
                                name,
                                self.graph.metric().score(self.graph.distance(slot, n)),
                            ))
                        })
                        .collect()
                })
                .collect(),
        )
    }

    /// Every element with its vector (as VEMB returns it) and attributes,
    /// in name order, copied out so they can be used with the lock
    /// released (see [`ElementRows`]).
    pub fn rows(&self) -> ElementRows {
        ElementRows::take(self, self.by_name.keys())
    }

    /// [`VectorSet::rows`] of `names` (those in the set), in that order.
    pub fn rows_of<'a>(&self, names: impl Iterator<Item = &'a Bytes>) -> ElementRows {
        ElementRows::take(self, names)
    }

    /// VINFO fields.
    pub fn info(&self) -> SetInfo {
        SetInfo {
            quant: self.graph.quant().name(),
            metric: self.graph.metric().name(),
            m: self.graph.m(),
            dim: self.graph.dim(),
            projection_input_dim: self.projection.as_ref().map_or(0, |p| p.input_dim),
            size: self.len(),
            max_level: self.graph.max_level(),
            attributes_count: self.attr_count,
            uid: self.uid,
            max_node_uid: self.graph.last_id(),
        }
    }

    /// A random element.
    pub fn random(&self) -> Option<Bytes> {
        let slot = self.graph.random_slot()?;
        self.names.get(slot as usize).cloned().flatten()
    }

    /// Up to `count` distinct random elements.
    pub fn random_distinct(&self, count: usize) -> Vec<Bytes> {
        if count >= self.len() {
            return self.by_name.keys().cloned().collect();
        }
        let mut picked = std::collections::HashSet::new();
        let mut out = Vec::with_capacity(count);
        if count * 5 <= self.len() {
            while out.len() < count {
                if let Some(e) = self.random()
                    && picked.insert(e.clone())
                {
                    out.push(e);
                }
            }
        } else {
            // Many of them: a run of consecutive names from a random start.
            let start = fastrand::usize(..self.len());
            out.extend(self.by_name.keys().cycle().skip(start).take(count).cloned());
        }
        out
    }

    /// Elements between `start` and `end` in byte order (VRANGE), at most
    /// `limit` of them.
    pub fn range(
        &self,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        limit: Option<usize>,
    ) -> Vec<Bytes> {
        let start: Bound<Bytes> = start.map(Bytes::copy_from_slice);
        let end: Bound<Bytes> = end.map(Bytes::copy_from_slice);
        if let (Bound::Included(s) | Bound::Excluded(s), Bound::Included(e) | Bound::Excluded(e)) =
            (&start, &end)
            && (s > e
                || (s == e
                    && (matches!(start, Bound::Excluded(_)) || matches!(end, Bound::Excluded(_)))))
        {
            return Vec::new();
        }
        self.by_name
            .range((start, end))
            .take(limit.unwrap_or(usize::MAX))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Similarity search. `Err` only for a missing query element.
    pub fn search(
        &self,
        input: QueryInput,
        p: &SearchParams<'_>,
    ) -> Result<Vec<Hit>, ElementNotFound> {
        let query = match input {
            QueryInput::Element(e) => {
                let slot = *self.by_name.get(&e[..]).ok_or(ElementNotFound)?;
                self.graph.query_of(slot).ok_or(ElementNotFound)?
            }
            QueryInput::Vector(v) => {
                let (v, _) = self.prepare(v);
                self.graph.query(&v)
            }
        };
        let mut ef = if p.ef == 0 { DEFAULT_SEARCH_EF } else { p.ef };
        ef = ef.max(p.count).min(self.len());
        let filter_ef = if p.filter_ef == 0 {
            p.count.saturating_mul(100)
        } else {
            p.filter_ef
        };
        let mut accept = |slot: u32| match p.filter {
            None => true,
            Some(f) => self
                .attrs
                .get(slot as usize)
                .and_then(Option::as_ref)
                .is_some_and(|a| f.matches(a)),
        };
        let found = if p.truth {
            self.graph.exact(&query, ef, &mut accept)
        } else if p.filter.is_some() {
            self.graph
                .search_filtered(&query, ef, filter_ef, &mut accept)
        } else {
            self.graph.search(&query, ef)
        };
        let metric = self.graph.metric();
        Ok(found
            .into_iter()
            .take(p.count)
            .take_while(|&(d, _)| p.epsilon.is_none_or(|e| metric.score(d) >= 1.0 - e))
            .filter_map(|(d, slot)| {
                Some(Hit {
                    element: self.names.get(slot as usize)?.clone()?,
                    score: metric.score(d),
                    attributes: self.attrs.get(slot as usize).cloned().flatten(),
                })
            })
            .collect())
    }

    /// Assembles a set from loaded parts (index file).
    pub(super) fn from_parts(
        graph: Hnsw,
        by_name: BTreeMap<Bytes, u32>,
        names: Vec<Option<Bytes>>,
        attrs: Vec<Option<Bytes>>,
        projection: Option<Projection>,
        attr_count: usize,
        uid: u64,
    ) -> Self {
        VectorSet {
            graph,
            by_name,
            names,
            attrs,
            projection,
            attr_count,
            uid,
            dead: false,
            applied_seq: 0,
            removed: Vec::new(),
        }
    }

    /// Approximate memory used, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.graph.memory_bytes()
            + self.by_name.keys().map(|k| k.len() + 48).sum::<usize>()
            + self
                .attrs
                .iter()
                .flatten()
                .map(|a| a.len() + 32)
                .sum::<usize>()
    }
}

/// VSIM ELE named an element that is not in the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementNotFound;

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> VectorSet {
        VectorSet::new(3, None, Quant::Q8, Metric::Cosine, DEFAULT_M, 1)
    }

    #[test]
    fn add_update_remove() {
        let mut s = set();
        assert!(s.add(
            b"a",
            vec![1.0, 0.0, 0.0],
            Some(Bytes::from_static(b"{\"x\":1}")),
            200
        ));
        assert!(s.add(b"b", vec![0.0, 1.0, 0.0], None, 200));
        assert!(!s.add(b"a", vec![0.0, 0.0, 2.0], None, 200), "update");
        assert_eq!(
            s.attributes(b"a"),
            Some(Bytes::from_static(b"{\"x\":1}")),
            "update keeps attributes"
        );
        let e = s.embedding(b"a").unwrap();
        assert!((e[2] - 2.0).abs() < 0.02, "{e:?}");
        assert_eq!(s.info().attributes_count, 1);
        assert!(s.remove(b"a"));
        assert!(!s.remove(b"a"));
        assert_eq!(s.info().attributes_count, 0);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn search_scores_and_epsilon() {
        let mut s = set();
        s.add(b"same", vec![2.0, 1.0, 1.0], None, 200);
        s.add(b"orth", vec![-1.0, 1.0, 1.0], None, 200);
        s.add(b"opp", vec![-2.0, -1.0, -1.0], None, 200);
        let p = SearchParams {
            count: 10,
            ef: 0,
            filter: None,
            filter_ef: 0,
            truth: false,
            epsilon: None,
        };
        let hits = s
            .search(QueryInput::Vector(vec![2.0, 1.0, 1.0]), &p)
            .unwrap();
        assert_eq!(hits.len(), 3);
        assert_eq!(hits[0].element, Bytes::from_static(b"same"));
        assert!(hits[0].score > 0.99);
        assert!(hits[2].score < 0.01);
        let near = SearchParams {
            epsilon: Some(0.5),
            ..p.clone()
        };
        assert_eq!(
            s.search(QueryInput::Vector(vec![2.0, 1.0, 1.0]), &near)
                .unwrap()
                .len(),
            2
        );
        assert!(
            s.search(QueryInput::Element(Bytes::from_static(b"nope")), &p)
                .is_err()
        );
    }

    #[test]
    fn projection_and_checks() {
        let mut s = VectorSet::new(5, Some(3), Quant::NoQuant, Metric::Cosine, DEFAULT_M, 2);
        assert_eq!(s.dim(), 3);
        s.add(b"a", vec![1.0, 2.0, 3.0, 4.0, 5.0], None, 200);
        assert_eq!(
            s.check_add(Quant::NoQuant, Metric::Cosine, 16, 5, Some(3)),
            Ok(())
        );
        assert_eq!(
            s.check_add(Quant::NoQuant, Metric::Cosine, 16, 5, Some(2)),
            Err(VsetError::DimMismatch {
                got: 5,
                expected: 3
            })
        );
        assert_eq!(
            s.check_add(Quant::NoQuant, Metric::Cosine, 16, 4, None),
            Err(VsetError::ProjectionInputMismatch {
                got: 4,
                expected: 5
            })
        );
        assert_eq!(
            s.check_add(Quant::Q8, Metric::Cosine, 16, 5, None),
            Err(VsetError::QuantMismatch)
        );
        let plain = set();
        assert_eq!(
            plain.check_add(Quant::Q8, Metric::Cosine, 8, 3, None),
            Err(VsetError::MMismatch)
        );
        assert_eq!(
            plain.check_add(Quant::Q8, Metric::Cosine, 16, 4, None),
            Err(VsetError::DimMismatch {
                got: 4,
                expected: 3
            })
        );
        assert_eq!(
            plain.check_add(Quant::Q8, Metric::Cosine, 16, 3, Some(2)),
            Err(VsetError::ProjectionOnPlainSet)
        );
    }

    #[test]
    fn l2_and_ip_metrics() {
        for quant in [Quant::NoQuant, Quant::Q8] {
            let mut l2 = VectorSet::new(2, None, quant, Metric::L2, DEFAULT_M, 3);
            l2.add(b"near", vec![1.0, 1.0], None, 100);
            l2.add(b"far", vec![10.0, 10.0], None, 100);
            l2.add(b"mid", vec![3.0, 3.0], None, 100);
            let p = SearchParams {
                count: 3,
                ef: 0,
                filter: None,
                filter_ef: 0,
                truth: false,
                epsilon: None,
            };
            let hits = l2.search(QueryInput::Vector(vec![0.0, 0.0]), &p).unwrap();
            let order: Vec<&[u8]> = hits.iter().map(|h| &h.element[..]).collect();
            assert_eq!(
                order,
                [&b"near"[..], b"mid", b"far"],
                "{quant:?}: cosine would tie them"
            );
            assert!((hits[0].score - 1.0 / (1.0 + 2f64.sqrt())).abs() < 0.05);
            let e = l2.embedding(b"far").unwrap();
            assert!((e[0] - 10.0).abs() < 0.1, "raw vectors are kept: {e:?}");
            assert_eq!(
                l2.check_add(quant, Metric::Cosine, DEFAULT_M, 2, None),
                Err(VsetError::MetricMismatch)
            );
            let mut ip = VectorSet::new(2, None, quant, Metric::Ip, DEFAULT_M, 4);
            ip.add(b"small", vec![1.0, 0.0], None, 100);
            ip.add(b"big", vec![5.0, 0.0], None, 100);
            ip.add(b"neg", vec![-5.0, 0.0], None, 100);
            let hits = ip.search(QueryInput::Vector(vec![1.0, 0.0]), &p).unwrap();
            assert_eq!(&hits[0].element[..], b"big");
            assert!((hits[0].score - 5.0).abs() < 0.1);
            assert!((hits[2].score + 5.0).abs() < 0.1);
        }
    }

    #[test]
    fn ranges() {
        let mut s = set();
        for n in ["apple", "banana", "cherry", "date", "elderberry"] {
            s.add(n.as_bytes(), vec![1.0, 2.0, 3.0], None, 200);
        }
        let r = |a: Bound<&[u8]>, b: Bound<&[u8]>, l| -> Vec<String> {
            s.range(a, b, l)
                .iter()
                .map(|x| String::from_utf8(x.to_vec()).unwrap())
                .collect()
        };
        assert_eq!(r(Bound::Unbounded, Bound::Unbounded, None).len(), 5);
        assert_eq!(
            r(Bound::Included(b"banana"), Bound::Included(b"date"), None),
            ["banana", "cherry", "date"]
        );
        assert_eq!(
            r(Bound::Excluded(b"banana"), Bound::Excluded(b"date"), None),
            ["cherry"]
        );
        assert_eq!(
            r(Bound::Unbounded, Bound::Unbounded, Some(2)),
            ["apple", "banana"]
        );
        assert!(r(Bound::Included(b"z"), Bound::Included(b"a"), None).is_empty());
    }
}
