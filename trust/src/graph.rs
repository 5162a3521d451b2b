//! The trust graph: who vouches for whom, and how strongly.

use std::collections::HashMap;

use vouch_protocol::{Claim, NodeKey, SignedStatement, Subject};

/// Directed, weighted "I trust this operator" edges (weights 1..=100).
///
/// The graph holds only the statement that currently wins each
/// (author, subject) slot; the store decides which one that is.
#[derive(Debug, Clone, Default)]
pub struct TrustGraph {
    out: HashMap<NodeKey, HashMap<NodeKey, u8>>,
}

impl TrustGraph {
    /// Applies a statement that won its slot: a trust with weight > 0 sets an
    /// edge, weight 0 or a retraction of trust removes it. Returns whether
    /// the graph changed. Statements of other kinds are ignored.
    pub fn apply(&mut self, statement: &SignedStatement) -> bool {
        let Subject::Node(to) = statement.body.subject else {
            return false;
        };
        let weight = match statement.body.claim {
            Claim::Trust { weight } => weight.min(100),
            Claim::Retract {
                kind: vouch_protocol::Kind::Trust,
            } => 0,
            _ => return false,
        };
        self.set(statement.author, to, weight)
    }

    /// Sets (weight > 0) or removes (weight 0) the edge `from → to`.
    pub fn set(&mut self, from: NodeKey, to: NodeKey, weight: u8) -> bool {
        if from == to {
            return false;
        }
        if weight == 0 {
            let Some(edges) = self.out.get_mut(&from) else {
                return false;
            };
            let removed = edges.remove(&to).is_some();
            if edges.is_empty() {
                self.out.remove(&from);
            }
            removed
        } else {
            self.out.entry(from).or_default().insert(to, weight) != Some(weight)
        }
    }

    /// The edges leaving `from`, with their weights.
    pub fn edges_from(&self, from: &NodeKey) -> impl Iterator<Item = (&NodeKey, u8)> {
        self.out
            .get(from)
            .into_iter()
            .flatten()
            .map(|(to, w)| (to, *w))
    }

    /// The weight of the edge `from → to`, 0 when there is none.
    pub fn weight(&self, from: &NodeKey, to: &NodeKey) -> u8 {
        self.out
            .get(from)
            .and_then(|edges| edges.get(to))
            .copied()
            .unwrap_or(0)
    }

    /// Number of edges.
    pub fn edge_count(&self) -> usize {
        self.out.values().map(HashMap::len).sum()
    }
}
