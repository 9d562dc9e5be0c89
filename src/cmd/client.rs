//! CLIENT subcommands: ID GETNAME SETNAME SETINFO LIST INFO.

use bytes::Bytes;
use vexlake_protocol::args::{is_keyword, lossy, parse_u64};

use super::{CmdResult, Ctx};
use crate::error::CmdError;

/// Refuses names with spaces, newlines or other characters outside `!`..`~`,
/// with Redis's text (`what` is `Client names`, `LIB-NAME`, ...).
pub fn validate_name(value: &[u8], what: &str) -> CmdResult {
    if value.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::err(format!(
            "{what} cannot contain spaces, newlines or special characters."
        )));
    }
    Ok(())
}

/// CLIENT ID.
pub fn id(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.int(ctx.conn.handle.id as i64);
    Ok(())
}

/// CLIENT GETNAME.
pub fn getname(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let name = ctx.conn.handle.meta.lock().name.clone();
    if name.is_empty() {
        ctx.out.null()
    } else {
        ctx.out.bulk(name.as_bytes())
    }
    Ok(())
}

/// CLIENT SETNAME name (empty clears it).
pub fn setname(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    validate_name(&args[2], "Client names")?;
    ctx.conn.handle.meta.lock().name = lossy(&args[2]);
    ctx.out.ok();
    Ok(())
}

/// CLIENT SETINFO LIB-NAME name | LIB-VER version.
pub fn setinfo(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (attr, value) = (&args[2], &args[3]);
    let lib_name = is_keyword(attr, "lib-name");
    if !lib_name && !is_keyword(attr, "lib-ver") {
        return Err(CmdError::err(format!(
            "Unrecognized option '{}'",
            lossy(attr)
        )));
    }
    validate_name(value, &lossy(attr))?;
    let mut m = ctx.conn.handle.meta.lock();
    if lib_name {
        m.lib_name = lossy(value);
    } else {
        m.lib_ver = lossy(value);
    }
    drop(m);
    ctx.out.ok();
    Ok(())
}

/// CLIENT LIST [TYPE type] [ID id ...].
pub fn list(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut ids: Option<Vec<u64>> = None;
    let mut only_normal = true;
    let mut i = 2;
    while i < args.len() {
        if is_keyword(&args[i], "type") && i + 1 < args.len() {
            let t = &args[i + 1];
            only_normal = match () {
                _ if is_keyword(t, "normal") => true,
                _ if is_keyword(t, "master")
                    || is_keyword(t, "replica")
                    || is_keyword(t, "pubsub") =>
                {
                    false
                }
                _ => return Err(CmdError::err(format!("Unknown client type '{}'", lossy(t)))),
            };
            i += 2;
        } else if is_keyword(&args[i], "id") && i + 1 < args.len() {
            let mut v = Vec::new();
            i += 1;
            while i < args.len() {
                match parse_u64(&args[i]) {
                    Some(id) if id > 0 => v.push(id),
                    _ => return Err(CmdError::err("Invalid client ID")),
                }
                i += 1;
            }
            ids = Some(v);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    ctx.state.publish_client(ctx.conn);
    let mut text = String::new();
    if only_normal {
        for c in ctx.state.clients.snapshot() {
            if ids.as_ref().is_none_or(|v| v.contains(&c.id)) {
                text.push_str(&c.info_line());
                text.push('\n');
            }
        }
    }
    ctx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

/// CLIENT INFO: this connection's CLIENT LIST line.
pub fn info(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.state.publish_client(ctx.conn);
    let mut line = ctx.conn.handle.info_line();
    line.push('\n');
    ctx.out.verbatim("txt", line.as_bytes());
    Ok(())
}
