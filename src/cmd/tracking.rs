//! CLIENT TRACKING, CLIENT CACHING, CLIENT GETREDIR, CLIENT TRACKINGINFO
//! (see [`crate::tracking`] for what tracking does).

use bytes::Bytes;
use vexlake_protocol::args::{is_keyword, parse_i64};

use super::{CmdResult, Ctx};
use crate::error::CmdError;
use crate::tracking::Mode;

/// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN]
/// [OPTOUT] [NOLOOP].
pub fn tracking(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut mode = Mode::default();
    let mut bcast = false;
    let mut prefixes: Vec<Bytes> = Vec::new();
    let mut i = 3;
    while i < args.len() {
        let a = &args[i];
        let more = i + 1 < args.len();
        if is_keyword(a, "redirect") && more {
            i += 1;
            if mode.redirect != 0 {
                return Err(CmdError::err(
                    "A client can only redirect to a single other client",
                ));
            }
            let id = parse_i64(&args[i]).ok_or(CmdError::NotInteger)?;
            if id <= 0 || ctx.state.clients.get(id as u64).is_none() {
                return Err(CmdError::err(
                    "The client ID you want redirect to does not exist",
                ));
            }
            mode.redirect = id as u64;
        } else if is_keyword(a, "bcast") {
            bcast = true;
        } else if is_keyword(a, "optin") {
            mode.optin = true;
        } else if is_keyword(a, "optout") {
            mode.optout = true;
        } else if is_keyword(a, "noloop") {
            mode.noloop = true;
        } else if is_keyword(a, "prefix") && more {
            i += 1;
            prefixes.push(args[i].clone());
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let on = if is_keyword(&args[2], "on") {
        true
    } else if is_keyword(&args[2], "off") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let id = ctx.conn.handle.id;
    if !on {
        if ctx.conn.tracking.take().is_some() {
            ctx.state.tracking.disable(id);
        }
        ctx.out.ok();
        return Ok(());
    }
    if !bcast && !prefixes.is_empty() {
        return Err(CmdError::err(
            "PREFIX option requires BCAST mode to be enabled",
        ));
    }
    if let Some(old) = &ctx.conn.tracking
        && old.bcast.is_some() != bcast
    {
        return Err(CmdError::err(
            "You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
        ));
    }
    if bcast && (mode.optin || mode.optout) {
        return Err(CmdError::err(
            "OPTIN and OPTOUT are not compatible with BCAST",
        ));
    }
    if mode.optin && mode.optout {
        return Err(CmdError::err(
            "You can't specify both OPTIN mode and OPTOUT mode",
        ));
    }
    if let Some(old) = &ctx.conn.tracking
        && ((mode.optin && old.optout) || (mode.optout && old.optin))
    {
        return Err(CmdError::err(
            "You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
        ));
    }
    if bcast {
        let existing = ctx.state.tracking.prefixes(id);
        check_prefixes(&existing, &prefixes)?;
        mode.bcast = Some(prefixes);
    }
    let target = if mode.redirect != 0 {
        match ctx.state.clients.get(mode.redirect) {
            Some(c) => c.mailbox.clone(),
            None => {
                return Err(CmdError::err(
                    "The client ID you want redirect to does not exist",
                ));
            }
        }
    } else {
        ctx.conn.mailbox.clone()
    };
    let own = ctx.conn.mailbox.clone();
    ctx.state.tracking.enable(id, own, target, mode.clone());
    ctx.conn.tracking = Some(mode);
    ctx.out.ok();
    Ok(())
}

/// Refuses prefixes where one starts with another (Redis's texts).
fn check_prefixes(existing: &[Bytes], new: &[Bytes]) -> CmdResult {
    let overlap = |a: &[u8], b: &[u8]| a.starts_with(b) || b.starts_with(a);
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    for (i, p) in new.iter().enumerate() {
        if let Some(e) = existing.iter().find(|e| overlap(p, e)) {
            return Err(CmdError::err(format!(
                "Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                s(p),
                s(e)
            )));
        }
        if let Some(o) = new[i + 1..].iter().find(|o| overlap(p, o)) {
            return Err(CmdError::err(format!(
                "Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                s(p),
                s(o)
            )));
        }
    }
    Ok(())
}

/// CLIENT CACHING YES|NO: whether the next command's reads are tracked
/// (OPTIN / OPTOUT).
pub fn caching(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(mode) = &ctx.conn.tracking else {
        return Err(CmdError::err(
            "CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        ));
    };
    if is_keyword(&args[2], "yes") {
        if !mode.optin {
            return Err(CmdError::err(
                "CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            ));
        }
        ctx.conn.caching = Some(true);
    } else if is_keyword(&args[2], "no") {
        if !mode.optout {
            return Err(CmdError::err(
                "CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            ));
        }
        ctx.conn.caching = Some(false);
    } else {
        return Err(CmdError::Syntax);
    }
    ctx.out.ok();
    Ok(())
}

/// CLIENT GETREDIR: the REDIRECT id, 0 without one, -1 when not tracking.
pub fn getredir(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let v = ctx.conn.tracking.as_ref().map_or(-1, |m| m.redirect as i64);
    ctx.out.int(v);
    Ok(())
}

/// CLIENT TRACKINGINFO: flags, redirect and prefixes.
pub fn trackinginfo(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let mode = ctx.conn.tracking.clone();
    let mut flags: Vec<&str> = Vec::new();
    match &mode {
        None => flags.push("off"),
        Some(m) => {
            flags.push("on");
            if m.bcast.is_some() {
                flags.push("bcast");
            }
            if m.optin {
                flags.push("optin");
                if ctx.conn.caching == Some(true) {
                    flags.push("caching-yes");
                }
            }
            if m.optout {
                flags.push("optout");
                if ctx.conn.caching == Some(false) {
                    flags.push("caching-no");
                }
            }
            if m.noloop {
                flags.push("noloop");
            }
            if m.redirect != 0 && ctx.state.clients.get(m.redirect).is_none() {
                flags.push("broken_redirect");
            }
        }
    }
    ctx.out.map(3);
    ctx.out.bulk(b"flags");
    ctx.out.set(flags.len());
    for f in flags {
        ctx.out.bulk(f.as_bytes());
    }
    ctx.out.bulk(b"redirect");
    ctx.out.int(mode.as_ref().map_or(-1, |m| m.redirect as i64));
    ctx.out.bulk(b"prefixes");
    let prefixes = match &mode {
        Some(m) if m.bcast.is_some() => ctx.state.tracking.prefixes(ctx.conn.handle.id),
        _ => Vec::new(),
    };
    ctx.out.array(prefixes.len());
    for p in prefixes {
        ctx.out.bulk(&p);
    }
    Ok(())
}
