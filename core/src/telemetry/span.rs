//! Spans with OpenTelemetry GenAI attribute names, so any OTel pipeline reads them as is.
//!
//! A `tracing` span's name is static, so each span also carries `otel.name`, which
//! tracing-opentelemetry exports as the span name: `{gen_ai.operation.name} {model}` as the
//! conventions ask (`chat gpt-4o-mini`). The field is formatted only by a subscriber that
//! records it: without one, no string is built.

use tracing::{Span, field::Empty, info_span};

/// The span of one call; the pipeline records the response fields when it settles.
/// `alias` is the logical model the caller asked for (`gen_ai.request.model`).
pub fn call_span(operation: &'static str, alias: &str) -> Span {
    info_span!(
        "gen_ai.call",
        otel.name = %format_args!("{operation} {alias}"),
        otel.kind = "client",
        gen_ai.operation.name = operation,
        gen_ai.request.model = alias,
        gen_ai.provider.name = Empty,
        gen_ai.response.model = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        error.type = Empty,
        otel.status_code = Empty,
        switchyard.deployment = Empty,
        switchyard.attempts = Empty,
        switchyard.cache_hit = Empty,
        switchyard.cost_usd = Empty,
        switchyard.fallback = Empty,
        switchyard.status = Empty,
    )
}

/// The span of one attempt against one deployment, a child of the call span: the request
/// to the provider itself, so `gen_ai.request.model` is the upstream model.
pub fn attempt_span(
    operation: &'static str,
    provider: &'static str,
    deployment: &str,
    upstream_model: &str,
    attempt: u32,
) -> Span {
    info_span!(
        "gen_ai.attempt",
        otel.name = %format_args!("{operation} {upstream_model}"),
        otel.kind = "client",
        gen_ai.operation.name = operation,
        gen_ai.provider.name = provider,
        gen_ai.request.model = upstream_model,
        switchyard.deployment = deployment,
        switchyard.attempt = attempt,
        error.type = Empty,
        otel.status_code = Empty,
    )
}
