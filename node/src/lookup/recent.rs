//! Answers given in the last seconds, reused while nothing they rest on
//! has changed: a sender asked about again (a spam run opens connection
//! after connection, and postscreen and smtpd each ask) is answered
//! without weighing its statements again. Most senders are asked about
//! once, so an answer is kept only for a sender asked about before:
//! copying every answer would cost more than the few it saves.
//!
//! An answer rests on the statements held, the trust map and the time. It
//! is reused only while the store has landed no write since it was given
//! (any write: one about another sender can still bear on it, through a
//! witness's other reports or a forwarder's endorsement) and the trust
//! map is the same, and for at most [`REUSE_SECS`] seconds, which is all
//! the decay and expiry it may miss.

use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, PoisonError};

use vouch_protocol::Subject;

use crate::trust::{Reputation, TrustMap};

/// A hash map with a fast hasher seeded per process (the subjects in it
/// are chosen by whoever sends mail).
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A set of subjects' hashes (the same hasher's).
type HashSet = std::collections::HashSet<u64, foldhash::fast::RandomState>;

/// Longest an answer is reused, in seconds (answers are computed to the
/// second, so an answer given at second `t` serves `t` to `t + 2`).
pub const REUSE_SECS: u64 = 2;

/// Most answers kept (each a few hundred bytes); past it, a new answer is
/// kept only once the oldest are too old to serve, which are then dropped.
pub const MAX_RECENT: usize = 8192;

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
    /// Each answer and the second it was given at.
    answers: HashMap<Subject, (u64, Reputation)>,
    /// The subjects (hashed) answered without being kept, whatever the
    /// write or trust map since.
    asked: HashSet,
    /// The second the oldest kept answer was given at.
    oldest: u64,
}

impl Kept {
    fn rests_on(&self, trust: &Arc<TrustMap>, generation: u64) -> bool {
        self.generation == generation && self.trust.as_ref().is_some_and(|t| Arc::ptr_eq(t, trust))
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
    ) -> Option<Reputation> {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if !kept.rests_on(trust, generation) {
            return None;
        }
        let (at, answer) = kept.answers.get(subject)?;
        (*at <= now && now - *at <= REUSE_SECS).then(|| answer.clone())
    }

    /// Keeps `answer`, given at `now` under `trust` at store generation
    /// `generation`, when its subject was asked about before (otherwise
    /// notes that it now was); the answers given before a later write or
    /// another trust map are dropped.
    pub fn keep(&self, trust: &Arc<TrustMap>, generation: u64, now: u64, answer: &Reputation) {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let hash = kept.answers.hasher().hash_one(&answer.subject);
        if !kept.asked.contains(&hash) {
            if kept.asked.len() >= MAX_ASKED {
                kept.asked.clear();
            }
            kept.asked.insert(hash);
            return;
        }
        if !kept.rests_on(trust, generation) {
            if generation < kept.generation {
                // Given under a view older than what is kept: already stale.
                return;
            }
            kept.answers.clear();
            kept.generation = generation;
            kept.trust = Some(Arc::clone(trust));
        }
        if kept.answers.len() >= MAX_RECENT && !kept.answers.contains_key(&answer.subject) {
            if now.saturating_sub(kept.oldest) <= REUSE_SECS {
                // Every kept answer may still serve: this one waits.
                return;
            }
            kept.answers
                .retain(|_, (at, _)| at.saturating_add(REUSE_SECS) >= now);
            kept.oldest = kept
                .answers
                .values()
                .map(|(at, _)| *at)
                .min()
                .unwrap_or(now);
            if kept.answers.len() >= MAX_RECENT {
                return;
            }
        }
        kept.oldest = if kept.answers.is_empty() {
            now
        } else {
            kept.oldest.min(now)
        };
        kept.answers
            .insert(answer.subject.clone(), (now, answer.clone()));
    }
}

impl std::fmt::Debug for RecentAnswers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("RecentAnswers")
            .field("generation", &kept.generation)
            .field("answers", &kept.answers.len())
            .field("asked", &kept.asked.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use vouch_protocol::Subject;

    use super::{MAX_ASKED, MAX_RECENT, REUSE_SECS, RecentAnswers};
    use crate::trust::{Reputation, SubjectEvidence, TrustMap, reputation};

    fn answer(subject: &Subject, trust: &TrustMap, now: u64) -> Reputation {
        let config = crate::trust::Config::default();
        reputation(subject, &SubjectEvidence::default(), trust, now, &config)
    }

    #[test]
    fn an_answer_stands_only_under_its_trust_map_generation_and_seconds() {
        let recent = RecentAnswers::default();
        let (trust, other) = (Arc::new(TrustMap::default()), Arc::new(TrustMap::default()));
        let subject: Subject = "203.0.113.9".parse().expect("ip");
        let now = 1_000_000;
        recent.keep(&trust, 7, now, &answer(&subject, &trust, now));
        assert!(recent.get(&subject, &trust, 7, now).is_none(), "asked once");
        recent.keep(&trust, 7, now, &answer(&subject, &trust, now));
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

        // An answer given under an older view does not replace newer ones.
        recent.keep(&trust, 8, now, &answer(&subject, &trust, now));
        recent.keep(&trust, 7, now, &answer(&elsewhere, &trust, now));
        recent.keep(&trust, 7, now, &answer(&elsewhere, &trust, now));
        assert!(recent.get(&subject, &trust, 8, now).is_some());
        assert!(recent.get(&elsewhere, &trust, 8, now).is_none());
    }

    #[test]
    fn at_most_so_many_answers_are_kept() {
        let recent = RecentAnswers::default();
        let trust = Arc::new(TrustMap::default());
        let now = 1_000_000;
        let subjects: Vec<Subject> = (0..MAX_RECENT + 10)
            .map(|n| Subject::Ip(std::net::Ipv4Addr::from(n as u32).into()))
            .collect();
        let keep = |subject, now| {
            recent.keep(&trust, 1, now, &answer(subject, &trust, now));
            recent.keep(&trust, 1, now, &answer(subject, &trust, now));
        };
        let (first, last) = subjects.split_at(MAX_RECENT);
        for subject in first {
            keep(subject, now);
        }
        keep(&last[0], now + REUSE_SECS);
        let kept = |now| {
            subjects
                .iter()
                .filter(|s| recent.get(s, &trust, 1, now).is_some())
                .count()
        };
        assert_eq!(kept(now), MAX_RECENT, "full while every answer serves");
        assert!(recent.get(&last[0], &trust, 1, now + REUSE_SECS).is_none());

        let later = now + REUSE_SECS + 1;
        keep(&last[1], later);
        assert_eq!(kept(later), 1, "the answers too old to serve dropped");
        assert!(recent.get(&last[1], &trust, 1, later).is_some());
    }

    #[test]
    fn senders_asked_about_once_are_remembered_so_many_at_a_time() {
        let recent = RecentAnswers::default();
        let trust = Arc::new(TrustMap::default());
        let now = 1_000_000;
        let subject = |n: usize| Subject::Ip(std::net::Ipv4Addr::from(n as u32).into());
        recent.keep(&trust, 1, now, &answer(&subject(0), &trust, now));
        for n in 1..MAX_ASKED {
            recent.keep(&trust, 1, now, &answer(&subject(n), &trust, now));
        }
        recent.keep(&trust, 1, now, &answer(&subject(0), &trust, now));
        assert!(
            recent.get(&subject(0), &trust, 1, now).is_some(),
            "remembered"
        );
        // One more forgets them all.
        recent.keep(&trust, 1, now, &answer(&subject(MAX_ASKED), &trust, now));
        recent.keep(&trust, 1, now, &answer(&subject(1), &trust, now));
        assert!(
            recent.get(&subject(1), &trust, 1, now).is_none(),
            "forgotten"
        );
    }
}
