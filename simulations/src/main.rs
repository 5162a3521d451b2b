//! `vouch-sim`: run the scenarios and print, save and chart the results.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use vouch_sim::network::Params;
use vouch_sim::scenarios::calibration::{Calibration, HonestWorld};
use vouch_sim::testnet::Engine;
use vouch_sim::testnet::scenarios::{self as net, Scenario};
use vouch_sim::{output, scenarios};

/// Run Vouch's attack scenarios against a shared-blocklist baseline, or a
/// testnet of real nodes on loopback.
#[derive(Debug, Parser)]
#[command(
    name = "vouch-sim",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    scenarios: ScenarioArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start N real `vouch` processes on 127.0.0.1, make reports on random
    /// nodes, print delivery and propagation latency, stop every process.
    Testnet(TestnetArgs),
    /// Hold every packet of netfilter queue 0, in this network namespace,
    /// for a delay, or drop it: the testnet's netem scenario runs this in
    /// each container where the kernel has no netem (needs root).
    Delay(DelayArgs),
}

#[derive(Debug, Args)]
struct DelayArgs {
    /// Mean delay, in milliseconds.
    #[arg(long, default_value_t = 100)]
    delay_ms: u64,
    /// Most the delay varies either way, in milliseconds.
    #[arg(long, default_value_t = 20)]
    jitter_ms: u64,
    /// Probability a packet is dropped.
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Random seed of the jitter and loss.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

#[derive(Debug, Args)]
struct TestnetArgs {
    /// Nodes to start.
    #[arg(long, default_value_t = 10)]
    nodes: usize,
    /// Reports to make.
    #[arg(long, default_value_t = 30)]
    reports: usize,
    /// Random trust edges per node besides its ring neighbours.
    #[arg(long, default_value_t = 2)]
    chords: usize,
    /// The `vouch` binary (default: next to this one, as `cargo build
    /// --release -p vouch-cli` leaves it).
    #[arg(long)]
    vouch: Option<PathBuf>,
    /// Random seed of the topology and reporters.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Seconds a report may take to count as delivered.
    #[arg(long, default_value_t = 10)]
    deadline_secs: u64,
    /// Milliseconds between reports.
    #[arg(long, default_value_t = 300)]
    spacing_ms: u64,
    /// Where the nodes run: `processes` on 127.0.0.1, or `podman` or
    /// `docker` containers of `--image` (made by docker/image.sh).
    #[arg(long, default_value = "processes")]
    engine: String,
    /// The image the Podman engine runs.
    #[arg(long, default_value = "vouch:testnet")]
    image: String,
    /// Scenarios, comma-separated, or `all`: baseline, netem, partition,
    /// churn, late-joiner, sybil (netem and partition need containers).
    #[arg(long, default_value = "baseline")]
    scenario: String,
    /// Where to write testnet.csv and testnet.svg (nowhere by default).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Statements the network holds when the late joiner arrives.
    #[arg(long, default_value_t = 100_000)]
    late_statements: u32,
}

#[derive(Debug, Args)]
struct ScenarioArgs {
    /// Which scenario: `all`, or one of honest, sybil, slander, neighbours, whitewash, remediation.
    #[arg(default_value = "all")]
    scenario: String,
    /// Random seed (same seed, same results).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Population size.
    #[arg(long, value_enum, default_value = "full")]
    size: Size,
    /// Where to write CSV and SVG files.
    #[arg(long, default_value = "simulations/results")]
    out: PathBuf,
    /// A node configuration file whose `[trust]` settings every viewer
    /// scores with (default: the node's defaults).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Size {
    /// 1,000 operators, 50 viewers.
    Full,
    /// 200 operators, 12 viewers (seconds).
    Small,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Testnet(args)) => testnet(args),
        Some(Command::Delay(args)) => delay(args),
        None => run(cli.scenarios),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("vouch-sim: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn delay(args: DelayArgs) -> anyhow::Result<bool> {
    if !(0.0..=1.0).contains(&args.loss) {
        anyhow::bail!("--loss must be within 0 and 1");
    }
    let shaping = vouch_sim::testnet::delay::Shaping {
        delay: std::time::Duration::from_millis(args.delay_ms),
        jitter: std::time::Duration::from_millis(args.jitter_ms.min(args.delay_ms)),
        loss: args.loss,
    };
    vouch_sim::testnet::delay::run(shaping, args.seed, || false)?;
    Ok(true)
}

fn testnet(args: TestnetArgs) -> anyhow::Result<bool> {
    let vouch = match args.vouch {
        Some(path) => path,
        None => std::env::current_exe()?
            .parent()
            .context("the executable has no directory")?
            .join("vouch"),
    };
    let engine = match args.engine.as_str() {
        "processes" => Engine::Processes,
        program @ ("podman" | "docker") => Engine::Containers {
            program: program.to_owned(),
            image: args.image.clone(),
        },
        other => anyhow::bail!("no engine {other:?} (processes, podman, docker)"),
    };
    let scenarios: Vec<Scenario> = if args.scenario == "all" {
        Scenario::ALL.to_vec()
    } else {
        args.scenario
            .split(',')
            .map(str::parse)
            .collect::<anyhow::Result<_>>()?
    };
    let options = vouch_sim::testnet::Options {
        nodes: args.nodes,
        reports: args.reports,
        chords: args.chords,
        vouch,
        seed: args.seed,
        deadline_secs: args.deadline_secs,
        spacing_ms: args.spacing_ms,
        engine,
        late_statements: args.late_statements,
    };
    let mut outcomes = Vec::new();
    for scenario in scenarios {
        outcomes.push(net::run(scenario, &options)?);
    }
    println!("{}", net::table(&outcomes));
    if let Some(dir) = &args.out {
        net::write(&outcomes, dir)?;
        println!("CSV and SVG in {}", dir.display());
    }
    Ok(outcomes.iter().all(net::Outcome::passed))
}

/// The `[trust]` table of a node configuration file (the node's defaults
/// for every setting it leaves out).
fn trust_settings(path: &std::path::Path) -> anyhow::Result<vouch_trust::Config> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut file: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let config: vouch_trust::Config = match file.remove("trust") {
        Some(table) => table
            .try_into()
            .with_context(|| format!("the [trust] table of {}", path.display()))?,
        None => vouch_trust::Config::default(),
    };
    config
        .check()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(config)
}

fn run(cli: ScenarioArgs) -> anyhow::Result<bool> {
    let mut params = match cli.size {
        Size::Full => Params::full(),
        Size::Small => Params::small(),
    };
    if let Some(path) = &cli.config {
        anyhow::ensure!(
            path.is_file(),
            "no configuration file at {}",
            path.display()
        );
        params.trust = trust_settings(path)?;
    }
    let chosen: Vec<&scenarios::Scenario> = scenarios::ALL
        .iter()
        .filter(|s| cli.scenario == "all" || s.name == cli.scenario)
        .collect();
    anyhow::ensure!(!chosen.is_empty(), "unknown scenario {:?}", cli.scenario);
    std::fs::create_dir_all(&cli.out).with_context(|| format!("creating {}", cli.out.display()))?;
    let progress = ProgressBar::new((chosen.len() * params.viewers * 5) as u64);
    progress.set_style(
        ProgressStyle::with_template("{elapsed} [{bar:40}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress.set_message("calibrating the baselines");
    let calibration = Calibration::compute(&HonestWorld::build(&params, cli.seed));
    let context = scenarios::Context {
        params,
        seed: cli.seed,
        calibration,
    };
    let mut all_passed = true;
    let mut report = String::new();
    for scenario in chosen {
        progress.set_message(scenario.name);
        let outcome = scenarios::run(scenario, &context, &progress);
        all_passed &= outcome.passed();
        output::csv(&outcome, &cli.out)
            .with_context(|| format!("writing CSV to {}", cli.out.display()))?;
        output::chart(&outcome, &cli.out).map_err(|e| anyhow::anyhow!("drawing chart: {e}"))?;
        let table = output::table(&outcome);
        progress.println(&table);
        report.push_str(&table);
        report.push('\n');
    }
    progress.finish_and_clear();
    std::fs::write(cli.out.join("results.md"), &report)?;
    println!(
        "{}: CSV, SVG and results.md in {}",
        if all_passed { "ALL PASS" } else { "SOME FAIL" },
        cli.out.display()
    );
    Ok(all_passed)
}
