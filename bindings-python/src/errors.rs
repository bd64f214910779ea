//! Core errors -> the exception hierarchy defined in Python (`switchyard._errors`): the
//! error's data (`switchyard::binding::ErrorData`) handed to one factory there.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use switchyard::Error;

use crate::convert::to_py;

static FACTORY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The typed exception for a core error: `RateLimitError`, `BadRequestError`, ...
pub fn to_pyerr(error: &Error) -> PyErr {
    Python::attach(|py| build(py, error).unwrap_or_else(|e| e))
}

fn build(py: Python<'_>, error: &Error) -> PyResult<PyErr> {
    let factory = FACTORY.get_or_try_init(py, || {
        py.import("switchyard._errors")?
            .getattr("_from_native")
            .map(Bound::unbind)
    })?;
    let data = serde_json::to_value(error)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
    let exception = factory.bind(py).call1((to_py(py, &data)?,))?;
    Ok(PyErr::from_value(exception))
}

/// Runs `f`, turning a Rust panic into `InternalError` (never a bare `PanicException`).
pub fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    switchyard::binding::catch_panic(f).unwrap_or_else(|e| Err(to_pyerr(&e)))
}
