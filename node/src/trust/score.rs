//! Reputation of a subject from the statements about it, weighted by my trust
//! in their authors and by their age, with an explanation of the result.

use std::collections::HashMap;

use serde::Serialize;
use vouch_protocol::{Claim, EndorseCategory, SignedStatement, StatementId, Subject};

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
    /// A report against an endorsed forwarder whose relay chain names this
    /// subject as the source: attributed here.
    Relayed,
}

/// A statement with its id, as the store returns it.
pub type Entry = (StatementId, SignedStatement);

/// What the store holds that bears on one subject.
#[derive(Debug, Clone, Copy, Default)]
pub struct Evidence<'a> {
    /// Statements about exactly the subject.
    pub exact: &'a [Entry],
    /// For an IP: statements about the addresses in its /24 (or /48) and
    /// about the block itself (statements about the subject are skipped).
    pub netblock: &'a [Entry],
    /// Reports whose relay chain names the subject as the original source
    /// and whose reported host is an endorsed forwarder (see
    /// [`is_endorsed_forwarder`]); the caller filters.
    pub relayed: &'a [Entry],
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
    /// `endorse`, `report` or `remediate`.
    pub kind: &'static str,
    /// The endorsement or report category, or the remediation note.
    pub category: String,
    /// What the statement is about (the neighbour or forwarder, when not the subject).
    pub subject: String,
    /// Which part of the evidence it is.
    pub signal: Signal,
    /// Seconds since the statement was made.
    pub age_secs: u64,
    /// Decay factor, 0..=1 (faster for reports made before a trusted remediation).
    pub decay: f64,
    /// Signed contribution to the score: trust (at most the per-author
    /// cap) × decay, negative for reports (0 for remediation notices, which
    /// change decay instead).
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
    /// How much trusted evidence there is, 0..=1 (evidence weighing as much
    /// as the block threshold gives 0.63).
    pub confidence: f64,
    /// The verdict under the configured thresholds.
    pub verdict: Verdict,
    /// Trust-weighted, decayed endorsement mass for the subject itself.
    pub endorsed: f64,
    /// Trust-weighted, decayed report mass against the subject (including
    /// reports attributed to it through a forwarder).
    pub reported: f64,
    /// Netblock report mass after weighting (0 when it does not count).
    pub netblock: f64,
    /// Distinct reported neighbours in the netblock.
    pub netblock_reported_ips: usize,
    /// Whether trusted operators endorse the subject as a forwarder, so
    /// reports of relayed mail count against the source instead.
    pub forwarder: bool,
    /// Latest remediation time asserted by a trusted author, if any, and
    /// not void: reports made since it weigh less than the suspect threshold.
    pub remediated_at: Option<u64>,
    /// Number of statements that contributed.
    pub statements: usize,
    /// The largest contributions, largest first; remediation notices always.
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

/// Trusted, decayed mass of "this host forwards mail" endorsements among
/// the statements about a host.
pub fn forwarder_mass(about: &[Entry], trust: &TrustMap, now: u64, config: &Config) -> f64 {
    about
        .iter()
        .filter(|(_, s)| {
            matches!(
                s.body.claim,
                Claim::Endorse {
                    category: EndorseCategory::Forwarder
                }
            )
        })
        .filter_map(|e| weigh(e, Signal::Exact, trust, now, config, None))
        .map(|w| w.weight)
        .sum()
}

/// Whether trusted operators endorse a host (given the statements about it)
/// as a forwarder.
pub fn is_endorsed_forwarder(about: &[Entry], trust: &TrustMap, now: u64, config: &Config) -> bool {
    forwarder_mass(about, trust, now, config) >= config.forwarder_min_endorsement
}

/// The latest remediation time asserted by a trusted author.
fn remediation(about: &[Entry], trust: &TrustMap, now: u64, config: &Config) -> Option<u64> {
    about
        .iter()
        .filter_map(|(_, s)| match s.body.claim {
            Claim::Remediate { remediated_at, .. }
                if s.body.expires_at > now
                    && trust.get(&s.author) >= config.remediation_min_trust =>
            {
                Some(remediated_at.min(now))
            }
            _ => None,
        })
        .max()
}

/// Whether trusted reports made after a remediation already weigh as much
/// as the suspect threshold: then the subject is not fixed after all, and
/// the remediation is void (a spammer cannot publish one and carry on).
fn reported_since(
    about: &[Entry],
    fixed: u64,
    trust: &TrustMap,
    now: u64,
    config: &Config,
) -> bool {
    let since: f64 = about
        .iter()
        .filter(|(_, s)| s.body.created_at > fixed && matches!(s.body.claim, Claim::Report { .. }))
        .filter_map(|e| weigh(e, Signal::Exact, trust, now, config, None))
        .map(|w| -w.weight)
        .sum();
    since >= -config.thresholds.suspect
}

/// Scores `subject` from the evidence the store holds about it.
pub fn reputation(
    subject: &Subject,
    evidence: &Evidence,
    trust: &TrustMap,
    now: u64,
    config: &Config,
) -> Reputation {
    let remediated_at = remediation(evidence.exact, trust, now, config)
        .filter(|&fixed| !reported_since(evidence.exact, fixed, trust, now, config));
    let weigh = |item, signal| weigh(item, signal, trust, now, config, remediated_at);

    // Reports of relayed mail against an endorsed forwarder count against
    // the source (the forwarder's relay chain names it), not the forwarder.
    let forwarder = is_endorsed_forwarder(evidence.exact, trust, now, config);
    let mut exact: Vec<Weighed> = evidence
        .exact
        .iter()
        .filter_map(|s| weigh(s, Signal::Exact))
        .collect();
    if forwarder {
        for w in exact
            .iter_mut()
            .filter(|w| w.weight < 0.0 && relayed(w.statement))
        {
            w.weight *= config.forwarder_discount;
        }
    }
    exact.extend(
        evidence
            .relayed
            .iter()
            .filter(|(_, s)| &s.body.subject != subject)
            .filter_map(|s| weigh(s, Signal::Relayed)),
    );
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
    let neighbours: Vec<Weighed> = evidence
        .netblock
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
        .keys()
        .any(|s| matches!(s, Subject::Net { .. }));
    let counts =
        (reported_ips >= config.netblock_min_reported_ips || block_reported) && endorsed <= 0.0;
    let netblock_mass = if counts && !per_neighbour.is_empty() {
        let mean = per_neighbour.values().sum::<f64>() / per_neighbour.len() as f64;
        (config.netblock_weight * mean).min(config.thresholds.suspect.abs())
    } else {
        0.0
    };

    let score = endorsed - reported - netblock_mass;
    let t = &config.thresholds;
    // Evidence as heavy as the block threshold gives 63% confidence.
    let evidence_mass = endorsed + reported + netblock_mass;
    let confidence = 1.0 - (-evidence_mass / t.block.abs().max(1e-9)).exp();
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
    let mut explanation: Vec<Contribution> = shown.into_iter().map(contribution).collect();
    explanation.extend(remediation_notices(evidence.exact, trust, now));

    Reputation {
        subject: subject.to_string(),
        score,
        confidence,
        verdict,
        endorsed,
        reported,
        netblock: netblock_mass,
        netblock_reported_ips: reported_ips,
        forwarder,
        remediated_at,
        statements,
        explanation,
    }
}

/// Whether a report says the mail was relayed to the reporter.
fn relayed(statement: &SignedStatement) -> bool {
    matches!(&statement.body.claim, Claim::Report { evidence, .. } if !evidence.relay_chain.is_empty())
}

/// Weighs one statement by its author's trust and its age; `None` for
/// authors outside my web of trust, expired statements and kinds that do
/// not score. Reports made before a trusted remediation decay at the
/// remediation half-life from the remediation on.
fn weigh<'a>(
    (id, statement): &'a Entry,
    signal: Signal,
    trust: &TrustMap,
    now: u64,
    config: &Config,
    remediated_at: Option<u64>,
) -> Option<Weighed<'a>> {
    let author_trust = trust.get(&statement.author);
    let body = &statement.body;
    if author_trust < config.min_author_trust || body.expires_at <= now {
        return None;
    }
    let age_secs = now.saturating_sub(body.created_at);
    let (sign, decay) = match body.claim {
        Claim::Endorse { .. } => (
            1.0,
            decay(age_secs, config.endorse_half_life_days * 86_400.0),
        ),
        Claim::Report { .. } => {
            let half_life = config.report_half_life_hours * 3_600.0;
            match remediated_at {
                Some(fixed) if body.created_at < fixed && signal != Signal::Netblock => {
                    let before = decay(fixed - body.created_at, half_life);
                    let since = now.saturating_sub(fixed);
                    (
                        -1.0,
                        before * decay(since, config.remediated_half_life_hours * 3_600.0),
                    )
                }
                _ => (-1.0, decay(age_secs, half_life)),
            }
        }
        _ => return None,
    };
    Some(Weighed {
        id,
        statement,
        signal,
        trust: author_trust,
        age_secs,
        decay,
        weight: sign * trust.weight(&statement.author) * decay,
    })
}

fn remediation_notices<'a>(
    about: &'a [Entry],
    trust: &'a TrustMap,
    now: u64,
) -> impl Iterator<Item = Contribution> + 'a {
    about.iter().filter_map(move |(id, s)| match &s.body.claim {
        Claim::Remediate {
            note,
            remediated_at,
        } if s.body.expires_at > now => Some(Contribution {
            id: id.to_string(),
            author: s.author.to_string(),
            author_trust: trust.get(&s.author),
            kind: "remediate",
            category: format!("fixed {}s ago: {note}", now.saturating_sub(*remediated_at)),
            subject: s.body.subject.to_string(),
            signal: Signal::Exact,
            age_secs: now.saturating_sub(s.body.created_at),
            decay: 1.0,
            weight: 0.0,
        }),
        _ => None,
    })
}

fn contribution(w: &Weighed) -> Contribution {
    let (kind, category) = match &w.statement.body.claim {
        Claim::Endorse { category } => ("endorse", format!("{category:?}")),
        Claim::Report {
            category,
            count,
            evidence,
        } => {
            let via = match (w.signal, evidence.relay_chain.first()) {
                (Signal::Relayed, _) => format!(" via forwarder {}", w.statement.body.subject),
                (_, Some(origin)) => format!(" relayed from {origin}"),
                _ => String::new(),
            };
            ("report", format!("{category:?} x{count}{via}"))
        }
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
