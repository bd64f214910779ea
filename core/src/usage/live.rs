//! The shipping sinks alive in this process, so that exit can flush them all (a binding's
//! `at_exit` runs before the runtime stops), and where their tasks run.
//!
//! Both lists hold the id of the process that made each entry: a forked child inherits its
//! parent's sinks in memory but not their tasks, and must neither flush nor wait for them.

use std::future::Future;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use super::sink::ShippingSink;

/// (process id, sink) for every sink made.
static SINKS: Mutex<Vec<(u32, Weak<ShippingSink>)>> = Mutex::new(Vec::new());

/// (process id, tasks): background work still running in that process, a dropped sink's
/// last delivery included.
static RUNNING: Mutex<(u32, usize)> = Mutex::new((0, 0));

/// Counts one sink's background work while it lives.
pub(crate) struct Running(u32);

impl Running {
    pub fn new() -> Running {
        let pid = std::process::id();
        let mut running = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
        *running = if running.0 == pid {
            (pid, running.1 + 1)
        } else {
            (pid, 1)
        };
        Running(pid)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut running = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
        if running.0 == self.0 {
            running.1 = running.1.saturating_sub(1);
        }
    }
}

fn running() -> usize {
    let running = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
    if running.0 == std::process::id() {
        running.1
    } else {
        0
    }
}

pub(crate) fn register(sink: &Arc<ShippingSink>) {
    let mut sinks = SINKS.lock().unwrap_or_else(|p| p.into_inner());
    sinks.retain(|(_, s)| s.strong_count() > 0);
    sinks.push((std::process::id(), Arc::downgrade(sink)));
}

/// This process's sinks still alive.
fn live() -> Vec<Arc<ShippingSink>> {
    let pid = std::process::id();
    SINKS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter(|(made_by, _)| *made_by == pid)
        .filter_map(|(_, s)| s.upgrade())
        .collect()
}

/// Runs `work` on a thread of its own, never on the caller's runtime: a binding's runtime is
/// shut down before a fork (and a host's at exit), which would end the shipping with it.
pub(crate) fn spawn(work: impl Future<Output = ()> + Send + 'static) {
    crate::process::run_on_own_thread("switchyard-usage", work);
}

/// Flushes every shipping sink of this process and waits, up to `limit` in all, for them
/// (and for the last delivery of sinks already dropped). Needs a tokio runtime with time.
pub async fn flush_all(limit: Duration) {
    let until = tokio::time::Instant::now() + limit;
    let sinks = live();
    futures_util::future::join_all(sinks.iter().map(|s| s.flush_within(limit))).await;
    drop(sinks);
    while running() > live().len() && tokio::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
