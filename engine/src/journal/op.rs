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
//!
//! `Select` appears only in the record of a transaction or script (one
//! record for all its commands) whose commands touched several databases.

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
    },
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
            } => {
                self.inserts += 1;
                self.buf.push(VADD);
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
        }
        self
    }

    /// Adds a VAdd whose vector is given as floats.
    pub fn vadd(
        &mut self,
        uid: u64,
        ef: u32,
        element: &[u8],
        vector: &[f32],
        attributes: Option<&[u8]>,
    ) -> &mut Self {
        self.inserts += 1;
        self.buf.push(VADD);
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
        let op = match r.u8()? {
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
            VADD => Op::VAdd {
                uid: r.u64()?,
                ef: r.u32()?,
                element: r.bytes()?,
                vector: r.bytes()?,
                attributes: match r.u8()? {
                    0 => None,
                    _ => Some(r.bytes()?),
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
            Op::Select { db: 7 },
        ];
        let mut rec = RecordBuf::new(3);
        for op in &ops {
            rec.push(op);
        }
        let (db, back) = decode(rec.as_bytes()).unwrap();
        assert_eq!(db, 3);
        assert_eq!(back, ops);
        let mut v = RecordBuf::new(0);
        v.vadd(9, 200, b"el", &[1.0], Some(b"{}"));
        assert_eq!(decode(v.as_bytes()).unwrap().1[0], ops[11]);
        // Every truncation of a record is refused, never misread.
        let bytes = rec.as_bytes();
        for cut in 0..bytes.len() {
            if let Ok((_, ops)) = decode(&bytes[..cut]) {
                assert!(ops.len() < 15);
            }
        }
        assert!(decode(&[2, 0]).is_err());
        assert!(decode(&[1, 0, 99]).is_err());
    }
}
