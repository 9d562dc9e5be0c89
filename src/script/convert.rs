//! Redis's conversion rules between command replies and Lua values.
//!
//! Reply → Lua (what `redis.call` returns): integer → number, bulk string →
//! string, null bulk or null array → `false`, array → table, status →
//! `{ok = text}`, error → `{err = text}`. After `redis.setresp(3)` also:
//! map → `{map = {...}}`, set → `{set = {member = true}}`, null → `nil`,
//! boolean → boolean, double → `{double = n}`, big number →
//! `{big_number = text}`, verbatim → `{verbatim_string = {format, string}}`.
//!
//! Lua → reply (what a script returns): string → bulk, number → integer
//! (truncated), `true` → 1 and `false` → null (booleans in RESP3 mode),
//! `{err = ...}` → error, `{ok = ...}` → status, `{double = n}` → double,
//! `{map = ...}`/`{set = ...}` → map/set, other tables → array up to the
//! first `nil`, `nil` → null.

use mlua::{Lua, Table, Value};
use vexlake_protocol::ReplyBuf;
use vexlake_protocol::frame::Frame;

/// Deepest reply nesting converted (deeper parts become `nil`).
const MAX_DEPTH: usize = 256;

/// The Lua value of a command's reply.
pub fn frame_to_lua(lua: &Lua, f: &Frame<'_>) -> mlua::Result<Value> {
    to_lua(lua, f, 0)
}

fn status_table(lua: &Lua, field: &str, text: &[u8]) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set(field, lua.create_string(text)?)?;
    Ok(Value::Table(t))
}

fn to_lua(lua: &Lua, f: &Frame<'_>, depth: usize) -> mlua::Result<Value> {
    if depth > MAX_DEPTH {
        return Ok(Value::Nil);
    }
    let list = |items: &[Frame<'_>]| -> mlua::Result<Table> {
        let t = lua.create_table_with_capacity(items.len(), 0)?;
        for (i, item) in items.iter().enumerate() {
            t.raw_set(i + 1, to_lua(lua, item, depth + 1)?)?;
        }
        Ok(t)
    };
    Ok(match f {
        Frame::Int(n) => Value::Number(*n as f64),
        Frame::Bulk(b) => Value::String(lua.create_string(b)?),
        Frame::Simple(s) => status_table(lua, "ok", s)?,
        Frame::Error(e) => status_table(lua, "err", e)?,
        Frame::Array(items) | Frame::Push(items) => Value::Table(list(items)?),
        Frame::Null => Value::Boolean(false),
        Frame::Bool(b) => Value::Boolean(*b),
        Frame::Double(d) => {
            let t = lua.create_table()?;
            t.raw_set("double", *d)?;
            Value::Table(t)
        }
        Frame::BigNumber(s) => status_table(lua, "big_number", s)?,
        Frame::Verbatim(format, text) => {
            let inner = lua.create_table()?;
            inner.raw_set("format", lua.create_string(format)?)?;
            inner.raw_set("string", lua.create_string(text)?)?;
            let t = lua.create_table()?;
            t.raw_set("verbatim_string", inner)?;
            Value::Table(t)
        }
        Frame::Map(pairs) => {
            let inner = lua.create_table()?;
            for (k, v) in pairs {
                inner.raw_set(to_lua(lua, k, depth + 1)?, to_lua(lua, v, depth + 1)?)?;
            }
            let t = lua.create_table()?;
            t.raw_set("map", inner)?;
            Value::Table(t)
        }
        Frame::Set(items) => {
            let inner = lua.create_table()?;
            for item in items {
                inner.raw_set(to_lua(lua, item, depth + 1)?, true)?;
            }
            let t = lua.create_table()?;
            t.raw_set("set", inner)?;
            Value::Table(t)
        }
    })
}

/// A RESP3-mode null (`nil` after `redis.setresp(3)`) vs RESP2 `false`.
pub fn null_for(resp3: bool) -> Value {
    if resp3 {
        Value::Nil
    } else {
        Value::Boolean(false)
    }
}

/// Writes the reply for a script's return value `v`. `resp3` is the
/// script's `redis.setresp` choice (booleans as booleans).
pub fn write_reply(out: &mut ReplyBuf, v: &Value, resp3: bool) {
    write_value(out, v, resp3, 0)
}

fn string_field(t: &Table, name: &str) -> Option<String> {
    match t.raw_get::<Value>(name).ok()? {
        Value::String(s) => Some(String::from_utf8_lossy(&s.as_bytes()).into_owned()),
        _ => None,
    }
}

fn write_value(out: &mut ReplyBuf, v: &Value, resp3: bool, depth: usize) {
    if depth > MAX_DEPTH {
        out.error("ERR reached lua stack limit");
        return;
    }
    match v {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Integer(n) => out.int(*n),
        Value::Number(n) => out.int(*n as i64),
        Value::Boolean(b) => {
            if resp3 {
                out.bool(*b)
            } else if *b {
                out.int(1)
            } else {
                out.null()
            }
        }
        Value::Table(t) => {
            if let Some(e) = string_field(t, "err") {
                out.error(&error_line(&e));
            } else if let Some(ok) = string_field(t, "ok") {
                out.simple(&ok.replace(['\r', '\n'], " "));
            } else if let Ok(Value::Number(d)) = t.raw_get::<Value>("double") {
                out.double(d);
            } else if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
                let pairs: Vec<(Value, Value)> = m.pairs().filter_map(Result::ok).collect();
                out.map(pairs.len());
                for (k, v) in &pairs {
                    write_value(out, k, resp3, depth + 1);
                    write_value(out, v, resp3, depth + 1);
                }
            } else if let Ok(Value::Table(s)) = t.raw_get::<Value>("set") {
                let members: Vec<Value> = s
                    .pairs::<Value, Value>()
                    .filter_map(|p| p.ok().map(|(k, _)| k))
                    .collect();
                out.set(members.len());
                for m in &members {
                    write_value(out, m, resp3, depth + 1);
                }
            } else if let Some(b) = string_field(t, "big_number") {
                out.bulk(b.as_bytes());
            } else {
                let mut items = Vec::new();
                for i in 1.. {
                    match t.raw_get::<Value>(i) {
                        Ok(Value::Nil) | Err(_) => break,
                        Ok(v) => items.push(v),
                    }
                }
                out.array(items.len());
                for item in &items {
                    write_value(out, item, resp3, depth + 1);
                }
            }
        }
        _ => out.null(),
    }
}

/// An error text returned in `{err = ...}` as a reply line: a leading
/// `-` dropped, line breaks made spaces.
pub fn error_line(text: &str) -> String {
    let text = text.strip_prefix('-').unwrap_or(text);
    text.trim_end_matches(['\r', '\n'])
        .replace(['\r', '\n'], " ")
}

/// The `err` text Redis builds for an error raised by the redis library
/// (`redis.error_reply`, a failed `redis.call`): `-CODE message` keeps its
/// code, anything else gets `ERR` in front.
pub fn error_text(raw: &str) -> String {
    let raw = raw.trim_end_matches(['\r', '\n']);
    match raw.strip_prefix('-') {
        Some(rest) => match rest.split_once(' ') {
            Some((code, msg)) => format!("{code} {msg}"),
            None => format!("ERR {rest}"),
        },
        None => format!("ERR {raw}"),
    }
}
