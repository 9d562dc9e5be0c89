//! DUMP and RESTORE.
//!
//! The payload is VexLake's own (Redis's RDB encoding is not used), laid out
//! like Redis's: the value, a 2-byte format version, then a checksum:
//!
//! ```text
//! type: u8 | value bytes | version: u16 LE (1) | crc32: u32 LE
//! ```
//!
//! | type | value bytes |
//! |---|---|
//! | 0 string | the string |
//! | 2 hash | count u32, then per field: field, value, deadline (u8 flag + u64 Unix ms) |
//! | 3 set | count u32, then each member |
//! | 4 list | count u32, then each element, head first |
//! | 5 sorted set | count u32, then per member: member, score (f64 LE) |
//!
//! Each field, value, member or element is a u32 LE length and its bytes.
//!
//! The CRC-32 (IEEE) covers every byte before it. FUNCTION DUMP uses the
//! same frame with type 245 and the libraries
//! ([`vexlake_engine::functions::encode`]) as the value. RESTORE refuses a payload
//! whose version or checksum is wrong with Redis's
//! `-ERR DUMP payload version or checksum are wrong`, and a payload whose
//! value does not decode with `-ERR Bad data format` — for a vector set,
//! also one whose graph does not check out (a link count above M, a link
//! to a missing node, a duplicate element or node id, a bad entry point)
//! or that has no element. A restored vector set is a new set (new uid),
//! its graph loaded as dumped, not rebuilt. Everything else about RESTORE
//! follows Redis: `REPLACE`, `ABSTTL`, `IDLETIME`, `FREQ`, `-BUSYKEY`.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use parking_lot::RwLock;
use vexlake_engine::keyspace::Value;
use vexlake_engine::keyspace::hash::HashValue;
use vexlake_engine::keyspace::list::ListValue;
use vexlake_engine::keyspace::set::SetValue;
use vexlake_engine::keyspace::zset::ZSetValue;
use vexlake_engine::vector::VectorSet;
use vexlake_protocol::args::is_keyword;

use super::table::{BASE, CommandSpec, K1, W_OOM};
use super::{CmdResult, Ctx, int_arg};
use crate::error::CmdError;

/// Payload format version.
const VERSION: u16 = 1;
/// Type byte of a string.
const STRING: u8 = 0;
/// Type byte of a hash.
const HASH: u8 = 2;
/// Type byte of a set.
const SET: u8 = 3;
/// Type byte of a list.
const LIST: u8 = 4;
/// Type byte of a sorted set.
const ZSET: u8 = 5;
/// A stream, in `StreamValue::encode`'s layout.
const STREAM: u8 = 6;
/// A vector set, in the index-file format.
const VSET: u8 = 7;

/// DUMP and RESTORE.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "dump",
        arity: 2,
        flags: &["readonly"],
        keys: K1,
        acl: &["@keyspace", "@read", "@slow"],
        group: "generic",
        since: "2.6.0",
        summary: "Returns a serialized representation of the value stored at a key.",
        complexity: "O(1) to access the key and additional O(N*M) to serialize it.",
        syntax: "key",
        handler: dump,
        ..BASE
    },
    CommandSpec {
        name: "restore",
        arity: -4,
        flags: W_OOM,
        keys: K1,
        acl: &["@keyspace", "@write", "@slow", "@dangerous"],
        group: "generic",
        since: "2.6.0",
        summary: "Creates a key from the serialized representation of a value.",
        complexity: "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value.",
        syntax: "key ttl:integer serialized-value:string [REPLACE] [ABSTTL] [IDLETIME seconds:integer] [FREQ frequency:integer]",
        handler: restore,
        ..BASE
    },
];

/// Type byte of FUNCTION DUMP's payload.
pub const FUNCTIONS: u8 = 245;

/// A payload: `kind`, `v`, version, checksum.
pub fn seal(kind: u8, v: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(v.len() + 7);
    b.put_u8(kind);
    b.put_slice(v);
    b.put_u16_le(VERSION);
    let crc = crc32fast::hash(&b);
    b.put_u32_le(crc);
    b.freeze()
}

/// The type byte and value of `payload`, if its version and checksum are
/// right.
pub fn unseal(payload: &Bytes) -> Option<(u8, Bytes)> {
    if payload.len() < 7 {
        return None;
    }
    let (body, crc) = payload.split_at(payload.len() - 4);
    if crc32fast::hash(body).to_le_bytes() != crc {
        return None;
    }
    let (data, version) = body.split_at(body.len() - 2);
    if u16::from_le_bytes([version[0], version[1]]) != VERSION {
        return None;
    }
    Some((data[0], payload.slice(1..data.len())))
}

/// The payload of string `v`.
pub fn encode_string(v: &[u8]) -> Bytes {
    seal(STRING, v)
}

/// The payload of `v`.
pub fn encode(v: &Value) -> Bytes {
    let mut b = BytesMut::new();
    let put = |b: &mut BytesMut, x: &[u8]| {
        b.put_u32_le(x.len() as u32);
        b.put_slice(x);
    };
    let kind = match v {
        Value::Str(s) => return seal(STRING, s),
        Value::Stream(s) => return seal(STREAM, &s.encode()),
        Value::VectorSet(s) => return seal(VSET, &s.read().to_index_file()),
        Value::Hash(h) => {
            b.put_u32_le(h.len() as u32);
            for (f, v) in h.iter() {
                put(&mut b, f);
                put(&mut b, v);
                match h.expire_at(f) {
                    Some(t) => {
                        b.put_u8(1);
                        b.put_u64_le(t);
                    }
                    None => b.put_u8(0),
                }
            }
            HASH
        }
        Value::Set(s) => {
            b.put_u32_le(s.len() as u32);
            s.iter().for_each(|m| put(&mut b, m));
            SET
        }
        Value::List(l) => {
            b.put_u32_le(l.len() as u32);
            l.iter().for_each(|m| put(&mut b, m));
            LIST
        }
        Value::ZSet(z) => {
            b.put_u32_le(z.len() as u32);
            for (m, s) in z.ordered() {
                put(&mut b, m);
                b.put_f64_le(s);
            }
            ZSET
        }
    };
    seal(kind, &b)
}

/// Why a payload was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Wrong version or checksum.
    Checksum,
    /// The value does not decode (or is an empty collection).
    Format,
}

/// The value in `payload`.
pub fn decode(payload: &Bytes) -> Result<Value, Refused> {
    let (kind, data) = unseal(payload).ok_or(Refused::Checksum)?;
    if kind == STRING {
        return Ok(Value::Str(data));
    }
    if kind == STREAM {
        let s =
            vexlake_engine::keyspace::stream::StreamValue::decode(&data).ok_or(Refused::Format)?;
        return Ok(Value::Stream(Arc::new(s)));
    }
    if kind == VSET {
        let set = VectorSet::from_index_file(&data).map_err(|_| Refused::Format)?;
        if set.is_empty() {
            return Err(Refused::Format);
        }
        return Ok(Value::VectorSet(Arc::new(RwLock::new(set))));
    }
    let mut r = Reader(&data);
    let n = r.u32()?;
    let v = match kind {
        HASH => {
            let mut h = HashValue::new();
            for _ in 0..n {
                let (f, v) = (r.bytes()?, r.bytes()?);
                let ttl = match r.u8()? {
                    0 => None,
                    1 => Some(r.u64()?),
                    _ => return Err(Refused::Format),
                };
                if !h.set(f, v) {
                    return Err(Refused::Format);
                }
                h.set_expire(f, ttl);
            }
            Value::Hash(Arc::new(h))
        }
        SET => {
            let mut s = SetValue::new();
            for _ in 0..n {
                if !s.insert(r.bytes()?) {
                    return Err(Refused::Format);
                }
            }
            Value::Set(Arc::new(s))
        }
        ZSET => {
            let mut z = ZSetValue::new();
            for _ in 0..n {
                let m = r.bytes()?;
                let s = f64::from_bits(r.u64()?);
                if s.is_nan() || !z.insert(m, s) {
                    return Err(Refused::Format);
                }
            }
            Value::ZSet(Arc::new(z))
        }
        LIST => {
            let mut l = ListValue::new();
            for _ in 0..n {
                l.push_back(r.bytes()?);
            }
            Value::List(Arc::new(l))
        }
        _ => return Err(Refused::Format),
    };
    if !r.0.is_empty() || n == 0 {
        return Err(Refused::Format);
    }
    Ok(v)
}

/// Reads a payload's value bytes.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Refused> {
        if self.0.len() < n {
            return Err(Refused::Format);
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, Refused> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, Refused> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, Refused> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }

    fn bytes(&mut self) -> Result<&'a [u8], Refused> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

/// DUMP key.
pub fn dump(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match ctx.db().object(&args[1], ctx.now()) {
        Some(o) => ctx.out.bulk(&encode(&o.value)),
        None => ctx.out.null(),
    }
    Ok(())
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f].
pub fn restore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq) = (None, None);
    let mut i = 4;
    while i < args.len() {
        let a = &args[i];
        let more = i + 1 < args.len();
        if is_keyword(a, "replace") {
            replace = true;
        } else if is_keyword(a, "absttl") {
            absttl = true;
        } else if is_keyword(a, "idletime") && more && freq.is_none() {
            i += 1;
            let v = int_arg(&args[i])?;
            if v < 0 {
                return Err(CmdError::err("Invalid IDLETIME value, must be >= 0"));
            }
            idle = Some(v.min(i64::from(u32::MAX)) as u32);
        } else if is_keyword(a, "freq") && more && idle.is_none() {
            i += 1;
            let v = int_arg(&args[i])?;
            if !(0..=255).contains(&v) {
                return Err(CmdError::err("Invalid FREQ value, must be >= 0 and <= 255"));
            }
            freq = Some(v as u8);
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let ttl = int_arg(&args[2])?;
    if ttl < 0 {
        return Err(CmdError::err("Invalid TTL value, must be >= 0"));
    }
    let now = ctx.now();
    if !replace && ctx.db().object(&args[1], now).is_some() {
        return Err(CmdError::Line(
            "BUSYKEY Target key name already exists.".into(),
        ));
    }
    let value = match decode(&args[3]) {
        Ok(v) => v,
        Err(Refused::Checksum) => {
            return Err(CmdError::err("DUMP payload version or checksum are wrong"));
        }
        Err(Refused::Format) => return Err(CmdError::err("Bad data format")),
    };
    let expire_at = match (ttl, absttl) {
        (0, _) => None,
        (t, true) => Some(t as u64),
        (t, false) => Some(now.saturating_add(t as u64)),
    };
    let stored = ctx
        .db()
        .restore_value(&args[1], &value, expire_at, replace, (idle, freq), now)?;
    if !stored {
        return Err(CmdError::Line(
            "BUSYKEY Target key name already exists.".into(),
        ));
    }
    if expire_at.is_none_or(|t| t > now) {
        ctx.notify(crate::notify::GENERIC, "restore", &args[1]);
    } else {
        // Already expired: Redis deletes it (when replacing) and says OK.
        ctx.notify(crate::notify::GENERIC, "del", &args[1]);
    }
    ctx.out.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_and_refuses_any_flipped_byte() {
        let text = |p: &Bytes| match decode(p) {
            Ok(Value::Str(s)) => Some(s),
            _ => None,
        };
        let p = encode_string(b"hello");
        assert_eq!(text(&p).as_deref(), Some(&b"hello"[..]));
        assert_eq!(text(&encode_string(b"")).as_deref(), Some(&b""[..]));
        for i in 0..p.len() {
            let mut bad = p.to_vec();
            bad[i] ^= 0x20;
            assert!(decode(&Bytes::from(bad)).is_err(), "byte {i}");
        }
        assert!(decode(&Bytes::from_static(b"abc")).is_err());
    }

    #[test]
    fn collections_round_trip_and_bad_values_are_refused() {
        let mut h = HashValue::new();
        h.set(b"f", b"v");
        h.set(b"g", b"");
        h.set_expire(b"g", Some(99));
        let p = encode(&Value::Hash(Arc::new(h)));
        let Ok(Value::Hash(back)) = decode(&p) else {
            panic!("not a hash")
        };
        assert_eq!(back.get(b"f"), Some(&b"v"[..]));
        assert_eq!(back.expire_at(b"g"), Some(99));
        let mut l = ListValue::new();
        l.push_back(b"a");
        l.push_back(b"a");
        let Ok(Value::List(back)) = decode(&encode(&Value::List(Arc::new(l)))) else {
            panic!("not a list")
        };
        assert_eq!(back.len(), 2);
        // A set with a duplicate member, an empty set, a count past the end,
        // an unknown type: each refused as bad data.
        let dup = seal(SET, &[2, 0, 0, 0, 1, 0, 0, 0, b'x', 1, 0, 0, 0, b'x']);
        assert_eq!(decode(&dup).err(), Some(Refused::Format));
        assert_eq!(
            decode(&seal(SET, &[0, 0, 0, 0])).err(),
            Some(Refused::Format)
        );
        assert_eq!(
            decode(&seal(LIST, &[9, 0, 0, 0, 1, 0, 0, 0, b'x'])).err(),
            Some(Refused::Format)
        );
        assert_eq!(
            decode(&seal(77, &[1, 0, 0, 0])).err(),
            Some(Refused::Format)
        );
    }

    /// A vector-set payload whose index file was edited by `edit` (its
    /// own checksum recomputed, so only the graph checks can refuse it).
    fn edited_vset(set: &VectorSet, edit: impl FnOnce(&mut Vec<u8>)) -> Bytes {
        let mut file = set.to_index_file();
        file.truncate(file.len() - 8);
        edit(&mut file);
        let sum = file.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        file.extend_from_slice(&sum.to_le_bytes());
        seal(VSET, &file)
    }

    #[test]
    fn vector_sets_round_trip_and_corrupt_graphs_are_refused() {
        use vexlake_engine::vector::{Metric, Quant};
        let mut set = VectorSet::new(3, None, Quant::Q8, Metric::Cosine, 16, 42);
        set.add(
            b"elem-one",
            vec![1.0, 0.0, 0.5],
            Some(Bytes::from_static(b"{}")),
            200,
        );
        set.add(b"elem-two", vec![0.0, 1.0, 0.5], None, 200);
        let Ok(Value::VectorSet(back)) = decode(&edited_vset(&set, |_| {})) else {
            panic!("not a vector set")
        };
        assert_eq!(back.read().to_index_file(), set.to_index_file());
        // Two elements with one name; a level-0 link count above 2*M (the
        // first slot's, after the 66-byte header and the slot's flag, id,
        // l2, range and level); a set without elements.
        let dup = edited_vset(&set, |f| {
            let at = f.windows(8).position(|w| w == b"elem-two").unwrap();
            f[at..at + 8].copy_from_slice(b"elem-one");
        });
        assert_eq!(decode(&dup).err(), Some(Refused::Format));
        let links = edited_vset(&set, |f| {
            assert_eq!(f[66], 1, "slot 0 is live");
            f[66 + 18..66 + 22].copy_from_slice(&1000u32.to_le_bytes());
        });
        assert_eq!(decode(&links).err(), Some(Refused::Format));
        let empty = VectorSet::new(3, None, Quant::Q8, Metric::Cosine, 16, 43);
        assert_eq!(
            decode(&edited_vset(&empty, |_| {})).err(),
            Some(Refused::Format)
        );
    }
}
