//! WAL tests: recovery, segment rolling, torn tails, corruption, group commit.

use std::sync::Arc;

use super::{FsyncPolicy, Wal, WalConfig, WalError, segment};

fn config(dir: &std::path::Path, fsync: FsyncPolicy, segment_bytes: u64) -> WalConfig {
    WalConfig {
        dir: dir.to_path_buf(),
        fsync,
        segment_bytes,
        start_after: 0,
    }
}

/// Records replayed on open: (sequence, payload).
type Replayed = Vec<(u64, Vec<u8>)>;

fn replay_all(cfg: &WalConfig) -> Result<(Arc<Wal>, Replayed), WalError> {
    let mut got = Vec::new();
    let wal = Wal::open(cfg.clone(), |seq, p| {
        got.push((seq, p.to_vec()));
        Ok(())
    })?;
    Ok((wal, got))
}

#[test]
fn records_survive_reopen_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), FsyncPolicy::Always, 64 << 20);
    let (wal, got) = replay_all(&cfg).unwrap();
    assert!(got.is_empty());
    for i in 0..1000u32 {
        let seq = wal.append(format!("record {i}").as_bytes()).unwrap();
        wal.wait_durable(seq).unwrap();
        assert_eq!(seq, u64::from(i) + 1);
    }
    drop(wal);
    let (wal, got) = replay_all(&cfg).unwrap();
    assert_eq!(got.len(), 1000);
    assert_eq!(got[999], (1000, b"record 999".to_vec()));
    assert_eq!(wal.next_seq(), 1001, "sequence numbers continue");
}

#[test]
fn segments_roll_and_old_ones_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), FsyncPolicy::No, 1000);
    let (wal, _) = replay_all(&cfg).unwrap();
    for _ in 0..300 {
        wal.append(&[7u8; 50]).unwrap();
    }
    let segs = segment::list(dir.path()).unwrap();
    assert!(segs.len() > 10, "{} segments", segs.len());
    let removed = wal.truncate_below(150).unwrap();
    assert!(removed > 0);
    drop(wal);
    // A start that knows the commit covering 149 replays from 150 on.
    let covered = WalConfig {
        start_after: 149,
        ..cfg.clone()
    };
    let (_, got) = replay_all(&covered).unwrap();
    assert_eq!(got.first().unwrap().0, 150, "records from 150 on are kept");
    assert_eq!(got.last().unwrap().0, 300);
    assert!(got.windows(2).all(|w| w[1].0 == w[0].0 + 1));
    // A start that does not know that commit would miss records: refused.
    match replay_all(&cfg) {
        Err(WalError::Corrupt { what, .. }) => assert!(what.contains("no loaded commit")),
        other => panic!("{:?}", other.map(|(_, g)| g.len())),
    }
    // A commit past the end of the log: numbering continues after it.
    let ahead = WalConfig {
        start_after: 1000,
        ..cfg.clone()
    };
    let (wal, got) = replay_all(&ahead).unwrap();
    assert!(got.is_empty());
    assert_eq!(wal.next_seq(), 1001);
}

#[test]
fn torn_tail_is_truncated_and_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), FsyncPolicy::Always, 64 << 20);
    let (wal, _) = replay_all(&cfg).unwrap();
    for i in 0..10u8 {
        let s = wal.append(&[i; 100]).unwrap();
        wal.wait_durable(s).unwrap();
    }
    drop(wal);
    let (_, path) = segment::list(dir.path()).unwrap().pop().unwrap();
    let len = std::fs::metadata(&path).unwrap().len();
    // A crash in the middle of the last write.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len - 37)
        .unwrap();
    let (wal, got) = replay_all(&cfg).unwrap();
    assert_eq!(got.len(), 9);
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        9 * 116,
        "torn bytes removed"
    );
    let s = wal.append(b"after").unwrap();
    assert_eq!(s, 10);
    wal.wait_durable(s).unwrap();
    drop(wal);
    let (_, got) = replay_all(&cfg).unwrap();
    assert_eq!(got.last().unwrap(), &(10, b"after".to_vec()));
    // A torn last record whose checksum is wrong (partial sector write).
    let len = std::fs::metadata(&path).unwrap().len();
    let mut data = std::fs::read(&path).unwrap();
    let last = data.len() - 1;
    data[last] ^= 0xff;
    std::fs::write(&path, &data).unwrap();
    let (_, got) = replay_all(&cfg).unwrap();
    assert_eq!(got.len(), 9);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len - 21);
}

#[test]
fn corrupted_middle_record_stops_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), FsyncPolicy::Always, 64 << 20);
    let (wal, _) = replay_all(&cfg).unwrap();
    for i in 0..10u8 {
        wal.append(&[i; 100]).unwrap();
    }
    wal.wait_durable(10).unwrap();
    drop(wal);
    let (_, path) = segment::list(dir.path()).unwrap().pop().unwrap();
    let mut data = std::fs::read(&path).unwrap();
    data[116 * 3 + 40] ^= 0x01; // inside record 4's payload
    std::fs::write(&path, &data).unwrap();
    match replay_all(&cfg) {
        Err(WalError::Corrupt { offset, .. }) => assert_eq!(offset, 116 * 3),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("a damaged middle record must not be skipped"),
    }
    assert_eq!(
        std::fs::read(&path).unwrap(),
        data,
        "nothing is truncated on corruption"
    );
}

#[test]
fn concurrent_writers_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), FsyncPolicy::Always, 64 << 20);
    let (wal, _) = replay_all(&cfg).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let wal = wal.clone();
            std::thread::spawn(move || {
                for i in 0..200 {
                    let seq = wal.append(format!("{t}:{i}").as_bytes()).unwrap();
                    wal.wait_durable(seq).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let fsyncs = wal.fsyncs();
    eprintln!("1600 durable appends, {fsyncs} fsyncs");
    assert!(fsyncs <= 1600);
    drop(wal);
    let (_, got) = replay_all(&cfg).unwrap();
    assert_eq!(got.len(), 1600);
    for t in 0..8 {
        let mine: Vec<String> = got
            .iter()
            .map(|(_, p)| String::from_utf8(p.clone()).unwrap())
            .filter(|p| p.starts_with(&format!("{t}:")))
            .collect();
        let expected: Vec<String> = (0..200).map(|i| format!("{t}:{i}")).collect();
        assert_eq!(mine, expected, "each writer's records in its order");
    }
}

#[test]
fn everysec_syncs_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), FsyncPolicy::Everysec, 64 << 20);
    let (wal, _) = replay_all(&cfg).unwrap();
    let s = wal.append(b"x").unwrap();
    wal.wait_durable(s).unwrap();
    assert_eq!(wal.fsyncs(), 0, "waiting does not fsync under everysec");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(wal.fsyncs() >= 1, "the background thread synced");
    assert!(matches!(
        wal.append(&vec![0u8; (1 << 30) + 1]),
        Err(WalError::TooLarge(_))
    ));
}
