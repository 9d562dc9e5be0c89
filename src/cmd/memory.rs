//! MEMORY USAGE, STATS, DOCTOR, PURGE, MALLOC-STATS.
//!
//! Figures come from the counting allocator ([`crate::memory`]): what is
//! allocated now, at the peak seen, and when the server started.

use bytes::Bytes;
use vexlake_protocol::args::is_keyword;

use super::table::{BASE, CommandSpec, RO};
use super::{CmdResult, Ctx};
use crate::error::CmdError;

/// MEMORY and its subcommands.
pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "memory",
    arity: -2,
    flags: &[],
    acl: &["@slow"],
    group: "server",
    since: "4.0.0",
    summary: "A container for memory diagnostics commands.",
    complexity: "Depends on subcommand.",
    syntax: "",
    subcommands: SUBCOMMANDS,
    ..BASE
}];

const SUB: CommandSpec = CommandSpec {
    arity: 2,
    flags: RO,
    acl: &["@slow"],
    group: "server",
    since: "4.0.0",
    syntax: "",
    ..BASE
};

static SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "memory|usage",
        arity: -3,
        keys: (2, 2, 1),
        acl: &["@read", "@slow"],
        summary: "Estimates the memory usage of a key.",
        complexity: "O(1) for strings; O(N) for a vector set of N elements.",
        syntax: "key [SAMPLES count:integer]",
        handler: usage,
        ..SUB
    },
    CommandSpec {
        name: "memory|stats",
        summary: "Returns details about memory usage.",
        handler: stats,
        ..SUB
    },
    CommandSpec {
        name: "memory|doctor",
        summary: "Outputs a memory problems report.",
        handler: doctor,
        ..SUB
    },
    CommandSpec {
        name: "memory|purge",
        summary: "Asks the allocator to release memory.",
        handler: purge,
        ..SUB
    },
    CommandSpec {
        name: "memory|malloc-stats",
        summary: "Returns the allocator statistics.",
        handler: malloc_stats,
        ..SUB
    },
];

/// MEMORY USAGE key [SAMPLES count]: bytes of the key and its value, or
/// null. The whole value is always measured, so SAMPLES is checked and
/// otherwise has no effect.
pub fn usage(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match &args[3..] {
        [] => {}
        [k, n] if is_keyword(k, "samples") => {
            super::int_arg(n)?;
        }
        _ => return Err(CmdError::Syntax),
    }
    match ctx.db().memory_usage(&args[2], ctx.now()) {
        Some(n) => ctx.out.int(n as i64),
        None => ctx.out.null(),
    }
    Ok(())
}

/// MEMORY STATS: a map of figures in Redis's names (the ones VexLake has).
pub fn stats(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let used = crate::memory::used() as u64;
    let peak = crate::memory::peak() as u64;
    let startup = ctx.state.startup_memory;
    let rss = super::info::rss_bytes();
    let mut keys = 0u64;
    let mut dbs = Vec::new();
    for i in 0..ctx.state.engine.databases() {
        let db = ctx.state.engine.db(i);
        let n = db.len() as u64;
        if n > 0 {
            // Slot + hash-table entry per key; expiry index entry per TTL.
            dbs.push((i, n * 64, db.volatile_len() as u64 * 48));
        }
        keys += n;
    }
    let clients = ctx.state.clients.connected() as u64;
    let dataset = used.saturating_sub(startup);
    let pct = |a: u64, b: u64| {
        if b == 0 {
            0.0
        } else {
            a as f64 * 100.0 / b as f64
        }
    };
    let out = &mut *ctx.out;
    out.map(15 + dbs.len());
    let int = |out: &mut vexlake_protocol::ReplyBuf, k: &str, v: u64| {
        out.bulk(k.as_bytes());
        out.int(v as i64);
    };
    int(out, "peak.allocated", peak);
    int(out, "total.allocated", used);
    int(out, "startup.allocated", startup);
    int(out, "replication.backlog", 0);
    int(out, "clients.slaves", 0);
    int(out, "clients.normal", clients * 20 * 1024);
    int(out, "aof.buffer", 0);
    int(out, "lua.caches", 0);
    for (i, main, expires) in &dbs {
        out.bulk(format!("db.{i}").as_bytes());
        out.map(2);
        int(out, "overhead.hashtable.main", *main);
        int(out, "overhead.hashtable.expires", *expires);
    }
    int(out, "keys.count", keys);
    int(
        out,
        "keys.bytes-per-key",
        dataset.checked_div(keys).unwrap_or(0),
    );
    int(out, "dataset.bytes", dataset);
    out.bulk(b"dataset.percentage");
    out.double(pct(dataset, used));
    out.bulk(b"peak.percentage");
    out.double(pct(used, peak));
    out.bulk(b"fragmentation");
    out.double(if used == 0 {
        0.0
    } else {
        rss as f64 / used as f64
    });
    int(out, "fragmentation.bytes", rss.saturating_sub(used));
    Ok(())
}

/// MEMORY DOCTOR.
pub fn doctor(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let text = if crate::memory::used() < 5 << 20 {
        "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting."
    } else {
        "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base."
    };
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

/// MEMORY PURGE.
pub fn purge(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.ok();
    Ok(())
}

/// MEMORY MALLOC-STATS.
pub fn malloc_stats(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.verbatim(
        "txt",
        format!(
            "Stats not supported for the current allocator (system; allocated {} bytes, peak {})",
            crate::memory::used(),
            crate::memory::peak()
        )
        .as_bytes(),
    );
    Ok(())
}
