//! What the front-ends' tests share: a reputation with just a verdict.

use crate::trust::{Reputation, Verdict};

/// A reputation of `subject` with `verdict` and `score` and nothing behind
/// them (no statements, no explanation): what a stand-in lookup answers.
pub fn reputation(subject: &str, verdict: Verdict, score: f64) -> Reputation {
    Reputation {
        subject: subject.into(),
        score,
        confidence: 0.5,
        verdict,
        endorsed: score.max(0.0),
        reported: (-score).max(0.0),
        netblock: 0.0,
        netblock_reported_ips: 0,
        forwarder: false,
        remediated_at: None,
        fresh_reporters: 0,
        fresh_window_minutes: 60.0,
        statements: 0,
        explanation: Vec::new(),
    }
}
