//! Stream commands: XADD XRANGE XREVRANGE XLEN XREAD XREADGROUP XGROUP
//! XACK XACKDEL XPENDING XCLAIM XAUTOCLAIM XINFO XDEL XDELEX XTRIM XSETID,
//! with Redis 8.4's arguments, replies and error texts. Each command
//! decides under the key's lock (with the clock: IDs, delivery times) and
//! returns the [`StreamOp`]s it makes, which the engine journals and
//! applies (see `vexlake_engine::keyspace::stream`). XREAD and XREADGROUP
//! with BLOCK wait like the blocking list commands, their `$` rewritten
//! to the ID it stood for.

use std::time::Duration;

use bytes::Bytes;
use vexlake_engine::EngineError;
use vexlake_engine::keyspace::stream::{StreamId, StreamOp, StreamValue};
use vexlake_engine::keyspace::{Edit, Value};
use vexlake_protocol::Protocol;
use vexlake_protocol::args::{is_keyword, parse_i64};

use super::table::{BASE, CommandSpec, K1};
use super::{CmdResult, Ctx};
use crate::error::CmdError;
use crate::notify::STREAM;

const BAD_ID: &str = "Invalid stream ID specified as stream command argument";

/// Parses `ms-seq`, `ms` (seq = `missing_seq`), and unless `strict`, `-`
/// and `+`.
fn parse_id(a: &[u8], missing_seq: u64, strict: bool) -> Result<StreamId, CmdError> {
    let bad = || CmdError::err(BAD_ID);
    match a {
        b"-" if !strict => return Ok(StreamId::MIN),
        b"+" if !strict => return Ok(StreamId::MAX),
        _ => {}
    }
    if a.len() > 127 {
        return Err(bad());
    }
    let num = |t: &[u8]| {
        std::str::from_utf8(t)
            .ok()
            .filter(|t| !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|t| t.parse::<u64>().ok())
    };
    match a.iter().position(|&c| c == b'-') {
        Some(i) => Ok(StreamId::new(
            num(&a[..i]).ok_or_else(bad)?,
            num(&a[i + 1..]).ok_or_else(bad)?,
        )),
        None => Ok(StreamId::new(num(a).ok_or_else(bad)?, missing_seq)),
    }
}

/// A range bound: `(id` is exclusive.
fn interval(a: &[u8], missing_seq: u64, start: bool) -> Result<StreamId, CmdError> {
    if a.len() > 1 && a[0] == b'(' {
        let id = parse_id(&a[1..], missing_seq, true)?;
        return if start {
            id.next()
                .ok_or_else(|| CmdError::err("invalid start ID for the interval"))
        } else {
            id.prev()
                .ok_or_else(|| CmdError::err("invalid end ID for the interval"))
        };
    }
    parse_id(a, missing_seq, false)
}

fn id_text(id: StreamId) -> Bytes {
    Bytes::from(id.to_string())
}

fn nogroup(key: &[u8], group: &[u8]) -> EngineError {
    EngineError::Line(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(group)
    ))
}

fn read<R>(
    ctx: &Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(Option<&StreamValue>) -> R,
) -> Result<R, CmdError> {
    Ok(ctx
        .db()
        .view(key, ctx.now(), |v| Value::as_stream(v).map(f))?)
}

/// Runs `f` on the stream at `key` under its lock; journals and applies
/// the ops it returns.
fn edit<R>(
    ctx: &Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(Option<&StreamValue>) -> Result<(R, Vec<StreamOp>), EngineError>,
) -> Result<R, CmdError> {
    Ok(ctx.db().edit(key, ctx.now(), |v| {
        let (r, ops) = f(Value::as_stream(v)?)?;
        Ok((
            r,
            ops.iter()
                .map(|op| Edit::Stream { op: op.encode() })
                .collect(),
        ))
    })?)
}

/// `[id, [field, value, ...]]`.
fn reply_entry(ctx: &mut Ctx<'_>, id: StreamId, fields: &[Bytes]) {
    ctx.out.array(2);
    ctx.out.bulk(id.to_string().as_bytes());
    ctx.out.array(fields.len());
    for f in fields {
        ctx.out.bulk(f);
    }
}

type Entries = Vec<(StreamId, Vec<Bytes>)>;

fn reply_entries(ctx: &mut Ctx<'_>, entries: &[(StreamId, Vec<Bytes>)]) {
    ctx.out.array(entries.len());
    for (id, f) in entries {
        reply_entry(ctx, *id, f);
    }
}

/// How trimming treats entries consumer groups still reference.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Refs {
    Keep,
    Del,
    Acked,
}

fn refs_option(a: &[u8]) -> Option<Refs> {
    match () {
        _ if is_keyword(a, "keepref") => Some(Refs::Keep),
        _ if is_keyword(a, "delref") => Some(Refs::Del),
        _ if is_keyword(a, "acked") => Some(Refs::Acked),
        _ => None,
    }
}

#[derive(Clone, Copy)]
enum Strategy {
    MaxLen(u64),
    MinId(StreamId),
}

/// Parsed trimming options of XADD / XTRIM.
struct Trim {
    strategy: Option<Strategy>,
    approx: bool,
    limit: u64,
    refs: Refs,
}

/// Entries per node of Redis's stream layout: `~` trims whole nodes only.
const NODE_ENTRIES: u64 = 100;

/// Parsed XADD options.
struct AddArgs {
    trim: Trim,
    nomkstream: bool,
    /// The ID argument (None: `*`); `Some((id, seq_given))`.
    id: Option<(StreamId, bool)>,
    fields_at: usize,
}

/// Parses XADD (`xadd`) or XTRIM options from `args[2..]`.
fn parse_add_or_trim(args: &[Bytes], xadd: bool) -> Result<AddArgs, CmdError> {
    let mut t = Trim {
        strategy: None,
        approx: false,
        limit: 0,
        refs: Refs::Keep,
    };
    let mut refs_given = false;
    let mut limit_given = false;
    let mut nomkstream = false;
    let mut id = None;
    let mut i = 2;
    let incompatible = || {
        CmdError::err("syntax error, MAXLEN and MINID options at the same time are not compatible")
    };
    while i < args.len() {
        let more = args.len() - 1 - i;
        let a = &args[i];
        if xadd && &a[..] == b"*" {
            break;
        }
        let is_maxlen = is_keyword(a, "maxlen");
        if (is_maxlen || is_keyword(a, "minid")) && more > 0 {
            if t.strategy.is_some() {
                return Err(incompatible());
            }
            t.approx = false;
            let next = &args[i + 1][..];
            if more >= 2 && next == b"~" {
                t.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let v = &args[i + 1];
            t.strategy = Some(if is_maxlen {
                let n = parse_i64(v).ok_or(CmdError::NotInteger)?;
                if n < 0 {
                    return Err(CmdError::err("The MAXLEN argument must be >= 0."));
                }
                Strategy::MaxLen(n as u64)
            } else {
                Strategy::MinId(parse_id(v, 0, true)?)
            });
            i += 2;
            continue;
        }
        if is_keyword(a, "limit") && more > 0 {
            let n = parse_i64(&args[i + 1]).ok_or(CmdError::NotInteger)?;
            if n < 0 {
                return Err(CmdError::err("The LIMIT argument must be >= 0."));
            }
            t.limit = n as u64;
            limit_given = true;
            i += 2;
            continue;
        }
        if let Some(r) = refs_option(a).filter(|_| !refs_given) {
            t.refs = r;
            refs_given = true;
            i += 1;
            continue;
        }
        if xadd && is_keyword(a, "nomkstream") {
            nomkstream = true;
            i += 1;
            continue;
        }
        if xadd {
            // An ID: `ms-seq`, `ms` or `ms-*`.
            let (text, seq_given) = match a.strip_suffix(b"-*") {
                Some(ms) => (ms, false),
                None => (&a[..], true),
            };
            id = Some((parse_id(text, 0, true)?, seq_given));
            break;
        }
        return Err(CmdError::Syntax);
    }
    if t.limit > 0 && t.strategy.is_none() {
        return Err(CmdError::err(
            "syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && t.strategy.is_none() {
        return Err(CmdError::err(
            "syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if limit_given && !t.approx {
        return Err(CmdError::err(
            "syntax error, LIMIT cannot be used without the special ~ option",
        ));
    }
    if !limit_given {
        t.limit = if t.approx { NODE_ENTRIES * 100 } else { 0 };
    }
    Ok(AddArgs {
        trim: t,
        nomkstream,
        id,
        fields_at: i + 1,
    })
}

/// The ops that trim `s` (plus `extra`, an entry being added and not yet
/// in `s`), and how many entries they remove.
fn trim_ops(s: &StreamValue, extra: Option<StreamId>, t: &Trim) -> (Vec<StreamOp>, u64) {
    let Some(strategy) = t.strategy else {
        return (vec![], 0);
    };
    let len = s.len() as u64 + u64::from(extra.is_some());
    let ids = s.entries.keys().copied().chain(extra);
    // Candidates in ID order, as many as the strategy asks.
    let mut candidates: Vec<StreamId> = match strategy {
        Strategy::MaxLen(max) => ids.take(len.saturating_sub(max) as usize).collect(),
        Strategy::MinId(min) => ids.take_while(|id| *id < min).collect(),
    };
    if t.approx {
        // Whole nodes only: runs of NODE_ENTRIES from the first entry (the
        // last one shorter), each removed only if all its entries may go
        // and the LIMIT is not passed.
        let k = candidates.len() as u64;
        let mut cut = 0;
        while cut < len {
            let node = NODE_ENTRIES.min(len - cut);
            if cut + node > k || (t.limit > 0 && cut + node > t.limit) {
                break;
            }
            cut += node;
        }
        candidates.truncate(cut as usize);
    }
    let mut ops = Vec::new();
    let removed: Vec<StreamId> = match t.refs {
        Refs::Acked => candidates
            .into_iter()
            .filter(|id| !s.is_referenced(*id))
            .collect(),
        _ => candidates,
    };
    if removed.is_empty() {
        return (ops, 0);
    }
    if t.refs == Refs::Del {
        ops.push(StreamOp::AckAll {
            ids: removed.clone(),
        });
    }
    let n = removed.len() as u64;
    if t.refs == Refs::Acked {
        ops.push(StreamOp::Del { ids: removed });
    } else {
        let last = *removed.last().expect("not empty");
        ops.push(StreamOp::TrimBelow {
            id: last.next().unwrap_or(StreamId::MAX),
        });
    }
    (ops, n)
}

/// The ID XADD gives a new entry, or its error.
fn next_id(
    s: Option<&StreamValue>,
    given: Option<(StreamId, bool)>,
    now: u64,
) -> Result<StreamId, EngineError> {
    let last = s.map_or(StreamId::MIN, |s| s.last_id);
    if last == StreamId::MAX {
        return Err(EngineError::Refused(
            "The stream has exhausted the last possible ID, unable to add more items",
        ));
    }
    let smaller = || {
        EngineError::Refused(
            "The ID specified in XADD is equal or smaller than the target stream top item",
        )
    };
    match given {
        None => Ok(if now > last.ms {
            StreamId::new(now, 0)
        } else {
            last.next().expect("checked above")
        }),
        Some((id, true)) => {
            if id <= last {
                Err(smaller())
            } else {
                Ok(id)
            }
        }
        Some((id, false)) => {
            if id.ms > last.ms {
                Ok(StreamId::new(id.ms, 0))
            } else if id.ms == last.ms {
                last.seq
                    .checked_add(1)
                    .map(|seq| StreamId::new(id.ms, seq))
                    .ok_or_else(smaller)
            } else {
                Err(smaller())
            }
        }
    }
}

/// XADD key [NOMKSTREAM] [KEEPREF | DELREF | ACKED] [(MAXLEN | MINID) [= | ~] threshold [LIMIT count]] (* | id) field value [field value ...].
pub fn xadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let a = parse_add_or_trim(args, true)?;
    let fields = args.get(a.fields_at..).unwrap_or(&[]);
    if fields.len() < 2 || !fields.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity("xadd"));
    }
    if let Some((id, true)) = a.id
        && id.is_zero()
    {
        return Err(CmdError::err(
            "The ID specified in XADD must be greater than 0-0",
        ));
    }
    let now = ctx.now();
    let out = edit(ctx, &args[1], |s| {
        if s.is_none() && a.nomkstream {
            return Ok((None, vec![]));
        }
        let id = next_id(s, a.id, now)?;
        let mut ops = vec![StreamOp::Add {
            id,
            fields: fields.to_vec(),
        }];
        let empty = StreamValue::new();
        let (trim, trimmed) = trim_ops(s.unwrap_or(&empty), Some(id), &a.trim);
        ops.extend(trim);
        Ok((Some((id, trimmed)), ops))
    })?;
    match out {
        None => ctx.out.null(),
        Some((id, trimmed)) => {
            ctx.notify(STREAM, "xadd", &args[1]);
            if trimmed > 0 {
                ctx.notify(STREAM, "xtrim", &args[1]);
            }
            ctx.out.bulk(id.to_string().as_bytes());
        }
    }
    Ok(())
}

/// XTRIM key (MAXLEN | MINID) [= | ~] threshold [LIMIT count] [KEEPREF | DELREF | ACKED].
pub fn xtrim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let a = parse_add_or_trim(args, false)?;
    let n = edit(ctx, &args[1], |s| {
        let Some(s) = s else { return Ok((0, vec![])) };
        let (ops, n) = trim_ops(s, None, &a.trim);
        Ok((n, ops))
    })?;
    if n > 0 {
        ctx.notify(STREAM, "xtrim", &args[1]);
    }
    ctx.out.int(n as i64);
    Ok(())
}

fn range_generic(ctx: &mut Ctx<'_>, args: &[Bytes], rev: bool) -> CmdResult {
    let (sa, ea) = if rev {
        (&args[3], &args[2])
    } else {
        (&args[2], &args[3])
    };
    let start = interval(sa, 0, true)?;
    let end = interval(ea, u64::MAX, false)?;
    let mut count: i64 = -1;
    let mut i = 4;
    while i < args.len() {
        if is_keyword(&args[i], "count") && i + 1 < args.len() {
            count = parse_i64(&args[i + 1]).ok_or(CmdError::NotInteger)?.max(0);
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let entries = read(ctx, &args[1], |s| {
        let s = s?;
        if count == 0 {
            return Some(None);
        }
        let limit = if count < 0 {
            usize::MAX
        } else {
            count as usize
        };
        if start > end {
            return Some(Some(vec![]));
        }
        let r = s.entries.range(start..=end);
        let own = |(id, f): (&StreamId, &Vec<Bytes>)| (*id, f.clone());
        Some(Some(if rev {
            r.rev().take(limit).map(own).collect::<Entries>()
        } else {
            r.take(limit).map(own).collect()
        }))
    })?;
    match entries {
        None => ctx.out.array(0),
        Some(None) => ctx.out.null_array(),
        Some(Some(e)) => reply_entries(ctx, &e),
    }
    Ok(())
}

/// XRANGE key start end [COUNT count].
pub fn xrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    range_generic(ctx, args, false)
}

/// XREVRANGE key end start [COUNT count].
pub fn xrevrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    range_generic(ctx, args, true)
}

/// XLEN key.
pub fn xlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = read(ctx, &args[1], |s| s.map_or(0, |s| s.len()))?;
    ctx.out.int(n as i64);
    Ok(())
}

/// Where a read starts for one stream.
#[derive(Clone, Copy)]
enum From {
    /// Entries after this ID.
    After(StreamId),
    /// `$`: after the last ID now.
    Last,
    /// `+`: the last entry.
    LastEntry,
    /// `>`: entries never delivered to the group.
    New,
}

/// A delivered entry of XREADGROUP: with CLAIM, idle time and delivery
/// count.
struct Delivered {
    id: StreamId,
    fields: Option<Vec<Bytes>>,
    claim: Option<(u64, u64)>,
}

/// XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]
/// and XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds]
/// [CLAIM min-idle-time] [NOACK] STREAMS key [key ...] id [id ...].
fn read_generic(ctx: &mut Ctx<'_>, args: &[Bytes], group_read: bool) -> CmdResult {
    let name = if group_read { "xreadgroup" } else { "xread" };
    let mut block: Option<Option<Duration>> = None;
    let mut count = 0usize;
    let mut noack = false;
    let mut claim: Option<u64> = None;
    let mut group: Option<(Bytes, Bytes)> = None;
    let mut streams_at = 0;
    let mut i = 1;
    let only_group = |opt: &str| {
        CmdError::err(format!(
            "The {opt} option is only supported by XREADGROUP. You called XREAD instead."
        ))
    };
    while i < args.len() {
        let more = args.len() - i - 1;
        let a = &args[i];
        if is_keyword(a, "claim") && more > 0 {
            if !group_read {
                return Err(only_group("CLAIM"));
            }
            let v = parse_i64(&args[i + 1])
                .ok_or_else(|| CmdError::err("min-idle-time is not an integer or out of range"))?;
            if v < 0 {
                return Err(CmdError::err("min-idle-time must be a positive integer"));
            }
            claim = Some(v as u64);
            i += 2;
        } else if is_keyword(a, "block") && more > 0 {
            let ms = parse_i64(&args[i + 1])
                .ok_or_else(|| CmdError::err("timeout is not an integer or out of range"))?;
            if ms < 0 {
                return Err(CmdError::err("timeout is negative"));
            }
            block = Some((ms > 0).then(|| Duration::from_millis(ms as u64)));
            i += 2;
        } else if is_keyword(a, "count") && more > 0 {
            count = parse_i64(&args[i + 1]).ok_or(CmdError::NotInteger)?.max(0) as usize;
            i += 2;
        } else if is_keyword(a, "streams") && more > 0 {
            streams_at = i + 1;
            if !(args.len() - streams_at).is_multiple_of(2) {
                let symbol = if group_read {
                    "ID or '>'"
                } else {
                    "ID, '+', or '$'"
                };
                return Err(CmdError::err(format!(
                    "Unbalanced '{name}' list of streams: for each stream key an {symbol} must be specified."
                )));
            }
            break;
        } else if is_keyword(a, "group") && more >= 2 {
            if !group_read {
                return Err(only_group("GROUP"));
            }
            group = Some((args[i + 1].clone(), args[i + 2].clone()));
            i += 3;
        } else if is_keyword(a, "noack") {
            if !group_read {
                return Err(only_group("NOACK"));
            }
            noack = true;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if streams_at == 0 {
        return Err(CmdError::Syntax);
    }
    if group_read && group.is_none() {
        return Err(CmdError::err("Missing GROUP option for XREADGROUP"));
    }
    let n = (args.len() - streams_at) / 2;
    let keys = &args[streams_at..streams_at + n];
    let mut froms = Vec::with_capacity(n);
    for (k, a) in keys.iter().zip(&args[streams_at + n..]) {
        // Type and group checks come first, in key order, as in Redis.
        let has_group = read(ctx, k, |s| {
            group
                .as_ref()
                .map(|(g, _)| s.is_some_and(|s| s.groups.contains_key(g)))
        })?;
        if has_group == Some(false) {
            let g = &group.as_ref().expect("group read").0;
            return Err(CmdError::Engine(EngineError::Line(format!(
                "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                String::from_utf8_lossy(k),
                String::from_utf8_lossy(g)
            ))));
        }
        let meaningless = |id: &str| {
            CmdError::err(format!(
                "The {id} ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The {id} ID would just return an empty result set."
            ))
        };
        froms.push(match &a[..] {
            b"$" if group_read => return Err(meaningless("$")),
            b"$" => From::Last,
            b"+" if group_read => return Err(meaningless("+")),
            b"+" => From::LastEntry,
            b">" if !group_read => {
                return Err(CmdError::err(
                    "The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                ));
            }
            b">" => From::New,
            _ => From::After(parse_id(a, 0, true)?),
        });
    }
    let now = ctx.now();
    // Resolve `$` now, so a wait reads what comes after this moment.
    let mut rerun: Option<Vec<Bytes>> = None;
    for (j, f) in froms.iter_mut().enumerate() {
        if let From::Last = f {
            let last = read(ctx, &keys[j], |s| s.map_or(StreamId::MIN, |s| s.last_id))?;
            *f = From::After(last);
            let rerun = rerun.get_or_insert_with(|| args.to_vec());
            rerun[streams_at + n + j] = id_text(last);
        }
    }
    let mut results: Vec<(Bytes, Vec<Delivered>)> = Vec::new();
    for (k, from) in keys.iter().zip(&froms) {
        let got = match &group {
            None => read(ctx, k, |s| {
                let s = s?;
                let after = match from {
                    From::After(id) => *id,
                    From::LastEntry => s.last_entry_id().prev().unwrap_or(StreamId::MIN),
                    _ => unreachable!("resolved above"),
                };
                if s.is_empty() || s.last_entry_id() <= after {
                    return None;
                }
                let start = after.next()?;
                let limit = if count == 0 { usize::MAX } else { count };
                Some(
                    s.entries
                        .range(start..)
                        .take(limit)
                        .map(|(id, f)| Delivered {
                            id: *id,
                            fields: Some(f.clone()),
                            claim: None,
                        })
                        .collect::<Vec<_>>(),
                )
            })?,
            Some((g, c)) => group_read_one(ctx, k, g, c, *from, count, noack, claim, now)?,
        };
        if let Some(d) = got {
            results.push((k.clone(), d));
        }
    }
    if results.is_empty() {
        match block {
            Some(wait) if !ctx.conn.nested => {
                super::list_blocking::block(ctx, keys, wait, true);
                if let (Some(b), Some(a)) = (ctx.conn.blocked.as_mut(), rerun) {
                    b.args = Some(a);
                }
            }
            _ => ctx.out.null_array(),
        }
        return Ok(());
    }
    if ctx.out.protocol() == Protocol::Resp3 {
        ctx.out.map(results.len());
    } else {
        ctx.out.array(results.len());
    }
    for (k, entries) in results {
        if ctx.out.protocol() == Protocol::Resp2 {
            ctx.out.array(2);
        }
        ctx.out.bulk(&k);
        ctx.out.array(entries.len());
        for d in entries {
            let width = if d.claim.is_some() { 4 } else { 2 };
            ctx.out.array(width);
            ctx.out.bulk(d.id.to_string().as_bytes());
            match &d.fields {
                Some(f) => {
                    ctx.out.array(f.len());
                    for x in f {
                        ctx.out.bulk(x);
                    }
                }
                None => ctx.out.null_array(),
            }
            if let Some((idle, n)) = d.claim {
                ctx.out.int(idle as i64);
                ctx.out.int(n as i64);
            }
        }
    }
    Ok(())
}

/// XREADGROUP on one stream: None when there is nothing to serve now.
#[allow(clippy::too_many_arguments)]
fn group_read_one(
    ctx: &Ctx<'_>,
    key: &[u8],
    group: &Bytes,
    consumer: &Bytes,
    from: From,
    count: usize,
    noack: bool,
    claim: Option<u64>,
    now: u64,
) -> Result<Option<Vec<Delivered>>, CmdError> {
    let limit = if count == 0 { usize::MAX } else { count };
    edit(ctx, key, |s| {
        let s = s.ok_or_else(|| nogroup(key, group))?;
        let g = s.groups.get(group).ok_or_else(|| nogroup(key, group))?;
        let mut ops = Vec::new();
        let created = !g.consumers.contains_key(consumer);
        let seen = StreamOp::ConsumerSet {
            group: group.clone(),
            consumer: consumer.clone(),
            seen: now,
            active: None,
        };
        let mut out = Vec::new();
        let mut active = false;
        if let From::After(start) = from {
            // History: this consumer's pending entries after `start`.
            let empty = Default::default();
            let mine = g.consumers.get(consumer).map_or(&empty, |c| &c.pel);
            let first = start.next().unwrap_or(StreamId::MAX);
            for id in mine.range(first..).take(limit) {
                let p = &g.pel[id];
                let fields = s.entries.get(id).cloned();
                if fields.is_some() {
                    ops.push(StreamOp::Pend {
                        group: group.clone(),
                        consumer: consumer.clone(),
                        id: *id,
                        time: now,
                        count: p.delivery_count.saturating_add(1),
                    });
                }
                out.push(Delivered {
                    id: *id,
                    fields,
                    claim: None,
                });
            }
            ops.insert(0, seen);
            return Ok((Some(out), ops));
        }
        // Claimable entries idle for at least `claim` ms, oldest delivery first.
        if let Some(min_idle) = claim {
            let mut idle: Vec<(&StreamId, &vexlake_engine::keyspace::stream::Pending)> = g
                .pel
                .iter()
                .filter(|(id, p)| {
                    s.entries.contains_key(*id) && now.saturating_sub(p.delivery_time) >= min_idle
                })
                .collect();
            idle.sort_by_key(|(id, p)| (p.delivery_time, **id));
            for (id, p) in idle.into_iter().take(limit) {
                out.push(Delivered {
                    id: *id,
                    fields: s.entries.get(id).cloned(),
                    claim: Some((now.saturating_sub(p.delivery_time), p.delivery_count)),
                });
                ops.push(StreamOp::Pend {
                    group: group.clone(),
                    consumer: consumer.clone(),
                    id: *id,
                    time: now,
                    count: p.delivery_count.saturating_add(1),
                });
                active = true;
            }
        }
        let claimed = out.len();
        if claimed < limit && s.last_entry_id() > g.last_id {
            let mut last = g.last_id;
            let mut read = g.entries_read;
            for (id, f) in s
                .entries
                .range(g.last_id.next().unwrap_or(StreamId::MAX)..)
                .take(limit - claimed)
            {
                // As Redis: count on while nothing was deleted after the
                // group's (moving) last ID, else estimate.
                read = match read {
                    Some(r) if last >= s.first_id() && !s.has_tombstones_after(last) => Some(r + 1),
                    _ => s.entries_up_to(*id),
                };
                last = *id;
                out.push(Delivered {
                    id: *id,
                    fields: Some(f.clone()),
                    claim: claim.map(|_| (0, 0)),
                });
                if !noack {
                    ops.push(StreamOp::Pend {
                        group: group.clone(),
                        consumer: consumer.clone(),
                        id: *id,
                        time: now,
                        count: 1,
                    });
                }
                active = true;
            }
            ops.push(StreamOp::GroupSet {
                group: group.clone(),
                last_id: last,
                entries_read: read,
            });
        }
        let mut all = vec![StreamOp::ConsumerSet {
            group: group.clone(),
            consumer: consumer.clone(),
            seen: now,
            active: active.then_some(now),
        }];
        if out.is_empty() && !created {
            // Only the seen time changes: not journaled.
            all.clear();
        }
        all.extend(ops);
        Ok(((!out.is_empty()).then_some(out), all))
    })
}

/// XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...].
pub fn xread(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read_generic(ctx, args, false)
}

/// XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds] [CLAIM min-idle-time] [NOACK] STREAMS key [key ...] id [id ...].
pub fn xreadgroup(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read_generic(ctx, args, true)
}

/// The `ENTRIESREAD n` / `MKSTREAM` options of XGROUP CREATE and SETID.
fn group_options(args: &[Bytes], create: bool) -> Result<(bool, Option<u64>), CmdError> {
    let mut mkstream = false;
    let mut entries_read = None;
    let mut i = 5;
    while i < args.len() {
        if create && is_keyword(&args[i], "mkstream") {
            mkstream = true;
            i += 1;
        } else if is_keyword(&args[i], "entriesread") && i + 1 < args.len() {
            let n = parse_i64(&args[i + 1]).ok_or(CmdError::NotInteger)?;
            if n < -1 {
                return Err(CmdError::err(
                    "value for ENTRIESREAD must be positive or -1",
                ));
            }
            entries_read = (n >= 0).then_some(n as u64);
            i += 2;
        } else {
            return Err(subcommand_syntax(args));
        }
    }
    Ok((mkstream, entries_read))
}

fn subcommand_syntax(args: &[Bytes]) -> CmdError {
    CmdError::err(format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try XGROUP HELP.",
        String::from_utf8_lossy(&args[1])
    ))
}

fn no_key_error() -> EngineError {
    EngineError::Refused(
        "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
    )
}

fn nogroup_for_key(group: &[u8], key: &[u8]) -> EngineError {
    EngineError::Line(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        String::from_utf8_lossy(group),
        String::from_utf8_lossy(key)
    ))
}

/// XGROUP CREATE key group (id | $) [MKSTREAM] [ENTRIESREAD n].
pub fn xgroup_create(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (mkstream, entries_read) = group_options(args, true)?;
    let given = match &args[4][..] {
        b"$" => None,
        a => Some(parse_id(a, 0, true)?),
    };
    let group = args[3].clone();
    edit(ctx, &args[2], |s| {
        if s.is_none() && !mkstream {
            return Err(no_key_error());
        }
        if s.is_some_and(|s| s.groups.contains_key(&group)) {
            return Err(EngineError::Line(
                "BUSYGROUP Consumer Group name already exists".into(),
            ));
        }
        let last_id = given.unwrap_or(s.map_or(StreamId::MIN, |s| s.last_id));
        let added = s.map_or(0, |s| s.entries_added);
        let mut ops = vec![StreamOp::Create];
        ops.push(StreamOp::GroupSet {
            group,
            last_id,
            entries_read: entries_read.map(|n| n.min(added)),
        });
        Ok(((), ops))
    })?;
    ctx.notify(STREAM, "xgroup-create", &args[2]);
    ctx.out.ok();
    Ok(())
}

/// XGROUP SETID key group (id | $) [ENTRIESREAD n].
pub fn xgroup_setid(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (_, entries_read) = group_options(args, false)?;
    let given = match &args[4][..] {
        b"$" => None,
        a => Some(parse_id(a, 0, false)?),
    };
    let group = args[3].clone();
    edit(ctx, &args[2], |s| {
        let s = s.ok_or_else(no_key_error)?;
        if !s.groups.contains_key(&group) {
            return Err(nogroup_for_key(&group, &args[2]));
        }
        let last_id = given.unwrap_or(s.last_id);
        let op = StreamOp::GroupSet {
            group,
            last_id,
            entries_read: entries_read.map(|n| n.min(s.entries_added)),
        };
        Ok(((), vec![op]))
    })?;
    ctx.notify(STREAM, "xgroup-setid", &args[2]);
    ctx.out.ok();
    Ok(())
}

/// XGROUP DESTROY key group.
pub fn xgroup_destroy(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let group = args[3].clone();
    let done = edit(ctx, &args[2], |s| {
        let s = s.ok_or_else(no_key_error)?;
        if !s.groups.contains_key(&group) {
            return Ok((false, vec![]));
        }
        Ok((true, vec![StreamOp::GroupDel { group }]))
    })?;
    if done {
        ctx.notify(STREAM, "xgroup-destroy", &args[2]);
    }
    ctx.out.int(i64::from(done));
    Ok(())
}

/// XGROUP CREATECONSUMER key group consumer.
pub fn xgroup_createconsumer(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (group, consumer) = (args[3].clone(), args[4].clone());
    let now = ctx.now();
    let created = edit(ctx, &args[2], |s| {
        let s = s.ok_or_else(no_key_error)?;
        let g = s
            .groups
            .get(&group)
            .ok_or_else(|| nogroup_for_key(&group, &args[2]))?;
        if g.consumers.contains_key(&consumer) {
            return Ok((false, vec![]));
        }
        let op = StreamOp::ConsumerSet {
            group,
            consumer,
            seen: now,
            active: None,
        };
        Ok((true, vec![op]))
    })?;
    if created {
        ctx.notify(STREAM, "xgroup-createconsumer", &args[2]);
    }
    ctx.out.int(i64::from(created));
    Ok(())
}

/// XGROUP DELCONSUMER key group consumer.
pub fn xgroup_delconsumer(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (group, consumer) = (args[3].clone(), args[4].clone());
    let pending = edit(ctx, &args[2], |s| {
        let s = s.ok_or_else(no_key_error)?;
        let g = s
            .groups
            .get(&group)
            .ok_or_else(|| nogroup_for_key(&group, &args[2]))?;
        let Some(c) = g.consumers.get(&consumer) else {
            return Ok((None, vec![]));
        };
        let op = StreamOp::ConsumerDel { group, consumer };
        Ok((Some(c.pel.len()), vec![op]))
    })?;
    if pending.is_some() {
        ctx.notify(STREAM, "xgroup-delconsumer", &args[2]);
    }
    ctx.out.int(pending.unwrap_or(0) as i64);
    Ok(())
}

/// The IDs `args[at..]`, strictly parsed.
fn ids_at(args: &[Bytes]) -> Result<Vec<StreamId>, CmdError> {
    args.iter().map(|a| parse_id(a, 0, true)).collect()
}

/// XACK key group id [id ...].
pub fn xack(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let ids = ids_at(&args[3..])?;
    let group = args[2].clone();
    let n = edit(ctx, &args[1], |s| {
        let Some(g) = s.and_then(|s| s.groups.get(&group)) else {
            return Ok((0, vec![]));
        };
        let mut seen = std::collections::HashSet::new();
        let acked: Vec<StreamId> = ids
            .iter()
            .filter(|id| g.pel.contains_key(id) && seen.insert(**id))
            .copied()
            .collect();
        let n = acked.len();
        let ops = if n > 0 {
            vec![StreamOp::Ack { group, ids: acked }]
        } else {
            vec![]
        };
        Ok((n, ops))
    })?;
    ctx.out.int(n as i64);
    Ok(())
}

/// `[KEEPREF | DELREF | ACKED] IDS numids id [id ...]` from `args[at..]`.
fn ackdel_args(args: &[Bytes], at: usize) -> Result<(Refs, Vec<StreamId>), CmdError> {
    let mut refs = None;
    let mut ids = None;
    let mut j = at;
    while j < args.len() {
        if let Some(r) = refs_option(&args[j]).filter(|_| refs.is_none()) {
            refs = Some(r);
            j += 1;
        } else if is_keyword(&args[j], "ids") && j + 1 < args.len() {
            let n = parse_i64(&args[j + 1])
                .filter(|&n| n >= 1)
                .ok_or_else(|| CmdError::err("Number of IDs must be a positive integer"))?
                as usize;
            if n > args.len() - j - 2 {
                return Err(CmdError::err(
                    "The `numids` parameter must match the number of arguments",
                ));
            }
            ids = Some(j + 2..j + 2 + n);
            j += 2 + n;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let range = ids.ok_or_else(|| CmdError::err("IDS option is required"))?;
    Ok((refs.unwrap_or(Refs::Keep), ids_at(&args[range])?))
}

/// Deletes `id` from `s` under `refs`: 1 deleted, 2 kept (still
/// referenced), -1 not there; adds the ops.
fn delete_one(
    s: &StreamValue,
    id: StreamId,
    refs: Refs,
    acked: Option<&Bytes>,
    gone: &mut Vec<StreamId>,
    ops: &mut Vec<StreamOp>,
) -> i64 {
    if refs == Refs::Acked && s.is_referenced_except(id, acked) {
        return 2;
    }
    if refs == Refs::Del {
        ops.push(StreamOp::AckAll { ids: vec![id] });
    }
    if s.entries.contains_key(&id) && !gone.contains(&id) {
        gone.push(id);
        ops.push(StreamOp::Del { ids: vec![id] });
        1
    } else {
        -1
    }
}

/// The per-ID codes of XDELEX / XACKDEL, with `xdel` notified when
/// entries were deleted.
fn codes_reply(ctx: &mut Ctx<'_>, key: &[u8], codes: &[i64], deleted: bool) {
    if deleted {
        ctx.notify(STREAM, "xdel", key);
    }
    ctx.out.array(codes.len());
    codes.iter().for_each(|c| ctx.out.int(*c));
}

/// XDELEX key [KEEPREF | DELREF | ACKED] IDS numids id [id ...].
pub fn xdelex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read(ctx, &args[1], |_| ())?;
    let (refs, ids) = ackdel_args(args, 2)?;
    let (codes, deleted) = edit(ctx, &args[1], |s| {
        let Some(s) = s else {
            return Ok(((vec![-1; ids.len()], false), vec![]));
        };
        let (mut gone, mut ops) = (Vec::new(), Vec::new());
        let codes = ids
            .iter()
            .map(|id| delete_one(s, *id, refs, None, &mut gone, &mut ops))
            .collect();
        Ok(((codes, !gone.is_empty()), ops))
    })?;
    codes_reply(ctx, &args[1], &codes, deleted);
    Ok(())
}

/// XACKDEL key group [KEEPREF | DELREF | ACKED] IDS numids id [id ...].
pub fn xackdel(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read(ctx, &args[1], |_| ())?;
    let (refs, ids) = ackdel_args(args, 3)?;
    let group = args[2].clone();
    let (codes, deleted) = edit(ctx, &args[1], |s| {
        let Some((s, g)) = s.and_then(|s| Some((s, s.groups.get(&group)?))) else {
            return Ok(((vec![-1; ids.len()], false), vec![]));
        };
        let (mut gone, mut ops) = (Vec::new(), Vec::new());
        // Acknowledge first, then see what may be deleted (as if acked:
        // the stream is not copied).
        let mut acked = std::collections::HashSet::new();
        let mut codes = Vec::with_capacity(ids.len());
        for id in &ids {
            if !g.pel.contains_key(id) || !acked.insert(*id) {
                codes.push(-1);
                continue;
            }
            ops.push(StreamOp::Ack {
                group: group.clone(),
                ids: vec![*id],
            });
            let code = delete_one(s, *id, refs, Some(&group), &mut gone, &mut ops);
            codes.push(if code == 2 { 2 } else { 1 });
        }
        Ok(((codes, !gone.is_empty()), ops))
    })?;
    codes_reply(ctx, &args[1], &codes, deleted);
    Ok(())
}

/// XDEL key id [id ...].
pub fn xdel(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let ids = ids_at(&args[2..])?;
    let n = edit(ctx, &args[1], |s| {
        let Some(s) = s else { return Ok((0, vec![])) };
        let mut seen = std::collections::HashSet::new();
        let gone: Vec<StreamId> = ids
            .iter()
            .filter(|id| s.entries.contains_key(id) && seen.insert(**id))
            .copied()
            .collect();
        let n = gone.len();
        let ops = if n > 0 {
            vec![StreamOp::Del { ids: gone }]
        } else {
            vec![]
        };
        Ok((n, ops))
    })?;
    if n > 0 {
        ctx.notify(STREAM, "xdel", &args[1]);
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id].
pub fn xsetid(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let id = parse_id(&args[2], 0, true)?;
    let mut added: Option<u64> = None;
    let mut max_del = StreamId::MIN;
    let mut i = 3;
    while i < args.len() {
        if is_keyword(&args[i], "entriesadded") && i + 1 < args.len() {
            let n = parse_i64(&args[i + 1]).ok_or(CmdError::NotInteger)?;
            if n < 0 {
                return Err(CmdError::err("entries_added must be positive"));
            }
            added = Some(n as u64);
        } else if is_keyword(&args[i], "maxdeletedid") && i + 1 < args.len() {
            max_del = parse_id(&args[i + 1], 0, true)?;
            if id < max_del {
                return Err(CmdError::err(
                    "The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    edit(ctx, &args[1], |s| {
        let s = s.ok_or(EngineError::NoSuchKey)?;
        if id < s.max_deleted {
            return Err(EngineError::Refused(
                "The ID specified in XSETID is smaller than current max_deleted_entry_id",
            ));
        }
        if !s.is_empty() {
            if id < s.last_entry_id() {
                return Err(EngineError::Refused(
                    "The ID specified in XSETID is smaller than the target stream top item",
                ));
            }
            if added.is_some_and(|a| (s.len() as u64) > a) {
                return Err(EngineError::Refused(
                    "The entries_added specified in XSETID is smaller than the target stream length",
                ));
            }
        }
        let op = StreamOp::SetMeta {
            last_id: id,
            entries_added: added.unwrap_or(s.entries_added),
            max_deleted: if max_del.is_zero() {
                s.max_deleted
            } else {
                max_del
            },
        };
        Ok(((), vec![op]))
    })?;
    ctx.notify(STREAM, "xsetid", &args[1]);
    ctx.out.ok();
    Ok(())
}

/// XPENDING key group [[IDLE min-idle-time] start end count [consumer]].
pub fn xpending(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let summary = args.len() == 3;
    if !summary && !(6..=9).contains(&args.len()) {
        return Err(CmdError::Syntax);
    }
    let mut range = None;
    if !summary {
        let mut at = 3;
        let mut min_idle = 0i64;
        if is_keyword(&args[3], "idle") {
            min_idle = parse_i64(&args[4]).ok_or(CmdError::NotInteger)?;
            if args.len() < 8 {
                return Err(CmdError::Syntax);
            }
            at += 2;
        }
        let count = parse_i64(&args[at + 2]).ok_or(CmdError::NotInteger)?.max(0) as usize;
        let start = interval(&args[at], 0, true)?;
        let end = interval(&args[at + 1], u64::MAX, false)?;
        let consumer = args.get(at + 3).cloned();
        if at + 4 < args.len() {
            return Err(CmdError::Syntax);
        }
        range = Some((min_idle, start, end, count, consumer));
    }
    let now = ctx.now();
    let (key, group) = (&args[1], &args[2]);
    enum Out {
        Summary(usize, Option<(StreamId, StreamId)>, Vec<(Bytes, usize)>),
        Rows(Vec<(StreamId, Bytes, u64, u64)>),
    }
    let out = read(ctx, key, |s| -> Result<Out, EngineError> {
        let g = s
            .and_then(|s| s.groups.get(group))
            .ok_or_else(|| nogroup(key, group))?;
        let Some((min_idle, start, end, count, consumer)) = &range else {
            let bounds = g
                .pel
                .keys()
                .next()
                .map(|first| (*first, *g.pel.keys().next_back().expect("not empty")));
            let per: Vec<(Bytes, usize)> = g
                .consumers
                .iter()
                .filter(|(_, c)| !c.pel.is_empty())
                .map(|(n, c)| (n.clone(), c.pel.len()))
                .collect();
            return Ok(Out::Summary(g.pel.len(), bounds, per));
        };
        if start > end {
            return Ok(Out::Rows(vec![]));
        }
        let ids: Vec<StreamId> = match consumer {
            Some(c) => match g.consumers.get(c) {
                Some(c) => c.pel.range(*start..=*end).copied().collect(),
                None => return Ok(Out::Rows(vec![])),
            },
            None => g.pel.range(*start..=*end).map(|(id, _)| *id).collect(),
        };
        let rows = ids
            .into_iter()
            .filter_map(|id| {
                let p = &g.pel[&id];
                let idle = now.saturating_sub(p.delivery_time);
                (*min_idle <= 0 || idle as i64 >= *min_idle)
                    .then(|| (id, p.consumer.clone(), idle, p.delivery_count))
            })
            .take(*count)
            .collect();
        Ok(Out::Rows(rows))
    })??;
    match out {
        Out::Summary(n, bounds, per) => {
            ctx.out.array(4);
            ctx.out.int(n as i64);
            match bounds {
                Some((a, b)) => {
                    ctx.out.bulk(a.to_string().as_bytes());
                    ctx.out.bulk(b.to_string().as_bytes());
                    ctx.out.array(per.len());
                    for (name, k) in per {
                        ctx.out.array(2);
                        ctx.out.bulk(&name);
                        ctx.out.bulk(k.to_string().as_bytes());
                    }
                }
                None => {
                    ctx.out.null();
                    ctx.out.null();
                    ctx.out.null_array();
                }
            }
        }
        Out::Rows(rows) => {
            ctx.out.array(rows.len());
            for (id, c, idle, n) in rows {
                ctx.out.array(4);
                ctx.out.bulk(id.to_string().as_bytes());
                ctx.out.bulk(&c);
                ctx.out.int(idle as i64);
                ctx.out.int(n as i64);
            }
        }
    }
    Ok(())
}

/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-time-milliseconds] [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID lastid].
pub fn xclaim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (key, group, consumer) = (&args[1], &args[2], &args[3]);
    read(ctx, key, |s| {
        s.and_then(|s| s.groups.get(group))
            .map(|_| ())
            .ok_or_else(|| nogroup(key, group))
    })??;
    let min_idle = parse_i64(&args[4])
        .ok_or_else(|| CmdError::err("Invalid min-idle-time argument for XCLAIM"))?
        .max(0) as u64;
    let now = ctx.now();
    let mut j = 5;
    let mut ids = Vec::new();
    while j < args.len() {
        match parse_id(&args[j], 0, true) {
            Ok(id) => ids.push(id),
            Err(_) => break,
        }
        j += 1;
    }
    let (mut force, mut justid) = (false, false);
    let mut time: Option<i64> = None;
    let mut retry: Option<u64> = None;
    let mut last_id = StreamId::MIN;
    while j < args.len() {
        let a = &args[j];
        let more = j + 1 < args.len();
        let num = |what: &str| {
            parse_i64(&args[j + 1])
                .ok_or_else(|| CmdError::err(format!("Invalid {what} option argument for XCLAIM")))
        };
        match () {
            _ if is_keyword(a, "force") => force = true,
            _ if is_keyword(a, "justid") => justid = true,
            _ if is_keyword(a, "idle") && more => {
                time = Some(now as i64 - num("IDLE")?);
                j += 1;
            }
            _ if is_keyword(a, "time") && more => {
                time = Some(num("TIME")?);
                j += 1;
            }
            _ if is_keyword(a, "retrycount") && more => {
                retry = Some(num("RETRYCOUNT")?.max(0) as u64);
                j += 1;
            }
            _ if is_keyword(a, "lastid") && more => {
                last_id = parse_id(&args[j + 1], 0, true)?;
                j += 1;
            }
            _ => {
                return Err(CmdError::err(format!(
                    "Unrecognized XCLAIM option '{}'",
                    String::from_utf8_lossy(a)
                )));
            }
        }
        j += 1;
    }
    let delivery = time
        .filter(|&t| t >= 0 && t as u64 <= now)
        .map_or(now, |t| t as u64);
    let claimed = edit(ctx, key, |s| {
        let s = s.ok_or_else(|| nogroup(key, group))?;
        let g = s.groups.get(group).ok_or_else(|| nogroup(key, group))?;
        let mut ops = Vec::new();
        if last_id > g.last_id {
            ops.push(StreamOp::GroupSet {
                group: group.clone(),
                last_id,
                entries_read: g.entries_read,
            });
        }
        let mut out = Vec::new();
        let mut stale = Vec::new();
        for id in &ids {
            let p = g.pel.get(id);
            if !s.entries.contains_key(id) {
                if p.is_some() {
                    stale.push(*id);
                }
                continue;
            }
            let (cur_count, owned) = match p {
                Some(p) => (p.delivery_count, true),
                None if force => (0, false),
                None => continue,
            };
            if owned && min_idle > 0 {
                let p = p.expect("owned");
                if now.saturating_sub(p.delivery_time) < min_idle {
                    continue;
                }
            }
            let count = match retry {
                Some(r) => r,
                None if !justid => cur_count.saturating_add(1),
                None => cur_count,
            };
            ops.push(StreamOp::Pend {
                group: group.clone(),
                consumer: consumer.clone(),
                id: *id,
                time: delivery,
                count,
            });
            out.push((*id, (!justid).then(|| s.entries[id].clone())));
        }
        if !stale.is_empty() {
            ops.push(StreamOp::Ack {
                group: group.clone(),
                ids: stale,
            });
        }
        let mut all = vec![StreamOp::ConsumerSet {
            group: group.clone(),
            consumer: consumer.clone(),
            seen: now,
            active: (!out.is_empty()).then_some(now),
        }];
        all.extend(ops);
        Ok((out, all))
    })?;
    ctx.out.array(claimed.len());
    for (id, fields) in claimed {
        match fields {
            Some(f) => reply_entry(ctx, id, &f),
            None => ctx.out.bulk(id.to_string().as_bytes()),
        }
    }
    Ok(())
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID].
pub fn xautoclaim(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (key, group, consumer) = (&args[1], &args[2], &args[3]);
    let min_idle = parse_i64(&args[4])
        .ok_or_else(|| CmdError::err("Invalid min-idle-time argument for XAUTOCLAIM"))?
        .max(0) as u64;
    let start = interval(&args[5], 0, true)?;
    let mut count = 100usize;
    let mut justid = false;
    let mut j = 6;
    while j < args.len() {
        if is_keyword(&args[j], "count") && j + 1 < args.len() {
            count = parse_i64(&args[j + 1])
                .filter(|c| (1..=i64::MAX / 16).contains(c))
                .ok_or_else(|| CmdError::err("COUNT must be > 0"))? as usize;
            j += 2;
        } else if is_keyword(&args[j], "justid") {
            justid = true;
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let now = ctx.now();
    let (next, claimed, deleted) = edit(ctx, key, |s| {
        let s = s.ok_or_else(|| nogroup(key, group))?;
        let g = s.groups.get(group).ok_or_else(|| nogroup(key, group))?;
        let mut attempts = count * 10;
        let mut left = count;
        let (mut out, mut deleted, mut ops) = (Vec::new(), Vec::new(), Vec::new());
        let mut it = g.pel.range(start..);
        let mut next = StreamId::MIN;
        loop {
            if attempts == 0 || left == 0 {
                next = it.next().map_or(StreamId::MIN, |(id, _)| *id);
                break;
            }
            let Some((id, p)) = it.next() else { break };
            attempts -= 1;
            if !s.entries.contains_key(id) {
                deleted.push(*id);
                left -= 1;
                continue;
            }
            if min_idle > 0 && now.saturating_sub(p.delivery_time) < min_idle {
                continue;
            }
            ops.push(StreamOp::Pend {
                group: group.clone(),
                consumer: consumer.clone(),
                id: *id,
                time: now,
                count: if justid {
                    p.delivery_count
                } else {
                    p.delivery_count.saturating_add(1)
                },
            });
            out.push((*id, (!justid).then(|| s.entries[id].clone())));
            left -= 1;
        }
        if !deleted.is_empty() {
            ops.push(StreamOp::Ack {
                group: group.clone(),
                ids: deleted.clone(),
            });
        }
        let mut all = vec![StreamOp::ConsumerSet {
            group: group.clone(),
            consumer: consumer.clone(),
            seen: now,
            active: (!out.is_empty()).then_some(now),
        }];
        all.extend(ops);
        Ok(((next, out, deleted), all))
    })?;
    ctx.out.array(3);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array(claimed.len());
    for (id, fields) in claimed {
        match fields {
            Some(f) => reply_entry(ctx, id, &f),
            None => ctx.out.bulk(id.to_string().as_bytes()),
        }
    }
    ctx.out.array(deleted.len());
    for id in deleted {
        ctx.out.bulk(id.to_string().as_bytes());
    }
    Ok(())
}

fn no_such_key() -> CmdError {
    CmdError::Engine(EngineError::NoSuchKey)
}

fn opt_int(ctx: &mut Ctx<'_>, v: Option<u64>) {
    match v {
        Some(v) => ctx.out.int(v as i64),
        None => ctx.out.null(),
    }
}

/// XINFO STREAM key [FULL [COUNT count]].
pub fn xinfo_stream(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut full = false;
    let mut count = 10usize;
    match args.len() {
        3 => {}
        4 if is_keyword(&args[3], "full") => full = true,
        6 if is_keyword(&args[3], "full") && is_keyword(&args[4], "count") => {
            full = true;
            let c = parse_i64(&args[5]).ok_or(CmdError::NotInteger)?;
            count = if c <= 0 { usize::MAX } else { c as usize };
        }
        _ => return Err(CmdError::Syntax),
    }
    let Some(s) = read(ctx, &args[2], |s| s.cloned())? else {
        return Err(no_such_key());
    };
    let nodes = s.len().div_ceil(NODE_ENTRIES as usize).max(1);
    ctx.out.map(if full { 9 } else { 10 });
    ctx.out.bulk(b"length");
    ctx.out.int(s.len() as i64);
    ctx.out.bulk(b"radix-tree-keys");
    ctx.out.int(s.len().div_ceil(NODE_ENTRIES as usize) as i64);
    ctx.out.bulk(b"radix-tree-nodes");
    ctx.out.int(nodes as i64);
    ctx.out.bulk(b"last-generated-id");
    ctx.out.bulk(s.last_id.to_string().as_bytes());
    ctx.out.bulk(b"max-deleted-entry-id");
    ctx.out.bulk(s.max_deleted.to_string().as_bytes());
    ctx.out.bulk(b"entries-added");
    ctx.out.int(s.entries_added as i64);
    ctx.out.bulk(b"recorded-first-entry-id");
    ctx.out.bulk(s.first_id().to_string().as_bytes());
    if !full {
        ctx.out.bulk(b"groups");
        ctx.out.int(s.groups.len() as i64);
        for (label, e) in [
            ("first-entry", s.entries.iter().next()),
            ("last-entry", s.entries.iter().next_back()),
        ] {
            ctx.out.bulk(label.as_bytes());
            match e {
                Some((id, f)) => reply_entry(ctx, *id, f),
                None => ctx.out.null(),
            }
        }
        return Ok(());
    }
    ctx.out.bulk(b"entries");
    let entries: Entries = s
        .entries
        .iter()
        .take(count)
        .map(|(id, f)| (*id, f.clone()))
        .collect();
    reply_entries(ctx, &entries);
    ctx.out.bulk(b"groups");
    ctx.out.array(s.groups.len());
    for (name, g) in &s.groups {
        ctx.out.map(7);
        ctx.out.bulk(b"name");
        ctx.out.bulk(name);
        ctx.out.bulk(b"last-delivered-id");
        ctx.out.bulk(g.last_id.to_string().as_bytes());
        ctx.out.bulk(b"entries-read");
        opt_int(ctx, g.entries_read);
        ctx.out.bulk(b"lag");
        opt_int(ctx, s.lag(g));
        ctx.out.bulk(b"pel-count");
        ctx.out.int(g.pel.len() as i64);
        ctx.out.bulk(b"pending");
        let pel: Vec<_> = g.pel.iter().take(count).collect();
        ctx.out.array(pel.len());
        for (id, p) in pel {
            ctx.out.array(4);
            ctx.out.bulk(id.to_string().as_bytes());
            ctx.out.bulk(&p.consumer);
            ctx.out.int(p.delivery_time as i64);
            ctx.out.int(p.delivery_count as i64);
        }
        ctx.out.bulk(b"consumers");
        ctx.out.array(g.consumers.len());
        for (cname, c) in &g.consumers {
            ctx.out.map(5);
            ctx.out.bulk(b"name");
            ctx.out.bulk(cname);
            ctx.out.bulk(b"seen-time");
            ctx.out.int(c.seen_time as i64);
            ctx.out.bulk(b"active-time");
            ctx.out.int(c.active_time.map_or(-1, |t| t as i64));
            ctx.out.bulk(b"pel-count");
            ctx.out.int(c.pel.len() as i64);
            ctx.out.bulk(b"pending");
            let mine: Vec<_> = c.pel.iter().take(count).collect();
            ctx.out.array(mine.len());
            for id in mine {
                let p = &g.pel[id];
                ctx.out.array(3);
                ctx.out.bulk(id.to_string().as_bytes());
                ctx.out.int(p.delivery_time as i64);
                ctx.out.int(p.delivery_count as i64);
            }
        }
    }
    Ok(())
}

/// XINFO GROUPS key.
pub fn xinfo_groups(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(s) = read(ctx, &args[2], |s| s.cloned())? else {
        return Err(no_such_key());
    };
    ctx.out.array(s.groups.len());
    for (name, g) in &s.groups {
        ctx.out.map(6);
        ctx.out.bulk(b"name");
        ctx.out.bulk(name);
        ctx.out.bulk(b"consumers");
        ctx.out.int(g.consumers.len() as i64);
        ctx.out.bulk(b"pending");
        ctx.out.int(g.pel.len() as i64);
        ctx.out.bulk(b"last-delivered-id");
        ctx.out.bulk(g.last_id.to_string().as_bytes());
        ctx.out.bulk(b"entries-read");
        opt_int(ctx, g.entries_read);
        ctx.out.bulk(b"lag");
        opt_int(ctx, s.lag(g));
    }
    Ok(())
}

/// XINFO CONSUMERS key group.
pub fn xinfo_consumers(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (key, group) = (&args[2], &args[3]);
    let rows = read(ctx, key, |s| {
        let s = s.ok_or(EngineError::NoSuchKey)?;
        let g = s
            .groups
            .get(group)
            .ok_or_else(|| nogroup_for_key(group, key))?;
        Ok::<_, EngineError>(
            g.consumers
                .iter()
                .map(|(n, c)| (n.clone(), c.pel.len(), c.seen_time, c.active_time))
                .collect::<Vec<_>>(),
        )
    })??;
    let now = ctx.now();
    ctx.out.array(rows.len());
    for (name, pending, seen, active) in rows {
        ctx.out.map(4);
        ctx.out.bulk(b"name");
        ctx.out.bulk(&name);
        ctx.out.bulk(b"pending");
        ctx.out.int(pending as i64);
        ctx.out.bulk(b"idle");
        ctx.out.int(now.saturating_sub(seen) as i64);
        ctx.out.bulk(b"inactive");
        ctx.out
            .int(active.map_or(-1, |a| now.saturating_sub(a) as i64));
    }
    Ok(())
}

const W: &[&str] = &["write", "denyoom", "fast"];

/// The stream commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "xadd",
        arity: -5,
        flags: W,
        keys: K1,
        acl: &["@write", "@stream", "@fast"],
        group: "stream",
        since: "5.0.0",
        summary: "Appends a new message to a stream. Creates the key if it doesn't exist.",
        complexity: "O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.",
        syntax: "key [NOMKSTREAM] [KEEPREF | DELREF | ACKED] [(MAXLEN | MINID) [= | ~] threshold [LIMIT count:integer]] (* | id) field value [field value ...]",
        handler: xadd,
        ..BASE
    },
    CommandSpec {
        name: "xtrim",
        arity: -4,
        flags: &["write"],
        keys: K1,
        acl: &["@write", "@stream", "@slow"],
        group: "stream",
        since: "5.0.0",
        summary: "Deletes messages from the beginning of a stream.",
        complexity: "O(N), with N being the number of evicted entries.",
        syntax: "key (MAXLEN | MINID) [= | ~] threshold [LIMIT count:integer] [KEEPREF | DELREF | ACKED]",
        handler: xtrim,
        ..BASE
    },
    CommandSpec {
        name: "xrange",
        arity: -4,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@stream", "@slow"],
        group: "stream",
        since: "5.0.0",
        summary: "Returns the messages from a stream within a range of IDs.",
        complexity: "O(N) with N being the number of elements being returned.",
        syntax: "key start end [COUNT count:integer]",
        handler: xrange,
        ..BASE
    },
    CommandSpec {
        name: "xrevrange",
        arity: -4,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@stream", "@slow"],
        group: "stream",
        since: "5.0.0",
        summary: "Returns the messages from a stream within a range of IDs in reverse order.",
        complexity: "O(N) with N being the number of elements returned.",
        syntax: "key end start [COUNT count:integer]",
        handler: xrevrange,
        ..BASE
    },
    CommandSpec {
        name: "xlen",
        arity: 2,
        flags: &["readonly", "fast"],
        keys: K1,
        acl: &["@read", "@stream", "@fast"],
        group: "stream",
        since: "5.0.0",
        summary: "Return the number of messages in a stream.",
        complexity: "O(1)",
        syntax: "key",
        handler: xlen,
        ..BASE
    },
    CommandSpec {
        name: "xread",
        arity: -4,
        flags: &["readonly", "blocking", "movablekeys"],
        keys: (0, 0, 0),
        acl: &["@read", "@stream", "@slow", "@blocking"],
        group: "stream",
        since: "5.0.0",
        summary: "Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise.",
        complexity: "For each stream mentioned: O(N) with N being the number of elements being returned.",
        syntax: "[COUNT count:integer] [BLOCK milliseconds:integer] STREAMS key [key ...] id [id ...]",
        handler: xread,
        ..BASE
    },
    CommandSpec {
        name: "xreadgroup",
        arity: -7,
        flags: &["write", "blocking", "movablekeys"],
        keys: (0, 0, 0),
        acl: &["@write", "@stream", "@slow", "@blocking"],
        group: "stream",
        since: "5.0.0",
        summary: "Returns new or historical messages from a stream for a consumer in a group. Blocks until a message is available otherwise.",
        complexity: "For each stream mentioned: O(M) with M being the number of elements returned.",
        syntax: "GROUP group consumer [COUNT count:integer] [BLOCK milliseconds:integer] [CLAIM min-idle-time:integer] [NOACK] STREAMS key [key ...] id [id ...]",
        handler: xreadgroup,
        ..BASE
    },
    CommandSpec {
        name: "xgroup",
        arity: -2,
        acl: &["@slow"],
        group: "stream",
        since: "5.0.0",
        summary: "A container for consumer groups commands.",
        complexity: "Depends on subcommand.",
        subcommands: &[
            CommandSpec {
                name: "xgroup|create",
                arity: -5,
                flags: &["write", "denyoom"],
                keys: (2, 2, 1),
                acl: &["@write", "@stream", "@slow"],
                group: "stream",
                since: "5.0.0",
                summary: "Creates a consumer group.",
                syntax: "key group (id | $) [MKSTREAM] [ENTRIESREAD entriesread:integer]",
                handler: xgroup_create,
                ..BASE
            },
            CommandSpec {
                name: "xgroup|setid",
                arity: -5,
                flags: &["write"],
                keys: (2, 2, 1),
                acl: &["@write", "@stream", "@slow"],
                group: "stream",
                since: "5.0.0",
                summary: "Sets the last-delivered ID of a consumer group.",
                syntax: "key group (id | $) [ENTRIESREAD entriesread:integer]",
                handler: xgroup_setid,
                ..BASE
            },
            CommandSpec {
                name: "xgroup|destroy",
                arity: 4,
                flags: &["write"],
                keys: (2, 2, 1),
                acl: &["@write", "@stream", "@slow"],
                group: "stream",
                since: "5.0.0",
                summary: "Destroys a consumer group.",
                complexity: "O(N) where N is the number of entries in the group's pending entries list (PEL).",
                syntax: "key group",
                handler: xgroup_destroy,
                ..BASE
            },
            CommandSpec {
                name: "xgroup|createconsumer",
                arity: 5,
                flags: &["write", "denyoom"],
                keys: (2, 2, 1),
                acl: &["@write", "@stream", "@slow"],
                group: "stream",
                since: "6.2.0",
                summary: "Creates a consumer in a consumer group.",
                syntax: "key group consumer",
                handler: xgroup_createconsumer,
                ..BASE
            },
            CommandSpec {
                name: "xgroup|delconsumer",
                arity: 5,
                flags: &["write"],
                keys: (2, 2, 1),
                acl: &["@write", "@stream", "@slow"],
                group: "stream",
                since: "5.0.0",
                summary: "Deletes a consumer from a consumer group.",
                syntax: "key group consumer",
                handler: xgroup_delconsumer,
                ..BASE
            },
        ],
        ..BASE
    },
    CommandSpec {
        name: "xack",
        arity: -4,
        flags: &["write", "fast"],
        keys: K1,
        acl: &["@write", "@stream", "@fast"],
        group: "stream",
        since: "5.0.0",
        summary: "Returns the number of messages that were successfully acknowledged by the consumer group member of a stream.",
        complexity: "O(1) for each message ID processed.",
        syntax: "key group id [id ...]",
        handler: xack,
        ..BASE
    },
    CommandSpec {
        name: "xackdel",
        arity: -6,
        flags: &["write", "fast"],
        keys: K1,
        acl: &["@write", "@stream", "@fast"],
        group: "stream",
        since: "8.2.0",
        summary: "Acknowledges and deletes one or multiple messages for a stream consumer group.",
        complexity: "O(1) for each entry ID processed.",
        syntax: "key group [KEEPREF | DELREF | ACKED] IDS numids:integer id [id ...]",
        handler: xackdel,
        ..BASE
    },
    CommandSpec {
        name: "xpending",
        arity: -3,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@stream", "@slow"],
        group: "stream",
        since: "5.0.0",
        summary: "Returns the information and entries from a stream consumer group's pending entries list.",
        complexity: "O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.",
        syntax: "key group [[IDLE min-idle-time:integer] start end count:integer [consumer]]",
        handler: xpending,
        ..BASE
    },
    CommandSpec {
        name: "xclaim",
        arity: -6,
        flags: &["write", "fast"],
        keys: K1,
        acl: &["@write", "@stream", "@fast"],
        group: "stream",
        since: "5.0.0",
        summary: "Changes, or acquires, ownership of a message in a consumer group, as if the message was delivered a consumer group member.",
        complexity: "O(log N) with N being the number of messages in the PEL of the consumer group.",
        syntax: "key group consumer min-idle-time id [id ...] [IDLE ms:integer] [TIME unix-time-milliseconds:unix-time] [RETRYCOUNT count:integer] [FORCE] [JUSTID] [LASTID lastid]",
        handler: xclaim,
        ..BASE
    },
    CommandSpec {
        name: "xautoclaim",
        arity: -6,
        flags: &["write", "fast"],
        keys: K1,
        acl: &["@write", "@stream", "@fast"],
        group: "stream",
        since: "6.2.0",
        summary: "Changes, or acquires, ownership of messages in a consumer group, as if the messages were delivered to as consumer group member.",
        complexity: "O(1) if COUNT is small.",
        syntax: "key group consumer min-idle-time start [COUNT count:integer] [JUSTID]",
        handler: xautoclaim,
        ..BASE
    },
    CommandSpec {
        name: "xinfo",
        arity: -2,
        acl: &["@slow"],
        group: "stream",
        since: "5.0.0",
        summary: "A container for stream introspection commands.",
        complexity: "Depends on subcommand.",
        subcommands: &[
            CommandSpec {
                name: "xinfo|stream",
                arity: -3,
                flags: &["readonly"],
                keys: (2, 2, 1),
                acl: &["@read", "@stream", "@slow"],
                group: "stream",
                since: "5.0.0",
                summary: "Returns information about a stream.",
                syntax: "key [FULL [COUNT count:integer]]",
                handler: xinfo_stream,
                ..BASE
            },
            CommandSpec {
                name: "xinfo|groups",
                arity: 3,
                flags: &["readonly"],
                keys: (2, 2, 1),
                acl: &["@read", "@stream", "@slow"],
                group: "stream",
                since: "5.0.0",
                summary: "Returns a list of the consumer groups of a stream.",
                syntax: "key",
                handler: xinfo_groups,
                ..BASE
            },
            CommandSpec {
                name: "xinfo|consumers",
                arity: 4,
                flags: &["readonly"],
                keys: (2, 2, 1),
                acl: &["@read", "@stream", "@slow"],
                group: "stream",
                since: "5.0.0",
                summary: "Returns a list of the consumers in a consumer group.",
                syntax: "key group",
                handler: xinfo_consumers,
                ..BASE
            },
        ],
        ..BASE
    },
    CommandSpec {
        name: "xdel",
        arity: -3,
        flags: &["write", "fast"],
        keys: K1,
        acl: &["@write", "@stream", "@fast"],
        group: "stream",
        since: "5.0.0",
        summary: "Returns the number of messages after removing them from a stream.",
        complexity: "O(1) for each single item to delete in the stream, regardless of the stream size.",
        syntax: "key id [id ...]",
        handler: xdel,
        ..BASE
    },
    CommandSpec {
        name: "xdelex",
        arity: -5,
        flags: &["write", "fast"],
        keys: K1,
        acl: &["@write", "@stream", "@fast"],
        group: "stream",
        since: "8.2.0",
        summary: "Deletes one or multiple entries from the stream.",
        complexity: "O(1) for each single item to delete in the stream, regardless of the stream size.",
        syntax: "key [KEEPREF | DELREF | ACKED] IDS numids:integer id [id ...]",
        handler: xdelex,
        ..BASE
    },
    CommandSpec {
        name: "xsetid",
        arity: -3,
        flags: &["write", "denyoom", "fast"],
        keys: K1,
        acl: &["@write", "@stream", "@fast"],
        group: "stream",
        since: "5.0.0",
        summary: "An internal command for replicating stream values.",
        complexity: "O(1)",
        syntax: "key last-id [ENTRIESADDED entries-added:integer] [MAXDELETEDID max-deleted-id]",
        handler: xsetid,
        ..BASE
    },
];
