//! CONFIG GET, SET, RESETSTAT and REWRITE.
//!
//! CONFIG SET changes the options listed in [`MUTABLE`] at run time, all
//! pairs of one call or none (Redis's rule); the others are fixed at start
//! (`-ERR ... can't set immutable config`). CONFIG REWRITE writes the
//! current values into the config file the server started from.

use bytes::Bytes;

use super::table::{ADMIN, BASE, CommandSpec};
use super::{CmdResult, Ctx};
use crate::config::{Config, NAMES};
use crate::error::CmdError;

/// Options CONFIG SET may change while the server runs.
pub const MUTABLE: &[&str] = &[
    "requirepass",
    "appendfsync",
    "maxclients",
    "timeout",
    "protected-mode",
    "slowlog-log-slower-than",
    "slowlog-max-len",
    "busy-reply-threshold",
    "lua-time-limit",
    "client-output-buffer-limit",
    "notify-keyspace-events",
    "maxmemory",
    "maxmemory-policy",
    "maxmemory-samples",
    "flush-size",
    "flush-vector-inserts",
    "default-vset",
    "hash-max-listpack-entries",
    "hash-max-listpack-value",
    "set-max-intset-entries",
    "set-max-listpack-entries",
    "set-max-listpack-value",
    "zset-max-listpack-entries",
    "zset-max-listpack-value",
    "list-max-listpack-size",
    "vset-force-single-threaded-execution",
];

/// CONFIG and its subcommands.
pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "config",
    arity: -2,
    flags: &[],
    acl: &["@slow"],
    group: "server",
    since: "2.0.0",
    summary: "A container for server configuration commands.",
    complexity: "Depends on subcommand.",
    syntax: "",
    subcommands: SUBCOMMANDS,
    ..BASE
}];

static SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "config|get",
        arity: -3,
        flags: ADMIN,
        acl: &["@admin", "@slow", "@dangerous"],
        group: "server",
        since: "2.0.0",
        summary: "Returns the effective values of configuration parameters.",
        complexity: "O(N) when N is the number of configuration parameters provided",
        syntax: "parameter:pattern...",
        handler: get,
        ..BASE
    },
    CommandSpec {
        name: "config|set",
        arity: -4,
        flags: ADMIN,
        acl: &["@admin", "@slow", "@dangerous"],
        group: "server",
        since: "2.0.0",
        summary: "Sets configuration parameters in-flight.",
        complexity: "O(N) when N is the number of configuration parameters provided",
        syntax: "(parameter value)...",
        handler: set,
        ..BASE
    },
    CommandSpec {
        name: "config|resetstat",
        arity: 2,
        flags: ADMIN,
        acl: &["@admin", "@slow", "@dangerous"],
        group: "server",
        since: "2.0.0",
        summary: "Resets the server's statistics.",
        syntax: "",
        handler: resetstat,
        ..BASE
    },
    CommandSpec {
        name: "config|rewrite",
        arity: 2,
        flags: ADMIN,
        acl: &["@admin", "@slow", "@dangerous"],
        group: "server",
        since: "2.8.0",
        summary: "Persists the effective configuration to file.",
        syntax: "",
        handler: rewrite,
        ..BASE
    },
];

/// CONFIG GET pattern [pattern ...]: a map of matching names to values.
pub fn get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut found: Vec<(&'static str, String)> = Vec::new();
    let config = ctx.state.config();
    for pattern in &args[2..] {
        for (name, value) in config.matching(pattern) {
            if !found.iter().any(|(n, _)| *n == name) {
                found.push((name, value));
            }
        }
    }
    drop(config);
    ctx.out.map(found.len());
    for (name, value) in found {
        ctx.out.bulk(name.as_bytes());
        ctx.out.bulk(value.as_bytes());
    }
    Ok(())
}

fn failed(name: &str, why: &str) -> CmdError {
    CmdError::err(format!(
        "CONFIG SET failed (possibly related to argument '{name}') - {why}"
    ))
}

/// CONFIG SET parameter value [parameter value ...].
pub fn set(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let pairs = &args[2..];
    if !pairs.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity("config|set"));
    }
    let mut next: Config = ctx.state.config().clone();
    let mut seen: Vec<String> = Vec::new();
    for pair in pairs.chunks(2) {
        let name = String::from_utf8_lossy(&pair[0]).to_ascii_lowercase();
        if !NAMES.contains(&name.as_str()) {
            return Err(CmdError::err(format!(
                "Unknown option or number of arguments for CONFIG SET - '{name}'"
            )));
        }
        if !MUTABLE.contains(&name.as_str()) {
            return Err(failed(&name, "can't set immutable config"));
        }
        let canonical = if name == "lua-time-limit" {
            "busy-reply-threshold".to_string()
        } else {
            name.clone()
        };
        if seen.contains(&canonical) {
            return Err(failed(&name, "duplicate parameter"));
        }
        seen.push(canonical);
        let value = String::from_utf8_lossy(&pair[1]).into_owned();
        let values: Vec<String> = if name == "client-output-buffer-limit" {
            value.split_ascii_whitespace().map(String::from).collect()
        } else {
            vec![value]
        };
        next.set(&name, &values).map_err(|e| failed(&name, &e))?;
    }
    next.validate().map_err(|e| failed(&seen[0], &e))?;
    apply(ctx.state, &next).map_err(|e| failed(&seen[0], &e))?;
    ctx.state.replace_config(next);
    ctx.out.ok();
    Ok(())
}

/// Hands new values to the parts that keep their own copy.
fn apply(state: &crate::server::ServerState, next: &Config) -> Result<(), String> {
    let current = state.config().clone();
    if next.requirepass != current.requirepass {
        let rules: Vec<String> = match &next.requirepass {
            Some(pw) => vec!["resetpass".into(), format!(">{pw}")],
            None => vec!["nopass".into()],
        };
        state.acl.set_user("default", &rules)?;
    }
    if next.appendfsync != current.appendfsync
        && let Some(wal) = state.engine.wal()
    {
        wal.set_policy(crate::lake::fsync_policy(next.appendfsync));
    }
    state
        .scripts
        .running
        .set_threshold(next.busy_reply_threshold);
    state.notify.set(next.notify_keyspace_events);
    state.pubsub.set_limit(next.output_limit_pubsub);
    state.evictor.configure(next);
    Ok(())
}

/// CONFIG RESETSTAT: zeroes the counters INFO reports (stats, command
/// and error statistics, keyspace hits/misses/expired).
pub fn resetstat(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.state.stats.reset();
    ctx.state.cmdstats.reset();
    ctx.state.engine.reset_stats();
    ctx.out.ok();
    Ok(())
}

/// CONFIG REWRITE: rewrites the config file with the current values: a
/// line of an option is replaced in place (later repeats dropped), comments
/// and unknown lines are kept, options changed from their defaults and not
/// in the file are appended.
pub fn rewrite(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let config = ctx.state.config().clone();
    let Some(path) = config.config_file.clone() else {
        return Err(CmdError::err("The server is running without a config file"));
    };
    let text = std::fs::read(&path).unwrap_or_default();
    let new = rewritten(&text, &config);
    let tmp = path.with_extension("rewrite.tmp");
    std::fs::write(&tmp, new)
        .and_then(|_| std::fs::rename(&tmp, &path))
        .map_err(|e| CmdError::err(format!("Rewriting config file: {e}")))?;
    ctx.out.ok();
    Ok(())
}

/// `text` with every option's line showing `config`'s value.
pub fn rewritten(text: &[u8], config: &Config) -> String {
    let defaults = Config::default();
    let mut written: Vec<&str> = Vec::new();
    let mut out = String::new();
    for line in String::from_utf8_lossy(text).lines() {
        let word = line
            .split_ascii_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let known = NAMES
            .iter()
            .find(|n| **n == word && !matches!(**n, "save" | "appendonly"));
        match known {
            Some(name) if written.contains(name) => {}
            Some(name) => {
                written.push(name);
                out.push_str(&line_for(name, config));
                out.push('\n');
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    for name in NAMES {
        if written.contains(name) || matches!(*name, "save" | "appendonly" | "lua-time-limit") {
            continue;
        }
        // `storage` defaults to a path under `dir`: compare the setting.
        let changed = if *name == "storage" {
            config.storage != defaults.storage
        } else {
            config.get(name) != defaults.get(name)
        };
        if changed {
            out.push_str(&line_for(name, config));
            out.push('\n');
        }
    }
    out
}

fn line_for(name: &str, config: &Config) -> String {
    let value = config.get(name).unwrap_or_default();
    let multi = matches!(name, "bind" | "client-output-buffer-limit");
    if multi && !value.is_empty() {
        format!("{name} {value}")
    } else {
        format!("{name} {}", quote(&value))
    }
}

fn quote(v: &str) -> String {
    if !v.is_empty()
        && !v
            .bytes()
            .any(|c| c.is_ascii_whitespace() || c == b'"' || c == b'\'')
    {
        return v.to_string();
    }
    let mut q = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            _ => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrite_replaces_in_place_and_appends_changes() {
        let mut c = Config::default();
        c.set("maxclients", &["77".into()]).unwrap();
        c.set("requirepass", &["a b".into()]).unwrap();
        c.set("notify-keyspace-events", &["KEA".into()]).unwrap();
        let text = b"# mine\nport 6379\nmaxclients 10\nmaxclients 11\nunknown-thing 3\n";
        let out = rewritten(text, &c);
        assert_eq!(
            out,
            "# mine\nport 6379\nmaxclients 77\nunknown-thing 3\nrequirepass \"a b\"\nnotify-keyspace-events AKE\n"
        );
        let mut back = Config::default();
        back.apply_file(out.replace("unknown-thing 3\n", "").as_bytes())
            .unwrap();
        assert_eq!(back.requirepass.as_deref(), Some("a b"));
        assert_eq!(back.maxclients, 77);
        assert_eq!(back.notify_keyspace_events, c.notify_keyspace_events);
    }
}
