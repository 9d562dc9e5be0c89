//! The allocator and heap accounting. Memory comes from jemalloc, as in
//! Redis: with the system allocator a 100,000-vector load left twice its
//! live heap resident (freed pages of commit buffers and per-thread arenas
//! kept), with jemalloc and its background purge thread 1.1x (see
//! docs/benchmarks.md). The global allocator counts the bytes allocated
//! and not yet freed, like Redis's `zmalloc_used_memory`. INFO's
//! `used_memory` and `maxmemory` eviction read it; it falls at once when
//! memory is freed (the RSS follows after the decay time).

use std::alloc::{GlobalAlloc, Layout};

use tikv_jemallocator::Jemalloc;

/// jemalloc's options (the `_RJEM_MALLOC_CONF` environment variable can
/// still override them): a background thread returns freed pages to the
/// system after a second, so the RSS follows the heap down after a commit
/// or a large reply, also when the server is idle.
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &u8 = &b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0"[0];
use std::sync::atomic::{AtomicUsize, Ordering};

static USED: AtomicUsize = AtomicUsize::new(0);

/// jemalloc, counting.
pub struct Counting;

#[global_allocator]
static GLOBAL: Counting = Counting;

// SAFETY: every call goes to jemalloc with the caller's arguments; only a
// counter is updated besides.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on unchanged.
        let p = unsafe { Jemalloc.alloc(layout) };
        if !p.is_null() {
            USED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { Jemalloc.alloc_zeroed(layout) };
        if !p.is_null() {
            USED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { Jemalloc.dealloc(ptr, layout) };
        USED.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { Jemalloc.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                USED.fetch_add(new_size - layout.size(), Ordering::Relaxed);
            } else {
                USED.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

static PEAK: AtomicUsize = AtomicUsize::new(0);

/// Bytes allocated on the heap now (also raises the recorded peak).
pub fn used() -> usize {
    let u = USED.load(Ordering::Relaxed);
    PEAK.fetch_max(u, Ordering::Relaxed);
    u
}

/// The most bytes [`used`] has reported (sampled, not exact: INFO, MEMORY
/// and eviction checks read it).
pub fn peak() -> usize {
    used().max(PEAK.load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_what_is_allocated_and_freed() {
        // Other tests allocate too: allow them 8 MB either way.
        let before = super::used();
        let v: Vec<u8> = Vec::with_capacity(64 << 20);
        let during = super::used();
        assert!(during >= before + (56 << 20));
        drop(v);
        assert!(super::used() <= during - (56 << 20));
    }
}
