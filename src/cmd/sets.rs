//! Set commands: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP
//! SRANDMEMBER SMOVE SINTER SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF
//! SDIFFSTORE SSCAN. Each command returns the edits it makes (SPOP: the
//! members it removed), which the engine logs and applies.

use bytes::Bytes;
use vexlake_engine::EngineError;
use vexlake_engine::keyspace::set::SetValue;
use vexlake_engine::keyspace::{Edit, Value};
use vexlake_protocol::args::parse_i64;

use super::collection::{matches, random_positions, scan_args, scan_reply, scan_step};
use super::table::{BASE, CommandSpec, K1};
use super::{CmdResult, Ctx, int_arg};
use crate::error::CmdError;
use crate::notify::{GENERIC, SET};

/// Notifies `event` on `key`, and `del` when the command emptied it.
fn notify(ctx: &Ctx<'_>, event: &str, key: &[u8], emptied: bool) {
    super::collection::notify_change(ctx, SET, event, key, emptied);
}

fn read<R>(
    ctx: &Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(Option<&SetValue>) -> R,
) -> Result<R, CmdError> {
    Ok(ctx.db().view(key, ctx.now(), |v| Value::as_set(v).map(f))?)
}

/// SADD key member [member ...].
pub fn sadd(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let added = ctx.db().edit(&args[1], ctx.now(), |cur| {
        let s = Value::as_set(cur)?;
        let mut seen = std::collections::HashSet::new();
        let edits: Vec<Edit<Bytes>> = args[2..]
            .iter()
            .filter(|m| s.is_none_or(|s| !s.contains(m)) && seen.insert(&m[..]))
            .map(|m| Edit::SAdd { member: m.clone() })
            .collect();
        Ok((edits.len(), edits))
    })?;
    if added > 0 {
        notify(ctx, "sadd", &args[1], false);
    }
    ctx.out.int(added as i64);
    Ok(())
}

/// SREM key member [member ...].
pub fn srem(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (removed, emptied) = ctx.db().edit(&args[1], ctx.now(), |cur| {
        let Some(s) = Value::as_set(cur)? else {
            return Ok(((0, false), vec![]));
        };
        let mut seen = std::collections::HashSet::new();
        let edits: Vec<Edit<Bytes>> = args[2..]
            .iter()
            .filter(|m| s.contains(m) && seen.insert(&m[..]))
            .map(|m| Edit::SRem { member: m.clone() })
            .collect();
        Ok((
            (edits.len(), !edits.is_empty() && edits.len() == s.len()),
            edits,
        ))
    })?;
    if removed > 0 {
        notify(ctx, "srem", &args[1], emptied);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

/// SMEMBERS key.
pub fn smembers(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let members: Vec<Bytes> = read(ctx, &args[1], |s| {
        s.map(|s| s.iter().map(Bytes::copy_from_slice).collect())
            .unwrap_or_default()
    })?;
    ctx.out.set(members.len());
    for m in members {
        ctx.out.bulk(&m);
    }
    Ok(())
}

/// SISMEMBER key member.
pub fn sismember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let is = read(ctx, &args[1], |s| s.is_some_and(|s| s.contains(&args[2])))?;
    ctx.out.int(i64::from(is));
    Ok(())
}

/// SMISMEMBER key member [member ...].
pub fn smismember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let is: Vec<bool> = read(ctx, &args[1], |s| {
        args[2..]
            .iter()
            .map(|m| s.is_some_and(|s| s.contains(m)))
            .collect()
    })?;
    ctx.out.array(is.len());
    for b in is {
        ctx.out.int(i64::from(b));
    }
    Ok(())
}

/// SCARD key.
pub fn scard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = read(ctx, &args[1], |s| s.map_or(0, |s| s.len()))?;
    ctx.out.int(n as i64);
    Ok(())
}

/// SPOP key [count].
pub fn spop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
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
    let (popped, emptied) = ctx.db().edit(&args[1], ctx.now(), |cur| {
        let Some(s) = Value::as_set(cur)? else {
            return Ok(((Vec::new(), false), vec![]));
        };
        let n = count.unwrap_or(1);
        let popped: Vec<Bytes> = random_positions(s.len(), n as i64)
            .into_iter()
            .filter_map(|i| s.get_index(i).map(Bytes::copy_from_slice))
            .collect();
        let edits = popped
            .iter()
            .map(|m| Edit::SRem { member: m.clone() })
            .collect();
        let emptied = !popped.is_empty() && popped.len() == s.len();
        Ok(((popped, emptied), edits))
    })?;
    if !popped.is_empty() {
        notify(ctx, "spop", &args[1], emptied);
    }
    match count {
        None => match popped.first() {
            Some(m) => ctx.out.bulk(m),
            None => ctx.out.null(),
        },
        Some(_) => {
            ctx.out.set(popped.len());
            for m in popped {
                ctx.out.bulk(&m);
            }
        }
    }
    Ok(())
}

/// SRANDMEMBER key [count].
pub fn srandmember(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let Some(count) = args.get(2) else {
        let pick = read(ctx, &args[1], |s| {
            s.and_then(|s| {
                s.get_index(fastrand::usize(..s.len()))
                    .map(Bytes::copy_from_slice)
            })
        })?;
        match pick {
            Some(m) => ctx.out.bulk(&m),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let count = int_arg(count)?;
    if count == i64::MIN {
        return Err(CmdError::err("value is out of range"));
    }
    let picks: Vec<Bytes> = read(ctx, &args[1], |s| {
        let Some(s) = s else { return Vec::new() };
        random_positions(s.len(), count)
            .into_iter()
            .filter_map(|i| s.get_index(i).map(Bytes::copy_from_slice))
            .collect()
    })?;
    ctx.out.array(picks.len());
    for m in picks {
        ctx.out.bulk(&m);
    }
    Ok(())
}

/// SMOVE source destination member.
pub fn smove(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let keys = [&args[1][..], &args[2][..]];
    let m = &args[3];
    let (moved, emptied, added) = ctx.db().edit_keys(&keys, ctx.now(), |vals| {
        let src = Value::as_set(vals[0].as_ref())?;
        let dst = Value::as_set(vals[1].as_ref())?;
        let Some(src) = src else {
            return Ok(((false, false, false), vec![]));
        };
        if !src.contains(m) {
            return Ok(((false, false, false), vec![]));
        }
        if keys[0] == keys[1] {
            return Ok(((true, false, false), vec![]));
        }
        let added = dst.is_none_or(|d| !d.contains(m));
        let mut edits = vec![(0, Edit::SRem { member: m.clone() })];
        if added {
            edits.push((1, Edit::SAdd { member: m.clone() }));
        }
        Ok(((true, src.len() == 1, added), edits))
    })?;
    if moved && keys[0] != keys[1] {
        notify(ctx, "srem", &args[1], emptied);
        if added {
            ctx.notify(SET, "sadd", &args[2]);
        }
    }
    ctx.out.int(i64::from(moved));
    Ok(())
}

/// Which set operation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Inter,
    Union,
    Diff,
}

/// The members of `op` over `sets` (None = a missing key), in the order
/// of the first set for INTER and DIFF; at most `limit` for INTER.
fn combine(op: SetOp, sets: &[Option<&SetValue>], limit: usize) -> Vec<Bytes> {
    match op {
        SetOp::Inter => {
            if sets.iter().any(Option::is_none) {
                return Vec::new();
            }
            let mut sorted: Vec<&SetValue> = sets.iter().flatten().copied().collect();
            sorted.sort_by_key(|s| s.len());
            let Some((first, rest)) = sorted.split_first() else {
                return Vec::new();
            };
            let mut out = Vec::new();
            for m in first.iter() {
                if rest.iter().all(|s| s.contains(m)) {
                    out.push(Bytes::copy_from_slice(m));
                    if limit > 0 && out.len() >= limit {
                        break;
                    }
                }
            }
            out
        }
        SetOp::Union => {
            let mut seen = std::collections::HashSet::new();
            let mut out = Vec::new();
            for s in sets.iter().flatten() {
                for m in s.iter() {
                    if seen.insert(m) {
                        out.push(Bytes::copy_from_slice(m));
                    }
                }
            }
            out
        }
        SetOp::Diff => {
            let Some(Some(first)) = sets.first() else {
                return Vec::new();
            };
            first
                .iter()
                .filter(|m| !sets[1..].iter().flatten().any(|s| s.contains(m)))
                .map(Bytes::copy_from_slice)
                .collect()
        }
    }
}

/// The sets at `keys` (type-checked), combined by `op`.
fn compute(ctx: &Ctx<'_>, keys: &[Bytes], op: SetOp, limit: usize) -> Result<Vec<Bytes>, CmdError> {
    let refs: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
    Ok(ctx.db().edit_keys(&refs, ctx.now(), |vals| {
        let sets = vals
            .iter()
            .map(|v| Value::as_set(v.as_ref()))
            .collect::<Result<Vec<_>, EngineError>>()?;
        Ok((combine(op, &sets, limit), vec![]))
    })?)
}

fn reply_members(ctx: &mut Ctx<'_>, members: &[Bytes]) {
    ctx.out.set(members.len());
    for m in members {
        ctx.out.bulk(m);
    }
}

/// Stores `op` over `keys` at `dst` (replacing any value); returns the size.
fn store(ctx: &mut Ctx<'_>, dst: &Bytes, keys: &[Bytes], op: SetOp, event: &str) -> CmdResult {
    let mut all: Vec<&[u8]> = vec![&dst[..]];
    all.extend(keys.iter().map(|k| &k[..]));
    let (n, existed) = ctx.db().edit_keys(&all, ctx.now(), |vals| {
        let sets = vals[1..]
            .iter()
            .map(|v| Value::as_set(v.as_ref()))
            .collect::<Result<Vec<_>, EngineError>>()?;
        let members = combine(op, &sets, 0);
        let mut edits = vec![(0, Edit::Delete)];
        edits.extend(
            members
                .iter()
                .map(|m| (0, Edit::SAdd { member: m.clone() })),
        );
        Ok(((members.len(), vals[0].is_some()), edits))
    })?;
    if n > 0 {
        ctx.notify(SET, event, dst);
    } else if existed {
        ctx.notify(GENERIC, "del", dst);
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// SINTER key [key ...].
pub fn sinter(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let m = compute(ctx, &args[1..], SetOp::Inter, 0)?;
    reply_members(ctx, &m);
    Ok(())
}

/// SUNION key [key ...].
pub fn sunion(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let m = compute(ctx, &args[1..], SetOp::Union, 0)?;
    reply_members(ctx, &m);
    Ok(())
}

/// SDIFF key [key ...].
pub fn sdiff(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let m = compute(ctx, &args[1..], SetOp::Diff, 0)?;
    reply_members(ctx, &m);
    Ok(())
}

/// SINTERSTORE destination key [key ...].
pub fn sinterstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    store(ctx, &args[1], &args[2..], SetOp::Inter, "sinterstore")
}

/// SUNIONSTORE destination key [key ...].
pub fn sunionstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    store(ctx, &args[1], &args[2..], SetOp::Union, "sunionstore")
}

/// SDIFFSTORE destination key [key ...].
pub fn sdiffstore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    store(ctx, &args[1], &args[2..], SetOp::Diff, "sdiffstore")
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit].
pub fn sintercard(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (keys, limit) = super::collection::keys_and_limit(args)?;
    let m = compute(ctx, keys, SetOp::Inter, limit)?;
    ctx.out.int(m.len() as i64);
    Ok(())
}

/// SSCAN key cursor [MATCH pattern] [COUNT count].
pub fn sscan(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let a = scan_args(args, false)?;
    let (next, items) = read(ctx, &args[1], |s| {
        let Some(s) = s else { return (0, Vec::new()) };
        let (range, next) = scan_step(s.len(), &a);
        let items: Vec<Bytes> = range
            .into_iter()
            .filter_map(|i| s.get_index(i))
            .filter(|m| matches(&a, m))
            .map(Bytes::copy_from_slice)
            .collect();
        (next, items)
    })?;
    scan_reply(ctx, next, &items);
    Ok(())
}

/// The set commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "sadd",
        arity: -3,
        flags: &["write", "denyoom", "fast"],
        keys: K1,
        acl: &["@write", "@set", "@fast"],
        group: "set",
        since: "1.0.0",
        summary: "Adds one or more members to a set. Creates the key if it doesn't exist.",
        complexity: "O(1) for each element added",
        syntax: "key member [member ...]",
        handler: sadd,
        ..BASE
    },
    CommandSpec {
        name: "srem",
        arity: -3,
        flags: &["write", "fast"],
        keys: K1,
        acl: &["@write", "@set", "@fast"],
        group: "set",
        since: "1.0.0",
        summary: "Removes one or more members from a set. Deletes the set if the last member was removed.",
        complexity: "O(N) where N is the number of members to be removed.",
        syntax: "key member [member ...]",
        handler: srem,
        ..BASE
    },
    CommandSpec {
        name: "smembers",
        arity: 2,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@set", "@slow"],
        group: "set",
        since: "1.0.0",
        summary: "Returns all members of a set.",
        complexity: "O(N) where N is the set cardinality.",
        syntax: "key",
        handler: smembers,
        ..BASE
    },
    CommandSpec {
        name: "sismember",
        arity: 3,
        flags: &["readonly", "fast"],
        keys: K1,
        acl: &["@read", "@set", "@fast"],
        group: "set",
        since: "1.0.0",
        summary: "Determines whether a member belongs to a set.",
        complexity: "O(1)",
        syntax: "key member",
        handler: sismember,
        ..BASE
    },
    CommandSpec {
        name: "smismember",
        arity: -3,
        flags: &["readonly", "fast"],
        keys: K1,
        acl: &["@read", "@set", "@fast"],
        group: "set",
        since: "6.2.0",
        summary: "Determines whether multiple members belong to a set.",
        complexity: "O(N) where N is the number of elements being checked for membership",
        syntax: "key member [member ...]",
        handler: smismember,
        ..BASE
    },
    CommandSpec {
        name: "scard",
        arity: 2,
        flags: &["readonly", "fast"],
        keys: K1,
        acl: &["@read", "@set", "@fast"],
        group: "set",
        since: "1.0.0",
        summary: "Returns the number of members in a set.",
        complexity: "O(1)",
        syntax: "key",
        handler: scard,
        ..BASE
    },
    CommandSpec {
        name: "spop",
        arity: -2,
        flags: &["write", "fast"],
        keys: K1,
        acl: &["@write", "@set", "@fast"],
        group: "set",
        since: "1.0.0",
        summary: "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.",
        complexity: "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.",
        syntax: "key [count:integer]",
        handler: spop,
        ..BASE
    },
    CommandSpec {
        name: "srandmember",
        arity: -2,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@set", "@slow"],
        group: "set",
        since: "1.0.0",
        summary: "Get one or multiple random members from a set",
        complexity: "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.",
        syntax: "key [count:integer]",
        handler: srandmember,
        ..BASE
    },
    CommandSpec {
        name: "smove",
        arity: 4,
        flags: &["write", "fast"],
        keys: (1, 2, 1),
        acl: &["@write", "@set", "@fast"],
        group: "set",
        since: "1.0.0",
        summary: "Moves a member from one set to another.",
        complexity: "O(1)",
        syntax: "source destination member",
        handler: smove,
        ..BASE
    },
    CommandSpec {
        name: "sinter",
        arity: -2,
        flags: &["readonly"],
        keys: (1, -1, 1),
        acl: &["@read", "@set", "@slow"],
        group: "set",
        since: "1.0.0",
        summary: "Returns the intersect of multiple sets.",
        complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
        syntax: "key [key ...]",
        handler: sinter,
        ..BASE
    },
    CommandSpec {
        name: "sintercard",
        arity: -3,
        flags: &["readonly", "movablekeys"],
        keys: (0, 0, 0),
        acl: &["@read", "@set", "@slow"],
        group: "set",
        since: "7.0.0",
        summary: "Returns the number of members of the intersect of multiple sets.",
        complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
        syntax: "numkeys:integer key [key ...] [LIMIT limit:integer]",
        handler: sintercard,
        ..BASE
    },
    CommandSpec {
        name: "sinterstore",
        arity: -3,
        flags: &["write", "denyoom"],
        keys: (1, -1, 1),
        acl: &["@write", "@set", "@slow"],
        group: "set",
        since: "1.0.0",
        summary: "Stores the intersect of multiple sets in a key.",
        complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
        syntax: "destination key [key ...]",
        handler: sinterstore,
        ..BASE
    },
    CommandSpec {
        name: "sunion",
        arity: -2,
        flags: &["readonly"],
        keys: (1, -1, 1),
        acl: &["@read", "@set", "@slow"],
        group: "set",
        since: "1.0.0",
        summary: "Returns the union of multiple sets.",
        complexity: "O(N) where N is the total number of elements in all given sets.",
        syntax: "key [key ...]",
        handler: sunion,
        ..BASE
    },
    CommandSpec {
        name: "sunionstore",
        arity: -3,
        flags: &["write", "denyoom"],
        keys: (1, -1, 1),
        acl: &["@write", "@set", "@slow"],
        group: "set",
        since: "1.0.0",
        summary: "Stores the union of multiple sets in a key.",
        complexity: "O(N) where N is the total number of elements in all given sets.",
        syntax: "destination key [key ...]",
        handler: sunionstore,
        ..BASE
    },
    CommandSpec {
        name: "sdiff",
        arity: -2,
        flags: &["readonly"],
        keys: (1, -1, 1),
        acl: &["@read", "@set", "@slow"],
        group: "set",
        since: "1.0.0",
        summary: "Returns the difference of multiple sets.",
        complexity: "O(N) where N is the total number of elements in all given sets.",
        syntax: "key [key ...]",
        handler: sdiff,
        ..BASE
    },
    CommandSpec {
        name: "sdiffstore",
        arity: -3,
        flags: &["write", "denyoom"],
        keys: (1, -1, 1),
        acl: &["@write", "@set", "@slow"],
        group: "set",
        since: "1.0.0",
        summary: "Stores the difference of multiple sets in a key.",
        complexity: "O(N) where N is the total number of elements in all given sets.",
        syntax: "destination key [key ...]",
        handler: sdiffstore,
        ..BASE
    },
    CommandSpec {
        name: "sscan",
        arity: -3,
        flags: &["readonly"],
        keys: K1,
        acl: &["@read", "@set", "@slow"],
        group: "set",
        since: "2.8.0",
        summary: "Iterates over members of a set.",
        complexity: "O(1) for every call. O(N) for a complete iteration.",
        syntax: "key cursor:integer [MATCH pattern:pattern] [COUNT count:integer]",
        handler: sscan,
        ..BASE
    },
];
