//! `SyStream`: a streamed call's `StreamHandle`. `sy_stream_next` answers each chunk through
//! a callback (`null` at the end); closing or freeing it drops the upstream request.

use std::ffi::c_char;

use serde_json::Value;
use switchyard::Error;
use switchyard::binding::{StreamHandle, catch_panic};

use crate::call::{Delivered, SyCall, SyCallback, SyStatus, start};
use crate::text::Out;

/// An open stream; the caller's, freed with `sy_stream_free`. One `sy_stream_next` at a
/// time; `sy_stream_close` may come from any thread, during a read too.
#[derive(Debug)]
pub struct SyStream {
    handle: StreamHandle,
}

impl SyStream {
    pub fn new(handle: StreamHandle) -> Self {
        SyStream { handle }
    }
}

/// # Safety
/// `stream` is NULL or a live `SyStream`.
unsafe fn stream<'a>(stream: *const SyStream) -> Result<&'a StreamHandle, Error> {
    // SAFETY: as this function's contract states.
    unsafe { stream.as_ref() }
        .map(|s| &s.handle)
        .ok_or_else(|| Error::bad_request("stream", "the stream is NULL"))
}

/// Reads the next chunk: the callback gets a `ChatCompletionChunk`, `null` at the end, or
/// the error that ended the stream. Returns the read's cancel handle (as `sy_chat`).
///
/// # Safety
/// `stream` is NULL or a live `SyStream`. Freeing the stream while a read is in flight is
/// allowed: the read ends (its callback is still called).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sy_stream_next(
    stream_ptr: *const SyStream,
    callback: SyCallback,
    user_data: usize,
) -> *mut SyCall {
    // SAFETY: as this function's contract states.
    let call = || Ok(unsafe { stream(stream_ptr) }?.next());
    start(callback, user_data, call, |chunk: Option<Value>| {
        Delivered::json(&chunk.unwrap_or(Value::Null))
    })
}

/// What the pipeline did (`CallMeta`: deployment, attempts, cost, ...; complete once the
/// stream has ended), to `*out`. Free `*out` with `sy_string_free`.
///
/// # Safety
/// `stream` is NULL or a live `SyStream`; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sy_stream_meta(
    stream_ptr: *const SyStream,
    out: *mut *mut c_char,
) -> SyStatus {
    // SAFETY: as this function's contract states.
    let out = unsafe { Out::new(out) };
    out.answer(|| {
        // SAFETY: as this function's contract states.
        let meta = unsafe { stream(stream_ptr) }?.meta();
        serde_json::to_value(meta).map_err(|e| Error::internal(format!("cannot serialize: {e}")))
    })
}

/// Stops reading and drops the upstream request (a read in flight ends first). Closing
/// twice is harmless. NULL is ignored.
///
/// # Safety
/// `stream` is NULL or a live `SyStream`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sy_stream_close(stream_ptr: *const SyStream) {
    // SAFETY: as this function's contract states.
    if let Ok(handle) = unsafe { stream(stream_ptr) } {
        if let Err(error) = catch_panic(|| handle.close()).and_then(|out| out) {
            tracing::debug!(%error, "closing a stream");
        }
    }
}

/// Closes the stream (as `sy_stream_close`) and frees it. NULL is ignored.
///
/// # Safety
/// `stream` is NULL or a `SyStream` from this library, freed once, with no other function
/// on it running or called later.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sy_stream_free(stream_ptr: *mut SyStream) {
    if !stream_ptr.is_null() {
        // SAFETY: as this function's contract states.
        unsafe { sy_stream_close(stream_ptr) };
        // SAFETY: as this function's contract states.
        drop(unsafe { Box::from_raw(stream_ptr) });
    }
}
