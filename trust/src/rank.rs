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
///
/// Kept as arrays in the walk's order behind one key index: a lookup is
/// one hash probe, and a recomputation builds one map, not three.
#[derive(Debug, Clone, Default)]
pub struct TrustMap {
    /// Each author the walk reached (trust > 0), the local node first at 0.
    index: FastMap<NodeKey, u32>,
    nodes: Vec<NodeKey>,
    trust: Vec<f64>,
    /// The index of the direct peer each author is first reached through
    /// (breadth first from the local node); the local node's own is 0.
    branch: Vec<u32>,
    /// For authors first reached across a weak vouch: the index of the
    /// node that vouch names, and its weight (the weakest on the way).
    gate: Vec<Option<(u32, u8)>>,
    own_weight: f64,
    author_cap: f64,
    iterations: u32,
}

/// An author's place in a [`TrustMap`], found with one hash probe: its
/// trust, weight, branch and gate are then read by index, so scoring
/// hashes each contribution's 32-byte key once, not once per question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Place(u32);

impl TrustMap {
    fn position(&self, author: &NodeKey) -> Option<usize> {
        self.index.get(author).map(|&i| i as usize)
    }

    /// Where `author` is in this map; `None` outside my web of trust.
    pub(crate) fn place(&self, author: &NodeKey) -> Option<Place> {
        self.index.get(author).copied().map(Place)
    }

    /// Trust in the author at `place` and its weight (see
    /// [`TrustMap::trust_and_weight`]).
    pub(crate) fn trust_and_weight_at(&self, place: Place) -> (f64, f64) {
        match place.0 {
            0 => (self.trust.first().copied().unwrap_or(0.0), self.own_weight),
            i => self
                .trust
                .get(i as usize)
                .map_or((0.0, 0.0), |&t| (t, t.min(self.author_cap))),
        }
    }

    /// The branch of the author at `place` (see [`TrustMap::branch`]), as
    /// the place of the direct peer it is reached through.
    pub(crate) fn branch_at(&self, place: Place) -> Option<Place> {
        match place.0 {
            0 => None,
            i => self.branch.get(i as usize).copied().map(Place),
        }
    }

    /// The weak vouch of the author at `place` (see [`TrustMap::gate`]), as
    /// the place of the node it names and its weight.
    pub(crate) fn gate_at(&self, place: Place) -> Option<(Place, u8)> {
        let (node, weight) = (*self.gate.get(place.0 as usize)?)?;
        Some((Place(node), weight))
    }

    /// Trust in `author`; 0 for authors outside my web of trust.
    pub fn get(&self, author: &NodeKey) -> f64 {
        self.position(author)
            .and_then(|i| self.trust.get(i))
            .copied()
            .unwrap_or(0.0)
    }

    /// Trust in `author` and its weight (see [`TrustMap::get`] and
    /// [`TrustMap::weight`]), found once.
    pub fn trust_and_weight(&self, author: &NodeKey) -> (f64, f64) {
        self.place(author)
            .map_or((0.0, 0.0), |place| self.trust_and_weight_at(place))
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
        match self.position(author) {
            Some(0) => self.own_weight,
            Some(i) => self.trust.get(i).map_or(0.0, |t| t.min(self.author_cap)),
            None => 0.0,
        }
    }

    /// The operator I vouch for directly through whom `author` is first
    /// reached (itself, for my direct peers); `None` for me and for
    /// authors outside my web. Reports are capped per branch, so a region
    /// behind any one of my vouches — a sybil clique a peer's peer let in —
    /// weighs at most one voice, however many keys it has.
    pub fn branch(&self, author: &NodeKey) -> Option<&NodeKey> {
        let branch = self.branch_at(self.place(author)?)?;
        self.nodes.get(branch.0 as usize)
    }

    /// The weak vouch (weight below [`WEAK_VOUCH`], made by someone other
    /// than me) through which `author` is first reached, as the node it names and its weight. Everything
    /// behind a weak vouch of weight w weighs at most w% of one voice: an
    /// operator who vouches weakly passes on a weak voice, however many
    /// keys stand behind it.
    pub fn gate(&self, author: &NodeKey) -> Option<(&NodeKey, u8)> {
        let (node, weight) = self.gate_at(self.place(author)?)?;
        Some((self.nodes.get(node.0 as usize)?, weight))
    }

    /// The most any author other than the local node weighs (see [`TrustMap::weight`]).
    pub fn author_cap(&self) -> f64 {
        self.author_cap
    }

    /// Whether this map trusts an author `other` does not (the web grew).
    pub fn reaches_beyond(&self, other: &TrustMap) -> bool {
        self.nodes
            .iter()
            .any(|author| !other.index.contains_key(author))
    }

    /// Number of authors with non-zero trust (including the local node).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when not even the local node is in the map (never after a compute).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Power iterations the last computation took.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// All authors with their trust, highest first.
    pub fn ranked(&self) -> Vec<(NodeKey, f64)> {
        let mut all: Vec<_> = self
            .nodes
            .iter()
            .copied()
            .zip(self.trust.iter().copied())
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        all
    }
}

/// The nodes reachable from the root, breadth first, with the edges
/// between them as index lists: what the walk runs on.
struct Reachable {
    nodes: Vec<NodeKey>,
    /// `edges[offsets[i]..offsets[i + 1]]` leave node `i`: (target, the
    /// share of a walk at `i` that follows it), in target order.
    offsets: Vec<usize>,
    edges: Vec<(u32, f64)>,
    branch: Vec<u32>,
    gate: Vec<Option<(u32, u8)>>,
}

impl Reachable {
    /// Indexes the nodes reachable from `root` (nothing else can get
    /// trust), noting the branch and the weakest outer vouch each is first
    /// reached through, and each node's edges, in one breadth-first pass.
    fn from(graph: &TrustGraph, root: NodeKey) -> Reachable {
        let mut out = Reachable {
            nodes: vec![root],
            offsets: vec![0],
            edges: Vec::new(),
            branch: vec![0],
            gate: vec![None],
        };
        let Some(root_id) = graph.id(&root) else {
            out.offsets.push(0);
            return out;
        };
        // Graph id → walk index, u32::MAX until reached.
        let mut at_of = vec![u32::MAX; graph.id_count()];
        let mut ids = vec![root_id];
        if let Some(at) = at_of.get_mut(root_id as usize) {
            *at = 0;
        }
        let mut cursor = 0usize;
        while let Some(&from) = ids.get(cursor) {
            // In key order (the graph keeps it): the walk's order, and so
            // its floating sums, are the same in every process.
            let total: f64 = graph.edges_of(from).map(|(_, w)| f64::from(w)).sum();
            let denominator = total.max(100.0);
            let start = out.edges.len();
            for (to, weight) in graph.edges_of(from) {
                let Some(slot) = at_of.get_mut(to as usize) else {
                    continue;
                };
                if *slot == u32::MAX {
                    let Some(key) = graph.key(to).copied() else {
                        continue;
                    };
                    let at = ids.len() as u32;
                    *slot = at;
                    ids.push(to);
                    out.first_reached(cursor, at, weight);
                    out.nodes.push(key);
                }
                out.edges.push((*slot, f64::from(weight) / denominator));
            }
            if let Some(edges) = out.edges.get_mut(start..) {
                edges.sort_unstable_by_key(|&(at, _)| at);
            }
            out.offsets.push(out.edges.len());
            cursor += 1;
        }
        out
    }

    /// Notes the branch and gate of node `at`, first reached from node
    /// `from` by a vouch of `weight`.
    fn first_reached(&mut self, from: usize, at: u32, weight: u8) {
        let via = if from == 0 {
            at
        } else {
            self.branch.get(from).copied().unwrap_or(at)
        };
        self.branch.push(via);
        let inherited = self.gate.get(from).copied().flatten();
        // My own vouches weigh what I chose; a weak vouch further out caps
        // what stands behind it.
        let here = (from != 0 && weight < WEAK_VOUCH).then_some((at, weight));
        self.gate.push(match (inherited, here) {
            (Some(a), Some(b)) => Some(if b.1 <= a.1 { b } else { a }),
            (a, b) => a.or(b),
        });
    }

    fn edges_of(&self, node: usize) -> &[(u32, f64)] {
        let start = self.offsets.get(node).copied().unwrap_or(0);
        let end = self.offsets.get(node + 1).copied().unwrap_or(start);
        self.edges.get(start..end).unwrap_or(&[])
    }
}

/// Computes personalised trust from `root`'s point of view.
pub fn personalised_rank(graph: &TrustGraph, root: NodeKey, params: RankParams) -> TrustMap {
    let reachable = Reachable::from(graph, root);
    let n = reachable.nodes.len();

    // Walks of at most `walk_steps` steps (early termination, as in
    // SybilRank): at each step a walk stops where it is with the restart
    // probability, otherwise follows an edge; trust with nowhere to go
    // returns home and walks on. Walks still moving after the last step are
    // dropped, so trust that enters a region through a few edges cannot
    // circulate there and pile up.
    let alpha = params.restart_probability.clamp(0.01, 0.99);
    let mut current = vec![0.0; n];
    current[0] = 1.0;
    let mut visits = vec![0.0; n];
    let mut next = vec![0.0; n];
    let mut iterations = 0;
    for _ in 0..params.walk_steps {
        iterations += 1;
        next.iter_mut().for_each(|x| *x = 0.0);
        for (from, &here) in current.iter().enumerate() {
            if here == 0.0 {
                continue;
            }
            visits[from] += alpha * here;
            let moving = (1.0 - alpha) * here;
            let mut spent = 0.0;
            for &(to, p) in reachable.edges_of(from) {
                next[to as usize] += moving * p;
                spent += p;
            }
            next[0] += moving * (1.0 - spent).max(0.0);
        }
        std::mem::swap(&mut current, &mut next);
    }

    // Keep the nodes the walk reached (the root always), renumbered in the
    // walk's order; branches and gates point at reached nodes only.
    let home = visits[0].max(f64::MIN_POSITIVE);
    let kept: Vec<usize> = (0..n).filter(|&i| i == 0 || visits[i] > 0.0).collect();
    let mut renumbered = vec![u32::MAX; n];
    for (new, &old) in kept.iter().enumerate() {
        renumbered[old] = new as u32;
    }
    let mut map = TrustMap {
        own_weight: params.max_author_weight,
        iterations,
        ..TrustMap::default()
    };
    map.index.reserve(kept.len());
    // Summed in the walk's node order, never a map's.
    let (mut sum, mut squares) = (0.0, 0.0);
    for &old in &kept {
        let node = reachable.nodes[old];
        let trust = if old == 0 { 1.0 } else { visits[old] / home };
        if old != 0 {
            sum += trust;
            squares += trust * trust;
        }
        map.index.insert(node, map.nodes.len() as u32);
        map.nodes.push(node);
        map.trust.push(trust);
        let branch = reachable.branch.get(old).copied().unwrap_or(0) as usize;
        map.branch
            .push(renumbered.get(branch).copied().unwrap_or(0));
        let gate = reachable.gate.get(old).copied().flatten();
        map.gate.push(gate.and_then(|(node, w)| {
            let node = renumbered.get(node as usize).copied()?;
            (node != u32::MAX).then_some((node, w))
        }));
    }
    let mean_trust = if sum > 0.0 { squares / sum } else { 0.0 };
    map.author_cap = (params.author_cap_of_mean * mean_trust).min(params.max_author_weight);
    map
}
