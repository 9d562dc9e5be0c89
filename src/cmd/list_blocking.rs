//! The blocking list commands: BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP. Each
//! first does what its non-blocking twin does; when every list is empty
//! it leaves a [`Block`] in the connection, which waits on the keys and
//! runs the command again when one of them is written (see
//! [`crate::blocking`]). Inside MULTI/EXEC or a script they never wait:
//! an empty result is the timeout reply.

use std::time::{Duration, Instant};

use bytes::Bytes;
use vexlake_protocol::args::parse_f64;

use super::lists::{End, MpopArgs, move_one, mpop, mpop_reply, notify_move, parse_mpop};
use super::table::{BASE, CommandSpec};
use super::{CmdResult, Ctx};
use crate::blocking::Block;
use crate::error::CmdError;

/// The wait given as seconds (`0`: forever), as Redis parses it.
pub(super) fn timeout(arg: &[u8]) -> Result<Option<Duration>, CmdError> {
    let secs = parse_f64(arg)
        .filter(|s| s.is_finite())
        .ok_or_else(|| CmdError::err("timeout is not a float or out of range"))?;
    if secs < 0.0 {
        return Err(CmdError::err("timeout is negative"));
    }
    if secs > 1e12 {
        return Err(CmdError::err("timeout is out of range"));
    }
    Ok((secs > 0.0).then(|| Duration::from_micros((secs * 1e6) as u64)))
}

/// Nothing to pop: wait (or, where waiting is not allowed, reply as a
/// timeout does).
pub(crate) fn block(ctx: &mut Ctx<'_>, keys: &[Bytes], wait: Option<Duration>, null_array: bool) {
    if ctx.conn.nested {
        if null_array {
            ctx.out.null_array();
        } else {
            ctx.out.null();
        }
        return;
    }
    ctx.conn.blocked = Some(Block {
        keys: keys.to_vec(),
        deadline: wait.map(|d| Instant::now() + d),
        null_array,
        args: None,
    });
}

fn bpop(ctx: &mut Ctx<'_>, args: &[Bytes], end: End) -> CmdResult {
    let wait = timeout(&args[args.len() - 1])?;
    let keys = &args[1..args.len() - 1];
    let a = MpopArgs {
        keys,
        end,
        count: 1,
    };
    match mpop(ctx.db(), &a, ctx.now())? {
        Some((k, elems, emptied)) => {
            super::collection::notify_change(
                ctx,
                crate::notify::LIST,
                end.event(false),
                &k,
                emptied,
            );
            ctx.out.array(2);
            ctx.out.bulk(&k);
            ctx.out.bulk(&elems[0]);
        }
        None => block(ctx, keys, wait, true),
    }
    Ok(())
}

/// BLPOP key [key ...] timeout.
pub fn blpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    bpop(ctx, args, End::Left)
}

/// BRPOP key [key ...] timeout.
pub fn brpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    bpop(ctx, args, End::Right)
}

fn bmove(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    from: End,
    to: End,
    wait: Option<Duration>,
) -> CmdResult {
    let (src, dst) = (&args[1], &args[2]);
    match move_one(ctx.db(), src, dst, from, to, ctx.now())? {
        Some((e, emptied)) => {
            notify_move(ctx, src, dst, from, to, emptied);
            ctx.out.bulk(&e);
        }
        None => block(ctx, std::slice::from_ref(src), wait, false),
    }
    Ok(())
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout.
pub fn blmove(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (from, to) = (End::parse(&args[3])?, End::parse(&args[4])?);
    let wait = timeout(&args[5])?;
    bmove(ctx, args, from, to, wait)
}

/// BRPOPLPUSH source destination timeout.
pub fn brpoplpush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let wait = timeout(&args[3])?;
    bmove(ctx, args, End::Right, End::Left, wait)
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count].
pub fn blmpop(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let wait = timeout(&args[1])?;
    let a = parse_mpop(args, 2)?;
    match mpop(ctx.db(), &a, ctx.now())? {
        Some(popped) => mpop_reply(ctx, a.end, Some(popped)),
        None => block(ctx, a.keys, wait, true),
    }
    Ok(())
}

/// The blocking list commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "blpop",
        arity: -3,
        flags: &["write", "blocking"],
        keys: (1, -2, 1),
        acl: &["@write", "@list", "@slow", "@blocking"],
        group: "list",
        since: "2.0.0",
        summary: "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
        complexity: "O(N) where N is the number of provided keys.",
        syntax: "key [key ...] timeout:double",
        handler: blpop,
        ..BASE
    },
    CommandSpec {
        name: "brpop",
        arity: -3,
        flags: &["write", "blocking"],
        keys: (1, -2, 1),
        acl: &["@write", "@list", "@slow", "@blocking"],
        group: "list",
        since: "2.0.0",
        summary: "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
        complexity: "O(N) where N is the number of provided keys.",
        syntax: "key [key ...] timeout:double",
        handler: brpop,
        ..BASE
    },
    CommandSpec {
        name: "blmove",
        arity: 6,
        flags: &["write", "denyoom", "blocking"],
        keys: (1, 2, 1),
        acl: &["@write", "@list", "@slow", "@blocking"],
        group: "list",
        since: "6.2.0",
        summary: "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.",
        complexity: "O(1)",
        syntax: "source destination (LEFT | RIGHT) (LEFT | RIGHT) timeout:double",
        handler: blmove,
        ..BASE
    },
    CommandSpec {
        name: "brpoplpush",
        arity: 4,
        flags: &["write", "denyoom", "blocking"],
        keys: (1, 2, 1),
        acl: &["@write", "@list", "@slow", "@blocking"],
        group: "list",
        since: "2.2.0",
        summary: "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.",
        complexity: "O(1)",
        syntax: "source destination timeout:double",
        handler: brpoplpush,
        ..BASE
    },
    CommandSpec {
        name: "blmpop",
        arity: -5,
        flags: &["write", "blocking", "movablekeys"],
        keys: (0, 0, 0),
        acl: &["@write", "@list", "@slow", "@blocking"],
        group: "list",
        since: "7.0.0",
        summary: "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.",
        complexity: "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
        syntax: "timeout:double numkeys:integer key [key ...] (LEFT | RIGHT) [COUNT count:integer]",
        handler: blmpop,
        ..BASE
    },
];
