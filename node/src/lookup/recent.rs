//! Answers given in the last seconds, reused while nothing they rest on
//! has changed: a sender asked about again (a spam run opens connection
//! after connection, and postscreen and smtpd each ask) is answered
//! without weighing its statements again.
//!
//! Two kinds are kept. Where an address stands (see [`Standing`], a few
//! bytes: all a DNS list's A record carries) is kept for every address
//! scored. A whole answer, with its explanation (see [`KeptAnswer`]), is
//! kept only for a sender asked about before: most senders are asked
//! about once, and keeping every answer would cost more than the few it
//! saves.
//!
//! An answer rests on the statements held, the trust map and the time. It
//! is reused only while the store has landed no write since it was given
//! (any write: one about another sender can still bear on it, through a
//! witness's other reports or a forwarder's endorsement) and the trust
//! map is the same, and for at most [`REUSE_SECS`] seconds
//! ([`STANDING_SECS`] for a standing), which is all the decay and expiry
//! it may miss.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use vouch_protocol::Subject;

use super::{KeptAnswer, Standing};
use crate::trust::{Reputation, TrustMap};

/// A hash map with a fast hasher seeded per process (the subjects in it
/// are chosen by whoever sends mail).
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A set of subjects' hashes (the same hasher's).
type HashSet = std::collections::HashSet<u64, foldhash::fast::RandomState>;

/// Longest a whole answer is reused, in seconds (answers are computed to
/// the second, so an answer given at second `t` serves `t` to `t + 2`;
/// the ages in its explanation stay those of second `t`).
pub const REUSE_SECS: u64 = 2;

/// Most whole answers kept in each of two generations (each one or two
/// KB with its explanation, twice that once given again over HTTP, with
/// its JSON): more senders than a small operator's mail server asks
/// about twice within [`REUSE_SECS`].
pub const MAX_RECENT: usize = 2048;

/// Longest a standing is reused, in seconds. Time alone moves a verdict
/// by decay (a half-life of hours), expiry and the fast clock's fading
/// (minutes), and a DNS list's resolvers keep its answer for minutes
/// (`dnsbl.ttl_secs`, 300 by default): ten seconds more is within what
/// the answer already promises. (A zone configured with a shorter TTL
/// still has its A records given again for up to ten seconds.)
pub const STANDING_SECS: u64 = 10;

/// Most standings kept in each of two generations (a few tens of bytes
/// each; seven eighths of a power of two fill a hash table to the brim).
pub const MAX_STANDINGS: usize = 57_344;

/// Most senders remembered as asked about (8 bytes each); past it, all
/// are forgotten.
pub const MAX_ASKED: usize = 65_536;

/// The answers given since the last write or trust map.
#[derive(Default)]
pub struct RecentAnswers {
    kept: Mutex<Kept>,
}

/// The answers and what they rest on.
#[derive(Default)]
struct Kept {
    /// The store's write generation the answers were given at.
    generation: u64,
    /// The trust map they were scored under.
    trust: Option<Arc<TrustMap>>,
    /// Whole answers.
    answers: Aged<Subject, Arc<KeptAnswer>, MAX_RECENT, REUSE_SECS>,
    /// Where addresses stand.
    standings: Aged<IpAddr, Standing, MAX_STANDINGS, STANDING_SECS>,
    /// The subjects (hashed) answered without their whole answer being
    /// kept, whatever the write or trust map since.
    asked: HashSet,
}

impl Kept {
    fn rests_on(&self, trust: &Arc<TrustMap>, generation: u64) -> bool {
        self.generation == generation && self.trust.as_ref().is_some_and(|t| Arc::ptr_eq(t, trust))
    }

    /// Whether an answer given under `trust` at `generation` may be kept:
    /// the answers given before a later write or under another trust map
    /// are dropped for it; one given under an older view is already stale.
    fn admits(&mut self, trust: &Arc<TrustMap>, generation: u64) -> bool {
        if self.rests_on(trust, generation) {
            return true;
        }
        if generation < self.generation {
            return false;
        }
        self.answers.clear();
        self.standings.clear();
        self.generation = generation;
        self.trust = Some(Arc::clone(trust));
        true
    }

    /// Notes that `subject` was asked about; whether it had been before.
    fn asked_before(&mut self, subject: &Subject) -> bool {
        let hash = self.asked.hasher().hash_one(subject);
        if self.asked.contains(&hash) {
            return true;
        }
        if self.asked.len() >= MAX_ASKED {
            self.asked.clear();
        }
        self.asked.insert(hash);
        false
    }
}

/// Values, each with the second it was given at, served for `SECS`
/// seconds, in two generations of at most `MOST`: when the young one is
/// full it becomes the old one, and the old one is dropped. A new value
/// is always kept, a value is dropped only after `MOST` newer ones, and
/// either costs a hash-map insert, amortized (a full set that took no
/// more until its oldest aged out held a burst of senders asked once for
/// seconds, while the senders asked about again went unkept).
struct Aged<K, V, const MOST: usize, const SECS: u64> {
    young: HashMap<K, (u64, V)>,
    old: HashMap<K, (u64, V)>,
}

impl<K, V, const MOST: usize, const SECS: u64> Default for Aged<K, V, MOST, SECS> {
    fn default() -> Self {
        Aged {
            young: HashMap::default(),
            old: HashMap::default(),
        }
    }
}

impl<K: Hash + Eq, V, const MOST: usize, const SECS: u64> Aged<K, V, MOST, SECS> {
    /// The value kept for `key`, when it still serves at `now`.
    fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q, now: u64) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        let (at, value) = self.young.get(key).or_else(|| self.old.get(key))?;
        (*at <= now && now - *at <= SECS).then_some(value)
    }

    /// Keeps `value` for `key`, given at `now`.
    fn insert(&mut self, key: K, now: u64, value: V) {
        if self.young.len() >= MOST && !self.young.contains_key(&key) {
            std::mem::swap(&mut self.young, &mut self.old);
            self.young.clear();
        }
        self.young.insert(key, (now, value));
    }

    fn clear(&mut self) {
        self.young.clear();
        self.old.clear();
    }

    fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }
}

impl RecentAnswers {
    /// The answer about `subject` given under `trust` at store generation
    /// `generation`, when it is at most [`REUSE_SECS`] older than `now`.
    pub fn get(
        &self,
        subject: &Subject,
        trust: &Arc<TrustMap>,
        generation: u64,
        now: u64,
    ) -> Option<Arc<KeptAnswer>> {
        let kept = self.resting_on(trust, generation)?;
        kept.answers.get(subject, now).cloned()
    }

    /// Where `subject` stood in an answer given under `trust` at store
    /// generation `generation`: for an address, at most [`STANDING_SECS`]
    /// before `now`; for anything else, in a whole answer still kept.
    pub fn standing(
        &self,
        subject: &Subject,
        trust: &Arc<TrustMap>,
        generation: u64,
        now: u64,
    ) -> Option<Standing> {
        let kept = self.resting_on(trust, generation)?;
        match subject {
            Subject::Ip(address) => kept.standings.get(address, now).copied(),
            _ => kept
                .answers
                .get(subject, now)
                .map(|answer| Standing::of(answer.reputation())),
        }
    }

    /// What is kept, when it was given under `trust` at store generation
    /// `generation`.
    fn resting_on(&self, trust: &Arc<TrustMap>, generation: u64) -> Option<MutexGuard<'_, Kept>> {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.rests_on(trust, generation).then_some(kept)
    }

    /// Notes `answer`, given at `now` under `trust` at store generation
    /// `generation`: keeps where its subject stands, for an address, and
    /// says whether the whole answer is worth keeping ([`RecentAnswers::keep`]):
    /// whether its subject was asked about before (otherwise notes that
    /// it now was).
    pub fn note(
        &self,
        trust: &Arc<TrustMap>,
        generation: u64,
        now: u64,
        answer: &Reputation,
    ) -> bool {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if !kept.admits(trust, generation) {
            return false;
        }
        if let Subject::Ip(address) = answer.subject {
            kept.standings.insert(address, now, Standing::of(answer));
        }
        kept.asked_before(&answer.subject)
    }

    /// Keeps the whole `answer`, given at `now` under `trust` at store
    /// generation `generation`.
    pub fn keep(&self, trust: &Arc<TrustMap>, generation: u64, now: u64, answer: Arc<KeptAnswer>) {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.admits(trust, generation) {
            let subject = answer.reputation().subject.clone();
            kept.answers.insert(subject, now, answer);
        }
    }
}

impl std::fmt::Debug for RecentAnswers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("RecentAnswers")
            .field("generation", &kept.generation)
            .field("answers", &kept.answers.len())
            .field("standings", &kept.standings.len())
            .field("asked", &kept.asked.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use vouch_protocol::Subject;

    use super::{KeptAnswer, MAX_ASKED, MAX_RECENT, REUSE_SECS, RecentAnswers, STANDING_SECS};
    use crate::trust::{Reputation, SubjectEvidence, TrustMap, reputation};

    fn answer(subject: &Subject, trust: &TrustMap, now: u64) -> Reputation {
        let config = crate::trust::Config::default();
        reputation(subject, &SubjectEvidence::default(), trust, now, &config)
    }

    impl RecentAnswers {
        /// What a lookup does with an answer it scored.
        fn keep_scored(
            &self,
            trust: &Arc<TrustMap>,
            generation: u64,
            now: u64,
            answer: Reputation,
        ) {
            if self.note(trust, generation, now, &answer) {
                self.keep(trust, generation, now, Arc::new(KeptAnswer::new(answer)));
            }
        }
    }

    #[test]
    fn an_answer_stands_only_under_its_trust_map_generation_and_seconds() {
        let recent = RecentAnswers::default();
        let (trust, other) = (Arc::new(TrustMap::default()), Arc::new(TrustMap::default()));
        let subject: Subject = "203.0.113.9".parse().expect("ip");
        let now = 1_000_000;
        recent.keep_scored(&trust, 7, now, answer(&subject, &trust, now));
        assert!(recent.get(&subject, &trust, 7, now).is_none(), "asked once");
        recent.keep_scored(&trust, 7, now, answer(&subject, &trust, now));
        assert!(recent.get(&subject, &trust, 7, now).is_some());
        assert!(recent.get(&subject, &trust, 7, now + REUSE_SECS).is_some());
        assert!(
            recent
                .get(&subject, &trust, 7, now + REUSE_SECS + 1)
                .is_none()
        );
        assert!(
            recent.get(&subject, &trust, 7, now - 1).is_none(),
            "given later"
        );
        assert!(
            recent.get(&subject, &trust, 8, now).is_none(),
            "a write since"
        );
        assert!(
            recent.get(&subject, &other, 7, now).is_none(),
            "another map"
        );
        let elsewhere: Subject = "example.org".parse().expect("domain");
        assert!(recent.get(&elsewhere, &trust, 7, now).is_none());

        // Where the address stands: kept from the first answer, longer.
        let standing = |generation, trust, now| recent.standing(&subject, trust, generation, now);
        assert!(standing(7, &trust, now + STANDING_SECS).is_some());
        assert!(standing(7, &trust, now + STANDING_SECS + 1).is_none());
        assert!(standing(7, &trust, now - 1).is_none(), "given later");
        assert!(standing(8, &trust, now).is_none(), "a write since");
        assert!(standing(7, &other, now).is_none(), "another map");

        // An answer given under an older view does not replace newer ones.
        recent.keep_scored(&trust, 8, now, answer(&subject, &trust, now));
        recent.keep_scored(&trust, 7, now, answer(&elsewhere, &trust, now));
        recent.keep_scored(&trust, 7, now, answer(&elsewhere, &trust, now));
        assert!(recent.get(&subject, &trust, 8, now).is_some());
        assert!(recent.get(&elsewhere, &trust, 8, now).is_none());
    }

    #[test]
    fn at_most_two_generations_of_answers_are_kept() {
        let recent = RecentAnswers::default();
        let trust = Arc::new(TrustMap::default());
        let now = 1_000_000;
        let subjects: Vec<Subject> = (0..3 * MAX_RECENT)
            .map(|n| Subject::Ip(std::net::Ipv4Addr::from(n as u32).into()))
            .collect();
        let keep = |subject| {
            recent.keep_scored(&trust, 1, now, answer(subject, &trust, now));
            recent.keep_scored(&trust, 1, now, answer(subject, &trust, now));
        };
        let kept = |range: std::ops::Range<usize>| {
            subjects[range]
                .iter()
                .filter(|s| recent.get(s, &trust, 1, now).is_some())
                .count()
        };
        let standing = |n: usize| recent.standing(&subjects[n], &trust, 1, now);
        for subject in &subjects[..2 * MAX_RECENT] {
            keep(subject);
        }
        assert_eq!(kept(0..2 * MAX_RECENT), 2 * MAX_RECENT, "two generations");
        keep(&subjects[2 * MAX_RECENT]);
        assert_eq!(kept(0..MAX_RECENT), 0, "the oldest generation dropped");
        assert_eq!(kept(MAX_RECENT..2 * MAX_RECENT + 1), MAX_RECENT + 1);
        assert!(
            (0..=2 * MAX_RECENT).all(|n| standing(n).is_some()),
            "standings are kept by the tens of thousands"
        );
    }

    #[test]
    fn senders_asked_about_once_are_remembered_so_many_at_a_time() {
        let recent = RecentAnswers::default();
        let trust = Arc::new(TrustMap::default());
        let now = 1_000_000;
        let subject = |n: usize| Subject::Ip(std::net::Ipv4Addr::from(n as u32).into());
        recent.keep_scored(&trust, 1, now, answer(&subject(0), &trust, now));
        for n in 1..MAX_ASKED {
            recent.keep_scored(&trust, 1, now, answer(&subject(n), &trust, now));
        }
        recent.keep_scored(&trust, 1, now, answer(&subject(0), &trust, now));
        assert!(
            recent.get(&subject(0), &trust, 1, now).is_some(),
            "remembered"
        );
        // One more forgets them all.
        recent.keep_scored(&trust, 1, now, answer(&subject(MAX_ASKED), &trust, now));
        recent.keep_scored(&trust, 1, now, answer(&subject(1), &trust, now));
        assert!(
            recent.get(&subject(1), &trust, 1, now).is_none(),
            "forgotten"
        );
    }
}
