//! Reputation of a subject from the statements about it, weighted by my trust
//! in their authors and by their age, with an explanation of the result.

use crate::FastMap;

use serde::Serialize;
use vouch_protocol::{
    Claim, EndorseCategory, Kind, ReportCategory, SignedStatement, StatementId, Subject,
};

use crate::Config;
use crate::rank::TrustMap;

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
pub struct SubjectEvidence<'a> {
    /// Statements about exactly the subject.
    pub exact: &'a [Entry],
    /// For an IP: statements about the addresses in its /24 (or /48) and
    /// about the block itself (statements about the subject are skipped).
    pub netblock: &'a [Entry],
    /// Reports whose relay chain names the subject as the original source
    /// and whose reported host is an endorsed forwarder (see
    /// [`is_endorsed_forwarder`]); the caller filters.
    pub relayed: &'a [Entry],
    /// For reports that renew an earlier report by the same author on the
    /// same subject (the slot held a report or its retraction before):
    /// when that first report was made, sorted by statement id. Reports
    /// not listed count from their own creation. Only a first report is
    /// fresh evidence.
    pub first_reported: &'a [(StatementId, u64)],
}

impl SubjectEvidence<'_> {
    /// When the author of the report `id`, made at `created_at`, first
    /// reported its subject.
    fn first_reported(&self, id: &StatementId, created_at: u64) -> u64 {
        self.first_reported
            .binary_search_by(|(listed, _)| listed.cmp(id))
            .ok()
            .and_then(|i| self.first_reported.get(i))
            .map_or(created_at, |(_, first)| (*first).min(created_at))
    }
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
    pub kind: Kind,
    /// The endorsement or report category, or the remediation note.
    pub category: Category,
    /// What the statement is about (the neighbour or forwarder, when not the subject).
    pub subject: String,
    /// Which part of the evidence it is.
    pub signal: Signal,
    /// Seconds since the statement was made.
    pub age_secs: u64,
    /// Decay factor, 0..=1 (faster for reports made before a trusted remediation).
    pub decay: f64,
    /// Whether the report weighs as fresh evidence (see `Reputation::fresh_reporters`).
    pub fresh: bool,
    /// Signed contribution to the score: trust (at most the per-author
    /// cap) × decay, or the fresh weight when that is larger, negative for
    /// reports (0 for remediation notices, which change decay instead).
    pub weight: f64,
    /// Where the statement came from (`cli`, `message`, `junk`, `rspamd`),
    /// for the node's own reports: the engine leaves it empty and the node
    /// fills it in from its records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
    /// The author's mail domain and how far DNS backs it
    /// ("mail.example.org (verified)"); the engine leaves it empty and the
    /// node fills it in from the names it knows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
}

/// What a contribution says, typed; in answers it reads as one short
/// phrase ("Phishing x4 relayed from 192.0.2.7", "Forwarder",
/// "fixed 3600s ago: account closed").
#[derive(Debug, Clone, PartialEq)]
pub enum Category {
    /// An endorsement, in what capacity.
    Endorse(EndorseCategory),
    /// A report.
    Report {
        /// Of what.
        category: ReportCategory,
        /// Messages seen.
        count: u32,
        /// Where relayed mail came from, if it was relayed.
        via: Option<Via>,
    },
    /// A remediation notice.
    Remediate {
        /// Seconds since the fix.
        fixed_secs_ago: u64,
        /// What was done.
        note: String,
    },
}

/// How a report of relayed mail bears on the subject.
#[derive(Debug, Clone, PartialEq)]
pub enum Via {
    /// Reported against this endorsed forwarder, counted against the subject.
    Forwarder(Subject),
    /// The reported host relayed it from this origin.
    RelayedFrom(std::net::IpAddr),
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Category::Endorse(category) => write!(f, "{category:?}"),
            Category::Report {
                category,
                count,
                via,
            } => {
                write!(f, "{category:?} x{count}")?;
                match via {
                    Some(Via::Forwarder(host)) => write!(f, " via forwarder {host}"),
                    Some(Via::RelayedFrom(origin)) => write!(f, " relayed from {origin}"),
                    None => Ok(()),
                }
            }
            Category::Remediate {
                fixed_secs_ago,
                note,
            } => write!(f, "fixed {fixed_secs_ago}s ago: {note}"),
        }
    }
}

impl Serialize for Category {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
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

struct Weighed<'a> {
    id: &'a StatementId,
    statement: &'a SignedStatement,
    signal: Signal,
    trust: f64,
    age_secs: u64,
    /// Seconds since the author first reported the subject (reports only).
    witness_age_secs: u64,
    decay: f64,
    fresh: bool,
    /// A report of relayed mail against an endorsed forwarder: it counts
    /// against the source, so here it is never fresh evidence.
    attributed_elsewhere: bool,
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
    evidence: &SubjectEvidence,
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
    exact.extend(
        evidence
            .relayed
            .iter()
            .filter(|(_, s)| &s.body.subject != subject)
            .filter_map(|s| weigh(s, Signal::Relayed)),
    );
    for w in exact.iter_mut() {
        let first = evidence.first_reported(w.id, w.statement.body.created_at);
        w.witness_age_secs = now.saturating_sub(first);
    }
    if forwarder {
        for w in exact
            .iter_mut()
            .filter(|w| w.weight < 0.0 && relayed(w.statement) && w.signal == Signal::Exact)
        {
            w.weight *= config.forwarder_discount;
            w.attributed_elsewhere = true;
        }
    }
    let witnesses = fresh_witnesses(&exact, trust, config, remediated_at);
    let endorsers = endorsing_witnesses(&exact, trust, config);
    let clock = witnesses.started(config, endorsers);
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
    let neighbours: Vec<Weighed> = evidence
        .netblock
        .iter()
        .filter(|(_, s)| &s.body.subject != subject && matches!(s.body.claim, Claim::Report { .. }))
        .filter_map(|s| weigh(s, Signal::Netblock))
        .collect();
    let mut per_neighbour: FastMap<&Subject, f64> = FastMap::default();
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
    // Only the largest few are shown: select them, then sort just those.
    let by_weight = |a: &&Weighed, b: &&Weighed| {
        b.weight
            .abs()
            .total_cmp(&a.weight.abs())
            .then(a.id.cmp(b.id))
    };
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
        fresh_reporters: clock.map_or(witnesses.window, |c| c.reporters),
        fresh_window_minutes: clock.map_or(config.fresh_window_minutes, |c| c.window_minutes),
        statements,
        explanation,
    }
}

/// Whether a report may count as fresh evidence: a report (exact or
/// attributed through a forwarder) whose author first reported the subject
/// within the fresh window, and not before a trusted remediation.
fn is_fresh_candidate(w: &Weighed, half_life_minutes: f64, remediated_at: Option<u64>) -> bool {
    is_report_candidate(w, remediated_at)
        && (w.witness_age_secs as f64) <= 4.0 * half_life_minutes * 60.0
}

/// Whether a report may count as a witness at all, however old: a report
/// (exact or attributed through a forwarder) not made before a trusted
/// remediation.
fn is_report_candidate(w: &Weighed, remediated_at: Option<u64>) -> bool {
    matches!(w.statement.body.claim, Claim::Report { .. })
        && w.signal != Signal::Netblock
        && !w.attributed_elsewhere
        && remediated_at.is_none_or(|fixed| w.statement.body.created_at >= fixed)
}

/// How far back first reports can still matter to the fast clock: four
/// half-lives (the boost is down to 1/16 by then).
fn fresh_memory_secs(config: &Config) -> f64 {
    4.0 * config.fresh_half_life_minutes * 60.0
}

/// Whether an author weighs enough to be a fresh witness.
fn is_witness(author: &vouch_protocol::NodeKey, trust: &TrustMap, config: &Config) -> bool {
    trust.weight(author) >= config.fresh_witness_share * trust.author_cap()
}

/// New witnesses over each of the fast clock's windows.
#[derive(Debug, Clone, Copy)]
struct FreshWitnesses {
    /// The most whose first reports fall within one `fresh_burst_minutes`.
    burst: usize,
    /// The most within one `fresh_window_minutes`.
    window: usize,
    /// All within the last `fresh_steady_hours`.
    steady: usize,
}

/// The trigger that started the fast clock.
#[derive(Debug, Clone, Copy)]
struct FreshClock {
    /// The new witnesses that started it.
    reporters: usize,
    /// The window their first reports fall within, minutes.
    window_minutes: f64,
    /// How fast their boost fades: a burst or an hour's reports with the
    /// fresh half-life; a steady stream over its whole window (the boost
    /// halves four times within it).
    half_life_minutes: f64,
}

impl FreshWitnesses {
    /// The trigger that starts the fast clock, if one does: each needs its
    /// count of new witnesses beyond the witnesses endorsing the subject.
    fn started(self, config: &Config, endorsers: usize) -> Option<FreshClock> {
        let fresh = config.fresh_half_life_minutes;
        let steady_minutes = config.fresh_steady_hours * 60.0;
        [
            (
                self.window,
                config.fresh_min_reporters,
                config.fresh_window_minutes,
                fresh,
            ),
            (
                self.burst,
                config.fresh_burst_reporters,
                config.fresh_burst_minutes,
                fresh,
            ),
            (
                self.steady,
                config.fresh_steady_reporters,
                steady_minutes,
                fresh.max(steady_minutes / 4.0),
            ),
        ]
        .into_iter()
        .find(|&(count, needed, _, _)| count >= needed + endorsers)
        .map(
            |(reporters, _, window_minutes, half_life_minutes)| FreshClock {
                reporters,
                window_minutes,
                half_life_minutes,
            },
        )
    }
}

/// Distinct new witnesses among the weighed statements: authors of first
/// reports within the fresh memory (or the steady window, when longer)
/// who weigh at least `fresh_witness_share` of the per-author cap, counted
/// over each of the fast clock's windows.
fn fresh_witnesses(
    weighed: &[Weighed],
    trust: &TrustMap,
    config: &Config,
    remediated_at: Option<u64>,
) -> FreshWitnesses {
    let memory = fresh_memory_secs(config);
    let steady = config.fresh_steady_hours * 3600.0;
    // (first report age, author) of every witness, one per author.
    let mut firsts: Vec<(u64, &vouch_protocol::NodeKey)> = weighed
        .iter()
        .filter(|w| is_report_candidate(w, remediated_at))
        .filter(|w| (w.witness_age_secs as f64) <= memory.max(steady))
        .filter(|w| is_witness(&w.statement.author, trust, config))
        .map(|w| (w.witness_age_secs, &w.statement.author))
        .collect();
    firsts.sort_unstable_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(&b.0)));
    firsts.dedup_by(|a, b| a.1 == b.1);
    firsts.sort_unstable();
    let steady = firsts.partition_point(|(age, _)| *age as f64 <= steady);
    firsts.truncate(firsts.partition_point(|(age, _)| *age as f64 <= memory));
    let minutes = |m: f64| (m * 60.0) as u64;
    FreshWitnesses {
        burst: most_within(&firsts, minutes(config.fresh_burst_minutes)),
        window: most_within(&firsts, minutes(config.fresh_window_minutes)),
        steady,
    }
}

/// The most first reports (sorted by age) within one window of `window`
/// seconds.
fn most_within(firsts: &[(u64, &vouch_protocol::NodeKey)], window: u64) -> usize {
    let mut best = 0;
    let mut start = 0;
    // Sorted by age: the window is [start, end], `end` the oldest in it.
    for (end, (oldest, _)) in firsts.iter().enumerate() {
        while firsts
            .get(start)
            .is_some_and(|(youngest, _)| oldest - youngest > window)
        {
            start += 1;
        }
        best = best.max(end + 1 - start);
    }
    best
}

/// Distinct witnesses endorsing the subject: each one holds back one fresh
/// report, so a sender trusted operators vouch for is not blocked on a
/// handful of mistaken reports within the hour.
fn endorsing_witnesses(weighed: &[Weighed], trust: &TrustMap, config: &Config) -> usize {
    let mut authors: Vec<&vouch_protocol::NodeKey> = weighed
        .iter()
        .filter(|w| matches!(w.statement.body.claim, Claim::Endorse { .. }))
        .filter(|w| w.signal == Signal::Exact && is_witness(&w.statement.author, trust, config))
        .map(|w| &w.statement.author)
        .collect();
    authors.sort_unstable();
    authors.dedup();
    authors.len()
}

/// Raises a fresh witness's report to its fresh weight: `fresh_boost`
/// times its author's weight, at most `max_author_weight`, halving every
/// `fresh_half_life_minutes`; never below its ordinary weight.
fn boost_if_fresh(
    w: &mut Weighed,
    trust: &TrustMap,
    config: &Config,
    remediated_at: Option<u64>,
    half_life_minutes: f64,
) {
    if !is_fresh_candidate(w, half_life_minutes, remediated_at)
        || !is_witness(&w.statement.author, trust, config)
    {
        return;
    }
    let author = trust.weight(&w.statement.author);
    let fresh = (config.fresh_boost * author).min(config.max_author_weight)
        * decay(w.witness_age_secs, half_life_minutes * 60.0);
    if fresh > w.weight.abs() {
        w.weight = -fresh;
        w.fresh = true;
    }
}

/// Short of the trigger, new witnesses within the window defer: their
/// fresh weight counts, but all of it together no further than the
/// suspect threshold. One trusted new report tempfails a new source's mail
/// (a legitimate sender retries and gets through once it fades); only
/// several independent ones block.
fn defer_on_fresh(
    weighed: &mut [Weighed],
    trust: &TrustMap,
    config: &Config,
    remediated_at: Option<u64>,
) {
    let window = config.fresh_window_minutes * 60.0;
    let ordinary: f64 = weighed
        .iter()
        .filter(|w| w.weight < 0.0)
        .map(|w| -w.weight)
        .sum();
    let mut raised = Vec::new();
    for (i, w) in weighed.iter_mut().enumerate() {
        let before = w.weight;
        if (w.witness_age_secs as f64) <= window {
            boost_if_fresh(
                w,
                trust,
                config,
                remediated_at,
                config.fresh_half_life_minutes,
            );
        }
        if w.fresh {
            raised.push((i, before));
        }
    }
    let extra: f64 = raised
        .iter()
        .filter_map(|&(i, before)| weighed.get(i).map(|w| before - w.weight))
        .sum();
    let room = (config.thresholds.suspect.abs() - ordinary).max(0.0);
    if extra > room && extra > 0.0 {
        let keep = room / extra;
        for &(i, before) in &raised {
            if let Some(w) = weighed.get_mut(i) {
                w.weight = before + (w.weight - before) * keep;
            }
        }
    }
}

/// Scales down the reports of each branch of my web (the authors first
/// reached through one operator I vouch for directly) so that together
/// they weigh at most one voice (`max_author_weight`): a region behind a
/// single vouch — a sybil clique, a ring of colluders — never blocks alone.
fn cap_branches(weighed: &mut [Weighed], trust: &TrustMap, config: &Config) {
    cap_gates(weighed, trust, config);
    let mut mass: FastMap<&vouch_protocol::NodeKey, f64> = FastMap::default();
    for w in weighed.iter().filter(|w| w.weight < 0.0) {
        if let Some(branch) = trust.branch(&w.statement.author) {
            *mass.entry(branch).or_default() -= w.weight;
        }
    }
    let scale: FastMap<vouch_protocol::NodeKey, f64> = mass
        .into_iter()
        .filter(|(_, m)| *m > config.max_author_weight)
        .map(|(b, m)| (*b, config.max_author_weight / m))
        .collect();
    if scale.is_empty() {
        return;
    }
    for w in weighed.iter_mut().filter(|w| w.weight < 0.0) {
        if let Some(k) = trust.branch(&w.statement.author).and_then(|b| scale.get(b)) {
            w.weight *= k;
        }
    }
}

/// Scales down the reports of the authors behind each weak vouch so that
/// together they weigh at most the vouch's weight in percent of one voice.
fn cap_gates(weighed: &mut [Weighed], trust: &TrustMap, config: &Config) {
    let mut mass: FastMap<&vouch_protocol::NodeKey, (f64, u8)> = FastMap::default();
    for w in weighed.iter().filter(|w| w.weight < 0.0) {
        if let Some((gate, weight)) = trust.gate(&w.statement.author) {
            mass.entry(gate).or_insert((0.0, weight)).0 -= w.weight;
        }
    }
    let scale: FastMap<vouch_protocol::NodeKey, f64> = mass
        .into_iter()
        .filter_map(|(gate, (m, weight))| {
            let cap = config.max_author_weight * f64::from(weight) / 100.0;
            (m > cap).then(|| (*gate, cap / m))
        })
        .collect();
    for w in weighed.iter_mut().filter(|w| w.weight < 0.0) {
        if let Some(k) = trust
            .gate(&w.statement.author)
            .and_then(|(gate, _)| scale.get(gate))
        {
            w.weight *= k;
        }
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
        witness_age_secs: age_secs,
        decay,
        fresh: false,
        attributed_elsewhere: false,
        weight: sign * trust.weight(&statement.author) * decay,
    })
}

fn remediation_notices<'a>(
    about: &'a [Entry],
    trust: &'a TrustMap,
    now: u64,
    config: &'a Config,
) -> impl Iterator<Item = Contribution> + 'a {
    // Only notices that count (by authors trusted enough to move decay),
    // and a few: anyone can publish one, and they must not crowd out the
    // evidence.
    about
        .iter()
        .filter(move |(_, s)| trust.get(&s.author) >= config.remediation_min_trust)
        .filter_map(move |(id, s)| match &s.body.claim {
            Claim::Remediate {
                note,
                remediated_at,
            } if s.body.expires_at > now => Some(Contribution {
                id: id.to_string(),
                author: s.author.to_string(),
                author_trust: trust.get(&s.author),
                kind: Kind::Remediate,
                category: Category::Remediate {
                    fixed_secs_ago: now.saturating_sub(*remediated_at),
                    note: note.clone(),
                },
                subject: s.body.subject.to_string(),
                signal: Signal::Exact,
                age_secs: now.saturating_sub(s.body.created_at),
                decay: 1.0,
                fresh: false,
                weight: 0.0,
                source: None,
                author_name: None,
            }),
            _ => None,
        })
        .take(MAX_REMEDIATION_NOTICES)
}

/// Most remediation notices an explanation shows.
const MAX_REMEDIATION_NOTICES: usize = 3;

fn contribution(w: &Weighed) -> Option<Contribution> {
    let category = match &w.statement.body.claim {
        Claim::Endorse { category } => Category::Endorse(*category),
        Claim::Report {
            category,
            count,
            evidence,
        } => Category::Report {
            category: *category,
            count: *count,
            via: match (w.signal, evidence.relay_chain.first()) {
                (Signal::Relayed, _) => Some(Via::Forwarder(w.statement.body.subject.clone())),
                (_, Some(origin)) => Some(Via::RelayedFrom(*origin)),
                _ => None,
            },
        },
        // Only endorsements and reports are weighed.
        _ => return None,
    };
    Some(Contribution {
        id: w.id.to_string(),
        author: w.statement.author.to_string(),
        author_trust: w.trust,
        kind: w.statement.body.claim.kind(),
        category,
        subject: w.statement.body.subject.to_string(),
        signal: w.signal,
        age_secs: w.age_secs,
        decay: w.decay,
        fresh: w.fresh,
        weight: w.weight,
        source: None,
        author_name: None,
    })
}
