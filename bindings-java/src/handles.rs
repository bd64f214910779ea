//! Engine objects owned by Java objects: each is boxed and its address handed to Java as a
//! `long`. The Java owner frees it once, through a `Cleaner` when the owner is unreachable,
//! so no call can still be using it (the Java side keeps the owner reachable across every
//! native call).

use jni::sys::jlong;
use switchyard::Error;

pub fn into_handle<T>(value: T) -> jlong {
    Box::into_raw(Box::new(value)) as jlong
}

/// The object behind a handle made by [`into_handle`] with the same `T`.
pub fn borrow<'a, T>(handle: jlong) -> Result<&'a T, Error> {
    if handle == 0 {
        return Err(Error::internal("a native handle used after it was freed"));
    }
    // SAFETY: the handle was made by `into_handle::<T>` and is freed only once its Java
    // owner is unreachable, after every call through it has returned.
    Ok(unsafe { &*(handle as *const T) })
}

pub fn free<T>(handle: jlong) {
    if handle != 0 {
        // SAFETY: as in `borrow`; Java frees each handle exactly once.
        drop(unsafe { Box::from_raw(handle as *mut T) });
    }
}
