//! DNS over UDP, served here rather than by hickory's UDP server, which
//! receives every datagram and sends every answer on one task and spawns a
//! task per query. Here a thread (or `dnsbl.udp_threads` sharing the
//! socket) blocks until queries arrive, as rbldnsd does, takes every one
//! waiting (up to [`BATCH`](super::datagrams::BATCH)) in one `recvmmsg`,
//! answers each with the same [`Zones`] handler as TCP, and sends the
//! answers in one `sendmmsg`. (Tokio's readiness machinery between the two system calls
//! cost a fifth of the rate: 71k against 91k answers/s on 2 cores; one
//! datagram a call where many are waiting cost a tenth to a fifth, most of
//! it on listed senders: 116k against 144k answers/s.) One thread is the
//! default: on two cores shared with the load generator, two threads
//! answered at the same rate but spent 8 to 9 µs of CPU a query against
//! one thread's 6 to 7, each waking for fewer datagrams. A query whose
//! answer is not quick (its lookup went to the blocking pool) carries on
//! in a runtime task of its own, so it holds no thread up; it sends its
//! answer on the same blocking socket, which a UDP send does not block on
//! unless the socket's send buffer is full.
//!
//! A plain query (one question, A or TXT, about a name under a zone) is
//! read and answered on the wire ([`super::plain`]), straight from the
//! receive buffer when its lookup is quick; hickory decodes and encodes
//! everything else.
//!
//! As hickory did: a datagram shorter than a DNS header is dropped, a
//! response is never answered, a message that does not parse gets
//! FORMERR, and an answer fits the client's EDNS size (512 bytes without
//! EDNS).

use std::future::Future;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::task::{Context, Waker};
use std::time::Duration;

use hickory_server::net::runtime::TokioTime;
use hickory_server::net::xfer::Protocol;
use hickory_server::proto::op::{Header, HeaderCounts, MessageType, Metadata, ResponseCode};
use hickory_server::proto::serialize::binary::{BinDecodable, BinEncodable};
use hickory_server::server::{Request, RequestHandler};
use tokio::net::UdpSocket;
use tokio::sync::watch;

use super::captured::Captured;
use super::config::MAX_UDP_THREADS;
use super::datagrams::{Received, Replies};
use super::plain::PlainQuery;
use super::{MAX_UDP_PAYLOAD, Zones};

/// Most bytes of a query read; a longer one is cut short, fails to parse
/// and gets FORMERR (a DNS list query is under 300 bytes).
const MAX_QUERY_BYTES: usize = 4096;

/// How long a worker waits for a datagram before it checks whether to
/// stop: bounds how late the zones stop.
const STOP_CHECK: Duration = Duration::from_millis(250);

/// Answers queries on `socket` until `stop` turns true, on
/// `dnsbl.udp_threads` receiving threads.
pub async fn serve(zones: Arc<Zones>, socket: UdpSocket, stop: watch::Receiver<bool>) {
    let socket = match blocking(socket) {
        Ok(socket) => Arc::new(socket),
        Err(error) => {
            tracing::error!(%error, "cannot serve DNS over UDP");
            return;
        }
    };
    let workers = zones.config.udp_threads.clamp(1, MAX_UDP_THREADS);
    let runtime = tokio::runtime::Handle::current();
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (zones, socket, stop, runtime) =
                (zones.clone(), socket.clone(), stop.clone(), runtime.clone());
            tokio::task::spawn_blocking(move || receive(&zones, &socket, &stop, &runtime))
        })
        .collect();
    for task in tasks {
        if let Err(error) = task.await {
            tracing::error!(%error, "DNS UDP worker failed");
        }
    }
}

/// `socket` as a blocking socket that gives up waiting after [`STOP_CHECK`].
fn blocking(socket: UdpSocket) -> std::io::Result<std::net::UdpSocket> {
    let socket = socket.into_std()?;
    socket.set_nonblocking(false)?;
    socket.set_read_timeout(Some(STOP_CHECK))?;
    socket.set_write_timeout(Some(STOP_CHECK))?;
    Ok(socket)
}

/// One worker thread: receives, answers and sends until `stop` turns true.
fn receive(
    zones: &Arc<Zones>,
    socket: &Arc<std::net::UdpSocket>,
    stop: &watch::Receiver<bool>,
    runtime: &tokio::runtime::Handle,
) {
    // Lookups that are not quick go to the runtime's blocking pool.
    let _runtime = runtime.enter();
    let mut received = Received::new(MAX_QUERY_BYTES);
    let mut replies = Replies::new();
    // Until told to stop, or the sender of `stop` is gone.
    while !*stop.borrow() && stop.has_changed().is_ok() {
        let count = match received.receive(socket.as_fd()) {
            Ok(count) => count,
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(error) => {
                // ICMP errors from earlier answers surface here: not fatal.
                tracing::debug!(%error, "DNS UDP receive failed");
                continue;
            }
        };
        for index in 0..count {
            let Some((datagram, peer)) = received.get(index) else {
                continue;
            };
            // Port 0 cannot be answered.
            if peer.port() == 0 {
                continue;
            }
            // Most queries: one plain question with a quick answer,
            // answered from the buffer and sent with the batch.
            if let Some(query) = PlainQuery::read(datagram)
                && let Some(answer) = zones.answer_plain_now(&query, peer)
                && replies.push(answer, peer)
            {
                continue;
            }
            let datagram = datagram.to_vec();
            let mut reply = Box::pin(reply(zones.clone(), socket.clone(), datagram, peer));
            // Answered here when quick; otherwise the query carries on alone.
            if reply
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
                .is_pending()
            {
                runtime.spawn(reply);
            }
        }
        replies.send(socket.as_fd());
    }
}

/// Answers one datagram from `peer`, if it calls for an answer.
async fn reply(
    zones: Arc<Zones>,
    socket: Arc<std::net::UdpSocket>,
    datagram: Vec<u8>,
    peer: SocketAddr,
) {
    let Some(answer) = answer(&zones, datagram, peer).await else {
        return;
    };
    send(&socket, &answer, peer);
}

/// Sends `answer` to `peer` on `socket`.
fn send(socket: &std::net::UdpSocket, answer: &[u8], peer: SocketAddr) {
    if let Err(error) = socket.send_to(answer, peer) {
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
