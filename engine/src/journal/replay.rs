//! Applying WAL records to an engine at startup.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use bytes::Bytes;
use parking_lot::RwLock;

use super::op::{self, Op};
use crate::Engine;
use crate::keyspace::{ExpireCond, SharedSet, Value, note_set_uid, set_from_params};
use crate::vector::VectorSet;
use crate::vector::hnsw::LinkRecord;

/// Replays records in sequence order. Expiry is off during replay (time 0):
/// records carry absolute deadlines, and what has expired is removed by the
/// normal expiry once the server runs.
pub struct Replayer {
    engine: Arc<Engine>,
    /// Every vector set by uid, so set records reach their set wherever it
    /// is (a set deleted or renamed after the record still gets it, as it
    /// did in memory).
    sets: HashMap<u64, Weak<RwLock<VectorSet>>>,
    /// Per loaded set, the last record its snapshot already contains.
    covered: HashMap<u64, u64>,
    /// Every set loaded or created, with where it was put.
    placed: Vec<(usize, Bytes, Weak<RwLock<VectorSet>>)>,
    /// Records applied.
    pub applied: u64,
    /// Logged VADDs of new elements placed by their link records, and those
    /// inserted with a full search (no record, or one that did not fit).
    pub relinked: u64,
    pub reinserted: u64,
}

const NOW: u64 = 0;

impl Replayer {
    /// A replayer for `engine`; sets already loaded (from a snapshot) are
    /// registered with [`Replayer::register`].
    pub fn new(engine: Arc<Engine>) -> Self {
        Replayer {
            engine,
            sets: HashMap::new(),
            covered: HashMap::new(),
            placed: Vec::new(),
            applied: 0,
            relinked: 0,
            reinserted: 0,
        }
    }

    /// Applies later records to `engine` instead (a replica that loaded a
    /// version into a fresh engine and moved its contents into `engine`:
    /// the sets are the same objects).
    pub fn set_engine(&mut self, engine: Arc<Engine>) {
        self.engine = engine;
    }

    /// Makes a loaded set (stored at `key` of database `db`) reachable by
    /// its uid.
    pub fn register(&mut self, db: usize, key: &[u8], set: &SharedSet) {
        let g = set.read();
        note_set_uid(g.uid());
        self.covered.insert(g.uid(), g.applied_seq);
        self.sets.insert(g.uid(), Arc::downgrade(set));
        self.placed
            .push((db, Bytes::copy_from_slice(key), Arc::downgrade(set)));
    }

    /// After replay: deletes keys left holding an empty vector set (created
    /// for an insert whose own record could not be written). Redis never
    /// has empty vector sets. Returns how many were removed.
    pub fn drop_empty_sets(&mut self) -> usize {
        let mut n = 0;
        for (db, key, weak) in self.placed.drain(..) {
            let Some(set) = weak.upgrade() else { continue };
            let mut g = set.write();
            if g.is_empty() {
                g.dead = true;
                drop(g);
                self.engine.db(db).vset_delete_if_same(&key, &set, NOW);
                n += 1;
            }
        }
        n
    }

    /// The set `uid`, unless it is gone or its snapshot covers `seq`.
    fn set(&self, uid: u64, seq: u64) -> Option<SharedSet> {
        if self.covered.get(&uid).is_some_and(|&c| seq <= c) {
            return None;
        }
        self.sets.get(&uid).and_then(Weak::upgrade)
    }

    /// Applies one record (sequence `seq`).
    pub fn apply(&mut self, seq: u64, record: &[u8]) -> Result<(), String> {
        let (db, ops) = op::decode(record).map_err(|e| e.to_string())?;
        // A replica's readers see a transaction's record whole or not at all.
        let engine = self.engine.clone();
        let _gate = engine.exclusive();
        let mut db = db as usize;
        let databases = self.engine.databases();
        let check = |db: usize| {
            if db >= databases {
                return Err(format!("database {db} does not exist"));
            }
            Ok(())
        };
        check(db)?;
        for o in ops {
            if let Op::Select { db: next } = o {
                db = next as usize;
                check(db)?;
                continue;
            }
            self.apply_op(db, seq, o)?;
        }
        self.applied += 1;
        Ok(())
    }

    /// Puts `set`, created or loaded by record `seq`, at `key` of
    /// database `dbi`.
    fn place_set(&mut self, dbi: usize, key: &[u8], mut set: VectorSet, seq: u64) {
        set.applied_seq = seq;
        let uid = set.uid();
        let set = Arc::new(RwLock::new(set));
        note_set_uid(uid);
        self.sets.insert(uid, Arc::downgrade(&set));
        self.placed
            .push((dbi, Bytes::copy_from_slice(key), Arc::downgrade(&set)));
        self.engine
            .db(dbi)
            .put(key, Value::VectorSet(set), None, NOW);
    }

    fn apply_op(&mut self, dbi: usize, seq: u64, o: Op<'_>) -> Result<(), String> {
        let engine = self.engine.clone();
        let db = engine.db(dbi);
        let str_value = |b: &[u8]| Value::Str(Bytes::copy_from_slice(b));
        match o {
            Op::Set {
                key,
                value,
                expire_at,
            } => db.put(key, str_value(value), expire_at, NOW),
            Op::SetKeepTtl { key, value } => db.put_keep_ttl(key, str_value(value), NOW),
            Op::Append { key, data } => {
                db.append(key, data, usize::MAX, NOW)
                    .map_err(|e| e.to_string())?;
            }
            Op::SetRange { key, offset, data } => {
                db.setrange(key, offset as usize, data, usize::MAX, NOW)
                    .map_err(|e| e.to_string())?;
            }
            Op::Del { key } => {
                db.del(&[Bytes::copy_from_slice(key)], NOW)
                    .map_err(|e| e.to_string())?;
            }
            Op::Expire {
                key,
                expire_at: Some(at),
            } => {
                db.expire(key, at.max(1), ExpireCond::Always, NOW)
                    .map_err(|e| e.to_string())?;
            }
            Op::Expire {
                key,
                expire_at: None,
            } => {
                db.persist(key, NOW).map_err(|e| e.to_string())?;
            }
            Op::Rename { src, dst } => {
                // A missing source cannot happen in a consistent log; the
                // rename is then a no-op, as it would have been an error.
                let _ = db.rename(src, dst, false, NOW);
            }
            Op::FlushDb => db.flush().map_err(|e| e.to_string())?,
            Op::FlushAll => engine.flush_all().map_err(|e| e.to_string())?,
            Op::VCreate { key, uid, params } => {
                let set = set_from_params(uid, &params)
                    .ok_or_else(|| format!("bad vector-set parameters {params:?}"))?;
                self.place_set(dbi, key, set, seq);
            }
            Op::VLoad { key, set } => {
                let set = VectorSet::from_index_file(set).map_err(|e| e.to_string())?;
                self.place_set(dbi, key, set, seq);
            }
            Op::VAdd {
                uid,
                ef,
                element,
                vector,
                attributes,
                links,
            } => {
                if let Some(set) = self.set(uid, seq) {
                    let mut g = set.write();
                    let v: Vec<f32> = vector
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect();
                    let attributes = attributes.map(Bytes::copy_from_slice);
                    // A logged link record re-links without a search; one
                    // that does not fit (or none) inserts.
                    let relinked = match links.and_then(LinkRecord::decode) {
                        Some(rec) => g.add_linked(element, v, attributes, &rec, ef as usize),
                        None => {
                            g.add(element, v, attributes, ef as usize);
                            false
                        }
                    };
                    if relinked {
                        self.relinked += 1;
                    } else {
                        self.reinserted += 1;
                    }
                    g.applied_seq = seq;
                }
            }
            Op::VRem { key, uid, element } => {
                if let Some(set) = self.set(uid, seq) {
                    let mut g = set.write();
                    g.remove(element);
                    g.applied_seq = seq;
                    if g.is_empty() {
                        g.dead = true;
                        drop(g);
                        db.vset_delete_if_same(key, &set, NOW);
                    }
                }
            }
            Op::VSetAttr {
                uid,
                element,
                attributes,
            } => {
                if let Some(set) = self.set(uid, seq) {
                    let mut g = set.write();
                    g.set_attributes(element, Bytes::copy_from_slice(attributes));
                    g.applied_seq = seq;
                }
            }
            // Switches the database; handled by `apply`.
            Op::Select { .. } => {}
            Op::Functions { libraries } => {
                let libs = crate::functions::decode(libraries)
                    .ok_or_else(|| "malformed function libraries".to_string())?;
                engine.functions().replace(libs);
            }
            Op::Edit { key, edit } => {
                db.replay_edit(key, &edit, NOW)
                    .map_err(|e| format!("edit of {}: {e}", String::from_utf8_lossy(key)))?;
            }
        }
        Ok(())
    }
}

/// Opens the local WAL and replays every record after
/// `config.start_after` with `replayer`. The caller then drops empty sets
/// ([`Replayer::drop_empty_sets`]) and attaches the WAL to the engine.
pub fn recover(
    replayer: &mut Replayer,
    config: crate::wal::WalConfig,
) -> Result<Arc<crate::wal::Wal>, crate::wal::WalError> {
    crate::wal::Wal::open(config, |seq, rec| replayer.apply(seq, rec))
}
