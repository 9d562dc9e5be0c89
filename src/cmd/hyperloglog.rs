//! HyperLogLog commands: PFADD PFCOUNT PFMERGE, on strings laid out as
//! [`vexlake_engine::keyspace::hll`] describes. PFADD logs only the
//! register bytes it raised (a SETRANGE record).

use bytes::Bytes;
use vexlake_engine::EngineError;
use vexlake_engine::keyspace::hll::{self, HEADER, REGISTERS};
use vexlake_engine::keyspace::{SetOptions, Value};

use super::table::{BASE, CommandSpec, K1};
use super::{CmdResult, Ctx};
use crate::error::CmdError;
use crate::notify::STRING;

const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";

fn not_hll() -> EngineError {
    EngineError::Refused("not a HyperLogLog")
}

/// Maps the engine's "not a HyperLogLog" to Redis's WRONGTYPE text.
fn hll_error(e: EngineError) -> CmdError {
    match e {
        EngineError::Refused("not a HyperLogLog") => CmdError::Line(NOT_HLL.into()),
        e => CmdError::Engine(e),
    }
}

/// PFADD key [element ...].
pub fn pfadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let max = ctx.state.engine.config().max_string_len;
    let changed = ctx
        .db()
        .patch_string(&args[1], max, ctx.now(), |cur| {
            let fresh;
            let regs = match cur {
                Some(s) => hll::registers(s).ok_or_else(not_hll)?,
                None => {
                    fresh = hll::empty();
                    &fresh[HEADER..]
                }
            };
            let mut raised: Vec<(usize, u8)> = Vec::new();
            for e in &args[2..] {
                let (i, rank) = hll::position(e);
                let now = raised
                    .iter()
                    .rev()
                    .find(|(j, _)| *j == i)
                    .map_or(regs[i], |(_, r)| *r);
                if rank > now {
                    raised.push((i, rank));
                }
            }
            if cur.is_none() {
                // A new key: the whole string, with the raised registers.
                let mut v = hll::empty();
                for (i, r) in &raised {
                    v[HEADER + i] = *r;
                }
                return Ok((Some((0, v)), true));
            }
            let (Some(lo), Some(hi)) = (
                raised.iter().map(|r| r.0).min(),
                raised.iter().map(|r| r.0).max(),
            ) else {
                return Ok((None, false));
            };
            let mut patch = regs[lo..=hi].to_vec();
            for (i, r) in &raised {
                let p = &mut patch[i - lo];
                *p = (*p).max(*r);
            }
            Ok((Some((HEADER + lo, patch)), true))
        })
        .map_err(hll_error)?;
    if changed {
        ctx.notify(STRING, "pfadd", &args[1]);
    }
    ctx.out.int(i64::from(changed));
    Ok(())
}

/// The registers of the HyperLogLogs at `keys` merged (missing keys are
/// empty), read together.
fn merged(ctx: &Ctx<'_>, keys: &[Bytes]) -> Result<Vec<u8>, CmdError> {
    let refs: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
    ctx.db()
        .edit_keys(&refs, ctx.now(), |vals| {
            let mut out = vec![0u8; REGISTERS];
            for v in vals {
                match v {
                    None => {}
                    Some(Value::Str(s)) => {
                        let regs = hll::registers(s).ok_or_else(not_hll)?;
                        for (o, r) in out.iter_mut().zip(regs) {
                            *o = (*o).max(*r);
                        }
                    }
                    Some(_) => return Err(EngineError::WrongType),
                }
            }
            Ok((out, vec![]))
        })
        .map_err(hll_error)
}

/// PFCOUNT key [key ...].
pub fn pfcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let regs = merged(ctx, &args[1..])?;
    ctx.out.int(hll::count(&regs) as i64);
    Ok(())
}

/// PFMERGE destkey [sourcekey ...].
pub fn pfmerge(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let regs = merged(ctx, args)?;
    let mut v = hll::empty();
    v[HEADER..].copy_from_slice(&regs);
    // The destination keeps its TTL, as in Redis.
    let opts = SetOptions {
        ttl: vexlake_engine::keyspace::SetTtl::Keep,
        ..SetOptions::default()
    };
    ctx.db().set(&args[1], &v, opts, ctx.now())?;
    ctx.notify(STRING, "pfadd", &args[1]);
    ctx.out.ok();
    Ok(())
}

/// The HyperLogLog commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "pfadd",
        arity: -2,
        flags: &["write", "denyoom", "fast"],
        keys: K1,
        acl: &["@write", "@hyperloglog", "@fast"],
        group: "hyperloglog",
        since: "2.8.9",
        summary: "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist.",
        complexity: "O(1) to add every element.",
        syntax: "key [element [element ...]]",
        handler: pfadd,
        ..BASE
    },
    CommandSpec {
        name: "pfcount",
        arity: -2,
        flags: &["readonly", "may_replicate"],
        keys: (1, -1, 1),
        acl: &["@read", "@hyperloglog", "@slow"],
        group: "hyperloglog",
        since: "2.8.9",
        summary: "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s).",
        complexity: "O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.",
        syntax: "key [key ...]",
        handler: pfcount,
        ..BASE
    },
    CommandSpec {
        name: "pfmerge",
        arity: -2,
        flags: &["write", "denyoom"],
        keys: (1, -1, 1),
        acl: &["@write", "@hyperloglog", "@slow"],
        group: "hyperloglog",
        since: "2.8.9",
        summary: "Merges one or more HyperLogLog values into a single key.",
        complexity: "O(N) to merge N HyperLogLogs, but with high constant times.",
        syntax: "destkey [sourcekey [sourcekey ...]]",
        handler: pfmerge,
        ..BASE
    },
];
