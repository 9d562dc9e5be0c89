//! Functions: FUNCTION LOAD DELETE FLUSH LIST DUMP RESTORE STATS KILL and
//! FCALL FCALL_RO (the libraries are compiled by
//! [`crate::script::functions`]).
//!
//! A change to the libraries is built completely first (every library's
//! top level runs in the interpreter: compile errors, missing or colliding
//! functions are refused with Redis's texts and change nothing), then
//! written by the engine as one WAL record and committed to the lake with
//! the keyspace: the libraries survive a restart and `kill -9`, and a
//! fresh server or a replica on the same lake has them. FCALL runs a
//! function like EVAL runs a script: alone, its effects one WAL record.

use bytes::Bytes;
use vexlake_engine::functions::{self as store, Library};
use vexlake_engine::glob::glob_match;

use super::dump::{FUNCTIONS, seal, unseal};
use super::scripting::{Target, run_alone, split_keys};
use super::table::{BASE, CommandSpec};
use super::{CmdResult, Ctx};
use crate::error::CmdError;
use crate::script::functions::{FLAGS, NO_WRITES, metadata};

/// FCALL function numkeys [key ...] [arg ...]
pub fn fcall(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    call(ctx, args, false)
}

/// FCALL_RO function numkeys [key ...] [arg ...]
pub fn fcall_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    call(ctx, args, true)
}

fn call(ctx: &mut Ctx<'_>, args: &[Bytes], ro: bool) -> CmdResult {
    let info = ctx
        .state
        .scripts
        .functions(&ctx.state.engine)
        .function(&args[1])
        .cloned()
        .ok_or_else(|| CmdError::err("Function not found"))?;
    if std::str::from_utf8(&args[2])
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .is_none()
    {
        return Err(CmdError::err("Bad number of keys provided"));
    }
    let (keys, argv) = split_keys(args)?;
    let no_writes = info.flags & NO_WRITES != 0;
    if ro && !no_writes {
        return Err(CmdError::err(
            "Can not execute a script with write flag using *_ro command.",
        ));
    }
    run_alone(
        ctx,
        &Target::Function(&info, args),
        keys,
        argv,
        ro || no_writes,
    )
}

/// Changes the libraries: `edit` turns the current list into the next one
/// (or refuses), which is built (refused with the first library's error),
/// made the engine's libraries (one WAL record) and installed compiled.
/// Changes run one at a time, so none is lost to a concurrent one.
fn change(
    ctx: &mut Ctx<'_>,
    edit: impl FnOnce(Vec<Library>) -> Result<Vec<Library>, CmdError>,
) -> CmdResult {
    let scripts = &ctx.state.scripts;
    let _one_at_a_time = scripts.lock_changes();
    let next = edit(ctx.state.engine.functions().get().1.to_vec())?;
    let mut built = scripts.build_functions(&next, 0).map_err(CmdError::Line)?;
    let generation = ctx.state.engine.set_functions(next)?;
    built.generation = Some(generation);
    scripts.set_functions(built);
    Ok(())
}

/// FUNCTION LOAD [REPLACE] function-code
pub fn function_load(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut replace = false;
    let mut i = 2;
    while i < args.len() - 1 {
        if args[i].eq_ignore_ascii_case(b"replace") {
            replace = true;
            i += 1;
            continue;
        }
        return Err(CmdError::Line(format!(
            "ERR Unknown option given: {}",
            String::from_utf8_lossy(&args[i])
        )));
    }
    let Some(code) = args.get(i) else {
        return Err(CmdError::err("Function code is missing"));
    };
    let (name, _) = metadata(code).map_err(CmdError::Line)?;
    let lib = Library {
        name: name.clone(),
        code: code.clone(),
    };
    change(ctx, |mut next| {
        match next.iter().position(|l| l.name == name) {
            Some(_) if !replace => {
                return Err(CmdError::Line(format!(
                    "ERR Library '{name}' already exists"
                )));
            }
            Some(p) => next[p] = lib,
            None => next.push(lib),
        }
        Ok(next)
    })?;
    ctx.out.bulk(name.as_bytes());
    Ok(())
}

/// FUNCTION DELETE library-name
pub fn function_delete(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    change(ctx, |mut next| {
        let Some(p) = next.iter().position(|l| l.name.as_bytes() == &args[2][..]) else {
            return Err(CmdError::err("Library not found"));
        };
        next.remove(p);
        Ok(next)
    })?;
    ctx.out.ok();
    Ok(())
}

/// Redis's reply to a subcommand given bad arguments.
fn subcommand_syntax(args: &[Bytes]) -> CmdError {
    CmdError::Line(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
        String::from_utf8_lossy(&args[1])
    ))
}

/// FUNCTION FLUSH [ASYNC | SYNC]
pub fn function_flush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(subcommand_syntax(args));
    }
    if let Some(mode) = args.get(2)
        && !mode.eq_ignore_ascii_case(b"sync")
        && !mode.eq_ignore_ascii_case(b"async")
    {
        return Err(CmdError::err(
            "FUNCTION FLUSH only supports SYNC|ASYNC option",
        ));
    }
    change(ctx, |_| Ok(Vec::new()))?;
    ctx.out.ok();
    Ok(())
}

/// FUNCTION LIST [LIBRARYNAME library-name-pattern] [WITHCODE]
pub fn function_list(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (mut with_code, mut pattern) = (false, None);
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if !with_code && a.eq_ignore_ascii_case(b"withcode") {
            with_code = true;
        } else if pattern.is_none() && a.eq_ignore_ascii_case(b"libraryname") {
            let Some(p) = args.get(i + 1) else {
                return Err(CmdError::err("library name argument was not given"));
            };
            pattern = Some(p.clone());
            i += 1;
        } else {
            return Err(CmdError::Line(format!(
                "ERR Unknown argument {}",
                String::from_utf8_lossy(a)
            )));
        }
        i += 1;
    }
    let reg = ctx.state.scripts.functions(&ctx.state.engine);
    let libs: Vec<_> = reg
        .libraries
        .iter()
        .filter(|l| {
            pattern
                .as_ref()
                .is_none_or(|p| glob_match(p, l.name.as_bytes()))
        })
        .collect();
    let out = &mut *ctx.out;
    out.array(libs.len());
    for l in libs {
        out.map(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(l.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(l.functions.len());
        for f in &l.functions {
            out.map(3);
            out.bulk(b"name");
            out.bulk(f.name.as_bytes());
            out.bulk(b"description");
            match &f.description {
                Some(d) => out.bulk(d.as_bytes()),
                None => out.null(),
            }
            out.bulk(b"flags");
            let set: Vec<_> = FLAGS.iter().filter(|(_, b)| f.flags & b != 0).collect();
            out.set(set.len());
            for (name, _) in set {
                out.simple(name);
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&l.code);
        }
    }
    Ok(())
}

/// FUNCTION DUMP
pub fn function_dump(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let (_, libs) = ctx.state.engine.functions().get();
    ctx.out.bulk(&seal(FUNCTIONS, &store::encode(&libs)));
    Ok(())
}

/// FUNCTION RESTORE serialized-value [FLUSH | APPEND | REPLACE]
pub fn function_restore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 4 {
        return Err(subcommand_syntax(args));
    }
    #[derive(PartialEq)]
    enum Policy {
        Append,
        Replace,
        Flush,
    }
    let policy = match args.get(3) {
        None => Policy::Append,
        Some(p) if p.eq_ignore_ascii_case(b"append") => Policy::Append,
        Some(p) if p.eq_ignore_ascii_case(b"replace") => Policy::Replace,
        Some(p) if p.eq_ignore_ascii_case(b"flush") => Policy::Flush,
        Some(_) => {
            return Err(CmdError::err(
                "Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ));
        }
    };
    let Some((kind, body)) = unseal(&args[2]) else {
        return Err(CmdError::err("DUMP payload version or checksum are wrong"));
    };
    if kind != FUNCTIONS {
        return Err(CmdError::err("given type is not a function"));
    }
    let Some(restored) = store::decode(&body) else {
        return Err(CmdError::err("failed loading the given functions payload"));
    };
    for l in &restored {
        match metadata(&l.code) {
            Ok((name, _)) if name == l.name => {}
            Ok(_) => {
                return Err(CmdError::err("failed loading the given functions payload"));
            }
            Err(e) => return Err(CmdError::Line(e)),
        }
    }
    change(ctx, |current| {
        let mut next = if policy == Policy::Flush {
            Vec::new()
        } else {
            current
        };
        for lib in restored {
            match next.iter().position(|l| l.name == lib.name) {
                Some(p) if policy == Policy::Replace => next[p] = lib,
                Some(_) => {
                    return Err(CmdError::Line(format!(
                        "ERR Library {} already exists",
                        lib.name
                    )));
                }
                None => next.push(lib),
            }
        }
        Ok(next)
    })?;
    ctx.out.ok();
    Ok(())
}

/// FUNCTION STATS
pub fn function_stats(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let running = &ctx.state.scripts.running;
    let function = running.function();
    if running.active() && function.is_none() {
        return Err(super::busy_error(ctx.state));
    }
    // While a function runs the interpreter is taken: the compiled copy
    // is current (nothing can change the libraries meanwhile).
    let (libraries, functions) = if running.active() {
        ctx.state.scripts.function_counts()
    } else {
        let reg = ctx.state.scripts.functions(&ctx.state.engine);
        (reg.libraries.len(), reg.function_count())
    };
    let out = &mut *ctx.out;
    out.map(2);
    out.bulk(b"running_script");
    match function {
        None => out.null(),
        Some((name, command)) => {
            out.map(3);
            out.bulk(b"name");
            out.bulk(name.as_bytes());
            out.bulk(b"command");
            out.array(command.len());
            for a in &command {
                out.bulk(a);
            }
            out.bulk(b"duration_ms");
            out.int(running.duration_ms() as i64);
        }
    }
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(libraries as i64);
    out.bulk(b"functions_count");
    out.int(functions as i64);
    Ok(())
}

/// FUNCTION KILL
pub fn function_kill(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let running = &ctx.state.scripts.running;
    if running.active() && running.function().is_none() {
        // An EVAL script: SCRIPT KILL stops it.
        return Err(super::busy_error(ctx.state));
    }
    super::scripting::kill(ctx)
}

const FCALL_FLAGS: &[&str] = &[
    "noscript",
    "stale",
    "skip_monitor",
    "may_replicate",
    "no_mandatory_keys",
    "movablekeys",
];
const FCALL_RO_FLAGS: &[&str] = &[
    "readonly",
    "noscript",
    "stale",
    "skip_monitor",
    "no_mandatory_keys",
    "movablekeys",
];
const FCALL_SYNTAX: &str = "function numkeys:integer [key...] [arg...]";
const SCRIPTING: &[&str] = &["@slow", "@scripting"];
const WRITE_SCRIPTING: &[&str] = &["@write", "@slow", "@scripting"];

/// The function commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "fcall",
        arity: -3,
        flags: FCALL_FLAGS,
        acl: SCRIPTING,
        group: "scripting",
        since: "7.0.0",
        summary: "Invokes a function.",
        complexity: "Depends on the function that is executed.",
        syntax: FCALL_SYNTAX,
        handler: fcall,
        ..BASE
    },
    CommandSpec {
        name: "fcall_ro",
        arity: -3,
        flags: FCALL_RO_FLAGS,
        acl: &["@read", "@slow", "@scripting"],
        group: "scripting",
        since: "7.0.0",
        summary: "Invokes a read-only function.",
        complexity: "Depends on the function that is executed.",
        syntax: FCALL_SYNTAX,
        handler: fcall_ro,
        ..BASE
    },
    CommandSpec {
        name: "function",
        arity: -2,
        acl: &["@slow"],
        group: "scripting",
        since: "7.0.0",
        summary: "A container for function commands.",
        complexity: "Depends on subcommand.",
        subcommands: FUNCTION_SUBCOMMANDS,
        ..BASE
    },
];

static FUNCTION_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "function|load",
        arity: -3,
        flags: &["write", "denyoom", "noscript"],
        acl: WRITE_SCRIPTING,
        group: "scripting",
        since: "7.0.0",
        summary: "Creates a library.",
        complexity: "O(1) (considering compilation time is redundant)",
        syntax: "[REPLACE] function-code",
        handler: function_load,
        ..BASE
    },
    CommandSpec {
        name: "function|delete",
        arity: 3,
        flags: &["write", "noscript"],
        acl: WRITE_SCRIPTING,
        group: "scripting",
        since: "7.0.0",
        summary: "Deletes a library and its functions.",
        syntax: "library-name",
        handler: function_delete,
        ..BASE
    },
    CommandSpec {
        name: "function|flush",
        arity: -2,
        flags: &["write", "noscript"],
        acl: WRITE_SCRIPTING,
        group: "scripting",
        since: "7.0.0",
        summary: "Deletes all libraries and functions.",
        complexity: "O(N) where N is the number of functions deleted",
        syntax: "[ASYNC | SYNC]",
        handler: function_flush,
        ..BASE
    },
    CommandSpec {
        name: "function|list",
        arity: -2,
        flags: &["noscript"],
        acl: SCRIPTING,
        group: "scripting",
        since: "7.0.0",
        summary: "Returns information about all libraries.",
        complexity: "O(N) where N is the number of functions",
        syntax: "[LIBRARYNAME library-name-pattern] [WITHCODE]",
        handler: function_list,
        ..BASE
    },
    CommandSpec {
        name: "function|dump",
        arity: 2,
        flags: &["noscript"],
        acl: SCRIPTING,
        group: "scripting",
        since: "7.0.0",
        summary: "Dumps all libraries into a serialized binary payload.",
        complexity: "O(N) where N is the number of functions",
        handler: function_dump,
        ..BASE
    },
    CommandSpec {
        name: "function|restore",
        arity: -3,
        flags: &["write", "denyoom", "noscript"],
        acl: WRITE_SCRIPTING,
        group: "scripting",
        since: "7.0.0",
        summary: "Restores all libraries from a payload.",
        complexity: "O(N) where N is the number of functions on the payload",
        syntax: "serialized-value [FLUSH | APPEND | REPLACE]",
        handler: function_restore,
        ..BASE
    },
    CommandSpec {
        name: "function|stats",
        arity: 2,
        flags: &["noscript", "allow_busy"],
        acl: SCRIPTING,
        group: "scripting",
        since: "7.0.0",
        summary: "Returns information about a function during execution.",
        handler: function_stats,
        ..BASE
    },
    CommandSpec {
        name: "function|kill",
        arity: 2,
        flags: &["noscript", "allow_busy"],
        acl: SCRIPTING,
        group: "scripting",
        since: "7.0.0",
        summary: "Terminates a function during execution.",
        handler: function_kill,
        ..BASE
    },
];
