//! The operator's write actions. The node signs each statement with its own
//! key and ingests it through the same path as everything else.

use std::net::IpAddr;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use vouch_protocol::{
    Claim, EndorseCategory, Evidence, Kind, Limits, ReportCategory, Statement, Subject, VERSION,
};

use super::error::Error;
use super::json::ApiJson;
use super::reputation::parse_sender;
use super::state::AppState;
use crate::clock::unix_now;
use crate::evidence::Source;
use crate::ingest::Ingested;
use crate::names::canonical_domain;
use crate::p2p;

pub(super) const HOUR: u64 = 3600;
pub(super) const DAY: u64 = 24 * HOUR;

/// Body of `POST /v1/trust`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustRequest {
    /// The node to vouch for: its key (64 hex digits), its peer id, a
    /// multiaddr ending in `/p2p/<peer id>` (which is also dialled), or its
    /// operator's domain (the key its `_vouch` TXT record names, pinned).
    pub node: String,
    /// 1..=100; 0 withdraws.
    pub weight: u8,
    /// Lifetime in days (default 365).
    pub ttl_days: Option<u64>,
}

/// Body of `POST /v1/endorse`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndorseRequest {
    /// IP, netblock or domain.
    pub subject: String,
    /// Default `legitimate_sender`.
    #[serde(default = "legitimate_sender")]
    pub category: EndorseCategory,
    /// Lifetime in days (default 180).
    pub ttl_days: Option<u64>,
}

/// The category an endorsement has when none is given.
fn legitimate_sender() -> EndorseCategory {
    EndorseCategory::LegitimateSender
}

/// The category a report has when none is given.
pub(super) fn spam() -> ReportCategory {
    ReportCategory::Spam
}

/// Body of `POST /v1/report`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// IP, netblock or domain.
    pub subject: String,
    /// Default `spam`.
    #[serde(default = "spam")]
    pub category: ReportCategory,
    /// Messages seen (default 1).
    pub count: Option<u32>,
    /// SHA-256 of offending messages, hex.
    #[serde(default)]
    pub message_hashes: Vec<String>,
    /// Relay chain from Received/ARC headers, nearest hop first.
    #[serde(default)]
    pub relay_chain: Vec<String>,
    /// Lifetime in hours (default 168, at most 720).
    pub ttl_hours: Option<u64>,
}

/// Body of `POST /v1/remediate`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediateRequest {
    /// IP, netblock or domain whose problem was fixed.
    pub subject: String,
    /// What was done ("compromised account closed").
    pub note: String,
    /// When it was fixed, Unix seconds (default: now).
    pub remediated_at: Option<u64>,
    /// Lifetime in days (default 30).
    pub ttl_days: Option<u64>,
}

/// Kinds a retraction can withdraw (every kind but a retraction).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetractKind {
    /// A trust statement.
    Trust,
    /// An endorsement.
    Endorse,
    /// A report.
    Report,
    /// A remediation notice.
    Remediate,
}

/// Body of `POST /v1/retract`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetractRequest {
    /// The subject of the statement to withdraw (a node key for trust).
    pub subject: String,
    /// Which statement.
    pub kind: RetractKind,
}

/// Answer to a write.
#[derive(Debug, Serialize)]
pub struct WriteResponse {
    /// The new statement's id.
    pub id: String,
    /// `stored`; or `duplicate` when it was not stored because the store
    /// already holds it or something that outranks it: the same statement,
    /// a newer one in its slot, or (for authors outside the web of trust)
    /// a full stranger quota.
    pub outcome: &'static str,
    /// Its local sequence number, when stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

fn ttl(value: Option<u64>, default: u64, unit: u64) -> u64 {
    value.unwrap_or(default).saturating_mul(unit)
}

/// How one of the operator's statements reaches peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Spread {
    /// Gossiped at once.
    Gossip,
    /// Left to back-fill: a count raised on a report peers already have
    /// need not flood the network.
    BackFill,
}

/// Signs and ingests one statement of the operator's, recording where a
/// report came from. Blocking (reads and writes the store).
pub(super) fn sign_and_store(
    state: &AppState,
    subject: Subject,
    claim: Claim,
    ttl_secs: u64,
    spread: Spread,
    source: Option<Source>,
) -> Result<Option<Ingested>, Error> {
    let now = unix_now();
    // Later statements must win their slot even within the same second.
    let previous =
        state
            .store
            .slot_created_at(&state.signer.public(), claim.slot_kind(), &subject)?;
    let created_at = previous.map_or(now, |p| now.max(p.saturating_add(1)));
    let body = Statement {
        version: VERSION,
        subject,
        created_at,
        expires_at: created_at.saturating_add(ttl_secs),
        claim,
    };
    let statement = state.signer.sign(body);
    let encoded = vouch_protocol::encode_signed(&statement);
    let mut results = state.ingest.submit(vec![statement], now)?;
    let result = results.pop();
    if let Some(Ingested::Stored { id, .. }) = &result {
        if let Some(source) = source {
            state.store.set_source(id, source.tag())?;
        }
        // Acknowledged means on disk: back-fill cannot restore these.
        state.store.sync_wal()?;
        if let (Spread::Gossip, Ok(bytes)) = (spread, encoded) {
            // Peers that miss the gossip back-fill it later.
            let _ = state.p2p.publish(bytes);
        }
    }
    Ok(result)
}

/// Signs, ingests and gossips one statement of the operator's.
async fn publish(
    state: AppState,
    subject: Subject,
    claim: Claim,
    ttl_secs: u64,
) -> Result<Json<WriteResponse>, Error> {
    let is_trust = claim.slot_kind() == Kind::Trust;
    let source = matches!(claim, Claim::Report { .. }).then_some(Source::Cli);
    let ingested = tokio::task::spawn_blocking(move || {
        let ingested = sign_and_store(&state, subject, claim, ttl_secs, Spread::Gossip, source);
        if is_trust {
            // The operator expects the next lookup to reflect a trust
            // change; the recompute is CPU work, kept off the runtime.
            state.trust.recompute_if_dirty();
        }
        ingested
    })
    .await??;
    match ingested {
        Some(Ingested::Stored { id, seq, .. }) => Ok(Json(WriteResponse {
            id: id.to_string(),
            outcome: "stored",
            seq: Some(seq),
        })),
        Some(Ingested::Duplicate(id))
        | Some(Ingested::Stale(id))
        | Some(Ingested::OverQuota(id)) => Ok(Json(WriteResponse {
            id: id.to_string(),
            outcome: "duplicate",
            seq: None,
        })),
        Some(Ingested::Rejected(rejection)) => Err(Error::Rejected(rejection)),
        None => Err(Error::NotFound),
    }
}

/// `POST /v1/trust`
#[tracing::instrument(skip(state))]
pub async fn trust(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<TrustRequest>,
) -> Result<Json<WriteResponse>, Error> {
    let name = match p2p::parse_peer(&request.node) {
        Ok(name) => name,
        // Not a key, peer id or multiaddr: an operator's domain.
        Err(_) if canonical_domain(&request.node).is_ok() => {
            by_domain(&state, &request.node).await?
        }
        Err(e) => return Err(Error::InvalidBody(e.to_string())),
    };
    if let Some(addr) = name.addr
        && request.weight > 0
    {
        // The network may be disabled; the vouch stands either way.
        let _ = state.p2p.add_peer(name.peer, addr).await;
    }
    let ttl_secs = ttl(request.ttl_days, 365, DAY);
    publish(
        state,
        Subject::Node(name.node),
        Claim::Trust {
            weight: request.weight,
        },
        ttl_secs,
    )
    .await
}

/// The node a domain's `_vouch` record names, pinned (and the address it
/// publishes, if it names this key's peer id).
async fn by_domain(state: &AppState, domain: &str) -> Result<p2p::PeerName, Error> {
    let (domain, record) = state
        .names
        .pin(domain)
        .await
        .map_err(|e| Error::Name(e.to_string()))?;
    let peer = p2p::identity::peer_id(&record.key).ok_or_else(|| {
        Error::Name(format!(
            "the key in {domain}'s record is not a valid node key"
        ))
    })?;
    // The address must lead to this key's peer; one without a peer id gets it.
    let addr = record
        .addr
        .and_then(|addr| match p2p::identity::peer_of(&addr) {
            Some(named) => (named == peer).then_some(addr),
            None => Some(addr.with(libp2p::multiaddr::Protocol::P2p(peer))),
        });
    tracing::info!(%domain, key = %record.key, "pinned a name");
    Ok(p2p::PeerName {
        node: record.key,
        peer,
        addr,
    })
}

/// `POST /v1/endorse`
#[tracing::instrument(skip(state))]
pub async fn endorse(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<EndorseRequest>,
) -> Result<Json<WriteResponse>, Error> {
    let subject = parse_sender(&request.subject)?;
    publish(
        state,
        subject,
        Claim::Endorse {
            category: request.category,
        },
        ttl(request.ttl_days, 180, DAY),
    )
    .await
}

/// `POST /v1/report`
#[tracing::instrument(skip(state))]
pub async fn report(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ReportRequest>,
) -> Result<Json<WriteResponse>, Error> {
    let subject = parse_sender(&request.subject)?;
    let limits = Limits::default();
    if request.message_hashes.len() > limits.max_message_hashes
        || request.relay_chain.len() > limits.max_relay_chain
    {
        return Err(Error::InvalidBody(format!(
            "at most {} message hashes and {} relay hops",
            limits.max_message_hashes, limits.max_relay_chain
        )));
    }
    let message_hashes = request
        .message_hashes
        .iter()
        .map(|h| {
            let mut hash = [0u8; 32];
            hex::decode_to_slice(h, &mut hash)
                .map(|()| hash)
                .map_err(|_| Error::InvalidBody(format!("message hash {h:?} is not 64 hex digits")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let relay_chain = request
        .relay_chain
        .iter()
        .map(|ip| {
            ip.parse::<IpAddr>()
                .map_err(|_| Error::InvalidBody(format!("relay hop {ip:?} is not an IP address")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let claim = Claim::Report {
        category: request.category,
        count: request.count.unwrap_or(1),
        evidence: Evidence {
            message_hashes,
            relay_chain,
        },
    };
    publish(state, subject, claim, ttl(request.ttl_hours, 7 * 24, HOUR)).await
}

/// `POST /v1/retract`
#[tracing::instrument(skip(state))]
pub async fn retract(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RetractRequest>,
) -> Result<Json<WriteResponse>, Error> {
    let kind = match request.kind {
        RetractKind::Trust => Kind::Trust,
        RetractKind::Endorse => Kind::Endorse,
        RetractKind::Report => Kind::Report,
        RetractKind::Remediate => Kind::Remediate,
    };
    let subject: Subject = request.subject.parse()?;
    // A retraction must outlive whatever it withdraws.
    let ttl_secs = Limits::default().max_ttl(kind);
    publish(state, subject, Claim::Retract { kind }, ttl_secs).await
}

/// `POST /v1/remediate`
#[tracing::instrument(skip(state))]
pub async fn remediate(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RemediateRequest>,
) -> Result<Json<WriteResponse>, Error> {
    let subject = parse_sender(&request.subject)?;
    let claim = Claim::Remediate {
        remediated_at: request.remediated_at.unwrap_or_else(unix_now),
        note: request.note,
    };
    publish(state, subject, claim, ttl(request.ttl_days, 30, DAY)).await
}
