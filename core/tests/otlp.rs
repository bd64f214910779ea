//! With the `otlp` feature, a call's spans reach an OTLP/HTTP collector with their GenAI
//! attributes. The collector here is a capture server on loopback.

#![cfg(feature = "otlp")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/capture.rs"]
mod capture;

use switchyard::config::Config;
use switchyard::telemetry::otlp_layer;
use switchyard::types::{ChatRequest, Message};
use switchyard::{CallOptions, Client};
use switchyard_mock_provider::{MockServer, Script};
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
    runtime.block_on(async {
        let mock = MockServer::start_with(
            Script::from_yaml("models: { '*': [ { content: traced } ] }").unwrap(),
        )
        .await
        .unwrap();
        let config = Config::from_yaml(&format!(
            "version: 1\nproviders: {{ oa: {{ kind: openai, base_url: \"{}/v1\" }} }}\n\
             models: {{ chat: {{ deployments: [{{ provider: oa, model: gpt-4o-mini }}] }} }}\n",
            mock.url()
        ))
        .unwrap();
        let client = Client::builder().config(config).build().unwrap();
        let request = ChatRequest::new("chat", vec![Message::user("hi")]);
        let answer = client.chat(request, &CallOptions::default()).await.unwrap();
        assert_eq!(answer.response.text(), "traced");
    });
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
    for attribute in [
        "chat chat",
        "chat gpt-4o-mini",
        "gen_ai.request.model",
        "gen_ai.usage.output_tokens",
        "switchyard.deployment",
    ] {
        assert!(
            capture::holds(&bodies, attribute),
            "the export lacks {attribute}"
        );
    }
    assert!(
        capture::holds(&bodies, "switchyard-test"),
        "the export lacks the service name"
    );
}
