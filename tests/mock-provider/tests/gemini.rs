//! Gemini generateContent / streamGenerateContent / embeddings wire shapes.
// clippy.toml allows unwrap/expect only inside #[test] fns; the helpers here are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};
use switchyard_mock_provider::MockServer;

fn body() -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": "Hello Gemini"}]}],
           "systemInstruction": {"parts": [{"text": "Be kind"}]}})
}

#[tokio::test]
async fn generate_content_shape() {
    let mock = MockServer::start_with(script(
        "models: { gemini-2.0-flash: [ { content: Hi!, tool_calls: [ { name: f, arguments: '{\"x\": 1}' } ], usage: { completion_tokens: 4 } } ] }",
    ))
    .await
    .unwrap();
    let v: Value = client()
        .post(format!(
            "{}/v1beta/models/gemini-2.0-flash:generateContent",
            mock.url()
        ))
        .json(&body())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cand = &v["candidates"][0];
    assert_eq!(cand["content"]["role"], "model");
    assert_eq!(cand["content"]["parts"][0]["text"], "Hi!");
    assert_eq!(
        cand["content"]["parts"][1]["functionCall"],
        json!({"name": "f", "args": {"x": 1}})
    );
    assert_eq!(cand["finishReason"], "STOP");
    // "Hello Gemini" + "Be kind" = 19 chars -> 5 tokens.
    assert_eq!(v["usageMetadata"]["promptTokenCount"], 5);
    assert_eq!(v["usageMetadata"]["candidatesTokenCount"], 4);
    assert_eq!(v["usageMetadata"]["totalTokenCount"], 9);
    assert_eq!(v["modelVersion"], "gemini-2.0-flash");
}

#[tokio::test]
async fn stream_frames_use_crlf_and_last_carries_finish() {
    let mock = MockServer::start_with(script("models: { '*': [ { content: one two three } ] }"))
        .await
        .unwrap();
    let resp = client()
        .post(format!(
            "{}/v1beta/models/gemini-pro:streamGenerateContent?alt=sse",
            mock.url()
        ))
        .json(&body())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let text = resp.text().await.unwrap();
    assert!(text.ends_with("\r\n\r\n"));
    let frames = parse_all(&sse_data(&text, "\r\n\r\n"));
    assert_eq!(frames.len(), 3);
    let joined: String = frames
        .iter()
        .map(|f| {
            f["candidates"][0]["content"]["parts"][0]["text"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(joined, "one two three");
    assert!(
        frames[..2]
            .iter()
            .all(|f| f["candidates"][0].get("finishReason").is_none())
    );
    let last = frames.last().unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(last["usageMetadata"]["candidatesTokenCount"], 3);
}

#[tokio::test]
async fn content_filter_blocks_the_candidate() {
    let mock = MockServer::start_with(script(
        "models: { g: [ { finish_reason: content_filter } ] }",
    ))
    .await
    .unwrap();
    let v: Value = client()
        .post(format!("{}/v1beta/models/g:generateContent", mock.url()))
        .json(&body())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cand = &v["candidates"][0];
    assert_eq!(cand["finishReason"], "SAFETY");
    assert!(cand.get("content").is_none());
    assert!(
        cand["safetyRatings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["blocked"] == true)
    );
}

#[tokio::test]
async fn error_shape_and_length_mapping() {
    let mock = MockServer::start_with(script(
        "models: { g: [ { status: 429, times: 1 }, { finish_reason: length } ] }",
    ))
    .await
    .unwrap();
    let url = format!("{}/v1beta/models/g:generateContent", mock.url());
    let resp = client().post(&url).json(&body()).send().await.unwrap();
    assert_eq!(resp.status(), 429);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], 429);
    assert_eq!(v["error"]["status"], "RESOURCE_EXHAUSTED");
    let v: Value = client()
        .post(&url)
        .json(&body())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["candidates"][0]["finishReason"], "MAX_TOKENS");
}

#[tokio::test]
async fn embed_and_batch_embed() {
    let mock = MockServer::start().await.unwrap();
    let one: Value = client()
        .post(format!(
            "{}/v1beta/models/text-embedding-004:embedContent",
            mock.url()
        ))
        .json(&json!({"content": {"parts": [{"text": "alpha"}]}, "outputDimensionality": 5}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["embedding"]["values"].as_array().unwrap().len(), 5);
    let batch: Value = client()
        .post(format!("{}/v1beta/models/text-embedding-004:batchEmbedContents", mock.url()))
        .json(&json!({"requests": [
            {"model": "models/text-embedding-004", "content": {"parts": [{"text": "alpha"}]}, "outputDimensionality": 5},
            {"model": "models/text-embedding-004", "content": {"parts": [{"text": "beta"}]}}
        ]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(batch["embeddings"][0]["values"], one["embedding"]["values"]);
    assert_eq!(
        batch["embeddings"][1]["values"].as_array().unwrap().len(),
        8
    );
}
