//! Generic key commands: DEL UNLINK EXISTS TYPE EXPIRE PEXPIRE EXPIREAT
//! PEXPIREAT EXPIRETIME PEXPIRETIME TTL PTTL PERSIST KEYS SCAN RENAME
//! RENAMENX RANDOMKEY.

use bytes::Bytes;
use vexlake_engine::keyspace::{ExpireCond, Ttl};
use vexlake_protocol::args::{is_keyword, lossy, parse_cursor};

use super::{CmdResult, Ctx, int_arg};
use crate::error::CmdError;
use crate::notify::GENERIC;

/// DEL / UNLINK key [key ...].
pub fn del(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let keys = &args[1..];
    let deleted = ctx.db().del_each(keys, ctx.now())?;
    for &i in &deleted {
        ctx.notify(GENERIC, "del", &keys[i]);
    }
    ctx.out.int(deleted.len() as i64);
    Ok(())
}

/// EXISTS key [key ...].
pub fn exists(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = ctx.db().exists(&args[1..], ctx.now());
    ctx.out.int(n as i64);
    Ok(())
}

/// WAIT numreplicas timeout: no replica acknowledges writes (replicas of
/// the lake follow it), so 0 at once, after checking the arguments.
pub fn wait(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    super::int_arg(&args[1])?;
    if super::int_arg(&args[2])? < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    ctx.out.int(0);
    Ok(())
}

/// TYPE key.
pub fn key_type(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let t = ctx.db().key_type(&args[1], ctx.now()).unwrap_or("none");
    ctx.out.simple(t);
    Ok(())
}

/// Unit and base of an EXPIRE-family time argument.
#[derive(Clone, Copy)]
struct TimeSpec {
    millis: bool,
    absolute: bool,
}

fn parse_expire_cond(opts: &[Bytes]) -> Result<ExpireCond, CmdError> {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for o in opts {
        match () {
            _ if is_keyword(o, "nx") => nx = true,
            _ if is_keyword(o, "xx") => xx = true,
            _ if is_keyword(o, "gt") => gt = true,
            _ if is_keyword(o, "lt") => lt = true,
            _ => return Err(CmdError::err(format!("Unsupported option {}", lossy(o)))),
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CmdError::err(
            "NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(CmdError::err(
            "GT and LT options at the same time are not compatible",
        ));
    }
    Ok(match (nx, xx, gt, lt) {
        (true, ..) => ExpireCond::Nx,
        (_, _, true, _) => ExpireCond::Gt,
        (_, _, _, true) => ExpireCond::Lt,
        (_, true, ..) => ExpireCond::Xx,
        _ => ExpireCond::Always,
    })
}

/// Converts a time argument to an absolute deadline in Unix ms, with
/// Redis's overflow checks; negative deadlines clamp to 0 (already past).
pub fn deadline(
    value: i64,
    millis: bool,
    absolute: bool,
    now: u64,
    cmd: &str,
) -> Result<u64, CmdError> {
    let invalid = || CmdError::err(format!("invalid expire time in '{cmd}' command"));
    let ms = if millis {
        value
    } else {
        value.checked_mul(1000).ok_or_else(invalid)?
    };
    let at = if absolute {
        ms
    } else {
        ms.checked_add(now as i64).ok_or_else(invalid)?
    };
    Ok(at.max(0) as u64)
}

fn expire_generic(ctx: &mut Ctx<'_>, args: &[Bytes], spec: TimeSpec, cmd: &str) -> CmdResult {
    let value = int_arg(&args[2])?;
    let cond = parse_expire_cond(&args[3..])?;
    let now = ctx.now();
    let at = deadline(value, spec.millis, spec.absolute, now, cmd)?;
    let changed = ctx.db().expire(&args[1], at, cond, now)?;
    if changed {
        // A deadline already past deletes the key (Redis's events too).
        ctx.notify(GENERIC, if at <= now { "del" } else { "expire" }, &args[1]);
    }
    ctx.out.int(i64::from(changed));
    Ok(())
}

/// EXPIRE key seconds [NX|XX|GT|LT].
pub fn expire(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    expire_generic(
        ctx,
        args,
        TimeSpec {
            millis: false,
            absolute: false,
        },
        "expire",
    )
}

/// PEXPIRE key milliseconds [NX|XX|GT|LT].
pub fn pexpire(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    expire_generic(
        ctx,
        args,
        TimeSpec {
            millis: true,
            absolute: false,
        },
        "pexpire",
    )
}

/// EXPIREAT key unix-seconds [NX|XX|GT|LT].
pub fn expireat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    expire_generic(
        ctx,
        args,
        TimeSpec {
            millis: false,
            absolute: true,
        },
        "expireat",
    )
}

/// PEXPIREAT key unix-ms [NX|XX|GT|LT].
pub fn pexpireat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    expire_generic(
        ctx,
        args,
        TimeSpec {
            millis: true,
            absolute: true,
        },
        "pexpireat",
    )
}

fn reply_ttl(ctx: &mut Ctx<'_>, ttl: Ttl, millis: bool) {
    ctx.out.int(match ttl {
        Ttl::Missing => -2,
        Ttl::Persistent => -1,
        Ttl::Ms(ms) if millis => ms as i64,
        Ttl::Ms(ms) => ((ms + 500) / 1000) as i64,
    });
}

/// TTL key.
pub fn ttl(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let t = ctx.db().ttl(&args[1], ctx.now());
    reply_ttl(ctx, t, false);
    Ok(())
}

/// PTTL key.
pub fn pttl(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let t = ctx.db().ttl(&args[1], ctx.now());
    reply_ttl(ctx, t, true);
    Ok(())
}

/// EXPIRETIME key.
pub fn expiretime(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let t = match ctx.db().expire_time(&args[1], ctx.now()) {
        Ttl::Ms(ms) => Ttl::Ms(ms / 1000),
        other => other,
    };
    reply_ttl(ctx, t, true);
    Ok(())
}

/// PEXPIRETIME key.
pub fn pexpiretime(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let t = ctx.db().expire_time(&args[1], ctx.now());
    reply_ttl(ctx, t, true);
    Ok(())
}

/// PERSIST key.
pub fn persist(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let changed = ctx.db().persist(&args[1], ctx.now())?;
    if changed {
        ctx.notify(GENERIC, "persist", &args[1]);
    }
    ctx.out.int(i64::from(changed));
    Ok(())
}

/// KEYS pattern.
pub fn keys(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let keys = ctx.db().keys(&args[1], ctx.now());
    ctx.out.array(keys.len());
    for k in keys {
        ctx.out.bulk(&k);
    }
    Ok(())
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type].
pub fn scan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[1]).ok_or_else(|| CmdError::err("invalid cursor"))?;
    let (mut pattern, mut count, mut type_name) = (None, 10usize, None);
    let mut i = 2;
    while i < args.len() {
        if i + 1 >= args.len() {
            return Err(CmdError::Syntax);
        }
        let (opt, val) = (&args[i], &args[i + 1]);
        match () {
            _ if is_keyword(opt, "match") => pattern = Some(val.clone()).filter(|p| &p[..] != b"*"),
            _ if is_keyword(opt, "count") => {
                let c = int_arg(val)?;
                if c < 1 {
                    return Err(CmdError::Syntax);
                }
                count = c as usize;
            }
            _ if is_keyword(opt, "type") => type_name = Some(val.clone()),
            _ => return Err(CmdError::Syntax),
        }
        i += 2;
    }
    let (next, keys) = ctx.db().scan(
        cursor,
        pattern.as_deref(),
        count,
        type_name.as_deref(),
        ctx.now(),
    );
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array(keys.len());
    for k in keys {
        ctx.out.bulk(&k);
    }
    Ok(())
}

/// RENAME key newkey.
pub fn rename(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    ctx.db().rename(&args[1], &args[2], false, ctx.now())?;
    notify_rename(ctx, args);
    ctx.out.ok();
    Ok(())
}

/// RENAMENX key newkey.
pub fn renamenx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let renamed = ctx.db().rename(&args[1], &args[2], true, ctx.now())?;
    if renamed {
        notify_rename(ctx, args);
    }
    ctx.out.int(i64::from(renamed));
    Ok(())
}

fn notify_rename(ctx: &Ctx<'_>, args: &[Bytes]) {
    ctx.notify(GENERIC, "rename_from", &args[1]);
    ctx.notify(GENERIC, "rename_to", &args[2]);
}

/// RANDOMKEY.
pub fn randomkey(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    match ctx.db().random_key(ctx.now()) {
        Some(k) => ctx.out.bulk(&k),
        None => ctx.out.null(),
    }
    Ok(())
}
