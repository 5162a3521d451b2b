//! Wires the parts into a running node: store, trust engine, ingest path,
//! the network, HTTP API, the mail-server front-ends, and the housekeeping
//! timers.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use vouch_protocol::Keypair;

use crate::api::{self, AppParts, AppState};
use crate::clock::unix_now;
use crate::config::{Config, ConfigError};
use crate::data_dir::{DataDir, DataDirError};
use crate::evidence::Intake;
use crate::ingest::Ingest;
use crate::lookup::Reputations;
use crate::metrics::Metrics;
use crate::mta;
use crate::names::Names;
use crate::p2p;
use crate::p2p::Start;
use crate::store::{self, Store};
use crate::trust::TrustEngine;

/// Why a node could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The data directory is unusable.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store could not be opened or read.
    #[error("store {path}: {source}")]
    Store {
        /// The database directory.
        path: String,
        /// What RocksDB said.
        source: store::Error,
    },
    /// The API could not listen.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The configured address.
        addr: SocketAddr,
        /// The socket error.
        source: std::io::Error,
    },
    /// A mail-server front-end could not listen.
    #[error(transparent)]
    ListenMta(#[from] mta::BindError),
    /// The network could not start.
    #[error(transparent)]
    P2p(#[from] p2p::Error),
    /// The API server failed.
    #[error("API server: {0}")]
    Serve(std::io::Error),
    /// The API token is empty: every write would need no secret.
    #[error(
        "the API token is empty; write endpoints need a secret (remove api.token and run `vouch init`)"
    )]
    EmptyToken,
}

/// Every socket a node serves, bound before serving so callers (tests on
/// port 0) learn the addresses.
pub struct Listeners {
    /// The HTTP API.
    pub api: TcpListener,
    /// The policy server and the DNS zones (each unless disabled).
    pub mta: mta::FrontEndSockets,
    /// The network, listening (unless disabled).
    pub p2p: Option<p2p::Running>,
}

/// A node opened from its data directory, ready to run.
pub struct Node {
    config: Config,
    state: AppState,
    network: Option<p2p::Network>,
}

impl Node {
    /// Opens the node in `data_dir` (which must be initialised).
    pub fn open(data_dir: &DataDir) -> Result<Node, NodeError> {
        let config = data_dir.config()?;
        let keypair = data_dir.keypair()?;
        let token = data_dir.token()?;
        Node::open_with(data_dir, config, keypair, token)
    }

    /// Opens with explicit parts (tests and benchmarks).
    pub fn open_with(
        data_dir: &DataDir,
        config: Config,
        keypair: Keypair,
        token: String,
    ) -> Result<Node, NodeError> {
        if token.trim().is_empty() {
            return Err(NodeError::EmptyToken);
        }
        let db_path = data_dir.db_path();
        let store_error = |source| NodeError::Store {
            path: db_path.display().to_string(),
            source,
        };
        let store = Arc::new(Store::open(&db_path).map_err(store_error)?);
        let trust = Arc::new(TrustEngine::new(keypair.public(), config.trust.clone()));
        for statement in store.trust_statements().map_err(store_error)? {
            trust.apply(&statement);
        }
        trust.recompute_if_dirty();
        let metrics = Metrics::default();
        let ingest = Arc::new(
            Ingest::new(store.clone(), trust.clone(), metrics.clone())
                .with_stranger_quota(config.p2p.stranger_quota()),
        );
        let (network, p2p) = if config.p2p.enabled {
            let (network, handle) = p2p::Network::new(
                config.p2p.clone(),
                &keypair,
                store.clone(),
                ingest.clone(),
                metrics.clone(),
            )?;
            (Some(network), handle)
        } else {
            (None, p2p::Handle::disabled())
        };
        let names = Arc::new(Names::open(&config.names, store.clone()));
        let state = AppState::new(AppParts {
            reputations: Reputations::new(
                store.clone(),
                trust.clone(),
                metrics.clone(),
                names.book.clone(),
            ),
            names,
            store,
            trust,
            ingest,
            p2p,
            signer: Arc::new(keypair),
            token: token.into(),
            intake: Arc::new(Intake::new(&config)),
            metrics,
            bounds: api::Bounds::new(&config.api),
            max_batch: config.api.max_batch,
            started_at: unix_now(),
        });
        Ok(Node {
            config,
            state,
            network,
        })
    }

    /// The API state (handles to every part).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Binds the API, policy, DNS and network sockets; split from
    /// [`Node::serve`] so callers learn the bound addresses (port 0 in
    /// tests) before serving.
    pub async fn bind(&mut self) -> Result<Listeners, NodeError> {
        let addr = self.config.api.listen;
        let api = TcpListener::bind(addr)
            .await
            .map_err(|source| NodeError::Listen { addr, source })?;
        let mta = mta::FrontEndSockets::bind(&self.config.policy, &self.config.dnsbl).await?;
        let p2p = match self.network.take() {
            Some(network) => Some(network.bind()?),
            None => None,
        };
        Ok(Listeners { api, mta, p2p })
    }

    /// Serves the API and the mail-server front-ends, and runs housekeeping,
    /// until `shutdown` completes. Once it returns, only a blocking lookup
    /// its caller gave up on (a timed-out request) may still hold the store,
    /// for as long as that lookup runs.
    pub async fn serve(
        self,
        listeners: Listeners,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), NodeError> {
        let housekeeping = tokio::spawn(housekeeping(self.state.clone(), self.config.clone()));
        let names = tokio::spawn(self.state.names.clone().run());
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let front_ends = tokio::spawn(mta::serve(
            listeners.mta,
            Arc::new(self.state.reputations.clone()),
            self.state.metrics.clone(),
            self.config.policy.clone(),
            self.config.dnsbl.clone(),
            stopping.clone(),
        ));
        let network = listeners
            .p2p
            .map(|running| tokio::spawn(running.run(stopping)));
        let router = api::router(self.state.clone(), &self.config.api);
        if let Ok(addr) = listeners.api.local_addr() {
            tracing::info!(%addr, node_id = %self.state.signer.public(), "API listening");
        }
        let served = axum::serve(listeners.api, router)
            .with_graceful_shutdown(shutdown)
            .await;
        let _ = stop.send(true);
        if let Err(error) = front_ends.await {
            tracing::error!(%error, "mail-server front-ends failed");
        }
        if let Some(Err(error)) = match network {
            Some(network) => Some(network.await),
            None => None,
        } {
            tracing::error!(%error, "network failed");
        }
        housekeeping.abort();
        names.abort();
        // Wait until both are gone: each holds the store.
        let _ = housekeeping.await;
        let _ = names.await;
        served.map_err(NodeError::Serve)
    }
}

/// Recomputes trust when the graph changed, sweeps expired statements,
/// and gives back the memory bulk ingest freed once it is over.
async fn housekeeping(state: AppState, config: Config) {
    let mut recompute =
        tokio::time::interval(Duration::from_millis(config.trust.recompute_interval_ms));
    let mut sweep = tokio::time::interval(Duration::from_secs(config.store.sweep_interval_secs));
    recompute.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut trim = tokio::time::interval(crate::ingest::BULK_QUIET);
    trim.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = trim.tick() => {
                let ingest = state.ingest.clone();
                let given_back =
                    tokio::task::spawn_blocking(move || ingest.give_back_memory_if_quiet()).await;
                if matches!(given_back, Ok(true)) {
                    tracing::debug!("write buffers bulk ingest filled written out");
                }
            }
            _ = recompute.tick() => {
                let trust = state.trust.clone();
                let took = tokio::task::spawn_blocking(move || trust.recompute_if_dirty()).await;
                if let Ok(Some(took)) = took {
                    let after = state.trust.snapshot().len();
                    state.metrics.trust_recompute_micros.set(took.as_micros().min(i64::MAX as u128) as i64);
                    state.metrics.trusted_authors.set(after as i64);
                    tracing::debug!(?took, "trust recomputed");
                }
                // Back-fill pages and operator vouches recompute trust
                // too; growth is noticed here whoever recomputed.
                let grew = state.trust.take_growth();
                if grew || matches!(took, Ok(Some(_))) {
                    settle_strangers(&state, &config, grew).await;
                }
            }
            _ = sweep.tick() => {
                let (store, trust) = (state.store.clone(), state.trust.clone());
                let swept = tokio::task::spawn_blocking(move || {
                    // Batch by batch, so writers interleave with a big sweep.
                    let now = unix_now();
                    let mut total = 0;
                    loop {
                        let expired = store.sweep_expired(now)?;
                        for statement in &expired {
                            trust.remove_expired(statement);
                        }
                        total += expired.len();
                        if expired.len() < store::SWEEP_BATCH {
                            return Ok::<_, store::Error>(total);
                        }
                    }
                }).await;
                match swept {
                    Ok(Ok(0)) => {}
                    Ok(Ok(n)) => tracing::info!(expired = n, "swept expired statements"),
                    Ok(Err(error)) => tracing::error!(%error, "expiry sweep failed"),
                    Err(error) => tracing::error!(%error, "expiry sweep task failed"),
                }
                settle_strangers(&state, &config, false).await;
            }
        }
    }
}

/// Keeps strangers' statements whose authors are now trusted, drops those
/// kept past the retention, and, when the web of trust grew, back-fills
/// again: peers relay and serve only their own web's statements, so what
/// the new authors said may not have reached this node. From the
/// watermarks, as peers move statements they come to trust past them;
/// from the beginning when strangers' statements were turned away here
/// since the web last grew (over the quota, or at the end of their
/// retention), as those may be the new authors'.
async fn settle_strangers(state: &AppState, config: &Config, trust_grew: bool) {
    let retention = config.p2p.stranger_retention_hours.saturating_mul(3600);
    let (store, trust) = (state.store.clone(), state.trust.clone());
    let settled = tokio::task::spawn_blocking(move || {
        let sweep = store.settle_strangers(
            |a| trust.is_trusted(a),
            unix_now().saturating_sub(retention),
        )?;
        for statement in &sweep.dropped {
            trust.remove_expired(statement);
        }
        Ok::<_, store::Error>((sweep.promoted, sweep.dropped.len()))
    })
    .await;
    match settled {
        Ok(Ok((promoted, dropped))) => {
            if promoted > 0 || dropped > 0 {
                tracing::info!(promoted, dropped, "settled strangers' statements");
            }
            if dropped > 0 {
                state.ingest.note_turned_away();
            }
        }
        Ok(Err(error)) => tracing::error!(%error, "settling strangers failed"),
        Err(error) => tracing::error!(%error, "settling strangers task failed"),
    }
    if trust_grew {
        let start = if state.ingest.take_turned_away() {
            Start::Beginning
        } else {
            Start::Watermark
        };
        tracing::info!(?start, "web of trust grew; back-filling again");
        let _ = state.p2p.sync_again(start).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_api_token_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data_dir = DataDir::new(dir.path());
        data_dir.init().expect("init");
        let mut config = Config::default();
        config.p2p.enabled = false;
        for token in ["", "  \n"] {
            let keypair = data_dir.keypair().expect("key");
            let opened = Node::open_with(&data_dir, config.clone(), keypair, token.into());
            assert!(matches!(opened, Err(NodeError::EmptyToken)));
        }
    }
}
