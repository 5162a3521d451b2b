//! The network actor: the only owner of the swarm. It serves the handle's
//! commands, reacts to swarm events, hands ingest work to the worker and
//! the blocking pool, and ends when every handle is dropped or the node
//! shuts down. Nothing in this loop may panic: every failure is logged,
//! counted, and survived.
//!
//! Longer than most files here (about 600 lines) because it is one match
//! per source of events, each arm a few lines: the rules those arms apply
//! live elsewhere (who may do what in `peers.rs`, back-fill rounds in
//! `backfill.rs`, the swarm's parts in `behaviour.rs` and `swarm.rs`).

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::gossipsub::{IdentTopic, MessageAcceptance};
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::{SwarmEvent, dial_opts::DialOpts};
use libp2p::{Multiaddr, PeerId, Swarm, identify, kad, mdns, ping};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use vouch_protocol::Keypair;

use super::backfill::{self, Next, Rounds, Start};
use super::behaviour::{Behaviour, BehaviourEvent, GRAYLIST_THRESHOLD, TOPIC};
use super::handle::{Command, Handle};
use super::identity::{libp2p_keypair, peer_of};
use super::limits::Offence;
use super::peer_book::PeerBook;
use super::peers::{MAX_ADDRS_PER_PEER, Peers};
use super::swarm;
use super::sync::{PageOutcome, SyncPage, SyncRequest};
use super::worker::{Acceptance, Done, GossipItem, gossip_worker};
use super::{Config, Error};
use crate::clock::unix_now;
use crate::ingest::Ingest;
use crate::metrics::Metrics;
use crate::store::Store;

/// Gossiped statements waiting for the worker before new ones are ignored.
const GOSSIP_QUEUE: usize = 8192;
/// Least time between two DHT lookups for peers made because the node is
/// short of them (besides the one a minute it always makes).
const EAGER_DISCOVERY: Duration = Duration::from_secs(5);
/// Seconds a connection is kept, however many peers the node has, before
/// it may be pruned (see `Network::prune`).
const PRUNE_GRACE_SECS: u64 = 30;

/// The network before it runs: everything but the swarm, which needs the
/// async runtime.
pub struct Network {
    config: Config,
    key: libp2p::identity::Keypair,
    /// The peers saved by the last run, read here (blocking, like opening
    /// the store) so that binding does no disk I/O on the async runtime.
    book: PeerBook,
    commands: mpsc::Receiver<Command>,
    store: Arc<Store>,
    ingest: Arc<Ingest>,
    metrics: Metrics,
}

impl Network {
    /// The network of the node with `keypair`, and the handle to it.
    /// Blocks (reads the saved peer book).
    pub fn new(
        config: Config,
        keypair: &Keypair,
        store: Arc<Store>,
        ingest: Arc<Ingest>,
        metrics: Metrics,
    ) -> Result<(Network, Handle), Error> {
        let key = libp2p_keypair(keypair)?;
        let (handle, commands) = Handle::channel();
        Ok((
            Network {
                config,
                key,
                book: PeerBook::load(&store),
                commands,
                store,
                ingest,
                metrics,
            },
            handle,
        ))
    }

    /// Builds the swarm and starts listening and dialing; the returned
    /// actor runs with [`Running::run`].
    pub fn bind(self) -> Result<Running, Error> {
        let config = self.config;
        let bootstrap = config.bootstrap_addrs()?;
        let swarm = swarm::build(self.key, &config, self.metrics.clone())?;
        let (gossip_tx, gossip_rx) = mpsc::channel(GOSSIP_QUEUE);
        let (done_tx, done_rx) = mpsc::channel(256);
        let worker = tokio::spawn(gossip_worker(
            gossip_rx,
            self.ingest.clone(),
            done_tx.clone(),
        ));
        let mut running = Running {
            peers: Peers::new(*swarm.local_peer_id(), config.clone()),
            rounds: Rounds::new(config.sync_page_statements),
            swarm,
            commands: self.commands,
            config,
            store: self.store,
            ingest: self.ingest,
            metrics: self.metrics,
            listen_addrs: Vec::new(),
            gossip: gossip_tx,
            worker,
            tasks: JoinSet::new(),
            done_tx,
            done_rx,
            topic: IdentTopic::new(TOPIC),
            bootstrap: Vec::new(),
            last_discovery: None,
            redial: None,
            redial_backoff: FIRST_REDIAL,
        };
        for (peer, addrs) in self.book.peers {
            for addr in addrs {
                running.learn(peer, addr);
            }
        }
        for addr in &bootstrap {
            if let Some(peer) = peer_of(addr) {
                running.learn(peer, addr.clone());
            }
        }
        running.bootstrap = bootstrap;
        running.dial_bootstrap();
        running.dial_more();
        Ok(running)
    }
}

/// The running actor.
pub struct Running {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    config: Config,
    store: Arc<Store>,
    ingest: Arc<Ingest>,
    metrics: Metrics,
    peers: Peers,
    rounds: Rounds<OutboundRequestId>,
    listen_addrs: Vec<Multiaddr>,
    gossip: mpsc::Sender<GossipItem>,
    worker: tokio::task::JoinHandle<()>,
    /// Back-fill work on the blocking pool, waited for at shutdown.
    tasks: JoinSet<()>,
    done_tx: mpsc::Sender<Done>,
    done_rx: mpsc::Receiver<Done>,
    topic: IdentTopic,
    bootstrap: Vec<Multiaddr>,
    /// When the DHT was last asked for more peers.
    last_discovery: Option<Instant>,
    /// When to dial the bootstrap peers again, while no peer is connected.
    redial: Option<Instant>,
    /// The wait before the next such dial: doubling from [`FIRST_REDIAL`]
    /// to the maintenance interval.
    redial_backoff: Duration,
}

/// The first wait before dialling the bootstrap peers again when a dial
/// failed and no peer is connected: nodes started together (a compose
/// file, a testnet) dial their bootstrap node before it listens, and
/// should not sit alone until the next maintenance round.
const FIRST_REDIAL: Duration = Duration::from_millis(250);
/// How often the node maintains its connections (and, alone, redials at
/// the latest).
const MAINTENANCE: Duration = Duration::from_secs(5);

/// Sleeps until `at`; never wakes when there is none (the branch is off then).
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

impl Running {
    /// Runs until every handle is dropped or `shutdown` turns true; saves
    /// the peer book on the way out.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut sync_round =
            tokio::time::interval(Duration::from_secs(self.config.sync_interval_secs));
        let mut maintenance = tokio::time::interval(MAINTENANCE);
        let mut forgive = tokio::time::interval(Duration::from_secs(60));
        let mut discovery = tokio::time::interval(Duration::from_secs(60));
        for timer in [
            &mut sync_round,
            &mut maintenance,
            &mut forgive,
            &mut discovery,
        ] {
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        }
        loop {
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        break;
                    }
                }
                command = self.commands.recv() => match command {
                    Some(command) => self.command(command),
                    None => break,
                },
                event = self.swarm.select_next_some() => self.swarm_event(event),
                Some(done) = self.done_rx.recv() => self.done(done),
                Some(_) = self.tasks.join_next(), if !self.tasks.is_empty() => {}
                _ = sync_round.tick() => self.sync_all(Start::Watermark),
                _ = maintenance.tick() => self.maintain(),
                _ = sleep_until(self.redial), if self.redial.is_some() => self.redial_bootstrap(),
                _ = forgive.tick() => {
                    self.peers.forgive();
                    self.save_peer_book().await;
                }
                _ = discovery.tick() => self.discover(),
            }
        }
        self.save_peer_book().await;
        // Close the worker's queue and the way back, then wait for it, so
        // nothing holds the store once `run` returns.
        let Running {
            gossip,
            worker,
            mut tasks,
            done_rx,
            ..
        } = self;
        drop((gossip, done_rx));
        let _ = worker.await;
        while tasks.join_next().await.is_some() {}
        tracing::info!("network stopped");
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Publish(bytes) => {
                let topic = self.topic.clone();
                match self.swarm.behaviour_mut().gossipsub.publish(topic, bytes) {
                    Ok(_) => self.metrics.gossip("published"),
                    // No peers yet: they back-fill it when they connect.
                    Err(error) => tracing::debug!(%error, "statement not gossiped"),
                }
            }
            Command::Peers(reply) => {
                let gossipsub = &self.swarm.behaviour().gossipsub;
                let infos = self
                    .peers
                    .infos(|peer| gossipsub.peer_score(peer).unwrap_or(0.0), unix_now());
                let _ = reply.send(infos);
            }
            Command::ListenAddrs(reply) => {
                let me = *self.swarm.local_peer_id();
                let addrs = self
                    .listen_addrs
                    .iter()
                    .map(|a| a.clone().with(Protocol::P2p(me)))
                    .collect();
                let _ = reply.send(addrs);
            }
            Command::AddPeer(peer, addr) => {
                self.learn(peer, addr.clone());
                if !self.peers.is_connected(&peer)
                    && let Err(error) = self.swarm.dial(addr.clone())
                {
                    tracing::warn!(%addr, %error, "cannot dial peer");
                }
            }
            Command::SyncAgain(start) => self.sync_all(start),
        }
    }

    fn swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, peer_id = %self.swarm.local_peer_id(), "p2p listening");
                self.listen_addrs.push(address);
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.listen_addrs.retain(|a| *a != address);
            }
            SwarmEvent::ConnectionEstablished {
                peer_id, endpoint, ..
            } => {
                if endpoint.is_dialer() {
                    self.learn(peer_id, endpoint.get_remote_address().clone());
                }
                self.redial = None;
                self.redial_backoff = FIRST_REDIAL;
                let first = self.peers.connected(peer_id, unix_now());
                self.update_connected_gauge();
                tracing::debug!(peer = %peer_id, "connected");
                if first {
                    self.start_sync(peer_id, Start::Watermark);
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, .. } => {
                if self.peers.disconnected(&peer_id, unix_now()) {
                    // Gone: a round queued behind this one goes too.
                    let _ = self.rounds.end(&peer_id);
                }
                self.update_connected_gauge();
            }
            SwarmEvent::Behaviour(event) => self.behaviour_event(event),
            SwarmEvent::IncomingConnectionError { error, .. } => {
                tracing::debug!(%error, "incoming connection failed");
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(?peer_id, %error, "dial failed");
                if self.peers.connected_count() == 0 && self.redial.is_none() {
                    self.redial = Some(Instant::now() + self.redial_backoff);
                }
            }
            _ => {}
        }
    }

    fn behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Gossipsub(libp2p::gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => self.gossip_message(propagation_source, message_id, message.data),
            BehaviourEvent::Gossipsub(libp2p::gossipsub::Event::SlowPeer { peer_id, .. }) => {
                // Its send queue overflowed: it cannot keep up with what we relay.
                self.metrics.gossip("slow_peer");
                self.offence(peer_id, Offence::Slow);
            }
            BehaviourEvent::Gossipsub(_) => {}
            BehaviourEvent::Sync(event) => self.sync_event(event),
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                for addr in info.listen_addrs.into_iter().take(MAX_ADDRS_PER_PEER) {
                    self.learn(peer_id, addr);
                }
            }
            BehaviourEvent::Identify(_) => {}
            BehaviourEvent::Kademlia(kad::Event::RoutingUpdated { peer, .. }) => {
                if self.peers.connected_count() < self.config.target_peers {
                    if !self.peers.is_connected(&peer) {
                        self.dial_peer(peer);
                    }
                    self.discover_if_short();
                }
            }
            BehaviourEvent::Kademlia(_) => {}
            BehaviourEvent::Mdns(mdns::Event::Discovered(found)) => {
                for (peer, addr) in found {
                    self.learn(peer, addr);
                }
                self.dial_more();
            }
            BehaviourEvent::Mdns(_) => {}
            BehaviourEvent::Ping(ping::Event { peer, result, .. }) => {
                if let Ok(rtt) = result {
                    self.peers.set_rtt(&peer, rtt);
                }
            }
            BehaviourEvent::Blocked(never) => match never {},
            BehaviourEvent::Limits(never) => match never {},
        }
    }

    /// A gossiped statement: rate-limit its sender, then queue it for ingest.
    fn gossip_message(&mut self, source: PeerId, id: libp2p::gossipsub::MessageId, data: Vec<u8>) {
        if !self.peers.allow_message(source, Instant::now()) {
            self.report(&id, &source, Acceptance::Ignore);
            self.metrics.gossip("rate_limited");
            self.offence(source, Offence::Flooding);
            return;
        }
        let item = GossipItem {
            id: id.clone(),
            source,
            data,
        };
        if self.gossip.try_send(item).is_err() {
            self.report(&id, &source, Acceptance::Ignore);
            self.metrics.gossip("overloaded");
        }
    }

    fn report(&mut self, id: &libp2p::gossipsub::MessageId, source: &PeerId, verdict: Acceptance) {
        let acceptance = match verdict {
            Acceptance::Accept => MessageAcceptance::Accept,
            Acceptance::Ignore => MessageAcceptance::Ignore,
            Acceptance::Reject(_) => MessageAcceptance::Reject,
        };
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(id, source, acceptance);
    }

    fn sync_event(&mut self, event: request_response::Event<SyncRequest, SyncPage>) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                if !self.peers.allow_request(peer, Instant::now()) {
                    // Dropping the channel answers nothing; the peer times out.
                    self.metrics.sync("refused");
                    self.offence(peer, Offence::Flooding);
                    return;
                }
                // A peer reading us from the beginning is new, or its web
                // of trust just grew and it holds statements by authors it
                // did not trust before (now served): we read it in turn.
                // Not when we hold nothing: two empty nodes would read each
                // other from the beginning back and forth.
                let from_beginning = request.since == 0 && self.store.counts().statements > 0;
                backfill::serve(
                    &mut self.tasks,
                    (self.store.clone(), self.ingest.clone()),
                    request,
                    self.config.sync_page_statements,
                    channel,
                    self.done_tx.clone(),
                );
                if from_beginning {
                    self.start_sync(peer, Start::Watermark);
                }
            }
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                self.metrics.sync("received");
                match self.rounds.arrived(&request_id, response) {
                    Some((peer, next)) => self.round_step(peer, next),
                    None => {
                        tracing::debug!(%peer, "a back-fill page after its round ended: dropped")
                    }
                }
            }
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                tracing::debug!(%peer, %error, "back-fill request failed");
                if let Some((peer, next)) = self.rounds.failed(&request_id) {
                    self.round_step(peer, next);
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "back-fill answer failed");
            }
            request_response::Event::ResponseSent { .. } => self.metrics.sync("served"),
        }
    }

    fn done(&mut self, done: Done) {
        match done {
            Done::Gossip(verdicts) => {
                for (id, source, verdict) in verdicts {
                    self.report(&id, &source, verdict);
                    self.metrics.gossip(verdict.as_str());
                    if let Acceptance::Reject(rule) = verdict {
                        tracing::info!(peer = %source, rule, "invalid statement gossiped");
                        self.offence(source, Offence::InvalidGossip);
                    }
                }
            }
            Done::Served(channel, page) => {
                if self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, page)
                    .is_err()
                {
                    tracing::debug!("back-fill requester went away");
                }
            }
            Done::SyncFrom { peer, round, since } => self.request_first_page(peer, round, since),
            Done::Ingested {
                peer,
                round,
                outcome,
            } => {
                let ok = outcome.is_some();
                if let Some(outcome) = outcome {
                    self.page_ingested(peer, outcome);
                }
                // A peer banned for what the page held gets no more asks.
                let go_on = ok && !self.peers.is_banned(&peer);
                let next = self.rounds.ingested(peer, round, go_on);
                self.round_step(peer, next);
            }
            Done::SyncFailed { peer, round } => {
                if self.rounds.is_current(&peer, round) {
                    self.round_over(peer);
                }
            }
        }
    }

    /// Starts back-filling from `peer`, or queues the round behind the
    /// one running.
    fn start_sync(&mut self, peer: PeerId, start: Start) {
        if !self.peers.is_connected(&peer) || self.peers.is_banned(&peer) {
            return;
        }
        let Some(round) = self.rounds.begin(peer, start) else {
            return;
        };
        match start {
            Start::Watermark => backfill::read_watermark(
                &mut self.tasks,
                self.store.clone(),
                (peer, round),
                self.done_tx.clone(),
            ),
            Start::Beginning => self.request_first_page(peer, round, 0),
        }
    }

    /// Ends the round with `peer`, and begins the one queued behind it.
    fn round_over(&mut self, peer: PeerId) {
        if let Some(start) = self.rounds.end(&peer) {
            self.start_sync(peer, start);
        }
    }

    /// Asks for the first page of round `round` with `peer`, unless that
    /// round is over (it ended while its watermark was being read).
    fn request_first_page(&mut self, peer: PeerId, round: u64, since: u64) {
        if let Some(request) = self.rounds.first_page(peer, round, since) {
            self.request_page(peer, request);
        }
    }

    fn request_page(&mut self, peer: PeerId, request: SyncRequest) {
        let since = request.since;
        let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
        self.rounds.sent(id, peer, since);
    }

    /// Counts what a back-fill page from `peer` brought, gossips the
    /// vouches in it on, and charges the peer for invalid statements.
    fn page_ingested(&mut self, peer: PeerId, outcome: PageOutcome) {
        self.metrics.synced(outcome.stored as u64);
        for vouch in outcome.vouches {
            self.command(Command::Publish(vouch));
        }
        if outcome.rejected > 0 {
            tracing::warn!(%peer, rejected = outcome.rejected, "invalid statements in a back-fill page");
            for _ in 0..outcome.rejected {
                self.offence(peer, Offence::Invalid);
            }
        }
    }

    /// Takes a round's next step: ingests a page (asking for the one after
    /// it meanwhile), waits, ends the round, or begins the one held back
    /// until the page of an ended round was in.
    fn round_step(&mut self, peer: PeerId, next: Next) {
        match next {
            Next::Ingest {
                round,
                page,
                watermark,
                ask,
            } => {
                if let Some(request) = ask {
                    self.request_page(peer, request);
                }
                backfill::ingest(
                    &mut self.tasks,
                    (self.store.clone(), self.ingest.clone()),
                    (peer, round),
                    page,
                    watermark,
                    self.done_tx.clone(),
                );
            }
            Next::Wait => {}
            Next::Over => self.round_over(peer),
            Next::Begin(start) => self.start_sync(peer, start),
        }
    }

    fn sync_all(&mut self, start: Start) {
        for peer in self.peers.connected_peers() {
            self.start_sync(peer, start);
        }
    }

    /// Counts an offence; past the limit, disconnects and bans the peer.
    fn offence(&mut self, peer: PeerId, offence: Offence) {
        let strikes = self.peers.strike(peer, offence);
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        gossipsub.set_application_score(&peer, -f64::from(strikes.held));
        let graylisted = gossipsub
            .peer_score(&peer)
            .is_some_and(|s| s <= GRAYLIST_THRESHOLD);
        if strikes.exhausted || graylisted {
            self.ban(peer, offence.as_str());
        }
    }

    fn ban(&mut self, peer: PeerId, reason: &'static str) {
        let Some(until) = self.peers.ban(peer, Instant::now()) else {
            return;
        };
        self.swarm.behaviour_mut().ip_gate.ban_peer(&peer, until);
        self.swarm.behaviour_mut().blocked.block_peer(peer);
        let _ = self.swarm.disconnect_peer_id(peer);
        self.metrics.peer_banned(reason);
        tracing::warn!(%peer, reason, minutes = self.config.ban_minutes, "peer disconnected and banned");
    }

    /// Lifts expired bans and dials more peers when below the target.
    fn maintain(&mut self) {
        let now = Instant::now();
        self.swarm.behaviour_mut().ip_gate.maintain(now);
        for peer in self.peers.lift_expired_bans(now) {
            self.swarm.behaviour_mut().blocked.unblock_peer(peer);
            tracing::info!(%peer, "ban lifted");
        }
        if self.peers.connected_count() == 0 {
            // Alone: the bootstrap peers may have come up since (their
            // addresses need not name a peer id, so only a dial learns it).
            self.dial_bootstrap();
        }
        self.dial_more();
        self.discover_if_short();
        self.prune();
        self.peers.forget_old();
        self.update_connected_gauge();
    }

    /// Keeps the peer count near the target: DHT queries and other nodes'
    /// dials pile connections up, and a node that never lets go fills its
    /// connection limit and turns newcomers away (a bootstrap node above
    /// all). Beyond twice the target, the lowest-scored peers outside the
    /// gossip mesh are disconnected, but only those connected for
    /// [`PRUNE_GRACE_SECS`]: a newcomer keeps its connections long enough
    /// to be grafted into meshes, rather than being pruned by every busy
    /// peer it dials and left with one connection outside every mesh.
    fn prune(&mut self) {
        let ceiling = self.config.target_peers.saturating_mul(2);
        let connected = self.peers.connected_count();
        if connected <= ceiling {
            return;
        }
        let settled = self.peers.settled_peers(unix_now(), PRUNE_GRACE_SECS);
        let gossipsub = &self.swarm.behaviour().gossipsub;
        let mesh: HashSet<&PeerId> = gossipsub.all_mesh_peers().collect();
        let mut spare: Vec<(f64, PeerId)> = settled
            .iter()
            .filter(|peer| !mesh.contains(peer))
            .map(|peer| (gossipsub.peer_score(peer).unwrap_or(0.0), *peer))
            .collect();
        spare.sort_by(|a, b| a.0.total_cmp(&b.0));
        let excess = connected - ceiling;
        for (_, peer) in spare.into_iter().take(excess) {
            tracing::debug!(%peer, "pruned: more peers than needed");
            let _ = self.swarm.disconnect_peer_id(peer);
        }
    }

    /// Short of peers: asks the DHT for more now, and again every
    /// [`EAGER_DISCOVERY`] until the target is met, rather than once a
    /// minute. A newcomer that met its bootstrap node while that node knew
    /// few others would otherwise stay connected to it alone for a minute,
    /// outside every gossip mesh, getting statements only by back-fill.
    fn discover_if_short(&mut self) {
        if self.peers.connected_count() < self.config.target_peers
            && self
                .last_discovery
                .is_none_or(|at| at.elapsed() >= EAGER_DISCOVERY)
        {
            self.discover();
        }
    }

    /// Asks the DHT for peers (a Kademlia bootstrap: a lookup of this
    /// node's own key, which meets the peers closest to it).
    fn discover(&mut self) {
        match self.swarm.behaviour_mut().kademlia.bootstrap() {
            Ok(_) => self.last_discovery = Some(Instant::now()),
            // (Not counted as a lookup: the first peer the DHT learns
            // starts one at once.)
            Err(_) => tracing::debug!("no known peers to bootstrap the DHT from"),
        }
    }

    /// Alone after a failed dial: dials the bootstrap peers again, and
    /// waits twice as long before the next time.
    fn redial_bootstrap(&mut self) {
        self.redial = None;
        if self.peers.connected_count() == 0 {
            self.dial_bootstrap();
            self.redial_backoff = (self.redial_backoff * 2).min(MAINTENANCE);
        }
    }

    fn dial_bootstrap(&mut self) {
        for addr in self.bootstrap.clone() {
            if let Err(error) = self.swarm.dial(addr.clone()) {
                tracing::warn!(%addr, %error, "cannot dial bootstrap peer");
            }
        }
    }

    /// Dials known peers until the target is reached.
    fn dial_more(&mut self) {
        for peer in self.peers.to_dial() {
            self.dial_peer(peer);
        }
    }

    fn dial_peer(&mut self, peer: PeerId) {
        let Some(addrs) = self.peers.dial(&peer) else {
            return;
        };
        let opts = DialOpts::peer_id(peer).addresses(addrs).build();
        if let Err(error) = self.swarm.dial(opts) {
            tracing::debug!(%peer, %error, "cannot dial");
        }
    }

    /// Remembers an address of a peer, for dialing and the DHT.
    fn learn(&mut self, peer: PeerId, addr: Multiaddr) {
        if let Some(addr) = self.peers.learn(peer, addr, unix_now()) {
            self.swarm.behaviour_mut().kademlia.add_address(&peer, addr);
        }
    }

    fn update_connected_gauge(&self) {
        self.metrics
            .peers_connected
            .set(self.peers.connected_count() as i64);
    }

    /// Saves the peer book and forgets the back-fill watermarks of peers no
    /// longer known (on the blocking pool; `self` is not held across the
    /// wait, so the actor's future stays `Send`).
    fn save_peer_book(&self) -> impl Future<Output = ()> + Send + 'static {
        let (book, known) = (self.peers.book(), self.peers.known_ids());
        let store = self.store.clone();
        async move {
            let saved = tokio::task::spawn_blocking(move || {
                book.save(&store)?;
                store.retain_sync_watermarks(&known).map(|_| ())
            });
            match saved.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::warn!(%error, "cannot save the peer book or prune watermarks")
                }
                Err(error) => tracing::warn!(%error, "peer book task failed"),
            }
        }
    }
}
