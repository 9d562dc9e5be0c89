//! Vector-set commands, wire-compatible with Redis 8: VADD VSIM VREM VCARD
//! VDIM VEMB VINFO VGETATTR VSETATTR VRANDMEMBER VISMEMBER VLINKS VRANGE,
//! plus VexLake's VSEARCH and VADDBATCH. Argument order, defaults, reply
//! shapes and error texts follow Redis.
//!
//! # Layout
//! - this file: vector argument parsing, the offload rule, the command table.
//! - [`write`]: VADD, VADDBATCH, VREM, VSETATTR.
//! - [`ahead`]: planning a pipeline's VADDs side by side before they run.
//! - [`search`]: VSIM, VSEARCH.
//! - [`read`]: VCARD VDIM VEMB VINFO VGETATTR VISMEMBER VRANDMEMBER VLINKS VRANGE.

pub mod ahead;
pub mod read;
pub mod search;
pub mod write;

use bytes::Bytes;
use vexlake_engine::keyspace::SharedSet;
use vexlake_engine::vector::set::MAX_DIM;
use vexlake_protocol::args::{is_keyword, parse_f64, parse_i64};

use super::Ctx;
use super::table::{BASE, CommandSpec, K1, RO, RO_FAST, W, W_FAST, W_OOM};
use crate::error::CmdError;
use read::{vcard, vdim, vemb, vgetattr, vinfo, vismember, vlinks, vrandmember, vrange};
use search::{vsearch, vsim};
use write::{vadd, vaddbatch, vrem, vsetattr};

pub(super) fn invalid_vector() -> CmdError {
    CmdError::err("invalid vector specification")
}

/// A parsed `[REDUCE dim] (FP32 blob | VALUES n v1..vn)` at `args[start..]`:
/// the vector, the REDUCE dimension, and how many arguments it used.
pub(super) fn parse_vector(
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
        decode_fp32(blob)
    } else if is_keyword(format, "values") {
        let n = args
            .get(i + 1)
            .and_then(|a| parse_i64(a))
            .ok_or_else(invalid_vector)?;
        if n < 1 || n as usize > MAX_DIM || args.len() < i + 2 + n as usize {
            return Err(invalid_vector());
        }
        let values = parse_values(&args[i + 2..i + 2 + n as usize])?;
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
pub(super) fn parse_json_vector(arg: &[u8]) -> Result<Vec<f32>, CmdError> {
    let v: Vec<f64> = serde_json::from_slice(arg).map_err(|_| invalid_vector())?;
    if v.is_empty() || v.len() > MAX_DIM || v.iter().any(|x| !x.is_finite()) {
        return Err(invalid_vector());
    }
    Ok(v.into_iter().map(|x| x as f32).collect())
}

/// Work (distance components) above which a command leaves the I/O
/// scheduler: about a few milliseconds of CPU.
pub(super) const OFFLOAD_WORK: usize = 4_000_000;

/// Estimated work of a search or insert: components compared.
pub(super) fn work(len: usize, dim: usize, ef: usize, truth: bool) -> usize {
    if truth {
        len.saturating_mul(dim)
    } else {
        ef.saturating_mul(32).saturating_mul(dim)
    }
}

pub(super) fn set_of(ctx: &Ctx<'_>, key: &[u8]) -> Result<Option<SharedSet>, CmdError> {
    Ok(ctx.db().vset(key, ctx.now())?)
}

/// Parses `VALUES` numbers: every one finite, or the vector is invalid.
pub(super) fn parse_values(args: &[Bytes]) -> Result<Vec<f32>, CmdError> {
    args.iter()
        .map(|a| parse_f64(a).filter(|v| v.is_finite()).map(|v| v as f32))
        .collect::<Option<Vec<f32>>>()
        .ok_or_else(invalid_vector)
}

/// Decodes an FP32 blob (little-endian f32 values).
pub(super) fn decode_fp32(blob: &[u8]) -> Vec<f32> {
    blob.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// The vector-set commands (COMMAND / COMMAND DOCS entries and handlers).
#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec { name: "vadd", arity: -5, flags: W_OOM, keys: K1, acl: &["@write", "@vector", "@vectorset", "@slow"], group: "vector_set", since: "8.0.0", summary: "Adds one element (new or updated) to a vector set, creating the set if needed.", complexity: "O(log(N)) for each element added, where N is the number of elements in the vector set.", syntax: "key [REDUCE dim:integer] (FP32 vector | VALUES num:integer vector...) element [CAS] [NOQUANT | Q8 | BIN] [EF build-exploration-factor:integer] [SETATTR attributes] [M numlinks:integer] [METRIC (COSINE | L2 | IP)]", handler: vadd, ..BASE },
    CommandSpec { name: "vaddbatch", arity: -7, flags: W_OOM, keys: K1, acl: &["@write", "@vector", "@vectorset", "@slow"], group: "vector_set", since: "0.1.0", summary: "VexLake: adds many elements in one command (one lock, all validated first); replies with the number of new elements.", complexity: "O(M*log(N)) for M elements added.", syntax: "key (FP32 | VALUES) dim:integer [NOQUANT | Q8 | BIN] [EF ef:integer] [M numlinks:integer] [METRIC (COSINE | L2 | IP)] [WITHATTRIBS] ELEMENTS (element vector [attributes])...", handler: vaddbatch, ..BASE },
    CommandSpec { name: "vsim", arity: -4, flags: RO, keys: K1, acl: &["@read", "@vector", "@vectorset", "@slow"], group: "vector_set", since: "8.0.0", summary: "Returns the elements most similar to a vector or to an element.", complexity: "O(log(N)) where N is the number of elements in the vector set.", syntax: "key (ELE | FP32 | VALUES num:integer) (vector | element) [WITHSCORES] [WITHATTRIBS] [COUNT num:integer] [EPSILON delta:double] [EF search-exploration-factor:integer] [FILTER expression] [FILTER-EF max-filtering-effort:integer] [TRUTH] [NOTHREAD]", handler: vsim, ..BASE },
    CommandSpec { name: "vsearch", arity: -3, flags: RO, keys: K1, acl: &["@read", "@vector", "@vectorset", "@slow"], group: "vector_set", since: "0.1.0", summary: "VexLake: the K most similar elements to a vector given as a JSON array, FP32 blob or VALUES; without a key, searches the default set.", complexity: "O(log(N)) where N is the number of elements in the vector set.", syntax: "[key] (json-vector | FP32 blob | VALUES num:integer value...) k:integer [FILTER expression] [WITHSCORES] [WITHATTRIBS] [EF ef:integer] [EPSILON delta:double] [FILTER-EF effort:integer] [TRUTH]", handler: vsearch, ..BASE },
    CommandSpec { name: "vrem", arity: 3, flags: W, keys: K1, acl: &["@write", "@vector", "@vectorset", "@slow"], group: "vector_set", since: "8.0.0", summary: "Removes an element from a vector set; the last removal deletes the key.", complexity: "O(log(N)) for each element removed, where N is the number of elements in the vector set.", syntax: "key element", handler: vrem, ..BASE },
    CommandSpec { name: "vcard", arity: 2, flags: RO_FAST, keys: K1, acl: &["@read", "@vector", "@vectorset", "@fast"], group: "vector_set", since: "8.0.0", summary: "Returns the number of elements in a vector set.", syntax: "key", handler: vcard, ..BASE },
    CommandSpec { name: "vdim", arity: 2, flags: RO_FAST, keys: K1, acl: &["@read", "@vector", "@vectorset", "@fast"], group: "vector_set", since: "8.0.0", summary: "Returns the dimension of the vectors in a vector set.", syntax: "key", handler: vdim, ..BASE },
    CommandSpec { name: "vemb", arity: -3, flags: RO_FAST, keys: K1, acl: &["@read", "@vector", "@vectorset", "@slow"], group: "vector_set", since: "8.0.0", summary: "Returns the (approximated) vector of an element.", syntax: "key element [RAW]", handler: vemb, ..BASE },
    CommandSpec { name: "vinfo", arity: 2, flags: RO_FAST, keys: K1, acl: &["@read", "@vector", "@vectorset", "@fast"], group: "vector_set", since: "8.0.0", summary: "Returns information about a vector set.", syntax: "key", handler: vinfo, ..BASE },
    CommandSpec { name: "vgetattr", arity: 3, flags: RO_FAST, keys: K1, acl: &["@read", "@vector", "@vectorset", "@fast"], group: "vector_set", since: "8.0.0", summary: "Returns the JSON attributes of an element.", syntax: "key element", handler: vgetattr, ..BASE },
    CommandSpec { name: "vsetattr", arity: 4, flags: W_FAST, keys: K1, acl: &["@write", "@vector", "@vectorset", "@fast"], group: "vector_set", since: "8.0.0", summary: "Sets or removes (with an empty string) the JSON attributes of an element.", syntax: "key element json", handler: vsetattr, ..BASE },
    CommandSpec { name: "vrandmember", arity: -2, flags: RO, keys: K1, acl: &["@read", "@vector", "@vectorset", "@slow"], group: "vector_set", since: "8.0.0", summary: "Returns one or more random elements of a vector set.", complexity: "O(N) where N is the absolute value of the count argument.", syntax: "key [count:integer]", handler: vrandmember, ..BASE },
    CommandSpec { name: "vismember", arity: 3, flags: RO_FAST, keys: K1, acl: &["@read", "@vector", "@vectorset", "@fast"], group: "vector_set", since: "8.0.0", summary: "Tells whether an element is in a vector set.", syntax: "key element", handler: vismember, ..BASE },
    CommandSpec { name: "vlinks", arity: -3, flags: RO, keys: K1, acl: &["@read", "@vector", "@vectorset", "@slow"], group: "vector_set", since: "8.0.0", summary: "Returns the graph neighbours of an element at each layer.", syntax: "key element [WITHSCORES]", handler: vlinks, ..BASE },
    CommandSpec { name: "vrange", arity: -4, flags: RO, keys: K1, acl: &["@read", "@vector", "@vectorset", "@slow"], group: "vector_set", since: "8.4.0", summary: "Returns elements in a lexicographical range.", complexity: "O(log(N)+M) where M is the number of elements returned.", syntax: "key start end [count:integer]", handler: vrange, ..BASE },
];
