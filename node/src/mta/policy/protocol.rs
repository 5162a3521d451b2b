//! The Postfix SMTPD policy delegation protocol (SMTPD_POLICY_README):
//! `name=value` lines, a request ended by an empty line, many requests per
//! connection. Reading is bounded by line length and request size.

use std::collections::HashMap;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// Why a request could not be read; the connection is closed after it.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// A line longer than the limit.
    #[error("line longer than {max} bytes")]
    LineTooLong {
        /// The limit.
        max: usize,
    },
    /// A request whose lines add up to more than the limit.
    #[error("request larger than {max} bytes")]
    RequestTooLarge {
        /// The limit.
        max: usize,
    },
    /// A line without `=`.
    #[error("line {line:?} is not name=value")]
    NotAttribute {
        /// The offending line (shortened).
        line: String,
    },
    /// A line that is not UTF-8.
    #[error("line is not UTF-8")]
    NotUtf8,
    /// The client closed the connection in the middle of a request.
    #[error("connection closed in the middle of a request")]
    Truncated,
    /// The socket failed.
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
}

impl ProtocolError {
    /// Metric label.
    pub fn label(&self) -> &'static str {
        match self {
            ProtocolError::LineTooLong { .. } => "line_too_long",
            ProtocolError::RequestTooLarge { .. } => "request_too_large",
            ProtocolError::NotAttribute { .. } => "not_attribute",
            ProtocolError::NotUtf8 => "not_utf8",
            ProtocolError::Truncated => "truncated",
            ProtocolError::Io(_) => "io",
        }
    }
}

/// One policy request: its attributes (the last value wins for a repeated name).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Request {
    attributes: HashMap<String, String>,
}

impl Request {
    /// The value of attribute `name`, if present and non-empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attributes
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// Reads one request. `Ok(None)` when the client closed the connection
/// cleanly between requests.
pub async fn read_request<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    max_line: usize,
    max_request: usize,
) -> Result<Option<Request>, ProtocolError> {
    let mut request = Request::default();
    let mut total = 0usize;
    let mut line = Vec::with_capacity(128);
    loop {
        line.clear();
        let complete = read_line(reader, &mut line, max_line).await?;
        if !complete {
            if line.is_empty() && total == 0 {
                return Ok(None);
            }
            return Err(ProtocolError::Truncated);
        }
        total += line.len() + 1;
        if total > max_request {
            return Err(ProtocolError::RequestTooLarge { max: max_request });
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.is_empty() {
            return Ok(Some(request));
        }
        let text = std::str::from_utf8(&line).map_err(|_| ProtocolError::NotUtf8)?;
        match text.split_once('=') {
            Some((name, value)) if !name.is_empty() => {
                request.attributes.insert(name.to_owned(), value.to_owned());
            }
            _ => {
                return Err(ProtocolError::NotAttribute {
                    line: text.chars().take(64).collect(),
                });
            }
        }
    }
}

/// Reads up to and excluding `\n` into `line`, at most `max` bytes. Returns
/// false at end of input before a newline.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
    max: usize,
) -> Result<bool, ProtocolError> {
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(false);
        }
        let (found, used) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (true, at),
            None => (false, available.len()),
        };
        if line.len() + used > max {
            return Err(ProtocolError::LineTooLong { max });
        }
        line.extend_from_slice(available.get(..used).unwrap_or_default());
        reader.consume(if found { used + 1 } else { used });
        if found {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(input: &[u8]) -> Result<Option<Request>, ProtocolError> {
        let mut reader = input;
        read_request(&mut reader, 64, 256).await
    }

    #[tokio::test]
    async fn attributes_end_at_the_empty_line_and_unknown_ones_are_kept_aside() {
        let request =
            parse(b"request=smtpd_access_policy\nclient_address=192.0.2.1\nfuture_thing=x=y\n\n")
                .await
                .expect("parses")
                .expect("a request");
        assert_eq!(request.get("client_address"), Some("192.0.2.1"));
        assert_eq!(request.get("future_thing"), Some("x=y"));
        assert_eq!(request.get("sender"), None);
    }

    #[tokio::test]
    async fn two_requests_on_one_stream_and_crlf_is_tolerated() {
        let mut reader: &[u8] = b"client_address=192.0.2.1\r\n\r\nclient_address=192.0.2.2\n\n";
        let first = read_request(&mut reader, 64, 256)
            .await
            .expect("ok")
            .expect("one");
        let second = read_request(&mut reader, 64, 256)
            .await
            .expect("ok")
            .expect("two");
        assert_eq!(first.get("client_address"), Some("192.0.2.1"));
        assert_eq!(second.get("client_address"), Some("192.0.2.2"));
        assert!(
            read_request(&mut reader, 64, 256)
                .await
                .expect("eof")
                .is_none()
        );
    }

    #[tokio::test]
    async fn malformed_input_is_named() {
        let long = format!("a={}\n\n", "x".repeat(100));
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (long.into_bytes(), "line_too_long"),
            ("a=1\n".repeat(70).into_bytes(), "request_too_large"),
            (b"no equals sign\n\n".to_vec(), "not_attribute"),
            (b"=value\n\n".to_vec(), "not_attribute"),
            (b"a=\xff\xfe\n\n".to_vec(), "not_utf8"),
            (b"a=1\nb=2".to_vec(), "truncated"),
        ];
        for (input, label) in cases {
            let error = parse(&input).await.expect_err(label);
            assert_eq!(error.label(), label, "{error}");
        }
    }
}
