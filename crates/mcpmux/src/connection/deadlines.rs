//! Request deadlines of one connection, kept by its task: one timer for all requests instead of
//! a `tokio::time::Sleep` per call.
//!
//! Nearly every request uses the connection's default timeout, so deadlines arrive in order:
//! they go to a FIFO (O(1) in and out). A deadline earlier than the FIFO's last (a shorter
//! per-request timeout) goes to a sorted set instead. Answered requests leave the FIFO lazily:
//! the front is trimmed whenever a request ends, and the whole queue is compacted when dead
//! entries outnumber live ones, so its size stays proportional to the requests in flight.
//! (A `BTreeSet` for everything cost 8 % of the client's CPU at 10,000 calls in flight; see
//! BENCHMARKS.md.)

use std::collections::{BTreeSet, VecDeque};

use tokio::time::Instant;

/// Deadlines by request id; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct Deadlines {
    /// Non-decreasing deadlines; may hold ids that already ended.
    fifo: VecDeque<(Instant, u64)>,
    /// Deadlines that arrived out of order; removed eagerly.
    sorted: BTreeSet<(Instant, u64)>,
}

impl Deadlines {
    /// Adds request `id`'s deadline.
    pub(crate) fn insert(&mut self, deadline: Instant, id: u64) {
        match self.fifo.back() {
            Some(&(last, _)) if deadline < last => {
                self.sorted.insert((deadline, id));
            }
            _ => self.fifo.push_back((deadline, id)),
        }
    }

    /// Request `id` ended (answered, failed or cancelled); `live` says which ids are still
    /// waiting and `in_flight` how many there are.
    pub(crate) fn remove(
        &mut self,
        deadline: Instant,
        id: u64,
        in_flight: usize,
        live: impl Fn(u64) -> bool,
    ) {
        if !self.sorted.is_empty() && self.sorted.remove(&(deadline, id)) {
            return;
        }
        // Bounded by the queue's length; each iteration removes one entry.
        while let Some(&(_, front)) = self.fifo.front() {
            if front != id && live(front) {
                break;
            }
            self.fifo.pop_front();
        }
        if self.fifo.len() > 2 * in_flight + 64 {
            self.fifo.retain(|&(_, i)| i != id && live(i));
        }
    }

    /// The earliest deadline (possibly of a request that already ended: the timer then fires
    /// once for nothing).
    pub(crate) fn first(&self) -> Option<Instant> {
        match (self.fifo.front(), self.sorted.first()) {
            (Some(&(a, _)), Some(&(b, _))) => Some(a.min(b)),
            (Some(&(a, _)), None) => Some(a),
            (None, Some(&(b, _))) => Some(b),
            (None, None) => None,
        }
    }

    /// Removes and returns the id of one deadline at or before `now`, earliest first.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<u64> {
        let from_fifo = match (self.fifo.front(), self.sorted.first()) {
            (Some(&(a, _)), Some(&(b, _))) => a <= b,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return None,
        };
        if from_fifo {
            match self.fifo.front() {
                Some(&(d, id)) if d <= now => {
                    self.fifo.pop_front();
                    Some(id)
                }
                _ => None,
            }
        } else {
            match self.sorted.first() {
                Some(&(d, id)) if d <= now => {
                    self.sorted.pop_first();
                    Some(id)
                }
                _ => None,
            }
        }
    }

    /// Entries held (live or not yet trimmed).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.fifo.len() + self.sorted.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::time::Duration;

    #[test]
    fn expire_in_deadline_order_across_both_queues() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut d = Deadlines::default();
        d.insert(ms(100), 1);
        d.insert(ms(200), 2);
        d.insert(ms(50), 3); // out of order: the sorted set
        d.insert(ms(300), 4);
        d.insert(ms(150), 5);
        assert_eq!(d.first(), Some(ms(50)));
        let mut order = Vec::new();
        while let Some(id) = d.pop_expired(ms(250)) {
            order.push(id);
        }
        assert_eq!(order, vec![3, 1, 5, 2]);
        assert_eq!(d.first(), Some(ms(300)));
        assert_eq!(d.pop_expired(ms(299)), None);
        assert_eq!(d.pop_expired(ms(300)), Some(4));
        assert_eq!(d.first(), None);
    }

    #[test]
    fn ended_requests_do_not_accumulate() {
        let t0 = Instant::now();
        let mut d = Deadlines::default();
        let mut live: HashSet<u64> = HashSet::new();
        // One request that never ends at the front, then 100,000 that end in turn.
        d.insert(t0, 0);
        live.insert(0);
        for id in 1..100_000u64 {
            let at = t0 + Duration::from_micros(id);
            d.insert(at, id);
            live.insert(id);
            live.remove(&id);
            d.remove(at, id, live.len(), |i| live.contains(&i));
            assert!(d.len() <= 2 * live.len() + 66, "{} entries", d.len());
        }
        assert_eq!(d.pop_expired(t0), Some(0));
    }

    #[test]
    fn removing_an_out_of_order_deadline_removes_it_from_the_sorted_set() {
        let t0 = Instant::now();
        let mut d = Deadlines::default();
        d.insert(t0 + Duration::from_secs(10), 1);
        d.insert(t0 + Duration::from_secs(1), 2);
        d.remove(t0 + Duration::from_secs(1), 2, 1, |i| i == 1);
        assert_eq!(d.first(), Some(t0 + Duration::from_secs(10)));
    }
}
