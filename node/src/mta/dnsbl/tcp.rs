//! DNS over TCP (RFC 1035 §4.2.2, RFC 7766), served here rather than by
//! hickory's TCP listener, which accepts connections without limit: like
//! the policy server, at most `dnsbl.max_tcp_connections` are open at once
//! (the rest wait in the listen backlog), each is closed after
//! `dnsbl.tcp_idle_timeout_secs` without a complete query, and every
//! query gets the same [`Zones`] handler's answer as over UDP. Framing is
//! the only part written here: a two-byte length before each message.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_server::net::runtime::TokioTime;
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{Request, RequestHandler};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::Instrument;

use super::Zones;
use super::captured::Captured;
use crate::mta::accept_capped;

/// Accepts DNS-over-TCP connections on `listener` until `stop` turns true,
/// at most `max_connections` at a time; open connections are closed then.
pub async fn serve(
    zones: Arc<Zones>,
    listener: TcpListener,
    max_connections: usize,
    idle: Duration,
    stop: watch::Receiver<bool>,
) {
    accept_capped(
        listener,
        max_connections,
        "dnsbl tcp",
        stop,
        |stream, peer| {
            let zones = zones.clone();
            let span = tracing::debug_span!("dns_tcp_connection", %peer);
            async move { connection(&zones, stream, peer, idle).await }.instrument(span)
        },
    )
    .await;
}

/// Answers the queries on one connection until the client closes it, goes
/// idle, or sends something that is not a DNS message.
async fn connection(zones: &Zones, mut stream: TcpStream, peer: SocketAddr, idle: Duration) {
    let _ = stream.set_nodelay(true);
    loop {
        let mut length = [0u8; 2];
        let read = async {
            stream.read_exact(&mut length).await?;
            let mut message = vec![0u8; usize::from(u16::from_be_bytes(length))];
            stream.read_exact(&mut message).await?;
            Ok::<_, std::io::Error>(message)
        };
        let message = match tokio::time::timeout(idle, read).await {
            Ok(Ok(message)) => message,
            // Closed, idle or broken: nothing more to answer.
            Ok(Err(_)) | Err(_) => return,
        };
        let request = match Request::from_bytes(message, peer, Protocol::Tcp) {
            Ok(request) => request,
            Err(error) => {
                tracing::debug!(%error, "not a DNS message; closing");
                zones.metrics.malformed("dnsbl", "tcp_message");
                return;
            }
        };
        // As hickory frames TCP answers: up to the 64 KiB a length prefix
        // allows (an answer this zone gives is never near it).
        let answer = Captured::new(u16::MAX);
        zones
            .handle_request::<_, TokioTime>(&request, answer.clone())
            .await;
        let Some(bytes) = answer.take() else {
            return;
        };
        let Ok(length) = u16::try_from(bytes.len()) else {
            return;
        };
        let write = async {
            stream.write_all(&length.to_be_bytes()).await?;
            stream.write_all(&bytes).await
        };
        if !matches!(tokio::time::timeout(idle, write).await, Ok(Ok(()))) {
            return;
        }
    }
}
