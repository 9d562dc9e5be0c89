//! One WAL record for many commands: a transaction (EXEC) or a script.
//!
//! [`Engine::atomically`](crate::Engine::atomically) runs a closure with the
//! engine's gate held exclusively (no other command, and no commit, runs
//! meanwhile) and a batch open on this thread. Every change the closure's
//! commands log ([`Db::log`](crate::Db::log)) is added to the batch instead
//! of being written; when the closure returns, the batch is written as one
//! record. After a crash the whole transaction is there or none of it.
//!
//! Changes are applied in memory as the commands run, before the record is
//! written, as a single command's are applied before its fsync: if the
//! write fails, the WAL is failed (no further write is accepted) and the
//! transaction's replies are not sent.
//!
//! A command in the batch is told the sequence number the record will get
//! (nothing else can append meanwhile), so a vector set's `applied_seq`
//! is right for commits that follow.

use std::cell::RefCell;

use super::op::{Op, RecordBuf};

struct Batch {
    rec: Option<RecordBuf>,
    db: u8,
    seq: u64,
}

thread_local! {
    static BATCH: RefCell<Option<Batch>> = const { RefCell::new(None) };
}

/// Opens a batch on this thread whose record will get sequence `seq`.
pub(crate) fn open(seq: u64) {
    BATCH.with(|b| {
        *b.borrow_mut() = Some(Batch {
            rec: None,
            db: 0,
            seq,
        })
    });
}

/// Closes this thread's batch; returns its record (None when nothing was
/// logged).
pub(crate) fn close() -> Option<RecordBuf> {
    BATCH.with(|b| b.borrow_mut().take().and_then(|b| b.rec))
}

/// Adds what `build` logs for database `db` to this thread's open batch
/// and returns the sequence its record will get; gives `build` back when
/// no batch is open.
pub(crate) fn add<F: FnOnce(&mut RecordBuf)>(db: u8, build: F) -> Result<u64, F> {
    BATCH.with(|b| {
        let mut b = b.borrow_mut();
        let Some(batch) = b.as_mut() else {
            return Err(build);
        };
        match &mut batch.rec {
            None => {
                batch.rec = Some(RecordBuf::new(db));
                batch.db = db;
            }
            Some(rec) if batch.db != db => {
                rec.push(&Op::Select { db });
                batch.db = db;
            }
            Some(_) => {}
        }
        build(batch.rec.as_mut().expect("record started"));
        Ok(batch.seq)
    })
}

/// Closes the batch when dropped (also when the closure panics).
pub(crate) struct Closer;

impl Drop for Closer {
    fn drop(&mut self) {
        BATCH.with(|b| b.borrow_mut().take());
    }
}
