//! Persistence commands: SAVE, BGSAVE, LASTSAVE, and VERSIONS (VexLake's
//! list of committed versions).
//!
//! SAVE commits the current state to the object store before replying (like
//! Redis's SAVE it makes the caller wait); BGSAVE asks the background flusher
//! to do it. Both write Parquet and index files and a new manifest.

use bytes::Bytes;
use vexlake_engine::storage::{Manifest, StorageError, StorageStats};
use vexlake_protocol::args::is_keyword;

use super::table::{BASE, CommandSpec};
use super::{CmdResult, Ctx, uint_arg};
use crate::error::CmdError;

const ADMIN: &[&str] = &["admin", "noscript", "no_async_loading", "no_multi"];

/// The persistence commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "save",
        arity: 1,
        flags: ADMIN,
        acl: &["@admin", "@slow", "@dangerous"],
        group: "server",
        summary: "Commits the data to the object store (Parquet, index files and a new manifest) before replying.",
        complexity: "O(N) where N is the total number of keys in all databases",
        handler: save,
        ..BASE
    },
    CommandSpec {
        name: "bgsave",
        arity: -1,
        flags: ADMIN,
        acl: &["@admin", "@slow", "@dangerous"],
        group: "server",
        summary: "Commits the data to the object store in the background.",
        complexity: "O(1)",
        syntax: "[SCHEDULE]",
        handler: bgsave,
        ..BASE
    },
    CommandSpec {
        name: "lastsave",
        arity: 1,
        flags: &["loading", "stale", "fast"],
        acl: &["@admin", "@fast", "@dangerous"],
        group: "server",
        summary: "Returns the Unix time of the last successful commit to the object store.",
        handler: lastsave,
        ..BASE
    },
    CommandSpec {
        name: "versions",
        arity: -1,
        flags: &["readonly", "loading", "stale"],
        acl: &["@read", "@slow"],
        group: "server",
        since: "0.1.0",
        summary: "VexLake: the most recent committed versions (manifests), newest first.",
        complexity: "O(N) where N is the number of versions listed",
        syntax: "[COUNT count:integer]",
        handler: versions,
        ..BASE
    },
];

pub(crate) fn storage_error(e: impl std::fmt::Display) -> CmdError {
    CmdError::err(format!("storage error: {e}"))
}

/// A failed commit: READONLY when this server may not commit (a replica,
/// or a writer fenced by a newer one), else a storage error.
pub(crate) fn commit_error(e: StorageError) -> CmdError {
    match e {
        StorageError::ReadOnly => crate::error::readonly(None),
        StorageError::Fenced(why) => crate::error::readonly(Some(&why)),
        other => storage_error(other),
    }
}

/// Runs a future to completion from a command handler (SAVE and VERSIONS
/// wait for the object store, as Redis's SAVE waits for the disk).
pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    match tokio::runtime::Handle::try_current() {
        Ok(h) => tokio::task::block_in_place(|| h.block_on(f)),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(f),
    }
}

/// SAVE.
pub fn save(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let Some(storage) = ctx.state.storage.get() else {
        return Err(CmdError::err("storage is not open"));
    };
    if storage
        .stats
        .in_progress
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        return Err(CmdError::err("Background save already in progress"));
    }
    block_on(storage.flush(&ctx.state.engine, "save", true)).map_err(commit_error)?;
    ctx.out.ok();
    Ok(())
}

/// BGSAVE [SCHEDULE].
pub fn bgsave(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let schedule = match args.get(1) {
        None => false,
        Some(a) if is_keyword(a, "schedule") && args.len() == 2 => true,
        Some(_) => return Err(CmdError::Syntax),
    };
    let Some(storage) = ctx.state.storage.get() else {
        return Err(CmdError::err("storage is not open"));
    };
    storage.may_commit().map_err(commit_error)?;
    let running = storage
        .stats
        .in_progress
        .load(std::sync::atomic::Ordering::Relaxed);
    if running && !schedule {
        return Err(CmdError::err("Background save already in progress"));
    }
    ctx.state.bgsave.notify_one();
    if running {
        ctx.out.simple("Background saving scheduled");
    } else {
        ctx.out.simple("Background saving started");
    }
    Ok(())
}

/// LASTSAVE: Unix seconds of the last commit by this server (the start
/// time when it has not committed yet, like Redis after loading).
pub fn lastsave(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let ms = ctx
        .state
        .storage_stats()
        .map_or(0, |s| StorageStats::get(&s.last_commit_ms));
    let secs = if ms > 0 {
        ms / 1000
    } else {
        ctx.state.started_unix_ms / 1000
    };
    ctx.out.int(secs as i64);
    Ok(())
}

/// VERSIONS [COUNT n]: newest first; each entry a map of version, parent,
/// timestamp_ms, operation, committed_by, epoch, wal_position, keys (rows
/// of the kv files: a base's keys plus each delta's changes), vsets,
/// elements, files, bytes (a flat array in RESP2).
pub fn versions(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let count = match &args[1..] {
        [] => 10,
        [k, n] if is_keyword(k, "count") => uint_arg(n)?.clamp(1, 1000) as usize,
        _ => return Err(CmdError::Syntax),
    };
    let Some(storage) = ctx.state.storage.get() else {
        return Err(CmdError::err("storage is not open"));
    };
    let list = block_on(storage.recent_versions(count)).map_err(storage_error)?;
    ctx.out.array(list.len());
    for m in &list {
        write_version(ctx, m);
    }
    Ok(())
}

fn write_version(ctx: &mut Ctx<'_>, m: &Manifest) {
    let keys = m.kv.iter().map(|f| f.file.rows).sum::<u64>();
    let mut files = m.kv.len() as u64;
    let mut bytes = m.kv.iter().map(|f| f.file.size).sum::<u64>();
    let mut elements = 0;
    for v in &m.vsets {
        elements += v.elements;
        files += v.files().count() as u64;
        bytes += v.bytes();
    }
    let out = &mut *ctx.out;
    out.map(12);
    out.bulk(b"version");
    out.int(m.version as i64);
    out.bulk(b"parent");
    out.int(m.parent as i64);
    out.bulk(b"timestamp_ms");
    out.int(m.timestamp_ms as i64);
    out.bulk(b"operation");
    out.bulk(m.operation.as_bytes());
    out.bulk(b"committed_by");
    out.bulk(m.writer.id.as_bytes());
    out.bulk(b"epoch");
    out.int(m.writer.epoch as i64);
    out.bulk(b"wal_position");
    out.int(m.wal.position as i64);
    out.bulk(b"keys");
    out.int(keys as i64);
    out.bulk(b"vsets");
    out.int(m.vsets.len() as i64);
    out.bulk(b"elements");
    out.int(elements as i64);
    out.bulk(b"files");
    out.int(files as i64);
    out.bulk(b"bytes");
    out.int(bytes as i64);
}
