//! Vector-set introspection: VCARD VDIM VEMB VINFO VGETATTR VISMEMBER
//! VRANDMEMBER VLINKS VRANGE.

use std::ops::Bound;

use bytes::Bytes;
use vexlake_protocol::args::{is_keyword, parse_i64};

use super::set_of;

/// Largest `|count|` of VRANDMEMBER with a negative count.
const MAX_RANDOM_REPEATS: i64 = 10_000_000;
use crate::cmd::{CmdResult, Ctx};
use crate::error::CmdError;

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
    // Repeats are allowed for a negative count, so its size is not bounded
    // by the set: refuse replies no client could want.
    if count.is_some_and(|c| c < -MAX_RANDOM_REPEATS) {
        return Err(CmdError::err("value is out of range"));
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
    // Redis 8.8's fields in its order, then VexLake's `metric`.
    out.map(10);
    out.simple("quant-type");
    out.simple(i.quant);
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
    out.simple("metric");
    out.simple(i.metric);
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
