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

/// Parses YAML (or JSON) text with the engine's own YAML reader, so the tests read scenario
/// files exactly as the Rust runner does.
#[napi]
pub fn parse_yaml(text: String) -> napi::Result<serde_json::Value> {
    serde_norway::from_str(&text).map_err(|e| napi::Error::from_reason(e.to_string()))
}
