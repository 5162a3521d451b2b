//! Protocol unit tests, in one file so every section shares the fixtures
//! and strategies of section 1 (long on purpose: it is the spec's examples).
//!
//! Sections:
//! 1. shared fixtures and proptest strategies
//! 2. round trip (encode → decode → verify → validate)
//! 3. tamper detection
//! 4. canonical encoding
//! 5. committed test vectors
//! 6. validation rules, one test per `ValidationError` variant
//! 7. subject parsing and canonical form
//! 8. batch verification equals single verification (adversarial signatures)

use std::net::IpAddr;
use std::str::FromStr;
use std::sync::LazyLock;

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use sha2::{Digest, Sha512};

use crate::codec::signing_message;
use crate::{
    BatchVerifier, Claim, DecodeError, EndorseCategory, Evidence, Keypair, Kind, Limits,
    MAX_STATEMENT_BYTES, NodeKey, ReportCategory, SignatureError, SignedStatement, Statement,
    StatementId, Subject, SubjectError, VERSION, ValidationError, decode_signed, encode_signed,
    validate, verify,
};

// ---------------------------------------------------------------------------
// 1. Shared fixtures and strategies
// ---------------------------------------------------------------------------

const DAY: u64 = 24 * 60 * 60;
/// A fixed "now" for the deterministic tests (2023-11-14).
const T0: u64 = 1_700_000_000;

fn ip(text: &str) -> IpAddr {
    text.parse().expect("test IP literal parses")
}

fn node_of(secret: u8) -> NodeKey {
    Keypair::from_secret_bytes([secret; 32]).public()
}

fn fail(error: impl std::fmt::Debug) -> TestCaseError {
    TestCaseError::fail(format!("{error:?}"))
}

fn arb_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(IpAddr::from),
    ]
}

/// A canonical netblock: host bits cleared by hand (independently of the
/// crate's own `ipnet`-based normalisation), prefix shorter than the address.
fn arb_net() -> impl Strategy<Value = Subject> {
    prop_oneof![
        (any::<u32>(), 0u8..32).prop_map(|(bits, prefix)| {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            Subject::Net {
                addr: IpAddr::from((bits & mask).to_be_bytes()),
                prefix,
            }
        }),
        (any::<u128>(), 0u8..128).prop_map(|(bits, prefix)| {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            Subject::Net {
                addr: IpAddr::from((bits & mask).to_be_bytes()),
                prefix,
            }
        }),
    ]
}

/// A canonical (lower-case ASCII, no trailing dot) domain of 2 to 5 labels.
fn arb_domain() -> impl Strategy<Value = String> {
    (vec("[a-z0-9]{1,8}(-[a-z0-9]{1,8})?", 1..5), "[a-z]{2,8}").prop_map(|(mut labels, tld)| {
        labels.push(tld);
        labels.join(".")
    })
}

fn arb_sender_subject() -> impl Strategy<Value = Subject> {
    prop_oneof![
        arb_ip().prop_map(Subject::Ip),
        arb_net(),
        arb_domain().prop_map(Subject::Domain),
    ]
}

fn arb_node_subject() -> impl Strategy<Value = Subject> {
    any::<[u8; 32]>().prop_map(|key| Subject::Node(NodeKey(key)))
}

fn arb_endorse_category() -> impl Strategy<Value = EndorseCategory> {
    prop_oneof![
        Just(EndorseCategory::LegitimateSender),
        Just(EndorseCategory::Operator),
        Just(EndorseCategory::Forwarder),
    ]
}

fn arb_report_category() -> impl Strategy<Value = ReportCategory> {
    prop_oneof![
        Just(ReportCategory::Spam),
        Just(ReportCategory::Phishing),
        Just(ReportCategory::Malware),
        Just(ReportCategory::Backscatter),
    ]
}

/// Evidence within the default limits (16 hashes, 16 hops).
fn arb_evidence() -> impl Strategy<Value = Evidence> {
    (vec(any::<[u8; 32]>(), 0..=16), vec(arb_ip(), 0..=16)).prop_map(
        |(message_hashes, relay_chain)| Evidence {
            message_hashes,
            relay_chain,
        },
    )
}

/// Every claim kind, each with a subject of a type it may be about.
fn arb_claim_and_subject() -> impl Strategy<Value = (Claim, Subject)> {
    prop_oneof![
        (0u8..=100, arb_node_subject()).prop_map(|(weight, s)| (Claim::Trust { weight }, s)),
        (arb_endorse_category(), arb_sender_subject())
            .prop_map(|(category, s)| (Claim::Endorse { category }, s)),
        (
            arb_report_category(),
            1u32..=1_000_000,
            arb_evidence(),
            arb_sender_subject()
        )
            .prop_map(|(category, count, evidence, s)| (
                Claim::Report {
                    category,
                    count,
                    evidence
                },
                s
            )),
        (
            prop_oneof![
                Just(Kind::Endorse),
                Just(Kind::Report),
                Just(Kind::Remediate)
            ],
            arb_sender_subject()
        )
            .prop_map(|(kind, s)| (Claim::Retract { kind }, s)),
        arb_node_subject().prop_map(|s| (Claim::Retract { kind: Kind::Trust }, s)),
        // `remediated_at` is generated as a lag behind `created_at`; `arb_case`
        // turns it into a time once `created_at` is known.
        (0u64..10_000_000, arb_note(), arb_sender_subject()).prop_map(|(lag, note, s)| (
            Claim::Remediate {
                remediated_at: lag,
                note
            },
            s
        )),
    ]
}

/// A remediation note within the default limit: printable text, at most 280 bytes.
fn arb_note() -> impl Strategy<Value = String> {
    "\\PC{0,70}".prop_filter("note fits in 280 bytes", |note| note.len() <= 280)
}

/// A valid statement, the author's secret, and a `now` at which it is valid.
#[derive(Debug, Clone)]
struct Case {
    secret: [u8; 32],
    body: Statement,
    now: u64,
}

fn arb_case() -> impl Strategy<Value = Case> {
    (
        any::<[u8; 32]>(),
        arb_claim_and_subject(),
        1_000_000_000u64..4_000_000_000,
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(
            |(secret, (claim, subject), created_at, ttl_seed, now_seed)| {
                let limits = Limits::default();
                let ttl = 1 + ttl_seed % limits.max_ttl(claim.kind());
                let skew = limits.max_future_skew_secs;
                // Anywhere from `skew` before creation to the last valid second.
                let now = created_at - skew + now_seed % (ttl + skew);
                let claim = match claim {
                    Claim::Remediate {
                        remediated_at: lag,
                        note,
                    } => Claim::Remediate {
                        remediated_at: created_at - lag,
                        note,
                    },
                    other => other,
                };
                Case {
                    secret,
                    body: Statement {
                        version: VERSION,
                        subject,
                        created_at,
                        expires_at: created_at + ttl,
                        claim,
                    },
                    now,
                }
            },
        )
}

/// Signs a case; `None` in the (negligible) event that a trust subject is the author.
fn sign_case(case: &Case) -> Option<SignedStatement> {
    let keypair = Keypair::from_secret_bytes(case.secret);
    if case.body.subject == Subject::Node(keypair.public()) {
        return None;
    }
    Some(keypair.sign(case.body.clone()))
}

// ---------------------------------------------------------------------------
// 2. Round trip
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip_of_every_kind(case in arb_case()) {
        let signed = sign_case(&case);
        prop_assume!(signed.is_some());
        let signed = signed.ok_or_else(|| fail("assumed"))?;

        let bytes = encode_signed(&signed).map_err(fail)?;
        prop_assert!(bytes.len() <= MAX_STATEMENT_BYTES);
        let decoded = decode_signed(&bytes).map_err(fail)?;
        prop_assert_eq!(&decoded, &signed);
        prop_assert_eq!(encode_signed(&decoded).map_err(fail)?, bytes);

        prop_assert_eq!(verify(&decoded), Ok(()));
        prop_assert_eq!(BatchVerifier::default().verify_one(&decoded), Ok(()));
        prop_assert_eq!(validate(&decoded, case.now, &Limits::default()), Ok(()));
    }

    /// Display and FromStr agree on every canonical subject.
    #[test]
    fn subject_display_parses_back(subject in prop_oneof![arb_sender_subject(), arb_node_subject()]) {
        prop_assert_eq!(subject.check_canonical(), Ok(()));
        prop_assert_eq!(Subject::from_str(&subject.to_string()), Ok(subject));
    }

    /// Validation is total: arbitrary times never overflow or panic.
    #[test]
    fn validate_never_panics(
        created_at in any::<u64>(),
        expires_at in any::<u64>(),
        now in any::<u64>(),
        version in any::<u8>(),
        weight in any::<u8>(),
    ) {
        let statement = SignedStatement {
            body: Statement {
                version,
                subject: Subject::Node(NodeKey([1; 32])),
                created_at,
                expires_at,
                claim: Claim::Trust { weight },
            },
            author: NodeKey([2; 32]),
            signature: [0; 64],
        };
        let result = validate(&statement, now, &Limits::default());
        let should_pass = version == VERSION
            && created_at <= now.saturating_add(300)
            && expires_at > created_at
            && expires_at > now
            && expires_at - created_at <= 366 * DAY
            && weight <= 100;
        prop_assert_eq!(result.is_ok(), should_pass, "{:?}", result);
    }
}

// ---------------------------------------------------------------------------
// 3. Tamper detection
// ---------------------------------------------------------------------------

/// Changes one field of a signed statement in place.
type Mutation = fn(&mut SignedStatement);

/// Every single-field change to a signed statement that a forger might try.
fn field_mutations(signed: &SignedStatement) -> Vec<(&'static str, SignedStatement)> {
    let mutations: [(&'static str, Mutation); 11] = [
        ("version", |m| {
            m.body.version = m.body.version.wrapping_add(1)
        }),
        ("created_at", |m| m.body.created_at ^= 1),
        ("expires_at", |m| {
            m.body.expires_at = m.body.expires_at.wrapping_add(1)
        }),
        ("subject", |m| {
            m.body.subject = other_subject(&m.body.subject)
        }),
        ("claim field", |m| mutate_claim_field(&mut m.body.claim)),
        ("claim kind", |m| {
            m.body.claim = match m.body.claim {
                Claim::Endorse { .. } => Claim::Retract {
                    kind: Kind::Endorse,
                },
                _ => Claim::Endorse {
                    category: EndorseCategory::Operator,
                },
            }
        }),
        ("evidence", |m| {
            if let Claim::Report { evidence, .. } = &mut m.body.claim {
                evidence.message_hashes.push([0x5a; 32]);
            } else {
                m.body.created_at = m.body.created_at.wrapping_sub(1);
            }
        }),
        ("author bit", |m| m.author.0[0] ^= 1),
        ("author key", |m| {
            m.author = Keypair::from_secret_bytes(m.author.0).public();
        }),
        ("signature R", |m| m.signature[3] ^= 0x10),
        ("signature s", |m| m.signature[40] ^= 0x01),
    ];
    mutations
        .into_iter()
        .map(|(name, mutate)| {
            let mut copy = signed.clone();
            mutate(&mut copy);
            (name, copy)
        })
        .collect()
}

fn other_subject(subject: &Subject) -> Subject {
    match subject {
        Subject::Ip(IpAddr::V4(a)) => Subject::Ip(IpAddr::from((u32::from(*a) ^ 1).to_be_bytes())),
        Subject::Ip(IpAddr::V6(a)) => Subject::Ip(IpAddr::from((u128::from(*a) ^ 1).to_be_bytes())),
        Subject::Net { addr, prefix } => Subject::Net {
            addr: *addr,
            prefix: prefix ^ 1,
        },
        Subject::Domain(name) => Subject::Domain(format!("x{name}")),
        Subject::Node(key) => {
            let mut key = *key;
            key.0[31] ^= 1;
            Subject::Node(key)
        }
    }
}

fn mutate_claim_field(claim: &mut Claim) {
    match claim {
        Claim::Trust { weight } => *weight ^= 1,
        Claim::Endorse { category } => {
            *category = match category {
                EndorseCategory::LegitimateSender => EndorseCategory::Operator,
                _ => EndorseCategory::LegitimateSender,
            }
        }
        Claim::Report { count, .. } => *count ^= 1,
        Claim::Retract { kind } => {
            *kind = if *kind == Kind::Report {
                Kind::Endorse
            } else {
                Kind::Report
            }
        }
        Claim::Remediate { remediated_at, .. } => *remediated_at ^= 1,
    }
}

fn flip_bit(bytes: &[u8], bit: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[bit / 8] ^= 1 << (bit % 8);
    out
}

/// A flipped encoding must not yield a statement that still verifies.
/// Returns the decoded (and rejected) statement, if the bytes decoded.
fn check_flipped(
    original: &SignedStatement,
    flipped: &[u8],
) -> Result<Option<SignedStatement>, String> {
    match decode_signed(flipped) {
        Err(_) => Ok(None),
        Ok(decoded) if decoded == *original => Err("decoded to the original".into()),
        Ok(decoded) if verify(&decoded).is_ok() => {
            Err(format!("tampered statement verifies: {decoded:?}"))
        }
        Ok(decoded) => Ok(Some(decoded)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_single_bit_flip_is_detected(case in arb_case(), bit in any::<Index>()) {
        let signed = sign_case(&case);
        prop_assume!(signed.is_some());
        let signed = signed.ok_or_else(|| fail("assumed"))?;
        let bytes = encode_signed(&signed).map_err(fail)?;
        let flipped = flip_bit(&bytes, bit.index(bytes.len() * 8));
        if let Some(decoded) = check_flipped(&signed, &flipped).map_err(fail)? {
            let batch = BatchVerifier::default().verify_many(&[signed.clone(), decoded]);
            prop_assert_eq!(batch[0], Ok(()));
            prop_assert!(batch[1].is_err(), "tampered statement batch-verifies");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_field_change_after_signing_breaks_the_signature(case in arb_case()) {
        let signed = sign_case(&case);
        prop_assume!(signed.is_some());
        let signed = signed.ok_or_else(|| fail("assumed"))?;
        let mutations = field_mutations(&signed);

        let mut batch = vec![signed.clone()];
        for (name, mutated) in &mutations {
            prop_assert_ne!(mutated, &signed, "mutation {} changed nothing", name);
            prop_assert!(verify(mutated).is_err(), "mutation {} still verifies", name);
            batch.push(mutated.clone());
        }
        let results = BatchVerifier::default().verify_many(&batch);
        prop_assert_eq!(results[0], Ok(()));
        for (i, result) in results.iter().enumerate().skip(1) {
            prop_assert!(result.is_err(), "mutation {} batch-verifies", mutations[i - 1].0);
        }
    }
}

#[test]
fn every_bit_flip_of_the_trust_vector_is_detected() {
    let signed = vector_trust();
    let bytes = encode_signed(&signed).expect("vector encodes");
    let (mut decoded, mut refused) = (0, 0);
    for bit in 0..bytes.len() * 8 {
        match check_flipped(&signed, &flip_bit(&bytes, bit)) {
            Ok(Some(_)) => decoded += 1,
            Ok(None) => refused += 1,
            Err(why) => panic!("bit {bit}: {why}"),
        }
    }
    // Both outcomes occur: the decoder refuses some flips outright, and the
    // signature catches the rest.
    assert!(
        decoded > 0 && refused > 0,
        "{decoded} decoded, {refused} refused"
    );
}

// ---------------------------------------------------------------------------
// 4. Canonical encoding
// ---------------------------------------------------------------------------

#[test]
fn trailing_bytes_are_rejected() {
    let bytes = encode_signed(&vector_report()).expect("vector encodes");
    for extra in [1usize, 2, 100] {
        let mut padded = bytes.clone();
        padded.extend(std::iter::repeat_n(0u8, extra));
        match decode_signed(&padded) {
            Err(DecodeError::TrailingBytes(n)) => assert_eq!(n, extra),
            other => panic!("{extra} trailing bytes: {other:?}"),
        }
    }
    // Truncation is malformed, never a shorter valid statement.
    for cut in [1usize, 64, bytes.len() - 1] {
        assert!(
            matches!(
                decode_signed(&bytes[..bytes.len() - cut]),
                Err(DecodeError::Malformed(_))
            ),
            "cut {cut}"
        );
    }
}

#[test]
fn oversized_input_is_rejected() {
    let too_big = vec![0u8; MAX_STATEMENT_BYTES + 1];
    assert!(matches!(
        decode_signed(&too_big),
        Err(DecodeError::TooLarge(n)) if n == MAX_STATEMENT_BYTES + 1
    ));

    // A valid statement padded past the limit: the size check comes first.
    let mut padded = encode_signed(&vector_report()).expect("vector encodes");
    padded.resize(MAX_STATEMENT_BYTES + 10, 0);
    assert!(matches!(
        decode_signed(&padded),
        Err(DecodeError::TooLarge(n)) if n == MAX_STATEMENT_BYTES + 10
    ));

    // Exactly the limit is not "too large" (it is padding, so trailing bytes).
    padded.truncate(MAX_STATEMENT_BYTES);
    assert!(matches!(
        decode_signed(&padded),
        Err(DecodeError::TrailingBytes(_))
    ));

    // A statement whose encoding exceeds the limit cannot be encoded either.
    let mut huge = vector_report();
    if let Claim::Report { evidence, .. } = &mut huge.body.claim {
        evidence.message_hashes = vec![[1; 32]; 100];
    }
    assert!(matches!(
        encode_signed(&huge),
        Err(DecodeError::TooLarge(_))
    ));
}

/// Replaces `len` bytes at `at` with `with`.
fn splice(bytes: &[u8], at: usize, len: usize, with: &[u8]) -> Vec<u8> {
    let mut out = bytes[..at].to_vec();
    out.extend_from_slice(with);
    out.extend_from_slice(&bytes[at + len..]);
    out
}

#[test]
fn non_minimal_varints_are_rejected() {
    let bytes = encode_signed(&vector_report()).expect("vector encodes");
    // Layout of the report vector (see the committed hex below):
    //  0 version | 1 subject variant | 2 IpAddr variant | 3..7 IPv4
    //  7..12 created_at (0xfc + u32) | 12..17 expires_at (0xfc + u32)
    // 17 claim variant | 18 category | 19 count | 20 hash count | 21..53 hash
    // 53 relay count | 54 IpAddr variant | 55..59 IPv4 | 59..91 author | 91..155 sig
    let layout: [(usize, &[u8]); 7] = [
        (1, &[0x00]),
        (7, &[0xfc, 0x00, 0xf1, 0x53, 0x65]),
        (12, &[0xfc, 0x80, 0x42, 0x55, 0x65]),
        (17, &[0x02]),
        (19, &[0x03]),
        (20, &[0x01]),
        (53, &[0x01]),
    ];
    for (at, expected) in layout {
        assert_eq!(&bytes[at..at + expected.len()], expected, "layout at {at}");
    }

    let cases: Vec<(&str, Vec<u8>)> = vec![
        // bincode 2 varint: < 251 is one byte; 251 = u16 follows, 252 = u32, 253 = u64.
        (
            "subject variant as u16",
            splice(&bytes, 1, 1, &[0xfb, 0x00, 0x00]),
        ),
        (
            "subject variant as u32",
            splice(&bytes, 1, 1, &[0xfc, 0, 0, 0, 0]),
        ),
        (
            "created_at as u64",
            splice(&bytes, 7, 5, &[0xfd, 0x00, 0xf1, 0x53, 0x65, 0, 0, 0, 0]),
        ),
        (
            "expires_at as u64",
            splice(&bytes, 12, 5, &[0xfd, 0x80, 0x42, 0x55, 0x65, 0, 0, 0, 0]),
        ),
        (
            "claim variant as u16",
            splice(&bytes, 17, 1, &[0xfb, 0x02, 0x00]),
        ),
        ("count as u16", splice(&bytes, 19, 1, &[0xfb, 0x03, 0x00])),
        (
            "count as u32",
            splice(&bytes, 19, 1, &[0xfc, 0x03, 0, 0, 0]),
        ),
        (
            "hash count as u16",
            splice(&bytes, 20, 1, &[0xfb, 0x01, 0x00]),
        ),
        (
            "hash count as u64",
            splice(&bytes, 20, 1, &[0xfd, 1, 0, 0, 0, 0, 0, 0, 0]),
        ),
        (
            "relay count as u16",
            splice(&bytes, 53, 1, &[0xfb, 0x01, 0x00]),
        ),
    ];
    let original_id = StatementId::of_bytes(&bytes);
    for (name, crafted) in cases {
        assert_ne!(StatementId::of_bytes(&crafted), original_id);
        match decode_signed(&crafted) {
            Err(DecodeError::NotCanonical | DecodeError::Malformed(_)) => {}
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn invalid_enum_tags_and_utf8_are_malformed() {
    let bytes = encode_signed(&vector_report()).expect("vector encodes");
    for (name, at, value) in [
        ("subject variant 4", 1usize, 4u8),
        ("IpAddr variant 2", 2, 2),
        ("claim variant 4", 17, 4),
        ("report category 4", 18, 4),
    ] {
        let crafted = splice(&bytes, at, 1, &[value]);
        assert!(
            matches!(decode_signed(&crafted), Err(DecodeError::Malformed(_))),
            "{name}"
        );
    }

    // A domain subject whose name is not UTF-8.
    let mut domain = vector_report();
    domain.body.subject = Subject::Domain("ab.cd".into());
    let encoded = encode_signed(&domain).expect("encodes");
    // version, subject variant 2, length 5, then "ab.cd".
    assert_eq!(&encoded[..8], &[1, 2, 5, b'a', b'b', b'.', b'c', b'd']);
    let crafted = splice(&encoded, 3, 1, &[0xff]);
    assert!(matches!(
        decode_signed(&crafted),
        Err(DecodeError::Malformed(_))
    ));
}

// ---------------------------------------------------------------------------
// 5. Committed test vectors
// ---------------------------------------------------------------------------
//
// These constants were produced once by running the code and pasted in as
// literals. They pin the wire format, the statement id and the signing
// message: ANY change to the encoding, field order, domain tag or hashing
// makes this test fail. Do not regenerate them to make it pass; a wire-format
// change needs a new `VERSION` and a migration plan.

const REPORT_HEX: &str = "010000c0000201fc00f15365fc8042556502000301abababababababababababababababababababababababababababababababab0100c6336407ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c64483f2e0d09f727f57a3ebbba14b711c92d93a5c7c2d3fd0b8724994fea81f2d1f007f49e72b2bc1c1e131b869af93fa6fc1a0757e523ccf164af52d5c0130d";
const REPORT_ID: &str = "a7e625ab925330285618cdb8d700b2423d8592ac43426ac3735e1edbcc35fa01";
const REPORT_SIGNATURE: &str = "64483f2e0d09f727f57a3ebbba14b711c92d93a5c7c2d3fd0b8724994fea81f2d1f007f49e72b2bc1c1e131b869af93fa6fc1a0757e523ccf164af52d5c0130d";
const TRUST_HEX: &str = "0103fd1724385aa0c75b64fb78cd602fa1d991fdebf76b13c58ed702eac835e9f618fc00f15365fc804255650050ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22cbdaaa8e481b7fd58c5efa1578952618db37fdf0f8ca5e59750ee77fc12cac127a573fdb2b398b0f3af38f379f3c74a3c2427bc9a2dfd59ace1ffdb8d1d810f06";
const TRUST_ID: &str = "583b26e0dc4e3c127781231ee2fad09a09760d2605c4ed2191ac9e2e3cb5f654";
const TRUST_SIGNATURE: &str = "bdaaa8e481b7fd58c5efa1578952618db37fdf0f8ca5e59750ee77fc12cac127a573fdb2b398b0f3af38f379f3c74a3c2427bc9a2dfd59ace1ffdb8d1d810f06";

fn vector_report() -> SignedStatement {
    Keypair::from_secret_bytes([7; 32]).sign(Statement {
        version: VERSION,
        subject: Subject::Ip(ip("192.0.2.1")),
        created_at: 1_700_000_000,
        expires_at: 1_700_086_400,
        claim: Claim::Report {
            category: ReportCategory::Spam,
            count: 3,
            evidence: Evidence {
                message_hashes: vec![[0xab; 32]],
                relay_chain: vec![ip("198.51.100.7")],
            },
        },
    })
}

fn vector_trust() -> SignedStatement {
    Keypair::from_secret_bytes([7; 32]).sign(Statement {
        version: VERSION,
        subject: Subject::Node(node_of(9)),
        created_at: 1_700_000_000,
        expires_at: 1_700_086_400,
        claim: Claim::Trust { weight: 80 },
    })
}

#[test]
fn committed_test_vectors() {
    for (name, signed, hex_bytes, id, signature) in [
        (
            "report",
            vector_report(),
            REPORT_HEX,
            REPORT_ID,
            REPORT_SIGNATURE,
        ),
        (
            "trust",
            vector_trust(),
            TRUST_HEX,
            TRUST_ID,
            TRUST_SIGNATURE,
        ),
    ] {
        let encoded = encode_signed(&signed).expect("vector encodes");
        assert_eq!(hex::encode(&encoded), hex_bytes, "{name} encoding");
        assert_eq!(StatementId::of_bytes(&encoded).to_string(), id, "{name} id");
        assert_eq!(hex::encode(signed.signature), signature, "{name} signature");

        // The committed bytes decode, verify and validate.
        let committed = hex::decode(hex_bytes).expect("constant is hex");
        let decoded = decode_signed(&committed).expect("committed bytes decode");
        assert_eq!(decoded, signed, "{name} decodes to the vector");
        assert_eq!(verify(&decoded), Ok(()), "{name} verifies");
        assert_eq!(
            validate(&decoded, 1_700_000_100, &Limits::default()),
            Ok(())
        );
        assert_eq!(
            id.parse::<StatementId>(),
            Ok(StatementId::of_bytes(&committed))
        );
    }
}

// ---------------------------------------------------------------------------
// 6. Validation rules
// ---------------------------------------------------------------------------

fn author() -> NodeKey {
    node_of(7)
}

/// An unsigned-in-effect statement (validation never looks at the signature).
fn statement(subject: Subject, claim: Claim, created_at: u64, expires_at: u64) -> SignedStatement {
    SignedStatement {
        body: Statement {
            version: VERSION,
            subject,
            created_at,
            expires_at,
            claim,
        },
        author: author(),
        signature: [0; 64],
    }
}

fn report(count: u32, hashes: usize, hops: usize) -> Claim {
    Claim::Report {
        category: ReportCategory::Phishing,
        count,
        evidence: Evidence {
            message_hashes: vec![[3; 32]; hashes],
            relay_chain: vec![ip("198.51.100.1"); hops],
        },
    }
}

fn remediate(remediated_at: u64, note: &str) -> Claim {
    Claim::Remediate {
        remediated_at,
        note: note.to_owned(),
    }
}

fn sender() -> Subject {
    Subject::Ip(ip("192.0.2.1"))
}

/// Checks `claim` about `subject`, created at T0 for a day, at T0.
fn check(subject: Subject, claim: Claim) -> Result<(), ValidationError> {
    validate(
        &statement(subject, claim, T0, T0 + DAY),
        T0,
        &Limits::default(),
    )
}

fn check_times(created_at: u64, expires_at: u64, now: u64) -> Result<(), ValidationError> {
    validate(
        &statement(sender(), report(1, 0, 0), created_at, expires_at),
        now,
        &Limits::default(),
    )
}

#[test]
fn rule_unknown_version() {
    for version in [0u8, 2, 255] {
        let mut s = statement(sender(), report(1, 0, 0), T0, T0 + DAY);
        s.body.version = version;
        assert_eq!(
            validate(&s, T0, &Limits::default()),
            Err(ValidationError::UnknownVersion(version))
        );
    }
    assert_eq!(check(sender(), report(1, 0, 0)), Ok(()));
}

#[test]
fn rule_from_the_future() {
    assert_eq!(
        check_times(T0 + 301, T0 + DAY, T0),
        Err(ValidationError::FromTheFuture {
            ahead_secs: 301,
            limit_secs: 300
        })
    );
    // Exactly five minutes ahead is allowed.
    assert_eq!(check_times(T0 + 300, T0 + DAY, T0), Ok(()));
    // The allowance follows the limits.
    let strict = Limits {
        max_future_skew_secs: 0,
        ..Limits::default()
    };
    let s = statement(sender(), report(1, 0, 0), T0 + 1, T0 + DAY);
    assert_eq!(
        validate(&s, T0, &strict),
        Err(ValidationError::FromTheFuture {
            ahead_secs: 1,
            limit_secs: 0
        })
    );
    assert_eq!(validate(&s, T0 + 1, &strict), Ok(()));
}

#[test]
fn rule_expired() {
    assert_eq!(
        check_times(T0 - DAY, T0, T0),
        Err(ValidationError::Expired(0))
    );
    assert_eq!(
        check_times(T0 - DAY, T0 - 5, T0),
        Err(ValidationError::Expired(5))
    );
    assert_eq!(check_times(T0 - DAY, T0 + 1, T0), Ok(()));
    // No overflow at the end of time.
    assert_eq!(
        check_times(T0, T0 + 1, u64::MAX),
        Err(ValidationError::Expired(u64::MAX - T0 - 1))
    );
}

#[test]
fn rule_ends_before_it_starts() {
    assert_eq!(
        check_times(T0, T0, T0),
        Err(ValidationError::EndsBeforeItStarts)
    );
    assert_eq!(
        check_times(T0, T0 - 1, T0),
        Err(ValidationError::EndsBeforeItStarts)
    );
    assert_eq!(check_times(T0, T0 + 1, T0), Ok(()));
}

#[test]
fn rule_lives_too_long_per_kind() {
    let cases = [
        (
            Kind::Trust,
            Subject::Node(node_of(9)),
            Claim::Trust { weight: 1 },
            366 * DAY,
        ),
        (
            Kind::Endorse,
            sender(),
            Claim::Endorse {
                category: EndorseCategory::Operator,
            },
            366 * DAY,
        ),
        (Kind::Report, sender(), report(1, 0, 0), 30 * DAY),
        (
            Kind::Remediate,
            sender(),
            remediate(T0 - DAY, "fixed"),
            30 * DAY,
        ),
        (
            Kind::Retract,
            sender(),
            Claim::Retract { kind: Kind::Report },
            366 * DAY,
        ),
    ];
    for (kind, subject, claim, max_secs) in cases {
        assert_eq!(Limits::default().max_ttl(kind), max_secs);
        let at_limit = statement(subject.clone(), claim.clone(), T0, T0 + max_secs);
        assert_eq!(
            validate(&at_limit, T0, &Limits::default()),
            Ok(()),
            "{kind}"
        );
        let over = statement(subject, claim, T0, T0 + max_secs + 1);
        assert_eq!(
            validate(&over, T0, &Limits::default()),
            Err(ValidationError::LivesTooLong {
                kind,
                ttl_secs: max_secs + 1,
                max_secs
            }),
            "{kind}"
        );
    }
    // A retraction of a report may outlive the 30-day report limit.
    let retract = statement(
        sender(),
        Claim::Retract { kind: Kind::Report },
        T0,
        T0 + 31 * DAY,
    );
    assert_eq!(validate(&retract, T0, &Limits::default()), Ok(()));
}

#[test]
fn rule_subject_must_be_canonical() {
    let endorse = Claim::Endorse {
        category: EndorseCategory::LegitimateSender,
    };
    let not_canonical = [
        Subject::Net {
            addr: ip("192.0.2.77"),
            prefix: 24,
        },
        Subject::Net {
            addr: ip("2001:db8::1"),
            prefix: 48,
        },
        Subject::Net {
            addr: ip("192.0.2.1"),
            prefix: 32,
        },
        Subject::Net {
            addr: ip("192.0.2.1"),
            prefix: 33,
        },
        Subject::Net {
            addr: ip("2001:db8::1"),
            prefix: 128,
        },
        Subject::Domain("Example.org".into()),
        Subject::Domain("example.org.".into()),
        Subject::Domain("bücher.example".into()),
    ];
    for subject in not_canonical {
        assert!(
            matches!(
                check(subject.clone(), endorse.clone()),
                Err(ValidationError::Subject(SubjectError::NotCanonical(_)))
            ),
            "{subject:?}"
        );
    }
    assert_eq!(
        check(Subject::Domain(String::new()), endorse.clone()),
        Err(ValidationError::Subject(SubjectError::Empty))
    );
    assert!(matches!(
        check(Subject::Domain("localhost".into()), endorse.clone()),
        Err(ValidationError::Subject(SubjectError::BadDomain(..)))
    ));

    let canonical = [
        Subject::Net {
            addr: ip("192.0.2.0"),
            prefix: 24,
        },
        Subject::Net {
            addr: ip("2001:db8::"),
            prefix: 48,
        },
        Subject::Net {
            addr: ip("192.0.2.0"),
            prefix: 31,
        },
        Subject::Domain("xn--bcher-kva.example".into()),
        Subject::Ip(ip("2001:db8::1")),
    ];
    for subject in canonical {
        assert_eq!(
            check(subject.clone(), endorse.clone()),
            Ok(()),
            "{subject:?}"
        );
    }
}

#[test]
fn rule_wrong_subject() {
    let domain = Subject::Domain("example.org".into());
    let node = Subject::Node(node_of(9));
    let endorse = Claim::Endorse {
        category: EndorseCategory::Forwarder,
    };
    let wrong = [
        (Kind::Trust, domain.clone(), Claim::Trust { weight: 5 }),
        (Kind::Trust, sender(), Claim::Trust { weight: 5 }),
        (Kind::Report, node.clone(), report(1, 0, 0)),
        (Kind::Endorse, node.clone(), endorse.clone()),
        (
            Kind::Retract,
            sender(),
            Claim::Retract { kind: Kind::Trust },
        ),
        (
            Kind::Retract,
            node.clone(),
            Claim::Retract { kind: Kind::Report },
        ),
        (Kind::Remediate, node.clone(), remediate(T0, "fixed")),
        (
            Kind::Retract,
            node.clone(),
            Claim::Retract {
                kind: Kind::Remediate,
            },
        ),
    ];
    for (kind, subject, claim) in wrong {
        assert_eq!(
            check(subject.clone(), claim),
            Err(ValidationError::WrongSubject {
                kind,
                subject: subject.to_string()
            })
        );
    }
    assert_eq!(check(node.clone(), Claim::Trust { weight: 5 }), Ok(()));
    assert_eq!(check(node, Claim::Retract { kind: Kind::Trust }), Ok(()));
    assert_eq!(check(domain.clone(), endorse), Ok(()));
    assert_eq!(
        check(
            domain,
            Claim::Retract {
                kind: Kind::Endorse
            }
        ),
        Ok(())
    );
}

#[test]
fn rule_weight_out_of_range() {
    let node = Subject::Node(node_of(9));
    for weight in [101u8, 255] {
        assert_eq!(
            check(node.clone(), Claim::Trust { weight }),
            Err(ValidationError::WeightOutOfRange(weight))
        );
    }
    for weight in [0u8, 1, 100] {
        assert_eq!(check(node.clone(), Claim::Trust { weight }), Ok(()));
    }
}

#[test]
fn rule_self_trust() {
    assert_eq!(
        check(Subject::Node(author()), Claim::Trust { weight: 50 }),
        Err(ValidationError::SelfTrust)
    );
    assert_eq!(
        check(Subject::Node(node_of(8)), Claim::Trust { weight: 50 }),
        Ok(())
    );
}

#[test]
fn rule_count_out_of_range() {
    for count in [0u32, 1_000_001, u32::MAX] {
        assert_eq!(
            check(sender(), report(count, 0, 0)),
            Err(ValidationError::CountOutOfRange {
                count,
                max: 1_000_000
            })
        );
    }
    for count in [1u32, 1_000_000] {
        assert_eq!(check(sender(), report(count, 0, 0)), Ok(()));
    }
}

#[test]
fn rule_too_many_hashes() {
    assert_eq!(
        check(sender(), report(1, 17, 0)),
        Err(ValidationError::TooManyHashes { count: 17, max: 16 })
    );
    assert_eq!(check(sender(), report(1, 16, 0)), Ok(()));
}

#[test]
fn rule_relay_chain_too_long() {
    assert_eq!(
        check(sender(), report(1, 0, 17)),
        Err(ValidationError::RelayChainTooLong { count: 17, max: 16 })
    );
    assert_eq!(check(sender(), report(1, 16, 16)), Ok(()));
}

#[test]
fn rule_retract_of_retract() {
    assert_eq!(
        check(
            sender(),
            Claim::Retract {
                kind: Kind::Retract
            }
        ),
        Err(ValidationError::RetractOfRetract)
    );
    for kind in [Kind::Endorse, Kind::Report, Kind::Remediate] {
        assert_eq!(check(sender(), Claim::Retract { kind }), Ok(()));
    }
}

#[test]
fn rule_remediated_in_the_future() {
    assert_eq!(
        check(sender(), remediate(T0 + 1, "fixed")),
        Err(ValidationError::RemediatedInTheFuture)
    );
    // Remediated at the moment of the announcement, or any time before, is fine.
    assert_eq!(check(sender(), remediate(T0, "fixed")), Ok(()));
    assert_eq!(check(sender(), remediate(0, "fixed")), Ok(()));
}

#[test]
fn rule_bad_note() {
    let bad = Err(ValidationError::BadNote { max: 280 });
    assert_eq!(check(sender(), remediate(T0, &"x".repeat(281))), bad);
    assert_eq!(check(sender(), remediate(T0, &"ü".repeat(141))), bad);
    for control in [
        "line\nbreak",
        "tab\there",
        "nul\0",
        "esc\u{1b}[31m",
        "del\u{7f}",
    ] {
        assert_eq!(check(sender(), remediate(T0, control)), bad, "{control:?}");
    }
    for fine in [
        String::new(),
        "x".repeat(280),
        "ü".repeat(140),
        "compromised account closed; Bücher GmbH 🚫".to_owned(),
    ] {
        assert_eq!(check(sender(), remediate(T0, &fine)), Ok(()), "{fine:?}");
    }
}

#[test]
fn kind_tags_round_trip() {
    let kinds = [
        Kind::Trust,
        Kind::Endorse,
        Kind::Report,
        Kind::Retract,
        Kind::Remediate,
    ];
    for kind in kinds {
        assert_eq!(Kind::from_tag(kind.tag()), Some(kind));
        assert_eq!(kind.to_string(), kind.as_str());
    }
    let tags: std::collections::BTreeSet<u8> = kinds.iter().map(|k| k.tag()).collect();
    assert_eq!(tags.len(), kinds.len());
    assert_eq!(Kind::from_tag(0), None);
    assert_eq!(Kind::from_tag(6), None);
}

// ---------------------------------------------------------------------------
// 7. Subject parsing
// ---------------------------------------------------------------------------

fn parse(text: &str) -> Result<Subject, SubjectError> {
    text.parse()
}

#[test]
fn subject_parses_addresses_and_netblocks() {
    assert_eq!(parse("192.0.2.1"), Ok(Subject::Ip(ip("192.0.2.1"))));
    assert_eq!(parse(" 2001:db8::1 "), Ok(Subject::Ip(ip("2001:db8::1"))));
    assert_eq!(
        parse("192.0.2.77/24"),
        Ok(Subject::Net {
            addr: ip("192.0.2.0"),
            prefix: 24
        })
    );
    assert_eq!(
        parse("2001:db8::1/48"),
        Ok(Subject::Net {
            addr: ip("2001:db8::"),
            prefix: 48
        })
    );
    assert_eq!(
        parse("10.1.2.3/0"),
        Ok(Subject::Net {
            addr: ip("0.0.0.0"),
            prefix: 0
        })
    );
    assert_eq!(parse("192.0.2.1/32"), Ok(Subject::Ip(ip("192.0.2.1"))));
    assert_eq!(parse("2001:db8::1/128"), Ok(Subject::Ip(ip("2001:db8::1"))));
    for bad in [
        "192.0.2.1/33",
        "2001:db8::/129",
        "192.0.2/24",
        "example.org/24",
    ] {
        assert!(matches!(parse(bad), Err(SubjectError::BadNet(_))), "{bad}");
    }
}

#[test]
fn subject_parses_and_normalises_domains() {
    let domain = |s: &str| Ok(Subject::Domain(s.to_owned()));
    assert_eq!(parse("Bücher.Example"), domain("xn--bcher-kva.example"));
    assert_eq!(parse("MAIL.Example.ORG"), domain("mail.example.org"));
    assert_eq!(parse("example.org."), domain("example.org"));
    assert_eq!(parse("a-b.example"), domain("a-b.example"));
    let label63 = "a".repeat(63);
    assert_eq!(
        parse(&format!("{label63}.example")),
        domain(&format!("{label63}.example"))
    );
    for parsed in [parse("Bücher.Example"), parse("example.org.")] {
        let subject = parsed.expect("parses");
        assert_eq!(subject.check_canonical(), Ok(()));
    }
}

#[test]
fn subject_rejects_bad_domains() {
    assert_eq!(parse(""), Err(SubjectError::Empty));
    assert_eq!(parse("   "), Err(SubjectError::Empty));
    assert_eq!(parse("."), Err(SubjectError::Empty));
    let label64 = format!("{}.example", "a".repeat(64));
    let too_long = vec!["a".repeat(60); 5].join(".") + ".example";
    for bad in [
        "bad..domain",
        "-x.example",
        "x-.example",
        label64.as_str(),
        too_long.as_str(),
        "localhost",
        "1.2.3",
        "example.123",
        "under_score.example",
        "sp ace.example",
    ] {
        assert!(
            matches!(parse(bad), Err(SubjectError::BadDomain(..))),
            "{bad:?} gave {:?}",
            parse(bad)
        );
    }
}

#[test]
fn subject_parses_node_keys() {
    let key = node_of(9);
    let text = key.to_string();
    assert_eq!(text.len(), 64);
    assert_eq!(parse(&text), Ok(Subject::Node(key)));
    assert_eq!(parse(&text.to_uppercase()), Ok(Subject::Node(key)));
    // 63 hex digits are neither a key nor a (multi-label) domain.
    assert!(matches!(
        parse(&text[..63]),
        Err(SubjectError::BadDomain(..))
    ));
}

#[test]
fn covering_netblock() {
    assert_eq!(
        Subject::Ip(ip("192.0.2.77")).covering_netblock(),
        Some(Subject::Net {
            addr: ip("192.0.2.0"),
            prefix: 24
        })
    );
    assert_eq!(
        Subject::Ip(ip("2001:db8:1234:5678::1")).covering_netblock(),
        Some(Subject::Net {
            addr: ip("2001:db8:1234::"),
            prefix: 48
        })
    );
    for other in [
        Subject::Net {
            addr: ip("192.0.2.0"),
            prefix: 24,
        },
        Subject::Domain("example.org".into()),
        Subject::Node(node_of(1)),
    ] {
        assert_eq!(other.covering_netblock(), None);
    }
    assert!(Subject::Ip(ip("192.0.2.1")).is_address());
    assert!(!Subject::Domain("example.org".into()).is_address());
}

// ---------------------------------------------------------------------------
// 8. Batch verification equals single verification
// ---------------------------------------------------------------------------
//
// Adversarial signatures are crafted with curve25519-dalek directly. Where a
// case is meant to exploit a difference between equations, the test first
// shows that plain ed25519 (cofactorless single verification, or the raw
// cofactorless `ed25519_dalek::verify_batch`) *accepts* it, so the case
// really probes the difference, then checks `BatchVerifier` agrees with
// [`verify`] on every item. Signatures whose only error is a small-order
// point are valid under the cofactored rule (as under ZIP-215), whatever
// `verify_strict` says of them; the rule is checked against ed25519-zebra's
// ZIP-215 verification at the end.

/// l, the prime order of the basepoint, little-endian.
const L_BYTES: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// Deterministic pseudo-random scalar.
fn seeded_scalar(label: &str, i: u64) -> Scalar {
    let mut wide = [0u8; 64];
    wide.copy_from_slice(
        &Sha512::new()
            .chain_update(label)
            .chain_update(i.to_le_bytes())
            .finalize(),
    );
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// The Ed25519 challenge `SHA-512(R || A || M) mod l`.
fn challenge(r: &[u8; 32], a: &[u8; 32], message: &[u8]) -> Scalar {
    let mut wide = [0u8; 64];
    wide.copy_from_slice(
        &Sha512::new()
            .chain_update(r)
            .chain_update(a)
            .chain_update(message)
            .finalize(),
    );
    Scalar::from_bytes_mod_order_wide(&wide)
}

fn base(scalar: &Scalar) -> EdwardsPoint {
    EdwardsPoint::mul_base(scalar)
}

fn order_of(torsion: &EdwardsPoint) -> u64 {
    (1..=8)
        .find(|&n| (torsion * Scalar::from(n)).is_identity())
        .expect("an 8-torsion point")
}

/// A valid report; `n` varies the message (for grinding).
fn sender_body(n: u64) -> Statement {
    Statement {
        version: VERSION,
        subject: Subject::Ip(ip("203.0.113.9")),
        created_at: T0 + n,
        expires_at: T0 + n + DAY,
        claim: report(1 + (n % 7) as u32, 0, 0),
    }
}

fn with_signature(body: Statement, author: [u8; 32], r: [u8; 32], s: [u8; 32]) -> SignedStatement {
    let mut signature = [0u8; 64];
    signature[..32].copy_from_slice(&r);
    signature[32..].copy_from_slice(&s);
    SignedStatement {
        body,
        author: NodeKey(author),
        signature,
    }
}

/// Plain cofactorless single verification (`VerifyingKey::verify`), which
/// does not reject small-order keys or `R`.
fn plain_verify_accepts(statement: &SignedStatement) -> bool {
    VerifyingKey::from_bytes(&statement.author.0).is_ok_and(|key| {
        key.verify(
            &signing_message(&statement.body),
            &Signature::from_bytes(&statement.signature),
        )
        .is_ok()
    })
}

/// The raw, unfiltered random-linear-combination batch equation.
fn raw_batch_accepts(statements: &[SignedStatement]) -> bool {
    let keys: Option<Vec<VerifyingKey>> = statements
        .iter()
        .map(|s| VerifyingKey::from_bytes(&s.author.0).ok())
        .collect();
    let Some(keys) = keys else { return false };
    let messages: Vec<Vec<u8>> = statements
        .iter()
        .map(|s| signing_message(&s.body))
        .collect();
    let messages: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let signatures: Vec<Signature> = statements
        .iter()
        .map(|s| Signature::from_bytes(&s.signature))
        .collect();
    ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
}

/// An author whose secret scalar we know: `A = a·B + torsion`.
struct RawSigner {
    a: Scalar,
    torsion: EdwardsPoint,
    public: [u8; 32],
}

impl RawSigner {
    fn new(seed: u64, torsion: EdwardsPoint) -> Self {
        let a = seeded_scalar("author", seed);
        let public = (base(&a) + torsion).compress().to_bytes();
        RawSigner { a, torsion, public }
    }

    fn torsion_free(seed: u64) -> Self {
        Self::new(seed, EdwardsPoint::default())
    }

    /// Signs with explicit `R` bytes and nonce `r`: `s = r + h·a`.
    fn sign_raw(&self, body: Statement, r_bytes: [u8; 32], r: Scalar) -> SignedStatement {
        let h = challenge(&r_bytes, &self.public, &signing_message(&body));
        let s = r + h * self.a;
        with_signature(body, self.public, r_bytes, s.to_bytes())
    }

    /// `R = r·B + r_torsion`, `s = r + h·a`. With a torsion-free key the
    /// verification error `s·B − h·A − R` is exactly `−r_torsion`.
    fn sign_with_nonce(
        &self,
        body: Statement,
        r: Scalar,
        r_torsion: EdwardsPoint,
    ) -> SignedStatement {
        let r_bytes = (base(&r) + r_torsion).compress().to_bytes();
        self.sign_raw(body, r_bytes, r)
    }

    /// A signature that satisfies the cofactorless equation exactly, even for
    /// a mixed-torsion key: `R = r·B − k·T` where `k ≡ h (mod ord T)`, found by
    /// grinding `r` (each try succeeds with probability `1/ord T`).
    fn sign_exact(&self, body: Statement, seed: u64) -> SignedStatement {
        let message = signing_message(&body);
        for attempt in 0..1024 {
            let r = seeded_scalar("exact", seed * 1024 + attempt);
            for k in 0..8u64 {
                let k = Scalar::from(k);
                let r_bytes = (base(&r) - self.torsion * k).compress().to_bytes();
                let h = challenge(&r_bytes, &self.public, &message);
                if self.torsion * h == self.torsion * k {
                    return self.sign_raw(body, r_bytes, r);
                }
            }
        }
        panic!("no exact signature found");
    }
}

/// A signature under a small-order key `key_bytes` that passes the plain
/// cofactorless equation: `R = s·B − k·T` with `k ≡ h (mod ord T)`.
fn weak_key_statement(key_bytes: [u8; 32], seed: u64) -> SignedStatement {
    let torsion = CompressedEdwardsY(key_bytes)
        .decompress()
        .expect("weak key decodes");
    assert!(torsion.is_small_order(), "setup: key is small order");
    for attempt in 0..1024 {
        let body = sender_body(seed * 1024 + attempt);
        let message = signing_message(&body);
        let s = seeded_scalar("weak", seed * 1024 + attempt);
        for k in 0..8u64 {
            let k = Scalar::from(k);
            let r_bytes = (base(&s) - torsion * k).compress().to_bytes();
            if torsion * challenge(&r_bytes, &key_bytes, &message) == torsion * k {
                return with_signature(body, key_bytes, r_bytes, s.to_bytes());
            }
        }
    }
    panic!("no weak-key signature found");
}

/// Grinds message variants until the raw batch equation accepts both
/// statements together (their torsion errors cancel under the batch's `z`s).
fn cancelling_pair(
    first: impl Fn(u64) -> SignedStatement,
    second: impl Fn(u64) -> SignedStatement,
) -> [SignedStatement; 2] {
    for attempt in 0..512 {
        let pair = [first(2 * attempt), second(2 * attempt + 1)];
        if raw_batch_accepts(&pair) {
            return pair;
        }
    }
    panic!("no cancelling pair found");
}

/// Canonical encodings of the eight small-order points.
fn small_order_encodings() -> Vec<[u8; 32]> {
    EIGHT_TORSION
        .iter()
        .map(|t| t.compress().to_bytes())
        .collect()
}

/// Non-canonical encodings of small-order points: `y ≥ p`, or `x = 0` with
/// the sign bit set. All decompress (curve25519-dalek does not reject them).
fn non_canonical_small_order_encodings() -> Vec<[u8; 32]> {
    let with = |first: u8, fill: u8, last: u8| {
        let mut bytes = [fill; 32];
        bytes[0] = first;
        bytes[31] = last;
        bytes
    };
    let encodings = vec![
        with(0x01, 0x00, 0x80), // identity, x = 0 with sign bit
        with(0xee, 0xff, 0x7f), // y = p + 1: identity
        with(0xee, 0xff, 0xff), // y = p + 1 with sign bit
        with(0xed, 0xff, 0x7f), // y = p ≡ 0: order 4
        with(0xed, 0xff, 0xff), // y = p ≡ 0, other sign: order 4
        with(0xec, 0xff, 0xff), // y = p − 1 (order 2, x = 0) with sign bit
    ];
    for bytes in &encodings {
        let point = CompressedEdwardsY(*bytes)
            .decompress()
            .expect("setup: non-canonical encoding decodes");
        assert!(point.is_small_order(), "setup: small order");
        assert_ne!(point.compress().to_bytes(), *bytes, "setup: non-canonical");
    }
    encodings
}

/// Non-canonical encodings (`y = p + k`, k in 2..=18) of large-order points.
fn non_canonical_large_order_encodings() -> Vec<[u8; 32]> {
    let mut out = Vec::new();
    for k in 2u8..=18 {
        for sign in [0x7f, 0xff] {
            let mut bytes = [0xff; 32];
            bytes[0] = 0xed + k;
            bytes[31] = sign;
            if let Some(point) = CompressedEdwardsY(bytes).decompress()
                && !point.is_small_order()
            {
                out.push(bytes);
            }
        }
    }
    assert!(!out.is_empty(), "setup: some y ≥ p encodes a point");
    out
}

fn add_le(a: [u8; 32], b: [u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for ((out, a), b) in out.iter_mut().zip(a).zip(b) {
        let sum = u16::from(a) + u16::from(b) + carry;
        *out = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "setup: no overflow");
    out
}

/// Checks `verify_many` and `verify_one` against [`verify`], item by item.
/// Returns the `verify_many` results.
fn check_agreement(
    verifier: &mut BatchVerifier,
    items: &[SignedStatement],
) -> Result<Vec<Result<(), SignatureError>>, String> {
    let many = verifier.verify_many(items);
    if many.len() != items.len() {
        return Err(format!("{} results for {} items", many.len(), items.len()));
    }
    for (i, (item, got)) in items.iter().zip(&many).enumerate() {
        let single = verify(item);
        if *got != single {
            return Err(format!(
                "item {i} of {}: verify_many {got:?}, verify {single:?}: {item:?}",
                items.len()
            ));
        }
        let one = verifier.verify_one(item);
        if one != single {
            return Err(format!("item {i}: verify_one {one:?}, verify {single:?}"));
        }
    }
    Ok(many)
}

fn assert_agreement(items: &[SignedStatement]) {
    if let Err(why) = check_agreement(&mut BatchVerifier::default(), items) {
        panic!("{why}");
    }
}

/// Statements that are honestly signed (ordinary keys and raw torsion-free signers).
fn honest(count: u64) -> Vec<SignedStatement> {
    (0..count)
        .map(|i| {
            if i % 2 == 0 {
                Keypair::from_secret_bytes([(i as u8).wrapping_add(100); 32]).sign(sender_body(i))
            } else {
                RawSigner::torsion_free(i).sign_exact(sender_body(i), i)
            }
        })
        .collect()
}

/// Checks `adversarial` alone, next to each honest statement and in one big
/// batch with all of them (both orders), and that [`verify`] rejects it.
fn assert_rejected_everywhere(name: &str, adversarial: &[SignedStatement]) {
    for (i, item) in adversarial.iter().enumerate() {
        assert!(verify(item).is_err(), "{name} {i}: verify accepts");
    }
    let honest = honest(6);
    assert_agreement(adversarial);
    for item in adversarial {
        assert_agreement(std::slice::from_ref(item));
    }
    let mut mixed: Vec<SignedStatement> = honest.iter().chain(adversarial).cloned().collect();
    assert_agreement(&mixed);
    mixed.reverse();
    assert_agreement(&mixed);
    let results = BatchVerifier::default().verify_many(&mixed);
    let honest_ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(
        honest_ok,
        honest.len(),
        "{name}: exactly the honest ones pass"
    );
}

#[test]
fn setup_raw_signer_produces_valid_signatures() {
    // Guards the crafting helpers: honest raw signatures verify everywhere.
    let items = honest(8);
    for item in &items {
        assert_eq!(verify(item), Ok(()));
    }
    assert!(raw_batch_accepts(&items));
    assert_eq!(
        BatchVerifier::default().verify_many(&items),
        vec![Ok(()); 8]
    );
}

#[test]
fn honest_batches_of_every_size_verify() {
    let items = honest(40);
    let mut verifier = BatchVerifier::default();
    for size in [0usize, 1, 2, 3, 7, 16, 40] {
        assert_eq!(verifier.verify_many(&items[..size]), vec![Ok(()); size]);
    }
}

#[test]
fn one_bad_signature_in_a_batch_is_pinpointed() {
    let mut items = honest(10);
    items[4].signature[10] ^= 1;
    items[7].body.created_at += 1;
    let results = BatchVerifier::default().verify_many(&items);
    for (i, result) in results.iter().enumerate() {
        assert_eq!(result.is_ok(), i != 4 && i != 7, "item {i}");
    }
    assert_agreement(&items);
}

/// (a) small-order author keys, canonical and not, with signatures that
/// pass the plain cofactorless equation for any message.
#[test]
fn weak_author_keys_are_rejected() {
    let mut statements = Vec::new();
    for (seed, key) in small_order_encodings()
        .into_iter()
        .chain(non_canonical_small_order_encodings())
        .enumerate()
    {
        let statement = weak_key_statement(key, seed as u64);
        assert!(
            plain_verify_accepts(&statement),
            "setup: the weak-key signature passes plain verification"
        );
        assert!(verify(&statement).is_err());
        statements.push(statement);
    }
    // The identity key: R = s·B verifies for any message under plain rules.
    let identity = with_signature(
        sender_body(1),
        small_order_encodings()[0],
        base(&Scalar::from(12345u64)).compress().to_bytes(),
        Scalar::from(12345u64).to_bytes(),
    );
    assert!(plain_verify_accepts(&identity));
    statements.push(identity);
    assert_rejected_everywhere("weak key", &statements);
}

/// (b) small-order `R` under an honest key, including `R` = identity, which
/// the plain equations accept when `s = h·a`.
#[test]
fn small_order_r_is_rejected() {
    let signer = RawSigner::torsion_free(1);
    let mut statements = Vec::new();
    for (i, torsion) in EIGHT_TORSION.iter().enumerate() {
        statements.push(signer.sign_with_nonce(sender_body(i as u64), Scalar::ZERO, *torsion));
    }
    // R = identity: the cofactorless equation holds exactly, so the plain
    // single verifier and the raw batch both accept it.
    let identity_r = &statements[0];
    assert_eq!(&identity_r.signature[..32], &small_order_encodings()[0]);
    assert!(plain_verify_accepts(identity_r));
    assert!(raw_batch_accepts(std::slice::from_ref(identity_r)));
    assert_eq!(
        BatchVerifier::default().verify_many(std::slice::from_ref(identity_r)),
        vec![verify(identity_r)]
    );

    // Pure-torsion R pairs whose errors cancel in the raw batch.
    let order2 = EIGHT_TORSION[4];
    statements.extend(cancelling_pair(
        |n| signer.sign_with_nonce(sender_body(100 + n), Scalar::ZERO, order2),
        |n| signer.sign_with_nonce(sender_body(100 + n), Scalar::ZERO, order2),
    ));
    statements.extend(cancelling_pair(
        |n| signer.sign_with_nonce(sender_body(2000 + n), Scalar::ZERO, EIGHT_TORSION[2]),
        |n| signer.sign_with_nonce(sender_body(2000 + n), Scalar::ZERO, EIGHT_TORSION[6]),
    ));
    assert_rejected_everywhere("small-order R", &statements);
}

/// (c) non-canonical `R` encodings.
#[test]
fn non_canonical_r_is_rejected() {
    let signer = RawSigner::torsion_free(2);
    let mut statements = Vec::new();
    for (i, r_bytes) in non_canonical_small_order_encodings()
        .into_iter()
        .enumerate()
    {
        // s = h·a: the error is exactly −R, zero for the identity encodings.
        let statement = signer.sign_raw(sender_body(i as u64), r_bytes, Scalar::ZERO);
        let point = CompressedEdwardsY(r_bytes).decompress().expect("decodes");
        if point.is_identity() {
            assert!(
                raw_batch_accepts(std::slice::from_ref(&statement)),
                "setup: raw batch accepts a non-canonical identity R"
            );
        }
        statements.push(statement);
    }
    // y = p (order 4) twice with opposite signs cancel like T and −T.
    let [plus, minus] = [
        non_canonical_small_order_encodings()[3],
        non_canonical_small_order_encodings()[4],
    ];
    statements.extend(cancelling_pair(
        |n| signer.sign_raw(sender_body(300 + n), plus, Scalar::ZERO),
        |n| signer.sign_raw(sender_body(300 + n), minus, Scalar::ZERO),
    ));
    // Non-canonical encodings of large-order points with arbitrary s.
    for (i, r_bytes) in non_canonical_large_order_encodings()
        .into_iter()
        .enumerate()
    {
        statements.push(signer.sign_raw(
            sender_body(500 + i as u64),
            r_bytes,
            seeded_scalar("nc", i as u64),
        ));
    }
    // The x = 0 sign-bit trick on an honest R is impossible (x ≠ 0), but a
    // flipped sign bit on a real signature's R must fail too.
    let mut flipped = signer.sign_exact(sender_body(900), 900);
    flipped.signature[31] ^= 0x80;
    statements.push(flipped);
    assert_rejected_everywhere("non-canonical R", &statements);
}

/// (d) non-canonical `s`: `s + l`, `s + 2l`, and the high bits set.
#[test]
fn non_canonical_s_is_rejected() {
    let mut statements = Vec::new();
    for (i, original) in honest(4).into_iter().enumerate() {
        let mut s = [0u8; 32];
        s.copy_from_slice(&original.signature[32..]);
        let plus_l = add_le(s, L_BYTES);
        let plus_2l = add_le(plus_l, L_BYTES);
        assert_eq!(
            Scalar::from_bytes_mod_order(plus_l),
            Scalar::from_bytes_mod_order(s),
            "setup: s + l ≡ s"
        );
        for variant in [plus_l, plus_2l] {
            let mut statement = original.clone();
            statement.signature[32..].copy_from_slice(&variant);
            statements.push(statement);
        }
        let mut high = original.clone();
        high.signature[63] |= 0x80 >> (i % 3);
        statements.push(high);
    }
    assert_rejected_everywhere("non-canonical s", &statements);
}

/// `ed25519_dalek`'s `verify_strict` (RFC 8032's cofactorless equation,
/// small-order keys and `R` rejected): what this crate's rule differs from
/// only on signatures whose error is a small-order point.
fn dalek_strict_accepts(statement: &SignedStatement) -> bool {
    VerifyingKey::from_bytes(&statement.author.0).is_ok_and(|key| {
        key.verify_strict(
            &signing_message(&statement.body),
            &Signature::from_bytes(&statement.signature),
        )
        .is_ok()
    })
}

/// Checks every path accepts each of `valid`: alone, together, and mixed
/// with honest statements in both orders.
fn assert_accepted_everywhere(name: &str, valid: &[SignedStatement]) {
    for (i, item) in valid.iter().enumerate() {
        assert_eq!(verify(item), Ok(()), "{name} {i}: verify rejects");
    }
    assert_agreement(valid);
    let mut mixed: Vec<SignedStatement> = honest(6).into_iter().chain(valid.to_vec()).collect();
    assert_agreement(&mixed);
    mixed.reverse();
    assert_agreement(&mixed);
    let results = BatchVerifier::default().verify_many(&mixed);
    assert_eq!(results, vec![Ok(()); mixed.len()], "{name}: all pass");
}

/// (e) mixed-torsion `R = r·B + T` under an honest key: the error is the
/// small-order `−T`, which the cofactor clears, so every path accepts
/// them (the cofactorless `verify_strict` rejects them), including pairs
/// that cancel in the raw cofactorless batch.
#[test]
fn mixed_torsion_r_is_accepted_by_every_path() {
    let signer = RawSigner::torsion_free(3);
    let mut statements = Vec::new();
    for (i, torsion) in EIGHT_TORSION.iter().enumerate().skip(1) {
        let statement = signer.sign_with_nonce(
            sender_body(i as u64),
            seeded_scalar("r", i as u64),
            *torsion,
        );
        assert!(!plain_verify_accepts(&statement));
        assert!(!dalek_strict_accepts(&statement));
        statements.push(statement);
    }
    for (t1, t2) in [(4usize, 4usize), (2, 6), (1, 7), (3, 5)] {
        let base_n = 1000 * t1 as u64 + t2 as u64 * 10_000;
        let pair = cancelling_pair(
            |n| {
                signer.sign_with_nonce(
                    sender_body(base_n + n),
                    seeded_scalar("r1", base_n + n),
                    EIGHT_TORSION[t1],
                )
            },
            |n| {
                signer.sign_with_nonce(
                    sender_body(base_n + n),
                    seeded_scalar("r2", base_n + n),
                    EIGHT_TORSION[t2],
                )
            },
        );
        statements.extend(pair);
    }
    assert_accepted_everywhere("mixed-torsion R", &statements);
    // A real error beside the torsion is still caught, alone and batched.
    let mut wrong =
        signer.sign_with_nonce(sender_body(77), seeded_scalar("r", 77), EIGHT_TORSION[2]);
    wrong.body.created_at += 1;
    assert_rejected_everywhere("mixed-torsion R, tampered", &[wrong]);
}

/// (f) mixed-torsion author keys `A = a·B + T` are valid keys: signatures
/// satisfying the cofactorless equation exactly pass, and so do those whose
/// error is `−h·T` (small order), which `verify_strict` rejects.
#[test]
fn mixed_torsion_keys_are_judged_by_the_cofactored_equation() {
    let mut valid = Vec::new();
    let mut torsion_error = Vec::new();
    let mut tampered = Vec::new();
    for (seed, t) in [(10u64, 4usize), (11, 2), (12, 1), (13, 7)] {
        let signer = RawSigner::new(seed, EIGHT_TORSION[t]);
        assert_eq!(order_of(&signer.torsion), [1, 8, 4, 8, 2, 8, 4, 8][t]);
        let key = CompressedEdwardsY(signer.public)
            .decompress()
            .expect("decodes");
        assert!(
            !key.is_small_order() && !key.is_torsion_free(),
            "setup: mixed key"
        );

        let exact = signer.sign_exact(sender_body(seed), seed);
        assert!(dalek_strict_accepts(&exact), "setup: exact signature");
        valid.push(exact);

        // Torsion-free R, s = r + h·a: the error is −h·T, nonzero unless
        // ord T divides h; two that cancel in the raw batch.
        let erroneous = |n: u64| {
            (0..)
                .map(|j| {
                    let m = n * 64 + j;
                    signer.sign_with_nonce(
                        sender_body(seed * 100_000 + m),
                        seeded_scalar("mk", m),
                        EdwardsPoint::default(),
                    )
                })
                .find(|s| !dalek_strict_accepts(s))
                .expect("some signature has a torsion error")
        };
        torsion_error.extend(cancelling_pair(erroneous, erroneous));
        let mut wrong = signer.sign_exact(sender_body(seed + 50), seed + 50);
        wrong.signature[40] ^= 1;
        tampered.push(wrong);
    }
    assert_accepted_everywhere("mixed key, exact", &valid);
    assert_accepted_everywhere("mixed key, torsion error", &torsion_error);
    assert_rejected_everywhere("mixed key, tampered", &tampered);
}

/// Every adversarial statement above, plus honest ones, for random mixing.
struct Pool {
    honest: Vec<SignedStatement>,
    adversarial: Vec<SignedStatement>,
}

static POOL: LazyLock<Pool> = LazyLock::new(|| {
    let mut adversarial = Vec::new();
    for (seed, key) in small_order_encodings()
        .into_iter()
        .chain(non_canonical_small_order_encodings())
        .enumerate()
    {
        adversarial.push(weak_key_statement(key, 50 + seed as u64));
    }
    let signer = RawSigner::torsion_free(20);
    for (i, torsion) in EIGHT_TORSION.iter().enumerate() {
        let n = 7000 + i as u64;
        adversarial.push(signer.sign_with_nonce(sender_body(n), Scalar::ZERO, *torsion));
        adversarial.push(signer.sign_with_nonce(
            sender_body(n),
            seeded_scalar("pool", n),
            *torsion,
        ));
    }
    for (i, r_bytes) in non_canonical_small_order_encodings()
        .into_iter()
        .chain(non_canonical_large_order_encodings())
        .enumerate()
    {
        adversarial.push(signer.sign_raw(sender_body(8000 + i as u64), r_bytes, Scalar::ZERO));
    }
    let mut plus_l = signer.sign_exact(sender_body(8500), 8500);
    let mut s = [0u8; 32];
    s.copy_from_slice(&plus_l.signature[32..]);
    plus_l.signature[32..].copy_from_slice(&add_le(s, L_BYTES));
    adversarial.push(plus_l);
    for (i, t) in [4usize, 2, 1].into_iter().enumerate() {
        let mixed = RawSigner::new(30 + i as u64, EIGHT_TORSION[t]);
        for j in 0..3u64 {
            let n = 9000 + 10 * i as u64 + j;
            adversarial.push(mixed.sign_exact(sender_body(n), n));
            adversarial.push(mixed.sign_with_nonce(
                sender_body(n),
                seeded_scalar("pool-mixed", n),
                EdwardsPoint::default(),
            ));
        }
    }
    let mut tampered = honest(2);
    tampered[0].body.expires_at += 1;
    tampered[1].signature[0] ^= 4;
    adversarial.extend(tampered);
    Pool {
        honest: honest(12),
        adversarial,
    }
});

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any mix, any order, any batch size: each result equals `verify`,
    /// and every honest statement is accepted.
    #[test]
    fn verify_many_equals_verify_for_any_mix(
        picks in vec((any::<bool>(), any::<Index>()), 1..20),
        cache_size in prop_oneof![Just(1usize), Just(3), Just(100_000)],
        rounds in 1usize..=2,
    ) {
        let pool = &*POOL;
        let items: Vec<SignedStatement> = picks
            .iter()
            .map(|(is_honest, index)| {
                let from = if *is_honest { &pool.honest } else { &pool.adversarial };
                from[index.index(from.len())].clone()
            })
            .collect();
        // The same verifier across rounds exercises the key cache (and its
        // clearing when `cache_size` is small).
        let mut verifier = BatchVerifier::new(cache_size);
        for _ in 0..rounds {
            let results = check_agreement(&mut verifier, &items).map_err(fail)?;
            for ((is_honest, _), result) in picks.iter().zip(&results) {
                if *is_honest {
                    prop_assert_eq!(*result, Ok(()));
                }
            }
        }
    }
}

/// Whether `bytes` is a canonical encoding of a point not of small order,
/// judged independently of the crate (by re-encoding the point).
fn canonical_and_not_small(bytes: &[u8; 32]) -> bool {
    CompressedEdwardsY(*bytes)
        .decompress()
        .is_some_and(|p| p.compress().to_bytes() == *bytes && !p.is_small_order())
}

/// ed25519-zebra's ZIP-215 verification of a statement.
fn zip215_accepts(statement: &SignedStatement) -> bool {
    ed25519_zebra::VerificationKey::try_from(statement.author.0).is_ok_and(|key| {
        key.verify(
            &ed25519_zebra::Signature::from_bytes(&statement.signature),
            &signing_message(&statement.body),
        )
        .is_ok()
    })
}

/// The rule is ZIP-215's (ed25519-zebra's implementation) restricted to
/// canonical, not small-order `A` and `R`: on every crafted statement,
/// honest and adversarial, and on non-canonical keys.
#[test]
fn verify_is_zip215_with_canonical_large_order_points() {
    let pool = &*POOL;
    let signer = RawSigner::torsion_free(40);
    let non_canonical_keys: Vec<SignedStatement> = non_canonical_large_order_encodings()
        .into_iter()
        .chain(non_canonical_small_order_encodings())
        .enumerate()
        .map(|(i, key)| {
            let mut statement = signer.sign_exact(sender_body(9500 + i as u64), 9500 + i as u64);
            statement.author = NodeKey(key);
            statement
        })
        .collect();
    let mut checked = 0;
    let mut accepted = 0;
    for statement in pool
        .honest
        .iter()
        .chain(&pool.adversarial)
        .chain(&non_canonical_keys)
    {
        let r_bytes: [u8; 32] = statement.signature[..32].try_into().expect("32 bytes");
        let expected = zip215_accepts(statement)
            && canonical_and_not_small(&statement.author.0)
            && canonical_and_not_small(&r_bytes);
        assert_eq!(verify(statement).is_ok(), expected, "{statement:?}");
        checked += 1;
        accepted += usize::from(expected);
    }
    assert!(
        accepted >= pool.honest.len() && accepted < checked,
        "{accepted} of {checked}"
    );
}
