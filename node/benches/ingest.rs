//! Ingest rate of signed statements (decode + validate + verify + store in
//! RocksDB) against the raw single and batch ed25519 verification rate.
//!
//! Run: `cargo bench -p vouch-node --bench ingest`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use vouch_node::trust::{Config, TrustEngine};
use vouch_node::{Ingest, Metrics, Store, unix_now};
use vouch_protocol::{
    BatchVerifier, Claim, Evidence, Keypair, ReportCategory, SignedStatement, Statement, Subject,
    VERSION, encode_signed, verify,
};

const STATEMENTS: usize = 4096;

fn statements(n: usize) -> Vec<SignedStatement> {
    let authors: Vec<Keypair> = (0..64u8)
        .map(|i| Keypair::from_secret_bytes([i; 32]))
        .collect();
    let now = unix_now();
    (0..n)
        .map(|i| {
            let subject = std::net::Ipv4Addr::from(0x0a00_0000u32 + i as u32).into();
            authors[i % authors.len()].sign(Statement {
                version: VERSION,
                subject,
                created_at: now,
                expires_at: now + 86_400,
                claim: Claim::Report {
                    category: ReportCategory::Spam,
                    count: 1,
                    evidence: Evidence::default(),
                },
            })
        })
        .collect()
}

fn trust_in_authors(root: &Keypair) -> Vec<SignedStatement> {
    let now = unix_now();
    (0..64u8)
        .map(|i| {
            root.sign(Statement {
                version: VERSION,
                subject: Subject::Node(Keypair::from_secret_bytes([i; 32]).public()),
                created_at: now,
                expires_at: now + 86_400,
                claim: Claim::Trust { weight: 50 },
            })
        })
        .collect()
}

fn verification(c: &mut Criterion) {
    let all = statements(STATEMENTS);
    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(1));
    group.bench_function("single", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % all.len();
            black_box(verify(&all[i]))
        })
    });
    for size in [64usize, 1024] {
        group.throughput(Throughput::Elements(size as u64));
        group.bench_function(format!("batch_{size}"), |b| {
            let mut verifier = BatchVerifier::default();
            let mut start = 0;
            b.iter(|| {
                start = (start + size) % (all.len() - size);
                black_box(verifier.verify_many(&all[start..start + size]))
            })
        });
    }
    group.finish();
}

fn ingest(c: &mut Criterion) {
    let encoded: Vec<Vec<u8>> = statements(STATEMENTS)
        .iter()
        .map(|s| encode_signed(s).expect("encodes"))
        .collect();
    let mut group = c.benchmark_group("ingest");
    group.sample_size(10);
    // 64 and 256: gossip batches (what was waiting, up to 1,024); 4096: a
    // back-fill page (an import request is larger still).
    for chunk in [64usize, 256, 4096] {
        group.throughput(Throughput::Elements(STATEMENTS as u64));
        group.bench_function(format!("verified_and_stored_in_batches_of_{chunk}"), |b| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir().expect("tempdir");
                    let store = Arc::new(Store::open(dir.path()).expect("open"));
                    let root = Keypair::from_secret_bytes([200; 32]);
                    let trust = Arc::new(TrustEngine::new(root.public(), Config::default()));
                    // The authors are inside the web of trust, as on a real node.
                    for statement in trust_in_authors(&root) {
                        trust.apply(&statement);
                    }
                    trust.recompute_if_dirty();
                    (dir, Ingest::new(store, trust, Metrics::default()))
                },
                |(dir, ingest)| {
                    let now = unix_now();
                    for part in encoded.chunks(chunk) {
                        black_box(ingest.submit_encoded(part.to_vec(), now).expect("ingest"));
                    }
                    dir
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, verification, ingest);
criterion_main!(benches);
