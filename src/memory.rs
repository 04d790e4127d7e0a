//! Giving memory back to the system once a poll's work is done.
//!
//! Reading a large calendar allocates tens of megabytes on the blocking pool and the reading
//! threads, and frees it again within the poll. glibc keeps such freed pages in its per-thread
//! arenas, so without a nudge a daemon that parsed a 12,000-event feed once stays that large
//! until it exits, though it needs a fraction of it between polls.

/// Returns the free pages of every allocator arena to the kernel. Cheap (a walk over free lists,
/// well under a millisecond for a poll's worth), so it runs after each poll.
// The crate denies `unsafe_code` (Cargo.toml `[lints]`); this FFI call is its one exception.
#[allow(unsafe_code)]
pub fn release_free_pages() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: malloc_trim takes no pointers and only walks glibc's own, internally locked
        // arenas; it is safe to call from any thread at any time.
        unsafe {
            malloc_trim(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releasing_free_pages_leaves_live_allocations_intact() {
        let keep: Vec<u64> = (0..100_000).collect();
        let freed: Vec<Vec<u8>> = (0..1000).map(|i| vec![i as u8; 4096]).collect();
        drop(freed);
        release_free_pages();
        assert_eq!(keep.iter().sum::<u64>(), 100_000 * 99_999 / 2);
    }
}
