//! A binding's client: the engine of this process (made again from the same spec in a
//! forked child), taking requests, options and configs as JSON and answering JSON.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::runtime::runtime;
use super::source::{ClientSpec, ConfigInput};
use super::stream::StreamHandle;
use super::wire::{CHAT_COMPLETION, EMBEDDING_RESPONSE, outcome_json, to_json};
use crate::client::{CallOptions, Client};
use crate::error::{Error, ErrorKind, Result};
use crate::process::PerProcess;
use crate::telemetry::export;
use crate::types::{ChatRequest, EmbeddingRequest};
use crate::validate::decode;

/// The OTLP service name when neither the spec nor `OTEL_SERVICE_NAME` names one.
const DEFAULT_SERVICE: &str = "switchyard";

/// How long `close` lets calls in flight finish before it cancels them.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// How long `close` then waits for the canceled calls to settle.
const CANCEL_WAIT: Duration = Duration::from_secs(1);

/// One binding-level client. Thread-safe; every method is cheap except `open`.
pub struct ClientHandle {
    /// What a forked child builds its own engine from (a reload replaces the config).
    spec: Mutex<ClientSpec>,
    client: PerProcess<Client>,
    closed: AtomicBool,
    in_flight: Arc<InFlight>,
}

impl std::fmt::Debug for ClientHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientHandle")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// Builds a client on the process runtime (health probes and watchers spawn on it).
fn build(spec: &ClientSpec) -> Result<Client> {
    let runtime = runtime()?;
    let _entered = runtime.enter();
    spec.clone()
        .builder(|name| std::env::var(name).ok())?
        .build()
}

impl ClientHandle {
    /// Builds the client now: a bad config fails here, and a server source waits for its
    /// first config (or its cache file). Blocks: call it off the host's event loop.
    pub fn open(spec: ClientSpec) -> Result<ClientHandle> {
        let client = build(&spec)?;
        export::install(
            spec.otlp_endpoint.as_deref(),
            spec.service_name.as_deref().unwrap_or(DEFAULT_SERVICE),
        )?;
        let handle = ClientHandle {
            spec: Mutex::new(spec),
            client: PerProcess::new(),
            closed: AtomicBool::new(false),
            in_flight: Arc::new(InFlight::new()),
        };
        handle.client.restore(client);
        Ok(handle)
    }

    /// The engine of this process; a forked child builds its own on first use.
    pub fn client(&self) -> Result<Client> {
        if self.is_closed() {
            return Err(Error::new(ErrorKind::Unavailable, "the client is closed"));
        }
        self.client.get_or_try_init(|| {
            let spec = self.spec.lock().unwrap_or_else(|p| p.into_inner()).clone();
            build(&spec)
        })
    }

    /// A chat completion. Bad input fails here, before anything is sent; the future runs
    /// the call (dropping it cancels the upstream request).
    pub fn chat(
        &self,
        request: Value,
        options: Value,
    ) -> Result<impl Future<Output = Result<Value>> + Send + 'static> {
        let (client, request, options) = self.prepare::<ChatRequest>(request, options)?;
        Ok(self.in_flight.track(async move {
            let outcome = client.chat(request, &options).await?;
            outcome_json(&outcome.response, &outcome.meta, &CHAT_COMPLETION)
        }))
    }

    /// A streamed chat completion; the future resolves once the first chunk is in.
    pub fn chat_stream(
        &self,
        request: Value,
        options: Value,
    ) -> Result<impl Future<Output = Result<StreamHandle>> + Send + 'static> {
        let (client, request, options) = self.prepare::<ChatRequest>(request, options)?;
        Ok(self.in_flight.track(async move {
            let stream = client.chat_stream(request, &options).await?;
            Ok(StreamHandle::new(stream))
        }))
    }

    pub fn embed(
        &self,
        request: Value,
        options: Value,
    ) -> Result<impl Future<Output = Result<Value>> + Send + 'static> {
        let (client, request, options) = self.prepare::<EmbeddingRequest>(request, options)?;
        Ok(self.in_flight.track(async move {
            let outcome = client.embed(request, &options).await?;
            outcome_json(&outcome.response, &outcome.meta, &EMBEDDING_RESPONSE)
        }))
    }

    /// What every call checks before it starts: the request, the options, an open client.
    fn prepare<R: DeserializeOwned>(
        &self,
        request: Value,
        options: Value,
    ) -> Result<(Client, R, CallOptions)> {
        let request = decode(request)?;
        let options = CallOptions::from_json(options)?;
        Ok((self.client()?, request, options))
    }

    /// The logical models callers may name, as OpenAI's model list.
    pub fn models(&self) -> Result<Value> {
        to_json(&self.client()?.models())
    }

    /// Calls, latencies, tokens, cost and errors so far.
    pub fn metrics(&self) -> Result<Value> {
        to_json(&self.client()?.metrics())
    }

    /// The config in force (secrets as the config serializes them: references, not keys).
    pub fn config(&self) -> Result<Value> {
        to_json(self.client()?.config().as_ref())
    }

    /// Swaps in a new config; an invalid one is refused and the old one stays. A forked
    /// child starts from this one too.
    pub fn reload(&self, config: ConfigInput) -> Result<()> {
        let config = config.load()?;
        let client = self.client()?;
        let runtime = runtime()?;
        let _entered = runtime.enter();
        client.reload(config.clone())?;
        let mut spec = self.spec.lock().unwrap_or_else(|p| p.into_inner());
        *spec = ClientSpec {
            config: Some(ConfigInput::Loaded(Box::new(config))),
            ..ClientSpec::default()
        };
        Ok(())
    }

    /// Ships the usage events recorded so far and returns the wait for the server's
    /// acknowledgement (or the spool, with the server away), bounded by the sink's limit.
    pub fn flush(&self) -> Result<impl Future<Output = ()> + Send + 'static> {
        let client = self.client()?;
        Ok(async move { client.flush().await })
    }

    /// Marks the client closed (later calls fail with `unavailable`) and returns the
    /// shutdown of this process's engine to wait on: the calls in flight finish (or, after
    /// [`CLOSE_GRACE`], are canceled), the watcher stops, usage and the telemetry buffered
    /// so far are flushed. A stream already open is the caller's to close.
    pub fn close(&self) -> impl Future<Output = ()> + Send + 'static {
        self.closed.store(true, Ordering::SeqCst);
        let client = self.client.take();
        let in_flight = self.in_flight.clone();
        async move {
            if !in_flight.settled(CLOSE_GRACE).await {
                tracing::warn!(
                    calls = in_flight.count.load(Ordering::SeqCst),
                    "closing: canceling the calls still in flight"
                );
                in_flight.cancel.send_replace(true);
                in_flight.settled(CANCEL_WAIT).await;
            }
            if let Some(client) = client {
                client.shutdown().await;
            }
            // The exporters' flush blocks until their threads have sent.
            if let Err(error) = tokio::task::spawn_blocking(export::flush).await {
                tracing::debug!(%error, "telemetry flush at close");
            }
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

/// The calls a handle has started and not yet finished, so that `close` can wait for
/// them, and cancel them when they take too long.
#[derive(Debug)]
struct InFlight {
    count: AtomicUsize,
    cancel: tokio::sync::watch::Sender<bool>,
}

/// One call counted from its start (even if never polled) until it is dropped.
struct Tracked(Arc<InFlight>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::SeqCst);
    }
}

impl InFlight {
    fn new() -> Self {
        InFlight {
            count: AtomicUsize::new(0),
            cancel: tokio::sync::watch::Sender::new(false),
        }
    }

    /// `call`, counted, and ended with `canceled` once `close` gives up waiting for it.
    fn track<T: Send + 'static>(
        self: &Arc<Self>,
        call: impl Future<Output = Result<T>> + Send + 'static,
    ) -> impl Future<Output = Result<T>> + Send + 'static {
        self.count.fetch_add(1, Ordering::SeqCst);
        let tracked = Tracked(self.clone());
        let mut cancel = self.cancel.subscribe();
        async move {
            let _tracked = tracked;
            tokio::select! {
                out = call => out,
                _ = cancel.wait_for(|canceled| *canceled) => {
                    Err(Error::new(ErrorKind::Canceled, "the client was closed"))
                }
            }
        }
    }

    /// Waits up to `limit` for every call to end; whether they all did.
    async fn settled(&self, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        while self.count.load(Ordering::SeqCst) != 0 {
            if Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn close_waits_for_calls_then_cancels_the_stragglers() {
        let in_flight = Arc::new(InFlight::new());
        let quick = tokio::spawn(in_flight.track(async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(1)
        }));
        let stuck = tokio::spawn(in_flight.track(std::future::pending::<Result<u32>>()));
        assert!(!in_flight.settled(Duration::from_millis(200)).await);
        assert_eq!(quick.await.unwrap(), Ok(1));
        in_flight.cancel.send_replace(true);
        assert!(in_flight.settled(Duration::from_secs(1)).await);
        assert_eq!(stuck.await.unwrap().unwrap_err().code(), "canceled");
        // A call made but never run is not waited for once dropped.
        drop(in_flight.track(async { Ok(()) }));
        assert_eq!(in_flight.count.load(Ordering::SeqCst), 0);
    }
}
