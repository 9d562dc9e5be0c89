//! Transactions: MULTI EXEC DISCARD WATCH UNWATCH.
//!
//! After MULTI, commands are checked (existence, arity, ACL, `no_multi`,
//! READONLY) and queued (`+QUEUED`) by [`super::dispatch`]; a command
//! refused there marks the transaction failed and EXEC answers
//! `-EXECABORT`. EXEC runs the queued commands with
//! [`Engine::atomically`](vexlake_engine::Engine::atomically): no other
//! command runs in between, and their changes are one WAL record (after a
//! crash the transaction is there whole or not at all). A command that
//! fails while running gets its error in EXEC's reply array, and the
//! others still run, as in Redis. A WATCHed key written by anyone, or gone
//! (expired) since it was watched, makes EXEC reply a null array and run
//! nothing (see [`crate::watch`]).

use bytes::Bytes;

use super::table::{BASE, CommandSpec};
use super::{CmdResult, Ctx};
use crate::error::CmdError;
use crate::watch::WatchList;

/// The commands queued since MULTI.
#[derive(Debug, Default)]
pub struct Multi {
    /// Queued commands, in order.
    pub queued: Vec<Vec<Bytes>>,
    /// A command was refused while queueing: EXEC aborts.
    pub failed: bool,
}

/// Commands that run at once inside MULTI rather than being queued.
pub fn runs_in_multi(name: &str) -> bool {
    matches!(
        name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

/// MULTI
pub fn multi(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    if ctx.conn.multi.is_some() {
        return Err(CmdError::err("MULTI calls can not be nested"));
    }
    ctx.conn.multi = Some(Multi::default());
    ctx.out.ok();
    Ok(())
}

/// DISCARD
pub fn discard(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    if ctx.conn.multi.take().is_none() {
        return Err(CmdError::err("DISCARD without MULTI"));
    }
    ctx.conn.watching = None;
    ctx.out.ok();
    Ok(())
}

/// EXEC
pub fn exec(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let Some(multi) = ctx.conn.multi.take() else {
        return Err(CmdError::err("EXEC without MULTI"));
    };
    let watching = ctx.conn.watching.take();
    if multi.failed {
        return Err(CmdError::Line(
            "EXECABORT Transaction discarded because of previous errors.".into(),
        ));
    }
    let state = ctx.state;
    let conn = &mut *ctx.conn;
    let out = &mut *ctx.out;
    let start = out.len();
    let ((), written) = super::alone(state, || {
        if watching.as_ref().is_some_and(|w| w.broken(&state.engine)) {
            out.null_array();
            return;
        }
        drop(watching);
        out.array(multi.queued.len());
        conn.nested = true;
        let started = std::time::Instant::now();
        let mut handed_off = false;
        for args in &multi.queued {
            super::execute(state, conn, out, args);
            if !handed_off && started.elapsed() >= super::WAKE_WORKER_AFTER {
                // A long transaction: another worker polls the sockets.
                super::wake_idle_worker();
                handed_off = true;
            }
        }
        conn.nested = false;
    })?;
    if let Err(e) = written {
        // The transaction's record could not be written: no replies.
        out.truncate(start);
        return Err(e.into());
    }
    Ok(())
}

/// WATCH key [key ...]
pub fn watch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if ctx.conn.multi.is_some() {
        return Err(CmdError::err("WATCH inside MULTI is not allowed"));
    }
    let now = ctx.now();
    let db = ctx.conn.db;
    let list = ctx
        .conn
        .watching
        .get_or_insert_with(|| WatchList::new(ctx.state.watches.clone()));
    for key in &args[1..] {
        let exists = ctx
            .state
            .engine
            .db(db)
            .exists(std::slice::from_ref(key), now)
            > 0;
        list.watch(db, key, exists);
    }
    ctx.out.ok();
    Ok(())
}

/// UNWATCH
pub fn unwatch(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.conn.watching = None;
    ctx.out.ok();
    Ok(())
}

const TX_FAST: &[&str] = &["noscript", "loading", "stale", "fast", "allow_busy"];

/// The transaction commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "multi",
        flags: TX_FAST,
        acl: &["@fast", "@transaction"],
        group: "transactions",
        since: "1.2.0",
        summary: "Starts a transaction.",
        handler: multi,
        ..BASE
    },
    CommandSpec {
        name: "exec",
        flags: &["noscript", "loading", "stale", "skip_slowlog"],
        acl: &["@slow", "@transaction"],
        group: "transactions",
        since: "1.2.0",
        summary: "Executes all commands in a transaction, as one WAL record.",
        complexity: "Depends on commands in the transaction",
        handler: exec,
        ..BASE
    },
    CommandSpec {
        name: "discard",
        flags: TX_FAST,
        acl: &["@fast", "@transaction"],
        group: "transactions",
        since: "2.0.0",
        summary: "Discards a transaction.",
        complexity: "O(N), when N is the number of queued commands",
        handler: discard,
        ..BASE
    },
    CommandSpec {
        name: "watch",
        arity: -2,
        flags: TX_FAST,
        keys: (1, -1, 1),
        acl: &["@fast", "@transaction"],
        group: "transactions",
        since: "2.2.0",
        summary: "Monitors changes to keys to determine the execution of a transaction.",
        complexity: "O(1) for every key.",
        syntax: "key...",
        handler: watch,
        ..BASE
    },
    CommandSpec {
        name: "unwatch",
        flags: TX_FAST,
        acl: &["@fast", "@transaction"],
        group: "transactions",
        since: "2.2.0",
        summary: "Forgets about watched keys of a transaction.",
        handler: unwatch,
        ..BASE
    },
];
