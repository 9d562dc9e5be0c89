//! Commands: lookup, the checks every command goes through (arity, auth,
//! subcommands), and one module per command family.
//!
//! Each handler parses its arguments completely (rejecting unknown or
//! trailing ones with Redis's error text) before it touches the engine, then
//! writes its reply into the connection's [`ReplyBuf`]. Errors are returned
//! as [`CmdError`] and written in one place ([`execute`]).
//!
//! # Layout
//! - [`table`][table]: the command table: names, arity, flags, key positions, ACL
//!   categories and argument syntax (the source of COMMAND and COMMAND DOCS).
//! - [`docs`][docs]: turns a syntax line into COMMAND DOCS argument trees.
//! - [`connection`][connection]: PING ECHO HELLO AUTH SELECT QUIT RESET.
//! - [`acl`][acl]: ACL and its subcommands.
//! - [`client`][client]: CLIENT subcommands.
//! - [`tracking`][tracking]: CLIENT TRACKING CACHING GETREDIR TRACKINGINFO.
//! - [`server`][server]: DBSIZE FLUSHDB FLUSHALL TIME SHUTDOWN.
//! - [`config`][config]: CONFIG GET SET RESETSTAT REWRITE.
//! - [`info`][info]: INFO.
//! - [`memory`][memory]: MEMORY USAGE STATS DOCTOR PURGE MALLOC-STATS.
//! - [`latency`][latency]: LATENCY (the latency monitor is off: no events).
//! - [`debug`][debug]: DEBUG (SLEEP, DIGEST, RELOAD, ...).
//! - [`command`][command]: COMMAND and its subcommands.
//! - [`persistence`][persistence]: SAVE BGSAVE LASTSAVE VERSIONS.
//! - [`sql`][sql], [`ingest`][ingest]: SQL and INGEST.
//! - [`keys`][keys]: generic key commands (DEL EXPIRE TTL SCAN RENAME ...).
//! - [`object`][object]: OBJECT and COPY.
//! - [`lcs`][lcs]: LCS.
//! - [`dump`][dump]: DUMP and RESTORE (VexLake's payload format).
//! - [`strings`][strings]: string commands (GET SET INCR APPEND ...).
//! - [`bitmaps`][bitmaps]: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD.
//! - [`hyperloglog`][hyperloglog]: PFADD PFCOUNT PFMERGE.
//! - [`sort`][sort]: SORT SORT_RO.
//! - [`hashes`][hashes], [`sets`][sets], [`lists`][lists], [`zsets`][zsets]: the collection
//!   commands; [`list_blocking`][list_blocking]: BLPOP BRPOP BLMOVE
//!   BRPOPLPUSH BLMPOP; [`collection`][collection]: what they share (FIELDS
//!   blocks, *SCAN, random picks).
//! - [`vectors`][vectors]: vector-set commands (VADD VSIM ... VSEARCH).
//! - [`transactions`][transactions]: MULTI EXEC DISCARD WATCH UNWATCH.
//! - [`scripting`][scripting]: EVAL EVALSHA EVAL_RO EVALSHA_RO SCRIPT.
//! - [`functions`][functions]: FUNCTION and FCALL FCALL_RO.
//! - [`replication`][replication]: ROLE REPLICAOF SLAVEOF CLUSTER (standalone answers).
//! - [`pubsub`][pubsub]: SUBSCRIBE PUBLISH PUBSUB and friends.
//!
//! # Atomicity
//! Every command runs holding the engine's gate shared
//! ([`Engine::shared`](vexlake_engine::Engine::shared)); EXEC and scripts
//! hold it exclusively, so no command runs between a transaction's or a
//! script's commands. SQL, INGEST, SAVE, SHUTDOWN and SCRIPT KILL do not
//! take it (they do not change keys, and a long query must not hold
//! transactions up). While a script has run past `busy-reply-threshold`,
//! commands not flagged `allow_busy` get `-BUSY` instead of waiting.

pub mod acl;
pub mod bitmaps;
pub mod client;
pub mod collection;
pub mod command;
pub mod config;
pub mod connection;
pub mod debug;
pub mod docs;
pub mod dump;
pub mod functions;
pub mod geo;
pub mod geohash;
pub mod hashes;
pub mod hyperloglog;
pub mod info;
pub mod ingest;
pub mod keys;
pub mod latency;
pub mod lcs;
pub mod list_blocking;
pub mod lists;
pub mod memory;
pub mod object;
pub mod persistence;
pub mod pubsub;
pub mod replication;
pub mod scripting;
pub mod server;
pub mod sets;
pub mod slowlog;
pub mod sort;
pub mod sql;
pub mod streams;
pub mod strings;
pub mod table;
pub mod tracking;
pub mod transactions;
pub mod vectors;
pub mod zsets;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use vexlake_engine::{Db, EngineError};
use vexlake_protocol::ReplyBuf;
use vexlake_protocol::args::{parse_i64, parse_u64};

use crate::client::ClientHandle;
use crate::error::CmdError;
use crate::server::ServerState;
use table::CommandSpec;

/// Result of a command handler.
pub type CmdResult = Result<(), CmdError>;

/// A command handler: `args[0]` is the command name (for subcommands,
/// `args[1]` is the subcommand).
pub type Handler = fn(&mut Ctx<'_>, &[Bytes]) -> CmdResult;

/// Per-connection state that commands read and change.
#[derive(Debug)]
pub struct Conn {
    /// The registry entry of this connection.
    pub handle: Arc<ClientHandle>,
    /// Selected database.
    pub db: usize,
    /// Whether AUTH has succeeded (or the default user needs no password).
    pub authenticated: bool,
    /// The user the connection runs as (a snapshot; see [`crate::acl`]).
    pub user: Arc<crate::acl::User>,
    /// ACL generation of `user`.
    pub acl_gen: u64,
    /// Set by QUIT: close after the reply is sent.
    pub close: bool,
    /// Full name of the last command run.
    pub last_cmd: &'static str,
    /// Commands run since the last publish to the stats.
    pub commands: u64,
    /// Error replies since the last publish to the stats.
    pub errors: u64,
    /// A write command ran since the replies were last sent: they wait for
    /// the WAL fsync first.
    pub wrote: bool,
    /// Commands queued since MULTI (None outside a transaction).
    pub multi: Option<transactions::Multi>,
    /// WATCHed keys.
    pub watching: Option<crate::watch::WatchList>,
    /// Running EXEC's commands: the gate is held exclusively, commands run
    /// rather than being queued.
    pub nested: bool,
    /// Channels and patterns subscribed to.
    pub subs: crate::pubsub::Subscriptions,
    /// CLIENT NO-TOUCH: commands do not change keys' access data.
    pub no_touch: bool,
    /// CLIENT NO-EVICT (recorded; clients are never evicted here).
    pub no_evict: bool,
    /// CLIENT REPLY mode.
    pub reply: client::ReplyMode,
    /// Where PUBLISH and tracking put messages for this connection.
    pub mailbox: Arc<crate::pubsub::Mailbox>,
    /// The other end, taken by the connection task that sends them.
    pub push_rx: Option<tokio::sync::mpsc::UnboundedReceiver<crate::pubsub::Push>>,
    /// CLIENT TRACKING settings (None: off).
    pub tracking: Option<crate::tracking::Mode>,
    /// CLIENT CACHING yes|no given for the next command.
    pub caching: Option<bool>,
    /// MONITOR is on.
    pub monitoring: bool,
    /// Left by a blocking command that found nothing: the connection
    /// waits on these keys, then runs the command again.
    pub blocked: Option<crate::blocking::Block>,
    /// The command runs again after a wait (not counted again in the
    /// statistics or fed to MONITOR).
    pub resuming: bool,
    /// VADDs of the pipeline planned before they run (see
    /// [`vectors::ahead`]).
    pub plans_ahead: vectors::ahead::PlansAhead,
}

impl Conn {
    /// State of a new connection: the default user, authenticated when it
    /// needs no password.
    pub fn new(handle: Arc<ClientHandle>, acl: &crate::acl::Acl) -> Self {
        let mailbox = handle.mailbox.clone();
        let push_rx = handle.pushes.lock().take();
        Conn {
            handle,
            db: 0,
            authenticated: acl.starts_authenticated(),
            acl_gen: acl.generation(),
            user: acl.default_user(),
            close: false,
            last_cmd: "",
            commands: 0,
            errors: 0,
            wrote: false,
            multi: None,
            watching: None,
            nested: false,
            subs: Default::default(),
            no_touch: false,
            no_evict: false,
            reply: client::ReplyMode::On,
            mailbox,
            push_rx,
            tracking: None,
            caching: None,
            monitoring: false,
            blocked: None,
            resuming: false,
            plans_ahead: Default::default(),
        }
    }
}

/// What a handler works with.
pub struct Ctx<'a> {
    /// Shared server state.
    pub state: &'a ServerState,
    /// This connection.
    pub conn: &'a mut Conn,
    /// Reply buffer of this connection.
    pub out: &'a mut ReplyBuf,
}

impl Ctx<'_> {
    /// The selected database.
    pub fn db(&self) -> &Db {
        self.state.engine.db(self.conn.db)
    }

    /// Current time in Unix ms by the engine's clock.
    pub fn now(&self) -> u64 {
        self.state.engine.now_ms()
    }

    /// Publishes keyspace notification `event` (of `class`, see
    /// [`crate::notify`]) for `key` in the selected database.
    pub fn notify(&self, class: u32, event: &str, key: &[u8]) {
        self.state.notify_key(class, event, key, self.conn.db);
    }
}

/// Runs one command and writes its reply (or error) into `out`; counts it
/// in the command statistics and the slow log.
pub fn execute(state: &ServerState, conn: &mut Conn, out: &mut ReplyBuf, args: &[Bytes]) {
    if !conn.resuming {
        conn.commands += 1;
    }
    let start = Instant::now();
    let mut ran = None;
    let reply_from = out.len();
    let result = if conn.no_touch && !args[0].eq_ignore_ascii_case(b"touch") {
        vexlake_engine::keyspace::access::no_touch(|| dispatch(state, conn, out, args, &mut ran))
    } else {
        dispatch(state, conn, out, args, &mut ran)
    };
    let us = start.elapsed().as_micros() as u64;
    if let Err(e) = &result {
        conn.errors += 1;
        let line = e.line();
        state.cmdstats.error(&line);
        out.error(&line);
    }
    if !conn.nested && !client::reply_wanted(conn) {
        out.truncate(reply_from);
    }
    if conn.resuming {
        return;
    }
    if state.monitors.active()
        && let Some((name, _)) = ran
        && let Some(spec) = table::lookup_full(name)
        && !spec.flags.contains(&"admin")
        && !matches!(name, "auth" | "hello" | "monitor")
    {
        let who = if conn.nested && state.scripts.running.active() {
            "lua".to_string()
        } else {
            conn.handle.addr.to_string()
        };
        state.monitors.feed(conn.db, &who, args);
    }
    match ran {
        Some((name, true)) => state.cmdstats.record(name, us, result.is_err()),
        Some((name, false)) => state.cmdstats.reject(name),
        None => {}
    }
    let slower_than = state.config().slowlog_log_slower_than;
    if slower_than >= 0 && us >= slower_than as u64 && ran.is_some_and(|(_, r)| r) {
        state.slowlog.push(
            state.config().slowlog_max_len as usize,
            vexlake_engine::storage::unix_ms() / 1000,
            us,
            args,
            conn.handle.addr.to_string(),
            conn.handle.meta.lock().name.clone(),
        );
    }
}

/// Looks the command up, checks it may run, and runs it (or queues it
/// inside MULTI). `ran` gets the command's name and whether its handler
/// ran (false: refused before).
fn dispatch(
    state: &ServerState,
    conn: &mut Conn,
    out: &mut ReplyBuf,
    args: &[Bytes],
    ran: &mut Option<(&'static str, bool)>,
) -> CmdResult {
    let queueing = conn.multi.is_some() && !conn.nested;
    let (spec, help) = match check(state, conn, args, ran, queueing) {
        Ok(checked) => checked,
        Err(e) => {
            // A command refused inside MULTI fails the transaction.
            if queueing && let Some(m) = conn.multi.as_mut() {
                m.failed = true;
            }
            return Err(e);
        }
    };
    conn.last_cmd = spec.name;
    if queueing && !transactions::runs_in_multi(spec.name) {
        if let Some(m) = conn.multi.as_mut() {
            m.queued.push(args.to_vec());
        }
        out.simple("QUEUED");
        return Ok(());
    }
    if conn.subs.any() && pubsub::resp2(out) && !conn.nested {
        if spec.name == "ping" {
            *ran = Some((spec.name, true));
            let mut ctx = Ctx { state, conn, out };
            pubsub::subscribed_ping(&mut ctx, args);
            return Ok(());
        }
        if !pubsub::allowed_while_subscribed(spec.name) {
            return Err(CmdError::err(format!(
                "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                spec.name
            )));
        }
    }
    *ran = Some((spec.name, true));
    if help {
        write_help(out, spec);
        return Ok(());
    }
    let write = spec.flags.contains(&"write");
    if !conn.nested && !matches!(spec.name, "client|unpause" | "client|pause") {
        wait_while_paused(state, spec, write);
    }
    if write {
        conn.wrote = true;
    }
    let _gate = if !conn.nested && gated(spec) {
        enter(state, spec)?
    } else {
        None
    };
    if spec.flags.contains(&"denyoom") {
        state.evictor.make_room(state)?;
    }
    let db = conn.db;
    let mut ctx = Ctx { state, conn, out };
    let result = (spec.handler)(&mut ctx, args);
    // A command that blocked changed nothing (and must not wake itself).
    if result.is_ok() && (write || ctx.conn.tracking.is_some()) && ctx.conn.blocked.is_none() {
        changed_or_read(state, ctx.conn, spec, args, db, write);
    }
    if spec.name != "client|caching" {
        ctx.conn.caching = None;
    }
    result
}

/// After a command succeeded: a write invalidates WATCHes and tracked
/// keys; a read by a tracking client is remembered.
fn changed_or_read(
    state: &ServerState,
    conn: &Conn,
    spec: &CommandSpec,
    args: &[Bytes],
    db: usize,
    write: bool,
) {
    let tracking = state.tracking.active();
    if write && !state.watches.active() && !tracking && !state.blocking.active() {
        return;
    }
    if matches!(spec.name, "flushdb" | "flushall") {
        state
            .watches
            .touch_db((spec.name == "flushdb").then_some(db));
        if tracking {
            state.tracking.flush();
        }
        return;
    }
    let default_vset = state.config().default_vset.clone();
    let keys = crate::acl::user::key_args(spec, args, default_vset.as_bytes());
    if write {
        if state.watches.active() {
            state.watches.touch(db, keys.iter().copied());
        }
        for k in &keys {
            state.blocking.signal(db, k);
        }
        if tracking {
            for k in &keys {
                state.tracking.invalidate(k, Some(conn.handle.id));
            }
        }
    } else if let Some(mode) = &conn.tracking
        && mode.bcast.is_none()
        && spec.flags.contains(&"readonly")
    {
        let wanted = if mode.optin {
            conn.caching == Some(true)
        } else if mode.optout {
            conn.caching != Some(false)
        } else {
            true
        };
        if wanted {
            state.tracking.remember(conn.handle.id, keys);
        }
    }
}

/// The checks before a command runs (or is queued): existence, arity,
/// authentication, ACL, `no_multi` inside MULTI, READONLY. Returns the
/// command or subcommand, and whether this is its HELP.
fn check(
    state: &ServerState,
    conn: &mut Conn,
    args: &[Bytes],
    ran: &mut Option<(&'static str, bool)>,
    queueing: bool,
) -> Result<(&'static CommandSpec, bool), CmdError> {
    let Some(spec) = table::lookup(&args[0]) else {
        return Err(CmdError::err(unknown_command_text(args)));
    };
    *ran = Some((spec.name, false));
    check_arity(spec, args.len())?;
    if !conn.authenticated && !spec.flags.contains(&"no_auth") {
        return Err(CmdError::Line("NOAUTH Authentication required.".into()));
    }
    refresh_user(state, conn)?;
    if queueing && spec.flags.contains(&"no_multi") {
        return Err(CmdError::err("Command not allowed inside a transaction"));
    }
    if !spec.subcommands.is_empty() && args.len() > 1 {
        let sub = &args[1];
        if sub.eq_ignore_ascii_case(b"help") {
            check_acl(state, conn, spec, args)?;
            return Ok((spec, true));
        }
        let Some(sub_spec) = spec
            .subcommands
            .iter()
            .find(|s| s.sub_name().as_bytes().eq_ignore_ascii_case(sub))
        else {
            return Err(CmdError::err(format!(
                "unknown subcommand '{}'. Try {} HELP.",
                truncate(&String::from_utf8_lossy(sub), 128),
                spec.name.to_ascii_uppercase()
            )));
        };
        *ran = Some((sub_spec.name, false));
        check_arity(sub_spec, args.len())?;
        check_acl(state, conn, sub_spec, args)?;
        check_write(state, sub_spec)?;
        return Ok((sub_spec, false));
    }
    check_acl(state, conn, spec, args)?;
    check_write(state, spec)?;
    Ok((spec, false))
}

/// A write command is refused on a replica, a fenced writer, or after the
/// WAL failed.
fn check_write(state: &ServerState, spec: &CommandSpec) -> CmdResult {
    if spec.flags.contains(&"write") {
        state.check_writable()?;
        if let Some(e) = state.engine.wal().and_then(|w| w.failure()) {
            return Err(CmdError::Engine(EngineError::Persistence(e)));
        }
    }
    Ok(())
}

/// Whether the command holds the engine's gate shared while it runs (see
/// the module doc). EXEC and scripts take it exclusively themselves.
fn gated(spec: &CommandSpec) -> bool {
    !matches!(
        spec.name,
        "exec"
            | "eval"
            | "evalsha"
            | "eval_ro"
            | "evalsha_ro"
            | "fcall"
            | "fcall_ro"
            | "script|kill"
            | "function|kill"
            | "function|stats"
            | "sql"
            | "ingest"
            | "save"
            | "bgsave"
            | "shutdown"
            | "debug"
    )
}

/// Takes the engine's gate shared for one command, waiting while a
/// transaction or script runs; once a script has run past
/// `busy-reply-threshold`, answers `-BUSY` instead (commands flagged
/// `allow_busy` run without the gate).
fn enter<'s>(
    state: &'s ServerState,
    spec: &CommandSpec,
) -> Result<Option<parking_lot::RwLockReadGuard<'s, ()>>, CmdError> {
    if let Some(g) = state.engine.try_shared() {
        return Ok(Some(g));
    }
    offload(true, || {
        loop {
            if state.scripts.running.busy() {
                if spec.flags.contains(&"allow_busy") {
                    return Ok(None);
                }
                return Err(busy_error(state));
            }
            if let Some(g) = state
                .engine
                .shared_for(std::time::Duration::from_millis(10))
            {
                return Ok(Some(g));
            }
        }
    })
}

/// The reply while a script runs past `busy-reply-threshold` (a function
/// is stopped by FUNCTION KILL, an EVAL script by SCRIPT KILL).
pub(crate) fn busy_error(state: &ServerState) -> CmdError {
    let kill = if state.scripts.running.function().is_some() {
        "FUNCTION KILL"
    } else {
        "SCRIPT KILL"
    };
    CmdError::Line(format!(
        "BUSY Redis is busy running a script. You can only call {kill} or SHUTDOWN NOSAVE."
    ))
}

/// Runs `f` with [`Engine::atomically`](vexlake_engine::Engine::atomically)
/// (a transaction or script): `-BUSY` while a script runs past the
/// threshold; the wait for a running script happens off the async worker.
pub(crate) fn alone<R>(
    state: &ServerState,
    f: impl FnOnce() -> R,
) -> Result<(R, Result<u64, EngineError>), CmdError> {
    if state.scripts.running.busy() {
        return Err(busy_error(state));
    }
    Ok(offload(state.scripts.running.active(), || {
        state.engine.atomically(f)
    }))
}

/// Takes up changes to the connection's user (ACL SETUSER/DELUSER/LOAD on
/// any connection). A deleted user's connection is closed.
fn refresh_user(state: &ServerState, conn: &mut Conn) -> CmdResult {
    let generation = state.acl.generation();
    if generation == conn.acl_gen {
        return Ok(());
    }
    conn.acl_gen = generation;
    match state.acl.get(&conn.user.name) {
        Some(u) => {
            conn.user = u;
            Ok(())
        }
        None => {
            conn.close = true;
            conn.authenticated = false;
            Err(CmdError::Line(format!(
                "NOPERM The user '{}' of this connection was deleted",
                conn.user.name
            )))
        }
    }
}

/// The ACL check of a restricted user (`-NOPERM ...`, Redis's texts).
/// Commands that need no authentication (AUTH, HELLO, QUIT, RESET) are not
/// checked either, as in Redis: any user can switch users or leave.
fn check_acl(state: &ServerState, conn: &Conn, spec: &CommandSpec, args: &[Bytes]) -> CmdResult {
    if conn.user.unrestricted() || spec.flags.contains(&"no_auth") {
        return Ok(());
    }
    match conn
        .user
        .check(spec, args, state.config().default_vset.as_bytes())
    {
        Ok(()) => Ok(()),
        Err(crate::acl::Denied::Command) => {
            crate::stats::Stats::add(&state.stats.acl_denied_cmd, 1);
            Err(CmdError::Line(format!(
                "NOPERM User {} has no permissions to run the '{}' command",
                conn.user.name, spec.name
            )))
        }
        Err(crate::acl::Denied::Key) => {
            crate::stats::Stats::add(&state.stats.acl_denied_key, 1);
            Err(CmdError::Line(
                "NOPERM No permissions to access a key".into(),
            ))
        }
        Err(crate::acl::Denied::Channel) => {
            crate::stats::Stats::add(&state.stats.acl_denied_channel, 1);
            Err(CmdError::Line(
                "NOPERM No permissions to access a channel".into(),
            ))
        }
    }
}

pub(crate) fn check_arity(spec: &CommandSpec, argc: usize) -> CmdResult {
    let arity = spec.arity;
    let ok = if arity >= 0 {
        argc == arity as usize
    } else {
        argc >= (-arity) as usize
    };
    if ok {
        Ok(())
    } else {
        Err(CmdError::WrongArity(spec.name))
    }
}

/// Redis's text for an unknown command, quoting up to 128 characters of args.
fn unknown_command_text(args: &[Bytes]) -> String {
    let mut quoted = String::new();
    for a in &args[1..] {
        if quoted.len() >= 128 {
            break;
        }
        let room = 128 - quoted.len();
        quoted.push('\'');
        quoted.push_str(&truncate(&String::from_utf8_lossy(a), room));
        quoted.push_str("' ");
    }
    format!(
        "unknown command '{}', with args beginning with: {}",
        truncate(&String::from_utf8_lossy(&args[0]), 128),
        quoted
    )
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn write_help(out: &mut ReplyBuf, spec: &CommandSpec) {
    let upper = spec.name.to_ascii_uppercase();
    let mut lines = vec![format!(
        "{upper} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    )];
    for sub in spec.subcommands {
        lines.push(format!(
            "{} {}",
            sub.sub_name().to_ascii_uppercase(),
            sub.syntax
        ));
        lines.push(format!("    {}", sub.summary));
    }
    lines.push("HELP".into());
    lines.push("    Print this help.".into());
    out.array(lines.len());
    for l in lines {
        out.simple(&l);
    }
}

/// Runs `f`, moving the other connections of this worker thread to another
/// worker first when `heavy` (tokio's `block_in_place`). Short searches run
/// inline: the hand-off costs more than it saves (GloVe 100k, ef 100,
/// 32 clients: 4,738 QPS with a hand-off on every VSIM, 6,716 without).
/// Waits for the engine's gate (a transaction or script runs) are heavy.
pub(crate) fn offload<R>(heavy: bool, f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if heavy && h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Holds the command while CLIENT PAUSE applies to it: every command
/// under `ALL`; under `WRITE` the ones that may write (writes, EVAL and
/// EXEC, which may hold writes, PUBLISH).
fn wait_while_paused(state: &ServerState, spec: &CommandSpec, write: bool) {
    let may_write = write
        || matches!(
            spec.name,
            "eval" | "evalsha" | "fcall" | "exec" | "publish" | "spublish"
        );
    if !state.paused(may_write) {
        return;
    }
    offload(true, || {
        while state.paused(may_write) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    });
}

/// A transaction or script running this long calls [`wake_idle_worker`].
pub(crate) const WAKE_WORKER_AFTER: std::time::Duration = std::time::Duration::from_millis(5);

/// Wakes a parked async worker, so it takes over polling the sockets while
/// this thread stays busy (a long script or transaction). Tokio wakes idle
/// workers only when work arrives, and the busy thread may be the one that
/// was polling: without this, no connection would be served until it is
/// done, SCRIPT KILL included. Work spawned from a thread outside the
/// runtime always wakes a parked worker.
pub(crate) fn wake_idle_worker() {
    if let Ok(h) = tokio::runtime::Handle::try_current() {
        let _ = std::thread::Builder::new()
            .name("wake-worker".into())
            .spawn(move || {
                h.spawn(async {});
            });
    }
}

/// Parses an integer argument (`ERR value is not an integer or out of range`).
pub fn int_arg(arg: &[u8]) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// Parses a non-negative integer argument.
pub fn uint_arg(arg: &[u8]) -> Result<u64, CmdError> {
    parse_u64(arg).ok_or(CmdError::NotInteger)
}
