//! What bounds every request in time (`api.request_timeout_ms`, then 408)
//! and in number at once (`api.max_concurrent_requests`; the rest wait).
//! Most routes get both as tower layers. `GET /v1/reputation/…`, answered
//! at once from memory for most senders, skips the layers, whose timer and
//! semaphore cost as much CPU as the answer (an axum server answering a
//! fixed body fell from 68k to 48k requests/s with them), and puts the
//! same bounds, on the same semaphore, around its slow part only: a lookup
//! or a read on the blocking pool.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::error::Error;
use crate::config::ApiConfig;

/// The time and concurrency bounds every request is under.
#[derive(Clone, Debug)]
pub struct Bounds {
    /// Longest a request may take.
    pub timeout: Duration,
    /// One permit per request in progress, shared by the layers and by
    /// [`Bounds::within`].
    pub permits: Arc<Semaphore>,
}

impl Bounds {
    /// The bounds `config` sets.
    pub fn new(config: &ApiConfig) -> Self {
        Self {
            timeout: Duration::from_millis(config.request_timeout_ms),
            permits: Arc::new(Semaphore::new(config.max_concurrent_requests)),
        }
    }

    /// Runs `work` as a layered request would run: once a permit is free,
    /// and failing with [`Error::Timeout`] if waiting and working take
    /// longer than the timeout.
    pub async fn within<T>(
        &self,
        work: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let bounded = async {
            let _permit = self.permits.acquire().await.map_err(|_| Error::Timeout)?;
            work.await
        };
        tokio::time::timeout(self.timeout, bounded)
            .await
            .map_err(|_| Error::Timeout)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(timeout_ms: u64, permits: usize) -> Bounds {
        Bounds {
            timeout: Duration::from_millis(timeout_ms),
            permits: Arc::new(Semaphore::new(permits)),
        }
    }

    #[tokio::test]
    async fn work_that_takes_too_long_times_out() {
        let bounds = bounds(20, 1);
        let slow = bounds.within(async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(())
        });
        assert!(matches!(slow.await, Err(Error::Timeout)));
        // The permit came back when the work was dropped.
        assert_eq!(bounds.permits.available_permits(), 1);
    }

    #[tokio::test]
    async fn work_waits_for_a_permit_and_the_wait_counts_against_its_time() {
        let bounds = bounds(50, 1);
        let held = bounds.permits.clone().acquire_owned().await.unwrap();
        let waiting = bounds.within(async { Ok(7) });
        assert!(matches!(waiting.await, Err(Error::Timeout)));
        drop(held);
        assert_eq!(bounds.within(async { Ok(7) }).await.unwrap(), 7);
    }

    #[tokio::test]
    async fn an_error_of_the_work_is_its_own() {
        let bounds = bounds(1_000, 1);
        let failed: Result<(), Error> = bounds.within(async { Err(Error::NotFound) }).await;
        assert!(matches!(failed, Err(Error::NotFound)));
    }
}
