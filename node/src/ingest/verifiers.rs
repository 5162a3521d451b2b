//! Signature verification on every core: a batch is cut into one chunk per
//! core, each checked by its own [`BatchVerifier`] (with its own key
//! cache) on a scoped thread. The answer is the same as one verifier's,
//! item by item, since every verifier follows the same rule.

use std::sync::{Mutex, PoisonError};
use std::thread;

use vouch_protocol::{BatchVerifier, SignatureError, SignedStatement};

/// Fewer statements than this per core are not worth a thread.
const MIN_CHUNK: usize = 32;

/// One batch verifier per core.
pub(crate) struct Verifiers {
    pool: Vec<Mutex<BatchVerifier>>,
}

impl Verifiers {
    /// One verifier for each of `cores` (at least one).
    pub(crate) fn new(cores: usize) -> Self {
        Verifiers {
            pool: (0..cores.max(1))
                .map(|_| Mutex::new(BatchVerifier::default()))
                .collect(),
        }
    }

    /// One verifier for each core this process may use.
    pub(crate) fn per_core() -> Self {
        Self::new(thread::available_parallelism().map_or(1, usize::from))
    }

    /// Verifies `statements`; result `i` is what
    /// [`vouch_protocol::verify`] says of `statements[i]`. Blocking.
    pub(crate) fn verify_many(
        &self,
        statements: &[SignedStatement],
    ) -> Vec<Result<(), SignatureError>> {
        let chunks = (statements.len() / MIN_CHUNK).clamp(1, self.pool.len());
        if chunks == 1 {
            return verify_with(&self.pool[0], statements);
        }
        let size = statements.len().div_ceil(chunks);
        thread::scope(|scope| {
            let running: Vec<_> = statements
                .chunks(size)
                .zip(&self.pool)
                .map(|(chunk, verifier)| scope.spawn(move || verify_with(verifier, chunk)))
                .collect();
            running
                .into_iter()
                .zip(statements.chunks(size))
                .flat_map(|(handle, chunk)| {
                    // A verifier thread panicking is a bug; its chunk is
                    // refused rather than admitted.
                    handle
                        .join()
                        .unwrap_or_else(|_| vec![Err(SignatureError::BadSignature); chunk.len()])
                })
                .collect()
        })
    }
}

fn verify_with(
    verifier: &Mutex<BatchVerifier>,
    statements: &[SignedStatement],
) -> Vec<Result<(), SignatureError>> {
    verifier
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .verify_many(statements)
}

#[cfg(test)]
mod tests {
    use vouch_protocol::{Claim, Keypair, NodeKey, Statement, Subject, VERSION, verify};

    use super::*;

    fn statements(n: usize) -> Vec<SignedStatement> {
        (0..n)
            .map(|i| {
                let mut s = Keypair::from_secret_bytes([(i % 7) as u8 + 1; 32]).sign(Statement {
                    version: VERSION,
                    subject: Subject::Node(NodeKey([3; 32])),
                    created_at: 1_700_000_000 + i as u64,
                    expires_at: 1_700_086_400,
                    claim: Claim::Trust { weight: 10 },
                });
                if i % 13 == 5 {
                    s.signature[3] ^= 1;
                }
                s
            })
            .collect()
    }

    #[test]
    fn chunks_on_every_core_answer_item_by_item_like_one_verifier() {
        let all = statements(300);
        let expected: Vec<_> = all.iter().map(verify).collect();
        assert!(expected.iter().any(Result::is_err) && expected.iter().any(Result::is_ok));
        for cores in [1, 2, 3, 8] {
            let verifiers = Verifiers::new(cores);
            for n in [0, 1, 31, 64, 65, 300] {
                assert_eq!(
                    verifiers.verify_many(&all[..n]),
                    expected[..n],
                    "{cores} cores, {n} statements"
                );
            }
        }
    }
}
