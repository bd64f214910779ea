//! Core errors -> the exception hierarchy defined in Python (`switchyard._errors`).

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;
use switchyard::{Error, ErrorKind};

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
    let kwargs = PyDict::new(py);
    kwargs.set_item("message", error.message())?;
    kwargs.set_item("status", error.status())?;
    kwargs.set_item("retry_after", error.retry_after().map(|d| d.as_secs_f64()))?;
    kwargs.set_item("provider", error.provider())?;
    kwargs.set_item("deployment", error.deployment())?;
    kwargs.set_item("request_id", error.request_id())?;
    kwargs.set_item("field", error.field())?;
    kwargs.set_item("retryable", error.is_retryable())?;
    if let ErrorKind::BudgetExceeded { budget } = error.kind() {
        kwargs.set_item("budget", budget)?;
    }
    let exception = factory
        .bind(py)
        .call((error.code(), error.to_string()), Some(&kwargs))?;
    Ok(PyErr::from_value(exception))
}

/// A `bad_request` naming `field`, raised before anything is sent.
pub fn bad_request(field: &str, message: &str) -> PyErr {
    to_pyerr(&Error::bad_request(field, message))
}

/// A failure of the binding itself (a Rust panic, a runtime that cannot start): still a
/// `SwitchyardError`, never a bare `PanicException`.
pub fn internal(message: impl Into<String>) -> PyErr {
    let message = message.into();
    Python::attach(|py| {
        let made = py
            .import("switchyard._errors")
            .and_then(|m| m.getattr("InternalError"))
            .and_then(|cls| cls.call1((message.clone(),)));
        match made {
            Ok(exception) => PyErr::from_value(exception),
            Err(e) => e,
        }
    })
}

/// Runs `f`, turning a panic into [`internal`].
pub fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(panic) => Err(internal(format!(
            "internal error in switchyard (a Rust panic): {}",
            panic_message(panic.as_ref())
        ))),
    }
}

pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}
