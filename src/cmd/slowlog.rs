//! SLOWLOG GET [count] | LEN | RESET | HELP, as in Redis: entries are
//! `[id, unix time, duration µs, [args...], client addr, client name]`,
//! newest first; GET without a count returns 10, `-1` returns all.

use bytes::Bytes;

use super::table::{ADMIN, BASE, CommandSpec};
use super::{CmdResult, Ctx, int_arg};
use crate::error::CmdError;

/// The SLOWLOG container and its subcommands.
pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "slowlog",
    arity: -2,
    flags: &[],
    acl: &["@slow"],
    group: "server",
    since: "2.2.12",
    summary: "A container for slow log commands.",
    complexity: "Depends on subcommand.",
    syntax: "",
    subcommands: SUBCOMMANDS,
    ..BASE
}];

static SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "slowlog|get",
        arity: -2,
        flags: ADMIN,
        acl: &["@admin", "@slow", "@dangerous"],
        group: "server",
        since: "2.2.12",
        summary: "Returns the slow log's entries.",
        complexity: "O(N) where N is the number of entries returned",
        syntax: "[count:integer]",
        handler: get,
        ..BASE
    },
    CommandSpec {
        name: "slowlog|len",
        arity: 2,
        flags: ADMIN,
        acl: &["@admin", "@slow", "@dangerous"],
        group: "server",
        since: "2.2.12",
        summary: "Returns the number of entries in the slow log.",
        complexity: "O(1)",
        syntax: "",
        handler: len,
        ..BASE
    },
    CommandSpec {
        name: "slowlog|reset",
        arity: 2,
        flags: ADMIN,
        acl: &["@admin", "@slow", "@dangerous"],
        group: "server",
        since: "2.2.12",
        summary: "Clears all entries from the slow log.",
        complexity: "O(N) where N is the number of entries in the slowlog",
        syntax: "",
        handler: reset,
        ..BASE
    },
];

fn get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::WrongArity("slowlog|get"));
    }
    let count = match args.get(2) {
        None => Some(10),
        Some(a) => match int_arg(a) {
            Ok(-1) => None,
            Ok(n) if n >= 0 => Some(n as usize),
            _ => {
                return Err(CmdError::err("count should be greater than or equal to -1"));
            }
        },
    };
    let entries = ctx.state.slowlog.get(count);
    ctx.out.array(entries.len());
    for e in entries {
        ctx.out.array(6);
        ctx.out.int(e.id as i64);
        ctx.out.int(e.time as i64);
        ctx.out.int(e.duration_us as i64);
        ctx.out.array(e.args.len());
        for a in &e.args {
            ctx.out.bulk(a);
        }
        ctx.out.bulk(e.addr.as_bytes());
        ctx.out.bulk(e.name.as_bytes());
    }
    Ok(())
}

fn len(ctx: &mut Ctx<'_>, _: &[Bytes]) -> CmdResult {
    ctx.out.int(ctx.state.slowlog.len() as i64);
    Ok(())
}

fn reset(ctx: &mut Ctx<'_>, _: &[Bytes]) -> CmdResult {
    ctx.state.slowlog.reset();
    ctx.out.simple("OK");
    Ok(())
}
