//! Replication and cluster commands as a standalone VexLake answers them:
//! ROLE, REPLICAOF/SLAVEOF, CLUSTER.
//!
//! VexLake replicates through the lake, not through Redis's replication
//! stream: a read replica is started with `--replica-of-lake yes` and
//! follows the lake's commits and WAL (docs/operations.md). So ROLE tells
//! a writer (`master`, no replicas attached by the protocol) from a lake
//! replica (`slave` of the lake); `REPLICAOF NO ONE` on a writer is the
//! no-op it is in Redis, and any other REPLICAOF is refused. There is no
//! cluster mode: CLUSTER answers as a standalone Redis does.

use bytes::Bytes;
use vexlake_engine::storage::{Role, StorageStats};

use super::table::{ADMIN, BASE, CommandSpec};
use super::{CmdResult, Ctx};
use crate::error::CmdError;

/// ROLE
pub fn role(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let state = ctx.state;
    let out = &mut *ctx.out;
    match state.storage.get() {
        Some(storage) if storage.role() == Role::Replica => {
            out.array(5);
            out.bulk(b"slave");
            out.bulk(storage.store().url().to_string().as_bytes());
            out.int(0);
            out.bulk(b"connected");
            out.int(StorageStats::get(&storage.stats.committed_seq) as i64);
        }
        _ => {
            out.array(3);
            out.bulk(b"master");
            out.int(state.engine.wal().map_or(0, |w| w.written_seq()) as i64);
            out.array(0);
        }
    }
    Ok(())
}

/// REPLICAOF host port (SLAVEOF): `NO ONE` on a writer is accepted (it is
/// one); following another server is not how VexLake replicates.
pub fn replicaof(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let no_one = args[1].eq_ignore_ascii_case(b"no") && args[2].eq_ignore_ascii_case(b"one");
    let replica = ctx
        .state
        .storage
        .get()
        .is_some_and(|s| s.role() == Role::Replica);
    if no_one && !replica {
        ctx.out.ok();
        return Ok(());
    }
    Err(CmdError::err(
        "REPLICAOF is not supported: a VexLake read replica follows a lake (start it with --replica-of-lake yes)",
    ))
}

/// CLUSTER <subcommand> ...: no cluster mode.
pub fn cluster(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    Err(CmdError::err("This instance has cluster support disabled"))
}

const REPLICAOF_FLAGS: &[&str] = &["admin", "noscript", "stale", "no_async_loading"];

/// ROLE, REPLICAOF, SLAVEOF, CLUSTER.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "role",
        arity: 1,
        flags: &["noscript", "loading", "stale", "fast"],
        acl: &["@admin", "@fast", "@dangerous"],
        group: "server",
        since: "2.8.12",
        summary: "Returns the replication role.",
        handler: role,
        ..BASE
    },
    CommandSpec {
        name: "replicaof",
        arity: 3,
        flags: REPLICAOF_FLAGS,
        acl: &["@admin", "@slow", "@dangerous"],
        group: "server",
        since: "5.0.0",
        summary: "Configures a server as replica of another, or promotes it to a master.",
        syntax: "host port",
        handler: replicaof,
        ..BASE
    },
    CommandSpec {
        name: "slaveof",
        arity: 3,
        flags: REPLICAOF_FLAGS,
        acl: &["@admin", "@slow", "@dangerous"],
        group: "server",
        since: "1.0.0",
        summary: "Sets a Redis server as a replica of another, or promotes it to being a master.",
        syntax: "host port",
        handler: replicaof,
        ..BASE
    },
    CommandSpec {
        name: "cluster",
        arity: -2,
        flags: ADMIN,
        acl: &["@slow"],
        group: "cluster",
        since: "3.0.0",
        summary: "A container for Redis Cluster commands (cluster mode is not provided).",
        complexity: "Depends on subcommand.",
        syntax: "subcommand [arg ...]",
        handler: cluster,
        ..BASE
    },
];
