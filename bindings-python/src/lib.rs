//! The native half of the `switchyard` Python package (`switchyard._native`). The public
//! API (OpenAI-style client, typed responses, exceptions) lives in `python/switchyard/`.

mod client;
mod convert;
mod errors;
mod runtime;
mod stream;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", switchyard::VERSION)?;
    m.add_class::<client::NativeClient>()?;
    m.add_class::<runtime::NativeTask>()?;
    m.add_class::<stream::NativeStream>()?;
    m.add_function(wrap_pyfunction!(client::parse_yaml, m)?)?;
    m.add_function(wrap_pyfunction!(client::_panic_for_test, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::_before_fork, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::_at_exit, m)?)?;
    Ok(())
}
