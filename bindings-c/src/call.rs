//! One asynchronous call across the boundary: it ends by calling the caller's callback
//! exactly once, on the calling thread before the starting function returns (a call done
//! within the engine's inline window, 1 ms by default, or one that cannot start), or later
//! on an engine thread. `SyCall` is its cancel handle: canceling drops the upstream
//! request and the callback reports `canceled`.

use std::ffi::{CString, c_char};
use std::future::Future;
use std::sync::Arc;

use switchyard::binding::{self, catch_panic};
use switchyard::{Error, ErrorKind};
use tokio::sync::Notify;

use crate::stream::SyStream;
use crate::text::{c_json, error_json};

/// How a function or a callback ended.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyStatus {
    /// The JSON is the answer.
    Ok = 0,
    /// The JSON is an error's data: `kind`, `message`, `display`, `field`, ...
    Error = 1,
}

/// Called once when a call ends: on the calling thread before the starting function
/// returns (the call ended within the inline window, `SWITCHYARD_INLINE_WAIT_US`, 1 ms by
/// default, or could not start; the function then returns NULL), or later on an engine
/// thread. Do not hold a lock the callback takes while starting a call. `user_data` is what
/// the caller passed. `json` (`len` bytes, NUL-terminated) is the answer or the error's data, borrowed
/// for the duration of the callback: copy what you keep. `stream` is non-NULL only for a
/// successful `sy_chat_stream` (`json` is then its first chunk), and is then the caller's
/// (free it with `sy_stream_free`).
/// The callback must not unwind (no C++ exception, no longjmp out of it).
pub type SyCallback = Option<
    unsafe extern "C" fn(
        user_data: usize,
        status: SyStatus,
        json: *const c_char,
        len: usize,
        stream: *mut SyStream,
    ),
>;

/// The cancel handle of a call in flight; the caller's, freed with `sy_call_free`.
#[derive(Debug)]
pub struct SyCall {
    cancel: Arc<Notify>,
}

/// What a successful call hands to its callback.
pub struct Delivered {
    json: CString,
    stream: Option<Box<SyStream>>,
}

impl Delivered {
    pub fn json(value: &serde_json::Value) -> Self {
        Delivered {
            json: c_json(value),
            stream: None,
        }
    }

    /// An opened stream with its first chunk (`None`: it ended at once).
    pub fn stream(stream: SyStream, first: Option<&serde_json::Value>) -> Self {
        Delivered {
            json: first.map_or_else(|| CString::from(c"null"), c_json),
            stream: Some(Box::new(stream)),
        }
    }
}

/// Hands `out` to `callback`.
fn deliver(callback: Callback, user_data: usize, out: Result<Delivered, Error>) {
    let (status, delivered) = match out {
        Ok(delivered) => (SyStatus::Ok, delivered),
        Err(error) => (
            SyStatus::Error,
            Delivered {
                json: error_json(&error),
                stream: None,
            },
        ),
    };
    let stream = delivered.stream.map_or(std::ptr::null_mut(), Box::into_raw);
    let json = delivered.json;
    // SAFETY: the callback's contract (SyCallback): it reads `json` only while it runs.
    unsafe {
        callback(
            user_data,
            status,
            json.as_ptr(),
            json.as_bytes().len(),
            stream,
        )
    };
}

type Callback = unsafe extern "C" fn(usize, SyStatus, *const c_char, usize, *mut SyStream);

/// Starts `call` (or reports the error that prevented it) and returns its cancel handle;
/// NULL when the callback has already been called (the call ended within the inline window
/// of `binding::start`, or could not start) or none was given.
pub fn start<T, F>(
    callback: SyCallback,
    user_data: usize,
    call: impl FnOnce() -> Result<F, Error>,
    into: fn(T) -> Delivered,
) -> *mut SyCall
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    let Some(callback) = callback else {
        tracing::error!("a call without a callback was refused");
        return std::ptr::null_mut();
    };
    let started = catch_panic(|| {
        let call = call();
        let cancel = Arc::new(Notify::new());
        let waiting = cancel.clone();
        let run = async move {
            let call = call?;
            tokio::select! {
                out = call => out,
                () = waiting.notified() => Err(Error::new(ErrorKind::Canceled, "the call was canceled")),
            }
        };
        let done = move |out: Result<T, Error>| deliver(callback, user_data, out.map(into));
        binding::start(run, done).map(|running| running.map(|_| cancel))
    });
    match started.and_then(|out| out) {
        Ok(Some(cancel)) => Box::into_raw(Box::new(SyCall { cancel })),
        Ok(None) => std::ptr::null_mut(),
        Err(error) => {
            deliver(callback, user_data, Err(error));
            std::ptr::null_mut()
        }
    }
}

/// Cancels the call: its upstream request is dropped and its callback reports `canceled`
/// (unless it has already been called). NULL is ignored; canceling twice is harmless.
///
/// # Safety
/// `call` is NULL or a live `SyCall` (not yet freed).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sy_call_cancel(call: *const SyCall) {
    // SAFETY: as this function's contract states.
    if let Some(call) = unsafe { call.as_ref() } {
        // A stored permit: a cancel before the call is first polled still ends it.
        call.cancel.notify_one();
    }
}

/// Frees a cancel handle; the call goes on (freeing does not cancel). NULL is ignored.
///
/// # Safety
/// `call` is NULL or a `SyCall` from this library, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sy_call_free(call: *mut SyCall) {
    if !call.is_null() {
        // SAFETY: as this function's contract states.
        drop(unsafe { Box::from_raw(call) });
    }
}
