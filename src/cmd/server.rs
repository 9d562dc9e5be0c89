//! Server commands: DBSIZE FLUSHDB FLUSHALL TIME SHUTDOWN.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use vexlake_protocol::args::is_keyword;

use super::{CmdResult, Ctx};
use crate::error::CmdError;

/// DBSIZE.
pub fn dbsize(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let n = ctx.db().len();
    ctx.out.int(n as i64);
    Ok(())
}

fn flush_mode(args: &[Bytes]) -> CmdResult {
    match &args[1..] {
        [] => Ok(()),
        [m] if is_keyword(m, "async") || is_keyword(m, "sync") => Ok(()),
        _ => Err(CmdError::Syntax),
    }
}

/// FLUSHDB [ASYNC|SYNC].
pub fn flushdb(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    flush_mode(args)?;
    ctx.db().flush()?;
    ctx.out.ok();
    Ok(())
}

/// FLUSHALL [ASYNC|SYNC].
pub fn flushall(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    flush_mode(args)?;
    ctx.state.engine.flush_all()?;
    ctx.out.ok();
    Ok(())
}

/// TIME: [unix seconds, microseconds] as bulk strings.
pub fn time(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    ctx.out.array(2);
    ctx.out.bulk_int(d.as_secs() as i64);
    ctx.out.bulk_int(i64::from(d.subsec_micros()));
    Ok(())
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE]: stops the server gracefully; the
/// connection closes without a reply, as with Redis.
pub fn shutdown(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    for a in &args[1..] {
        if is_keyword(a, "abort") {
            return Err(CmdError::err("No shutdown in progress."));
        }
        if !["nosave", "save", "now", "force"]
            .iter()
            .any(|k| is_keyword(a, k))
        {
            return Err(CmdError::Syntax);
        }
    }
    tracing::info!(
        client = ctx.conn.handle.id,
        "SHUTDOWN requested by a client"
    );
    ctx.state.request_shutdown();
    ctx.conn.close = true;
    Ok(())
}
