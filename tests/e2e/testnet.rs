//! The loopback testnet runner on real `vouch` processes: three nodes,
//! node 0 the bootstrap node, a few reports from random nodes.

use vouch_sim::testnet::scenarios::{self, Scenario};
use vouch_sim::testnet::{Engine, Options, run, topology};

use crate::harness::vouch_bin;

#[test]
fn a_three_node_testnet_delivers_every_report() {
    let options = Options {
        nodes: 3,
        reports: 5,
        chords: 0,
        vouch: vouch_bin(),
        seed: 1,
        deadline_secs: 10,
        spacing_ms: 200,
        engine: Engine::Processes,
        late_statements: 0,
    };
    let figures = run(&options).expect("testnet runs");
    assert_eq!(figures.reports, 5);
    assert_eq!(figures.delivery_percent, 100.0, "{figures:?}");
    let [p50, p95, p99, max] = figures.latency_ms;
    assert!(
        p50 <= p95 && p95 <= p99 && p99 <= max && max < 10_000.0,
        "{figures:?}"
    );
}

#[test]
fn churned_processes_lose_nothing_and_catch_up() {
    let options = Options {
        nodes: 4,
        reports: 8,
        chords: 0,
        vouch: vouch_bin(),
        seed: 2,
        deadline_secs: 10,
        spacing_ms: 200,
        engine: Engine::Processes,
        late_statements: 0,
    };
    let outcome = scenarios::run(Scenario::Churn, &options).expect("churn runs");
    let value = |metric: &str| {
        outcome
            .rows
            .iter()
            .find(|row| row.metric == metric)
            .map(|row| row.value)
            .expect(metric)
    };
    assert_eq!(value("nodes stopped and started"), 1.0);
    assert_eq!(value("statements lost"), 0.0, "{:?}", outcome.rows);
    assert_eq!(
        value("(report, node) pairs missing at the end"),
        0.0,
        "{:?}",
        outcome.rows
    );
    assert!(outcome.passed());
}

#[test]
fn a_sybil_region_changes_no_honest_verdict_and_stays_within_the_quota() {
    let options = Options {
        nodes: 4,
        reports: 0,
        chords: 0,
        vouch: vouch_bin(),
        seed: 3,
        deadline_secs: 5,
        spacing_ms: 0,
        engine: Engine::Processes,
        late_statements: 0,
    };
    let outcome = scenarios::run(Scenario::Sybil, &options).expect("sybil runs");
    assert!(outcome.passed(), "{:?}", outcome.rows);
    let kept = outcome
        .rows
        .iter()
        .find(|row| row.metric.starts_with("sybil statements kept"))
        .map(|row| row.value)
        .expect("kept row");
    assert!(
        kept > 0.0,
        "the sybils' statements reached the honest nodes"
    );
}

#[test]
fn the_topology_is_a_ring_plus_distinct_chords() {
    let edges = topology(10, 2, 7);
    for i in 0..10 {
        let out: Vec<usize> = edges.iter().filter(|e| e.0 == i).map(|e| e.1).collect();
        assert_eq!(out.len(), 4, "node {i}: {out:?}");
        assert!(out.contains(&((i + 1) % 10)) && out.contains(&((i + 9) % 10)));
        assert!(!out.contains(&i));
    }
    assert_eq!(topology(10, 2, 7), edges, "seeded");
}
