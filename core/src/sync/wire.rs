//! Primitive binary encoding of the sync protocol: LEB128 varints,
//! length-prefixed byte strings and UTF-8 strings. Decoding never trusts a
//! length: every read is bounds-checked against the remaining input, and
//! declared lengths larger than what is left are refused before allocating.

use std::fmt;

/// Why a message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct WireError {
    /// What was being read.
    pub what: &'static str,
    /// Byte offset where decoding failed.
    pub offset: usize,
    /// What was wrong.
    pub problem: &'static str,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed sync message: {} at byte {}: {}",
            self.what, self.offset, self.problem
        )
    }
}

/// Appends values to a buffer.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends raw bytes.
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    /// Appends an unsigned LEB128 varint.
    pub fn uint(&mut self, mut v: u64) -> &mut Self {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.buf.push(byte);
                return self;
            }
            self.buf.push(byte | 0x80);
        }
    }

    /// Appends a length-prefixed byte string.
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.uint(bytes.len() as u64);
        self.raw(bytes)
    }

    /// Appends a length-prefixed UTF-8 string.
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }

    /// The encoded bytes.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True if nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Reads values from a buffer.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn err(&self, what: &'static str, problem: &'static str) -> WireError {
        WireError {
            what,
            offset: self.pos,
            problem,
        }
    }

    /// Reads `n` raw bytes.
    pub fn raw(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        if self.buf.len() - self.pos < n {
            return Err(self.err(what, "the message ends too early (truncated?)"));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Reads an unsigned LEB128 varint.
    pub fn uint(&mut self, what: &'static str) -> Result<u64, WireError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .buf
                .get(self.pos)
                .ok_or_else(|| self.err(what, "the message ends too early (truncated?)"))?;
            self.pos += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.err(what, "varint longer than 64 bits"))
    }

    /// Reads a varint that must fit in `usize` and not exceed `max`.
    pub fn len(&mut self, what: &'static str, max: u64) -> Result<usize, WireError> {
        let v = self.uint(what)?;
        if v > max {
            return Err(self.err(what, "count larger than allowed"));
        }
        usize::try_from(v).map_err(|_| self.err(what, "count too large for this device"))
    }

    /// Reads a length-prefixed byte string.
    pub fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], WireError> {
        let n = self.len(what, (self.buf.len() - self.pos) as u64)?;
        self.raw(n, what)
    }

    /// Reads a length-prefixed UTF-8 string.
    pub fn str(&mut self, what: &'static str) -> Result<&'a str, WireError> {
        let b = self.bytes(what)?;
        std::str::from_utf8(b).map_err(|_| self.err(what, "not valid UTF-8"))
    }

    /// Fails unless the whole input was consumed.
    pub fn finish(&self, what: &'static str) -> Result<(), WireError> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(self.err(what, "unexpected bytes after the end of the message"))
        }
    }

    /// Offset of the next byte to read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left to read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_truncation_is_caught() {
        for v in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut w = Writer::new();
            w.uint(v);
            let buf = w.finish();
            assert_eq!(Reader::new(&buf).uint("v").unwrap(), v);
            if buf.len() > 1 {
                assert!(Reader::new(&buf[..buf.len() - 1]).uint("v").is_err());
            }
        }
    }

    #[test]
    fn a_length_beyond_the_input_is_refused_without_allocating() {
        let mut w = Writer::new();
        w.uint(1 << 40).raw(b"abc");
        let buf = w.finish();
        let err = Reader::new(&buf).bytes("changes").unwrap_err();
        assert_eq!(err.what, "changes");
        assert!(
            err.to_string().contains("count larger than allowed"),
            "{err}"
        );
    }
}
