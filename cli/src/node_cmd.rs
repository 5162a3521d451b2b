//! `vouch init`, `vouch run`, `vouch id`: commands on the data directory.

use anyhow::Context;
use tracing_subscriber::EnvFilter;
use vouch_node::{DataDir, Node};

/// Creates key, token and config; refuses to overwrite.
pub fn init(data_dir: &DataDir) -> anyhow::Result<()> {
    let keypair = data_dir.init()?;
    println!("initialised {}", data_dir.root().display());
    println!("node id: {}", keypair.public());
    Ok(())
}

/// Prints the node id.
pub fn id(data_dir: &DataDir) -> anyhow::Result<()> {
    println!("{}", data_dir.keypair()?.public());
    Ok(())
}

/// Runs the node in the foreground until Ctrl-C or SIGTERM.
pub fn run(data_dir: &DataDir) -> anyhow::Result<()> {
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
    let node = Node::open(data_dir)?;
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
