//! What the collection commands (hashes, sets, lists, sorted sets) share:
//! the `FIELDS numfields ...` block, *SCAN over one collection, random
//! picks with and without repetition, index ranges, `numkeys ... LIMIT`,
//! notifications.

use bytes::Bytes;
use vexlake_engine::glob::glob_match;
use vexlake_protocol::args::{is_keyword, parse_cursor};

use super::{Ctx, int_arg};
use crate::error::CmdError;
use crate::notify::GENERIC;

/// Notifies `event` (of notification class `class`) on `key`, and `del`
/// when the command emptied it.
pub fn notify_change(ctx: &Ctx<'_>, class: u32, event: &str, key: &[u8], emptied: bool) {
    ctx.notify(class, event, key);
    if emptied {
        ctx.notify(GENERIC, "del", key);
    }
}

/// `numkeys key... [LIMIT limit]` of SINTERCARD and ZINTERCARD (at
/// `args[1]`): the keys and the limit (0: none).
pub fn keys_and_limit(args: &[Bytes]) -> Result<(&[Bytes], usize), CmdError> {
    let n = vexlake_protocol::args::parse_i64(&args[1])
        .filter(|&n| n > 0)
        .ok_or_else(|| CmdError::err("numkeys should be greater than 0"))? as usize;
    if n > args.len() - 2 {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    let mut limit = 0usize;
    let mut i = 2 + n;
    while i < args.len() {
        if is_keyword(&args[i], "limit") && i + 1 < args.len() {
            limit = vexlake_protocol::args::parse_i64(&args[i + 1])
                .filter(|&l| l >= 0)
                .ok_or_else(|| CmdError::err("LIMIT can't be negative"))?
                as usize;
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((&args[2..2 + n], limit))
}

/// The positions `start..=stop` (negative from the end, clamped, as
/// LRANGE and ZRANGE count) of a collection of `len`, as `start..end`.
pub fn index_range(start: i64, stop: i64, len: usize) -> std::ops::Range<usize> {
    let len = len as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let stop = if stop < 0 {
        len + stop
    } else {
        stop.min(len - 1)
    };
    if start > stop || start >= len {
        return 0..0;
    }
    start as usize..stop as usize + 1
}

/// Collections up to this many elements are scanned in one call (as
/// Redis does for its compact encodings).
const SMALL: usize = 128;

/// Parsed `cursor [MATCH pattern] [COUNT count] [NOVALUES]`.
pub struct ScanArgs {
    pub cursor: u64,
    pub pattern: Option<Bytes>,
    pub count: usize,
    pub novalues: bool,
}

/// Parses *SCAN's arguments after the key (`novalues_ok`: HSCAN).
pub fn scan_args(args: &[Bytes], novalues_ok: bool) -> Result<ScanArgs, CmdError> {
    let cursor = parse_cursor(&args[2]).ok_or_else(|| CmdError::err("invalid cursor"))?;
    let mut out = ScanArgs {
        cursor,
        pattern: None,
        count: 10,
        novalues: false,
    };
    let mut i = 3;
    while i < args.len() {
        let a = &args[i];
        if novalues_ok && is_keyword(a, "novalues") {
            out.novalues = true;
            i += 1;
            continue;
        }
        let Some(v) = args.get(i + 1) else {
            return Err(CmdError::Syntax);
        };
        if is_keyword(a, "match") {
            out.pattern = Some(v.clone()).filter(|p| &p[..] != b"*");
        } else if is_keyword(a, "count") {
            let c = int_arg(v)?;
            if c < 1 {
                return Err(CmdError::Syntax);
            }
            out.count = c as usize;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(out)
}

/// One step of a scan over `len` positions: the positions to visit, in
/// order, and the next cursor. Small collections come whole, in storage
/// order. Larger ones are visited from the end down, so removals (which
/// move the last element into the hole) never hide an element present
/// for the whole scan.
pub fn scan_step(len: usize, a: &ScanArgs) -> (Vec<usize>, u64) {
    if len <= SMALL {
        return ((0..len).collect(), 0);
    }
    let end = if a.cursor == 0 {
        len
    } else {
        (a.cursor as usize).min(len)
    };
    let start = end.saturating_sub(a.count);
    ((start..end).rev().collect(), start as u64)
}

/// Whether `m` passes the MATCH pattern.
pub fn matches(a: &ScanArgs, m: &[u8]) -> bool {
    a.pattern.as_deref().is_none_or(|p| glob_match(p, m))
}

/// Writes a *SCAN reply: the cursor and the flat items.
pub fn scan_reply(ctx: &mut Ctx<'_>, next: u64, items: &[Bytes]) {
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array(items.len());
    for i in items {
        ctx.out.bulk(i);
    }
}

/// Positions for a random pick of `count` from `len` elements: distinct
/// (in random order) when `count >= 0`, with repetition when negative.
pub fn random_positions(len: usize, count: i64) -> Vec<usize> {
    if len == 0 {
        return Vec::new();
    }
    if count < 0 {
        let n = count.unsigned_abs() as usize;
        return (0..n).map(|_| fastrand::usize(..len)).collect();
    }
    let n = (count as usize).min(len);
    if n * 3 >= len {
        let mut all: Vec<usize> = (0..len).collect();
        fastrand::shuffle(&mut all);
        all.truncate(n);
        return all;
    }
    let mut seen = std::collections::HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let i = fastrand::usize(..len);
        if seen.insert(i) {
            out.push(i);
        }
    }
    out
}

/// The `FIELDS numfields item...` block starting at `args[at]`, with
/// `per` arguments per item, that must end the command (HTTL, HGETDEL,
/// ...): Redis's texts for a missing keyword or a count that does not
/// match.
pub fn fields_at_end(args: &[Bytes], at: usize) -> Result<&[Bytes], CmdError> {
    if !args.get(at).is_some_and(|a| is_keyword(a, "fields")) {
        return Err(CmdError::err(
            "Mandatory argument FIELDS is missing or not at the right position",
        ));
    }
    let n = args
        .get(at + 1)
        .and_then(|a| vexlake_protocol::args::parse_i64(a))
        .filter(|&n| n > 0)
        .ok_or_else(|| CmdError::err("Number of fields must be a positive integer"))?;
    let rest = &args[at + 2..];
    if n as usize != rest.len() {
        return Err(CmdError::err(
            "The `numfields` parameter must match the number of arguments",
        ));
    }
    Ok(rest)
}

/// `numkeys key... <where> [COUNT count]` of LMPOP / ZMPOP and their
/// blocking twins, with `numkeys` at `args[at]`; `side` parses `<where>`
/// (LEFT/RIGHT, MIN/MAX). Returns the keys, the side and the count.
pub fn keys_side_count<T>(
    args: &[Bytes],
    at: usize,
    side: impl Fn(&[u8]) -> Option<T>,
) -> Result<(&[Bytes], T, usize), CmdError> {
    let n = vexlake_protocol::args::parse_i64(&args[at])
        .filter(|&n| n > 0)
        .ok_or_else(|| CmdError::err("numkeys should be greater than 0"))? as usize;
    let where_at = at + 1 + n;
    let side = args
        .get(where_at)
        .and_then(|a| side(a))
        .ok_or(CmdError::Syntax)?;
    let mut count = None;
    let mut i = where_at + 1;
    while i < args.len() {
        if count.is_none() && is_keyword(&args[i], "count") && i + 1 < args.len() {
            count = Some(
                vexlake_protocol::args::parse_i64(&args[i + 1])
                    .filter(|&c| c > 0)
                    .ok_or_else(|| CmdError::err("count should be greater than 0"))?
                    as usize,
            );
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((&args[at + 1..where_at], side, count.unwrap_or(1)))
}
