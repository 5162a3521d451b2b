//! The presence record and the read cache against the indexes themselves:
//! on random stores, a lookup (which skips the disk when nothing is
//! recorded, and answers from the cache what it read before) finds
//! exactly what a full index scan finds, after any mix of inserts,
//! renewals, retractions, sweeps and lookups, and again after the store
//! is reopened.

use proptest::prelude::*;
use vouch_protocol::{
    Claim, EndorseCategory, Evidence, Keypair, Kind, ReportCategory, Statement, StatementId,
    Subject, VERSION, encode_signed,
};

use super::presence::Index;
use super::*;

const NOW: u64 = 1_800_000_000;
const SUBJECTS: [&str; 6] = [
    "192.0.2.1",
    "192.0.2.2",
    "198.51.100.1",
    "192.0.2.0/24",
    "example.org",
    "2001:db8::1",
];
/// Never the subject of a statement.
const UNKNOWN: &str = "203.0.113.77";

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
    /// Look `SUBJECTS[subject]` up (filling the read cache).
    Look { subject: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..3, 0..SUBJECTS.len(), 0u8..4, proptest::option::of(0..3usize), 0u64..600, 1u64..900)
            .prop_map(|(author, subject, claim, relay_origin, age, ttl)| Op::Say {
                author, subject, claim, relay_origin, age, ttl,
            }),
        1 => (0u64..1200).prop_map(|at| Op::Sweep { at }),
        3 => (0..SUBJECTS.len()).prop_map(|subject| Op::Look { subject }),
    ]
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
        2 => Claim::Retract { kind: Kind::Report },
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
            let created_at = NOW - age;
            let statement = Keypair::from_secret_bytes([*author + 1; 32]).sign(Statement {
                version: VERSION,
                subject: SUBJECTS[*subject].parse().expect("subject"),
                created_at,
                expires_at: created_at + ttl,
                claim: claim(*kind, *relay_origin),
            });
            let bytes = encode_signed(&statement).expect("encodes");
            let verified = Verified {
                id: StatementId::of_bytes(&bytes),
                bytes,
                statement,
            };
            store.insert(&[verified]).expect("insert");
        }
        Op::Sweep { at } => {
            while store.sweep_expired(NOW + at).expect("sweep").len() == SWEEP_BATCH {}
        }
        Op::Look { subject } => {
            let subject: Subject = SUBJECTS[*subject].parse().expect("subject");
            store.about(&subject).expect("about");
            store.in_netblock(&subject).expect("netblock");
            store.relayed_from(&subject).expect("relayed");
        }
    }
}

/// What each lookup index holds for `subject`, read through the presence
/// record and by a full scan.
fn both_ways(store: &Store, subject: &Subject) -> Vec<(Vec<StatementId>, Vec<StatementId>)> {
    let ids = |stored: Vec<Stored>| {
        let mut ids: Vec<StatementId> = stored.into_iter().map(|s| s.id).collect();
        ids.sort();
        ids
    };
    let key = keys::subject(subject);
    let mut pairs = vec![
        (
            ids(store.about(subject).expect("about")),
            ids(store
                .scan_ids(Index::Subjects.family(), &key)
                .expect("scan")),
        ),
        (
            ids(store.relayed_from(subject).expect("relayed")),
            ids(store.scan_ids(Index::Relayed.family(), &key).expect("scan")),
        ),
    ];
    if let Some(block) = keys::netblock(subject) {
        pairs.push((
            ids(store.in_netblock(subject).expect("netblock")),
            ids(store
                .scan_ids(Index::Netblocks.family(), &block)
                .expect("scan")),
        ));
    }
    pairs
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn presence_and_cache_find_what_a_full_scan_finds(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = Store::open(dir.path()).expect("open");
            for op in &ops {
                apply(&store, op);
            }
            for subject in SUBJECTS.iter().chain([&UNKNOWN]) {
                let subject: Subject = subject.parse().expect("subject");
                for (fast, full) in both_ways(&store, &subject) {
                    prop_assert_eq!(fast, full, "{}", subject);
                }
            }
        }
        // Rebuilt from the indexes when the store opens again.
        let store = Store::open(dir.path()).expect("reopen");
        for subject in SUBJECTS.iter().chain([&UNKNOWN]) {
            let subject: Subject = subject.parse().expect("subject");
            for (fast, full) in both_ways(&store, &subject) {
                prop_assert_eq!(fast, full, "{} after reopening", subject);
            }
        }
    }
}

#[test]
fn a_sender_nobody_spoke_of_is_not_looked_up_on_disk() {
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
    let may_hold = |index: Index, subject: &str| {
        let subject: Subject = subject.parse().expect("subject");
        let key = match index {
            Index::Netblocks => keys::netblock(&subject).expect("block"),
            _ => keys::subject(&subject),
        };
        store.presence.may_hold(index, &key)
    };
    assert!(may_hold(Index::Subjects, "192.0.2.1"));
    assert!(may_hold(Index::Netblocks, "192.0.2.200"));
    assert!(may_hold(Index::Relayed, "198.51.100.1"));
    assert!(!may_hold(Index::Subjects, UNKNOWN));
    assert!(!may_hold(Index::Netblocks, UNKNOWN));
    assert!(!may_hold(Index::Relayed, UNKNOWN));
    // Swept, it is forgotten.
    apply(&store, &Op::Sweep { at: 601 });
    assert!(!may_hold(Index::Subjects, "192.0.2.1"));
    assert!(!may_hold(Index::Netblocks, "192.0.2.200"));
    assert!(!may_hold(Index::Relayed, "198.51.100.1"));
    assert_eq!(store.presence.len(), 0);
}
