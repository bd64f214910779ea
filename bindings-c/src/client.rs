//! `SyClient`: the engine's `ClientHandle` behind an opaque pointer. Specs, requests,
//! options and configs go in as JSON; calls answer through a callback, the rest at once.

use std::ffi::c_char;

use serde_json::Value;
use switchyard::Error;
use switchyard::binding::{ClientHandle, ClientSpec, ConfigInput, catch_panic};
use switchyard::validate::decode;

use crate::call::{Delivered, SyCall, SyCallback, SyStatus, start};
use crate::stream::SyStream;
use crate::text::{Out, error_json, json_at};

/// A client: the engine of this process. Thread-safe: any thread may use it at once.
/// The caller's, freed with `sy_client_free`.
#[derive(Debug)]
pub struct SyClient {
    handle: ClientHandle,
}

/// The client behind `client`, or a `bad_request` for NULL.
///
/// # Safety
/// `client` is NULL or a live `SyClient`.
unsafe fn handle_of<'a>(client: *const SyClient) -> Result<&'a ClientHandle, Error> {
    // SAFETY: as this function's contract states.
    unsafe { client.as_ref() }
        .map(|c| &c.handle)
        .ok_or_else(|| Error::bad_request("client", "the client is NULL"))
}

/// Opens a client from its spec (`config`, `watch`, `server`, `api_key`, `config_cache`,
/// `otlp_endpoint`, `service_name`, as in `docs/bindings.md`; empty or `null`: the
/// environment). Blocks: a server source waits here for its first config. On success
/// `*out` is the client; on failure `*error` is the error's JSON (free it with
/// `sy_string_free`) and `*out` is NULL.
///
/// # Safety
/// `spec` points to `spec_len` readable bytes (or is NULL with 0); `out` and `error` are
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sy_client_open(
    spec: *const c_char,
    spec_len: usize,
    out: *mut *mut SyClient,
    error: *mut *mut c_char,
) -> SyStatus {
    if !out.is_null() {
        // SAFETY: writable per the contract.
        unsafe { *out = std::ptr::null_mut() };
    }
    let opened = catch_panic(|| {
        // SAFETY: as this function's contract states.
        let spec = unsafe { json_at(spec, spec_len, "spec") }?;
        ClientHandle::open(ClientSpec::from_json(spec)?)
    })
    .and_then(|out| out);
    match (opened, out.is_null()) {
        (Ok(handle), false) => {
            // SAFETY: writable per the contract.
            unsafe { *out = Box::into_raw(Box::new(SyClient { handle })) };
            SyStatus::Ok
        }
        (Ok(_), true) => SyStatus::Error,
        (Err(e), _) => {
            if !error.is_null() {
                // SAFETY: writable per the contract; the caller frees the string.
                unsafe { *error = error_json(&e).into_raw() };
            }
            SyStatus::Error
        }
    }
}

/// Frees the client. Calls still in flight finish; call `sy_client_close` first to wait
/// for them and ship usage. NULL is ignored.
///
/// # Safety
/// `client` is NULL or a `SyClient` from `sy_client_open`, freed once, with no other call
/// on it running or made later.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sy_client_free(client: *mut SyClient) {
    if !client.is_null() {
        // SAFETY: as this function's contract states.
        let client = unsafe { Box::from_raw(client) };
        if catch_panic(move || drop(client)).is_err() {
            tracing::error!("dropping a client panicked");
        }
    }
}

/// The JSON bytes of a request or options argument.
///
/// # Safety
/// `ptr` points to `len` readable bytes, or is NULL with 0.
unsafe fn arg(ptr: *const c_char, len: usize, field: &str) -> Result<Value, Error> {
    // SAFETY: as this function's contract states.
    unsafe { json_at(ptr, len, field) }
}

/// Reads a call's client, request and options, and starts it with `f`.
///
/// # Safety
/// As `sy_chat`.
unsafe fn with_request<'a, F>(
    client: *const SyClient,
    (request, request_len): (*const c_char, usize),
    (options, options_len): (*const c_char, usize),
    f: impl FnOnce(&'a ClientHandle, Value, Value) -> Result<F, Error>,
) -> Result<F, Error> {
    // SAFETY: as this function's contract states.
    let (handle, request, options) = unsafe {
        (
            handle_of(client)?,
            arg(request, request_len, "request")?,
            arg(options, options_len, "options")?,
        )
    };
    f(handle, request, options)
}

/// A chat completion. `request` is the OpenAI-shaped request, `options` the call options
/// (`timeout` in seconds, `user`, `tags`, `cache`, `max_retries`, ...; empty: none). The
/// callback gets the `ChatCompletion` with `switchyard` (the call's meta), or the error.
/// Returns the call's cancel handle (free it with `sy_call_free`), or NULL when the callback
/// has already been called (the call ended within the inline window or could not start)
/// or `callback` is NULL.
///
/// # Safety
/// `client` is NULL or a live `SyClient`; each pointer with a length points to that many
/// readable bytes (or is NULL with 0). The bytes are read before this function returns.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sy_chat(
    client: *const SyClient,
    request: *const c_char,
    request_len: usize,
    options: *const c_char,
    options_len: usize,
    callback: SyCallback,
    user_data: usize,
) -> *mut SyCall {
    // SAFETY: as this function's contract states.
    let call = || unsafe {
        with_request(
            client,
            (request, request_len),
            (options, options_len),
            ClientHandle::chat,
        )
    };
    start(callback, user_data, call, |v: Value| Delivered::json(&v))
}

/// A streamed chat completion: once the first chunk is in, the callback gets a `SyStream`
/// and that first chunk as its JSON (read in the same step, so that the first chunk costs
/// one crossing, not two; `null` for a stream that ended at once), or the error. The
/// stream's `sy_stream_next` reads from the second chunk on. Arguments and return as
/// `sy_chat`.
///
/// # Safety
/// As `sy_chat`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sy_chat_stream(
    client: *const SyClient,
    request: *const c_char,
    request_len: usize,
    options: *const c_char,
    options_len: usize,
    callback: SyCallback,
    user_data: usize,
) -> *mut SyCall {
    // SAFETY: as this function's contract states.
    let call = || unsafe {
        with_request(
            client,
            (request, request_len),
            (options, options_len),
            |handle, request, options| {
                let opening = handle.chat_stream(request, options)?;
                Ok(async move {
                    let stream = opening.await?;
                    let first = stream.next().await?;
                    Ok((stream, first))
                })
            },
        )
    };
    start(callback, user_data, call, |(s, first)| {
        Delivered::stream(SyStream::new(s), first.as_ref())
    })
}

/// Embeddings: the callback gets the `CreateEmbeddingResponse` with `switchyard`, or the
/// error. Arguments and return as `sy_chat`.
///
/// # Safety
/// As `sy_chat`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sy_embed(
    client: *const SyClient,
    request: *const c_char,
    request_len: usize,
    options: *const c_char,
    options_len: usize,
    callback: SyCallback,
    user_data: usize,
) -> *mut SyCall {
    // SAFETY: as this function's contract states.
    let call = || unsafe {
        with_request(
            client,
            (request, request_len),
            (options, options_len),
            ClientHandle::embed,
        )
    };
    start(callback, user_data, call, |v: Value| Delivered::json(&v))
}

/// Ships the usage recorded so far; the callback (JSON `null`) once the server has it, or
/// its spool on disk. Returns as `sy_chat`.
///
/// # Safety
/// `client` is NULL or a live `SyClient`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sy_flush(
    client: *const SyClient,
    callback: SyCallback,
    user_data: usize,
) -> *mut SyCall {
    let call = || {
        // SAFETY: as this function's contract states.
        let flushing = unsafe { handle_of(client) }?.flush()?;
        Ok(async move {
            flushing.await;
            Ok(Value::Null)
        })
    };
    start(callback, user_data, call, |v: Value| Delivered::json(&v))
}

/// Closes the client: later calls fail with `unavailable`; the callback (JSON `null`) once
/// the calls in flight have finished (after 5 s they are canceled), the config watcher has
/// stopped and usage is flushed. Free the client afterwards. Returns as `sy_chat`.
///
/// # Safety
/// `client` is NULL or a live `SyClient`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sy_client_close(
    client: *const SyClient,
    callback: SyCallback,
    user_data: usize,
) -> *mut SyCall {
    let call = || {
        // SAFETY: as this function's contract states.
        let closing = unsafe { handle_of(client) }?.close();
        Ok(async move {
            closing.await;
            Ok(Value::Null)
        })
    };
    start(callback, user_data, call, |v: Value| Delivered::json(&v))
}

/// Runs a synchronous query of the client and writes its JSON (or the error's) to `*out`.
///
/// # Safety
/// `client` is NULL or a live `SyClient`; `out` is writable.
unsafe fn query(
    client_ptr: *const SyClient,
    out: *mut *mut c_char,
    f: impl FnOnce(&ClientHandle) -> Result<Value, Error>,
) -> SyStatus {
    // SAFETY: as this function's contract states.
    let out = unsafe { Out::new(out) };
    // SAFETY: as this function's contract states.
    out.answer(|| f(unsafe { handle_of(client_ptr) }?))
}

/// The logical models callers may name, as OpenAI's model list (`{"object": "list",
/// "data": [...]}`), to `*out`; on failure the error's JSON. Free `*out` with
/// `sy_string_free`.
///
/// # Safety
/// `client` is NULL or a live `SyClient`; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sy_models(client: *const SyClient, out: *mut *mut c_char) -> SyStatus {
    // SAFETY: as this function's contract states.
    unsafe { query(client, out, ClientHandle::models) }
}

/// Calls, latencies, tokens, cost and errors so far, to `*out` (as `sy_models`).
///
/// # Safety
/// As `sy_models`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sy_metrics(client: *const SyClient, out: *mut *mut c_char) -> SyStatus {
    // SAFETY: as this function's contract states.
    unsafe { query(client, out, ClientHandle::metrics) }
}

/// The config in force (secrets as references, never keys), to `*out` (as `sy_models`).
///
/// # Safety
/// As `sy_models`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sy_config(client: *const SyClient, out: *mut *mut c_char) -> SyStatus {
    // SAFETY: as this function's contract states.
    unsafe { query(client, out, ClientHandle::config) }
}

/// Swaps in a new config: `config` is JSON, a file path (a string) or the document (an
/// object). An invalid one is refused (`*out`: the `config` error) and the old one stays;
/// on success `*out` is `null`. Free `*out` with `sy_string_free`.
///
/// # Safety
/// `client` is NULL or a live `SyClient`; `config` points to `config_len` readable bytes;
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sy_reload(
    client: *const SyClient,
    config: *const c_char,
    config_len: usize,
    out: *mut *mut c_char,
) -> SyStatus {
    // SAFETY: as this function's contract states.
    let config = unsafe { arg(config, config_len, "config") };
    // SAFETY: as this function's contract states.
    unsafe {
        query(client, out, |handle| {
            handle.reload(decode::<ConfigInput>(config?)?)?;
            Ok(Value::Null)
        })
    }
}
