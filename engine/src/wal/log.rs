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
//! The records go to segment files on local disk ([`Wal::open`]), or, with
//! `--wal-storage object`, to WAL objects in the lake ([`Wal::open_objects`]):
//! there a "sync" is the upload of everything appended since the last one
//! as the next object of the chain (see `wal::object`), created with a
//! conditional put through an [`ObjectSink`]; group commit works the same
//! way (one upload acknowledges every write it covers). An upload that
//! fails is retried (writes are refused meanwhile, as after a failed
//! fsync); finding the object number taken by another writer means this
//! writer was fenced: nothing more is acknowledged.
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
#[repr(u8)]
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
    /// Records up to this sequence are covered by a commit: recovery skips
    /// them, and numbering continues after it even when the log is empty.
    pub start_after: u64,
}

/// Stores WAL objects (the lake's object store, through the storage layer).
pub trait ObjectSink: Send + Sync {
    /// Creates object `number` with `data` unless it exists. Must answer
    /// `Ok` when the object already holds exactly `data` (an earlier
    /// attempt that succeeded without an answer), [`SinkError::Taken`]
    /// when it holds something else.
    fn put(&self, number: u64, data: Vec<u8>) -> Result<(), SinkError>;
}

/// Why an object could not be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkError {
    /// Another writer's object has this number: this writer is fenced.
    Taken(String),
    /// The store failed; the upload is retried.
    Failed(String),
}

/// Where an object-store WAL writes.
#[derive(Clone)]
pub struct ObjectTarget {
    /// The store.
    pub sink: Arc<dyn ObjectSink>,
    /// This writer's epoch (written into every object).
    pub epoch: u64,
    /// Number of the next object of the chain.
    pub next_object: u64,
}

impl std::fmt::Debug for ObjectTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectTarget")
            .field("epoch", &self.epoch)
            .field("next_object", &self.next_object)
            .finish()
    }
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
    /// The replay callback refused a record.
    #[error("WAL record {seq} cannot be applied: {what}")]
    Replay {
        /// Sequence of the record.
        seq: u64,
        /// Why.
        what: String,
    },
    /// An earlier fsync failed; the log refuses to acknowledge writes
    /// until a retry succeeds.
    #[error("{0}")]
    Failed(String),
}

/// Called after every fsync with the durable sequence and whether the log
/// is in a failed state.
pub type DurableListener = Box<dyn Fn(u64, bool) + Send + Sync>;

struct Current {
    out: Out,
    next_seq: u64,
    buf: Vec<u8>,
}

/// Where appended records go.
enum Out {
    /// The current segment file.
    File {
        file: File,
        first_seq: u64,
        size: u64,
    },
    /// Records waiting for the next WAL object.
    Objects {
        pending: Vec<u8>,
        first_seq: u64,
        count: u32,
        next_object: u64,
    },
}

/// A WAL object being uploaded (kept for a retry after a failure).
struct Batch {
    number: u64,
    last_seq: u64,
    data: Vec<u8>,
}

struct SyncState {
    durable: u64,
    /// A writer waits for an fsync (Always).
    pending: bool,
    /// The last fsync failed with this error.
    failed: Option<String>,
    /// Another writer took over (object WAL): never acknowledge again.
    fenced: bool,
}

/// The write-ahead log of one server.
pub struct Wal {
    config: WalConfig,
    /// The fsync policy now (`config.fsync` at start; CONFIG SET appendfsync
    /// changes it).
    policy: std::sync::atomic::AtomicU8,
    current: Mutex<Current>,
    /// Highest sequence written to the current file (read by the syncer).
    written: AtomicU64,
    /// Bytes appended since the log was opened.
    appended: AtomicU64,
    /// Vector inserts appended since the log was opened.
    inserts: AtomicU64,
    sync: Mutex<SyncState>,
    /// Wakes the sync thread.
    requested: Condvar,
    /// Wakes blocking waiters after an fsync.
    synced: Condvar,
    listener: Mutex<Option<DurableListener>>,
    fsyncs: AtomicU64,
    fsync_us: AtomicU64,
    stop: Arc<AtomicBool>,
    /// The object store, for an object WAL.
    objects: Option<ObjectTarget>,
    /// An object whose upload failed, retried before anything newer.
    retry: Mutex<Option<Batch>>,
}

impl Wal {
    /// Opens (or creates) the log in `config.dir`, calling `replay` with
    /// every intact record in sequence order first.
    pub fn open(
        config: WalConfig,
        mut replay: impl FnMut(u64, &[u8]) -> Result<(), String>,
    ) -> Result<Arc<Wal>, WalError> {
        std::fs::create_dir_all(&config.dir)?;
        let segments = segment::list(&config.dir)?;
        let mut next_seq = segments.first().map_or(1, |(s, _)| *s);
        if let Some((first, path)) = segments.first()
            && *first > config.start_after + 1
        {
            // Records start_after+1 .. first-1 were deleted after a commit
            // that this start does not know about (another storage root?).
            return Err(WalError::Corrupt {
                file: path.clone(),
                offset: 0,
                what: "the WAL starts after records that no loaded commit covers (was --storage changed for this --dir?)",
            });
        }
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
                        if seq > config.start_after {
                            replay(seq, payload).map_err(|what| WalError::Replay { seq, what })?;
                        }
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
            Some(l) if next_seq > config.start_after => l,
            _ => {
                // Empty, or wholly covered by a commit (e.g. the WAL directory
                // was replaced): start a fresh segment after the commit.
                for (_, p) in &segments {
                    std::fs::remove_file(p)?;
                }
                next_seq = next_seq.max(config.start_after + 1);
                (next_seq, segment::path(&config.dir, next_seq), 0)
            }
        };
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        sync_dir(&config.dir)?;
        let out = Out::File {
            file,
            first_seq,
            size,
        };
        Self::start(config, out, next_seq, None)
    }

    /// Opens a WAL that stores its records as objects through `target`
    /// (`--wal-storage object`), numbering records after `start_after`.
    /// Replaying the chain is the storage layer's job, before this.
    pub fn open_objects(
        target: ObjectTarget,
        fsync: FsyncPolicy,
        start_after: u64,
    ) -> Result<Arc<Wal>, WalError> {
        let next_seq = start_after + 1;
        let out = Out::Objects {
            pending: Vec::new(),
            first_seq: next_seq,
            count: 0,
            next_object: target.next_object,
        };
        let config = WalConfig {
            dir: PathBuf::new(),
            fsync,
            segment_bytes: u64::MAX,
            start_after,
        };
        Self::start(config, out, next_seq, Some(target))
    }

    fn start(
        config: WalConfig,
        out: Out,
        next_seq: u64,
        objects: Option<ObjectTarget>,
    ) -> Result<Arc<Wal>, WalError> {
        let stop = Arc::new(AtomicBool::new(false));
        let wal = Arc::new(Wal {
            current: Mutex::new(Current {
                out,
                next_seq,
                buf: Vec::new(),
            }),
            written: AtomicU64::new(next_seq - 1),
            appended: AtomicU64::new(0),
            inserts: AtomicU64::new(0),
            sync: Mutex::new(SyncState {
                durable: next_seq - 1,
                pending: false,
                failed: None,
                fenced: false,
            }),
            requested: Condvar::new(),
            synced: Condvar::new(),
            listener: Mutex::new(None),
            fsyncs: AtomicU64::new(0),
            fsync_us: AtomicU64::new(0),
            stop: stop.clone(),
            objects,
            retry: Mutex::new(None),
            policy: std::sync::atomic::AtomicU8::new(config.fsync as u8),
            config,
        });
        // Both threads run whatever the policy, so it can change at run
        // time: the group-commit thread serves `always`; the other syncs
        // once a second under `everysec`, and under every policy but
        // `always` for an object WAL (which uploads before acknowledging).
        let weak = Arc::downgrade(&wal);
        let stop_sync = stop.clone();
        std::thread::Builder::new()
            .name("wal-sync".into())
            .spawn(move || Self::sync_loop(&weak, &stop_sync))?;
        let weak = Arc::downgrade(&wal);
        std::thread::Builder::new()
            .name("wal-everysec".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_secs(1));
                    let Some(w) = weak.upgrade() else { return };
                    let p = w.policy();
                    if p == FsyncPolicy::Everysec || (p == FsyncPolicy::No && w.objects.is_some()) {
                        w.sync_now();
                    }
                }
            })?;
        Ok(wal)
    }

    /// The group-commit thread (Always): waits until a writer asks, then
    /// fsyncs everything written so far in one call. Writes that arrive
    /// during an fsync are covered together by the next one. After a failure
    /// it retries once a second.
    fn sync_loop(weak: &std::sync::Weak<Wal>, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            // Hold the log only for one round, so dropping it ends the thread.
            let Some(w) = weak.upgrade() else { return };
            let mut s = w.sync.lock();
            if !s.pending {
                let failed = s.failed.is_some();
                let wait = Duration::from_millis(if failed { 1000 } else { 200 });
                let timed_out = w.requested.wait_for(&mut s, wait).timed_out();
                let retry = timed_out && failed;
                if !s.pending && !retry {
                    continue;
                }
            }
            s.pending = false;
            drop(s);
            w.sync_now();
        }
    }

    /// A damaged record is a torn tail only if nothing follows it.
    fn is_final_record(rest: &[u8]) -> bool {
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        len <= MAX_PAYLOAD && record::HEADER + len >= rest.len()
    }

    /// Appends one record; returns its sequence number. It is written to the
    /// file but durable only after [`Wal::wait_durable`].
    pub fn append(&self, payload: &[u8]) -> Result<u64, WalError> {
        self.append_weighted(payload, 0)
    }

    /// [`Wal::append`] for a record holding `inserts` vector inserts
    /// (counted in [`Wal::vector_inserts`]: the flusher bounds how many a
    /// restart must replay).
    pub fn append_weighted(&self, payload: &[u8], inserts: u64) -> Result<u64, WalError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(WalError::TooLarge(payload.len()));
        }
        let mut cur = self.current.lock();
        let cur = &mut *cur;
        if let Out::File { size, .. } = &cur.out
            && *size >= self.config.segment_bytes
        {
            self.roll(cur)?;
        }
        let seq = cur.next_seq;
        match &mut cur.out {
            Out::File { file, size, .. } => {
                let buf = &mut cur.buf;
                buf.clear();
                record::encode(seq, payload, buf);
                if let Err(e) = file.write_all(buf) {
                    // A partial record must not stay in front of the next one.
                    if let Err(t) = file.set_len(*size) {
                        self.fail(format!("{t}"));
                    }
                    return Err(e.into());
                }
                *size += (record::HEADER + payload.len()) as u64;
            }
            Out::Objects { pending, count, .. } => {
                record::encode(seq, payload, pending);
                *count += 1;
            }
        }
        cur.next_seq += 1;
        if inserts > 0 {
            self.inserts.fetch_add(inserts, Ordering::Relaxed);
        }
        self.appended
            .fetch_add((record::HEADER + payload.len()) as u64, Ordering::Relaxed);
        self.written.store(seq, Ordering::Release);
        Ok(seq)
    }

    /// Starts a new segment after making the current one durable.
    fn roll(&self, cur: &mut Current) -> Result<(), WalError> {
        let Out::File {
            file,
            first_seq,
            size,
        } = &mut cur.out
        else {
            return Ok(());
        };
        file.sync_data()?;
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        let durable = cur.next_seq - 1;
        {
            let mut s = self.sync.lock();
            s.durable = s.durable.max(durable);
        }
        self.synced.notify_all();
        let path = segment::path(&self.config.dir, cur.next_seq);
        *file = OpenOptions::new().create(true).append(true).open(&path)?;
        sync_dir(&self.config.dir)?;
        *first_seq = cur.next_seq;
        *size = 0;
        Ok(())
    }

    /// Returns when record `seq` is durable under the fsync policy
    /// (blocking; the server waits without blocking through
    /// [`Wal::set_listener`] and [`Wal::request_sync`]).
    pub fn wait_durable(&self, seq: u64) -> Result<(), WalError> {
        if self.policy() != FsyncPolicy::Always {
            return Ok(());
        }
        let mut s = self.sync.lock();
        let mut asked = false;
        loop {
            if s.durable >= seq {
                return Ok(());
            }
            if asked && let Some(e) = &s.failed {
                return Err(WalError::Failed(e.clone()));
            }
            s.pending = true;
            asked = true;
            self.requested.notify_one();
            self.synced.wait(&mut s);
        }
    }

    /// Fsyncs everything written so far, now (shutdown).
    pub fn sync_all(&self) -> Result<(), WalError> {
        self.sync_now();
        match self.failure() {
            Some(e) => Err(WalError::Failed(e)),
            None => Ok(()),
        }
    }

    /// Asks the sync thread for an fsync of everything written so far
    /// (Always); the listener hears when it is done.
    pub fn request_sync(&self) {
        if self.policy() != FsyncPolicy::Always {
            return;
        }
        let mut s = self.sync.lock();
        s.pending = true;
        drop(s);
        self.requested.notify_one();
    }

    /// Installs the function told about every fsync (durable sequence,
    /// failed state).
    pub fn set_listener(&self, listener: DurableListener) {
        *self.listener.lock() = Some(listener);
    }

    /// Fsyncs (or uploads) everything written so far and tells waiters and
    /// the listener.
    fn sync_now(&self) {
        let started = std::time::Instant::now();
        let result = match &self.objects {
            None => self.fsync_file(),
            Some(target) => self.upload(target),
        };
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.fsync_us
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        let mut s = self.sync.lock();
        match result {
            Ok(target) => {
                s.durable = s.durable.max(target);
                if !s.fenced && s.failed.take().is_some() {
                    tracing::warn!("WAL writes work again");
                }
            }
            Err(SinkError::Taken(e)) => {
                tracing::error!(error = %e, "WAL object taken by another writer: fenced");
                s.fenced = true;
                s.failed = Some(e);
            }
            Err(SinkError::Failed(e)) => {
                tracing::error!(error = %e, "WAL fsync/upload failed");
                s.failed = Some(e);
            }
        }
        let (durable, failed) = (s.durable, s.failed.is_some());
        drop(s);
        self.synced.notify_all();
        if let Some(l) = &*self.listener.lock() {
            l(durable, failed);
        }
    }

    /// Fsyncs the current segment; returns the sequence it covers.
    fn fsync_file(&self) -> Result<u64, SinkError> {
        let (file, target) = {
            let cur = self.current.lock();
            let Out::File { file, .. } = &cur.out else {
                return Ok(self.written.load(Ordering::Acquire));
            };
            (
                file.try_clone()
                    .map_err(|e| SinkError::Failed(e.to_string()))?,
                self.written.load(Ordering::Acquire),
            )
        };
        file.sync_data()
            .map_err(|e| SinkError::Failed(e.to_string()))?;
        Ok(target)
    }

    /// Uploads the records appended so far as WAL objects (a failed one
    /// first); returns the last sequence stored.
    fn upload(&self, target: &ObjectTarget) -> Result<u64, SinkError> {
        if self.sync.lock().fenced {
            return Err(SinkError::Taken(
                "this writer was fenced by a newer writer of the lake".into(),
            ));
        }
        let mut retry = self.retry.lock();
        let mut stored = self.sync.lock().durable;
        // Bounded, so a steady stream of appends cannot keep one call busy.
        for _ in 0..64 {
            let batch = match retry.take() {
                Some(b) => b,
                None => {
                    let mut cur = self.current.lock();
                    let last_seq = cur.next_seq - 1;
                    let Out::Objects {
                        pending,
                        first_seq,
                        count,
                        next_object,
                    } = &mut cur.out
                    else {
                        return Ok(last_seq);
                    };
                    if *count == 0 {
                        return Ok(last_seq);
                    }
                    let data = super::object::encode(
                        target.epoch,
                        *next_object,
                        *first_seq,
                        *count,
                        pending,
                    );
                    let b = Batch {
                        number: *next_object,
                        last_seq,
                        data,
                    };
                    pending.clear();
                    *next_object += 1;
                    *first_seq = last_seq + 1;
                    *count = 0;
                    b
                }
            };
            match target.sink.put(batch.number, batch.data.clone()) {
                Ok(()) => {
                    stored = batch.last_seq;
                    let mut s = self.sync.lock();
                    s.durable = s.durable.max(stored);
                }
                Err(SinkError::Failed(e)) => {
                    *retry = Some(batch);
                    return Err(SinkError::Failed(e));
                }
                Err(taken) => return Err(taken),
            }
        }
        Ok(stored)
    }

    /// Number of the next WAL object this log will create (object WAL):
    /// every record appended after this call goes into it or a later one.
    pub fn next_object(&self) -> Option<u64> {
        let retry = self.retry.lock().as_ref().map(|b| b.number);
        match &self.current.lock().out {
            Out::Objects { next_object, .. } => Some(retry.unwrap_or(*next_object)),
            Out::File { .. } => None,
        }
    }

    /// Whether records go to the object store.
    pub fn is_object(&self) -> bool {
        self.objects.is_some()
    }

    /// Whether another writer fenced this one (object WAL).
    pub fn is_fenced(&self) -> bool {
        self.sync.lock().fenced
    }

    /// Marks the log failed (writes are refused until an fsync succeeds).
    pub(crate) fn fail(&self, what: String) {
        self.sync.lock().failed = Some(what);
        self.requested.notify_one();
    }

    /// The error that put the log in a failed state, if any.
    pub fn failure(&self) -> Option<String> {
        self.sync.lock().failed.clone()
    }

    /// Bytes appended since the log was opened.
    pub fn appended_bytes(&self) -> u64 {
        self.appended.load(Ordering::Relaxed)
    }

    /// Vector inserts appended since the log was opened.
    pub fn vector_inserts(&self) -> u64 {
        self.inserts.load(Ordering::Relaxed)
    }

    /// Highest sequence appended so far.
    pub fn written_seq(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    /// Highest sequence known durable.
    pub fn durable_seq(&self) -> u64 {
        if self.policy() == FsyncPolicy::Always {
            self.sync.lock().durable
        } else {
            self.written_seq()
        }
    }

    /// The fsync policy.
    pub fn policy(&self) -> FsyncPolicy {
        match self.policy.load(Ordering::Relaxed) {
            0 => FsyncPolicy::Always,
            1 => FsyncPolicy::Everysec,
            _ => FsyncPolicy::No,
        }
    }

    /// Changes the fsync policy (CONFIG SET appendfsync). Records already
    /// written are fsynced first when moving to `always`, so a later
    /// acknowledgement covers them.
    pub fn set_policy(&self, policy: FsyncPolicy) {
        self.policy.store(policy as u8, Ordering::Relaxed);
        if policy == FsyncPolicy::Always {
            self.request_sync();
        }
    }

    /// Total bytes of the segment files.
    pub fn size_bytes(&self) -> u64 {
        if let Out::Objects { pending, .. } = &self.current.lock().out {
            return pending.len() as u64;
        }
        segment::list(&self.config.dir)
            .map(|l| {
                l.iter()
                    .filter_map(|(_, p)| std::fs::metadata(p).ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }

    /// Deletes whole segments whose records are all below `seq` (after a
    /// commit covered them). Returns how many files were removed.
    pub fn truncate_below(&self, seq: u64) -> Result<usize, WalError> {
        let current_first = match &self.current.lock().out {
            Out::File { first_seq, .. } => *first_seq,
            Out::Objects { .. } => return Ok(0),
        };
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

    /// Total time spent in the fsyncs of [`Wal::fsyncs`] (group commits
    /// and the once-a-second thread; not segment rolls), µs.
    pub fn fsync_micros(&self) -> u64 {
        self.fsync_us.load(Ordering::Relaxed)
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.requested.notify_all();
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}
