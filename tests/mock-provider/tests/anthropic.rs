//! Anthropic Messages API wire shapes.
// clippy.toml allows unwrap/expect only inside #[test] fns; the helpers here are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_mock_provider::MockServer;

fn body(stream: bool) -> Value {
    json!({"model": "claude-x", "max_tokens": 64, "stream": stream, "system": "Be brief.",
           "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello!"}]}]})
}

async fn post(mock: &MockServer, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}/v1/messages", mock.url()))
        .header("anthropic-version", "2023-06-01")
        .header("x-api-key", "sk-ant")
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn non_stream_message_shape() {
    let mock = MockServer::start_with(script(
        "models: { claude-x: [ { content: Hi there, usage: { prompt_tokens: 7, completion_tokens: 2, cached_tokens: 5 } } ] }",
    ))
    .await
    .unwrap();
    let resp = post(&mock, &body(false)).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("request-id"));
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["type"], "message");
    assert_eq!(v["role"], "assistant");
    assert!(v["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(v["content"], json!([{"type": "text", "text": "Hi there"}]));
    assert_eq!(v["stop_reason"], "end_turn");
    assert_eq!(v["stop_sequence"], Value::Null);
    // 7 prompt tokens in all, 5 of them read from the cache: Anthropic reports the rest.
    assert_eq!(v["usage"]["input_tokens"], 2);
    assert_eq!(v["usage"]["output_tokens"], 2);
    assert_eq!(v["usage"]["cache_read_input_tokens"], 5);
}

#[tokio::test]
async fn stream_event_sequence() {
    let mock = MockServer::start_with(script(
        "models: { claude-x: [ { content: a b, tool_calls: [ { id: toolu_1, name: lookup, arguments: { q: rust lang } } ], usage: { prompt_tokens: 9 } } ] }",
    ))
    .await
    .unwrap();
    let text = post(&mock, &body(true)).await.text().await.unwrap();
    let events = sse_events(&text);
    assert_eq!(
        events,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let frames = parse_all(&sse_data(&text, "\n\n"));
    for (event, frame) in events.iter().zip(&frames) {
        assert_eq!(&frame["type"], event, "event name matches data.type");
    }
    assert_eq!(frames[0]["message"]["usage"]["input_tokens"], 9);
    let text_deltas: String = frames
        .iter()
        .filter(|f| f["delta"]["type"] == "text_delta")
        .map(|f| f["delta"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(text_deltas, "a b");
    assert_eq!(frames[6]["content_block"]["type"], "tool_use");
    assert_eq!(frames[6]["content_block"]["id"], "toolu_1");
    let partial: String = frames
        .iter()
        .filter(|f| f["delta"]["type"] == "input_json_delta")
        .map(|f| f["delta"]["partial_json"].as_str().unwrap())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&partial).unwrap(),
        json!({"q": "rust lang"})
    );
    let delta = &frames[frames.len() - 2];
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    assert_eq!(delta["usage"]["output_tokens"], 3);
}

#[tokio::test]
async fn finish_reasons_map_to_anthropic_vocabulary() {
    let mock = MockServer::start().await.unwrap();
    for (ours, theirs) in [
        ("length", "max_tokens"),
        ("content_filter", "refusal"),
        ("stop", "end_turn"),
    ] {
        let v: Value = client()
            .post(format!("{}/v1/messages", mock.url()))
            .header("anthropic-version", "2023-06-01")
            .header("x-mock-step", format!(r#"{{"finish_reason": "{ours}"}}"#))
            .json(&body(false))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["stop_reason"], theirs);
    }
}

#[tokio::test]
async fn anthropic_version_is_required() {
    let mock = MockServer::start().await.unwrap();
    let resp = client()
        .post(format!("{}/v1/messages", mock.url()))
        .json(&body(false))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("anthropic-version")
    );
}

#[tokio::test]
async fn overloaded_error_shape() {
    let mock = MockServer::start_with(script("models: { claude-x: [ { status: 529 } ] }"))
        .await
        .unwrap();
    let resp = post(&mock, &body(false)).await;
    assert_eq!(resp.status(), 529);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "overloaded_error");
    assert_eq!(v["error"]["message"], "Overloaded");
}
