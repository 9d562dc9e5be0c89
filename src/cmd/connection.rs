//! Connection commands: PING ECHO HELLO AUTH SELECT QUIT RESET MONITOR.

use bytes::Bytes;
use vexlake_protocol::Protocol;
use vexlake_protocol::args::{is_keyword, lossy, parse_i64};

use super::{CmdResult, Ctx, int_arg};
use crate::error::CmdError;

/// Version reported to clients; clients enable vector-set support from 8.x.
pub const REDIS_COMPAT_VERSION: &str = "8.4.0";

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// PING [message].
pub fn ping(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match args.len() {
        1 => ctx.out.simple("PONG"),
        2 => ctx.out.bulk(&args[1]),
        _ => return Err(CmdError::WrongArity("ping")),
    }
    Ok(())
}

/// ECHO message.
pub fn echo(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    ctx.out.bulk(&args[1]);
    Ok(())
}

/// Authenticates the connection as `user`, or counts and logs the failure
/// (with the user name and address, never the password).
fn log_in(ctx: &mut Ctx<'_>, user: &[u8], password: &[u8]) -> Result<(), CmdError> {
    match ctx.state.acl.authenticate(user, password) {
        Some(u) => {
            ctx.conn.authenticated = true;
            ctx.conn.user = u;
            ctx.conn.acl_gen = ctx.state.acl.generation();
            Ok(())
        }
        None => {
            crate::stats::Stats::add(&ctx.state.stats.acl_denied_auth, 1);
            tracing::warn!(
                client = ctx.conn.handle.id,
                addr = %ctx.conn.handle.addr,
                user = %lossy(user),
                "AUTH failed"
            );
            Err(CmdError::Line(WRONGPASS.into()))
        }
    }
}

/// AUTH [username] password.
pub fn auth(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (user, password) = match args.len() {
        2 => (&b"default"[..], &args[1]),
        3 => (&args[1][..], &args[2]),
        _ => return Err(CmdError::Syntax),
    };
    if args.len() == 2 && ctx.state.acl.default_user().nopass {
        return Err(CmdError::err(
            "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ));
    }
    log_in(ctx, user, password)?;
    ctx.out.ok();
    Ok(())
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]].
pub fn hello(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut proto = None;
    let mut auth = None;
    let mut setname = None;
    if args.len() > 1 {
        let v = parse_i64(&args[1])
            .ok_or_else(|| CmdError::err("Protocol version is not an integer or out of range"))?;
        proto = match v {
            2 => Some(Protocol::Resp2),
            3 => Some(Protocol::Resp3),
            _ => {
                return Err(CmdError::Line(
                    "NOPROTO unsupported protocol version".into(),
                ));
            }
        };
        let mut i = 2;
        while i < args.len() {
            let more = args.len() - i - 1;
            if is_keyword(&args[i], "auth") && more >= 2 {
                auth = Some((args[i + 1].clone(), args[i + 2].clone()));
                i += 3;
            } else if is_keyword(&args[i], "setname") && more >= 1 {
                setname = Some(args[i + 1].clone());
                i += 2;
            } else {
                return Err(CmdError::err(format!(
                    "Syntax error in HELLO option '{}'",
                    lossy(&args[i])
                )));
            }
        }
    }
    if !ctx.conn.authenticated && auth.is_none() {
        return Err(CmdError::Line(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time".into(),
        ));
    }
    if let Some(name) = &setname {
        super::client::validate_name(name, "Client names")?;
    }
    if let Some((user, pass)) = &auth {
        log_in(ctx, user, pass)?;
    }
    if let Some(name) = setname {
        ctx.conn.handle.meta.lock().name = String::from_utf8_lossy(&name).into_owned();
    }
    if let Some(p) = proto {
        ctx.out.set_protocol(p);
        ctx.conn.handle.meta.lock().resp = p.version();
    }
    let out = &mut *ctx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(REDIS_COMPAT_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(out.protocol().version());
    out.bulk(b"id");
    out.int(ctx.conn.handle.id as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
    Ok(())
}

/// SELECT index.
pub fn select(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let idx = int_arg(&args[1])?;
    if idx < 0 || idx as usize >= ctx.state.engine.databases() {
        return Err(CmdError::err("DB index is out of range"));
    }
    ctx.conn.db = idx as usize;
    ctx.out.ok();
    Ok(())
}

/// QUIT: replies OK, then the connection is closed.
pub fn quit(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.conn.close = true;
    ctx.out.ok();
    Ok(())
}

/// MONITOR: from now on, every command run by anyone is sent here.
pub fn monitor(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    if !ctx.conn.monitoring {
        ctx.conn.monitoring = true;
        ctx.state
            .monitors
            .add(ctx.conn.handle.id, ctx.conn.mailbox.clone());
    }
    ctx.out.ok();
    Ok(())
}

/// RESET: back to the state of a new connection.
pub fn reset(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.conn.db = 0;
    ctx.conn.multi = None;
    ctx.conn.watching = None;
    super::pubsub::unsubscribe_all(ctx);
    if ctx.conn.tracking.take().is_some() {
        ctx.state.tracking.disable(ctx.conn.handle.id);
    }
    ctx.conn.caching = None;
    if std::mem::take(&mut ctx.conn.monitoring) {
        ctx.state.monitors.remove(ctx.conn.handle.id);
    }
    ctx.conn.no_touch = false;
    ctx.conn.no_evict = false;
    ctx.conn.reply = super::client::ReplyMode::On;
    ctx.conn.authenticated = ctx.state.acl.starts_authenticated();
    ctx.conn.user = ctx.state.acl.default_user();
    ctx.conn.acl_gen = ctx.state.acl.generation();
    ctx.out.set_protocol(Protocol::Resp2);
    {
        let mut m = ctx.conn.handle.meta.lock();
        m.name.clear();
        m.resp = 2;
    }
    ctx.out.simple("RESET");
    Ok(())
}
