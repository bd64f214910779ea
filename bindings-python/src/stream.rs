//! A streamed chat call as a Python iterator (sync) and async iterator. Dropping or
//! closing it drops the core stream, which closes the upstream connection.

use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use pyo3::prelude::*;
use switchyard::{CallMeta, CallStream};
use tokio::sync::Mutex as AsyncMutex;

use crate::client::{NativeTask, meta_to_py, spawn_call};
use crate::convert::to_py;
use crate::errors::{guard, internal, to_pyerr};
use crate::runtime::{Live, runtime, wait};

/// The open core stream, counted as live (a fork then leaves the runtime alone).
struct Open {
    stream: CallStream,
    _live: Live,
}

type Shared = Arc<AsyncMutex<Option<Open>>>;

#[pyclass(module = "switchyard._native", frozen)]
pub struct NativeStream {
    inner: Shared,
    /// The meta as of the end (kept once the core stream is gone).
    last_meta: Arc<Mutex<Option<CallMeta>>>,
}

/// What one read produced.
enum Item {
    Chunk(serde_json::Value),
    End,
}

/// Reads the next chunk; at the end or on an error the core stream is dropped (settling
/// the call) and its final meta kept.
async fn next_item(
    inner: Shared,
    last_meta: Arc<Mutex<Option<CallMeta>>>,
) -> Result<Item, switchyard::Error> {
    let mut guard = inner.lock().await;
    let Some(open) = guard.as_mut() else {
        return Ok(Item::End);
    };
    let item = open.stream.next().await;
    let finish = |guard: &mut Option<Open>| {
        if let Some(open) = guard.take() {
            let meta = open.stream.meta();
            drop(open);
            if let Ok(mut slot) = last_meta.lock() {
                *slot = Some(meta);
            }
        }
    };
    match item {
        Some(Ok(chunk)) => serde_json::to_value(&chunk)
            .map(Item::Chunk)
            .map_err(|e| switchyard::Error::malformed(200, format!("cannot serialize: {e}"))),
        Some(Err(error)) => {
            finish(&mut guard);
            Err(error)
        }
        None => {
            finish(&mut guard);
            Ok(Item::End)
        }
    }
}

fn item_to_py(py: Python<'_>, item: Item) -> PyResult<Py<PyAny>> {
    match item {
        Item::Chunk(value) => Ok(to_py(py, &value)?.unbind()),
        Item::End => Ok(py.None()),
    }
}

impl NativeStream {
    pub fn new(stream: CallStream) -> Self {
        NativeStream {
            inner: Arc::new(AsyncMutex::new(Some(Open {
                stream,
                _live: Live::new(),
            }))),
            last_meta: Arc::new(Mutex::new(None)),
        }
    }
}

#[pymethods]
impl NativeStream {
    /// The next chunk as a dict, or None at the end. Blocks with the GIL released.
    fn next(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| {
            let item = wait(py, next_item(self.inner.clone(), self.last_meta.clone()))?
                .map_err(|e| to_pyerr(&e))?;
            item_to_py(py, item)
        })
    }

    /// Starts reading the next chunk; `callback(ok, chunk_or_None_or_exception)`.
    fn next_async(&self, callback: Py<PyAny>) -> PyResult<NativeTask> {
        guard(|| {
            spawn_call(
                next_item(self.inner.clone(), self.last_meta.clone()),
                item_to_py,
                callback,
            )
        })
    }

    /// What the pipeline did; complete (cost included) once the stream has ended.
    fn meta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let current = match self.inner.try_lock() {
            Ok(guard) => guard.as_ref().map(|open| open.stream.meta()),
            Err(_) => None,
        };
        let meta = current
            .or_else(|| self.last_meta.lock().ok().and_then(|m| m.clone()))
            .unwrap_or_default();
        meta_to_py(py, &meta)
    }

    /// Stops reading: the upstream connection is closed and the call settled.
    fn close(&self) -> PyResult<()> {
        let taken = match self.inner.try_lock() {
            Ok(mut guard) => guard.take(),
            Err(_) => {
                // A read is in flight (another thread or an asyncio task): close when it ends.
                let inner = self.inner.clone();
                let last_meta = self.last_meta.clone();
                runtime()
                    .map_err(|_| internal("no runtime to close the stream on"))?
                    .spawn(async move {
                        if let Some(open) = inner.lock().await.take() {
                            if let Ok(mut slot) = last_meta.lock() {
                                *slot = Some(open.stream.meta());
                            }
                        }
                    });
                None
            }
        };
        if let Some(open) = taken {
            if let Ok(mut slot) = self.last_meta.lock() {
                *slot = Some(open.stream.meta());
            }
            drop(open);
        }
        Ok(())
    }

    #[getter]
    fn closed(&self) -> bool {
        matches!(self.inner.try_lock(), Ok(guard) if guard.is_none())
    }
}
