//! Clients blocked on keys (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP,
//! BZPOPMIN, BZPOPMAX, BZMPOP, XREAD and XREADGROUP with BLOCK).
//!
//! A blocking command that finds nothing to pop leaves a [`Block`] in its
//! connection; the connection then queues itself on each key (one FIFO
//! queue per database and key) and waits. A successful write command
//! *signals* its keys: the first client queued on the key is woken and
//! runs its command again. When it is served (or gives up: timeout,
//! CLIENT UNBLOCK, disconnect) it leaves every queue and signals its keys
//! again, which wakes the next client in line; a client woken for nothing
//! keeps its place. So the client blocked first is served first, and a
//! transaction's pushes are seen when EXEC has finished (the woken command
//! needs the engine's gate, which EXEC holds).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

/// What a blocking command that found nothing leaves in its connection.
#[derive(Debug, Clone)]
pub struct Block {
    /// The keys it waits on.
    pub keys: Vec<Bytes>,
    /// When it gives up (None: never).
    pub deadline: Option<Instant>,
    /// The reply on timeout is a null array (BLPOP, BLMPOP), else a null
    /// bulk (BLMOVE, BRPOPLPUSH).
    pub null_array: bool,
    /// The command to run again when woken, when it differs from the one
    /// that blocked (XREAD with `$` rewritten to the ID it stood for).
    pub args: Option<Vec<Bytes>>,
}

/// One blocked client.
struct Waiter {
    db: usize,
    keys: Vec<Bytes>,
    wake: Arc<Notify>,
    /// CLIENT UNBLOCK: (asked, with an error).
    unblock: Arc<Mutex<Option<bool>>>,
}

/// The queues of blocked clients.
#[derive(Default)]
pub struct Blocking {
    inner: Mutex<Inner>,
    /// Clients blocked now (INFO `blocked_clients`; signals are skipped
    /// while it is 0).
    count: AtomicUsize,
}

#[derive(Default)]
struct Inner {
    queues: HashMap<(usize, Bytes), VecDeque<u64>>,
    waiters: HashMap<u64, Waiter>,
}

/// A client's place in the queues, handed back by [`Blocking::block`].
pub struct Ticket {
    /// Woken when the client should try again.
    pub wake: Arc<Notify>,
    /// Set by CLIENT UNBLOCK (true: with an error).
    pub unblock: Arc<Mutex<Option<bool>>>,
}

impl Blocking {
    /// Whether any client is blocked.
    pub fn active(&self) -> bool {
        self.count.load(Ordering::Acquire) > 0
    }

    /// Clients blocked now.
    pub fn blocked(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Queues client `id` on `keys` of database `db`.
    pub fn block(&self, id: u64, db: usize, keys: &[Bytes]) -> Ticket {
        let mut g = self.inner.lock();
        let wake = Arc::new(Notify::new());
        let unblock = Arc::new(Mutex::new(None));
        for k in keys {
            let q = g.queues.entry((db, k.clone())).or_default();
            if !q.contains(&id) {
                q.push_back(id);
            }
        }
        g.waiters.insert(
            id,
            Waiter {
                db,
                keys: keys.to_vec(),
                wake: wake.clone(),
                unblock: unblock.clone(),
            },
        );
        self.count.store(g.waiters.len(), Ordering::Release);
        Ticket { wake, unblock }
    }

    /// Takes client `id` out of every queue, then wakes the next client on
    /// each of its keys (it may be served now).
    pub fn leave(&self, id: u64) {
        let mut g = self.inner.lock();
        let Some(w) = g.waiters.remove(&id) else {
            return;
        };
        self.count.store(g.waiters.len(), Ordering::Release);
        for k in &w.keys {
            let key = (w.db, k.clone());
            if let Some(q) = g.queues.get_mut(&key) {
                q.retain(|&x| x != id);
                if q.is_empty() {
                    g.queues.remove(&key);
                }
            }
        }
        for k in &w.keys {
            wake_head(&g, w.db, k);
        }
    }

    /// A write changed `key` of database `db`: wakes the first client
    /// queued on it.
    pub fn signal(&self, db: usize, key: &[u8]) {
        if !self.active() {
            return;
        }
        let g = self.inner.lock();
        wake_head(&g, db, key);
    }

    /// CLIENT UNBLOCK: wakes client `id` to give up (with an error when
    /// `error`); false when it is not blocked.
    pub fn unblock(&self, id: u64, error: bool) -> bool {
        let g = self.inner.lock();
        let Some(w) = g.waiters.get(&id) else {
            return false;
        };
        *w.unblock.lock() = Some(error);
        w.wake.notify_one();
        true
    }
}

fn wake_head(g: &Inner, db: usize, key: &[u8]) {
    let Some(q) = g.queues.get(&(db, Bytes::copy_from_slice(key))) else {
        return;
    };
    if let Some(w) = q.front().and_then(|id| g.waiters.get(id)) {
        w.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_blocked_client_is_woken_first_and_passes_the_turn() {
        let b = Blocking::default();
        let k = Bytes::from_static(b"k");
        let first = b.block(1, 0, std::slice::from_ref(&k));
        let second = b.block(2, 0, std::slice::from_ref(&k));
        assert_eq!(b.blocked(), 2);
        b.signal(0, b"k");
        tokio::time::timeout(std::time::Duration::from_secs(1), first.wake.notified())
            .await
            .expect("first woken");
        // The second is not woken until the first leaves.
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), second.wake.notified())
                .await
                .is_err()
        );
        b.leave(1);
        tokio::time::timeout(std::time::Duration::from_secs(1), second.wake.notified())
            .await
            .expect("second woken after the first left");
        assert!(b.unblock(2, true));
        assert_eq!(*second.unblock.lock(), Some(true));
        b.leave(2);
        assert!(!b.active());
        assert!(!b.unblock(2, false));
        // Another database's key of the same name wakes nobody.
        let third = b.block(3, 1, std::slice::from_ref(&k));
        b.signal(0, b"k");
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), third.wake.notified())
                .await
                .is_err()
        );
    }
}
