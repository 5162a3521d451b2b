//! Builds the swarm: TCP with noise and yamux, DNS, the node's behaviour,
//! and the listen and external addresses the settings name.

use std::time::Duration;

use libp2p::{Swarm, identity, noise, tcp, yamux};

use super::behaviour::Behaviour;
use super::{Config, Error};
use crate::metrics::Metrics;

/// Idle connections are closed after this long.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(120);

/// The swarm of the node with `key`, listening where the settings say.
pub fn build(
    key: identity::Keypair,
    config: &Config,
    metrics: Metrics,
) -> Result<Swarm<Behaviour>, Error> {
    let listen = config.listen_addrs()?;
    let external = config.external_addrs()?;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| Error::Transport(Box::new(e)))?
        .with_dns()
        .map_err(|e| Error::Transport(Box::new(e)))?
        .with_behaviour(|key| {
            Behaviour::new(key, config, metrics)
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
        })
        .map_err(|e| Error::Transport(Box::new(e)))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
        .build();
    for addr in listen {
        swarm
            .listen_on(addr.clone())
            .map_err(|source| Error::Listen { addr, source })?;
    }
    for addr in external {
        swarm.add_external_address(addr);
    }
    Ok(swarm)
}
