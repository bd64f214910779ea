//! One finished GenAI operation, as OpenTelemetry's GenAI client metrics count it.
//!
//! Recording is a no-op (one atomic load) until [`crate::telemetry::export::install`] has
//! installed the OTLP meter: a process that exports nothing builds no attributes.

use std::time::Duration;

/// What the conventions' `gen_ai.client.*` metrics need from one call.
#[derive(Debug, Clone, Copy)]
pub struct GenAiOperation<'a> {
    /// `gen_ai.operation.name`: `chat`, `embeddings`.
    pub operation: &'static str,
    /// `gen_ai.provider.name` of the deployment last attempted; none for a cache hit.
    pub provider: Option<&'static str>,
    /// `gen_ai.request.model`: the logical model the caller named.
    pub request_model: &'a str,
    /// `gen_ai.response.model`: the upstream model that answered.
    pub response_model: Option<&'a str>,
    /// `error.type`: the error code when the call failed.
    pub error_type: Option<&'static str>,
    pub duration: Duration,
    /// Billable (input, output) tokens, when the provider reported them.
    pub tokens: Option<(u64, u64)>,
}

/// Records `operation` on the exported GenAI client metrics, if export is installed.
pub fn record_gen_ai_operation(operation: &GenAiOperation<'_>) {
    #[cfg(feature = "otlp")]
    super::instruments::record(operation);
    #[cfg(not(feature = "otlp"))]
    let _ = operation;
}
