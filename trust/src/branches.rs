//! Caps on what one part of my web can say: the reports of every branch
//! (the authors first reached through one operator I vouch for) weigh at
//! most one voice together, and those behind a weak vouch at most that
//! vouch's share of one. A sybil clique or a ring of colluders behind one
//! edge never blocks alone.

use crate::rank::{Place, TrustMap};
use crate::score::Weighed;
use crate::{Config, FastMap};

/// Scales down the reports of each branch of my web (the authors first
/// reached through one operator I vouch for directly) so that together
/// they weigh at most one voice (`max_author_weight`): a region behind a
/// single vouch — a sybil clique, a ring of colluders — never blocks alone.
pub(crate) fn cap_branches(weighed: &mut [Weighed], trust: &TrustMap, config: &Config) {
    cap_gates(weighed, trust, config);
    let branch = |w: &Weighed| w.place.and_then(|place| trust.branch_at(place));
    let mut mass: FastMap<Place, f64> = FastMap::default();
    for w in weighed.iter().filter(|w| w.weight < 0.0) {
        if let Some(branch) = branch(w) {
            *mass.entry(branch).or_default() -= w.weight;
        }
    }
    mass.retain(|_, m| *m > config.max_author_weight);
    if mass.is_empty() {
        return;
    }
    for w in weighed.iter_mut().filter(|w| w.weight < 0.0) {
        if let Some(m) = branch(w).and_then(|b| mass.get(&b)) {
            w.weight *= config.max_author_weight / m;
        }
    }
}

/// Scales down the reports of the authors behind each weak vouch so that
/// together they weigh at most the vouch's weight in percent of one voice.
fn cap_gates(weighed: &mut [Weighed], trust: &TrustMap, config: &Config) {
    let gate = |w: &Weighed| w.place.and_then(|place| trust.gate_at(place));
    let mut mass: FastMap<Place, (f64, u8)> = FastMap::default();
    for w in weighed.iter().filter(|w| w.weight < 0.0) {
        if let Some((gate, weight)) = gate(w) {
            mass.entry(gate).or_insert((0.0, weight)).0 -= w.weight;
        }
    }
    let scale: FastMap<Place, f64> = mass
        .into_iter()
        .filter_map(|(gate, (m, weight))| {
            let cap = config.max_author_weight * f64::from(weight) / 100.0;
            (m > cap).then(|| (gate, cap / m))
        })
        .collect();
    if scale.is_empty() {
        return;
    }
    for w in weighed.iter_mut().filter(|w| w.weight < 0.0) {
        if let Some(k) = gate(w).and_then(|(gate, _)| scale.get(&gate)) {
            w.weight *= k;
        }
    }
}
