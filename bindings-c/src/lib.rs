//! The C ABI of the Switchyard engine: an opaque client, requests and answers as JSON (the
//! binding surface's shapes, `docs/bindings.md`), errors as JSON data, completion by
//! callback, streams as next/close, a cancel handle per call. Nothing is decided here: every
//! function translates to `switchyard::binding` (see `docs/sdk/c.md`).
//!
//! Ownership, for every pointer in `include/switchyard.h`:
//! - inputs (`const char *` with a length) are borrowed for the duration of the call only;
//! - a `char *` written to an out parameter is the caller's, freed with `sy_string_free`;
//! - the JSON a callback receives is borrowed for the duration of the callback;
//! - `SyClient`, `SyStream` and `SyCall` are the caller's, freed with `sy_client_free`,
//!   `sy_stream_free` and `sy_call_free`.
//!
//! No Rust panic crosses the boundary: each entry point runs under `catch_panic` and
//! reports one as an `internal` error.

// An ABI is raw pointers by nature; each `unsafe` block says what it relies on.
#![allow(unsafe_code)]

mod call;
mod client;
mod stream;
mod text;

use std::ffi::{CStr, c_char};

pub use call::{SyCall, SyCallback, SyStatus, sy_call_cancel, sy_call_free};
pub use client::{
    SyClient, sy_chat, sy_chat_stream, sy_client_close, sy_client_free, sy_client_open, sy_config,
    sy_embed, sy_flush, sy_metrics, sy_models, sy_reload,
};
pub use stream::{SyStream, sy_stream_close, sy_stream_free, sy_stream_meta, sy_stream_next};
use text::{Out, input};

/// The engine's version, NUL-terminated. Static: never freed.
#[unsafe(no_mangle)]
pub extern "C" fn sy_version() -> *const c_char {
    static VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(version) => version,
            Err(_) => c"unknown",
        };
    VERSION.as_ptr()
}

/// Frees a string this library wrote to an out parameter. NULL is ignored.
///
/// # Safety
/// `s` is NULL or a string from this library, not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sy_string_free(s: *mut c_char) {
    // SAFETY: the caller passes a string of ours (made by `CString::into_raw`) once.
    unsafe { text::free(s) }
}

/// Call once as the process ends (after the last call): ships the usage still queued,
/// exports buffered telemetry and stops the engine's threads. From then on no callback is
/// called and every call fails with `unavailable`.
#[unsafe(no_mangle)]
pub extern "C" fn sy_at_exit() {
    if switchyard::binding::catch_panic(switchyard::binding::at_exit).is_err() {
        tracing::error!("sy_at_exit panicked");
    }
}

/// Parses YAML (or JSON) text with the engine's YAML reader and writes it as JSON to `*out`
/// (on failure, an error's JSON). The tests read scenario files with it, exactly as the
/// Rust runner does.
///
/// # Safety
/// `text` points to `len` readable bytes; `out` is a writable pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sy_parse_yaml(
    text: *const c_char,
    len: usize,
    out: *mut *mut c_char,
) -> SyStatus {
    // SAFETY: as this function's contract states.
    let out = unsafe { Out::new(out) };
    out.answer(|| {
        // SAFETY: as this function's contract states.
        let text = unsafe { input(text, len, "text") }?;
        serde_norway::from_slice::<serde_json::Value>(text)
            .map_err(|e| switchyard::Error::bad_request("text", format!("not YAML: {e}")))
    })
}
