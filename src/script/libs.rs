//! The libraries Redis gives scripts beyond Lua's own: `cjson` (JSON
//! encode/decode, by serde_json) and `bit` (LuaBitOp's 32-bit operations).
//! `struct` and `cmsgpack` are not provided.

use mlua::{Lua, Table, Value, Variadic};

/// Deepest nesting `cjson.encode` / `cjson.decode` accept (as cjson).
const MAX_DEPTH: usize = 1000;

/// Registers `cjson` and `bit` as globals.
pub fn install(lua: &Lua) -> mlua::Result<()> {
    let cjson = lua.create_table()?;
    cjson.raw_set(
        "encode",
        lua.create_function(|lua, v: Value| {
            let json = to_json(&v, 0).map_err(mlua::Error::runtime)?;
            lua.create_string(json.to_string())
        })?,
    )?;
    cjson.raw_set(
        "decode",
        lua.create_function(|lua, text: mlua::LuaString| {
            let json: serde_json::Value =
                serde_json::from_slice(&text.as_bytes()).map_err(|e| {
                    mlua::Error::runtime(format!("Expected value but found invalid token: {e}"))
                })?;
            from_json(lua, &json)
        })?,
    )?;
    cjson.raw_set("null", Value::NULL)?;
    lua.globals().raw_set("cjson", cjson)?;

    let bit = lua.create_table()?;
    let unary = |f: fn(i32) -> i32| move |_: &Lua, x: f64| Ok(f(tobit(x)) as f64);
    let fold = |f: fn(i32, i32) -> i32| {
        move |_: &Lua, xs: Variadic<f64>| {
            let mut it = xs.iter().map(|&x| tobit(x));
            let first = it.next().ok_or_else(|| {
                mlua::Error::runtime("bad argument #1 (number expected, got no value)")
            })?;
            Ok(it.fold(first, f) as f64)
        }
    };
    let shift = |f: fn(i32, u32) -> i32| {
        move |_: &Lua, (x, n): (f64, f64)| Ok(f(tobit(x), (tobit(n) & 31) as u32) as f64)
    };
    bit.raw_set("tobit", lua.create_function(unary(|x| x))?)?;
    bit.raw_set("bnot", lua.create_function(unary(|x| !x))?)?;
    bit.raw_set("bswap", lua.create_function(unary(i32::swap_bytes))?)?;
    bit.raw_set("band", lua.create_function(fold(|a, b| a & b))?)?;
    bit.raw_set("bor", lua.create_function(fold(|a, b| a | b))?)?;
    bit.raw_set("bxor", lua.create_function(fold(|a, b| a ^ b))?)?;
    bit.raw_set(
        "lshift",
        lua.create_function(shift(|x, n| ((x as u32) << n) as i32))?,
    )?;
    bit.raw_set(
        "rshift",
        lua.create_function(shift(|x, n| ((x as u32) >> n) as i32))?,
    )?;
    bit.raw_set("arshift", lua.create_function(shift(|x, n| x >> n))?)?;
    bit.raw_set(
        "rol",
        lua.create_function(shift(|x, n| (x as u32).rotate_left(n) as i32))?,
    )?;
    bit.raw_set(
        "ror",
        lua.create_function(shift(|x, n| (x as u32).rotate_right(n) as i32))?,
    )?;
    bit.raw_set(
        "tohex",
        lua.create_function(|_, (x, n): (f64, Option<f64>)| {
            let n = n.map_or(8, |n| n as i32);
            let (upper, digits) = (n < 0, n.unsigned_abs().min(8) as usize);
            let v = tobit(x) as u32;
            let s = format!("{v:08x}");
            let s = s[8 - digits..].to_string();
            Ok(if upper { s.to_uppercase() } else { s })
        })?,
    )?;
    lua.globals().raw_set("bit", bit)?;
    Ok(())
}

/// LuaBitOp's normalization of a number to a signed 32-bit integer.
fn tobit(x: f64) -> i32 {
    (x.trunc().rem_euclid(4_294_967_296.0) as u64 as u32) as i32
}

fn is_array(t: &Table) -> Option<usize> {
    let mut n = 0usize;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair.ok()?;
        match k {
            Value::Integer(i) if i >= 1 => n = n.max(i as usize),
            Value::Number(f) if f >= 1.0 && f.fract() == 0.0 => n = n.max(f as usize),
            _ => return None,
        }
    }
    // Sparse tables (more holes than values) are refused by cjson; encode
    // them as arrays with nulls when only a few are missing.
    let len = t.raw_len();
    (n <= len.max(1) * 2 + 10).then_some(n)
}

fn to_json(v: &Value, depth: usize) -> Result<serde_json::Value, String> {
    if depth > MAX_DEPTH {
        return Err("Cannot serialise, excessive nesting (1001)".into());
    }
    Ok(match v {
        Value::Nil => serde_json::Value::Null,
        Value::LightUserData(p) if p.0.is_null() => serde_json::Value::Null,
        Value::Boolean(b) => serde_json::Value::Bool(*b),
        Value::Integer(i) => serde_json::Value::from(*i),
        Value::Number(n) => {
            if n.fract() == 0.0 && n.abs() < 1e15 {
                serde_json::Value::from(*n as i64)
            } else {
                serde_json::Number::from_f64(*n)
                    .map(serde_json::Value::Number)
                    .ok_or("Cannot serialise number: must not be NaN or Inf")?
            }
        }
        Value::String(s) => {
            serde_json::Value::String(String::from_utf8_lossy(&s.as_bytes()).into_owned())
        }
        Value::Table(t) => match is_array(t) {
            Some(n) if n > 0 => {
                let mut items = Vec::with_capacity(n);
                for i in 1..=n {
                    items.push(to_json(
                        &t.raw_get::<Value>(i).map_err(|e| e.to_string())?,
                        depth + 1,
                    )?);
                }
                serde_json::Value::Array(items)
            }
            _ => {
                let mut map = serde_json::Map::new();
                for pair in t.pairs::<Value, Value>() {
                    let (k, v) = pair.map_err(|e| e.to_string())?;
                    let key = match &k {
                        Value::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
                        Value::Integer(i) => i.to_string(),
                        Value::Number(n) => n.to_string(),
                        _ => {
                            return Err(
                                "Cannot serialise table: table key must be a number or string"
                                    .into(),
                            );
                        }
                    };
                    map.insert(key, to_json(&v, depth + 1)?);
                }
                serde_json::Value::Object(map)
            }
        },
        other => {
            return Err(format!(
                "Cannot serialise {}: type not supported",
                other.type_name()
            ));
        }
    })
}

fn from_json(lua: &Lua, v: &serde_json::Value) -> mlua::Result<Value> {
    Ok(match v {
        serde_json::Value::Null => Value::NULL,
        serde_json::Value::Bool(b) => Value::Boolean(*b),
        serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::String(lua.create_string(s)?),
        serde_json::Value::Array(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, from_json(lua, item)?)?;
            }
            Value::Table(t)
        }
        serde_json::Value::Object(map) => {
            let t = lua.create_table_with_capacity(0, map.len())?;
            for (k, v) in map {
                t.raw_set(k.as_str(), from_json(lua, v)?)?;
            }
            Value::Table(t)
        }
    })
}
