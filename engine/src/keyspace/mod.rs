//! The keyspace: numbered databases of keys with optional expiry.
//!
//! # Layout
//! - [`access`]: last access and access frequency of each key (LRU/LFU).
//! - [`object`]: OBJECT, COPY and RESTORE on whole values.
//! - [`evict`]: picking and removing keys under `maxmemory`.
//! - [`db`]: [`Db`], one database of sharded keys; generic key commands
//!   (DEL, EXPIRE, RENAME, SCAN, ...).
//! - [`strings`]: string commands on a [`Db`] (GET, SET, INCR, APPEND, ...).
//! - `shard`: the slab + hash table + expiry index inside each shard.
//! - [`value`]: [`Value`], what a key holds.
//! - [`hash`], [`set`], [`list`], [`zset`]: the collection values;
//!   [`packed`]: the one-buffer form of small ones (Redis's listpack).
//! - [`hll`]: HyperLogLog registers in a string (PFADD, PFCOUNT).
//! - [`edit`]: changes to collections as logged edits ([`Db::edit`]).
//! - [`vsets`]: finding or creating the vector set at a key.

pub mod access;
pub mod db;
pub mod edit;
pub mod evict;
pub mod hash;
pub mod hll;
pub mod list;
pub mod object;
pub mod packed;
pub mod set;
mod shard;
pub mod stream;
pub mod strings;
pub mod value;
pub mod vsets;
pub mod zset;

pub use db::{Db, ExpireCond, SHARDS, Ttl};
pub use edit::{Edit, Edits, rebuild};
pub use shard::Expired;
pub(crate) use shard::ExpiredHook;
pub use strings::{SetCond, SetOptions, SetOutcome, SetTtl, TtlChange, ValueCond, digest};
pub use value::{Kind, Value};
pub use vsets::{SharedSet, next_set_uid, note_set_uid, set_from_params};
