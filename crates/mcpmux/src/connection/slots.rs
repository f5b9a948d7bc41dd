//! Completion slots: how a request's outcome travels from the connection task to its caller.
//!
//! One slab per connection instead of a `tokio::sync::oneshot` per request: a caller takes a
//! slot when it queues its request ([`Slots::channel`]) and polls it ([`ReplyRx`]); the task
//! fills it ([`ReplyTx::send`]) and wakes the caller. No allocation per request once the slab
//! has grown to the number in flight, and one uncontended lock per step instead of the
//! channel's handshake. A slot's generation changes whenever it is freed, so a late outcome
//! for a caller that has gone (cancelled, timed out) can never reach the slot's next owner.
//!
//! As with a channel, a sender dropped without sending (the task ended without answering)
//! completes the slot with `None`, which the caller reports as a closed connection.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use super::Outcome;

/// A slot's place and generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    index: u32,
    generation: u32,
}

#[derive(Debug)]
enum State {
    /// Nobody's (on the free list).
    Free,
    /// Taken, not answered: who to wake.
    Waiting(Option<Waker>),
    /// Answered (`None`: the sender went away without an outcome).
    Done(Option<Outcome>),
}

#[derive(Debug)]
struct Entry {
    generation: u32,
    state: State,
}

#[derive(Debug, Default)]
struct Inner {
    entries: Vec<Entry>,
    /// Indices of free entries.
    free: Vec<u32>,
}

impl Inner {
    /// The entry of `key`, if the slot still belongs to it.
    fn get(&mut self, key: Key) -> Option<&mut Entry> {
        self.entries
            .get_mut(key.index as usize)
            .filter(|e| e.generation == key.generation && !matches!(e.state, State::Free))
    }

    /// Frees the slot of `key`; returns what it held (dropped by the caller, outside the lock).
    fn release(&mut self, key: Key) -> Option<State> {
        let entry = self.get(key)?;
        entry.generation = entry.generation.wrapping_add(1);
        let state = std::mem::replace(&mut entry.state, State::Free);
        self.free.push(key.index);
        Some(state)
    }
}

/// One connection's completion slots.
#[derive(Debug, Default)]
pub(crate) struct Slots {
    inner: Mutex<Inner>,
}

impl Slots {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing here panics while holding the lock; a poisoned lock's data is still whole.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a slot: the sender goes with the request to the connection task, the receiver
    /// stays with the caller.
    pub(crate) fn channel(self: &Arc<Self>) -> (ReplyTx, ReplyRx<'_>) {
        let key = {
            let mut inner = self.lock();
            match inner.free.pop() {
                Some(index) => {
                    let entry = &mut inner.entries[index as usize];
                    entry.state = State::Waiting(None);
                    Key {
                        index,
                        generation: entry.generation,
                    }
                }
                None => {
                    // More than 2^32 requests in flight cannot happen (each holds memory).
                    let index = u32::try_from(inner.entries.len()).unwrap_or(u32::MAX);
                    inner.entries.push(Entry {
                        generation: 0,
                        state: State::Waiting(None),
                    });
                    Key {
                        index,
                        generation: 0,
                    }
                }
            }
        };
        (
            ReplyTx {
                slots: Some(self.clone()),
                key,
            },
            ReplyRx {
                slots: self,
                key,
                done: false,
            },
        )
    }

    /// Completes `key` with `outcome` and wakes its caller; `false` if the caller is gone.
    fn complete(&self, key: Key, outcome: Option<Outcome>) -> bool {
        let mut inner = self.lock();
        let Some(entry) = inner.get(key) else {
            drop(inner);
            drop(outcome);
            return false;
        };
        let previous = std::mem::replace(&mut entry.state, State::Done(outcome));
        drop(inner);
        if let State::Waiting(Some(waker)) = previous {
            waker.wake();
        }
        true
    }
}

/// The connection task's end of a slot: [`send`](Self::send) the outcome once. Dropped
/// unsent, it completes the slot with `None` (the caller sees a closed connection).
#[derive(Debug)]
pub(crate) struct ReplyTx {
    /// `None` once sent.
    slots: Option<Arc<Slots>>,
    key: Key,
}

impl ReplyTx {
    /// Hands the outcome to the caller; `false` (the outcome dropped) if it is gone.
    pub(crate) fn send(mut self, outcome: Outcome) -> bool {
        match self.slots.take() {
            Some(slots) => slots.complete(self.key, Some(outcome)),
            None => false,
        }
    }

    /// Whether the caller has gone (dropped its receiver).
    pub(crate) fn is_closed(&self) -> bool {
        self.slots
            .as_ref()
            .is_none_or(|slots| slots.lock().get(self.key).is_none())
    }
}

impl Drop for ReplyTx {
    fn drop(&mut self) {
        if let Some(slots) = self.slots.take() {
            slots.complete(self.key, None);
        }
    }
}

/// The caller's end of a slot: a future of the outcome (`None`: the connection task went away
/// without one). Dropping it frees the slot; an outcome sent later is dropped.
#[derive(Debug)]
pub(crate) struct ReplyRx<'a> {
    slots: &'a Slots,
    key: Key,
    /// The outcome was taken (the slot is freed).
    done: bool,
}

impl Future for ReplyRx<'_> {
    type Output = Option<Outcome>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Outcome>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let mut inner = this.slots.lock();
        let Some(entry) = inner.get(this.key) else {
            // Cannot happen (only this receiver frees the slot); read as a lost sender.
            this.done = true;
            return Poll::Ready(None);
        };
        match &mut entry.state {
            State::Waiting(waker) => {
                match waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => *waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            State::Done(_) | State::Free => {
                let state = inner.release(this.key);
                drop(inner);
                this.done = true;
                Poll::Ready(match state {
                    Some(State::Done(outcome)) => outcome,
                    _ => None,
                })
            }
        }
    }
}

impl Drop for ReplyRx<'_> {
    fn drop(&mut self) {
        if !self.done {
            let state = self.slots.lock().release(self.key);
            drop(state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use std::task::Wake;

    struct Count(std::sync::atomic::AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn poll(rx: &mut ReplyRx<'_>, waker: &Waker) -> Poll<Option<Outcome>> {
        Pin::new(rx).poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn an_outcome_reaches_its_caller_and_wakes_it() {
        let slots = Arc::new(Slots::default());
        let count = Arc::new(Count(0.into()));
        let waker = Waker::from(count.clone());
        let (tx, mut rx) = slots.channel();
        assert!(poll(&mut rx, &waker).is_pending());
        assert!(!tx.is_closed());
        assert!(tx.send(Outcome::TimedOut));
        assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(matches!(
            poll(&mut rx, &waker),
            Poll::Ready(Some(Outcome::TimedOut))
        ));
        // The slot is reused, under a new generation.
        drop(rx);
        let (tx2, mut rx2) = slots.channel();
        assert_eq!(slots.lock().entries.len(), 1);
        drop(tx2);
        assert!(matches!(poll(&mut rx2, &waker), Poll::Ready(None)));
    }

    #[test]
    fn a_gone_caller_never_receives_and_its_slot_is_not_confused_with_the_next() {
        let slots = Arc::new(Slots::default());
        let waker = Waker::from(Arc::new(Count(0.into())));
        let (old_tx, old_rx) = slots.channel();
        drop(old_rx);
        assert!(old_tx.is_closed());
        // The next request takes the same slot; the old sender's late outcome is dropped.
        let (tx, mut rx) = slots.channel();
        assert!(!old_tx.send(Outcome::Err(Error::protocol("late"))));
        assert!(poll(&mut rx, &waker).is_pending());
        // A sender dropped unsent reads as a closed connection.
        drop(tx);
        assert!(matches!(poll(&mut rx, &waker), Poll::Ready(None)));
        assert!(matches!(poll(&mut rx, &waker), Poll::Ready(None)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_callers_across_threads_each_get_their_own_outcome() {
        let slots = Arc::new(Slots::default());
        let mut senders = Vec::new();
        let mut waiting = Vec::new();
        for i in 0..1_000u32 {
            let slots = slots.clone();
            let (tx_tx, tx_rx) = tokio::sync::oneshot::channel();
            waiting.push(tokio::spawn(async move {
                let (tx, rx) = slots.channel();
                let _ = tx_tx.send(tx);
                match rx.await {
                    Some(Outcome::Rpc(e)) => e.code == i64::from(i),
                    _ => false,
                }
            }));
            senders.push((i, tx_rx));
        }
        for (i, tx) in senders.into_iter().rev() {
            let Ok(tx) = tx.await else {
                panic!("no sender")
            };
            tx.send(Outcome::Rpc(mcpmux_protocol::ErrorObject {
                code: i64::from(i),
                message: "done".into(),
                data: None,
            }));
        }
        for w in waiting {
            assert!(w.await.unwrap_or(false));
        }
    }
}
