//! Scoring tests on small hand-built graphs with known answers; one file,
//! so each test reads as a story over the same few helpers.

use vouch_protocol::{
    Claim, EndorseCategory, Evidence as ReportEvidence, Keypair, Kind, ReportCategory,
    SignedStatement, Statement, StatementId, Subject, VERSION, encode_signed,
};

use super::*;

/// A statement with its id, as the store holds it.
type Entry = (StatementId, SignedStatement);

/// What scoring reads of each entry.
fn said(entries: &[Entry]) -> Vec<Said> {
    entries
        .iter()
        .filter_map(|(id, s)| Said::of(*id, s, None))
        .collect()
}

const NOW: u64 = 1_800_000_000;
const HOUR: u64 = 3600;

fn key(n: u8) -> Keypair {
    Keypair::from_secret_bytes([n; 32])
}

fn statement(
    author: &Keypair,
    subject: Subject,
    claim: Claim,
    age_secs: u64,
) -> (StatementId, SignedStatement) {
    let created_at = NOW - age_secs;
    let signed = author.sign(Statement {
        version: VERSION,
        subject,
        created_at,
        expires_at: created_at + 30 * 24 * HOUR,
        claim,
    });
    let id = StatementId::of_bytes(&encode_signed(&signed).expect("encodes"));
    (id, signed)
}

fn trust(from: &Keypair, to: &Keypair, weight: u8) -> SignedStatement {
    statement(from, Subject::Node(to.public()), Claim::Trust { weight }, 0).1
}

fn report(author: &Keypair, subject: &str, age_secs: u64) -> (StatementId, SignedStatement) {
    let claim = Claim::Report {
        category: ReportCategory::Spam,
        count: 1,
        evidence: ReportEvidence::default(),
    };
    statement(author, subject.parse().expect("subject"), claim, age_secs)
}

fn endorse(author: &Keypair, subject: &str) -> (StatementId, SignedStatement) {
    statement(
        author,
        subject.parse().expect("subject"),
        Claim::Endorse {
            category: EndorseCategory::LegitimateSender,
        },
        0,
    )
}

fn engine(root: &Keypair, edges: &[SignedStatement]) -> TrustEngine {
    let engine = TrustEngine::new(root.public(), Config::default());
    for edge in edges {
        engine.apply(edge);
    }
    engine.recompute_if_dirty();
    engine
}

fn engine_with_defaults(root: &Keypair, edges: &[SignedStatement]) -> TrustEngine {
    engine(root, edges)
}

/// An engine without the per-author cap: weights are the walk's trust.
fn uncapped(root: &Keypair, edges: &[SignedStatement]) -> TrustEngine {
    let config = Config {
        max_author_weight: 1.0,
        author_cap_of_mean: f64::MAX,
        ..Config::default()
    };
    let engine = TrustEngine::new(root.public(), config);
    for edge in edges {
        engine.apply(edge);
    }
    engine.recompute_if_dirty();
    engine
}

fn score(engine: &TrustEngine, subject: &str, exact: &[Entry], netblock: &[Entry]) -> Reputation {
    let (exact, netblock) = (said(exact), said(netblock));
    let evidence = SubjectEvidence {
        exact: &exact,
        netblock: &netblock,
        ..SubjectEvidence::default()
    };
    engine.reputation(&subject.parse().expect("subject"), &evidence, NOW)
}

#[test]
fn author_without_a_trust_path_has_no_effect() {
    let (me, friend, stranger) = (key(1), key(2), key(3));
    // The stranger even vouches for me: trust flows out of my web, not in.
    let engine = engine(&me, &[trust(&me, &friend, 100), trust(&stranger, &me, 100)]);
    assert_eq!(engine.snapshot().get(&stranger.public()), 0.0);
    let reports: Vec<_> = (0..50).map(|_| report(&stranger, "192.0.2.1", 0)).collect();
    let r = score(&engine, "192.0.2.1", &reports, &[]);
    assert_eq!(r.reported, 0.0);
    assert_eq!(r.verdict, Verdict::Neutral);
    assert!(r.explanation.is_empty());
}

#[test]
fn no_single_voice_blocks_not_even_my_own() {
    let (me, friend) = (key(1), key(2));
    let engine = engine(&me, &[trust(&me, &friend, 100)]);
    let mine = [report(&me, "192.0.2.1", 0)];
    let r = score(&engine, "192.0.2.1", &mine, &[]);
    let own_weight = Config::default().max_author_weight;
    assert!((r.reported - own_weight).abs() < 1e-9, "{}", r.reported);
    assert_eq!(r.verdict, Verdict::Suspect, "my own report alone: suspect");
    assert_eq!(r.explanation.len(), 1);
    assert_eq!(r.explanation[0].author, me.public());
    assert_eq!(r.explanation[0].author_trust, 1.0);
    // A trusted friend agrees: two voices block.
    let both = [mine[0].clone(), report(&friend, "192.0.2.1", 0)];
    assert_eq!(
        score(&engine, "192.0.2.1", &both, &[]).verdict,
        Verdict::Block
    );
}

#[test]
fn chain_of_trust_carries_weight_with_attenuation() {
    let (me, b, c, d) = (key(1), key(2), key(3), key(4));
    let engine = uncapped(
        &me,
        &[trust(&me, &b, 100), trust(&b, &c, 100), trust(&c, &d, 100)],
    );
    let t = engine.snapshot();
    let (tb, tc, td) = (t.get(&b.public()), t.get(&c.public()), t.get(&d.public()));
    assert!(
        tb > tc && tc > td && td > 0.0,
        "trust must attenuate along the chain: {tb} {tc} {td}"
    );
    // Each report counts by its author's trust.
    let near = score(&engine, "192.0.2.1", &[report(&b, "192.0.2.1", 0)], &[]);
    let far = score(&engine, "192.0.2.1", &[report(&d, "192.0.2.1", 0)], &[]);
    assert!(near.reported > far.reported && far.reported > 0.0);
    assert!((near.reported - tb).abs() < 1e-9);
}

#[test]
fn vouching_for_many_splits_trust() {
    let me = key(1);
    let peers: Vec<Keypair> = (10..15).map(key).collect();
    let one = uncapped(&me, &[trust(&me, &peers[0], 100)]);
    let edges: Vec<_> = peers.iter().map(|p| trust(&me, p, 100)).collect();
    let many = uncapped(&me, &edges);
    assert!(many.snapshot().get(&peers[0].public()) < one.snapshot().get(&peers[0].public()) / 2.0);
}

#[test]
fn sybil_clique_behind_one_attack_edge_gets_bounded_trust() {
    let (me, friend, gullible) = (key(1), key(2), key(3));
    let sybils: Vec<Keypair> = (100..200).map(key).collect();
    let mut edges = vec![
        trust(&me, &friend, 100),
        trust(&friend, &gullible, 100),
        trust(&gullible, &sybils[0], 10),
    ];
    // My friend vouches for four other operators besides the gullible one.
    edges.extend((10..14).map(|n| trust(&friend, &key(n), 100)));
    for a in &sybils {
        for b in sybils.iter().take(5) {
            if a.public() != b.public() {
                edges.push(trust(a, b, 100));
            }
        }
    }
    let engine = uncapped(&me, &edges);
    let t = engine.snapshot();
    let sybil_mass: f64 = sybils.iter().map(|s| t.get(&s.public())).sum();
    // Everything the clique gets flows through the one weak edge.
    assert!(
        sybil_mass < t.get(&gullible.public()),
        "sybil mass {sybil_mass} vs gullible {}",
        t.get(&gullible.public())
    );
    // A hundred sybils reporting an honest server cannot block it.
    let reports: Vec<_> = sybils
        .iter()
        .map(|s| report(s, "198.51.100.10", 0))
        .collect();
    let defaults = engine_with_defaults(&me, &edges);
    assert_ne!(
        score(&defaults, "198.51.100.10", &reports, &[]).verdict,
        Verdict::Block
    );
}

#[test]
fn decay_lowers_an_old_reports_weight() {
    let me = key(1);
    let engine = engine(&me, &[]);
    let fresh = score(&engine, "192.0.2.1", &[report(&me, "192.0.2.1", 0)], &[]);
    let half_life = score(
        &engine,
        "192.0.2.1",
        &[report(&me, "192.0.2.1", 12 * HOUR)],
        &[],
    );
    let old = score(
        &engine,
        "192.0.2.1",
        &[report(&me, "192.0.2.1", 24 * HOUR)],
        &[],
    );
    assert!(
        (half_life.reported - fresh.reported / 2.0).abs() < 1e-6,
        "one half-life halves the weight"
    );
    assert!(old.reported < fresh.reported / 2.0);
    assert_eq!(fresh.verdict, Verdict::Suspect);
    assert_eq!(
        old.verdict,
        Verdict::Neutral,
        "a report a day old no longer makes a sender suspect alone"
    );
}

#[test]
fn netblock_signal_needs_several_distinct_reported_ips() {
    let (me, friend) = (key(1), key(2));
    let engine = engine(&me, &[trust(&me, &friend, 100)]);
    let reported = |ips: &[&str]| -> Vec<Entry> {
        ips.iter()
            .flat_map(|ip| [report(&me, ip, 0), report(&friend, ip, 0)])
            .collect()
    };
    let r = score(
        &engine,
        "192.0.2.1",
        &[],
        &reported(&["192.0.2.5", "192.0.2.6"]),
    );
    assert_eq!(r.netblock, 0.0);
    assert_eq!(r.verdict, Verdict::Neutral);
    // Many reports about one neighbour are still one neighbour.
    let same: Vec<_> = (0..5).map(|_| report(&me, "192.0.2.5", 0)).collect();
    assert_eq!(score(&engine, "192.0.2.1", &[], &same).netblock, 0.0);
    let three = reported(&["192.0.2.5", "192.0.2.6", "192.0.2.7"]);
    let r = score(&engine, "192.0.2.1", &[], &three);
    assert!(r.netblock > 0.0);
    assert_eq!(r.netblock_reported_ips, 3);
    assert_eq!(
        r.verdict,
        Verdict::Suspect,
        "the netblock signal alone is weaker than a block"
    );
    // However heavily the neighbours are reported, a neighbour is at most suspect.
    let many: Vec<Keypair> = (20..40).map(key).collect();
    let mut edges: Vec<_> = many.iter().map(|k| trust(&me, k, 5)).collect();
    edges.push(trust(&me, &friend, 100));
    let crowd = engine_with_defaults(&me, &edges);
    let heavy: Vec<Entry> = ["192.0.2.5", "192.0.2.6", "192.0.2.7"]
        .iter()
        .flat_map(|ip| many.iter().map(|k| report(k, ip, 0)))
        .collect();
    let r = score(&crowd, "192.0.2.1", &[], &heavy);
    assert_eq!(r.verdict, Verdict::Suspect, "{r:?}");
    assert!(score(&crowd, "192.0.2.5", &heavy, &[]).verdict == Verdict::Block);
}

#[test]
fn endorsed_ip_in_a_reported_netblock_is_not_blocked() {
    let (me, friend) = (key(1), key(2));
    let engine = engine(&me, &[trust(&me, &friend, 100)]);
    let neighbours: Vec<_> = (5..30)
        .map(|i| report(&me, &format!("192.0.2.{i}"), 0))
        .collect();
    let unendorsed = score(&engine, "192.0.2.1", &[], &neighbours);
    assert!(unendorsed.netblock > 0.0);
    let endorsed = score(
        &engine,
        "192.0.2.1",
        &[endorse(&friend, "192.0.2.1")],
        &neighbours,
    );
    assert_eq!(
        endorsed.netblock, 0.0,
        "an exact endorsement overrides the netblock signal"
    );
    assert_ne!(endorsed.verdict, Verdict::Block);
    assert_ne!(endorsed.verdict, Verdict::Suspect);
}

#[test]
fn retracting_trust_removes_the_authors_effect() {
    let (me, friend) = (key(1), key(2));
    let engine = engine(&me, &[trust(&me, &friend, 100)]);
    let reports = [report(&friend, "192.0.2.1", 0)];
    assert!(score(&engine, "192.0.2.1", &reports, &[]).reported > 0.05);
    let retract = statement(
        &me,
        Subject::Node(friend.public()),
        Claim::Retract { kind: Kind::Trust },
        0,
    )
    .1;
    engine.apply(&retract);
    assert!(engine.recompute_if_dirty().is_some());
    assert_eq!(score(&engine, "192.0.2.1", &reports, &[]).reported, 0.0);
}

#[test]
fn weight_zero_withdraws_and_recompute_is_lazy() {
    let (me, friend) = (key(1), key(2));
    let engine = engine(&me, &[trust(&me, &friend, 100)]);
    assert!(
        engine.recompute_if_dirty().is_none(),
        "nothing changed, nothing recomputed"
    );
    engine.apply(&trust(&me, &friend, 0));
    assert!(
        engine.snapshot().get(&friend.public()) > 0.0,
        "lookups see the last computed map until recompute"
    );
    engine.recompute_if_dirty();
    assert_eq!(engine.snapshot().get(&friend.public()), 0.0);
}

#[test]
fn lower_weight_means_less_trust() {
    let (me, strong, weak) = (key(1), key(2), key(3));
    let engine = uncapped(&me, &[trust(&me, &strong, 60), trust(&me, &weak, 20)]);
    let t = engine.snapshot();
    assert!(t.get(&strong.public()) > 2.0 * t.get(&weak.public()));
}

#[test]
fn expired_statements_do_not_count() {
    let me = key(1);
    let engine = engine(&me, &[]);
    let (id, mut old) = report(&me, "192.0.2.1", 0);
    old.body.expires_at = NOW;
    assert_eq!(score(&engine, "192.0.2.1", &[(id, old)], &[]).reported, 0.0);
}

#[test]
fn config_defaults_pass_their_own_check() {
    assert_eq!(Config::default().check(), Ok(()));
    let bad = Config {
        thresholds: Thresholds {
            block: 0.0,
            suspect: -1.0,
            allow: 1.0,
        },
        ..Config::default()
    };
    assert!(bad.check().is_err());
}

#[test]
fn decay_is_exponential() {
    assert!((decay(0, 10.0) - 1.0).abs() < 1e-12);
    assert!((decay(10, 10.0) - 0.5).abs() < 1e-12);
    assert!((decay(20, 10.0) - 0.25).abs() < 1e-12);
}

fn relayed_report(author: &Keypair, forwarder: &str, origin: &str) -> Entry {
    let evidence = ReportEvidence {
        message_hashes: Vec::new(),
        relay_chain: vec![origin.parse().expect("ip")],
    };
    let claim = Claim::Report {
        category: ReportCategory::Spam,
        count: 1,
        evidence,
    };
    statement(author, forwarder.parse().expect("subject"), claim, 0)
}

#[test]
fn endorsed_forwarder_is_not_blamed_and_the_source_is() {
    let (me, a, b) = (key(1), key(2), key(3));
    let engine = engine(&me, &[trust(&me, &a, 100), trust(&me, &b, 100)]);
    let forwarder = "198.51.100.5";
    let reports = [
        relayed_report(&me, forwarder, "203.0.113.66"),
        relayed_report(&a, forwarder, "203.0.113.66"),
    ];
    // Without a forwarder endorsement the forwarder takes the blame.
    assert_eq!(
        score(&engine, forwarder, &reports, &[]).verdict,
        Verdict::Block
    );
    let endorsement = statement(
        &b,
        forwarder.parse().expect("ip"),
        Claim::Endorse {
            category: EndorseCategory::Forwarder,
        },
        0,
    );
    let mut about = reports.to_vec();
    about.push(endorsement);
    let r = score(&engine, forwarder, &about, &[]);
    assert!(r.forwarder);
    assert_ne!(r.verdict, Verdict::Block, "{r:?}");
    assert_ne!(r.verdict, Verdict::Suspect, "{r:?}");
    // The reports are attributed to the source the forwarder recorded.
    assert!(engine.is_endorsed_forwarder(&said(&about), NOW));
    let reports = said(&reports);
    let evidence = SubjectEvidence {
        relayed: &reports,
        ..SubjectEvidence::default()
    };
    let source = engine.reputation(&"203.0.113.66".parse().expect("ip"), &evidence, NOW);
    assert_eq!(source.verdict, Verdict::Block);
    assert_eq!(source.explanation[0].signal, Signal::Relayed);
    assert!(
        source.explanation[0]
            .category
            .to_string()
            .contains("via forwarder 198.51.100.5")
    );
}

#[test]
fn trusted_remediation_speeds_up_decay_and_shows_in_the_explanation() {
    let (me, operator, stranger) = (key(1), key(2), key(3));
    let engine = engine(&me, &[trust(&me, &operator, 100)]);
    let reports: Vec<Entry> = (0..3)
        .map(|_| report(&me, "192.0.2.1", 12 * HOUR))
        .collect();
    let reports = &reports[..1];
    let remediate = |author: &Keypair| {
        let claim = Claim::Remediate {
            remediated_at: NOW - 6 * HOUR,
            note: "compromised account closed".into(),
        };
        statement(author, "192.0.2.1".parse().expect("ip"), claim, 6 * HOUR)
    };
    let plain = score(&engine, "192.0.2.1", reports, &[]);
    let mut with_fix = reports.to_vec();
    with_fix.push(remediate(&operator));
    let fixed = score(&engine, "192.0.2.1", &with_fix, &[]);
    assert!(
        fixed.reported < plain.reported / 4.0,
        "{} vs {}",
        fixed.reported,
        plain.reported
    );
    assert_eq!(fixed.remediated_at, Some(NOW - 6 * HOUR));
    assert!(
        fixed
            .explanation
            .iter()
            .any(|c| c.kind == Kind::Remediate && c.category.to_string().contains("account closed"))
    );
    // An untrusted author's remediation changes nothing and is not shown.
    let mut untrusted = reports.to_vec();
    untrusted.push(remediate(&stranger));
    let r = score(&engine, "192.0.2.1", &untrusted, &[]);
    assert_eq!(r.reported, plain.reported);
    assert!(!r.explanation.iter().any(|c| c.kind == Kind::Remediate));
    // Nor can a crowd of strangers' notices flood the explanation; trusted
    // ones show, a few at most.
    let mut crowd = reports.to_vec();
    crowd.extend((10..40).map(|n| remediate(&key(n))));
    crowd.extend((0..5).map(|_| remediate(&operator)));
    let r = score(&engine, "192.0.2.1", &crowd, &[]);
    let notices = r
        .explanation
        .iter()
        .filter(|c| c.kind == Kind::Remediate)
        .count();
    assert!((1..=3).contains(&notices), "{notices} notices");
    // Reports made after the remediation decay normally.
    let fresh = [report(&me, "192.0.2.1", 0), remediate(&operator)];
    let r = score(&engine, "192.0.2.1", &fresh, &[]);
    assert_eq!(r.reported, Config::default().max_author_weight);
    assert_eq!(r.verdict, Verdict::Suspect);
}

#[test]
fn no_peer_counts_more_than_the_cap() {
    let (me, only) = (key(1), key(2));
    let engine = engine(&me, &[trust(&me, &only, 100)]);
    let t = engine.snapshot();
    assert!(t.get(&only.public()) > Config::default().max_author_weight);
    assert_eq!(
        t.weight(&only.public()),
        Config::default().max_author_weight
    );
    assert_eq!(t.get(&me.public()), 1.0);
    let one = score(&engine, "192.0.2.1", &[report(&only, "192.0.2.1", 0)], &[]);
    assert_eq!(
        one.verdict,
        Verdict::Suspect,
        "one peer alone makes a sender suspect, not blocked"
    );
}

#[test]
fn in_a_large_web_the_nearest_peers_count_like_the_crowd() {
    // Me → 5 peers → 20 operators each: the peers hold most of my trust.
    let me = key(1);
    let peers: Vec<Keypair> = (2..7).map(key).collect();
    let crowd: Vec<Keypair> = (10..110).map(key).collect();
    let mut edges: Vec<_> = peers.iter().map(|p| trust(&me, p, 100)).collect();
    for (i, p) in peers.iter().enumerate() {
        edges.extend(crowd[i * 20..(i + 1) * 20].iter().map(|c| trust(p, c, 100)));
    }
    let engine = engine(&me, &edges);
    let t = engine.snapshot();
    let (peer, member) = (peers[0].public(), crowd[0].public());
    assert!(t.get(&peer) > 5.0 * t.get(&member));
    assert!(
        t.weight(&peer) < t.get(&peer) && t.author_cap() < Config::default().max_author_weight,
        "the cap tightens in a large web: {}",
        t.author_cap()
    );
    // Two mistaken peers cannot block a sender the crowd says nothing about…
    let two = [
        report(&peers[0], "192.0.2.1", 0),
        report(&peers[1], "192.0.2.1", 0),
    ];
    assert_ne!(
        score(&engine, "192.0.2.1", &two, &[]).verdict,
        Verdict::Block
    );
    // …while a third of the crowd agreeing blocks.
    let many: Vec<Entry> = crowd
        .iter()
        .step_by(3)
        .map(|c| report(c, "192.0.2.1", 0))
        .collect();
    let r = score(&engine, "192.0.2.1", &many, &[]);
    assert_eq!(r.verdict, Verdict::Block, "{r:?}");
}

#[test]
fn a_remediation_followed_by_fresh_reports_is_void() {
    let (me, friend, operator) = (key(1), key(2), key(3));
    let engine = engine(&me, &[trust(&me, &friend, 100), trust(&me, &operator, 100)]);
    let fix = statement(
        &operator,
        "192.0.2.1".parse().expect("ip"),
        Claim::Remediate {
            remediated_at: NOW - 6 * HOUR,
            note: "fixed".into(),
        },
        6 * HOUR,
    );
    let before = [
        report(&me, "192.0.2.1", 12 * HOUR),
        report(&friend, "192.0.2.1", 12 * HOUR),
        fix.clone(),
    ];
    assert_eq!(
        score(&engine, "192.0.2.1", &before, &[]).remediated_at,
        Some(NOW - 6 * HOUR)
    );
    // The spam goes on after the "fix": both report it again.
    let after = [
        report(&me, "192.0.2.1", HOUR),
        report(&friend, "192.0.2.1", HOUR),
        fix,
    ];
    let r = score(&engine, "192.0.2.1", &after, &[]);
    assert_eq!(r.remediated_at, None);
    assert_eq!(r.verdict, Verdict::Block);
}

/// A web where I vouch for forty operators, each of whom vouches for two
/// more: every author weighs little, as in a large network.
fn wide_web(me: &Keypair) -> (TrustEngine, Vec<Keypair>) {
    wide_web_with(me, Config::default())
}

/// [`wide_web`] scored with `config`.
fn wide_web_with(me: &Keypair, config: Config) -> (TrustEngine, Vec<Keypair>) {
    let peers: Vec<Keypair> = (10..50).map(key).collect();
    let mut edges: Vec<SignedStatement> = peers.iter().map(|p| trust(me, p, 100)).collect();
    for (i, p) in peers.iter().enumerate() {
        edges.push(trust(p, &peers[(i + 1) % peers.len()], 80));
        edges.push(trust(p, &peers[(i + 7) % peers.len()], 80));
    }
    let engine = TrustEngine::new(me.public(), config);
    for edge in &edges {
        engine.apply(edge);
    }
    engine.recompute_if_dirty();
    (engine, peers)
}

fn score_with_firsts(
    engine: &TrustEngine,
    subject: &str,
    exact: &[Entry],
    first_reported: &[(StatementId, u64)],
) -> Reputation {
    let first = |id: &StatementId| {
        first_reported
            .iter()
            .find(|(listed, _)| listed == id)
            .map(|(_, first)| *first)
    };
    let exact: Vec<Said> = exact
        .iter()
        .filter_map(|(id, s)| Said::of(*id, s, first(id)))
        .collect();
    let evidence = SubjectEvidence {
        exact: &exact,
        ..SubjectEvidence::default()
    };
    engine.reputation(&subject.parse().expect("subject"), &evidence, NOW)
}

#[test]
fn fresh_first_reports_from_several_trusted_operators_block_within_the_hour() {
    let me = key(1);
    let (engine, peers) = wide_web(&me);
    let config = Config::default();
    let k = config.fresh_min_reporters;
    // Ordinary weights are small: k slow reports alone do not even defer.
    let old: Vec<Entry> = peers[..k]
        .iter()
        .map(|p| report(p, "203.0.113.7", 20 * HOUR))
        .collect();
    assert_eq!(
        score(&engine, "203.0.113.7", &old, &[]).verdict,
        Verdict::Neutral
    );
    // The same operators reporting within the last hour: block.
    let fresh: Vec<Entry> = peers[..k]
        .iter()
        .enumerate()
        .map(|(i, p)| report(p, "203.0.113.7", 600 + 300 * i as u64))
        .collect();
    let r = score(&engine, "203.0.113.7", &fresh, &[]);
    assert_eq!(r.verdict, Verdict::Block, "{r:?}");
    assert_eq!(r.fresh_reporters, k);
    assert!(r.explanation.iter().all(|c| c.fresh), "{:?}", r.explanation);
    // Two of them: deferred, not blocked.
    let r = score(&engine, "203.0.113.7", &fresh[..2], &[]);
    assert_eq!(r.verdict, Verdict::Suspect, "{r:?}");
    // One alone: no more than its ordinary weight.
    let r = score(&engine, "203.0.113.7", &fresh[..1], &[]);
    assert_eq!(r.verdict, Verdict::Neutral, "{r:?}");
    // Fresh evidence fades within hours: the same reports five hours on
    // weigh their ordinary weight again.
    let later: Vec<Entry> = peers[..k]
        .iter()
        .map(|p| report(p, "203.0.113.7", 5 * HOUR))
        .collect();
    assert_ne!(
        score(&engine, "203.0.113.7", &later, &[]).verdict,
        Verdict::Block
    );
}

#[test]
fn a_burst_of_first_reports_blocks_before_the_hour_has_four() {
    let me = key(1);
    let (engine, peers) = wide_web(&me);
    let config = Config::default();
    let k = config.fresh_burst_reporters;
    assert!(k < config.fresh_min_reporters);
    let window = (config.fresh_burst_minutes * 60.0) as u64;
    // k first reports within the burst window: block.
    let burst: Vec<Entry> = peers[..k]
        .iter()
        .enumerate()
        .map(|(i, p)| report(p, "203.0.113.11", 60 + i as u64 * window / k as u64))
        .collect();
    let r = score(&engine, "203.0.113.11", &burst, &[]);
    assert_eq!(r.verdict, Verdict::Block, "{r:?}");
    assert_eq!(r.fresh_reporters, k);
    assert_eq!(r.fresh_window_minutes, config.fresh_burst_minutes);
    // The same k spread over the hour: deferred only.
    let spread: Vec<Entry> = peers[..k]
        .iter()
        .enumerate()
        .map(|(i, p)| report(p, "203.0.113.11", 60 + i as u64 * 25 * 60))
        .collect();
    let r = score(&engine, "203.0.113.11", &spread, &[]);
    assert_eq!(r.verdict, Verdict::Suspect, "{r:?}");
    // An endorsing witness holds a burst back.
    let mut endorsed = burst.clone();
    endorsed.push(endorse(&peers[30], "203.0.113.11"));
    let r = score(&engine, "203.0.113.11", &endorsed, &[]);
    assert_ne!(r.verdict, Verdict::Block, "{r:?}");
}

#[test]
fn a_steady_stream_of_first_reports_blocks_a_slow_source() {
    let me = key(1);
    let (engine, peers) = wide_web(&me);
    let config = Config::default();
    let k = config.fresh_steady_reporters;
    let hours = config.fresh_steady_hours;
    // One new witness every so often over the steady window: never
    // three within a burst nor four within an hour.
    let every = (hours * 3600.0 / k as f64) as u64;
    assert!(every > 20 * 60);
    let stream = |n: usize| -> Vec<Entry> {
        peers[..n]
            .iter()
            .enumerate()
            .map(|(i, p)| report(p, "203.0.113.12", 300 + i as u64 * every))
            .collect()
    };
    let r = score(&engine, "203.0.113.12", &stream(k), &[]);
    assert_eq!(r.verdict, Verdict::Block, "{r:?}");
    assert_eq!(r.fresh_reporters, k);
    assert_eq!(r.fresh_window_minutes, hours * 60.0);
    assert!(r.explanation.iter().all(|c| c.fresh), "{:?}", r.explanation);
    // (In a web this small, a dozen reports weigh a block even at their
    // ordinary weight; what the clock adds is the fresh weight.)
    // One witness short: the clock does not start (the newest two only
    // defer, as any two within the hour do).
    let r = score(&engine, "203.0.113.12", &stream(k - 1), &[]);
    assert_eq!(r.fresh_window_minutes, config.fresh_window_minutes);
    assert!(r.fresh_reporters < config.fresh_min_reporters, "{r:?}");
    assert!(r.explanation.iter().any(|c| !c.fresh), "{r:?}");
    // Renewals are no new witnesses: the same stream, each author having
    // first reported the subject days ago, does not start it either.
    let renewed = stream(k);
    let firsts: Vec<(StatementId, u64)> = renewed
        .iter()
        .map(|(id, _)| (*id, NOW - 72 * HOUR))
        .collect();
    let r = score_with_firsts(&engine, "203.0.113.12", &renewed, &firsts);
    assert!(r.explanation.iter().all(|c| !c.fresh), "{r:?}");
    assert_eq!(r.fresh_reporters, 0);
}

#[test]
fn ever_more_new_witnesses_hold_a_source_that_sends_for_days() {
    let me = key(1);
    // The default count is beyond this web's forty operators.
    let config = Config {
        fresh_hold_reporters: 30,
        ..Config::default()
    };
    let (engine, peers) = wide_web_with(&me, config.clone());
    let k = config.fresh_hold_reporters;
    // A new witness every 100 minutes for two days: never four within an
    // hour, nor a dozen within the steady window.
    let every = 100 * 60;
    assert!(
        every as f64 * config.fresh_steady_reporters as f64 > config.fresh_steady_hours * 3600.0
    );
    let stream = |n: usize, newest: u64| -> Vec<Entry> {
        peers[..n]
            .iter()
            .enumerate()
            .map(|(i, p)| report(p, "203.0.113.13", newest + i as u64 * every))
            .collect()
    };
    let r = score(&engine, "203.0.113.13", &stream(k, 300), &[]);
    assert_eq!(r.verdict, Verdict::Block, "{r:?}");
    assert_eq!(r.fresh_reporters, k);
    assert_eq!(r.fresh_window_minutes, config.fresh_hold_hours * 60.0);
    assert!(r.explanation.iter().all(|c| c.fresh), "{:?}", r.explanation);
    // One witness short: the clock is not held.
    let r = score(&engine, "203.0.113.13", &stream(k - 1, 300), &[]);
    assert_eq!(r.fresh_window_minutes, config.fresh_window_minutes);
    assert!(r.explanation.iter().all(|c| !c.fresh), "{r:?}");
    // Once new witnesses stop coming, the boost is gone within the hold
    // window: nothing counts as fresh a day after the last one.
    let hold = (config.fresh_hold_hours * 3600.0) as u64;
    let r = score(&engine, "203.0.113.13", &stream(k, hold + 300), &[]);
    assert_eq!(r.fresh_window_minutes, config.fresh_hold_hours * 60.0);
    assert!(r.explanation.iter().all(|c| !c.fresh), "{r:?}");
}

#[test]
fn renewed_reports_are_not_fresh_evidence() {
    let me = key(1);
    let (engine, peers) = wide_web(&me);
    let k = Config::default().fresh_min_reporters;
    let fresh: Vec<Entry> = peers[..k]
        .iter()
        .map(|p| report(p, "203.0.113.8", 600))
        .collect();
    // Each author first reported this subject two days ago and has just
    // renewed the report: colluders reporting a server day after day.
    let firsts: Vec<(StatementId, u64)> =
        fresh.iter().map(|(id, _)| (*id, NOW - 48 * HOUR)).collect();
    let r = score_with_firsts(&engine, "203.0.113.8", &fresh, &firsts);
    assert_eq!(r.fresh_reporters, 0);
    assert_ne!(r.verdict, Verdict::Block, "{r:?}");
    assert!(
        r.explanation.iter().all(|c| !c.fresh),
        "{:?}",
        r.explanation
    );
    // Without the memory the same statements block.
    let r = score_with_firsts(&engine, "203.0.113.8", &fresh, &[]);
    assert_eq!(r.verdict, Verdict::Block);
}

#[test]
fn a_trusted_endorsement_holds_back_one_fresh_report() {
    let me = key(1);
    let (engine, peers) = wide_web(&me);
    let k = Config::default().fresh_min_reporters;
    // First reports 12.5 minutes apart: k within the hour, never a burst.
    let spread = |i: usize| 600 + 750 * i as u64;
    let mut statements: Vec<Entry> = peers[..k]
        .iter()
        .enumerate()
        .map(|(i, p)| report(p, "198.51.100.30", spread(i)))
        .collect();
    statements.push(endorse(&peers[30], "198.51.100.30"));
    let r = score(&engine, "198.51.100.30", &statements, &[]);
    assert_ne!(r.verdict, Verdict::Block, "{r:?}");
    // One more independent fresh report outweighs the endorsement.
    statements.push(report(&peers[k], "198.51.100.30", spread(k)));
    let r = score(&engine, "198.51.100.30", &statements, &[]);
    assert_eq!(r.verdict, Verdict::Block, "{r:?}");
}

/// My verdict on `subject` when every key of `clique` (all vouching for
/// each other in full) reports it, over the web of `edges`.
fn clique_reports(
    me: &Keypair,
    mut edges: Vec<SignedStatement>,
    clique: &[Keypair],
    subject: &str,
) -> Reputation {
    for x in clique {
        for y in clique.iter().filter(|y| y.public() != x.public()) {
            edges.push(trust(x, y, 100));
        }
    }
    let engine = engine(me, &edges);
    let reports: Vec<Entry> = clique.iter().map(|s| report(s, subject, 300)).collect();
    score(&engine, subject, &reports, &[])
}

#[test]
fn a_clique_behind_any_single_vouch_of_a_small_web_never_blocks() {
    // Four honest nodes; the clique hangs off each honest node in turn,
    // behind a full-weight vouch.
    let (me, a, b, c) = (key(1), key(2), key(3), key(4));
    let honest = [
        trust(&me, &a, 80),
        trust(&me, &b, 80),
        trust(&a, &c, 80),
        trust(&b, &me, 80),
    ];
    let clique: Vec<Keypair> = (60..66).map(key).collect();
    for gate in [&me, &a, &b, &c] {
        let mut edges = honest.to_vec();
        edges.push(trust(gate, &clique[0], 100));
        let r = clique_reports(&me, edges, &clique, "192.0.2.99");
        assert_ne!(
            r.verdict,
            Verdict::Block,
            "clique behind {:?}: {r:?}",
            gate.public()
        );
        assert!(r.reported <= Config::default().max_author_weight + 1e-9);
    }
}

#[test]
fn growth_is_reported_once_whoever_recomputed() {
    let (me, a, b) = (key(1), key(2), key(3));
    let engine = engine(&me, &[trust(&me, &a, 100)]);
    assert!(engine.take_growth(), "reaching a is growth");
    assert!(!engine.take_growth(), "told once");
    // A back-fill page brings a's vouch for b and recomputes at once.
    engine.apply(&trust(&a, &b, 100));
    engine.recompute_if_dirty();
    assert!(engine.take_growth());
    // Withdrawing a vouch shrinks the web: not growth.
    engine.apply(&trust(&a, &b, 0));
    engine.recompute_if_dirty();
    assert!(!engine.take_growth());
}

#[test]
fn a_clique_behind_one_weak_vouch_two_hops_away_changes_nothing() {
    // Four honest nodes: me, my peers a and b, and a's peer c, who vouches
    // with weight 10 for one key of a six-key clique.
    let (me, a, b, c) = (key(1), key(2), key(3), key(4));
    let clique: Vec<Keypair> = (70..76).map(key).collect();
    let edges = vec![
        trust(&me, &a, 80),
        trust(&me, &b, 80),
        trust(&a, &c, 80),
        trust(&c, &clique[0], 10),
    ];
    let r = clique_reports(&me, edges, &clique, "192.0.2.77");
    assert_eq!(r.verdict, Verdict::Neutral, "{r:?}");
}

#[test]
fn the_same_graph_gives_the_same_trust_to_the_last_bit_whatever_order_it_was_built_in() {
    // Hash maps iterate in a random order per process (and per insertion
    // history): the floating-point sums behind trust and the author cap
    // must not follow it, or one node's verdicts flicker at a threshold.
    let keys: Vec<NodeKey> = (0..300u32)
        .map(|i| {
            let mut key = [0u8; 32];
            key[..4].copy_from_slice(&i.to_be_bytes());
            NodeKey(key)
        })
        .collect();
    let mut edges = std::collections::BTreeMap::new();
    let mut state = 7u64;
    for from in 0..keys.len() {
        for _ in 0..6 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let to = (state >> 33) as usize % keys.len();
            let weight = 20 + (state >> 20) as u8 % 80;
            if to != from {
                edges.entry((from, to)).or_insert(weight);
            }
        }
    }
    let build = |order: &mut dyn Iterator<Item = (&(usize, usize), &u8)>| {
        let mut graph = TrustGraph::default();
        for (&(from, to), &weight) in order {
            graph.set(keys[from], keys[to], weight);
        }
        personalised_rank(&graph, keys[0], Config::default().rank_params())
    };
    let forward = build(&mut edges.iter());
    let backward = build(&mut edges.iter().rev());
    assert!(forward.len() > 100, "the web reaches most keys");
    assert_eq!(
        forward.author_cap().to_bits(),
        backward.author_cap().to_bits()
    );
    let bits = |map: &TrustMap| -> Vec<(NodeKey, u64)> {
        map.ranked()
            .into_iter()
            .map(|(k, t)| (k, t.to_bits()))
            .collect()
    };
    assert_eq!(bits(&forward), bits(&backward));
}

#[test]
fn the_graph_sets_changes_and_removes_edges_whatever_keys_it_has_seen() {
    let (a, b, c) = (key(1).public(), key(2).public(), key(3).public());
    let mut graph = TrustGraph::default();
    assert!(
        !graph.set(a, b, 0),
        "removing what is not there changes nothing"
    );
    assert!(graph.set(a, b, 60));
    assert!(
        !graph.set(a, b, 60),
        "the same weight again changes nothing"
    );
    assert!(graph.set(a, b, 70));
    assert!(graph.set(c, a, 10));
    assert!(!graph.set(a, a, 50), "no edge to oneself");
    assert_eq!(
        (
            graph.weight(&a, &b),
            graph.weight(&c, &a),
            graph.edge_count()
        ),
        (70, 10, 2)
    );
    assert!(graph.set(a, b, 0));
    assert_eq!((graph.weight(&a, &b), graph.edge_count()), (0, 1));
    assert_eq!(graph.edges_from(&a).count(), 0);
    // A removed edge comes back like a new one, and the walk follows it.
    assert!(graph.set(a, b, 90));
    let map = personalised_rank(&graph, a, Config::default().rank_params());
    assert!(map.get(&b) > 0.0 && map.get(&c) == 0.0, "{map:?}");
    assert_eq!(map.branch(&b), Some(&b));
}

/// Who reported what, beyond the subject scored: (author, subject number).
#[derive(Debug)]
struct OtherReports(Vec<(vouch_protocol::NodeKey, u64)>);

impl OtherReports {
    fn of(&self, author: &vouch_protocol::NodeKey) -> Vec<u64> {
        let mut subjects: Vec<u64> = self
            .0
            .iter()
            .filter(|(a, _)| a == author)
            .map(|(_, s)| *s)
            .collect();
        subjects.sort_unstable();
        subjects.dedup();
        subjects
    }
}

impl CoReports for OtherReports {
    fn shared(&self, authors: &[vouch_protocol::NodeKey], _: &Subject) -> Shared {
        let lists: Vec<Vec<u64>> = authors.iter().map(|a| self.of(a)).collect();
        let mut reporters: std::collections::HashMap<u64, u64> = Default::default();
        for (_, subject) in &self.0 {
            *reporters.entry(*subject).or_default() += 1;
        }
        let mut authors: Vec<_> = self.0.iter().map(|(a, _)| a).collect();
        authors.sort_unstable();
        authors.dedup();
        let reporting = Reporting {
            reports: reporters.values().sum(),
            same_subject_pairs: reporters.values().map(|r| r * (r - 1) / 2).sum(),
            reporters: authors.len() as u64,
        };
        shared_by_pairs(lists.iter().map(Vec::as_slice), &reporting)
    }
}

#[test]
fn independent_witnesses_hold_a_slow_source_a_clique_reporting_together_does_not() {
    let me = key(1);
    let config = Config::default();
    let (engine, peers) = wide_web_with(&me, config.clone());
    let k = config.fresh_independent_reporters;
    // A new witness every 100 minutes: never four within an hour, nor a
    // dozen within the steady window, nor the hold's count.
    let every = 100 * 60;
    assert!(k < config.fresh_hold_reporters && k < peers.len());
    let stream: Vec<Entry> = peers[..k]
        .iter()
        .enumerate()
        .map(|(i, p)| report(p, "203.0.113.14", 300 + i as u64 * every))
        .collect();
    let exact = said(&stream);
    let judge = |co_reports: Option<&dyn CoReports>| {
        let evidence = SubjectEvidence {
            exact: &exact,
            co_reports,
            ..SubjectEvidence::default()
        };
        engine.reputation(&"203.0.113.14".parse().expect("subject"), &evidence, NOW)
    };
    // Every operator reported two other servers, its own and its ring
    // neighbour's: two reporters at random share almost nothing, and
    // neither do the witnesses.
    let everyone: Vec<(vouch_protocol::NodeKey, u64)> = peers
        .iter()
        .enumerate()
        .flat_map(|(i, p)| [(p.public(), i as u64), (p.public(), i as u64 + 1)])
        .collect();
    let strangers = OtherReports(everyone.clone());
    // (In a web this small, ten reports weigh a block even at their
    // ordinary weight; what the independence adds is the fresh weight.)
    let r = judge(Some(&strangers));
    assert_eq!(r.verdict, Verdict::Block, "{r:?}");
    assert!(r.explanation.iter().all(|c| c.fresh), "{r:?}");
    assert_eq!(r.fresh_reporters, k);
    assert_eq!(r.fresh_window_minutes, config.fresh_hold_hours * 60.0);
    // The same witnesses, who also all reported the same five servers: a
    // clique. Counting alone cannot tell; nothing is fresh.
    let mut together = everyone;
    for p in &peers[..k] {
        together.extend((100..105).map(|s| (p.public(), s)));
    }
    let clique = OtherReports(together);
    let pair = [peers[0].public(), peers[1].public()];
    let shared = clique.shared(&pair, &Subject::Node(me.public()));
    assert!(
        shared.observed >= 2.0 * shared.by_volume.min(shared.at_random),
        "{shared:?}"
    );
    let r = judge(Some(&clique));
    assert!(r.explanation.iter().all(|c| !c.fresh), "{r:?}");
    assert_eq!(r.fresh_window_minutes, config.fresh_window_minutes);
    // Nobody to tell: the check is off, as for the clique.
    let r = judge(None);
    assert!(r.explanation.iter().all(|c| !c.fresh), "{r:?}");
    // One witness short of the count: not held, however independent.
    let short = said(&stream[1..]);
    let evidence = SubjectEvidence {
        exact: &short,
        co_reports: Some(&strangers),
        ..SubjectEvidence::default()
    };
    let r = engine.reputation(&"203.0.113.14".parse().expect("subject"), &evidence, NOW);
    assert!(r.explanation.iter().all(|c| !c.fresh), "{r:?}");
}
