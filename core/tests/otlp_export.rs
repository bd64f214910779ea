//! The process-wide export the bindings use (`telemetry::export::install`): spans named
//! `{operation} {model}` with the current GenAI attributes, and both GenAI client metrics,
//! reach an OTLP/HTTP collector. Its own test binary, since the install is per process.

#![cfg(feature = "otlp")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/capture.rs"]
mod capture;
#[path = "support/traffic.rs"]
mod traffic;

use switchyard::telemetry::export;

#[test]
fn install_exports_spans_and_gen_ai_metrics() {
    let (base, seen) = capture::capture_server();
    assert!(export::install(Some(&base), "switchyard-export-test").unwrap());
    // A second install is a no-op that reports export as on.
    assert!(export::install(Some("http://127.0.0.1:9"), "other").unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(traffic::one_answer_one_refusal());
    drop(runtime);
    export::shutdown();

    let spans = capture::bodies_for(&seen, "/v1/traces");
    assert!(!spans.is_empty(), "no span export arrived");
    capture::assert_holds(
        &spans,
        &[
            "chat chat",
            "chat gpt-4o-mini",
            "gen_ai.operation.name",
            "gen_ai.provider.name",
            "openai",
            "gen_ai.request.model",
            "gen_ai.response.model",
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.output_tokens",
            "error.type",
            "switchyard.deployment",
            "switchyard-export-test",
        ],
    );
    assert!(
        !capture::holds(&spans, "gen_ai.system"),
        "the deprecated gen_ai.system is still exported"
    );

    let metrics = capture::bodies_for(&seen, "/v1/metrics");
    assert!(!metrics.is_empty(), "no metric export arrived");
    capture::assert_holds(
        &metrics,
        &[
            "gen_ai.client.operation.duration",
            "gen_ai.client.token.usage",
            "gen_ai.token.type",
            "input",
            "output",
            "{token}",
            "gen_ai.provider.name",
            "error.type",
            "bad_request",
            "switchyard-export-test",
        ],
    );
}
