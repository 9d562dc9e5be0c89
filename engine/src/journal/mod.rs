//! The journal: every change to the engine's state is written to the WAL as
//! one record per command, under the lock that orders it, before it is
//! applied; restart replays the records after the last commit.
//!
//! Ordering: key-level changes (SET, DEL, RENAME, EXPIRE, creating a vector
//! set, ...) are logged while their shard locks are held, so records of one
//! key are in the order the changes happened. Changes inside a vector set
//! (VADD, VREM, VSETATTR) are logged under the set's write lock and name the
//! set by its unique id rather than by key: they apply to that set object
//! wherever it is (renamed, or already deleted), exactly as they did in
//! memory.
//!
//! Replay runs before any client connects, with expiry switched off (time
//! 0), because records hold absolute deadlines; keys whose deadline has
//! passed are removed by the normal expiry afterwards.
//!
//! A transaction or script is one record for all its commands: see
//! [`batch`].
//!
//! # Layout
//! - [`batch`]: many commands' changes as one record.
//! - [`op`]: the operations and their byte encoding.
//! - [`replay`]: applying records to an [`Engine`](crate::Engine).

pub(crate) mod batch;
pub mod op;
pub mod replay;

use std::sync::{Arc, OnceLock};

pub use op::{Op, RecordBuf, SetParams};
pub use replay::{Replayer, recover};

use crate::wal::Wal;

/// Where the databases find the WAL once recovery is done (empty before
/// and when persistence is off).
pub type JournalSlot = Arc<OnceLock<Arc<Wal>>>;
