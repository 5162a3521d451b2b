//! Signing and verification, single and batched, under one rule that both
//! paths implement exactly, so a statement is valid or not whatever it
//! happened to be batched with:
//!
//! * `s` is a canonical scalar (below l);
//! * the author key `A` and the nonce point `R` are canonical encodings of
//!   curve points that are not of small order (points with a small-order
//!   component are allowed, as in ZIP-215);
//! * the cofactored equation holds: `[8]([s]B − [k]A − R) = 0` with
//!   `k = SHA-512(R ‖ A ‖ message) mod l`.
//!
//! The cofactored equation is the one a random linear combination of
//! signatures checks too (with the cofactor cleared): the ZIP-215 rules
//! (ed25519-zebra, ed25519-consensus), restricted to canonical, not
//! small-order `A` and `R` — checks that cost a byte comparison and three
//! doublings, and that the key cache pays for once per author. RFC 8032's
//! cofactorless equation, which `verify_strict` uses, disagrees with any
//! batch equation on signatures whose error is a small-order point, so a
//! batch built on it needs a scalar multiplication per signature to find
//! them; this one needs none.
//!
//! The batch equation is written here rather than taken from
//! `ed25519-zebra`: that crate's batch verifier takes an outside random
//! number generator (this crate does no I/O) and decompresses every key
//! again; here the batch's coefficients are derived from a hash of all its
//! inputs, as ed25519-dalek does, and keys come from the cache. Tests check
//! the single rule against ed25519-zebra's.

use std::collections::HashMap;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha512};

use crate::codec::signing_message;
use crate::key::NodeKey;
use crate::statement::{SignedStatement, Statement};

/// Why a signature is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The author key is not a canonical encoding of a curve point, or is
    /// a point of small order.
    #[error("author key is not a valid ed25519 public key")]
    BadKey,
    /// The signature does not verify.
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

/// Verifies one statement: the reference rule every path follows.
pub fn verify(statement: &SignedStatement) -> Result<(), SignatureError> {
    let key = AuthorKey::parse(&statement.author).ok_or(SignatureError::BadKey)?;
    key.verify(statement)
}

/// An author key that passed the key checks, with `−A` ready for the
/// equation (decompressing costs about 3 µs; the cache keeps it).
#[derive(Clone, Copy)]
struct AuthorKey {
    bytes: [u8; 32],
    minus_a: EdwardsPoint,
}

impl AuthorKey {
    fn parse(key: &NodeKey) -> Option<AuthorKey> {
        let point = canonical_point(&key.0)?;
        Some(AuthorKey {
            bytes: key.0,
            minus_a: -point,
        })
    }

    /// Checks one signature alone.
    fn verify(&self, statement: &SignedStatement) -> Result<(), SignatureError> {
        match Parts::of(self, statement) {
            Some(parts) if single_holds(self, &parts) => Ok(()),
            _ => Err(SignatureError::BadSignature),
        }
    }
}

/// A signature's parts, checked: `R` (and its bytes), `s` and the
/// challenge `k`.
struct Parts {
    r_bytes: [u8; 32],
    r: EdwardsPoint,
    s: Scalar,
    k: Scalar,
}

impl Parts {
    fn of(key: &AuthorKey, statement: &SignedStatement) -> Option<Parts> {
        let (r_bytes, s_bytes) = statement.signature.split_at(32);
        let r_bytes: [u8; 32] = r_bytes.try_into().ok()?;
        let s_bytes: [u8; 32] = s_bytes.try_into().ok()?;
        let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))?;
        let r = canonical_point(&r_bytes)?;
        let mut hash = [0u8; 64];
        hash.copy_from_slice(
            &Sha512::new()
                .chain_update(r_bytes)
                .chain_update(key.bytes)
                .chain_update(signing_message(&statement.body))
                .finalize(),
        );
        Some(Parts {
            r_bytes,
            r,
            s,
            k: Scalar::from_bytes_mod_order_wide(&hash),
        })
    }
}

/// The point `bytes` encode, if the encoding is canonical (`y < p`; the
/// one other non-canonical form, `x = 0` with the sign bit set, encodes a
/// small-order point) and the point is not of small order.
fn canonical_point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    if !is_canonical_y(bytes) {
        return None;
    }
    let point = CompressedEdwardsY(*bytes).decompress()?;
    (!point.is_small_order()).then_some(point)
}

/// Whether the 255-bit `y` of an encoding is below p = 2^255 − 19.
fn is_canonical_y(bytes: &[u8; 32]) -> bool {
    let top = bytes[31] & 0x7f;
    // y ≥ p exactly when every byte above the lowest is all ones (the top
    // one without its sign bit) and the lowest is at least 0xed.
    !(top == 0x7f && bytes[1..31].iter().all(|&b| b == 0xff) && bytes[0] >= 0xed)
}

/// What the cache knows about an author key.
#[derive(Clone, Copy)]
enum CachedKey {
    Valid(AuthorKey),
    Invalid,
}

/// Verifies statements in batches, caching parsed author keys.
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
        let parsed = AuthorKey::parse(author).map_or(CachedKey::Invalid, CachedKey::Valid);
        if self.keys.len() >= self.max_cached_keys {
            self.keys.clear();
        }
        self.keys.insert(*author, parsed);
        parsed
    }

    /// Verifies one statement (same answer as [`verify`], cached key).
    pub fn verify_one(&mut self, statement: &SignedStatement) -> Result<(), SignatureError> {
        match self.key(&statement.author) {
            CachedKey::Invalid => Err(SignatureError::BadKey),
            CachedKey::Valid(key) => key.verify(statement),
        }
    }

    /// Verifies many statements; result `i` is exactly what [`verify`]
    /// says of `statements[i]`, whatever else is in the slice. One
    /// multi-scalar multiplication checks them all; only when it fails is
    /// each one checked alone.
    pub fn verify_many(
        &mut self,
        statements: &[SignedStatement],
    ) -> Vec<Result<(), SignatureError>> {
        let mut results = vec![Err(SignatureError::BadSignature); statements.len()];
        let mut batch: Vec<(usize, AuthorKey, Parts)> = Vec::with_capacity(statements.len());
        for (i, statement) in statements.iter().enumerate() {
            match self.key(&statement.author) {
                CachedKey::Invalid => results[i] = Err(SignatureError::BadKey),
                CachedKey::Valid(key) => {
                    if let Some(parts) = Parts::of(&key, statement) {
                        batch.push((i, key, parts));
                    }
                }
            }
        }
        let holds = match batch.as_slice() {
            [] => return results,
            [(_, key, parts)] => single_holds(key, parts),
            _ => batch_holds(&batch),
        };
        for (i, key, parts) in &batch {
            results[*i] = if holds || single_holds(key, parts) {
                Ok(())
            } else {
                Err(SignatureError::BadSignature)
            };
        }
        results
    }
}

/// The single equation: `[8]([s]B − [k]A − R) = 0`.
fn single_holds(key: &AuthorKey, parts: &Parts) -> bool {
    let expected_r =
        EdwardsPoint::vartime_double_scalar_mul_basepoint(&parts.k, &key.minus_a, &parts.s);
    (expected_r - parts.r).mul_by_cofactor().is_identity()
}

/// The batch equation: `[8](Σ zᵢ(sᵢB − kᵢAᵢ − Rᵢ)) = 0` with 128-bit
/// coefficients `zᵢ` derived from a hash of every input, so no signature
/// can be chosen to cancel another's error. The `kᵢAᵢ` terms of one author
/// are summed first (one point per author, not per signature). Each `Rᵢ`
/// enters negated with the short `zᵢ`, not as is with `−zᵢ` (a full-size
/// scalar): the multiscalar multiplication skips a scalar's zero digits, so
/// half of each `Rᵢ`'s work is never done.
fn batch_holds(batch: &[(usize, AuthorKey, Parts)]) -> bool {
    let mut transcript = Sha512::new().chain_update(b"vouch batch verification");
    for (_, _, parts) in batch {
        transcript.update(parts.k.as_bytes());
        transcript.update(parts.s.as_bytes());
        transcript.update(parts.r_bytes);
    }
    let seed = transcript.finalize();
    let mut b_coefficient = Scalar::ZERO;
    let mut scalars: Vec<Scalar> = Vec::with_capacity(batch.len() * 2 + 1);
    let mut points: Vec<EdwardsPoint> = Vec::with_capacity(batch.len() * 2 + 1);
    let mut author_slot: HashMap<[u8; 32], usize> = HashMap::new();
    scalars.push(Scalar::ZERO);
    points.push(ED25519_BASEPOINT_POINT);
    for ((_, key, parts), z) in batch.iter().zip(coefficients(&seed)) {
        b_coefficient += z * parts.s;
        scalars.push(z);
        points.push(-parts.r);
        let slot = *author_slot.entry(key.bytes).or_insert_with(|| {
            scalars.push(Scalar::ZERO);
            points.push(key.minus_a);
            scalars.len() - 1
        });
        if let Some(a_coefficient) = scalars.get_mut(slot) {
            *a_coefficient += z * parts.k;
        }
    }
    if let Some(first) = scalars.first_mut() {
        *first = b_coefficient;
    }
    EdwardsPoint::vartime_multiscalar_mul(&scalars, &points)
        .mul_by_cofactor()
        .is_identity()
}

/// The batch coefficients, 128 bits each: `SHA-512(seed ‖ n)` for
/// n = 0, 1, … cut into four.
fn coefficients(seed: &[u8]) -> impl Iterator<Item = Scalar> + '_ {
    (0u64..).flat_map(move |n| {
        let hash = Sha512::new()
            .chain_update(seed)
            .chain_update(n.to_le_bytes())
            .finalize();
        let mut quarters = [[0u8; 32]; 4];
        for (quarter, bytes) in quarters.iter_mut().zip(hash.chunks_exact(16)) {
            quarter[..16].copy_from_slice(bytes);
        }
        quarters.map(Scalar::from_bytes_mod_order)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Claim, Subject, VERSION};

    fn statement(author: u8, n: u64) -> SignedStatement {
        Keypair::from_secret_bytes([author; 32]).sign(Statement {
            version: VERSION,
            subject: Subject::Node(NodeKey([9; 32])),
            created_at: 1_700_000_000 + n,
            expires_at: 1_700_086_400,
            claim: Claim::Trust { weight: 50 },
        })
    }

    fn parsed(statements: &[SignedStatement]) -> Vec<(usize, AuthorKey, Parts)> {
        statements
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let key = AuthorKey::parse(&s.author).expect("valid key");
                let parts = Parts::of(&key, s).expect("well-formed");
                (i, key, parts)
            })
            .collect()
    }

    /// The fallback to single checks would hide a wrong batch equation, so
    /// the equation itself is tested: it holds for honest batches (authors
    /// repeated or not) and fails when any one signature is wrong.
    #[test]
    fn the_batch_equation_holds_exactly_for_valid_batches() {
        for size in [2usize, 3, 16, 64] {
            let honest: Vec<SignedStatement> = (0..size)
                .map(|i| statement((i % 5) as u8 + 1, i as u64))
                .collect();
            assert!(batch_holds(&parsed(&honest)), "size {size}");
            for wrong in [0, size / 2, size - 1] {
                let mut batch = honest.clone();
                batch[wrong].body.created_at += 1;
                assert!(!batch_holds(&parsed(&batch)), "size {size}, wrong {wrong}");
            }
        }
    }

    #[test]
    fn canonical_y_is_below_p() {
        let mut p = [0xff; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(!is_canonical_y(&p));
        let mut below = p;
        below[0] = 0xec;
        assert!(is_canonical_y(&below));
        let mut signed = p;
        signed[31] = 0xff;
        assert!(!is_canonical_y(&signed), "the sign bit is not part of y");
        below[31] = 0xff;
        assert!(is_canonical_y(&below));
        assert!(is_canonical_y(&[0; 32]));
    }
}
