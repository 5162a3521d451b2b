//! Trust recomputation (personalised random walk with restart) for 1k, 10k
//! and 100k operators with about 10 trust edges each. Target: < 100 ms at 100k.
//!
//! Run: `cargo bench -p vouch-trust --bench trust`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use vouch_protocol::NodeKey;
use vouch_trust::{Config, TrustGraph, personalised_rank};

fn key(i: u32) -> NodeKey {
    let mut key = [0u8; 32];
    key[..4].copy_from_slice(&i.to_be_bytes());
    NodeKey(key)
}

/// A deterministic graph: each node vouches for its next 5 ring neighbours
/// and 5 pseudo-random others.
fn graph(n: u32) -> TrustGraph {
    let mut graph = TrustGraph::default();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..n {
        for d in 1..=5 {
            graph.set(key(i), key((i + d) % n), 80);
        }
        for _ in 0..5 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            graph.set(key(i), key((x % u64::from(n)) as u32), 60);
        }
    }
    graph
}

fn recompute(c: &mut Criterion) {
    let params = Config::default().rank_params();
    let mut group = c.benchmark_group("trust_recompute");
    group.sample_size(10);
    for n in [1_000u32, 10_000, 100_000] {
        let g = graph(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &g, |b, g| {
            b.iter(|| black_box(personalised_rank(g, key(0), params)))
        });
    }
    group.finish();
}

criterion_group!(benches, recompute);
criterion_main!(benches);
