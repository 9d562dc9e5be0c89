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
//! - [`server`][server]: DBSIZE FLUSHDB FLUSHALL TIME CONFIG SHUTDOWN.
//! - [`info`][info]: INFO.
//! - [`command`][command]: COMMAND and its subcommands.
//! - [`persistence`][persistence]: SAVE BGSAVE LASTSAVE VERSIONS.
//! - [`sql`][sql], [`ingest`][ingest]: SQL and INGEST.
//! - [`keys`][keys]: generic key commands (DEL EXPIRE TTL SCAN RENAME ...).
//! - [`strings`][strings]: string commands (GET SET INCR APPEND ...).
//! - [`vectors`][vectors]: vector-set commands (VADD VSIM ... VSEARCH).

pub mod acl;
pub mod client;
pub mod command;
pub mod connection;
pub mod docs;
pub mod info;
pub mod ingest;
pub mod keys;
pub mod persistence;
pub mod server;
pub mod slowlog;
pub mod sql;
pub mod strings;
pub mod table;
pub mod vectors;

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
}

impl Conn {
    /// State of a new connection: the default user, authenticated when it
    /// needs no password.
    pub fn new(handle: Arc<ClientHandle>, acl: &crate::acl::Acl) -> Self {
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
}

/// Runs one command and writes its reply (or error) into `out`; counts it
/// in the command statistics and the slow log.
pub fn execute(state: &ServerState, conn: &mut Conn, out: &mut ReplyBuf, args: &[Bytes]) {
    conn.commands += 1;
    let start = Instant::now();
    let mut ran = None;
    let result = dispatch(state, conn, out, args, &mut ran);
    let us = start.elapsed().as_micros() as u64;
    if let Err(e) = &result {
        conn.errors += 1;
        let line = e.line();
        state.cmdstats.error(&line);
        out.error(&line);
    }
    match ran {
        Some((name, true)) => state.cmdstats.record(name, us, result.is_err()),
        Some((name, false)) => state.cmdstats.reject(name),
        None => {}
    }
    let slower_than = state.config.slowlog_log_slower_than;
    if slower_than >= 0 && us >= slower_than as u64 && ran.is_some_and(|(_, r)| r) {
        state.slowlog.push(
            state.config.slowlog_max_len as usize,
            vexlake_engine::storage::unix_ms() / 1000,
            us,
            args,
            conn.handle.addr.to_string(),
            conn.handle.meta.lock().name.clone(),
        );
    }
}

/// Looks the command up, checks it may run, and runs it. `ran` gets the
/// command's name and whether its handler ran (false: refused before).
fn dispatch(
    state: &ServerState,
    conn: &mut Conn,
    out: &mut ReplyBuf,
    args: &[Bytes],
    ran: &mut Option<(&'static str, bool)>,
) -> CmdResult {
    let Some(spec) = table::lookup(&args[0]) else {
        return Err(CmdError::err(unknown_command_text(args)));
    };
    *ran = Some((spec.name, false));
    check_arity(spec, args.len())?;
    if !conn.authenticated && !spec.flags.contains(&"no_auth") {
        return Err(CmdError::Line("NOAUTH Authentication required.".into()));
    }
    refresh_user(state, conn)?;
    let spec = if !spec.subcommands.is_empty() && args.len() > 1 {
        let sub = &args[1];
        if sub.eq_ignore_ascii_case(b"help") {
            check_acl(state, conn, spec, args)?;
            conn.last_cmd = spec.name;
            *ran = Some((spec.name, true));
            write_help(out, spec);
            return Ok(());
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
        sub_spec
    } else {
        spec
    };
    check_acl(state, conn, spec, args)?;
    conn.last_cmd = spec.name;
    if spec.flags.contains(&"write") {
        state.check_writable()?;
        if let Some(e) = state.engine.wal().and_then(|w| w.failure()) {
            return Err(CmdError::Engine(EngineError::Persistence(e)));
        }
        conn.wrote = true;
    }
    *ran = Some((spec.name, true));
    let mut ctx = Ctx { state, conn, out };
    (spec.handler)(&mut ctx, args)
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
        .check(spec, args, state.config.default_vset.as_bytes())
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

/// Parses an integer argument (`ERR value is not an integer or out of range`).
pub fn int_arg(arg: &[u8]) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// Parses a non-negative integer argument.
pub fn uint_arg(arg: &[u8]) -> Result<u64, CmdError> {
    parse_u64(arg).ok_or(CmdError::NotInteger)
}
