//! [`ReplyBuf`]: writes RESP2 or RESP3 replies directly into a byte buffer.
//!
//! Commands describe their reply in RESP3 terms (map, set, double, boolean,
//! null, verbatim string); in RESP2 each is written the way Redis downgrades
//! it: a map becomes a flat array of key/value pairs, a set an array, a double
//! a bulk string, a boolean the integer 1 or 0, null `$-1` (or `*-1` for a
//! null array), a verbatim string a bulk string.

use bytes::{BufMut, BytesMut};

/// The protocol a connection speaks, switched with `HELLO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// RESP2, the default for new connections.
    #[default]
    Resp2,
    /// RESP3.
    Resp3,
}

impl Protocol {
    /// The number `HELLO` and `CLIENT LIST` report (2 or 3).
    pub fn version(self) -> i64 {
        match self {
            Protocol::Resp2 => 2,
            Protocol::Resp3 => 3,
        }
    }
}

/// A buffer of encoded replies for one connection.
#[derive(Debug, Default)]
pub struct ReplyBuf {
    buf: BytesMut,
    proto: Protocol,
}

impl ReplyBuf {
    /// An empty buffer speaking `proto`.
    pub fn new(proto: Protocol) -> Self {
        ReplyBuf {
            buf: BytesMut::with_capacity(16 * 1024),
            proto,
        }
    }

    /// The protocol replies are written in.
    pub fn protocol(&self) -> Protocol {
        self.proto
    }

    /// Switches the protocol for the replies that follow.
    pub fn set_protocol(&mut self, proto: Protocol) {
        self.proto = proto;
    }

    /// Encoded bytes not yet sent.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Number of encoded bytes not yet sent.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing is waiting to be sent.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Forgets everything written (after it was sent).
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// Drops everything after `len` bytes (to retract a partly written reply).
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    /// `+OK`.
    pub fn ok(&mut self) {
        self.buf.put_slice(b"+OK\r\n");
    }

    /// A simple string (`+text`). Line breaks are replaced by spaces.
    pub fn simple(&mut self, text: &str) {
        self.buf.put_u8(b'+');
        self.put_line_safe(text.as_bytes());
    }

    /// An error reply. `line` starts with its code (`ERR ...`, `WRONGTYPE ...`).
    pub fn error(&mut self, line: &str) {
        self.buf.put_u8(b'-');
        self.put_line_safe(line.as_bytes());
    }

    /// An integer.
    pub fn int(&mut self, v: i64) {
        self.header(b':', v);
    }

    /// A bulk string.
    pub fn bulk(&mut self, data: &[u8]) {
        self.header(b'$', data.len() as i64);
        self.buf.put_slice(data);
        self.buf.put_slice(b"\r\n");
    }

    /// A bulk string holding the decimal text of `v`.
    pub fn bulk_int(&mut self, v: i64) {
        let mut b = itoa::Buffer::new();
        self.bulk(b.format(v).as_bytes());
    }

    /// The null reply (`$-1` in RESP2, `_` in RESP3).
    pub fn null(&mut self) {
        match self.proto {
            Protocol::Resp2 => self.buf.put_slice(b"$-1\r\n"),
            Protocol::Resp3 => self.buf.put_slice(b"_\r\n"),
        }
    }

    /// The null array (`*-1` in RESP2, `_` in RESP3).
    pub fn null_array(&mut self) {
        match self.proto {
            Protocol::Resp2 => self.buf.put_slice(b"*-1\r\n"),
            Protocol::Resp3 => self.buf.put_slice(b"_\r\n"),
        }
    }

    /// The header of an array of `len` elements; the elements follow.
    pub fn array(&mut self, len: usize) {
        self.header(b'*', len as i64);
    }

    /// The header of an out-of-band push message of `len` elements (`>` in
    /// RESP3, an array in RESP2); the elements follow.
    pub fn push(&mut self, len: usize) {
        match self.proto {
            Protocol::Resp2 => self.header(b'*', len as i64),
            Protocol::Resp3 => self.header(b'>', len as i64),
        }
    }

    /// The header of a map of `pairs` key/value pairs (a flat array of
    /// `2 * pairs` in RESP2); keys and values follow alternately.
    pub fn map(&mut self, pairs: usize) {
        match self.proto {
            Protocol::Resp2 => self.header(b'*', 2 * pairs as i64),
            Protocol::Resp3 => self.header(b'%', pairs as i64),
        }
    }

    /// The header of a set of `len` elements (an array in RESP2).
    pub fn set(&mut self, len: usize) {
        match self.proto {
            Protocol::Resp2 => self.header(b'*', len as i64),
            Protocol::Resp3 => self.header(b'~', len as i64),
        }
    }

    /// A double (`,1.5` in RESP3, a bulk string in RESP2), in the shortest
    /// text that reads back as the same value; `inf`, `-inf`, `nan` as Redis.
    pub fn double(&mut self, v: f64) {
        let text = format_double(v);
        match self.proto {
            Protocol::Resp2 => self.bulk(text.as_bytes()),
            Protocol::Resp3 => {
                self.buf.put_u8(b',');
                self.buf.put_slice(text.as_bytes());
                self.buf.put_slice(b"\r\n");
            }
        }
    }

    /// A boolean (`#t`/`#f` in RESP3, `:1`/`:0` in RESP2).
    pub fn bool(&mut self, v: bool) {
        match self.proto {
            Protocol::Resp2 => self.int(i64::from(v)),
            Protocol::Resp3 => self.buf.put_slice(if v { b"#t\r\n" } else { b"#f\r\n" }),
        }
    }

    /// A verbatim string with a three-letter format such as `txt` (a bulk
    /// string in RESP2).
    pub fn verbatim(&mut self, format: &str, text: &[u8]) {
        match self.proto {
            Protocol::Resp2 => self.bulk(text),
            Protocol::Resp3 => {
                self.header(b'=', (text.len() + 4) as i64);
                self.buf.put_slice(format.as_bytes());
                self.buf.put_u8(b':');
                self.buf.put_slice(text);
                self.buf.put_slice(b"\r\n");
            }
        }
    }

    /// Bytes already encoded elsewhere, appended unchanged.
    pub fn raw(&mut self, encoded: &[u8]) {
        self.buf.put_slice(encoded);
    }

    fn header(&mut self, tag: u8, n: i64) {
        let mut b = itoa::Buffer::new();
        self.buf.put_u8(tag);
        self.buf.put_slice(b.format(n).as_bytes());
        self.buf.put_slice(b"\r\n");
    }

    fn put_line_safe(&mut self, text: &[u8]) {
        if text.iter().any(|&c| c == b'\r' || c == b'\n') {
            self.buf.extend(
                text.iter()
                    .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
            );
        } else {
            self.buf.put_slice(text);
        }
        self.buf.put_slice(b"\r\n");
    }
}

/// Text of a double as Redis writes it: shortest round-trip digits,
/// `inf`/`-inf`/`nan` for the special values.
pub fn format_double(v: f64) -> String {
    if v.is_nan() {
        "nan".to_string()
    } else if v.is_infinite() {
        if v > 0.0 {
            "inf".to_string()
        } else {
            "-inf".to_string()
        }
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis_protocol::resp2::decode::decode as decode2;
    use redis_protocol::resp2::types::OwnedFrame as F2;
    use redis_protocol::resp3::decode::complete::decode as decode3;
    use redis_protocol::resp3::types::OwnedFrame as F3;

    fn sample(proto: Protocol) -> Vec<u8> {
        let mut r = ReplyBuf::new(proto);
        r.map(2);
        r.bulk(b"a");
        r.double(1.5);
        r.bulk(b"b");
        r.array(3);
        r.bool(true);
        r.null();
        r.set(1);
        r.int(-7);
        r.bytes().to_vec()
    }

    #[test]
    fn resp2_downgrades_are_valid_resp2() {
        let bytes = sample(Protocol::Resp2);
        let (frame, used) = decode2(&bytes).unwrap().unwrap();
        assert_eq!(used, bytes.len());
        let F2::Array(items) = frame else {
            panic!("{frame:?}")
        };
        assert_eq!(items.len(), 4);
        assert_eq!(items[1], F2::BulkString(b"1.5".to_vec()));
        let F2::Array(inner) = &items[3] else {
            panic!()
        };
        assert_eq!(inner[0], F2::Integer(1));
        assert_eq!(inner[1], F2::Null);
        assert_eq!(inner[2], F2::Array(vec![F2::Integer(-7)]));
    }

    #[test]
    fn resp3_types_are_valid_resp3() {
        let bytes = sample(Protocol::Resp3);
        let (frame, used) = decode3(&bytes).unwrap().unwrap();
        assert_eq!(used, bytes.len());
        let F3::Map { data, .. } = frame else {
            panic!("{frame:?}")
        };
        let a = data
            .get(&F3::BlobString {
                data: b"a".to_vec(),
                attributes: None,
            })
            .unwrap();
        assert_eq!(
            *a,
            F3::Double {
                data: 1.5,
                attributes: None
            }
        );
        let b = data
            .get(&F3::BlobString {
                data: b"b".to_vec(),
                attributes: None,
            })
            .unwrap();
        let F3::Array { data: inner, .. } = b else {
            panic!()
        };
        assert_eq!(
            inner[0],
            F3::Boolean {
                data: true,
                attributes: None
            }
        );
        assert_eq!(inner[1], F3::Null);
    }

    #[test]
    fn verbatim_and_errors() {
        let mut r = ReplyBuf::new(Protocol::Resp3);
        r.verbatim("txt", b"hi");
        r.error("ERR a\r\nb");
        assert_eq!(r.bytes(), b"=6\r\ntxt:hi\r\n-ERR a  b\r\n");
        assert_eq!(format_double(0.1), "0.1");
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(f64::NEG_INFINITY), "-inf");
    }
}
