//! The bridge from Python's threads and asyncio to the engine's two call styles: a blocking
//! wait with the GIL released, and a completion callback that resolves an asyncio future.

use std::future::Future;

use pyo3::prelude::*;
use switchyard::binding;

use crate::errors::to_pyerr;

/// Runs `future` on the calling thread with the GIL released. Every slice the GIL is taken
/// back to run Python's signal handlers; if one raises (Ctrl-C), the future is dropped,
/// which cancels the upstream call.
pub fn wait<F>(py: Python<'_>, future: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let runtime = binding::runtime().map_err(|e| to_pyerr(&e))?;
    py.detach(|| binding::block_on(&runtime, future, || Python::attach(|py| py.check_signals())))
}

/// A call started from asyncio; `cancel()` drops it, which cancels the upstream call.
#[pyclass(module = "switchyard._native", frozen)]
pub struct NativeTask {
    handle: binding::CallHandle,
}

#[pymethods]
impl NativeTask {
    fn cancel(&self) {
        self.handle.cancel();
    }

    fn done(&self) -> bool {
        self.handle.is_finished()
    }
}

/// Starts `future`; when it ends, `callback(ok, value)` is called (from an engine thread,
/// with the GIL) with the converted result or the exception to raise.
pub fn spawn_call<F, T>(
    future: F,
    convert: fn(Python<'_>, T) -> PyResult<Py<PyAny>>,
    callback: Py<PyAny>,
) -> PyResult<NativeTask>
where
    F: Future<Output = switchyard::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let handle = binding::spawn(future, move |out| {
        Python::attach(|py| {
            let (ok, value) = match out.map_err(|e| to_pyerr(&e)).and_then(|v| convert(py, v)) {
                Ok(object) => (true, object),
                Err(error) => (false, error.into_value(py).into_any()),
            };
            if let Err(e) = callback.call1(py, (ok, value)) {
                e.write_unraisable(py, None);
            }
        });
    })
    .map_err(|e| to_pyerr(&e))?;
    Ok(NativeTask { handle })
}

/// Registered with `os.register_at_fork(before=...)`: see [`binding::before_fork`].
#[pyfunction]
pub fn _before_fork(py: Python<'_>) {
    py.detach(binding::before_fork);
}

/// Registered with `atexit`: see [`binding::at_exit`].
#[pyfunction]
pub fn _at_exit(py: Python<'_>) {
    py.detach(binding::at_exit);
}
