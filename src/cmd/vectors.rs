//! Vector-set commands, wire-compatible with Redis 8: VADD VSIM VREM VCARD
//! VDIM VEMB VINFO VGETATTR VSETATTR VRANDMEMBER VISMEMBER VLINKS VRANGE,
//! plus VexLake's VSEARCH and VADDBATCH. Argument order, defaults, reply shapes and error
//! texts follow Redis; searches run off the I/O scheduler (see [`offload`]).

use std::ops::Bound;

use bytes::Bytes;
use vexlake_engine::keyspace::{SharedSet, next_set_uid};
use vexlake_engine::vector::filter::Filter;
use vexlake_engine::vector::set::{
    DEFAULT_BUILD_EF, DEFAULT_M, Hit, M_RANGE, MAX_DIM, QueryInput, SearchParams,
};
use vexlake_engine::vector::{Metric, Quant, VectorSet};
use vexlake_protocol::ReplyBuf;
use vexlake_protocol::args::{is_keyword, parse_f64, parse_i64};

use super::{CmdResult, Ctx};
use crate::error::CmdError;

fn invalid_vector() -> CmdError {
    CmdError::err("invalid vector specification")
}

/// A parsed `[REDUCE dim] (FP32 blob | VALUES n v1..vn)` at `args[start..]`:
/// the vector, the REDUCE dimension, and how many arguments it used.
fn parse_vector(
    args: &[Bytes],
    start: usize,
    allow_reduce: bool,
) -> Result<(Vec<f32>, Option<usize>, usize), CmdError> {
    let mut i = start;
    let mut reduce = None;
    if allow_reduce && args.len() > i + 2 && is_keyword(&args[i], "reduce") {
        match parse_i64(&args[i + 1]) {
            Some(r) if r > 0 => reduce = Some(r as usize),
            _ => return Err(invalid_vector()),
        }
        i += 2;
    }
    let format = args.get(i).ok_or_else(invalid_vector)?;
    let vector = if is_keyword(format, "fp32") {
        let blob = args.get(i + 1).ok_or_else(invalid_vector)?;
        if blob.is_empty() || blob.len() % 4 != 0 || blob.len() / 4 > MAX_DIM {
            return Err(invalid_vector());
        }
        i += 2;
        blob.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect::<Vec<f32>>()
    } else if is_keyword(format, "values") {
        let n = args
            .get(i + 1)
            .and_then(|a| parse_i64(a))
            .ok_or_else(invalid_vector)?;
        if n < 1 || n as usize > MAX_DIM || args.len() < i + 2 + n as usize {
            return Err(invalid_vector());
        }
        let values = args[i + 2..i + 2 + n as usize]
            .iter()
            .map(|a| parse_f64(a).filter(|v| v.is_finite()).map(|v| v as f32))
            .collect::<Option<Vec<f32>>>()
            .ok_or_else(invalid_vector)?;
        i += 2 + n as usize;
        values
    } else {
        return Err(invalid_vector());
    };
    if vector.iter().any(|v| !v.is_finite()) || reduce.is_some_and(|r| r > vector.len()) {
        return Err(invalid_vector());
    }
    Ok((vector, reduce, i - start))
}

/// Parses a JSON array of numbers (`"[0.1, 0.2]"`), VSEARCH's vector form.
fn parse_json_vector(arg: &[u8]) -> Result<Vec<f32>, CmdError> {
    let v: Vec<f64> = serde_json::from_slice(arg).map_err(|_| invalid_vector())?;
    if v.is_empty() || v.len() > MAX_DIM || v.iter().any(|x| !x.is_finite()) {
        return Err(invalid_vector());
    }
    Ok(v.into_iter().map(|x| x as f32).collect())
}

/// Work (distance components) above which a command leaves the I/O
/// scheduler: about a few milliseconds of CPU.
const OFFLOAD_WORK: usize = 4_000_000;

/// Estimated work of a search or insert: components compared.
fn work(len: usize, dim: usize, ef: usize, truth: bool) -> usize {
    if truth {
        len.saturating_mul(dim)
    } else {
        ef.saturating_mul(32).saturating_mul(dim)
    }
}

/// Runs `f`, moving the other connections of this worker thread to another
/// worker first when `heavy` (tokio's `block_in_place`). Short searches run
/// inline: the hand-off costs more than it saves (GloVe 100k, ef 100,
/// 32 clients: 4,738 QPS with a hand-off on every VSIM, 6,716 without).
fn offload<R>(heavy: bool, f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if heavy && h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

fn set_of(ctx: &Ctx<'_>, key: &[u8]) -> Result<Option<SharedSet>, CmdError> {
    Ok(ctx.db().vset(key, ctx.now())?)
}

/// VADD key [REDUCE dim] (FP32 blob | VALUES n ...) element [CAS]
/// [NOQUANT | Q8 | BIN] [EF n] [SETATTR json] [M n] [METRIC COSINE|L2|IP].
pub fn vadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (vector, reduce, used) = parse_vector(args, 2, true)?;
    let Some(element) = args.get(2 + used) else {
        return Err(CmdError::WrongArity("vadd"));
    };
    let mut quant = Quant::Q8;
    let mut metric = Metric::Cosine;
    let mut ef = DEFAULT_BUILD_EF;
    let mut m = DEFAULT_M;
    let mut attributes = None;
    let mut j = 3 + used;
    while j < args.len() {
        let opt = &args[j];
        let has_value = j + 1 < args.len();
        if is_keyword(opt, "cas") {
        } else if is_keyword(opt, "ef") && has_value {
            ef = match parse_i64(&args[j + 1]) {
                Some(v) if v > 0 && v <= 1_000_000 => v as usize,
                _ => return Err(CmdError::err("invalid EF")),
            };
            j += 1;
        } else if is_keyword(opt, "m") && has_value {
            m = match parse_i64(&args[j + 1]) {
                Some(v) if v >= 0 && M_RANGE.contains(&(v as usize)) => v as usize,
                _ => return Err(CmdError::err("invalid M")),
            };
            j += 1;
        } else if is_keyword(opt, "metric") && has_value {
            let m = &args[j + 1];
            metric = match () {
                _ if is_keyword(m, "cosine") => Metric::Cosine,
                _ if is_keyword(m, "l2") => Metric::L2,
                _ if is_keyword(m, "ip") => Metric::Ip,
                _ => return Err(CmdError::err("invalid METRIC (COSINE, L2 or IP)")),
            };
            j += 1;
        } else if is_keyword(opt, "setattr") && has_value {
            attributes = Some(args[j + 1].clone());
            j += 1;
        } else if is_keyword(opt, "noquant") {
            quant = Quant::NoQuant;
        } else if is_keyword(opt, "bin") {
            quant = Quant::Bin;
        } else if is_keyword(opt, "q8") {
            quant = Quant::Q8;
        } else {
            return Err(CmdError::err("invalid option after element"));
        }
        j += 1;
    }
    if quant == Quant::Bin && metric != Metric::Cosine {
        return Err(CmdError::err(
            "BIN quantization works with the COSINE metric only",
        ));
    }
    let dim = vector.len();
    let attributes = attributes.map(|a| Bytes::copy_from_slice(&a));
    loop {
        let (set, created) = ctx.db().vset_or_create(&args[1], ctx.now(), || {
            VectorSet::new(dim, reduce, quant, metric, m, next_set_uid())
        })?;
        let heavy = work(0, dim, ef, false) > OFFLOAD_WORK;
        let added = offload(heavy, || {
            let mut guard = set.write();
            if guard.dead {
                return Ok(None);
            }
            if !created {
                guard
                    .check_add(quant, metric, m, dim, reduce)
                    .map_err(|e| CmdError::Line(e.to_string()))?;
            }
            Ok::<_, CmdError>(Some(guard.add(
                element,
                vector.clone(),
                attributes.clone(),
                ef,
            )))
        })?;
        if let Some(added) = added {
            ctx.out.bool(added);
            return Ok(());
        }
        // The set was emptied and deleted meanwhile: start over.
    }
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
    let fp32 = if is_keyword(&args[2], "fp32") {
        true
    } else if is_keyword(&args[2], "values") {
        false
    } else {
        return Err(invalid_vector());
    };
    let dim = match parse_i64(&args[3]) {
        Some(d) if d >= 1 && d as usize <= MAX_DIM => d as usize,
        _ => return Err(invalid_vector()),
    };
    let (mut quant, mut metric, mut ef, mut m, mut with_attrs) = (
        Quant::Q8,
        Metric::Cosine,
        DEFAULT_BUILD_EF,
        DEFAULT_M,
        false,
    );
    let mut j = 4;
    loop {
        let Some(opt) = args.get(j) else {
            return Err(CmdError::err("ELEMENTS expected"));
        };
        let value = args.get(j + 1);
        match () {
            _ if is_keyword(opt, "elements") => break,
            _ if is_keyword(opt, "noquant") => quant = Quant::NoQuant,
            _ if is_keyword(opt, "q8") => quant = Quant::Q8,
            _ if is_keyword(opt, "bin") => quant = Quant::Bin,
            _ if is_keyword(opt, "withattribs") => with_attrs = true,
            _ if is_keyword(opt, "ef") && value.is_some() => {
                ef = match value.and_then(|v| parse_i64(v)) {
                    Some(v) if v > 0 && v <= 1_000_000 => v as usize,
                    _ => return Err(CmdError::err("invalid EF")),
                };
                j += 1;
            }
            _ if is_keyword(opt, "m") && value.is_some() => {
                m = match value.and_then(|v| parse_i64(v)) {
                    Some(v) if v >= 0 && M_RANGE.contains(&(v as usize)) => v as usize,
                    _ => return Err(CmdError::err("invalid M")),
                };
                j += 1;
            }
            _ if is_keyword(opt, "metric") && value.is_some() => {
                let v = &args[j + 1];
                metric = match () {
                    _ if is_keyword(v, "cosine") => Metric::Cosine,
                    _ if is_keyword(v, "l2") => Metric::L2,
                    _ if is_keyword(v, "ip") => Metric::Ip,
                    _ => return Err(CmdError::err("invalid METRIC (COSINE, L2 or IP)")),
                };
                j += 1;
            }
            _ => return Err(CmdError::Syntax),
        }
        j += 1;
    }
    if quant == Quant::Bin && metric != Metric::Cosine {
        return Err(CmdError::err(
            "BIN quantization works with the COSINE metric only",
        ));
    }
    let per_vector = if fp32 { 1 } else { dim };
    let stride = 1 + per_vector + usize::from(with_attrs);
    let rest = &args[j + 1..];
    if rest.is_empty() || !rest.len().is_multiple_of(stride) {
        return Err(CmdError::WrongArity("vaddbatch"));
    }
    let mut items: Vec<(Bytes, Vec<f32>, Option<Bytes>)> = Vec::with_capacity(rest.len() / stride);
    for chunk in rest.chunks_exact(stride) {
        let vector: Vec<f32> = if fp32 {
            let blob = &chunk[1];
            if blob.len() != dim * 4 {
                return Err(invalid_vector());
            }
            blob.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        } else {
            chunk[1..=dim]
                .iter()
                .map(|a| parse_f64(a).filter(|v| v.is_finite()).map(|v| v as f32))
                .collect::<Option<Vec<f32>>>()
                .ok_or_else(invalid_vector)?
        };
        if vector.iter().any(|v| !v.is_finite()) {
            return Err(invalid_vector());
        }
        let attrs = with_attrs.then(|| Bytes::copy_from_slice(&chunk[stride - 1]));
        items.push((Bytes::copy_from_slice(&chunk[0]), vector, attrs));
    }
    loop {
        let (set, created) = ctx.db().vset_or_create(&args[1], ctx.now(), || {
            VectorSet::new(dim, None, quant, metric, m, next_set_uid())
        })?;
        let heavy = work(0, dim, ef, false).saturating_mul(items.len()) > OFFLOAD_WORK;
        let added = offload(heavy, || {
            let mut guard = set.write();
            if guard.dead {
                return Ok(None);
            }
            if !created {
                guard
                    .check_add(quant, metric, m, dim, None)
                    .map_err(|e| CmdError::Line(e.to_string()))?;
            }
            let mut new = 0i64;
            for (element, vector, attrs) in &items {
                new += i64::from(guard.add(element, vector.clone(), attrs.clone(), ef));
            }
            Ok::<_, CmdError>(Some(new))
        })?;
        if let Some(new) = added {
            ctx.out.int(new);
            return Ok(());
        }
    }
}

/// Options of VSIM after the vector.
struct VsimOptions {
    withscores: bool,
    withattribs: bool,
    count: usize,
    epsilon: Option<f64>,
    ef: usize,
    filter: Option<Filter>,
    filter_ef: usize,
    truth: bool,
}

fn parse_vsim_options(args: &[Bytes], mut j: usize) -> Result<VsimOptions, CmdError> {
    let mut o = VsimOptions {
        withscores: false,
        withattribs: false,
        count: 10,
        epsilon: None,
        ef: 0,
        filter: None,
        filter_ef: 0,
        truth: false,
    };
    while j < args.len() {
        let opt = &args[j];
        let value = args.get(j + 1);
        match () {
            _ if is_keyword(opt, "withscores") => o.withscores = true,
            _ if is_keyword(opt, "withattribs") => o.withattribs = true,
            _ if is_keyword(opt, "truth") => o.truth = true,
            _ if is_keyword(opt, "nothread") => {}
            _ if is_keyword(opt, "count") && value.is_some() => {
                o.count = match value.and_then(|v| parse_i64(v)) {
                    Some(c) if c > 0 => c as usize,
                    _ => return Err(CmdError::err("invalid COUNT")),
                };
                j += 1;
            }
            _ if is_keyword(opt, "epsilon") && value.is_some() => {
                o.epsilon = match value.and_then(|v| parse_f64(v)) {
                    Some(e) if e > 0.0 => Some(e),
                    _ => return Err(CmdError::err("invalid EPSILON")),
                };
                j += 1;
            }
            _ if is_keyword(opt, "ef") && value.is_some() => {
                o.ef = match value.and_then(|v| parse_i64(v)) {
                    Some(e) if e > 0 && e <= 1_000_000 => e as usize,
                    _ => return Err(CmdError::err("invalid EF")),
                };
                j += 1;
            }
            _ if is_keyword(opt, "filter-ef") && value.is_some() => {
                o.filter_ef = match value.and_then(|v| parse_i64(v)) {
                    Some(e) if e > 0 => e as usize,
                    _ => return Err(CmdError::err("invalid FILTER-EF")),
                };
                j += 1;
            }
            _ if is_keyword(opt, "filter") && value.is_some() => {
                let text = String::from_utf8_lossy(&args[j + 1]).into_owned();
                o.filter = Some(Filter::compile(&text).map_err(|e| {
                    let rest = text.get(e.pos.min(text.len())..).unwrap_or("");
                    let rest = if rest.is_empty() { text.as_str() } else { rest };
                    CmdError::err(format!("syntax error in FILTER expression near: {rest}"))
                })?);
                j += 1;
            }
            _ => return Err(CmdError::err("syntax error in VSIM command")),
        }
        j += 1;
    }
    Ok(o)
}

/// Writes search hits the way VSIM does in each protocol.
fn reply_hits(out: &mut ReplyBuf, hits: &[Hit], withscores: bool, withattribs: bool) {
    let resp3 = out.protocol() == vexlake_protocol::Protocol::Resp3;
    if resp3 && (withscores || withattribs) {
        out.map(hits.len());
    } else {
        out.array(hits.len() * (1 + usize::from(withscores) + usize::from(withattribs)));
    }
    for h in hits {
        out.bulk(&h.element);
        if resp3 && withscores && withattribs {
            out.array(2);
        }
        if withscores {
            out.double(h.score);
        }
        if withattribs {
            match &h.attributes {
                Some(a) => out.bulk(a),
                None => out.null(),
            }
        }
    }
}

fn run_search(set: &SharedSet, input: QueryInput, o: &VsimOptions) -> Result<Vec<Hit>, CmdError> {
    let (len, dim) = {
        let g = set.read();
        (g.len(), g.dim())
    };
    let ef = o.ef.max(o.count).max(100);
    let filtered = if o.filter.is_some() { 4 } else { 1 };
    let heavy = work(len, dim, ef, o.truth).saturating_mul(filtered) > OFFLOAD_WORK;
    offload(heavy, || {
        let guard = set.read();
        let params = SearchParams {
            count: o.count,
            ef: o.ef,
            filter: o.filter.as_ref(),
            filter_ef: o.filter_ef,
            truth: o.truth,
            epsilon: o.epsilon,
        };
        guard
            .search(input, &params)
            .map_err(|_| CmdError::err("element not found in set"))
    })
}

fn check_query_dim(set: &SharedSet, input: &QueryInput) -> CmdResult {
    if let QueryInput::Vector(v) = input {
        set.read()
            .check_input(v.len())
            .map_err(|e| CmdError::Line(e.to_string()))?;
    }
    Ok(())
}

/// VSIM key (ELE element | FP32 blob | VALUES n ...) [WITHSCORES]
/// [WITHATTRIBS] [COUNT n] [EPSILON d] [EF n] [FILTER expr] [FILTER-EF n]
/// [TRUTH] [NOTHREAD].
pub fn vsim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(set) = set_of(ctx, &args[1])? else {
        ctx.out.array(0);
        return Ok(());
    };
    let (input, used) = if is_keyword(&args[2], "ele") {
        let exists = set.read().contains(&args[3]);
        if !exists {
            return Err(CmdError::err("element not found in set"));
        }
        (QueryInput::Element(args[3].clone()), 2)
    } else {
        let (v, _, used) = parse_vector(args, 2, false)?;
        (QueryInput::Vector(v), used)
    };
    check_query_dim(&set, &input)?;
    let o = parse_vsim_options(args, 2 + used)?;
    let hits = run_search(&set, input, &o)?;
    reply_hits(ctx.out, &hits, o.withscores, o.withattribs);
    Ok(())
}

/// VSEARCH key <vector> k [FILTER expr] [WITHSCORES] [WITHATTRIBS] [EF n],
/// or the seed form VSEARCH "[0.1, ...]" k on the default set. `<vector>` is
/// a JSON array, `FP32 blob` or `VALUES n ...`.
pub fn vsearch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let seed = args[1].first() == Some(&b'[');
    let (key, vstart) = if seed {
        (
            Bytes::copy_from_slice(ctx.state.config.default_vset.as_bytes()),
            1,
        )
    } else {
        (args[1].clone(), 2)
    };
    let Some(first) = args.get(vstart) else {
        return Err(CmdError::WrongArity("vsearch"));
    };
    let (vector, used) = if first.first() == Some(&b'[') {
        (parse_json_vector(first)?, 1)
    } else {
        let (v, _, used) = parse_vector(args, vstart, false)?;
        (v, used)
    };
    let Some(k) = args.get(vstart + used) else {
        return Err(CmdError::WrongArity("vsearch"));
    };
    let count = match parse_i64(k) {
        Some(c) if c > 0 => c as usize,
        _ => return Err(CmdError::err("K must be a positive integer")),
    };
    let mut o = parse_vsim_options(args, vstart + used + 1)?;
    if args[vstart + used + 1..]
        .iter()
        .any(|a| is_keyword(a, "count"))
    {
        return Err(CmdError::err(
            "syntax error in VSEARCH command: K is given positionally",
        ));
    }
    o.count = count;
    let Some(set) = set_of(ctx, &key)? else {
        ctx.out.array(0);
        return Ok(());
    };
    let input = QueryInput::Vector(vector);
    check_query_dim(&set, &input)?;
    let hits = run_search(&set, input, &o)?;
    reply_hits(ctx.out, &hits, o.withscores, o.withattribs);
    Ok(())
}

/// VREM key element.
pub fn vrem(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(set) = set_of(ctx, &args[1])? else {
        ctx.out.bool(false);
        return Ok(());
    };
    let removed = offload(false, || {
        let mut guard = set.write();
        let removed = guard.remove(&args[2]);
        if removed && guard.is_empty() {
            guard.dead = true;
            ctx.db().vset_delete_if_same(&args[1], &set, ctx.now());
        }
        removed
    });
    ctx.out.bool(removed);
    Ok(())
}

/// VCARD key.
pub fn vcard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = set_of(ctx, &args[1])?.map_or(0, |s| s.read().len());
    ctx.out.int(n as i64);
    Ok(())
}

/// VDIM key.
pub fn vdim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let set = set_of(ctx, &args[1])?.ok_or_else(|| CmdError::err("key does not exist"))?;
    let dim = set.read().dim();
    ctx.out.int(dim as i64);
    Ok(())
}

/// VEMB key element [RAW].
pub fn vemb(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut raw = false;
    for opt in &args[3..] {
        if is_keyword(opt, "raw") {
            raw = true;
        } else {
            return Err(CmdError::err("invalid option"));
        }
    }
    let Some(set) = set_of(ctx, &args[1])? else {
        ctx.out.null();
        return Ok(());
    };
    let guard = set.read();
    if raw {
        let Some((quant, bytes, l2, range)) = guard.raw(&args[2]) else {
            ctx.out.null();
            return Ok(());
        };
        ctx.out.array(3 + usize::from(range.is_some()));
        ctx.out.simple(quant);
        ctx.out.bulk(&bytes);
        ctx.out.double(f64::from(l2));
        if let Some(r) = range {
            ctx.out.double(f64::from(r));
        }
    } else {
        let Some(v) = guard.embedding(&args[2]) else {
            ctx.out.null();
            return Ok(());
        };
        ctx.out.array(v.len());
        for x in v {
            ctx.out.double(f64::from(x));
        }
    }
    Ok(())
}

/// VSETATTR key element json (empty json removes the attributes).
pub fn vsetattr(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let done = match set_of(ctx, &args[1])? {
        Some(set) => set
            .write()
            .set_attributes(&args[2], Bytes::copy_from_slice(&args[3])),
        None => false,
    };
    ctx.out.bool(done);
    Ok(())
}

/// VGETATTR key element.
pub fn vgetattr(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match set_of(ctx, &args[1])?.and_then(|s| s.read().attributes(&args[2])) {
        Some(a) => ctx.out.bulk(&a),
        None => ctx.out.null(),
    }
    Ok(())
}

/// VISMEMBER key element.
pub fn vismember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let is = set_of(ctx, &args[1])?.is_some_and(|s| s.read().contains(&args[2]));
    ctx.out.bool(is);
    Ok(())
}

/// VRANDMEMBER key [count].
pub fn vrandmember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::WrongArity("vrandmember"));
    }
    let count = match args.get(2) {
        None => None,
        Some(c) => {
            Some(parse_i64(c).ok_or_else(|| CmdError::err("COUNT value is not an integer"))?)
        }
    };
    if count == Some(0) {
        ctx.out.array(0);
        return Ok(());
    }
    let Some(set) = set_of(ctx, &args[1])? else {
        if count.is_some() {
            ctx.out.array(0)
        } else {
            ctx.out.null()
        }
        return Ok(());
    };
    let guard = set.read();
    match count {
        None => match guard.random() {
            Some(e) => ctx.out.bulk(&e),
            None => ctx.out.null(),
        },
        Some(c) if c < 0 => {
            let n = c.unsigned_abs() as usize;
            ctx.out.array(n);
            for _ in 0..n {
                let e = guard.random().unwrap_or_default();
                ctx.out.bulk(&e);
            }
        }
        Some(c) => {
            let picked = guard.random_distinct(c as usize);
            ctx.out.array(picked.len());
            for e in picked {
                ctx.out.bulk(&e);
            }
        }
    }
    Ok(())
}

/// VLINKS key element [WITHSCORES].
pub fn vlinks(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 4 || (args.len() == 4 && !is_keyword(&args[3], "withscores")) {
        return Err(CmdError::WrongArity("vlinks"));
    }
    let withscores = args.len() == 4;
    let Some(levels) = set_of(ctx, &args[1])?.and_then(|s| s.read().links(&args[2])) else {
        ctx.out.null();
        return Ok(());
    };
    ctx.out.array(levels.len());
    for level in levels {
        if withscores {
            ctx.out.map(level.len());
        } else {
            ctx.out.array(level.len());
        }
        for (name, score) in level {
            ctx.out.bulk(&name);
            if withscores {
                ctx.out.double(score);
            }
        }
    }
    Ok(())
}

/// VINFO key.
pub fn vinfo(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(set) = set_of(ctx, &args[1])? else {
        ctx.out.null_array();
        return Ok(());
    };
    let i = set.read().info();
    let out = &mut *ctx.out;
    out.map(10);
    out.simple("quant-type");
    out.simple(i.quant);
    out.simple("metric");
    out.simple(i.metric);
    for (name, v) in [
        ("hnsw-m", i.m as i64),
        ("vector-dim", i.dim as i64),
        ("projection-input-dim", i.projection_input_dim as i64),
        ("size", i.size as i64),
        ("max-level", i.max_level as i64),
        ("attributes-count", i.attributes_count as i64),
        ("vset-uid", i.uid as i64),
        ("hnsw-max-node-uid", i.max_node_uid as i64),
    ] {
        out.simple(name);
        out.int(v);
    }
    Ok(())
}

/// A VRANGE bound: `-`, `+`, `[elem` or `(elem`.
fn range_bound(arg: &[u8]) -> Option<(Bound<&[u8]>, bool, bool)> {
    match arg {
        b"-" => Some((Bound::Unbounded, true, false)),
        b"+" => Some((Bound::Unbounded, false, true)),
        [b'[', rest @ ..] if !rest.is_empty() => Some((Bound::Included(rest), false, false)),
        [b'(', rest @ ..] if !rest.is_empty() => Some((Bound::Excluded(rest), false, false)),
        _ => None,
    }
}

/// VRANGE key start end [count].
pub fn vrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 5 {
        return Err(CmdError::WrongArity("vrange"));
    }
    let count = match args.get(4) {
        None => None,
        Some(c) => {
            let v = parse_i64(c).ok_or_else(|| CmdError::err("invalid COUNT value"))?;
            usize::try_from(v).ok()
        }
    };
    let (start, _, start_max) =
        range_bound(&args[2]).ok_or_else(|| CmdError::err("invalid start range format"))?;
    let (end, end_min, _) =
        range_bound(&args[3]).ok_or_else(|| CmdError::err("invalid end range format"))?;
    if start_max || end_min {
        return Err(CmdError::err(
            "'-' can only be used as first argument, '+' only as second",
        ));
    }
    let items = match set_of(ctx, &args[1])? {
        Some(set) => set.read().range(start, end, count),
        None => Vec::new(),
    };
    ctx.out.array(items.len());
    for e in items {
        ctx.out.bulk(&e);
    }
    Ok(())
}

use super::table::{BASE, CommandSpec, K1, RO, RO_FAST, W, W_FAST, W_OOM};

/// The vector-set commands (COMMAND / COMMAND DOCS entries and handlers).
#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "vadd", arity: -5, flags: W_OOM, keys: K1, acl: &["@write", "@vector", "@slow"], group: "vector_set", since: "8.0.0", summary: "Adds one element (new or updated) to a vector set, creating the set if needed.", complexity: "O(log(N)) for each element added, where N is the number of elements in the vector set.", syntax: "key [REDUCE dim:integer] (FP32 vector | VALUES num:integer vector...) element [CAS] [NOQUANT | Q8 | BIN] [EF build-exploration-factor:integer] [SETATTR attributes] [M numlinks:integer] [METRIC (COSINE | L2 | IP)]", handler: vadd, ..BASE },
    CommandSpec { name: "vaddbatch", arity: -7, flags: W_OOM, keys: K1, acl: &["@write", "@vector", "@slow"], group: "vector_set", since: "0.1.0", summary: "VexLake: adds many elements in one command (one lock, all validated first); replies with the number of new elements.", complexity: "O(M*log(N)) for M elements added.", syntax: "key (FP32 | VALUES) dim:integer [NOQUANT | Q8 | BIN] [EF ef:integer] [M numlinks:integer] [METRIC (COSINE | L2 | IP)] [WITHATTRIBS] ELEMENTS (element vector [attributes])...", handler: vaddbatch, ..BASE },
    CommandSpec { name: "vsim", arity: -4, flags: RO, keys: K1, acl: &["@read", "@vector", "@slow"], group: "vector_set", since: "8.0.0", summary: "Returns the elements most similar to a vector or to an element.", complexity: "O(log(N)) where N is the number of elements in the vector set.", syntax: "key (ELE | FP32 | VALUES num:integer) (vector | element) [WITHSCORES] [WITHATTRIBS] [COUNT num:integer] [EPSILON delta:double] [EF search-exploration-factor:integer] [FILTER expression] [FILTER-EF max-filtering-effort:integer] [TRUTH] [NOTHREAD]", handler: vsim, ..BASE },
    CommandSpec { name: "vsearch", arity: -3, flags: RO, keys: K1, acl: &["@read", "@vector", "@slow"], group: "vector_set", since: "0.1.0", summary: "VexLake: the K most similar elements to a vector given as a JSON array, FP32 blob or VALUES; without a key, searches the default set.", complexity: "O(log(N)) where N is the number of elements in the vector set.", syntax: "[key] (json-vector | FP32 blob | VALUES num:integer value...) k:integer [FILTER expression] [WITHSCORES] [WITHATTRIBS] [EF ef:integer] [EPSILON delta:double] [FILTER-EF effort:integer] [TRUTH]", handler: vsearch, ..BASE },
    CommandSpec { name: "vrem", arity: 3, flags: W, keys: K1, acl: &["@write", "@vector", "@slow"], group: "vector_set", since: "8.0.0", summary: "Removes an element from a vector set; the last removal deletes the key.", complexity: "O(log(N)) for each element removed, where N is the number of elements in the vector set.", syntax: "key element", handler: vrem, ..BASE },
    CommandSpec { name: "vcard", arity: 2, flags: RO_FAST, keys: K1, acl: &["@read", "@vector", "@fast"], group: "vector_set", since: "8.0.0", summary: "Returns the number of elements in a vector set.", syntax: "key", handler: vcard, ..BASE },
    CommandSpec { name: "vdim", arity: 2, flags: RO_FAST, keys: K1, acl: &["@read", "@vector", "@fast"], group: "vector_set", since: "8.0.0", summary: "Returns the dimension of the vectors in a vector set.", syntax: "key", handler: vdim, ..BASE },
    CommandSpec { name: "vemb", arity: -3, flags: RO_FAST, keys: K1, acl: &["@read", "@vector", "@slow"], group: "vector_set", since: "8.0.0", summary: "Returns the (approximated) vector of an element.", syntax: "key element [RAW]", handler: vemb, ..BASE },
    CommandSpec { name: "vinfo", arity: 2, flags: RO_FAST, keys: K1, acl: &["@read", "@vector", "@fast"], group: "vector_set", since: "8.0.0", summary: "Returns information about a vector set.", syntax: "key", handler: vinfo, ..BASE },
    CommandSpec { name: "vgetattr", arity: 3, flags: RO_FAST, keys: K1, acl: &["@read", "@vector", "@fast"], group: "vector_set", since: "8.0.0", summary: "Returns the JSON attributes of an element.", syntax: "key element", handler: vgetattr, ..BASE },
    CommandSpec { name: "vsetattr", arity: 4, flags: W_FAST, keys: K1, acl: &["@write", "@vector", "@fast"], group: "vector_set", since: "8.0.0", summary: "Sets or removes (with an empty string) the JSON attributes of an element.", syntax: "key element json", handler: vsetattr, ..BASE },
    CommandSpec { name: "vrandmember", arity: -2, flags: RO, keys: K1, acl: &["@read", "@vector", "@slow"], group: "vector_set", since: "8.0.0", summary: "Returns one or more random elements of a vector set.", complexity: "O(N) where N is the absolute value of the count argument.", syntax: "key [count:integer]", handler: vrandmember, ..BASE },
    CommandSpec { name: "vismember", arity: 3, flags: RO_FAST, keys: K1, acl: &["@read", "@vector", "@fast"], group: "vector_set", since: "8.0.0", summary: "Tells whether an element is in a vector set.", syntax: "key element", handler: vismember, ..BASE },
    CommandSpec { name: "vlinks", arity: -3, flags: RO, keys: K1, acl: &["@read", "@vector", "@slow"], group: "vector_set", since: "8.0.0", summary: "Returns the graph neighbours of an element at each layer.", syntax: "key element [WITHSCORES]", handler: vlinks, ..BASE },
    CommandSpec { name: "vrange", arity: -4, flags: RO, keys: K1, acl: &["@read", "@vector", "@slow"], group: "vector_set", since: "8.4.0", summary: "Returns elements in a lexicographical range.", complexity: "O(log(N)+M) where M is the number of elements returned.", syntax: "key start end [count:integer]", handler: vrange, ..BASE },
];
