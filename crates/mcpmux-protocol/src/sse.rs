//! A Server-Sent Events parser with a hard cap on event size, and no I/O.
//!
//! Why not the `sse-stream` crate: it buffers an event without any size limit, and a cap cannot be
//! added from outside without finding the line boundaries a second time. MCP servers are peers we
//! do not control, so every buffer here is bounded. The parser follows the WHATWG
//! `text/event-stream` rules: lines end in CRLF, LF or CR; `:` starts a comment; `data` lines
//! accumulate; `id` sets the last event id (ignored if it contains NUL); `retry` takes digits only;
//! a blank line dispatches.
//!
//! Unlike a browser's `EventSource`, blocks without `data` are reported too (as
//! [`SseEvent::data`] `None`): MCP's priming events carry only `id` and `retry`.

/// One dispatched event block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event` field; `None` means the default type, `message`.
    pub event: Option<String>,
    /// The `data` lines joined by `\n`; `None` if the block had no `data` field.
    pub data: Option<String>,
    /// The `id` field of this block, if it had one.
    pub id: Option<String>,
    /// The `retry` field of this block (milliseconds), if it had a valid one.
    pub retry: Option<u64>,
}

impl SseEvent {
    /// Whether this event carries a message: type `message` (or none) and non-empty data.
    pub fn is_message(&self) -> bool {
        matches!(self.event.as_deref(), None | Some("message"))
            && self.data.as_deref().is_some_and(|d| !d.trim().is_empty())
    }
}

/// An event over the size limit; the parser skips the rest of it and carries on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("server-sent event over the {limit}-byte limit")]
pub struct EventTooLarge {
    /// The limit in bytes.
    pub limit: usize,
    /// The first bytes of the event's data (at most 4 KiB), to find the request it answered.
    pub data_prefix: Vec<u8>,
}

/// Incremental SSE parser: [`push`](Self::push) bytes, then take events with
/// [`next_event`](Self::next_event).
///
/// ```
/// use mcpmux_protocol::sse::SseParser;
/// let mut p = SseParser::new(1024);
/// p.push(b"id: 7\nretry: 500\ndata:\n\nevent: message\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n");
/// let prime = p.next_event().unwrap().unwrap();
/// assert_eq!((prime.id.as_deref(), prime.retry, prime.is_message()), (Some("7"), Some(500), false));
/// let msg = p.next_event().unwrap().unwrap();
/// assert_eq!(msg.data.as_deref(), Some("{\"a\":\n1}"));
/// assert_eq!(p.last_event_id(), Some("7"));
/// assert!(p.next_event().is_none());
/// ```
#[derive(Debug)]
pub struct SseParser {
    buf: Vec<u8>,
    pos: usize,
    /// Where the search for the current line's end resumes (`pos..scan` holds no CR or LF), so
    /// a long line arriving in many chunks is scanned once, not once per chunk.
    scan: usize,
    max_event: usize,
    event: Option<String>,
    data: Option<Vec<u8>>,
    id: Option<String>,
    retry: Option<u64>,
    has_field: bool,
    data_lines: usize,
    /// Bytes of the current block so far (for the cap).
    block_len: usize,
    /// Skipping the rest of an oversized block.
    skipping: bool,
    last_event_id: Option<String>,
    first_line: bool,
}

impl SseParser {
    /// A parser that rejects events larger than `max_event` bytes.
    pub fn new(max_event: usize) -> Self {
        SseParser {
            buf: Vec::new(),
            pos: 0,
            scan: 0,
            max_event: max_event.max(1),
            event: None,
            data: None,
            id: None,
            retry: None,
            has_field: false,
            data_lines: 0,
            block_len: 0,
            skipping: false,
            last_event_id: None,
            first_line: true,
        }
    }

    /// The last event id seen on this stream (what `Last-Event-ID` should carry on reconnect).
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// Appends received bytes.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            self.scan = 0;
        } else if self.pos > 64 * 1024 {
            self.buf.drain(..self.pos);
            self.scan -= self.pos;
            self.pos = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete event, an error for an oversized one, or `None` until more bytes come.
    pub fn next_event(&mut self) -> Option<Result<SseEvent, EventTooLarge>> {
        loop {
            let rest = &self.buf[self.pos..];
            let from = self.scan.max(self.pos) - self.pos;
            let found = memchr::memchr2(b'\n', b'\r', &rest[from..]).map(|i| from + i);
            let Some(end) = found else {
                self.scan = self.buf.len();
                // No complete line: enforce the cap on the partial line too.
                if self.block_len + rest.len() > self.max_event && !self.skipping {
                    let data_prefix = self.data_prefix(rest);
                    self.skipping = true;
                    self.reset_block();
                    self.block_len = 0;
                    self.buf.clear();
                    self.pos = 0;
                    self.scan = 0;
                    return Some(Err(EventTooLarge {
                        limit: self.max_event,
                        data_prefix,
                    }));
                }
                if self.skipping {
                    self.buf.clear();
                    self.pos = 0;
                    self.scan = 0;
                }
                return None;
            };
            let term_len = if rest[end] == b'\r' {
                match rest.get(end + 1) {
                    Some(b'\n') => 2,
                    Some(_) => 1,
                    None => {
                        // A CR at the end: wait to see whether LF follows.
                        self.scan = self.pos + end;
                        return None;
                    }
                }
            } else {
                1
            };
            let line_start = self.pos;
            self.pos += end + term_len;
            self.scan = self.pos;
            let line = &self.buf[line_start..line_start + end];
            if line.is_empty() {
                if self.skipping {
                    self.skipping = false;
                    self.block_len = 0;
                    continue;
                }
                if let Some(ev) = self.dispatch() {
                    return Some(Ok(ev));
                }
                continue;
            }
            if self.skipping {
                continue;
            }
            self.block_len += line.len() + 1;
            if self.block_len > self.max_event {
                let data_prefix = self.data_prefix(&self.buf[line_start..line_start + end]);
                self.skipping = true;
                self.reset_block();
                return Some(Err(EventTooLarge {
                    limit: self.max_event,
                    data_prefix,
                }));
            }
            let mut start = line_start;
            if self.first_line {
                self.first_line = false;
                if line.starts_with(&[0xEF, 0xBB, 0xBF]) {
                    start += 3;
                }
            }
            // The buffer is lent out for the field (no copy of the line), then put back.
            let buf = std::mem::take(&mut self.buf);
            self.field(&buf[start..line_start + end]);
            self.buf = buf;
        }
    }

    /// The event's data so far plus `line`'s value if it is a `data` line, capped at 4 KiB.
    fn data_prefix(&self, line: &[u8]) -> Vec<u8> {
        const CAP: usize = 4096;
        let mut out: Vec<u8> = self
            .data
            .as_deref()
            .unwrap_or_default()
            .iter()
            .take(CAP)
            .copied()
            .collect();
        if let Some(v) = line.strip_prefix(b"data:") {
            if self.data_lines > 0 && out.len() < CAP {
                out.push(b'\n');
            }
            let v = v.strip_prefix(b" ").unwrap_or(v);
            out.extend(v.iter().take(CAP.saturating_sub(out.len())));
        }
        out
    }

    /// At end of stream: an unterminated block is discarded, as the SSE rules say.
    pub fn finish(&mut self) {
        self.reset_block();
        self.buf.clear();
        self.pos = 0;
        self.scan = 0;
    }

    fn field(&mut self, line: &[u8]) {
        if line.first().is_none_or(|&b| b == b':') {
            return; // a comment (or nothing left after a byte-order mark)
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &[][..]),
        };
        match name {
            b"event" => {
                self.event = Some(text(value));
                self.has_field = true;
            }
            b"data" => {
                let data = self.data.get_or_insert_with(Vec::new);
                if self.data_lines > 0 {
                    data.push(b'\n');
                }
                data.extend_from_slice(value);
                self.has_field = true;
                self.data_lines += 1;
            }
            b"id" if !value.contains(&0) => {
                let id = text(value);
                // The previous id's allocation is reused: one stream's ids are alike.
                self.last_event_id
                    .get_or_insert_with(String::new)
                    .clone_from(&id);
                self.id = Some(id);
                self.has_field = true;
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                self.retry = std::str::from_utf8(value).ok().and_then(|s| s.parse().ok());
                self.has_field = true;
            }
            _ => {}
        }
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let had = self.has_field;
        let ev = SseEvent {
            event: self.event.take(),
            // Valid UTF-8 (the norm) is taken over as is; anything else is repaired.
            data: self.data.take().map(|d| {
                String::from_utf8(d)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
            }),
            id: self.id.take(),
            retry: self.retry.take(),
        };
        self.reset_block();
        had.then_some(ev)
    }

    fn reset_block(&mut self) {
        self.event = None;
        self.data = None;
        self.id = None;
        self.retry = None;
        self.has_field = false;
        self.block_len = 0;
        self.data_lines = 0;
    }
}

/// A field value as text: valid UTF-8 (the norm) copied as is, anything else repaired.
fn text(value: &[u8]) -> String {
    match std::str::from_utf8(value) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(value).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(p: &mut SseParser) -> Vec<Result<SseEvent, EventTooLarge>> {
        std::iter::from_fn(|| p.next_event()).collect()
    }

    #[test]
    fn ids_and_types_are_text_and_the_last_id_follows_every_block() {
        let mut p = SseParser::new(1000);
        let mut next = |input: &[u8]| {
            p.push(input);
            let ev = p.next_event().and_then(Result::ok);
            (ev, p.last_event_id().map(str::to_owned))
        };
        let (ev, last) = next(b"id: event-100\nevent: message\ndata: a\n\n");
        let ev = ev.unwrap();
        assert_eq!(
            (ev.id.as_deref(), ev.event.as_deref()),
            (Some("event-100"), Some("message"))
        );
        assert_eq!(last.as_deref(), Some("event-100"));
        // A shorter id after a longer one, and a block without an id, which keeps the last.
        let (ev, last) = next(b"id: 7\ndata: b\n\n");
        assert_eq!(
            (ev.unwrap().id.as_deref(), last.as_deref()),
            (Some("7"), Some("7"))
        );
        let (ev, last) = next(b"data: c\n\n");
        assert_eq!((ev.unwrap().id, last.as_deref()), (None, Some("7")));
        // Invalid UTF-8 is repaired, as before.
        let (ev, last) = next(b"id: bad\xFFid\nevent: t\xFE\ndata: d\n\n");
        let ev = ev.unwrap();
        assert_eq!(ev.id.as_deref(), Some("bad\u{FFFD}id"));
        assert_eq!(ev.event.as_deref(), Some("t\u{FFFD}"));
        assert_eq!(last.as_deref(), Some("bad\u{FFFD}id"));
    }

    #[test]
    fn a_lone_byte_order_mark_line_is_not_a_panic() {
        let mut p = SseParser::new(100);
        p.push(b"\xEF\xBB\xBF\ndata: x\n\n");
        let events = all(&mut p);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].as_ref().unwrap().data.as_deref(), Some("x"));
    }

    #[test]
    fn a_long_line_in_many_chunks_is_found_once_complete() {
        let mut p = SseParser::new(1 << 20);
        let data = "y".repeat(200_000);
        let input = format!("data: {data}\r\n\r\n");
        for chunk in input.as_bytes().chunks(1000) {
            p.push(chunk);
            if let Some(ev) = p.next_event() {
                assert_eq!(ev.unwrap().data.as_deref(), Some(data.as_str()));
                return;
            }
        }
        panic!("no event");
    }

    #[test]
    fn byte_by_byte_equals_whole() {
        let input = b"\xEF\xBB\xBFevent: endpoint\ndata: /messages?s=1\n\n: keepalive\n\nid: a\ndata: x\rdata: y\r\n\r\n";
        let mut whole = SseParser::new(1000);
        whole.push(input);
        let expected = all(&mut whole);
        let mut bytes = SseParser::new(1000);
        let mut got = Vec::new();
        for b in input {
            bytes.push(&[*b]);
            got.extend(all(&mut bytes));
        }
        assert_eq!(got, expected);
        assert_eq!(expected.len(), 2);
        let first = expected[0].as_ref().unwrap();
        assert_eq!(first.event.as_deref(), Some("endpoint"));
        assert_eq!(first.data.as_deref(), Some("/messages?s=1"));
        let second = expected[1].as_ref().unwrap();
        assert_eq!(second.data.as_deref(), Some("x\ny"));
        assert!(second.is_message());
    }

    #[test]
    fn empty_data_and_id_only_blocks() {
        let mut p = SseParser::new(100);
        p.push(b"data\n\nid\n\nretry: x\n\n");
        let evs = all(&mut p);
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].as_ref().unwrap().data.as_deref(), Some(""));
        assert_eq!(evs[1].as_ref().unwrap().id.as_deref(), Some(""));
        assert_eq!(p.last_event_id(), Some(""));
    }

    #[test]
    fn oversized_event_is_skipped_and_parsing_resumes() {
        let mut p = SseParser::new(50);
        p.push(b"data: ");
        p.push(&[b'x'; 100]);
        match p.next_event() {
            Some(Err(e)) => {
                assert_eq!(e.limit, 50);
                assert!(e.data_prefix.iter().all(|b| *b == b'x') && !e.data_prefix.is_empty());
            }
            other => panic!("{other:?}"),
        }
        p.push(&[b'x'; 100]);
        assert_eq!(p.next_event(), None);
        p.push(b"\n\ndata: ok\n\n");
        let ev = p.next_event().unwrap().unwrap();
        assert_eq!(ev.data.as_deref(), Some("ok"));
        assert!(p.buf.capacity() < 1000);
    }

    #[test]
    fn id_with_nul_is_ignored_and_unterminated_block_dropped() {
        let mut p = SseParser::new(100);
        p.push(b"id: a\0b\ndata: 1\n\ndata: partial");
        let ev = p.next_event().unwrap().unwrap();
        assert_eq!(ev.id, None);
        assert!(p.next_event().is_none());
        p.finish();
        assert!(p.next_event().is_none());
    }
}
