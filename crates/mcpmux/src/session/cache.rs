//! Cached list results, refreshed single-flight and dropped by the matching `list_changed`.
//!
//! One refresh runs at a time: concurrent callers wait for it instead of each sending their own
//! list request (the Python SDK sends N `tools/list` for N concurrent first calls). A refresh that
//! an invalidation overtook is returned to its callers but not stored.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use mcpmux_protocol::{Prompt, Resource, Tool};

use crate::error::{Error, Result};

/// A cached value and how long it stays fresh.
#[derive(Debug)]
struct Entry<T> {
    value: Arc<T>,
    /// `None`: until invalidated by a `list_changed` (servers without `ttlMs`).
    fresh_until: Option<Instant>,
}

impl<T> Entry<T> {
    fn is_fresh(&self) -> bool {
        self.fresh_until.is_none_or(|t| Instant::now() < t)
    }
}

/// One cached value with single-flight refresh, fresh until invalidated or until its `ttlMs`
/// runs out (2026-07-28 caching hints: `ttlMs: 0` means re-fetch every time).
///
/// Callers that arrive while a fetch is in flight share its result even when it is stale at
/// once (`ttlMs: 0`): without that, N concurrent callers of a server that forbids caching
/// would send N list requests one after another, each waiting for the previous.
#[derive(Debug)]
pub(crate) struct ListCache<T> {
    value: Mutex<Option<Entry<T>>>,
    refresh: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    /// The last completed fetch, for the callers that waited for it.
    fetched: Mutex<Option<Fetched<T>>>,
    /// How many fetches have completed.
    completed: AtomicU64,
}

/// A completed fetch: its number, the invalidation generation it started in, and its value.
#[derive(Debug)]
struct Fetched<T> {
    seq: u64,
    generation: u64,
    value: Arc<T>,
}

impl<T> Default for ListCache<T> {
    fn default() -> Self {
        ListCache {
            value: Mutex::new(None),
            refresh: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            fetched: Mutex::new(None),
            completed: AtomicU64::new(0),
        }
    }
}

impl<T> ListCache<T> {
    fn current(&self) -> Option<Arc<T>> {
        self.value
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|e| e.is_fresh())
            .map(|e| e.value.clone())
    }

    /// The last value, fresh or not (for uses where stale data is good enough).
    pub(crate) fn last(&self) -> Option<Arc<T>> {
        self.value
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|e| e.value.clone())
    }

    /// The cached value if fresh, without fetching.
    pub(crate) fn peek(&self) -> Option<Arc<T>> {
        self.current()
    }

    /// The cached value, or one fetched now (by one caller; the others wait for it), fresh
    /// until invalidated.
    #[cfg(test)]
    pub(crate) async fn get_or_fetch<F, Fut>(&self, fetch: F) -> Result<Arc<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        self.get_or_fetch_ttl(|| async { Ok((fetch().await?, None)) })
            .await
    }

    /// As [`get_or_fetch`](Self::get_or_fetch), with a freshness lifetime from the fetch
    /// (`Some(ZERO)`: stale at once, kept only for [`last`](Self::last) and for the callers
    /// that waited for this fetch).
    pub(crate) async fn get_or_fetch_ttl<F, Fut>(&self, fetch: F) -> Result<Arc<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(T, Option<Duration>)>>,
    {
        if let Some(v) = self.current() {
            return Ok(v);
        }
        let arrived = (
            self.completed.load(Ordering::Acquire),
            self.generation.load(Ordering::Acquire),
        );
        let _flight = self.refresh.lock().await;
        if let Some(v) = self.current() {
            return Ok(v);
        }
        if let Some(v) = self.fetched_since(arrived) {
            return Ok(v);
        }
        let generation = self.generation.load(Ordering::Acquire);
        let (value, ttl) = fetch().await?;
        let fresh = Arc::new(value);
        let seq = self.completed.load(Ordering::Acquire) + 1;
        *self.fetched.lock().unwrap_or_else(PoisonError::into_inner) = Some(Fetched {
            seq,
            generation,
            value: fresh.clone(),
        });
        self.completed.store(seq, Ordering::Release);
        if self.generation.load(Ordering::Acquire) == generation {
            let fresh_until = ttl.map(|d| Instant::now() + d);
            *self.value.lock().unwrap_or_else(PoisonError::into_inner) = Some(Entry {
                value: fresh.clone(),
                fresh_until,
            });
        }
        Ok(fresh)
    }

    /// The value of a fetch that completed after a caller arrived (`arrived`: the completed
    /// count and the invalidation generation then), unless it started before an invalidation
    /// that the caller had already seen. Only called under the refresh lock, so no fetch is in
    /// flight.
    fn fetched_since(&self, arrived: (u64, u64)) -> Option<Arc<T>> {
        let fetched = self.fetched.lock().unwrap_or_else(PoisonError::into_inner);
        fetched
            .as_ref()
            .filter(|f| f.seq > arrived.0 && f.generation >= arrived.1)
            .map(|f| f.value.clone())
    }

    /// Drops the cached value (a `list_changed` arrived).
    pub(crate) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        *self.value.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// The tools of a connection, with compiled output-schema validators (compiled on first use).
#[derive(Debug)]
pub(crate) struct ToolIndex {
    pub(crate) tools: Vec<Tool>,
    by_name: HashMap<String, usize>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

impl ToolIndex {
    pub(crate) fn new(tools: Vec<Tool>) -> Self {
        let by_name = tools
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        ToolIndex {
            tools,
            by_name,
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// A fresh list that keeps the compiled validators of `previous` for every tool whose
    /// output schema did not change (a server that forbids caching sends the same list again
    /// and again; compiling its schemas each time would cost more than the call).
    pub(crate) fn refreshed(tools: Vec<Tool>, previous: Option<&ToolIndex>) -> Self {
        let index = ToolIndex::new(tools);
        let Some(previous) = previous else {
            return index;
        };
        let old = previous
            .validators
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let kept: HashMap<String, Arc<jsonschema::Validator>> = old
            .iter()
            .filter(|(name, _)| {
                let now = index.get(name).and_then(|t| t.output_schema.as_ref());
                let then = previous.get(name).and_then(|t| t.output_schema.as_ref());
                now.is_some() && now == then
            })
            .map(|(name, v)| (name.clone(), v.clone()))
            .collect();
        drop(old);
        *index
            .validators
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = kept;
        index
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Tool> {
        self.by_name.get(name).map(|&i| &self.tools[i])
    }

    /// The compiled output schema of `name`, if it has one.
    pub(crate) fn output_validator(
        &self,
        name: &str,
    ) -> Result<Option<Arc<jsonschema::Validator>>> {
        let Some(schema) = self.get(name).and_then(|t| t.output_schema.as_ref()) else {
            return Ok(None);
        };
        let mut cache = self
            .validators
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(v) = cache.get(name) {
            return Ok(Some(v.clone()));
        }
        let v = Arc::new(jsonschema::validator_for(schema).map_err(|e| {
            Error::protocol(format!("tool {name:?} has an invalid outputSchema: {e}"))
        })?);
        cache.insert(name.to_owned(), v.clone());
        Ok(Some(v))
    }
}

/// The list caches of one connection.
#[derive(Debug, Default)]
pub(crate) struct Caches {
    pub(crate) tools: ListCache<ToolIndex>,
    pub(crate) resources: ListCache<Vec<Resource>>,
    pub(crate) prompts: ListCache<Vec<Prompt>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn concurrent_first_calls_fetch_once() {
        let cache: Arc<ListCache<u32>> = Arc::new(ListCache::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let (cache, fetches) = (cache.clone(), fetches.clone());
            set.spawn(async move {
                cache
                    .get_or_fetch(|| async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        Ok(7)
                    })
                    .await
                    .unwrap()
            });
        }
        while let Some(v) = set.join_next().await {
            assert_eq!(*v.unwrap(), 7);
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        cache.invalidate();
        let v = cache.get_or_fetch(|| async { Ok(8) }).await.unwrap();
        assert_eq!(*v, 8);
    }

    /// Concurrent callers of a list that is stale at once (`ttlMs: 0`) share the fetch in
    /// flight when they arrived, instead of each fetching after the other; a caller that
    /// arrives after it has completed fetches again.
    #[tokio::test]
    async fn ttl_zero_concurrent_callers_share_one_fetch() {
        let cache: Arc<ListCache<usize>> = Arc::new(ListCache::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        // Fetches wait here until every caller has arrived (a current-thread runtime: each
        // spawned caller runs until it waits, on the gate or on the refresh lock).
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let (cache, fetches, gate) = (cache.clone(), fetches.clone(), gate.clone());
            set.spawn(async move {
                cache
                    .get_or_fetch_ttl(|| async {
                        let n = fetches.fetch_add(1, Ordering::SeqCst) + 1;
                        let _pass = gate.acquire().await;
                        Ok((n, Some(Duration::ZERO)))
                    })
                    .await
                    .unwrap()
            });
            tokio::task::yield_now().await;
        }
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        gate.add_permits(1_000);
        while let Some(v) = set.join_next().await {
            assert_eq!(*v.unwrap(), 1, "every caller got the first fetch");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        let later = cache
            .get_or_fetch_ttl(|| async { Ok((2, Some(Duration::ZERO))) })
            .await
            .unwrap();
        assert_eq!(
            *later, 2,
            "a caller after the fetch completed fetches again"
        );
    }

    /// A fetch that started before an invalidation is not handed to a caller that arrived
    /// after it.
    #[tokio::test]
    async fn a_fetch_overtaken_by_an_invalidation_is_not_shared_with_later_callers() {
        let cache: ListCache<u32> = ListCache::default();
        let old = cache.fetched_since((0, 0));
        assert!(old.is_none());
        cache
            .get_or_fetch_ttl(|| async { Ok((1, Some(Duration::ZERO))) })
            .await
            .unwrap();
        assert_eq!(cache.fetched_since((0, 0)).as_deref(), Some(&1));
        cache.invalidate();
        assert!(
            cache.fetched_since((0, 1)).is_none(),
            "fetched in generation 0, the caller saw generation 1"
        );
        assert!(
            cache.fetched_since((1, 0)).is_none(),
            "no fetch completed since the caller arrived"
        );
    }

    #[tokio::test]
    async fn ttl_zero_is_refetched_and_positive_ttl_expires() {
        let cache: ListCache<u32> = ListCache::default();
        let v = cache
            .get_or_fetch_ttl(|| async { Ok((1, Some(Duration::ZERO))) })
            .await
            .unwrap();
        assert_eq!(*v, 1);
        assert!(cache.peek().is_none(), "ttl 0 is immediately stale");
        assert_eq!(cache.last().as_deref(), Some(&1));
        cache
            .get_or_fetch_ttl(|| async { Ok((2, Some(Duration::from_secs(60)))) })
            .await
            .unwrap();
        assert_eq!(cache.peek().as_deref(), Some(&2));
        cache
            .get_or_fetch_ttl(|| async { Ok((3, Some(Duration::from_millis(30)))) })
            .await
            .unwrap();
        assert_eq!(
            cache.peek().as_deref(),
            Some(&2),
            "still fresh: not refetched"
        );
        cache.invalidate();
        cache
            .get_or_fetch_ttl(|| async { Ok((3, Some(Duration::from_millis(30)))) })
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert!(
            cache.peek().is_none(),
            "a 30 ms ttl has expired after 40 ms"
        );
    }
}
