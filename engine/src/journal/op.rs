//! The operations a WAL record carries, and their byte encoding.
//!
//! A record is what one command changed, as *effects* rather than the
//! command itself: `INCR` is logged as the value it produced, `EXPIRE 10` as
//! the absolute deadline, `SET ... NX` that did not write is not logged. So
//! replaying a record is deterministic and does not depend on the time of
//! replay. One record holds every effect of one command (MSET, DEL of many
//! keys, VADDBATCH), so a crash never leaves half a command.
//!
//! Layout (little-endian): `version: u8 = 1`, `db: u8`, then operations
//! until the end, each a tag byte and its fields. `bytes` = `u32` length +
//! data; `opt u64` = `u8` flag + `u64` when the flag is 1.
//!
//! | tag | operation | fields |
//! |---|---|---|
//! | 1 | Set | key bytes, value bytes, expire-at opt u64 |
//! | 2 | SetKeepTtl | key bytes, value bytes |
//! | 3 | Append | key bytes, data bytes |
//! | 4 | SetRange | key bytes, offset u64, data bytes |
//! | 5 | Del | key bytes |
//! | 6 | Expire | key bytes, expire-at opt u64 (none = PERSIST) |
//! | 7 | Rename | source bytes, destination bytes |
//! | 8 | FlushDb | |
//! | 9 | FlushAll | |
//! | 10 | VCreate | key bytes, uid u64, input dim u32, reduce u32 (0 = none), quant u8, metric u8, m u32 |
//! | 11 | VAdd | uid u64, ef u32, element bytes, vector bytes (f32), attributes opt bytes |
//! | 12 | VRem | key bytes, uid u64, element bytes |
//! | 13 | VSetAttr | uid u64, element bytes, attributes bytes |
//! | 14 | Select | db u8: later operations apply to this database |
//! | 15 | Functions | libraries bytes (every function library, [`crate::functions::encode`]) |
//! | 16 | HSet | key bytes, field bytes, value bytes |
//! | 17 | HDel | key bytes, field bytes |
//! | 18 | HExpire | key bytes, field bytes, deadline opt u64 (none = HPERSIST) |
//! | 19 | SAdd | key bytes, member bytes |
//! | 20 | SRem | key bytes, member bytes |
//! | 21 | LPush | key bytes, element bytes (at the head) |
//! | 22 | RPush | key bytes, element bytes (at the tail) |
//! | 23 | LPop | key bytes, count u64 (from the head) |
//! | 24 | RPop | key bytes, count u64 (from the tail) |
//! | 25 | LSet | key bytes, index u64, element bytes |
//! | 26 | LInsert | key bytes, index u64, element bytes (before `index`) |
//! | 27 | LRemAt | key bytes, index u64 |
//! | 28 | LTrim | key bytes, start u64, end u64 (keep `start..end`) |
//! | 29 | ZAdd | key bytes, member bytes, score f64 (as u64 bits) |
//! | 30 | ZRem | key bytes, member bytes |
//! | 31 | XEdit | key bytes, stream operation bytes ([`crate::keyspace::stream::StreamOp`]) |
//! | 32 | VLoad | key bytes, set bytes (a whole vector set in the index-file format, its uid inside: RESTORE) |
//! | 33 | VAdd with links | as VAdd, then links bytes: where the new element went and every link it changed ([`crate::vector::hnsw::LinkRecord`]; replay re-links instead of searching) |
//!
//! Tags 16-30 are collection edits ([`Edit`]): a command logs the
//! changes it made to hashes, sets and lists, never the command itself.
//!
//! `Select` appears only in the record of a transaction or script (one
//! record for all its commands) whose commands touched several databases.

use crate::keyspace::Edit;
use crate::vector::hnsw::LinkRecord;

/// Version byte at the start of every record.
pub const VERSION: u8 = 1;

const SET: u8 = 1;
const SET_KEEP_TTL: u8 = 2;
const APPEND: u8 = 3;
const SET_RANGE: u8 = 4;
const DEL: u8 = 5;
const EXPIRE: u8 = 6;
const RENAME: u8 = 7;
const FLUSH_DB: u8 = 8;
const FLUSH_ALL: u8 = 9;
const VCREATE: u8 = 10;
const VADD: u8 = 11;
const VREM: u8 = 12;
const VSETATTR: u8 = 13;
const SELECT: u8 = 14;
const FUNCTIONS: u8 = 15;
const HSET: u8 = 16;
const HDEL: u8 = 17;
const HEXPIRE: u8 = 18;
const SADD: u8 = 19;
const SREM: u8 = 20;
const LPUSH: u8 = 21;
const RPUSH: u8 = 22;
const LPOP: u8 = 23;
const RPOP: u8 = 24;
const LSET: u8 = 25;
const LINSERT: u8 = 26;
const LREMAT: u8 = 27;
const LTRIM: u8 = 28;
const ZADD: u8 = 29;
const ZREM: u8 = 30;
const XEDIT: u8 = 31;
const VLOAD: u8 = 32;
const VADD_LINKED: u8 = 33;

/// Parameters of a new vector set (VCreate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetParams {
    /// Dimension of the vectors given to VADD (before REDUCE).
    pub dim: u32,
    /// REDUCE target dimension, 0 for none.
    pub reduce: u32,
    /// Quantization code (`Quant::code`).
    pub quant: u8,
    /// Metric code (`Metric::code`).
    pub metric: u8,
    /// HNSW M.
    pub m: u32,
}

/// One decoded operation, borrowing from the record.
#[derive(Debug, Clone, PartialEq)]
pub enum Op<'a> {
    /// Replace the key with a string and this expiry.
    Set {
        key: &'a [u8],
        value: &'a [u8],
        expire_at: Option<u64>,
    },
    /// Replace the value of a live string key, keeping its expiry.
    SetKeepTtl { key: &'a [u8], value: &'a [u8] },
    /// APPEND to a live string key.
    Append { key: &'a [u8], data: &'a [u8] },
    /// SETRANGE on a live string key.
    SetRange {
        key: &'a [u8],
        offset: u64,
        data: &'a [u8],
    },
    /// Delete the key.
    Del { key: &'a [u8] },
    /// Set (Some) or remove (None) the expiry of the key.
    Expire {
        key: &'a [u8],
        expire_at: Option<u64>,
    },
    /// Move `src` to `dst`, replacing `dst`.
    Rename { src: &'a [u8], dst: &'a [u8] },
    /// Empty the record's database.
    FlushDb,
    /// Empty every database.
    FlushAll,
    /// Put a new, empty vector set at `key`.
    VCreate {
        key: &'a [u8],
        uid: u64,
        params: SetParams,
    },
    /// Add or update an element of the set `uid`.
    VAdd {
        uid: u64,
        ef: u32,
        element: &'a [u8],
        /// Little-endian f32 values.
        vector: &'a [u8],
        attributes: Option<&'a [u8]>,
        /// The encoded [`crate::vector::hnsw::LinkRecord`] of a new element.
        links: Option<&'a [u8]>,
    },
    /// Put the vector set encoded in `set` (the index-file format, whose
    /// uid it keeps) at `key`, replacing what was there (RESTORE).
    VLoad { key: &'a [u8], set: &'a [u8] },
    /// Remove an element of the set `uid` (stored at `key`).
    VRem {
        key: &'a [u8],
        uid: u64,
        element: &'a [u8],
    },
    /// Set the attributes of an element of the set `uid`.
    VSetAttr {
        uid: u64,
        element: &'a [u8],
        attributes: &'a [u8],
    },
    /// Later operations of the record apply to database `db`.
    Select { db: u8 },
    /// The server's function libraries are now these (all of them).
    Functions { libraries: &'a [u8] },
    /// A change to the collection at `key` (never `Edit::Delete` or
    /// `Edit::Expire`: those are `Del` and `Expire`).
    Edit { key: &'a [u8], edit: Edit<&'a [u8]> },
}

/// Builds one record.
#[derive(Debug, Clone)]
pub struct RecordBuf {
    buf: Vec<u8>,
    /// Vector inserts in the record (each costs a graph insert to replay).
    inserts: u64,
}

impl RecordBuf {
    /// A record for database `db`.
    pub fn new(db: u8) -> Self {
        let mut buf = Vec::with_capacity(64);
        buf.push(VERSION);
        buf.push(db);
        RecordBuf { buf, inserts: 0 }
    }

    /// Vector inserts in the record: what replaying it costs beyond
    /// reading it.
    pub fn inserts(&self) -> u64 {
        self.inserts
    }

    /// The encoded record.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// True when no operation was added.
    pub fn is_empty(&self) -> bool {
        self.buf.len() <= 2
    }

    fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(&(b.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(b);
    }

    fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            Some(v) => {
                self.buf.push(1);
                self.u64(v);
            }
            None => self.buf.push(0),
        }
    }

    /// Adds any operation.
    pub fn push(&mut self, op: &Op<'_>) -> &mut Self {
        match *op {
            Op::Set {
                key,
                value,
                expire_at,
            } => {
                self.buf.push(SET);
                self.bytes(key);
                self.bytes(value);
                self.opt_u64(expire_at);
            }
            Op::SetKeepTtl { key, value } => {
                self.buf.push(SET_KEEP_TTL);
                self.bytes(key);
                self.bytes(value);
            }
            Op::Append { key, data } => {
                self.buf.push(APPEND);
                self.bytes(key);
                self.bytes(data);
            }
            Op::SetRange { key, offset, data } => {
                self.buf.push(SET_RANGE);
                self.bytes(key);
                self.u64(offset);
                self.bytes(data);
            }
            Op::Del { key } => {
                self.buf.push(DEL);
                self.bytes(key);
            }
            Op::Expire { key, expire_at } => {
                self.buf.push(EXPIRE);
                self.bytes(key);
                self.opt_u64(expire_at);
            }
            Op::Rename { src, dst } => {
                self.buf.push(RENAME);
                self.bytes(src);
                self.bytes(dst);
            }
            Op::FlushDb => self.buf.push(FLUSH_DB),
            Op::FlushAll => self.buf.push(FLUSH_ALL),
            Op::VCreate { key, uid, params } => {
                self.buf.push(VCREATE);
                self.bytes(key);
                self.u64(uid);
                self.u32(params.dim);
                self.u32(params.reduce);
                self.buf.push(params.quant);
                self.buf.push(params.metric);
                self.u32(params.m);
            }
            Op::VAdd {
                uid,
                ef,
                element,
                vector,
                attributes,
                links,
            } => {
                self.inserts += 1;
                self.buf
                    .push(if links.is_some() { VADD_LINKED } else { VADD });
                self.u64(uid);
                self.u32(ef);
                self.bytes(element);
                self.bytes(vector);
                match attributes {
                    Some(a) => {
                        self.buf.push(1);
                        self.bytes(a);
                    }
                    None => self.buf.push(0),
                }
                if let Some(l) = links {
                    self.bytes(l);
                }
            }
            Op::VLoad { key, set } => {
                self.buf.push(VLOAD);
                self.bytes(key);
                self.bytes(set);
            }
            Op::VRem { key, uid, element } => {
                self.buf.push(VREM);
                self.bytes(key);
                self.u64(uid);
                self.bytes(element);
            }
            Op::VSetAttr {
                uid,
                element,
                attributes,
            } => {
                self.buf.push(VSETATTR);
                self.u64(uid);
                self.bytes(element);
                self.bytes(attributes);
            }
            Op::Select { db } => {
                self.buf.push(SELECT);
                self.buf.push(db);
            }
            Op::Functions { libraries } => {
                self.buf.push(FUNCTIONS);
                self.bytes(libraries);
            }
            Op::Edit { key, edit } => self.edit(key, edit),
        }
        self
    }

    /// Adds an edit of the collection at `key` (`Delete` and `Expire`
    /// become `Del` and `Expire`).
    pub fn push_edit(&mut self, key: &[u8], edit: &Edit<&[u8]>) -> &mut Self {
        match *edit {
            Edit::Delete => self.push(&Op::Del { key }),
            Edit::Expire { at } => self.push(&Op::Expire { key, expire_at: at }),
            e => {
                self.edit(key, e);
                self
            }
        }
    }

    fn edit(&mut self, key: &[u8], edit: Edit<&[u8]>) {
        let tag = match edit {
            Edit::Delete | Edit::Expire { .. } => unreachable!("logged as Del / Expire"),
            Edit::HSet { .. } => HSET,
            Edit::HDel { .. } => HDEL,
            Edit::HExpire { .. } => HEXPIRE,
            Edit::SAdd { .. } => SADD,
            Edit::SRem { .. } => SREM,
            Edit::LPush { .. } => LPUSH,
            Edit::RPush { .. } => RPUSH,
            Edit::LPop { .. } => LPOP,
            Edit::RPop { .. } => RPOP,
            Edit::LSet { .. } => LSET,
            Edit::LInsert { .. } => LINSERT,
            Edit::LRemAt { .. } => LREMAT,
            Edit::LTrim { .. } => LTRIM,
            Edit::ZAdd { .. } => ZADD,
            Edit::ZRem { .. } => ZREM,
            Edit::Stream { .. } => XEDIT,
        };
        self.buf.push(tag);
        self.bytes(key);
        match edit {
            Edit::Delete | Edit::Expire { .. } => {}
            Edit::HSet { field, value } => {
                self.bytes(field);
                self.bytes(value);
            }
            Edit::HDel { field: b }
            | Edit::SAdd { member: b }
            | Edit::SRem { member: b }
            | Edit::ZRem { member: b }
            | Edit::Stream { op: b } => self.bytes(b),
            Edit::ZAdd { member, score } => {
                self.bytes(member);
                self.u64(score.to_bits());
            }
            Edit::LPush { elem } | Edit::RPush { elem } => self.bytes(elem),
            Edit::HExpire { field, at } => {
                self.bytes(field);
                self.opt_u64(at);
            }
            Edit::LPop { count } | Edit::RPop { count } => self.u64(count),
            Edit::LSet { index, elem } | Edit::LInsert { index, elem } => {
                self.u64(index);
                self.bytes(elem);
            }
            Edit::LRemAt { index } => self.u64(index),
            Edit::LTrim { start, end } => {
                self.u64(start);
                self.u64(end);
            }
        }
    }

    /// Adds a VAdd whose vector is given as floats.
    pub fn vadd(
        &mut self,
        uid: u64,
        ef: u32,
        element: &[u8],
        vector: &[f32],
        attributes: Option<&[u8]>,
        links: Option<&LinkRecord>,
    ) -> &mut Self {
        self.inserts += 1;
        self.buf
            .push(if links.is_some() { VADD_LINKED } else { VADD });
        self.u64(uid);
        self.u32(ef);
        self.bytes(element);
        self.u32((vector.len() * 4) as u32);
        for v in vector {
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
        match attributes {
            Some(a) => {
                self.buf.push(1);
                self.bytes(a);
            }
            None => self.buf.push(0),
        }
        if let Some(l) = links {
            let at = self.buf.len();
            self.buf.extend_from_slice(&[0; 4]);
            l.encode(&mut self.buf);
            let n = (self.buf.len() - at - 4) as u32;
            self.buf[at..at + 4].copy_from_slice(&n.to_le_bytes());
        }
        self
    }
}

/// A record that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed WAL record: {0}")]
pub struct Malformed(pub &'static str);

/// Reads a record: its database and operations.
pub fn decode(rec: &[u8]) -> Result<(u8, Vec<Op<'_>>), Malformed> {
    let mut r = Reader { buf: rec, pos: 0 };
    if r.u8()? != VERSION {
        return Err(Malformed("unknown record version"));
    }
    let db = r.u8()?;
    let mut ops = Vec::new();
    while r.pos < r.buf.len() {
        let tag = r.u8()?;
        let op = match tag {
            SET => Op::Set {
                key: r.bytes()?,
                value: r.bytes()?,
                expire_at: r.opt_u64()?,
            },
            SET_KEEP_TTL => Op::SetKeepTtl {
                key: r.bytes()?,
                value: r.bytes()?,
            },
            APPEND => Op::Append {
                key: r.bytes()?,
                data: r.bytes()?,
            },
            SET_RANGE => Op::SetRange {
                key: r.bytes()?,
                offset: r.u64()?,
                data: r.bytes()?,
            },
            DEL => Op::Del { key: r.bytes()? },
            EXPIRE => Op::Expire {
                key: r.bytes()?,
                expire_at: r.opt_u64()?,
            },
            RENAME => Op::Rename {
                src: r.bytes()?,
                dst: r.bytes()?,
            },
            FLUSH_DB => Op::FlushDb,
            FLUSH_ALL => Op::FlushAll,
            VLOAD => Op::VLoad {
                key: r.bytes()?,
                set: r.bytes()?,
            },
            VCREATE => Op::VCreate {
                key: r.bytes()?,
                uid: r.u64()?,
                params: SetParams {
                    dim: r.u32()?,
                    reduce: r.u32()?,
                    quant: r.u8()?,
                    metric: r.u8()?,
                    m: r.u32()?,
                },
            },
            VADD | VADD_LINKED => Op::VAdd {
                uid: r.u64()?,
                ef: r.u32()?,
                element: r.bytes()?,
                vector: r.bytes()?,
                attributes: match r.u8()? {
                    0 => None,
                    _ => Some(r.bytes()?),
                },
                links: match tag {
                    VADD_LINKED => Some(r.bytes()?),
                    _ => None,
                },
            },
            VREM => Op::VRem {
                key: r.bytes()?,
                uid: r.u64()?,
                element: r.bytes()?,
            },
            VSETATTR => Op::VSetAttr {
                uid: r.u64()?,
                element: r.bytes()?,
                attributes: r.bytes()?,
            },
            SELECT => Op::Select { db: r.u8()? },
            FUNCTIONS => Op::Functions {
                libraries: r.bytes()?,
            },
            tag @ HSET..=XEDIT => Op::Edit {
                key: r.bytes()?,
                edit: match tag {
                    HSET => Edit::HSet {
                        field: r.bytes()?,
                        value: r.bytes()?,
                    },
                    HDEL => Edit::HDel { field: r.bytes()? },
                    HEXPIRE => Edit::HExpire {
                        field: r.bytes()?,
                        at: r.opt_u64()?,
                    },
                    SADD => Edit::SAdd { member: r.bytes()? },
                    SREM => Edit::SRem { member: r.bytes()? },
                    LPUSH => Edit::LPush { elem: r.bytes()? },
                    RPUSH => Edit::RPush { elem: r.bytes()? },
                    LPOP => Edit::LPop { count: r.u64()? },
                    RPOP => Edit::RPop { count: r.u64()? },
                    LSET => Edit::LSet {
                        index: r.u64()?,
                        elem: r.bytes()?,
                    },
                    LINSERT => Edit::LInsert {
                        index: r.u64()?,
                        elem: r.bytes()?,
                    },
                    LREMAT => Edit::LRemAt { index: r.u64()? },
                    ZADD => Edit::ZAdd {
                        member: r.bytes()?,
                        score: f64::from_bits(r.u64()?),
                    },
                    ZREM => Edit::ZRem { member: r.bytes()? },
                    XEDIT => Edit::Stream { op: r.bytes()? },
                    _ => Edit::LTrim {
                        start: r.u64()?,
                        end: r.u64()?,
                    },
                },
            },
            _ => return Err(Malformed("unknown operation")),
        };
        ops.push(op);
    }
    Ok((db, ops))
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(Malformed("truncated"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, Malformed> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, Malformed> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn opt_u64(&mut self) -> Result<Option<u64>, Malformed> {
        match self.u8()? {
            0 => Ok(None),
            _ => Ok(Some(self.u64()?)),
        }
    }

    fn bytes(&mut self) -> Result<&'a [u8], Malformed> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_round_trips() {
        let ops = vec![
            Op::Set {
                key: b"k",
                value: b"v",
                expire_at: Some(42),
            },
            Op::Set {
                key: b"",
                value: b"",
                expire_at: None,
            },
            Op::SetKeepTtl {
                key: b"n",
                value: b"10",
            },
            Op::Append {
                key: b"a",
                data: b"xyz",
            },
            Op::SetRange {
                key: b"r",
                offset: 7,
                data: b"q",
            },
            Op::Del { key: b"d" },
            Op::Expire {
                key: b"e",
                expire_at: None,
            },
            Op::Rename {
                src: b"s",
                dst: b"t",
            },
            Op::FlushDb,
            Op::FlushAll,
            Op::VCreate {
                key: b"vs",
                uid: 9,
                params: SetParams {
                    dim: 3,
                    reduce: 0,
                    quant: 1,
                    metric: 0,
                    m: 16,
                },
            },
            Op::VAdd {
                uid: 9,
                ef: 200,
                element: b"el",
                vector: &[0, 0, 128, 63],
                attributes: Some(b"{}"),
                links: None,
            },
            Op::VRem {
                key: b"vs",
                uid: 9,
                element: b"el",
            },
            Op::VSetAttr {
                uid: 9,
                element: b"el",
                attributes: b"",
            },
            Op::VLoad {
                key: b"restored",
                set: b"VXLVSET1...",
            },
            Op::Select { db: 7 },
            Op::Edit {
                key: b"h",
                edit: Edit::HSet {
                    field: b"f",
                    value: b"v",
                },
            },
            Op::Edit {
                key: b"h",
                edit: Edit::HExpire {
                    field: b"f",
                    at: Some(5),
                },
            },
            Op::Edit {
                key: b"s",
                edit: Edit::SRem { member: b"m" },
            },
            Op::Edit {
                key: b"l",
                edit: Edit::LInsert {
                    index: 3,
                    elem: b"x",
                },
            },
            Op::Edit {
                key: b"l",
                edit: Edit::LTrim { start: 1, end: 4 },
            },
            Op::Edit {
                key: b"z",
                edit: Edit::ZAdd {
                    member: b"m",
                    score: -1.5,
                },
            },
            Op::Edit {
                key: b"z",
                edit: Edit::ZRem { member: b"m" },
            },
        ];
        let mut rec = RecordBuf::new(3);
        for op in &ops {
            rec.push(op);
        }
        let (db, back) = decode(rec.as_bytes()).unwrap();
        assert_eq!(db, 3);
        assert_eq!(back, ops);
        let mut v = RecordBuf::new(0);
        v.vadd(9, 200, b"el", &[1.0], Some(b"{}"), None);
        assert_eq!(decode(v.as_bytes()).unwrap().1[0], ops[11]);
        // A VAdd with its links keeps them, byte for byte.
        let links = LinkRecord {
            slot: 4,
            level: 0,
            own: vec![vec![1, 2]],
            back: vec![Vec::new()],
        };
        let mut v = RecordBuf::new(0);
        v.vadd(9, 200, b"el", &[1.0], Some(b"{}"), Some(&links));
        let mut encoded = Vec::new();
        links.encode(&mut encoded);
        match &decode(v.as_bytes()).unwrap().1[0] {
            Op::VAdd { links: Some(l), .. } => {
                assert_eq!(LinkRecord::decode(l), Some(links.clone()));
                assert_eq!(*l, &encoded[..]);
            }
            other => panic!("not a linked VAdd: {other:?}"),
        }
        // Every truncation of a record is refused, never misread.
        let bytes = rec.as_bytes();
        for cut in 0..bytes.len() {
            if let Ok((_, ops)) = decode(&bytes[..cut]) {
                assert!(ops.len() < back.len());
            }
        }
        assert!(decode(&[2, 0]).is_err());
        assert!(decode(&[1, 0, 99]).is_err());
    }
}
