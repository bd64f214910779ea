//! With the `otlp` feature, a call's spans reach an OTLP/HTTP collector with their GenAI
//! attributes. The collector here is a capture server on loopback.

#![cfg(feature = "otlp")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/capture.rs"]
mod capture;
#[path = "support/traffic.rs"]
mod traffic;

use switchyard::telemetry::otlp_layer;
use tracing_subscriber::layer::SubscriberExt;

#[test]
fn spans_reach_the_collector_with_gen_ai_attributes() {
    let (base, seen) = capture::capture_server();
    let endpoint = format!("{base}/v1/traces");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (layer, guard) = otlp_layer(&endpoint, "switchyard-test").unwrap();
    let subscriber = tracing_subscriber::registry().with(layer);
    let default = tracing::subscriber::set_default(subscriber);
    runtime.block_on(traffic::one_answer_one_refusal());
    drop(default);
    drop(guard);
    // The shutdown flushes; should the exporter give up waiting for the answer first,
    // the request is still on its way, so allow it a moment.
    let bodies = capture::bodies_for(&seen, "/v1/traces");
    assert!(!bodies.is_empty(), "no OTLP export arrived");
    let exports = seen.lock().unwrap();
    let (head, _) = exports.first().unwrap();
    assert!(head.contains("application/x-protobuf"), "{head}");
    // Span names: `{operation} {model}`, the call's by its alias, the attempt's by the
    // upstream model (they were `gen_ai.call` / `gen_ai.attempt`).
    capture::assert_holds(
        &bodies,
        &[
            "chat chat",
            "chat gpt-4o-mini",
            "gen_ai.request.model",
            "gen_ai.usage.output_tokens",
            "switchyard.deployment",
        ],
    );
    assert!(
        capture::holds(&bodies, "switchyard-test"),
        "the export lacks the service name"
    );
}
