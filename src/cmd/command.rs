//! COMMAND, COMMAND COUNT / INFO / DOCS / LIST / GETKEYS: introspection of the command
//! table, in Redis 7's reply shapes.

use bytes::Bytes;
use vexlake_engine::glob::glob_match;
use vexlake_protocol::ReplyBuf;
use vexlake_protocol::args::is_keyword;

use super::docs::{Arg, parse_syntax};
use super::table::{CommandSpec, all, lookup};
use super::{CmdResult, Ctx};
use crate::error::CmdError;

/// COMMAND: info about every command.
pub fn command(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.array(all().count());
    for spec in all() {
        write_info(ctx.out, spec);
    }
    Ok(())
}

/// COMMAND COUNT.
pub fn count(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.int(all().count() as i64);
    Ok(())
}

/// COMMAND INFO [name ...]: info per name, null for unknown names.
pub fn info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() == 2 {
        return command(ctx, args);
    }
    ctx.out.array(args.len() - 2);
    for name in &args[2..] {
        match find(name) {
            Some(spec) => write_info(ctx.out, spec),
            None => ctx.out.null_array(),
        }
    }
    Ok(())
}

/// COMMAND DOCS [name ...]: a map from name to its documentation; unknown
/// names are left out, as Redis does.
pub fn docs(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let specs: Vec<&CommandSpec> = if args.len() == 2 {
        all().collect()
    } else {
        args[2..].iter().filter_map(|n| find(n)).collect()
    };
    ctx.out.map(specs.len());
    for spec in specs {
        ctx.out.bulk(spec.name.as_bytes());
        write_docs(ctx.out, spec);
    }
    Ok(())
}

/// COMMAND LIST [FILTERBY MODULE m | ACLCAT c | PATTERN p].
pub fn list(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let filter = match &args[2..] {
        [] => None,
        [by, kind, value] if is_keyword(by, "filterby") => Some((kind.clone(), value.clone())),
        _ => return Err(CmdError::Syntax),
    };
    let mut names: Vec<&str> = Vec::new();
    for spec in all().flat_map(|c| std::iter::once(c).chain(c.subcommands.iter())) {
        let keep = match &filter {
            None => true,
            Some((k, v)) if is_keyword(k, "module") => {
                let _ = v;
                false
            }
            Some((k, v)) if is_keyword(k, "aclcat") => spec
                .acl
                .iter()
                .any(|c| c.trim_start_matches('@').as_bytes().eq_ignore_ascii_case(v)),
            Some((k, v)) if is_keyword(k, "pattern") => {
                glob_match(&v.to_ascii_lowercase(), spec.name.as_bytes())
            }
            Some(_) => return Err(CmdError::Syntax),
        };
        if keep {
            names.push(spec.name);
        }
    }
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
    Ok(())
}

fn find(name: &[u8]) -> Option<&'static CommandSpec> {
    match name.iter().position(|&c| c == b'|') {
        None => lookup(name),
        Some(i) => {
            let parent = lookup(&name[..i])?;
            let sub = &name[i + 1..];
            parent
                .subcommands
                .iter()
                .find(|s| s.sub_name().as_bytes().eq_ignore_ascii_case(sub))
        }
    }
}

fn write_info(out: &mut ReplyBuf, spec: &CommandSpec) {
    out.array(10);
    out.bulk(spec.name.as_bytes());
    out.int(i64::from(spec.arity));
    out.set(spec.flags.len());
    for f in spec.flags {
        out.simple(f);
    }
    out.int(i64::from(spec.keys.0));
    out.int(i64::from(spec.keys.1));
    out.int(i64::from(spec.keys.2));
    out.set(spec.acl.len());
    for c in spec.acl {
        out.simple(c);
    }
    out.set(0); // tips
    out.array(0); // key specifications: first/last/step above describe the keys
    out.array(spec.subcommands.len());
    for sub in spec.subcommands {
        write_info(out, sub);
    }
}

fn write_docs(out: &mut ReplyBuf, spec: &CommandSpec) {
    let args = parse_syntax(spec.syntax);
    let mut fields = 4;
    if !args.is_empty() {
        fields += 1;
    }
    if !spec.subcommands.is_empty() {
        fields += 1;
    }
    out.map(fields);
    out.bulk(b"summary");
    out.bulk(spec.summary.as_bytes());
    out.bulk(b"since");
    out.bulk(spec.since.as_bytes());
    out.bulk(b"group");
    out.bulk(spec.group.as_bytes());
    out.bulk(b"complexity");
    out.bulk(spec.complexity.as_bytes());
    if !args.is_empty() {
        out.bulk(b"arguments");
        write_args(out, &args);
    }
    if !spec.subcommands.is_empty() {
        out.bulk(b"subcommands");
        out.map(spec.subcommands.len());
        for sub in spec.subcommands {
            out.bulk(sub.name.as_bytes());
            write_docs(out, sub);
        }
    }
}

fn write_args(out: &mut ReplyBuf, args: &[Arg]) {
    out.array(args.len());
    for a in args {
        let flags: Vec<&str> = [(a.optional, "optional"), (a.multiple, "multiple")]
            .into_iter()
            .filter_map(|(on, f)| on.then_some(f))
            .collect();
        let display = !matches!(a.kind.as_str(), "pure-token" | "oneof" | "block");
        let fields = 2
            + usize::from(display)
            + usize::from(a.kind == "key")
            + usize::from(a.token.is_some())
            + usize::from(!flags.is_empty())
            + usize::from(!a.children.is_empty());
        out.map(fields);
        out.bulk(b"name");
        out.bulk(a.name.as_bytes());
        out.bulk(b"type");
        out.bulk(a.kind.as_bytes());
        if display {
            out.bulk(b"display_text");
            out.bulk(a.name.as_bytes());
        }
        if a.kind == "key" {
            out.bulk(b"key_spec_index");
            out.int(0);
        }
        if let Some(t) = &a.token {
            out.bulk(b"token");
            out.bulk(t.as_bytes());
        }
        if !flags.is_empty() {
            out.bulk(b"flags");
            out.array(flags.len());
            for f in flags {
                out.simple(f);
            }
        }
        if !a.children.is_empty() {
            out.bulk(b"arguments");
            write_args(out, &a.children);
        }
    }
}

/// COMMAND GETKEYS command [arg ...]: the key arguments of a command line.
pub fn getkeys(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let line = &args[2..];
    let Some(mut spec) = lookup(&line[0]) else {
        return Err(CmdError::err("Invalid command specified"));
    };
    if !spec.subcommands.is_empty()
        && let Some(sub) = line.get(1).and_then(|s| {
            spec.subcommands
                .iter()
                .find(|c| c.sub_name().as_bytes().eq_ignore_ascii_case(s))
        })
    {
        spec = sub;
    }
    if super::check_arity(spec, line.len()).is_err() {
        return Err(CmdError::err(
            "Invalid number of arguments specified for command",
        ));
    }
    let default_vset = ctx.state.config().default_vset.clone();
    let keys = crate::acl::user::key_args(spec, line, default_vset.as_bytes());
    if keys.is_empty() {
        return Err(CmdError::err("The command has no key arguments"));
    }
    ctx.out.array(keys.len());
    for k in keys {
        ctx.out.bulk(k);
    }
    Ok(())
}
