//! Step sequencing, retry headers, faults, echo, overrides and API keys.
// clippy.toml allows unwrap/expect only inside #[test] fns; the helpers here are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use serde_json::{Value, json};
use switchyard_mock_provider::MockServer;

async fn chat(url: &str, model: &str) -> reqwest::Response {
    client()
        .post(format!("{url}/v1/chat/completions"))
        .json(&chat_body(model))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn fails_n_times_then_succeeds_and_last_step_repeats() {
    let mock = MockServer::start_with(script(
        "models:\n  gpt-4o-mini:\n    - { times: 2, status: 429, retry_after: '1' }\n    - { status: 503 }\n    - { content: ok }\n",
    ))
    .await
    .unwrap();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(chat(&mock.url(), "gpt-4o-mini").await.status().as_u16());
    }
    assert_eq!(statuses, [429, 429, 503, 200, 200, 200]);
    // Another model is not affected by this model's cursor.
    assert_eq!(chat(&mock.url(), "other").await.status(), 200);
}

#[tokio::test]
async fn wildcard_model_has_per_model_cursors() {
    let mock = MockServer::start_with(script("models: { '*': [ { status: 500 }, {} ] }"))
        .await
        .unwrap();
    assert_eq!(chat(&mock.url(), "a").await.status(), 500);
    assert_eq!(chat(&mock.url(), "b").await.status(), 500);
    assert_eq!(chat(&mock.url(), "a").await.status(), 200);
}

#[tokio::test]
async fn retry_after_seconds_date_and_ms() {
    let mock = MockServer::start_with(script(
        "models:\n  m:\n    - { status: 429, retry_after: '7' }\n    - { status: 503, retry_after_secs_date: 30 }\n    - { status: 429, retry_after_ms: 250 }\n",
    ))
    .await
    .unwrap();
    let r = chat(&mock.url(), "m").await;
    assert_eq!(r.headers()["retry-after"], "7");

    let r = chat(&mock.url(), "m").await;
    assert_eq!(r.status(), 503);
    let date = httpdate::parse_http_date(r.headers()["retry-after"].to_str().unwrap()).unwrap();
    let ahead = date.duration_since(SystemTime::now()).unwrap_or_default();
    assert!(
        ahead > Duration::from_secs(25) && ahead <= Duration::from_secs(31),
        "{ahead:?}"
    );

    let r = chat(&mock.url(), "m").await;
    assert_eq!(r.headers()["retry-after-ms"], "250");
    assert!(r.headers().get("retry-after").is_none());
}

#[tokio::test]
async fn extra_headers_and_latency() {
    let mock = MockServer::start_with(script(
        "models: { m: [ { latency_ms: 150, headers: { x-ratelimit-remaining-requests: '0' } } ] }",
    ))
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let r = chat(&mock.url(), "m").await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(r.headers()["x-ratelimit-remaining-requests"], "0");
}

#[tokio::test]
async fn reset_gives_a_transport_error() {
    let mock = MockServer::start_with(script("models: { m: [ { fault: reset } ] }"))
        .await
        .unwrap();
    let err = client()
        .post(format!("{}/v1/chat/completions", mock.url()))
        .json(&chat_body("m"))
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_timeout());
    assert!(err.status().is_none(), "no HTTP response: {err:?}");
    assert_eq!(mock.counters().total, 1);
}

#[tokio::test]
async fn hang_makes_the_client_time_out() {
    let mock = MockServer::start_with(script("models: { m: [ { fault: hang } ] }"))
        .await
        .unwrap();
    let err = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", mock.url()))
        .timeout(Duration::from_millis(300))
        .json(&chat_body("m"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
}

#[tokio::test]
async fn cut_stream_lacks_terminal_events() {
    let mock = MockServer::start().await.unwrap();
    let step = r#"{"fault": "cut", "cut_after": 2, "content": "a b c d e"}"#;

    let mut body = chat_body("m");
    body["stream"] = json!(true);
    let resp = client()
        .post(format!("{}/v1/chat/completions", mock.url()))
        .header("x-mock-step", step)
        .json(&body)
        .send()
        .await
        .unwrap();
    let (text, failed) = read_until_error(resp).await;
    assert!(failed, "the body must end with a transport error");
    assert!(!text.contains("[DONE]"));
    assert!(!text.contains("finish_reason\":\"stop"));
    let contents = content_chunks(&parse_all(&sse_data(&text, "\n\n")));
    assert_eq!(contents, 2);

    let resp = client()
        .post(format!("{}/v1/messages", mock.url()))
        .header("anthropic-version", "2023-06-01")
        .header("x-mock-step", step)
        .json(&json!({"model": "c", "stream": true, "max_tokens": 5, "messages": []}))
        .send()
        .await
        .unwrap();
    let (text, failed) = read_until_error(resp).await;
    assert!(failed);
    assert_eq!(
        sse_events(&text)
            .iter()
            .filter(|e| *e == "content_block_delta")
            .count(),
        2
    );
    assert!(!text.contains("message_stop") && !text.contains("message_delta"));

    let resp = client()
        .post(format!(
            "{}/v1beta/models/g:streamGenerateContent?alt=sse",
            mock.url()
        ))
        .header("x-mock-step", step)
        .json(&json!({"contents": []}))
        .send()
        .await
        .unwrap();
    let (text, failed) = read_until_error(resp).await;
    assert!(failed);
    assert_eq!(sse_data(&text, "\r\n\r\n").len(), 2);
    assert!(!text.contains("finishReason"));
}

#[tokio::test]
async fn cut_non_stream_sends_half_the_body() {
    let mock = MockServer::start_with(script("models: { m: [ { fault: cut } ] }"))
        .await
        .unwrap();
    let resp = chat(&mock.url(), "m").await;
    assert_eq!(resp.status(), 200);
    let declared = content_length(&resp);
    let (text, failed) = read_until_error(resp).await;
    assert!(failed);
    assert!(text.len() < declared);
}

#[tokio::test]
async fn malformed_body_and_stream_frame() {
    let mock = MockServer::start_with(script("models: { m: [ { fault: malformed } ] }"))
        .await
        .unwrap();
    let resp = chat(&mock.url(), "m").await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err());

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
    let invalid = sse_data(&text, "\n\n")
        .iter()
        .filter(|d| *d != "[DONE]" && serde_json::from_str::<Value>(d).is_err())
        .count();
    assert_eq!(invalid, 1);
}

#[tokio::test]
async fn echo_returns_the_received_body() {
    let mock = MockServer::start_with(script("models: { m: [ { echo: true } ] }"))
        .await
        .unwrap();
    let mut sent = chat_body("m");
    sent["temperature"] = json!(0.25);
    let v: Value = client()
        .post(format!("{}/v1/chat/completions", mock.url()))
        .json(&sent)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let echoed: Value =
        serde_json::from_str(v["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(echoed, sent);
}

#[tokio::test]
async fn explicit_chunks_are_streamed_verbatim() {
    let mock = MockServer::start_with(script(
        "models: { m: [ { chunks: ['Hel', 'lo', ' wor', 'ld'] } ] }",
    ))
    .await
    .unwrap();
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
    let pieces: Vec<String> = parse_all(&data[..data.len() - 1])
        .iter()
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(pieces, ["Hel", "lo", " wor", "ld"]);
}

#[tokio::test]
async fn x_mock_step_overrides_without_consuming_the_script() {
    let mock = MockServer::start_with(script(
        "models: { m: [ { status: 500 }, { content: second } ] }",
    ))
    .await
    .unwrap();
    let v: Value = client()
        .post(format!("{}/v1/chat/completions", mock.url()))
        .header("x-mock-step", r#"{"content": "overridden"}"#)
        .json(&chat_body("m"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "overridden");
    assert_eq!(chat(&mock.url(), "m").await.status(), 500);
    let bad = client()
        .post(format!("{}/v1/chat/completions", mock.url()))
        .header("x-mock-step", r#"{"stauts": 500}"#)
        .json(&chat_body("m"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn counters_and_recorded_requests() {
    let mock = MockServer::start_with(script("models: { a: [ { status: 500 } ] }"))
        .await
        .unwrap();
    chat(&mock.url(), "a").await;
    chat(&mock.url(), "a").await;
    chat(&mock.url(), "b").await;
    let c = mock.counters();
    assert_eq!(c.total, 3);
    assert_eq!(c.models["a"], 2);
    assert_eq!(c.models["b"], 1);
    assert_eq!(c.paths["/v1/chat/completions"], 3);
    let over_http: Value = client()
        .get(format!("{}/_mock/counters", mock.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(over_http, serde_json::to_value(&c).unwrap());

    let reqs = mock.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, "/v1/chat/completions");
    assert_eq!(reqs[0].headers["content-type"], "application/json");
    assert_eq!(reqs[2].body, chat_body("b"));

    let reset = client()
        .post(format!("{}/_mock/reset", mock.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    assert_eq!(mock.counters().total, 0);
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn require_api_key_per_provider_header() {
    let mock = MockServer::start_with(script("require_api_key: sk-test"))
        .await
        .unwrap();
    let url = mock.url();
    let c = client();

    // OpenAI: Authorization: Bearer.
    let post = |key: Option<&str>| {
        let mut rb = c
            .post(format!("{url}/v1/chat/completions"))
            .json(&chat_body("m"));
        if let Some(k) = key {
            rb = rb.bearer_auth(k);
        }
        rb.send()
    };
    assert_eq!(post(Some("sk-test")).await.unwrap().status(), 200);
    let r = post(Some("sk-wrong-key")).await.unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "invalid_api_key");
    assert_eq!(post(None).await.unwrap().status(), 401);

    // Anthropic: x-api-key.
    let anthropic = |key: &str| {
        c.post(format!("{url}/v1/messages"))
            .header("anthropic-version", "2023-06-01")
            .header("x-api-key", key)
            .json(&json!({"model": "c", "max_tokens": 5, "messages": []}))
            .send()
    };
    assert_eq!(anthropic("sk-test").await.unwrap().status(), 200);
    let r = anthropic("nope").await.unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["type"], "authentication_error");

    // Gemini: x-goog-api-key or ?key=.
    let gem = format!("{url}/v1beta/models/g:generateContent");
    let ok = c
        .post(&gem)
        .header("x-goog-api-key", "sk-test")
        .json(&json!({"contents": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let ok = c
        .post(format!("{gem}?key=sk-test"))
        .json(&json!({"contents": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let r = c
        .post(format!("{gem}?key=bad"))
        .json(&json!({"contents": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["status"], "UNAUTHENTICATED");

    // Azure: api-key.
    let az = format!("{url}/openai/deployments/d/chat/completions?api-version=2024-10-21");
    let ok = c
        .post(&az)
        .header("api-key", "sk-test")
        .json(&json!({"messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let r = c
        .post(&az)
        .bearer_auth("bad")
        .json(&json!({"messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Rejected calls still count.
    assert_eq!(mock.counters().total, 10);
}

#[tokio::test]
async fn stream_pacing_applies_ttft_and_inter_token() {
    let mock = MockServer::start_with(script(
        "defaults: { ttft_ms: 100, inter_token_ms: 50 }\nmodels: { m: [ { content: a b c } ] }",
    ))
    .await
    .unwrap();
    let mut body = chat_body("m");
    body["stream"] = json!(true);
    let started = std::time::Instant::now();
    let resp = client()
        .post(format!("{}/v1/chat/completions", mock.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let headers_at = started.elapsed();
    resp.text().await.unwrap();
    assert!(
        headers_at < Duration::from_millis(100),
        "headers before the first token"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "100 + 2 * 50 ms"
    );
}

#[tokio::test]
async fn stall_sends_part_of_the_body_and_keeps_the_connection_open() {
    let mock = MockServer::start_with(script("models: { m: [ { fault: stall } ] }"))
        .await
        .unwrap();
    let mut resp = chat(&mock.url(), "m").await;
    assert_eq!(resp.status(), 200);
    let declared = content_length(&resp);
    let first = resp.chunk().await.unwrap().unwrap();
    assert!(first.len() < declared);
    // Neither more bytes nor a close: only the client's own timeout ends the wait.
    let rest = tokio::time::timeout(Duration::from_millis(300), resp.chunk()).await;
    assert!(rest.is_err(), "the body went on: {rest:?}");

    let mut body = chat_body("m");
    body["stream"] = json!(true);
    let mut resp = client()
        .post(format!("{}/v1/chat/completions", mock.url()))
        .header(
            "x-mock-step",
            r#"{"fault": "stall", "cut_after": 2, "content": "a b c d"}"#,
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    let mut text = String::new();
    loop {
        match tokio::time::timeout(Duration::from_millis(300), resp.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(std::str::from_utf8(&chunk).unwrap()),
            Ok(other) => panic!("the stream ended instead of stalling: {other:?}"),
            Err(_) => break,
        }
    }
    let contents = content_chunks(&parse_all(&sse_data(&text, "\n\n")));
    assert_eq!(contents, 2);
    assert!(!text.contains("[DONE]"));
}
