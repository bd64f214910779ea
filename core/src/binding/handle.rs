//! A binding's client: the engine of this process (made again from the same spec in a
//! forked child), taking requests, options and configs as JSON and answering JSON.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

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

/// One binding-level client. Thread-safe; every method is cheap except `open`.
pub struct ClientHandle {
    /// What a forked child builds its own engine from (a reload replaces the config).
    spec: Mutex<ClientSpec>,
    client: PerProcess<Client>,
    closed: AtomicBool,
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
        let request: ChatRequest = decode(request)?;
        let options = CallOptions::from_json(options)?;
        let client = self.client()?;
        Ok(async move {
            let outcome = client.chat(request, &options).await?;
            outcome_json(&outcome.response, &outcome.meta, &CHAT_COMPLETION)
        })
    }

    /// A streamed chat completion; the future resolves once the first chunk is in.
    pub fn chat_stream(
        &self,
        request: Value,
        options: Value,
    ) -> Result<impl Future<Output = Result<StreamHandle>> + Send + 'static> {
        let request: ChatRequest = decode(request)?;
        let options = CallOptions::from_json(options)?;
        let client = self.client()?;
        Ok(async move {
            let stream = client.chat_stream(request, &options).await?;
            Ok(StreamHandle::new(stream))
        })
    }

    pub fn embed(
        &self,
        request: Value,
        options: Value,
    ) -> Result<impl Future<Output = Result<Value>> + Send + 'static> {
        let request: EmbeddingRequest = decode(request)?;
        let options = CallOptions::from_json(options)?;
        let client = self.client()?;
        Ok(async move {
            let outcome = client.embed(request, &options).await?;
            outcome_json(&outcome.response, &outcome.meta, &EMBEDDING_RESPONSE)
        })
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

    /// Marks the client closed (later calls fail with `unavailable`) and returns the
    /// shutdown of this process's engine to wait on: the watcher stops, usage and the
    /// telemetry buffered so far are flushed.
    pub fn close(&self) -> impl Future<Output = ()> + Send + 'static {
        self.closed.store(true, Ordering::SeqCst);
        let client = self.client.take();
        async move {
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
