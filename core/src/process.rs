//! Values that belong to one process: the one rule every fork-sensitive singleton follows.
//!
//! A forked child inherits its parent's memory but only the thread that called `fork()`.
//! A tokio runtime, an HTTP connection pool (whose connections are driven by runtime tasks)
//! or a client holding either is useless there: using it waits forever on threads that do
//! not exist, and dropping it joins them. So each such value is kept with the id of the
//! process that made it; a child finds a foreign id, leaks the parent's value (never drops
//! it) and makes its own.

use std::sync::{Mutex, MutexGuard};

/// One value per process, made on first use and again in a forked child.
pub struct PerProcess<T> {
    slot: Mutex<Option<(u32, T)>>,
}

impl<T> Default for PerProcess<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> PerProcess<T> {
    pub const fn new() -> Self {
        PerProcess {
            slot: Mutex::new(None),
        }
    }

    /// This process's value, made by `init` when there is none yet (or only a parent's).
    pub fn get_or_try_init<E>(&self, init: impl FnOnce() -> Result<T, E>) -> Result<T, E>
    where
        T: Clone,
    {
        let mut slot = self.own_slot();
        if let Some((_, value)) = slot.as_ref() {
            return Ok(value.clone());
        }
        let value = init()?;
        *slot = Some((std::process::id(), value.clone()));
        Ok(value)
    }

    /// This process's value, if it has made one.
    pub fn get(&self) -> Option<T>
    where
        T: Clone,
    {
        self.own_slot().as_ref().map(|(_, value)| value.clone())
    }

    /// Takes this process's value out (to drop or shut it down); the next use makes anew.
    pub fn take(&self) -> Option<T> {
        self.own_slot().take().map(|(_, value)| value)
    }

    /// Puts `value` back unless the slot was filled meanwhile (then `value` is returned).
    pub fn restore(&self, value: T) -> Option<T> {
        let mut slot = self.own_slot();
        if slot.is_some() {
            return Some(value);
        }
        *slot = Some((std::process::id(), value));
        None
    }

    /// The slot, emptied of a parent's value: that one is leaked, since dropping it would
    /// join threads this process does not have.
    fn own_slot(&self) -> MutexGuard<'_, Option<(u32, T)>> {
        let mut slot = self
            .slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if slot
            .as_ref()
            .is_some_and(|(owner, _)| *owner != std::process::id())
        {
            std::mem::forget(slot.take());
        }
        slot
    }
}

impl<T> Drop for PerProcess<T> {
    fn drop(&mut self) {
        // `own_slot` leaks a parent's value; this process's own is dropped as usual.
        drop(self.own_slot().take());
    }
}

/// Runs `work` to completion on a thread of its own (named `name`) with a current-thread
/// runtime: for background work that must not depend on the caller having a runtime.
pub(crate) fn run_on_own_thread(
    name: &str,
    work: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let spawned = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime.block_on(work),
                Err(error) => tracing::error!(%error, "cannot start a runtime for background work"),
            }
        });
    if let Err(error) = spawned {
        tracing::error!(%error, thread = name, "cannot start a background thread");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn made_once_per_process() {
        let made = AtomicU32::new(0);
        let value: PerProcess<u32> = PerProcess::new();
        let init = || Ok::<_, ()>(made.fetch_add(1, Ordering::SeqCst));
        assert_eq!(value.get_or_try_init(init), Ok(0));
        assert_eq!(value.get_or_try_init(init), Ok(0));
        assert_eq!(value.take(), Some(0));
        assert_eq!(value.get(), None);
        assert_eq!(value.get_or_try_init(init), Ok(1));
        assert_eq!(value.restore(7), Some(7));
    }

    #[test]
    fn a_parents_value_is_not_used() {
        let value: PerProcess<u32> = PerProcess::new();
        *value.slot.lock().unwrap() = Some((std::process::id().wrapping_add(1), 5));
        assert_eq!(value.get(), None);
        assert_eq!(value.get_or_try_init(|| Ok::<_, ()>(6)), Ok(6));
    }
}
