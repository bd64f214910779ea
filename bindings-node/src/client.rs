//! `NativeClient`: the engine's `ClientHandle` for Node. Specs, requests and options go in
//! as JSON-shaped values; every call returns a Promise. Nothing is decided here.

use napi::bindgen_prelude::Object;
use napi::{Env, Result};
use napi_derive::napi;
use serde_json::Value;
use switchyard::ErrorKind;
use switchyard::binding::{ClientHandle, ClientSpec, ConfigInput, catch_panic};
use switchyard::validate::decode;

use std::convert::identity;

use crate::call::{Host, NativeFailure, NativeTask, promise};
use crate::stream::NativeStream;

#[napi]
pub struct NativeClient {
    handle: ClientHandle,
    host: Host,
}

/// A core error thrown synchronously (constructor, `models`): the JavaScript side reads
/// the data back from the message and throws its class.
fn thrown(error: &switchyard::Error) -> napi::Error {
    let failure = NativeFailure::new(error);
    napi::Error::from_reason(format!("switchyard:{}", failure.data_value()))
}

fn guarded<T>(f: impl FnOnce() -> switchyard::Result<T>) -> Result<T> {
    catch_panic(f).and_then(|out| out).map_err(|e| thrown(&e))
}

#[napi]
impl NativeClient {
    /// From the constructor's arguments as one object (`config`, `watch`, `server`,
    /// `api_key`, `config_cache`, ...); the engine resolves them, and the environment. A
    /// server source waits here for its first config.
    #[napi(constructor)]
    pub fn new(env: Env, spec: Option<Value>) -> Result<Self> {
        let host = Host::of(&env)?;
        let handle =
            guarded(|| ClientHandle::open(ClientSpec::from_json(spec.unwrap_or(Value::Null))?))?;
        Ok(NativeClient { handle, host })
    }

    /// The same as the constructor, but the engine is built on a blocking thread of the
    /// runtime and the Promise settles with the client: a server source's wait for its
    /// first config never blocks the event loop.
    #[napi(ts_return_type = "Promise<NativeClient | NativeFailure>")]
    pub fn open<'env>(
        env: &'env Env,
        spec: Option<Value>,
        task: &NativeTask,
    ) -> Result<Object<'env>> {
        let host = Host::of(env)?;
        let opening = ClientSpec::from_json(spec.unwrap_or(Value::Null)).map(|spec| async move {
            tokio::task::spawn_blocking(move || catch_panic(|| ClientHandle::open(spec)))
                .await
                .map_err(|e| switchyard::Error::new(ErrorKind::Internal, e.to_string()))?
                .and_then(identity)
        });
        let settle_host = host.clone();
        promise(env, &host, task, opening, move |handle| NativeClient {
            handle,
            host: settle_host,
        })
    }

    #[napi(ts_return_type = "Promise<unknown>")]
    pub fn chat<'env>(
        &self,
        env: &'env Env,
        request: Value,
        options: Option<Value>,
        task: &NativeTask,
    ) -> Result<Object<'env>> {
        let call = self.handle.chat(request, options.unwrap_or(Value::Null));
        promise(env, &self.host, task, call, identity)
    }

    #[napi(ts_return_type = "Promise<unknown>")]
    pub fn chat_stream<'env>(
        &self,
        env: &'env Env,
        request: Value,
        options: Option<Value>,
        task: &NativeTask,
    ) -> Result<Object<'env>> {
        let call = self
            .handle
            .chat_stream(request, options.unwrap_or(Value::Null));
        let host = self.host.clone();
        promise(env, &self.host, task, call, move |stream| {
            NativeStream::new(stream, host)
        })
    }

    #[napi(ts_return_type = "Promise<unknown>")]
    pub fn embed<'env>(
        &self,
        env: &'env Env,
        request: Value,
        options: Option<Value>,
        task: &NativeTask,
    ) -> Result<Object<'env>> {
        let call = self.handle.embed(request, options.unwrap_or(Value::Null));
        promise(env, &self.host, task, call, identity)
    }

    /// The logical models callers may name (no I/O: answered at once).
    #[napi]
    pub fn models(&self) -> Result<Value> {
        guarded(|| self.handle.models())
    }

    /// Calls, latencies, tokens, cost and errors so far, per model and deployment.
    #[napi]
    pub fn metrics(&self) -> Result<Value> {
        guarded(|| self.handle.metrics())
    }

    /// The config in force, secrets redacted as the engine serializes them.
    #[napi]
    pub fn config(&self) -> Result<Value> {
        guarded(|| self.handle.config())
    }

    /// Settles once the usage recorded so far reached the server (or, with the server
    /// away, its spool on disk).
    #[napi(ts_return_type = "Promise<unknown>")]
    pub fn flush<'env>(&self, env: &'env Env, task: &NativeTask) -> Result<Object<'env>> {
        let call = self.handle.flush().map(|flushing| async move {
            flushing.await;
            Ok(Value::Null)
        });
        promise(env, &self.host, task, call, identity)
    }

    /// Swaps in a new config (a path or an object); an invalid one throws a `config` error
    /// and the old one stays.
    #[napi]
    pub fn reload(&self, config: Value) -> Result<()> {
        guarded(|| {
            let config: ConfigInput = decode(config)?;
            self.handle.reload(config)
        })
    }

    /// Lets the calls in flight finish, stops the watcher, flushes usage.
    #[napi(ts_return_type = "Promise<unknown>")]
    pub fn close<'env>(&self, env: &'env Env, task: &NativeTask) -> Result<Object<'env>> {
        let closing = self.handle.close();
        let call = Ok(async move {
            closing.await;
            Ok(Value::Null)
        });
        promise(env, &self.host, task, call, identity)
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.handle.is_closed()
    }
}
