//! What changed in the keyspace since the last commit: the input of an
//! incremental flush.
//!
//! Every shard records the keys inserted, changed or removed since the
//! changes were last taken (see `keyspace::shard`). [`Engine::take_changes`]
//! takes them with every shard of every database locked, so the result is
//! exactly the state after WAL record `seq`, and its cost follows the
//! number of changed keys. A FLUSHDB/FLUSHALL since the last take makes it
//! a *full* capture (every live key) instead: the commit then writes a new
//! base rather than a delta.
//!
//! Vector sets are listed whole (key, set object, expiry) whether or not
//! they changed: their contents carry their own change tracking, read
//! later under each set's lock. The caller names the sets it committed
//! last time (`known_sets`); together with the changed keys that hold a
//! set now, that is every live set, found without walking the keyspace.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;

use crate::Engine;
use crate::keyspace::{SharedSet, Value};

/// The changes taken by [`Engine::take_changes`].
#[derive(Debug, Default)]
pub struct Changes {
    /// Every WAL record up to here is reflected.
    pub seq: u64,
    /// A database was emptied since the last take: `upserts` holds every
    /// live string key and `removed` is empty (write a new base).
    pub full: bool,
    /// String and collection keys written since the last take: (db, key,
    /// value, expiry); never a vector set.
    pub upserts: Vec<(u32, Bytes, Value, Option<u64>)>,
    /// Keys that no longer hold a string or collection: (db, key).
    pub removed: Vec<(u32, Bytes)>,
    /// Every live vector set: (db, key, set, expiry).
    pub sets: Vec<(u32, Bytes, SharedSet, Option<u64>)>,
    /// The function libraries as of `seq`.
    pub functions: Arc<Vec<crate::functions::Library>>,
}

impl Changes {
    /// Nothing changed at key level.
    pub fn is_empty(&self) -> bool {
        !self.full && self.upserts.is_empty() && self.removed.is_empty()
    }
}

impl Engine {
    /// Takes the changes recorded since the last call (see the module
    /// doc). `known_sets` are the (db, key) of the sets of the last commit.
    pub fn take_changes(&self, known_sets: &[(u32, Bytes)]) -> Changes {
        // Never in the middle of a transaction: its record is not written yet.
        let _gate = self.gate.read_recursive();
        let now = self.now_ms();
        // Before the position: a library change is logged and applied
        // under this lock, so it is either in `functions` or after `seq`.
        let functions = self.functions().read();
        let mut guards: Vec<_> = self.dbs.iter().map(|db| db.lock_all()).collect();
        let seq = self.wal().map_or(0, |w| w.written_seq());
        let full = guards.iter().flatten().any(|s| s.was_cleared());
        let mut out = Changes {
            seq,
            full,
            functions: functions.1.clone(),
            ..Changes::default()
        };
        drop(functions);
        let mut seen: HashSet<(u32, Bytes)> = HashSet::new();
        let mut add_set = |out: &mut Changes, db: u32, key: &Bytes, v: &Value, exp: Option<u64>| {
            if let Value::VectorSet(set) = v
                && exp.is_none_or(|t| t > now)
                && seen.insert((db, key.clone()))
            {
                out.sets.push((db, key.clone(), set.clone(), exp));
            }
        };
        for (db, shards) in guards.iter_mut().enumerate() {
            let db = db as u32;
            for s in shards.iter_mut() {
                let taken = s.take_changes();
                if full {
                    continue;
                }
                for (key, value, exp) in taken.upserts {
                    match &value {
                        Value::VectorSet(_) => {
                            add_set(&mut out, db, &key, &value, exp);
                            out.removed.push((db, key));
                        }
                        _ => out.upserts.push((db, key, value, exp)),
                    }
                }
                out.removed
                    .extend(taken.removed.into_iter().map(|k| (db, k)));
            }
        }
        if full {
            for (db, shards) in guards.iter().enumerate() {
                let db = db as u32;
                for s in shards {
                    for e in s.iter_live(now) {
                        match &e.value {
                            Value::VectorSet(_) => {
                                add_set(&mut out, db, &e.key, &e.value, e.expire_at)
                            }
                            v => out
                                .upserts
                                .push((db, e.key.clone(), v.clone(), e.expire_at)),
                        }
                    }
                }
            }
            return out;
        }
        for (db, key) in known_sets {
            let Some(d) = self.dbs.get(*db as usize) else {
                continue;
            };
            let (shard, hash) = d.place(key);
            if let Some(e) = guards[*db as usize][shard].peek(hash, key) {
                add_set(&mut out, *db, &e.key, &e.value, e.expire_at);
            }
        }
        out
    }

    /// Hands back changes whose commit failed: their keys count as changed
    /// again (keys changed meanwhile already do).
    pub fn give_back(&self, changes: &Changes) {
        if changes.full {
            // Force the next take to be full again.
            if let Some(db) = self.dbs.first() {
                db.lock_all()[0].mark_cleared();
            }
            return;
        }
        for (db, key) in changes
            .upserts
            .iter()
            .map(|(d, k, _, _)| (d, k))
            .chain(changes.removed.iter().map(|(d, k)| (d, k)))
        {
            if let Some(d) = self.dbs.get(*db as usize) {
                d.mark_changed(key);
            }
        }
    }

    /// Forgets every recorded change (after loading committed state).
    pub fn forget_changes(&self) {
        for db in &self.dbs {
            db.forget_changes();
        }
    }
}
