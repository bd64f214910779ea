//! A streamed call as a binding holds it: `next` until `None`, `close` at any time, from
//! any thread. Closing (or dropping) it closes the upstream connection and settles the call.

use std::future::Future;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::Mutex as AsyncMutex;

use super::runtime::{Live, runtime};
use super::wire::{CHAT_COMPLETION_CHUNK, to_json};
use crate::client::{CallMeta, CallStream};
use crate::error::Result;

/// The open core stream, counted as live (a fork then leaves the runtime alone).
struct Open {
    stream: CallStream,
    _live: Live,
}

/// Cheap to clone: clones read the same stream.
#[derive(Clone)]
pub struct StreamHandle {
    open: Arc<AsyncMutex<Option<Open>>>,
    /// The meta as of the end, kept once the core stream is gone.
    last_meta: Arc<Mutex<Option<CallMeta>>>,
}

impl std::fmt::Debug for StreamHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamHandle")
            .field("meta", &self.meta())
            .finish_non_exhaustive()
    }
}

impl StreamHandle {
    pub fn new(stream: CallStream) -> Self {
        StreamHandle {
            open: Arc::new(AsyncMutex::new(Some(Open {
                stream,
                _live: Live::new(),
            }))),
            last_meta: Arc::new(Mutex::new(None)),
        }
    }

    /// The next chunk, `None` at the end. At the end or on an error the stream is closed.
    pub fn next(&self) -> impl Future<Output = Result<Option<Value>>> + Send + 'static {
        let this = self.clone();
        async move {
            let mut open = this.open.lock().await;
            let Some(current) = open.as_mut() else {
                return Ok(None);
            };
            match current.stream.next().await {
                Some(Ok(chunk)) => to_json(&chunk).map(|mut value| {
                    CHAT_COMPLETION_CHUNK.fill(&mut value);
                    Some(value)
                }),
                Some(Err(error)) => {
                    this.finish(open.take());
                    Err(error)
                }
                None => {
                    this.finish(open.take());
                    Ok(None)
                }
            }
        }
    }

    /// What the pipeline did; complete (cost included) once the stream has ended.
    pub fn meta(&self) -> CallMeta {
        let current = match self.open.try_lock() {
            Ok(open) => open.as_ref().map(|open| open.stream.meta()),
            Err(_) => None,
        };
        current
            .or_else(|| self.last_meta.lock().ok().and_then(|m| m.clone()))
            .unwrap_or_default()
    }

    /// Stops reading. A read in flight (another thread, an event loop's task) finishes
    /// first; the stream closes right after it.
    pub fn close(&self) -> Result<()> {
        match self.open.try_lock() {
            Ok(mut open) => self.finish(open.take()),
            Err(_) => {
                let this = self.clone();
                runtime()?.spawn(async move {
                    let taken = this.open.lock().await.take();
                    this.finish(taken);
                });
            }
        }
        Ok(())
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.open.try_lock(), Ok(open) if open.is_none())
    }

    /// Drops the core stream (settling the call), keeping its final meta.
    fn finish(&self, open: Option<Open>) {
        if let Some(open) = open {
            let meta = open.stream.meta();
            drop(open);
            if let Ok(mut slot) = self.last_meta.lock() {
                *slot = Some(meta);
            }
        }
    }
}
