//! The scenarios. Each builds a world from a seed, measures Vouch (the
//! node's engine, from sampled honest operators' points of view) and the
//! two baselines on the same statements, and reports rows with targets.

pub mod calibration;
mod honest;
mod neighbours;
mod remediation;
mod slander;
mod sybil;
mod whitewash;

use indicatif::ProgressBar;

use crate::network::Params;
pub use calibration::Calibration;

/// What every scenario runs with.
pub struct Context {
    /// The world's size and behaviour, and the engine's settings.
    pub params: Params,
    /// Random seed (same seed, same results).
    pub seed: u64,
    /// The baselines' thresholds, calibrated on the honest world.
    pub calibration: Calibration,
}

/// One measured line: Vouch and the baselines side by side.
#[derive(Debug, Clone)]
pub struct Row {
    /// What is measured.
    pub metric: String,
    /// Vouch's figure.
    pub vouch: f64,
    /// The SpamCop-style baseline's figure (NaN where it has none).
    pub baseline: f64,
    /// The global-trust baseline's figure (NaN where it has none).
    pub global: f64,
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
            global: f64::NAN,
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
            global: f64::NAN,
            target: target.into(),
            pass: Some(pass),
        }
    }

    /// The same row with the global-trust baseline's figure.
    pub fn with_global(mut self, global: f64) -> Row {
        self.global = global;
        self
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
    /// Operating curves, where the scenario draws them.
    pub curves: Vec<Curve>,
}

/// One judge's operating curve: (legitimate senders blocked %, spam
/// messages stopped %) as its threshold moves.
#[derive(Debug, Clone)]
pub struct Curve {
    /// Whose curve.
    pub name: &'static str,
    /// The points, (legitimate blocked %, spam stopped %, threshold).
    pub points: Vec<(f64, f64, f64)>,
}

impl Outcome {
    /// Whether every row with a target passed.
    pub fn passed(&self) -> bool {
        self.rows.iter().all(|r| r.pass != Some(false))
    }
}

/// What a scenario measured: its rows, and operating curves where it draws them.
pub type Findings = (Vec<Row>, Vec<Curve>);

/// A scenario: name, title, and how to run it.
pub struct Scenario {
    /// Short name, as given on the command line.
    pub name: &'static str,
    /// Title printed above its table.
    pub title: &'static str,
    /// Runs it: rows, and operating curves where it draws them.
    pub run: fn(&Context, &ProgressBar) -> Findings,
}

/// Every scenario, in order.
pub const ALL: [Scenario; 6] = [
    Scenario {
        name: "honest",
        title: "1. Honest network: spam stopped while it is sent, legitimate senders spared",
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
pub fn run(scenario: &Scenario, context: &Context, progress: &ProgressBar) -> Outcome {
    let (rows, curves) = (scenario.run)(context, progress);
    Outcome {
        name: scenario.name,
        title: scenario.title,
        rows,
        curves,
    }
}

/// Runs `f` over `items` on every core, keeping the order.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// The `q` quantile (0..=1) of `values`, sorted in place; infinity when empty.
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::INFINITY;
    }
    values.sort_by(f64::total_cmp);
    let i = ((values.len() - 1) as f64 * q).round() as usize;
    values[i.min(values.len() - 1)]
}

/// Share of `hits` among `total`, in percent (0 when there is nothing to count).
pub fn percent(hits: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        100.0 * hits as f64 / total as f64
    }
}
