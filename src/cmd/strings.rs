//! String commands: GET SET GETEX GETDEL SETEX PSETEX SETNX MGET MSET MSETNX
//! MSETEX INCR INCRBY DECR DECRBY INCRBYFLOAT APPEND STRLEN GETRANGE
//! SETRANGE, and Redis 8.4's DELEX and DIGEST (SET's IFEQ/IFNE/IFDEQ/IFDNE
//! compare the current value, or its XXH3 digest, before writing).

use bytes::Bytes;
use vexlake_engine::keyspace::{SetCond, SetOptions, SetTtl, TtlChange, ValueCond, digest};
use vexlake_protocol::args::{is_keyword, parse_f64};

use super::keys::deadline;
use super::{CmdResult, Ctx, int_arg};
use crate::error::CmdError;
use crate::notify::{GENERIC, STRING};

/// The events of a string write: `set`, then `expire` when it set a TTL.
fn notify_set(ctx: &Ctx<'_>, key: &[u8], ttl: SetTtl) {
    ctx.notify(STRING, "set", key);
    if matches!(ttl, SetTtl::At(_)) {
        ctx.notify(GENERIC, "expire", key);
    }
}

/// GET key.
pub fn get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match ctx.db().get(&args[1], ctx.now())? {
        Some(v) => ctx.out.bulk(&v),
        None => ctx.out.null(),
    }
    Ok(())
}

/// An expiry option (`EX`, `PX`, `EXAT`, `PXAT`) at `args[i]`, if it is one:
/// returns (millis, absolute).
fn expiry_keyword(arg: &[u8]) -> Option<(bool, bool)> {
    match () {
        _ if is_keyword(arg, "ex") => Some((false, false)),
        _ if is_keyword(arg, "px") => Some((true, false)),
        _ if is_keyword(arg, "exat") => Some((false, true)),
        _ if is_keyword(arg, "pxat") => Some((true, true)),
        _ => None,
    }
}

/// Parses an expiry value: must be positive (Redis refuses 0 and negatives).
fn expiry_value(
    arg: &[u8],
    millis: bool,
    absolute: bool,
    now: u64,
    cmd: &str,
) -> Result<u64, CmdError> {
    let v = int_arg(arg)?;
    if v <= 0 {
        return Err(CmdError::err(format!(
            "invalid expire time in '{cmd}' command"
        )));
    }
    deadline(v, millis, absolute, now, cmd)
}

/// Parsed SET arguments.
struct SetArgs<'a> {
    opts: SetOptions<'a>,
}

/// Length of a DIGEST (hex digits).
const DIGEST_LEN: usize = 16;

/// The condition keyword (IFEQ, IFNE, IFDEQ, IFDNE) with its argument.
fn value_cond<'a>(keyword: &[u8], arg: &'a [u8]) -> Option<ValueCond<'a>> {
    match () {
        _ if is_keyword(keyword, "ifeq") => Some(ValueCond::Eq(arg)),
        _ if is_keyword(keyword, "ifne") => Some(ValueCond::Ne(arg)),
        _ if is_keyword(keyword, "ifdeq") => Some(ValueCond::DigestEq(arg)),
        _ if is_keyword(keyword, "ifdne") => Some(ValueCond::DigestNe(arg)),
        _ => None,
    }
}

/// Redis checks a digest's length only against a key that exists.
fn check_digest(ctx: &Ctx<'_>, key: &[u8], cond: Option<ValueCond<'_>>) -> CmdResult {
    if let Some(ValueCond::DigestEq(d) | ValueCond::DigestNe(d)) = cond
        && d.len() != DIGEST_LEN
        && ctx.db().key_type(key, ctx.now()).is_some()
    {
        return Err(CmdError::err(format!(
            "must be exactly {DIGEST_LEN} hexadecimal characters"
        )));
    }
    Ok(())
}

/// SET's options (Redis's mutual exclusions: NX/XX, one IF* condition
/// and neither NX nor XX with it).
fn parse_set(args: &[Bytes], now: u64) -> Result<SetArgs<'_>, CmdError> {
    let mut opts = SetOptions::default();
    let mut ttl_given = false;
    let mut i = 3;
    while i < args.len() {
        let a = &args[i];
        let cond_free = opts.cond == SetCond::Always && opts.value.is_none();
        if is_keyword(a, "nx") && opts.cond != SetCond::IfExists {
            opts.cond = SetCond::IfMissing;
        } else if is_keyword(a, "xx") && opts.cond != SetCond::IfMissing {
            opts.cond = SetCond::IfExists;
        } else if is_keyword(a, "get") {
            opts.get = true;
        } else if let Some(c) = args
            .get(i + 1)
            .filter(|_| cond_free)
            .and_then(|v| value_cond(a, v))
        {
            opts.value = Some(c);
            i += 1;
        } else if is_keyword(a, "keepttl") && !ttl_given {
            opts.ttl = SetTtl::Keep;
            ttl_given = true;
        } else if let Some((millis, absolute)) =
            expiry_keyword(a).filter(|_| !ttl_given && i + 1 < args.len())
        {
            i += 1;
            opts.ttl = SetTtl::At(expiry_value(&args[i], millis, absolute, now, "set")?);
            ttl_given = true;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(SetArgs { opts })
}

/// GETSET key value: SET key value GET.
pub fn getset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let set_args = [
        Bytes::from_static(b"SET"),
        args[1].clone(),
        args[2].clone(),
        Bytes::from_static(b"GET"),
    ];
    set(ctx, &set_args)
}

/// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ts|KEEPTTL].
pub fn set(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let now = ctx.now();
    let parsed = parse_set(args, now)?;
    check_digest(ctx, &args[1], parsed.opts.value)?;
    let outcome = ctx.db().set(&args[1], &args[2], parsed.opts, now)?;
    if outcome.written {
        notify_set(ctx, &args[1], parsed.opts.ttl);
    }
    if parsed.opts.get {
        match outcome.old {
            Some(v) => ctx.out.bulk(&v),
            None => ctx.out.null(),
        }
    } else if outcome.written {
        ctx.out.ok();
    } else {
        ctx.out.null();
    }
    Ok(())
}

/// GETEX key [EX s|PX ms|EXAT ts|PXAT ts|PERSIST].
pub fn getex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let now = ctx.now();
    let change = match &args[2..] {
        [] => None,
        [p] if is_keyword(p, "persist") => Some(TtlChange::Persist),
        [k, v] => match expiry_keyword(k) {
            Some((millis, absolute)) => Some(TtlChange::At(expiry_value(
                v, millis, absolute, now, "getex",
            )?)),
            None => return Err(CmdError::Syntax),
        },
        _ => return Err(CmdError::Syntax),
    };
    match ctx.db().getex(&args[1], change, now)? {
        Some(v) => {
            match change {
                Some(TtlChange::Persist) => ctx.notify(GENERIC, "persist", &args[1]),
                Some(TtlChange::At(at)) if at <= now => ctx.notify(GENERIC, "del", &args[1]),
                Some(TtlChange::At(_)) => ctx.notify(GENERIC, "expire", &args[1]),
                None => {}
            }
            ctx.out.bulk(&v)
        }
        None => ctx.out.null(),
    }
    Ok(())
}

/// GETDEL key.
pub fn getdel(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match ctx.db().getdel(&args[1], ctx.now())? {
        Some(v) => {
            ctx.notify(GENERIC, "del", &args[1]);
            ctx.out.bulk(&v)
        }
        None => ctx.out.null(),
    }
    Ok(())
}

fn set_with_ttl(ctx: &mut Ctx<'_>, args: &[Bytes], millis: bool, cmd: &str) -> CmdResult {
    let now = ctx.now();
    let at = expiry_value(&args[2], millis, false, now, cmd)?;
    let opts = SetOptions {
        ttl: SetTtl::At(at),
        ..SetOptions::default()
    };
    ctx.db().set(&args[1], &args[3], opts, now)?;
    notify_set(ctx, &args[1], opts.ttl);
    ctx.out.ok();
    Ok(())
}

/// SETEX key seconds value.
pub fn setex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    set_with_ttl(ctx, args, false, "setex")
}

/// PSETEX key milliseconds value.
pub fn psetex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    set_with_ttl(ctx, args, true, "psetex")
}

/// SETNX key value.
pub fn setnx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let opts = SetOptions {
        cond: SetCond::IfMissing,
        ..SetOptions::default()
    };
    let outcome = ctx.db().set(&args[1], &args[2], opts, ctx.now())?;
    if outcome.written {
        ctx.notify(STRING, "set", &args[1]);
    }
    ctx.out.int(i64::from(outcome.written));
    Ok(())
}

/// MGET key [key ...].
pub fn mget(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let values = ctx.db().mget(&args[1..], ctx.now());
    ctx.out.array(values.len());
    for v in values {
        match v {
            Some(v) => ctx.out.bulk(&v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn pairs(args: &[Bytes], cmd: &'static str) -> Result<Vec<(Bytes, Bytes)>, CmdError> {
    if !(args.len() - 1).is_multiple_of(2) {
        return Err(CmdError::WrongArity(cmd));
    }
    Ok(args[1..]
        .chunks_exact(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect())
}

/// MSET key value [key value ...].
pub fn mset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let pairs = pairs(args, "mset")?;
    ctx.db()
        .mset(&pairs, SetCond::Always, SetTtl::Clear, ctx.now())?;
    for (k, _) in &pairs {
        ctx.notify(STRING, "set", k);
    }
    ctx.out.ok();
    Ok(())
}

/// MSETNX key value [key value ...].
pub fn msetnx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let pairs = pairs(args, "msetnx")?;
    let written = ctx
        .db()
        .mset(&pairs, SetCond::IfMissing, SetTtl::Clear, ctx.now())?;
    if written {
        for (k, _) in &pairs {
            ctx.notify(STRING, "set", k);
        }
    }
    ctx.out.int(i64::from(written));
    Ok(())
}

/// MSETEX numkeys key value [key value ...] [NX | XX]
/// [EX s | PX ms | EXAT ts | PXAT ts | KEEPTTL]: all or none, 1 or 0.
pub fn msetex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = std::str::from_utf8(&args[1])
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|n| (1..=i64::from(i32::MAX)).contains(n))
        .ok_or_else(|| CmdError::err("invalid numkeys value"))? as usize;
    if n * 2 + 2 > args.len() {
        return Err(CmdError::err("wrong number of key-value pairs"));
    }
    let now = ctx.now();
    let (mut cond, mut ttl, mut ttl_given) = (SetCond::Always, SetTtl::Clear, false);
    let mut i = n * 2 + 2;
    while i < args.len() {
        let a = &args[i];
        if is_keyword(a, "nx") && cond != SetCond::IfExists {
            cond = SetCond::IfMissing;
        } else if is_keyword(a, "xx") && cond != SetCond::IfMissing {
            cond = SetCond::IfExists;
        } else if is_keyword(a, "keepttl") && !ttl_given {
            ttl = SetTtl::Keep;
            ttl_given = true;
        } else if let Some((millis, absolute)) =
            expiry_keyword(a).filter(|_| !ttl_given && i + 1 < args.len())
        {
            i += 1;
            ttl = SetTtl::At(expiry_value(&args[i], millis, absolute, now, "msetex")?);
            ttl_given = true;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let pairs: Vec<(Bytes, Bytes)> = args[2..2 + n * 2]
        .chunks(2)
        .map(|kv| (kv[0].clone(), kv[1].clone()))
        .collect();
    let written = ctx.db().mset(&pairs, cond, ttl, now)?;
    if written {
        for (k, _) in &pairs {
            notify_set(ctx, k, ttl);
        }
    }
    ctx.out.int(i64::from(written));
    Ok(())
}

/// DELEX key [IFEQ value | IFNE value | IFDEQ digest | IFDNE digest]: 1
/// when deleted.
pub fn delex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() == 2 {
        let n = ctx.db().del(&args[1..], ctx.now())?;
        if n > 0 {
            ctx.notify(GENERIC, "del", &args[1]);
        }
        ctx.out.int(n as i64);
        return Ok(());
    }
    if args.len() != 4 {
        return Err(CmdError::WrongArity("delex"));
    }
    let now = ctx.now();
    // Redis's order: a missing key, then the type, then the condition.
    match ctx.db().key_type(&args[1], now) {
        None => {
            ctx.out.int(0);
            return Ok(());
        }
        Some("string") => {}
        Some(_) => {
            return Err(CmdError::err(
                "Key should be of string type if conditions are specified",
            ));
        }
    }
    let Some(cond) = value_cond(&args[2], &args[3]) else {
        return Err(CmdError::err(
            "Invalid condition. Use IFEQ, IFNE, IFDEQ, or IFDNE",
        ));
    };
    check_digest(ctx, &args[1], Some(cond))?;
    let deleted = match ctx.db().del_if(&args[1], cond, now) {
        Err(vexlake_engine::EngineError::WrongType) => {
            return Err(CmdError::err(
                "Key should be of string type if conditions are specified",
            ));
        }
        r => r?,
    };
    if deleted {
        ctx.notify(GENERIC, "del", &args[1]);
    }
    ctx.out.int(i64::from(deleted));
    Ok(())
}

/// DIGEST key: the XXH3-64 digest of a string value, as 16 hex digits.
pub fn digest_cmd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match ctx.db().get(&args[1], ctx.now())? {
        Some(v) => ctx.out.bulk(digest(&v).as_bytes()),
        None => ctx.out.null(),
    }
    Ok(())
}

fn incr_generic(ctx: &mut Ctx<'_>, key: &[u8], delta: i64) -> CmdResult {
    let v = ctx.db().incr_by(key, delta, ctx.now())?;
    ctx.notify(STRING, "incrby", key);
    ctx.out.int(v);
    Ok(())
}

/// INCR key.
pub fn incr(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    incr_generic(ctx, &args[1], 1)
}

/// DECR key.
pub fn decr(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    incr_generic(ctx, &args[1], -1)
}

/// INCRBY key increment.
pub fn incrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let delta = int_arg(&args[2])?;
    incr_generic(ctx, &args[1], delta)
}

/// DECRBY key decrement.
pub fn decrby(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let delta = int_arg(&args[2])?;
    let delta = delta
        .checked_neg()
        .ok_or(CmdError::err("decrement would overflow"))?;
    incr_generic(ctx, &args[1], delta)
}

/// INCRBYFLOAT key increment.
pub fn incrbyfloat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let delta = parse_f64(&args[2]).ok_or(CmdError::NotFloat)?;
    let v = ctx.db().incr_by_float(&args[1], delta, ctx.now())?;
    ctx.notify(STRING, "incrbyfloat", &args[1]);
    ctx.out.bulk(&v);
    Ok(())
}

/// APPEND key value.
pub fn append(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let max = ctx.state.engine.config().max_string_len;
    let len = ctx.db().append(&args[1], &args[2], max, ctx.now())?;
    ctx.notify(STRING, "append", &args[1]);
    ctx.out.int(len as i64);
    Ok(())
}

/// STRLEN key.
pub fn strlen(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let len = ctx.db().strlen(&args[1], ctx.now())?;
    ctx.out.int(len as i64);
    Ok(())
}

/// GETRANGE key start end.
pub fn getrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (start, end) = (int_arg(&args[2])?, int_arg(&args[3])?);
    let v = ctx.db().getrange(&args[1], start, end, ctx.now())?;
    ctx.out.bulk(&v);
    Ok(())
}

/// SETRANGE key offset value.
pub fn setrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let offset = int_arg(&args[2])?;
    if offset < 0 {
        return Err(CmdError::err("offset is out of range"));
    }
    let max = ctx.state.engine.config().max_string_len;
    let len = ctx
        .db()
        .setrange(&args[1], offset as usize, &args[3], max, ctx.now())?;
    if !args[3].is_empty() {
        ctx.notify(STRING, "setrange", &args[1]);
    }
    ctx.out.int(len as i64);
    Ok(())
}
