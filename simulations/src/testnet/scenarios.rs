//! Network behaviour on the testnet, as scenarios measured the same way:
//! each report's delivery to every other node and its latency, plus what
//! the scenario is about (time to heal a partition, statements lost to
//! churn, a new node's back-fill). Shaping the network needs containers
//! (Podman or Docker): delay and loss are `tc netem` in every container
//! (an NFQUEUE delayer where the kernel has no netem), a partition is
//! blackhole routes between the two halves.

use std::collections::HashSet;
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::Context;
use plotters::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use vouch_protocol::{
    Claim, Evidence, Keypair, ReportCategory, Statement, Subject, VERSION, encode_signed,
    write_record,
};

use super::containers;
use super::delay::{self, Delayer};
use super::{Cluster, Figures, Options, Testnet, figures, measure, start, start_with};

/// The scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Reports on random nodes of an undisturbed network.
    Baseline,
    /// The same with 100 ms ± 20 ms delay and 2% loss on every node.
    Netem,
    /// Two halves cut apart, reports on both sides, then healed.
    Partition,
    /// A third of the nodes stopped and started again while reports flow.
    Churn,
    /// A new node joining a network that holds 100k statements (or
    /// [`Options::late_statements`]).
    LateJoiner,
    /// Nodes nobody vouches for flooding reports, then one weak attack edge.
    Sybil,
}

impl Scenario {
    /// Every scenario, in the order `all` runs them.
    pub const ALL: [Scenario; 6] = [
        Scenario::Baseline,
        Scenario::Netem,
        Scenario::Partition,
        Scenario::Churn,
        Scenario::LateJoiner,
        Scenario::Sybil,
    ];

    /// Its name on the command line and in the results.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Baseline => "baseline",
            Scenario::Netem => "netem",
            Scenario::Partition => "partition",
            Scenario::Churn => "churn",
            Scenario::LateJoiner => "late-joiner",
            Scenario::Sybil => "sybil",
        }
    }
}

impl FromStr for Scenario {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Scenario> {
        Scenario::ALL
            .into_iter()
            .find(|scenario| scenario.name() == s)
            .with_context(|| {
                format!("no scenario {s:?} (baseline, netem, partition, churn, late-joiner, sybil)")
            })
    }
}

/// One measured figure, with its target where it has one.
#[derive(Debug, Clone)]
pub struct Row {
    /// What it is.
    pub metric: String,
    /// Its value.
    pub value: f64,
    /// The target, as text.
    pub target: Option<String>,
    /// Whether it met the target.
    pub pass: Option<bool>,
}

impl Row {
    fn info(metric: &str, value: f64) -> Row {
        Row {
            metric: metric.to_owned(),
            value,
            target: None,
            pass: None,
        }
    }

    fn target(metric: &str, value: f64, target: &str, pass: bool) -> Row {
        Row {
            metric: metric.to_owned(),
            value,
            target: Some(target.to_owned()),
            pass: Some(pass),
        }
    }
}

/// What one scenario measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The scenario.
    pub scenario: Scenario,
    /// Delivery and latency (for a partition, counted from the heal).
    pub figures: Figures,
    /// Its rows, targets included.
    pub rows: Vec<Row>,
}

impl Outcome {
    /// Whether every target was met.
    pub fn passed(&self) -> bool {
        self.rows.iter().all(|row| row.pass != Some(false))
    }
}

/// Netem delay, jitter and loss on every node.
const NETEM: [&str; 7] = ["delay", "100ms", "20ms", "loss", "2%", "limit", "10000"];

/// Applies [`NETEM`] on every node; where the kernel has no netem
/// (`sch_netem`), the same delay and loss with iptables and a delayer in
/// each node's namespace (see [`delay`]), which the caller keeps running
/// while it measures.
fn degrade(testnet: &Testnet, options: &Options) -> anyhow::Result<Vec<Delayer>> {
    let containers = testnet
        .cluster
        .containers()
        .context("netem needs containers (--engine podman or docker)")?;
    let mut command = vec!["tc", "qdisc", "add", "dev", "eth0", "root", "netem"];
    command.extend_from_slice(&NETEM);
    match containers.exec(0, &command) {
        Ok(_) => {
            for i in 1..options.nodes {
                containers.exec(i, &command)?;
            }
            Ok(Vec::new())
        }
        Err(error) if format!("{error:#}").contains("qdisc kind is unknown") => {
            eprintln!("this kernel has no netem: delaying and dropping with an NFQUEUE delayer");
            let vouch_sim = std::env::current_exe()?;
            let shaping = delay::Shaping {
                delay: Duration::from_millis(100),
                jitter: Duration::from_millis(20),
                loss: 0.02,
            };
            let mut delayers = Vec::with_capacity(options.nodes);
            for i in 0..options.nodes {
                let pid = containers.pid(i)?;
                delayers.push(Delayer::start(
                    &vouch_sim,
                    pid,
                    shaping,
                    options.seed + i as u64,
                )?);
                for rule in delay::rules(containers::P2P_PORT) {
                    let rule: Vec<&str> = rule.iter().map(String::as_str).collect();
                    containers.exec(i, &rule)?;
                }
            }
            Ok(delayers)
        }
        Err(error) => Err(error),
    }
}

/// How long a partition lasts: long past any one gossip round, so what
/// crosses after the heal was held back, not in flight.
const CUT: Duration = Duration::from_secs(30);
/// How long a healed partition or a churned network may take to hold
/// every report everywhere.
const CATCH_UP: Duration = Duration::from_secs(90);

/// Runs one scenario on a fresh testnet.
pub fn run(scenario: Scenario, options: &Options) -> anyhow::Result<Outcome> {
    eprintln!("== scenario {}", scenario.name());
    let outcome = match scenario {
        // The sybil region starts a testnet of its own, the sybils in it.
        Scenario::Sybil => sybil(options)?,
        _ => on(scenario, &mut start(options)?, options)?,
    };
    for row in &outcome.rows {
        if row.pass == Some(false) {
            eprintln!(
                "FAIL {}: {} {}",
                row.metric,
                row.value,
                row.target.as_deref().unwrap_or("")
            );
        }
    }
    Ok(outcome)
}

/// Runs one scenario on a started testnet.
fn on(scenario: Scenario, testnet: &mut Testnet, options: &Options) -> anyhow::Result<Outcome> {
    match scenario {
        Scenario::Baseline => undisturbed(scenario, testnet, options, 1000.0),
        Scenario::Netem => {
            let delayers = degrade(testnet, options)?;
            let mut outcome = undisturbed(scenario, testnet, options, 2000.0)?;
            drop(delayers);
            outcome
                .rows
                .insert(0, Row::info("delay applied (ms, ± 20)", 100.0));
            outcome.rows.insert(1, Row::info("loss applied (%)", 2.0));
            Ok(outcome)
        }
        Scenario::Partition => partition(testnet, options),
        Scenario::Churn => churn(testnet, options),
        Scenario::LateJoiner => late_joiner(testnet, options),
        Scenario::Sybil => sybil(options),
    }
}

/// Reports on random nodes, each measured at every other node.
fn undisturbed(
    scenario: Scenario,
    testnet: &Testnet,
    options: &Options,
    p99_target_ms: f64,
) -> anyhow::Result<Outcome> {
    eprintln!("making {} reports", options.reports);
    let latencies = measure(&testnet.cluster, options)?;
    let figures = figures(options, latencies, testnet.trust_converged_secs);
    let [p50, p95, p99, max] = figures.latency_ms;
    let rows = vec![
        Row::target(
            "delivered (%)",
            figures.delivery_percent,
            "100",
            figures.delivery_percent >= 100.0,
        ),
        Row::info("latency p50 (ms)", p50),
        Row::info("latency p95 (ms)", p95),
        Row::target(
            "latency p99 (ms)",
            p99,
            &format!("< {p99_target_ms}"),
            p99 < p99_target_ms,
        ),
        Row::info("latency max (ms)", max),
        Row::info("trust converged (s)", figures.trust_converged_secs),
    ];
    Ok(Outcome {
        scenario,
        figures,
        rows,
    })
}

/// The figures of a scenario that measures no report's latency.
fn no_latencies(options: &Options, testnet: &Testnet) -> Figures {
    figures(
        &Options {
            reports: 0,
            ..options.clone()
        },
        Vec::new(),
        testnet.trust_converged_secs,
    )
}

/// Whether `node` holds a statement about `subject`.
fn holds(cluster: &Cluster, node: usize, subject: &str) -> bool {
    cluster
        .get(node, &format!("/v1/statements/{subject}"))
        .is_ok_and(|answer| {
            answer["statements"]
                .as_array()
                .is_some_and(|list| !list.is_empty())
        })
}

/// Makes a report about `subject` on `node`.
fn report(cluster: &Cluster, node: usize, subject: &str) -> anyhow::Result<()> {
    cluster
        .post(
            node,
            "/v1/report",
            &json!({"subject": subject, "category": "spam"}),
        )
        .map(drop)
}

/// Polls until every node in `nodes` holds every subject (at most
/// `limit`); returns, per subject, the milliseconds from `since` until
/// each node first held it (None: never).
fn until_held(
    cluster: &Cluster,
    nodes: &[usize],
    subjects: &[String],
    since: Instant,
    limit: Duration,
) -> Vec<Vec<Option<f64>>> {
    let mut seen = vec![vec![None; nodes.len()]; subjects.len()];
    while since.elapsed() < limit {
        for (s, subject) in subjects.iter().enumerate() {
            for (k, &node) in nodes.iter().enumerate() {
                if seen[s][k].is_none() && holds(cluster, node, subject) {
                    seen[s][k] = Some(since.elapsed().as_secs_f64() * 1000.0);
                }
            }
        }
        if seen.iter().flatten().all(Option::is_some) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    seen
}

/// The two halves: nodes below n/2 (with the bootstrap node) and the rest.
/// Each node gets a blackhole route to every node of the other half; the
/// routes go when healed. Reports are made on both sides; once they have
/// spread within their side, the network heals and the runner measures
/// until every node holds every report (gossip again, and back-fill).
fn partition(testnet: &Testnet, options: &Options) -> anyhow::Result<Outcome> {
    let cluster = &testnet.cluster;
    let containers = cluster
        .containers()
        .context("partition needs containers (--engine podman or docker)")?;
    let n = options.nodes;
    let half = n / 2;
    let side = |i: usize| i < half;
    let addresses: Vec<String> = (0..n)
        .map(|i| containers.address(i))
        .collect::<anyhow::Result<_>>()?;
    let routes = |verb: &str| -> anyhow::Result<()> {
        for i in 0..n {
            for j in (0..n).filter(|&j| side(j) != side(i)) {
                containers.exec(i, &["ip", "route", verb, "blackhole", &addresses[j]])?;
            }
        }
        Ok(())
    };
    routes("add")?;
    let cut = Instant::now();
    eprintln!(
        "partitioned for {} s: nodes 0..{half} | {half}..{n}",
        CUT.as_secs()
    );

    let mut rng = ChaCha8Rng::seed_from_u64(options.seed ^ 0xca7);
    let per_side = options.reports.div_ceil(2).max(1);
    let mut subjects = Vec::new();
    let mut origins = Vec::new();
    for r in 0..2 * per_side {
        let origin = if r % 2 == 0 {
            rng.random_range(0..half)
        } else {
            rng.random_range(half..n)
        };
        let subject = format!("198.19.{}.{}", r / 250, r % 250 + 1);
        report(cluster, origin, &subject)?;
        subjects.push(subject);
        origins.push(origin);
        std::thread::sleep(Duration::from_millis(options.spacing_ms));
    }
    // Within a side, reports spread as usual.
    let all: Vec<usize> = (0..n).collect();
    let spread = Instant::now();
    let mut within = 0usize;
    let mut pairs_within = 0usize;
    for (subject, &origin) in subjects.iter().zip(&origins) {
        let same: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&i| side(i) == side(origin))
            .collect();
        pairs_within += same.len();
        within += until_held(
            cluster,
            &same,
            std::slice::from_ref(subject),
            spread,
            Duration::from_secs(options.deadline_secs),
        )
        .iter()
        .flatten()
        .filter(|t| t.is_some())
        .count();
    }
    // Across, nothing, however long the cut lasts.
    std::thread::sleep(CUT.saturating_sub(cut.elapsed()));
    let leaked = subjects
        .iter()
        .zip(&origins)
        .map(|(subject, &origin)| {
            all.iter()
                .filter(|&&i| side(i) != side(origin) && holds(cluster, i, subject))
                .count()
        })
        .sum::<usize>();

    routes("del")?;
    let cut_secs = cut.elapsed().as_secs_f64();
    let healed = Instant::now();
    eprintln!(
        "healed; waiting until every node holds all {} reports",
        subjects.len()
    );
    let seen = until_held(cluster, &all, &subjects, healed, CATCH_UP);
    let crossing: Vec<Vec<f64>> = seen
        .iter()
        .zip(&origins)
        .map(|(row, &origin)| {
            row.iter()
                .zip(&all)
                .filter(|(_, i)| side(**i) != side(origin))
                .filter_map(|(t, _)| *t)
                .collect()
        })
        .collect();
    let crossing_pairs: usize = origins
        .iter()
        .map(|&o| all.iter().filter(|&&i| side(i) != side(o)).count())
        .sum();
    let full_secs = seen
        .iter()
        .flatten()
        .map(|t| t.unwrap_or(f64::INFINITY))
        .fold(0.0, f64::max)
        / 1000.0;
    let mut figures = figures(
        &Options {
            reports: subjects.len(),
            ..options.clone()
        },
        crossing,
        testnet.trust_converged_secs,
    );
    figures.delivery_percent =
        100.0 * figures.latencies.len() as f64 / crossing_pairs.max(1) as f64;
    let rows = vec![
        Row::info("cut lasted (s)", cut_secs),
        Row::info("reports (both sides)", subjects.len() as f64),
        Row::target(
            "held within their side while cut (%)",
            100.0 * within as f64 / pairs_within.max(1) as f64,
            "100",
            within == pairs_within,
        ),
        Row::target(
            "reached the other side while cut",
            leaked as f64,
            "0",
            leaked == 0,
        ),
        Row::target(
            "after the heal: every node holds every report (s)",
            full_secs,
            "<= 60",
            full_secs <= 60.0,
        ),
        Row::info("after the heal: crossing p50 (ms)", figures.latency_ms[0]),
        Row::info("after the heal: crossing p99 (ms)", figures.latency_ms[2]),
    ];
    Ok(Outcome {
        scenario: Scenario::Partition,
        figures,
        rows,
    })
}

/// A third of the nodes (never the bootstrap node) stop a quarter of the
/// way through the reports and start again three quarters of the way;
/// reports go to running nodes. Whatever a node held at any poll must
/// still be there at the end, and every node must catch up.
fn churn(testnet: &mut Testnet, options: &Options) -> anyhow::Result<Outcome> {
    let n = options.nodes;
    let churners: Vec<usize> = (1..n).step_by(3).take((n / 3).max(1)).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed ^ 0xc4);
    let reports = options.reports.max(4);
    let mut subjects: Vec<String> = Vec::new();
    let mut made: Vec<Instant> = Vec::new();
    let mut down: HashSet<usize> = HashSet::new();
    // (report, node) pairs a node was seen holding, and when first.
    let mut seen: Vec<Vec<Option<f64>>> = Vec::new();
    let mut restarted = Instant::now();
    for r in 0..reports {
        if r == reports / 4 {
            for &i in &churners {
                testnet.cluster.stop(i)?;
                down.insert(i);
            }
            eprintln!("stopped nodes {churners:?}");
        }
        if r == 3 * reports / 4 {
            for &i in &churners {
                testnet.cluster.restart(i)?;
                down.remove(&i);
            }
            restarted = Instant::now();
            eprintln!("started nodes {churners:?} again");
        }
        let running: Vec<usize> = (0..n).filter(|i| !down.contains(i)).collect();
        let origin = running[rng.random_range(0..running.len())];
        let subject = format!("198.20.{}.{}", r / 250, r % 250 + 1);
        report(&testnet.cluster, origin, &subject)?;
        subjects.push(subject);
        made.push(Instant::now());
        seen.push(vec![None; n]);
        seen[r][origin] = Some(0.0);
        // One poll of every running node for every report so far.
        for (s, subject) in subjects.iter().enumerate() {
            for &i in &running {
                if seen[s][i].is_none() && holds(&testnet.cluster, i, subject) {
                    seen[s][i] = Some(made[s].elapsed().as_secs_f64() * 1000.0);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(options.spacing_ms));
    }
    // Every node catches up.
    let all: Vec<usize> = (0..n).collect();
    let deadline = Instant::now() + CATCH_UP;
    while Instant::now() < deadline && seen.iter().flatten().any(Option::is_none) {
        for (s, subject) in subjects.iter().enumerate() {
            for &i in &all {
                if seen[s][i].is_none() && holds(&testnet.cluster, i, subject) {
                    seen[s][i] = Some(made[s].elapsed().as_secs_f64() * 1000.0);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let full_secs = restarted.elapsed().as_secs_f64();
    // Nothing held is lost: every pair seen is still there.
    let lost = subjects
        .iter()
        .enumerate()
        .map(|(s, subject)| {
            all.iter()
                .filter(|&&i| seen[s][i].is_some() && !holds(&testnet.cluster, i, subject))
                .count()
        })
        .sum::<usize>();
    let missing = seen.iter().flatten().filter(|t| t.is_none()).count();
    let latencies: Vec<Vec<f64>> = seen
        .iter()
        .map(|row| row.iter().flatten().copied().filter(|&t| t > 0.0).collect())
        .collect();
    let figures = figures(
        &Options {
            reports,
            ..options.clone()
        },
        latencies,
        testnet.trust_converged_secs,
    );
    let rows = vec![
        Row::info("nodes stopped and started", churners.len() as f64),
        Row::target("statements lost", lost as f64, "0", lost == 0),
        Row::target(
            "(report, node) pairs missing at the end",
            missing as f64,
            "0",
            missing == 0,
        ),
        Row::info(
            "restarted nodes caught up after (s)",
            if missing == 0 {
                full_secs
            } else {
                f64::INFINITY
            },
        ),
        Row::info("latency p50 (ms)", figures.latency_ms[0]),
        Row::info("latency p99 (ms)", figures.latency_ms[2]),
    ];
    Ok(Outcome {
        scenario: Scenario::Churn,
        figures,
        rows,
    })
}

/// The outcomes as one markdown table.
pub fn table(outcomes: &[Outcome]) -> String {
    let mut out =
        String::from("| scenario | metric | value | target | result |\n|---|---|---:|---|---|\n");
    for outcome in outcomes {
        for row in &outcome.rows {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                outcome.scenario.name(),
                row.metric,
                format_value(row.value),
                row.target.as_deref().unwrap_or(""),
                match row.pass {
                    Some(true) => "PASS",
                    Some(false) => "FAIL",
                    None => "",
                }
            ));
        }
    }
    out
}

fn format_value(value: f64) -> String {
    if !value.is_finite() {
        "never".into()
    } else if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// Writes `testnet.csv` (one line per row) and `testnet.svg` (each
/// scenario's latency distribution) into `dir`.
pub fn write(outcomes: &[Outcome], dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut csv = String::from("scenario,metric,value,target,result\n");
    for outcome in outcomes {
        for row in &outcome.rows {
            csv.push_str(&format!(
                "{},\"{}\",{},{},{}\n",
                outcome.scenario.name(),
                row.metric,
                row.value,
                row.target.as_deref().unwrap_or(""),
                row.pass.map_or("", |p| if p { "PASS" } else { "FAIL" })
            ));
        }
    }
    std::fs::write(dir.join("testnet.csv"), csv)?;
    chart(outcomes, &dir.join("testnet.svg")).map_err(|e| anyhow::anyhow!("chart: {e}"))
}

/// Share of (report, node) pairs delivered against milliseconds, one line
/// per scenario (a partition's counted from the heal).
fn chart(outcomes: &[Outcome], path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let max_ms = outcomes
        .iter()
        .flat_map(|o| o.figures.latencies.last())
        .copied()
        .fold(100.0f64, f64::max);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Reports delivered against time, per scenario",
            ("sans-serif", 18),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d((1f64..max_ms * 1.2).log_scale(), 0.0..100.0)?;
    chart
        .configure_mesh()
        .x_desc("milliseconds after the report (partition: after the heal), log scale")
        .y_desc("(report, node) pairs delivered (%)")
        .draw()?;
    let colours = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];
    for (outcome, colour) in outcomes.iter().zip(colours) {
        let latencies = &outcome.figures.latencies;
        let delivered = outcome.figures.delivery_percent;
        let total = latencies.len().max(1) as f64;
        let points: Vec<(f64, f64)> = latencies
            .iter()
            .enumerate()
            .map(|(k, &ms)| (ms.max(1.0), delivered * (k + 1) as f64 / total))
            .collect();
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(outcome.scenario.name())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Authors of those statements, vouched for by one hub.
const LATE_AUTHORS: u32 = 1_000;
/// The most bytes one import request carries (the node takes 2 MiB).
const IMPORT_CHUNK: usize = 1 << 20;

/// The hub, and export-file chunks: its vouches for the authors, then
/// their reports about `count` addresses in 44.0.0.0/8.
fn late_statements(seed: u64, count: u32) -> anyhow::Result<(Keypair, Vec<Vec<u8>>)> {
    let key = |tag: u8, i: u32| {
        let mut secret = [tag; 32];
        secret[..4].copy_from_slice(&i.to_be_bytes());
        secret[4..12].copy_from_slice(&seed.to_be_bytes());
        Keypair::from_secret_bytes(secret)
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let statement = |subject: Subject, claim: Claim| Statement {
        version: VERSION,
        subject,
        created_at: now - 60,
        expires_at: now + 7 * 86_400,
        claim,
    };
    let hub = key(0xb0, 0);
    let authors: Vec<Keypair> = (0..LATE_AUTHORS).map(|i| key(0xa0, i)).collect();
    let mut chunks: Vec<Vec<u8>> = vec![Vec::new()];
    let mut add = |signed| -> anyhow::Result<()> {
        let bytes = encode_signed(&signed)?;
        if chunks
            .last()
            .is_some_and(|c| c.len() + bytes.len() + 8 > IMPORT_CHUNK)
        {
            chunks.push(Vec::new());
        }
        if let Some(chunk) = chunks.last_mut() {
            write_record(chunk, &bytes);
        }
        Ok(())
    };
    for author in &authors {
        add(hub.sign(statement(
            Subject::Node(author.public()),
            Claim::Trust { weight: 100 },
        )))?;
    }
    let first = u32::from_be_bytes([44, 0, 0, 1]);
    for i in 0..count {
        let address = std::net::Ipv4Addr::from(first + i);
        let claim = Claim::Report {
            category: ReportCategory::Spam,
            count: 1,
            evidence: Evidence::default(),
        };
        let author = &authors[(i % LATE_AUTHORS) as usize];
        add(author.sign(statement(Subject::Ip(address.into()), claim)))?;
    }
    Ok((hub, chunks))
}

/// Statements node `i` holds.
fn statements(cluster: &Cluster, i: usize) -> u64 {
    cluster
        .get(i, "/v1/status")
        .ok()
        .and_then(|s| s["statements"].as_u64())
        .unwrap_or(0)
}

/// Waits (at most `limit`) until every node in `nodes` holds at least
/// `count` statements; returns the seconds it took.
fn until_count(cluster: &Cluster, nodes: &[usize], count: u64, limit: Duration) -> f64 {
    let started = Instant::now();
    while started.elapsed() < limit {
        if nodes.iter().all(|&i| statements(cluster, i) >= count) {
            return started.elapsed().as_secs_f64();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    f64::INFINITY
}

/// The last node leaves at once and forgets everything (a new node with
/// the same key); node 0 trusts a hub and imports its statements
/// ([`Options::late_statements`]); once
/// every other node holds them, the new node starts and back-fills them.
fn late_joiner(testnet: &mut Testnet, options: &Options) -> anyhow::Result<Outcome> {
    let n = options.nodes;
    let late = n - 1;
    testnet.cluster.stop(late)?;
    testnet.cluster.forget(late)?;
    let (hub, chunks) = late_statements(options.seed, options.late_statements)?;
    testnet.cluster.post(
        0,
        "/v1/trust",
        &json!({"node": hub.public().to_string(), "weight": 80}),
    )?;
    std::thread::sleep(Duration::from_secs(1));
    let filling = Instant::now();
    for chunk in chunks {
        testnet.cluster.post_bytes(0, "/v1/import", chunk)?;
    }
    let import_secs = filling.elapsed().as_secs_f64();
    let expected = statements(&testnet.cluster, 0);
    eprintln!(
        "node 0 holds {expected} statements after {import_secs:.1} s; waiting for the others"
    );
    let others: Vec<usize> = (1..late).collect();
    let network_secs = until_count(&testnet.cluster, &others, expected, CATCH_UP);
    eprintln!("starting node {late}, new");
    let joining = Instant::now();
    testnet.cluster.restart(late)?;
    let started_secs = joining.elapsed().as_secs_f64();
    let joined_secs = started_secs + until_count(&testnet.cluster, &[late], expected, CATCH_UP);
    let figures = no_latencies(options, testnet);
    let rows = vec![
        Row::info("statements in the network", expected as f64),
        Row::info("imported on node 0 (s)", import_secs),
        Row::info("held by every other node after (s)", network_secs),
        Row::target(
            "new node holds them all after (s)",
            joined_secs,
            "< 30",
            joined_secs < 30.0,
        ),
        Row::info(
            "statements the new node holds at the end",
            statements(&testnet.cluster, late) as f64,
        ),
    ];
    Ok(Outcome {
        scenario: Scenario::LateJoiner,
        figures,
        rows,
    })
}

/// The address the sybil region slanders: a legitimate server.
const SLANDERED: &str = "192.0.2.200";
/// Reports each sybil floods the network with, besides the slander.
const SYBIL_FLOOD: usize = 200;

/// `node`'s verdict on `subject` (`neutral`, `suspect`, `block`, …).
fn verdict(cluster: &Cluster, node: usize, subject: &str) -> String {
    cluster
        .get(node, &format!("/v1/reputation/{subject}"))
        .ok()
        .and_then(|r| r["verdict"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Honest nodes giving `subject` each verdict in `bad`.
fn count_verdicts(cluster: &Cluster, honest: usize, subject: &str, bad: &[&str]) -> usize {
    (0..honest)
        .filter(|&i| bad.contains(&verdict(cluster, i, subject).as_str()))
        .count()
}

/// A region of nodes nobody vouches for (half as many as the honest ones,
/// at least two), vouching for each other, each reporting one legitimate
/// server and flooding [`SYBIL_FLOOD`] more reports. Honest verdicts must
/// stay neutral and honest stores hold no more of theirs than the stranger
/// quota allows. Then one honest node vouches for one sybil with weight
/// 10, a single weak attack edge: no honest node may block the server.
fn sybil(options: &Options) -> anyhow::Result<Outcome> {
    let honest = options.nodes;
    let count = (honest / 2).max(2);
    let testnet = start_with(options, count)?;
    let cluster = &testnet.cluster;
    let sybils: Vec<usize> = (honest..honest + count).collect();
    for &a in &sybils {
        for &b in sybils.iter().filter(|&&b| b != a) {
            let peer = cluster.members[b].peer_id.clone();
            cluster.post(a, "/v1/trust", &json!({"node": peer, "weight": 100}))?;
        }
    }
    let before: Vec<u64> = (0..honest).map(|i| statements(cluster, i)).collect();
    for &s in &sybils {
        report(cluster, s, SLANDERED)?;
        for k in 0..SYBIL_FLOOD {
            report(cluster, s, &format!("198.51.{}.{}", s % 250, k % 250 + 1))?;
        }
    }
    eprintln!(
        "{count} sybils made {} reports each; waiting a back-fill round",
        SYBIL_FLOOD + 1
    );
    std::thread::sleep(Duration::from_secs(options.deadline_secs));
    let slandered = count_verdicts(cluster, honest, SLANDERED, &["suspect", "block"]);
    let kept: u64 = (0..honest)
        .map(|i| statements(cluster, i).saturating_sub(before[i]))
        .max()
        .unwrap_or(0);
    let strangers: u64 = (0..honest)
        .map(|i| {
            cluster
                .get(i, "/v1/status")
                .ok()
                .and_then(|s| s["stranger_statements"].as_u64())
                .unwrap_or(0)
        })
        .max()
        .unwrap_or(0);
    // The sybils' statements a node may keep: the per-author quota (the
    // node's default, 8) for each sybil.
    let quota = 8 * count as u64;

    // One weak attack edge: node 1 vouches for the first sybil with 10.
    let gate = cluster.members[sybils[0]].peer_id.clone();
    cluster.post(1, "/v1/trust", &json!({"node": gate, "weight": 10}))?;
    std::thread::sleep(Duration::from_secs(options.deadline_secs + 5));
    let blocked = count_verdicts(cluster, honest, SLANDERED, &["block"]);
    let suspected = count_verdicts(cluster, honest, SLANDERED, &["suspect"]);
    let figures = no_latencies(options, &testnet);
    let rows = vec![
        Row::info("sybil nodes", count as f64),
        Row::info("reports per sybil", (SYBIL_FLOOD + 1) as f64),
        Row::target(
            "honest nodes suspecting or blocking the slandered server",
            slandered as f64,
            "0",
            slandered == 0,
        ),
        Row::target(
            "sybil statements kept by an honest node (most)",
            kept as f64,
            &format!("<= {quota} (stranger quota)"),
            kept <= quota && strangers <= quota,
        ),
        Row::target(
            "after one weak attack edge: honest nodes blocking it",
            blocked as f64,
            "0",
            blocked == 0,
        ),
        Row::info(
            "after one weak attack edge: honest nodes suspecting it",
            suspected as f64,
        ),
    ];
    Ok(Outcome {
        scenario: Scenario::Sybil,
        figures,
        rows,
    })
}
