//! The two GenAI client metrics of OpenTelemetry's semantic conventions, on an OTLP meter
//! (cargo feature `otlp`): `gen_ai.client.operation.duration` and `gen_ai.client.token.usage`,
//! with the bucket boundaries the conventions specify; and `switchyard.shared_tier.fallbacks`,
//! the Redis operations that failed while calls went on with the in-process tier.

use std::sync::OnceLock;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter};

use super::operation::GenAiOperation;

/// Seconds; the conventions' explicit boundaries for `gen_ai.client.operation.duration`.
const DURATION_BOUNDARIES: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/// Tokens; the conventions' explicit boundaries for `gen_ai.client.token.usage`.
const TOKEN_BOUNDARIES: [f64; 14] = [
    1.0,
    4.0,
    16.0,
    64.0,
    256.0,
    1_024.0,
    4_096.0,
    16_384.0,
    65_536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
    67_108_864.0,
];

struct Instruments {
    duration: Histogram<f64>,
    tokens: Histogram<u64>,
    shared_fallbacks: Counter<u64>,
}

/// Set once, by the process-wide export; unset means recording costs one load.
static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();

/// Creates the instruments on `meter`; later calls keep the first ones.
pub(crate) fn install(meter: &Meter) {
    INSTRUMENTS.get_or_init(|| Instruments {
        duration: meter
            .f64_histogram("gen_ai.client.operation.duration")
            .with_unit("s")
            .with_description("GenAI operation duration")
            .with_boundaries(DURATION_BOUNDARIES.to_vec())
            .build(),
        tokens: meter
            .u64_histogram("gen_ai.client.token.usage")
            .with_unit("{token}")
            .with_description("Measures number of input and output tokens used")
            .with_boundaries(TOKEN_BOUNDARIES.to_vec())
            .build(),
        shared_fallbacks: meter
            .u64_counter("switchyard.shared_tier.fallbacks")
            .with_unit("{operation}")
            .with_description(
                "Redis operations that failed or timed out; the call used the in-process tier",
            )
            .build(),
    });
}

/// One Redis operation of `tier` (`cache` or `rate_limit`) that fell back.
pub(crate) fn record_shared_fallback(tier: &'static str) {
    if let Some(instruments) = INSTRUMENTS.get() {
        instruments
            .shared_fallbacks
            .add(1, &[KeyValue::new("switchyard.tier", tier)]);
    }
}

pub(crate) fn record(operation: &GenAiOperation<'_>) {
    let Some(instruments) = INSTRUMENTS.get() else {
        return;
    };
    let mut attributes = Vec::with_capacity(6);
    attributes.push(KeyValue::new("gen_ai.operation.name", operation.operation));
    if let Some(provider) = operation.provider {
        attributes.push(KeyValue::new("gen_ai.provider.name", provider));
    }
    attributes.push(KeyValue::new(
        "gen_ai.request.model",
        operation.request_model.to_owned(),
    ));
    if let Some(model) = operation.response_model {
        attributes.push(KeyValue::new("gen_ai.response.model", model.to_owned()));
    }
    if let Some(error) = operation.error_type {
        attributes.push(KeyValue::new("error.type", error));
    }
    instruments
        .duration
        .record(operation.duration.as_secs_f64(), &attributes);
    if let Some((input, output)) = operation.tokens {
        attributes.push(KeyValue::new("gen_ai.token.type", "input"));
        instruments.tokens.record(input, &attributes);
        if let Some(last) = attributes.last_mut() {
            *last = KeyValue::new("gen_ai.token.type", "output");
        }
        instruments.tokens.record(output, &attributes);
    }
}
