//! Front-ends for mail servers: the Postfix SMTPD policy delegation server
//! ([`policy`]) and the DNS block list / allow list zones ([`dnsbl`]), so an
//! MTA consults Vouch with its stock configuration, beside the lists it
//! already uses.
//!
//! Both ask [`Lookup`]: on their own task when the answer is quick (see
//! [`Reputations::quick`]), otherwise on the blocking pool with a deadline.
//! When the store or the engine cannot answer in time, they answer "no
//! opinion" (DUNNO, or SERVFAIL which DNS list consumers treat as not
//! listed): Vouch must never cause a false rejection through its own
//! failure.

pub mod dnsbl;
pub mod policy;
mod reason;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{Semaphore, watch};
use vouch_protocol::Subject;

use crate::lookup::{Reputations, Standing};
use crate::metrics::Metrics;
use crate::store;
use crate::trust::Reputation;

pub use dnsbl::DnsblConfig;
pub use policy::PolicyConfig;
pub use reason::reason;

/// Where the front-ends get reputations. A trait so tests can stand in a
/// slow or failing store and prove the fallbacks.
pub trait Lookup: Send + Sync + 'static {
    /// Scores `subject` at unix time `now`. May block.
    fn lookup(&self, subject: &Subject, now: u64) -> Result<Reputation, store::Error>;

    /// Scores `subject` at `now` if that is quick enough for an async
    /// task (never blocks); `None` means ask [`Lookup::lookup`] off it.
    fn quick(&self, _subject: &Subject, _now: u64) -> Option<Reputation> {
        None
    }

    /// Where `subject` stands at `now`, if that is quick (the DNS lists'
    /// A records need no more).
    fn standing(&self, subject: &Subject, now: u64) -> Option<Standing> {
        self.quick(subject, now)
            .map(|reputation| Standing::of(&reputation))
    }
}

impl Lookup for Reputations {
    fn lookup(&self, subject: &Subject, now: u64) -> Result<Reputation, store::Error> {
        Ok(Reputations::lookup(self, subject, now))
    }

    fn quick(&self, subject: &Subject, now: u64) -> Option<Reputation> {
        Reputations::quick(self, subject, now)
    }

    fn standing(&self, subject: &Subject, now: u64) -> Option<Standing> {
        Reputations::standing(self, subject, now)
    }
}

/// Why a front-end answered without a reputation.
#[derive(Debug, thiserror::Error)]
pub enum Fallback {
    /// The lookup did not finish within the configured deadline.
    #[error("reputation lookup took longer than {0:?}")]
    Timeout(Duration),
    /// The store failed.
    #[error("reputation lookup failed: {0}")]
    Store(#[from] store::Error),
    /// The blocking task panicked or was cancelled.
    #[error("reputation lookup task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// Too many lookups are still running (the store is slow).
    #[error("too many reputation lookups still running")]
    Busy,
}

impl Fallback {
    /// Metric label.
    pub fn label(&self) -> &'static str {
        match self {
            Fallback::Timeout(_) => "timeout",
            Fallback::Store(_) => "store",
            Fallback::Task(_) => "task",
            Fallback::Busy => "busy",
        }
    }
}

/// Most lookups running on the blocking pool at once, across both
/// front-ends. A lookup that misses its deadline keeps its place until its
/// blocking work really ends, so a slow store cannot pile up work beyond it.
pub const MAX_RUNNING_LOOKUPS: usize = 128;

/// The front-ends' way to the reputations: quick answers at once, the
/// rest on the blocking pool, each within a deadline, at most
/// [`MAX_RUNNING_LOOKUPS`] running at once (the node reads its own
/// memory, but a /24 full of statements not weighed since its last write
/// still takes its time to score, and the mail server must never wait on
/// it).
#[derive(Clone)]
pub struct Lookups {
    lookup: Arc<dyn Lookup>,
    running: Arc<Semaphore>,
}

impl Lookups {
    /// Lookups through `lookup`, at most `max_running` at a time.
    pub fn new(lookup: Arc<dyn Lookup>, max_running: usize) -> Lookups {
        Lookups {
            lookup,
            running: Arc::new(Semaphore::new(max_running)),
        }
    }

    /// Looks up `subject` now if that is quick (see [`Lookup::quick`]).
    pub fn quick(&self, subject: &Subject) -> Option<Reputation> {
        self.lookup.quick(subject, crate::clock::unix_now())
    }

    /// Where `subject` stands now, if that is quick (see
    /// [`Lookup::standing`]).
    pub fn standing(&self, subject: &Subject) -> Option<Standing> {
        self.lookup.standing(subject, crate::clock::unix_now())
    }

    /// Looks up `subjects`: on the caller's task when every answer is
    /// quick, otherwise on the blocking pool, all within `deadline`; busy
    /// when too many lookups (finished in time or not) are still running.
    pub async fn ask(
        &self,
        subjects: Vec<Subject>,
        deadline: Duration,
    ) -> Result<Vec<Reputation>, Fallback> {
        let now = crate::clock::unix_now();
        let quick: Option<Vec<Reputation>> = subjects
            .iter()
            .map(|subject| self.lookup.quick(subject, now))
            .collect();
        if let Some(answers) = quick {
            return Ok(answers);
        }
        let permit = self
            .running
            .clone()
            .try_acquire_owned()
            .map_err(|_| Fallback::Busy)?;
        let lookup = self.lookup.clone();
        let task = tokio::task::spawn_blocking(move || {
            let _running = permit;
            let now = crate::clock::unix_now();
            subjects
                .iter()
                .map(|subject| lookup.lookup(subject, now))
                .collect::<Result<Vec<_>, _>>()
        });
        match tokio::time::timeout(deadline, task).await {
            Ok(joined) => Ok(joined??),
            Err(_) => Err(Fallback::Timeout(deadline)),
        }
    }
}

/// Why a front-end could not listen.
#[derive(Debug, thiserror::Error)]
#[error("{server}: cannot listen on {addr}: {source}")]
pub struct BindError {
    /// Which server (`policy`, `dnsbl udp`, `dnsbl tcp`).
    pub server: &'static str,
    /// The configured address.
    pub addr: SocketAddr,
    /// The socket error.
    pub source: std::io::Error,
}

/// The front-ends' bound sockets; split from serving so callers (tests on
/// port 0) learn the addresses first.
pub struct FrontEndSockets {
    policy: Option<TcpListener>,
    dns: Option<(UdpSocket, TcpListener)>,
}

impl FrontEndSockets {
    /// Binds what the configuration enables.
    pub async fn bind(
        policy: &PolicyConfig,
        dnsbl: &DnsblConfig,
    ) -> Result<FrontEndSockets, BindError> {
        let policy = if policy.enabled {
            let addr = policy.listen;
            Some(TcpListener::bind(addr).await.map_err(|source| BindError {
                server: "policy",
                addr,
                source,
            })?)
        } else {
            None
        };
        let dns = if dnsbl.enabled {
            Some(dnsbl::bind(dnsbl.listen).await?)
        } else {
            None
        };
        Ok(FrontEndSockets { policy, dns })
    }

    /// Where the policy server listens, when enabled.
    pub fn policy_addr(&self) -> Option<SocketAddr> {
        self.policy.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Where the DNS zones are served (UDP and TCP on the same port), when enabled.
    pub fn dns_addr(&self) -> Option<SocketAddr> {
        self.dns.as_ref().and_then(|(udp, _)| udp.local_addr().ok())
    }
}

/// Serves the bound front-ends until `stop` turns true (or its sender is dropped).
pub async fn serve(
    listeners: FrontEndSockets,
    lookup: Arc<dyn Lookup>,
    metrics: Metrics,
    policy_config: PolicyConfig,
    dnsbl_config: DnsblConfig,
    stop: watch::Receiver<bool>,
) {
    let lookups = Lookups::new(lookup, MAX_RUNNING_LOOKUPS);
    let policy = listeners.policy.map(|listener| {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "policy server listening");
        }
        let server = policy::Server::new(policy_config, lookups.clone(), metrics.clone());
        tokio::spawn(server.serve(listener, stop.clone()))
    });
    let dns = listeners.dns.map(|(udp, tcp)| {
        if let Ok(addr) = udp.local_addr() {
            tracing::info!(%addr, zones = ?[&dnsbl_config.block_zone, &dnsbl_config.allow_zone], "DNS zones listening (UDP and TCP)");
        }
        let zones = dnsbl::Zones::new(dnsbl_config, lookups, metrics);
        tokio::spawn(dnsbl::serve(zones, udp, tcp, stop))
    });
    if let Some(policy) = policy
        && let Err(error) = policy.await
    {
        tracing::error!(%error, "policy server task failed");
    }
    if let Some(dns) = dns
        && let Err(error) = dns.await
    {
        tracing::error!(%error, "DNS server task failed");
    }
}

#[cfg(test)]
mod tests;

/// Resolves when `stop` turns true or its sender is dropped.
/// Accepts connections on `listener` until `stop` turns true, at most
/// `max` open at once (the rest wait in the listen backlog), each served by
/// the future `serve` makes for it, in its own task; connections still
/// open when it stops are closed. `server` names it in logs.
pub(crate) async fn accept_capped<F, Fut>(
    listener: TcpListener,
    max: usize,
    server: &'static str,
    mut stop: watch::Receiver<bool>,
    serve: F,
) where
    F: Fn(tokio::net::TcpStream, SocketAddr) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(max));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let permit = tokio::select! {
            _ = stopped(&mut stop) => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = stopped(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, server, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let connection = serve(stream, peer);
        connections.spawn(async move {
            connection.await;
            drop(permit);
        });
        while connections.try_join_next().is_some() {}
    }
    connections.shutdown().await;
}

pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}
