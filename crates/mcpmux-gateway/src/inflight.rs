//! The requests of one client session that are running, each in its own task: found by request
//! id to cancel it (`notifications/cancelled`), by the task numbers a transport got when it
//! started them (an HTTP client that went away), or all at once (the session ends).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use mcpmux_protocol::RequestId;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::{AbortHandle, JoinHandle};

/// A running task's number in its session's [`InFlight`].
pub(crate) type TaskNo = u64;

/// The running tasks of one session.
#[derive(Debug)]
pub(crate) struct InFlight {
    table: Mutex<Table>,
    /// Woken when the last task ends.
    idle: Notify,
    /// At most this many requests run at once; the others wait for a permit.
    limit: Option<Arc<Semaphore>>,
}

#[derive(Debug, Default)]
struct Table {
    next: TaskNo,
    tasks: HashMap<TaskNo, Entry>,
    by_request: HashMap<RequestId, TaskNo>,
    /// Set by [`InFlight::cancel_all`]: tasks started later are aborted at once.
    closed: bool,
}

#[derive(Debug)]
struct Entry {
    request: Option<RequestId>,
    abort: AbortHandle,
}

/// Removes its task's entry when the task ends, however it ends (also when it is aborted
/// before it first ran: the guard lives in the task's future).
struct Done {
    inflight: Arc<InFlight>,
    no: TaskNo,
}

impl Drop for Done {
    fn drop(&mut self) {
        let mut table = self.inflight.lock();
        if let Some(entry) = table.tasks.remove(&self.no)
            && let Some(id) = entry.request
            && table.by_request.get(&id) == Some(&self.no)
        {
            table.by_request.remove(&id);
        }
        if table.tasks.is_empty() {
            self.inflight.idle.notify_waiters();
        }
    }
}

impl InFlight {
    /// An empty table; with `limit`, at most that many requests of the session run at once
    /// (the others wait, in arrival order).
    pub(crate) fn new(limit: Option<usize>) -> Arc<InFlight> {
        Arc::new(InFlight {
            table: Mutex::new(Table::default()),
            idle: Notify::new(),
            limit: limit.map(|n| Arc::new(Semaphore::new(n.max(1)))),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `task` in its own tokio task, registered under `request` (if any) until it ends.
    /// A newer request with the same id takes the id over (the older one can then only be
    /// cancelled with the session).
    pub(crate) fn spawn<F>(
        self: &Arc<Self>,
        request: Option<RequestId>,
        task: F,
    ) -> (TaskNo, JoinHandle<F::Output>)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let mut table = self.lock();
        let no = table.next;
        table.next += 1;
        let done = Done {
            inflight: self.clone(),
            no,
        };
        // The table stays locked until the entry is in: the task's `Done` cannot remove it
        // before it is there.
        let handle = tokio::spawn(async move {
            let _done = done;
            task.await
        });
        if table.closed {
            handle.abort();
        }
        if let Some(id) = &request {
            table.by_request.insert(id.clone(), no);
        }
        table.tasks.insert(
            no,
            Entry {
                request,
                abort: handle.abort_handle(),
            },
        );
        (no, handle)
    }

    /// A permit to run one request (at once when the session has no limit).
    pub(crate) async fn permit(&self) -> Option<OwnedSemaphorePermit> {
        match &self.limit {
            Some(limit) => limit.clone().acquire_owned().await.ok(),
            None => None,
        }
    }

    /// Cancels the request with this id, if it runs (its future is dropped, which cancels its
    /// upstream call).
    pub(crate) fn cancel(&self, id: &RequestId) {
        let handle = {
            let table = self.lock();
            table
                .by_request
                .get(id)
                .and_then(|no| table.tasks.get(no))
                .map(|e| e.abort.clone())
        };
        if let Some(handle) = handle {
            tracing::debug!(%id, "request cancelled by the client");
            handle.abort();
        }
    }

    /// Cancels these tasks (those still running).
    pub(crate) fn cancel_tasks(&self, tasks: &[TaskNo]) {
        let handles: Vec<AbortHandle> = {
            let table = self.lock();
            tasks
                .iter()
                .filter_map(|no| table.tasks.get(no).map(|e| e.abort.clone()))
                .collect()
        };
        for handle in handles {
            handle.abort();
        }
    }

    /// Whether any of these tasks still runs.
    pub(crate) fn any_running(&self, tasks: &[TaskNo]) -> bool {
        let table = self.lock();
        tasks.iter().any(|no| table.tasks.contains_key(no))
    }

    /// Cancels every task, and every task started from now on.
    pub(crate) fn cancel_all(&self) {
        let handles: Vec<AbortHandle> = {
            let mut table = self.lock();
            table.closed = true;
            table.tasks.values().map(|e| e.abort.clone()).collect()
        };
        for handle in handles {
            handle.abort();
        }
    }

    /// How many tasks run.
    pub(crate) fn len(&self) -> usize {
        self.lock().tasks.len()
    }

    /// Waits until no task runs.
    pub(crate) async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.lock().tasks.is_empty() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn id(n: i64) -> RequestId {
        RequestId::Number(n)
    }

    #[tokio::test]
    async fn tasks_are_found_by_id_and_forgotten_when_they_end() {
        let inflight = InFlight::new(None);
        let (_, quick) = inflight.spawn(Some(id(1)), async { 1 });
        assert_eq!(quick.await.ok(), Some(1));
        let (no, slow) = inflight.spawn(Some(id(2)), std::future::pending::<()>());
        assert!(inflight.any_running(&[no]));
        inflight.cancel(&id(2));
        assert!(slow.await.is_err_and(|e| e.is_cancelled()));
        tokio::time::timeout(Duration::from_secs(5), inflight.idle())
            .await
            .ok();
        assert_eq!(inflight.len(), 0);
        assert!(!inflight.any_running(&[no]));
    }

    #[tokio::test]
    async fn cancel_all_also_stops_later_tasks() {
        let inflight = InFlight::new(None);
        let (_, a) = inflight.spawn(None, std::future::pending::<()>());
        let (no, b) = inflight.spawn(Some(id(7)), std::future::pending::<()>());
        inflight.cancel_tasks(&[no]);
        assert!(b.await.is_err());
        inflight.cancel_all();
        assert!(a.await.is_err());
        let (_, late) = inflight.spawn(None, async {});
        assert!(late.await.is_err_and(|e| e.is_cancelled()));
    }

    #[tokio::test]
    async fn the_limit_holds_requests_back() {
        let inflight = InFlight::new(Some(1));
        let first = inflight.permit().await;
        assert!(first.is_some());
        assert!(
            tokio::time::timeout(Duration::from_millis(50), inflight.permit())
                .await
                .is_err()
        );
        drop(first);
        assert!(inflight.permit().await.is_some());
        assert!(InFlight::new(None).permit().await.is_none());
    }
}
