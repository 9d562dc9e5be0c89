//! Hash commands: HSET HSETNX HMSET HGET HMGET HGETALL HKEYS HVALS HLEN
//! HEXISTS HDEL HINCRBY HINCRBYFLOAT HSTRLEN HRANDFIELD HSCAN, Redis 8's
//! HGETDEL HGETEX HSETEX, and field expiry: HEXPIRE HPEXPIRE HEXPIREAT
//! HPEXPIREAT HTTL HPTTL HEXPIRETIME HPEXPIRETIME HPERSIST.
//!
//! Each command reads the hash and returns the edits it makes
//! ([`vexlake_engine::keyspace::Edit`]) under the key's shard lock; the
//! engine logs and applies them. Fields whose deadline passed are gone
//! before a command sees the hash (lazy expiry on lookup).

use bytes::Bytes;
use vexlake_engine::EngineError;
use vexlake_engine::keyspace::hash::HashValue;
use vexlake_engine::keyspace::{Edit, Value};
use vexlake_protocol::args::{is_keyword, parse_f64, parse_i64};

use super::collection::{
    ScanArgs, fields_at_end, matches, random_positions, scan_args, scan_reply, scan_step,
};
use super::table::{BASE, CommandSpec, K1};
use super::{CmdResult, Ctx, int_arg};
use crate::error::CmdError;
use crate::notify::HASH;

/// The largest field deadline Redis accepts (Unix ms, `2^46 - 1`).
const MAX_DEADLINE: i64 = (1 << 46) - 1;

/// Field expiry codes (HEXPIRE, HTTL, HPERSIST replies).
const NO_FIELD: i64 = -2;
const NO_TTL: i64 = -1;

/// Notifies `event` on `key`, and `del` when the command emptied it.
fn notify(ctx: &Ctx<'_>, event: &str, key: &[u8], emptied: bool) {
    super::collection::notify_change(ctx, HASH, event, key, emptied);
}

/// HSET key field value [field value ...] (and HMSET, which replies OK).
pub fn hset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() % 2 == 1 {
        return Err(CmdError::WrongArity(ctx.conn.last_cmd));
    }
    let pairs = &args[2..];
    let created = ctx.db().edit(&args[1], ctx.now(), |cur| {
        let h = Value::as_hash(cur)?;
        let mut seen = std::collections::HashSet::new();
        let mut created = 0;
        let mut edits = Vec::with_capacity(pairs.len() / 2);
        for p in pairs.chunks(2) {
            if h.is_none_or(|h| h.get(&p[0]).is_none()) && seen.insert(&p[0]) {
                created += 1;
            }
            edits.push(Edit::HSet {
                field: p[0].clone(),
                value: p[1].clone(),
            });
        }
        Ok((created, edits))
    })?;
    notify(ctx, "hset", &args[1], false);
    if ctx.conn.last_cmd == "hmset" {
        ctx.out.ok();
    } else {
        ctx.out.int(created);
    }
    Ok(())
}

/// HSETNX key field value.
pub fn hsetnx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let set = ctx.db().edit(&args[1], ctx.now(), |cur| {
        if Value::as_hash(cur)?.is_some_and(|h| h.get(&args[2]).is_some()) {
            return Ok((false, vec![]));
        }
        Ok((
            true,
            vec![Edit::HSet {
                field: args[2].clone(),
                value: args[3].clone(),
            }],
        ))
    })?;
    if set {
        notify(ctx, "hset", &args[1], false);
    }
    ctx.out.int(i64::from(set));
    Ok(())
}

/// Runs `f` on the hash at `key` (None when missing) for a read command.
fn read<R>(
    ctx: &Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(Option<&HashValue>) -> R,
) -> Result<R, CmdError> {
    Ok(ctx
        .db()
        .view(key, ctx.now(), |v| Value::as_hash(v).map(f))?)
}

/// HGET key field.
pub fn hget(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match read(ctx, &args[1], |h| {
        h.and_then(|h| h.get(&args[2]).map(Bytes::copy_from_slice))
    })? {
        Some(v) => ctx.out.bulk(&v),
        None => ctx.out.null(),
    }
    Ok(())
}

/// HMGET key field [field ...].
pub fn hmget(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let vals: Vec<Option<Bytes>> = read(ctx, &args[1], |h| {
        args[2..]
            .iter()
            .map(|f| h.and_then(|h| h.get(f).map(Bytes::copy_from_slice)))
            .collect()
    })?;
    ctx.out.array(vals.len());
    for v in vals {
        match v {
            Some(v) => ctx.out.bulk(&v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// What HGETALL, HKEYS and HVALS return.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    All,
    Keys,
    Vals,
}

fn dump_fields(ctx: &mut Ctx<'_>, args: &[Bytes], part: Part) -> CmdResult {
    let pairs: Vec<(Bytes, Bytes)> = read(ctx, &args[1], |h| {
        h.map(|h| {
            h.iter()
                .map(|(f, v)| (Bytes::copy_from_slice(f), Bytes::copy_from_slice(v)))
                .collect()
        })
        .unwrap_or_default()
    })?;
    match part {
        Part::All => ctx.out.map(pairs.len()),
        _ => ctx.out.array(pairs.len()),
    }
    for (f, v) in pairs {
        if part != Part::Vals {
            ctx.out.bulk(&f);
        }
        if part != Part::Keys {
            ctx.out.bulk(&v);
        }
    }
    Ok(())
}

/// HGETALL key.
pub fn hgetall(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    dump_fields(ctx, args, Part::All)
}

/// HKEYS key.
pub fn hkeys(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    dump_fields(ctx, args, Part::Keys)
}

/// HVALS key.
pub fn hvals(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    dump_fields(ctx, args, Part::Vals)
}

/// HLEN key.
pub fn hlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = read(ctx, &args[1], |h| h.map_or(0, |h| h.len()))?;
    ctx.out.int(n as i64);
    Ok(())
}

/// HEXISTS key field.
pub fn hexists(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let e = read(ctx, &args[1], |h| {
        h.is_some_and(|h| h.get(&args[2]).is_some())
    })?;
    ctx.out.int(i64::from(e));
    Ok(())
}

/// HSTRLEN key field.
pub fn hstrlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = read(ctx, &args[1], |h| {
        h.and_then(|h| h.get(&args[2])).map_or(0, |v| v.len())
    })?;
    ctx.out.int(n as i64);
    Ok(())
}

/// Removes `fields` of the hash at `key`; returns (values found, whether
/// the key was emptied).
fn remove_fields(
    ctx: &Ctx<'_>,
    key: &Bytes,
    fields: &[Bytes],
) -> Result<(Vec<Option<Bytes>>, bool), CmdError> {
    Ok(ctx.db().edit(key, ctx.now(), |cur| {
        let Some(h) = Value::as_hash(cur)? else {
            return Ok(((vec![None; fields.len()], false), vec![]));
        };
        let mut gone = std::collections::HashSet::new();
        let mut vals = Vec::with_capacity(fields.len());
        let mut edits = Vec::new();
        for f in fields {
            let v = h
                .get(f)
                .filter(|_| !gone.contains(&f[..]))
                .map(Bytes::copy_from_slice);
            if v.is_some() {
                gone.insert(&f[..]);
                edits.push(Edit::HDel { field: f.clone() });
            }
            vals.push(v);
        }
        let emptied = !edits.is_empty() && gone.len() == h.len();
        Ok(((vals, emptied), edits))
    })?)
}

/// HDEL key field [field ...].
pub fn hdel(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (vals, emptied) = remove_fields(ctx, &args[1], &args[2..])?;
    let n = vals.iter().filter(|v| v.is_some()).count();
    if n > 0 {
        notify(ctx, "hdel", &args[1], emptied);
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// HGETDEL key FIELDS numfields field [field ...].
pub fn hgetdel(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let fields = fields_at_end(args, 2)?;
    let (vals, emptied) = remove_fields(ctx, &args[1], fields)?;
    if vals.iter().any(Option::is_some) {
        notify(ctx, "hdel", &args[1], emptied);
    }
    ctx.out.array(vals.len());
    for v in vals {
        match v {
            Some(v) => ctx.out.bulk(&v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// HINCRBY key field increment.
pub fn hincrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let delta = int_arg(&args[3])?;
    let v = ctx.db().edit(&args[1], ctx.now(), |cur| {
        let base = match Value::as_hash(cur)?.and_then(|h| h.get(&args[2])) {
            None => 0,
            Some(b) => parse_i64(b).ok_or(EngineError::Refused("hash value is not an integer"))?,
        };
        let v = base.checked_add(delta).ok_or(EngineError::Overflow)?;
        let edit = Edit::HSet {
            field: args[2].clone(),
            value: Bytes::from(v.to_string()),
        };
        Ok((v, vec![edit]))
    })?;
    notify(ctx, "hincrby", &args[1], false);
    ctx.out.int(v);
    Ok(())
}

/// HINCRBYFLOAT key field increment.
pub fn hincrbyfloat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let delta = parse_f64(&args[3]).ok_or(CmdError::NotFloat)?;
    if !delta.is_finite() {
        return Err(CmdError::err("value is NaN or Infinity"));
    }
    let text = ctx.db().edit(&args[1], ctx.now(), |cur| {
        let base = match Value::as_hash(cur)?.and_then(|h| h.get(&args[2])) {
            None => 0.0,
            Some(b) => std::str::from_utf8(b)
                .ok()
                .filter(|s| {
                    !s.is_empty()
                        && !s.starts_with(char::is_whitespace)
                        && !s.ends_with(char::is_whitespace)
                })
                .and_then(|s| s.parse::<f64>().ok())
                .filter(|f| !f.is_nan())
                .ok_or(EngineError::Refused("hash value is not a float"))?,
        };
        let v = base + delta;
        if !v.is_finite() {
            return Err(EngineError::NanOrInfinity);
        }
        let text = Bytes::from(format!("{v}"));
        let edit = Edit::HSet {
            field: args[2].clone(),
            value: text.clone(),
        };
        Ok((text, vec![edit]))
    })?;
    notify(ctx, "hincrbyfloat", &args[1], false);
    ctx.out.bulk(&text);
    Ok(())
}

/// HRANDFIELD key [count [WITHVALUES]].
pub fn hrandfield(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() == 2 {
        let pick = read(ctx, &args[1], |h| {
            h.and_then(|h| {
                h.get_index(fastrand::usize(..h.len()))
                    .map(|(f, _)| Bytes::copy_from_slice(f))
            })
        })?;
        match pick {
            Some(f) => ctx.out.bulk(&f),
            None => ctx.out.null(),
        }
        return Ok(());
    }
    let count = int_arg(&args[2])?;
    let with_values = match args.get(3) {
        None => false,
        Some(a) if args.len() == 4 && is_keyword(a, "withvalues") => true,
        Some(_) => return Err(CmdError::Syntax),
    };
    if count == i64::MIN || (with_values && count.unsigned_abs() > (i64::MAX / 2) as u64) {
        return Err(CmdError::err("value is out of range"));
    }
    let picks: Vec<(Bytes, Bytes)> = read(ctx, &args[1], |h| {
        let Some(h) = h else { return Vec::new() };
        random_positions(h.len(), count)
            .into_iter()
            .filter_map(|i| {
                h.get_index(i)
                    .map(|(f, v)| (Bytes::copy_from_slice(f), Bytes::copy_from_slice(v)))
            })
            .collect()
    })?;
    let resp3 = ctx.out.protocol() == vexlake_protocol::Protocol::Resp3;
    match (with_values, resp3) {
        (true, true) => ctx.out.array(picks.len()),
        (true, false) => ctx.out.array(picks.len() * 2),
        (false, _) => ctx.out.array(picks.len()),
    }
    for (f, v) in picks {
        if with_values && resp3 {
            ctx.out.array(2);
        }
        ctx.out.bulk(&f);
        if with_values {
            ctx.out.bulk(&v);
        }
    }
    Ok(())
}

/// HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES].
pub fn hscan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let a: ScanArgs = scan_args(args, true)?;
    let (next, items) = read(ctx, &args[1], |h| {
        let Some(h) = h else { return (0, Vec::new()) };
        let (range, next) = scan_step(h.len(), &a);
        let mut items = Vec::new();
        for i in range {
            if let Some((f, v)) = h.get_index(i)
                && matches(&a, f)
            {
                items.push(Bytes::copy_from_slice(f));
                if !a.novalues {
                    items.push(Bytes::copy_from_slice(v));
                }
            }
        }
        (next, items)
    })?;
    scan_reply(ctx, next, &items);
    Ok(())
}

/// An expiry given as EX/PX/EXAT/PXAT (value in args) made absolute (ms).
fn hash_deadline(
    arg: &[u8],
    millis: bool,
    absolute: bool,
    now: u64,
    cmd: &str,
) -> Result<u64, CmdError> {
    let v = int_arg(arg)?;
    if v < 0 {
        return Err(CmdError::err("invalid expire time, must be >= 0"));
    }
    let invalid = || CmdError::err(format!("invalid expire time in '{cmd}' command"));
    let ms = if millis {
        v
    } else if v > MAX_DEADLINE / 1000 {
        return Err(invalid());
    } else {
        v * 1000
    };
    let base = if absolute { 0 } else { now as i64 };
    if ms > MAX_DEADLINE - base {
        return Err(invalid());
    }
    Ok((ms + base) as u64)
}

/// An expiry keyword: (millis, absolute).
fn expiry_keyword(a: &[u8]) -> Option<(bool, bool)> {
    match () {
        _ if is_keyword(a, "ex") => Some((false, false)),
        _ if is_keyword(a, "px") => Some((true, false)),
        _ if is_keyword(a, "exat") => Some((false, true)),
        _ if is_keyword(a, "pxat") => Some((true, true)),
        _ => None,
    }
}

/// What HGETEX / HSETEX do to the fields' TTLs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TtlOpt {
    /// Leave (HGETEX) or clear (HSETEX) them.
    None,
    /// Expire at this Unix ms.
    At(u64),
    /// HGETEX PERSIST.
    Persist,
    /// HSETEX KEEPTTL.
    Keep,
}

/// HGETEX / HSETEX options and their FIELDS block (Redis's parser and texts).
struct ExArgs<'a> {
    ttl: TtlOpt,
    /// FNX (Some(false)) / FXX (Some(true)).
    exist: Option<bool>,
    fields: &'a [Bytes],
}

fn parse_ex<'a>(ctx: &Ctx<'_>, args: &'a [Bytes], setex: bool) -> Result<ExArgs<'a>, CmdError> {
    let cmd = ctx.conn.last_cmd;
    let mut out = ExArgs {
        ttl: TtlOpt::None,
        exist: None,
        fields: &[],
    };
    let mut seen_fields = false;
    let per = if setex { 2 } else { 1 };
    let ttl_error = || {
        CmdError::err(if setex {
            "Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified"
        } else {
            "Only one of EX, PX, EXAT, PXAT or PERSIST arguments can be specified"
        })
    };
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if is_keyword(a, "fields") {
            if seen_fields {
                return Err(CmdError::err("FIELDS keyword specified multiple times"));
            }
            let Some(n) = args.get(i + 1) else {
                return Err(CmdError::WrongArity(cmd));
            };
            let n = parse_i64(n)
                .filter(|&n| (1..=i64::from(i32::MAX)).contains(&n))
                .ok_or_else(|| CmdError::err("invalid number of fields"))?
                as usize;
            let first = i + 2;
            if first + n * per > args.len() {
                return Err(CmdError::err("wrong number of arguments"));
            }
            out.fields = &args[first..first + n * per];
            seen_fields = true;
            i = first + n * per;
            continue;
        }
        if let Some((millis, absolute)) = expiry_keyword(a) {
            if out.ttl != TtlOpt::None {
                return Err(ttl_error());
            }
            let Some(v) = args.get(i + 1) else {
                return Err(CmdError::err("missing expire time"));
            };
            out.ttl = TtlOpt::At(hash_deadline(v, millis, absolute, ctx.now(), cmd)?);
            i += 2;
            continue;
        }
        if !setex && is_keyword(a, "persist") {
            if out.ttl != TtlOpt::None {
                return Err(ttl_error());
            }
            out.ttl = TtlOpt::Persist;
        } else if setex && is_keyword(a, "keepttl") {
            if out.ttl != TtlOpt::None {
                return Err(ttl_error());
            }
            out.ttl = TtlOpt::Keep;
        } else if setex && (is_keyword(a, "fxx") || is_keyword(a, "fnx")) {
            if out.exist.is_some() {
                return Err(CmdError::err(
                    "Only one of FXX or FNX arguments can be specified",
                ));
            }
            out.exist = Some(is_keyword(a, "fxx"));
        } else {
            return Err(CmdError::err(format!(
                "unknown argument: {}",
                String::from_utf8_lossy(a)
            )));
        }
        i += 1;
    }
    if !seen_fields {
        return Err(CmdError::err("missing FIELDS argument"));
    }
    Ok(out)
}

/// HGETEX key [EX s | PX ms | EXAT t | PXAT t | PERSIST] FIELDS n field ...
pub fn hgetex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let ex = parse_ex(ctx, args, false)?;
    let now = ctx.now();
    let (vals, changed, emptied) = ctx.db().edit(&args[1], now, |cur| {
        let Some(h) = Value::as_hash(cur)? else {
            return Ok(((vec![None; ex.fields.len()], None, false), vec![]));
        };
        let vals: Vec<Option<Bytes>> = ex
            .fields
            .iter()
            .map(|f| h.get(f).map(Bytes::copy_from_slice))
            .collect();
        let mut edits = Vec::new();
        let mut touched = std::collections::HashSet::new();
        let mut deleted = 0;
        for f in ex.fields {
            if h.get(f).is_none() || !touched.insert(&f[..]) {
                continue;
            }
            match ex.ttl {
                TtlOpt::At(t) if t <= now => {
                    deleted += 1;
                    edits.push(Edit::HDel { field: f.clone() });
                }
                TtlOpt::At(t) => edits.push(Edit::HExpire {
                    field: f.clone(),
                    at: Some(t),
                }),
                TtlOpt::Persist if h.expire_at(f).is_some() => edits.push(Edit::HExpire {
                    field: f.clone(),
                    at: None,
                }),
                _ => {}
            }
        }
        let event = match ex.ttl {
            _ if edits.is_empty() => None,
            TtlOpt::At(t) if t <= now => Some("hdel"),
            TtlOpt::At(_) => Some("hexpire"),
            _ => Some("hpersist"),
        };
        Ok(((vals, event, deleted > 0 && deleted == h.len()), edits))
    })?;
    if let Some(event) = changed {
        notify(ctx, event, &args[1], emptied);
    }
    ctx.out.array(vals.len());
    for v in vals {
        match v {
            Some(v) => ctx.out.bulk(&v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// HSETEX key [FNX | FXX] [EX s | PX ms | EXAT t | PXAT t | KEEPTTL]
/// FIELDS n field value ...
pub fn hsetex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let ex = parse_ex(ctx, args, true)?;
    let now = ctx.now();
    let (set, emptied) = ctx.db().edit(&args[1], now, |cur| {
        let h = Value::as_hash(cur)?;
        let exists = |f: &[u8]| h.is_some_and(|h| h.get(f).is_some());
        let pairs = || ex.fields.chunks(2);
        let allowed = match ex.exist {
            None => true,
            Some(true) => pairs().all(|p| exists(&p[0])),
            Some(false) => !pairs().any(|p| exists(&p[0])),
        };
        if !allowed {
            return Ok(((false, false), vec![]));
        }
        let mut edits = Vec::new();
        for p in pairs() {
            let keep = match ex.ttl {
                TtlOpt::Keep => h.and_then(|h| h.expire_at(&p[0])),
                _ => None,
            };
            edits.push(Edit::HSet {
                field: p[0].clone(),
                value: p[1].clone(),
            });
            let at = match ex.ttl {
                TtlOpt::At(t) => Some(t),
                _ => keep,
            };
            if let Some(t) = at {
                edits.push(if t <= now {
                    Edit::HDel {
                        field: p[0].clone(),
                    }
                } else {
                    Edit::HExpire {
                        field: p[0].clone(),
                        at: Some(t),
                    }
                });
            }
        }
        // Every field set in the past: the hash may end up empty.
        let past = matches!(ex.ttl, TtlOpt::At(t) if t <= now);
        let emptied = past && {
            let mut fields: std::collections::HashSet<&[u8]> = h
                .map(|h| h.iter().map(|(f, _)| f).collect())
                .unwrap_or_default();
            for p in pairs() {
                fields.remove(&p[0][..]);
            }
            fields.is_empty()
        };
        Ok(((true, emptied), edits))
    })?;
    if set {
        ctx.notify(HASH, "hset", &args[1]);
        match ex.ttl {
            TtlOpt::At(t) if t <= now => notify(ctx, "hdel", &args[1], emptied),
            TtlOpt::At(_) => ctx.notify(HASH, "hexpire", &args[1]),
            _ => {}
        }
    }
    ctx.out.int(i64::from(set));
    Ok(())
}

/// HEXPIRE-family condition.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cond {
    Always,
    Nx,
    Xx,
    Gt,
    Lt,
}

/// HEXPIRE key seconds [NX | XX | GT | LT] FIELDS numfields field ...
/// (and HPEXPIRE, HEXPIREAT, HPEXPIREAT).
fn hexpire_generic(ctx: &mut Ctx<'_>, args: &[Bytes], millis: bool, absolute: bool) -> CmdResult {
    let cmd = ctx.conn.last_cmd;
    let now = ctx.now();
    let at = hash_deadline(&args[2], millis, absolute, now, cmd)?;
    let mut cond = Cond::Always;
    let mut conds = 0;
    let mut fields: Option<&[Bytes]> = None;
    let mut i = 3;
    while i < args.len() {
        let a = &args[i];
        if is_keyword(a, "fields") {
            if fields.is_some() {
                return Err(CmdError::err("FIELDS keyword specified multiple times"));
            }
            if i + 2 >= args.len() {
                return Err(CmdError::err(
                    "FIELDS requires at least numfields and one field argument",
                ));
            }
            let n = parse_i64(&args[i + 1])
                .filter(|&n| (1..=i64::from(i32::MAX)).contains(&n))
                .ok_or_else(|| CmdError::err("Parameter `numFields` should be greater than 0"))?
                as usize;
            let first = i + 2;
            if n > args.len() - first {
                return Err(CmdError::err("wrong number of arguments"));
            }
            fields = Some(&args[first..first + n]);
            i = first + n;
            continue;
        }
        cond = match () {
            _ if is_keyword(a, "nx") => Cond::Nx,
            _ if is_keyword(a, "xx") => Cond::Xx,
            _ if is_keyword(a, "gt") => Cond::Gt,
            _ if is_keyword(a, "lt") => Cond::Lt,
            _ => {
                return Err(CmdError::err(format!(
                    "unknown argument: {}",
                    String::from_utf8_lossy(a)
                )));
            }
        };
        conds += 1;
        i += 1;
    }
    let Some(fields) = fields else {
        return Err(CmdError::err("missing FIELDS argument"));
    };
    if conds > 1 {
        return Err(CmdError::err("Multiple condition flags specified"));
    }
    let (codes, emptied) = ctx.db().edit(&args[1], now, |cur| {
        let Some(h) = Value::as_hash(cur)? else {
            return Ok(((vec![NO_FIELD; fields.len()], false), vec![]));
        };
        let mut codes = Vec::with_capacity(fields.len());
        let mut edits = Vec::new();
        let mut deleted = std::collections::HashSet::new();
        for f in fields {
            if h.get(f).is_none() || deleted.contains(&f[..]) {
                codes.push(NO_FIELD);
                continue;
            }
            let prev = h.expire_at(f);
            let met = match (cond, prev) {
                (Cond::Always, _) => true,
                (Cond::Nx, p) => p.is_none(),
                (Cond::Xx | Cond::Gt, None) => false,
                (Cond::Lt, None) => true,
                (Cond::Xx, Some(_)) => true,
                (Cond::Gt, Some(p)) => at > p,
                (Cond::Lt, Some(p)) => at < p,
            };
            if !met {
                codes.push(0);
            } else if at <= now {
                deleted.insert(&f[..]);
                edits.push(Edit::HDel { field: f.clone() });
                codes.push(2);
            } else {
                edits.push(Edit::HExpire {
                    field: f.clone(),
                    at: Some(at),
                });
                codes.push(1);
            }
        }
        let emptied = !deleted.is_empty() && deleted.len() == h.len();
        Ok(((codes, emptied), edits))
    })?;
    if codes.contains(&2) {
        notify(ctx, "hdel", &args[1], emptied);
    } else if codes.contains(&1) {
        ctx.notify(HASH, "hexpire", &args[1]);
    }
    ctx.out.array(codes.len());
    for c in codes {
        ctx.out.int(c);
    }
    Ok(())
}

/// HEXPIRE key seconds [NX | XX | GT | LT] FIELDS numfields field ...
pub fn hexpire(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    hexpire_generic(ctx, args, false, false)
}

/// HPEXPIRE key milliseconds [...] FIELDS numfields field ...
pub fn hpexpire(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    hexpire_generic(ctx, args, true, false)
}

/// HEXPIREAT key unix-time-seconds [...] FIELDS numfields field ...
pub fn hexpireat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    hexpire_generic(ctx, args, false, true)
}

/// HPEXPIREAT key unix-time-milliseconds [...] FIELDS numfields field ...
pub fn hpexpireat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    hexpire_generic(ctx, args, true, true)
}

/// HTTL / HPTTL / HEXPIRETIME / HPEXPIRETIME key FIELDS numfields field ...
fn ttl_generic(ctx: &mut Ctx<'_>, args: &[Bytes], millis: bool, absolute: bool) -> CmdResult {
    // WRONGTYPE comes before argument errors, as in Redis.
    read(ctx, &args[1], |_| ())?;
    let fields = fields_at_end(args, 2)?;
    let now = ctx.now();
    let codes: Vec<i64> = read(ctx, &args[1], |h| {
        fields
            .iter()
            .map(|f| match h {
                Some(h) if h.get(f).is_some() => match h.expire_at(f) {
                    None => NO_TTL,
                    Some(t) => {
                        let v = if absolute { t } else { t.saturating_sub(now) };
                        match (millis, absolute) {
                            (true, _) => v as i64,
                            (false, true) => (v / 1000) as i64,
                            (false, false) => v.div_ceil(1000) as i64,
                        }
                    }
                },
                _ => NO_FIELD,
            })
            .collect()
    })?;
    ctx.out.array(codes.len());
    for c in codes {
        ctx.out.int(c);
    }
    Ok(())
}

/// HTTL key FIELDS numfields field ...
pub fn httl(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, false, false)
}

/// HPTTL key FIELDS numfields field ...
pub fn hpttl(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, true, false)
}

/// HEXPIRETIME key FIELDS numfields field ...
pub fn hexpiretime(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, false, true)
}

/// HPEXPIRETIME key FIELDS numfields field ...
pub fn hpexpiretime(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, true, true)
}

/// HPERSIST key FIELDS numfields field ...
pub fn hpersist(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    read(ctx, &args[1], |_| ())?;
    let fields = fields_at_end(args, 2)?;
    let codes = ctx.db().edit(&args[1], ctx.now(), |cur| {
        let h = Value::as_hash(cur)?;
        let mut codes = Vec::with_capacity(fields.len());
        let mut edits = Vec::new();
        let mut done = std::collections::HashSet::new();
        for f in fields {
            codes.push(match h {
                Some(h) if h.get(f).is_some() => {
                    if h.expire_at(f).is_some() && done.insert(&f[..]) {
                        edits.push(Edit::HExpire {
                            field: f.clone(),
                            at: None,
                        });
                        1
                    } else {
                        NO_TTL
                    }
                }
                _ => NO_FIELD,
            });
        }
        Ok((codes, edits))
    })?;
    if codes.contains(&1) {
        ctx.notify(HASH, "hpersist", &args[1]);
    }
    ctx.out.array(codes.len());
    for c in codes {
        ctx.out.int(c);
    }
    Ok(())
}

/// The hash commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "hset",
        arity: -4,
        flags: &["write", "denyoom", "fast"],
        keys: K1,
        acl: &["@write", "@hash", "@fast"],
        group: "hash",
        since: "2.0.0",
        summary: "Creates or modifies the value of a field in a hash.",
        complexity: "O(1) for each field/value pair added",
        syntax: "key field value [field value ...]",
        handler: hset,
        ..BASE
    },
    CommandSpec {
        name: "hsetnx",
        arity: 4,
        flags: &["write", "denyoom", "fast"],
        keys: K1,
        acl: &["@write", "@hash", "@fast"],
        group: "hash",
        since: "2.0.0",
        summary: "Sets the value of a field in a hash only when the field doesn't exist.",
        complexity: "O(1)",
        syntax: "key field value",
        handler: hsetnx,
        ..BASE
    },
    CommandSpec {
        name: "hmset",
        arity: -4,
        flags: &["write", "denyoom", "fast"],
        keys: K1,
        acl: &["@write", "@hash", "@fast"],
        group: "hash",
        since: "2.0.0",
        summary: "Sets the values of multiple fields.",
        complexity: "O(N) where N is the number of fields being set.",
        syntax: "key field value [field value ...]",
        handler: hset,
        ..BASE
    },
    CommandSpec {
        name: "hget",
        arity: 3,
        flags: &["readonly", "fast"],
        keys: K1,
        acl: &["@read", "@hash", "@fast"],
        group: "hash",
        since: "2.0.0",
        summary: "Returns the value of a field in a hash.",
        complexity: "O(1)",
        syntax: "key field",
        handler: hget,
        ..BASE
    },
    CommandSpec {
        name: "hmget",
        arity: -3,
        flags: &["readonly", "fast"],
        keys: K1,
        acl: &["@read", "@hash", "@fast"],
        group: "hash",
        since: "2.0.0",
        summary: "Returns the values of all fields in a hash.",
        complexity: "O(N) where N is the number of fields being requested.",
        syntax: "key field [field ...]",
        handler: hmget,
        ..BASE
    },
    CommandSpec {
        name: "hgetall",
        arity: 2,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@hash", "@slow"],
        group: "hash",
        since: "2.0.0",
        summary: "Returns all fields and values in a hash.",
        complexity: "O(N) where N is the size of the hash.",
        syntax: "key",
        handler: hgetall,
        ..BASE
    },
    CommandSpec {
        name: "hkeys",
        arity: 2,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@hash", "@slow"],
        group: "hash",
        since: "2.0.0",
        summary: "Returns all fields in a hash.",
        complexity: "O(N) where N is the size of the hash.",
        syntax: "key",
        handler: hkeys,
        ..BASE
    },
    CommandSpec {
        name: "hvals",
        arity: 2,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@hash", "@slow"],
        group: "hash",
        since: "2.0.0",
        summary: "Returns all values in a hash.",
        complexity: "O(N) where N is the size of the hash.",
        syntax: "key",
        handler: hvals,
        ..BASE
    },
    CommandSpec {
        name: "hlen",
        arity: 2,
        flags: &["readonly", "fast"],
        keys: K1,
        acl: &["@read", "@hash", "@fast"],
        group: "hash",
        since: "2.0.0",
        summary: "Returns the number of fields in a hash.",
        complexity: "O(1)",
        syntax: "key",
        handler: hlen,
        ..BASE
    },
    CommandSpec {
        name: "hexists",
        arity: 3,
        flags: &["readonly", "fast"],
        keys: K1,
        acl: &["@read", "@hash", "@fast"],
        group: "hash",
        since: "2.0.0",
        summary: "Determines whether a field exists in a hash.",
        complexity: "O(1)",
        syntax: "key field",
        handler: hexists,
        ..BASE
    },
    CommandSpec {
        name: "hdel",
        arity: -3,
        flags: &["write", "fast"],
        keys: K1,
        acl: &["@write", "@hash", "@fast"],
        group: "hash",
        since: "2.0.0",
        summary: "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.",
        complexity: "O(N) where N is the number of fields to be removed.",
        syntax: "key field [field ...]",
        handler: hdel,
        ..BASE
    },
    CommandSpec {
        name: "hincrby",
        arity: 4,
        flags: &["write", "denyoom", "fast"],
        keys: K1,
        acl: &["@write", "@hash", "@fast"],
        group: "hash",
        since: "2.0.0",
        summary: "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.",
        complexity: "O(1)",
        syntax: "key field increment:integer",
        handler: hincrby,
        ..BASE
    },
    CommandSpec {
        name: "hincrbyfloat",
        arity: 4,
        flags: &["write", "denyoom", "fast"],
        keys: K1,
        acl: &["@write", "@hash", "@fast"],
        group: "hash",
        since: "2.6.0",
        summary: "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.",
        complexity: "O(1)",
        syntax: "key field increment:double",
        handler: hincrbyfloat,
        ..BASE
    },
    CommandSpec {
        name: "hstrlen",
        arity: 3,
        flags: &["readonly", "fast"],
        keys: K1,
        acl: &["@read", "@hash", "@fast"],
        group: "hash",
        since: "3.2.0",
        summary: "Returns the length of the value of a field.",
        complexity: "O(1)",
        syntax: "key field",
        handler: hstrlen,
        ..BASE
    },
    CommandSpec {
        name: "hrandfield",
        arity: -2,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@hash", "@slow"],
        group: "hash",
        since: "6.2.0",
        summary: "Returns one or more random fields from a hash.",
        complexity: "O(N) where N is the number of fields returned",
        syntax: "key [count:integer [WITHVALUES]]",
        handler: hrandfield,
        ..BASE
    },
    CommandSpec {
        name: "hscan",
        arity: -3,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@hash", "@slow"],
        group: "hash",
        since: "2.8.0",
        summary: "Iterates over fields and values of a hash.",
        complexity: "O(1) for every call. O(N) for a complete iteration.",
        syntax: "key cursor:integer [MATCH pattern:pattern] [COUNT count:integer] [NOVALUES]",
        handler: hscan,
        ..BASE
    },
    CommandSpec {
        name: "hgetdel",
        arity: -5,
        flags: &["write", "fast"],
        keys: K1,
        acl: &["@write", "@hash", "@fast"],
        group: "hash",
        since: "8.0.0",
        summary: "Returns the value of a field and deletes it from the hash.",
        complexity: "O(N) where N is the number of specified fields",
        syntax: "key FIELDS numfields:integer field [field ...]",
        handler: hgetdel,
        ..BASE
    },
    CommandSpec {
        name: "hgetex",
        arity: -5,
        flags: &["write", "fast"],
        keys: K1,
        acl: &["@write", "@hash", "@fast"],
        group: "hash",
        since: "8.0.0",
        summary: "Get the value of one or more fields of a given hash key, and optionally set their expiration.",
        complexity: "O(N) where N is the number of specified fields",
        syntax: "key [EX seconds:integer | PX milliseconds:integer | EXAT unix-time-seconds:unix-time | PXAT unix-time-milliseconds:unix-time | PERSIST] FIELDS numfields:integer field [field ...]",
        handler: hgetex,
        ..BASE
    },
    CommandSpec {
        name: "hsetex",
        arity: -6,
        flags: &["write", "denyoom", "fast"],
        keys: K1,
        acl: &["@write", "@hash", "@fast"],
        group: "hash",
        since: "8.0.0",
        summary: "Set the value of one or more fields of a given hash key, and optionally set their expiration.",
        complexity: "O(N) where N is the number of fields being set.",
        syntax: "key [FNX | FXX] [EX seconds:integer | PX milliseconds:integer | EXAT unix-time-seconds:unix-time | PXAT unix-time-milliseconds:unix-time | KEEPTTL] FIELDS numfields:integer field value [field value ...]",
        handler: hsetex,
        ..BASE
    },
    CommandSpec {
        name: "hexpire",
        arity: -6,
        flags: &["write", "denyoom", "fast"],
        keys: K1,
        acl: &["@write", "@hash", "@fast"],
        group: "hash",
        since: "7.4.0",
        summary: "Set expiry for hash field using relative time to expire (seconds)",
        complexity: "O(N) where N is the number of specified fields",
        syntax: "key seconds:integer [NX | XX | GT | LT] FIELDS numfields:integer field [field ...]",
        handler: hexpire,
        ..BASE
    },
    CommandSpec {
        name: "hpexpire",
        arity: -6,
        flags: &["write", "denyoom", "fast"],
        keys: K1,
        acl: &["@write", "@hash", "@fast"],
        group: "hash",
        since: "7.4.0",
        summary: "Set expiry for hash field using relative time to expire (milliseconds)",
        complexity: "O(N) where N is the number of specified fields",
        syntax: "key milliseconds:integer [NX | XX | GT | LT] FIELDS numfields:integer field [field ...]",
        handler: hpexpire,
        ..BASE
    },
    CommandSpec {
        name: "hexpireat",
        arity: -6,
        flags: &["write", "denyoom", "fast"],
        keys: K1,
        acl: &["@write", "@hash", "@fast"],
        group: "hash",
        since: "7.4.0",
        summary: "Set expiry for hash field using an absolute Unix timestamp (seconds)",
        complexity: "O(N) where N is the number of specified fields",
        syntax: "key unix-time-seconds:unix-time [NX | XX | GT | LT] FIELDS numfields:integer field [field ...]",
        handler: hexpireat,
        ..BASE
    },
    CommandSpec {
        name: "hpexpireat",
        arity: -6,
        flags: &["write", "denyoom", "fast"],
        keys: K1,
        acl: &["@write", "@hash", "@fast"],
        group: "hash",
        since: "7.4.0",
        summary: "Set expiry for hash field using an absolute Unix timestamp (milliseconds)",
        complexity: "O(N) where N is the number of specified fields",
        syntax: "key unix-time-milliseconds:unix-time [NX | XX | GT | LT] FIELDS numfields:integer field [field ...]",
        handler: hpexpireat,
        ..BASE
    },
    CommandSpec {
        name: "httl",
        arity: -5,
        flags: &["readonly", "fast"],
        keys: K1,
        acl: &["@read", "@hash", "@fast"],
        group: "hash",
        since: "7.4.0",
        summary: "Returns the TTL in seconds of a hash field.",
        complexity: "O(N) where N is the number of specified fields",
        syntax: "key FIELDS numfields:integer field [field ...]",
        handler: httl,
        ..BASE
    },
    CommandSpec {
        name: "hpttl",
        arity: -5,
        flags: &["readonly", "fast"],
        keys: K1,
        acl: &["@read", "@hash", "@fast"],
        group: "hash",
        since: "7.4.0",
        summary: "Returns the TTL in milliseconds of a hash field.",
        complexity: "O(N) where N is the number of specified fields",
        syntax: "key FIELDS numfields:integer field [field ...]",
        handler: hpttl,
        ..BASE
    },
    CommandSpec {
        name: "hexpiretime",
        arity: -5,
        flags: &["readonly", "fast"],
        keys: K1,
        acl: &["@read", "@hash", "@fast"],
        group: "hash",
        since: "7.4.0",
        summary: "Returns the expiration time of a hash field as a Unix timestamp, in seconds.",
        complexity: "O(N) where N is the number of specified fields",
        syntax: "key FIELDS numfields:integer field [field ...]",
        handler: hexpiretime,
        ..BASE
    },
    CommandSpec {
        name: "hpexpiretime",
        arity: -5,
        flags: &["readonly", "fast"],
        keys: K1,
        acl: &["@read", "@hash", "@fast"],
        group: "hash",
        since: "7.4.0",
        summary: "Returns the expiration time of a hash field as a Unix timestamp, in msec.",
        complexity: "O(N) where N is the number of specified fields",
        syntax: "key FIELDS numfields:integer field [field ...]",
        handler: hpexpiretime,
        ..BASE
    },
    CommandSpec {
        name: "hpersist",
        arity: -5,
        flags: &["write", "fast"],
        keys: K1,
        acl: &["@write", "@hash", "@fast"],
        group: "hash",
        since: "7.4.0",
        summary: "Removes the expiration time for each specified field",
        complexity: "O(N) where N is the number of specified fields",
        syntax: "key FIELDS numfields:integer field [field ...]",
        handler: hpersist,
        ..BASE
    },
];
