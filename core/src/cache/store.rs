//! The two-tier response cache: a byte-bounded in-process tier with a TTL per entry, an
//! optional shared tier behind it, and request coalescing so N identical concurrent misses
//! cost one upstream call.

use std::future::Future;
use std::mem::size_of;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::sync::Cache;

use super::flight::{Flights, Joined, Waited};
use super::tier::{self, SharedCache};
use super::{CacheKey, CacheValue};
use crate::config::CacheSettings;

/// Where [`ResponseCache::get_or_fetch`]'s value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lookup {
    /// Already in process.
    Hit,
    /// Read from the shared tier (and promoted into process).
    Shared,
    /// Another caller was already fetching this key; this one waited for its answer. It
    /// caused no upstream call, so it counts as served by the cache.
    Coalesced,
    /// This caller's fetch ran: the one upstream call.
    Fetched,
}

impl Lookup {
    /// Whether the value was served without this caller causing an upstream call.
    pub fn is_cached(self) -> bool {
        !matches!(self, Lookup::Fetched)
    }
}

/// A cached value and the TTL it was stored with (each route has its own).
#[derive(Clone)]
struct Entry<V> {
    value: V,
    ttl: Duration,
}

impl<V: CacheValue> Entry<V> {
    /// What the byte bound counts: the value's heap plus the entry and key themselves.
    fn weight(&self) -> u32 {
        const FIXED: usize = size_of::<CacheKey>() + 2 * size_of::<usize>();
        let inline = u32::try_from(size_of::<Self>() + FIXED).unwrap_or(u32::MAX);
        self.value.weight_bytes().saturating_add(inline)
    }
}

/// Expires each entry after its own TTL; a re-insert restarts the clock with the new TTL.
struct PerEntryTtl;

impl<V> Expiry<CacheKey, Entry<V>> for PerEntryTtl {
    fn expire_after_create(
        &self,
        _key: &CacheKey,
        value: &Entry<V>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }

    fn expire_after_update(
        &self,
        _key: &CacheKey,
        value: &Entry<V>,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// Values of type `V` by [`CacheKey`]. Cheap to clone: clones share the same store.
///
/// The in-process tier is moka's sync cache: its operations never wait on anything but
/// its own short locks, so the async variant's extra machinery would buy nothing here.
#[derive(Clone)]
pub struct ResponseCache<V: CacheValue> {
    local: Cache<CacheKey, Entry<V>>,
    shared: Option<Arc<dyn SharedCache>>,
    max_bytes: u64,
    /// Fetches in flight, type-erased in their error so one store serves any caller.
    flights: Arc<Flights<V, FlightError>>,
}

/// A fetch's error as its waiters receive it: shared, since each waiter gets a clone.
type FlightError = Arc<dyn std::any::Any + Send + Sync>;

impl<V: CacheValue> std::fmt::Debug for ResponseCache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache")
            .field("max_bytes", &self.max_bytes)
            .field("entries", &self.local.entry_count())
            .field("weighted_size", &self.local.weighted_size())
            .field("shared_tier", &self.shared.is_some())
            .finish()
    }
}

impl<V: CacheValue> ResponseCache<V> {
    /// An in-process cache bounded to `settings.max_bytes` by [`CacheValue::weight_bytes`].
    pub fn new(settings: &CacheSettings) -> Self {
        let local = Cache::builder()
            .max_capacity(settings.max_bytes)
            .weigher(|_key: &CacheKey, entry: &Entry<V>| entry.weight())
            .expire_after(PerEntryTtl)
            .build();
        ResponseCache {
            local,
            shared: None,
            max_bytes: settings.max_bytes,
            flights: Arc::new(Flights::new()),
        }
    }

    /// Adds a second tier shared with other processes, read on an in-process miss.
    pub fn with_shared_tier(mut self, tier: Arc<dyn SharedCache>) -> Self {
        self.shared = Some(tier);
        self
    }

    /// The value under `key`: in process, else from the shared tier (promoting it into
    /// process for the TTL it has left).
    pub async fn get(&self, key: CacheKey) -> Option<V> {
        if let Some(entry) = self.local.get(&key) {
            tracing::trace!(%key, "cache hit");
            return Some(entry.value);
        }
        let entry = self.read_shared(key).await?;
        let value = entry.value.clone();
        self.store_local(key, entry);
        Some(value)
    }

    /// Stores `value` for `ttl` in process and in the shared tier. A zero TTL stores nothing;
    /// a value heavier than the whole bound skips the in-process tier.
    pub async fn insert(&self, key: CacheKey, value: V, ttl: Duration) {
        if ttl.is_zero() {
            return;
        }
        self.write_shared(key, &value, ttl).await;
        self.store_local(key, Entry { value, ttl });
    }

    /// Looks `key` up, or runs `fetch` once for all concurrent callers of the same key.
    ///
    /// N identical concurrent misses cause one fetch: the caller whose fetch ran gets
    /// [`Lookup::Fetched`], the others [`Lookup::Coalesced`] (they caused no upstream call).
    /// A failed fetch is not cached and every waiter gets a clone of its error; the next call
    /// fetches again. If the fetching caller is dropped (canceled), a waiter takes over with its
    /// own `fetch`, so nobody hangs. A caller that missed but then found the value stored by a
    /// concurrent call is reported as `Coalesced` too. A zero TTL neither reads, stores nor
    /// coalesces. Only the fetching caller writes the shared tier.
    pub async fn get_or_fetch<F, E>(
        &self,
        key: CacheKey,
        ttl: Duration,
        fetch: F,
    ) -> Result<(V, Lookup), E>
    where
        F: Future<Output = Result<V, E>> + Send,
        E: Clone + Send + Sync + 'static,
    {
        if ttl.is_zero() {
            return fetch.await.map(|value| (value, Lookup::Fetched));
        }
        loop {
            if let Some(entry) = self.local.get(&key) {
                tracing::trace!(%key, "cache hit");
                return Ok((entry.value, Lookup::Hit));
            }
            let flight = match self.flights.join(key) {
                Joined::Lead(leader) => {
                    // A flight that ended between the lookup above and the join left its
                    // value in the store: take it rather than fetch again.
                    if let Some(entry) = self.local.get(&key) {
                        leader.finish(&Ok(entry.value.clone()));
                        return Ok((entry.value, Lookup::Coalesced));
                    }
                    if let Some(entry) = self.read_shared(key).await {
                        let value = entry.value.clone();
                        self.store_local(key, entry);
                        leader.finish(&Ok(value.clone()));
                        return Ok((value, Lookup::Shared));
                    }
                    tracing::debug!(%key, "cache miss: fetching");
                    let result = fetch.await;
                    if let Ok(value) = &result {
                        self.write_shared(key, value, ttl).await;
                        self.store_local(
                            key,
                            Entry {
                                value: value.clone(),
                                ttl,
                            },
                        );
                    }
                    leader.finish(
                        &result
                            .as_ref()
                            .map(V::clone)
                            .map_err(|error| Arc::new(error.clone()) as FlightError),
                    );
                    return result.map(|value| (value, Lookup::Fetched));
                }
                Joined::Wait(flight) => flight,
            };
            match flight.wait().await {
                Waited::Done(Ok(value)) => return Ok((value, Lookup::Coalesced)),
                Waited::Done(Err(error)) => {
                    // Each caller's error type is its own; a key is fetched by one type.
                    if let Some(error) = error.downcast_ref::<E>() {
                        return Err(error.clone());
                    }
                    return fetch.await.map(|value| (value, Lookup::Fetched));
                }
                // The fetching caller was canceled: look again, and fetch if still missing.
                Waited::Abandoned => continue,
            }
        }
    }

    /// Bytes held in process by the [`CacheValue::weight_bytes`] measure, as of the last
    /// maintenance (see [`ResponseCache::run_pending_tasks`]).
    pub fn weighted_size(&self) -> u64 {
        self.local.weighted_size()
    }

    /// Entries held in process, as of the last maintenance.
    pub fn entry_count(&self) -> u64 {
        self.local.entry_count()
    }

    /// Applies pending evictions and expiries now instead of on later calls; for tests and
    /// for stats that must be exact.
    pub async fn run_pending_tasks(&self) {
        self.local.run_pending_tasks();
    }

    fn store_local(&self, key: CacheKey, entry: Entry<V>) {
        if u64::from(entry.weight()) > self.max_bytes {
            tracing::debug!(%key, weight = entry.weight(), "cache: value larger than the bound; not kept in process");
            return;
        }
        self.local.insert(key, entry);
    }

    async fn read_shared(&self, key: CacheKey) -> Option<Entry<V>> {
        let shared = self.shared.as_ref()?;
        let bytes = shared.get(&tier::tier_key(key)).await?;
        let Some((payload, ttl)) = tier::open(&bytes) else {
            tracing::debug!(%key, "shared cache: expired or unreadable envelope");
            return None;
        };
        let Some(value) = V::from_bytes(payload) else {
            tracing::debug!(%key, "shared cache: value did not decode");
            return None;
        };
        tracing::trace!(%key, "shared cache hit");
        Some(Entry { value, ttl })
    }

    async fn write_shared(&self, key: CacheKey, value: &V, ttl: Duration) {
        if let Some(shared) = &self.shared {
            let sealed = tier::seal(&value.to_bytes(), ttl);
            shared.put(&tier::tier_key(key), sealed, ttl).await;
        }
    }
}

#[cfg(test)]
mod tests;
