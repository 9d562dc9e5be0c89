//! Sorted-set commands: ZADD ZINCRBY ZREM ZCARD ZSCORE ZMSCORE ZRANK
//! ZREVRANK ZCOUNT ZLEXCOUNT ZRANGE ZRANGESTORE ZRANGEBYSCORE
//! ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZREVRANGE ZREMRANGEBYRANK
//! ZREMRANGEBYSCORE ZREMRANGEBYLEX ZPOPMIN ZPOPMAX ZMPOP ZRANDMEMBER ZSCAN
//! ZUNION ZINTER ZDIFF ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZINTERCARD, and
//! the blocking BZPOPMIN BZPOPMAX BZMPOP. Scores are RESP3 doubles (bulk
//! strings in RESP2), as in Redis. Each command returns the edits it
//! makes (ZAdd with the resulting score, ZRem), which the engine logs and
//! applies.

use std::ops::Bound;
use std::time::Duration;

use bytes::Bytes;
use vexlake_engine::keyspace::zset::ZSetValue;
use vexlake_engine::keyspace::{Edit, Edits, Value};
use vexlake_engine::{Db, EngineError};
use vexlake_protocol::Protocol;
use vexlake_protocol::args::{is_keyword, parse_f64, parse_i64};
use vexlake_protocol::reply::format_double;

use super::collection::{matches, random_positions, scan_args, scan_reply, scan_step};
use super::list_blocking::{block, timeout};
use super::table::{BASE, CommandSpec, K1};
use super::{CmdResult, Ctx, int_arg};
use crate::error::CmdError;
use crate::notify::{GENERIC, ZSET};

/// Notifies `event` on `key`, and `del` when the command emptied it.
fn notify(ctx: &Ctx<'_>, event: &str, key: &[u8], emptied: bool) {
    super::collection::notify_change(ctx, ZSET, event, key, emptied);
}

/// Runs `f` on the sorted set at `key` (None: missing); WRONGTYPE otherwise.
pub(super) fn read<R>(
    ctx: &Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(Option<&ZSetValue>) -> R,
) -> Result<R, CmdError> {
    Ok(ctx
        .db()
        .view(key, ctx.now(), |v| Value::as_zset(v).map(f))?)
}

/// A score argument: a float, `inf`, `+inf` or `-inf`; never NaN.
fn score_arg(a: &[u8]) -> Result<f64, CmdError> {
    parse_f64(a)
        .filter(|s| !s.is_nan())
        .ok_or(CmdError::NotFloat)
}

/// A score bound: `1.5`, `(1.5` (exclusive), `-inf`, `+inf`.
fn score_bound(a: &[u8]) -> Result<Bound<f64>, CmdError> {
    let bad = || CmdError::err("min or max is not a float");
    let (excl, text) = match a.first() {
        Some(b'(') => (true, &a[1..]),
        _ => (false, a),
    };
    let v = parse_f64(text).filter(|v| !v.is_nan()).ok_or_else(bad)?;
    Ok(if excl {
        Bound::Excluded(v)
    } else {
        Bound::Included(v)
    })
}

/// A lexicographic bound: `-`, `+`, `[member`, `(member`.
#[derive(Clone, Debug)]
enum Lex {
    Min,
    Max,
    In(Bytes),
    Ex(Bytes),
}

fn lex_bound(a: &Bytes) -> Result<Lex, CmdError> {
    match a.first() {
        Some(b'-') if a.len() == 1 => Ok(Lex::Min),
        Some(b'+') if a.len() == 1 => Ok(Lex::Max),
        Some(b'[') => Ok(Lex::In(a.slice(1..))),
        Some(b'(') => Ok(Lex::Ex(a.slice(1..))),
        _ => Err(CmdError::err("min or max not valid string range item")),
    }
}

/// Whether `m` is at or above the lower bound `lo`.
fn above(lo: &Lex, m: &[u8]) -> bool {
    match lo {
        Lex::Min => true,
        Lex::Max => false,
        Lex::In(b) => m >= &b[..],
        Lex::Ex(b) => m > &b[..],
    }
}

/// Whether `m` is at or below the upper bound `hi`.
fn below(hi: &Lex, m: &[u8]) -> bool {
    match hi {
        Lex::Min => false,
        Lex::Max => true,
        Lex::In(b) => m <= &b[..],
        Lex::Ex(b) => m < &b[..],
    }
}

/// What a range selects.
#[derive(Clone, Debug)]
enum By {
    Rank(i64, i64),
    Score(Bound<f64>, Bound<f64>),
    Lex(Lex, Lex),
}

/// A parsed range: what, which direction, LIMIT.
#[derive(Clone, Debug)]
struct Range {
    by: By,
    rev: bool,
    /// (offset, count); a negative count means all.
    limit: Option<(i64, i64)>,
}

/// The members (with scores) a range selects, in reply order.
fn select(z: &ZSetValue, r: &Range) -> Vec<(Bytes, f64)> {
    let (offset, count) = match r.limit {
        Some((o, _)) if o < 0 => return Vec::new(),
        Some((o, c)) => (o as usize, if c < 0 { usize::MAX } else { c as usize }),
        None => (0, usize::MAX),
    };
    let own = |(m, s): (&[u8], f64)| (Bytes::copy_from_slice(m), s);
    match &r.by {
        By::Rank(start, stop) => {
            let span = super::collection::index_range(*start, *stop, z.len());
            let n = span.len();
            if r.rev {
                z.ordered()
                    .rev()
                    .skip(span.start)
                    .take(n)
                    .map(own)
                    .collect()
            } else {
                z.ordered().skip(span.start).take(n).map(own).collect()
            }
        }
        By::Score(lo, hi) => {
            let it = z.by_score(*lo, *hi);
            if r.rev {
                it.rev().skip(offset).take(count).map(own).collect()
            } else {
                it.skip(offset).take(count).map(own).collect()
            }
        }
        By::Lex(lo, hi) => {
            let it = z.ordered().filter(|(m, _)| above(lo, m) && below(hi, m));
            if r.rev {
                it.rev().skip(offset).take(count).map(own).collect()
            } else {
                it.skip(offset).take(count).map(own).collect()
            }
        }
    }
}

/// Writes members with (RESP3: pairs) or without scores.
fn reply_members(ctx: &mut Ctx<'_>, items: &[(Bytes, f64)], withscores: bool) {
    let resp3 = ctx.out.protocol() == Protocol::Resp3;
    match (withscores, resp3) {
        (true, false) => ctx.out.array(items.len() * 2),
        _ => ctx.out.array(items.len()),
    }
    for (m, s) in items {
        if withscores && resp3 {
            ctx.out.array(2);
        }
        ctx.out.bulk(m);
        if withscores {
            ctx.out.double(*s);
        }
    }
}

/// Flags of ZADD.
#[derive(Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...].
pub fn zadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut f = AddFlags::default();
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        match () {
            _ if is_keyword(a, "nx") => f.nx = true,
            _ if is_keyword(a, "xx") => f.xx = true,
            _ if is_keyword(a, "gt") => f.gt = true,
            _ if is_keyword(a, "lt") => f.lt = true,
            _ if is_keyword(a, "ch") => f.ch = true,
            _ if is_keyword(a, "incr") => f.incr = true,
            _ => break,
        }
        i += 1;
    }
    let pairs = &args[i..];
    if pairs.is_empty() || pairs.len() % 2 == 1 {
        return Err(CmdError::Syntax);
    }
    if f.nx && f.xx {
        return Err(CmdError::err(
            "XX and NX options at the same time are not compatible",
        ));
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return Err(CmdError::err(
            "GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && pairs.len() > 2 {
        return Err(CmdError::err(
            "INCR option supports a single increment-element pair",
        ));
    }
    let scores = pairs
        .chunks(2)
        .map(|p| score_arg(&p[0]))
        .collect::<Result<Vec<f64>, CmdError>>()?;
    let (count, incr_result, wrote) = ctx.db().edit(&args[1], ctx.now(), |cur| {
        let z = Value::as_zset(cur)?;
        let mut edits = Vec::new();
        let mut pending: std::collections::HashMap<&[u8], f64> = std::collections::HashMap::new();
        let (mut added, mut changed) = (0, 0);
        let mut result = None;
        for (p, &score) in pairs.chunks(2).zip(&scores) {
            let m = &p[1][..];
            let cur = pending
                .get(m)
                .copied()
                .or_else(|| z.and_then(|z| z.score(m)));
            let new = match (cur, f.incr) {
                (Some(c), true) => c + score,
                _ => score,
            };
            if new.is_nan() {
                return Err(EngineError::Refused(
                    "resulting score is not a number (NaN)",
                ));
            }
            let apply = match cur {
                None => !f.xx,
                Some(c) => !f.nx && (!f.gt || new > c) && (!f.lt || new < c),
            };
            if !apply {
                continue;
            }
            match cur {
                None => added += 1,
                Some(c) if c != new => changed += 1,
                Some(_) => {}
            }
            result = Some(new);
            if cur == Some(new) {
                continue;
            }
            pending.insert(m, new);
            edits.push(Edit::ZAdd {
                member: p[1].clone(),
                score: new,
            });
        }
        let count = if f.ch { added + changed } else { added };
        let wrote = added + changed > 0;
        Ok(((count, result, wrote), edits))
    })?;
    if wrote {
        ctx.notify(ZSET, if f.incr { "zincr" } else { "zadd" }, &args[1]);
    }
    if f.incr {
        match incr_result {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    } else {
        ctx.out.int(count);
    }
    Ok(())
}

/// ZINCRBY key increment member.
pub fn zincrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let delta = score_arg(&args[2])?;
    let m = &args[3];
    let v = ctx.db().edit(&args[1], ctx.now(), |cur| {
        let base = Value::as_zset(cur)?.and_then(|z| z.score(m)).unwrap_or(0.0);
        let v = base + delta;
        if v.is_nan() {
            return Err(EngineError::Refused(
                "resulting score is not a number (NaN)",
            ));
        }
        Ok((
            v,
            vec![Edit::ZAdd {
                member: m.clone(),
                score: v,
            }],
        ))
    })?;
    ctx.notify(ZSET, "zincr", &args[1]);
    ctx.out.double(v);
    Ok(())
}

/// ZREM key member [member ...].
pub fn zrem(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (n, emptied) = ctx.db().edit(&args[1], ctx.now(), |cur| {
        let Some(z) = Value::as_zset(cur)? else {
            return Ok(((0, false), vec![]));
        };
        let mut seen = std::collections::HashSet::new();
        let edits: Vec<Edit<Bytes>> = args[2..]
            .iter()
            .filter(|m| z.score(m).is_some() && seen.insert(&m[..]))
            .map(|m| Edit::ZRem { member: m.clone() })
            .collect();
        Ok((
            (edits.len(), !edits.is_empty() && edits.len() == z.len()),
            edits,
        ))
    })?;
    if n > 0 {
        notify(ctx, "zrem", &args[1], emptied);
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// ZCARD key.
pub fn zcard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = read(ctx, &args[1], |z| z.map_or(0, |z| z.len()))?;
    ctx.out.int(n as i64);
    Ok(())
}

/// ZSCORE key member.
pub fn zscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match read(ctx, &args[1], |z| z.and_then(|z| z.score(&args[2])))? {
        Some(s) => ctx.out.double(s),
        None => ctx.out.null(),
    }
    Ok(())
}

/// ZMSCORE key member [member ...].
pub fn zmscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let scores: Vec<Option<f64>> = read(ctx, &args[1], |z| {
        args[2..]
            .iter()
            .map(|m| z.and_then(|z| z.score(m)))
            .collect()
    })?;
    ctx.out.array(scores.len());
    for s in scores {
        match s {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn rank_generic(ctx: &mut Ctx<'_>, args: &[Bytes], rev: bool) -> CmdResult {
    let withscore = match args.len() {
        3 => false,
        4 if is_keyword(&args[3], "withscore") => true,
        4 => return Err(CmdError::Syntax),
        _ => return Err(CmdError::WrongArity(ctx.conn.last_cmd)),
    };
    let found = read(ctx, &args[1], |z| {
        let z = z?;
        let r = z.rank(&args[2])?;
        let r = if rev { z.len() - 1 - r } else { r };
        Some((r, z.score(&args[2]).unwrap_or(0.0)))
    })?;
    match (found, withscore) {
        (Some((r, s)), true) => {
            ctx.out.array(2);
            ctx.out.int(r as i64);
            ctx.out.double(s);
        }
        (Some((r, _)), false) => ctx.out.int(r as i64),
        (None, true) => ctx.out.null_array(),
        (None, false) => ctx.out.null(),
    }
    Ok(())
}

/// ZRANK key member [WITHSCORE].
pub fn zrank(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    rank_generic(ctx, args, false)
}

/// ZREVRANK key member [WITHSCORE].
pub fn zrevrank(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    rank_generic(ctx, args, true)
}

/// ZCOUNT key min max.
pub fn zcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (lo, hi) = (score_bound(&args[2])?, score_bound(&args[3])?);
    let n = read(ctx, &args[1], |z| {
        z.map_or(0, |z| z.by_score(lo, hi).count())
    })?;
    ctx.out.int(n as i64);
    Ok(())
}

/// ZLEXCOUNT key min max.
pub fn zlexcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (lo, hi) = (lex_bound(&args[2])?, lex_bound(&args[3])?);
    let n = read(ctx, &args[1], |z| {
        z.map_or(0, |z| {
            z.ordered()
                .filter(|(m, _)| above(&lo, m) && below(&hi, m))
                .count()
        })
    })?;
    ctx.out.int(n as i64);
    Ok(())
}

/// Parses ZRANGE's `min max [BYSCORE | BYLEX] [REV] [LIMIT o c]
/// [WITHSCORES]` at `args[at..]` (`store`: ZRANGESTORE, no WITHSCORES).
fn parse_zrange(args: &[Bytes], at: usize, store: bool) -> Result<(Range, bool), CmdError> {
    let (mut byscore, mut bylex, mut rev, mut withscores) = (false, false, false, false);
    let mut limit = None;
    let mut i = at + 2;
    while i < args.len() {
        let a = &args[i];
        if !store && is_keyword(a, "withscores") {
            withscores = true;
        } else if is_keyword(a, "byscore") {
            byscore = true;
        } else if is_keyword(a, "bylex") {
            bylex = true;
        } else if is_keyword(a, "rev") {
            rev = true;
        } else if is_keyword(a, "limit") && i + 2 < args.len() {
            limit = Some((int_arg(&args[i + 1])?, int_arg(&args[i + 2])?));
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if byscore && bylex {
        return Err(CmdError::Syntax);
    }
    if limit.is_some() && !byscore && !bylex {
        return Err(CmdError::err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && bylex {
        return Err(CmdError::err(
            "syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    // With REV, BYSCORE and BYLEX take the maximum first.
    let (a, b) = if rev && (byscore || bylex) {
        (&args[at + 1], &args[at])
    } else {
        (&args[at], &args[at + 1])
    };
    let by = if byscore {
        By::Score(score_bound(a)?, score_bound(b)?)
    } else if bylex {
        By::Lex(lex_bound(a)?, lex_bound(b)?)
    } else {
        By::Rank(int_arg(a)?, int_arg(b)?)
    };
    Ok((Range { by, rev, limit }, withscores))
}

fn range_reply(ctx: &mut Ctx<'_>, key: &[u8], r: &Range, withscores: bool) -> CmdResult {
    let items = read(ctx, key, |z| z.map(|z| select(z, r)).unwrap_or_default())?;
    reply_members(ctx, &items, withscores);
    Ok(())
}

/// ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES].
pub fn zrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (r, withscores) = parse_zrange(args, 2, false)?;
    range_reply(ctx, &args[1], &r, withscores)
}

/// ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count].
pub fn zrangestore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (r, _) = parse_zrange(args, 3, true)?;
    let keys = [&args[1][..], &args[2][..]];
    let (n, existed) = ctx.db().edit_keys(&keys, ctx.now(), |vals| {
        let items = Value::as_zset(vals[1].as_ref())?
            .map(|z| select(z, &r))
            .unwrap_or_default();
        Ok(((items.len(), vals[0].is_some()), store_edits(0, &items)))
    })?;
    store_notify(ctx, &args[1], n, existed, "zrangestore");
    ctx.out.int(n as i64);
    Ok(())
}

/// The edits that replace key `i` with `items`.
pub(super) fn store_edits(i: usize, items: &[(Bytes, f64)]) -> Edits {
    let mut edits = vec![(i, Edit::Delete)];
    edits.extend(items.iter().map(|(m, s)| {
        (
            i,
            Edit::ZAdd {
                member: m.clone(),
                score: *s,
            },
        )
    }));
    edits
}

fn store_notify(ctx: &Ctx<'_>, dst: &[u8], n: usize, existed: bool, event: &str) {
    if n > 0 {
        ctx.notify(ZSET, event, dst);
    } else if existed {
        ctx.notify(GENERIC, "del", dst);
    }
}

/// Parses `min max [WITHSCORES] [LIMIT offset count]` of the legacy
/// range commands.
fn legacy_range(
    args: &[Bytes],
    by: impl Fn(&Bytes, &Bytes) -> Result<By, CmdError>,
    rev: bool,
    scores_ok: bool,
) -> Result<(Range, bool), CmdError> {
    let mut withscores = false;
    let mut limit = None;
    let mut i = 4;
    while i < args.len() {
        if scores_ok && is_keyword(&args[i], "withscores") {
            withscores = true;
            i += 1;
        } else if is_keyword(&args[i], "limit") && i + 2 < args.len() {
            limit = Some((int_arg(&args[i + 1])?, int_arg(&args[i + 2])?));
            i += 3;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let by = by(&args[2], &args[3])?;
    Ok((Range { by, rev, limit }, withscores))
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count].
pub fn zrangebyscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (r, w) = legacy_range(
        args,
        |a, b| Ok(By::Score(score_bound(a)?, score_bound(b)?)),
        false,
        true,
    )?;
    range_reply(ctx, &args[1], &r, w)
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count].
pub fn zrevrangebyscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (r, w) = legacy_range(
        args,
        |a, b| Ok(By::Score(score_bound(b)?, score_bound(a)?)),
        true,
        true,
    )?;
    range_reply(ctx, &args[1], &r, w)
}

/// ZRANGEBYLEX key min max [LIMIT offset count].
pub fn zrangebylex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (r, _) = legacy_range(
        args,
        |a, b| Ok(By::Lex(lex_bound(a)?, lex_bound(b)?)),
        false,
        false,
    )?;
    range_reply(ctx, &args[1], &r, false)
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count].
pub fn zrevrangebylex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (r, _) = legacy_range(
        args,
        |a, b| Ok(By::Lex(lex_bound(b)?, lex_bound(a)?)),
        true,
        false,
    )?;
    range_reply(ctx, &args[1], &r, false)
}

/// ZREVRANGE key start stop [WITHSCORES].
pub fn zrevrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let withscores = match args.get(4) {
        None => false,
        Some(a) if args.len() == 5 && is_keyword(a, "withscores") => true,
        Some(_) => return Err(CmdError::Syntax),
    };
    let r = Range {
        by: By::Rank(int_arg(&args[2])?, int_arg(&args[3])?),
        rev: true,
        limit: None,
    };
    range_reply(ctx, &args[1], &r, withscores)
}

fn remrange(ctx: &mut Ctx<'_>, args: &[Bytes], by: By, event: &str) -> CmdResult {
    let r = Range {
        by,
        rev: false,
        limit: None,
    };
    let (n, emptied) = ctx.db().edit(&args[1], ctx.now(), |cur| {
        let Some(z) = Value::as_zset(cur)? else {
            return Ok(((0, false), vec![]));
        };
        let gone = select(z, &r);
        let edits: Vec<Edit<Bytes>> = gone
            .iter()
            .map(|(m, _)| Edit::ZRem { member: m.clone() })
            .collect();
        Ok((
            (gone.len(), !gone.is_empty() && gone.len() == z.len()),
            edits,
        ))
    })?;
    if n > 0 {
        notify(ctx, event, &args[1], emptied);
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// ZREMRANGEBYRANK key start stop.
pub fn zremrangebyrank(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let by = By::Rank(int_arg(&args[2])?, int_arg(&args[3])?);
    remrange(ctx, args, by, "zremrangebyrank")
}

/// ZREMRANGEBYSCORE key min max.
pub fn zremrangebyscore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let by = By::Score(score_bound(&args[2])?, score_bound(&args[3])?);
    remrange(ctx, args, by, "zremrangebyscore")
}

/// ZREMRANGEBYLEX key min max.
pub fn zremrangebylex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let by = By::Lex(lex_bound(&args[2])?, lex_bound(&args[3])?);
    remrange(ctx, args, by, "zremrangebylex")
}

/// What a pop took: the key, the members with scores, whether the key
/// was emptied.
type Popped = (Bytes, Vec<(Bytes, f64)>, bool);

/// Pops up to `count` members from the low (`max` false) or high end of
/// the first non-empty sorted set of `keys`: (key, members, emptied).
fn pop_first(
    db: &Db,
    keys: &[Bytes],
    max: bool,
    count: usize,
    now: u64,
) -> Result<Option<Popped>, EngineError> {
    for k in keys {
        let popped = db.edit(k, now, |cur| {
            let Some(z) = Value::as_zset(cur)? else {
                return Ok((None, vec![]));
            };
            let items: Vec<(Bytes, f64)> = if max {
                z.ordered()
                    .rev()
                    .take(count)
                    .map(|(m, s)| (Bytes::copy_from_slice(m), s))
                    .collect()
            } else {
                z.ordered()
                    .take(count)
                    .map(|(m, s)| (Bytes::copy_from_slice(m), s))
                    .collect()
            };
            let emptied = items.len() == z.len();
            let edits = items
                .iter()
                .map(|(m, _)| Edit::ZRem { member: m.clone() })
                .collect();
            Ok((Some((items, emptied)), edits))
        })?;
        if let Some((items, emptied)) = popped {
            return Ok(Some((k.clone(), items, emptied)));
        }
    }
    Ok(None)
}

fn pop_event(max: bool) -> &'static str {
    if max { "zpopmax" } else { "zpopmin" }
}

fn zpop(ctx: &mut Ctx<'_>, args: &[Bytes], max: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match args.get(2) {
        None => None,
        Some(a) => Some(
            parse_i64(a)
                .filter(|&n| n >= 0)
                .ok_or_else(|| CmdError::err("value is out of range, must be positive"))?
                as usize,
        ),
    };
    let popped = if count == Some(0) {
        // Type-checked, nothing popped.
        read(ctx, &args[1], |_| ())?;
        None
    } else {
        pop_first(ctx.db(), &args[1..2], max, count.unwrap_or(1), ctx.now())?
    };
    let items = match popped {
        Some((k, items, emptied)) => {
            notify(ctx, pop_event(max), &k, emptied);
            items
        }
        None => Vec::new(),
    };
    let nested = count.is_some() && ctx.out.protocol() == Protocol::Resp3;
    if nested {
        reply_members(ctx, &items, true);
    } else {
        ctx.out.array(items.len() * 2);
        for (m, s) in &items {
            ctx.out.bulk(m);
            ctx.out.double(*s);
        }
    }
    Ok(())
}

/// ZPOPMIN key [count].
pub fn zpopmin(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    zpop(ctx, args, false)
}

/// ZPOPMAX key [count].
pub fn zpopmax(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    zpop(ctx, args, true)
}

/// Parsed `numkeys key... MIN|MAX [COUNT n]` of ZMPOP/BZMPOP at `args[at]`.
fn parse_zmpop(args: &[Bytes], at: usize) -> Result<(&[Bytes], bool, usize), CmdError> {
    super::collection::keys_side_count(args, at, |a| {
        if is_keyword(a, "max") {
            Some(true)
        } else if is_keyword(a, "min") {
            Some(false)
        } else {
            None
        }
    })
}

fn mpop_reply(ctx: &mut Ctx<'_>, max: bool, popped: Option<Popped>) {
    match popped {
        Some((k, items, emptied)) => {
            notify(ctx, pop_event(max), &k, emptied);
            ctx.out.array(2);
            ctx.out.bulk(&k);
            ctx.out.array(items.len());
            for (m, s) in items {
                ctx.out.array(2);
                ctx.out.bulk(&m);
                ctx.out.double(s);
            }
        }
        None => ctx.out.null_array(),
    }
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count].
pub fn zmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (keys, max, count) = parse_zmpop(args, 1)?;
    let popped = pop_first(ctx.db(), keys, max, count, ctx.now())?;
    mpop_reply(ctx, max, popped);
    Ok(())
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count].
pub fn bzmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let wait: Option<Duration> = timeout(&args[1])?;
    let (keys, max, count) = parse_zmpop(args, 2)?;
    match pop_first(ctx.db(), keys, max, count, ctx.now())? {
        Some(p) => mpop_reply(ctx, max, Some(p)),
        None => block(ctx, keys, wait, true),
    }
    Ok(())
}

fn bzpop(ctx: &mut Ctx<'_>, args: &[Bytes], max: bool) -> CmdResult {
    let wait = timeout(&args[args.len() - 1])?;
    let keys = &args[1..args.len() - 1];
    match pop_first(ctx.db(), keys, max, 1, ctx.now())? {
        Some((k, items, emptied)) => {
            notify(ctx, pop_event(max), &k, emptied);
            ctx.out.array(3);
            ctx.out.bulk(&k);
            ctx.out.bulk(&items[0].0);
            ctx.out.double(items[0].1);
        }
        None => block(ctx, keys, wait, true),
    }
    Ok(())
}

/// BZPOPMIN key [key ...] timeout.
pub fn bzpopmin(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    bzpop(ctx, args, false)
}

/// BZPOPMAX key [key ...] timeout.
pub fn bzpopmax(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    bzpop(ctx, args, true)
}

/// ZRANDMEMBER key [count [WITHSCORES]].
pub fn zrandmember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() == 2 {
        let pick = read(ctx, &args[1], |z| {
            z.and_then(|z| {
                z.get_index(fastrand::usize(..z.len()))
                    .map(|(m, _)| Bytes::copy_from_slice(m))
            })
        })?;
        match pick {
            Some(m) => ctx.out.bulk(&m),
            None => ctx.out.null(),
        }
        return Ok(());
    }
    let count = int_arg(&args[2])?;
    let withscores = match args.get(3) {
        None => false,
        Some(a) if args.len() == 4 && is_keyword(a, "withscores") => true,
        Some(_) => return Err(CmdError::Syntax),
    };
    if count == i64::MIN || (withscores && count.unsigned_abs() > (i64::MAX / 2) as u64) {
        return Err(CmdError::err("value is out of range"));
    }
    let picks: Vec<(Bytes, f64)> = read(ctx, &args[1], |z| {
        let Some(z) = z else { return Vec::new() };
        random_positions(z.len(), count)
            .into_iter()
            .filter_map(|i| z.get_index(i).map(|(m, s)| (Bytes::copy_from_slice(m), s)))
            .collect()
    })?;
    reply_members(ctx, &picks, withscores);
    Ok(())
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count] [NOSCORES].
pub fn zscan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let a = scan_args(args, true)?;
    let (next, items) = read(ctx, &args[1], |z| {
        let Some(z) = z else { return (0, Vec::new()) };
        let (range, next) = scan_step(z.len(), &a);
        let mut items = Vec::new();
        for i in range {
            if let Some((m, s)) = z.get_index(i)
                && matches(&a, m)
            {
                items.push(Bytes::copy_from_slice(m));
                if !a.novalues {
                    items.push(Bytes::from(format_double(s)));
                }
            }
        }
        (next, items)
    })?;
    scan_reply(ctx, next, &items);
    Ok(())
}

/// Which combination of sorted sets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

/// How scores of a member in several inputs combine.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
    Count,
}

/// Parsed `numkeys key... [WEIGHTS w...] [AGGREGATE a] [WITHSCORES]` at
/// `args[at]`.
struct Combine<'a> {
    keys: &'a [Bytes],
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
}

fn parse_combine<'a>(
    ctx: &Ctx<'_>,
    args: &'a [Bytes],
    at: usize,
    op: SetOp,
    store: bool,
) -> Result<Combine<'a>, CmdError> {
    let n = int_arg(&args[at])?;
    if n < 1 {
        return Err(CmdError::err(format!(
            "at least 1 input key is needed for '{}' command",
            ctx.conn.last_cmd
        )));
    }
    let n = n as usize;
    if n > args.len() - at - 1 {
        return Err(CmdError::Syntax);
    }
    let keys = &args[at + 1..at + 1 + n];
    let mut c = Combine {
        keys,
        weights: vec![1.0; n],
        aggregate: Aggregate::Sum,
        withscores: false,
    };
    let mut i = at + 1 + n;
    while i < args.len() {
        let rest = args.len() - i;
        let a = &args[i];
        if op != SetOp::Diff && rest > n && is_keyword(a, "weights") {
            for (w, arg) in c.weights.iter_mut().zip(&args[i + 1..i + 1 + n]) {
                *w = parse_f64(arg)
                    .filter(|w| !w.is_nan())
                    .ok_or_else(|| CmdError::err("weight value is not a float"))?;
            }
            i += 1 + n;
        } else if op != SetOp::Diff && rest >= 2 && is_keyword(a, "aggregate") {
            let v = &args[i + 1];
            c.aggregate = match () {
                _ if is_keyword(v, "sum") => Aggregate::Sum,
                _ if is_keyword(v, "min") => Aggregate::Min,
                _ if is_keyword(v, "max") => Aggregate::Max,
                _ if is_keyword(v, "count") => Aggregate::Count,
                _ => return Err(CmdError::Syntax),
            };
            i += 2;
        } else if !store && is_keyword(a, "withscores") {
            c.withscores = true;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(c)
}

/// An input of ZUNION & co: a sorted set, or a set (every score 1).
enum Input<'v> {
    Z(&'v ZSetValue),
    S(&'v vexlake_engine::keyspace::set::SetValue),
}

impl Input<'_> {
    fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            Input::Z(z) => z.score(m),
            Input::S(s) => s.contains(m).then_some(1.0),
        }
    }

    fn len(&self) -> usize {
        match self {
            Input::Z(z) => z.len(),
            Input::S(s) => s.len(),
        }
    }

    fn members(&self) -> Vec<(Bytes, f64)> {
        match self {
            Input::Z(z) => z
                .iter()
                .map(|(m, s)| (Bytes::copy_from_slice(m), s))
                .collect(),
            Input::S(s) => s.iter().map(|m| (Bytes::copy_from_slice(m), 1.0)).collect(),
        }
    }
}

fn inputs(vals: &[Option<Value>]) -> Result<Vec<Option<Input<'_>>>, EngineError> {
    vals.iter()
        .map(|v| match v {
            None => Ok(None),
            Some(Value::ZSet(z)) => Ok(Some(Input::Z(z))),
            Some(Value::Set(s)) => Ok(Some(Input::S(s))),
            Some(_) => Err(EngineError::WrongType),
        })
        .collect()
}

fn weighted(score: f64, weight: f64, agg: Aggregate) -> f64 {
    let v = if agg == Aggregate::Count {
        weight
    } else {
        weight * score
    };
    if v.is_nan() { 0.0 } else { v }
}

fn aggregate(acc: f64, v: f64, agg: Aggregate) -> f64 {
    let r = match agg {
        Aggregate::Sum | Aggregate::Count => acc + v,
        Aggregate::Min => acc.min(v),
        Aggregate::Max => acc.max(v),
    };
    if r.is_nan() { 0.0 } else { r }
}

/// The members of `op` over the inputs, sorted by (score, member); at
/// most `limit` for INTER (0: all).
fn combine(
    op: SetOp,
    ins: &[Option<Input<'_>>],
    c: &Combine<'_>,
    limit: usize,
) -> Vec<(Bytes, f64)> {
    let mut out: Vec<(Bytes, f64)> = Vec::new();
    match op {
        SetOp::Union => {
            let mut acc: std::collections::HashMap<Bytes, f64> = std::collections::HashMap::new();
            for (inp, &w) in ins.iter().zip(&c.weights) {
                let Some(inp) = inp else { continue };
                for (m, s) in inp.members() {
                    let v = weighted(s, w, c.aggregate);
                    match acc.get_mut(&m) {
                        Some(a) => *a = aggregate(*a, v, c.aggregate),
                        None => {
                            acc.insert(m, v);
                        }
                    }
                }
            }
            out.extend(acc);
        }
        SetOp::Inter => {
            if ins.iter().any(Option::is_none) {
                return Vec::new();
            }
            let all: Vec<(&Input<'_>, f64)> = ins
                .iter()
                .flatten()
                .zip(c.weights.iter().copied())
                .collect();
            let Some(smallest) = (0..all.len()).min_by_key(|&i| all[i].0.len()) else {
                return Vec::new();
            };
            for (m, _) in all[smallest].0.members() {
                let mut score = None;
                for (inp, w) in &all {
                    match inp.score(&m) {
                        Some(s) => {
                            let v = weighted(s, *w, c.aggregate);
                            score = Some(score.map_or(v, |a| aggregate(a, v, c.aggregate)));
                        }
                        None => {
                            score = None;
                            break;
                        }
                    }
                }
                if let Some(s) = score {
                    out.push((m, s));
                    if limit > 0 && out.len() >= limit {
                        break;
                    }
                }
            }
        }
        SetOp::Diff => {
            let Some(Some(first)) = ins.first() else {
                return Vec::new();
            };
            out = first
                .members()
                .into_iter()
                .filter(|(m, _)| !ins[1..].iter().flatten().any(|i| i.score(m).is_some()))
                .collect();
        }
    }
    out.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    out
}

fn combine_read(ctx: &mut Ctx<'_>, args: &[Bytes], op: SetOp) -> CmdResult {
    let c = parse_combine(ctx, args, 1, op, false)?;
    let keys: Vec<&[u8]> = c.keys.iter().map(|k| &k[..]).collect();
    let items = ctx.db().edit_keys(&keys, ctx.now(), |vals| {
        Ok((combine(op, &inputs(vals)?, &c, 0), vec![]))
    })?;
    reply_members(ctx, &items, c.withscores);
    Ok(())
}

fn combine_store(ctx: &mut Ctx<'_>, args: &[Bytes], op: SetOp, event: &str) -> CmdResult {
    let c = parse_combine(ctx, args, 2, op, true)?;
    let mut keys: Vec<&[u8]> = vec![&args[1][..]];
    keys.extend(c.keys.iter().map(|k| &k[..]));
    let (n, existed) = ctx.db().edit_keys(&keys, ctx.now(), |vals| {
        let items = combine(op, &inputs(&vals[1..])?, &c, 0);
        Ok(((items.len(), vals[0].is_some()), store_edits(0, &items)))
    })?;
    store_notify(ctx, &args[1], n, existed, event);
    ctx.out.int(n as i64);
    Ok(())
}

/// ZUNION numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX|COUNT] [WITHSCORES].
pub fn zunion(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    combine_read(ctx, args, SetOp::Union)
}

/// ZINTER numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE ...] [WITHSCORES].
pub fn zinter(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    combine_read(ctx, args, SetOp::Inter)
}

/// ZDIFF numkeys key [key ...] [WITHSCORES].
pub fn zdiff(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    combine_read(ctx, args, SetOp::Diff)
}

/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...].
pub fn zunionstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    combine_store(ctx, args, SetOp::Union, "zunionstore")
}

/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...].
pub fn zinterstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    combine_store(ctx, args, SetOp::Inter, "zinterstore")
}

/// ZDIFFSTORE destination numkeys key [key ...].
pub fn zdiffstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    combine_store(ctx, args, SetOp::Diff, "zdiffstore")
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit].
pub fn zintercard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (keys, limit) = super::collection::keys_and_limit(args)?;
    let n = keys.len();
    let c = Combine {
        keys,
        weights: vec![1.0; n],
        aggregate: Aggregate::Sum,
        withscores: false,
    };
    let keys: Vec<&[u8]> = c.keys.iter().map(|k| &k[..]).collect();
    let items = ctx.db().edit_keys(&keys, ctx.now(), |vals| {
        Ok((combine(SetOp::Inter, &inputs(vals)?, &c, limit), vec![]))
    })?;
    ctx.out.int(items.len() as i64);
    Ok(())
}

/// The sorted-set commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "zadd",
        arity: -4,
        flags: &["write", "denyoom", "fast"],
        keys: K1,
        acl: &["@write", "@sortedset", "@fast"],
        group: "sorted-set",
        since: "1.2.0",
        summary: "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.",
        complexity: "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
        syntax: "key [NX | XX] [GT | LT] [CH] [INCR] score:double member [score:double member ...]",
        handler: zadd,
        ..BASE
    },
    CommandSpec {
        name: "zincrby",
        arity: 4,
        flags: &["write", "denyoom", "fast"],
        keys: K1,
        acl: &["@write", "@sortedset", "@fast"],
        group: "sorted-set",
        since: "1.2.0",
        summary: "Increments the score of a member in a sorted set.",
        complexity: "O(log(N)) where N is the number of elements in the sorted set.",
        syntax: "key increment:integer member",
        handler: zincrby,
        ..BASE
    },
    CommandSpec {
        name: "zrem",
        arity: -3,
        flags: &["write", "fast"],
        keys: K1,
        acl: &["@write", "@sortedset", "@fast"],
        group: "sorted-set",
        since: "1.2.0",
        summary: "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.",
        complexity: "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.",
        syntax: "key member [member ...]",
        handler: zrem,
        ..BASE
    },
    CommandSpec {
        name: "zcard",
        arity: 2,
        flags: &["readonly", "fast"],
        keys: K1,
        acl: &["@read", "@sortedset", "@fast"],
        group: "sorted-set",
        since: "1.2.0",
        summary: "Returns the number of members in a sorted set.",
        complexity: "O(1)",
        syntax: "key",
        handler: zcard,
        ..BASE
    },
    CommandSpec {
        name: "zscore",
        arity: 3,
        flags: &["readonly", "fast"],
        keys: K1,
        acl: &["@read", "@sortedset", "@fast"],
        group: "sorted-set",
        since: "1.2.0",
        summary: "Returns the score of a member in a sorted set.",
        complexity: "O(1)",
        syntax: "key member",
        handler: zscore,
        ..BASE
    },
    CommandSpec {
        name: "zmscore",
        arity: -3,
        flags: &["readonly", "fast"],
        keys: K1,
        acl: &["@read", "@sortedset", "@fast"],
        group: "sorted-set",
        since: "6.2.0",
        summary: "Returns the score of one or more members in a sorted set.",
        complexity: "O(N) where N is the number of members being requested.",
        syntax: "key member [member ...]",
        handler: zmscore,
        ..BASE
    },
    CommandSpec {
        name: "zrank",
        arity: -3,
        flags: &["readonly", "fast"],
        keys: K1,
        acl: &["@read", "@sortedset", "@fast"],
        group: "sorted-set",
        since: "2.0.0",
        summary: "Returns the index of a member in a sorted set ordered by ascending scores.",
        complexity: "O(log(N))",
        syntax: "key member [WITHSCORE]",
        handler: zrank,
        ..BASE
    },
    CommandSpec {
        name: "zrevrank",
        arity: -3,
        flags: &["readonly", "fast"],
        keys: K1,
        acl: &["@read", "@sortedset", "@fast"],
        group: "sorted-set",
        since: "2.0.0",
        summary: "Returns the index of a member in a sorted set ordered by descending scores.",
        complexity: "O(log(N))",
        syntax: "key member [WITHSCORE]",
        handler: zrevrank,
        ..BASE
    },
    CommandSpec {
        name: "zcount",
        arity: 4,
        flags: &["readonly", "fast"],
        keys: K1,
        acl: &["@read", "@sortedset", "@fast"],
        group: "sorted-set",
        since: "2.0.0",
        summary: "Returns the count of members in a sorted set that have scores within a range.",
        complexity: "O(log(N)) with N being the number of elements in the sorted set.",
        syntax: "key min:double max:double",
        handler: zcount,
        ..BASE
    },
    CommandSpec {
        name: "zlexcount",
        arity: 4,
        flags: &["readonly", "fast"],
        keys: K1,
        acl: &["@read", "@sortedset", "@fast"],
        group: "sorted-set",
        since: "2.8.9",
        summary: "Returns the number of members in a sorted set within a lexicographical range.",
        complexity: "O(log(N)) with N being the number of elements in the sorted set.",
        syntax: "key min:string max:string",
        handler: zlexcount,
        ..BASE
    },
    CommandSpec {
        name: "zrange",
        arity: -4,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@sortedset", "@slow"],
        group: "sorted-set",
        since: "1.2.0",
        summary: "Returns members in a sorted set within a range of indexes.",
        complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.",
        syntax: "key start:string stop:string [BYSCORE | BYLEX] [REV] [LIMIT offset:integer count:integer] [WITHSCORES]",
        handler: zrange,
        ..BASE
    },
    CommandSpec {
        name: "zrangestore",
        arity: -5,
        flags: &["write", "denyoom"],
        keys: (1, 2, 1),
        acl: &["@write", "@sortedset", "@slow"],
        group: "sorted-set",
        since: "6.2.0",
        summary: "Stores a range of members from sorted set in a key.",
        complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.",
        syntax: "dst src min:string max:string [BYSCORE | BYLEX] [REV] [LIMIT offset:integer count:integer]",
        handler: zrangestore,
        ..BASE
    },
    CommandSpec {
        name: "zrangebyscore",
        arity: -4,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@sortedset", "@slow"],
        group: "sorted-set",
        since: "1.0.5",
        summary: "Returns members in a sorted set within a range of scores.",
        complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned.",
        syntax: "key min:double max:double [WITHSCORES] [LIMIT offset:integer count:integer]",
        handler: zrangebyscore,
        ..BASE
    },
    CommandSpec {
        name: "zrevrangebyscore",
        arity: -4,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@sortedset", "@slow"],
        group: "sorted-set",
        since: "2.2.0",
        summary: "Returns members in a sorted set within a range of scores in reverse order.",
        complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned.",
        syntax: "key max:double min:double [WITHSCORES] [LIMIT offset:integer count:integer]",
        handler: zrevrangebyscore,
        ..BASE
    },
    CommandSpec {
        name: "zrangebylex",
        arity: -4,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@sortedset", "@slow"],
        group: "sorted-set",
        since: "2.8.9",
        summary: "Returns members in a sorted set within a lexicographical range.",
        complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned.",
        syntax: "key min:string max:string [LIMIT offset:integer count:integer]",
        handler: zrangebylex,
        ..BASE
    },
    CommandSpec {
        name: "zrevrangebylex",
        arity: -4,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@sortedset", "@slow"],
        group: "sorted-set",
        since: "2.8.9",
        summary: "Returns members in a sorted set within a lexicographical range in reverse order.",
        complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned.",
        syntax: "key max:string min:string [LIMIT offset:integer count:integer]",
        handler: zrevrangebylex,
        ..BASE
    },
    CommandSpec {
        name: "zrevrange",
        arity: -4,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@sortedset", "@slow"],
        group: "sorted-set",
        since: "1.2.0",
        summary: "Returns members in a sorted set within a range of indexes in reverse order.",
        complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.",
        syntax: "key start:integer stop:integer [WITHSCORES]",
        handler: zrevrange,
        ..BASE
    },
    CommandSpec {
        name: "zremrangebyrank",
        arity: 4,
        flags: &["write"],
        keys: K1,
        acl: &["@write", "@sortedset", "@slow"],
        group: "sorted-set",
        since: "2.0.0",
        summary: "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.",
        complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.",
        syntax: "key start:integer stop:integer",
        handler: zremrangebyrank,
        ..BASE
    },
    CommandSpec {
        name: "zremrangebyscore",
        arity: 4,
        flags: &["write"],
        keys: K1,
        acl: &["@write", "@sortedset", "@slow"],
        group: "sorted-set",
        since: "1.2.0",
        summary: "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.",
        complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.",
        syntax: "key min:double max:double",
        handler: zremrangebyscore,
        ..BASE
    },
    CommandSpec {
        name: "zremrangebylex",
        arity: 4,
        flags: &["write"],
        keys: K1,
        acl: &["@write", "@sortedset", "@slow"],
        group: "sorted-set",
        since: "2.8.9",
        summary: "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.",
        complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.",
        syntax: "key min:string max:string",
        handler: zremrangebylex,
        ..BASE
    },
    CommandSpec {
        name: "zpopmin",
        arity: -2,
        flags: &["write", "fast"],
        keys: K1,
        acl: &["@write", "@sortedset", "@fast"],
        group: "sorted-set",
        since: "5.0.0",
        summary: "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
        complexity: "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.",
        syntax: "key [count:integer]",
        handler: zpopmin,
        ..BASE
    },
    CommandSpec {
        name: "zpopmax",
        arity: -2,
        flags: &["write", "fast"],
        keys: K1,
        acl: &["@write", "@sortedset", "@fast"],
        group: "sorted-set",
        since: "5.0.0",
        summary: "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
        complexity: "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.",
        syntax: "key [count:integer]",
        handler: zpopmax,
        ..BASE
    },
    CommandSpec {
        name: "zmpop",
        arity: -4,
        flags: &["write", "movablekeys"],
        keys: (0, 0, 0),
        acl: &["@write", "@sortedset", "@slow"],
        group: "sorted-set",
        since: "7.0.0",
        summary: "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.",
        complexity: "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
        syntax: "numkeys:integer key [key ...] (MIN | MAX) [COUNT count:integer]",
        handler: zmpop,
        ..BASE
    },
    CommandSpec {
        name: "bzpopmin",
        arity: -3,
        flags: &["write", "blocking", "fast"],
        keys: (1, -2, 1),
        acl: &["@write", "@sortedset", "@fast", "@blocking"],
        group: "sorted-set",
        since: "5.0.0",
        summary: "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.",
        complexity: "O(log(N)) with N being the number of elements in the sorted set.",
        syntax: "key [key ...] timeout:double",
        handler: bzpopmin,
        ..BASE
    },
    CommandSpec {
        name: "bzpopmax",
        arity: -3,
        flags: &["write", "blocking", "fast"],
        keys: (1, -2, 1),
        acl: &["@write", "@sortedset", "@fast", "@blocking"],
        group: "sorted-set",
        since: "5.0.0",
        summary: "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise. Deletes the sorted set if the last element was popped.",
        complexity: "O(log(N)) with N being the number of elements in the sorted set.",
        syntax: "key [key ...] timeout:double",
        handler: bzpopmax,
        ..BASE
    },
    CommandSpec {
        name: "bzmpop",
        arity: -5,
        flags: &["write", "blocking", "movablekeys"],
        keys: (0, 0, 0),
        acl: &["@write", "@sortedset", "@slow", "@blocking"],
        group: "sorted-set",
        since: "7.0.0",
        summary: "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.",
        complexity: "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
        syntax: "timeout:double numkeys:integer key [key ...] (MIN | MAX) [COUNT count:integer]",
        handler: bzmpop,
        ..BASE
    },
    CommandSpec {
        name: "zrandmember",
        arity: -2,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@sortedset", "@slow"],
        group: "sorted-set",
        since: "6.2.0",
        summary: "Returns one or more random members from a sorted set.",
        complexity: "O(N) where N is the number of members returned",
        syntax: "key [count:integer [WITHSCORES]]",
        handler: zrandmember,
        ..BASE
    },
    CommandSpec {
        name: "zscan",
        arity: -3,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@sortedset", "@slow"],
        group: "sorted-set",
        since: "2.8.0",
        summary: "Iterates over members and scores of a sorted set.",
        complexity: "O(1) for every call. O(N) for a complete iteration.",
        syntax: "key cursor:integer [MATCH pattern:pattern] [COUNT count:integer] [NOSCORES]",
        handler: zscan,
        ..BASE
    },
    CommandSpec {
        name: "zunion",
        arity: -3,
        flags: &["readonly", "movablekeys"],
        keys: (0, 0, 0),
        acl: &["@read", "@sortedset", "@slow"],
        group: "sorted-set",
        since: "6.2.0",
        summary: "Returns the union of multiple sorted sets.",
        complexity: "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.",
        syntax: "numkeys:integer key [key ...] [WEIGHTS weight:integer [weight:integer ...]] [AGGREGATE (SUM | MIN | MAX | COUNT)] [WITHSCORES]",
        handler: zunion,
        ..BASE
    },
    CommandSpec {
        name: "zinter",
        arity: -3,
        flags: &["readonly", "movablekeys"],
        keys: (0, 0, 0),
        acl: &["@read", "@sortedset", "@slow"],
        group: "sorted-set",
        since: "6.2.0",
        summary: "Returns the intersect of multiple sorted sets.",
        complexity: "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.",
        syntax: "numkeys:integer key [key ...] [WEIGHTS weight:integer [weight:integer ...]] [AGGREGATE (SUM | MIN | MAX | COUNT)] [WITHSCORES]",
        handler: zinter,
        ..BASE
    },
    CommandSpec {
        name: "zdiff",
        arity: -3,
        flags: &["readonly", "movablekeys"],
        keys: (0, 0, 0),
        acl: &["@read", "@sortedset", "@slow"],
        group: "sorted-set",
        since: "6.2.0",
        summary: "Returns the difference between multiple sorted sets.",
        complexity: "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.",
        syntax: "numkeys:integer key [key ...] [WITHSCORES]",
        handler: zdiff,
        ..BASE
    },
    CommandSpec {
        name: "zunionstore",
        arity: -4,
        flags: &["write", "denyoom", "movablekeys"],
        keys: (1, 1, 1),
        acl: &["@write", "@sortedset", "@slow"],
        group: "sorted-set",
        since: "2.0.0",
        summary: "Stores the union of multiple sorted sets in a key.",
        complexity: "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.",
        syntax: "destination numkeys:integer key [key ...] [WEIGHTS weight:integer [weight:integer ...]] [AGGREGATE (SUM | MIN | MAX | COUNT)]",
        handler: zunionstore,
        ..BASE
    },
    CommandSpec {
        name: "zinterstore",
        arity: -4,
        flags: &["write", "denyoom", "movablekeys"],
        keys: (1, 1, 1),
        acl: &["@write", "@sortedset", "@slow"],
        group: "sorted-set",
        since: "2.0.0",
        summary: "Stores the intersect of multiple sorted sets in a key.",
        complexity: "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.",
        syntax: "destination numkeys:integer key [key ...] [WEIGHTS weight:integer [weight:integer ...]] [AGGREGATE (SUM | MIN | MAX | COUNT)]",
        handler: zinterstore,
        ..BASE
    },
    CommandSpec {
        name: "zdiffstore",
        arity: -4,
        flags: &["write", "denyoom", "movablekeys"],
        keys: (1, 1, 1),
        acl: &["@write", "@sortedset", "@slow"],
        group: "sorted-set",
        since: "6.2.0",
        summary: "Stores the difference of multiple sorted sets in a key.",
        complexity: "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.",
        syntax: "destination numkeys:integer key [key ...]",
        handler: zdiffstore,
        ..BASE
    },
    CommandSpec {
        name: "zintercard",
        arity: -3,
        flags: &["readonly", "movablekeys"],
        keys: (0, 0, 0),
        acl: &["@read", "@sortedset", "@slow"],
        group: "sorted-set",
        since: "7.0.0",
        summary: "Returns the number of members of the intersect of multiple sorted sets.",
        complexity: "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.",
        syntax: "numkeys:integer key [key ...] [LIMIT limit:integer]",
        handler: zintercard,
        ..BASE
    },
];
