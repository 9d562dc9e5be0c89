//! The vector-set index delta: the graph slots that changed since the
//! previous commit of a set, so a commit writes what changed instead of the
//! whole graph, and a restore applies it to the loaded graph without
//! re-inserting anything. The layout is documented in
//! docs/storage-format.md; every field is little-endian:
//!
//! ```text
//! magic     8 bytes  "VXLVSDL1"
//! version   u32      1
//! uid u64 | last_id u64 | max_level u32 | entry u32 (u32::MAX = none)
//! slots u64 (slot count after the delta) | live u64 | records u64
//! per record: slot u32 | kind u8
//!     kind 0: the slot is free
//!     kind 1: a whole node, as in the index file (id ... attrs)
//!     kind 2: links only: level u8, then per level 0..=level: count u32,
//!             count × neighbour slot u32
//! checksum  u64      FNV-1a 64 of every byte before it
//! ```
//!
//! Applying a delta overwrites the listed slots, then the header fields.
//! A delta taken from a graph at WAL position B..E, applied to that graph
//! as it was at any position between B and E, gives the graph at E:
//! every slot that changed in between is in the delta with its state at E,
//! and the other slots were the same all along. Applying checks every
//! length, reference and count, like loading a whole index file; a damaged
//! delta is refused and the set is left as it was.

use bytes::Bytes;

use super::hnsw::MAX_LEVEL;
use super::index_file::{IndexFileError, NONE, Reader, fnv1a, install, read_links, read_node};
use super::set::{SetChanges, VectorSet};

const MAGIC: &[u8; 8] = b"VXLVSDL1";
const VERSION: u32 = 1;
const FREE: u8 = 0;
const NODE: u8 = 1;
const LINKS: u8 = 2;

impl VectorSet {
    /// Serializes the slots named by `changes` (taken from this set with
    /// [`VectorSet::take_changes`], nothing changed since) as an index delta.
    pub fn to_index_delta(&self, changes: &SetChanges) -> Vec<u8> {
        let g = &self.graph;
        let mut body = Vec::new();
        let mut records = 0u64;
        for slot in changes.slots.node_slots() {
            if slot as usize >= g.nodes.len() {
                continue;
            }
            body.extend_from_slice(&slot.to_le_bytes());
            let at = body.len();
            self.write_slot(&mut body, slot);
            // write_slot's flag byte is the record kind (0 free, 1 node).
            debug_assert!(body[at] == FREE || body[at] == NODE);
            records += 1;
        }
        for slot in changes.slots.link_slots() {
            let Some(n) = g.node(slot) else { continue };
            body.extend_from_slice(&slot.to_le_bytes());
            body.push(LINKS);
            body.push(n.level() as u8);
            self.write_links(&mut body, slot, n.level());
            records += 1;
        }
        let mut out = Vec::with_capacity(body.len() + 64);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&self.uid.to_le_bytes());
        out.extend_from_slice(&g.last_id.to_le_bytes());
        out.extend_from_slice(&(g.max_level as u32).to_le_bytes());
        out.extend_from_slice(&g.entry.unwrap_or(NONE).to_le_bytes());
        out.extend_from_slice(&(g.nodes.len() as u64).to_le_bytes());
        out.extend_from_slice(&(g.len as u64).to_le_bytes());
        out.extend_from_slice(&records.to_le_bytes());
        out.extend_from_slice(&body);
        let sum = fnv1a(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Applies an index delta of this set. A delta refused by its header
    /// (checksum, magic, version, set, counts) leaves the set unchanged; one
    /// refused later (a bad record) may leave it half changed, and the
    /// caller must discard it (a restore refuses the whole version).
    pub fn apply_index_delta(&mut self, data: &[u8]) -> Result<(), IndexFileError> {
        let mut r = Reader::checked(data, MAGIC, VERSION)?;
        let body = r.data;
        if r.u64()? != self.uid {
            return Err(IndexFileError("delta of another set"));
        }
        let last_id = r.u64()?;
        let max_level = r.u32()? as usize;
        let entry = r.u32()?;
        let slots = usize::try_from(r.u64()?).map_err(|_| IndexFileError("slot count"))?;
        let live = usize::try_from(r.u64()?).map_err(|_| IndexFileError("live count"))?;
        let records = r.u64()?;
        let g = &mut self.graph;
        if slots < g.nodes.len() || slots > g.nodes.len() + body.len() || live > slots {
            return Err(IndexFileError("bad delta counts"));
        }
        if max_level > MAX_LEVEL || records > body.len() as u64 {
            return Err(IndexFileError("bad delta counts"));
        }
        // Grow every per-slot array to the new slot count.
        g.nodes.resize(slots, None);
        g.meta.resize(slots, Default::default());
        g.layer0.resize(slots * g.layer0_stride(), 0);
        g.arena.resize(slots * g.slot_words, 0);
        self.names.resize(slots, None);
        self.attrs.resize(slots, None);
        let (bytes, m) = (self.graph.bytes, self.graph.m);
        let mut link_records = Vec::new();
        for _ in 0..records {
            let slot = r.u32()? as usize;
            if slot >= slots {
                return Err(IndexFileError("delta slot out of range"));
            }
            match r.u8()? {
                FREE => self.clear_slot(slot),
                NODE => {
                    let rec = read_node(&mut r, bytes, m, slots)?;
                    self.clear_slot(slot);
                    install(&mut self.graph, slot, &rec);
                    if rec.attrs.is_some() {
                        self.attr_count += 1;
                    }
                    self.names[slot] = Some(rec.name);
                    self.attrs[slot] = rec.attrs;
                }
                LINKS => {
                    let level = r.u8()? as usize;
                    if level > MAX_LEVEL {
                        return Err(IndexFileError("bad level"));
                    }
                    link_records.push((slot, read_links(&mut r, level, m, slots)?));
                }
                _ => return Err(IndexFileError("bad delta record kind")),
            }
        }
        if r.pos != body.len() {
            return Err(IndexFileError("trailing bytes"));
        }
        for (slot, links) in link_records {
            let Some(level) = self.graph.node(slot as u32).map(|n| n.level()) else {
                return Err(IndexFileError("links of a free slot"));
            };
            if links.len() != level + 1 {
                return Err(IndexFileError("links of another level"));
            }
            for (l, list) in links.iter().enumerate() {
                self.graph.set_links(slot as u32, l, list);
            }
        }
        // Names map back to slots; every live slot has a distinct name.
        self.by_name.clear();
        for (slot, name) in self.names.iter().enumerate() {
            if let Some(name) = name
                && self.by_name.insert(name.clone(), slot as u32).is_some()
            {
                return Err(IndexFileError("duplicate element"));
            }
        }
        if self.by_name.len() != live {
            return Err(IndexFileError("live count mismatch"));
        }
        let g = &mut self.graph;
        g.len = live;
        g.last_id = last_id;
        g.max_level = max_level;
        g.free = (0..slots as u32)
            .rev()
            .filter(|&s| g.nodes[s as usize].is_none())
            .collect();
        g.rebuild_meta();
        g.entry = if entry == NONE { None } else { Some(entry) };
        match g.entry {
            Some(e) if g.node(e).is_none_or(|n| n.level() != max_level) => {
                return Err(IndexFileError("bad entry point"));
            }
            None if live > 0 => return Err(IndexFileError("missing entry point")),
            _ => {}
        }
        // What was applied is committed: not a change of this set.
        self.graph.take_changes();
        Ok(())
    }

    /// Empties `slot` (node, links, name, attributes).
    fn clear_slot(&mut self, slot: usize) {
        let g = &mut self.graph;
        g.nodes[slot] = None;
        let stride = g.layer0_stride();
        g.layer0[slot * stride] = 0;
        self.names[slot] = None;
        if self.attrs[slot].take().is_some() {
            self.attr_count -= 1;
        }
    }
}

/// Element names of a delta's data file: those whose nodes it writes.
pub fn changed_elements(set: &VectorSet, changes: &SetChanges) -> Vec<Bytes> {
    changes
        .slots
        .node_slots()
        .filter_map(|s| set.names.get(s as usize).cloned().flatten())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::quant::{Metric, Quant};
    use crate::vector::set::{QueryInput, SearchParams};

    fn vector(rng: &mut fastrand::Rng) -> Vec<f32> {
        (0..16).map(|_| rng.f32() - 0.5).collect()
    }

    fn search(s: &VectorSet, q: &[f32]) -> Vec<crate::vector::set::Hit> {
        let p = SearchParams {
            count: 10,
            ef: 50,
            filter: None,
            filter_ef: 0,
            truth: false,
            epsilon: None,
        };
        s.search(QueryInput::Vector(q.to_vec()), &p).unwrap()
    }

    /// Base + deltas reproduce the set exactly (same index file bytes),
    /// through adds, updates, removals, attribute changes and growth.
    #[test]
    fn base_plus_deltas_equal_the_live_set() {
        let mut rng = fastrand::Rng::with_seed(9);
        let mut live = VectorSet::new(16, None, Quant::Q8, Metric::Cosine, 8, 5);
        for i in 0..300 {
            live.add(format!("e{i}").as_bytes(), vector(&mut rng), None, 64);
        }
        live.take_changes();
        let mut replica = VectorSet::from_index_file(&live.to_index_file()).unwrap();
        for round in 0..4 {
            for i in 0..150 {
                let n = rng.usize(0..600);
                let attrs = (i % 5 == 0).then(|| Bytes::from(format!("{{\"r\":{round}}}")));
                live.add(format!("e{n}").as_bytes(), vector(&mut rng), attrs, 64);
            }
            for _ in 0..40 {
                let n = rng.usize(0..600);
                live.remove(format!("e{n}").as_bytes());
            }
            live.set_attributes(b"e1", Bytes::from_static(b"{\"x\":1}"));
            let changes = live.take_changes();
            assert!(!changes.slots.is_empty());
            let delta = live.to_index_delta(&changes);
            assert!(delta.len() < live.to_index_file().len(), "round {round}");
            replica.apply_index_delta(&delta).unwrap();
            assert_eq!(
                replica.to_index_file(),
                live.to_index_file(),
                "round {round}"
            );
        }
        let q = vector(&mut rng);
        assert_eq!(search(&replica, &q), search(&live, &q));
        // Inserting after a delta reuses the freed slots correctly.
        replica.add(b"fresh", vector(&mut rng), None, 64);
        assert!(replica.contains(b"fresh"));
    }

    #[test]
    fn damaged_or_foreign_deltas_change_nothing() {
        let mut rng = fastrand::Rng::with_seed(2);
        let mut s = VectorSet::new(16, None, Quant::NoQuant, Metric::L2, 8, 7);
        for i in 0..50 {
            s.add(format!("e{i}").as_bytes(), vector(&mut rng), None, 32);
        }
        let base = s.to_index_file();
        s.take_changes();
        s.add(b"new", vector(&mut rng), None, 32);
        let changes = s.take_changes();
        let delta = s.to_index_delta(&changes);
        let mut target = VectorSet::from_index_file(&base).unwrap();
        let mut bad = delta.clone();
        bad[40] ^= 1;
        assert!(target.apply_index_delta(&bad).is_err());
        assert!(target.apply_index_delta(&delta[..delta.len() - 3]).is_err());
        assert_eq!(target.to_index_file(), base, "unchanged after a refusal");
        let other = VectorSet::new(16, None, Quant::NoQuant, Metric::L2, 8, 8);
        let foreign = other.to_index_delta(&SetChanges::default());
        assert_eq!(
            target.apply_index_delta(&foreign).unwrap_err(),
            IndexFileError("delta of another set")
        );
        target.apply_index_delta(&delta).unwrap();
        assert!(target.contains(b"new"));
    }
}
