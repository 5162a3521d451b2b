//! Signing and verification, single and batched, with one acceptance rule:
//! a signature is valid exactly when `verify_strict` accepts it.
//!
//! Batch verification is about twice as fast per signature but is a
//! different equation: it does not reject weak (small-order) keys, small-order
//! or non-canonical `R`, and, being a random linear combination, can accept
//! signatures whose error is a small-order (torsion) point when several of
//! them cancel. Every node must accept exactly the same statements whatever
//! they happened to be batched with, so only signatures that cannot hit those
//! differences go into a batch: the key is cached as torsion-free and not
//! weak, and `R` is canonical and torsion-free. Everything else, and every
//! member of a batch that fails, is judged by `verify_strict` alone.

use std::collections::HashMap;

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::codec::signing_message;
use crate::key::NodeKey;
use crate::statement::{SignedStatement, Statement};

/// Why a signature is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The author key is not a valid curve point.
    #[error("author key is not a valid ed25519 public key")]
    BadKey,
    /// The signature does not verify under `verify_strict`.
    #[error("signature does not verify")]
    BadSignature,
}

/// A node's signing key.
pub struct Keypair {
    signing: SigningKey,
}

impl Keypair {
    /// Builds a keypair from 32 secret bytes (the caller supplies randomness,
    /// keeping this crate free of I/O).
    pub fn from_secret_bytes(secret: [u8; 32]) -> Self {
        Keypair {
            signing: SigningKey::from_bytes(&secret),
        }
    }

    /// The secret bytes, for writing the key file.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// The public key, which names this node as an author.
    pub fn public(&self) -> NodeKey {
        NodeKey(self.signing.verifying_key().to_bytes())
    }

    /// Signs a statement body.
    pub fn sign(&self, body: Statement) -> SignedStatement {
        let signature = self.signing.sign(&signing_message(&body)).to_bytes();
        SignedStatement {
            body,
            author: self.public(),
            signature,
        }
    }
}

impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keypair({})", self.public())
    }
}

/// Verifies one statement with `verify_strict`, the reference rule.
pub fn verify_strict(statement: &SignedStatement) -> Result<(), SignatureError> {
    let key = VerifyingKey::from_bytes(&statement.author.0).map_err(|_| SignatureError::BadKey)?;
    strict(&key, statement)
}

fn strict(key: &VerifyingKey, statement: &SignedStatement) -> Result<(), SignatureError> {
    let signature = Signature::from_bytes(&statement.signature);
    key.verify_strict(&signing_message(&statement.body), &signature)
        .map_err(|_| SignatureError::BadSignature)
}

/// What the cache knows about an author key.
#[derive(Clone, Copy)]
enum CachedKey {
    /// Torsion-free and not weak: its signatures may be batched.
    Batchable(VerifyingKey),
    /// A valid point with a small-order component: `verify_strict` only.
    StrictOnly(VerifyingKey),
    /// Not a curve point.
    Invalid,
}

/// Verifies statements, batching where that cannot change the answer, and
/// caching parsed author keys (decompressing a key costs about 3 µs).
pub struct BatchVerifier {
    keys: HashMap<NodeKey, CachedKey>,
    max_cached_keys: usize,
}

impl Default for BatchVerifier {
    fn default() -> Self {
        Self::new(100_000)
    }
}

impl BatchVerifier {
    /// A verifier caching at most `max_cached_keys` author keys (the cache is
    /// cleared when full; authors are few and re-parsing is cheap).
    pub fn new(max_cached_keys: usize) -> Self {
        BatchVerifier {
            keys: HashMap::new(),
            max_cached_keys: max_cached_keys.max(1),
        }
    }

    fn key(&mut self, author: &NodeKey) -> CachedKey {
        if let Some(key) = self.keys.get(author) {
            return *key;
        }
        let parsed = match VerifyingKey::from_bytes(&author.0) {
            Err(_) => CachedKey::Invalid,
            Ok(key) => {
                let point = CompressedEdwardsY(author.0).decompress();
                if point.is_some_and(|p| is_torsion_free(&p)) && !key.is_weak() {
                    CachedKey::Batchable(key)
                } else {
                    CachedKey::StrictOnly(key)
                }
            }
        };
        if self.keys.len() >= self.max_cached_keys {
            self.keys.clear();
        }
        self.keys.insert(*author, parsed);
        parsed
    }

    /// Verifies one statement (same answer as [`verify_strict`], cached key).
    pub fn verify_one(&mut self, statement: &SignedStatement) -> Result<(), SignatureError> {
        match self.key(&statement.author) {
            CachedKey::Invalid => Err(SignatureError::BadKey),
            CachedKey::Batchable(key) | CachedKey::StrictOnly(key) => strict(&key, statement),
        }
    }

    /// Verifies many statements; result `i` is exactly what [`verify_strict`]
    /// says of `statements[i]`, whatever else is in the slice.
    pub fn verify_many(
        &mut self,
        statements: &[SignedStatement],
    ) -> Vec<Result<(), SignatureError>> {
        let mut results = vec![Err(SignatureError::BadSignature); statements.len()];
        let mut batch: Vec<(usize, VerifyingKey, Signature, Vec<u8>)> = Vec::new();
        for (i, statement) in statements.iter().enumerate() {
            match self.key(&statement.author) {
                CachedKey::Invalid => results[i] = Err(SignatureError::BadKey),
                CachedKey::StrictOnly(key) => results[i] = strict(&key, statement),
                CachedKey::Batchable(key) => {
                    let signature = Signature::from_bytes(&statement.signature);
                    if batchable_signature(&signature) {
                        batch.push((i, key, signature, signing_message(&statement.body)));
                    } else {
                        results[i] = strict(&key, statement);
                    }
                }
            }
        }
        if batch.is_empty() {
            return results;
        }
        let messages: Vec<&[u8]> = batch.iter().map(|(_, _, _, m)| m.as_slice()).collect();
        let signatures: Vec<Signature> = batch.iter().map(|(_, _, s, _)| *s).collect();
        let keys: Vec<VerifyingKey> = batch.iter().map(|(_, k, _, _)| *k).collect();
        if ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok() {
            for (i, ..) in &batch {
                results[*i] = Ok(());
            }
        } else {
            for (i, key, signature, message) in &batch {
                results[*i] = key
                    .verify_strict(message, signature)
                    .map_err(|_| SignatureError::BadSignature);
            }
        }
        results
    }
}

/// True when `R` is a canonical encoding of a torsion-free point other than
/// the identity and `s` is a canonical scalar: the cases where the batch
/// equation and `verify_strict` cannot disagree (given a batchable key).
/// The identity is torsion-free but of small order, which `verify_strict`
/// rejects while the batch equation accepts it (with `s = h·a`).
fn batchable_signature(signature: &Signature) -> bool {
    let r = CompressedEdwardsY(*signature.r_bytes());
    let canonical_s = bool::from(Scalar::from_canonical_bytes(*signature.s_bytes()).is_some());
    canonical_s
        && r.decompress().is_some_and(|point| {
            point.compress() == r && !point.is_identity() && is_torsion_free(&point)
        })
}

/// `[l]P == 0`, computed as `[l-1]P + P` with the variable-time double-base
/// multiplication (public data, so variable time is fine and about twice as
/// fast as the constant-time `EdwardsPoint::is_torsion_free`).
fn is_torsion_free(point: &EdwardsPoint) -> bool {
    let l_minus_one = Scalar::ZERO - Scalar::ONE;
    let product =
        EdwardsPoint::vartime_double_scalar_mul_basepoint(&l_minus_one, point, &Scalar::ZERO);
    (product + point).is_identity()
}
