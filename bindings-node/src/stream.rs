//! `NativeStream`: the engine's `StreamHandle` for Node: `next` returns a Promise of a
//! chunk (null at the end), `close` stops reading and drops the upstream request.

use napi::bindgen_prelude::Object;
use napi::{Env, Result};
use napi_derive::napi;
use serde_json::Value;
use switchyard::binding::StreamHandle;

use crate::call::{Host, NativeTask, promise};

#[napi]
pub struct NativeStream {
    handle: StreamHandle,
    host: Host,
}

impl NativeStream {
    pub fn new(handle: StreamHandle, host: Host) -> Self {
        NativeStream { handle, host }
    }
}

#[napi]
impl NativeStream {
    #[napi(ts_return_type = "Promise<unknown>")]
    pub fn next<'env>(&self, env: &'env Env, task: &NativeTask) -> Result<Object<'env>> {
        promise(
            env,
            &self.host,
            task,
            Ok(self.handle.next()),
            |chunk: Option<Value>| chunk.unwrap_or(Value::Null),
        )
    }

    /// What the pipeline did; complete (cost included) once the stream has ended.
    #[napi]
    pub fn meta(&self) -> Value {
        serde_json::to_value(self.handle.meta()).unwrap_or(Value::Null)
    }

    #[napi]
    pub fn close(&self) -> Result<()> {
        self.handle
            .close()
            .map_err(|e| napi::Error::from_reason(e.to_string()))
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.handle.is_closed()
    }
}
