//! OBJECT ENCODING/FREQ/IDLETIME/REFCOUNT and COPY.
//!
//! OBJECT reads a key without counting an access. Encodings follow Redis's
//! names for strings (`int`, `embstr` up to 44 bytes, `raw`); a vector set
//! reports `raw`, as Redis does for module types. FREQ needs an LFU policy
//! and IDLETIME a non-LFU one, with Redis's errors otherwise (both are
//! tracked always; the errors keep clients' expectations).

use bytes::Bytes;
use vexlake_engine::keyspace::Value;
use vexlake_engine::keyspace::object::CopyRefused;
use vexlake_protocol::args::{is_keyword, parse_i64};

use super::table::{BASE, CommandSpec, RO, W_OOM};
use super::{CmdResult, Ctx};
use crate::config::MaxmemoryPolicy;
use crate::error::CmdError;

/// OBJECT and COPY.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "object",
        arity: -2,
        flags: &[],
        acl: &["@slow"],
        group: "generic",
        since: "2.2.3",
        summary: "A container for object introspection commands.",
        complexity: "Depends on subcommand.",
        syntax: "",
        subcommands: OBJECT_SUBCOMMANDS,
        ..BASE
    },
    CommandSpec {
        name: "copy",
        arity: -3,
        flags: W_OOM,
        keys: (1, 2, 1),
        acl: &["@keyspace", "@write", "@slow"],
        group: "generic",
        since: "6.2.0",
        summary: "Copies the value of a key to a new key.",
        complexity: "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.",
        syntax: "source:key destination:key [DB destination-db:integer] [REPLACE]",
        handler: copy,
        ..BASE
    },
];

const OBJ: CommandSpec = CommandSpec {
    arity: 3,
    flags: RO,
    keys: (2, 2, 1),
    acl: &["@keyspace", "@read", "@slow"],
    group: "generic",
    syntax: "key",
    ..BASE
};

static OBJECT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "object|encoding",
        since: "2.2.3",
        summary: "Returns the internal encoding of a Redis object.",
        handler: encoding,
        ..OBJ
    },
    CommandSpec {
        name: "object|freq",
        since: "4.0.0",
        summary: "Returns the logarithmic access frequency counter of a Redis object.",
        handler: freq,
        ..OBJ
    },
    CommandSpec {
        name: "object|idletime",
        since: "2.2.3",
        summary: "Returns the time since the last access to a Redis object.",
        handler: idletime,
        ..OBJ
    },
    CommandSpec {
        name: "object|refcount",
        since: "2.2.3",
        summary: "Returns the reference count of a value of a key.",
        handler: refcount,
        ..OBJ
    },
];

/// Redis's encoding name of `v`: its packed or table form for hashes,
/// sets and sorted sets (a packed set of integers is an `intset`); a list
/// counts as compact by the limits of `e` (`list-max-listpack-size`
/// entries, or, for a negative size class, up to 4 KB << (-size - 1)
/// bytes).
pub fn value_encoding(v: &Value, e: &crate::config::Encodings) -> &'static str {
    let fits = |n: usize, max: i64| (n as i64) <= max;
    match v {
        Value::Str(s) => string_encoding(s),
        Value::Hash(h) => match (h.is_packed(), h.volatile_len() > 0) {
            (true, true) => "listpackex",
            (true, false) => "listpack",
            (false, _) => "hashtable",
        },
        Value::Set(s) if s.is_packed() && s.all_integers() => "intset",
        Value::Set(s) if s.is_packed() => "listpack",
        Value::Set(_) => "hashtable",
        Value::List(l) => {
            let small = if e.list_size >= 0 {
                fits(l.len(), e.list_size)
            } else {
                let bytes: usize = l.iter().map(|m| m.len() + 2).sum();
                fits(bytes, 4096i64 << (-e.list_size - 1).clamp(0, 4))
            };
            if small { "listpack" } else { "quicklist" }
        }
        Value::ZSet(z) if z.is_packed() => "listpack",
        Value::ZSet(_) => "skiplist",
        Value::Stream(_) => "stream",
        Value::VectorSet(_) => "raw",
    }
}

/// Redis's encoding name of string `v`.
pub fn string_encoding(v: &[u8]) -> &'static str {
    if parse_i64(v).is_some() {
        "int"
    } else if v.len() <= 44 {
        "embstr"
    } else {
        "raw"
    }
}

fn lfu(ctx: &Ctx<'_>) -> bool {
    matches!(
        ctx.state.config().maxmemory_policy,
        MaxmemoryPolicy::AllKeysLfu | MaxmemoryPolicy::VolatileLfu
    )
}

/// OBJECT ENCODING key.
pub fn encoding(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match ctx.db().object(&args[2], ctx.now()) {
        Some(o) => ctx
            .out
            .bulk(value_encoding(&o.value, &ctx.state.config().encodings).as_bytes()),
        None => ctx.out.null(),
    }
    Ok(())
}

/// OBJECT FREQ key.
pub fn freq(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if !lfu(ctx) {
        return Err(CmdError::err(
            "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    match ctx.db().object(&args[2], ctx.now()) {
        Some(o) => ctx.out.int(i64::from(o.access.decayed_freq())),
        None => ctx.out.null(),
    }
    Ok(())
}

/// OBJECT IDLETIME key.
pub fn idletime(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if lfu(ctx) {
        return Err(CmdError::err(
            "An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    match ctx.db().object(&args[2], ctx.now()) {
        Some(o) => ctx.out.int(i64::from(o.access.idle_secs())),
        None => ctx.out.null(),
    }
    Ok(())
}

/// OBJECT REFCOUNT key: 1 (values are not shared between keys).
pub fn refcount(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match ctx.db().object(&args[2], ctx.now()) {
        Some(_) => ctx.out.int(1),
        None => ctx.out.null(),
    }
    Ok(())
}

/// COPY source destination [DB destination-db] [REPLACE].
pub fn copy(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut to_db = ctx.conn.db;
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        if is_keyword(&args[i], "replace") {
            replace = true;
        } else if is_keyword(&args[i], "db") && i + 1 < args.len() {
            i += 1;
            let n = super::int_arg(&args[i])?;
            if n < 0 || n as usize >= ctx.state.engine.databases() {
                return Err(CmdError::err("DB index is out of range"));
            }
            to_db = n as usize;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if to_db == ctx.conn.db && args[1] == args[2] {
        return Err(CmdError::err("source and destination objects are the same"));
    }
    let now = ctx.now();
    let to = ctx.state.engine.db(to_db);
    match ctx.db().copy_to(&args[1], to, &args[2], replace, now)? {
        Ok(true) => {
            ctx.state
                .notify_key(crate::notify::GENERIC, "copy_to", &args[2], to_db);
            if ctx.state.watches.active() && to_db != ctx.conn.db {
                ctx.state.watches.touch(to_db, [&args[2][..]]);
            }
            ctx.out.int(1);
        }
        Ok(false) => ctx.out.int(0),
        Err(CopyRefused::NotCopyable) => {
            return Err(CmdError::err("Copying module type object is not supported"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn string_encodings_match_redis() {
        use super::string_encoding as e;
        assert_eq!(e(b"12345"), "int");
        assert_eq!(e(b"-7"), "int");
        assert_eq!(e(b"007"), "embstr");
        assert_eq!(e(b"12345678901234567890"), "embstr");
        assert_eq!(e(&[b'a'; 44]), "embstr");
        assert_eq!(e(&[b'a'; 45]), "raw");
    }
}
