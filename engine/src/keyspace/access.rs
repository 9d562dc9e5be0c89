//! Access tracking for eviction and OBJECT IDLETIME/FREQ: each entry keeps
//! the second it was last accessed and a logarithmic access counter that
//! decays with idle minutes (Redis's LFU: `lfu-log-factor` 10,
//! `lfu-decay-time` 1, new keys start at 5).
//!
//! A lookup touches its entry unless the calling thread runs with
//! [`no_touch`] set (CLIENT NO-TOUCH, OBJECT, TYPE, TTL...).

use std::cell::Cell;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

/// Counter of a new key.
pub const LFU_INIT: u8 = 5;
const LFU_LOG_FACTOR: f64 = 10.0;
/// Minutes of idleness that take one off the counter.
const LFU_DECAY_MINUTES: u32 = 1;

static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

thread_local! {
    static NO_TOUCH: Cell<bool> = const { Cell::new(false) };
}

/// Where the access clock starts: far enough from 0 that RESTORE ...
/// IDLETIME can date an access long before the process started.
const CLOCK_START: u32 = 100_000_000;

/// The clock as [`tick`] last set it (0: never ticked).
static COARSE: AtomicU32 = AtomicU32::new(0);

/// The access clock, in seconds: what [`tick`] last stored when something
/// ticks it (the server does, every 100 ms: a lookup then costs one atomic
/// load instead of reading the time), else read now.
#[inline]
pub fn clock() -> u32 {
    match COARSE.load(Ordering::Relaxed) {
        0 => now(),
        c => c,
    }
}

fn now() -> u32 {
    CLOCK_START + EPOCH.elapsed().as_secs() as u32
}

/// Advances the coarse clock [`clock`] reads.
pub fn tick() {
    COARSE.store(now(), Ordering::Relaxed);
}

/// Runs `f` without touching the entries it looks up.
pub fn no_touch<R>(f: impl FnOnce() -> R) -> R {
    let before = NO_TOUCH.with(|c| c.replace(true));
    let r = f();
    NO_TOUCH.with(|c| c.set(before));
    r
}

/// Whether lookups on this thread leave access data alone.
#[inline]
pub fn touching() -> bool {
    !NO_TOUCH.with(Cell::get)
}

/// Access data of one entry.
#[derive(Debug, Clone, Copy)]
pub struct Access {
    /// [`clock`] at the last access.
    pub last: u32,
    /// Logarithmic access counter.
    pub freq: u8,
}

impl Access {
    /// A new key's.
    pub fn new() -> Self {
        Access {
            last: clock(),
            freq: LFU_INIT,
        }
    }

    /// Seconds since the last access.
    pub fn idle_secs(&self) -> u32 {
        clock().saturating_sub(self.last)
    }

    /// The counter after decay for the idle time.
    pub fn decayed_freq(&self) -> u8 {
        let periods = self.idle_secs() / 60 / LFU_DECAY_MINUTES;
        self.freq.saturating_sub(periods.min(255) as u8)
    }

    /// Records an access.
    pub fn hit(&mut self) {
        let mut f = self.decayed_freq();
        if f < 255 {
            let base = f64::from(f.saturating_sub(LFU_INIT));
            if fastrand::f64() < 1.0 / (base * LFU_LOG_FACTOR + 1.0) {
                f += 1;
            }
        }
        self.freq = f;
        self.last = clock();
    }
}

impl Default for Access {
    fn default() -> Self {
        Access::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_grows_logarithmically() {
        let mut a = Access::new();
        for _ in 0..100 {
            a.hit();
        }
        assert!(a.freq > LFU_INIT && a.freq < 40, "{}", a.freq);
        let mut b = Access::new();
        for _ in 0..100_000 {
            b.hit();
        }
        assert!(b.freq > a.freq, "{} vs {}", b.freq, a.freq);
    }

    #[test]
    fn no_touch_is_scoped() {
        assert!(touching());
        no_touch(|| assert!(!touching()));
        assert!(touching());
    }
}
