//! Caps on what one part of my web can say: the reports of every branch
//! (the authors first reached through one operator I vouch for) weigh at
//! most one voice together, and those behind a weak vouch at most that
//! vouch's share of one. A sybil clique or a ring of colluders behind one
//! edge never blocks alone.

use crate::rank::TrustMap;
use crate::score::Weighed;
use crate::{Config, FastMap};

/// Scales down the reports of each branch of my web (the authors first
/// reached through one operator I vouch for directly) so that together
/// they weigh at most one voice (`max_author_weight`): a region behind a
/// single vouch — a sybil clique, a ring of colluders — never blocks alone.
pub(crate) fn cap_branches(weighed: &mut [Weighed], trust: &TrustMap, config: &Config) {
    cap_gates(weighed, trust, config);
    let mut mass: FastMap<&vouch_protocol::NodeKey, f64> = FastMap::default();
    for w in weighed.iter().filter(|w| w.weight < 0.0) {
        if let Some(branch) = trust.branch(&w.said.author) {
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
        if let Some(k) = trust.branch(&w.said.author).and_then(|b| scale.get(b)) {
            w.weight *= k;
        }
    }
}

/// Scales down the reports of the authors behind each weak vouch so that
/// together they weigh at most the vouch's weight in percent of one voice.
fn cap_gates(weighed: &mut [Weighed], trust: &TrustMap, config: &Config) {
    let mut mass: FastMap<&vouch_protocol::NodeKey, (f64, u8)> = FastMap::default();
    for w in weighed.iter().filter(|w| w.weight < 0.0) {
        if let Some((gate, weight)) = trust.gate(&w.said.author) {
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
            .gate(&w.said.author)
            .and_then(|(gate, _)| scale.get(gate))
        {
            w.weight *= k;
        }
    }
}
