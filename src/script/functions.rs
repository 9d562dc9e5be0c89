//! Function libraries (FUNCTION LOAD, FCALL): compiling a library's code
//! in the server's interpreter and keeping the functions it registers.
//!
//! The libraries' code is owned by the engine
//! ([`vexlake_engine::functions`]): journaled, committed to the lake,
//! restored. This module keeps a compiled copy, a [`Registry`], rebuilt
//! whenever the engine's generation moved (a load or delete, a restart, a
//! replica's refresh, `SCRIPT FLUSH` replacing the interpreter). Building
//! it runs every library's top level once with `redis.register_function`
//! available, as Redis does at load.
//!
//! As in Redis: the first line is `#!lua name=<library>`; a library must
//! register at least one function; function names are unique across
//! libraries; a function receives `(keys, args)` instead of `KEYS`/`ARGV`;
//! flags are `no-writes`, `allow-oom`, `allow-stale`, `no-cluster`,
//! `allow-cross-slot-keys`. Loading a library's top level is stopped after
//! 500 ms (`FUNCTION LOAD timeout`).

use std::collections::HashMap;

use bytes::Bytes;
use mlua::{Function, Lua, Table, Value, Variadic};
use vexlake_engine::functions::Library;

/// The function may not write (FCALL_RO runs only such functions).
pub const NO_WRITES: u8 = 1;

/// Flag names in Redis's order, with their bits.
pub const FLAGS: &[(&str, u8)] = &[
    ("no-writes", NO_WRITES),
    ("allow-oom", 2),
    ("allow-stale", 4),
    ("no-cluster", 8),
    ("allow-cross-slot-keys", 16),
];

/// One registered function.
#[derive(Debug, Clone)]
pub struct FunctionInfo {
    /// Its name (FCALL's first argument).
    pub name: String,
    /// The library that registered it.
    pub library: String,
    /// `description` given at registration.
    pub description: Option<String>,
    /// [`FLAGS`] bits.
    pub flags: u8,
    /// The callback.
    pub func: Function,
}

/// One loaded library.
#[derive(Debug, Clone)]
pub struct LibraryInfo {
    /// Library name.
    pub name: String,
    /// Its code as loaded (first line included).
    pub code: Bytes,
    /// The functions it registered, in registration order.
    pub functions: Vec<FunctionInfo>,
}

/// The compiled libraries, as of one engine generation.
#[derive(Debug, Default)]
pub struct Registry {
    /// The engine generation this was built from (None: build again).
    pub generation: Option<u64>,
    /// Libraries in load order.
    pub libraries: Vec<LibraryInfo>,
    /// Function name → (library index, function index).
    index: HashMap<String, (usize, usize)>,
}

impl Registry {
    /// The function called `name`.
    pub fn function(&self, name: &[u8]) -> Option<&FunctionInfo> {
        let name = std::str::from_utf8(name).ok()?;
        let &(l, f) = self.index.get(name)?;
        Some(&self.libraries[l].functions[f])
    }

    /// The library called `name`.
    pub fn library(&self, name: &[u8]) -> Option<&LibraryInfo> {
        self.libraries.iter().find(|l| l.name.as_bytes() == name)
    }

    /// Number of functions.
    pub fn function_count(&self) -> usize {
        self.index.len()
    }
}

/// A library's first line: `#!<engine> name=<name>`; returns its name and
/// the code from the line feed on (line numbers stay right). Errors are
/// Redis's texts.
pub fn metadata(code: &[u8]) -> Result<(String, &[u8]), String> {
    if !code.starts_with(b"#!") {
        return Err("ERR Missing library metadata".into());
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err("ERR Invalid library metadata".into());
    };
    let line = String::from_utf8_lossy(&code[..end]);
    let mut parts = line.split_ascii_whitespace();
    let Some(engine) = parts.next() else {
        return Err("ERR Invalid library metadata".into());
    };
    let engine = &engine[2..];
    let mut name: Option<String> = None;
    for part in parts {
        match part.get(..5) {
            Some(p) if p.eq_ignore_ascii_case("name=") => {
                if name.is_some() {
                    return Err(
                        "ERR Invalid metadata value, name argument was given multiple times".into(),
                    );
                }
                name = Some(part[5..].to_string());
            }
            _ => return Err(format!("ERR Invalid metadata value given: {part}")),
        }
    }
    let Some(name) = name else {
        return Err("ERR Library name was not given".into());
    };
    if !valid_name(&name) {
        return Err("ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".into());
    }
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(format!("ERR Engine '{engine}' not found"));
    }
    Ok((name, &code[end..]))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Builds the registry for `libs` (each library's top level run once).
/// The first failing library's error is returned, in Redis's text.
pub fn build(lua: &Lua, libs: &[Library], generation: u64) -> Result<Registry, String> {
    let mut reg = Registry {
        generation: Some(generation),
        ..Registry::default()
    };
    for lib in libs {
        let functions = load(lua, lib)?;
        let l = reg.libraries.len();
        for (f, func) in functions.iter().enumerate() {
            if reg.index.insert(func.name.clone(), (l, f)).is_some() {
                return Err(format!("ERR Function {} already exists", func.name));
            }
        }
        reg.libraries.push(LibraryInfo {
            name: lib.name.clone(),
            code: lib.code.clone(),
            functions,
        });
    }
    Ok(reg)
}

/// Runs one library's top level; returns the functions it registered.
fn load(lua: &Lua, lib: &Library) -> Result<Vec<FunctionInfo>, String> {
    let (name, code) = metadata(&lib.code)?;
    let chunk = lua
        .load(code)
        .set_name("@user_function")
        .into_function()
        .map_err(|e| {
            format!(
                "ERR Error compiling function: {}",
                super::first_line(&e.to_string())
            )
        })?;
    let registered: std::cell::RefCell<Vec<FunctionInfo>> = Default::default();
    let globals = lua.globals();
    let redis: Table = globals.raw_get("redis").map_err(|e| format!("ERR {e}"))?;
    let api = load_api(lua, &redis).map_err(|e| format!("ERR {e}"))?;
    let outcome = lua.scope(|scope| {
        globals.raw_set("redis", &api)?;
        api.raw_set(
            "register_function",
            scope.create_function(|_, args: Variadic<Value>| {
                let f = register_args(&args, &name).map_err(mlua::Error::runtime)?;
                let mut list = registered.borrow_mut();
                if list.iter().any(|g| g.name == f.name) {
                    return Err(mlua::Error::runtime(
                        "Function already exists in the library",
                    ));
                }
                list.push(f);
                Ok(())
            })?,
        )?;
        Ok(chunk.call::<()>(()))
    });
    let _ = globals.raw_set("redis", redis);
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) | Err(e) => {
            return Err(format!(
                "ERR Error registering functions: ERR {}",
                super::first_line(&e.to_string())
            ));
        }
    }
    let functions = registered.into_inner();
    if functions.is_empty() {
        return Err("ERR No functions registered".into());
    }
    Ok(functions)
}

/// The `redis` table a library's top level sees (as in Redis): logging,
/// the version, and `register_function` (added by the caller); any other
/// field is an error.
fn load_api(lua: &Lua, redis: &Table) -> mlua::Result<Table> {
    let api = lua.create_table()?;
    for k in [
        "log",
        "LOG_DEBUG",
        "LOG_VERBOSE",
        "LOG_NOTICE",
        "LOG_WARNING",
        "REDIS_VERSION",
        "REDIS_VERSION_NUM",
    ] {
        api.raw_set(k, redis.raw_get::<Value>(k)?)?;
    }
    let mt: Table = lua
        .load(
            r#"return { __index = function(_, name)
  error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end }"#,
        )
        .set_name("=load_api")
        .eval()?;
    api.set_metatable(Some(mt))?;
    Ok(api)
}

/// Reads `register_function(name, callback)` or
/// `register_function{function_name=, callback=, flags=, description=}`.
fn register_args(args: &Variadic<Value>, library: &str) -> Result<FunctionInfo, String> {
    let (name, func, description, flags) = match args.len() {
        2 => {
            let Value::String(name) = &args[0] else {
                return Err("first argument to redis.register_function must be a string".into());
            };
            let Value::Function(func) = &args[1] else {
                return Err("second argument to redis.register_function must be a function".into());
            };
            (name.to_string_lossy(), func.clone(), None, 0)
        }
        1 => {
            let Value::Table(t) = &args[0] else {
                return Err("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).".into());
            };
            let (mut name, mut func, mut description, mut flags) = (None, None, None, 0u8);
            for pair in t.clone().pairs::<Value, Value>() {
                let (k, v) = pair.map_err(|e| e.to_string())?;
                let Value::String(k) = k else {
                    return Err(
                        "named argument key given to redis.register_function is not a string"
                            .into(),
                    );
                };
                let k = k.to_string_lossy().to_ascii_lowercase();
                match (k.as_str(), v) {
                    ("function_name", Value::String(s)) => name = Some(s.to_string_lossy()),
                    ("function_name", _) => {
                        return Err("function_name argument given to redis.register_function must be a string".into());
                    }
                    ("description", Value::String(s)) => description = Some(s.to_string_lossy()),
                    ("description", _) => {
                        return Err("description argument given to redis.register_function must be a string".into());
                    }
                    ("callback", Value::Function(f)) => func = Some(f),
                    ("callback", _) => {
                        return Err(
                            "callback argument given to redis.register_function must be a function"
                                .into(),
                        );
                    }
                    ("flags", Value::Table(list)) => flags = read_flags(&list)?,
                    ("flags", _) => {
                        return Err("flags argument to redis.register_function must be a table representing function flags".into());
                    }
                    _ => return Err("unknown argument given to redis.register_function".into()),
                }
            }
            let Some(name) = name else {
                return Err("redis.register_function must get a function name argument".into());
            };
            let Some(func) = func else {
                return Err("redis.register_function must get a callback argument".into());
            };
            (name, func, description, flags)
        }
        _ => return Err("wrong number of arguments to redis.register_function".into()),
    };
    if !valid_name(&name) {
        return Err("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".into());
    }
    Ok(FunctionInfo {
        name,
        library: library.to_string(),
        description,
        flags,
        func,
    })
}

fn read_flags(list: &Table) -> Result<u8, String> {
    let mut flags = 0;
    for v in list.clone().sequence_values::<Value>() {
        let Ok(Value::String(s)) = v else {
            return Err("unknown flag given".into());
        };
        let s = s.to_string_lossy();
        match FLAGS.iter().find(|(n, _)| n.eq_ignore_ascii_case(&s)) {
            Some((_, bit)) => flags |= bit,
            None => return Err("unknown flag given".into()),
        }
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_errors_are_redis_texts() {
        assert_eq!(
            metadata(b"return 1").unwrap_err(),
            "ERR Missing library metadata"
        );
        assert_eq!(
            metadata(b"#!lua name=x").unwrap_err(),
            "ERR Invalid library metadata"
        );
        assert_eq!(
            metadata(b"#!lua\n").unwrap_err(),
            "ERR Library name was not given"
        );
        assert_eq!(
            metadata(b"#!lua name=a name=b\n").unwrap_err(),
            "ERR Invalid metadata value, name argument was given multiple times"
        );
        assert_eq!(
            metadata(b"#!lua foo=bar\n").unwrap_err(),
            "ERR Invalid metadata value given: foo=bar"
        );
        assert_eq!(
            metadata(b"#!js name=a\n").unwrap_err(),
            "ERR Engine 'js' not found"
        );
        assert!(
            metadata(b"#!lua name=a-b\n")
                .unwrap_err()
                .contains("Library names")
        );
        let (name, code) = metadata(b"#!LUA name=lib_1 \n return 1").unwrap();
        assert_eq!((name.as_str(), code), ("lib_1", &b"\n return 1"[..]));
    }
}
