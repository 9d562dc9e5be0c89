//! One WAL record: a checksummed, sequence-numbered payload.
//!
//! ```text
//! offset  size  field
//! 0       4     payload length (u32 LE), at most MAX_PAYLOAD
//! 4       4     CRC-32 (IEEE, u32 LE) of bytes 8.. (sequence + payload)
//! 8       8     sequence number (u64 LE), +1 per record, never reused
//! 16      len   payload (opaque to the WAL)
//! ```

/// Bytes before the payload.
pub const HEADER: usize = 16;
/// Largest payload accepted (1 GiB).
pub const MAX_PAYLOAD: usize = 1 << 30;

/// Appends the encoding of one record to `out`.
pub fn encode(seq: u64, payload: &[u8], out: &mut Vec<u8>) {
    let mut h = crc32fast::Hasher::new();
    h.update(&seq.to_le_bytes());
    h.update(payload);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&h.finalize().to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(payload);
}

/// What is at the start of `buf`.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A valid record and its encoded length.
    Record {
        /// Sequence number.
        seq: u64,
        /// Payload.
        payload: &'a [u8],
        /// Bytes used.
        len: usize,
    },
    /// The buffer ends inside a record (a torn write at the end of a file).
    Incomplete,
    /// A complete record whose checksum or length is wrong.
    Corrupt,
}

/// Decodes the record at the start of `buf`.
pub fn decode(buf: &[u8]) -> Decoded<'_> {
    if buf.len() < HEADER {
        return Decoded::Incomplete;
    }
    let len = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if len > MAX_PAYLOAD {
        return Decoded::Corrupt;
    }
    if buf.len() < HEADER + len {
        return Decoded::Incomplete;
    }
    let crc = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
    if crc32fast::hash(&buf[8..HEADER + len]) != crc {
        return Decoded::Corrupt;
    }
    let seq = u64::from_le_bytes(buf[8..16].try_into().expect("8 bytes"));
    Decoded::Record {
        seq,
        payload: &buf[HEADER..HEADER + len],
        len: HEADER + len,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let mut buf = Vec::new();
        encode(7, b"hello", &mut buf);
        encode(8, b"", &mut buf);
        let Decoded::Record { seq, payload, len } = decode(&buf) else {
            panic!()
        };
        assert_eq!((seq, payload, len), (7, &b"hello"[..], 21));
        assert!(matches!(
            decode(&buf[21..]),
            Decoded::Record {
                seq: 8,
                len: 16,
                ..
            }
        ));
        assert_eq!(decode(&buf[..20]), Decoded::Incomplete);
        assert_eq!(decode(&buf[..3]), Decoded::Incomplete);
        let mut bad = buf.clone();
        bad[18] ^= 1;
        assert_eq!(decode(&bad), Decoded::Corrupt);
        let mut huge = buf.clone();
        huge[3] = 0xff;
        assert_eq!(decode(&huge), Decoded::Corrupt);
    }
}
