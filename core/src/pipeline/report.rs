//! The end of every call, whatever its outcome: metrics, the span's response attributes,
//! and one usage event to the sink.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::Span;

use super::context::CallContext;
use super::options::{CallMeta, CallOptions};
use crate::call_log::Captured;
use crate::error::Error;
use crate::redact::{PiiKind, redact};
use crate::telemetry::{
    CallStatus, EventContent, GenAiOperation, Metrics, Outcome, UsageEvent, UsageSink,
    record_gen_ai_operation,
};
use crate::types::Usage;

/// How one call ended.
pub(crate) struct Report<'a> {
    /// `gen_ai.operation.name`: `chat`, `embeddings`.
    pub operation: &'static str,
    pub alias: &'a str,
    pub call: &'a CallContext,
    pub options: &'a CallOptions,
    pub meta: Option<&'a CallMeta>,
    pub usage: Option<&'a Usage>,
    pub error: Option<&'a Error>,
    pub ttft: Option<Duration>,
    pub stream: bool,
    /// The call's content, when its call log says so ([`Engine::logged`](super::Engine)).
    pub content: Option<Arc<Captured>>,
}

pub(crate) fn report(
    metrics: &Metrics,
    sink: Option<&dyn UsageSink>,
    span: &Span,
    report: Report<'_>,
) {
    let latency = report.call.started.elapsed();
    let prompt_tokens = report.usage.map_or(0, |u| u.prompt_tokens);
    let completion_tokens = report.usage.map_or(0, |u| u.completion_tokens);
    let cost_usd = report.meta.map_or(0.0, |m| m.cost_usd);
    let deployment = report
        .meta
        .map(|m| m.deployment.as_str())
        .or_else(|| report.error.and_then(Error::deployment))
        .unwrap_or("-");
    let cache_hit = report.meta.is_some_and(|m| m.cache_hit);
    metrics.record(&Outcome {
        model: report.alias,
        deployment,
        latency,
        ttft: report.ttft,
        prompt_tokens,
        completion_tokens,
        cost_usd,
        error: report.error.map(Error::code),
        cache_hit,
        fallback: report.call.fallback.is_some(),
    });

    span.record("switchyard.deployment", deployment);
    span.record("switchyard.attempts", report.call.attempts);
    span.record("switchyard.cache_hit", cache_hit);
    span.record("switchyard.cost_usd", cost_usd);
    span.record("gen_ai.usage.input_tokens", prompt_tokens);
    span.record("gen_ai.usage.output_tokens", completion_tokens);
    let response_model = report.meta.map(|m| m.upstream_model.as_str());
    if let Some(model) = response_model {
        span.record("gen_ai.response.model", model);
    }
    if let Some(provider) = report.call.provider_name {
        span.record("gen_ai.provider.name", provider);
    }
    if let Some(error) = report.error {
        span.record("error.type", error.code());
        span.record("otel.status_code", "error");
    }
    record_gen_ai_operation(&GenAiOperation {
        operation: report.operation,
        provider: report.call.provider_name,
        request_model: report.alias,
        response_model,
        error_type: report.error.map(Error::code),
        duration: latency,
        // Billable tokens only: a cache hit sent nothing upstream.
        tokens: (!cache_hit)
            .then_some(report.usage)
            .flatten()
            .map(|u| (u.prompt_tokens, u.completion_tokens)),
    });
    if let Some(fallback) = &report.call.fallback {
        span.record("switchyard.fallback", fallback.as_str());
    }
    span.record("switchyard.status", report.error.map_or("ok", Error::code));

    let Some(sink) = sink else {
        return;
    };
    let started_ms = SystemTime::now()
        .checked_sub(latency)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as u64);
    let scope = &report.call.scope;
    sink.record(&UsageEvent {
        id: uuid::Uuid::now_v7().to_string(),
        time_ms: started_ms,
        tenant: scope.tenant.clone(),
        app: scope.app.clone(),
        user: scope.user.clone(),
        model: report.alias.to_owned(),
        deployment: report.meta.map(|m| m.deployment.clone()),
        provider: report.meta.map(|m| m.provider.clone()),
        upstream_model: report.meta.map(|m| m.upstream_model.clone()),
        prompt_tokens,
        completion_tokens,
        cached_tokens: report.usage.map_or(0, Usage::cached_tokens),
        cost_usd,
        latency_ms: latency.as_secs_f64() * 1000.0,
        ttft_ms: report.ttft.map(|t| t.as_secs_f64() * 1000.0),
        status: match report.error {
            None => CallStatus::Ok,
            Some(error) => CallStatus::Error {
                code: error.code().to_owned(),
            },
        },
        cache_hit,
        attempts: report.call.attempts,
        fallback: report.call.fallback.clone(),
        fallbacks: report.call.fallbacks,
        arm: report.call.arm.clone(),
        local: report.meta.is_some_and(|m| m.local),
        stream: report.stream,
        // Labels are the caller's free text: PII in them is masked like everywhere else.
        tags: report
            .options
            .tags
            .iter()
            .map(|t| redact(t).into_owned())
            .collect(),
        metadata: report
            .options
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), redact(v).into_owned()))
            .collect(),
        lease: report.call.lease.as_deref().map(str::to_owned),
        content: report.content.map(EventContent::Captured),
        rule: report.error.and_then(Error::rule).map(str::to_owned),
        masked: report
            .call
            .masked
            .iter()
            .filter_map(|(kind, n)| Some((kind_name(*kind)?, *n)))
            .collect(),
    });
}

/// A PII kind's name as configs spell it (`email`, `national_id`).
fn kind_name(kind: PiiKind) -> Option<String> {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(name)) => Some(name),
        _ => None,
    }
}
