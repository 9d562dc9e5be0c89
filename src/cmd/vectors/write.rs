//! Writes to vector sets: VADD, VADDBATCH, VREM, VSETATTR.

use bytes::Bytes;
use vexlake_engine::Db;
use vexlake_engine::journal::{Op, SetParams};
use vexlake_engine::vector::set::AddPlan;
use vexlake_engine::vector::set::{DEFAULT_BUILD_EF, DEFAULT_M, M_RANGE, MAX_DIM};
use vexlake_engine::vector::{Metric, Quant, VectorSet};
use vexlake_protocol::args::{is_keyword, parse_i64};

use super::{
    OFFLOAD_WORK, ahead, decode_fp32, invalid_vector, parse_values, parse_vector, set_of, work,
};
use crate::cmd::{CmdResult, Ctx, offload};
use crate::error::CmdError;

/// Set-creation options shared by VADD and VADDBATCH.
#[derive(Debug, Clone, Copy)]
pub(super) struct BuildParams {
    pub quant: Quant,
    pub metric: Metric,
    pub ef: usize,
    pub m: usize,
}

impl Default for BuildParams {
    fn default() -> Self {
        BuildParams {
            quant: Quant::Q8,
            metric: Metric::Cosine,
            ef: DEFAULT_BUILD_EF,
            m: DEFAULT_M,
        }
    }
}

impl BuildParams {
    /// Applies the option at `args[j]` if it is one of NOQUANT Q8 BIN EF M
    /// METRIC; returns how many arguments it used (0 = not one of them).
    fn apply(&mut self, args: &[Bytes], j: usize) -> Result<usize, CmdError> {
        let opt = &args[j];
        let value = args.get(j + 1);
        match () {
            _ if is_keyword(opt, "noquant") => self.quant = Quant::NoQuant,
            _ if is_keyword(opt, "q8") => self.quant = Quant::Q8,
            _ if is_keyword(opt, "bin") => self.quant = Quant::Bin,
            _ if is_keyword(opt, "ef") && value.is_some() => {
                self.ef = match value.and_then(|v| parse_i64(v)) {
                    Some(v) if v > 0 && v <= 1_000_000 => v as usize,
                    _ => return Err(CmdError::err("invalid EF")),
                };
                return Ok(2);
            }
            _ if is_keyword(opt, "m") && value.is_some() => {
                self.m = match value.and_then(|v| parse_i64(v)) {
                    Some(v) if v >= 0 && M_RANGE.contains(&(v as usize)) => v as usize,
                    _ => return Err(CmdError::err("invalid M")),
                };
                return Ok(2);
            }
            _ if is_keyword(opt, "metric") && value.is_some() => {
                let v = &args[j + 1];
                self.metric = match () {
                    _ if is_keyword(v, "cosine") => Metric::Cosine,
                    _ if is_keyword(v, "l2") => Metric::L2,
                    _ if is_keyword(v, "ip") => Metric::Ip,
                    _ => return Err(CmdError::err("invalid METRIC (COSINE, L2 or IP)")),
                };
                return Ok(2);
            }
            _ => return Ok(0),
        }
        Ok(1)
    }

    fn validate(&self) -> Result<(), CmdError> {
        if self.quant == Quant::Bin && self.metric != Metric::Cosine {
            return Err(CmdError::err(
                "BIN quantization works with the COSINE metric only",
            ));
        }
        Ok(())
    }
}

/// Finds or creates the set at `key`, checks that it fits, and runs
/// `insert` under its write lock (it logs, then applies). Retries when the
/// set was emptied and deleted meanwhile (VREM of its last element).
fn insert_into<R>(
    ctx: &Ctx<'_>,
    key: &[u8],
    dim: usize,
    reduce: Option<usize>,
    p: BuildParams,
    items: usize,
    insert: impl Fn(&mut VectorSet, &Db) -> Result<R, CmdError>,
) -> Result<R, CmdError> {
    let heavy = work(0, dim, p.ef, false).saturating_mul(items) > OFFLOAD_WORK;
    let params = SetParams {
        dim: dim as u32,
        reduce: reduce.unwrap_or(0) as u32,
        quant: p.quant.code(),
        metric: p.metric.code(),
        m: p.m as u32,
    };
    let db = ctx.db();
    loop {
        let (set, created) = db.vset_or_create(key, ctx.now(), params)?;
        let done = offload(heavy, || {
            // Waiting for the lock (searches under way) leaves the I/O
            // scheduler, so this worker's other connections move on.
            let mut guard = set
                .try_write()
                .unwrap_or_else(|| offload(true, || set.write()));
            if guard.dead {
                return Ok(None);
            }
            if !created {
                guard
                    .check_add(p.quant, p.metric, p.m, dim, reduce)
                    .map_err(|e| CmdError::Line(e.to_string()))?;
            }
            match insert(&mut guard, db) {
                Ok(r) => Ok(Some(r)),
                Err(e) => {
                    // A set created for an insert that failed (WAL error)
                    // must not stay behind empty.
                    if created && guard.is_empty() {
                        guard.dead = true;
                        drop(guard);
                        db.vset_delete_if_same(key, &set, ctx.now());
                    }
                    Err(e)
                }
            }
        })?;
        if let Some(r) = done {
            return Ok(r);
        }
    }
}

/// A parsed VADD.
pub(super) struct Vadd {
    pub vector: Vec<f32>,
    pub reduce: Option<usize>,
    pub element: Bytes,
    pub params: BuildParams,
    pub attributes: Option<Bytes>,
}

/// Parses VADD's arguments: key [REDUCE dim] (FP32 blob | VALUES n ...)
/// element [CAS] [NOQUANT | Q8 | BIN] [EF n] [SETATTR json] [M n]
/// [METRIC COSINE|L2|IP].
pub(super) fn parse_vadd(args: &[Bytes]) -> Result<Vadd, CmdError> {
    let (vector, reduce, used) = parse_vector(args, 2, true)?;
    let Some(element) = args.get(2 + used) else {
        return Err(CmdError::WrongArity("vadd"));
    };
    let mut p = BuildParams::default();
    let mut attributes = None;
    let mut j = 3 + used;
    while j < args.len() {
        let used = p.apply(args, j)?;
        if used > 0 {
            j += used;
        } else if is_keyword(&args[j], "cas") {
            j += 1;
        } else if is_keyword(&args[j], "setattr") && j + 1 < args.len() {
            attributes = Some(Bytes::copy_from_slice(&args[j + 1]));
            j += 2;
        } else {
            return Err(CmdError::err("invalid option after element"));
        }
    }
    p.validate()?;
    Ok(Vadd {
        vector,
        reduce,
        element: element.clone(),
        params: p,
        attributes,
    })
}

/// VADD key [REDUCE dim] (FP32 blob | VALUES n ...) element [CAS]
/// [NOQUANT | Q8 | BIN] [EF n] [SETATTR json] [M n] [METRIC COSINE|L2|IP].
pub fn vadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Vadd {
        vector,
        reduce,
        element,
        params: p,
        attributes,
    } = parse_vadd(args)?;
    let element = &element[..];
    let planned = match ahead::take(ctx, &args[1], element, &vector, p.ef) {
        Some(planned) => Some(planned),
        None => plan_vadd(ctx, &args[1], vector.len(), reduce, p, element, &vector)?,
    };
    let added = insert_into(ctx, &args[1], vector.len(), reduce, p, 1, |set, db| {
        // A new element gets its links resolved here (planned here too when
        // the set is new or changed since the plan); an update replaces
        // its node with a whole insert and is logged without links.
        let fresh;
        let linked = if set.contains(element) {
            None
        } else {
            let plan = match planned.as_ref().filter(|(uid, _)| *uid == set.uid()) {
                Some((_, plan)) => plan,
                None => {
                    fresh = set.plan_add(vector.clone(), p.ef);
                    &fresh
                }
            };
            Some((plan, set.resolve_add(plan, p.ef)))
        };
        let seq = db.log(|r| {
            r.vadd(
                set.uid(),
                p.ef as u32,
                element,
                &vector,
                attributes.as_deref(),
                linked.as_ref().map(|(_, links)| links),
            );
        })?;
        set.applied_seq = set.applied_seq.max(seq);
        match linked {
            None => Ok(set.add(element, vector.clone(), attributes.clone(), p.ef)),
            Some((plan, links)) => {
                set.apply_or_insert(element, plan, &vector, attributes.clone(), &links, p.ef);
                Ok(true)
            }
        }
    })?;
    ctx.out.bool(added);
    Ok(())
}

/// Step 1 of a VADD of a new element into an existing set: the graph
/// search under the set's read lock, so VADDs into one set search in
/// parallel and VSIM is not held up; linking is left to the write lock
/// (see engine `vector/hnsw/insert.rs`). `None` when there is nothing to
/// plan (no set yet, the element exists, or the VADD does not fit the
/// set: the write path reports that).
fn plan_vadd(
    ctx: &Ctx<'_>,
    key: &[u8],
    dim: usize,
    reduce: Option<usize>,
    p: BuildParams,
    element: &[u8],
    vector: &[f32],
) -> Result<Option<(u64, AddPlan)>, CmdError> {
    let Some(set) = set_of(ctx, key)? else {
        return Ok(None);
    };
    let heavy = work(0, dim, p.ef, false) > OFFLOAD_WORK;
    Ok(offload(heavy, || {
        let g = set.read();
        plannable(&g, p, dim, reduce, element).then(|| (g.uid(), g.plan_add(vector.to_vec(), p.ef)))
    }))
}

/// Whether a VADD of `element` into `set` would insert a new node that can
/// be planned under the read lock: the set is live and not empty, the
/// element is new, and the VADD fits the set.
pub(super) fn plannable(
    set: &VectorSet,
    p: BuildParams,
    dim: usize,
    reduce: Option<usize>,
    element: &[u8],
) -> bool {
    !set.dead
        && !set.is_empty()
        && !set.contains(element)
        && set.check_add(p.quant, p.metric, p.m, dim, reduce).is_ok()
}

/// VADDBATCH key (FP32 | VALUES dim) [NOQUANT|Q8|BIN] [EF n] [M n]
/// [METRIC COSINE|L2|IP] [WITHATTRIBS] ELEMENTS element vector [json]
/// [element vector [json] ...]
///
/// VexLake's multi-element insert: with FP32 each vector is one blob of
/// `4·dim` bytes; with VALUES it is `dim` numbers. With WITHATTRIBS every
/// element is followed by its JSON attributes (empty = none). All vectors
/// are validated before anything is inserted (a bad batch changes nothing);
/// the set's write lock is taken once. Reply: the number of new elements.
pub fn vaddbatch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let fp32 = match () {
        _ if is_keyword(&args[2], "fp32") => true,
        _ if is_keyword(&args[2], "values") => false,
        _ => return Err(invalid_vector()),
    };
    let dim = match parse_i64(&args[3]) {
        Some(d) if d >= 1 && d as usize <= MAX_DIM => d as usize,
        _ => return Err(invalid_vector()),
    };
    let mut p = BuildParams::default();
    let mut with_attrs = false;
    let mut j = 4;
    loop {
        let Some(opt) = args.get(j) else {
            return Err(CmdError::err("ELEMENTS expected"));
        };
        if is_keyword(opt, "elements") {
            break;
        }
        let used = p.apply(args, j)?;
        if used > 0 {
            j += used;
        } else if is_keyword(opt, "withattribs") {
            with_attrs = true;
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    p.validate()?;
    let stride = 1 + if fp32 { 1 } else { dim } + usize::from(with_attrs);
    let rest = &args[j + 1..];
    if rest.is_empty() || !rest.len().is_multiple_of(stride) {
        return Err(CmdError::WrongArity("vaddbatch"));
    }
    let mut items: Vec<(Bytes, Vec<f32>, Option<Bytes>)> = Vec::with_capacity(rest.len() / stride);
    for chunk in rest.chunks_exact(stride) {
        let vector: Vec<f32> = if fp32 {
            if chunk[1].len() != dim * 4 {
                return Err(invalid_vector());
            }
            decode_fp32(&chunk[1])
        } else {
            parse_values(&chunk[1..=dim])?
        };
        if vector.iter().any(|v| !v.is_finite()) {
            return Err(invalid_vector());
        }
        let attrs = with_attrs.then(|| Bytes::copy_from_slice(&chunk[stride - 1]));
        items.push((Bytes::copy_from_slice(&chunk[0]), vector, attrs));
    }
    let new = insert_into(ctx, &args[1], dim, None, p, items.len(), |set, db| {
        let mut names = std::collections::HashSet::with_capacity(items.len());
        let all_new = items
            .iter()
            .all(|(e, _, _)| !set.contains(e) && names.insert(e.clone()));
        if !all_new {
            // Updates: each replaces a node, all under the write lock;
            // logged first, without links.
            let seq = db.log(|r| {
                for (e, v, a) in &items {
                    r.vadd(set.uid(), p.ef as u32, e, v, a.as_deref(), None);
                }
            })?;
            set.applied_seq = set.applied_seq.max(seq);
            return Ok(items
                .iter()
                .map(|(e, v, a)| i64::from(set.add(e, v.clone(), a.clone(), p.ef)))
                .sum::<i64>());
        }
        // New elements: inserted on all cores, then logged with their
        // links in one record; taken out again if the log fails.
        let links = set.add_new(&items, p.ef);
        let logged = db.log(|r| {
            for ((e, v, a), l) in items.iter().zip(&links) {
                r.vadd(set.uid(), p.ef as u32, e, v, a.as_deref(), Some(l));
            }
        });
        match logged {
            Ok(seq) => {
                set.applied_seq = set.applied_seq.max(seq);
                Ok(items.len() as i64)
            }
            Err(e) => {
                for (name, _, _) in &items {
                    set.remove(name);
                }
                Err(e.into())
            }
        }
    })?;
    ctx.out.int(new);
    Ok(())
}

/// VREM key element.
pub fn vrem(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(set) = set_of(ctx, &args[1])? else {
        ctx.out.bool(false);
        return Ok(());
    };
    let removed = {
        let mut guard = set.write();
        if guard.contains(&args[2]) {
            let seq = ctx.db().log(|r| {
                r.push(&Op::VRem {
                    key: &args[1],
                    uid: guard.uid(),
                    element: &args[2],
                });
            })?;
            guard.applied_seq = guard.applied_seq.max(seq);
        }
        let removed = guard.remove(&args[2]);
        if removed && guard.is_empty() {
            guard.dead = true;
            ctx.db().vset_delete_if_same(&args[1], &set, ctx.now());
        }
        removed
    };
    ctx.out.bool(removed);
    Ok(())
}

/// VSETATTR key element json (empty json removes the attributes).
pub fn vsetattr(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let done = match set_of(ctx, &args[1])? {
        Some(set) => {
            let mut guard = set.write();
            if guard.contains(&args[2]) {
                let seq = ctx.db().log(|r| {
                    r.push(&Op::VSetAttr {
                        uid: guard.uid(),
                        element: &args[2],
                        attributes: &args[3],
                    });
                })?;
                guard.applied_seq = guard.applied_seq.max(seq);
            }
            guard.set_attributes(&args[2], Bytes::copy_from_slice(&args[3]))
        }
        None => false,
    };
    ctx.out.bool(done);
    Ok(())
}
