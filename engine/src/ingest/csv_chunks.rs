//! Cuts a CSV byte stream into chunks that end where a record ends (a
//! newline outside quotes), so that each chunk decodes on its own, on any
//! core. The scan only looks at quotes and newlines (`memchr2`); a doubled
//! quote inside a quoted field toggles twice and changes nothing, so
//! quoted fields may hold newlines and delimiters. Each chunk knows how
//! many lines of data came before it, so decoding errors name the line of
//! the file.

use std::io::{self, Read};

/// Part of a CSV file made of whole records.
#[derive(Debug)]
pub struct Chunk {
    /// The bytes (the header line is never in a chunk).
    pub data: Vec<u8>,
    /// Data lines before this chunk (the header not counted).
    pub lines_before: u64,
}

/// Record-aligned chunks of about `target` bytes read from a stream.
pub struct CsvChunks<R> {
    inner: R,
    target: usize,
    quote: u8,
    buf: Vec<u8>,
    /// Bytes of `buf` already scanned.
    scanned: usize,
    in_quotes: bool,
    /// End (exclusive) of the last record seen in `buf`, and the newlines
    /// up to it.
    cut: Option<(usize, u64)>,
    /// Newlines outside quotes in `buf[..scanned]`.
    newlines: u64,
    /// Data lines handed out so far.
    lines: u64,
    header: bool,
    eof: bool,
}

impl<R: Read> CsvChunks<R> {
    /// Chunks of `inner`, skipping the first line when `header`.
    pub fn new(inner: R, target: usize, header: bool, quote: u8) -> CsvChunks<R> {
        CsvChunks {
            inner,
            target: target.max(1),
            quote,
            buf: Vec::new(),
            scanned: 0,
            in_quotes: false,
            cut: None,
            newlines: 0,
            lines: 0,
            header,
            eof: false,
        }
    }

    /// Reads until `buf` holds `want` bytes or the stream ends.
    fn fill(&mut self, want: usize) -> io::Result<()> {
        while !self.eof && self.buf.len() < want {
            let start = self.buf.len();
            self.buf.resize(want, 0);
            match self.inner.read(&mut self.buf[start..]) {
                Ok(0) => {
                    self.buf.truncate(start);
                    self.eof = true;
                }
                Ok(n) => self.buf.truncate(start + n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => self.buf.truncate(start),
                Err(e) => {
                    self.buf.truncate(start);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Scans the new bytes for quotes and newlines; drops the header line
    /// once it is complete.
    fn scan(&mut self) {
        for at in memchr::memchr2_iter(self.quote, b'\n', &self.buf[self.scanned..]) {
            let at = self.scanned + at;
            if self.buf[at] == self.quote {
                self.in_quotes = !self.in_quotes;
            } else if !self.in_quotes {
                self.newlines += 1;
                self.cut = Some((at + 1, self.newlines));
            }
        }
        self.scanned = self.buf.len();
        if self.header
            && let Some(end) = self.first_record_end()
        {
            self.header = false;
            self.buf.drain(..end);
            self.scanned -= end;
            self.newlines -= 1;
            self.cut = match self.cut {
                Some((c, n)) if c > end => Some((c - end, n - 1)),
                _ => None,
            };
        }
    }

    /// End of the first record in `buf` (quotes closed at its newline).
    fn first_record_end(&self) -> Option<usize> {
        let mut quoted = false;
        for at in memchr::memchr2_iter(self.quote, b'\n', &self.buf[..self.scanned]) {
            if self.buf[at] == self.quote {
                quoted = !quoted;
            } else if !quoted {
                return Some(at + 1);
            }
        }
        None
    }
}

impl<R: Read> Iterator for CsvChunks<R> {
    type Item = io::Result<Chunk>;

    fn next(&mut self) -> Option<io::Result<Chunk>> {
        let mut want = self.target;
        loop {
            if let Err(e) = self.fill(want) {
                return Some(Err(e));
            }
            self.scan();
            if self.eof {
                if self.header {
                    // Only a header (or nothing): no data.
                    self.buf.clear();
                }
                if self.buf.is_empty() {
                    return None;
                }
                let data = std::mem::take(&mut self.buf);
                let chunk = Chunk {
                    data,
                    lines_before: self.lines,
                };
                self.lines += self.newlines;
                self.scanned = 0;
                self.newlines = 0;
                self.cut = None;
                return Some(Ok(chunk));
            }
            if let (Some((end, n)), false) = (self.cut, self.header) {
                let rest = self.buf.split_off(end);
                let data = std::mem::replace(&mut self.buf, rest);
                let chunk = Chunk {
                    data,
                    lines_before: self.lines,
                };
                self.lines += n;
                self.newlines -= n;
                self.scanned = self.buf.len();
                self.cut = None;
                return Some(Ok(chunk));
            }
            // No record ends in what is read (a record or the header is
            // longer than the chunk): read more.
            want = self.buf.len() + want.max(self.target);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(text: &str, target: usize, header: bool) -> Vec<Chunk> {
        CsvChunks::new(text.as_bytes(), target, header, b'"')
            .collect::<io::Result<Vec<_>>>()
            .unwrap()
    }

    #[test]
    fn chunks_end_at_records_and_count_lines() {
        let mut text = String::from("id,name\n");
        for i in 0..1000 {
            text.push_str(&format!("{i},\"n{i}\nwith \"\"newline\"\", comma\"\n"));
        }
        for target in [1, 7, 64, 1000, 1 << 20] {
            let cs = chunks(&text, target, true);
            let joined: Vec<u8> = cs.iter().flat_map(|c| c.data.clone()).collect();
            assert_eq!(
                joined,
                text.as_bytes()["id,name\n".len()..],
                "target {target}"
            );
            let mut before = 0;
            for c in &cs {
                assert_eq!(c.lines_before, before);
                let records = records(&c.data);
                // Whole records only: two newlines in each here.
                let newlines = c.data.iter().filter(|&&b| b == b'\n').count() as u64;
                assert_eq!(newlines, 2 * records);
                before += records;
            }
            assert_eq!(before, 1000);
        }
    }

    /// Records in a chunk: lines that start with a digit.
    fn records(data: &[u8]) -> u64 {
        data.split(|&b| b == b'\n')
            .filter(|l| l.first().is_some_and(u8::is_ascii_digit))
            .count() as u64
    }

    #[test]
    fn header_only_empty_and_no_final_newline() {
        assert!(chunks("a,b\n", 4, true).is_empty());
        assert!(chunks("a,b", 4, true).is_empty());
        assert!(chunks("", 4, false).is_empty());
        let cs = chunks("a,b\n1,2\n3,4", 4, true);
        let joined: Vec<u8> = cs.iter().flat_map(|c| c.data.clone()).collect();
        assert_eq!(joined, b"1,2\n3,4");
        assert_eq!(cs.last().unwrap().lines_before, 1);
        let cs = chunks("1,2\n3,4\n", 1 << 10, false);
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0].lines_before, 0);
    }
}
