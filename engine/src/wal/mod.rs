//! Write-ahead log on local disk (never on object storage): acknowledged
//! writes are appended here, made durable per `appendfsync`, and replayed on
//! restart. The byte layout is in [`record`] and docs/storage-format.md.
//!
//! # Layout
//! - [`record`]: one checksummed record.
//! - [`segment`]: segment file names and listing.
//! - [`log`]: [`Wal`]: append, group commit, recovery, truncation.

pub mod log;
pub mod record;
pub mod segment;

pub use log::{FsyncPolicy, Wal, WalConfig, WalError};

#[cfg(test)]
mod tests;
