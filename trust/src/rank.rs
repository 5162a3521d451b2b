//! Personalised trust: a random walk with restart over the trust graph.
//!
//! The walk starts at the local node. At every step it stops (and a new one
//! starts at the local node) with probability `restart_probability`; otherwise it follows an edge
//! of the current node with probability weight/max(100, sum of its weights),
//! so an operator who vouches for many peers splits its trust between them,
//! and one who vouches weakly keeps the rest at home. Trust that has nowhere
//! to go (dangling nodes, unspent weight) returns to the local node.
//!
//! An author's trust is its visit frequency relative to the local node's
//! (the local node itself counts 1). Trust my peers do not pass on (they
//! vouch weakly, or for nobody) comes back to me, so a small or weakly
//! vouched web stays small rather than inflating whoever is in it. Nodes
//! nobody in my web reaches get exactly 0, and a region reachable only
//! through a few attack edges gets at most what flows through those edges,
//! whatever its size.

use crate::FastMap;

use vouch_protocol::NodeKey;

use crate::graph::TrustGraph;

/// Vouches weaker than this (out of 100) are weak: what stands behind one
/// is capped together (see [`TrustMap::gate`]).
pub const WEAK_VOUCH: u8 = 50;

/// Parameters of the walk.
#[derive(Debug, Clone, Copy)]
pub struct RankParams {
    /// Probability of jumping back to the local node at each step.
    pub restart_probability: f64,
    /// Longest walk, in steps: trust reaches at most this far.
    pub walk_steps: u32,
    /// Weight of the local node's own statements, and the most any author
    /// weighs in a score.
    pub max_author_weight: f64,
    /// Each other author weighs at most this multiple of the web's
    /// trust-weighted mean trust (see [`TrustMap::weight`]).
    pub author_cap_of_mean: f64,
}

/// How much the local node trusts each author (itself at 1), and how much
/// each author's statements weigh in a score.
#[derive(Debug, Clone, Default)]
pub struct TrustMap {
    trust: FastMap<NodeKey, f64>,
    /// The direct peer each author is first reached through (breadth
    /// first from the local node).
    branch: FastMap<NodeKey, NodeKey>,
    /// For authors first reached across a weak vouch: the node that vouch
    /// names, and its weight (the weakest such vouch on the way).
    gate: FastMap<NodeKey, (NodeKey, u8)>,
    root: Option<NodeKey>,
    own_weight: f64,
    author_cap: f64,
    iterations: u32,
}

impl TrustMap {
    /// Trust in `author`; 0 for authors outside my web of trust.
    pub fn get(&self, author: &NodeKey) -> f64 {
        self.trust.get(author).copied().unwrap_or(0.0)
    }

    /// The weight of `author`'s statements in a score: its trust, capped.
    ///
    /// The cap is the smaller of `max_author_weight` and a multiple of the
    /// web's trust-weighted mean trust (Σ trust² / Σ trust: the trust of the
    /// author an average unit of trust sits on). In a small web every peer
    /// holds a large share and the cap is `max_author_weight`, so a few
    /// voices can block; in a large one the few closest peers are flattened
    /// towards the crowd, so a
    /// verdict rests on many voices and a handful of nearby liars (or
    /// mistaken peers) cannot swing it. The local node's own statements
    /// weigh `max_author_weight`: one voice, never a verdict on its own.
    pub fn weight(&self, author: &NodeKey) -> f64 {
        if self.root.as_ref() == Some(author) {
            self.own_weight
        } else {
            self.get(author).min(self.author_cap)
        }
    }

    /// The operator I vouch for directly through whom `author` is first
    /// reached (itself, for my direct peers); `None` for me and for
    /// authors outside my web. Reports are capped per branch, so a region
    /// behind any one of my vouches — a sybil clique a peer's peer let in —
    /// weighs at most one voice, however many keys it has.
    pub fn branch(&self, author: &NodeKey) -> Option<&NodeKey> {
        self.branch.get(author)
    }

    /// The weak vouch (weight below [`WEAK_VOUCH`], made by someone other
    /// than me) through which `author` is first reached, as the node it names and its weight. Everything
    /// behind a weak vouch of weight w weighs at most w% of one voice: an
    /// operator who vouches weakly passes on a weak voice, however many
    /// keys stand behind it.
    pub fn gate(&self, author: &NodeKey) -> Option<(&NodeKey, u8)> {
        self.gate.get(author).map(|(node, w)| (node, *w))
    }

    /// The most any author other than the local node weighs (see [`TrustMap::weight`]).
    pub fn author_cap(&self) -> f64 {
        self.author_cap
    }

    /// Whether this map trusts an author `other` does not (the web grew).
    pub fn reaches_beyond(&self, other: &TrustMap) -> bool {
        self.trust
            .keys()
            .any(|author| !other.trust.contains_key(author))
    }

    /// Number of authors with non-zero trust (including the local node).
    pub fn len(&self) -> usize {
        self.trust.len()
    }

    /// True when not even the local node is in the map (never after a compute).
    pub fn is_empty(&self) -> bool {
        self.trust.is_empty()
    }

    /// Power iterations the last computation took.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// All authors with their trust, highest first.
    pub fn ranked(&self) -> Vec<(NodeKey, f64)> {
        let mut all: Vec<_> = self.trust.iter().map(|(k, t)| (*k, *t)).collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        all
    }
}

/// Computes personalised trust from `root`'s point of view.
pub fn personalised_rank(graph: &TrustGraph, root: NodeKey, params: RankParams) -> TrustMap {
    // Index the nodes reachable from the root, breadth first (nothing else
    // can get trust), and note the branch each is first reached through.
    let mut index: FastMap<NodeKey, usize> = FastMap::default();
    index.insert(root, 0);
    let mut branch: FastMap<NodeKey, NodeKey> = FastMap::default();
    let mut gate: FastMap<NodeKey, (NodeKey, u8)> = FastMap::default();
    let mut nodes = vec![root];
    let mut cursor = 0;
    while let Some(from) = nodes.get(cursor).copied() {
        let mut next: Vec<(&NodeKey, u8)> = graph.edges_from(&from).collect();
        next.sort_unstable();
        for (to, weight) in next {
            if !index.contains_key(to) {
                index.insert(*to, nodes.len());
                nodes.push(*to);
                let via = if from == root {
                    *to
                } else {
                    branch.get(&from).copied().unwrap_or(*to)
                };
                branch.insert(*to, via);
                let inherited = gate.get(&from).copied();
                // My own vouches weigh what I chose; a weak vouch further out
                // caps what stands behind it.
                let here = (from != root && weight < WEAK_VOUCH).then_some((*to, weight));
                let weakest = match (inherited, here) {
                    (Some(a), Some(b)) => Some(if b.1 <= a.1 { b } else { a }),
                    (a, b) => a.or(b),
                };
                if let Some(weakest) = weakest {
                    gate.insert(*to, weakest);
                }
            }
        }
        cursor += 1;
    }

    // Transition lists: (target index, probability); the rest returns home.
    let transitions: Vec<Vec<(usize, f64)>> = nodes
        .iter()
        .map(|from| {
            let total: f64 = graph.edges_from(from).map(|(_, w)| f64::from(w)).sum();
            let denominator = total.max(100.0);
            let mut edges: Vec<(usize, f64)> = graph
                .edges_from(from)
                .filter_map(|(to, w)| index.get(to).map(|&i| (i, f64::from(w) / denominator)))
                .collect();
            // The graph's maps iterate in a random order per process; floating
            // sums must not, or the same graph gives different trust.
            edges.sort_unstable_by_key(|&(i, _)| i);
            edges
        })
        .collect();

    // Walks of at most `walk_steps` steps (early termination, as in
    // SybilRank): at each step a walk stops where it is with the restart
    // probability, otherwise follows an edge; trust with nowhere to go
    // returns home and walks on. Walks still moving after the last step are
    // dropped, so trust that enters a region through a few edges cannot
    // circulate there and pile up.
    let alpha = params.restart_probability.clamp(0.01, 0.99);
    let n = nodes.len();
    let mut current = vec![0.0; n];
    current[0] = 1.0;
    let mut visits = vec![0.0; n];
    let mut next = vec![0.0; n];
    let mut iterations = 0;
    for _ in 0..params.walk_steps {
        iterations += 1;
        next.iter_mut().for_each(|x| *x = 0.0);
        for (from, edges) in transitions.iter().enumerate() {
            let here = current[from];
            if here == 0.0 {
                continue;
            }
            visits[from] += alpha * here;
            let moving = (1.0 - alpha) * here;
            let mut spent = 0.0;
            for &(to, p) in edges {
                next[to] += moving * p;
                spent += p;
            }
            next[0] += moving * (1.0 - spent).max(0.0);
        }
        std::mem::swap(&mut current, &mut next);
    }

    let home = visits[0].max(f64::MIN_POSITIVE);
    let trust: FastMap<NodeKey, f64> = nodes
        .iter()
        .zip(&visits)
        .filter(|(node, v)| **node == root || **v > 0.0)
        .map(|(node, v)| (*node, if *node == root { 1.0 } else { v / home }))
        .collect();
    // Summed in the walk's node order, not the map's (random per process).
    let (sum, squares) = nodes
        .iter()
        .zip(&visits)
        .filter(|(node, v)| **node != root && **v > 0.0)
        .map(|(_, v)| v / home)
        .fold((0.0, 0.0), |(sum, squares), t| (sum + t, squares + t * t));
    let mean_trust = if sum > 0.0 { squares / sum } else { 0.0 };
    branch.retain(|node, _| trust.contains_key(node));
    gate.retain(|node, _| trust.contains_key(node));
    TrustMap {
        trust,
        branch,
        gate,
        root: Some(root),
        own_weight: params.max_author_weight,
        author_cap: (params.author_cap_of_mean * mean_trust).min(params.max_author_weight),
        iterations,
    }
}
