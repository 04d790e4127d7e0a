//! Giving memory back to the system once a poll's work is done.
//!
//! Reading a large calendar allocates tens of megabytes on the blocking pool and the reading
//! threads, and frees it again within the poll. glibc keeps such freed pages in its per-thread
//! arenas, so without a nudge a daemon that parsed a 12,000-event feed once stays that large
//! until it exits, though it needs a fraction of it between polls.
//!
//! The same arenas cost the idle daemon about 1 MB for nothing: each thread that ever allocated
//! (the runtime's, each blocking-pool thread, the stdin reader) gets an arena of its own by
//! default, and the pages a thread's arena keeps stay after the thread has gone. The daemon
//! allocates little and rarely from several threads at once, so it asks for one arena.

/// Returns the free pages of every allocator arena to the kernel. Cheap (a walk over free lists,
/// well under a millisecond for a poll's worth), so it runs after each poll.
// The crate denies `unsafe_code` (Cargo.toml `[lints]`); the FFI calls in this file are its only
// exceptions.
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

/// Limits glibc's allocator to one arena (shared by all threads) unless `MALLOC_ARENA_MAX` in
/// the environment already says how many. Call it before the daemon starts its threads: arenas
/// that exist stay.
// As above: an FFI call, and the only way to set this from inside the process.
#[allow(unsafe_code)]
pub fn one_allocator_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
            return;
        }
        /// glibc's `M_ARENA_MAX` (malloc.h).
        const M_ARENA_MAX: std::ffi::c_int = -8;
        unsafe extern "C" {
            fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
        }
        // SAFETY: mallopt takes two integers and only sets a field of glibc's allocator state
        // under its own lock; M_ARENA_MAX is a documented parameter and 1 a valid value.
        unsafe {
            mallopt(M_ARENA_MAX, 1);
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

    #[test]
    fn one_arena_still_serves_allocations_from_several_threads() {
        one_allocator_arena();
        let sums: Vec<u64> = (0..4)
            .map(|t| std::thread::spawn(move || (0..10_000u64).map(|i| i * t).collect::<Vec<_>>()))
            .map(|h| h.join().unwrap().iter().sum())
            .collect();
        assert_eq!(sums, [0, 49_995_000, 99_990_000, 149_985_000]);
    }
}
