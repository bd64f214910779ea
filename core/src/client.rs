//! The client: what callers hold, and the request pipeline, top to bottom.
//!
//! ```text
//! 1 resolve   logical model -> route                          runtime.route
//! 3 cache     exact-match lookup, identical misses coalesced  cache_plan + ResponseCache
//! 2 admit     rate limits, budget reservation (on a miss)     admit
//! 4 pick      strategy + health + rollout                     attempt::execute
//! 5 call      provider adapter, timeouts, retries             attempt::execute
//! 6 fall back by error kind, then the next model              attempt::execute
//! 7 settle    actual cost against the reservation, telemetry  settle + report
//! ```
//!
//! The cache comes before admission: a hit spends nothing upstream, so it needs neither a
//! rate-limit slot nor budget, and coalesced callers are admitted once, by the one call
//! that goes upstream.

mod attempt;
mod cached;
mod call_stream;
mod config_server;
mod options;
mod probe;
mod reload;
mod report;
mod runtime;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use tracing::Instrument;

pub use call_stream::CallStream;
pub use config_server::ConfigServer;
pub use options::{CallMeta, CallOptions, ChatOutcome, EmbedOutcome};

use self::attempt::{CallContext, Served};
use self::cached::{CachedAnswer, CachedBody};
use self::report::Report;
use self::runtime::{ModelRoute, Runtime};
use crate::budget::{BudgetSource, CallScope, InMemoryBudgets, Reservation};
use crate::cache::{self, CacheControl, CacheKey, Lookup, ResponseCache, SharedCache};
use crate::config::{BudgetAction, CacheMode, Config, StickyKey};
use crate::error::{Error, Result};
use crate::routing::HealthRegistry;
use crate::telemetry::{Metrics, MetricsSnapshot, UsageSink, call_span};
use crate::types::{ChatRequest, EmbeddingRequest, ModelInfo, ModelList, Usage};
use crate::{estimate, pricing, validate};

/// The engine every binding wraps. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    runtime: ArcSwap<Runtime>,
    health: HealthRegistry,
    budget_source: Arc<dyn BudgetSource>,
    cache: ResponseCache<CachedAnswer>,
    metrics: Metrics,
    sink: Option<Arc<dyn UsageSink>>,
    /// Where the config comes from, so a forked child can watch it again.
    source: ConfigSource,
    watcher: Mutex<Option<Watcher>>,
}

/// Where a client's config comes from, and whether it is followed.
#[derive(Clone)]
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

    pub fn usage_sink(mut self, sink: Arc<dyn UsageSink>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Where budget state lives (the server's leases); in memory by default.
    pub fn budget_source(mut self, source: Arc<dyn BudgetSource>) -> Self {
        self.budget_source = Some(source);
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
        let health = HealthRegistry::new();
        let budget_source = self
            .budget_source
            .unwrap_or_else(|| Arc::new(InMemoryBudgets::default()));
        let mut cache = ResponseCache::new(&config.cache);
        if let Some(tier) = self.shared_cache {
            cache = cache.with_shared_tier(tier);
        }
        let runtime = Runtime::build(config, &health, budget_source.clone())?;
        let inner = Arc::new(Inner {
            runtime: ArcSwap::from_pointee(runtime),
            health,
            budget_source,
            cache,
            metrics: Metrics::default(),
            sink: self.sink,
            source,
            watcher: Mutex::new(None),
        });
        inner.follow(watched.flatten(), etag);
        Ok(Client { inner })
    }
}

/// Where step 3 looks and stores.
struct CachePlan {
    key: CacheKey,
    ttl: Duration,
    /// Skip the lookup, store the fresh answer.
    refresh: bool,
}

impl Client {
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A chat completion through the whole pipeline.
    pub async fn chat(&self, request: ChatRequest, options: &CallOptions) -> Result<ChatOutcome> {
        validate::chat_request(&request)?;
        let runtime = self.inner.runtime.load_full();
        let mut call = self
            .inner
            .begin(&runtime, &request.model, request.user.as_deref(), options);
        let span = call_span("chat", &request.model);
        let result = self
            .chat_pipeline(&runtime, &request, options, &mut call)
            .instrument(span.clone())
            .await;
        let (meta, usage, error) = match &result {
            Ok(outcome) => (Some(&outcome.meta), outcome.response.usage.as_ref(), None),
            Err(error) => (None, None, Some(error)),
        };
        self.inner.report(
            &span,
            Report {
                operation: "chat",
                alias: &request.model,
                call: &call,
                options,
                meta,
                usage,
                error,
                ttft: None,
                stream: false,
            },
        );
        result
    }

    async fn chat_pipeline(
        &self,
        runtime: &Runtime,
        request: &ChatRequest,
        options: &CallOptions,
        call: &mut CallContext,
    ) -> Result<ChatOutcome> {
        // 1 resolve
        let route = runtime.route(&request.model)?;
        // 3 cache, looked up before admission: a hit spends nothing upstream, so it takes
        // no rate-limit slot and no budget, and coalesced callers are admitted once.
        let plan = self
            .inner
            .cache_plan(runtime, route, request, options.cache);
        // 2 admit, 4-6 pick, call, fall back, 7 settle the reservation: `serve_chat`,
        // run only on a miss
        let serve = self.inner.serve_chat(runtime, route, request, call);
        let (answer, hit) = match plan {
            Some(plan) if !plan.refresh => {
                let (answer, lookup) = self
                    .inner
                    .cache
                    .get_or_fetch(plan.key, plan.ttl, serve)
                    .await?;
                (answer, lookup != Lookup::Fetched)
            }
            Some(plan) => {
                let answer = serve.await?;
                self.inner
                    .cache
                    .insert(plan.key, answer.clone(), plan.ttl)
                    .await;
                (answer, false)
            }
            None => (serve.await?, false),
        };
        let meta = self.inner.meta(&answer, hit, call);
        let response = answer.into_chat_response().ok_or_else(|| {
            Error::malformed(200, "the cache held a non-chat answer for a chat request")
        })?;
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
        call_stream::start(self.inner.clone(), request, options.clone()).await
    }

    /// Embeddings through the same pipeline (no streaming, cached unless the mode is off).
    pub async fn embed(
        &self,
        request: EmbeddingRequest,
        options: &CallOptions,
    ) -> Result<EmbedOutcome> {
        validate::embedding_request(&request)?;
        let runtime = self.inner.runtime.load_full();
        let mut call = self
            .inner
            .begin(&runtime, &request.model, request.user.as_deref(), options);
        let span = call_span("embeddings", &request.model);
        let result = self
            .embed_pipeline(&runtime, &request, options, &mut call)
            .instrument(span.clone())
            .await;
        let usage = result
            .as_ref()
            .ok()
            .map(|o| Usage::new(o.response.usage.prompt_tokens, 0));
        let (meta, error) = match &result {
            Ok(outcome) => (Some(&outcome.meta), None),
            Err(error) => (None, Some(error)),
        };
        self.inner.report(
            &span,
            Report {
                operation: "embeddings",
                alias: &request.model,
                call: &call,
                options,
                meta,
                usage: usage.as_ref(),
                error,
                ttft: None,
                stream: false,
            },
        );
        result
    }

    async fn embed_pipeline(
        &self,
        runtime: &Runtime,
        request: &EmbeddingRequest,
        options: &CallOptions,
        call: &mut CallContext,
    ) -> Result<EmbedOutcome> {
        let route = runtime.route(&request.model)?.clone();
        let mode = route
            .config
            .cache
            .as_ref()
            .map_or(runtime.config.cache.mode, |c| c.mode);
        let cacheable = mode != CacheMode::Off && !matches!(options.cache, CacheControl::Bypass);
        let fetch = self.inner.serve_embedding(runtime, &route, request, call);
        let (answer, hit) = if cacheable {
            let ttl = Duration::from_secs(
                route
                    .config
                    .cache
                    .as_ref()
                    .and_then(|c| c.ttl_secs)
                    .unwrap_or(runtime.config.cache.default_ttl_secs),
            );
            let key = cache::embedding_key(&route.alias, request);
            let (answer, lookup) = self.inner.cache.get_or_fetch(key, ttl, fetch).await?;
            (answer, lookup != Lookup::Fetched)
        } else {
            (fetch.await?, false)
        };
        let response = answer
            .embedding()
            .ok_or_else(|| Error::malformed(200, "the cache held a non-embedding answer"))?;
        let meta = self.inner.meta(&answer, hit, call);
        Ok(EmbedOutcome { response, meta })
    }

    /// The logical models callers may name.
    pub fn models(&self) -> ModelList {
        let runtime = self.inner.runtime.load();
        ModelList {
            object: "list".into(),
            data: runtime
                .config
                .models
                .keys()
                .map(|alias| ModelInfo::new(alias.as_str(), "switchyard"))
                .collect(),
        }
    }

    /// Calls, latencies, tokens, cost and errors so far, per model and deployment.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.metrics.snapshot()
    }

    /// The config in force.
    pub fn config(&self) -> Arc<Config> {
        self.inner.runtime.load().config.clone()
    }

    /// Swaps in a new config atomically. Calls in flight finish on the old one; an invalid
    /// config is rejected with every issue named, and the old one stays.
    pub fn reload(&self, config: Config) -> Result<()> {
        self.inner.reload(config)
    }

    /// Rebuilds every provider adapter on a fresh connection pool. Call it in a child
    /// process after `fork()` (the Python SDK does), before the child's first call: the
    /// parent's pooled connections belong to threads the child does not have. State that
    /// survives a fork intact (health, budgets, the cache) is kept.
    pub fn after_fork(&self) -> Result<()> {
        let config = (*self.inner.runtime.load().config).clone();
        self.inner.reload(config)?;
        // The watcher's thread stayed in the parent; the child follows the source anew.
        if let Ok(mut watcher) = self.inner.watcher.lock() {
            std::mem::forget(watcher.take());
        }
        let seen = match &self.inner.source {
            ConfigSource::File { path, .. } => reload::fingerprint(path),
            _ => None,
        };
        self.inner.follow(seen, None);
        Ok(())
    }

    /// Stops the config watcher and flushes the usage sink.
    pub async fn shutdown(&self) {
        if let Ok(mut watcher) = self.inner.watcher.lock() {
            watcher.take();
        }
        if let Some(sink) = &self.inner.sink {
            sink.flush();
        }
    }
}

impl Inner {
    /// Starts following the config source: the file from its fingerprint `seen`, the
    /// server from `etag`.
    fn follow(self: &Arc<Self>, seen: reload::Fingerprint, etag: Option<String>) {
        let watcher = match &self.source {
            ConfigSource::Given => None,
            ConfigSource::File { path, watch } => watch.map(|interval| {
                let watcher =
                    reload::FileWatcher::spawn(path.clone(), seen, interval, Arc::downgrade(self));
                Watcher::File { _watcher: watcher }
            }),
            ConfigSource::Server(server) => {
                let poller =
                    config_server::ConfigPoller::spawn(server.clone(), etag, Arc::downgrade(self));
                Some(Watcher::Server { _poller: poller })
            }
        };
        if let Ok(mut slot) = self.watcher.lock() {
            *slot = watcher;
        }
    }

    fn reload(&self, config: Config) -> Result<()> {
        let runtime = Runtime::build(config, &self.health, self.budget_source.clone())?;
        self.runtime.store(Arc::new(runtime));
        tracing::info!("configuration reloaded");
        Ok(())
    }

    fn begin(
        &self,
        runtime: &Runtime,
        alias: &str,
        request_user: Option<&str>,
        options: &CallOptions,
    ) -> CallContext {
        let identity = &runtime.config.identity;
        let user = options
            .user
            .clone()
            .or_else(|| request_user.map(str::to_owned));
        let scope = CallScope {
            tenant: options.tenant.clone().or_else(|| identity.tenant.clone()),
            app: options.app.clone().or_else(|| identity.app.clone()),
            user,
            model: alias.to_owned(),
            tags: options.tags.clone(),
        };
        let rollout_key = runtime
            .routes
            .get(alias)
            .and_then(|r| r.config.rollout.as_ref())
            .map(|rollout| rollout.sticky_by);
        let sticky_key = match rollout_key {
            Some(StickyKey::Session) => options.session.clone(),
            Some(StickyKey::Tenant) => scope.tenant.clone(),
            Some(StickyKey::User) | None => scope.user.clone(),
        };
        let started = Instant::now();
        let timeout = options.timeout.or_else(|| {
            runtime
                .routes
                .get(alias)
                .and_then(|r| r.config.deadline_ms)
                .map(Duration::from_millis)
        });
        CallContext {
            started,
            deadline: timeout.map(|t| started + t),
            scope,
            sticky_key,
            pinned: options.deployment.clone(),
            attempts: 0,
            fallback: None,
            avoid: None,
            capacity_tokens: 0,
            provider_name: None,
            max_retries: options.max_retries,
        }
    }

    /// Step 2: rate limits, then a budget reservation for the estimated cost. A hard budget
    /// with `reroute` sends the call to its cheaper model instead of refusing it.
    async fn admit(
        &self,
        runtime: &Runtime,
        route: &Arc<ModelRoute>,
        request: &ChatRequest,
        call: &mut CallContext,
    ) -> Result<(Arc<ModelRoute>, Reservation)> {
        let first = &route.targets[0];
        let exact_prompt = || estimate::prompt_tokens(first.kind, &first.upstream_model, request);
        let output_tokens = estimate::output_tokens(request);
        // A TPM limit or capacity charges the exact count, as the provider will count it.
        let counted = (runtime.capacity_counts_tokens || runtime.limits.counts_tokens(&call.scope))
            .then(exact_prompt);
        let limited_tokens = counted.map_or(0, |prompt| prompt + output_tokens);
        call.capacity_tokens = limited_tokens;
        runtime
            .limits
            .admit(&call.scope, limited_tokens, call.deadline)
            .await?;
        // A priced hard budget first gets a cheap bound on the prompt: with room for it,
        // the exact count is moot, and tokenizing is the costliest step of admission.
        let priced = route.worst_price().is_some() && runtime.budgets.holds_for(&call.scope);
        let mut prompt_tokens = match counted {
            Some(exact) => exact,
            None if priced => {
                estimate::prompt_tokens_bound(first.kind, &first.upstream_model, request)
            }
            None => 0,
        };
        let estimate_usd = |route: &ModelRoute, prompt_tokens: u64| {
            route.worst_price().map_or(0.0, |p| {
                pricing::cost_usd(&p, &Usage::new(prompt_tokens, output_tokens))
            })
        };
        let now = SystemTime::now();
        let mut reserved =
            runtime
                .budgets
                .reserve(&call.scope, estimate_usd(route, prompt_tokens), now);
        if reserved.is_err() && priced && counted.is_none() {
            // The bound did not fit: the exact count decides.
            prompt_tokens = exact_prompt();
            reserved =
                runtime
                    .budgets
                    .reserve(&call.scope, estimate_usd(route, prompt_tokens), now);
        }
        match reserved {
            Ok(reservation) => Ok((route.clone(), reservation)),
            Err(refusal) if refusal.action == BudgetAction::Reroute => {
                let target = refusal.reroute_to.clone().unwrap_or_default();
                let rerouted = runtime.route(&target)?.clone();
                tracing::warn!(budget = %refusal.budget, to = %target, "budget spent: rerouting");
                let reservation = runtime
                    .budgets
                    .reserve(&call.scope, estimate_usd(&rerouted, prompt_tokens), now)
                    .map_err(|refusal| refusal.into_error())?;
                call.fallback = Some(target);
                Ok((rerouted, reservation))
            }
            Err(refusal) => Err(refusal.into_error()),
        }
    }

    /// Step 3's plan: whether this call may be answered from the cache, and for how long
    /// its answer is kept.
    fn cache_plan(
        &self,
        runtime: &Runtime,
        route: &ModelRoute,
        request: &ChatRequest,
        control: CacheControl,
    ) -> Option<CachePlan> {
        let policy = route.config.cache.as_ref();
        let mode = policy.map_or(runtime.config.cache.mode, |p| p.mode);
        if !cache::is_cacheable(mode, request, control) {
            return None;
        }
        let ttl = policy
            .and_then(|p| p.ttl_secs)
            .unwrap_or(runtime.config.cache.default_ttl_secs);
        Some(CachePlan {
            key: cache::chat_key(&route.alias, request),
            ttl: Duration::from_secs(ttl),
            refresh: matches!(control, CacheControl::Refresh),
        })
    }

    /// Steps 2 and 4 to 7 for a chat call that the cache did not answer: admission, the
    /// attempts, and the actual cost settled against the reservation. Packaged as what
    /// the cache stores.
    async fn serve_chat(
        &self,
        runtime: &Runtime,
        route: &Arc<ModelRoute>,
        request: &ChatRequest,
        call: &mut CallContext,
    ) -> Result<CachedAnswer> {
        let (route, reservation) = self.admit(runtime, route, request, call).await?;
        let served = attempt::execute(runtime, &route, call, |spec| async move {
            spec.provider.chat(request, &spec.target()).await
        })
        .await?;
        let cost = served_cost(&served, served.value.usage.as_ref());
        settle(reservation, cost);
        let (answer, served) = served.take();
        Ok(answer_from(
            &served,
            CachedBody::Chat(Arc::new(answer)),
            cost,
        ))
    }

    async fn serve_embedding(
        &self,
        runtime: &Runtime,
        route: &Arc<ModelRoute>,
        request: &EmbeddingRequest,
        call: &mut CallContext,
    ) -> Result<CachedAnswer> {
        let tokens: u64 = if runtime.needs_token_estimate(route, &call.scope) {
            let texts = request.input.texts().unwrap_or_default();
            texts.iter().map(|t| estimate::text_tokens(t)).sum()
        } else {
            0
        };
        runtime
            .limits
            .admit(&call.scope, tokens, call.deadline)
            .await?;
        call.capacity_tokens = tokens;
        let estimate_usd = route
            .worst_price()
            .map_or(0.0, |p| pricing::cost_usd(&p, &Usage::new(tokens, 0)));
        let reservation = runtime
            .budgets
            .reserve(&call.scope, estimate_usd, SystemTime::now())
            .map_err(|refusal| refusal.into_error())?;
        let served = attempt::execute(runtime, route, call, |spec| async move {
            spec.provider.embed(request, &spec.target()).await
        })
        .await?;
        let usage = Usage::new(served.value.usage.prompt_tokens, 0);
        let cost = served_cost(&served, Some(&usage));
        settle(reservation, cost);
        let (answer, served) = served.take();
        Ok(answer_from(
            &served,
            CachedBody::Embedding(Arc::new(answer)),
            cost,
        ))
    }

    /// What the pipeline did for a call, from the answer and the call's state. A hit
    /// cost nothing and made no attempt.
    fn meta(&self, answer: &CachedAnswer, hit: bool, call: &CallContext) -> CallMeta {
        CallMeta {
            model: answer.model.clone(),
            deployment: answer.deployment.clone(),
            provider: answer.provider.clone(),
            upstream_model: answer.upstream_model.clone(),
            attempts: if hit { 0 } else { call.attempts },
            cache_hit: hit,
            fallback: call.fallback.clone(),
            cost_usd: if hit { 0.0 } else { answer.cost_usd },
            latency: call.started.elapsed(),
            local: !hit && answer.local,
        }
    }

    fn report(&self, span: &tracing::Span, report: Report<'_>) {
        report::report(&self.metrics, self.sink.as_deref(), span, report);
    }
}

/// Step 7 for spend: the actual cost replaces the reservation.
pub(crate) fn settle(reservation: Reservation, cost_usd: f64) {
    for event in reservation.settle(cost_usd) {
        tracing::warn!(
            budget = %event.budget,
            scope = %event.scope_value,
            spent_usd = event.spent_usd,
            limit_usd = event.limit_usd,
            "soft budget exceeded"
        );
    }
}

/// The cost of a served answer at its deployment's price (0 when the price is unknown).
fn served_cost<T>(served: &Served<T>, usage: Option<&Usage>) -> f64 {
    match (served.target().price, usage) {
        (Some(price), Some(usage)) => pricing::cost_usd(&price, usage),
        _ => 0.0,
    }
}

fn answer_from<T>(served: &Served<T>, body: CachedBody, cost_usd: f64) -> CachedAnswer {
    let target = served.target();
    let mut answer = CachedAnswer::new(
        body,
        &served.route.alias,
        &target.name,
        target.provider.name(),
        &target.upstream_model,
        cost_usd,
    );
    answer.local = target.kind == crate::config::ProviderKind::Local;
    answer
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
