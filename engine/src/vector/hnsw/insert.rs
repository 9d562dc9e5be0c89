//! Inserting a node in three steps, so that inserts into one set run on
//! all cores and a replay after a crash re-links instead of re-searching:
//!
//! 1. [`Hnsw::plan`] (`&self`, under the set's read lock, many at once):
//!    the expensive part — the descent, the beam search of every layer,
//!    the choice of the new node's neighbours, and for every chosen
//!    neighbour whose list is full the pruning decision.
//! 2. [`Hnsw::resolve`] (`&self`, under the write lock): checks the plan
//!    against what was inserted since. Nodes inserted meanwhile (the
//!    `recent` ring) join the candidates of each layer and the choice is
//!    made again only when one of them could change it; a pruning decision
//!    is reused when the neighbour's list is still the one it was made on.
//!    A plan made before a removal, an entry-point change or too many
//!    inserts ago is made again here. Returns a [`LinkRecord`].
//! 3. [`Hnsw::apply`] (`&mut self`): places the node and changes exactly
//!    the links the record names, with no distance computed. The record is
//!    logged with the VADD (WAL op `VAddLinked`) and a replay applies it the
//!    same way; a record that does not fit the graph it is replayed on
//!    (checked before anything changes) is refused and the caller inserts.

use super::{Dist, Hnsw, MAX_LEVEL, Node, Query, SlotMeta, quant, words_as_bytes_mut};

/// Inserts kept in the `recent` ring; a plan older than that is redone.
const RECENT: usize = 256;
/// Marks the node being inserted in candidate lists while it has no slot.
const NEW: u32 = u32::MAX;

/// A neighbour's change when the new node links to it: drop `drop`, then
/// link the new node when `linked` (the pruning may also reject it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackLink {
    pub node: u32,
    pub drop: Vec<u32>,
    pub linked: bool,
}

/// A link record that does not fit the graph it is applied to (nothing
/// was changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Misfit;

/// Where a new node goes and every link its insertion changes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkRecord {
    pub slot: u32,
    pub level: u8,
    /// The new node's links, levels 0..=level.
    pub own: Vec<Vec<u32>>,
    /// The neighbours that change, levels 0..=level.
    pub back: Vec<Vec<BackLink>>,
}

/// One layer of a plan.
#[derive(Debug, Clone)]
struct LayerPlan {
    /// Candidates from the beam search, closest first.
    found: Vec<(Dist, u32)>,
    /// The neighbours chosen among them (up to the back-link count).
    chosen: Vec<(Dist, u32)>,
    /// See `select_by`.
    horizon: Option<Dist>,
    /// Pruning decisions for full neighbours: (neighbour, its list when
    /// decided, drop, linked).
    prunes: Vec<(u32, Vec<u32>, Vec<u32>, bool)>,
}

/// The result of [`Hnsw::plan`].
#[derive(Debug, Clone)]
pub struct InsertPlan {
    q: Query,
    level: usize,
    entry: Option<u32>,
    max_level: usize,
    removals: u64,
    inserts: u64,
    /// Indexed by level, 0..=min(level, max_level).
    layers: Vec<LayerPlan>,
}

impl InsertPlan {
    /// The level drawn for the new node.
    pub fn level(&self) -> usize {
        self.level
    }
}

impl Hnsw {
    /// The query for a vector as it will be stored (same bytes, range and
    /// norm as `query_of` gives once it is inserted).
    fn stored_query(&self, normalized: &[f32], l2: f32) -> Query {
        let mut q = self.query(normalized);
        q.norm = if self.metric.normalizes() { 1.0 } else { l2 };
        q
    }

    /// Links a new node gets back at `level` (see `BACK_LINKS_L0`).
    fn back_links(&self, level: usize) -> usize {
        if level == 0 {
            super::BACK_LINKS_L0 * self.m
        } else {
            self.m
        }
    }

    /// Step 1: searches the graph for a new node of `level`.
    pub fn plan(&self, normalized: &[f32], l2: f32, level: usize, ef: usize) -> InsertPlan {
        self.plan_with(self.stored_query(normalized, l2), level, ef)
    }

    fn plan_with(&self, q: Query, level: usize, ef: usize) -> InsertPlan {
        let mut layers: Vec<Option<LayerPlan>> = Vec::new();
        if let Some(entry) = self.entry {
            let mut ep = (Dist(self.dist_q(&q, entry)), entry);
            for l in (level + 1..=self.max_level).rev() {
                ep = self.greedy(&q, ep, l);
            }
            let top = level.min(self.max_level);
            layers = vec![None; top + 1];
            let mut eps = vec![ep];
            for l in (0..=top).rev() {
                let mut found = self.search_layer(&q, &eps, ef.max(self.m), l, None);
                // A link left over from a removed node may lead to a node
                // that reused its slot with a lower level.
                found.retain(|&(_, n)| self.holds(n, l));
                let (chosen, horizon) =
                    self.select_by(&found, self.back_links(l), &|a, b| self.distance(a, b));
                let prunes = chosen
                    .iter()
                    .filter(|&&(_, n)| self.links(n, l).len() >= self.max_links(l))
                    .map(|&(_, n)| {
                        let before = self.links(n, l).to_vec();
                        let (drop, linked) = self.prune(&q, n, l, &before);
                        (n, before, drop, linked)
                    })
                    .collect();
                if !found.is_empty() {
                    eps.clone_from(&found);
                }
                layers[l] = Some(LayerPlan {
                    found,
                    chosen,
                    horizon,
                    prunes,
                });
            }
        }
        InsertPlan {
            q,
            level,
            entry: self.entry,
            max_level: self.max_level,
            removals: self.removals,
            inserts: self.inserts,
            layers: layers
                .into_iter()
                .map(|l| l.expect("every layer planned"))
                .collect(),
        }
    }

    /// What linking the new node (query `q`) into `from`'s full list
    /// `current` at `level` changes: the links dropped, and whether the new
    /// node is kept.
    fn prune(&self, q: &Query, from: u32, level: usize, current: &[u32]) -> (Vec<u32>, bool) {
        let distance = |a: u32, b: u32| match (a, b) {
            (NEW, NEW) => 0.0,
            (NEW, x) | (x, NEW) => self.dist_q(q, x),
            (a, b) => self.distance(a, b),
        };
        for &c in current {
            self.prefetch(c);
        }
        let mut cands: Vec<(Dist, u32)> = current
            .iter()
            .copied()
            .filter(|&c| self.holds(c, level))
            .map(|c| (Dist(self.distance(from, c)), c))
            .collect();
        let to_new = Dist(self.dist_q(q, from));
        if cands.len() == current.len() && cands.iter().all(|&(d, _)| to_new >= d) {
            // Farther than every link it has: `from` keeps its list (the
            // new node still links to it), as Redis does, without the
            // heuristic's M² distances.
            return (Vec::new(), false);
        }
        cands.push((to_new, NEW));
        cands.sort();
        // One candidate too many (unless links to removed nodes made
        // room): drop the farthest one that a closer one covers (is nearer
        // to it than `from` is), a link the paper's heuristic would prune;
        // if none is covered, the farthest. The heuristic itself (select,
        // then fill up with the pruned) also drops one pruned candidate
        // but needs up to M² distances to find it; this looks from the far
        // end and stops at the first covered one (a few distances).
        if cands.len() > self.max_links(level) {
            let mut drop_at = cands.len() - 1;
            'find: for i in (1..cands.len()).rev() {
                let (d, c) = cands[i];
                for &(_, k) in &cands[..i] {
                    if distance(c, k) < d.0 {
                        drop_at = i;
                        break 'find;
                    }
                }
            }
            cands.remove(drop_at);
        }
        let drop = current
            .iter()
            .copied()
            .filter(|c| !cands.iter().any(|&(_, k)| k == *c))
            .collect();
        (drop, cands.iter().any(|&(_, k)| k == NEW))
    }

    /// Step 2: the record of inserting the planned node now.
    pub fn resolve(&self, plan: &InsertPlan, ef: usize) -> LinkRecord {
        let since = self.inserts - plan.inserts;
        if plan.entry != self.entry
            || plan.max_level != self.max_level
            || plan.removals != self.removals
            || since > self.recent.len() as u64
        {
            let fresh = self.plan_again(plan, ef);
            return self.resolve(&fresh, ef);
        }
        let recent: Vec<u32> = self
            .recent
            .iter()
            .skip(self.recent.len() - since as usize)
            .copied()
            .collect();
        let slot = self.free.last().copied().unwrap_or(self.nodes.len() as u32);
        let mut own = vec![Vec::new(); plan.level + 1];
        let mut back = vec![Vec::new(); plan.level + 1];
        for (l, layer) in plan.layers.iter().enumerate() {
            let newer: Vec<(Dist, u32)> = recent
                .iter()
                .filter(|&&s| self.holds(s, l))
                .map(|&s| (Dist(self.dist_q(&plan.q, s)), s))
                .collect();
            let matters = newer
                .iter()
                .any(|&(d, _)| layer.horizon.is_none_or(|h| d <= h));
            let chosen = if matters {
                let mut cands = layer.found.clone();
                cands.extend(newer);
                cands.sort();
                self.select(&cands, self.back_links(l))
            } else {
                layer.chosen.clone()
            };
            own[l] = chosen.iter().take(self.m).map(|&(_, n)| n).collect();
            for &(_, n) in &chosen {
                let current = self.links(n, l);
                if current.len() < self.max_links(l) {
                    // A link left over from the node that had this slot
                    // before goes (and comes back as the new node's).
                    let stale = current.contains(&slot);
                    back[l].push(BackLink {
                        node: n,
                        drop: if stale { vec![slot] } else { Vec::new() },
                        linked: true,
                    });
                    continue;
                }
                let (drop, linked) = match layer.prunes.iter().find(|p| p.0 == n) {
                    Some((_, before, drop, linked)) if before == current => (drop.clone(), *linked),
                    _ => self.prune(&plan.q, n, l, current),
                };
                if linked || !drop.is_empty() {
                    back[l].push(BackLink {
                        node: n,
                        drop,
                        linked,
                    });
                }
            }
        }
        LinkRecord {
            slot,
            level: plan.level as u8,
            own,
            back,
        }
    }

    /// The plan made again against the graph as it is now.
    fn plan_again(&self, plan: &InsertPlan, ef: usize) -> InsertPlan {
        self.plan_with(plan.q.clone(), plan.level, ef)
    }

    /// Step 3: places the node and changes the links `rec` names. Refuses
    /// (changing nothing) a record that does not fit this graph.
    pub fn apply(&mut self, normalized: &[f32], l2: f32, rec: &LinkRecord) -> Result<u32, Misfit> {
        self.check_record(rec)?;
        let slot = rec.slot;
        let level = usize::from(rec.level);
        if slot as usize == self.nodes.len() {
            self.nodes.push(None);
            self.meta.push(SlotMeta::default());
            self.layer0
                .resize(self.layer0.len() + self.layer0_stride(), 0);
            self.arena.resize(self.arena.len() + self.slot_words, 0);
        } else {
            let at = self.free.iter().rposition(|&s| s == slot).ok_or(Misfit)?;
            self.free.remove(at);
        }
        let start = slot as usize * self.slot_words;
        let bytes = self.bytes;
        let range = quant::encode(
            self.quant,
            normalized,
            &mut words_as_bytes_mut(&mut self.arena[start..start + self.slot_words])[..bytes],
        );
        self.last_id += 1;
        let norm = if self.metric.normalizes() { 1.0 } else { l2 };
        self.meta[slot as usize] = SlotMeta {
            range,
            norm,
            live: true,
        };
        self.nodes[slot as usize] = Some(Node {
            id: self.last_id,
            l2,
            range,
            level: rec.level,
            upper: vec![Vec::new(); level],
        });
        let stride = self.layer0_stride();
        self.layer0[slot as usize * stride] = 0;
        self.len += 1;
        self.mark_node(slot);
        for (l, links) in rec.own.iter().enumerate() {
            self.set_links(slot, l, links);
        }
        for (l, backs) in rec.back.iter().enumerate() {
            for b in backs {
                let mut list: Vec<u32> = self
                    .links(b.node, l)
                    .iter()
                    .copied()
                    .filter(|c| !b.drop.contains(c))
                    .collect();
                if b.linked {
                    list.push(slot);
                }
                self.set_links(b.node, l, &list);
            }
        }
        if self.entry.is_none() || level > self.max_level {
            self.entry = Some(slot);
            self.max_level = level;
        }
        self.inserts += 1;
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(slot);
        Ok(slot)
    }

    /// Whether `rec` can be applied to this graph as it is.
    fn check_record(&self, rec: &LinkRecord) -> Result<(), Misfit> {
        let level = usize::from(rec.level);
        let slot = rec.slot;
        let slot_ok = slot as usize == self.nodes.len()
            || (self.node(slot).is_none() && self.free.contains(&slot));
        if level > MAX_LEVEL
            || !slot_ok
            || rec.own.len() != level + 1
            || rec.back.len() != level + 1
        {
            return Err(Misfit);
        }
        let holds = |n: u32, l: usize| n != slot && self.holds(n, l);
        for (l, links) in rec.own.iter().enumerate() {
            if links.len() > self.max_links(l) || !links.iter().all(|&n| holds(n, l)) {
                return Err(Misfit);
            }
        }
        for (l, backs) in rec.back.iter().enumerate() {
            for b in backs {
                if !holds(b.node, l) {
                    return Err(Misfit);
                }
                let current = self.links(b.node, l);
                if !b.drop.iter().all(|d| current.contains(d)) {
                    return Err(Misfit);
                }
                let after = current.len() - b.drop.len() + usize::from(b.linked);
                let stale = current.contains(&slot) && !b.drop.contains(&slot);
                if after > self.max_links(l) || (b.linked && stale) {
                    return Err(Misfit);
                }
            }
        }
        Ok(())
    }
}

/// Encoding of a [`LinkRecord`] in the WAL: slot u32, level u8, then per
/// level: own count u16 + slots u32, back count u16 + per back link:
/// node u32, flags u8 (bit 0 = linked), drop count u16 + slots u32. All
/// little-endian.
impl LinkRecord {
    /// Appends the encoding to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.slot.to_le_bytes());
        out.push(self.level);
        for (own, back) in self.own.iter().zip(&self.back) {
            out.extend_from_slice(&(own.len() as u16).to_le_bytes());
            for s in own {
                out.extend_from_slice(&s.to_le_bytes());
            }
            out.extend_from_slice(&(back.len() as u16).to_le_bytes());
            for b in back {
                out.extend_from_slice(&b.node.to_le_bytes());
                out.push(u8::from(b.linked));
                out.extend_from_slice(&(b.drop.len() as u16).to_le_bytes());
                for d in &b.drop {
                    out.extend_from_slice(&d.to_le_bytes());
                }
            }
        }
    }

    /// Decodes an encoding made by [`LinkRecord::encode`]; `None` if it is
    /// malformed.
    pub fn decode(mut b: &[u8]) -> Option<LinkRecord> {
        fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
            if b.len() < n {
                return None;
            }
            let (head, rest) = b.split_at(n);
            *b = rest;
            Some(head)
        }
        fn u32_(b: &mut &[u8]) -> Option<u32> {
            Some(u32::from_le_bytes(take(b, 4)?.try_into().ok()?))
        }
        fn u16_(b: &mut &[u8]) -> Option<usize> {
            Some(u16::from_le_bytes(take(b, 2)?.try_into().ok()?).into())
        }
        let slot = u32_(&mut b)?;
        let level = take(&mut b, 1)?[0];
        if usize::from(level) > MAX_LEVEL {
            return None;
        }
        let mut rec = LinkRecord {
            slot,
            level,
            own: Vec::new(),
            back: Vec::new(),
        };
        for _ in 0..=level {
            let n = u16_(&mut b)?;
            rec.own
                .push((0..n).map(|_| u32_(&mut b)).collect::<Option<_>>()?);
            let n = u16_(&mut b)?;
            let mut backs = Vec::with_capacity(n);
            for _ in 0..n {
                let node = u32_(&mut b)?;
                let linked = take(&mut b, 1)?[0] & 1 == 1;
                let drops = u16_(&mut b)?;
                let drop = (0..drops).map(|_| u32_(&mut b)).collect::<Option<_>>()?;
                backs.push(BackLink { node, drop, linked });
            }
            rec.back.push(backs);
        }
        b.is_empty().then_some(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::quant::{Quant, normalize};

    fn unit(rng: &mut fastrand::Rng, dim: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..dim).map(|_| rng.f32() * 2.0 - 1.0).collect();
        normalize(&mut v);
        v
    }

    fn all_links(g: &Hnsw) -> Vec<(u32, usize, Vec<u32>)> {
        let mut out = Vec::new();
        for s in g.slots() {
            for l in 0..=g.node(s).unwrap().level() {
                out.push((s, l, g.links(s, l).to_vec()));
            }
        }
        out
    }

    fn recall(g: &Hnsw, queries: &[Vec<f32>], ef: usize) -> f64 {
        let mut hit = 0;
        for q in queries {
            let q = g.query(q);
            let truth: Vec<u32> = g.exact(&q, 10, &mut |_| true).iter().map(|x| x.1).collect();
            let got: Vec<u32> = g.search(&q, ef).iter().take(10).map(|x| x.1).collect();
            hit += truth.iter().filter(|t| got.contains(t)).count();
        }
        hit as f64 / (queries.len() * 10) as f64
    }

    /// Records applied to a graph in the same state (a replay) rebuild it
    /// link for link, through removals and reused slots; every record
    /// survives its encoding.
    #[test]
    fn records_replay_the_same_graph() {
        let mut rng = fastrand::Rng::with_seed(3);
        let dim = 16;
        let mut live = Hnsw::new(dim, Quant::Q8, 8);
        let mut replica = Hnsw::new(dim, Quant::Q8, 8);
        let mut slots = Vec::new();
        for i in 0..1500 {
            let v = unit(&mut rng, dim);
            let plan = live.plan(&v, 1.0, live.draw_level(), 64);
            let rec = live.resolve(&plan, 64);
            let mut bytes = Vec::new();
            rec.encode(&mut bytes);
            let decoded = LinkRecord::decode(&bytes).expect("decodes");
            assert_eq!(decoded, rec);
            assert!(LinkRecord::decode(&bytes[..bytes.len() - 1]).is_none());
            let slot = live.apply(&v, 1.0, &rec).unwrap();
            assert_eq!(replica.apply(&v, 1.0, &decoded), Ok(slot));
            slots.push(slot);
            if i % 7 == 6 {
                let victim = slots.swap_remove(rng.usize(..slots.len()));
                assert!(live.remove(victim));
                assert!(replica.remove(victim));
            }
        }
        assert_eq!(all_links(&live), all_links(&replica));
        assert_eq!(
            (live.entry, live.max_level),
            (replica.entry, replica.max_level)
        );
        // A record for another graph state is refused and changes nothing.
        let v = unit(&mut rng, dim);
        let rec = live.resolve(&live.plan(&v, 1.0, 1, 64), 64);
        let mut wrong = rec.clone();
        wrong.slot = slots[0];
        let before = all_links(&replica);
        assert!(replica.apply(&v, 1.0, &wrong).is_err());
        let mut wrong = rec.clone();
        if let Some(b) = wrong.back[0].first_mut() {
            b.drop.push(u32::MAX - 1);
        }
        wrong.own[0].push(u32::MAX - 1);
        assert!(replica.apply(&v, 1.0, &wrong).is_err());
        assert_eq!(all_links(&replica), before);
    }

    /// Inserts planned side by side (each blind to the others, as under
    /// the read lock) and resolved one by one reach the recall of serial
    /// inserts.
    #[test]
    fn concurrent_plans_keep_recall() {
        let dim = 24;
        let mut rng = fastrand::Rng::with_seed(11);
        let vecs: Vec<Vec<f32>> = (0..4000).map(|_| unit(&mut rng, dim)).collect();
        let queries: Vec<Vec<f32>> = (0..100).map(|_| unit(&mut rng, dim)).collect();
        let mut serial = Hnsw::new(dim, Quant::Q8, 16);
        for v in &vecs {
            serial.insert(v, 1.0, 100);
        }
        let mut batched = Hnsw::new(dim, Quant::Q8, 16);
        for chunk in vecs.chunks(16) {
            let plans: Vec<InsertPlan> = chunk
                .iter()
                .map(|v| batched.plan(v, 1.0, batched.draw_level(), 100))
                .collect();
            for (v, plan) in chunk.iter().zip(&plans) {
                let rec = batched.resolve(plan, 100);
                batched.apply(v, 1.0, &rec).unwrap();
            }
        }
        assert_eq!(batched.len(), 4000);
        let (a, b) = (
            recall(&serial, &queries, 100),
            recall(&batched, &queries, 100),
        );
        assert!(b >= a - 0.01, "serial {a}, planned side by side {b}");
    }
}
