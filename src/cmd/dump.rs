//! DUMP and RESTORE.
//!
//! The payload is VexLake's own (Redis's RDB encoding is not used), laid out
//! like Redis's: the value, a 2-byte format version, then a checksum:
//!
//! ```text
//! type: u8 (0 = string) | value bytes | version: u16 LE (1) | crc32: u32 LE
//! ```
//!
//! The CRC-32 (IEEE) covers every byte before it. FUNCTION DUMP uses the
//! same frame with type 245 and the libraries
//! ([`vexlake_engine::functions::encode`]) as the value. RESTORE refuses a payload
//! whose version or checksum is wrong with Redis's
//! `-ERR DUMP payload version or checksum are wrong`. Vector sets cannot be
//! dumped yet (`-ERR`); everything else about RESTORE follows Redis:
//! `REPLACE`, `ABSTTL`, `IDLETIME`, `FREQ`, `-BUSYKEY`.

use bytes::{BufMut, Bytes, BytesMut};
use vexlake_engine::keyspace::Value;
use vexlake_protocol::args::is_keyword;

use super::table::{BASE, CommandSpec, K1, W_OOM};
use super::{CmdResult, Ctx, int_arg};
use crate::error::CmdError;

/// Payload format version.
const VERSION: u16 = 1;
/// Type byte of a string.
const STRING: u8 = 0;

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

/// The string in `payload`, if its version and checksum are right.
pub fn decode(payload: &Bytes) -> Option<Bytes> {
    match unseal(payload)? {
        (STRING, v) => Some(v),
        _ => None,
    }
}

/// DUMP key.
pub fn dump(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    match ctx.db().object(&args[1], ctx.now()) {
        Some(o) => match o.value {
            Value::Str(v) => ctx.out.bulk(&encode_string(&v)),
            Value::VectorSet(_) => {
                return Err(CmdError::err("DUMP of a vector set is not supported yet"));
            }
        },
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
    let Some(value) = decode(&args[3]) else {
        return Err(CmdError::err("DUMP payload version or checksum are wrong"));
    };
    let expire_at = match (ttl, absttl) {
        (0, _) => None,
        (t, true) => Some(t as u64),
        (t, false) => Some(now.saturating_add(t as u64)),
    };
    let stored =
        ctx.db()
            .restore_string(&args[1], &value, expire_at, replace, (idle, freq), now)?;
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
        let p = encode_string(b"hello");
        assert_eq!(decode(&p).as_deref(), Some(&b"hello"[..]));
        assert_eq!(decode(&encode_string(b"")).as_deref(), Some(&b""[..]));
        for i in 0..p.len() {
            let mut bad = p.to_vec();
            bad[i] ^= 0x20;
            assert_eq!(decode(&Bytes::from(bad)), None, "byte {i}");
        }
        assert_eq!(decode(&Bytes::from_static(b"abc")), None);
    }
}
