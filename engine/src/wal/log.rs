//! The write-ahead log: append, make durable (group commit), replay.
//!
//! Writers call [`Wal::append`] (the record is written to the current
//! segment under a short lock) and then [`Wal::wait_durable`], which returns
//! once the record is on stable storage according to [`FsyncPolicy`]:
//!
//! - `Always`: the first waiter becomes the leader and fsyncs the segment;
//!   every record written before that fsync started is durable when it ends,
//!   so concurrent writers share one fsync (group commit); the others wait.
//! - `Everysec`: a background thread fsyncs once a second; waiting returns
//!   at once (up to a second of acknowledged writes can be lost, like Redis).
//! - `No`: the operating system decides.
//!
//! Recovery ([`Wal::open`]) replays every record in sequence order. A
//! record cut short at the end of the last segment (a crash in the middle
//! of a write) is dropped and the file truncated there; a damaged record
//! anywhere else stops recovery with [`WalError::Corrupt`] naming the file
//! and offset, instead of silently losing what follows it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::record::{self, Decoded, MAX_PAYLOAD};
use super::segment;

/// When appended records reach stable storage (Redis's `appendfsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// Before [`Wal::wait_durable`] returns (group commit).
    #[default]
    Always,
    /// Once a second, in the background.
    Everysec,
    /// Left to the operating system.
    No,
}

/// WAL settings.
#[derive(Debug, Clone)]
pub struct WalConfig {
    /// Directory of the segment files (created if missing).
    pub dir: PathBuf,
    /// Fsync policy.
    pub fsync: FsyncPolicy,
    /// A new segment starts when the current one reaches this size.
    pub segment_bytes: u64,
}

/// WAL failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalError {
    /// Reading or writing the files failed (disk full, permissions, ...).
    #[error("WAL I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A damaged record that is not a torn tail.
    #[error("WAL corrupted in {file} at offset {offset}: {what}")]
    Corrupt {
        /// The segment file.
        file: PathBuf,
        /// Byte offset of the damaged record.
        offset: u64,
        /// What is wrong.
        what: &'static str,
    },
    /// A payload above the record size limit.
    #[error("WAL record too large ({0} bytes)")]
    TooLarge(usize),
}

struct Current {
    file: File,
    first_seq: u64,
    size: u64,
    next_seq: u64,
    buf: Vec<u8>,
}

struct SyncState {
    durable: u64,
    syncing: bool,
}

/// The write-ahead log of one server.
pub struct Wal {
    config: WalConfig,
    current: Mutex<Current>,
    /// Highest sequence written to the current file (read by the syncer).
    written: AtomicU64,
    sync: Mutex<SyncState>,
    synced: Condvar,
    fsyncs: AtomicU64,
    stop: Arc<AtomicBool>,
}

impl Wal {
    /// Opens (or creates) the log in `config.dir`, calling `replay` with
    /// every intact record in sequence order first.
    pub fn open(
        config: WalConfig,
        mut replay: impl FnMut(u64, &[u8]),
    ) -> Result<Arc<Wal>, WalError> {
        std::fs::create_dir_all(&config.dir)?;
        let segments = segment::list(&config.dir)?;
        let mut next_seq = segments.first().map_or(1, |(s, _)| *s);
        let mut last: Option<(u64, PathBuf, u64)> = None;
        for (i, (first, path)) in segments.iter().enumerate() {
            let is_last = i + 1 == segments.len();
            if i > 0 && *first != next_seq {
                return Err(WalError::Corrupt {
                    file: path.clone(),
                    offset: 0,
                    what: "sequence gap between segments",
                });
            }
            let mut data = Vec::new();
            File::open(path)?.read_to_end(&mut data)?;
            let mut off = 0usize;
            while off < data.len() {
                match record::decode(&data[off..]) {
                    Decoded::Record { seq, payload, len } => {
                        if seq != next_seq {
                            return Err(WalError::Corrupt {
                                file: path.clone(),
                                offset: off as u64,
                                what: "unexpected sequence number",
                            });
                        }
                        replay(seq, payload);
                        next_seq += 1;
                        off += len;
                    }
                    Decoded::Incomplete if is_last => break,
                    Decoded::Corrupt if is_last && Self::is_final_record(&data[off..]) => break,
                    Decoded::Incomplete | Decoded::Corrupt => {
                        return Err(WalError::Corrupt {
                            file: path.clone(),
                            offset: off as u64,
                            what: "damaged record",
                        });
                    }
                }
            }
            if off < data.len() {
                // Torn tail of the last segment: drop it.
                let f = OpenOptions::new().write(true).open(path)?;
                f.set_len(off as u64)?;
                f.sync_all()?;
                tracing::warn!(file = %path.display(), dropped = data.len() - off, "truncated a torn record at the end of the WAL");
            }
            last = Some((*first, path.clone(), off as u64));
        }
        let (first_seq, path, size) = match last {
            Some(l) => l,
            None => (next_seq, segment::path(&config.dir, next_seq), 0),
        };
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        sync_dir(&config.dir)?;
        let stop = Arc::new(AtomicBool::new(false));
        let wal = Arc::new(Wal {
            current: Mutex::new(Current {
                file,
                first_seq,
                size,
                next_seq,
                buf: Vec::new(),
            }),
            written: AtomicU64::new(next_seq - 1),
            sync: Mutex::new(SyncState {
                durable: next_seq - 1,
                syncing: false,
            }),
            synced: Condvar::new(),
            fsyncs: AtomicU64::new(0),
            stop: stop.clone(),
            config,
        });
        if wal.config.fsync == FsyncPolicy::Everysec {
            let weak = Arc::downgrade(&wal);
            std::thread::Builder::new()
                .name("wal-everysec".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_secs(1));
                        let Some(w) = weak.upgrade() else { return };
                        if let Err(e) = w.sync_now() {
                            tracing::error!(error = %e, "background WAL fsync failed");
                        }
                    }
                })?;
        }
        Ok(wal)
    }

    /// A damaged record is a torn tail only if nothing follows it.
    fn is_final_record(rest: &[u8]) -> bool {
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        len <= MAX_PAYLOAD && record::HEADER + len >= rest.len()
    }

    /// Appends one record; returns its sequence number. It is written to the
    /// file but durable only after [`Wal::wait_durable`].
    pub fn append(&self, payload: &[u8]) -> Result<u64, WalError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(WalError::TooLarge(payload.len()));
        }
        let mut cur = self.current.lock();
        if cur.size >= self.config.segment_bytes {
            self.roll(&mut cur)?;
        }
        let seq = cur.next_seq;
        let mut buf = std::mem::take(&mut cur.buf);
        buf.clear();
        record::encode(seq, payload, &mut buf);
        let res = cur.file.write_all(&buf);
        cur.buf = buf;
        res?;
        cur.size += (record::HEADER + payload.len()) as u64;
        cur.next_seq += 1;
        self.written.store(seq, Ordering::Release);
        Ok(seq)
    }

    /// Starts a new segment after making the current one durable.
    fn roll(&self, cur: &mut Current) -> Result<(), WalError> {
        cur.file.sync_data()?;
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        let durable = cur.next_seq - 1;
        {
            let mut s = self.sync.lock();
            s.durable = s.durable.max(durable);
        }
        self.synced.notify_all();
        let path = segment::path(&self.config.dir, cur.next_seq);
        cur.file = OpenOptions::new().create(true).append(true).open(&path)?;
        sync_dir(&self.config.dir)?;
        cur.first_seq = cur.next_seq;
        cur.size = 0;
        Ok(())
    }

    /// Returns when record `seq` is durable under the fsync policy.
    pub fn wait_durable(&self, seq: u64) -> Result<(), WalError> {
        if self.config.fsync != FsyncPolicy::Always {
            return Ok(());
        }
        let mut s = self.sync.lock();
        loop {
            if s.durable >= seq {
                return Ok(());
            }
            if s.syncing {
                self.synced.wait(&mut s);
                continue;
            }
            s.syncing = true;
            drop(s);
            let result = self.sync_now();
            s = self.sync.lock();
            s.syncing = false;
            self.synced.notify_all();
            result?;
        }
    }

    /// Fsyncs everything written so far.
    fn sync_now(&self) -> Result<(), WalError> {
        let (file, target) = {
            let cur = self.current.lock();
            (cur.file.try_clone()?, self.written.load(Ordering::Acquire))
        };
        file.sync_data()?;
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        let mut s = self.sync.lock();
        s.durable = s.durable.max(target);
        drop(s);
        self.synced.notify_all();
        Ok(())
    }

    /// Deletes whole segments whose records are all below `seq` (after a
    /// commit covered them). Returns how many files were removed.
    pub fn truncate_below(&self, seq: u64) -> Result<usize, WalError> {
        let current_first = self.current.lock().first_seq;
        let segments = segment::list(&self.config.dir)?;
        let mut removed = 0;
        for (i, (first, path)) in segments.iter().enumerate() {
            let next_first = segments.get(i + 1).map(|(f, _)| *f);
            if *first < current_first && next_first.is_some_and(|n| n <= seq) {
                std::fs::remove_file(path)?;
                removed += 1;
            }
        }
        if removed > 0 {
            sync_dir(&self.config.dir)?;
        }
        Ok(removed)
    }

    /// Sequence the next append will get.
    pub fn next_seq(&self) -> u64 {
        self.current.lock().next_seq
    }

    /// Number of fsyncs performed (group commit makes this smaller than the
    /// number of durable appends under concurrency).
    pub fn fsyncs(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}
