//! CLIENT subcommands: ID GETNAME SETNAME SETINFO LIST INFO REPLY NO-TOUCH
//! NO-EVICT.

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

/// CLIENT UNBLOCK client-id [TIMEOUT | ERROR]: 1 when the client was
/// blocked (it then gets its timeout reply, or `-UNBLOCKED`).
pub fn unblock(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let id = super::int_arg(&args[2])?;
    match args.get(3) {
        None => {}
        Some(r) if r.eq_ignore_ascii_case(b"timeout") || r.eq_ignore_ascii_case(b"error") => {}
        Some(_) => {
            return Err(CmdError::err(
                "CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ));
        }
    }
    if args.len() > 4 {
        return Err(CmdError::Syntax);
    }
    let error = args
        .get(3)
        .is_some_and(|r| r.eq_ignore_ascii_case(b"error"));
    let done = id >= 0 && ctx.state.blocking.unblock(id as u64, error);
    ctx.out.int(i64::from(done));
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

/// CLIENT REPLY state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    /// Replies are sent.
    On,
    /// No replies until CLIENT REPLY ON.
    Off,
    /// Set by CLIENT REPLY SKIP: its own reply and the next command's are
    /// dropped.
    SkipThis,
    /// The next command's reply is dropped.
    SkipNext,
}

/// Whether the reply of the command just run is sent (and moves SKIP on).
pub fn reply_wanted(conn: &mut super::Conn) -> bool {
    match conn.reply {
        ReplyMode::On => true,
        ReplyMode::Off => false,
        ReplyMode::SkipThis => {
            conn.reply = ReplyMode::SkipNext;
            false
        }
        ReplyMode::SkipNext => {
            conn.reply = ReplyMode::On;
            false
        }
    }
}

/// CLIENT REPLY ON|OFF|SKIP.
pub fn reply(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let a = &args[2];
    ctx.conn.reply = if is_keyword(a, "on") {
        ctx.out.ok();
        ReplyMode::On
    } else if is_keyword(a, "off") {
        ReplyMode::Off
    } else if is_keyword(a, "skip") {
        ReplyMode::SkipThis
    } else {
        return Err(CmdError::Syntax);
    };
    Ok(())
}

fn on_off(a: &[u8]) -> Result<bool, CmdError> {
    if is_keyword(a, "on") {
        Ok(true)
    } else if is_keyword(a, "off") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// CLIENT NO-TOUCH ON|OFF: commands (but TOUCH) leave keys' access time
/// and frequency alone.
pub fn no_touch(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    ctx.conn.no_touch = on_off(&args[2])?;
    ctx.out.ok();
    Ok(())
}

/// CLIENT NO-EVICT ON|OFF: recorded; VexLake never evicts clients.
pub fn no_evict(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    ctx.conn.no_evict = on_off(&args[2])?;
    ctx.out.ok();
    Ok(())
}

/// CLIENT KILL addr:port, or CLIENT KILL [ID id] [TYPE type] [USER name]
/// [ADDR ip:port] [LADDR ip:port] [SKIPME yes|no] [MAXAGE secs]: closes the
/// matching connections (the caller's after its reply).
pub fn kill(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let me = ctx.conn.handle.id;
    if args.len() == 3 {
        // Old form: one address, +OK or an error.
        let addr = lossy(&args[2]);
        let found = ctx
            .state
            .clients
            .snapshot()
            .into_iter()
            .find(|c| c.addr.to_string() == addr);
        let Some(c) = found else {
            return Err(CmdError::err("No such client"));
        };
        close_client(ctx, &c);
        ctx.out.ok();
        return Ok(());
    }
    let mut filter = KillFilter {
        skip_me: true,
        ..KillFilter::default()
    };
    let rest = &args[2..];
    if !rest.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    for pair in rest.chunks(2) {
        let (k, v) = (&pair[0], &pair[1]);
        if is_keyword(k, "id") {
            let id = parse_u64(v)
                .filter(|&n| n > 0)
                .ok_or_else(|| CmdError::err("client-id should be greater than 0"))?;
            filter.id = Some(id);
        } else if is_keyword(k, "type") {
            let t = lossy(v).to_ascii_lowercase();
            if !["normal", "master", "replica", "slave", "pubsub"].contains(&t.as_str()) {
                return Err(CmdError::err(format!("Unknown client type '{}'", lossy(v))));
            }
            filter.kind = Some(t);
        } else if is_keyword(k, "user") {
            let name = lossy(v);
            if ctx.state.acl.get(&name).is_none() {
                return Err(CmdError::err(format!("No such user '{name}'")));
            }
            filter.user = Some(name);
        } else if is_keyword(k, "addr") {
            filter.addr = Some(lossy(v));
        } else if is_keyword(k, "laddr") {
            filter.laddr = Some(lossy(v));
        } else if is_keyword(k, "skipme") {
            filter.skip_me = match lossy(v).to_ascii_lowercase().as_str() {
                "yes" => true,
                "no" => false,
                _ => return Err(CmdError::Syntax),
            };
        } else if is_keyword(k, "maxage") {
            filter.max_age = Some(super::uint_arg(v)?);
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut n = 0;
    for c in ctx.state.clients.snapshot() {
        if (filter.skip_me && c.id == me) || !filter.matches(&c) {
            continue;
        }
        close_client(ctx, &c);
        n += 1;
    }
    ctx.out.int(n);
    Ok(())
}

#[derive(Default)]
struct KillFilter {
    id: Option<u64>,
    kind: Option<String>,
    user: Option<String>,
    addr: Option<String>,
    laddr: Option<String>,
    skip_me: bool,
    max_age: Option<u64>,
}

impl KillFilter {
    fn matches(&self, c: &crate::client::ClientHandle) -> bool {
        let m = c.meta.lock().clone();
        self.id.is_none_or(|id| c.id == id)
            && self.kind.as_deref().is_none_or(|t| match t {
                "normal" => !m.pubsub,
                "pubsub" => m.pubsub,
                _ => false,
            })
            && self.user.as_deref().is_none_or(|u| m.user == u)
            && self.addr.as_deref().is_none_or(|a| c.addr.to_string() == a)
            && self
                .laddr
                .as_deref()
                .is_none_or(|a| c.laddr.to_string() == a)
            && self
                .max_age
                .is_none_or(|s| c.created.elapsed().as_secs() >= s)
    }
}

fn close_client(ctx: &mut Ctx<'_>, c: &crate::client::ClientHandle) {
    if c.id == ctx.conn.handle.id {
        ctx.conn.close = true;
    } else {
        c.kill.notify_one();
    }
}

/// CLIENT PAUSE timeout [WRITE|ALL]: holds commands (all, or the ones that
/// write) of every client for `timeout` ms.
pub fn pause(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let ms = super::int_arg(&args[2])
        .map_err(|_| CmdError::err("timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    let all = match args.get(3) {
        None => true,
        Some(m) if is_keyword(m, "all") => true,
        Some(m) if is_keyword(m, "write") => false,
        Some(_) => return Err(CmdError::Syntax),
    };
    if args.len() > 4 {
        return Err(CmdError::Syntax);
    }
    let until = std::time::Instant::now() + std::time::Duration::from_millis(ms as u64);
    let current = *ctx.state.pause.lock();
    // A longer or stricter pause in force stays (as in Redis).
    ctx.state.set_pause(Some(match current {
        Some((u, a)) => (u.max(until), a || all),
        None => (until, all),
    }));
    ctx.out.ok();
    Ok(())
}

/// CLIENT UNPAUSE.
pub fn unpause(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.state.set_pause(None);
    ctx.out.ok();
    Ok(())
}
