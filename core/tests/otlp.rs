//! With the `otlp` feature, a call's spans reach an OTLP/HTTP collector with their GenAI
//! attributes. The collector here is a capture server on loopback.

#![cfg(feature = "otlp")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchyard::config::Config;
use switchyard::telemetry::otlp_layer;
use switchyard::types::{ChatRequest, Message};
use switchyard::{CallOptions, Client};
use switchyard_mock_provider::{MockServer, Script};
use tracing_subscriber::layer::SubscriberExt;

/// Each request received: its lowercased head and its body.
type Captured = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// Accepts HTTP/1.1 requests one connection at a time and keeps each.
fn capture_server() -> (String, Captured) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let store = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 8192];
            let (head, body) = loop {
                let n = stream.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break (String::new(), Vec::new());
                }
                buffer.extend_from_slice(&chunk[..n]);
                let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&buffer[..end]).to_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while buffer.len() < end + 4 + length {
                    let n = stream.read(&mut chunk).unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                }
                break (head, buffer[end + 4..].to_vec());
            };
            // Kept before answering, so an exporter that has its answer finds it stored.
            store.lock().unwrap().push((head, body));
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n")
                .ok();
        }
    });
    (url, seen)
}

#[test]
fn spans_reach_the_collector_with_gen_ai_attributes() {
    let (endpoint, seen) = capture_server();
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
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while seen.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let exports = seen.lock().unwrap();
    let (head, body) = exports.first().expect("no OTLP export arrived");
    assert!(head.starts_with("post /v1/traces"), "{head}");
    assert!(head.contains("application/x-protobuf"), "{head}");
    let has = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
    for attribute in [
        "gen_ai.call",
        "gen_ai.attempt",
        "gen_ai.request.model",
        "gen_ai.usage.output_tokens",
        "switchyard.deployment",
    ] {
        assert!(has(attribute.as_bytes()), "the export lacks {attribute}");
    }
    assert!(has(b"switchyard-test"), "the export lacks the service name");
}
