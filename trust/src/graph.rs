//! The trust graph: who vouches for whom, and how strongly.

use std::collections::BTreeMap;

use vouch_protocol::{Claim, NodeKey, SignedStatement, Subject};

use crate::FastMap;

/// Directed, weighted "I trust this operator" edges (weights 1..=100).
///
/// The graph holds only the statement that currently wins each
/// (author, subject) slot; the store decides which one that is. Keys are
/// numbered as they first appear, so the walk indexes arrays rather than
/// hashing a key per edge; each author's edges are kept in key order, so
/// the walk visits them in the same order in every process.
#[derive(Debug, Clone, Default)]
pub struct TrustGraph {
    ids: FastMap<NodeKey, u32>,
    keys: Vec<NodeKey>,
    /// By author id: target key → (target id, weight).
    out: Vec<BTreeMap<NodeKey, (u32, u8)>>,
}

impl TrustGraph {
    /// Applies a statement that won its slot: a trust with weight > 0 sets an
    /// edge, weight 0 or a retraction of trust removes it. Returns whether
    /// the graph changed. Statements of other kinds are ignored.
    pub fn apply(&mut self, statement: &SignedStatement) -> bool {
        match edge_of(statement) {
            Some((from, to, weight)) => self.set(from, to, weight),
            None => false,
        }
    }

    /// Sets (weight > 0) or removes (weight 0) the edge `from → to`.
    pub fn set(&mut self, from: NodeKey, to: NodeKey, weight: u8) -> bool {
        if from == to {
            return false;
        }
        if weight == 0 {
            let Some(edges) = self.id(&from).and_then(|id| self.out.get_mut(id as usize)) else {
                return false;
            };
            return edges.remove(&to).is_some();
        }
        let to_id = self.intern(to);
        let from_id = self.intern(from);
        self.out
            .get_mut(from_id as usize)
            .and_then(|edges| edges.insert(to, (to_id, weight)))
            .map(|(_, old)| old)
            != Some(weight)
    }

    fn intern(&mut self, key: NodeKey) -> u32 {
        if let Some(&id) = self.ids.get(&key) {
            return id;
        }
        let id = self.keys.len() as u32;
        self.ids.insert(key, id);
        self.keys.push(key);
        self.out.push(BTreeMap::new());
        id
    }

    /// The number `key` goes by in this graph, if it appeared in it.
    pub(crate) fn id(&self, key: &NodeKey) -> Option<u32> {
        self.ids.get(key).copied()
    }

    /// How many keys have ever appeared in the graph: ids are below it.
    pub(crate) fn id_count(&self) -> usize {
        self.keys.len()
    }

    /// The key numbered `id`.
    pub(crate) fn key(&self, id: u32) -> Option<&NodeKey> {
        self.keys.get(id as usize)
    }

    /// The edges leaving the key numbered `id`, in key order: (target id,
    /// weight).
    pub(crate) fn edges_of(&self, id: u32) -> impl Iterator<Item = (u32, u8)> {
        self.out
            .get(id as usize)
            .into_iter()
            .flat_map(|edges| edges.values().copied())
    }

    /// The edges leaving `from`, with their weights, in key order.
    pub fn edges_from(&self, from: &NodeKey) -> impl Iterator<Item = (&NodeKey, u8)> {
        self.id(from)
            .and_then(|id| self.out.get(id as usize))
            .into_iter()
            .flatten()
            .map(|(to, (_, w))| (to, *w))
    }

    /// The weight of the edge `from → to`, 0 when there is none.
    pub fn weight(&self, from: &NodeKey, to: &NodeKey) -> u8 {
        self.id(from)
            .and_then(|id| self.out.get(id as usize))
            .and_then(|edges| edges.get(to))
            .map_or(0, |(_, w)| *w)
    }

    /// Number of edges.
    pub fn edge_count(&self) -> usize {
        self.out.iter().map(BTreeMap::len).sum()
    }
}

/// The edge a statement sets, as (from, to, weight; 0 removes it): trust
/// statements and retractions of trust; `None` for every other kind.
pub fn edge_of(statement: &SignedStatement) -> Option<(NodeKey, NodeKey, u8)> {
    let Subject::Node(to) = statement.body.subject else {
        return None;
    };
    let weight = match statement.body.claim {
        Claim::Trust { weight } => weight.min(100),
        Claim::Retract {
            kind: vouch_protocol::Kind::Trust,
        } => 0,
        _ => return None,
    };
    Some((statement.author, to, weight))
}
