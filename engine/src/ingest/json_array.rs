//! Streams a JSON array of objects as JSON lines: the outer `[`, the commas
//! between elements and the closing `]` become whitespace/newlines, byte for
//! byte, so a file of any size is decoded without parsing it whole. Strings
//! (with escapes) and nested arrays/objects pass through unchanged.

use std::io::{self, Read};

/// A reader over a JSON array that yields its elements one per line.
pub struct ArrayLines<R> {
    inner: R,
    depth: u32,
    in_string: bool,
    escaped: bool,
}

impl<R: Read> ArrayLines<R> {
    /// Wraps `inner`, which must start (after whitespace) with `[`.
    pub fn new(inner: R) -> Self {
        ArrayLines {
            inner,
            depth: 0,
            in_string: false,
            escaped: false,
        }
    }
}

impl<R: Read> Read for ArrayLines<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for b in &mut buf[..n] {
            if self.in_string {
                match *b {
                    _ if self.escaped => self.escaped = false,
                    b'\\' => self.escaped = true,
                    b'"' => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match *b {
                b'"' => self.in_string = true,
                b'[' | b'{' => {
                    self.depth += 1;
                    if self.depth == 1 {
                        *b = b' ';
                    }
                }
                b']' | b'}' => {
                    if self.depth == 1 {
                        *b = b'\n';
                    }
                    self.depth = self.depth.saturating_sub(1);
                }
                b',' if self.depth == 1 => *b = b'\n',
                _ => {}
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_becomes_lines() {
        let src = br#" [ {"a": [1, 2], "s": "x,]\"[y"}, {"b": {"c": 3}} ]"#;
        let mut out = String::new();
        // One byte per read: state must carry across reads.
        let mut r = ArrayLines::new(io::BufReader::with_capacity(1, &src[..]));
        r.read_to_string(&mut out).unwrap();
        let lines: Vec<serde_json::Value> = out
            .split('\n')
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["s"], "x,]\"[y");
        assert_eq!(lines[0]["a"][1], 2);
        assert_eq!(lines[1]["b"]["c"], 3);
    }
}
