//! LATENCY: the latency monitor is off (Redis's default
//! `latency-monitor-threshold 0`), so there are no latency events: LATEST
//! and HISTORY are empty, RESET resets none, GRAPH has no samples. Per-command
//! latency lives in INFO latencystats and SLOWLOG.

use bytes::Bytes;

use super::table::{BASE, CommandSpec};
use super::{CmdResult, Ctx};
use crate::error::CmdError;

/// LATENCY and its subcommands.
pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "latency",
    arity: -2,
    flags: &[],
    acl: &["@slow"],
    group: "server",
    since: "2.8.13",
    summary: "A container for latency diagnostics commands.",
    complexity: "Depends on subcommand.",
    syntax: "",
    subcommands: SUBCOMMANDS,
    ..BASE
}];

const SUB: CommandSpec = CommandSpec {
    arity: 2,
    flags: &["admin", "noscript", "loading", "stale"],
    acl: &["@admin", "@slow", "@dangerous"],
    group: "server",
    since: "2.8.13",
    syntax: "",
    ..BASE
};

static SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "latency|latest",
        summary: "Returns the latest latency samples for all events.",
        handler: latest,
        ..SUB
    },
    CommandSpec {
        name: "latency|history",
        arity: 3,
        summary: "Returns timestamp-latency samples for an event.",
        syntax: "event",
        handler: history,
        ..SUB
    },
    CommandSpec {
        name: "latency|reset",
        arity: -2,
        summary: "Resets the latency data for one or more events.",
        syntax: "[event...]",
        handler: reset,
        ..SUB
    },
    CommandSpec {
        name: "latency|graph",
        arity: 3,
        summary: "Returns a latency graph for an event.",
        syntax: "event",
        handler: graph,
        ..SUB
    },
    CommandSpec {
        name: "latency|doctor",
        summary: "Returns a human-readable latency analysis report.",
        handler: doctor,
        ..SUB
    },
];

/// LATENCY LATEST.
pub fn latest(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.array(0);
    Ok(())
}

/// LATENCY HISTORY event.
pub fn history(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.array(0);
    Ok(())
}

/// LATENCY RESET [event ...]: the number of event series reset.
pub fn reset(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.int(0);
    Ok(())
}

/// LATENCY GRAPH event.
pub fn graph(_ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    Err(CmdError::err(format!(
        "No samples available for event '{}'",
        String::from_utf8_lossy(&args[2])
    )))
}

/// LATENCY DOCTOR.
pub fn doctor(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.verbatim(
        "txt",
        b"Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sleep tonight.",
    );
    Ok(())
}
