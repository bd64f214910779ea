//! The bridge from a call on the engine runtime to a JavaScript Promise: the call runs on
//! the process runtime and settles a napi deferred (a thread-safe function) when done, so
//! the event loop is never blocked and stays alive only while a call is pending.

use std::future::Future;
use std::sync::{Arc, RwLock};

use napi::bindgen_prelude::{Either, Object};
use napi::{Env, Result};
use napi_derive::napi;
use serde_json::Value;
use switchyard::binding;
use switchyard::{Error, ErrorKind};
use tokio::sync::Notify;

/// A core error as the data of `docs/bindings.md`; `lib/errors.js` maps it to a class.
#[napi]
pub struct NativeFailure {
    data: Value,
}

#[napi]
impl NativeFailure {
    #[napi(getter)]
    pub fn data(&self) -> Value {
        self.data.clone()
    }
}

impl NativeFailure {
    pub fn new(error: &Error) -> Self {
        let data = serde_json::to_value(error).unwrap_or_else(|e| {
            serde_json::json!({"kind": "internal", "message": e.to_string(), "display": e.to_string(), "retryable": false})
        });
        NativeFailure { data }
    }

    pub fn data_value(&self) -> &Value {
        &self.data
    }
}

/// What a call settles its Promise with: the answer, or the error as data (never a
/// rejection, so the JavaScript side alone decides the error class).
pub type Settled<T> = Either<T, NativeFailure>;

/// A cancel switch the JavaScript side makes before a call and flips on abort. Canceling
/// settles the call with a `canceled` error (the upstream request is dropped), so the
/// Promise always settles and the thread-safe function is always released.
#[napi]
#[derive(Default)]
pub struct NativeTask {
    cancel: Arc<Notify>,
}

#[napi]
impl NativeTask {
    #[napi(constructor)]
    pub fn new() -> Self {
        NativeTask::default()
    }

    #[napi]
    pub fn cancel(&self) {
        // A stored permit: a cancel before the call starts still ends it.
        self.cancel.notify_one();
    }
}

/// The JavaScript environment (the main thread or a worker) calls settle into. A worker
/// torn down with calls in flight frees their thread-safe functions, so a call settling
/// later must not touch them: the environment's cleanup hook marks it gone, under a lock
/// that a settling call holds while it hands over its result.
#[derive(Clone, Default)]
pub struct Host {
    gone: Arc<RwLock<bool>>,
}

impl Host {
    pub fn of(env: &Env) -> Result<Host> {
        let host = Host::default();
        let hook = host.clone();
        env.add_env_cleanup_hook(hook, |hook| {
            *hook.gone.write().unwrap_or_else(|p| p.into_inner()) = true;
        })?;
        Ok(host)
    }

    /// Runs `settle` unless the environment is gone.
    fn enter(&self, settle: impl FnOnce()) {
        let gone = self.gone.read().unwrap_or_else(|p| p.into_inner());
        if !*gone {
            settle();
        }
    }
}

/// Starts `call` (or settles at once with the error that prevented it) on the engine
/// runtime; the returned Promise settles with `to_js` of its answer.
pub fn promise<'env, T, D, F>(
    env: &'env Env,
    host: &Host,
    task: &NativeTask,
    call: switchyard::Result<F>,
    to_js: impl FnOnce(T) -> D + Send + 'static,
) -> Result<Object<'env>>
where
    F: Future<Output = switchyard::Result<T>> + Send + 'static,
    T: Send + 'static,
    D: napi::bindgen_prelude::ToNapiValue + 'static,
{
    let (deferred, promise) = env.create_deferred()?;
    let cancel = task.cancel.clone();
    let run = async move {
        let call = call?;
        tokio::select! {
            out = call => out,
            () = cancel.notified() => Err(Error::new(ErrorKind::Canceled, "the call was aborted")),
        }
    };
    let host = host.clone();
    let done = move |out: switchyard::Result<T>| {
        host.enter(|| {
            deferred.resolve(move |_env: Env| -> Result<Settled<D>> {
                Ok(match out {
                    Ok(value) => Either::A(to_js(value)),
                    Err(error) => Either::B(NativeFailure::new(&error)),
                })
            });
        });
    };
    if let Err(error) = binding::spawn(run, done) {
        return Err(napi::Error::from_reason(error.to_string()));
    }
    Ok(promise)
}
