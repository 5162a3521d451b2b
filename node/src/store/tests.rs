//! Store tests on a real RocksDB in a temporary directory; one file, as the
//! tests share the statement builders at its top.

use vouch_protocol::{
    Claim, EndorseCategory, Evidence, Keypair, Kind, ReportCategory, SignedStatement, Statement,
    StatementId, Subject, VERSION, encode_signed,
};

use super::*;

const NOW: u64 = 1_800_000_000;

fn verified(statement: SignedStatement) -> Verified {
    let bytes = encode_signed(&statement).expect("encodes");
    Verified {
        id: StatementId::of_bytes(&bytes),
        bytes,
        statement,
    }
}

fn make(author: &Keypair, subject: &str, claim: Claim, created_at: u64, ttl: u64) -> Verified {
    verified(author.sign(Statement {
        version: VERSION,
        subject: subject.parse().expect("subject"),
        created_at,
        expires_at: created_at + ttl,
        claim,
    }))
}

fn spam() -> Claim {
    Claim::Report {
        category: ReportCategory::Spam,
        count: 1,
        evidence: Evidence::default(),
    }
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    (dir, store)
}

#[test]
fn insert_is_idempotent_and_counted() {
    let (_dir, store) = open();
    let a = Keypair::from_secret_bytes([1; 32]);
    let s = make(&a, "192.0.2.1", spam(), NOW, 3600);
    assert!(matches!(
        store.insert(std::slice::from_ref(&s)).expect("insert")[0],
        Outcome::Stored {
            seq: 1,
            superseded: None
        }
    ));
    assert_eq!(
        store.insert(std::slice::from_ref(&s)).expect("insert"),
        vec![Outcome::Duplicate]
    );
    assert_eq!(
        store.counts(),
        Counts {
            statements: 1,
            next_seq: 2,
            strangers: 0,
        }
    );
    assert!(store.contains(&s.id).expect("contains"));
    assert_eq!(store.get(&s.id).expect("get"), Some(s.statement.clone()));
}

#[test]
fn latest_wins_per_author_subject_and_kind() {
    let (_dir, store) = open();
    let a = Keypair::from_secret_bytes([1; 32]);
    let old = make(&a, "192.0.2.1", spam(), NOW, 3600);
    let new = make(&a, "192.0.2.1", spam(), NOW + 10, 3600);
    let endorsement = make(
        &a,
        "192.0.2.1",
        Claim::Endorse {
            category: EndorseCategory::Operator,
        },
        NOW,
        3600,
    );
    store.insert(std::slice::from_ref(&new)).expect("insert");
    // An older statement arriving later does not resurrect.
    assert_eq!(
        store.insert(std::slice::from_ref(&old)).expect("insert"),
        vec![Outcome::Stale]
    );
    // A different kind is a different slot.
    assert!(matches!(
        store
            .insert(std::slice::from_ref(&endorsement))
            .expect("insert")[0],
        Outcome::Stored { .. }
    ));
    let about = store
        .about(&"192.0.2.1".parse().expect("subject"))
        .expect("about");
    let ids: Vec<StatementId> = about.iter().map(|s| s.id).collect();
    assert_eq!(about.len(), 2);
    assert!(ids.contains(&new.id) && ids.contains(&endorsement.id) && !ids.contains(&old.id));
    assert_eq!(store.counts().statements, 2);
}

#[test]
fn newer_statement_supersedes_and_removes_the_older_everywhere() {
    let (_dir, store) = open();
    let a = Keypair::from_secret_bytes([1; 32]);
    let old = make(&a, "192.0.2.1", spam(), NOW, 3600);
    let new = make(&a, "192.0.2.1", spam(), NOW + 10, 3600);
    store.insert(std::slice::from_ref(&old)).expect("insert");
    let outcome = store.insert(std::slice::from_ref(&new)).expect("insert");
    assert_eq!(
        outcome,
        vec![Outcome::Stored {
            seq: 2,
            superseded: Some(old.id)
        }]
    );
    assert_eq!(store.get(&old.id).expect("get"), None);
    assert_eq!(
        store.since(0, 10).expect("since").len(),
        1,
        "the sequence index drops superseded statements"
    );
    assert_eq!(
        store
            .mirror()
            .in_netblock(&"192.0.2.99".parse().expect("subject"))
            .len(),
        1
    );
    assert_eq!(store.counts().statements, 1);
}

#[test]
fn retraction_supersedes_and_leaves_no_live_statement() {
    let (_dir, store) = open();
    let a = Keypair::from_secret_bytes([1; 32]);
    let report = make(&a, "example.org", spam(), NOW, 3600);
    let retract = make(
        &a,
        "example.org",
        Claim::Retract { kind: Kind::Report },
        NOW + 1,
        3600,
    );
    store
        .insert(&[report.clone(), retract.clone()])
        .expect("insert both in one batch");
    assert!(
        store
            .about(&"example.org".parse().expect("subject"))
            .expect("about")
            .is_empty()
    );
    // The tombstone holds the slot, so the report cannot come back by gossip.
    assert_eq!(
        store.insert(&[report]).expect("insert"),
        vec![Outcome::Stale]
    );
    assert_eq!(
        store.by_author(&a.public(), None).expect("by author")[0].id,
        retract.id
    );
}

#[test]
fn ties_break_by_id_so_every_node_picks_the_same_winner() {
    let a = Keypair::from_secret_bytes([1; 32]);
    let x = make(&a, "192.0.2.1", spam(), NOW, 3600);
    let y = make(&a, "192.0.2.1", spam(), NOW, 7200);
    let winner = if x.id > y.id { x.id } else { y.id };
    for order in [[x.clone(), y.clone()], [y.clone(), x.clone()]] {
        let (_dir, store) = open();
        for item in &order {
            store.insert(std::slice::from_ref(item)).expect("insert");
        }
        assert_eq!(
            store
                .about(&"192.0.2.1".parse().expect("subject"))
                .expect("about")[0]
                .id,
            winner
        );
    }
}

#[test]
fn a_netblock_holds_its_neighbours_but_not_other_blocks() {
    let (_dir, store) = open();
    let a = Keypair::from_secret_bytes([1; 32]);
    let items: Vec<Verified> = [
        "192.0.2.1",
        "192.0.2.200",
        "192.0.2.0/24",
        "192.0.3.1",
        "2001:db8:1::5",
        "2001:db8:1:ffff::9",
        "2001:db8:2::1",
    ]
    .iter()
    .map(|s| make(&a, s, spam(), NOW, 3600))
    .collect();
    store.insert(&items).expect("insert");
    assert_eq!(
        store
            .mirror()
            .in_netblock(&"192.0.2.77".parse().expect("subject"))
            .len(),
        3
    );
    assert_eq!(
        store
            .mirror()
            .in_netblock(&"2001:db8:1::1".parse().expect("subject"))
            .len(),
        2
    );
    assert_eq!(
        store
            .mirror()
            .in_netblock(&"example.org".parse().expect("subject"))
            .len(),
        0
    );
}

#[test]
fn domain_keys_do_not_prefix_each_other() {
    let (_dir, store) = open();
    let a = Keypair::from_secret_bytes([1; 32]);
    store
        .insert(&[
            make(&a, "example.org", spam(), NOW, 3600),
            make(&a, "example.org.evil.test", spam(), NOW, 3600),
        ])
        .expect("insert");
    assert_eq!(
        store
            .about(&"example.org".parse().expect("domain"))
            .expect("about")
            .len(),
        1
    );
}

#[test]
fn sweep_deletes_expired_statements_and_their_indexes() {
    let (_dir, store) = open();
    let a = Keypair::from_secret_bytes([1; 32]);
    let short = make(&a, "192.0.2.1", spam(), NOW, 60);
    let long = make(&a, "192.0.2.2", spam(), NOW, 3600);
    let edge = verified(a.sign(Statement {
        version: VERSION,
        subject: Subject::Node(Keypair::from_secret_bytes([2; 32]).public()),
        created_at: NOW,
        expires_at: NOW + 60,
        claim: Claim::Trust { weight: 50 },
    }));
    store
        .insert(&[short.clone(), long.clone(), edge.clone()])
        .expect("insert");
    assert_eq!(store.trust_statements().expect("trust").len(), 1);
    let expired = store.sweep_expired(NOW + 60).expect("sweep");
    assert_eq!(expired.len(), 2);
    assert_eq!(store.get(&short.id).expect("get"), None);
    assert!(
        store
            .about(&"192.0.2.1".parse().expect("ip"))
            .expect("about")
            .is_empty()
    );
    assert!(store.trust_statements().expect("trust").is_empty());
    assert_eq!(store.counts().statements, 1);
    assert!(
        store
            .sweep_expired(NOW + 60)
            .expect("sweep again")
            .is_empty()
    );
    // The slot is free again: a fresh statement from the same author is stored.
    let again = make(&a, "192.0.2.1", spam(), NOW + 100, 60);
    assert!(matches!(
        store.insert(&[again]).expect("insert")[0],
        Outcome::Stored { .. }
    ));
}

#[test]
fn data_and_counters_survive_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = Keypair::from_secret_bytes([1; 32]);
    let items: Vec<Verified> = (1..=20)
        .map(|i| make(&a, &format!("192.0.2.{i}"), spam(), NOW, 3600))
        .collect();
    {
        let store = Store::open(dir.path()).expect("open");
        store.insert(&items).expect("insert");
    }
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(
        store.counts(),
        Counts {
            statements: 20,
            next_seq: 21,
            strangers: 0,
        }
    );
    let since = store.since(15, 100).expect("since");
    assert_eq!(
        since.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        vec![15, 16, 17, 18, 19, 20]
    );
    assert_eq!(since[0].1.id, items[14].id);
}

#[test]
fn write_buffers_are_written_out_and_their_memory_freed() {
    let (dir, store) = open();
    let a = Keypair::from_secret_bytes([1; 32]);
    let statements: Vec<Verified> = (0..500)
        .map(|n| {
            make(
                &a,
                &format!("192.0.2.{}", n % 250 + 1),
                spam(),
                NOW + n,
                3600,
            )
        })
        .collect();
    store.insert(&statements).expect("insert");
    let buffered = || {
        keys::ALL
            .iter()
            .map(|name| {
                let cf = store.cf(name).expect("family");
                store
                    .db
                    .property_int_value_cf(cf, "rocksdb.cur-size-active-mem-table")
                    .expect("property")
                    .unwrap_or(0)
            })
            .sum::<u64>()
    };
    let before = buffered();
    store.flush_write_buffers().expect("flush");
    let after = buffered();
    assert!(after < before / 4, "{before} bytes buffered, {after} after");
    let count = store.counts().statements;
    assert_eq!(count, 250, "the latest report about each address");
    drop(store);
    let reopened = Store::open(dir.path()).expect("reopen");
    assert_eq!(reopened.counts().statements, count);
}

#[test]
fn a_second_process_cannot_open_the_same_store() {
    let (dir, _store) = open();
    assert!(matches!(Store::open(dir.path()), Err(Error::Rocks(_))));
}

#[test]
fn relayed_reports_are_found_by_origin_and_leave_with_their_statement() {
    let (_dir, store) = open();
    let a = Keypair::from_secret_bytes([1; 32]);
    let relayed = |origin: &str, at| {
        let evidence = Evidence {
            message_hashes: Vec::new(),
            relay_chain: vec![origin.parse().expect("ip")],
        };
        make(
            &a,
            "198.51.100.5",
            Claim::Report {
                category: ReportCategory::Spam,
                count: 1,
                evidence,
            },
            at,
            3600,
        )
    };
    let first = relayed("203.0.113.1", NOW);
    store.insert(std::slice::from_ref(&first)).expect("insert");
    let origin: Subject = "203.0.113.1".parse().expect("ip");
    assert_eq!(store.mirror().relayed_from(&origin)[0].id, first.id);
    // The newer report from the same author names another origin.
    store
        .insert(&[relayed("203.0.113.2", NOW + 1)])
        .expect("insert");
    assert!(store.mirror().relayed_from(&origin).is_empty());
    assert_eq!(
        store
            .mirror()
            .relayed_from(&"203.0.113.2".parse().expect("subject"))
            .len(),
        1
    );
    store.sweep_expired(NOW + 7200).expect("sweep");
    assert!(
        store
            .mirror()
            .relayed_from(&"203.0.113.2".parse().expect("subject"))
            .is_empty()
    );
}

#[test]
fn strangers_are_held_under_their_quota_then_promoted_or_dropped() {
    let (dir, store) = open();
    let quota = StrangerQuota {
        per_author: 2,
        total: 3,
    };
    let (a, b) = (
        Keypair::from_secret_bytes([1; 32]),
        Keypair::from_secret_bytes([2; 32]),
    );
    let offer = |items: &[Verified], now: u64| {
        let admitted: Vec<(&Verified, Admission)> =
            items.iter().map(|v| (v, Admission::Stranger)).collect();
        store
            .insert_admitted(&admitted, &quota, now)
            .expect("insert")
    };
    let by_a: Vec<Verified> = (1..=3)
        .map(|i| make(&a, &format!("192.0.2.{i}"), spam(), NOW, 3600))
        .collect();
    let outcomes = offer(&by_a, NOW);
    assert!(matches!(outcomes[0], Outcome::Stored { .. }));
    assert!(matches!(outcomes[1], Outcome::Stored { .. }));
    assert_eq!(outcomes[2], Outcome::OverQuota, "per-author quota");
    // A newer statement in a held slot replaces it without using more quota.
    let newer = make(&a, "192.0.2.1", spam(), NOW + 1, 3600);
    assert!(matches!(offer(&[newer], NOW)[0], Outcome::Stored { .. }));
    let by_b: Vec<Verified> = (1..=2)
        .map(|i| make(&b, &format!("198.51.100.{i}"), spam(), NOW, 3600))
        .collect();
    let outcomes = offer(&by_b, NOW + 10);
    assert!(matches!(outcomes[0], Outcome::Stored { .. }));
    assert_eq!(outcomes[1], Outcome::OverQuota, "total quota");
    assert_eq!(store.counts().strangers, 3);
    assert_eq!(store.counts().statements, 3);

    // A enters the web of trust: its statements stay; B's retention ends.
    let sweep = store
        .settle_strangers(|author| *author == a.public(), NOW + 5)
        .expect("settle");
    assert_eq!(sweep.promoted, 2);
    assert!(
        sweep.dropped.is_empty(),
        "B's statement is younger than the cut-off"
    );
    let sweep = store.settle_strangers(|_| false, NOW + 10).expect("settle");
    assert_eq!((sweep.promoted, sweep.dropped.len()), (0, 1));
    assert_eq!(store.counts().strangers, 0);
    assert_eq!(store.counts().statements, 2);
    assert!(
        store
            .about(&"198.51.100.1".parse().expect("ip"))
            .expect("about")
            .is_empty()
    );
    assert_eq!(
        store
            .about(&"192.0.2.1".parse().expect("ip"))
            .expect("about")
            .len(),
        1
    );

    // The stranger count survives a restart.
    let held = make(&b, "198.51.100.9", spam(), NOW, 3600);
    assert!(matches!(offer(&[held], NOW)[0], Outcome::Stored { .. }));
    drop(store);
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(store.counts().strangers, 1);
}

#[test]
fn the_turned_away_mark_survives_a_restart() {
    let (dir, store) = open();
    assert!(
        !store.turned_away().expect("read"),
        "a new store turned nothing away"
    );
    store.set_turned_away(true).expect("write");
    drop(store);
    let store = Store::open(dir.path()).expect("reopen");
    assert!(store.turned_away().expect("read"));
    store.set_turned_away(false).expect("write");
    assert!(!store.turned_away().expect("read"));
}

#[test]
fn promoted_statements_move_past_every_back_fill_watermark() {
    let (_dir, store) = open();
    let (stranger, friend) = (
        Keypair::from_secret_bytes([1; 32]),
        Keypair::from_secret_bytes([2; 32]),
    );
    let held = make(&stranger, "192.0.2.1", spam(), NOW, 3600);
    let trusted = make(&friend, "192.0.2.2", spam(), NOW, 3600);
    store
        .insert_admitted(
            &[(&held, Admission::Stranger), (&trusted, Admission::Trusted)],
            &StrangerQuota::default(),
            NOW,
        )
        .expect("insert");
    // A peer back-filled everything up to here, the stranger's statement
    // passed over (a node serves only its web's statements).
    let watermark = store.counts().next_seq;
    assert!(store.since(watermark, 10).expect("since").is_empty());

    let sweep = store
        .settle_strangers(|author| *author == stranger.public(), 0)
        .expect("settle");
    assert_eq!(sweep.promoted, 1);
    let after: Vec<StatementId> = store
        .since(watermark, 10)
        .expect("since")
        .into_iter()
        .map(|(_, stored)| stored.id)
        .collect();
    assert_eq!(after, vec![held.id], "the peer's next round brings it");
    let everything: Vec<StatementId> = store
        .since(0, 10)
        .expect("since")
        .into_iter()
        .map(|(_, stored)| stored.id)
        .collect();
    assert_eq!(
        everything,
        vec![trusted.id, held.id],
        "each statement once in the sequence"
    );
    assert_eq!(store.counts().statements, 2);
}

#[test]
fn sync_watermarks_and_the_peer_book_persist() {
    let (dir, store) = open();
    assert_eq!(store.sync_watermark(b"peer-a").expect("read"), 0);
    store.set_sync_watermark(b"peer-a", 42).expect("write");
    store.set_sync_watermark(b"peer-b", 7).expect("write");
    store.set_peer_book(b"{}").expect("write");
    drop(store);
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(store.sync_watermark(b"peer-a").expect("read"), 42);
    assert_eq!(
        store.peer_book().expect("read").as_deref(),
        Some(&b"{}"[..])
    );
    let keep: std::collections::HashSet<Vec<u8>> = [b"peer-a".to_vec()].into();
    store.set_sync_watermark(b"peer-c", 9).expect("write");
    assert_eq!(store.retain_sync_watermarks(&keep).expect("retain"), 2);
    assert_eq!(store.sync_watermark(b"peer-a").expect("read"), 42);
    assert_eq!(store.sync_watermark(b"peer-c").expect("read"), 0);
}

#[test]
fn a_renewed_report_remembers_when_the_author_first_reported() {
    let (_dir, store) = open();
    let a = Keypair::from_secret_bytes([1; 32]);
    let first = make(&a, "192.0.2.40", spam(), NOW - 7200, 86_400);
    store.insert(&[first]).expect("insert");
    let about = store
        .about(&"192.0.2.40".parse().expect("ip"))
        .expect("about");
    assert_eq!(
        about[0].first_reported, None,
        "a first report is its own first"
    );
    // A retraction keeps the memory, and so does the renewal after it.
    let retract = make(
        &a,
        "192.0.2.40",
        Claim::Retract { kind: Kind::Report },
        NOW - 3600,
        86_400,
    );
    let renewed = make(&a, "192.0.2.40", spam(), NOW, 86_400);
    store.insert(&[retract]).expect("insert");
    store.insert(&[renewed]).expect("insert");
    let about = store
        .about(&"192.0.2.40".parse().expect("ip"))
        .expect("about");
    assert_eq!(about.len(), 1);
    assert_eq!(about[0].first_reported, Some(NOW - 7200));
    // So does what lookups of its neighbours read.
    let near = store
        .mirror()
        .in_netblock(&"192.0.2.41".parse().expect("subject"));
    assert_eq!(near[0].first_reported, NOW - 7200);
}

#[test]
fn a_report_after_the_old_one_expired_starts_afresh() {
    let (_dir, store) = open();
    let a = Keypair::from_secret_bytes([1; 32]);
    let old = make(&a, "192.0.2.50", spam(), NOW - 7200, 3600);
    store.insert(&[old]).expect("insert");
    let new = make(&a, "192.0.2.50", spam(), NOW, 3600);
    store.insert(&[new]).expect("insert");
    let about = store
        .about(&"192.0.2.50".parse().expect("ip"))
        .expect("about");
    assert_eq!(about[0].first_reported, None);
}

#[test]
fn slot_values_round_trip_with_and_without_a_first_report_time() {
    let id = StatementId([7; 32]);
    for first_reported in [None, Some(NOW - 60)] {
        let value = SlotValue {
            id,
            created_at: NOW,
            seq: 9,
            expires_at: NOW + 60,
            first_reported,
        };
        assert_eq!(SlotValue::decode(&value.encode()), Some(value.clone()));
        // Earlier versions wrote the relay origin's subject key after it.
        let origin = keys::subject(&"198.51.100.1".parse().expect("ip"));
        let older = [value.encode(), origin].concat();
        assert_eq!(SlotValue::decode(&older), Some(value));
    }
    // Index values written before first-report times existed are bare ids.
    assert_eq!(keys::index_entry(&id.0), Some((id, None)));
    assert_eq!(
        keys::index_entry(&keys::index_value(&id, Some(5))),
        Some((id, Some(5)))
    );
    assert_eq!(keys::index_entry(&[1, 2, 3]), None);
}

#[test]
fn counts_never_wait_on_a_write_in_progress() {
    let (_dir, store) = open();
    let store = std::sync::Arc::new(store);
    let before = store.counts();
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            // A long write: the writer lock held across I/O.
            let _writing = store.writer.lock().expect("lock");
            held_tx.send(()).expect("send");
            std::thread::sleep(std::time::Duration::from_millis(500));
        })
    };
    held_rx.recv().expect("writer holds the lock");
    let started = std::time::Instant::now();
    assert_eq!(store.counts(), before);
    assert!(started.elapsed() < std::time::Duration::from_millis(100));
    writer.join().expect("join");
    // And a completed write is seen.
    let author = Keypair::from_secret_bytes([3; 32]);
    store
        .insert(&[make(&author, "192.0.2.1", spam(), NOW, 3600)])
        .expect("insert");
    assert_eq!(store.counts().statements, before.statements + 1);
}

#[test]
fn a_big_expiry_backlog_is_swept_in_bounded_batches_and_leaves_no_keys_to_step_over() {
    let (_dir, store) = open();
    let author = Keypair::from_secret_bytes([4; 32]);
    let backlog = SWEEP_BATCH + 5;
    let expiring: Vec<Verified> = (0..backlog)
        .map(|i| {
            let subject = format!("10.{}.{}.{}", i / 65_536, (i / 256) % 256, i % 256);
            make(&author, &subject, spam(), NOW, 60 + (i % 7) as u64)
        })
        .collect();
    for chunk in expiring.chunks(1000) {
        store.insert(chunk).expect("insert");
    }
    let live = make(&author, "192.0.2.200", spam(), NOW, 7200);
    store.insert(&[live]).expect("insert");
    let later = NOW + 3600;
    assert_eq!(
        store.sweep_expired(later).expect("sweep").len(),
        SWEEP_BATCH
    );
    assert_eq!(store.sweep_expired(later).expect("sweep").len(), 5);
    assert!(store.sweep_expired(later).expect("sweep").is_empty());
    assert_eq!(store.counts().statements, 1);
    // What is left in the expiry index is the live statement's key only.
    let expiry = store.cf(keys::EXPIRY).expect("cf");
    let left: Vec<_> = store
        .db
        .iterator_cf(expiry, IteratorMode::Start)
        .collect::<Result<_, _>>()
        .expect("entries");
    assert_eq!(left.len(), 1);
}

#[test]
fn a_write_between_the_stranger_scan_and_its_settling_does_not_make_the_count_drift() {
    let (_dir, store) = open();
    let quota = StrangerQuota {
        per_author: 5,
        total: 10,
    };
    let (a, b) = (
        Keypair::from_secret_bytes([1; 32]),
        Keypair::from_secret_bytes([2; 32]),
    );
    let held = [
        make(&a, "192.0.2.1", spam(), NOW, 3600),
        make(&a, "192.0.2.2", spam(), NOW, 3600),
        make(&b, "198.51.100.1", spam(), NOW, 3600),
    ];
    let admitted: Vec<(&Verified, Admission)> =
        held.iter().map(|v| (v, Admission::Stranger)).collect();
    store
        .insert_admitted(&admitted, &quota, NOW)
        .expect("insert");
    assert_eq!(store.counts().strangers, 3);
    // A joins the web of trust. While settling scans, a newer statement of
    // A's replaces one of its held ones (the insert drops that entry itself).
    let newer = make(&a, "192.0.2.1", spam(), NOW + 1, 3600);
    let replaced = std::cell::Cell::new(false);
    store
        .settle_strangers(
            |author| {
                if !replaced.replace(true) {
                    store.insert(std::slice::from_ref(&newer)).expect("insert");
                }
                *author == a.public()
            },
            0,
        )
        .expect("settle");
    // B's statement is still held: the count says so.
    assert_eq!(store.count_strangers().expect("count"), 1);
    assert_eq!(store.counts().strangers, 1);
}

#[test]
fn a_store_with_families_since_dropped_opens_and_loses_only_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = Keypair::from_secret_bytes([1; 32]);
    let item = make(&a, "192.0.2.1", spam(), NOW, 3600);
    {
        let store = Store::open(dir.path()).expect("open");
        store.insert(std::slice::from_ref(&item)).expect("insert");
    }
    // As an earlier version left it: the dropped indexes, with entries.
    {
        let mut options = Options::default();
        options.create_missing_column_families(true);
        let families = keys::ALL.iter().chain(&keys::DROPPED);
        let db = DB::open_cf(&options, dir.path(), families).expect("open raw");
        for name in keys::DROPPED {
            let cf = db.cf_handle(name).expect("family");
            db.put_cf(cf, b"key", item.id.0).expect("put");
        }
    }
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(
        store.get(&item.id).expect("get"),
        Some(item.statement.clone())
    );
    assert_eq!(store.counts().statements, 1);
    assert_eq!(
        store
            .mirror()
            .about(&"192.0.2.1".parse().expect("ip"))
            .len(),
        1
    );
    drop(store);
    let left = DB::list_cf(&Options::default(), dir.path()).expect("list");
    for name in keys::DROPPED {
        assert!(!left.iter().any(|f| f == name), "{name} is still there");
    }
    Store::open(dir.path()).expect("opens again");
}
