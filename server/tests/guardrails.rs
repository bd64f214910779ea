//! Guardrails on the server: a version's tenant-wide rules cut per department (the whole
//! lineage) and per app into the config an app's SDK and gateway client run; gateway
//! refusals as OpenAI 400s with `code: policy_violation` and the rule, nothing sent
//! upstream; masking and restore through the gateway; and one `policy.violation` security
//! event per refused call, from the gateway's own usage and from an SDK's (a replayed
//! batch adds none).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use serde_json::{Value, json};
use switchyard_mock_provider::{MockServer, Script};

use common::app::TestApp;
use common::databases;
use common::usage::{event, post};

const SCRIPT: &str = r#"
require_api_key: sk-guard-test
models:
  model-a: [ { content: "Sure." }, { content: "Sure." }, { content: "Wrote to [EMAIL_1]." } ]
  model-b: [ { content: "small answer" } ]
"#;

fn document(base: &str) -> Value {
    json!({
        "version": 1,
        "providers": {"mock": {"kind": "openai", "base_url": format!("{base}/v1")}},
        "models": {
            "chat": {"deployments": [{"provider": "mock", "model": "model-a"}]},
            "small": {"deployments": [{"provider": "mock", "model": "model-b"}]},
        },
        "guardrails": {
            "deny": [{"name": "project-nightingale", "pattern": "(?i)project\\s+nightingale"}],
            "allowed_models": ["chat", "small"],
            "departments": {
                "legal": {
                    "topics": [{"name": "legal-advice", "keywords": ["sue"]}],
                    "allowed_models": ["chat"],
                },
            },
            "apps": {"checkout": {"pii": {"restore": true}}},
        },
    })
}

async fn chat(app: &TestApp, key: &str, model: &str, text: &str) -> (StatusCode, Value) {
    let body = json!({"model": model, "messages": [{"role": "user", "content": text}]});
    app.call("POST", "/v1/chat/completions", Some(key), Some(body))
        .await
}

/// A new app named `name` in department `dept`, and a key for it: the key's secret.
async fn app_in(app: &TestApp, dept: &str, name: &str) -> String {
    let admin = Some(app.admin_a.as_str());
    let body = json!({"department_id": dept, "name": name});
    let (status, created) = app.call("POST", "/api/v1/apps", admin, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = format!("/api/v1/apps/{}/keys", created["id"].as_str().unwrap());
    let (_, key) = app
        .call("POST", &path, admin, Some(json!({"name": "sdk"})))
        .await;
    key["secret"].as_str().unwrap().to_owned()
}

async fn violations(app: &TestApp) -> Vec<(String, String)> {
    let admin = Some(app.admin_a.as_str());
    let (status, events) = app
        .call("GET", "/api/v1/security-events?limit=500", admin, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{events}");
    let mut out: Vec<(String, String)> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "policy.violation")
        .map(|e| {
            (
                e["subject"].as_str().unwrap().to_owned(),
                e["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guardrails_per_department_and_app_through_the_gateway_and_the_sdk_path() {
    for (db, url) in databases().await {
        let mock = MockServer::start().await.unwrap();
        let session = mock.session(Script::from_yaml(SCRIPT).unwrap());
        let app = TestApp::new(&url).await;
        let admin = Some(app.admin_a.as_str());
        let (status, body) = app
            .call(
                "POST",
                "/api/v1/providers",
                admin,
                Some(json!({"name": "mock", "kind": "openai", "credential": "sk-guard-test"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{db}: {body}");
        // legal sits under a department of its own, under the root: the lineage counts.
        let (_, group) = app
            .call(
                "POST",
                "/api/v1/departments",
                admin,
                Some(json!({"name": "legal", "parent_id": app.root_a})),
            )
            .await;
        let (_, team) = app
            .call(
                "POST",
                "/api/v1/departments",
                admin,
                Some(json!({"name": "contracts-team", "parent_id": group["id"]})),
            )
            .await;
        app.activate(&app.admin_a, document(&session.url())).await;
        let checkout = app.app_key("checkout", None).await;
        let contracts = app_in(&app, team["id"].as_str().unwrap(), "contracts").await;

        // The SDK config is cut flat: the tenant's rules plus the department's.
        let (config, _) = app.sdk_config(&contracts).await;
        let cut = &config["guardrails"];
        assert_eq!(cut["deny"][0]["name"], "project-nightingale", "{db}: {cut}");
        assert_eq!(cut["topics"][0]["name"], "legal-advice", "{db}: {cut}");
        assert_eq!(cut["allowed_models"], json!(["chat"]), "{db}: {cut}");
        assert!(cut.get("departments").is_none() && cut.get("apps").is_none());
        assert!(
            cut.get("pii").is_none(),
            "{db}: masking is checkout's: {cut}"
        );

        // Tenant-wide deny pattern, for every app.
        let (status, body) = chat(&app, &checkout, "chat", "About Project Nightingale").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{db}: {body}");
        assert_eq!(body["error"]["code"], "policy_violation", "{db}: {body}");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["rule"], "project-nightingale");
        // The department's topic and allow-list hold for its app only.
        let (status, body) = chat(&app, &contracts, "chat", "Can I sue them?").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{db}: {body}");
        assert_eq!(body["error"]["rule"], "topic:legal-advice", "{db}: {body}");
        let (status, body) = chat(&app, &contracts, "small", "hi").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{db}: {body}");
        assert_eq!(body["error"]["rule"], "allowed_models", "{db}: {body}");
        // The model list shows an app only what it may call.
        let ids = |body: &Value| -> Vec<String> {
            body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_owned())
                .collect()
        };
        let (_, listed) = app.call("GET", "/v1/models", Some(&contracts), None).await;
        assert_eq!(ids(&listed), ["chat"], "{db}: {listed}");
        let (_, listed) = app.call("GET", "/v1/models", Some(&checkout), None).await;
        assert_eq!(ids(&listed), ["chat", "small"], "{db}: {listed}");
        let (status, body) = app
            .call("GET", "/v1/models/small", Some(&contracts), None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{db}: {body}");
        assert_eq!(session.counters().total, 0, "{db}: nothing went upstream");
        let (status, body) = chat(&app, &checkout, "chat", "Can I sue them?").await;
        assert_eq!(status, StatusCode::OK, "{db}: {body}");
        let (status, body) = chat(&app, &checkout, "small", "hi").await;
        assert_eq!(status, StatusCode::OK, "{db}: {body}");
        let (status, body) = chat(&app, &contracts, "chat", "hello").await;
        assert_eq!(status, StatusCode::OK, "{db}: {body}");
        // Checkout's masking: the provider sees a placeholder, the caller the original.
        let (status, body) = chat(&app, &checkout, "chat", "mail alice@example.com").await;
        assert_eq!(status, StatusCode::OK, "{db}: {body}");
        assert_eq!(
            body["choices"][0]["message"]["content"], "Wrote to alice@example.com.",
            "{db}: {body}"
        );
        let sent = session.requests().last().unwrap().body.to_string();
        assert!(sent.contains("mail [EMAIL_1]"), "{db}: {sent}");
        assert!(!sent.contains("alice@example.com"), "{db}: {sent}");

        // One security event per refusal, from the gateway's usage.
        app.state.gateway.usage().flush().await;
        assert_eq!(
            violations(&app).await,
            [
                ("allowed_models".into(), "gateway:contracts/small".into()),
                ("project-nightingale".into(), "gateway:checkout/chat".into()),
                ("topic:legal-advice".into(), "gateway:contracts/chat".into()),
            ],
            "{db}"
        );
        let (refused,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM usage_events WHERE tenant_id = $1 AND error_code = 'policy_violation'",
        )
        .bind(&app.tenant_a)
        .fetch_one(&app.store.db.pool)
        .await
        .unwrap();
        assert_eq!(refused, 3, "{db}");

        // An SDK's refused call: a security event once, however often the batch is sent.
        let mut refused = event(switchyard_server::util::now_ms(), "chat", "-", 0.0, 1.0);
        refused["status"] = json!({"error": {"code": "policy_violation"}});
        refused["rule"] = json!("topic:legal-advice");
        refused["masked"] = json!({"email": 2});
        for _ in 0..2 {
            let (status, ack) = post(&app, &contracts, &[refused.clone()], false).await;
            assert_eq!(status, StatusCode::OK, "{db}: {ack}");
        }
        let sdk: Vec<_> = violations(&app)
            .await
            .into_iter()
            .filter(|(_, source)| source.starts_with("sdk:"))
            .collect();
        assert_eq!(
            sdk,
            [("topic:legal-advice".into(), "sdk:contracts/chat".into())],
            "{db}"
        );
    }
}
