//! DEBUG: the subcommands tools and test suites use. SLEEP, DIGEST,
//! DIGEST-VALUE, OBJECT, SET-ACTIVE-EXPIRE, RELOAD (commit, then rebuild
//! the in-memory state from the lake, see [`reload`]); JMAP is refused
//! (there is no JVM). Digests are SHA-1 based and stable across restarts; they
//! are not Redis's values (which depend on its RDB encoding).
//!
//! Allowed from every connection unless `enable-debug-command` says
//! otherwise (`no`, or `local` for loopback clients only).

use bytes::Bytes;
use sha1::{Digest, Sha1};
use vexlake_engine::keyspace::Value;
use vexlake_protocol::args::{is_keyword, parse_f64};

use super::table::{BASE, CommandSpec};
use super::{CmdResult, Ctx};
use crate::error::CmdError;

/// DEBUG.
pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "debug",
    arity: -2,
    flags: &["admin", "noscript", "loading", "stale", "protected"],
    acl: &["@admin", "@slow", "@dangerous"],
    group: "server",
    since: "1.0.0",
    summary: "A container for debugging commands.",
    complexity: "Depends on subcommand.",
    syntax: "subcommand [arg...]",
    handler: debug,
    ..BASE
}];

/// The digest of one value: 20 bytes.
fn value_digest(v: &Value) -> [u8; 20] {
    let mut h = Sha1::new();
    match v {
        Value::Str(s) => {
            h.update(b"s");
            h.update(s);
        }
        Value::Hash(hash) => {
            let mut fields: Vec<_> = hash.iter().collect();
            fields.sort();
            h.update(b"h");
            for (f, v) in fields {
                for part in [f, v] {
                    h.update((part.len() as u64).to_le_bytes());
                    h.update(part);
                }
            }
        }
        Value::Set(set) => {
            let mut members: Vec<_> = set.iter().collect();
            members.sort();
            h.update(b"t");
            for m in members {
                h.update((m.len() as u64).to_le_bytes());
                h.update(m);
            }
        }
        Value::ZSet(z) => {
            h.update(b"z");
            for (m, s) in z.ordered() {
                h.update((m.len() as u64).to_le_bytes());
                h.update(m);
                h.update(s.to_bits().to_le_bytes());
            }
        }
        Value::Stream(st) => {
            h.update(b"x");
            h.update(st.encode());
        }
        Value::List(list) => {
            h.update(b"l");
            for m in list.iter() {
                h.update((m.len() as u64).to_le_bytes());
                h.update(m);
            }
        }
        Value::VectorSet(set) => {
            let rows = set.read().rows();
            h.update(b"v");
            for (e, v, a) in rows {
                h.update((e.len() as u64).to_le_bytes());
                h.update(&e);
                for x in v {
                    h.update(x.to_le_bytes());
                }
                if let Some(a) = a {
                    h.update(&a);
                }
            }
        }
    }
    h.finalize().into()
}

fn hex(d: &[u8; 20]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// DEBUG subcommand [arg ...].
pub fn debug(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let allowed = match ctx.state.config().enable_debug_command.as_str() {
        "yes" => true,
        "local" => ctx.conn.handle.addr.ip().is_loopback(),
        _ => false,
    };
    if !allowed {
        return Err(CmdError::err(
            "DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
        ));
    }
    let sub = &args[1];
    let now = ctx.now();
    match &args[2..] {
        [secs] if is_keyword(sub, "sleep") => {
            let s = parse_f64(secs)
                .filter(|s| s.is_finite())
                .ok_or(CmdError::NotFloat)?;
            let d = std::time::Duration::from_secs_f64(s.max(0.0));
            super::offload(true, || std::thread::sleep(d));
            ctx.out.ok();
        }
        [] if is_keyword(sub, "digest") => {
            // 40 zeros when empty, as in Redis.
            ctx.out.simple(&hex(&digest(&ctx.state.engine, now)));
        }
        keys if is_keyword(sub, "digest-value") => {
            ctx.out.array(keys.len());
            for k in keys {
                let d = ctx
                    .db()
                    .object(k, now)
                    .map_or([0u8; 20], |o| value_digest(&o.value));
                ctx.out.simple(&hex(&d));
            }
        }
        [key] if is_keyword(sub, "object") => {
            let Some(o) = ctx.db().object(key, now) else {
                return Err(CmdError::err("no such key"));
            };
            let (encoding, len) = (
                super::object::value_encoding(&o.value, &ctx.state.config().encodings),
                o.value.memory_bytes(),
            );
            ctx.out.simple(&format!(
                "Value at:0x0 refcount:1 encoding:{encoding} serializedlength:{len} lru:{} lru_seconds_idle:{}",
                o.access.last & 0xFF_FFFF,
                o.access.idle_secs()
            ));
        }
        [flag] if is_keyword(sub, "set-active-expire") => {
            let on = match &flag[..] {
                b"0" => false,
                b"1" => true,
                _ => return Err(CmdError::Syntax),
            };
            ctx.state
                .active_expire
                .store(on, std::sync::atomic::Ordering::Relaxed);
            ctx.out.ok();
        }
        _ if is_keyword(sub, "jmap") => {
            return Err(CmdError::err(
                "DEBUG JMAP is not supported: VexLake has no JVM",
            ));
        }
        [] if is_keyword(sub, "reload") => return reload(ctx),
        _ if is_keyword(sub, "help") => {
            let lines = [
                "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DIGEST",
                "    Output a hex signature representing the current DB content.",
                "DIGEST-VALUE <key> [<key> ...]",
                "    Output a hex signature of the values of all the specified keys.",
                "OBJECT <key>",
                "    Show low level info about the key and associated value.",
                "RELOAD",
                "    Commit to the lake, then rebuild the in-memory state from it.",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Setting it to 0 disables expiring keys in background when they are not accessed.",
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
                "HELP",
                "    Print this help.",
            ];
            ctx.out.array(lines.len());
            for l in lines {
                ctx.out.simple(l);
            }
        }
        _ => {
            return Err(CmdError::err(format!(
                "unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
                String::from_utf8_lossy(sub)
            )));
        }
    }
    Ok(())
}

/// DEBUG RELOAD: commits everything to the lake (like SAVE), loads the
/// committed version into a fresh keyspace, checks it equals the live one
/// (DEBUG DIGEST), and swaps it in: the in-memory state is rebuilt from the
/// lake, as Redis rebuilds it from its RDB file. Writes (and active expiry)
/// wait meanwhile; a mismatch leaves the live state and is an error.
fn reload(ctx: &mut Ctx<'_>) -> CmdResult {
    use super::persistence::{block_on, commit_error};
    let state = ctx.state;
    let Some(storage) = state.storage.get().cloned() else {
        return Err(CmdError::err("storage is not open"));
    };
    if state.config().replica_of_lake {
        return Err(crate::error::readonly(None));
    }
    let previous = *state.pause.lock();
    let hold = std::time::Instant::now() + std::time::Duration::from_secs(3600);
    state.set_pause(Some((hold, previous.is_some_and(|(_, all)| all))));
    // Commands already past the pause check finish first.
    let _ = state.engine.atomically(|| ());
    let result = (|| {
        block_on(storage.flush(&state.engine, "debug-reload", true)).map_err(commit_error)?;
        let manifest = block_on(storage.latest()).map_err(commit_error)?;
        let fresh = std::sync::Arc::new(state.engine.new_like());
        let mut replayer = vexlake_engine::journal::Replayer::new(fresh.clone());
        block_on(storage.restore(&fresh, &manifest, &mut replayer))
            .map_err(super::persistence::storage_error)?;
        replayer.drop_empty_sets();
        drop(replayer);
        let now = state.engine.now_ms();
        if digest(&state.engine, now) != digest(&fresh, now) {
            return Err(CmdError::err(
                "DEBUG RELOAD: the committed version differs from memory; nothing was swapped",
            ));
        }
        state.engine.replace_contents(&fresh);
        for i in 0..state.engine.databases() {
            let db = state.engine.db(i);
            db.forget_changes();
            for (_, set) in db.vector_sets(now) {
                set.write().forget_changes();
            }
        }
        Ok(())
    })();
    state.set_pause(previous);
    result?;
    ctx.out.ok();
    Ok(())
}

/// DEBUG DIGEST of a whole engine: XOR of per-key digests (order-free).
fn digest(engine: &vexlake_engine::Engine, now: u64) -> [u8; 20] {
    let mut acc = [0u8; 20];
    for db in 0..engine.databases() {
        for (k, v, ttl) in engine.db(db).entries(now) {
            let mut h = Sha1::new();
            h.update((db as u64).to_le_bytes());
            h.update(&k);
            h.update(value_digest(&v));
            h.update(ttl.unwrap_or(0).to_le_bytes());
            let d: [u8; 20] = h.finalize().into();
            for (a, b) in acc.iter_mut().zip(d) {
                *a ^= b;
            }
        }
    }
    acc
}
