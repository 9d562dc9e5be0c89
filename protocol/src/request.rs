//! Incremental parser for client requests.
//!
//! A request is either a RESP multibulk (`*<n>\r\n` followed by `n` bulk
//! strings `$<len>\r\n<bytes>\r\n`) or an inline line (`PING\r\n`). The
//! parser checks every length header against [`Limits`] *before* any of the
//! argument is buffered, so a client cannot make the server wait for (or
//! allocate) more than the configured `proto-max-bulk-len`.
//!
//! The parser is resumable: while a multibulk is incomplete it remembers how
//! far it got, so an argument vector that arrives over many reads is scanned
//! once. When a request is complete its bytes are split off the buffer and
//! every argument is a zero-copy [`Bytes`] slice of them.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::ProtocolError;
use crate::inline::split_args;

/// Longest inline request or length line, as Redis's `PROTO_INLINE_MAX_SIZE`.
pub const INLINE_MAX: usize = 64 * 1024;
/// Most arguments an unauthenticated client may send in one request.
pub const UNAUTH_MAX_MULTIBULK: i64 = 10;
/// Largest argument an unauthenticated client may send.
pub const UNAUTH_MAX_BULK: i64 = 16 * 1024;

/// Size limits applied while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest bulk argument (`proto-max-bulk-len`, Redis default 512 MiB).
    pub max_bulk_len: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
        }
    }
}

/// Result of one [`RequestParser::parse`] call.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A complete command: its arguments, name first (never empty).
    Command(Vec<Bytes>),
    /// The buffer holds no complete command yet; it must grow to at least
    /// `min_len` bytes before parsing can make progress.
    Incomplete {
        /// Buffer length needed before the next call can progress.
        min_len: usize,
    },
}

/// Progress through a partially received multibulk request.
#[derive(Debug, Default)]
struct Progress {
    /// Arguments still to read.
    remaining: usize,
    /// Offset in the buffer where the next argument header starts.
    pos: usize,
    /// Byte ranges of the arguments read so far.
    ranges: Vec<(usize, usize)>,
}

/// Parser state for one connection.
#[derive(Debug, Default)]
pub struct RequestParser {
    limits: Limits,
    progress: Option<Progress>,
}

impl RequestParser {
    /// A parser enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        RequestParser {
            limits,
            progress: None,
        }
    }

    /// Parses the next request from the front of `buf`, consuming it when it
    /// is complete. `authenticated` selects the stricter pre-AUTH limits.
    /// The buffer must only grow at its end between calls.
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        authenticated: bool,
    ) -> Result<Parsed, ProtocolError> {
        loop {
            if self.progress.is_none() {
                if buf.is_empty() {
                    return Ok(Parsed::Incomplete { min_len: 1 });
                }
                if buf[0] != b'*' {
                    match parse_inline(buf)? {
                        Some(args) if args.is_empty() => continue,
                        Some(args) => return Ok(Parsed::Command(args)),
                        None => {
                            return Ok(Parsed::Incomplete {
                                min_len: buf.len() + 1,
                            });
                        }
                    }
                }
                match self.start_multibulk(buf, authenticated)? {
                    Start::Begun => {}
                    Start::Skipped => continue,
                    Start::Incomplete(min_len) => return Ok(Parsed::Incomplete { min_len }),
                }
            }
            return self.continue_multibulk(buf, authenticated);
        }
    }

    fn start_multibulk(
        &mut self,
        buf: &mut BytesMut,
        authenticated: bool,
    ) -> Result<Start, ProtocolError> {
        let Some(cr) = find_line_end(buf, 1) else {
            if buf.len() > INLINE_MAX {
                return Err(ProtocolError::TooBigMultibulkCount);
            }
            return Ok(Start::Incomplete(buf.len() + 1));
        };
        let count = crate::args::parse_i64(&buf[1..cr])
            .filter(|&n| n <= i64::from(i32::MAX))
            .ok_or(ProtocolError::InvalidMultibulkLength)?;
        if !authenticated && count > UNAUTH_MAX_MULTIBULK {
            return Err(ProtocolError::UnauthenticatedMultibulkLength);
        }
        if count <= 0 {
            buf.advance(cr + 2);
            return Ok(Start::Skipped);
        }
        let count = count as usize;
        self.progress = Some(Progress {
            remaining: count,
            pos: cr + 2,
            // Never trust the count for allocation (Redis caps it the same way).
            ranges: Vec::with_capacity(count.min(1024)),
        });
        Ok(Start::Begun)
    }

    fn continue_multibulk(
        &mut self,
        buf: &mut BytesMut,
        authenticated: bool,
    ) -> Result<Parsed, ProtocolError> {
        let max_bulk = self.limits.max_bulk_len;
        let result = {
            let Some(p) = self.progress.as_mut() else {
                return Ok(Parsed::Incomplete {
                    min_len: buf.len() + 1,
                });
            };
            loop {
                if p.remaining == 0 {
                    break None;
                }
                let pos = p.pos;
                if pos >= buf.len() {
                    break Some(pos + 1);
                }
                let Some(cr) = find_line_end(buf, pos) else {
                    if buf.len() - pos > INLINE_MAX {
                        self.progress = None;
                        return Err(ProtocolError::TooBigBulkCount);
                    }
                    break Some(buf.len() + 1);
                };
                if buf[pos] != b'$' {
                    let got = buf[pos] as char;
                    self.progress = None;
                    return Err(ProtocolError::ExpectedDollar(got));
                }
                let len = match crate::args::parse_i64(&buf[pos + 1..cr]) {
                    Some(n) if n >= 0 && (n as u64) <= max_bulk => n,
                    _ => {
                        self.progress = None;
                        return Err(ProtocolError::InvalidBulkLength);
                    }
                };
                if !authenticated && len > UNAUTH_MAX_BULK {
                    self.progress = None;
                    return Err(ProtocolError::UnauthenticatedBulkLength);
                }
                let start = cr + 2;
                let end = start + len as usize;
                if end + 2 > buf.len() {
                    break Some(end + 2);
                }
                // Like Redis, the two bytes after the payload are skipped unchecked.
                p.ranges.push((start, end));
                p.pos = end + 2;
                p.remaining -= 1;
            }
        };
        if let Some(min_len) = result {
            return Ok(Parsed::Incomplete { min_len });
        }
        let p = self.progress.take().expect("progress present");
        let frame = buf.split_to(p.pos).freeze();
        Ok(Parsed::Command(
            p.ranges
                .into_iter()
                .map(|(s, e)| frame.slice(s..e))
                .collect(),
        ))
    }
}

enum Start {
    Begun,
    Skipped,
    Incomplete(usize),
}

/// Position of the `\r` ending the line that starts at `from`, provided the
/// `\n` after it has arrived too.
fn find_line_end(buf: &[u8], from: usize) -> Option<usize> {
    let rel = buf[from..].iter().position(|&c| c == b'\r')?;
    let cr = from + rel;
    (cr + 1 < buf.len()).then_some(cr)
}

/// Parses one inline line. `Ok(None)` = no full line yet; an empty vector =
/// a blank line (ignored, as Redis does).
fn parse_inline(buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    let Some(nl) = buf.iter().position(|&c| c == b'\n') else {
        if buf.len() > INLINE_MAX {
            return Err(ProtocolError::TooBigInline);
        }
        return Ok(None);
    };
    if nl > INLINE_MAX {
        return Err(ProtocolError::TooBigInline);
    }
    let line_end = if nl > 0 && buf[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    };
    let args = split_args(&buf[..line_end]).ok_or(ProtocolError::UnbalancedQuotes)?;
    buf.advance(nl + 1);
    Ok(Some(args.into_iter().map(Bytes::from).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8], auth: bool) -> Result<(Vec<Vec<Bytes>>, usize), ProtocolError> {
        let mut p = RequestParser::default();
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        loop {
            match p.parse(&mut buf, auth)? {
                Parsed::Command(args) => out.push(args),
                Parsed::Incomplete { .. } => return Ok((out, buf.len())),
            }
        }
    }

    #[test]
    fn multibulk_and_pipeline() {
        let (cmds, rest) = parse_all(
            b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$0\r\n\r\n*1\r\n$4\r\nPI",
            true,
        )
        .unwrap();
        assert_eq!(
            cmds,
            vec![
                vec![Bytes::from("PING")],
                vec![Bytes::from("GET"), Bytes::new()]
            ]
        );
        assert_eq!(rest, 10);
    }

    #[test]
    fn byte_at_a_time_matches_whole() {
        let input =
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhe\r\nl\r\nPING\r\n*0\r\n*1\r\n$4\r\nECHO\r\n";
        let mut p = RequestParser::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for &b in input.iter() {
            buf.extend_from_slice(&[b]);
            while let Parsed::Command(args) = p.parse(&mut buf, true).unwrap() {
                got.push(args);
            }
        }
        let (whole, _) = parse_all(input, true).unwrap();
        assert_eq!(got, whole);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0][2], Bytes::from(&b"he\r\nl"[..]));
    }

    #[test]
    fn inline_commands() {
        let (cmds, _) = parse_all(b"set a \"b c\"\r\n\r\nping\n", true).unwrap();
        assert_eq!(cmds.len(), 2);
        assert_eq!(cmds[0][2], Bytes::from("b c"));
        assert_eq!(
            parse_all(b"set \"a\r\n", true).unwrap_err(),
            ProtocolError::UnbalancedQuotes
        );
        let long = vec![b'a'; INLINE_MAX + 1];
        assert_eq!(
            parse_all(&long, true).unwrap_err(),
            ProtocolError::TooBigInline
        );
    }

    #[test]
    fn header_errors() {
        assert_eq!(
            parse_all(b"*x\r\n", true).unwrap_err(),
            ProtocolError::InvalidMultibulkLength
        );
        assert_eq!(
            parse_all(b"*3000000000\r\n", true).unwrap_err(),
            ProtocolError::InvalidMultibulkLength
        );
        assert_eq!(
            parse_all(b"*1\r\n+OK\r\n", true).unwrap_err(),
            ProtocolError::ExpectedDollar('+')
        );
        assert_eq!(
            parse_all(b"*1\r\n$-1\r\n", true).unwrap_err(),
            ProtocolError::InvalidBulkLength
        );
        assert_eq!(
            parse_all(b"*1\r\n$536870913\r\n", true).unwrap_err(),
            ProtocolError::InvalidBulkLength
        );
        assert_eq!(
            parse_all(b"*11\r\n", false).unwrap_err(),
            ProtocolError::UnauthenticatedMultibulkLength
        );
        assert_eq!(
            parse_all(b"*1\r\n$16385\r\n", false).unwrap_err(),
            ProtocolError::UnauthenticatedBulkLength
        );
        let mut long = b"*1".to_vec();
        long.extend(std::iter::repeat_n(b'1', INLINE_MAX + 1));
        assert_eq!(
            parse_all(&long, true).unwrap_err(),
            ProtocolError::TooBigMultibulkCount
        );
    }

    #[test]
    fn big_bulk_reports_needed_length() {
        let mut p = RequestParser::default();
        let mut buf = BytesMut::from(&b"*1\r\n$1000000\r\nabc"[..]);
        assert_eq!(
            p.parse(&mut buf, true).unwrap(),
            Parsed::Incomplete {
                min_len: 14 + 1_000_000 + 2
            }
        );
    }

    #[test]
    fn custom_bulk_limit() {
        let mut p = RequestParser::new(Limits { max_bulk_len: 3 });
        let mut buf = BytesMut::from(&b"*1\r\n$4\r\nabcd\r\n"[..]);
        assert_eq!(
            p.parse(&mut buf, true).unwrap_err(),
            ProtocolError::InvalidBulkLength
        );
    }
}
