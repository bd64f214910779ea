//! Call logs end to end with the real SDK: an app that opts in has its calls' requests and
//! answers shipped by a real `Client` (config and usage through the app key), redacted in
//! the SDK, so what the server stores and its API reads back carries placeholders and none
//! of the personal data the prompt and the answer held.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::json;
use switchyard::types::{ChatRequest, Message};
use switchyard::{CallOptions, Client, ConfigServer};
use switchyard_mock_provider::{MockServer, Script};

use common::app::TestApp;
use common::sqlite_url;
use common::usage::set_policy;

/// What must never reach the server, and what stands in its place.
const PERSONAL: [(&str, &str); 4] = [
    ("4111 1111 1111 1111", "[CARD]"),
    ("sk-proj-Zx81KdQ03mLp5RtVw7yB2nHc", "[API_KEY]"),
    ("alice.martin@example.org", "[EMAIL]"),
    ("+44 20 7946 0958", "[PHONE]"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opted_in_apps_calls_reach_the_server_redacted() {
    let answer = format!("I will call you on {} today.", PERSONAL[3].0);
    let mock = MockServer::start_with(
        Script::from_yaml(&format!(
            "models: {{ '*': [ {{ content: {} }} ] }}",
            serde_json::to_string(&answer).unwrap()
        ))
        .unwrap(),
    )
    .await
    .unwrap();
    let app = TestApp::new(&sqlite_url()).await;
    let document = json!({
        "version": 1,
        "providers": {"mock": {"kind": "openai", "base_url": format!("{}/v1", mock.url())}},
        "models": {"chat": {"deployments": [{"provider": "mock", "model": "gpt-4o-mini"}]}},
    });
    app.activate(&app.admin_a, document).await;
    let key = app.app_key("support", None).await;
    let (_, apps) = app
        .call("GET", "/api/v1/apps", Some(&app.admin_a), None)
        .await;
    let app_id = apps["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "support")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    set_policy(&app, &app_id, json!({"content": "all"})).await;
    let (url, serving) = app.listen().await;

    let client = tokio::task::spawn_blocking(move || {
        Client::builder()
            .server(ConfigServer::new(&url, &key))
            .build()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(client.config().call_logs.is_some(), "the policy is served");
    let prompt = format!(
        "My card {} was charged twice; my key {} stopped working. Write to {}.",
        PERSONAL[0].0, PERSONAL[1].0, PERSONAL[2].0
    );
    let reply = client
        .chat(
            ChatRequest::new("chat", vec![Message::user(prompt)]),
            &CallOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        reply.response.text(),
        answer,
        "the caller gets the answer unredacted"
    );
    client.flush().await;

    let (_, page) = app
        .call("GET", "/api/v1/call-logs", Some(&app.admin_a), None)
        .await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    let id = items[0]["id"].as_str().unwrap();
    let (_, one) = app
        .call(
            "GET",
            &format!("/api/v1/call-logs/{id}"),
            Some(&app.admin_a),
            None,
        )
        .await;
    let stored = one.to_string();
    for (personal, placeholder) in PERSONAL {
        assert!(
            !stored.contains(personal),
            "{personal} reached the server: {stored}"
        );
        assert!(stored.contains(placeholder), "no {placeholder} in {stored}");
    }
    assert!(
        stored.contains("was charged twice"),
        "the rest is kept: {stored}"
    );
    serving.abort();
}
