//! Server commands: DBSIZE FLUSHDB FLUSHALL TIME SHUTDOWN LOLWUT.

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

/// LOLWUT [VERSION version] [columns [squares [rows]]]: a piece of
/// computer art (a grid of squares that fall into disorder row by row, after
/// Georg Nees's "Schotter") and the server's version, as verbatim text.
pub fn lolwut(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut rest = &args[1..];
    if let [v, n, tail @ ..] = rest
        && is_keyword(v, "version")
    {
        super::int_arg(n)?;
        rest = tail;
    }
    let mut nums = [60i64, 6, 10];
    for (slot, a) in nums.iter_mut().zip(rest) {
        *slot = super::int_arg(a)?;
    }
    let cols = nums[0].clamp(1, 1000) as usize;
    let squares = nums[1].clamp(1, 200) as usize;
    let rows = nums[2].clamp(1, 200) as usize;
    let glyphs = [b'#', b'#', b'%', b'+', b'x', b'*', b'~', b'.', b' '];
    let width = (cols / squares).max(1);
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut art = Vec::with_capacity((cols + 1) * rows + 64);
    for r in 0..rows {
        for c in 0..cols {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let disorder = r * (glyphs.len() - 1) / rows.max(2).saturating_sub(1).max(1);
            let jitter = (seed % (disorder as u64 + 1)) as usize;
            let edge = c % width == 0;
            let g = if edge {
                b'|'
            } else {
                glyphs[jitter.min(glyphs.len() - 1)]
            };
            art.push(g);
        }
        art.push(b'\n');
    }
    art.extend_from_slice(
        format!(
            "\nAfter Georg Nees - schotter, plotter on paper, 1968. VexLake ver. {}\n",
            env!("CARGO_PKG_VERSION")
        )
        .as_bytes(),
    );
    ctx.out.verbatim("txt", &art);
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
