//! Request coalescing: while one caller fetches a key, identical callers wait for its result
//! instead of going upstream themselves.
//!
//! Our own map rather than moka's `try_get_with`: that path costs a waiter registry, a second
//! lookup and an async lock per miss (≈3 µs measured), and every miss of a cacheable call
//! pays it. Here a miss costs one short, sharded mutex hold to register and one to finish.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::CacheKey;

/// Shards of the in-flight map: concurrent misses on different keys rarely share a lock.
const SHARDS: usize = 16;

/// The fetches in flight, by key.
pub(crate) struct Flights<V, E> {
    shards: [Shard<V, E>; SHARDS],
}

type Shard<V, E> = Mutex<HashMap<CacheKey, Arc<Flight<V, E>>>>;

/// One fetch in flight, and what its waiters will read when it ends.
pub(crate) struct Flight<V, E> {
    state: Mutex<State<V, E>>,
    ended: Notify,
}

enum State<V, E> {
    Running,
    Done(Result<V, E>),
    /// The fetching caller was dropped: a waiter must fetch for itself.
    Abandoned,
}

/// What joining a key's flight gave this caller.
pub(crate) enum Joined<'a, V, E> {
    /// Nobody was fetching: this caller must, and end the flight through the guard.
    Lead(Leader<'a, V, E>),
    /// Another caller is fetching: wait for it.
    Wait(Arc<Flight<V, E>>),
}

/// The fetching caller's hold on its flight. Dropping it without [`Leader::finish`] (the
/// caller was canceled) wakes the waiters so one of them takes over.
pub(crate) struct Leader<'a, V, E> {
    flights: &'a Flights<V, E>,
    key: CacheKey,
    flight: Arc<Flight<V, E>>,
    finished: bool,
}

/// How a wait ended.
pub(crate) enum Waited<V, E> {
    Done(Result<V, E>),
    Abandoned,
}

impl<V, E> Flights<V, E> {
    pub fn new() -> Self {
        Flights {
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
        }
    }

    /// Joins the flight for `key`, or starts one.
    pub fn join(&self, key: CacheKey) -> Joined<'_, V, E> {
        let mut shard = self.shard(key);
        if let Some(flight) = shard.get(&key) {
            return Joined::Wait(Arc::clone(flight));
        }
        let flight = Arc::new(Flight {
            state: Mutex::new(State::Running),
            ended: Notify::new(),
        });
        shard.insert(key, Arc::clone(&flight));
        Joined::Lead(Leader {
            flights: self,
            key,
            flight,
            finished: false,
        })
    }

    fn shard(&self, key: CacheKey) -> MutexGuard<'_, HashMap<CacheKey, Arc<Flight<V, E>>>> {
        let index = (key.as_u128() as usize) % SHARDS;
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes `flight` out of the map, unless a newer flight already replaced it.
    fn remove(&self, key: CacheKey, flight: &Arc<Flight<V, E>>) {
        let mut shard = self.shard(key);
        if shard.get(&key).is_some_and(|f| Arc::ptr_eq(f, flight)) {
            shard.remove(&key);
        }
    }
}

impl<V: Clone, E: Clone> Flight<V, E> {
    /// Waits until the fetching caller finishes or is dropped.
    pub async fn wait(&self) -> Waited<V, E> {
        loop {
            let ended = self.ended.notified();
            tokio::pin!(ended);
            // Registered before the state is read, so an end between the two still wakes us.
            ended.as_mut().enable();
            match &*self.lock() {
                State::Running => {}
                State::Done(result) => return Waited::Done(result.clone()),
                State::Abandoned => return Waited::Abandoned,
            }
            ended.await;
        }
    }
}

impl<V, E> Flight<V, E> {
    fn lock(&self) -> MutexGuard<'_, State<V, E>> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn end(&self, state: State<V, E>) {
        *self.lock() = state;
        self.ended.notify_waiters();
    }
}

impl<V, E> Leader<'_, V, E> {
    /// Hands the fetch's result to every waiter and ends the flight. Call it after the value
    /// is stored, so a caller arriving in between finds it either here or in the store.
    /// `result` is made only when someone waits: a flight nobody joined copies nothing.
    pub fn finish(mut self, result: impl FnOnce() -> Result<V, E>) {
        self.finished = true;
        self.flights.remove(self.key, &self.flight);
        // Out of the map, nobody new can join: the count of holders is final.
        if Arc::strong_count(&self.flight) > 1 {
            self.flight.end(State::Done(result()));
        }
    }
}

impl<V, E> Drop for Leader<'_, V, E> {
    fn drop(&mut self) {
        if !self.finished {
            self.flights.remove(self.key, &self.flight);
            self.flight.end(State::Abandoned);
        }
    }
}
