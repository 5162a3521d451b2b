//! The in-memory mirror against the indexes on disk: on random stores,
//! after any mix of inserts, renewals, retractions and sweeps, and again
//! after the store is reopened, the mirror holds for every subject exactly
//! what a full scan of the indexes reads (in the same order), and a verdict
//! scored from it equals one scored from the scan.

use proptest::prelude::*;
use vouch_protocol::{
    Claim, EndorseCategory, Evidence, Keypair, Kind, ReportCategory, Statement, Subject, VERSION,
};
use vouch_trust::{Config, Said, SubjectEvidence, TrustEngine};

use super::*;
use crate::test_support::store_said;

const NOW: u64 = 1_800_000_000;
const SUBJECTS: [&str; 7] = [
    "192.0.2.1",
    "192.0.2.2",
    "198.51.100.1",
    "192.0.2.0/24",
    "example.org",
    "2001:db8::1",
    "192.0.2.3",
];
/// Never the subject of a statement.
const UNKNOWN: &str = "203.0.113.77";
const AUTHORS: u8 = 3;

#[derive(Debug, Clone)]
enum Op {
    /// A statement by author `author` about `SUBJECTS[subject]`.
    Say {
        author: u8,
        subject: usize,
        claim: u8,
        relay_origin: Option<usize>,
        age: u64,
        ttl: u64,
    },
    /// Sweep statements expired `at` seconds after NOW.
    Sweep { at: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0u8..AUTHORS, 0..SUBJECTS.len(), 0u8..6, proptest::option::of(0..3usize), 0u64..600, 1u64..900)
            .prop_map(|(author, subject, claim, relay_origin, age, ttl)| Op::Say {
                author, subject, claim, relay_origin, age, ttl,
            }),
        1 => (0u64..1200).prop_map(|at| Op::Sweep { at }),
    ]
}

fn author(n: u8) -> Keypair {
    Keypair::from_secret_bytes([n + 1; 32])
}

fn claim(kind: u8, relay_origin: Option<usize>) -> Claim {
    let relay_chain = relay_origin
        .and_then(|i| SUBJECTS.get(i))
        .and_then(|s| s.parse().ok())
        .into_iter()
        .collect();
    match kind {
        0 => Claim::Report {
            category: ReportCategory::Spam,
            count: 1,
            evidence: Evidence {
                message_hashes: Vec::new(),
                relay_chain,
            },
        },
        1 => Claim::Endorse {
            category: EndorseCategory::LegitimateSender,
        },
        2 => Claim::Endorse {
            category: EndorseCategory::Forwarder,
        },
        3 => Claim::Remediate {
            remediated_at: NOW - 700,
            note: "fixed".into(),
        },
        4 => Claim::Retract { kind: Kind::Report },
        _ => Claim::Retract {
            kind: Kind::Endorse,
        },
    }
}

fn apply(store: &Store, op: &Op) {
    match op {
        Op::Say {
            author,
            subject,
            claim: kind,
            relay_origin,
            age,
            ttl,
        } => {
            let claim = claim(*kind, *relay_origin);
            store_said(
                store,
                &self::author(*author),
                SUBJECTS[*subject],
                claim,
                NOW - age,
                *ttl,
            );
        }
        Op::Sweep { at } => {
            while store.sweep_expired(NOW + at).expect("sweep").len() == SWEEP_BATCH {}
        }
    }
}

/// The evidence for `subject`, from the mirror and from a full scan of
/// the indexes on disk.
fn both_ways(store: &Store, subject: &Subject) -> [[Vec<Said>; 3]; 2] {
    let said = |stored: Vec<Stored>| -> Vec<Said> {
        stored
            .iter()
            .filter_map(|s| Said::of(s.id, &s.statement, s.first_reported))
            .collect()
    };
    let mirror = store.mirror();
    [
        [
            mirror.about(subject),
            mirror.in_netblock(subject),
            mirror.relayed_from(subject),
        ],
        [
            said(store.about(subject).expect("about")),
            said(store.in_netblock(subject).expect("netblock")),
            said(store.relayed_from(subject).expect("relayed")),
        ],
    ]
}

/// Checks every subject both ways: the same evidence, and the same
/// reputation from a node trusting every author.
fn check(store: &Store, when: &str) -> Result<(), TestCaseError> {
    let me = Keypair::from_secret_bytes([99; 32]);
    let engine = TrustEngine::new(me.public(), Config::default());
    for n in 0..AUTHORS {
        engine.apply(&me.sign(Statement {
            version: VERSION,
            subject: Subject::Node(author(n).public()),
            created_at: NOW,
            expires_at: NOW + 86_400,
            claim: Claim::Trust { weight: 100 },
        }));
    }
    engine.recompute_if_dirty();
    for subject in SUBJECTS.iter().chain([&UNKNOWN]) {
        let subject: Subject = subject.parse().expect("subject");
        let [fast, full] = both_ways(store, &subject);
        prop_assert_eq!(&fast, &full, "{} {}", subject, when);
        let score = |[exact, netblock, relayed]: &[Vec<Said>; 3]| {
            let evidence = SubjectEvidence {
                exact,
                netblock,
                relayed,
                neighbourhood: None,
                co_reports: None,
            };
            serde_json::to_string(&engine.reputation(&subject, &evidence, NOW + 60)).expect("json")
        };
        prop_assert_eq!(score(&fast), score(&full), "{} {}", subject, when);
    }
    let [kept, counted] = store.mirror().co_report_counts();
    prop_assert_eq!(kept, counted, "co-reports {}", when);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_mirror_holds_what_a_full_scan_reads(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = Store::open(dir.path()).expect("open");
            for op in &ops {
                apply(&store, op);
            }
            check(&store, "")?;
        }
        // Rebuilt from the indexes when the store opens again.
        let store = Store::open(dir.path()).expect("reopen");
        check(&store, "after reopening")?;
    }
}

#[test]
fn what_expires_leaves_the_mirror_and_nothing_of_it_stays_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    apply(
        &store,
        &Op::Say {
            author: 0,
            subject: 0,
            claim: 0,
            relay_origin: Some(2),
            age: 0,
            ttl: 600,
        },
    );
    let subject = |s: &str| -> Subject { s.parse().expect("subject") };
    {
        let mirror = store.mirror();
        assert_eq!(mirror.about(&subject("192.0.2.1")).len(), 1);
        assert_eq!(mirror.in_netblock(&subject("192.0.2.200")).len(), 1);
        assert_eq!(mirror.relayed_from(&subject("198.51.100.1")).len(), 1);
        assert!(mirror.about(&subject(UNKNOWN)).is_empty());
        assert!(mirror.in_netblock(&subject(UNKNOWN)).is_empty());
        assert!(mirror.relayed_from(&subject(UNKNOWN)).is_empty());
    }
    apply(&store, &Op::Sweep { at: 601 });
    let mirror = store.mirror();
    assert!(mirror.about(&subject("192.0.2.1")).is_empty());
    assert!(mirror.in_netblock(&subject("192.0.2.200")).is_empty());
    assert!(mirror.relayed_from(&subject("198.51.100.1")).is_empty());
    assert!(mirror.is_empty(), "every map and author slot is released");
}

/// A step of [`a_block_weighed_once_scores_as_a_full_scan_does`].
#[derive(Debug, Clone)]
enum Step {
    /// A report (or, when `endorse`, an endorsement) by `author` about
    /// 192.0.2.`member`, made `age` seconds before the clock.
    Say {
        author: u8,
        member: u8,
        endorse: bool,
        age: u64,
        ttl: u64,
    },
    /// Sweep what expired by the clock.
    Sweep,
    /// The clock moves on `later` seconds; 192.0.2.`member` is looked up.
    Ask { member: u8, later: u64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0u8..AUTHORS, 1u8..40, prop::bool::weighted(0.2), 0u64..3_600, 600u64..86_400)
            .prop_map(|(author, member, endorse, age, ttl)| Step::Say { author, member, endorse, age, ttl }),
        1 => Just(Step::Sweep),
        4 => (1u8..42, prop_oneof![Just(0u64), 0u64..7_200])
            .prop_map(|(member, later)| Step::Ask { member, later }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A busy /24, weighed once and kept for its members' lookups while
    /// reports arrive and expire and the clock moves on, scores every
    /// member as weighing a full scan of the indexes afresh does.
    #[test]
    fn a_block_weighed_once_scores_as_a_full_scan_does(steps in proptest::collection::vec(step(), 1..60)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let me = Keypair::from_secret_bytes([99; 32]);
        let engine = TrustEngine::new(me.public(), Config::default());
        for n in 0..AUTHORS {
            engine.apply(&me.sign(Statement {
                version: VERSION,
                subject: Subject::Node(author(n).public()),
                created_at: NOW,
                expires_at: NOW + 30 * 86_400,
                claim: Claim::Trust { weight: 100 },
            }));
        }
        engine.recompute_if_dirty();
        let (trust, config) = (engine.snapshot(), engine.config());
        let report = || Claim::Report {
            category: ReportCategory::Spam,
            count: 1,
            evidence: Evidence::default(),
        };
        // Enough reported neighbours for the block to be kept weighed.
        for member in 100..140u64 {
            store_said(&store, &author((member % 3) as u8), &format!("192.0.2.{member}"), report(), NOW - member * 60, 2 * 86_400);
        }
        let mut clock = NOW;
        for step in &steps {
            match step {
                Step::Say { author, member, endorse, age, ttl } => {
                    let claim = if *endorse {
                        Claim::Endorse { category: EndorseCategory::LegitimateSender }
                    } else {
                        report()
                    };
                    store_said(&store, &self::author(*author), &format!("192.0.2.{member}"), claim, clock - age, *ttl);
                }
                Step::Sweep => {
                    while store.sweep_expired(clock).expect("sweep").len() == SWEEP_BATCH {}
                }
                Step::Ask { member, later } => {
                    clock += later;
                    let subject: Subject = format!("192.0.2.{member}").parse().expect("ip");
                    let said = |stored: Vec<Stored>| -> Vec<Said> {
                        stored.iter().filter_map(|s| Said::of(s.id, &s.statement, s.first_reported)).collect()
                    };
                    let exact = said(store.about(&subject).expect("about"));
                    let netblock = said(store.in_netblock(&subject).expect("netblock"));
                    let full = vouch_trust::reputation(&subject, &SubjectEvidence {
                        exact: &exact,
                        netblock: &netblock,
                        ..SubjectEvidence::default()
                    }, &trust, clock, config);
                    let mirror = store.mirror();
                    let weighed = mirror.neighbourhood(&subject, &trust, clock, config);
                    if netblock.len() >= super::neighbourhoods::MIN_KEPT_STATEMENTS {
                        prop_assert_eq!(mirror.kept_neighbourhoods(), 1);
                    }
                    let fast = vouch_trust::reputation(&subject, &SubjectEvidence {
                        exact: &mirror.about(&subject),
                        neighbourhood: weighed.as_deref(),
                        ..SubjectEvidence::default()
                    }, &trust, clock, config);
                    prop_assert_eq!(fast.verdict, full.verdict, "{:?}", step);
                    prop_assert!((fast.score - full.score).abs() <= 1e-12, "{} {}", fast.score, full.score);
                    prop_assert_eq!(fast.netblock_reported_ips, full.netblock_reported_ips);
                    prop_assert_eq!(fast.statements, full.statements);
                }
            }
        }
    }
}
