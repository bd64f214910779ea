//! The OpenAI-compatible gateway against the real router and the mock provider: chat,
//! streams, tools, embeddings and models answered by the app's core client with the
//! server-held provider key; every error class in OpenAI's shape with its status;
//! bad input refused before anything goes upstream; a config activation swapping the
//! client.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::{Value, json};
use switchyard_mock_provider::{MockServer, Script, Session};

use common::app::TestApp;
use common::{databases, sqlite_url};

/// The provider key the server holds; the mock refuses any other.
const PROVIDER_KEY: &str = "sk-gateway-test";

const SCRIPT: &str = r#"
require_api_key: sk-gateway-test
models:
  gpt-4o-mini: [ { content: "Hello there" } ]
  tooly: [ { tool_calls: [ { id: call_1, name: get_weather, arguments: { city: Paris } } ] } ]
  rl: [ { status: 429, retry_after: "7" } ]
  ctx: [ { status: 400, error_type: context_length_exceeded } ]
  policy: [ { status: 400, error_type: content_filter } ]
  boom: [ { status: 500 } ]
  refused: [ { status: 401 } ]
  hang: [ { fault: hang } ]
  cut: [ { fault: cut, cut_after: 1, chunks: ["one ", "two ", "three"] } ]
"#;

/// A model on the mock: `upstream` is the model the mock sees (and scripts by).
fn model(upstream: &str) -> Value {
    json!({
        "deployments": [{"provider": "mock", "model": upstream}],
        "retry": {"max_attempts": 1, "max_retry_after_ms": 1000},
        "timeout_ms": 500,
    })
}

fn document(session: &Session) -> Value {
    let mut models = serde_json::Map::new();
    models.insert("chat".into(), model("gpt-4o-mini"));
    for name in [
        "tooly", "rl", "ctx", "policy", "boom", "refused", "hang", "cut",
    ] {
        models.insert(name.into(), model(name));
    }
    models.insert("limited".into(), model("gpt-4o-mini"));
    models.insert("pricey".into(), model("gpt-4o-mini"));
    models.insert(
        "embed".into(),
        json!({"type": "embedding", "deployments": [{"provider": "mock", "model": "text-embedding-3-small"}]}),
    );
    json!({
        "version": 1,
        "providers": {"mock": {"kind": "openai", "base_url": format!("{}/v1", session.url())}},
        "models": models,
        "rate_limits": [{"name": "one-a-minute", "scope": "model", "value": "limited", "rpm": 1, "action": "reject"}],
        "budgets": [{"name": "tiny", "scope": "model", "value": "pricey", "period": "day", "limit_usd": 0.000000001}],
    })
}

struct Gateway {
    app: TestApp,
    session: Session,
    _mock: MockServer,
    key: String,
}

impl Gateway {
    async fn start(url: &str) -> Gateway {
        let mock = MockServer::start().await.unwrap();
        let session = mock.session(Script::from_yaml(SCRIPT).unwrap());
        let app = TestApp::new(url).await;
        let admin = Some(app.admin_a.as_str());
        let (status, body) = app
            .call(
                "POST",
                "/api/v1/providers",
                admin,
                Some(json!({"name": "mock", "kind": "openai", "credential": PROVIDER_KEY})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        app.activate(&app.admin_a, document(&session)).await;
        let key = app.app_key("checkout", None).await;
        Gateway {
            app,
            session,
            _mock: mock,
            key,
        }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Value, HeaderMap, String) {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(key) = key {
            builder = builder.header("authorization", format!("Bearer {key}"));
        }
        let request = builder
            .header("content-type", "application/json")
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .unwrap();
        let (status, value, headers) = self.app.send(request).await;
        let text = match &value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        (status, value, headers, text)
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value, HeaderMap, String) {
        self.send(
            "POST",
            path,
            Some(&self.key),
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    async fn chat(&self, model: &str) -> (StatusCode, Value, HeaderMap, String) {
        self.post(
            "/v1/chat/completions",
            json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await
    }

    /// The id of the app the gateway's key belongs to.
    async fn app_id(&self) -> String {
        let admin = Some(self.app.admin_a.as_str());
        let (_, apps) = self.app.call("GET", "/api/v1/apps", admin, None).await;
        apps["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "checkout")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn upstream_calls(&self) -> u64 {
        self.session.counters().total
    }
}

/// The `data:` payloads of an SSE body.
fn events(body: &str) -> Vec<&str> {
    body.split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .collect()
}

fn assert_error_shape(body: &Value) {
    let error = &body["error"];
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(error["type"].is_string(), "{body}");
    for key in ["param", "code"] {
        assert!(error.get(key).is_some(), "{key} missing: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_stream_tools_embeddings_and_models() {
    for (db, url) in databases().await {
        let gw = Gateway::start(&url).await;

        let (status, body, headers, _) = gw.chat("chat").await;
        assert_eq!(status, StatusCode::OK, "{db}: {body}");
        assert_eq!(body["object"], "chat.completion");
        assert_eq!(body["choices"][0]["message"]["content"], "Hello there");
        assert_eq!(body["choices"][0]["finish_reason"], "stop");
        assert!(body["usage"]["total_tokens"].as_u64().unwrap() > 0);
        assert_eq!(headers["x-switchyard-deployment"], "mock/gpt-4o-mini");
        assert_eq!(headers["x-switchyard-cache"], "miss");
        let cost: f64 = headers["x-switchyard-cost-usd"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(cost > 0.0, "{cost}");
        assert!(
            headers["x-request-id"]
                .to_str()
                .unwrap()
                .starts_with("req_")
        );
        // The server's key went upstream (the mock requires it), never the app key.
        let sent = gw.session.requests();
        assert_eq!(
            sent[0].headers["authorization"],
            format!("Bearer {PROVIDER_KEY}")
        );

        // Every request field reaches the provider, unknown ones included.
        let (status, body, _, _) = gw
            .post(
                "/v1/chat/completions",
                json!({"model": "tooly", "messages": [{"role": "user", "content": "weather?"}],
                       "tools": [{"type": "function", "function": {"name": "get_weather",
                                  "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
                       "tool_choice": "auto", "temperature": 0.5, "max_tokens": 50,
                       "response_format": {"type": "json_object"}, "logit_bias": {"50256": -100}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let call = &body["choices"][0]["message"]["tool_calls"][0];
        assert_eq!(call["id"], "call_1");
        assert_eq!(call["function"]["name"], "get_weather");
        let args: Value =
            serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(args["city"], "Paris");
        assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
        let upstream = gw.session.requests().last().unwrap().body.clone();
        assert_eq!(upstream["tools"][0]["function"]["name"], "get_weather");
        assert_eq!(upstream["response_format"]["type"], "json_object");
        assert_eq!(upstream["logit_bias"]["50256"], -100);
        assert_eq!(upstream["model"], "tooly");

        // A stream: chunks, then [DONE]; headers before the first byte.
        let (status, _, headers, text) = gw
            .post(
                "/v1/chat/completions",
                json!({"model": "chat", "stream": true, "stream_options": {"include_usage": true},
                       "messages": [{"role": "user", "content": "hi"}]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{text}");
        assert_eq!(headers["content-type"], "text/event-stream");
        assert_eq!(headers["x-switchyard-deployment"], "mock/gpt-4o-mini");
        let frames = events(&text);
        assert_eq!(*frames.last().unwrap(), "[DONE]", "{text}");
        let chunks: Vec<Value> = frames[..frames.len() - 1]
            .iter()
            .map(|f| serde_json::from_str(f).unwrap())
            .collect();
        let said: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(said, "Hello there");
        assert!(
            chunks
                .iter()
                .all(|c| c["object"] == "chat.completion.chunk")
        );
        assert!(
            chunks.last().unwrap()["usage"]["total_tokens"]
                .as_u64()
                .unwrap()
                > 0
        );

        // A streamed tool call arrives in pieces that add up to the arguments.
        let (_, _, _, text) = gw
            .post(
                "/v1/chat/completions",
                json!({"model": "tooly", "stream": true, "messages": [{"role": "user", "content": "w"}]}),
            )
            .await;
        let args: String = events(&text)
            .iter()
            .filter(|f| **f != "[DONE]")
            .filter_map(|f| {
                let c: Value = serde_json::from_str(f).unwrap();
                c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect();
        assert_eq!(
            serde_json::from_str::<Value>(&args).unwrap()["city"],
            "Paris"
        );

        let (status, body, headers, _) = gw
            .post(
                "/v1/embeddings",
                json!({"model": "embed", "input": ["a", "b"], "dimensions": 4}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["object"], "list");
        assert_eq!(body["data"].as_array().unwrap().len(), 2);
        assert_eq!(body["data"][1]["embedding"].as_array().unwrap().len(), 4);
        assert_eq!(
            headers["x-switchyard-deployment"],
            "mock/text-embedding-3-small"
        );

        // `base64`, as the official packages ask by default: f32 little-endian.
        let (status, body, _, _) = gw
            .post(
                "/v1/embeddings",
                json!({"model": "embed", "input": "a", "dimensions": 4, "encoding_format": "base64"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body["data"][0]["embedding"].as_str().unwrap())
            .unwrap();
        let norm: f32 = bytes
            .chunks(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()).powi(2))
            .sum();
        assert_eq!(bytes.len(), 16);
        assert!((norm - 1.0).abs() < 1e-3, "{norm}");
        assert_eq!(
            gw.session
                .requests()
                .last()
                .unwrap()
                .body
                .get("encoding_format"),
            None,
            "the engine asks for floats"
        );

        let (status, body, _, _) = gw.send("GET", "/v1/models", Some(&gw.key), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["object"], "list");
        let ids: Vec<&str> = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert!(ids.contains(&"chat") && ids.contains(&"embed"), "{ids:?}");
        let (status, body, _, _) = gw.send("GET", "/v1/models/chat", Some(&gw.key), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["id"], "chat");
        assert_eq!(body["object"], "model");
        let (status, body, _, _) = gw.send("GET", "/v1/models/nope", Some(&gw.key), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"]["code"], "model_not_found");

        // Azure-style clients send the key as `api-key`.
        let request = Request::builder()
            .uri("/v1/models")
            .header("api-key", &gw.key)
            .body(Body::empty())
            .unwrap();
        let (status, _, _) = gw.app.send(request).await;
        assert_eq!(status, StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_error_class_in_openai_shape() {
    let gw = Gateway::start(&sqlite_url()).await;
    // (model, status, type, code)
    let cases = [
        ("rl", 429, "rate_limit_error", "rate_limit_exceeded"),
        (
            "ctx",
            400,
            "invalid_request_error",
            "context_length_exceeded",
        ),
        (
            "policy",
            400,
            "invalid_request_error",
            "content_policy_violation",
        ),
        ("boom", 502, "upstream_error", "upstream"),
        ("refused", 502, "upstream_error", "upstream_auth"),
        ("hang", 504, "upstream_error", "timeout"),
        ("pricey", 429, "insufficient_quota", "insufficient_quota"),
    ];
    for (model, status, kind, code) in cases {
        let (got, body, headers, _) = gw.chat(model).await;
        assert_eq!(got.as_u16(), status, "{model}: {body}");
        assert_error_shape(&body);
        assert_eq!(body["error"]["type"], kind, "{model}: {body}");
        assert_eq!(body["error"]["code"], code, "{model}: {body}");
        assert!(headers.contains_key("x-request-id"));
        if model == "rl" {
            // The provider's Retry-After is passed on.
            assert_eq!(headers["retry-after"], "7");
        }
    }
    // The engine's own rate limit: the second call of the minute is refused, with a wait.
    let (status, _, _, _) = gw.chat("limited").await;
    assert_eq!(status, StatusCode::OK);
    let before = gw.upstream_calls();
    let (status, body, headers, _) = gw.chat("limited").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(gw.upstream_calls(), before, "a limited call went upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_breaks_ends_with_an_error_event() {
    let gw = Gateway::start(&sqlite_url()).await;
    let (status, _, _, text) = gw
        .post(
            "/v1/chat/completions",
            json!({"model": "cut", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    // The first chunk had gone out: the status is 200, and the end says what happened.
    assert_eq!(status, StatusCode::OK);
    let frames = events(&text);
    assert!(!text.contains("[DONE]"), "{text}");
    let said: String = frames[..frames.len() - 1]
        .iter()
        .filter_map(|f| {
            let chunk: Value = serde_json::from_str(f).unwrap();
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(said, "one ", "{text}");
    let last: Value = serde_json::from_str(frames.last().unwrap()).unwrap();
    assert_error_shape(&last);
    assert_eq!(last["error"]["code"], "network", "{last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_before_anything_goes_upstream() {
    let gw = Gateway::start(&sqlite_url()).await;
    let chat = |body: &str| body.as_bytes().to_vec();

    let (status, body, _, _) = gw
        .send(
            "POST",
            "/v1/chat/completions",
            Some(&gw.key),
            Some(chat("{\"model\": ")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error_shape(&body);
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let (status, body, _, _) = gw
        .send(
            "POST",
            "/v1/chat/completions",
            Some(&gw.key),
            Some(chat(r#"{"model": "chat", "messages": "hi"}"#)),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["param"], "messages", "{body}");

    let (status, body, _, _) = gw
        .send(
            "POST",
            "/v1/chat/completions",
            Some(&gw.key),
            Some(chat(
                r#"{"model": "chat", "messages": [], "temperature": "hot"}"#,
            )),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["param"], "temperature", "{body}");

    // Empty messages: core's validator, before any network call.
    let (status, body, _, _) = gw
        .send(
            "POST",
            "/v1/chat/completions",
            Some(&gw.key),
            Some(chat(r#"{"model": "chat", "messages": []}"#)),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["param"], "messages", "{body}");

    // Over the 10 MiB limit: 413, in OpenAI's shape.
    let big = format!(
        r#"{{"model": "chat", "messages": [{{"role": "user", "content": "{}"}}]}}"#,
        "x".repeat(switchyard_server::gateway::MAX_BODY_BYTES)
    );
    let (status, body, _, _) = gw
        .send(
            "POST",
            "/v1/chat/completions",
            Some(&gw.key),
            Some(big.into_bytes()),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_error_shape(&body);
    // Under it (but over the management API's 1 MiB): served.
    let large = format!(
        r#"{{"model": "chat", "messages": [{{"role": "user", "content": "{}"}}]}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    let (status, body, _, _) = gw
        .send(
            "POST",
            "/v1/chat/completions",
            Some(&gw.key),
            Some(large.into_bytes()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let served = gw.upstream_calls();
    assert_eq!(served, 1);

    let (status, body, _, _) = gw.chat("no-such-model").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "model_not_found");
    assert_eq!(body["error"]["param"], "model");

    // No key, a wrong key, a user's token: 401 invalid_api_key.
    for key in [None, Some("sy_wrong_key"), Some(gw.app.admin_a.as_str())] {
        let (status, body, _, _) = gw
            .send(
                "POST",
                "/v1/chat/completions",
                key,
                Some(chat(
                    r#"{"model": "chat", "messages": [{"role": "user", "content": "hi"}]}"#,
                )),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{key:?}: {body}");
        assert_eq!(body["error"]["code"], "invalid_api_key");
    }

    // A revoked key stops at once.
    let admin = Some(gw.app.admin_a.as_str());
    let app_id = gw.app_id().await;
    let (_, created) = gw
        .app
        .call(
            "POST",
            &format!("/api/v1/apps/{app_id}/keys"),
            admin,
            Some(json!({"name": "soon revoked"})),
        )
        .await;
    let revoked = created["secret"].as_str().unwrap();
    let (status, _, _, _) = gw.send("GET", "/v1/models", Some(revoked), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = gw
        .app
        .call(
            "POST",
            &format!("/api/v1/keys/{}/revoke", created["id"].as_str().unwrap()),
            admin,
            None,
        )
        .await;
    assert!(status.is_success(), "{body}");
    let (status, body, _, _) = gw
        .send(
            "POST",
            "/v1/chat/completions",
            Some(revoked),
            Some(chat(
                r#"{"model": "chat", "messages": [{"role": "user", "content": "hi"}]}"#,
            )),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // An app limited to `chat` cannot reach `embed`, and does not see it.
    let limited = gw.app.app_key("limited-app", Some(json!(["chat"]))).await;
    let (status, body, _, _) = gw
        .send(
            "POST",
            "/v1/embeddings",
            Some(&limited),
            Some(
                json!({"model": "embed", "input": "x"})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "model_not_found");
    let (_, body, _, _) = gw.send("GET", "/v1/models", Some(&limited), None).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 1, "{body}");

    // Another tenant's model is as unknown as a made-up one.
    let other = json!({"version": 1,
        "providers": {"mock": {"kind": "openai", "base_url": format!("{}/v1", gw.session.url())}},
        "models": {"globex-secret": model("gpt-4o-mini")}});
    gw.app.activate(&gw.app.token_b, other).await;
    let (status, body, _, _) = gw.chat("globex-secret").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "model_not_found");

    // Unknown paths under /v1 answer in OpenAI's shape too.
    let (status, body, _, _) = gw.send("GET", "/v1/assistants", Some(&gw.key), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error_shape(&body);

    assert_eq!(
        gw.upstream_calls(),
        served,
        "refused input was forwarded upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activation_swaps_the_apps_client() {
    let gw = Gateway::start(&sqlite_url()).await;
    let (_, body, headers, _) = gw.chat("chat").await;
    assert_eq!(body["choices"][0]["message"]["content"], "Hello there");
    assert_eq!(headers["x-switchyard-deployment"], "mock/gpt-4o-mini");

    // The new version sends `chat` to another upstream model and adds `summarise`.
    let mut next = document(&gw.session);
    next["models"]["chat"] = model("gpt-4.1-mini");
    next["models"]["summarise"] = model("gpt-4o-mini");
    gw.app.activate(&gw.app.admin_a, next).await;
    let (status, body, headers, _) = gw.chat("chat").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Hello from gpt-4.1-mini"
    );
    assert_eq!(headers["x-switchyard-deployment"], "mock/gpt-4.1-mini");
    let (status, body, _, _) = gw.chat("summarise").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Readiness goes false when shutdown begins.
    let (status, _) = gw.app.call("GET", "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    gw.app.state.shutdown.send_replace(true);
    let (status, _) = gw.app.call("GET", "/readyz", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn gateway_calls_are_counted_as_usage() {
    for (db, url) in databases().await {
        let gw = Gateway::start(&url).await;
        for _ in 0..3 {
            let (status, body, _, _) = gw.chat("chat").await;
            assert_eq!(status, StatusCode::OK, "{db}: {body}");
        }
        let (status, _, _, body) = gw
            .post(
                "/v1/chat/completions",
                json!({"model": "chat", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{db}: {body}");
        let (status, _, _, _) = gw.chat("boom").await;
        assert!(status.is_server_error(), "{db}: {status}");
        gw.app.state.gateway.usage().flush().await;

        let rows: Vec<(i64, i64, Option<String>)> = sqlx::query_as(
            "SELECT stream, cost_micros, error_code FROM usage_events WHERE tenant_id = $1 ORDER BY time_ms",
        )
        .bind(&gw.app.tenant_a)
        .fetch_all(&gw.app.store.db.pool)
        .await
        .unwrap();
        assert_eq!(rows.len(), 5, "{db}: {rows:?}");
        assert_eq!(
            rows.iter().filter(|r| r.0 == 1).count(),
            1,
            "{db}: one stream"
        );
        assert_eq!(
            rows.iter().filter(|r| r.2.is_some()).count(),
            1,
            "{db}: one error"
        );
        assert!(
            rows.iter().filter(|r| r.2.is_none()).all(|r| r.1 > 0),
            "{db}: answered calls cost something: {rows:?}"
        );
        let (calls,): (i64,) = sqlx::query_as(
            "SELECT CAST(SUM(calls) AS BIGINT) FROM usage_minute WHERE tenant_id = $1",
        )
        .bind(&gw.app.tenant_a)
        .fetch_one(&gw.app.store.db.pool)
        .await
        .unwrap();
        assert_eq!(calls, 5, "{db}: the rollups count them too");
    }
}

/// The gateway's calls log content by the calling app's policy, through its usage path:
/// a chat, a stream (its assembled answer) and a failure (its error).
#[tokio::test]
async fn gateway_calls_log_content_by_the_apps_policy() {
    for (db, url) in databases().await {
        let gw = Gateway::start(&url).await;
        let admin = Some(gw.app.admin_a.as_str());
        let app_id = gw.app_id().await;
        let (status, body) = gw
            .app
            .call(
                "PUT",
                &format!("/api/v1/apps/{app_id}/call-logs"),
                admin,
                Some(json!({"content": "all"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{db}: {body}");
        let ask = |text: &str, model: &str, stream: bool| json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": text}]});
        let (status, _, _, _) = gw
            .post("/v1/chat/completions", ask("plain question", "chat", false))
            .await;
        assert_eq!(status, StatusCode::OK, "{db}");
        let (status, _, _, _) = gw
            .post(
                "/v1/chat/completions",
                ask("streamed question", "chat", true),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{db}");
        let (status, _, _, _) = gw
            .post(
                "/v1/chat/completions",
                ask("failing question", "boom", false),
            )
            .await;
        assert!(status.is_server_error(), "{db}: {status}");
        gw.app.state.gateway.usage().flush().await;
        let (_, page) = gw.app.call("GET", "/api/v1/call-logs", admin, None).await;
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 3, "{db}: {page}");
        for item in items {
            let id = item["id"].as_str().unwrap();
            let (_, one) = gw
                .app
                .call("GET", &format!("/api/v1/call-logs/{id}"), admin, None)
                .await;
            let asked = one["content"]["request"]["messages"][0]["content"]
                .as_str()
                .unwrap();
            match asked {
                "plain question" | "streamed question" => {
                    assert_eq!(
                        one["content"]["response"]["content"], "Hello there",
                        "{db}: {one}"
                    );
                    assert_eq!(one["stream"], asked == "streamed question");
                }
                "failing question" => {
                    assert_eq!(one["outcome"], "error", "{db}: {one}");
                    assert!(one["content"]["error"].is_string(), "{db}: {one}");
                }
                other => panic!("{db}: unexpected {other}"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_call_options_travel_in_a_header() {
    let gw = Gateway::start(&sqlite_url()).await;
    let with_options = |options: &str| {
        Request::builder()
            .method("POST")
            .uri("/v1/chat/completions")
            .header("authorization", format!("Bearer {}", gw.key))
            .header("content-type", "application/json")
            .header("x-switchyard-options", options)
            .body(Body::from(
                json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]})
                    .to_string(),
            ))
            .unwrap()
    };

    // Refused before anything goes upstream: not JSON, an unknown or mistyped option, and
    // the identity options the key decides.
    for (options, says) in [
        ("{not json", "JSON object"),
        ("[1, 2]", "JSON object"),
        (r#"{"colour": "red"}"#, "colour"),
        (r#"{"timeout": -1}"#, "timeout"),
        (r#"{"tenant": "globex"}"#, "app key decides"),
        (r#"{"app": "other"}"#, "app key decides"),
    ] {
        let (status, body, _) = gw.app.send(with_options(options)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{options}: {body}");
        assert_error_shape(&body);
        assert_eq!(body["error"]["param"], "x-switchyard-options", "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(says),
            "{options}: {body}"
        );
    }
    assert_eq!(gw.upstream_calls(), 0, "refused options went upstream");

    // Applied: the user, tags and metadata reach the usage event.
    let (status, body, _) = gw
        .app
        .send(with_options(
            r#"{"user": "u-42", "tags": ["checkout"], "metadata": {"order": "7"}, "timeout": 5}"#,
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    gw.app.state.gateway.usage().flush().await;
    let (user, tags, metadata): (Option<String>, String, String) =
        sqlx::query_as("SELECT user_id, tags, metadata FROM usage_events WHERE tenant_id = $1")
            .bind(&gw.app.tenant_a)
            .fetch_one(&gw.app.store.db.pool)
            .await
            .unwrap();
    assert_eq!(user.as_deref(), Some("u-42"));
    assert_eq!(tags, r#"["checkout"]"#);
    assert_eq!(metadata, r#"{"order":"7"}"#);
}

#[tokio::test]
async fn gateway_calls_spend_the_servers_leased_budgets() {
    for (db, url) in databases().await {
        let gw = Gateway::start(&url).await;
        let (status, body) = gw
            .app
            .call(
                "POST",
                "/api/v1/budgets",
                Some(&gw.app.admin_a),
                Some(
                    json!({"name": "tenant-cap", "scope": "tenant", "period": "day",
                            "amount_usd": 0.00002, "mode": "hard"}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{db}: {body}");
        let (mut served, mut refused) = (0, 0);
        for _ in 0..40 {
            let (status, body, _, _) = gw
                .post(
                    "/v1/chat/completions",
                    json!({"model": "chat", "max_tokens": 5,
                           "messages": [{"role": "user", "content": "hi"}]}),
                )
                .await;
            match status {
                StatusCode::OK => served += 1,
                StatusCode::TOO_MANY_REQUESTS => {
                    assert_eq!(body["error"]["code"], "insufficient_quota", "{db}: {body}");
                    refused += 1;
                }
                other => panic!("{db}: {other}: {body}"),
            }
        }
        assert!(
            served > 0 && refused > 0,
            "{db}: {served} served, {refused} refused"
        );
        gw.app.state.gateway.usage().flush().await;

        // Every served call was admitted under a lease and spent it; together they stay
        // within the budget (their estimates are upper bounds).
        let rows: Vec<(i64, Option<String>)> = sqlx::query_as(
            "SELECT cost_micros, lease_id FROM usage_events WHERE tenant_id = $1 AND error_code IS NULL",
        )
        .bind(&gw.app.tenant_a)
        .fetch_all(&gw.app.store.db.pool)
        .await
        .unwrap();
        assert_eq!(rows.len(), served, "{db}");
        assert!(rows.iter().all(|r| r.1.is_some()), "{db}: {rows:?}");
        let spent: i64 = rows.iter().map(|r| r.0).sum();
        assert!(spent <= 20, "{db}: spent {spent} micro-USD of 20");
    }
}
