//! Write-ahead log: acknowledged writes are appended here, made durable per
//! `appendfsync`, and replayed on restart. On local disk by default
//! (segment files); with `--wal-storage object`, as objects in the lake.
//! The byte layouts are in [`record`], [`object`] and docs/storage-format.md.
//!
//! # Layout
//! - [`record`]: one checksummed record.
//! - [`segment`]: segment file names and listing.
//! - [`object`]: one WAL object (a group commit's records) in the lake.
//! - [`log`]: [`Wal`]: append, group commit, recovery, truncation.

pub mod log;
pub mod object;
pub mod record;
pub mod segment;

pub use log::{FsyncPolicy, ObjectSink, ObjectTarget, SinkError, Wal, WalConfig, WalError};

#[cfg(test)]
mod tests;
