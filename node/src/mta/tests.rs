//! The bound on lookups running on the blocking pool.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use vouch_protocol::Subject;

use super::{Fallback, Lookup, Lookups};
use crate::store;
use crate::test_support::reputation;
use crate::trust::{Reputation, Verdict};

/// A store that takes `delay` per lookup and counts how many run at once.
struct Slow {
    delay: Duration,
    running: AtomicUsize,
    peak: AtomicUsize,
}

impl Lookup for Slow {
    fn lookup(&self, subject: &Subject, _now: u64) -> Result<Reputation, store::Error> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        self.running.fetch_sub(1, Ordering::SeqCst);
        Ok(reputation(&subject.to_string(), Verdict::Neutral, 0.0))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_past_their_deadline_keep_their_place_until_their_work_ends() {
    let slow = Arc::new(Slow {
        delay: Duration::from_millis(400),
        running: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
    });
    let lookups = Lookups::new(slow.clone(), 4);
    let subject: Subject = "192.0.2.1".parse().expect("subject");
    let (mut late, mut busy) = (0, 0);
    // A busy MTA asks again as soon as each answer (DUNNO) comes back.
    for _ in 0..20 {
        match lookups
            .ask(vec![subject.clone()], Duration::from_millis(10))
            .await
        {
            Err(Fallback::Timeout(_)) => late += 1,
            Err(Fallback::Busy) => busy += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(late, 4, "four lookups started and missed their deadline");
    assert_eq!(busy, 16, "the rest found no room");
    assert!(slow.peak.load(Ordering::SeqCst) <= 4);
    // Once the slow work ends, lookups run again.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        lookups
            .ask(vec![subject], Duration::from_secs(2))
            .await
            .is_ok()
    );
}
