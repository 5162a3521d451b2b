//! `vouch init`, `vouch run`, `vouch id`: commands on the data directory.

use anyhow::Context;
use clap::Args;
use tracing_subscriber::EnvFilter;
use vouch_node::{DataDir, Node};

/// `vouch run` overrides of the `[p2p]` settings, for containers and
/// testnets where editing config.toml is awkward.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Multiaddrs to listen on (replaces p2p.listen).
    #[arg(long = "p2p-listen", env = "VOUCH_P2P_LISTEN", value_delimiter = ',')]
    p2p_listen: Vec<String>,
    /// Addresses to announce to peers (replaces p2p.external).
    #[arg(
        long = "p2p-external",
        env = "VOUCH_P2P_EXTERNAL",
        value_delimiter = ','
    )]
    p2p_external: Vec<String>,
    /// Peers to dial at start (added to p2p.bootstrap).
    #[arg(long, env = "VOUCH_BOOTSTRAP", value_delimiter = ',')]
    bootstrap: Vec<String>,
    /// Find peers on the local network by mDNS (sets p2p.mdns).
    #[arg(long, env = "VOUCH_MDNS")]
    mdns: bool,
}

/// Creates key, token and config; refuses to overwrite.
pub fn init(data_dir: &DataDir) -> anyhow::Result<()> {
    let keypair = data_dir.init()?;
    outln!("initialised {}", data_dir.root().display());
    outln!("node id: {}", keypair.public());
    Ok(())
}

/// Prints the node id (or its peer id).
pub fn id(data_dir: &DataDir, peer: bool, dns: Option<&str>) -> anyhow::Result<()> {
    let node = data_dir.keypair()?.public();
    if let Some(domain) = dns {
        return dns_record(data_dir, &node, domain);
    }
    if peer {
        let peer = vouch_node::peer_id(&node).context("the node key is not a valid ed25519 key")?;
        outln!("{peer}");
    } else {
        outln!("{node}");
    }
    Ok(())
}

/// Prints the `_vouch.<domain>` TXT record naming this node.
fn dns_record(
    data_dir: &DataDir,
    node: &vouch_protocol::NodeKey,
    domain: &str,
) -> anyhow::Result<()> {
    let domain = vouch_node::canonical_domain(domain)?;
    let config = data_dir.config()?;
    let (record, has_addr) = vouch_node::own_record(node, &config.p2p.external);
    if !has_addr {
        eprintln!(
            "note: no [p2p] external address is configured, so the record names no address to dial"
        );
    }
    outln!(
        "{}.{domain}. 3600 IN TXT \"{record}\"",
        vouch_node::NAME_LABEL
    );
    eprintln!(
        "publish it, then claim the name in the network: vouch endorse {domain} --category operator"
    );
    Ok(())
}

/// Runs the node in the foreground until Ctrl-C or SIGTERM.
pub fn run(data_dir: &DataDir, args: RunArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            // hickory-server logs every DNS query at info; keep its warnings only.
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,hickory_server=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    if !data_dir.is_initialised() {
        let keypair = data_dir.init()?;
        tracing::info!(dir = %data_dir.root().display(), node_id = %keypair.public(), "initialised new data directory");
    }
    let mut config = data_dir.config()?;
    if !args.p2p_listen.is_empty() {
        config.p2p.listen = args.p2p_listen;
    }
    if !args.p2p_external.is_empty() {
        config.p2p.external = args.p2p_external;
    }
    config.p2p.bootstrap.extend(args.bootstrap);
    config.p2p.mdns |= args.mdns;
    config.p2p.check()?;
    let mut node = Node::open_with(data_dir, config, data_dir.keypair()?, data_dir.token()?)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listeners = node.bind().await?;
        node.serve(listeners, shutdown_signal()).await
    })?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
