//! Key layout of the column families. Subjects are encoded so that one
//! subject's keys never prefix another's (domains carry their length), and
//! numbers big-endian so keys sort by value.

use std::net::IpAddr;

use vouch_protocol::{Kind, NodeKey, StatementId, Subject};

/// statements: id → encoded signed statement.
pub const STATEMENTS: &str = "statements";
/// slots: author | slot kind | subject → [`SlotValue`] (latest wins).
pub const SLOTS: &str = "slots";
/// subjects: subject | author | kind → id, for live endorsements, reports and trust edges.
pub const SUBJECTS: &str = "subjects";
/// sequence: local ingest sequence number → id.
pub const SEQUENCE: &str = "sequence";
/// expiry: expires_at | id → empty.
pub const EXPIRY: &str = "expiry";
/// meta: counters kept in step with the data, and the network's bookkeeping.
pub const META: &str = "meta";
/// strangers: author | id → stored_at, for statements kept under the
/// stranger quota (authors outside this node's web of trust).
pub const STRANGERS: &str = "strangers";
/// sources: id → one-byte tag saying where one of this node's own
/// statements came from (typed, a raw message, the Junk folder, a filter).
pub const SOURCES: &str = "sources";
/// Every column family.
pub const ALL: [&str; 8] = [
    STATEMENTS, SLOTS, SUBJECTS, SEQUENCE, EXPIRY, META, STRANGERS, SOURCES,
];

/// Column families earlier versions kept, dropped when a store is opened:
/// indexes by netblock and by relay origin, which lookups read from the
/// in-memory mirror instead.
pub const DROPPED: [&str; 2] = ["netblocks", "relayed"];

/// meta key: next ingest sequence number.
pub const META_NEXT_SEQ: &[u8] = b"next_seq";
/// meta key: number of stored statements.
pub const META_COUNT: &[u8] = b"count";

/// meta key prefix: a peer's ingest sequence number this node has back-filled up to.
pub const META_WATERMARK: &[u8] = b"watermark/";
/// meta key: the domains this node vouched for by name, pinned to their keys.
pub const META_NAME_PINS: &[u8] = b"name_pins";
/// meta key: the peers and addresses known to the network layer.
pub const META_PEER_BOOK: &[u8] = b"peer_book";
/// meta key, present while strangers' statements turned away since the
/// web of trust last grew may be the next new authors'.
pub const META_TURNED_AWAY: &[u8] = b"turned_away";

/// Prefix byte of node subjects (trust edges) in the subjects family.
pub const NODE_TAG: u8 = 6;

/// Encodes a subject as a self-delimiting key.
pub fn subject(subject: &Subject) -> Vec<u8> {
    let mut key = Vec::with_capacity(40);
    match subject {
        Subject::Ip(IpAddr::V4(ip)) => {
            key.push(1);
            key.extend_from_slice(&ip.octets());
        }
        Subject::Ip(IpAddr::V6(ip)) => {
            key.push(2);
            key.extend_from_slice(&ip.octets());
        }
        Subject::Net {
            addr: IpAddr::V4(ip),
            prefix,
        } => {
            key.extend_from_slice(&[3, *prefix]);
            key.extend_from_slice(&ip.octets());
        }
        Subject::Net {
            addr: IpAddr::V6(ip),
            prefix,
        } => {
            key.extend_from_slice(&[4, *prefix]);
            key.extend_from_slice(&ip.octets());
        }
        Subject::Domain(name) => {
            // Validated names are at most 253 bytes.
            key.extend_from_slice(&[5, name.len().min(255) as u8]);
            key.extend_from_slice(name.as_bytes());
        }
        Subject::Node(node) => {
            key.push(NODE_TAG);
            key.extend_from_slice(&node.0);
        }
    }
    key
}

/// A netblock key: a tag and the /24's three or the /48's six bytes, kept
/// on the stack (every lookup of an address builds one).
pub type NetblockKey = smallvec::SmallVec<[u8; 7]>;

/// The netblock key the mirror files a subject under: the /24 or /48
/// covering an address, or a netblock at least that long. `None` for other
/// subjects.
pub fn netblock(subject: &Subject) -> Option<NetblockKey> {
    match subject {
        Subject::Ip(IpAddr::V4(ip)) => Some(v4_block(ip.octets())),
        Subject::Ip(IpAddr::V6(ip)) => Some(v6_block(ip.octets())),
        Subject::Net {
            addr: IpAddr::V4(ip),
            prefix,
        } if *prefix >= 24 => Some(v4_block(ip.octets())),
        Subject::Net {
            addr: IpAddr::V6(ip),
            prefix,
        } if *prefix >= 48 => Some(v6_block(ip.octets())),
        _ => None,
    }
}

fn v4_block(o: [u8; 4]) -> NetblockKey {
    smallvec::smallvec![1, o[0], o[1], o[2]]
}

fn v6_block(o: [u8; 16]) -> NetblockKey {
    let mut key = smallvec::smallvec![2];
    key.extend_from_slice(&o[..6]);
    key
}

/// slots key.
pub fn slot(author: &NodeKey, kind: Kind, subject_key: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(33 + subject_key.len());
    key.extend_from_slice(&author.0);
    key.push(kind.tag());
    key.extend_from_slice(subject_key);
    key
}

/// subjects key.
pub fn indexed(subject_key: &[u8], author: &NodeKey, kind: Kind) -> Vec<u8> {
    let mut key = Vec::with_capacity(subject_key.len() + 33);
    key.extend_from_slice(subject_key);
    key.extend_from_slice(&author.0);
    key.push(kind.tag());
    key
}

/// expiry key.
pub fn expiry(expires_at: u64, id: &StatementId) -> Vec<u8> {
    let mut key = Vec::with_capacity(40);
    key.extend_from_slice(&expires_at.to_be_bytes());
    key.extend_from_slice(&id.0);
    key
}

/// strangers key.
pub fn stranger(author: &NodeKey, id: &StatementId) -> Vec<u8> {
    let mut key = Vec::with_capacity(64);
    key.extend_from_slice(&author.0);
    key.extend_from_slice(&id.0);
    key
}

/// What a slot points at: the winning statement and what is needed to
/// remove it when it is superseded or expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotValue {
    /// The winning statement.
    pub id: StatementId,
    /// Its creation time (latest wins).
    pub created_at: u64,
    /// Its local ingest sequence number.
    pub seq: u64,
    /// Its expiry.
    pub expires_at: u64,
    /// For a report that renewed an earlier report (or retraction) in the
    /// same slot: when the first of them was made. A renewal is not fresh
    /// evidence; only the author's first report on a subject is.
    pub first_reported: Option<u64>,
}

/// Marks the first-reported time in an encoded [`SlotValue`]; subject keys
/// (the relay origin earlier versions wrote after it) never start with it.
const FIRST_REPORTED_TAG: u8 = 0xff;

/// The value of a subjects index entry: the statement id, then (for
/// renewed reports) when the author first reported the subject.
pub fn index_value(id: &StatementId, first_reported: Option<u64>) -> Vec<u8> {
    let mut v = Vec::with_capacity(40);
    v.extend_from_slice(&id.0);
    if let Some(first) = first_reported {
        v.extend_from_slice(&first.to_be_bytes());
    }
    v
}

/// Decodes an index value; `None` when malformed (values written before
/// first-reported times existed are bare ids, and decode).
pub fn index_entry(bytes: &[u8]) -> Option<(StatementId, Option<u64>)> {
    let (id, rest) = bytes.split_first_chunk::<32>()?;
    let first = match rest.len() {
        0 => None,
        _ => Some(read_u64(rest)?),
    };
    Some((StatementId(*id), first))
}

impl SlotValue {
    /// Encodes as 56 bytes, then the tagged first-reported time if any.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(65);
        v.extend_from_slice(&self.id.0);
        v.extend_from_slice(&self.created_at.to_be_bytes());
        v.extend_from_slice(&self.seq.to_be_bytes());
        v.extend_from_slice(&self.expires_at.to_be_bytes());
        if let Some(first) = self.first_reported {
            v.push(FIRST_REPORTED_TAG);
            v.extend_from_slice(&first.to_be_bytes());
        }
        v
    }

    /// Decodes; `None` for anything shorter than 56 bytes. What follows
    /// the first-reported time (earlier versions wrote a relay origin
    /// there) is ignored.
    pub fn decode(bytes: &[u8]) -> Option<SlotValue> {
        let (id, rest) = bytes.split_first_chunk::<32>()?;
        let (created_at, rest) = rest.split_first_chunk::<8>()?;
        let (seq, rest) = rest.split_first_chunk::<8>()?;
        let (expires_at, rest) = rest.split_first_chunk::<8>()?;
        let first_reported = match rest.split_first() {
            Some((&FIRST_REPORTED_TAG, tail)) => {
                let (first, _) = tail.split_first_chunk::<8>()?;
                Some(u64::from_be_bytes(*first))
            }
            _ => None,
        };
        Some(SlotValue {
            id: StatementId(*id),
            created_at: u64::from_be_bytes(*created_at),
            seq: u64::from_be_bytes(*seq),
            expires_at: u64::from_be_bytes(*expires_at),
            first_reported,
        })
    }

    /// Whether a statement `(created_at, id)` beats this one: newer wins, and
    /// the larger id breaks ties, so every node picks the same winner.
    pub fn loses_to(&self, created_at: u64, id: &StatementId) -> bool {
        (created_at, id) > (self.created_at, &self.id)
    }
}

/// Reads a big-endian u64 value; `None` when malformed.
pub fn read_u64(bytes: &[u8]) -> Option<u64> {
    bytes.try_into().ok().map(u64::from_be_bytes)
}
