//! Newline-delimited framing for the stdio transport, with a hard cap on message size.
//!
//! [`LineFramer`] does no I/O: feed it bytes with [`LineFramer::buffer_mut`] and take complete
//! frames out with [`LineFramer::next_frame`]. A line longer than the cap is never buffered whole:
//! its first [`OVERSIZE_PREFIX`] bytes are kept (so the request it answers can be found, see
//! [`scan_id`](crate::scan_id)), the rest is discarded as it arrives, and one
//! [`Frame::Oversized`] is reported when its newline is seen.

/// Lines at least this long that start at the front of the buffer are handed over with the
/// buffer instead of copied out of it (one copy less per large message; the next read gets a
/// fresh buffer).
const HAND_OVER_MIN: usize = 32 * 1024;

/// How many leading bytes of an oversized line are kept for diagnostics.
pub const OVERSIZE_PREFIX: usize = 4096;

/// One unit produced by the framer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete line, without its trailing `\n` (and without a `\r` before it).
    Line(Vec<u8>),
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
/// assert_eq!(f.next_frame(), Some(Frame::Line(b"{}".to_vec())));
/// assert!(matches!(f.next_frame(), Some(Frame::Oversized { len: 10, .. })));
/// assert_eq!(f.next_frame(), None); // `{"a"` waits for its newline
/// ```
#[derive(Debug)]
pub struct LineFramer {
    buf: Vec<u8>,
    /// Bytes before `start` were already returned; they are dropped in bulk, not per line.
    start: usize,
    /// Where the search for `\n` resumes (`start..scanned` has none).
    scanned: usize,
    max_len: usize,
    /// Set while discarding the rest of an oversized line: its kept prefix and length so far.
    discarding: Option<(Vec<u8>, usize)>,
}

impl LineFramer {
    /// A framer that accepts lines of up to `max_len` bytes (at least 1).
    pub fn new(max_len: usize) -> Self {
        LineFramer {
            buf: Vec::with_capacity(8 * 1024),
            start: 0,
            scanned: 0,
            max_len: max_len.max(1),
            discarding: None,
        }
    }

    /// The maximum line length in bytes.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The buffer to append newly read bytes to.
    ///
    /// Consumed bytes are dropped from its front here, once per read rather than once per line.
    pub fn buffer_mut(&mut self) -> &mut Vec<u8> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        &mut self.buf
    }

    /// Bytes buffered but not yet returned as a frame.
    pub fn pending_len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Takes the next complete frame, if the buffer holds one.
    pub fn next_frame(&mut self) -> Option<Frame> {
        loop {
            if let Some((prefix, seen)) = self.discarding.as_mut() {
                let rest = &self.buf[self.start..];
                let line_end = memchr_newline(rest);
                // Keep the prefix as long as it would be had the line arrived in one piece.
                let upto = line_end.unwrap_or(rest.len());
                let want = OVERSIZE_PREFIX.saturating_sub(prefix.len()).min(upto);
                prefix.extend_from_slice(&rest[..want]);
                match line_end {
                    Some(pos) => {
                        let len = *seen + pos;
                        let prefix = std::mem::take(prefix);
                        self.discarding = None;
                        self.start += pos + 1;
                        self.scanned = self.start;
                        return Some(Frame::Oversized { prefix, len });
                    }
                    None => {
                        *seen += rest.len();
                        self.buf.clear();
                        self.start = 0;
                        self.scanned = 0;
                        return None;
                    }
                }
            }
            match memchr_newline(&self.buf[self.scanned..]) {
                Some(rel) => {
                    let nl = self.scanned + rel;
                    let line_start = self.start;
                    let len = nl - line_start;
                    self.start = nl + 1;
                    self.scanned = self.start;
                    if len > self.max_len {
                        let keep = OVERSIZE_PREFIX.min(len);
                        let prefix = self.buf[line_start..line_start + keep].to_vec();
                        return Some(Frame::Oversized { prefix, len });
                    }
                    let mut line = &self.buf[line_start..nl];
                    if line.last() == Some(&b'\r') {
                        line = &line[..line.len() - 1];
                    }
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue; // blank lines are not messages
                    }
                    let line_len = line.len();
                    if line_start == 0 && line_len >= HAND_OVER_MIN {
                        // A large line fills the buffer from its start: hand the buffer over
                        // (keeping what follows the line) instead of copying the line out.
                        let rest = self.buf.split_off(nl + 1);
                        let mut line = std::mem::replace(&mut self.buf, rest);
                        line.truncate(line_len);
                        self.start = 0;
                        self.scanned = 0;
                        return Some(Frame::Line(line));
                    }
                    return Some(Frame::Line(line.to_vec()));
                }
                None => {
                    let pending = self.buf.len() - self.start;
                    if pending > self.max_len {
                        let keep = OVERSIZE_PREFIX.min(pending);
                        let prefix = self.buf[self.start..self.start + keep].to_vec();
                        self.discarding = Some((prefix, pending));
                        self.buf.clear();
                        self.start = 0;
                        self.scanned = 0;
                        return None;
                    }
                    self.scanned = self.buf.len();
                    return None;
                }
            }
        }
    }

    /// At end of input: the unterminated last line, if any (a peer may omit the final newline).
    pub fn finish(&mut self) -> Option<Frame> {
        let rest = self.buf.split_off(self.start);
        self.buf.clear();
        self.start = 0;
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

    #[test]
    fn large_lines_are_handed_over_with_what_follows_kept() {
        let big = vec![b'x'; HAND_OVER_MIN + 5];
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
            vec![
                Frame::Line(b"s1".to_vec()),
                Frame::Line(big.clone()),
                Frame::Line(b"{\"a\":1}".to_vec()),
                Frame::Line(big.clone()),
            ]
        );
        // Chunked in every way around the boundary: the same frames.
        for cut in [1, 7, HAND_OVER_MIN, HAND_OVER_MIN + 4] {
            let mut all = big.clone();
            all.extend_from_slice(b"\nnext\n");
            let mut f = LineFramer::new(1 << 20);
            let frames = feed_all(&mut f, &[&all[..cut], &all[cut..]]);
            assert_eq!(
                frames,
                vec![Frame::Line(big.clone()), Frame::Line(b"next".to_vec())]
            );
        }
    }

    #[test]
    fn splits_across_chunk_boundaries() {
        let mut f = LineFramer::new(100);
        let frames = feed_all(&mut f, &[b"ab", b"c\r\nde", b"f\n\n  \n", b"tail"]);
        assert_eq!(
            frames,
            vec![
                Frame::Line(b"abc".to_vec()),
                Frame::Line(b"def".to_vec()),
                Frame::Line(b"tail".to_vec())
            ]
        );
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
        assert_eq!(frames[1], Frame::Line(b"ok".to_vec()));
        // The buffer never held the whole oversized line.
        assert!(f.buf.capacity() < 20_000);
    }

    #[test]
    fn exact_limit_is_accepted() {
        let mut f = LineFramer::new(4);
        let frames = feed_all(&mut f, &[b"1234\n12345\n"]);
        assert_eq!(frames[0], Frame::Line(b"1234".to_vec()));
        assert!(matches!(frames[1], Frame::Oversized { len: 5, .. }));
    }
}
