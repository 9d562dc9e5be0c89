//! The `redis` table scripts call. The parts that need the calling
//! connection (`call`, `pcall`, `setresp`) are set for each run by
//! [`crate::cmd::scripting`]; the rest is installed once here.

use bytes::Bytes;
use mlua::{Lua, Value, Variadic};

use super::convert::error_text;

/// A `redis.call` that failed: the error ends the script with this text
/// and the script line it was called from.
#[derive(Debug, Clone)]
pub struct CallError {
    /// `CODE message`.
    pub text: String,
    /// Line in the script.
    pub line: Option<usize>,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for CallError {}

/// The line of the innermost running part of the script itself.
pub fn script_line(lua: &Lua) -> Option<usize> {
    (0..32).find_map(|level| {
        lua.inspect_stack(level, |d| {
            let src = d.source();
            matches!(
                src.short_src.as_deref(),
                Some("user_script" | "user_function")
            )
            .then(|| d.current_line())
        })
        .flatten()
        .flatten()
    })
}

/// The command arguments of a `redis.call`: strings, or numbers (written
/// as Lua prints them).
pub fn command_args(args: &Variadic<Value>) -> Result<Vec<Bytes>, String> {
    if args.is_empty() {
        return Err("Please specify at least one argument for this redis lib call".into());
    }
    args.iter()
        .map(|v| match v {
            Value::String(s) => Ok(Bytes::copy_from_slice(&s.as_bytes())),
            Value::Integer(i) => Ok(Bytes::from(i.to_string())),
            Value::Number(n) => Ok(Bytes::from(lua_number(*n))),
            _ => Err("Lua redis lib command arguments must be strings or integers".into()),
        })
        .collect()
}

/// A number as Lua 5.1 prints it (`%.14g`).
pub fn lua_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        return format!("{}", n as i64);
    }
    if n.is_nan() {
        return if n.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "inf" } else { "-inf" }.into();
    }
    let s = format!("{n:.13e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..14).contains(&exp) {
        let digits = (13 - exp).max(0) as usize;
        let fixed = format!("{n:.digits$}");
        if fixed.contains('.') {
            fixed
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string()
        } else {
            fixed
        }
    } else {
        let m = mantissa.trim_end_matches('0').trim_end_matches('.');
        format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

/// Installs the parts of `redis` that do not depend on the caller.
pub fn install(lua: &Lua) -> mlua::Result<()> {
    let redis = lua.create_table()?;
    redis.raw_set(
        "status_reply",
        lua.create_function(|lua, s: mlua::LuaString| {
            let t = lua.create_table()?;
            t.raw_set("ok", s)?;
            Ok(t)
        })?,
    )?;
    redis.raw_set(
        "error_reply",
        lua.create_function(|lua, s: mlua::LuaString| {
            let text = String::from_utf8_lossy(&s.as_bytes()).into_owned();
            let raw = if text.starts_with('-') {
                text
            } else {
                format!("-{text}")
            };
            let t = lua.create_table()?;
            t.raw_set("err", error_text(&raw))?;
            Ok(t)
        })?,
    )?;
    redis.raw_set(
        "sha1hex",
        lua.create_function(|_, s: mlua::LuaString| Ok(super::sha1hex(&s.as_bytes())))?,
    )?;
    redis.raw_set(
        "log",
        lua.create_function(|_, (level, msg): (i64, Variadic<Value>)| {
            let text: Vec<String> = msg
                .iter()
                .map(|v| match v {
                    Value::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
                    other => format!("{other:?}"),
                })
                .collect();
            let text = text.join(" ");
            match level {
                0 => tracing::debug!(target: "script", "{text}"),
                1 | 2 => tracing::info!(target: "script", "{text}"),
                _ => tracing::warn!(target: "script", "{text}"),
            }
            Ok(())
        })?,
    )?;
    for (name, v) in [
        ("LOG_DEBUG", 0),
        ("LOG_VERBOSE", 1),
        ("LOG_NOTICE", 2),
        ("LOG_WARNING", 3),
        ("REPL_NONE", 0),
        ("REPL_AOF", 1),
        ("REPL_SLAVE", 2),
        ("REPL_REPLICA", 2),
        ("REPL_ALL", 3),
    ] {
        redis.raw_set(name, v)?;
    }
    redis.raw_set("REDIS_VERSION", "8.4.0")?;
    redis.raw_set("REDIS_VERSION_NUM", 0x080400)?;
    // Effects are what the WAL records anyway; replication modes are moot.
    redis.raw_set(
        "set_repl",
        lua.create_function(|_, _: Variadic<Value>| Ok(()))?,
    )?;
    redis.raw_set("replicate_commands", lua.create_function(|_, ()| Ok(true))?)?;
    redis.raw_set("breakpoint", lua.create_function(|_, ()| Ok(false))?)?;
    redis.raw_set(
        "debug",
        lua.create_function(|_, _: Variadic<Value>| Ok(()))?,
    )?;
    lua.globals().raw_set("redis", redis)?;
    Ok(())
}
