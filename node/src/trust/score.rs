//! Reputation of a subject from the statements about it, weighted by my trust
//! in their authors and by their age, with an explanation of the result.

use std::collections::HashMap;

use serde::Serialize;
use vouch_protocol::{Claim, SignedStatement, StatementId, Subject};

use super::Config;
use super::rank::TrustMap;

/// What a mail server should do with mail from a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Trusted endorsements outweigh reports: accept, skip other lists.
    Allow,
    /// Not enough trusted evidence either way.
    Neutral,
    /// Some trusted reports: defer, tag or score up.
    Suspect,
    /// Strong trusted reports: reject.
    Block,
}

impl Verdict {
    /// Lower-case name, as in the API and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Neutral => "neutral",
            Verdict::Suspect => "suspect",
            Verdict::Block => "block",
        }
    }
}

/// Which part of the evidence a contribution belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Signal {
    /// A statement about the subject itself.
    Exact,
    /// A report about a neighbour in the same /24 or /48, or about the netblock.
    Netblock,
}

/// One statement's part in a verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Contribution {
    /// The statement's id (hex).
    pub id: String,
    /// Its author (hex public key).
    pub author: String,
    /// My trust in the author, 0..=1.
    pub author_trust: f64,
    /// `endorse` or `report`.
    pub kind: &'static str,
    /// The endorsement or report category.
    pub category: String,
    /// What the statement is about (the neighbour, for netblock signals).
    pub subject: String,
    /// Exact or netblock evidence.
    pub signal: Signal,
    /// Seconds since the statement was made.
    pub age_secs: u64,
    /// Age decay factor, 0..=1.
    pub decay: f64,
    /// Signed contribution to the score: trust × decay, negative for reports.
    pub weight: f64,
}

/// The answer to "how much should I trust this sender, and why?".
#[derive(Debug, Clone, Serialize)]
pub struct Reputation {
    /// The subject asked about, canonical form.
    pub subject: String,
    /// Trusted endorsement mass minus trusted report mass (and the netblock
    /// signal, when it counts). Positive is good.
    pub score: f64,
    /// How much trusted evidence there is, 0..=1.
    pub confidence: f64,
    /// The verdict under the configured thresholds.
    pub verdict: Verdict,
    /// Trust-weighted, decayed endorsement mass for the subject itself.
    pub endorsed: f64,
    /// Trust-weighted, decayed report mass against the subject itself.
    pub reported: f64,
    /// Netblock report mass after weighting (0 when it does not count).
    pub netblock: f64,
    /// Distinct reported neighbours in the netblock.
    pub netblock_reported_ips: usize,
    /// Number of statements that contributed.
    pub statements: usize,
    /// The largest contributions, largest first.
    pub explanation: Vec<Contribution>,
}

/// Decay factor for something `age` seconds old with the given half-life.
pub fn decay(age_secs: u64, half_life_secs: f64) -> f64 {
    if half_life_secs <= 0.0 {
        return 0.0;
    }
    (-(age_secs as f64) * std::f64::consts::LN_2 / half_life_secs).exp()
}

struct Weighed<'a> {
    id: &'a StatementId,
    statement: &'a SignedStatement,
    signal: Signal,
    trust: f64,
    age_secs: u64,
    decay: f64,
    /// Signed: positive for endorsements, negative for reports.
    weight: f64,
}

/// Scores `subject` from the statements about it (`exact`) and, for an IP,
/// about its neighbours and netblock (`netblock`; statements about the
/// subject itself in that list are skipped).
pub fn reputation(
    subject: &Subject,
    exact: &[(StatementId, SignedStatement)],
    netblock: &[(StatementId, SignedStatement)],
    trust: &TrustMap,
    now: u64,
    config: &Config,
) -> Reputation {
    let weigh = |item, signal| weigh(item, signal, trust, now, config);

    let exact: Vec<Weighed> = exact
        .iter()
        .filter_map(|s| weigh(s, Signal::Exact))
        .collect();
    let endorsed: f64 = exact
        .iter()
        .filter(|w| w.weight > 0.0)
        .map(|w| w.weight)
        .sum();
    let reported: f64 = -exact
        .iter()
        .filter(|w| w.weight < 0.0)
        .map(|w| w.weight)
        .sum::<f64>();

    // Netblock: reports about neighbours (and the block itself). Weaker, and
    // only once several distinct neighbours are reported; an endorsement of
    // the exact subject overrides it, so a good neighbour is not collateral.
    let neighbours: Vec<Weighed> = netblock
        .iter()
        .filter(|(_, s)| &s.body.subject != subject && matches!(s.body.claim, Claim::Report { .. }))
        .filter_map(|s| weigh(s, Signal::Netblock))
        .collect();
    let mut per_neighbour: HashMap<&Subject, f64> = HashMap::new();
    for w in &neighbours {
        *per_neighbour.entry(&w.statement.body.subject).or_default() -= w.weight;
    }
    let reported_ips = per_neighbour
        .keys()
        .filter(|s| matches!(s, Subject::Ip(_)))
        .count();
    let block_reported = per_neighbour
        .iter()
        .any(|(s, _)| matches!(s, Subject::Net { .. }));
    let counts =
        (reported_ips >= config.netblock_min_reported_ips || block_reported) && endorsed <= 0.0;
    let netblock_mass = if counts && !per_neighbour.is_empty() {
        let mean = per_neighbour.values().sum::<f64>() / per_neighbour.len() as f64;
        config.netblock_weight * mean.min(1.0)
    } else {
        0.0
    };

    let score = endorsed - reported - netblock_mass;
    let evidence = endorsed + reported + netblock_mass;
    let confidence = 1.0 - (-2.0 * evidence).exp();
    let t = &config.thresholds;
    let verdict = if score <= t.block {
        Verdict::Block
    } else if score <= t.suspect {
        Verdict::Suspect
    } else if score >= t.allow {
        Verdict::Allow
    } else {
        Verdict::Neutral
    };

    let statements = exact.len() + if counts { neighbours.len() } else { 0 };
    let mut shown: Vec<&Weighed> = exact.iter().collect();
    if counts {
        shown.extend(neighbours.iter());
    }
    shown.sort_by(|a, b| {
        b.weight
            .abs()
            .total_cmp(&a.weight.abs())
            .then(a.id.cmp(b.id))
    });
    shown.truncate(config.max_explanation);
    let explanation = shown.into_iter().map(contribution).collect();

    Reputation {
        subject: subject.to_string(),
        score,
        confidence,
        verdict,
        endorsed,
        reported,
        netblock: netblock_mass,
        netblock_reported_ips: reported_ips,
        statements,
        explanation,
    }
}

/// Weighs one statement by its author's trust and its age; `None` for
/// authors outside my web of trust, expired statements and kinds that do
/// not score.
fn weigh<'a>(
    (id, statement): &'a (StatementId, SignedStatement),
    signal: Signal,
    trust: &TrustMap,
    now: u64,
    config: &Config,
) -> Option<Weighed<'a>> {
    let author_trust = trust.get(&statement.author);
    if author_trust < config.min_author_trust || statement.body.expires_at <= now {
        return None;
    }
    let (sign, half_life) = match statement.body.claim {
        Claim::Endorse { .. } => (1.0, config.endorse_half_life_days * 86_400.0),
        Claim::Report { .. } => (-1.0, config.report_half_life_hours * 3_600.0),
        _ => return None,
    };
    let age_secs = now.saturating_sub(statement.body.created_at);
    let decay = decay(age_secs, half_life);
    Some(Weighed {
        id,
        statement,
        signal,
        trust: author_trust,
        age_secs,
        decay,
        weight: sign * author_trust * decay,
    })
}

fn contribution(w: &Weighed) -> Contribution {
    let (kind, category) = match &w.statement.body.claim {
        Claim::Endorse { category } => ("endorse", format!("{category:?}")),
        Claim::Report {
            category, count, ..
        } => ("report", format!("{category:?} x{count}")),
        other => (other.kind().as_str(), String::new()),
    };
    Contribution {
        id: w.id.to_string(),
        author: w.statement.author.to_string(),
        author_trust: w.trust,
        kind,
        category,
        subject: w.statement.body.subject.to_string(),
        signal: w.signal,
        age_secs: w.age_secs,
        decay: w.decay,
        weight: w.weight,
    }
}
