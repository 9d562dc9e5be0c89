//! A WAL object: one group commit's records, stored in the lake as
//! `wal/{object:020}.wal` when the WAL lives in the object store
//! (`--wal-storage object`). Objects are numbered 1, 2, 3, ... with no
//! gap and created with a conditional put, like manifests, so the chain
//! has exactly one object per number and a fenced writer cannot add to it.
//!
//! ```text
//! offset  size  field
//! 0       8     magic "VXLWALO1"
//! 8       8     writer epoch (u64 LE)
//! 16      8     object number (u64 LE)
//! 24      8     sequence of the first record (u64 LE)
//! 32      4     record count (u32 LE); 0 = a fence (a new writer's mark)
//! 36      ..    records, each as in a segment file (see `record`)
//! end-4   4     CRC-32 (IEEE) of every byte before it
//! ```

use super::record::{self, Decoded};

const MAGIC: &[u8; 8] = b"VXLWALO1";
const HEADER: usize = 36;

/// A decoded WAL object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalObject<'a> {
    /// Epoch of the writer that stored it.
    pub epoch: u64,
    /// Its number in the chain.
    pub object: u64,
    /// Sequence of its first record (the next sequence for a fence).
    pub first_seq: u64,
    /// (sequence, payload) of each record, consecutive.
    pub records: Vec<(u64, &'a [u8])>,
}

/// Encodes an object holding the already encoded `records` (`count` of
/// them, starting at `first_seq`).
pub fn encode(epoch: u64, object: u64, first_seq: u64, count: u32, records: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + records.len() + 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&epoch.to_le_bytes());
    out.extend_from_slice(&object.to_le_bytes());
    out.extend_from_slice(&first_seq.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(records);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes and checks an object (checksum, header, every record and the
/// continuity of their sequence numbers).
pub fn decode(data: &[u8]) -> Result<WalObject<'_>, &'static str> {
    if data.len() < HEADER + 4 {
        return Err("too short");
    }
    let (body, crc) = data.split_at(data.len() - 4);
    if crc32fast::hash(body) != u32::from_le_bytes(crc.try_into().expect("4 bytes")) {
        return Err("checksum mismatch");
    }
    if &body[..8] != MAGIC {
        return Err("bad magic");
    }
    let u64_at = |o: usize| u64::from_le_bytes(body[o..o + 8].try_into().expect("8 bytes"));
    let epoch = u64_at(8);
    let object = u64_at(16);
    let first_seq = u64_at(24);
    let count = u32::from_le_bytes(body[32..36].try_into().expect("4 bytes"));
    let mut records = Vec::with_capacity(count as usize);
    let mut off = HEADER;
    let mut next = first_seq;
    while off < body.len() {
        match record::decode(&body[off..]) {
            Decoded::Record { seq, payload, len } => {
                if seq != next {
                    return Err("unexpected sequence number");
                }
                records.push((seq, payload));
                next += 1;
                off += len;
            }
            Decoded::Incomplete | Decoded::Corrupt => return Err("damaged record"),
        }
    }
    if records.len() != count as usize {
        return Err("record count mismatch");
    }
    Ok(WalObject {
        epoch,
        object,
        first_seq,
        records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let mut recs = Vec::new();
        record::encode(10, b"a", &mut recs);
        record::encode(11, b"bc", &mut recs);
        let obj = encode(3, 7, 10, 2, &recs);
        let d = decode(&obj).unwrap();
        assert_eq!((d.epoch, d.object, d.first_seq), (3, 7, 10));
        assert_eq!(d.records, vec![(10, &b"a"[..]), (11, &b"bc"[..])]);
        let fence = encode(4, 8, 12, 0, &[]);
        assert!(decode(&fence).unwrap().records.is_empty());
        let mut bad = obj.clone();
        bad[40] ^= 1;
        assert_eq!(decode(&bad), Err("checksum mismatch"));
        assert_eq!(decode(&obj[..obj.len() - 1]), Err("checksum mismatch"));
        assert_eq!(decode(b"short"), Err("too short"));
        // A wrong count or a gap in sequences, with a valid checksum.
        assert_eq!(
            decode(&encode(3, 7, 10, 3, &recs)),
            Err("record count mismatch")
        );
        assert_eq!(
            decode(&encode(3, 7, 9, 2, &recs)),
            Err("unexpected sequence number")
        );
    }
}
