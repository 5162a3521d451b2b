//! Memory given back after bulk ingest. An import or a back-fill fills
//! RocksDB's write buffers, which hold up to 64 MiB until later writes
//! fill them further; so once bulk ingest has been quiet for a moment, the
//! node writes the buffers out, once, off the async runtime. The buffers
//! ingest itself freed are the allocator's to return: the `vouch` binary
//! runs on jemalloc, whose background thread hands freed pages back to the
//! system within seconds.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long bulk ingest must have been quiet before memory is given back:
/// an import sends request after request, and writing the buffers out
/// between them would only make small table files for compaction to merge.
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
