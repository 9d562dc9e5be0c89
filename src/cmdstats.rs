//! Per-command statistics: calls, time, rejected and failed calls, and a
//! latency histogram per command (INFO commandstats and latencystats), and
//! error replies by their first word (INFO errorstats).
//!
//! The histogram has 8 linear sub-buckets per power of two of microseconds
//! (relative error under 12.5%), so percentiles are approximate like Redis's
//! own (HdrHistogram with 2 significant digits).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::OnceLock;

use parking_lot::Mutex;

use crate::cmd::table;

/// Buckets: values 0..8 exactly, then 8 per power of two up to 2^42 µs.
const BUCKETS: usize = 8 + 40 * 8;
/// At most this many distinct error codes are counted (as Redis).
const MAX_ERROR_CODES: usize = 128;

/// Counters of one command.
pub struct Entry {
    /// Full name (`get`, `client|list`).
    pub name: &'static str,
    calls: AtomicU64,
    usec: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
    hist: Box<[AtomicU64]>,
}

/// A snapshot of one command's counters.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Calls that ran.
    pub calls: u64,
    /// Total time of those calls, µs.
    pub usec: u64,
    /// Calls refused before running (arity, auth, MISCONF ...).
    pub rejected: u64,
    /// Calls that ran and replied with an error.
    pub failed: u64,
}

fn bucket(us: u64) -> usize {
    if us < 8 {
        return us as usize;
    }
    let e = 63 - us.leading_zeros() as usize;
    let sub = ((us >> (e - 3)) & 7) as usize;
    (8 + (e - 3) * 8 + sub).min(BUCKETS - 1)
}

/// Upper bound (exclusive) of bucket `i`, µs.
fn bucket_top(i: usize) -> u64 {
    if i < 8 {
        return i as u64 + 1;
    }
    let e = (i - 8) / 8 + 3;
    let sub = ((i - 8) % 8) as u64;
    (8 + sub + 1) << (e - 3)
}

impl Entry {
    fn new(name: &'static str) -> Entry {
        Entry {
            name,
            calls: AtomicU64::new(0),
            usec: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            hist: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// The counters now.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            calls: self.calls.load(Ordering::Relaxed),
            usec: self.usec.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }

    /// Latency percentiles (µs) for each of `ps` (0..100), from the
    /// histogram; `None` before the first call.
    pub fn percentiles(&self, ps: &[f64]) -> Option<Vec<f64>> {
        let counts: Vec<u64> = self
            .hist
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        Some(
            ps.iter()
                .map(|p| {
                    let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
                    let mut seen = 0;
                    for (i, c) in counts.iter().enumerate() {
                        seen += c;
                        if seen >= rank {
                            return bucket_top(i) as f64;
                        }
                    }
                    bucket_top(BUCKETS - 1) as f64
                })
                .collect(),
        )
    }
}

/// Statistics of every command.
pub struct CommandStats {
    entries: Vec<Entry>,
    index: HashMap<&'static str, usize>,
    errors: Mutex<HashMap<String, u64>>,
    /// Prometheus handles per entry, when `--metrics-addr` is set.
    metrics: OnceLock<Vec<Handles>>,
}

/// The `metrics` handles of one command (registered once, so recording is
/// a few atomic operations with no lookup by name).
struct Handles {
    duration: metrics::Histogram,
    failed: metrics::Counter,
    rejected: metrics::Counter,
}

impl Default for CommandStats {
    fn default() -> Self {
        let mut entries = Vec::new();
        for spec in table::all() {
            entries.push(Entry::new(spec.name));
            for sub in spec.subcommands {
                entries.push(Entry::new(sub.name));
            }
        }
        let index = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name, i))
            .collect();
        CommandStats {
            entries,
            index,
            errors: Mutex::new(HashMap::new()),
            metrics: OnceLock::new(),
        }
    }
}

impl CommandStats {
    fn entry(&self, name: &str) -> Option<(usize, &Entry)> {
        self.index.get(name).map(|&i| (i, &self.entries[i]))
    }

    /// Also records into the Prometheus recorder from now on.
    pub fn enable_metrics(&self) {
        let _ = self.metrics.set(
            self.entries
                .iter()
                .map(|e| Handles {
                    duration: metrics::histogram!("vexlake_command_duration_seconds", "cmd" => e.name),
                    failed: metrics::counter!("vexlake_command_failed_total", "cmd" => e.name),
                    rejected: metrics::counter!("vexlake_command_rejected_total", "cmd" => e.name),
                })
                .collect(),
        );
    }

    /// A call of `name` that ran for `us` µs (`failed`: it replied with an
    /// error).
    pub fn record(&self, name: &str, us: u64, failed: bool) {
        if let Some((i, e)) = self.entry(name) {
            e.calls.fetch_add(1, Ordering::Relaxed);
            e.usec.fetch_add(us, Ordering::Relaxed);
            e.hist[bucket(us)].fetch_add(1, Ordering::Relaxed);
            if failed {
                e.failed.fetch_add(1, Ordering::Relaxed);
            }
            if let Some(m) = self.metrics.get() {
                m[i].duration.record(us as f64 / 1e6);
                if failed {
                    m[i].failed.increment(1);
                }
            }
        }
    }

    /// A call of `name` refused before it ran.
    pub fn reject(&self, name: &str) {
        if let Some((i, e)) = self.entry(name) {
            e.rejected.fetch_add(1, Ordering::Relaxed);
            if let Some(m) = self.metrics.get() {
                m[i].rejected.increment(1);
            }
        }
    }

    /// An error reply `line` (counted by its first word: `ERR`, `WRONGTYPE`).
    pub fn error(&self, line: &str) {
        let code = line.split(' ').next().unwrap_or("ERR");
        if self.metrics.get().is_some() {
            metrics::counter!("vexlake_errors_total", "kind" => code.to_string()).increment(1);
        }
        let mut errors = self.errors.lock();
        if let Some(n) = errors.get_mut(code) {
            *n += 1;
        } else if errors.len() < MAX_ERROR_CODES {
            errors.insert(code.to_string(), 1);
        }
    }

    /// Commands called at least once (or rejected), in table order.
    pub fn used(&self) -> impl Iterator<Item = (&Entry, Snapshot)> {
        self.entries
            .iter()
            .map(|e| (e, e.snapshot()))
            .filter(|(_, s)| s.calls > 0 || s.rejected > 0)
    }

    /// Error counts by code, sorted by code.
    pub fn errors(&self) -> Vec<(String, u64)> {
        let mut v: Vec<_> = self
            .errors
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        v.sort();
        v
    }

    /// Clears everything (CONFIG RESETSTAT).
    pub fn reset(&self) {
        for e in &self.entries {
            for c in [&e.calls, &e.usec, &e.rejected, &e.failed] {
                c.store(0, Ordering::Relaxed);
            }
            for c in e.hist.iter() {
                c.store(0, Ordering::Relaxed);
            }
        }
        self.errors.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_bounded() {
        let mut last = 0;
        for us in [
            0u64,
            1,
            7,
            8,
            9,
            15,
            16,
            100,
            1000,
            123_456,
            1 << 30,
            u64::MAX,
        ] {
            let b = bucket(us);
            assert!(b >= last && b < BUCKETS, "{us}");
            if us < 1 << 40 {
                assert!(bucket_top(b) > us, "{us} top {}", bucket_top(b));
                assert!(
                    bucket_top(b) as f64 <= (us as f64 * 1.125).max(us as f64 + 1.0),
                    "{us}"
                );
            }
            last = b;
        }
    }

    #[test]
    fn percentiles_follow_the_distribution() {
        let s = CommandStats::default();
        for i in 0..1000u64 {
            s.record("get", if i < 990 { 10 } else { 5000 }, false);
        }
        let e = s.entry("get").unwrap().1;
        let p = e.percentiles(&[50.0, 99.0, 99.9]).unwrap();
        assert!(p[0] >= 10.0 && p[0] <= 12.0, "{p:?}");
        assert!(p[1] <= 12.0, "{p:?}");
        assert!(p[2] >= 5000.0 && p[2] <= 5632.0, "{p:?}");
        assert_eq!(e.snapshot().calls, 1000);
        s.error("WRONGTYPE Operation against a key");
        s.error("ERR syntax error");
        s.error("ERR x");
        assert_eq!(s.errors(), vec![("ERR".into(), 2), ("WRONGTYPE".into(), 1)]);
        s.reset();
        assert!(e.percentiles(&[50.0]).is_none());
    }
}
