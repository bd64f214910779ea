//! The process-wide export the bindings use (`telemetry::export::install`): spans named
//! `{operation} {model}` with the current GenAI attributes, and both GenAI client metrics,
//! reach an OTLP/HTTP collector. Its own test binary, since the install is per process.

#![cfg(feature = "otlp")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/capture.rs"]
mod capture;

use switchyard::config::Config;
use switchyard::telemetry::export;
use switchyard::types::{ChatRequest, Message};
use switchyard::{CallOptions, Client};
use switchyard_mock_provider::{MockServer, Script};

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
    runtime.block_on(async {
        let mock = MockServer::start_with(
            Script::from_yaml(
                "models: { gpt-4o-mini: [ { content: traced } ], broken: [ { status: 400 } ] }",
            )
            .unwrap(),
        )
        .await
        .unwrap();
        let config = Config::from_yaml(&format!(
            "version: 1\nproviders: {{ oa: {{ kind: openai, base_url: \"{}/v1\" }} }}\n\
             models:\n  chat: {{ deployments: [{{ provider: oa, model: gpt-4o-mini }}] }}\n  \
             bad: {{ deployments: [{{ provider: oa, model: broken }}] }}\n",
            mock.url()
        ))
        .unwrap();
        let client = Client::builder().config(config).build().unwrap();
        let request = ChatRequest::new("chat", vec![Message::user("hi")]);
        let answer = client.chat(request, &CallOptions::default()).await.unwrap();
        assert_eq!(answer.response.text(), "traced");
        let failing = ChatRequest::new("bad", vec![Message::user("hi")]);
        let error = client
            .chat(failing, &CallOptions::default())
            .await
            .unwrap_err();
        assert_eq!(error.code(), "bad_request");
    });
    drop(runtime);
    export::shutdown();

    let spans = capture::bodies_for(&seen, "/v1/traces");
    assert!(!spans.is_empty(), "no span export arrived");
    for needle in [
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
    ] {
        assert!(
            capture::holds(&spans, needle),
            "the span export lacks {needle}"
        );
    }
    assert!(
        !capture::holds(&spans, "gen_ai.system"),
        "the deprecated gen_ai.system is still exported"
    );

    let metrics = capture::bodies_for(&seen, "/v1/metrics");
    assert!(!metrics.is_empty(), "no metric export arrived");
    for needle in [
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
    ] {
        assert!(
            capture::holds(&metrics, needle),
            "the metric export lacks {needle}"
        );
    }
}
