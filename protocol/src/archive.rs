//! The export file: a node's statements as a sequence of records, each a
//! signed statement's canonical encoding behind its length as a 4-byte
//! big-endian integer. There is no header or trailer, so files
//! concatenate and a stream may be cut between any two records. A
//! record's bytes are exactly what gossip carries: whoever reads them
//! decodes, validates and verifies each one as if a peer had sent it.

use crate::codec::MAX_STATEMENT_BYTES;

/// Bytes of a record's length prefix.
pub const RECORD_PREFIX_BYTES: usize = 4;

/// Why a byte stream is not a sequence of records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The stream ends inside a record.
    #[error("truncated record at byte {offset}")]
    Truncated {
        /// Where the record starts.
        offset: usize,
    },
    /// A record claims more bytes than any statement may have.
    #[error(
        "record at byte {offset} claims {length} bytes; a statement has at most {MAX_STATEMENT_BYTES}"
    )]
    TooLarge {
        /// Where the record starts.
        offset: usize,
        /// The length it claims.
        length: usize,
    },
}

/// Appends one record: `statement`'s length, then its bytes.
pub fn write_record(out: &mut Vec<u8>, statement: &[u8]) {
    // A statement is at most MAX_STATEMENT_BYTES, far below u32::MAX.
    let length = u32::try_from(statement.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(statement);
}

/// The records of a byte stream, in order; after the first error, nothing.
pub fn records(bytes: &[u8]) -> Records<'_> {
    Records {
        bytes,
        offset: 0,
        failed: false,
    }
}

/// Iterator over the records of a byte stream (see [`records`]).
#[derive(Debug, Clone)]
pub struct Records<'a> {
    bytes: &'a [u8],
    offset: usize,
    failed: bool,
}

impl Records<'_> {
    /// Where the next record starts (the whole stream's length once done).
    pub fn offset(&self) -> usize {
        self.offset
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<&'a [u8], RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.bytes.get(self.offset..)?;
        if rest.is_empty() || self.failed {
            return None;
        }
        let offset = self.offset;
        let result = match rest.split_first_chunk::<RECORD_PREFIX_BYTES>() {
            None => Err(RecordError::Truncated { offset }),
            Some((prefix, body)) => {
                let length = u32::from_be_bytes(*prefix) as usize;
                if length > MAX_STATEMENT_BYTES {
                    Err(RecordError::TooLarge { offset, length })
                } else {
                    match body.get(..length) {
                        Some(record) => {
                            self.offset += RECORD_PREFIX_BYTES + length;
                            Ok(record)
                        }
                        None => Err(RecordError::Truncated { offset }),
                    }
                }
            }
        };
        self.failed = result.is_err();
        Some(result)
    }
}
