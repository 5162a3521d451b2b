//! Kept answers against fresh ones: on random stores, after any mix of
//! reports, endorsements (of senders and of forwarders), retractions and
//! sweeps, and new trust maps, an answer given again from what was kept —
//! whole, as JSON, or where its subject stands — equals the answer scored
//! afresh at the same second, and again once the clock has moved past
//! the seconds it may be kept.

use std::sync::Arc;

use proptest::prelude::*;
use vouch_protocol::{
    Claim, EndorseCategory, Evidence, Keypair, Kind, ReportCategory, Statement, Subject, VERSION,
};

use super::recent::STANDING_SECS;
use super::{Answer, Reputations, Standing};
use crate::metrics::Metrics;
use crate::names::NameBook;
use crate::store::{SWEEP_BATCH, Store};
use crate::test_support::store_said;
use crate::trust::{Config, TrustEngine};

const NOW: u64 = 1_800_000_000;
/// Addresses in one /24, one elsewhere, a domain; statements name them.
const SUBJECTS: [&str; 6] = [
    "192.0.2.1",
    "192.0.2.2",
    "192.0.2.3",
    "198.51.100.1",
    "192.0.2.0/24",
    "example.org",
];
/// Asked about, never the subject of a statement (one in the /24).
const ASKED: [&str; 2] = ["192.0.2.77", "203.0.113.7"];
const AUTHORS: u8 = 4;

#[derive(Debug, Clone)]
enum Step {
    /// A statement by `author` about `SUBJECTS[subject]`, made `age`
    /// seconds before the clock.
    Say {
        author: u8,
        subject: usize,
        claim: u8,
        age: u64,
        ttl: u64,
    },
    /// Sweep what expired by the clock.
    Sweep,
    /// Every subject is asked about; then I trust `author` with a new
    /// weight (0 withdraws my vouch), which makes a new trust map unless
    /// nothing changed; then every subject is asked about again.
    Retrust { author: u8, weight: u8 },
    /// The clock moves on `later` seconds; subject `n` (of the subjects,
    /// then the unheard-of) is asked about twice, its whole answer and
    /// where it stands.
    Ask { n: usize, later: u64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..AUTHORS, 0..SUBJECTS.len(), 0u8..6, 0u64..3_600, 60u64..7_200)
            .prop_map(|(author, subject, claim, age, ttl)| Step::Say { author, subject, claim, age, ttl }),
        1 => Just(Step::Sweep),
        1 => (0..AUTHORS, prop_oneof![Just(0u8), 1u8..=100])
            .prop_map(|(author, weight)| Step::Retrust { author, weight }),
        6 => (0..SUBJECTS.len() + ASKED.len(), prop_oneof![Just(0u64), STANDING_SECS + 1..4_000])
            .prop_map(|(n, later)| Step::Ask { n, later }),
    ]
}

fn author(n: u8) -> Keypair {
    Keypair::from_secret_bytes([n + 1; 32])
}

fn claim(kind: u8) -> Claim {
    let report = |relay_chain| Claim::Report {
        category: ReportCategory::Phishing,
        count: 1,
        evidence: Evidence {
            message_hashes: Vec::new(),
            relay_chain,
        },
    };
    match kind {
        0 => report(Vec::new()),
        // Relayed from 198.51.100.1 (the relaying host is the subject).
        1 => report(vec!["198.51.100.1".parse().expect("ip")]),
        2 => Claim::Endorse {
            category: EndorseCategory::LegitimateSender,
        },
        3 => Claim::Endorse {
            category: EndorseCategory::Forwarder,
        },
        4 => Claim::Retract { kind: Kind::Report },
        _ => Claim::Retract {
            kind: Kind::Endorse,
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn kept_answers_equal_fresh_ones(steps in proptest::collection::vec(step(), 1..60)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Store::open(dir.path()).expect("open"));
        let me = Keypair::from_secret_bytes([99; 32]);
        let engine = Arc::new(TrustEngine::new(me.public(), Config::default()));
        let trust = |n: u8, weight: u8, created_at: u64| {
            engine.apply(&me.sign(Statement {
                version: VERSION,
                subject: Subject::Node(author(n).public()),
                created_at,
                expires_at: NOW + 30 * 86_400,
                claim: Claim::Trust { weight },
            }));
            engine.recompute_if_dirty();
        };
        for n in 0..AUTHORS {
            trust(n, 100, NOW - 1);
        }
        let names = Arc::new(NameBook::default());
        let reputations = |store: &Arc<Store>| {
            Reputations::new(store.clone(), engine.clone(), Metrics::default(), names.clone())
        };
        let kept = reputations(&store);
        // Asks about subject `n` at `now`, twice: the kept answers must be
        // the fresh one.
        let ask = |n: usize, now: u64| -> Result<(), TestCaseError> {
            let text = SUBJECTS.iter().chain(&ASKED).nth(n).expect("a subject");
            let subject: Subject = text.parse().expect("subject");
            let fresh = reputations(&store).lookup(&subject, now);
            let json = |r| serde_json::to_string(&r).expect("json");
            for _ in 0..2 {
                let standing = kept.standing(&subject, now).expect("quick");
                prop_assert_eq!(standing, Standing::of(&fresh), "{}", text);
                let whole = kept.lookup(&subject, now);
                prop_assert_eq!(json(whole), json(fresh.clone()), "{}", text);
                // As the HTTP API writes it: a kept answer's JSON once.
                let body = match kept.answer(&subject, now) {
                    Answer::Fresh(reputation) => super::json(&reputation),
                    Answer::Kept(answer) => answer.json(),
                };
                let body = String::from_utf8(body.expect("json").to_vec()).expect("utf-8");
                prop_assert_eq!(body, json(fresh.clone()), "{}", text);
                // About a sender nothing bears on, whatever the trust map.
                if let Some(body) = kept.unheard_of_json(&subject) {
                    let body = String::from_utf8(body.to_vec()).expect("utf-8");
                    prop_assert_eq!(body, json(fresh.clone()), "{}", text);
                }
            }
            Ok(())
        };
        let (mut clock, mut vouched_at) = (NOW, NOW);
        for step in &steps {
            match step {
                Step::Say { author, subject, claim: kind, age, ttl } => {
                    store_said(&store, &self::author(*author), SUBJECTS[*subject], claim(*kind), clock - age, *ttl);
                }
                Step::Sweep => {
                    while store.sweep_expired(clock).expect("sweep").len() == SWEEP_BATCH {}
                }
                Step::Retrust { author, weight } => {
                    // Everything asked about under the old map, then again.
                    for n in 0..SUBJECTS.len() {
                        ask(n, clock)?;
                    }
                    trust(*author, *weight, vouched_at);
                    vouched_at += 1;
                    for n in 0..SUBJECTS.len() {
                        ask(n, clock)?;
                    }
                }
                Step::Ask { n, later } => {
                    clock += later;
                    ask(*n, clock)?;
                }
            }
        }
    }
}
