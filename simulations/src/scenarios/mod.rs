//! The scenarios. Each builds a world from a seed, measures Vouch (the
//! node's engine, from sampled honest operators' points of view) and the
//! blocklist baseline on the same statements, and reports rows with targets.

mod honest;
mod neighbours;
mod remediation;
mod slander;
mod sybil;
mod whitewash;

use indicatif::ProgressBar;

use crate::network::Params;

/// One measured line: Vouch and the baseline side by side.
#[derive(Debug, Clone)]
pub struct Row {
    /// What is measured.
    pub metric: String,
    /// Vouch's figure.
    pub vouch: f64,
    /// The blocklist baseline's figure (NaN where it has none).
    pub baseline: f64,
    /// The target, in words.
    pub target: String,
    /// Whether Vouch meets the target (`None`: informational).
    pub pass: Option<bool>,
}

impl Row {
    /// An informational row without a target.
    pub fn info(metric: impl Into<String>, vouch: f64, baseline: f64) -> Row {
        Row {
            metric: metric.into(),
            vouch,
            baseline,
            target: String::new(),
            pass: None,
        }
    }

    /// A row with a target Vouch must meet.
    pub fn target(
        metric: impl Into<String>,
        vouch: f64,
        baseline: f64,
        target: impl Into<String>,
        pass: bool,
    ) -> Row {
        Row {
            metric: metric.into(),
            vouch,
            baseline,
            target: target.into(),
            pass: Some(pass),
        }
    }
}

/// A scenario's result.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Short name (file names).
    pub name: &'static str,
    /// Title.
    pub title: &'static str,
    /// The measured rows.
    pub rows: Vec<Row>,
}

impl Outcome {
    /// Whether every row with a target passed.
    pub fn passed(&self) -> bool {
        self.rows.iter().all(|r| r.pass != Some(false))
    }
}

/// A scenario: name, title, and how to run it.
pub struct Scenario {
    /// Short name, as given on the command line.
    pub name: &'static str,
    /// Title printed above its table.
    pub title: &'static str,
    /// Runs it.
    pub run: fn(&Params, u64, &ProgressBar) -> Vec<Row>,
}

/// Every scenario, in order.
pub const ALL: [Scenario; 6] = [
    Scenario {
        name: "honest",
        title: "1. Honest network: spam caught, legitimate senders wrongly blocked",
        run: honest::run,
    },
    Scenario {
        name: "sybil",
        title: "2. Sybil regions behind g attack edges",
        run: sybil::run,
    },
    Scenario {
        name: "slander",
        title: "3. Slander by camouflaged attackers (honest a fraction f of the time)",
        run: slander::run,
    },
    Scenario {
        name: "neighbours",
        title: "4. Netblock neighbours and forwarders",
        run: neighbours::run,
    },
    Scenario {
        name: "whitewash",
        title: "5. Whitewashing with fresh keys",
        run: whitewash::run,
    },
    Scenario {
        name: "remediation",
        title: "6. Remediation: recovering after a fixed compromise",
        run: remediation::run,
    },
];

/// Runs one scenario.
pub fn run(scenario: &Scenario, params: &Params, seed: u64, progress: &ProgressBar) -> Outcome {
    Outcome {
        name: scenario.name,
        title: scenario.title,
        rows: (scenario.run)(params, seed, progress),
    }
}

/// Share of `hits` among `total`, in percent (0 when there is nothing to count).
pub fn percent(hits: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        100.0 * hits as f64 / total as f64
    }
}
