//! The slow log (SLOWLOG): commands that ran longer than
//! `slowlog-log-slower-than` µs, newest first, at most `slowlog-max-len`.
//! As in Redis, an entry keeps at most 32 arguments (the last one saying
//! how many more there were) and at most 128 bytes of each.

use std::collections::VecDeque;

use bytes::Bytes;
use parking_lot::Mutex;

/// Arguments kept per entry.
const MAX_ARGS: usize = 32;
/// Bytes kept per argument.
const MAX_ARG_LEN: usize = 128;

/// One slow command.
#[derive(Debug, Clone)]
pub struct SlowEntry {
    /// Unique, increasing id.
    pub id: u64,
    /// When it ran, Unix seconds.
    pub time: u64,
    /// How long it ran, µs.
    pub duration_us: u64,
    /// Its arguments (trimmed).
    pub args: Vec<Bytes>,
    /// Client address `ip:port`.
    pub addr: String,
    /// Client name.
    pub name: String,
}

/// The log.
#[derive(Default)]
pub struct SlowLog {
    inner: Mutex<(u64, VecDeque<SlowEntry>)>,
}

/// The arguments as an entry keeps them.
fn trim(args: &[Bytes]) -> Vec<Bytes> {
    let keep = if args.len() > MAX_ARGS {
        MAX_ARGS - 1
    } else {
        args.len()
    };
    let mut out: Vec<Bytes> = args[..keep]
        .iter()
        .map(|a| {
            if a.len() > MAX_ARG_LEN {
                let mut v = a[..MAX_ARG_LEN].to_vec();
                v.extend_from_slice(
                    format!("... ({} more bytes)", a.len() - MAX_ARG_LEN).as_bytes(),
                );
                Bytes::from(v)
            } else {
                a.clone()
            }
        })
        .collect();
    if args.len() > MAX_ARGS {
        out.push(Bytes::from(format!(
            "... ({} more arguments)",
            args.len() - keep
        )));
    }
    out
}

impl SlowLog {
    /// Adds an entry, dropping the oldest beyond `max_len`.
    pub fn push(
        &self,
        max_len: usize,
        time: u64,
        duration_us: u64,
        args: &[Bytes],
        addr: String,
        name: String,
    ) {
        let args = trim(args);
        let mut g = self.inner.lock();
        let id = g.0;
        g.0 += 1;
        if max_len == 0 {
            return;
        }
        g.1.push_front(SlowEntry {
            id,
            time,
            duration_us,
            args,
            addr,
            name,
        });
        g.1.truncate(max_len);
    }

    /// Up to `count` newest entries (all when `None`).
    pub fn get(&self, count: Option<usize>) -> Vec<SlowEntry> {
        let g = self.inner.lock();
        g.1.iter()
            .take(count.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.inner.lock().1.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every entry (ids keep increasing).
    pub fn reset(&self) {
        self.inner.lock().1.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_like_redis_and_keeps_the_newest() {
        let log = SlowLog::default();
        let many: Vec<Bytes> = (0..40).map(|i| Bytes::from(format!("a{i}"))).collect();
        log.push(2, 1, 10, &many, "1.2.3.4:5".into(), String::new());
        let e = &log.get(None)[0];
        assert_eq!(e.args.len(), 32);
        assert_eq!(&e.args[31][..], b"... (9 more arguments)");
        log.push(
            2,
            2,
            20,
            &[Bytes::from(vec![b'x'; 200])],
            String::new(),
            String::new(),
        );
        let e = &log.get(Some(1))[0];
        assert_eq!(e.args[0].len(), 128 + "... (72 more bytes)".len());
        log.push(
            2,
            3,
            30,
            &[Bytes::from_static(b"get")],
            String::new(),
            String::new(),
        );
        let all = log.get(None);
        assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), vec![2, 1]);
        log.reset();
        assert!(log.is_empty());
    }
}
