//! The one ingest path every statement takes, whether the operator made it
//! through the API or a peer gossiped or back-filled it: decode → validate →
//! verify → admit → store → update the trust graph.
//!
//! Admission: statements from the network whose author is outside this
//! node's web of trust are kept only under the stranger quota (and never
//! relayed); see [`crate::store::StrangerQuota`].

mod memory;
mod verifiers;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use vouch_protocol::{
    Claim, DecodeError, Limits, NodeKey, SignatureError, SignedStatement, StatementId,
    ValidationError, decode_signed, encode_signed, validate,
};

use crate::metrics::Metrics;
use crate::store::{self, Admission, Outcome, Store, StrangerQuota, Verified};
use crate::trust::TrustEngine;
use memory::BulkMark;
pub use memory::QUIET as BULK_QUIET;
use verifiers::Verifiers;

/// Why a statement was turned away.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    /// The bytes are not a canonical statement.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A validation rule failed.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The signature does not verify.
    #[error(transparent)]
    Signature(#[from] SignatureError),
}

impl Rejection {
    /// Whether the peer that sent the statement is to blame: forgeries and
    /// malformed statements are; a statement that expired on the way (or a
    /// moment ago in the sender's store) and one a skewed clock dates in
    /// the future are not, so they are dropped without punishing anyone.
    pub fn is_senders_fault(&self) -> bool {
        !matches!(
            self,
            Rejection::Invalid(ValidationError::Expired(_) | ValidationError::FromTheFuture { .. })
        )
    }

    /// A stable name of the broken rule, for metrics and peer scoring.
    pub fn rule(&self) -> &'static str {
        match self {
            Rejection::Decode(DecodeError::TooLarge(_)) => "too_large",
            Rejection::Decode(_) => "malformed",
            Rejection::Signature(_) => "bad_signature",
            Rejection::Invalid(e) => match e {
                ValidationError::UnknownVersion(_) => "unknown_version",
                ValidationError::FromTheFuture { .. } => "from_the_future",
                ValidationError::Expired(_) => "expired",
                ValidationError::EndsBeforeItStarts | ValidationError::LivesTooLong { .. } => {
                    "bad_lifetime"
                }
                ValidationError::Subject(_) | ValidationError::WrongSubject { .. } => "bad_subject",
                _ => "bad_claim",
            },
        }
    }
}

/// What happened to one statement.
#[derive(Debug)]
pub enum Ingested {
    /// Stored; it now wins its slot.
    Stored {
        /// Its id.
        id: StatementId,
        /// Its local sequence number.
        seq: u64,
        /// Whether it is held under the stranger quota (its author is
        /// outside the web of trust): stored, but not to be relayed.
        stranger: bool,
    },
    /// Already known.
    Duplicate(StatementId),
    /// A newer statement from the same author about the same subject and kind is stored.
    Stale(StatementId),
    /// From a stranger whose quota is used up: not stored.
    OverQuota(StatementId),
    /// Invalid: not stored, never to be relayed.
    Rejected(Rejection),
}

impl Ingested {
    fn label(&self) -> &'static str {
        match self {
            Ingested::Stored {
                stranger: false, ..
            } => "stored",
            Ingested::Stored { stranger: true, .. } => "stored_stranger",
            Ingested::Duplicate(_) => "duplicate",
            Ingested::Stale(_) => "stale",
            Ingested::OverQuota(_) => "over_quota",
            Ingested::Rejected(_) => "rejected",
        }
    }
}

/// What [`Ingest::submit_encoded_trust_first`] did.
#[derive(Debug)]
pub struct Bulk {
    /// One outcome a statement (trust statements' first, not in input order).
    pub results: Vec<Ingested>,
    /// The trust statements stored as trusted, encoded, in `results`'
    /// order: a vouch learnt in bulk is to be gossiped on.
    pub vouches: Vec<Vec<u8>>,
}

/// A statement decoded with its id and canonical bytes, not yet validated or verified.
type Decoded = Result<(StatementId, Vec<u8>, SignedStatement), Rejection>;

/// Decodes a statement as it came from the network.
fn decode(bytes: Vec<u8>) -> Decoded {
    let statement = decode_signed(&bytes)?;
    Ok((StatementId::of_bytes(&bytes), bytes, statement))
}

/// The ingest pipeline; shared by the API and the network.
pub struct Ingest {
    store: Arc<Store>,
    trust: Arc<TrustEngine>,
    verifiers: Verifiers,
    limits: Limits,
    quota: StrangerQuota,
    metrics: Metrics,
    /// Whether strangers' statements were turned away (over the quota, or
    /// dropped when their retention ran out) since the web of trust last
    /// grew: then, should it grow, peers must be read again from the
    /// beginning, not only from the watermarks. The store keeps it across
    /// restarts.
    turned_away: AtomicBool,
    /// When bulk ingest (an import request, a back-fill page) last ran,
    /// until the memory it freed is given back.
    bulk: BulkMark,
}

impl Ingest {
    /// A pipeline writing into `store` and feeding `trust`.
    pub fn new(store: Arc<Store>, trust: Arc<TrustEngine>, metrics: Metrics) -> Self {
        // Unreadable: assume the worst, one read from the beginning.
        let turned_away = store.turned_away().unwrap_or(true);
        Ingest {
            store,
            trust,
            verifiers: Verifiers::per_core(),
            limits: Limits::default(),
            quota: StrangerQuota::default(),
            metrics,
            turned_away: AtomicBool::new(turned_away),
            bulk: BulkMark::default(),
        }
    }

    /// Records that a stranger's statement was turned away (over the
    /// quota, or dropped at the end of its retention).
    pub fn note_turned_away(&self) {
        if !self.turned_away.swap(true, Ordering::AcqRel)
            && let Err(error) = self.store.set_turned_away(true)
        {
            tracing::warn!(%error, "cannot record a turned-away statement");
        }
    }

    /// Whether a stranger's statement was turned away since the last call.
    pub fn take_turned_away(&self) -> bool {
        let was = self.turned_away.swap(false, Ordering::AcqRel);
        if was && let Err(error) = self.store.set_turned_away(false) {
            tracing::warn!(%error, "cannot clear the turned-away mark");
        }
        was
    }

    /// Sets the stranger quota (finishes [`Ingest::new`]).
    pub fn with_stranger_quota(mut self, quota: StrangerQuota) -> Self {
        self.quota = quota;
        self
    }

    /// The trust engine admission asks.
    pub fn trust(&self) -> &TrustEngine {
        &self.trust
    }

    /// Ingests encoded statements as they arrive from the network, admitting
    /// strangers' only under the quota. Blocking.
    pub fn submit_encoded(
        &self,
        items: Vec<Vec<u8>>,
        now: u64,
    ) -> Result<Vec<Ingested>, store::Error> {
        let decoded = items.into_iter().map(decode).collect();
        self.run(decoded, now, true)
    }

    /// Ingests encoded statements as from the network, trust statements
    /// first (a hop of the web at a time) and trust recomputed before the
    /// rest, so that statements by authors the same batch brings into the
    /// web of trust are admitted as trusted (back-fill pages and imports).
    /// Blocking.
    pub fn submit_encoded_trust_first(
        &self,
        items: Vec<Vec<u8>>,
        now: u64,
    ) -> Result<Bulk, store::Error> {
        // Each trust statement with its author; the rest as they are.
        let mut trust: Vec<(NodeKey, Decoded)> = Vec::new();
        let mut rest: Vec<Decoded> = Vec::new();
        // The trust statements' bytes, for those stored as trusted.
        let mut vouch_bytes: HashMap<StatementId, Vec<u8>> = HashMap::new();
        for item in items.into_iter().map(decode) {
            match &item {
                Ok((id, bytes, s)) if matches!(s.body.claim, Claim::Trust { .. }) => {
                    vouch_bytes.insert(*id, bytes.clone());
                    trust.push((s.author, item));
                }
                _ => rest.push(item),
            }
        }
        let mut results = Vec::new();
        // Vouches by trusted authors first, then those by the authors they
        // bring in, a hop at a time, so a page carrying a chain of vouches
        // (me → a peer → its hub → the hub's operators) admits the whole
        // chain. At most `walk_steps` hops (trust reaches no further), each
        // a recomputation; what is left goes in as strangers' statements.
        for _ in 0..self.trust.config().walk_steps {
            let (ready, waiting): (Vec<_>, Vec<_>) = trust
                .into_iter()
                .partition(|(author, _)| self.trust.is_trusted(author));
            trust = waiting;
            if ready.is_empty() {
                break;
            }
            results.extend(self.run(ready.into_iter().map(|(_, d)| d).collect(), now, true)?);
            self.trust.recompute_if_dirty();
        }
        for part in [trust.into_iter().map(|(_, d)| d).collect(), rest] {
            if part.is_empty() {
                continue;
            }
            results.extend(self.run(part, now, true)?);
            self.trust.recompute_if_dirty();
        }
        self.bulk.note(Instant::now());
        let vouches = results
            .iter()
            .filter_map(|result| match result {
                Ingested::Stored {
                    id,
                    stranger: false,
                    ..
                } => vouch_bytes.remove(id),
                _ => None,
            })
            .collect();
        Ok(Bulk { results, vouches })
    }

    /// Gives back the memory bulk ingest filled RocksDB's write buffers
    /// with, once bulk ingest has been quiet for `BULK_QUIET` (two
    /// seconds): the buffers are written out. Whether they were. Blocking
    /// (a flush).
    pub fn give_back_memory_if_quiet(&self) -> bool {
        if !self.bulk.take_if_quiet(Instant::now()) {
            return false;
        }
        match self.store.flush_write_buffers() {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, "cannot write the store's write buffers out");
                false
            }
        }
    }

    /// Ingests statements made or imported locally by the operator, who
    /// vouches for them by doing so: no stranger quota. Blocking.
    pub fn submit(
        &self,
        statements: Vec<SignedStatement>,
        now: u64,
    ) -> Result<Vec<Ingested>, store::Error> {
        let encoded = statements
            .into_iter()
            .map(|statement| {
                let bytes = encode_signed(&statement)?;
                // Round-trip through the decoder so local and remote statements
                // pass exactly the same checks.
                let statement = decode_signed(&bytes)?;
                Ok((StatementId::of_bytes(&bytes), bytes, statement))
            })
            .collect();
        self.run(encoded, now, false)
    }

    fn run(
        &self,
        items: Vec<Decoded>,
        now: u64,
        admit_by_trust: bool,
    ) -> Result<Vec<Ingested>, store::Error> {
        let mut results: Vec<Option<Ingested>> = Vec::with_capacity(items.len());
        let mut candidates: Vec<(usize, Verified)> = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let checked = item.and_then(|(id, bytes, statement)| {
                validate(&statement, now, &self.limits)?;
                Ok(Verified {
                    id,
                    bytes,
                    statement,
                })
            });
            match checked {
                Err(rejection) => results.push(Some(Ingested::Rejected(rejection))),
                Ok(verified) if self.store.contains(&verified.id)? => {
                    results.push(Some(Ingested::Duplicate(verified.id)))
                }
                Ok(verified) => {
                    results.push(None);
                    candidates.push((i, verified));
                }
            }
        }

        let statements: Vec<SignedStatement> = candidates
            .iter()
            .map(|(_, v)| v.statement.clone())
            .collect();
        let verdicts = self.verifiers.verify_many(&statements);
        let mut good = Vec::with_capacity(candidates.len());
        for ((i, verified), verdict) in candidates.into_iter().zip(verdicts) {
            match verdict {
                Ok(()) => good.push((i, verified)),
                Err(e) => results[i] = Some(Ingested::Rejected(e.into())),
            }
        }

        let admitted: Vec<(&Verified, Admission)> = good
            .iter()
            .map(|(_, v)| {
                let trusted = !admit_by_trust || self.trust.is_trusted(&v.statement.author);
                let admission = if trusted {
                    Admission::Trusted
                } else {
                    Admission::Stranger
                };
                (v, admission)
            })
            .collect();
        let outcomes = self.store.insert_admitted(&admitted, &self.quota, now)?;
        let strangers: Vec<bool> = admitted
            .iter()
            .map(|(_, a)| *a == Admission::Stranger)
            .collect();
        for (((i, verified), outcome), stranger) in good.into_iter().zip(outcomes).zip(strangers) {
            results[i] = Some(match outcome {
                Outcome::Stored { seq, .. } => {
                    // Strangers' trust edges enter the graph too: they cannot
                    // reach this node's trust until someone trusted vouches
                    // for the stranger, and then they count at once.
                    self.trust.apply(&verified.statement);
                    Ingested::Stored {
                        id: verified.id,
                        seq,
                        stranger,
                    }
                }
                Outcome::Duplicate => Ingested::Duplicate(verified.id),
                Outcome::Stale => Ingested::Stale(verified.id),
                Outcome::OverQuota => {
                    self.note_turned_away();
                    Ingested::OverQuota(verified.id)
                }
            });
        }

        self.metrics
            .statements
            .set(self.store.counts().statements as i64);
        Ok(results
            .into_iter()
            .map(|r| {
                let r = r.unwrap_or(Ingested::Rejected(Rejection::Signature(
                    SignatureError::BadSignature,
                )));
                self.metrics.ingested(r.label());
                if let Ingested::Rejected(rejection) = &r {
                    self.metrics.rejected(rejection.rule());
                }
                r
            })
            .collect())
    }
}
