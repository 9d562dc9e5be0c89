//! `maxmemory`: before a command that may grow memory (flag `denyoom`)
//! runs, keys are evicted by `maxmemory-policy` until the heap
//! ([`crate::memory::used`]) is under the limit; when nothing more may be
//! evicted (`noeviction`, or no key qualifies), the command gets
//! `-OOM command not allowed when used memory > 'maxmemory'.` Evicted keys
//! are deleted through the WAL, counted in INFO `evicted_keys`, and
//! announced as `evicted` keyspace events.

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;
use vexlake_engine::keyspace::evict::{Pick, Policy};

use crate::config::{Config, MaxmemoryPolicy};
use crate::error::CmdError;
use crate::server::ServerState;
use crate::stats::Stats;

/// Most keys one command evicts before it runs anyway (bounds its delay;
/// the next commands go on evicting).
const MAX_PER_COMMAND: usize = 10_000;

/// The limit and the policy, read before every `denyoom` command.
#[derive(Debug, Default)]
pub struct Evictor {
    /// `maxmemory` (0 = none).
    limit: AtomicU64,
    /// `None` = `noeviction`.
    policy: RwLock<Option<Policy>>,
}

impl Evictor {
    /// Takes up `maxmemory`, `maxmemory-policy` and `maxmemory-samples`.
    pub fn configure(&self, c: &Config) {
        let samples = c.maxmemory_samples as usize;
        let p = |pick, volatile| {
            Some(Policy {
                pick,
                volatile,
                samples,
            })
        };
        *self.policy.write() = match c.maxmemory_policy {
            MaxmemoryPolicy::NoEviction => None,
            MaxmemoryPolicy::AllKeysLru => p(Pick::Lru, false),
            MaxmemoryPolicy::AllKeysLfu => p(Pick::Lfu, false),
            MaxmemoryPolicy::AllKeysRandom => p(Pick::Random, false),
            MaxmemoryPolicy::VolatileLru => p(Pick::Lru, true),
            MaxmemoryPolicy::VolatileLfu => p(Pick::Lfu, true),
            MaxmemoryPolicy::VolatileRandom => p(Pick::Random, true),
            MaxmemoryPolicy::VolatileTtl => p(Pick::Ttl, true),
        };
        self.limit.store(c.maxmemory, Ordering::Relaxed);
    }

    /// `maxmemory` (0 = none).
    pub fn limit(&self) -> u64 {
        self.limit.load(Ordering::Relaxed)
    }

    /// Evicts until memory is under the limit; `-OOM` when it stays over
    /// and nothing more can go. Runs holding the engine's gate.
    pub fn make_room(&self, state: &ServerState) -> Result<(), CmdError> {
        let limit = self.limit();
        if limit == 0 || (crate::memory::used() as u64) <= limit {
            return Ok(());
        }
        let policy = *self.policy.read();
        let oom =
            || CmdError::Line("OOM command not allowed when used memory > 'maxmemory'.".into());
        let Some(policy) = policy else {
            return Err(oom());
        };
        for _ in 0..MAX_PER_COMMAND {
            if (crate::memory::used() as u64) <= limit {
                return Ok(());
            }
            match state.engine.evict_one(policy)? {
                Some((db, key)) => {
                    Stats::add(&state.stats.evicted_keys, 1);
                    state.notify_key(crate::notify::EVICTED, "evicted", &key, db);
                    if state.watches.active() {
                        state.watches.touch(db, [&key[..]]);
                    }
                    if state.tracking.active() {
                        state.tracking.invalidate(&key, None);
                    }
                }
                None => return Err(oom()),
            }
        }
        Ok(())
    }
}
