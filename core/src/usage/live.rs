//! The shipping sinks alive in this process, so that exit can flush them all (a binding's
//! `at_exit` runs before the runtime stops), and where their tasks run.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use super::sink::ShippingSink;

static SINKS: Mutex<Vec<Weak<ShippingSink>>> = Mutex::new(Vec::new());

/// Background tasks still running, a dropped sink's last delivery included.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Counts one sink's background work while it lives.
pub(crate) struct Running(());

impl Running {
    pub fn new() -> Running {
        RUNNING.fetch_add(1, Ordering::SeqCst);
        Running(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

pub(crate) fn register(sink: &Arc<ShippingSink>) {
    let mut sinks = SINKS.lock().unwrap_or_else(|p| p.into_inner());
    sinks.retain(|s| s.strong_count() > 0);
    sinks.push(Arc::downgrade(sink));
}

/// Runs `work` on the current tokio runtime, else on a thread of its own.
pub(crate) fn spawn(work: impl Future<Output = ()> + Send + 'static) {
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        handle.spawn(work);
        return;
    }
    crate::process::run_on_own_thread("switchyard-usage", work);
}

/// Flushes every shipping sink of the process and waits, up to `limit` in all, for them
/// (and for the last delivery of sinks already dropped). Needs a tokio runtime with time.
pub async fn flush_all(limit: Duration) {
    let sinks: Vec<Arc<ShippingSink>> = SINKS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    let until = tokio::time::Instant::now() + limit;
    futures_util::future::join_all(sinks.iter().map(|s| s.flush_within(limit))).await;
    drop(sinks);
    while RUNNING.load(Ordering::SeqCst) > live_sinks() && tokio::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn live_sinks() -> usize {
    SINKS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter(|s| s.strong_count() > 0)
        .count()
}
