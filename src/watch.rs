//! WATCH: which connections watch which keys, and invalidating them.
//!
//! A connection's WATCH registers its flag under each (database, key). A
//! write command that succeeded touches its keys (the command table's key
//! positions): every flag registered there is set, and the watcher's EXEC
//! then fails with a null reply. FLUSHDB/FLUSHALL touch every watched key
//! of the databases they empty. A key that existed when watched and is gone
//! at EXEC (expired, evicted) fails the EXEC too; that check is
//! [`WatchList::expired`]'s. With nobody watching, touching costs one
//! atomic load.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use bytes::Bytes;
use parking_lot::Mutex;
use vexlake_engine::Engine;

/// The flags of the connections watching each (database, key).
type Watchers = HashMap<(usize, Bytes), Vec<Weak<AtomicBool>>>;

/// Every watched key of every connection.
#[derive(Debug, Default)]
pub struct Watches {
    /// Registered (connection, key) pairs.
    count: AtomicUsize,
    keys: Mutex<Watchers>,
}

impl Watches {
    /// True when some connection watches a key.
    pub fn active(&self) -> bool {
        self.count.load(Ordering::Relaxed) > 0
    }

    /// Sets the flag of every connection watching one of `keys` in `db`.
    pub fn touch<'a>(&self, db: usize, keys: impl IntoIterator<Item = &'a [u8]>) {
        if !self.active() {
            return;
        }
        let map = self.keys.lock();
        for key in keys {
            if let Some(flags) = map.get(&(db, Bytes::copy_from_slice(key))) {
                set_all(flags);
            }
        }
    }

    /// Sets the flag of every connection watching a key of `db` (every
    /// database when None): FLUSHDB, FLUSHALL.
    pub fn touch_db(&self, db: Option<usize>) {
        if !self.active() {
            return;
        }
        for ((d, _), flags) in self.keys.lock().iter() {
            if db.is_none_or(|db| db == *d) {
                set_all(flags);
            }
        }
    }

    fn add(&self, db: usize, key: &Bytes, flag: &Arc<AtomicBool>) {
        self.keys
            .lock()
            .entry((db, key.clone()))
            .or_default()
            .push(Arc::downgrade(flag));
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn remove(&self, db: usize, key: &Bytes, flag: &Arc<AtomicBool>) {
        let mut map = self.keys.lock();
        let k = (db, key.clone());
        if let Some(flags) = map.get_mut(&k) {
            let before = flags.len();
            flags.retain(|f| !std::ptr::eq(f.as_ptr(), Arc::as_ptr(flag)));
            self.count
                .fetch_sub(before - flags.len(), Ordering::Relaxed);
            if flags.is_empty() {
                map.remove(&k);
            }
        }
    }
}

fn set_all(flags: &[Weak<AtomicBool>]) {
    for f in flags.iter().filter_map(Weak::upgrade) {
        f.store(true, Ordering::Relaxed);
    }
}

/// The keys one connection watches; unregisters them when dropped.
#[derive(Debug)]
pub struct WatchList {
    registry: Arc<Watches>,
    /// Set when a watched key was touched.
    touched: Arc<AtomicBool>,
    /// (db, key, existed when watched).
    keys: Vec<(usize, Bytes, bool)>,
}

impl WatchList {
    /// An empty list registering in `registry`.
    pub fn new(registry: Arc<Watches>) -> Self {
        WatchList {
            registry,
            touched: Arc::new(AtomicBool::new(false)),
            keys: Vec::new(),
        }
    }

    /// Watches `key` of `db` (once, however often it is named).
    pub fn watch(&mut self, db: usize, key: &Bytes, exists: bool) {
        if self.keys.iter().any(|(d, k, _)| *d == db && k == key) {
            return;
        }
        self.registry.add(db, key, &self.touched);
        self.keys.push((db, key.clone(), exists));
    }

    /// Number of watched keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no key is watched.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// True when a watched key was written since it was watched, or
    /// existed then and is gone now (expired or evicted).
    pub fn broken(&self, engine: &Engine) -> bool {
        if self.touched.load(Ordering::Relaxed) {
            return true;
        }
        let now = engine.now_ms();
        self.keys.iter().any(|(db, key, existed)| {
            *existed && engine.db(*db).exists(std::slice::from_ref(key), now) == 0
        })
    }
}

impl Drop for WatchList {
    fn drop(&mut self) {
        for (db, key, _) in &self.keys {
            self.registry.remove(*db, key, &self.touched);
        }
    }
}
