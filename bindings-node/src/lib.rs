//! The native half of the `switchyard` npm package (`switchyard.node`). The public API
//! (OpenAI-style client, error classes) lives in `lib/`; this crate only translates.

mod call;
mod client;
mod stream;

use napi_derive::napi;

/// The engine's version, as every binding reports it.
#[napi]
pub fn version() -> String {
    switchyard::VERSION.to_owned()
}

/// Stops the engine at process exit: callbacks stop, usage is flushed. Main thread only.
#[napi]
pub fn at_exit() {
    switchyard::binding::at_exit();
}
