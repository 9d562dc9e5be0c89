//! VexLake: a Redis-protocol server for caching keys, vector sets and SQL
//! over open storage formats.
//!
//! This crate is the server: it accepts connections, turns bytes into
//! commands with `vexlake-protocol`, runs them against `vexlake-engine`, and
//! writes the replies.
//!
//! # Layout
//! - [`config`]: Redis-style configuration (config file + `--name value`).
//! - [`server`]: shared state, listeners, accept loop, shutdown, expiry task.
//! - [`cluster`]: the Ballista scheduler and executor subcommands
//!   (`sql-engine ballista://...`).
//! - [`lake`]: starting as the lake's writer or a replica; heartbeat and
//!   follower tasks.
//! - [`connection`]: the per-connection read → parse → execute → write loop.
//! - [`cmd`]: command table and one module per command family.
//! - [`client`]: registry of connected clients (CLIENT LIST / INFO).
//! - [`watch`]: WATCH: watched keys and their invalidation.
//! - [`blocking`]: clients blocked on keys (BLPOP ...) and their queues.
//! - [`script`]: the Lua interpreter behind EVAL.
//! - [`pubsub`]: Pub/Sub subscriptions and message delivery.
//! - [`monitor`]: MONITOR's feed of every command.
//! - [`tracking`]: CLIENT TRACKING (client-side caching invalidation).
//! - [`notify`]: keyspace notifications (`notify-keyspace-events`).
//! - [`stats`]: counters for INFO.
//! - [`memory`]: heap accounting (the counting global allocator).
//! - [`evict`]: `maxmemory` and its eviction policies.
//! - [`cmdstats`]: per-command calls, time, latency histogram, error codes.
//! - [`slowlog`]: the SLOWLOG entries.
//! - [`error`]: command errors and their Redis texts (the one mapping place).
//!
//! # Request path
//! ```text
//! TCP ─► server::accept_loop ─► connection::handle
//!        ─► vexlake_protocol::RequestParser (bytes → args)
//!        ─► cmd::execute (lookup, arity, auth) ─► cmd::<family>::<command>
//!        ─► vexlake_engine::Engine ─► Db ─► Shard
//!        ─► vexlake_protocol::ReplyBuf (RESP2/RESP3) ─► TCP
//! ```

pub mod acl;
pub mod blocking;
pub mod client;
pub mod cluster;
pub mod cmd;
pub mod cmdstats;
pub mod config;
pub mod connection;
pub mod error;
pub mod evict;
pub mod lake;
pub mod memory;
pub mod metrics;
pub mod monitor;
pub mod notify;
pub mod pubsub;
pub mod script;
pub mod server;
pub mod slowlog;
pub mod stats;
pub mod tls;
pub mod tracking;
pub mod watch;
