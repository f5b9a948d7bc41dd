//! Newline-delimited framing for the stdio transport, with a hard cap on message size.
//!
//! [`LineFramer`] does no I/O: feed it bytes with [`LineFramer::buffer_mut`] and take complete
//! frames out with [`LineFramer::next_frame`]. A line is split off the buffer it was read into,
//! not copied: it shares that buffer (reference-counted, [`bytes::Bytes`]), so routing a
//! response costs no allocation and no copy, whatever its size. A line longer than the cap is
//! never buffered whole: its first [`OVERSIZE_PREFIX`] bytes are kept (so the request it answers
//! can be found, see [`scan_id`](crate::scan_id)), the rest is discarded as it arrives, and one
//! [`Frame::Oversized`] is reported when its newline is seen.

use bytes::{Buf, Bytes, BytesMut};

/// How many leading bytes of an oversized line are kept for diagnostics.
pub const OVERSIZE_PREFIX: usize = 4096;

/// One unit produced by the framer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete line, without its trailing `\n` (and without a `\r` before it).
    Line(Bytes),
    /// A line longer than the limit, which was dropped.
    Oversized {
        /// The first bytes of the line (at most [`OVERSIZE_PREFIX`]).
        prefix: Vec<u8>,
        /// The full length of the line in bytes.
        len: usize,
    },
}

/// Splits a byte stream into lines of at most `max_len` bytes.
///
/// ```
/// use mcpmux_protocol::framing::{Frame, LineFramer};
/// let mut f = LineFramer::new(8);
/// f.buffer_mut().extend_from_slice(b"{}\n0123456789\n{\"a\"");
/// assert_eq!(f.next_frame(), Some(Frame::Line(b"{}"[..].into())));
/// assert!(matches!(f.next_frame(), Some(Frame::Oversized { len: 10, .. })));
/// assert_eq!(f.next_frame(), None); // `{"a"` waits for its newline
/// ```
#[derive(Debug)]
pub struct LineFramer {
    /// Bytes read and not yet returned (returned lines are split off its front).
    buf: BytesMut,
    /// Where the search for `\n` resumes (`..scanned` has none).
    scanned: usize,
    max_len: usize,
    /// Set while discarding the rest of an oversized line: its kept prefix and length so far.
    discarding: Option<(Vec<u8>, usize)>,
}

impl LineFramer {
    /// A framer that accepts lines of up to `max_len` bytes (at least 1).
    pub fn new(max_len: usize) -> Self {
        LineFramer {
            buf: BytesMut::with_capacity(8 * 1024),
            scanned: 0,
            max_len: max_len.max(1),
            discarding: None,
        }
    }

    /// The maximum line length in bytes.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The buffer to append newly read bytes to. Its spare capacity is what a read can fill:
    /// reserve more when it runs low (a buffer whose lines are all gone is reused in place).
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Bytes buffered but not yet returned as a frame.
    pub fn pending_len(&self) -> usize {
        self.buf.len()
    }

    /// Takes the next complete frame, if the buffer holds one.
    pub fn next_frame(&mut self) -> Option<Frame> {
        loop {
            if let Some((prefix, seen)) = self.discarding.as_mut() {
                let line_end = memchr_newline(&self.buf);
                // Keep the prefix as long as it would be had the line arrived in one piece.
                let upto = line_end.unwrap_or(self.buf.len());
                let want = OVERSIZE_PREFIX.saturating_sub(prefix.len()).min(upto);
                prefix.extend_from_slice(&self.buf[..want]);
                match line_end {
                    Some(pos) => {
                        let len = *seen + pos;
                        let prefix = std::mem::take(prefix);
                        self.discarding = None;
                        self.buf.advance(pos + 1);
                        self.scanned = 0;
                        return Some(Frame::Oversized { prefix, len });
                    }
                    None => {
                        *seen += self.buf.len();
                        self.buf.clear();
                        self.scanned = 0;
                        return None;
                    }
                }
            }
            match memchr_newline(&self.buf[self.scanned..]) {
                Some(rel) => {
                    let len = self.scanned + rel;
                    self.scanned = 0;
                    if len > self.max_len {
                        let keep = OVERSIZE_PREFIX.min(len);
                        let prefix = self.buf[..keep].to_vec();
                        self.buf.advance(len + 1);
                        return Some(Frame::Oversized { prefix, len });
                    }
                    let mut line = self.buf.split_to(len + 1);
                    line.truncate(len);
                    if line.last() == Some(&b'\r') {
                        line.truncate(len - 1);
                    }
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue; // blank lines are not messages
                    }
                    return Some(Frame::Line(line.freeze()));
                }
                None => {
                    let pending = self.buf.len();
                    if pending > self.max_len {
                        let keep = OVERSIZE_PREFIX.min(pending);
                        let prefix = self.buf[..keep].to_vec();
                        self.discarding = Some((prefix, pending));
                        self.buf.clear();
                        self.scanned = 0;
                        return None;
                    }
                    self.scanned = pending;
                    return None;
                }
            }
        }
    }

    /// At end of input: the unterminated last line, if any (a peer may omit the final newline).
    pub fn finish(&mut self) -> Option<Frame> {
        let rest = self.buf.split().freeze();
        self.scanned = 0;
        if let Some((mut prefix, seen)) = self.discarding.take() {
            let want = OVERSIZE_PREFIX.saturating_sub(prefix.len()).min(rest.len());
            prefix.extend_from_slice(&rest[..want]);
            return Some(Frame::Oversized {
                prefix,
                len: seen + rest.len(),
            });
        }
        if rest.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        if rest.len() > self.max_len {
            let keep = OVERSIZE_PREFIX.min(rest.len());
            return Some(Frame::Oversized {
                prefix: rest[..keep].to_vec(),
                len: rest.len(),
            });
        }
        Some(Frame::Line(rest))
    }
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(bytes: &[u8]) -> Frame {
        Frame::Line(Bytes::copy_from_slice(bytes))
    }

    fn feed_all(f: &mut LineFramer, chunks: &[&[u8]]) -> Vec<Frame> {
        let mut out = Vec::new();
        for c in chunks {
            f.buffer_mut().extend_from_slice(c);
            while let Some(fr) = f.next_frame() {
                out.push(fr);
            }
        }
        out.extend(f.finish());
        out
    }

    /// A line longer than a read buffer's first allocation.
    const BIG: usize = 32 * 1024;

    #[test]
    fn large_lines_are_split_off_with_what_follows_kept() {
        let big = vec![b'x'; BIG + 5];
        let mut f = LineFramer::new(1 << 20);
        let mut first = big.clone();
        first.extend_from_slice(b"\r\n{\"a\"");
        let frames = feed_all(
            &mut f,
            &[
                b"s1\n",
                &first[..1000],
                &first[1000..],
                b":1}\n",
                &big,
                b"\n",
            ],
        );
        assert_eq!(
            frames,
            vec![line(b"s1"), line(&big), line(b"{\"a\":1}"), line(&big),]
        );
        // Chunked in every way around the boundary: the same frames.
        for cut in [1, 7, BIG, BIG + 4] {
            let mut all = big.clone();
            all.extend_from_slice(b"\nnext\n");
            let mut f = LineFramer::new(1 << 20);
            let frames = feed_all(&mut f, &[&all[..cut], &all[cut..]]);
            assert_eq!(frames, vec![line(&big), line(b"next")]);
        }
    }

    #[test]
    fn splits_across_chunk_boundaries() {
        let mut f = LineFramer::new(100);
        let frames = feed_all(&mut f, &[b"ab", b"c\r\nde", b"f\n\n  \n", b"tail"]);
        assert_eq!(frames, vec![line(b"abc"), line(b"def"), line(b"tail")]);
    }

    #[test]
    fn oversized_line_is_discarded_while_streaming() {
        let mut f = LineFramer::new(5000);
        let big = vec![b'x'; 3000];
        let frames = feed_all(&mut f, &[b"{\"id\":1,", &big, &big, &big, b"}\nok\n"]);
        assert_eq!(frames.len(), 2);
        match &frames[0] {
            Frame::Oversized { prefix, len } => {
                assert_eq!(*len, 8 + 9000 + 1);
                assert!(prefix.starts_with(b"{\"id\":1,"));
                assert!(prefix.len() <= OVERSIZE_PREFIX);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(frames[1], line(b"ok"));
        // The buffer never held the whole oversized line.
        assert!(f.buf.capacity() < 20_000);
    }

    #[test]
    fn exact_limit_is_accepted() {
        let mut f = LineFramer::new(4);
        let frames = feed_all(&mut f, &[b"1234\n12345\n"]);
        assert_eq!(frames[0], line(b"1234"));
        assert!(matches!(frames[1], Frame::Oversized { len: 5, .. }));
    }
}
