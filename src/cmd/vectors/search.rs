//! VSIM and VSEARCH: similarity search and its replies.

use bytes::Bytes;
use vexlake_engine::keyspace::SharedSet;
use vexlake_engine::vector::filter::Filter;
use vexlake_engine::vector::set::{Hit, QueryInput, SearchParams};
use vexlake_protocol::ReplyBuf;
use vexlake_protocol::args::{is_keyword, parse_f64, parse_i64};

use super::{OFFLOAD_WORK, parse_json_vector, parse_vector, set_of, work};
use crate::cmd::offload;
use crate::cmd::{CmdResult, Ctx};
use crate::error::CmdError;

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

/// Runs a search on a set of `len` elements of dimension `dim` (from
/// [`check_query`]).
fn run_search(
    set: &SharedSet,
    input: QueryInput,
    o: &VsimOptions,
    (len, dim): (usize, usize),
) -> Result<Vec<Hit>, CmdError> {
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

/// Checks the query against the set (element present, vector dimension)
/// under one read lock; returns the set's size and dimension.
fn check_query(set: &SharedSet, input: &QueryInput) -> Result<(usize, usize), CmdError> {
    let g = set.read();
    match input {
        QueryInput::Element(e) if !g.contains(e) => {
            return Err(CmdError::err("element not found in set"));
        }
        QueryInput::Vector(v) => g
            .check_input(v.len())
            .map_err(|e| CmdError::Line(e.to_string()))?,
        QueryInput::Element(_) => {}
    }
    Ok((g.len(), g.dim()))
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
        (QueryInput::Element(args[3].clone()), 2)
    } else {
        let (v, _, used) = parse_vector(args, 2, false)?;
        (QueryInput::Vector(v), used)
    };
    let shape = check_query(&set, &input)?;
    let o = parse_vsim_options(args, 2 + used)?;
    let hits = run_search(&set, input, &o, shape)?;
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
            Bytes::copy_from_slice(ctx.state.config().default_vset.as_bytes()),
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
    let shape = check_query(&set, &input)?;
    let hits = run_search(&set, input, &o, shape)?;
    reply_hits(ctx.out, &hits, o.withscores, o.withattribs);
    Ok(())
}
