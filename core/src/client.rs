//! The client: what callers hold. It wraps the engine ([`crate::pipeline`], where the
//! request pipeline runs) and follows the config source it was built from.

mod config_cache;
mod config_server;
mod reload;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use crate::pipeline::{CallMeta, CallOptions, CallStream, ChatOutcome, EmbedOutcome};
pub use config_server::ConfigServer;

use crate::budget::{BudgetSource, InMemoryBudgets};
use crate::cache::SharedCache;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::lease::{LeaseClient, LeaseSettings, LeaseTransport};
use crate::pipeline::{self, Engine};
use crate::telemetry::{MetricsSnapshot, UsageSink};
use crate::types::{ChatRequest, EmbeddingRequest, ModelInfo, ModelList};
use crate::usage::UsageShipping;
use crate::validate;

/// The engine every binding wraps. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// The engine, and what follows its config source.
struct Inner {
    engine: Arc<Engine>,
    watcher: Mutex<Option<Watcher>>,
    /// The server's budgets and limits leased to this client, and their renewer.
    lease: Option<LeaseClient>,
}

/// Where a client's config comes from, and whether it is followed.
enum ConfigSource {
    Given,
    File {
        path: PathBuf,
        watch: Option<Duration>,
    },
    Server(ConfigServer),
}

/// Follows the config source until dropped.
enum Watcher {
    File {
        _watcher: reload::FileWatcher,
    },
    Server {
        _poller: config_server::ConfigPoller,
    },
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

/// Builds a [`Client`] from a config (a value or a file) and optional plug-ins.
#[derive(Default)]
pub struct ClientBuilder {
    config: Option<Config>,
    config_file: Option<PathBuf>,
    watch_interval: Option<Duration>,
    server: Option<ConfigServer>,
    sink: Option<Arc<dyn UsageSink>>,
    budget_source: Option<Arc<dyn BudgetSource>>,
    shared_cache: Option<Arc<dyn SharedCache>>,
    lease: Option<LeaseSettings>,
    lease_transport: Option<Arc<dyn LeaseTransport>>,
    no_lease: bool,
}

impl ClientBuilder {
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// Read the config from a YAML or JSON file.
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config_file = Some(path.into());
        self
    }

    /// Re-read the config file when it changes (checked every `interval`).
    pub fn watch_config_file(mut self, interval: Duration) -> Self {
        self.watch_interval = Some(interval);
        self
    }

    /// Take the config from the management server, and follow each version activated
    /// there. `build` waits for the first one (or the server's cache file).
    pub fn server(mut self, server: ConfigServer) -> Self {
        self.server = Some(server);
        self
    }

    /// Where usage events go. Without one, they are shipped to the config's `usage`
    /// server, else to the config server the client follows, else nowhere.
    pub fn usage_sink(mut self, sink: Arc<dyn UsageSink>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Where budget state lives (the server's leases); in memory by default.
    pub fn budget_source(mut self, source: Arc<dyn BudgetSource>) -> Self {
        self.budget_source = Some(source);
        self
    }

    /// How the client behaves before the server's first lease grant (see
    /// [`LeaseSettings`]). A client leases whenever it has a management server to talk to
    /// (server mode, or a config `usage` section).
    pub fn lease_settings(mut self, settings: LeaseSettings) -> Self {
        self.lease = Some(settings);
        self
    }

    /// Lease the server's budgets and limits through `transport` rather than over HTTP:
    /// how the server's gateway has its in-process clients spend the same slices an SDK
    /// does.
    pub fn lease_transport(mut self, transport: Arc<dyn LeaseTransport>) -> Self {
        self.lease_transport = Some(transport);
        self
    }

    /// Do not lease the server's budgets and limits (only the config's own apply).
    pub fn without_leases(mut self) -> Self {
        self.no_lease = true;
        self
    }

    /// A second cache tier shared between processes.
    pub fn shared_cache(mut self, tier: Arc<dyn SharedCache>) -> Self {
        self.shared_cache = Some(tier);
        self
    }

    pub fn build(self) -> Result<Client> {
        let watched = self.config_file.as_deref().map(reload::fingerprint);
        let (config, source, etag) = match (self.config, self.config_file, self.server) {
            (Some(config), _, _) => (config, ConfigSource::Given, None),
            (None, Some(path), _) => (
                Config::from_file(&path)?,
                ConfigSource::File {
                    path,
                    watch: self.watch_interval,
                },
                None,
            ),
            (None, None, Some(server)) => {
                let (config, etag) = config_server::first_config(&server)?;
                (config, ConfigSource::Server(server), etag)
            }
            (None, None, None) => {
                return Err(Error::from(crate::config::ConfigError::single(
                    "",
                    "no config given",
                )));
            }
        };
        let sink = match self.sink {
            Some(sink) => Some(sink),
            None => shipping(&config, &source)?,
        };
        let budget_source = self
            .budget_source
            .unwrap_or_else(|| Arc::new(InMemoryBudgets::default()));
        let settings = self.lease.unwrap_or_default();
        let lease = match (self.lease_transport, server_of(&config, &source)) {
            _ if self.no_lease => None,
            (Some(transport), _) => Some(crate::lease::start_with(transport, settings)),
            (None, Some((url, key))) => Some(crate::lease::start(url, key.clone(), settings)?),
            (None, None) => None,
        };
        let engine = Arc::new(Engine::new(
            config,
            budget_source,
            lease.as_ref().map(|l| Arc::clone(l.book())),
            self.shared_cache,
            sink,
        )?);
        let watcher = follow(&engine, source, watched.flatten(), etag);
        Ok(Client {
            inner: Arc::new(Inner {
                engine,
                watcher: Mutex::new(watcher),
                lease,
            }),
        })
    }
}

impl Client {
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A chat completion through the whole pipeline.
    pub async fn chat(&self, request: ChatRequest, options: &CallOptions) -> Result<ChatOutcome> {
        validate::chat_request(&request)?;
        let (response, meta) = self.inner.engine.call(&request, options).await?;
        Ok(ChatOutcome { response, meta })
    }

    /// A streamed chat completion. Chunks arrive as the upstream sends them; the stream
    /// ends cleanly only after the whole answer, and settles when it ends or is dropped.
    pub async fn chat_stream(
        &self,
        request: ChatRequest,
        options: &CallOptions,
    ) -> Result<CallStream> {
        validate::chat_request(&request)?;
        pipeline::stream(self.inner.engine.clone(), request, options.clone()).await
    }

    /// Embeddings through the same pipeline (no streaming, cached unless the mode is off).
    pub async fn embed(
        &self,
        request: EmbeddingRequest,
        options: &CallOptions,
    ) -> Result<EmbedOutcome> {
        validate::embedding_request(&request)?;
        let (response, meta) = self.inner.engine.call(&request, options).await?;
        Ok(EmbedOutcome { response, meta })
    }

    /// The logical models callers may name: the config's, less those off the guardrails'
    /// allow-list (a call to one would be refused).
    pub fn models(&self) -> ModelList {
        ModelList {
            object: "list".into(),
            data: self
                .inner
                .engine
                .callable_models()
                .iter()
                .map(|alias| ModelInfo::new(alias.as_str(), "switchyard"))
                .collect(),
        }
    }

    /// Calls, latencies, tokens, cost and errors so far, per model and deployment.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.engine.metrics()
    }

    /// The config in force.
    pub fn config(&self) -> Arc<Config> {
        self.inner.engine.config()
    }

    /// Swaps in a new config atomically. Calls in flight finish on the old one; an invalid
    /// config is rejected with every issue named, and the old one stays.
    pub fn reload(&self, config: Config) -> Result<()> {
        self.inner.engine.reload(config)
    }

    /// Ships the usage events recorded so far and waits until the server acknowledged
    /// them (or, with the server away, they are in the spool), within the sink's limit.
    pub async fn flush(&self) {
        self.inner.engine.flush().await;
    }

    /// Stops the config watcher, returns the server lease (with its final use) and
    /// flushes the usage sink.
    pub async fn shutdown(&self) {
        if let Ok(mut watcher) = self.inner.watcher.lock() {
            watcher.take();
        }
        if let Some(lease) = &self.inner.lease {
            lease.close().await;
        }
        self.inner.engine.flush().await;
    }
}

/// The management server a client talks to, and its app key: the config's `usage`
/// server, else the config server it follows.
fn server_of<'a>(
    config: &'a Config,
    source: &'a ConfigSource,
) -> Option<(&'a str, &'a crate::config::Secret)> {
    match (&config.usage, source) {
        (Some(usage), _) => Some((usage.server.as_str(), &usage.api_key)),
        (None, ConfigSource::Server(server)) => Some((server.url(), server.api_key())),
        (None, _) => None,
    }
}

/// The shipping sink a client gets by default: to the config's `usage` server, else to the
/// config server it follows.
fn shipping(config: &Config, source: &ConfigSource) -> Result<Option<Arc<dyn UsageSink>>> {
    let shipping = match (&config.usage, server_of(config, source)) {
        (Some(usage), _) => UsageShipping::from_config(usage),
        (None, Some((url, key))) => UsageShipping::new(url, key.clone()),
        (None, None) => return Ok(None),
    };
    let sink: Arc<dyn UsageSink> = shipping.start()?;
    Ok(Some(sink))
}

/// Starts following the config source: the file from its fingerprint `seen`, the server
/// from `etag`. The watcher holds the engine weakly and stops when dropped.
fn follow(
    engine: &Arc<Engine>,
    source: ConfigSource,
    seen: reload::Fingerprint,
    etag: Option<String>,
) -> Option<Watcher> {
    match source {
        ConfigSource::Given => None,
        ConfigSource::File { path, watch } => watch.map(|interval| Watcher::File {
            _watcher: reload::FileWatcher::spawn(path, seen, interval, Arc::downgrade(engine)),
        }),
        ConfigSource::Server(server) => Some(Watcher::Server {
            _poller: config_server::ConfigPoller::spawn(server, etag, Arc::downgrade(engine)),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bindings drive these futures on a multi-threaded runtime: they must stay `Send`.
    #[test]
    fn call_futures_are_send() {
        fn is_send<T: Send>(_: &T) {}
        let config = Config::from_yaml("version: 1").unwrap();
        let client = Client::builder().config(config).build().unwrap();
        let options = CallOptions::default();
        is_send(&client.chat(ChatRequest::default(), &options));
        is_send(&client.chat_stream(ChatRequest::default(), &options));
        is_send(&client.embed(EmbeddingRequest::new("e", "x"), &options));
    }
}
