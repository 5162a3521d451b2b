//! The composed network behaviour, one field per protocol, and the gossip
//! settings (message ids, validation, peer scoring) explained.

use std::collections::HashMap;
use std::time::Duration;

use libp2p::gossipsub::{
    self, IdentTopic, MessageAuthenticity, PeerScoreParams, PeerScoreThresholds, TopicScoreParams,
    ValidationMode,
};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{
    StreamProtocol, allow_block_list, connection_limits, identify, identity, kad, mdns, ping,
};
use vouch_protocol::{MAX_STATEMENT_BYTES, StatementId};

use super::Config;
use super::ip_gate::IpGate;
use super::sync::{self, SyncPage, SyncRequest};
use crate::metrics::Metrics;

/// The gossip topic every statement is published on.
pub const TOPIC: &str = "vouch/statements/1";
/// The Kademlia protocol name (a private DHT, not the public IPFS one).
pub const KAD_PROTOCOL: &str = "/vouch/kad/1.0.0";
/// Gossipsub score below which everything from a peer is ignored; the node
/// also disconnects and bans it there.
pub const GRAYLIST_THRESHOLD: f64 = -80.0;
/// The identify protocol version.
pub const IDENTIFY_PROTOCOL: &str = "/vouch/id/1.0.0";

/// Every protocol a Vouch node speaks.
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// Refuses banned addresses and redial storms before the handshake.
    pub ip_gate: IpGate,
    /// Refuses banned peers before anything else sees them.
    pub blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    /// Caps connections in all and per peer.
    pub limits: connection_limits::Behaviour,
    /// Statements, pushed to every node.
    pub gossipsub: gossipsub::Behaviour,
    /// Peer discovery beyond the bootstrap peers.
    pub kademlia: kad::Behaviour<kad::store::MemoryStore>,
    /// Learns peers' listen addresses and protocols.
    pub identify: identify::Behaviour,
    /// Keeps connections alive and measures round trips.
    pub ping: ping::Behaviour,
    /// Back-fill of what a node missed.
    pub sync: request_response::cbor::Behaviour<SyncRequest, SyncPage>,
    /// LAN discovery, off unless configured.
    pub mdns: Toggle<mdns::tokio::Behaviour>,
}

/// Why the behaviour could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Gossipsub refused its settings.
    #[error("gossipsub settings: {0}")]
    GossipConfig(#[from] gossipsub::ConfigBuilderError),
    /// Gossipsub refused to start with them.
    #[error("gossipsub: {0}")]
    Gossipsub(&'static str),
    /// Gossipsub refused the peer-scoring parameters (libp2p words it).
    #[error("gossipsub peer scoring: {0}")]
    PeerScoring(String),
    /// The topic could not be subscribed to.
    #[error("gossipsub topic: {0}")]
    Subscribe(#[from] gossipsub::SubscriptionError),
    /// mDNS could not start.
    #[error("mdns: {0}")]
    Mdns(std::io::Error),
}

impl Behaviour {
    /// Builds the behaviour for the node with `key`.
    pub fn new(
        key: &identity::Keypair,
        config: &Config,
        metrics: Metrics,
    ) -> Result<Behaviour, BuildError> {
        let peer_id = key.public().to_peer_id();
        let mut gossipsub =
            gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, gossip_config()?)
                .map_err(BuildError::Gossipsub)?;
        let (params, thresholds) = peer_scoring();
        gossipsub
            .with_peer_score(params, thresholds)
            .map_err(BuildError::PeerScoring)?;
        gossipsub.subscribe(&IdentTopic::new(TOPIC))?;

        let mut kad_config = kad::Config::new(StreamProtocol::new(KAD_PROTOCOL));
        kad_config.set_query_timeout(Duration::from_secs(30));
        // Vouch stores no DHT records: inbound PUT_VALUE and ADD_PROVIDER
        // requests are handed to the node (which ignores them) instead of
        // filling the record store.
        kad_config.set_record_filtering(kad::StoreInserts::FilterBoth);
        let mut kademlia =
            kad::Behaviour::with_config(peer_id, kad::store::MemoryStore::new(peer_id), kad_config);
        // Serve the DHT even before an external address is confirmed: nodes
        // on loopback or a LAN never get one, and they must still find each other.
        kademlia.set_mode(Some(kad::Mode::Server));

        let mdns = if config.mdns {
            Some(
                mdns::tokio::Behaviour::new(mdns::Config::default(), peer_id)
                    .map_err(BuildError::Mdns)?,
            )
        } else {
            None
        };

        let codec = request_response::cbor::codec::Codec::default()
            .set_request_size_maximum(sync::MAX_REQUEST_BYTES)
            .set_response_size_maximum(sync::MAX_RESPONSE_BYTES);
        let sync = request_response::Behaviour::with_codec(
            codec,
            [(StreamProtocol::new(sync::PROTOCOL), ProtocolSupport::Full)],
            request_response::Config::default()
                .with_request_timeout(Duration::from_secs(20))
                .with_max_concurrent_streams(16),
        );

        Ok(Behaviour {
            ip_gate: IpGate::new(
                config.inbound_per_ip_per_min,
                config.exempt_loopback,
                metrics,
            ),
            blocked: allow_block_list::Behaviour::default(),
            limits: connection_limits::Behaviour::new(
                connection_limits::ConnectionLimits::default()
                    .with_max_established(Some(config.max_connections))
                    .with_max_established_per_peer(Some(config.max_connections_per_peer))
                    .with_max_pending_incoming(Some(config.max_pending_incoming)),
            ),
            gossipsub,
            kademlia,
            identify: identify::Behaviour::new(
                identify::Config::new(IDENTIFY_PROTOCOL.into(), key.public())
                    .with_agent_version(format!("vouch/{}", env!("CARGO_PKG_VERSION"))),
            ),
            ping: ping::Behaviour::default(),
            sync,
            mdns: Toggle::from(mdns),
        })
    }
}

/// Gossip settings.
///
/// * Message id = statement id (SHA-256 of the encoded statement), so a
///   statement that reaches a node twice dies at the first hop.
/// * Anonymous messages: a statement carries its author's signature, so a
///   second, per-message libp2p signature would only add bytes and a second
///   verification. Peers are still held to account as the propagation source.
/// * Every message is held until the node has decoded, validated, verified
///   and admitted it (`validate_messages`); only then is it relayed, or not.
/// * Frames are capped just above the largest statement.
pub fn gossip_config() -> Result<gossipsub::Config, BuildError> {
    gossipsub::ConfigBuilder::default()
        .validation_mode(ValidationMode::Anonymous)
        .validate_messages()
        .message_id_fn(|message: &gossipsub::Message| {
            gossipsub::MessageId::from(StatementId::of_bytes(&message.data).0.to_vec())
        })
        .max_transmit_size(MAX_STATEMENT_BYTES + 1024)
        .heartbeat_interval(Duration::from_millis(700))
        .duplicate_cache_time(Duration::from_secs(120))
        .build()
        .map_err(BuildError::from)
}

/// Gossipsub v1.1 peer scoring.
///
/// * P4, invalid messages: weight −10 on a counter that is squared, so one
///   forged or malformed statement costs 10 and stops gossip to the peer,
///   two cost 40, three cost 90 and graylist it (and the node bans it).
///   The counter decays to nothing over an hour. This is the only charge
///   for invalid gossip; stale and clock-skewed statements are ignored,
///   not counted.
/// * P2, first deliveries: a small reward (capped at +10) for peers that
///   bring new statements first.
/// * P1, time in mesh: +0.01 a second, capped at +3.6 after an hour.
/// * P3 (mesh delivery rate) off: statements are sporadic, so a quiet
///   honest peer must not look like one that withholds messages.
/// * P5, application score: −1 per strike for abuse the router cannot see
///   (flooding, forged statements in back-fill pages), weight 1.
/// * P6, IP colocation: loopback is exempt so a testnet on one host works;
///   several peers behind one public IP still pay.
/// * Thresholds: no gossip to peers below −10, no publishing below −50,
///   everything from them ignored below −80 (the node also disconnects and
///   bans them there).
pub fn peer_scoring() -> (PeerScoreParams, PeerScoreThresholds) {
    let hour = Duration::from_secs(3600);
    let topic = TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 360.0,
        first_message_deliveries_weight: 0.1,
        first_message_deliveries_decay: gossipsub::score_parameter_decay(hour),
        first_message_deliveries_cap: 100.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: -10.0,
        invalid_message_deliveries_decay: gossipsub::score_parameter_decay(hour),
        ..TopicScoreParams::default()
    };
    let params = PeerScoreParams {
        topics: HashMap::from([(IdentTopic::new(TOPIC).hash(), topic)]),
        topic_score_cap: 20.0,
        app_specific_weight: 1.0,
        ip_colocation_factor_whitelist: [
            std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::Ipv6Addr::LOCALHOST.into(),
        ]
        .into_iter()
        .collect(),
        ..PeerScoreParams::default()
    };
    let thresholds = PeerScoreThresholds {
        gossip_threshold: -10.0,
        publish_threshold: -50.0,
        graylist_threshold: GRAYLIST_THRESHOLD,
        accept_px_threshold: 10.0,
        opportunistic_graft_threshold: 5.0,
    };
    (params, thresholds)
}
