//! Spans with OpenTelemetry GenAI attribute names, so any OTel pipeline reads them as is.

use tracing::{Span, field::Empty, info_span};

/// The span of one call; the pipeline records the response fields when it settles.
pub fn call_span(operation: &'static str, alias: &str) -> Span {
    info_span!(
        "gen_ai.call",
        gen_ai.operation.name = operation,
        gen_ai.request.model = alias,
        gen_ai.system = Empty,
        gen_ai.response.model = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        switchyard.deployment = Empty,
        switchyard.attempts = Empty,
        switchyard.cache_hit = Empty,
        switchyard.cost_usd = Empty,
        switchyard.fallback = Empty,
        switchyard.status = Empty,
    )
}

/// The span of one attempt against one deployment, a child of the call span.
pub fn attempt_span(
    system: &'static str,
    deployment: &str,
    upstream_model: &str,
    attempt: u32,
) -> Span {
    info_span!(
        "gen_ai.attempt",
        gen_ai.system = system,
        gen_ai.request.model = upstream_model,
        switchyard.deployment = deployment,
        switchyard.attempt = attempt,
        error.type = Empty,
    )
}
