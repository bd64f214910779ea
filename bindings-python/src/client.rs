//! `NativeClient`: the engine's `ClientHandle` for Python. Requests, options and specs go
//! in as Python data; answers come back as dicts. Nothing is decided here.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use serde_json::Value;
use switchyard::binding::{self, ClientHandle, ClientSpec, ConfigInput};
use switchyard::validate::decode;

use crate::convert::{argument, to_py};
use crate::errors::{guard, to_pyerr};
use crate::runtime::{NativeTask, spawn_call, wait};
use crate::stream::NativeStream;

#[pyclass(module = "switchyard._native", frozen)]
pub struct NativeClient {
    handle: ClientHandle,
}

fn value_to_py(py: Python<'_>, value: Value) -> PyResult<Py<PyAny>> {
    to_py(py, &value).map(Bound::unbind)
}

fn none_to_py(py: Python<'_>, (): ()) -> PyResult<Py<PyAny>> {
    Ok(py.None())
}

fn stream_to_py(py: Python<'_>, stream: binding::StreamHandle) -> PyResult<Py<PyAny>> {
    Ok(Py::new(py, NativeStream::new(stream))?.into_any())
}

/// A core result as a Python value or the typed exception.
fn raise<T>(result: switchyard::Result<T>) -> PyResult<T> {
    result.map_err(|e| to_pyerr(&e))
}

#[pymethods]
impl NativeClient {
    /// From the constructor's arguments as one mapping (`config`, `watch`, `server`,
    /// `api_key`, `config_cache`); the engine resolves them, and the environment.
    #[new]
    #[pyo3(signature = (spec=None))]
    fn new(py: Python<'_>, spec: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        guard(|| {
            let spec: ClientSpec = raise(ClientSpec::from_json(argument(spec)?))?;
            // The first fetch from a server waits on the network: let other threads run.
            let handle = raise(py.detach(|| ClientHandle::open(spec)))?;
            Ok(NativeClient { handle })
        })
    }

    #[pyo3(signature = (request, options=None))]
    fn chat(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        guard(|| {
            let call = raise(
                self.handle
                    .chat(argument(Some(request))?, argument(options)?),
            )?;
            value_to_py(py, raise(wait(py, call)?)?)
        })
    }

    #[pyo3(signature = (request, options=None))]
    fn chat_stream(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<NativeStream> {
        guard(|| {
            let call = raise(
                self.handle
                    .chat_stream(argument(Some(request))?, argument(options)?),
            )?;
            Ok(NativeStream::new(raise(wait(py, call)?)?))
        })
    }

    #[pyo3(signature = (request, options=None))]
    fn embed(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        guard(|| {
            let call = raise(
                self.handle
                    .embed(argument(Some(request))?, argument(options)?),
            )?;
            value_to_py(py, raise(wait(py, call)?)?)
        })
    }

    #[pyo3(signature = (request, options, callback))]
    fn chat_async(
        &self,
        request: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyAny>>,
        callback: Py<PyAny>,
    ) -> PyResult<NativeTask> {
        guard(|| {
            let call = raise(
                self.handle
                    .chat(argument(Some(request))?, argument(options)?),
            )?;
            spawn_call(call, value_to_py, callback)
        })
    }

    #[pyo3(signature = (request, options, callback))]
    fn chat_stream_async(
        &self,
        request: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyAny>>,
        callback: Py<PyAny>,
    ) -> PyResult<NativeTask> {
        guard(|| {
            let call = raise(
                self.handle
                    .chat_stream(argument(Some(request))?, argument(options)?),
            )?;
            spawn_call(call, stream_to_py, callback)
        })
    }

    #[pyo3(signature = (request, options, callback))]
    fn embed_async(
        &self,
        request: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyAny>>,
        callback: Py<PyAny>,
    ) -> PyResult<NativeTask> {
        guard(|| {
            let call = raise(
                self.handle
                    .embed(argument(Some(request))?, argument(options)?),
            )?;
            spawn_call(call, value_to_py, callback)
        })
    }

    fn models(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| value_to_py(py, raise(self.handle.models())?))
    }

    fn metrics(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| value_to_py(py, raise(self.handle.metrics())?))
    }

    fn config(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| value_to_py(py, raise(self.handle.config())?))
    }

    /// Swaps in a new config (a path or a mapping); an invalid one raises `ConfigError`
    /// and the old one stays.
    fn reload(&self, config: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(|| {
            let config: ConfigInput = raise(decode(argument(Some(config))?))?;
            raise(self.handle.reload(config))
        })
    }

    /// Ships the usage recorded so far and waits for the server's acknowledgement (or the
    /// spool, with the server away), within the engine's limit.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        guard(|| {
            let flushing = raise(self.handle.flush())?;
            wait(py, flushing)
        })
    }

    /// `flush` for asyncio: `callback(ok, None)` once done.
    fn flush_async(&self, callback: Py<PyAny>) -> PyResult<NativeTask> {
        guard(|| {
            let flushing = raise(self.handle.flush())?;
            spawn_call(
                async move {
                    flushing.await;
                    Ok(())
                },
                none_to_py,
                callback,
            )
        })
    }

    /// Lets the calls in flight finish (canceling the stragglers), stops the config
    /// watcher and flushes usage; the client is unusable afterwards.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        guard(|| wait(py, self.handle.close()))
    }

    /// `close` for asyncio: `callback(ok, None)` once done, the event loop never blocked.
    fn close_async(&self, callback: Py<PyAny>) -> PyResult<NativeTask> {
        let closing = self.handle.close();
        guard(|| {
            spawn_call(
                async move {
                    closing.await;
                    Ok(())
                },
                none_to_py,
                callback,
            )
        })
    }

    #[getter]
    fn closed(&self) -> bool {
        self.handle.is_closed()
    }
}

/// Parses YAML (or JSON) text into Python data with the engine's own YAML reader, so tests
/// read scenario files exactly as the Rust runner does.
#[pyfunction]
pub fn parse_yaml<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    let value: Value =
        serde_norway::from_str(text).map_err(|e| PyValueError::new_err(e.to_string()))?;
    to_py(py, &value)
}

/// Panics inside the binding, to test that a panic surfaces as a typed error.
#[pyfunction]
#[pyo3(signature = (asynchronous=false, callback=None))]
pub fn _panic_for_test(asynchronous: bool, callback: Option<Py<PyAny>>) -> PyResult<()> {
    guard(|| {
        if let (true, Some(callback)) = (asynchronous, callback) {
            spawn_call(
                async { deliberate_panic("deliberate test panic (async)") },
                |py, ()| Ok(py.None()),
                callback,
            )?;
            return Ok(());
        }
        raise(deliberate_panic("deliberate test panic"))
    })
}

#[allow(clippy::panic)]
fn deliberate_panic(message: &'static str) -> switchyard::Result<()> {
    std::panic::panic_any(message)
}
