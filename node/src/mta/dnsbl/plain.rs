//! The plain DNS list query, read and answered on the wire. Nearly every
//! query a list gets is one question (A or TXT, class IN) about one name,
//! with at most a bare EDNS record, and decoding it into hickory's message
//! types and encoding hickory's answer cost more than the lookup itself.
//! Such a query is read in place here and its answer written directly: the
//! header flags hickory would set, the question as it was sent, the answer
//! named by a pointer to the question's name, the zone's SOA encoded once,
//! and EDNS as the zones answer it.
//!
//! [`PlainQuery::read`] takes exactly that shape and nothing else: a
//! compressed or long name, another type or class, another opcode, EDNS
//! other than version 0, an EDNS option hickory decodes (and may refuse),
//! more records or trailing bytes all give `None`, and such a query goes
//! to hickory, which decides FORMERR and the rest as before.

use hickory_server::proto::op::ResponseCode;

const HEADER: usize = 12;
/// Longest name read here; a longer one (up to RFC 1035's 255) is left to
/// hickory.
const MAX_NAME: usize = 250;
const TYPE_A: u16 = 1;
const TYPE_TXT: u16 = 16;
const TYPE_OPT: u16 = 41;
const CLASS_IN: u16 = 1;
/// EDNS options hickory decodes and may refuse: NSID, DAU, client subnet.
const DECODED_OPTIONS: [u16; 3] = [3, 5, 8];
/// The EDNS record of an answer: root name, OPT, payload size, extended
/// code, version and flags 0, no options.
const OPT_RECORD: usize = 11;
/// Most bytes an answer record written here takes: a name pointer, type,
/// class, TTL, length, and a TXT string of at most 255 bytes.
pub const MAX_ANSWER_RECORD: usize = 2 + 10 + 1 + 255;
/// Largest UDP payload without EDNS (RFC 1035 §4.2.1).
const PLAIN_UDP_PAYLOAD: u16 = 512;

/// One plain DNS list query, read in place from its datagram.
pub struct PlainQuery<'a> {
    /// The query's ID and flags, as sent.
    header: [u8; 4],
    /// The question section as sent: name, type and class.
    question: &'a [u8],
    /// The name in wire format, lowercase.
    name: [u8; MAX_NAME],
    name_len: usize,
    qtype: u16,
    /// The payload size the client offered in EDNS, if it sent EDNS.
    edns_payload: Option<u16>,
}

impl<'a> PlainQuery<'a> {
    /// Reads `datagram` if it is a plain DNS list query, `None` otherwise.
    pub fn read(datagram: &'a [u8]) -> Option<PlainQuery<'a>> {
        let mut reader = Reader {
            bytes: datagram,
            at: 0,
        };
        let id = reader.u16()?;
        let flags = reader.u16()?;
        // A query (QR clear) with opcode QUERY.
        if flags & 0xF800 != 0 {
            return None;
        }
        let counts = [reader.u16()?, reader.u16()?, reader.u16()?, reader.u16()?];
        let [1, 0, 0, additional @ (0 | 1)] = counts else {
            return None;
        };
        let mut name = [0u8; MAX_NAME];
        let mut name_len = 0;
        loop {
            let length = usize::from(*reader.bytes.get(reader.at)?);
            // 0xC0 and above are pointers, 0x40 to 0xBF extended label types.
            if length > 63 {
                return None;
            }
            let label = reader.take(1 + length)?;
            name.get_mut(name_len..name_len + label.len())?
                .copy_from_slice(label);
            name_len += label.len();
            if length == 0 {
                break;
            }
        }
        let qtype = reader.u16()?;
        if !matches!(qtype, TYPE_A | TYPE_TXT) || reader.u16()? != CLASS_IN {
            return None;
        }
        let question = datagram.get(HEADER..reader.at)?;
        let edns_payload = if additional == 1 {
            Some(reader.opt()?)
        } else {
            None
        };
        if reader.at != datagram.len() {
            return None;
        }
        // Length octets are at most 63, below 'A', so they are kept.
        name.make_ascii_lowercase();
        let [id_high, id_low] = id.to_be_bytes();
        let [flags_high, flags_low] = flags.to_be_bytes();
        Some(PlainQuery {
            header: [id_high, id_low, flags_high, flags_low],
            question,
            name,
            name_len,
            qtype,
            edns_payload,
        })
    }

    /// The name's labels, lowercase, leftmost first, without the root's.
    pub fn labels(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = self.name.get(..self.name_len).unwrap_or_default();
        std::iter::from_fn(move || {
            let (&length, after) = rest.split_first()?;
            let (label, after) = after.split_at_checked(usize::from(length))?;
            rest = after;
            (length > 0).then_some(label)
        })
    }

    /// Whether the query asks for TXT (else A).
    pub fn asks_text(&self) -> bool {
        self.qtype == TYPE_TXT
    }

    /// Whether any answer with records of at most `most_records` bytes
    /// fits the client's payload size (the client's EDNS size clamped to
    /// `max_payload`, or 512 bytes without EDNS).
    pub fn fits(&self, most_records: usize, max_payload: u16) -> bool {
        let size = self.edns_payload.map_or(PLAIN_UDP_PAYLOAD, |asked| {
            asked.clamp(PLAIN_UDP_PAYLOAD, max_payload)
        });
        let opt = if self.edns_payload.is_some() {
            OPT_RECORD
        } else {
            0
        };
        HEADER + self.question.len() + most_records + opt <= usize::from(size)
    }

    /// The encoded answer: `code`, authoritative or not, with `record` as
    /// its answer, `soa` (an encoded SOA record) as its authority, and an
    /// EDNS record offering `max_payload` when the query had EDNS.
    pub fn answer(
        &self,
        code: ResponseCode,
        authoritative: bool,
        record: Option<Record<'_>>,
        soa: Option<&[u8]>,
        max_payload: u16,
    ) -> Vec<u8> {
        let [id_high, id_low, flags_high, flags_low] = self.header;
        // QR, the query's RD; hickory's response_from_request keeps RD and
        // CD and clears the rest.
        let mut flags = [0x80 | (flags_high & 0x01), (flags_low & 0x10) | code.low()];
        if authoritative {
            flags[0] |= 0x04;
        }
        let count = |present: bool| u16::from(present).to_be_bytes();
        let mut out = Vec::with_capacity(HEADER + self.question.len() + 128);
        out.extend_from_slice(&[id_high, id_low]);
        out.extend_from_slice(&flags);
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&count(record.is_some()));
        out.extend_from_slice(&count(soa.is_some()));
        out.extend_from_slice(&count(self.edns_payload.is_some()));
        out.extend_from_slice(self.question);
        if let Some(record) = record {
            record.write(&mut out);
        }
        if let Some(soa) = soa {
            out.extend_from_slice(soa);
        }
        if let Some(asked) = self.edns_payload {
            let size = asked.clamp(PLAIN_UDP_PAYLOAD, max_payload);
            out.push(0);
            out.extend_from_slice(&TYPE_OPT.to_be_bytes());
            out.extend_from_slice(&size.to_be_bytes());
            out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        }
        out
    }
}

/// An answer record about the question's name.
#[derive(Debug, Clone, Copy)]
pub enum Record<'t> {
    /// A 127.0.0.`code`, for `ttl` seconds.
    A { code: u8, ttl: u32 },
    /// TXT with one string of at most 255 bytes (longer is cut), for `ttl`
    /// seconds.
    Txt { text: &'t str, ttl: u32 },
}

impl Record<'_> {
    fn write(self, out: &mut Vec<u8>) {
        // The name is the question's, at offset 12.
        out.extend_from_slice(&[0xC0, 0x0C]);
        match self {
            Record::A { code, ttl } => {
                out.extend_from_slice(&TYPE_A.to_be_bytes());
                out.extend_from_slice(&CLASS_IN.to_be_bytes());
                out.extend_from_slice(&ttl.to_be_bytes());
                out.extend_from_slice(&4u16.to_be_bytes());
                out.extend_from_slice(&[127, 0, 0, code]);
            }
            Record::Txt { text, ttl } => {
                let text = text.as_bytes();
                let text = text.get(..255).unwrap_or(text);
                let length = u8::try_from(text.len()).unwrap_or(u8::MAX);
                out.extend_from_slice(&TYPE_TXT.to_be_bytes());
                out.extend_from_slice(&CLASS_IN.to_be_bytes());
                out.extend_from_slice(&ttl.to_be_bytes());
                out.extend_from_slice(&(u16::from(length) + 1).to_be_bytes());
                out.push(length);
                out.extend_from_slice(text);
            }
        }
    }
}

/// Reads big-endian fields off a datagram, `None` past its end.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let taken = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(taken)
    }

    fn u16(&mut self) -> Option<u16> {
        let &[high, low] = self.take(2)? else {
            return None;
        };
        Some(u16::from_be_bytes([high, low]))
    }

    /// An EDNS version 0 OPT record with options hickory keeps as they
    /// are; its payload size.
    fn opt(&mut self) -> Option<u16> {
        let &[0] = self.take(1)? else {
            return None;
        };
        if self.u16()? != TYPE_OPT {
            return None;
        }
        let payload = self.u16()?;
        // Extended code, version, flags: only the flags may be set.
        let &[0, 0, _, _] = self.take(4)? else {
            return None;
        };
        let length = usize::from(self.u16()?);
        let mut options = Reader {
            bytes: self.take(length)?,
            at: 0,
        };
        while options.at < length {
            let code = options.u16()?;
            let length = usize::from(options.u16()?);
            if DECODED_OPTIONS.contains(&code) {
                return None;
            }
            options.take(length)?;
        }
        Some(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query for `name` of `qtype`, with EDNS when `edns` is given.
    fn query(name: &str, qtype: u16, edns: Option<u16>) -> Vec<u8> {
        let mut out = vec![
            0x12,
            0x34,
            0x01,
            0x00,
            0,
            1,
            0,
            0,
            0,
            0,
            0,
            u8::from(edns.is_some()),
        ];
        for label in name.split('.').filter(|l| !l.is_empty()) {
            out.push(u8::try_from(label.len()).expect("short label"));
            out.extend_from_slice(label.as_bytes());
        }
        out.push(0);
        out.extend_from_slice(&qtype.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        if let Some(size) = edns {
            out.extend_from_slice(&[0, 0, 41]);
            out.extend_from_slice(&size.to_be_bytes());
            out.extend_from_slice(&[0, 0, 0x80, 0, 0, 0]);
        }
        out
    }

    #[test]
    fn reads_a_plain_query_and_its_lowercase_labels() {
        let bytes = query("2.0.0.127.BL.Vouch.local.", TYPE_A, Some(4096));
        let read = PlainQuery::read(&bytes).expect("plain");
        let labels: Vec<&[u8]> = read.labels().collect();
        assert_eq!(
            labels,
            [&b"2"[..], b"0", b"0", b"127", b"bl", b"vouch", b"local"]
        );
        assert!(!read.asks_text());
        assert_eq!(read.edns_payload, Some(4096));
    }

    #[test]
    fn leaves_every_other_shape_to_hickory() {
        let plain = query("2.0.0.127.bl.vouch.local.", TYPE_A, None);
        assert!(PlainQuery::read(&plain).is_some());
        let changed = |at: usize, value: u8| {
            let mut bytes = plain.clone();
            bytes[at] = value;
            bytes
        };
        // A response, another opcode, two questions, an answer record.
        for bytes in [
            changed(2, 0x81),
            changed(2, 0x09),
            changed(5, 2),
            changed(7, 1),
        ] {
            assert!(PlainQuery::read(&bytes).is_none());
        }
        // MX, class CH, trailing bytes, a cut datagram.
        assert!(PlainQuery::read(&query("x.bl.vouch.local.", 15, None)).is_none());
        let mut chaos = plain.clone();
        let last = chaos.len() - 1;
        chaos[last] = 3;
        assert!(PlainQuery::read(&chaos).is_none());
        let mut trailing = plain.clone();
        trailing.push(0);
        assert!(PlainQuery::read(&trailing).is_none());
        assert!(PlainQuery::read(&plain[..plain.len() - 1]).is_none());
        // A compressed name.
        let mut pointer = plain[..12].to_vec();
        pointer.extend_from_slice(&[0xC0, 0x0C, 0, 1, 0, 1]);
        assert!(PlainQuery::read(&pointer).is_none());
        // EDNS version 1, or with a client subnet option.
        let mut version = query("x.bl.vouch.local.", TYPE_A, Some(1232));
        let at = version.len() - 5;
        version[at] = 1;
        assert!(PlainQuery::read(&version).is_none());
        let mut subnet = query("x.bl.vouch.local.", TYPE_A, Some(1232));
        let at = subnet.len() - 2;
        subnet[at..].copy_from_slice(&11u16.to_be_bytes());
        // Client subnet: family 1, source /24, scope 0, 192.0.2.
        subnet.extend_from_slice(&[0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2]);
        assert!(PlainQuery::read(&subnet).is_none());
    }

    #[test]
    fn answers_fit_or_are_left_to_hickory() {
        let short = query("2.0.0.127.bl.vouch.local.", TYPE_TXT, None);
        let read = PlainQuery::read(&short).expect("plain");
        assert!(read.fits(MAX_ANSWER_RECORD, 1232));
        let long = format!("{}bl.vouch.local.", "abcdefghij.".repeat(20));
        let long = query(&long, TYPE_TXT, None);
        let read = PlainQuery::read(&long).expect("plain");
        assert!(!read.fits(MAX_ANSWER_RECORD, 1232));
        let long = format!("{}bl.vouch.local.", "abcdefghij.".repeat(20));
        let long = query(&long, TYPE_TXT, Some(1232));
        assert!(
            PlainQuery::read(&long)
                .expect("plain")
                .fits(MAX_ANSWER_RECORD, 1232)
        );
    }
}
