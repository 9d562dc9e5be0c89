//! Decoding replies: [`Frame`] is one RESP2/RESP3 reply as written by
//! [`ReplyBuf`](crate::ReplyBuf). Scripts use it to turn the reply of a
//! command they called back into a value.

/// One decoded reply, borrowing its strings from the buffer.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame<'a> {
    /// `+text`
    Simple(&'a [u8]),
    /// `-text`
    Error(&'a [u8]),
    /// `:n`
    Int(i64),
    /// `$len` text
    Bulk(&'a [u8]),
    /// `$-1`, `*-1` (RESP2) or `_` (RESP3).
    Null,
    /// `*len` elements
    Array(Vec<Frame<'a>>),
    /// `%len` key/value pairs
    Map(Vec<(Frame<'a>, Frame<'a>)>),
    /// `~len` elements
    Set(Vec<Frame<'a>>),
    /// `,n`
    Double(f64),
    /// `#t` / `#f`
    Bool(bool),
    /// `=len` with its three-letter format and the text.
    Verbatim(&'a [u8], &'a [u8]),
    /// `(digits`
    BigNumber(&'a [u8]),
    /// `>len` elements (out-of-band push).
    Push(Vec<Frame<'a>>),
}

/// Decodes the reply at the start of `buf`: the frame and the bytes it
/// took, or None when `buf` does not start with a whole, well-formed reply.
pub fn decode(buf: &[u8]) -> Option<(Frame<'_>, usize)> {
    let mut pos = 0;
    let f = frame(buf, &mut pos, 0)?;
    Some((f, pos))
}

const MAX_DEPTH: usize = 512;

fn line<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let rest = buf.get(*pos..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    *pos += end + 2;
    Some(&rest[..end])
}

fn number(text: &[u8]) -> Option<i64> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

fn frame<'a>(buf: &'a [u8], pos: &mut usize, depth: usize) -> Option<Frame<'a>> {
    if depth > MAX_DEPTH {
        return None;
    }
    let tag = *buf.get(*pos)?;
    *pos += 1;
    let text = line(buf, pos)?;
    let items = |pos: &mut usize, n: i64| -> Option<Vec<Frame<'a>>> {
        (0..n).map(|_| frame(buf, pos, depth + 1)).collect()
    };
    Some(match tag {
        b'+' => Frame::Simple(text),
        b'-' => Frame::Error(text),
        b':' => Frame::Int(number(text)?),
        b'_' => Frame::Null,
        b'#' => Frame::Bool(text == b"t"),
        b',' => Frame::Double(std::str::from_utf8(text).ok()?.parse().ok()?),
        b'(' => Frame::BigNumber(text),
        b'$' | b'=' => {
            let n = number(text)?;
            if n < 0 {
                return Some(Frame::Null);
            }
            let data = buf.get(*pos..*pos + n as usize)?;
            if buf.get(*pos + n as usize..*pos + n as usize + 2)? != b"\r\n" {
                return None;
            }
            *pos += n as usize + 2;
            if tag == b'=' {
                if data.len() < 4 {
                    return None;
                }
                Frame::Verbatim(&data[..3], &data[4..])
            } else {
                Frame::Bulk(data)
            }
        }
        b'*' | b'~' | b'>' => {
            let n = number(text)?;
            if n < 0 {
                return Some(Frame::Null);
            }
            let v = items(pos, n)?;
            match tag {
                b'*' => Frame::Array(v),
                b'~' => Frame::Set(v),
                _ => Frame::Push(v),
            }
        }
        b'%' => {
            let n = number(text)?;
            let mut v = items(pos, n.checked_mul(2)?)?.into_iter();
            let mut pairs = Vec::with_capacity(n.max(0) as usize);
            while let (Some(k), Some(val)) = (v.next(), v.next()) {
                pairs.push((k, val));
            }
            Frame::Map(pairs)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Protocol, ReplyBuf};

    #[test]
    fn decodes_what_replybuf_writes() {
        for proto in [Protocol::Resp2, Protocol::Resp3] {
            let mut out = ReplyBuf::new(proto);
            out.array(6);
            out.simple("OK");
            out.error("ERR no");
            out.int(-7);
            out.bulk(b"a\r\nb");
            out.null();
            out.map(1);
            out.bulk(b"k");
            out.double(1.5);
            let (f, n) = decode(out.bytes()).unwrap();
            assert_eq!(n, out.len());
            let Frame::Array(items) = f else { panic!() };
            assert_eq!(items[0], Frame::Simple(b"OK"));
            assert_eq!(items[1], Frame::Error(b"ERR no"));
            assert_eq!(items[2], Frame::Int(-7));
            assert_eq!(items[3], Frame::Bulk(b"a\r\nb"));
            assert_eq!(items[4], Frame::Null);
            match proto {
                Protocol::Resp2 => assert_eq!(
                    items[5],
                    Frame::Array(vec![Frame::Bulk(b"k"), Frame::Bulk(b"1.5")])
                ),
                Protocol::Resp3 => assert_eq!(
                    items[5],
                    Frame::Map(vec![(Frame::Bulk(b"k"), Frame::Double(1.5))])
                ),
            }
            // Every truncation is incomplete, never misread.
            for cut in 0..out.len() {
                assert!(decode(&out.bytes()[..cut]).is_none());
            }
        }
    }
}
