//! Helpers shared by the integration tests.
#![allow(dead_code)]

use serde_json::{Value, json};
use switchyard_mock_provider::Script;

pub fn script(yaml: &str) -> Script {
    Script::from_yaml(yaml).expect("valid test script")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap()
}

pub fn chat_body(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Hello, mock!"}]})
}

/// `data:` payloads of an SSE body, split on the given frame separator.
pub fn sse_data(body: &str, separator: &str) -> Vec<String> {
    body.split(separator)
        .filter(|f| !f.trim().is_empty())
        .filter_map(|frame| {
            frame
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .map(str::to_owned)
        })
        .collect()
}

/// `event:` names of an SSE body.
pub fn sse_events(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .map(str::to_owned)
        .collect()
}

pub fn parse_all(data: &[String]) -> Vec<Value> {
    data.iter()
        .map(|d| serde_json::from_str(d).unwrap_or_else(|e| panic!("frame {d:?}: {e}")))
        .collect()
}

/// The `content-length` a response declared.
pub fn content_length(resp: &reqwest::Response) -> usize {
    resp.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// OpenAI stream chunks that carry some text.
pub fn content_chunks(chunks: &[Value]) -> usize {
    chunks
        .iter()
        .filter(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
        })
        .count()
}

/// Read a streaming response until it ends or fails; returns the bytes and whether it failed.
pub async fn read_until_error(mut resp: reqwest::Response) -> (String, bool) {
    let mut out = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => out.extend_from_slice(&c),
            Ok(None) => return (String::from_utf8_lossy(&out).into_owned(), false),
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), true),
        }
    }
}
