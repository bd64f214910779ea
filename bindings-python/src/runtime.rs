//! The one tokio runtime of the process, rebuilt in a child after `os.fork()`, and the wait
//! loop every blocking call goes through (GIL released, Ctrl-C checked between slices).

use std::future::Future;
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

pub fn runtime() -> PyResult<Arc<Runtime>> {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
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
