//! ACL SETUSER | GETUSER | DELUSER | USERS | LIST | WHOAMI | CAT | GENPASS |
//! DRYRUN | LOAD | SAVE, with Redis's replies and error texts. The users
//! themselves live in [`crate::acl`].

use bytes::Bytes;
use vexlake_protocol::args::lossy;

use super::table::{ADMIN, BASE, CommandSpec};
use super::{CmdResult, Ctx, int_arg};
use crate::acl::Denied;
use crate::acl::user::{CATEGORIES, in_category};
use crate::error::CmdError;

const ADMIN_ACL: &[&str] = &["@admin", "@slow", "@dangerous"];
const OPEN: &[&str] = &["noscript", "loading", "stale"];

/// The ACL container and its subcommands.
pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "acl",
    arity: -2,
    flags: &[],
    acl: &["@slow"],
    group: "server",
    since: "6.0.0",
    summary: "A container for Access List Control commands.",
    complexity: "Depends on subcommand.",
    syntax: "",
    subcommands: SUBCOMMANDS,
    ..BASE
}];

static SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "acl|cat",
        arity: -2,
        flags: OPEN,
        acl: &["@slow"],
        group: "server",
        since: "6.0.0",
        summary: "Lists the ACL categories, or the commands inside a category.",
        complexity: "O(1) since the categories and commands are a fixed set.",
        syntax: "[category]",
        handler: cat,
        ..BASE
    },
    CommandSpec {
        name: "acl|deluser",
        arity: -3,
        flags: ADMIN,
        acl: ADMIN_ACL,
        group: "server",
        since: "6.0.0",
        summary: "Deletes ACL users, and terminates their connections.",
        complexity: "O(1) amortized time considering the typical user.",
        syntax: "username...",
        handler: deluser,
        ..BASE
    },
    CommandSpec {
        name: "acl|dryrun",
        arity: -4,
        flags: ADMIN,
        acl: ADMIN_ACL,
        group: "server",
        since: "7.0.0",
        summary: "Simulates the execution of a command by a user, without executing the command.",
        complexity: "O(1).",
        syntax: "username command [arg...]",
        handler: dryrun,
        ..BASE
    },
    CommandSpec {
        name: "acl|genpass",
        arity: -2,
        flags: OPEN,
        acl: &["@slow"],
        group: "server",
        since: "6.0.0",
        summary: "Generates a pseudorandom, secure password that can be used to identify ACL users.",
        complexity: "O(1)",
        syntax: "[bits:integer]",
        handler: genpass,
        ..BASE
    },
    CommandSpec {
        name: "acl|getuser",
        arity: 3,
        flags: ADMIN,
        acl: ADMIN_ACL,
        group: "server",
        since: "6.0.0",
        summary: "Lists the ACL rules of a user.",
        complexity: "O(N). Where N is the number of password, command and pattern rules that the user has.",
        syntax: "username",
        handler: getuser,
        ..BASE
    },
    CommandSpec {
        name: "acl|list",
        arity: 2,
        flags: ADMIN,
        acl: ADMIN_ACL,
        group: "server",
        since: "6.0.0",
        summary: "Dumps the effective rules in ACL file format.",
        complexity: "O(N). Where N is the number of configured users.",
        syntax: "",
        handler: list,
        ..BASE
    },
    CommandSpec {
        name: "acl|load",
        arity: 2,
        flags: ADMIN,
        acl: ADMIN_ACL,
        group: "server",
        since: "6.0.0",
        summary: "Reloads the rules from the configured ACL file.",
        complexity: "O(N). Where N is the number of configured users.",
        syntax: "",
        handler: load,
        ..BASE
    },
    CommandSpec {
        name: "acl|save",
        arity: 2,
        flags: ADMIN,
        acl: ADMIN_ACL,
        group: "server",
        since: "6.0.0",
        summary: "Saves the effective ACL rules in the configured ACL file.",
        complexity: "O(N). Where N is the number of configured users.",
        syntax: "",
        handler: save,
        ..BASE
    },
    CommandSpec {
        name: "acl|setuser",
        arity: -3,
        flags: ADMIN,
        acl: ADMIN_ACL,
        group: "server",
        since: "6.0.0",
        summary: "Creates and modifies an ACL user and its rules.",
        complexity: "O(N). Where N is the number of rules provided.",
        syntax: "username [rule...]",
        handler: setuser,
        ..BASE
    },
    CommandSpec {
        name: "acl|users",
        arity: 2,
        flags: ADMIN,
        acl: ADMIN_ACL,
        group: "server",
        since: "6.0.0",
        summary: "Lists all ACL users.",
        complexity: "O(N). Where N is the number of configured users.",
        syntax: "",
        handler: users,
        ..BASE
    },
    CommandSpec {
        name: "acl|whoami",
        arity: 2,
        flags: OPEN,
        acl: &["@slow"],
        group: "server",
        since: "6.0.0",
        summary: "Returns the authenticated username of the current connection.",
        complexity: "O(1)",
        syntax: "",
        handler: whoami,
        ..BASE
    },
];

fn text(arg: &[u8]) -> String {
    lossy(arg)
}

fn setuser(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let rules: Vec<String> = args[3..].iter().map(|a| text(a)).collect();
    ctx.state
        .acl
        .set_user(&text(&args[2]), &rules)
        .map_err(CmdError::err)?;
    ctx.out.ok();
    Ok(())
}

fn getuser(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(u) = ctx.state.acl.get(&text(&args[2])) else {
        ctx.out.null();
        return Ok(());
    };
    let out = &mut *ctx.out;
    out.map(6);
    out.bulk(b"flags");
    let flags = u.flags();
    out.set(flags.len());
    for f in flags {
        out.bulk(f.as_bytes());
    }
    out.bulk(b"passwords");
    out.array(u.passwords.len());
    for p in &u.passwords {
        out.bulk(p.as_bytes());
    }
    out.bulk(b"commands");
    out.bulk(u.describe_commands().as_bytes());
    out.bulk(b"keys");
    out.bulk(u.describe_keys().as_bytes());
    out.bulk(b"channels");
    out.bulk(u.describe_channels().as_bytes());
    out.bulk(b"selectors");
    out.array(0);
    Ok(())
}

fn deluser(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let names: Vec<String> = args[2..].iter().map(|a| text(a)).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let n = ctx.state.acl.delete(&refs).map_err(CmdError::err)?;
    ctx.out.int(n as i64);
    Ok(())
}

fn users(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let users = ctx.state.acl.users();
    ctx.out.array(users.len());
    for u in users {
        ctx.out.bulk(u.name.as_bytes());
    }
    Ok(())
}

fn list(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let users = ctx.state.acl.users();
    ctx.out.array(users.len());
    for u in users {
        ctx.out
            .bulk(format!("user {} {}", u.name, u.describe()).as_bytes());
    }
    Ok(())
}

fn whoami(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.bulk(ctx.conn.user.name.as_bytes());
    Ok(())
}

fn cat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match args.len() {
        2 => {
            ctx.out.array(CATEGORIES.len());
            for c in CATEGORIES {
                ctx.out.bulk(c.as_bytes());
            }
        }
        3 => {
            let name = text(&args[2]).to_ascii_lowercase();
            if !CATEGORIES.contains(&name.as_str()) {
                let shown: String = text(&args[2]).chars().take(128).collect();
                return Err(CmdError::err(format!("Unknown category '{shown}'")));
            }
            let names: Vec<&str> = in_category(&name).map(|c| c.name).collect();
            ctx.out.array(names.len());
            for n in names {
                ctx.out.bulk(n.as_bytes());
            }
        }
        _ => return Err(CmdError::WrongArity("acl|cat")),
    }
    Ok(())
}

fn genpass(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let bits = match args.len() {
        2 => 256,
        3 => int_arg(&args[2])?,
        _ => return Err(CmdError::WrongArity("acl|genpass")),
    };
    if bits <= 0 || bits > 4096 {
        return Err(CmdError::err(
            "ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
        ));
    }
    let chars = (bits as usize).div_ceil(4);
    let mut pass = String::with_capacity(chars);
    let mut bytes = [0u8; 512];
    getrandom(&mut bytes[..chars.div_ceil(2)])?;
    for b in &bytes[..chars.div_ceil(2)] {
        pass.push_str(&format!("{b:02x}"));
    }
    pass.truncate(chars);
    ctx.out.bulk(pass.as_bytes());
    Ok(())
}

/// Fills `buf` from the kernel's random source (GENPASS must not use the
/// fast non-cryptographic generator).
fn getrandom(buf: &mut [u8]) -> Result<(), CmdError> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .map_err(|e| CmdError::err(format!("cannot read random bytes: {e}")))
}

fn dryrun(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let name = text(&args[2]);
    let Some(user) = ctx.state.acl.get(&name) else {
        return Err(CmdError::err(format!("User '{name}' not found")));
    };
    let cmd = &args[3..];
    let Some(mut spec) = super::table::lookup(&cmd[0]) else {
        return Err(CmdError::err(format!(
            "Command '{}' not found",
            text(&cmd[0])
        )));
    };
    if let Some(sub) = cmd.get(1).and_then(|s| {
        spec.subcommands
            .iter()
            .find(|c| c.sub_name().as_bytes().eq_ignore_ascii_case(s))
    }) {
        spec = sub;
    }
    if super::check_arity(spec, cmd.len()).is_err() {
        return Err(CmdError::err(format!(
            "wrong number of arguments for '{}' command",
            spec.name
        )));
    }
    match user.check(spec, cmd, ctx.state.config().default_vset.as_bytes()) {
        Ok(()) => ctx.out.ok(),
        Err(Denied::Command) => ctx.out.bulk(
            format!(
                "User {} has no permissions to run the '{}' command",
                user.name, spec.name
            )
            .as_bytes(),
        ),
        Err(Denied::Key) => {
            let key =
                crate::acl::user::key_args(spec, cmd, ctx.state.config().default_vset.as_bytes())
                    .into_iter()
                    .find(|k| !user.may_access_for(spec, k))
                    .map(text)
                    .unwrap_or_default();
            ctx.out.bulk(
                format!(
                    "User {} has no permissions to access the '{key}' key",
                    user.name
                )
                .as_bytes(),
            )
        }
        Err(Denied::Channel) => {
            let first = cmd.get(1).map(|c| text(c)).unwrap_or_default();
            ctx.out.bulk(
                format!(
                    "User {} has no permissions to access the '{first}' channel",
                    user.name
                )
                .as_bytes(),
            )
        }
    }
    Ok(())
}

fn load(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.state.acl.load().map_err(CmdError::err)?;
    ctx.out.ok();
    Ok(())
}

fn save(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.state.acl.save().map_err(CmdError::err)?;
    ctx.out.ok();
    Ok(())
}
