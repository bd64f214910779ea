//! What crosses the boundary as text: borrowed input bytes read as JSON (invalid UTF-8 or
//! JSON is a `bad_request` naming the argument), and answers and errors written as
//! NUL-terminated JSON strings that the caller frees with `sy_string_free`.

use std::ffi::{CString, c_char};

use serde_json::Value;
use switchyard::Error;
use switchyard::binding::catch_panic;

use crate::call::SyStatus;

/// The `len` bytes at `ptr`, borrowed; NULL is allowed only with a zero length.
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes that outlive the returned slice.
pub unsafe fn input<'a>(ptr: *const c_char, len: usize, field: &str) -> Result<&'a [u8], Error> {
    if ptr.is_null() {
        return match len {
            0 => Ok(&[]),
            _ => Err(Error::bad_request(field, "NULL with a non-zero length")),
        };
    }
    // SAFETY: the caller guarantees `len` readable bytes at a non-NULL `ptr`.
    Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

/// `bytes` as a JSON value; no bytes is `null` (an absent argument).
pub fn json(bytes: &[u8], field: &str) -> Result<Value, Error> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Error::bad_request(
            field,
            format!("not valid UTF-8 (at byte {})", e.valid_up_to()),
        )
    })?;
    serde_json::from_str(text)
        .map_err(|e| Error::bad_request(field, format!("not valid JSON: {e}")))
}

/// The JSON `len` bytes at `ptr` hold.
///
/// # Safety
/// As [`input`].
pub unsafe fn json_at(ptr: *const c_char, len: usize, field: &str) -> Result<Value, Error> {
    // SAFETY: as this function's contract states.
    json(unsafe { input(ptr, len, field) }?, field)
}

/// `value` as a C string. Serialized JSON escapes NUL, so the fallback is never taken.
pub fn c_json(value: &Value) -> CString {
    CString::new(value.to_string()).unwrap_or_else(|_| CString::from(c"null"))
}

/// An error as its data (`docs/bindings.md`, "Errors").
pub fn error_json(error: &Error) -> CString {
    match serde_json::to_value(error) {
        Ok(value) => c_json(&value),
        Err(_) => CString::from(
            c"{\"kind\":\"internal\",\"message\":\"unserializable error\",\"display\":\"internal: unserializable error\",\"retryable\":false}",
        ),
    }
}

/// Frees a string made by [`CString::into_raw`]. NULL is ignored.
///
/// # Safety
/// `s` is NULL or came from `CString::into_raw` in this library and is freed once.
pub unsafe fn free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: as this function's contract states.
        drop(unsafe { CString::from_raw(s) });
    }
}

/// An out parameter for a JSON answer (or, on failure, an error's JSON).
pub struct Out(*mut *mut c_char);

impl Out {
    /// # Safety
    /// `out` is NULL or writable.
    pub unsafe fn new(out: *mut *mut c_char) -> Self {
        if !out.is_null() {
            // SAFETY: writable per the contract; cleared so a failure never leaves garbage.
            unsafe { *out = std::ptr::null_mut() };
        }
        Out(out)
    }

    /// Runs `f` (a panic is an `internal` error) and writes its answer or error.
    pub fn answer(self, f: impl FnOnce() -> Result<Value, Error>) -> SyStatus {
        match catch_panic(f).and_then(|out| out) {
            Ok(value) => self.write(c_json(&value), SyStatus::Ok),
            Err(error) => self.write(error_json(&error), SyStatus::Error),
        }
    }

    fn write(self, text: CString, status: SyStatus) -> SyStatus {
        if !self.0.is_null() {
            // SAFETY: writable per `new`'s contract; the caller now owns the string.
            unsafe { *self.0 = text.into_raw() };
        }
        status
    }
}
