//! The outbox: plain requests written by their callers straight into the connection's next
//! write (stdio), instead of one allocated frame and one channel message per request.
//!
//! A caller encodes its request into a reusable buffer of its thread, then, under the outbox's
//! lock, appends the line to the outbox's chunks and a small record (id, completion slot,
//! timeout) to its queue. Only the first request after a drain wakes the connection task, with
//! [`Command::Flush`](super::Command::Flush); the task takes the chunks and the records in one
//! step, registers the requests, and queues the chunks on the transport as they are (no copy).
//! Chunks have a fixed size (the transport's coalescing size), so a burst of requests fills
//! more of them instead of growing one buffer by reallocation.
//!
//! Order: the task drains the outbox before it handles any command, so a request pushed before
//! a command was sent (a cancellation, a notification) is registered and written before that
//! command is handled, as if both had gone through the channel.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::slots::ReplyTx;
use crate::transport::stdio::COALESCE;

/// Requests at least this long go through the command channel with their own frame: no copy
/// into a chunk, and no caller holds the lock for long.
pub(crate) const LARGE_REQUEST: usize = 8 * 1024;

/// A queued request: what the task registers before its bytes are written.
#[derive(Debug)]
pub(super) struct Queued {
    pub(super) id: u64,
    pub(super) reply: ReplyTx,
    pub(super) timeout: Duration,
}

#[derive(Debug, Default)]
struct Inner {
    /// Lines, in order; each chunk has room for [`COALESCE`] bytes.
    chunks: Vec<Vec<u8>>,
    queued: Vec<Queued>,
    /// A [`Command::Flush`](super::Command::Flush) is on its way since the last drain.
    flush_sent: bool,
    closed: bool,
}

/// One connection's outbox (stdio connections have one).
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    inner: Mutex<Inner>,
}

/// What [`Outbox::push`] did.
#[derive(Debug)]
pub(super) enum Pushed {
    /// Queued; the caller must send [`Command::Flush`](super::Command::Flush) (the first
    /// request since the last drain).
    Wake,
    /// Queued; a flush is already on its way.
    Queued,
    /// The connection is closed: nothing was queued (the slot is handed back, to be dropped
    /// outside the lock).
    Closed(ReplyTx),
}

impl Outbox {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing here panics while holding the lock; a poisoned lock's data is still whole.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends request `id`'s line (ending in `\n`, shorter than [`LARGE_REQUEST`]).
    pub(super) fn push(&self, id: u64, line: &[u8], reply: ReplyTx, timeout: Duration) -> Pushed {
        let mut inner = self.lock();
        if inner.closed {
            return Pushed::Closed(reply);
        }
        match inner.chunks.last_mut() {
            Some(last) if last.capacity() - last.len() >= line.len() => {
                last.extend_from_slice(line);
            }
            _ => {
                let mut chunk = Vec::with_capacity(COALESCE.max(line.len()));
                chunk.extend_from_slice(line);
                inner.chunks.push(chunk);
            }
        }
        inner.queued.push(Queued { id, reply, timeout });
        if std::mem::replace(&mut inner.flush_sent, true) {
            Pushed::Queued
        } else {
            Pushed::Wake
        }
    }

    /// Takes what is queued, if anything: swaps the outbox's chunks with `chunks` (which
    /// should hold one empty chunk for the next requests) and its records with `records`
    /// (which must be empty). `false` when nothing was queued (nothing swapped).
    pub(super) fn take(&self, chunks: &mut Vec<Vec<u8>>, records: &mut Vec<Queued>) -> bool {
        let mut inner = self.lock();
        inner.flush_sent = false;
        if inner.queued.is_empty() {
            return false;
        }
        std::mem::swap(&mut inner.queued, records);
        std::mem::swap(&mut inner.chunks, chunks);
        true
    }

    /// Closes the outbox: later pushes fail; returns the requests still queued.
    pub(super) fn close(&self) -> Vec<Queued> {
        let mut inner = self.lock();
        inner.closed = true;
        inner.chunks = Vec::new();
        std::mem::take(&mut inner.queued)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::connection::slots::Slots;

    #[test]
    fn the_first_push_after_a_drain_wakes_the_task_and_a_drain_takes_everything_in_order() {
        let slots = Arc::new(Slots::default());
        let outbox = Outbox::default();
        let t = Duration::from_secs(1);
        let (a, _ra) = slots.channel();
        let (b, _rb) = slots.channel();
        assert!(matches!(outbox.push(1, b"one\n", a, t), Pushed::Wake));
        assert!(matches!(outbox.push(2, b"two\n", b, t), Pushed::Queued));
        let (mut chunks, mut records) = (vec![Vec::with_capacity(COALESCE)], Vec::new());
        assert!(outbox.take(&mut chunks, &mut records));
        assert_eq!(chunks, [b"one\ntwo\n".to_vec()]);
        let ids: Vec<u64> = records.iter().map(|q| q.id).collect();
        assert_eq!(ids, [1, 2]);
        // Drained: empty, and the next push wakes again (into the chunk handed in).
        assert!(!outbox.take(&mut Vec::new(), &mut Vec::new()));
        let (c, _rc) = slots.channel();
        assert!(matches!(outbox.push(3, b"three\n", c, t), Pushed::Wake));
        let left = outbox.close();
        assert_eq!(left.len(), 1);
        let (d, _rd) = slots.channel();
        assert!(matches!(outbox.push(4, b"four\n", d, t), Pushed::Closed(_)));
    }

    #[test]
    fn a_burst_fills_chunks_of_the_coalescing_size_in_order() {
        let slots = Arc::new(Slots::default());
        let outbox = Outbox::default();
        let line = [b'x'; 999];
        let mut receivers = Vec::new();
        for id in 0..200 {
            let (tx, rx) = slots.channel();
            receivers.push(rx);
            outbox.push(id, &line, tx, Duration::from_secs(1));
        }
        let (mut chunks, mut records) = (Vec::new(), Vec::new());
        assert!(outbox.take(&mut chunks, &mut records));
        assert_eq!(records.len(), 200);
        assert!(
            chunks
                .iter()
                .all(|c| c.capacity() == COALESCE && c.len() % 999 == 0)
        );
        assert_eq!(chunks.iter().map(Vec::len).sum::<usize>(), 200 * 999);
        assert_eq!(
            chunks.len(),
            (200 * 999_usize).div_ceil(COALESCE / 999 * 999)
        );
    }
}
