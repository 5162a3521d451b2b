//! The DNS block list and allow list zones (RFC 5782), answered over UDP
//! and TCP, so postscreen, Exim, rspamd and SpamAssassin consult Vouch with
//! their stock DNS list support. hickory-server's request types decode and
//! encode every query, except the plain one over UDP (one question, A or
//! TXT, about a name under a zone), which [`plain`] reads and answers on
//! the wire.
//!
//! A listed name answers A 127.0.0.x (the table in docs/mta.md) and TXT with the
//! reason; an unlisted one NXDOMAIN with the SOA (its minimum is the
//! negative TTL). Names outside the zones are REFUSED, names under them that
//! are neither a reversed address nor a domain FORMERR. A lookup that fails
//! or is late answers SERVFAIL, which list consumers treat as "not listed".

mod captured;
mod codes;
mod config;
mod datagrams;
mod names;
mod plain;
mod tcp;
mod udp;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_server::net::runtime::Time;
use hickory_server::proto::op::{Edns, Header, HeaderCounts, Metadata, OpCode, ResponseCode};
use hickory_server::proto::rr::rdata::{A, SOA, TXT};
use hickory_server::proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_server::proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use smallvec::SmallVec;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use tracing::Instrument;
use vouch_protocol::Subject;

pub use codes::{allow_code, block_code};
pub use names::{NameError, Target, Zone, ZoneNames};
use plain::{MAX_ANSWER_RECORD, PlainQuery};

use super::reason::printable;
use super::{BindError, Lookups, reason};
use crate::lookup::Standing;
use crate::metrics::Metrics;
use crate::trust::Reputation;
pub use config::DnsblConfig;

/// Largest UDP answer we offer to EDNS clients (the DNS flag day 2020 value).
const MAX_UDP_PAYLOAD: u16 = 1232;

/// Lookups in flight at once. A query whose lookup goes to the blocking
/// pool carries on in a task of its own, so a flood would otherwise queue
/// unbounded work there; past this the zones answer SERVFAIL at once
/// (counted as `busy`).
const MAX_IN_FLIGHT: usize = 1024;

/// Binds UDP and TCP on the same address. With port 0, both get the same
/// free port (a few tries, since the TCP port may be taken).
pub async fn bind(addr: SocketAddr) -> Result<(UdpSocket, TcpListener), BindError> {
    let error = |server, source| BindError {
        server,
        addr,
        source,
    };
    let mut last = None;
    for _ in 0..if addr.port() == 0 { 10 } else { 1 } {
        let udp = UdpSocket::bind(addr)
            .await
            .map_err(|e| error("dnsbl udp", e))?;
        let bound = udp.local_addr().map_err(|e| error("dnsbl udp", e))?;
        match TcpListener::bind(bound).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) => last = Some(e),
        }
    }
    Err(error(
        "dnsbl tcp",
        last.unwrap_or_else(|| std::io::Error::other("no port")),
    ))
}

/// Serves the zones on `udp` and `tcp` (both ours: see [`udp`] and
/// [`tcp`]) until `stop` turns true.
pub async fn serve(zones: Zones, udp: UdpSocket, tcp: TcpListener, stop: watch::Receiver<bool>) {
    let idle = Duration::from_secs(zones.config.tcp_idle_timeout_secs);
    let max_connections = zones.config.max_tcp_connections;
    let zones = Arc::new(zones);
    let over_tcp = tokio::spawn(tcp::serve(
        zones.clone(),
        tcp,
        max_connections,
        idle,
        stop.clone(),
    ));
    udp::serve(zones, udp, stop).await;
    if let Err(error) = over_tcp.await {
        tracing::error!(%error, "DNS TCP server failed");
    }
}

/// The zones' request handler: configuration, names and handles (cheap to
/// clone: the UDP and TCP servers each hold one).
#[derive(Clone)]
pub struct Zones {
    config: Arc<DnsblConfig>,
    names: ZoneNames,
    lookups: Lookups,
    metrics: Metrics,
    serial: u32,
    in_flight: Arc<tokio::sync::Semaphore>,
    /// Each zone's SOA record (block, allow), encoded once for the plain
    /// path's negative answers.
    soa_records: Arc<[Vec<u8>; 2]>,
}

impl Zones {
    /// Zones answering through `lookups`, counting in `metrics`.
    pub fn new(config: DnsblConfig, lookups: Lookups, metrics: Metrics) -> Zones {
        let names = ZoneNames::new(&config.block_zone, &config.allow_zone);
        // The data changes continuously and is never transferred: the serial
        // only needs to be plausible.
        let serial = u32::try_from(crate::clock::unix_now() % u64::from(u32::MAX)).unwrap_or(1);
        let mut zones = Zones {
            config: Arc::new(config),
            names,
            lookups,
            metrics,
            serial,
            in_flight: Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT)),
            soa_records: Arc::default(),
        };
        zones.soa_records = Arc::new([Zone::Block, Zone::Allow].map(|zone| {
            let mut bytes = Vec::new();
            let mut encoder = BinEncoder::new(&mut bytes);
            // Uncompressed: the bytes are placed in answers as they are.
            encoder.set_name_encoding(NameEncoding::Uncompressed);
            if let Err(error) = zones.soa(zone).emit(&mut encoder) {
                tracing::error!(%error, "cannot encode the zone's SOA record");
            }
            bytes
        }));
        zones
    }

    fn soa(&self, zone: Zone) -> Record {
        let apex: Name = (**self.names.apex(zone)).clone();
        let child = |label: &str| {
            Name::from_ascii(label)
                .and_then(|l| l.append_domain(&apex))
                .unwrap_or_else(|_| apex.clone())
        };
        let soa = SOA::new(
            child("ns"),
            child("hostmaster"),
            self.serial,
            3600,
            600,
            86_400,
            self.config.negative_ttl_secs,
        );
        Record::from_rdata(apex, self.config.negative_ttl_secs, RData::SOA(soa))
    }

    /// Decides the response code and records for one well-formed request.
    async fn resolve(&self, request: &Request) -> Resolved {
        let mut resolved = Resolved::new(ResponseCode::NoError);
        if request.metadata.op_code != OpCode::Query {
            return Resolved::new(ResponseCode::NotImp);
        }
        let [query] = request.queries.queries() else {
            self.metrics.malformed("dnsbl", "query_count");
            return Resolved::new(ResponseCode::FormErr);
        };
        if query.query_class() != DNSClass::IN {
            return Resolved::new(ResponseCode::Refused);
        }
        let (zone, target) = match self.names.classify(query.name()) {
            Ok(found) => found,
            Err(NameError::OutOfZone(_)) => return Resolved::new(ResponseCode::Refused),
            Err(error @ NameError::Malformed(_)) => {
                self.metrics.malformed("dnsbl", "bad_name");
                tracing::debug!(%error, "malformed query name");
                return Resolved::new(ResponseCode::FormErr);
            }
        };
        resolved.zone = Some(zone);
        resolved.authoritative = true;
        let name: Name = (**query.name()).clone();
        let qtype = query.query_type();
        let listed = match target {
            Target::Apex => {
                if qtype == RecordType::SOA {
                    resolved.answers.push(self.soa(zone));
                } else {
                    resolved.soa.push(self.soa(zone));
                }
                return resolved;
            }
            Target::TestListed => Some(Listing::test_point()),
            Target::TestUnlisted => None,
            Target::Subject(subject) => {
                match self.listing(zone, subject, qtype != RecordType::A).await {
                    Ok(listing) => listing,
                    Err(code) => {
                        resolved.code = code;
                        return resolved;
                    }
                }
            }
        };
        let Some(Listing { code, text }) = listed else {
            resolved.code = ResponseCode::NXDomain;
            resolved.soa.push(self.soa(zone));
            return resolved;
        };
        let ttl = self.config.ttl_secs;
        let a = || Record::from_rdata(name.clone(), ttl, RData::A(A::new(127, 0, 0, code)));
        let txt = || {
            let text = text.clone().unwrap_or_default();
            Record::from_rdata(name.clone(), ttl, RData::TXT(TXT::new(vec![text])))
        };
        match qtype {
            RecordType::A => resolved.answers.push(a()),
            RecordType::TXT => resolved.answers.push(txt()),
            RecordType::ANY => resolved.answers.extend([a(), txt()]),
            _ => resolved.soa.push(self.soa(zone)),
        }
        resolved
    }
}

impl Zones {
    /// How `subject` is listed in `zone`: its code, and its TXT reason when
    /// `with_text`; the response code instead when the lookup is refused
    /// (too many in flight), failed or late.
    async fn listing(
        &self,
        zone: Zone,
        subject: Subject,
        with_text: bool,
    ) -> Result<Option<Listing>, ResponseCode> {
        let Ok(_permit) = self.in_flight.try_acquire() else {
            self.metrics.fallback("dnsbl", "busy");
            return Err(ResponseCode::ServFail);
        };
        let deadline = Duration::from_millis(self.config.timeout_ms);
        match self.lookups.ask(vec![subject], deadline).await {
            Ok(mut found) => Ok(found
                .pop()
                .and_then(|reputation| self.listed(zone, &reputation, with_text))),
            Err(fallback) => {
                self.metrics.fallback("dnsbl", fallback.label());
                tracing::warn!(error = %fallback, "answering SERVFAIL");
                Err(ResponseCode::ServFail)
            }
        }
    }

    /// How `reputation` is listed in `zone`, with its TXT reason when
    /// `with_text`.
    fn listed(&self, zone: Zone, reputation: &Reputation, with_text: bool) -> Option<Listing> {
        let code = self.code(zone, Standing::of(reputation))?;
        // One TXT string holds at most 255 bytes.
        let text = with_text.then(|| {
            printable(
                &format!(
                    "Vouch: {} {}: {}",
                    reputation.subject,
                    reputation.verdict.as_str(),
                    reason(reputation)
                ),
                255,
            )
        });
        Some(Listing { code, text })
    }

    /// The code a subject standing as `standing` is listed with in
    /// `zone`, if it is listed.
    fn code(&self, zone: Zone, standing: Standing) -> Option<u8> {
        match zone {
            Zone::Block => block_code(standing, self.config.list_suspect),
            Zone::Allow => allow_code(standing),
        }
    }

    /// What a plain query asks about, and its zone's SOA record; `None`
    /// leaves the query to hickory (a name that is not an address, a
    /// domain or a test point under a zone, or an answer that might not
    /// fit).
    fn plain_target<'a>(
        &'a self,
        labels: &[&[u8]],
        query: &PlainQuery<'_>,
    ) -> Option<(Zone, Target, &'a [u8])> {
        let (zone, target) = self.names.classify_labels(labels).ok()?;
        let soa = match zone {
            Zone::Block => &self.soa_records[0],
            Zone::Allow => &self.soa_records[1],
        };
        if matches!(target, Target::Apex)
            || !query.fits(MAX_ANSWER_RECORD.max(soa.len()), MAX_UDP_PAYLOAD)
        {
            return None;
        }
        Some((zone, target, soa))
    }

    /// The answer to a plain query about a name the zones hold, written on
    /// the wire; `None` leaves the query to hickory (see
    /// [`Zones::plain_target`]).
    pub(super) async fn answer_plain(
        &self,
        query: &PlainQuery<'_>,
        peer: SocketAddr,
    ) -> Option<Vec<u8>> {
        let labels: SmallVec<[&[u8]; 40]> = query.labels().collect();
        let (zone, target, soa) = self.plain_target(&labels, query)?;
        let span = plain_span(&labels, peer);
        async move {
            let listed = match target {
                Target::Subject(subject) => self.listing(zone, subject, query.asks_text()).await,
                Target::TestListed => Ok(Some(Listing::test_point())),
                Target::TestUnlisted | Target::Apex => Ok(None),
            };
            Some(self.plain_answer(query, zone, soa, listed))
        }
        .instrument(span)
        .await
    }

    /// [`Zones::answer_plain`] when its lookup is quick (see
    /// [`Lookups::quick`]; an A query reads only where its subject stands,
    /// [`Lookups::standing`]), given at once on the caller's thread; `None`
    /// when it is not, or the query is left to hickory.
    pub(super) fn answer_plain_now(
        &self,
        query: &PlainQuery<'_>,
        peer: SocketAddr,
    ) -> Option<Vec<u8>> {
        let labels: SmallVec<[&[u8]; 40]> = query.labels().collect();
        let (zone, target, soa) = self.plain_target(&labels, query)?;
        let _span = plain_span(&labels, peer).entered();
        let listed = match target {
            Target::Subject(subject) if query.asks_text() => {
                let reputation = self.lookups.quick(&subject)?;
                self.listed(zone, &reputation, true)
            }
            Target::Subject(subject) => {
                let standing = self.lookups.standing(&subject)?;
                self.code(zone, standing)
                    .map(|code| Listing { code, text: None })
            }
            Target::TestListed => Some(Listing::test_point()),
            Target::TestUnlisted | Target::Apex => None,
        };
        Some(self.plain_answer(query, zone, soa, Ok(listed)))
    }

    /// The wire answer to `query` in `zone`: `listed`, or the response
    /// code its lookup failed with.
    fn plain_answer(
        &self,
        query: &PlainQuery<'_>,
        zone: Zone,
        soa: &[u8],
        listed: Result<Option<Listing>, ResponseCode>,
    ) -> Vec<u8> {
        let listed = match listed {
            Ok(listed) => listed,
            Err(code) => {
                self.metrics.dns_answer(zone.label(), rcode_label(code));
                return query.answer(code, true, None, None, MAX_UDP_PAYLOAD);
            }
        };
        let ttl = self.config.ttl_secs;
        let (code, record, soa) = match &listed {
            None => (ResponseCode::NXDomain, None, Some(soa)),
            Some(listing) if query.asks_text() => {
                let text = listing.text.as_deref().unwrap_or_default();
                (
                    ResponseCode::NoError,
                    Some(plain::Record::Txt { text, ttl }),
                    None,
                )
            }
            Some(listing) => {
                let code = listing.code;
                (
                    ResponseCode::NoError,
                    Some(plain::Record::A { code, ttl }),
                    None,
                )
            }
        };
        self.metrics.dns_answer(zone.label(), rcode_label(code));
        query.answer(code, true, record, soa, MAX_UDP_PAYLOAD)
    }
}

/// The span of a plain query about `labels` from `peer`.
fn plain_span(labels: &[&[u8]], peer: SocketAddr) -> tracing::Span {
    tracing::debug_span!(
        "dns_query",
        name = %WireName(labels),
        src = %peer,
        protocol = "udp"
    )
}

/// A listed name's answer: its 127.0.0.x code and, when asked, its reason.
struct Listing {
    code: u8,
    text: Option<String>,
}

impl Listing {
    /// The RFC 5782 test point that must be listed.
    fn test_point() -> Listing {
        Listing {
            code: 2,
            text: Some("RFC 5782 test point".to_owned()),
        }
    }
}

/// Labels written as a dotted name, for spans (formatted only when the
/// span is recorded).
struct WireName<'a>(&'a [&'a [u8]]);

impl std::fmt::Display for WireName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for label in self.0 {
            write!(f, "{}.", String::from_utf8_lossy(label))?;
        }
        Ok(())
    }
}

/// The outcome of one query, before it is encoded.
struct Resolved {
    code: ResponseCode,
    zone: Option<Zone>,
    authoritative: bool,
    answers: Vec<Record>,
    soa: Vec<Record>,
}

impl Resolved {
    fn new(code: ResponseCode) -> Resolved {
        Resolved {
            code,
            zone: None,
            authoritative: false,
            answers: Vec::new(),
            soa: Vec::new(),
        }
    }
}

fn rcode_label(code: ResponseCode) -> &'static str {
    match code {
        ResponseCode::NoError => "noerror",
        ResponseCode::NXDomain => "nxdomain",
        ResponseCode::FormErr => "formerr",
        ResponseCode::Refused => "refused",
        ResponseCode::ServFail => "servfail",
        ResponseCode::NotImp => "notimp",
        _ => "other",
    }
}

#[async_trait::async_trait]
impl RequestHandler for Zones {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let span = tracing::debug_span!(
            "dns_query",
            name = tracing::field::Empty,
            src = %request.src(),
            protocol = %request.protocol()
        );
        if let (false, Some(query)) = (span.is_disabled(), request.queries.queries().first()) {
            span.record("name", tracing::field::display(query.name()));
        }
        async move {
            let resolved = self.resolve(request).await;
            self.metrics.dns_answer(
                resolved.zone.map_or("none", Zone::label),
                rcode_label(resolved.code),
            );
            let mut metadata = Metadata::response_from_request(&request.metadata);
            metadata.response_code = resolved.code;
            metadata.authoritative = resolved.authoritative;
            let edns = request.edns.as_ref().map(|asked| {
                let mut edns = Edns::new();
                edns.set_max_payload(asked.max_payload().clamp(512, MAX_UDP_PAYLOAD));
                edns.set_version(0);
                edns
            });
            let none: [&Record; 0] = [];
            let response = MessageResponseBuilder::new(&request.queries, edns.as_ref()).build(
                metadata,
                resolved.answers.iter(),
                none,
                resolved.soa.iter(),
                none,
            );
            match response_handle.send_response(response).await {
                Ok(info) => info,
                Err(error) => {
                    tracing::debug!(%error, "cannot send the DNS answer");
                    let mut failed = Metadata::response_from_request(&request.metadata);
                    failed.response_code = ResponseCode::ServFail;
                    ResponseInfo::from(Header {
                        metadata: failed,
                        counts: HeaderCounts::default(),
                    })
                }
            }
        }
        .instrument(span)
        .await
    }
}

#[cfg(test)]
mod plain_tests;
#[cfg(test)]
mod tests;
