//! Eviction under `maxmemory`: approximate LRU/LFU like Redis. Each call
//! samples a few keys of every database (shards in turn from a random one), keeps the
//! best candidate for the policy, and deletes it through the WAL like DEL,
//! so an evicted key stays gone after a restart.

use bytes::Bytes;

use super::db::SHARDS;
use crate::{Engine, EngineError};

/// Which sampled key goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// Longest idle.
    Lru,
    /// Least frequently accessed.
    Lfu,
    /// Any.
    Random,
    /// Soonest to expire (volatile only).
    Ttl,
}

/// An eviction policy (`maxmemory-policy` other than `noeviction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// How candidates are ranked.
    pub pick: Pick,
    /// Only keys with a TTL.
    pub volatile: bool,
    /// Keys sampled per database (`maxmemory-samples`).
    pub samples: usize,
}

impl Engine {
    /// Evicts one key chosen by `policy`; returns its database and name,
    /// or `None` when no key qualifies.
    pub fn evict_one(&self, policy: Policy) -> Result<Option<(usize, Bytes)>, EngineError> {
        let now = self.now_ms();
        let mut best: Option<(u64, usize, Bytes)> = None;
        for db_index in 0..self.databases() {
            let db = self.db(db_index);
            if db.is_empty() {
                continue;
            }
            // Shards in turn from a random one, until enough samples: a
            // database with keys always yields a candidate.
            let mut found = 0;
            let first = fastrand::usize(..SHARDS);
            for i in 0..SHARDS {
                if found >= policy.samples {
                    break;
                }
                let shard = db.lock_shard((first + i) % SHARDS);
                for e in shard.sample(policy.samples - found, policy.volatile, now) {
                    found += 1;
                    let score = match policy.pick {
                        Pick::Lru => u64::from(e.access.idle_secs()),
                        Pick::Lfu => 255 - u64::from(e.access.decayed_freq()),
                        Pick::Random => fastrand::u64(..),
                        Pick::Ttl => u64::MAX - e.expire_at.unwrap_or(u64::MAX),
                    };
                    if best.as_ref().is_none_or(|(b, _, _)| score > *b) {
                        best = Some((score, db_index, e.key.clone()));
                    }
                }
            }
        }
        let Some((_, db_index, key)) = best else {
            return Ok(None);
        };
        let deleted = self
            .db(db_index)
            .del_each(std::slice::from_ref(&key), now)?;
        Ok((!deleted.is_empty()).then_some((db_index, key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EngineConfig;
    use crate::keyspace::SetOptions;

    /// `keys` keys; every `ttl_every`-th has a TTL (0: none).
    fn engine_with(keys: usize, ttl_every: usize) -> Engine {
        let e = Engine::new(EngineConfig::default());
        let now = e.now_ms();
        for i in 0..keys {
            let opts = SetOptions {
                ttl: if ttl_every > 0 && i % ttl_every == 0 {
                    crate::keyspace::SetTtl::At(now + 1_000_000 + i as u64)
                } else {
                    crate::keyspace::SetTtl::Clear
                },
                ..SetOptions::default()
            };
            e.db(0)
                .set(format!("k{i}").as_bytes(), b"v", opts, now)
                .unwrap();
        }
        e
    }

    #[test]
    fn volatile_policies_only_take_keys_with_a_ttl() {
        let e = engine_with(1000, 100);
        for pick in [Pick::Lru, Pick::Random, Pick::Ttl, Pick::Lfu] {
            let (_, key) = e
                .evict_one(Policy {
                    pick,
                    volatile: true,
                    samples: 5,
                })
                .unwrap()
                .expect("a volatile key");
            let n: usize = std::str::from_utf8(&key[1..]).unwrap().parse().unwrap();
            assert_eq!(n % 100, 0, "{pick:?} evicted {n}");
        }
        assert_eq!(e.db(0).len(), 996);
    }

    #[test]
    fn volatile_ttl_takes_the_soonest_and_allkeys_empties() {
        let e = engine_with(50, 1);
        let p = Policy {
            pick: Pick::Ttl,
            volatile: true,
            samples: 64,
        };
        // 64 samples over 50 keys see them all: the soonest goes first.
        for i in 0..3 {
            let (_, key) = e.evict_one(p).unwrap().unwrap();
            assert_eq!(key, format!("k{i}").as_bytes());
        }
        let all = Policy {
            pick: Pick::Random,
            volatile: false,
            samples: 5,
        };
        while e.evict_one(all).unwrap().is_some() {}
        assert_eq!(e.db(0).len(), 0);
        let none = engine_with(10, 0);
        assert!(none.evict_one(p).unwrap().is_none());
    }
}
