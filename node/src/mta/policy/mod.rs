//! The Postfix SMTPD policy delegation server:
//! `check_policy_service inet:127.0.0.1:10040` in `smtpd_recipient_restrictions`.
//!
//! Each request is answered from the reputation of the client address (and,
//! when configured, the sender's domain and the HELO name) within
//! `policy.timeout_ms`; a slow or failing lookup is answered DUNNO. A
//! malformed request is counted, logged and its connection closed: Postfix
//! then applies its `default_action` (DUNNO in the documented setup).

mod config;
mod decide;
mod protocol;

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::Instrument;

pub use config::{PolicyAction, PolicyConfig};
pub use decide::{Answer, decide, subjects};
pub use protocol::{ProtocolError, Request, read_request};

use super::{Lookups, accept_capped};
use crate::metrics::Metrics;

/// A policy server: configuration and handles, shared by its connections.
#[derive(Clone)]
pub struct Server {
    config: Arc<PolicyConfig>,
    lookups: Lookups,
    metrics: Metrics,
}

impl Server {
    /// A server answering through `lookups`, counting in `metrics`.
    pub fn new(config: PolicyConfig, lookups: Lookups, metrics: Metrics) -> Server {
        Server {
            config: Arc::new(config),
            lookups,
            metrics,
        }
    }

    /// Accepts connections on `listener` until `stop` turns true; open
    /// connections are closed then.
    pub async fn serve(self, listener: TcpListener, stop: watch::Receiver<bool>) {
        let max = self.config.max_connections;
        accept_capped(listener, max, "policy", stop, |stream, peer| {
            let server = self.clone();
            let span = tracing::debug_span!("policy_connection", %peer);
            async move { server.connection(stream).await }.instrument(span)
        })
        .await;
    }

    /// Serves requests on one connection until the client closes it, goes
    /// idle, or sends something malformed.
    async fn connection(&self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let (read, mut write) = stream.into_split();
        let mut reader = BufReader::with_capacity(4096, read);
        let idle = Duration::from_secs(self.config.idle_timeout_secs);
        let mut prepended_instance: Option<String> = None;
        loop {
            let read = read_request(
                &mut reader,
                self.config.max_line_bytes,
                self.config.max_request_bytes,
            );
            let request = match tokio::time::timeout(idle, read).await {
                Err(_) => {
                    tracing::debug!("idle connection closed");
                    return;
                }
                Ok(Ok(None)) => return,
                Ok(Ok(Some(request))) => request,
                Ok(Err(ProtocolError::Io(error))) => {
                    tracing::debug!(%error, "connection failed");
                    return;
                }
                Ok(Err(error)) => {
                    self.metrics.malformed("policy", error.label());
                    tracing::warn!(%error, "malformed policy request; closing the connection");
                    return;
                }
            };
            let mut answer = self.answer(&request).await;
            // Postfix asks once per recipient; tag each message only once.
            if answer.action == PolicyAction::Prepend
                && let Some(instance) = request.get("instance")
            {
                if prepended_instance.as_deref() == Some(instance) {
                    answer = Answer::dunno();
                } else {
                    prepended_instance = Some(instance.to_owned());
                }
            }
            self.metrics.policy_answer(action_label(answer.action));
            let reply = format!("action={}\n\n", answer.text);
            // A client that stops reading must not hold the connection slot.
            match tokio::time::timeout(idle, write.write_all(reply.as_bytes())).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::debug!(%error, "cannot write the answer");
                    return;
                }
                Err(_) => {
                    tracing::debug!("client stopped reading; connection closed");
                    return;
                }
            }
        }
    }

    /// The answer to one request; DUNNO when the lookup fails or is late.
    async fn answer(&self, request: &Request) -> Answer {
        let found = subjects(request, &self.config);
        let span = tracing::debug_span!(
            "policy_request",
            client = request.get("client_address").unwrap_or(""),
            state = request.get("protocol_state").unwrap_or(""),
        );
        async move {
            if found.is_empty() {
                return Answer::dunno();
            }
            let deadline = Duration::from_millis(self.config.timeout_ms);
            let asked: Vec<_> = found.iter().map(|(_, subject)| subject.clone()).collect();
            match self.lookups.ask(asked, deadline).await {
                Ok(reputations) => {
                    let judged: Vec<_> = found
                        .into_iter()
                        .map(|(source, _)| source)
                        .zip(reputations)
                        .collect();
                    let answer = decide(&self.config, &judged);
                    tracing::debug!(action = %answer.text, "answered");
                    answer
                }
                Err(fallback) => {
                    self.metrics.fallback("policy", fallback.label());
                    tracing::warn!(error = %fallback, "answering DUNNO");
                    Answer::dunno()
                }
            }
        }
        .instrument(span)
        .await
    }
}

fn action_label(action: PolicyAction) -> &'static str {
    match action {
        PolicyAction::Reject => "reject",
        PolicyAction::DeferIfPermit => "defer_if_permit",
        PolicyAction::Prepend => "prepend",
        PolicyAction::Dunno => "dunno",
    }
}

#[cfg(test)]
mod tests;
