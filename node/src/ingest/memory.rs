//! Memory given back after bulk ingest. An import or a back-fill decodes,
//! verifies and stores hundreds of thousands of statements through
//! short-lived buffers spread over glibc's per-thread arenas, and glibc
//! keeps the pages they freed: a node that had just imported a million
//! statements went from 414 MB to 323 MB once glibc was asked to return
//! them. RocksDB's write buffers, filled by the same ingest, hold up to
//! 64 MiB more until later writes fill them further. So once bulk ingest
//! has been quiet for a moment, the node writes the buffers out and asks
//! glibc (`malloc_trim`), once, off the async runtime.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long bulk ingest must have been quiet before memory is given back:
/// an import sends request after request, and trimming between them would
/// only hand the next one pages to fault in again.
pub const QUIET: Duration = Duration::from_secs(2);

/// When bulk ingest last ran, until the memory it freed is given back.
#[derive(Debug, Default)]
pub(crate) struct BulkMark {
    last: Mutex<Option<Instant>>,
}

impl BulkMark {
    /// Notes bulk ingest that ended at `at`.
    pub(crate) fn note(&self, at: Instant) {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(at);
    }

    /// Whether bulk ingest ran and has been quiet for [`QUIET`] at `now`;
    /// true once per run of bulk ingest.
    pub(crate) fn take_if_quiet(&self, now: Instant) -> bool {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        match *last {
            Some(at) if now.saturating_duration_since(at) >= QUIET => {
                *last = None;
                true
            }
            _ => false,
        }
    }
}

/// Asks the allocator to return the free memory it holds to the system;
/// whether any was returned (never, where the allocator is not glibc's).
pub(crate) fn give_back_free_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only releases free pages of glibc's own
        // heaps, under each arena's lock; any thread may call it at any time.
        unsafe { libc::malloc_trim(0) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_given_back_once_bulk_ingest_has_been_quiet() {
        let mark = BulkMark::default();
        let start = Instant::now();
        assert!(!mark.take_if_quiet(start + QUIET), "no bulk ingest yet");
        mark.note(start);
        assert!(!mark.take_if_quiet(start + QUIET / 2), "not quiet yet");
        // More bulk ingest moves the quiet time on.
        mark.note(start + QUIET / 2);
        assert!(!mark.take_if_quiet(start + QUIET));
        assert!(mark.take_if_quiet(start + QUIET / 2 + QUIET));
        assert!(!mark.take_if_quiet(start + 3 * QUIET), "given back once");
    }
}
