//! The command table. Each entry gives what Redis's COMMAND reports (arity,
//! flags, key positions, ACL categories), what COMMAND DOCS reports (group,
//! since, summary, argument syntax) and the handler.
//!
//! `syntax` uses a small grammar documented in [`super::docs`]: lowercase
//! words are arguments (`name:type` to give a type), uppercase words are
//! tokens, `[...]` optional, `(a | b)` one of, `...` after an item = repeated.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::{
    Handler, acl, bitmaps, client, command, config, connection, debug, dump, functions, geo,
    hashes, hyperloglog, info, keys, latency, lcs, list_blocking, lists, memory, object,
    persistence, pubsub, replication, scripting, server, sets, slowlog, sort, sql, streams,
    strings, tracking, transactions, vectors, zsets,
};

/// One command (or subcommand, named `container|sub`).
#[derive(Debug)]
pub struct CommandSpec {
    /// Lowercase full name (`get`, `client|setname`).
    pub name: &'static str,
    /// Redis arity: exact count if positive, minimum count if negative.
    pub arity: i32,
    /// Redis command flags (`write`, `readonly`, `fast`, `no_auth`, ...).
    pub flags: &'static [&'static str],
    /// First key, last key, step (COMMAND INFO).
    pub keys: (i32, i32, i32),
    /// ACL categories (`@read`, `@string`, ...).
    pub acl: &'static [&'static str],
    /// Documentation group (`string`, `generic`, `connection`, `server`).
    pub group: &'static str,
    /// Redis version that introduced the command.
    pub since: &'static str,
    /// One-line description.
    pub summary: &'static str,
    /// Time complexity.
    pub complexity: &'static str,
    /// Arguments after the name (after the subcommand for subcommands).
    pub syntax: &'static str,
    /// The implementation.
    pub handler: Handler,
    /// Subcommands of a container command.
    pub subcommands: &'static [CommandSpec],
}

impl CommandSpec {
    /// The part after `|` for subcommands, else the name.
    pub fn sub_name(&self) -> &'static str {
        self.name.split_once('|').map_or(self.name, |(_, s)| s)
    }
}

fn no_handler(_: &mut super::Ctx<'_>, _: &[bytes::Bytes]) -> super::CmdResult {
    Err(crate::error::CmdError::Syntax)
}

pub(crate) const BASE: CommandSpec = CommandSpec {
    name: "",
    arity: 1,
    flags: &[],
    keys: (0, 0, 0),
    acl: &[],
    group: "generic",
    since: "1.0.0",
    summary: "",
    complexity: "O(1)",
    syntax: "",
    handler: no_handler,
    subcommands: &[],
};

pub(crate) const K1: (i32, i32, i32) = (1, 1, 1);
const KALL: (i32, i32, i32) = (1, -1, 1);
pub(crate) const RO_FAST: &[&str] = &["readonly", "fast"];
pub(crate) const RO: &[&str] = &["readonly"];
pub(crate) const W_OOM: &[&str] = &["write", "denyoom"];
const W_OOM_FAST: &[&str] = &["write", "denyoom", "fast"];
pub(crate) const W_FAST: &[&str] = &["write", "fast"];
pub(crate) const W: &[&str] = &["write"];
const CONN_FAST: &[&str] = &["noscript", "loading", "stale", "fast"];
const CONN_NOAUTH: &[&str] = &[
    "noscript",
    "loading",
    "stale",
    "fast",
    "no_auth",
    "allow_busy",
];
pub(crate) const ADMIN: &[&str] = &["admin", "noscript", "loading", "stale"];

const EXPIRE_SYNTAX: &str = "key seconds:integer [NX | XX | GT | LT]";

/// The connection, server, key and string commands.
pub static COMMANDS: &[CommandSpec] = &[
    // Connection
    CommandSpec {
        name: "ping",
        arity: -1,
        flags: &["fast"],
        acl: &["@fast", "@connection"],
        group: "connection",
        summary: "Returns the server's liveliness response.",
        syntax: "[message]",
        handler: connection::ping,
        ..BASE
    },
    CommandSpec {
        name: "echo",
        arity: 2,
        flags: &["fast"],
        acl: &["@fast", "@connection"],
        group: "connection",
        summary: "Returns the given string.",
        syntax: "message",
        handler: connection::echo,
        ..BASE
    },
    CommandSpec {
        name: "hello",
        arity: -1,
        flags: CONN_NOAUTH,
        acl: &["@fast", "@connection"],
        group: "connection",
        since: "6.0.0",
        summary: "Handshakes with the server: selects the protocol, authenticates, names the connection.",
        syntax: "[protover:integer [AUTH username password] [SETNAME clientname]]",
        handler: connection::hello,
        ..BASE
    },
    CommandSpec {
        name: "auth",
        arity: -2,
        flags: CONN_NOAUTH,
        acl: &["@fast", "@connection"],
        group: "connection",
        summary: "Authenticates the connection.",
        syntax: "[username] password",
        complexity: "O(N) where N is the number of passwords defined for the user",
        handler: connection::auth,
        ..BASE
    },
    CommandSpec {
        name: "select",
        arity: 2,
        flags: &["loading", "stale", "fast"],
        acl: &["@fast", "@connection"],
        group: "connection",
        summary: "Changes the selected database.",
        syntax: "index:integer",
        handler: connection::select,
        ..BASE
    },
    CommandSpec {
        name: "quit",
        arity: -1,
        flags: CONN_NOAUTH,
        acl: &["@fast", "@connection"],
        group: "connection",
        summary: "Closes the connection.",
        syntax: "",
        handler: connection::quit,
        ..BASE
    },
    CommandSpec {
        name: "reset",
        arity: 1,
        flags: CONN_NOAUTH,
        acl: &["@fast", "@connection"],
        group: "connection",
        since: "6.2.0",
        summary: "Resets the connection.",
        syntax: "",
        handler: connection::reset,
        ..BASE
    },
    CommandSpec {
        name: "monitor",
        arity: 1,
        flags: &["admin", "noscript", "loading", "stale", "no_multi"],
        acl: &["@admin", "@slow", "@dangerous"],
        group: "server",
        since: "1.0.0",
        summary: "Listens for all requests received by the server in real-time.",
        syntax: "",
        handler: connection::monitor,
        ..BASE
    },
    CommandSpec {
        name: "client",
        arity: -2,
        flags: &[],
        acl: &["@slow"],
        group: "connection",
        summary: "A container for client connection commands.",
        complexity: "Depends on subcommand.",
        syntax: "",
        subcommands: CLIENT_SUBCOMMANDS,
        ..BASE
    },
    // Server
    CommandSpec {
        name: "info",
        arity: -1,
        flags: &["loading", "stale"],
        acl: &["@slow", "@dangerous"],
        group: "server",
        summary: "Returns information and statistics about the server.",
        syntax: "[section...]",
        handler: info::info,
        ..BASE
    },
    CommandSpec {
        name: "command",
        arity: -1,
        flags: &["loading", "stale"],
        acl: &["@slow", "@connection"],
        group: "server",
        since: "2.8.13",
        summary: "Returns detailed information about all commands.",
        complexity: "O(N) where N is the total number of commands",
        syntax: "",
        handler: command::command,
        subcommands: COMMAND_SUBCOMMANDS,
        ..BASE
    },
    CommandSpec {
        name: "dbsize",
        arity: 1,
        flags: RO_FAST,
        acl: &["@keyspace", "@read", "@fast"],
        group: "server",
        summary: "Returns the number of keys in the database.",
        syntax: "",
        handler: server::dbsize,
        ..BASE
    },
    CommandSpec {
        name: "flushdb",
        arity: -1,
        flags: W,
        acl: &["@keyspace", "@write", "@slow", "@dangerous"],
        group: "server",
        summary: "Removes all keys from the current database.",
        complexity: "O(N) where N is the number of keys in the selected database",
        syntax: "[ASYNC | SYNC]",
        handler: server::flushdb,
        ..BASE
    },
    CommandSpec {
        name: "flushall",
        arity: -1,
        flags: W,
        acl: &["@keyspace", "@write", "@slow", "@dangerous"],
        group: "server",
        summary: "Removes all keys from all databases.",
        complexity: "O(N) where N is the total number of keys in all databases",
        syntax: "[ASYNC | SYNC]",
        handler: server::flushall,
        ..BASE
    },
    CommandSpec {
        name: "lolwut",
        arity: -1,
        flags: &["readonly", "fast"],
        acl: &["@read", "@fast"],
        group: "server",
        since: "5.0.0",
        summary: "Displays computer art and the server version.",
        complexity: "O(N)",
        syntax: "[VERSION version:integer] [columns [squares [rows]]]",
        handler: server::lolwut,
        ..BASE
    },
    CommandSpec {
        name: "time",
        arity: 1,
        flags: &["loading", "stale", "fast"],
        acl: &["@fast"],
        group: "server",
        since: "2.6.0",
        summary: "Returns the server time.",
        syntax: "",
        handler: server::time,
        ..BASE
    },
    CommandSpec {
        name: "shutdown",
        arity: -1,
        flags: &[
            "admin",
            "noscript",
            "loading",
            "stale",
            "no_multi",
            "allow_busy",
        ],
        acl: &["@admin", "@slow", "@dangerous"],
        group: "server",
        summary: "Stops the server after the connected clients' replies are sent.",
        complexity: "O(N) where N is the number of connected clients",
        syntax: "[NOSAVE | SAVE] [NOW] [FORCE] [ABORT]",
        handler: server::shutdown,
        ..BASE
    },
    // Generic keys
    CommandSpec {
        name: "del",
        arity: -2,
        flags: W,
        keys: KALL,
        acl: &["@keyspace", "@write", "@slow"],
        summary: "Deletes one or more keys.",
        complexity: "O(N) where N is the number of keys that will be removed",
        syntax: "key...",
        handler: keys::del,
        ..BASE
    },
    CommandSpec {
        name: "unlink",
        arity: -2,
        flags: W_FAST,
        keys: KALL,
        acl: &["@keyspace", "@write", "@fast"],
        since: "4.0.0",
        summary: "Deletes one or more keys (memory is reclaimed right away here too).",
        complexity: "O(1) for each key removed",
        syntax: "key...",
        handler: keys::del,
        ..BASE
    },
    CommandSpec {
        name: "exists",
        arity: -2,
        flags: RO_FAST,
        keys: KALL,
        acl: &["@keyspace", "@read", "@fast"],
        summary: "Determines whether one or more keys exist.",
        complexity: "O(N) where N is the number of keys to check",
        syntax: "key...",
        handler: keys::exists,
        ..BASE
    },
    CommandSpec {
        name: "touch",
        arity: -2,
        flags: RO_FAST,
        keys: KALL,
        acl: &["@keyspace", "@read", "@fast"],
        since: "3.2.1",
        summary: "Returns the number of existing keys out of those specified (an access: idle time is not tracked yet).",
        complexity: "O(N) where N is the number of keys that will be touched.",
        syntax: "key...",
        handler: keys::exists,
        ..BASE
    },
    CommandSpec {
        name: "wait",
        arity: 3,
        acl: &["@slow", "@connection"],
        since: "3.0.0",
        summary: "Waits for replicas to acknowledge the writes: 0 at once (lake replicas follow the lake, they do not acknowledge).",
        syntax: "numreplicas:integer timeout:integer",
        handler: keys::wait,
        ..BASE
    },
    CommandSpec {
        name: "type",
        arity: 2,
        flags: RO_FAST,
        keys: K1,
        acl: &["@keyspace", "@read", "@fast"],
        summary: "Determines the type of value stored at a key.",
        syntax: "key",
        handler: keys::key_type,
        ..BASE
    },
    CommandSpec {
        name: "expire",
        arity: -3,
        flags: W_FAST,
        keys: K1,
        acl: &["@keyspace", "@write", "@fast"],
        summary: "Sets the expiration time of a key in seconds.",
        syntax: EXPIRE_SYNTAX,
        handler: keys::expire,
        ..BASE
    },
    CommandSpec {
        name: "pexpire",
        arity: -3,
        flags: W_FAST,
        keys: K1,
        acl: &["@keyspace", "@write", "@fast"],
        since: "2.6.0",
        summary: "Sets the expiration time of a key in milliseconds.",
        syntax: "key milliseconds:integer [NX | XX | GT | LT]",
        handler: keys::pexpire,
        ..BASE
    },
    CommandSpec {
        name: "expireat",
        arity: -3,
        flags: W_FAST,
        keys: K1,
        acl: &["@keyspace", "@write", "@fast"],
        since: "1.2.0",
        summary: "Sets the expiration time of a key to a Unix timestamp.",
        syntax: "key unix-time-seconds:unix-time [NX | XX | GT | LT]",
        handler: keys::expireat,
        ..BASE
    },
    CommandSpec {
        name: "pexpireat",
        arity: -3,
        flags: W_FAST,
        keys: K1,
        acl: &["@keyspace", "@write", "@fast"],
        since: "2.6.0",
        summary: "Sets the expiration time of a key to a Unix milliseconds timestamp.",
        syntax: "key unix-time-milliseconds:unix-time [NX | XX | GT | LT]",
        handler: keys::pexpireat,
        ..BASE
    },
    CommandSpec {
        name: "expiretime",
        arity: 2,
        flags: RO_FAST,
        keys: K1,
        acl: &["@keyspace", "@read", "@fast"],
        since: "7.0.0",
        summary: "Returns the expiration time of a key as a Unix timestamp.",
        syntax: "key",
        handler: keys::expiretime,
        ..BASE
    },
    CommandSpec {
        name: "pexpiretime",
        arity: 2,
        flags: RO_FAST,
        keys: K1,
        acl: &["@keyspace", "@read", "@fast"],
        since: "7.0.0",
        summary: "Returns the expiration time of a key as a Unix milliseconds timestamp.",
        syntax: "key",
        handler: keys::pexpiretime,
        ..BASE
    },
    CommandSpec {
        name: "ttl",
        arity: 2,
        flags: RO_FAST,
        keys: K1,
        acl: &["@keyspace", "@read", "@fast"],
        summary: "Returns the expiration time in seconds of a key.",
        syntax: "key",
        handler: keys::ttl,
        ..BASE
    },
    CommandSpec {
        name: "pttl",
        arity: 2,
        flags: RO_FAST,
        keys: K1,
        acl: &["@keyspace", "@read", "@fast"],
        since: "2.6.0",
        summary: "Returns the expiration time in milliseconds of a key.",
        syntax: "key",
        handler: keys::pttl,
        ..BASE
    },
    CommandSpec {
        name: "persist",
        arity: 2,
        flags: W_FAST,
        keys: K1,
        acl: &["@keyspace", "@write", "@fast"],
        since: "2.2.0",
        summary: "Removes the expiration time of a key.",
        syntax: "key",
        handler: keys::persist,
        ..BASE
    },
    CommandSpec {
        name: "keys",
        arity: 2,
        flags: RO,
        acl: &["@keyspace", "@read", "@slow", "@dangerous"],
        summary: "Returns all key names that match a pattern.",
        complexity: "O(N) with N being the number of keys in the database",
        syntax: "pattern:pattern",
        handler: keys::keys,
        ..BASE
    },
    CommandSpec {
        name: "scan",
        arity: -2,
        flags: RO,
        acl: &["@keyspace", "@read", "@slow"],
        since: "2.8.0",
        summary: "Iterates over the key names in the database.",
        complexity: "O(1) for every call. O(N) for a complete iteration.",
        syntax: "cursor:integer [MATCH pattern:pattern] [COUNT count:integer] [TYPE type]",
        handler: keys::scan,
        ..BASE
    },
    CommandSpec {
        name: "rename",
        arity: 3,
        flags: W,
        keys: (1, 2, 1),
        acl: &["@keyspace", "@write", "@slow"],
        summary: "Renames a key and overwrites the destination.",
        syntax: "key newkey:key",
        handler: keys::rename,
        ..BASE
    },
    CommandSpec {
        name: "renamenx",
        arity: 3,
        flags: W_FAST,
        keys: (1, 2, 1),
        acl: &["@keyspace", "@write", "@fast"],
        summary: "Renames a key only when the target key name doesn't exist.",
        syntax: "key newkey:key",
        handler: keys::renamenx,
        ..BASE
    },
    CommandSpec {
        name: "randomkey",
        arity: 1,
        flags: RO,
        acl: &["@keyspace", "@read", "@slow"],
        summary: "Returns a random key name from the database.",
        syntax: "",
        handler: keys::randomkey,
        ..BASE
    },
    // Strings
    CommandSpec {
        name: "get",
        arity: 2,
        flags: RO_FAST,
        keys: K1,
        acl: &["@read", "@string", "@fast"],
        group: "string",
        summary: "Returns the string value of a key.",
        syntax: "key",
        handler: strings::get,
        ..BASE
    },
    CommandSpec {
        name: "set",
        arity: -3,
        flags: W_OOM,
        keys: K1,
        acl: &["@write", "@string", "@slow"],
        group: "string",
        summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
        syntax: "key value [NX | XX | IFEQ match-value | IFNE match-value | IFDEQ match-digest | IFDNE match-digest] [GET] [EX seconds:integer | PX milliseconds:integer | EXAT unix-time-seconds:unix-time | PXAT unix-time-milliseconds:unix-time | KEEPTTL]",
        handler: strings::set,
        ..BASE
    },
    CommandSpec {
        name: "getex",
        arity: -2,
        flags: W_FAST,
        keys: K1,
        acl: &["@write", "@string", "@fast"],
        group: "string",
        since: "6.2.0",
        summary: "Returns the string value of a key after setting its expiration time.",
        syntax: "key [EX seconds:integer | PX milliseconds:integer | EXAT unix-time-seconds:unix-time | PXAT unix-time-milliseconds:unix-time | PERSIST]",
        handler: strings::getex,
        ..BASE
    },
    CommandSpec {
        name: "getset",
        arity: 3,
        flags: W_OOM_FAST,
        keys: K1,
        acl: &["@write", "@string", "@fast"],
        group: "string",
        summary: "Returns the previous string value of a key after setting it to a new value (removing its TTL).",
        syntax: "key value",
        handler: strings::getset,
        ..BASE
    },
    CommandSpec {
        name: "getdel",
        arity: 2,
        flags: W_FAST,
        keys: K1,
        acl: &["@write", "@string", "@fast"],
        group: "string",
        since: "6.2.0",
        summary: "Returns the string value of a key after deleting the key.",
        syntax: "key",
        handler: strings::getdel,
        ..BASE
    },
    CommandSpec {
        name: "setex",
        arity: 4,
        flags: W_OOM,
        keys: K1,
        acl: &["@write", "@string", "@slow"],
        group: "string",
        since: "2.0.0",
        summary: "Sets the string value and expiration time of a key.",
        syntax: "key seconds:integer value",
        handler: strings::setex,
        ..BASE
    },
    CommandSpec {
        name: "psetex",
        arity: 4,
        flags: W_OOM,
        keys: K1,
        acl: &["@write", "@string", "@slow"],
        group: "string",
        since: "2.6.0",
        summary: "Sets both string value and expiration time in milliseconds of a key.",
        syntax: "key milliseconds:integer value",
        handler: strings::psetex,
        ..BASE
    },
    CommandSpec {
        name: "setnx",
        arity: 3,
        flags: W_OOM_FAST,
        keys: K1,
        acl: &["@write", "@string", "@fast"],
        group: "string",
        summary: "Set the string value of a key only when the key doesn't exist.",
        syntax: "key value",
        handler: strings::setnx,
        ..BASE
    },
    CommandSpec {
        name: "mget",
        arity: -2,
        flags: RO_FAST,
        keys: KALL,
        acl: &["@read", "@string", "@fast"],
        group: "string",
        summary: "Atomically returns the string values of one or more keys.",
        complexity: "O(N) where N is the number of keys to retrieve.",
        syntax: "key...",
        handler: strings::mget,
        ..BASE
    },
    CommandSpec {
        name: "mset",
        arity: -3,
        flags: W_OOM,
        keys: (1, -1, 2),
        acl: &["@write", "@string", "@slow"],
        group: "string",
        since: "1.0.1",
        summary: "Atomically creates or modifies the string values of one or more keys.",
        complexity: "O(N) where N is the number of keys to set.",
        syntax: "(key value)...",
        handler: strings::mset,
        ..BASE
    },
    CommandSpec {
        name: "msetnx",
        arity: -3,
        flags: W_OOM,
        keys: (1, -1, 2),
        acl: &["@write", "@string", "@slow"],
        group: "string",
        since: "1.0.1",
        summary: "Atomically modifies the string values of one or more keys only when all keys don't exist.",
        complexity: "O(N) where N is the number of keys to set.",
        syntax: "(key value)...",
        handler: strings::msetnx,
        ..BASE
    },
    CommandSpec {
        name: "incr",
        arity: 2,
        flags: W_OOM_FAST,
        keys: K1,
        acl: &["@write", "@string", "@fast"],
        group: "string",
        summary: "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
        syntax: "key",
        handler: strings::incr,
        ..BASE
    },
    CommandSpec {
        name: "incrby",
        arity: 3,
        flags: W_OOM_FAST,
        keys: K1,
        acl: &["@write", "@string", "@fast"],
        group: "string",
        summary: "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
        syntax: "key increment:integer",
        handler: strings::incrby,
        ..BASE
    },
    CommandSpec {
        name: "decr",
        arity: 2,
        flags: W_OOM_FAST,
        keys: K1,
        acl: &["@write", "@string", "@fast"],
        group: "string",
        summary: "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
        syntax: "key",
        handler: strings::decr,
        ..BASE
    },
    CommandSpec {
        name: "decrby",
        arity: 3,
        flags: W_OOM_FAST,
        keys: K1,
        acl: &["@write", "@string", "@fast"],
        group: "string",
        summary: "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.",
        syntax: "key decrement:integer",
        handler: strings::decrby,
        ..BASE
    },
    CommandSpec {
        name: "incrbyfloat",
        arity: 3,
        flags: W_OOM_FAST,
        keys: K1,
        acl: &["@write", "@string", "@fast"],
        group: "string",
        since: "2.6.0",
        summary: "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
        syntax: "key increment:double",
        handler: strings::incrbyfloat,
        ..BASE
    },
    CommandSpec {
        name: "append",
        arity: 3,
        flags: W_OOM_FAST,
        keys: K1,
        acl: &["@write", "@string", "@fast"],
        group: "string",
        since: "2.0.0",
        summary: "Appends a string to the value of a key. Creates the key if it doesn't exist.",
        syntax: "key value",
        handler: strings::append,
        ..BASE
    },
    CommandSpec {
        name: "strlen",
        arity: 2,
        flags: RO_FAST,
        keys: K1,
        acl: &["@read", "@string", "@fast"],
        group: "string",
        since: "2.2.0",
        summary: "Returns the length of a string value.",
        syntax: "key",
        handler: strings::strlen,
        ..BASE
    },
    CommandSpec {
        name: "getrange",
        arity: 4,
        flags: RO,
        keys: K1,
        acl: &["@read", "@string", "@slow"],
        group: "string",
        since: "2.4.0",
        summary: "Returns a substring of the string stored at a key.",
        complexity: "O(N) where N is the length of the returned string.",
        syntax: "key start:integer end:integer",
        handler: strings::getrange,
        ..BASE
    },
    CommandSpec {
        name: "digest",
        arity: 2,
        flags: RO_FAST,
        keys: K1,
        acl: &["@read", "@string", "@fast"],
        group: "string",
        since: "8.4.0",
        summary: "Returns the XXH3 hash of a string value.",
        complexity: "O(N) where N is the length of the string value.",
        syntax: "key",
        handler: strings::digest_cmd,
        ..BASE
    },
    CommandSpec {
        name: "delex",
        arity: -2,
        flags: W_FAST,
        keys: K1,
        acl: &["@write", "@string", "@fast"],
        group: "string",
        since: "8.4.0",
        summary: "Conditionally removes the specified key based on value or digest comparison.",
        complexity: "O(1) for IFEQ/IFNE, O(N) for IFDEQ/IFDNE where N is the length of the string value.",
        syntax: "key [IFEQ match-value | IFNE match-value | IFDEQ match-digest | IFDNE match-digest]",
        handler: strings::delex,
        ..BASE
    },
    CommandSpec {
        name: "msetex",
        arity: -4,
        flags: &["write", "denyoom", "movablekeys"],
        acl: &["@write", "@string", "@slow"],
        group: "string",
        since: "8.4.0",
        summary: "Atomically sets multiple string keys with a shared expiration in a single operation.",
        complexity: "O(N) where N is the number of keys to set.",
        syntax: "numkeys:integer key value [key value ...] [NX | XX] [EX seconds:integer | PX milliseconds:integer | EXAT unix-time-seconds:unix-time | PXAT unix-time-milliseconds:unix-time | KEEPTTL]",
        handler: strings::msetex,
        ..BASE
    },
    CommandSpec {
        name: "substr",
        arity: 4,
        flags: RO,
        keys: K1,
        acl: &["@read", "@string", "@slow"],
        group: "string",
        since: "1.0.0",
        summary: "Returns a substring from a string value (GETRANGE's old name).",
        complexity: "O(N) where N is the length of the returned string.",
        syntax: "key start:integer end:integer",
        handler: strings::getrange,
        ..BASE
    },
    CommandSpec {
        name: "setrange",
        arity: 4,
        flags: W_OOM,
        keys: K1,
        acl: &["@write", "@string", "@slow"],
        group: "string",
        since: "2.2.0",
        summary: "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.",
        syntax: "key offset:integer value",
        handler: strings::setrange,
        ..BASE
    },
];

static CLIENT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "client|id",
        arity: 2,
        flags: CONN_FAST,
        acl: &["@slow", "@connection"],
        group: "connection",
        since: "5.0.0",
        summary: "Returns the unique client ID of the connection.",
        syntax: "",
        handler: client::id,
        ..BASE
    },
    CommandSpec {
        name: "client|getname",
        arity: 2,
        flags: CONN_FAST,
        acl: &["@slow", "@connection"],
        group: "connection",
        since: "2.6.9",
        summary: "Returns the name of the connection.",
        syntax: "",
        handler: client::getname,
        ..BASE
    },
    CommandSpec {
        name: "client|unblock",
        arity: -3,
        flags: &["admin", "noscript", "loading", "stale"],
        acl: &["@admin", "@slow", "@dangerous", "@connection"],
        group: "connection",
        since: "5.0.0",
        summary: "Unblocks a client blocked by a blocking command from a different connection.",
        complexity: "O(log N) where N is the number of client connections",
        syntax: "client-id:integer [TIMEOUT | ERROR]",
        handler: client::unblock,
        ..BASE
    },
    CommandSpec {
        name: "client|setname",
        arity: 3,
        flags: CONN_FAST,
        acl: &["@slow", "@connection"],
        group: "connection",
        since: "2.6.9",
        summary: "Sets the connection name.",
        syntax: "connection-name",
        handler: client::setname,
        ..BASE
    },
    CommandSpec {
        name: "client|setinfo",
        arity: 4,
        flags: CONN_FAST,
        acl: &["@slow", "@connection"],
        group: "connection",
        since: "7.2.0",
        summary: "Sets information specific to the client or connection.",
        syntax: "(LIB-NAME libname | LIB-VER libver)",
        handler: client::setinfo,
        ..BASE
    },
    CommandSpec {
        name: "client|list",
        arity: -2,
        flags: &["admin", "noscript", "loading", "stale"],
        acl: &["@admin", "@slow", "@dangerous", "@connection"],
        group: "connection",
        since: "2.4.0",
        summary: "Lists open connections.",
        complexity: "O(N) where N is the number of client connections",
        syntax: "[TYPE (NORMAL | MASTER | REPLICA | PUBSUB)] [ID client-id:integer...]",
        handler: client::list,
        ..BASE
    },
    CommandSpec {
        name: "client|info",
        arity: 2,
        flags: CONN_FAST,
        acl: &["@slow", "@connection"],
        group: "connection",
        since: "6.2.0",
        summary: "Returns information about the connection.",
        syntax: "",
        handler: client::info,
        ..BASE
    },
    CommandSpec {
        name: "client|reply",
        arity: 3,
        flags: &["noscript", "loading", "stale"],
        acl: &["@slow", "@connection"],
        group: "connection",
        since: "3.2.0",
        summary: "Instructs the server whether to reply to commands.",
        syntax: "(ON | OFF | SKIP)",
        handler: client::reply,
        ..BASE
    },
    CommandSpec {
        name: "client|no-touch",
        arity: 3,
        flags: &["noscript", "loading", "stale"],
        acl: &["@slow", "@connection"],
        group: "connection",
        since: "7.2.0",
        summary: "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.",
        syntax: "(ON | OFF)",
        handler: client::no_touch,
        ..BASE
    },
    CommandSpec {
        name: "client|no-evict",
        arity: 3,
        flags: &["admin", "noscript", "loading", "stale"],
        acl: &["@admin", "@slow", "@dangerous", "@connection"],
        group: "connection",
        since: "7.0.0",
        summary: "Sets the client eviction mode of the connection.",
        syntax: "(ON | OFF)",
        handler: client::no_evict,
        ..BASE
    },
    CommandSpec {
        name: "client|kill",
        arity: -3,
        flags: &["admin", "noscript", "loading", "stale"],
        acl: &["@admin", "@slow", "@dangerous", "@connection"],
        group: "connection",
        since: "2.4.0",
        summary: "Terminates open connections.",
        complexity: "O(N) where N is the number of client connections",
        syntax: "(ip:port | [ID client-id:integer] [TYPE (NORMAL | MASTER | SLAVE | REPLICA | PUBSUB)] [USER username] [ADDR ip:port] [LADDR ip:port] [SKIPME (YES | NO)] [MAXAGE maxage:integer])",
        handler: client::kill,
        ..BASE
    },
    CommandSpec {
        name: "client|pause",
        arity: -3,
        flags: &["admin", "noscript", "loading", "stale"],
        acl: &["@admin", "@slow", "@dangerous", "@connection"],
        group: "connection",
        since: "3.0.0",
        summary: "Suspends commands processing.",
        syntax: "timeout:integer [WRITE | ALL]",
        handler: client::pause,
        ..BASE
    },
    CommandSpec {
        name: "client|unpause",
        arity: 2,
        flags: &["admin", "noscript", "loading", "stale"],
        acl: &["@admin", "@slow", "@dangerous", "@connection"],
        group: "connection",
        since: "6.2.0",
        summary: "Resumes processing commands from paused clients.",
        complexity: "O(N) Where N is the number of paused clients",
        syntax: "",
        handler: client::unpause,
        ..BASE
    },
    CommandSpec {
        name: "client|tracking",
        arity: -3,
        flags: &["noscript", "loading", "stale"],
        acl: &["@slow", "@connection"],
        group: "connection",
        since: "6.0.0",
        summary: "Controls server-assisted client-side caching for the connection.",
        syntax: "(ON | OFF) [REDIRECT client-id:integer] [PREFIX prefix...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]",
        handler: tracking::tracking,
        ..BASE
    },
    CommandSpec {
        name: "client|caching",
        arity: 3,
        flags: &["noscript", "loading", "stale"],
        acl: &["@slow", "@connection"],
        group: "connection",
        since: "6.0.0",
        summary: "Instructs the server whether to track the keys in the next request.",
        syntax: "(YES | NO)",
        handler: tracking::caching,
        ..BASE
    },
    CommandSpec {
        name: "client|getredir",
        arity: 2,
        flags: &["noscript", "loading", "stale"],
        acl: &["@slow", "@connection"],
        group: "connection",
        since: "6.0.0",
        summary: "Returns the client ID to which the connection's tracking notifications are redirected.",
        syntax: "",
        handler: tracking::getredir,
        ..BASE
    },
    CommandSpec {
        name: "client|trackinginfo",
        arity: 2,
        flags: &["noscript", "loading", "stale"],
        acl: &["@slow", "@connection"],
        group: "connection",
        since: "6.0.0",
        summary: "Returns information about server-assisted client-side caching for the connection.",
        syntax: "",
        handler: tracking::trackinginfo,
        ..BASE
    },
];

static COMMAND_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "command|count",
        arity: 2,
        flags: &["loading", "stale"],
        acl: &["@slow", "@connection"],
        group: "server",
        since: "2.8.13",
        summary: "Returns a count of commands.",
        syntax: "",
        handler: command::count,
        ..BASE
    },
    CommandSpec {
        name: "command|info",
        arity: -2,
        flags: &["loading", "stale"],
        acl: &["@slow", "@connection"],
        group: "server",
        since: "2.8.13",
        summary: "Returns information about one, multiple or all commands.",
        complexity: "O(N) where N is the number of commands to look up",
        syntax: "[command-name...]",
        handler: command::info,
        ..BASE
    },
    CommandSpec {
        name: "command|docs",
        arity: -2,
        flags: &["loading", "stale"],
        acl: &["@slow", "@connection"],
        group: "server",
        since: "7.0.0",
        summary: "Returns documentary information about one, multiple or all commands.",
        complexity: "O(N) where N is the number of commands to look up",
        syntax: "[command-name...]",
        handler: command::docs,
        ..BASE
    },
    CommandSpec {
        name: "command|list",
        arity: -2,
        flags: &["loading", "stale"],
        acl: &["@slow", "@connection"],
        group: "server",
        since: "7.0.0",
        summary: "Returns a list of command names.",
        complexity: "O(N) where N is the total number of commands",
        syntax: "[FILTERBY (MODULE module-name | ACLCAT category | PATTERN pattern:pattern)]",
        handler: command::list,
        ..BASE
    },
    CommandSpec {
        name: "command|getkeys",
        arity: -3,
        flags: &["loading", "stale"],
        acl: &["@slow", "@connection"],
        group: "server",
        since: "2.8.13",
        summary: "Extracts the key names from an arbitrary command.",
        complexity: "O(N) where N is the number of arguments to the command",
        syntax: "command [arg...]",
        handler: command::getkeys,
        ..BASE
    },
];

/// Command groups declared outside this file, next to their handlers.
static GROUPS: &[&[CommandSpec]] = &[
    COMMANDS,
    hashes::COMMANDS,
    sets::COMMANDS,
    lists::COMMANDS,
    list_blocking::COMMANDS,
    zsets::COMMANDS,
    geo::COMMANDS,
    streams::COMMANDS,
    bitmaps::COMMANDS,
    hyperloglog::COMMANDS,
    sort::COMMANDS,
    acl::COMMANDS,
    vectors::COMMANDS,
    persistence::COMMANDS,
    sql::COMMANDS,
    slowlog::COMMANDS,
    transactions::COMMANDS,
    scripting::COMMANDS,
    replication::COMMANDS,
    functions::COMMANDS,
    pubsub::COMMANDS,
    config::COMMANDS,
    object::COMMANDS,
    dump::COMMANDS,
    lcs::COMMANDS,
    debug::COMMANDS,
    memory::COMMANDS,
    latency::COMMANDS,
];

/// Every top-level command, in table order.
pub fn all() -> impl Iterator<Item = &'static CommandSpec> {
    GROUPS.iter().flat_map(|g| g.iter())
}

static BY_NAME: LazyLock<HashMap<&'static str, &'static CommandSpec>> =
    LazyLock::new(|| all().map(|c| (c.name, c)).collect());

/// Finds a command or subcommand by its full name (`get`, `config|get`).
pub fn lookup_full(name: &str) -> Option<&'static CommandSpec> {
    match name.split_once('|') {
        None => lookup(name.as_bytes()),
        Some((container, _)) => lookup(container.as_bytes())?
            .subcommands
            .iter()
            .find(|s| s.name == name),
    }
}

/// Finds a top-level command by name, case-insensitively.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut buf = [0u8; 32];
    if name.len() > buf.len() {
        return None;
    }
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    let lower = std::str::from_utf8(lower).ok()?;
    BY_NAME.get(lower).copied()
}
