//! Node status, the operator's trust list, and Prometheus metrics.

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde::Serialize;
use vouch_protocol::{Claim, Kind, NodeKey, Subject};

use super::error::Error;
use super::state::AppState;
use crate::clock::unix_now;
use crate::names::Pin;
use crate::p2p::{self, PeerInfo};

/// Answer of `GET /v1/status`.
#[derive(Debug, Serialize)]
pub struct Status {
    /// This node's public key (hex): its identity as an author.
    pub node_id: String,
    /// Software version.
    pub version: &'static str,
    /// Seconds since start.
    pub uptime_secs: u64,
    /// Statements stored.
    pub statements: u64,
    /// Next local ingest sequence number.
    pub next_seq: u64,
    /// Trust edges known.
    pub trust_edges: usize,
    /// Authors with non-zero trust from this node's point of view.
    pub trusted_authors: usize,
    /// The node's libp2p peer id (the same key as `node_id`).
    pub peer_id: Option<String>,
    /// Whether the network is running.
    pub network: bool,
    /// Addresses peers can dial, each ending in `/p2p/<peer id>`.
    pub listen_addrs: Vec<String>,
    /// Peers with an open connection.
    pub peers_connected: usize,
    /// Statements held under the stranger quota.
    pub stranger_statements: u64,
    /// Domains vouched for by name, with what their last check found (a
    /// record that changed or vanished shows here, and is not followed).
    pub names: Vec<Pin>,
}

/// `GET /v1/status`
#[tracing::instrument(skip_all)]
pub async fn status(State(state): State<AppState>) -> Json<Status> {
    let counts = state.store.counts();
    let listen = state.p2p.listen_addrs().await;
    let peers = state.p2p.peers().await.unwrap_or_default();
    Json(Status {
        node_id: state.signer.public().to_string(),
        version: env!("CARGO_PKG_VERSION"),
        uptime_secs: unix_now().saturating_sub(state.started_at),
        statements: counts.statements,
        next_seq: counts.next_seq,
        trust_edges: state.trust.edge_count(),
        trusted_authors: state.trust.snapshot().len(),
        peer_id: p2p::identity::peer_id(&state.signer.public()).map(|p| p.to_string()),
        network: listen.is_ok(),
        listen_addrs: listen
            .unwrap_or_default()
            .iter()
            .map(|a| a.to_string())
            .collect(),
        peers_connected: peers.iter().filter(|p| p.connected).count(),
        stranger_statements: counts.strangers,
        names: state.names.book.pins(),
    })
}

/// Answer of `GET /v1/peers`.
#[derive(Debug, Serialize)]
pub struct Peers {
    /// Whether the network is running.
    pub network: bool,
    /// Every peer known, connected ones first.
    pub peers: Vec<NamedPeer>,
}

/// A peer, with its operator's name where one is known.
#[derive(Debug, Serialize)]
pub struct NamedPeer {
    /// What the network knows of it.
    #[serde(flatten)]
    pub info: PeerInfo,
    /// Its operator's domain and how far DNS backs it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The name to show for a node key given as hex, if any.
fn name_of(state: &AppState, node: &str) -> Option<String> {
    let key = node.parse::<NodeKey>().ok()?;
    state.names.book.name_of(&key).map(|n| n.to_string())
}

/// `GET /v1/peers`
#[tracing::instrument(skip_all)]
pub async fn peers(State(state): State<AppState>) -> Json<Peers> {
    match state.p2p.peers().await {
        Ok(peers) => Json(Peers {
            network: true,
            peers: peers
                .into_iter()
                .map(|info| NamedPeer {
                    name: info.node_id.as_deref().and_then(|n| name_of(&state, n)),
                    info,
                })
                .collect(),
        }),
        Err(_) => Json(Peers {
            network: false,
            peers: Vec::new(),
        }),
    }
}

/// One of the operator's own trust statements.
#[derive(Debug, Serialize)]
pub struct TrustEntry {
    /// The trusted node (hex key).
    pub node: String,
    /// Its operator's domain and how far DNS backs it, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The weight given, 1..=100.
    pub weight: u8,
    /// The node's computed trust from this node's view, 0..=1.
    pub trust: f64,
    /// Expiry, Unix seconds.
    pub expires_at: u64,
}

/// Answer of `GET /v1/trust`.
#[derive(Debug, Serialize)]
pub struct TrustList {
    /// Nodes this node vouches for.
    pub trusted: Vec<TrustEntry>,
    /// Authors with non-zero computed trust (direct and indirect).
    pub trusted_authors: usize,
}

/// `GET /v1/trust`
#[tracing::instrument(skip_all)]
pub async fn trust_list(State(state): State<AppState>) -> Result<Json<TrustList>, Error> {
    let me = state.signer.public();
    let mine = {
        let store = state.store.clone();
        tokio::task::spawn_blocking(move || store.by_author(&me, Some(Kind::Trust))).await??
    };
    let snapshot = state.trust.snapshot();
    let mut trusted: Vec<TrustEntry> = mine
        .into_iter()
        .filter_map(
            |s| match (&s.statement.body.subject, &s.statement.body.claim) {
                (Subject::Node(node), Claim::Trust { weight }) if *weight > 0 => Some(TrustEntry {
                    name: state.names.book.name_of(node).map(|n| n.to_string()),
                    node: node.to_string(),
                    weight: *weight,
                    trust: snapshot.get(node),
                    expires_at: s.statement.body.expires_at,
                }),
                _ => None,
            },
        )
        .collect();
    trusted.sort_by(|a, b| b.weight.cmp(&a.weight).then(a.node.cmp(&b.node)));
    Ok(Json(TrustList {
        trusted,
        trusted_authors: snapshot.len(),
    }))
}

/// `GET /metrics`
#[tracing::instrument(skip_all)]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state
        .metrics
        .statements
        .set(state.store.counts().statements as i64);
    state
        .metrics
        .trusted_authors
        .set(state.trust.snapshot().len() as i64);
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
