//! `NativeStream`: the engine's `StreamHandle` for Python, read from a thread (blocking,
//! GIL released) or from asyncio (a callback per chunk).

use pyo3::prelude::*;
use switchyard::binding::StreamHandle;

use crate::convert::to_py;
use crate::errors::{guard, to_pyerr};
use crate::runtime::{NativeTask, spawn_call, wait};

#[pyclass(module = "switchyard._native", frozen)]
pub struct NativeStream {
    handle: StreamHandle,
}

fn chunk_to_py(py: Python<'_>, chunk: Option<serde_json::Value>) -> PyResult<Py<PyAny>> {
    match chunk {
        Some(value) => Ok(to_py(py, &value)?.unbind()),
        None => Ok(py.None()),
    }
}

impl NativeStream {
    pub fn new(handle: StreamHandle) -> Self {
        NativeStream { handle }
    }
}

#[pymethods]
impl NativeStream {
    /// The next chunk as a dict, or None at the end. Blocks with the GIL released.
    fn next(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| {
            let chunk = wait(py, self.handle.next())?.map_err(|e| to_pyerr(&e))?;
            chunk_to_py(py, chunk)
        })
    }

    /// Starts reading the next chunk; `callback(ok, chunk_or_None_or_exception)`.
    fn next_async(&self, callback: Py<PyAny>) -> PyResult<NativeTask> {
        guard(|| spawn_call(self.handle.next(), chunk_to_py, callback))
    }

    /// What the pipeline did; complete (cost included) once the stream has ended.
    fn meta(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| {
            let meta = serde_json::to_value(self.handle.meta())
                .map_err(|e| to_pyerr(&switchyard::Error::internal(e.to_string())))?;
            Ok(to_py(py, &meta)?.unbind())
        })
    }

    /// Stops reading: the upstream connection is closed and the call settled.
    fn close(&self) -> PyResult<()> {
        self.handle.close().map_err(|e| to_pyerr(&e))
    }

    #[getter]
    fn closed(&self) -> bool {
        self.handle.is_closed()
    }
}
