//! The testnet: N real `vouch` nodes, as processes on 127.0.0.1 or as
//! containers (Podman or Docker), with generated keys and configs, node 0 the
//! bootstrap node (the network of docker/compose.yml), trust along a ring
//! plus seeded random chords. It makes reports on random nodes, measures
//! when each reaches every other node, and stops everything it started.
//! [`scenarios`] shapes the network (latency and loss, a partition,
//! churn) around the same measurements.

pub mod cluster;
pub mod containers;
pub mod delay;
pub mod scenarios;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

pub use cluster::{Cluster, Engine};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Nodes to start.
    pub nodes: usize,
    /// Reports to make.
    pub reports: usize,
    /// Random trust edges per node besides its two ring neighbours.
    pub chords: usize,
    /// The `vouch` binary (it runs the nodes on the loopback engine, and
    /// initialises their data directories on both).
    pub vouch: PathBuf,
    /// Seed of the topology and of who reports.
    pub seed: u64,
    /// Seconds a report may take to count as delivered.
    pub deadline_secs: u64,
    /// Pause between reports, in milliseconds.
    pub spacing_ms: u64,
    /// Where the nodes run.
    pub engine: Engine,
    /// Statements the network holds when the late joiner arrives.
    pub late_statements: u32,
}

/// What was measured.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Nodes.
    pub nodes: usize,
    /// Reports made.
    pub reports: usize,
    /// (report, receiving node) pairs delivered within the deadline, in %.
    pub delivery_percent: f64,
    /// Propagation latency percentiles, in milliseconds (p50, p95, p99, max).
    pub latency_ms: [f64; 4],
    /// Every delivered pair's latency, in milliseconds, sorted.
    pub latencies: Vec<f64>,
    /// Seconds until every node's web of trust reached every other node
    /// and every node held every trust statement.
    pub trust_converged_secs: f64,
}

/// A started testnet whose webs of trust have converged. Dropping it
/// stops every node, then deletes their data.
pub struct Testnet {
    /// The nodes.
    pub cluster: Cluster,
    /// Seconds until every node's web of trust reached every other node.
    pub trust_converged_secs: f64,
    _root: tempfile::TempDir,
}

/// Starts the nodes, makes every node vouch along the topology and waits
/// (at most 120 s) until every node trusts every other.
pub fn start(options: &Options) -> anyhow::Result<Testnet> {
    start_with(options, 0)
}

/// [`start`], with `strangers` more nodes after the honest ones: started
/// and connected like them, but in nobody's web of trust (see
/// [`scenarios`]' sybil region).
pub fn start_with(options: &Options, strangers: usize) -> anyhow::Result<Testnet> {
    if options.nodes < 2 {
        bail!("a testnet needs at least 2 nodes");
    }
    if !options.vouch.is_file() {
        bail!(
            "{} not found: build it first with `cargo build --release -p vouch-cli` (or pass --vouch)",
            options.vouch.display()
        );
    }
    let root = tempfile::Builder::new().prefix("vouch-testnet").tempdir()?;
    let mut cluster = Cluster::create(
        &options.vouch,
        root.path(),
        options.nodes + strangers,
        &options.engine,
    )?;
    eprintln!(
        "starting {} nodes ({:?}) in {}",
        options.nodes + strangers,
        options.engine,
        root.path().display()
    );
    cluster.start()?;

    let edges = topology(options.nodes, options.chords, options.seed);
    let started = Instant::now();
    // Each operator vouches for its peers at the same time as the others,
    // as operators do: the nodes' API latencies do not add up.
    std::thread::scope(|scope| {
        let cluster = &cluster;
        let vouching: Vec<_> = (0..options.nodes)
            .map(|from| {
                let mine: Vec<usize> = edges
                    .iter()
                    .filter(|&&(f, _)| f == from)
                    .map(|&(_, to)| to)
                    .collect();
                scope.spawn(move || -> anyhow::Result<()> {
                    for to in mine {
                        let peer = cluster.members[to].peer_id.clone();
                        cluster
                            .post(from, "/v1/trust", &json!({"node": peer, "weight": 80}))
                            .with_context(|| format!("node {from} trusting node {to}"))?;
                    }
                    Ok(())
                })
            })
            .collect();
        vouching.into_iter().try_for_each(|thread| {
            thread
                .join()
                .map_err(|_| anyhow::anyhow!("a vouching thread panicked"))?
        })
    })?;
    eprintln!(
        "{} trust statements made in {:.1}s",
        edges.len(),
        started.elapsed().as_secs_f64()
    );
    let converged = wait_until(
        Duration::from_secs(120),
        // Every node's web of trust reaches every other node (and itself),
        // and every node holds every trust statement: gossip has carried
        // statements between every pair before the measuring starts.
        "every node trusts every other and holds every trust statement",
        || {
            (0..options.nodes).all(|i| {
                cluster.get(i, "/v1/status").ok().is_some_and(|s| {
                    s["trusted_authors"].as_u64() == Some(options.nodes as u64)
                        && s["trust_edges"].as_u64() == Some(edges.len() as u64)
                })
            })
        },
    );
    if let Err(error) = converged {
        // Say where it stalled: per node, authors trusted / edges known / peers.
        let summary: Vec<String> = (0..options.nodes)
            .map(|i| match cluster.get(i, "/v1/status") {
                Ok(s) => format!(
                    "{i}:{}/{}/{}",
                    s["trusted_authors"], s["trust_edges"], s["peers_connected"]
                ),
                Err(_) => format!("{i}:down"),
            })
            .collect();
        return Err(error.context(format!(
            "node:trusted/edges/peers of {} edges: {}",
            edges.len(),
            summary.join(" ")
        )));
    }
    let trust_converged_secs = started.elapsed().as_secs_f64();
    eprintln!(
        "{} trust edges; every node trusts every other after {trust_converged_secs:.1}s",
        edges.len(),
    );
    Ok(Testnet {
        cluster,
        trust_converged_secs,
        _root: root,
    })
}

/// Runs the testnet and returns the figures; every node is stopped on return.
pub fn run(options: &Options) -> anyhow::Result<Figures> {
    let testnet = start(options)?;
    eprintln!("making {} reports", options.reports);
    let latencies = measure(&testnet.cluster, options)?;
    Ok(figures(options, latencies, testnet.trust_converged_secs))
}

/// The figures of per-report latencies (ms) at each node that received them.
fn figures(options: &Options, latencies: Vec<Vec<f64>>, trust_converged_secs: f64) -> Figures {
    let pairs = options.reports * (options.nodes - 1);
    let mut delivered: Vec<f64> = latencies.into_iter().flatten().collect();
    delivered.sort_by(f64::total_cmp);
    Figures {
        nodes: options.nodes,
        reports: options.reports,
        delivery_percent: 100.0 * delivered.len() as f64 / pairs.max(1) as f64,
        latency_ms: [
            percentile(&delivered, 0.5),
            percentile(&delivered, 0.95),
            percentile(&delivered, 0.99),
            percentile(&delivered, 1.0),
        ],
        latencies: delivered,
        trust_converged_secs,
    }
}

/// The `q` quantile of sorted values (NaN when there are none).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Trust edges: each node vouches for its ring neighbours and `chords`
/// seeded random others.
pub fn topology(n: usize, chords: usize, seed: u64) -> Vec<(usize, usize)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut edges = Vec::new();
    for i in 0..n {
        let mut targets = vec![(i + 1) % n, (i + n - 1) % n];
        while targets.len() < (2 + chords).min(n - 1) {
            let j = rng.random_range(0..n);
            if j != i && !targets.contains(&j) {
                targets.push(j);
            }
        }
        targets.dedup();
        for j in targets {
            if j != i && !edges.contains(&(i, j)) {
                edges.push((i, j));
            }
        }
    }
    edges
}

/// How often each node is polled for the reports it has not seen yet.
const POLL: Duration = Duration::from_millis(25);

/// Makes the reports one after another on random nodes while one thread
/// per node polls for them; returns, per report, the latency (ms) at each
/// other node that received it in time.
fn measure(cluster: &Cluster, options: &Options) -> anyhow::Result<Vec<Vec<f64>>> {
    let n = options.nodes;
    // (subject, made at, origin) of each report so far.
    let made: Arc<Mutex<Vec<(String, Instant, usize)>>> = Arc::default();
    let seen: Arc<Mutex<Vec<Vec<Option<f64>>>>> =
        Arc::new(Mutex::new(vec![vec![None; n]; options.reports]));
    let done = Arc::new(AtomicBool::new(false));
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed ^ 0x5eed);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        for node in 0..n {
            let (made, seen, done) = (made.clone(), seen.clone(), done.clone());
            scope.spawn(move || poll_node(cluster, node, &made, &seen, &done));
        }
        let result = (|| {
            for r in 0..options.reports {
                let origin = rng.random_range(0..n);
                let subject = format!("198.18.{}.{}", r / 250, r % 250 + 1);
                let at = Instant::now();
                cluster.post(
                    origin,
                    "/v1/report",
                    &json!({"subject": subject, "category": "spam"}),
                )?;
                made.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((subject, at, origin));
                std::thread::sleep(Duration::from_millis(options.spacing_ms));
            }
            // Give the last report its full deadline.
            std::thread::sleep(Duration::from_secs(options.deadline_secs));
            Ok(())
        })();
        done.store(true, Ordering::Release);
        result
    })?;
    let seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
    Ok(seen
        .iter()
        .map(|row| row.iter().flatten().copied().collect())
        .collect())
}

/// Polls one node for every report it has not seen, until `done`.
fn poll_node(
    cluster: &Cluster,
    node: usize,
    made: &Mutex<Vec<(String, Instant, usize)>>,
    seen: &Mutex<Vec<Vec<Option<f64>>>>,
    done: &AtomicBool,
) {
    let mut found = Vec::<bool>::new();
    while !done.load(Ordering::Acquire) {
        let reports = made.lock().unwrap_or_else(PoisonError::into_inner).clone();
        found.resize(reports.len(), false);
        for (r, (subject, at, origin)) in reports.iter().enumerate() {
            if found[r] || *origin == node {
                continue;
            }
            let Ok(answer) = cluster.get(node, &format!("/v1/statements/{subject}")) else {
                continue;
            };
            let arrived = answer["statements"]
                .as_array()
                .is_some_and(|list| !list.is_empty());
            if arrived {
                let elapsed = at.elapsed();
                found[r] = true;
                if let Some(slot) = seen
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_mut(r)
                    .and_then(|row| row.get_mut(node))
                {
                    *slot = Some(elapsed.as_secs_f64() * 1000.0);
                }
            }
        }
        std::thread::sleep(POLL);
    }
}

fn wait_until(limit: Duration, what: &str, mut check: impl FnMut() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("timed out after {}s waiting until {what}", limit.as_secs())
}
