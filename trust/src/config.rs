//! The engine's settings (the `[trust]` table) and their checks.

use serde::{Deserialize, Serialize};

use crate::rank::RankParams;

/// A setting outside what makes sense: which, and what it must be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting} must {rule}")]
pub struct InvalidSetting {
    /// The setting (or settings), as named in the configuration file.
    pub setting: &'static str,
    /// What it must be ("be at least 1").
    pub rule: &'static str,
}

impl InvalidSetting {
    /// `setting` must `rule`.
    pub fn new(setting: &'static str, rule: &'static str) -> Self {
        InvalidSetting { setting, rule }
    }
}

/// Scoring thresholds on the score (endorsement minus report mass).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// At or below: block.
    pub block: f64,
    /// At or below (and above `block`): suspect.
    pub suspect: f64,
    /// At or above: allow.
    pub allow: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        // No author alone, this node included, weighs more than
        // `max_author_weight` (0.075), so one fresh report makes a sender
        // suspect, and a block needs a second voice in a small web or a
        // broad consensus in a large one. One endorsement of my own allows.
        Thresholds {
            block: -0.13,
            suspect: -0.04,
            allow: 0.04,
        }
    }
}

/// Trust and scoring settings.
///
/// A score adds up trusted, decayed endorsements minus reports, each
/// author's weight being its trust, capped (see [`TrustMap::weight`]), on
/// two clocks: fresh first reports by several trusted operators weigh a
/// full voice each for a few hours (the fast clock, `fresh_*`), and every
/// report weighs its ordinary weight, halving every
/// `report_half_life_hours` (the slow clock). In a large web everyone but
/// this node weighs about 2.5 in all, so the slow clock blocks (0.13) when
/// about 5% of my web, decay-weighted, reports the sender, and the fast
/// clock when four trusted operators first report it within an hour.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Probability that the trust walk restarts at the local node at each
    /// step; higher keeps trust closer to home (more attenuation per hop).
    pub restart_probability: f64,
    /// Longest trust walk, in steps: authors further than this from the
    /// local node get no trust, and a sybil region cannot accumulate what
    /// enters it through a few attack edges.
    pub walk_steps: u32,
    /// Milliseconds between checks for a changed trust graph.
    pub recompute_interval_ms: u64,
    /// Most weight any one author's statement carries in a score, the
    /// local node's own included: no single author, however central or
    /// mistaken, can block a sender alone.
    pub max_author_weight: f64,
    /// Each other author weighs at most this multiple of my web's
    /// trust-weighted mean trust (Σ trust² / Σ trust): in a large web the nearest peers count like a few
    /// of the crowd, not like a crowd of their own.
    pub author_cap_of_mean: f64,
    /// Authors trusted less than this are ignored outright.
    pub min_author_trust: f64,
    /// Half-life of a report's ordinary weight, in hours: a fixed server
    /// is accepted again within a day without a remediation notice (a
    /// SpamCop listing lapses a day after the last report).
    pub report_half_life_hours: f64,
    /// Half-life of an endorsement's weight, in days.
    pub endorse_half_life_days: f64,
    /// Distinct reported neighbours in a /24 (or /48) before the netblock
    /// signal counts against the other addresses in it.
    pub netblock_min_reported_ips: usize,
    /// Weight of the netblock signal relative to the mean reported
    /// neighbour's report mass (≤ 1). The signal never goes beyond the
    /// suspect threshold: a neighbour is never blocked for its neighbours.
    pub netblock_weight: f64,
    /// Trusted "forwarder" endorsement mass a host needs before reports of
    /// mail it relayed count against the source instead of against it.
    pub forwarder_min_endorsement: f64,
    /// Share of a relayed report that still counts against an endorsed forwarder.
    pub forwarder_discount: f64,
    /// Trust a remediation notice's author needs for it to speed up decay.
    pub remediation_min_trust: f64,
    /// Half-life, in hours, of reports made before a trusted remediation,
    /// counted from the remediation on.
    pub remediated_half_life_hours: f64,
    /// Fresh evidence, the fast clock: once this many new witnesses
    /// (authors weighing at least `fresh_witness_share` of the per-author
    /// cap, whose first reports on the subject fall within one
    /// `fresh_window_minutes`) more than there are witnesses endorsing the
    /// subject have reported it, each one's report
    /// weighs up to `fresh_boost` times its author's weight (never more
    /// than `max_author_weight`), fading with `fresh_half_life_minutes` to
    /// its ordinary weight. A spam source is usually gone within hours:
    /// independent fresh reports must act while it sends. A report that
    /// only renews the author's earlier one is not fresh evidence, so a
    /// few insiders reporting a server day after day never start the clock.
    pub fresh_min_reporters: usize,
    /// Short of `fresh_min_reporters`, this many new witnesses (more than
    /// the witnesses endorsing the subject) within the last window defer
    /// it: their fresh weight counts up to the suspect threshold.
    pub fresh_defer_reporters: usize,
    /// This many new witnesses within one `fresh_burst_minutes` (more
    /// than the witnesses endorsing the subject) also start the fast
    /// clock: spam comes in bursts, and a burst of first reports is what
    /// a few colluders reporting at random seldom make.
    pub fresh_burst_reporters: usize,
    /// Minutes within which `fresh_burst_reporters` count.
    pub fresh_burst_minutes: f64,
    /// This many new witnesses whose first reports fall within the last
    /// `fresh_steady_hours` (more than the witnesses endorsing the
    /// subject) also start the fast clock, and hold it over that window:
    /// a source that sends for a day or more is reported steadily but
    /// seldom by four operators within one hour, and over hours a steady
    /// stream of new witnesses stands out from a few colluders' trickle.
    pub fresh_steady_reporters: usize,
    /// Hours over which `fresh_steady_reporters` count.
    pub fresh_steady_hours: f64,
    /// This many distinct witnesses (more than the witnesses endorsing
    /// the subject), however far apart their first reports, also start
    /// the fast clock, and hold it with a slower fade (`fresh_hold_hours`):
    /// a source that sends for days at a few messages an hour never gets
    /// four new witnesses within an hour, but is reported by ever more
    /// operators, each one new; while new ones keep coming it stays
    /// blocked, and the block lapses within hours of the last. Colluders
    /// fewer than this never reach it, however often they report.
    pub fresh_hold_reporters: usize,
    /// Hours over which a held clock's boost fades (it halves four times
    /// within them).
    pub fresh_hold_hours: f64,
    /// This many distinct witnesses (more than the witnesses endorsing
    /// the subject), however far apart their first reports, also start
    /// the fast clock, held as `fresh_hold_reporters` holds it, when they
    /// report independently of each other: pairs of them (the most recent
    /// 16) share on average no more other reported subjects than
    /// `fresh_independent_max_ratio` times, plus
    /// `fresh_independent_max_excess`, what strangers would share: the
    /// lesser of what two reporters taken at random share and what
    /// reporters of their volume would share by chance, given how
    /// everyone's reports fall. A source that sends for days is
    /// reported by whoever it reached, strangers to each other's reports;
    /// colluders slandering a few servers are the same few authors on
    /// each, and share the others.
    pub fresh_independent_reporters: usize,
    /// See `fresh_independent_reporters`.
    pub fresh_independent_max_ratio: f64,
    /// See `fresh_independent_reporters`.
    pub fresh_independent_max_excess: f64,
    /// Minutes within which reports count as fresh witnesses.
    pub fresh_window_minutes: f64,
    /// How much more a fresh report weighs than its author's ordinary weight.
    pub fresh_boost: f64,
    /// Half-life of the fresh boost, in minutes.
    pub fresh_half_life_minutes: f64,
    /// Least weight, as a share of the per-author cap, an author needs to
    /// count as a fresh witness: dust-weight keys (a sybil region's) never
    /// start the fast clock however many there are.
    pub fresh_witness_share: f64,
    /// Contributions listed in an explanation.
    pub max_explanation: usize,
    /// Verdict thresholds.
    pub thresholds: Thresholds,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            restart_probability: 0.15,
            walk_steps: 8,
            recompute_interval_ms: 500,
            max_author_weight: 0.075,
            author_cap_of_mean: 0.25,
            min_author_trust: 1e-5,
            report_half_life_hours: 12.0,
            endorse_half_life_days: 90.0,
            netblock_min_reported_ips: 3,
            netblock_weight: 0.5,
            forwarder_min_endorsement: 1e-5,
            forwarder_discount: 0.1,
            remediation_min_trust: 4e-4,
            remediated_half_life_hours: 1.0,
            fresh_min_reporters: 4,
            fresh_defer_reporters: 2,
            fresh_burst_reporters: 3,
            fresh_burst_minutes: 20.0,
            fresh_steady_reporters: 12,
            fresh_steady_hours: 12.0,
            fresh_hold_reporters: 40,
            fresh_hold_hours: 24.0,
            fresh_independent_reporters: 14,
            fresh_independent_max_ratio: 1.5,
            fresh_independent_max_excess: 0.2,
            fresh_window_minutes: 60.0,
            fresh_boost: 100.0,
            fresh_half_life_minutes: 120.0,
            fresh_witness_share: 0.02,
            max_explanation: 5,
            thresholds: Thresholds::default(),
        }
    }
}

impl Config {
    /// Checks the settings make sense; the error names the setting.
    pub fn check(&self) -> Result<(), InvalidSetting> {
        let t = &self.thresholds;
        if !(0.01..=0.99).contains(&self.restart_probability) {
            return Err(InvalidSetting::new(
                "trust.restart_probability",
                "be within 0.01..=0.99",
            ));
        }
        if self.walk_steps == 0 || self.recompute_interval_ms == 0 {
            return Err(InvalidSetting::new(
                "trust.walk_steps and trust.recompute_interval_ms",
                "be at least 1",
            ));
        }
        let positive = |x: f64| x > 0.0;
        if !positive(self.report_half_life_hours) || !positive(self.endorse_half_life_days) {
            return Err(InvalidSetting::new("trust half-lives", "be positive"));
        }
        if !(self.max_author_weight > 0.0 && self.max_author_weight <= 1.0) {
            return Err(InvalidSetting::new(
                "trust.max_author_weight",
                "be within 0 (excluded) and 1",
            ));
        }
        if !(self.author_cap_of_mean > 0.0 && self.author_cap_of_mean.is_finite()) {
            return Err(InvalidSetting::new(
                "trust.author_cap_of_mean",
                "be positive",
            ));
        }
        if !(0.0..=1.0).contains(&self.netblock_weight) {
            return Err(InvalidSetting::new(
                "trust.netblock_weight",
                "be within 0..=1",
            ));
        }
        if !(0.0..=1.0).contains(&self.forwarder_discount) {
            return Err(InvalidSetting::new(
                "trust.forwarder_discount",
                "be within 0..=1",
            ));
        }
        if !positive(self.remediated_half_life_hours) {
            return Err(InvalidSetting::new(
                "trust.remediated_half_life_hours",
                "be positive",
            ));
        }
        let least = self
            .fresh_min_reporters
            .min(self.fresh_burst_reporters)
            .min(self.fresh_steady_reporters)
            .min(self.fresh_hold_reporters)
            .min(self.fresh_independent_reporters);
        if self.fresh_defer_reporters == 0 || least < self.fresh_defer_reporters {
            return Err(InvalidSetting::new(
                "trust.fresh_defer_reporters",
                "be at least 1 and at most \
                 fresh_min_reporters, fresh_burst_reporters, fresh_steady_reporters, \
                 fresh_hold_reporters and fresh_independent_reporters",
            ));
        }
        if ![
            self.fresh_window_minutes,
            self.fresh_burst_minutes,
            self.fresh_steady_hours,
            self.fresh_hold_hours,
            self.fresh_half_life_minutes,
        ]
        .into_iter()
        .all(positive)
        {
            return Err(InvalidSetting::new(
                "trust.fresh_window_minutes, fresh_burst_minutes, fresh_steady_hours, \
                 fresh_hold_hours and fresh_half_life_minutes",
                "be positive",
            ));
        }
        if !(self.fresh_independent_max_ratio >= 0.0 && self.fresh_independent_max_excess >= 0.0) {
            return Err(InvalidSetting::new(
                "trust.fresh_independent_max_ratio and fresh_independent_max_excess",
                "be at least 0",
            ));
        }
        if !(self.fresh_boost >= 1.0 && self.fresh_boost.is_finite()) {
            return Err(InvalidSetting::new("trust.fresh_boost", "be at least 1"));
        }
        if !(0.0..=1.0).contains(&self.fresh_witness_share) {
            return Err(InvalidSetting::new(
                "trust.fresh_witness_share",
                "be within 0..=1",
            ));
        }
        if !(t.block < t.suspect && t.suspect < t.allow) {
            return Err(InvalidSetting::new(
                "trust.thresholds",
                "satisfy block < suspect < allow",
            ));
        }
        Ok(())
    }

    /// The walk parameters, for callers that compute trust maps themselves
    /// (the simulator).
    pub fn rank_params(&self) -> RankParams {
        RankParams {
            restart_probability: self.restart_probability,
            walk_steps: self.walk_steps,
            max_author_weight: self.max_author_weight,
            author_cap_of_mean: self.author_cap_of_mean,
        }
    }
}
