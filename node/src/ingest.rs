//! The one ingest path every statement takes, whether the operator made it
//! through the API or (later) a peer gossiped it: decode → validate →
//! verify → store → update the trust graph.

use std::sync::{Arc, Mutex, PoisonError};

use vouch_protocol::{
    BatchVerifier, DecodeError, Limits, SignatureError, SignedStatement, StatementId,
    ValidationError, decode_signed, encode_signed, validate,
};

use crate::metrics::Metrics;
use crate::store::{self, Outcome, Store, Verified};
use crate::trust::TrustEngine;

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
    },
    /// Already known.
    Duplicate(StatementId),
    /// A newer statement from the same author about the same subject and kind is stored.
    Stale(StatementId),
    /// Invalid: not stored, never to be relayed.
    Rejected(Rejection),
}

impl Ingested {
    fn label(&self) -> &'static str {
        match self {
            Ingested::Stored { .. } => "stored",
            Ingested::Duplicate(_) => "duplicate",
            Ingested::Stale(_) => "stale",
            Ingested::Rejected(_) => "rejected",
        }
    }
}

/// A statement decoded with its id and canonical bytes, not yet validated or verified.
type Decoded = Result<(StatementId, Vec<u8>, SignedStatement), Rejection>;

/// The ingest pipeline; shared by the API and, later, the network.
pub struct Ingest {
    store: Arc<Store>,
    trust: Arc<TrustEngine>,
    verifier: Mutex<BatchVerifier>,
    limits: Limits,
    metrics: Metrics,
}

impl Ingest {
    /// A pipeline writing into `store` and feeding `trust`.
    pub fn new(store: Arc<Store>, trust: Arc<TrustEngine>, metrics: Metrics) -> Self {
        Ingest {
            store,
            trust,
            verifier: Mutex::new(BatchVerifier::default()),
            limits: Limits::default(),
            metrics,
        }
    }

    /// Ingests encoded statements (as they arrive from the network). Blocking.
    pub fn submit_encoded(
        &self,
        items: Vec<Vec<u8>>,
        now: u64,
    ) -> Result<Vec<Ingested>, store::Error> {
        let decoded = items
            .into_iter()
            .map(|bytes| {
                let statement = decode_signed(&bytes)?;
                Ok((StatementId::of_bytes(&bytes), bytes, statement))
            })
            .collect();
        self.run(decoded, now)
    }

    /// Ingests statements made locally (the operator's own). Blocking.
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
        self.run(encoded, now)
    }

    fn run(&self, items: Vec<Decoded>, now: u64) -> Result<Vec<Ingested>, store::Error> {
        let mut results: Vec<Option<Ingested>> = Vec::with_capacity(items.len());
        let mut candidates: Vec<(usize, Verified)> = Vec::new();
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
        let verdicts = self
            .verifier
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .verify_many(&statements);
        let mut good = Vec::with_capacity(candidates.len());
        for ((i, verified), verdict) in candidates.into_iter().zip(verdicts) {
            match verdict {
                Ok(()) => good.push((i, verified)),
                Err(e) => results[i] = Some(Ingested::Rejected(e.into())),
            }
        }

        let to_store: Vec<Verified> = good.iter().map(|(_, v)| v.clone()).collect();
        let outcomes = self.store.insert(&to_store)?;
        for ((i, verified), outcome) in good.into_iter().zip(outcomes) {
            results[i] = Some(match outcome {
                Outcome::Stored { seq, .. } => {
                    self.trust.apply(&verified.statement);
                    Ingested::Stored {
                        id: verified.id,
                        seq,
                    }
                }
                Outcome::Duplicate => Ingested::Duplicate(verified.id),
                Outcome::Stale => Ingested::Stale(verified.id),
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
