//! The request pipeline, top to bottom: the engine's state, and the seven steps in the order
//! they run, shared by chat, embeddings and streams.
//!
//! ```text
//! 0 guard     allow-list, deny patterns, topics; PII masked   guard.rs      + crate::guardrails
//! 1 resolve   logical model -> route                          runtime.rs    Runtime::route
//! 2 cache     exact-match lookup, identical misses coalesced  cache_plan.rs + crate::cache
//! 3 admit     rate limits, budget reservation (on a miss)     admit.rs
//! 4 pick      strategy + health + rollout                     attempt.rs
//! 5 call      provider adapter, timeouts, retries             attempt.rs
//! 6 fall back by error kind, then the next model              attempt.rs
//! 7 settle    actual cost against the reservation, telemetry  settle.rs + meta.rs + report.rs
//! ```
//!
//! The cache comes before admission: a hit spends nothing upstream, so it needs neither a
//! rate-limit slot nor budget, and coalesced callers are admitted once, by the one call
//! that goes upstream. A request kind tells the steps what they need from it
//! ([`request::Request`]); a stream runs the same steps up to its first chunk
//! (`call_stream.rs`).

mod admit;
mod attempt;
mod cache_plan;
mod cached;
mod call_stream;
mod context;
mod guard;
mod meta;
mod options;
mod probe;
mod report;
mod request;
mod runtime;
mod settle;

use std::sync::Arc;

use arc_swap::ArcSwap;
use tracing::Instrument;

pub use call_stream::CallStream;
pub use options::{CallMeta, CallOptions, ChatOutcome, EmbedOutcome};

pub(crate) use call_stream::start as stream;

use self::admit::admit;
use self::attempt::Served;
use self::cached::CachedAnswer;
use self::context::CallContext;
use self::meta::Origin;
use self::report::Report;
use self::request::Request;
use self::runtime::{ModelRoute, Runtime};
use self::settle::settle;
use crate::budget::BudgetSource;
use crate::cache::{Lookup, ResponseCache, SharedCache};
use crate::call_log::{self, Answer, Asked, Captured};
use crate::config::Config;
use crate::error::Result;
use crate::lease::LeaseBook;
use crate::routing::HealthRegistry;
use crate::shared::{Redis, RedisCache, SharedLimits};
use crate::telemetry::{Metrics, MetricsSnapshot, UsageSink, call_span};

/// The engine's state: the config in force and what outlives a reload (health, budgets,
/// the cache, metrics). The config sources hold it weakly, to reload it.
pub(crate) struct Engine {
    runtime: ArcSwap<Runtime>,
    health: HealthRegistry,
    budget_source: Arc<dyn BudgetSource>,
    lease: Option<Arc<LeaseBook>>,
    cache: ResponseCache<CachedAnswer>,
    metrics: Metrics,
    sink: Option<Arc<dyn UsageSink>>,
    /// The config's `redis` server, read when the engine is built (a reload keeps it).
    redis: Option<Arc<Redis>>,
    shared_limits: Option<Arc<SharedLimits>>,
}

impl Engine {
    pub(crate) fn new(
        config: Config,
        budget_source: Arc<dyn BudgetSource>,
        lease: Option<Arc<LeaseBook>>,
        shared_cache: Option<Arc<dyn SharedCache>>,
        sink: Option<Arc<dyn UsageSink>>,
    ) -> Result<Engine> {
        let health = HealthRegistry::new();
        let redis = match &config.redis {
            Some(redis) => Redis::from_config(redis)?.map(Arc::new),
            None => None,
        };
        let shared_cache = shared_cache.or_else(|| {
            let (redis, shared) = (redis.as_ref()?, config.cache.shared.as_ref()?);
            Some(Arc::new(RedisCache::new(Arc::clone(redis), shared)) as Arc<dyn SharedCache>)
        });
        let mut cache = ResponseCache::new(&config.cache);
        if let Some(tier) = shared_cache {
            cache = cache.with_shared_tier(tier);
        }
        let shared_limits = redis
            .as_ref()
            .map(|redis| Arc::new(SharedLimits::new(Arc::clone(redis))));
        let runtime = Runtime::build(
            config,
            &health,
            budget_source.clone(),
            lease.clone(),
            shared_limits.clone(),
        )?;
        Ok(Engine {
            runtime: ArcSwap::from_pointee(runtime),
            health,
            budget_source,
            lease,
            cache,
            metrics: Metrics::default(),
            sink,
            redis,
            shared_limits,
        })
    }

    /// Swaps in a new config whole; calls in flight finish on the one they began with.
    pub(crate) fn reload(&self, config: Config) -> Result<()> {
        let runtime = Runtime::build(
            config,
            &self.health,
            self.budget_source.clone(),
            self.lease.clone(),
            self.shared_limits.clone(),
        )?;
        self.runtime.store(Arc::new(runtime));
        tracing::info!("configuration reloaded");
        Ok(())
    }

    pub(crate) fn config(&self) -> Arc<Config> {
        self.runtime.load().config.clone()
    }

    /// The config's logical models on the guardrails' allow-list, in the config's order.
    pub(crate) fn callable_models(&self) -> Vec<String> {
        let runtime = self.runtime.load();
        runtime
            .config
            .models
            .keys()
            .filter(|alias| runtime.allows(alias))
            .cloned()
            .collect()
    }

    pub(crate) fn metrics(&self) -> MetricsSnapshot {
        let mut snapshot = self.metrics.snapshot();
        snapshot.shared_tier = self.redis.as_ref().map(|redis| redis.snapshot());
        snapshot
    }

    pub(crate) async fn flush(&self) {
        if let Some(sink) = &self.sink {
            sink.flush().await;
        }
    }

    /// A call answered in one piece (chat or embeddings): the whole pipeline, reported
    /// whatever its outcome.
    pub(crate) async fn call<R: Request>(
        &self,
        request: &R,
        options: &CallOptions,
    ) -> Result<(R::Response, CallMeta)> {
        let runtime = self.runtime.load_full();
        let mut call = CallContext::begin(&runtime, request.model(), request.user(), options);
        let span = call_span(R::OPERATION, request.model());
        // 0 guard: refused before anything leaves, or masked; the rest sees the mask
        let screened = guard::screen(&runtime, request, &mut call);
        let (result, request) = match &screened {
            Ok(screened) => {
                let request = screened.request(request);
                let result = self
                    .run(&runtime, request, options, &mut call)
                    .instrument(span.clone())
                    .await;
                (result, request)
            }
            Err(error) => (Err(error.clone()), request),
        };
        {
            let (meta, usage, error) = match &result {
                Ok((response, meta)) => (Some(meta), R::usage(response), None),
                Err(error) => (None, None, Some(error)),
            };
            let content = self.logged(&runtime, request.model(), error.is_some(), || {
                let answer = match &result {
                    Ok((response, _)) => R::answered(response),
                    Err(error) => Answer::Error(error.to_string()),
                };
                (request.asked(), answer)
            });
            self.report(
                &span,
                Report {
                    operation: R::OPERATION,
                    alias: request.model(),
                    call: &call,
                    options,
                    meta,
                    usage: usage.as_deref(),
                    error,
                    ttft: None,
                    stream: false,
                    content,
                },
            );
        }
        // the caller sees the originals where the config restores them
        match (result, screened.ok().and_then(|s| s.restorer)) {
            (Ok((mut response, meta)), Some(restorer)) => {
                R::restore(&mut response, &restorer);
                Ok((response, meta))
            }
            (result, _) => result,
        }
    }

    async fn run<R: Request>(
        &self,
        runtime: &Runtime,
        request: &R,
        options: &CallOptions,
        call: &mut CallContext,
    ) -> Result<(R::Response, CallMeta)> {
        // 1 resolve
        let route = runtime.route(request.model())?;
        // 2 cache, looked up before admission: a hit spends nothing upstream, so it takes
        // no rate-limit slot and no budget, and coalesced callers are admitted once.
        let plan = cache_plan::plan(runtime, route, request, options.cache);
        // 3 admit, 4-6 pick, call, fall back, 7 settle the reservation: `serve`, run
        // only on a miss
        let serve = self.serve(runtime, route, request, call);
        let (answer, hit) = match plan {
            Some(plan) if !plan.refresh => {
                let (answer, lookup) = self.cache.get_or_fetch(plan.key, plan.ttl, serve).await?;
                (answer, lookup != Lookup::Fetched)
            }
            Some(plan) => {
                let answer = serve.await?;
                self.cache.insert(plan.key, answer.clone(), plan.ttl).await;
                (answer, false)
            }
            None => (serve.await?, false),
        };
        // 7 what the caller is told
        let meta = Origin::answer(&answer, hit).meta(call);
        Ok((R::from_answer(answer)?, meta))
    }

    /// Steps 3 to 7 for a call the cache did not answer: admission, the attempts, and the
    /// actual cost settled against the reservation. Packaged as what the cache stores.
    async fn serve<R: Request>(
        &self,
        runtime: &Runtime,
        route: &Arc<ModelRoute>,
        request: &R,
        call: &mut CallContext,
    ) -> Result<CachedAnswer> {
        // 3 admit, possibly to the cheaper model a spent budget reroutes to
        let (route, reservation) = admit(runtime, route, request, call).await?;
        // 4 pick, 5 call, 6 fall back
        let served = attempt::execute(runtime, &route, call, |spec| request.send(spec)).await?;
        // 7 settle: the actual cost replaces the reservation
        let cost = R::usage(&served.value).map_or(0.0, |usage| served.target().cost_usd(&usage));
        settle(reservation, cost);
        let Served {
            value,
            route,
            index,
        } = served;
        Ok(CachedAnswer::served(
            R::into_body(value),
            &route,
            index,
            cost,
        ))
    }

    /// The content of a call of `alias` that ended `failed`, when the config in force
    /// (`call_logs`) logs it and a sink would ship it; nothing is copied otherwise.
    fn logged(
        &self,
        runtime: &Runtime,
        alias: &str,
        failed: bool,
        capture: impl FnOnce() -> (Asked, Answer),
    ) -> Option<Arc<Captured>> {
        let config = runtime.config.call_logs.as_ref()?;
        if self.sink.is_none() || !call_log::logs(config, alias, failed) {
            return None;
        }
        let (asked, answer) = capture();
        Some(Arc::new(Captured::new(config, asked, answer)))
    }

    fn report(&self, span: &tracing::Span, report: Report<'_>) {
        report::report(&self.metrics, self.sink.as_deref(), span, report);
    }
}
