//! `vouch-sim`: run the scenarios and print, save and chart the results.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use vouch_sim::network::Params;
use vouch_sim::{output, scenarios};

/// Run Vouch's attack scenarios against a shared-blocklist baseline.
#[derive(Debug, Parser)]
#[command(name = "vouch-sim", version, about)]
struct Cli {
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
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Size {
    /// 1,000 operators, 50 viewers.
    Full,
    /// 200 operators, 12 viewers (seconds).
    Small,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("vouch-sim: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<bool> {
    let params = match cli.size {
        Size::Full => Params::full(),
        Size::Small => Params::small(),
    };
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
    let mut all_passed = true;
    let mut report = String::new();
    for scenario in chosen {
        progress.set_message(scenario.name);
        let outcome = scenarios::run(scenario, &params, cli.seed, &progress);
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
