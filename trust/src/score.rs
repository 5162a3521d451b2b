//! Reputation of a subject from the statements about it, weighted by my trust
//! in their authors and by their age, with an explanation of the result.

use serde::Serialize;
use vouch_protocol::{EndorseCategory, Subject};

use crate::Config;
use crate::branches::cap_branches;
use crate::explain::{Contribution, contribution, remediation_notices};
use crate::fresh::{boost_if_fresh, defer_on_fresh, endorsing_witnesses, fresh_witnesses};
use crate::independence::CoReports;
use crate::neighbourhood::Neighbourhood;
use crate::rank::{Place, TrustMap};
use crate::said::{Said, SaidClaim};

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

/// What the store holds that bears on one subject.
#[derive(Debug, Clone, Copy, Default)]
pub struct SubjectEvidence<'a> {
    /// Statements about exactly the subject.
    pub exact: &'a [Said],
    /// For an IP: statements about the addresses in its /24 (or /48) and
    /// about the block itself (statements about the subject are skipped).
    pub netblock: &'a [Said],
    /// `netblock` already weighed (see [`Neighbourhood`]), under the same
    /// trust map and at or before the time asked: used instead of
    /// `netblock` when it covers that time, with `exact` as the subject's
    /// own statements in it.
    pub neighbourhood: Option<&'a Neighbourhood>,
    /// Reports whose relay chain names the subject as the original source
    /// and whose reported host is an endorsed forwarder (see
    /// [`is_endorsed_forwarder`]); the caller filters.
    pub relayed: &'a [Said],
    /// Who else the subject's reporters reported, to tell independent
    /// witnesses from a clique (none: the independent-witness trigger of
    /// the fast clock stays off).
    pub co_reports: Option<&'a dyn CoReports>,
}

/// The answer to "how much should I trust this sender, and why?".
#[derive(Debug, Clone, Serialize)]
pub struct Reputation {
    /// The subject asked about (written in its canonical form).
    #[serde(serialize_with = "crate::explain::as_text")]
    pub subject: Subject,
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
    /// New witnesses: trusted authors whose first reports on the subject
    /// fall within `fresh_window_minutes` of each other (or within the
    /// window of the trigger that started the fast clock: a burst, an
    /// hour, a steady stream). Once they outnumber the trusted authors
    /// endorsing the subject by the trigger's count, their reports weigh
    /// up to `fresh_boost` times more, fading within hours: a spam source
    /// is blocked while it still sends.
    pub fresh_reporters: usize,
    /// The window, in minutes, `fresh_reporters` fall within.
    pub fresh_window_minutes: f64,
    /// Number of statements that contributed.
    pub statements: usize,
    /// The largest contributions, largest first, then the remediation
    /// notices that count (by trusted authors; at most three).
    pub explanation: Vec<Contribution>,
}

/// Decay factor for something `age` seconds old with the given half-life.
pub fn decay(age_secs: u64, half_life_secs: f64) -> f64 {
    if half_life_secs <= 0.0 {
        return 0.0;
    }
    (-(age_secs as f64) * std::f64::consts::LN_2 / half_life_secs).exp()
}

pub(crate) struct Weighed<'a> {
    pub said: &'a Said,
    pub signal: Signal,
    /// Where the author is in the trust map (`None` only when even
    /// untrusted authors are weighed, at a zero `min_author_trust`).
    pub place: Option<Place>,
    pub trust: f64,
    /// The author's weight in a score (its trust, capped).
    pub author_weight: f64,
    pub age_secs: u64,
    /// Seconds since the author first reported the subject (reports only).
    pub witness_age_secs: u64,
    pub decay: f64,
    pub fresh: bool,
    /// A report of relayed mail against an endorsed forwarder: it counts
    /// against the source, so here it is never fresh evidence.
    pub attributed_elsewhere: bool,
    /// Signed: positive for endorsements, negative for reports.
    pub weight: f64,
}

/// Trusted, decayed mass of "this host forwards mail" endorsements among
/// the statements about a host.
pub fn forwarder_mass(about: &[Said], trust: &TrustMap, now: u64, config: &Config) -> f64 {
    about
        .iter()
        .filter(|s| s.claim == SaidClaim::Endorse(EndorseCategory::Forwarder))
        .filter_map(|s| weigh(s, Signal::Exact, trust, now, config, None))
        .map(|w| w.weight)
        .sum()
}

/// Whether trusted operators endorse a host (given the statements about it)
/// as a forwarder.
pub fn is_endorsed_forwarder(about: &[Said], trust: &TrustMap, now: u64, config: &Config) -> bool {
    forwarder_mass(about, trust, now, config) >= config.forwarder_min_endorsement
}

/// The latest remediation time asserted by a trusted author.
fn remediation(about: &[Said], trust: &TrustMap, now: u64, config: &Config) -> Option<u64> {
    about
        .iter()
        .filter_map(|s| match s.claim {
            SaidClaim::Remediate { remediated_at, .. }
                if s.expires_at > now && trust.get(&s.author) >= config.remediation_min_trust =>
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
fn reported_since(about: &[Said], fixed: u64, trust: &TrustMap, now: u64, config: &Config) -> bool {
    let since: f64 = about
        .iter()
        .filter(|s| s.created_at > fixed && s.is_report())
        .filter_map(|s| weigh(s, Signal::Exact, trust, now, config, None))
        .map(|w| -w.weight)
        .sum();
    since >= -config.thresholds.suspect
}

/// Scores `subject` from the evidence the store holds about it.
pub fn reputation<'a>(
    subject: &Subject,
    evidence: &SubjectEvidence<'a>,
    trust: &TrustMap,
    now: u64,
    config: &Config,
) -> Reputation {
    let remediated_at = remediation(evidence.exact, trust, now, config)
        .filter(|&fixed| !reported_since(evidence.exact, fixed, trust, now, config));
    let weigh = |item: &'a Said, signal| weigh(item, signal, trust, now, config, remediated_at);

    // Reports of relayed mail against an endorsed forwarder count against
    // the source (the forwarder's relay chain names it), not the forwarder.
    let forwarder = is_endorsed_forwarder(evidence.exact, trust, now, config);
    let mut exact: Vec<Weighed> = evidence
        .exact
        .iter()
        .filter_map(|s| weigh(s, Signal::Exact))
        .collect();
    exact.extend(
        evidence
            .relayed
            .iter()
            .filter(|s| &s.subject != subject)
            .filter_map(|s| weigh(s, Signal::Relayed)),
    );
    if forwarder {
        for w in exact
            .iter_mut()
            .filter(|w| w.weight < 0.0 && w.said.is_relayed_report() && w.signal == Signal::Exact)
        {
            w.weight *= config.forwarder_discount;
            w.attributed_elsewhere = true;
        }
    }
    let witnesses = fresh_witnesses(&exact, trust, config, remediated_at);
    let endorsers = endorsing_witnesses(&exact, trust, config);
    let co_reports = evidence.co_reports.map(|c| (c, subject));
    let clock = witnesses.started(config, endorsers, co_reports);
    if let Some(clock) = clock {
        for w in exact.iter_mut() {
            boost_if_fresh(w, trust, config, remediated_at, clock.half_life_minutes);
        }
    } else if witnesses.window >= config.fresh_defer_reporters + endorsers {
        defer_on_fresh(&mut exact, trust, config, remediated_at);
    }
    cap_branches(&mut exact, trust, config);
    // (An empty f64 sum is -0.0; the max keeps "-0" out of answers.)
    let endorsed: f64 = exact
        .iter()
        .filter(|w| w.weight > 0.0)
        .map(|w| w.weight)
        .sum::<f64>()
        .max(0.0);
    let reported: f64 = -exact
        .iter()
        .filter(|w| w.weight < 0.0)
        .map(|w| w.weight)
        .sum::<f64>();

    // Netblock: reports about neighbours (and the block itself). Weaker, and
    // only once several distinct neighbours are reported; an endorsement of
    // the exact subject overrides it, so a good neighbour is not collateral.
    let weighed;
    let neighbours = match evidence.neighbourhood.filter(|n| n.covers(now)) {
        Some(neighbourhood) => neighbourhood.seen_from(subject, evidence.exact, trust, now, config),
        None => {
            let others = evidence.netblock.iter().filter(|s| &s.subject != subject);
            weighed = Neighbourhood::weigh(others, trust, now, config);
            weighed.seen_from(subject, &[], trust, now, config)
        }
    };
    let counts = (neighbours.reported_ips >= config.netblock_min_reported_ips
        || neighbours.block_reported)
        && endorsed <= 0.0;
    let netblock_mass = match neighbours.mean {
        Some(mean) if counts => {
            (config.netblock_weight * mean).min(config.thresholds.suspect.abs())
        }
        _ => 0.0,
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

    let statements = exact.len() + if counts { neighbours.reports } else { 0 };
    let mut shown: Vec<&Weighed> = exact.iter().collect();
    if counts {
        shown.extend(neighbours.heaviest.iter());
    }
    // Only the largest few are shown: select them, then sort just those.
    if shown.len() > config.max_explanation {
        if config.max_explanation > 0 {
            shown.select_nth_unstable_by(config.max_explanation - 1, by_weight);
        }
        shown.truncate(config.max_explanation);
    }
    shown.sort_by(by_weight);
    let mut explanation: Vec<Contribution> = shown.into_iter().filter_map(contribution).collect();
    explanation.extend(remediation_notices(evidence.exact, trust, now, config));

    Reputation {
        subject: subject.clone(),
        score,
        confidence,
        verdict,
        endorsed,
        reported,
        netblock: netblock_mass,
        netblock_reported_ips: neighbours.reported_ips,
        forwarder,
        remediated_at,
        fresh_reporters: clock.map_or(witnesses.window, |c| c.reporters),
        fresh_window_minutes: clock.map_or(config.fresh_window_minutes, |c| c.window_minutes),
        statements,
        explanation,
    }
}

/// The order contributions are shown in: heaviest first, then by id.
pub(crate) fn by_weight(a: &&Weighed, b: &&Weighed) -> std::cmp::Ordering {
    b.weight
        .abs()
        .total_cmp(&a.weight.abs())
        .then(a.said.id.cmp(&b.said.id))
}

/// Weighs one statement by its author's trust and its age; `None` for
/// authors outside my web of trust, expired statements and kinds that do
/// not score. Reports made before a trusted remediation decay at the
/// remediation half-life from the remediation on.
pub(crate) fn weigh<'a>(
    said: &'a Said,
    signal: Signal,
    trust: &TrustMap,
    now: u64,
    config: &Config,
    remediated_at: Option<u64>,
) -> Option<Weighed<'a>> {
    let place = trust.place(&said.author);
    let (author_trust, author_weight) =
        place.map_or((0.0, 0.0), |place| trust.trust_and_weight_at(place));
    if author_trust < config.min_author_trust || said.expires_at <= now {
        return None;
    }
    let age_secs = now.saturating_sub(said.created_at);
    let (sign, decay) = match said.claim {
        SaidClaim::Endorse(_) => (
            1.0,
            decay(age_secs, config.endorse_half_life_days * 86_400.0),
        ),
        SaidClaim::Report { .. } => {
            let half_life = config.report_half_life_hours * 3_600.0;
            match remediated_at {
                Some(fixed) if said.created_at < fixed && signal != Signal::Netblock => {
                    let before = decay(fixed - said.created_at, half_life);
                    let since = now.saturating_sub(fixed);
                    (
                        -1.0,
                        before * decay(since, config.remediated_half_life_hours * 3_600.0),
                    )
                }
                _ => (-1.0, decay(age_secs, half_life)),
            }
        }
        SaidClaim::Remediate { .. } => return None,
    };
    Some(Weighed {
        said,
        signal,
        place,
        trust: author_trust,
        author_weight,
        age_secs,
        witness_age_secs: now.saturating_sub(said.first_reported),
        decay,
        fresh: false,
        attributed_elsewhere: false,
        weight: sign * author_weight * decay,
    })
}
