//! The two call styles for Java (`docs/bindings.md`): the calling Java thread waits
//! (`block`, the sync API: an interrupt of that thread cancels the call), or the call runs
//! on the engine and completes a Java `NativeCall` from an engine thread (`spawn`, the
//! async API's `CompletableFuture`; `cancel` drops it).

use std::future::Future;

use jni::JNIEnv;
use jni::objects::{JObject, JValue};
use jni::sys::jlong;
use switchyard::binding::{self, CallHandle};
use switchyard::{Error, ErrorKind};

use crate::error::{Result, error_json};
use crate::handles::into_handle;
use crate::host::Callback;

/// Runs `future` on the calling thread, checking every slice whether the thread was
/// interrupted; an interrupt drops the call (its upstream request) and is a `canceled`
/// error.
pub fn block<T>(
    env: &mut JNIEnv<'_>,
    future: impl Future<Output = switchyard::Result<T>>,
) -> Result<T> {
    let runtime = binding::runtime()?;
    Ok(binding::block_on(&runtime, future, || interrupted(env))??)
}

/// Runs `future` on the calling thread to its end, with no way out (closing, flushing).
pub fn block_fully<T>(future: impl Future<Output = T>) -> Result<T> {
    let runtime = binding::runtime()?;
    Ok(binding::block_on(&runtime, future, || {
        Ok::<(), switchyard::Error>(())
    })?)
}

fn interrupted(env: &mut JNIEnv<'_>) -> Result<()> {
    let interrupted = env.with_local_frame(4, |env| -> jni::errors::Result<bool> {
        let thread = env
            .call_static_method(
                "java/lang/Thread",
                "currentThread",
                "()Ljava/lang/Thread;",
                &[],
            )?
            .l()?;
        env.call_method(&thread, "isInterrupted", "()Z", &[])?.z()
    })?;
    if interrupted {
        return Err(Error::new(ErrorKind::Canceled, "the calling thread was interrupted").into());
    }
    Ok(())
}

/// How an answer reaches the Java `NativeCall`: `onValue(String)`, `onStream(long)`.
pub type Deliver<T> = fn(&mut JNIEnv<'_>, &JObject<'_>, T) -> jni::errors::Result<()>;

/// Starts `call` on the engine; its result completes `target` from an engine thread
/// (`onError(String)` with the error data on failure). The handle is the call's, to
/// cancel: a canceled call never calls back.
pub fn spawn<T, F>(
    env: &JNIEnv<'_>,
    target: &JObject<'_>,
    call: F,
    deliver: Deliver<T>,
) -> Result<jlong>
where
    F: Future<Output = switchyard::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let callback = Callback::new(env, target)?;
    let handle = binding::spawn(call, move |out| {
        callback.call(|env, target| match out {
            Ok(value) => deliver(env, target, value),
            Err(error) => {
                let data = env.new_string(error_json(&error))?;
                env.call_method(
                    target,
                    "onError",
                    "(Ljava/lang/String;)V",
                    &[JValue::Object(&data)],
                )?;
                Ok(())
            }
        });
    })?;
    Ok(into_handle::<CallHandle>(handle))
}

/// `onValue(json)`: an answer as JSON text.
pub fn deliver_json(
    env: &mut JNIEnv<'_>,
    target: &JObject<'_>,
    value: serde_json::Value,
) -> jni::errors::Result<()> {
    let text = env.new_string(value.to_string())?;
    env.call_method(
        target,
        "onValue",
        "(Ljava/lang/String;)V",
        &[JValue::Object(&text)],
    )?;
    Ok(())
}
