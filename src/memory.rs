//! Heap accounting: the global allocator counts the bytes allocated and
//! not yet freed, like Redis's `zmalloc_used_memory`. INFO's `used_memory`
//! and `maxmemory` eviction read it; it falls at once when memory is freed
//! (the RSS may not).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

static USED: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting.
pub struct Counting;

#[global_allocator]
static GLOBAL: Counting = Counting;

// SAFETY: every call goes to `System` with the caller's arguments; only a
// counter is updated besides.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            USED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            USED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        USED.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
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
