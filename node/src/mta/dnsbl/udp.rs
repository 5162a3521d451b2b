//! DNS over UDP, served here rather than by hickory's UDP server, which
//! receives every datagram and sends every answer on one task and spawns a
//! task per query. Here one task per core shares the socket: each receives
//! a query, answers it with the same [`Zones`] handler as TCP, and sends
//! the answer itself, so the zones answer at the rate of the cores, as
//! rbldnsd answers at the rate of its one. A query whose answer is not
//! quick (its lookup went to the blocking pool) carries on in a task of
//! its own, so it holds no worker up.
//!
//! A plain query (one question, A or TXT, about a name under a zone) is
//! read and answered on the wire ([`super::plain`]); hickory decodes and
//! encodes everything else.
//!
//! As hickory did: a datagram shorter than a DNS header is dropped, a
//! response is never answered, a message that does not parse gets
//! FORMERR, and an answer fits the client's EDNS size (512 bytes without
//! EDNS).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Waker};

use hickory_server::net::runtime::TokioTime;
use hickory_server::net::xfer::Protocol;
use hickory_server::proto::op::{Header, HeaderCounts, MessageType, Metadata, ResponseCode};
use hickory_server::proto::serialize::binary::{BinDecodable, BinEncodable};
use hickory_server::server::{Request, RequestHandler};
use tokio::net::UdpSocket;
use tokio::sync::watch;

use super::captured::Captured;
use super::plain::PlainQuery;
use super::{MAX_UDP_PAYLOAD, Zones};
use crate::mta::stopped;

/// Most bytes of a query read; a longer one is cut short, fails to parse
/// and gets FORMERR (a DNS list query is under 300 bytes).
const MAX_QUERY_BYTES: usize = 4096;

/// Most tasks receiving on the socket, whatever the core count.
const MAX_WORKERS: usize = 16;

/// Answers queries on `socket` until `stop` turns true: one receiving
/// task per core.
pub async fn serve(zones: Arc<Zones>, socket: UdpSocket, stop: watch::Receiver<bool>) {
    let socket = Arc::new(socket);
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, MAX_WORKERS);
    let tasks: Vec<_> = (0..workers)
        .map(|_| tokio::spawn(receive(zones.clone(), socket.clone(), stop.clone())))
        .collect();
    for task in tasks {
        if let Err(error) = task.await {
            tracing::error!(%error, "DNS UDP worker failed");
        }
    }
}

/// One worker: receives, answers and sends until `stop` turns true.
async fn receive(zones: Arc<Zones>, socket: Arc<UdpSocket>, mut stop: watch::Receiver<bool>) {
    let mut buffer = vec![0u8; MAX_QUERY_BYTES];
    loop {
        let (length, peer) = tokio::select! {
            _ = stopped(&mut stop) => return,
            received = socket.recv_from(&mut buffer) => match received {
                Ok(received) => received,
                Err(error) => {
                    // ICMP errors from earlier answers surface here: not fatal.
                    tracing::debug!(%error, "DNS UDP receive failed");
                    continue;
                }
            },
        };
        // Port 0 cannot be answered.
        if peer.port() == 0 {
            continue;
        }
        let datagram = buffer.get(..length).unwrap_or_default().to_vec();
        let mut reply = Box::pin(reply(zones.clone(), socket.clone(), datagram, peer));
        // Answered here when quick; otherwise the query carries on alone.
        if reply
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_pending()
        {
            tokio::spawn(reply);
        }
    }
}

/// Answers one datagram from `peer`, if it calls for an answer.
async fn reply(zones: Arc<Zones>, socket: Arc<UdpSocket>, datagram: Vec<u8>, peer: SocketAddr) {
    let Some(answer) = answer(&zones, datagram, peer).await else {
        return;
    };
    if let Err(error) = socket.send_to(&answer, peer).await {
        tracing::debug!(%error, %peer, "cannot send the DNS answer");
    }
}

/// The encoded answer to `datagram`, if it calls for one.
async fn answer(zones: &Zones, datagram: Vec<u8>, peer: SocketAddr) -> Option<Vec<u8>> {
    // Most queries: one plain question, answered on the wire.
    if let Some(query) = PlainQuery::read(&datagram)
        && let Some(answer) = zones.answer_plain(&query, peer).await
    {
        return Some(answer);
    }
    hickory_answer(zones, datagram, peer).await
}

/// The encoded answer to `datagram` decoded and encoded by hickory, if it
/// calls for one.
pub(super) async fn hickory_answer(
    zones: &Zones,
    datagram: Vec<u8>,
    peer: SocketAddr,
) -> Option<Vec<u8>> {
    // Shorter than a header, or a response: no answer.
    let header = Header::from_bytes(datagram.get(..12)?).ok()?;
    if header.metadata.message_type == MessageType::Response {
        return None;
    }
    let request = match Request::from_bytes(datagram, peer, Protocol::Udp) {
        Ok(request) => request,
        Err(error) => {
            tracing::debug!(%error, %peer, "not a DNS message");
            zones.metrics.malformed("dnsbl", "udp_message");
            return format_error(&header);
        }
    };
    let max_size = request
        .edns
        .as_ref()
        .map_or(512, |edns| edns.max_payload().clamp(512, MAX_UDP_PAYLOAD));
    let answer = Captured::new(max_size);
    zones
        .handle_request::<_, TokioTime>(&request, answer.clone())
        .await;
    answer.take()
}

/// FORMERR for a query whose header reads but whose rest does not.
fn format_error(query: &Header) -> Option<Vec<u8>> {
    let mut metadata = Metadata::response_from_request(&query.metadata);
    metadata.response_code = ResponseCode::FormErr;
    Header {
        metadata,
        counts: HeaderCounts::default(),
    }
    .to_bytes()
    .ok()
}
