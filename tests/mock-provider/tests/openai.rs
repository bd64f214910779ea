//! OpenAI and Azure OpenAI wire shapes.
// clippy.toml allows unwrap/expect only inside #[test] fns; the helpers here are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_mock_provider::MockServer;

#[tokio::test]
async fn non_stream_chat_completion_shape() {
    let mock = MockServer::start_with(script(
        "models: { gpt-4o-mini: [ { content: 'Hello there', usage: { prompt_tokens: 12, completion_tokens: 3, cached_tokens: 2 } } ] }",
    ))
    .await
    .unwrap();
    let resp = client()
        .post(format!("{}/v1/chat/completions", mock.url()))
        .json(&chat_body("gpt-4o-mini"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("x-request-id"));
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(v["model"], "gpt-4o-mini");
    assert_eq!(v["choices"][0]["message"]["role"], "assistant");
    assert_eq!(v["choices"][0]["message"]["content"], "Hello there");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["usage"]["prompt_tokens"], 12);
    assert_eq!(v["usage"]["completion_tokens"], 3);
    assert_eq!(v["usage"]["total_tokens"], 15);
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 2);
}

#[tokio::test]
async fn default_reply_and_estimated_usage() {
    let mock = MockServer::start().await.unwrap();
    let v: Value = client()
        .post(format!("{}/v1/chat/completions", mock.url()))
        .json(&chat_body("gpt-x"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "Hello from gpt-x");
    // "Hello, mock!" is 12 characters -> 3 tokens; 3 word chunks.
    assert_eq!(v["usage"]["prompt_tokens"], 3);
    assert_eq!(v["usage"]["completion_tokens"], 3);
}

#[tokio::test]
async fn stream_chunks_usage_and_done() {
    let mock = MockServer::start_with(script("models: { m: [ { content: 'one two three' } ] }"))
        .await
        .unwrap();
    let mut body = chat_body("m");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let resp = client()
        .post(format!("{}/v1/chat/completions", mock.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let text = resp.text().await.unwrap();
    let data = sse_data(&text, "\n\n");
    assert_eq!(data.last().unwrap(), "[DONE]");
    let chunks = parse_all(&data[..data.len() - 1]);
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let content: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(content, "one two three");
    let pieces = content_chunks(&chunks);
    assert_eq!(pieces, 3);
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["completion_tokens"], 3);
}

#[tokio::test]
async fn stream_without_include_usage_has_no_usage_chunk() {
    let mock = MockServer::start().await.unwrap();
    let mut body = chat_body("m");
    body["stream"] = json!(true);
    let text = client()
        .post(format!("{}/v1/chat/completions", mock.url()))
        .json(&body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let data = sse_data(&text, "\n\n");
    let chunks = parse_all(&data[..data.len() - 1]);
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));
    assert!(
        chunks
            .iter()
            .all(|c| !c["choices"].as_array().unwrap().is_empty())
    );
}

#[tokio::test]
async fn tool_calls_non_stream_and_stream() {
    let mock = MockServer::start_with(script(
        r#"models: { m: [ { tool_calls: [ { id: call_1, name: get_weather, arguments: { city: Paris } } ] } ] }"#,
    ))
    .await
    .unwrap();
    let url = format!("{}/v1/chat/completions", mock.url());
    let v: Value = client()
        .post(&url)
        .json(&chat_body("m"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let msg = &v["choices"][0]["message"];
    assert_eq!(msg["content"], Value::Null);
    assert_eq!(msg["tool_calls"][0]["id"], "call_1");
    assert_eq!(msg["tool_calls"][0]["type"], "function");
    assert_eq!(msg["tool_calls"][0]["function"]["name"], "get_weather");
    let args: Value = serde_json::from_str(
        msg["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(args, json!({"city": "Paris"}));
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");

    let mut body = chat_body("m");
    body["stream"] = json!(true);
    let text = client()
        .post(&url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let data = sse_data(&text, "\n\n");
    let chunks = parse_all(&data[..data.len() - 1]);
    let deltas: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"].get("tool_calls"))
        .collect();
    assert_eq!(deltas[0][0]["id"], "call_1");
    assert_eq!(deltas[0][0]["function"]["name"], "get_weather");
    let arg_pieces: Vec<&str> = deltas
        .iter()
        .filter_map(|d| d[0]["function"]["arguments"].as_str())
        .filter(|s| !s.is_empty())
        .collect();
    assert!(
        arg_pieces.len() >= 2,
        "arguments split over chunks: {arg_pieces:?}"
    );
    let joined: Value = serde_json::from_str(&arg_pieces.concat()).unwrap();
    assert_eq!(joined, json!({"city": "Paris"}));
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "tool_calls"
    );
}

#[tokio::test]
async fn error_body_uses_openai_shape_and_overrides() {
    let mock = MockServer::start_with(script(
        "models: { m: [ { status: 400, error_type: context_length_exceeded, error_message: too long } ] }",
    ))
    .await
    .unwrap();
    let resp = client()
        .post(format!("{}/v1/chat/completions", mock.url()))
        .json(&chat_body("m"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "context_length_exceeded");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert_eq!(v["error"]["message"], "too long");
    assert!(v["error"].get("param").is_some());

    let v: Value = client()
        .post(format!("{}/v1/chat/completions", mock.url()))
        .header("x-mock-step", r#"{"status": 429}"#)
        .json(&chat_body("m"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["error"]["code"], "rate_limit_exceeded");
}

#[tokio::test]
async fn embeddings_are_deterministic_with_dimensions() {
    let mock = MockServer::start_with(script("models: { emb: [ { dimensions: 4 } ] }"))
        .await
        .unwrap();
    let url = format!("{}/v1/embeddings", mock.url());
    let call = |input: Value| {
        let url = url.clone();
        async move {
            client()
                .post(url)
                .json(&json!({"model": "emb", "input": input}))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let a = call(json!(["alpha", "beta"])).await;
    assert_eq!(a["object"], "list");
    assert_eq!(a["data"][1]["index"], 1);
    assert_eq!(a["data"][0]["object"], "embedding");
    assert_eq!(a["data"][0]["embedding"].as_array().unwrap().len(), 4);
    let b = call(json!("alpha")).await;
    assert_eq!(a["data"][0]["embedding"], b["data"][0]["embedding"]);
    assert_ne!(a["data"][0]["embedding"], a["data"][1]["embedding"]);
    assert!(a["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn models_list() {
    let mock = MockServer::start_with(script("models: { a: [ {} ], b: [ {} ], '*': [ {} ] }"))
        .await
        .unwrap();
    let v: Value = client()
        .get(format!("{}/v1/models", mock.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(v["object"], "list");
}

#[tokio::test]
async fn azure_deployment_routes_require_api_version() {
    let mock = MockServer::start_with(script(
        "require_api_key: az-key\nmodels: { my-deploy: [ { content: azure says hi } ] }",
    ))
    .await
    .unwrap();
    let base = format!("{}/openai/deployments/my-deploy", mock.url());
    let resp = client()
        .post(format!("{base}/chat/completions"))
        .header("api-key", "az-key")
        .json(&json!({"messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "404");

    let resp = client()
        .post(format!("{base}/chat/completions?api-version=2024-10-21"))
        .header("api-key", "wrong")
        .json(&json!({"messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "401");

    let v: Value = client()
        .post(format!("{base}/chat/completions?api-version=2024-10-21"))
        .header("api-key", "az-key")
        .json(&json!({"messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "azure says hi");
    assert_eq!(v["model"], "my-deploy");

    let v: Value = client()
        .post(format!("{base}/embeddings?api-version=2024-10-21"))
        .header("api-key", "az-key")
        .json(&json!({"input": "x"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"][0]["embedding"].as_array().unwrap().len(), 8);
    assert_eq!(mock.counters().models["my-deploy"], 4);
}
