//! Scripting commands: EVAL EVALSHA EVAL_RO EVALSHA_RO and SCRIPT LOAD
//! EXISTS FLUSH KILL (the interpreter is [`crate::script`]).
//!
//! A script runs alone and is one WAL record
//! ([`Engine::atomically`](vexlake_engine::Engine::atomically)); inside
//! EXEC it is part of the transaction's record. `redis.call` runs commands
//! through [`super::execute`] on the caller's connection (its user's ACL
//! applies); commands flagged `noscript` are refused, and in `*_RO`
//! scripts so are writes.

use std::cell::{Cell, RefCell};

use bytes::Bytes;
use mlua::{Function, Value, Variadic};
use vexlake_protocol::frame::Frame;
use vexlake_protocol::{Protocol, ReplyBuf};

use super::table::{BASE, CommandSpec};
use super::{CmdResult, Conn, Ctx, int_arg};
use crate::error::CmdError;
use crate::script::convert::{error_line, error_text, frame_to_lua, write_reply};
use crate::script::functions::FunctionInfo;
use crate::script::redis_lib::{CallError, command_args, script_line};
use crate::script::{KILLED, Kill, first_line, function_name};
use crate::server::ServerState;

/// EVAL script numkeys [key ...] [arg ...]
pub fn eval(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    run(ctx, args, false, false)
}

/// EVAL_RO script numkeys [key ...] [arg ...]
pub fn eval_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    run(ctx, args, false, true)
}

/// EVALSHA sha1 numkeys [key ...] [arg ...]
pub fn evalsha(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    run(ctx, args, true, false)
}

/// EVALSHA_RO sha1 numkeys [key ...] [arg ...]
pub fn evalsha_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    run(ctx, args, true, true)
}

/// The keys and arguments after `numkeys` (Redis's errors).
pub(crate) fn split_keys(args: &[Bytes]) -> Result<(&[Bytes], &[Bytes]), CmdError> {
    let n = int_arg(&args[2])?;
    if n < 0 {
        return Err(CmdError::err("Number of keys can't be negative"));
    }
    let rest = &args[3..];
    if n as usize > rest.len() {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    Ok(rest.split_at(n as usize))
}

fn run(ctx: &mut Ctx<'_>, args: &[Bytes], by_sha: bool, read_only: bool) -> CmdResult {
    let (keys, argv) = split_keys(args)?;
    let scripts = &ctx.state.scripts;
    let sha = if by_sha {
        let sha = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
        if !scripts.exists(sha.as_bytes()) {
            return Err(CmdError::Line(
                "NOSCRIPT No matching script. Please use EVAL.".into(),
            ));
        }
        sha
    } else {
        scripts.load(&args[1]).map_err(CmdError::Line)?
    };
    run_alone(ctx, &Target::Script(&sha), keys, argv, read_only)
}

/// What a run calls: an EVAL script (by SHA1) or a library's function.
pub(crate) enum Target<'a> {
    /// A script of the script cache.
    Script(&'a str),
    /// A function, and the FCALL command calling it.
    Function(&'a FunctionInfo, &'a [Bytes]),
}

impl Target<'_> {
    /// The name errors give, and the chunk its lines are in.
    fn names(&self) -> (&str, &str) {
        match self {
            Target::Script(sha) => (sha, "user_script"),
            Target::Function(f, _) => (&f.name, "user_function"),
        }
    }
}

/// Runs `target` alone (one WAL record of its effects), or as part of the
/// transaction that runs it.
pub(crate) fn run_alone(
    ctx: &mut Ctx<'_>,
    target: &Target<'_>,
    keys: &[Bytes],
    argv: &[Bytes],
    read_only: bool,
) -> CmdResult {
    let state = ctx.state;
    let conn = &mut *ctx.conn;
    let out = &mut *ctx.out;
    if conn.nested {
        // Inside EXEC: already alone, and part of the transaction's record.
        return execute_script(state, conn, out, target, keys, argv, read_only);
    }
    let start = out.len();
    let (result, written) = super::alone(state, || {
        conn.nested = true;
        let r = execute_script(state, conn, out, target, keys, argv, read_only);
        conn.nested = false;
        r
    })?;
    if let Err(e) = written {
        out.truncate(start);
        return Err(e.into());
    }
    result
}

/// What `redis.call` needs, shared by `call` and `pcall`.
struct Caller<'a> {
    state: &'a ServerState,
    conn: RefCell<&'a mut Conn>,
    read_only: bool,
    resp3: Cell<bool>,
}

impl Caller<'_> {
    /// Runs one command for the script; returns its reply as a Lua value
    /// (`{err = ...}` for an error reply).
    fn call(&self, lua: &mlua::Lua, args: &Variadic<Value>) -> mlua::Result<Result<Value, String>> {
        let args = match command_args(args) {
            Ok(a) => a,
            Err(e) => return Ok(Err(error_text(&e))),
        };
        let Some(spec) = super::table::lookup(&args[0]) else {
            return Ok(Err(error_text("Unknown Redis command called from script")));
        };
        if spec.flags.contains(&"noscript") {
            return Ok(Err(error_text(
                "This Redis command is not allowed from script",
            )));
        }
        let write = spec.flags.contains(&"write");
        if write && self.read_only {
            return Ok(Err(error_text(
                "Write commands are not allowed from read-only scripts.",
            )));
        }
        let proto = if self.resp3.get() {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        };
        let mut reply = ReplyBuf::new(proto);
        let mut conn = self.conn.borrow_mut();
        super::execute(self.state, &mut conn, &mut reply, &args);
        drop(conn);
        if write {
            self.state.scripts.running.wrote();
        }
        match vexlake_protocol::frame::decode(reply.bytes()) {
            Some((Frame::Error(e), _)) => {
                Ok(Err(error_text(&format!("-{}", String::from_utf8_lossy(e)))))
            }
            Some((f, _)) => Ok(Ok(match f {
                Frame::Null if self.resp3.get() => Value::Nil,
                f => frame_to_lua(lua, &f)?,
            })),
            None => Ok(Err("ERR the command gave no reply".into())),
        }
    }
}

fn err_table(lua: &mlua::Lua, text: String) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set("err", text)?;
    Ok(Value::Table(t))
}

fn execute_script(
    state: &ServerState,
    conn: &mut Conn,
    out: &mut ReplyBuf,
    target: &Target<'_>,
    keys: &[Bytes],
    argv: &[Bytes],
    read_only: bool,
) -> CmdResult {
    let db = conn.db;
    let function = match target {
        Target::Function(f, command) => Some((f.name.clone(), command.to_vec())),
        Target::Script(_) => None,
    };
    let caller = Caller {
        state,
        conn: RefCell::new(conn),
        read_only,
        resp3: Cell::new(false),
    };
    let outcome = state
        .scripts
        .with_lua(function, |lua| -> mlua::Result<Result<(), String>> {
            let g = lua.globals();
            let list = |items: &[Bytes]| -> mlua::Result<mlua::Table> {
                let t = lua.create_table_with_capacity(items.len(), 0)?;
                for (i, a) in items.iter().enumerate() {
                    t.raw_set(i + 1, lua.create_string(a)?)?;
                }
                Ok(t)
            };
            // A script reads KEYS and ARGV; a function gets them as its
            // two arguments (and has no KEYS/ARGV globals).
            let (f, call_args) = match target {
                Target::Script(sha) => {
                    g.raw_set("KEYS", list(keys)?)?;
                    g.raw_set("ARGV", list(argv)?)?;
                    let f: Function = lua.named_registry_value(&function_name(sha))?;
                    (f, Variadic::new())
                }
                Target::Function(info, _) => {
                    g.raw_set("KEYS", Value::Nil)?;
                    g.raw_set("ARGV", Value::Nil)?;
                    let args =
                        Variadic::from_iter([Value::Table(list(keys)?), Value::Table(list(argv)?)]);
                    (info.func.clone(), args)
                }
            };
            let redis: mlua::Table = g.raw_get("redis")?;
            let result = lua.scope(|scope| {
                redis.raw_set(
                    "call",
                    scope.create_function(|lua, args: Variadic<Value>| {
                        match caller.call(lua, &args)? {
                            Ok(v) => Ok(v),
                            Err(text) => Err(mlua::Error::external(CallError {
                                text,
                                line: script_line(lua),
                            })),
                        }
                    })?,
                )?;
                redis.raw_set(
                    "pcall",
                    scope.create_function(|lua, args: Variadic<Value>| {
                        match caller.call(lua, &args)? {
                            Ok(v) => Ok(v),
                            Err(text) => err_table(lua, text),
                        }
                    })?,
                )?;
                redis.raw_set(
                    "setresp",
                    scope.create_function(|_, v: i64| match v {
                        2 | 3 => {
                            caller.resp3.set(v == 3);
                            Ok(())
                        }
                        _ => Err(mlua::Error::runtime("RESP version must be 2 or 3.")),
                    })?,
                )?;
                match f.call::<Value>(call_args) {
                    Ok(v) => {
                        write_reply(out, &v, caller.resp3.get());
                        Ok(Ok(()))
                    }
                    Err(e) => Ok(Err(script_error(&e, target))),
                }
            });
            for name in ["call", "pcall", "setresp"] {
                redis.raw_set(name, Value::Nil)?;
            }
            result
        });
    caller.conn.into_inner().db = db;
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(line)) => Err(CmdError::Line(line)),
        Err(e) => Err(CmdError::Line(format!(
            "ERR {}",
            first_line(&e.to_string())
        ))),
    }
}

/// Redis's text for a script that failed: the error, then where.
fn script_error(e: &mlua::Error, target: &Target<'_>) -> String {
    let (name, chunk) = target.names();
    let at = |line: Option<usize>| match line {
        Some(l) => format!(" script: {name}, on @{chunk}:{l}."),
        None => String::new(),
    };
    if let Some(c) = e.downcast_ref::<CallError>() {
        return format!("{}{}", error_line(&c.text), at(c.line));
    }
    let msg = first_line(&e.to_string());
    if msg.contains(KILLED.trim_start_matches("ERR ")) {
        return KILLED.to_string();
    }
    // "user_script:LINE: message" from Lua itself.
    let line = msg
        .strip_prefix(chunk)
        .and_then(|r| r.strip_prefix(':'))
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.parse().ok());
    error_line(&format!("ERR {msg}{}", at(line)))
}

/// SCRIPT LOAD script
pub fn script_load(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sha = ctx.state.scripts.load(&args[2]).map_err(CmdError::Line)?;
    ctx.out.bulk(sha.as_bytes());
    Ok(())
}

/// SCRIPT EXISTS sha1 [sha1 ...]
pub fn script_exists(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    ctx.out.array(args.len() - 2);
    for sha in &args[2..] {
        ctx.out.int(i64::from(ctx.state.scripts.exists(sha)));
    }
    Ok(())
}

/// SCRIPT FLUSH [ASYNC | SYNC]
pub fn script_flush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match args.get(2) {
        None => {}
        Some(a) if a.eq_ignore_ascii_case(b"async") || a.eq_ignore_ascii_case(b"sync") => {}
        Some(_) => {
            return Err(CmdError::err("SCRIPT FLUSH only support SYNC|ASYNC option"));
        }
    }
    if args.len() > 3 {
        return Err(CmdError::err("SCRIPT FLUSH only support SYNC|ASYNC option"));
    }
    ctx.state.scripts.flush();
    ctx.out.ok();
    Ok(())
}

/// SCRIPT KILL
pub fn script_kill(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    if ctx.state.scripts.running.function().is_some() {
        // A function: FUNCTION KILL stops it.
        return Err(super::busy_error(ctx.state));
    }
    kill(ctx)
}

/// Stops the running script or function (SCRIPT KILL, FUNCTION KILL).
pub(crate) fn kill(ctx: &mut Ctx<'_>) -> CmdResult {
    match ctx.state.scripts.kill() {
        Kill::Killed => {
            ctx.out.ok();
            Ok(())
        }
        Kill::NotBusy => Err(CmdError::Line(
            "NOTBUSY No scripts in execution right now.".into(),
        )),
        Kill::Unkillable => Err(CmdError::Line(crate::script::UNKILLABLE.into())),
    }
}

const EVAL_FLAGS: &[&str] = &[
    "noscript",
    "stale",
    "skip_monitor",
    "may_replicate",
    "no_mandatory_keys",
];
const EVAL_RO_FLAGS: &[&str] = &[
    "readonly",
    "noscript",
    "stale",
    "skip_monitor",
    "no_mandatory_keys",
];
const EVAL_SYNTAX: &str = "script numkeys:integer [key...] [arg...]";
const EVALSHA_SYNTAX: &str = "sha1 numkeys:integer [key...] [arg...]";

/// The scripting commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "eval",
        arity: -3,
        flags: EVAL_FLAGS,
        acl: &["@slow", "@scripting"],
        group: "scripting",
        since: "2.6.0",
        summary: "Executes a server-side Lua script.",
        complexity: "Depends on the script that is executed.",
        syntax: EVAL_SYNTAX,
        handler: eval,
        ..BASE
    },
    CommandSpec {
        name: "eval_ro",
        arity: -3,
        flags: EVAL_RO_FLAGS,
        acl: &["@read", "@slow", "@scripting"],
        group: "scripting",
        since: "7.0.0",
        summary: "Executes a read-only server-side Lua script.",
        complexity: "Depends on the script that is executed.",
        syntax: EVAL_SYNTAX,
        handler: eval_ro,
        ..BASE
    },
    CommandSpec {
        name: "evalsha",
        arity: -3,
        flags: EVAL_FLAGS,
        acl: &["@slow", "@scripting"],
        group: "scripting",
        since: "2.6.0",
        summary: "Executes a server-side Lua script by SHA1 digest.",
        complexity: "Depends on the script that is executed.",
        syntax: EVALSHA_SYNTAX,
        handler: evalsha,
        ..BASE
    },
    CommandSpec {
        name: "evalsha_ro",
        arity: -3,
        flags: EVAL_RO_FLAGS,
        acl: &["@read", "@slow", "@scripting"],
        group: "scripting",
        since: "7.0.0",
        summary: "Executes a read-only server-side Lua script by SHA1 digest.",
        complexity: "Depends on the script that is executed.",
        syntax: EVALSHA_SYNTAX,
        handler: evalsha_ro,
        ..BASE
    },
    CommandSpec {
        name: "script",
        arity: -2,
        acl: &["@slow"],
        group: "scripting",
        since: "2.6.0",
        summary: "A container for Lua scripts management commands.",
        complexity: "Depends on subcommand.",
        subcommands: SCRIPT_SUBCOMMANDS,
        ..BASE
    },
];

static SCRIPT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "script|load",
        arity: 3,
        flags: &["noscript", "stale"],
        acl: &["@slow", "@scripting"],
        group: "scripting",
        since: "2.6.0",
        summary: "Loads a server-side Lua script to the script cache.",
        complexity: "O(N) with N being the length in bytes of the script body.",
        syntax: "script",
        handler: script_load,
        ..BASE
    },
    CommandSpec {
        name: "script|exists",
        arity: -3,
        flags: &["noscript"],
        acl: &["@slow", "@scripting"],
        group: "scripting",
        since: "2.6.0",
        summary: "Determines whether server-side Lua scripts exist in the script cache.",
        complexity: "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).",
        syntax: "sha1...",
        handler: script_exists,
        ..BASE
    },
    CommandSpec {
        name: "script|flush",
        arity: -2,
        flags: &["noscript"],
        acl: &["@slow", "@scripting"],
        group: "scripting",
        since: "2.6.0",
        summary: "Removes all server-side Lua scripts from the script cache.",
        complexity: "O(N) with N being the number of scripts in cache",
        syntax: "[ASYNC | SYNC]",
        handler: script_flush,
        ..BASE
    },
    CommandSpec {
        name: "script|kill",
        arity: 2,
        flags: &["noscript", "allow_busy"],
        acl: &["@slow", "@scripting"],
        group: "scripting",
        since: "2.6.0",
        summary: "Terminates a server-side Lua script during execution.",
        handler: script_kill,
        ..BASE
    },
];
