//! The one tokio runtime of the process, rebuilt in a child after `os.fork()`, and the wait
//! loop every blocking call goes through (GIL released, Ctrl-C checked between slices).

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;
use tokio::runtime::Runtime;

use crate::errors;

/// How often a blocking call takes the GIL back to let Python run its signal handlers.
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// The runtime and the process that built it. A forked child finds its parent's pid here:
/// the worker threads did not survive the fork, so it leaks that runtime (dropping it would
/// wait on threads that do not exist) and builds its own.
static RUNTIME: Mutex<Option<(u32, Arc<Runtime>)>> = Mutex::new(None);

/// Calls in flight and streams open in this process (see [`before_fork`]).
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Counts one call or open stream while alive.
pub struct Live;

impl Live {
    pub fn new() -> Self {
        LIVE.fetch_add(1, Ordering::SeqCst);
        Live
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Called (by `os.register_at_fork`) just before the process forks. The engine keeps one
/// HTTP connection pool per process in a static; its idle connections are driven by tasks
/// of this runtime, which a child does not inherit, so a child reusing one would wait
/// forever. When nothing is in flight, shutting the runtime down here closes those
/// connections in both processes; each builds a fresh runtime (and connections) on its
/// next call. With calls in flight the runtime is left alone (see docs/sdk/python.md).
#[pyfunction]
pub fn _before_fork(py: Python<'_>) {
    if LIVE.load(Ordering::SeqCst) != 0 {
        return;
    }
    let taken = {
        let mut slot = RUNTIME
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match slot.take() {
            Some((owner, runtime)) if owner == std::process::id() => Some(runtime),
            other => {
                *slot = other;
                None
            }
        }
    };
    if let Some(runtime) = taken {
        match Arc::try_unwrap(runtime) {
            Ok(runtime) => py.detach(|| runtime.shutdown_timeout(Duration::from_secs(1))),
            Err(shared) => {
                let mut slot = RUNTIME
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                if slot.is_none() {
                    *slot = Some((std::process::id(), shared));
                }
            }
        }
    }
}

pub fn runtime() -> PyResult<Arc<Runtime>> {
    let pid = std::process::id();
    let mut slot = RUNTIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((owner, runtime)) = slot.as_ref() {
        if *owner == pid {
            return Ok(runtime.clone());
        }
    }
    if let Some(stale) = slot.take() {
        std::mem::forget(stale);
    }
    let workers = std::env::var("SWITCHYARD_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .clamp(2, 8)
        });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("switchyard-worker")
        .enable_all()
        .build()
        .map_err(|e| errors::internal(format!("cannot start the tokio runtime: {e}")))?;
    let runtime = Arc::new(runtime);
    *slot = Some((pid, runtime.clone()));
    Ok(runtime)
}

/// Runs `future` to completion on the calling thread with the GIL released, taking the GIL
/// back every [`SIGNAL_CHECK`] to run Python's signal handlers. If one raises (Ctrl-C ->
/// `KeyboardInterrupt`), the future is dropped, which cancels the upstream call.
pub fn wait<F>(py: Python<'_>, future: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let runtime = runtime()?;
    let _live = Live::new();
    let mut future = std::pin::pin!(future);
    loop {
        let step = py.detach(|| {
            runtime.block_on(async {
                tokio::select! {
                    biased;
                    out = &mut future => Some(out),
                    () = tokio::time::sleep(SIGNAL_CHECK) => None,
                }
            })
        });
        match step {
            Some(out) => return Ok(out),
            None => py.check_signals()?,
        }
    }
}
