//! The vector-set index file: a whole [`VectorSet`] (graph, vectors, names,
//! attributes, projection) in one binary blob that loads without rebuilding
//! the graph. The layout is documented in docs/storage-format.md; every
//! field is little-endian:
//!
//! ```text
//! magic     8 bytes  "VXLVSET1"
//! version   u32      1
//! dim u32 | quant u8 (0 f32, 1 q8, 2 bin) | metric u8 (0 cosine, 1 l2, 2 ip)
//! m u32 | uid u64 | last_id u64
//! max_level u32 | entry u32 (u32::MAX = none) | slots u64 | live u64
//! proj_in   u32      0 = no projection, else input dim, then proj_in·dim f32
//! per slot: live u8; when 1:
//!     id u64 | l2 f32 | range f32 | level u8
//!     per level 0..=level: count u32, count × neighbour slot u32
//!     vector    quant.bytes(dim) bytes
//!     name      u32 length + bytes
//!     attrs     u32 length (u32::MAX = none) + bytes
//! checksum  u64      FNV-1a 64 of every byte before it
//! ```
//!
//! Loading validates every length, slot reference and level, so a damaged
//! file is refused with an error instead of producing a broken set.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::hnsw::{Hnsw, MAX_LEVEL, Node, words_as_bytes_mut};
use super::quant::{Metric, Quant};
use super::set::{Projection, VectorSet};

const MAGIC: &[u8; 8] = b"VXLVSET1";
const VERSION: u32 = 1;
pub(super) const NONE: u32 = u32::MAX;

/// Why an index file could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid vector-set index file: {0}")]
pub struct IndexFileError(pub &'static str);

pub(super) fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

impl VectorSet {
    /// Serializes the set into the index-file format.
    pub fn to_index_file(&self) -> Vec<u8> {
        let g = &self.graph;
        let mut out = Vec::with_capacity(64 + g.arena.len() * 4 + g.nodes.len() * (g.m * 8 + 64));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(g.dim as u32).to_le_bytes());
        out.push(g.quant.code());
        out.push(g.metric.code());
        out.extend_from_slice(&(g.m as u32).to_le_bytes());
        out.extend_from_slice(&self.uid.to_le_bytes());
        out.extend_from_slice(&g.last_id.to_le_bytes());
        out.extend_from_slice(&(g.max_level as u32).to_le_bytes());
        out.extend_from_slice(&g.entry.unwrap_or(NONE).to_le_bytes());
        out.extend_from_slice(&(g.nodes.len() as u64).to_le_bytes());
        out.extend_from_slice(&(g.len as u64).to_le_bytes());
        match &self.projection {
            None => out.extend_from_slice(&0u32.to_le_bytes()),
            Some(p) => {
                out.extend_from_slice(&(p.input_dim as u32).to_le_bytes());
                for x in &p.matrix {
                    out.extend_from_slice(&x.to_le_bytes());
                }
            }
        }
        for slot in 0..g.nodes.len() {
            self.write_slot(&mut out, slot as u32);
        }
        let sum = fnv1a(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Appends the record of `slot`: `0` for a free slot, else `1` and the
    /// node (id, norm, range, level, links per level, vector, name,
    /// attributes).
    pub(super) fn write_slot(&self, out: &mut Vec<u8>, slot: u32) {
        let g = &self.graph;
        let Some(n) = g.node(slot) else {
            out.push(0);
            return;
        };
        out.push(1);
        out.extend_from_slice(&n.id.to_le_bytes());
        out.extend_from_slice(&n.l2.to_le_bytes());
        out.extend_from_slice(&n.range.to_le_bytes());
        out.push(n.level() as u8);
        self.write_links(out, slot, n.level());
        out.extend_from_slice(g.encoded(slot));
        let name = self.names[slot as usize].as_deref().unwrap_or_default();
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(name);
        match &self.attrs[slot as usize] {
            None => out.extend_from_slice(&NONE.to_le_bytes()),
            Some(a) => {
                out.extend_from_slice(&(a.len() as u32).to_le_bytes());
                out.extend_from_slice(a);
            }
        }
    }

    /// Appends the neighbour lists of `slot`, levels 0..=level.
    pub(super) fn write_links(&self, out: &mut Vec<u8>, slot: u32, level: usize) {
        for l in 0..=level {
            let links = self.graph.links(slot, l);
            out.extend_from_slice(&(links.len() as u32).to_le_bytes());
            for x in links {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
    }

    /// Loads a set from the index-file format, without rebuilding the graph.
    pub fn from_index_file(data: &[u8]) -> Result<VectorSet, IndexFileError> {
        let mut r = Reader::checked(data, MAGIC, VERSION)?;
        let body = r.data;
        let dim = r.u32()? as usize;
        let quant = Quant::from_code(r.u8()?).ok_or(IndexFileError("unknown quantization"))?;
        let metric = Metric::from_code(r.u8()?).ok_or(IndexFileError("unknown metric"))?;
        let m = r.u32()? as usize;
        if dim == 0 || dim > super::set::MAX_DIM || !super::set::M_RANGE.contains(&m) {
            return Err(IndexFileError("bad parameters"));
        }
        let uid = r.u64()?;
        let last_id = r.u64()?;
        let max_level = r.u32()? as usize;
        let entry = r.u32()?;
        let slots = usize::try_from(r.u64()?).map_err(|_| IndexFileError("slot count"))?;
        let live = usize::try_from(r.u64()?).map_err(|_| IndexFileError("live count"))?;
        if slots > body.len() || live > slots || max_level > MAX_LEVEL {
            return Err(IndexFileError("bad counts"));
        }
        let proj_in = r.u32()? as usize;
        let projection = if proj_in == 0 {
            None
        } else {
            if proj_in > super::set::MAX_DIM || proj_in < dim {
                return Err(IndexFileError("bad projection"));
            }
            let raw = r.take(proj_in * dim * 4)?;
            let matrix = raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            Some(Projection {
                input_dim: proj_in,
                matrix,
            })
        };
        let mut graph = Hnsw::with_metric(dim, quant, metric, m);
        graph.arena = vec![0u32; slots * graph.slot_words];
        graph.nodes = Vec::with_capacity(slots);
        graph.layer0 = vec![0u32; slots * graph.layer0_stride()];
        let mut names = vec![None; slots];
        let mut attrs = vec![None; slots];
        let mut by_name = BTreeMap::new();
        let mut ids = std::collections::HashSet::with_capacity(live);
        let mut attr_count = 0;
        for slot in 0..slots {
            match r.u8()? {
                0 => {
                    graph.nodes.push(None);
                    graph.free.push(slot as u32);
                    continue;
                }
                1 => {}
                _ => return Err(IndexFileError("bad slot flag")),
            }
            let rec = read_node(&mut r, graph.bytes, m, slots)?;
            if rec.attrs.is_some() {
                attr_count += 1;
            }
            if by_name.insert(rec.name.clone(), slot as u32).is_some() {
                return Err(IndexFileError("duplicate element"));
            }
            if !ids.insert(rec.id) {
                return Err(IndexFileError("duplicate node id"));
            }
            graph.nodes.push(None);
            install(&mut graph, slot, &rec);
            names[slot] = Some(rec.name);
            attrs[slot] = rec.attrs;
        }
        if r.pos != body.len() {
            return Err(IndexFileError("trailing bytes"));
        }
        if by_name.len() != live {
            return Err(IndexFileError("live count mismatch"));
        }
        graph.len = live;
        graph.rebuild_meta();
        graph.last_id = last_id;
        graph.max_level = max_level;
        graph.entry = if entry == NONE { None } else { Some(entry) };
        match graph.entry {
            Some(e) if graph.node(e).is_none_or(|n| n.level() != max_level) => {
                return Err(IndexFileError("bad entry point"));
            }
            None if live > 0 => return Err(IndexFileError("missing entry point")),
            _ => {}
        }
        Ok(VectorSet::from_parts(
            graph, by_name, names, attrs, projection, attr_count, uid,
        ))
    }
}

/// One node as stored in an index file (or an index delta).
pub(super) struct NodeRecord<'a> {
    pub id: u64,
    pub l2: f32,
    pub range: f32,
    pub links: Vec<Vec<u32>>,
    pub vector: &'a [u8],
    pub name: Bytes,
    pub attrs: Option<Bytes>,
}

/// Reads neighbour lists for levels 0..=level, each checked against `m`
/// and the slot count.
pub(super) fn read_links(
    r: &mut Reader<'_>,
    level: usize,
    m: usize,
    slots: usize,
) -> Result<Vec<Vec<u32>>, IndexFileError> {
    let mut links = Vec::with_capacity(level + 1);
    for l in 0..=level {
        let count = r.u32()? as usize;
        let max = if l == 0 { 2 * m } else { m };
        if count > max || count > slots {
            return Err(IndexFileError("too many links"));
        }
        let mut list = Vec::with_capacity(count);
        for _ in 0..count {
            let n = r.u32()?;
            if n as usize >= slots {
                return Err(IndexFileError("link out of range"));
            }
            list.push(n);
        }
        links.push(list);
    }
    Ok(links)
}

/// Reads a node record (after its `1` flag).
pub(super) fn read_node<'a>(
    r: &mut Reader<'a>,
    vector_bytes: usize,
    m: usize,
    slots: usize,
) -> Result<NodeRecord<'a>, IndexFileError> {
    let id = r.u64()?;
    let l2 = r.f32()?;
    let range = r.f32()?;
    let level = r.u8()? as usize;
    if level > MAX_LEVEL {
        return Err(IndexFileError("bad level"));
    }
    let links = read_links(r, level, m, slots)?;
    let vector = r.take(vector_bytes)?;
    let name_len = r.u32()? as usize;
    let name = Bytes::copy_from_slice(r.take(name_len)?);
    let attr_len = r.u32()?;
    let attrs = if attr_len == NONE {
        None
    } else {
        Some(Bytes::copy_from_slice(r.take(attr_len as usize)?))
    };
    Ok(NodeRecord {
        id,
        l2,
        range,
        links,
        vector,
        name,
        attrs,
    })
}

/// Puts a node's graph data (node, links, vector) into `slot`, which must
/// exist; names and attributes are the caller's.
pub(super) fn install(graph: &mut Hnsw, slot: usize, rec: &NodeRecord<'_>) {
    let start = slot * graph.slot_words;
    words_as_bytes_mut(&mut graph.arena[start..start + graph.slot_words])[..graph.bytes]
        .copy_from_slice(rec.vector);
    let stride = graph.layer0_stride();
    let l0 = &rec.links[0];
    graph.layer0[slot * stride] = l0.len() as u32;
    graph.layer0[slot * stride + 1..slot * stride + 1 + l0.len()].copy_from_slice(l0);
    graph.nodes[slot] = Some(Node {
        id: rec.id,
        l2: rec.l2,
        range: rec.range,
        level: (rec.links.len() - 1) as u8,
        upper: rec.links[1..].to_vec(),
    });
}

pub(super) struct Reader<'a> {
    pub data: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader of the body of `data` after checking its trailing FNV-1a
    /// checksum, its magic and its version (both read).
    pub fn checked(
        data: &'a [u8],
        magic: &[u8; 8],
        version: u32,
    ) -> Result<Reader<'a>, IndexFileError> {
        if data.len() < magic.len() + 8 {
            return Err(IndexFileError("too short"));
        }
        let (body, sum) = data.split_at(data.len() - 8);
        if fnv1a(body)
            != u64::from_le_bytes(sum.try_into().map_err(|_| IndexFileError("checksum"))?)
        {
            return Err(IndexFileError("checksum mismatch"));
        }
        let mut r = Reader { data: body, pos: 0 };
        if r.take(8)? != magic {
            return Err(IndexFileError("bad magic"));
        }
        if r.u32()? != version {
            return Err(IndexFileError("unsupported version"));
        }
        Ok(r)
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], IndexFileError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or(IndexFileError("truncated"))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    pub fn u8(&mut self) -> Result<u8, IndexFileError> {
        Ok(self.take(1)?[0])
    }
    pub fn u32(&mut self) -> Result<u32, IndexFileError> {
        Ok(u32::from_le_bytes(
            self.take(4)?
                .try_into()
                .map_err(|_| IndexFileError("truncated"))?,
        ))
    }
    pub fn u64(&mut self) -> Result<u64, IndexFileError> {
        Ok(u64::from_le_bytes(
            self.take(8)?
                .try_into()
                .map_err(|_| IndexFileError("truncated"))?,
        ))
    }
    pub fn f32(&mut self) -> Result<f32, IndexFileError> {
        Ok(f32::from_bits(self.u32()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::set::{QueryInput, SearchParams};

    fn sample() -> VectorSet {
        let mut rng = fastrand::Rng::with_seed(3);
        let mut s = VectorSet::new(24, Some(12), Quant::Q8, Metric::L2, 8, 77);
        for i in 0..400 {
            let v: Vec<f32> = (0..24).map(|_| rng.f32() - 0.5).collect();
            let attrs = (i % 3 == 0).then(|| Bytes::from(format!("{{\"i\":{i}}}")));
            s.add(format!("e{i}").as_bytes(), v, attrs, 100);
        }
        for i in (0..400).step_by(7) {
            s.remove(format!("e{i}").as_bytes());
        }
        s
    }

    #[test]
    fn round_trip_gives_identical_answers() {
        let s = sample();
        let file = s.to_index_file();
        let back = VectorSet::from_index_file(&file).unwrap();
        assert_eq!(back.info(), s.info());
        assert_eq!(back.to_index_file(), file, "stable encoding");
        let p = SearchParams {
            count: 10,
            ef: 50,
            filter: None,
            filter_ef: 0,
            truth: false,
            epsilon: None,
        };
        let mut rng = fastrand::Rng::with_seed(4);
        for _ in 0..20 {
            let q: Vec<f32> = (0..24).map(|_| rng.f32() - 0.5).collect();
            assert_eq!(
                s.search(QueryInput::Vector(q.clone()), &p).unwrap(),
                back.search(QueryInput::Vector(q), &p).unwrap()
            );
        }
        assert_eq!(
            back.attributes(b"e3"),
            Some(Bytes::from_static(b"{\"i\":3}"))
        );
        assert!(!back.contains(b"e7"));
    }

    #[test]
    fn damaged_files_are_refused() {
        let file = sample().to_index_file();
        assert_eq!(
            VectorSet::from_index_file(&file[..file.len() - 1]).unwrap_err(),
            IndexFileError("checksum mismatch")
        );
        let mut flipped = file.clone();
        flipped[100] ^= 0x40;
        assert!(VectorSet::from_index_file(&flipped).is_err());
        assert!(VectorSet::from_index_file(b"").is_err());
        // A corrupted body with a recomputed checksum is still refused.
        let mut body = file[..file.len() - 8].to_vec();
        body[8] = 9; // version
        let sum = fnv1a(&body);
        body.extend_from_slice(&sum.to_le_bytes());
        assert_eq!(
            VectorSet::from_index_file(&body).unwrap_err(),
            IndexFileError("unsupported version")
        );
    }
}
