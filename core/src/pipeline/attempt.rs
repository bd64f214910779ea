//! Steps 4 to 6 of the pipeline: pick a deployment, call it, retry, fall back. Generic over
//! what an attempt produces, so chat, embeddings and the start of a stream share it.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::Instrument;

use super::context::CallContext;
use super::runtime::{DeploymentTarget, ModelRoute, Runtime};
use crate::config::ProviderKind;
use crate::error::{Error, ErrorKind, Result};
use crate::providers::{Provider, Target};
use crate::retry::{RetryDecision, RetrySchedule};
use crate::telemetry::attempt_span;

/// What one attempt needs, owned, so the attempt future borrows nothing from the engine.
pub(crate) struct AttemptSpec {
    pub provider: Arc<dyn Provider>,
    pub kind: ProviderKind,
    pub deployment: Arc<str>,
    pub upstream_model: Arc<str>,
    pub timeout: Option<Duration>,
}

impl AttemptSpec {
    pub fn target(&self) -> Target<'_> {
        Target {
            deployment: &self.deployment,
            model: &self.upstream_model,
            timeout: self.timeout,
        }
    }
}

/// An answer and the deployment that gave it.
pub(crate) struct Served<T> {
    pub value: T,
    pub route: Arc<ModelRoute>,
    pub index: usize,
}

impl<T> Served<T> {
    pub fn target(&self) -> &DeploymentTarget {
        &self.route.targets[self.index]
    }
}

/// Runs `attempt` on `first`'s deployments with its retry policy, then on fallback models
/// chosen by the kind of the last error, until one answers or none is left.
pub(crate) async fn execute<T, F, Fut>(
    runtime: &Runtime,
    first: &Arc<ModelRoute>,
    call: &mut CallContext,
    mut attempt: F,
) -> Result<Served<T>>
where
    F: FnMut(AttemptSpec) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut route = first.clone();
    let mut visited = vec![first.alias.clone()];
    loop {
        let allowed = |alias: &str| runtime.allows(alias);
        let can_fall_back =
            next_fallback(&route, first, &visited, "unavailable", &allowed).is_some();
        let error = match try_route(&route, call, can_fall_back, &mut attempt).await {
            Ok(served) => return Ok(served),
            Err(error) => error,
        };
        if matches!(
            error.kind(),
            ErrorKind::Canceled | ErrorKind::PolicyViolation { .. }
        ) || call.pinned.is_some()
            || past(call.deadline)
        {
            return Err(error);
        }
        let Some(next) = next_fallback(&route, first, &visited, error.code(), &allowed) else {
            return Err(error);
        };
        tracing::warn!(from = %route.alias, to = %next, error = %error, "falling back");
        route = runtime.route(&next)?.clone();
        visited.push(next.clone());
        call.fallback = Some(next);
        call.fallbacks += 1;
    }
}

/// The model to fall back to after an error of kind `code`: the first in the route's list
/// for that kind (then the first route's) that the call has not visited yet and the
/// guardrails' allow-list admits (an off-list model is passed over, never called).
fn next_fallback(
    route: &ModelRoute,
    first: &ModelRoute,
    visited: &[String],
    code: &str,
    allowed: &dyn Fn(&str) -> bool,
) -> Option<String> {
    [route, first]
        .iter()
        .flat_map(|r| r.config.fallbacks.for_kind(code))
        .find(|alias| !visited.contains(alias) && allowed(alias))
        .cloned()
}

/// One route: pick, call, and retry by its policy. A retry goes to an untried deployment
/// at once when there is one; it waits out the backoff only to go back to the same one.
async fn try_route<T, F, Fut>(
    route: &Arc<ModelRoute>,
    call: &mut CallContext,
    can_fall_back: bool,
    attempt: &mut F,
) -> Result<Served<T>>
where
    F: FnMut(AttemptSpec) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut schedule = RetrySchedule::new(&route.config.retry, call.max_retries);
    let mut tried: Vec<usize> = match call.avoid.take() {
        Some((alias, index)) if alias == route.alias => vec![index],
        _ => Vec::new(),
    };
    let mut backoff: Option<Duration> = None;
    loop {
        let index = pick(route, call, can_fall_back, &tried, &mut backoff).await?;
        tried.push(index);
        call.attempts += 1;
        let target = &route.targets[index];
        let health = &route.route.deployments()[index].health;
        let spec = AttemptSpec {
            provider: target.provider.clone(),
            kind: target.kind,
            deployment: target.name.clone(),
            upstream_model: target.upstream_model.clone(),
            timeout: attempt_timeout(route.attempt_timeout(), call.deadline),
        };
        call.provider_name = Some(target.kind.provider_name());
        // The call's arm is the first rollout deployment it was sent to: its sticky
        // assignment. Retries and fallbacks do not move it, so a call the candidate failed
        // counts against the candidate, and the server compares the arms as assigned.
        if call.arm.is_none() {
            call.arm = route.route.rollout_arm(index).map(str::to_owned);
        }
        let span = attempt_span(
            route.config.kind.operation_name(),
            target.kind.provider_name(),
            &target.name,
            &target.upstream_model,
            call.attempts,
        );
        let started = Instant::now();
        let inflight = health.begin();
        let result = within(call.deadline, attempt(spec))
            .instrument(span.clone())
            .await;
        drop(inflight);
        let error = match result {
            Ok(value) => {
                health.record_success(started.elapsed());
                return Ok(Served {
                    value,
                    route: route.clone(),
                    index,
                });
            }
            Err(error) => error,
        };
        // Errors raised before the network (a missing key, a request the adapter refused)
        // still say where they happened.
        let error = if error.deployment().is_none() {
            error
                .with_provider(target.provider.name())
                .with_deployment(target.name.to_string())
        } else {
            error
        };
        span.record("error.type", error.code());
        span.record("otel.status_code", "error");
        health.record_failure(&error);
        tracing::debug!(deployment = %target.name, attempt = call.attempts, error = %error, "attempt failed");
        match schedule.next(&error, Instant::now(), call.deadline) {
            RetryDecision::After(delay) => backoff = Some(delay),
            RetryDecision::GiveUp => return Err(error),
        }
    }
}

/// Step 4: the deployment for the next attempt, waiting out a backoff or a cooldown when
/// the only candidates are ones already tried or cooling down.
async fn pick(
    route: &ModelRoute,
    call: &CallContext,
    can_fall_back: bool,
    tried: &[usize],
    backoff: &mut Option<Duration>,
) -> Result<usize> {
    if let Some(name) = &call.pinned {
        let index = route
            .targets
            .iter()
            .position(|t| &*t.name == name)
            .ok_or_else(|| {
                Error::bad_request(
                    "deployment",
                    format!("model '{}' has no deployment '{name}'", route.alias),
                )
            })?;
        if let Some(delay) = backoff.take() {
            tokio::time::sleep(delay).await;
        }
        return Ok(index);
    }
    let max_wait = Duration::from_millis(route.config.retry.max_retry_after_ms);
    let mut waited = Duration::ZERO;
    loop {
        match route
            .route
            .pick(call.sticky_key.as_deref(), tried, call.capacity_tokens)
        {
            Some(index) if !tried.contains(&index) => return Ok(index),
            Some(index) => match backoff.take() {
                Some(delay) => {
                    // Picked again only after the wait: give back what this pick took.
                    route.route.release(index, call.capacity_tokens);
                    tokio::time::sleep(delay).await
                }
                None => return Ok(index),
            },
            None => {
                // Nothing available. A call that has not been told to wait (no backoff
                // from its own last error) fails over at once when it has a fallback (the
                // better bet), or when the deployments are at their capacity. Without a
                // fallback it waits out a cooldown the upstream asked for, as the caller
                // whose 429 started it does, rather than fail every call made in those few
                // milliseconds. An open circuit is never waited for (`next_available_at`).
                if backoff.is_none() && tried.is_empty() {
                    let error = route.route.unavailable(call.capacity_tokens);
                    if can_fall_back || matches!(error.kind(), ErrorKind::RateLimited { .. }) {
                        return Err(error);
                    }
                }
                let now = Instant::now();
                let until = route
                    .route
                    .next_available_at(call.capacity_tokens)
                    .filter(|at| waited + at.saturating_duration_since(now) <= max_wait)
                    .filter(|at| call.deadline.is_none_or(|deadline| *at < deadline))
                    .ok_or_else(|| route.route.unavailable(call.capacity_tokens))?;
                let wait = until
                    .saturating_duration_since(now)
                    .max(backoff.take().unwrap_or_default())
                    .max(Duration::from_millis(1));
                tokio::time::sleep(wait).await;
                waited += wait;
            }
        }
    }
}

/// The attempt's time limit: the model's per-attempt timeout, cut to what the deadline leaves.
fn attempt_timeout(per_attempt: Option<Duration>, deadline: Option<Instant>) -> Option<Duration> {
    let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
    match (per_attempt, remaining) {
        (Some(a), Some(r)) => Some(a.min(r)),
        (a, r) => a.or(r),
    }
}

fn past(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

/// Bounds `future` by the call's deadline.
pub(crate) async fn within<T>(
    deadline: Option<Instant>,
    future: impl Future<Output = Result<T>>,
) -> Result<T> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline.into(), future)
            .await
            .map_err(|_| Error::timeout("the call's deadline passed"))?,
        None => future.await,
    }
}
